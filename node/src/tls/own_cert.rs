//! Our own certificate, key and CA, reloadable without restart.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rustls::SignatureScheme;
use rustls::client::ResolvesClientCert;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::{self, PemObject};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use webpki::{EndEntityCert, KeyUsage};
use x509_parser::prelude::{FromDer, X509Certificate};

use super::TlsError;

/// Where a node's TLS material lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeTlsFiles {
    /// Our CA certificate(s), PEM (`DIR/tls/ca.pem`). Its content goes into
    /// the identity card.
    pub ca: PathBuf,
    /// Our certificate chain, PEM, leaf first (`DIR/tls/node.pem`).
    pub cert: PathBuf,
    /// The leaf's private key, PEM (`DIR/tls/node.key`, mode 0600).
    pub key: PathBuf,
}

impl NodeTlsFiles {
    /// The standard files in `tls_dir` (usually `DIR/tls`): `ca.pem`,
    /// `node.pem` and `node.key`.
    #[must_use]
    pub fn in_dir(tls_dir: impl AsRef<Path>) -> NodeTlsFiles {
        let dir = tls_dir.as_ref();
        NodeTlsFiles {
            ca: dir.join(jaring_certs::CA_CERT_FILE),
            cert: dir.join(jaring_certs::NODE_CERT_FILE),
            key: dir.join(jaring_certs::NODE_KEY_FILE),
        }
    }
}

/// Our certificate chain and key as presented in every federation
/// handshake, server and client side, plus our CA.
///
/// It is the certificate resolver of both [`server_config`] and
/// [`client_config`], so [`OwnCert::reload`] reaches every new handshake
/// without rebuilding configurations; open connections keep the material
/// they were made with.
///
/// `Debug` shows the files and the expiry, never the key.
///
/// [`server_config`]: super::server_config
/// [`client_config`]: super::client_config
pub struct OwnCert {
    files: NodeTlsFiles,
    current: RwLock<Arc<Material>>,
}

/// One loaded generation of the material.
struct Material {
    key: Arc<CertifiedKey>,
    ca_certs: Vec<CertificateDer<'static>>,
    not_after: Option<SystemTime>,
}

impl OwnCert {
    /// Loads the CA, the certificate chain and the key from `files`.
    ///
    /// Checks that the key matches the leaf and that the chain is issued by
    /// a CA in the CA file with both the `serverAuth` and `clientAuth`
    /// usages. An expired or not-yet-valid certificate is accepted with a
    /// warning (peers will refuse it; [`OwnCert::not_after`] lets the node
    /// say so early).
    ///
    /// # Errors
    ///
    /// A [`TlsError`] naming the offending file: [`TlsError::Io`],
    /// [`TlsError::Pem`], [`TlsError::NoCertificate`],
    /// [`TlsError::NoPrivateKey`], [`TlsError::KeyMismatch`],
    /// [`TlsError::BadCertificate`] or [`TlsError::NotIssuedByCa`].
    pub fn load(files: &NodeTlsFiles) -> Result<OwnCert, TlsError> {
        let material = Material::load(files)?;
        Ok(OwnCert { files: files.clone(), current: RwLock::new(Arc::new(material)) })
    }

    /// Reads the files again and, if they are good, uses them for every new
    /// handshake. On error the material in use is kept.
    ///
    /// # Errors
    ///
    /// As [`OwnCert::load`].
    pub fn reload(&self) -> Result<(), TlsError> {
        let material = Material::load(&self.files)?;
        tracing::info!(
            cert = %self.files.cert.display(),
            not_after = ?material.not_after,
            "own TLS certificate reloaded"
        );
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(material);
        Ok(())
    }

    /// The files this certificate is loaded from.
    #[must_use]
    pub fn files(&self) -> &NodeTlsFiles {
        &self.files
    }

    /// The chain and key presented now.
    #[must_use]
    pub fn certified_key(&self) -> Arc<CertifiedKey> {
        self.material().key.clone()
    }

    /// The CA certificates loaded with the chain (what the identity card
    /// carries).
    #[must_use]
    pub fn ca_certs(&self) -> Vec<CertificateDer<'static>> {
        self.material().ca_certs.clone()
    }

    /// When the presented leaf certificate expires, for expiry warnings;
    /// `None` if it cannot be read (it was parsed by webpki, so this does not
    /// happen in practice).
    #[must_use]
    pub fn not_after(&self) -> Option<SystemTime> {
        self.material().not_after
    }

    fn material(&self) -> Arc<Material> {
        self.current.read().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

impl fmt::Debug for OwnCert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnCert")
            .field("files", &self.files)
            .field("not_after", &self.not_after())
            .finish_non_exhaustive()
    }
}

impl ResolvesServerCert for OwnCert {
    fn resolve(&self, _client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.certified_key())
    }
}

impl ResolvesClientCert for OwnCert {
    fn resolve(&self, _root_hint_subjects: &[&[u8]], _sigschemes: &[SignatureScheme]) -> Option<Arc<CertifiedKey>> {
        Some(self.certified_key())
    }

    fn has_certs(&self) -> bool {
        true
    }
}

impl Material {
    fn load(files: &NodeTlsFiles) -> Result<Material, TlsError> {
        let ca_certs = read_certs(&files.ca)?;
        let chain = read_certs(&files.cert)?;
        let key = read_key(&files.key)?;

        let provider = super::provider();
        let key = CertifiedKey::from_der(chain, key, &provider).map_err(|source| TlsError::KeyMismatch {
            cert: files.cert.clone(),
            key: files.key.clone(),
            source,
        })?;
        check_chain(files, &key.cert, &ca_certs, &provider)?;
        let not_after = key.cert.first().and_then(|leaf| leaf_not_after(leaf));
        Ok(Material { key: Arc::new(key), ca_certs, not_after })
    }
}

/// Checks that `chain` is a node certificate issued by a CA in `ca_certs`.
fn check_chain(
    files: &NodeTlsFiles,
    chain: &[CertificateDer<'static>],
    ca_certs: &[CertificateDer<'static>],
    provider: &rustls::crypto::CryptoProvider,
) -> Result<(), TlsError> {
    let Some((leaf, intermediates)) = chain.split_first() else {
        return Err(TlsError::NoCertificate { path: files.cert.clone() });
    };
    let leaf = EndEntityCert::try_from(leaf)
        .map_err(|source| TlsError::BadCertificate { path: files.cert.clone(), source })?;
    let anchors = ca_certs
        .iter()
        .map(webpki::anchor_from_trusted_cert)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| TlsError::BadCertificate { path: files.ca.clone(), source })?;
    let now = UnixTime::now();
    for usage in [KeyUsage::server_auth(), KeyUsage::client_auth()] {
        let verified = leaf.verify_for_usage(
            provider.signature_verification_algorithms.all,
            &anchors,
            intermediates,
            now,
            usage,
            None,
            None,
        );
        match verified {
            Ok(_) => {}
            Err(e @ (webpki::Error::CertExpired { .. } | webpki::Error::CertNotValidYet { .. })) => {
                // webpki checks the dates before the issuer, so this says
                // nothing about the CA; the node can still start and warn.
                tracing::warn!(
                    cert = %files.cert.display(),
                    error = %e,
                    "own TLS certificate is not valid now; peers will refuse it"
                );
                return Ok(());
            }
            Err(source) => {
                return Err(TlsError::NotIssuedByCa { cert: files.cert.clone(), ca: files.ca.clone(), source });
            }
        }
    }
    Ok(())
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
        .map_err(|e| pem_error(path, e))?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate { path: path.to_owned() });
    }
    Ok(certs)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| match e {
        pem::Error::NoItemsFound => TlsError::NoPrivateKey { path: path.to_owned() },
        other => pem_error(path, other),
    })
}

fn pem_error(path: &Path, error: pem::Error) -> TlsError {
    match error {
        pem::Error::Io(source) => TlsError::Io { path: path.to_owned(), source },
        source => TlsError::Pem { path: path.to_owned(), source },
    }
}

/// The `notAfter` of a certificate.
fn leaf_not_after(leaf: &CertificateDer<'_>) -> Option<SystemTime> {
    let (_, cert) = X509Certificate::from_der(leaf).ok()?;
    let secs = u64::try_from(cert.validity().not_after.timestamp()).ok()?;
    UNIX_EPOCH.checked_add(Duration::from_secs(secs))
}
