//! Hostile peers cannot hurt a node, part two: stream and memory limits.
//! Black-box: real `jaring-node` processes on 127.0.0.1, driven through the
//! CLI, their audit log and their Prometheus `/metrics` (part one, the
//! refusal matrix and protocol violations, is `hostile.rs`).
//!
//! - A fake publisher (the generated `jaring.v1.Federation` server behind the
//!   node's own mTLS listener code) holds the identity of a peer "EVIL" that
//!   a real node "VN" subscribes to and floods it.
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

use jaring_node::tls::{self, NodeTlsFiles, OwnCert, TrustedPeer};
use jaring_node::wire::ToPb;
use jaring_proto::pb;
use jaring_proto::pb::federation_client::FederationClient;
use jaring_tests::fake_peer::Fake;
use jaring_tests::forge::{Origin, domain, indicator};
use jaring_tests::inspect::{PATIENCE, start_with_limits};
use jaring_tests::{TestNode, assert_eventually, link};
use prost::Message;
use tonic::Request;

/// Peak resident memory a subscriber may reach while a peer floods it
/// (documented in docs/threat-model.md with the measured figure).
const RSS_BOUND_KIB: u64 = 256 * 1024;

/// Peak and current resident set of a process, KiB.
fn rss_kib(pid: u32) -> (u64, u64) {
    jaring_tests::rss_kib(pid).unwrap()
}

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

/// Envelopes `node` has sent to `peer`, from its metrics.
fn sent_to(node: &TestNode, peer: &str) -> f64 {
    node.metric(&format!("jaring_envelopes_sent_total{{peer=\"{peer}\"}}"))
}

#[test]
fn a_publisher_bounds_streams_and_responses_and_a_stalled_reader_stalls_only_itself() {
    let mut a = start_with_limits("A", &[]);
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
    assert_eventually!(PATIENCE, b.found(&last_bulk));

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
    assert_eq!(a.metric("jaring_streams_refused_total{peer=\"RAW\"}"), 1.0);
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
            let now = sent_to(&a, "RAW");
            std::mem::replace(&mut last, now) == now
        },
        "the unread streams stop"
    );
    let unread_share = last - 3.0 * n as f64;
    assert!(unread_share < 3.0 * n as f64, "the stalled streams got {unread_share} of {} entries", 4 * n);

    // Meanwhile A acknowledges new indicators and B keeps receiving them.
    let to_b = sent_to(&a, "B");
    for i in 0..3 {
        let value = format!("during-stall-{i}-loker.co.id");
        a.add_domain(&value, "green").unwrap();
        assert_eventually!(PATIENCE, b.found(&value), "B receives {value} while RAW's streams are stalled");
    }
    assert!(sent_to(&a, "B") >= to_b + 3.0);
    assert_eq!(sent_to(&a, "RAW"), last, "the stalled streams stay stalled");
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
    let vn = start_with_limits("VN", &[]);
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
        vn.found("honest-before-flood-loker.co.id") && vn.found("evil-before-flood-loker.co.id")
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
    assert_eventually!(PATIENCE, vn.found("evil-big-loker.co.id"));
    let entries = (0..900).map(|_| pb::LogEntry { seq: 2, envelope: Some(big.to_pb()) }).collect::<Vec<_>>();
    let flood = pb::SubscribeResponse { entries, cursor: 2, head: 2 };
    assert!(flood.encoded_len() < 4 * 1024 * 1024);
    let dup = "jaring_envelopes_duplicate_total{peer=\"EVIL\"}";
    let dups_before = vn.metric(dup);
    let store_before = vn.metric("jaring_store_bytes");
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
        vn.found("honest-during-flood-loker.co.id"),
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
    let dropped = vn.metric(dup) - dups_before;
    let store_growth = vn.metric("jaring_store_bytes") - store_before;
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
    assert_eventually!(PATIENCE, vn.found("evil-after-flood-loker.co.id"));
    assert!(!vn.found("flood-0-loker.co.id"));
    drop(fake);
}
