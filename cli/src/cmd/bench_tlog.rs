//! `jaring bench log`: what the transparency log costs the commit path.
//!
//! The same two measurements as the `publish` and `ingest` scenarios, each
//! made with `[log] enabled = true` (the tree kept in every ledger commit,
//! checkpoints signed, peers witnessed) and with `[log] enabled = false`,
//! in fresh node directories, in one run:
//!
//! - **publish**: indicators submitted to one node over two admin client
//!   streams of 1,000-indicator batches (signing and the commit path);
//! - **ingest**: a subscriber catching up on a publisher holding N
//!   indicators over mTLS (verification and the commit path), both nodes
//!   with the same setting.
//!
//! Each is run [`ROUNDS`] times, alternating which setting goes first, and
//! the best rate of each setting is kept, so that a burst of other work on
//! the machine weighs on neither side alone. The report gives both rates
//! and their ratio (on / off); the target is at least [`TARGET_RATIO`].

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use jaring_node::config::Config;
use jaring_node::store::EngineKind;
use jaring_proto::pb;
use serde_json::{Value, json};

use super::bench::{load, log_head};
use crate::client::status_error;
use crate::fleet::{self, FleetNode, NodeSpec};

/// Rounds of each measurement per setting.
pub const ROUNDS: usize = 2;
/// The rate with the tree on, as a fraction of the rate with it off, the
/// transparency log is meant to keep at least.
pub const TARGET_RATIO: f64 = 0.9;

/// Runs the scenario in `base`: `publish` indicators submitted, `ingest`
/// indicators caught up, on `engine`.
///
/// # Errors
///
/// A node failing to start, a submission refused, or a subscriber not
/// catching up within 600 s.
pub async fn run(base: &Path, publish: u64, ingest: u64, engine: EngineKind) -> Result<Value> {
    let mut publish_rates = Rates::default();
    let mut ingest_rates = Rates::default();
    for round in 0..ROUNDS {
        let order = if round % 2 == 0 { [false, true] } else { [true, false] };
        for log in order {
            let dir = base.join(format!("round{round}-{}", setting(log)));
            publish_rates.push(log, publish_rate(&dir.join("publish"), publish, log, engine).await?);
            ingest_rates.push(log, ingest_rate(&dir.join("ingest"), ingest, log, engine).await?);
            // Each round's stores are only needed while it runs.
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
    Ok(json!({
        "rounds": ROUNDS,
        "publish_indicators": publish,
        "publish_on_per_s": publish_rates.best(true),
        "publish_off_per_s": publish_rates.best(false),
        "publish_ratio_on_off": publish_rates.ratio(),
        "ingest_indicators": ingest,
        "ingest_on_per_s": ingest_rates.best(true),
        "ingest_off_per_s": ingest_rates.best(false),
        "ingest_ratio_on_off": ingest_rates.ratio(),
        "target_ratio": TARGET_RATIO,
        "meets_target": publish_rates.ratio() >= TARGET_RATIO && ingest_rates.ratio() >= TARGET_RATIO,
    }))
}

fn setting(log: bool) -> &'static str {
    if log { "on" } else { "off" }
}

/// Rates measured with the tree on and off.
#[derive(Debug, Default)]
struct Rates {
    on: Vec<f64>,
    off: Vec<f64>,
}

impl Rates {
    fn push(&mut self, log: bool, rate: f64) {
        if log { self.on.push(rate) } else { self.off.push(rate) }
    }

    fn best(&self, log: bool) -> f64 {
        let of = if log { &self.on } else { &self.off };
        of.iter().copied().fold(0.0, f64::max)
    }

    fn ratio(&self) -> f64 {
        let off = self.best(false);
        if off > 0.0 { self.best(true) / off } else { 0.0 }
    }
}

/// Starts node `id` in `base` with `[log] enabled = log`. A new node is
/// started once as `jaring init` makes it, stopped, and its `node.toml`
/// changed: the fleet starts nodes from their own configuration.
async fn start(base: &Path, id: &str, fed_key: Option<&Path>, log: bool, engine: EngineKind) -> Result<FleetNode> {
    let spec = NodeSpec { id, region: "ID", federation_key: fed_key, engine, log_level: "warn", http: false };
    let config_path = base.join(id.to_ascii_lowercase()).join("node.toml");
    if !config_path.exists() {
        fleet::start(base, &spec).await?.stop();
    }
    let mut config = Config::load(&config_path).with_context(|| format!("reading {}", config_path.display()))?;
    config.log.enabled = log;
    super::bench::unthrottled(&mut config);
    std::fs::write(&config_path, config.to_toml())?;
    let mut node = fleet::start(base, &spec).await?;
    let status = node.client.status(pb::StatusRequest {}).await.map_err(status_error)?.into_inner();
    if status.log.is_some_and(|l| l.enabled) != log {
        bail!("node {id} started with the transparency log {}, not {}", setting(!log), setting(log));
    }
    Ok(node)
}

/// Indicators per second submitted to one node.
async fn publish_rate(base: &Path, n: u64, log: bool, engine: EngineKind) -> Result<f64> {
    let mut node = start(base, "ID", None, log, engine).await?;
    let took = load(&node.client, n, "tlog", 2).await?;
    let head = log_head(&mut node.client).await?;
    if head != n {
        bail!("log publish ({}): log head {head}, expected {n}", setting(log));
    }
    Ok(n as f64 / took.as_secs_f64())
}

/// Indicators per second a subscriber catches up on.
async fn ingest_rate(base: &Path, n: u64, log: bool, engine: EngineKind) -> Result<f64> {
    let mut publisher = start(base, "ID", None, log, engine).await?;
    load(&publisher.client, n, "tlog", 2).await?;
    let key = publisher.dir.join("keys/federation-1.key");
    let mut subscriber = start(base, "VN", Some(&key), log, engine).await?;
    publisher.peer(&subscriber, false, false).await?;
    let t = Instant::now();
    subscriber.peer(&publisher, false, false).await?;
    super::bench::wait_for_head(&mut subscriber.client, n, &format!("log ingest ({})", setting(log))).await?;
    Ok(n as f64 / t.elapsed().as_secs_f64())
}
