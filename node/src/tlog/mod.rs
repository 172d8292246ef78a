//! Transparency log: this node's log as an RFC 6962 / RFC 9162 Merkle tree,
//! with the C2SP formats that let anyone check it.
//!
//! Pure code: no I/O, no clock, no store. The ledger feeds it leaf hashes
//! and persists what it returns; the HTTP and federation edges serve and
//! fetch the texts it builds and parses.
//!
//! # Layout
//!
//! - [`merkle`]: RFC 9162 §2.1 hashing (leaf `SHA-256(0x00 ‖ entry)`, node
//!   `SHA-256(0x01 ‖ left ‖ right)`), tree heads of any size, inclusion and
//!   consistency proofs (built from stored hashes, verified per RFC 9162
//!   §2.1.3.2 and §2.1.4.2).
//! - [`tree`]: the append-only tree state of a group-committing single
//!   writer: a batch of leaf hashes in, the new root and exactly the tiles
//!   to persist out; reading proofs back from stored tiles; rebuilding and
//!   checking the tiles from the leaves at start.
//! - [`tile`]: C2SP tlog-tiles paths (`tile/<L>/<N>[.p/<W>]`,
//!   `tile/entries/<N>[.p/<W>]`) and entry bundles.
//! - [`note`]: C2SP signed-note: parsing, signing, Ed25519 (type 0x01)
//!   keys, key ids and verifier keys (`name+hex+base64`).
//! - [`checkpoint`]: C2SP tlog-checkpoint: the signed tree head.
//! - [`cosignature`]: C2SP tlog-cosignature, Ed25519 `cosignature/v1`
//!   (type 0x04, timestamped).
//! - [`witness`]: C2SP tlog-witness `add-checkpoint` request and response
//!   bodies, and the witness's decision to cosign or refuse.
//! - [`proof`]: C2SP tlog-proof, the offline-verifiable inclusion proof
//!   file.
//!
//! # Names
//!
//! A node's log is identified by its origin, [`origin`]: `<tls_name>/log`,
//! the schema-less URL prefix under which the node serves it (tlog-tiles
//! asks for exactly that). The node signs checkpoints with its ed25519
//! signing keys under that same name; when it cosigns a peer's checkpoint
//! as a witness it signs as [`cosigner_name`], `<tls_name>/witness`.
//! docs/transparency.md explains why not `jaring.<node_id>`.

pub mod checkpoint;
pub mod cosignature;
pub mod merkle;
pub mod note;
pub mod proof;
pub mod tile;
pub mod tree;
pub mod witness;

#[cfg(test)]
mod tests;

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

/// A SHA-256 Merkle tree hash (a leaf, an interior node or a root).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Hash(pub [u8; 32]);

impl Hash {
    /// Size of a hash in bytes.
    pub const LEN: usize = 32;

    /// The hash in `bytes`, which must be exactly 32 long.
    pub fn from_slice(bytes: &[u8]) -> Option<Hash> {
        bytes.try_into().ok().map(Hash)
    }

    /// Parses the standard (RFC 4648 §4, padded, canonical) base64 of a hash.
    pub fn from_base64(text: &str) -> Option<Hash> {
        let bytes = B64.decode(text.as_bytes()).ok()?;
        Hash::from_slice(&bytes)
    }

    /// The standard base64 of the hash, as checkpoints and proofs write it.
    pub fn to_base64(&self) -> String {
        B64.encode(self.0)
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", hex::encode(self.0))
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_base64())
    }
}

/// The checkpoint origin (and log key name) of the node whose TLS name is
/// `tls_name`: `<tls_name>/log`, e.g. `id.jaring.local/log`.
pub fn origin(tls_name: &str) -> String {
    format!("{tls_name}/log")
}

/// The name a node cosigns peers' checkpoints under as a witness:
/// `<tls_name>/witness`.
pub fn cosigner_name(tls_name: &str) -> String {
    format!("{tls_name}/witness")
}

/// Parses a decimal tree size or index the way every C2SP format writes
/// it: ASCII digits, no sign, no leading zeroes unless the value is `0`.
pub(crate) fn parse_decimal(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) || (text.len() > 1 && text.starts_with('0')) {
        return None;
    }
    text.parse().ok()
}

/// How a node signs its checkpoints: its signing key under [`origin`].
///
/// # Errors
///
/// [`note::NoteError::KeyName`] when the TLS name holds a space or `+`.
pub fn log_signer(
    tls_name: &str,
    key: std::sync::Arc<crate::keys::SigningKey>,
) -> Result<note::Ed25519Signer, note::NoteError> {
    note::Ed25519Signer::new(&origin(tls_name), key)
}

/// How a node cosigns its peers' checkpoints: its signing key under
/// [`cosigner_name`], as a `cosignature/v1` key (type 0x04, so another key
/// id than its note key).
///
/// # Errors
///
/// [`note::NoteError::KeyName`].
pub fn witness_cosigner(
    tls_name: &str,
    key: std::sync::Arc<crate::keys::SigningKey>,
) -> Result<cosignature::Cosigner, note::NoteError> {
    cosignature::Cosigner::new(&cosigner_name(tls_name), key)
}

/// The key that verifies checkpoints of the node named `tls_name` signed
/// with `key` (one of the signing keys on its identity card).
///
/// # Errors
///
/// [`note::NoteError::KeyName`].
pub fn log_verifier(tls_name: &str, key: ed25519_dalek::VerifyingKey) -> Result<note::VerifierKey, note::NoteError> {
    note::VerifierKey::new(&origin(tls_name), note::Algorithm::Ed25519, key)
}

/// The key that verifies the node's cosignatures as a witness.
///
/// # Errors
///
/// [`note::NoteError::KeyName`].
pub fn witness_verifier(
    tls_name: &str,
    key: ed25519_dalek::VerifyingKey,
) -> Result<note::VerifierKey, note::NoteError> {
    note::VerifierKey::new(&cosigner_name(tls_name), note::Algorithm::CosignatureV1, key)
}
