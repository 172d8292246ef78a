//! The writer thread: load the state a commit builds on, then take queued
//! commands in groups, apply each group to one transaction, commit it
//! durably, move the committed state forward, answer every caller.
//!
//! The engine commits on a thread of its own ([`Committer`]). With
//! [`LedgerConfig::pipeline`] (a store shared through a database,
//! PostgreSQL, whose commit is a round trip and the server's work) the
//! writer builds the next group's transaction meanwhile, on the state the
//! commit in flight leaves ([`Flight`]), and has the engine turn it into its
//! rows ([`Store::prepare`]). A commit that fails takes the one built on it
//! down with it (nothing of either is stored); one that changes the key
//! ring or the hidden positions lands before the next is built. On an
//! embedded engine each commit lands before the next is built: its commit
//! is short, and carrying its writes over for the next build cost more than
//! the overlap saved (BENCHMARKS.md, "Building the next commit while one
//! commits, and binary COPY").

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::mpsc as std_mpsc;
use std::time::{Duration, Instant};

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
use crate::store::overlay::{self, LastWrites};
use crate::store::records::Decision;
use crate::store::{Prepared, Store, StoreError};

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
    committer: Committer,
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
        let committer = Committer::start(store.clone())?;
        Ok(State { store, config, committed, snapshot, tree_head, health, committer })
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

    /// Applies `first` and whatever else is queued, a commit's worth at a
    /// time, until nothing is queued; the first failed commit's error ends
    /// it. On a shared store, while the engine commits one group the next
    /// is built on it ([`Flight`]).
    pub(super) fn serve(
        &mut self,
        first: Command,
        rx: &mut mpsc::Receiver<Command>,
        head_tx: &watch::Sender<u64>,
    ) -> Result<(), StoreError> {
        let mut next = Some(first);
        let mut flight: Option<Flight> = None;
        loop {
            let commands = self.gather(next.take(), rx);
            if commands.is_empty() {
                return flight.map_or(Ok(()), |f| self.land(f, head_tx));
            }
            if let Some(f) = flight.take_if(|f| f.holds_back())
                && let Err(e) = self.land(f, head_tx)
            {
                // Built on what is stored, as after any failed commit.
                let built = self.build(commands, None);
                let flight = self.launch(built);
                let _ = self.land(flight, head_tx);
                return Err(e);
            }
            let built = self.build(commands, flight.as_ref());
            if let Some(f) = flight.take()
                && let Err(e) = self.land(f, head_tx)
            {
                // It was built on writes that were not stored.
                built.fail(&e);
                return Err(e);
            }
            let launched = self.launch(built);
            if self.config.pipeline {
                flight = Some(launched);
            } else {
                self.land(launched, head_tx)?;
            }
        }
    }

    /// `next` and whatever else is queued, up to a commit's worth.
    fn gather(&self, next: Option<Command>, rx: &mut mpsc::Receiver<Command>) -> Vec<Command> {
        let mut commands: Vec<Command> = next.into_iter().collect();
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
        commands
    }

    /// Applies commands to one transaction, on the state the commit in
    /// flight leaves (its writes read as stored) or else on the landed one.
    fn build(&self, commands: Vec<Command>, on: Option<&Flight>) -> Built {
        // Up to five keys per entry (log, origin sequence, index, STIX id,
        // own id).
        let entries = commands.iter().map(Command::weight).sum::<usize>();
        let keys = entries.saturating_mul(5);
        let started = Instant::now();
        let (before, pending) = match on.and_then(|f| f.sent.as_ref().ok()) {
            Some(sent) => (&sent.change.snapshot, Some(&sent.writes)),
            None => (&self.snapshot, None),
        };
        let mut txn = Txn::new(&self.store, &self.config, &self.committed, before, pending, keys);
        let answers: Vec<Answer> = commands.into_iter().map(|c| txn.apply(c)).collect();
        let finished = txn.finish(before).and_then(|(batch, change)| {
            // Read by the next build only while this is in flight.
            let writes = if self.config.pipeline && !batch.is_empty() {
                overlay::last_writes(&batch)
            } else {
                LastWrites::new()
            };
            // On a shared store the commit before is still in flight: the
            // engine turns this batch into its rows meanwhile.
            let prepared = self.store.prepare(batch)?;
            Ok(Ready { prepared, change, writes })
        });
        Built { finished, answers, entries, took: started.elapsed() }
    }

    /// Hands a built commit to the engine. A transaction that cannot
    /// finish (its tree tiles unreadable) is not sent: it wrote nothing.
    fn launch(&self, built: Built) -> Flight {
        let Built { finished, answers, entries, took } = built;
        let sent = finished.and_then(|Ready { prepared, change, writes }| {
            let wrote = !prepared.is_empty();
            self.committer.send(prepared)?;
            Ok(Sent { change, writes, wrote, at: Instant::now() })
        });
        Flight { sent, answers, entries, build: took }
    }

    /// Waits for a commit's outcome, moves the committed state forward
    /// (and the head readers see, so that a caller answered reads a head
    /// that holds its entries), and answers every caller with it.
    fn land(&mut self, flight: Flight, head_tx: &watch::Sender<u64>) -> Result<(), StoreError> {
        let Flight { sent, answers, entries, build } = flight;
        // A transaction that never reached the engine (or an empty one)
        // says nothing of the store's health.
        let (wrote, outcome) = match sent {
            Ok(s) => {
                let committed = self.committer.outcome().map(|()| s.change);
                if s.wrote && committed.is_ok() {
                    crate::metrics::global().observe_commit(entries, build, s.at.elapsed());
                }
                (s.wrote, committed)
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
        self.committed.lookup.touch(c.touched);
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

/// A group of commands applied to one transaction, not yet committed.
struct Built {
    /// The batch to commit and what it moves forward.
    finished: Result<Ready, StoreError>,
    answers: Vec<Answer>,
    entries: usize,
    /// How long applying and finishing took.
    took: Duration,
}

/// A built transaction's batch, ready for the engine.
struct Ready {
    prepared: Prepared,
    change: Change,
    /// Its last write of each key, for the next build (when pipelined).
    writes: LastWrites,
}

impl Built {
    /// Answers every caller with `e`: the state this was built on was not
    /// stored, so nothing of it is.
    fn fail(self, e: &StoreError) {
        for answer in self.answers {
            answer(Some(e));
        }
    }
}

/// A commit handed to the engine (or refused before it), and the callers
/// it answers once its outcome is known. While it is in flight the writer
/// builds the next commit on it: on its snapshot, reading its writes as
/// stored. Only one is in flight at a time, and it lands before the next
/// is sent, so commits still reach the engine, and callers are answered,
/// in order.
struct Flight {
    sent: Result<Sent, StoreError>,
    answers: Vec<Answer>,
    entries: usize,
    build: Duration,
}

/// What a commit in flight wrote and moves forward.
struct Sent {
    change: Change,
    /// Its last write of each key, for the next build to read.
    writes: LastWrites,
    /// Whether the batch had any write.
    wrote: bool,
    /// When it was handed to the engine.
    at: Instant,
}

impl Flight {
    /// Whether the next commit must wait for this one to land before it is
    /// built: it failed already, or it changes what a build reads outside
    /// the store (the key ring a key event is checked against, the hidden
    /// positions).
    fn holds_back(&self) -> bool {
        match &self.sent {
            Ok(s) => {
                !s.change.keyring_changes.is_empty()
                    || !s.change.hidden_add.is_empty()
                    || !s.change.hidden_remove.is_empty()
            }
            Err(_) => true,
        }
    }
}

/// The thread that commits batches to the engine, one at a time, while the
/// writer builds the next.
struct Committer {
    batches: Option<std_mpsc::SyncSender<Prepared>>,
    outcomes: std_mpsc::Receiver<Result<(), StoreError>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Committer {
    fn start(store: Store) -> Result<Committer, StoreError> {
        let (batches, todo) = std_mpsc::sync_channel::<Prepared>(1);
        let (done, outcomes) = std_mpsc::sync_channel(1);
        let thread = std::thread::Builder::new()
            .name("jaring-commit".into())
            .spawn(move || {
                for batch in todo {
                    if done.send(store.commit_prepared(batch)).is_err() {
                        break;
                    }
                }
            })
            .map_err(|e| StoreError::Engine(format!("cannot start the commit thread: {e}")))?;
        Ok(Committer { batches: Some(batches), outcomes, thread: Some(thread) })
    }

    fn stopped() -> StoreError {
        StoreError::Engine("the commit thread stopped".into())
    }

    fn send(&self, batch: Prepared) -> Result<(), StoreError> {
        self.batches.as_ref().ok_or_else(Self::stopped)?.send(batch).map_err(|_| Self::stopped())
    }

    /// The outcome of the batch sent last.
    fn outcome(&self) -> Result<(), StoreError> {
        self.outcomes.recv().map_err(|_| Self::stopped())?
    }
}

impl Drop for Committer {
    /// Stops the thread, which holds the store, before the store is reopened.
    fn drop(&mut self) {
        self.batches = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
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
