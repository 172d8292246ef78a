//! Mutual TLS for federation: the listener that peers dial and the client
//! that dials peers.
//!
//! # Trust model
//!
//! Every node has its own CA; the CA certificate travels in the node's
//! identity card. A federation connection is accepted only if **both** ends
//! authenticate:
//!
//! - The server (our listener) requires a client certificate and looks for
//!   the trusted peer whose CA the presented chain verifies against (with the
//!   `clientAuth` usage) **and** whose TLS name (`<node_id>.jaring.local`,
//!   see [`jaring_certs::tls_name`]) is a DNS subject alternative name of the
//!   certificate. A valid certificate from peer B's CA that names node C is
//!   refused. The connection is then tagged with that peer's node id
//!   ([`PeerInfo`]), which gRPC handlers read from the request extensions.
//! - The client (dialing a peer) verifies the server certificate against that
//!   peer's CA only, for that peer's TLS name, and presents our own
//!   certificate.
//!
//! The set of trusted peers is a [`PeerTrust`], shared by the listener and
//! the peer store. [`PeerTrust::replace`] takes effect at the next handshake;
//! there is no restart and no cache to flush (TLS session resumption is
//! disabled on both sides, so every connection is fully verified against the
//! trust set of its moment). Open connections are not cut by the TLS layer:
//! the federation service ends them using [`PeerTrust::until_untrusted`].
//!
//! Our own certificate, key and CA are an [`OwnCert`], loaded from
//! `DIR/tls/` ([`NodeTlsFiles`]). [`OwnCert::reload`] swaps them in place:
//! new handshakes, in both directions, use the new material; open
//! connections keep working.
//!
//! Everything uses rustls with the `ring` provider, TLS 1.2 and 1.3, and ALPN
//! `h2`.
//!
//! # Layout
//!
//! - `trust`: [`TrustedPeer`], [`PeerTrust`] and [`PeerRefusal`], the mapping
//!   from a certificate chain to a peer.
//! - `verifier`: [`PeerCertVerifier`], the rustls client-certificate verifier
//!   backed by a [`PeerTrust`].
//! - `own_cert`: [`NodeTlsFiles`] and [`OwnCert`], our reloadable
//!   certificate.
//! - `config`: [`server_config`] and [`client_config`].
//! - `incoming`: [`tls_incoming`], the stream of authenticated connections
//!   handed to tonic, with [`TlsConn`] and [`PeerInfo`].
//! - `connect`: [`connect`] and [`connect_lazy`], tonic channels to a peer.
//! - `error`: [`TlsError`].
//!
//! # Examples
//!
//! ```no_run
//! # async fn run(routes: tonic::service::Routes) -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use jaring_node::tls::{self, NodeTlsFiles, OwnCert, PeerTrust, TrustedPeer};
//!
//! let own = Arc::new(OwnCert::load(&NodeTlsFiles::in_dir("node-id/tls"))?);
//! let trust = PeerTrust::new();
//! let vn = TrustedPeer::from_ca_pem("VN", &std::fs::read_to_string("vn-ca.pem")?)?;
//! let rejected = trust.replace(vec![vn.clone()]);
//! assert!(rejected.is_empty());
//!
//! // Listener.
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:7443").await?;
//! let incoming = tls::tls_incoming(listener, tls::server_config(own.clone(), trust.clone())?, trust);
//! tokio::spawn(
//!     tonic::transport::Server::builder()
//!         .add_routes(routes)
//!         .serve_with_incoming(incoming),
//! );
//!
//! // Client.
//! let config = tls::client_config(own, &vn.ca_certs)?;
//! let channel = tls::connect("localhost:7444", &vn.tls_name, config).await?;
//! # drop(channel);
//! # Ok(())
//! # }
//! ```

mod config;
mod connect;
mod error;
mod incoming;
mod own_cert;
mod trust;
mod verifier;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;

pub use config::{client_config, server_config};
pub use connect::{CONNECT_TIMEOUT, KEEPALIVE_INTERVAL, KEEPALIVE_TIMEOUT, connect, connect_lazy};
pub use error::TlsError;
pub use incoming::{HandshakeLimits, PeerInfo, TlsConn, TlsIncoming, tls_incoming, tls_incoming_with_limits};
pub use own_cert::{NodeTlsFiles, OwnCert};
pub use trust::{PeerRefusal, PeerTrust, TrustedPeer};
pub use verifier::PeerCertVerifier;

/// The only application protocol spoken over federation TLS: HTTP/2, for
/// gRPC.
pub const ALPN_H2: &[u8] = b"h2";

/// The crypto provider of every federation TLS configuration: rustls with
/// `ring`, chosen explicitly so no process-wide default is needed.
fn provider() -> std::sync::Arc<rustls::crypto::CryptoProvider> {
    std::sync::Arc::new(rustls::crypto::ring::default_provider())
}
