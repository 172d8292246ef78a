//! The admin gRPC API (`jaring.v1.Admin`).
//!
//! Served on its own listener, loopback by default, and authenticated by the
//! bearer token in `DIR/admin.token` ([`auth`]). Every call runs as an actor
//! named by the token check (plus the operator the CLI reports), which the
//! audit log records. Errors become gRPC statuses in one place
//! (`crate::wire::status`).
//!
//! The listener speaks TLS with the node's own certificate
//! ([`listener`]); clients dial it with [`channel`], which verifies the
//! node before the token is sent.

pub mod auth;
pub mod channel;
pub mod listener;
pub mod ops;
pub mod service;

pub use auth::{Actor, AdminAuth};
pub use service::AdminService;
