//! `POST /api/v1/feedback`: a signed feedback event (sighting, takedown
//! outcome, false positive, referral) about a value this node holds.
//!
//! A `platform` token speaks for its platform: the event carries its
//! platform name (a request naming another is refused). The value must be
//! listed as this token sees it: feedback about a value it may not see is
//! "not found", like a lookup.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use utoipa::ToSchema;

use super::input::JsonBody;
use super::model::FeedbackEventOut;
use super::names::{ApiFeedbackType, ApiKind, ApiTlp};
use super::problem::{AccessErrors, BodyErrors, NotFoundError, Problem};
use super::{Api, json};
use crate::access::Operation;
use crate::feedback::NewFeedback;
use crate::http::auth::Caller;
use crate::node::{NodeError, NotFound};

/// A feedback event to publish.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeedbackIn {
    /// The value, as seen; normalized like a lookup.
    pub value: String,
    /// Its kind (default: every kind it parses as, the first one held).
    #[serde(default)]
    pub kind: Option<ApiKind>,
    /// What is reported.
    #[serde(rename = "type")]
    pub feedback_type: ApiFeedbackType,
    /// The platform or registrar (a platform token's own by default).
    #[serde(default)]
    pub platform: Option<String>,
    /// What the platform did.
    #[serde(default)]
    pub action_taken: Option<String>,
    /// Why (required for false_positive and no_action).
    #[serde(default)]
    pub reason: Option<String>,
    /// Notes.
    #[serde(default)]
    pub note: Option<String>,
    /// The agency it was referred to.
    #[serde(default)]
    pub referred_to: Option<String>,
    /// When it was seen or actioned (default now).
    #[serde(default)]
    pub observed_at_ms: Option<i64>,
    /// Marking (default: the most restrictive among the assertions held at
    /// or below the token's TLP ceiling); above that ceiling it is refused
    /// (400), since the token could not see the event.
    #[serde(default)]
    pub tlp: Option<ApiTlp>,
}

/// Publish feedback.
///
/// Signs a feedback event about a held value and publishes it to the
/// peers the value's indicators travel to (and always to its origin).
#[utoipa::path(
    post,
    path = "/api/v1/feedback",
    tag = "feedback",
    operation_id = "add_feedback",
    request_body = FeedbackIn,
    responses(
        (status = 201, description = "The event, signed and stored", body = FeedbackEventOut),
        BodyErrors,
        NotFoundError,
        AccessErrors,
    ),
    security(("bearer" = []))
)]
pub async fn add(
    State(api): State<Arc<Api>>,
    caller: Caller,
    body: Result<JsonBody<FeedbackIn>, Problem>,
) -> Result<Response, Problem> {
    let session = caller.authorize(&api.node, Operation::AddFeedback, 1).await?;
    let JsonBody(f) = body?;
    let platform = match session.platform(f.platform) {
        Ok(p) => p,
        Err(d) => {
            api.node.audit_refusal(&d, Operation::AddFeedback, caller.from).await;
            return Err(d.into());
        }
    };
    let kind = f.kind.map(|k| k.0);
    let visible =
        api.node.lookup(&[(f.value.clone(), kind)])?.into_iter().any(|r| session.scope().restrict_result(r).found);
    if !visible {
        return Err(NodeError::from(NotFound::HeldValue(f.value)).into());
    }
    let input = NewFeedback {
        value: f.value,
        kind,
        feedback_type: f.feedback_type.0,
        platform,
        action_taken: f.action_taken,
        reason: f.reason,
        note: f.note,
        referred_to: f.referred_to,
        observed_at_ms: f.observed_at_ms,
        tlp: f.tlp.map(|t| t.0),
        case_ref: None,
        ceiling: Some(session.scope().max_tlp),
    };
    let event = api.node.add_feedback(input, &session.actor).await?;
    Ok(json(StatusCode::CREATED, &FeedbackEventOut::from(&event)))
}
