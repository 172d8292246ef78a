//! Which peers may connect, and which peer a certificate chain belongs to.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, DnsName, ServerName, TrustAnchor, UnixTime};
use tokio::sync::watch;
use webpki::{EndEntityCert, KeyUsage};

use super::TlsError;

/// A peer allowed to open federation connections: its node id, the TLS name
/// its certificates must carry, and the CA certificates (from its identity
/// card) they must chain to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustedPeer {
    /// The peer's node id, as in its identity card.
    pub node_id: String,
    /// The DNS name its certificate must carry as a subject alternative name;
    /// [`jaring_certs::tls_name`] of the node id.
    pub tls_name: String,
    /// The peer's CA certificates (usually one; two during a CA rollover).
    pub ca_certs: Vec<CertificateDer<'static>>,
}

impl TrustedPeer {
    /// A peer with the standard TLS name for `node_id`.
    #[must_use]
    pub fn new(node_id: impl Into<String>, ca_certs: Vec<CertificateDer<'static>>) -> TrustedPeer {
        let node_id = node_id.into();
        TrustedPeer { tls_name: jaring_certs::tls_name(&node_id), node_id, ca_certs }
    }

    /// A peer from the CA PEM of its identity card, with the standard TLS
    /// name for `node_id`.
    ///
    /// # Errors
    ///
    /// [`TlsError::InvalidPeer`] if the PEM does not parse or holds no
    /// certificate.
    pub fn from_ca_pem(node_id: impl Into<String>, ca_pem: &str) -> Result<TrustedPeer, TlsError> {
        let node_id = node_id.into();
        let ca_certs =
            CertificateDer::pem_slice_iter(ca_pem.as_bytes()).collect::<Result<Vec<_>, _>>().map_err(|e| {
                TlsError::InvalidPeer { node_id: node_id.clone(), reason: format!("CA certificate PEM: {e}") }
            })?;
        if ca_certs.is_empty() {
            return Err(TlsError::InvalidPeer { node_id, reason: "no CA certificate in the PEM".to_owned() });
        }
        Ok(TrustedPeer::new(node_id, ca_certs))
    }
}

/// Why a certificate chain does not identify a trusted peer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PeerRefusal {
    /// The end-entity certificate cannot be parsed.
    #[error("the certificate cannot be parsed: {0}")]
    Malformed(webpki::Error),
    /// No trusted peer's CA issued the chain.
    #[error("the certificate is not issued by the CA of any trusted peer")]
    UnknownIssuer,
    /// The chain is invalid: expired, not yet valid, lacking the
    /// `clientAuth` usage, ... `InvalidSignatureForPublicKey` means the
    /// issuer has the name of a trusted peer's CA but another key: typically
    /// a peer that made a new CA without sending its new identity card.
    #[error("the certificate chain is invalid: {0}")]
    InvalidChain(webpki::Error),
    /// The chain verifies against a trusted peer's CA, but the certificate
    /// does not carry that peer's TLS name.
    #[error("the certificate is issued by {node_id}'s CA but does not name {tls_name}")]
    WrongName {
        /// The peer whose CA issued the certificate.
        node_id: String,
        /// The name the certificate should carry.
        tls_name: String,
    },
    /// The certificate identifies several trusted peers (they share a CA
    /// that issued it for all their names); it is refused rather than
    /// guessed.
    #[error("the certificate identifies several trusted peers: {node_ids:?}")]
    Ambiguous {
        /// The peers it identifies.
        node_ids: Vec<String>,
    },
}

/// The live set of peers allowed to open federation connections.
///
/// Cheap to clone: clones share one set. [`PeerTrust::replace`] publishes a
/// new set atomically; every handshake after it uses the new set, handshakes
/// in progress finish with the set they started with.
///
/// Callers put in only the peers that may connect (trusted and review);
/// blocked and removed peers are simply left out.
#[derive(Clone)]
pub struct PeerTrust {
    shared: Arc<Shared>,
}

struct Shared {
    set: watch::Sender<Arc<TrustSet>>,
    algorithms: WebPkiSupportedAlgorithms,
}

/// One published trust set, with trust anchors parsed once.
#[derive(Default)]
struct TrustSet {
    peers: Vec<CompiledPeer>,
}

struct CompiledPeer {
    peer: TrustedPeer,
    name: ServerName<'static>,
    anchors: Vec<TrustAnchor<'static>>,
}

impl TrustSet {
    fn get(&self, node_id: &str) -> Option<&TrustedPeer> {
        self.peers.iter().map(|p| &p.peer).find(|p| p.node_id == node_id)
    }
}

impl CompiledPeer {
    fn compile(peer: TrustedPeer) -> Result<CompiledPeer, TlsError> {
        let invalid = |reason: String| TlsError::InvalidPeer { node_id: peer.node_id.clone(), reason };
        if peer.node_id.is_empty() {
            return Err(invalid("empty node id".to_owned()));
        }
        let name = DnsName::try_from(peer.tls_name.clone())
            .map(ServerName::DnsName)
            .map_err(|_| invalid(format!("{:?} is not a valid DNS name", peer.tls_name)))?;
        if peer.ca_certs.is_empty() {
            return Err(invalid("no CA certificate".to_owned()));
        }
        let anchors = peer
            .ca_certs
            .iter()
            .map(|der| webpki::anchor_from_trusted_cert(der).map(|a| a.to_owned()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| invalid(format!("unusable CA certificate: {e}")))?;
        Ok(CompiledPeer { peer, name, anchors })
    }
}

impl PeerTrust {
    /// An empty trust set: every peer is refused until [`PeerTrust::replace`].
    #[must_use]
    pub fn new() -> PeerTrust {
        PeerTrust {
            shared: Arc::new(Shared {
                set: watch::Sender::new(Arc::new(TrustSet::default())),
                algorithms: super::provider().signature_verification_algorithms,
            }),
        }
    }

    /// Replaces the whole trust set; the next handshake sees the new set.
    ///
    /// Returns the peers left out because their trust material is unusable
    /// (an empty or invalid CA, an invalid TLS name, a node id given twice),
    /// each as a [`TlsError::InvalidPeer`]; every other peer is in force. A
    /// peer left out cannot connect, so one broken identity card never
    /// holds back a change to the others (such as blocking a peer).
    #[must_use = "peers left out of the trust set should be reported"]
    pub fn replace(&self, peers: Vec<TrustedPeer>) -> Vec<TlsError> {
        let mut compiled: Vec<CompiledPeer> = Vec::with_capacity(peers.len());
        let mut rejected = Vec::new();
        for peer in peers {
            if compiled.iter().any(|c| c.peer.node_id == peer.node_id) {
                rejected.push(TlsError::InvalidPeer {
                    node_id: peer.node_id,
                    reason: "node id given twice; the first entry is in force".to_owned(),
                });
                continue;
            }
            match CompiledPeer::compile(peer) {
                Ok(c) => compiled.push(c),
                Err(e) => {
                    tracing::warn!(error = %e, "peer left out of the TLS trust set");
                    rejected.push(e);
                }
            }
        }
        tracing::debug!(peers = compiled.len(), "TLS trust set replaced");
        self.shared.set.send_replace(Arc::new(TrustSet { peers: compiled }));
        rejected
    }

    /// The current set's entry for `node_id`.
    #[must_use]
    pub fn get(&self, node_id: &str) -> Option<TrustedPeer> {
        self.snapshot().get(node_id).cloned()
    }

    /// Whether `node_id` is in the current set.
    #[must_use]
    pub fn contains(&self, node_id: &str) -> bool {
        self.snapshot().get(node_id).is_some()
    }

    /// The node ids in the current set, in the order given to
    /// [`PeerTrust::replace`].
    #[must_use]
    pub fn node_ids(&self) -> Vec<String> {
        self.snapshot().peers.iter().map(|p| p.peer.node_id.clone()).collect()
    }

    /// The node id of the trusted peer a client certificate chain belongs to,
    /// or `None`; see [`PeerTrust::verify`] for the rules and the reasons.
    #[must_use]
    pub fn identify(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Option<String> {
        self.verify(end_entity, intermediates, now).ok()
    }

    /// Finds the trusted peer a client certificate chain belongs to.
    ///
    /// The chain must verify (webpki, `clientAuth` usage, at `now`) against
    /// the peer's CA certificates, **and** the end-entity certificate must
    /// carry the peer's TLS name as a DNS subject alternative name. Exactly
    /// one peer must match.
    ///
    /// # Errors
    ///
    /// The [`PeerRefusal`] saying why no peer matches. When several peers
    /// came close, the most telling reason wins: a wrong name (the chain
    /// verified against some peer's CA) over an invalid chain (for example
    /// expired) over an unknown issuer.
    pub fn verify(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<String, PeerRefusal> {
        let cert = EndEntityCert::try_from(end_entity).map_err(PeerRefusal::Malformed)?;
        let set = self.snapshot();
        let mut matched: Vec<&str> = Vec::new();
        let mut wrong_name = None;
        let mut invalid_chain = None;
        for peer in &set.peers {
            let chain = cert.verify_for_usage(
                self.shared.algorithms.all,
                &peer.anchors,
                intermediates,
                now,
                KeyUsage::client_auth(),
                None,
                None,
            );
            match chain {
                Ok(_) => match cert.verify_is_valid_for_subject_name(&peer.name) {
                    Ok(()) => matched.push(&peer.peer.node_id),
                    Err(_) => {
                        wrong_name.get_or_insert_with(|| PeerRefusal::WrongName {
                            node_id: peer.peer.node_id.clone(),
                            tls_name: peer.peer.tls_name.clone(),
                        });
                    }
                },
                Err(webpki::Error::UnknownIssuer) => {}
                Err(e) => {
                    invalid_chain.get_or_insert(PeerRefusal::InvalidChain(e));
                }
            }
        }
        match matched.as_slice() {
            [node_id] => Ok((*node_id).to_owned()),
            [] => Err(wrong_name.or(invalid_chain).unwrap_or(PeerRefusal::UnknownIssuer)),
            several => Err(PeerRefusal::Ambiguous { node_ids: several.iter().map(|id| (*id).to_owned()).collect() }),
        }
    }

    /// A future that completes when `node_id` stops being trusted as it is
    /// now: it is removed (or blocked, i.e. left out), or its CA or TLS name
    /// changes. Completes at once if `node_id` is not trusted now.
    ///
    /// The federation service selects on it to end a peer's open streams
    /// when trust changes, since the TLS layer only sees handshakes.
    pub fn until_untrusted(&self, node_id: &str) -> impl Future<Output = ()> + Send + 'static {
        let mut changes = self.shared.set.subscribe();
        let initial = changes.borrow_and_update().get(node_id).cloned();
        let node_id = node_id.to_owned();
        async move {
            let Some(initial) = initial else {
                return;
            };
            loop {
                if changes.changed().await.is_err() {
                    // Every PeerTrust is gone: nothing is trusted any more.
                    return;
                }
                if changes.borrow_and_update().get(&node_id) != Some(&initial) {
                    return;
                }
            }
        }
    }

    fn snapshot(&self) -> Arc<TrustSet> {
        self.shared.set.borrow().clone()
    }
}

impl Default for PeerTrust {
    fn default() -> PeerTrust {
        PeerTrust::new()
    }
}

impl fmt::Debug for PeerTrust {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PeerTrust").field("node_ids", &self.node_ids()).finish_non_exhaustive()
    }
}
