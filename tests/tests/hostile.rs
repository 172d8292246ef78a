//! Hostile peers cannot hurt a node. Black-box: real `jaring-node`
//! processes on 127.0.0.1, driven through the CLI, their audit log and their
//! Prometheus `/metrics`.
//!
//! - A fake publisher (the generated `jaring.v1.Federation` server behind the
//!   node's own mTLS listener code) holds the identity of a peer "EVIL" that
//!   a real node "VN" subscribes to, and serves crafted responses: the
//!   envelope refusal matrix, protocol violations, a flood, a fast stream.
//! - A raw subscriber (the generated client over the node's own mTLS client
//!   code) holds too many streams and stops reading, against a real
//!   publisher.
//!
//! docs/threat-model.md ("Hostile peers") has the matrix with, per case,
//! what the node does, whether the stream continues and the test below.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use jaring_node::envelope::{self, Entry, EnvelopeBody, KeyEvent};
use jaring_node::keys::SigningKey;
use jaring_node::model::now_ms;
use jaring_node::tls::{self, NodeTlsFiles, OwnCert, TrustedPeer};
use jaring_node::wire::ToPb;
use jaring_proto::pb;
use jaring_proto::pb::federation_client::FederationClient;
use jaring_tests::fake_peer::{Fake, Out};
use jaring_tests::forge::{Origin, domain, garbage, indicator, sign_bytes};
use jaring_tests::{Rng, TestNode, assert_eventually, link};
use prost::Message;
use serde_json::Value as Json;
use tonic::Request;

const PATIENCE: Duration = Duration::from_secs(20);

/// Peak resident memory a subscriber may reach while a peer floods it
/// (documented in docs/threat-model.md with the measured figure).
const RSS_BOUND_KIB: u64 = 256 * 1024;

// --- nodes -------------------------------------------------------------------

/// Starts node `id` with an HTTPS listener (for `/metrics`) and the given
/// `[limits]` overrides. Returns the node and its HTTPS port.
fn start_with_limits(id: &str, limits: &[(&str, &str)]) -> (TestNode, u16) {
    let mut b = TestNode::builder(id).http();
    for (key, value) in limits {
        b = b.limit(key, value);
    }
    let node = b.start().unwrap();
    let http = node.http_port.unwrap();
    (node, http)
}

fn found(node: &TestNode, value: &str) -> bool {
    node.lookup_found(value).unwrap_or(false)
}

/// Everything a refusal must leave alone: the indicators (every version
/// field), the key ring and the log head.
fn snapshot(node: &TestNode) -> String {
    let list = node.cli(&["--json", "indicator", "list", "--limit", "100000"]).unwrap();
    let keys = node.cli(&["--json", "key", "list", "--all"]).unwrap();
    let status = node.cli_json(&["status"]).unwrap();
    format!("{list}\n{keys}\nlog_head={}", status["log_head"])
}

fn rejections(node: &TestNode, peer: &str) -> Vec<Json> {
    let v = node.cli_json(&["audit", "list", "--kind", "rejection", "--peer", peer, "--limit", "1000000"]).unwrap();
    v.as_array().cloned().unwrap_or_default()
}

fn forks(node: &TestNode) -> u64 {
    node.cli_json(&["status"]).unwrap()["forks"].as_u64().unwrap()
}

/// Peak and current resident set of a process, KiB.
fn rss_kib(pid: u32) -> (u64, u64) {
    jaring_tests::rss_kib(pid).unwrap()
}

fn metric(node: &TestNode, _http: u16, sample: &str) -> f64 {
    node.metric(sample)
}

fn rejected_metric(reason: &str) -> String {
    format!("jaring_rejections_total{{reason=\"{reason}\"}}")
}

/// The reason, origin and origin_seq a refusal must be audited with.
struct Refusal<'a> {
    case: &'a str,
    reason: &'a str,
    origin: Option<&'a str>,
    origin_seq: Option<u64>,
}

/// Runs `send`, then checks that VN refused what it sent: exactly one new
/// rejection audit entry from EVIL with the reason (and origin and sequence
/// when the envelope named them), the reason's counter up by one, and the
/// store as it was.
fn assert_refused(vn: &TestNode, http: u16, r: &Refusal<'_>, send: impl FnOnce()) {
    let before = snapshot(vn);
    let audited = rejections(vn, "EVIL").len();
    let counted = metric(vn, http, &rejected_metric(r.reason));
    send();
    assert_eventually!(PATIENCE, rejections(vn, "EVIL").len() > audited, "{}: VN audits a rejection", r.case);
    let new = rejections(vn, "EVIL").split_off(audited);
    assert_eq!(new.len(), 1, "{}: one rejection: {new:?}", r.case);
    assert_eq!(new[0]["reason"], r.reason, "{}: {}", r.case, new[0]);
    assert_eq!(new[0]["origin"].as_str().filter(|o| !o.is_empty()), r.origin, "{}: {}", r.case, new[0]);
    assert_eq!(new[0]["origin_seq"].as_u64(), r.origin_seq, "{}: {}", r.case, new[0]);
    assert_eventually!(
        PATIENCE,
        metric(vn, http, &rejected_metric(r.reason)) == counted + 1.0,
        "{}: {} counts it",
        r.case,
        rejected_metric(r.reason)
    );
    assert_eq!(snapshot(vn), before, "{}: the store changed", r.case);
    println!("{}: refused, audited and counted as {}", r.case, r.reason);
}

// --- the refusal matrix, stream continues ---------------------------------------

#[test]
fn refused_envelopes_are_audited_counted_and_harmless_and_the_stream_goes_on() {
    let evil = TestNode::builder("EVIL").init().unwrap();
    let my = TestNode::builder("MY").init().unwrap(); // X: a real third member
    let th = TestNode::builder("TH").init().unwrap(); // Y: another member
    let (vn, http) = start_with_limits("VN", &[("max_seq_gap", "100")]);
    vn.add_peer(&evil, &["--trust", "trusted", "--accept-kinds", "domain", "--accept-min-confidence", "50"]).unwrap();
    vn.add_peer(&my, &["--trust", "trusted", "--member-only"]).unwrap();
    vn.add_peer(&th, &["--trust", "trusted", "--member-only"]).unwrap();
    let fake = Fake::start(&evil, &vn, false);
    let mut e = Origin::of(&evil);
    let mut x = Origin::of(&my);
    let y = Origin::of(&th);
    let mut rng = Rng::from_clock();

    // An honest history first: EVIL's own indicators, and MY's relayed by
    // EVIL: an indicator, a key rotation, and the revocation of MY's old key.
    let own: Vec<_> = (1..=3).map(|i| e.publish(domain("EVIL", &format!("evil-{i}-loker.co.id"), 1))).collect();
    fake.push(&own);
    let k2 = SigningKey::generate(now_ms() - 1);
    let rotation = Entry::KeyEvent(KeyEvent::Rotation {
        new_key_id: k2.id().to_string(),
        new_public_key: k2.public().to_bytes(),
        valid_from_ms: k2.valid_from_ms(),
    });
    let relayed = [x.publish(domain("MY", "relayed-my-loker.co.id", 1)), x.publish(rotation)];
    let stolen = std::mem::replace(&mut x.key, k2);
    let revoked_at = now_ms();
    let revocation = Entry::KeyEvent(KeyEvent::Revocation {
        key_id: stolen.id().to_string(),
        revoked_at_ms: revoked_at,
        reason: "laptop stolen".into(),
    });
    fake.push(&[relayed[0].clone(), relayed[1].clone(), x.publish(revocation)]);
    let versioned = e.publish(domain("EVIL", "versioned-loker.co.id", 2));
    fake.push(std::slice::from_ref(&versioned));
    assert_eventually!(PATIENCE, found(&vn, "versioned-loker.co.id") && found(&vn, "relayed-my-loker.co.id"));
    assert_eventually!(
        PATIENCE,
        vn.cli_json(&["key", "list", "--all"])
            .unwrap()
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["key_id"] == stolen.id().as_str() && k["revoked_at_ms"] == revoked_at),
        "VN learns that MY's old key is revoked"
    );
    assert_eq!(fake.subscribes().len(), 1);

    // After each refusal a valid envelope from EVIL still applies, on the same stream.
    let next_valid = |e: &mut Origin, case: &str| {
        let value = format!("after-{}-loker.co.id", case.replace('_', "-"));
        fake.push(&[e.publish(domain("EVIL", &value, 1))]);
        assert_eventually!(PATIENCE, found(&vn, &value), "{case}: the stream goes on");
    };

    // Tampered body: a byte of a validly signed body changed.
    let good = e.next(domain("EVIL", "tampered-aaaa-loker.co.id", 1));
    let mut tampered = good.clone();
    let at = tampered.body.windows(13).position(|w| w == b"tampered-aaaa").unwrap();
    tampered.body[at + 12] = b'b';
    let r =
        Refusal { case: "tampered_body", reason: "bad_signature", origin: Some("EVIL"), origin_seq: Some(e.seq + 1) };
    assert_refused(&vn, http, &r, || fake.push(&[tampered]));
    assert!(!found(&vn, "tampered-aaab-loker.co.id") && !found(&vn, "tampered-aaaa-loker.co.id"));
    next_valid(&mut e, r.case);

    // A body claiming origin MY signed with EVIL's own key.
    let body = x.next_body(domain("MY", "claimed-by-evil-loker.co.id", 1));
    let r = Refusal {
        case: "origin_claimed_signed_by_sender",
        reason: "origin_mismatch",
        origin: Some("MY"),
        origin_seq: Some(x.seq + 1),
    };
    assert_refused(&vn, http, &r, || fake.push(&[jaring_node::signing::sign(&body, &e.key)]));
    next_valid(&mut e, r.case);

    // A body claiming origin MY signed with member TH's key.
    let body = x.next_body(domain("MY", "claimed-by-th-loker.co.id", 1));
    let r = Refusal {
        case: "origin_claimed_signed_by_other_member",
        reason: "origin_mismatch",
        origin: Some("MY"),
        origin_seq: Some(x.seq + 1),
    };
    assert_refused(&vn, http, &r, || fake.push(&[jaring_node::signing::sign(&body, &y.key)]));
    next_valid(&mut e, r.case);

    // MY's revoked key, signing after its revocation time.
    let body = x.next_body(domain("MY", "signed-with-revoked-key-loker.co.id", 1));
    let r = Refusal { case: "revoked_key", reason: "key_revoked", origin: Some("MY"), origin_seq: Some(x.seq + 1) };
    assert_refused(&vn, http, &r, || fake.push(&[jaring_node::signing::sign(&body, &stolen)]));
    next_valid(&mut e, r.case);

    // An origin nobody here knows, with its own key.
    let zz = Origin::with_key("ZZ", SigningKey::generate(now_ms() - 1));
    let r = Refusal { case: "unknown_origin", reason: "unknown_key", origin: Some("ZZ"), origin_seq: Some(1) };
    assert_refused(&vn, http, &r, || fake.push(&[zz.next(domain("ZZ", "unknown-origin-loker.co.id", 1))]));
    next_valid(&mut e, r.case);

    // An older version of an indicator VN holds at version 2, at a new sequence number.
    let r =
        Refusal { case: "stale_version", reason: "stale_version", origin: Some("EVIL"), origin_seq: Some(e.seq + 1) };
    assert_refused(&vn, http, &r, || fake.push(&[e.next(domain("EVIL", "versioned-loker.co.id", 1))]));
    let view = vn.cli_json(&["lookup", "--kind", "domain", "versioned-loker.co.id"]).unwrap();
    assert!(view.to_string().contains("\"version\":2"), "{view}");
    next_valid(&mut e, r.case);

    // A different, validly signed body for sequence number 2, which VN holds.
    let fork = jaring_node::signing::sign(
        &EnvelopeBody {
            origin: "EVIL".into(),
            origin_seq: 2,
            prev_hash: envelope::body_hash(&e.held[0].body),
            created_at_ms: now_ms(),
            entry: domain("EVIL", "forked-loker.co.id", 1),
        },
        &e.key,
    );
    let forks_before = forks(&vn);
    let r = Refusal { case: "fork", reason: "fork", origin: Some("EVIL"), origin_seq: Some(2) };
    assert_refused(&vn, http, &r, || fake.push(&[fork]));
    assert_eq!(forks(&vn), forks_before + 1, "the fork is kept as evidence");
    assert!(found(&vn, "evil-2-loker.co.id") && !found(&vn, "forked-loker.co.id"));
    next_valid(&mut e, r.case);

    // A sequence number more than max_seq_gap (100) above EVIL's head.
    let mut far = e.next_body(domain("EVIL", "far-ahead-loker.co.id", 1));
    far.origin_seq = e.seq + 101;
    let r = Refusal {
        case: "seq_far_ahead",
        reason: "seq_too_far_ahead",
        origin: Some("EVIL"),
        origin_seq: Some(e.seq + 101),
    };
    assert_refused(&vn, http, &r, || fake.push(&[jaring_node::signing::sign(&far, &e.key)]));
    next_valid(&mut e, r.case);

    // Random bytes as the body, validly signed: the signature holds, decoding does not.
    let r = Refusal { case: "random_body", reason: "malformed_body", origin: None, origin_seq: None };
    assert_refused(&vn, http, &r, || fake.push(&[sign_bytes(&evil, garbage(&mut rng, 300))]));
    next_valid(&mut e, r.case);

    // A random signature of the wrong length.
    let mut short = e.next(domain("EVIL", "short-signature-loker.co.id", 1));
    short.signature.truncate(63);
    let r = Refusal {
        case: "truncated_signature",
        reason: "malformed_signature",
        origin: Some("EVIL"),
        origin_seq: Some(e.seq + 1),
    };
    assert_refused(&vn, http, &r, || fake.push(&[short]));
    next_valid(&mut e, r.case);

    // An exact replay of something VN holds: dropped as a duplicate, which
    // at-least-once delivery makes normal, so counted but not audited.
    let before = snapshot(&vn);
    let audited = rejections(&vn, "EVIL").len();
    let dup = "jaring_envelopes_duplicate_total{peer=\"EVIL\"}";
    let dups = metric(&vn, http, dup);
    fake.push(&[e.held[0].clone()]);
    assert_eventually!(PATIENCE, metric(&vn, http, dup) == dups + 1.0, "replay: counted as a duplicate");
    assert_eq!(rejections(&vn, "EVIL").len(), audited, "a duplicate is not a rejection");
    assert_eq!(snapshot(&vn), before, "replay: the store changed");
    println!("replayed_envelope: dropped as a duplicate");
    next_valid(&mut e, "replayed_envelope");

    // Every case above went over the one stream VN opened.
    assert_eq!(fake.subscribes().len(), 1, "VN reconnected: {}", vn.log());
    drop(fake);
}

// --- protocol violations: the stream closes --------------------------------------

#[test]
fn protocol_violations_are_audited_and_close_the_stream_and_the_node_recovers() {
    let evil = TestNode::builder("EVIL").init().unwrap();
    let (vn, http) = start_with_limits("VN", &[("max_message_bytes", "65536"), ("max_batch", "16")]);
    vn.add_peer(&evil, &["--trust", "trusted"]).unwrap();
    let fake = Fake::start(&evil, &vn, true);
    let mut e = Origin::of(&evil);
    let mut rng = Rng::from_clock();
    fake.push(&[e.publish(domain("EVIL", "first-loker.co.id", 1))]);
    assert_eventually!(PATIENCE, found(&vn, "first-loker.co.id"));

    // Each case: refused and audited (no origin: the response as a whole),
    // the stream closed (VN subscribes again from the cursor it had), and a
    // valid envelope applied on the new stream.
    let closes = |e: &mut Origin, case: &str, reason: &str, bad: Out| {
        let subscribes = fake.subscribes();
        // VN has applied the fake's whole log: its cursor is the log's length.
        let cursor = fake.state.log.lock().unwrap().len() as u64;
        let r = Refusal { case, reason, origin: None, origin_seq: None };
        assert_refused(&vn, http, &r, || fake.poison(bad.clone()));
        assert_eventually!(PATIENCE, fake.subscribes().len() > subscribes.len(), "{case}: VN closes and reconnects");
        assert_eq!(fake.subscribes()[subscribes.len()], cursor, "{case}: resumed from the same cursor");
        let value = format!("after-{}-loker.co.id", case.replace('_', "-"));
        fake.push(&[e.publish(domain("EVIL", &value, 1))]);
        assert_eventually!(PATIENCE, found(&vn, &value), "{case}: a valid envelope applies afterwards");
    };

    // A response over max_message_bytes (65536): refused on its length prefix.
    let huge = pb::SubscribeResponse {
        entries: vec![pb::LogEntry {
            seq: 2,
            envelope: Some(pb::SignedIndicator {
                body: vec![0x41; 70_000],
                signature: vec![0; 64],
                key_id: e.key.id().to_string(),
            }),
        }],
        cursor: 2,
        head: 2,
    };
    closes(&mut e, "message_over_size_limit", "message_too_large", Out::Msg(huge));

    // More entries in one response than max_batch (16), all of them valid.
    let values: Vec<String> = (0..17).map(|i| format!("batch-{i}-loker.co.id")).collect();
    let entries = e
        .chain(&values)
        .iter()
        .enumerate()
        .map(|(i, env)| pb::LogEntry { seq: 100 + i as u64, envelope: Some(env.to_pb()) })
        .collect();
    let big = pb::SubscribeResponse { entries, cursor: 200, head: 200 };
    closes(&mut e, "batch_over_max_batch", "batch_too_large", Out::Msg(big));
    assert!(values.iter().all(|v| !found(&vn, v)), "nothing of a refused batch is stored");

    // A response moving the cursor backwards.
    let back = pb::SubscribeResponse { entries: vec![], cursor: 0, head: 0 };
    closes(&mut e, "cursor_backwards", "cursor_backwards", Out::Msg(back));

    // Random bytes as a whole gRPC message.
    closes(&mut e, "random_message", "malformed_message", Out::Raw(garbage(&mut rng, 512)));

    // Random bytes where an envelope should be, inside a well-formed response.
    let junk = garbage(&mut rng, 64);
    let mut entry = vec![0x08, 0x09, 0x12, junk.len() as u8];
    entry.extend(&junk);
    let mut frame = vec![0x0a, entry.len() as u8];
    frame.extend(&entry);
    frame.extend([0x10, 0x09, 0x18, 0x09]);
    closes(&mut e, "random_envelope_bytes", "malformed_message", Out::Raw(frame));

    let status = vn.cli_json(&["status"]).unwrap();
    assert!(status["rejected_last_hour"].as_u64().unwrap() >= 5, "{status}");
    drop(fake);
}

// --- rate limit ------------------------------------------------------------------

#[test]
fn a_peer_is_held_to_its_entry_and_refusal_rates() {
    let evil = TestNode::builder("EVIL").init().unwrap();
    let limits = [
        ("peer_entries_per_s", "400"),
        ("peer_entries_burst", "100"),
        ("peer_refusals_per_s", "20"),
        ("peer_refusals_burst", "50"),
    ];
    let (vn, http) = start_with_limits("VN", &limits);
    vn.add_peer(&evil, &["--trust", "trusted"]).unwrap();
    let fake = Fake::start(&evil, &vn, false);
    fake.state.batch.store(50, Ordering::Relaxed);
    assert_eventually!(PATIENCE, !fake.subscribes().is_empty());

    // Valid entries: all arrive, at 400/s after the first 100.
    let mut e = Origin::of(&evil);
    let n = 900;
    let envs: Vec<_> = (0..n).map(|i| e.publish(domain("EVIL", &format!("rate-{i}-loker.co.id"), 1))).collect();
    fake.push(&envs);
    let last = format!("rate-{}-loker.co.id", n - 1);
    assert_eventually!(PATIENCE, found(&vn, &last), "every entry arrives, only slower");
    let elapsed = fake.state.first_send.lock().unwrap().unwrap().elapsed();
    let held = vn.cli_json(&["indicator", "list", "--origin", "EVIL", "--limit", "10000"]).unwrap();
    assert_eq!(held.as_array().unwrap().len(), n);
    // 100 at once, then 400/s: the other 800 take at least 2 s.
    assert!(elapsed >= Duration::from_millis(1950), "{n} entries applied in {elapsed:?}");
    let throttled = metric(&vn, http, "jaring_peer_throttled_seconds_total{peer=\"EVIL\",limit=\"entries\"}");
    assert!(throttled >= 1.5, "throttled for {throttled} s");
    println!("{n} entries at 400/s (burst 100) took {elapsed:?}; throttled {throttled:.2} s");

    // Refused envelopes (each audited): 50 at once, then 20/s, whatever the peer sends.
    let bad: Vec<_> = (0..50)
        .map(|i| {
            let mut env = e.next(domain("EVIL", &format!("bad-{i}-loker.co.id"), 1));
            env.signature[0] ^= 0xff;
            pb::LogEntry { seq: n as u64 + 1, envelope: Some(env.to_pb()) }
        })
        .collect();
    let refused_before = metric(&vn, http, &rejected_metric("bad_signature"));
    *fake.state.flood.lock().unwrap() = Some(pb::SubscribeResponse { entries: bad, cursor: n as u64, head: n as u64 });
    fake.state.wake.notify_waiters();
    let started = Instant::now();
    std::thread::sleep(Duration::from_secs(3));
    let refused = metric(&vn, http, &rejected_metric("bad_signature")) - refused_before;
    let window = started.elapsed().as_secs_f64();
    *fake.state.flood.lock().unwrap() = None;
    // Burst, plus one response applied before its wait, plus the rate.
    let bound = 50.0 + 50.0 + 20.0 * window;
    assert!(refused >= 50.0, "the refusals were not taken: {refused}");
    assert!(refused <= bound, "{refused} refusals in {window:.1} s, more than {bound}");
    let throttled = metric(&vn, http, "jaring_peer_throttled_seconds_total{peer=\"EVIL\",limit=\"refusals\"}");
    assert!(throttled > 0.0);
    println!(
        "refusal flood: {refused} refused in {window:.1} s (bound {bound:.0}); {} responses offered",
        fake.state.flood_sent.load(Ordering::Relaxed)
    );
    drop(fake);
}

// --- the publisher side: streams, sizes, slow readers -------------------------------

/// A federation client for `raw` (a node directory that `publisher` has as
/// a peer), over the node's own mTLS client code.
async fn raw_client(raw: &TestNode, publisher: &TestNode) -> FederationClient<tonic::transport::Channel> {
    let own = Arc::new(OwnCert::load(&NodeTlsFiles::in_dir(raw.dir().join("tls"))).unwrap());
    let ca = std::fs::read_to_string(publisher.dir().join("tls/ca.pem")).unwrap();
    let ca = TrustedPeer::from_ca_pem(&publisher.id, &ca).unwrap().ca_certs;
    let config = tls::client_config(own, &ca).unwrap();
    let addr = format!("127.0.0.1:{}", publisher.fed_port);
    let channel = tls::connect(&addr, &jaring_certs::tls_name(&publisher.id), config).await.unwrap();
    FederationClient::new(channel).max_decoding_message_size(64 * 1024 * 1024)
}

/// Streams `peer` holds on `node`, from `jaring status`.
fn outbound_streams(node: &TestNode, peer: &str) -> u64 {
    let status = node.cli_json(&["status"]).unwrap();
    let peers = status["peers"].as_array().unwrap();
    peers.iter().find(|p| p["node_id"] == peer).map_or(0, |p| p["outbound_streams"].as_u64().unwrap())
}

fn sent_to(node: &TestNode, http: u16, peer: &str) -> f64 {
    metric(node, http, &format!("jaring_envelopes_sent_total{{peer=\"{peer}\"}}"))
}

#[test]
fn a_publisher_bounds_streams_and_responses_and_a_stalled_reader_stalls_only_itself() {
    let (mut a, http) = start_with_limits("A", &[]);
    let b = TestNode::builder("B").start().unwrap();
    let raw = TestNode::builder("RAW").init().unwrap();
    link(&a, &b, &[], &[]).unwrap();
    a.add_peer(&raw, &["--trust", "trusted"]).unwrap();

    // 1000 indicators of about 4 KiB each.
    let n = 1000;
    let description = "d".repeat(4000);
    let mut csv = String::from("kind,value,categories,tlp,confidence,description\n");
    for i in 0..n {
        csv.push_str(&format!("domain,bulk-{i}-loker.co.id,job_scam,green,80,{description}\n"));
    }
    let file = a.dir().join("bulk.csv");
    std::fs::write(&file, csv).unwrap();
    let report = a.cli_json(&["indicator", "import", file.to_str().unwrap()]).unwrap();
    assert_eq!(report["stored"], n, "{report}");
    let last_bulk = format!("bulk-{}-loker.co.id", n - 1);
    assert_eventually!(PATIENCE, found(&b, &last_bulk));

    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let client = rt.block_on(raw_client(&raw, &a));
    let head = a.cli_json(&["status"]).unwrap()["log_head"].as_u64().unwrap();

    // Responses keep to the subscriber's max_batch and max_message_bytes.
    let read_all = |req: pb::SubscribeRequest| {
        let mut c = client.clone();
        rt.block_on(async move {
            let mut stream = c.subscribe(req).await.unwrap().into_inner();
            let mut sizes = Vec::new();
            let mut seen = 0;
            loop {
                let msg = stream.message().await.unwrap().unwrap();
                sizes.push((msg.entries.len(), msg.encoded_len()));
                seen += msg.entries.len();
                if msg.cursor >= head {
                    return (stream, sizes, seen);
                }
            }
        })
    };
    let (idle, sizes, seen) = read_all(pb::SubscribeRequest { cursor: 0, max_batch: 100, max_message_bytes: 65536 });
    assert_eq!(seen, n);
    assert!(sizes.iter().all(|&(e, b)| e <= 100 && b <= 65536), "{sizes:?}");
    assert!(sizes.iter().all(|&(e, _)| e < 20), "4 KiB entries: cut by bytes, not by count: {sizes:?}");
    let (defaults, sizes, seen) = read_all(pb::SubscribeRequest { cursor: 0, max_batch: 0, max_message_bytes: 0 });
    assert_eq!(seen, n);
    assert!(sizes.iter().all(|&(e, b)| e <= 512 && b <= 4 * 1024 * 1024), "{sizes:?}");
    drop(defaults);
    let (greedy, sizes, _) = read_all(pb::SubscribeRequest { cursor: 0, max_batch: 100_000, max_message_bytes: 0 });
    assert!(sizes.iter().all(|&(e, _)| e <= 512), "max_batch is capped by the publisher: {sizes:?}");
    drop(greedy);

    // Streams per peer: `idle` holds one; three more that never read, then the fifth is refused.
    let open = |cursor: u64| {
        let mut c = client.clone();
        let req = pb::SubscribeRequest { cursor, max_batch: 8, max_message_bytes: 65536 };
        rt.block_on(async move { c.subscribe(req).await })
    };
    // The streams read to the end and dropped above are gone: RAW holds `idle` only.
    assert_eventually!(PATIENCE, outbound_streams(&a, "RAW") == 1, "dropped streams end");
    let mut stalled: Vec<_> = (0..3).map(|_| open(0).unwrap()).collect();
    let refused = open(0).map(|_| ()).unwrap_err();
    assert_eq!(refused.code(), tonic::Code::ResourceExhausted, "{refused:?}");
    assert_eq!(metric(&a, http, "jaring_streams_refused_total{peer=\"RAW\"}"), 1.0);
    // Closing one frees its place.
    drop(idle);
    let mut fourth;
    assert_eventually!(
        PATIENCE,
        {
            fourth = open(0).ok();
            fourth.is_some()
        },
        "a closed stream frees its place"
    );
    stalled.push(fourth.unwrap());
    assert_eventually!(PATIENCE, outbound_streams(&a, "RAW") == 4, "RAW holds four streams");

    // Four streams from cursor 0 that nobody reads: the publisher sends into
    // flow control and its small per-stream buffers, then stops.
    let mut last = -1.0;
    assert_eventually!(
        PATIENCE,
        {
            std::thread::sleep(Duration::from_millis(300));
            let now = sent_to(&a, http, "RAW");
            std::mem::replace(&mut last, now) == now
        },
        "the unread streams stop"
    );
    let unread_share = last - 3.0 * n as f64;
    assert!(unread_share < 3.0 * n as f64, "the stalled streams got {unread_share} of {} entries", 4 * n);

    // Meanwhile A acknowledges new indicators and B keeps receiving them.
    let to_b = sent_to(&a, http, "B");
    for i in 0..3 {
        let value = format!("during-stall-{i}-loker.co.id");
        a.add_domain(&value, "green").unwrap();
        assert_eventually!(PATIENCE, found(&b, &value), "B receives {value} while RAW's streams are stalled");
    }
    assert!(sent_to(&a, http, "B") >= to_b + 3.0);
    assert_eq!(sent_to(&a, http, "RAW"), last, "the stalled streams stay stalled");
    a.cli(&["status"]).unwrap();
    let pid = a.pid().unwrap();
    println!("publisher with 4 stalled streams: peak RSS {} KiB, {last} entries sent to RAW", rss_kib(pid).0);

    // A stops cleanly (SIGTERM, exit 0 within 20 s) with the unread streams open.
    let stopping = Instant::now();
    if let Err(e) = a.stop() {
        panic!("{e}: {}", a.log());
    }
    println!("A stopped in {:?} with 4 unread streams open", stopping.elapsed());
    drop(stalled);
    drop(client);
    a.start().unwrap();

    // RAW's places are free again.
    let again = rt.block_on(raw_client(&raw, &a));
    let subscribed = (0..4)
        .map(|_| {
            let mut c = again.clone();
            rt.block_on(async move {
                c.subscribe(pb::SubscribeRequest { cursor: head + 3, max_batch: 0, max_message_bytes: 0 }).await
            })
        })
        .collect::<Vec<_>>();
    assert!(subscribed.iter().all(Result::is_ok), "{subscribed:?}");
}

// --- flood: memory, lookups, other peers ----------------------------------------------

/// One admin `Lookup` over gRPC with the bearer token; its latency and whether `value` was found.
async fn timed_lookup(
    client: &mut pb::admin_client::AdminClient<tonic::transport::Channel>,
    token: &str,
    value: &str,
) -> (Duration, bool) {
    let mut req = Request::new(pb::LookupRequest {
        queries: vec![pb::LookupQuery { value: value.into(), kind: 0 }],
        min_score: 0,
        summary: false,
    });
    req.metadata_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
    let t = Instant::now();
    let resp = client.lookup(req).await.unwrap().into_inner();
    let found = resp.results.first().is_some_and(|r| !r.views.is_empty());
    (t.elapsed(), found)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[test]
fn a_flooding_peer_stays_within_bounded_memory_and_starves_neither_lookups_nor_other_peers() {
    let evil = TestNode::builder("EVIL").init().unwrap();
    let (vn, http) = start_with_limits("VN", &[]);
    let h = TestNode::builder("H").start().unwrap(); // an honest peer
    link(&vn, &h, &[], &[]).unwrap();
    vn.add_peer(&evil, &["--trust", "trusted"]).unwrap();
    let fake = Fake::start(&evil, &vn, false);
    let mut e = Origin::of(&evil);
    fake.push(&[e.publish(domain("EVIL", "evil-before-flood-loker.co.id", 1))]);
    vn.add_domain("local-lookup-loker.co.id", "green").unwrap();
    h.add_domain("honest-before-flood-loker.co.id", "green").unwrap();
    assert_eventually!(
        PATIENCE,
        found(&vn, "honest-before-flood-loker.co.id") && found(&vn, "evil-before-flood-loker.co.id")
    );

    let token = std::fs::read_to_string(vn.dir().join("admin.token")).unwrap().trim().to_string();
    let endpoint = jaring_node::admin::channel::AdminEndpoint::of_node_dir(vn.dir()).unwrap();
    let mut admin = fake.rt.block_on(async { pb::admin_client::AdminClient::new(endpoint.connect().await.unwrap()) });
    let mut lookups = |n: usize, gap: Duration| {
        (0..n)
            .map(|_| {
                std::thread::sleep(gap);
                let (t, ok) = fake.rt.block_on(timed_lookup(&mut admin, &token, "local-lookup-loker.co.id"));
                assert!(ok, "the lookup answers correctly");
                t
            })
            .collect::<Vec<_>>()
    };
    let quiet = median(lookups(30, Duration::from_millis(20)));
    let pid = vn.pid().unwrap();
    let (peak_before, _) = rss_kib(pid);

    // The flood: responses just under 4 MiB (the default max_message_bytes)
    // of 900 copies of a 4 KiB envelope VN holds, valid but useless, sent as
    // fast as VN takes them.
    let big = e.publish(indicator("EVIL", "evil-big-loker.co.id", 1, Some("x".repeat(4000))));
    fake.push(std::slice::from_ref(&big));
    assert_eventually!(PATIENCE, found(&vn, "evil-big-loker.co.id"));
    let entries = (0..900).map(|_| pb::LogEntry { seq: 2, envelope: Some(big.to_pb()) }).collect::<Vec<_>>();
    let flood = pb::SubscribeResponse { entries, cursor: 2, head: 2 };
    assert!(flood.encoded_len() < 4 * 1024 * 1024);
    let dup = "jaring_envelopes_duplicate_total{peer=\"EVIL\"}";
    let dups_before = metric(&vn, http, dup);
    let store_before = metric(&vn, http, "jaring_store_bytes");
    *fake.state.flood.lock().unwrap() = Some(flood);
    fake.state.wake.notify_waiters();
    let started = Instant::now();
    assert_eventually!(PATIENCE, fake.state.flood_sent.load(Ordering::Relaxed) >= 2);

    // During the flood: lookups answer, and the honest peer's new entries arrive.
    let busy = lookups(30, Duration::from_millis(50));
    let honest_at = Instant::now();
    h.add_domain("honest-during-flood-loker.co.id", "green").unwrap();
    assert_eventually!(
        Duration::from_secs(30),
        found(&vn, "honest-during-flood-loker.co.id"),
        "the honest peer's entry arrives during the flood"
    );
    let honest_delay = honest_at.elapsed();
    let mut busy = [busy, lookups(20, Duration::from_millis(50))].concat();
    while started.elapsed() < Duration::from_secs(6) {
        busy.extend(lookups(5, Duration::from_millis(50)));
    }
    let responses = fake.state.flood_sent.load(Ordering::Relaxed);
    *fake.state.flood.lock().unwrap() = None;
    let flood_time = started.elapsed();
    let (peak, now_rss) = rss_kib(pid);
    let dropped = metric(&vn, http, dup) - dups_before;
    let store_growth = metric(&vn, http, "jaring_store_bytes") - store_before;
    let busy_median = median(busy.clone());
    let busy_max = busy.iter().max().copied().unwrap_or_default();
    println!(
        "flood: {responses} responses ({} MB) in {flood_time:?}, {dropped} envelopes dropped as duplicates ({:.0}/s), \
         store grew {store_growth} bytes; VN peak RSS {peak} KiB (before the flood {peak_before} KiB, now {now_rss} KiB); \
         lookup median {quiet:?} quiet, {busy_median:?} under flood (max {busy_max:?}, factor {:.1}); \
         honest peer's entry arrived after {honest_delay:?}",
        responses * 38 / 10,
        dropped / flood_time.as_secs_f64(),
        busy_median.as_secs_f64() / quiet.as_secs_f64(),
    );
    assert!(dropped >= 900.0, "VN did not take the flood");
    assert!(peak < RSS_BOUND_KIB, "VN peak RSS {peak} KiB is over the {RSS_BOUND_KIB} KiB bound");

    // Afterwards the flooding peer's stream still works and nothing of the flood is held.
    fake.push(&[e.publish(domain("EVIL", "evil-after-flood-loker.co.id", 1))]);
    assert_eventually!(PATIENCE, found(&vn, "evil-after-flood-loker.co.id"));
    assert!(!found(&vn, "flood-0-loker.co.id"));
    drop(fake);
}
