//! The admin gRPC API's door: a tower layer in front of every admin
//! method that maps the method path to an [`Operation`] ([`operation`],
//! the one table of this interface), checks the caller's token for it
//! ([`Node::authorize`]: revocation, expiry, source network, role, rate),
//! and hands the handler a [`Session`] (the token's scope, the audit log's
//! actor) in the request's extensions. A method the table does not name is
//! refused: nothing is reachable by omission.
//!
//! gRPC health and reflection (other services on the same listener) pass
//! without a token, as before.
//!
//! Refusals: `UNAUTHENTICATED` for a missing, unknown, revoked or expired
//! token; `PERMISSION_DENIED` with e.g. "this token's role (platform) may
//! not add peers"; `RESOURCE_EXHAUSTED` (with `retry-after`) over its rate.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tonic::transport::server::TcpConnectInfo;

use super::Actor;
use crate::access::{Operation, Session};
use crate::node::Node;
use crate::wire::status::denied_status;

/// The admin service's path prefix.
pub const SERVICE: &str = "/jaring.v1.Admin/";

/// The operation each admin method asks for.
pub fn operation(method: &str) -> Option<Operation> {
    use Operation as O;
    Some(match method {
        "SubmitIndicators" | "SubmitIndicatorStream" => O::SubmitIndicators,
        "RevokeIndicator" => O::RevokeIndicator,
        "ListIndicators" => O::ListIndicators,
        "Lookup" => O::LookupValues,
        "Status" | "LogCheckpoint" => O::ReadStatus,
        "LogProve" => O::ListIndicators,
        "ExportIdentity" => O::ExportIdentity,
        "AddPeer" => O::AddPeer,
        "ListPeers" | "GetPeer" => O::ListPeers,
        "UpdatePeer" => O::UpdatePeer,
        "RemovePeer" => O::RemovePeer,
        "ListQuarantine" => O::ListReview,
        "DecideQuarantine" => O::DecideReview,
        "AddFeedback" => O::AddFeedback,
        // A platform answers its own queue over HTTPS; here an admin or an
        // analyst answers for one.
        "RequestTakedown"
        | "ListTakedowns"
        | "GetTakedown"
        | "WithdrawTakedown"
        | "TakedownQueue"
        | "AcknowledgeTakedown"
        | "TakedownOutcome"
        | "TakedownStats"
        | "CreateReferral"
        | "ExportEvidence" => O::ManageTakedowns,
        "AllowlistAdd" | "AllowlistRemove" | "AllowlistImport" => O::ChangeAllowlists,
        "AllowlistList" | "AllowlistLists" | "AllowlistCheck" => O::ListAllowlists,
        "ListKeys" => O::ListKeys,
        "RotateKey" => O::RotateKey,
        "RevokeKey" => O::RevokeKey,
        "ReloadTls" => O::ReloadTls,
        "ListAudit" => O::ListAudit,
        "VerifyAudit" => O::VerifyAudit,
        "CreateToken" => O::CreateToken,
        "ListTokens" | "GetToken" => O::ListTokens,
        "RevokeToken" => O::RevokeToken,
        "WhoAmI" => O::WhoAmI,
        _ => return None,
    })
}

/// The layer (see the module documentation).
#[derive(Debug, Clone)]
pub struct AuthzLayer {
    node: Arc<Node>,
}

impl AuthzLayer {
    /// Checks admin calls against `node`'s tokens.
    pub fn new(node: Arc<Node>) -> AuthzLayer {
        AuthzLayer { node }
    }
}

impl<S> tower::Layer<S> for AuthzLayer {
    type Service = Authz<S>;
    fn layer(&self, inner: S) -> Authz<S> {
        Authz { inner, node: self.node.clone() }
    }
}

/// See [`AuthzLayer`].
#[derive(Debug, Clone)]
pub struct Authz<S> {
    inner: S,
    node: Arc<Node>,
}

fn header<'a, B>(req: &'a axum::http::Request<B>, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

impl<S, B, R> tower::Service<axum::http::Request<B>> for Authz<S>
where
    S: tower::Service<axum::http::Request<B>, Response = axum::http::Response<R>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
    R: Default,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: axum::http::Request<B>) -> Self::Future {
        // The clone is fresh; the one polled ready goes with this call.
        let fresh = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, fresh);
        let Some(method) = req.uri().path().strip_prefix(SERVICE).map(str::to_string) else {
            return Box::pin(inner.call(req));
        };
        let node = self.node.clone();
        let secret = header(&req, "authorization")
            .and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")))
            .map(|t| zeroize::Zeroizing::new(t.trim().to_string()));
        let operator = header(&req, "x-jaring-operator").map(str::to_string);
        let from = req
            .extensions()
            .get::<TcpConnectInfo>()
            .and_then(|i| i.remote_addr)
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |a| a.ip());
        Box::pin(async move {
            let Some(op) = operation(&method) else {
                let status = tonic::Status::permission_denied(format!("{method}: not an operation of this node"));
                return Ok(status.into_http());
            };
            match node.authorize(secret.as_deref().map(String::as_str), from, op, 1, operator.as_deref()).await {
                Ok(session) => {
                    req.extensions_mut().insert(Actor(session.actor.clone()));
                    req.extensions_mut().insert(Caller { session, from });
                    inner.call(req).await
                }
                Err(d) => Ok(denied_status(&d).into_http()),
            }
        })
    }
}

/// What a handler knows of its caller: the session and its address.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The token's session.
    pub session: Session,
    /// The client's address.
    pub from: IpAddr,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_admin_method_has_an_operation() {
        use prost::Message;
        let set = prost_types::FileDescriptorSet::decode(jaring_proto::FILE_DESCRIPTOR_SET).unwrap_or_default();
        let mut methods = 0;
        for file in set.file {
            for service in file.service.iter().filter(|s| s.name() == "Admin") {
                for m in &service.method {
                    assert!(operation(m.name()).is_some(), "{} has no operation in admin/authz.rs", m.name());
                    methods += 1;
                }
            }
        }
        assert!(methods > 25, "the Admin service was not found ({methods} methods)");
        assert_eq!(operation("AddPeer"), Some(Operation::AddPeer));
        assert_eq!(operation("NoSuchMethod"), None);
    }
}
