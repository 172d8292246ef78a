//! rustls configurations for the federation listener and client.

use std::sync::Arc;

use rustls::client::{Resumption, WebPkiServerVerifier};
use rustls::server::NoServerSessionStorage;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use rustls_pki_types::CertificateDer;

use super::{ALPN_H2, OwnCert, PeerCertVerifier, PeerTrust, TlsError};

/// The listener's configuration: presents `own`, requires a client
/// certificate that identifies a peer in `trust` (see [`PeerCertVerifier`]),
/// ALPN `h2`, TLS 1.2 and 1.3 with the `ring` provider.
///
/// Session resumption is off (no session cache, no tickets), so every
/// connection is verified against the trust set of its moment: a removed
/// peer cannot come back by resuming an old session.
///
/// # Errors
///
/// [`TlsError::Rustls`] if rustls refuses the protocol versions (it does
/// not with the `ring` provider).
pub fn server_config(own: Arc<OwnCert>, trust: PeerTrust) -> Result<Arc<ServerConfig>, TlsError> {
    let verifier = Arc::new(PeerCertVerifier::new(trust));
    let mut config = ServerConfig::builder_with_provider(super::provider())
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(verifier)
        .with_cert_resolver(own);
    config.alpn_protocols = vec![ALPN_H2.to_vec()];
    config.session_storage = Arc::new(NoServerSessionStorage {});
    config.send_tls13_tickets = 0;
    Ok(Arc::new(config))
}

/// A client configuration for dialing one peer: the server certificate
/// must chain to `peer_ca` (that peer's CA from its identity card, nothing
/// else) and carry the TLS name given to [`connect`](super::connect); we
/// present `own`. ALPN `h2`, TLS 1.2 and 1.3 with the `ring` provider, no
/// session resumption.
///
/// # Errors
///
/// [`TlsError::Rustls`] if a CA certificate cannot be a trust anchor,
/// [`TlsError::Verifier`] if `peer_ca` is empty.
pub fn client_config(own: Arc<OwnCert>, peer_ca: &[CertificateDer<'static>]) -> Result<Arc<ClientConfig>, TlsError> {
    let provider = super::provider();
    let mut roots = RootCertStore::empty();
    for ca in peer_ca {
        roots.add(ca.clone())?;
    }
    let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone()).build()?;
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_webpki_verifier(verifier)
        .with_client_cert_resolver(own);
    config.alpn_protocols = vec![ALPN_H2.to_vec()];
    config.resumption = Resumption::disabled();
    Ok(Arc::new(config))
}
