//! Takedown cases and referrals, end to end: real nodes ID, VN and MY on
//! loopback, the real CLI.
//!
//! - ID asks `meta` to take a domain down (`jaring takedown request`); the
//!   webhook for `meta` receives the case as a signed POST (after one
//!   failed attempt, retried); over the HTTP API with their own `platform`
//!   tokens, `meta`'s queue shows it, `tiktok`'s never does and `tiktok`
//!   can neither read nor answer it; `meta` acknowledges and reports it
//!   actioned; a case above `meta`'s TLP ceiling stays hidden from it; VN and MY show the whole history in `lookup`; VN does not
//!   open a duplicate case while ID's is open.
//! - A case due in the past turns `expired` by itself as it is asked; one
//!   due in two seconds expires by itself, dated at its due time; a
//!   withdrawn case is withdrawn everywhere.
//! - `takedown stats` (at ID and at VN) and `/metrics` show the times the
//!   case's events carry; the audit log names the platform and the
//!   principal of every answer.
//! - A referral travels like feedback; an evidence package exported at ID
//!   verifies offline (the nodes stopped), with the CLI and with the
//!   independent Python verifier of docs/evidence.md, and flipping a byte
//!   of any envelope in it makes both fail naming that envelope.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc;
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result, bail};
use hmac::{Hmac, Mac};
use jaring_tests::https;
use jaring_tests::{TestNode, assert_eventually, bin, link};
use serde_json::{Value, json};
use sha2::Sha256;

const PATIENCE: Duration = Duration::from_secs(30);
const DOMAIN: &str = "loker-kerja-meta.co.id";
const AMBER_DOMAIN: &str = "agen-tki-resmi.co.id";
const SECRET: &str = "meta-webhook-secret-0123456789abcdef";

/// One call of a platform on its side of a case.
#[derive(Debug)]
enum Call<'a> {
    /// Its queue (the open cases addressed to it).
    Queue,
    /// It has seen the case.
    Acknowledge(&'a str),
    /// It acted: what it did.
    Actioned(&'a str, &'a str),
}

/// A platform's call with its own `platform` token, over the HTTP API:
/// `GET /api/v1/takedowns` (the cases of the page) and `POST
/// /api/v1/takedowns/{id}/acknowledge|outcome`. `Ok(Err(detail))`: the node
/// refused the call (the problem's status and detail).
fn platform(node: &TestNode, token: &str, call: Call<'_>) -> Result<std::result::Result<Value, String>> {
    let (method, path, body) = match call {
        Call::Queue => ("GET", "/api/v1/takedowns".to_string(), None),
        Call::Acknowledge(id) => ("POST", format!("/api/v1/takedowns/{id}/acknowledge"), Some(json!({}))),
        Call::Actioned(id, what) => (
            "POST",
            format!("/api/v1/takedowns/{id}/outcome"),
            Some(json!({"outcome": "actioned", "action_taken": what})),
        ),
    };
    let r = api(node, method, &path, token, body.as_ref())?;
    if r.status != 200 {
        return Ok(Err(format!("{}: {}", r.status, r.text())));
    }
    let v = r.json()?;
    Ok(Ok(if matches!(call, Call::Queue) { v["cases"].clone() } else { v }))
}

/// An HTTP API call with a bearer token.
fn api(node: &TestNode, method: &str, path: &str, token: &str, body: Option<&Value>) -> Result<https::Response> {
    let auth = format!("Bearer {token}");
    let mut headers = vec![("Authorization", auth.as_str())];
    let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
    if body.is_some() {
        headers.push(("Content-Type", "application/json"));
    }
    https::request(node, method, path, &headers, &bytes)
}

/// A `platform` token of `name` with a TLP:GREEN ceiling; its secret.
fn platform_token(node: &TestNode, name: &str) -> Result<String> {
    let secret =
        node.cli(&["token", "create", name, "--role", "platform", "--platform", name, "--max-tlp", "green"])?;
    Ok(secret.trim().to_string())
}

/// The ids of the cases in a list.
fn ids(cases: &Value) -> Vec<String> {
    cases.as_array().into_iter().flatten().filter_map(|c| c["id"].as_str().map(String::from)).collect()
}

/// The merged view of `DOMAIN` at a node (`Null` when not found).
fn view(node: &TestNode) -> Result<Value> {
    let v = node.cli_json(&["lookup", "--kind", "domain", DOMAIN])?;
    Ok(v["views"].get(0).cloned().unwrap_or(Value::Null))
}

/// (type, case id) of every feedback event in a view, in the view's order.
fn history(view: &Value) -> Vec<(String, String)> {
    view["feedback"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["reporter"] == "ID")
        .map(|e| (e["type"].as_str().unwrap_or("").to_string(), e["case_id"].as_str().unwrap_or("").to_string()))
        .collect()
}

fn state(node: &TestNode, id: &str) -> Result<String> {
    Ok(node.cli_json(&["takedown", "show", id])?["state"].as_str().unwrap_or("").to_string())
}

/// One HTTP request the webhook receiver got.
#[derive(Debug)]
struct Delivery {
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Delivery {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// A plain-HTTP receiver on loopback: answers the first request 503 and
/// every later one 204, and hands every request over the channel.
fn receiver() -> Result<(u16, mpsc::Receiver<Delivery>)> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for (n, stream) in listener.incoming().enumerate() {
            let Ok(mut stream) = stream else { continue };
            let Ok(read_half) = stream.try_clone() else { continue };
            let mut reader = BufReader::new(read_half);
            let mut headers = Vec::new();
            let mut line = String::new();
            let _ = reader.read_line(&mut line); // the request line
            loop {
                line.clear();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
                    break;
                }
                if let Some((k, v)) = line.split_once(':') {
                    headers.push((k.trim().to_string(), v.trim().to_string()));
                }
            }
            let length = headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                .and_then(|(_, v)| v.parse::<usize>().ok())
                .unwrap_or(0);
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).is_err() {
                continue;
            }
            let answer: &[u8] = if n == 0 {
                b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            } else {
                b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n"
            };
            let _ = stream.write_all(answer);
            if tx.send(Delivery { headers, body }).is_err() {
                return;
            }
        }
    });
    Ok((port, rx))
}

/// A Python with the `cryptography` package: the workspace's `.venv`
/// (`.ci/setup-python.sh`), else `python3`.
///
/// # Panics
///
/// If neither has it.
fn python() -> PathBuf {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python");
    let candidates = [venv, PathBuf::from("python3")];
    let found = candidates
        .iter()
        .find(|p| Command::new(p).args(["-c", "import cryptography"]).output().is_ok_and(|o| o.status.success()));
    found.cloned().unwrap_or_else(|| {
        panic!("no Python with `cryptography`: run .ci/setup-python.sh (it adds it to .venv) before this test")
    })
}

/// `jaring evidence verify FILE` run with no node; (success, stdout JSON report).
fn cli_verify(file: &Path) -> Result<(bool, Value)> {
    let out = Command::new(bin("jaring")).args(["--json", "evidence", "verify"]).arg(file).output()?;
    let report = serde_json::from_slice(&out.stdout)
        .with_context(|| format!("evidence verify printed non-JSON: {}", String::from_utf8_lossy(&out.stderr)))?;
    Ok((out.status.success(), report))
}

/// Names of the items a report says failed.
fn failed(report: &Value) -> Vec<String> {
    report["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|i| !i["error"].is_null())
        .filter_map(|i| i["name"].as_str().map(String::from))
        .collect()
}

#[test]
fn a_takedown_case_from_request_to_outcome_to_referral_and_evidence() -> Result<()> {
    // ID pushes meta's cases to a webhook on loopback.
    let (hook_port, deliveries) = receiver()?;
    let mut id = TestNode::builder("ID").region("ID").http().init()?;
    let secrets = id.dir().join("webhooks");
    std::fs::create_dir_all(&secrets)?;
    std::os::unix::fs::OpenOptionsExt::mode(std::fs::OpenOptions::new().create(true).write(true), 0o600)
        .open(secrets.join("meta.secret"))?
        .write_all(SECRET.as_bytes())?;
    id.set_config(
        "takedown",
        "webhooks",
        &format!(
            "{{ meta = {{ url = \"http://127.0.0.1:{hook_port}/jaring\", secret_file = \"webhooks/meta.secret\", \
             allow_plain_http = true, initial_backoff_ms = 50, max_backoff_ms = 200 }} }}"
        ),
    )?;
    id.start()?;
    let mut vn = TestNode::builder("VN").region("VN").start()?;
    let mut my = TestNode::builder("MY").region("MY").start()?;
    link(&id, &vn, &[], &[])?;
    link(&id, &my, &[], &[])?;
    link(&vn, &my, &[], &[])?;
    let meta = platform_token(&id, "meta")?;
    let tiktok = platform_token(&id, "tiktok")?;
    let analyst = id.cli(&["token", "create", "analyst-jkt", "--role", "analyst"])?.trim().to_string();

    id.add_domain(DOMAIN, "green")?;
    for n in [&vn, &my] {
        assert_eventually!(PATIENCE, n.lookup_found(DOMAIN)?, "{} never received the indicator", n.id);
    }

    // A takedown of a value nobody holds is refused.
    let out = id.cli_output(&["takedown", "request", "never-reported.co.id", "--platform", "meta"])?;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no indicator"), "{out:?}");

    // ID asks meta, due in 48 hours.
    let req = id.cli_json(&[
        "takedown",
        "request",
        DOMAIN,
        "--platform",
        "Meta",
        "--due",
        "48h",
        "--note",
        "fake job ads on a Facebook page",
    ])?;
    assert_eq!(req["created"], true, "{req}");
    let case = &req["case"];
    let case_id = case["id"].as_str().context("a case id")?.to_string();
    assert!(case_id.starts_with("ID-"), "{case}");
    assert_eq!(case["platform"], "meta", "platform names are canonical: {case}");
    assert_eq!(case["state"], "requested");
    assert_eq!(case["tlp"], "green", "inherited from the indicator: {case}");
    let requested_at = case["requested_at_ms"].as_i64().context("requested_at_ms")?;
    assert_eq!(case["due_at_ms"].as_i64(), Some(requested_at + 48 * 3_600_000), "{case}");
    // Asking again returns the open case.
    let again = id.cli_json(&["takedown", "request", DOMAIN, "--platform", "meta"])?;
    assert_eq!(again["created"], false, "{again}");
    assert_eq!(again["case"]["id"], case_id.as_str());

    // The webhook: a signed POST, retried after a 503 with the same delivery id.
    let mut got = Vec::new();
    for _ in 0..2 {
        got.push(deliveries.recv_timeout(PATIENCE).context("the webhook never received the case")?);
    }
    for d in &got {
        let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes())?;
        mac.update(&d.body);
        let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
        assert_eq!(d.header("x-jaring-signature"), Some(expected.as_str()), "HMAC-SHA256 over the body");
        assert_eq!(d.header("x-jaring-event"), Some("takedown.requested"));
        assert_eq!(d.header("content-type"), Some("application/json"));
        let body: Value = serde_json::from_slice(&d.body)?;
        assert_eq!(body["event"], "takedown.requested", "{body}");
        assert_eq!(body["node"], "ID");
        assert_eq!(body["case"]["id"], case_id.as_str(), "{body}");
        assert_eq!(body["case"]["value"], DOMAIN);
    }
    assert_eq!(got[0].header("x-jaring-delivery"), got[1].header("x-jaring-delivery"), "one delivery, retried");
    assert_eq!(got[0].header("x-jaring-delivery"), Some(format!("{case_id}/takedown.requested").as_str()));

    // VN holds ID's open case and does not open a duplicate without saying so.
    assert_eventually!(
        PATIENCE,
        history(&view(&vn)?) == [("takedown_requested".to_string(), case_id.clone())],
        "VN never saw the request: {}",
        view(&vn)?
    );
    let out = vn.cli_output(&["takedown", "request", DOMAIN, "--platform", "meta"])?;
    assert!(!out.status.success(), "VN opened a duplicate of {case_id}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&case_id) && err.contains("--also"), "{err}");
    assert!(vn.cli_json(&["takedown", "list"])?.as_array().is_some_and(Vec::is_empty), "VN has no case of its own");
    assert_eq!(ids(&vn.cli_json(&["takedown", "list", "--all"])?), std::slice::from_ref(&case_id));

    // Meta's queue holds the case; TikTok's never does, nor may TikTok answer it.
    let queue = platform(&id, &meta, Call::Queue)?.map_err(anyhow::Error::msg)?;
    assert_eq!(ids(&queue), std::slice::from_ref(&case_id), "{queue}");
    let queue = platform(&id, &tiktok, Call::Queue)?.map_err(anyhow::Error::msg)?;
    assert_eq!(ids(&queue), Vec::<String>::new(), "tiktok saw meta's case: {queue}");
    let refused = platform(&id, &tiktok, Call::Acknowledge(&case_id))?;
    assert!(
        refused.as_ref().is_err_and(|e| e.starts_with("404") && e.contains(&format!("no takedown case {case_id}"))),
        "{refused:?}"
    );
    let seen = api(&id, "GET", &format!("/api/v1/takedowns/{case_id}"), &tiktok, None)?;
    assert_eq!(seen.status, 404, "tiktok read meta's case: {}", seen.text());
    let refused = platform(&id, &tiktok, Call::Actioned(&case_id, "removed"))?;
    assert!(refused.is_err(), "tiktok answered meta's case: {refused:?}");
    assert_eq!(state(&id, &case_id)?, "requested");
    assert_eq!(id.metric("jaring_takedown_open{platform=\"meta\",state=\"requested\"}"), 1.0);

    // Meta acknowledges, then reports the page removed.
    let acked = platform(&id, &meta, Call::Acknowledge(&case_id))?.map_err(anyhow::Error::msg)?;
    assert_eq!(acked["state"], "acknowledged", "{acked}");
    assert_eq!(id.metric("jaring_takedown_open{platform=\"meta\",state=\"acknowledged\"}"), 1.0);
    let done = platform(&id, &meta, Call::Actioned(&case_id, "page removed"))?.map_err(anyhow::Error::msg)?;
    assert_eq!(done["state"], "actioned", "{done}");
    assert_eq!(done["action_taken"], "page removed");
    let acked_at = done["acknowledged_at_ms"].as_i64().context("acknowledged_at_ms")?;
    let outcome_at = done["outcome_at_ms"].as_i64().context("outcome_at_ms")?;
    assert!(requested_at <= acked_at && acked_at <= outcome_at, "{done}");
    // The queue shows open cases by default; the case is in meta's closed ones.
    let queue = platform(&id, &meta, Call::Queue)?.map_err(anyhow::Error::msg)?;
    assert_eq!(ids(&queue), Vec::<String>::new(), "{queue}");
    let closed = id.cli_json(&["takedown", "queue", "--platform", "meta", "--state", "actioned"])?;
    assert_eq!(ids(&closed), std::slice::from_ref(&case_id));
    assert_eq!(id.metric("jaring_takedown_open{platform=\"meta\",state=\"requested\"}"), 0.0);
    assert_eq!(id.metric("jaring_takedown_open{platform=\"meta\",state=\"acknowledged\"}"), 0.0);
    assert_eq!(id.metric("jaring_takedown_time_to_outcome_seconds_count{platform=\"meta\"}"), 1.0);

    // The audit log names the platform and the principal of each answer.
    let audit = id.cli_json(&["audit", "list", "--limit", "1000"])?;
    let answers: Vec<&Value> = audit
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["action"] == "takedown.acknowledge" || e["action"] == "takedown.outcome")
        .collect();
    assert_eq!(answers.len(), 2, "{audit}");
    for e in &answers {
        let detail = e["detail"].as_str().unwrap_or("");
        let actor = e["actor"].as_str().unwrap_or("");
        assert_eq!(actor, "token:meta", "{e}");
        assert!(detail.contains(&case_id) && detail.contains("platform meta"), "{e}");
        assert!(detail.contains(&format!("principal {actor}")), "{e}");
    }

    // VN and MY show the whole history.
    let expected: Vec<(String, String)> = ["takedown_requested", "acknowledged", "actioned"]
        .iter()
        .map(|t| ((*t).to_string(), case_id.clone()))
        .collect();
    for n in [&vn, &my] {
        assert_eventually!(PATIENCE, history(&view(n)?) == expected, "{} history: {}", n.id, view(n)?);
        let c = n.cli_json(&["takedown", "show", &case_id])?;
        assert_eq!(c["state"], "actioned", "{}: {c}", n.id);
        assert_eq!(c["acknowledged_at_ms"].as_i64(), Some(acked_at), "{}: {c}", n.id);
        assert_eq!(c["outcome_at_ms"].as_i64(), Some(outcome_at), "{}: {c}", n.id);
        let text = n.cli(&["lookup", "--kind", "domain", DOMAIN])?;
        assert!(text.contains(&format!("takedown case {case_id} on meta: requested")), "{}: {text}", n.id);
        assert!(text.contains("actioned") && text.contains("page removed"), "{}: {text}", n.id);
    }
    // Now that ID's case is closed, VN may ask meta itself.
    let vn_case = vn.cli_json(&["takedown", "request", DOMAIN, "--platform", "meta"])?;
    assert_eq!(vn_case["created"], true, "{vn_case}");
    assert!(vn_case["case"]["id"].as_str().is_some_and(|i| i.starts_with("VN-")), "{vn_case}");

    // A case due an hour ago expires by itself, dated at its due time.
    let hour_ago = SystemTime::now() - Duration::from_secs(3600);
    let due = humantime::format_rfc3339_seconds(hour_ago).to_string();
    let late = id.cli_json(&["takedown", "request", DOMAIN, "--platform", "telegram", "--due-at", &due])?;
    let late_id = late["case"]["id"].as_str().context("a case id")?.to_string();
    assert_eventually!(PATIENCE, state(&id, &late_id)? == "expired", "{late_id} never expired");
    let expired = id.cli_json(&["takedown", "show", &late_id])?;
    // Due before it was asked: it expires as it is asked.
    assert_eq!(expired["expired_at_ms"], expired["requested_at_ms"], "{expired}");
    // One due in two seconds expires while no one looks, dated at its due time.
    let soon = id.cli_json(&["takedown", "request", DOMAIN, "--platform", "google", "--due", "2s"])?;
    let soon_id = soon["case"]["id"].as_str().context("a case id")?.to_string();
    assert_eventually!(PATIENCE, state(&id, &soon_id)? == "expired", "{soon_id} never expired");
    let expired = id.cli_json(&["takedown", "show", &soon_id])?;
    assert_eq!(expired["expired_at_ms"], expired["due_at_ms"], "{expired}");
    assert_eq!(expired["events"].as_array().map(Vec::len), Some(2), "{expired}");
    let overdue = id.cli_json(&["takedown", "list", "--state", "expired"])?;
    assert_eq!(ids(&overdue), [late_id.clone(), soon_id.clone()]);
    for n in [&vn, &my] {
        assert_eventually!(PATIENCE, state(n, &late_id).unwrap_or_default() == "expired", "{}: not expired", n.id);
    }
    // A withdrawn case, too.
    let gone = id.cli_json(&["takedown", "request", DOMAIN, "--platform", "tiktok", "--due", "24h"])?;
    let gone_id = gone["case"]["id"].as_str().context("a case id")?.to_string();
    let w = id.cli_json(&["takedown", "withdraw", &gone_id, "--reason", "asked the wrong platform"])?;
    assert_eq!(w["state"], "withdrawn", "{w}");
    let out = id.cli_output(&["takedown", "acknowledge", &gone_id])?;
    assert!(!out.status.success(), "a withdrawn case took an answer");
    assert_eventually!(PATIENCE, state(&my, &gone_id).unwrap_or_default() == "withdrawn", "MY: not withdrawn");

    // Service levels: the times the events carry, per platform and country
    // (at VN too, once each node holds the other's cases).
    let vn_case_id = vn_case["case"]["id"].as_str().unwrap_or("").to_string();
    assert_eventually!(PATIENCE, state(&id, &vn_case_id).unwrap_or_default() == "requested", "ID: no {vn_case_id}");
    assert_eventually!(PATIENCE, state(&vn, &gone_id).unwrap_or_default() == "withdrawn", "VN: not withdrawn");
    for n in [&id, &vn] {
        let stats = n.cli_json(&["takedown", "stats"])?;
        let windows = stats["windows"].as_array().context("windows")?;
        let days: Vec<i64> = windows.iter().filter_map(|w| w["days"].as_i64()).collect();
        assert_eq!(days, [7, 30, 90], "{stats}");
        for w in windows {
            let row = |rows: &str, key: &str| {
                w[rows].as_array().into_iter().flatten().find(|r| r["key"] == key).cloned().unwrap_or(Value::Null)
            };
            let meta = row("platforms", "meta");
            // ID's case and, at both nodes, VN's own new one.
            assert_eq!(meta["requested"], 2, "{}: {meta}", n.id);
            assert_eq!(meta["actioned"], 1, "{}: {meta}", n.id);
            assert_eq!(meta["open"], 1, "{}: {meta}", n.id);
            assert_eq!(meta["time_to_acknowledge"]["count"], 1, "{}: {meta}", n.id);
            assert_eq!(meta["time_to_acknowledge"]["median_ms"].as_i64(), Some(acked_at - requested_at));
            assert_eq!(meta["time_to_outcome"]["median_ms"].as_i64(), Some(outcome_at - requested_at));
            let telegram = row("platforms", "telegram");
            assert_eq!((telegram["requested"].as_i64(), telegram["expired"].as_i64()), (Some(1), Some(1)));
            let from_id = row("countries", "ID");
            assert_eq!(from_id["requested"], 4, "{}: {from_id}", n.id);
            assert_eq!(from_id["expired"], 2, "{}: {from_id}", n.id);
            assert_eq!(from_id["withdrawn"], 1, "{}: {from_id}", n.id);
            assert_eq!(row("countries", "VN")["requested"], 1, "{}: {w}", n.id);
        }
    }
    let text = id.cli(&["takedown", "stats"])?;
    assert!(text.contains("last 7 days") && text.contains("by requesting country"), "{text}");
    // Meta's own figures count only the cases addressed to meta.
    let stats = api(&id, "GET", "/api/v1/takedowns/stats", &meta, None)?.json()?;
    let rows = &stats["windows"][0]["platforms"];
    assert_eq!(
        rows.as_array().map(|r| r.iter().map(|r| r["key"].clone()).collect::<Vec<_>>()),
        Some(vec![json!("meta")])
    );
    assert_eq!(rows[0]["time_to_outcome"]["median_ms"].as_i64(), Some(outcome_at - requested_at), "{stats}");

    // A case marked above meta's ceiling (TLP:AMBER) is not in its queue,
    // nor readable or answerable by it.
    id.add_domain(AMBER_DOMAIN, "amber")?;
    let amber = api(
        &id,
        "POST",
        "/api/v1/takedowns",
        &analyst,
        Some(&json!({
            "value": AMBER_DOMAIN, "platform": "meta", "due_in_ms": 86_400_000
        })),
    )?;
    assert_eq!(amber.status, 201, "{}", amber.text());
    let amber_id = amber.json()?["id"].as_str().context("a case id")?.to_string();
    let queue = platform(&id, &meta, Call::Queue)?.map_err(anyhow::Error::msg)?;
    assert!(!ids(&queue).contains(&amber_id), "meta saw an amber case: {queue}");
    let refused = platform(&id, &meta, Call::Acknowledge(&amber_id))?;
    assert!(refused.as_ref().is_err_and(|e| e.starts_with("404")), "{refused:?}");
    let again = api(
        &id,
        "POST",
        "/api/v1/takedowns",
        &analyst,
        Some(&json!({
            "value": AMBER_DOMAIN, "platform": "META"
        })),
    )?;
    assert_eq!(
        (again.status, again.json()?["id"].clone()),
        (200, json!(amber_id)),
        "a second request is the open case"
    );
    // Two due times at once are refused, naming the field; a platform may
    // not withdraw; the analyst withdraws the case over HTTP.
    let both =
        json!({"value": AMBER_DOMAIN, "platform": "tiktok", "due_in_ms": 1000, "due_at_ms": 1_900_000_000_000i64});
    let r = api(&id, "POST", "/api/v1/takedowns", &analyst, Some(&both))?;
    assert_eq!((r.status, r.json()?["field"].clone()), (400, json!("due_at_ms")), "{}", r.text());
    let withdraw = format!("/api/v1/takedowns/{amber_id}/withdraw");
    let r = api(&id, "POST", &withdraw, &meta, Some(&json!({"reason": "not ours"})))?;
    assert_eq!(r.status, 403, "a platform withdrew a case: {}", r.text());
    let r = api(&id, "POST", &withdraw, &analyst, Some(&json!({"reason": "asked the wrong platform"})))?;
    assert_eq!((r.status, r.json()?["state"].clone()), (200, json!("withdrawn")), "{}", r.text());

    // A referral travels like feedback.
    let referral =
        id.cli_json(&["referral", "create", DOMAIN, "--to", "Bareskrim POLRI", "--case-ref", "LP/B/123/2026"])?;
    assert_eq!(referral["type"], "referred", "{referral}");
    assert_eq!(referral["referred_to"], "Bareskrim POLRI");
    assert_eq!(referral["case_ref"], "LP/B/123/2026");
    assert_eventually!(
        PATIENCE,
        view(&my)?["feedback"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|e| e["type"] == "referred" && e["case_ref"] == "LP/B/123/2026"),
        "MY never saw the referral: {}",
        view(&my)?
    );

    // The evidence package, verified with every node stopped.
    let work = tempfile::tempdir()?;
    let file = work.path().join("case.jrev");
    let file_arg = file.to_str().context("a UTF-8 path")?;
    let exported = id.cli_json(&["evidence", "export", DOMAIN, "--out", file_arg])?;
    assert!(exported["envelopes"].as_u64().is_some_and(|n| n >= 9), "{exported}");
    assert!(exported["audit_entries"].as_u64().is_some_and(|n| n >= 1), "{exported}");
    for n in [&mut id, &mut vn, &mut my] {
        n.stop()?;
    }
    let (ok, report) = cli_verify(&file)?;
    assert!(ok, "the package does not verify: {report}");
    let text =
        String::from_utf8_lossy(&Command::new(bin("jaring")).args(["evidence", "verify"]).arg(&file).output()?.stdout)
            .into_owned();
    assert!(text.contains(&format!("reported actioned (case {case_id})")), "{text}");
    assert!(text.contains("verified"), "{text}");

    let bytes = std::fs::read(&file)?;
    let manifest = jaring_node::evidence::format::read_manifest(&bytes)?;
    let start = jaring_node::evidence::format::blob_start(&bytes)?;
    let envelopes: Vec<_> = manifest.items.iter().filter(|i| i.item_type.is_envelope()).collect();
    assert!(envelopes.len() >= 9, "{} envelopes", envelopes.len());
    let python = python();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/verify_jrev.py");
    let out = Command::new(&python).arg(&script).arg(&file).output()?;
    assert!(out.status.success(), "the Python verifier refused it: {}", String::from_utf8_lossy(&out.stdout));
    // Flip the first, a middle and the last byte of every envelope.
    let flipped = work.path().join("flipped.jrev");
    for item in &envelopes {
        let base = start + usize::try_from(item.offset)?;
        let len = usize::try_from(item.length)?;
        for at in [base, base + len / 2, base + len - 1] {
            let mut b = bytes.clone();
            b[at] ^= 0x01;
            std::fs::write(&flipped, &b)?;
            let (ok, report) = cli_verify(&flipped)?;
            assert!(!ok, "byte {at} of {} flipped and the package verified", item.name);
            assert_eq!(failed(&report), std::slice::from_ref(&item.name), "byte {at} flipped: {report}");
            if at == base + len / 2 {
                let out = Command::new(&python).arg(&script).arg(&flipped).output()?;
                let stdout = String::from_utf8_lossy(&out.stdout);
                assert!(!out.status.success(), "Python verified {} with byte {at} flipped", item.name);
                assert!(stdout.contains(&format!("{}: FAILED", item.name)), "{stdout}");
            }
        }
    }
    // The manifest line is signed too.
    let mut b = bytes.clone();
    let Some(at) = b.windows(10).position(|w| w == b"\"payload\":") else { bail!("no manifest payload") };
    b[at + 12] ^= 0x01;
    std::fs::write(&flipped, &b)?;
    let (ok, report) = cli_verify(&flipped)?;
    assert!(!ok && !failed(&report).is_empty(), "an edited manifest verified: {report}");
    Ok(())
}
