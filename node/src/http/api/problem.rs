//! RFC 9457 problem details: how every error of the HTTP API looks, and the
//! one place node errors become HTTP statuses (the twin of
//! `wire::status` for gRPC).
//!
//! A problem is `application/problem+json` with `type` `about:blank` (the
//! status says what happened; `title` is its reason phrase), a `detail` a
//! person can act on, a stable `code`, and `field` naming the part of the
//! request that is wrong (`indicators[3].kind`, a query parameter, a path
//! segment) when one is. 401 carries `WWW-Authenticate`, 429 `Retry-After`
//! (seconds), 405 `Allow`.

use std::collections::BTreeMap;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};

use crate::access::Denied;
use crate::node::NodeError;

/// The media type of problems.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// A problem detail (RFC 9457).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// Always `about:blank`: the status code says what kind of problem it is.
    #[serde(rename = "type")]
    #[schema(example = "about:blank")]
    pub problem_type: &'static str,
    /// The status code's reason phrase.
    #[schema(example = "Bad Request")]
    pub title: String,
    /// The HTTP status code.
    #[schema(example = 400)]
    pub status: u16,
    /// What is wrong, for a person.
    #[schema(example = "value: not a domain name")]
    pub detail: String,
    /// A stable name of the problem, for programs: `invalid_input`,
    /// `unauthorized`, `forbidden`, `not_found`, `conflict`, `rate_limited`,
    /// `too_large`, `unsupported_media_type`, `method_not_allowed`,
    /// `internal`.
    #[schema(example = "invalid_input")]
    pub code: &'static str,
    /// The part of the request that is wrong, when one is.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "indicators[0].value")]
    pub field: Option<String>,
    #[serde(skip)]
    #[schema(ignore)]
    retry_after_s: Option<u64>,
    #[serde(skip)]
    #[schema(ignore)]
    allow: Option<String>,
}

impl Problem {
    /// A problem with this status and code.
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Problem {
        Problem {
            problem_type: "about:blank",
            title: status.canonical_reason().unwrap_or("Error").to_string(),
            status: status.as_u16(),
            detail: detail.into(),
            code,
            field: None,
            retry_after_s: None,
            allow: None,
        }
    }

    /// 400, naming the field.
    pub fn invalid(field: impl Into<String>, detail: impl Into<String>) -> Problem {
        let field = field.into();
        let detail = detail.into();
        let detail = if detail.starts_with(&format!("{field}:")) { detail } else { format!("{field}: {detail}") };
        Problem { field: Some(field), ..Problem::new(StatusCode::BAD_REQUEST, "invalid_input", detail) }
    }

    /// 404.
    pub fn not_found(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::NOT_FOUND, "not_found", detail)
    }

    /// 405, with the methods the path takes.
    pub fn method_not_allowed(method: &str, path: &str, allow: &str) -> Problem {
        Problem {
            allow: Some(allow.to_string()),
            ..Problem::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                format!("{method} is not allowed on {path}; it takes {allow}"),
            )
        }
    }

    /// 413.
    pub fn too_large(limit: usize) -> Problem {
        Problem::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", format!("the body is larger than {limit} bytes"))
    }

    /// 415.
    pub fn unsupported_media_type() -> Problem {
        Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the body as application/json (Content-Type: application/json)",
        )
    }

    /// 500: the store failed (logged), nothing more was done.
    pub fn internal(what: &str) -> Problem {
        tracing::error!(error = %what, "HTTP API: internal failure");
        Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", format!("the node failed: {what}"))
    }

    /// The status code.
    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut r = (status, [(header::CONTENT_TYPE, PROBLEM_JSON)], body).into_response();
        if status == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"jaring\""));
        }
        if let Some(s) = self.retry_after_s
            && let Ok(v) = HeaderValue::from_str(&s.to_string())
        {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
        if let Some(a) = self.allow
            && let Ok(v) = HeaderValue::from_str(&a)
        {
            r.headers_mut().insert(header::ALLOW, v);
        }
        r
    }
}

impl From<Denied> for Problem {
    /// 401 when the token is missing, unknown, revoked or expired; 403 when
    /// it may not do this (role, network, platform); 429 over its rate.
    fn from(d: Denied) -> Problem {
        match &d {
            Denied::RateLimited { retry_after_ms, .. } => Problem {
                retry_after_s: Some(retry_after_ms.div_ceil(1000).max(1)),
                ..Problem::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", d.to_string())
            },
            d if d.is_authentication() => Problem::new(StatusCode::UNAUTHORIZED, "unauthorized", d.to_string()),
            Denied::Platform { .. } => Problem {
                field: Some("platform".into()),
                ..Problem::new(StatusCode::FORBIDDEN, "forbidden", d.to_string())
            },
            d => Problem::new(StatusCode::FORBIDDEN, "forbidden", d.to_string()),
        }
    }
}

impl From<NodeError> for Problem {
    /// The one mapping of node errors to HTTP: bad input 400 (naming the
    /// field), not found 404, conflicts 409, forbidden 403, refused tokens
    /// as [`Denied`], store failures 500.
    fn from(e: NodeError) -> Problem {
        match e {
            NodeError::Input(i) => Problem::invalid(i.field.clone(), i.to_string()),
            NodeError::NotFound(m) => Problem::not_found(m.to_string()),
            NodeError::Conflict(m) => Problem::new(StatusCode::CONFLICT, "conflict", m.to_string()),
            NodeError::Forbidden(m) => Problem::new(StatusCode::FORBIDDEN, "forbidden", m.to_string()),
            NodeError::Access(d) => d.into(),
            NodeError::Store(s) => Problem::internal(&s.to_string()),
        }
    }
}

impl From<crate::store::StoreError> for Problem {
    fn from(e: crate::store::StoreError) -> Problem {
        Problem::internal(&e.to_string())
    }
}

// --- the responses the document names -----------------------------------------

fn problem_response(description: &str) -> ResponseBuilder {
    ResponseBuilder::new()
        .description(description)
        .content(PROBLEM_JSON, ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build())
}

fn header(description: &str) -> utoipa::openapi::header::Header {
    HeaderBuilder::new().schema(ObjectBuilder::new().schema_type(Type::String)).description(Some(description)).build()
}

fn responses(items: Vec<(u16, utoipa::openapi::Response)>) -> BTreeMap<String, RefOr<utoipa::openapi::Response>> {
    items.into_iter().map(|(s, r)| (s.to_string(), RefOr::T(r))).collect()
}

/// The refusals every authenticated operation may answer with: 401, 403,
/// 429, and 500 when the store fails.
#[derive(Debug)]
pub struct AccessErrors;

impl utoipa::IntoResponses for AccessErrors {
    fn responses() -> BTreeMap<String, RefOr<utoipa::openapi::Response>> {
        responses(vec![
            (
                401,
                problem_response("No token, or one that is unknown, revoked or expired")
                    .header("WWW-Authenticate", header("Bearer realm=\"jaring\""))
                    .build(),
            ),
            (403, problem_response("The token's role, network or platform does not allow this").build()),
            (
                429,
                problem_response("The token is over its rate")
                    .header("Retry-After", header("Seconds until a request of the same cost would pass"))
                    .build(),
            ),
            (500, problem_response("The node's store failed; nothing was changed").build()),
        ])
    }
}

/// What a request with a bad query, path or body answers: 400 naming the
/// field.
#[derive(Debug)]
pub struct InputErrors;

impl utoipa::IntoResponses for InputErrors {
    fn responses() -> BTreeMap<String, RefOr<utoipa::openapi::Response>> {
        responses(vec![(400, problem_response("The request is malformed; `field` names what is wrong").build())])
    }
}

/// What a request with a JSON body may answer besides [`InputErrors`]: 413
/// and 415.
#[derive(Debug)]
pub struct BodyErrors;

impl utoipa::IntoResponses for BodyErrors {
    fn responses() -> BTreeMap<String, RefOr<utoipa::openapi::Response>> {
        responses(vec![
            (400, problem_response("The request is malformed; `field` names what is wrong").build()),
            (413, problem_response("The body is larger than the node takes").build()),
            (415, problem_response("The body is not application/json").build()),
        ])
    }
}

/// 404.
#[derive(Debug)]
pub struct NotFoundError;

impl utoipa::IntoResponses for NotFoundError {
    fn responses() -> BTreeMap<String, RefOr<utoipa::openapi::Response>> {
        responses(vec![(
            404,
            problem_response("Nothing of that name or id is held here (or visible to this token)").build(),
        )])
    }
}

/// 409.
#[derive(Debug)]
pub struct ConflictError;

impl utoipa::IntoResponses for ConflictError {
    fn responses() -> BTreeMap<String, RefOr<utoipa::openapi::Response>> {
        responses(vec![(409, problem_response("The request conflicts with what the node holds").build())])
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::access::{Operation, Rate, Role};

    #[test]
    fn refusals_map_to_401_403_429() {
        let p: Problem = Denied::UnknownToken.into();
        assert_eq!((p.status, p.code), (401, "unauthorized"));
        let r = p.into_response();
        assert!(r.headers().contains_key(header::WWW_AUTHENTICATE));
        let p: Problem = Denied::Role { name: "m".into(), role: Role::Platform, operation: Operation::AddPeer }.into();
        assert_eq!(p.status, 403);
        assert_eq!(p.detail, "this token's role (platform) may not add peers");
        let p: Problem =
            Denied::RateLimited { name: "m".into(), rate: Rate::per_second(1), retry_after_ms: 1500 }.into();
        assert_eq!(p.status, 429);
        let r = p.into_response();
        assert_eq!(r.headers().get(header::RETRY_AFTER).unwrap(), "2");
        assert_eq!(r.headers().get(header::CONTENT_TYPE).unwrap(), PROBLEM_JSON);
    }

    #[test]
    fn input_errors_name_the_field_once() {
        let p = Problem::invalid("value", "value: not a domain");
        assert_eq!((p.detail.as_str(), p.field.as_deref()), ("value: not a domain", Some("value")));
        let p = Problem::invalid("limit", "must be 1 to 10000");
        assert_eq!(p.detail, "limit: must be 1 to 10000");
    }
}
