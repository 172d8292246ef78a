//! Dialing a node's admin API, as the CLI, `jaring bench`, `jaring demo`
//! and the tests do.
//!
//! The admin channel authenticates the node before anything is sent: the
//! server's certificate must chain to the node's CA (`DIR/tls/ca.pem`, or
//! the file given with `--ca`) and carry the node's TLS name
//! (`<node_id>.jaring.local`, see [`jaring_certs::tls_name`]). A process
//! that took the admin port while the node was down (another local user)
//! cannot complete the handshake, so it never sees the bearer token: the
//! token travels only in HTTP/2 headers, after TLS is up.
//!
//! Plaintext is used only when the node's configuration says
//! `[admin] tls = false` (loopback only), or when asked explicitly.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::RootCertStore;
use rustls::client::{Resumption, WebPkiServerVerifier};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use tonic::transport::Channel;

use crate::config::Config;
use crate::tls::{ALPN_H2, CONNECT_TIMEOUT, TlsError};

/// How to reach one node's admin API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminEndpoint {
    /// `host:port` to dial.
    pub addr: String,
    /// TLS (verified) or plaintext.
    pub transport: AdminTransport,
}

/// How the admin channel is protected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminTransport {
    /// TLS; the server must prove it is the node.
    Tls {
        /// PEM file of the CA(s) the node's certificate must chain to.
        ca: PathBuf,
        /// The name the node's certificate must carry.
        tls_name: String,
    },
    /// No TLS (`[admin] tls = false`, loopback only).
    Plaintext,
}

/// Why the admin API could not be dialed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AdminDialError {
    /// The CA file cannot be used.
    #[error("the node's CA certificate {}: {reason}", path.display())]
    Ca {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// Something answered on the admin port but could not prove it is the
    /// node: nothing was sent to it.
    #[error(
        "the server at {addr} is not the node {tls_name}: {reason}; the admin token was not sent \
         (is another program listening on the admin port?)"
    )]
    NotTheNode {
        /// Address dialed.
        addr: String,
        /// Name expected.
        tls_name: String,
        /// What the TLS handshake said.
        reason: String,
    },
    /// Nothing answered, or the connection broke.
    #[error("cannot reach the node's admin API at {addr} (is jaring-node running?): {reason}")]
    Unreachable {
        /// Address dialed.
        addr: String,
        /// Why.
        reason: String,
    },
}

impl AdminEndpoint {
    /// The admin API of the node configured by `config`: its `[admin]
    /// listen` address (a wildcard dialed on loopback), TLS against its
    /// `tls/ca.pem` and its TLS name unless `[admin] tls = false`.
    pub fn of_node(config: &Config) -> AdminEndpoint {
        // Port 0: the node picked one when it started, and recorded it.
        let listen = match crate::config::Bound::read(&config.base_dir) {
            Ok(b) if config.admin.listen.ends_with(":0") => b.admin.to_string(),
            _ => config.admin.listen.clone(),
        };
        let addr = super::listener::dial_addr(&listen);
        let transport = if config.admin.tls {
            AdminTransport::Tls { ca: config.tls_files().ca, tls_name: jaring_certs::tls_name(&config.node_id) }
        } else {
            AdminTransport::Plaintext
        };
        AdminEndpoint { addr, transport }
    }

    /// The admin API of the node whose directory is `dir` (reads
    /// `dir/node.toml`).
    ///
    /// # Errors
    ///
    /// The configuration cannot be read.
    pub fn of_node_dir(dir: &Path) -> Result<AdminEndpoint, crate::config::ConfigError> {
        Ok(AdminEndpoint::of_node(&Config::load(&dir.join("node.toml"))?))
    }

    /// Opens the channel: TCP, then (with TLS) the handshake that proves
    /// the server is the node, then HTTP/2.
    ///
    /// # Errors
    ///
    /// [`AdminDialError`]: [`AdminDialError::NotTheNode`] when the server
    /// answered but failed verification.
    pub async fn connect(&self) -> Result<Channel, AdminDialError> {
        let unreachable = |reason: String| AdminDialError::Unreachable { addr: self.addr.clone(), reason };
        match &self.transport {
            AdminTransport::Plaintext => {
                let endpoint = tonic::transport::Endpoint::from_shared(format!("http://{}", self.addr))
                    .map_err(|e| unreachable(format!("bad address: {e}")))?
                    .connect_timeout(CONNECT_TIMEOUT);
                endpoint.connect().await.map_err(|e| unreachable(error_chain(&e)))
            }
            AdminTransport::Tls { ca, tls_name } => {
                let config = client_config(ca)?;
                crate::tls::connect(&self.addr, tls_name, config).await.map_err(|e| match e.rustls_error() {
                    Some(tls) => AdminDialError::NotTheNode {
                        addr: self.addr.clone(),
                        tls_name: tls_name.clone(),
                        reason: describe(tls, ca),
                    },
                    None if matches!(e, TlsError::Connect { .. }) && handshake_broke(&e) => {
                        AdminDialError::NotTheNode {
                            addr: self.addr.clone(),
                            tls_name: tls_name.clone(),
                            reason: format!("it does not speak TLS ({})", error_chain(&e)),
                        }
                    }
                    None => unreachable(error_chain(&e)),
                })
            }
        }
    }
}

/// A rustls client configuration that trusts only the CA(s) in `ca` and
/// presents no certificate; ALPN `h2`, no session resumption.
///
/// # Errors
///
/// [`AdminDialError::Ca`] if the file is unreadable or holds no usable CA.
pub fn client_config(ca: &Path) -> Result<Arc<rustls::ClientConfig>, AdminDialError> {
    let bad = |reason: String| AdminDialError::Ca { path: ca.to_path_buf(), reason };
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
    let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| bad(e.to_string()))?;
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| bad(e.to_string()))?
        .with_webpki_verifier(verifier)
        .with_no_client_auth();
    config.alpn_protocols = vec![ALPN_H2.to_vec()];
    config.resumption = Resumption::disabled();
    Ok(Arc::new(config))
}

fn describe(error: &rustls::Error, ca: &Path) -> String {
    match error {
        rustls::Error::InvalidCertificate(why) => {
            format!("its certificate does not verify against {} with the node's name ({why:?})", ca.display())
        }
        other => format!("TLS handshake failed: {other}"),
    }
}

/// Whether the TCP connection opened and then the TLS handshake failed
/// (as opposed to nothing listening).
fn handshake_broke(error: &TlsError) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = source {
        if let Some(TlsError::Handshake { .. } | TlsError::NoH2 { .. }) = e.downcast_ref::<TlsError>() {
            return true;
        }
        source = e.source();
    }
    false
}

fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut out = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        let s = e.to_string();
        if !out.contains(&s) {
            out.push_str(": ");
            out.push_str(&s);
        }
        source = e.source();
    }
    out
}
