//! Peers as witnesses, end to end: three real nodes that each cosign the
//! other two's checkpoints; an inclusion proof from a running node, against
//! a checkpoint its two witnesses cosigned, checked offline with nothing but
//! identity cards; and a node whose log is rewritten while stopped, caught
//! by both witnesses on its next checkpoint, with the evidence kept and the
//! refusal audited.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use jaring_tests::{TestNode, assert_eventually, link};
use serde_json::Value;

const PATIENCE: Duration = Duration::from_secs(60);

fn node(id: &str) -> TestNode {
    let mut n = TestNode::builder(id).http().init().unwrap();
    // Witnesses look every 250 ms (default: every second).
    n.set_config("log", "witness_interval_ms", "250").unwrap();
    n.set_config("log", "checkpoint_interval_ms", "250").unwrap();
    n.start().unwrap();
    n
}

fn log_status(n: &TestNode) -> Value {
    n.cli_json(&["status"]).unwrap()["log"].clone()
}

fn names(v: &Value) -> Vec<String> {
    let mut out: Vec<String> =
        v.as_array().into_iter().flatten().filter_map(|s| s.as_str().map(str::to_string)).collect();
    out.sort();
    out
}

/// Whether `n`'s latest checkpoint covers its whole log and carries the
/// cosignatures of exactly `witnesses`.
fn cosigned_by(n: &TestNode, witnesses: &[&str]) -> bool {
    let s = log_status(n);
    let cp = n.cli_json(&["log", "checkpoint"]).unwrap();
    s["tree_size"] == s["checkpoint_size"] && names(&cp["cosigned_by"]) == witnesses
}

#[test]
fn three_nodes_witness_each_other_and_catch_a_rewritten_log() {
    let id = node("ID");
    let vn = node("VN");
    let my = node("MY");
    link(&id, &vn, &[], &[]).unwrap();
    link(&id, &my, &[], &[]).unwrap();
    link(&vn, &my, &[], &[]).unwrap();
    for d in ["loker-jepang.co.id", "gaji-besar.example.com", "kerja-luar-negeri.example.net"] {
        id.add_domain(d, "green").unwrap();
    }
    vn.add_domain("viec-lam-nhat.example.vn", "green").unwrap();
    my.add_domain("kerja-kosong.example.my", "green").unwrap();

    // Every log holds all five entries, and each node's checkpoint of it is
    // cosigned by the other two.
    assert_eventually!(PATIENCE, [&id, &vn, &my].iter().all(|n| n.cli_json(&["status"]).unwrap()["log_head"] == 5));
    assert_eventually!(PATIENCE, cosigned_by(&id, &["MY", "VN"]), "ID: {}", log_status(&id));
    assert_eventually!(PATIENCE, cosigned_by(&vn, &["ID", "MY"]), "VN: {}", log_status(&vn));
    assert_eventually!(PATIENCE, cosigned_by(&my, &["ID", "VN"]), "MY: {}", log_status(&my));
    // Each shows the other two's logs as witnessed, at their full size.
    let witnessed = |n: &TestNode| -> Vec<(String, u64)> {
        let w = log_status(n)["witnessed"].clone();
        let mut peers: Vec<(String, u64)> = w
            .as_array()
            .into_iter()
            .flatten()
            .map(|x| (x["peer"].as_str().unwrap_or("").to_string(), x["size"].as_u64().unwrap_or(0)))
            .collect();
        peers.sort();
        peers
    };
    for (n, others) in [(&id, ["MY", "VN"]), (&vn, ["ID", "MY"]), (&my, ["ID", "VN"])] {
        let want = vec![(others[0].to_string(), 5), (others[1].to_string(), 5)];
        assert_eventually!(PATIENCE, witnessed(n) == want, "{}: {:?}", n.id, witnessed(n));
    }
    // The public checkpoint carries the same cosignatures.
    let served = jaring_tests::https::get(&id, "/log/checkpoint", None).unwrap();
    assert_eq!(served.status, 200);
    assert_eq!(served.text().matches("/witness ").count(), 2, "{}", served.text());

    // An inclusion proof for an indicator, made by the running node against
    // the checkpoint both witnesses cosigned, verifies offline with the
    // cards, and fails when any byte of the entry, proof or checkpoint
    // changes.
    let proof = id.dir().join("loker.tlog-proof");
    let proof_s = proof.to_str().unwrap();
    let made = id
        .cli_json(&["log", "prove", "loker-jepang.co.id", "--kind", "domain", "--require-cosigned", "--out", proof_s])
        .unwrap();
    assert_eq!(names(&made["cosigned_by"]), ["MY", "VN"]);
    let (card, vn_card, my_card) = (id.identity(), vn.identity(), my.identity());
    let (card, vn_card, my_card) = (card.to_str().unwrap(), vn_card.to_str().unwrap(), my_card.to_str().unwrap());
    let verify = |file: &str| {
        id.cli_output(&[
            "--json",
            "log",
            "verify-proof",
            file,
            "--identity",
            card,
            "--witness",
            vn_card,
            "--witness",
            my_card,
            "--quorum",
            "2",
        ])
        .unwrap()
    };
    let ok = verify(proof_s);
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    let v: Value = serde_json::from_slice(&ok.stdout).unwrap();
    assert_eq!(v["entry"]["value"], "loker-jepang.co.id");
    assert_eq!(v["entry"]["origin"], "ID");
    assert_eq!(v["witnesses"].as_array().map(Vec::len), Some(2));
    let text = std::fs::read(&proof).unwrap();
    let bad = id.dir().join("bad.tlog-proof");
    let step = (text.len() / 29).max(1);
    for at in (23..text.len() - 1).step_by(step) {
        let mut b = text.clone();
        if b[at] == b'\n' {
            continue;
        }
        b[at] = if b[at] == b'A' { b'B' } else { b'A' };
        std::fs::write(&bad, &b).unwrap();
        assert!(!verify(bad.to_str().unwrap()).status.success(), "byte {at} changed and the proof still verifies");
    }

    // ID's log is rewritten while it is stopped (two entries swapped, its
    // tree rebuilt from the rewritten log): ID starts and signs a checkpoint
    // of the same size with another root. Both witnesses refuse it, keep
    // both signed checkpoints, audit the refusal and show it in status.
    let mut id = id;
    id.stop().unwrap();
    jaring_tests::fork::rewrite_log(id.dir()).unwrap();
    id.start().unwrap();
    for w in [&vn, &my] {
        let forks = || log_status(w)["forks"].as_array().map_or(0, Vec::len);
        assert_eventually!(PATIENCE, forks() > 0, "{}: no fork found", w.id);
        let forks = log_status(w)["forks"].clone();
        assert_eq!(forks.as_array().map(Vec::len), Some(1), "{forks}");
        assert_eq!(forks[0]["peer"], "ID");
        assert_eq!(forks[0]["origin"], "id.jaring.local/log");
        assert_eq!(forks[0]["kind"], "same_size_different_root");
        let audit = w.cli_json(&["audit", "list", "--peer", "ID"]).unwrap();
        assert!(
            audit.as_array().unwrap().iter().any(|e| e["reason"] == "log_fork"),
            "no log_fork refusal audited: {audit}"
        );
        assert_eq!(w.metric("jaring_log_forks_detected"), 1.0);
        // The witness still holds the checkpoint it cosigned before.
        let witnessed = log_status(w)["witnessed"].clone();
        let of_id = witnessed.as_array().unwrap().iter().find(|x| x["peer"] == "ID").cloned().unwrap();
        assert_eq!(of_id["size"], 5);
    }
    // Both refused ID's rewritten checkpoint: it carries no cosignature.
    let cp = id.cli_json(&["log", "checkpoint"]).unwrap();
    assert_eq!(cp["size"], 5);
    assert_eq!(names(&cp["cosigned_by"]), Vec::<String>::new());
}
