//! Admin handlers for takedown cases, referrals and evidence packages:
//! decode, call [`Node`], encode. [`super::service`] delegates to these.
//!
//! The platform's calls (`TakedownQueue`, `AcknowledgeTakedown`,
//! `TakedownOutcome`) are an admin standing in for the platform: the
//! principal is the admin's actor, and an empty `platform` answers for the
//! case's platform. The HTTP API calls the same node functions with the
//! platform bound to its token.

use std::sync::Arc;

use jaring_proto::pb;
use tonic::Status;

use crate::model::{Kind, Tlp, now_ms};
use crate::node::{Answerer, Node, Page, QueueQuery};
use crate::takedown::{CaseFilter, NewTakedown};
use crate::wire::status::{store_status, wire_status};
use crate::wire::takedown::{case_id, case_to_pb, cursor, outcome_from_pb, states};
use crate::wire::{FromPb, ToPb, WireEnum};

fn page(after: &str, limit: u32) -> Result<Page, Status> {
    Ok(Page { after: cursor(after).map_err(|e| wire_status(&e))?, limit: usize::try_from(limit).unwrap_or(usize::MAX) })
}

fn text(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

fn answerer(platform: String, actor: &str) -> Answerer {
    Answerer { platform: text(platform), principal: actor.to_string() }
}

fn at(ms: i64) -> Option<i64> {
    (ms != 0).then_some(ms)
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, Status> {
    tokio::task::spawn_blocking(f).await.map_err(|e| Status::internal(e.to_string()))
}

pub(super) async fn request(
    node: &Node,
    r: pb::RequestTakedownRequest,
    actor: &str,
) -> Result<pb::RequestTakedownResponse, Status> {
    let input = NewTakedown::from_pb(r).map_err(|e| wire_status(&e))?;
    let done = node.request_takedown(input, actor).await?;
    Ok(pb::RequestTakedownResponse { case: Some(case_to_pb(&done.case, now_ms())), created: done.created })
}

pub(super) async fn list(node: &Arc<Node>, r: pb::ListTakedownsRequest) -> Result<pb::ListTakedownsResponse, Status> {
    let filter = CaseFilter {
        own_only: !r.all_origins,
        platform: text(r.platform).map(|p| p.trim().to_ascii_lowercase()),
        states: states(&r.states).map_err(|e| wire_status(&e))?,
        overdue: r.overdue,
        max_tlp: Tlp::from_wire(r.max_tlp).map_err(|e| wire_status(&e))?,
    };
    let page = page(&r.after, r.limit)?;
    let node = node.clone();
    let found = blocking(move || node.takedown_cases(&filter, &page)).await?.map_err(|e| store_status(&e))?;
    let now = now_ms();
    Ok(pb::ListTakedownsResponse {
        cases: found.cases.iter().map(|c| case_to_pb(c, now)).collect(),
        next: found.next.map(|n| n.to_string()).unwrap_or_default(),
    })
}

pub(super) async fn get(node: &Arc<Node>, r: pb::GetTakedownRequest) -> Result<pb::TakedownCase, Status> {
    let id = case_id(&r.id).map_err(|e| wire_status(&e))?;
    let node = node.clone();
    let case = blocking(move || node.takedown_case(&id)).await??;
    Ok(case_to_pb(&case, now_ms()))
}

pub(super) async fn withdraw(
    node: &Node,
    r: pb::WithdrawTakedownRequest,
    actor: &str,
) -> Result<pb::TakedownCase, Status> {
    let id = case_id(&r.id).map_err(|e| wire_status(&e))?;
    let case = node.withdraw_takedown(&id, text(r.reason), actor).await?;
    Ok(case_to_pb(&case, now_ms()))
}

pub(super) async fn queue(
    node: &Arc<Node>,
    r: pb::TakedownQueueRequest,
    actor: &str,
) -> Result<pb::TakedownQueueResponse, Status> {
    if r.platform.trim().is_empty() {
        return Err(Status::invalid_argument("platform: is required (whose queue)"));
    }
    let query = QueueQuery {
        states: states(&r.states).map_err(|e| wire_status(&e))?,
        max_tlp: Tlp::from_wire(r.max_tlp).map_err(|e| wire_status(&e))?.unwrap_or(Tlp::Amber),
        page: page(&r.after, r.limit)?,
    };
    let (node, actor) = (node.clone(), actor.to_string());
    let found = blocking(move || node.takedown_queue(&r.platform, &actor, &query)).await??;
    let now = now_ms();
    Ok(pb::TakedownQueueResponse {
        cases: found.cases.iter().map(|c| case_to_pb(c, now)).collect(),
        next: found.next.map(|n| n.to_string()).unwrap_or_default(),
    })
}

pub(super) async fn acknowledge(
    node: &Node,
    r: pb::AcknowledgeTakedownRequest,
    actor: &str,
) -> Result<pb::TakedownCase, Status> {
    let id = case_id(&r.id).map_err(|e| wire_status(&e))?;
    let case = node.acknowledge_takedown(&id, &answerer(r.platform, actor), text(r.note), at(r.at_ms)).await?;
    Ok(case_to_pb(&case, now_ms()))
}

pub(super) async fn outcome(
    node: &Node,
    r: pb::TakedownOutcomeRequest,
    actor: &str,
) -> Result<pb::TakedownCase, Status> {
    let id = case_id(&r.id).map_err(|e| wire_status(&e))?;
    let outcome = outcome_from_pb(r.outcome).map_err(|e| wire_status(&e))?;
    let by = answerer(r.platform, actor);
    let case = node.takedown_outcome(&id, &by, outcome, text(r.note), at(r.at_ms)).await?;
    Ok(case_to_pb(&case, now_ms()))
}

pub(super) async fn stats(node: &Arc<Node>) -> Result<pb::TakedownStatsResponse, Status> {
    let node = node.clone();
    let levels = blocking(move || node.takedown_stats(now_ms())).await?.map_err(|e| store_status(&e))?;
    Ok(levels.to_pb())
}

pub(super) async fn referral(
    node: &Node,
    r: pb::CreateReferralRequest,
    actor: &str,
) -> Result<pb::FeedbackEvent, Status> {
    let input = crate::node::NewReferral {
        value: r.value,
        kind: Kind::from_wire(r.kind).map_err(|e| wire_status(&e))?,
        referred_to: r.referred_to,
        case_ref: text(r.case_ref),
        note: text(r.note),
        tlp: Tlp::from_wire(r.tlp).map_err(|e| wire_status(&e))?,
        observed_at_ms: at(r.observed_at_ms),
    };
    Ok(node.create_referral(input, actor).await?.to_pb())
}

pub(super) async fn evidence(
    node: &Arc<Node>,
    r: pb::ExportEvidenceRequest,
    actor: &str,
) -> Result<pb::ExportEvidenceResponse, Status> {
    let kind = Kind::from_wire(r.kind).map_err(|e| wire_status(&e))?;
    let package = node.export_evidence(&r.value, kind, r.all_versions, actor).await?;
    let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    Ok(pb::ExportEvidenceResponse {
        envelopes: count(package.envelopes),
        cards: count(package.cards),
        audit_entries: count(package.audit_entries),
        package: package.bytes,
    })
}
