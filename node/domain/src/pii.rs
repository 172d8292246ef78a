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

/// Why a federation key file's text is not a key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a federation key file holds 64 hex characters (32 bytes)")]
pub struct FederationKeyFormatError;

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

    /// The text of this key's file: the 32 secret bytes as 64 lowercase hex
    /// characters and a newline, zeroized when dropped.
    pub fn to_key_file(&self) -> Zeroizing<String> {
        Zeroizing::new(format!("{}\n", hex::encode(*self.secret)))
    }

    /// Reads the text of a key file (surrounding white space ignored).
    ///
    /// # Errors
    ///
    /// [`FederationKeyFormatError`].
    pub fn from_key_file(text: &str, epoch: u32) -> Result<FederationKey, FederationKeyFormatError> {
        let bytes = Zeroizing::new(hex::decode(text.trim()).map_err(|_| FederationKeyFormatError)?);
        let secret: [u8; 32] = bytes.as_slice().try_into().map_err(|_| FederationKeyFormatError)?;
        Ok(Self::new(epoch, secret))
    }
}

/// Which kinds this node treats as personal data, and the key that hashes
/// them: the one place that decides how a value is carried.
#[derive(Debug, Clone)]
pub struct Privacy {
    key: FederationKey,
    hash_phone: bool,
}

impl Privacy {
    /// Personal data hashed with `key`; phone numbers too when `hash_phone`.
    pub fn new(key: FederationKey, hash_phone: bool) -> Privacy {
        Privacy { key, hash_phone }
    }

    /// The federation key.
    pub fn key(&self) -> &FederationKey {
        &self.key
    }

    /// Whether phone numbers are personal data here.
    pub fn hash_phone(&self) -> bool {
        self.hash_phone
    }

    /// How a canonical value is carried: itself, or its keyed hash with the
    /// plain value to keep locally.
    pub fn carried(&self, kind: Kind, canonical: String) -> (Value, Option<String>) {
        if kind.is_personal(self.hash_phone) {
            (self.key.hash(kind, &canonical), Some(canonical))
        } else {
            (Value::Plain(canonical), None)
        }
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
    fn key_file_text_round_trip() {
        let k = FederationKey::generate(2);
        let back = FederationKey::from_key_file(&k.to_key_file(), 2).unwrap();
        assert_eq!(back.hash(Kind::Email, "a@b.co"), k.hash(Kind::Email, "a@b.co"));
        assert_eq!(FederationKey::from_key_file("nothex", 2).unwrap_err(), FederationKeyFormatError);
        assert_eq!(FederationKey::from_key_file(&"ab".repeat(31), 2).unwrap_err(), FederationKeyFormatError);
    }
}
