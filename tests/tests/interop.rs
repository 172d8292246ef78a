//! Interoperability (issue 5): STIX 2.1 export checked by the OASIS
//! validator, STIX and CSV round trips, TAXII 2.1 paged by the OASIS
//! `taxii2-client`, Prometheus metrics, `/healthz`, gRPC health and
//! reflection.
//!
//! The Python tools run from `.venv` at the workspace root, made by
//! `.ci/setup-python.sh`. Without it these tests fail (they never skip).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use jaring_tests::{TestNode, assert_eventually, free_port, link};
use serde_json::Value;

fn python() -> PathBuf {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python");
    assert!(
        venv.exists(),
        "{} is missing: run .ci/setup-python.sh (creates .venv with stix2-validator and taxii2-client) before these tests",
        venv.display()
    );
    venv
}

/// Runs a Python snippet from the venv; its stdout is one JSON document.
fn py(script: &str, args: &[&str]) -> Result<Value> {
    // requests lets REQUESTS_CA_BUNDLE override a session's `verify` (the
    // CA file taxii2-client is given), so the tests clear it.
    let out = Command::new(python())
        .arg("-c")
        .arg(script)
        .args(args)
        .env_remove("REQUESTS_CA_BUNDLE")
        .env_remove("CURL_CA_BUNDLE")
        .output()?;
    if !out.status.success() {
        bail!("python failed: {}\n{}", String::from_utf8_lossy(&out.stderr), String::from_utf8_lossy(&out.stdout));
    }
    serde_json::from_slice(&out.stdout)
        .with_context(|| format!("python output: {}", String::from_utf8_lossy(&out.stdout)))
}

/// A started node with an HTTPS listener; returns it and the port.
fn node_with_http(id: &str) -> Result<(TestNode, u16)> {
    let port = free_port();
    let node = TestNode::builder(id).region("ID").init_args(&["--http", &format!("127.0.0.1:{port}")]).start()?;
    Ok((node, port))
}

const EVERY_KIND_CSV: &str = "\
kind,value,categories,tlp,confidence,distribution,valid_until,first_seen,description,source_refs
domain,Loker-Resmi.co.id,job_scam;trafficking_recruitment,green,80,federation,2027-06-30T00:00:00Z,2026-11-01T00:00:00Z,fake job site,https://example.org/report/1;CASE-17
url,HTTPS://Loker-Resmi.co.id:443/apply?x=1#top,job_scam,clear,70,federation,,2026-11-02T00:00:00Z,,
phone,0812-3456-7890,job_scam,amber,60,federation,,,,
bank_account,bca 555-000-4242,investment_scam,amber+strict,90,federation,,,,
ewallet_account,gopay:081298765432,loan_scam,amber,55,federation,,,,
crypto_wallet,0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed,investment_scam,green,85,federation,,,it's a pig-butchering wallet,
email,Recruiter@Loker-Resmi.co.id,job_scam,red,75,federation,,,,
ip,203.0.113.7,phishing,green,40,federation,,,,
ip,2001:db8::1,phishing,green,40,federation,,,,
social_handle,telegram:@LokerKerja_Resmi,job_scam,green,65,federation,,,,
domain,revoked-scam.example.com,phishing,green,50,federation,,,,
";

const VALIDATE: &str = r#"
import json, sys
from stix2validator import validate_file, ValidationOptions
r = validate_file(sys.argv[1], ValidationOptions(version="2.1"))
errors = [str(e) for o in r.object_results for e in o.errors]
warnings = [str(w) for o in r.object_results for w in o.warnings]
print(json.dumps({"valid": r.is_valid, "objects": len(r.object_results), "errors": errors, "warnings": warnings}))
"#;

fn by_pattern(bundle: &Value) -> BTreeMap<String, Value> {
    bundle["objects"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|o| o["type"] == "indicator")
        .map(|o| (o["pattern"].as_str().unwrap_or_default().to_string(), o.clone()))
        .collect()
}

#[test]
fn stix_export_of_every_kind_passes_the_oasis_validator_and_round_trips() -> Result<()> {
    python();
    let a = TestNode::builder("ID").region("ID").start()?;
    let csv = a.dir().join("every-kind.csv");
    std::fs::write(&csv, EVERY_KIND_CSV)?;
    let report = a.cli_json(&["indicator", "import", csv.to_str().unwrap_or_default()])?;
    assert_eq!(report["stored"], 11, "{report}");
    let listed = a.cli_json(&["indicator", "list", "--kind", "domain"])?;
    let revoked_id = listed
        .as_array()
        .and_then(|l| l.iter().find(|r| r["value"] == "revoked-scam.example.com"))
        .and_then(|r| r["id"].as_str())
        .context("the domain to revoke")?
        .to_string();
    a.cli(&["indicator", "revoke", &revoked_id, "--reason", "taken down"])?;

    // Every kind, including the RED e-mail (exports leave RED out unless asked).
    let out = a.dir().join("export.json");
    a.cli(&["export", "stix", "--out", out.to_str().unwrap_or_default(), "--max-tlp", "red"])?;
    let v = py(VALIDATE, &[out.to_str().unwrap_or_default()])?;
    assert_eq!(v["valid"], true, "stix2-validator: {v:#}");
    assert_eq!(v["errors"].as_array().map(Vec::len), Some(0), "{v:#}");
    eprintln!("validator warnings: {:#}", v["warnings"]);

    let text = std::fs::read_to_string(&out)?;
    for plain in ["5550004242", "81298765432", "recruiter@"] {
        assert!(!text.to_lowercase().contains(plain), "personal data {plain:?} left the node in plain text");
    }
    let bundle: Value = serde_json::from_str(&text)?;
    let objects = bundle["objects"].as_array().context("objects")?;
    let count = |ty: &str| objects.iter().filter(|o| o["type"] == ty).count();
    assert_eq!(count("indicator"), 11);
    assert_eq!(count("identity"), 1);
    // clear, green, amber, amber+strict, red are all used.
    assert_eq!(count("marking-definition"), 5);
    let patterns = by_pattern(&bundle);
    for p in [
        "[domain-name:value = 'loker-resmi.co.id']",
        "[url:value = 'https://loker-resmi.co.id/apply?x=1']",
        "[ipv4-addr:value = '203.0.113.7']",
        "[ipv6-addr:value = '2001:db8::1']",
        "[x-jaring-phone:value = '+6281234567890']",
        "[x-jaring-crypto-wallet:value = 'eth:0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed']",
        "[x-jaring-social-handle:value = 'telegram:lokerkerja_resmi']",
    ] {
        assert!(patterns.contains_key(p), "{p} missing from {:?}", patterns.keys());
    }
    for ty in ["x-jaring-bank-account", "x-jaring-ewallet-account", "x-jaring-email"] {
        assert!(
            patterns.keys().any(|p| p.starts_with(&format!("[{ty}:hmac_sha256 = '"))),
            "{ty}: {:?}",
            patterns.keys()
        );
    }
    let revoked = &patterns["[domain-name:value = 'revoked-scam.example.com']"];
    assert_eq!(revoked["revoked"], true);
    let domain = &patterns["[domain-name:value = 'loker-resmi.co.id']"];
    assert_eq!(domain["confidence"], 80);
    assert_eq!(domain["valid_until"], "2027-06-30T00:00:00.000Z");
    assert_eq!(domain["object_marking_refs"][0], "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb");
    let identity = objects.iter().find(|o| o["type"] == "identity").context("identity")?;
    assert_eq!(domain["created_by_ref"], identity["id"]);
    // Deterministic ids: a second export names everything the same.
    let out2 = a.dir().join("export2.json");
    a.cli(&["export", "stix", "--out", out2.to_str().unwrap_or_default(), "--max-tlp", "red"])?;
    let again: BTreeSet<String> = by_pattern(&serde_json::from_str(&std::fs::read_to_string(&out2)?)?)
        .values()
        .map(|o| o["id"].to_string())
        .collect();
    assert_eq!(again, patterns.values().map(|o| o["id"].to_string()).collect());

    // Import into another node: every plain-valued, unrevoked indicator is
    // taken; the keyed hashes and the revoked one are refused one by one.
    let b = TestNode::builder("VN").region("ID").start()?;
    let report = b.cli_json(&["indicator", "import", out.to_str().unwrap_or_default()])?;
    assert_eq!(report["rows"], 11, "{report}");
    assert_eq!(report["stored"], 7, "{report}");
    let errors = report["errors"].as_array().context("errors")?;
    assert_eq!(errors.len(), 4, "{report}");
    let reasons: Vec<String> = errors.iter().map(|e| e[1].as_str().unwrap_or_default().to_string()).collect();
    assert_eq!(reasons.iter().filter(|r| r.contains("keyed hash")).count(), 3, "{reasons:?}");
    assert_eq!(reasons.iter().filter(|r| r.contains("revoked")).count(), 1, "{reasons:?}");
    let out_b = b.dir().join("export.json");
    b.cli(&["export", "stix", "--out", out_b.to_str().unwrap_or_default(), "--max-tlp", "red"])?;
    let back = by_pattern(&serde_json::from_str(&std::fs::read_to_string(&out_b)?)?);
    assert_eq!(back.len(), 7);
    for (pattern, o) in &back {
        let orig = &patterns[pattern];
        for field in [
            "confidence",
            "labels",
            "valid_from",
            "valid_until",
            "object_marking_refs",
            "description",
            "indicator_types",
            "x_jaring_kind",
            "x_jaring_distribution",
            "revoked",
        ] {
            assert_eq!(o.get(field), orig.get(field), "{pattern}: {field}");
        }
        assert_eq!(o["x_jaring_origin"], "VN");
        // The producer (ID's identity in the file) travels on as a source
        // reference after the original ones.
        let mut refs = orig.get("external_references").and_then(Value::as_array).cloned().unwrap_or_default();
        refs.push(serde_json::json!({"source_name": "jaring-source", "external_id": "producer: Jaring node ID"}));
        assert_eq!(o["external_references"], Value::Array(refs), "{pattern}: external_references");
    }

    // CSV export round-trips into the import format too.
    let csv_out = a.dir().join("export.csv");
    a.cli(&[
        "export",
        "csv",
        "--out",
        csv_out.to_str().unwrap_or_default(),
        "--plaintext",
        "--active-only",
        "--max-tlp",
        "red",
    ])?;
    let c = TestNode::builder("MY").region("ID").start()?;
    let report = c.cli_json(&["indicator", "import", csv_out.to_str().unwrap_or_default()])?;
    assert_eq!(report["stored"], 10, "{report}");
    Ok(())
}

#[test]
fn csv_import_reports_bad_rows_by_line_number_and_goes_on() -> Result<()> {
    let a = TestNode::builder("ID").region("ID").start()?;
    let csv = a.dir().join("bad.csv");
    std::fs::write(
        &csv,
        "kind,value,categories,tlp,confidence\n\
         domain,good-one.example.com,phishing,green,50\n\
         planet,mars,phishing,green,50\n\
         domain,good-two.example.com,phishing,green,50\n\
         domain,good-three.example.com,phishing,green,500\n\
         domain,not a domain!,phishing,green,50\n\
         domain,good-four.example.com,nonsense,green,50\n",
    )?;
    let report = a.cli_json(&["indicator", "import", csv.to_str().unwrap_or_default()])?;
    assert_eq!(report["rows"], 6, "{report}");
    assert_eq!(report["stored"], 2, "{report}");
    let lines: Vec<u64> = report["errors"].as_array().context("errors")?.iter().filter_map(|e| e[0].as_u64()).collect();
    assert_eq!(lines, vec![3, 5, 6, 7], "{report}");
    let text = report["errors"].to_string();
    assert!(text.contains("kind") && text.contains("confidence") && text.contains("categories"), "{text}");
    Ok(())
}

const TAXII_PAGES: &str = r#"
import json, sys, time, warnings
warnings.filterwarnings("ignore")
from taxii2client.v21 import Server, as_pages
from taxii2client.exceptions import TAXIIServiceException
import requests
url, token, ca, added_after = sys.argv[1:5]
base = url.rsplit("taxii2/", 1)[0]
t0 = time.time()
server = Server(url, user="platform", password=token, verify=ca)
roots = server.api_roots
coll = {c.title.split(": ")[1]: c for c in roots[0].collections}
allc = coll["everything held"]
ids, pages, media = set(), 0, None
for env in as_pages(allc.get_objects, per_request=1000, added_after=added_after):
    pages += 1
    for o in env.get("objects", []):
        ids.add(o["id"])
page_time = time.time() - t0
manifest = allc.get_manifest(limit=5)
one = sorted(ids)[0]
obj = allc.get_object(one)
versions = allc.object_versions(one)
own = coll["published here"].get_objects(limit=3)
amber = allc.get_objects(type="identity")
r = requests.get(base + "jaring/collections/", headers={"Authorization": "Bearer " + token, "Accept": "application/taxii+json;version=2.1"}, verify=ca)
bad = requests.get(base + "jaring/collections/", headers={"Authorization": "Bearer jrt_wrong"}, verify=ca)
notacc = requests.get(base + "jaring/collections/", headers={"Authorization": "Bearer " + token, "Accept": "text/html"}, verify=ca)
print(json.dumps({
  "title": server.title, "collections": sorted(coll), "ids": len(ids), "pages": pages, "seconds": page_time,
  "manifest": manifest, "object": obj, "versions": versions, "own": len(own.get("objects", [])),
  "identity_filter": len(amber.get("objects", [])),
  "bearer_status": r.status_code, "content_type": r.headers.get("Content-Type"),
  "bad_status": bad.status_code, "not_acceptable": notacc.status_code,
}))
"#;

#[test]
fn taxii2_client_pages_10000_indicators_with_added_after_and_next() -> Result<()> {
    python();
    let (a, port) = node_with_http("ID")?;
    // 10,000 indicators a green token may see, and 500 it may not (amber).
    let csv = a.dir().join("10k.csv");
    let mut text = String::from("kind,value,categories,tlp,confidence\n");
    for i in 0..10_000 {
        text.push_str(&format!("domain,scam-{i}.example.com,job_scam,green,60\n"));
    }
    for i in 0..500 {
        text.push_str(&format!("domain,secret-{i}.example.com,job_scam,amber,60\n"));
    }
    std::fs::write(&csv, text)?;
    let started = Instant::now();
    let report = a.cli_json(&["indicator", "import", csv.to_str().unwrap_or_default()])?;
    assert_eq!(report["stored"], 10_500, "{report}");
    eprintln!("10,500-row CSV import: {:?}", started.elapsed());
    let token = a.cli(&["token", "create", "platform", "--max-tlp", "green"])?.trim().to_string();
    assert!(token.starts_with("jrt_"), "{token}");
    let listed = a.cli_json(&["token", "list"])?;
    assert!(!listed.to_string().contains(&token), "token list must not show the secret");

    let url = format!("https://127.0.0.1:{port}/taxii2/");
    let ca = a.dir().join("tls/ca.pem");
    let r = py(TAXII_PAGES, &[&url, &token, ca.to_str().unwrap_or_default(), "2000-01-01T00:00:00Z"])?;
    eprintln!(
        "taxii2-client paged {} objects in {} pages, {:.2} s",
        r["ids"],
        r["pages"],
        r["seconds"].as_f64().unwrap_or(0.0)
    );
    assert_eq!(r["collections"], serde_json::json!(["everything held", "published here"]));
    // 10,000 indicators plus the identity and the TLP:GREEN marking they
    // reference (served with the first page that needs them).
    assert_eq!(r["ids"], 10_002, "every green object exactly once, no amber: {r}");
    assert_eq!(r["pages"], 11);
    assert!(r["seconds"].as_f64().unwrap_or(99.0) < 10.0, "paging 10,000 objects took {}", r["seconds"]);
    assert_eq!(r["manifest"]["objects"].as_array().map(Vec::len), Some(5), "{r}");
    assert_eq!(r["manifest"]["more"], true);
    assert_eq!(r["manifest"]["objects"][0]["media_type"], "application/stix+json;version=2.1");
    assert_eq!(r["object"]["objects"].as_array().map(Vec::len), Some(1), "{r}");
    assert_eq!(r["versions"]["versions"].as_array().map(Vec::len), Some(1), "{r}");
    assert_eq!(r["own"], 3);
    assert_eq!(r["identity_filter"], 1, "the producer's identity: {r}");
    assert_eq!(r["bearer_status"], 200);
    assert_eq!(r["content_type"], "application/taxii+json;version=2.1");
    assert_eq!(r["bad_status"], 401);
    assert_eq!(r["not_acceptable"], 406);

    // added_after: a poller that saw everything gets nothing until new
    // indicators arrive, then exactly those.
    let last: Value = py(
        r#"
import json, sys, warnings
warnings.filterwarnings("ignore")
from taxii2client.v21 import Collection, as_pages
url, token, ca = sys.argv[1:4]
c = Collection(url, user="p", password=token, verify=ca)
pages = list(as_pages(c.get_manifest, per_request=10000))
objs = [o for p in pages for o in p.get("objects", [])]
print(json.dumps({"last": max(o["date_added"] for o in objs), "n": sum(o["id"].startswith("indicator--") for o in objs), "more": pages[-1].get("more", False)}))
"#,
        &[&collection_url(port, &a)?, &token, ca.to_str().unwrap_or_default()],
    )?;
    assert_eq!(last["n"], 10_000, "{last}");
    assert_eq!(last["more"], false, "{last}");
    let since = last["last"].as_str().context("last date_added")?.to_string();
    a.cli(&[
        "indicator",
        "add",
        "--kind",
        "domain",
        "--value",
        "late-arrival.example.com",
        "--category",
        "phishing",
        "--tlp",
        "green",
    ])?;
    let newer = py(
        r#"
import json, sys, warnings
warnings.filterwarnings("ignore")
from taxii2client.v21 import Collection
url, token, ca, since = sys.argv[1:5]
c = Collection(url, user="p", password=token, verify=ca)
env = c.get_objects(added_after=since, type="indicator")
print(json.dumps([o["pattern"] for o in env.get("objects", [])]))
"#,
        &[&collection_url(port, &a)?, &token, ca.to_str().unwrap_or_default(), &since],
    )?;
    assert_eq!(newer, serde_json::json!(["[domain-name:value = 'late-arrival.example.com']"]));

    // Revoked tokens are refused at once.
    a.cli(&["token", "revoke", "platform"])?;
    let status = py(
        r#"
import json, sys, requests, warnings
warnings.filterwarnings("ignore")
r = requests.get(sys.argv[1], auth=("p", sys.argv[2]), verify=sys.argv[3])
print(json.dumps(r.status_code))
"#,
        &[&url, &token, ca.to_str().unwrap_or_default()],
    )?;
    assert_eq!(status, 401);
    Ok(())
}

fn collection_url(port: u16, a: &TestNode) -> Result<String> {
    // The "everything held" collection id is a UUIDv5 of the node id; ask
    // the server rather than recompute it.
    let token = a.cli(&["token", "create", "lister"])?.trim().to_string();
    let ca = a.dir().join("tls/ca.pem");
    let v = py(
        r#"
import json, sys, warnings
warnings.filterwarnings("ignore")
from taxii2client.v21 import ApiRoot
root = ApiRoot(sys.argv[1], user="p", password=sys.argv[2], verify=sys.argv[3])
print(json.dumps([c.url for c in root.collections if c.title.endswith("everything held")][0]))
"#,
        &[&format!("https://127.0.0.1:{port}/jaring/"), &token, ca.to_str().unwrap_or_default()],
    )?;
    a.cli(&["token", "revoke", "lister"])?;
    v.as_str().map(str::to_string).context("collection url")
}

const SCRAPE: &str = r#"
import json, sys, ssl, urllib.request
ctx = ssl.create_default_context(cafile=sys.argv[2])
out = {}
for path in ["/metrics", "/healthz"]:
    with urllib.request.urlopen(sys.argv[1] + path, context=ctx) as r:
        out[path] = {"status": r.status, "type": r.headers.get("Content-Type"), "body": r.read().decode()}
print(json.dumps(out))
"#;

/// Parses Prometheus text exposition into (name{labels} -> value).
fn parse_metrics(text: &str) -> Result<BTreeMap<String, f64>> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let (name, value) = line.rsplit_once(' ').with_context(|| format!("bad sample line {line:?}"))?;
        let value: f64 = value.parse().with_context(|| format!("bad value in {line:?}"))?;
        out.insert(name.to_string(), value);
    }
    Ok(out)
}

#[test]
fn metrics_healthz_grpc_health_and_reflection() -> Result<()> {
    python();
    let (a, port) = node_with_http("ID")?;
    let (b, b_port) = node_with_http("VN")?;
    link(&a, &b, &[], &[])?;
    a.cli(&[
        "indicator",
        "add",
        "--kind",
        "domain",
        "--value",
        "metric-me.example.com",
        "--category",
        "phishing",
        "--tlp",
        "green",
    ])?;
    a.cli(&[
        "indicator",
        "add",
        "--kind",
        "url",
        "--value",
        "https://metric-me.example.com/x",
        "--category",
        "phishing",
        "--tlp",
        "green",
    ])?;
    assert_eventually!(
        Duration::from_secs(15),
        b.lookup_found("metric-me.example.com")?,
        "VN never got ID's indicator:\nID log:\n{}\nVN log:\n{}",
        a.log(),
        b.log()
    );
    // What VN received from ID, and its lag behind ID.
    let b_ca = b.dir().join("tls/ca.pem");
    let rb = py(SCRAPE, &[&format!("https://127.0.0.1:{b_port}"), b_ca.to_str().unwrap_or_default()])?;
    let b_samples = parse_metrics(rb["/metrics"]["body"].as_str().context("VN metrics")?)?;
    assert!(b_samples.get("jaring_envelopes_received_total{peer=\"ID\"}").is_some_and(|n| *n >= 2.0), "{b_samples:?}");
    assert!(b_samples.contains_key("jaring_peer_lag_entries{peer=\"ID\"}"), "{b_samples:?}");
    let ca = a.dir().join("tls/ca.pem");
    let r = py(SCRAPE, &[&format!("https://127.0.0.1:{port}"), ca.to_str().unwrap_or_default()])?;
    assert_eq!(r["/healthz"]["status"], 200);
    let m = &r["/metrics"];
    assert_eq!(m["status"], 200);
    assert!(m["type"].as_str().unwrap_or_default().starts_with("application/openmetrics-text"), "{m}");
    let body = m["body"].as_str().context("body")?;
    assert!(body.trim_end().ends_with("# EOF"), "{body}");
    for family in [
        "# TYPE jaring_envelopes_sent counter",
        "# TYPE jaring_admin_request_duration_seconds histogram",
        "# TYPE jaring_peer_lag_entries gauge",
        "# TYPE jaring_store_bytes gauge",
    ] {
        assert!(body.contains(family), "{family} missing:\n{body}");
    }
    let samples = parse_metrics(body)?;
    assert!(samples.get("jaring_envelopes_sent_total{peer=\"VN\"}").is_some_and(|n| *n >= 2.0), "{body}");
    assert_eq!(samples.get("jaring_indicators{kind=\"domain\"}"), Some(&1.0), "{body}");
    assert_eq!(samples.get("jaring_indicators{kind=\"url\"}"), Some(&1.0), "{body}");
    assert!(samples.get("jaring_log_entries").is_some_and(|n| *n >= 2.0), "{body}");
    assert!(samples.get("jaring_store_bytes").is_some_and(|b| *b > 0.0), "{body}");
    let submits = samples.get("jaring_admin_request_duration_seconds_count{method=\"SubmitIndicators\"}");
    assert_eq!(submits, Some(&2.0), "{body}");
    // Every commit that wrote is timed, in the store and before it, and
    // counts what it carried: here at least the two indicators.
    let commits = samples.get("jaring_store_commit_duration_seconds_count").copied().unwrap_or(0.0);
    assert!(commits >= 2.0, "{body}");
    assert_eq!(samples.get("jaring_ledger_prepare_duration_seconds_count"), Some(&commits), "{body}");
    assert_eq!(samples.get("jaring_ledger_commit_entries_count"), Some(&commits), "{body}");
    assert!(samples.get("jaring_ledger_commit_entries_sum").is_some_and(|n| *n >= 2.0), "{body}");
    // VN's commits carried what it received from ID.
    assert!(b_samples.get("jaring_ledger_commit_entries_sum").is_some_and(|n| *n >= 2.0), "{b_samples:?}");

    // gRPC health and reflection on the admin listener, no token needed.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(async {
        // TLS, verified against the node's CA, like the CLI.
        let channel = jaring_node::admin::channel::AdminEndpoint::of_node_dir(a.dir())?.connect().await?;
        let mut health = tonic_health::pb::health_client::HealthClient::new(channel.clone());
        for service in ["", "jaring.v1.Admin"] {
            let resp =
                health.check(tonic_health::pb::HealthCheckRequest { service: service.into() }).await?.into_inner();
            assert_eq!(
                resp.status,
                tonic_health::pb::health_check_response::ServingStatus::Serving as i32,
                "{service:?}"
            );
        }
        let unknown = health.check(tonic_health::pb::HealthCheckRequest { service: "nope.Nope".into() }).await;
        assert_eq!(unknown.map_err(|s| s.code()).err(), Some(tonic::Code::NotFound));

        use tonic_reflection::pb::v1::ServerReflectionRequest;
        use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
        use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
        use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
        let mut reflection = ServerReflectionClient::new(channel);
        let req = ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::ListServices(String::new())),
        };
        let mut stream = reflection.server_reflection_info(tokio_stream::iter(vec![req])).await?.into_inner();
        let Some(resp) = stream.message().await? else { bail!("no reflection answer") };
        let Some(MessageResponse::ListServicesResponse(list)) = resp.message_response else {
            bail!("not a service list")
        };
        let names: BTreeSet<String> = list.service.into_iter().map(|s| s.name).collect();
        for s in ["jaring.v1.Admin", "grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"] {
            assert!(names.contains(s), "{s} not listed: {names:?}");
        }
        // The admin listener lists only what it serves.
        assert!(!names.contains("jaring.v1.Federation"), "{names:?}");
        Ok::<(), anyhow::Error>(())
    })?;
    Ok(())
}
