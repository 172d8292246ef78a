//! `jaring.v1.Admin` handlers: decode, call [`Node`], encode.

use std::sync::Arc;

use jaring_proto::pb;
use jaring_proto::pb::admin_server::Admin;
use tonic::{Request, Response, Status, Streaming};

use super::Actor;
use super::authz::Caller;
use crate::access::{Operation, batch_cost};
use crate::model::Kind;
use crate::node::{ListFilter, Node, PeerChange, SubmitOptions, Submitted};
use crate::peers::{InboundAgreement, OutboundAgreement, Peer};
use crate::submission::{InputError, NewIndicator};
use crate::wire::admin::trust_from_wire;
use crate::wire::status::{store_status, wire_status};
use crate::wire::tokens::token_to_pb;
use crate::wire::{FromPb, ToPb, WireEnum, WireError};

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

/// The caller the authorization layer admitted (a call without one never
/// reaches a handler through the server; refused all the same).
#[allow(clippy::result_large_err)]
fn caller<T>(req: &Request<T>) -> std::result::Result<Caller, Status> {
    req.extensions().get::<Caller>().cloned().ok_or_else(|| Status::unauthenticated("no authorized session"))
}

type Result<T> = std::result::Result<Response<T>, Status>;

impl AdminService {
    /// A batch's rate (one unit per hundred values beyond the call's own)
    /// and, when it asks for it, the right to publish past allowlists.
    async fn admit_batch(
        &self,
        caller: &Caller,
        values: usize,
        operation: Operation,
        override_allowlist: bool,
    ) -> std::result::Result<(), Status> {
        if override_allowlist && let Err(d) = caller.session.require(Operation::OverrideAllowlist) {
            self.node.audit_refusal(&d, Operation::OverrideAllowlist, caller.from).await;
            return Err(crate::wire::status::denied_status(&d));
        }
        let extra = batch_cost(values).saturating_sub(1);
        if extra > 0 {
            self.node
                .charge(&caller.session, extra, operation, caller.from)
                .await
                .map_err(|d| crate::wire::status::denied_status(&d))?;
        }
        Ok(())
    }

    async fn submit(
        &self,
        caller: &Caller,
        inputs: Vec<pb::IndicatorInput>,
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
        self.admit_batch(caller, inputs.len(), Operation::SubmitIndicators, override_allowlist).await?;
        let actor = caller.session.actor.as_str();
        let mut decoded = Vec::with_capacity(inputs.len());
        let mut early: Vec<Option<pb::FieldError>> = Vec::with_capacity(inputs.len());
        for i in inputs {
            match NewIndicator::from_pb(i) {
                Ok(n) => {
                    decoded.push(n);
                    early.push(None);
                }
                Err(e) => early.push(Some(pb::FieldError { field: e.field().into(), reason: e.to_string() })),
            }
        }
        let opts = SubmitOptions { override_allowlist, skip_unchanged: unchanged == pb::Unchanged::Skip as i32 };
        let mut done = self.node.submit_checked(decoded, actor, opts).await?.into_iter();
        let results: Vec<pb::SubmitResult> = early
            .into_iter()
            .map(|e| {
                let result = match e {
                    Some(err) => pb::submit_result::Result::Error(err),
                    None => match done.next() {
                        Some(Ok(Submitted::Stored(rec))) => pb::submit_result::Result::Stored(rec.to_pb()),
                        Some(Ok(Submitted::Unchanged(rec))) => pb::submit_result::Result::Unchanged(rec.to_pb()),
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
    a.map(FromPb::from_pb).transpose()
}

fn inbound(a: Option<pb::InboundAgreement>) -> std::result::Result<Option<InboundAgreement>, WireError> {
    a.map(FromPb::from_pb).transpose()
}

#[tonic::async_trait]
impl Admin for AdminService {
    async fn submit_indicators(
        &self,
        req: Request<pb::SubmitIndicatorsRequest>,
    ) -> Result<pb::SubmitIndicatorsResponse> {
        let caller = caller(&req)?;
        let r = req.into_inner();
        Ok(Response::new(self.submit(&caller, r.indicators, r.override_allowlist, r.unchanged).await?))
    }

    async fn submit_indicator_stream(
        &self,
        req: Request<Streaming<pb::SubmitIndicatorsRequest>>,
    ) -> Result<pb::SubmitIndicatorsResponse> {
        let caller = caller(&req)?;
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
            let caller = caller.clone();
            let next = tokio::spawn(async move {
                me.submit(&caller, batch.indicators, batch.override_allowlist, batch.unchanged).await
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
        let rec = self.node.revoke(&r.id, &r.reason, &actor).await?;
        Ok(Response::new(rec.to_pb()))
    }

    async fn list_indicators(&self, req: Request<pb::ListIndicatorsRequest>) -> Result<pb::ListIndicatorsResponse> {
        let scope = caller(&req)?.session.scope().clone();
        let r = req.into_inner();
        let filter = ListFilter {
            kind: Kind::from_wire(r.kind).map_err(|e| wire_status(&e))?,
            origin: (!r.origin.is_empty()).then_some(r.origin),
            signed_by: (!r.signed_by.is_empty()).then_some(r.signed_by),
            after: r.after_local_seq,
            limit: usize::try_from(r.limit).unwrap_or(usize::MAX).min(10_000),
            min_score: u8::try_from(r.min_score).unwrap_or(u8::MAX),
            scope: Some(scope),
        };
        let node = self.node.clone();
        let records = tokio::task::spawn_blocking(move || node.list(&filter))
            .await
            .map_err(|e| Status::internal(e.to_string()))?
            .map_err(|e| store_status(&e))?;
        Ok(Response::new(pb::ListIndicatorsResponse { indicators: records.iter().map(ToPb::to_pb).collect() }))
    }

    async fn lookup(&self, req: Request<pb::LookupRequest>) -> Result<pb::LookupResponse> {
        let caller = caller(&req)?;
        let r = req.into_inner();
        let max = self.node.config().limits.max_batch * 64;
        if r.queries.len() > max {
            return Err(Status::invalid_argument(format!(
                "{} queries in one request; the limit is {max}",
                r.queries.len()
            )));
        }
        self.admit_batch(&caller, r.queries.len(), Operation::LookupValues, false).await?;
        let mut queries = Vec::with_capacity(r.queries.len());
        for q in r.queries {
            queries.push((q.value, Kind::from_wire(q.kind).map_err(|e| wire_status(&e))?));
        }
        let min_score = u8::try_from(r.min_score).unwrap_or(u8::MAX);
        let mut results = self.node.lookup_async(queries).await.map_err(|e| store_status(&e))?;
        let scope = caller.session.scope();
        let mut results: Vec<_> = std::mem::take(&mut results).into_iter().map(|r| scope.restrict_result(r)).collect();
        for result in &mut results {
            result.retain_min_score(min_score);
            if r.summary {
                for view in &mut result.views {
                    view.assertions.clear();
                    view.feedback.clear();
                }
            }
        }
        Ok(Response::new(pb::LookupResponse { results: results.iter().map(ToPb::to_pb).collect() }))
    }

    async fn status(&self, _req: Request<pb::StatusRequest>) -> Result<pb::StatusResponse> {
        let node = self.node.clone();
        let report = tokio::task::spawn_blocking(move || node.status())
            .await
            .map_err(|e| Status::internal(e.to_string()))?
            .map_err(|e| store_status(&e))?;
        Ok(Response::new(report.to_pb()))
    }

    async fn export_identity(&self, _req: Request<pb::ExportIdentityRequest>) -> Result<pb::ExportIdentityResponse> {
        Ok(Response::new(pb::ExportIdentityResponse { identity_json: self.node.identity_card() }))
    }

    async fn add_peer(&self, req: Request<pb::AddPeerRequest>) -> Result<pb::PeerRecord> {
        let actor = actor(&req);
        let r = req.into_inner();
        let card = crate::identity::IdentityCard::verify(&r.identity_json)
            .map_err(|e| Status::invalid_argument(InputError::new("identity", e.to_string()).to_string()))?;
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
        let peer = self.node.add_peer(peer, &actor).await?;
        Ok(Response::new(peer.to_pb()))
    }

    async fn list_peers(&self, _req: Request<pb::ListPeersRequest>) -> Result<pb::ListPeersResponse> {
        Ok(Response::new(pb::ListPeersResponse { peers: self.node.peers().iter().map(ToPb::to_pb).collect() }))
    }

    async fn get_peer(&self, req: Request<pb::GetPeerRequest>) -> Result<pb::PeerRecord> {
        let id = req.into_inner().node_id;
        let peer = self.node.peer(&id).ok_or_else(|| Status::not_found(format!("no peer {id}")))?;
        Ok(Response::new(peer.to_pb()))
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
        let peer = self.node.update_peer(&r.node_id, change, &actor).await?;
        Ok(Response::new(peer.to_pb()))
    }

    async fn remove_peer(&self, req: Request<pb::RemovePeerRequest>) -> Result<pb::RemovePeerResponse> {
        let actor = actor(&req);
        self.node.remove_peer(&req.into_inner().node_id, &actor).await?;
        Ok(Response::new(pb::RemovePeerResponse {}))
    }

    async fn list_quarantine(&self, req: Request<pb::ListQuarantineRequest>) -> Result<pb::ListQuarantineResponse> {
        let scope = caller(&req)?.session.scope().clone();
        let include = req.into_inner().include_decided;
        let node = self.node.clone();
        let items = tokio::task::spawn_blocking(move || node.review_items(include))
            .await
            .map_err(|e| Status::internal(e.to_string()))?
            .map_err(|e| store_status(&e))?;
        let records = items.into_iter().filter_map(|i| i.restricted(&scope)).map(|i| i.to_pb()).collect();
        Ok(Response::new(pb::ListQuarantineResponse { records }))
    }

    async fn add_feedback(&self, req: Request<pb::AddFeedbackRequest>) -> Result<pb::FeedbackEvent> {
        let caller = caller(&req)?;
        let mut input = crate::feedback::NewFeedback::from_pb(req.into_inner()).map_err(|e| wire_status(&e))?;
        // A platform token speaks for its own platform only.
        input.platform = match caller.session.platform(input.platform.take()) {
            Ok(p) => p,
            Err(d) => {
                self.node.audit_refusal(&d, Operation::AddFeedback, caller.from).await;
                return Err(crate::wire::status::denied_status(&d));
            }
        };
        // A value the token may not see is not held, as far as it knows.
        let visible = self
            .node
            .lookup(&[(input.value.clone(), input.kind)])
            .map_err(|e| store_status(&e))?
            .into_iter()
            .any(|r| caller.session.scope().restrict_result(r).found);
        if !visible {
            return Err(crate::node::NodeError::from(crate::node::NotFound::HeldValue(input.value)).into());
        }
        let event = self.node.add_feedback(input, &caller.session.actor).await?;
        Ok(Response::new(event.to_pb()))
    }

    async fn allowlist_add(&self, req: Request<pb::AllowlistAddRequest>) -> Result<pb::AllowlistAddResponse> {
        let actor = actor(&req);
        let mut entries = Vec::new();
        for e in req.into_inner().entries {
            entries.push(crate::allowlist::AllowEntry::from_pb(e).map_err(|e| wire_status(&e))?);
        }
        let mut resp = pb::AllowlistAddResponse::default();
        for r in self.node.allowlist_add(entries, &actor).await? {
            match r {
                Ok(e) => resp.added.push(e.to_pb()),
                Err(e) => resp.errors.push(pb::FieldError { field: e.field, reason: e.reason }),
            }
        }
        Ok(Response::new(resp))
    }

    async fn allowlist_remove(&self, req: Request<pb::AllowlistRemoveRequest>) -> Result<pb::AllowlistRemoveResponse> {
        let actor = actor(&req);
        let r = req.into_inner();
        let value = (!r.value.is_empty()).then_some(r.value.as_str());
        let removed = self.node.allowlist_remove(&r.list, value, &actor).await?;
        Ok(Response::new(pb::AllowlistRemoveResponse { removed }))
    }

    async fn allowlist_list(&self, req: Request<pb::AllowlistListRequest>) -> Result<pb::AllowlistListResponse> {
        let r = req.into_inner();
        let entries = self.node.allowlist_entries(r.include_builtin).map_err(|e| store_status(&e))?;
        Ok(Response::new(pb::AllowlistListResponse {
            entries: entries.iter().filter(|e| r.list.is_empty() || e.list == r.list).map(ToPb::to_pb).collect(),
        }))
    }

    async fn allowlist_import(
        &self,
        req: Request<Streaming<pb::AllowlistImportPart>>,
    ) -> Result<pb::AllowlistImportResponse> {
        use pb::allowlist_import_part::Part;
        let actor = actor(&req);
        let mut stream = req.into_inner();
        let header = match stream.message().await?.and_then(|m| m.part) {
            Some(Part::Header(h)) => h,
            _ => return Err(Status::invalid_argument("the first message of an allowlist import is its header")),
        };
        let max = crate::node::MAX_IMPORT_BYTES;
        if header.size > max as u64 {
            return Err(Status::invalid_argument(format!("the file is {} bytes; the limit is {max}", header.size)));
        }
        let mut bytes = Vec::with_capacity(usize::try_from(header.size).unwrap_or(0).min(max));
        let what = crate::node::ListImport::from_pb(header).map_err(|e| wire_status(&e))?;
        while let Some(m) = stream.message().await? {
            match m.part {
                Some(Part::Data(d)) => {
                    if bytes.len() + d.len() > max {
                        return Err(Status::invalid_argument(format!("the file is larger than {max} bytes")));
                    }
                    bytes.extend_from_slice(&d);
                }
                Some(Part::Header(_)) => return Err(Status::invalid_argument("an allowlist import has one header")),
                None => {}
            }
        }
        let outcome = self.node.import_allowlist(what, bytes, &actor).await?;
        Ok(Response::new(outcome.to_pb()))
    }

    async fn allowlist_lists(&self, _req: Request<pb::AllowlistListsRequest>) -> Result<pb::AllowlistListsResponse> {
        Ok(Response::new(pb::AllowlistListsResponse {
            lists: self.node.allowlist_infos().iter().map(ToPb::to_pb).collect(),
            stats: Some(self.node.allowlist_stats().to_pb()),
        }))
    }

    async fn allowlist_check(&self, req: Request<pb::AllowlistCheckRequest>) -> Result<pb::AllowlistCheckResponse> {
        let r = req.into_inner();
        let kind = Kind::from_wire(r.kind).map_err(|e| wire_status(&e))?;
        let results =
            self.node.allowlist_check(&r.value, kind).map_err(|e| Status::from(crate::node::NodeError::from(e)))?;
        Ok(Response::new(pb::AllowlistCheckResponse { results: results.iter().map(ToPb::to_pb).collect() }))
    }

    async fn decide_quarantine(&self, req: Request<pb::DecideQuarantineRequest>) -> Result<pb::QuarantineRecord> {
        let caller = caller(&req)?;
        let actor = caller.session.actor.clone();
        let r = req.into_inner();
        let scope = caller.session.scope().clone();
        let node = self.node.clone();
        let seq = r.local_seq;
        let hidden = tokio::task::spawn_blocking(move || {
            node.review_items(true).map(|v| v.into_iter().any(|q| q.local_seq == seq && q.restricted(&scope).is_none()))
        })
        .await
        .map_err(|e| Status::internal(e.to_string()))?
        .map_err(|e| store_status(&e))?;
        if hidden {
            return Err(crate::node::NodeError::from(crate::node::NotFound::ReviewItem(seq)).into());
        }
        self.node.decide(r.local_seq, r.accept, &r.note, &actor).await?;
        let node = self.node.clone();
        let item = tokio::task::spawn_blocking(move || {
            node.review_items(true).map(|v| v.into_iter().find(|q| q.local_seq == r.local_seq))
        })
        .await
        .map_err(|e| Status::internal(e.to_string()))?
        .map_err(|e| store_status(&e))?
        .ok_or_else(|| Status::not_found("decided record vanished"))?;
        Ok(Response::new(item.to_pb()))
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

    async fn log_checkpoint(&self, req: Request<pb::LogCheckpointRequest>) -> Result<pb::LogCheckpointResponse> {
        let r = req.into_inner();
        if r.fresh {
            self.node.sign_checkpoint().await?;
        }
        let cp = if r.cosigned { self.node.cosigned_checkpoint() } else { self.node.checkpoint() };
        let cp = cp.ok_or(crate::node::NotFound::TransparencyLog).map_err(crate::node::NodeError::from)?;
        Ok(Response::new(pb::LogCheckpointResponse {
            checkpoint: cp.to_text(),
            origin: cp.checkpoint.origin.clone(),
            size: cp.checkpoint.size,
            root: cp.checkpoint.root.to_base64(),
            cosigned_by: self.node.cosigners_of(&cp),
        }))
    }

    async fn log_prove(&self, req: Request<pb::LogProveRequest>) -> Result<pb::LogProveResponse> {
        let r = req.into_inner();
        let (local_seq, proof) = if r.local_seq > 0 {
            (r.local_seq, self.node.prove_entry(r.local_seq, r.require_cosigned).await?)
        } else {
            let kind = Kind::from_wire(r.kind).map_err(|e| wire_status(&e))?;
            let origin = (!r.origin.is_empty()).then_some(r.origin.as_str());
            self.node.prove_value(&r.value, kind, origin, r.require_cosigned).await?
        };
        let cp = crate::tlog::checkpoint::parse_own(proof.checkpoint.as_bytes())
            .map_err(|e| Status::internal(format!("the proof's checkpoint: {e}")))?;
        Ok(Response::new(pb::LogProveResponse {
            proof: proof.to_text(),
            local_seq,
            index: proof.index,
            tree_size: cp.checkpoint.size,
            cosigned_by: self.node.cosigners_of(&cp),
        }))
    }

    // --- tokens ---

    async fn create_token(&self, req: Request<pb::CreateTokenRequest>) -> Result<pb::CreateTokenResponse> {
        let actor = actor(&req);
        let new = crate::access::NewToken::from_pb(req.into_inner()).map_err(|e| wire_status(&e))?;
        let (secret, record) = self.node.create_token(new, &actor).await?;
        Ok(Response::new(pb::CreateTokenResponse {
            token: secret.to_string(),
            record: Some(token_to_pb(&record, crate::access::Source::Store)),
        }))
    }

    async fn list_tokens(&self, _req: Request<pb::ListTokensRequest>) -> Result<pb::ListTokensResponse> {
        let tokens = self.node.tokens().iter().map(|(r, s)| token_to_pb(r, *s)).collect();
        Ok(Response::new(pb::ListTokensResponse { tokens }))
    }

    async fn get_token(&self, req: Request<pb::GetTokenRequest>) -> Result<pb::TokenRecord> {
        let (record, source) = self.node.token(&req.into_inner().name)?;
        Ok(Response::new(token_to_pb(&record, source)))
    }

    async fn revoke_token(&self, req: Request<pb::RevokeTokenRequest>) -> Result<pb::TokenRecord> {
        let actor = actor(&req);
        let r = req.into_inner();
        let (_, source) = self.node.token(&r.name)?;
        let record = self.node.revoke_token(&r.name, &r.reason, &actor).await?;
        Ok(Response::new(token_to_pb(&record, source)))
    }

    async fn who_am_i(&self, req: Request<pb::WhoAmIRequest>) -> Result<pb::TokenRecord> {
        let caller = caller(&req)?;
        let p = &caller.session.principal;
        Ok(Response::new(token_to_pb(p.record(), p.source())))
    }

    // --- takedowns, referrals, evidence (admin/takedown.rs) ---

    async fn request_takedown(&self, req: Request<pb::RequestTakedownRequest>) -> Result<pb::RequestTakedownResponse> {
        let actor = actor(&req);
        Ok(Response::new(super::takedown::request(&self.node, req.into_inner(), &actor).await?))
    }

    async fn list_takedowns(&self, req: Request<pb::ListTakedownsRequest>) -> Result<pb::ListTakedownsResponse> {
        Ok(Response::new(super::takedown::list(&self.node, req.into_inner()).await?))
    }

    async fn get_takedown(&self, req: Request<pb::GetTakedownRequest>) -> Result<pb::TakedownCase> {
        Ok(Response::new(super::takedown::get(&self.node, req.into_inner()).await?))
    }

    async fn withdraw_takedown(&self, req: Request<pb::WithdrawTakedownRequest>) -> Result<pb::TakedownCase> {
        let actor = actor(&req);
        Ok(Response::new(super::takedown::withdraw(&self.node, req.into_inner(), &actor).await?))
    }

    async fn takedown_queue(&self, req: Request<pb::TakedownQueueRequest>) -> Result<pb::TakedownQueueResponse> {
        let actor = actor(&req);
        Ok(Response::new(super::takedown::queue(&self.node, req.into_inner(), &actor).await?))
    }

    async fn acknowledge_takedown(&self, req: Request<pb::AcknowledgeTakedownRequest>) -> Result<pb::TakedownCase> {
        let actor = actor(&req);
        Ok(Response::new(super::takedown::acknowledge(&self.node, req.into_inner(), &actor).await?))
    }

    async fn takedown_outcome(&self, req: Request<pb::TakedownOutcomeRequest>) -> Result<pb::TakedownCase> {
        let actor = actor(&req);
        Ok(Response::new(super::takedown::outcome(&self.node, req.into_inner(), &actor).await?))
    }

    async fn takedown_stats(&self, _req: Request<pb::TakedownStatsRequest>) -> Result<pb::TakedownStatsResponse> {
        Ok(Response::new(super::takedown::stats(&self.node).await?))
    }

    async fn create_referral(&self, req: Request<pb::CreateReferralRequest>) -> Result<pb::FeedbackEvent> {
        let actor = actor(&req);
        Ok(Response::new(super::takedown::referral(&self.node, req.into_inner(), &actor).await?))
    }

    async fn export_evidence(&self, req: Request<pb::ExportEvidenceRequest>) -> Result<pb::ExportEvidenceResponse> {
        let actor = actor(&req);
        Ok(Response::new(super::takedown::evidence(&self.node, req.into_inner(), &actor).await?))
    }
}
