//! The expiry task: cases expire on their due time even while no one looks.
//!
//! It sleeps until the earliest due time of this node's open cases (or an
//! hour, when none is due), wakes early when a case changes, and expires
//! every case due by then: one signed `expired` event each, published
//! through the ledger and dated at the due time. A node that was down past
//! a due time expires the case when it starts again, with the same date.

use std::sync::Arc;
use std::time::Duration;

use crate::model::now_ms;
use crate::node::Node;
use crate::shutdown::Shutdown;

/// The longest sleep between two checks.
const MAX_SLEEP: Duration = Duration::from_secs(3600);

/// After a failure (the store or the ledger), the wait before trying again.
const RETRY: Duration = Duration::from_secs(5);

/// Runs until `shutdown`.
pub async fn run(node: Arc<Node>, mut shutdown: Shutdown) {
    let mut changed = node.takedown_changes();
    let mut role = node.ledger().role();
    loop {
        // Only the writer of a shared store expires cases (it alone
        // commits); a standby waits until it takes over.
        if !role.borrow_and_update().is_writer() {
            tokio::select! {
                r = role.changed() => if r.is_err() { break },
                _ = shutdown.wait() => break,
            }
            continue;
        }
        // What changed before this check is seen by it; a change after it
        // wakes the loop (this check's own expiries wake it once more).
        changed.borrow_and_update();
        let wait = match node.expire_due_takedowns(now_ms()).await {
            Ok(expired) => {
                for c in &expired {
                    tracing::info!(case = %c.id, platform = %c.platform, "takedown case expired");
                }
                let n = node.clone();
                match tokio::task::spawn_blocking(move || n.next_takedown_due()).await {
                    Ok(Ok(Some(due))) => {
                        Duration::from_millis(u64::try_from(due - now_ms()).unwrap_or(0)).min(MAX_SLEEP)
                    }
                    Ok(Ok(None)) => MAX_SLEEP,
                    Ok(Err(e)) => {
                        tracing::error!(error = %e, "cannot read the next takedown due time");
                        RETRY
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "takedown due-time task failed");
                        RETRY
                    }
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot expire takedown cases");
                RETRY
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            r = changed.changed() => if r.is_err() { break },
            _ = shutdown.wait() => break,
        }
    }
    tracing::debug!("takedown expiry stopped");
}
