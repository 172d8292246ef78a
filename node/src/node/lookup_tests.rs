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
