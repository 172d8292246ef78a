//! TAXII 2.1 write: `POST /jaring/collections/{own}/objects/` takes an
//! envelope of STIX 2.1 objects from a token that may submit, and
//! `GET /jaring/status/{id}/` serves the status resource of each write.
//!
//! Objects go through the same import path as `jaring indicator import`
//! (a first pass learns the envelope's identities and marking definitions,
//! [`StixContext`]; then each indicator becomes submissions,
//! [`parse_object`]) and the node's submit path ([`Node::submit_checked`]:
//! normalization, allowlists, signing, one durable commit per batch). An
//! object equal to what this node already holds is a success that
//! publishes nothing, so posting the same envelope twice is harmless.
//!
//! Writes are answered when they are durable, so every status is
//! `complete`: `successes` lists each indicator stored (or unchanged),
//! `failures` each object refused with the reason, objects that are not
//! indicators included (they are read for context, never stored). A status
//! is kept for the last [`KEPT_STATUSES`] writes and shown only to the
//! token that made the write (and to admins).

// Handlers return a ready `Response` as their error.
#![allow(clippy::result_large_err)]

use std::collections::VecDeque;
use std::ops::ControlFlow;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::auth::Caller;
use super::taxii::{Collection, TAXII_MEDIA_TYPE, Taxii, admit, denied, error, find, taxii};
use crate::access::{Operation, Role, batch_cost};
use crate::node::{SubmitOptions, Submitted};
use crate::stix::{StixContext, parse_object};
use crate::submission::NewIndicator;

/// The largest envelope taken (the API root's `max_content_length`).
pub const MAX_CONTENT_LENGTH: usize = 10 * 1024 * 1024;

/// How many status resources are kept (the oldest goes first).
pub const KEPT_STATUSES: usize = 1024;

/// The status resources of recent writes, each with the token that made it.
#[derive(Debug, Default)]
pub struct Statuses {
    kept: Mutex<VecDeque<(String, String, Value)>>,
}

impl Statuses {
    fn keep(&self, id: String, owner: String, status: Value) {
        let mut kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        if kept.len() >= KEPT_STATUSES {
            kept.pop_front();
        }
        kept.push_back((id, owner, status));
    }

    fn get(&self, id: &str, owner: &str, admin: bool) -> Option<Value> {
        let kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        kept.iter().find(|(i, o, _)| i == id && (admin || o == owner)).map(|(_, _, s)| s.clone())
    }
}

/// A random (version 4) UUID for a status resource.
fn status_id() -> String {
    let mut bytes = [0u8; 16];
    getrandom::rand_core::Rng::fill_bytes(&mut getrandom::rand_core::UnwrapErr(getrandom::SysRng), &mut bytes);
    uuid::Builder::from_random_bytes(bytes).into_uuid().to_string()
}

fn now_rfc3339() -> String {
    humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string()
}

fn is_taxii_content(headers: &HeaderMap) -> bool {
    headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|ct| {
        let ct = ct.to_ascii_lowercase().replace(' ', "");
        ct.starts_with("application/taxii+json") && (!ct.contains("version=") || ct.contains("version=2.1"))
    })
}

/// One posted object: its id and version, and its submissions or why it
/// is refused.
struct Posted {
    id: String,
    version: Value,
    parsed: Result<Vec<NewIndicator>, String>,
}

/// `POST /jaring/collections/{id}/objects/`.
pub async fn add_objects(
    State(s): State<Arc<Taxii>>,
    Path(id): Path<String>,
    caller: Caller,
    headers: HeaderMap,
    request: Request,
) -> Response {
    let session = match admit(&s, &caller, &headers, Operation::SubmitIndicators).await {
        Ok(session) => session,
        Err(r) => return r,
    };
    match find(&s, &id) {
        Ok(Collection::Own) => {}
        Ok(Collection::All) => {
            return error(
                StatusCode::FORBIDDEN,
                "Forbidden",
                "this collection is read only (can_write is false); add objects to this node's own collection",
            );
        }
        Err(r) => return r,
    }
    if !is_taxii_content(&headers) {
        return error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Unsupported Media Type",
            &format!("send an envelope as {TAXII_MEDIA_TYPE}"),
        );
    }
    let body = match axum::body::to_bytes(request.into_body(), MAX_CONTENT_LENGTH).await {
        Ok(b) => b,
        Err(_) => {
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Payload Too Large",
                &format!("an envelope is at most {MAX_CONTENT_LENGTH} bytes (max_content_length)"),
            );
        }
    };
    let node = s.node().clone();
    let posted = {
        let mut ctx = StixContext::for_node(Some(node.id().to_string()));
        let shape = crate::stix::stream::for_each_object(body.as_ref(), |_, o| {
            ctx.learn(&o);
            ControlFlow::Continue(())
        });
        match shape {
            Ok(crate::stix::stream::Shape::Envelope | crate::stix::stream::Shape::Bundle) => {}
            Ok(crate::stix::stream::Shape::Object) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "Bad Request",
                    "send a TAXII envelope: {\"objects\": [...]}, not a single object",
                );
            }
            Err(e) => return error(StatusCode::BAD_REQUEST, "Bad Request", &format!("the envelope: {e}")),
        }
        let mut posted = Vec::new();
        let _ = crate::stix::stream::for_each_object(body.as_ref(), |index, o| {
            let id = o.get("id").and_then(Value::as_str).unwrap_or("").to_string();
            let version = o.get("modified").or_else(|| o.get("created")).cloned().unwrap_or(Value::Null);
            let ty = o.get("type").and_then(Value::as_str).unwrap_or("").to_string();
            let parsed = match parse_object(index, &o, &ctx) {
                Some(Ok(all)) => Ok(all),
                Some(Err(e)) => Err(e.reason),
                None => Err(format!(
                    "{ty} objects are read for the indicators that reference them, not stored (only indicators are)"
                )),
            };
            posted.push(Posted { id, version, parsed });
            ControlFlow::Continue(())
        });
        posted
    };
    let values: usize = posted.iter().map(|p| p.parsed.as_ref().map_or(0, Vec::len)).sum();
    if let Err(d) =
        node.charge(&session, batch_cost(values).saturating_sub(1), Operation::SubmitIndicators, caller.from).await
    {
        return denied(&d);
    }
    let request_timestamp = now_rfc3339();
    let inputs: Vec<NewIndicator> = posted.iter().filter_map(|p| p.parsed.as_ref().ok()).flatten().cloned().collect();
    let mut outcomes = Vec::with_capacity(inputs.len());
    let opts = SubmitOptions { override_allowlist: false, skip_unchanged: true };
    let mut inputs = inputs.into_iter().peekable();
    while inputs.peek().is_some() {
        let chunk: Vec<NewIndicator> = inputs.by_ref().take(node.config().limits.max_batch).collect();
        match node.submit_checked(chunk, &session.actor, opts).await {
            Ok(r) => outcomes.extend(r),
            Err(e) => {
                tracing::error!(error = %e, "TAXII write failed");
                return error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Internal Error",
                    "the store failed; nothing more was stored",
                );
            }
        }
    }
    let mut outcomes = outcomes.into_iter();
    let (mut successes, mut failures) = (Vec::new(), Vec::new());
    for p in posted {
        let entry = |message: String| json!({"id": p.id, "version": p.version, "message": message});
        match p.parsed {
            Err(reason) => failures.push(entry(reason)),
            Ok(all) => {
                let n = all.len();
                let mut stored = 0;
                let mut first_error = None;
                for _ in 0..n {
                    match outcomes.next() {
                        Some(Ok(Submitted::Stored(_) | Submitted::Unchanged(_))) => stored += 1,
                        Some(Err(e)) => {
                            first_error.get_or_insert(e.to_string());
                        }
                        None => {
                            first_error.get_or_insert("no result".to_string());
                        }
                    }
                }
                match first_error {
                    None => successes.push(entry(format!("{n} value(s) stored"))),
                    Some(e) if n == 1 => failures.push(entry(e)),
                    Some(e) => failures.push(entry(format!("{stored} of {n} values stored; refused: {e}"))),
                }
            }
        }
    }
    let id = status_id();
    let status = json!({
        "id": id,
        "status": "complete",
        "request_timestamp": request_timestamp,
        "total_count": successes.len() + failures.len(),
        "success_count": successes.len(),
        "successes": successes,
        "failure_count": failures.len(),
        "failures": failures,
        "pending_count": 0,
        "pendings": [],
    });
    s.statuses.keep(id, session.principal.name().to_string(), status.clone());
    let mut r = taxii(&status);
    *r.status_mut() = StatusCode::ACCEPTED;
    r
}

/// `GET /jaring/status/{id}/`.
pub async fn status(
    State(s): State<Arc<Taxii>>,
    Path(status_id): Path<String>,
    caller: Caller,
    headers: HeaderMap,
) -> Response {
    let session = match admit(&s, &caller, &headers, Operation::SubmitIndicators).await {
        Ok(session) => session,
        Err(r) => return r,
    };
    let admin = session.principal.role() == Role::Admin;
    match s.statuses.get(&status_id, session.principal.name(), admin) {
        Some(status) => taxii(&status),
        None => error(
            StatusCode::NOT_FOUND,
            "Not Found",
            "no such status (statuses of recent writes by this token are kept)",
        )
        .into_response(),
    }
}
