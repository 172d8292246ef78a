//! `jaring log verify-proof|consistency` on files made by the transparency
//! log library, run as the real binary.

use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;

use jaring_node::envelope::{Entry, EnvelopeBody, GENESIS_HASH, Indicator, Value, indicator_id};
use jaring_node::identity::{CardKey, IdentityCard};
use jaring_node::keys::SigningKey;
use jaring_node::model::{Action, Category, Confidence, Distribution, Kind, Tlp};
use jaring_node::tlog::checkpoint::Checkpoint;
use jaring_node::tlog::merkle::{self, leaf_hash};
use jaring_node::tlog::proof::TlogProof;
use jaring_node::tlog::tree::{MemoryTiles, TileNodes, TreeState};
use jaring_node::tlog::{self, Hash};

fn jaring(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_jaring")).args(args).output().expect("run jaring")
}

fn card(node_id: &str, key: &SigningKey) -> String {
    IdentityCard {
        version: 1,
        node_id: node_id.into(),
        federation_endpoint: "127.0.0.1:7700".into(),
        tls_name: format!("{}.jaring.local", node_id.to_lowercase()),
        tls_ca_pem: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n".into(),
        signing_keys: vec![CardKey {
            key_id: key.id().to_string(),
            public_key_hex: hex(key.public().as_bytes()),
            valid_from_ms: 0,
            revoked_at_ms: None,
        }],
        issued_at_ms: 1,
    }
    .sign(key)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn envelope_bytes(seq: u64, key: &SigningKey) -> Vec<u8> {
    let value = format!("lowongan-{seq}.loker-palsu.co.id");
    let body = EnvelopeBody {
        origin: "ID".into(),
        origin_seq: seq,
        prev_hash: GENESIS_HASH,
        created_at_ms: 1_700_000_000_000,
        entry: Entry::Indicator(Indicator {
            id: indicator_id("ID", Kind::Domain, &value),
            kind: Kind::Domain,
            value: Value::Plain(value),
            categories: vec![Category::JobScam],
            confidence: Confidence::try_from(80).expect("confidence"),
            tlp: Tlp::Green,
            distribution: Distribution::Federation,
            first_seen_ms: 1_700_000_000_000,
            last_seen_ms: 1_700_000_000_000,
            valid_until_ms: None,
            action: Action::Upsert,
            version: 1,
            description: None,
            source_refs: vec![],
            reach: vec![],
        }),
    };
    jaring_node::wire::encode_envelope(&jaring_node::signing::sign(&body, key))
}

struct Log {
    entries: Vec<Vec<u8>>,
    tiles: MemoryTiles,
    roots: Vec<Hash>,
}

fn log(key: &SigningKey, n: u64) -> Log {
    let entries: Vec<Vec<u8>> = (1..=n).map(|s| envelope_bytes(s, key)).collect();
    let mut state = TreeState::new();
    let mut tiles = MemoryTiles::new();
    let mut roots = vec![state.root()];
    for e in &entries {
        let a = state.append(state.size(), &[leaf_hash(e)]).expect("append");
        tiles.apply(&a.tiles);
        roots.push(a.root);
        state = a.state;
    }
    Log { entries, tiles, roots }
}

fn signed_checkpoint(key: &Arc<SigningKey>, size: u64, root: Hash, witness: Option<&Arc<SigningKey>>) -> String {
    let cp = Checkpoint { origin: tlog::origin("id.jaring.local"), size, root, extensions: vec![] };
    let mut signed = cp.sign(&tlog::log_signer("id.jaring.local", key.clone()).expect("signer")).expect("sign");
    if let Some(w) = witness {
        let cosigner = tlog::witness_cosigner("vn.jaring.local", w.clone()).expect("cosigner");
        let line = cosigner.cosign(signed.note.text(), 1_764_000_000).expect("cosign");
        signed.note.push(line).expect("push");
    }
    signed.to_text()
}

fn write(dir: &Path, name: &str, content: impl AsRef<[u8]>) -> String {
    let p = dir.join(name);
    std::fs::write(&p, content).expect("write");
    p.display().to_string()
}

#[test]
fn verify_proof_accepts_a_real_proof_and_refuses_any_changed_byte() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (id_key, vn_key, other) =
        (Arc::new(SigningKey::generate(0)), Arc::new(SigningKey::generate(0)), Arc::new(SigningKey::generate(0)));
    let id_card = write(tmp.path(), "id.json", card("ID", &id_key));
    let vn_card = write(tmp.path(), "vn.json", card("VN", &vn_key));
    let other_card = write(tmp.path(), "other.json", card("ID", &other));
    let l = log(&id_key, 300);
    let nodes = TileNodes::new(&l.tiles);
    let proof = TlogProof {
        extra: Some(l.entries[260].clone()),
        index: 260,
        proof: merkle::inclusion_proof(&nodes, 260, 300).expect("proof"),
        checkpoint: signed_checkpoint(&id_key, 300, l.roots[300], Some(&vn_key)),
    }
    .to_text();
    let file = write(tmp.path(), "e.tlog-proof", &proof);

    let out = jaring(&["--json", "log", "verify-proof", &file, "--identity", &id_card, "--witness", &vn_card]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(json["verified"], true);
    assert_eq!(json["origin"], "id.jaring.local/log");
    assert_eq!((json["index"].as_u64(), json["tree_size"].as_u64()), (Some(260), Some(300)));
    assert_eq!(json["witnesses"][0]["name"], "vn.jaring.local/witness");
    assert_eq!(json["entry"]["origin_seq"], 261);
    assert_eq!(json["entry"]["value"], "lowongan-261.loker-palsu.co.id");

    // Another node's card (same node id, other key): refused.
    let out = jaring(&["log", "verify-proof", &file, "--identity", &other_card]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not verified"), "{}", String::from_utf8_lossy(&out.stderr));
    // A witness that did not cosign: the default quorum (all) fails.
    let out = jaring(&["log", "verify-proof", &file, "--identity", &id_card, "--witness", &other_card]);
    assert!(!out.status.success());

    // A changed byte in the entry, in the proof hashes, in the checkpoint
    // (origin, size, root, signature) or in the cosignature: refused.
    let line_start = |needle: &str| proof.find(needle).expect("needle");
    let cp_start = line_start("id.jaring.local/log\n300\n");
    let sig_start = line_start("\u{2014} id.jaring.local/log ");
    let cosig_start = line_start("\u{2014} vn.jaring.local/witness ");
    let hash_start = line_start("index 260\n") + "index 260\n".len();
    for (what, at) in [
        ("entry", "c2sp.org/tlog-proof@v1\nextra ".len() + 40),
        ("proof hash", hash_start + 3),
        ("proof hash", hash_start + 45 + 10),
        ("origin", cp_start + 1),
        ("size", cp_start + "id.jaring.local/log\n".len() + 1),
        ("root", cp_start + "id.jaring.local/log\n300\n".len() + 5),
        ("log signature", sig_start + "\u{2014} id.jaring.local/log ".len() + 20),
        ("cosignature", cosig_start + "\u{2014} vn.jaring.local/witness ".len() + 30),
    ] {
        let mut b = proof.clone().into_bytes();
        b[at] = if b[at] == b'A' { b'B' } else { b'A' };
        let f = write(tmp.path(), "bad.tlog-proof", &b);
        let out = jaring(&["log", "verify-proof", &f, "--identity", &id_card, "--witness", &vn_card]);
        assert!(!out.status.success(), "{what} changed at byte {at} still verifies");
    }
}

#[test]
fn consistency_accepts_growth_and_refuses_a_rewritten_history() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let key = Arc::new(SigningKey::generate(0));
    let id_card = write(tmp.path(), "id.json", card("ID", &key));
    let l = log(&key, 40);
    let nodes = TileNodes::new(&l.tiles);
    let old = write(tmp.path(), "old.checkpoint", signed_checkpoint(&key, 13, l.roots[13], None));
    let new = write(tmp.path(), "new.checkpoint", signed_checkpoint(&key, 40, l.roots[40], None));
    let proof: String = merkle::consistency_proof(&nodes, 13, 40)
        .expect("proof")
        .iter()
        .map(|h| format!("{}\n", h.to_base64()))
        .collect();
    let proof_file = write(tmp.path(), "13-40.proof", &proof);
    let out = jaring(&["--json", "log", "consistency", &old, &new, "--identity", &id_card, "--proof", &proof_file]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(
        (json["consistent"].as_bool(), json["old_size"].as_u64(), json["new_size"].as_u64()),
        (Some(true), Some(13), Some(40))
    );

    // The node signs a size-40 tree whose first 13 entries differ.
    let mut forked = log(&key, 40);
    forked.entries[2][5] ^= 1;
    let mut state = TreeState::new();
    let mut tiles = MemoryTiles::new();
    for e in &forked.entries {
        let a = state.append(state.size(), &[leaf_hash(e)]).expect("append");
        tiles.apply(&a.tiles);
        state = a.state;
    }
    let fnew = write(tmp.path(), "forked.checkpoint", signed_checkpoint(&key, 40, state.root(), None));
    let fproof: String = merkle::consistency_proof(&TileNodes::new(&tiles), 13, 40)
        .expect("proof")
        .iter()
        .map(|h| format!("{}\n", h.to_base64()))
        .collect();
    let fproof_file = write(tmp.path(), "forked.proof", &fproof);
    for p in [&fproof_file, &proof_file] {
        let out = jaring(&["log", "consistency", &old, &fnew, "--identity", &id_card, "--proof", p]);
        assert!(!out.status.success());
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("not consistent"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // Old and new swapped: a rollback.
    let out = jaring(&["log", "consistency", &new, &old, "--identity", &id_card, "--proof", &proof_file]);
    assert!(!out.status.success());
}
