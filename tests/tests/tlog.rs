//! The transparency log of a real node, end to end and offline: indicators
//! added to a running `jaring-node`, the node stopped, an inclusion proof
//! made from its store (`jaring log prove --offline`) and verified with
//! nothing but the node's identity card (`jaring log verify-proof`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use jaring_tests::TestNode;

#[test]
fn an_inclusion_proof_from_a_stopped_node_verifies_offline_and_fails_on_any_change() {
    let mut node = TestNode::builder("ID").start().unwrap();
    for d in ["loker-jepang.co.id", "gaji-besar.example.com", "kerja-luar-negeri.example.net"] {
        node.add_domain(d, "green").unwrap();
    }
    node.stop().unwrap();

    let cp = node.cli_json(&["log", "checkpoint", "--offline"]).unwrap();
    assert_eq!(cp["origin"], "id.jaring.local/log");
    let size = cp["size"].as_u64().unwrap();
    assert!(size >= 3, "{cp}");
    // Refused without --offline until the node serves /log/.
    assert!(!node.cli_output(&["log", "checkpoint"]).unwrap().status.success());

    let proof = node.dir().join("last.tlog-proof");
    let proof_s = proof.to_str().unwrap();
    let last = size.to_string();
    node.cli(&["log", "prove", &last, "--offline", "--out", proof_s]).unwrap();
    let card = node.identity();
    let card_s = card.to_str().unwrap();
    let v = node.cli_json(&["log", "verify-proof", proof_s, "--identity", card_s]).unwrap();
    assert_eq!(v["verified"], true);
    assert_eq!(v["tree_size"].as_u64(), Some(size));
    assert_eq!(v["root"], cp["root"]);
    assert_eq!(v["entry"]["origin"], "ID");
    assert_eq!(v["entry"]["value"], "kerja-luar-negeri.example.net");

    // Any changed byte of the file (entry, proof, checkpoint, signature).
    let text = std::fs::read(&proof).unwrap();
    let bad = node.dir().join("bad.tlog-proof");
    let step = (text.len() / 23).max(1);
    for at in (30..text.len() - 1).step_by(step) {
        let mut b = text.clone();
        if b[at] == b'\n' {
            continue;
        }
        b[at] = if b[at] == b'A' { b'B' } else { b'A' };
        std::fs::write(&bad, &b).unwrap();
        let out = node.cli_output(&["log", "verify-proof", bad.to_str().unwrap(), "--identity", card_s]).unwrap();
        assert!(!out.status.success(), "byte {at} changed and the proof still verifies");
    }
    assert!(!node.cli_output(&["log", "prove", "999999", "--offline"]).unwrap().status.success());
}
