//! `/console/`: what is held and what is active. Counts by kind and origin
//! (the node's counters) and by category (over the newest
//! [`CATEGORY_WINDOW`] log entries), new log entries over the last 7 days
//! as a bar chart, peers with their link state and lag, open review items,
//! overdue takedowns; each section only for a role that may read it.
//!
//! The 7-day chart costs a few dozen point reads whatever the store's size:
//! each day's first log position is found by bisecting the log on the
//! entries' signing time, so an entry signed long before it arrived (a
//! peer's backlog) counts on the day the log reached it only
//! approximately.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};

use super::i18n::Msg;
use super::layout::{self, Nav};
use super::{Console, Fail, Req, User, blocking};
use crate::access::{Operation, Scope};
use crate::envelope::Entry;
use crate::model::{Category, UnixMillis, now_ms};
use crate::node::{Node, StatusReport};
use crate::store::{StoreError, Tables};
use crate::takedown::{Case, CaseFilter, CaseState};

/// Log entries the category counts are taken over.
pub const CATEGORY_WINDOW: u64 = 2_000;

const DAY_MS: i64 = 86_400_000;

/// The first log position at or after `at` (by signing time), in
/// `1..=head + 1`.
fn first_at(node: &Node, head: u64, at: UnixMillis) -> Result<u64, StoreError> {
    let (mut lo, mut hi) = (1u64, head + 1);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let t = node.store().log_entry(mid)?.map_or(UnixMillis::MAX, |e| e.body.created_at_ms);
        if t < at { lo = mid + 1 } else { hi = mid }
    }
    Ok(lo)
}

/// New log entries per UTC day over the last 7 days (today last).
///
/// # Errors
///
/// Store failures.
pub fn arrivals(node: &Node, now: UnixMillis) -> Result<Vec<(String, u64)>, StoreError> {
    let head = node.store().log_head()?;
    let today = now - now.rem_euclid(DAY_MS);
    let mut bounds = Vec::with_capacity(8);
    for k in (0..7).rev() {
        bounds.push(first_at(node, head, today - k * DAY_MS)?);
    }
    bounds.push(head + 1);
    let mut out = Vec::with_capacity(7);
    for (i, pair) in bounds.windows(2).enumerate() {
        let day = today - (6 - i as i64) * DAY_MS;
        let at = std::time::UNIX_EPOCH + std::time::Duration::from_millis(u64::try_from(day).unwrap_or(0));
        let label = humantime::format_rfc3339_seconds(at).to_string().get(5..10).unwrap_or("").to_string();
        out.push((label, pair[1].saturating_sub(pair[0])));
    }
    Ok(out)
}

/// Indicators per category over the newest [`CATEGORY_WINDOW`] log
/// entries a token of `scope` may see.
///
/// # Errors
///
/// Store failures.
pub fn categories(node: &Node, scope: &Scope) -> Result<Vec<(Category, u64)>, StoreError> {
    let head = node.store().log_head()?;
    let hidden = node.committed().hidden();
    let mut counts: BTreeMap<Category, u64> = BTreeMap::new();
    for e in node.store().log_entries_after(head.saturating_sub(CATEGORY_WINDOW), &hidden) {
        let e = e?;
        if let Entry::Indicator(ind) = &e.body.entry
            && scope.may_see(ind.kind, ind.tlp, &ind.categories)
        {
            for c in &ind.categories {
                *counts.entry(*c).or_default() += 1;
            }
        }
    }
    let mut out: Vec<_> = counts.into_iter().collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    Ok(out)
}

/// What the home page shows.
struct Home {
    status: Option<StatusReport>,
    categories: Vec<(Category, u64)>,
    arrivals: Vec<(String, u64)>,
    review: Option<usize>,
    overdue: Option<Vec<Case>>,
}

fn gather(node: &Node, user: &User) -> Result<Home, StoreError> {
    let now = now_ms();
    let scope = user.session.scope();
    let status_ok = user.may(Operation::ReadStatus);
    let status = if status_ok { Some(node.status()?) } else { None };
    let (categories, arrivals) = if user.may(Operation::ListIndicators) {
        (categories(node, scope)?, arrivals(node, now)?)
    } else {
        (vec![], vec![])
    };
    let review = if user.may(Operation::ListReview) {
        Some(node.review_items(false)?.into_iter().filter_map(|i| i.restricted(scope)).count())
    } else {
        None
    };
    let overdue = if user.may(Operation::ManageTakedowns) {
        let filter = CaseFilter {
            own_only: true,
            platform: None,
            states: vec![CaseState::Requested, CaseState::Acknowledged],
            overdue: true,
            max_tlp: Some(scope.max_tlp),
        };
        let page = crate::node::Page { after: None, limit: 20 };
        Some(node.takedown_cases(&filter, &page)?.cases)
    } else {
        None
    };
    Ok(Home { status, categories, arrivals, review, overdue })
}

fn counts_table(lang: super::i18n::Lang, first: Msg, rows: &[(String, u64)]) -> Markup {
    html! {
        @if rows.is_empty() { p.muted { (Msg::Nothing.text(lang)) } } @else {
            div.table-wrap { table {
                thead { tr { th scope="col" { (first.text(lang)) } th.num scope="col" { (Msg::Count.text(lang)) } } }
                tbody { @for (k, n) in rows { tr { td { (k) } td.num { (n) } } } }
            } }
        }
    }
}

/// `GET /console/`.
///
/// # Errors
///
/// [`Fail`] without a session, or when the store fails.
pub async fn page(State(c): State<Arc<Console>>, req: Req) -> Result<Response, Fail> {
    let user = c.user(&req, Operation::WhoAmI).await?;
    let node = c.node().clone();
    let u = user.clone();
    let home = blocking(&req, move || gather(&node, &u)).await?;
    let lang = req.lang;
    let content = html! {
        form.lookup-box method="get" action="/console/lookup" role="search" {
            div.field {
                label for="q" { (Msg::LookupValue.text(lang)) }
                input #q type="search" name="q" autocomplete="off";
            }
            button type="submit" { (Msg::Search.text(lang)) }
        }
        div.grid {
            @if let Some(s) = &home.status {
                section.panel {
                    h2 { (Msg::CountsByKind.text(lang)) }
                    (counts_table(lang, Msg::Kind, &s.kinds.iter().map(|(k, n)| (k.to_string(), *n)).collect::<Vec<_>>()))
                }
                section.panel {
                    h2 { (Msg::CountsByOrigin.text(lang)) }
                    (counts_table(lang, Msg::Origin, &s.origins.iter().map(|o| (o.origin.clone(), o.count)).collect::<Vec<_>>()))
                }
            }
            @if user.may(Operation::ListIndicators) {
                section.panel {
                    h2 { (Msg::CountsByCategory.text(lang)) }
                    p.small.muted { (Msg::CategoriesSample.text(lang)) " (" (CATEGORY_WINDOW) ")" }
                    (counts_table(lang, Msg::Category, &home.categories.iter().map(|(k, n)| (k.to_string(), *n)).collect::<Vec<_>>()))
                }
                section.panel.wide {
                    h2 { (Msg::Arrivals7d.text(lang)) }
                    (layout::bar_chart(Msg::ArrivalsChart.text(lang), &home.arrivals))
                }
            }
            @if let Some(s) = &home.status {
                section.panel {
                    h2 { (Msg::Peers.text(lang)) }
                    @if s.peers.is_empty() { p.muted { (Msg::Nothing.text(lang)) } } @else {
                        div.table-wrap { table {
                            thead { tr {
                                th scope="col" { (Msg::Peer.text(lang)) }
                                th scope="col" { (Msg::State.text(lang)) }
                                th.num scope="col" { (Msg::Lag.text(lang)) }
                            } }
                            tbody { @for p in &s.peers { tr {
                                td { (p.node_id) }
                                td.state { (p.inbound_state) }
                                td.num { (layout::duration(p.inbound_lag_ms)) }
                            } } }
                        } }
                    }
                }
            }
            @if let Some(n) = home.review {
                section.panel {
                    h2 { (Msg::OpenReview.text(lang)) }
                    p { a href="/console/review" { strong #open-review { (n) } } }
                }
            }
            @if let Some(cases) = &home.overdue {
                section.panel {
                    h2 { (Msg::OverdueTakedowns.text(lang)) }
                    @if cases.is_empty() { p.muted { (Msg::Nothing.text(lang)) } } @else {
                        ul { @for case in cases {
                            li { span.value { (case.plain_value.as_deref().unwrap_or(&case.value)) } " — " (case.platform) " — " (Msg::Due.text(lang)) " " (layout::time(case.due_at_ms.unwrap_or(0))) }
                        } }
                    }
                }
            }
        }
    };
    Ok(c.html(&req, StatusCode::OK, layout::page(&req, &user, Nav::Home, content)))
}
