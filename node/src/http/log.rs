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
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use super::auth::Caller;
use crate::access::{Denied, Operation};
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
}

/// The `/log/` routes.
pub fn routes(node: Arc<Node>) -> Router {
    let state = Arc::new(LogState { node });
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

async fn tile(State(s): State<Arc<LogState>>, Path(rest): Path<String>, caller: Caller) -> Response {
    let path = format!("tile/{rest}");
    let Ok(id) = TileId::parse(&path) else { return not_found("not a tile path") };
    if id.kind == TileKind::Entries
        && let Err(r) = may_read_every_entry(&s, &caller).await
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

/// Who may fetch entry bundles: a token whose role may read the feed
/// (`reader`, `platform`, `analyst`, `admin`) and whose scope holds back
/// nothing (TLP ceiling RED, every kind and category), as the built-in
/// admin's does. The one place this rule lives.
///
/// # Errors
///
/// 401 without a known token (or a revoked, expired or misplaced one), 429
/// over its rate, 403 for a token that may not read the feed or does not
/// see every entry.
pub async fn may_read_every_entry(s: &LogState, caller: &Caller) -> Result<(), Response> {
    let session = caller.authorize(&s.node, Operation::ReadFeed, 1).await.map_err(|d| refused(&d))?;
    if session.scope().is_everything() {
        return Ok(());
    }
    Err(text(
        StatusCode::FORBIDDEN,
        "this token does not see every entry (TLP ceiling RED, every kind and category); prove single entries instead\n"
            .into(),
    ))
}

fn refused(d: &Denied) -> Response {
    let status = match d {
        Denied::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
        d if d.is_authentication() => StatusCode::UNAUTHORIZED,
        _ => StatusCode::FORBIDDEN,
    };
    let mut r = text(status, format!("entry bundles: {d}\n"));
    if status == StatusCode::UNAUTHORIZED {
        r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"jaring\""));
    }
    if let Denied::RateLimited { retry_after_ms, .. } = d
        && let Ok(v) = HeaderValue::from_str(&retry_after_ms.div_ceil(1000).max(1).to_string())
    {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
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
