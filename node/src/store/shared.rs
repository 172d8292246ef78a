//! A store that several node processes share (PostgreSQL), and how they
//! agree that exactly one of them writes.
//!
//! An embedded engine belongs to one process, which is always its writer.
//! A shared engine ([`super::Engine::shared`]) is opened by several: one
//! holds the writer lease and commits, fenced by the lease's token (a
//! commit under a token that is no longer current fails with
//! [`super::StoreError::NotWriter`], so a paused or partitioned old writer
//! cannot commit after its successor started); the others follow the
//! writer's commits ([`ChangeMarks`]) to keep what they hold in memory in
//! step, serve reads, and take the lease over when it expires.

use std::collections::HashMap;
use std::time::Duration;

use tokio::sync::watch;

use super::{Keyspace, StoreError};

/// Who writes a shared store, as the writer recorded it when it took the
/// lease: where to send writes.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WriterInfo {
    /// The process (host, pid, start): unique per start.
    pub holder: String,
    /// Its admin API address.
    pub admin: String,
    /// Its federation endpoint.
    pub federation: String,
    /// Its HTTPS listener, if any.
    pub http: Option<String>,
}

/// How far the writer's commits have gone, as a follower reads it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChangeMarks {
    /// The newest log position committed.
    pub log_head: u64,
    /// Per keyspace, how many commits changed it.
    pub versions: HashMap<Keyspace, u64>,
}

impl ChangeMarks {
    /// How many commits changed `ks`.
    pub fn version(&self, ks: Keyspace) -> u64 {
        self.versions.get(&ks).copied().unwrap_or(0)
    }
}

/// What a process may be on a shared store (`[store] role`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreRole {
    /// Writer when it holds the lease; else a standby that takes over when
    /// the writer's lease expires.
    #[default]
    Auto,
    /// Never writes: a lookup process (e.g. on a read replica).
    Reader,
}

/// The operations of a shared store beyond [`super::Engine`].
pub trait SharedStore: Send + Sync + std::fmt::Debug {
    /// Whether this process may ever become the writer.
    fn may_write(&self) -> bool;

    /// Tries once to take the writer lease, recording `me` as the writer.
    /// `Some(token)`: this process is the writer under a new fencing token,
    /// renewed in the background until it is lost or released.
    ///
    /// # Errors
    ///
    /// Engine failures.
    fn try_acquire(&self, me: &WriterInfo) -> Result<Option<u64>, StoreError>;

    /// Gives the lease up so a standby takes over at once (clean shutdown).
    ///
    /// # Errors
    ///
    /// Engine failures.
    fn release(&self) -> Result<(), StoreError>;

    /// The token of the lease this process holds, `None` while it holds
    /// none; changes when the lease is taken, lost or released.
    fn lease(&self) -> watch::Receiver<Option<u64>>;

    /// The current writer, if a live lease names one.
    ///
    /// # Errors
    ///
    /// Engine failures.
    fn writer(&self) -> Result<Option<WriterInfo>, StoreError>;

    /// How far the writer's commits have gone, read where this process
    /// reads (the replica, for a standby with `read_url`).
    ///
    /// # Errors
    ///
    /// Engine failures.
    fn changes(&self) -> Result<ChangeMarks, StoreError>;

    /// How far the read replica is behind its primary; `None` without a
    /// replica (or while this process is the writer and reads the primary).
    ///
    /// # Errors
    ///
    /// Engine failures.
    fn replica_lag(&self) -> Result<Option<Duration>, StoreError>;

    /// How often a standby looks for new commits and an expired lease.
    fn poll_interval(&self) -> Duration;

    /// Lookups' first reads so far: (requests, queries sent for them).
    /// Requests that arrive while every reading session is busy go to the
    /// server together, so under load there are fewer queries than
    /// requests.
    fn first_reads(&self) -> (u64, u64);
}
