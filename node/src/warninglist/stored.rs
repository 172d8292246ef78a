//! The durable form of a large list: one header record for the list as a
//! whole, and its rules in binary chunks of [`CHUNK_RULES`] (not one record
//! per rule: a million-domain list is about 250 chunks of 70 KB).
//!
//! Plain encode/decode functions; the store layer chooses the keyspace and
//! calls them. Suggested keys (one keyspace for these lists):
//! - [`header_key`]: `list 0x00 'h'` -> [`encode_header`];
//! - [`chunk_key`]: `list 0x00 'c' generation(u64 BE) index(u32 BE)` ->
//!   [`encode_chunk`] output, so a prefix scan of [`chunk_prefix`] reads a
//!   generation's chunks in order.
//!
//! Replacing a list without a window where it is half written: write the
//! new version's chunks under a new generation (in as many batches as
//! suits the store), then in one batch put the header naming that
//! generation and delete the old generation's chunks. A crash before the
//! header leaves chunks no header names; delete them at start (any chunk
//! whose generation is not its header's).
//!
//! Chunk layout (format 1): `b"JWC"`, format byte, rule count (u32 LE),
//! then per rule a shape byte (bit 7: `review`) and its payload:
//! - 0 domain rule, subtree scope / 1 site scope: name length (u16 LE),
//!   name;
//! - 2 exact value: kind name length (u8), kind name, value length (u16
//!   LE), value;
//! - 3 IPv4 network: address (4 bytes BE), prefix length;
//! - 4 IPv6 network: address (16 bytes BE), prefix length.
//!
//! Kinds are written by name, not number, so reordering [`Kind`] cannot
//! change what a stored list means.

use serde::{Deserialize, Serialize};

use super::list::ListMeta;
use super::rule::{DomainScope, IpNetwork, Rule, RuleCounts, RuleSet};
use crate::allowlist::ListAction;
use crate::model::Kind;

/// The format these functions write.
pub const FORMAT: u8 = 1;
/// Rules per chunk.
pub const CHUNK_RULES: usize = 4096;
const MAGIC: &[u8; 3] = b"JWC";

const SHAPE_SUBTREE: u8 = 0;
const SHAPE_SITE: u8 = 1;
const SHAPE_EXACT: u8 = 2;
const SHAPE_V4: u8 = 3;
const SHAPE_V6: u8 = 4;
const REVIEW: u8 = 0x80;

/// A stored list's header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredHeader {
    /// The chunk format, [`FORMAT`].
    pub format: u8,
    /// What the list is.
    pub meta: ListMeta,
    /// Its rules by shape.
    pub rules: RuleCounts,
    /// Values its import refused.
    pub refused: u64,
    /// The generation its chunks are written under.
    pub generation: u64,
    /// How many chunks.
    pub chunks: u32,
}

/// Why a stored list did not decode.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoredListError {
    /// The header is not JSON of the header's shape.
    #[error("stored allowlist header: {0}")]
    Header(#[from] serde_json::Error),
    /// A chunk or header format this node does not read.
    #[error("stored allowlist: format {0} is not known to this version")]
    UnknownFormat(u8),
    /// A chunk that is cut short or malformed.
    #[error("stored allowlist chunk corrupt at byte {offset}: {reason}")]
    Corrupt {
        /// Where.
        offset: usize,
        /// What was wrong.
        reason: &'static str,
    },
}

/// Key of a list's header.
pub fn header_key(list: &str) -> Vec<u8> {
    let mut k = list.as_bytes().to_vec();
    k.extend_from_slice(b"\x00h");
    k
}

/// Prefix of a generation's chunk keys.
pub fn chunk_prefix(list: &str, generation: u64) -> Vec<u8> {
    let mut k = list.as_bytes().to_vec();
    k.extend_from_slice(b"\x00c");
    k.extend_from_slice(&generation.to_be_bytes());
    k
}

/// Key of one chunk.
pub fn chunk_key(list: &str, generation: u64, index: u32) -> Vec<u8> {
    let mut k = chunk_prefix(list, generation);
    k.extend_from_slice(&index.to_be_bytes());
    k
}

/// The header's bytes (JSON: small, one per list, readable in a dump).
pub fn encode_header(h: &StoredHeader) -> Vec<u8> {
    serde_json::to_vec(h).unwrap_or_default()
}

/// A header from its bytes.
///
/// # Errors
///
/// [`StoredListError::Header`], or [`StoredListError::UnknownFormat`] for
/// a newer format.
pub fn decode_header(bytes: &[u8]) -> Result<StoredHeader, StoredListError> {
    let h: StoredHeader = serde_json::from_slice(bytes)?;
    if h.format != FORMAT {
        return Err(StoredListError::UnknownFormat(h.format));
    }
    Ok(h)
}

/// A list's rules as chunks of at most `per_chunk` rules (0 means
/// [`CHUNK_RULES`]), in [`RuleSet::iter`] order.
pub fn encode_chunks(rules: &RuleSet, per_chunk: usize) -> Vec<Vec<u8>> {
    let per_chunk = if per_chunk == 0 { CHUNK_RULES } else { per_chunk };
    let mut out = Vec::new();
    let mut batch: Vec<(Rule<'_>, ListAction)> = Vec::with_capacity(per_chunk.min(CHUNK_RULES));
    for r in rules.iter() {
        batch.push(r);
        if batch.len() == per_chunk {
            out.push(encode_chunk(&batch));
            batch.clear();
        }
    }
    if !batch.is_empty() {
        out.push(encode_chunk(&batch));
    }
    out
}

/// One chunk's bytes.
pub fn encode_chunk(rules: &[(Rule<'_>, ListAction)]) -> Vec<u8> {
    let mut b = Vec::with_capacity(8 + rules.len() * 20);
    b.extend_from_slice(MAGIC);
    b.push(FORMAT);
    b.extend_from_slice(&u32::try_from(rules.len()).unwrap_or(u32::MAX).to_le_bytes());
    for (rule, action) in rules {
        let review = if *action == ListAction::Review { REVIEW } else { 0 };
        let text = |b: &mut Vec<u8>, s: &str| {
            b.extend_from_slice(&u16::try_from(s.len()).unwrap_or(u16::MAX).to_le_bytes());
            b.extend_from_slice(s.as_bytes().get(..usize::from(u16::MAX)).unwrap_or(s.as_bytes()));
        };
        match rule {
            Rule::Domain { name, scope } => {
                b.push(review | if *scope == DomainScope::Site { SHAPE_SITE } else { SHAPE_SUBTREE });
                text(&mut b, name);
            }
            Rule::Exact { kind, value } => {
                b.push(review | SHAPE_EXACT);
                let k = kind.as_str();
                b.push(u8::try_from(k.len()).unwrap_or(0));
                b.extend_from_slice(k.as_bytes());
                text(&mut b, value);
            }
            Rule::Network(IpNetwork::V4 { addr, len }) => {
                b.push(review | SHAPE_V4);
                b.extend_from_slice(&addr.to_be_bytes());
                b.push(*len);
            }
            Rule::Network(IpNetwork::V6 { addr, len }) => {
                b.push(review | SHAPE_V6);
                b.extend_from_slice(&addr.to_be_bytes());
                b.push(*len);
            }
        }
    }
    b
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], StoredListError> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len());
        let Some(end) = end else { return Err(StoredListError::Corrupt { offset: self.at, reason: "cut short" }) };
        let s = self.bytes.get(self.at..end).unwrap_or(&[]);
        self.at = end;
        Ok(s)
    }
    fn byte(&mut self) -> Result<u8, StoredListError> {
        Ok(self.take(1)?.first().copied().unwrap_or(0))
    }
    fn text(&mut self) -> Result<&'a str, StoredListError> {
        let l = self.take(2)?;
        let len = usize::from(u16::from_le_bytes([l.first().copied().unwrap_or(0), l.get(1).copied().unwrap_or(0)]));
        let at = self.at;
        std::str::from_utf8(self.take(len)?).map_err(|_| StoredListError::Corrupt { offset: at, reason: "not UTF-8" })
    }
}

/// Appends a chunk's rules to `into`; how many.
///
/// # Errors
///
/// [`StoredListError::UnknownFormat`] or [`StoredListError::Corrupt`];
/// `into` may then hold part of the chunk.
pub fn decode_chunk(bytes: &[u8], into: &mut RuleSet) -> Result<usize, StoredListError> {
    let mut r = Reader { bytes, at: 0 };
    if r.take(3)? != MAGIC {
        return Err(StoredListError::Corrupt { offset: 0, reason: "not an allowlist chunk" });
    }
    let format = r.byte()?;
    if format != FORMAT {
        return Err(StoredListError::UnknownFormat(format));
    }
    let c = r.take(4)?;
    let count = u32::from_le_bytes([c[0], c[1], c[2], c[3]]) as usize;
    for _ in 0..count {
        let at = r.at;
        let shape = r.byte()?;
        let action = if shape & REVIEW != 0 { ListAction::Review } else { ListAction::Refuse };
        let corrupt = |reason| StoredListError::Corrupt { offset: at, reason };
        let rule = match shape & !REVIEW {
            SHAPE_SUBTREE => Rule::Domain { name: r.text()?, scope: DomainScope::Subtree },
            SHAPE_SITE => Rule::Domain { name: r.text()?, scope: DomainScope::Site },
            SHAPE_EXACT => {
                let n = usize::from(r.byte()?);
                let k = std::str::from_utf8(r.take(n)?).map_err(|_| corrupt("kind not UTF-8"))?;
                let kind: Kind = k.parse().map_err(|_| corrupt("unknown kind"))?;
                Rule::Exact { kind, value: r.text()? }
            }
            SHAPE_V4 => {
                let a = r.take(4)?;
                let addr = std::net::Ipv4Addr::new(a[0], a[1], a[2], a[3]);
                let len = r.byte()?;
                Rule::Network(IpNetwork::new(addr.into(), len).map_err(|_| corrupt("prefix too long"))?)
            }
            SHAPE_V6 => {
                let a = r.take(16)?;
                let mut octets = [0u8; 16];
                octets.copy_from_slice(a);
                let len = r.byte()?;
                let addr = std::net::Ipv6Addr::from(octets);
                Rule::Network(IpNetwork::new(addr.into(), len).map_err(|_| corrupt("prefix too long"))?)
            }
            _ => return Err(corrupt("unknown rule shape")),
        };
        if !into.push(rule, action) {
            return Err(corrupt("rule not accepted"));
        }
    }
    if r.at != bytes.len() {
        return Err(StoredListError::Corrupt { offset: r.at, reason: "bytes after the last rule" });
    }
    Ok(count)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::warninglist::ListFormat;

    fn sample() -> RuleSet {
        let mut s = RuleSet::new();
        s.push(Rule::Domain { name: "bank.co.id", scope: DomainScope::Subtree }, ListAction::Refuse);
        s.push(Rule::Domain { name: "bit.ly", scope: DomainScope::Site }, ListAction::Review);
        s.push(Rule::Exact { kind: Kind::Phone, value: "+62811000111" }, ListAction::Refuse);
        s.push(Rule::Network("10.0.0.0/8".parse().unwrap()), ListAction::Refuse);
        s.push(Rule::Network("2001:db8::/32".parse().unwrap()), ListAction::Review);
        s.push(Rule::Network("8.8.8.8".parse().unwrap()), ListAction::Refuse);
        s
    }

    #[test]
    fn chunks_round_trip() {
        let rules = sample();
        let chunks = encode_chunks(&rules, 4);
        assert_eq!(chunks.len(), 2);
        let mut back = RuleSet::new();
        let n: usize = chunks.iter().map(|c| decode_chunk(c, &mut back).unwrap()).sum();
        assert_eq!(n, 6);
        assert_eq!(back.iter().collect::<Vec<_>>(), rules.iter().collect::<Vec<_>>());
    }

    #[test]
    fn corrupt_chunks_are_refused_without_panic() {
        let chunk = encode_chunks(&sample(), 0).remove(0);
        for cut in 0..chunk.len() {
            let mut into = RuleSet::new();
            assert!(decode_chunk(&chunk[..cut], &mut into).is_err(), "cut at {cut}");
        }
        let mut extra = chunk.clone();
        extra.push(0);
        assert!(matches!(
            decode_chunk(&extra, &mut RuleSet::new()),
            Err(StoredListError::Corrupt { reason: "bytes after the last rule", .. })
        ));
        let mut newer = chunk.clone();
        newer[3] = 9;
        assert!(matches!(decode_chunk(&newer, &mut RuleSet::new()), Err(StoredListError::UnknownFormat(9))));
        let mut shape = chunk;
        shape[8] = 0x17;
        assert!(matches!(
            decode_chunk(&shape, &mut RuleSet::new()),
            Err(StoredListError::Corrupt { reason: "unknown rule shape", .. })
        ));
    }

    #[test]
    fn headers_round_trip_and_keys_sort() {
        let h = StoredHeader {
            format: FORMAT,
            meta: ListMeta {
                name: "misp-x".into(),
                format: ListFormat::Misp,
                source: "lists/x/list.json".into(),
                version: Some(20_260_811),
                title: "X".into(),
                description: "d".into(),
                category: Some("known".into()),
                action: ListAction::Refuse,
            },
            rules: RuleCounts { domains: 3, ..RuleCounts::default() },
            refused: 1,
            generation: 7,
            chunks: 1,
        };
        assert_eq!(decode_header(&encode_header(&h)).unwrap(), h);
        let mut future = h.clone();
        future.format = 2;
        assert!(matches!(decode_header(&encode_header(&future)), Err(StoredListError::UnknownFormat(2))));
        assert!(chunk_key("l", 1, 2) < chunk_key("l", 1, 10));
        assert!(chunk_key("l", 1, u32::MAX) < chunk_key("l", 2, 0));
        assert!(chunk_key("l", 1, 0).starts_with(&chunk_prefix("l", 1)));
        assert_ne!(header_key("l"), chunk_prefix("l", 0));
    }
}
