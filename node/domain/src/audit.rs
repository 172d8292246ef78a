//! The tamper-evident audit log.
//!
//! Every admin action, trust change and rejected envelope is appended as an
//! [`AuditEntry`] whose `hash` is SHA-256 over the previous entry's hash and
//! this entry's canonical JSON (every field but `hash`, in declaration
//! order). [`verify_chain`] recomputes the chain and names the first entry
//! that was edited, removed or reordered.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::model::UnixMillis;

/// What an audit entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditCategory {
    /// An admin changed something.
    Admin,
    /// A change to who is trusted.
    Trust,
    /// Something from a peer was refused.
    Rejection,
    /// A request with a token was refused (revoked, expired, from the
    /// wrong network, beyond its role or its rate).
    Access,
}

impl AuditCategory {
    /// The category's name.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditCategory::Admin => "admin",
            AuditCategory::Trust => "trust",
            AuditCategory::Rejection => "rejection",
            AuditCategory::Access => "access",
        }
    }
}

/// An audit record before it is chained.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditDraft {
    /// Kind of record.
    pub category: AuditCategory,
    /// Who: the admin identity, or `peer:<node_id>`.
    pub actor: String,
    /// What, e.g. `indicator.add`, `peer.remove`, `envelope.reject`.
    pub action: String,
    /// The peer concerned, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer: Option<String>,
    /// The origin of the envelope concerned, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    /// Its origin_seq.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin_seq: Option<u64>,
    /// Short stable reason (e.g. `bad_signature`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Free text.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

impl AuditDraft {
    /// An admin action.
    pub fn admin(actor: &str, action: &str, detail: impl Into<String>) -> AuditDraft {
        AuditDraft {
            category: AuditCategory::Admin,
            actor: actor.into(),
            action: action.into(),
            peer: None,
            origin: None,
            origin_seq: None,
            reason: None,
            detail: detail.into(),
        }
    }

    /// A trust change.
    pub fn trust(actor: &str, action: &str, peer: &str, detail: impl Into<String>) -> AuditDraft {
        AuditDraft { category: AuditCategory::Trust, peer: Some(peer.into()), ..Self::admin(actor, action, detail) }
    }

    /// A refused envelope.
    pub fn rejection(
        peer: &str,
        origin: Option<&str>,
        origin_seq: Option<u64>,
        reason: &str,
        detail: impl Into<String>,
    ) -> AuditDraft {
        AuditDraft {
            category: AuditCategory::Rejection,
            actor: format!("peer:{peer}"),
            action: "envelope.reject".into(),
            peer: Some(peer.into()),
            origin: origin.map(Into::into),
            origin_seq,
            reason: Some(reason.into()),
            detail: detail.into(),
        }
    }
}

/// A chained audit record, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Position, from 1.
    pub seq: u64,
    /// When it was recorded.
    pub at_ms: UnixMillis,
    /// The record.
    #[serde(flatten)]
    pub draft: AuditDraft,
    /// Hash of the previous entry (hex; zeros for the first).
    pub prev_hash: String,
    /// SHA-256(prev_hash bytes || canonical JSON without `hash`), hex.
    pub hash: String,
}

#[derive(Serialize)]
struct Hashed<'a> {
    seq: u64,
    at_ms: UnixMillis,
    #[serde(flatten)]
    draft: &'a AuditDraft,
    prev_hash: &'a str,
}

/// Hash of the (absent) entry before the first.
pub fn genesis() -> String {
    hex::encode([0u8; 32])
}

/// Chains a draft after `prev`.
pub fn chain(seq: u64, at_ms: UnixMillis, draft: AuditDraft, prev_hash: &str) -> AuditEntry {
    let hash = entry_hash(seq, at_ms, &draft, prev_hash);
    AuditEntry { seq, at_ms, draft, prev_hash: prev_hash.into(), hash }
}

fn entry_hash(seq: u64, at_ms: UnixMillis, draft: &AuditDraft, prev_hash: &str) -> String {
    let canonical = serde_json::to_vec(&Hashed { seq, at_ms, draft, prev_hash }).unwrap_or_default();
    let mut h = Sha256::new();
    h.update(hex::decode(prev_hash).unwrap_or_default());
    h.update(&canonical);
    hex::encode(h.finalize())
}

/// Why an audit chain does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuditBreak {
    /// A stored record is not an audit entry.
    #[error("audit entry at position {position} does not decode: {reason}")]
    Undecodable {
        /// Its position (store key).
        position: u64,
        /// Why.
        reason: String,
    },
    /// An entry's sequence number does not follow its predecessor's: an
    /// entry was removed or moved.
    #[error("audit entry {seq}: expected sequence {expected} (an entry was removed or reordered)")]
    Sequence {
        /// Its recorded seq.
        seq: u64,
        /// The seq that should be here.
        expected: u64,
    },
    /// An entry does not link to its predecessor's hash.
    #[error("audit entry {seq}: prev_hash does not match entry {}'s hash (an entry was removed, reordered or edited)", seq.saturating_sub(1))]
    Link {
        /// The entry.
        seq: u64,
    },
    /// An entry's content does not match its hash.
    #[error("audit entry {seq}: content does not match its hash (the entry was edited)")]
    Content {
        /// The entry.
        seq: u64,
    },
}

impl AuditBreak {
    /// The first bad entry's sequence number.
    pub fn seq(&self) -> u64 {
        match self {
            AuditBreak::Undecodable { position, .. } => *position,
            AuditBreak::Sequence { seq, .. } | AuditBreak::Link { seq } | AuditBreak::Content { seq } => *seq,
        }
    }
}

/// Checks a chain given as (store position, stored bytes) in store order.
/// Returns the number of entries checked.
///
/// # Errors
///
/// The first [`AuditBreak`].
pub fn verify_chain(entries: impl IntoIterator<Item = (u64, Vec<u8>)>) -> Result<u64, AuditBreak> {
    let mut prev = genesis();
    let mut expected = 1;
    for (position, bytes) in entries {
        let e: AuditEntry = serde_json::from_slice(&bytes)
            .map_err(|err| AuditBreak::Undecodable { position, reason: err.to_string() })?;
        if e.seq != expected || position != e.seq {
            return Err(AuditBreak::Sequence { seq: e.seq, expected });
        }
        if e.prev_hash != prev {
            return Err(AuditBreak::Link { seq: e.seq });
        }
        if entry_hash(e.seq, e.at_ms, &e.draft, &e.prev_hash) != e.hash {
            return Err(AuditBreak::Content { seq: e.seq });
        }
        prev = e.hash;
        expected += 1;
    }
    Ok(expected - 1)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn chain_of(n: u64) -> Vec<(u64, Vec<u8>)> {
        let mut prev = genesis();
        (1..=n)
            .map(|s| {
                let e = chain(s, 1000 + s as i64, AuditDraft::admin("admin", "indicator.add", format!("#{s}")), &prev);
                prev = e.hash.clone();
                (s, serde_json::to_vec(&e).unwrap())
            })
            .collect()
    }

    #[test]
    fn clean_chain_verifies() {
        assert_eq!(verify_chain(chain_of(5)), Ok(5));
        assert_eq!(verify_chain(Vec::new()), Ok(0));
    }

    #[test]
    fn edits_removals_and_reorders_are_found() {
        let mut edited = chain_of(5);
        let mut e: AuditEntry = serde_json::from_slice(&edited[2].1).unwrap();
        e.draft.detail = "something else".into();
        edited[2].1 = serde_json::to_vec(&e).unwrap();
        assert_eq!(verify_chain(edited), Err(AuditBreak::Content { seq: 3 }));

        let mut removed = chain_of(5);
        removed.remove(1);
        assert_eq!(verify_chain(removed).unwrap_err().seq(), 3);

        let mut swapped = chain_of(5);
        swapped.swap(1, 2);
        assert!(verify_chain(swapped).is_err());

        let mut junk = chain_of(3);
        junk[1].1 = b"not json".to_vec();
        assert!(matches!(verify_chain(junk), Err(AuditBreak::Undecodable { position: 2, .. })));
    }
}
