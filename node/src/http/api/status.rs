//! `GET /api/v1/status`: what `jaring status` shows, for scripts, auditors
//! and crawlers (which size their batches by `max_batch`).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;
use utoipa::ToSchema;

use super::input::Query;
use super::problem::{AccessErrors, InputErrors, Problem};
use super::{Api, json};
use crate::access::Operation;
use crate::http::auth::Caller;
use crate::node::StatusReport;

/// Indicators held from one origin.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OriginOut {
    /// The origin node.
    pub origin: String,
    /// Indicators held from it.
    pub count: u64,
    /// Its highest sequence number held.
    pub head_seq: u64,
}

/// One peer's link.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PeerOut {
    /// The peer.
    pub node_id: String,
    /// `trusted`, `review` or `blocked`.
    pub trust: String,
    /// `connected`, `connecting`, `backoff`, `idle`, `blocked`, `member-only`.
    pub inbound_state: String,
    /// The peer's log position applied here.
    pub inbound_cursor: u64,
    /// The peer's newest position, as last reported.
    pub inbound_head: u64,
    /// When anything last arrived from it.
    pub last_contact_ms: i64,
    /// Streams the peer holds on this node.
    pub outbound_streams: u32,
    /// How long this node has been behind the peer.
    pub inbound_lag_ms: i64,
    /// The last failure.
    pub last_error: String,
}

/// A certificate and its expiry.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CertOut {
    /// Which certificate.
    pub subject: String,
    /// Its notAfter.
    pub not_after_ms: i64,
    /// Whether it expires within 30 days.
    pub warning: bool,
}

/// A node's status.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StatusOut {
    /// This node.
    pub node_id: String,
    /// Software version.
    pub version: String,
    /// When it started.
    pub started_at_ms: i64,
    /// Its newest log position.
    pub log_head: u64,
    /// Its signing keys, oldest first.
    pub signing_key_ids: Vec<String>,
    /// Indicators held per kind.
    pub kinds: BTreeMap<String, u64>,
    /// Indicators held per origin.
    pub origins: Vec<OriginOut>,
    /// Each peer's link.
    pub peers: Vec<PeerOut>,
    /// Entries waiting for review.
    pub quarantined: u64,
    /// Envelopes refused in the last hour.
    pub rejected_last_hour: u64,
    /// Entries held for review in the last hour.
    pub quarantined_last_hour: u64,
    /// Forks refused and kept as evidence.
    pub forks: u64,
    /// Certificates and their expiry.
    pub certs: Vec<CertOut>,
    /// Most indicators per submission.
    pub max_batch: usize,
    /// Largest admin API message.
    pub max_message_bytes: usize,
    /// Region for national phone numbers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

impl From<StatusReport> for StatusOut {
    fn from(r: StatusReport) -> StatusOut {
        StatusOut {
            node_id: r.node_id,
            version: r.version,
            started_at_ms: r.started_at_ms,
            log_head: r.log_head,
            signing_key_ids: r.signing_key_ids,
            kinds: r.kinds.into_iter().map(|(k, n)| (k.to_string(), n)).collect(),
            origins: r
                .origins
                .into_iter()
                .map(|o| OriginOut { origin: o.origin, count: o.count, head_seq: o.head_seq })
                .collect(),
            peers: r
                .peers
                .into_iter()
                .map(|p| PeerOut {
                    node_id: p.node_id,
                    trust: p.trust.to_string(),
                    inbound_state: p.inbound_state,
                    inbound_cursor: p.inbound_cursor,
                    inbound_head: p.inbound_head,
                    last_contact_ms: p.last_contact_ms,
                    outbound_streams: p.outbound_streams,
                    inbound_lag_ms: p.inbound_lag_ms,
                    last_error: p.last_error,
                })
                .collect(),
            quarantined: r.quarantined,
            rejected_last_hour: r.rejected_last_hour,
            quarantined_last_hour: r.quarantined_last_hour,
            forks: r.forks,
            certs: r
                .certs
                .into_iter()
                .map(|c| CertOut { subject: c.subject, not_after_ms: c.not_after_ms, warning: c.warning })
                .collect(),
            max_batch: r.max_batch,
            max_message_bytes: r.max_message_bytes,
            region: r.region,
        }
    }
}

/// The node's status.
#[utoipa::path(
    get,
    path = "/api/v1/status",
    tag = "node",
    operation_id = "status",
    responses(
        (status = 200, description = "The node's status", body = StatusOut),
        InputErrors,
        AccessErrors,
    ),
    security(("bearer" = []))
)]
pub async fn status(State(api): State<Arc<Api>>, caller: Caller, RawQuery(raw): RawQuery) -> Result<Response, Problem> {
    caller.authorize(&api.node, Operation::ReadStatus, 1).await?;
    Query::parse(raw.as_deref(), &[])?;
    let node = api.node.clone();
    let report =
        tokio::task::spawn_blocking(move || node.status()).await.map_err(|e| Problem::internal(&e.to_string()))??;
    Ok(json(StatusCode::OK, &StatusOut::from(report)))
}
