//! File-descriptor headroom, checked when a node starts.
//!
//! Every open connection is a file descriptor. The listeners' caps
//! (`[http] max_connections`, `[federation] max_handshakes`, `[admin]
//! max_connections`) bound how many the network can make the node hold;
//! [`MARGIN`] more are kept for the store's files, established peer
//! connections, outgoing subscriptions and logs. If the process's soft
//! `RLIMIT_NOFILE` is below that sum, the node raises it (up to the hard
//! limit, which an unprivileged process may do); if even the hard limit
//! is too low, the node refuses to start and says which limit to raise or
//! which caps to lower, rather than stalling later with `EMFILE` on every
//! listener at once.

use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};

use crate::config::Config;

/// Descriptors kept beyond the listeners' caps.
pub const MARGIN: u64 = 512;

/// What the listeners may hold, and the limit the process runs with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FdBudget {
    /// Descriptors the caps and [`MARGIN`] add up to.
    pub needed: u64,
    /// The sum spelled out, for messages.
    pub breakdown: String,
    /// The soft limit now (`None`: unlimited).
    pub soft: Option<u64>,
    /// The hard limit (`None`: unlimited).
    pub hard: Option<u64>,
    /// The soft limit before this start raised it.
    pub raised_from: Option<u64>,
}

/// The limit is too low for the configured caps.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "RLIMIT_NOFILE allows {soft} open files (hard limit {hard}), but the connection caps need {needed} \
     ({breakdown}): raise the limit (`ulimit -n {needed}`, or LimitNOFILE={needed} in the systemd unit) \
     or lower the caps in node.toml"
)]
pub struct FdError {
    /// What the caps need.
    pub needed: u64,
    /// The sum spelled out.
    pub breakdown: String,
    /// The soft limit, as text.
    pub soft: String,
    /// The hard limit, as text.
    pub hard: String,
}

/// The descriptors the configured caps need, with the sum spelled out.
pub fn needed(config: &Config) -> (u64, String) {
    let mut parts = Vec::new();
    let mut total = 0u64;
    let mut add = |n: usize, what: &str| {
        let n = n as u64;
        total = total.saturating_add(n);
        parts.push(format!("{what} {n}"));
    };
    if let Some(http) = &config.http {
        add(http.max_connections, "[http] max_connections");
    }
    add(config.federation.max_handshakes, "[federation] max_handshakes");
    add(config.admin.max_connections, "[admin] max_connections");
    add(MARGIN as usize, "store, peers and logs");
    (total, parts.join(" + "))
}

fn text(limit: Option<u64>) -> String {
    limit.map_or_else(|| "unlimited".to_string(), |n| n.to_string())
}

/// Checks the process's `RLIMIT_NOFILE` against the caps, raising the soft
/// limit to the hard one when it is too low.
///
/// # Errors
///
/// [`FdError`] when even the hard limit is below what the caps need.
pub fn ensure(config: &Config) -> Result<FdBudget, FdError> {
    let (needed, breakdown) = needed(config);
    ensure_for(needed, breakdown)
}

fn ensure_for(needed: u64, breakdown: String) -> Result<FdBudget, FdError> {
    let Rlimit { current: soft, maximum: hard } = getrlimit(Resource::Nofile);
    if soft.is_none_or(|s| s >= needed) {
        return Ok(FdBudget { needed, breakdown, soft, hard, raised_from: None });
    }
    // An unlimited hard limit cannot be the soft one on Linux (nr_open).
    let target = hard.unwrap_or(needed.max(65_536));
    let raised = target > soft.unwrap_or(0)
        && setrlimit(Resource::Nofile, Rlimit { current: Some(target), maximum: hard }).is_ok();
    let now = if raised { Some(target) } else { soft };
    if now.is_some_and(|s| s < needed) {
        return Err(FdError { needed, breakdown, soft: text(now), hard: text(hard) });
    }
    let raised_from = if raised { soft } else { None };
    Ok(FdBudget { needed, breakdown, soft: now, hard, raised_from })
}

/// Raises this process's soft `RLIMIT_NOFILE` towards `wanted` (to the
/// hard limit if that is lower); returns the soft limit now (`None`:
/// unlimited). For tools that open many connections themselves (`jaring
/// bench flood`).
pub fn raise_open_files(wanted: u64) -> Option<u64> {
    let Rlimit { current, maximum } = getrlimit(Resource::Nofile);
    if current.is_none_or(|s| s >= wanted) {
        return current;
    }
    let target = maximum.map_or(wanted, |h| h.min(wanted.max(current.unwrap_or(0))));
    match setrlimit(Resource::Nofile, Rlimit { current: Some(target), maximum }) {
        Ok(()) => Some(target),
        Err(_) => current,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_caps_add_up_with_the_margin() {
        let toml = "node_id = \"ID\"\n[federation]\nlisten = \"127.0.0.1:7700\"\nmax_handshakes = 100\n\
                    [admin]\nlisten = \"127.0.0.1:7701\"\nmax_connections = 10\n\
                    [http]\nlisten = \"127.0.0.1:7702\"\nmax_connections = 1000\n";
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.toml");
        std::fs::write(&path, toml).unwrap();
        let config = Config::load(&path).unwrap();
        let (n, text) = needed(&config);
        assert_eq!(n, 1000 + 100 + 10 + MARGIN);
        assert!(text.contains("[http] max_connections 1000"), "{text}");
    }

    #[test]
    fn a_need_within_the_limit_passes_and_one_above_the_hard_limit_is_refused() {
        let Rlimit { current, maximum } = getrlimit(Resource::Nofile);
        let ok = ensure_for(16, "test".into()).unwrap();
        assert_eq!((ok.soft, ok.hard, ok.raised_from), (current, maximum, None));
        if let Some(hard) = maximum {
            let err = ensure_for(hard + 1, "test".into()).unwrap_err();
            assert_eq!(err.needed, hard + 1);
            assert!(err.to_string().contains("ulimit -n"), "{err}");
        }
    }
}
