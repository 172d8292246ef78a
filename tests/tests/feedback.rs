//! The takedown and feedback loop, end to end: real nodes ID, VN and MY on
//! loopback, the real CLI.
//!
//! - Feedback signed at VN and MY reaches every node, and each node's
//!   merged view shows every event with its reporter, per-country
//!   sightings, takedown status per platform and a score that reflects
//!   them (a sighting refreshes a decayed score, a false positive halves it).
//! - Allowlists refuse a submission naming the list; the override publishes.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Result;
use jaring_tests::{TestNode, assert_eventually, link};
use serde_json::{Value, json};

const PATIENCE: Duration = Duration::from_secs(20);
const DOMAIN: &str = "loker-kerja-palsu.co.id";

/// RFC 3339 (UTC, seconds) of `days` days ago.
fn days_ago(days: u64) -> String {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let t = now.saturating_sub(days * 86_400);
    let (secs, day_count) = (t % 86_400, i64::try_from(t / 86_400).unwrap_or(0));
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = day_count + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", secs / 3600, secs / 60 % 60, secs % 60)
}

/// The merged view of `DOMAIN` at a node (`Null` when not found).
fn view(node: &TestNode) -> Result<Value> {
    let v = node.cli_json(&["lookup", "--kind", "domain", DOMAIN])?;
    Ok(v["views"].get(0).cloned().unwrap_or(Value::Null))
}

/// (reporter, type) of every feedback event in a view, sorted.
fn events(view: &Value) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = view["feedback"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| (e["reporter"].as_str().unwrap_or("").to_string(), e["type"].as_str().unwrap_or("").to_string()))
        .collect();
    out.sort();
    out
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = items.iter().map(|(a, b)| ((*a).to_string(), (*b).to_string())).collect();
    v.sort();
    v
}

#[test]
fn feedback_travels_to_every_node_and_moves_the_score() -> Result<()> {
    let mut id = TestNode::builder("ID").region("ID").start()?;
    let vn = TestNode::builder("VN").region("VN").start()?;
    let my = TestNode::builder("MY").region("MY").start()?;
    link(&id, &vn, &[], &[])?;
    link(&id, &my, &[], &[])?;
    link(&vn, &my, &[], &[])?;

    // Published at ID, last seen 60 days ago: one job-scam half-life.
    let seen = days_ago(60);
    id.cli_json(&[
        "indicator",
        "add",
        "--kind",
        "domain",
        "--value",
        DOMAIN,
        "--category",
        "job_scam",
        "--tlp",
        "green",
        "--confidence",
        "80",
        "--first-seen",
        seen.as_str(),
        "--last-seen",
        seen.as_str(),
    ])?;
    for n in [&vn, &my] {
        assert_eventually!(PATIENCE, n.lookup_found(DOMAIN)?, "{} never received the indicator", n.id);
    }
    let before = view(&id)?;
    assert_eq!(before["score"], 40, "80 decayed over one 60-day half-life: {before}");
    assert_eq!(before["assertions"][0]["score"], 40);

    // Feedback for a value nobody reported is refused.
    let out = vn.cli_output(&["feedback", "add", "never-reported.co.id", "--type", "sighting"])?;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no indicator"), "{out:?}");

    // VN asks the registrar for a takedown, then reports it done.
    // A request opens a tracked case: plain feedback may not.
    let out = vn.cli_output(&["feedback", "add", DOMAIN, "--type", "takedown-requested", "--platform", "registrar"])?;
    assert!(!out.status.success(), "a takedown request bypassed the case rules");
    assert!(String::from_utf8_lossy(&out.stderr).contains("takedown request"), "{out:?}");
    let req = vn.cli_json(&["takedown", "request", DOMAIN, "--platform", "Registrar"])?;
    let case = &req["case"];
    assert!(case["id"].as_str().is_some_and(|i| i.starts_with("VN-")), "{req}");
    assert_eq!(case["indicator_origin"], "ID", "the request names the indicator it responds to");
    assert_eq!(case["tlp"], "green", "TLP inherited from the indicator");
    vn.cli_json(&[
        "feedback",
        "add",
        DOMAIN,
        "--type",
        "actioned",
        "--platform",
        "registrar",
        "--action",
        "domain suspended",
    ])?;
    // MY sees it again today.
    my.cli_json(&["feedback", "add", DOMAIN, "--type", "sighting", "--note", "Facebook job ad"])?;

    let expected = pairs(&[("VN", "takedown_requested"), ("VN", "actioned"), ("MY", "sighting")]);
    for n in [&id, &vn, &my] {
        assert_eventually!(PATIENCE, events(&view(n)?) == expected, "{} view: {}", n.id, view(n)?);
        let v = view(n)?;
        let s = &v["summary"];
        assert_eq!(s["sightings"], 1, "{}: {v}", n.id);
        let my_row = s["countries"].as_array().into_iter().flatten().find(|c| c["node"] == "MY");
        assert_eq!(my_row.map(|c| c["sightings"].clone()), Some(Value::from(1)), "{}: {v}", n.id);
        assert_eq!(s["takedowns"].as_array().map(Vec::len), Some(1), "{}: {v}", n.id);
        assert_eq!(s["takedowns"][0]["platform"], "registrar");
        assert_eq!(s["takedowns"][0]["status"], "actioned", "the later event wins: {v}");
        assert_eq!(s["takedowns"][0]["by"], "VN");
        assert_eq!(s["takedowns"][0]["action_taken"], "domain suspended");
        assert_eq!(v["assertions"][0]["origin"], "ID");
        assert_eq!(v["score"], 80, "{}: MY's sighting today refreshed the score: {v}", n.id);
    }
    // Filtering by score: 80 passes 50, not 90.
    assert_eq!(id.cli_json(&["lookup", "--kind", "domain", "--min-score", "50", DOMAIN])?["found"], true);
    assert_eq!(id.cli_json(&["lookup", "--kind", "domain", "--min-score", "90", DOMAIN])?["found"], false);
    let listed = id.cli_json(&["indicator", "list", "--min-score", "90"])?;
    assert_eq!(listed.as_array().map(Vec::len), Some(0), "{listed}");
    let listed = id.cli_json(&["indicator", "list", "--min-score", "50"])?;
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");

    // A false positive needs a reason; with one it reaches the origin.
    let out = vn.cli_output(&["feedback", "add", DOMAIN, "--type", "false-positive"])?;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("reason"), "{out:?}");
    vn.cli_json(&["feedback", "add", DOMAIN, "--type", "false-positive", "--reason", "parked domain, resold"])?;
    assert_eventually!(
        PATIENCE,
        view(&id)?["summary"]["false_positives"].as_array().map(Vec::len) == Some(1),
        "ID never saw the false positive: {}",
        view(&id)?
    );
    let v = view(&id)?;
    assert_eq!(v["summary"]["false_positives"][0]["by"], "VN");
    assert_eq!(v["summary"]["false_positives"][0]["reason"], "parked domain, resold");
    assert_eq!(v["score"], 40, "one false-positive vote halves the score: {v}");
    // The human layout shows the summary too.
    let text = id.cli(&["lookup", "--kind", "domain", DOMAIN])?;
    assert!(text.contains("takedown on registrar: actioned"), "{text}");
    assert!(text.contains("false positive by VN: parked domain, resold"), "{text}");

    // Lookups read an in-memory index rebuilt from the store at start,
    // which must know which values have feedback.
    id.stop()?;
    id.start()?;
    let text = id.cli(&["lookup", "--kind", "domain", DOMAIN])?;
    assert!(text.contains("takedown on registrar: actioned"), "after a restart: {text}");
    Ok(())
}

#[test]
fn allowlisted_values_are_refused_naming_the_list_unless_overridden() -> Result<()> {
    let id = TestNode::builder("ID").region("ID").start()?;
    let add = |value: &str, extra: &[&str]| {
        let mut args =
            vec!["--json", "indicator", "add", "--kind", "domain", "--value", value, "--category", "phishing"];
        args.extend_from_slice(extra);
        id.cli_output(&args)
    };

    // Built-in list: a well-known platform.
    let out = add("accounts.google.com", &[])?;
    assert!(!out.status.success(), "an allowlisted platform was published");
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(err.contains("builtin-platforms"), "{err}");
    assert!(err.contains("--override-allowlist"), "{err}");
    assert_eq!(id.cli_json(&["indicator", "list"])?.as_array().map(Vec::len), Some(0), "nothing stored");

    // The documented override publishes it.
    let out = add("accounts.google.com", &["--override-allowlist"])?;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(id.lookup_found("accounts.google.com")?);
    let audit = id.cli_json(&["audit", "list", "--limit", "1000"])?;
    let overrides: Vec<&Value> =
        audit.as_array().into_iter().flatten().filter(|e| e["action"] == "allowlist.override").collect();
    assert_eq!(overrides.len(), 1, "the override is audited: {audit}");
    assert!(overrides[0]["detail"].as_str().unwrap_or("").contains("builtin-platforms"), "{audit}");

    // URL shorteners are held for review, not refused outright.
    let out = id.cli_output(&[
        "indicator",
        "add",
        "--kind",
        "url",
        "--value",
        "https://bit.ly/loker123",
        "--category",
        "job_scam",
    ])?;
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(err.contains("builtin-shorteners") && err.contains("review"), "{err}");

    // An admin list: added, listed, enforced for hosts under it, removed.
    id.cli(&["allowlist", "add", "partner-banks", "Bank-Contoh.co.id", "--note", "a bank's own domain"])?;
    let listed = id.cli_json(&["allowlist", "list", "partner-banks"])?;
    assert_eq!(listed[0]["list"], "partner-banks");
    assert_eq!(listed[0]["value"], "bank-contoh.co.id", "normalized");
    let lists = id.cli_json(&["allowlist", "list"])?;
    let mine = lists["lists"].as_array().into_iter().flatten().find(|l| l["name"] == "partner-banks").cloned();
    assert_eq!(mine.map(|l| (l["format"].clone(), l["size"].clone())), Some((json!("admin"), json!(1))), "{lists}");
    let out = add("login.bank-contoh.co.id", &[])?;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("partner-banks"), "{out:?}");
    assert!(add("bank-contoh-palsu.co.id", &[])?.status.success(), "a look-alike is not under the rule");
    id.cli(&["allowlist", "remove", "partner-banks", "bank-contoh.co.id"])?;
    assert!(add("login.bank-contoh.co.id", &[])?.status.success());

    // Import from a file.
    let file = id.dir().join("gov.txt");
    std::fs::write(&file, "# ministries\nkemnaker-contoh.co.id\nphone:+62 812 3456 7890\n")?;
    id.cli(&["allowlist", "import", "ministries", file.to_str().unwrap_or("")])?;
    let out =
        id.cli_output(&["indicator", "add", "--kind", "phone", "--value", "0812-3456-7890", "--category", "other"])?;
    assert!(!out.status.success(), "an allowlisted phone number was published");
    assert!(String::from_utf8_lossy(&out.stderr).contains("ministries"), "{out:?}");
    // Built-in lists cannot be removed.
    assert!(!id.cli_output(&["allowlist", "remove", "builtin-platforms"])?.status.success());
    Ok(())
}
