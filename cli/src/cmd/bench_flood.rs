//! `jaring bench flood`: what a connection flood without credentials does
//! to the node's own work. Two real nodes (ID, with its HTTPS listener, and
//! VN, its peer) on loopback; admin `Status` latency at ID and
//! publish-to-visible latency from ID to VN are measured idle, then while
//!
//! - [`HTTPS_FLOOD`] TCP connections from other loopback addresses
//!   (127.0.0.2 and up, [`PER_ADDRESS`] each) sit on ID's HTTPS port
//!   saying nothing, and
//! - [`FEDERATION_FLOOD`] more sit on ID's federation port,
//!
//! each reopened [`RECONNECT_AFTER`] after the node closes it (those the
//! caps refuse, at once: a few thousand connections a second). The report
//! gives both
//! latencies as ratios of flood to idle; the target is at most
//! [`TARGET_RATIO`].

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use jaring_node::model::{Category, Distribution, Kind, Tlp};
use jaring_node::store::EngineKind;
use jaring_node::submission::NewIndicator;
use jaring_node::wire::{ToPb, WireEnum};
use jaring_proto::pb;
use serde_json::{Value, json};
use tokio::io::AsyncReadExt;

use crate::client::{Client, status_error};
use crate::fleet::{self, FleetNode, NodeSpec};

/// Idle connections on the HTTPS port.
pub const HTTPS_FLOOD: usize = 2000;
/// Idle connections on the federation port.
pub const FEDERATION_FLOOD: usize = 600;
/// Connections per flooding address (the federation's per-address cap is 8).
pub const PER_ADDRESS: usize = 6;
/// The latency ratio flood/idle the node is meant to stay within.
pub const TARGET_RATIO: f64 = 2.0;
/// How soon a closed flood connection is opened again.
pub const RECONNECT_AFTER: Duration = Duration::from_millis(200);
/// Admin calls per measurement.
const ADMIN_CALLS: usize = 300;
/// Indicators published per measurement.
const PUBLISHES: usize = 40;

async fn start(base: &Path, id: &str, http: bool, fed_key: Option<&Path>) -> Result<FleetNode> {
    let spec =
        NodeSpec { id, region: "ID", federation_key: fed_key, engine: EngineKind::default(), log_level: "warn", http };
    fleet::start(base, &spec).await
}

/// Idle connections from loopback addresses, each reopened once the node
/// closes it, until `stop`.
fn flood(port: u16, n: usize, first_address: u32, stop: Arc<AtomicBool>, opened: Arc<AtomicU64>) {
    for i in 0..n {
        let a = first_address + u32::try_from(i / PER_ADDRESS).unwrap_or(0);
        let from = Ipv4Addr::new(127, (a >> 16) as u8, (a >> 8) as u8, a as u8);
        let (stop, opened) = (stop.clone(), opened.clone());
        tokio::spawn(async move {
            let mut buf = [0u8; 256];
            while !stop.load(Ordering::Relaxed) {
                let conn = async {
                    let socket = tokio::net::TcpSocket::new_v4()?;
                    socket.bind(SocketAddr::from((from, 0)))?;
                    socket.connect(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).await
                };
                match tokio::time::timeout(Duration::from_secs(5), conn).await {
                    Ok(Ok(mut s)) => {
                        opened.fetch_add(1, Ordering::Relaxed);
                        // Say nothing; wait until the node closes it.
                        while !stop.load(Ordering::Relaxed) {
                            if let Ok(Ok(0) | Err(_)) =
                                tokio::time::timeout(Duration::from_millis(200), s.read(&mut buf)).await
                            {
                                break;
                            }
                        }
                    }
                    _ => tokio::time::sleep(Duration::from_millis(50)).await,
                }
                tokio::time::sleep(RECONNECT_AFTER).await;
            }
        });
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

async fn admin_latencies(client: &Client) -> Result<Vec<f64>> {
    let mut c = client.clone();
    let mut out = Vec::with_capacity(ADMIN_CALLS);
    for _ in 0..ADMIN_CALLS {
        let t = Instant::now();
        c.status(pb::StatusRequest {}).await.map_err(status_error)?;
        out.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    out.sort_by(f64::total_cmp);
    Ok(out)
}

async fn propagation(id: &FleetNode, vn: &FleetNode, tag: &str) -> Result<Vec<f64>> {
    let mut out = Vec::with_capacity(PUBLISHES);
    for i in 0..PUBLISHES {
        let value = format!("flood-{tag}-{i}.loker-palsu.co.id");
        let input = NewIndicator {
            kind: Some(Kind::Domain),
            value: value.clone(),
            categories: vec![Category::JobScam],
            confidence: 70,
            tlp: Some(Tlp::Green),
            distribution: Some(Distribution::Federation),
            ..Default::default()
        };
        let mut c = id.client.clone();
        c.submit_indicators(pb::SubmitIndicatorsRequest { indicators: vec![input.to_pb()], ..Default::default() })
            .await
            .map_err(status_error)?;
        let acked = Instant::now();
        let mut v = vn.client.clone();
        let q = pb::LookupRequest {
            queries: vec![pb::LookupQuery { value, kind: Kind::Domain.to_wire() }],
            min_score: 0,
            summary: true,
        };
        loop {
            let r = v.lookup(q.clone()).await.map_err(status_error)?.into_inner();
            if r.results.first().is_some_and(|r| !r.views.is_empty()) {
                out.push(acked.elapsed().as_secs_f64() * 1000.0);
                break;
            }
            if acked.elapsed() > Duration::from_secs(30) {
                bail!("not visible at VN after 30 s");
            }
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
    }
    out.sort_by(f64::total_cmp);
    Ok(out)
}

/// Runs the scenario in `base`, a
/// scratch directory.
///
/// # Errors
///
/// A node failing to start, or a call failing during the measurements.
pub async fn run(base: &Path) -> Result<Value> {
    // The flood's own sockets: as many as the hard limit allows.
    let _ = jaring_node::fd_budget::raise_open_files((HTTPS_FLOOD + FEDERATION_FLOOD) as u64 + 512);
    let mut id = start(base, "ID", true, None).await?;
    let mut vn = start(base, "VN", false, Some(&id.federation_key())).await?;
    id.peer(&vn, false, false).await?;
    vn.peer(&id, false, false).await?;
    let bound = id.bound()?;
    let https_port = bound.http.context("ID has no HTTPS listener")?.port();
    let fed_port = bound.federation.port();
    // Warm up: the subscription is up and the first lookups are done.
    propagation(&id, &vn, "warmup").await?;

    let admin_idle = admin_latencies(&id.client).await?;
    let prop_idle = propagation(&id, &vn, "idle").await?;

    let stop = Arc::new(AtomicBool::new(false));
    let opened = Arc::new(AtomicU64::new(0));
    flood(https_port, HTTPS_FLOOD, 2, stop.clone(), opened.clone());
    flood(fed_port, FEDERATION_FLOOD, 2 + (HTTPS_FLOOD / PER_ADDRESS) as u32 + 1, stop.clone(), opened.clone());
    tokio::time::sleep(Duration::from_secs(2)).await;
    let admin_flood = admin_latencies(&id.client).await?;
    let prop_flood = propagation(&id, &vn, "flood").await?;
    let connections_opened = opened.load(Ordering::Relaxed);
    stop.store(true, Ordering::Relaxed);

    let ratio = |flooded: &[f64], idle: &[f64]| percentile(flooded, 0.5) / percentile(idle, 0.5).max(1e-6);
    let admin_ratio = ratio(&admin_flood, &admin_idle);
    let prop_ratio = ratio(&prop_flood, &prop_idle);
    Ok(json!({
        "https_flood_connections": HTTPS_FLOOD,
        "federation_flood_connections": FEDERATION_FLOOD,
        "flood_connections_opened": connections_opened,
        "admin_status_p50_ms_idle": percentile(&admin_idle, 0.5),
        "admin_status_p50_ms_flood": percentile(&admin_flood, 0.5),
        "admin_status_p99_ms_idle": percentile(&admin_idle, 0.99),
        "admin_status_p99_ms_flood": percentile(&admin_flood, 0.99),
        "admin_ratio": admin_ratio,
        "propagation_p50_ms_idle": percentile(&prop_idle, 0.5),
        "propagation_p50_ms_flood": percentile(&prop_flood, 0.5),
        "propagation_ratio": prop_ratio,
        "target_ratio": TARGET_RATIO,
        "within_target": admin_ratio <= TARGET_RATIO && prop_ratio <= TARGET_RATIO,
    }))
}
