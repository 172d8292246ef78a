//! `/api/v1/lookup`: one value (`GET`) or up to [`MAX_LOOKUP`] (`POST`),
//! each normalized like a submission and answered with the merged view of
//! every origin's assertion the token may see; `summary` gives only the
//! verdict (status, score, confidence, categories), for bulk checks.
//!
//! A value asserted only outside the token's scope (a TLP above its
//! ceiling, a kind or category it does not see) is "not found" to it.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::input::{JsonBody, Query};
use super::model::LookupOut;
use super::names::ApiKind;
use super::problem::{AccessErrors, BodyErrors, InputErrors, Problem};
use super::{Api, json};
use crate::access::{Operation, Scope, batch_cost};
use crate::http::auth::Caller;
use crate::model::Kind;
use crate::view::LookupResult;

/// Most values in one `POST /api/v1/lookup`.
pub const MAX_LOOKUP: usize = 10_000;

/// Looks `queries` up as a token of `scope` sees them.
async fn answer(
    api: &Api,
    queries: Vec<(String, Option<Kind>)>,
    scope: &Scope,
    min_score: u8,
) -> Result<Vec<LookupResult>, Problem> {
    let results = api.node.lookup_async(queries).await?;
    Ok(results
        .into_iter()
        .map(|r| {
            let mut r = scope.restrict_result(r);
            r.retain_min_score(min_score);
            r
        })
        .collect())
}

/// Look one value up.
///
/// The value is normalized like a submission (`0812-3456-7890` in region ID
/// is `+6281234567890`) and, without `kind`, tried as every kind it parses
/// as. Answers 200 whether or not it is listed (`found`).
#[utoipa::path(
    get,
    path = "/api/v1/lookup",
    tag = "lookup",
    operation_id = "lookup_value",
    params(
        ("value" = String, Query, description = "The value, as found"),
        ("kind" = Option<ApiKind>, Query, description = "Its kind (default: every kind it parses as)"),
        ("summary" = Option<bool>, Query, description = "Only the verdict: no per-origin assertions or feedback"),
        ("min_score" = Option<u8>, Query, minimum = 0, maximum = 100, description = "Only assertions in force scoring at least this"),
    ),
    responses(
        (status = 200, description = "The merged view of every origin's assertion", body = LookupOut),
        InputErrors,
        AccessErrors,
    ),
    security(("bearer" = []))
)]
pub async fn lookup_one(
    State(api): State<Arc<Api>>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Response, Problem> {
    let session = caller.authorize(&api.node, Operation::LookupValues, 1).await?;
    let q = Query::parse(raw.as_deref(), &["value", "kind", "summary", "min_score"])?;
    let value = q.get("value").ok_or_else(|| Problem::invalid("value", "is missing"))?.to_string();
    let kind: Option<Kind> = q.parsed("kind")?;
    let summary = q.flag("summary")?;
    let min_score = u8::try_from(q.int("min_score", 0, 100)?.unwrap_or(0)).unwrap_or(100);
    let mut results = answer(&api, vec![(value, kind)], session.scope(), min_score).await?;
    let r = results.pop().ok_or_else(|| Problem::internal("the lookup gave no answer"))?;
    Ok(json(StatusCode::OK, &LookupOut::of(&r, summary)))
}

/// One value with its own kind.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LookupQuery {
    /// The value, as found.
    pub value: String,
    /// Its kind (default: every kind it parses as).
    #[serde(default)]
    pub kind: Option<ApiKind>,
}

/// Values to look up: `values` (all of `kind`, or of every kind each
/// parses as) and `queries` (each with its own kind), together at most
/// 10,000.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LookupRequest {
    /// Values, as found.
    #[serde(default)]
    pub values: Vec<String>,
    /// The kind of every value in `values`.
    #[serde(default)]
    pub kind: Option<ApiKind>,
    /// Values with a kind each.
    #[serde(default)]
    pub queries: Vec<LookupQuery>,
    /// Only each value's verdict: no per-origin assertions or feedback.
    #[serde(default)]
    pub summary: bool,
    /// Only assertions in force scoring at least this (0-100).
    #[serde(default)]
    #[schema(minimum = 0, maximum = 100)]
    pub min_score: u8,
}

/// The answers, one per value: `values` first, then `queries`, in order.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LookupResponse {
    /// One per value.
    pub results: Vec<LookupOut>,
}

/// Look values up in bulk.
///
/// Up to 10,000 values per request, answered in order. Costs one unit of
/// the token's rate per 100 values.
#[utoipa::path(
    post,
    path = "/api/v1/lookup",
    tag = "lookup",
    operation_id = "lookup_values",
    request_body = LookupRequest,
    responses(
        (status = 200, description = "One answer per value", body = LookupResponse),
        BodyErrors,
        AccessErrors,
    ),
    security(("bearer" = []))
)]
pub async fn lookup_many(
    State(api): State<Arc<Api>>,
    caller: Caller,
    body: Result<JsonBody<LookupRequest>, Problem>,
) -> Result<Response, Problem> {
    let session = caller.authorize(&api.node, Operation::LookupValues, 1).await?;
    let JsonBody(req) = body?;
    let n = req.values.len() + req.queries.len();
    if n == 0 || n > MAX_LOOKUP {
        return Err(Problem::invalid("values", format!("{n} values; send 1 to {MAX_LOOKUP} per request")));
    }
    if req.min_score > 100 {
        return Err(Problem::invalid("min_score", "must be 0 to 100"));
    }
    api.node.charge(&session, batch_cost(n).saturating_sub(1), Operation::LookupValues, caller.from).await?;
    let kind = req.kind.map(|k| k.0);
    let mut queries: Vec<(String, Option<Kind>)> = req.values.into_iter().map(|v| (v, kind)).collect();
    queries.extend(req.queries.into_iter().map(|q| (q.value, q.kind.map(|k| k.0))));
    let results = answer(&api, queries, session.scope(), req.min_score).await?;
    let out = LookupResponse { results: results.iter().map(|r| LookupOut::of(r, req.summary)).collect() };
    Ok(json(StatusCode::OK, &out))
}
