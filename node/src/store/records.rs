//! Records the store keeps as JSON beside the log: trusted public keys and
//! review decisions.

use serde::{Deserialize, Serialize};

use super::{Keyspace, StoreError};
use crate::model::UnixMillis;

/// A trusted public key, as kept in the key table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredKey {
    /// Owner node id.
    pub owner: String,
    /// Hex public key.
    pub public_key_hex: String,
    /// Validity start.
    pub valid_from_ms: UnixMillis,
    /// Revocation time.
    #[serde(default)]
    pub revoked_at_ms: Option<UnixMillis>,
}

impl StoredKey {
    /// The ed25519 public key.
    ///
    /// # Errors
    ///
    /// [`StoreError::Corrupt`] if the record does not hold a valid one.
    pub fn verifying_key(&self) -> Result<ed25519_dalek::VerifyingKey, StoreError> {
        let bad = || StoreError::Corrupt { keyspace: Keyspace::Keys, reason: "bad public key".into() };
        let bytes: [u8; 32] = hex::decode(&self.public_key_hex).ok().and_then(|b| b.try_into().ok()).ok_or_else(bad)?;
        ed25519_dalek::VerifyingKey::from_bytes(&bytes).map_err(|_| bad())
    }
}

/// The review state of an entry held in quarantine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    /// Waiting for an analyst; not served, not relayed.
    Pending,
    /// Accepted: indexed and served.
    Accepted,
    /// Rejected: kept in the log, never served.
    Rejected,
}

impl Decision {
    /// The canonical name.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Pending => "pending",
            Decision::Accepted => "accepted",
            Decision::Rejected => "rejected",
        }
    }
}

impl std::fmt::Display for Decision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stored review record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuarantineRecord {
    /// Peer it came from.
    pub peer: String,
    /// Why it is held.
    pub reason: String,
    /// When it arrived.
    pub received_at_ms: UnixMillis,
    /// Pending, accepted or rejected.
    pub decision: Decision,
    /// Analyst's note.
    #[serde(default)]
    pub note: String,
    /// Who decided.
    #[serde(default)]
    pub decided_by: String,
}
