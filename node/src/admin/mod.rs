//! The admin gRPC API (`jaring.v1.Admin`).
//!
//! Served on its own listener, loopback by default. Every call carries a
//! token of some role (the node's `DIR/admin.token` is the built-in
//! `admin`, [`auth`]); [`authz`] maps the method to an operation and checks
//! the token for it in one place, and every call runs as the actor it
//! names (the token, plus the operator the CLI reports), which the audit
//! log records. Errors become gRPC statuses in one place
//! (`crate::wire::status`).
//!
//! Takedown cases, referrals and evidence packages are handled in
//! [`takedown`].
//!
//! The listener speaks TLS with the node's own certificate
//! ([`listener`]); clients dial it with [`channel`], which verifies the
//! node before the token is sent.

pub mod auth;
pub mod authz;
pub mod channel;
pub mod listener;
pub mod ops;
pub mod service;
pub mod takedown;

pub use auth::{Actor, AdminAuth};
pub use service::AdminService;
