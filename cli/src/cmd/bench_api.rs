//! `jaring bench api`: the HTTP API (issue 16) on one real node with its
//! HTTPS listener, against the same node's gRPC API and `/healthz` in the
//! same run:
//!
//! - batch submit over HTTP (`POST /api/v1/indicators`, 1,000 per call)
//!   against the gRPC stream submit, same count, same concurrency (ratio);
//! - `POST /api/v1/lookup` with 1,000 values per call and `summary` on a
//!   store of `--lookup-store` indicators (values/s): every value listed
//!   (each a first read from the store), and a platform's mix, one value
//!   in ten listed (a platform checks every link in every post; few are
//!   scams);
//! - single `GET /api/v1/lookup?value=` at 32 concurrent connections against
//!   `GET /healthz` on the same listener at 32 concurrent (ratio, p99),
//!   taking turns so the node's background work weighs on both alike.
//!
//! Every HTTP caller keeps one TLS connection open (HTTP/1.1 keep-alive),
//! as a platform's client would. The calls use the node's admin token
//! (no rate limit), so the figures are the API's, not a token's budget.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Result, bail};
use serde_json::{Value, json};

use super::bench::{Timed, load, sample};
use super::bench_https::{Endpoint, url_encode};
use crate::fleet::{self, NodeSpec};

/// Concurrent callers for single lookups and the `/healthz` baseline.
const SINGLE_CALLERS: u64 = 32;
/// Concurrent callers for batches (lookup and submit).
const BATCH_CALLERS: u64 = 2;
/// Values per batch call.
const PER_CALL: u64 = 1000;
/// Rounds the single lookups and the baseline alternate in.
const ROUNDS: u64 = 4;

/// `calls` requests spread over `callers` connections; `make(i)` gives
/// request `i` (method, path, body) and `items` per call is counted.
async fn timed<F>(
    ep: &Endpoint,
    auth: &Arc<str>,
    callers: u64,
    calls: u64,
    items_per_call: u64,
    make: F,
) -> Result<Timed>
where
    F: Fn(u64) -> (&'static str, String, Option<Vec<u8>>) + Clone + Send + Sync + 'static,
{
    let mut conns = Vec::new();
    for _ in 0..callers {
        conns.push(ep.connect().await?);
    }
    let t = Instant::now();
    let mut tasks = Vec::new();
    for (w, mut conn) in (0..callers).zip(conns) {
        let make = make.clone();
        let auth = auth.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut i = w;
            while i < calls {
                let (method, path, body) = make(i);
                let s = Instant::now();
                let r = conn
                    .call(method, &path, &[("Authorization", &auth)], body.as_deref().map(|b| ("application/json", b)))
                    .await?;
                lat.push(s.elapsed().as_secs_f64() * 1000.0);
                if r.status != 200 {
                    bail!("{method} {path}: {} {}", r.status, String::from_utf8_lossy(&r.body));
                }
                i += callers;
            }
            Ok::<Vec<f64>, anyhow::Error>(lat)
        }));
    }
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await??);
    }
    Ok(Timed { items: calls * items_per_call, elapsed: t.elapsed(), latencies })
}

/// The `i`th value of the bench's mix (as `bench::sample` makes it) and
/// its kind's name.
fn value_of(i: u64, tag: &str) -> (String, &'static str) {
    let kind = match i % 5 {
        0 => "domain",
        1 => "url",
        2 => "bank_account",
        3 => "ip",
        _ => "social_handle",
    };
    (sample(i, tag).value, kind)
}

/// Runs the scenario in `base`: a store of `store` indicators, `lookups`
/// values per lookup measurement, `submits` indicators per submit path.
///
/// # Errors
///
/// The node failing to start, a call failing.
pub async fn run(base: &Path, store: u64, lookups: u64, submits: u64) -> Result<Value> {
    let spec = |http| NodeSpec {
        id: "ID",
        region: "ID",
        federation_key: None,
        engine: jaring_node::store::EngineKind::default(),
        log_level: "warn",
        http,
    };
    // 32 keep-alive callers from one address are the default per-address
    // cap; leave room for the batch callers and the CLI.
    let mut node = fleet::start(base, &spec(true)).await?;
    node.stop();
    let toml: PathBuf = node.dir.join("node.toml");
    let mut config = jaring_node::config::Config::load(&toml)?;
    if let Some(http) = config.http.as_mut() {
        http.max_connections_per_ip = 256;
    }
    std::fs::write(&toml, config.to_toml())?;
    let node = fleet::start(base, &spec(true)).await?;
    let ep = Endpoint::of(&node)?;
    let token = std::fs::read_to_string(node.dir.join("admin.token"))?;
    let auth: Arc<str> = format!("Bearer {}", token.trim()).into();

    // Submit: gRPC stream against HTTP batches, same count and concurrency.
    let submits = submits.max(PER_CALL).div_ceil(PER_CALL) * PER_CALL;
    let grpc_submit = load(&node.client, submits, "grpc-submit", BATCH_CALLERS).await?;
    let http_submit = timed(&ep, &auth, BATCH_CALLERS, submits / PER_CALL, PER_CALL, |c| {
        let items: Vec<Value> = (c * PER_CALL..(c + 1) * PER_CALL)
            .map(|i| {
                let (value, kind) = value_of(i, "http-submit");
                json!({"kind": kind, "value": value, "categories": ["job_scam"], "confidence": 70, "tlp": "green"})
            })
            .collect();
        ("POST", "/api/v1/indicators".to_string(), Some(json!({"indicators": items}).to_string().into_bytes()))
    })
    .await?;
    let grpc_submit_rate = submits as f64 / grpc_submit.as_secs_f64();
    let http_submit_rate = http_submit.rate();

    // The store for the lookups.
    load(&node.client, store, "lookup", 2).await?;

    // Every stored value is found (the figures are of hits, as in `lookup`).
    {
        let queries: Vec<Value> = (0..PER_CALL)
            .map(|j| {
                let (value, kind) = value_of((j * 7919) % store, "lookup");
                json!({"value": value, "kind": kind})
            })
            .collect();
        let body = json!({"queries": queries, "summary": true}).to_string().into_bytes();
        let r = ep
            .connect()
            .await?
            .call("POST", "/api/v1/lookup", &[("Authorization", &auth)], Some(("application/json", &body)))
            .await?;
        let (status, text) = (r.status, r.body);
        let answer: Value = serde_json::from_slice(&text)?;
        let found = answer["results"].as_array().map_or(0, |r| r.iter().filter(|x| x["found"] == true).count());
        if status != 200 || found != PER_CALL as usize {
            bail!("a stored value was not found over HTTP ({status}, {found} of {PER_CALL} found)");
        }
    }
    // Batch lookups, 1,000 values a call, summary.
    let calls = lookups.div_ceil(PER_CALL);
    let batch = timed(&ep, &auth, BATCH_CALLERS, calls, PER_CALL, move |c| {
        let queries: Vec<Value> = (0..PER_CALL)
            .map(|j| {
                let (value, kind) = value_of(((c * PER_CALL + j) * 7919) % store, "lookup");
                json!({"value": value, "kind": kind})
            })
            .collect();
        let body = json!({"queries": queries, "summary": true}).to_string().into_bytes();
        ("POST", "/api/v1/lookup".to_string(), Some(body))
    })
    .await?;

    // A platform's mix: one listed value in ten.
    let mixed = timed(&ep, &auth, BATCH_CALLERS, calls, PER_CALL, move |c| {
        let queries: Vec<Value> = (0..PER_CALL)
            .map(|j| {
                let i = c * PER_CALL + j;
                let (value, kind) =
                    if i.is_multiple_of(10) { value_of((i * 7919) % store, "lookup") } else { value_of(i, "unlisted") };
                json!({"value": value, "kind": kind})
            })
            .collect();
        let body = json!({"queries": queries, "summary": true}).to_string().into_bytes();
        ("POST", "/api/v1/lookup".to_string(), Some(body))
    })
    .await?;

    // Single lookups against /healthz, taking turns.
    let singles = (lookups / 10).max(4000);
    let per_round = singles / ROUNDS;
    let (mut health, mut single) = (Timed::default(), Timed::default());
    for r in 0..ROUNDS {
        health.add(timed(&ep, &auth, SINGLE_CALLERS, per_round, 1, |_| ("GET", "/healthz".to_string(), None)).await?);
        single.add(
            timed(&ep, &auth, SINGLE_CALLERS, per_round, 1, move |i| {
                let (value, kind) = value_of(((r * per_round + i) * 7919) % store, "lookup");
                ("GET", format!("/api/v1/lookup?value={}&kind={kind}&summary=true", url_encode(&value)), None)
            })
            .await?,
        );
    }
    let (health_rate, single_rate) = (health.rate(), single.rate());
    let (_, health_p99, _) = health.percentiles();
    let (single_p50, single_p99, _) = single.percentiles();
    let rss = node.peak_rss_mib();
    Ok(json!({
        "store_indicators": store,
        "http_batch_lookup_summary_values_per_s": batch.rate(),
        "http_batch_lookup_values_per_call": PER_CALL,
        "http_batch_lookup_mixed_values_per_s": mixed.rate(),
        "http_batch_lookup_mixed_listed_share": 0.1,
        "http_single_lookups_per_s": single_rate,
        "http_single_lookup_p50_ms": single_p50,
        "http_single_lookup_p99_ms": single_p99,
        "http_single_concurrency": SINGLE_CALLERS,
        "healthz_calls_per_s": health_rate,
        "healthz_p99_ms": health_p99,
        "http_single_ratio_to_healthz": single_rate / health_rate,
        "submit_indicators": submits,
        "http_submit_per_s": http_submit_rate,
        "grpc_stream_submit_per_s": grpc_submit_rate,
        "http_submit_ratio_to_grpc_stream": http_submit_rate / grpc_submit_rate,
        "peak_rss_mib": rss,
    }))
}
