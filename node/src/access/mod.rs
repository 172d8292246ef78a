//! Access: who may call what, on every interface.
//!
//! The rules are plain types in the domain ([`jaring_domain::access`],
//! re-exported here): [`Role`], [`Permission`], [`Operation`] with the one
//! table from operation to permission ([`Operation::permission`]) and from
//! role to permission ([`Role::may`]), [`Scope`] (what a token may read),
//! [`TokenRecord`] and [`Denied`]. This module holds the node's side:
//!
//! - [`credentials`]: every token the node accepts, in memory
//!   ([`Credentials`]), the check each request goes through
//!   ([`Credentials::authenticate`]) and the [`Session`] an edge hands on;
//! - [`limiter`]: a token bucket per token (the rate per token, default per
//!   role);
//! - [`legacy`]: the TAXII consumer tokens of `http-tokens.json`, honoured
//!   as `reader` tokens;
//! - [`secret`]: making a token's secret.
//!
//! The edges consult it in one place each: the admin gRPC server through a
//! tower layer that maps the method path to an [`Operation`]
//! (`admin::authz`), the HTTPS listener through one function
//! (`http::auth`), used by the HTTP API, TAXII and the MISP feed. Token
//! changes go through the node (`Node::create_token`, `Node::revoke_token`),
//! so they are durable and audited in one commit.

pub mod credentials;
pub mod legacy;
pub mod limiter;
pub mod secret;

pub use credentials::{ADMIN, Credentials, Principal, Session, Source};
pub use jaring_domain::access::*;
pub use limiter::batch_cost;
