//! `/api/v1/review`: the quarantine (arrivals from `review`-trust peers or
//! outside the inbound agreement), as the token may see it, and an
//! analyst's decision on one entry.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::input::{JsonBody, PathParam, Query};
use super::model::{IndicatorOut, ViewOut};
use super::problem::{AccessErrors, BodyErrors, ConflictError, InputErrors, NotFoundError, Problem};
use super::{Api, json};
use crate::access::{Operation, Scope};
use crate::http::auth::Caller;
use crate::node::ReviewItem;

/// One entry held for review.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReviewItemOut {
    /// Its position in this node's log: the id to decide on.
    pub local_seq: u64,
    /// The peer it came from.
    pub peer: String,
    /// Why it is held.
    pub reason: String,
    /// When it arrived.
    pub received_at_ms: i64,
    /// `pending`, `accepted` or `rejected`.
    #[schema(example = "pending")]
    pub decision: String,
    /// The analyst's note.
    pub note: String,
    /// Who decided.
    pub decided_by: String,
    /// The indicator, when the entry is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub indicator: Option<IndicatorOut>,
    /// What this node already holds about the value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub view: Option<ViewOut>,
}

/// The entry as a token of `scope` sees it (`None`: hidden from it).
fn visible(item: ReviewItem, scope: &Scope) -> Option<ReviewItemOut> {
    let item = item.restricted(scope)?;
    Some(ReviewItemOut {
        local_seq: item.local_seq,
        peer: item.record.peer.clone(),
        reason: item.record.reason.clone(),
        received_at_ms: item.record.received_at_ms,
        decision: item.record.decision.to_string(),
        note: item.record.note.clone(),
        decided_by: item.record.decided_by.clone(),
        indicator: item.indicator.as_ref().map(Into::into),
        view: item.view.as_ref().map(|v| ViewOut::of(v, false)),
    })
}

/// The review queue.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReviewList {
    /// Entries, oldest first.
    pub items: Vec<ReviewItemOut>,
}

async fn items(api: &Api, include_decided: bool, scope: &Scope) -> Result<Vec<ReviewItemOut>, Problem> {
    let node = api.node.clone();
    let all = tokio::task::spawn_blocking(move || node.review_items(include_decided))
        .await
        .map_err(|e| Problem::internal(&e.to_string()))??;
    Ok(all.into_iter().filter_map(|i| visible(i, scope)).collect())
}

/// The review queue.
///
/// Entries waiting for an analyst (with `include_decided`, decided ones
/// too), each with what the node already holds about its value.
#[utoipa::path(
    get,
    path = "/api/v1/review",
    tag = "review",
    operation_id = "list_review",
    params(("include_decided" = Option<bool>, Query, description = "Decided entries too")),
    responses(
        (status = 200, description = "The entries", body = ReviewList),
        InputErrors,
        AccessErrors,
    ),
    security(("bearer" = []))
)]
pub async fn list(State(api): State<Arc<Api>>, caller: Caller, RawQuery(raw): RawQuery) -> Result<Response, Problem> {
    let session = caller.authorize(&api.node, Operation::ListReview, 1).await?;
    let q = Query::parse(raw.as_deref(), &["include_decided"])?;
    let items = items(&api, q.flag("include_decided")?, session.scope()).await?;
    Ok(json(StatusCode::OK, &ReviewList { items }))
}

fn seq(PathParam(s): PathParam) -> Result<u64, Problem> {
    s.parse::<u64>().map_err(|_| Problem::invalid("local_seq", format!("{s:?} is not a log position")))
}

/// One entry of the review queue.
#[utoipa::path(
    get,
    path = "/api/v1/review/{local_seq}",
    tag = "review",
    operation_id = "get_review_item",
    params(("local_seq" = u64, Path, description = "The entry's log position")),
    responses(
        (status = 200, description = "The entry", body = ReviewItemOut),
        InputErrors,
        NotFoundError,
        AccessErrors,
    ),
    security(("bearer" = []))
)]
pub async fn get_one(
    State(api): State<Arc<Api>>,
    caller: Caller,
    local_seq: Result<PathParam, Problem>,
    RawQuery(raw): RawQuery,
) -> Result<Response, Problem> {
    let session = caller.authorize(&api.node, Operation::ListReview, 1).await?;
    let local_seq = seq(local_seq?)?;
    Query::parse(raw.as_deref(), &[])?;
    let item = items(&api, true, session.scope())
        .await?
        .into_iter()
        .find(|i| i.local_seq == local_seq)
        .ok_or_else(|| Problem::not_found(format!("nothing is held for review at log position {local_seq}")))?;
    Ok(json(StatusCode::OK, &item))
}

/// Accept or reject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Indexed and served (and relayed where agreements allow).
    Accept,
    /// Kept in the log, never served.
    Reject,
}

/// An analyst's decision.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    /// Accept or reject.
    pub decision: Verdict,
    /// Why (recorded with the decision and in the audit log).
    #[serde(default)]
    pub note: String,
}

/// Decide on one entry.
#[utoipa::path(
    post,
    path = "/api/v1/review/{local_seq}",
    tag = "review",
    operation_id = "decide_review_item",
    params(("local_seq" = u64, Path, description = "The entry's log position")),
    request_body = Decision,
    responses(
        (status = 200, description = "The entry, decided", body = ReviewItemOut),
        BodyErrors,
        NotFoundError,
        ConflictError,
        AccessErrors,
    ),
    security(("bearer" = []))
)]
pub async fn decide(
    State(api): State<Arc<Api>>,
    caller: Caller,
    local_seq: Result<PathParam, Problem>,
    body: Result<JsonBody<Decision>, Problem>,
) -> Result<Response, Problem> {
    let session = caller.authorize(&api.node, Operation::DecideReview, 1).await?;
    let local_seq = seq(local_seq?)?;
    let JsonBody(d) = body?;
    // An entry the token may not see is not there for it.
    let missing = || Problem::not_found(format!("nothing is held for review at log position {local_seq}"));
    if !items(&api, true, session.scope()).await?.iter().any(|i| i.local_seq == local_seq) {
        return Err(missing());
    }
    api.node.decide(local_seq, d.decision == Verdict::Accept, &d.note, &session.actor).await?;
    let item =
        items(&api, true, session.scope()).await?.into_iter().find(|i| i.local_seq == local_seq).ok_or_else(missing)?;
    Ok(json(StatusCode::OK, &item))
}
