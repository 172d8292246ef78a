//! Signing keys: this node's secret keys on disk, and the ring of public keys
//! of every origin the node trusts.
//!
//! A key id is `ed25519:` followed by the first 8 bytes of SHA-256 of the
//! public key in hex (see [`crate::envelope::key_id_of`]); a receiver finds
//! the key by id and then checks that it belongs to the body's origin.
//! Secret key files live in `DIR/keys/`, one per key id, mode 0600, and are
//! never printed.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use ed25519_dalek::VerifyingKey;
use getrandom::SysRng;
use getrandom::rand_core::UnwrapErr;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::envelope::key_id_of;
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

/// Errors reading or writing key files.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyFileError {
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a key file.
    #[error("{path}: not a Jaring key file: {reason}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The directory holds no signing key.
    #[error("{dir}: no signing key (expected a *.key file made by `jaring init`)")]
    NoKey {
        /// The key directory.
        dir: PathBuf,
    },
}

#[derive(Serialize, Deserialize)]
struct KeyFile {
    key_id: String,
    algorithm: String,
    secret_key_hex: String,
    valid_from_ms: UnixMillis,
}

impl SigningKey {
    /// A fresh key from the OS random source, valid from `valid_from_ms`.
    pub fn generate(valid_from_ms: UnixMillis) -> SigningKey {
        // Panics only if the OS random source fails, as rand_core's OsRng did.
        let key = ed25519_dalek::SigningKey::generate(&mut UnwrapErr(SysRng));
        Self::from_dalek(key, valid_from_ms)
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

    pub(crate) fn inner(&self) -> &ed25519_dalek::SigningKey {
        &self.key
    }

    /// File name of this key inside the key directory.
    pub fn file_name(&self) -> String {
        format!("{}.key", self.id.as_str().replace(':', "-"))
    }

    /// Writes the key to `dir/<id>.key` with mode 0600.
    ///
    /// # Errors
    ///
    /// [`KeyFileError::Io`] if the file cannot be written.
    pub fn write_to(&self, dir: &Path) -> Result<PathBuf, KeyFileError> {
        let path = dir.join(self.file_name());
        let file = KeyFile {
            key_id: self.id.0.clone(),
            algorithm: "ed25519".into(),
            secret_key_hex: hex::encode(self.key.to_bytes()),
            valid_from_ms: self.valid_from_ms,
        };
        let text = Zeroizing::new(serde_json::to_string_pretty(&file).unwrap_or_default());
        crate::fsutil::write_secret(&path, text.as_bytes())
            .map_err(|source| KeyFileError::Io { path: path.clone(), source })?;
        Ok(path)
    }

    /// Reads a key file.
    ///
    /// # Errors
    ///
    /// [`KeyFileError`] naming the file and what is wrong with it.
    pub fn read_from(path: &Path) -> Result<SigningKey, KeyFileError> {
        let text = Zeroizing::new(
            std::fs::read_to_string(path).map_err(|source| KeyFileError::Io { path: path.into(), source })?,
        );
        let bad = |reason: &str| KeyFileError::Format { path: path.into(), reason: reason.into() };
        let file: KeyFile = serde_json::from_str(&text).map_err(|e| bad(&e.to_string()))?;
        if file.algorithm != "ed25519" {
            return Err(bad("algorithm is not ed25519"));
        }
        let bytes = Zeroizing::new(hex::decode(&file.secret_key_hex).map_err(|_| bad("secret key is not hex"))?);
        let secret: [u8; 32] = bytes.as_slice().try_into().map_err(|_| bad("secret key is not 32 bytes"))?;
        let key = Self::from_dalek(ed25519_dalek::SigningKey::from_bytes(&secret), file.valid_from_ms);
        if key.id.0 != file.key_id {
            return Err(bad("key_id does not match the key"));
        }
        Ok(key)
    }

    /// Every key in `dir`, oldest first.
    ///
    /// # Errors
    ///
    /// The first unreadable key file, or [`KeyFileError::NoKey`].
    pub fn read_dir(dir: &Path) -> Result<Vec<SigningKey>, KeyFileError> {
        let entries = std::fs::read_dir(dir).map_err(|source| KeyFileError::Io { path: dir.into(), source })?;
        let mut keys = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|source| KeyFileError::Io { path: dir.into(), source })?;
            let path = entry.path();
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with("ed25519-") && name.ends_with(".key") {
                keys.push(Self::read_from(&path)?);
            }
        }
        if keys.is_empty() {
            return Err(KeyFileError::NoKey { dir: dir.into() });
        }
        keys.sort_by_key(|k| (k.valid_from_ms, k.id.clone()));
        Ok(keys)
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
    fn key_file_round_trip_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let key = SigningKey::generate(5);
        let path = key.write_to(dir.path()).unwrap();
        let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&path).unwrap().permissions());
        assert_eq!(mode & 0o777, 0o600);
        let back = SigningKey::read_from(&path).unwrap();
        assert_eq!(back.id(), key.id());
        assert_eq!(back.public(), key.public());
        assert_eq!(back.valid_from_ms(), 5);
        assert!(!format!("{key:?}").contains(&hex::encode(key.inner().to_bytes())));
    }

    #[test]
    fn broken_key_files_name_the_problem() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ed25519-x.key");
        std::fs::write(&path, "{}").unwrap();
        let err = SigningKey::read_from(&path).unwrap_err();
        assert!(matches!(err, KeyFileError::Format { .. }), "{err}");
        assert!(err.to_string().contains("ed25519-x.key"));
        let empty = tempfile::tempdir().unwrap();
        assert!(matches!(SigningKey::read_dir(empty.path()).unwrap_err(), KeyFileError::NoKey { .. }));
    }
}
