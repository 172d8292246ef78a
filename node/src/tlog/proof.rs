//! C2SP tlog-proof: a self-contained, offline-verifiable proof that an entry
//! is in a log, with the (cosigned) checkpoint it is proven against.
//!
//! ```text
//! c2sp.org/tlog-proof@v1
//! extra <base64 of the entry>
//! index 73894
//! <inclusion proof, one base64 hash per line>
//!
//! <the checkpoint, verbatim, with its signatures and cosignatures>
//! ```
//!
//! Jaring puts the entry itself (the exact stored envelope bytes that are
//! the leaf) in the `extra` line, so the file alone lets anyone recompute
//! the leaf hash: the extra data is not trusted, the leaf hash binds it.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

use super::Hash;
use super::checkpoint::{self, CheckpointError, SignedCheckpoint};
use super::merkle::{self, ProofError};
use super::note::{Algorithm, NoteError, VerifierKey};

/// The first line of a tlog-proof.
pub const HEADER: &str = "c2sp.org/tlog-proof@v1";

/// Most inclusion proof hashes (a tree of at most 2^64 - 1 leaves).
pub const MAX_PROOF_HASHES: usize = 64;

/// A parsed tlog-proof (nothing in it verified yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlogProof {
    /// The `extra` data: for Jaring, the entry.
    pub extra: Option<Vec<u8>>,
    /// The entry's index in the log.
    pub index: u64,
    /// The inclusion proof, from the leaf's sibling up.
    pub proof: Vec<Hash>,
    /// The signed checkpoint, verbatim.
    pub checkpoint: String,
}

/// Why a tlog-proof was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TlogProofError {
    /// Not UTF-8.
    #[error("a tlog proof is UTF-8 text")]
    Encoding,
    /// The first line is not [`HEADER`].
    #[error("the first line is not {HEADER:?}")]
    Header,
    /// The `extra` line is not base64.
    #[error("the extra line is not base64")]
    Extra,
    /// No `index` line, or not a canonical decimal.
    #[error("no valid index line")]
    Index,
    /// A proof line that is not base64 of 32 bytes.
    #[error("proof line {0} is not base64 of a 32-byte hash")]
    ProofLine(usize),
    /// More than [`MAX_PROOF_HASHES`] proof lines.
    #[error("more than {MAX_PROOF_HASHES} proof hashes")]
    ProofLength,
    /// No blank line and checkpoint after the proof.
    #[error("no checkpoint after the proof")]
    MissingCheckpoint,
    /// No entry given and no `extra` line to take it from.
    #[error("the proof carries no entry (extra line) and none was given")]
    NoEntry,
    /// The checkpoint is not the log's or not signed by it.
    #[error("checkpoint: {0}")]
    Checkpoint(#[from] CheckpointError),
    /// A known witness's cosignature does not verify.
    #[error("cosignature: {0}")]
    Cosignature(NoteError),
    /// Fewer witnesses cosigned than the policy asks.
    #[error("{got} of the known witnesses cosigned, {needed} needed")]
    Quorum {
        /// Valid cosignatures by distinct known witnesses.
        got: usize,
        needed: usize,
    },
    /// The inclusion proof does not verify against the checkpoint.
    #[error("inclusion: {0}")]
    Inclusion(ProofError),
}

/// What a verified proof established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedProof {
    /// The checkpoint, verified to be signed by the log.
    pub checkpoint: SignedCheckpoint,
    /// The entry's index.
    pub index: u64,
    /// The leaf hash proven.
    pub leaf: Hash,
    /// Witnesses whose cosignature verified: `(name, timestamp)`.
    pub witnesses: Vec<(String, u64)>,
}

impl TlogProof {
    /// The file's text.
    pub fn to_text(&self) -> String {
        let mut t = format!("{HEADER}\n");
        if let Some(extra) = &self.extra {
            t.push_str(&format!("extra {}\n", B64.encode(extra)));
        }
        t.push_str(&format!("index {}\n", self.index));
        for h in &self.proof {
            t.push_str(&h.to_base64());
            t.push('\n');
        }
        t.push('\n');
        t.push_str(&self.checkpoint);
        t
    }

    /// Parses a tlog-proof file.
    ///
    /// # Errors
    ///
    /// [`TlogProofError::Encoding`], [`TlogProofError::Header`],
    /// [`TlogProofError::Extra`], [`TlogProofError::Index`],
    /// [`TlogProofError::ProofLine`], [`TlogProofError::ProofLength`],
    /// [`TlogProofError::MissingCheckpoint`].
    pub fn parse(bytes: &[u8]) -> Result<TlogProof, TlogProofError> {
        let text = std::str::from_utf8(bytes).map_err(|_| TlogProofError::Encoding)?;
        let (header, mut rest) = text.split_once('\n').ok_or(TlogProofError::Header)?;
        if header != HEADER {
            return Err(TlogProofError::Header);
        }
        let mut line = next_line(&mut rest).ok_or(TlogProofError::Index)?;
        let mut extra = None;
        if let Some(e) = line.strip_prefix("extra ") {
            extra = Some(B64.decode(e.as_bytes()).map_err(|_| TlogProofError::Extra)?);
            line = next_line(&mut rest).ok_or(TlogProofError::Index)?;
        }
        let index = line.strip_prefix("index ").and_then(super::parse_decimal).ok_or(TlogProofError::Index)?;
        let mut proof = Vec::new();
        loop {
            let line = next_line(&mut rest).ok_or(TlogProofError::MissingCheckpoint)?;
            if line.is_empty() {
                break;
            }
            if proof.len() == MAX_PROOF_HASHES {
                return Err(TlogProofError::ProofLength);
            }
            proof.push(Hash::from_base64(line).ok_or(TlogProofError::ProofLine(proof.len()))?);
        }
        if rest.is_empty() {
            return Err(TlogProofError::MissingCheckpoint);
        }
        Ok(TlogProof { extra, index, proof, checkpoint: rest.to_string() })
    }

    /// Verifies the proof (tlog-proof, "Verifying a tlog proof"):
    /// computes the leaf hash of `entry` (or of the `extra` data when
    /// `entry` is `None`), opens the checkpoint with the log's keys for
    /// `origin`, verifies the cosignatures of the known `witnesses` and
    /// requires `quorum` of them, and checks the inclusion proof.
    ///
    /// # Errors
    ///
    /// [`TlogProofError::NoEntry`], [`TlogProofError::Checkpoint`],
    /// [`TlogProofError::Cosignature`], [`TlogProofError::Quorum`],
    /// [`TlogProofError::Inclusion`].
    pub fn verify(
        &self,
        entry: Option<&[u8]>,
        origin: &str,
        log_keys: &[VerifierKey],
        witnesses: &[VerifierKey],
        quorum: usize,
    ) -> Result<VerifiedProof, TlogProofError> {
        // 1. The leaf hash.
        let entry = entry.or(self.extra.as_deref()).ok_or(TlogProofError::NoEntry)?;
        let leaf = merkle::leaf_hash(entry);
        // 2. The checkpoint: the expected origin, signed by the log.
        let checkpoint = checkpoint::open(self.checkpoint.as_bytes(), origin, log_keys)?;
        // 3. Cosignatures of known witnesses.
        let witnessed = cosigners(&checkpoint, witnesses).map_err(TlogProofError::Cosignature)?;
        if witnessed.len() < quorum {
            return Err(TlogProofError::Quorum { got: witnessed.len(), needed: quorum });
        }
        // 4. Inclusion.
        let cp = &checkpoint.checkpoint;
        merkle::verify_inclusion(&leaf, self.index, cp.size, &self.proof, &cp.root)
            .map_err(TlogProofError::Inclusion)?;
        Ok(VerifiedProof { checkpoint, index: self.index, leaf, witnesses: witnessed })
    }
}

/// The distinct known witnesses whose cosignature on `checkpoint` verifies,
/// with their timestamps.
///
/// # Errors
///
/// [`NoteError::BadSignature`] when a known witness's line fails, or
/// [`NoteError::AmbiguousKey`].
pub fn cosigners(checkpoint: &SignedCheckpoint, witnesses: &[VerifierKey]) -> Result<Vec<(String, u64)>, NoteError> {
    let witnesses: Vec<VerifierKey> =
        witnesses.iter().filter(|w| w.algorithm() == Algorithm::CosignatureV1).cloned().collect();
    let verified = match checkpoint.note.verify(&witnesses) {
        Ok(v) => v,
        Err(NoteError::NoKnownSignature) => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out: Vec<(String, u64)> = Vec::new();
    for (i, key) in verified.by {
        let ts =
            checkpoint.note.signatures().get(i).and_then(|s| super::cosignature::timestamp(&s.signature)).unwrap_or(0);
        if !out.iter().any(|(n, _)| n == key.name()) {
            out.push((key.name().to_string(), ts));
        }
    }
    Ok(out)
}

/// Takes the next `\n`-terminated line off `rest`.
fn next_line<'a>(rest: &mut &'a str) -> Option<&'a str> {
    let (line, tail) = rest.split_once('\n')?;
    *rest = tail;
    Some(line)
}
