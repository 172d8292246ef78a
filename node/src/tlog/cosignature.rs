//! C2SP tlog-cosignature, Ed25519 `cosignature/v1` (signature type 0x04):
//! a witness's timestamped statement that, as of that time, the checkpoint
//! is the largest consistent tree head it has seen for the log.
//!
//! The signature is `timestamp (u64, big-endian) ‖ Ed25519 signature` over
//!
//! ```text
//! cosignature/v1
//! time <timestamp>
//! <the checkpoint's note text>
//! ```
//!
//! The key id uses type 0x04, so the same public key under the same name has
//! a different id as a cosigner than as a note signer. The message does not
//! commit to the cosigner's name: one key must serve one cosigner.

use std::fmt;

use super::note::{Algorithm, NoteError, NoteSignature, VerifierKey};

/// Latest timestamp a cosignature may carry (2^63 - 1).
pub const MAX_TIMESTAMP: u64 = i64::MAX as u64;

/// The bytes a cosignature signs: the header and time lines, then the
/// checkpoint text. `None` when the text is not at least three lines ending
/// in a newline (not a checkpoint).
pub fn signed_message(timestamp: u64, checkpoint_text: &str) -> Option<Vec<u8>> {
    if timestamp > MAX_TIMESTAMP || !checkpoint_text.ends_with('\n') || checkpoint_text.matches('\n').count() < 3 {
        return None;
    }
    let mut m = format!("cosignature/v1\ntime {timestamp}\n").into_bytes();
    m.extend_from_slice(checkpoint_text.as_bytes());
    Some(m)
}

/// The timestamp of a cosignature (the signature bytes after the key id).
pub fn timestamp(signature: &[u8]) -> Option<u64> {
    if signature.len() != 8 + 64 {
        return None;
    }
    let (ts, _) = signature.split_first_chunk::<8>()?;
    Some(u64::from_be_bytes(*ts)).filter(|t| *t <= MAX_TIMESTAMP)
}

/// Whether `sig` (timestamp ‖ signature) is `key`'s cosignature on
/// `checkpoint_text`.
pub fn verify(key: &ed25519_dalek::VerifyingKey, checkpoint_text: &str, sig: &[u8]) -> bool {
    let Some(ts) = timestamp(sig) else { return false };
    let Some(msg) = signed_message(ts, checkpoint_text) else { return false };
    let Ok(sig) = ed25519_dalek::Signature::from_slice(&sig[8..]) else { return false };
    key.verify_strict(&msg, &sig).is_ok()
}

/// A witness's Ed25519 cosigning key.
pub struct Cosigner {
    verifier: VerifierKey,
    key: std::sync::Arc<crate::keys::SigningKey>,
}

impl fmt::Debug for Cosigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cosigner({}+{:08x})", self.verifier.name(), self.verifier.key_id())
    }
}

impl Cosigner {
    /// Cosigns as `name` with `key`.
    ///
    /// # Errors
    ///
    /// [`NoteError::KeyName`].
    pub fn new(name: &str, key: std::sync::Arc<crate::keys::SigningKey>) -> Result<Cosigner, NoteError> {
        let verifier = VerifierKey::new(name, Algorithm::CosignatureV1, key.public())?;
        Ok(Cosigner { verifier, key })
    }

    /// The matching verifier key (type 0x04).
    pub fn verifier(&self) -> &VerifierKey {
        &self.verifier
    }

    /// The cosignature line on `checkpoint_text` at `timestamp` (POSIX
    /// seconds; the caller reads the clock).
    ///
    /// # Errors
    ///
    /// [`NoteError::Text`] when the text is not a checkpoint or the
    /// timestamp is past 2^63 - 1.
    pub fn cosign(&self, checkpoint_text: &str, timestamp: u64) -> Result<NoteSignature, NoteError> {
        let msg = signed_message(timestamp, checkpoint_text).ok_or(NoteError::Text)?;
        let mut signature = Vec::with_capacity(72);
        signature.extend_from_slice(&timestamp.to_be_bytes());
        signature.extend_from_slice(&self.key.sign(&msg).to_bytes());
        Ok(NoteSignature { name: self.verifier.name().to_string(), key_id: self.verifier.key_id(), signature })
    }
}
