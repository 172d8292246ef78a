//! Key events in the log, this node's or a peer's: applied to the key
//! table and, once committed, to the key ring. A rotation held for review
//! (from a `review` peer) is not applied: its key is pending until an
//! analyst accepts it ([`super::review`]), and the subscriber waits before
//! what that key signed.

use super::txn::{KeyringChange, Txn};
use crate::envelope::KeyEvent;
use crate::keys::PublicKeyLookup;
use crate::store::records::StoredKey;
use crate::store::{StoreError, TableWrites, Tables};

impl Txn<'_> {
    pub(super) fn key_event(&mut self, origin: &str, ev: &KeyEvent) -> Result<(), StoreError> {
        match ev {
            KeyEvent::Rotation { new_key_id, new_public_key, valid_from_ms } => {
                let Ok(vk) = ed25519_dalek::VerifyingKey::from_bytes(new_public_key) else {
                    return Ok(());
                };
                let stored = StoredKey {
                    owner: origin.into(),
                    public_key_hex: hex::encode(new_public_key),
                    valid_from_ms: *valid_from_ms,
                    revoked_at_ms: None,
                };
                self.overlay.put_stored_key(new_key_id, &stored);
                self.keyring_changes.push(KeyringChange::Add {
                    owner: origin.into(),
                    key: vk,
                    valid_from_ms: *valid_from_ms,
                });
            }
            KeyEvent::Revocation { key_id, revoked_at_ms, .. } => {
                if let Some(mut k) = self.overlay.stored_key(key_id)? {
                    if k.owner != origin {
                        return Ok(());
                    }
                    let at = *revoked_at_ms;
                    k.revoked_at_ms = Some(k.revoked_at_ms.map_or(at, |t| t.min(at)));
                    self.overlay.put_stored_key(key_id, &k);
                    self.keyring_changes.push(KeyringChange::Revoke { key_id: key_id.clone(), at_ms: at });
                }
            }
        }
        Ok(())
    }

    /// Why a peer's key event must not apply: a rotation whose key id does
    /// not match its key or that claims a key another node (this one
    /// included) holds, or a revocation of another node's key. A key id
    /// belongs to exactly one node: its owner is read from the key table
    /// (this commit's writes included) and from the key ring, which holds
    /// this node's own keys and every peer's card keys.
    pub(super) fn bad_key_event(&self, origin: &str, ev: &KeyEvent) -> Result<Option<String>, StoreError> {
        let owner_of = |key_id: &str| -> Result<Option<String>, StoreError> {
            if let Some(k) = self.overlay.stored_key(key_id)? {
                return Ok(Some(k.owner));
            }
            let ring = self.committed.keyring.read().unwrap_or_else(|p| p.into_inner());
            Ok(ring.public_key(key_id).map(|k| k.owner))
        };
        match ev {
            KeyEvent::Rotation { new_key_id, new_public_key, .. } => {
                if ed25519_dalek::VerifyingKey::from_bytes(new_public_key).is_err() {
                    return Ok(Some(format!("{new_key_id} is not a valid ed25519 public key")));
                }
                if crate::keys::key_id_of(new_public_key).as_str() != new_key_id {
                    return Ok(Some(format!("key id {new_key_id} does not match the announced public key")));
                }
                match owner_of(new_key_id)? {
                    Some(owner) if owner != origin => {
                        Ok(Some(format!("key {new_key_id} belongs to {owner}; a key id belongs to one node")))
                    }
                    _ => Ok(None),
                }
            }
            KeyEvent::Revocation { key_id, .. } => match owner_of(key_id)? {
                Some(owner) if owner != origin => Ok(Some(format!("key {key_id} belongs to {owner}, not {origin}"))),
                _ => Ok(None),
            },
        }
    }
}
