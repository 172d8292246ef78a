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

use std::collections::{BTreeSet, HashMap};

use super::layout::{self, Head, OriginEntry};
use super::records::{LogForkRecord, QuarantineRecord, StoredKey, WitnessedCheckpoint};
use super::{Batch, Keyspace, Store, StoreError};
use crate::allowlist::AllowEntry;
use crate::audit::AuditEntry;
use crate::envelope::{BodyHash, EnvelopeBody, SignedEnvelope};
use crate::model::Kind;
use crate::peers::Peer;
use crate::tlog::tree::{TileReader, TileWrite, tile_key};
use crate::warninglist::RuleSet;
use crate::warninglist::stored::{self, StoredHeader};
use crate::wire;
use crate::withdrawal::Reach;
use jaring_domain::access::TokenRecord;

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

/// The stored large lists, as [`Store::warninglists`] reads them.
#[derive(Debug, Default)]
pub struct StoredLists {
    /// Each list's header and rules, by name.
    pub lists: Vec<(StoredHeader, RuleSet)>,
    /// Chunks no header names: (list, generation, index).
    pub orphans: Vec<(String, u64, u32)>,
    /// The highest generation of any header or chunk.
    pub last_generation: u64,
}

/// One stored chunk of a large list, as read back.
#[derive(Debug, Clone)]
pub struct StoredChunk {
    /// The list.
    pub list: String,
    /// The generation it was written under.
    pub generation: u64,
    /// Its position in the generation.
    pub index: u32,
    /// The chunk ([`stored::encode_chunk`] format).
    pub bytes: Vec<u8>,
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
    /// Sets a key the caller knows is not stored ([`super::Op::Insert`]).
    fn raw_insert(&mut self, ks: Keyspace, key: Vec<u8>, value: Vec<u8>) {
        self.raw_put(ks, key, value);
    }
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
    fn raw_insert(&mut self, ks: Keyspace, key: Vec<u8>, value: Vec<u8>) {
        self.insert(ks, key, value);
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

    /// What of one of this node's indicators could leave it, by id.
    ///
    /// # Errors
    ///
    /// Engine failures, [`StoreError::Corrupt`].
    fn reach(&self, id: &str) -> Result<Option<Reach>, StoreError> {
        self.raw_get(Keyspace::Reach, id.as_bytes())?.map(|v| json(Keyspace::Reach, &v)).transpose()
    }

    /// The (kind, value, origin) of the indicator with a STIX id.
    ///
    /// # Errors
    ///
    /// Engine failures, [`StoreError::Corrupt`].
    fn stix_indicator(&self, stix_id: &str) -> Result<Option<(Kind, String, String)>, StoreError> {
        let Some(key) = self.raw_get(Keyspace::StixIds, stix_id.as_bytes())? else { return Ok(None) };
        let (kind, value, origin) =
            layout::split_index_key(&key).ok_or_else(|| corrupt(Keyspace::StixIds, "bad index key"))?;
        Ok(Some((kind, value.to_string(), origin.to_string())))
    }

    /// An audit entry by sequence number.
    ///
    /// # Errors
    ///
    /// Engine failures, [`StoreError::Corrupt`].
    fn audit_entry(&self, seq: u64) -> Result<Option<AuditEntry>, StoreError> {
        self.raw_get(Keyspace::Audit, &layout::seq_key(seq))?.map(|v| json(Keyspace::Audit, &v)).transpose()
    }

    /// A token record by name.
    ///
    /// # Errors
    ///
    /// Engine failures, [`StoreError::Corrupt`].
    fn token_record(&self, name: &str) -> Result<Option<TokenRecord>, StoreError> {
        self.raw_get(Keyspace::Tokens, name.as_bytes())?.map(|v| json(Keyspace::Tokens, &v)).transpose()
    }

    /// One admin allowlist entry.
    ///
    /// # Errors
    ///
    /// Engine failures, [`StoreError::Corrupt`].
    fn allow_entry(&self, list: &str, kind: Option<Kind>, value: &str) -> Result<Option<AllowEntry>, StoreError> {
        self.raw_get(Keyspace::Allowlist, &layout::allow_key(list, kind, value))?
            .map(|v| json(Keyspace::Allowlist, &v))
            .transpose()
    }

    /// A large list's header.
    ///
    /// # Errors
    ///
    /// Engine failures, [`StoreError::Corrupt`] (also for a header of a
    /// format this version does not read).
    fn warninglist_header(&self, list: &str) -> Result<Option<StoredHeader>, StoreError> {
        self.raw_get(Keyspace::Warninglists, &layout::warninglist_header_key(list))?
            .map(|v| decode_header(&v))
            .transpose()
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

fn decode_header(bytes: &[u8]) -> Result<StoredHeader, StoreError> {
    stored::decode_header(bytes).map_err(|e| corrupt(Keyspace::Warninglists, e.to_string()))
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

    /// [`Self::put_index`] for a (kind, value, origin) the caller knows is
    /// not indexed yet ([`super::Op::Insert`]).
    fn insert_index(&mut self, kind: Kind, value: &str, origin: &str, seq: u64) {
        self.raw_insert(Keyspace::Index, layout::index_key(kind, value, origin), layout::seq_key(seq).to_vec());
    }

    /// Points one of this node's own indicator ids at its latest version.
    fn put_own_indicator(&mut self, id: &str, seq: u64) {
        self.raw_put(Keyspace::Ids, id.as_bytes().to_vec(), layout::seq_key(seq).to_vec());
    }

    /// Records what of one of this node's indicators could leave it.
    fn put_reach(&mut self, id: &str, reach: &Reach) {
        self.raw_put(Keyspace::Reach, id.as_bytes().to_vec(), to_json(reach));
    }

    /// Files an indicator's STIX id under its (kind, value, origin).
    fn put_stix_indicator(&mut self, stix_id: &str, kind: Kind, value: &str, origin: &str) {
        self.raw_put(Keyspace::StixIds, stix_id.as_bytes().to_vec(), layout::index_key(kind, value, origin));
    }

    /// [`Self::put_stix_indicator`] for a (kind, value, origin) the caller
    /// knows is not indexed yet: its id (a function of the three) is not
    /// filed either.
    fn insert_stix_indicator(&mut self, stix_id: &str, kind: Kind, value: &str, origin: &str) {
        self.raw_insert(Keyspace::StixIds, stix_id.as_bytes().to_vec(), layout::index_key(kind, value, origin));
    }

    /// Keeps the plain value of a personal-data digest (local only).
    fn put_plain_value(&mut self, kind: Kind, digest: &str, plain: &str) {
        self.raw_put(Keyspace::Plain, layout::plain_key(kind, digest), plain.as_bytes().to_vec());
    }

    /// Files a feedback event under the value it is about (a new key: it
    /// names the event's new log position).
    fn put_feedback_ref(&mut self, kind: Kind, value: &str, reporter: &str, seq: u64) {
        self.raw_insert(Keyspace::Feedback, layout::feedback_key(kind, value, reporter, seq), Vec::new());
    }

    /// Files one event of a takedown case under the case (its requester
    /// and its request's origin_seq; a new key: it names the event's new log
    /// position).
    fn put_case_event(&mut self, origin: &str, case_seq: u64, local_seq: u64) {
        self.raw_insert(Keyspace::Cases, layout::case_key(origin, case_seq, local_seq), Vec::new());
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

    /// Stores a token record (made or revoked).
    fn put_token_record(&mut self, t: &TokenRecord) {
        self.raw_put(Keyspace::Tokens, t.name.as_bytes().to_vec(), to_json(t));
    }

    /// Stores a large list's header: the list is then the generation it
    /// names.
    fn put_warninglist_header(&mut self, h: &StoredHeader) {
        self.raw_put(Keyspace::Warninglists, layout::warninglist_header_key(&h.meta.name), stored::encode_header(h));
    }

    /// Removes a large list's header.
    fn delete_warninglist_header(&mut self, list: &str) {
        self.raw_delete(Keyspace::Warninglists, layout::warninglist_header_key(list));
    }

    /// Stores one chunk of a generation of a large list.
    fn put_warninglist_chunk(&mut self, list: &str, generation: u64, index: u32, chunk: Vec<u8>) {
        self.raw_put(Keyspace::Warninglists, layout::warninglist_chunk_key(list, generation, index), chunk);
    }

    /// Removes one chunk.
    fn delete_warninglist_chunk(&mut self, list: &str, generation: u64, index: u32) {
        self.raw_delete(Keyspace::Warninglists, layout::warninglist_chunk_key(list, generation, index));
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
        self.log_records_expecting(after, 0)
    }

    /// [`Self::log_records_after`] for a reader that expects to take about
    /// `expect` of them (a response, a tile): a paging engine reads that
    /// many in its first round trip.
    pub fn log_records_expecting(
        &self,
        after: u64,
        expect: usize,
    ) -> impl Iterator<Item = Result<LogRecord, StoreError>> + '_ {
        self.scan_after_expecting(Keyspace::Log, &layout::seq_key(after), expect).map(|r| {
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

    /// For each (kind, value, origin): the log entry of that origin's latest
    /// accepted version of (kind, value), in the order asked (`None` when
    /// the origin asserts no such value, or its entry is not in the log).
    /// One read for them all where the engine can ([`Store::get_indexed`]).
    ///
    /// # Errors
    ///
    /// Engine failures, [`StoreError::Corrupt`].
    pub fn indexed_entries(&self, wanted: &[(Kind, &str, &str)]) -> Result<Vec<Option<LogEntry>>, StoreError> {
        let keys: Vec<Vec<u8>> =
            wanted.iter().map(|(kind, value, origin)| layout::index_key(*kind, value, origin)).collect();
        self.get_indexed(&keys)?
            .into_iter()
            .map(|found| match found {
                Some((position, Some(bytes))) => {
                    let seq =
                        layout::read_u64(&position).ok_or_else(|| corrupt(Keyspace::Index, "bad log position"))?;
                    Ok(Some(LogRecord { seq, bytes }.decode()?))
                }
                Some((_, None)) | None => Ok(None),
            })
            .collect()
    }

    /// Every index entry: (kind, value, origin) and the log position of its
    /// latest accepted version.
    pub fn index_entries(&self) -> impl Iterator<Item = Result<(Kind, String, String, u64), StoreError>> + '_ {
        self.scan_prefix(Keyspace::Index, b"").map(|r| {
            let (k, v) = r?;
            let (kind, value, origin) =
                layout::split_index_key(&k).ok_or_else(|| corrupt(Keyspace::Index, "bad index key"))?;
            let seq = layout::read_u64(&v).ok_or_else(|| corrupt(Keyspace::Index, "bad log position"))?;
            Ok((kind, value.to_string(), origin.to_string(), seq))
        })
    }

    /// Fills the STIX id index of a store written before it existed, once
    /// (a marker in `Meta` says it is done): one pass over the lookup index
    /// and the entries it points at. Returns how many ids it indexed. Later
    /// versions index their ids as they are stored.
    ///
    /// # Errors
    ///
    /// Engine failures, [`StoreError::Corrupt`].
    pub fn backfill_stix_ids(&self) -> Result<u64, StoreError> {
        const DONE: &str = "schema/stix_ids";
        if self.counter(DONE)? > 0 {
            return Ok(0);
        }
        let mut batch = Batch::default();
        let mut indexed = 0u64;
        for r in self.index_entries() {
            let (kind, value, origin, seq) = r?;
            let Some(LogEntry { body, .. }) = self.log_entry(seq)? else { continue };
            let crate::envelope::Entry::Indicator(ind) = body.entry else { continue };
            batch.put_stix_indicator(&crate::envelope::stix_indicator_id(&ind.id), kind, &value, &origin);
            indexed += 1;
            if batch.len() >= 4096 {
                self.commit(std::mem::take(&mut batch))?;
            }
        }
        batch.put_counter(DONE, 1);
        self.commit(batch)?;
        Ok(indexed)
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

    /// The takedown cases filed, as (origin, case_seq, the log positions of
    /// their events), by origin and then case: every case of `origin`, or
    /// of every origin; only cases after `after` (origin, case_seq) in that
    /// order when given.
    pub fn case_events<'a>(
        &'a self,
        origin: Option<&'a str>,
        after: Option<(&str, u64)>,
    ) -> impl Iterator<Item = Result<(String, u64, Vec<u64>), StoreError>> + 'a {
        let prefix = origin.map_or_else(Vec::new, |o| layout::case_prefix(o, None));
        let scan: super::Scan<'a> = match after {
            // Past every event of the case `after`.
            Some((o, seq)) if origin.is_none_or(|own| own <= o) => {
                let from = layout::case_key(o, seq, u64::MAX);
                Box::new(
                    self.scan_after(Keyspace::Cases, &from)
                        .take_while(move |r| r.as_ref().map_or(true, |(k, _)| k.starts_with(&prefix))),
                )
            }
            _ => self.scan_prefix(Keyspace::Cases, &prefix),
        };
        CaseGroups { scan, pending: None, done: false }
    }

    /// The log positions of one case's events, in log order.
    ///
    /// # Errors
    ///
    /// Engine failures, [`StoreError::Corrupt`].
    pub fn case_positions(&self, origin: &str, case_seq: u64) -> Result<Vec<u64>, StoreError> {
        let mut out = Vec::new();
        for r in self.scan_prefix(Keyspace::Cases, &layout::case_prefix(origin, Some(case_seq))) {
            let (k, _) = r?;
            let (_, _, local) = layout::split_case_key(&k).ok_or_else(|| corrupt(Keyspace::Cases, "bad case key"))?;
            out.push(local);
        }
        Ok(out)
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

    /// The entries of one admin allowlist (a prefix scan: the other lists
    /// are not read).
    ///
    /// # Errors
    ///
    /// Engine failures, [`StoreError::Corrupt`].
    pub fn allow_entries_of(&self, list: &str) -> Result<Vec<AllowEntry>, StoreError> {
        self.scan_prefix(Keyspace::Allowlist, &layout::allow_list_prefix(list))
            .map(|r| json(Keyspace::Allowlist, &r?.1))
            .collect()
    }

    /// Every large list's header.
    ///
    /// # Errors
    ///
    /// Engine failures, [`StoreError::Corrupt`].
    pub fn warninglist_headers(&self) -> Result<Vec<StoredHeader>, StoreError> {
        self.scan_prefix(Keyspace::Warninglists, &layout::warninglist_headers_prefix())
            .map(|r| decode_header(&r?.1))
            .collect()
    }

    /// Every stored chunk of every large list and generation (orphans of an
    /// interrupted import included), in key order: by list, generation,
    /// index.
    pub fn warninglist_chunks(&self) -> impl Iterator<Item = Result<StoredChunk, StoreError>> + '_ {
        self.scan_prefix(Keyspace::Warninglists, &layout::warninglist_chunks_prefix()).map(|r| {
            let (k, bytes) = r?;
            let (list, generation, index) = layout::split_warninglist_chunk_key(&k)
                .ok_or_else(|| corrupt(Keyspace::Warninglists, "bad chunk key"))?;
            Ok(StoredChunk { list: list.to_string(), generation, index, bytes })
        })
    }

    /// Every stored large list with its rules decoded, the chunks no header
    /// names (left by an interrupted import), and the highest generation
    /// seen.
    ///
    /// # Errors
    ///
    /// Engine failures; [`StoreError::Corrupt`] for a list whose chunks do
    /// not decode or do not hold what its header says.
    pub fn warninglists(&self) -> Result<StoredLists, StoreError> {
        let headers: HashMap<String, StoredHeader> =
            self.warninglist_headers()?.into_iter().map(|h| (h.meta.name.clone(), h)).collect();
        let mut out = StoredLists {
            last_generation: headers.values().map(|h| h.generation).max().unwrap_or(0),
            ..StoredLists::default()
        };
        let mut rules: HashMap<String, (RuleSet, u32)> = HashMap::new();
        for chunk in self.warninglist_chunks() {
            let c = chunk?;
            out.last_generation = out.last_generation.max(c.generation);
            match headers.get(&c.list) {
                Some(h) if h.generation == c.generation => {
                    let (set, n) = rules.entry(c.list.clone()).or_default();
                    stored::decode_chunk(&c.bytes, set)
                        .map_err(|e| corrupt(Keyspace::Warninglists, format!("allowlist {}: {e}", c.list)))?;
                    *n += 1;
                }
                _ => out.orphans.push((c.list, c.generation, c.index)),
            }
        }
        for (name, header) in headers {
            let (mut set, chunks) = rules.remove(&name).unwrap_or_default();
            if chunks != header.chunks || set.len() as u64 != header.rules.total() {
                return Err(corrupt(
                    Keyspace::Warninglists,
                    format!(
                        "allowlist {name}: the header names {} chunks of {} rules; the store holds {chunks} chunks of {} rules",
                        header.chunks,
                        header.rules.total(),
                        set.len()
                    ),
                ));
            }
            set.shrink_to_fit();
            out.lists.push((header, set));
        }
        out.lists.sort_by(|a, b| a.0.meta.name.cmp(&b.0.meta.name));
        Ok(out)
    }

    /// Every token record, by name.
    ///
    /// # Errors
    ///
    /// Engine failures, [`StoreError::Corrupt`].
    pub fn token_records(&self) -> Result<Vec<TokenRecord>, StoreError> {
        self.scan_prefix(Keyspace::Tokens, b"").map(|r| json(Keyspace::Tokens, &r?.1)).collect()
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

/// Groups a scan of [`Keyspace::Cases`] into one item per case.
struct CaseGroups<'a> {
    scan: super::Scan<'a>,
    pending: Option<(String, u64, Vec<u64>)>,
    done: bool,
}

impl Iterator for CaseGroups<'_> {
    type Item = Result<(String, u64, Vec<u64>), StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            let Some(r) = self.scan.next() else {
                self.done = true;
                break;
            };
            let (k, _) = match r {
                Ok(pair) => pair,
                Err(e) => return Some(Err(e)),
            };
            let Some((origin, seq, local)) = layout::split_case_key(&k) else {
                return Some(Err(corrupt(Keyspace::Cases, "bad case key")));
            };
            match &mut self.pending {
                Some((o, s, events)) if o == origin && *s == seq => events.push(local),
                _ => {
                    let finished = self.pending.replace((origin.to_string(), seq, vec![local]));
                    if finished.is_some() {
                        return finished.map(Ok);
                    }
                }
            }
        }
        self.pending.take().map(Ok)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::allowlist::ListAction;
    use crate::envelope::{Entry, EnvelopeBody, GENESIS_HASH, Indicator, Value, indicator_id, stix_indicator_id};
    use crate::model::{Action, Category, Confidence, Distribution, Tlp};
    use crate::store::{EngineKind, open};
    use crate::warninglist::{DomainScope, ListMeta, Rule, RuleCounts};

    #[test]
    fn stix_ids_of_a_store_written_before_the_index_are_filled_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::open(&dir.path().join("db"), crate::store::EngineKind::Fjall, 8).unwrap();
        let id = indicator_id("MY", Kind::Domain, "old-loker.co.id");
        let body = EnvelopeBody {
            origin: "MY".into(),
            origin_seq: 1,
            prev_hash: GENESIS_HASH,
            created_at_ms: 1,
            entry: Entry::Indicator(Indicator {
                id: id.clone(),
                kind: Kind::Domain,
                value: Value::Plain("old-loker.co.id".into()),
                categories: vec![Category::JobScam],
                confidence: Confidence::try_from(50u32).unwrap(),
                tlp: Tlp::Green,
                distribution: Distribution::Federation,
                first_seen_ms: 1,
                last_seen_ms: 1,
                valid_until_ms: None,
                action: Action::Upsert,
                version: 1,
                description: None,
                source_refs: vec![],
                reach: vec![],
            }),
        };
        // What an older node wrote: the log and the index, no STIX id.
        let mut batch = Batch::default();
        let env = SignedEnvelope { body: wire::encode_body(&body), signature: vec![0; 64], key_id: "k".into() };
        batch.put_log(7, &env);
        batch.put_index(Kind::Domain, "old-loker.co.id", "MY", 7);
        store.commit(batch).unwrap();
        let stix = stix_indicator_id(&id);
        assert_eq!(store.stix_indicator(&stix).unwrap(), None);
        assert_eq!(store.backfill_stix_ids().unwrap(), 1);
        let want = Some((Kind::Domain, "old-loker.co.id".to_string(), "MY".to_string()));
        assert_eq!(store.stix_indicator(&stix).unwrap(), want);
        // Once: a second start does not scan again.
        let mut undo = Batch::default();
        undo.delete(Keyspace::StixIds, stix.as_bytes().to_vec());
        store.commit(undo).unwrap();
        assert_eq!(store.backfill_stix_ids().unwrap(), 0);
        assert_eq!(store.stix_indicator(&stix).unwrap(), None);
    }

    fn rules(names: &[&str]) -> RuleSet {
        let mut r = RuleSet::new();
        for n in names {
            r.push(Rule::Domain { name: n, scope: DomainScope::Site }, ListAction::Refuse);
        }
        r.push(Rule::Network("192.0.2.0/24".parse().unwrap()), ListAction::Refuse);
        r
    }

    fn put_list(store: &Store, name: &str, generation: u64, set: &RuleSet, per_chunk: usize, header: bool) {
        let mut b = Batch::default();
        let chunks = stored::encode_chunks(set, per_chunk);
        let n = u32::try_from(chunks.len()).unwrap();
        for (i, c) in chunks.into_iter().enumerate() {
            b.put_warninglist_chunk(name, generation, u32::try_from(i).unwrap(), c);
        }
        if header {
            b.put_warninglist_header(&StoredHeader {
                format: stored::FORMAT,
                meta: ListMeta::admin(name),
                rules: set.counts(),
                refused: 0,
                generation,
                chunks: n,
            });
        }
        store.commit(b).unwrap();
    }

    #[test]
    fn large_lists_read_back_whole_and_name_their_orphans() {
        for engine in [EngineKind::Fjall, EngineKind::Sled] {
            let dir = tempfile::tempdir().unwrap();
            let store = open(&dir.path().join("db"), engine, 8).unwrap();
            let v1 = rules(&["a.example", "b.example", "c.example"]);
            put_list(&store, "top", 5, &v1, 2, true);
            // An import of a newer version that stopped before its header,
            // and chunks of a list that never got one.
            put_list(&store, "top", 9, &rules(&["d.example"]), 2, false);
            put_list(&store, "lost", 3, &rules(&["e.example"]), 0, false);
            let read = store.warninglists().unwrap();
            assert_eq!(read.lists.len(), 1, "{engine}");
            let (header, set) = &read.lists[0];
            assert_eq!((header.meta.name.as_str(), header.generation, header.chunks), ("top", 5, 2));
            assert_eq!(set.iter().collect::<Vec<_>>(), v1.iter().collect::<Vec<_>>());
            assert_eq!(set.counts(), RuleCounts { domains: 3, networks: 1, ..RuleCounts::default() });
            let mut orphans = read.orphans.clone();
            orphans.sort();
            assert_eq!(orphans, vec![("lost".to_string(), 3, 0), ("top".to_string(), 9, 0)]);
            assert_eq!(read.last_generation, 9);
            assert_eq!(store.warninglist_header("top").unwrap().unwrap().generation, 5);
            assert!(store.warninglist_header("lost").unwrap().is_none());
        }
    }

    #[test]
    fn a_list_missing_a_chunk_is_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(&dir.path().join("db"), EngineKind::Fjall, 8).unwrap();
        put_list(&store, "top", 1, &rules(&["a.example", "b.example", "c.example"]), 2, true);
        let mut b = Batch::default();
        b.delete_warninglist_chunk("top", 1, 1);
        store.commit(b).unwrap();
        let e = store.warninglists().unwrap_err();
        assert!(
            matches!(&e, StoreError::Corrupt { keyspace: Keyspace::Warninglists, reason } if reason.contains("allowlist top")),
            "{e}"
        );
    }

    #[test]
    fn admin_entries_are_read_one_list_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(&dir.path().join("db"), EngineKind::Fjall, 8).unwrap();
        let entry = |list: &str, value: &str| AllowEntry {
            list: list.into(),
            kind: None,
            value: value.into(),
            action: ListAction::Refuse,
            builtin: false,
            note: "n".into(),
        };
        let mut b = Batch::default();
        for (l, v) in [("gov", "a.go.id"), ("gov", "b.go.id"), ("gov-extra", "c.go.id"), ("go", "d.go.id")] {
            b.put_allow_entry(&entry(l, v));
        }
        store.commit(b).unwrap();
        let values = |l: &str| store.allow_entries_of(l).unwrap().into_iter().map(|e| e.value).collect::<Vec<_>>();
        assert_eq!(values("gov"), vec!["a.go.id", "b.go.id"], "not gov-extra's");
        assert_eq!(values("go"), vec!["d.go.id"]);
        assert_eq!(store.allow_entry("gov", None, "b.go.id").unwrap().unwrap().note, "n");
        assert!(store.allow_entry("gov", Some(Kind::Domain), "b.go.id").unwrap().is_none());
    }
}
