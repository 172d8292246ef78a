//! `jaring bench`: measures this machine and a real federation on loopback.
//!
//! Every node is a real node process (this binary's hidden `node-run`
//! command, the same code as `jaring-node`) in a temporary directory. Throughputs are reported beside the
//! machine's own ed25519 verification rate measured in the same run, because
//! absolute numbers differ between machines: the node is meant to run at the
//! speed of its signature checks.
//!
//! Scenarios: `machine`, `publish`, `ingest`, `lookup`, `propagation`,
//! `catchup`, `flood` (see `bench_flood`), `allowlist` (see
//! `bench_allowlist`), `api` (see `bench_api`), `log` (see `bench_tlog`),
//! `console` (see `bench_console`).
//! `--json` prints one object with a key per scenario.
//!
//! `--engine postgres` runs `publish`, `ingest`, `lookup` and `catchup` on
//! fjall and on PostgreSQL side by side (see `bench_pg`), the other
//! scenarios on fjall.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use clap::{Args, ValueEnum};
use ed25519_dalek::{Signer, SigningKey, Verifier};
use jaring_node::model::{Category, Distribution, Kind, Tlp};
use jaring_node::store::EngineKind;
use jaring_node::submission::NewIndicator;
use jaring_node::wire::{ToPb, WireEnum};
use jaring_proto::pb;
use serde_json::{Value, json};

use super::bench_pg;
use crate::client::{Client, status_error};
use crate::fleet::{self, FleetNode, NodeSpec};
use crate::output::Output;

/// Benchmark a node on this machine.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  jaring bench\n  jaring bench ingest --indicators 1000000 --json\n  jaring bench lookup --lookup-store 1000000\n  jaring bench log --publish 100000 --indicators 200000\n  jaring bench console --lookup-store 1000000\n  .ci/postgres.sh run target/release/jaring bench --engine postgres ingest lookup\n  .ci/postgres.sh run target/release/jaring bench --engine postgres --pg-rounds 7 ingest\n  jaring bench --engine postgres --pg-url postgres://jaring@db:5432/jaring --pg-password-file pw ingest"
)]
pub struct BenchArgs {
    /// Run only these scenarios (default: all).
    #[arg(value_enum)]
    scenarios: Vec<Scenario>,
    /// Indicators the ingest publisher holds.
    #[arg(long, default_value_t = 200_000)]
    indicators: u64,
    /// Indicators submitted in the publish scenario (per path).
    #[arg(long, default_value_t = 100_000)]
    publish: u64,
    /// Indicators in the store for the lookup scenario.
    #[arg(long, default_value_t = 1_000_000)]
    lookup_store: u64,
    /// Lookups per measurement.
    #[arg(long, default_value_t = 200_000)]
    lookups: u64,
    /// Indicators published during the propagation scenario.
    #[arg(long, default_value_t = 1_000)]
    propagation: u64,
    /// Indicators published while the catch-up subscriber is offline.
    #[arg(long, default_value_t = 200_000)]
    catchup: u64,
    /// Keep the node directories here.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Store engine of every node started: fjall or sled; postgres runs
    /// publish, ingest, lookup and catchup on fjall and on PostgreSQL side by
    /// side (--pg-url), the other scenarios on fjall.
    #[arg(long, default_value_t = EngineKind::default())]
    engine: EngineKind,
    /// `[store] lookup_cache_entries` of every node started (default: the
    /// node's default). Above the lookup scenario's store, each listed
    /// value is answered from memory once committed or filled.
    #[arg(long)]
    lookup_cache: Option<usize>,
    #[command(flatten)]
    pg: bench_pg::PgArgs,
    #[command(flatten)]
    allowlist: super::bench_allowlist::AllowlistBenchArgs,
}

/// The embedded engine chosen for this run (set once in [`run`]; fjall
/// with `--engine postgres`, whose PostgreSQL passes `bench_pg` runs).
static ENGINE: std::sync::OnceLock<EngineKind> = std::sync::OnceLock::new();

/// `--lookup-cache`, when given (set once in [`run`]).
static LOOKUP_CACHE: std::sync::OnceLock<usize> = std::sync::OnceLock::new();

/// A benchmark scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Scenario {
    /// Raw ed25519 rates of this machine.
    Machine,
    /// Submissions through the admin API.
    Publish,
    /// A subscriber catching up N pre-signed indicators over mTLS.
    Ingest,
    /// Point lookups in-process and over gRPC.
    Lookup,
    /// Publish-to-visible latency in an 11-node ASEAN mesh and line.
    Propagation,
    /// A subscriber that was offline while indicators were published.
    Catchup,
    /// Free-text extraction: MB/s on one core, peak RSS streaming 1 GiB (see bench_extract.rs).
    Extract,
    /// Admin and federation latency while idle connections flood the HTTPS and federation ports.
    Flood,
    /// Allowlist checks, publish and ingest rates and memory with 1M domain and 10k CIDR rules loaded.
    Allowlist,
    /// The HTTP API: batch and single lookups against /healthz, HTTP against gRPC submits (see `bench_api`).
    Api,
    /// Publish and ingest rates with the transparency-log tree on and off.
    Log,
    /// The console's pages: render time p50/p99 per page on a store of `--lookup-store` (see `bench_console`).
    Console,
}

/// Runs the benchmark.
///
/// # Errors
///
/// A node failing to start or a scenario failing.
pub async fn run(a: BenchArgs, out: &Output) -> Result<()> {
    let pg = match a.engine {
        EngineKind::Postgres => {
            let target = a.pg.resolve(|name| std::env::var(name).ok())?;
            Some(Arc::new(bench_pg::PgRun::new(target, a.pg.pg_rounds, a.dir.is_some())))
        }
        _ => None,
    };
    let embedded = if pg.is_some() { EngineKind::Fjall } else { a.engine };
    let _ = ENGINE.set(embedded);
    if let Some(n) = a.lookup_cache {
        let _ = LOOKUP_CACHE.set(n);
    }
    let pg = pg.as_ref();
    let all = a.scenarios.is_empty();
    let want = |s| all || a.scenarios.contains(&s);
    let temp;
    let base = match &a.dir {
        Some(d) => d.clone(),
        None => {
            temp = tempfile::Builder::new().prefix("jaring-bench-").tempdir()?;
            temp.path().to_path_buf()
        }
    };
    let mut report = serde_json::Map::new();
    let machine = tokio::task::spawn_blocking(machine).await?;
    let batch_verify = machine["batch_verify_2_threads_per_s"].as_f64().unwrap_or(1.0);
    if !out.json {
        match pg {
            Some(pg) => println!(
                "machine: {} ({} cores); publish, ingest, lookup and catchup on fjall and on PostgreSQL ({}) side by side, the rest on fjall",
                cpu_name(),
                num_threads(),
                jaring_node::store::postgres::client::parse_url("url", pg.url())
                    .map(|c| jaring_node::store::postgres::client::label(&c))
                    .unwrap_or_default()
            ),
            None => {
                println!(
                    "machine: {} ({} cores); nodes use the {} store engine",
                    cpu_name(),
                    num_threads(),
                    a.engine.as_str()
                )
            }
        }
        println!(
            "  ed25519 ({} backend) verify {:.0}/s single, {:.0}/s batch on 1 thread, {:.0}/s batch on {} threads; sign {:.0}/s",
            machine["verify_backend"].as_str().unwrap_or("unknown"),
            machine["verify_per_s"].as_f64().unwrap_or(0.0),
            machine["batch_verify_per_s"].as_f64().unwrap_or(0.0),
            batch_verify,
            num_threads(),
            machine["sign_per_s"].as_f64().unwrap_or(0.0)
        );
    }
    let mut machine = machine;
    machine["store_engine"] = json!(if pg.is_some() { "fjall and postgres side by side" } else { embedded.as_str() });
    report.insert("machine".into(), machine);
    if want(Scenario::Publish) {
        let n = a.publish;
        let run = |b: PathBuf| async move { publish(&b, n).await };
        let r = bench_pg::side_by_side(pg, &base.join("publish"), run).await?;
        show(out, "publish", &r);
        report.insert("publish".into(), r);
    }
    if want(Scenario::Ingest) {
        let n = a.indicators;
        let run = |b: PathBuf| async move { ingest(&b, n, batch_verify).await };
        let r = bench_pg::side_by_side(pg, &base.join("ingest"), run).await?;
        show(out, "ingest", &r);
        report.insert("ingest".into(), r);
    }
    if want(Scenario::Lookup) {
        let (store, lookups) = (a.lookup_store, a.lookups);
        let run = |b: PathBuf| async move { lookup(&b, store, lookups).await };
        let r = bench_pg::side_by_side(pg, &base.join("lookup"), run).await?;
        show(out, "lookup", &r);
        report.insert("lookup".into(), r);
    }
    if want(Scenario::Propagation) {
        let r = propagation(&base.join("propagation"), a.propagation).await?;
        show(out, "propagation", &r);
        report.insert("propagation".into(), r);
    }
    if want(Scenario::Catchup) {
        let n = a.catchup;
        let r = bench_pg::side_by_side(pg, &base.join("catchup"), |b| async move {
            let r = ingest(&b, n, batch_verify).await?;
            Ok(json!({
                "indicators": r["indicators"],
                "seconds_to_converge": r["seconds"],
                "indicators_per_s": r["indicators_per_s"],
                "ratio_to_batch_verify": r["ratio_to_batch_verify"],
                "subscriber_peak_rss_mib": r["subscriber_peak_rss_mib"],
            }))
        })
        .await?;
        show(out, "catchup", &r);
        report.insert("catchup".into(), r);
    }
    if want(Scenario::Api) {
        let r = super::bench_api::run(&base.join("api"), a.lookup_store, a.lookups, a.publish).await?;
        show(out, "api", &r);
        report.insert("api".into(), r);
    }
    if want(Scenario::Extract) {
        report.insert("extract".into(), super::bench_extract::run(out).await?);
    }
    if want(Scenario::Flood) {
        let r = super::bench_flood::run(&base.join("flood")).await?;
        show(out, "flood", &r);
        report.insert("flood".into(), r);
    }
    if want(Scenario::Allowlist) {
        let r = super::bench_allowlist::run(&base.join("allowlist"), &a.allowlist, a.publish, a.indicators).await?;
        show(out, "allowlist", &r);
        report.insert("allowlist".into(), r);
    }
    if want(Scenario::Log) {
        let r = super::bench_tlog::run(&base.join("log"), a.publish, a.indicators, embedded).await?;
        show(out, "log", &r);
        report.insert("log".into(), r);
    }
    if want(Scenario::Console) {
        let r = super::bench_console::run(&base.join("console"), a.lookup_store).await?;
        show(out, "console", &r);
        report.insert("console".into(), r);
    }
    if out.json {
        out.json(&Value::Object(report));
    }
    Ok(())
}

fn show(out: &Output, name: &str, v: &Value) {
    if out.json {
        return;
    }
    // Side by side (bench_pg): each engine's figures and the ratios.
    if let Some(m) = v.as_object().filter(|m| m.contains_key("postgres_vs_fjall")) {
        if let Some(rounds) = m.get("rounds") {
            println!("{name}: {rounds} rounds, fjall and PostgreSQL in turn; the median round's figures");
        }
        for (k, v) in m.iter().filter(|(_, v)| v.is_object()) {
            show(out, &format!("{name} ({k})"), v);
        }
        return;
    }
    println!("{name}:");
    if let Some(m) = v.as_object() {
        for (k, v) in m {
            match v.as_f64() {
                Some(f) if f.fract() != 0.0 => println!("  {k:<40} {f:.2}"),
                _ if v.is_object() => {}
                _ => println!("  {k:<40} {v}"),
            }
        }
        // Nested results (e.g. lookup scaling) as sections of their own.
        for (k, v) in m.iter().filter(|(_, v)| v.is_object()) {
            show(out, &format!("{name} {k}"), v);
        }
    }
}

fn num_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn cpu_name() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

// --- machine -------------------------------------------------------------------

fn machine() -> Value {
    let key = SigningKey::from_bytes(&[7u8; 32]);
    let vk = key.verifying_key();
    let msgs: Vec<Vec<u8>> = (0..4096u32).map(|i| format!("{i:0300}").into_bytes()).collect();
    let sigs: Vec<ed25519_dalek::Signature> = msgs.iter().map(|m| key.sign(m)).collect();
    let t = Instant::now();
    let mut n = 0u64;
    while t.elapsed() < Duration::from_millis(700) {
        let _ = key.sign(&msgs[(n % 4096) as usize]);
        n += 1;
    }
    let sign = n as f64 / t.elapsed().as_secs_f64();
    let t = Instant::now();
    let mut n = 0u64;
    while t.elapsed() < Duration::from_millis(700) {
        let i = (n % 4096) as usize;
        let _ = vk.verify(&msgs[i], &sigs[i]);
        n += 1;
    }
    let verify = n as f64 / t.elapsed().as_secs_f64();
    let batch = |threads: usize| -> f64 {
        let t = Instant::now();
        let per = 256usize;
        let rounds = std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads)
                .map(|_| {
                    s.spawn(|| {
                        let mut rounds = 0u64;
                        let vks = vec![vk; per];
                        while t.elapsed() < Duration::from_millis(900) {
                            let start = (rounds as usize * per) % (4096 - per);
                            let m: Vec<&[u8]> = msgs[start..start + per].iter().map(Vec::as_slice).collect();
                            let _ = ed25519_dalek::verify_batch(&m, &sigs[start..start + per], &vks);
                            rounds += 1;
                        }
                        rounds
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap_or(0)).sum::<u64>()
        });
        (rounds * per as u64) as f64 / t.elapsed().as_secs_f64()
    };
    let batch1 = batch(1);
    let batch_n = batch(num_threads());
    json!({
        "cpu": cpu_name(),
        "threads": num_threads(),
        // The curve25519-dalek backend this binary runs on this CPU.
        "verify_backend": jaring_node::verify_backend::verify_backend().as_str(),
        "sign_per_s": sign,
        "verify_per_s": verify,
        "batch_verify_per_s": batch1,
        "batch_verify_2_threads_per_s": batch_n,
    })
}

// --- nodes ---------------------------------------------------------------------

/// How [`start_node`] starts node `id` on the run's embedded engine.
pub(super) fn start_node_spec<'a>(id: &'a str, fed_key: Option<&'a Path>) -> NodeSpec<'a> {
    let engine = ENGINE.get().copied().unwrap_or_default();
    NodeSpec { id, region: "ID", federation_key: fed_key, engine, log_level: "warn", http: false }
}

/// Starts node `id` of a bench fleet in `base`, on the run's store engine;
/// during a PostgreSQL pass (`bench_pg`) on PostgreSQL, in a fresh schema.
pub(super) async fn start_node(base: &Path, id: &str, fed_key: Option<&Path>) -> Result<FleetNode> {
    let pg = bench_pg::current();
    let spec = start_node_spec(id, fed_key);
    let spec = if pg.is_some() { NodeSpec { engine: EngineKind::Postgres, ..spec } } else { spec };
    fleet::start_with(base, &spec, |config, dir| {
        unthrottled(config);
        if let Some(n) = LOOKUP_CACHE.get() {
            config.store.lookup_cache_entries = *n;
        }
        pg.map_or(Ok(()), |pg| pg.configure(config, dir))
    })
    .await
}

/// Lifts the limits an operator puts on one peer's stream, for a node of a
/// bench that measures what the node can do. At the defaults
/// (`limits.peer_entries_per_s` 50,000, burst 10,000) a 200,000-entry ingest
/// or catch-up cannot pass about 51,000/s whatever the node could do.
pub(super) fn unthrottled(config: &mut jaring_node::config::Config) {
    config.limits.peer_entries_per_s = UNTHROTTLED;
    config.limits.peer_entries_burst = UNTHROTTLED;
}

/// Entries per second no bench comes near.
const UNTHROTTLED: u64 = 1_000_000_000;

/// Bytes the node's store takes: its `db` directory, or on PostgreSQL its
/// schema's tables and indexes.
async fn store_bytes(node: &FleetNode) -> Result<f64> {
    let config = jaring_node::config::Config::load(&node.dir.join("node.toml"))?;
    Ok(match (config.store.engine, bench_pg::current()) {
        (EngineKind::Postgres, Some(pg)) => pg.schema_bytes(&config.store.schema).await?,
        _ => dir_bytes(&node.dir.join("db")),
    } as f64)
}

async fn peer(from: &mut FleetNode, to: &FleetNode, relay: bool, member_only: bool) -> Result<()> {
    from.peer(to, relay, member_only).await
}

fn dir_bytes(p: &Path) -> u64 {
    let mut total = 0;
    if let Ok(rd) = std::fs::read_dir(p) {
        for e in rd.flatten() {
            match e.metadata() {
                Ok(m) if m.is_dir() => total += dir_bytes(&e.path()),
                Ok(m) => total += m.len(),
                Err(_) => {}
            }
        }
    }
    total
}

/// A mix of kinds, all GREEN so every agreement shares them.
pub(super) fn sample(i: u64, tag: &str) -> pb::IndicatorInput {
    let (kind, value) = match i % 5 {
        0 => (Kind::Domain, format!("{tag}-{i}.loker-palsu.co.id")),
        1 => (Kind::Url, format!("https://{tag}.investasi-bodong.com/daftar/{i}")),
        2 => (Kind::BankAccount, format!("BCA:{:010}", i)),
        // Documentation IPv6 (2001:db8::/32): private and reserved ranges are refused.
        3 => (Kind::Ip, format!("2001:db8::{:x}:{:x}", (i >> 16) & 0xffff, i & 0xffff)),
        _ => (Kind::SocialHandle, format!("telegram:{tag}_{i}")),
    };
    let input = NewIndicator {
        kind: Some(kind),
        value,
        categories: vec![Category::JobScam],
        confidence: 70,
        tlp: Some(Tlp::Green),
        distribution: Some(Distribution::Federation),
        ..Default::default()
    };
    input.to_pb()
}

/// Submits `n` indicators in batches of 1000 over `streams` client streams.
pub(super) async fn load(client: &Client, n: u64, tag: &str, streams: u64) -> Result<Duration> {
    let t = Instant::now();
    let per = n.div_ceil(streams);
    let tag = Arc::new(tag.to_string());
    let mut tasks = Vec::new();
    for s in 0..streams {
        let mut c = client.clone();
        let tag = tag.clone();
        let (from, to) = (s * per, ((s + 1) * per).min(n));
        tasks.push(tokio::spawn(async move {
            let batches = (from..to).step_by(1000).map(move |b| pb::SubmitIndicatorsRequest {
                indicators: (b..(b + 1000).min(to)).map(|i| sample(i, &tag)).collect(),
                override_allowlist: false,
                ..Default::default()
            });
            let resp = c.submit_indicator_stream(tokio_stream::iter(batches)).await.map_err(status_error)?.into_inner();
            if let Some(first) = resp.refused.first() {
                bail!("{} indicators refused, the first: {:?}", resp.refused.len(), first.error);
            }
            Ok(resp.stored)
        }));
    }
    let mut stored = 0;
    for t in tasks {
        stored += t.await??;
    }
    if stored != n {
        bail!("stored {stored} of {n}");
    }
    Ok(t.elapsed())
}

pub(super) async fn log_head(c: &mut Client) -> Result<u64> {
    Ok(c.status(pb::StatusRequest {}).await.map_err(status_error)?.into_inner().log_head)
}

/// Waits until the node behind `c` holds `n` log entries, for at most 600 s
/// (`what` names the wait in the error). It polls `status`, which reads the
/// store's counters, every 25 ms: often enough that the rate is off by under
/// 1% on a run of seconds, seldom enough not to weigh on the node measured.
pub(super) async fn wait_for_head(c: &mut Client, n: u64, what: &str) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(600);
    while log_head(c).await? < n {
        if Instant::now() > deadline {
            bail!("{what}: the node did not reach {n} log entries in 600 s");
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    Ok(())
}

// --- scenarios -----------------------------------------------------------------

async fn publish(base: &Path, n: u64) -> Result<Value> {
    let mut node = start_node(base, "ID", None).await?;
    // Unary, one indicator per call, 32 concurrent callers.
    let unary_n = (n / 10).max(1000);
    let t = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..32u64 {
        let mut c = node.client.clone();
        tasks.push(tokio::spawn(async move {
            let mut i = w;
            while i < unary_n {
                c.submit_indicators(pb::SubmitIndicatorsRequest {
                    indicators: vec![sample(i, "unary")],
                    override_allowlist: false,
                    ..Default::default()
                })
                .await
                .map_err(status_error)?;
                i += 32;
            }
            Ok::<(), anyhow::Error>(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let unary = unary_n as f64 / t.elapsed().as_secs_f64();
    let streamed = load(&node.client, n, "stream", 2).await?;
    let head = log_head(&mut node.client).await?;
    if head != unary_n + n {
        bail!("publish: log head {head}, expected {}", unary_n + n);
    }
    Ok(json!({
        "unary_indicators": unary_n,
        "unary_concurrency": 32,
        "unary_indicators_per_s": unary,
        "stream_indicators": n,
        "stream_indicators_per_s": n as f64 / streamed.as_secs_f64(),
        "peak_rss_mib": node.peak_rss_mib(),
        "disk_bytes_per_indicator": store_bytes(&node).await? / head as f64,
    }))
}

async fn ingest(base: &Path, n: u64, batch_verify: f64) -> Result<Value> {
    let mut publisher = start_node(base, "ID", None).await?;
    let key = publisher.dir.join("keys/federation-1.key");
    // The subscriber starts before the load, as a node that has been up a
    // while: its start-up work (the store, the transparency-log check, the
    // phone-number metadata it loads off the async threads) is done before
    // the measurement, not on the cores the ingest needs.
    let mut subscriber = start_node(base, "VN", Some(&key)).await?;
    load(&publisher.client, n, "ingest", 2).await?;
    peer(&mut publisher, &subscriber, false, false).await?;
    let t = Instant::now();
    peer(&mut subscriber, &publisher, false, false).await?;
    wait_for_head(&mut subscriber.client, n, "ingest").await?;
    let secs = t.elapsed().as_secs_f64();
    let rate = n as f64 / secs;
    Ok(json!({
        "indicators": n,
        "seconds": secs,
        "indicators_per_s": rate,
        "ratio_to_batch_verify": rate / batch_verify,
        "subscriber_peak_rss_mib": subscriber.peak_rss_mib(),
        "publisher_peak_rss_mib": publisher.peak_rss_mib(),
        "disk_bytes_per_indicator": store_bytes(&subscriber).await? / n as f64,
    }))
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

async fn lookup(base: &Path, store: u64, lookups: u64) -> Result<Value> {
    let mut node = start_node(base, "ID", None).await?;
    load(&node.client, store, "lookup", 2).await?;
    // Unary over gRPC: 32 concurrent callers, one value each.
    let unary_n = unary_lookups(lookups);
    let admin = jaring_node::admin::channel::AdminEndpoint::of_node_dir(&node.dir)?;
    // The echo baseline and the lookups take turns, so background work of
    // the node (flushes and compactions after the load) weighs on both alike.
    let (mut echo, mut unary) = (Timed::default(), Timed::default());
    let round = unary_n / ROUNDS;
    for r in 0..ROUNDS {
        echo.add(grpc_health_checks(&admin, round).await?);
        unary.add(grpc_lookups(&node.client, r * round..(r + 1) * round, store, 1, false).await?);
    }
    let (echo_rate, echo_lat) = (echo.rate(), echo.percentiles());
    let (rate, lat) = (unary.rate(), unary.percentiles());
    let batch_rate = grpc_lookups(&node.client, 0..lookups, store, 1000, false).await?.rate();
    let summary_rate = grpc_lookups(&node.client, 0..lookups, store, 1000, true).await?.rate();
    let rss = node.peak_rss_mib();
    let disk = store_bytes(&node).await? / store as f64;
    // On PostgreSQL: the writer alone, then with a second process.
    let scaling = match bench_pg::current() {
        Some(_) => Some(bench_pg::scaling(&node, &base.join("second"), store, lookups).await?),
        None => None,
    };
    // In-process: stop the node and open its store here.
    let _ = node.client.status(pb::StatusRequest {}).await;
    node.stop();
    let mut config = jaring_node::config::Config::load(&node.dir.join("node.toml"))?;
    // First reads are what is measured: nothing filled beforehand.
    config.store.lookup_cache_warm = false;
    let cache = config.store.lookup_cache_entries;
    let (in_process_cold, in_process, in_process_misses) =
        tokio::task::spawn_blocking(move || in_process_lookups(config, lookups, store)).await??;
    let mut r = json!({
        "store_indicators": store,
        "lookup_cache_entries": cache,
        "in_process_lookups_per_s": in_process,
        "in_process_first_read_lookups_per_s": in_process_cold,
        "in_process_unlisted_lookups_per_s": in_process_misses,
        "grpc_unary_lookups_per_s": rate,
        "grpc_unary_concurrency": UNARY_CALLERS,
        "grpc_unary_p50_ms": lat.0,
        "grpc_unary_p99_ms": lat.1,
        "grpc_unary_p999_ms": lat.2,
        "grpc_echo_baseline_calls_per_s": echo_rate,
        "grpc_echo_baseline_p50_ms": echo_lat.0,
        "grpc_echo_baseline_p99_ms": echo_lat.1,
        "grpc_unary_ratio_to_echo": rate / echo_rate,
        "grpc_batched_values_per_s": batch_rate,
        "grpc_batched_summary_values_per_s": summary_rate,
        "peak_rss_mib": rss,
        "disk_bytes_per_indicator": disk,
    });
    if let Some(s) = scaling {
        r["scaling"] = s;
    }
    Ok(r)
}

/// Unary lookups per measurement for `lookups` batched ones.
pub(super) fn unary_lookups(lookups: u64) -> u64 {
    (lookups / 10).max(10_000)
}

pub(super) fn lookup_query(i: u64) -> pb::LookupQuery {
    let q = sample(i, "lookup");
    pb::LookupQuery { value: q.value, kind: q.kind }
}

/// Calls made and how long they took.
#[derive(Debug, Default)]
pub(super) struct Timed {
    pub(super) items: u64,
    pub(super) elapsed: Duration,
    /// Per call, in ms.
    pub(super) latencies: Vec<f64>,
}

impl Timed {
    pub(super) fn add(&mut self, other: Timed) {
        self.items += other.items;
        self.elapsed += other.elapsed;
        self.latencies.extend(other.latencies);
    }

    /// Items per second.
    pub(super) fn rate(&self) -> f64 {
        self.items as f64 / self.elapsed.as_secs_f64()
    }

    /// (p50, p99, p999) call latency in ms.
    pub(super) fn percentiles(&mut self) -> (f64, f64, f64) {
        self.latencies.sort_by(f64::total_cmp);
        let l = &self.latencies;
        (percentile(l, 0.5), percentile(l, 0.99), percentile(l, 0.999))
    }
}

/// Timing of `items` sent `per_call` at a time by `callers` concurrent
/// callers; `call(c, from, to)` sends items `from..to` on its own clone of
/// `c`.
async fn timed_calls<C, F, Fut>(c: &C, callers: u64, items: Range<u64>, per_call: u64, call: F) -> Result<Timed>
where
    C: Clone + Send + 'static,
    F: Fn(C, u64, u64) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Result<C>> + Send,
{
    let t = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..callers {
        let mut c = c.clone();
        let call = call.clone();
        let Range { start, end } = items;
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut i = start + w * per_call;
            while i < end {
                let s = Instant::now();
                c = call(c, i, (i + per_call).min(end)).await?;
                lat.push(s.elapsed().as_secs_f64() * 1000.0);
                i += callers * per_call;
            }
            Ok::<Vec<f64>, anyhow::Error>(lat)
        }));
    }
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await??);
    }
    Ok(Timed { items: items.end - items.start, elapsed: t.elapsed(), latencies })
}

pub(super) async fn grpc_lookups(
    client: &Client,
    items: Range<u64>,
    store: u64,
    per_call: u64,
    summary: bool,
) -> Result<Timed> {
    let callers = if per_call == 1 { UNARY_CALLERS } else { 4 };
    timed_calls(client, callers, items, per_call, move |mut c: Client, from, to| async move {
        let queries = (from..to).map(|j| lookup_query((j * 7919) % store)).collect();
        let r =
            c.lookup(pb::LookupRequest { queries, min_score: 0, summary }).await.map_err(status_error)?.into_inner();
        if r.results.iter().any(|r| r.views.is_empty()) {
            bail!("a stored value was not found");
        }
        Ok(c)
    })
    .await
}

/// The baseline for unary lookups: the trivial gRPC health check served by
/// the same node on the same admin listener, same client, same concurrency.
async fn grpc_health_checks(admin: &jaring_node::admin::channel::AdminEndpoint, n: u64) -> Result<Timed> {
    use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
    let channel = admin.connect().await?;
    let client = HealthClient::new(channel);
    timed_calls(&client, UNARY_CALLERS, 0..n, 1, |mut c: HealthClient<tonic::transport::Channel>, _, _| async move {
        c.check(HealthCheckRequest { service: String::new() }).await.map_err(status_error)?;
        Ok(c)
    })
    .await
}

/// Turns the echo baseline and the unary lookups take.
const ROUNDS: u64 = 4;

const UNARY_CALLERS: u64 = 32;

/// In-process lookups/s of listed values (a hot set of up to 100,000
/// values, within the default lookup cache): the first pass, read from the
/// store, then `n` lookups cycling through the now cached set; and of values
/// that are not listed.
fn in_process_lookups(config: jaring_node::config::Config, n: u64, store: u64) -> Result<(f64, f64, f64)> {
    let (node, _ledger) = jaring_node::node::Node::open(config)?;
    let listed: Vec<(String, Option<Kind>)> = (0..n.min(100_000))
        .map(|i| {
            let q = lookup_query((i * 7919) % store);
            (q.value, Kind::from_wire(q.kind).ok().flatten())
        })
        .collect();
    let unlisted: Vec<(String, Option<Kind>)> = (0..n.min(200_000))
        .map(|i| {
            // Same shapes as the stored values, numbered past the store.
            let q = lookup_query(store + i);
            (q.value, Kind::from_wire(q.kind).ok().flatten())
        })
        .collect();
    let cold = lookup_rate(&node, &listed, listed.len() as u64, true)?;
    let hits = lookup_rate(&node, &listed, n, true)?;
    let misses = lookup_rate(&node, &unlisted, n, false)?;
    Ok((cold, hits, misses))
}

fn lookup_rate(
    node: &jaring_node::node::Node,
    queries: &[(String, Option<Kind>)],
    n: u64,
    listed: bool,
) -> Result<f64> {
    let threads = num_threads();
    let t = Instant::now();
    let per = n / threads as u64;
    let found: u64 = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|w| {
                let node = &*node;
                let queries = &*queries;
                s.spawn(move || {
                    let mut found = 0u64;
                    for i in 0..per {
                        let q = &queries[((i * threads as u64 + w as u64) as usize) % queries.len()];
                        if node.lookup(std::slice::from_ref(q)).is_ok_and(|r| r[0].found == listed) {
                            found += 1;
                        }
                    }
                    found
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or(0)).sum()
    });
    if found != per * threads as u64 {
        bail!("in-process lookups: {found} of {} answered as expected (listed: {listed})", per * threads as u64);
    }
    Ok(found as f64 / t.elapsed().as_secs_f64())
}

const ASEAN: [&str; 11] = ["BN", "KH", "ID", "LA", "MY", "MM", "PH", "SG", "TH", "VN", "TL"];

async fn propagation(base: &Path, n: u64) -> Result<Value> {
    let mut out = serde_json::Map::new();
    for topology in ["mesh", "line"] {
        let dir = base.join(topology);
        let mut nodes: Vec<FleetNode> = Vec::new();
        for id in ASEAN {
            let key = nodes.first().map(|f| f.dir.join("keys/federation-1.key"));
            nodes.push(start_node(&dir, id, key.as_deref()).await?);
        }
        let origin = 2; // ID
        for i in 0..nodes.len() {
            for j in 0..nodes.len() {
                if i == j {
                    continue;
                }
                let direct = topology == "mesh" || i.abs_diff(j) == 1;
                let (a, b) = if i < j {
                    let (l, r) = nodes.split_at_mut(j);
                    (&mut l[i], &r[0])
                } else {
                    let (l, r) = nodes.split_at_mut(i);
                    (&mut r[0], &l[j])
                };
                if direct {
                    peer(a, b, topology == "line", false).await?;
                } else if j == origin {
                    peer(a, b, false, true).await?;
                }
            }
        }
        // Let every subscription connect.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let mut latencies: Vec<f64> = Vec::new();
        let interval = Duration::from_millis(10);
        for i in 0..n {
            let value = format!("prop-{topology}-{i}.loker-palsu.co.id");
            let input = NewIndicator {
                kind: Some(Kind::Domain),
                value: value.clone(),
                categories: vec![Category::JobScam],
                confidence: 70,
                tlp: Some(Tlp::Green),
                distribution: Some(Distribution::Federation),
                ..Default::default()
            };
            let tick = Instant::now();
            nodes[origin]
                .client
                .submit_indicators(pb::SubmitIndicatorsRequest {
                    indicators: vec![input.to_pb()],
                    override_allowlist: false,
                    ..Default::default()
                })
                .await
                .map_err(status_error)?;
            let acked = Instant::now();
            let mut tasks = Vec::new();
            for (k, node) in nodes.iter().enumerate() {
                if k == origin {
                    continue;
                }
                let mut c = node.client.clone();
                let value = value.clone();
                tasks.push(tokio::spawn(async move {
                    let q = pb::LookupRequest {
                        queries: vec![pb::LookupQuery { value, kind: Kind::Domain.to_wire() }],
                        min_score: 0,
                        summary: true,
                    };
                    loop {
                        let r = c.lookup(q.clone()).await.map_err(status_error)?.into_inner();
                        if r.results.first().is_some_and(|r| !r.views.is_empty()) {
                            return Ok::<f64, anyhow::Error>(acked.elapsed().as_secs_f64() * 1000.0);
                        }
                        if acked.elapsed() > Duration::from_secs(30) {
                            bail!("not visible after 30 s");
                        }
                        tokio::time::sleep(Duration::from_micros(200)).await;
                    }
                }));
            }
            for t in tasks {
                latencies.push(t.await??);
            }
            if let Some(rest) = interval.checked_sub(tick.elapsed()) {
                tokio::time::sleep(rest).await;
            }
        }
        latencies.sort_by(f64::total_cmp);
        let rss: serde_json::Map<String, Value> =
            nodes.iter().map(|n| (n.id.clone(), json!(n.peak_rss_mib()))).collect();
        out.insert(
            topology.into(),
            json!({
                "nodes": nodes.len(),
                "indicators": n,
                "p50_ms": percentile(&latencies, 0.5),
                "p99_ms": percentile(&latencies, 0.99),
                "max_ms": latencies.last().copied().unwrap_or(0.0),
                "max_peak_rss_mib": rss.values().filter_map(Value::as_f64).fold(0.0, f64::max),
                "peak_rss_mib_by_node": rss,
            }),
        );
    }
    Ok(Value::Object(out))
}
