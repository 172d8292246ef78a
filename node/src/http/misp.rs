//! The MISP feed on the HTTPS listener: `/misp/manifest.json`,
//! `/misp/<event uuid>.json`, `/misp/hashes.csv` (see [`crate::misp`] for
//! the format and the mapping).
//!
//! Same door as TAXII: a token whose role may read the feed (Bearer, or
//! the Basic password; a MISP admin puts `Authorization: Bearer jrt_…` in
//! the feed's "Headers"), and the same rules: indicators within the
//! token's scope (TLP ceiling, kinds, categories), never `local` or
//! quarantined, personal data only
//! as keyed hashes, the current version of each indicator. The feed holds
//! every origin this node holds (TAXII's "everything held").
//!
//! Each file is built from one scan of the node's log (the TAXII paging
//! scan), so a pull of N events costs N + 2 scans.

// Handlers return a ready `Response` as their error.
#![allow(clippy::result_large_err)]

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use super::auth::Caller;
use super::taxii::{Collection, MAX_LIMIT, PageQuery, Served, Taxii, check_accept};
use crate::access::{Denied, Operation, Scope};
use crate::misp::{self, EventSummary, EventWriter};
use crate::model::now_ms;
use crate::store::StoreError;

/// Why a feed file could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FeedError {
    /// Reading the log.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Writing the file.
    #[error("writing the feed: {0}")]
    Write(#[from] std::io::Error),
}

/// The feed's path prefix.
pub const PREFIX: &str = "/misp";

/// The MISP feed routes over the TAXII state.
pub fn router(state: Arc<Taxii>) -> Router {
    Router::new()
        .route(&format!("{PREFIX}/"), get(index))
        .route(&format!("{PREFIX}/{{file}}"), get(file))
        .with_state(state)
}

fn json_error(status: StatusCode, message: &str) -> Response {
    let mut r =
        (status, [(header::CONTENT_TYPE, "application/json")], json!({"message": message}).to_string()).into_response();
    if status == StatusCode::UNAUTHORIZED
        && let Ok(v) = axum::http::HeaderValue::from_str("Basic realm=\"jaring\", Bearer realm=\"jaring\"")
    {
        r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    r
}

async fn check(s: &Taxii, caller: &Caller, headers: &HeaderMap) -> Result<Scope, Response> {
    // The TAXII check, answered in MISP's JSON error shape.
    let session = caller.authorize(s.node(), Operation::ReadFeed, 1).await.map_err(|d| denied(&d))?;
    check_accept(headers).map_err(|r| json_error(r.status(), "this feed is served as application/json"))?;
    Ok(session.scope().clone())
}

fn denied(d: &Denied) -> Response {
    let mut r = json_error(super::taxii::denied(d).status(), &d.to_string());
    if let Denied::RateLimited { retry_after_ms, .. } = d
        && let Ok(v) = axum::http::HeaderValue::from_str(&retry_after_ms.div_ceil(1000).max(1).to_string())
    {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
}

/// Calls `each` with every record the token may see in the feed, with the
/// second it was added to this node's log.
fn visit(s: &Taxii, scope: &Scope, mut each: impl FnMut(&crate::view::IndicatorRecord, i64)) -> Result<(), StoreError> {
    let mut q = PageQuery { limit: MAX_LIMIT, types: Some(vec!["indicator".into()]), ..PageQuery::default() };
    loop {
        let (items, more) = s.page(Collection::All, scope, &q)?;
        for item in &items {
            if let Served::Indicator(rec) = &item.object {
                each(rec, i64::try_from(item.date_added_us / 1_000_000).unwrap_or(i64::MAX));
            }
        }
        match (more, items.last()) {
            (true, Some(last)) => q.after_seq = Some(last.seq),
            _ => return Ok(()),
        }
    }
}

/// The events the token sees, keyed by uuid.
fn summaries(s: &Taxii, token: &Scope) -> Result<BTreeMap<String, EventSummary>, FeedError> {
    let now = now_ms();
    let scoring = &s.node().config().scoring;
    let mut events: BTreeMap<String, EventSummary> = BTreeMap::new();
    visit(s, token, |rec, added| {
        let a = misp::attribute(rec, added, now, scoring);
        events
            .entry(misp::event_uuid(&rec.origin, rec.kind))
            .or_insert_with(|| EventSummary::new(&rec.origin, rec.kind))
            .observe(rec, &a);
    })?;
    Ok(events)
}

/// One event file.
fn event(s: &Taxii, token: &Scope, uuid: &str) -> Result<Option<Vec<u8>>, FeedError> {
    let now = now_ms();
    let scoring = &s.node().config().scoring;
    let mut summary: Option<EventSummary> = None;
    let mut writer = EventWriter::new(Vec::new())?;
    let mut failed = None;
    visit(s, token, |rec, added| {
        if misp::event_uuid(&rec.origin, rec.kind) != uuid {
            return;
        }
        let a = misp::attribute(rec, added, now, scoring);
        summary.get_or_insert_with(|| EventSummary::new(&rec.origin, rec.kind)).observe(rec, &a);
        if let Err(e) = writer.push(&a) {
            failed = Some(e);
        }
    })?;
    if let Some(e) = failed {
        return Err(e.into());
    }
    match summary {
        None => Ok(None),
        Some(summary) => Ok(Some(writer.finish(&summary)?)),
    }
}

fn hashes(s: &Taxii, token: &Scope) -> Result<String, FeedError> {
    let now = now_ms();
    let scoring = &s.node().config().scoring;
    let mut out = String::new();
    visit(s, token, |rec, added| {
        let a = misp::attribute(rec, added, now, scoring);
        out.push_str(&misp::hash_line(&a, &misp::event_uuid(&rec.origin, rec.kind)));
    })?;
    Ok(out)
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T, FeedError> + Send + 'static) -> Result<T, Response> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| json_error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()))?
        .map_err(|e| json_error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()))
}

async fn index(State(s): State<Arc<Taxii>>, caller: Caller, headers: HeaderMap) -> Response {
    if let Err(r) = check(&s, &caller, &headers).await {
        return r;
    }
    let body = json!({
        "title": format!("Jaring node {}: MISP feed", s.node().id()),
        "files": [misp::MANIFEST, misp::HASHES, "<event uuid>.json"],
    });
    (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

async fn file(State(s): State<Arc<Taxii>>, Path(file): Path<String>, caller: Caller, headers: HeaderMap) -> Response {
    let token = match check(&s, &caller, &headers).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let json_ok = |body: Vec<u8>| (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], body).into_response();
    if file == misp::MANIFEST {
        let s2 = s.clone();
        return match blocking(move || summaries(&s2, &token)).await {
            Ok(events) => json_ok(misp::manifest(events.values()).to_string().into_bytes()),
            Err(r) => r,
        };
    }
    if file == misp::HASHES {
        let s2 = s.clone();
        return match blocking(move || hashes(&s2, &token)).await {
            Ok(text) => (StatusCode::OK, [(header::CONTENT_TYPE, "text/csv; charset=utf-8")], text).into_response(),
            Err(r) => r,
        };
    }
    let Some(uuid) = file.strip_suffix(".json").and_then(|u| uuid::Uuid::parse_str(u).ok()).map(|u| u.to_string())
    else {
        return json_error(
            StatusCode::NOT_FOUND,
            &format!("{PREFIX}/{file}: this feed serves manifest.json, hashes.csv and <event uuid>.json"),
        );
    };
    let s2 = s.clone();
    match blocking(move || event(&s2, &token, &uuid)).await {
        Ok(Some(bytes)) => json_ok(bytes),
        Ok(None) => json_error(StatusCode::NOT_FOUND, "no such event in this feed"),
        Err(r) => r,
    }
}
