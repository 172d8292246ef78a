//! The error type of the TLS layer.

use std::error::Error as StdError;
use std::path::PathBuf;

/// Why TLS material could not be loaded or a connection not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A file could not be read.
    #[error("cannot read {}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },

    /// A file is not valid PEM.
    #[error("{} is not valid PEM", path.display())]
    Pem {
        /// The file.
        path: PathBuf,
        /// What the PEM parser found.
        #[source]
        source: rustls_pki_types::pem::Error,
    },

    /// A file that should hold certificates holds none.
    #[error("{} holds no PEM certificate", path.display())]
    NoCertificate {
        /// The file.
        path: PathBuf,
    },

    /// A file that should hold a private key holds none.
    #[error("{} holds no PEM private key (PKCS#8, PKCS#1 or SEC1)", path.display())]
    NoPrivateKey {
        /// The file.
        path: PathBuf,
    },

    /// The private key cannot be used, or does not belong to the certificate.
    #[error(
        "the private key in {} is unusable or does not match the certificate in {}",
        key.display(),
        cert.display()
    )]
    KeyMismatch {
        /// The certificate chain file.
        cert: PathBuf,
        /// The private key file.
        key: PathBuf,
        /// What rustls found.
        #[source]
        source: rustls::Error,
    },

    /// A certificate cannot be parsed or used as a trust anchor.
    #[error("{} holds an unusable certificate", path.display())]
    BadCertificate {
        /// The file.
        path: PathBuf,
        /// What webpki found.
        #[source]
        source: webpki::Error,
    },

    /// Our certificate does not chain to our CA, or lacks the `serverAuth`
    /// and `clientAuth` usages a node certificate needs.
    #[error(
        "{} is not a node certificate (serverAuth and clientAuth) issued by the CA in {}",
        cert.display(),
        ca.display()
    )]
    NotIssuedByCa {
        /// The certificate chain file.
        cert: PathBuf,
        /// The CA file.
        ca: PathBuf,
        /// What webpki found.
        #[source]
        source: webpki::Error,
    },

    /// A peer's trust material (from its identity card) is unusable.
    #[error("trusted peer {node_id:?}: {reason}")]
    InvalidPeer {
        /// The peer.
        node_id: String,
        /// What is wrong.
        reason: String,
    },

    /// A TLS name is not a valid DNS name.
    #[error("{name:?} is not a valid TLS (DNS) name")]
    InvalidTlsName {
        /// The name as given.
        name: String,
    },

    /// rustls refused a configuration.
    #[error("TLS configuration refused")]
    Rustls(#[from] rustls::Error),

    /// The server certificate verifier could not be built (for example, no
    /// CA certificate for the peer).
    #[error("cannot build the server certificate verifier")]
    Verifier(#[from] rustls::server::VerifierBuilderError),

    /// A peer address cannot make an endpoint URI.
    #[error("invalid peer address {addr:?} (expected host:port)")]
    InvalidAddress {
        /// The address as given.
        addr: String,
        /// What tonic found.
        #[source]
        source: tonic::transport::Error,
    },

    /// The TCP connection to a peer could not be opened.
    #[error("cannot open a TCP connection to {addr}")]
    Dial {
        /// The peer address.
        addr: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },

    /// The TLS handshake with a peer failed; [`TlsError::rustls_error`] tells
    /// why (for example an unknown issuer or a wrong name).
    #[error("TLS handshake with {addr} failed")]
    Handshake {
        /// The peer address.
        addr: String,
        /// The I/O error, usually wrapping a [`rustls::Error`].
        #[source]
        source: std::io::Error,
    },

    /// The peer completed TLS without agreeing on HTTP/2 (ALPN `h2`).
    #[error("{addr} did not negotiate HTTP/2 (ALPN h2)")]
    NoH2 {
        /// The peer address.
        addr: String,
    },

    /// The gRPC channel to a peer could not be established.
    #[error("cannot connect to {addr}")]
    Connect {
        /// The peer address.
        addr: String,
        /// The tonic error; its source chain holds the cause.
        #[source]
        source: tonic::transport::Error,
    },
}

impl TlsError {
    /// The rustls error somewhere in this error's source chain, if any: the
    /// precise reason a handshake failed (for example
    /// `InvalidCertificate(UnknownIssuer)` or an alert the peer sent).
    #[must_use]
    pub fn rustls_error(&self) -> Option<&rustls::Error> {
        find_rustls_error(self)
    }
}

/// Walks a source chain looking for a [`rustls::Error`], also looking inside
/// `std::io::Error`s (whose `source` skips the wrapped error).
pub(crate) fn find_rustls_error<'a>(error: &'a (dyn StdError + 'static)) -> Option<&'a rustls::Error> {
    let mut current = Some(error);
    while let Some(error) = current {
        if let Some(found) = error.downcast_ref::<rustls::Error>() {
            return Some(found);
        }
        if let Some(io) = error.downcast_ref::<std::io::Error>()
            && let Some(inner) = io.get_ref()
            && let Some(found) = find_rustls_error(inner)
        {
            return Some(found);
        }
        current = error.source();
    }
    None
}
