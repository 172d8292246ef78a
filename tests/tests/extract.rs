//! `jaring extract` end to end: the real CLI, offline and against real
//! nodes on loopback.
//!
//! - Offline, it prints the documented JSON for an advert read from a file
//!   or from standard input, with flags for built-in allowlists.
//! - Through a node (`--node DIR`), each candidate says whether it is
//!   already listed and by whom, including values another country
//!   published; the node's own allowlists (admin entries and imported
//!   MISP warninglists) flag candidates too.
//! - `--submit` publishes every candidate through the normal submission
//!   path, with one result per candidate (allowlisted values refused).
//! - `POST /api/v1/extract` with a crawler's `submitter` token answers the
//!   same candidates as the CLI through the node, publishes them with a
//!   result per candidate, and is refused to a platform token and to a
//!   submitter asking to override the allowlists.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use jaring_tests::{TestNode, assert_eventually, bin, https, link};
use serde_json::{Value, json};

const PATIENCE: Duration = Duration::from_secs(20);

const ADVERT: &str = "🔥 LOKER JEPANG 2025 🔥 Gaji Rp 25.000.000/bulan, usia 18-35 tahun.
Daftar: hxxps://kerja-jepang-resmi[.]com/daftar
Info resmi pemerintah: kemnaker.go.id
Hubungi WA 0 8 1 2 - 7 7 7 7 - 8 8 8 8
Biaya admin ke BCA 123-456-7890 a/n PT Sakura
Telegram @lpk_sakura_resmi
";

/// The candidates of a `--json` output.
fn candidates(v: &Value) -> Vec<Value> {
    v["candidates"].as_array().cloned().unwrap_or_default()
}

fn find<'a>(list: &'a [Value], kind: &str) -> Result<&'a Value> {
    list.iter().find(|c| c["kind"] == kind).with_context(|| format!("no {kind} candidate in {list:?}"))
}

fn advert_file() -> Result<tempfile::NamedTempFile> {
    let mut f = tempfile::NamedTempFile::new()?;
    f.write_all(ADVERT.as_bytes())?;
    Ok(f)
}

#[test]
fn offline_from_a_file_and_from_stdin() -> Result<()> {
    let file = advert_file()?;
    let out = Command::new(bin("jaring")).args(["extract", "--region", "ID", "--json"]).arg(file.path()).output()?;
    if !out.status.success() {
        bail!("jaring extract failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let v: Value = serde_json::from_slice(&out.stdout)?;
    let list = candidates(&v);
    let kinds: Vec<&str> = list.iter().filter_map(|c| c["kind"].as_str()).collect();
    assert_eq!(kinds, vec!["url", "domain", "phone", "bank_account", "social_handle"], "{v}");
    let url = find(&list, "url")?;
    assert_eq!(url["value"], "https://kerja-jepang-resmi.com/daftar");
    assert_eq!(url["text"], "hxxps://kerja-jepang-resmi[.]com/daftar");
    assert!(url["notes"].as_array().is_some_and(|n| n.iter().any(|n| n == "defanged")), "{url}");
    let phone = find(&list, "phone")?;
    assert_eq!(phone["value"], "+6281277778888");
    // Offsets are characters of the input.
    let chars: Vec<char> = ADVERT.chars().collect();
    let (s, e) = (phone["start"].as_u64().unwrap_or(0) as usize, phone["end"].as_u64().unwrap_or(0) as usize);
    assert_eq!(chars[s..e].iter().collect::<String>(), phone["text"].as_str().unwrap_or(""));
    assert_eq!(find(&list, "bank_account")?["value"], "BCA:1234567890");
    let gov = find(&list, "domain")?;
    assert_eq!(gov["value"], "kemnaker.go.id");
    assert_eq!(gov["notes"], serde_json::json!(["allowlist: builtin-platforms"]));
    assert!(list.iter().all(|c| c.get("listed").is_none()), "no node, no listing");

    // The same from standard input with `-`.
    let mut child = Command::new(bin("jaring"))
        .args(["extract", "-", "--region", "ID", "--json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    child.stdin.take().context("stdin")?.write_all(ADVERT.as_bytes())?;
    let out = child.wait_with_output()?;
    assert!(out.status.success());
    let piped: Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(piped, v);

    // A bad region names the flag.
    let out = Command::new(bin("jaring")).args(["extract", "--region", "XX"]).arg(file.path()).output()?;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--region"), "{}", String::from_utf8_lossy(&out.stderr));
    Ok(())
}

#[test]
fn through_nodes_listed_by_whom_then_submitted() -> Result<()> {
    let id = TestNode::builder("ID").region("ID").start()?;
    let vn = TestNode::builder("VN").region("VN").federation_key_of(&id).start()?;
    link(&id, &vn, &[], &[])?;
    // VN already reported the phone; ID lists the handle on an allowlist of its own.
    vn.cli(&[
        "indicator",
        "add",
        "--kind",
        "phone",
        "--value",
        "+62 812 7777 8888",
        "--category",
        "job_scam",
        "--tlp",
        "green",
    ])?;
    assert_eventually!(PATIENCE, id.lookup_found("+6281277778888").unwrap_or(false));
    id.cli(&["allowlist", "add", "partners", "--kind", "social_handle", "telegram:lpk_sakura_resmi"])?;

    let file = advert_file()?;
    let path = file.path().to_str().context("path")?;
    let v = id.cli_json(&["extract", path])?;
    let list = candidates(&v);
    let phone = find(&list, "phone")?;
    assert_eq!(phone["value"], "+6281277778888", "region taken from the node");
    assert_eq!(phone["listed"]["found"], true, "{phone}");
    assert_eq!(phone["listed"]["by"], serde_json::json!(["VN"]));
    assert_eq!(phone["listed"]["categories"], serde_json::json!(["job_scam"]));
    let url = find(&list, "url")?;
    assert_eq!(url["listed"]["found"], false);
    let handle = find(&list, "social_handle")?;
    assert_eq!(handle["notes"], serde_json::json!(["platform named in the text", "allowlist: partners"]));

    // Publish everything; the node's allowlists and validation decide each.
    let v = id.cli_json(&[
        "extract",
        path,
        "--submit",
        "--category",
        "job_scam",
        "--tlp",
        "green",
        "--source-ref",
        "https://facebook.com/groups/loker/posts/1",
    ])?;
    let list = candidates(&v);
    assert_eq!(list.len(), 5);
    for c in &list {
        let refused = c["submitted"].get("refused").is_some();
        let stored = c["submitted"].get("stored").is_some();
        let flagged = c["notes"]
            .as_array()
            .is_some_and(|n| n.iter().any(|n| n.as_str().unwrap_or("").starts_with("allowlist: ")));
        assert!(refused ^ stored, "{c}");
        assert_eq!(refused, flagged, "allowlisted candidates are refused, the others stored: {c}");
    }
    let gov = find(&list, "domain")?;
    assert_eq!(gov["submitted"]["refused"]["field"], "value");
    assert!(id.lookup_found("https://kerja-jepang-resmi.com/daftar")?);
    assert!(id.lookup_found("BCA:1234567890")?);
    assert!(!id.lookup_found("kemnaker.go.id")?);
    // The phone is now listed by both countries.
    let v = id.cli_json(&["extract", path])?;
    let list = candidates(&v);
    assert_eq!(find(&list, "phone")?["listed"]["by"], serde_json::json!(["ID", "VN"]));

    // Imported warninglists flag candidates too (the node's lists, not a copy).
    let lists = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/warninglists");
    id.cli(&["allowlist", "import-misp", lists.to_str().context("path")?])?;
    let mut f = tempfile::NamedTempFile::new()?;
    f.write_all(b"Ditipu? Lapor ke pengaduan@kominfo.go.id sekarang juga")?;
    let v = id.cli_json(&["extract", f.path().to_str().context("path")?])?;
    let hotline = find(&candidates(&v), "email")?.clone();
    assert_eq!(hotline["value"], "pengaduan@kominfo.go.id");
    assert_eq!(hotline["notes"], json!(["allowlist: misp-hotlines"]), "{hotline}");

    // Submitting needs a node.
    let out = Command::new(bin("jaring")).args(["extract", path, "--submit", "--category", "job_scam"]).output()?;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--node"));
    Ok(())
}

/// `POST /api/v1/extract` with `token`.
fn post_extract(node: &TestNode, token: &str, body: &Value) -> Result<https::Response> {
    let auth = format!("Bearer {token}");
    let headers = [("Authorization", auth.as_str()), ("Content-Type", "application/json")];
    https::request(node, "POST", "/api/v1/extract", &headers, body.to_string().as_bytes())
}

/// (kind, value, notes, listed.found, listed.by) of each candidate.
fn summary(list: &[Value]) -> Vec<(Value, Value, Value, Value, Value)> {
    list.iter()
        .map(|c| {
            (
                c["kind"].clone(),
                c["value"].clone(),
                c["notes"].clone(),
                c["listed"]["found"].clone(),
                c["listed"]["by"].clone(),
            )
        })
        .collect()
}

#[test]
fn over_http_for_crawlers() -> Result<()> {
    let id = TestNode::builder("ID").region("ID").http().start()?;
    let vn = TestNode::builder("VN").region("VN").federation_key_of(&id).start()?;
    link(&id, &vn, &[], &[])?;
    vn.cli(&[
        "indicator",
        "add",
        "--kind",
        "phone",
        "--value",
        "+62 812 7777 8888",
        "--category",
        "job_scam",
        "--tlp",
        "green",
    ])?;
    assert_eventually!(PATIENCE, id.lookup_found("+6281277778888").unwrap_or(false));
    let crawler = id.cli(&["token", "create", "crawler-1", "--role", "submitter"])?.trim().to_string();
    let platform = id.cli(&["token", "create", "meta", "--role", "platform", "--platform", "meta"])?.trim().to_string();

    // The same candidates as the CLI through the node.
    let file = advert_file()?;
    let cli = id.cli_json(&["extract", file.path().to_str().context("path")?])?;
    let r = post_extract(&id, &crawler, &json!({"text": ADVERT}))?;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json()?;
    let list = candidates(&v);
    assert_eq!(summary(&list), summary(&candidates(&cli)), "{v}");
    assert_eq!(find(&list, "phone")?["listed"]["by"], json!(["VN"]), "region from the node, listed by VN");
    assert_eq!((v["flagged"].as_u64(), v["listed"].as_u64()), (Some(1), Some(1)), "{v}");
    assert!(list.iter().all(|c| c.get("submitted").is_none()), "{v}");

    // Published, a result per candidate; the allowlisted one refused.
    let body = json!({"text": ADVERT, "submit": {"categories": ["job_scam"], "tlp": "green",
        "source_refs": ["https://facebook.com/groups/loker/posts/1"]}});
    let v = post_extract(&id, &crawler, &body)?.json()?;
    let list = candidates(&v);
    assert_eq!(list.len(), 5, "{v}");
    assert_eq!((v["stored"].as_u64(), v["refused"].as_u64()), (Some(4), Some(1)), "{v}");
    for (i, c) in list.iter().enumerate() {
        assert_eq!(c["submitted"]["index"].as_u64(), Some(i as u64), "{c}");
    }
    let gov = find(&list, "domain")?;
    assert_eq!(
        (gov["submitted"]["outcome"].clone(), gov["submitted"]["field"].clone()),
        (json!("refused"), json!("value"))
    );
    assert_eq!(find(&list, "url")?["submitted"]["outcome"], "stored");
    assert!(id.lookup_found("https://kerja-jepang-resmi.com/daftar")?);
    assert!(!id.lookup_found("kemnaker.go.id")?);
    // The audit log names the crawler's token.
    let audit = id.cli(&["audit", "list", "--limit", "1000"])?;
    assert!(audit.contains("token:crawler-1"), "{audit}");

    // A platform may not extract; a submitter may not override the allowlists.
    let r = post_extract(&id, &platform, &json!({"text": ADVERT}))?;
    assert_eq!(r.status, 403, "{}", r.text());
    let body = json!({"text": ADVERT, "submit": {"categories": ["job_scam"], "override_allowlist": true}});
    let r = post_extract(&id, &crawler, &body)?;
    assert_eq!(r.status, 403, "{}", r.text());
    assert!(r.text().contains("override_allowlist"), "{}", r.text());
    // Bad input is a 400 naming the field.
    let r = post_extract(&id, &crawler, &json!({"text": ADVERT, "region": "XX"}))?;
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.json()?["field"], "region");
    let r = post_extract(&id, &crawler, &json!({"text": ADVERT, "submit": {"categories": []}}))?;
    assert_eq!((r.status, r.json()?["field"].clone()), (400, json!("submit.categories")));
    Ok(())
}
