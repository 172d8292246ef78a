//! This node's transparency log as the service sees it: the checkpoints it
//! signs and the cosignatures its witnesses send back, inclusion proofs of
//! its entries, and what it keeps as a witness of its peers' logs.
//!
//! - **Checkpoints.** The ledger keeps the tree in every commit and
//!   publishes its head ([`crate::ledger::TreeHead`]). [`Node::run_checkpoints`]
//!   signs a C2SP checkpoint of it with the current signing key, under the
//!   origin pinned in the store at the first start (`<tls_name>/log`), within
//!   `[log] checkpoint_interval_ms` of every change, and
//!   [`Node::sign_checkpoint`] does it on demand. The latest checkpoint is
//!   kept with the cosignatures received for it; the latest one that any
//!   witness cosigned is kept too: it is what inclusion proofs are made
//!   against ([`Node::prove_entry`]).
//! - **Cosignatures** arrive from peers ([`Node::accept_cosignature`]): each
//!   is verified with the peer's key as a witness (`<its tls_name>/witness`,
//!   type 0x04) and kept only on the checkpoint text it signs.
//! - **Witnessing.** For each log it witnesses (its peers' logs), the node
//!   keeps the checkpoint it last cosigned ([`Node::witnessed`]). The
//!   federation edge fetches a peer's checkpoints and tiles and judges them;
//!   this file cosigns ([`Node::cosign_peer_checkpoint`]), never a smaller
//!   tree or a second root for one size, and keeps fork evidence with an
//!   audit entry ([`Node::keep_log_fork`]). [`Node::add_checkpoint`] is the
//!   C2SP tlog-witness `add-checkpoint` rule over the same state. Decisions
//!   about one log are serialized ([`Node::witness_lock`]) from reading the
//!   latest cosigned checkpoint to persisting the next.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use serde::Serialize;

use super::{Conflict, Node, NodeError, NotFound};
use crate::audit::AuditDraft;
use crate::keys::PublicKeyLookup;
use crate::model::{UnixMillis, now_ms};
use crate::peers::Peer;
use crate::shutdown::Shutdown;
use crate::store::records::{LogForkRecord, WitnessedCheckpoint};
use crate::store::{Batch, Store, StoreError, TableWrites, Tables};
use crate::tlog;
use crate::tlog::checkpoint::{self, Checkpoint, SignedCheckpoint};
use crate::tlog::merkle::{self, EMPTY_ROOT};
use crate::tlog::note::{NoteSignature, VerifierKey};
use crate::tlog::proof::TlogProof;
use crate::tlog::tile::{self, TILE_WIDTH, TileId, TileKind};
use crate::tlog::tree::TileNodes;
use crate::tlog::witness::{self, AddCheckpoint, Refusal};

/// What the node keeps in memory of its own transparency log.
#[derive(Debug)]
pub struct Transparency {
    /// The origin line, pinned in the store at the first start.
    origin: String,
    /// This node's TLS name (its key names derive from it).
    tls_name: String,
    /// The latest checkpoint signed, with its cosignatures.
    latest: RwLock<Option<SignedCheckpoint>>,
    /// The latest checkpoint any witness cosigned, with every cosignature.
    cosigned: RwLock<Option<SignedCheckpoint>>,
    /// Serializes changes to `latest` and `cosigned`.
    own: tokio::sync::Mutex<()>,
    /// One lock per witnessed log origin.
    witness: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl Transparency {
    /// Reads the state back from the store, pinning the origin at the first
    /// start. Runs before the ledger starts (nothing else writes yet).
    pub(super) fn open(store: &Store, tls_name: &str) -> Result<Transparency, StoreError> {
        let origin = match store.tlog_origin()? {
            Some(o) => o,
            // On a shared store only the writer commits (through the
            // ledger); every process derives the same origin from the name.
            None if store.shared().is_some() => tlog::origin(tls_name),
            None => {
                let origin = tlog::origin(tls_name);
                let mut batch = Batch::default();
                batch.put_tlog_origin(&origin);
                store.commit(batch)?;
                origin
            }
        };
        let read = |text: Option<String>| text.and_then(|t| checkpoint::parse_own(t.as_bytes()).ok());
        Ok(Transparency {
            origin,
            tls_name: tls_name.to_string(),
            latest: RwLock::new(read(store.own_checkpoint()?)),
            cosigned: RwLock::new(read(store.cosigned_checkpoint()?)),
            own: tokio::sync::Mutex::new(()),
            witness: Mutex::new(HashMap::new()),
        })
    }
}

/// A peer's log as this node witnesses it.
#[derive(Debug, Clone)]
pub struct PeerLog {
    /// The peer.
    pub peer: Peer,
    /// Its origin line, `<its tls_name>/log`.
    pub origin: String,
    /// The keys its checkpoints are signed with: its trusted, unrevoked
    /// signing keys under the origin.
    pub log_keys: Vec<VerifierKey>,
    /// The keys its cosignatures are made with, as a witness.
    pub witness_keys: Vec<VerifierKey>,
}

/// What the transparency log looks like in `jaring status`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LogStatus {
    /// `[log] enabled`.
    pub enabled: bool,
    /// The origin line.
    pub origin: String,
    /// Entries in the tree.
    pub tree_size: u64,
    /// Size of the latest signed checkpoint.
    pub checkpoint_size: u64,
    /// Peers whose cosignature the latest checkpoint carries.
    pub checkpoint_cosigners: Vec<String>,
    /// Size of the latest checkpoint a witness cosigned.
    pub cosigned_size: u64,
    /// Peers whose cosignature that one carries.
    pub cosigned_by: Vec<String>,
    /// The logs this node witnesses.
    pub witnessed: Vec<WitnessedLog>,
    /// Fork evidence this node keeps about other logs.
    pub forks: Vec<LogForkStatus>,
}

/// One log this node witnesses.
#[derive(Debug, Clone, Serialize)]
pub struct WitnessedLog {
    /// Its origin.
    pub origin: String,
    /// The peer.
    pub peer: String,
    /// Size of the checkpoint last cosigned.
    pub size: u64,
    /// When.
    pub cosigned_at_ms: UnixMillis,
}

/// One piece of fork evidence.
#[derive(Debug, Clone, Serialize)]
pub struct LogForkStatus {
    /// The log's origin.
    pub origin: String,
    /// The peer.
    pub peer: String,
    /// How it contradicted itself.
    pub kind: String,
    /// Details.
    pub detail: String,
    /// When it was found.
    pub detected_at_ms: UnixMillis,
}

/// The outcome of a cosignature a peer sent for this node's checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CosignatureOutcome {
    /// Kept on the latest (or latest cosigned) checkpoint.
    Kept,
    /// For a checkpoint this node no longer serves; dropped.
    Stale,
}

/// Seconds since the epoch, for cosignature timestamps.
fn now_secs() -> u64 {
    u64::try_from(now_ms() / 1000).unwrap_or(0)
}

/// Whether `a` and `b` are the same tree head.
fn same_head(a: &Checkpoint, b: &Checkpoint) -> bool {
    a.size == b.size && a.root == b.root
}

/// Adds `sig` to `cp`, replacing a line by the same key.
fn put_signature(cp: &mut SignedCheckpoint, sig: NoteSignature) -> Result<(), NodeError> {
    if cp.note.signatures().iter().any(|s| s.name == sig.name && s.key_id == sig.key_id && s.signature == sig.signature)
    {
        return Ok(());
    }
    let mut rebuilt = crate::tlog::note::Note::new(cp.note.text())
        .map_err(|e| Conflict::TransparencyLog(format!("rebuilding the checkpoint note: {e}")))?;
    for s in cp.note.signatures() {
        if !(s.name == sig.name && s.key_id == sig.key_id) {
            rebuilt.push(s.clone()).map_err(|e| Conflict::TransparencyLog(e.to_string()))?;
        }
    }
    rebuilt.push(sig).map_err(|e| Conflict::TransparencyLog(e.to_string()))?;
    cp.note = rebuilt;
    Ok(())
}

impl Node {
    /// The origin line of this node's log.
    pub fn log_origin(&self) -> &str {
        &self.transparency.origin
    }

    /// The name this node cosigns its peers' checkpoints under.
    pub fn witness_name(&self) -> String {
        tlog::cosigner_name(&self.transparency.tls_name)
    }

    /// The latest checkpoint this node signed, with the cosignatures its
    /// witnesses sent for it (what `/log/checkpoint` serves).
    pub fn checkpoint(&self) -> Option<SignedCheckpoint> {
        self.transparency.latest.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The latest checkpoint of this node that a witness cosigned, with
    /// every cosignature it received.
    pub fn cosigned_checkpoint(&self) -> Option<SignedCheckpoint> {
        self.transparency.cosigned.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The keys that verify this node's checkpoints: its unrevoked signing
    /// keys under its origin.
    pub fn own_log_keys(&self) -> Vec<VerifierKey> {
        let ring = self.committed.keyring();
        self.signing
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|k| ring.public_key(k.id().as_str()).is_none_or(|s| s.revoked_at_ms.is_none()))
            .filter_map(|k| {
                crate::tlog::note::VerifierKey::new(
                    &self.transparency.origin,
                    crate::tlog::note::Algorithm::Ed25519,
                    k.public(),
                )
                .ok()
            })
            .collect()
    }

    /// Signs a checkpoint of the tree as the last commit left it, unless
    /// the latest checkpoint already says that; returns the latest.
    ///
    /// # Errors
    ///
    /// [`NotFound::TransparencyLog`] when `[log] enabled = false`; a store
    /// failure (then the old checkpoint stays).
    pub async fn sign_checkpoint(&self) -> Result<SignedCheckpoint, NodeError> {
        let head = (*self.ledger.tree_head().borrow()).ok_or(NotFound::TransparencyLog)?;
        let _one = self.transparency.own.lock().await;
        if let Some(latest) = self.checkpoint()
            && latest.checkpoint.size == head.size
            && latest.checkpoint.root == head.root
        {
            return Ok(latest);
        }
        let key = self
            .signing
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .last()
            .cloned()
            .ok_or_else(|| Conflict::TransparencyLog("no signing key".into()))?;
        let signer = crate::tlog::note::Ed25519Signer::new(&self.transparency.origin, key)
            .map_err(|e| Conflict::TransparencyLog(e.to_string()))?;
        let cp = Checkpoint {
            origin: self.transparency.origin.clone(),
            size: head.size,
            root: head.root,
            extensions: vec![],
        };
        let signed = cp.sign(&signer).map_err(|e| Conflict::TransparencyLog(e.to_string()))?;
        let mut batch = Batch::default();
        batch.put_own_checkpoint(&signed.to_text());
        self.ledger.apply(batch, Vec::new()).await?;
        *self.transparency.latest.write().unwrap_or_else(|p| p.into_inner()) = Some(signed.clone());
        tracing::debug!(size = head.size, "checkpoint signed");
        Ok(signed)
    }

    /// Signs checkpoints while the log grows, at most (and at least) once
    /// per `[log] checkpoint_interval_ms`, until shutdown, and a last one
    /// then.
    pub async fn run_checkpoints(self: Arc<Self>, mut shutdown: Shutdown) {
        if !self.config.log.enabled {
            return;
        }
        let interval = Duration::from_millis(self.config.log.checkpoint_interval_ms);
        let mut heads = self.ledger.tree_head();
        loop {
            heads.borrow_and_update();
            // A standby of a shared store has no tree until it takes over.
            if self.role().is_writer()
                && let Err(e) = self.sign_checkpoint().await
            {
                tracing::warn!(error = %e, "cannot sign a checkpoint");
            }
            let stop = tokio::select! {
                _ = tokio::time::sleep(interval) => false,
                _ = shutdown.wait() => true,
            };
            let stop = stop
                || tokio::select! {
                    r = heads.changed() => r.is_err(),
                    _ = shutdown.wait() => true,
                };
            if stop {
                // The last checkpoint covers everything committed.
                if self.role().is_writer()
                    && let Err(e) = self.sign_checkpoint().await
                {
                    tracing::warn!(error = %e, "cannot sign the last checkpoint");
                }
                return;
            }
        }
    }

    /// A cosignature `peer_id` sent for one of this node's checkpoints:
    /// `note` is the checkpoint with the peer's cosignature line(s). Lines
    /// that verify with the peer's witness keys are kept on that
    /// checkpoint, if it is the latest or the latest cosigned one.
    ///
    /// # Errors
    ///
    /// [`NodeError::Input`] when the note is not this node's checkpoint or
    /// carries no valid cosignature by the peer; a store failure.
    pub async fn accept_cosignature(&self, peer_id: &str, note: &[u8]) -> Result<CosignatureOutcome, NodeError> {
        let bad = |why: String| NodeError::Input(crate::submission::InputError::new("checkpoint", why));
        let signed = checkpoint::open(note, &self.transparency.origin, &self.own_log_keys())
            .map_err(|e| bad(format!("not a checkpoint of this node: {e}")))?;
        let log = self.peer_log(peer_id).ok_or_else(|| NotFound::Peer(peer_id.to_string()))?;
        let verified = signed.verify(&log.witness_keys).map_err(|e| bad(format!("cosignature of {peer_id}: {e}")))?;
        let sigs: Vec<NoteSignature> =
            verified.by.iter().filter_map(|(i, _)| signed.note.signatures().get(*i).cloned()).collect();
        let _one = self.transparency.own.lock().await;
        let mut latest = self.checkpoint();
        let mut cosigned = self.cosigned_checkpoint();
        let target = match (&mut latest, &mut cosigned) {
            (Some(l), _) if same_head(&l.checkpoint, &signed.checkpoint) => l,
            (_, Some(c)) if same_head(&c.checkpoint, &signed.checkpoint) => c,
            _ => return Ok(CosignatureOutcome::Stale),
        };
        for s in sigs {
            put_signature(target, s)?;
        }
        let target = target.clone();
        // The latest cosigned checkpoint is the largest one cosigned.
        let new_cosigned = match cosigned {
            Some(c) if c.checkpoint.size > target.checkpoint.size => c,
            _ => target.clone(),
        };
        let new_latest = match latest {
            Some(l) if same_head(&l.checkpoint, &target.checkpoint) => Some(target),
            other => other,
        };
        let mut batch = Batch::default();
        if let Some(l) = &new_latest {
            batch.put_own_checkpoint(&l.to_text());
        }
        batch.put_cosigned_checkpoint(&new_cosigned.to_text());
        self.ledger.apply(batch, Vec::new()).await?;
        *self.transparency.latest.write().unwrap_or_else(|p| p.into_inner()) = new_latest;
        *self.transparency.cosigned.write().unwrap_or_else(|p| p.into_inner()) = Some(new_cosigned);
        Ok(CosignatureOutcome::Kept)
    }

    /// A C2SP tlog-proof that log entry `local_seq` is in this node's log:
    /// against the latest cosigned checkpoint when it holds the entry, else
    /// (unless `require_cosigned`) against the latest checkpoint, signed now
    /// if need be. The entry's stored bytes are its `extra` line. This is
    /// the proof an evidence package carries for each envelope.
    ///
    /// # Errors
    ///
    /// [`NotFound::LogEntry`], [`NotFound::TransparencyLog`],
    /// [`Conflict::NotYetCosigned`], a store failure.
    pub async fn prove_entry(&self, local_seq: u64, require_cosigned: bool) -> Result<TlogProof, NodeError> {
        let bytes = self.store.log_record(local_seq)?.ok_or(NotFound::LogEntry(local_seq))?.bytes;
        if !self.config.log.enabled {
            return Err(NotFound::TransparencyLog.into());
        }
        let cosigned = self.cosigned_checkpoint().filter(|c| c.checkpoint.size >= local_seq);
        let cp = match cosigned {
            Some(c) => c,
            None if require_cosigned => {
                let cosigned_size = self.cosigned_checkpoint().map_or(0, |c| c.checkpoint.size);
                return Err(Conflict::NotYetCosigned { local_seq, cosigned_size }.into());
            }
            None => match self.checkpoint().filter(|c| c.checkpoint.size >= local_seq) {
                Some(c) => c,
                None => self.sign_checkpoint().await?,
            },
        };
        let index = local_seq - 1;
        let proof = merkle::inclusion_proof(&TileNodes::new(&self.store), index, cp.checkpoint.size)
            .map_err(|e| Conflict::TransparencyLog(format!("building the inclusion proof: {e}")))?;
        Ok(TlogProof { extra: Some(bytes), index, proof, checkpoint: cp.to_text() })
    }

    /// The log position of the entry that asserts `query` (normalized as
    /// its `kind`, or as every kind it parses as) for `origin` (default:
    /// this node if it asserts it, else the first origin that does), and
    /// a [`Node::prove_entry`] proof of it.
    ///
    /// # Errors
    ///
    /// [`NotFound::HeldValue`] when no origin's current entry asserts the
    /// value, and as [`Node::prove_entry`].
    pub async fn prove_value(
        &self,
        query: &str,
        kind: Option<crate::model::Kind>,
        origin: Option<&str>,
        require_cosigned: bool,
    ) -> Result<(u64, TlogProof), NodeError> {
        let candidates = match kind {
            Some(k) => vec![(
                k,
                crate::normalize::normalize(k, query, &self.normalize)
                    .map_err(|e| crate::submission::InputError::new("value", e.to_string()))?,
            )],
            None => crate::normalize::candidates(query, &self.normalize),
        };
        let mut held: Vec<(String, u64)> = Vec::new();
        for (kind, canonical) in candidates {
            let (value, _) = self.privacy.carried(kind, canonical);
            held.extend(self.store.indexed_by_origin(kind, value.as_str())?);
        }
        let pick = match origin {
            Some(o) => held.iter().find(|(h, _)| h == o),
            None => held.iter().find(|(h, _)| h == self.id()).or(held.first()),
        };
        let local_seq = pick.map(|(_, seq)| *seq).ok_or_else(|| NotFound::HeldValue(query.to_string()))?;
        Ok((local_seq, self.prove_entry(local_seq, require_cosigned).await?))
    }

    /// The bytes `/log/<id>` serves for hash tile `id` (full, or cut to its
    /// partial width), or `None` when the tree has not reached it.
    ///
    /// # Errors
    ///
    /// A store failure.
    pub fn hash_tile(&self, id: &TileId) -> Result<Option<Vec<u8>>, StoreError> {
        let TileKind::Hashes(level) = id.kind else { return Ok(None) };
        if !self.config.log.enabled {
            return Ok(None);
        }
        Ok(self.store.tile(level, id.index)?.and_then(|stored| tile::serve_hash_tile(id, &stored)))
    }

    /// The entry bundle `id` (every entry of its range, whatever its
    /// marking or review state), or `None` when the tree has not reached it.
    ///
    /// # Errors
    ///
    /// A store failure; [`Conflict::TransparencyLog`] for an entry too
    /// large for a bundle.
    pub fn entry_bundle(&self, id: &TileId) -> Result<Option<Vec<u8>>, NodeError> {
        if id.kind != TileKind::Entries || !self.config.log.enabled {
            return Ok(None);
        }
        let size = (*self.ledger.tree_head().borrow()).map_or(0, |h| h.size);
        let first = id.index.saturating_mul(TILE_WIDTH);
        let end = first.saturating_add(u64::from(id.width));
        if end > size {
            return Ok(None);
        }
        let mut entries = Vec::with_capacity(usize::from(id.width));
        for r in self.store.log_records_expecting(first, usize::from(id.width)).take(usize::from(id.width)) {
            entries.push(r?.bytes);
        }
        if entries.len() != usize::from(id.width) {
            return Ok(None);
        }
        tile::encode_bundle(&entries).map(Some).map_err(|e| Conflict::TransparencyLog(e.to_string()).into())
    }

    /// A peer's log, with the keys to verify its checkpoints and its
    /// cosignatures (its trusted, unrevoked signing keys).
    pub fn peer_log(&self, peer_id: &str) -> Option<PeerLog> {
        let peer = self.peer(peer_id)?;
        let ring = self.committed.keyring();
        let tls_name = peer.card.tls_name.clone();
        let keys: Vec<_> =
            ring.keys_of(peer_id).filter(|(_, s)| s.revoked_at_ms.is_none()).map(|(_, s)| s.key).collect();
        let log_keys = keys.iter().filter_map(|k| tlog::log_verifier(&tls_name, *k).ok()).collect();
        let witness_keys = keys.iter().filter_map(|k| tlog::witness_verifier(&tls_name, *k).ok()).collect();
        Some(PeerLog { origin: tlog::origin(&tls_name), peer, log_keys, witness_keys })
    }

    /// The peer whose log has this origin.
    pub fn peer_log_by_origin(&self, origin: &str) -> Option<PeerLog> {
        let peer = self.peers().into_iter().find(|p| tlog::origin(&p.card.tls_name) == origin)?;
        self.peer_log(peer.node_id())
    }

    /// The checkpoint of log `origin` this node last cosigned.
    ///
    /// # Errors
    ///
    /// A store failure.
    pub fn witnessed(&self, origin: &str) -> Result<Option<WitnessedCheckpoint>, StoreError> {
        self.store.witnessed(origin)
    }

    /// Serializes the decisions about log `origin`: hold the guard from
    /// reading [`Node::witnessed`] to [`Node::cosign_peer_checkpoint`].
    pub async fn witness_lock(&self, origin: &str) -> tokio::sync::OwnedMutexGuard<()> {
        let lock = self
            .transparency
            .witness
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(origin.to_string())
            .or_default()
            .clone();
        lock.lock_owned().await
    }

    /// Cosigns `signed` (a checkpoint of `log`, already verified as its and
    /// judged consistent with the one cosigned before) and records it as
    /// the latest cosigned for that log, durably, before returning it with
    /// this node's cosignature added. Refuses, whatever the caller judged,
    /// a smaller tree than the one cosigned or another root at its size.
    ///
    /// # Errors
    ///
    /// [`Conflict::TransparencyLog`] for such a checkpoint; a store failure.
    pub async fn cosign_peer_checkpoint(
        &self,
        log: &PeerLog,
        signed: &SignedCheckpoint,
    ) -> Result<SignedCheckpoint, NodeError> {
        if let Some(prev) = self.witnessed(&log.origin)? {
            let prev_cp = checkpoint::parse_own(prev.checkpoint.as_bytes())
                .map_err(|e| Conflict::TransparencyLog(format!("the stored witnessed checkpoint: {e}")))?;
            let new = &signed.checkpoint;
            if new.size < prev_cp.checkpoint.size
                || (new.size == prev_cp.checkpoint.size && new.root != prev_cp.checkpoint.root)
            {
                return Err(Conflict::TransparencyLog(format!(
                    "{} size {} is not consistent with the cosigned size {}",
                    log.origin, new.size, prev_cp.checkpoint.size
                ))
                .into());
            }
        }
        let key = self
            .signing
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .last()
            .cloned()
            .ok_or_else(|| Conflict::TransparencyLog("no signing key".into()))?;
        let cosigner = tlog::witness_cosigner(&self.transparency.tls_name, key)
            .map_err(|e| Conflict::TransparencyLog(e.to_string()))?;
        let line = cosigner
            .cosign(signed.checkpoint.to_text().as_str(), now_secs())
            .map_err(|e| Conflict::TransparencyLog(e.to_string()))?;
        let mut mine = signed.clone();
        // Keep the log's signatures and ours only: other witnesses' lines
        // are theirs to vouch for.
        let log_sigs: Vec<NoteSignature> = match signed.verify(&log.log_keys) {
            Ok(v) => v.by.iter().filter_map(|(i, _)| signed.note.signatures().get(*i).cloned()).collect(),
            Err(e) => return Err(Conflict::TransparencyLog(format!("not signed by {}: {e}", log.origin)).into()),
        };
        let mut note =
            crate::tlog::note::Note::new(signed.note.text()).map_err(|e| Conflict::TransparencyLog(e.to_string()))?;
        for s in log_sigs {
            note.push(s).map_err(|e| Conflict::TransparencyLog(e.to_string()))?;
        }
        note.push(line).map_err(|e| Conflict::TransparencyLog(e.to_string()))?;
        mine.note = note;
        let rec = WitnessedCheckpoint {
            origin: log.origin.clone(),
            peer: log.peer.node_id().to_string(),
            checkpoint: mine.to_text(),
            size: mine.checkpoint.size,
            cosigned_at_ms: now_ms(),
        };
        let mut batch = Batch::default();
        batch.put_witnessed(&rec);
        self.ledger.apply(batch, Vec::new()).await?;
        tracing::debug!(origin = %log.origin, size = rec.size, "cosigned");
        Ok(mine)
    }

    /// Keeps evidence that `log` signed `refused`, which cannot be true
    /// together with `cosigned` (the checkpoint text this node cosigned
    /// before), and audits the refusal; once per refused checkpoint.
    /// Returns whether it was new.
    ///
    /// # Errors
    ///
    /// A store failure.
    pub async fn keep_log_fork(
        &self,
        log: &PeerLog,
        kind: &str,
        detail: String,
        cosigned: &str,
        refused: &SignedCheckpoint,
        source: &str,
    ) -> Result<bool, NodeError> {
        let cp = &refused.checkpoint;
        if self.store.log_fork(&log.origin, cp.size, cp.root.as_bytes())?.is_some() {
            return Ok(false);
        }
        let peer = log.peer.node_id().to_string();
        let rec = LogForkRecord {
            origin: log.origin.clone(),
            peer: peer.clone(),
            kind: kind.to_string(),
            detail: detail.clone(),
            cosigned: cosigned.to_string(),
            refused: refused.to_text(),
            source: source.to_string(),
            detected_at_ms: now_ms(),
        };
        let mut batch = Batch::default();
        batch.put_log_fork(cp.size, cp.root.as_bytes(), &rec);
        let audit = AuditDraft::rejection(
            &peer,
            Some(&peer),
            None,
            "log_fork",
            format!("{}: {kind}: {detail} (both checkpoints kept as evidence; source {source})", log.origin),
        );
        self.ledger.apply(batch, vec![audit]).await?;
        crate::metrics::global().rejection("log_fork");
        tracing::error!(origin = %log.origin, %peer, kind, %detail, "transparency log fork: checkpoint refused, evidence kept");
        Ok(true)
    }

    /// C2SP tlog-witness `add-checkpoint`: `body` is the request; the
    /// answer is this node's cosignature line, or the refusal with the
    /// status the spec requires. Known logs are this node's peers' logs. A
    /// refused checkpoint of the same size as the one cosigned, with
    /// another root, is kept as fork evidence.
    ///
    /// # Errors
    ///
    /// [`AddCheckpointError::Refused`] with the spec's refusal,
    /// [`AddCheckpointError::Node`] when the node fails to persist.
    pub async fn add_checkpoint(&self, body: &[u8]) -> Result<String, AddCheckpointError> {
        let request = AddCheckpoint::parse(body)?;
        let origin = request.origin().ok_or_else(|| Refusal::Malformed("no origin line".into()))?.to_string();
        let log = self.peer_log_by_origin(&origin);
        let _guard = self.witness_lock(&origin).await;
        let latest = match &log {
            Some(l) => self.witnessed(&l.origin)?,
            None => None,
        };
        let latest_cp = match &latest {
            Some(w) => Some(
                checkpoint::parse_own(w.checkpoint.as_bytes())
                    .map_err(|e| AddCheckpointError::Node(Conflict::TransparencyLog(e.to_string()).into()))?,
            ),
            None => None,
        };
        let held = latest_cp.as_ref().map(|c| (c.checkpoint.size, c.checkpoint.root));
        let decided = witness::decide(&request, log.as_ref().map(|l| l.log_keys.as_slice()), held);
        let Some(log) = log else { return Err(decided.err().unwrap_or(Refusal::UnknownOrigin(origin)).into()) };
        match decided {
            Ok(signed) => {
                let mine = self.cosign_peer_checkpoint(&log, &signed).await?;
                let ours: Vec<NoteSignature> =
                    mine.note.signatures().iter().filter(|s| s.name == self.witness_name()).cloned().collect();
                Ok(witness::cosignatures_body(&ours))
            }
            Err(Refusal::Inconsistent { reason, checkpoint }) => {
                if let Some(prev) = &latest_cp
                    && prev.checkpoint.size == checkpoint.checkpoint.size
                    && prev.checkpoint.root != checkpoint.checkpoint.root
                {
                    let detail = format!("two roots for size {}", prev.checkpoint.size);
                    self.keep_log_fork(
                        &log,
                        "same_size_different_root",
                        detail,
                        &prev.to_text(),
                        &checkpoint,
                        "add-checkpoint",
                    )
                    .await?;
                }
                Err(Refusal::Inconsistent { reason, checkpoint }.into())
            }
            Err(r) => Err(r.into()),
        }
    }

    /// The transparency log for `jaring status`.
    ///
    /// # Errors
    ///
    /// A store failure.
    pub fn log_status(&self) -> Result<LogStatus, StoreError> {
        let cosigners = |cp: &Option<SignedCheckpoint>| cp.as_ref().map(|c| self.cosigners_of(c)).unwrap_or_default();
        let latest = self.checkpoint();
        let cosigned = self.cosigned_checkpoint();
        let witnessed = self
            .store
            .witnessed_logs()?
            .into_iter()
            .map(|w| WitnessedLog { origin: w.origin, peer: w.peer, size: w.size, cosigned_at_ms: w.cosigned_at_ms })
            .collect();
        let forks = self
            .store
            .log_forks()?
            .into_iter()
            .map(|f| LogForkStatus {
                origin: f.origin,
                peer: f.peer,
                kind: f.kind,
                detail: f.detail,
                detected_at_ms: f.detected_at_ms,
            })
            .collect();
        Ok(LogStatus {
            enabled: self.config.log.enabled,
            origin: self.transparency.origin.clone(),
            tree_size: (*self.ledger.tree_head().borrow()).map_or(0, |h| h.size),
            checkpoint_size: latest.as_ref().map_or(0, |c| c.checkpoint.size),
            checkpoint_cosigners: cosigners(&latest),
            cosigned_size: cosigned.as_ref().map_or(0, |c| c.checkpoint.size),
            cosigned_by: cosigners(&cosigned),
            witnessed,
            forks,
        })
    }

    /// The peers whose valid cosignature `cp` carries.
    pub fn cosigners_of(&self, cp: &SignedCheckpoint) -> Vec<String> {
        self.peers()
            .iter()
            .filter_map(|p| self.peer_log(p.node_id()))
            .filter(|l| crate::tlog::proof::cosigners(cp, &l.witness_keys).is_ok_and(|w| !w.is_empty()))
            .map(|l| l.peer.node_id().to_string())
            .collect()
    }

    /// Every piece of fork evidence kept about other logs.
    ///
    /// # Errors
    ///
    /// A store failure.
    pub fn log_forks(&self) -> Result<Vec<LogForkRecord>, StoreError> {
        self.store.log_forks()
    }
}

/// Why `add-checkpoint` failed: a refusal the spec defines, or the node.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AddCheckpointError {
    /// Refused, with the status tlog-witness requires.
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// The node failed (a store failure): a server error.
    #[error(transparent)]
    Node(#[from] NodeError),
}

impl From<StoreError> for AddCheckpointError {
    fn from(e: StoreError) -> Self {
        AddCheckpointError::Node(e.into())
    }
}

/// The empty tree as a checkpoint of `origin`: what a witness that never
/// cosigned a log compares the first checkpoint with.
pub fn empty_checkpoint(origin: &str) -> Checkpoint {
    Checkpoint { origin: origin.to_string(), size: 0, root: EMPTY_ROOT, extensions: vec![] }
}

#[cfg(test)]
#[path = "transparency_tests.rs"]
mod tests;
