//! Logging in with a token, and out.
//!
//! The login form carries a per-visit token paired with the
//! `jaring_login` cookie (a login form posted from elsewhere is refused,
//! so nobody can log a browser into their own session). A token is checked
//! like any request ([`Node::authorize`] for `who_am_i`): refusals are
//! counted and audited; attempts are limited per client address
//! ([`super::LOGIN_RATE`]). A session keeps the token's digest
//! ([`super::session`]). Logins and logouts are audited (`console.login`,
//! `console.logout`).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::html;
use zeroize::Zeroizing;

use super::i18n::Msg;
use super::layout;
use super::session::{self, random_hex, same_secret};
use super::{Console, Fail, Form, PREFIX, Req, Why, see_other};
use crate::access::Operation;
use crate::access::credentials::digest;
use crate::audit::{AuditCategory, AuditDraft};
use crate::node::Node;
use crate::store::Batch;

/// The login form's cookie.
pub const LOGIN_COOKIE: &str = "jaring_login";

fn cookie(name: &str, value: &str, max_age_s: u64) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!(
        "{name}={value}; Path={PREFIX}/; Max-Age={max_age_s}; HttpOnly; Secure; SameSite=Strict"
    ))
    .ok()
}

async fn audit(node: &Node, actor: &str, action: &str, detail: String) {
    let draft = AuditDraft { category: AuditCategory::Access, ..AuditDraft::admin(actor, action, detail) };
    if let Err(e) = node.ledger().apply(Batch::default(), vec![draft]).await {
        tracing::warn!(error = %e, "cannot audit a console login");
    }
}

fn login_form(c: &Console, req: &Req, status: StatusCode, message: Option<Msg>) -> Response {
    let lang = req.lang;
    let Ok(nonce) = random_hex() else { return Fail { lang, why: Why::Failed }.into_response() };
    let body = layout::login_page(
        req,
        html! {
            @if let Some(m) = message { (layout::notice(m.text(lang), false)) }
            form.stack method="post" action={(PREFIX) "/login"} {
                input type="hidden" name="csrf" value=(nonce);
                div.field {
                    label for="token" { (Msg::Token.text(lang)) }
                    input #token type="password" name="token" autocomplete="off" required aria-describedby="token-help";
                    p #token-help .small.muted { (Msg::TokenHelp.text(lang)) }
                }
                div { button type="submit" { (Msg::LogIn.text(lang)) } }
            }
        },
    );
    let mut r = c.html(req, status, body);
    if let Some(v) = cookie(LOGIN_COOKIE, &nonce, 3600) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

/// `GET /console/login`: the form (or home, when already logged in).
pub async fn form(State(c): State<Arc<Console>>, req: Req) -> Response {
    if req.session_id.as_deref().and_then(|id| c.sessions().get(id)).is_some() {
        return see_other(&format!("{PREFIX}/"));
    }
    login_form(&c, &req, StatusCode::OK, None)
}

/// `POST /console/login`: checks the token, opens a session.
pub async fn submit(State(c): State<Arc<Console>>, req: Req, body: Bytes) -> Response {
    let lang = req.lang;
    let Some(form) = Form::parse(&body) else { return Fail { lang, why: Why::TooLarge }.into_response() };
    let paired = match (form.get("csrf"), req.cookie(LOGIN_COOKIE)) {
        (Some(given), Some(expected)) => same_secret(given, expected),
        _ => false,
    };
    if !paired {
        return Fail { lang, why: Why::BadForm }.into_response();
    }
    if !c.login_allowed(req.from) {
        let mut r = login_form(&c, &req, StatusCode::TOO_MANY_REQUESTS, Some(Msg::TooManyAttempts));
        r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("10"));
        return r;
    }
    let secret = Zeroizing::new(form.get("token").unwrap_or("").trim().to_string());
    let node = c.node();
    let session = match node.authorize(Some(&secret), req.from, Operation::WhoAmI, 1, None).await {
        Ok(s) => s,
        Err(_) => return login_form(&c, &req, StatusCode::UNAUTHORIZED, Some(Msg::LoginFailed)),
    };
    let Ok(opened) = c.sessions().open(digest(&secret)) else {
        return Fail { lang, why: Why::Failed }.into_response();
    };
    audit(node, &session.actor, "console.login", format!("console session from {}", req.from)).await;
    let mut r = see_other(&format!("{PREFIX}/"));
    if let Some(v) = cookie(session::COOKIE, &opened.id, c.sessions().max_age_s()) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    if let Some(v) = cookie(LOGIN_COOKIE, "", 0) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

/// `POST /console/logout`: ends the session on the server.
pub async fn logout(State(c): State<Arc<Console>>, req: Req, body: Bytes) -> Response {
    let lang = req.lang;
    let Some(active) = req.session_id.as_deref().and_then(|id| c.sessions().get(id)) else {
        return see_other(&format!("{PREFIX}/login"));
    };
    let form = Form::parse(&body).unwrap_or_default();
    if !active.csrf_matches(form.get("csrf")) {
        return Fail { lang, why: Why::BadForm }.into_response();
    }
    c.sessions().close(&active.id);
    if let Some(p) = c.node().credentials().find_digest(&active.token) {
        audit(c.node(), &p.actor(None), "console.logout", format!("console session from {}", req.from)).await;
    }
    let mut r = see_other(&format!("{PREFIX}/login"));
    if let Some(v) = cookie(session::COOKIE, "", 0) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}
