//! The rustls client-certificate verifier of the federation listener.

use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, OtherError, SignatureScheme};
use rustls_pki_types::{CertificateDer, UnixTime};

use super::{PeerRefusal, PeerTrust};

/// Verifies client certificates against the live [`PeerTrust`]: a client
/// is accepted only if [`PeerTrust::verify`] finds its peer. Client
/// authentication is mandatory.
///
/// Refusals become these rustls errors (and so these TLS alerts):
///
/// | [`PeerRefusal`] | [`CertificateError`] | alert |
/// |---|---|---|
/// | `UnknownIssuer` | `UnknownIssuer` | `unknown_ca` |
/// | `InvalidChain` (expired) | `ExpiredContext` | `certificate_expired` |
/// | `InvalidChain` (not yet valid) | `NotValidYetContext` | `certificate_expired` |
/// | `InvalidChain` (no `clientAuth`) | `InvalidPurpose` | `unsupported_certificate` |
/// | `InvalidChain` (bad signature, e.g. a look-alike CA) | `BadSignature` | `decrypt_error` |
/// | `InvalidChain` (other) | `Other` | `certificate_unknown` |
/// | `WrongName`, `Ambiguous` | `ApplicationVerificationFailure` | `access_denied` |
/// | `Malformed` | `BadEncoding` | `bad_certificate` |
///
/// No CA names are sent as hints: a node trusts many CAs and has a single
/// certificate to present anyway.
#[derive(Debug)]
pub struct PeerCertVerifier {
    trust: PeerTrust,
    algorithms: WebPkiSupportedAlgorithms,
}

impl PeerCertVerifier {
    /// A verifier backed by `trust`, checking handshake signatures with the
    /// `ring` provider's algorithms.
    #[must_use]
    pub fn new(trust: PeerTrust) -> PeerCertVerifier {
        PeerCertVerifier { trust, algorithms: super::provider().signature_verification_algorithms }
    }
}

impl ClientCertVerifier for PeerCertVerifier {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        true
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        match self.trust.verify(end_entity, intermediates, now) {
            Ok(node_id) => {
                tracing::trace!(%node_id, "client certificate identifies a trusted peer");
                Ok(ClientCertVerified::assertion())
            }
            Err(refusal) => {
                tracing::debug!(%refusal, "client certificate refused");
                Err(refusal_error(refusal))
            }
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// The rustls error for a refusal (see the table on [`PeerCertVerifier`]).
fn refusal_error(refusal: PeerRefusal) -> rustls::Error {
    let error = match refusal {
        PeerRefusal::Malformed(_) => CertificateError::BadEncoding,
        PeerRefusal::UnknownIssuer => CertificateError::UnknownIssuer,
        PeerRefusal::InvalidChain(e) => chain_error(e),
        PeerRefusal::WrongName { .. } | PeerRefusal::Ambiguous { .. } => {
            CertificateError::ApplicationVerificationFailure
        }
    };
    rustls::Error::InvalidCertificate(error)
}

/// The rustls name of a webpki chain error, as rustls's own verifiers map it
/// for the cases a peer can cause.
fn chain_error(error: webpki::Error) -> CertificateError {
    match error {
        webpki::Error::CertExpired { time, not_after } => CertificateError::ExpiredContext { time, not_after },
        webpki::Error::CertNotValidYet { time, not_before } => {
            CertificateError::NotValidYetContext { time, not_before }
        }
        webpki::Error::InvalidCertValidity => CertificateError::Expired,
        webpki::Error::UnknownIssuer => CertificateError::UnknownIssuer,
        webpki::Error::BadDer | webpki::Error::BadDerTime | webpki::Error::TrailingData(_) => {
            CertificateError::BadEncoding
        }
        webpki::Error::InvalidSignatureForPublicKey => CertificateError::BadSignature,
        webpki::Error::RequiredEkuNotFoundContext(_) => CertificateError::InvalidPurpose,
        webpki::Error::UnsupportedCriticalExtension => CertificateError::UnhandledCriticalExtension,
        other => CertificateError::Other(OtherError(Arc::new(other))),
    }
}
