//! Development PKI for a Jaring federation.
//!
//! Every node has its own certificate authority and a node certificate issued
//! by it. The CA certificate travels to peers in the node's identity card;
//! peers accept a TLS connection from (or to) the node only if the presented
//! certificate chains to that CA **and** carries the node's TLS name
//! ([`tls_name`], e.g. `id.jaring.local` for node `ID`) as a DNS subject
//! alternative name. Both checks happen on both sides of every federation
//! connection (mutual TLS).
//!
//! This crate makes the development flavour of that PKI with rcgen (ECDSA
//! P-256 keys): `jaring init` and `jaring certs` use it. A ministry with its
//! own PKI does not need it: see this crate's `README.md`.
//!
//! # Layout
//!
//! - `names`: [`tls_name`] and the subject alternative names of a node
//!   certificate.
//! - `validity`: [`Validity`], the window a certificate is valid in.
//! - `ca`: [`DevCa`] (generate or load a CA) and [`NodeCert`] (what
//!   [`DevCa::issue_node_cert`] returns).
//! - `files`: the file names under `DIR/tls/`, [`write_pem_secret`] (mode
//!   0600) and [`write_dev_pki`].
//! - `error`: [`CertError`].
//!
//! # Examples
//!
//! ```
//! use jaring_certs::{DevCa, Validity, tls_name};
//!
//! let ca = DevCa::generate("ID")?;
//! let node = ca.issue_node_cert("ID", &["id.example.org".to_owned()], Validity::days(365))?;
//! assert!(node.chain_pem.ends_with(&ca.cert_pem));
//! assert_eq!(tls_name("ID"), "id.jaring.local");
//! # Ok::<(), jaring_certs::CertError>(())
//! ```

#![forbid(unsafe_code)]

mod ca;
mod error;
mod files;
mod names;
mod validity;

pub use ca::{DevCa, NodeCert};
pub use error::CertError;
pub use files::{CA_CERT_FILE, CA_KEY_FILE, NODE_CERT_FILE, NODE_KEY_FILE, TLS_DIR, write_dev_pki, write_pem_secret};
pub use names::{ALWAYS_HOSTS, TLS_NAME_SUFFIX, tls_name};
pub use validity::Validity;
