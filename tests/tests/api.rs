//! Roles, scoped tokens and the HTTP API (issue 16), against real
//! `jaring-node` processes on loopback: for each role one allowed and one
//! refused call on each interface (admin gRPC through the CLI with
//! `--token-file`, the HTTP API, TAXII); TLP and kind ceilings on every read
//! path; expiry, revocation and network bindings taking effect without a
//! restart; 429 on a flood; the OpenAPI document valid as 3.1 and naming
//! every route the server serves; malformed requests never answered 5xx.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use jaring_tests::https::{self, Response};
use jaring_tests::{TestNode, assert_eventually, bin};
use serde_json::{Value, json};

/// Writes a token to a private file, for `--token-file`.
fn token_file(node: &TestNode, name: &str, secret: &str) -> Result<PathBuf> {
    let path = node.dir().join(format!("{name}.token"));
    std::fs::write(&path, secret)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    Ok(path)
}

/// `jaring --node DIR --token-file F ARGS`: the admin gRPC API as that token.
fn cli_as(node: &TestNode, file: &Path, args: &[&str]) -> Result<Output> {
    Ok(Command::new(bin("jaring"))
        .arg("--node")
        .arg(node.dir())
        .arg("--token-file")
        .arg(file)
        .args(args)
        .stdin(Stdio::null())
        .output()?)
}

/// Requires the CLI call to succeed; its stdout.
fn ok_as(node: &TestNode, file: &Path, args: &[&str]) -> Result<String> {
    let out = cli_as(node, file, args)?;
    if !out.status.success() {
        bail!("jaring {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Requires the CLI call to fail; its stderr.
fn refused_as(node: &TestNode, file: &Path, args: &[&str]) -> Result<String> {
    let out = cli_as(node, file, args)?;
    if out.status.success() {
        bail!("jaring {args:?} succeeded: {}", String::from_utf8_lossy(&out.stdout));
    }
    Ok(String::from_utf8_lossy(&out.stderr).into_owned())
}

/// One request with a bearer token (and a JSON body when given).
fn call(node: &TestNode, method: &str, path: &str, token: Option<&str>, body: Option<&Value>) -> Result<Response> {
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut headers: Vec<(&str, &str)> = auth.iter().map(|a| ("Authorization", a.as_str())).collect();
    let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
    if body.is_some() {
        headers.push(("Content-Type", "application/json"));
    }
    https::request(node, method, path, &headers, &bytes)
}

/// A TAXII request with the TAXII media types.
fn taxii(node: &TestNode, method: &str, path: &str, token: &str, body: Option<&Value>) -> Result<Response> {
    let auth = format!("Bearer {token}");
    let mut headers = vec![("Authorization", auth.as_str()), ("Accept", "application/taxii+json;version=2.1")];
    let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
    if body.is_some() {
        headers.push(("Content-Type", "application/taxii+json;version=2.1"));
    }
    https::request(node, method, path, &headers, &bytes)
}

/// Asserts a problem document of this status; its JSON.
fn problem(r: &Response, status: u16) -> Value {
    assert_eq!(r.status, status, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/problem+json"), "{}", r.text());
    let p = r.json().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(p["status"], status, "{p}");
    p
}

/// The admin token, for reads the test checks against.
fn admin_token(node: &TestNode) -> String {
    std::fs::read_to_string(node.dir().join("admin.token")).unwrap_or_default().trim().to_string()
}

/// The id of a TAXII collection by the start of its title's tail
/// ("published here" or "everything held").
fn collection(node: &TestNode, token: &str, which: &str) -> Result<(String, Value)> {
    let r = taxii(node, "GET", "/jaring/collections/", token, None)?;
    if r.status != 200 {
        bail!("collections: {} {}", r.status, r.text());
    }
    let all = r.json()?;
    for c in all["collections"].as_array().into_iter().flatten() {
        if c["title"].as_str().is_some_and(|t| t.ends_with(which)) {
            return Ok((c["id"].as_str().unwrap_or_default().to_string(), c.clone()));
        }
    }
    bail!("no collection {which:?} in {all}")
}

fn add(node: &TestNode, kind: &str, value: &str, tlp: &str) -> Result<Value> {
    node.cli_json(&[
        "indicator",
        "add",
        "--kind",
        kind,
        "--value",
        value,
        "--category",
        "job_scam",
        "--tlp",
        tlp,
        "--confidence",
        "80",
    ])
}

fn stix_indicator(n: u32, domain: &str) -> Value {
    json!({
        "type": "indicator",
        "spec_version": "2.1",
        "id": format!("indicator--00000000-0000-4000-8000-{n:012}"),
        "created": "2026-11-01T08:00:00.000Z",
        "modified": "2026-11-01T08:00:00.000Z",
        "name": domain,
        "pattern": format!("[domain-name:value = '{domain}']"),
        "pattern_type": "stix",
        "valid_from": "2026-11-01T08:00:00Z",
        "labels": ["job_scam"]
    })
}

#[test]
fn every_role_has_one_allowed_and_one_refused_call_on_each_interface() -> Result<()> {
    let node = TestNode::builder("ID").http().start()?;
    add(&node, "domain", "green-loker.co.id", "green")?;
    let analyst = node.create_token("analyst-siti", &["--role", "analyst"])?;
    let submitter = node.create_token("kominfo-crawler", &["--role", "submitter"])?;
    let platform = node.create_token("meta", &["--role", "platform", "--platform", "meta", "--max-tlp", "green"])?;
    let auditor = node.create_token("bssn-audit", &["--role", "auditor"])?;
    let reader = node.create_token("opencti", &["--role", "reader", "--max-tlp", "green"])?;
    let files: Vec<PathBuf> = [
        ("analyst-siti", &analyst),
        ("kominfo-crawler", &submitter),
        ("meta", &platform),
        ("bssn-audit", &auditor),
        ("opencti", &reader),
    ]
    .iter()
    .map(|(n, s)| token_file(&node, n, s))
    .collect::<Result<_>>()?;
    let [f_analyst, f_submitter, f_platform, f_auditor, f_reader] = files.as_slice() else { bail!("five files") };
    let listed = node.cli_json(&["token", "list"])?.to_string();
    for secret in [&analyst, &submitter, &platform, &auditor, &reader] {
        assert!(!listed.contains(secret.as_str()), "token list must not show secrets");
    }

    // --- admin gRPC, through the CLI with --token-file ---
    assert!(ok_as(&node, f_analyst, &["review", "list"]).is_ok());
    let e = refused_as(&node, f_analyst, &["peer", "list"])?;
    assert!(e.contains("this token's role (analyst) may not list peers"), "{e}");
    let e = refused_as(&node, f_analyst, &["token", "list"])?;
    assert!(e.contains("this token's role (analyst) may not list tokens"), "{e}");

    ok_as(
        &node,
        f_submitter,
        &["indicator", "add", "--kind", "domain", "--value", "crawled.co.id", "--category", "job_scam"],
    )?;
    let e = refused_as(&node, f_submitter, &["audit", "list"])?;
    assert!(e.contains("this token's role (submitter) may not read the audit log"), "{e}");

    let found: Value = serde_json::from_str(&ok_as(&node, f_platform, &["--json", "lookup", "green-loker.co.id"])?)?;
    assert_eq!(found["found"], true, "{found}");
    let identity = node.identity();
    let e = refused_as(&node, f_platform, &["peer", "add", "--identity", identity.to_str().unwrap_or_default()])?;
    assert!(e.contains("this token's role (platform) may not add peers"), "{e}");

    assert!(ok_as(&node, f_auditor, &["audit", "verify"])?.contains("audit log intact"));
    let e = refused_as(&node, f_auditor, &["lookup", "green-loker.co.id"])?;
    assert!(e.contains("this token's role (auditor) may not look values up"), "{e}");

    assert!(ok_as(&node, f_reader, &["token", "whoami"])?.contains("reader"));
    let e = refused_as(
        &node,
        f_reader,
        &["indicator", "add", "--kind", "domain", "--value", "x.co.id", "--category", "other"],
    )?;
    assert!(e.contains("this token's role (reader) may not submit indicators"), "{e}");

    // --- the HTTP API ---
    let r = call(&node, "GET", "/api/v1/indicators", Some(&analyst), None)?;
    assert_eq!(r.status, 200, "{}", r.text());
    let p = problem(&call(&node, "GET", "/api/v1/audit", Some(&analyst), None)?, 403);
    assert!(p["detail"].as_str().unwrap_or_default().contains("(analyst)"), "{p}");

    let batch = json!({"indicators": [
        {"kind": "domain", "value": "www.Lowongan-Palsu.co.id", "categories": ["job_scam"], "confidence": 70},
        {"kind": "domain", "value": "not a domain", "categories": ["job_scam"]},
    ]});
    let r = call(&node, "POST", "/api/v1/indicators", Some(&submitter), Some(&batch))?;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json()?;
    assert_eq!(v["results"][0]["outcome"], "stored", "{v}");
    assert_eq!(v["results"][1]["outcome"], "refused", "{v}");
    assert_eq!(v["results"][1]["field"], "value", "{v}");
    assert_eq!((v["stored"].as_u64(), v["refused"].as_u64()), (Some(1), Some(1)), "{v}");
    problem(&call(&node, "GET", "/api/v1/indicators", Some(&submitter), None)?, 403);

    let r = call(&node, "GET", "/api/v1/lookup?value=green-loker.co.id", Some(&platform), None)?;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()?["found"], true);
    let p = problem(&call(&node, "POST", "/api/v1/indicators", Some(&platform), Some(&batch))?, 403);
    assert!(p["detail"].as_str().unwrap_or_default().contains("this token's role (platform) may not submit"), "{p}");

    let r = call(&node, "GET", "/api/v1/audit", Some(&auditor), None)?;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.json()?["entries"].as_array().is_some_and(|e| !e.is_empty()));
    problem(&call(&node, "GET", "/api/v1/lookup?value=green-loker.co.id", Some(&auditor), None)?, 403);

    let r = call(&node, "GET", "/api/v1/me", Some(&reader), None)?;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()?["role"], "reader");
    problem(&call(&node, "GET", "/api/v1/lookup?value=green-loker.co.id", Some(&reader), None)?, 403);

    let r = call(&node, "GET", "/api/v1/me", None, None)?;
    problem(&r, 401);
    assert!(r.header("www-authenticate").is_some_and(|h| h.starts_with("Bearer")), "{:?}", r.headers);
    problem(&call(&node, "GET", "/api/v1/me", Some("jrt_not-a-token-of-this-node"), None)?, 401);

    // --- TAXII ---
    let (own, desc) = collection(&node, &submitter, "published here")?;
    assert_eq!(desc["can_write"], true, "{desc}");
    let (all, desc) = collection(&node, &reader, "everything held")?;
    assert_eq!((desc["can_read"].as_bool(), desc["can_write"].as_bool()), (Some(true), Some(false)), "{desc}");
    let (_, desc) = collection(&node, &reader, "published here")?;
    assert_eq!(desc["can_write"], false, "{desc}");
    let objects = format!("/jaring/collections/{all}/objects/");
    let own_objects = format!("/jaring/collections/{own}/objects/");
    let envelope = json!({"objects": [stix_indicator(1, "taxii-crawled.co.id")]});

    let r = taxii(&node, "POST", &own_objects, &submitter, Some(&envelope))?;
    assert_eq!(r.status, 202, "{}", r.text());
    let status = r.json()?;
    assert_eq!(status["success_count"], 1, "{status}");
    let r = taxii(
        &node,
        "GET",
        &format!("/jaring/status/{}/", status["id"].as_str().unwrap_or_default()),
        &submitter,
        None,
    )?;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()?["status"], "complete");
    assert!(node.lookup_found("taxii-crawled.co.id")?);
    assert_eq!(taxii(&node, "GET", &objects, &submitter, None)?.status, 403);

    assert_eq!(taxii(&node, "GET", &objects, &reader, None)?.status, 200);
    assert_eq!(taxii(&node, "POST", &own_objects, &reader, Some(&envelope))?.status, 403);

    assert_eq!(taxii(&node, "GET", &objects, &platform, None)?.status, 200);
    assert_eq!(taxii(&node, "POST", &own_objects, &platform, Some(&envelope))?.status, 403);

    let env2 = json!({"objects": [stix_indicator(2, "analyst-taxii.co.id")]});
    assert_eq!(taxii(&node, "POST", &own_objects, &analyst, Some(&env2))?.status, 202);
    assert_eq!(taxii(&node, "POST", &objects, &analyst, Some(&env2))?.status, 403, "the all collection is read only");

    let (_, desc) = collection(&node, &auditor, "everything held")?;
    assert_eq!(desc["can_read"], false, "{desc}");
    assert_eq!(taxii(&node, "GET", &objects, &auditor, None)?.status, 403);

    // Changes are audited with the acting token's name, refusals too.
    let audit = node.cli_json(&["audit", "list", "--limit", "1000"])?;
    let entries = audit.as_array().context("entries")?;
    assert!(
        entries.iter().any(
            |e| e["actor"].as_str().is_some_and(|a| a.starts_with("token:kominfo-crawler")) && e["kind"] == "admin"
        ),
        "a submission is audited as the crawler's token: {audit}"
    );
    assert!(
        entries.iter().any(|e| e["actor"] == "token:meta" && e["kind"] == "access" && e["reason"] == "role"),
        "the platform's refused submission is audited: {audit}"
    );
    assert!(
        entries.iter().any(|e| e["action"].as_str().is_some_and(|a| a.contains("token"))
            && e["detail"].as_str().is_some_and(|d| d.contains("kominfo-crawler"))),
        "the token's creation is audited: {audit}"
    );
    Ok(())
}

#[test]
fn tlp_and_kind_ceilings_hold_on_every_read_path() -> Result<()> {
    let node = TestNode::builder("ID").http().start()?;
    add(&node, "domain", "green-loker.co.id", "green")?;
    add(&node, "domain", "amber-loker.co.id", "amber")?;
    add(&node, "url", "https://green-loker.co.id/apply", "green")?;
    let platform = node.create_token(
        "bank-bri",
        &["--role", "platform", "--platform", "bri", "--max-tlp", "green", "--kinds", "domain"],
    )?;
    let file = token_file(&node, "bank-bri", &platform)?;
    let admin = admin_token(&node);

    // Lookup, single (HTTP and gRPC).
    for (value, seen) in
        [("green-loker.co.id", true), ("amber-loker.co.id", false), ("https://green-loker.co.id/apply", false)]
    {
        let path = format!("/api/v1/lookup?value={}", value.replace(':', "%3A").replace('/', "%2F"));
        let r = call(&node, "GET", &path, Some(&platform), None)?;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json()?["found"], seen, "{value}: {}", r.text());
        let r = call(&node, "GET", &path, Some(&admin), None)?;
        assert_eq!(r.json()?["found"], true, "the admin sees {value}");
        let grpc: Value = serde_json::from_str(&ok_as(&node, &file, &["--json", "lookup", value])?)?;
        assert_eq!(grpc["found"], seen, "gRPC {value}: {grpc}");
    }
    // Lookup, batch.
    let body = json!({"values": ["green-loker.co.id", "amber-loker.co.id", "https://green-loker.co.id/apply"]});
    let r = call(&node, "POST", "/api/v1/lookup", Some(&platform), Some(&body))?;
    assert_eq!(r.status, 200, "{}", r.text());
    let found: Vec<Value> =
        r.json()?["results"].as_array().context("results")?.iter().map(|x| x["found"].clone()).collect();
    assert_eq!(found, vec![json!(true), json!(false), json!(false)]);
    let body = json!({"values": ["amber-loker.co.id"], "summary": true});
    let r = call(&node, "POST", "/api/v1/lookup", Some(&platform), Some(&body))?;
    assert_eq!(r.json()?["results"][0]["found"], false, "{}", r.text());

    // List (an analyst token with the same ceiling: platforms may not list).
    let analyst =
        node.create_token("analyst-green", &["--role", "analyst", "--max-tlp", "green", "--kinds", "domain"])?;
    let r = call(&node, "GET", "/api/v1/indicators?limit=100", Some(&analyst), None)?;
    assert_eq!(r.status, 200, "{}", r.text());
    let values: Vec<String> = r.json()?["indicators"]
        .as_array()
        .context("indicators")?
        .iter()
        .map(|i| i["value"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(values, vec!["green-loker.co.id".to_string()]);
    let r = call(&node, "GET", "/api/v1/indicators?limit=100", Some(&admin), None)?;
    assert_eq!(r.json()?["indicators"].as_array().map(Vec::len), Some(3), "{}", r.text());
    let ids: Vec<(String, String)> = r.json()?["indicators"]
        .as_array()
        .context("indicators")?
        .iter()
        .map(|i| {
            (i["value"].as_str().unwrap_or_default().to_string(), i["id"].as_str().unwrap_or_default().to_string())
        })
        .collect();
    for (value, id) in &ids {
        let r = call(&node, "GET", &format!("/api/v1/indicators/{id}"), Some(&analyst), None)?;
        let want = if value == "green-loker.co.id" { 200 } else { 404 };
        assert_eq!(r.status, want, "{value}: {}", r.text());
    }
    let grpc = ok_as(&node, &file, &["indicator", "list"]);
    assert!(grpc.is_err(), "a platform token may not enumerate the store");

    // TAXII objects, manifest, versions.
    let (all, _) = collection(&node, &platform, "everything held")?;
    let base = format!("/jaring/collections/{all}");
    let r = taxii(&node, "GET", &format!("{base}/objects/"), &platform, None)?;
    assert_eq!(r.status, 200, "{}", r.text());
    let text = r.text();
    assert!(text.contains("green-loker.co.id") && !text.contains("amber-loker") && !text.contains("/apply"), "{text}");
    let admin_objects = taxii(&node, "GET", &format!("{base}/objects/?match[type]=indicator"), &admin, None)?.json()?;
    let stix_ids: Vec<(String, String)> = admin_objects["objects"]
        .as_array()
        .context("objects")?
        .iter()
        .map(|o| {
            (o["pattern"].as_str().unwrap_or_default().to_string(), o["id"].as_str().unwrap_or_default().to_string())
        })
        .collect();
    assert_eq!(stix_ids.len(), 3, "{admin_objects}");
    let r = taxii(&node, "GET", &format!("{base}/manifest/?match[type]=indicator"), &platform, None)?;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()?["objects"].as_array().map(Vec::len), Some(1), "{}", r.text());
    for (pattern, id) in &stix_ids {
        let seen = pattern.contains("'green-loker.co.id'");
        let r = taxii(&node, "GET", &format!("{base}/objects/{id}/versions/"), &platform, None)?;
        assert_eq!(r.status == 200, seen, "versions of {pattern}: {} {}", r.status, r.text());
        let r = taxii(&node, "GET", &format!("{base}/objects/{id}/"), &platform, None)?;
        assert_eq!(r.status == 200, seen, "object {pattern}: {} {}", r.status, r.text());
    }

    // The MISP feed.
    let r = https::get(&node, "/misp/hashes.csv", Some(&platform))?;
    assert_eq!(r.status, 200, "{}", r.text());
    let all_hashes = https::get(&node, "/misp/hashes.csv", Some(&admin))?;
    assert!(r.text().lines().count() < all_hashes.text().lines().count(), "{}\n---\n{}", r.text(), all_hashes.text());
    Ok(())
}

#[test]
fn expiry_revocation_and_networks_apply_at_the_next_request() -> Result<()> {
    let node = TestNode::builder("ID").http().start()?;
    let admin = admin_token(&node);

    // Expiry.
    let brief = node.create_token("brief", &["--role", "reader", "--expires", "2s"])?;
    let brief_file = token_file(&node, "brief", &brief)?;
    assert_eq!(call(&node, "GET", "/api/v1/me", Some(&brief), None)?.status, 200);
    assert_eventually!(
        Duration::from_secs(20),
        call(&node, "GET", "/api/v1/me", Some(&brief), None).is_ok_and(|r| r.status == 401)
    );
    let p = problem(&call(&node, "GET", "/api/v1/me", Some(&brief), None)?, 401);
    assert!(p["detail"].as_str().unwrap_or_default().contains("expired"), "{p}");
    let e = refused_as(&node, &brief_file, &["token", "whoami"])?;
    assert!(e.contains("expired"), "{e}");
    let (all, _) = collection(&node, &admin, "everything held")?;
    assert_eq!(taxii(&node, "GET", &format!("/jaring/collections/{all}/objects/"), &brief, None)?.status, 401);

    // Revocation.
    let crawler = node.create_token("crawler", &["--role", "submitter"])?;
    let crawler_file = token_file(&node, "crawler", &crawler)?;
    assert_eq!(call(&node, "GET", "/api/v1/me", Some(&crawler), None)?.status, 200);
    ok_as(&node, &crawler_file, &["token", "whoami"])?;
    node.cli(&["token", "revoke", "crawler", "--reason", "the crawler's host was reinstalled"])?;
    let p = problem(&call(&node, "GET", "/api/v1/me", Some(&crawler), None)?, 401);
    assert!(p["detail"].as_str().unwrap_or_default().contains("revoked"), "{p}");
    let e = refused_as(&node, &crawler_file, &["token", "whoami"])?;
    assert!(e.contains("revoked"), "{e}");
    let shown = node.cli_json(&["token", "show", "crawler"])?;
    assert!(shown["revoked_at_ms"].as_i64().is_some_and(|t| t > 0), "{shown}");

    // Networks: bound to 10.0.0.0/8, called from 127.0.0.1.
    let bound =
        node.create_token("office-only", &["--role", "platform", "--platform", "meta", "--allow-from", "10.0.0.0/8"])?;
    let bound_file = token_file(&node, "office-only", &bound)?;
    let p = problem(&call(&node, "GET", "/api/v1/lookup?value=x.co.id", Some(&bound), None)?, 403);
    let detail = p["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("10.0.0.0/8") && detail.contains("127.0.0.1"), "{p}");
    let e = refused_as(&node, &bound_file, &["lookup", "x.co.id"])?;
    assert!(e.contains("10.0.0.0/8") && e.contains("127.0.0.1"), "{e}");
    assert_eq!(taxii(&node, "GET", &format!("/jaring/collections/{all}/objects/"), &bound, None)?.status, 403);
    let here =
        node.create_token("loopback", &["--role", "platform", "--platform", "meta", "--allow-from", "127.0.0.0/8"])?;
    assert_eq!(call(&node, "GET", "/api/v1/lookup?value=x.co.id", Some(&here), None)?.status, 200);
    ok_as(&node, &token_file(&node, "loopback", &here)?, &["lookup", "x.co.id"])?;

    let refused = node.cli_json(&["audit", "list", "--kind", "access", "--limit", "1000"])?;
    for (token, reason) in [("brief", "expired"), ("crawler", "revoked"), ("office-only", "address")] {
        assert!(
            refused
                .as_array()
                .into_iter()
                .flatten()
                .any(|e| e["actor"] == format!("token:{token}") && e["reason"] == reason),
            "{token} refused for {reason} is audited: {refused}"
        );
    }
    Ok(())
}

#[test]
fn a_flood_gets_429_with_retry_after_counted_in_metrics() -> Result<()> {
    let node = TestNode::builder("ID").http().start()?;
    let token = node.create_token("flood", &["--role", "platform", "--platform", "meta", "--rate", "2/s"])?;
    let mut limited = None;
    for _ in 0..200 {
        let r = call(&node, "GET", "/api/v1/lookup?value=loker.co.id", Some(&token), None)?;
        if r.status == 429 {
            limited = Some(r);
            break;
        }
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let r = limited.context("no 429 within 200 requests at a rate of 2/s")?;
    let p = problem(&r, 429);
    assert_eq!(p["code"], "rate_limited", "{p}");
    let retry: u64 = r.header("retry-after").context("Retry-After")?.parse()?;
    assert!((1..=2).contains(&retry), "{retry}");
    assert!(node.metric("jaring_access_rate_limited_total{token=\"flood\"}") >= 1.0, "{:?}", node.metrics());
    assert!(node.metric("jaring_access_refused_total{reason=\"rate\"}") >= 1.0);

    // A batch lookup costs one unit per 100 values: 10,000 values at once
    // is over a burst of 4.
    let values: Vec<String> = (0..10_000).map(|i| format!("v{i}.loker.co.id")).collect();
    let other = node.create_token("bulk", &["--role", "platform", "--platform", "meta", "--rate", "2/s"])?;
    let r = call(&node, "POST", "/api/v1/lookup", Some(&other), Some(&json!({"values": values, "summary": true})))?;
    problem(&r, 429);
    Ok(())
}

fn python() -> PathBuf {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python");
    assert!(venv.exists(), "{} is missing: run .ci/setup-python.sh (openapi-spec-validator) first", venv.display());
    venv
}

#[test]
fn the_openapi_document_is_valid_3_1_and_names_every_route_served() -> Result<()> {
    let node = TestNode::builder("ID").http().start()?;
    let admin = admin_token(&node);
    let r = https::get(&node, "/api/v1/openapi.json", None)?;
    assert_eq!(r.status, 200, "{}", r.text());
    let doc = r.json()?;
    assert_eq!(doc["openapi"], "3.1.0");

    // The document validates as OpenAPI 3.1.
    let path = node.dir().join("openapi.json");
    std::fs::write(&path, &r.body)?;
    let out = Command::new(python())
        .arg("-c")
        .arg(
            "import json, sys\n\
             from openapi_spec_validator import validate\n\
             from openapi_spec_validator.validation import OpenAPIV31SpecValidator\n\
             validate(json.load(open(sys.argv[1])), cls=OpenAPIV31SpecValidator)\n\
             print('valid')",
        )
        .arg(&path)
        .output()?;
    assert!(out.status.success(), "openapi-spec-validator: {}", String::from_utf8_lossy(&out.stderr));

    // Every documented operation is served, and every other method on a
    // documented path is 405 naming exactly the documented ones.
    let paths = doc["paths"].as_object().context("paths")?;
    assert!(paths.len() >= 10, "{}", paths.len());
    for (template, item) in paths {
        let concrete = template.replace("{id}", "00000000000000000000000000000000").replace("{local_seq}", "1");
        let documented: Vec<String> = ["get", "post", "put", "patch", "delete"]
            .iter()
            .filter(|m| item.get(**m).is_some())
            .map(|m| m.to_uppercase())
            .collect();
        assert!(!documented.is_empty(), "{template}");
        for method in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
            let body = (method == "POST" || method == "PUT" || method == "PATCH").then(|| json!({}));
            let r = call(&node, method, &concrete, Some(&admin), body.as_ref())?;
            assert!(r.status < 500, "{method} {concrete}: {} {}", r.status, r.text());
            if documented.iter().any(|m| m == method) {
                assert_ne!(r.status, 405, "{method} {concrete} is documented: {}", r.text());
                let unrouted = r.status == 404 && r.text().contains("is not an operation of this API");
                assert!(!unrouted, "{method} {concrete} is documented but not served");
                let code = r.status.to_string();
                let responses = item[method.to_lowercase()]["responses"].as_object().context("responses")?;
                assert!(
                    responses.contains_key(&code),
                    "{method} {template} answered {code}, undocumented: {}",
                    r.text()
                );
            } else {
                let p = problem(&r, 405);
                let allow = r.header("allow").unwrap_or_default();
                for m in &documented {
                    assert!(allow.contains(m.as_str()), "{method} {concrete}: Allow {allow} lacks {m}");
                }
                assert_eq!(p["code"], "method_not_allowed");
            }
        }
    }
    for unknown in ["/api/v1/peers", "/api/v1/tokens", "/api/v2/status", "/api/v1/indicators/a/b"] {
        let r = call(&node, "GET", unknown, Some(&admin), None)?;
        let p = problem(&r, 404);
        assert!(p["detail"].as_str().unwrap_or_default().contains("openapi.json"), "{p}");
    }
    Ok(())
}

/// Method, path, headers, body, the status expected and the field named.
type Case<'a> = (&'a str, &'a str, Vec<(&'a str, &'a str)>, Vec<u8>, u16, Option<&'a str>);

#[test]
fn malformed_requests_get_problems_naming_the_field_never_a_5xx() -> Result<()> {
    let node = TestNode::builder("ID").http().limit("max_message_bytes", "65536").start()?;
    let admin = admin_token(&node);
    let auth = format!("Bearer {admin}");
    let json_ct = ("Content-Type", "application/json");
    // Just over the body limit (so the client's write completes before the
    // server answers 413 from the declared length).
    let huge = vec![b'['; 65536 + 1024];
    let cases: Vec<Case> = vec![
        ("POST", "/api/v1/indicators", vec![json_ct], b"{\"indicators\": [".to_vec(), 400, None),
        ("POST", "/api/v1/indicators", vec![json_ct], b"{\"indicators\": 7}".to_vec(), 400, Some("indicators")),
        (
            "POST",
            "/api/v1/indicators",
            vec![json_ct],
            br#"{"indicators": [{"kind": "domain", "value": "a.co.id", "categories": ["job_scam"], "colour": 1}]}"#
                .to_vec(),
            400,
            Some("indicators[0]."),
        ),
        (
            "POST",
            "/api/v1/indicators",
            vec![json_ct],
            br#"{"indicators": [{"kind": "planet", "value": "a.co.id", "categories": ["job_scam"]}]}"#.to_vec(),
            400,
            Some("indicators[0].kind"),
        ),
        ("POST", "/api/v1/lookup", vec![json_ct], b"{\"values\": [\"\xff\xfe\"]}".to_vec(), 400, None),
        ("POST", "/api/v1/lookup", vec![("Content-Type", "text/plain")], b"loker.co.id".to_vec(), 415, None),
        ("POST", "/api/v1/lookup", vec![json_ct], b"{\"values\": []}".to_vec(), 400, Some("values")),
        ("GET", "/api/v1/lookup?value=a.co.id&kind=planet", vec![], Vec::new(), 400, Some("kind")),
        ("GET", "/api/v1/lookup", vec![], Vec::new(), 400, Some("value")),
        ("GET", "/api/v1/indicators?limit=0", vec![], Vec::new(), 400, Some("limit")),
        ("GET", "/api/v1/indicators?limit=abc", vec![], Vec::new(), 400, Some("limit")),
        ("GET", "/api/v1/review/notanumber", vec![], Vec::new(), 400, Some("local_seq")),
        ("POST", "/api/v1/feedback", vec![json_ct], b"null".to_vec(), 400, None),
    ];
    for (method, path, mut headers, body, status, field) in cases {
        headers.push(("Authorization", auth.as_str()));
        let r = https::request(&node, method, path, &headers, &body)?;
        assert!(r.status < 500, "{method} {path}: {}", r.text());
        let p = problem(&r, status);
        if let Some(f) = field {
            let named = p["field"].as_str().unwrap_or_default();
            assert!(named == f || (f.ends_with('.') && named.starts_with(f)), "{method} {path}: field {f:?}: {p}");
        }
    }
    // Too large: 413 from the declared length, before the body is read. The
    // node then closes the connection with the rest of the body unread, and
    // the kernel may reset it before the answer reaches the client; so a
    // few tries, each either that reset or a 413, and at least one 413.
    let headers = [json_ct, ("Authorization", auth.as_str())];
    let mut seen = 0;
    for _ in 0..8 {
        if let Ok(r) = https::request(&node, "POST", "/api/v1/lookup", &headers, &huge) {
            assert_eq!(problem(&r, 413)["code"], "too_large");
            seen += 1;
        }
    }
    assert!(seen > 0, "no 413 answer reached the client in 8 tries");
    Ok(())
}

/// Schemathesis, an independent fuzzer, drives every operation from the
/// document (examples, boundary values, random and stateful sequences),
/// bounded by `--max-examples`: no response is a 5xx, and every status,
/// content type, header and body conforms to the document.
///
/// Its `positive_data_acceptance` and `negative_data_rejection` checks are
/// left out on purpose: a batch answers 200 with per-item refusals (so an
/// invalid item is not a rejected request), and a few rules span fields
/// (an `actioned` names its platform) that JSON Schema does not
/// say.
#[test]
fn schemathesis_finds_no_5xx_and_no_response_outside_the_document() -> Result<()> {
    let node = TestNode::builder("ID").http().start()?;
    add(&node, "domain", "loker.co.id", "green")?;
    let port = node.http_port.context("HTTPS")?;
    let st = python().with_file_name("schemathesis");
    assert!(st.exists(), "{} is missing: run .ci/setup-python.sh", st.display());
    let out = Command::new(st)
        .arg("run")
        .arg(format!("https://127.0.0.1:{port}/api/v1/openapi.json"))
        .arg("--tls-verify")
        .arg(node.dir().join("tls/ca.pem"))
        .arg("-H")
        .arg(format!("Authorization: Bearer {}", admin_token(&node)))
        .args(["--max-examples", "25", "--workers", "2", "--max-failures", "5"])
        .args(["--checks", "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance"])
        .env("NO_COLOR", "1")
        // Its cache (.schemathesis/) goes with the node's temporary directory.
        .current_dir(node.dir())
        .output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "schemathesis failed:\n{text}\n{}", String::from_utf8_lossy(&out.stderr));
    // Every operation of the document was reached.
    let field = |name: &str| {
        text.lines().find_map(|l| l.trim().strip_prefix(name)).map(|v| v.trim().to_string()).unwrap_or_default()
    };
    let selected = field("Selected:");
    let total = selected.rsplit('/').next().unwrap_or_default().to_string();
    assert!(total.parse::<u32>().is_ok_and(|n| n >= 10), "{text}");
    assert_eq!(field("Tested:"), total, "{text}");
    Ok(())
}
