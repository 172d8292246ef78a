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
}

impl Keyspace {
    /// Every keyspace, in [`Keyspace::slot`] order.
    pub const ALL: [Keyspace; 15] = [
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
}
