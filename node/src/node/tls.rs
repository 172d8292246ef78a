//! TLS material without downtime: reloading the certificate, key and CA
//! from disk, and certificate expiry for status.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::audit::AuditDraft;
use crate::model::UnixMillis;
use crate::store::Batch;
use crate::tls::OwnCert;

use super::{Conflict, Node, NodeError};

/// How long before expiry status warns.
pub const CERT_WARNING_MS: UnixMillis = 30 * 24 * 3600 * 1000;

/// A certificate's expiry, for status.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CertExpiry {
    /// Which certificate: `own`, `own CA`, `peer VN CA`.
    pub subject: String,
    /// Its notAfter.
    pub not_after_ms: UnixMillis,
}

impl Node {
    /// Hands the node the certificate its servers and clients use, so admins
    /// can reload it.
    pub fn set_own_cert(&self, own: Arc<OwnCert>) {
        let _ = self.own_cert.set(own);
    }

    /// Reloads this node's certificate, key and CA from disk. New
    /// handshakes use them; open streams continue. Returns the new
    /// certificate's notAfter.
    ///
    /// # Errors
    ///
    /// [`NodeError::Input`] naming the file that is missing or wrong (the
    /// old material stays in use), or a store failure auditing it.
    pub async fn reload_tls(&self, actor: &str) -> Result<Option<UnixMillis>, NodeError> {
        let own = self.own_cert.get().ok_or(Conflict::TlsNotRunning)?;
        let result = own.reload();
        let detail = match &result {
            Ok(()) => format!("reloaded {}", own.files().cert.display()),
            Err(e) => format!("failed, old certificate kept: {e}"),
        };
        self.ledger.apply(Batch::default(), vec![AuditDraft::admin(actor, "tls.reload", detail)]).await?;
        result.map_err(|e| Conflict::TlsMaterial(e.to_string()))?;
        if let Ok(ca) = std::fs::read_to_string(&own.files().ca) {
            let changed = {
                let mut cur = self.tls_ca_pem.write().unwrap_or_else(|p| p.into_inner());
                let changed = *cur != ca;
                *cur = ca;
                changed
            };
            if changed {
                tracing::warn!("the CA certificate changed: send peers the new identity card");
                self.write_identity_file();
            }
        }
        Ok(own.not_after().map(system_ms))
    }

    /// Expiry of this node's certificate and CA and of every peer's CA (from
    /// its identity card).
    pub fn cert_expiries(&self) -> Vec<CertExpiry> {
        let mut out = Vec::new();
        if let Some(t) = self.own_cert.get().and_then(|o| o.not_after()) {
            out.push(CertExpiry { subject: "own".into(), not_after_ms: system_ms(t) });
        }
        let ca = self.tls_ca_pem.read().unwrap_or_else(|p| p.into_inner()).clone();
        if let Some(t) = pem_not_after(&ca) {
            out.push(CertExpiry { subject: "own CA".into(), not_after_ms: t });
        }
        for p in self.peers() {
            if let Some(t) = pem_not_after(&p.card.tls_ca_pem) {
                out.push(CertExpiry { subject: format!("peer {} CA", p.node_id()), not_after_ms: t });
            }
        }
        out
    }
}

fn system_ms(t: SystemTime) -> UnixMillis {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| UnixMillis::try_from(d.as_millis()).unwrap_or(UnixMillis::MAX))
}

/// notAfter of the first certificate in a PEM text, in Unix milliseconds.
pub fn pem_not_after(pem: &str) -> Option<UnixMillis> {
    let der = CertificateDer::pem_slice_iter(pem.as_bytes()).next()?.ok()?;
    let (_, cert) = X509Certificate::from_der(der.as_ref()).ok()?;
    Some(cert.validity().not_after.timestamp().saturating_mul(1000))
}
