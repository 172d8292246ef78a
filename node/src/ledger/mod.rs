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
//! The commit path (this file) is shared by all of them: one batch, one
//! durable commit, then the in-memory state readers see ([`Committed`]) is
//! moved forward and every caller answered.

mod ingest;
mod keys;
mod publish;
mod review;
mod txn;

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, RwLock};

use tokio::sync::{mpsc, oneshot, watch};

use crate::audit::{self, AuditDraft};
use crate::envelope::VerifiedEnvelope;
use crate::keys::{KeyRing, SigningKey};
use crate::policy::Disposition;
use crate::store::layout::Head;
use crate::store::records::{Decision, QuarantineRecord};
use crate::store::{Batch, Store, StoreError};
use crate::submission::Submission;

use self::keys::KeyringChange;
use self::txn::Txn;

/// What to publish.
#[derive(Debug, Clone)]
pub enum Publish {
    /// A new indicator or a new version of one.
    Upsert(Submission),
    /// A signed tombstone for one of this node's indicators.
    Revoke {
        /// Indicator id.
        id: String,
    },
    /// A key event (rotation or revocation of this node's keys).
    Key(crate::envelope::KeyEvent),
    /// A feedback event about an indicator value, checked by the caller.
    Feedback(crate::feedback::Feedback),
}

/// A published or stored envelope and where it sits.
#[derive(Debug, Clone)]
pub struct Stored {
    /// Position in the local log.
    pub local_seq: u64,
    /// The envelope.
    pub envelope: VerifiedEnvelope,
}

/// Why a publish was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PublishError {
    /// No indicator of this node has this id (a peer's indicators are
    /// filed by value, not by id: only their origin revokes them).
    #[error("no indicator of this node has id {0}; a node revokes only its own indicators")]
    NotFound(String),
    /// The indicator belongs to another origin.
    #[error("indicator {id} belongs to {origin}; only its origin can revoke it")]
    NotOwn {
        /// Id.
        id: String,
        /// Its origin.
        origin: String,
    },
    /// Already revoked.
    #[error("indicator {0} is already revoked")]
    AlreadyRevoked(String),
    /// The store failed; nothing was stored.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Envelopes from one peer, already verified.
#[derive(Debug, Default)]
pub struct IngestBatch {
    /// The peer they came from.
    pub peer: String,
    /// Envelopes and how to keep them.
    pub items: Vec<(VerifiedEnvelope, Disposition)>,
    /// Refusals found before the ledger (signatures, decoding), to audit.
    pub refused: Vec<AuditDraft>,
    /// The peer's log position to record once these are durable.
    pub cursor: Option<u64>,
}

/// What an ingest did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct IngestReport {
    /// Appended to the log.
    pub applied: u64,
    /// Already held.
    pub duplicates: u64,
    /// Appended but held for review.
    pub quarantined: u64,
    /// Refused here (fork, chain break, stale version, ...), with reasons.
    pub refused: Vec<(String, u64, &'static str)>,
}

/// Why a review decision failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecideError {
    /// Nothing held at that position.
    #[error("nothing is held for review at log position {0}")]
    NotFound(u64),
    /// Already decided.
    #[error("log position {0} was already {1}")]
    AlreadyDecided(u64, Decision),
    /// Store failure.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What readers see of the last commit, kept in memory by the writer:
/// the public keys of every trusted origin, the log positions not to be
/// served (pending or rejected review), and the lookup index.
#[derive(Debug, Default)]
pub struct Committed {
    /// Public keys of every trusted origin.
    pub keyring: RwLock<KeyRing>,
    /// Log positions not to be served or relayed (pending or rejected review).
    pub hidden: RwLock<BTreeSet<u64>>,
    /// What lookups read from memory; told of every value a commit changes.
    pub lookup: crate::lookup_index::LookupIndex,
}

impl Committed {
    /// A copy of the hidden positions.
    pub fn hidden(&self) -> BTreeSet<u64> {
        self.hidden.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// A copy of the key ring.
    pub fn keyring(&self) -> KeyRing {
        self.keyring.read().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// Commands for the writer.
#[derive(Debug)]
enum Command {
    /// Publish this node's own entries.
    Publish { items: Vec<Publish>, audit: Vec<AuditDraft>, reply: oneshot::Sender<Vec<Result<Stored, PublishError>>> },
    /// Store verified envelopes from a peer.
    Ingest { batch: IngestBatch, reply: oneshot::Sender<Result<IngestReport, StoreError>> },
    /// Raw admin writes with their audit entries.
    Apply { batch: Batch, audit: Vec<AuditDraft>, reply: oneshot::Sender<Result<(), StoreError>> },
    /// A review decision on the entry at a log position.
    Decide {
        local_seq: u64,
        accept: bool,
        note: String,
        actor: String,
        reply: oneshot::Sender<Result<QuarantineRecord, DecideError>>,
    },
    /// Switches the key that signs this node's new entries.
    SetSigningKey { key: Arc<SigningKey>, reply: oneshot::Sender<()> },
}

impl Command {
    fn weight(&self) -> usize {
        match self {
            Command::Publish { items, .. } => items.len().max(1),
            Command::Ingest { batch, .. } => batch.items.len().max(1),
            Command::Apply { batch, .. } => batch.len().max(1),
            _ => 1,
        }
    }
}

/// Handle to the writer.
#[derive(Debug, Clone)]
pub struct Ledger {
    tx: mpsc::Sender<Command>,
    head: watch::Receiver<u64>,
}

/// Settings of the writer.
#[derive(Debug, Clone)]
pub struct LedgerConfig {
    /// This node's id.
    pub origin: String,
    /// Most writes per commit.
    pub commit_batch: usize,
    /// Largest accepted jump above an origin's head.
    pub max_seq_gap: u64,
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
        let state = State::load(store, config, key, committed)?;
        let (head_tx, head_rx) = watch::channel(state.next_local_seq - 1);
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

/// What the writer keeps between commits.
struct State {
    store: Store,
    config: LedgerConfig,
    key: Arc<SigningKey>,
    committed: Arc<Committed>,
    next_local_seq: u64,
    heads: HashMap<String, Head>,
    counters: HashMap<String, u64>,
    audit_seq: u64,
    audit_hash: String,
}

impl State {
    fn load(
        store: Store,
        config: LedgerConfig,
        key: Arc<SigningKey>,
        committed: Arc<Committed>,
    ) -> Result<State, StoreError> {
        let next_local_seq = store.log_head()? + 1;
        let heads: HashMap<String, Head> = store.heads()?.into_iter().collect();
        // Every indexed assertion's origin has a head (they commit together).
        committed.lookup.set_origins(heads.keys().map(String::as_str));
        let counters = store.counters("count/")?.into_iter().map(|(k, v)| (format!("count/{k}"), v)).collect();
        let (audit_seq, audit_hash) = match store.last_audit_entry()? {
            Some(e) => (e.seq, e.hash),
            None => (0, audit::genesis()),
        };
        {
            let mut ring = committed.keyring.write().unwrap_or_else(|p| p.into_inner());
            for (_, k) in store.stored_keys()? {
                let vk = k.verifying_key().ok_or_else(|| StoreError::Corrupt {
                    keyspace: crate::store::Keyspace::Keys,
                    reason: "bad public key".into(),
                })?;
                let id = ring.insert(&k.owner, vk, k.valid_from_ms);
                if let Some(at) = k.revoked_at_ms {
                    ring.revoke(id.as_str(), at);
                }
            }
        }
        {
            let mut hidden = committed.hidden.write().unwrap_or_else(|p| p.into_inner());
            for (seq, rec) in store.quarantine_records()? {
                if rec.decision != Decision::Accepted {
                    hidden.insert(seq);
                }
            }
        }
        Ok(State { store, config, key, committed, next_local_seq, heads, counters, audit_seq, audit_hash })
    }

    fn run(mut self, mut rx: mpsc::Receiver<Command>, head_tx: watch::Sender<u64>) {
        while let Some(first) = rx.blocking_recv() {
            let mut commands = vec![first];
            let mut weight = commands.iter().map(Command::weight).sum::<usize>();
            while weight < self.config.commit_batch {
                match rx.try_recv() {
                    Ok(c) => {
                        weight += c.weight();
                        commands.push(c);
                    }
                    Err(_) => break,
                }
            }
            self.apply_all(commands);
            head_tx.send_replace(self.next_local_seq - 1);
        }
        tracing::debug!("ledger stopped");
    }

    /// Applies commands to one transaction, commits it, moves the committed
    /// state forward, and answers every caller with the commit's outcome.
    fn apply_all(&mut self, commands: Vec<Command>) {
        // Up to four keys per entry (log, origin sequence, index, id).
        let keys = commands.iter().map(Command::weight).sum::<usize>().saturating_mul(4);
        let mut txn = Txn::new(self, keys);
        let mut answers: Vec<Answer> = Vec::with_capacity(commands.len());
        for command in commands {
            answers.push(txn.apply(command));
        }
        let (batch, change) = txn.finish(&self.heads);
        let outcome = self.store.commit(batch);
        match &outcome {
            Ok(()) => self.advance(change),
            Err(e) => tracing::error!(error = %e, "commit failed; nothing of this batch was stored"),
        }
        let err = outcome.err();
        for answer in answers {
            answer(err.as_ref());
        }
    }

    /// Moves the writer's and readers' state to what a commit made durable.
    fn advance(&mut self, c: txn::Change) {
        if c.heads.len() != self.heads.len() {
            // A new origin: readers must look for its assertions before
            // they are told its values changed.
            self.committed.lookup.set_origins(c.heads.keys().map(String::as_str));
        }
        self.committed.lookup.touch(&c.touched);
        self.next_local_seq = c.next_local_seq;
        self.heads = c.heads;
        self.counters = c.counters;
        self.audit_seq = c.audit_seq;
        self.audit_hash = c.audit_hash;
        self.key = c.key;
        if !c.keyring_changes.is_empty() {
            let mut ring = self.committed.keyring.write().unwrap_or_else(|p| p.into_inner());
            for change in c.keyring_changes {
                match change {
                    KeyringChange::Add { owner, key, valid_from_ms } => {
                        ring.insert(&owner, key, valid_from_ms);
                    }
                    KeyringChange::Revoke { key_id, at_ms } => {
                        ring.revoke(&key_id, at_ms);
                    }
                }
            }
        }
        if !c.hidden_add.is_empty() || !c.hidden_remove.is_empty() {
            let mut hidden = self.committed.hidden.write().unwrap_or_else(|p| p.into_inner());
            hidden.extend(c.hidden_add);
            for s in c.hidden_remove {
                hidden.remove(&s);
            }
        }
    }
}

/// Replies to one command once the commit's outcome is known.
type Answer = Box<dyn FnOnce(Option<&StoreError>)>;

fn clone_err(e: &StoreError) -> StoreError {
    StoreError::Engine(e.to_string())
}

/// A record the store should hold but does not decode.
fn corrupt(keyspace: crate::store::Keyspace, reason: impl Into<String>) -> StoreError {
    StoreError::Corrupt { keyspace, reason: reason.into() }
}
