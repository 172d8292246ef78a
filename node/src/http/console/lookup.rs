//! `/console/lookup`: one box for any value in any form (a national phone
//! number read in the node's region, a defanged URL, an e-mail address),
//! answered with the merged view as the token may see it: each origin's
//! assertion side by side (country, categories, confidence, TLP, version,
//! score), the feedback timeline, the takedown status per platform, and the
//! forms to report a sighting or a false positive (`add_feedback`) and to
//! request a takedown (`manage_takedowns`), each shown only to a role that
//! may use it.
//!
//! The box is a plain GET form; with scripts on, htmx swaps only the
//! result.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};

use super::i18n::{Lang, Msg};
use super::layout::{self, Nav};
use super::{Console, Fail, Req, User, Why, blocking, see_other};
use crate::access::Operation;
use crate::feedback::{FeedbackType, NewFeedback};
use crate::model::Kind;
use crate::node::NodeError;
use crate::takedown::{Case, NewTakedown};
use crate::view::{LookupResult, MergedView, ValueStatus};

/// A lookup as the user sees it, and the log position of each assertion
/// shown (for the link to its detail page).
struct Found {
    result: LookupResult,
    positions: HashMap<(Kind, String), u64>,
}

/// Looks `value` up as `user` may see it.
async fn find(c: &Console, req: &Req, user: &User, value: String, kind: Option<Kind>) -> Result<Found, Fail> {
    let node = c.node().clone();
    let scope = user.session.scope().clone();
    blocking(req, move || {
        let mut results = node.lookup(&[(value.clone(), kind)])?;
        let r = results.pop().unwrap_or(LookupResult { query: value, found: false, views: vec![], error: None });
        let result = scope.restrict_result(r);
        let mut positions = HashMap::new();
        for v in &result.views {
            let carried = v.keyed_hash.as_deref().unwrap_or(&v.value);
            for a in &v.assertions {
                if let Some(seq) = node.indexed_at(v.kind, carried, &a.origin)? {
                    positions.insert((v.kind, a.origin.clone()), seq);
                }
            }
        }
        Ok::<_, crate::store::StoreError>(Found { result, positions })
    })
    .await
}

fn status_name(s: ValueStatus) -> &'static str {
    match s {
        ValueStatus::Active => "active",
        ValueStatus::Expired => "expired",
        ValueStatus::Revoked => "revoked",
    }
}

fn feedback_label(t: FeedbackType) -> &'static str {
    t.as_str()
}

fn view_section(lang: Lang, user: &User, v: &MergedView, positions: &HashMap<(Kind, String), u64>, now: i64) -> Markup {
    let cases = Case::from_events(&v.feedback);
    html! {
        section.panel.view {
            h2 { span.tag { (v.kind.as_str()) } " " span.value { (v.value) } }
            dl.kv {
                dt { (Msg::Status.text(lang)) } dd.state { (status_name(v.status)) }
                dt { (Msg::Score.text(lang)) } dd { (v.score) }
                dt { (Msg::Confidence.text(lang)) } dd { (v.max_confidence) }
                dt { (Msg::Categories.text(lang)) } dd { @for c in &v.categories { span.tag { (c.as_str()) } } }
            }
            h3 { (Msg::Assertions.text(lang)) }
            div.table-wrap { table.assertions {
                thead { tr {
                    th scope="col" { (Msg::Country.text(lang)) }
                    th scope="col" { (Msg::Categories.text(lang)) }
                    th.num scope="col" { (Msg::Confidence.text(lang)) }
                    th scope="col" { (Msg::Tlp.text(lang)) }
                    th.num scope="col" { (Msg::Version.text(lang)) }
                    th.num scope="col" { (Msg::Score.text(lang)) }
                    th scope="col" { (Msg::Status.text(lang)) }
                    th scope="col" { (Msg::LastSeen.text(lang)) }
                } }
                tbody { @for a in &v.assertions { tr.assertion data-origin=(a.origin) {
                    th scope="row" {
                        @match positions.get(&(v.kind, a.origin.clone())).filter(|_| user.may(Operation::GetIndicator)) {
                            Some(seq) => a href={"/console/indicators/" (seq)} { (a.origin) },
                            None => (a.origin),
                        }
                    }
                    td { @for c in &a.categories { span.tag { (c.as_str()) } } }
                    td.num { (a.confidence) }
                    td { (layout::tlp(a.tlp)) }
                    td.num { (a.version) }
                    td.num { (a.score) }
                    td { (status_name(a.status)) }
                    td { (layout::time(a.last_seen_ms)) }
                } } }
            } }
            h3 { (Msg::FeedbackTimeline.text(lang)) }
            @if v.feedback.is_empty() { p.muted { (Msg::Nothing.text(lang)) } } @else {
                ol.timeline { @for e in &v.feedback {
                    li {
                        (layout::time(e.observed_at_ms)) " — " strong { (feedback_label(e.feedback_type)) }
                        " · " (e.reporter)
                        @if let Some(p) = &e.platform { " · " (p) }
                        @if let Some(a) = &e.action_taken { " · " (a) }
                        @if let Some(r) = &e.reason { " · " (r) }
                        @if let Some(n) = &e.note { " · " em { (n) } }
                        " " (layout::tlp(e.tlp))
                    }
                } }
            }
            h3 { (Msg::TakedownStatus.text(lang)) }
            @if cases.is_empty() { p.muted { (Msg::Nothing.text(lang)) } } @else {
                div.table-wrap { table.cases {
                    thead { tr {
                        th scope="col" { (Msg::Platform.text(lang)) }
                        th scope="col" { (Msg::State.text(lang)) }
                        th scope="col" { (Msg::Requested.text(lang)) }
                        th scope="col" { (Msg::Due.text(lang)) }
                        th scope="col" { (Msg::Origin.text(lang)) }
                    } }
                    tbody { @for case in &cases { tr {
                        td { (case.platform) }
                        td.state {
                            (case.state.as_str())
                            @if case.is_overdue(now) { " " span.overdue { (Msg::Overdue.text(lang)) } }
                        }
                        td { (layout::time(case.requested_at_ms)) }
                        td { (layout::time(case.due_at_ms.unwrap_or(0))) }
                        td { (case.id.origin) }
                    } } }
                } }
            }
            (actions(lang, user, v))
        }
    }
}

fn actions(lang: Lang, user: &User, v: &MergedView) -> Markup {
    let feedback = user.may(Operation::AddFeedback);
    let takedown = user.may(Operation::ManageTakedowns);
    let id = |name: &str| format!("{name}-{}-{}", v.kind.as_str(), v.value.len());
    html! {
        @if feedback || takedown {
            div.actions {
                @if feedback {
                    form.stack method="post" action="/console/lookup/feedback" {
                        h3 { (Msg::ReportSighting.text(lang)) }
                        (layout::csrf(user))
                        input type="hidden" name="value" value=(v.value);
                        input type="hidden" name="kind" value=(v.kind.as_str());
                        input type="hidden" name="type" value="sighting";
                        div.field {
                            label for=(id("sighting-note")) { (Msg::Note.text(lang)) }
                            input id=(id("sighting-note")) type="text" name="note" maxlength="1000";
                        }
                        div { button type="submit" { (Msg::ReportSighting.text(lang)) } }
                    }
                    form.stack method="post" action="/console/lookup/feedback" {
                        h3 { (Msg::ReportFalsePositive.text(lang)) }
                        (layout::csrf(user))
                        input type="hidden" name="value" value=(v.value);
                        input type="hidden" name="kind" value=(v.kind.as_str());
                        input type="hidden" name="type" value="false_positive";
                        div.field {
                            label for=(id("fp-reason")) { (Msg::Reason.text(lang)) }
                            input id=(id("fp-reason")) type="text" name="reason" maxlength="500" required;
                        }
                        div { button.secondary type="submit" { (Msg::ReportFalsePositive.text(lang)) } }
                    }
                }
                @if takedown {
                    form.stack.takedown method="post" action="/console/lookup/takedown" {
                        h3 { (Msg::RequestTakedown.text(lang)) }
                        (layout::csrf(user))
                        input type="hidden" name="value" value=(v.value);
                        input type="hidden" name="kind" value=(v.kind.as_str());
                        div.field {
                            label for=(id("td-platform")) { (Msg::Platform.text(lang)) }
                            input id=(id("td-platform")) type="text" name="platform" maxlength="64" required;
                        }
                        div.field {
                            label for=(id("td-note")) { (Msg::Note.text(lang)) }
                            input id=(id("td-note")) type="text" name="note" maxlength="1000";
                        }
                        div { button type="submit" { (Msg::RequestTakedown.text(lang)) } }
                    }
                }
            }
        }
    }
}

fn done_message(done: Option<&str>) -> Option<Msg> {
    match done? {
        "feedback" => Some(Msg::FeedbackRecorded),
        "takedown" => Some(Msg::TakedownRequested),
        "takedown-open" => Some(Msg::TakedownAlreadyOpen),
        _ => None,
    }
}

async fn render(
    c: &Console,
    req: &Req,
    user: &User,
    q: Option<String>,
    status: StatusCode,
    notice: Option<(String, bool)>,
) -> Result<Response, Fail> {
    let lang = req.lang;
    let result = match &q {
        Some(v) => Some(find(c, req, user, v.clone(), None).await?),
        None => None,
    };
    let now = crate::model::now_ms();
    let content = html! {
        form.lookup-box method="get" action="/console/lookup" role="search"
            hx-get="/console/lookup" hx-target="#result" hx-select="#result" hx-swap="outerHTML" hx-push-url="true" {
            div.field {
                label for="q" { (Msg::LookupValue.text(lang)) }
                input #q type="search" name="q" value=(q.as_deref().unwrap_or("")) autocomplete="off" required;
            }
            button type="submit" { (Msg::Search.text(lang)) }
        }
        div #result aria-live="polite" {
            @if let Some((text, ok)) = &notice { (layout::notice(text, *ok)) }
            @if let Some(f) = &result {
                @if let Some(e) = &f.result.error { (layout::notice(e, false)) }
                @if !f.result.found { p.not-listed { (Msg::NotListed.text(lang)) } }
                @for v in &f.result.views { (view_section(lang, user, v, &f.positions, now)) }
            }
        }
    };
    Ok(c.html(req, status, layout::page(req, user, Nav::Lookup, content)))
}

/// `GET /console/lookup?q=`.
///
/// # Errors
///
/// [`Fail`] without a session or the role's `lookup_values`.
pub async fn page(State(c): State<Arc<Console>>, req: Req) -> Result<Response, Fail> {
    let user = c.user(&req, Operation::LookupValues).await?;
    let q = req.param("q").map(str::to_string);
    let notice = done_message(req.param("done")).map(|m| (m.text(req.lang).to_string(), true));
    render(&c, &req, &user, q, StatusCode::OK, notice).await
}

/// A refusal of the node shown on the lookup page (store failures are
/// [`Why::Failed`]).
async fn refused(c: &Console, req: &Req, user: &User, value: String, e: NodeError) -> Result<Response, Fail> {
    if let NodeError::Store(s) = &e {
        return Err(Fail::failed(req, s));
    }
    render(c, req, user, Some(value), StatusCode::UNPROCESSABLE_ENTITY, Some((e.to_string(), false))).await
}

fn lookup_url(value: &str, done: &str) -> String {
    let q: String =
        url::form_urlencoded::Serializer::new(String::new()).append_pair("q", value).append_pair("done", done).finish();
    format!("/console/lookup?{q}")
}

/// `POST /console/lookup/feedback`: a sighting or a false positive.
///
/// # Errors
///
/// [`Fail`] without a session, the role's `add_feedback` or the CSRF token.
pub async fn feedback(State(c): State<Arc<Console>>, req: Req, body: Bytes) -> Result<Response, Fail> {
    let user = c.user(&req, Operation::AddFeedback).await?;
    let form = c.form(&req, &user, &body)?;
    let value = form.text("value").unwrap_or_default();
    let kind: Option<Kind> = form.get("kind").and_then(|k| k.parse().ok());
    let feedback_type = match form.get("type") {
        Some("false_positive") => FeedbackType::FalsePositive,
        _ => FeedbackType::Sighting,
    };
    if !find(&c, &req, &user, value.clone(), kind).await?.result.found {
        return Err(Fail { lang: req.lang, why: Why::NotFound });
    }
    let platform = match user.session.platform(None) {
        Ok(p) => p,
        Err(_) => return Err(Fail { lang: req.lang, why: Why::Forbidden }),
    };
    let input = NewFeedback {
        value: value.clone(),
        kind,
        feedback_type,
        platform,
        action_taken: None,
        reason: form.text("reason"),
        note: form.text("note"),
        referred_to: None,
        observed_at_ms: None,
        tlp: None,
        case_ref: None,
        ceiling: Some(user.session.scope().max_tlp),
    };
    match c.node().add_feedback(input, &user.session.actor).await {
        Ok(_) => Ok(see_other(&lookup_url(&value, "feedback"))),
        Err(e) => refused(&c, &req, &user, value, e).await,
    }
}

/// `POST /console/lookup/takedown`: asks a platform to take the value down.
///
/// # Errors
///
/// [`Fail`] without a session, the role's `manage_takedowns` or the CSRF
/// token.
pub async fn takedown(State(c): State<Arc<Console>>, req: Req, body: Bytes) -> Result<Response, Fail> {
    let user = c.user(&req, Operation::ManageTakedowns).await?;
    let form = c.form(&req, &user, &body)?;
    let value = form.text("value").unwrap_or_default();
    let kind: Option<Kind> = form.get("kind").and_then(|k| k.parse().ok());
    if !find(&c, &req, &user, value.clone(), kind).await?.result.found {
        return Err(Fail { lang: req.lang, why: Why::NotFound });
    }
    let input = NewTakedown {
        value: value.clone(),
        kind,
        platform: form.text("platform").unwrap_or_default(),
        note: form.text("note"),
        ceiling: Some(user.session.scope().max_tlp),
        ..NewTakedown::default()
    };
    match c.node().request_takedown(input, &user.session.actor).await {
        Ok(r) => Ok(see_other(&lookup_url(&value, if r.created { "takedown" } else { "takedown-open" }))),
        Err(e) => refused(&c, &req, &user, value, e).await,
    }
}
