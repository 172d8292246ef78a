//! The one place where node errors become gRPC statuses.

use tonic::Status;

use crate::node::NodeError;
use crate::store::StoreError;
use crate::wire::WireError;

impl From<NodeError> for Status {
    /// A status with a message fit for the CLI to print.
    fn from(e: NodeError) -> Status {
        match e {
            NodeError::Input(i) => Status::invalid_argument(i.to_string()),
            NodeError::NotFound(m) => Status::not_found(m.to_string()),
            NodeError::Conflict(m) => Status::failed_precondition(m.to_string()),
            NodeError::Forbidden(m) => Status::permission_denied(m.to_string()),
            NodeError::Store(s) => store_status(&s),
        }
    }
}

/// A storage failure: internal, logged.
pub fn store_status(e: &StoreError) -> Status {
    tracing::error!(error = %e, "store failure during an admin call");
    Status::internal(format!("store failure: {e}"))
}

/// A malformed request.
pub fn wire_status(e: &WireError) -> Status {
    Status::invalid_argument(e.to_string())
}
