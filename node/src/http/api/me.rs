//! `GET /api/v1/me`: the calling token (name, role, scope, bindings, rate),
//! so a client, and the browser console, know what they may do.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;
use utoipa::ToSchema;

use super::input::Query;
use super::names::{ApiCategory, ApiKind, ApiRole, ApiTlp};
use super::problem::{AccessErrors, InputErrors, Problem};
use super::{Api, json};
use crate::access::{Operation, Principal};
use crate::http::auth::Caller;

/// A token, without its secret.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TokenOut {
    /// Its name: the audit log's actor for changes made with it.
    pub name: String,
    /// Its role.
    pub role: ApiRole,
    /// The most restricted TLP it may read.
    pub max_tlp: ApiTlp,
    /// Kinds it may read (empty: all).
    pub kinds: Vec<ApiKind>,
    /// Categories it may read (empty: all).
    pub categories: Vec<ApiCategory>,
    /// The platform it speaks for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// When it expires.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at_ms: Option<i64>,
    /// Networks it may be used from (empty: any).
    pub allow_from: Vec<String>,
    /// Its rate, units per second (absent: unlimited).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate_per_s: Option<u32>,
    /// Units it may spend at once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate_burst: Option<u32>,
    /// `admin_token`, `store` or `file`.
    pub source: String,
}

impl From<&Principal> for TokenOut {
    fn from(p: &Principal) -> TokenOut {
        let r = p.record();
        TokenOut {
            name: r.name.clone(),
            role: r.role.into(),
            max_tlp: r.scope.max_tlp.into(),
            kinds: r.scope.kinds.iter().copied().map(ApiKind).collect(),
            categories: r.scope.categories.iter().copied().map(ApiCategory).collect(),
            platform: r.platform.clone(),
            expires_at_ms: r.expires_at_ms,
            allow_from: r.allow_from.iter().map(ToString::to_string).collect(),
            rate_per_s: p.rate().map(|r| r.per_s),
            rate_burst: p.rate().map(|r| r.burst),
            source: p.source().as_str().to_string(),
        }
    }
}

/// The calling token.
#[utoipa::path(
    get,
    path = "/api/v1/me",
    tag = "tokens",
    operation_id = "who_am_i",
    responses(
        (status = 200, description = "The token this request was made with", body = TokenOut),
        InputErrors,
        AccessErrors,
    ),
    security(("bearer" = []))
)]
pub async fn me(State(api): State<Arc<Api>>, caller: Caller, RawQuery(raw): RawQuery) -> Result<Response, Problem> {
    let session = caller.authorize(&api.node, Operation::WhoAmI, 1).await?;
    Query::parse(raw.as_deref(), &[])?;
    Ok(json(StatusCode::OK, &TokenOut::from(session.principal.as_ref())))
}
