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
use super::records::{QuarantineRecord, StoredKey};
use super::{Batch, Keyspace, Store, StoreError};
use crate::allowlist::AllowEntry;
use crate::audit::AuditEntry;
use crate::envelope::{BodyHash, EnvelopeBody, SignedEnvelope};
use crate::model::Kind;
use crate::peers::Peer;
use crate::wire;

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
}

impl<T: RawRead + ?Sized> Tables for T {}

/// Typed writes.
pub trait TableWrites: RawWrite {
    /// Puts an envelope at a log position.
    fn put_log(&mut self, seq: u64, env: &SignedEnvelope) {
        self.raw_put(Keyspace::Log, layout::seq_key(seq).to_vec(), wire::encode_envelope(env));
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
}
