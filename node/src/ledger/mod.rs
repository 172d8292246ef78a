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
//! - [`health`]: whether the last commit succeeded, for health checks.
//!
//! The commit path ([`writer`]) is shared by all of them: one batch, one
//! durable commit, then the in-memory state readers see ([`Committed`]) is
//! moved forward and every caller answered. [`command`] holds what callers
//! send and get back. [`tree`] keeps the log's transparency-log tree in
//! the same commits (its tiles beside the entries they cover) and checks
//! it at start.
//!
//! On a store several processes share (PostgreSQL), the thread is the
//! writer only while this process holds the writer lease; otherwise it
//! follows the writer's commits and refuses commands ([`standby`]).

mod command;
mod committed;
mod health;
mod ingest;
mod keys;
mod publish;
mod review;
mod standby;
pub mod tree;
mod txn;
mod writer;

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot, watch};

use crate::audit::AuditDraft;
use crate::keys::SigningKey;
use crate::store::records::QuarantineRecord;
use crate::store::{Batch, Store, StoreError, WriterInfo};

use self::command::Command;
pub use self::command::{
    DecideError, IngestBatch, IngestReport, LedgerConfig, Publish, PublishError, Stored, StoredBytes,
};
pub use self::committed::Committed;
pub use self::health::StoreHealth;
pub use self::standby::Role;
pub use self::tree::TreeHead;

/// Handle to the writer.
#[derive(Debug, Clone)]
pub struct Ledger {
    tx: mpsc::Sender<Command>,
    head: watch::Receiver<u64>,
    tree_head: watch::Receiver<Option<TreeHead>>,
    health: watch::Receiver<StoreHealth>,
    role: watch::Receiver<Role>,
    followed: watch::Receiver<u64>,
    /// The senders that no thread holds (an embedded store's role and
    /// followed count never change; a closed channel would read as
    /// "stopped"), and the tree head's and health's, which outlive each
    /// takeover's writer state.
    _senders: Arc<Senders>,
}

#[derive(Debug)]
struct Senders {
    _role: Option<watch::Sender<Role>>,
    _followed: Option<watch::Sender<u64>>,
    _tree_head: Arc<watch::Sender<Option<TreeHead>>>,
    _health: Arc<watch::Sender<StoreHealth>>,
}

impl Ledger {
    /// Starts the writer thread. On a shared store it first tries once to
    /// take the writer lease, advertising `me`, so a process alone on its
    /// database is the writer when this returns; `index_at` is the log
    /// position the lookup index was loaded up to.
    ///
    /// # Errors
    ///
    /// Store failures while loading state.
    pub fn start(
        store: Store,
        config: LedgerConfig,
        key: Arc<SigningKey>,
        committed: Arc<Committed>,
        me: WriterInfo,
        index_at: u64,
    ) -> Result<(Ledger, std::thread::JoinHandle<()>), StoreError> {
        let (health_tx, health) = watch::channel(StoreHealth::default());
        let health_tx = Arc::new(health_tx);
        let (tree_tx, tree_head) = watch::channel(None);
        let tree_tx = Arc::new(tree_tx);
        let (tx, rx) = mpsc::channel(1024);
        let (followed_tx, followed) = watch::channel(0);
        let spawn = |f: Box<dyn FnOnce() + Send>| {
            std::thread::Builder::new()
                .name("jaring-ledger".into())
                .spawn(f)
                .map_err(|e| StoreError::Engine(format!("cannot start the ledger thread: {e}")))
        };
        let Some(shared) = store.shared() else {
            let state = writer::State::load(store, config, key, committed, health_tx.clone(), tree_tx.clone())?;
            let (head_tx, head_rx) = watch::channel(state.log_head());
            let (role_tx, role) = watch::channel(Role::Writer);
            let handle = spawn(Box::new(move || state.run(rx, head_tx)))?;
            let senders =
                Senders { _role: Some(role_tx), _followed: Some(followed_tx), _tree_head: tree_tx, _health: health_tx };
            let ledger = Ledger { tx, head: head_rx, tree_head, health, role, followed, _senders: Arc::new(senders) };
            return Ok((ledger, handle));
        };
        // What readers need before the first commit is followed: the
        // origins lookups look for, the key ring, the review holds.
        let marks = shared.changes()?;
        committed.lookup.set_origins(store.heads()?.iter().map(|(o, _)| o.as_str()));
        writer::load_keyring(&store, &committed)?;
        writer::load_hidden(&store, &committed)?;
        let acquired = shared.try_acquire(&me)?.is_some();
        let first_role = match (acquired, shared.may_write()) {
            (true, _) => Role::Writer,
            (false, true) => Role::Standby { writer: shared.writer()? },
            (false, false) => Role::Reader { writer: shared.writer()? },
        };
        let (head_tx, head_rx) = watch::channel(index_at);
        let (role_tx, role) = watch::channel(first_role);
        let run = standby::Shared {
            store,
            config,
            key,
            committed,
            me,
            follower: standby::Follower { seen: index_at, marks },
            signals: standby::Signals {
                head: head_tx,
                role: role_tx,
                followed: followed_tx,
                health: health_tx.clone(),
                tree_head: tree_tx.clone(),
            },
        };
        let handle = spawn(Box::new(move || run.run(rx)))?;
        let senders = Senders { _role: None, _followed: None, _tree_head: tree_tx, _health: health_tx };
        let ledger = Ledger { tx, head: head_rx, tree_head, health, role, followed, _senders: Arc::new(senders) };
        if acquired {
            // The thread loads the writer's state before it takes commands;
            // wait for it, so the first call is not refused.
            let mut role = ledger.role.clone();
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
            while !role.borrow_and_update().is_writer() && std::time::Instant::now() < deadline {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
        }
        Ok((ledger, handle))
    }

    /// The store's health, updated after every commit.
    pub fn health(&self) -> watch::Receiver<StoreHealth> {
        self.health.clone()
    }

    /// Tries a one-key commit (a probe of the store after a failure).
    ///
    /// # Errors
    ///
    /// The commit's failure.
    pub async fn probe(&self) -> Result<(), StoreError> {
        let mut batch = Batch::default();
        crate::store::TableWrites::put_counter(&mut batch, "health/probe_ms", crate::model::now_ms().unsigned_abs());
        self.apply(batch, Vec::new()).await
    }

    /// The newest local log position, updated after every commit (and, on
    /// a standby, as the writer's commits are followed).
    pub fn head(&self) -> watch::Receiver<u64> {
        self.head.clone()
    }

    /// The transparency-log tree's size and root, updated after every
    /// commit that grows it, once durable; `None` when `[log] enabled =
    /// false`.
    pub fn tree_head(&self) -> watch::Receiver<Option<TreeHead>> {
        self.tree_head.clone()
    }

    /// What this process is: the writer, a standby or a reader.
    pub fn role(&self) -> watch::Receiver<Role> {
        self.role.clone()
    }

    /// Bumped when the peers changed under this process (a standby
    /// following the writer) or it took over: reload the peers.
    pub fn followed(&self) -> watch::Receiver<u64> {
        self.followed.clone()
    }

    fn not_writer(&self) -> Option<StoreError> {
        not_writer(&self.role)
    }

    async fn call<T: Send + 'static>(&self, make: impl FnOnce(oneshot::Sender<T>) -> Command) -> Result<T, StoreError> {
        self.submit(make).await?.await
    }

    /// Queues a command for the writer; the future it returns is the
    /// answer, once the command's commit is done.
    async fn submit<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<impl Future<Output = Result<T, StoreError>> + Send + 'static, StoreError>
    where
        T: Send + 'static,
    {
        let (reply, rx) = oneshot::channel();
        let command = make(reply);
        if let Some(e) = self.not_writer()
            && !matches!(command, Command::SetSigningKey { .. })
        {
            return Err(e);
        }
        self.tx.send(command).await.map_err(|_| StoreError::Engine("the ledger has stopped".into()))?;
        let role = self.role.clone();
        Ok(async move {
            rx.await
                .map_err(|_| not_writer(&role).unwrap_or_else(|| StoreError::Engine("the ledger has stopped".into())))
        })
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

    /// Queues verified envelopes from a peer without waiting for their
    /// commit: a link hands the next response over while this one commits,
    /// and the writer commits what is queued together. The future is
    /// [`Self::ingest`]'s answer. A batch naming the cursor it continues
    /// from ([`IngestBatch::after`]) is refused, storing nothing, unless
    /// the peer's cursor is there when its turn comes: a batch behind one
    /// that failed never moves the cursor past entries not stored.
    ///
    /// # Errors
    ///
    /// This process is not the writer, or the ledger has stopped.
    pub async fn submit_ingest(
        &self,
        batch: IngestBatch,
    ) -> Result<impl Future<Output = Result<IngestReport, StoreError>> + Send + 'static, StoreError> {
        let answer = self.submit(|reply| Command::Ingest { batch, reply }).await?;
        Ok(async move { answer.await? })
    }

    /// Waits until every command queued before this call is answered (the
    /// writer serves commands in order; this one writes nothing): a link
    /// that starts again reads its cursor where its last session's batches
    /// left it.
    ///
    /// # Errors
    ///
    /// This process is not the writer, or the ledger has stopped.
    pub async fn settled(&self) -> Result<(), StoreError> {
        self.apply(Batch::default(), Vec::new()).await
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

/// Why a command cannot go to this process's writer, if it is not one.
fn not_writer(role: &watch::Receiver<Role>) -> Option<StoreError> {
    let role = role.borrow();
    (!role.is_writer()).then(|| StoreError::NotWriter { writer: role.writer_admin() })
}
