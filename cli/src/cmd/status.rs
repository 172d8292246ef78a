//! `jaring status`.

use anyhow::Result;
use clap::Args;
use jaring_node::model::Kind;
use jaring_node::warninglist::IndexStats;
use jaring_node::wire::{FromPb, WireEnum};
use jaring_proto::pb;
use serde::Serialize;

use crate::client::{Target, status_error};
use crate::output::{Output, time};

/// Show node status.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  jaring --node ./id-node status --json\n  jaring --node ./id-node status --watch --interval 2"
)]
pub struct StatusArgs {
    /// Refresh in place until interrupted (with --json: one JSON line per refresh).
    #[arg(long)]
    watch: bool,
    /// Seconds between refreshes with --watch.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..=3600))]
    interval: u64,
}

#[derive(Serialize)]
struct Status {
    node_id: String,
    version: String,
    region: String,
    started_at_ms: i64,
    uptime_s: i64,
    log_head: u64,
    signing_key_ids: Vec<String>,
    signing_keys: Vec<KeyAge>,
    certs: Vec<CertExpiry>,
    federation_listen: String,
    admin_listen: String,
    kinds: std::collections::BTreeMap<String, u64>,
    origins: Vec<Origin>,
    peers: Vec<PeerState>,
    quarantined: u64,
    quarantined_last_hour: u64,
    /// Rejections in the last hour (kept under this name for scripts).
    rejected: u64,
    rejected_last_hour: u64,
    forks: u64,
    /// fjall, sled or postgres.
    store_engine: String,
    /// writer, standby or reader.
    store_role: String,
    /// The writer's admin address, from a standby or reader.
    writer_admin: Option<String>,
    /// How far the read replica is behind, ms.
    replica_lag_ms: Option<i64>,
    /// Whether the store takes commits (false: nothing can be stored, e.g.
    /// a full disk).
    store_healthy: bool,
    store_last_error: String,
    store_failing_since_ms: Option<i64>,
    store_failed_commits: u64,
    /// The allowlist index: lists, rules by shape, memory.
    allowlists: IndexStats,
    /// The transparency log.
    log: LogState,
}

#[derive(Serialize, Default)]
struct LogState {
    enabled: bool,
    origin: String,
    tree_size: u64,
    checkpoint_size: u64,
    checkpoint_cosigners: Vec<String>,
    cosigned_size: u64,
    cosigned_by: Vec<String>,
    witnessed: Vec<WitnessedLog>,
    /// Fork evidence kept about peers' logs.
    forks: Vec<LogFork>,
}

#[derive(Serialize)]
struct WitnessedLog {
    origin: String,
    peer: String,
    size: u64,
    cosigned_at_ms: i64,
}

#[derive(Serialize)]
struct LogFork {
    origin: String,
    peer: String,
    kind: String,
    detail: String,
    detected_at_ms: i64,
}

#[derive(Serialize)]
struct KeyAge {
    key_id: String,
    valid_from_ms: i64,
    age_s: i64,
    revoked_at_ms: Option<i64>,
    current: bool,
}

#[derive(Serialize)]
struct CertExpiry {
    subject: String,
    not_after_ms: i64,
    days_left: i64,
    /// Expires within 30 days (or has).
    warning: bool,
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
    lag_s: i64,
    last_contact_ms: i64,
    outbound_streams: u32,
    last_error: String,
}

/// Runs `jaring status`.
///
/// # Errors
///
/// Node unreachable.
pub async fn run(a: StatusArgs, target: &Target, out: &Output) -> Result<()> {
    let mut client = target.connect().await?;
    if !a.watch {
        let status = fetch(&mut client).await?;
        print(&status, out);
        return Ok(());
    }
    loop {
        let status = fetch(&mut client).await;
        if out.json {
            match &status {
                Ok(s) => println!("{}", serde_json::to_string(s).unwrap_or_default()),
                Err(e) => println!("{}", serde_json::json!({ "error": format!("{e:#}") })),
            }
        } else {
            // Clear the screen and home the cursor, then redraw.
            print!("\x1b[2J\x1b[H");
            match &status {
                Ok(s) => print(s, out),
                Err(e) => println!("jaring: {e:#}"),
            }
            println!("\n(refreshing every {}s; Ctrl-C to stop)", a.interval);
        }
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_secs(a.interval)) => {}
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
    }
}

async fn fetch(client: &mut crate::client::Client) -> Result<Status> {
    let s = client.status(pb::StatusRequest {}).await.map_err(status_error)?.into_inner();
    let now = jaring_node::model::now_ms();
    let status = Status {
        uptime_s: (now - s.started_at_ms) / 1000,
        node_id: s.node_id,
        version: s.version,
        region: s.region,
        store_engine: s.store_engine,
        store_role: s.store_role,
        writer_admin: Some(s.writer_admin).filter(|w| !w.is_empty()),
        replica_lag_ms: Some(s.replica_lag_ms).filter(|l| *l >= 0),
        started_at_ms: s.started_at_ms,
        log_head: s.log_head,
        signing_key_ids: s.signing_key_ids,
        signing_keys: s
            .signing_keys
            .into_iter()
            .map(|k| KeyAge {
                age_s: (now - k.valid_from_ms).max(0) / 1000,
                key_id: k.key_id,
                valid_from_ms: k.valid_from_ms,
                revoked_at_ms: (k.revoked_at_ms != 0).then_some(k.revoked_at_ms),
                current: k.current,
            })
            .collect(),
        certs: s
            .certs
            .into_iter()
            .map(|c| CertExpiry {
                days_left: (c.not_after_ms - now).div_euclid(86_400_000),
                subject: c.subject,
                not_after_ms: c.not_after_ms,
                warning: c.warning,
            })
            .collect(),
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
                lag_s: p.inbound_lag_ms / 1000,
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
        quarantined_last_hour: s.quarantined_last_hour,
        rejected: s.rejected_last_hour,
        rejected_last_hour: s.rejected_last_hour,
        forks: s.forks,
        store_healthy: !s.store_failing,
        store_last_error: s.store_last_error,
        store_failing_since_ms: (s.store_failing_since_ms != 0).then_some(s.store_failing_since_ms),
        store_failed_commits: s.store_failed_commits,
        allowlists: s.allowlists.map(IndexStats::from_pb).transpose()?.unwrap_or_default(),
        log: s
            .log
            .map(|l| LogState {
                enabled: l.enabled,
                origin: l.origin,
                tree_size: l.tree_size,
                checkpoint_size: l.checkpoint_size,
                checkpoint_cosigners: l.checkpoint_cosigners,
                cosigned_size: l.cosigned_size,
                cosigned_by: l.cosigned_by,
                witnessed: l
                    .witnessed
                    .into_iter()
                    .map(|w| WitnessedLog {
                        origin: w.origin,
                        peer: w.peer,
                        size: w.size,
                        cosigned_at_ms: w.cosigned_at_ms,
                    })
                    .collect(),
                forks: l
                    .forks
                    .into_iter()
                    .map(|f| LogFork {
                        origin: f.origin,
                        peer: f.peer,
                        kind: f.kind,
                        detail: f.detail,
                        detected_at_ms: f.detected_at_ms,
                    })
                    .collect(),
            })
            .unwrap_or_default(),
    };
    Ok(status)
}

fn print(status: &Status, out: &Output) {
    if out.json {
        out.json(status);
        return;
    }
    println!(
        "node {} (jaring {}) region {}",
        status.node_id,
        status.version,
        if status.region.is_empty() { "-" } else { &status.region }
    );
    println!("  up {}s since {}", status.uptime_s, time(status.started_at_ms));
    println!("  federation {}  admin {}", status.federation_listen, status.admin_listen);
    println!("  log head {}", status.log_head);
    if !status.store_healthy {
        println!(
            "  UNHEALTHY: the store refuses commits since {} ({} failed): {}",
            status.store_failing_since_ms.map_or_else(|| "-".to_string(), time),
            status.store_failed_commits,
            status.store_last_error
        );
    }
    if status.store_engine == "postgres" {
        let writer = status.writer_admin.as_deref().map(|w| format!(" (writer at {w})")).unwrap_or_default();
        let lag = status.replica_lag_ms.map(|l| format!(", replica {l} ms behind")).unwrap_or_default();
        println!("  store postgres: this process is the {}{writer}{lag}", status.store_role);
    }
    for k in &status.signing_keys {
        let state = match (k.current, k.revoked_at_ms) {
            (_, Some(t)) => format!("revoked from {}", time(t)),
            (true, None) => "current".into(),
            (false, None) => "verifies only".into(),
        };
        println!("  signing key {}  age {}  {state}", k.key_id, crate::output::age(k.valid_from_ms));
    }
    for c in &status.certs {
        if c.warning {
            println!("  WARNING: {} certificate expires {} ({} days)", c.subject, time(c.not_after_ms), c.days_left);
        }
    }
    let kinds: Vec<String> = status.kinds.iter().map(|(k, n)| format!("{k} {n}")).collect();
    println!("  indicators by kind: {}", if kinds.is_empty() { "none".into() } else { kinds.join(", ") });
    for o in &status.origins {
        println!("  origin {:<12} {} indicators, head #{}", o.origin, o.indicators, o.head_seq);
    }
    let a = &status.allowlists;
    println!(
        "  allowlists {}: {} domain rules, {} exact values, {} addresses, {} networks; {:.1} MiB in memory",
        a.lists,
        a.rules.domains,
        a.rules.exact,
        a.rules.addresses,
        a.rules.networks,
        a.memory_bytes as f64 / (1024.0 * 1024.0)
    );
    println!(
        "  quarantined {} (new in the last hour {})  rejected in the last hour {}  forks {}",
        status.quarantined, status.quarantined_last_hour, status.rejected_last_hour, status.forks
    );
    let log = &status.log;
    if log.enabled {
        let by = |v: &[String]| {
            if v.is_empty() { "no witness yet".to_string() } else { format!("cosigned by {}", v.join(", ")) }
        };
        println!(
            "  transparency log {}  tree size {}  checkpoint size {} ({})  latest cosigned size {} ({})",
            log.origin,
            log.tree_size,
            log.checkpoint_size,
            by(&log.checkpoint_cosigners),
            log.cosigned_size,
            by(&log.cosigned_by)
        );
    } else {
        println!("  transparency log off ([log] enabled = false)");
    }
    for w in &log.witnessed {
        println!("  witness of {:<10} {}  cosigned size {} at {}", w.peer, w.origin, w.size, time(w.cosigned_at_ms));
    }
    for f in &log.forks {
        println!(
            "  LOG FORK: {} ({}) {} at {}: {} (evidence kept; `jaring audit list`)",
            f.peer,
            f.origin,
            f.kind,
            time(f.detected_at_ms),
            f.detail
        );
    }
    if status.peers.is_empty() {
        println!("  no peers");
    }
    for p in &status.peers {
        println!(
            "  peer {:<10} {:<8} {:<11} cursor {} / {} (lag {} entries, {}s)  last contact {}  streams out {}{}",
            p.node_id,
            p.trust,
            p.state,
            p.cursor,
            p.peer_head,
            p.lag_entries,
            p.lag_s,
            time(p.last_contact_ms),
            p.outbound_streams,
            if p.last_error.is_empty() { String::new() } else { format!("  last error: {}", p.last_error) }
        );
    }
}
