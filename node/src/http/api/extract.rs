//! `POST /api/v1/extract`: candidate indicators from free text (an advert,
//! a post, an SMS, a page's text), for crawlers and analysts.
//!
//! The same engine and JSON as `jaring extract --json`
//! ([`crate::extract`]), read with the node's own allowlists (built-in,
//! admin and imported warninglists): each candidate on a list is still
//! returned, flagged in its `notes`. With the `lookup` permission each
//! candidate also says whether the node already lists it and by whom (as
//! the token may see it). With `submit`, the candidates are published
//! through the normal submission path (allowlists and validation apply)
//! and each says what became of it.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::indicators::{SubmitItem, results};
use super::input::JsonBody;
use super::names::{ApiCategory, ApiDistribution, ApiKind, ApiTlp};
use super::problem::{AccessErrors, BodyErrors, Problem};
use super::{Api, json};
use crate::access::{Operation, batch_cost};
use crate::extract::{Candidate, ExtractOptions, Listing};
use crate::http::auth::Caller;
use crate::model::Kind;
use crate::node::SubmitOptions;
use crate::submission::NewIndicator;

/// Most candidates one request publishes (the rest are returned, not
/// submitted; the response says how many were left).
pub const MAX_SUBMIT: usize = 1000;

/// What to publish the candidates as.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtractSubmitIn {
    /// Categories of every candidate (at least one).
    pub categories: Vec<ApiCategory>,
    /// Marking (default: the node's default).
    #[serde(default)]
    pub tlp: Option<ApiTlp>,
    /// Distribution (default: the node's default).
    #[serde(default)]
    pub distribution: Option<ApiDistribution>,
    /// Where the text was found.
    #[serde(default)]
    pub source_refs: Vec<String>,
    /// Confidence of every candidate, 0-100 (default: each candidate's own).
    #[serde(default)]
    pub confidence: Option<u32>,
    /// Publish values an allowlist stops (needs `override_allowlist`).
    #[serde(default)]
    pub override_allowlist: bool,
}

/// A text to read.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtractIn {
    /// The text (UTF-8), at most the node's body limit.
    #[schema(example = "Lowongan kerja! WA 0812-3456-7890, transfer ke rekening BCA 1234567890 a/n Budi")]
    pub text: String,
    /// ISO 3166-1 alpha-2 region national phone numbers are read in
    /// (default: the node's `region`).
    #[serde(default)]
    pub region: Option<String>,
    /// Only candidates at least this sure, 0-100.
    #[serde(default)]
    pub min_confidence: u8,
    /// Publish the candidates.
    #[serde(default)]
    pub submit: Option<ExtractSubmitIn>,
}

/// What the node lists about a candidate's value.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ListingOut {
    /// Whether any origin lists it (as the token sees it).
    pub found: bool,
    /// The origins that list it.
    pub by: Vec<String>,
    /// `active`, `expired` or `revoked`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Union of the origins' categories.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<ApiCategory>,
    /// The value's current score.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<u8>,
}

impl From<Listing> for ListingOut {
    fn from(l: Listing) -> ListingOut {
        ListingOut {
            found: l.found,
            by: l.by,
            status: l.status,
            categories: l.categories.into_iter().map(ApiCategory).collect(),
            score: l.score,
        }
    }
}

/// One candidate indicator.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CandidateOut {
    /// What kind of thing it is.
    pub kind: ApiKind,
    /// The canonical form the node stores.
    pub value: String,
    /// The text's characters `start..end`, as written.
    pub text: String,
    /// First character, in Unicode scalar values.
    pub start: u64,
    /// One past the last character.
    pub end: u64,
    /// How sure the reading is, 0-100.
    pub confidence: u8,
    /// How it was read (`defanged`, `from profile URL`, `allowlist: builtin-platforms`, ...).
    pub notes: Vec<String>,
    /// Whether the node already lists it (tokens with the `lookup` permission).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listed: Option<ListingOut>,
    /// What became of it, when submitted (`index` is the candidate's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub submitted: Option<SubmitItem>,
}

impl From<Candidate> for CandidateOut {
    fn from(c: Candidate) -> CandidateOut {
        CandidateOut {
            kind: c.kind.into(),
            value: c.value,
            text: c.text,
            start: c.start,
            end: c.end,
            confidence: c.confidence,
            notes: c.notes,
            listed: c.listed.map(Into::into),
            submitted: None,
        }
    }
}

/// The candidates of a text.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ExtractOut {
    /// In order of first occurrence.
    pub candidates: Vec<CandidateOut>,
    /// Candidates on an allowlist.
    pub flagged: u64,
    /// Candidates the node already lists.
    pub listed: u64,
    /// With `submit`: stored (new versions).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stored: Option<u64>,
    /// With `submit`: refused (each with its reason).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<u64>,
    /// With `submit`: candidates past [`MAX_SUBMIT`], returned but not submitted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_submitted: Option<u64>,
}

/// Extract indicators from text.
///
/// Reads phone numbers (national forms in the region), URLs and domains
/// (defanged too), e-mail addresses, IPs, social handles, bank accounts and
/// e-wallets named in the text, and crypto wallets; prices, dates and ids
/// are not picked up. With `submit`, publishes them.
#[utoipa::path(
    post,
    path = "/api/v1/extract",
    tag = "extract",
    operation_id = "extract",
    request_body = ExtractIn,
    responses(
        (status = 200, description = "The candidates, in order of first occurrence", body = ExtractOut),
        BodyErrors,
        AccessErrors,
    ),
    security(("bearer" = []))
)]
pub async fn extract(
    State(api): State<Arc<Api>>,
    caller: Caller,
    body: Result<JsonBody<ExtractIn>, Problem>,
) -> Result<Response, Problem> {
    let session = caller.authorize(&api.node, Operation::Extract, 1).await?;
    let JsonBody(req) = body?;
    if let Some(s) = &req.submit {
        let wanted = if s.override_allowlist { Operation::OverrideAllowlist } else { Operation::SubmitIndicators };
        for op in [Operation::SubmitIndicators, wanted] {
            if let Err(d) = session.require(op) {
                api.node.audit_refusal(&d, op, caller.from).await;
                return Err(d.into());
            }
        }
        if s.categories.is_empty() {
            return Err(Problem::invalid("submit.categories", "name at least one category to publish under"));
        }
    }
    if req.min_confidence > 100 {
        return Err(Problem::invalid("min_confidence", "must be 0 to 100"));
    }
    let region = req.region.clone().or_else(|| api.node.config().region.clone());
    let options = ExtractOptions::new(region.as_deref()).map_err(|e| Problem::invalid("region", e.to_string()))?;
    let node = api.node.clone();
    let text = req.text;
    let min = req.min_confidence;
    let found = tokio::task::spawn_blocking(move || {
        let flag = |k: Kind, v: &str| node.allowlisted(k, v).map(|m| m.list);
        let mut found = crate::extract::extract(&text, &options, &flag);
        found.candidates.retain(|c| c.confidence >= min);
        found
    })
    .await
    .map_err(|e| Problem::internal(&e.to_string()))?;
    let mut candidates = found.candidates;

    if session.require(Operation::LookupValues).is_ok() && !candidates.is_empty() {
        let queries: Vec<(String, Option<Kind>)> = candidates.iter().map(|c| (c.value.clone(), Some(c.kind))).collect();
        let node = api.node.clone();
        let answers = tokio::task::spawn_blocking(move || node.lookup(&queries))
            .await
            .map_err(|e| Problem::internal(&e.to_string()))??;
        for (c, r) in candidates.iter_mut().zip(answers) {
            c.listed = Some(Listing::of(&session.scope().restrict_result(r), c.kind));
        }
    }

    let flagged = candidates.iter().filter(|c| c.notes.iter().any(|n| n.starts_with("allowlist: "))).count() as u64;
    let listed = candidates.iter().filter(|c| c.listed.as_ref().is_some_and(|l| l.found)).count() as u64;
    let mut out =
        ExtractOut { candidates: Vec::new(), flagged, listed, stored: None, refused: None, not_submitted: None };
    let mut submitted: Vec<Option<SubmitItem>> = Vec::new();
    if let Some(s) = req.submit
        && !candidates.is_empty()
    {
        let n = candidates.len().min(MAX_SUBMIT);
        api.node.charge(&session, batch_cost(n), Operation::SubmitIndicators, caller.from).await?;
        let inputs: Vec<NewIndicator> = candidates
            .iter()
            .take(n)
            .map(|c| NewIndicator {
                kind: Some(c.kind),
                value: c.value.clone(),
                categories: s.categories.iter().map(|c| c.0).collect(),
                confidence: s.confidence.unwrap_or(u32::from(c.confidence)),
                tlp: s.tlp.map(|t| t.0),
                distribution: s.distribution.map(|d| d.0),
                first_seen_ms: None,
                last_seen_ms: None,
                valid_until_ms: None,
                description: None,
                source_refs: s.source_refs.clone(),
            })
            .collect();
        let kept = inputs.clone();
        let opts = SubmitOptions { override_allowlist: s.override_allowlist, skip_unchanged: false };
        let done = api.node.submit_checked(inputs, &session.actor, opts).await?;
        let response = results(&api.node, done, kept);
        out.stored = Some(response.stored);
        out.refused = Some(response.refused + response.needs_review);
        out.not_submitted = Some((candidates.len() - n) as u64);
        submitted = response.results.into_iter().map(Some).collect();
    }
    submitted.resize_with(candidates.len(), || None);
    out.candidates =
        candidates.into_iter().zip(submitted).map(|(c, s)| CandidateOut { submitted: s, ..c.into() }).collect();
    Ok(json(StatusCode::OK, &out))
}
