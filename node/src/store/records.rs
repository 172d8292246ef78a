//! Records the store keeps as JSON beside the log: trusted public keys,
//! review decisions, and what this node holds as a witness of other logs.

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

/// The checkpoint of another log this node last cosigned as its witness:
/// what every later checkpoint of that log must be consistent with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WitnessedCheckpoint {
    /// The log's origin line.
    pub origin: String,
    /// The peer whose log it is (empty for a log known only by its key).
    #[serde(default)]
    pub peer: String,
    /// The signed checkpoint, with this node's cosignature on it.
    pub checkpoint: String,
    /// Its tree size.
    pub size: u64,
    /// When this node cosigned it.
    pub cosigned_at_ms: UnixMillis,
}

/// Evidence that a log signed two trees that cannot both be true: the
/// checkpoint this node had cosigned and the one it refused, both signed
/// by the log, so anyone can check the claim with the log's key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogForkRecord {
    /// The log's origin line.
    pub origin: String,
    /// The peer whose log it is.
    #[serde(default)]
    pub peer: String,
    /// How the log contradicted itself: `rollback`,
    /// `same_size_different_root` or `old_root_rewritten`.
    pub kind: String,
    /// What was found, for people.
    pub detail: String,
    /// The checkpoint cosigned before (signed by the log).
    pub cosigned: String,
    /// The checkpoint refused (signed by the log).
    pub refused: String,
    /// Where this node learnt of the refused checkpoint: `poll` (from the
    /// log itself), `gossip:<peer>` (a cosignature another witness sent),
    /// or `add-checkpoint`.
    #[serde(default)]
    pub source: String,
    /// When it was found.
    pub detected_at_ms: UnixMillis,
}
