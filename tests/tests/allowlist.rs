//! Allowlists at real size (issue 22), end to end with real nodes: MISP
//! warninglists of each type and rankings imported from the fixtures in
//! `tests/data/warninglists/` (written in the published formats), checked
//! for matches and look-alikes, enforced on submissions, shown in `list`,
//! `status` and `/metrics`, kept across restarts; a newer version replacing
//! an older whole, also when an import broke off; a peer's arrival on a
//! local refuse list held for review with the list named.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use jaring_node::allowlist::ListAction;
use jaring_node::store::{self, Batch, TableWrites, Tables};
use jaring_node::warninglist::{DomainScope, Rule, RuleSet, stored};
use jaring_tests::{TestNode, assert_eventually, link};
use serde_json::Value;

const PATIENCE: Duration = Duration::from_secs(20);

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/warninglists")
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The lists a value (read as `kind`) is on, best first.
fn lists_of(node: &TestNode, kind: &str, value: &str) -> Vec<String> {
    let v = node.cli_json(&["allowlist", "check", "--kind", kind, value]).unwrap();
    v[0]["matches"].as_array().into_iter().flatten().map(|m| m["list"].as_str().unwrap().to_string()).collect()
}

fn on(node: &TestNode, kind: &str, value: &str, list: &str) -> bool {
    lists_of(node, kind, value).iter().any(|l| l == list)
}

fn list_info(node: &TestNode, name: &str) -> Option<Value> {
    let all = node.cli_json(&["allowlist", "list"]).unwrap();
    all["lists"].as_array().into_iter().flatten().find(|l| l["name"] == name).cloned()
}

fn names(v: &Value, key: &str) -> Vec<String> {
    let mut n: Vec<String> =
        v[key].as_array().into_iter().flatten().map(|l| l["name"].as_str().unwrap().to_string()).collect();
    n.sort();
    n
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn misp_warninglists_of_each_type_are_imported_checked_enforced_and_kept() {
    let mut id = TestNode::builder("ID").region("ID").http().start().unwrap();
    let r = id.cli_json(&["allowlist", "import-misp", path(&fixtures())]).unwrap();
    assert_eq!(
        names(&r, "imported"),
        ["misp-bank-domains", "misp-google-hosts", "misp-hotlines", "misp-reserved-ranges"],
        "{r}"
    );
    assert_eq!(
        names(&r, "skipped"),
        ["misp-disposable-email", "misp-file-hashes", "misp-mail-only-hosts", "misp-phone-patterns"],
        "{r}"
    );
    let reason = |name: &str| {
        r["skipped"].as_array().unwrap().iter().find(|s| s["name"] == name).unwrap()["reason"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert!(reason("misp-disposable-email").contains("type substring is not imported"), "{r}");
    assert!(reason("misp-phone-patterns").contains("type regex is not imported"), "{r}");
    assert!(reason("misp-file-hashes").contains("md5, sha1"), "{r}");
    assert!(reason("misp-mail-only-hosts").contains("domains and URLs only"), "{r}");
    let banks = r["imported"].as_array().unwrap().iter().find(|l| l["name"] == "misp-bank-domains").unwrap();
    assert_eq!((banks["version"].as_u64(), banks["rules"]["domains"].as_u64()), (Some(9), Some(5)), "{banks}");
    assert_eq!((banks["read"].as_u64(), banks["refused"].as_u64()), (Some(7), Some(2)), "{banks}");
    assert_eq!(banks["refused_samples"][0]["value"], "corona helden");
    // 2 of bank-domains, 1 of google-hosts, 1 of hotlines, 1 of reserved-ranges.
    assert_eq!(r["refused_values"].as_u64(), Some(5), "{r}");

    let check = |id: &TestNode| {
        // hostname: the host and hosts under it; not look-alikes.
        assert!(on(id, "domain", "ibank.klikbca.bca.co.id", "misp-bank-domains"));
        assert!(on(id, "domain", "www.maybank2u.com.my", "misp-bank-domains"));
        for v in ["bca.co.id.evil.com", "bca-palsu.co.id", "klikbca.co.id", "vietcombank.com.vn.xyz"] {
            assert!(lists_of(id, "domain", v).is_empty(), "{v}");
        }
        // string: exact values (no subdomains), leading dots as rules, an exact URL.
        assert_eq!(lists_of(id, "domain", "maps.google.co.id"), ["misp-google-hosts"]);
        assert!(on(id, "domain", "www.google.com", "misp-google-hosts"));
        assert!(!on(id, "domain", "mail.google.com", "misp-google-hosts"), "an exact value has no subdomains");
        assert!(on(id, "url", "https://accounts.google.com/signin", "misp-google-hosts"));
        assert!(!on(id, "url", "https://accounts.google.com/signin?next=x", "misp-google-hosts"));
        // string of other kinds: phone (national form, region ID), e-mail, wallet.
        assert_eq!(lists_of(id, "phone", "0812-3456-7890"), ["misp-hotlines"]);
        assert!(lists_of(id, "phone", "0812-3456-7891").is_empty());
        assert_eq!(lists_of(id, "email", "pengaduan@kominfo.go.id"), ["misp-hotlines"]);
        assert!(lists_of(id, "email", "pengaduan2@kominfo.go.id").is_empty());
        assert_eq!(lists_of(id, "crypto_wallet", "btc:bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"), ["misp-hotlines"]);
        // cidr: inside prefixes and at their edges, IPv4 and IPv6; single addresses.
        assert_eq!(lists_of(id, "ip", "2001:db8:ffff::1"), ["misp-reserved-ranges"]);
        assert!(lists_of(id, "ip", "2001:db9::1").is_empty());
        // 8.8.8.8 is on two lists (google-hosts names it too).
        assert_eq!(lists_of(id, "ip", "8.8.8.8"), ["misp-google-hosts", "misp-reserved-ranges"]);
        assert!(lists_of(id, "ip", "8.8.8.9").is_empty());
        assert!(on(id, "ip", "100.127.255.255", "misp-reserved-ranges"));
        assert!(!on(id, "ip", "100.128.0.0", "misp-reserved-ranges"));
        assert_eq!(lists_of(id, "ip", "2001:4860:4860::8888"), ["misp-reserved-ranges"]);
    };
    check(&id);

    // Submissions are refused naming the list, the rule and the list's title.
    let out = id
        .cli_output(&["indicator", "add", "--kind", "domain", "--value", "maps.google.co.id", "--category", "phishing"])
        .unwrap();
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("misp-google-hosts") && err.contains("List of known google domains"), "{err}");
    assert!(err.contains("--override-allowlist"), "{err}");
    let out =
        id.cli_output(&["indicator", "add", "--kind", "ip", "--value", "2001:db8::7", "--category", "other"]).unwrap();
    assert!(!out.status.success() && stderr(&out).contains("network 2001:db8::/32"), "{}", stderr(&out));
    assert!(id.add_domain("loker-palsu-contoh.co.id", "green").is_ok(), "a value on no list is published");

    // Listed with source, version and size; counted in status and /metrics.
    let banks = list_info(&id, "misp-bank-domains").unwrap();
    assert_eq!(
        (banks["format"].as_str(), banks["version"].as_u64(), banks["size"].as_u64()),
        (Some("misp"), Some(9), Some(5))
    );
    assert!(banks["source"].as_str().unwrap().ends_with("bank-domains/list.json"), "{banks}");
    assert_eq!(banks["action"], "refuse");
    let status = id.cli_json(&["status"]).unwrap();
    let a = &status["allowlists"];
    assert_eq!(a["lists"].as_u64(), Some(7), "three built-in lists and four imported: {a}");
    assert!(a["memory_bytes"].as_u64().unwrap() > 0, "{a}");
    let networks = a["rules"]["networks"].as_f64().unwrap();
    assert_eq!(id.metric(r#"jaring_allowlist_rules{shape="network"}"#), networks);
    assert_eq!(id.metric("jaring_allowlist_lists"), 7.0);
    assert!(id.metric("jaring_allowlist_memory_bytes") > 0.0);

    // Kept across a restart; the same folder again changes nothing.
    id.stop().unwrap();
    id.start().unwrap();
    check(&id);
    assert_eq!(list_info(&id, "misp-bank-domains").unwrap()["version"].as_u64(), Some(9));
    let again = id.cli_json(&["allowlist", "import-misp", path(&fixtures())]).unwrap();
    assert_eq!(names(&again, "imported").len(), 0, "{again}");
    assert_eq!(names(&again, "up_to_date").len(), 4, "{again}");
    // A single file Jaring cannot take fails, saying why.
    let out = id.cli_output(&["allowlist", "import-misp", path(&fixtures().join("phone-patterns"))]).unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("type regex is not imported"), "{out:?}");
}

#[test]
fn rankings_are_cut_at_top_cover_their_sites_only_and_are_replaced_or_removed_whole() {
    let id = TestNode::builder("ID").region("ID").start().unwrap();
    let tranco = fixtures().join("tranco.csv");
    let r = id.cli_json(&["allowlist", "import-ranked", path(&tranco), "--top", "14", "--list", "tranco-top"]).unwrap();
    let l = &r["imported"][0];
    assert_eq!(
        (l["read"].as_u64(), l["rules"]["domains"].as_u64(), l["refused"].as_u64()),
        (Some(14), Some(13), Some(1)),
        "{r}"
    );
    assert_eq!(l["past_top"], true);
    assert!(on(&id, "domain", "detik.com", "tranco-top"));
    assert!(on(&id, "domain", "www.kompas.com", "tranco-top"));
    assert!(on(&id, "url", "https://shopee.co.id/", "tranco-top"));
    assert!(!on(&id, "url", "https://shopee.co.id/promo-palsu", "tranco-top"), "a page is not the site");
    assert!(lists_of(&id, "domain", "vnexpress.net").is_empty(), "rank 15 is past --top 14");
    // Someone's site on a platform the ranking lists stays reportable;
    // look-alikes do not match.
    for v in [
        "loker-kerja.blogspot.com",
        "lowongan.github.io",
        "bucket.s3.amazonaws.com",
        "apple.com.verify-id.com",
        "tokopedia-promo.com",
        "xn--80ak6aa92e.com",
    ] {
        assert!(!on(&id, "domain", v, "tranco-top"), "{v}");
    }
    let info = list_info(&id, "tranco-top").unwrap();
    assert_eq!((info["format"].as_str(), info["size"].as_u64()), (Some("ranked"), Some(13)), "{info}");
    assert!(info["version"].is_null());

    // A plain file, named after itself.
    id.cli(&["allowlist", "import-ranked", path(&fixtures().join("plain-domains.txt")), "--top", "100"]).unwrap();
    assert!(on(&id, "domain", "shop.bücher.de", "plain-domains"));
    assert!(on(&id, "domain", "www.tokopedia.com", "plain-domains"));
    assert!(!on(&id, "domain", "tokopedia.com", "plain-domains"), "the rule is www.tokopedia.com");

    // Imported lists change whole: not entry by entry, not by hand.
    let out = id.cli_output(&["allowlist", "remove", "tranco-top", "detik.com"]).unwrap();
    assert!(!out.status.success() && stderr(&out).contains("imported list"), "{}", stderr(&out));
    let out = id.cli_output(&["allowlist", "add", "tranco-top", "extra.example"]).unwrap();
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stdout).contains("imported list"), "{out:?}");
    // A new import replaces it (rankings have no versions).
    id.cli(&["allowlist", "import-ranked", path(&tranco), "--top", "5", "--list", "tranco-top"]).unwrap();
    assert!(!on(&id, "domain", "detik.com", "tranco-top"));
    assert!(on(&id, "domain", "apple.com", "tranco-top"));
    assert_eq!(list_info(&id, "tranco-top").unwrap()["size"].as_u64(), Some(5));
    let removed = id.cli_json(&["allowlist", "remove", "tranco-top"]).unwrap();
    assert_eq!(removed["removed"].as_u64(), Some(5));
    assert!(list_info(&id, "tranco-top").is_none());
    assert!(!on(&id, "domain", "apple.com", "tranco-top"));
    let audit = id.cli_json(&["audit", "list", "--limit", "100"]).unwrap();
    let imports = audit.as_array().unwrap().iter().filter(|e| e["action"] == "allowlist.import").count();
    assert_eq!(imports, 3, "every import is audited: {audit}");
}

fn version_dir(root: &Path, file: &str) -> PathBuf {
    let dir = root.join(file.trim_end_matches(".json")).join("url-shortener");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(fixtures().join("versions").join(file), dir.join("list.json")).unwrap();
    dir
}

#[test]
fn a_newer_version_replaces_an_older_whole_even_when_an_import_broke_off() {
    let mut id = TestNode::builder("ID").region("ID").start().unwrap();
    let files = tempfile::tempdir().unwrap();
    let v1 = version_dir(files.path(), "url-shortener.v1.json");
    let v2 = version_dir(files.path(), "url-shortener.v2.json");
    const LIST: &str = "misp-url-shortener";

    let r = id.cli_json(&["allowlist", "import-misp", path(&v1), "--action", "review"]).unwrap();
    assert_eq!(r["imported"][0]["version"].as_u64(), Some(26), "{r}");
    let held = |id: &TestNode, url: &str| {
        let v = id.cli_json(&["allowlist", "check", "--kind", "url", url]).unwrap();
        v[0]["matches"].as_array().unwrap().iter().any(|m| m["list"] == LIST && m["action"] == "review")
    };
    assert!(held(&id, "https://goo.gl/abc"));
    assert!(!held(&id, "https://s.id/abc"));

    let r = id.cli_json(&["allowlist", "import-misp", path(&v2), "--action", "review"]).unwrap();
    assert_eq!(
        (r["imported"][0]["version"].as_u64(), r["imported"][0]["replaced_version"].as_u64()),
        (Some(27), Some(26))
    );
    assert!(held(&id, "https://s.id/abc"));
    assert!(!held(&id, "https://goo.gl/abc"), "v1's rules are gone with v1");
    assert!(held(&id, "https://bit.ly/abc"));
    let info = list_info(&id, LIST).unwrap();
    assert_eq!((info["version"].as_u64(), info["size"].as_u64()), (Some(27), Some(3)));
    // The older version again is not taken.
    let r = id.cli_json(&["allowlist", "import-misp", path(&v1), "--action", "review"]).unwrap();
    assert_eq!(names(&r, "up_to_date"), [LIST], "{r}");
    assert!(r["up_to_date"][0]["reason"].as_str().unwrap().contains("version 27 is held"), "{r}");
    assert!(held(&id, "https://s.id/abc"));

    // An import of v28 that broke off after writing its chunks and before
    // its header: the store holds chunks no header names.
    id.stop().unwrap();
    {
        let s = store::open_existing(&id.dir().join("db"), 8).unwrap();
        let header = s.warninglist_header(LIST).unwrap().unwrap();
        let mut rules = RuleSet::new();
        rules.push(Rule::Domain { name: "half-written.co.id", scope: DomainScope::Site }, ListAction::Review);
        let mut b = Batch::default();
        for (i, c) in stored::encode_chunks(&rules, 0).into_iter().enumerate() {
            b.put_warninglist_chunk(LIST, header.generation + 1, u32::try_from(i).unwrap(), c);
        }
        s.commit(b).unwrap();
        assert_eq!(s.warninglists().unwrap().orphans.len(), 1);
    }
    id.start().unwrap();
    assert!(held(&id, "https://s.id/abc"), "v27 is the list, whole");
    assert!(!held(&id, "https://half-written.co.id/x"), "nothing of the broken import");
    assert_eq!(list_info(&id, LIST).unwrap()["version"].as_u64(), Some(27));
    id.stop().unwrap();
    let s = store::open_existing(&id.dir().join("db"), 8).unwrap();
    let read = s.warninglists().unwrap();
    assert!(read.orphans.is_empty(), "the broken import's chunks were removed at start");
    assert_eq!(read.lists.len(), 1);
}

#[test]
fn a_peers_arrival_on_a_local_refuse_list_is_held_for_review_naming_the_list() {
    let id = TestNode::builder("ID").region("ID").start().unwrap();
    let vn = TestNode::builder("VN").region("VN").federation_key_of(&id).start().unwrap();
    link(&id, &vn, &[], &[]).unwrap();
    // VN will not act on Google's own domains, nor on a ministry's mailbox
    // (personal data: it arrives as a keyed hash).
    vn.cli(&["allowlist", "import-misp", path(&fixtures().join("google-hosts"))]).unwrap();
    vn.cli(&["allowlist", "add", "hotlines", "--kind", "email", "pengaduan@kominfo.go.id"]).unwrap();

    let add = |kind: &str, value: &str, extra: &[&str]| {
        let mut args = vec![
            "indicator",
            "add",
            "--kind",
            kind,
            "--value",
            value,
            "--category",
            "phishing",
            "--tlp",
            "green",
            "--confidence",
            "80",
        ];
        args.extend_from_slice(extra);
        id.cli(&args).unwrap();
    };
    add("domain", "maps.google.co.id", &[]);
    add("email", "pengaduan@kominfo.go.id", &[]);
    // A shortener link: on VN's built-in review list, which does not hold arrivals.
    add("url", "https://bit.ly/loker-123", &["--override-allowlist"]);
    add("domain", "loker-palsu-123.co.id", &[]);

    assert_eventually!(PATIENCE, vn.lookup_found("loker-palsu-123.co.id").unwrap());
    assert_eventually!(PATIENCE, vn.lookup_found("https://bit.ly/loker-123").unwrap());
    let held = vn.cli_json(&["review", "list"]).unwrap();
    let mut reasons: Vec<&str> = held.as_array().unwrap().iter().map(|h| h["reason"].as_str().unwrap()).collect();
    reasons.sort_unstable();
    assert_eq!(
        reasons,
        [
            "on local allowlist hotlines (email value, matched by its keyed hash): held for review",
            "on local allowlist misp-google-hosts (domain rule google.co.id (its own site)): held for review",
        ],
        "{held}"
    );
    assert!(held.as_array().unwrap().iter().all(|h| h["peer"] == "ID"), "{held}");
    assert!(!vn.lookup_found("maps.google.co.id").unwrap(), "held, not served");
    assert!(!vn.lookup_found("pengaduan@kominfo.go.id").unwrap(), "held, not served");
    // ID has no such lists: it serves them.
    assert!(id.lookup_found("maps.google.co.id").unwrap());
}
