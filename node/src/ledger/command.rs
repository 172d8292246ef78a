//! What callers hand the writer, and what they get back.

use std::sync::Arc;

use tokio::sync::oneshot;

use crate::audit::AuditDraft;
use crate::envelope::VerifiedEnvelope;
use crate::keys::SigningKey;
use crate::policy::Disposition;
use crate::store::records::{Decision, QuarantineRecord};
use crate::store::{Batch, StoreError};
use crate::submission::Submission;

/// What to publish.
#[derive(Debug, Clone)]
pub enum Publish {
    /// A new indicator or a new version of one.
    Upsert(Submission),
    /// A signed tombstone for one of this node's indicators.
    Revoke {
        /// Indicator id.
        id: String,
    },
    /// A key event (rotation or revocation of this node's keys).
    Key(crate::envelope::KeyEvent),
    /// A feedback event about an indicator value, checked by the caller.
    Feedback(crate::feedback::Feedback),
}

/// A published or stored envelope and where it sits.
#[derive(Debug, Clone)]
pub struct Stored {
    /// Position in the local log.
    pub local_seq: u64,
    /// The envelope.
    pub envelope: VerifiedEnvelope,
}

/// Why a publish was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PublishError {
    /// No indicator of this node has this id (a peer's indicators are
    /// filed by value, not by id: only their origin revokes them).
    #[error("no indicator of this node has id {0}; a node revokes only its own indicators")]
    NotFound(String),
    /// The indicator belongs to another origin.
    #[error("indicator {id} belongs to {origin}; only its origin can revoke it")]
    NotOwn {
        id: String,
        /// Its origin.
        origin: String,
    },
    /// Already revoked.
    #[error("indicator {0} is already revoked")]
    AlreadyRevoked(String),
    /// The signed envelope would not fit a transparency-log entry.
    #[error(
        "the signed envelope would be {len} bytes; a log entry holds at most {max} (shorten the description or source references)"
    )]
    TooLarge {
        /// Its size, signed.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The store failed; nothing was stored.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// An upper bound of the stored size of `env` once signed (an ed25519
/// signature), as [`crate::wire::encode_envelope`] writes it: the three
/// fields with their tags and length prefixes.
pub(super) fn stored_len(env: &crate::envelope::SignedEnvelope) -> usize {
    env.body.len() + env.signature.len().max(64) + env.key_id.len() + 16
}

/// An envelope's exact stored bytes ([`crate::wire::encode_envelope`]) and,
/// when the node keeps a transparency-log tree, their leaf hash: work done
/// on the verification threads so that the ledger thread only stores them.
#[derive(Debug, Clone)]
pub struct StoredBytes {
    /// The encoded envelope, as the log keeps it.
    pub bytes: Vec<u8>,
    /// `leaf_hash(bytes)`, when wanted.
    pub leaf: Option<crate::tlog::Hash>,
}

impl StoredBytes {
    /// Encodes `env`, and hashes the bytes as a tree leaf when `leaf`.
    pub fn of(env: &crate::envelope::SignedEnvelope, leaf: bool) -> StoredBytes {
        let bytes = crate::wire::encode_envelope(env);
        let leaf = leaf.then(|| crate::tlog::merkle::leaf_hash(&bytes));
        StoredBytes { bytes, leaf }
    }
}

/// Envelopes from one peer, already verified.
#[derive(Debug, Default)]
pub struct IngestBatch {
    /// The peer they came from.
    pub peer: String,
    /// Envelopes, how to keep them, and their stored bytes when already
    /// encoded (else the ledger encodes them).
    pub items: Vec<(VerifiedEnvelope, Disposition, Option<StoredBytes>)>,
    /// Refusals found before the ledger (signatures, decoding), to audit.
    pub refused: Vec<AuditDraft>,
    /// The peer's log position to record once these are durable.
    pub cursor: Option<u64>,
    /// The peer's cursor these continue from: when set, the batch stores
    /// nothing (and fails with [`StoreError::CursorMoved`]) unless the
    /// stored cursor is this when the writer comes to it.
    pub after: Option<u64>,
}

/// What an ingest did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct IngestReport {
    /// Appended to the log.
    pub applied: u64,
    /// Already held.
    pub duplicates: u64,
    /// Appended but held for review.
    pub quarantined: u64,
    /// Refused here (fork, chain break, stale version, ...), with reasons.
    pub refused: Vec<(String, u64, &'static str)>,
}

/// Why a review decision failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecideError {
    /// Nothing held at that position.
    #[error("nothing is held for review at log position {0}")]
    NotFound(u64),
    /// Already decided.
    #[error("log position {0} was already {1}")]
    AlreadyDecided(u64, Decision),
    /// A held key event that can no longer apply (its key is another
    /// node's now).
    #[error("the key event cannot apply: {0}")]
    BadKeyEvent(String),
    /// Store failure.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Commands for the writer.
#[derive(Debug)]
pub(super) enum Command {
    /// Publish this node's own entries.
    Publish { items: Vec<Publish>, audit: Vec<AuditDraft>, reply: oneshot::Sender<Vec<Result<Stored, PublishError>>> },
    /// Store verified envelopes from a peer.
    Ingest { batch: IngestBatch, reply: oneshot::Sender<Result<IngestReport, StoreError>> },
    /// Raw admin writes with their audit entries.
    Apply { batch: Batch, audit: Vec<AuditDraft>, reply: oneshot::Sender<Result<(), StoreError>> },
    /// A review decision on the entry at a log position.
    Decide {
        local_seq: u64,
        accept: bool,
        note: String,
        actor: String,
        reply: oneshot::Sender<Result<QuarantineRecord, DecideError>>,
    },
    /// Switches the key that signs this node's new entries.
    SetSigningKey { key: Arc<SigningKey>, reply: oneshot::Sender<()> },
}

impl Command {
    pub(super) fn weight(&self) -> usize {
        match self {
            Command::Publish { items, .. } => items.len().max(1),
            Command::Ingest { batch, .. } => batch.items.len().max(1),
            Command::Apply { batch, .. } => batch.len().max(1),
            _ => 1,
        }
    }
}

/// Settings of the writer.
#[derive(Debug, Clone)]
pub struct LedgerConfig {
    /// This node's id.
    pub origin: String,
    /// Most writes per commit.
    pub commit_batch: usize,
    /// Largest accepted jump above an origin's head.
    pub max_seq_gap: u64,
    /// Keep the log's transparency-log tree in every commit (`[log] enabled`).
    pub tlog: bool,
    /// Build the next commit while the engine commits one: for a store
    /// shared through a database (PostgreSQL), whose commit is a round trip
    /// and the server's work. Off for an embedded engine, whose commit is
    /// short (see `writer`).
    pub pipeline: bool,
}
