//! The HTTP JSON API under `/api/v1/` on the HTTPS listener, for the
//! parties that are not admins: crawlers submit, platforms look values up
//! in bulk and report what they did, analysts triage and review, auditors
//! read the audit log. Every route is authorized by the same table as the
//! admin gRPC API and TAXII ([`crate::access`]), with the caller's token
//! (`Authorization: Bearer <token>`).
//!
//! The OpenAPI 3.1 document (`GET /api/v1/openapi.json`) is generated from
//! the handlers themselves: each is annotated with `#[utoipa::path]` and
//! registered with `routes!`, which adds the route to the router and the
//! operation to the document at once, so a route cannot exist undocumented.
//! Bodies and responses are the types in [`model`] and the resource files,
//! the same types that are (de)serialized.
//!
//! Errors are RFC 9457 problems ([`problem`]), from one `From<NodeError>`.
//! No request, however malformed, gets a 5xx ([`input`] reads everything
//! strictly); 500 means the store failed.
//!
//! One file per resource: [`indicators`], [`lookup`], [`feedback`],
//! [`takedowns`], [`extract`], [`review`], [`status`], [`audit`], [`me`].
//!
//! # Adding an operation
//!
//! A handler in its resource's file, annotated `#[utoipa::path(...)]`
//! (path, tag, request body, responses with the shared error groups of
//! [`problem`], `security(("bearer" = []))`), that starts with
//! `caller.authorize(&api.node, Operation::X, cost)` and reads its body
//! with [`input::JsonBody`]; and one line in [`routes`]. The document, the
//! 404/405 answers and the route test in `tests/tests/api.rs` follow by
//! themselves.

// A `Problem` (about 150 bytes) is the error of every reader and handler
// here; it is the cold path, built once per refused request, and boxing it
// would only move the allocation.
#![allow(clippy::result_large_err)]

pub mod audit;
pub mod extract;
pub mod feedback;
pub mod indicators;
pub mod input;
pub mod lookup;
pub mod me;
pub mod model;
pub mod names;
pub mod problem;
pub mod review;
pub mod status;
pub mod takedowns;

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::node::Node;
use problem::Problem;

/// Where the API lives.
pub const PREFIX: &str = "/api/v1";

/// The state of the API's routes.
#[derive(Debug)]
pub struct Api {
    node: Arc<Node>,
    /// Largest request body taken.
    body_limit: usize,
    /// The OpenAPI document, serialized once.
    document: String,
}

/// A JSON response.
pub(crate) fn json<T: Serialize>(status: StatusCode, value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(body) => (status, [(header::CONTENT_TYPE, "application/json")], body).into_response(),
        Err(e) => Problem::internal(&format!("cannot encode the response: {e}")).into_response(),
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Jaring node HTTP API",
        description = "Scam and trafficking indicators shared between ministries: submit (crawlers, analysts), \
                       look up in bulk (platforms), review, feedback, status and the audit log (auditors). \
                       Every request carries a token (Authorization: Bearer <token>) of a role; what a role may \
                       call is the permission table of the README, and what a token may read is its scope \
                       (TLP ceiling, kinds, categories). Errors are RFC 9457 problems.",
        license(name = "Apache-2.0")
    ),
    components(schemas(Problem)),
    modifiers(&Bearer),
    tags(
        (name = "indicators", description = "Submit, list, read and revoke indicators"),
        (name = "lookup", description = "Look values up, one or in bulk"),
        (name = "feedback", description = "Sightings, takedown outcomes, false positives"),
        (name = "takedowns", description = "Takedown cases: a platform's queue and answers, requests, service levels"),
        (name = "extract", description = "Candidate indicators from free text"),
        (name = "review", description = "The review queue"),
        (name = "node", description = "The node's status"),
        (name = "audit", description = "The audit log"),
        (name = "tokens", description = "The calling token"),
        (name = "document", description = "This document"),
    )
)]
struct Document;

/// The bearer token scheme every operation names.
struct Bearer;

impl utoipa::Modify for Bearer {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("A token from `jaring token create` (or the node's admin.token)"))
                    .build(),
            ),
        );
    }
}

/// This document.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "document",
    operation_id = "openapi",
    responses((status = 200, description = "The OpenAPI 3.1 document of this API", content_type = "application/json", body = Object)),
    security(())
)]
async fn openapi_json(State(api): State<Arc<Api>>) -> Response {
    (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], api.document.clone()).into_response()
}

/// Every route of the API, each with its place in the document.
fn routes() -> OpenApiRouter<Arc<Api>> {
    OpenApiRouter::with_openapi(Document::openapi())
        .routes(routes!(indicators::submit, indicators::list))
        .routes(routes!(indicators::get_one, indicators::revoke))
        .routes(routes!(lookup::lookup_one, lookup::lookup_many))
        .routes(routes!(feedback::add))
        .routes(routes!(takedowns::list, takedowns::request))
        .routes(routes!(takedowns::stats))
        .routes(routes!(takedowns::get_one))
        .routes(routes!(takedowns::acknowledge))
        .routes(routes!(takedowns::outcome))
        .routes(routes!(takedowns::withdraw))
        .routes(routes!(extract::extract))
        .routes(routes!(review::list))
        .routes(routes!(review::get_one, review::decide))
        .routes(routes!(status::status))
        .routes(routes!(audit::list))
        .routes(routes!(audit::verify))
        .routes(routes!(me::me))
        .routes(routes!(openapi_json))
}

/// The OpenAPI document of the API.
pub fn document() -> utoipa::openapi::OpenApi {
    routes().split_for_parts().1
}

/// The paths of the document and the methods each takes, to answer 405
/// with `Allow` and 404 for everything else under [`PREFIX`].
#[derive(Debug, Clone)]
pub struct PathTable(Vec<(Vec<String>, String)>);

impl PathTable {
    fn of(doc: &utoipa::openapi::OpenApi) -> PathTable {
        let mut out = Vec::new();
        for (path, item) in &doc.paths.paths {
            let segments = path.split('/').map(str::to_string).collect();
            let mut methods = Vec::new();
            for (m, op) in [
                ("GET", &item.get),
                ("POST", &item.post),
                ("PUT", &item.put),
                ("PATCH", &item.patch),
                ("DELETE", &item.delete),
            ] {
                if op.is_some() {
                    methods.push(m);
                    if m == "GET" {
                        methods.push("HEAD");
                    }
                }
            }
            out.push((segments, methods.join(", ")));
        }
        PathTable(out)
    }

    /// The methods a path takes, if it is one of the document's.
    pub fn allow(&self, path: &str) -> Option<&str> {
        let given: Vec<&str> = path.split('/').collect();
        self.0
            .iter()
            .find(|(segments, _)| {
                segments.len() == given.len()
                    && segments.iter().zip(&given).all(|(s, g)| (s.starts_with('{') && !g.is_empty()) || s == g)
            })
            .map(|(_, allow)| allow.as_str())
    }

    /// The answer to a request no route took: 405 naming the methods, or 404.
    pub fn unrouted(&self, method: &Method, uri: &Uri) -> Response {
        match self.allow(uri.path()) {
            Some(allow) => Problem::method_not_allowed(method.as_str(), uri.path(), allow).into_response(),
            None => Problem::not_found(format!(
                "{} is not an operation of this API (see {PREFIX}/openapi.json)",
                uri.path()
            ))
            .into_response(),
        }
    }
}

/// The API's routes over `node`, and the table of its paths.
///
/// # Panics
///
/// Never: the document is plain data and always serializes.
pub fn router(node: Arc<Node>) -> (Router, PathTable) {
    let (router, doc) = routes().split_for_parts();
    let table = PathTable::of(&doc);
    let document = doc.to_json().unwrap_or_default();
    let body_limit = node.config().limits.max_message_bytes;
    (router.with_state(Arc::new(Api { node, body_limit, document })), table)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_document_is_openapi_3_1_and_names_every_operation() {
        let doc: serde_json::Value = serde_json::from_str(&document().to_json().unwrap()).unwrap();
        assert_eq!(doc["openapi"], "3.1.0");
        let paths = doc["paths"].as_object().unwrap();
        for p in [
            "/api/v1/indicators",
            "/api/v1/indicators/{id}",
            "/api/v1/lookup",
            "/api/v1/feedback",
            "/api/v1/extract",
            "/api/v1/review",
            "/api/v1/review/{local_seq}",
            "/api/v1/takedowns",
            "/api/v1/takedowns/stats",
            "/api/v1/takedowns/{id}",
            "/api/v1/takedowns/{id}/acknowledge",
            "/api/v1/takedowns/{id}/outcome",
            "/api/v1/takedowns/{id}/withdraw",
            "/api/v1/status",
            "/api/v1/audit",
            "/api/v1/audit/verify",
            "/api/v1/me",
            "/api/v1/openapi.json",
        ] {
            assert!(paths.contains_key(p), "{p} missing");
        }
        assert!(doc["components"]["schemas"]["Problem"].is_object());
        assert!(doc["components"]["schemas"]["Kind"]["enum"].as_array().unwrap().iter().any(|k| k == "bank_account"));
        assert_eq!(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
    }

    #[test]
    fn unrouted_paths_get_405_with_allow_or_404() {
        let table = PathTable::of(&document());
        assert_eq!(table.allow("/api/v1/indicators/abc"), Some("GET, HEAD, DELETE"));
        assert_eq!(table.allow("/api/v1/lookup"), Some("GET, HEAD, POST"));
        assert_eq!(table.allow("/api/v1/indicators//"), None);
        assert_eq!(table.allow("/api/v1/peers"), None);
        let r = table.unrouted(&Method::PUT, &"/api/v1/lookup".parse().unwrap());
        assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(r.headers().get(header::ALLOW).unwrap(), "GET, HEAD, POST");
        let r = table.unrouted(&Method::GET, &"/api/v1/peers".parse().unwrap());
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        assert_eq!(r.headers().get(header::CONTENT_TYPE).unwrap(), problem::PROBLEM_JSON);
    }
}
