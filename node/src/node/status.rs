//! What an admin (or an auditor, or a health check) sees of a running node:
//! one plain report, encoded by each edge in its own format.

use serde::Serialize;

use crate::model::{Kind, Trust, UnixMillis, now_ms};
use crate::store::StoreError;
use crate::store::audit::count_since;

use super::{CERT_WARNING_MS, Node};

/// A node's status.
#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    /// This node.
    pub node_id: String,
    /// Software version.
    pub version: String,
    /// When the node started.
    pub started_at_ms: UnixMillis,
    /// Newest local log position.
    pub log_head: u64,
    /// Ids of this node's signing keys, oldest first.
    pub signing_key_ids: Vec<String>,
    /// Indicators held per kind.
    pub kinds: Vec<(Kind, u64)>,
    /// Indicators held per origin.
    pub origins: Vec<OriginStatus>,
    /// Each peer's link.
    pub peers: Vec<PeerStatus>,
    /// Entries waiting for review.
    pub quarantined: u64,
    /// Refused envelopes in the last hour.
    pub rejected_last_hour: u64,
    /// Entries held for review in the last hour.
    pub quarantined_last_hour: u64,
    /// Certificates and when they expire.
    pub certs: Vec<CertStatus>,
    /// This node's signing keys.
    pub signing_keys: Vec<SigningKeyStatus>,
    /// Forks refused and kept as evidence.
    pub forks: u64,
    /// `[federation] listen`.
    pub federation_listen: String,
    /// `[admin] listen`.
    pub admin_listen: String,
    /// `[limits] max_message_bytes`: what a client may send in one message.
    pub max_message_bytes: usize,
    /// `[limits] max_batch`: most indicators per submit request.
    pub max_batch: usize,
    /// Region for national phone numbers.
    pub region: Option<String>,
    /// The store engine.
    pub store_engine: crate::store::EngineKind,
    /// What this process is for its store.
    pub store_role: &'static str,
    /// The writer's admin address, seen from a standby or reader.
    pub writer_admin: Option<String>,
    /// How far the read replica is behind its primary, if there is one.
    pub replica_lag_ms: Option<u64>,
    /// The transparency log.
    pub log: super::LogStatus,
    /// Whether the store takes commits; when not, the node cannot store
    /// anything (a full disk) and health checks say unhealthy.
    pub store: crate::ledger::StoreHealth,
    /// The allowlist index: lists, rules by shape, memory.
    pub allowlists: crate::warninglist::IndexStats,
}

/// Indicators held from one origin.
#[derive(Debug, Clone, Serialize)]
pub struct OriginStatus {
    /// The origin.
    pub origin: String,
    /// Indicators held.
    pub count: u64,
    /// Highest origin_seq held.
    pub head_seq: u64,
}

/// One peer's link.
#[derive(Debug, Clone, Serialize)]
pub struct PeerStatus {
    /// The peer.
    pub node_id: String,
    /// Its trust.
    pub trust: Trust,
    /// connected, connecting, backoff, idle, blocked, member-only.
    pub inbound_state: String,
    /// Peer log position applied.
    pub inbound_cursor: u64,
    /// The peer's newest position, as last reported.
    pub inbound_head: u64,
    /// Last time anything arrived.
    pub last_contact_ms: UnixMillis,
    /// Open streams the peer holds on us.
    pub outbound_streams: u32,
    /// How long the cursor has been behind the peer's head.
    pub inbound_lag_ms: i64,
    /// Last failure.
    pub last_error: String,
}

/// A certificate's expiry.
#[derive(Debug, Clone, Serialize)]
pub struct CertStatus {
    /// Which certificate.
    pub subject: String,
    /// Its notAfter.
    pub not_after_ms: UnixMillis,
    /// Whether it expires within [`CERT_WARNING_MS`].
    pub warning: bool,
}

/// One of this node's signing keys.
#[derive(Debug, Clone, Serialize)]
pub struct SigningKeyStatus {
    /// Its id.
    pub key_id: String,
    /// Signatures dated before this are refused.
    pub valid_from_ms: UnixMillis,
    /// Set when revoked.
    pub revoked_at_ms: Option<UnixMillis>,
    /// Whether it signs new entries.
    pub current: bool,
}

impl Node {
    /// The node's status now.
    ///
    /// # Errors
    ///
    /// Store failures.
    pub fn status(&self) -> Result<StatusReport, StoreError> {
        let now = now_ms();
        let kinds =
            self.counters("count/kind/")?.into_iter().filter_map(|(k, n)| Some((k.parse::<Kind>().ok()?, n))).collect();
        let mut origins = Vec::new();
        for (origin, count) in self.counters("count/origin/")? {
            let head_seq = crate::store::Tables::head(&self.store, &origin)?.map_or(0, |h| h.seq);
            origins.push(OriginStatus { origin, count, head_seq });
        }
        let links = self.links();
        let peers = self
            .peers()
            .into_iter()
            .map(|p| {
                let l = links.get(p.node_id()).cloned().unwrap_or_default();
                let state = if p.trust == Trust::Blocked {
                    "blocked".to_string()
                } else if p.member_only {
                    "member-only".to_string()
                } else if l.inbound_state.is_empty() {
                    "idle".to_string()
                } else {
                    l.inbound_state.clone()
                };
                PeerStatus {
                    node_id: p.node_id().to_string(),
                    trust: p.trust,
                    inbound_state: state,
                    inbound_cursor: self.cursor(p.node_id()).unwrap_or(l.inbound_cursor),
                    inbound_head: l.inbound_head,
                    last_contact_ms: l.last_contact_ms,
                    outbound_streams: l.outbound_streams,
                    inbound_lag_ms: if l.inbound_cursor >= l.inbound_head {
                        0
                    } else {
                        (now - l.caught_up_at_ms.max(self.started_at_ms)).max(0)
                    },
                    last_error: l.last_error,
                }
            })
            .collect();
        let held = self.quarantine(true)?;
        let hour_ago = now - 3_600_000;
        let quarantined =
            held.iter().filter(|(_, q)| q.decision == crate::store::records::Decision::Pending).count() as u64;
        let quarantined_last_hour = held.iter().filter(|(_, q)| q.received_at_ms >= hour_ago).count() as u64;
        let rejected_last_hour = count_since(&self.store, hour_ago, crate::audit::AuditCategory::Rejection)?;
        let certs = self
            .cert_expiries()
            .into_iter()
            .map(|c| CertStatus {
                warning: c.not_after_ms - now < CERT_WARNING_MS,
                subject: c.subject,
                not_after_ms: c.not_after_ms,
            })
            .collect();
        let signing_keys = self
            .keys(false)
            .into_iter()
            .map(|k| SigningKeyStatus {
                key_id: k.key_id,
                valid_from_ms: k.valid_from_ms,
                revoked_at_ms: k.revoked_at_ms,
                current: k.current,
            })
            .collect();
        let role = self.role();
        Ok(StatusReport {
            node_id: self.id().to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            started_at_ms: self.started_at_ms,
            log_head: *self.ledger.head().borrow(),
            signing_key_ids: self.signing_key_ids(),
            kinds,
            origins,
            peers,
            quarantined,
            rejected_last_hour,
            quarantined_last_hour,
            certs,
            signing_keys,
            forks: self.counter("count/forks")?,
            federation_listen: self.config.federation.listen.clone(),
            admin_listen: self.config.admin.listen.clone(),
            max_message_bytes: self.config.limits.max_message_bytes,
            max_batch: self.config.limits.max_batch,
            region: self.config.region.clone(),
            store_engine: self.config.store.engine,
            store_role: role.name(),
            writer_admin: role.writer_admin(),
            replica_lag_ms: self.replica_lag().map(|d| d.as_millis() as u64),
            log: self.log_status()?,
            store: self.store_health(),
            allowlists: self.allowlist_stats(),
        })
    }
}
