//! Keyspaces and how their keys and values are laid out.
//!
//! Integers in keys are big-endian so byte order is numeric order. Strings in
//! composite keys are separated by 0x00, which no normalized value, node id
//! or key id contains.

use crate::envelope::BodyHash;
use crate::model::Kind;

/// A named part of the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Keyspace {
    /// local_seq -> encoded `SignedIndicator`. The source of truth.
    Log,
    /// origin 0x00 origin_seq -> [`OriginEntry`].
    OriginSeq,
    /// origin -> [`Head`]: the highest origin_seq held.
    Heads,
    /// kind 0x00 value 0x00 origin -> local_seq of that origin's latest version.
    Index,
    /// indicator id -> local_seq of its latest version, for this node's own
    /// indicators (revocation by id).
    Ids,
    /// kind 0x00 keyed digest -> plain value. Local only, never sent.
    Plain,
    /// peer node_id -> the peer's log position we have applied.
    Cursors,
    /// peer node_id -> JSON peer record.
    Peers,
    /// key id -> JSON trusted public key.
    Keys,
    /// audit seq -> JSON audit entry.
    Audit,
    /// local_seq -> JSON quarantine record.
    Quarantine,
    /// origin 0x00 origin_seq 0x00 body hash -> encoded envelope: fork evidence.
    Forks,
    /// name -> value: counters and small settings.
    Meta,
    /// kind 0x00 value 0x00 reporter 0x00 local_seq -> (): feedback events
    /// about a value, indexed under the value they are about.
    Feedback,
    /// list 0x00 kind-or-`*` 0x00 value -> JSON allowlist entry.
    Allowlist,
    /// indicator id -> JSON `Reach`: the markings of the versions of one of
    /// this node's own indicators that could leave it (what a tombstone
    /// must reach, `crate::withdrawal`).
    Reach,
    /// STIX id of an indicator (`indicator--<uuid>`) -> kind 0x00 value
    /// 0x00 origin, the indicator's [`index_key`]: TAXII finds an object
    /// by id, or answers 404, without scanning the log.
    StixIds,
    /// Large allowlists (imported warninglists and rankings), in the
    /// format of `crate::warninglist::stored`: `h` list -> JSON header;
    /// `c` list 0x00 generation 0x00.. -> a binary chunk of rules
    /// ([`warninglist_chunk_key`]).
    Warninglists,
    /// token name -> JSON token record (role, scope, SHA-256 of the secret).
    Tokens,
    /// tile level (u8) ‖ tile index (u64) -> the tile's hashes: this
    /// node's log as a transparency-log tree (tlog-tiles hash tiles),
    /// written in the same commit as the entries they cover.
    Tiles,
    /// What this node holds as a witness of other logs:
    /// `latest 0x00 origin` -> the checkpoint it last cosigned, and
    /// `fork 0x00 origin 0x00 size 0x00 root` -> a refused checkpoint kept
    /// as fork evidence.
    Witness,
    /// origin 0x00 case_seq local_seq (both big-endian) -> (): the events of
    /// each takedown case, by the requester and its request's origin_seq.
    Cases,
}

impl Keyspace {
    /// Every keyspace, in [`Keyspace::slot`] order.
    pub const ALL: [Keyspace; 22] = [
        Keyspace::Log,
        Keyspace::OriginSeq,
        Keyspace::Heads,
        Keyspace::Index,
        Keyspace::Ids,
        Keyspace::Plain,
        Keyspace::Cursors,
        Keyspace::Peers,
        Keyspace::Keys,
        Keyspace::Audit,
        Keyspace::Quarantine,
        Keyspace::Forks,
        Keyspace::Meta,
        Keyspace::Feedback,
        Keyspace::Allowlist,
        Keyspace::Reach,
        Keyspace::StixIds,
        Keyspace::Warninglists,
        Keyspace::Tokens,
        Keyspace::Tiles,
        Keyspace::Witness,
        Keyspace::Cases,
    ];

    /// Position in [`Keyspace::ALL`].
    pub fn slot(self) -> usize {
        match self {
            Keyspace::Log => 0,
            Keyspace::OriginSeq => 1,
            Keyspace::Heads => 2,
            Keyspace::Index => 3,
            Keyspace::Ids => 4,
            Keyspace::Plain => 5,
            Keyspace::Cursors => 6,
            Keyspace::Peers => 7,
            Keyspace::Keys => 8,
            Keyspace::Audit => 9,
            Keyspace::Quarantine => 10,
            Keyspace::Forks => 11,
            Keyspace::Meta => 12,
            Keyspace::Feedback => 13,
            Keyspace::Allowlist => 14,
            Keyspace::Reach => 15,
            Keyspace::StixIds => 16,
            Keyspace::Warninglists => 17,
            Keyspace::Tokens => 18,
            Keyspace::Tiles => 19,
            Keyspace::Witness => 20,
            Keyspace::Cases => 21,
        }
    }

    /// The one-byte prefix (or partition tag) of this keyspace.
    pub fn prefix(self) -> u8 {
        match self {
            Keyspace::Log => b'L',
            Keyspace::OriginSeq => b'S',
            Keyspace::Heads => b'H',
            Keyspace::Index => b'I',
            Keyspace::Ids => b'D',
            Keyspace::Plain => b'P',
            Keyspace::Cursors => b'C',
            Keyspace::Peers => b'R',
            Keyspace::Keys => b'K',
            Keyspace::Audit => b'A',
            Keyspace::Quarantine => b'Q',
            Keyspace::Forks => b'F',
            Keyspace::Meta => b'M',
            Keyspace::Feedback => b'E',
            Keyspace::Allowlist => b'W',
            Keyspace::Reach => b'T',
            Keyspace::StixIds => b'X',
            Keyspace::Warninglists => b'G',
            Keyspace::Tokens => b'U',
            Keyspace::Tiles => b'J',
            Keyspace::Witness => b'N',
            Keyspace::Cases => b'Y',
        }
    }
}

/// A big-endian u64 key.
pub fn seq_key(seq: u64) -> [u8; 8] {
    seq.to_be_bytes()
}

/// Decodes a big-endian u64.
pub fn read_u64(b: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(b.get(..8)?.try_into().ok()?))
}

/// `origin 0x00 seq`.
pub fn origin_seq_key(origin: &str, seq: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(origin.len() + 9);
    k.extend_from_slice(origin.as_bytes());
    k.push(0);
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

/// `kind 0x00 value 0x00`: the prefix of every origin's index entry for a value.
pub fn index_prefix(kind: Kind, value: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(kind.as_str().len() + value.len() + 2);
    k.extend_from_slice(kind.as_str().as_bytes());
    k.push(0);
    k.extend_from_slice(value.as_bytes());
    k.push(0);
    k
}

/// `kind 0x00 value 0x00 origin`.
pub fn index_key(kind: Kind, value: &str, origin: &str) -> Vec<u8> {
    let mut k = index_prefix(kind, value);
    k.extend_from_slice(origin.as_bytes());
    k
}

/// Splits an index key into (kind, value, origin).
pub fn split_index_key(k: &[u8]) -> Option<(Kind, &str, &str)> {
    let mut parts = k.splitn(3, |&b| b == 0);
    let kind = std::str::from_utf8(parts.next()?).ok()?.parse().ok()?;
    let value = std::str::from_utf8(parts.next()?).ok()?;
    let origin = std::str::from_utf8(parts.next()?).ok()?;
    Some((kind, value, origin))
}

/// `kind 0x00 value 0x00 reporter 0x00 local_seq`: a feedback event about
/// a value; [`index_prefix`] finds every event about the value.
pub fn feedback_key(kind: Kind, value: &str, reporter: &str, local_seq: u64) -> Vec<u8> {
    let mut k = index_key(kind, value, reporter);
    k.push(0);
    k.extend_from_slice(&local_seq.to_be_bytes());
    k
}

/// The local_seq at the end of a [`feedback_key`].
pub fn feedback_key_seq(k: &[u8]) -> Option<u64> {
    read_u64(k.get(k.len().checked_sub(8)?..)?)
}

/// `origin 0x00 case_seq`: the prefix of a takedown case's events; with
/// `case_seq` `None`, of every case of `origin`.
pub fn case_prefix(origin: &str, case_seq: Option<u64>) -> Vec<u8> {
    let mut k = Vec::with_capacity(origin.len() + 9);
    k.extend_from_slice(origin.as_bytes());
    k.push(0);
    if let Some(seq) = case_seq {
        k.extend_from_slice(&seq.to_be_bytes());
    }
    k
}

/// `origin 0x00 case_seq local_seq`: one event of a takedown case.
pub fn case_key(origin: &str, case_seq: u64, local_seq: u64) -> Vec<u8> {
    let mut k = case_prefix(origin, Some(case_seq));
    k.extend_from_slice(&local_seq.to_be_bytes());
    k
}

/// Splits a [`case_key`] into (origin, case_seq, local_seq).
pub fn split_case_key(k: &[u8]) -> Option<(&str, u64, u64)> {
    let zero = k.iter().position(|&b| b == 0)?;
    let rest = k.get(zero + 1..)?;
    if rest.len() != 16 {
        return None;
    }
    Some((std::str::from_utf8(&k[..zero]).ok()?, read_u64(&rest[..8])?, read_u64(&rest[8..])?))
}

/// `kind 0x00 digest`.
pub fn plain_key(kind: Kind, digest: &str) -> Vec<u8> {
    let mut k = kind.as_str().as_bytes().to_vec();
    k.push(0);
    k.extend_from_slice(digest.as_bytes());
    k
}

/// `list 0x00 kind-or-"*" 0x00 value`: an allowlist entry.
pub fn allow_key(list: &str, kind: Option<Kind>, value: &str) -> Vec<u8> {
    let mut k = list.as_bytes().to_vec();
    k.push(0);
    k.extend_from_slice(kind.map_or("*", Kind::as_str).as_bytes());
    k.push(0);
    k.extend_from_slice(value.as_bytes());
    k
}

/// `list 0x00`: the prefix of every entry of one admin allowlist.
pub fn allow_list_prefix(list: &str) -> Vec<u8> {
    let mut k = list.as_bytes().to_vec();
    k.push(0);
    k
}

/// Tag of a large list's header key.
const WARNINGLIST_HEADER: u8 = b'h';
/// Tag of a large list's chunk keys.
const WARNINGLIST_CHUNK: u8 = b'c';

/// `h list`: a large list's header.
pub fn warninglist_header_key(list: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(list.len() + 1);
    k.push(WARNINGLIST_HEADER);
    k.extend_from_slice(list.as_bytes());
    k
}

/// `h`: the prefix of every header.
pub fn warninglist_headers_prefix() -> [u8; 1] {
    [WARNINGLIST_HEADER]
}

/// `c`: the prefix of every chunk of every list.
pub fn warninglist_chunks_prefix() -> [u8; 1] {
    [WARNINGLIST_CHUNK]
}

/// `c list 0x00 generation(u64 BE) index(u32 BE)`: one chunk of one
/// generation of a list; a generation's chunks sort in order.
pub fn warninglist_chunk_key(list: &str, generation: u64, index: u32) -> Vec<u8> {
    let mut k = Vec::with_capacity(list.len() + 14);
    k.push(WARNINGLIST_CHUNK);
    k.extend_from_slice(list.as_bytes());
    k.push(0);
    k.extend_from_slice(&generation.to_be_bytes());
    k.extend_from_slice(&index.to_be_bytes());
    k
}

/// Splits a [`warninglist_chunk_key`] into (list, generation, index).
pub fn split_warninglist_chunk_key(k: &[u8]) -> Option<(&str, u64, u32)> {
    let rest = k.strip_prefix(&[WARNINGLIST_CHUNK])?;
    let zero = rest.iter().position(|&b| b == 0)?;
    let (list, tail) = rest.split_at(zero);
    let tail = tail.get(1..)?;
    if tail.len() != 12 {
        return None;
    }
    let generation = read_u64(tail)?;
    let index = u32::from_be_bytes(tail.get(8..12)?.try_into().ok()?);
    Some((std::str::from_utf8(list).ok()?, generation, index))
}

/// `latest 0x00 origin`: the checkpoint of `origin` this node last cosigned.
pub fn witnessed_key(origin: &str) -> Vec<u8> {
    let mut k = b"latest\0".to_vec();
    k.extend_from_slice(origin.as_bytes());
    k
}

/// The prefix of every [`witnessed_key`].
pub const WITNESSED_PREFIX: &[u8] = b"latest\0";

/// `fork 0x00 origin 0x00 size 0x00 root`: a checkpoint of `origin` refused
/// as inconsistent, kept once however often it is seen.
pub fn log_fork_key(origin: &str, size: u64, root: &[u8; 32]) -> Vec<u8> {
    let mut k = b"fork\0".to_vec();
    k.extend_from_slice(origin.as_bytes());
    k.push(0);
    k.extend_from_slice(&size.to_be_bytes());
    k.push(0);
    k.extend_from_slice(root);
    k
}

/// The prefix of every [`log_fork_key`].
pub const LOG_FORK_PREFIX: &[u8] = b"fork\0";

/// What the store holds about one (origin, origin_seq).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OriginEntry {
    /// Hash of the body held.
    pub hash: BodyHash,
    /// Its `prev_hash`.
    pub prev_hash: BodyHash,
    /// Where it is in the local log.
    pub local_seq: u64,
}

impl OriginEntry {
    /// 72 bytes: hash, prev_hash, local_seq.
    pub fn encode(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(72);
        v.extend_from_slice(&self.hash);
        v.extend_from_slice(&self.prev_hash);
        v.extend_from_slice(&self.local_seq.to_be_bytes());
        v
    }

    /// Decodes [`Self::encode`]'s output.
    pub fn decode(b: &[u8]) -> Option<OriginEntry> {
        if b.len() != 72 {
            return None;
        }
        Some(OriginEntry {
            hash: b[..32].try_into().ok()?,
            prev_hash: b[32..64].try_into().ok()?,
            local_seq: read_u64(&b[64..])?,
        })
    }
}

/// The highest origin_seq held for an origin, and its hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    /// Highest origin_seq held.
    pub seq: u64,
    /// Its body hash.
    pub hash: BodyHash,
}

impl Head {
    /// 40 bytes: seq, hash.
    pub fn encode(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(40);
        v.extend_from_slice(&self.seq.to_be_bytes());
        v.extend_from_slice(&self.hash);
        v
    }

    /// Decodes [`Self::encode`]'s output.
    pub fn decode(b: &[u8]) -> Option<Head> {
        if b.len() != 40 {
            return None;
        }
        Some(Head { seq: read_u64(b)?, hash: b[8..].try_into().ok()? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_and_prefixes_are_distinct() {
        for (i, ks) in Keyspace::ALL.iter().enumerate() {
            assert_eq!(ks.slot(), i);
        }
        let prefixes: std::collections::HashSet<u8> = Keyspace::ALL.iter().map(|k| k.prefix()).collect();
        assert_eq!(prefixes.len(), Keyspace::ALL.len());
    }

    #[test]
    fn warninglist_keys_split_and_sort() {
        let k = warninglist_chunk_key("misp-x", 7, 3);
        assert_eq!(split_warninglist_chunk_key(&k), Some(("misp-x", 7, 3)));
        assert!(warninglist_chunk_key("l", 1, 2) < warninglist_chunk_key("l", 1, 10));
        assert!(warninglist_chunk_key("l", 1, u32::MAX) < warninglist_chunk_key("l", 2, 0));
        assert!(k.starts_with(&warninglist_chunks_prefix()));
        assert!(warninglist_header_key("l").starts_with(&warninglist_headers_prefix()));
        assert_eq!(split_warninglist_chunk_key(&warninglist_header_key("l")), None);
        assert_eq!(split_warninglist_chunk_key(&k[..k.len() - 1]), None);
    }

    #[test]
    fn case_keys_split_back_and_sort_by_case_then_event() {
        let k = case_key("id-kominfo", 17, 300);
        assert_eq!(split_case_key(&k), Some(("id-kominfo", 17, 300)));
        assert!(k.starts_with(&case_prefix("id-kominfo", Some(17))));
        assert!(k.starts_with(&case_prefix("id-kominfo", None)));
        assert!(case_key("ID", 2, 900) < case_key("ID", 10, 5), "numeric order of cases");
        assert_eq!(split_case_key(b"ID\0short"), None);
    }
}
