//! C2SP signed-note: text signed by one or more keys.
//!
//! A note is its text (ending in a newline), a blank line, and one or more
//! signature lines `— <key name> base64(key id ‖ signature)`. A key is
//! named by the pair (key name, 4-byte key id), where the key id is
//! `SHA-256(name ‖ 0x0A ‖ type ‖ public key)[:4]`; a verifier knows keys as
//! verifier-key strings `<name>+<hex key id>+base64(type ‖ public key)`.
//!
//! Two signature types are supported, each in its own key: Ed25519 note
//! signatures (type 0x01, [`Algorithm::Ed25519`]), with which a log signs
//! its checkpoints, and timestamped Ed25519 checkpoint cosignatures
//! (type 0x04, [`Algorithm::CosignatureV1`], see [`super::cosignature`]).
//!
//! Verification follows the spec: signatures by unknown keys are ignored;
//! a signature by a known key (name and id both match) that fails to verify
//! refuses the whole note; a note with no verified signature is refused.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

use sha2::{Digest, Sha256};

/// The em dash and space that open a signature line.
const SIG_PREFIX: &str = "\u{2014} ";

/// Most signatures a note may carry (the spec asks verifiers to accept at
/// least 16; this is the Go implementation's limit).
pub const MAX_SIGNATURES: usize = 100;

/// A signature type this code can verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// Ed25519 over the note text (0x01).
    Ed25519,
    /// Timestamped Ed25519 checkpoint cosignature, `cosignature/v1` (0x04).
    CosignatureV1,
}

impl Algorithm {
    /// The signature type byte.
    pub fn type_byte(self) -> u8 {
        match self {
            Algorithm::Ed25519 => 0x01,
            Algorithm::CosignatureV1 => 0x04,
        }
    }

    fn from_type_byte(b: u8) -> Option<Algorithm> {
        match b {
            0x01 => Some(Algorithm::Ed25519),
            0x04 => Some(Algorithm::CosignatureV1),
            _ => None,
        }
    }
}

/// Why a key name, verifier key or note was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NoteError {
    /// A key name that is empty or holds a space or `+`.
    #[error("key name {0:?} is empty or holds a space or '+'")]
    KeyName(String),
    /// A verifier key string that is not `name+hex+base64` of a known type.
    #[error("malformed verifier key: {0}")]
    VerifierKey(String),
    /// A verifier key whose id does not match its name and key.
    #[error("verifier key {0:?} has the wrong key id for its name and key")]
    KeyIdMismatch(String),
    /// Not valid UTF-8, or holds a control character other than newline.
    #[error("a note must be UTF-8 without control characters other than newline")]
    Characters,
    /// No blank line separating the text from its signatures, or the note
    /// does not end in a newline.
    #[error("a note is its text, a blank line and signature lines, ending in a newline")]
    Structure,
    /// A line after the blank line that is not a signature line.
    #[error("line {0:?} is not a signature line")]
    SignatureLine(String),
    /// A signature that is not valid base64 of at least 5 bytes.
    #[error("the signature by {0:?} is not base64 of a key id and a signature")]
    SignatureEncoding(String),
    /// More than [`MAX_SIGNATURES`] signatures.
    #[error("a note may carry at most {MAX_SIGNATURES} signatures")]
    TooManySignatures,
    /// A signature by a known key that does not verify.
    #[error("the signature by {name}+{key_id:08x} does not verify")]
    BadSignature {
        /// Key name.
        name: String,
        key_id: u32,
    },
    /// No signature by any of the given keys.
    #[error("the note has no signature by a known key")]
    NoKnownSignature,
    /// Two verifier keys with the same name and id.
    #[error("two verifier keys share the name and id {name}+{key_id:08x}")]
    AmbiguousKey {
        /// Key name.
        name: String,
        key_id: u32,
    },
    /// Text to sign that does not end in a newline or holds a control
    /// character.
    #[error("note text must end in a newline and hold no control characters other than newline")]
    Text,
}

/// Whether `name` may name a key: non-empty, no Unicode space, no `+`.
pub fn is_valid_key_name(name: &str) -> bool {
    !name.is_empty() && !name.chars().any(|c| c.is_whitespace() || c == '+')
}

/// `SHA-256(name ‖ 0x0A ‖ type ‖ public key)[:4]` as a big-endian u32.
pub fn key_id(name: &str, algorithm: Algorithm, public_key: &[u8; 32]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([0x0A, algorithm.type_byte()]);
    h.update(public_key);
    let d = h.finalize();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

/// A public key that verifies note signatures of one type under one name.
#[derive(Clone, PartialEq, Eq)]
pub struct VerifierKey {
    name: String,
    algorithm: Algorithm,
    key: ed25519_dalek::VerifyingKey,
    key_id: u32,
}

impl fmt::Debug for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_vkey())
    }
}

impl VerifierKey {
    /// The key `key` under `name` for `algorithm`.
    ///
    /// # Errors
    ///
    /// [`NoteError::KeyName`].
    pub fn new(name: &str, algorithm: Algorithm, key: ed25519_dalek::VerifyingKey) -> Result<VerifierKey, NoteError> {
        if !is_valid_key_name(name) {
            return Err(NoteError::KeyName(name.to_string()));
        }
        let key_id = key_id(name, algorithm, key.as_bytes());
        Ok(VerifierKey { name: name.to_string(), algorithm, key, key_id })
    }

    /// Parses a verifier key string `<name>+<hex key id>+<base64(type ‖ key)>`.
    ///
    /// # Errors
    ///
    /// [`NoteError::VerifierKey`], [`NoteError::KeyName`],
    /// [`NoteError::KeyIdMismatch`].
    pub fn parse(vkey: &str) -> Result<VerifierKey, NoteError> {
        let bad = |why: &str| NoteError::VerifierKey(format!("{vkey:?}: {why}"));
        // The key's base64 may itself hold '+'; the name may not.
        let mut parts = vkey.splitn(3, '+');
        let (Some(name), Some(id_hex), Some(key64)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad("expected name+keyid+key"));
        };
        if !is_valid_key_name(name) {
            return Err(NoteError::KeyName(name.to_string()));
        }
        if id_hex.len() != 8 || !id_hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            return Err(bad("the key id is not 8 lowercase hex digits"));
        }
        let id = u32::from_str_radix(id_hex, 16).map_err(|_| bad("the key id is not hex"))?;
        let raw = B64.decode(key64.as_bytes()).map_err(|_| bad("the key is not base64"))?;
        let (&type_byte, key) = raw.split_first().ok_or_else(|| bad("the key is empty"))?;
        let algorithm = Algorithm::from_type_byte(type_byte).ok_or_else(|| bad("unsupported signature type"))?;
        let key: [u8; 32] = key.try_into().map_err(|_| bad("an Ed25519 key is 32 bytes"))?;
        let key = ed25519_dalek::VerifyingKey::from_bytes(&key).map_err(|_| bad("not an Ed25519 public key"))?;
        let v = VerifierKey::new(name, algorithm, key)?;
        if v.key_id != id {
            return Err(NoteError::KeyIdMismatch(vkey.to_string()));
        }
        Ok(v)
    }

    /// The verifier key string.
    pub fn to_vkey(&self) -> String {
        let mut raw = Vec::with_capacity(33);
        raw.push(self.algorithm.type_byte());
        raw.extend_from_slice(self.key.as_bytes());
        format!("{}+{:08x}+{}", self.name, self.key_id, B64.encode(raw))
    }

    /// Key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// Signature type.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The Ed25519 public key.
    pub fn public_key(&self) -> &ed25519_dalek::VerifyingKey {
        &self.key
    }

    /// Whether `sig` (without its key id) is this key's signature on `text`.
    pub fn verifies(&self, text: &str, sig: &[u8]) -> bool {
        match self.algorithm {
            Algorithm::Ed25519 => {
                let Ok(sig) = ed25519_dalek::Signature::from_slice(sig) else { return false };
                self.key.verify_strict(text.as_bytes(), &sig).is_ok()
            }
            Algorithm::CosignatureV1 => super::cosignature::verify(&self.key, text, sig),
        }
    }
}

/// One signature line of a note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSignature {
    /// Key name.
    pub name: String,
    pub key_id: u32,
    /// The signature bytes after the key id.
    pub signature: Vec<u8>,
}

impl NoteSignature {
    /// The line, `— <name> <base64>` and a newline.
    pub fn to_line(&self) -> String {
        let mut raw = Vec::with_capacity(4 + self.signature.len());
        raw.extend_from_slice(&self.key_id.to_be_bytes());
        raw.extend_from_slice(&self.signature);
        format!("{SIG_PREFIX}{} {}\n", self.name, B64.encode(raw))
    }

    /// Parses one signature line (without its newline).
    ///
    /// # Errors
    ///
    /// [`NoteError::SignatureLine`], [`NoteError::KeyName`],
    /// [`NoteError::SignatureEncoding`].
    pub fn parse_line(line: &str) -> Result<NoteSignature, NoteError> {
        let rest = line.strip_prefix(SIG_PREFIX).ok_or_else(|| NoteError::SignatureLine(line.to_string()))?;
        let (name, sig64) = rest.split_once(' ').ok_or_else(|| NoteError::SignatureLine(line.to_string()))?;
        if sig64.contains(' ') {
            return Err(NoteError::SignatureLine(line.to_string()));
        }
        if !is_valid_key_name(name) {
            return Err(NoteError::KeyName(name.to_string()));
        }
        let raw = B64.decode(sig64.as_bytes()).map_err(|_| NoteError::SignatureEncoding(name.to_string()))?;
        if raw.len() < 5 {
            return Err(NoteError::SignatureEncoding(name.to_string()));
        }
        let (id, sig) = raw.split_at(4);
        Ok(NoteSignature {
            name: name.to_string(),
            key_id: u32::from_be_bytes([id[0], id[1], id[2], id[3]]),
            signature: sig.to_vec(),
        })
    }
}

/// A parsed (not yet verified) note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    text: String,
    signatures: Vec<NoteSignature>,
}

/// The signatures of a note that verified, by which key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// `(index into the note's signatures, the key that verified it)`.
    pub by: Vec<(usize, VerifierKey)>,
}

impl Note {
    /// A note of `text` with no signatures yet.
    ///
    /// # Errors
    ///
    /// [`NoteError::Text`] when the text does not end in a newline or holds
    /// a control character other than newline.
    pub fn new(text: &str) -> Result<Note, NoteError> {
        if !text.ends_with('\n') || has_control(text) {
            return Err(NoteError::Text);
        }
        Ok(Note { text: text.to_string(), signatures: Vec::new() })
    }

    /// Parses a signed note.
    ///
    /// # Errors
    ///
    /// [`NoteError::Characters`], [`NoteError::Structure`],
    /// [`NoteError::SignatureLine`], [`NoteError::KeyName`],
    /// [`NoteError::SignatureEncoding`], [`NoteError::TooManySignatures`].
    pub fn parse(bytes: &[u8]) -> Result<Note, NoteError> {
        let msg = std::str::from_utf8(bytes).map_err(|_| NoteError::Characters)?;
        if has_control(msg) {
            return Err(NoteError::Characters);
        }
        if !msg.ends_with('\n') {
            return Err(NoteError::Structure);
        }
        // The text is separated from the signatures by the last blank line.
        let split = msg.rfind("\n\n").ok_or(NoteError::Structure)?;
        let text = &msg[..=split];
        let sigs = &msg[split + 2..];
        if sigs.is_empty() {
            return Err(NoteError::Structure);
        }
        let lines: Vec<&str> = sigs[..sigs.len() - 1].split('\n').collect();
        if lines.len() > MAX_SIGNATURES {
            return Err(NoteError::TooManySignatures);
        }
        let signatures = lines.into_iter().map(NoteSignature::parse_line).collect::<Result<Vec<_>, _>>()?;
        Ok(Note { text: text.to_string(), signatures })
    }

    /// The text, including its final newline.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Every signature, verified or not.
    pub fn signatures(&self) -> &[NoteSignature] {
        &self.signatures
    }

    /// Adds a signature line (e.g. a cosignature a witness returned).
    ///
    /// # Errors
    ///
    /// [`NoteError::TooManySignatures`].
    pub fn push(&mut self, sig: NoteSignature) -> Result<(), NoteError> {
        if self.signatures.len() >= MAX_SIGNATURES {
            return Err(NoteError::TooManySignatures);
        }
        self.signatures.push(sig);
        Ok(())
    }

    /// Verifies the signatures by `keys`, ignoring the others.
    ///
    /// # Errors
    ///
    /// [`NoteError::AmbiguousKey`] when two keys share name and id,
    /// [`NoteError::BadSignature`] when a known key's signature fails,
    /// [`NoteError::NoKnownSignature`] when no key signed.
    pub fn verify(&self, keys: &[VerifierKey]) -> Result<Verified, NoteError> {
        let mut by = Vec::new();
        for (i, sig) in self.signatures.iter().enumerate() {
            let mut known = keys.iter().filter(|k| k.name == sig.name && k.key_id == sig.key_id);
            let Some(key) = known.next() else { continue };
            if known.next().is_some() {
                return Err(NoteError::AmbiguousKey { name: sig.name.clone(), key_id: sig.key_id });
            }
            if !key.verifies(&self.text, &sig.signature) {
                return Err(NoteError::BadSignature { name: sig.name.clone(), key_id: sig.key_id });
            }
            by.push((i, key.clone()));
        }
        if by.is_empty() {
            return Err(NoteError::NoKnownSignature);
        }
        Ok(Verified { by })
    }

    /// The whole note: text, blank line, signature lines.
    pub fn to_text(&self) -> String {
        let mut out = String::with_capacity(self.text.len() + 1 + 120 * self.signatures.len());
        out.push_str(&self.text);
        out.push('\n');
        for s in &self.signatures {
            out.push_str(&s.to_line());
        }
        out
    }
}

fn has_control(text: &str) -> bool {
    text.chars().any(|c| c < ' ' && c != '\n')
}

/// An Ed25519 (type 0x01) note signer: how a log signs its checkpoints.
pub struct Ed25519Signer {
    name: String,
    key: std::sync::Arc<crate::keys::SigningKey>,
    key_id: u32,
}

impl fmt::Debug for Ed25519Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Ed25519Signer({}+{:08x})", self.name, self.key_id)
    }
}

impl Ed25519Signer {
    /// Signs as `name` with `key`.
    ///
    /// # Errors
    ///
    /// [`NoteError::KeyName`].
    pub fn new(name: &str, key: std::sync::Arc<crate::keys::SigningKey>) -> Result<Ed25519Signer, NoteError> {
        if !is_valid_key_name(name) {
            return Err(NoteError::KeyName(name.to_string()));
        }
        let key_id = key_id(name, Algorithm::Ed25519, key.public().as_bytes());
        Ok(Ed25519Signer { name: name.to_string(), key, key_id })
    }

    /// The matching verifier key.
    pub fn verifier(&self) -> VerifierKey {
        VerifierKey {
            name: self.name.clone(),
            algorithm: Algorithm::Ed25519,
            key: self.key.public(),
            key_id: self.key_id,
        }
    }

    /// Signs the note's text and appends the signature line.
    ///
    /// # Errors
    ///
    /// [`NoteError::TooManySignatures`].
    pub fn sign(&self, note: &mut Note) -> Result<(), NoteError> {
        let sig = self.key.sign(note.text.as_bytes());
        note.push(NoteSignature { name: self.name.clone(), key_id: self.key_id, signature: sig.to_bytes().to_vec() })
    }
}
