//! `/console/audit` (auditors, admins: `list_audit` and `verify_audit`):
//! the newest audit entries, filtered by category, peer and time, and (on
//! asking: `?verify=1`, it reads the whole log) the result of verifying the
//! hash chain.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use maud::html;

use super::i18n::Msg;
use super::layout::{self, Nav};
use super::{Console, Fail, Req, Why, blocking};
use crate::access::Operation;
use crate::audit::{AuditCategory, AuditEntry};
use crate::store::StoreError;
use crate::store::audit::{self as audit_store, AuditFilter, AuditVerifyError};

/// Entries a page shows.
pub const PAGE: usize = 200;

const CATEGORIES: [(&str, AuditCategory); 4] = [
    ("admin", AuditCategory::Admin),
    ("trust", AuditCategory::Trust),
    ("rejection", AuditCategory::Rejection),
    ("access", AuditCategory::Access),
];

/// The chain's state.
enum Chain {
    Ok(u64),
    Broken(u64, String),
}

/// `GET /console/audit?category=&peer=&since=`.
///
/// # Errors
///
/// [`Fail`] without a session or the role's `list_audit` and
/// `verify_audit`.
pub async fn page(State(c): State<Arc<Console>>, req: Req) -> Result<Response, Fail> {
    let user = c.user(&req, Operation::ListAudit).await?;
    let lang = req.lang;
    if !user.may(Operation::VerifyAudit) {
        return Err(Fail { lang, why: Why::Forbidden });
    }
    let category = req.param("category").and_then(|n| CATEGORIES.iter().find(|(k, _)| *k == n)).map(|(k, c)| (*k, *c));
    let peer = req.param("peer").map(str::to_string);
    let since = req
        .param("since")
        .and_then(|s| humantime::parse_rfc3339_weak(s).ok())
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok().and_then(|d| i64::try_from(d.as_millis()).ok()));
    let filter = AuditFilter { since_ms: since, peer: peer.clone(), category: category.map(|(_, c)| c), limit: PAGE };
    let node = c.node().clone();
    let verify = req.param("verify") == Some("1");
    let (entries, chain): (Vec<AuditEntry>, Option<Chain>) = blocking(&req, move || {
        let entries = audit_store::list(node.store(), &filter)?;
        let chain = if verify {
            Some(match audit_store::verify(node.store()) {
                Ok(n) => Chain::Ok(n),
                Err(AuditVerifyError::Broken(b)) => Chain::Broken(b.seq(), b.to_string()),
                Err(AuditVerifyError::Store(e)) => return Err(e),
            })
        } else {
            None
        };
        Ok::<_, StoreError>((entries, chain))
    })
    .await?;
    let content = html! {
        @match &chain {
            Some(Chain::Ok(n)) => p.notice.ok #chain role="status" { (Msg::ChainVerified.text(lang)) " (" (n) " " (Msg::EntriesChecked.text(lang)) ")." },
            Some(Chain::Broken(seq, why)) => p.notice.bad #chain role="alert" { (Msg::ChainBroken.text(lang)) " " (seq) ": " (why) },
            None => form.row method="get" action="/console/audit" {
                input type="hidden" name="verify" value="1";
                button #verify type="submit" { (Msg::VerifyChain.text(lang)) }
            },
        }
        form.row method="get" action="/console/audit" {
            div.field {
                label for="a-category" { (Msg::Category.text(lang)) }
                select #a-category name="category" {
                    option value="" { (Msg::Any.text(lang)) }
                    @for (name, _) in CATEGORIES {
                        option value=(name) selected[category.map(|(k, _)| k) == Some(name)] { (name) }
                    }
                }
            }
            div.field {
                label for="a-peer" { (Msg::Peer.text(lang)) }
                input #a-peer type="text" name="peer" value=(peer.as_deref().unwrap_or(""));
            }
            div.field {
                label for="a-since" { (Msg::Since.text(lang)) " (UTC, 2026-12-01T00:00:00)" }
                input #a-since type="text" name="since" value=(req.param("since").unwrap_or(""));
            }
            button type="submit" { (Msg::Apply.text(lang)) }
        }
        div.table-wrap { table.audit {
            thead { tr {
                th.num scope="col" { "#" }
                th scope="col" { (Msg::When.text(lang)) }
                th scope="col" { (Msg::Category.text(lang)) }
                th scope="col" { (Msg::Who.text(lang)) }
                th scope="col" { (Msg::Action.text(lang)) }
                th scope="col" { (Msg::Detail.text(lang)) }
            } }
            tbody { @for e in entries.iter().rev() { tr {
                td.num { (e.seq) }
                td { (layout::time(e.at_ms)) }
                td { (e.draft.category.as_str()) }
                td { (e.draft.actor) }
                td { (e.draft.action) }
                td.small { (e.draft.detail) @if let Some(p) = &e.draft.peer { " · " (p) } }
            } } }
        } }
    };
    Ok(c.html(&req, StatusCode::OK, layout::page(&req, &user, Nav::Audit, content)))
}
