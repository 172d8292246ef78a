//! Admin handlers for operating a node: signing keys, TLS reload, audit.
//! [`super::service`] delegates to these.

use jaring_proto::pb;
use tonic::Status;

use crate::audit::AuditCategory;
use crate::node::Node;
use crate::store::audit::{self as audit_store, AuditFilter};
use crate::wire::ToPb;
use crate::wire::admin::verify_response;
use crate::wire::status::store_status;

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
        "access" => Ok(Some(AuditCategory::Access)),
        other => {
            Err(Status::invalid_argument(format!("category {other:?}: expected admin, trust, rejection or access")))
        }
    }
}

pub(super) fn list_keys(node: &Node, r: pb::ListKeysRequest) -> pb::ListKeysResponse {
    pb::ListKeysResponse { keys: node.keys(r.all_origins).iter().map(ToPb::to_pb).collect() }
}

pub(super) async fn rotate_key(node: &Node, actor: &str) -> Result<pb::KeyRecord, Status> {
    Ok(node.rotate_key(actor).await?.to_pb())
}

pub(super) async fn revoke_key(node: &Node, r: pb::RevokeKeyRequest, actor: &str) -> Result<pb::KeyRecord, Status> {
    if r.key_id.is_empty() {
        return Err(Status::invalid_argument("key_id: is missing"));
    }
    if r.revoked_at_ms < 0 {
        return Err(Status::invalid_argument("revoked_at_ms: must not be negative"));
    }
    let at = (r.revoked_at_ms > 0).then_some(r.revoked_at_ms);
    Ok(node.revoke_key(&r.key_id, at, &r.reason, actor).await?.to_pb())
}

pub(super) async fn reload_tls(node: &Node, actor: &str) -> Result<pb::ReloadTlsResponse, Status> {
    let not_after = node.reload_tls(actor).await?;
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
    Ok(pb::ListAuditResponse { entries: entries.iter().map(ToPb::to_pb).collect() })
}

pub(super) async fn verify_audit(node: &std::sync::Arc<Node>) -> Result<pb::VerifyAuditResponse, Status> {
    let node = node.clone();
    let outcome = tokio::task::spawn_blocking(move || audit_store::verify(node.store()))
        .await
        .map_err(|e| Status::internal(e.to_string()))?;
    Ok(verify_response(outcome))
}
