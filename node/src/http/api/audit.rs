//! `/api/v1/audit`: the hash-chained audit log, for auditors: entries
//! (filtered) and a verification of the whole chain.

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
use crate::audit::{AuditCategory, AuditEntry};
use crate::http::auth::Caller;
use crate::store::audit::{self as audit_store, AuditFilter, AuditVerifyError};

/// Most entries one request returns.
pub const MAX_ENTRIES: u64 = 100_000;

/// One audit entry.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuditEntryOut {
    /// Position in the chain, from 1.
    pub seq: u64,
    /// When it was recorded.
    pub at_ms: i64,
    /// `admin`, `trust`, `rejection` or `access`.
    pub category: String,
    /// Who: `admin[:operator]`, `token:<name>[:operator]`, `peer:<node>`.
    pub actor: String,
    /// What, e.g. `indicator.add`, `token.create`, `access.refuse`.
    pub action: String,
    /// The peer concerned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peer: Option<String>,
    /// The origin of the envelope concerned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    /// Its sequence number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin_seq: Option<u64>,
    /// A short stable reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Free text.
    pub detail: String,
    /// The previous entry's hash.
    pub prev_hash: String,
    /// SHA-256 over the previous hash and this entry.
    pub hash: String,
}

impl From<&AuditEntry> for AuditEntryOut {
    fn from(e: &AuditEntry) -> AuditEntryOut {
        AuditEntryOut {
            seq: e.seq,
            at_ms: e.at_ms,
            category: e.draft.category.as_str().to_string(),
            actor: e.draft.actor.clone(),
            action: e.draft.action.clone(),
            peer: e.draft.peer.clone(),
            origin: e.draft.origin.clone(),
            origin_seq: e.draft.origin_seq,
            reason: e.draft.reason.clone(),
            detail: e.draft.detail.clone(),
            prev_hash: e.prev_hash.clone(),
            hash: e.hash.clone(),
        }
    }
}

/// Audit entries.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuditList {
    /// Oldest first.
    pub entries: Vec<AuditEntryOut>,
}

fn category(name: &str) -> Result<AuditCategory, Problem> {
    [AuditCategory::Admin, AuditCategory::Trust, AuditCategory::Rejection, AuditCategory::Access]
        .into_iter()
        .find(|c| c.as_str() == name)
        .ok_or_else(|| Problem::invalid("category", format!("{name:?}: expected admin, trust, rejection or access")))
}

/// The audit log.
///
/// The newest `limit` entries matching the filters, oldest first.
#[utoipa::path(
    get,
    path = "/api/v1/audit",
    tag = "audit",
    operation_id = "list_audit",
    params(
        ("since_ms" = Option<u64>, Query, description = "Only entries recorded at or after this time"),
        ("peer" = Option<String>, Query, description = "Only entries about this peer"),
        ("category" = Option<String>, Query, description = "admin, trust, rejection or access"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 100000, description = "The newest this many (default 100)"),
    ),
    responses(
        (status = 200, description = "The entries", body = AuditList),
        InputErrors,
        AccessErrors,
    ),
    security(("bearer" = []))
)]
pub async fn list(State(api): State<Arc<Api>>, caller: Caller, RawQuery(raw): RawQuery) -> Result<Response, Problem> {
    caller.authorize(&api.node, Operation::ListAudit, 1).await?;
    let q = Query::parse(raw.as_deref(), &["since_ms", "peer", "category", "limit"])?;
    let filter = AuditFilter {
        since_ms: q.int("since_ms", 0, i64::MAX as u64)?.map(|t| i64::try_from(t).unwrap_or(i64::MAX)),
        peer: q.get("peer").map(str::to_string),
        category: q.get("category").map(category).transpose()?,
        limit: usize::try_from(q.int("limit", 1, MAX_ENTRIES)?.unwrap_or(100)).unwrap_or(100),
    };
    let node = api.node.clone();
    let entries = tokio::task::spawn_blocking(move || audit_store::list(node.store(), &filter))
        .await
        .map_err(|e| Problem::internal(&e.to_string()))??;
    Ok(json(StatusCode::OK, &AuditList { entries: entries.iter().map(Into::into).collect() }))
}

/// The outcome of verifying the chain.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuditVerifyOut {
    /// Whether every entry links to its predecessor and matches its hash.
    pub ok: bool,
    /// Entries checked.
    pub entries_checked: u64,
    /// The first entry that was edited, removed or reordered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_bad_seq: Option<u64>,
    /// What is wrong with it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Verify the audit chain.
///
/// Recomputes every entry's hash and link; names the first entry that was
/// edited, removed or reordered.
#[utoipa::path(
    get,
    path = "/api/v1/audit/verify",
    tag = "audit",
    operation_id = "verify_audit",
    responses(
        (status = 200, description = "The outcome (ok or the first bad entry)", body = AuditVerifyOut),
        InputErrors,
        AccessErrors,
    ),
    security(("bearer" = []))
)]
pub async fn verify(State(api): State<Arc<Api>>, caller: Caller, RawQuery(raw): RawQuery) -> Result<Response, Problem> {
    caller.authorize(&api.node, Operation::VerifyAudit, 1).await?;
    Query::parse(raw.as_deref(), &[])?;
    let node = api.node.clone();
    let outcome = tokio::task::spawn_blocking(move || audit_store::verify(node.store()))
        .await
        .map_err(|e| Problem::internal(&e.to_string()))?;
    let out = match outcome {
        Ok(n) => AuditVerifyOut { ok: true, entries_checked: n, first_bad_seq: None, error: None },
        Err(AuditVerifyError::Broken(b)) => {
            AuditVerifyOut { ok: false, entries_checked: 0, first_bad_seq: Some(b.seq()), error: Some(b.to_string()) }
        }
        Err(AuditVerifyError::Store(e)) => return Err(e.into()),
    };
    Ok(json(StatusCode::OK, &out))
}
