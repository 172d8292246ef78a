//! TAXII 2.1 over this node's log.
//!
//! One API root, `/jaring/`, with two collections:
//!
//! - `own`: the indicators this node itself published; tokens that may
//!   submit (`submitter`, `analyst`, `admin`) may add to it
//!   ([`super::taxii_write`]: `POST .../objects/`, and the status resource
//!   `/jaring/status/{id}/`), and `can_write` says so per token;
//! - `all`: every indicator this node holds (read only).
//!
//! Both are filtered for each token (its TLP ceiling, kinds and
//! categories: [`Scope`]); `local`-distribution indicators and quarantined
//! entries are never served, and personal-data values appear only as keyed
//! hashes (see [`crate::stix`]). Only the current version of each indicator
//! is served. Reading objects needs a token whose role may read the feed
//! (`reader`, `platform`, `analyst`, `admin`); discovery and the
//! collections' descriptions (`can_read`, `can_write` per token) answer
//! every valid token, so a submitter's TAXII client finds where to write.
//!
//! # Referenced objects
//!
//! Indicators name their producer (`created_by_ref`, an `identity` per
//! origin node) and their TLP (`object_marking_refs`, the OASIS TLP 2.0
//! `marking-definition`s). Both are served in the collections, so clients
//! resolve them (stix2's `Environment.creator_of`, misp-stix): a page of
//! objects holds, just before each indicator, the identity and marking it
//! references that the page does not hold yet (pages are self-contained
//! when `limit` leaves room: at least 3); `match[type]=identity` or
//! `marking-definition` lists them, and get-by-id, versions and the
//! manifest know them. An identity or marking is served to a token only if
//! the token sees an indicator that references it, and takes the
//! `date_added` of the first such indicator in the page.
//!
//! # Objects by id
//!
//! `objects/{id}/` and `objects/{id}/versions/` never scan the log for an
//! id: an indicator's STIX id is indexed when its first version is stored
//! (a typed table, `StixIds`), so an unknown id is a 404 from one read;
//! identities and markings are recognised by id (one per origin, five
//! markings) before the page logic decides whether the token sees them.
//!
//! # Paging
//!
//! Objects are served in the order of this node's log (`local_seq`), so a
//! page is one range scan of the log from a cursor: `next` is the last
//! `local_seq` served. `date_added` is derived from the log too and rises
//! strictly with `local_seq`: it is `max(previous date_added + 1 µs, the
//! entry's signing time)`. So `added_after` selects exactly a log suffix
//! (a poller using `X-TAXII-Date-Added-Last` never misses a late arrival
//! signed long ago), and an in-memory checkpoint every 1024 entries lets the
//! server find where that suffix starts without scanning the whole log.

// Handlers return a ready `Response` as their error (a TAXII error
// message); it is built once per failed request, so its size does not matter.
#![allow(clippy::result_large_err)]

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use super::auth::Caller;
use crate::access::{Denied, Operation, Scope, Session};
use crate::envelope::Entry;
use crate::model::{Distribution, Tlp};
use crate::node::Node;
use crate::stix;
use crate::store::{LogEntry, StoreError};
use crate::view::IndicatorRecord;

/// TAXII media type.
pub const TAXII_MEDIA_TYPE: &str = "application/taxii+json;version=2.1";
/// The API root path segment.
pub const API_ROOT: &str = "jaring";
/// Objects per page when the client does not say.
pub const DEFAULT_LIMIT: usize = 1000;
/// Most objects per page.
pub const MAX_LIMIT: usize = 10_000;
/// Log entries per date_added checkpoint.
const BLOCK: u64 = 1024;

/// Which collection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Collection {
    /// What this node published.
    Own,
    /// Everything it holds.
    All,
}

impl Collection {
    /// The collection's id: a UUIDv5 of the node id and the collection name.
    pub fn id(self, node_id: &str) -> String {
        let name = match self {
            Collection::Own => "own",
            Collection::All => "all",
        };
        uuid::Uuid::new_v5(&stix::NAMESPACE, format!("jaring-collection:{node_id}:{name}").as_bytes()).to_string()
    }

    /// The collection as `session` sees it (`can_write` when it may add).
    pub(crate) fn describe(self, node_id: &str, session: &Session) -> Value {
        let can_write = self == Collection::Own && session.require(Operation::SubmitIndicators).is_ok();
        let (title, description) = match self {
            Collection::Own => {
                (format!("{node_id}: published here"), format!("Indicators node {node_id} itself published"))
            }
            Collection::All => (
                format!("{node_id}: everything held"),
                format!("Every indicator node {node_id} holds, from every origin"),
            ),
        };
        json!({
            "id": self.id(node_id),
            "title": title,
            "description": description,
            "can_read": session.require(Operation::ReadFeed).is_ok(),
            "can_write": can_write,
            "media_types": [stix::STIX_MEDIA_TYPE],
        })
    }
}

/// Shared state of the TAXII routes.
#[derive(Debug)]
pub struct Taxii {
    node: Arc<Node>,
    /// `checkpoints[b]`: date_added (µs) of the last entry of log block `b`.
    checkpoints: Mutex<Vec<u64>>,
    /// The status resources of recent writes.
    pub(crate) statuses: super::taxii_write::Statuses,
}

/// Filters of one objects or manifest request.
#[derive(Debug, Default, Clone)]
pub struct PageQuery {
    /// `next`: serve entries after this local_seq.
    pub after_seq: Option<u64>,
    /// `added_after`, in µs since the epoch.
    pub added_after_us: Option<u64>,
    /// `limit`.
    pub limit: usize,
    /// `match[type]`.
    pub types: Option<Vec<String>>,
    /// `match[id]`.
    pub ids: Option<Vec<String>>,
    /// `match[spec_version]` (every object here is STIX 2.1).
    pub spec_versions: Option<Vec<String>>,
}

/// What a served object is.
#[derive(Debug, Clone)]
pub enum Served {
    /// An indicator.
    Indicator(Box<IndicatorRecord>),
    /// The identity of an origin node (`created_by_ref`).
    Identity(String),
    /// A TLP 2.0 marking-definition (`object_marking_refs`).
    Marking(Tlp),
}

/// One served object.
#[derive(Debug, Clone)]
pub struct Item {
    /// Log position (of the indicator that brought a referenced object).
    pub seq: u64,
    /// date_added, µs.
    pub date_added_us: u64,
    /// The object.
    pub object: Served,
}

impl Item {
    /// The STIX object.
    pub fn stix(&self) -> Value {
        match &self.object {
            Served::Indicator(rec) => stix::indicator(rec),
            Served::Identity(origin) => stix::identity(origin),
            Served::Marking(tlp) => stix::tlp_marking(*tlp),
        }
    }

    /// Its version: `modified`, or `created` for objects without one.
    pub fn version(&self) -> Value {
        let o = self.stix();
        o.get("modified").or_else(|| o.get("created")).cloned().unwrap_or(Value::Null)
    }
}

fn next_added(running: u64, created_at_ms: i64) -> u64 {
    let signed = u64::try_from(created_at_ms).unwrap_or(0).saturating_mul(1000);
    signed.max(running + 1)
}

impl Taxii {
    /// State over a node.
    pub fn new(node: Arc<Node>) -> Taxii {
        Taxii { node, checkpoints: Mutex::new(Vec::new()), statuses: super::taxii_write::Statuses::default() }
    }

    /// Brings the checkpoints up to the log's last complete block.
    fn checkpoints(&self) -> Result<Vec<u64>, StoreError> {
        let mut cps = self.checkpoints.lock().unwrap_or_else(|p| p.into_inner());
        let mut block = cps.len() as u64;
        let mut running = cps.last().copied().unwrap_or(0);
        let start = block * BLOCK;
        for r in self.node.store().log_records_after(start.saturating_sub(1)) {
            let LogEntry { seq, body, .. } = r?.decode()?;
            while seq / BLOCK > block {
                cps.push(running);
                block += 1;
            }
            running = next_added(running, body.created_at_ms);
        }
        Ok(cps.clone())
    }

    /// One page of a collection as a token of `scope` may see it.
    ///
    /// # Errors
    ///
    /// Store failures.
    pub fn page(&self, coll: Collection, scope: &Scope, q: &PageQuery) -> Result<(Vec<Item>, bool), StoreError> {
        let want = |ty: &str| q.types.as_ref().is_none_or(|t| t.iter().any(|x| x == ty));
        let (want_indicators, want_identities, want_markings) =
            (want("indicator"), want("identity"), want("marking-definition"));
        let spec_ok = q.spec_versions.as_ref().is_none_or(|v| v.iter().any(|x| x == "2.1"));
        if !spec_ok || !(want_indicators || want_identities || want_markings) {
            return Ok((Vec::new(), false));
        }
        let id_ok = |id: &str| q.ids.as_ref().is_none_or(|ids| ids.iter().any(|x| x == id));
        let cps = self.checkpoints()?;
        let mut start_block = q.after_seq.map_or(0, |s| (s + 1) / BLOCK);
        if let Some(t) = q.added_after_us {
            start_block = start_block.max(cps.partition_point(|c| *c <= t) as u64);
        }
        let start_block = start_block.min(cps.len() as u64);
        let mut running = match start_block {
            0 => 0,
            b => cps.get(usize::try_from(b - 1).unwrap_or(usize::MAX)).copied().unwrap_or(0),
        };
        let start = start_block * BLOCK;
        let hidden = self.node.committed().hidden();
        let own_id = self.node.id();
        let mut out: Vec<Item> = Vec::new();
        let mut origins_served: HashSet<String> = HashSet::new();
        let mut tlps_served: HashSet<Tlp> = HashSet::new();
        // With match[id], stop as soon as every id asked for is served.
        let mut ids_served: HashSet<String> = HashSet::new();
        // Hidden entries count for date_added too: it must not depend on
        // what is hidden now.
        for r in self.node.store().log_records_after(start.saturating_sub(1)) {
            let LogEntry { seq, envelope: env, body } = r?.decode()?;
            running = next_added(running, body.created_at_ms);
            if q.after_seq.is_some_and(|a| seq <= a) || q.added_after_us.is_some_and(|t| running <= t) {
                continue;
            }
            if hidden.contains(&seq) {
                continue;
            }
            let Entry::Indicator(ind) = &body.entry else { continue };
            if (coll == Collection::Own && body.origin != own_id)
                || ind.distribution == Distribution::Local
                || !scope.may_see(ind.kind, ind.tlp, &ind.categories)
            {
                continue;
            }
            let indicator_id = stix::indicator_id(&ind.id);
            let identity_id = stix::identity_id(&body.origin);
            let marking_id = stix::tlp_marking_id(ind.tlp);
            let with_indicator = want_indicators && id_ok(&indicator_id);
            let with_identity = want_identities && !origins_served.contains(&body.origin) && id_ok(&identity_id);
            let with_marking = want_markings && !tlps_served.contains(&ind.tlp) && id_ok(marking_id);
            if !(with_indicator || with_identity || with_marking) {
                continue;
            }
            let latest = self.node.indexed_at(ind.kind, ind.value.as_str(), &body.origin)?;
            if latest != Some(seq) {
                continue;
            }
            let mut new: Vec<Item> = Vec::with_capacity(3);
            if with_identity {
                new.push(Item { seq, date_added_us: running, object: Served::Identity(body.origin.clone()) });
            }
            if with_marking {
                new.push(Item { seq, date_added_us: running, object: Served::Marking(ind.tlp) });
            }
            if with_indicator {
                let rec = self.node.record(seq, &env, &body)?;
                new.push(Item { seq, date_added_us: running, object: Served::Indicator(Box::new(rec)) });
            }
            if out.len() + new.len() > q.limit {
                if !out.is_empty() {
                    return Ok((out, true));
                }
                // A limit too small for an indicator and its references:
                // the indicator alone (its references come with later pages
                // or by id), or as many references as fit.
                if with_indicator {
                    new.drain(..new.len() - 1);
                } else {
                    new.truncate(q.limit);
                }
            }
            for item in &new {
                match &item.object {
                    Served::Identity(o) => {
                        origins_served.insert(o.clone());
                        ids_served.insert(identity_id.clone());
                    }
                    Served::Marking(t) => {
                        tlps_served.insert(*t);
                        ids_served.insert(marking_id.to_string());
                    }
                    Served::Indicator(_) => {
                        ids_served.insert(indicator_id.clone());
                    }
                }
            }
            out.extend(new);
            if q.ids.as_ref().is_some_and(|ids| ids.iter().all(|id| ids_served.contains(id))) {
                return Ok((out, false));
            }
        }
        Ok((out, false))
    }

    /// The object with STIX id `object_id` as `token` may see it in `coll`,
    /// found without scanning the log: an indicator through the STIX id
    /// index (its current version), an identity or marking by its id. An
    /// id nothing here has is answered at once with nothing.
    ///
    /// # Errors
    ///
    /// Store failures.
    pub fn object_by_id(
        &self,
        coll: Collection,
        scope: &Scope,
        object_id: &str,
        q: &PageQuery,
    ) -> Result<Vec<Item>, StoreError> {
        if q.spec_versions.as_ref().is_some_and(|v| !v.iter().any(|x| x == "2.1")) {
            return Ok(Vec::new());
        }
        if object_id.starts_with("indicator--") {
            return self.indicator_by_id(coll, scope, object_id);
        }
        // Identities and markings are few and known by id; whether the token
        // sees one depends on the indicators it sees, which the page scan
        // (stopping at the first) decides.
        let known_identity = object_id.starts_with("identity--")
            && self.node.committed().lookup.origins().iter().any(|o| stix::identity_id(o) == object_id);
        let known_marking = Tlp::ALL.iter().any(|t| stix::tlp_marking_id(*t) == object_id);
        if !(known_identity || known_marking) {
            return Ok(Vec::new());
        }
        let q = PageQuery { ids: Some(vec![object_id.to_string()]), after_seq: None, limit: 1, ..q.clone() };
        Ok(self.page(coll, scope, &q)?.0)
    }

    /// An indicator by STIX id, from the index.
    fn indicator_by_id(&self, coll: Collection, scope: &Scope, object_id: &str) -> Result<Vec<Item>, StoreError> {
        use crate::store::Tables;
        let store = self.node.store();
        let Some((kind, value, origin)) = store.stix_indicator(object_id)? else { return Ok(Vec::new()) };
        if coll == Collection::Own && origin != self.node.id() {
            return Ok(Vec::new());
        }
        let Some(seq) = store.indexed_at(kind, &value, &origin)? else { return Ok(Vec::new()) };
        if self.node.committed().hidden().contains(&seq) {
            return Ok(Vec::new());
        }
        let Some(LogEntry { seq, envelope: env, body }) = store.log_entry(seq)? else { return Ok(Vec::new()) };
        let Entry::Indicator(ind) = &body.entry else { return Ok(Vec::new()) };
        if ind.distribution == Distribution::Local
            || !scope.may_see(ind.kind, ind.tlp, &ind.categories)
            || stix::indicator_id(&ind.id) != object_id
        {
            return Ok(Vec::new());
        }
        let date_added_us = self.date_added_at(seq)?;
        let rec = self.node.record(seq, &env, &body)?;
        Ok(vec![Item { seq, date_added_us, object: Served::Indicator(Box::new(rec)) }])
    }

    /// The date_added of the entry at `seq`: from the checkpoint before its
    /// block, reading at most one block of the log.
    fn date_added_at(&self, seq: u64) -> Result<u64, StoreError> {
        let cps = self.checkpoints()?;
        let block = seq / BLOCK;
        let mut running = match block {
            0 => 0,
            b => cps.get(usize::try_from(b - 1).unwrap_or(usize::MAX)).copied().unwrap_or(0),
        };
        for r in self.node.store().log_records_after((block * BLOCK).saturating_sub(1)) {
            let LogEntry { seq: at, body, .. } = r?.decode()?;
            if at > seq {
                break;
            }
            running = next_added(running, body.created_at_ms);
        }
        Ok(running)
    }

    /// The node behind this state.
    pub fn node(&self) -> &Arc<Node> {
        &self.node
    }
}

/// The TAXII routes over a fresh state.
pub fn router(node: Arc<Node>) -> Router {
    routes(Arc::new(Taxii::new(node)))
}

/// The TAXII routes over `state` (shared with the MISP feed).
pub fn routes(state: Arc<Taxii>) -> Router {
    // Build the date_added checkpoints now rather than on the first request
    // (a full log scan: ~30 s for 1,000,000 entries in a debug build).
    let warm = state.clone();
    tokio::task::spawn_blocking(move || {
        if let Err(e) = warm.checkpoints() {
            tracing::warn!(error = %e, "TAXII checkpoints");
        }
    });
    let root = format!("/{API_ROOT}");
    Router::new()
        .route("/taxii2/", get(discovery))
        .route(&format!("{root}/"), get(api_root))
        .route(&format!("{root}/collections/"), get(collections))
        .route(&format!("{root}/collections/{{id}}/"), get(collection))
        .route(&format!("{root}/collections/{{id}}/objects/"), get(objects).post(super::taxii_write::add_objects))
        .route(&format!("{root}/collections/{{id}}/objects/{{object_id}}/"), get(object))
        .route(&format!("{root}/collections/{{id}}/objects/{{object_id}}/versions/"), get(versions))
        .route(&format!("{root}/collections/{{id}}/manifest/"), get(manifest))
        .route(&format!("{root}/status/{{status_id}}/"), get(super::taxii_write::status))
        .with_state(state)
}

fn is_taxii_path(path: &str) -> bool {
    path == "/taxii2"
        || path.starts_with("/taxii2/")
        || path == format!("/{API_ROOT}")
        || path.starts_with(&format!("/{API_ROOT}/"))
}

/// The answer to a path nothing serves: a TAXII error message under the
/// TAXII paths (naming the missing trailing slash when that is the
/// mistake), plain text elsewhere.
pub async fn not_found(uri: Uri) -> Response {
    let path = uri.path();
    if !is_taxii_path(path) {
        return (StatusCode::NOT_FOUND, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], "not found\n")
            .into_response();
    }
    let description = if path.ends_with('/') {
        format!("{path} is not a TAXII 2.1 endpoint of this server (discovery is /taxii2/, the API root /{API_ROOT}/)")
    } else {
        format!("TAXII 2.1 URLs end with '/': try {path}/")
    };
    error(StatusCode::NOT_FOUND, "Not Found", &description)
}

/// The answer to a method a TAXII path does not allow: GET and HEAD
/// everywhere, and POST on a collection's objects.
pub fn method_not_allowed(method: &axum::http::Method, uri: &Uri) -> Response {
    let writable = uri.path().ends_with("/objects/");
    let allow = if writable { "GET, HEAD, POST" } else { "GET, HEAD" };
    let mut r = if is_taxii_path(uri.path()) {
        error(
            StatusCode::METHOD_NOT_ALLOWED,
            "Method Not Allowed",
            &format!("{method} is not allowed on {}: it takes {allow}", uri.path()),
        )
    } else {
        (StatusCode::METHOD_NOT_ALLOWED, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], "method not allowed\n")
            .into_response()
    };
    r.headers_mut().insert(header::ALLOW, HeaderValue::from_static(allow));
    r
}

/// A refused token as a TAXII error: 401 (with `WWW-Authenticate`) when it
/// is missing, unknown, revoked or expired, 403 when it may not do this,
/// 429 (with `Retry-After`) over its rate.
pub(crate) fn denied(d: &Denied) -> Response {
    match d {
        Denied::RateLimited { retry_after_ms, .. } => {
            let mut r = error(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests", &d.to_string());
            if let Ok(v) = HeaderValue::from_str(&retry_after_ms.div_ceil(1000).max(1).to_string()) {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            r
        }
        d if d.is_authentication() => error(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            &format!("{d}; send a token as Bearer or as the Basic password"),
        ),
        d => error(StatusCode::FORBIDDEN, "Forbidden", &d.to_string()),
    }
}

pub(crate) fn error(status: StatusCode, title: &str, description: &str) -> Response {
    let body = json!({"title": title, "description": description, "http_status": status.as_u16().to_string()});
    let mut r = (status, [(header::CONTENT_TYPE, TAXII_MEDIA_TYPE)], body.to_string()).into_response();
    if status == StatusCode::UNAUTHORIZED {
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"jaring\", Bearer realm=\"jaring\""),
        );
    }
    r
}

pub(crate) fn taxii(body: &Value) -> Response {
    (StatusCode::OK, [(header::CONTENT_TYPE, TAXII_MEDIA_TYPE)], body.to_string()).into_response()
}

/// Checks the token (Bearer, or Basic with the token as password) for
/// `operation`, and the Accept header.
pub(crate) async fn admit(
    s: &Taxii,
    caller: &Caller,
    headers: &HeaderMap,
    operation: Operation,
) -> Result<Session, Response> {
    let session = caller.authorize(&s.node, operation, 1).await.map_err(|d| denied(&d))?;
    check_accept(headers)?;
    Ok(session)
}

/// Checks the Accept header: TAXII 2.1, STIX 2.1 or JSON.
pub(crate) fn check_accept(headers: &HeaderMap) -> Result<(), Response> {
    if let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) {
        let ok = accept.split(',').any(|m| {
            let m = m.trim().to_ascii_lowercase().replace(' ', "");
            m.starts_with("*/*")
                || m.starts_with("application/*")
                || m.starts_with("application/json")
                || (m.starts_with("application/taxii+json") && (!m.contains("version=") || m.contains("version=2.1")))
                || (m.starts_with("application/stix+json") && (!m.contains("version=") || m.contains("version=2.1")))
        });
        if !ok {
            return Err(error(
                StatusCode::NOT_ACCEPTABLE,
                "Not Acceptable",
                &format!("this server speaks {TAXII_MEDIA_TYPE}"),
            ));
        }
    }
    Ok(())
}

/// Where clients reach this server: `[http] public_url` if set, else the
/// authority the client used (HTTP/2 `:authority`, HTTP/1.1 `Host`), never
/// the listen address (which may be `0.0.0.0` or behind a proxy).
fn base_url(s: &Taxii, uri: &Uri, headers: &HeaderMap) -> String {
    if let Some(public) = s.node.config().http.as_ref().and_then(|h| h.public_url.as_deref()) {
        return public.trim_end_matches('/').to_string();
    }
    let authority = uri.authority().map(|a| a.as_str().to_string()).or_else(|| {
        headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .and_then(|h| h.parse::<axum::http::uri::Authority>().ok())
            .map(|a| a.as_str().to_string())
    });
    match authority {
        Some(a) => format!("https://{a}"),
        // No authority at all (not valid HTTP/1.1 or h2): a relative URL.
        None => String::new(),
    }
}

async fn discovery(State(s): State<Arc<Taxii>>, caller: Caller, uri: Uri, headers: HeaderMap) -> Response {
    if let Err(r) = admit(&s, &caller, &headers, Operation::DescribeFeed).await {
        return r;
    }
    let root = format!("{}/{API_ROOT}/", base_url(&s, &uri, &headers));
    taxii(&json!({
        "title": format!("Jaring node {}", s.node.id()),
        "description": "Scam and trafficking indicators shared between South-East Asian ministries",
        "default": root,
        "api_roots": [root],
    }))
}

async fn api_root(State(s): State<Arc<Taxii>>, caller: Caller, headers: HeaderMap) -> Response {
    if let Err(r) = admit(&s, &caller, &headers, Operation::DescribeFeed).await {
        return r;
    }
    taxii(&json!({
        "title": format!("Jaring node {} indicators", s.node.id()),
        "versions": [TAXII_MEDIA_TYPE],
        "max_content_length": super::taxii_write::MAX_CONTENT_LENGTH,
    }))
}

pub(crate) fn find(s: &Taxii, id: &str) -> Result<Collection, Response> {
    [Collection::Own, Collection::All]
        .into_iter()
        .find(|c| c.id(s.node.id()) == id)
        .ok_or_else(|| error(StatusCode::NOT_FOUND, "Not Found", "no such collection"))
}

async fn collections(State(s): State<Arc<Taxii>>, caller: Caller, headers: HeaderMap) -> Response {
    let session = match admit(&s, &caller, &headers, Operation::DescribeFeed).await {
        Ok(session) => session,
        Err(r) => return r,
    };
    let id = s.node.id();
    taxii(&json!({"collections": [Collection::Own.describe(id, &session), Collection::All.describe(id, &session)]}))
}

async fn collection(
    State(s): State<Arc<Taxii>>,
    Path(id): Path<String>,
    caller: Caller,
    headers: HeaderMap,
) -> Response {
    let session = match admit(&s, &caller, &headers, Operation::DescribeFeed).await {
        Ok(session) => session,
        Err(r) => return r,
    };
    match find(&s, &id) {
        Ok(c) => taxii(&c.describe(s.node.id(), &session)),
        Err(r) => r,
    }
}

fn parse_query(raw: Option<&str>) -> Result<PageQuery, Response> {
    let bad = |what: String| error(StatusCode::BAD_REQUEST, "Bad Request", &what);
    let mut q = PageQuery { limit: DEFAULT_LIMIT, ..PageQuery::default() };
    let list = |v: &str| v.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect::<Vec<_>>();
    for (k, v) in url::form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        match k.as_ref() {
            "limit" => {
                let n: usize = v.parse().map_err(|_| bad(format!("limit: {v:?} is not a number")))?;
                // TAXII 2.1 §3.4.1: limit is the most objects the client
                // wants in one response; zero asks for a page of nothing,
                // which no client means. Refused rather than guessed.
                if n == 0 {
                    return Err(bad("limit: must be a positive integer (1 or more)".into()));
                }
                q.limit = n.min(MAX_LIMIT);
            }
            "next" => {
                q.after_seq = Some(v.parse().map_err(|_| bad(format!("next: {v:?} is not a cursor from this server")))?)
            }
            "added_after" => {
                let t = humantime::parse_rfc3339_weak(&v).map_err(|e| bad(format!("added_after: {e}")))?;
                let d = t.duration_since(std::time::UNIX_EPOCH).map_err(|_| bad("added_after: before 1970".into()))?;
                q.added_after_us = Some(u64::try_from(d.as_micros()).unwrap_or(u64::MAX));
            }
            "match[type]" => q.types = Some(list(&v)),
            "match[id]" => q.ids = Some(list(&v)),
            "match[spec_version]" => q.spec_versions = Some(list(&v)),
            // Only the current version of each object is served.
            "match[version]" => {}
            _ => {}
        }
    }
    Ok(q)
}

fn micros(us: u64) -> String {
    humantime::format_rfc3339_micros(std::time::UNIX_EPOCH + std::time::Duration::from_micros(us)).to_string()
}

async fn run_page(
    s: &Arc<Taxii>,
    id: &str,
    caller: &Caller,
    headers: &HeaderMap,
    query: Result<PageQuery, Response>,
) -> Result<(Vec<Item>, bool), Response> {
    let session = admit(s, caller, headers, Operation::ReadFeed).await?;
    let coll = find(s, id)?;
    let q = query?;
    let s2 = s.clone();
    tokio::task::spawn_blocking(move || s2.page(coll, session.scope(), &q))
        .await
        .map_err(|e| error(StatusCode::INTERNAL_SERVER_ERROR, "Internal Error", &e.to_string()))?
        .map_err(|e| error(StatusCode::INTERNAL_SERVER_ERROR, "Internal Error", &e.to_string()))
}

fn paged(items: &[Item], more: bool, key: &str, objects: Vec<Value>) -> Response {
    let mut body = serde_json::Map::new();
    body.insert("more".into(), more.into());
    if more && let Some(last) = items.last() {
        body.insert("next".into(), last.seq.to_string().into());
    }
    if !objects.is_empty() {
        body.insert(key.into(), objects.into());
    }
    let mut r = taxii(&Value::Object(body));
    if let (Some(first), Some(last)) = (items.first(), items.last()) {
        for (name, us) in
            [("x-taxii-date-added-first", first.date_added_us), ("x-taxii-date-added-last", last.date_added_us)]
        {
            if let Ok(v) = HeaderValue::from_str(&micros(us)) {
                r.headers_mut().insert(name, v);
            }
        }
    }
    r
}

async fn objects(
    State(s): State<Arc<Taxii>>,
    Path(id): Path<String>,
    caller: Caller,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    match run_page(&s, &id, &caller, &headers, parse_query(raw.as_deref())).await {
        Ok((items, more)) => {
            let objs = items.iter().map(Item::stix).collect();
            paged(&items, more, "objects", objs)
        }
        Err(r) => r,
    }
}

async fn manifest(
    State(s): State<Arc<Taxii>>,
    Path(id): Path<String>,
    caller: Caller,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    match run_page(&s, &id, &caller, &headers, parse_query(raw.as_deref())).await {
        Ok((items, more)) => {
            let objs = items
                .iter()
                .map(|i| {
                    json!({
                        "id": i.stix()["id"],
                        "date_added": micros(i.date_added_us),
                        "version": i.version(),
                        "media_type": stix::STIX_MEDIA_TYPE,
                    })
                })
                .collect();
            paged(&items, more, "objects", objs)
        }
        Err(r) => r,
    }
}

/// One object by id: from the STIX id index, never a scan for an id
/// nothing here has (see [`Taxii::object_by_id`]).
async fn run_by_id(
    s: &Arc<Taxii>,
    id: &str,
    caller: &Caller,
    headers: &HeaderMap,
    raw: Option<&str>,
    object_id: String,
) -> Result<Vec<Item>, Response> {
    let session = admit(s, caller, headers, Operation::ReadFeed).await?;
    let coll = find(s, id)?;
    let q = parse_query(raw)?;
    let s2 = s.clone();
    tokio::task::spawn_blocking(move || s2.object_by_id(coll, session.scope(), &object_id, &q))
        .await
        .map_err(|e| error(StatusCode::INTERNAL_SERVER_ERROR, "Internal Error", &e.to_string()))?
        .map_err(|e| error(StatusCode::INTERNAL_SERVER_ERROR, "Internal Error", &e.to_string()))
}

async fn object(
    State(s): State<Arc<Taxii>>,
    Path((id, object_id)): Path<(String, String)>,
    caller: Caller,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    match run_by_id(&s, &id, &caller, &headers, raw.as_deref(), object_id).await {
        Ok(items) if items.is_empty() => error(StatusCode::NOT_FOUND, "Not Found", "no such object"),
        Ok(items) => {
            let objs = items.iter().map(Item::stix).collect();
            paged(&items, false, "objects", objs)
        }
        Err(r) => r,
    }
}

async fn versions(
    State(s): State<Arc<Taxii>>,
    Path((id, object_id)): Path<(String, String)>,
    caller: Caller,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    match run_by_id(&s, &id, &caller, &headers, raw.as_deref(), object_id).await {
        Ok(items) if items.is_empty() => error(StatusCode::NOT_FOUND, "Not Found", "no such object"),
        Ok(items) => {
            let v: Vec<Value> = items.iter().map(Item::version).collect();
            paged(&items, false, "versions", v)
        }
        Err(r) => r,
    }
}
