//! `/api/v1/indicators`: batch submission with a result per item, listing
//! with filters and a cursor, one of this node's indicators by id, and
//! revocation.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::input::{JsonBody, PathParam, Query};
use super::model::IndicatorOut;
use super::names::{ApiCategory, ApiDistribution, ApiKind, ApiTlp};
use super::problem::{AccessErrors, BodyErrors, ConflictError, InputErrors, NotFoundError, Problem};
use super::{Api, json};
use crate::access::{Operation, batch_cost};
use crate::allowlist::ListAction;
use crate::http::auth::Caller;
use crate::model::Kind;
use crate::node::{ListFilter, Node, SubmitOptions, Submitted};
use crate::store::Tables;
use crate::submission::NewIndicator;

/// Most indicators a listing returns at once.
pub const MAX_LIST: u64 = 10_000;

fn default_confidence() -> u32 {
    50
}

/// An indicator as submitted; the node normalizes the value.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IndicatorIn {
    /// Kind.
    pub kind: ApiKind,
    /// The value as it was found; normalized by the node.
    #[schema(example = "www.loker-kerja.co.id")]
    pub value: String,
    /// At least one category.
    pub categories: Vec<ApiCategory>,
    /// 0-100 (default 50).
    #[serde(default = "default_confidence")]
    #[schema(default = 50)]
    pub confidence: u32,
    /// Default amber.
    #[serde(default)]
    pub tlp: Option<ApiTlp>,
    /// Default federation.
    #[serde(default)]
    pub distribution: Option<ApiDistribution>,
    /// Default now.
    #[serde(default)]
    pub first_seen_ms: Option<i64>,
    /// Default now.
    #[serde(default)]
    pub last_seen_ms: Option<i64>,
    /// Default: no expiry.
    #[serde(default)]
    pub valid_until_ms: Option<i64>,
    /// Notes for analysts.
    #[serde(default)]
    pub description: Option<String>,
    /// Where it was found (URLs of posts, case numbers).
    #[serde(default)]
    pub source_refs: Vec<String>,
}

impl From<IndicatorIn> for NewIndicator {
    fn from(i: IndicatorIn) -> NewIndicator {
        NewIndicator {
            kind: Some(i.kind.0),
            value: i.value,
            categories: i.categories.into_iter().map(|c| c.0).collect(),
            confidence: i.confidence,
            tlp: i.tlp.map(|t| t.0),
            distribution: i.distribution.map(|d| d.0),
            first_seen_ms: i.first_seen_ms,
            last_seen_ms: i.last_seen_ms,
            valid_until_ms: i.valid_until_ms,
            description: i.description,
            source_refs: i.source_refs,
        }
    }
}

/// A batch of indicators to submit.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitRequest {
    /// 1 to the node's `[limits] max_batch` (1024 by default).
    pub indicators: Vec<IndicatorIn>,
    /// Publish values an allowlist stops (audited; analysts and admins only).
    #[serde(default)]
    pub override_allowlist: bool,
    /// An indicator equal to this node's current version publishes nothing
    /// (`unchanged`), so sending the same batch again is harmless.
    #[serde(default)]
    pub skip_unchanged: bool,
}

/// What happened to one submitted indicator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Signed and stored: `indicator` is the new version.
    Stored,
    /// Equal to the held version (`skip_unchanged`): nothing published.
    Unchanged,
    /// Refused: `field` and `reason` say why; nothing stored.
    Refused,
    /// Stopped by an allowlist rule that asks for an analyst's review
    /// (e.g. a URL shortener): nothing stored; an analyst publishes it with
    /// `override_allowlist`.
    NeedsReview,
}

/// The result of one submitted indicator.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SubmitItem {
    /// Its position in the request, from 0.
    pub index: usize,
    /// What happened.
    pub outcome: Outcome,
    /// The stored (or held) version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub indicator: Option<IndicatorOut>,
    /// The field that is wrong (refused, needs_review).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Why (refused, needs_review).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The results of a batch, one per indicator, in order.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SubmitResponse {
    /// How many were stored.
    pub stored: u64,
    /// How many were unchanged.
    pub unchanged: u64,
    /// How many were refused.
    pub refused: u64,
    /// How many need an analyst's review.
    pub needs_review: u64,
    /// One per indicator.
    pub results: Vec<SubmitItem>,
}

/// Whether an input was stopped by a `review` allowlist rule (rather than
/// refused for another reason).
fn stopped_for_review(node: &Node, input: NewIndicator) -> bool {
    let Ok(sub) = node.prepare(input) else { return false };
    node.allowlisted(sub.indicator.kind, sub.canonical()).is_some_and(|m| m.action == ListAction::Review)
}

/// Submit indicators.
///
/// Each indicator gets its own result: one bad indicator does not fail the
/// others. Stored indicators are signed and durable when the response is
/// sent. A batch costs one unit of the token's rate per 100 indicators.
#[utoipa::path(
    post,
    path = "/api/v1/indicators",
    tag = "indicators",
    operation_id = "submit_indicators",
    request_body = SubmitRequest,
    responses(
        (status = 200, description = "One result per indicator", body = SubmitResponse),
        BodyErrors,
        AccessErrors,
    ),
    security(("bearer" = []))
)]
pub async fn submit(
    State(api): State<Arc<Api>>,
    caller: Caller,
    body: Result<JsonBody<SubmitRequest>, Problem>,
) -> Result<Response, Problem> {
    let session = caller.authorize(&api.node, Operation::SubmitIndicators, 1).await?;
    let JsonBody(req) = body?;
    let max = api.node.config().limits.max_batch;
    if req.indicators.is_empty() || req.indicators.len() > max {
        return Err(Problem::invalid(
            "indicators",
            format!("{} indicators; send 1 to {max} per request", req.indicators.len()),
        ));
    }
    if req.override_allowlist
        && let Err(d) = session.require(Operation::OverrideAllowlist)
    {
        api.node.audit_refusal(&d, Operation::OverrideAllowlist, caller.from).await;
        return Err(d.into());
    }
    let n = req.indicators.len();
    api.node.charge(&session, batch_cost(n).saturating_sub(1), Operation::SubmitIndicators, caller.from).await?;
    let inputs: Vec<NewIndicator> = req.indicators.into_iter().map(Into::into).collect();
    let kept = inputs.clone();
    let opts = SubmitOptions { override_allowlist: req.override_allowlist, skip_unchanged: req.skip_unchanged };
    let done = api.node.submit_checked(inputs, &session.actor, opts).await?;
    let out = results(&api.node, done, kept);
    Ok(json(StatusCode::OK, &out))
}

/// A page of indicators.
/// One result per submitted input, in order: what `POST /api/v1/indicators`
/// and a submitting `POST /api/v1/extract` answer.
pub(super) fn results(
    node: &Node,
    done: Vec<Result<Submitted, crate::submission::InputError>>,
    kept: Vec<NewIndicator>,
) -> SubmitResponse {
    let n = kept.len();
    let mut out =
        SubmitResponse { stored: 0, unchanged: 0, refused: 0, needs_review: 0, results: Vec::with_capacity(n) };
    for (index, (result, input)) in done.into_iter().zip(kept).enumerate() {
        let item = match result {
            Ok(Submitted::Stored(rec)) => {
                out.stored += 1;
                SubmitItem {
                    index,
                    outcome: Outcome::Stored,
                    indicator: Some((&rec).into()),
                    field: None,
                    reason: None,
                }
            }
            Ok(Submitted::Unchanged(rec)) => {
                out.unchanged += 1;
                SubmitItem {
                    index,
                    outcome: Outcome::Unchanged,
                    indicator: Some((&rec).into()),
                    field: None,
                    reason: None,
                }
            }
            Err(e) => {
                let review = e.field == "value" && stopped_for_review(node, input);
                let outcome = if review {
                    out.needs_review += 1;
                    Outcome::NeedsReview
                } else {
                    out.refused += 1;
                    Outcome::Refused
                };
                SubmitItem { index, outcome, indicator: None, field: Some(e.field), reason: Some(e.reason) }
            }
        };
        out.results.push(item);
    }
    out
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IndicatorPage {
    /// The current version of each indicator, in log order.
    pub indicators: Vec<IndicatorOut>,
    /// Pass as `after` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// List indicators.
///
/// The current version of each indicator this token may see (its TLP
/// ceiling, kinds and categories), in the order of this node's log, from
/// every origin unless `origin` is given. Page with `after`.
#[utoipa::path(
    get,
    path = "/api/v1/indicators",
    tag = "indicators",
    operation_id = "list_indicators",
    params(
        ("kind" = Option<ApiKind>, Query, description = "Only this kind"),
        ("origin" = Option<String>, Query, description = "Only this origin node"),
        ("after" = Option<String>, Query, description = "The `next` of the previous page"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 10000, description = "At most this many (default 100)"),
        ("min_score" = Option<u8>, Query, minimum = 0, maximum = 100, description = "Only indicators in force scoring at least this"),
    ),
    responses(
        (status = 200, description = "A page of indicators", body = IndicatorPage),
        InputErrors,
        AccessErrors,
    ),
    security(("bearer" = []))
)]
pub async fn list(State(api): State<Arc<Api>>, caller: Caller, RawQuery(raw): RawQuery) -> Result<Response, Problem> {
    let session = caller.authorize(&api.node, Operation::ListIndicators, 1).await?;
    let q = Query::parse(raw.as_deref(), &["kind", "origin", "after", "limit", "min_score"])?;
    let kind: Option<Kind> = q.parsed("kind")?;
    let after = match q.get("after") {
        None => 0,
        Some(a) => {
            a.parse::<u64>().map_err(|_| Problem::invalid("after", format!("{a:?} is not a cursor from this node")))?
        }
    };
    let limit = q.int("limit", 1, MAX_LIST)?.unwrap_or(100);
    let filter = ListFilter {
        kind,
        origin: q.get("origin").map(str::to_string),
        signed_by: None,
        after,
        limit: usize::try_from(limit).unwrap_or(usize::MAX),
        min_score: u8::try_from(q.int("min_score", 0, 100)?.unwrap_or(0)).unwrap_or(100),
        scope: Some(session.scope().clone()),
    };
    let node = api.node.clone();
    let records = tokio::task::spawn_blocking(move || node.list(&filter))
        .await
        .map_err(|e| Problem::internal(&e.to_string()))??;
    let next = (records.len() as u64 == limit).then(|| records.last().map(|r| r.local_seq.to_string())).flatten();
    Ok(json(StatusCode::OK, &IndicatorPage { indicators: records.iter().map(Into::into).collect(), next }))
}

/// The current version of one of this node's indicators, if the token may see it.
fn own_visible(api: &Api, id: &str, scope: &crate::access::Scope) -> Result<crate::view::IndicatorRecord, Problem> {
    let missing = || {
        Problem::not_found(format!(
            "no indicator of this node has id {id} (other origins' indicators are found by value: /api/v1/lookup)"
        ))
    };
    let Some(seq) = api.node.store().own_indicator_at(id)? else { return Err(missing()) };
    let Some(entry) = api.node.log_entry(seq)? else { return Err(missing()) };
    let rec = api.node.record(seq, &entry.envelope, &entry.body)?;
    if !scope.may_see(rec.kind, rec.tlp, &rec.categories) {
        return Err(missing());
    }
    Ok(rec)
}

/// One of this node's indicators.
///
/// The current version of an indicator this node published, by id. Other
/// origins' indicators are found by value (`/api/v1/lookup`).
#[utoipa::path(
    get,
    path = "/api/v1/indicators/{id}",
    tag = "indicators",
    operation_id = "get_indicator",
    params(("id" = String, Path, description = "The indicator's id")),
    responses(
        (status = 200, description = "The current version", body = IndicatorOut),
        InputErrors,
        NotFoundError,
        AccessErrors,
    ),
    security(("bearer" = []))
)]
pub async fn get_one(
    State(api): State<Arc<Api>>,
    caller: Caller,
    id: Result<PathParam, Problem>,
    RawQuery(raw): RawQuery,
) -> Result<Response, Problem> {
    let session = caller.authorize(&api.node, Operation::GetIndicator, 1).await?;
    let PathParam(id) = id?;
    Query::parse(raw.as_deref(), &[])?;
    let rec = own_visible(&api, &id, session.scope())?;
    Ok(json(StatusCode::OK, &IndicatorOut::from(&rec)))
}

/// Revoke one of this node's indicators.
///
/// Publishes a signed tombstone; peers withdraw the indicator. Only this
/// node's own indicators can be revoked (a peer's are withdrawn by their
/// origin).
#[utoipa::path(
    delete,
    path = "/api/v1/indicators/{id}",
    tag = "indicators",
    operation_id = "revoke_indicator",
    params(
        ("id" = String, Path, description = "The indicator's id"),
        ("reason" = Option<String>, Query, description = "Why (recorded in the audit log)"),
    ),
    responses(
        (status = 200, description = "The tombstone", body = IndicatorOut),
        InputErrors,
        NotFoundError,
        ConflictError,
        AccessErrors,
    ),
    security(("bearer" = []))
)]
pub async fn revoke(
    State(api): State<Arc<Api>>,
    caller: Caller,
    id: Result<PathParam, Problem>,
    RawQuery(raw): RawQuery,
) -> Result<Response, Problem> {
    let session = caller.authorize(&api.node, Operation::RevokeIndicator, 1).await?;
    let PathParam(id) = id?;
    let q = Query::parse(raw.as_deref(), &["reason"])?;
    own_visible(&api, &id, session.scope())?;
    let rec = api.node.revoke(&id, q.get("reason").unwrap_or(""), &session.actor).await?;
    Ok(json(StatusCode::OK, &IndicatorOut::from(&rec)))
}
