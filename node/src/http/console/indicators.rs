//! `/console/indicators`: the current version of each indicator the token
//! may see, in log order, filtered (kind, category, origin, TLP ceiling,
//! in force, minimum score) and paged by log position
//! (`list_indicators`); `/console/indicators/{seq}`: one log entry with its
//! signature (key id, verified against the node's key ring) and the
//! versions of the indicator found walking back its origin's log down to
//! version 1 ([`MAX_WALK`] entries at most) (`get_indicator`).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::html;

use super::i18n::Msg;
use super::layout::{self, Nav};
use super::{Console, Fail, Req, Why, blocking};
use crate::access::{Operation, Scope};
use crate::envelope::Entry;
use crate::model::{Category, Kind, Tlp};
use crate::node::{ListFilter, Node};
use crate::store::{StoreError, Tables};
use crate::view::IndicatorRecord;

/// Indicators per page.
pub const PAGE: usize = 50;

/// Entries of the origin's log walked back for the version history.
pub const MAX_WALK: u64 = 2_000;

/// The scope of a listing: the token's, narrowed by the filters.
fn narrowed(scope: &Scope, tlp: Option<Tlp>, category: Option<Category>) -> Option<Scope> {
    let mut s = scope.clone();
    if let Some(t) = tlp {
        s.max_tlp = s.max_tlp.min(t);
    }
    if let Some(c) = category {
        if !s.categories.is_empty() && !s.categories.contains(&c) {
            return None;
        }
        s.categories = vec![c];
    }
    Some(s)
}

/// `GET /console/indicators?kind=&category=&origin=&tlp=&active=&min_score=&after=`.
///
/// # Errors
///
/// [`Fail`] without a session or the role's `list_indicators`.
pub async fn list(State(c): State<Arc<Console>>, req: Req) -> Result<Response, Fail> {
    let user = c.user(&req, Operation::ListIndicators).await?;
    let lang = req.lang;
    let kind: Option<Kind> = req.param("kind").and_then(|k| k.parse().ok());
    let category: Option<Category> = req.param("category").and_then(|k| k.parse().ok());
    let tlp: Option<Tlp> = req.param("tlp").and_then(|k| k.parse().ok());
    let origin = req.param("origin").map(str::to_string);
    let active = req.param("active") == Some("1");
    let min_score: u8 = req.param("min_score").and_then(|s| s.parse().ok()).unwrap_or(0).min(100);
    let after: u64 = req.param("after").and_then(|s| s.parse().ok()).unwrap_or(0);
    let records = match narrowed(user.session.scope(), tlp, category) {
        None => Vec::new(),
        Some(scope) => {
            let filter = ListFilter {
                kind,
                origin: origin.clone(),
                signed_by: None,
                after,
                limit: PAGE,
                min_score: if active { min_score.max(1) } else { min_score },
                scope: Some(scope),
            };
            let node = c.node().clone();
            blocking(&req, move || node.list(&filter)).await?
        }
    };
    let next = (records.len() == PAGE).then(|| records.last().map(|r| r.local_seq)).flatten();
    let content = html! {
        form.row method="get" action="/console/indicators" {
            div.field {
                label for="f-kind" { (Msg::Kind.text(lang)) }
                select #f-kind name="kind" {
                    option value="" { (Msg::Any.text(lang)) }
                    @for k in Kind::ALL { option value=(k.as_str()) selected[kind == Some(*k)] { (k.as_str()) } }
                }
            }
            div.field {
                label for="f-category" { (Msg::Category.text(lang)) }
                select #f-category name="category" {
                    option value="" { (Msg::Any.text(lang)) }
                    @for k in Category::ALL { option value=(k.as_str()) selected[category == Some(*k)] { (k.as_str()) } }
                }
            }
            div.field {
                label for="f-origin" { (Msg::Origin.text(lang)) }
                input #f-origin type="text" name="origin" value=(origin.as_deref().unwrap_or("")) size="8";
            }
            div.field {
                label for="f-tlp" { (Msg::TlpCeiling.text(lang)) }
                select #f-tlp name="tlp" {
                    option value="" { (Msg::Any.text(lang)) }
                    @for t in Tlp::ALL { option value=(t.as_str()) selected[tlp == Some(*t)] { (t.label()) } }
                }
            }
            div.field {
                label for="f-min" { (Msg::MinScore.text(lang)) }
                input #f-min type="number" name="min_score" min="0" max="100" value=(min_score);
            }
            div.field {
                label.check for="f-active" {
                    input #f-active type="checkbox" name="active" value="1" checked[active];
                    (Msg::Status.text(lang)) ": active"
                }
            }
            button type="submit" { (Msg::Filter.text(lang)) }
        }
        @if records.is_empty() { p.muted { (Msg::Nothing.text(lang)) } } @else {
            div.table-wrap { table.indicators {
                thead { tr {
                    th scope="col" { (Msg::Value.text(lang)) }
                    th scope="col" { (Msg::Kind.text(lang)) }
                    th scope="col" { (Msg::Origin.text(lang)) }
                    th scope="col" { (Msg::Categories.text(lang)) }
                    th.num scope="col" { (Msg::Confidence.text(lang)) }
                    th scope="col" { (Msg::Tlp.text(lang)) }
                    th.num scope="col" { (Msg::Version.text(lang)) }
                    th scope="col" { (Msg::LastSeen.text(lang)) }
                } }
                tbody { @for r in &records { tr {
                    td { a.value href={"/console/indicators/" (r.local_seq)} { (r.value) } }
                    td { (r.kind.as_str()) }
                    td { (r.origin) }
                    td { @for c in &r.categories { span.tag { (c.as_str()) } } }
                    td.num { (r.confidence) }
                    td { (layout::tlp(r.tlp)) }
                    td.num { (r.version) }
                    td { (layout::time(r.last_seen_ms)) }
                } } }
            } }
        }
        @if let Some(n) = next {
            p.pager { a rel="next" href=(layout::with_param("/console/indicators", &req.query, "after", &n.to_string())) { (Msg::NextPage.text(lang)) " →" } }
        }
    };
    Ok(c.html(&req, StatusCode::OK, layout::page(&req, &user, Nav::Indicators, content)))
}

/// One version, with its signature's check.
struct Version {
    record: IndicatorRecord,
    verified: Result<(), String>,
}

fn version(node: &Node, seq: u64) -> Result<Option<Version>, StoreError> {
    let Some(e) = node.store().log_entry(seq)? else { return Ok(None) };
    if !matches!(e.body.entry, Entry::Indicator(_)) {
        return Ok(None);
    }
    let record = node.record(seq, &e.envelope, &e.body)?;
    let verified =
        crate::signing::verify(e.envelope, &node.committed().keyring()).map(|_| ()).map_err(|e| e.to_string());
    Ok(Some(Version { record, verified }))
}

/// The entry at `seq` and every version of its indicator within
/// [`MAX_WALK`] entries of its origin's newest one, newest first.
fn history(node: &Node, seq: u64, scope: &Scope) -> Result<Option<(Version, Vec<Version>)>, StoreError> {
    if node.committed().hidden().contains(&seq) {
        return Ok(None);
    }
    let Some(this) = version(node, seq)? else { return Ok(None) };
    let r = &this.record;
    if !scope.may_see(r.kind, r.tlp, &r.categories) {
        return Ok(None);
    }
    let carried = r.keyed_hash.clone().unwrap_or_else(|| r.value.clone());
    let newest = node.store().indexed_at(r.kind, &carried, &r.origin)?.unwrap_or(seq);
    let top = match node.store().log_entry(newest)? {
        Some(e) => e.body.origin_seq.max(r.origin_seq),
        None => r.origin_seq,
    };
    let mut out = Vec::new();
    let mut s = top;
    while s >= 1 && top - s < MAX_WALK {
        // Only the indicator's own versions are decoded further and
        // verified; the others are skipped at their id.
        if let Some(oe) = node.store().origin_entry(&r.origin, s)?
            && let Some(e) = node.store().log_entry(oe.local_seq)?
            && let Entry::Indicator(ind) = &e.body.entry
            && ind.id == r.id
            && scope.may_see(ind.kind, ind.tlp, &ind.categories)
            && let Some(v) = version(node, oe.local_seq)?
        {
            let first = v.record.version <= 1;
            out.push(v);
            if first {
                // Versions count from 1: nothing older to find.
                break;
            }
        }
        s -= 1;
    }
    Ok(Some((this, out)))
}

/// `GET /console/indicators/{seq}`.
///
/// # Errors
///
/// [`Fail`] without a session or the role's `get_indicator`; 404 for an
/// entry that is not an indicator the token may see.
pub async fn detail(State(c): State<Arc<Console>>, req: Req, Path(seq): Path<String>) -> Result<Response, Fail> {
    let user = c.user(&req, Operation::GetIndicator).await?;
    let lang = req.lang;
    let missing = Fail { lang, why: Why::NotFound };
    let seq: u64 = seq.parse().map_err(|_| missing)?;
    let node = c.node().clone();
    let scope = user.session.scope().clone();
    let Some((this, versions)) = blocking(&req, move || history(&node, seq, &scope)).await? else {
        return Err(missing);
    };
    let r = &this.record;
    let content = html! {
        section.panel {
            h2 { span.tag { (r.kind.as_str()) } " " span.value { (r.value) } }
            dl.kv {
                dt { (Msg::Origin.text(lang)) } dd { (r.origin) }
                dt { "id" } dd.value { (r.id) }
                dt { (Msg::Version.text(lang)) } dd { (r.version) " (" (r.action.as_str()) ")" }
                dt { (Msg::Categories.text(lang)) } dd { @for c in &r.categories { span.tag { (c.as_str()) } } }
                dt { (Msg::Confidence.text(lang)) } dd { (r.confidence) }
                dt { (Msg::Tlp.text(lang)) } dd { (layout::tlp(r.tlp)) }
                dt { (Msg::FirstSeen.text(lang)) } dd { (layout::time(r.first_seen_ms)) }
                dt { (Msg::LastSeen.text(lang)) } dd { (layout::time(r.last_seen_ms)) }
                @if let Some(d) = &r.description { dt { (Msg::Description.text(lang)) } dd { (d) } }
                dt { (Msg::KeyId.text(lang)) } dd.value { (r.key_id) }
                dt { (Msg::Signature.text(lang)) }
                dd.signature { @match &this.verified { Ok(()) => span.outcome-stored { "✓ " (Msg::Verified.text(lang)) }, Err(e) => span.outcome-refused { (e) } } }
            }
        }
        h2 { (Msg::VersionHistory.text(lang)) }
        div.table-wrap { table.versions {
            thead { tr {
                th.num scope="col" { (Msg::Version.text(lang)) }
                th scope="col" { (Msg::When.text(lang)) }
                th scope="col" { (Msg::Action.text(lang)) }
                th.num scope="col" { (Msg::Confidence.text(lang)) }
                th scope="col" { (Msg::Tlp.text(lang)) }
                th scope="col" { (Msg::KeyId.text(lang)) }
                th scope="col" { (Msg::Signature.text(lang)) }
            } }
            tbody { @for v in &versions { tr {
                td.num { a href={"/console/indicators/" (v.record.local_seq)} { (v.record.version) } }
                td { (layout::time(v.record.created_at_ms)) }
                td { (v.record.action.as_str()) }
                td.num { (v.record.confidence) }
                td { (layout::tlp(v.record.tlp)) }
                td.value.small { (v.record.key_id) }
                td { @match &v.verified { Ok(()) => (Msg::Verified.text(lang)), Err(e) => span.outcome-refused { (e) } } }
            } } }
        } }
    };
    Ok(c.html(&req, StatusCode::OK, layout::page(&req, &user, Nav::Indicators, content)))
}
