//! Peers: importing identity cards, agreements and trust, removal; and
//! the live state of each peer's link, for status.

use std::collections::HashMap;

use tokio::sync::watch;

use crate::audit::AuditDraft;
use crate::identity::IdentityCard;
use crate::model::{Trust, UnixMillis, now_ms};
use crate::peers::{InboundAgreement, OutboundAgreement, Peer};
use crate::store::records::StoredKey;
use crate::store::{Batch, StoreError, TableWrites, Tables};
use crate::submission::InputError;
use crate::tls::{PeerTrust, TrustedPeer};

use super::{Conflict, Node, NodeError, NotFound};

impl Node {
    /// The peers allowed to complete a federation handshake now: kept in
    /// step with the peer set before any peer change returns, so a removed
    /// or blocked peer's next handshake is refused.
    pub fn peer_trust(&self) -> &PeerTrust {
        &self.peer_trust
    }

    /// Recomputes [`Self::peer_trust`] from the peer set.
    pub(super) fn refresh_peer_trust(&self) {
        let trusted: Vec<TrustedPeer> = self
            .peers()
            .into_iter()
            .filter(|p| p.may_connect())
            .filter_map(|p| match TrustedPeer::from_ca_pem(p.node_id(), &p.card.tls_ca_pem) {
                Ok(t) => Some(TrustedPeer { tls_name: p.card.tls_name.clone(), ..t }),
                Err(e) => {
                    tracing::warn!(peer = %p.node_id(), error = %e, "peer CA certificate unusable; peer refused");
                    None
                }
            })
            .collect();
        for e in self.peer_trust.replace(trusted) {
            tracing::warn!(error = %e, "peer left out of the TLS trust set");
        }
    }

    /// Every peer.
    pub fn peers(&self) -> Vec<Peer> {
        let mut v: Vec<Peer> = self.peers.read().unwrap_or_else(|p| p.into_inner()).values().cloned().collect();
        v.sort_by(|a, b| a.node_id().cmp(b.node_id()));
        v
    }

    /// One peer.
    pub fn peer(&self, node_id: &str) -> Option<Peer> {
        self.peers.read().unwrap_or_else(|p| p.into_inner()).get(node_id).cloned()
    }

    /// Replaces the peers held in memory with the store's: a standby
    /// following the writer's peer changes, or a process that took over.
    ///
    /// # Errors
    ///
    /// Store failures; then the peers stay as they were.
    pub fn reload_peers(&self) -> Result<(), StoreError> {
        let peers: HashMap<String, Peer> =
            self.store.peer_records()?.into_iter().map(|p| (p.node_id().to_string(), p)).collect();
        *self.peers.write().unwrap_or_else(|p| p.into_inner()) = peers;
        self.refresh_peer_trust();
        self.peers_changed.send_modify(|n| *n += 1);
        Ok(())
    }

    /// Notified with a new number whenever the peer set or a peer's trust or
    /// agreement changes.
    pub fn peers_changed(&self) -> watch::Receiver<u64> {
        self.peers_changed.subscribe()
    }

    /// Imports a peer from its signed identity card.
    ///
    /// # Errors
    ///
    /// A card that does not verify, a duplicate or this node's own card.
    pub async fn add_peer(&self, mut peer: Peer, actor: &str) -> Result<Peer, NodeError> {
        let card = IdentityCard::verify(&peer.card_text).map_err(|e| InputError::new("identity", e.to_string()))?;
        if card.node_id == self.config.node_id {
            return Err(InputError::new("identity", "this is this node's own identity card").into());
        }
        if self.peer(&card.node_id).is_some() {
            return Err(Conflict::PeerExists(card.node_id).into());
        }
        // A key id belongs to exactly one node: a card may not claim a key
        // this node or another member holds.
        for k in &card.signing_keys {
            if let Some(owner) = self.key_owner(&k.key_id)?
                && owner != card.node_id
            {
                let refusal = Conflict::KeyOwned { key_id: k.key_id.clone(), node: card.node_id.clone(), owner };
                let audit = AuditDraft {
                    reason: Some("key_owned".into()),
                    ..AuditDraft::trust(actor, "peer.add.refused", &card.node_id, refusal.to_string())
                };
                self.ledger.apply(Batch::default(), vec![audit]).await?;
                return Err(refusal.into());
            }
        }
        peer.card = card;
        peer.added_at_ms = now_ms();
        let mut batch = Batch::default();
        batch.put_peer(&peer);
        for k in &peer.card.signing_keys {
            let stored = StoredKey {
                owner: peer.card.node_id.clone(),
                public_key_hex: k.public_key_hex.clone(),
                valid_from_ms: k.valid_from_ms,
                revoked_at_ms: k.revoked_at_ms,
            };
            batch.put_stored_key(&k.key_id, &stored);
        }
        let detail = format!(
            "trust={} member_only={} endpoint={} outbound={} inbound={}",
            peer.trust,
            peer.member_only,
            peer.endpoint(),
            serde_json::to_string(&peer.outbound).unwrap_or_default(),
            serde_json::to_string(&peer.inbound).unwrap_or_default()
        );
        self.ledger.apply(batch, vec![AuditDraft::trust(actor, "peer.add", peer.node_id(), detail)]).await?;
        {
            let mut ring = self.committed.keyring.write().unwrap_or_else(|p| p.into_inner());
            for k in &peer.card.signing_keys {
                if let Ok(vk) = k.public_key() {
                    let id = ring.insert(peer.node_id(), vk, k.valid_from_ms);
                    if let Some(at) = k.revoked_at_ms {
                        ring.revoke(id.as_str(), at);
                    }
                }
            }
        }
        self.peers.write().unwrap_or_else(|p| p.into_inner()).insert(peer.node_id().to_string(), peer.clone());
        self.refresh_peer_trust();
        self.peers_changed.send_modify(|n| *n += 1);
        Ok(peer)
    }

    /// Changes a peer's trust, agreements or endpoint.
    ///
    /// # Errors
    ///
    /// Unknown peer, store failure.
    pub async fn update_peer(&self, node_id: &str, change: PeerChange, actor: &str) -> Result<Peer, NodeError> {
        let mut peer = self.peer(node_id).ok_or_else(|| NotFound::Peer(node_id.into()))?;
        if let Some(t) = change.trust {
            peer.trust = t;
        }
        if let Some(o) = change.outbound {
            peer.outbound = o;
        }
        if let Some(i) = change.inbound {
            peer.inbound = i;
        }
        if let Some(e) = change.endpoint {
            peer.endpoint_override = Some(e);
        }
        let mut batch = Batch::default();
        batch.put_peer(&peer);
        let detail = format!(
            "trust={} endpoint={} outbound={} inbound={}",
            peer.trust,
            peer.endpoint(),
            serde_json::to_string(&peer.outbound).unwrap_or_default(),
            serde_json::to_string(&peer.inbound).unwrap_or_default()
        );
        self.ledger.apply(batch, vec![AuditDraft::trust(actor, "peer.set", node_id, detail)]).await?;
        self.peers.write().unwrap_or_else(|p| p.into_inner()).insert(node_id.to_string(), peer.clone());
        self.refresh_peer_trust();
        self.peers_changed.send_modify(|n| *n += 1);
        Ok(peer)
    }

    /// Which node holds a key id: this node, a peer or member (its card's
    /// keys and those its key events announced), or nobody known.
    ///
    /// # Errors
    ///
    /// Store failures.
    pub fn key_owner(&self, key_id: &str) -> Result<Option<String>, StoreError> {
        if let Some(k) = self.store.stored_key(key_id)? {
            return Ok(Some(k.owner));
        }
        let ring = self.committed.keyring.read().unwrap_or_else(|p| p.into_inner());
        Ok(crate::keys::PublicKeyLookup::public_key(&*ring, key_id).map(|k| k.owner))
    }

    /// Removes a peer: its streams close, its handshakes are refused, and
    /// its keys (those it owns: its card's and those its key events
    /// announced, never another node's) are no longer trusted for new
    /// envelopes.
    ///
    /// # Errors
    ///
    /// Unknown peer, store failure.
    pub async fn remove_peer(&self, node_id: &str, actor: &str) -> Result<(), NodeError> {
        self.peer(node_id).ok_or_else(|| NotFound::Peer(node_id.into()))?;
        let mut batch = Batch::default();
        batch.delete_peer(node_id);
        batch.delete_cursor(node_id);
        for (key_id, k) in self.store.stored_keys()? {
            if k.owner == node_id {
                batch.delete_stored_key(&key_id);
            }
        }
        self.ledger.apply(batch, vec![AuditDraft::trust(actor, "peer.remove", node_id, "")]).await?;
        self.committed.keyring.write().unwrap_or_else(|p| p.into_inner()).remove_owner(node_id);
        self.peers.write().unwrap_or_else(|p| p.into_inner()).remove(node_id);
        self.links.write().unwrap_or_else(|p| p.into_inner()).remove(node_id);
        self.refresh_peer_trust();
        self.peers_changed.send_modify(|n| *n += 1);
        Ok(())
    }

    /// Updates the status of the link to a peer.
    pub fn update_link(&self, peer: &str, f: impl FnOnce(&mut LinkStatus)) {
        let mut links = self.links.write().unwrap_or_else(|p| p.into_inner());
        f(links.entry(peer.to_string()).or_default());
    }

    /// Status of every link.
    pub fn links(&self) -> HashMap<String, LinkStatus> {
        self.links.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// A counter kept by the ledger (`count/...`).
    ///
    /// # Errors
    ///
    /// Store failures.
    pub fn counter(&self, name: &str) -> Result<u64, StoreError> {
        self.store.counter(name)
    }

    /// Every counter with a prefix, e.g. `count/kind/`.
    ///
    /// # Errors
    ///
    /// Store failures.
    pub fn counters(&self, prefix: &str) -> Result<Vec<(String, u64)>, StoreError> {
        self.store.counters(prefix)
    }

    /// The subscription cursor recorded for a peer.
    ///
    /// # Errors
    ///
    /// Store failures.
    pub fn cursor(&self, peer: &str) -> Result<u64, StoreError> {
        self.store.cursor(peer)
    }
}

/// A change to a peer; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct PeerChange {
    pub trust: Option<Trust>,
    /// Outbound agreement.
    pub outbound: Option<OutboundAgreement>,
    /// Inbound agreement.
    pub inbound: Option<InboundAgreement>,
    /// Endpoint override.
    pub endpoint: Option<String>,
}

/// Live state of the connection to one peer, for status.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct LinkStatus {
    /// connected, connecting, backoff, idle, blocked.
    pub inbound_state: String,
    /// Peer log position applied.
    pub inbound_cursor: u64,
    /// Peer's newest position, as last reported.
    pub inbound_head: u64,
    /// Last time anything arrived.
    pub last_contact_ms: UnixMillis,
    /// Open streams the peer holds on us.
    pub outbound_streams: u32,
    /// Last failure.
    pub last_error: String,
    /// Last time the cursor reached the peer's head.
    pub caught_up_at_ms: UnixMillis,
}
