//! STIX 2.1 import: `parse_bundle` and `parse_pattern`.
//!
//! Properties:
//! - nothing panics;
//! - one result per `indicator` object (or object without a type), in
//!   order, each naming its index in `objects` and, when refused, its id;
//! - a taken indicator has a kind, at least one category and a confidence
//!   of at most 100;
//! - import -> export -> import gives the same submission (kind, value,
//!   categories, confidence, TLP, distribution, times, description,
//!   sources): what Jaring writes it reads back;
//! - a pattern that parses comes back from its own quoting unchanged.
#![no_main]

use jaring_node::model::Action;
use jaring_node::stix::{self, import::to_submission, parse_bundle, parse_pattern};
use jaring_node::submission::NewIndicator;
use jaring_node::view::IndicatorRecord;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fn quote(v: &str) -> String {
    let mut s = String::from("'");
    for c in v.chars() {
        if matches!(c, '\'' | '\\') {
            s.push('\\');
        }
        s.push(c);
    }
    s.push('\'');
    s
}

/// What the export writes for a submission, as a stored record would be.
fn record(sub: &NewIndicator) -> Option<IndicatorRecord> {
    Some(IndicatorRecord {
        id: "fuzz".into(),
        origin: "ID".into(),
        origin_seq: 1,
        local_seq: 1,
        kind: sub.kind?,
        value: sub.value.clone(),
        keyed_hash: None,
        hash_epoch: None,
        categories: sub.categories.clone(),
        confidence: u8::try_from(sub.confidence).ok()?,
        tlp: sub.tlp?,
        distribution: sub.distribution.unwrap_or(jaring_node::model::Distribution::Federation),
        first_seen_ms: sub.first_seen_ms.unwrap_or(1_700_000_000_000),
        last_seen_ms: sub.last_seen_ms.unwrap_or(1_700_000_000_000),
        valid_until_ms: sub.valid_until_ms,
        action: Action::Upsert,
        version: 1,
        created_at_ms: 1_700_000_000_000,
        description: sub.description.clone(),
        source_refs: sub.source_refs.clone(),
        key_id: "k".into(),
    })
}

fn round_trip(sub: &NewIndicator) {
    let Some(rec) = record(sub) else { panic!("taken indicator without kind, TLP or a u8 confidence: {sub:?}") };
    let exported = stix::indicator(&rec);
    let back = match to_submission(&exported) {
        Ok(b) => b,
        Err(e) => panic!("exported form of {sub:?} is refused: {e}\n{exported}"),
    };
    assert_eq!(back.kind, sub.kind);
    assert_eq!(back.value, sub.value);
    assert_eq!(back.categories, sub.categories);
    assert_eq!(back.confidence, sub.confidence);
    assert_eq!(back.tlp, sub.tlp);
    if sub.distribution.is_some() {
        assert_eq!(back.distribution, sub.distribution);
    }
    if sub.first_seen_ms.is_some() {
        assert_eq!(back.first_seen_ms, sub.first_seen_ms);
    }
    if sub.last_seen_ms.is_some() {
        assert_eq!(back.last_seen_ms, sub.last_seen_ms);
    }
    // The export leaves out an expiry that is not after first_seen.
    if sub.valid_until_ms.is_some_and(|u| u > rec.first_seen_ms) {
        assert_eq!(back.valid_until_ms, sub.valid_until_ms);
    }
    assert_eq!(back.description, sub.description);
    assert_eq!(back.source_refs, sub.source_refs);
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };

    if let Ok((ty, prop, value)) = parse_pattern(text) {
        let again = parse_pattern(&format!("[{ty}:{prop} = {}]", quote(&value)));
        assert_eq!(again, Ok((ty, prop, value)), "pattern does not survive quoting");
    }

    let Ok(parsed) = parse_bundle(text) else { return };
    let Ok(bundle) = serde_json::from_str::<Value>(text) else { panic!("parse_bundle took invalid JSON") };
    // A bundle or TAXII envelope, or one object standing alone.
    let single = [bundle.clone()];
    let objects = bundle.get("objects").and_then(Value::as_array).map_or(&single[..], Vec::as_slice);
    let mut last = None;
    for (index, r) in &parsed {
        // An OR pattern gives one result per value, under one index.
        assert!(last.is_none_or(|l| l <= *index), "indices out of order");
        last = Some(*index);
        let Some(o) = objects.get(*index) else { panic!("index {index} out of range") };
        let ty = o.get("type").and_then(Value::as_str);
        assert!(ty.is_none() || ty == Some("indicator"), "result for a {ty:?} object");
        match r {
            Ok(sub) => {
                assert!(sub.kind.is_some() && !sub.categories.is_empty() && sub.confidence <= 100, "{sub:?}");
                round_trip(sub);
            }
            Err(e) => {
                assert_eq!(e.index, *index);
                assert_eq!(e.id, o.get("id").and_then(Value::as_str).unwrap_or(""));
            }
        }
    }
    let expected =
        objects.iter().filter(|o| matches!(o.get("type").and_then(Value::as_str), None | Some("indicator"))).count();
    let mut indices: Vec<usize> = parsed.iter().map(|(i, _)| *i).collect();
    indices.dedup();
    assert_eq!(indices.len(), expected, "results for every indicator object");
});
