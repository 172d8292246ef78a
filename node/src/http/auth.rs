//! The HTTPS listener's one door: every request that needs a token (the
//! HTTP API, TAXII, the MISP feed) is checked here, against the node's
//! tokens ([`crate::access`]), for the [`Operation`] it asks for.
//!
//! A token is sent as `Authorization: Bearer <token>` or, for TAXII and
//! MISP clients that only speak Basic authentication, as the Basic
//! password (the user name is ignored). The client's address is the TCP
//! peer of the connection ([`ClientAddr`], set by [`super::conn`]):
//! `X-Forwarded-For` is not trusted, so behind a reverse proxy the
//! networks a token is bound to must name the proxy.

use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use zeroize::Zeroizing;

use crate::access::{Denied, Operation, Session};
use crate::node::Node;

/// The TCP peer of the connection a request came on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub SocketAddr);

/// The header a client may name the person behind a request in (the
/// audit log records it after the token's name).
pub const OPERATOR_HEADER: &str = "x-jaring-operator";

/// Who is calling: the presented token, the client's address, the
/// operator it names. Extracting it never fails; [`Caller::authorize`]
/// decides.
pub struct Caller {
    secret: Option<Zeroizing<String>>,
    /// The client's address (unspecified when the connection did not say,
    /// which no network a token is bound to contains).
    pub from: IpAddr,
    operator: Option<String>,
}

impl std::fmt::Debug for Caller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Caller")
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field("from", &self.from)
            .field("operator", &self.operator)
            .finish()
    }
}

/// The token a request carries: Bearer, or the Basic password.
pub fn presented_token(headers: &HeaderMap) -> Option<Zeroizing<String>> {
    let auth = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok())?;
    let (scheme, rest) = auth.split_once(' ')?;
    if scheme.eq_ignore_ascii_case("bearer") {
        return Some(Zeroizing::new(rest.trim().to_string()));
    }
    if scheme.eq_ignore_ascii_case("basic") {
        use base64::Engine;
        let decoded = Zeroizing::new(base64::engine::general_purpose::STANDARD.decode(rest.trim()).ok()?);
        let text = std::str::from_utf8(&decoded).ok()?;
        return text.split_once(':').map(|(_, p)| Zeroizing::new(p.to_string()));
    }
    None
}

impl Caller {
    /// The caller of a request with these headers, from `from`.
    pub fn new(headers: &HeaderMap, from: IpAddr) -> Caller {
        let operator = headers.get(OPERATOR_HEADER).and_then(|v| v.to_str().ok()).map(str::to_string);
        Caller { secret: presented_token(headers), from, operator }
    }

    /// Checks the caller for `operation` at `cost` units of its rate.
    ///
    /// # Errors
    ///
    /// The [`Denied`] that applies (audited by the node when the token is
    /// known).
    pub async fn authorize(&self, node: &Node, operation: Operation, cost: u32) -> Result<Session, Denied> {
        node.authorize(self.secret.as_deref().map(String::as_str), self.from, operation, cost, self.operator.as_deref())
            .await
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Caller, Infallible> {
        let from = parts.extensions.get::<ClientAddr>().map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |a| a.0.ip());
        Ok(Caller::new(&parts.headers, from))
    }
}
