//! Several nodes: agreements, relay, catch-up, trust changes, restarts.

use std::time::Duration;

use jaring_tests::{TestNode, assert_eventually, link};

const PATIENCE: Duration = Duration::from_secs(20);

fn count_from(node: &TestNode, origin: &str) -> u64 {
    let Ok(s) = node.cli_json(&["status"]) else { return 0 };
    s["origins"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|o| o["origin"] == origin)
        .and_then(|o| o["indicators"].as_u64())
        .unwrap_or(0)
}

fn head_of(node: &TestNode, origin: &str) -> u64 {
    let Ok(s) = node.cli_json(&["status"]) else { return 0 };
    s["origins"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|o| o["origin"] == origin)
        .and_then(|o| o["head_seq"].as_u64())
        .unwrap_or(0)
}

fn write_csv(dir: &std::path::Path, prefix: &str, n: usize) -> anyhow::Result<std::path::PathBuf> {
    use std::io::Write;
    let path = dir.join(format!("{prefix}.csv"));
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path)?);
    writeln!(f, "kind,value,categories,tlp,confidence")?;
    for i in 0..n {
        writeln!(f, "domain,{prefix}-{i}.penipuan.co.id,job_scam,green,70")?;
    }
    f.flush()?;
    Ok(path)
}

/// Three nodes set up from the CLI alone: ID shares with VN, VN relays to
/// MY, MY trusts ID's keys as a member.
#[test]
fn a_line_shares_by_agreement() -> anyhow::Result<()> {
    let id = TestNode::builder("ID").region("ID").start()?;
    let vn = TestNode::builder("VN").region("VN").federation_key_of(&id).start()?;
    let my = TestNode::builder("MY").region("MY").federation_key_of(&id).start()?;
    link(&id, &vn, &["--share-max-tlp", "green"], &[])?;
    link(&vn, &my, &["--relay"], &[])?;
    my.add_peer(&id, &["--member-only", "--trust", "trusted"])?;

    id.add_domain("green-job-scam.co.id", "green")?;
    id.add_domain("amber-investment.co.id", "amber")?;
    id.add_domain("red-operation.co.id", "red")?;
    id.cli(&[
        "indicator",
        "add",
        "--kind",
        "domain",
        "--value",
        "direct-only.co.id",
        "--category",
        "job_scam",
        "--tlp",
        "green",
        "--distribution",
        "direct",
    ])?;
    id.add_domain("last-marker.co.id", "green")?;

    assert_eventually!(PATIENCE, my.lookup_found("last-marker.co.id").unwrap_or(false));
    assert!(vn.lookup_found("green-job-scam.co.id")?);
    assert_eq!(my.origins_of("green-job-scam.co.id", "domain")?, vec!["ID"], "relayed with the origin's signature");
    assert!(vn.lookup_found("direct-only.co.id")?, "direct reaches direct peers");
    assert!(!my.lookup_found("direct-only.co.id")?, "direct is never relayed");
    for node in [&vn, &my] {
        assert!(!node.lookup_found("amber-investment.co.id")?, "AMBER above the GREEN agreement");
        assert!(!node.lookup_found("red-operation.co.id")?, "RED never leaves");
    }
    // Raising the agreement to AMBER applies without restart, to what is
    // published from then on (the subscriber's cursor is already past the
    // earlier AMBER entry).
    id.cli(&["peer", "set", "VN", "--share-max-tlp", "amber"])?;
    id.add_domain("amber-after-change.co.id", "amber")?;
    id.add_domain("after-change.co.id", "green")?;
    assert_eventually!(PATIENCE, vn.lookup_found("amber-after-change.co.id").unwrap_or(false));
    assert_eventually!(PATIENCE, my.lookup_found("after-change.co.id").unwrap_or(false));
    assert!(!vn.lookup_found("amber-investment.co.id")?, "history is not re-sent");
    assert!(!my.lookup_found("amber-after-change.co.id")?, "VN's agreement with MY still stops at GREEN");
    assert!(!vn.lookup_found("red-operation.co.id")?);
    Ok(())
}

#[test]
fn a_stopped_subscriber_catches_up() -> anyhow::Result<()> {
    let id = TestNode::builder("ID").start()?;
    let mut vn = TestNode::builder("VN").start()?;
    link(&id, &vn, &[], &[])?;
    id.add_domain("before.co.id", "green")?;
    assert_eventually!(PATIENCE, vn.lookup_found("before.co.id").unwrap_or(false));
    vn.stop()?;
    let csv = write_csv(id.dir(), "offline", 10_000)?;
    let report = id.cli_json(&["indicator", "import", csv.to_str().unwrap_or_default()])?;
    assert_eq!(report["stored"], 10_000, "{report}");
    vn.start()?;
    assert_eventually!(Duration::from_secs(60), count_from(&vn, "ID") == 10_001);
    assert!(vn.lookup_found("offline-9999.penipuan.co.id")?);
    Ok(())
}

#[test]
fn removing_a_peer_cuts_its_stream() -> anyhow::Result<()> {
    let id = TestNode::builder("ID").start()?;
    let vn = TestNode::builder("VN").start()?;
    link(&id, &vn, &[], &[])?;
    id.add_domain("while-peered.co.id", "green")?;
    assert_eventually!(PATIENCE, vn.lookup_found("while-peered.co.id").unwrap_or(false));
    let streams = |n: &TestNode, peer: &str| -> u64 {
        n.cli_json(&["status"])
            .ok()
            .and_then(|s| {
                s["peers"]
                    .as_array()?
                    .iter()
                    .find(|p| p["node_id"] == peer)
                    .and_then(|p| p["outbound_streams"].as_u64())
            })
            .unwrap_or(0)
    };
    assert_eventually!(PATIENCE, streams(&id, "VN") == 1);
    id.cli(&["peer", "remove", "VN"])?;
    // VN's open stream on ID ends at once, and its reconnects are refused.
    assert_eventually!(
        Duration::from_secs(2),
        vn.cli_json(&["status"]).map(|s| s["peers"][0]["state"] != "connected").unwrap_or(false)
    );
    id.add_domain("after-removal.co.id", "green")?;
    std::thread::sleep(Duration::from_millis(1500));
    assert!(!vn.lookup_found("after-removal.co.id")?);
    let audit_trail = id.log();
    assert!(!audit_trail.contains("panicked"), "{audit_trail}");
    Ok(())
}

#[test]
fn blocking_a_peer_refuses_it() -> anyhow::Result<()> {
    let id = TestNode::builder("ID").start()?;
    let vn = TestNode::builder("VN").start()?;
    link(&id, &vn, &[], &[])?;
    id.add_domain("first.co.id", "green")?;
    assert_eventually!(PATIENCE, vn.lookup_found("first.co.id").unwrap_or(false));
    id.cli(&["peer", "set", "VN", "--trust", "blocked"])?;
    id.add_domain("second.co.id", "green")?;
    std::thread::sleep(Duration::from_millis(1500));
    assert!(!vn.lookup_found("second.co.id")?, "a blocked peer gets nothing");
    id.cli(&["peer", "set", "VN", "--trust", "trusted"])?;
    assert_eventually!(PATIENCE, vn.lookup_found("second.co.id").unwrap_or(false));
    Ok(())
}

#[test]
fn restarting_the_publisher_mid_stream_loses_nothing() -> anyhow::Result<()> {
    let mut id = TestNode::builder("ID").start()?;
    let vn = TestNode::builder("VN").start()?;
    link(&id, &vn, &[], &[])?;
    let csv = write_csv(id.dir(), "burst", 5_000)?;
    id.cli(&["indicator", "import", csv.to_str().unwrap_or_default()])?;
    // Kill the publisher while VN is still catching up, then bring it back.
    assert_eventually!(PATIENCE, count_from(&vn, "ID") > 0);
    id.kill9();
    std::thread::sleep(Duration::from_millis(300));
    id.start()?;
    id.add_domain("after-restart.co.id", "green")?;
    assert_eventually!(Duration::from_secs(60), count_from(&vn, "ID") == 5_001);
    assert_eq!(head_of(&vn, "ID"), 5_001);
    Ok(())
}

#[test]
fn revocations_propagate() -> anyhow::Result<()> {
    let id = TestNode::builder("ID").start()?;
    let vn = TestNode::builder("VN").start()?;
    link(&id, &vn, &[], &[])?;
    let rec = id.add_domain("to-be-revoked.co.id", "green")?;
    assert_eventually!(PATIENCE, vn.lookup_found("to-be-revoked.co.id").unwrap_or(false));
    // Only the origin withdraws its indicator.
    let at_vn = vn.cli_output(&["indicator", "revoke", rec["id"].as_str().unwrap_or_default()])?;
    assert!(!at_vn.status.success());
    assert!(String::from_utf8_lossy(&at_vn.stderr).contains("revokes only its own"), "{at_vn:?}");
    id.cli(&["indicator", "revoke", rec["id"].as_str().unwrap_or_default()])?;
    assert_eventually!(
        PATIENCE,
        vn.cli_json(&["lookup", "to-be-revoked.co.id"]).map(|v| v["views"][0]["status"] == "revoked").unwrap_or(false)
    );
    Ok(())
}

/// A ring A-B-C-D-A where everyone relays: everything arrives once, nothing
/// loops.
#[test]
fn a_ring_has_no_duplicates_or_loops() -> anyhow::Result<()> {
    let a = TestNode::builder("A").start()?;
    let b = TestNode::builder("B").start()?;
    let c = TestNode::builder("C").start()?;
    let d = TestNode::builder("D").start()?;
    let ring = [&a, &b, &c, &d];
    for i in 0..4 {
        link(ring[i], ring[(i + 1) % 4], &["--relay"], &["--relay"])?;
    }
    // C is two hops from A either way: it needs A's keys as a member.
    c.add_peer(&a, &["--member-only", "--trust", "trusted"])?;
    a.add_peer(&c, &["--member-only", "--trust", "trusted"])?;
    b.add_peer(&d, &["--member-only", "--trust", "trusted"])?;
    d.add_peer(&b, &["--member-only", "--trust", "trusted"])?;
    for i in 0..20 {
        a.add_domain(&format!("ring-{i}.co.id"), "green")?;
    }
    assert_eventually!(PATIENCE, count_from(&c, "A") == 20);
    // Let any duplicate or looping copy arrive, then count log entries.
    std::thread::sleep(Duration::from_millis(1500));
    for n in [&b, &c, &d] {
        let s = n.cli_json(&["status"])?;
        assert_eq!(count_from(n, "A"), 20, "{}", n.id);
        let log_head = s["log_head"].as_u64().unwrap_or(0);
        assert_eq!(log_head, 20, "{}: every entry stored exactly once", n.id);
    }
    assert_eq!(a.cli_json(&["status"])?["log_head"], 20, "nothing looped back to the origin");
    Ok(())
}

/// A star: the hub relays between leaves.
#[test]
fn a_star_relays_through_its_hub() -> anyhow::Result<()> {
    let hub = TestNode::builder("HUB").start()?;
    let leaves: Vec<TestNode> =
        ["L1", "L2", "L3"].iter().map(|id| TestNode::builder(id).start()).collect::<Result<_, _>>()?;
    for leaf in &leaves {
        link(&hub, leaf, &["--relay"], &[])?;
    }
    for x in &leaves {
        for y in &leaves {
            if x.id != y.id {
                x.add_peer(y, &["--member-only", "--trust", "trusted"])?;
            }
        }
    }
    leaves[0].add_domain("from-leaf-one.co.id", "green")?;
    for leaf in &leaves[1..] {
        assert_eventually!(PATIENCE, leaf.lookup_found("from-leaf-one.co.id").unwrap_or(false));
        assert_eq!(leaf.origins_of("from-leaf-one.co.id", "domain")?, vec!["L1"]);
    }
    Ok(())
}
