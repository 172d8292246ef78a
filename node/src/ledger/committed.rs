//! [`Committed`]: what readers see of the writer's last commit.

use std::collections::BTreeSet;
use std::sync::RwLock;

use crate::keys::KeyRing;

/// What readers see of the last commit, kept in memory by the writer:
/// the public keys of every trusted origin, the log positions not to be
/// served (pending or rejected review), and the lookup index.
#[derive(Debug, Default)]
pub struct Committed {
    /// Public keys of every trusted origin.
    pub keyring: RwLock<KeyRing>,
    /// Log positions not to be served or relayed (pending or rejected review).
    pub hidden: RwLock<BTreeSet<u64>>,
    /// What lookups read from memory; told of every value a commit changes.
    pub lookup: crate::lookup_index::LookupIndex,
    /// Key ids announced by rotations held for review: not trusted yet; a
    /// subscriber waits before what they signed.
    pub pending_keys: RwLock<BTreeSet<String>>,
}

impl Committed {
    /// A copy of the hidden positions.
    pub fn hidden(&self) -> BTreeSet<u64> {
        self.hidden.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Whether a rotation announcing `key_id` is held for review.
    pub fn key_pending(&self, key_id: &str) -> bool {
        self.pending_keys.read().unwrap_or_else(|p| p.into_inner()).contains(key_id)
    }

    /// A copy of the key ring.
    pub fn keyring(&self) -> KeyRing {
        self.keyring.read().unwrap_or_else(|p| p.into_inner()).clone()
    }
}
