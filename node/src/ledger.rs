//! The ledger: the single writer of the store.
//!
//! One thread owns sequencing. It takes commands from a queue, applies as
//! many as are waiting (up to `limits.commit_batch` writes) to one
//! read-your-writes transaction, commits that transaction durably, and only
//! then answers every caller: group commit, so a flush is shared by
//! everything that arrived while the previous one ran.
//!
//! What it does per command:
//! - [`Command::Publish`]: this node's own indicators. Assigns the next
//!   origin_seq and prev_hash, signs, appends, indexes.
//! - [`Command::Ingest`]: verified envelopes from a peer. Drops duplicates
//!   by (origin, origin_seq), refuses forks, chain breaks and stale versions
//!   (keeping fork evidence and auditing every refusal), appends the rest,
//!   indexes or quarantines them, and moves the peer's cursor in the same
//!   commit.
//! - [`Command::Apply`]: admin changes (peers, keys) with their audit
//!   entries.
//! - [`Command::Decide`]: an analyst's review decision.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, RwLock};

use tokio::sync::{mpsc, oneshot, watch};

use crate::audit::{self, AuditDraft, AuditEntry};
use crate::envelope::{
    self, Entry, EnvelopeBody, GENESIS_HASH, Indicator, KeyEvent, SignedEnvelope, Value, VerifiedEnvelope,
};
use crate::keys::{KeyRing, SigningKey};
use crate::model::{Action, Category, Confidence, Distribution, Kind, Tlp, UnixMillis, now_ms};
use crate::store::layout::{self, Head, OriginEntry};
use crate::store::{Batch, Keyspace, Store, StoreError};
use crate::wire;

/// A new indicator from this node's admins, normalized and hashed.
#[derive(Debug, Clone)]
pub struct Draft {
    /// Kind.
    pub kind: Kind,
    /// Normalized value, or keyed hash for personal data.
    pub value: Value,
    /// Plain value of personal data, kept locally.
    pub plain: Option<String>,
    /// Sorted, unique, non-empty.
    pub categories: Vec<Category>,
    /// 0-100.
    pub confidence: Confidence,
    /// Marking.
    pub tlp: Tlp,
    /// Reach.
    pub distribution: Distribution,
    /// First seen.
    pub first_seen_ms: UnixMillis,
    /// Last seen.
    pub last_seen_ms: UnixMillis,
    /// Expiry.
    pub valid_until_ms: Option<UnixMillis>,
    /// Notes.
    pub description: Option<String>,
    /// Sources.
    pub source_refs: Vec<String>,
}

/// What to publish.
#[derive(Debug, Clone)]
pub enum Publish {
    /// A new indicator or a new version of one.
    Upsert(Draft),
    /// A signed tombstone for one of this node's indicators.
    Revoke {
        /// Indicator id.
        id: String,
    },
    /// A key event (rotation or revocation of this node's keys).
    Key(KeyEvent),
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

/// How an ingested envelope is to be kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disposition {
    /// Indexed and served at once.
    Accept,
    /// Held for an analyst.
    Quarantine {
        /// Why.
        reason: String,
    },
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

/// A stored review record.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct QuarantineRecord {
    /// Peer it came from.
    pub peer: String,
    /// Why it is held.
    pub reason: String,
    /// When it arrived.
    pub received_at_ms: UnixMillis,
    /// `pending`, `accepted` or `rejected`.
    pub decision: String,
    /// Analyst's note.
    #[serde(default)]
    pub note: String,
    /// Who decided.
    #[serde(default)]
    pub decided_by: String,
}

/// Commands for the writer.
#[derive(Debug)]
pub enum Command {
    /// Publish this node's own entries.
    Publish {
        /// What.
        items: Vec<Publish>,
        /// Audit entries to append with them.
        audit: Vec<AuditDraft>,
        /// Answer, one per item.
        reply: oneshot::Sender<Vec<Result<Stored, PublishError>>>,
    },
    /// Store verified envelopes from a peer.
    Ingest {
        /// What.
        batch: IngestBatch,
        /// Answer.
        reply: oneshot::Sender<Result<IngestReport, StoreError>>,
    },
    /// Raw admin writes with their audit entries.
    Apply {
        /// Writes.
        batch: Batch,
        /// Audit entries.
        audit: Vec<AuditDraft>,
        /// Answer.
        reply: oneshot::Sender<Result<(), StoreError>>,
    },
    /// A review decision.
    Decide {
        /// Local log position of the held entry.
        local_seq: u64,
        /// Accept or reject.
        accept: bool,
        /// Note.
        note: String,
        /// Who.
        actor: String,
        /// Answer.
        reply: oneshot::Sender<Result<QuarantineRecord, DecideError>>,
    },
    /// Switches the key that signs this node's new entries.
    SetSigningKey {
        /// The new key.
        key: Arc<SigningKey>,
        /// Answer.
        reply: oneshot::Sender<()>,
    },
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
    AlreadyDecided(u64, String),
    /// Store failure.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// State shared between the writer and readers.
#[derive(Debug, Default)]
pub struct Shared {
    /// Public keys of every trusted origin.
    pub keyring: RwLock<KeyRing>,
    /// Log positions not to be served or relayed (pending or rejected review).
    pub hidden: RwLock<BTreeSet<u64>>,
    /// What lookups read from memory; told of every value a commit changes.
    pub lookup: crate::lookup_index::LookupIndex,
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
        shared: Arc<Shared>,
    ) -> Result<(Ledger, std::thread::JoinHandle<()>), StoreError> {
        let state = State::load(store, config, key, shared)?;
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

struct State {
    store: Store,
    config: LedgerConfig,
    key: Arc<SigningKey>,
    shared: Arc<Shared>,
    next_local_seq: u64,
    heads: HashMap<String, Head>,
    counters: HashMap<String, u64>,
    audit_seq: u64,
    audit_hash: String,
}

/// A transaction: writes plus an overlay so later commands in the same
/// commit see earlier ones.
struct Txn<'s> {
    state: &'s State,
    /// Every write of the commit, last one per key wins: a key written by
    /// many operations (an origin's head, a counter) is written once.
    overlay: HashMap<(Keyspace, Vec<u8>), Option<Vec<u8>>>,
    /// Counters changed by this commit.
    dirty_counters: HashSet<String>,
    /// (kind, value) pairs whose lookup answer this commit changes.
    /// Each with whether it is a feedback event.
    touched: Vec<(crate::lookup_index::ValueKey, bool)>,
    next_local_seq: u64,
    heads: HashMap<String, Head>,
    counters: HashMap<String, u64>,
    audit_seq: u64,
    audit_hash: String,
    keyring_changes: Vec<KeyEvent2>,
    hidden_add: Vec<u64>,
    hidden_remove: Vec<u64>,
    key: Arc<SigningKey>,
    /// Reused to name counters without an allocation per entry.
    scratch: String,
}

enum KeyEvent2 {
    Add { owner: String, key: ed25519_dalek::VerifyingKey, valid_from_ms: UnixMillis },
    Revoke { key_id: String, at_ms: UnixMillis },
}

/// Trusted public key as stored in [`Keyspace::Keys`].
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct StoredKey {
    /// Owner node id.
    pub owner: String,
    /// Hex public key.
    pub public_key_hex: String,
    /// Validity start.
    pub valid_from_ms: UnixMillis,
    /// Revocation time.
    #[serde(default)]
    pub revoked_at_ms: Option<UnixMillis>,
}

fn corrupt(keyspace: Keyspace, reason: impl Into<String>) -> StoreError {
    StoreError::Corrupt { keyspace, reason: reason.into() }
}

impl State {
    fn load(
        store: Store,
        config: LedgerConfig,
        key: Arc<SigningKey>,
        shared: Arc<Shared>,
    ) -> Result<State, StoreError> {
        let next_local_seq = match store.last(Keyspace::Log)? {
            Some((k, _)) => layout::read_u64(&k).ok_or_else(|| corrupt(Keyspace::Log, "bad key"))? + 1,
            None => 1,
        };
        let mut heads = HashMap::new();
        for r in store.scan_prefix(Keyspace::Heads, b"") {
            let (k, v) = r?;
            let origin = String::from_utf8(k).map_err(|_| corrupt(Keyspace::Heads, "origin is not UTF-8"))?;
            heads.insert(origin, Head::decode(&v).ok_or_else(|| corrupt(Keyspace::Heads, "bad head"))?);
        }
        // Every indexed assertion's origin has a head (they commit together).
        shared.lookup.set_origins(heads.keys().map(String::as_str));
        let mut counters = HashMap::new();
        for r in store.scan_prefix(Keyspace::Meta, b"count/") {
            let (k, v) = r?;
            counters.insert(String::from_utf8_lossy(&k).into_owned(), layout::read_u64(&v).unwrap_or(0));
        }
        let (audit_seq, audit_hash) = match store.last(Keyspace::Audit)? {
            Some((_, v)) => {
                let e: AuditEntry = serde_json::from_slice(&v).map_err(|e| corrupt(Keyspace::Audit, e.to_string()))?;
                (e.seq, e.hash)
            }
            None => (0, audit::genesis()),
        };
        {
            let mut ring = shared.keyring.write().unwrap_or_else(|p| p.into_inner());
            for r in store.scan_prefix(Keyspace::Keys, b"") {
                let (_, v) = r?;
                let k: StoredKey = serde_json::from_slice(&v).map_err(|e| corrupt(Keyspace::Keys, e.to_string()))?;
                let bytes: [u8; 32] = hex::decode(&k.public_key_hex)
                    .ok()
                    .and_then(|b| b.try_into().ok())
                    .ok_or_else(|| corrupt(Keyspace::Keys, "bad public key"))?;
                let vk = ed25519_dalek::VerifyingKey::from_bytes(&bytes)
                    .map_err(|_| corrupt(Keyspace::Keys, "bad public key"))?;
                let id = ring.insert(&k.owner, vk, k.valid_from_ms);
                if let Some(at) = k.revoked_at_ms {
                    ring.revoke(id.as_str(), at);
                }
            }
        }
        {
            let mut hidden = shared.hidden.write().unwrap_or_else(|p| p.into_inner());
            for r in store.scan_prefix(Keyspace::Quarantine, b"") {
                let (k, v) = r?;
                let rec: QuarantineRecord =
                    serde_json::from_slice(&v).map_err(|e| corrupt(Keyspace::Quarantine, e.to_string()))?;
                if rec.decision != "accepted" {
                    hidden.insert(layout::read_u64(&k).unwrap_or(0));
                }
            }
        }
        Ok(State { store, config, key, shared, next_local_seq, heads, counters, audit_seq, audit_hash })
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

    fn apply_all(&mut self, commands: Vec<Command>) {
        // Up to four keys per entry (log, origin sequence, index, id).
        let keys = commands.iter().map(Command::weight).sum::<usize>().saturating_mul(4);
        let mut txn = Txn::new(self, keys);
        let mut answers: Vec<Answer> = Vec::with_capacity(commands.len());
        for command in commands {
            match command {
                Command::Publish { items, audit, reply } => {
                    let mut results: Vec<_> = items.into_iter().map(|item| txn.publish(item)).collect();
                    txn.sign_all(&mut results);
                    let mut failed = None;
                    for a in audit {
                        if let Err(e) = txn.audit(a) {
                            failed = Some(e);
                        }
                    }
                    answers.push(Box::new(move |err| {
                        let out = match (err, failed) {
                            (Some(e), _) => {
                                results.into_iter().map(|_| Err(PublishError::Store(clone_err(e)))).collect()
                            }
                            (None, Some(e)) => {
                                results.into_iter().map(|_| Err(PublishError::Store(clone_err(&e)))).collect()
                            }
                            (None, None) => results,
                        };
                        let _ = reply.send(out);
                    }));
                }
                Command::Ingest { batch, reply } => {
                    let result = txn.ingest(batch);
                    answers.push(Box::new(move |err| {
                        let _ = reply.send(match err {
                            Some(e) => Err(clone_err(e)),
                            None => result,
                        });
                    }));
                }
                Command::Apply { batch, audit, reply } => {
                    let mut result = Ok(());
                    for op in batch.into_ops() {
                        txn.op(op);
                    }
                    for a in audit {
                        if let Err(e) = txn.audit(a) {
                            result = Err(e);
                        }
                    }
                    answers.push(Box::new(move |err| {
                        let _ = reply.send(match err {
                            Some(e) => Err(clone_err(e)),
                            None => result,
                        });
                    }));
                }
                Command::Decide { local_seq, accept, note, actor, reply } => {
                    let result = txn.decide(local_seq, accept, note, actor);
                    answers.push(Box::new(move |err| {
                        let _ = reply.send(match err {
                            Some(e) => Err(DecideError::Store(clone_err(e))),
                            None => result,
                        });
                    }));
                }
                Command::SetSigningKey { key, reply } => {
                    txn.key = key;
                    answers.push(Box::new(move |_| {
                        let _ = reply.send(());
                    }));
                }
            }
        }
        let Txn {
            overlay,
            dirty_counters,
            touched,
            next_local_seq,
            heads,
            counters,
            audit_seq,
            audit_hash,
            keyring_changes,
            hidden_add,
            hidden_remove,
            key,
            ..
        } = txn;
        let outcome = self.store.commit(Txn::into_batch(overlay, &counters, dirty_counters, &self.heads, &heads));
        match &outcome {
            Ok(()) => {
                if heads.len() != self.heads.len() {
                    // A new origin: readers must look for its assertions
                    // before they are told its values changed.
                    self.shared.lookup.set_origins(heads.keys().map(String::as_str));
                }
                self.shared.lookup.touch(&touched);
                self.next_local_seq = next_local_seq;
                self.heads = heads;
                self.counters = counters;
                self.audit_seq = audit_seq;
                self.audit_hash = audit_hash;
                self.key = key;
                if !keyring_changes.is_empty() {
                    let mut ring = self.shared.keyring.write().unwrap_or_else(|p| p.into_inner());
                    for change in keyring_changes {
                        match change {
                            KeyEvent2::Add { owner, key, valid_from_ms } => {
                                ring.insert(&owner, key, valid_from_ms);
                            }
                            KeyEvent2::Revoke { key_id, at_ms } => {
                                ring.revoke(&key_id, at_ms);
                            }
                        }
                    }
                }
                if !hidden_add.is_empty() || !hidden_remove.is_empty() {
                    let mut hidden = self.shared.hidden.write().unwrap_or_else(|p| p.into_inner());
                    hidden.extend(hidden_add);
                    for s in hidden_remove {
                        hidden.remove(&s);
                    }
                }
            }
            Err(e) => tracing::error!(error = %e, "commit failed; nothing of this batch was stored"),
        }
        let err = outcome.err();
        for answer in answers {
            answer(err.as_ref());
        }
    }
}

/// Replies to one command once the commit's outcome is known.
type Answer = Box<dyn FnOnce(Option<&StoreError>)>;

fn clone_err(e: &StoreError) -> StoreError {
    StoreError::Engine(e.to_string())
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

impl<'s> Txn<'s> {
    /// `keys`: how many writes to make room for.
    fn new(state: &'s State, keys: usize) -> Txn<'s> {
        Txn {
            state,
            overlay: HashMap::with_capacity(keys),
            dirty_counters: HashSet::new(),
            touched: Vec::new(),
            next_local_seq: state.next_local_seq,
            heads: state.heads.clone(),
            counters: state.counters.clone(),
            audit_seq: state.audit_seq,
            audit_hash: state.audit_hash.clone(),
            keyring_changes: Vec::new(),
            hidden_add: Vec::new(),
            hidden_remove: Vec::new(),
            key: state.key.clone(),
            scratch: String::new(),
        }
    }

    fn get(&self, ks: Keyspace, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        if !self.overlay.is_empty()
            && let Some(v) = self.overlay.get(&(ks, key.to_vec()))
        {
            return Ok(v.clone());
        }
        self.state.store.get(ks, key)
    }

    fn put(&mut self, ks: Keyspace, key: Vec<u8>, value: Vec<u8>) {
        self.overlay.insert((ks, key), Some(value));
    }

    fn op(&mut self, op: crate::store::Op) {
        match op {
            crate::store::Op::Put(ks, k, v) => self.put(ks, k, v),
            crate::store::Op::Delete(ks, k) => {
                self.overlay.insert((ks, k), None);
            }
        }
    }

    fn bump(&mut self, counter: std::fmt::Arguments<'_>) {
        use std::fmt::Write as _;
        let mut name = std::mem::take(&mut self.scratch);
        name.clear();
        // Writing to a String cannot fail.
        let _ = name.write_fmt(counter);
        match self.counters.get_mut(name.as_str()) {
            Some(n) => *n += 1,
            None => {
                self.counters.insert(name.clone(), 1);
            }
        }
        if !self.dirty_counters.contains(name.as_str()) {
            self.dirty_counters.insert(name.clone());
        }
        self.scratch = name;
    }

    /// The store writes of this commit, counters and heads included: each
    /// head the commit moved (from `before` to `heads`) is written once.
    fn into_batch(
        overlay: HashMap<(Keyspace, Vec<u8>), Option<Vec<u8>>>,
        counters: &HashMap<String, u64>,
        dirty: HashSet<String>,
        before: &HashMap<String, Head>,
        heads: &HashMap<String, Head>,
    ) -> Batch {
        let mut batch = Batch::default();
        for ((ks, k), v) in overlay {
            match v {
                Some(v) => batch.put(ks, k, v),
                None => batch.delete(ks, k),
            }
        }
        for name in dirty {
            let n = counters.get(&name).copied().unwrap_or(0);
            batch.put(Keyspace::Meta, name.into_bytes(), n.to_be_bytes().to_vec());
        }
        for (origin, head) in heads {
            if before.get(origin) != Some(head) {
                batch.put(Keyspace::Heads, origin.as_bytes().to_vec(), head.encode());
            }
        }
        batch
    }

    fn audit(&mut self, draft: AuditDraft) -> Result<(), StoreError> {
        let seq = self.audit_seq + 1;
        let entry = audit::chain(seq, now_ms(), draft, &self.audit_hash);
        let bytes = serde_json::to_vec(&entry).map_err(|e| StoreError::Engine(e.to_string()))?;
        self.put(Keyspace::Audit, layout::seq_key(seq).to_vec(), bytes);
        self.audit_seq = seq;
        self.audit_hash = entry.hash;
        Ok(())
    }

    /// The log entry at a position, decoded.
    fn entry_at(&self, local_seq: u64) -> Result<Option<(SignedEnvelope, EnvelopeBody)>, StoreError> {
        let Some(bytes) = self.get(Keyspace::Log, &layout::seq_key(local_seq))? else { return Ok(None) };
        let env = wire::decode_envelope(&bytes).map_err(|e| corrupt(Keyspace::Log, e.to_string()))?;
        let body = wire::decode_body(&env.body).map_err(|e| corrupt(Keyspace::Log, e.to_string()))?;
        Ok(Some((env, body)))
    }

    /// The latest indexed version of (kind, value) from `origin`.
    fn indexed(&self, kind: Kind, value: &str, origin: &str) -> Result<Option<(u64, Indicator)>, StoreError> {
        let key = (Keyspace::Index, layout::index_key(kind, value, origin));
        let found = match self.overlay.get(&key) {
            Some(v) => v.clone(),
            // A value no commit has indexed is not in the store: most
            // entries name new values, and this saves their index read.
            None if !self.state.shared.lookup.may_contain(kind, value) => None,
            None => self.state.store.get(Keyspace::Index, &key.1)?,
        };
        let Some(v) = found else { return Ok(None) };
        let seq = layout::read_u64(&v).ok_or_else(|| corrupt(Keyspace::Index, "bad position"))?;
        match self.entry_at(seq)? {
            Some((_, EnvelopeBody { entry: Entry::Indicator(i), .. })) => Ok(Some((seq, i))),
            _ => Err(corrupt(Keyspace::Index, format!("index points at {seq}, which is not an indicator"))),
        }
    }

    fn publish(&mut self, item: Publish) -> Result<Stored, PublishError> {
        let origin = self.state.config.origin.clone();
        let now = now_ms();
        let (entry, plain, indexed) = match item {
            Publish::Upsert(d) => {
                let id = envelope::indicator_id(&origin, d.kind, d.value.as_str());
                let prev = self.indexed(d.kind, d.value.as_str(), &origin)?;
                let (version, first_seen_ms) = match &prev {
                    Some((_, p)) if p.action == Action::Upsert => (p.version + 1, p.first_seen_ms.min(d.first_seen_ms)),
                    Some((_, p)) => (p.version + 1, d.first_seen_ms),
                    None => (1, d.first_seen_ms),
                };
                let ind = Indicator {
                    id,
                    kind: d.kind,
                    value: d.value,
                    categories: d.categories,
                    confidence: d.confidence,
                    tlp: d.tlp,
                    distribution: d.distribution,
                    first_seen_ms,
                    last_seen_ms: d.last_seen_ms,
                    valid_until_ms: d.valid_until_ms,
                    action: Action::Upsert,
                    version,
                    description: d.description,
                    source_refs: d.source_refs,
                };
                let indexed = prev.is_some();
                (Entry::Indicator(ind), d.plain, indexed)
            }
            Publish::Revoke { id } => {
                let pos = self.get(Keyspace::Ids, id.as_bytes())?.ok_or_else(|| PublishError::NotFound(id.clone()))?;
                let seq = layout::read_u64(&pos).ok_or_else(|| corrupt(Keyspace::Ids, "bad position"))?;
                let (_, body) = self.entry_at(seq)?.ok_or_else(|| PublishError::NotFound(id.clone()))?;
                let Entry::Indicator(mut ind) = body.entry else { return Err(PublishError::NotFound(id)) };
                if body.origin != origin {
                    return Err(PublishError::NotOwn { id, origin: body.origin });
                }
                if ind.action == Action::Revoke {
                    return Err(PublishError::AlreadyRevoked(id));
                }
                ind.action = Action::Revoke;
                ind.version += 1;
                ind.last_seen_ms = now;
                (Entry::Indicator(ind), None, true)
            }
            Publish::Key(event) => (Entry::KeyEvent(event), None, false),
            Publish::Feedback(f) => (Entry::Feedback(Box::new(f)), None, false),
        };
        let head = self.heads.get(&origin).copied().unwrap_or(Head { seq: 0, hash: GENESIS_HASH });
        let body = EnvelopeBody {
            origin: origin.clone(),
            origin_seq: head.seq + 1,
            prev_hash: head.hash,
            created_at_ms: now,
            entry,
        };
        // Signed by `sign_all` before the commit; the log holds the unsigned
        // form only inside this transaction.
        let raw = envelope::unsigned(&body, &self.key);
        let hash = envelope::body_hash(&raw.body);
        let env = VerifiedEnvelope { raw, body, hash };
        if let (Some(plain), Entry::Indicator(ind)) = (plain, &env.body.entry) {
            self.put(Keyspace::Plain, layout::plain_key(ind.kind, ind.value.as_str()), plain.into_bytes());
        }
        let local_seq = self.append(&env, &Disposition::Accept, indexed)?;
        Ok(Stored { local_seq, envelope: env })
    }

    /// Signs what `publish` stored unsigned, on every core for a large
    /// batch, and puts the signed envelopes in the log.
    fn sign_all(&mut self, results: &mut [Result<Stored, PublishError>]) {
        let mut todo: Vec<&mut Stored> = results
            .iter_mut()
            .filter_map(|r| r.as_mut().ok())
            .filter(|s| s.envelope.raw.signature.is_empty())
            .collect();
        let key = &*self.key;
        let threads = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        if todo.len() < 64 || threads < 2 {
            for s in &mut todo {
                s.envelope.raw.signature = envelope::signature(&s.envelope.raw.body, key);
            }
        } else {
            let per = todo.len().div_ceil(threads);
            std::thread::scope(|scope| {
                for chunk in todo.chunks_mut(per) {
                    scope.spawn(move || {
                        for s in chunk {
                            s.envelope.raw.signature = envelope::signature(&s.envelope.raw.body, key);
                        }
                    });
                }
            });
        }
        for s in todo {
            self.put(Keyspace::Log, layout::seq_key(s.local_seq).to_vec(), wire::encode_envelope(&s.envelope.raw));
        }
    }

    /// Appends a checked envelope; indexes it when accepted and newer.
    /// `indexed`: whether (kind, value, origin) of an indicator is already in
    /// the index (the caller has looked).
    fn append(&mut self, env: &VerifiedEnvelope, disposition: &Disposition, indexed: bool) -> Result<u64, StoreError> {
        let local_seq = self.next_local_seq;
        self.next_local_seq += 1;
        let body = &env.body;
        self.put(Keyspace::Log, layout::seq_key(local_seq).to_vec(), wire::encode_envelope(&env.raw));
        let oe = OriginEntry { hash: env.hash, prev_hash: body.prev_hash, local_seq };
        self.put(Keyspace::OriginSeq, layout::origin_seq_key(&body.origin, body.origin_seq), oe.encode());
        let h = Head { seq: body.origin_seq, hash: env.hash };
        match self.heads.get_mut(&body.origin) {
            Some(head) if body.origin_seq > head.seq => *head = h,
            Some(_) => {}
            None => {
                self.heads.insert(body.origin.clone(), h);
            }
        }
        match (&body.entry, disposition) {
            (Entry::Indicator(ind), Disposition::Accept) => self.index(&body.origin, ind, local_seq, indexed),
            (Entry::Indicator(_), Disposition::Quarantine { .. }) => {}
            (Entry::KeyEvent(ev), _) => self.key_event(&body.origin, ev)?,
            (Entry::Feedback(f), Disposition::Accept) => self.index_feedback(&body.origin, f, local_seq),
            (Entry::Feedback(_), Disposition::Quarantine { .. }) => {}
        }
        Ok(local_seq)
    }

    /// Files a feedback event under the value it is about, so the merged
    /// view finds it. Idempotent like every entry: a duplicate
    /// (origin, origin_seq) never reaches here.
    fn index_feedback(&mut self, reporter: &str, f: &crate::feedback::Feedback, local_seq: u64) {
        let key = layout::feedback_key(f.kind, f.value.as_str(), reporter, local_seq);
        self.put(Keyspace::Feedback, key, Vec::new());
        self.touched.push((self.state.shared.lookup.key(f.kind, f.value.as_str()), true));
        self.bump(format_args!("count/feedback/{}", f.feedback_type));
    }

    fn index(&mut self, origin: &str, ind: &Indicator, local_seq: u64, indexed: bool) {
        let key = layout::index_key(ind.kind, ind.value.as_str(), origin);
        self.touched.push((self.state.shared.lookup.key(ind.kind, ind.value.as_str()), false));
        if !indexed {
            self.bump(format_args!("count/kind/{}", ind.kind));
            self.bump(format_args!("count/origin/{origin}"));
        }
        self.put(Keyspace::Index, key, layout::seq_key(local_seq).to_vec());
        // Ids serve revocation by id, which only the origin does: a peer's
        // indicators are found by (kind, value, origin) in the index.
        if origin == self.state.config.origin {
            self.put(Keyspace::Ids, ind.id.as_bytes().to_vec(), layout::seq_key(local_seq).to_vec());
        }
    }

    fn key_event(&mut self, origin: &str, ev: &KeyEvent) -> Result<(), StoreError> {
        match ev {
            KeyEvent::Rotation { new_key_id, new_public_key, valid_from_ms } => {
                let Ok(vk) = ed25519_dalek::VerifyingKey::from_bytes(new_public_key) else {
                    return Ok(());
                };
                let stored = StoredKey {
                    owner: origin.into(),
                    public_key_hex: hex::encode(new_public_key),
                    valid_from_ms: *valid_from_ms,
                    revoked_at_ms: None,
                };
                let bytes = serde_json::to_vec(&stored).map_err(|e| StoreError::Engine(e.to_string()))?;
                self.put(Keyspace::Keys, new_key_id.as_bytes().to_vec(), bytes);
                self.keyring_changes.push(KeyEvent2::Add {
                    owner: origin.into(),
                    key: vk,
                    valid_from_ms: *valid_from_ms,
                });
            }
            KeyEvent::Revocation { key_id, revoked_at_ms, .. } => {
                if let Some(bytes) = self.get(Keyspace::Keys, key_id.as_bytes())? {
                    let mut k: StoredKey =
                        serde_json::from_slice(&bytes).map_err(|e| corrupt(Keyspace::Keys, e.to_string()))?;
                    if k.owner != origin {
                        return Ok(());
                    }
                    let at = *revoked_at_ms;
                    k.revoked_at_ms = Some(k.revoked_at_ms.map_or(at, |t| t.min(at)));
                    let bytes = serde_json::to_vec(&k).map_err(|e| StoreError::Engine(e.to_string()))?;
                    self.put(Keyspace::Keys, key_id.as_bytes().to_vec(), bytes);
                    self.keyring_changes.push(KeyEvent2::Revoke { key_id: key_id.clone(), at_ms: at });
                }
            }
        }
        Ok(())
    }

    fn ingest(&mut self, batch: IngestBatch) -> Result<IngestReport, StoreError> {
        let mut report = IngestReport::default();
        let peer = batch.peer;
        for draft in batch.refused {
            self.bump(format_args!("count/rejected"));
            self.audit(draft)?;
        }
        for (env, disposition) in batch.items {
            match self.check(&env)? {
                Check::Duplicate => report.duplicates += 1,
                Check::Refuse(reason, detail) => {
                    let body = &env.body;
                    if reason == "fork" || reason == "chain_break" {
                        let mut key = layout::origin_seq_key(&body.origin, body.origin_seq);
                        key.push(0);
                        key.extend_from_slice(&env.hash);
                        self.put(Keyspace::Forks, key, wire::encode_envelope(&env.raw));
                        self.bump(format_args!("count/forks"));
                    }
                    self.bump(format_args!("count/rejected"));
                    self.audit(AuditDraft::rejection(
                        &peer,
                        Some(&body.origin),
                        Some(body.origin_seq),
                        reason,
                        detail,
                    ))?;
                    report.refused.push((body.origin.clone(), body.origin_seq, reason));
                }
                Check::New { indexed } => {
                    let local_seq = self.append(&env, &disposition, indexed)?;
                    report.applied += 1;
                    if let Disposition::Quarantine { reason } = disposition {
                        let rec = QuarantineRecord {
                            peer: peer.clone(),
                            reason,
                            received_at_ms: now_ms(),
                            decision: "pending".into(),
                            note: String::new(),
                            decided_by: String::new(),
                        };
                        let bytes = serde_json::to_vec(&rec).map_err(|e| StoreError::Engine(e.to_string()))?;
                        self.put(Keyspace::Quarantine, layout::seq_key(local_seq).to_vec(), bytes);
                        self.hidden_add.push(local_seq);
                        report.quarantined += 1;
                    }
                }
            }
        }
        if let Some(cursor) = batch.cursor {
            self.put(Keyspace::Cursors, peer.into_bytes(), cursor.to_be_bytes().to_vec());
        }
        Ok(report)
    }

    fn check(&self, env: &VerifiedEnvelope) -> Result<Check, StoreError> {
        let body = &env.body;
        let at = |seq| -> Result<Option<OriginEntry>, StoreError> {
            match self.get(Keyspace::OriginSeq, &layout::origin_seq_key(&body.origin, seq))? {
                Some(v) => Ok(Some(OriginEntry::decode(&v).ok_or_else(|| corrupt(Keyspace::OriginSeq, "bad entry"))?)),
                None => Ok(None),
            }
        };
        // The head (highest sequence held) is in memory: an envelope that
        // extends it, the usual case, needs no chain reads at all.
        let head = self.heads.get(&body.origin).copied();
        let head_seq = head.map_or(0, |h| h.seq);
        if body.origin_seq <= head_seq
            && let Some(held) = at(body.origin_seq)?
        {
            if held.hash == env.hash {
                return Ok(Check::Duplicate);
            }
            return Ok(Check::Refuse(
                "fork",
                format!("a different body is already held for {}#{}", body.origin, body.origin_seq),
            ));
        }
        if body.origin == self.state.config.origin {
            return Ok(Check::Refuse(
                "own_origin",
                "an envelope in this node's name that this node did not sign".into(),
            ));
        }
        if body.origin_seq > head_seq.saturating_add(self.state.config.max_seq_gap) {
            return Ok(Check::Refuse(
                "seq_too_far_ahead",
                format!(
                    "origin_seq {} is more than {} above head {head_seq}",
                    body.origin_seq, self.state.config.max_seq_gap
                ),
            ));
        }
        let prev_hash = match head {
            Some(h) if h.seq == body.origin_seq - 1 => Some(h.hash),
            _ if body.origin_seq > 1 && body.origin_seq - 1 < head_seq => at(body.origin_seq - 1)?.map(|p| p.hash),
            _ => None,
        };
        if prev_hash.is_some_and(|h| h != body.prev_hash) {
            return Ok(Check::Refuse(
                "chain_break",
                format!("prev_hash does not match {}#{}", body.origin, body.origin_seq - 1),
            ));
        }
        if body.origin_seq < head_seq
            && let Some(next) = at(body.origin_seq + 1)?
            && next.prev_hash != env.hash
        {
            return Ok(Check::Refuse(
                "chain_break",
                format!("{}#{} does not link to this body", body.origin, body.origin_seq + 1),
            ));
        }
        if let Entry::KeyEvent(ev) = &body.entry
            && let Some(why) = self.bad_key_event(&body.origin, ev)?
        {
            return Ok(Check::Refuse("bad_key_event", why));
        }
        let mut indexed = false;
        if let Entry::Indicator(ind) = &body.entry
            && let Some((_, current)) = self.indexed(ind.kind, ind.value.as_str(), &body.origin)?
        {
            if current.version >= ind.version {
                return Ok(Check::Refuse(
                    "stale_version",
                    format!("version {} is not newer than the held version {}", ind.version, current.version),
                ));
            }
            indexed = true;
        }
        Ok(Check::New { indexed })
    }

    /// Why a peer's key event must not apply: a rotation whose key id does
    /// not match its key or that claims another origin's key, or a
    /// revocation of another origin's key.
    fn bad_key_event(&self, origin: &str, ev: &KeyEvent) -> Result<Option<String>, StoreError> {
        let owner_of = |key_id: &str| -> Result<Option<String>, StoreError> {
            match self.get(Keyspace::Keys, key_id.as_bytes())? {
                Some(b) => {
                    let k: StoredKey =
                        serde_json::from_slice(&b).map_err(|e| corrupt(Keyspace::Keys, e.to_string()))?;
                    Ok(Some(k.owner))
                }
                None => Ok(None),
            }
        };
        match ev {
            KeyEvent::Rotation { new_key_id, new_public_key, .. } => {
                if ed25519_dalek::VerifyingKey::from_bytes(new_public_key).is_err() {
                    return Ok(Some(format!("{new_key_id} is not a valid ed25519 public key")));
                }
                if envelope::key_id_of(new_public_key).as_str() != new_key_id {
                    return Ok(Some(format!("key id {new_key_id} does not match the announced public key")));
                }
                match owner_of(new_key_id)? {
                    Some(owner) if owner != origin => Ok(Some(format!("key {new_key_id} belongs to {owner}"))),
                    _ => Ok(None),
                }
            }
            KeyEvent::Revocation { key_id, .. } => match owner_of(key_id)? {
                Some(owner) if owner != origin => Ok(Some(format!("key {key_id} belongs to {owner}, not {origin}"))),
                _ => Ok(None),
            },
        }
    }

    fn decide(
        &mut self,
        local_seq: u64,
        accept: bool,
        note: String,
        actor: String,
    ) -> Result<QuarantineRecord, DecideError> {
        let key = layout::seq_key(local_seq).to_vec();
        let bytes = self.get(Keyspace::Quarantine, &key)?.ok_or(DecideError::NotFound(local_seq))?;
        let mut rec: QuarantineRecord =
            serde_json::from_slice(&bytes).map_err(|e| corrupt(Keyspace::Quarantine, e.to_string()))?;
        if rec.decision != "pending" {
            return Err(DecideError::AlreadyDecided(local_seq, rec.decision));
        }
        let (_, body) = self.entry_at(local_seq)?.ok_or(DecideError::NotFound(local_seq))?;
        if accept {
            if let Entry::Indicator(ind) = &body.entry {
                let held = self.indexed(ind.kind, ind.value.as_str(), &body.origin)?;
                if held.as_ref().is_none_or(|(_, cur)| cur.version < ind.version) {
                    self.index(&body.origin, ind, local_seq, held.is_some());
                }
            }
            if let Entry::Feedback(f) = &body.entry {
                self.index_feedback(&body.origin, f, local_seq);
            }
            self.hidden_remove.push(local_seq);
        }
        rec.decision = if accept { "accepted" } else { "rejected" }.into();
        rec.note = note.clone();
        rec.decided_by = actor.clone();
        let bytes = serde_json::to_vec(&rec).map_err(|e| StoreError::Engine(e.to_string()))?;
        self.put(Keyspace::Quarantine, key, bytes);
        self.audit(AuditDraft {
            peer: Some(rec.peer.clone()),
            origin: Some(body.origin.clone()),
            origin_seq: Some(body.origin_seq),
            ..AuditDraft::admin(&actor, if accept { "review.accept" } else { "review.reject" }, note)
        })?;
        Ok(rec)
    }
}

enum Check {
    /// Apply it; `indexed`: an older version from the same origin is indexed.
    New {
        indexed: bool,
    },
    Duplicate,
    Refuse(&'static str, String),
}
