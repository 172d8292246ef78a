//! Federation: signed indicators between nodes over mutually authenticated
//! gRPC (`jaring.v1.Federation`).
//!
//! - [`publisher`]: serves `Subscribe`, streaming this node's log after the
//!   subscriber's cursor, filtered by the outbound agreement with that peer,
//!   then tailing it live, with cursor-advancing heartbeats.
//! - [`subscriber`]: one task per peer that dials it, verifies what arrives
//!   (batch ed25519 verification), applies the inbound policy and hands
//!   batches to the ledger, which stores them and the cursor in one durable
//!   commit. Reconnects with capped exponential backoff.
//! - [`supervisor`]: keeps the TLS trust set and the subscriber tasks in
//!   step with the peer set, so trust changes apply without a restart.
//! - [`witness`]: peers as witnesses of each other's transparency logs:
//!   fetching, judging and cosigning a followed peer's checkpoints,
//!   sending cosignatures on, and serving this node's own checkpoint and
//!   tiles.

pub mod error;
pub mod publisher;
pub mod subscriber;
pub mod supervisor;
pub mod witness;

pub use supervisor::run;
