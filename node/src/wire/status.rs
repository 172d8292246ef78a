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
            NodeError::Access(d) => denied_status(&d),
            NodeError::Store(s) => store_status(&s),
        }
    }
}

/// A refused token: UNAUTHENTICATED when it is missing, unknown, revoked
/// or expired; PERMISSION_DENIED when it may not do this (role, network,
/// platform); RESOURCE_EXHAUSTED over its rate.
pub fn denied_status(d: &crate::access::Denied) -> Status {
    use crate::access::Denied;
    match d {
        Denied::RateLimited { retry_after_ms, .. } => {
            let mut s = Status::resource_exhausted(d.to_string());
            if let Ok(v) = retry_after_ms.div_ceil(1000).max(1).to_string().parse() {
                s.metadata_mut().insert("retry-after", v);
            }
            s
        }
        d if d.is_authentication() => Status::unauthenticated(d.to_string()),
        d => Status::permission_denied(d.to_string()),
    }
}

/// A storage failure: internal, logged. A write sent to a process that is
/// not the writer of a shared store is `UNAVAILABLE` naming the writer (in
/// the message and in the `jaring-writer` metadata), so a client retries
/// there.
pub fn store_status(e: &StoreError) -> Status {
    if let StoreError::NotWriter { writer } = e {
        let mut status = Status::unavailable(e.to_string());
        if let Some(w) = writer
            && let Ok(v) = w.parse()
        {
            status.metadata_mut().insert("jaring-writer", v);
        }
        return status;
    }
    tracing::error!(error = %e, "store failure during an admin call");
    Status::internal(format!("store failure: {e}"))
}

/// A malformed request.
pub fn wire_status(e: &WireError) -> Status {
    Status::invalid_argument(e.to_string())
}
