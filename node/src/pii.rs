//! Keyed hashes for personal data.
//!
//! Bank accounts, e-wallet accounts, e-mail addresses (and phone numbers when
//! `privacy.hash_phone` is set) never travel in the clear. Every member of a
//! federation holds the same federation key for an epoch, exchanged out of
//! band under the agreement; a value travels as
//! `HMAC-SHA256(key, kind_name || 0x00 || normalized_value)` in lowercase
//! hex. Lookups hash the query the same way, so a match needs no plaintext.
//! The origin keeps the plain value in a local-only keyspace.
//!
//! Known limit: anyone holding the key can test guesses; for numbers with
//! little entropy (phone numbers) a member can enumerate them.

use std::fmt;
use std::path::{Path, PathBuf};

use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::envelope::Value;
use crate::model::Kind;

/// The scheme name carried on the wire.
pub const SCHEME: &str = "hmac-sha256";

/// A federation key with its epoch.
#[derive(Clone)]
pub struct FederationKey {
    epoch: u32,
    mac: Hmac<Sha256>,
    secret: Zeroizing<[u8; 32]>,
}

impl fmt::Debug for FederationKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FederationKey").field("epoch", &self.epoch).field("secret", &"<redacted>").finish()
    }
}

/// Errors reading a federation key file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FederationKeyError {
    /// Unreadable file.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Not 64 hex characters.
    #[error("{path}: a federation key file holds 64 hex characters (32 bytes)")]
    Format {
        /// The file.
        path: PathBuf,
    },
}

impl FederationKey {
    /// A key from its 32 secret bytes.
    pub fn new(epoch: u32, secret: [u8; 32]) -> FederationKey {
        // HMAC accepts keys of any length; 32 bytes cannot fail.
        let mac = <Hmac<Sha256> as Mac>::new_from_slice(&secret).unwrap_or_else(|_| unreachable!());
        FederationKey { epoch, mac, secret: Zeroizing::new(secret) }
    }

    /// A fresh random key.
    pub fn generate(epoch: u32) -> FederationKey {
        let mut secret = [0u8; 32];
        getrandom::rand_core::Rng::fill_bytes(&mut getrandom::rand_core::UnwrapErr(getrandom::SysRng), &mut secret);
        Self::new(epoch, secret)
    }

    /// The epoch.
    pub fn epoch(&self) -> u32 {
        self.epoch
    }

    /// The keyed hash of a normalized value.
    pub fn hash(&self, kind: Kind, normalized: &str) -> Value {
        let mut mac = self.mac.clone();
        mac.update(kind.as_str().as_bytes());
        mac.update(&[0]);
        mac.update(normalized.as_bytes());
        Value::Keyed { epoch: self.epoch, digest: hex::encode(mac.finalize().into_bytes()) }
    }

    /// File name for this key's epoch.
    pub fn file_name(epoch: u32) -> String {
        format!("federation-{epoch}.key")
    }

    /// Writes the key as hex, mode 0600.
    ///
    /// # Errors
    ///
    /// I/O errors.
    pub fn write_to(&self, dir: &Path) -> std::io::Result<PathBuf> {
        let path = dir.join(Self::file_name(self.epoch));
        let text = Zeroizing::new(format!("{}\n", hex::encode(*self.secret)));
        crate::fsutil::write_secret(&path, text.as_bytes())?;
        Ok(path)
    }

    /// Reads `federation-<epoch>.key`.
    ///
    /// # Errors
    ///
    /// [`FederationKeyError`] naming the file.
    pub fn read_from(path: &Path, epoch: u32) -> Result<FederationKey, FederationKeyError> {
        let text = Zeroizing::new(
            std::fs::read_to_string(path).map_err(|source| FederationKeyError::Io { path: path.into(), source })?,
        );
        let bytes =
            Zeroizing::new(hex::decode(text.trim()).map_err(|_| FederationKeyError::Format { path: path.into() })?);
        let secret: [u8; 32] =
            bytes.as_slice().try_into().map_err(|_| FederationKeyError::Format { path: path.into() })?;
        Ok(Self::new(epoch, secret))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_keyed_and_kind_separated() {
        let a = FederationKey::new(1, [7; 32]);
        let b = FederationKey::new(1, [8; 32]);
        let v = "BCA:1234567890";
        assert_eq!(a.hash(Kind::BankAccount, v), a.hash(Kind::BankAccount, v));
        assert_ne!(a.hash(Kind::BankAccount, v), b.hash(Kind::BankAccount, v));
        assert_ne!(a.hash(Kind::BankAccount, v), a.hash(Kind::EwalletAccount, v));
        let Value::Keyed { epoch, digest } = a.hash(Kind::Email, "x@example.com") else { panic!() };
        assert_eq!(epoch, 1);
        assert_eq!(digest.len(), 64);
    }

    #[test]
    fn matches_a_reference_hmac() {
        // HMAC-SHA256(key = 32 x 0x0b, "email\0a@b.co") computed independently
        // with Python's hmac module.
        let k = FederationKey::new(3, [0x0b; 32]);
        let Value::Keyed { digest, .. } = k.hash(Kind::Email, "a@b.co") else { panic!() };
        assert_eq!(digest, "4fb7fd3423f9c5b988f6f15ab31f7385583f929d0c6f6d1c8f58ef86ef427828");
    }

    #[test]
    fn file_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let k = FederationKey::generate(2);
        let path = k.write_to(dir.path()).unwrap();
        let back = FederationKey::read_from(&path, 2).unwrap();
        assert_eq!(back.hash(Kind::Email, "a@b.co"), k.hash(Kind::Email, "a@b.co"));
        std::fs::write(&path, "nothex").unwrap();
        assert!(matches!(FederationKey::read_from(&path, 2), Err(FederationKeyError::Format { .. })));
    }
}
