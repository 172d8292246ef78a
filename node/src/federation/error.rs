//! How a link to a peer or the federation server fails. The message is
//! what `jaring status` shows as the link's last error.

use crate::store::StoreError;
use crate::tls::TlsError;

/// Why a subscription to a peer ended.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LinkError {
    /// The peer was removed or blocked meanwhile.
    #[error("peer removed or blocked")]
    PeerGone,
    /// The CA on the peer's identity card is unusable.
    #[error("peer CA: {0}")]
    PeerCa(TlsError),
    /// TLS setup or the connection failed.
    #[error("{0}")]
    Tls(#[from] TlsError),
    /// This node's store failed.
    #[error("{0}")]
    Store(#[from] StoreError),
    /// The peer refused the subscription.
    #[error("subscribe refused: {}: {}", .0.code(), .0.message())]
    Subscribe(tonic::Status),
    /// The stream failed.
    #[error("stream: {}: {}", .0.code(), .0.message())]
    Stream(tonic::Status),
    /// The peer moved its cursor backwards.
    #[error("peer moved the cursor backwards ({got} < {had})")]
    CursorBackwards {
        /// The cursor received.
        got: u64,
        /// The cursor before.
        had: u64,
    },
    /// A response held more entries than this node accepts at once.
    #[error("response holds {entries} entries, limits.max_batch is {max}")]
    BatchTooLarge {
        /// Entries in the response.
        entries: usize,
        /// `limits.max_batch`.
        max: usize,
    },
    /// The peer's next entry is signed by a key a rotation held for review
    /// announced; the link waits for the analyst's decision.
    #[error(
        "waiting for the review of the key event announcing {key_id} (jaring review list); what it signed is held back"
    )]
    KeyUnderReview {
        /// The key.
        key_id: String,
    },
    /// The stage that stores entries stopped.
    #[error("apply stage stopped")]
    ApplyStopped,
    /// The stage that stores entries panicked or was cancelled.
    #[error("apply task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    /// Verifying a response panicked or was cancelled: nothing of it is
    /// stored and the cursor stays before it.
    #[error("verification task failed: {0}")]
    VerifyTask(tokio::task::JoinError),
}

/// Why the federation listener stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// The TLS configuration could not be built.
    #[error("federation TLS: {0}")]
    Tls(#[from] TlsError),
    /// gRPC reflection could not be built.
    #[error(transparent)]
    Reflection(#[from] crate::introspection::ReflectionError),
    /// The server failed.
    #[error("federation server: {0}")]
    Server(#[from] tonic::transport::Error),
    /// The server task panicked or was cancelled.
    #[error("federation server task: {0}")]
    Task(#[from] tokio::task::JoinError),
}
