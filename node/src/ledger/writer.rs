//! The writer thread: load the state a commit builds on, then take queued
//! commands in groups, apply each group to one transaction, commit it
//! durably, move the committed state forward, answer every caller.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::{mpsc, watch};

use super::command::{Command, LedgerConfig};
use super::committed::Committed;
use super::txn::{Answer, Change, KeyringChange, Snapshot, Txn};
use crate::audit;
use crate::keys::SigningKey;
use crate::store::layout::Head;
use crate::store::records::Decision;
use crate::store::{Store, StoreError};

/// What the writer keeps between commits.
pub(super) struct State {
    store: Store,
    config: LedgerConfig,
    committed: Arc<Committed>,
    snapshot: Snapshot,
}

impl State {
    /// Reads what the next commit builds on, and fills the key ring and the
    /// hidden positions readers see.
    pub(super) fn load(
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
                let id = ring.insert(&k.owner, k.verifying_key()?, k.valid_from_ms);
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
        let snapshot = Snapshot { next_local_seq, heads, counters, audit_seq, audit_hash, key };
        Ok(State { store, config, committed, snapshot })
    }

    /// The newest local log position.
    pub(super) fn log_head(&self) -> u64 {
        self.snapshot.next_local_seq - 1
    }

    /// Serves commands until every sender is gone.
    pub(super) fn run(mut self, mut rx: mpsc::Receiver<Command>, head_tx: watch::Sender<u64>) {
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
            head_tx.send_replace(self.log_head());
        }
        tracing::debug!("ledger stopped");
    }

    /// Applies commands to one transaction, commits it, moves the committed
    /// state forward, and answers every caller with the commit's outcome.
    fn apply_all(&mut self, commands: Vec<Command>) {
        // Up to four keys per entry (log, origin sequence, index, id).
        let keys = commands.iter().map(Command::weight).sum::<usize>().saturating_mul(4);
        let mut txn = Txn::new(&self.store, &self.config, &self.committed, &self.snapshot, keys);
        let answers: Vec<Answer> = commands.into_iter().map(|c| txn.apply(c)).collect();
        let (batch, change) = txn.finish(&self.snapshot);
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
    fn advance(&mut self, c: Change) {
        if c.snapshot.heads.len() != self.snapshot.heads.len() {
            // A new origin: readers must look for its assertions before
            // they are told its values changed.
            self.committed.lookup.set_origins(c.snapshot.heads.keys().map(String::as_str));
        }
        self.committed.lookup.touch(&c.touched);
        self.snapshot = c.snapshot;
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
