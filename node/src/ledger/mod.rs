//! The ledger: the single writer of the store.
//!
//! One thread owns sequencing. It takes commands from a queue, applies as
//! many as are waiting (up to `limits.commit_batch` writes) to one
//! read-your-writes transaction ([`txn`]), commits that transaction durably,
//! and only then answers every caller: group commit, so a flush is shared by
//! everything that arrived while the previous one ran.
//!
//! What it does per command, one file per job:
//! - [`publish`]: this node's own entries (indicators, tombstones, key
//!   events, feedback). Assigns the next origin_seq and prev_hash, signs
//!   (on every core for a large batch), appends, indexes.
//! - [`ingest`]: verified envelopes from a peer. Drops duplicates by
//!   (origin, origin_seq), refuses forks, chain breaks and stale versions
//!   (keeping fork evidence and auditing every refusal), appends the rest,
//!   indexes or quarantines them, and moves the peer's cursor in the same
//!   commit.
//! - [`keys`]: key events, from this node or a peer, applied to the key
//!   table and the key ring.
//! - [`review`]: an analyst's decision on a quarantined entry.
//! - Raw admin writes (peers, keys, allowlists) with their audit entries.
//!
//! The commit path ([`writer`]) is shared by all of them: one batch, one
//! durable commit, then the in-memory state readers see ([`Committed`]) is
//! moved forward and every caller answered. [`command`] holds what callers
//! send and get back.

mod command;
mod committed;
mod ingest;
mod keys;
mod publish;
mod review;
mod txn;
mod writer;

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot, watch};

use crate::audit::AuditDraft;
use crate::keys::SigningKey;
use crate::store::records::QuarantineRecord;
use crate::store::{Batch, Store, StoreError};

use self::command::Command;
pub use self::command::{DecideError, IngestBatch, IngestReport, LedgerConfig, Publish, PublishError, Stored};
pub use self::committed::Committed;

/// Handle to the writer.
#[derive(Debug, Clone)]
pub struct Ledger {
    tx: mpsc::Sender<Command>,
    head: watch::Receiver<u64>,
}

impl Ledger {
    /// Starts the writer thread.
    ///
    /// # Errors
    ///
    /// Store failures while loading state.
    pub fn start(
        store: Store,
        config: LedgerConfig,
        key: Arc<SigningKey>,
        committed: Arc<Committed>,
    ) -> Result<(Ledger, std::thread::JoinHandle<()>), StoreError> {
        let state = writer::State::load(store, config, key, committed)?;
        let (head_tx, head_rx) = watch::channel(state.log_head());
        let (tx, rx) = mpsc::channel(1024);
        let handle = std::thread::Builder::new()
            .name("jaring-ledger".into())
            .spawn(move || state.run(rx, head_tx))
            .map_err(|e| StoreError::Engine(format!("cannot start the ledger thread: {e}")))?;
        Ok((Ledger { tx, head: head_rx }, handle))
    }

    /// The newest local log position, updated after every commit.
    pub fn head(&self) -> watch::Receiver<u64> {
        self.head.clone()
    }

    async fn call<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> Command) -> Result<T, StoreError> {
        let (reply, rx) = oneshot::channel();
        self.tx.send(make(reply)).await.map_err(|_| StoreError::Engine("the ledger has stopped".into()))?;
        rx.await.map_err(|_| StoreError::Engine("the ledger has stopped".into()))
    }

    /// Publishes this node's own entries; durable when it returns.
    ///
    /// # Errors
    ///
    /// [`StoreError`] if the ledger is gone; per-item errors inside.
    pub async fn publish(
        &self,
        items: Vec<Publish>,
        audit: Vec<AuditDraft>,
    ) -> Result<Vec<Result<Stored, PublishError>>, StoreError> {
        self.call(|reply| Command::Publish { items, audit, reply }).await
    }

    /// Stores verified envelopes from a peer; durable when it returns.
    ///
    /// # Errors
    ///
    /// Store failures; then nothing of the batch (cursor included) is stored.
    pub async fn ingest(&self, batch: IngestBatch) -> Result<IngestReport, StoreError> {
        self.call(|reply| Command::Ingest { batch, reply }).await?
    }

    /// Applies admin writes and audits them in one commit.
    ///
    /// # Errors
    ///
    /// Store failures.
    pub async fn apply(&self, batch: Batch, audit: Vec<AuditDraft>) -> Result<(), StoreError> {
        self.call(|reply| Command::Apply { batch, audit, reply }).await?
    }

    /// Records a review decision.
    ///
    /// # Errors
    ///
    /// [`DecideError`].
    pub async fn decide(
        &self,
        local_seq: u64,
        accept: bool,
        note: String,
        actor: String,
    ) -> Result<QuarantineRecord, DecideError> {
        self.call(|reply| Command::Decide { local_seq, accept, note, actor, reply }).await?
    }

    /// Switches the signing key for new entries.
    ///
    /// # Errors
    ///
    /// If the ledger is gone.
    pub async fn set_signing_key(&self, key: Arc<SigningKey>) -> Result<(), StoreError> {
        self.call(|reply| Command::SetSigningKey { key, reply }).await
    }
}
