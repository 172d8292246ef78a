//! One value looked up alone (read candidate by candidate) and the same
//! value among others (read as one batch) answer alike.
#![allow(clippy::unwrap_used)]

use super::trust_tests::{domain, start, submit};
use crate::model::{Distribution, Kind, Tlp};
use crate::submission::NewIndicator;
use crate::view::LookupResult;

/// Per view: its kind, value, highest confidence and origins.
type Views = Vec<(Kind, String, u8, Vec<String>)>;

/// What a lookup answers, without the scores that move with the clock.
fn answer(r: &LookupResult) -> (String, bool, Option<String>, Views) {
    let views = r
        .views
        .iter()
        .map(|v| (v.kind, v.value.clone(), v.max_confidence, v.assertions.iter().map(|a| a.origin.clone()).collect()))
        .collect();
    (r.query.clone(), r.found, r.error.clone(), views)
}

#[tokio::test]
async fn one_value_alone_is_answered_as_within_a_batch() {
    let n = start("ID", |_| {});
    submit(&n.node, domain("loker-kerja.co.id", Tlp::Green, Distribution::Federation, "job scam")).await;
    let email = NewIndicator {
        kind: Some(Kind::Email),
        value: "hr.team@loker-kerja.co.id".into(),
        ..domain("", Tlp::Green, Distribution::Federation, "recruiter")
    };
    submit(&n.node, email).await;
    let queries: Vec<(String, Option<Kind>)> = vec![
        ("LOKER-KERJA.co.id".into(), None),
        ("loker-kerja.co.id".into(), Some(Kind::Domain)),
        ("HR.Team@loker-kerja.co.id".into(), None),
        ("hr.team@loker-kerja.co.id".into(), Some(Kind::Email)),
        ("not a domain at all".into(), Some(Kind::Domain)),
        ("nothing-here.co.id".into(), None),
    ];
    let filler = ("lain.co.id".to_string(), None);
    for query in &queries {
        // Twice: the first read from the store, the second from the cache.
        for _ in 0..2 {
            let alone = n.node.lookup(std::slice::from_ref(query)).unwrap();
            let batch = n.node.lookup(&[filler.clone(), query.clone(), filler.clone()]).unwrap();
            assert_eq!(alone.len(), 1);
            assert_eq!(batch.len(), 3);
            assert_eq!(answer(&alone[0]), answer(&batch[1]), "{query:?}");
        }
    }
    let found = |q: &str, k| n.node.lookup(&[(q.to_string(), k)]).unwrap().remove(0);
    assert!(found("LOKER-KERJA.co.id", None).found);
    assert!(found("HR.Team@loker-kerja.co.id", None).found);
    assert_eq!(found("loker-kerja.co.id", Some(Kind::Domain)).views[0].assertions[0].origin, "ID");
    assert!(found("not a domain at all", Some(Kind::Domain)).error.is_some());
    assert!(!found("nothing-here.co.id", None).found);
}

#[tokio::test]
async fn a_new_value_is_answered_from_memory_as_the_store_answers_it() {
    let n = start("ID", |_| {});
    let lookup = &n.node.committed().lookup;
    // As on a shared store (on fjall, values are cached when asked).
    lookup.cache_commits(true);
    assert_eq!(lookup.cached(), 0);
    submit(&n.node, domain("gaji-besar.co.id", Tlp::Green, Distribution::Federation, "job scam")).await;
    submit(&n.node, domain("kerja-luar.co.id", Tlp::Amber, Distribution::Federation, "recruiter")).await;
    assert_eq!(lookup.cached(), 2, "each commit cached the value it listed");
    for value in ["gaji-besar.co.id", "kerja-luar.co.id"] {
        let cached = lookup
            .get::<std::convert::Infallible>(Kind::Domain, value, || panic!("{value} was read from the store"))
            .unwrap()
            .unwrap();
        let stored = n.node.held_many(&[(Kind::Domain, value)]).unwrap().remove(0);
        assert_eq!(cached.assertions, stored.assertions, "{value}");
        assert!(cached.events.is_empty() && stored.events.is_empty());
    }
    // A second version changes an answer already held: read again.
    let mut again = domain("gaji-besar.co.id", Tlp::Green, Distribution::Federation, "job scam");
    again.confidence = 40;
    submit(&n.node, again).await;
    assert_eq!(lookup.cached(), 1, "the changed value left the cache");
    let r = n.node.lookup(&[("gaji-besar.co.id".into(), Some(Kind::Domain))]).unwrap().remove(0);
    assert_eq!(r.views[0].max_confidence, 40);
    assert_eq!(r.views[0].assertions.len(), 1);
}
