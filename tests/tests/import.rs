//! Importing files and the CLI's edges (issue 13 items 8 and 9, issue 15
//! items 1, 2 and 9): imports batched by bytes with reports that survive
//! interruptions, STIX read object by object, markings, history and
//! producers kept, unchanged objects skipped, CSV revocations honoured,
//! reserved IPs refused; `indicator list` paging, closed pipes, RED
//! tokens, e-mail case. Black-box: real `jaring-node` and `jaring`
//! processes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use jaring_tests::{TestNode, assert_eventually, bin};
use serde_json::{Value, json};

const PATIENCE: Duration = Duration::from_secs(30);

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn import(node: &TestNode, file: &Path, extra: &[&str]) -> (Value, std::process::Output) {
    let mut args = vec!["--json", "indicator", "import", file.to_str().unwrap()];
    args.extend_from_slice(extra);
    let out = node.cli_output(&args).unwrap();
    let report = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {} / {}", String::from_utf8_lossy(&out.stdout), stderr(&out)));
    (report, out)
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn log_head(node: &TestNode) -> u64 {
    node.cli_json(&["status"]).unwrap()["log_head"].as_u64().unwrap()
}

fn list(node: &TestNode) -> Vec<Value> {
    node.cli_json(&["indicator", "list", "--limit", "1000000"]).unwrap().as_array().cloned().unwrap()
}

fn errors(report: &Value) -> Vec<(u64, String)> {
    report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e[0].as_u64().unwrap(), e[1].as_str().unwrap().to_string()))
        .collect()
}

// --- CSV -------------------------------------------------------------------

#[test]
fn csv_batches_by_bytes_and_refuses_an_oversized_row_alone_by_its_line() {
    let mut id = TestNode::builder("ID").init().unwrap();
    // The smallest message limit: a request holds 31 KiB of rows, so the
    // old 1,000-row batches (here ~1 MB) could not go through at all.
    id.set_config("limits", "max_message_bytes", "65536").unwrap();
    id.start().unwrap();
    let mut csv = String::from("kind,value,categories,description\n");
    let note = "x".repeat(3000);
    for i in 0..300 {
        csv.push_str(&format!("domain,byte-batch-{i}.loker-palsu.co.id,job_scam,{note}\n"));
        if i == 150 {
            // Line 153: one row larger than any request may be.
            csv.push_str(&format!("domain,oversized.loker-palsu.co.id,job_scam,{}\n", "y".repeat(40_000)));
        }
    }
    let file = write(id.dir(), "big-rows.csv", &csv);
    let (report, out) = import(&id, &file, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!((report["rows"].as_u64(), report["stored"].as_u64()), (Some(301), Some(300)), "{report}");
    assert_eq!(report["refused"], 1);
    assert_eq!(report["complete"], true);
    let errs = errors(&report);
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].0, 153);
    assert!(errs[0].1.contains("bytes once encoded") && errs[0].1.contains("65536"), "{}", errs[0].1);
    assert_eq!(log_head(&id), 300);
}

fn big_csv(dir: &Path, n: usize, tag: &str) -> PathBuf {
    let mut csv = String::from("kind,value,categories,tlp,first_seen,last_seen\n");
    for i in 0..n {
        csv.push_str(&format!(
            "domain,{tag}-{i}.loker-palsu.co.id,job_scam,green,2026-01-01T00:00:00Z,2026-02-01T00:00:00Z\n"
        ));
    }
    write(dir, &format!("{tag}.csv"), &csv)
}

#[test]
fn an_interrupted_import_says_what_was_stored_and_importing_again_is_safe() {
    let id = TestNode::builder("ID").start().unwrap();
    let file = big_csv(id.dir(), 50_000, "ctrlc");
    let child = Command::new(bin("jaring"))
        .arg("--node")
        .arg(id.dir())
        .args(["--json", "indicator", "import"])
        .arg(&file)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    assert_eventually!(PATIENCE, log_head(&id) >= 2000);
    let _ = Command::new("kill").arg("-INT").arg(child.id().to_string()).status();
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success(), "an interrupted import fails");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["complete"], false, "{report}");
    assert!(report["stopped"]["reason"].as_str().unwrap().contains("interrupted"), "{report}");
    assert!(report["stopped"]["unknown"].is_null(), "in-flight batches were waited for: {report}");
    let stored = report["stored"].as_u64().unwrap();
    assert!((1000..50_000).contains(&stored), "{report}");
    assert!(stderr(&out).contains("import stopped") && stderr(&out).contains("nothing after it was stored"));
    // Exactly what the report says is in the node.
    assert_eq!(list(&id).len() as u64, stored);
    // The rest goes in on a second run; the rows already stored are skipped.
    let (again, out) = import(&id, &file, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(again["unchanged"].as_u64(), Some(stored), "{again}");
    assert_eq!(again["stored"].as_u64(), Some(50_000 - stored));
    assert_eq!(list(&id).len(), 50_000);
}

#[test]
fn a_node_failing_mid_import_leaves_a_report_of_what_was_stored() {
    let mut id = TestNode::builder("ID").start().unwrap();
    let file = big_csv(id.dir(), 50_000, "crash");
    let child = Command::new(bin("jaring"))
        .arg("--node")
        .arg(id.dir())
        .args(["--json", "indicator", "import"])
        .arg(&file)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    assert_eventually!(PATIENCE, log_head(&id) >= 2000);
    id.kill9();
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success());
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["complete"], false, "{report}");
    let stored = report["stored"].as_u64().unwrap();
    let through = report["stopped"]["known_through"].as_u64();
    eprintln!("report after the node died: {report}");
    id.start().unwrap();
    let held = list(&id).len() as u64;
    // Every acknowledged row is there; rows of a batch that was in flight
    // may be there too, and the report names them.
    let unknown =
        report["stopped"]["unknown"].as_array().map_or(0, |r| r[1].as_u64().unwrap() - r[0].as_u64().unwrap() + 1);
    assert!(held >= stored && held <= stored + unknown, "held {held}, report {report}");
    if let Some(line) = through {
        assert_eq!(line - 1, stored, "every line up to {line} (line 1 is the header) is stored");
    }
    let (again, out) = import(&id, &file, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(again["stored"].as_u64().unwrap() + again["unchanged"].as_u64().unwrap(), 50_000);
    assert_eq!(list(&id).len(), 50_000);
}

#[test]
fn csv_revocations_are_honoured_and_last_seen_survives_the_round_trip() {
    let a = TestNode::builder("ID").region("ID").start().unwrap();
    let b = TestNode::builder("VN").region("ID").start().unwrap();
    let add = |value: &str| {
        a.cli_json(&[
            "indicator",
            "add",
            "--kind",
            "domain",
            "--value",
            value,
            "--category",
            "job_scam",
            "--tlp",
            "green",
            "--first-seen",
            "2025-01-01T00:00:00Z",
            "--last-seen",
            "2025-03-01T00:00:00Z",
        ])
        .unwrap()
    };
    add("kept-round-trip-loker.co.id");
    let revoked = add("revoked-round-trip-loker.co.id");
    a.cli(&["indicator", "revoke", revoked["id"].as_str().unwrap()]).unwrap();
    a.cli(&["indicator", "add", "--kind", "bank_account", "--value", "BCA 555-000-1111", "--category", "loan_scam"])
        .unwrap();
    let csv = a.dir().join("export.csv");
    a.cli(&["export", "csv", "--out", csv.to_str().unwrap()]).unwrap();
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(text.lines().next().unwrap().contains(",first_seen,last_seen,"), "{text}");

    let (report, out) = import(&b, &csv, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(report["stored"], 1, "{report}");
    let errs = errors(&report);
    let line_of = |needle: &str| text.lines().position(|l| l.contains(needle)).unwrap() as u64 + 1;
    let revoked_line = line_of("revoked-round-trip-loker.co.id");
    let bank_line = line_of("bank_account");
    assert_eq!(errs.len(), 2, "{report}");
    let by_line: std::collections::BTreeMap<u64, String> = errs.into_iter().collect();
    assert!(by_line[&revoked_line].starts_with("revoked: a revoked indicator is not imported"), "{by_line:?}");
    assert!(by_line[&bank_line].contains("only the keyed hash of a bank_account"), "{by_line:?}");
    assert!(!b.lookup_found("revoked-round-trip-loker.co.id").unwrap(), "never resurrected");
    let kept = &list(&b)[0];
    assert_eq!(kept["value"], "kept-round-trip-loker.co.id");
    assert_eq!(kept["last_seen_ms"], 1_740_787_200_000_i64, "{kept}");
    assert_eq!(kept["first_seen_ms"], 1_735_689_600_000_i64);
    // Into the node that exported it: nothing changes.
    let head = log_head(&a);
    let (again, _) = import(&a, &csv, &[]);
    assert_eq!((again["stored"].as_u64(), again["unchanged"].as_u64()), (Some(0), Some(1)), "{again}");
    assert_eq!(log_head(&a), head);
}

// --- STIX ------------------------------------------------------------------

const CLEAR: &str = "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487";
const RED: &str = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1";

fn partner_bundle() -> Value {
    json!({
        "type": "bundle",
        "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d",
        "objects": [
            {"type": "indicator", "spec_version": "2.1", "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
             "created_by_ref": "identity--f431f809-377b-45e0-aa1c-6a4751cae5ff",
             "created": "2014-05-08T09:00:00.000Z", "modified": "2015-01-02T03:04:05.000Z",
             "pattern": "[domain-name:value = 'old-oasis-sample.example.com']", "pattern_type": "stix",
             "valid_from": "2014-05-08T09:00:00Z", "labels": ["phishing"],
             "object_marking_refs": [CLEAR],
             "granular_markings": [{"marking_ref": RED, "selectors": ["description"]}],
             "description": "partner sample"},
            {"type": "indicator", "spec_version": "2.1", "id": "indicator--0d6b7d3c-0ab5-4f0b-a3b0-7b4e36fd9a01",
             "created_by_ref": "identity--f431f809-377b-45e0-aa1c-6a4751cae5ff",
             "created": "2020-01-01T00:00:00.000Z", "modified": "2020-01-01T00:00:00.000Z",
             "pattern": "[domain-name:value = 'or-one.example.com'] OR [url:value = 'https://or-two.example.com/login']",
             "pattern_type": "stix", "valid_from": "2020-01-01T00:00:00Z", "labels": ["phishing"],
             "object_marking_refs": [RED, CLEAR]},
            {"type": "indicator", "spec_version": "2.1", "id": "indicator--bad00000-0000-4000-8000-000000000001",
             "created": "2020-01-01T00:00:00.000Z", "modified": "2020-01-01T00:00:00.000Z",
             "pattern": "[domain-name:value = 'not a domain!']", "pattern_type": "stix",
             "valid_from": "2020-01-01T00:00:00Z"},
            {"type": "indicator", "spec_version": "2.1", "id": "indicator--bad00000-0000-4000-8000-000000000002",
             "created": "2020-01-01T00:00:00.000Z", "modified": "2020-01-01T00:00:00.000Z",
             "pattern": "[ipv4-addr:value = '192.168.1.1']", "pattern_type": "stix",
             "valid_from": "2020-01-01T00:00:00Z"},
            // The producer comes after its indicators, as in Jaring's own exports.
            {"type": "identity", "spec_version": "2.1", "id": "identity--f431f809-377b-45e0-aa1c-6a4751cae5ff",
             "created": "2014-01-01T00:00:00.000Z", "modified": "2014-01-01T00:00:00.000Z",
             "name": "CERT Contoh", "identity_class": "organization"},
        ]
    })
}

#[test]
fn stix_keeps_history_markings_and_producer_splits_ors_and_reimports_as_a_no_op() {
    let id = TestNode::builder("ID").start().unwrap();
    let file = write(id.dir(), "partner.json", &partner_bundle().to_string());
    let (report, out) = import(&id, &file, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!((report["rows"].as_u64(), report["stored"].as_u64()), (Some(5), Some(3)), "{report}");
    let errs = errors(&report);
    assert_eq!(errs.len(), 2, "{report}");
    // Value errors name the object and its STIX id.
    assert_eq!(errs[0].0, 2);
    assert!(errs[0].1.starts_with("indicator--bad00000-0000-4000-8000-000000000001: "), "{}", errs[0].1);
    assert_eq!(errs[1].0, 3);
    assert!(errs[1].1.contains("builtin-reserved-ips") && errs[1].1.contains("--override-allowlist"), "{}", errs[1].1);

    let held = list(&id);
    let by_value = |v: &str| held.iter().find(|r| r["value"] == v).cloned().unwrap_or_else(|| panic!("{v}: {held:?}"));
    let old = by_value("old-oasis-sample.example.com");
    assert_eq!(old["tlp"], "red", "a granular RED marking wins over CLEAR");
    assert_eq!(old["first_seen_ms"], 1_399_539_600_000_i64);
    assert_eq!(old["last_seen_ms"], 1_420_167_845_000_i64, "last seen is `modified`, not the import time");
    assert_eq!(old["source_refs"], json!(["producer: CERT Contoh"]));
    let view = id.cli_json(&["lookup", "old-oasis-sample.example.com"]).unwrap();
    assert_eq!(view["views"][0]["status"], "expired", "first seen in 2014: not active today: {view}");
    for v in ["or-one.example.com", "https://or-two.example.com/login"] {
        assert_eq!(by_value(v)["tlp"], "red", "[RED, CLEAR] is RED");
    }

    // The same file again: nothing new.
    let head = log_head(&id);
    let (again, out) = import(&id, &file, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!((again["stored"].as_u64(), again["unchanged"].as_u64()), (Some(0), Some(3)), "{again}");
    assert_eq!(log_head(&id), head, "no new version for an unchanged file");
    // The reserved address goes in only with the override.
    let (forced, _) = import(&id, &file, &["--override-allowlist"]);
    assert_eq!(forced["stored"].as_u64(), Some(1), "{forced}");
    assert!(id.lookup_found("192.168.1.1").unwrap());
}

#[test]
fn stix_takes_a_taxii_envelope_and_a_single_object() {
    let id = TestNode::builder("ID").start().unwrap();
    let object = |value: &str| {
        json!({"type": "indicator", "spec_version": "2.1", "id": format!("indicator--{}", uuid_of(value)),
               "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
               "pattern": format!("[domain-name:value = '{value}']"), "pattern_type": "stix",
               "valid_from": "2026-01-01T00:00:00Z", "labels": ["job_scam"]})
    };
    let envelope = write(
        id.dir(),
        "envelope.json",
        &json!({"more": false, "objects": [object("envelope-a.example.com"), object("envelope-b.example.com")]})
            .to_string(),
    );
    let (report, out) = import(&id, &envelope, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(report["stored"], 2, "{report}");
    let single = write(id.dir(), "one.json", &object("single-object.example.com").to_string());
    let (report, out) = import(&id, &single, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(report["stored"], 1, "{report}");
    assert!(id.lookup_found("single-object.example.com").unwrap());
    // A file that breaks off: what came before the break is imported, and
    // the report says where it stopped.
    let text = format!(
        "{{\"objects\": [{},\n{},\n{{\"type\": \"indicator\",",
        object("before-break-a.example.com"),
        object("before-break-b.example.com")
    );
    let broken = write(id.dir(), "broken.json", &text);
    let (report, out) = import(&id, &broken, &[]);
    assert!(!out.status.success());
    assert_eq!((report["stored"].as_u64(), report["complete"].as_bool()), (Some(2), Some(false)), "{report}");
    let reason = report["stopped"]["reason"].as_str().unwrap();
    assert!(reason.contains("broke off") && reason.contains("not JSON") && reason.contains("line 3"), "{reason}");
    assert!(id.lookup_found("before-break-b.example.com").unwrap());
}

fn uuid_of(s: &str) -> String {
    let h = s.bytes().fold(0u128, |h, b| h.wrapping_mul(31).wrapping_add(u128::from(b)));
    let hex = format!("{h:032x}");
    format!("{}-{}-4{}-8{}-{}", &hex[0..8], &hex[8..12], &hex[13..16], &hex[17..20], &hex[20..32])
}

/// Peak resident memory (VmHWM) of a process while it runs, in KiB.
fn watch_peak(child: &mut std::process::Child) -> u64 {
    let mut peak = 0;
    loop {
        if let Ok(text) = std::fs::read_to_string(format!("/proc/{}/status", child.id()))
            && let Some(kb) = text
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        {
            peak = peak.max(kb);
        }
        if child.try_wait().unwrap().is_some() {
            return peak;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_200_mb_bundle_is_imported_in_bounded_memory() {
    let id = TestNode::builder("ID").start().unwrap();
    let path = id.dir().join("huge.json");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    write!(f, "{{\"type\":\"bundle\",\"id\":\"bundle--1\",\"objects\":[").unwrap();
    let filler = "z".repeat(1_000_000);
    let mut indicators = 0;
    for i in 0..200 {
        if i > 0 {
            write!(f, ",").unwrap();
        }
        // A large object the import skips, then a small indicator.
        write!(f, "{{\"type\":\"note\",\"id\":\"note--{i}\",\"content\":\"{filler}\"}},").unwrap();
        let o = json!({"type": "indicator", "spec_version": "2.1", "id": format!("indicator--{}", uuid_of(&i.to_string())),
            "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
            "pattern": format!("[domain-name:value = 'huge-{i}.loker-palsu.co.id']"), "pattern_type": "stix",
            "valid_from": "2026-01-01T00:00:00Z", "labels": ["job_scam"]});
        write!(f, "{o}").unwrap();
        indicators += 1;
    }
    write!(f, "]}}").unwrap();
    f.flush().unwrap();
    drop(f);
    let size = std::fs::metadata(&path).unwrap().len();
    let started = Instant::now();
    let mut child = Command::new(bin("jaring"))
        .arg("--node")
        .arg(id.dir())
        .args(["--json", "indicator", "import"])
        .arg(&path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let peak_kib = watch_peak(&mut child);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["stored"].as_u64(), Some(indicators), "{report}");
    eprintln!(
        "{} MB bundle imported in {:?}, CLI peak RSS {} MiB",
        size / 1_000_000,
        started.elapsed(),
        peak_kib / 1024
    );
    assert!(size > 200_000_000);
    // Reading the whole file would hold 200 MB before parsing it.
    assert!(peak_kib < 100 * 1024, "peak RSS {peak_kib} KiB");
    std::fs::remove_file(&path).unwrap();
}

// --- the CLI's edges -----------------------------------------------------------

#[test]
fn list_pages_past_the_node_page_the_pipe_can_close_red_tokens_need_a_flag_and_email_ignores_case() {
    let id = TestNode::builder("ID").start().unwrap();
    let file = big_csv(id.dir(), 10_500, "paging");
    let (report, out) = import(&id, &file, &[]);
    assert!(out.status.success() && report["stored"] == 10_500, "{report} {}", stderr(&out));
    // One request serves at most 10,000; the CLI pages until the limit.
    let all = id.cli_json(&["indicator", "list", "--limit", "1000000"]).unwrap();
    assert_eq!(all.as_array().unwrap().len(), 10_500);
    let some = id.cli_json(&["indicator", "list", "--limit", "2500"]).unwrap();
    assert_eq!(some.as_array().unwrap().len(), 2500);

    // `jaring indicator list | head`: the reader goes away; no panic.
    let mut child = Command::new(bin("jaring"))
        .arg("--node")
        .arg(id.dir())
        .args(["indicator", "list", "--limit", "10500"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains("panicked") && stderr(&out).is_empty(), "{}", stderr(&out));

    let out = id.cli_output(&["token", "create", "red-reader", "--max-tlp", "red"]).unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--allow-red"), "{}", stderr(&out));
    assert!(
        id.cli_output(&["token", "create", "red-reader", "--max-tlp", "red", "--allow-red"]).unwrap().status.success()
    );

    id.cli(&["indicator", "add", "--kind", "email", "--value", "Budi.Rekrut@Contoh.CO.ID", "--category", "job_scam"])
        .unwrap();
    for q in ["budi.rekrut@contoh.co.id", "BUDI.REKRUT@contoh.co.id", "Budi.Rekrut@Contoh.CO.ID"] {
        assert!(id.lookup_found(q).unwrap(), "{q}");
    }
}
