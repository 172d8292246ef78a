//! `/api/v1/takedowns`: takedown cases over HTTP.
//!
//! - A `platform` token works its own queue: `GET /api/v1/takedowns` lists
//!   this node's cases addressed to its platform (open ones unless `state`
//!   says otherwise), none marked above its TLP ceiling or of a kind outside
//!   its scope; it acknowledges a case and reports the outcome (`actioned`
//!   with what was done, `refused` with a reason). A case addressed to
//!   another platform, or above its ceiling, is "not found" to it, on every
//!   route. Its answers are signed by this node as events of the case and
//!   audited with the platform's name and the token's name.
//! - An analyst (or admin) token reads every case held (`own=false` adds
//!   peers' cases), opens cases (`POST /api/v1/takedowns`), withdraws this
//!   node's, and may record a platform's answer given by other means.
//! - `GET /api/v1/takedowns/stats`: time to acknowledge and to outcome per
//!   platform and per requesting node over 7, 30 and 90 days; a platform
//!   token's figures count only the cases addressed to it.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::input::{JsonBody, PathParam, Query};
use super::names::{ApiCaseState, ApiDistribution, ApiKind, ApiTlp};
use super::problem::{AccessErrors, BodyErrors, ConflictError, InputErrors, NotFoundError, Problem};
use super::{Api, json};
use crate::access::{Operation, Session};
use crate::http::auth::Caller;
use crate::model::now_ms;
use crate::node::NotFound;
use crate::node::{Answerer, MAX_PAGE, Page, QueueQuery};
use crate::takedown::{
    self, Case, CaseEvent, CaseFilter, CaseId, CaseState, Due, Durations, LevelRow, LevelWindow, NewTakedown, Outcome,
    ServiceLevels,
};

/// One transition of a case.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CaseEventOut {
    /// The state it moved the case into.
    pub state: ApiCaseState,
    /// The requester's sequence number of the signed event.
    pub origin_seq: u64,
    /// Its position in this node's log.
    pub local_seq: u64,
    /// When it happened.
    pub at_ms: i64,
    /// When the requester signed it.
    pub created_at_ms: i64,
    /// What the platform did (`actioned`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action_taken: Option<String>,
    /// Why (`refused`, `withdrawn`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Notes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl From<&CaseEvent> for CaseEventOut {
    fn from(e: &CaseEvent) -> CaseEventOut {
        CaseEventOut {
            state: e.state.into(),
            origin_seq: e.origin_seq,
            local_seq: e.local_seq,
            at_ms: e.at_ms,
            created_at_ms: e.created_at_ms,
            action_taken: e.action_taken.clone(),
            reason: e.reason.clone(),
            note: e.note.clone(),
        }
    }
}

/// A takedown case, folded from its signed events.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CaseOut {
    /// `<requesting node>-<its sequence number of the request>`, e.g. `ID-17`.
    #[schema(example = "ID-17")]
    pub id: String,
    /// The requesting node.
    pub origin: String,
    /// The platform asked (canonical name).
    pub platform: String,
    /// The value's kind.
    pub kind: ApiKind,
    /// The value as carried (the keyed hash for personal data).
    pub value: String,
    /// The plain value, where this node holds it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plain_value: Option<String>,
    /// Marking of the request and of every event of the case.
    pub tlp: ApiTlp,
    /// Reach of the case's events.
    pub distribution: ApiDistribution,
    /// The indicator the request responds to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub indicator_id: Option<String>,
    /// Its origin.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub indicator_origin: Option<String>,
    /// Where it stands.
    pub state: ApiCaseState,
    /// Whether its due time passed without an outcome.
    pub overdue: bool,
    /// When it was asked.
    pub requested_at_ms: i64,
    /// When an outcome is due.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due_at_ms: Option<i64>,
    /// When the platform acknowledged it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acknowledged_at_ms: Option<i64>,
    /// When the platform answered with an outcome.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome_at_ms: Option<i64>,
    /// When it expired.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expired_at_ms: Option<i64>,
    /// When it was withdrawn.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub withdrawn_at_ms: Option<i64>,
    /// What the platform did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action_taken: Option<String>,
    /// Why it refused (or why the case was withdrawn).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The requester's note.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Every transition, oldest first; the first is the request.
    pub events: Vec<CaseEventOut>,
}

impl CaseOut {
    fn of(c: &Case, now: i64) -> CaseOut {
        CaseOut {
            id: c.id.to_string(),
            origin: c.id.origin.clone(),
            platform: c.platform.clone(),
            kind: c.kind.into(),
            value: c.value.clone(),
            plain_value: c.plain_value.clone(),
            tlp: c.tlp.into(),
            distribution: c.distribution.into(),
            indicator_id: c.indicator_id.clone(),
            indicator_origin: c.indicator_origin.clone(),
            state: c.state.into(),
            overdue: c.is_overdue(now),
            requested_at_ms: c.requested_at_ms,
            due_at_ms: c.due_at_ms,
            acknowledged_at_ms: c.acknowledged_at_ms,
            outcome_at_ms: c.outcome_at_ms,
            expired_at_ms: c.expired_at_ms,
            withdrawn_at_ms: c.withdrawn_at_ms,
            action_taken: c.action_taken.clone(),
            reason: c.reason.clone(),
            note: c.note.clone(),
            events: c.events.iter().map(Into::into).collect(),
        }
    }
}

/// A page of cases.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CasePageOut {
    /// The cases, by id.
    pub cases: Vec<CaseOut>,
    /// When more may follow: pass it as `after` for the next page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// The cases of one request or list.
fn page_out(cases: &[Case], next: Option<&CaseId>) -> CasePageOut {
    let now = now_ms();
    CasePageOut { cases: cases.iter().map(|c| CaseOut::of(c, now)).collect(), next: next.map(ToString::to_string) }
}

/// A case `session` may see: for a platform token, this node's and
/// addressed to its platform; within the token's TLP ceiling and kinds.
fn visible(session: &Session, case: &Case, own: &str) -> bool {
    let platform_ok = session.principal.platform().is_none_or(|p| case.platform == p && case.id.origin == own);
    platform_ok && case.tlp <= session.scope().max_tlp && session.scope().may_see_kind(case.kind)
}

/// The case named in the path, if `session` may see it.
fn case_for(api: &Api, session: &Session, id: &str) -> Result<Case, Problem> {
    let missing = || Problem::from(crate::node::NodeError::from(NotFound::TakedownCase(id.to_string())));
    let parsed: CaseId = id.parse().map_err(|_| missing())?;
    let case = api.node.takedown_case(&parsed).map_err(|_| missing())?;
    if !visible(session, &case, api.node.id()) {
        return Err(missing());
    }
    Ok(case)
}

/// The states named by `state` (comma-separated).
fn states(q: &Query) -> Result<Vec<CaseState>, Problem> {
    let Some(raw) = q.get("state") else { return Ok(Vec::new()) };
    raw.split(',')
        .map(|s| {
            s.trim().parse::<CaseState>().map_err(|_| {
                let names: Vec<&str> = CaseState::ALL.iter().map(|s| s.as_str()).collect();
                Problem::invalid("state", format!("{s:?} is not a case state ({})", names.join(", ")))
            })
        })
        .collect()
}

/// List takedown cases.
///
/// A `platform` token gets its own queue: this node's cases addressed to its
/// platform, the open ones (`requested`, `acknowledged`) unless `state`
/// says otherwise. Other tokens get every case this node opened (with
/// `own=false`, also those of peers it holds), filtered by platform, state
/// and overdue. Cases marked above the token's TLP ceiling are left out.
#[utoipa::path(
    get,
    path = "/api/v1/takedowns",
    tag = "takedowns",
    operation_id = "list_takedowns",
    params(
        ("state" = Option<String>, Query, description = "Only cases in these states (comma-separated: requested, acknowledged, actioned, refused, expired, withdrawn)"),
        ("platform" = Option<String>, Query, description = "Only cases addressed to this platform (a platform token: its own)"),
        ("overdue" = Option<bool>, Query, description = "Only cases whose due time passed without an outcome"),
        ("own" = Option<bool>, Query, description = "Only cases this node opened (default true; platform tokens: always)"),
        ("after" = Option<String>, Query, description = "The `next` of the previous page"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 1000, description = "At most this many (default 100)"),
    ),
    responses(
        (status = 200, description = "A page of cases, by id", body = CasePageOut),
        InputErrors,
        AccessErrors,
    ),
    security(("bearer" = []))
)]
pub async fn list(State(api): State<Arc<Api>>, caller: Caller, RawQuery(raw): RawQuery) -> Result<Response, Problem> {
    let session = caller.authorize(&api.node, Operation::ReadTakedowns, 1).await?;
    let q = Query::parse(raw.as_deref(), &["state", "platform", "overdue", "own", "after", "limit"])?;
    let states = states(&q)?;
    let platform = match session.platform(q.get("platform").map(str::to_string)) {
        Ok(p) => p,
        Err(d) => {
            api.node.audit_refusal(&d, Operation::ReadTakedowns, caller.from).await;
            return Err(d.into());
        }
    };
    let after = match q.get("after") {
        None => None,
        Some(a) => Some(a.parse::<CaseId>().map_err(|e| Problem::invalid("after", e.to_string()))?),
    };
    let limit = q.int("limit", 1, MAX_PAGE as u64)?.unwrap_or(0);
    let page = Page { after, limit: usize::try_from(limit).unwrap_or(MAX_PAGE) };
    let overdue = q.flag("overdue")?;
    let own = match q.get("own") {
        None => true,
        Some(_) => q.flag("own")?,
    };
    let scope = session.scope();
    let found = match (session.principal.platform(), platform) {
        (Some(_), Some(p)) => {
            let query = QueueQuery { states, max_tlp: scope.max_tlp, page };
            let mut found = api.node.takedown_queue(&p, &session.actor, &query)?;
            found.cases.retain(|c| (!overdue || c.is_overdue(now_ms())) && scope.may_see_kind(c.kind));
            found
        }
        (_, platform) => {
            let platform = platform
                .map(|p| takedown::platform_name(&p))
                .transpose()
                .map_err(|e| Problem::invalid("platform", e.to_string()))?;
            let filter = CaseFilter { own_only: own, platform, states, overdue, max_tlp: Some(scope.max_tlp) };
            let mut found = api.node.takedown_cases(&filter, &page)?;
            found.cases.retain(|c| scope.may_see_kind(c.kind));
            found
        }
    };
    Ok(json(StatusCode::OK, &page_out(&found.cases, found.next.as_ref())))
}

/// A takedown request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TakedownIn {
    /// The value, any form (normalized like a lookup); it must be held.
    pub value: String,
    /// Its kind (default: every kind it parses as, the first one held).
    #[serde(default)]
    pub kind: Option<ApiKind>,
    /// The platform asked (`meta`, `tiktok`, a registrar, a bank, ...).
    pub platform: String,
    /// For the platform.
    #[serde(default)]
    pub note: Option<String>,
    /// How long the platform has for an outcome, in milliseconds (default:
    /// the node's `[takedown] default_due`).
    #[serde(default)]
    pub due_in_ms: Option<i64>,
    /// The due time itself (may be in the past: the case then expires at once).
    #[serde(default)]
    pub due_at_ms: Option<i64>,
    /// Marking (default: the most restrictive among the assertions held at
    /// or below the token's TLP ceiling); above that ceiling it is refused
    /// (400), since the token could not see the case.
    #[serde(default)]
    pub tlp: Option<ApiTlp>,
    /// Open a case even though another node holds an open one for the same
    /// value and platform.
    #[serde(default)]
    pub also: bool,
}

/// Open a takedown case.
///
/// Signs a `takedown_requested` event about a held value, addressed to a
/// platform. One open case per value and platform per node: asking again
/// returns the open case (200 instead of 201). An open case of another node
/// for the same value and platform is a conflict unless `also` is set.
#[utoipa::path(
    post,
    path = "/api/v1/takedowns",
    tag = "takedowns",
    operation_id = "request_takedown",
    request_body = TakedownIn,
    responses(
        (status = 201, description = "The new case", body = CaseOut),
        (status = 200, description = "This node's open case for the value and platform", body = CaseOut),
        BodyErrors,
        NotFoundError,
        ConflictError,
        AccessErrors,
    ),
    security(("bearer" = []))
)]
pub async fn request(
    State(api): State<Arc<Api>>,
    caller: Caller,
    body: Result<JsonBody<TakedownIn>, Problem>,
) -> Result<Response, Problem> {
    let session = caller.authorize(&api.node, Operation::ManageTakedowns, 1).await?;
    let JsonBody(t) = body?;
    let due = match (t.due_in_ms, t.due_at_ms) {
        (Some(_), Some(_)) => {
            return Err(Problem::invalid("due_at_ms", "give due_in_ms or due_at_ms, not both"));
        }
        (Some(ms), None) => Due::In(ms),
        (None, Some(at)) => Due::At(at),
        (None, None) => Due::Default,
    };
    let kind = t.kind.map(|k| k.0);
    let visible =
        api.node.lookup(&[(t.value.clone(), kind)])?.into_iter().any(|r| session.scope().restrict_result(r).found);
    if !visible {
        return Err(crate::node::NodeError::from(NotFound::HeldValue(t.value)).into());
    }
    let input = NewTakedown {
        value: t.value,
        kind,
        platform: t.platform,
        note: t.note,
        due,
        tlp: t.tlp.map(|t| t.0),
        also: t.also,
        ceiling: Some(session.scope().max_tlp),
    };
    let done = api.node.request_takedown(input, &session.actor).await?;
    let status = if done.created { StatusCode::CREATED } else { StatusCode::OK };
    Ok(json(status, &CaseOut::of(&done.case, now_ms())))
}

/// One takedown case with its history.
#[utoipa::path(
    get,
    path = "/api/v1/takedowns/{id}",
    tag = "takedowns",
    operation_id = "get_takedown",
    params(("id" = String, Path, description = "The case id, e.g. ID-17")),
    responses(
        (status = 200, description = "The case", body = CaseOut),
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
    let session = caller.authorize(&api.node, Operation::ReadTakedowns, 1).await?;
    let PathParam(id) = id?;
    Query::parse(raw.as_deref(), &[])?;
    let case = case_for(&api, &session, &id)?;
    Ok(json(StatusCode::OK, &CaseOut::of(&case, now_ms())))
}

/// An acknowledgement.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcknowledgeIn {
    /// Notes.
    #[serde(default)]
    pub note: Option<String>,
    /// When it was acknowledged (default now; not before the request).
    #[serde(default)]
    pub at_ms: Option<i64>,
}

/// The platform's answer on the outcome of a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeKind {
    /// Done (`action_taken` says what).
    Actioned,
    /// Declined (`reason` says why).
    Refused,
}

/// An outcome.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OutcomeIn {
    /// Actioned or refused.
    pub outcome: OutcomeKind,
    /// What was done ("page removed", "account frozen"): required for `actioned`.
    #[serde(default)]
    pub action_taken: Option<String>,
    /// Why not: required for `refused`.
    #[serde(default)]
    pub reason: Option<String>,
    /// Notes.
    #[serde(default)]
    pub note: Option<String>,
    /// When it was done (default now; not before the request).
    #[serde(default)]
    pub at_ms: Option<i64>,
}

/// The answerer behind `session`: its platform (a platform token) or the
/// person answering on the case's platform's behalf.
fn answerer(session: &Session) -> Answerer {
    Answerer { platform: session.principal.platform().map(str::to_string), principal: session.actor.clone() }
}

/// Acknowledge a case.
///
/// The platform has seen the case. Acknowledging an acknowledged case
/// again changes nothing.
#[utoipa::path(
    post,
    path = "/api/v1/takedowns/{id}/acknowledge",
    tag = "takedowns",
    operation_id = "acknowledge_takedown",
    params(("id" = String, Path, description = "The case id, e.g. ID-17")),
    request_body(content = AcknowledgeIn, description = "`{}` acknowledges now"),
    responses(
        (status = 200, description = "The case", body = CaseOut),
        BodyErrors,
        NotFoundError,
        ConflictError,
        AccessErrors,
    ),
    security(("bearer" = []))
)]
pub async fn acknowledge(
    State(api): State<Arc<Api>>,
    caller: Caller,
    id: Result<PathParam, Problem>,
    body: Result<JsonBody<AcknowledgeIn>, Problem>,
) -> Result<Response, Problem> {
    let session = caller.authorize(&api.node, Operation::AnswerTakedown, 1).await?;
    let PathParam(id) = id?;
    let JsonBody(a) = body?;
    let case = case_for(&api, &session, &id)?;
    let case = api.node.acknowledge_takedown(&case.id, &answerer(&session), a.note, a.at_ms).await?;
    Ok(json(StatusCode::OK, &CaseOut::of(&case, now_ms())))
}

/// Report a case's outcome.
///
/// `actioned` with what was done, or `refused` with a reason. An expired
/// case takes a late outcome (counted late); the same outcome again changes
/// nothing.
#[utoipa::path(
    post,
    path = "/api/v1/takedowns/{id}/outcome",
    tag = "takedowns",
    operation_id = "takedown_outcome",
    params(("id" = String, Path, description = "The case id, e.g. ID-17")),
    request_body = OutcomeIn,
    responses(
        (status = 200, description = "The case", body = CaseOut),
        BodyErrors,
        NotFoundError,
        ConflictError,
        AccessErrors,
    ),
    security(("bearer" = []))
)]
pub async fn outcome(
    State(api): State<Arc<Api>>,
    caller: Caller,
    id: Result<PathParam, Problem>,
    body: Result<JsonBody<OutcomeIn>, Problem>,
) -> Result<Response, Problem> {
    let session = caller.authorize(&api.node, Operation::AnswerTakedown, 1).await?;
    let PathParam(id) = id?;
    let JsonBody(o) = body?;
    let outcome = match o.outcome {
        OutcomeKind::Actioned => {
            if o.reason.is_some() {
                return Err(Problem::invalid("reason", "an actioned outcome says what was done, in action_taken"));
            }
            Outcome::Actioned(o.action_taken.unwrap_or_default())
        }
        OutcomeKind::Refused => {
            if o.action_taken.is_some() {
                return Err(Problem::invalid("action_taken", "a refused outcome says why, in reason"));
            }
            Outcome::Refused(o.reason.unwrap_or_default())
        }
    };
    let case = case_for(&api, &session, &id)?;
    let case = api.node.takedown_outcome(&case.id, &answerer(&session), outcome, o.note, o.at_ms).await?;
    Ok(json(StatusCode::OK, &CaseOut::of(&case, now_ms())))
}

/// A withdrawal.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WithdrawIn {
    /// Why.
    #[serde(default)]
    pub reason: Option<String>,
}

/// Withdraw one of this node's open cases.
#[utoipa::path(
    post,
    path = "/api/v1/takedowns/{id}/withdraw",
    tag = "takedowns",
    operation_id = "withdraw_takedown",
    params(("id" = String, Path, description = "The case id, e.g. ID-17")),
    request_body(content = WithdrawIn, description = "The reason, if any (`{}`: none)"),
    responses(
        (status = 200, description = "The case", body = CaseOut),
        BodyErrors,
        NotFoundError,
        ConflictError,
        AccessErrors,
    ),
    security(("bearer" = []))
)]
pub async fn withdraw(
    State(api): State<Arc<Api>>,
    caller: Caller,
    id: Result<PathParam, Problem>,
    body: Result<JsonBody<WithdrawIn>, Problem>,
) -> Result<Response, Problem> {
    let session = caller.authorize(&api.node, Operation::ManageTakedowns, 1).await?;
    let PathParam(id) = id?;
    let JsonBody(w) = body?;
    let case = case_for(&api, &session, &id)?;
    let case = api.node.withdraw_takedown(&case.id, w.reason, &session.actor).await?;
    Ok(json(StatusCode::OK, &CaseOut::of(&case, now_ms())))
}

/// Durations in milliseconds.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DurationsOut {
    /// Cases measured.
    pub count: u64,
    /// Median (nearest rank).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub median_ms: Option<i64>,
    /// 90th percentile (nearest rank).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p90_ms: Option<i64>,
    /// Mean.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mean_ms: Option<i64>,
    /// Longest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_ms: Option<i64>,
}

impl From<&Durations> for DurationsOut {
    fn from(d: &Durations) -> DurationsOut {
        DurationsOut { count: d.count, median_ms: d.median_ms, p90_ms: d.p90_ms, mean_ms: d.mean_ms, max_ms: d.max_ms }
    }
}

/// Service levels of one platform, one requesting node, or all.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LevelRowOut {
    /// The platform, the requesting node, or `all`.
    pub key: String,
    /// Cases requested in the window.
    pub requested: u64,
    /// Of those, still open.
    pub open: u64,
    /// Acknowledged (at any point).
    pub acknowledged: u64,
    /// Closed actioned.
    pub actioned: u64,
    /// Closed refused.
    pub refused: u64,
    /// Expired (and not answered since).
    pub expired: u64,
    /// Withdrawn.
    pub withdrawn: u64,
    /// Answered after their due time.
    pub late: u64,
    /// Request to acknowledgement.
    pub time_to_acknowledge: DurationsOut,
    /// Request to outcome (actioned or refused).
    pub time_to_outcome: DurationsOut,
}

impl From<&LevelRow> for LevelRowOut {
    fn from(r: &LevelRow) -> LevelRowOut {
        LevelRowOut {
            key: r.key.clone(),
            requested: r.requested,
            open: r.open,
            acknowledged: r.acknowledged,
            actioned: r.actioned,
            refused: r.refused,
            expired: r.expired,
            withdrawn: r.withdrawn,
            late: r.late,
            time_to_acknowledge: (&r.time_to_acknowledge).into(),
            time_to_outcome: (&r.time_to_outcome).into(),
        }
    }
}

/// Service levels over one window.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LevelWindowOut {
    /// Length, in days.
    pub days: u32,
    /// Cases requested at or after this time are in the window.
    pub since_ms: i64,
    /// Every case in the window.
    pub total: LevelRowOut,
    /// Per platform.
    pub platforms: Vec<LevelRowOut>,
    /// Per requesting node.
    pub countries: Vec<LevelRowOut>,
}

impl From<&LevelWindow> for LevelWindowOut {
    fn from(w: &LevelWindow) -> LevelWindowOut {
        LevelWindowOut {
            days: w.days,
            since_ms: w.since_ms,
            total: (&w.total).into(),
            platforms: w.platforms.iter().map(Into::into).collect(),
            countries: w.countries.iter().map(Into::into).collect(),
        }
    }
}

/// Service levels over 7, 30 and 90 days.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ServiceLevelsOut {
    /// When they were computed.
    pub at_ms: i64,
    /// One per window, shortest first.
    pub windows: Vec<LevelWindowOut>,
}

impl From<&ServiceLevels> for ServiceLevelsOut {
    fn from(s: &ServiceLevels) -> ServiceLevelsOut {
        ServiceLevelsOut { at_ms: s.at_ms, windows: s.windows.iter().map(Into::into).collect() }
    }
}

/// Service levels.
///
/// Time to acknowledge and time to outcome of every case held (this node's
/// and its peers'), per platform and per requesting node, over 7, 30 and 90
/// days. A platform token's figures count only the cases addressed to it;
/// cases above the token's TLP ceiling are not counted.
#[utoipa::path(
    get,
    path = "/api/v1/takedowns/stats",
    tag = "takedowns",
    operation_id = "takedown_stats",
    responses(
        (status = 200, description = "Service levels", body = ServiceLevelsOut),
        InputErrors,
        AccessErrors,
    ),
    security(("bearer" = []))
)]
pub async fn stats(State(api): State<Arc<Api>>, caller: Caller, RawQuery(raw): RawQuery) -> Result<Response, Problem> {
    let session = caller.authorize(&api.node, Operation::ReadTakedowns, 1).await?;
    Query::parse(raw.as_deref(), &[])?;
    let node = api.node.clone();
    let cases = tokio::task::spawn_blocking(move || node.all_cases(None))
        .await
        .map_err(|e| Problem::internal(&e.to_string()))??;
    let scope = session.scope();
    let bound = session.principal.platform();
    let cases: Vec<Case> = cases
        .into_iter()
        .filter(|c| bound.is_none_or(|p| c.platform == p) && c.tlp <= scope.max_tlp && scope.may_see_kind(c.kind))
        .collect();
    let levels = takedown::service_levels(&cases, now_ms());
    Ok(json(StatusCode::OK, &ServiceLevelsOut::from(&levels)))
}
