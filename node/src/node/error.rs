//! How a node operation fails, with typed fields: the edges map these to
//! gRPC statuses (`crate::wire::status`) and HTTP problems
//! (`crate::http::problem`) in one place each.

use std::path::PathBuf;

use crate::ledger::{DecideError, PublishError};
use crate::model::UnixMillis;
use crate::store::StoreError;
use crate::store::records::Decision;
use crate::submission::InputError;

/// A failure of a node operation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NodeError {
    /// Bad input from the caller.
    #[error(transparent)]
    Input(#[from] InputError),
    /// Something named does not exist.
    #[error(transparent)]
    NotFound(#[from] NotFound),
    /// The request conflicts with the current state.
    #[error(transparent)]
    Conflict(#[from] Conflict),
    /// Not allowed.
    #[error(transparent)]
    Forbidden(#[from] Forbidden),
    /// Storage failed; nothing was changed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What was not found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NotFound {
    /// No peer with this node id.
    #[error("no peer {0}")]
    Peer(String),
    /// No indicator of this node has the id.
    #[error("no indicator of this node has id {0}; a node revokes only its own indicators")]
    OwnIndicator(String),
    /// No indicator for the value is held (feedback responds to one).
    #[error("no indicator for {0:?} is held here; feedback responds to a known indicator")]
    HeldValue(String),
    /// Not one of this node's signing keys.
    #[error("{0} is not one of this node's signing keys (see `jaring key list`); a peer's key is revoked by its owner")]
    OwnKey(String),
    /// Nothing is held for review at this log position.
    #[error("nothing is held for review at log position {0}")]
    ReviewItem(u64),
    /// An allowlist does not exist.
    #[error("no allowlist {0:?}")]
    Allowlist(String),
    /// A value is not on an allowlist.
    #[error("{value:?} is not on allowlist {list:?}")]
    AllowlistEntry {
        /// The list.
        list: String,
        /// The value asked for.
        value: String,
    },
}

/// What the request conflicts with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Conflict {
    /// The peer is already known.
    #[error("peer {0} already exists; use `peer set` or remove it first")]
    PeerExists(String),
    /// The indicator is already revoked.
    #[error("indicator {0} is already revoked")]
    AlreadyRevoked(String),
    /// The key signs this node's new entries.
    #[error("{0} is the current signing key; run `jaring key rotate` first, then revoke it")]
    CurrentKey(String),
    /// The key is already revoked from an earlier or equal time.
    #[error("{key_id} is already revoked from {at_ms} ms")]
    KeyAlreadyRevoked {
        /// The key.
        key_id: String,
        /// Its revocation time.
        at_ms: UnixMillis,
    },
    /// The review item was already decided.
    #[error("log position {0} was already {1}")]
    AlreadyDecided(u64, Decision),
    /// TLS is not running (the node was opened without its servers).
    #[error("TLS is not running on this node")]
    TlsNotRunning,
    /// The TLS material on disk is missing or wrong; the old stays in use.
    #[error("{0}")]
    TlsMaterial(String),
}

/// What is not allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Forbidden {
    /// Only an indicator's origin revokes it.
    #[error("indicator {id} belongs to {origin}; only its origin can revoke it")]
    NotOwn {
        /// The indicator.
        id: String,
        /// Its origin.
        origin: String,
    },
    /// Built-in allowlists cannot be changed.
    #[error("{0} is built in and cannot be removed")]
    BuiltinList(String),
}

impl From<PublishError> for NodeError {
    fn from(e: PublishError) -> Self {
        match e {
            PublishError::NotFound(id) => NotFound::OwnIndicator(id).into(),
            PublishError::NotOwn { id, origin } => Forbidden::NotOwn { id, origin }.into(),
            PublishError::AlreadyRevoked(id) => Conflict::AlreadyRevoked(id).into(),
            PublishError::Store(s) => NodeError::Store(s),
        }
    }
}

impl From<DecideError> for NodeError {
    fn from(e: DecideError) -> Self {
        match e {
            DecideError::NotFound(seq) => NotFound::ReviewItem(seq).into(),
            DecideError::AlreadyDecided(seq, d) => Conflict::AlreadyDecided(seq, d).into(),
            DecideError::Store(s) => NodeError::Store(s),
        }
    }
}

impl NodeError {
    /// A result the ledger owed and did not give: an internal failure.
    pub(crate) fn missing_result(what: &str) -> NodeError {
        NodeError::Store(StoreError::Engine(format!("the ledger gave no result for {what}")))
    }
}

/// Why a node could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// Signing or federation keys.
    #[error("keys: {0}")]
    Keys(#[from] crate::keystore::KeyFileError),
    /// Store.
    #[error("{0}")]
    Store(#[from] StoreError),
    /// The TLS CA certificate.
    #[error("TLS: cannot read {path}: {source}")]
    TlsCa {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// This node's TLS certificate and key.
    #[error("TLS: {0}")]
    Tls(#[from] crate::tls::TlsError),
    /// Admin token.
    #[error("admin token {path}: {reason}")]
    Token {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}
