//! Typed tables over the raw keyspaces: the only place outside the engine
//! adapters that knows how keys and values are laid out.
//!
//! Reads are [`Tables`], implemented for the [`Store`] and for a ledger
//! transaction's overlay ([`super::Txn`]) alike, so the writer reads its own
//! uncommitted writes through the same calls readers use. Writes are
//! [`TableWrites`], implemented for a [`Batch`] and for the overlay. Scans,
//! which only readers need, are inherent methods of [`Store`].
//!
//! Every decode failure is [`StoreError::Corrupt`] naming the keyspace: a
//! record the node wrote that no longer decodes means the store was edited
//! or damaged.

use std::collections::BTreeSet;

use super::layout::{self, Head, OriginEntry};
use super::records::{LogForkRecord, QuarantineRecord, StoredKey, WitnessedCheckpoint};
use super::{Batch, Keyspace, Store, StoreError};
use crate::allowlist::AllowEntry;
use crate::audit::AuditEntry;
use crate::envelope::{BodyHash, EnvelopeBody, SignedEnvelope};
use crate::model::Kind;
use crate::peers::Peer;
use crate::tlog::tree::{TileReader, TileWrite, tile_key};
use crate::wire;

/// Meta keys of this node's transparency log.
mod tlog_meta {
    /// Leaves the stored tiles cover (u64): the tree's size.
    pub const SIZE: &[u8] = b"tlog/size";
    /// The latest checkpoint this node signed, with the cosignatures it
    /// received for it.
    pub const CHECKPOINT: &[u8] = b"tlog/checkpoint";
    /// The latest checkpoint that received a cosignature, with all of them.
    pub const COSIGNED: &[u8] = b"tlog/cosigned";
    /// The log's origin line, pinned at the first start.
    pub const ORIGIN: &[u8] = b"tlog/origin";
}

/// One decoded entry of the local log.
#[derive(Debug, Clone)]
pub struct LogEntry {
    /// Position in the local log.
    pub seq: u64,
    /// The envelope exactly as stored.
    pub envelope: SignedEnvelope,
    /// Its decoded body.
    pub body: EnvelopeBody,
}

/// One entry of the local log as stored: its position and encoded bytes.
#[derive(Debug, Clone)]
pub struct LogRecord {
    /// Position in the local log.
    pub seq: u64,
    /// The encoded `SignedIndicator`.
    pub bytes: Vec<u8>,
}

impl LogRecord {
    /// Decodes the record.
    ///
    /// # Errors
    ///
    /// [`StoreError::Corrupt`].
    pub fn decode(self) -> Result<LogEntry, StoreError> {
        let (envelope, body) = decode_log(&self.bytes)?;
        Ok(LogEntry { seq: self.seq, envelope, body })
    }
}

/// Decodes a log record's bytes: the one place log bytes become domain
/// types.
///
/// # Errors
///
/// [`StoreError::Corrupt`].
pub fn decode_log(bytes: &[u8]) -> Result<(SignedEnvelope, EnvelopeBody), StoreError> {
    let env = wire::decode_envelope(bytes).map_err(|e| corrupt(Keyspace::Log, e.to_string()))?;
    let body = wire::decode_body(&env.body).map_err(|e| corrupt(Keyspace::Log, e.to_string()))?;
    Ok((env, body))
}

fn corrupt(keyspace: Keyspace, reason: impl Into<String>) -> StoreError {
    StoreError::Corrupt { keyspace, reason: reason.into() }
}

fn json<T: serde::de::DeserializeOwned>(keyspace: Keyspace, bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| corrupt(keyspace, e.to_string()))
}

fn to_json<T: serde::Serialize>(v: &T) -> Vec<u8> {
    // The records kept here are plain structs of strings and numbers.
    serde_json::to_vec(v).unwrap_or_default()
}

fn text(keyspace: Keyspace, v: Option<Vec<u8>>) -> Result<Option<String>, StoreError> {
    v.map(|v| String::from_utf8(v).map_err(|_| corrupt(keyspace, "not UTF-8 text"))).transpose()
}

fn position(keyspace: Keyspace, v: Option<Vec<u8>>) -> Result<Option<u64>, StoreError> {
    v.map(|v| layout::read_u64(&v).ok_or_else(|| corrupt(keyspace, "bad log position"))).transpose()
}

/// Point reads of raw keys: what [`Tables`] is built on.
pub trait RawRead {
    /// Reads one key.
    ///
    /// # Errors
    ///
    /// Engine failures.
    fn raw_get(&self, ks: Keyspace, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;
}

/// Raw writes: what [`TableWrites`] is built on.
pub trait RawWrite {
    /// Sets a key.
    fn raw_put(&mut self, ks: Keyspace, key: Vec<u8>, value: Vec<u8>);
    /// Removes a key.
    fn raw_delete(&mut self, ks: Keyspace, key: Vec<u8>);
}

impl RawRead for Store {
    fn raw_get(&self, ks: Keyspace, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.get(ks, key)
    }
}

impl RawWrite for Batch {
    fn raw_put(&mut self, ks: Keyspace, key: Vec<u8>, value: Vec<u8>) {
        self.put(ks, key, value);
    }
    fn raw_delete(&mut self, ks: Keyspace, key: Vec<u8>) {
        self.delete(ks, key);
    }
}

/// Typed point reads.
pub trait Tables: RawRead {
    /// The log record at a position.
    ///
    /// # Errors
    ///
    /// Engine failures.
    fn log_record(&self, seq: u64) -> Result<Option<LogRecord>, StoreError> {
        Ok(self.raw_get(Keyspace::Log, &layout::seq_key(seq))?.map(|bytes| LogRecord { seq, bytes }))
    }

    /// The decoded log entry at a position.
    ///
    /// # Errors
    ///
    /// Engine failures, [`StoreError::Corrupt`].
    fn log_entry(&self, seq: u64) -> Result<Option<LogEntry>, StoreError> {
        self.log_record(seq)?.map(LogRecord::decode).transpose()
    }

    /// What is held for (origin, origin_seq).
    ///
    /// # Errors
    ///
    /// Engine failures, [`StoreError::Corrupt`].
    fn origin_entry(&self, origin: &str, origin_seq: u64) -> Result<Option<OriginEntry>, StoreError> {
        match self.raw_get(Keyspace::OriginSeq, &layout::origin_seq_key(origin, origin_seq))? {
            Some(v) => Ok(Some(OriginEntry::decode(&v).ok_or_else(|| corrupt(Keyspace::OriginSeq, "bad entry"))?)),
            None => Ok(None),
        }
    }

    /// The highest origin_seq held for an origin.
    ///
    /// # Errors
    ///
    /// Engine failures, [`StoreError::Corrupt`].
    fn head(&self, origin: &str) -> Result<Option<Head>, StoreError> {
        match self.raw_get(Keyspace::Heads, origin.as_bytes())? {
            Some(v) => Ok(Some(Head::decode(&v).ok_or_else(|| corrupt(Keyspace::Heads, "bad head"))?)),
            None => Ok(None),
        }
    }

    /// The log position of `origin`'s latest accepted version of
    /// (kind, value).
    ///
    /// # Errors
    ///
    /// Engine failures, [`StoreError::Corrupt`].
    fn indexed_at(&self, kind: Kind, value: &str, origin: &str) -> Result<Option<u64>, StoreError> {
        position(Keyspace::Index, self.raw_get(Keyspace::Index, &layout::index_key(kind, value, origin))?)
    }

    /// The log position of the latest version of one of this node's own
    /// indicators, by id.
    ///
    /// # Errors
    ///
    /// Engine failures, [`StoreError::Corrupt`].
    fn own_indicator_at(&self, id: &str) -> Result<Option<u64>, StoreError> {
        position(Keyspace::Ids, self.raw_get(Keyspace::Ids, id.as_bytes())?)
    }

    /// The plain value of a personal-data digest this node submitted.
    ///
    /// # Errors
    ///
    /// Engine failures.
    fn plain_value(&self, kind: Kind, digest: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .raw_get(Keyspace::Plain, &layout::plain_key(kind, digest))?
            .map(|p| String::from_utf8_lossy(&p).into_owned()))
    }

    /// The peer log position applied so far.
    ///
    /// # Errors
    ///
    /// Engine failures.
    fn cursor(&self, peer: &str) -> Result<u64, StoreError> {
        Ok(self.raw_get(Keyspace::Cursors, peer.as_bytes())?.and_then(|v| layout::read_u64(&v)).unwrap_or(0))
    }

    /// A trusted public key by id.
    ///
    /// # Errors
    ///
    /// Engine failures, [`StoreError::Corrupt`].
    fn stored_key(&self, key_id: &str) -> Result<Option<StoredKey>, StoreError> {
        self.raw_get(Keyspace::Keys, key_id.as_bytes())?.map(|v| json(Keyspace::Keys, &v)).transpose()
    }

    /// The review record of a held entry.
    ///
    /// # Errors
    ///
    /// Engine failures, [`StoreError::Corrupt`].
    fn quarantine_record(&self, seq: u64) -> Result<Option<QuarantineRecord>, StoreError> {
        self.raw_get(Keyspace::Quarantine, &layout::seq_key(seq))?.map(|v| json(Keyspace::Quarantine, &v)).transpose()
    }

    /// A counter kept by the ledger (`count/...`).
    ///
    /// # Errors
    ///
    /// Engine failures.
    fn counter(&self, name: &str) -> Result<u64, StoreError> {
        Ok(self.raw_get(Keyspace::Meta, name.as_bytes())?.and_then(|v| layout::read_u64(&v)).unwrap_or(0))
    }

    /// An audit entry by sequence number.
    ///
    /// # Errors
    ///
    /// Engine failures, [`StoreError::Corrupt`].
    fn audit_entry(&self, seq: u64) -> Result<Option<AuditEntry>, StoreError> {
        self.raw_get(Keyspace::Audit, &layout::seq_key(seq))?.map(|v| json(Keyspace::Audit, &v)).transpose()
    }

    /// A stored hash tile of this node's tree: `(level, index)` as in
    /// tlog-tiles, the full tile or the widest partial one written.
    ///
    /// # Errors
    ///
    /// Engine failures.
    fn tile(&self, level: u8, index: u64) -> Result<Option<Vec<u8>>, StoreError> {
        self.raw_get(Keyspace::Tiles, &tile_key(level, index))
    }

    /// How many log entries the stored tiles cover; `None` when no tree was
    /// ever stored (a store from before the transparency log, or one kept
    /// with `[log] enabled = false` from the start).
    ///
    /// # Errors
    ///
    /// Engine failures, [`StoreError::Corrupt`].
    fn tlog_size(&self) -> Result<Option<u64>, StoreError> {
        self.raw_get(Keyspace::Meta, tlog_meta::SIZE)?
            .map(|v| layout::read_u64(&v).ok_or_else(|| corrupt(Keyspace::Meta, "bad tlog/size")))
            .transpose()
    }

    /// The latest checkpoint this node signed (a signed note), with the
    /// cosignatures received for it.
    ///
    /// # Errors
    ///
    /// Engine failures, [`StoreError::Corrupt`].
    fn own_checkpoint(&self) -> Result<Option<String>, StoreError> {
        text(Keyspace::Meta, self.raw_get(Keyspace::Meta, tlog_meta::CHECKPOINT)?)
    }

    /// The latest checkpoint of this node that received a cosignature.
    ///
    /// # Errors
    ///
    /// Engine failures, [`StoreError::Corrupt`].
    fn cosigned_checkpoint(&self) -> Result<Option<String>, StoreError> {
        text(Keyspace::Meta, self.raw_get(Keyspace::Meta, tlog_meta::COSIGNED)?)
    }

    /// The origin line this node's log was first signed under.
    ///
    /// # Errors
    ///
    /// Engine failures, [`StoreError::Corrupt`].
    fn tlog_origin(&self) -> Result<Option<String>, StoreError> {
        text(Keyspace::Meta, self.raw_get(Keyspace::Meta, tlog_meta::ORIGIN)?)
    }

    /// The checkpoint of log `origin` this node last cosigned as a witness.
    ///
    /// # Errors
    ///
    /// Engine failures, [`StoreError::Corrupt`].
    fn witnessed(&self, origin: &str) -> Result<Option<WitnessedCheckpoint>, StoreError> {
        self.raw_get(Keyspace::Witness, &layout::witnessed_key(origin))?
            .map(|v| json(Keyspace::Witness, &v))
            .transpose()
    }

    /// Fork evidence already kept for this refused checkpoint of `origin`.
    ///
    /// # Errors
    ///
    /// Engine failures, [`StoreError::Corrupt`].
    fn log_fork(&self, origin: &str, size: u64, root: &[u8; 32]) -> Result<Option<LogForkRecord>, StoreError> {
        self.raw_get(Keyspace::Witness, &layout::log_fork_key(origin, size, root))?
            .map(|v| json(Keyspace::Witness, &v))
            .transpose()
    }
}

impl<T: RawRead + ?Sized> Tables for T {}

/// Typed writes.
pub trait TableWrites: RawWrite {
    /// Puts an envelope at a log position.
    fn put_log(&mut self, seq: u64, env: &SignedEnvelope) {
        self.raw_put(Keyspace::Log, layout::seq_key(seq).to_vec(), wire::encode_envelope(env));
    }

    /// Puts an envelope already encoded with [`wire::encode_envelope`] at a
    /// log position (the caller hashed those exact bytes into the tree).
    fn put_log_bytes(&mut self, seq: u64, encoded: Vec<u8>) {
        self.raw_put(Keyspace::Log, layout::seq_key(seq).to_vec(), encoded);
    }

    /// Records where (origin, origin_seq) sits and how it links.
    fn put_origin_entry(&mut self, origin: &str, origin_seq: u64, entry: &OriginEntry) {
        self.raw_put(Keyspace::OriginSeq, layout::origin_seq_key(origin, origin_seq), entry.encode());
    }

    /// Moves an origin's head.
    fn put_head(&mut self, origin: &str, head: &Head) {
        self.raw_put(Keyspace::Heads, origin.as_bytes().to_vec(), head.encode());
    }

    /// Points (kind, value, origin) at the log position of its latest
    /// accepted version.
    fn put_index(&mut self, kind: Kind, value: &str, origin: &str, seq: u64) {
        self.raw_put(Keyspace::Index, layout::index_key(kind, value, origin), layout::seq_key(seq).to_vec());
    }

    /// Points one of this node's own indicator ids at its latest version.
    fn put_own_indicator(&mut self, id: &str, seq: u64) {
        self.raw_put(Keyspace::Ids, id.as_bytes().to_vec(), layout::seq_key(seq).to_vec());
    }

    /// Keeps the plain value of a personal-data digest (local only).
    fn put_plain_value(&mut self, kind: Kind, digest: &str, plain: &str) {
        self.raw_put(Keyspace::Plain, layout::plain_key(kind, digest), plain.as_bytes().to_vec());
    }

    /// Files a feedback event under the value it is about.
    fn put_feedback_ref(&mut self, kind: Kind, value: &str, reporter: &str, seq: u64) {
        self.raw_put(Keyspace::Feedback, layout::feedback_key(kind, value, reporter, seq), Vec::new());
    }

    /// Keeps a refused body as fork evidence.
    fn put_fork(&mut self, origin: &str, origin_seq: u64, hash: &BodyHash, env: &SignedEnvelope) {
        let mut key = layout::origin_seq_key(origin, origin_seq);
        key.push(0);
        key.extend_from_slice(hash);
        self.raw_put(Keyspace::Forks, key, wire::encode_envelope(env));
    }

    /// Records the peer log position applied.
    fn put_cursor(&mut self, peer: &str, position: u64) {
        self.raw_put(Keyspace::Cursors, peer.as_bytes().to_vec(), position.to_be_bytes().to_vec());
    }

    /// Forgets a peer's cursor.
    fn delete_cursor(&mut self, peer: &str) {
        self.raw_delete(Keyspace::Cursors, peer.as_bytes().to_vec());
    }

    /// Stores a peer record.
    fn put_peer(&mut self, peer: &Peer) {
        self.raw_put(Keyspace::Peers, peer.node_id().as_bytes().to_vec(), to_json(peer));
    }

    /// Removes a peer record.
    fn delete_peer(&mut self, node_id: &str) {
        self.raw_delete(Keyspace::Peers, node_id.as_bytes().to_vec());
    }

    /// Stores a trusted public key.
    fn put_stored_key(&mut self, key_id: &str, key: &StoredKey) {
        self.raw_put(Keyspace::Keys, key_id.as_bytes().to_vec(), to_json(key));
    }

    /// Forgets a public key.
    fn delete_stored_key(&mut self, key_id: &str) {
        self.raw_delete(Keyspace::Keys, key_id.as_bytes().to_vec());
    }

    /// Stores a review record.
    fn put_quarantine_record(&mut self, seq: u64, rec: &QuarantineRecord) {
        self.raw_put(Keyspace::Quarantine, layout::seq_key(seq).to_vec(), to_json(rec));
    }

    /// Appends an audit entry.
    fn put_audit_entry(&mut self, entry: &AuditEntry) {
        self.raw_put(Keyspace::Audit, layout::seq_key(entry.seq).to_vec(), to_json(entry));
    }

    /// Sets a counter.
    fn put_counter(&mut self, name: &str, value: u64) {
        self.raw_put(Keyspace::Meta, name.as_bytes().to_vec(), value.to_be_bytes().to_vec());
    }

    /// Stores an allowlist entry.
    fn put_allow_entry(&mut self, e: &AllowEntry) {
        self.raw_put(Keyspace::Allowlist, layout::allow_key(e.list.as_str(), e.kind, &e.value), to_json(e));
    }

    /// Removes an allowlist entry.
    fn delete_allow_entry(&mut self, e: &AllowEntry) {
        self.raw_delete(Keyspace::Allowlist, layout::allow_key(e.list.as_str(), e.kind, &e.value));
    }

    /// Puts a tile of this node's tree (a full tile once, or the new
    /// contents of a level's partial tile).
    fn put_tile(&mut self, tile: &TileWrite) {
        self.raw_put(Keyspace::Tiles, tile.key().to_vec(), tile.hashes.clone());
    }

    /// Removes a stored tile.
    fn delete_tile(&mut self, level: u8, index: u64) {
        self.raw_delete(Keyspace::Tiles, tile_key(level, index).to_vec());
    }

    /// Records how many log entries the stored tiles cover.
    fn put_tlog_size(&mut self, size: u64) {
        self.raw_put(Keyspace::Meta, tlog_meta::SIZE.to_vec(), size.to_be_bytes().to_vec());
    }

    /// Forgets the tree's size (the tiles are then rebuilt from the log).
    fn delete_tlog_size(&mut self) {
        self.raw_delete(Keyspace::Meta, tlog_meta::SIZE.to_vec());
    }

    /// Keeps the latest checkpoint this node signed, with its cosignatures.
    fn put_own_checkpoint(&mut self, note: &str) {
        self.raw_put(Keyspace::Meta, tlog_meta::CHECKPOINT.to_vec(), note.as_bytes().to_vec());
    }

    /// Keeps the latest checkpoint of this node that was cosigned.
    fn put_cosigned_checkpoint(&mut self, note: &str) {
        self.raw_put(Keyspace::Meta, tlog_meta::COSIGNED.to_vec(), note.as_bytes().to_vec());
    }

    /// Forgets this node's signed checkpoints.
    fn delete_own_checkpoints(&mut self) {
        self.raw_delete(Keyspace::Meta, tlog_meta::CHECKPOINT.to_vec());
        self.raw_delete(Keyspace::Meta, tlog_meta::COSIGNED.to_vec());
    }

    /// Pins the origin line of this node's log.
    fn put_tlog_origin(&mut self, origin: &str) {
        self.raw_put(Keyspace::Meta, tlog_meta::ORIGIN.to_vec(), origin.as_bytes().to_vec());
    }

    /// Records the checkpoint of another log this node just cosigned.
    fn put_witnessed(&mut self, rec: &WitnessedCheckpoint) {
        self.raw_put(Keyspace::Witness, layout::witnessed_key(&rec.origin), to_json(rec));
    }

    /// Keeps fork evidence about another log, under the refused
    /// checkpoint's size and root.
    fn put_log_fork(&mut self, size: u64, root: &[u8; 32], rec: &LogForkRecord) {
        self.raw_put(Keyspace::Witness, layout::log_fork_key(&rec.origin, size, root), to_json(rec));
    }
}

impl<T: RawWrite + ?Sized> TableWrites for T {}

/// Scans, for readers.
impl Store {
    /// The newest log position (0 for an empty log).
    ///
    /// # Errors
    ///
    /// Engine failures.
    pub fn log_head(&self) -> Result<u64, StoreError> {
        Ok(self.last(Keyspace::Log)?.and_then(|(k, _)| layout::read_u64(&k)).unwrap_or(0))
    }

    /// Log records after a position, in order, hidden ones included (a
    /// publisher moves its cursor past them).
    pub fn log_records_after(&self, after: u64) -> impl Iterator<Item = Result<LogRecord, StoreError>> + '_ {
        self.scan_after(Keyspace::Log, &layout::seq_key(after)).map(|r| {
            let (k, bytes) = r?;
            let seq = layout::read_u64(&k).ok_or_else(|| corrupt(Keyspace::Log, "bad key"))?;
            Ok(LogRecord { seq, bytes })
        })
    }

    /// Decoded log entries after a position, in order, skipping the
    /// positions in `hidden` (held for review or rejected).
    pub fn log_entries_after<'a>(
        &'a self,
        after: u64,
        hidden: &'a BTreeSet<u64>,
    ) -> impl Iterator<Item = Result<LogEntry, StoreError>> + 'a {
        self.log_records_after(after).filter_map(move |r| match r {
            Ok(rec) if hidden.contains(&rec.seq) => None,
            Ok(rec) => Some(rec.decode()),
            Err(e) => Some(Err(e)),
        })
    }

    /// Every origin's head.
    ///
    /// # Errors
    ///
    /// Engine failures, [`StoreError::Corrupt`].
    pub fn heads(&self) -> Result<Vec<(String, Head)>, StoreError> {
        let mut out = Vec::new();
        for r in self.scan_prefix(Keyspace::Heads, b"") {
            let (k, v) = r?;
            let origin = String::from_utf8(k).map_err(|_| corrupt(Keyspace::Heads, "origin is not UTF-8"))?;
            out.push((origin, Head::decode(&v).ok_or_else(|| corrupt(Keyspace::Heads, "bad head"))?));
        }
        Ok(out)
    }

    /// The log positions of every origin's latest accepted version of
    /// (kind, value), by origin.
    ///
    /// # Errors
    ///
    /// Engine failures, [`StoreError::Corrupt`].
    pub fn indexed_by_origin(&self, kind: Kind, value: &str) -> Result<Vec<(String, u64)>, StoreError> {
        let prefix = layout::index_prefix(kind, value);
        let mut out = Vec::new();
        for r in self.scan_prefix(Keyspace::Index, &prefix) {
            let (k, v) = r?;
            let origin = String::from_utf8_lossy(&k[prefix.len()..]).into_owned();
            let seq = layout::read_u64(&v).ok_or_else(|| corrupt(Keyspace::Index, "bad log position"))?;
            out.push((origin, seq));
        }
        Ok(out)
    }

    /// Every indexed (kind, value), once per origin asserting it.
    pub fn indexed_values(&self) -> impl Iterator<Item = Result<(Kind, String), StoreError>> + '_ {
        self.scan_prefix(Keyspace::Index, b"").map(|r| {
            let (k, _) = r?;
            let (kind, value, _) =
                layout::split_index_key(&k).ok_or_else(|| corrupt(Keyspace::Index, "bad index key"))?;
            Ok((kind, value.to_string()))
        })
    }

    /// The log positions of the feedback events held about (kind, value).
    ///
    /// # Errors
    ///
    /// Engine failures.
    pub fn feedback_positions(&self, kind: Kind, value: &str) -> Result<Vec<u64>, StoreError> {
        let mut out = Vec::new();
        for r in self.scan_prefix(Keyspace::Feedback, &layout::index_prefix(kind, value)) {
            let (k, _) = r?;
            if let Some(seq) = layout::feedback_key_seq(&k) {
                out.push(seq);
            }
        }
        Ok(out)
    }

    /// Every (kind, value) with feedback held about it.
    pub fn values_with_feedback(&self) -> impl Iterator<Item = Result<(Kind, String), StoreError>> + '_ {
        self.scan_prefix(Keyspace::Feedback, b"").map(|r| {
            let (k, _) = r?;
            let (kind, value, _) =
                layout::split_index_key(&k).ok_or_else(|| corrupt(Keyspace::Feedback, "bad feedback key"))?;
            Ok((kind, value.to_string()))
        })
    }

    /// Every peer record.
    ///
    /// # Errors
    ///
    /// Engine failures, [`StoreError::Corrupt`].
    pub fn peer_records(&self) -> Result<Vec<Peer>, StoreError> {
        self.scan_prefix(Keyspace::Peers, b"").map(|r| json(Keyspace::Peers, &r?.1)).collect()
    }

    /// Every trusted public key, by id.
    ///
    /// # Errors
    ///
    /// Engine failures, [`StoreError::Corrupt`].
    pub fn stored_keys(&self) -> Result<Vec<(String, StoredKey)>, StoreError> {
        self.scan_prefix(Keyspace::Keys, b"")
            .map(|r| {
                let (k, v) = r?;
                Ok((String::from_utf8_lossy(&k).into_owned(), json(Keyspace::Keys, &v)?))
            })
            .collect()
    }

    /// Every review record, by log position.
    ///
    /// # Errors
    ///
    /// Engine failures, [`StoreError::Corrupt`].
    pub fn quarantine_records(&self) -> Result<Vec<(u64, QuarantineRecord)>, StoreError> {
        self.scan_prefix(Keyspace::Quarantine, b"")
            .map(|r| {
                let (k, v) = r?;
                let seq = layout::read_u64(&k).ok_or_else(|| corrupt(Keyspace::Quarantine, "bad key"))?;
                Ok((seq, json(Keyspace::Quarantine, &v)?))
            })
            .collect()
    }

    /// Every admin allowlist entry.
    ///
    /// # Errors
    ///
    /// Engine failures, [`StoreError::Corrupt`].
    pub fn allow_entries(&self) -> Result<Vec<AllowEntry>, StoreError> {
        self.scan_prefix(Keyspace::Allowlist, b"").map(|r| json(Keyspace::Allowlist, &r?.1)).collect()
    }

    /// Every counter whose name starts with `prefix`, without the prefix.
    ///
    /// # Errors
    ///
    /// Engine failures.
    pub fn counters(&self, prefix: &str) -> Result<Vec<(String, u64)>, StoreError> {
        let mut out = Vec::new();
        for r in self.scan_prefix(Keyspace::Meta, prefix.as_bytes()) {
            let (k, v) = r?;
            let name = String::from_utf8_lossy(&k[prefix.len()..]).into_owned();
            out.push((name, layout::read_u64(&v).unwrap_or(0)));
        }
        Ok(out)
    }

    /// The newest audit entry.
    ///
    /// # Errors
    ///
    /// Engine failures, [`StoreError::Corrupt`].
    pub fn last_audit_entry(&self) -> Result<Option<AuditEntry>, StoreError> {
        self.last(Keyspace::Audit)?.map(|(_, v)| json(Keyspace::Audit, &v)).transpose()
    }

    /// The position of every stored tile, `(level, index)`, in key order.
    pub fn tile_positions(&self) -> impl Iterator<Item = Result<(u8, u64), StoreError>> + '_ {
        self.scan_prefix(Keyspace::Tiles, b"").map(|r| {
            let (k, _) = r?;
            match k.split_first() {
                Some((&level, index)) if index.len() == 8 => {
                    Ok((level, layout::read_u64(index).ok_or_else(|| corrupt(Keyspace::Tiles, "bad key"))?))
                }
                _ => Err(corrupt(Keyspace::Tiles, "bad key")),
            }
        })
    }

    /// Every log this node witnesses, with the checkpoint it last cosigned.
    ///
    /// # Errors
    ///
    /// Engine failures, [`StoreError::Corrupt`].
    pub fn witnessed_logs(&self) -> Result<Vec<WitnessedCheckpoint>, StoreError> {
        self.scan_prefix(Keyspace::Witness, layout::WITNESSED_PREFIX).map(|r| json(Keyspace::Witness, &r?.1)).collect()
    }

    /// Every piece of fork evidence kept about other logs.
    ///
    /// # Errors
    ///
    /// Engine failures, [`StoreError::Corrupt`].
    pub fn log_forks(&self) -> Result<Vec<LogForkRecord>, StoreError> {
        self.scan_prefix(Keyspace::Witness, layout::LOG_FORK_PREFIX).map(|r| json(Keyspace::Witness, &r?.1)).collect()
    }
}

/// The node's own stored tiles, for proofs and serving (tlog-tiles reads).
impl TileReader for Store {
    type Error = StoreError;

    fn read_tile(&self, level: u8, index: u64) -> Result<Option<Vec<u8>>, StoreError> {
        self.tile(level, index)
    }
}
