//! Prometheus metrics, served at `/metrics` on the HTTP listener.
//!
//! Counters that events bump (envelopes in and out by peer, rejections by
//! reason, admin request latency) live in one process-wide registry
//! ([`global`]), in the style of the Prometheus client libraries' default
//! registry; gauges that describe state (lag per peer, store size,
//! indicators by kind) are read from the node at scrape time by [`render`].
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `jaring_envelopes_received_total` | counter | `peer` |
//! | `jaring_envelopes_sent_total` | counter | `peer` |
//! | `jaring_rejections_total` | counter | `reason` |
//! | `jaring_envelopes_duplicate_total` | counter | `peer` |
//! | `jaring_peer_throttled_seconds_total` | counter | `peer`, `limit` (`entries`, `refusals`) |
//! | `jaring_streams_refused_total` | counter | `peer` |
//! | `jaring_admin_request_duration_seconds` | histogram | `method` |
//! | `jaring_peer_lag_entries` | gauge | `peer` |
//! | `jaring_peer_connected` | gauge | `peer` |
//! | `jaring_log_entries` | gauge | |
//! | `jaring_indicators` | gauge | `kind` |
//! | `jaring_store_bytes` | gauge | |
//! | `jaring_log_tree_size` | gauge | |
//! | `jaring_log_checkpoint_size` | gauge | |
//! | `jaring_log_checkpoint_cosignatures` | gauge | |
//! | `jaring_log_witnessed_size` | gauge | `origin` |
//! | `jaring_log_forks_detected` | gauge | |
//! | `jaring_verify_backend` | gauge (1) | `backend` (`avx512ifma`, `avx2`, `serial`: see [`crate::verify_backend`]) |
//! | `jaring_store_healthy` | gauge | none (1 while the store takes commits, 0 while it refuses them: a full disk) |
//! | `jaring_store_commit_failures` | gauge | none (commits that failed since the node started) |
//! | `jaring_store_commit_duration_seconds` | histogram | none (the store engine's durable commit of one writer batch) |
//! | `jaring_ledger_prepare_duration_seconds` | histogram | none (the writer building that batch before the store commits it) |
//! | `jaring_ledger_commit_entries` | histogram | none (entries and other commands one commit carried) |
//! | `jaring_allowlist_lists` | gauge | |
//! | `jaring_allowlist_rules` | gauge | `shape` (`domain`, `exact`, `address`, `network`) |
//! | `jaring_allowlist_memory_bytes` | gauge | |
//! | `jaring_access_refused_total` | counter | `reason` (`unknown_token`, `revoked`, `expired`, `address`, `role`, `platform`, `rate`) |
//! | `jaring_access_rate_limited_total` | counter | `token` |
//! | `jaring_takedown_open` | gauge | `platform`, `state` ([`crate::takedowns::metrics`]) |
//! | `jaring_takedown_time_to_outcome_seconds` | histogram | `platform` |

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::LazyLock;
use std::sync::atomic::AtomicU64;
use std::task::{Context, Poll};
use std::time::Instant;

use prometheus_client::encoding::text::{encode_eof, encode_registry};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::ledger::{IngestBatch, IngestReport};
use crate::node::Node;

type Labels = Vec<(String, String)>;

fn label(name: &str, value: &str) -> Labels {
    vec![(name.to_string(), value.to_string())]
}

fn new_histogram() -> Histogram {
    // 0.25 ms .. ~4 s.
    Histogram::new(exponential_buckets(0.000_25, 2.0, 15))
}

/// Every reason an envelope or a response is refused for (the `reason`
/// label of `jaring_rejections_total`): signature checks
/// ([`crate::envelope::VerifyError::reason`]), the ledger's checks, the
/// hard sharing rules ([`crate::policy::receive_check`]), the content
/// rules ([`crate::arrival::REASONS`]) and refused responses. Each series
/// exists at 0 from the first scrape.
pub const REJECTION_REASONS: &[&str] = &[
    "unknown_key",
    "malformed_signature",
    "bad_signature",
    "malformed_body",
    "origin_mismatch",
    "key_revoked",
    "key_not_yet_valid",
    "fork",
    "own_origin",
    "seq_too_far_ahead",
    "chain_break",
    "bad_key_event",
    "stale_version",
    "tlp_red_shared",
    "local_shared",
    "relay_not_allowed",
    "message_too_large",
    "malformed_message",
    "cursor_backwards",
    "batch_too_large",
    "entry_too_large",
    "log_fork",
    // crate::arrival::REASONS
    "not_canonical",
    "invalid_value",
    "personal_data_in_clear",
    "keyed_hash_not_personal",
    "id_mismatch",
    "time_in_future",
];

/// The event counters.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    received: Family<Labels, Counter>,
    sent: Family<Labels, Counter>,
    rejections: Family<Labels, Counter>,
    duplicates: Family<Labels, Counter>,
    throttled: Family<Labels, Counter<f64, AtomicU64>>,
    streams_refused: Family<Labels, Counter>,
    admin_latency: Family<Labels, Histogram>,
    store_commit: Histogram,
    ledger_prepare: Histogram,
    commit_entries: Histogram,
}

static GLOBAL: LazyLock<Metrics> = LazyLock::new(Metrics::new);

/// The process-wide metrics.
pub fn global() -> &'static Metrics {
    &GLOBAL
}

impl Metrics {
    fn new() -> Metrics {
        let mut registry = Registry::with_prefix("jaring");
        let received = Family::<Labels, Counter>::default();
        let sent = Family::<Labels, Counter>::default();
        let rejections = Family::<Labels, Counter>::default();
        let duplicates = Family::<Labels, Counter>::default();
        let throttled = Family::<Labels, Counter<f64, AtomicU64>>::default();
        let streams_refused = Family::<Labels, Counter>::default();
        let admin_latency = Family::<Labels, Histogram>::new_with_constructor(new_histogram as fn() -> Histogram);
        registry.register("envelopes_received", "Envelopes received from each peer", received.clone());
        registry.register("envelopes_sent", "Envelopes sent to each peer", sent.clone());
        registry.register("rejections", "Envelopes refused, by reason", rejections.clone());
        registry.register("envelopes_duplicate", "Envelopes from each peer already held (dropped)", duplicates.clone());
        registry.register(
            "peer_throttled_seconds",
            "Time each peer's stream was held back by limits.peer_entries_per_s or limits.peer_refusals_per_s",
            throttled.clone(),
        );
        registry.register(
            "streams_refused",
            "Subscribe streams refused per peer by limits.max_streams_per_peer",
            streams_refused.clone(),
        );
        registry.register(
            "admin_request_duration_seconds",
            "Admin API request latency by method",
            admin_latency.clone(),
        );
        let store_commit = new_histogram();
        let ledger_prepare = new_histogram();
        // 1 .. 16,384 (limits.commit_batch is 4096 by default).
        let commit_entries = Histogram::new(exponential_buckets(1.0, 2.0, 15));
        registry.register(
            "store_commit_duration_seconds",
            "Time the store engine took to commit one writer batch durably",
            store_commit.clone(),
        );
        registry.register(
            "ledger_prepare_duration_seconds",
            "Time the writer took to build one batch before the store committed it",
            ledger_prepare.clone(),
        );
        registry.register(
            "ledger_commit_entries",
            "Entries (and other commands, one each) one commit carried",
            commit_entries.clone(),
        );
        // Info-style: one series, 1, naming the backend in use.
        let verify_backend = Family::<Labels, Gauge>::default();
        verify_backend.get_or_create(&label("backend", crate::verify_backend::verify_backend().as_str())).set(1);
        registry.register(
            "verify_backend",
            "The curve25519-dalek backend signatures are checked with on this CPU (1)",
            verify_backend,
        );
        Metrics {
            registry,
            received,
            sent,
            rejections,
            duplicates,
            throttled,
            streams_refused,
            admin_latency,
            store_commit,
            ledger_prepare,
            commit_entries,
        }
    }

    /// One commit of the writer that wrote something: `entries` commands'
    /// worth, built in `prepare`, committed by the store in `commit`.
    pub fn observe_commit(&self, entries: usize, prepare: std::time::Duration, commit: std::time::Duration) {
        self.commit_entries.observe(entries as f64);
        self.ledger_prepare.observe(prepare.as_secs_f64());
        self.store_commit.observe(commit.as_secs_f64());
    }

    /// A batch from `peer` about to be applied: its envelopes and the
    /// refusals decided before the ledger.
    pub fn observe_batch(&self, peer: &str, batch: &IngestBatch) {
        let n = batch.items.len() + batch.refused.len();
        self.received.get_or_create(&label("peer", peer)).inc_by(n as u64);
        for r in &batch.refused {
            self.rejection(r.reason.as_deref().unwrap_or("unknown"));
        }
    }

    /// The ledger's refusals and duplicates of a batch applied from `peer`.
    pub fn observe_ingest(&self, peer: &str, report: &IngestReport) {
        for (_, _, reason) in &report.refused {
            self.rejection(reason);
        }
        if report.duplicates > 0 {
            self.duplicates.get_or_create(&label("peer", peer)).inc_by(report.duplicates);
        }
    }

    /// `peer`'s stream was held back for `seconds` by `limit`: its rate of
    /// `entries` or of `refusals`.
    pub fn throttled(&self, peer: &str, limit: &str, seconds: f64) {
        let labels = vec![("peer".to_string(), peer.to_string()), ("limit".to_string(), limit.to_string())];
        self.throttled.get_or_create(&labels).inc_by(seconds);
    }

    /// A `Subscribe` from `peer` refused for holding too many streams.
    pub fn stream_refused(&self, peer: &str) {
        self.streams_refused.get_or_create(&label("peer", peer)).inc();
    }

    /// One refusal.
    pub fn rejection(&self, reason: &str) {
        self.rejections.get_or_create(&label("reason", reason)).inc();
    }

    /// Envelopes streamed to `peer`.
    pub fn sent(&self, peer: &str, n: usize) {
        if n > 0 {
            self.sent.get_or_create(&label("peer", peer)).inc_by(n as u64);
        }
    }

    /// Creates, at 0, the series of every known label value: each
    /// rejection reason, and each peer's envelope, duplicate, throttling
    /// and stream counters, so rates and alerts work before the first event.
    pub fn touch_known(&self, peers: &[String]) {
        for reason in REJECTION_REASONS {
            let _ = self.rejections.get_or_create(&label("reason", reason));
        }
        for peer in peers {
            let l = label("peer", peer);
            let _ = self.received.get_or_create(&l);
            let _ = self.sent.get_or_create(&l);
            let _ = self.duplicates.get_or_create(&l);
            let _ = self.streams_refused.get_or_create(&l);
            for limit in ["entries", "refusals"] {
                let labels = vec![("peer".to_string(), peer.clone()), ("limit".to_string(), limit.to_string())];
                let _ = self.throttled.get_or_create(&labels);
            }
        }
    }

    fn admin_request(&self, method: &str, seconds: f64) {
        self.admin_latency.get_or_create(&label("method", method)).observe(seconds);
    }
}

fn dir_bytes(dir: &std::path::Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for e in entries.flatten() {
            match e.metadata() {
                Ok(m) if m.is_dir() => stack.push(e.path()),
                Ok(m) => total += m.len(),
                Err(_) => {}
            }
        }
    }
    total
}

/// The Prometheus text exposition of the event counters and the node's
/// current state. Reads the store: call from a blocking thread.
pub fn render(node: &Node) -> String {
    let peers: Vec<String> = node.peers().iter().map(|p| p.node_id().to_string()).collect();
    global().touch_known(&peers);
    let mut state = Registry::with_prefix("jaring");
    let lag = Family::<Labels, Gauge>::default();
    let connected = Family::<Labels, Gauge>::default();
    for (peer, link) in node.links() {
        let behind = link.inbound_head.saturating_sub(link.inbound_cursor);
        lag.get_or_create(&label("peer", &peer)).set(i64::try_from(behind).unwrap_or(i64::MAX));
        connected.get_or_create(&label("peer", &peer)).set(i64::from(link.inbound_state == "connected"));
    }
    state.register("peer_lag_entries", "Entries the peer's log holds beyond our cursor", lag);
    state.register("peer_connected", "1 while the subscription to the peer is connected", connected);
    let log_entries = Gauge::<i64>::default();
    if let Ok(head) = node.store().log_head() {
        log_entries.set(i64::try_from(head).unwrap_or(i64::MAX));
    }
    state.register("log_entries", "Entries in this node's log (highest local_seq)", log_entries);
    let by_kind = Family::<Labels, Gauge>::default();
    for kind in crate::model::Kind::ALL {
        let _ = by_kind.get_or_create(&label("kind", kind.as_str()));
    }
    for (kind, n) in node.counters("count/kind/").unwrap_or_default() {
        by_kind.get_or_create(&label("kind", &kind)).set(i64::try_from(n).unwrap_or(i64::MAX));
    }
    state.register("indicators", "Indicator entries stored, by kind", by_kind);
    let bytes = Gauge::<i64>::default();
    let size = match node.store().shared() {
        Some(_) => node.store().engine().size_on_disk().unwrap_or(0),
        None => dir_bytes(&node.config().resolve(&node.config().paths.db)),
    };
    bytes.set(i64::try_from(size).unwrap_or(i64::MAX));
    state.register("store_bytes", "Size of the store on disk", bytes);
    let lookup = &node.committed().lookup;
    let gauge = |v: usize| {
        let g = Gauge::<i64>::default();
        g.set(i64::try_from(v).unwrap_or(i64::MAX));
        g
    };
    state.register(
        "lookup_listed_values",
        "Values the in-memory lookup index knows to be listed (an upper bound)",
        gauge(lookup.members()),
    );
    state.register(
        "lookup_cached_values",
        "Listed values whose answer lookups hold in memory ([store] lookup_cache_entries)",
        gauge(lookup.cached()),
    );
    let writer = Gauge::<i64>::default();
    writer.set(i64::from(node.role().is_writer()));
    state.register("store_writer", "1 while this process is the writer of its store (always, embedded)", writer);
    if let Some(shared) = node.store().shared() {
        let (requests, queries) = shared.first_reads();
        let counter = |n: u64| {
            let c = Counter::<u64>::default();
            c.inc_by(n);
            c
        };
        state.register(
            "store_first_read_requests",
            "Lookups' first reads of listed values from the shared store",
            counter(requests),
        );
        state.register(
            "store_first_read_queries",
            "Queries sent for those reads (reads arriving together share one)",
            counter(queries),
        );
    }
    if let Some(lag) = node.replica_lag() {
        let g = Gauge::<f64, std::sync::atomic::AtomicU64>::default();
        g.set(lag.as_secs_f64());
        state.register("store_replica_lag_seconds", "How far the read replica is behind its primary", g);
    }
    if let Ok(log) = node.log_status() {
        let gauge = |v: u64| {
            let g = Gauge::<i64>::default();
            g.set(i64::try_from(v).unwrap_or(i64::MAX));
            g
        };
        state.register("log_tree_size", "Entries in this node's transparency-log tree", gauge(log.tree_size));
        state.register("log_checkpoint_size", "Tree size of the latest signed checkpoint", gauge(log.checkpoint_size));
        state.register(
            "log_checkpoint_cosignatures",
            "Peers whose cosignature the latest checkpoint carries",
            gauge(log.checkpoint_cosigners.len() as u64),
        );
        let witnessed = Family::<Labels, Gauge>::default();
        for w in &log.witnessed {
            witnessed.get_or_create(&label("origin", &w.origin)).set(i64::try_from(w.size).unwrap_or(i64::MAX));
        }
        state.register("log_witnessed_size", "Tree size of each peer's log this node last cosigned", witnessed);
        state.register(
            "log_forks_detected",
            "Peers' checkpoints refused as inconsistent with one this node cosigned (evidence kept)",
            gauge(log.forks.len() as u64),
        );
    }
    let health = node.store_health();
    let healthy = Gauge::<i64>::default();
    healthy.set(i64::from(!health.failing));
    state.register("store_healthy", "1 while the store takes commits, 0 while it refuses them", healthy);
    let failures = Gauge::<i64>::default();
    failures.set(i64::try_from(health.failed_commits).unwrap_or(i64::MAX));
    state.register("store_commit_failures", "Commits that failed since the node started", failures);
    let allow = node.allowlist_stats();
    let lists = Gauge::<i64>::default();
    lists.set(i64::try_from(allow.lists).unwrap_or(i64::MAX));
    state.register("allowlist_lists", "Allowlists in the index (built-in, admin, imported)", lists);
    let rules = Family::<Labels, Gauge>::default();
    for (shape, n) in [
        ("domain", allow.rules.domains),
        ("exact", allow.rules.exact),
        ("address", allow.rules.addresses),
        ("network", allow.rules.networks),
    ] {
        rules.get_or_create(&label("shape", shape)).set(i64::try_from(n).unwrap_or(i64::MAX));
    }
    state.register("allowlist_rules", "Allowlist rules in the index, by shape", rules);
    let memory = Gauge::<i64>::default();
    memory.set(i64::try_from(allow.memory_bytes).unwrap_or(i64::MAX));
    state.register("allowlist_memory_bytes", "Heap bytes the allowlist index holds", memory);
    let refused = Family::<Labels, Counter>::default();
    for (reason, n) in node.credentials().refusal_counts() {
        refused.get_or_create(&label("reason", reason)).inc_by(n);
    }
    state.register("access_refused", "Requests refused by the token check, by reason", refused);
    let limited = Family::<Labels, Counter>::default();
    for (token, n) in node.credentials().rate_limited_counts() {
        limited.get_or_create(&label("token", &token)).inc_by(n);
    }
    state.register("access_rate_limited", "Requests refused (429) because the token was over its rate", limited);
    crate::takedowns::metrics::register(node, &mut state);

    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = encode_registry(&mut out, &global().registry);
    let _ = encode_registry(&mut out, &state);
    let _ = encode_eof(&mut out);
    out
}

/// The admin methods, read from the compiled descriptors, so request
/// latency is labelled only with real method names (bounded cardinality).
static ADMIN_METHODS: LazyLock<HashSet<String>> = LazyLock::new(|| {
    use prost::Message;
    let mut out = HashSet::new();
    if let Ok(set) = prost_types::FileDescriptorSet::decode(jaring_proto::FILE_DESCRIPTOR_SET) {
        for file in set.file {
            let package = file.package.clone().unwrap_or_default();
            for service in file.service {
                let name = format!("{package}.{}", service.name.clone().unwrap_or_default());
                for m in service.method {
                    out.insert(format!("/{name}/{}", m.name.unwrap_or_default()));
                }
            }
        }
    }
    out
});

/// A tower layer recording admin request latency by gRPC method.
#[derive(Debug, Clone, Copy, Default)]
pub struct AdminLatencyLayer;

impl<S> tower::Layer<S> for AdminLatencyLayer {
    type Service = AdminLatency<S>;
    fn layer(&self, inner: S) -> AdminLatency<S> {
        AdminLatency { inner }
    }
}

/// See [`AdminLatencyLayer`].
#[derive(Debug, Clone)]
pub struct AdminLatency<S> {
    inner: S,
}

impl<S, B> tower::Service<axum::http::Request<B>> for AdminLatency<S>
where
    S: tower::Service<axum::http::Request<B>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: axum::http::Request<B>) -> Self::Future {
        let path = req.uri().path();
        let method = if ADMIN_METHODS.contains(path) {
            path.rsplit('/').next().unwrap_or("other").to_string()
        } else {
            "other".to_string()
        };
        let start = Instant::now();
        let fut = self.inner.call(req);
        Box::pin(async move {
            let r = fut.await;
            global().admin_request(&method, start.elapsed().as_secs_f64());
            r
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_verify_backend_is_one_series_set_to_one() {
        let mut out = String::new();
        encode_registry(&mut out, &global().registry).expect("encoding to a String");
        let series: Vec<_> = out.lines().filter(|l| l.starts_with("jaring_verify_backend")).collect();
        let backend = crate::verify_backend::verify_backend();
        assert_eq!(series, [format!("jaring_verify_backend{{backend=\"{backend}\"}} 1")], "{out}");
        assert!(out.contains("# TYPE jaring_verify_backend gauge"), "{out}");
    }

    #[test]
    fn every_content_rule_reason_is_a_known_rejection_reason() {
        for reason in crate::arrival::REASONS {
            assert!(REJECTION_REASONS.contains(reason), "{reason} is not in REJECTION_REASONS");
        }
        let mut all = REJECTION_REASONS.to_vec();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), REJECTION_REASONS.len(), "each reason once");
    }
}
