//! Running a node: bind, serve, shut down.
//!
//! [`run`] is what `jaring-node` and in-process tests call: it opens the
//! node, serves the admin API and the federation on the given listeners,
//! and returns after the shutdown signal once every server and task has
//! finished and the store is flushed.

use std::sync::Arc;

use jaring_proto::pb::admin_server::AdminServer;
use tokio::net::TcpListener;

use crate::admin::{AdminAuth, AdminService};
use crate::config::Config;
use crate::federation;
use crate::node::{Node, StartError};
use crate::shutdown::Shutdown;
use crate::tls::OwnCert;

/// The sockets a node serves on.
#[derive(Debug)]
pub struct Listeners {
    /// Admin API.
    pub admin: TcpListener,
    /// Federation (mTLS).
    pub federation: TcpListener,
}

/// Why a node stopped with an error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// Could not start.
    #[error(transparent)]
    Start(#[from] StartError),
    /// Could not bind.
    #[error("cannot listen on {addr} ({what}): {source}")]
    Bind {
        /// Which listener.
        what: &'static str,
        /// Address.
        addr: String,
        /// Why.
        source: std::io::Error,
    },
    /// A server failed.
    #[error("{0}")]
    Serve(String),
}

/// Where, beside `node.toml`, a running node records the addresses it
/// listens on (`listen.json`): tools find a node configured with port 0
/// (pick any free port) there.
pub const LISTEN_FILE: &str = "listen.json";

/// The addresses a node's listeners are bound to.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub struct Bound {
    /// Admin API.
    pub admin: std::net::SocketAddr,
    /// Federation (mTLS).
    pub federation: std::net::SocketAddr,
    /// HTTPS, when configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<std::net::SocketAddr>,
}

impl Bound {
    /// Replaces every port 0 in `config` with the port the listener got;
    /// returns whether the federation port was picked this way (then the
    /// identity card's endpoint changed).
    fn pin(&self, config: &mut Config) -> bool {
        let picked = |listen: &str| listen.rsplit_once(':').is_some_and(|(_, port)| port == "0");
        if picked(&config.admin.listen) {
            config.admin.listen = self.admin.to_string();
        }
        if let (Some(h), Some(addr)) = (config.http.as_mut(), self.http)
            && picked(&h.listen)
        {
            h.listen = addr.to_string();
        }
        if picked(&config.federation.listen) {
            config.federation.listen = self.federation.to_string();
            return config.federation.endpoint.is_none();
        }
        false
    }

    /// Writes `listen.json` (0600); a failure is logged, not fatal.
    fn write(&self, path: &std::path::Path) {
        let text = serde_json::to_string_pretty(self).unwrap_or_default();
        if let Err(e) = crate::fsutil::write_atomic(path, format!("{text}\n").as_bytes(), 0o600) {
            tracing::warn!(path = %path.display(), error = %e, "cannot record the listening addresses");
        }
    }

    /// Reads the addresses a node in `dir` recorded when it started.
    ///
    /// # Errors
    ///
    /// The file is missing (the node never started) or unreadable.
    pub fn read(dir: &std::path::Path) -> std::io::Result<Bound> {
        let text = std::fs::read_to_string(dir.join(LISTEN_FILE))?;
        serde_json::from_str(&text).map_err(std::io::Error::other)
    }
}

/// Binds the configured listeners.
///
/// # Errors
///
/// [`RunError::Bind`] naming the address.
pub async fn bind(config: &Config) -> Result<Listeners, RunError> {
    let admin = TcpListener::bind(&config.admin.listen).await.map_err(|source| RunError::Bind {
        what: "admin",
        addr: config.admin.listen.clone(),
        source,
    })?;
    let federation = TcpListener::bind(&config.federation.listen).await.map_err(|source| RunError::Bind {
        what: "federation",
        addr: config.federation.listen.clone(),
        source,
    })?;
    Ok(Listeners { admin, federation })
}

/// Runs a node until `shutdown`.
///
/// # Errors
///
/// [`RunError`] if the node cannot start or a server fails.
pub async fn run(config: Config, listeners: Listeners, shutdown: Shutdown) -> Result<(), RunError> {
    run_with_reload(config, listeners, shutdown, None).await
}

/// [`run`], plus: every change on `reload` (e.g. one per SIGHUP) reloads
/// this node's TLS certificate, key and CA from disk, like `jaring tls
/// reload`. New handshakes use the new material; open streams continue.
///
/// # Errors
///
/// [`RunError`] if the node cannot start or a server fails.
pub async fn run_with_reload(
    config: Config,
    listeners: Listeners,
    shutdown: Shutdown,
    reload: Option<tokio::sync::watch::Receiver<u64>>,
) -> Result<(), RunError> {
    let token_path = config.resolve(&config.paths.admin_token);
    let auth = AdminAuth::load(&token_path).map_err(|reason| StartError::Token { path: token_path.clone(), reason })?;
    let own = Arc::new(OwnCert::load(&config.tls_files()).map_err(StartError::Tls)?);
    // The HTTPS listener (TAXII, metrics, health) is optional: `[http] listen`.
    let http_listener = match &config.http {
        Some(h) => Some(TcpListener::bind(&h.listen).await.map_err(|source| RunError::Bind {
            what: "http",
            addr: h.listen.clone(),
            source,
        })?),
        None => None,
    };
    let bound = Bound {
        admin: listeners.admin.local_addr().map_err(|e| RunError::Serve(e.to_string()))?,
        federation: listeners.federation.local_addr().map_err(|e| RunError::Serve(e.to_string()))?,
        http: http_listener
            .as_ref()
            .map(TcpListener::local_addr)
            .transpose()
            .map_err(|e| RunError::Serve(e.to_string()))?,
    };
    let mut config = config;
    let picked_federation_port = bound.pin(&mut config);
    let listen_file = config.resolve(std::path::Path::new(LISTEN_FILE));
    let (node, ledger_thread) =
        tokio::task::spawn_blocking(move || Node::open(config)).await.map_err(|e| RunError::Serve(e.to_string()))??;
    if picked_federation_port {
        // The card must name the port peers can dial.
        node.write_identity_file();
    }
    bound.write(&listen_file);
    tracing::info!(node = %node.id(), admin = %bound.admin, federation = %bound.federation, "node started");

    let limit = node.config().limits.max_message_bytes;
    let admin_service = tonic::service::interceptor::InterceptedService::new(
        AdminServer::new(AdminService::new(node.clone()))
            .max_decoding_message_size(limit)
            .max_encoding_message_size(limit),
        move |req| auth.check(req),
    );
    let admin_health_service = crate::introspection::admin_health().await;
    let (admin_reflection, admin_reflection_v1alpha) =
        crate::introspection::reflection(crate::introspection::Listener::Admin)
            .map_err(|e| RunError::Serve(e.to_string()))?;
    let admin = {
        let mut stop = shutdown.clone();
        // Without TCP_NODELAY a unary response (headers, message, trailers)
        // can wait for the client's delayed ACK: ~40 ms stalls at p99.
        let incoming = tonic::transport::server::TcpIncoming::from(listeners.admin).with_nodelay(Some(true));
        tokio::spawn(async move {
            tonic::transport::Server::builder()
                .layer(crate::metrics::AdminLatencyLayer)
                .add_service(admin_health_service)
                .add_service(admin_reflection)
                .add_service(admin_reflection_v1alpha)
                .add_service(admin_service)
                .serve_with_incoming_shutdown(incoming, async move { stop.wait().await })
                .await
        })
    };
    node.set_own_cert(own.clone());
    let reloader = reload.map(|mut rx| {
        let node = node.clone();
        let mut stop = shutdown.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    r = rx.changed() => if r.is_err() { break },
                    _ = stop.wait() => break,
                }
                match node.reload_tls("signal:SIGHUP").await {
                    Ok(_) => tracing::info!("TLS material reloaded on SIGHUP"),
                    Err(e) => tracing::error!(error = %e, "TLS reload on SIGHUP failed; the old material stays in use"),
                }
            }
        })
    });
    let http = http_listener.map(|l| {
        if let Ok(addr) = l.local_addr() {
            tracing::info!(%addr, "https (TAXII, metrics, health) listening");
        }
        tokio::spawn(crate::http::serve(node.clone(), l, own.clone(), shutdown.clone()))
    });
    let federation = tokio::spawn(federation::run(node.clone(), listeners.federation, own, shutdown.clone()));

    let admin_result = admin.await;
    let fed_result = federation.await;
    if let Some(http) = http {
        match http.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "https server failed"),
            Err(e) => tracing::error!(error = %e, "https server task failed"),
        }
    }
    if let Some(r) = reloader {
        let _ = r.await;
    }
    drop(node);
    // The ledger thread ends once every handle to it is gone; it has
    // committed everything it acknowledged.
    let joined = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        tokio::task::spawn_blocking(move || ledger_thread.join()),
    )
    .await;
    if joined.is_err() {
        tracing::warn!("ledger still referenced after 10 s; every acknowledged write is already durable");
    }
    tracing::info!("node stopped");
    match admin_result {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(RunError::Serve(format!("admin server: {e}"))),
        Err(e) => return Err(RunError::Serve(format!("admin server task: {e}"))),
    }
    match fed_result {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(RunError::Serve(e.to_string())),
        Err(e) => Err(RunError::Serve(format!("federation task: {e}"))),
    }
}
