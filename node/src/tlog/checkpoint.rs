//! C2SP tlog-checkpoint: a log's signed tree head.
//!
//! The note text is the origin line, the tree size in decimal, the root
//! hash in base64, and optional extension lines:
//!
//! ```text
//! id.jaring.local/log
//! 20852163
//! CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=
//!
//! — id.jaring.local/log Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe...
//! ```
//!
//! The log signs under its origin as key name. [`open`] checks the
//! signature by the log's keys *and* that the origin is the one expected,
//! then parses the text; nothing of an unverified checkpoint is used.

use super::Hash;
use super::note::{Ed25519Signer, Note, NoteError, Verified, VerifierKey};

/// A tree head, as a checkpoint's text says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's identity.
    pub origin: String,
    /// Number of leaves.
    pub size: u64,
    /// RFC 6962 root hash at that size.
    pub root: Hash,
    /// Extension lines (opaque; not written by Jaring).
    pub extensions: Vec<String>,
}

/// Why a checkpoint was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointError {
    /// The signed note itself is malformed or not signed by the log.
    #[error(transparent)]
    Note(#[from] NoteError),
    /// Fewer than three lines, or not ending in a newline.
    #[error("a checkpoint is an origin, a size and a root hash, one per line")]
    Lines,
    /// An empty origin line.
    #[error("the origin line is empty")]
    EmptyOrigin,
    /// Another log's checkpoint.
    #[error("checkpoint of {found:?}, expected {expected:?}")]
    Origin {
        /// The origin expected.
        expected: String,
        /// The origin in the checkpoint.
        found: String,
    },
    /// A size that is not a canonical decimal u64.
    #[error("tree size {0:?} is not a decimal number without leading zeroes")]
    Size(String),
    /// A root that is not base64 of 32 bytes.
    #[error("root hash {0:?} is not base64 of 32 bytes")]
    Root(String),
    /// An empty extension line.
    #[error("extension lines must not be empty")]
    EmptyExtension,
}

impl Checkpoint {
    /// The note text: origin, size, root, extensions, each ending in a newline.
    pub fn to_text(&self) -> String {
        let mut t = format!("{}\n{}\n{}\n", self.origin, self.size, self.root.to_base64());
        for e in &self.extensions {
            t.push_str(e);
            t.push('\n');
        }
        t
    }

    /// Parses a checkpoint's note text.
    ///
    /// # Errors
    ///
    /// [`CheckpointError::Lines`], [`CheckpointError::EmptyOrigin`],
    /// [`CheckpointError::Size`], [`CheckpointError::Root`],
    /// [`CheckpointError::EmptyExtension`].
    pub fn parse(text: &str) -> Result<Checkpoint, CheckpointError> {
        let body = text.strip_suffix('\n').ok_or(CheckpointError::Lines)?;
        let mut lines = body.split('\n');
        let (Some(origin), Some(size), Some(root)) = (lines.next(), lines.next(), lines.next()) else {
            return Err(CheckpointError::Lines);
        };
        if origin.is_empty() {
            return Err(CheckpointError::EmptyOrigin);
        }
        let size = super::parse_decimal(size).ok_or_else(|| CheckpointError::Size(size.to_string()))?;
        let root = Hash::from_base64(root).ok_or_else(|| CheckpointError::Root(root.to_string()))?;
        let extensions: Vec<String> = lines.map(str::to_string).collect();
        if extensions.iter().any(String::is_empty) {
            return Err(CheckpointError::EmptyExtension);
        }
        Ok(Checkpoint { origin: origin.to_string(), size, root, extensions })
    }

    /// Signs the checkpoint as a note with `signer` (whose name should be
    /// the origin).
    ///
    /// # Errors
    ///
    /// [`CheckpointError::Note`] when the text holds a control character.
    pub fn sign(&self, signer: &Ed25519Signer) -> Result<SignedCheckpoint, CheckpointError> {
        let mut note = Note::new(&self.to_text())?;
        signer.sign(&mut note)?;
        Ok(SignedCheckpoint { checkpoint: self.clone(), note })
    }
}

/// A checkpoint and the note that carries it (with every signature line,
/// the log's and any cosignatures).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCheckpoint {
    /// The tree head.
    pub checkpoint: Checkpoint,
    /// The signed note.
    pub note: Note,
}

impl SignedCheckpoint {
    /// The note as served at `/log/checkpoint`.
    pub fn to_text(&self) -> String {
        self.note.to_text()
    }

    /// Verifies the signatures of `keys` on this checkpoint (e.g. known
    /// witnesses' cosignatures).
    ///
    /// # Errors
    ///
    /// As [`Note::verify`].
    pub fn verify(&self, keys: &[VerifierKey]) -> Result<Verified, NoteError> {
        self.note.verify(keys)
    }
}

/// Opens a signed checkpoint of the log `origin`: verifies it is signed by
/// one of `log_keys`, then parses it and checks its origin.
///
/// # Errors
///
/// [`CheckpointError::Note`] (malformed, unsigned, a bad signature by a log
/// key), [`CheckpointError::Origin`], or a malformed text.
pub fn open(bytes: &[u8], origin: &str, log_keys: &[VerifierKey]) -> Result<SignedCheckpoint, CheckpointError> {
    let note = Note::parse(bytes)?;
    note.verify(log_keys)?;
    let checkpoint = Checkpoint::parse(note.text())?;
    if checkpoint.origin != origin {
        return Err(CheckpointError::Origin { expected: origin.to_string(), found: checkpoint.origin });
    }
    Ok(SignedCheckpoint { checkpoint, note })
}

/// Reads back a signed checkpoint this node wrote itself (from its own
/// store), without verifying its signatures: nothing from outside is read
/// this way.
///
/// # Errors
///
/// [`CheckpointError::Note`] or a malformed text.
pub fn parse_own(bytes: &[u8]) -> Result<SignedCheckpoint, CheckpointError> {
    let note = Note::parse(bytes)?;
    let checkpoint = Checkpoint::parse(note.text())?;
    Ok(SignedCheckpoint { checkpoint, note })
}

/// The origin line of a checkpoint note, read before verifying it, to
/// pick the keys to verify it with (a witness serves many logs).
pub fn peek_origin(bytes: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(bytes).ok()?;
    text.split_once('\n').map(|(o, _)| o).filter(|o| !o.is_empty())
}
