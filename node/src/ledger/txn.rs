//! One commit's transaction: the overlay of writes, the in-memory state it
//! moves (heads, counters, the audit chain, key ring and hidden changes),
//! and the steps every kind of entry shares (append, index, audit).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use super::command::{Command, DecideError, LedgerConfig, PublishError, StoredBytes};
use super::committed::Committed;
use super::tree::TreeHead;
use crate::audit::{self, AuditDraft};
use crate::envelope::{Entry, Indicator, VerifiedEnvelope};
use crate::keys::SigningKey;
use crate::lookup_index::{Fresh, Touch};
use crate::model::{Kind, UnixMillis, now_ms};
use crate::policy::Disposition;
use crate::store::layout::{Head, OriginEntry};
use crate::store::overlay::LastWrites;
use crate::store::{Batch, LogEntry, Overlay, Store, StoreError, TableWrites, Tables};
use crate::tlog::Hash;
use crate::tlog::merkle::leaf_hash;
use crate::tlog::tree::TreeState;
use crate::wire;

/// The writer's in-memory state that each commit moves forward.
#[derive(Clone)]
pub(super) struct Snapshot {
    /// The next local log position.
    pub(super) next_local_seq: u64,
    /// Each origin's head.
    pub(super) heads: HashMap<String, Head>,
    /// Counters (`count/...`).
    pub(super) counters: HashMap<String, u64>,
    /// The audit chain's last entry.
    pub(super) audit_seq: u64,
    pub(super) audit_hash: String,
    /// The key that signs this node's new entries.
    pub(super) key: Arc<SigningKey>,
    /// The log's transparency-log tree (`None` with `[log] enabled = false`).
    pub(super) tree: Option<TreeState>,
}

/// A change to the in-memory key ring, applied after the commit.
pub(super) enum KeyringChange {
    /// Trust a new key of `owner`.
    Add { owner: String, key: ed25519_dalek::VerifyingKey, valid_from_ms: UnixMillis },
    /// A key is revoked from a time.
    Revoke { key_id: String, at_ms: UnixMillis },
    /// A rotation announcing this key is held for review.
    Pending { key_id: String },
    /// The review of that rotation is decided.
    Settled { key_id: String },
}

/// Replies to one command once the commit's outcome is known.
pub(super) type Answer = Box<dyn FnOnce(Option<&StoreError>)>;

/// A store failure, for each caller of a failed commit.
pub(super) fn clone_err(e: &StoreError) -> StoreError {
    match e {
        // Callers act on this one (they go to the writer).
        StoreError::NotWriter { writer } => StoreError::NotWriter { writer: writer.clone() },
        other => StoreError::Engine(other.to_string()),
    }
}

/// A transaction: writes plus an overlay so later commands in the same
/// commit see earlier ones.
pub(super) struct Txn<'s> {
    pub(super) config: &'s LedgerConfig,
    pub(super) committed: &'s Committed,
    /// Every write of the commit, last one per key wins.
    pub(super) overlay: Overlay<'s>,
    /// The state as this commit leaves it.
    pub(super) snap: Snapshot,
    /// Counters changed by this commit.
    dirty_counters: HashSet<String>,
    /// Values whose lookup answer this commit changes, in order.
    touched: Vec<Touch>,
    pub(super) keyring_changes: Vec<KeyringChange>,
    pub(super) hidden_add: Vec<u64>,
    pub(super) hidden_remove: Vec<u64>,
    /// Withdrawal notices this commit published, to be signed with the
    /// rest (`sign_all`).
    pub(super) withdrawals: Vec<super::command::Stored>,
    /// Reused to name counters without an allocation per entry.
    scratch: String,
    /// Leaf hashes of the entries this commit appends, by log position
    /// (own entries are hashed once signed, by [`Self::sign_all`]).
    pub(super) leaves: Vec<(u64, Hash)>,
}

/// What a committed transaction moves forward in memory.
pub(super) struct Change {
    pub(super) snapshot: Snapshot,
    /// The tree head after the commit, when it grew.
    pub(super) tree_head: Option<TreeHead>,
    pub(super) touched: Vec<Touch>,
    pub(super) keyring_changes: Vec<KeyringChange>,
    pub(super) hidden_add: Vec<u64>,
    pub(super) hidden_remove: Vec<u64>,
}

impl<'s> Txn<'s> {
    /// `pending`: the writes of the commit `before` comes from, when the
    /// engine has not finished it yet (read as stored). `keys`: how many
    /// writes to make room for.
    pub(super) fn new(
        store: &'s Store,
        config: &'s LedgerConfig,
        committed: &'s Committed,
        before: &Snapshot,
        pending: Option<&'s LastWrites>,
        keys: usize,
    ) -> Txn<'s> {
        Txn {
            config,
            committed,
            overlay: Overlay::on_pending(store, pending, keys),
            snap: before.clone(),
            dirty_counters: HashSet::new(),
            touched: Vec::new(),
            keyring_changes: Vec::new(),
            hidden_add: Vec::new(),
            hidden_remove: Vec::new(),
            withdrawals: Vec::new(),
            scratch: String::new(),
            leaves: Vec::new(),
        }
    }

    /// Applies one command; the answer waits for the commit's outcome.
    pub(super) fn apply(&mut self, command: Command) -> Answer {
        match command {
            Command::Publish { items, audit, reply } => {
                let mut results: Vec<_> = items.into_iter().map(|item| self.publish(item)).collect();
                self.sign_all(&mut results);
                self.audit_all(audit);
                Box::new(move |err| {
                    let out = match err {
                        Some(e) => results.into_iter().map(|_| Err(PublishError::Store(clone_err(e)))).collect(),
                        None => results,
                    };
                    let _ = reply.send(out);
                })
            }
            Command::Ingest { batch, reply } => {
                let result = self.ingest(batch);
                Box::new(move |err| {
                    let _ = reply.send(match err {
                        Some(e) => Err(clone_err(e)),
                        None => result,
                    });
                })
            }
            Command::Apply { batch, audit, reply } => {
                self.overlay.extend(batch);
                self.audit_all(audit);
                Box::new(move |err| {
                    let _ = reply.send(match err {
                        Some(e) => Err(clone_err(e)),
                        None => Ok(()),
                    });
                })
            }
            Command::Decide { local_seq, accept, note, actor, reply } => {
                let result = self.decide(local_seq, accept, note, actor);
                Box::new(move |err| {
                    let _ = reply.send(match err {
                        Some(e) => Err(DecideError::Store(clone_err(e))),
                        None => result,
                    });
                })
            }
            Command::SetSigningKey { key, reply } => {
                self.snap.key = key;
                Box::new(move |_| {
                    let _ = reply.send(());
                })
            }
        }
    }

    /// The batch to commit (the overlay, then each counter and head the
    /// commit moved, written once, then the tree's tiles) and what moves
    /// forward once it is durable.
    ///
    /// # Errors
    ///
    /// The tree cannot take the entries (a bug: they do not follow it), or
    /// an appended entry cannot be read back; then nothing is committed.
    pub(super) fn finish(mut self, before: &Snapshot) -> Result<(Batch, Change), StoreError> {
        let mut moved = Batch::default();
        for name in &self.dirty_counters {
            moved.put_counter(name, self.snap.counters.get(name).copied().unwrap_or(0));
        }
        for (origin, head) in &self.snap.heads {
            if before.heads.get(origin) != Some(head) {
                moved.put_head(origin, head);
            }
        }
        let tree_head = self.grow_tree(before, &mut moved)?;
        let mut all = self.overlay.into_batch(moved.len());
        all.append(moved);
        let change = Change {
            snapshot: self.snap,
            tree_head,
            touched: self.touched,
            keyring_changes: self.keyring_changes,
            hidden_add: self.hidden_add,
            hidden_remove: self.hidden_remove,
        };
        Ok((all, change))
    }

    /// Appends the leaves of this commit's entries to the tree, in log
    /// order, and puts the tiles that changed and the new size in `batch`.
    fn grow_tree(&mut self, before: &Snapshot, batch: &mut Batch) -> Result<Option<TreeHead>, StoreError> {
        let (first, end) = (before.next_local_seq, self.snap.next_local_seq);
        let Some(tree) = &self.snap.tree else { return Ok(None) };
        if first == end {
            return Ok(None);
        }
        let mut known = std::mem::take(&mut self.leaves);
        known.sort_unstable_by_key(|(seq, _)| *seq);
        let mut known = known.into_iter().peekable();
        let mut leaves = Vec::with_capacity(usize::try_from(end - first).unwrap_or(0));
        for seq in first..end {
            while known.peek().is_some_and(|(s, _)| *s < seq) {
                known.next();
            }
            match known.peek() {
                Some((s, h)) if *s == seq => leaves.push(*h),
                // Not hashed on the way in: read back what this commit stores.
                _ => {
                    let rec = self
                        .overlay
                        .log_record(seq)?
                        .ok_or_else(|| StoreError::corrupt_log(format!("entry {seq} of this commit is missing")))?;
                    leaves.push(leaf_hash(&rec.bytes));
                }
            }
        }
        let appended = tree.append(first - 1, &leaves).map_err(|e| StoreError::Corrupt {
            keyspace: crate::store::Keyspace::Tiles,
            reason: format!("the tree does not follow the log: {e}"),
        })?;
        for tile in &appended.tiles {
            batch.put_tile(tile);
        }
        batch.put_tlog_size(appended.state.size());
        let head = TreeHead { size: appended.state.size(), root: appended.root };
        self.snap.tree = Some(appended.state);
        Ok(Some(head))
    }

    /// Puts a signed envelope in the log at `local_seq`, hashing its exact
    /// stored bytes into the tree when there is one.
    pub(super) fn put_signed(&mut self, local_seq: u64, encoded: Vec<u8>, leaf: Option<Hash>) {
        if self.snap.tree.is_some() {
            let leaf = leaf.unwrap_or_else(|| leaf_hash(&encoded));
            self.leaves.push((local_seq, leaf));
        }
        self.overlay.put_log_bytes(local_seq, encoded);
    }

    pub(super) fn bump(&mut self, counter: std::fmt::Arguments<'_>) {
        use std::fmt::Write as _;
        let mut name = std::mem::take(&mut self.scratch);
        name.clear();
        // Writing to a String cannot fail.
        let _ = name.write_fmt(counter);
        match self.snap.counters.get_mut(name.as_str()) {
            Some(n) => *n += 1,
            None => {
                self.snap.counters.insert(name.clone(), 1);
            }
        }
        if !self.dirty_counters.contains(name.as_str()) {
            self.dirty_counters.insert(name.clone());
        }
        self.scratch = name;
    }

    /// Appends an entry to the audit chain.
    pub(super) fn audit(&mut self, draft: AuditDraft) {
        let seq = self.snap.audit_seq + 1;
        let entry = audit::chain(seq, now_ms(), draft, &self.snap.audit_hash);
        self.overlay.put_audit_entry(&entry);
        self.snap.audit_seq = seq;
        self.snap.audit_hash = entry.hash;
    }

    fn audit_all(&mut self, drafts: Vec<AuditDraft>) {
        for a in drafts {
            self.audit(a);
        }
    }

    /// The log entry at a position, decoded (this commit's writes included).
    pub(super) fn entry_at(&self, local_seq: u64) -> Result<Option<LogEntry>, StoreError> {
        self.overlay.log_entry(local_seq)
    }

    /// The latest indexed version of (kind, value) from `origin`.
    pub(super) fn indexed(
        &self,
        kind: Kind,
        value: &str,
        origin: &str,
    ) -> Result<Option<(u64, Indicator)>, StoreError> {
        // A value no commit has indexed is not in the store: most entries
        // name new values, and this saves their index read.
        let may_be_stored = self.committed.lookup.may_contain(kind, value);
        let Some(seq) = self.overlay.indexed_at_if(kind, value, origin, may_be_stored)? else { return Ok(None) };
        match self.entry_at(seq)? {
            Some(LogEntry { body, .. }) => match body.entry {
                Entry::Indicator(i) => Ok(Some((seq, i))),
                _ => Err(StoreError::corrupt_log(format!("the index points at {seq}, which is not an indicator"))),
            },
            None => Err(StoreError::corrupt_log(format!("the index points at {seq}, which is not in the log"))),
        }
    }

    /// Appends a checked envelope; indexes it when accepted and newer.
    /// `indexed`: whether (kind, value, origin) of an indicator is already in
    /// the index (the caller has looked). `stored`: its stored bytes (and
    /// leaf hash) when the caller encoded it already.
    pub(super) fn append(
        &mut self,
        env: &VerifiedEnvelope,
        disposition: &Disposition,
        indexed: bool,
        stored: Option<StoredBytes>,
    ) -> Result<u64, StoreError> {
        let local_seq = self.snap.next_local_seq;
        self.snap.next_local_seq += 1;
        let body = &env.body;
        if env.raw.signature.is_empty() {
            // One of this node's own entries, appended unsigned so later
            // commands of the commit read it: `sign_all` signs it, puts the
            // signed bytes and hashes them into the tree.
            self.overlay.put_log(local_seq, &env.raw);
        } else {
            match stored {
                Some(s) => self.put_signed(local_seq, s.bytes, s.leaf),
                None => self.put_signed(local_seq, wire::encode_envelope(&env.raw), None),
            }
        }
        let oe = OriginEntry { hash: env.hash, prev_hash: body.prev_hash, local_seq };
        self.overlay.put_origin_entry(&body.origin, body.origin_seq, &oe);
        let h = Head { seq: body.origin_seq, hash: env.hash };
        match self.snap.heads.get_mut(&body.origin) {
            Some(head) if body.origin_seq > head.seq => *head = h,
            Some(_) => {}
            None => {
                self.snap.heads.insert(body.origin.clone(), h);
            }
        }
        match (&body.entry, disposition) {
            (Entry::Indicator(ind), Disposition::Accept) => self.index(&body.origin, ind, local_seq, indexed),
            (Entry::Indicator(_), Disposition::Quarantine { .. }) => {}
            (Entry::KeyEvent(ev), Disposition::Accept) => self.key_event(&body.origin, ev)?,
            (Entry::KeyEvent(ev), Disposition::Quarantine { .. }) => {
                if let crate::envelope::KeyEvent::Rotation { new_key_id, .. } = ev {
                    self.keyring_changes.push(KeyringChange::Pending { key_id: new_key_id.clone() });
                }
            }
            (Entry::Feedback(f), Disposition::Accept) => {
                self.index_feedback(&body.origin, body.origin_seq, f, local_seq);
            }
            (Entry::Feedback(_), Disposition::Quarantine { .. }) => {}
        }
        Ok(local_seq)
    }

    /// Files a feedback event under the value it is about, so the merged
    /// view finds it, and a takedown case's event under its case.
    /// Idempotent like every entry: a duplicate (origin, origin_seq) never
    /// reaches here.
    pub(super) fn index_feedback(
        &mut self,
        reporter: &str,
        origin_seq: u64,
        f: &crate::feedback::Feedback,
        local_seq: u64,
    ) {
        self.overlay.put_feedback_ref(f.kind, f.value.as_str(), reporter, local_seq);
        if let Some(case_seq) = crate::takedown::case_of(f, origin_seq) {
            self.overlay.put_case_event(reporter, case_seq, local_seq);
        }
        self.touched.push(Touch::Feedback(self.committed.lookup.key(f.kind, f.value.as_str())));
        self.bump(format_args!("count/feedback/{}", f.feedback_type));
    }

    pub(super) fn index(&mut self, origin: &str, ind: &Indicator, local_seq: u64, indexed: bool) {
        let lookup = &self.committed.lookup;
        // The origin's first assertion of the value may be the whole answer.
        let fresh = (!indexed && lookup.wants_fresh(ind))
            .then(|| Box::new(Fresh { origin: origin.to_string(), indicator: ind.clone() }));
        self.touched.push(Touch::Asserted(lookup.key(ind.kind, ind.value.as_str()), fresh));
        if !indexed {
            self.bump(format_args!("count/kind/{}", ind.kind));
            self.bump(format_args!("count/origin/{origin}"));
            // Once per (kind, value, origin): its id is f(origin, kind,
            // value), the same for every version.
            let stix_id = crate::envelope::stix_indicator_id(&ind.id);
            self.overlay.insert_stix_indicator(&stix_id, ind.kind, ind.value.as_str(), origin);
            self.overlay.insert_index(ind.kind, ind.value.as_str(), origin, local_seq);
        } else {
            self.overlay.put_index(ind.kind, ind.value.as_str(), origin, local_seq);
        }
        // Ids serve revocation by id, which only the origin does: a peer's
        // indicators are found by (kind, value, origin) in the index.
        if origin == self.config.origin {
            self.overlay.put_own_indicator(&ind.id, local_seq);
        }
    }
}
