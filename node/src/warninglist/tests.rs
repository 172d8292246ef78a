//! Lists in the published formats (fixtures under
//! `tests/data/warninglists/`: one MISP list per `type`, refused shapes, two
//! versions of one list, a Tranco file and a plain file) through the
//! parsers, the index and the stored form.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use super::files::{self, MispFiles, SkipReason};
use super::misp::{self, MispError, MispImport};
use super::ranked::{self, RankedImport};
use super::stored;
use super::*;
use crate::allowlist::ListAction;
use crate::model::Kind;
use crate::normalize::NormalizeContext;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/warninglists")
}

fn ctx() -> NormalizeContext {
    NormalizeContext { region: Some("ID".into()) }
}

fn misp_file(rel: &str, action: ListAction) -> Result<Warninglist, SkipReason> {
    let c = ctx();
    files::read_misp_file(&fixtures().join(rel), &MispFiles { action, scope: DomainScope::Site, ctx: &c })
}

fn index_of(lists: &[&Warninglist]) -> AllowIndex {
    let mut ix = AllowIndex::new();
    for l in lists {
        ix.set_list(l.meta.clone(), &l.rules).unwrap();
    }
    ix
}

fn rule_of(ix: &AllowIndex, kind: Kind, value: &str) -> Option<String> {
    ix.check(kind, value).map(|h| format!("{}: {}", h.list, h.rule))
}

#[test]
fn hostname_list_makes_domain_rules_for_hosts_under_them() {
    let w = misp_file("bank-domains/list.json", ListAction::Refuse).unwrap();
    assert_eq!(w.meta.name, "misp-bank-domains");
    assert_eq!(w.meta.title, "List of known bank domains");
    assert_eq!((w.meta.version, w.meta.format), (Some(9), ListFormat::Misp));
    assert_eq!(w.report.rules, RuleCounts { domains: 5, ..RuleCounts::default() });
    assert_eq!(w.report.refused, 2);
    let refused: Vec<_> = w.report.refused_samples.iter().map(|r| r.value.as_str()).collect();
    assert_eq!(refused, vec!["corona helden", "com"]);
    assert_eq!(
        w.summary(),
        "misp-bank-domains v9 (refuse): 5 domain rules; 2 refused (\"corona helden\": invalid domain: contains whitespace)"
    );
    let ix = index_of(&[&w]);
    let d = |v| rule_of(&ix, Kind::Domain, v);
    assert_eq!(d("bca.co.id").as_deref(), Some("misp-bank-domains: domain rule bca.co.id (its own site)"));
    assert_eq!(
        d("ibank.klikbca.bca.co.id").as_deref(),
        Some("misp-bank-domains: domain rule bca.co.id (its own site)")
    );
    assert_eq!(
        d("www.maybank2u.com.my").as_deref(),
        Some("misp-bank-domains: domain rule maybank2u.com.my (its own site)")
    );
    // Look-alikes.
    for v in ["bca.co.id.evil.com", "bca-palsu.co.id", "klikbca.co.id", "mybri.co.id", "vietcombank.com.vn.xyz", "com"]
    {
        assert_eq!(d(v), None, "{v}");
    }
    // URLs: the whole site only, for a refuse list.
    assert!(ix.check(Kind::Url, "https://ibank.bca.co.id/").is_some());
    assert_eq!(ix.check(Kind::Url, "https://ibank.bca.co.id/login"), None);
    // The same list imported for review stops every URL under the host.
    let w = misp_file("bank-domains/list.json", ListAction::Review).unwrap();
    let ix = index_of(&[&w]);
    assert_eq!(ix.check(Kind::Url, "https://ibank.bca.co.id/login").unwrap().action, ListAction::Review);
}

#[test]
fn string_list_makes_exact_values_and_reads_leading_dots_as_rules() {
    let w = misp_file("google-hosts/list.json", ListAction::Refuse).unwrap();
    assert_eq!(w.report.rules, RuleCounts { domains: 2, exact: 3, addresses: 1, networks: 0 });
    assert_eq!(w.report.leading_dot_rules, 2);
    assert_eq!(w.report.refused, 1, "{:?}", w.report.refused_samples);
    let ix = index_of(&[&w]);
    let d = |v| rule_of(&ix, Kind::Domain, v);
    assert_eq!(d("google.com").as_deref(), Some("misp-google-hosts: domain google.com"));
    assert_eq!(d("www.google.com").as_deref(), Some("misp-google-hosts: domain www.google.com"));
    // Exact, as MISP matches `string` lists: no subdomains.
    assert_eq!(d("mail.google.com"), None);
    assert_eq!(d("maps.google.co.id").as_deref(), Some("misp-google-hosts: domain rule google.co.id (its own site)"));
    assert_eq!(d("google.co.id.evil.com"), None);
    assert_eq!(d("google.com.vn").as_deref(), Some("misp-google-hosts: domain rule google.com.vn (its own site)"));
    // `domain|ip` makes the IP an address rule, not a URL.
    assert_eq!(rule_of(&ix, Kind::Ip, "8.8.8.8").as_deref(), Some("misp-google-hosts: ip 8.8.8.8"));
    assert_eq!(rule_of(&ix, Kind::Url, "http://8.8.8.8/").as_deref(), Some("misp-google-hosts: ip 8.8.8.8"));
    // A URL value is an exact URL.
    assert_eq!(
        rule_of(&ix, Kind::Url, "https://accounts.google.com/signin").as_deref(),
        Some("misp-google-hosts: url https://accounts.google.com/signin")
    );
    assert_eq!(ix.check(Kind::Url, "https://accounts.google.com/signin?next=x"), None);
}

#[test]
fn string_list_maps_attribute_types_to_kinds() {
    let w = misp_file("hotlines/list.json", ListAction::Refuse).unwrap();
    assert_eq!(w.meta.category.as_deref(), Some("known"));
    assert_eq!(w.report.ignored_attributes, vec!["x509-fingerprint-sha1".to_string()]);
    assert_eq!(w.report.rules.exact, 3);
    assert_eq!(w.report.refused_samples.first().map(|r| r.value.as_str()), Some("call us"));
    let ix = index_of(&[&w]);
    assert!(ix.check(Kind::Phone, "+6281234567890").is_some());
    assert_eq!(ix.check(Kind::Phone, "+6281234567891"), None);
    assert!(ix.check(Kind::Email, "pengaduan@kominfo.go.id").is_some());
    assert_eq!(ix.check(Kind::Email, "pengaduan2@kominfo.go.id"), None);
    assert_eq!(ix.check(Kind::Domain, "kominfo.go.id"), None, "an e-mail value is not a domain rule");
    assert!(ix.check(Kind::CryptoWallet, "btc:bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4").is_some());
}

#[test]
fn cidr_list_matches_inside_prefixes_and_mapped_addresses() {
    let w = misp_file("reserved-ranges/list.json", ListAction::Refuse).unwrap();
    assert_eq!(w.report.rules, RuleCounts { domains: 0, exact: 0, addresses: 3, networks: 7 });
    assert_eq!(w.report.refused_samples.first().map(|r| r.value.as_str()), Some("bogus/24"));
    let ix = index_of(&[&w]);
    let ip = |v| rule_of(&ix, Kind::Ip, v).map(|s| s.trim_start_matches("misp-reserved-ranges: ").to_string());
    let cases = [
        // Edges of prefixes.
        ("100.64.0.0", Some("network 100.64.0.0/10")),
        ("100.127.255.255", Some("network 100.64.0.0/10")),
        ("100.128.0.0", None),
        ("100.63.255.255", None),
        ("172.16.0.0", Some("network 172.16.0.0/12")),
        ("172.31.255.255", Some("network 172.16.0.0/12")),
        ("172.32.0.0", None),
        ("192.168.255.255", Some("network 192.168.0.0/16")),
        ("192.169.0.0", None),
        ("fe80::1", Some("network fe80::/10")),
        ("febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", Some("network fe80::/10")),
        ("fec0::1", None),
        ("2001:db8::", Some("network 2001:db8::/32")),
        ("2001:db9::", None),
        // Single addresses, and their neighbours.
        ("8.8.8.8", Some("ip 8.8.8.8")),
        ("8.8.8.9", None),
        ("2001:4860:4860::8888", Some("ip 2001:4860:4860::8888")),
        ("2001:4860:4860::8844", None),
        // `::ffff:9270:3d68` in the list is the IPv4 address 146.112.61.104.
        ("146.112.61.104", Some("ip 146.112.61.104")),
        ("::ffff:146.112.61.104", Some("ip 146.112.61.104")),
        // A mapped address meets the IPv4 range before the mapped space.
        ("::ffff:192.168.1.1", Some("network 192.168.0.0/16")),
        ("::ffff:203.0.113.1", Some("network ::ffff:0.0.0.0/96")),
        // A plain IPv4 address never meets the mapped space.
        ("203.0.113.1", None),
    ];
    for (value, want) in cases {
        assert_eq!(ip(value).as_deref(), want, "{value}");
    }
    assert!(ix.check(Kind::Url, "http://192.168.1.1/").is_some());
    assert_eq!(ix.check(Kind::Url, "http://192.168.1.1/admin"), None);
}

#[test]
fn substring_regex_and_unmapped_lists_are_refused_naming_the_list() {
    let reason = |rel| match misp_file(rel, ListAction::Refuse) {
        Err(SkipReason::Misp(e)) => e,
        other => panic!("{rel}: {other:?}"),
    };
    let e = reason("disposable-email/list.json");
    assert!(matches!(&e, MispError::UnsupportedType { list_type, .. } if list_type == "substring"), "{e:?}");
    assert!(e.to_string().starts_with("list \"List of disposable email domains\" skipped: type substring"), "{e}");
    let e = reason("phone-patterns/list.json");
    assert!(matches!(&e, MispError::UnsupportedType { list_type, .. } if list_type == "regex"), "{e:?}");
    let e = reason("file-hashes/list.json");
    assert!(matches!(&e, MispError::NoMappedAttributes { .. }), "{e:?}");
    assert!(e.to_string().contains("md5, sha1"), "{e}");
    let e = reason("mail-only-hosts/list.json");
    assert!(matches!(&e, MispError::NoMappedAttributes { .. }), "{e:?}");
    assert!(e.to_string().contains("e-mail") || e.to_string().contains("domains and URLs only"), "{e}");
}

#[test]
fn a_folder_of_lists_gives_lists_and_skip_reasons() {
    let c = ctx();
    let folder = files::read_misp_path(
        &fixtures(),
        &MispFiles { action: ListAction::Refuse, scope: DomainScope::Site, ctx: &c },
    )
    .unwrap();
    let mut read: Vec<_> = folder.lists.iter().map(|l| l.meta.name.as_str()).collect();
    read.sort_unstable();
    assert_eq!(read, vec!["misp-bank-domains", "misp-google-hosts", "misp-hotlines", "misp-reserved-ranges"]);
    let mut skipped: Vec<_> = folder.skipped.iter().map(|s| s.name.as_str()).collect();
    skipped.sort_unstable();
    assert_eq!(
        skipped,
        vec!["misp-disposable-email", "misp-file-hashes", "misp-mail-only-hosts", "misp-phone-patterns"]
    );
    assert!(matches!(
        files::read_misp_path(
            &fixtures().join("no-such-folder"),
            &MispFiles { action: ListAction::Refuse, scope: DomainScope::Site, ctx: &c }
        ),
        Err(files::FilesError::Io { .. })
    ));
    // All the lists in one index: a value on two lists names both.
    let tranco = read_tranco(None);
    let mut all: Vec<&Warninglist> = folder.lists.iter().collect();
    all.push(&tranco);
    let ix = index_of(&all);
    let lists: Vec<_> = ix.check_all(Kind::Domain, "ibank.bca.co.id").into_iter().map(|h| h.list).collect();
    assert_eq!(lists.len(), 2);
    assert!(lists.contains(&"misp-bank-domains") && lists.contains(&"tranco"), "{lists:?}");
    let stats = ix.stats();
    assert_eq!(stats.lists, 5);
    assert!(stats.memory_bytes > 0);
}

fn parse_version(file: &str) -> Warninglist {
    let c = ctx();
    let bytes = std::fs::read(fixtures().join("versions").join(file)).unwrap();
    let opts = MispImport {
        name: "misp-url-shortener".into(),
        source: file.into(),
        action: ListAction::Review,
        scope: DomainScope::Site,
        ctx: &c,
    };
    misp::parse(&bytes, &opts).unwrap()
}

#[test]
fn a_newer_version_replaces_the_list_atomically() {
    let v1 = parse_version("url-shortener.v1.json");
    let v2 = parse_version("url-shortener.v2.json");
    assert!(v2.meta.supersedes(&v1.meta));
    assert!(!v1.meta.supersedes(&v2.meta));
    assert!(!v2.meta.supersedes(&v2.meta));
    let shared = SharedAllowIndex::new(AllowIndex::new());
    shared.update(|ix| ix.set_list(v1.meta.clone(), &v1.rules)).unwrap();
    let before = shared.snapshot();
    // The store keeps v2 as chunks; the index is rebuilt from them.
    let mut from_store = RuleSet::new();
    for chunk in stored::encode_chunks(&v2.rules, 2) {
        stored::decode_chunk(&chunk, &mut from_store).unwrap();
    }
    shared.update(|ix| ix.set_list(v2.meta.clone(), &from_store)).unwrap();
    let after = shared.snapshot();
    let url = |ix: &AllowIndex, v| ix.check(Kind::Url, v).map(|h| (h.list.to_string(), h.action));
    let hit = Some(("misp-url-shortener".to_string(), ListAction::Review));
    assert_eq!(url(&after, "https://s.id/abc"), hit);
    assert_eq!(url(&after, "https://goo.gl/abc"), None);
    assert_eq!(url(&after, "https://bit.ly/abc"), hit);
    assert_eq!(after.list("misp-url-shortener").unwrap().meta.version, Some(27));
    assert_eq!(after.list("misp-url-shortener").unwrap().rules.domains, 3);
    // A reader that took the index before the swap sees v1 whole.
    assert_eq!(url(&before, "https://goo.gl/abc"), hit);
    assert_eq!(url(&before, "https://s.id/abc"), None);
    assert_eq!(before.list("misp-url-shortener").unwrap().meta.version, Some(26));
}

fn read_tranco(top: Option<u64>) -> Warninglist {
    let c = ctx();
    let opts = RankedImport {
        name: "tranco".into(),
        source: "tranco.csv".into(),
        top,
        action: ListAction::Refuse,
        scope: DomainScope::Site,
        ctx: &c,
    };
    files::read_ranked_file(&fixtures().join("tranco.csv"), &opts).unwrap()
}

#[test]
fn tranco_file_with_a_top_cut() {
    let w = read_tranco(None);
    assert_eq!((w.report.read, w.report.rules.domains, w.report.refused), (15, 14, 1));
    assert_eq!(w.meta.format, ListFormat::Ranked);
    let ix = index_of(&[&w]);
    let d = |v| ix.check(Kind::Domain, v).is_some();
    assert!(d("mail.google.com"));
    assert!(d("shopee.co.id"));
    assert!(d("blogspot.com"));
    // Someone's site on a platform the ranking lists stays reportable.
    assert!(!d("loker-kerja.blogspot.com"));
    assert!(!d("lowongan.github.io"));
    assert!(!d("bucket.s3.amazonaws.com"));
    // Look-alikes: a homograph of apple.com, a suffix trick, a typo.
    assert!(!d("xn--80ak6aa92e.com"));
    assert!(!d("apple.com.verify-id.com"));
    assert!(!d("tokopedia-promo.com"));

    let top5 = read_tranco(Some(5));
    assert_eq!(top5.report.rules.domains, 5);
    assert!(top5.report.past_top);
    let ix = index_of(&[&top5]);
    assert!(ix.check(Kind::Domain, "apple.com").is_some());
    assert_eq!(ix.check(Kind::Domain, "youtube.com"), None);
}

#[test]
fn plain_file_of_domains() {
    let c = ctx();
    let opts = RankedImport {
        name: "regional-top".into(),
        source: "plain-domains.txt".into(),
        top: None,
        action: ListAction::Refuse,
        scope: DomainScope::Site,
        ctx: &c,
    };
    let text = std::fs::read(fixtures().join("plain-domains.txt")).unwrap();
    let w = ranked::read(text.as_slice(), &opts).unwrap();
    let names: Vec<String> = w.rules.iter().map(|(r, _)| r.to_string()).collect();
    assert_eq!(
        names,
        ["google.com", "shopee.co.id", "www.tokopedia.com", "lazada.vn", "xn--bcher-kva.de"]
            .map(|n| format!("domain rule {n} (its own site)"))
    );
    let ix = index_of(&[&w]);
    assert!(ix.check(Kind::Domain, "shop.xn--bcher-kva.de").is_some());
    assert_eq!(ix.check(Kind::Domain, "tokopedia.com"), None, "the rule is www.tokopedia.com");
}
