//! Connections to PostgreSQL, on the adapter's own runtime.
//!
//! The [`crate::store::Engine`] trait is synchronous and is called from the
//! ledger's thread and from readers, some of them on tokio worker threads
//! of the node's runtime. A synchronous client that drives a runtime of its
//! own (`postgres`) panics there, so the adapter keeps a small runtime of
//! its own ([`Bridge`]): a call spawns its future there and waits for the
//! answer on a standard channel, which is safe from any thread. The wait
//! blocks the calling thread for one round trip, as a disk read of an
//! embedded engine does.
//!
//! Each [`Slot`] is one `tokio_postgres::Client` (which pipelines
//! concurrent queries on its connection), reconnected on the next call
//! after it broke, with its prepared statements.

use std::collections::HashMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rustls::RootCertStore;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use tokio_postgres::{Client, Statement};

use crate::store::StoreError;

/// The adapter's runtime.
#[derive(Debug)]
pub(super) struct Bridge {
    runtime: Option<tokio::runtime::Runtime>,
}

impl Drop for Bridge {
    fn drop(&mut self) {
        // The engine may be dropped on a tokio worker thread, where a
        // blocking shutdown would panic.
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

impl Bridge {
    /// A runtime with `threads` workers.
    ///
    /// # Errors
    ///
    /// [`StoreError::Engine`] if the threads cannot start.
    pub fn new(threads: usize) -> Result<Bridge, StoreError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads.max(1))
            .thread_name("jaring-pg")
            .enable_all()
            .build()
            .map_err(|e| StoreError::Engine(format!("cannot start the PostgreSQL runtime: {e}")))?;
        Ok(Bridge { runtime: Some(runtime) })
    }

    /// The runtime's handle, to spawn background tasks.
    pub fn handle(&self) -> tokio::runtime::Handle {
        match &self.runtime {
            Some(rt) => rt.handle().clone(),
            // Only taken in drop.
            None => tokio::runtime::Handle::current(),
        }
    }

    /// Runs `f` on the adapter's runtime and waits for it, from any thread.
    ///
    /// # Errors
    ///
    /// Whatever `f` returns; [`StoreError::Engine`] if the runtime stopped.
    pub fn run<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: Future<Output = Result<T, StoreError>> + Send + 'static,
    {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.handle().spawn(async move {
            let _ = tx.send(f.await);
        });
        rx.recv().map_err(|_| StoreError::Engine("the PostgreSQL runtime stopped".into()))?
    }
}

/// How to reach one server: its connection settings, TLS and the
/// statements every new session runs first.
#[derive(Clone)]
pub(super) struct Connector {
    /// What the URL said, plus the password.
    pub config: tokio_postgres::Config,
    /// TLS, when asked for.
    pub tls: Option<tokio_postgres_rustls::MakeRustlsConnect>,
    /// Run at the start of every session (search_path, synchronous_commit).
    pub session: String,
    /// For messages: host and port, never the password.
    pub label: String,
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connector").field("server", &self.label).field("tls", &self.tls.is_some()).finish()
    }
}

/// A failure talking to the server, as a store error naming it.
pub(super) fn db_err(label: &str, e: &tokio_postgres::Error) -> StoreError {
    // The server's own message (e.g. a constraint) is more useful than
    // "db error".
    let detail = e.as_db_error().map_or_else(|| e.to_string(), |d| format!("{}: {}", d.code().code(), d.message()));
    StoreError::Engine(format!("PostgreSQL at {label}: {detail}"))
}

impl Connector {
    /// Opens a session (spawning its connection on the current runtime).
    ///
    /// # Errors
    ///
    /// [`StoreError::Engine`] naming the server.
    pub async fn connect(&self) -> Result<Client, StoreError> {
        let client = match &self.tls {
            Some(tls) => {
                let (client, conn) = self.config.connect(tls.clone()).await.map_err(|e| db_err(&self.label, &e))?;
                tokio::spawn(watch_connection(conn, self.label.clone()));
                client
            }
            None => {
                let (client, conn) =
                    self.config.connect(tokio_postgres::NoTls).await.map_err(|e| db_err(&self.label, &e))?;
                tokio::spawn(watch_connection(conn, self.label.clone()));
                client
            }
        };
        if !self.session.is_empty() {
            client.batch_execute(&self.session).await.map_err(|e| db_err(&self.label, &e))?;
        }
        Ok(client)
    }
}

async fn watch_connection<F>(conn: F, label: String)
where
    F: Future<Output = Result<(), tokio_postgres::Error>>,
{
    if let Err(e) = conn.await {
        tracing::warn!(server = %label, error = %e, "PostgreSQL connection closed");
    }
}

/// One session and its prepared statements.
#[derive(Debug)]
pub(super) struct Conn {
    /// The client.
    pub client: Client,
    statements: Mutex<HashMap<String, Statement>>,
    label: String,
}

impl Conn {
    /// The server, as `host:port/db`.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The prepared statement for `sql`, prepared on first use.
    ///
    /// # Errors
    ///
    /// [`StoreError::Engine`].
    pub async fn prepare(&self, sql: &str) -> Result<Statement, StoreError> {
        if let Some(s) = self.statements.lock().unwrap_or_else(|p| p.into_inner()).get(sql) {
            return Ok(s.clone());
        }
        let s = self.client.prepare(sql).await.map_err(|e| self.err(&e))?;
        self.statements.lock().unwrap_or_else(|p| p.into_inner()).insert(sql.to_string(), s.clone());
        Ok(s)
    }

    /// A failure of this session.
    pub fn err(&self, e: &tokio_postgres::Error) -> StoreError {
        db_err(&self.label, e)
    }
}

/// A session that is reopened on the next use after it broke.
#[derive(Debug)]
pub(super) struct Slot {
    connector: Arc<Connector>,
    conn: tokio::sync::Mutex<Option<Arc<Conn>>>,
}

impl Slot {
    /// A slot that connects on first use.
    pub fn new(connector: Arc<Connector>) -> Slot {
        Slot { connector, conn: tokio::sync::Mutex::new(None) }
    }

    /// The open session, connecting if there is none or it broke.
    ///
    /// # Errors
    ///
    /// [`StoreError::Engine`] if the server cannot be reached.
    pub async fn get(&self) -> Result<Arc<Conn>, StoreError> {
        let mut guard = self.conn.lock().await;
        if let Some(c) = guard.as_ref()
            && !c.client.is_closed()
        {
            return Ok(c.clone());
        }
        let client = self.connector.connect().await?;
        let conn =
            Arc::new(Conn { client, statements: Mutex::new(HashMap::new()), label: self.connector.label.clone() });
        *guard = Some(conn.clone());
        Ok(conn)
    }
}

/// Why a database setting is unusable.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PgConfigError {
    /// The URL does not parse.
    #[error("[store] {field} is not a PostgreSQL URL: {reason}")]
    Url {
        /// `url` or `read_url`.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// The URL carries a password.
    #[error(
        "[store] {field} carries a password; node.toml is no place for it: put it in a file named by \
         [store] password_file (mode 0600) or in the environment variable named by [store] password_env"
    )]
    PasswordInUrl {
        /// `url` or `read_url`.
        field: &'static str,
    },
    /// The password file cannot be read.
    #[error("cannot read the database password file {path}: {reason}")]
    PasswordFile {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The CA file for TLS to the database is unusable.
    #[error("[store] tls_ca {path}: {reason}")]
    TlsCa {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// TLS is required by the URL but no CA was given to verify the server.
    #[error(
        "[store] {field} asks for TLS (sslmode=require); name the CA that signed the server's certificate in [store] tls_ca"
    )]
    TlsWithoutCa {
        /// `url` or `read_url`.
        field: &'static str,
    },
}

/// Parses a URL that must not carry a password.
///
/// # Errors
///
/// [`PgConfigError::Url`], [`PgConfigError::PasswordInUrl`].
pub fn parse_url(field: &'static str, url: &str) -> Result<tokio_postgres::Config, PgConfigError> {
    let config: tokio_postgres::Config =
        url.parse().map_err(|e: tokio_postgres::Error| PgConfigError::Url { field, reason: e.to_string() })?;
    if config.get_password().is_some() {
        return Err(PgConfigError::PasswordInUrl { field });
    }
    Ok(config)
}

/// Reads the password: the first line of `file`, else the variable `env`.
///
/// # Errors
///
/// [`PgConfigError::PasswordFile`].
pub fn read_password(file: Option<&Path>, env: &str) -> Result<Option<String>, PgConfigError> {
    if let Some(path) = file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| PgConfigError::PasswordFile { path: path.to_path_buf(), reason: e.to_string() })?;
        let line = text.lines().next().unwrap_or_default().to_string();
        if line.is_empty() {
            return Err(PgConfigError::PasswordFile { path: path.to_path_buf(), reason: "it is empty".into() });
        }
        return Ok(Some(line));
    }
    Ok(std::env::var(env).ok().filter(|p| !p.is_empty()))
}

/// A rustls connector trusting only the CA certificates in `ca` (ring
/// provider, as everywhere in the node).
///
/// # Errors
///
/// [`PgConfigError::TlsCa`].
pub fn tls_connector(ca: &Path) -> Result<tokio_postgres_rustls::MakeRustlsConnect, PgConfigError> {
    let bad = |reason: String| PgConfigError::TlsCa { path: ca.to_path_buf(), reason };
    let pem = std::fs::read(ca).map_err(|e| bad(e.to_string()))?;
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|e| bad(format!("not PEM: {e}")))?;
        roots.add(cert).map_err(|e| bad(format!("not a usable CA certificate: {e}")))?;
    }
    if roots.is_empty() {
        return Err(bad("holds no certificate".into()));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| bad(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

/// `host:port` of a config, for messages.
pub fn label(config: &tokio_postgres::Config) -> String {
    let host = config
        .get_hosts()
        .first()
        .map(|h| match h {
            tokio_postgres::config::Host::Tcp(h) => h.clone(),
            tokio_postgres::config::Host::Unix(p) => p.display().to_string(),
        })
        .unwrap_or_else(|| "localhost".into());
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let db = config.get_dbname().unwrap_or_default();
    format!("{host}:{port}/{db}")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_password_in_the_url_is_refused() {
        let e = parse_url("url", "postgres://jaring:secret@127.0.0.1:5432/jaring").unwrap_err();
        assert!(matches!(e, PgConfigError::PasswordInUrl { field: "url" }), "{e}");
        assert!(!e.to_string().contains("secret"));
        let c = parse_url("url", "postgres://jaring@db.example:6543/jaring").unwrap();
        assert_eq!(label(&c), "db.example:6543/jaring");
        assert!(matches!(parse_url("read_url", "not a url at all"), Err(PgConfigError::Url { field: "read_url", .. })));
    }

    #[test]
    fn the_password_comes_from_the_file_before_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("pw");
        std::fs::write(&f, "hunter2\nignored\n").unwrap();
        assert_eq!(read_password(Some(&f), "JARING_TEST_NO_SUCH_VAR").unwrap().as_deref(), Some("hunter2"));
        std::fs::write(&f, "").unwrap();
        assert!(matches!(read_password(Some(&f), "X"), Err(PgConfigError::PasswordFile { .. })));
        assert_eq!(read_password(None, "JARING_TEST_NO_SUCH_VAR").unwrap(), None);
    }

    #[test]
    fn a_tls_ca_must_hold_a_certificate() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("ca.pem");
        std::fs::write(&f, "nothing here").unwrap();
        assert!(matches!(tls_connector(&f), Err(PgConfigError::TlsCa { .. })));
        let ca = jaring_certs::DevCa::generate("ID").unwrap();
        std::fs::write(&f, &ca.cert_pem).unwrap();
        tls_connector(&f).unwrap();
    }
}
