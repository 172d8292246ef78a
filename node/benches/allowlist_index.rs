//! The allowlist index at real size (issue 22): 1,000,000 domain rules,
//! 10,000 CIDR rules and 10,000 exact phone numbers loaded; the median
//! check per value kind (target: at most 1 us), and, printed once before
//! the runs, the build time, the index's own memory accounting and the
//! process RSS increase (target: at most 150 MiB for the million domains).
//!
//! `cargo bench -p jaring-node --bench allowlist_index` (about a minute).

#![allow(clippy::unwrap_used, missing_docs)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use jaring_node::allowlist::ListAction;
use jaring_node::model::Kind;
use jaring_node::warninglist::{AllowIndex, DomainScope, IpNetwork, ListMeta, Rule, RuleSet};

const DOMAINS: usize = 1_000_000;
const NETWORKS: usize = 10_000;
const PHONES: usize = 10_000;
const SUFFIXES: &[&str] = &["com", "net", "org", "co.id", "com.vn", "com.my", "io", "de", "id", "vn", "go.id", "info"];

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).unwrap()
    }
    fn label(&mut self) -> String {
        let len = 4 + self.below(9);
        (0..len).map(|_| char::from(b'a' + u8::try_from(self.below(26)).unwrap())).collect()
    }
}

/// Tranco-like names: one or two labels on a known suffix (about 14 bytes).
fn domain(rng: &mut Rng) -> String {
    let suffix = SUFFIXES[rng.below(SUFFIXES.len())];
    if rng.below(8) == 0 {
        format!("{}.{}.{suffix}", rng.label(), rng.label())
    } else {
        format!("{}.{suffix}", rng.label())
    }
}

fn network(rng: &mut Rng) -> IpNetwork {
    if rng.below(10) == 0 {
        let addr =
            std::net::Ipv6Addr::from((0x2001_0000_u128 + u128::from(rng.next() as u16)) << 96 | u128::from(rng.next()));
        IpNetwork::new(addr.into(), 32 + u8::try_from(rng.below(33)).unwrap()).unwrap()
    } else {
        let addr = std::net::Ipv4Addr::from(rng.next() as u32);
        IpNetwork::new(addr.into(), 8 + u8::try_from(rng.below(23)).unwrap()).unwrap()
    }
}

fn rss_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

struct Loaded {
    index: AllowIndex,
    domains: Vec<String>,
    networks: Vec<IpNetwork>,
}

fn load() -> Loaded {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let domains: Vec<String> = (0..DOMAINS).map(|_| domain(&mut rng)).collect();
    let networks: Vec<IpNetwork> = (0..NETWORKS).map(|_| network(&mut rng)).collect();
    let mut top = RuleSet::new();
    for d in &domains {
        top.push(Rule::Domain { name: d, scope: DomainScope::Site }, ListAction::Refuse);
    }
    let mut ranges = RuleSet::new();
    for n in &networks {
        ranges.push(Rule::Network(*n), ListAction::Refuse);
    }
    let mut phones = RuleSet::new();
    for i in 0..PHONES {
        phones.push(Rule::Exact { kind: Kind::Phone, value: &format!("+62812{:07}", i * 7) }, ListAction::Refuse);
    }
    let rss_before = rss_bytes();
    let start = Instant::now();
    let mut index = AllowIndex::new();
    index.set_list(ListMeta::admin("tranco-1m"), &top).unwrap();
    let domains_built = start.elapsed();
    index.set_list(ListMeta::admin("ranges"), &ranges).unwrap();
    index.set_list(ListMeta::admin("hotlines"), &phones).unwrap();
    let built = start.elapsed();
    let rss_after = rss_bytes();
    let stats = index.stats();
    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    println!(
        "allowlist index: {} domain rules in {:.0} ms, all {} rules in {:.0} ms ({:.0} ns a rule)",
        stats.rules.domains,
        domains_built.as_secs_f64() * 1e3,
        stats.rules.total(),
        built.as_secs_f64() * 1e3,
        built.as_secs_f64() * 1e9 / stats.rules.total() as f64,
    );
    println!(
        "allowlist index memory: {:.1} MiB accounted ({:.1} bytes a rule); RSS increase {}; rules' input {:.1} MiB",
        mib(stats.memory_bytes as u64),
        stats.memory_bytes as f64 / stats.rules.total() as f64,
        match (rss_before, rss_after) {
            (Some(a), Some(b)) => format!("{:.1} MiB", mib(b.saturating_sub(a))),
            _ => "not measured".into(),
        },
        mib((top.memory_bytes() + ranges.memory_bytes() + phones.memory_bytes()) as u64),
    );
    Loaded { index, domains, networks }
}

fn checks(c: &mut Criterion) {
    let loaded = load();
    let ix = &loaded.index;
    let mut rng = Rng(7);
    let pick = |rng: &mut Rng, n: usize| rng.below(n);
    // Values to check, rotated so no single value stays hot in cache.
    let hosts: Vec<String> =
        (0..4096).map(|_| format!("www.{}", loaded.domains[pick(&mut rng, loaded.domains.len())])).collect();
    let misses: Vec<String> = (0..4096).map(|_| format!("login.{}", domain(&mut rng))).collect();
    let urls_whole: Vec<String> = hosts.iter().map(|h| format!("https://{h}/")).collect();
    let urls_path: Vec<String> = misses.iter().map(|h| format!("https://{h}/lowongan?id=7")).collect();
    let ips_in: Vec<String> = loaded
        .networks
        .iter()
        .filter_map(|n| match n {
            IpNetwork::V4 { .. } => Some(n.addr().to_string()),
            IpNetwork::V6 { .. } => None,
        })
        .take(4096)
        .collect();
    let ips_v4: Vec<String> = (0..4096).map(|_| std::net::Ipv4Addr::from(rng.next() as u32).to_string()).collect();
    let ips_v6: Vec<String> = loaded
        .networks
        .iter()
        .filter_map(|n| match n {
            IpNetwork::V6 { .. } => Some(n.addr().to_string()),
            IpNetwork::V4 { .. } => None,
        })
        .collect();
    let mapped: Vec<String> = ips_v4.iter().map(|v| format!("::ffff:{v}")).collect();
    let phones: Vec<String> = (0..4096).map(|i| format!("+62812{:07}", i * 3)).collect();
    let emails: Vec<String> = misses.iter().map(|h| format!("rekrut@{h}")).collect();
    assert!(ix.check(Kind::Domain, &hosts[0]).is_some());
    assert!(ix.check(Kind::Url, &urls_whole[0]).is_some());
    assert!(ix.check(Kind::Ip, &ips_in[0]).is_some());

    let mut g = c.benchmark_group("allowlist_check");
    let mut case = |name: &str, kind: Kind, values: &[String]| {
        let mut i = 0usize;
        g.bench_function(name, |b| {
            b.iter(|| {
                i = (i + 1) % values.len();
                black_box(ix.check(kind, black_box(&values[i])))
            })
        });
    };
    case("domain_subdomain_hit", Kind::Domain, &hosts);
    case("domain_miss", Kind::Domain, &misses);
    case("url_whole_site_hit", Kind::Url, &urls_whole);
    case("url_with_path_miss", Kind::Url, &urls_path);
    case("ipv4_in_range", Kind::Ip, &ips_in);
    case("ipv4_random", Kind::Ip, &ips_v4);
    case("ipv6_in_range", Kind::Ip, &ips_v6);
    case("ipv4_mapped_random", Kind::Ip, &mapped);
    case("phone_exact", Kind::Phone, &phones);
    case("email_miss", Kind::Email, &emails);
    let mut i = 0usize;
    g.bench_function("registrable_domain_only", |b| {
        b.iter(|| {
            i = (i + 1) % hosts.len();
            black_box(jaring_node::normalize::registrable_domain(black_box(&hosts[i])))
        })
    });
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30)
}

criterion_group! { name = benches; config = config(); targets = checks }
criterion_main!(benches);
