//! The transparency log of a real node, end to end: indicators added to a
//! running `jaring-node`, the node stopped, an inclusion proof made from its
//! store (`jaring log prove --offline`) and verified with nothing but the
//! node's identity card (`jaring log verify-proof`); and a running node's
//! `/log/` on HTTPS (checkpoint, hash tiles, entry bundles for tokens that
//! see every entry, `add-checkpoint` with the statuses of C2SP
//! tlog-witness).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

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
    // Without --offline the CLI asks the running node; it is stopped.
    assert!(!node.cli_output(&["log", "checkpoint"]).unwrap().status.success());
    // The offline tree is the one the node kept in its commits: the
    // checkpoint it signed while running has the same size and root.
    let stored = jaring_node::store::open_existing(&node.dir().join("db"), 8).unwrap();
    let signed = jaring_node::store::Tables::own_checkpoint(&stored).unwrap().unwrap();
    drop(stored);
    let signed = jaring_node::tlog::checkpoint::parse_own(signed.as_bytes()).unwrap();
    assert_eq!(signed.checkpoint.size, size);
    assert_eq!(signed.checkpoint.root.to_base64(), cp["root"].as_str().unwrap());

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

#[test]
fn a_running_node_serves_its_log_on_https() {
    use jaring_node::tlog::merkle::{self, leaf_hash};
    use jaring_node::tlog::tile::decode_bundle;
    use jaring_node::tlog::tree::{MemoryTiles, TileNodes};
    use jaring_tests::https::{get, request};

    let mut id = TestNode::builder("ID").http().init().unwrap();
    id.set_config("log", "checkpoint_interval_ms", "100").unwrap();
    id.start().unwrap();
    let vn = TestNode::builder("VN").start().unwrap();
    jaring_tests::link(&id, &vn, &[], &[]).unwrap();
    for d in ["loker-jepang.co.id", "gaji-besar.example.com"] {
        id.add_domain(d, "green").unwrap();
    }
    vn.add_domain("viec-lam-nhat.example.vn", "green").unwrap();
    let card = id.identity();
    let url = format!("https://127.0.0.1:{}/log", id.http_port.unwrap());
    // The checkpoint over HTTPS, checked with the card (its CA, TLS name, keys).
    let fetched = || id.cli_json(&["log", "checkpoint", "--url", &url, "--identity", card.to_str().unwrap()]).unwrap();
    jaring_tests::assert_eventually!(Duration::from_secs(30), fetched()["size"] == 3, "{}", fetched());
    assert_eq!(fetched()["verified"], true);
    let cp = get(&id, "/log/checkpoint", None).unwrap();
    assert_eq!(cp.status, 200);
    assert_eq!(cp.header("content-type"), Some("text/plain; charset=utf-8"));
    assert_eq!(cp.header("cache-control"), Some("public, max-age=2"));
    let signed = jaring_node::tlog::checkpoint::parse_own(&cp.body).unwrap();
    assert_eq!((signed.checkpoint.origin.as_str(), signed.checkpoint.size), ("id.jaring.local/log", 3));

    // The hash tile of three leaves reproduces the root; wider or full
    // tiles are not there yet.
    let tile = get(&id, "/log/tile/0/000.p/3", None).unwrap();
    assert_eq!(tile.status, 200);
    assert_eq!(tile.header("content-type"), Some("application/octet-stream"));
    assert_eq!(tile.header("cache-control"), Some("public, max-age=31536000, immutable"));
    assert_eq!(tile.body.len(), 3 * 32);
    let mut tiles = MemoryTiles::new();
    tiles.insert(0, 0, tile.body.clone());
    assert_eq!(merkle::root(&TileNodes::new(&tiles), 3).unwrap(), signed.checkpoint.root);
    assert_eq!(get(&id, "/log/tile/0/000.p/2", None).unwrap().body, tile.body[..64].to_vec());
    for missing in ["/log/tile/0/000.p/4", "/log/tile/0/000", "/log/tile/1/000.p/1", "/log/tile/0/0.p/3"] {
        assert_eq!(get(&id, missing, None).unwrap().status, 404, "{missing}");
    }

    // Entry bundles: every entry, so only for a token that sees every entry.
    let bundle_path = "/log/tile/entries/000.p/3";
    assert_eq!(get(&id, bundle_path, None).unwrap().status, 401);
    let green = id.cli(&["token", "create", "platform", "--max-tlp", "green"]).unwrap().trim().to_string();
    assert_eq!(get(&id, bundle_path, Some(&green)).unwrap().status, 403);
    let red = id.cli(&["token", "create", "auditor", "--max-tlp", "red", "--allow-red"]).unwrap().trim().to_string();
    let admin = std::fs::read_to_string(id.dir().join("admin.token")).unwrap().trim().to_string();
    for token in [&red, &admin] {
        let b = get(&id, bundle_path, Some(token)).unwrap();
        assert_eq!(b.status, 200);
        let entries = decode_bundle(&b.body).unwrap();
        assert_eq!(entries.len(), 3);
        let leaves: Vec<u8> = entries.iter().flat_map(|e| leaf_hash(e).0).collect();
        assert_eq!(leaves, tile.body, "each entry hashes to its leaf");
    }

    // add-checkpoint: ID as a witness of VN's log (ID follows VN, so it
    // cosigned VN's checkpoint already).
    let vn_checkpoint = || vn.cli_json(&["log", "checkpoint"]).unwrap();
    let cosigned_once =
        |c: &serde_json::Value| c["size"] == 3 && c["cosigned_by"].as_array().is_some_and(|a| a.len() == 1);
    jaring_tests::assert_eventually!(Duration::from_secs(30), cosigned_once(&vn_checkpoint()), "{}", vn_checkpoint());
    let vn_cp = vn_checkpoint()["checkpoint"].as_str().unwrap().to_string();
    let post = |body: &str| request(&id, "POST", "/log/add-checkpoint", &[], body.as_bytes()).unwrap();
    assert_eq!(post("garbage").status, 400);
    assert_eq!(post(&format!("old 0\n\n{}", cp.text())).status, 404, "ID does not witness itself");
    let conflict = post(&format!("old 0\n\n{vn_cp}"));
    assert_eq!(conflict.status, 409);
    assert_eq!(conflict.header("content-type"), Some("text/x.tlog.size"));
    assert_eq!(conflict.text(), "3\n");
    assert_eq!(post(&format!("old 4\n\n{vn_cp}")).status, 400);
    // A changed byte in VN's own signature line (not in a cosignature).
    let mut forged = vn_cp.clone().into_bytes();
    let at = vn_cp.find("\u{2014} vn.jaring.local/log ").unwrap() + "\u{2014} vn.jaring.local/log ".len() + 20;
    forged[at] = if forged[at] == b'A' { b'B' } else { b'A' };
    assert_eq!(post(&format!("old 3\n\n{}", String::from_utf8(forged).unwrap())).status, 403);
    let ok = post(&format!("old 3\n\n{vn_cp}"));
    assert_eq!(ok.status, 200, "{}", ok.text());
    let lines = jaring_node::tlog::witness::parse_cosignatures(&ok.body).unwrap();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0].name, "id.jaring.local/witness");
    let id_card = jaring_node::identity::IdentityCard::verify(std::fs::read_to_string(&card).unwrap().trim()).unwrap();
    let id_witness: Vec<_> = id_card
        .signing_keys
        .iter()
        .map(|k| jaring_node::tlog::witness_verifier(&id_card.tls_name, k.public_key().unwrap()).unwrap())
        .collect();
    let vn_signed = jaring_node::tlog::checkpoint::parse_own(vn_cp.as_bytes()).unwrap();
    let mut note = jaring_node::tlog::note::Note::new(vn_signed.note.text()).unwrap();
    note.push(lines[0].clone()).unwrap();
    assert_eq!(note.verify(&id_witness).unwrap().by.len(), 1, "the line is ID's cosignature on VN's checkpoint");
}
