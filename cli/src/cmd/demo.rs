//! `jaring demo`: a local federation on loopback.
//!
//! Starts Indonesia (ID), Viet Nam (VN) and Malaysia (MY) as real node
//! processes ([`crate::fleet`]), each with its own dev PKI, signing key and
//! store in a temporary directory, peers them (a line ID - VN - MY by default, where VN relays,
//! or a full mesh), submits sample job-scam and trafficking-recruitment
//! indicators at ID through its admin API, and shows when each becomes
//! visible at the other nodes. AMBER and RED samples show what the default
//! agreements hold back.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use jaring_node::identity::IdentityCard;
use jaring_node::model::{Category, Distribution, Kind, Tlp};
use jaring_node::shutdown;
use jaring_node::store::EngineKind;
use jaring_node::submission::NewIndicator;
use jaring_node::wire::{ToPb, WireEnum};
use jaring_proto::pb;

use crate::client::status_error;
use crate::fleet::{self, FleetNode, NodeSpec};
use crate::output::Output;

/// Run a local federation.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  jaring demo --once\n  jaring demo --topology mesh --dir ./demo-federation")]
pub struct DemoArgs {
    /// Run one round and exit (otherwise publish a new sample every few seconds until Ctrl-C).
    #[arg(long)]
    once: bool,
    /// line (ID - VN - MY, VN relays) or mesh (everyone peers with everyone).
    #[arg(long, value_enum, default_value_t = Topology::Line)]
    topology: Topology,
    /// Keep the node directories here instead of a temporary directory.
    #[arg(long)]
    dir: Option<PathBuf>,
}

/// Demo topology.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Topology {
    /// ID - VN - MY.
    Line,
    /// Everyone with everyone.
    Mesh,
}

const NODES: [(&str, &str, &str); 3] = [("ID", "ID", "Indonesia"), ("VN", "VN", "Viet Nam"), ("MY", "MY", "Malaysia")];

struct DemoNode {
    id: &'static str,
    name: &'static str,
    node: FleetNode,
}

struct Sample {
    kind: Kind,
    value: &'static str,
    lookup_as: &'static str,
    category: Category,
    tlp: Tlp,
    description: &'static str,
}

const SAMPLES: &[Sample] = &[
    Sample {
        kind: Kind::Domain,
        value: "loker-kerja-jepang.co.id",
        lookup_as: "LOKER-KERJA-JEPANG.CO.ID.",
        category: Category::JobScam,
        tlp: Tlp::Green,
        description: "fake overseas job portal promising factory work in Japan",
    },
    Sample {
        kind: Kind::Phone,
        value: "0812-3456-7890",
        lookup_as: "+62 812 3456 7890",
        category: Category::TraffickingRecruitment,
        tlp: Tlp::Green,
        description: "recruiter number in ads for 'customer service' jobs in Cambodia",
    },
    Sample {
        kind: Kind::Url,
        value: "https://Gaji-Tinggi.example.com/daftar?ref=fb#form",
        lookup_as: "HTTPS://GAJI-TINGGI.example.com:443/daftar?ref=fb",
        category: Category::JobScam,
        tlp: Tlp::Clear,
        description: "sign-up form of a high-salary job scam",
    },
    Sample {
        kind: Kind::Domain,
        value: "investasi-emas-syariah.com",
        lookup_as: "investasi-emas-syariah.com",
        category: Category::InvestmentScam,
        tlp: Tlp::Amber,
        description: "AMBER: the default agreements share only up to GREEN",
    },
    Sample {
        kind: Kind::Domain,
        value: "operasi-tertutup.net",
        lookup_as: "operasi-tertutup.net",
        category: Category::TraffickingRecruitment,
        tlp: Tlp::Red,
        description: "RED: never leaves the node",
    },
];

/// Runs the demo.
///
/// # Errors
///
/// A node failing to start, or the federation not converging in time.
pub async fn run(a: DemoArgs, out: &Output) -> Result<()> {
    let temp;
    let base = match &a.dir {
        Some(d) => d.clone(),
        None => {
            temp = tempfile::Builder::new().prefix("jaring-demo-").tempdir().context("making a temporary directory")?;
            temp.path().to_path_buf()
        }
    };
    let mut nodes = Vec::new();
    let mut fed_key: Option<PathBuf> = None;
    for (id, region, name) in NODES {
        let spec = NodeSpec {
            id,
            region,
            federation_key: fed_key.as_deref(),
            engine: EngineKind::default(),
            log_level: "warn",
            http: false,
        };
        let node = fleet::start(&base, &spec).await?;
        fed_key.get_or_insert_with(|| node.federation_key());
        nodes.push(DemoNode { id, name, node });
    }
    let result = demo(&mut nodes, &a, out).await;
    for n in &mut nodes {
        n.node.stop();
    }
    result
}

/// The value a sample publishes in a round: a new one each round after the
/// first, with the round number on the host name so it stays valid.
fn round_value(s: &Sample, round: u32) -> String {
    match round {
        1 => s.value.to_string(),
        _ if s.kind == Kind::Url => s.value.replacen("://", &format!("://r{round}-"), 1),
        _ => format!("r{round}-{}", s.value),
    }
}

async fn demo(nodes: &mut [DemoNode], a: &DemoArgs, out: &Output) -> Result<()> {
    let fresh = nodes[0]
        .node
        .client
        .list_peers(pb::ListPeersRequest {})
        .await
        .map_err(status_error)?
        .into_inner()
        .peers
        .is_empty();
    if fresh {
        // (from, to, from relays to `to`, `to` is a member only: its keys
        // are trusted on relayed indicators, but no connection is made)
        let links: Vec<(usize, usize, bool, bool)> = match a.topology {
            Topology::Line => vec![
                (0, 1, false, false),
                (1, 0, false, false),
                (1, 2, true, false),
                (2, 1, false, false),
                (2, 0, false, true),
            ],
            Topology::Mesh => vec![
                (0, 1, false, false),
                (1, 0, false, false),
                (1, 2, false, false),
                (2, 1, false, false),
                (0, 2, false, false),
                (2, 0, false, false),
            ],
        };
        for (from, to, relay, member_only) in links {
            let card = nodes[to].node.card()?;
            nodes[from].node.peer_card(card, relay, member_only).await?;
        }
    } else {
        // Kept directories from an earlier run: the nodes picked new ports,
        // so tell each the endpoints its peers' cards now name.
        for i in 0..nodes.len() {
            for j in 0..nodes.len() {
                if i == j {
                    continue;
                }
                let card = IdentityCard::verify(&nodes[j].node.card()?).context("a node's identity card")?;
                let update = pb::UpdatePeerRequest {
                    node_id: card.node_id,
                    endpoint: card.federation_endpoint,
                    ..Default::default()
                };
                // Not every pair is peered (line topology, member-only).
                let _ = nodes[i].node.client.update_peer(update).await;
            }
        }
    }
    if !out.json {
        println!(
            "Jaring demo: {} federation on loopback",
            match a.topology {
                Topology::Line => "line ID - VN - MY (VN relays ID's indicators to MY)",
                Topology::Mesh => "full mesh of ID, VN and MY",
            }
        );
        for n in nodes.iter() {
            println!("  {} {:<10} {}", n.id, n.name, n.node.dir.display());
        }
        println!();
    }
    let mut round = 0u32;
    let mut report = Vec::new();
    // One listener for the whole run (signals that arrive between polls are
    // kept): a Ctrl-C or SIGTERM during a round stops the demo too, not only
    // one during the pause.
    let stop = shutdown::on_signals();
    tokio::pin!(stop);
    loop {
        round += 1;
        let publish = async {
            for s in SAMPLES {
                let value = round_value(s, round);
                let lookup_as = if round == 1 { s.lookup_as.to_string() } else { value.clone() };
                if round > 1 && s.kind == Kind::Phone {
                    continue;
                }
                let row = publish_and_watch(nodes, s, &value, &lookup_as).await?;
                if !out.json {
                    print_row(&row);
                }
                report.push(row);
            }
            Ok::<(), anyhow::Error>(())
        };
        tokio::select! {
            r = publish => r?,
            _ = &mut stop => break,
        }
        if a.once {
            break;
        }
        if !out.json {
            println!("\n(publishing a new round in 5 s; Ctrl-C to stop)\n");
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(5)) => {}
            _ = &mut stop => break,
        }
    }
    if out.json {
        out.json(&report);
    }
    let missing: Vec<&Row> =
        report.iter().filter(|r| r.expected_everywhere && r.seen.iter().any(|(_, t)| t.is_none())).collect();
    let leaked: Vec<&Row> =
        report.iter().filter(|r| !r.expected_everywhere && r.seen.iter().any(|(_, t)| t.is_some())).collect();
    if !missing.is_empty() {
        bail!("{} shared indicator(s) did not reach every node", missing.len());
    }
    if !leaked.is_empty() {
        bail!("{} restricted indicator(s) left the origin", leaked.len());
    }
    Ok(())
}

#[derive(serde::Serialize)]
struct Row {
    kind: Kind,
    value: String,
    tlp: Tlp,
    category: Category,
    expected_everywhere: bool,
    /// node -> milliseconds from acknowledgement to lookup-visible.
    seen: Vec<(String, Option<f64>)>,
    description: String,
}

async fn publish_and_watch(nodes: &mut [DemoNode], s: &Sample, value: &str, lookup_as: &str) -> Result<Row> {
    let input = NewIndicator {
        kind: Some(s.kind),
        value: value.to_string(),
        categories: vec![s.category],
        confidence: 85,
        tlp: Some(s.tlp),
        distribution: Some(Distribution::Federation),
        valid_until_ms: Some(jaring_node::model::now_ms() + 30 * 24 * 3600 * 1000),
        description: Some(s.description.to_string()),
        ..Default::default()
    };
    let resp = nodes[0]
        .node
        .client
        .submit_indicators(pb::SubmitIndicatorsRequest { indicators: vec![input.to_pb()], ..Default::default() })
        .await
        .map_err(status_error)?
        .into_inner();
    if let Some(pb::SubmitResult { result: Some(pb::submit_result::Result::Error(e)) }) = resp.results.first() {
        bail!("ID refused {value}: {}", e.reason);
    }
    let acked = Instant::now();
    let expected = s.tlp <= Tlp::Green;
    let patience = if expected { Duration::from_secs(15) } else { Duration::from_millis(1500) };
    let mut seen: Vec<(String, Option<f64>)> = nodes[1..].iter().map(|n| (n.id.to_string(), None)).collect();
    while acked.elapsed() < patience && seen.iter().any(|(_, t)| t.is_none()) {
        for (i, n) in nodes[1..].iter_mut().enumerate() {
            if seen[i].1.is_some() {
                continue;
            }
            let r = n
                .node
                .client
                .lookup(pb::LookupRequest {
                    queries: vec![pb::LookupQuery { value: lookup_as.to_string(), kind: s.kind.to_wire() }],
                    min_score: 0,
                    summary: false,
                })
                .await
                .map_err(status_error)?
                .into_inner();
            if r.results.first().is_some_and(|r| !r.views.is_empty()) {
                seen[i].1 = Some(acked.elapsed().as_secs_f64() * 1000.0);
            }
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    Ok(Row {
        kind: s.kind,
        value: value.to_string(),
        tlp: s.tlp,
        category: s.category,
        expected_everywhere: expected,
        seen,
        description: s.description.to_string(),
    })
}

fn print_row(r: &Row) {
    println!("ID published {} {} ({}, {})", r.kind, r.value, r.category, r.tlp.label());
    println!("   {}", r.description);
    for (node, t) in &r.seen {
        match t {
            Some(ms) => println!("   -> visible at {node} after {ms:.1} ms"),
            None if r.expected_everywhere => println!("   -> NOT visible at {node}"),
            None => println!("   -> not shared with {node} (as the agreements require)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jaring_node::normalize::{NormalizeContext, normalize};

    #[test]
    fn every_round_publishes_valid_new_values() {
        let ctx = NormalizeContext::default();
        for s in SAMPLES.iter().filter(|s| s.kind != Kind::Phone) {
            let first = normalize(s.kind, &round_value(s, 1), &ctx);
            let second = normalize(s.kind, &round_value(s, 2), &ctx);
            assert!(first.is_ok() && second.is_ok(), "{}: {first:?} / {second:?}", s.value);
            assert_ne!(first.ok(), second.ok(), "{} repeats in round 2", s.value);
        }
    }
}
