//! `jaring status`.

use anyhow::Result;
use clap::Args;
use jaring_node::model::Kind;
use jaring_proto::pb;
use serde::Serialize;

use crate::client::{Target, status_error};
use crate::output::{Output, time};

/// Show node status.
#[derive(Debug, Args)]
#[command(after_help = "Example:\n  jaring --node ./id-node status --json")]
pub struct StatusArgs {}

#[derive(Serialize)]
struct Status {
    node_id: String,
    version: String,
    region: String,
    started_at_ms: i64,
    uptime_s: i64,
    log_head: u64,
    signing_key_ids: Vec<String>,
    federation_listen: String,
    admin_listen: String,
    kinds: std::collections::BTreeMap<String, u64>,
    origins: Vec<Origin>,
    peers: Vec<PeerState>,
    quarantined: u64,
    rejected: u64,
    forks: u64,
}

#[derive(Serialize)]
struct Origin {
    origin: String,
    indicators: u64,
    head_seq: u64,
}

#[derive(Serialize)]
struct PeerState {
    node_id: String,
    trust: String,
    state: String,
    cursor: u64,
    peer_head: u64,
    lag_entries: u64,
    last_contact_ms: i64,
    outbound_streams: u32,
    last_error: String,
}

/// Runs `jaring status`.
///
/// # Errors
///
/// Node unreachable.
pub async fn run(_a: StatusArgs, target: &Target, out: &Output) -> Result<()> {
    let mut client = target.connect().await?;
    let s = client.status(pb::StatusRequest {}).await.map_err(status_error)?.into_inner();
    let now = jaring_node::model::now_ms();
    let status = Status {
        uptime_s: (now - s.started_at_ms) / 1000,
        node_id: s.node_id,
        version: s.version,
        region: s.region,
        started_at_ms: s.started_at_ms,
        log_head: s.log_head,
        signing_key_ids: s.signing_key_ids,
        federation_listen: s.federation_listen,
        admin_listen: s.admin_listen,
        kinds: s.kinds.iter().filter_map(|k| Some((Kind::from_wire(k.kind).ok()??.to_string(), k.count))).collect(),
        origins: s
            .origins
            .into_iter()
            .map(|o| Origin { origin: o.origin, indicators: o.count, head_seq: o.head_seq })
            .collect(),
        peers: s
            .peers
            .into_iter()
            .map(|p| PeerState {
                lag_entries: p.inbound_head.saturating_sub(p.inbound_cursor),
                node_id: p.node_id,
                trust: p.trust,
                state: p.inbound_state,
                cursor: p.inbound_cursor,
                peer_head: p.inbound_head,
                last_contact_ms: p.last_contact_ms,
                outbound_streams: p.outbound_streams,
                last_error: p.last_error,
            })
            .collect(),
        quarantined: s.quarantined,
        rejected: s.rejected_last_hour,
        forks: s.forks,
    };
    if out.json {
        out.json(&status);
        return Ok(());
    }
    println!(
        "node {} (jaring {}) region {}",
        status.node_id,
        status.version,
        if status.region.is_empty() { "-" } else { &status.region }
    );
    println!("  up {}s since {}", status.uptime_s, time(status.started_at_ms));
    println!("  federation {}  admin {}", status.federation_listen, status.admin_listen);
    println!("  log head {}  signing keys {}", status.log_head, status.signing_key_ids.join(", "));
    let kinds: Vec<String> = status.kinds.iter().map(|(k, n)| format!("{k} {n}")).collect();
    println!("  indicators by kind: {}", if kinds.is_empty() { "none".into() } else { kinds.join(", ") });
    for o in &status.origins {
        println!("  origin {:<12} {} indicators, head #{}", o.origin, o.indicators, o.head_seq);
    }
    println!("  quarantined {}  rejected {}  forks {}", status.quarantined, status.rejected, status.forks);
    if status.peers.is_empty() {
        println!("  no peers");
    }
    for p in &status.peers {
        println!(
            "  peer {:<10} {:<8} {:<11} cursor {} / {} (lag {})  last contact {}  streams out {}{}",
            p.node_id,
            p.trust,
            p.state,
            p.cursor,
            p.peer_head,
            p.lag_entries,
            time(p.last_contact_ms),
            p.outbound_streams,
            if p.last_error.is_empty() { String::new() } else { format!("  last error: {}", p.last_error) }
        );
    }
    Ok(())
}
