//! Looking at a node the way a hostile-peer test must: what a refusal has
//! to leave alone (the indicators, the key ring, the log head), the audited
//! rejections and the counters they move.
#![allow(clippy::unwrap_used)] // a test harness: a broken node fails the test

use std::time::Duration;

use serde_json::Value;

use crate::{TestNode, assert_eventually};

/// How long a hostile-peer test waits for a node to react.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// Starts node `id` with an HTTPS listener (for `/metrics`) and these
/// `[limits]` overrides.
///
/// # Panics
///
/// If the node does not start.
pub fn start_with_limits(id: &str, limits: &[(&str, &str)]) -> TestNode {
    let mut b = TestNode::builder(id).http();
    for (key, value) in limits {
        b = b.limit(key, value);
    }
    b.start().unwrap()
}

/// The `/metrics` sample counting refusals for `reason`.
pub fn rejected_metric(reason: &str) -> String {
    format!("jaring_rejections_total{{reason=\"{reason}\"}}")
}

impl TestNode {
    /// Everything a refusal must leave alone: the indicators (every version
    /// field), the key ring and the log head.
    ///
    /// # Panics
    ///
    /// If the CLI fails.
    pub fn state_snapshot(&self) -> String {
        let list = self.cli(&["--json", "indicator", "list", "--limit", "100000"]).unwrap();
        let keys = self.cli(&["--json", "key", "list", "--all"]).unwrap();
        let status = self.cli_json(&["status"]).unwrap();
        format!("{list}\n{keys}\nlog_head={}", status["log_head"])
    }

    /// The rejections audited for envelopes from `peer`, oldest first.
    ///
    /// # Panics
    ///
    /// If the CLI fails.
    pub fn rejections(&self, peer: &str) -> Vec<Value> {
        let v = self.cli_json(&["audit", "list", "--kind", "rejection", "--peer", peer, "--limit", "1000000"]).unwrap();
        v.as_array().cloned().unwrap_or_default()
    }

    /// Forks refused and kept as evidence.
    ///
    /// # Panics
    ///
    /// If the CLI fails.
    pub fn forks(&self) -> u64 {
        self.cli_json(&["status"]).unwrap()["forks"].as_u64().unwrap_or(0)
    }

    /// Whether a lookup of `value` finds it.
    pub fn found(&self, value: &str) -> bool {
        self.lookup_found(value).unwrap_or(false)
    }
}

/// The reason, origin and origin_seq a refusal must be audited with.
#[derive(Debug)]
pub struct Refusal<'a> {
    /// The case's name, for messages.
    pub case: &'a str,
    /// The audit reason expected.
    pub reason: &'a str,
    /// The origin the audit entry names, when the envelope named one.
    pub origin: Option<&'a str>,
    /// Its origin_seq, likewise.
    pub origin_seq: Option<u64>,
}

/// Runs `send`, then checks that `node` refused what `peer` sent: exactly
/// one new rejection audit entry from `peer` with the reason (and origin and
/// sequence when the envelope named them), the reason's counter up by one,
/// and the store as it was.
///
/// # Panics
///
/// When any of that does not hold.
pub fn assert_refused(node: &TestNode, peer: &str, r: &Refusal<'_>, send: impl FnOnce()) {
    let before = node.state_snapshot();
    let audited = node.rejections(peer).len();
    let counted = node.metric(&rejected_metric(r.reason));
    send();
    assert_eventually!(PATIENCE, node.rejections(peer).len() > audited, "{}: {} audits a rejection", r.case, node.id);
    let new = node.rejections(peer).split_off(audited);
    assert_eq!(new.len(), 1, "{}: one rejection: {new:?}", r.case);
    assert_eq!(new[0]["reason"], r.reason, "{}: {}", r.case, new[0]);
    assert_eq!(new[0]["origin"].as_str().filter(|o| !o.is_empty()), r.origin, "{}: {}", r.case, new[0]);
    assert_eq!(new[0]["origin_seq"].as_u64(), r.origin_seq, "{}: {}", r.case, new[0]);
    assert_eventually!(
        PATIENCE,
        node.metric(&rejected_metric(r.reason)) == counted + 1.0,
        "{}: {} counts it",
        r.case,
        rejected_metric(r.reason)
    );
    assert_eq!(node.state_snapshot(), before, "{}: the store changed", r.case);
    println!("{}: refused, audited and counted as {}", r.case, r.reason);
}
