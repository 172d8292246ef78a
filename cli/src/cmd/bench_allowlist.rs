//! `jaring bench allowlist`: what large allowlists cost (issue 22).
//!
//! With `--allow-domains` domain rules (a ranking, 1,000,000 by default)
//! and `--allow-cidrs` IP networks (10,000) loaded:
//!
//! - **checks**, in process on one core: the allowlist index built from
//!   those rules plus the built-in lists, and the median time of one check
//!   per rule type (domains and URLs that are and are not listed, IPv4 and
//!   IPv6 addresses inside and outside the networks, exact values), each
//!   the median of batches of [`BATCH`] checks; the target is at most 1 µs;
//! - **publish and ingest**, with real node processes: the same submissions
//!   (`--publish`) to a node with no lists and to one with the lists, and
//!   the same catch-up (`--indicators`) by a subscriber with no lists and
//!   one with the lists; the rates and their ratio (target ≥ 0.95);
//! - **memory**: the resident memory of a node with the lists (restarted,
//!   so it built its index from the store) beside a node without, and the
//!   index's own accounting (target ≤ 150 MiB for 1,000,000 domains).
//!
//! The lists go in through the same import the CLI uses (`allowlist
//! import-ranked`, `import-misp`), from files written in the published
//! formats, and the time that takes is reported too.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::time::Instant;

use anyhow::{Result, bail};
use clap::Args;
use jaring_node::allowlist::ListAction;
use jaring_node::model::Kind;
use jaring_node::node::ListImport;
use jaring_node::warninglist::{AllowIndex, DomainScope, IpNetwork, ListFormat, ListMeta, Rule, RuleSet, builtin};
use jaring_proto::pb;
use serde_json::{Value, json};

use super::allowlist_import;
use super::bench::{load, start_node};
use crate::client::{Client, status_error};
use crate::fleet::FleetNode;

/// Sizes for `jaring bench allowlist`.
#[derive(Debug, Args)]
pub struct AllowlistBenchArgs {
    /// Domain rules loaded (a synthetic ranking).
    #[arg(long, default_value_t = 1_000_000)]
    allow_domains: u64,
    /// IP networks loaded (a synthetic MISP cidr list; a fifth IPv6).
    #[arg(long, default_value_t = 10_000)]
    allow_cidrs: u64,
}

/// Checks per timed batch.
const BATCH: usize = 1000;
/// Timed batches per rule type.
const BATCHES: usize = 200;
/// The targets.
const TARGET_CHECK_NS: f64 = 1000.0;
const TARGET_RATIO: f64 = 0.95;
const TARGET_RSS_MIB: f64 = 150.0;

const TLDS: [&str; 8] = ["com", "net", "org", "co.id", "com.vn", "com.my", "io", "id"];

/// The `i`-th domain of the synthetic ranking.
fn ranked_domain(i: u64) -> String {
    format!("site{i:07}.{}", TLDS[(i % TLDS.len() as u64) as usize])
}

/// The `i`-th network of the synthetic cidr list: IPv4 blocks of /20 from
/// 11.0.0.0 (prefixes /20 to /28 inside them), and every fifth an IPv6 /48
/// under 2a02::/16.
fn network(i: u64) -> IpNetwork {
    if i % 5 == 4 {
        let addr = (0x2a02u128 << 112) | (u128::from(i) << 80);
        IpNetwork::V6 { addr, len: 48 }
    } else {
        let base = 0x0b00_0000u32.wrapping_add(u32::try_from(i).unwrap_or(0).wrapping_mul(4096));
        IpNetwork::V4 { addr: base, len: [20u8, 22, 24, 28][(i % 4) as usize] }
    }
}

/// An address inside network `i`.
fn inside(i: u64) -> IpAddr {
    match network(i) {
        IpNetwork::V4 { addr, .. } => IpAddr::V4(Ipv4Addr::from(addr + 1)),
        IpNetwork::V6 { addr, .. } => IpAddr::V6(Ipv6Addr::from(addr + 1)),
    }
}

fn ranked_file(n: u64) -> String {
    let mut s = String::with_capacity(usize::try_from(n).unwrap_or(0) * 22);
    for i in 0..n {
        s.push_str(&format!("{},{}\n", i + 1, ranked_domain(i)));
    }
    s
}

fn cidr_file(n: u64) -> String {
    let list: Vec<String> = (0..n).map(|i| network(i).to_string()).collect();
    json!({
        "name": "Benchmark networks",
        "description": "Synthetic networks for jaring bench allowlist",
        "type": "cidr",
        "version": 1,
        "matching_attributes": ["ip-src", "ip-dst", "domain|ip"],
        "list": list,
    })
    .to_string()
}

/// Median ns per check of `f` over batches of [`BATCH`] values.
fn median_ns(values: &[String], f: &dyn Fn(&str) -> bool, want: bool) -> Result<f64> {
    let mut per = Vec::with_capacity(BATCHES);
    for b in 0..BATCHES {
        let start = (b * BATCH) % values.len().max(1);
        let t = Instant::now();
        let mut agree = 0usize;
        for j in 0..BATCH {
            let v = &values[(start + j) % values.len()];
            if std::hint::black_box(f(std::hint::black_box(v))) == want {
                agree += 1;
            }
        }
        per.push(t.elapsed().as_nanos() as f64 / BATCH as f64);
        if agree != BATCH {
            bail!("{} of {BATCH} checks answered {}", BATCH - agree, !want);
        }
    }
    per.sort_by(f64::total_cmp);
    Ok(per[per.len() / 2])
}

/// The in-process part: build the index, time checks per rule type.
fn checks(domains: u64, cidrs: u64) -> Result<Value> {
    let t = Instant::now();
    let mut ix = AllowIndex::new();
    for (meta, rules) in builtin::lists() {
        ix.set_list(meta, &rules)?;
    }
    let empty = ix.memory_bytes();
    let mut ranked = RuleSet::new();
    for i in 0..domains {
        let d = ranked_domain(i);
        ranked.push(Rule::Domain { name: &d, scope: DomainScope::Site }, ListAction::Refuse);
    }
    ranked.shrink_to_fit();
    let mut meta = ListMeta::admin("bench-ranking");
    meta.format = ListFormat::Ranked;
    ix.set_list(meta, &ranked)?;
    drop(ranked);
    let mut nets = RuleSet::new();
    for i in 0..cidrs {
        nets.push(Rule::Network(network(i)), ListAction::Refuse);
    }
    let mut meta = ListMeta::admin("bench-networks");
    meta.format = ListFormat::Misp;
    ix.set_list(meta, &nets)?;
    let mut phones = RuleSet::new();
    let phone = |i: u64| format!("+6281{:08}", i);
    for i in 0..1000 {
        let p = phone(i);
        phones.push(Rule::Exact { kind: Kind::Phone, value: &p }, ListAction::Refuse);
    }
    ix.set_list(ListMeta::admin("bench-hotlines"), &phones)?;
    let build_s = t.elapsed().as_secs_f64();
    let memory = ix.memory_bytes() - empty;

    let n = (BATCH * 10) as u64;
    let step = (domains / n).max(1);
    let listed: Vec<String> = (0..n).map(|i| format!("www.{}", ranked_domain((i * step) % domains.max(1)))).collect();
    let unlisted: Vec<String> = (0..n).map(|i| format!("lowongan-{i}.kerja-palsu.co.id")).collect();
    let urls: Vec<String> =
        (0..n).map(|i| format!("https://{}/", ranked_domain((i * step) % domains.max(1)))).collect();
    let url_misses: Vec<String> = (0..n).map(|i| format!("https://daftar-{i}.investasi-bodong.com/login")).collect();
    let cstep = (cidrs / n).max(1);
    let (mut v4_in, mut v6_in) = (Vec::new(), Vec::new());
    for i in (0..cidrs).step_by(usize::try_from(cstep).unwrap_or(1)) {
        match inside(i) {
            a @ IpAddr::V4(_) => v4_in.push(a.to_string()),
            a @ IpAddr::V6(_) => v6_in.push(a.to_string()),
        }
    }
    let v4_out: Vec<String> = (0..n).map(|i| format!("45.{}.{}.1", (i >> 8) % 256, i % 256)).collect();
    let v6_out: Vec<String> = (0..n).map(|i| format!("2a03:{:x}::1", i % 65536)).collect();
    let phone_in: Vec<String> = (0..1000).map(phone).collect();
    let phone_out: Vec<String> = (0..n).map(|i| format!("+6289{:08}", i)).collect();
    let ix = &ix;
    let on = |kind: Kind| move |v: &str| ix.check(kind, v).is_some();
    let mut medians = serde_json::Map::new();
    let cases: [(&str, Kind, &[String], bool); 10] = [
        ("domain_listed", Kind::Domain, &listed, true),
        ("domain_unlisted", Kind::Domain, &unlisted, false),
        ("url_listed", Kind::Url, &urls, true),
        ("url_unlisted", Kind::Url, &url_misses, false),
        ("ipv4_listed", Kind::Ip, &v4_in, true),
        ("ipv4_unlisted", Kind::Ip, &v4_out, false),
        ("ipv6_listed", Kind::Ip, &v6_in, true),
        ("ipv6_unlisted", Kind::Ip, &v6_out, false),
        ("exact_listed", Kind::Phone, &phone_in, true),
        ("exact_unlisted", Kind::Phone, &phone_out, false),
    ];
    let mut worst = 0.0f64;
    for (name, kind, values, want) in cases {
        if values.is_empty() {
            continue;
        }
        let ns = median_ns(values, &on(kind), want).map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
        worst = worst.max(ns);
        medians.insert(name.into(), json!(ns));
    }
    Ok(json!({
        "index_build_s": build_s,
        "index_memory_mib": memory as f64 / (1024.0 * 1024.0),
        "check_median_ns": medians,
        "check_worst_median_ns": worst,
        "checks_within_target": worst <= TARGET_CHECK_NS,
    }))
}

/// Resident memory of a node's process now, MiB.
fn rss_mib(node: &FleetNode) -> f64 {
    std::fs::read_to_string(format!("/proc/{}/status", node.child.id()))
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

/// Imports the two list files into a node, as `allowlist import-*` does;
/// seconds taken.
async fn import_lists(node: &mut FleetNode, files: &Path, domains: u64) -> Result<f64> {
    let part = allowlist_import::part_size(&mut node.client).await?;
    let t = Instant::now();
    for (format, name, file, top) in [
        (ListFormat::Ranked, "bench-ranking", files.join("ranking.csv"), Some(domains)),
        (ListFormat::Misp, "misp-bench-networks", files.join("networks/list.json"), None),
    ] {
        let what = ListImport {
            format,
            name: name.into(),
            source: file.display().to_string(),
            action: ListAction::Refuse,
            scope: DomainScope::Site,
            top,
        };
        let r = allowlist_import::send(&mut node.client, &what, std::fs::read(&file)?, part, false).await?;
        if !r.imported {
            bail!("{name} was not imported: {}", r.skipped_reason);
        }
    }
    Ok(t.elapsed().as_secs_f64())
}

async fn index_mib(c: &mut Client) -> Result<f64> {
    let s = c.status(pb::StatusRequest {}).await.map_err(status_error)?.into_inner();
    Ok(s.allowlists.map_or(0, |a| a.memory_bytes) as f64 / (1024.0 * 1024.0))
}

/// Submissions per second to a node.
async fn publish_rate(node: &FleetNode, n: u64, tag: &str) -> Result<f64> {
    Ok(n as f64 / load(&node.client, n, tag, 2).await?.as_secs_f64())
}

/// Entries per second a fresh subscriber takes to catch up `n` from
/// `publisher`.
async fn catch_up(publisher: &mut FleetNode, subscriber: &mut FleetNode, n: u64) -> Result<f64> {
    publisher.peer(subscriber, false, false).await?;
    let t = Instant::now();
    subscriber.peer(publisher, false, false).await?;
    super::bench::wait_for_head(&mut subscriber.client, n, &format!("{} catching up", subscriber.id)).await?;
    Ok(n as f64 / t.elapsed().as_secs_f64())
}

/// Runs the scenario in `base`.
///
/// # Errors
///
/// A node failing, an import refused, a check answering wrongly.
pub async fn run(base: &Path, a: &AllowlistBenchArgs, publish: u64, ingest: u64) -> Result<Value> {
    let (domains, cidrs) = (a.allow_domains, a.allow_cidrs);
    let files = base.join("files");
    std::fs::create_dir_all(files.join("networks"))?;
    std::fs::write(files.join("ranking.csv"), ranked_file(domains))?;
    std::fs::write(files.join("networks/list.json"), cidr_file(cidrs))?;
    let in_process = tokio::task::spawn_blocking(move || checks(domains, cidrs)).await??;

    // Publish: a node without lists, then one with them (restarted, so its
    // index is built from the store as at any start).
    let plain = start_node(&base.join("publish-without"), "ID", None).await?;
    let rss_without = rss_mib(&plain);
    let publish_without = publish_rate(&plain, publish, "without").await?;
    drop(plain);
    let with_dir = base.join("publish-with");
    let mut listed = start_node(&with_dir, "ID", None).await?;
    let import_s = import_lists(&mut listed, &files, domains).await?;
    listed.stop();
    let t = Instant::now();
    let mut listed = start_node(&with_dir, "ID", None).await?;
    let start_with_lists_s = t.elapsed().as_secs_f64();
    let rss_with = rss_mib(&listed);
    let index_node_mib = index_mib(&mut listed.client).await?;
    let status = listed.client.status(pb::StatusRequest {}).await.map_err(status_error)?.into_inner();
    let rules = status.allowlists.and_then(|s| s.rules).unwrap_or_default();
    if rules.domains < domains || rules.networks + rules.addresses < cidrs {
        bail!("the node holds {} domain rules and {} networks", rules.domains, rules.networks + rules.addresses);
    }
    let publish_with = publish_rate(&listed, publish, "with").await?;
    drop(listed);

    // Ingest: one publisher, a subscriber without lists, one with them.
    let ingest_dir = base.join("ingest");
    let mut publisher = start_node(&ingest_dir, "ID", None).await?;
    load(&publisher.client, ingest, "ingest", 2).await?;
    let key = publisher.dir.join("keys/federation-1.key");
    let mut without = start_node(&ingest_dir, "VN", Some(&key)).await?;
    let ingest_without = catch_up(&mut publisher, &mut without, ingest).await?;
    drop(without);
    let mut with = start_node(&ingest_dir, "MY", Some(&key)).await?;
    import_lists(&mut with, &files, domains).await?;
    let ingest_with = catch_up(&mut publisher, &mut with, ingest).await?;
    let quarantined = with.client.status(pb::StatusRequest {}).await.map_err(status_error)?.into_inner().quarantined;
    if quarantined != 0 {
        bail!("{quarantined} ingested indicators were held: the sample values must be on no list");
    }

    let publish_ratio = publish_with / publish_without;
    let ingest_ratio = ingest_with / ingest_without;
    let rss_increase = rss_with - rss_without;
    let mut out = json!({
        "domain_rules": domains,
        "cidr_rules": cidrs,
        "import_seconds": import_s,
        "node_start_with_lists_s": start_with_lists_s,
        "publish_indicators": publish,
        "publish_per_s_without_lists": publish_without,
        "publish_per_s_with_lists": publish_with,
        "publish_ratio": publish_ratio,
        "ingest_indicators": ingest,
        "ingest_per_s_without_lists": ingest_without,
        "ingest_per_s_with_lists": ingest_with,
        "ingest_ratio": ingest_ratio,
        "ratios_within_target": publish_ratio >= TARGET_RATIO && ingest_ratio >= TARGET_RATIO,
        "node_rss_mib_without_lists": rss_without,
        "node_rss_mib_with_lists": rss_with,
        "node_rss_increase_mib": rss_increase,
        "node_index_memory_mib": index_node_mib,
        "rss_within_target": rss_increase <= TARGET_RSS_MIB * (domains as f64 / 1_000_000.0).max(0.01),
        "targets": {"check_ns": TARGET_CHECK_NS, "ratio": TARGET_RATIO, "rss_increase_mib_per_1m_domains": TARGET_RSS_MIB},
    });
    if let (Some(o), Some(p)) = (out.as_object_mut(), in_process.as_object()) {
        for (k, v) in p {
            o.insert(k.clone(), v.clone());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthetic_lists_are_what_the_parsers_take() {
        let ctx = jaring_node::normalize::NormalizeContext::default();
        for i in [0, 7, 999_999] {
            let d = ranked_domain(i);
            assert_eq!(jaring_node::warninglist::normalize_domain_rule(&d, &ctx).unwrap_or_default(), d);
        }
        let mut seen = std::collections::HashSet::new();
        for i in 0..10_000 {
            let n = network(i);
            assert!(seen.insert(n), "network {i} repeats");
            assert!(n.contains(inside(i)), "{n} holds {}", inside(i));
            assert_eq!(n.to_string().parse::<IpNetwork>().ok(), Some(n));
        }
        // The sample values the bench publishes are on none of these lists.
        assert!(!network(0).contains("2001:db8::1".parse().unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))));
    }
}
