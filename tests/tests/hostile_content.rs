//! A hostile peer's content and keys: what a receiver checks beyond the
//! signature. Black-box: a fake publisher "EVIL" (a real tonic server with
//! EVIL's certificate and key) feeds a real `jaring-node` "VN"; VN's CLI,
//! audit log, `/metrics` and TAXII say what happened.
//!
//! - Content (docs/threat-model.md, "What a receiver checks"): plaintext
//!   personal data, non-canonical values, `javascript:` URLs, keyed hashes
//!   of kinds that are never personal, an id of another origin, times from
//!   the future: each refused with its reason, audited, counted, the store
//!   unchanged, the stream going on; TAXII serves one object per STIX id.
//! - Keys: a key event or an identity card claiming a key another node (or
//!   VN itself) holds is refused and audited, and the rightful owner keeps
//!   it; key events from a `review` peer wait for review, and what the new
//!   key signed waits with them, refused nowhere.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use jaring_node::envelope::{self, Entry, Indicator, KeyEvent, Value};
use jaring_node::feedback::{Feedback, FeedbackType};
use jaring_node::http::taxii::Collection;
use jaring_node::identity::{CardKey, IdentityCard};
use jaring_node::keys::SigningKey;
use jaring_node::model::{Action, Category, Confidence, Distribution, Kind, Tlp, now_ms};
use jaring_tests::fake_peer::Fake;
use jaring_tests::forge::{Origin, domain};
use jaring_tests::{TestNode, assert_eventually, https};
use serde_json::Value as Json;

const PATIENCE: Duration = Duration::from_secs(20);
const YEAR_2100_MS: i64 = 4_102_444_800_000;

fn found(node: &TestNode, value: &str) -> bool {
    node.lookup_found(value).unwrap_or(false)
}

/// What a refusal must leave alone: the indicators, the key ring, the log.
fn snapshot(node: &TestNode) -> String {
    let list = node.cli(&["--json", "indicator", "list", "--limit", "100000"]).unwrap();
    let keys = node.cli(&["--json", "key", "list", "--all"]).unwrap();
    let status = node.cli_json(&["status"]).unwrap();
    format!("{list}\n{keys}\nlog_head={}", status["log_head"])
}

fn rejections(node: &TestNode) -> Vec<Json> {
    let v = node.cli_json(&["audit", "list", "--kind", "rejection", "--peer", "EVIL", "--limit", "1000000"]).unwrap();
    v.as_array().cloned().unwrap_or_default()
}

fn counted(node: &TestNode, reason: &str) -> f64 {
    node.metric(&format!("jaring_rejections_total{{reason=\"{reason}\"}}"))
}

/// Sends `entry` as EVIL's next envelope (or `env` as given) and checks
/// that VN refused it: one new rejection audited with `reason`, origin EVIL
/// and the sequence number, the reason's counter up by one, the store as it
/// was; then a valid envelope still applies on the same stream.
fn refused(vn: &TestNode, fake: &Fake, e: &mut Origin, case: &str, reason: &str, env: envelope::SignedEnvelope) {
    let before = snapshot(vn);
    let audited = rejections(vn).len();
    let count = counted(vn, reason);
    let seq = e.seq + 1;
    fake.push(&[env]);
    assert_eventually!(PATIENCE, rejections(vn).len() > audited, "{case}: VN audits a rejection");
    let new = rejections(vn).split_off(audited);
    assert_eq!(new.len(), 1, "{case}: {new:?}");
    assert_eq!(new[0]["reason"], reason, "{case}: {}", new[0]);
    if reason == "malformed_body" {
        // A body that does not decode names no origin the node could trust.
        assert!(new[0]["detail"].as_str().unwrap_or("").contains("does not decode"), "{case}: {}", new[0]);
    } else {
        assert_eq!(new[0]["origin"], "EVIL", "{case}: {}", new[0]);
        assert_eq!(new[0]["origin_seq"].as_u64(), Some(seq), "{case}: {}", new[0]);
    }
    assert_eventually!(PATIENCE, counted(vn, reason) == count + 1.0, "{case}: counted as {reason}");
    assert_eq!(snapshot(vn), before, "{case}: the store changed");
    // The refused envelope is not held: the chain goes on from the last one held.
    let value = format!("after-{}-loker.co.id", case.replace('_', "-"));
    fake.push(&[e.publish(domain("EVIL", &value, 1))]);
    assert_eventually!(PATIENCE, found(vn, &value), "{case}: the stream goes on");
    println!("{case}: refused, audited and counted as {reason}");
}

fn indicator(origin: &str, kind: Kind, value: Value) -> Indicator {
    let t = now_ms();
    Indicator {
        id: envelope::indicator_id(origin, kind, value.as_str()),
        kind,
        value,
        categories: vec![Category::JobScam],
        confidence: Confidence::try_from(80u32).unwrap(),
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
    }
}

fn plain(kind: Kind, value: &str) -> Entry {
    Entry::Indicator(indicator("EVIL", kind, Value::Plain(value.into())))
}

fn rotation_to(key_id: &str, public: [u8; 32], valid_from_ms: i64) -> Entry {
    Entry::KeyEvent(KeyEvent::Rotation { new_key_id: key_id.into(), new_public_key: public, valid_from_ms })
}

#[test]
fn a_peer_cannot_store_what_no_honest_node_would_publish() {
    let evil = TestNode::builder("EVIL").init().unwrap();
    let my = TestNode::builder("MY").init().unwrap();
    let vn = TestNode::builder("VN").http().start().unwrap();
    vn.add_peer(&evil, &["--trust", "trusted"]).unwrap();
    vn.add_peer(&my, &["--trust", "trusted", "--member-only"]).unwrap();
    let fake = Fake::start(&evil, &vn, false);
    let mut e = Origin::of(&evil);
    fake.push(&[e.publish(domain("EVIL", "honest-loker.co.id", 1))]);
    assert_eventually!(PATIENCE, found(&vn, "honest-loker.co.id"));

    // Personal data in the clear.
    let bank = e.next(plain(Kind::BankAccount, "BCA:1234567890"));
    refused(&vn, &fake, &mut e, "plaintext_bank_account", "personal_data_in_clear", bank);
    let email = e.next(plain(Kind::Email, "budi@example.com"));
    refused(&vn, &fake, &mut e, "plaintext_email", "personal_data_in_clear", email);
    // Values the origin's own normalizer would never produce.
    let upper = e.next(plain(Kind::Domain, "WWW.EVIL-UPPER.CO.ID"));
    refused(&vn, &fake, &mut e, "non_canonical_domain", "not_canonical", upper);
    let script = e.next(plain(Kind::Url, "javascript:alert(document.cookie)"));
    refused(&vn, &fake, &mut e, "non_web_url_scheme", "invalid_value", script);
    let keyed = Value::Keyed { epoch: 1, digest: "ab".repeat(32) };
    let hashed_domain = e.next(Entry::Indicator(indicator("EVIL", Kind::Domain, keyed)));
    refused(&vn, &fake, &mut e, "keyed_hash_of_a_domain", "keyed_hash_not_personal", hashed_domain);
    // Field limits and categories, checked when the body decodes.
    let mut no_category = indicator("EVIL", Kind::Domain, Value::Plain("no-category-loker.co.id".into()));
    no_category.categories.clear();
    let no_category = e.next(Entry::Indicator(no_category));
    refused(&vn, &fake, &mut e, "no_category", "malformed_body", no_category);
    let mut long = indicator("EVIL", Kind::Domain, Value::Plain("long-note-loker.co.id".into()));
    long.description = Some("x".repeat(envelope::MAX_DESCRIPTION + 1));
    let long = e.next(Entry::Indicator(long));
    refused(&vn, &fake, &mut e, "description_over_limit", "malformed_body", long);
    // Another origin's id, as a tombstone: it would withdraw VN's own
    // assertion in TAXII (one STIX id, two objects).
    vn.add_domain("vn-own-loker.co.id", "green").unwrap();
    let mut theirs = indicator("EVIL", Kind::Domain, Value::Plain("vn-own-loker.co.id".into()));
    theirs.id = envelope::indicator_id("VN", Kind::Domain, "vn-own-loker.co.id");
    theirs.action = Action::Revoke;
    let stolen_id = e.next(Entry::Indicator(theirs));
    refused(&vn, &fake, &mut e, "id_of_another_origin", "id_mismatch", stolen_id);

    // Times from the future.
    let mut late = indicator("EVIL", Kind::Domain, Value::Plain("late-loker.co.id".into()));
    late.last_seen_ms = YEAR_2100_MS;
    let late = e.next(Entry::Indicator(late));
    refused(&vn, &fake, &mut e, "last_seen_in_2100", "time_in_future", late);
    let pinned = Feedback {
        kind: Kind::Domain,
        value: Value::Plain("honest-loker.co.id".into()),
        feedback_type: FeedbackType::Sighting,
        indicator_id: Some(envelope::indicator_id("EVIL", Kind::Domain, "honest-loker.co.id")),
        indicator_origin: Some("EVIL".into()),
        categories: vec![Category::JobScam],
        tlp: Tlp::Green,
        distribution: Distribution::Federation,
        platform: None,
        action_taken: None,
        observed_at_ms: YEAR_2100_MS,
        reason: None,
        note: None,
        referred_to: None,
        case_seq: None,
        due_at_ms: None,
        case_ref: None,
    };
    let pinned = e.next(Entry::Feedback(Box::new(pinned)));
    refused(&vn, &fake, &mut e, "sighting_in_2100", "time_in_future", pinned);
    let mut body = e.next_body(domain("EVIL", "signed-in-2100-loker.co.id", 1));
    body.created_at_ms = YEAR_2100_MS;
    let signed_late = jaring_node::signing::sign(&body, &e.key);
    refused(&vn, &fake, &mut e, "created_at_2100", "time_in_future", signed_late);
    let future_key = SigningKey::generate(YEAR_2100_MS);
    let rotation = e.next(rotation_to(future_key.id().as_str(), future_key.public().to_bytes(), YEAR_2100_MS));
    refused(&vn, &fake, &mut e, "key_valid_from_2100", "time_in_future", rotation);

    // Key events claiming a key another node holds: VN's own, a member's.
    let vn_key = jaring_node::keystore::read_signing_keys(&vn.dir().join("keys")).unwrap().remove(0);
    let my_key = jaring_node::keystore::read_signing_keys(&my.dir().join("keys")).unwrap().remove(0);
    for (case, key) in [("rotation_to_vn_own_key", &vn_key), ("rotation_to_member_key", &my_key)] {
        let claim = e.next(rotation_to(key.id().as_str(), key.public().to_bytes(), now_ms() - 1));
        refused(&vn, &fake, &mut e, case, "bad_key_event", claim);
    }
    let owners = vn.cli_json(&["key", "list", "--all"]).unwrap();
    let owner = |id: &str| owners.as_array().unwrap().iter().find(|k| k["key_id"] == id).map(|k| k["owner"].clone());
    assert_eq!(owner(vn_key.id().as_str()), Some(Json::from("VN")));
    assert_eq!(owner(my_key.id().as_str()), Some(Json::from("MY")));
    // VN still rotates and revokes its own key, and its card says so.
    vn.cli(&["key", "rotate"]).unwrap();
    vn.cli(&["key", "revoke", vn_key.id().as_str(), "--reason", "rotated"]).unwrap();
    let card = IdentityCard::verify(&vn.cli(&["identity", "export"]).unwrap()).unwrap();
    let old = card.signing_keys.iter().find(|k| k.key_id == vn_key.id().as_str()).expect("the old key on the card");
    assert!(old.revoked_at_ms.is_some(), "{card:?}");

    // TAXII at VN: one object per STIX id, none of the refused values.
    let token = vn.cli(&["token", "create", "platform", "--max-tlp", "green"]).unwrap().trim().to_string();
    let coll = Collection::All.id("VN");
    let page = https::get(&vn, &format!("/jaring/collections/{coll}/objects/"), Some(&token)).unwrap();
    assert_eq!(page.status, 200, "{}", page.text());
    let text = page.text();
    let objects = page.json().unwrap()["objects"].as_array().cloned().unwrap();
    let mut ids: Vec<&str> = objects.iter().filter_map(|o| o["id"].as_str()).collect();
    let n = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), n, "two objects with one STIX id: {text}");
    for gone in [
        "BCA:",
        "budi@",
        "EVIL-UPPER",
        "javascript",
        "late-loker",
        "signed-in-2100",
        "'no-category-loker",
        "'long-note-loker",
    ] {
        assert!(!text.contains(gone), "{gone} served: {text}");
    }
    let mine = jaring_node::stix::indicator_id(&envelope::indicator_id("VN", Kind::Domain, "vn-own-loker.co.id"));
    let own = objects.iter().find(|o| o["id"] == mine.as_str()).expect("VN's own indicator");
    assert_eq!(own["revoked"], false);
    // An unknown object id: 404 from the index.
    let unknown = format!("/jaring/collections/{coll}/objects/indicator--00000000-0000-5000-8000-000000000000/");
    assert_eq!(https::get(&vn, &unknown, Some(&token)).unwrap().status, 404);
    assert_eq!(
        https::get(&vn, &format!("/jaring/collections/{coll}/objects/{mine}/"), Some(&token)).unwrap().status,
        200
    );

    // An identity card claiming VN's key or a member's is refused at `peer add`.
    // The card's own key is fresh: only the victim's key is claimed.
    let fake_key = SigningKey::generate(now_ms());
    let ca = std::fs::read_to_string(evil.dir().join("tls/ca.pem")).unwrap();
    for (victim, key) in [("VN", &vn_key), ("MY", &my_key)] {
        let card = IdentityCard {
            version: 1,
            node_id: "FAKE".into(),
            federation_endpoint: "127.0.0.1:1".into(),
            tls_name: "fake.jaring.local".into(),
            tls_ca_pem: ca.clone(),
            signing_keys: [&fake_key, key]
                .iter()
                .map(|k| CardKey {
                    key_id: k.id().to_string(),
                    public_key_hex: hex(k.public().as_bytes()),
                    valid_from_ms: 0,
                    revoked_at_ms: None,
                })
                .collect(),
            issued_at_ms: now_ms(),
        };
        let path = vn.dir().join(format!("fake-{victim}.json"));
        std::fs::write(&path, card.sign(&fake_key)).unwrap();
        let out = vn.cli_output(&["peer", "add", "--identity", path.to_str().unwrap()]).unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(&format!("held by {victim}")), "{err}");
    }
    let trust = vn.cli_json(&["audit", "list", "--kind", "trust"]).unwrap();
    let refusals: Vec<&Json> = trust.as_array().unwrap().iter().filter(|a| a["action"] == "peer.add.refused").collect();
    assert_eq!(refusals.len(), 2, "{trust}");
    assert!(refusals.iter().all(|a| a["reason"] == "key_owned" && a["peer"] == "FAKE"), "{refusals:?}");
    assert!(vn.cli_json(&["peer", "list"]).unwrap().to_string().contains("\"MY\""));
    assert_eq!(owner(my_key.id().as_str()), Some(Json::from("MY")));
    drop(fake);
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn key_events_from_a_review_peer_wait_for_review_and_so_does_what_the_key_signs() {
    let evil = TestNode::builder("EVIL").init().unwrap();
    let vn = TestNode::builder("VN").http().start().unwrap();
    vn.add_peer(&evil, &["--trust", "review"]).unwrap();
    let fake = Fake::start(&evil, &vn, false);
    let mut e = Origin::of(&evil);
    let held = |vn: &TestNode| vn.cli_json(&["review", "list"]).unwrap().as_array().cloned().unwrap_or_default();

    // Valid from 1970: applied at once before; now held like the rest.
    let k2 = SigningKey::generate(1);
    let first = e.publish(domain("EVIL", "before-rotation-loker.co.id", 1));
    let rotation = e.publish(rotation_to(k2.id().as_str(), k2.public().to_bytes(), 1));
    e.key = k2;
    let signed_by_k2 = e.publish(domain("EVIL", "signed-by-new-key-loker.co.id", 1));
    fake.push(&[first, rotation, signed_by_k2]);
    assert_eventually!(PATIENCE, held(&vn).len() == 2, "the indicator and the rotation wait for review");
    let items = held(&vn);
    let key_event = items.iter().find(|h| h["indicator"].is_null()).expect("the rotation");
    assert!(key_event["reason"].as_str().unwrap().contains("key rotation of EVIL"), "{key_event}");
    let keys = vn.cli(&["--json", "key", "list", "--all"]).unwrap();
    assert!(!keys.contains(&format!("\"{}\"", e.key.id())), "the new key is not trusted yet: {keys}");
    // What the new key signed waits: not refused, not stored, the link says why.
    assert_eventually!(
        PATIENCE,
        vn.cli_json(&["status"]).unwrap()["peers"][0]["last_error"].as_str().unwrap_or("").contains("review"),
        "the link waits for the review: {}",
        vn.cli_json(&["status"]).unwrap()["peers"]
    );
    assert!(rejections(&vn).is_empty(), "nothing refused: {:?}", rejections(&vn));
    assert_eq!(vn.metric("jaring_rejections_total{reason=\"unknown_key\"}"), 0.0);

    // Accepted: the key applies, and what it signed arrives (held for review
    // like everything from this peer).
    let seq = key_event["seq"].as_u64().unwrap().to_string();
    vn.cli(&["review", "accept", &seq]).unwrap();
    assert_eventually!(
        PATIENCE,
        vn.cli(&["--json", "key", "list", "--all"]).unwrap().contains(&format!("\"{}\"", e.key.id())),
        "the accepted rotation's key is trusted"
    );
    assert_eventually!(
        Duration::from_secs(45),
        held(&vn).iter().any(|h| h["indicator"]["value"] == "signed-by-new-key-loker.co.id"),
        "what the new key signed arrives once the rotation is accepted"
    );
    assert!(rejections(&vn).is_empty(), "{:?}", rejections(&vn));
    drop(fake);
}
