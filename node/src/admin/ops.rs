//! Admin handlers for operating a node: signing keys, TLS reload, audit.
//! [`super::service`] delegates to these; conversions to the wire types
//! live here because only these handlers use them.

use jaring_proto::pb;
use tonic::Status;

use super::status::{store_status, to_status};
use crate::audit::{AuditCategory, AuditEntry};
use crate::audit_store::{self, AuditFilter, AuditVerifyError};
use crate::node::{KeyInfo, Node, NodeError};

impl From<&KeyInfo> for pb::KeyRecord {
    fn from(k: &KeyInfo) -> Self {
        pb::KeyRecord {
            key_id: k.key_id.clone(),
            owner: k.owner.clone(),
            public_key_hex: k.public_key_hex.clone(),
            valid_from_ms: k.valid_from_ms,
            revoked_at_ms: k.revoked_at_ms.unwrap_or(0),
            current: k.current,
            local: k.local,
        }
    }
}

impl From<&AuditEntry> for pb::AuditRecord {
    fn from(e: &AuditEntry) -> Self {
        pb::AuditRecord {
            seq: e.seq,
            at_ms: e.at_ms,
            category: e.draft.category.as_str().into(),
            actor: e.draft.actor.clone(),
            action: e.draft.action.clone(),
            peer: e.draft.peer.clone().unwrap_or_default(),
            origin: e.draft.origin.clone().unwrap_or_default(),
            origin_seq: e.draft.origin_seq.unwrap_or(0),
            reason: e.draft.reason.clone().unwrap_or_default(),
            detail: e.draft.detail.clone(),
            prev_hash: e.prev_hash.clone(),
            hash: e.hash.clone(),
        }
    }
}

/// Parses an audit category name.
///
/// # Errors
///
/// An unknown name.
pub fn category(name: &str) -> Result<Option<AuditCategory>, Status> {
    match name {
        "" => Ok(None),
        "admin" => Ok(Some(AuditCategory::Admin)),
        "trust" => Ok(Some(AuditCategory::Trust)),
        "rejection" => Ok(Some(AuditCategory::Rejection)),
        other => Err(Status::invalid_argument(format!("category {other:?}: expected admin, trust or rejection"))),
    }
}

pub(super) fn list_keys(node: &Node, r: pb::ListKeysRequest) -> pb::ListKeysResponse {
    pb::ListKeysResponse { keys: node.keys(r.all_origins).iter().map(Into::into).collect() }
}

pub(super) async fn rotate_key(node: &Node, actor: &str) -> Result<pb::KeyRecord, Status> {
    Ok((&node.rotate_key(actor).await.map_err(to_status)?).into())
}

pub(super) async fn revoke_key(node: &Node, r: pb::RevokeKeyRequest, actor: &str) -> Result<pb::KeyRecord, Status> {
    if r.key_id.is_empty() {
        return Err(Status::invalid_argument("key_id: is missing"));
    }
    if r.revoked_at_ms < 0 {
        return Err(Status::invalid_argument("revoked_at_ms: must not be negative"));
    }
    let at = (r.revoked_at_ms > 0).then_some(r.revoked_at_ms);
    Ok((&node.revoke_key(&r.key_id, at, &r.reason, actor).await.map_err(to_status)?).into())
}

pub(super) async fn reload_tls(node: &Node, actor: &str) -> Result<pb::ReloadTlsResponse, Status> {
    let not_after = node.reload_tls(actor).await.map_err(|e| match e {
        NodeError::Input(i) => Status::failed_precondition(i.reason),
        other => to_status(other),
    })?;
    Ok(pb::ReloadTlsResponse {
        cert_not_after_ms: not_after.unwrap_or(0),
        cert_path: node.config().tls_files().cert.display().to_string(),
    })
}

pub(super) async fn list_audit(
    node: &std::sync::Arc<Node>,
    r: pb::ListAuditRequest,
) -> Result<pb::ListAuditResponse, Status> {
    let filter = AuditFilter {
        since_ms: (r.since_ms > 0).then_some(r.since_ms),
        peer: (!r.peer.is_empty()).then_some(r.peer),
        category: category(&r.category)?,
        limit: usize::try_from(r.limit).unwrap_or(usize::MAX).min(100_000),
    };
    let node = node.clone();
    let entries = tokio::task::spawn_blocking(move || audit_store::list(node.store(), &filter))
        .await
        .map_err(|e| Status::internal(e.to_string()))?
        .map_err(|e| store_status(&e))?;
    Ok(pb::ListAuditResponse { entries: entries.iter().map(Into::into).collect() })
}

pub(super) async fn verify_audit(node: &std::sync::Arc<Node>) -> Result<pb::VerifyAuditResponse, Status> {
    let node = node.clone();
    let outcome = tokio::task::spawn_blocking(move || audit_store::verify(node.store()))
        .await
        .map_err(|e| Status::internal(e.to_string()))?;
    Ok(verify_response(outcome))
}

/// The wire form of a verification outcome.
pub fn verify_response(outcome: Result<u64, AuditVerifyError>) -> pb::VerifyAuditResponse {
    match outcome {
        Ok(n) => pb::VerifyAuditResponse { ok: true, entries_checked: n, first_bad_seq: 0, error: String::new() },
        Err(AuditVerifyError::Broken(b)) => pb::VerifyAuditResponse {
            ok: false,
            entries_checked: b.seq().saturating_sub(1),
            first_bad_seq: b.seq(),
            error: b.to_string(),
        },
        Err(e) => pb::VerifyAuditResponse { ok: false, entries_checked: 0, first_bad_seq: 0, error: e.to_string() },
    }
}
