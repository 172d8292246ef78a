//! Crash safety: nodes SIGKILLed at random moments during ingest, from the
//! CLI (the origin) and from a peer stream (the subscriber), lose nothing
//! they acknowledged, keep a gap-free log and intact origin chains, and the
//! subscriber resumes with nothing lost and nothing applied twice.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jaring_node::envelope::GENESIS_HASH;
use jaring_node::store::{Keyspace, layout};
use jaring_tests::{Rng, TestNode, assert_eventually, link};

fn listed(node: &TestNode) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut after = 0u64;
    loop {
        let page =
            node.cli_json(&["indicator", "list", "--limit", "5000", "--after", &after.to_string()]).unwrap_or_default();
        let Some(rows) = page.as_array().filter(|r| !r.is_empty()) else { break };
        for r in rows {
            out.insert(r["value"].as_str().unwrap_or_default().to_string());
            after = after.max(r["local_seq"].as_u64().unwrap_or(0));
        }
    }
    out
}

/// Checks a stopped node's store: log positions dense from 1, every origin's
/// held entries chained by prev_hash, heads matching. Returns entries per origin.
fn check_store(node: &TestNode) -> std::collections::BTreeMap<String, u64> {
    let store = jaring_node::store::open_existing(&node.dir().join("db"), 16).expect("open store");
    for (expected, r) in (1u64..).zip(store.scan_prefix(Keyspace::Log, b"")) {
        let (k, _) = r.expect("read log");
        assert_eq!(layout::read_u64(&k), Some(expected), "{}: log has a gap", node.id);
    }
    let mut per_origin = std::collections::BTreeMap::new();
    let mut prev: Option<(String, u64, [u8; 32])> = None;
    for r in store.scan_prefix(Keyspace::OriginSeq, b"") {
        let (k, v) = r.expect("read chain");
        let split = k.iter().position(|&b| b == 0).expect("origin separator");
        let origin = String::from_utf8(k[..split].to_vec()).expect("utf8");
        let seq = layout::read_u64(&k[split + 1..]).expect("seq");
        let entry = layout::OriginEntry::decode(&v).expect("entry");
        match &prev {
            Some((o, s, h)) if *o == origin => {
                assert_eq!(seq, s + 1, "{}: origin {origin} has a gap at {seq}", node.id);
                assert_eq!(entry.prev_hash, *h, "{}: origin {origin} chain broken at {seq}", node.id);
            }
            _ => {
                assert_eq!(seq, 1, "{}: origin {origin} starts at {seq}", node.id);
                assert_eq!(entry.prev_hash, GENESIS_HASH);
            }
        }
        *per_origin.entry(origin.clone()).or_insert(0u64) += 1;
        prev = Some((origin, seq, entry.hash));
    }
    for (origin, n) in &per_origin {
        let head = store.get(Keyspace::Heads, origin.as_bytes()).expect("head").and_then(|v| layout::Head::decode(&v));
        assert_eq!(head.map(|h| h.seq), Some(*n), "{}: head of {origin}", node.id);
    }
    per_origin
}

#[test]
fn kills_during_ingest_lose_nothing_acknowledged() -> anyhow::Result<()> {
    let rounds: u64 = std::env::var("JARING_CRASH_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(20);
    let mut rng = Rng::from_clock();
    let seed = rng.0;
    println!("crash test seed {seed}, {rounds} rounds");
    let mut id = TestNode::builder("ID").start()?;
    let mut vn = TestNode::builder("VN").start()?;
    link(&id, &vn, &[], &[])?;
    let acknowledged = Arc::new(Mutex::new(BTreeSet::new()));
    let mut counter = 0u64;
    for round in 0..rounds {
        // Writers: one indicator per CLI call; a value counts once the CLI
        // reported success (the node acknowledged it durable).
        let stop = Arc::new(AtomicBool::new(false));
        let writer = {
            let (stop, acked) = (stop.clone(), acknowledged.clone());
            let dir = id.dir().to_path_buf();
            let start = counter;
            std::thread::spawn(move || {
                let mut n = start;
                while !stop.load(Ordering::Relaxed) {
                    let value = format!("crash-{n}.penipuan.co.id");
                    let ok = jaring_tests::cli_add_domain(&dir, &value);
                    if ok {
                        acked.lock().unwrap_or_else(|p| p.into_inner()).insert(value);
                    }
                    n += 1;
                }
                n
            })
        };
        std::thread::sleep(Duration::from_millis(rng.between(150, 700)));
        // Alternate: kill the origin mid-CLI-ingest, or the subscriber mid-stream.
        let victim = if round % 2 == 0 { &mut id } else { &mut vn };
        victim.kill9();
        stop.store(true, Ordering::Relaxed);
        counter = writer.join().unwrap_or(counter + 1000);
        std::thread::sleep(Duration::from_millis(rng.between(0, 200)));
        victim.start()?;
        if victim.id == "ID" {
            let have = listed(&id);
            let acked = acknowledged.lock().unwrap_or_else(|p| p.into_inner()).clone();
            let lost: Vec<_> = acked.difference(&have).collect();
            assert!(lost.is_empty(), "round {round} (seed {seed}): ID lost acknowledged {lost:?}");
        }
    }
    let acked = acknowledged.lock().unwrap_or_else(|p| p.into_inner()).clone();
    assert!(acked.len() as u64 > rounds, "the writers made progress ({} acknowledged)", acked.len());
    // The subscriber converges on everything the origin holds.
    let at_id = listed(&id);
    assert!(at_id.is_superset(&acked));
    assert_eventually!(
        Duration::from_secs(60),
        listed(&vn) == at_id,
        "VN converges on ID's {} indicators",
        at_id.len()
    );
    id.stop()?;
    vn.stop()?;
    let id_chains = check_store(&id);
    let vn_chains = check_store(&vn);
    assert_eq!(vn_chains.get("ID"), id_chains.get("ID"), "VN holds each of ID's entries exactly once");
    Ok(())
}
