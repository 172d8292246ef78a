//! Withdrawal reaches everyone who received an earlier version, and
//! markings never widen. Black-box: real nodes on loopback, the real CLI,
//! TAXII, the MISP feed and exports of the receivers.
//!
//! - ID publishes a value GREEN; VN (a direct peer whose agreement stops at
//!   GREEN) and MY (through VN, which relays) hold it. ID then re-marks it
//!   narrower (RED, `local`, AMBER, `direct`) and revokes it: every node
//!   that held the GREEN version stops serving it as active (lookups,
//!   TAXII, the MISP feed, exports), and nothing of the stricter version
//!   reaches them.
//! - A feedback event's `--tlp` cannot widen what it inherits: an AMBER
//!   value does not reach a GREEN peer through feedback.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use anyhow::Result;
use jaring_node::http::taxii::Collection;
use jaring_node::model::Kind;
use jaring_tests::{TestNode, assert_eventually, https, link};
use serde_json::Value;

const PATIENCE: Duration = Duration::from_secs(30);
const SECRET: &str = "SECRET-STRICTER-VERSION";
const DIRECT_NOTE: &str = "NOTE-FOR-DIRECT-PEERS";

/// ID's assertion of a domain at `node`: (status, version, tlp), if held.
fn held(node: &TestNode, value: &str) -> Option<(String, u64, String)> {
    let v = node.cli_json(&["lookup", "--kind", "domain", value]).ok()?;
    let a = v["views"][0]["assertions"].as_array()?.iter().find(|a| a["origin"] == "ID")?.clone();
    Some((a["status"].as_str()?.to_string(), a["version"].as_u64()?, a["tlp"].as_str()?.to_string()))
}

fn status(node: &TestNode, value: &str) -> Option<String> {
    held(node, value).map(|(s, _, _)| s)
}

fn add(node: &TestNode, value: &str, args: &[&str]) {
    let mut all = vec!["indicator", "add", "--kind", "domain", "--value", value, "--category", "job_scam"];
    all.extend_from_slice(args);
    node.cli_json(&all).unwrap();
}

fn id_of(node: &TestNode, value: &str) -> String {
    let v = node.cli_json(&["lookup", "--kind", "domain", value]).unwrap();
    v["views"][0]["assertions"][0]["indicator_id"].as_str().unwrap().to_string()
}

/// Everything a receiver holds and shows: nothing of a stricter version.
fn everything(node: &TestNode) -> String {
    let list = node.cli(&["--json", "indicator", "list", "--limit", "100000"]).unwrap();
    let csv = node.cli(&["export", "csv"]).unwrap();
    let stix = node.cli(&["export", "stix", "--max-tlp", "red", "--distribution", "local,direct,federation"]).unwrap();
    format!("{list}\n{csv}\n{stix}")
}

#[test]
fn re_markings_and_revocations_reach_every_node_that_held_an_earlier_version() -> Result<()> {
    let id = TestNode::builder("ID").start()?;
    let vn = TestNode::builder("VN").http().federation_key_of(&id).start()?;
    let my = TestNode::builder("MY").federation_key_of(&id).start()?;
    link(&id, &vn, &[], &[])?; // ID shares up to GREEN (the default)
    link(&vn, &my, &["--relay"], &[])?;
    my.add_peer(&id, &["--member-only", "--trust", "trusted"])?;

    let cases: [(&str, &[&str]); 4] = [
        ("to-red-loker.co.id", &["--tlp", "red"]),
        ("to-local-loker.co.id", &["--tlp", "green", "--distribution", "local"]),
        ("to-amber-loker.co.id", &["--tlp", "amber"]),
        ("to-direct-loker.co.id", &["--tlp", "green", "--distribution", "direct"]),
    ];
    for (value, _) in &cases {
        add(&id, value, &["--tlp", "green", "--description", "public note"]);
    }
    for (value, _) in &cases {
        for node in [&vn, &my] {
            assert_eventually!(PATIENCE, status(node, value).as_deref() == Some("active"), "{} holds {value}", node.id);
        }
    }
    // The narrower versions: three that neither VN nor MY may receive, and
    // one (`direct`) that VN may, with a note of its own.
    for (value, marking) in &cases[..3] {
        let mut args = marking.to_vec();
        args.extend_from_slice(&["--description", SECRET, "--confidence", "99"]);
        add(&id, value, &args);
    }
    let mut args = cases[3].1.to_vec();
    args.extend_from_slice(&["--description", DIRECT_NOTE, "--confidence", "77"]);
    add(&id, cases[3].0, &args);
    add(&id, "marker-loker.co.id", &["--tlp", "green"]);
    assert_eventually!(PATIENCE, my.lookup_found("marker-loker.co.id").unwrap_or(false));

    // The origin serves its stricter version; the others withdrew the GREEN one.
    for (value, _) in &cases[..3] {
        assert_eq!(held(&id, value).map(|h| h.0).as_deref(), Some("active"), "{value} at ID");
        for node in [&vn, &my] {
            let (st, version, tlp) = held(node, value).expect("held");
            assert_eq!((st.as_str(), version, tlp.as_str()), ("revoked", 2, "green"), "{value} at {}", node.id);
        }
    }
    // Direct: VN is a direct peer and gets the new version; MY got the
    // earlier one by relay and holds the withdrawal.
    let direct = cases[3].0;
    assert_eq!(held(&vn, direct).map(|h| (h.0, h.1)), Some(("active".to_string(), 3)));
    assert_eq!(held(&my, direct).map(|h| (h.0, h.1)), Some(("revoked".to_string(), 2)));
    for node in [&vn, &my] {
        let all = everything(node);
        assert!(!all.contains(SECRET), "{} holds a field of a stricter version:\n{all}", node.id);
        assert!(!all.contains("\"confidence\":99") && !all.contains(",99,"), "{}:\n{all}", node.id);
    }
    assert!(everything(&vn).contains(DIRECT_NOTE), "VN, a direct peer, holds the direct version");
    let at_my = everything(&my);
    assert!(!at_my.contains(DIRECT_NOTE) && !at_my.contains(",77,"), "MY holds the direct version:\n{at_my}");

    // Revoked at the origin: the tombstone reaches both, at its version.
    for (value, _) in &cases {
        let iid = id_of(&id, value);
        let tomb = id.cli_json(&["indicator", "revoke", &iid, "--reason", "withdrawn"])?;
        assert_eq!(tomb["action"], "revoke");
        assert!(tomb["description"].is_null(), "{tomb}");
        let version = tomb["version"].as_u64().unwrap();
        for node in [&vn, &my] {
            assert_eventually!(
                PATIENCE,
                held(node, value).is_some_and(|(s, v, _)| s == "revoked" && v == version),
                "{}: {value} revoked at version {version}",
                node.id
            );
        }
    }

    // VN's consumers see the withdrawal too: TAXII, the MISP feed, exports.
    let token = vn.cli(&["token", "create", "platform", "--max-tlp", "green"])?.trim().to_string();
    let coll = Collection::All.id("VN");
    let page = https::get(&vn, &format!("/jaring/collections/{coll}/objects/?match[type]=indicator"), Some(&token))?;
    assert_eq!(page.status, 200, "{}", page.text());
    let objects = page.json()?["objects"].as_array().cloned().unwrap_or_default();
    for (value, _) in &cases {
        let o: Vec<&Value> =
            objects.iter().filter(|o| o["pattern"] == format!("[domain-name:value = '{value}']")).collect();
        assert_eq!(o.len(), 1, "{value}: one object");
        assert_eq!(o[0]["revoked"], true, "{value}: {}", o[0]);
    }
    let mut ids: Vec<&str> = objects.iter().filter_map(|o| o["id"].as_str()).collect();
    let n = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), n, "one object per STIX id");
    let uuid = jaring_node::misp::event_uuid("ID", Kind::Domain);
    let event = https::get(&vn, &format!("/misp/{uuid}.json"), Some(&token))?.json()?;
    for (value, _) in &cases {
        let attrs = event["Event"]["Attribute"].as_array().cloned().unwrap_or_default();
        let a: Vec<&Value> = attrs.iter().filter(|a| a["value"] == *value).collect();
        assert_eq!(a.len(), 1, "{value} in the MISP event");
        assert_eq!(a[0]["to_ids"], false, "{value}: {}", a[0]);
    }
    let active = vn.cli(&["export", "stix", "--active-only"])?;
    for (value, _) in &cases {
        assert!(!active.contains(value), "{value} exported as active");
    }
    assert!(active.contains("marker-loker.co.id"));
    Ok(())
}

#[test]
fn a_feedback_tlp_override_cannot_widen_what_it_inherits() -> Result<()> {
    let id = TestNode::builder("ID").start()?;
    let vn = TestNode::builder("VN").start()?;
    link(&id, &vn, &[], &[])?; // GREEN
    add(&id, "amber-only-loker.co.id", &["--tlp", "amber"]);
    let out = id.cli_output(&["feedback", "add", "amber-only-loker.co.id", "--type", "sighting", "--tlp", "clear"])?;
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("tlp") && err.contains("TLP:AMBER"), "{err}");
    // Stricter is fine, and stays home like the indicator.
    let ok = id.cli_json(&["feedback", "add", "amber-only-loker.co.id", "--type", "sighting", "--tlp", "red"])?;
    assert_eq!(ok["tlp"], "red");
    add(&id, "after-feedback-loker.co.id", &["--tlp", "green"]);
    assert_eventually!(PATIENCE, vn.lookup_found("after-feedback-loker.co.id").unwrap_or(false));
    assert!(!vn.lookup_found("amber-only-loker.co.id")?, "the AMBER value never reached the GREEN peer");
    let status = vn.cli_json(&["status"])?;
    assert_eq!(status["log_head"], 1, "nothing but the GREEN indicator arrived: {status}");
    Ok(())
}
