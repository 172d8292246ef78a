//! The ledger on a store several processes share: standby, takeover,
//! writer, and back.
//!
//! A process that does not hold the writer lease follows the writer: every
//! poll it reads the change marks ([`ChangeMarks`]), tells the lookup index
//! about the values of new log entries, reloads the key ring and the hidden
//! positions when their tables changed, and announces peer changes, so what
//! it serves from memory stays in step with the database. Commands sent to
//! it are refused ([`StoreError::NotWriter`], with the writer's address).
//!
//! When the lease has expired (the writer died, or stopped renewing) a
//! standby takes it with a new fencing token, catches up once more (now
//! reading the primary), reloads the writer's state from the database
//! ([`State::load`]) and serves commands. A writer whose lease is lost (or
//! whose commit was fenced) goes back to following.

use std::sync::Arc;

use tokio::sync::{mpsc, watch};

use super::command::{Command, LedgerConfig};
use super::committed::Committed;
use super::health::StoreHealth;
use super::tree::TreeHead;
use super::writer::{State, load_hidden, load_keyring};
use crate::envelope::Entry;
use crate::keys::SigningKey;
use crate::lookup_index::{Fresh, Touch};
use crate::store::{ChangeMarks, Keyspace, Store, StoreError, Tables, WriterInfo};

/// What this process is for its store.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Role {
    /// The single writer (always, on an embedded store).
    Writer,
    /// Follows the writer and serves reads; takes over when the writer's
    /// lease expires.
    Standby {
        /// The writer, when one holds the lease.
        writer: Option<WriterInfo>,
    },
    /// Follows the writer and serves reads; never writes (`[store] role =
    /// "reader"`).
    Reader {
        /// The writer, when one holds the lease.
        writer: Option<WriterInfo>,
    },
}

impl Role {
    /// Whether this process writes.
    pub fn is_writer(&self) -> bool {
        matches!(self, Role::Writer)
    }

    /// The writer's admin address, for a process that is not it.
    pub fn writer_admin(&self) -> Option<String> {
        match self {
            Role::Writer => None,
            Role::Standby { writer } | Role::Reader { writer } => writer.as_ref().map(|w| w.admin.clone()),
        }
    }

    /// `writer`, `standby` or `reader`.
    pub fn name(&self) -> &'static str {
        match self {
            Role::Writer => "writer",
            Role::Standby { .. } => "standby",
            Role::Reader { .. } => "reader",
        }
    }
}

/// The channels a shared ledger moves.
pub(super) struct Signals {
    /// The newest log position this process has seen committed.
    pub head: watch::Sender<u64>,
    /// What this process is.
    pub role: watch::Sender<Role>,
    /// Bumped when the peers table changed under this process (or it took
    /// over): the node reloads its peers.
    pub followed: watch::Sender<u64>,
    /// Whether commits succeed (moved while this process is the writer).
    pub health: Arc<watch::Sender<StoreHealth>>,
    /// The transparency-log tree's head (moved while this process is the
    /// writer).
    pub tree_head: Arc<watch::Sender<Option<TreeHead>>>,
}

/// What a follower has applied to memory.
pub(super) struct Follower {
    /// The newest log position told to the lookup index.
    pub seen: u64,
    /// The change marks last acted on.
    pub marks: ChangeMarks,
}

impl Follower {
    /// Catches memory up with the store.
    pub fn follow(&mut self, store: &Store, committed: &Committed, signals: &Signals) -> Result<(), StoreError> {
        let Some(shared) = store.shared() else { return Ok(()) };
        let marks = shared.changes()?;
        // The hidden positions first: a log entry up to `marks.log_head`
        // that is under review is hidden by then, so it is never cached as
        // an answer. An entry an analyst accepted changed its value's
        // answer without a new log entry: its value is touched here.
        if marks.version(Keyspace::Quarantine) != self.marks.version(Keyspace::Quarantine) {
            let before = committed.hidden();
            load_hidden(store, committed)?;
            let mut released = Vec::new();
            for seq in before.difference(&committed.hidden()) {
                match store.log_entry(*seq) {
                    Ok(entry) => {
                        released.extend(entry.and_then(|e| touch_of(committed, e.body.entry, e.body.origin, false)));
                    }
                    Err(e) => {
                        // Held as before, so the next poll looks again.
                        *committed.hidden.write().unwrap_or_else(|p| p.into_inner()) = before;
                        return Err(e);
                    }
                }
            }
            committed.lookup.touch(released);
        }
        if marks.log_head > self.seen {
            // New origins first: readers look for their assertions before
            // they are told the values changed.
            let heads = store.heads()?;
            committed.lookup.set_origins(heads.iter().map(|(o, _)| o.as_str()));
            let hidden = committed.hidden();
            let mut touched = Vec::new();
            // What was read is applied even when a later read fails:
            // `seen` has passed it.
            let mut failed = None;
            for rec in store.log_records_after(self.seen) {
                let entry = match rec {
                    Ok(rec) if rec.seq > marks.log_head => break,
                    Ok(rec) => rec.decode(),
                    Err(e) => Err(e),
                };
                let entry = match entry {
                    Ok(entry) => entry,
                    Err(e) => {
                        failed = Some(e);
                        break;
                    }
                };
                self.seen = entry.seq;
                let shown = !hidden.contains(&entry.seq);
                touched.extend(touch_of(committed, entry.body.entry, entry.body.origin, shown));
                if touched.len() >= 4096 {
                    committed.lookup.touch(std::mem::take(&mut touched));
                }
            }
            committed.lookup.touch(touched);
            signals.head.send_replace(self.seen);
            if let Some(e) = failed {
                return Err(e);
            }
        }
        if marks.version(Keyspace::Keys) != self.marks.version(Keyspace::Keys) {
            load_keyring(store, committed)?;
        }
        if marks.version(Keyspace::Peers) != self.marks.version(Keyspace::Peers) {
            signals.followed.send_modify(|g| *g += 1);
        }
        self.marks = marks;
        Ok(())
    }
}

/// What an entry the writer committed changed for lookups. `shown`: the
/// entry was accepted when it was logged (not under review), so it was
/// indexed then, and an indicator may be cached as it is ([`Fresh`]).
fn touch_of(committed: &Committed, entry: Entry, origin: String, shown: bool) -> Option<Touch> {
    let lookup = &committed.lookup;
    match entry {
        Entry::Indicator(ind) => {
            let key = lookup.key(ind.kind, ind.value.as_str());
            let fresh = (shown && lookup.wants_fresh(&ind)).then(|| Box::new(Fresh { origin, indicator: ind }));
            Some(Touch::Asserted(key, fresh))
        }
        Entry::Feedback(f) => Some(Touch::Feedback(lookup.key(f.kind, f.value.as_str()))),
        Entry::KeyEvent(_) => None,
    }
}

/// What the ledger thread needs on a shared store.
pub(super) struct Shared {
    pub store: Store,
    pub config: LedgerConfig,
    pub key: Arc<SigningKey>,
    pub committed: Arc<Committed>,
    pub me: WriterInfo,
    pub follower: Follower,
    pub signals: Signals,
}

enum Woken {
    Command(Command),
    Stopped,
    Idle,
}

impl Shared {
    /// Follows, takes over, writes, until every sender is gone; then gives
    /// the lease up.
    pub fn run(mut self, mut rx: mpsc::Receiver<Command>) {
        let rt = match tokio::runtime::Builder::new_current_thread().enable_time().build() {
            Ok(rt) => rt,
            Err(e) => {
                tracing::error!(error = %e, "cannot start the ledger's timer; the ledger stops");
                return;
            }
        };
        let Some(shared) = self.store.shared() else { return };
        let poll = shared.poll_interval();
        let may_write = shared.may_write();
        let mut lease = shared.lease();
        'outer: loop {
            // Standby (or reader): follow until the lease is ours.
            loop {
                if may_write {
                    match shared.try_acquire(&self.me) {
                        Ok(Some(_)) => break,
                        Ok(None) => {}
                        Err(e) => tracing::warn!(error = %e, "cannot check the writer lease"),
                    }
                }
                if let Err(e) = self.follower.follow(&self.store, &self.committed, &self.signals) {
                    tracing::warn!(error = %e, "cannot follow the writer's commits");
                }
                let writer = shared.writer().ok().flatten();
                let role = if may_write { Role::Standby { writer } } else { Role::Reader { writer } };
                self.signals.role.send_if_modified(|r| {
                    let changed = *r != role;
                    *r = role;
                    changed
                });
                // Refuse what is sent meanwhile, until the next poll.
                let deadline = tokio::time::Instant::now() + poll;
                loop {
                    let woken = rt.block_on(async {
                        tokio::select! {
                            c = rx.recv() => c.map_or(Woken::Stopped, Woken::Command),
                            _ = tokio::time::sleep_until(deadline) => Woken::Idle,
                        }
                    });
                    match woken {
                        Woken::Stopped => break 'outer,
                        Woken::Idle => break,
                        Woken::Command(Command::SetSigningKey { key, reply }) => {
                            self.key = key;
                            let _ = reply.send(());
                        }
                        // Dropping the reply: the caller reads the role and
                        // answers "not the writer".
                        Woken::Command(_) => {}
                    }
                }
            }
            // Takeover: the old writer can no longer commit; catch up with
            // everything it committed, then load what commits build on.
            let state = self.follower.follow(&self.store, &self.committed, &self.signals).and_then(|()| {
                State::load(
                    self.store.clone(),
                    self.config.clone(),
                    self.key.clone(),
                    self.committed.clone(),
                    self.signals.health.clone(),
                    self.signals.tree_head.clone(),
                )
            });
            let mut state = match state {
                Ok(s) => s,
                Err(e) => {
                    tracing::error!(error = %e, "cannot load the writer's state; giving the lease up");
                    let _ = shared.release();
                    continue;
                }
            };
            self.signals.head.send_replace(state.log_head());
            self.signals.followed.send_modify(|g| *g += 1);
            self.signals.role.send_replace(Role::Writer);
            tracing::info!(log_head = state.log_head(), "this process is the writer");
            loop {
                let woken = rt.block_on(async {
                    tokio::select! {
                        c = rx.recv() => c.map_or(Woken::Stopped, Woken::Command),
                        _ = lease.wait_for(Option::is_none) => Woken::Idle,
                    }
                });
                match woken {
                    Woken::Stopped => {
                        self.key = state.signing_key();
                        break 'outer;
                    }
                    Woken::Idle => break,
                    Woken::Command(first) => {
                        let outcome = state.serve(first, &mut rx, &self.signals.head);
                        if matches!(outcome, Err(StoreError::NotWriter { .. })) || lease.borrow().is_none() {
                            break;
                        }
                    }
                }
            }
            self.key = state.signing_key();
            self.follower.seen = state.log_head();
            self.signals.role.send_replace(Role::Standby { writer: None });
            tracing::warn!("this process lost the writer lease; following the new writer");
        }
        if let Err(e) = shared.release() {
            tracing::warn!(error = %e, "could not release the writer lease; it expires by itself");
        }
        tracing::debug!("ledger stopped");
    }
}
