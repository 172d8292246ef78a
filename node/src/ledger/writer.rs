//! The writer thread: load the state a commit builds on, then take queued
//! commands in groups, apply each group to one transaction, commit it
//! durably, move the committed state forward, answer every caller.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::{mpsc, watch};

use super::command::{Command, LedgerConfig};
use super::committed::Committed;
use super::health::StoreHealth;
use super::tree::{self, TreeHead};
use super::txn::{Answer, Change, KeyringChange, Snapshot, Txn};
use crate::audit;
use crate::envelope::{Entry, KeyEvent};
use crate::keys::SigningKey;
use crate::store::Tables;
use crate::store::layout::Head;
use crate::store::records::Decision;
use crate::store::{Store, StoreError};

/// What the writer keeps between commits.
pub(super) struct State {
    store: Store,
    config: LedgerConfig,
    committed: Arc<Committed>,
    snapshot: Snapshot,
    /// The tree head after each commit that grew it, for the checkpoint
    /// signer (`None` while the tree is off).
    tree_head: Arc<watch::Sender<Option<TreeHead>>>,
    health: Arc<watch::Sender<StoreHealth>>,
}

impl State {
    /// Reads what the next commit builds on, and fills the key ring and the
    /// hidden positions readers see.
    pub(super) fn load(
        store: Store,
        config: LedgerConfig,
        key: Arc<SigningKey>,
        committed: Arc<Committed>,
        health: Arc<watch::Sender<StoreHealth>>,
        tree_head: Arc<watch::Sender<Option<TreeHead>>>,
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
        load_keyring(&store, &committed)?;
        load_hidden(&store, &committed)?;
        let tree = if config.tlog { Some(tree::load(&store, next_local_seq - 1)?) } else { None };
        tree_head.send_replace(tree.as_ref().map(TreeHead::of));
        let snapshot = Snapshot { next_local_seq, heads, counters, audit_seq, audit_hash, key, tree };
        Ok(State { store, config, committed, snapshot, tree_head, health })
    }

    /// The newest local log position.
    pub(super) fn log_head(&self) -> u64 {
        self.snapshot.next_local_seq - 1
    }

    /// The key signing new entries.
    pub(super) fn signing_key(&self) -> Arc<SigningKey> {
        self.snapshot.key.clone()
    }

    /// Serves commands until every sender is gone.
    pub(super) fn run(mut self, mut rx: mpsc::Receiver<Command>, head_tx: watch::Sender<u64>) {
        while let Some(first) = rx.blocking_recv() {
            let _ = self.serve(first, &mut rx, &head_tx);
        }
        tracing::debug!("ledger stopped");
    }

    /// Applies `first` and whatever else is queued (up to a commit's
    /// worth) in one commit; the commit's outcome.
    pub(super) fn serve(
        &mut self,
        first: Command,
        rx: &mut mpsc::Receiver<Command>,
        head_tx: &watch::Sender<u64>,
    ) -> Result<(), StoreError> {
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
        self.apply_all(commands, head_tx)
    }

    /// Applies commands to one transaction, commits it, moves the committed
    /// state forward (and the head readers see, so that a caller answered
    /// reads a head that holds its entries), and answers every caller with
    /// the commit's outcome.
    fn apply_all(&mut self, commands: Vec<Command>, head_tx: &watch::Sender<u64>) -> Result<(), StoreError> {
        // Up to five keys per entry (log, origin sequence, index, STIX id,
        // own id).
        let entries = commands.iter().map(Command::weight).sum::<usize>();
        let keys = entries.saturating_mul(5);
        let started = Instant::now();
        let mut txn = Txn::new(&self.store, &self.config, &self.committed, &self.snapshot, keys);
        let answers: Vec<Answer> = commands.into_iter().map(|c| txn.apply(c)).collect();
        // A transaction that cannot finish (its tree tiles unreadable) wrote
        // nothing; an empty batch touches no engine: neither says anything
        // of the store's health.
        let (wrote, outcome) = match txn.finish(&self.snapshot) {
            Ok((batch, change)) => {
                let wrote = !batch.is_empty();
                let built = Instant::now();
                let committed = self.store.commit(batch).map(|()| change);
                if wrote && committed.is_ok() {
                    crate::metrics::global().observe_commit(entries, built - started, built.elapsed());
                }
                (wrote, committed)
            }
            Err(e) => (false, Err(e)),
        };
        let outcome = match outcome {
            Ok(change) => {
                self.advance(change);
                head_tx.send_replace(self.log_head());
                Ok(())
            }
            Err(e) => {
                tracing::error!(error = %e, "commit failed; nothing of this batch was stored");
                Err(e)
            }
        };
        let failure = outcome.as_ref().err().map(ToString::to_string);
        self.health.send_if_modified(|h| {
            if !wrote {
                return false;
            }
            let was = h.clone();
            h.record(failure.as_deref(), crate::model::now_ms());
            if was.failing && !h.failing {
                tracing::info!("store commits again");
            }
            *h != was
        });
        let err = outcome.err();
        for answer in answers {
            answer(err.as_ref());
        }
        err.map_or(Ok(()), Err)
    }

    /// Moves the writer's and readers' state to what a commit made durable.
    fn advance(&mut self, c: Change) {
        if c.snapshot.heads.len() != self.snapshot.heads.len() {
            // A new origin: readers must look for its assertions before
            // they are told its values changed.
            self.committed.lookup.set_origins(c.snapshot.heads.keys().map(String::as_str));
        }
        self.committed.lookup.touch(&c.touched);
        self.snapshot = c.snapshot;
        if let Some(head) = c.tree_head {
            self.tree_head.send_replace(Some(head));
        }
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
                    KeyringChange::Pending { key_id } => {
                        self.committed.pending_keys.write().unwrap_or_else(|p| p.into_inner()).insert(key_id);
                    }
                    KeyringChange::Settled { key_id } => {
                        self.committed.pending_keys.write().unwrap_or_else(|p| p.into_inner()).remove(&key_id);
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

/// Fills the key ring readers verify with from the stored keys (inserting
/// is idempotent; revocations are applied again).
pub(super) fn load_keyring(store: &Store, committed: &Committed) -> Result<(), StoreError> {
    let keys = store.stored_keys()?;
    let mut ring = committed.keyring.write().unwrap_or_else(|p| p.into_inner());
    for (_, k) in keys {
        let id = ring.insert(&k.owner, k.verifying_key()?, k.valid_from_ms);
        if let Some(at) = k.revoked_at_ms {
            ring.revoke(id.as_str(), at);
        }
    }
    Ok(())
}

/// Sets the log positions readers must not serve (pending or rejected
/// review) and the rotated-to keys still under review, from the quarantine
/// records.
pub(super) fn load_hidden(store: &Store, committed: &Committed) -> Result<(), StoreError> {
    let mut held = std::collections::BTreeSet::new();
    let mut pending = std::collections::BTreeSet::new();
    for (seq, rec) in store.quarantine_records()? {
        if rec.decision != Decision::Accepted {
            held.insert(seq);
        }
        if rec.decision == Decision::Pending
            && let Some(entry) = store.log_entry(seq)?
            && let Entry::KeyEvent(KeyEvent::Rotation { new_key_id, .. }) = entry.body.entry
        {
            pending.insert(new_key_id);
        }
    }
    *committed.hidden.write().unwrap_or_else(|p| p.into_inner()) = held;
    *committed.pending_keys.write().unwrap_or_else(|p| p.into_inner()) = pending;
    Ok(())
}
