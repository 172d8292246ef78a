//! One commit's transaction: the overlay of writes, the in-memory state it
//! moves (heads, counters, the audit chain, key ring and hidden changes),
//! and the steps every kind of entry shares (append, index, audit).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use super::command::{Command, DecideError, LedgerConfig, PublishError};
use super::committed::Committed;
use crate::audit::{self, AuditDraft};
use crate::envelope::{Entry, Indicator, VerifiedEnvelope};
use crate::keys::SigningKey;
use crate::lookup_index::ValueKey;
use crate::model::{Kind, UnixMillis, now_ms};
use crate::policy::Disposition;
use crate::store::layout::{Head, OriginEntry};
use crate::store::{Batch, LogEntry, Overlay, Store, StoreError, TableWrites, Tables};

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
}

/// A change to the in-memory key ring, applied after the commit.
pub(super) enum KeyringChange {
    /// Trust a new key of `owner`.
    Add { owner: String, key: ed25519_dalek::VerifyingKey, valid_from_ms: UnixMillis },
    /// A key is revoked from a time.
    Revoke { key_id: String, at_ms: UnixMillis },
}

/// Replies to one command once the commit's outcome is known.
pub(super) type Answer = Box<dyn FnOnce(Option<&StoreError>)>;

/// A store failure, for each caller of a failed commit.
pub(super) fn clone_err(e: &StoreError) -> StoreError {
    StoreError::Engine(e.to_string())
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
    /// Values whose lookup answer this commit changes, each with whether
    /// it is a feedback event.
    touched: Vec<(ValueKey, bool)>,
    pub(super) keyring_changes: Vec<KeyringChange>,
    pub(super) hidden_add: Vec<u64>,
    pub(super) hidden_remove: Vec<u64>,
    /// Reused to name counters without an allocation per entry.
    scratch: String,
}

/// What a committed transaction moves forward in memory.
pub(super) struct Change {
    pub(super) snapshot: Snapshot,
    pub(super) touched: Vec<(ValueKey, bool)>,
    pub(super) keyring_changes: Vec<KeyringChange>,
    pub(super) hidden_add: Vec<u64>,
    pub(super) hidden_remove: Vec<u64>,
}

impl<'s> Txn<'s> {
    /// `keys`: how many writes to make room for.
    pub(super) fn new(
        store: &'s Store,
        config: &'s LedgerConfig,
        committed: &'s Committed,
        before: &Snapshot,
        keys: usize,
    ) -> Txn<'s> {
        Txn {
            config,
            committed,
            overlay: Overlay::new(store, keys),
            snap: before.clone(),
            dirty_counters: HashSet::new(),
            touched: Vec::new(),
            keyring_changes: Vec::new(),
            hidden_add: Vec::new(),
            hidden_remove: Vec::new(),
            scratch: String::new(),
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
    /// commit moved, written once) and what moves forward once it is
    /// durable.
    pub(super) fn finish(self, before: &Snapshot) -> (Batch, Change) {
        let mut moved = Batch::default();
        for name in &self.dirty_counters {
            moved.put_counter(name, self.snap.counters.get(name).copied().unwrap_or(0));
        }
        for (origin, head) in &self.snap.heads {
            if before.heads.get(origin) != Some(head) {
                moved.put_head(origin, head);
            }
        }
        let mut all = self.overlay.into_batch();
        all.append(moved);
        let change = Change {
            snapshot: self.snap,
            touched: self.touched,
            keyring_changes: self.keyring_changes,
            hidden_add: self.hidden_add,
            hidden_remove: self.hidden_remove,
        };
        (all, change)
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
    /// the index (the caller has looked).
    pub(super) fn append(
        &mut self,
        env: &VerifiedEnvelope,
        disposition: &Disposition,
        indexed: bool,
    ) -> Result<u64, StoreError> {
        let local_seq = self.snap.next_local_seq;
        self.snap.next_local_seq += 1;
        let body = &env.body;
        self.overlay.put_log(local_seq, &env.raw);
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
            (Entry::KeyEvent(ev), _) => self.key_event(&body.origin, ev)?,
            (Entry::Feedback(f), Disposition::Accept) => self.index_feedback(&body.origin, f, local_seq),
            (Entry::Feedback(_), Disposition::Quarantine { .. }) => {}
        }
        Ok(local_seq)
    }

    /// Files a feedback event under the value it is about, so the merged
    /// view finds it. Idempotent like every entry: a duplicate
    /// (origin, origin_seq) never reaches here.
    pub(super) fn index_feedback(&mut self, reporter: &str, f: &crate::feedback::Feedback, local_seq: u64) {
        self.overlay.put_feedback_ref(f.kind, f.value.as_str(), reporter, local_seq);
        self.touched.push((self.committed.lookup.key(f.kind, f.value.as_str()), true));
        self.bump(format_args!("count/feedback/{}", f.feedback_type));
    }

    pub(super) fn index(&mut self, origin: &str, ind: &Indicator, local_seq: u64, indexed: bool) {
        self.touched.push((self.committed.lookup.key(ind.kind, ind.value.as_str()), false));
        if !indexed {
            self.bump(format_args!("count/kind/{}", ind.kind));
            self.bump(format_args!("count/origin/{origin}"));
        }
        self.overlay.put_index(ind.kind, ind.value.as_str(), origin, local_seq);
        // Ids serve revocation by id, which only the origin does: a peer's
        // indicators are found by (kind, value, origin) in the index.
        if origin == self.config.origin {
            self.overlay.put_own_indicator(&ind.id, local_seq);
        }
    }
}
