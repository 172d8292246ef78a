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
    /// The caller's token does not allow this (or no longer exists).
    #[error(transparent)]
    Access(#[from] crate::access::Denied),
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
    /// No token has this name.
    #[error("no token named {0:?} (see `jaring token list`)")]
    Token(String),
    /// No takedown case with this id is held (or, for a platform, none
    /// addressed to it: a platform never learns of other platforms' cases).
    #[error("no takedown case {0}")]
    TakedownCase(String),
    /// A value is not on an allowlist.
    #[error("{value:?} is not on allowlist {list:?}")]
    AllowlistEntry {
        /// The list.
        list: String,
        /// The value asked for.
        value: String,
    },
    /// No log entry at this position.
    #[error("the log has no entry {0}")]
    LogEntry(u64),
    /// The node keeps no transparency log, or has signed no checkpoint yet.
    #[error("this node keeps no transparency log ([log] enabled = false) or has signed no checkpoint yet")]
    TransparencyLog,
    /// No log this node witnesses has this origin.
    #[error("no log with origin {0:?} is witnessed here (the origin of a peer is `<its TLS name>/log`)")]
    WitnessedLog(String),
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
    /// A held key event can no longer apply.
    #[error("the key event cannot apply: {0}")]
    BadKeyEvent(String),
    /// A key offered on an identity card is held by another node.
    #[error("key {key_id} on the card of {node} is held by {owner}; a key id belongs to one node")]
    KeyOwned {
        /// The key.
        key_id: String,
        /// The card's node.
        node: String,
        /// Who holds it.
        owner: String,
    },
    /// TLS is not running (the node was opened without its servers).
    #[error("TLS is not running on this node")]
    TlsNotRunning,
    /// A token with this name is in use.
    #[error("a token named {0:?} exists; revoke it first or choose another name")]
    TokenExists(String),
    /// The token is already revoked.
    #[error("token {0:?} is already revoked")]
    TokenRevoked(String),
    /// The TLS material on disk is missing or wrong; the old stays in use.
    #[error("{0}")]
    TlsMaterial(String),
    /// The entry is in no checkpoint a witness cosigned yet.
    #[error(
        "log entry {local_seq} is in no cosigned checkpoint yet (the latest cosigned one holds {cosigned_size} entries); \
         witnesses cosign within seconds: try again"
    )]
    NotYetCosigned {
        /// The entry.
        local_seq: u64,
        /// Size of the latest cosigned checkpoint (0: none).
        cosigned_size: u64,
    },
    /// The transparency log cannot sign or read a checkpoint.
    #[error("transparency log: {0}")]
    TransparencyLog(String),
    /// A takedown case cannot move from its state to the one asked.
    #[error("takedown case {id} is {state}; it cannot become {wanted}")]
    TakedownState {
        /// The case.
        id: String,
        /// Where it stands.
        state: crate::takedown::CaseState,
        /// What was asked.
        wanted: crate::takedown::CaseState,
    },
    /// Another node already holds an open case for this value and platform.
    #[error(
        "{origin} already asked {platform} about this value (case {id}, requested at {requested_at_ms} ms); \
         see `jaring takedown show {id}`, or pass --also to ask too"
    )]
    TakedownOpenElsewhere {
        /// Its case.
        id: String,
        /// The node that asked.
        origin: String,
        /// The platform.
        platform: String,
        /// When it asked.
        requested_at_ms: UnixMillis,
    },
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
    /// Only the node that asked the platform records a case's answers and
    /// withdraws it (its events are signed by that node).
    #[error("takedown case {id} belongs to {origin}; it is answered and withdrawn there")]
    NotOwnCase {
        /// The case.
        id: String,
        /// Its requester.
        origin: String,
    },
    /// Built-in allowlists cannot be changed.
    #[error("{0} is built in and cannot be removed")]
    BuiltinList(String),
    /// An imported list is replaced or removed whole, not entry by entry.
    #[error("{0} is an imported list: remove it whole, or import a new version of its file")]
    ImportedListEntry(String),
    /// The node's admin token is not revoked through the API.
    #[error("the built-in admin token is DIR/admin.token; replace that file and restart the node to change it")]
    AdminToken,
}

impl From<PublishError> for NodeError {
    fn from(e: PublishError) -> Self {
        match e {
            PublishError::NotFound(id) => NotFound::OwnIndicator(id).into(),
            PublishError::NotOwn { id, origin } => Forbidden::NotOwn { id, origin }.into(),
            PublishError::AlreadyRevoked(id) => Conflict::AlreadyRevoked(id).into(),
            e @ PublishError::TooLarge { .. } => {
                NodeError::Input(crate::submission::InputError::new("indicator", e.to_string()))
            }
            PublishError::Store(s) => NodeError::Store(s),
        }
    }
}

impl From<DecideError> for NodeError {
    fn from(e: DecideError) -> Self {
        match e {
            DecideError::NotFound(seq) => NotFound::ReviewItem(seq).into(),
            DecideError::AlreadyDecided(seq, d) => Conflict::AlreadyDecided(seq, d).into(),
            DecideError::BadKeyEvent(why) => Conflict::BadKeyEvent(why).into(),
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
    /// The allowlists could not all be indexed.
    #[error("allowlists: {0}")]
    Allowlist(#[from] crate::warninglist::IndexError),
    /// Admin token.
    #[error("admin token {path}: {reason}")]
    Token {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}
