//! Whether the store takes commits: the writer records every commit's
//! outcome, so `status`, gRPC health, `/healthz` and `/metrics` say when the
//! node cannot store anything (a full disk, a failed fsync) instead of
//! reporting up while every write fails.
//!
//! After a failure the node tries again by itself ([`super::Ledger::probe`],
//! a one-key commit, every few seconds while unhealthy): an engine that
//! recovers (space freed, a transient error) is healthy again at the first
//! commit that succeeds. One that cannot (fjall refuses every write after a
//! failed fsync of its journal until it is reopened) stays unhealthy, and
//! says so, until the node restarts.

use crate::model::UnixMillis;

/// The store's health as the writer last saw it.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct StoreHealth {
    /// The last commit failed and none succeeded since.
    pub failing: bool,
    /// The last failure's message.
    pub last_error: Option<String>,
    /// When the current run of failures started.
    pub failing_since_ms: Option<UnixMillis>,
    /// Commits that failed since the node started.
    pub failed_commits: u64,
}

impl StoreHealth {
    /// Records one commit's outcome.
    pub fn record(&mut self, failure: Option<&str>, now: UnixMillis) {
        match failure {
            Some(e) => {
                if !self.failing {
                    self.failing_since_ms = Some(now);
                }
                self.failing = true;
                self.last_error = Some(e.to_string());
                self.failed_commits += 1;
            }
            None => {
                self.failing = false;
                self.failing_since_ms = None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_holds_until_a_commit_succeeds() {
        let mut h = StoreHealth::default();
        h.record(None, 1);
        assert!(!h.failing);
        h.record(Some("No space left on device"), 5);
        h.record(Some("No space left on device"), 9);
        assert_eq!((h.failing, h.failing_since_ms, h.failed_commits), (true, Some(5), 2));
        h.record(None, 12);
        assert_eq!((h.failing, h.failing_since_ms, h.failed_commits), (false, None, 2));
        assert_eq!(h.last_error.as_deref(), Some("No space left on device"), "the last error is kept");
    }
}
