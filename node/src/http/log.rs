//! The transparency log on the HTTPS listener, under `/log/`, exactly as
//! C2SP tlog-tiles lays it out, and a C2SP tlog-witness `add-checkpoint`.
//!
//! | path | what | who |
//! |---|---|---|
//! | `GET /log/checkpoint` | the latest checkpoint with its cosignatures (`text/plain; charset=utf-8`, cached 2 s) | anyone |
//! | `GET /log/tile/<L>/<N>[.p/<W>]` | hash tiles (`application/octet-stream`, immutable) | anyone |
//! | `GET /log/tile/entries/<N>[.p/<W>]` | entry bundles: every envelope of the range | [`may_read_every_entry`] |
//! | `POST /log/add-checkpoint` | this node as a witness of its peers' logs | anyone (the checkpoint's signature is the check) |
//!
//! Hashes are public: a leaf hash covers an envelope with the origin's
//! ed25519 signature in it, which nobody else can produce, so a hash lets no
//! one test a guess. An entry bundle holds every envelope of 256 positions,
//! whatever its TLP, distribution or review state (a bundle with holes
//! would not match its tile), so only a holder allowed to read every entry
//! gets one; everyone else proves single entries with `jaring log prove`.

// Handlers return a ready `Response` as their error.
#![allow(clippy::result_large_err)]

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use super::tokens::TokenStore;
use crate::admin::AdminAuth;
use crate::model::Tlp;
use crate::node::{AddCheckpointError, Node};
use crate::tlog::tile::{TileId, TileKind};
use crate::tlog::witness::{self, Refusal};

/// The prefix the log is served under.
pub const PREFIX: &str = "/log";

/// Largest `add-checkpoint` body accepted (63 proof lines and a checkpoint
/// with a hundred signatures fit in a quarter of it).
pub const MAX_ADD_CHECKPOINT_BYTES: usize = 64 * 1024;

/// `Cache-Control` of the checkpoint: mutable, a few seconds at most.
const CHECKPOINT_CACHE: &str = "public, max-age=2";
/// `Cache-Control` of tiles and bundles: immutable.
const TILE_CACHE: &str = "public, max-age=31536000, immutable";

/// Shared state of the `/log/` routes.
#[derive(Debug)]
pub struct LogState {
    node: Arc<Node>,
    tokens: TokenStore,
    admin: Option<AdminAuth>,
}

/// The `/log/` routes.
pub fn routes(node: Arc<Node>) -> Router {
    let config = node.config();
    let admin = AdminAuth::load(&config.resolve(&config.paths.admin_token))
        .inspect_err(|e| tracing::warn!(error = %e, "no admin token for /log/ entry bundles"))
        .ok();
    let state = Arc::new(LogState { tokens: TokenStore::new(super::tokens::path(config)), admin, node });
    Router::new()
        .route(&format!("{PREFIX}/checkpoint"), get(checkpoint))
        .route(&format!("{PREFIX}/tile/{{*rest}}"), get(tile))
        .route(
            &format!("{PREFIX}/add-checkpoint"),
            post(add_checkpoint).layer(DefaultBodyLimit::max(MAX_ADD_CHECKPOINT_BYTES)),
        )
        .with_state(state)
}

fn text(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response()
}

fn not_found(what: &str) -> Response {
    text(StatusCode::NOT_FOUND, format!("{what}\n"))
}

fn internal(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "serving /log/");
    text(StatusCode::INTERNAL_SERVER_ERROR, "internal error\n".into())
}

async fn checkpoint(State(s): State<Arc<LogState>>) -> Response {
    let Some(cp) = s.node.checkpoint().filter(|_| s.node.config().log.enabled) else {
        return not_found("this node keeps no transparency log, or has signed no checkpoint yet");
    };
    let mut r = text(StatusCode::OK, cp.to_text());
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static(CHECKPOINT_CACHE));
    r
}

async fn tile(State(s): State<Arc<LogState>>, Path(rest): Path<String>, headers: HeaderMap) -> Response {
    let path = format!("tile/{rest}");
    let Ok(id) = TileId::parse(&path) else { return not_found("not a tile path") };
    if id.kind == TileKind::Entries
        && let Err(r) = may_read_every_entry(&s, &headers)
    {
        return r;
    }
    let node = s.node.clone();
    let served = tokio::task::spawn_blocking(move || match id.kind {
        TileKind::Hashes(_) => node.hash_tile(&id).map_err(|e| e.to_string()),
        TileKind::Entries => node.entry_bundle(&id).map_err(|e| e.to_string()),
    })
    .await;
    match served {
        Ok(Ok(Some(bytes))) => {
            let mut r = (StatusCode::OK, [(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response();
            r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static(TILE_CACHE));
            r
        }
        Ok(Ok(None)) => not_found("the tree has not reached this tile"),
        Ok(Err(e)) => internal(e),
        Err(e) => internal(e),
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let auth = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = auth.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
}

/// Who may fetch entry bundles: the admin token, or a consumer token that
/// sees everything (TLP ceiling RED and every kind). The one place to
/// switch to a role check (an auditor role) when tokens grow roles.
///
/// # Errors
///
/// 401 without a known token, 403 for a token that does not see every entry.
pub fn may_read_every_entry(s: &LogState, headers: &HeaderMap) -> Result<(), Response> {
    let unauthorized = || {
        let mut r = text(StatusCode::UNAUTHORIZED, "entry bundles need a token allowed to read every entry\n".into());
        r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"jaring\""));
        r
    };
    let presented = bearer(headers).ok_or_else(unauthorized)?;
    if s.admin.as_ref().is_some_and(|a| a.is_token(presented)) {
        return Ok(());
    }
    match s.tokens.check(presented) {
        Some(t) if t.max_tlp == Tlp::Red && t.kinds.is_empty() => Ok(()),
        Some(t) => Err(text(
            StatusCode::FORBIDDEN,
            format!(
                "token {:?} does not see every entry (TLP ceiling RED and every kind); prove single entries instead\n",
                t.name
            ),
        )),
        None => Err(unauthorized()),
    }
}

async fn add_checkpoint(State(s): State<Arc<LogState>>, body: Bytes) -> Response {
    match s.node.add_checkpoint(&body).await {
        Ok(lines) => text(StatusCode::OK, lines),
        Err(AddCheckpointError::Refused(r)) => refusal(&r),
        Err(AddCheckpointError::Node(e)) => internal(e),
    }
}

/// A refusal with the status and body tlog-witness requires.
fn refusal(r: &Refusal) -> Response {
    let status = StatusCode::from_u16(r.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
    match r {
        Refusal::Conflict { latest, .. } => {
            (status, [(header::CONTENT_TYPE, witness::CONFLICT_CONTENT_TYPE)], witness::conflict_body(*latest))
                .into_response()
        }
        other => text(status, format!("{other}\n")),
    }
}
