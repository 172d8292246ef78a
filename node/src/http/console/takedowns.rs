//! `/console/takedowns`: the takedown cases held (this node's and its
//! peers'), at most the token's TLP ceiling, grouped by state, overdue ones
//! first, filtered by platform and state; and each platform's time to
//! outcome over the last 30 days (`manage_takedowns`).

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use maud::html;

use super::i18n::Msg;
use super::layout::{self, Nav};
use super::{Console, Fail, Req, blocking};
use crate::access::Operation;
use crate::model::now_ms;
use crate::node::Page;
use crate::takedown::{Case, CaseFilter, CaseState, LevelRow};

/// Most cases on the board (the node's largest page).
pub const BOARD_MAX: usize = 1000;

/// `GET /console/takedowns?platform=&state=`.
///
/// # Errors
///
/// [`Fail`] without a session or the role's `manage_takedowns`.
pub async fn page(State(c): State<Arc<Console>>, req: Req) -> Result<Response, Fail> {
    let user = c.user(&req, Operation::ManageTakedowns).await?;
    let lang = req.lang;
    let platform = req.param("platform").map(|p| p.to_ascii_lowercase());
    let state: Option<CaseState> = req.param("state").and_then(|s| s.parse().ok());
    let filter = CaseFilter {
        own_only: false,
        platform: platform.clone(),
        states: state.into_iter().collect(),
        overdue: false,
        max_tlp: Some(user.session.scope().max_tlp),
    };
    let node = c.node().clone();
    let now = now_ms();
    let (mut cases, levels): (Vec<Case>, Vec<LevelRow>) = blocking(&req, move || {
        let cases = node.takedown_cases(&filter, &Page { after: None, limit: BOARD_MAX })?.cases;
        let levels = node
            .takedown_stats(now)?
            .windows
            .into_iter()
            .find(|w| w.days == 30)
            .map(|w| w.platforms)
            .unwrap_or_default();
        Ok::<_, crate::store::StoreError>((cases, levels))
    })
    .await?;
    cases.sort_by_key(|c| (!c.is_overdue(now), c.due_at_ms.unwrap_or(i64::MAX), c.requested_at_ms));
    let content = html! {
        form.row method="get" action="/console/takedowns" {
            div.field {
                label for="f-platform" { (Msg::Platform.text(lang)) }
                input #f-platform type="text" name="platform" value=(platform.as_deref().unwrap_or(""));
            }
            div.field {
                label for="f-state" { (Msg::State.text(lang)) }
                select #f-state name="state" {
                    option value="" { (Msg::Any.text(lang)) }
                    @for s in CaseState::ALL {
                        option value=(s.as_str()) selected[state == Some(*s)] { (s.as_str()) }
                    }
                }
            }
            button type="submit" { (Msg::Filter.text(lang)) }
        }
        h2 { (Msg::Board.text(lang)) }
        @if cases.is_empty() { p.muted { (Msg::Nothing.text(lang)) } }
        @for s in CaseState::ALL {
            @let in_state: Vec<&Case> = cases.iter().filter(|c| c.state == *s).collect();
            @if !in_state.is_empty() {
                section.panel.board data-state=(s.as_str()) {
                    h3 { (s.as_str()) " (" (in_state.len()) ")" }
                    div.table-wrap { table {
                        thead { tr {
                            th scope="col" { (Msg::Value.text(lang)) }
                            th scope="col" { (Msg::Platform.text(lang)) }
                            th scope="col" { (Msg::Requested.text(lang)) }
                            th scope="col" { (Msg::Due.text(lang)) }
                            th scope="col" { (Msg::Origin.text(lang)) }
                            th scope="col" { (Msg::Tlp.text(lang)) }
                        } }
                        tbody { @for case in in_state { tr.case {
                            td { span.tag { (case.kind.as_str()) } " " span.value { (case.plain_value.as_deref().unwrap_or(&case.value)) } }
                            td { (case.platform) }
                            td { (layout::time(case.requested_at_ms)) }
                            td {
                                (layout::time(case.due_at_ms.unwrap_or(0)))
                                @if case.is_overdue(now) { " " span.overdue { (Msg::Overdue.text(lang)) } }
                            }
                            td { (case.id.origin) }
                            td { (layout::tlp(case.tlp)) }
                        } } }
                    } }
                }
            }
        }
        h2 { (Msg::TimeToOutcome.text(lang)) }
        @if levels.is_empty() { p.muted { (Msg::Nothing.text(lang)) } } @else {
            div.table-wrap { table {
                thead { tr {
                    th scope="col" { (Msg::Platform.text(lang)) }
                    th.num scope="col" { (Msg::Requested.text(lang)) }
                    th.num scope="col" { (Msg::Open.text(lang)) }
                    th.num scope="col" { (Msg::Actioned.text(lang)) }
                    th.num scope="col" { (Msg::Median.text(lang)) }
                } }
                tbody { @for r in &levels { tr {
                    td { (r.key) }
                    td.num { (r.requested) }
                    td.num { (r.open) }
                    td.num { (r.actioned) }
                    td.num { @if let Some(m) = r.time_to_outcome.median_ms { (layout::duration(m)) } @else { "—" } }
                } } }
            } }
        }
    };
    Ok(c.html(&req, StatusCode::OK, layout::page(&req, &user, Nav::Takedowns, content)))
}
