//! The one error type of this crate.

use std::path::PathBuf;

/// Why a development PKI operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CertError {
    /// The node id cannot become a DNS name (`<node_id>.jaring.local`).
    #[error("invalid node id {node_id:?}: {reason}")]
    InvalidNodeId {
        /// The node id as given.
        node_id: String,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// A host to put in the certificate is neither an IP address nor a DNS
    /// name.
    #[error("invalid certificate host {host:?}: {reason}")]
    InvalidHost {
        /// The host as given.
        host: String,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// The validity window is empty or cannot be written in a certificate.
    #[error("invalid certificate validity: {reason}")]
    InvalidValidity {
        /// What is wrong with it.
        reason: &'static str,
    },

    /// A fresh key pair could not be generated.
    #[error("cannot generate a P-256 key pair")]
    KeyGeneration(#[source] rcgen::Error),

    /// The CA private key PEM could not be parsed.
    #[error("the CA private key is not a usable PEM (PKCS#8) private key")]
    CaKey(#[source] rcgen::Error),

    /// The CA certificate PEM could not be parsed.
    #[error("the CA certificate is not a usable PEM certificate")]
    CaCertificate(#[source] rcgen::Error),

    /// The CA certificate does not carry the CA basic constraint.
    #[error("the CA certificate is not a CA (basic constraints say cA = false or are missing)")]
    NotACa,

    /// The CA private key does not belong to the CA certificate.
    #[error("the CA private key does not match the CA certificate's public key")]
    CaKeyMismatch,

    /// rcgen refused to build or sign a certificate.
    #[error("cannot sign the {what} certificate")]
    Sign {
        /// Which certificate: `"CA"` or `"node"`.
        what: &'static str,
        /// The rcgen error.
        #[source]
        source: rcgen::Error,
    },

    /// A file could not be written.
    #[error("cannot write {}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}
