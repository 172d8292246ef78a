//! The analyst console: server-rendered HTML pages under `/console/` on the
//! HTTPS listener, for analysts, auditors, platforms and admins, in
//! English, Bahasa Indonesia and Tiếng Việt.
//!
//! # What it is
//!
//! Every page is rendered on the server with [`maud`] (templates compiled
//! into the binary, every interpolation HTML-escaped) from the same
//! [`Node`] calls the HTTP API makes; nothing is fetched at run time: the
//! stylesheet, the small script that shows times in the viewer's time zone,
//! and a vendored htmx (2.0, BSD-0 licence, in `assets/`) are compiled in
//! and served from `/console/assets/` with a year-long cache (their URLs
//! carry a hash of their content). htmx only makes the lookup box update
//! its result in place: every page and form is a plain link or form that
//! works with scripts off.
//!
//! Pages, one file each: [`home`], [`lookup`], [`indicators`], [`submit`],
//! [`review`], [`takedowns`], [`federation`], [`audit`]; [`login`] for the
//! login and logout forms. [`layout`] is the page shell (navigation,
//! language switch, TLP badges, times, the SVG chart), [`i18n`] the one
//! message catalogue, [`session`] the session table.
//!
//! # Who sees what
//!
//! A session is opened with a token (the login form) and every request is
//! authorized again with that token for the [`Operation`] the page or form
//! needs, through the same access table as the HTTP API
//! ([`crate::access`]): a page the role may not open is not in its
//! navigation and answers 403 anyway; a section of a page (the home page's
//! review count, a lookup's takedown form) is shown only when the role
//! holds its operation; every list is restricted to the token's scope (TLP
//! ceiling, kinds, categories). A token revoked or expired ends its
//! sessions at their next request.
//!
//! # Security
//!
//! - Sessions live on the server ([`session`]): a 32-byte random id in the
//!   `jaring_session` cookie (`HttpOnly; Secure; SameSite=Strict;
//!   Path=/console/; Max-Age`), an 8-hour lifetime and a 30-minute idle
//!   timeout; logout removes the session on the server.
//! - Every POST carries the session's CSRF token in a hidden field,
//!   compared in constant time; the login form a per-visit token paired
//!   with a cookie. A POST without it is answered 403.
//! - Every response sends `Content-Security-Policy: default-src 'self';
//!   frame-ancestors 'none'; form-action 'self'; base-uri 'none'` (no
//!   inline script or style anywhere), `X-Content-Type-Options: nosniff`,
//!   `Referrer-Policy: no-referrer`, `X-Frame-Options: DENY`; pages send
//!   `Cache-Control: no-store`.
//! - Failed logins are refused and audited like any refused request
//!   ([`Node::authorize`]), and limited per client address
//!   ([`LOGIN_RATE`]).

pub mod audit;
pub mod federation;
pub mod home;
pub mod i18n;
pub mod indicators;
pub mod layout;
pub mod login;
pub mod lookup;
pub mod review;
pub mod session;
pub mod submit;
pub mod takedowns;

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use maud::Markup;
use sha2::{Digest, Sha256};

use crate::access::limiter::TokenBucket;
use crate::access::{Denied, Operation, Rate, Role};
use crate::http::auth::ClientAddr;
use crate::node::Node;
use i18n::{Lang, Msg};
use session::{Active, Sessions};

/// Where the console lives.
pub const PREFIX: &str = "/console";

/// The language cookie.
pub const LANG_COOKIE: &str = "jaring_lang";

/// Failed-login attempts per client address: a burst of 10, then one a
/// second.
pub const LOGIN_RATE: Rate = Rate { per_s: 1, burst: 10 };

/// Largest form body taken (an advert pasted whole fits).
pub const MAX_FORM: usize = 256 * 1024;

/// Client addresses whose login attempts are tracked at once.
const MAX_LOGIN_CLIENTS: usize = 10_000;

/// The Content-Security-Policy of every response.
pub const CSP: &str = "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'";

/// The console's state.
#[derive(Debug)]
pub struct Console {
    node: Arc<Node>,
    sessions: Sessions,
    logins: Mutex<HashMap<IpAddr, TokenBucket>>,
}

impl Console {
    /// The console of `node`, with no session yet.
    pub fn new(node: Arc<Node>) -> Console {
        Console { node, sessions: Sessions::default(), logins: Mutex::new(HashMap::new()) }
    }

    /// The node.
    pub fn node(&self) -> &Arc<Node> {
        &self.node
    }

    /// The sessions.
    pub fn sessions(&self) -> &Sessions {
        &self.sessions
    }

    /// Takes one login attempt from `from`'s bucket.
    fn login_allowed(&self, from: IpAddr) -> bool {
        login_allowed(&self.logins, from, Instant::now())
    }

    /// The logged-in user of a request, authorized for `operation` (one
    /// unit of the token's rate).
    ///
    /// # Errors
    ///
    /// [`Why::Login`] without a live session (or when its token was revoked
    /// or expired since: then its sessions end), [`Why::Forbidden`] when
    /// the role may not, [`Why::RateLimited`].
    pub async fn user(&self, req: &Req, operation: Operation) -> Result<User, Fail> {
        let fail = |why| Fail { lang: req.lang, why };
        let active = req.session_id.as_deref().and_then(|id| self.sessions.get(id)).ok_or(fail(Why::Login))?;
        match self.node.authorize_digest(&active.token, req.from, operation, 1).await {
            Ok(session) => Ok(User { active, session }),
            Err(Denied::Role { .. } | Denied::Platform { .. }) => Err(fail(Why::Forbidden)),
            Err(Denied::RateLimited { retry_after_ms, .. }) => Err(fail(Why::RateLimited(retry_after_ms))),
            Err(_) => {
                self.sessions.close_token(&active.token);
                Err(fail(Why::Login))
            }
        }
    }

    /// The form of a POST by `user`, its CSRF field checked.
    ///
    /// # Errors
    ///
    /// [`Why::BadForm`] without this session's CSRF token, [`Why::TooLarge`].
    pub fn form(&self, req: &Req, user: &User, body: &Bytes) -> Result<Form, Fail> {
        let form = Form::parse(body).ok_or(Fail { lang: req.lang, why: Why::TooLarge })?;
        if !user.active.csrf_matches(form.get("csrf")) {
            return Err(Fail { lang: req.lang, why: Why::BadForm });
        }
        Ok(form)
    }

    /// A page: HTML, `no-store`, and the language cookie when the switch
    /// was used.
    pub fn html(&self, req: &Req, status: StatusCode, body: Markup) -> Response {
        let mut r = (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], body.into_string()).into_response();
        if let Some(lang) = req.switched
            && let Ok(v) = HeaderValue::from_str(&format!(
                "{LANG_COOKIE}={}; Path={PREFIX}/; Max-Age=31536000; Secure; SameSite=Strict",
                lang.tag()
            ))
        {
            r.headers_mut().append(header::SET_COOKIE, v);
        }
        r
    }
}

/// Takes one login attempt from `from`'s bucket at `now` (the table is
/// emptied when it tracks [`MAX_LOGIN_CLIENTS`] addresses).
fn login_allowed(logins: &Mutex<HashMap<IpAddr, TokenBucket>>, from: IpAddr, now: Instant) -> bool {
    let mut logins = logins.lock().unwrap_or_else(|p| p.into_inner());
    if logins.len() >= MAX_LOGIN_CLIENTS && !logins.contains_key(&from) {
        logins.clear();
    }
    logins.entry(from).or_insert_with(|| TokenBucket::new(LOGIN_RATE)).take(1, now).is_ok()
}

/// A logged-in user: the session and the token's authorization.
#[derive(Debug, Clone)]
pub struct User {
    /// The console session.
    pub active: Active,
    /// The token's session (principal, scope, actor).
    pub session: crate::access::Session,
}

impl User {
    /// The token's role.
    pub fn role(&self) -> Role {
        self.session.principal.role()
    }

    /// Whether the role may ask for `operation`.
    pub fn may(&self, operation: Operation) -> bool {
        self.role().may(operation.permission())
    }

    /// The session's CSRF token, for forms.
    pub fn csrf(&self) -> &str {
        &self.active.csrf
    }
}

/// Why a page is not served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    /// Not logged in (or the session ended): to the login page.
    Login,
    /// The role may not.
    Forbidden,
    /// A POST without the session's CSRF token.
    BadForm,
    /// A form body over [`MAX_FORM`] or not a form.
    TooLarge,
    /// Nothing there.
    NotFound,
    /// The token's rate: retry after this many milliseconds.
    RateLimited(u64),
    /// The node failed (a store error).
    Failed,
}

/// A refusal, in the request's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fail {
    /// The request's language.
    pub lang: Lang,
    /// Why.
    pub why: Why,
}

impl Fail {
    /// The node failed.
    pub fn failed(req: &Req, e: &impl std::fmt::Display) -> Fail {
        tracing::warn!(error = %e, "console page failed");
        Fail { lang: req.lang, why: Why::Failed }
    }
}

impl IntoResponse for Fail {
    fn into_response(self) -> Response {
        let (status, msg) = match self.why {
            Why::Login => {
                return (StatusCode::SEE_OTHER, [(header::LOCATION, format!("{PREFIX}/login"))]).into_response();
            }
            Why::Forbidden => (StatusCode::FORBIDDEN, Msg::Forbidden),
            Why::BadForm => (StatusCode::FORBIDDEN, Msg::BadForm),
            Why::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, Msg::BadForm),
            Why::NotFound => (StatusCode::NOT_FOUND, Msg::NotFound),
            Why::RateLimited(_) => (StatusCode::TOO_MANY_REQUESTS, Msg::RateLimited),
            Why::Failed => (StatusCode::INTERNAL_SERVER_ERROR, Msg::Failed),
        };
        let body = layout::bare(
            self.lang,
            msg,
            maud::html! { p.error role="alert" { (msg.text(self.lang)) } p { a href={(PREFIX) "/"} { (Msg::Home.text(self.lang)) } } },
        );
        let mut r = (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], body.into_string()).into_response();
        if let Why::RateLimited(ms) = self.why
            && let Ok(v) = HeaderValue::from_str(&ms.div_ceil(1000).max(1).to_string())
        {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
        r
    }
}

/// What every console request carries: the client, the language, the
/// session cookie, the query.
#[derive(Debug, Clone)]
pub struct Req {
    /// The client's address (the TCP peer).
    pub from: IpAddr,
    /// The language of the response.
    pub lang: Lang,
    /// Set when `?lang=` chose it (the response sets the cookie).
    pub switched: Option<Lang>,
    /// The session cookie's value.
    pub session_id: Option<String>,
    /// Every cookie, by name.
    pub cookies: Vec<(String, String)>,
    /// The query parameters.
    pub query: Vec<(String, String)>,
    /// The path.
    pub path: String,
    /// Whether the request is a GET or HEAD (a page the language switch may
    /// link to again).
    pub get: bool,
}

impl Req {
    /// The request of these headers, query and path.
    pub fn of(headers: &HeaderMap, from: IpAddr, query: Option<&str>, path: &str) -> Req {
        let cookies = cookies(headers);
        let query: Vec<(String, String)> =
            url::form_urlencoded::parse(query.unwrap_or("").as_bytes()).into_owned().take(64).collect();
        let cookie = |name: &str| cookies.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
        let switch = query.iter().find(|(k, _)| k == "lang").map(|(_, v)| v.as_str());
        let accept = headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok());
        let lang = Lang::choose(switch, cookie(LANG_COOKIE), accept);
        let switched = switch.and_then(Lang::of_tag);
        let session_id = cookie(session::COOKIE).map(str::to_string);
        Req { from, lang, switched, session_id, cookies: cookies.clone(), query, path: path.to_string(), get: true }
    }

    /// A query parameter (empty ones are absent).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim()).filter(|v| !v.is_empty())
    }

    /// A cookie.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// The cookies of a request (`Cookie: a=1; b=2`, every header).
fn cookies(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .take(32)
        .collect()
}

impl<S: Send + Sync> FromRequestParts<S> for Req {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Req, Self::Rejection> {
        let from = parts.extensions.get::<ClientAddr>().map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |a| a.0.ip());
        let mut req = Req::of(&parts.headers, from, parts.uri.query(), parts.uri.path());
        req.get = parts.method == axum::http::Method::GET || parts.method == axum::http::Method::HEAD;
        Ok(req)
    }
}

/// A form body (`application/x-www-form-urlencoded`).
#[derive(Debug, Clone, Default)]
pub struct Form(Vec<(String, String)>);

impl Form {
    /// Parses a body of at most [`MAX_FORM`] bytes.
    pub fn parse(body: &[u8]) -> Option<Form> {
        if body.len() > MAX_FORM {
            return None;
        }
        Some(Form(url::form_urlencoded::parse(body).into_owned().take(2048).collect()))
    }

    /// A field (the first of its name).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// A field, trimmed; empty ones are absent.
    pub fn text(&self, name: &str) -> Option<String> {
        self.get(name).map(str::trim).filter(|v| !v.is_empty()).map(str::to_string)
    }

    /// Every value of a field (checkboxes).
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str()).collect()
    }
}

/// A compiled-in asset.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

const ASSETS: &[Asset] = &[
    Asset { name: "console.css", content_type: "text/css; charset=utf-8", bytes: include_bytes!("assets/console.css") },
    Asset {
        name: "console.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("assets/console.js"),
    },
    Asset {
        name: "htmx.min.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("assets/htmx.min.js"),
    },
    Asset {
        name: "htmx.LICENSE",
        content_type: "text/plain; charset=utf-8",
        bytes: include_bytes!("assets/htmx.LICENSE"),
    },
];

/// Each asset's content hash (16 hex digits), for cache-busting URLs.
static ASSET_HASHES: LazyLock<Vec<String>> =
    LazyLock::new(|| ASSETS.iter().map(|a| hex::encode(&Sha256::digest(a.bytes)[..8])).collect());

/// The URL of an asset, with its content hash.
pub fn asset_url(name: &str) -> String {
    let hash = ASSETS.iter().position(|a| a.name == name).and_then(|i| ASSET_HASHES.get(i)).map_or("", String::as_str);
    format!("{PREFIX}/assets/{name}?v={hash}")
}

async fn asset(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|a| a.name == name) {
        Some(a) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, a.content_type), (header::CACHE_CONTROL, "public, max-age=31536000, immutable")],
            a.bytes,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// The headers of every console response.
async fn secure_headers(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    r
}

async fn not_found(req: Req) -> Fail {
    Fail { lang: req.lang, why: Why::NotFound }
}

/// The console's routes over `node`, to merge into the HTTPS listener's
/// router.
pub fn router(node: Arc<Node>) -> Router {
    let console = Arc::new(Console::new(node));
    Router::new()
        .route(PREFIX, get(|| async { (StatusCode::PERMANENT_REDIRECT, [(header::LOCATION, "/console/")]) }))
        .route("/console/", get(home::page))
        .route("/console/login", get(login::form).post(login::submit))
        .route("/console/logout", post(login::logout))
        .route("/console/lookup", get(lookup::page))
        .route("/console/lookup/feedback", post(lookup::feedback))
        .route("/console/lookup/takedown", post(lookup::takedown))
        .route("/console/indicators", get(indicators::list))
        .route("/console/indicators/{id}", get(indicators::detail))
        .route("/console/submit", get(submit::page).post(submit::one))
        .route("/console/submit/extract", post(submit::extract))
        .route("/console/submit/publish", post(submit::publish))
        .route("/console/review", get(review::page))
        .route("/console/review/{seq}", post(review::decide))
        .route("/console/takedowns", get(takedowns::page))
        .route("/console/federation", get(federation::page))
        .route("/console/audit", get(audit::page))
        .route("/console/assets/{name}", get(asset))
        .route("/console/{*rest}", get(not_found).post(not_found))
        .with_state(console)
        .layer(axum::middleware::map_response(secure_headers))
}

/// Runs a store read on the blocking pool.
///
/// # Errors
///
/// [`Why::Failed`] when the read fails or its task is lost.
pub async fn blocking<T: Send + 'static, E: std::fmt::Display + Send + 'static>(
    req: &Req,
    f: impl FnOnce() -> Result<T, E> + Send + 'static,
) -> Result<T, Fail> {
    match tokio::task::spawn_blocking(f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(Fail::failed(req, &e)),
        Err(e) => Err(Fail::failed(req, &e)),
    }
}

/// A redirect after a POST (303, to a GET).
pub fn see_other(to: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, to.to_string())]).into_response()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn requests_read_their_language_session_and_query() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_static("jaring_lang=id; jaring_session=abc"));
        h.insert(header::ACCEPT_LANGUAGE, HeaderValue::from_static("vi"));
        let r = Req::of(&h, IpAddr::V4(Ipv4Addr::LOCALHOST), Some("q=0812%203456&lang="), "/console/lookup");
        assert_eq!(r.lang, Lang::Id, "the cookie over the header; an empty switch is no switch");
        assert_eq!(r.switched, None);
        assert_eq!(r.session_id.as_deref(), Some("abc"));
        assert_eq!(r.param("q"), Some("0812 3456"));
        assert_eq!(r.param("lang"), None);
        let r = Req::of(&h, IpAddr::V4(Ipv4Addr::LOCALHOST), Some("lang=vi"), "/console/");
        assert_eq!((r.lang, r.switched), (Lang::Vi, Some(Lang::Vi)));
    }

    #[test]
    fn forms_keep_every_checkbox_and_refuse_large_bodies() {
        let f = Form::parse(b"csrf=x&pick=1&pick=3&note=+a+b+").unwrap();
        assert_eq!(f.all("pick"), ["1", "3"]);
        assert_eq!(f.text("note").as_deref(), Some("a b"));
        assert_eq!(f.text("none"), None);
        assert!(Form::parse(&vec![b'a'; MAX_FORM + 1]).is_none());
    }

    #[test]
    fn login_attempts_are_limited_per_client_address() {
        let logins = Mutex::new(HashMap::new());
        // After the buckets' own creation time (they start full then).
        let t0 = Instant::now() + std::time::Duration::from_secs(5);
        let a = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
        let b = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));
        for i in 0..LOGIN_RATE.burst {
            assert!(login_allowed(&logins, a, t0), "attempt {i}");
        }
        assert!(!login_allowed(&logins, a, t0), "the burst is spent");
        assert!(login_allowed(&logins, b, t0), "another address has its own bucket");
        assert!(login_allowed(&logins, a, t0 + std::time::Duration::from_secs(1)), "one more a second");
        assert!(!login_allowed(&logins, a, t0 + std::time::Duration::from_secs(1)));
    }

    #[test]
    fn asset_urls_carry_their_content_hash() {
        let u = asset_url("console.css");
        assert!(u.starts_with("/console/assets/console.css?v="), "{u}");
        assert_eq!(u.len(), "/console/assets/console.css?v=".len() + 16);
    }

    #[test]
    fn refusals_answer_their_status_and_the_login_redirect() {
        let r = Fail { lang: Lang::En, why: Why::Login }.into_response();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(r.headers().get(header::LOCATION).unwrap(), "/console/login");
        assert_eq!(Fail { lang: Lang::Vi, why: Why::Forbidden }.into_response().status(), StatusCode::FORBIDDEN);
        assert_eq!(Fail { lang: Lang::Id, why: Why::BadForm }.into_response().status(), StatusCode::FORBIDDEN);
        let r = Fail { lang: Lang::En, why: Why::RateLimited(1500) }.into_response();
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(r.headers().get(header::RETRY_AFTER).unwrap(), "2");
    }
}
