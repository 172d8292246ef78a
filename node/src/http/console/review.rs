//! `/console/review`: entries held for review (from `review`-trust peers,
//! outside an inbound agreement, or on a local allowlist) as the token may
//! see them, each with what is already held about its value, and a form to
//! accept or reject it with a note (`decide_review`).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::html;

use super::i18n::Msg;
use super::layout::{self, Nav};
use super::{Console, Fail, Req, User, Why, blocking, see_other};
use crate::access::Operation;
use crate::node::{NodeError, ReviewItem};

async fn items(c: &Console, req: &Req, user: &User) -> Result<Vec<ReviewItem>, Fail> {
    let node = c.node().clone();
    let scope = user.session.scope().clone();
    blocking(req, move || {
        node.review_items(false).map(|all| all.into_iter().filter_map(|i| i.restricted(&scope)).collect())
    })
    .await
}

async fn render(
    c: &Console,
    req: &Req,
    user: &User,
    status: StatusCode,
    notice: Option<(String, bool)>,
) -> Result<Response, Fail> {
    let lang = req.lang;
    let items = items(c, req, user).await?;
    let decide = user.may(Operation::DecideReview);
    let content = html! {
        @if let Some((t, ok)) = &notice { (layout::notice(t, *ok)) }
        @if items.is_empty() { p.muted #review-empty { (Msg::Nothing.text(lang)) } } @else {
            div.table-wrap { table.review {
                thead { tr {
                    th scope="col" { (Msg::Value.text(lang)) }
                    th scope="col" { (Msg::Peer.text(lang)) }
                    th scope="col" { (Msg::Reason.text(lang)) }
                    th scope="col" { (Msg::Received.text(lang)) }
                    th scope="col" { (Msg::AlreadyHeld.text(lang)) }
                    @if decide { th scope="col" { (Msg::Action.text(lang)) } }
                } }
                tbody { @for i in &items { tr #{"item-" (i.local_seq)} {
                    td {
                        @if let Some(ind) = &i.indicator {
                            span.tag { (ind.kind.as_str()) } " " span.value { (ind.value) } " " (layout::tlp(ind.tlp))
                            br; @for cat in &ind.categories { span.tag { (cat.as_str()) } }
                        } @else { "#" (i.local_seq) }
                    }
                    td { (i.record.peer) }
                    td { (i.record.reason) }
                    td { (layout::time(i.record.received_at_ms)) }
                    td { @if let Some(v) = &i.view { @for a in &v.assertions { span.tag { (a.origin) } } } }
                    @if decide { td {
                        form.stack method="post" action={"/console/review/" (i.local_seq)} {
                            (layout::csrf(user))
                            div.field {
                                label for={"note-" (i.local_seq)} { (Msg::Note.text(lang)) }
                                input id={"note-" (i.local_seq)} type="text" name="note" maxlength="1000";
                            }
                            div {
                                button type="submit" name="decision" value="accept" { (Msg::Accept.text(lang)) }
                                " "
                                button.secondary type="submit" name="decision" value="reject" { (Msg::Reject.text(lang)) }
                            }
                        }
                    } }
                } } }
            } }
        }
    };
    Ok(c.html(req, status, layout::page(req, user, Nav::Review, content)))
}

/// `GET /console/review`.
///
/// # Errors
///
/// [`Fail`] without a session or the role's `list_review`.
pub async fn page(State(c): State<Arc<Console>>, req: Req) -> Result<Response, Fail> {
    let user = c.user(&req, Operation::ListReview).await?;
    let notice = (req.param("done") == Some("1")).then(|| (Msg::Decided.text(req.lang).to_string(), true));
    render(&c, &req, &user, StatusCode::OK, notice).await
}

/// `POST /console/review/{seq}`: accept or reject.
///
/// # Errors
///
/// [`Fail`] without a session, the role's `decide_review` or the CSRF
/// token; 404 for an entry the token may not see.
pub async fn decide(
    State(c): State<Arc<Console>>,
    req: Req,
    Path(seq): Path<String>,
    body: Bytes,
) -> Result<Response, Fail> {
    let user = c.user(&req, Operation::DecideReview).await?;
    let form = c.form(&req, &user, &body)?;
    let missing = Fail { lang: req.lang, why: Why::NotFound };
    let seq: u64 = seq.parse().map_err(|_| missing)?;
    let accept = match form.get("decision") {
        Some("accept") => true,
        Some("reject") => false,
        _ => {
            return render(
                &c,
                &req,
                &user,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(("decision: accept or reject".into(), false)),
            )
            .await;
        }
    };
    if !items(&c, &req, &user).await?.iter().any(|i| i.local_seq == seq) {
        return Err(missing);
    }
    let note = form.text("note").unwrap_or_default();
    match c.node().decide(seq, accept, &note, &user.session.actor).await {
        Ok(_) => Ok(see_other("/console/review?done=1")),
        Err(NodeError::Store(e)) => Err(Fail::failed(&req, &e)),
        Err(e) => render(&c, &req, &user, StatusCode::CONFLICT, Some((e.to_string(), false))).await,
    }
}
