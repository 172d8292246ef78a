//! Operating a node: key rotation and revocation travelling through the
//! federation, TLS reload without dropping streams, and the tamper-evident
//! audit log. Real `jaring-node` processes on 127.0.0.1.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jaring_node::envelope::{self, Entry, EnvelopeBody, Indicator, Value};
use jaring_node::model::{Action, Category, Confidence, Distribution, Kind, Tlp, now_ms};
use jaring_node::store::{self, Batch, Keyspace, layout};
use jaring_tests::{TestNode, assert_eventually, link};
use serde_json::Value as Json;

const PATIENCE: Duration = Duration::from_secs(20);

fn found_at(node: &TestNode, value: &str) -> bool {
    node.lookup_found(value).unwrap_or(false)
}

fn key_ids(node: &TestNode, all: bool) -> Vec<Json> {
    let args: &[&str] = if all { &["key", "list", "--all"] } else { &["key", "list"] };
    node.cli_json(args).unwrap().as_array().cloned().unwrap_or_default()
}

fn key_of<'a>(keys: &'a [Json], id: &str) -> Option<&'a Json> {
    keys.iter().find(|k| k["key_id"] == id)
}

fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

#[test]
fn rotation_is_followed_by_accepted_indicators_at_every_peer_without_restart() {
    let a = TestNode::builder("A").start().unwrap();
    let b = TestNode::builder("B").start().unwrap();
    let c = TestNode::builder("C").start().unwrap();
    link(&a, &b, &[], &[]).unwrap();
    link(&a, &c, &[], &[]).unwrap();

    a.add_domain("before-rotation-loker.co.id", "green").unwrap();
    assert_eventually!(
        PATIENCE,
        found_at(&b, "before-rotation-loker.co.id") && found_at(&c, "before-rotation-loker.co.id")
    );

    let old = key_ids(&a, false);
    assert_eq!(old.len(), 1);
    let old_id = old[0]["key_id"].as_str().unwrap().to_string();
    let new = a.cli_json(&["key", "rotate"]).unwrap();
    let new_id = new["key_id"].as_str().unwrap().to_string();
    assert_ne!(new_id, old_id);
    assert_eq!(new["current"], true);

    // The new key file is private.
    let file = a.dir().join("keys").join(format!("{}.key", new_id.replace(':', "-")));
    let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&file).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);

    let keys = key_ids(&a, false);
    assert_eq!(keys.len(), 2);
    assert_eq!(key_of(&keys, &old_id).unwrap()["current"], false);
    assert_eq!(key_of(&keys, &new_id).unwrap()["current"], true);

    a.add_domain("after-rotation-loker.co.id", "green").unwrap();
    let mine = a.cli_json(&["indicator", "list", "--signed-by", &new_id]).unwrap();
    assert_eq!(mine[0]["value"], "after-rotation-loker.co.id", "new entries are signed with the new key: {mine}");
    assert_eventually!(
        PATIENCE,
        found_at(&b, "after-rotation-loker.co.id") && found_at(&c, "after-rotation-loker.co.id")
    );

    for peer in [&b, &c] {
        // The peer learnt the new key from the signed key event...
        let all = key_ids(peer, true);
        let k = key_of(&all, &new_id).unwrap_or_else(|| panic!("{} does not know {new_id}: {all:?}", peer.id));
        assert_eq!(k["owner"], "A");
        // ...and holds the new indicator under the new key, the old one under the old.
        let by_new = peer.cli_json(&["indicator", "list", "--signed-by", &new_id]).unwrap();
        let values: Vec<&str> = by_new.as_array().unwrap().iter().filter_map(|r| r["value"].as_str()).collect();
        assert_eq!(values, vec!["after-rotation-loker.co.id"], "at {}", peer.id);
        let by_old = peer.cli_json(&["indicator", "list", "--signed-by", &old_id]).unwrap();
        let values: Vec<&str> = by_old.as_array().unwrap().iter().filter_map(|r| r["value"].as_str()).collect();
        assert_eq!(values, vec!["before-rotation-loker.co.id"], "at {}", peer.id);
    }

    // The identity card (file and export) now lists both keys, signed by the new one.
    for text in [std::fs::read_to_string(a.identity()).unwrap(), a.cli(&["identity", "export"]).unwrap()] {
        let card = jaring_node::identity::IdentityCard::verify(text.trim()).unwrap();
        let ids: Vec<&str> = card.signing_keys.iter().map(|k| k.key_id.as_str()).collect();
        assert_eq!(ids, vec![old_id.as_str(), new_id.as_str()]);
    }
}

/// Puts `env` into a stopped node's log as if it had received it, so its
/// publisher relays it: the way a stolen key's signatures actually arrive.
fn inject_into_log(node: &TestNode, env: &envelope::SignedEnvelope) {
    let store = store::open_existing(&node.dir().join("db"), 8).unwrap();
    let next = store.last(Keyspace::Log).unwrap().and_then(|(k, _)| layout::read_u64(&k)).unwrap_or(0) + 1;
    let mut batch = Batch::default();
    batch.put(Keyspace::Log, layout::seq_key(next).to_vec(), jaring_node::wire::encode_envelope(env));
    store.commit(batch).unwrap();
}

#[test]
fn a_revoked_key_is_refused_after_its_revocation_time_and_audited() {
    let a = TestNode::builder("A").start().unwrap();
    let b = TestNode::builder("B").start().unwrap();
    // F relays what it holds to B: a peer whose log carries a forged
    // envelope, like a node fed by whoever stole A's old key.
    let mut f = TestNode::builder("F").start().unwrap();
    link(&a, &b, &[], &[]).unwrap();
    b.add_peer(&f, &["--trust", "trusted"]).unwrap();
    f.add_peer(&b, &["--trust", "trusted", "--relay"]).unwrap();

    a.add_domain("signed-by-old-key-loker.co.id", "green").unwrap();
    assert_eventually!(PATIENCE, found_at(&b, "signed-by-old-key-loker.co.id"));
    let old_id = key_ids(&a, false)[0]["key_id"].as_str().unwrap().to_string();

    // Revoking the key still in use is refused with a way out.
    let out = a.cli_output(&["key", "revoke", &old_id]).unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("key rotate"), "{}", String::from_utf8_lossy(&out.stderr));

    a.cli_json(&["key", "rotate"]).unwrap();
    let t = now_ms();
    let revoked = a.cli_json(&["key", "revoke", &old_id, "--at", &t.to_string(), "--reason", "laptop stolen"]).unwrap();
    assert_eq!(revoked["revoked_at_ms"], t);
    assert_eventually!(
        PATIENCE,
        key_of(&key_ids(&b, true), &old_id).is_some_and(|k| k["revoked_at_ms"] == t),
        "B learns the revocation"
    );
    // What the old key signed before T stays, and is listed by key.
    assert!(found_at(&b, "signed-by-old-key-loker.co.id"));
    let by_old = b.cli_json(&["indicator", "list", "--signed-by", &old_id]).unwrap();
    assert_eq!(by_old.as_array().unwrap().len(), 1);

    // The thief signs a new indicator in A's name with the old key, dated after T.
    let stolen = jaring_node::keystore::read_signing_key(
        &a.dir().join("keys").join(format!("{}.key", old_id.replace(':', "-"))),
    )
    .unwrap();
    let head = a.cli_json(&["status"]).unwrap()["origins"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["origin"] == "A")
        .map_or(0, |o| o["head_seq"].as_u64().unwrap());
    let value = "forged-with-stolen-key-loker.co.id";
    let body = EnvelopeBody {
        origin: "A".into(),
        origin_seq: head + 1,
        prev_hash: envelope::GENESIS_HASH,
        created_at_ms: t + 1_000,
        entry: Entry::Indicator(Indicator {
            id: envelope::indicator_id("A", Kind::Domain, value),
            kind: Kind::Domain,
            value: Value::Plain(value.into()),
            categories: vec![Category::JobScam],
            confidence: Confidence::try_from(90u32).unwrap(),
            tlp: Tlp::Green,
            distribution: Distribution::Federation,
            first_seen_ms: t,
            last_seen_ms: t,
            valid_until_ms: None,
            action: Action::Upsert,
            version: 1,
            description: None,
            source_refs: vec![],
            reach: vec![],
        }),
    };
    let forged = jaring_node::signing::sign(&body, &stolen);
    f.stop().unwrap();
    inject_into_log(&f, &forged);
    f.start().unwrap();

    let refused = || -> bool {
        let entries = b.cli_json(&["audit", "list", "--kind", "rejection", "--peer", "F"]).unwrap();
        entries
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["reason"] == "key_revoked" && e["origin"] == "A" && e["origin_seq"] == head + 1)
    };
    assert_eventually!(PATIENCE, refused(), "B audits the forged envelope as key_revoked: {}", b.log());
    assert!(!found_at(&b, value), "the forged indicator must not be stored");
    let status = b.cli_json(&["status"]).unwrap();
    assert!(status["rejected_last_hour"].as_u64().unwrap() >= 1, "{status}");
}

/// Records the certificate a TLS server presents and goes no further.
#[derive(Debug)]
struct Capture(Arc<Mutex<Option<Vec<u8>>>>);

impl rustls::client::danger::ServerCertVerifier for Capture {
    fn verify_server_cert(
        &self,
        end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        *self.0.lock().unwrap() = Some(end_entity.to_vec());
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &rustls::pki_types::CertificateDer<'_>,
        _dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        Ok(rustls::client::danger::HandshakeSignatureValid::assertion())
    }

    fn verify_tls13_signature(
        &self,
        _message: &[u8],
        _cert: &rustls::pki_types::CertificateDer<'_>,
        _dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        Ok(rustls::client::danger::HandshakeSignatureValid::assertion())
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        rustls::crypto::ring::default_provider().signature_verification_algorithms.supported_schemes()
    }
}

/// The leaf certificate a node's federation listener presents to a new connection.
fn presented_cert(port: u16, tls_name: &str) -> Vec<u8> {
    let seen = Arc::new(Mutex::new(None));
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(Capture(seen.clone())))
        .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from(tls_name.to_string()).unwrap();
    let mut conn = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
    let mut sock = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    // The server refuses us (no client certificate) after showing its own.
    let mut tls = rustls::Stream::new(&mut conn, &mut sock);
    let _ = tls.write_all(b"\0");
    let _ = tls.read(&mut [0u8; 16]);
    seen.lock().unwrap().clone().expect("the server presented no certificate")
}

fn leaf_der(pem_path: &std::path::Path) -> Vec<u8> {
    use rustls::pki_types::pem::PemObject;
    let pem = std::fs::read(pem_path).unwrap();
    rustls::pki_types::CertificateDer::pem_slice_iter(&pem).next().unwrap().unwrap().to_vec()
}

#[test]
fn tls_reload_keeps_open_streams_and_new_handshakes_use_the_new_certificate() {
    let a = TestNode::builder("A").start().unwrap();
    let b = TestNode::builder("B").start().unwrap();
    link(&a, &b, &[], &[]).unwrap();
    a.add_domain("before-reload-loker.co.id", "green").unwrap();
    assert_eventually!(PATIENCE, found_at(&b, "before-reload-loker.co.id"));

    let old_leaf = leaf_der(&a.dir().join("tls/node.pem"));
    assert_eq!(presented_cert(a.fed_port, "a.jaring.local"), old_leaf);
    let sessions_before = count(&b.log(), "subscribed");
    assert!(sessions_before >= 1, "{}", b.log());

    // A short-lived certificate: status must warn about it.
    let renewed = a.cli_json(&["certs", "renew", "--days", "20", "--reload"]).unwrap();
    assert_eq!(renewed["reloaded"], true, "{renewed}");
    let new_leaf = leaf_der(&a.dir().join("tls/node.pem"));
    assert_ne!(new_leaf, old_leaf);

    // The next connection gets the new certificate...
    assert_eq!(presented_cert(a.fed_port, "a.jaring.local"), new_leaf);
    // ...while B's open subscription carries on: no reconnect, new entries flow.
    a.add_domain("after-reload-loker.co.id", "green").unwrap();
    assert_eventually!(PATIENCE, found_at(&b, "after-reload-loker.co.id"));
    let log = b.log();
    assert_eq!(count(&log, "subscribed"), sessions_before, "B reconnected: {log}");
    assert_eq!(count(&log, "subscription interrupted"), 0, "{log}");

    let status = a.cli_json(&["status"]).unwrap();
    let own = status["certs"].as_array().unwrap().iter().find(|c| c["subject"] == "own").cloned().unwrap();
    assert_eq!(own["warning"], true, "{status}");
    assert!(own["days_left"].as_i64().unwrap() <= 20);
    let b_ca = status["certs"].as_array().unwrap().iter().find(|c| c["subject"] == "peer B CA").cloned().unwrap();
    assert_eq!(b_ca["warning"], false, "{status}");

    // SIGHUP does the same as `tls reload`.
    a.cli_json(&["certs", "renew", "--days", "200"]).unwrap();
    let third_leaf = leaf_der(&a.dir().join("tls/node.pem"));
    let pid = a.pid().unwrap();
    assert!(std::process::Command::new("kill").args(["-HUP", &pid.to_string()]).status().unwrap().success());
    assert_eventually!(PATIENCE, presented_cert(a.fed_port, "a.jaring.local") == third_leaf);

    // Broken material is refused with the file named, and the old stays in use.
    std::fs::write(a.dir().join("tls/node.key"), "not a key").unwrap();
    let out = a.cli_output(&["tls", "reload"]).unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("node.key"), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(presented_cert(a.fed_port, "a.jaring.local"), third_leaf);
}

#[test]
fn audit_verify_passes_clean_and_names_the_first_bad_entry_after_an_offline_edit() {
    let mut a = TestNode::builder("A").start().unwrap();
    let b = TestNode::builder("B").init().unwrap();
    a.add_domain("one-loker.co.id", "green").unwrap();
    a.add_peer(&b, &["--trust", "review"]).unwrap();
    a.add_domain("two-loker.co.id", "green").unwrap();

    let v = a.cli_json(&["audit", "verify"]).unwrap();
    assert_eq!(v["ok"], true);
    let n = v["entries_checked"].as_u64().unwrap();
    assert!(n >= 3, "{v}");
    let trust = a.cli_json(&["audit", "list", "--kind", "trust"]).unwrap();
    let trust = trust.as_array().unwrap();
    assert_eq!(trust.len(), 1);
    assert_eq!(trust[0]["action"], "peer.add");
    assert_eq!(trust[0]["peer"], "B");
    let last = a.cli_json(&["audit", "list", "--limit", "1"]).unwrap();
    assert_eq!(last.as_array().unwrap().len(), 1);
    assert_eq!(last[0]["seq"], n);

    a.stop().unwrap();
    let clean = a.cli_json(&["audit", "verify", "--offline"]).unwrap();
    assert_eq!(clean["ok"], true);
    assert_eq!(clean["entries_checked"], n);

    // An insider edits entry 2 directly in the store.
    {
        let store = store::open_existing(&a.dir().join("db"), 8).unwrap();
        let key = layout::seq_key(2);
        let mut entry: Json = serde_json::from_slice(&store.get(Keyspace::Audit, &key).unwrap().unwrap()).unwrap();
        entry["detail"] = Json::String("nothing to see here".into());
        let mut batch = Batch::default();
        batch.put(Keyspace::Audit, key.to_vec(), serde_json::to_vec(&entry).unwrap());
        store.commit(batch).unwrap();
    }
    let out = a.cli_output(&["--json", "audit", "verify", "--offline"]).unwrap();
    assert!(!out.status.success());
    let report: Json = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["ok"], false);
    assert_eq!(report["first_bad_seq"], 2, "{report}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("entry 2"), "{stderr}");

    // The running node reports the same.
    a.start().unwrap();
    let out = a.cli_output(&["audit", "verify"]).unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("BROKEN at entry 2"));

    // Offline verification refuses to open a running node's store, saying why.
    let out = a.cli_output(&["audit", "verify", "--offline"]).unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("still running"), "{}", String::from_utf8_lossy(&out.stderr));
}
