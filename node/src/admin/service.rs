//! `jaring.v1.Admin` handlers: decode, call [`Node`], encode.

use std::sync::Arc;

use jaring_proto::pb;
use jaring_proto::pb::admin_server::Admin;
use tonic::{Request, Response, Status, Streaming};

use super::Actor;
use super::status::{store_status, to_status, wire_status};
use crate::model::Kind;
use crate::node::{ListFilter, NewIndicator, Node, NodeError, PeerChange, SubmitOptions, Submitted};
use crate::peers::{InboundAgreement, OutboundAgreement, Peer};
use crate::wire::WireError;

/// Lookup requests of up to this many values are answered on the
/// request's own task.
const INLINE_LOOKUPS: usize = 32;
use crate::wire::admin::trust_from_wire;

/// The admin service.
#[derive(Debug, Clone)]
pub struct AdminService {
    node: Arc<Node>,
}

impl AdminService {
    /// Serves `node`.
    pub fn new(node: Arc<Node>) -> AdminService {
        AdminService { node }
    }
}

fn actor<T>(req: &Request<T>) -> String {
    req.extensions().get::<Actor>().map_or_else(|| "admin".to_string(), |a| a.0.clone())
}

type Result<T> = std::result::Result<Response<T>, Status>;

impl AdminService {
    async fn submit(
        &self,
        inputs: Vec<pb::IndicatorInput>,
        actor: &str,
        override_allowlist: bool,
        unchanged: i32,
    ) -> std::result::Result<pb::SubmitIndicatorsResponse, Status> {
        let max = self.node.config().limits.max_batch;
        if inputs.len() > max {
            return Err(Status::invalid_argument(format!(
                "{} indicators in one request; the limit is {max}",
                inputs.len()
            )));
        }
        let mut decoded = Vec::with_capacity(inputs.len());
        let mut early: Vec<Option<pb::FieldError>> = Vec::with_capacity(inputs.len());
        for i in inputs {
            match NewIndicator::try_from(i) {
                Ok(n) => {
                    decoded.push(n);
                    early.push(None);
                }
                Err(e) => early.push(Some(pb::FieldError { field: e.field().into(), reason: e.to_string() })),
            }
        }
        let opts = SubmitOptions { override_allowlist, skip_unchanged: unchanged == pb::Unchanged::Skip as i32 };
        let mut done = self.node.submit_checked(decoded, actor, opts).await.map_err(to_status)?.into_iter();
        let results: Vec<pb::SubmitResult> = early
            .into_iter()
            .map(|e| {
                let result = match e {
                    Some(err) => pb::submit_result::Result::Error(err),
                    None => match done.next() {
                        Some(Ok(Submitted::Stored(rec))) => pb::submit_result::Result::Stored((&rec).into()),
                        Some(Ok(Submitted::Unchanged(rec))) => pb::submit_result::Result::Unchanged((&rec).into()),
                        Some(Err(err)) => {
                            pb::submit_result::Result::Error(pb::FieldError { field: err.field, reason: err.reason })
                        }
                        None => pb::submit_result::Result::Error(pb::FieldError {
                            field: "internal".into(),
                            reason: "no result".into(),
                        }),
                    },
                };
                pb::SubmitResult { result: Some(result) }
            })
            .collect();
        let stored = results
            .iter()
            .filter(|r: &&pb::SubmitResult| matches!(r.result, Some(pb::submit_result::Result::Stored(_))))
            .count() as u64;
        let unchanged = results
            .iter()
            .filter(|r: &&pb::SubmitResult| matches!(r.result, Some(pb::submit_result::Result::Unchanged(_))))
            .count() as u64;
        Ok(pb::SubmitIndicatorsResponse { results, stored, refused: Vec::new(), unchanged })
    }
}

fn outbound(a: Option<pb::OutboundAgreement>) -> std::result::Result<Option<OutboundAgreement>, WireError> {
    a.map(TryInto::try_into).transpose()
}

fn inbound(a: Option<pb::InboundAgreement>) -> std::result::Result<Option<InboundAgreement>, WireError> {
    a.map(TryInto::try_into).transpose()
}

#[tonic::async_trait]
impl Admin for AdminService {
    async fn submit_indicators(
        &self,
        req: Request<pb::SubmitIndicatorsRequest>,
    ) -> Result<pb::SubmitIndicatorsResponse> {
        let actor = actor(&req);
        let r = req.into_inner();
        Ok(Response::new(self.submit(r.indicators, &actor, r.override_allowlist, r.unchanged).await?))
    }

    async fn submit_indicator_stream(
        &self,
        req: Request<Streaming<pb::SubmitIndicatorsRequest>>,
    ) -> Result<pb::SubmitIndicatorsResponse> {
        let actor = actor(&req);
        let mut stream = req.into_inner();
        let mut all = pb::SubmitIndicatorsResponse::default();
        let mut position = 0u64;
        let mut tally = |r: pb::SubmitIndicatorsResponse, all: &mut pb::SubmitIndicatorsResponse| {
            for result in r.results {
                match result.result {
                    Some(pb::submit_result::Result::Stored(_)) => all.stored += 1,
                    Some(pb::submit_result::Result::Unchanged(_)) => all.unchanged += 1,
                    Some(pb::submit_result::Result::Error(error)) => {
                        all.refused.push(pb::RefusedInput { index: position, error: Some(error) })
                    }
                    None => {}
                }
                position += 1;
            }
        };
        // Keep one batch in flight while the next is read.
        let mut pending: Option<tokio::task::JoinHandle<std::result::Result<pb::SubmitIndicatorsResponse, Status>>> =
            None;
        while let Some(batch) = stream.message().await? {
            let me = self.clone();
            let actor = actor.clone();
            let next = tokio::spawn(async move {
                me.submit(batch.indicators, &actor, batch.override_allowlist, batch.unchanged).await
            });
            if let Some(prev) = pending.replace(next) {
                let r = prev.await.map_err(|e| Status::internal(e.to_string()))??;
                tally(r, &mut all);
            }
        }
        if let Some(prev) = pending {
            let r = prev.await.map_err(|e| Status::internal(e.to_string()))??;
            tally(r, &mut all);
        }
        Ok(Response::new(all))
    }

    async fn revoke_indicator(&self, req: Request<pb::RevokeIndicatorRequest>) -> Result<pb::IndicatorRecord> {
        let actor = actor(&req);
        let r = req.into_inner();
        let rec = self.node.revoke(&r.id, &r.reason, &actor).await.map_err(to_status)?;
        Ok(Response::new((&rec).into()))
    }

    async fn list_indicators(&self, req: Request<pb::ListIndicatorsRequest>) -> Result<pb::ListIndicatorsResponse> {
        let r = req.into_inner();
        let filter = ListFilter {
            kind: Kind::from_wire(r.kind).map_err(|e| wire_status(&e))?,
            origin: (!r.origin.is_empty()).then_some(r.origin),
            signed_by: (!r.signed_by.is_empty()).then_some(r.signed_by),
            after: r.after_local_seq,
            limit: usize::try_from(r.limit).unwrap_or(usize::MAX).min(10_000),
            min_score: u8::try_from(r.min_score).unwrap_or(u8::MAX),
        };
        let node = self.node.clone();
        let records = tokio::task::spawn_blocking(move || node.list(&filter))
            .await
            .map_err(|e| Status::internal(e.to_string()))?
            .map_err(|e| store_status(&e))?;
        Ok(Response::new(pb::ListIndicatorsResponse { indicators: records.iter().map(Into::into).collect() }))
    }

    async fn lookup(&self, req: Request<pb::LookupRequest>) -> Result<pb::LookupResponse> {
        let r = req.into_inner();
        let max = self.node.config().limits.max_batch * 64;
        if r.queries.len() > max {
            return Err(Status::invalid_argument(format!(
                "{} queries in one request; the limit is {max}",
                r.queries.len()
            )));
        }
        let mut queries = Vec::with_capacity(r.queries.len());
        for q in r.queries {
            queries.push((q.value, Kind::from_wire(q.kind).map_err(|e| wire_status(&e))?));
        }
        let min_score = u8::try_from(r.min_score).unwrap_or(u8::MAX);
        // Lookups are answered from memory unless a value is listed and not
        // cached; a few are cheaper here than a hop to the blocking pool.
        let mut results = if queries.len() <= INLINE_LOOKUPS {
            self.node.lookup(&queries)
        } else {
            let node = self.node.clone();
            tokio::task::spawn_blocking(move || node.lookup(&queries))
                .await
                .map_err(|e| Status::internal(e.to_string()))?
        }
        .map_err(|e| store_status(&e))?;
        for result in &mut results {
            result.retain_min_score(min_score);
            if r.summary {
                for view in &mut result.views {
                    view.assertions.clear();
                    view.feedback.clear();
                }
            }
        }
        Ok(Response::new(pb::LookupResponse { results: results.iter().map(Into::into).collect() }))
    }

    async fn status(&self, _req: Request<pb::StatusRequest>) -> Result<pb::StatusResponse> {
        let n = &self.node;
        let err = |e: crate::store::StoreError| store_status(&e);
        let kinds = n
            .counters("count/kind/")
            .map_err(err)?
            .into_iter()
            .filter_map(|(k, count)| Some(pb::KindCount { kind: k.parse::<Kind>().ok()?.into(), count }))
            .collect();
        let mut origins = Vec::new();
        for (origin, count) in n.counters("count/origin/").map_err(err)? {
            let head_seq = n
                .store()
                .get(crate::store::Keyspace::Heads, origin.as_bytes())
                .map_err(err)?
                .and_then(|v| crate::store::layout::Head::decode(&v))
                .map_or(0, |h| h.seq);
            origins.push(pb::OriginCount { origin, count, head_seq });
        }
        let links = n.links();
        let peers = n
            .peers()
            .into_iter()
            .map(|p| {
                let l = links.get(p.node_id()).cloned().unwrap_or_default();
                let state = if p.trust == crate::model::Trust::Blocked {
                    "blocked".to_string()
                } else if p.member_only {
                    "member-only".to_string()
                } else if l.inbound_state.is_empty() {
                    "idle".to_string()
                } else {
                    l.inbound_state.clone()
                };
                pb::PeerStatus {
                    node_id: p.node_id().to_string(),
                    trust: p.trust.to_string(),
                    inbound_state: state,
                    inbound_cursor: n.cursor(p.node_id()).unwrap_or(l.inbound_cursor),
                    inbound_head: l.inbound_head,
                    last_contact_ms: l.last_contact_ms,
                    outbound_streams: l.outbound_streams,
                    inbound_lag_ms: if l.inbound_cursor >= l.inbound_head {
                        0
                    } else {
                        (crate::model::now_ms() - l.caught_up_at_ms.max(n.started_at_ms())).max(0)
                    },
                    last_error: l.last_error,
                }
            })
            .collect();
        let quarantined = n.quarantine(false).map_err(err)?.len() as u64;
        let hour_ago = crate::model::now_ms() - 3_600_000;
        let quarantined_last_hour =
            n.quarantine(true).map_err(err)?.iter().filter(|(_, q)| q.received_at_ms >= hour_ago).count() as u64;
        let rejected_last_hour =
            crate::audit_store::count_since(n.store(), hour_ago, crate::audit::AuditCategory::Rejection)
                .map_err(err)?;
        let now = crate::model::now_ms();
        let certs = n
            .cert_expiries()
            .into_iter()
            .map(|c| pb::CertStatus {
                warning: c.not_after_ms - now < crate::node::CERT_WARNING_MS,
                subject: c.subject,
                not_after_ms: c.not_after_ms,
            })
            .collect();
        let signing_keys = n
            .keys(false)
            .into_iter()
            .map(|k| pb::SigningKeyStatus {
                key_id: k.key_id,
                valid_from_ms: k.valid_from_ms,
                revoked_at_ms: k.revoked_at_ms.unwrap_or(0),
                current: k.current,
            })
            .collect();
        Ok(Response::new(pb::StatusResponse {
            node_id: n.id().to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            started_at_ms: n.started_at_ms(),
            log_head: *n.ledger().head().borrow(),
            signing_key_ids: n.signing_key_ids(),
            kinds,
            origins,
            peers,
            quarantined,
            rejected_last_hour,
            quarantined_last_hour,
            certs,
            signing_keys,
            forks: n.counter("count/forks").map_err(err)?,
            federation_listen: n.config().federation.listen.clone(),
            admin_listen: n.config().admin.listen.clone(),
            region: n.config().region.clone().unwrap_or_default(),
            max_message_bytes: n.config().limits.max_message_bytes as u64,
            max_batch: u32::try_from(n.config().limits.max_batch).unwrap_or(u32::MAX),
        }))
    }

    async fn export_identity(&self, _req: Request<pb::ExportIdentityRequest>) -> Result<pb::ExportIdentityResponse> {
        Ok(Response::new(pb::ExportIdentityResponse { identity_json: self.node.identity_card() }))
    }

    async fn add_peer(&self, req: Request<pb::AddPeerRequest>) -> Result<pb::PeerRecord> {
        let actor = actor(&req);
        let r = req.into_inner();
        let card = crate::identity::IdentityCard::verify(&r.identity_json)
            .map_err(|e| to_status(NodeError::Input(crate::node::InputError::new("identity", e.to_string()))))?;
        let peer = Peer {
            card,
            card_text: r.identity_json,
            trust: trust_from_wire(r.trust).map_err(|e| wire_status(&e))?.unwrap_or(crate::model::Trust::Review),
            member_only: r.member_only,
            endpoint_override: (!r.endpoint.is_empty()).then_some(r.endpoint),
            outbound: outbound(r.outbound).map_err(|e| wire_status(&e))?.unwrap_or_default(),
            inbound: inbound(r.inbound).map_err(|e| wire_status(&e))?.unwrap_or_default(),
            added_at_ms: 0,
        };
        let peer = self.node.add_peer(peer, &actor).await.map_err(to_status)?;
        Ok(Response::new((&peer).into()))
    }

    async fn list_peers(&self, _req: Request<pb::ListPeersRequest>) -> Result<pb::ListPeersResponse> {
        Ok(Response::new(pb::ListPeersResponse { peers: self.node.peers().iter().map(Into::into).collect() }))
    }

    async fn get_peer(&self, req: Request<pb::GetPeerRequest>) -> Result<pb::PeerRecord> {
        let id = req.into_inner().node_id;
        let peer = self.node.peer(&id).ok_or_else(|| Status::not_found(format!("no peer {id}")))?;
        Ok(Response::new((&peer).into()))
    }

    async fn update_peer(&self, req: Request<pb::UpdatePeerRequest>) -> Result<pb::PeerRecord> {
        let actor = actor(&req);
        let r = req.into_inner();
        let change = PeerChange {
            trust: trust_from_wire(r.trust).map_err(|e| wire_status(&e))?,
            outbound: outbound(r.outbound).map_err(|e| wire_status(&e))?,
            inbound: inbound(r.inbound).map_err(|e| wire_status(&e))?,
            endpoint: (!r.endpoint.is_empty()).then_some(r.endpoint),
        };
        let peer = self.node.update_peer(&r.node_id, change, &actor).await.map_err(to_status)?;
        Ok(Response::new((&peer).into()))
    }

    async fn remove_peer(&self, req: Request<pb::RemovePeerRequest>) -> Result<pb::RemovePeerResponse> {
        let actor = actor(&req);
        self.node.remove_peer(&req.into_inner().node_id, &actor).await.map_err(to_status)?;
        Ok(Response::new(pb::RemovePeerResponse {}))
    }

    async fn list_quarantine(&self, req: Request<pb::ListQuarantineRequest>) -> Result<pb::ListQuarantineResponse> {
        let include = req.into_inner().include_decided;
        let node = self.node.clone();
        let records = tokio::task::spawn_blocking(move || quarantine_records(&node, include))
            .await
            .map_err(|e| Status::internal(e.to_string()))?
            .map_err(|e| store_status(&e))?;
        Ok(Response::new(pb::ListQuarantineResponse { records }))
    }

    async fn add_feedback(&self, req: Request<pb::AddFeedbackRequest>) -> Result<pb::FeedbackEvent> {
        let actor = actor(&req);
        let input = crate::feedback::NewFeedback::try_from(req.into_inner()).map_err(|e| wire_status(&e))?;
        let event = self.node.add_feedback(input, &actor).await.map_err(to_status)?;
        Ok(Response::new((&event).into()))
    }

    async fn allowlist_add(&self, req: Request<pb::AllowlistAddRequest>) -> Result<pb::AllowlistAddResponse> {
        let actor = actor(&req);
        let mut entries = Vec::new();
        for e in req.into_inner().entries {
            entries.push(crate::allowlist::AllowEntry::try_from(e).map_err(|e| wire_status(&e))?);
        }
        let mut resp = pb::AllowlistAddResponse::default();
        for r in self.node.allowlist_add(entries, &actor).await.map_err(to_status)? {
            match r {
                Ok(e) => resp.added.push((&e).into()),
                Err(e) => resp.errors.push(pb::FieldError { field: e.field, reason: e.reason }),
            }
        }
        Ok(Response::new(resp))
    }

    async fn allowlist_remove(&self, req: Request<pb::AllowlistRemoveRequest>) -> Result<pb::AllowlistRemoveResponse> {
        let actor = actor(&req);
        let r = req.into_inner();
        let value = (!r.value.is_empty()).then_some(r.value.as_str());
        let removed = self.node.allowlist_remove(&r.list, value, &actor).await.map_err(to_status)?;
        Ok(Response::new(pb::AllowlistRemoveResponse { removed }))
    }

    async fn allowlist_list(&self, req: Request<pb::AllowlistListRequest>) -> Result<pb::AllowlistListResponse> {
        let r = req.into_inner();
        let entries = self.node.allowlist_entries(r.include_builtin).map_err(|e| store_status(&e))?;
        Ok(Response::new(pb::AllowlistListResponse {
            entries: entries.iter().filter(|e| r.list.is_empty() || e.list == r.list).map(Into::into).collect(),
        }))
    }

    async fn decide_quarantine(&self, req: Request<pb::DecideQuarantineRequest>) -> Result<pb::QuarantineRecord> {
        let actor = actor(&req);
        let r = req.into_inner();
        self.node.decide(r.local_seq, r.accept, &r.note, &actor).await.map_err(to_status)?;
        let node = self.node.clone();
        let rec = tokio::task::spawn_blocking(move || {
            quarantine_records(&node, true).map(|v| v.into_iter().find(|q| q.local_seq == r.local_seq))
        })
        .await
        .map_err(|e| Status::internal(e.to_string()))?
        .map_err(|e| store_status(&e))?
        .ok_or_else(|| Status::not_found("decided record vanished"))?;
        Ok(Response::new(rec))
    }

    // --- operating a node (admin/ops.rs) ---

    async fn list_keys(&self, req: Request<pb::ListKeysRequest>) -> Result<pb::ListKeysResponse> {
        Ok(Response::new(super::ops::list_keys(&self.node, req.into_inner())))
    }

    async fn rotate_key(&self, req: Request<pb::RotateKeyRequest>) -> Result<pb::KeyRecord> {
        let actor = actor(&req);
        Ok(Response::new(super::ops::rotate_key(&self.node, &actor).await?))
    }

    async fn revoke_key(&self, req: Request<pb::RevokeKeyRequest>) -> Result<pb::KeyRecord> {
        let actor = actor(&req);
        Ok(Response::new(super::ops::revoke_key(&self.node, req.into_inner(), &actor).await?))
    }

    async fn reload_tls(&self, req: Request<pb::ReloadTlsRequest>) -> Result<pb::ReloadTlsResponse> {
        let actor = actor(&req);
        Ok(Response::new(super::ops::reload_tls(&self.node, &actor).await?))
    }

    async fn list_audit(&self, req: Request<pb::ListAuditRequest>) -> Result<pb::ListAuditResponse> {
        Ok(Response::new(super::ops::list_audit(&self.node, req.into_inner()).await?))
    }

    async fn verify_audit(&self, _req: Request<pb::VerifyAuditRequest>) -> Result<pb::VerifyAuditResponse> {
        Ok(Response::new(super::ops::verify_audit(&self.node).await?))
    }
}

fn quarantine_records(
    node: &Node,
    include_decided: bool,
) -> std::result::Result<Vec<pb::QuarantineRecord>, crate::store::StoreError> {
    let now = crate::model::now_ms();
    let mut out = Vec::new();
    for (seq, rec) in node.quarantine(include_decided)? {
        let Some((env, body)) = node.log_entry(seq)? else { continue };
        let record = match &body.entry {
            crate::envelope::Entry::Indicator(_) => Some(node.record(seq, &env, &body)?),
            _ => None,
        };
        let view = match &body.entry {
            crate::envelope::Entry::Indicator(ind) => match &ind.value {
                crate::envelope::Value::Plain(v) => node.view(ind.kind, v.clone(), now)?,
                crate::envelope::Value::Keyed { .. } => None,
            },
            crate::envelope::Entry::Feedback(f) => match &f.value {
                crate::envelope::Value::Plain(v) => node.view(f.kind, v.clone(), now)?,
                crate::envelope::Value::Keyed { .. } => None,
            },
            crate::envelope::Entry::KeyEvent(_) => None,
        };
        out.push(pb::QuarantineRecord {
            local_seq: seq,
            peer: rec.peer,
            reason: rec.reason,
            indicator: record.as_ref().map(Into::into),
            received_at_ms: rec.received_at_ms,
            decision: rec.decision,
            note: rec.note,
            view: view.as_ref().map(Into::into),
        });
    }
    Ok(out)
}
