//! `/console/federation`: each peer's link (state, trust, cursor against
//! the peer's head, last contact, lag, last error) and the envelopes
//! refused from it in the last 24 hours (`read_status`); the sharing
//! agreements, read-only, for a role that may list peers (`list_peers`).

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use maud::html;

use super::i18n::Msg;
use super::layout::{self, Nav};
use super::{Console, Fail, Req, blocking};
use crate::access::Operation;
use crate::audit::AuditCategory;
use crate::model::now_ms;
use crate::node::StatusReport;
use crate::peers::Peer;
use crate::store::StoreError;
use crate::store::audit::{self as audit_store, AuditFilter};

/// Most refusals counted per peer.
pub const MAX_REJECTIONS: usize = 10_000;

/// `GET /console/federation`.
///
/// # Errors
///
/// [`Fail`] without a session or the role's `read_status`.
pub async fn page(State(c): State<Arc<Console>>, req: Req) -> Result<Response, Fail> {
    let user = c.user(&req, Operation::ReadStatus).await?;
    let lang = req.lang;
    let agreements = user.may(Operation::ListPeers);
    let node = c.node().clone();
    let (status, rejections, peers): (StatusReport, Vec<usize>, Vec<Peer>) = blocking(&req, move || {
        let status = node.status()?;
        let since = now_ms() - 86_400_000;
        let mut rejections = Vec::with_capacity(status.peers.len());
        for p in &status.peers {
            let filter = AuditFilter {
                since_ms: Some(since),
                peer: Some(p.node_id.clone()),
                category: Some(AuditCategory::Rejection),
                limit: MAX_REJECTIONS,
            };
            rejections.push(audit_store::list(node.store(), &filter)?.len());
        }
        let peers = if agreements { node.peers() } else { Vec::new() };
        Ok::<_, StoreError>((status, rejections, peers))
    })
    .await?;
    let content = html! {
        h2 { (Msg::Peers.text(lang)) }
        @if status.peers.is_empty() { p.muted { (Msg::Nothing.text(lang)) } } @else {
            div.table-wrap { table.peers {
                thead { tr {
                    th scope="col" { (Msg::Peer.text(lang)) }
                    th scope="col" { (Msg::Trust.text(lang)) }
                    th scope="col" { (Msg::State.text(lang)) }
                    th.num scope="col" { (Msg::CursorHead.text(lang)) }
                    th scope="col" { (Msg::LastContact.text(lang)) }
                    th.num scope="col" { (Msg::Lag.text(lang)) }
                    th.num scope="col" { (Msg::Rejections24h.text(lang)) }
                    th scope="col" { (Msg::Detail.text(lang)) }
                } }
                tbody { @for (p, rejected) in status.peers.iter().zip(&rejections) { tr {
                    td { (p.node_id) }
                    td { (p.trust.as_str()) }
                    td.state { (p.inbound_state) }
                    td.num { (p.inbound_cursor) " / " (p.inbound_head) }
                    td { (layout::time(p.last_contact_ms)) }
                    td.num { (layout::duration(p.inbound_lag_ms)) }
                    td.num { (rejected) }
                    td.small { (p.last_error) }
                } } }
            } }
        }
        @if agreements {
            h2 { (Msg::Agreements.text(lang)) }
            @if peers.is_empty() { p.muted { (Msg::Nothing.text(lang)) } } @else {
                div.table-wrap { table {
                    thead { tr {
                        th scope="col" { (Msg::Peer.text(lang)) }
                        th scope="col" { (Msg::Outbound.text(lang)) }
                        th scope="col" { (Msg::Inbound.text(lang)) }
                    } }
                    tbody { @for p in &peers { tr {
                        td { (p.node_id()) }
                        td {
                            (Msg::Kind.text(lang)) ": "
                            @if p.outbound.kinds.is_empty() { (Msg::Any.text(lang)) } @else { @for k in &p.outbound.kinds { span.tag { (k.as_str()) } } }
                            br; (layout::tlp(p.outbound.max_tlp))
                            br; (Msg::Categories.text(lang)) ": "
                            @if p.outbound.categories.is_empty() { (Msg::Any.text(lang)) } @else { @for c in &p.outbound.categories { span.tag { (c.as_str()) } } }
                            br; "relay: " (p.outbound.relay)
                        }
                        td {
                            (Msg::Kind.text(lang)) ": "
                            @if p.inbound.kinds.is_empty() { (Msg::Any.text(lang)) } @else { @for k in &p.inbound.kinds { span.tag { (k.as_str()) } } }
                            br; (Msg::Confidence.text(lang)) " ≥ " (p.inbound.min_confidence)
                        }
                    } } }
                } }
            }
        }
    };
    Ok(c.html(&req, StatusCode::OK, layout::page(&req, &user, Nav::Federation, content)))
}
