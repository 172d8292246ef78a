//! Hostile peers cannot hurt a node, part one: the envelope refusal matrix
//! and protocol violations. Black-box: real `jaring-node` processes on
//! 127.0.0.1, driven through the CLI, their audit log and their Prometheus
//! `/metrics` (part two, stream and memory limits, is `hostile_streams.rs`).
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

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use jaring_node::envelope::{self, Entry, EnvelopeBody, KeyEvent};
use jaring_node::keys::SigningKey;
use jaring_node::model::now_ms;
use jaring_node::wire::ToPb;
use jaring_proto::pb;
use jaring_tests::fake_peer::{Fake, Out};
use jaring_tests::forge::{Origin, domain, garbage, sign_bytes};
use jaring_tests::inspect::{PATIENCE, Refusal, assert_refused, rejected_metric, start_with_limits};
use jaring_tests::{Rng, TestNode, assert_eventually};

// --- the refusal matrix, stream continues ---------------------------------------

#[test]
fn refused_envelopes_are_audited_counted_and_harmless_and_the_stream_goes_on() {
    let evil = TestNode::builder("EVIL").init().unwrap();
    let my = TestNode::builder("MY").init().unwrap(); // X: a real third member
    let th = TestNode::builder("TH").init().unwrap(); // Y: another member
    let vn = start_with_limits("VN", &[("max_seq_gap", "100")]);
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
    assert_eventually!(PATIENCE, vn.found("versioned-loker.co.id") && vn.found("relayed-my-loker.co.id"));
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
        assert_eventually!(PATIENCE, vn.found(&value), "{case}: the stream goes on");
    };

    // Tampered body: a byte of a validly signed body changed.
    let good = e.next(domain("EVIL", "tampered-aaaa-loker.co.id", 1));
    let mut tampered = good.clone();
    let at = tampered.body.windows(13).position(|w| w == b"tampered-aaaa").unwrap();
    tampered.body[at + 12] = b'b';
    let r =
        Refusal { case: "tampered_body", reason: "bad_signature", origin: Some("EVIL"), origin_seq: Some(e.seq + 1) };
    assert_refused(&vn, "EVIL", &r, || fake.push(&[tampered]));
    assert!(!vn.found("tampered-aaab-loker.co.id") && !vn.found("tampered-aaaa-loker.co.id"));
    next_valid(&mut e, r.case);

    // A body claiming origin MY signed with EVIL's own key.
    let body = x.next_body(domain("MY", "claimed-by-evil-loker.co.id", 1));
    let r = Refusal {
        case: "origin_claimed_signed_by_sender",
        reason: "origin_mismatch",
        origin: Some("MY"),
        origin_seq: Some(x.seq + 1),
    };
    assert_refused(&vn, "EVIL", &r, || fake.push(&[jaring_node::signing::sign(&body, &e.key)]));
    next_valid(&mut e, r.case);

    // A body claiming origin MY signed with member TH's key.
    let body = x.next_body(domain("MY", "claimed-by-th-loker.co.id", 1));
    let r = Refusal {
        case: "origin_claimed_signed_by_other_member",
        reason: "origin_mismatch",
        origin: Some("MY"),
        origin_seq: Some(x.seq + 1),
    };
    assert_refused(&vn, "EVIL", &r, || fake.push(&[jaring_node::signing::sign(&body, &y.key)]));
    next_valid(&mut e, r.case);

    // MY's revoked key, signing after its revocation time.
    let body = x.next_body(domain("MY", "signed-with-revoked-key-loker.co.id", 1));
    let r = Refusal { case: "revoked_key", reason: "key_revoked", origin: Some("MY"), origin_seq: Some(x.seq + 1) };
    assert_refused(&vn, "EVIL", &r, || fake.push(&[jaring_node::signing::sign(&body, &stolen)]));
    next_valid(&mut e, r.case);

    // An origin nobody here knows, with its own key.
    let zz = Origin::with_key("ZZ", SigningKey::generate(now_ms() - 1));
    let r = Refusal { case: "unknown_origin", reason: "unknown_key", origin: Some("ZZ"), origin_seq: Some(1) };
    assert_refused(&vn, "EVIL", &r, || fake.push(&[zz.next(domain("ZZ", "unknown-origin-loker.co.id", 1))]));
    next_valid(&mut e, r.case);

    // An older version of an indicator VN holds at version 2, at a new sequence number.
    let r =
        Refusal { case: "stale_version", reason: "stale_version", origin: Some("EVIL"), origin_seq: Some(e.seq + 1) };
    assert_refused(&vn, "EVIL", &r, || fake.push(&[e.next(domain("EVIL", "versioned-loker.co.id", 1))]));
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
    let forks_before = vn.forks();
    let r = Refusal { case: "fork", reason: "fork", origin: Some("EVIL"), origin_seq: Some(2) };
    assert_refused(&vn, "EVIL", &r, || fake.push(&[fork]));
    assert_eq!(vn.forks(), forks_before + 1, "the fork is kept as evidence");
    assert!(vn.found("evil-2-loker.co.id") && !vn.found("forked-loker.co.id"));
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
    assert_refused(&vn, "EVIL", &r, || fake.push(&[jaring_node::signing::sign(&far, &e.key)]));
    next_valid(&mut e, r.case);

    // Random bytes as the body, validly signed: the signature holds, decoding does not.
    let r = Refusal { case: "random_body", reason: "malformed_body", origin: None, origin_seq: None };
    assert_refused(&vn, "EVIL", &r, || fake.push(&[sign_bytes(&evil, garbage(&mut rng, 300))]));
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
    assert_refused(&vn, "EVIL", &r, || fake.push(&[short]));
    next_valid(&mut e, r.case);

    // An exact replay of something VN holds: dropped as a duplicate, which
    // at-least-once delivery makes normal, so counted but not audited.
    let before = vn.state_snapshot();
    let audited = vn.rejections("EVIL").len();
    let dup = "jaring_envelopes_duplicate_total{peer=\"EVIL\"}";
    let dups = vn.metric(dup);
    fake.push(&[e.held[0].clone()]);
    assert_eventually!(PATIENCE, vn.metric(dup) == dups + 1.0, "replay: counted as a duplicate");
    assert_eq!(vn.rejections("EVIL").len(), audited, "a duplicate is not a rejection");
    assert_eq!(vn.state_snapshot(), before, "replay: the store changed");
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
    let vn = start_with_limits("VN", &[("max_message_bytes", "65536"), ("max_batch", "16")]);
    vn.add_peer(&evil, &["--trust", "trusted"]).unwrap();
    let fake = Fake::start(&evil, &vn, true);
    let mut e = Origin::of(&evil);
    let mut rng = Rng::from_clock();
    fake.push(&[e.publish(domain("EVIL", "first-loker.co.id", 1))]);
    assert_eventually!(PATIENCE, vn.found("first-loker.co.id"));

    // Each case: refused and audited (no origin: the response as a whole),
    // the stream closed (VN subscribes again from the cursor it had), and a
    // valid envelope applied on the new stream.
    let closes = |e: &mut Origin, case: &str, reason: &str, bad: Out| {
        let subscribes = fake.subscribes();
        // VN has applied the fake's whole log: its cursor is the log's length.
        let cursor = fake.state.log.lock().unwrap().len() as u64;
        let r = Refusal { case, reason, origin: None, origin_seq: None };
        assert_refused(&vn, "EVIL", &r, || fake.poison(bad.clone()));
        assert_eventually!(PATIENCE, fake.subscribes().len() > subscribes.len(), "{case}: VN closes and reconnects");
        assert_eq!(fake.subscribes()[subscribes.len()], cursor, "{case}: resumed from the same cursor");
        let value = format!("after-{}-loker.co.id", case.replace('_', "-"));
        fake.push(&[e.publish(domain("EVIL", &value, 1))]);
        assert_eventually!(PATIENCE, vn.found(&value), "{case}: a valid envelope applies afterwards");
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
    assert!(values.iter().all(|v| !vn.found(v)), "nothing of a refused batch is stored");

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
    let vn = start_with_limits("VN", &limits);
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
    assert_eventually!(PATIENCE, vn.found(&last), "every entry arrives, only slower");
    let elapsed = fake.state.first_send.lock().unwrap().unwrap().elapsed();
    let held = vn.cli_json(&["indicator", "list", "--origin", "EVIL", "--limit", "10000"]).unwrap();
    assert_eq!(held.as_array().unwrap().len(), n);
    // 100 at once, then 400/s: the other 800 take at least 2 s.
    assert!(elapsed >= Duration::from_millis(1950), "{n} entries applied in {elapsed:?}");
    let throttled = vn.metric("jaring_peer_throttled_seconds_total{peer=\"EVIL\",limit=\"entries\"}");
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
    let refused_before = vn.metric(&rejected_metric("bad_signature"));
    *fake.state.flood.lock().unwrap() = Some(pb::SubscribeResponse { entries: bad, cursor: n as u64, head: n as u64 });
    fake.state.wake.notify_waiters();
    let started = Instant::now();
    std::thread::sleep(Duration::from_secs(3));
    let refused = vn.metric(&rejected_metric("bad_signature")) - refused_before;
    let window = started.elapsed().as_secs_f64();
    *fake.state.flood.lock().unwrap() = None;
    // Burst, plus one response applied before its wait, plus the rate.
    let bound = 50.0 + 50.0 + 20.0 * window;
    assert!(refused >= 50.0, "the refusals were not taken: {refused}");
    assert!(refused <= bound, "{refused} refusals in {window:.1} s, more than {bound}");
    let throttled = vn.metric("jaring_peer_throttled_seconds_total{peer=\"EVIL\",limit=\"refusals\"}");
    assert!(throttled > 0.0);
    println!(
        "refusal flood: {refused} refused in {window:.1} s (bound {bound:.0}); {} responses offered",
        fake.state.flood_sent.load(Ordering::Relaxed)
    );
    drop(fake);
}

// --- the publisher side: streams, sizes, slow readers -------------------------------
