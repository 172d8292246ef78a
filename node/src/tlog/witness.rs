//! C2SP tlog-witness: what a witness is asked (`add-checkpoint`), what it
//! answers, and how it decides.
//!
//! A witness keeps, per log origin, the latest checkpoint it cosigned, and
//! cosigns a new one only if a consistency proof shows the new tree extends
//! it. The request body is
//!
//! ```text
//! old <size of the checkpoint the client believes the witness holds>
//! <consistency proof, one base64 hash per line, at most 63>
//!
//! <the signed checkpoint>
//! ```
//!
//! and a 200 response is the witness's cosignature line(s). Every refusal
//! carries its HTTP status ([`Refusal::http_status`]); a 409 answers with
//! the size the witness holds ([`conflict_body`], content type
//! [`CONFLICT_CONTENT_TYPE`]).
//!
//! [`decide`] is the witness's rule, pure: the caller looks up the log's
//! keys and its stored latest checkpoint, calls it, and on success cosigns
//! and persists the new latest atomically with answering. A Jaring node
//! that *follows* a peer builds the proof itself from the peer's tiles:
//! [`judge_from_tiles`] tells a provable fork from a log that merely
//! served bad tiles.

use std::cell::RefCell;
use std::collections::BTreeSet;

use super::Hash;
use super::checkpoint::{self, Checkpoint, CheckpointError, SignedCheckpoint};
use super::merkle::{self, EMPTY_ROOT, NodeReader, ProofError, ProveError};
use super::note::{NoteError, NoteSignature, VerifierKey};
use super::tile::{FULL_TILE_BYTES, TILE_WIDTH, TileId, TileKind};
use super::tree::{TileNodes, TileReader};

/// Content type of a 409 Conflict body.
pub const CONFLICT_CONTENT_TYPE: &str = "text/x.tlog.size";

/// Most consistency proof lines a request may carry.
pub const MAX_PROOF_LINES: usize = 63;

/// An `add-checkpoint` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddCheckpoint {
    /// Size of the latest checkpoint the client believes the witness
    /// cosigned (0 if none).
    pub old_size: u64,
    /// Consistency proof from `old_size` to the checkpoint's size.
    pub proof: Vec<Hash>,
    /// The signed checkpoint, verbatim.
    pub checkpoint: String,
}

/// Why a witness refuses; each maps to the status the spec requires.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// The body is not an add-checkpoint request (400).
    #[error("malformed add-checkpoint request: {0}")]
    Malformed(String),
    /// The witness does not know the origin (404).
    #[error("unknown log origin {0:?}")]
    UnknownOrigin(String),
    /// Not signed by the log's key, or a bad signature by it (403).
    #[error("checkpoint signature: {0}")]
    Signature(CheckpointError),
    /// The old size is above the checkpoint's size (400).
    #[error("old size {old} is above the checkpoint size {size}")]
    OldSizeAboveCheckpoint {
        /// Old size sent.
        old: u64,
        /// Checkpoint size.
        size: u64,
    },
    /// The old size is not the size the witness holds (409).
    #[error("the witness holds size {latest}, not {old}")]
    Conflict {
        /// Old size sent.
        old: u64,
        /// Size of the latest cosigned checkpoint.
        latest: u64,
    },
    /// A size-0 checkpoint without the empty tree's root (422).
    #[error("a checkpoint of size 0 must have the empty tree's root")]
    EmptyTreeRoot,
    /// A proof sent with old size 0 (422).
    #[error("no proof is needed, or allowed, from size 0")]
    ProofFromEmpty,
    /// The consistency proof does not verify, or equal sizes with different
    /// roots (422): with the log's signature verified, evidence of a fork
    /// or of a bad proof, kept in `checkpoint`.
    #[error("not consistent with the cosigned checkpoint: {reason}")]
    Inconsistent {
        /// Why.
        reason: ProofError,
        /// The checkpoint refused (signed by the log).
        checkpoint: Box<SignedCheckpoint>,
    },
}

impl Refusal {
    /// The HTTP status tlog-witness requires for this refusal.
    pub fn http_status(&self) -> u16 {
        match self {
            Refusal::Malformed(_) | Refusal::OldSizeAboveCheckpoint { .. } => 400,
            Refusal::UnknownOrigin(_) => 404,
            Refusal::Signature(_) => 403,
            Refusal::Conflict { .. } => 409,
            Refusal::EmptyTreeRoot | Refusal::ProofFromEmpty | Refusal::Inconsistent { .. } => 422,
        }
    }
}

impl AddCheckpoint {
    /// The request body.
    pub fn to_body(&self) -> String {
        let mut b = format!("old {}\n", self.old_size);
        for h in &self.proof {
            b.push_str(&h.to_base64());
            b.push('\n');
        }
        b.push('\n');
        b.push_str(&self.checkpoint);
        b
    }

    /// Parses a request body.
    ///
    /// # Errors
    ///
    /// [`Refusal::Malformed`].
    pub fn parse(body: &[u8]) -> Result<AddCheckpoint, Refusal> {
        let bad = |why: &str| Refusal::Malformed(why.to_string());
        let text = std::str::from_utf8(body).map_err(|_| bad("not UTF-8"))?;
        let (first, mut rest) = text.split_once('\n').ok_or_else(|| bad("no old size line"))?;
        let old_size = first
            .strip_prefix("old ")
            .and_then(super::parse_decimal)
            .ok_or_else(|| bad("the first line is not `old <size>`"))?;
        let mut proof = Vec::new();
        loop {
            let (line, tail) = rest.split_once('\n').ok_or_else(|| bad("no blank line before the checkpoint"))?;
            rest = tail;
            if line.is_empty() {
                break;
            }
            if proof.len() == MAX_PROOF_LINES {
                return Err(bad("more than 63 proof lines"));
            }
            proof.push(Hash::from_base64(line).ok_or_else(|| bad("a proof line is not base64 of 32 bytes"))?);
        }
        if rest.is_empty() {
            return Err(bad("no checkpoint"));
        }
        Ok(AddCheckpoint { old_size, proof, checkpoint: rest.to_string() })
    }

    /// The origin line of the checkpoint, to look the log up by.
    pub fn origin(&self) -> Option<&str> {
        checkpoint::peek_origin(self.checkpoint.as_bytes())
    }
}

/// The witness's decision on `request`, per tlog-witness `add-checkpoint`.
///
/// `log_keys` are the keys the witness trusts for the checkpoint's origin
/// (`None`: unknown origin); `latest` is the latest checkpoint it cosigned
/// for that origin (size and root; `None` if it never cosigned one).
/// On success, the caller cosigns the returned checkpoint and records it
/// as the new latest in the same atomic step (or two requests could roll
/// the witness back).
///
/// # Errors
///
/// A [`Refusal`] with its HTTP status.
pub fn decide(
    request: &AddCheckpoint,
    log_keys: Option<&[VerifierKey]>,
    latest: Option<(u64, Hash)>,
) -> Result<SignedCheckpoint, Refusal> {
    let origin = request.origin().ok_or_else(|| Refusal::Malformed("no origin line".into()))?;
    let Some(keys) = log_keys else { return Err(Refusal::UnknownOrigin(origin.to_string())) };
    let signed = match checkpoint::open(request.checkpoint.as_bytes(), origin, keys) {
        Ok(s) => s,
        Err(e @ CheckpointError::Note(NoteError::NoKnownSignature | NoteError::BadSignature { .. })) => {
            return Err(Refusal::Signature(e));
        }
        Err(e) => return Err(Refusal::Malformed(e.to_string())),
    };
    let cp = &signed.checkpoint;
    if request.old_size > cp.size {
        return Err(Refusal::OldSizeAboveCheckpoint { old: request.old_size, size: cp.size });
    }
    let (latest_size, latest_root) = latest.unwrap_or((0, EMPTY_ROOT));
    if request.old_size != latest_size {
        return Err(Refusal::Conflict { old: request.old_size, latest: latest_size });
    }
    if cp.size == 0 && cp.root != EMPTY_ROOT {
        return Err(Refusal::EmptyTreeRoot);
    }
    if request.old_size == 0 {
        if !request.proof.is_empty() {
            return Err(Refusal::ProofFromEmpty);
        }
        return Ok(signed);
    }
    if let Err(reason) = merkle::verify_consistency(latest_size, cp.size, &latest_root, &cp.root, &request.proof) {
        return Err(Refusal::Inconsistent { reason, checkpoint: Box::new(signed) });
    }
    Ok(signed)
}

/// The 409 body: the size the witness holds, and a newline.
pub fn conflict_body(latest_size: u64) -> String {
    format!("{latest_size}\n")
}

/// Parses a 409 body.
pub fn parse_conflict(body: &[u8]) -> Option<u64> {
    std::str::from_utf8(body).ok()?.strip_suffix('\n').and_then(super::parse_decimal)
}

/// A 200 body: the cosignature lines.
pub fn cosignatures_body(sigs: &[NoteSignature]) -> String {
    sigs.iter().map(NoteSignature::to_line).collect()
}

/// Parses a 200 body into signature lines (to add to the checkpoint after
/// verifying them with the witness's key).
///
/// # Errors
///
/// [`NoteError::SignatureLine`] and the other line errors; an empty body is
/// [`NoteError::Structure`].
pub fn parse_cosignatures(body: &[u8]) -> Result<Vec<NoteSignature>, NoteError> {
    let text = std::str::from_utf8(body).map_err(|_| NoteError::Characters)?;
    let lines = text.strip_suffix('\n').ok_or(NoteError::Structure)?;
    lines.split('\n').map(NoteSignature::parse_line).collect()
}

/// What a follower concludes about a peer's new checkpoint, from the
/// peer's tiles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Judgement {
    /// The new tree extends the old: cosign. The proof built from the tiles
    /// is kept (it is what add-checkpoint would carry).
    Consistent {
        /// Consistency proof from the old size to the new.
        proof: Vec<Hash>,
    },
    /// The log signed two trees that cannot both be true: a smaller
    /// checkpoint after a larger one (rollback), two roots for one size, or
    /// tiles that match the new root but give another root at the old
    /// size. With both signed checkpoints, this is proof of a fork.
    Fork(ForkKind),
    /// The tiles served do not match the new checkpoint (or are missing):
    /// refuse, but this alone proves no fork.
    BadTiles(String),
}

/// How a log contradicted itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForkKind {
    /// The new checkpoint is smaller than the one cosigned before.
    Rollback {
        /// Size cosigned before.
        old: u64,
        /// Size now.
        new: u64,
    },
    /// Two checkpoints of the same size with different roots.
    SameSizeDifferentRoot,
    /// The tiles that give the new root give, at the old size, another root
    /// than the one the log signed before.
    OldRootRewritten {
        /// The root the tiles give at the old size.
        recomputed: Hash,
    },
}

/// Judges `new` against `old` (the peer's checkpoint this node last
/// cosigned; both already verified as the peer's), reading hashes from
/// the peer's tiles.
pub fn judge_from_tiles<R: NodeReader>(old: &Checkpoint, new: &Checkpoint, tiles: &R) -> Judgement
where
    R::Error: std::fmt::Display,
{
    if new.size < old.size {
        return Judgement::Fork(ForkKind::Rollback { old: old.size, new: new.size });
    }
    if new.size == old.size {
        return if new.root == old.root {
            Judgement::Consistent { proof: Vec::new() }
        } else {
            Judgement::Fork(ForkKind::SameSizeDifferentRoot)
        };
    }
    // The tiles must reproduce the new root before anything else they say
    // is believed.
    match merkle::root(tiles, new.size) {
        Ok(r) if r == new.root => {}
        Ok(_) => return Judgement::BadTiles("the tiles do not give the new checkpoint's root".into()),
        Err(e) => return Judgement::BadTiles(e.to_string()),
    }
    if old.size == 0 {
        return Judgement::Consistent { proof: Vec::new() };
    }
    let proof = match merkle::consistency_proof(tiles, old.size, new.size) {
        Ok(p) => p,
        Err(ProveError::Read(e)) => return Judgement::BadTiles(e.to_string()),
        Err(e) => return Judgement::BadTiles(e.to_string()),
    };
    match merkle::verify_consistency(old.size, new.size, &old.root, &new.root, &proof) {
        Ok(()) => Judgement::Consistent { proof },
        Err(_) => match merkle::root(tiles, old.size) {
            Ok(recomputed) if recomputed != old.root => Judgement::Fork(ForkKind::OldRootRewritten { recomputed }),
            Ok(_) => Judgement::BadTiles("the consistency proof from the tiles does not verify".into()),
            Err(e) => Judgement::BadTiles(e.to_string()),
        },
    }
}

/// The hash tiles of a tree of `new` leaves that [`judge_from_tiles`]
/// reads to judge a checkpoint of `new` leaves against one of `old` leaves
/// (`old <= new`): the roots at both sizes and the consistency proof
/// between them. They depend on the two sizes alone, so a follower fetches
/// exactly these, in one request, before judging. Partial tiles carry the
/// width the tree of `new` leaves gives them.
pub fn tiles_for_judging(old: u64, new: u64) -> Vec<TileId> {
    /// Answers every read with a full tile of zeroes, noting which it was.
    struct Recorder(RefCell<BTreeSet<(u8, u64)>>);
    impl TileReader for Recorder {
        type Error = std::convert::Infallible;
        fn read_tile(&self, level: u8, index: u64) -> Result<Option<Vec<u8>>, Self::Error> {
            self.0.borrow_mut().insert((level, index));
            Ok(Some(vec![0; FULL_TILE_BYTES]))
        }
    }
    let recorder = Recorder(RefCell::new(BTreeSet::new()));
    {
        let nodes = TileNodes::new(&recorder);
        let _ = merkle::root(&nodes, new);
        let _ = merkle::root(&nodes, old.min(new));
        if 0 < old && old < new {
            let _ = merkle::consistency_proof(&nodes, old, new);
        }
    }
    let read = recorder.0.into_inner();
    read.into_iter()
        .map(|(level, index)| match TileId::partial_at(level, new) {
            Some(p) if p.index == index => p,
            _ => TileId { kind: TileKind::Hashes(level), index, width: TILE_WIDTH as u16 },
        })
        .collect()
}
