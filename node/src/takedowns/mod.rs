//! What keeps takedown cases moving while no one looks, and what tells the
//! world about them: the edges of [`crate::node::Node`]'s takedown service
//! (`node/takedown.rs`).
//!
//! - [`config`]: `[takedown]` in `node.toml` (default due time, webhooks).
//! - [`expiry`]: the task that wakes at the next due time and publishes
//!   `expired` events through the ledger.
//! - [`webhook`]: the optional push of new and withdrawn cases to each
//!   platform's URL, signed with HMAC-SHA256 and retried with capped
//!   backoff.
//! - [`metrics`]: `jaring_takedown_open{platform,state}` and the histogram
//!   of time to outcome, read from the cases at scrape time.

pub mod config;
pub mod expiry;
pub mod metrics;
pub mod webhook;
