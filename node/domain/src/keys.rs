//! Signing keys: this node's secret keys, and the ring of public keys of
//! every origin the node trusts.
//!
//! A key id is `ed25519:` followed by the first 8 bytes of SHA-256 of the
//! public key in hex (see [`key_id_of`]); a receiver finds
//! the key by id and then checks that it belongs to the body's origin.
//! A secret key never leaves [`SigningKey`]: it signs ([`SigningKey::sign`])
//! and turns into the text of its key file ([`SigningKey::to_key_file`]);
//! the node writes that text to `DIR/keys/`, one file per key id, mode 0600.
//! Neither is ever printed.

use std::collections::HashMap;
use std::fmt;

use ed25519_dalek::{Signer, VerifyingKey};
use getrandom::SysRng;
use getrandom::rand_core::UnwrapErr;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::model::UnixMillis;

/// A key id, e.g. `ed25519:4f1c0a9e2b7d3c55`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct KeyId(pub String);

impl KeyId {
    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Key id of an ed25519 public key: `ed25519:` and the first 8 bytes of its
/// SHA-256, in hex.
pub fn key_id_of(public: &[u8; 32]) -> KeyId {
    KeyId(format!("ed25519:{}", hex::encode(&Sha256::digest(public)[..8])))
}

/// One of this node's ed25519 signing keys.
pub struct SigningKey {
    key: ed25519_dalek::SigningKey,
    id: KeyId,
    valid_from_ms: UnixMillis,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey").field("id", &self.id).field("secret", &"<redacted>").finish()
    }
}

/// Why a key file's text is not a signing key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a Jaring key file: {reason}")]
pub struct KeyFormatError {
    /// What is wrong.
    pub reason: &'static str,
}

#[derive(Serialize, Deserialize)]
struct KeyFile {
    key_id: String,
    algorithm: String,
    secret_key_hex: Zeroizing<String>,
    valid_from_ms: UnixMillis,
}

impl SigningKey {
    /// A fresh key from the OS random source, valid from `valid_from_ms`.
    pub fn generate(valid_from_ms: UnixMillis) -> SigningKey {
        // Panics only if the OS random source fails, as rand_core's OsRng did.
        let key = ed25519_dalek::SigningKey::generate(&mut UnwrapErr(SysRng));
        Self::from_dalek(key, valid_from_ms)
    }

    /// A key from its 32 secret bytes (test vectors, key files), valid from
    /// `valid_from_ms`.
    pub fn from_secret_bytes(secret: &[u8; 32], valid_from_ms: UnixMillis) -> SigningKey {
        Self::from_dalek(ed25519_dalek::SigningKey::from_bytes(secret), valid_from_ms)
    }

    fn from_dalek(key: ed25519_dalek::SigningKey, valid_from_ms: UnixMillis) -> SigningKey {
        let id = key_id_of(key.verifying_key().as_bytes());
        SigningKey { key, id, valid_from_ms }
    }

    /// The key id.
    pub fn id(&self) -> &KeyId {
        &self.id
    }

    /// The public half.
    pub fn public(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    /// From when this key signs.
    pub fn valid_from_ms(&self) -> UnixMillis {
        self.valid_from_ms
    }

    /// Signs `message` (for envelopes and identity cards: the DSSE
    /// pre-authentication encoding, [`crate::envelope::pae`]).
    pub fn sign(&self, message: &[u8]) -> ed25519_dalek::Signature {
        self.key.sign(message)
    }

    /// File name of this key inside the key directory.
    pub fn file_name(&self) -> String {
        format!("{}.key", self.id.as_str().replace(':', "-"))
    }

    /// Whether a file name is one [`Self::file_name`] makes.
    pub fn is_key_file_name(name: &str) -> bool {
        name.starts_with("ed25519-") && name.ends_with(".key")
    }

    /// The text of this key's file (JSON with the secret key in hex),
    /// zeroized when dropped. Whoever writes it keeps it 0600.
    pub fn to_key_file(&self) -> Zeroizing<String> {
        let file = KeyFile {
            key_id: self.id.0.clone(),
            algorithm: "ed25519".into(),
            secret_key_hex: Zeroizing::new(hex::encode(self.key.to_bytes())),
            valid_from_ms: self.valid_from_ms,
        };
        // A struct of strings and an integer always serializes.
        Zeroizing::new(serde_json::to_string_pretty(&file).unwrap_or_default())
    }

    /// Reads the text of a key file.
    ///
    /// # Errors
    ///
    /// [`KeyFormatError`] saying what is wrong with it.
    pub fn from_key_file(text: &str) -> Result<SigningKey, KeyFormatError> {
        let bad = |reason| KeyFormatError { reason };
        let file: KeyFile = serde_json::from_str(text)
            .map_err(|_| bad("not JSON with key_id, algorithm, secret_key_hex, valid_from_ms"))?;
        if file.algorithm != "ed25519" {
            return Err(bad("algorithm is not ed25519"));
        }
        let bytes =
            Zeroizing::new(hex::decode(file.secret_key_hex.as_str()).map_err(|_| bad("secret key is not hex"))?);
        let secret: Zeroizing<[u8; 32]> =
            Zeroizing::new(bytes.as_slice().try_into().map_err(|_| bad("secret key is not 32 bytes"))?);
        let key = Self::from_dalek(ed25519_dalek::SigningKey::from_bytes(&secret), file.valid_from_ms);
        if key.id.0 != file.key_id {
            return Err(bad("key_id does not match the key"));
        }
        Ok(key)
    }
}

/// What a receiver knows about one public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyStatus {
    /// node_id of the key's owner.
    pub owner: String,
    /// The public key.
    pub key: VerifyingKey,
    /// Signatures dated before this are refused.
    pub valid_from_ms: UnixMillis,
    /// Signatures dated at or after this are refused.
    pub revoked_at_ms: Option<UnixMillis>,
}

/// Finds a public key by id.
pub trait PublicKeyLookup {
    /// The key with this id, if trusted.
    fn public_key(&self, key_id: &str) -> Option<KeyStatus>;
}

/// Every public key the node trusts, by key id.
#[derive(Debug, Clone, Default)]
pub struct KeyRing {
    keys: HashMap<String, KeyStatus>,
}

impl KeyRing {
    /// Trusts `key` for `owner` from `valid_from_ms`. A key already known
    /// keeps its revocation.
    pub fn insert(&mut self, owner: &str, key: VerifyingKey, valid_from_ms: UnixMillis) -> KeyId {
        let id = key_id_of(key.as_bytes());
        let revoked_at_ms = self.keys.get(&id.0).and_then(|k| k.revoked_at_ms);
        self.keys.insert(id.0.clone(), KeyStatus { owner: owner.into(), key, valid_from_ms, revoked_at_ms });
        id
    }

    /// Marks a key revoked from `at_ms`; returns false if unknown. An
    /// earlier revocation time wins.
    pub fn revoke(&mut self, key_id: &str, at_ms: UnixMillis) -> bool {
        match self.keys.get_mut(key_id) {
            Some(k) => {
                k.revoked_at_ms = Some(k.revoked_at_ms.map_or(at_ms, |t| t.min(at_ms)));
                true
            }
            None => false,
        }
    }

    /// Forgets every key of `owner`.
    pub fn remove_owner(&mut self, owner: &str) {
        self.keys.retain(|_, k| k.owner != owner);
    }

    /// Every key, by id.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &KeyStatus)> {
        self.keys.iter().map(|(id, k)| (id.as_str(), k))
    }

    /// Every key of `owner`.
    pub fn keys_of<'a>(&'a self, owner: &'a str) -> impl Iterator<Item = (&'a str, &'a KeyStatus)> + 'a {
        self.keys.iter().filter(move |(_, k)| k.owner == owner).map(|(id, k)| (id.as_str(), k))
    }
}

impl PublicKeyLookup for KeyRing {
    fn public_key(&self, key_id: &str) -> Option<KeyStatus> {
        self.keys.get(key_id).cloned()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn key_file_text_round_trips_and_never_prints_the_secret() {
        let key = SigningKey::generate(5);
        let text = key.to_key_file();
        let back = SigningKey::from_key_file(&text).unwrap();
        assert_eq!(back.id(), key.id());
        assert_eq!(back.public(), key.public());
        assert_eq!(back.valid_from_ms(), 5);
        let secret = hex::encode(key.key.to_bytes());
        assert!(text.contains(&secret));
        assert!(!format!("{key:?}").contains(&secret));
        assert!(SigningKey::is_key_file_name(&key.file_name()));
    }

    #[test]
    fn broken_key_files_name_the_problem() {
        assert_eq!(
            SigningKey::from_key_file("{}").unwrap_err().reason,
            "not JSON with key_id, algorithm, secret_key_hex, valid_from_ms"
        );
        let key = SigningKey::generate(5);
        let other = SigningKey::generate(5);
        let swapped = key.to_key_file().replace(key.id().as_str(), other.id().as_str());
        assert_eq!(SigningKey::from_key_file(&swapped).unwrap_err().reason, "key_id does not match the key");
        let rsa = key.to_key_file().replace("\"ed25519\"", "\"rsa\"");
        assert_eq!(SigningKey::from_key_file(&rsa).unwrap_err().reason, "algorithm is not ed25519");
    }
}
