//! Tests of the node's own side of issue 13's trust holes: withdrawal after
//! re-marking, key ownership of cards, the feedback TLP override, a full
//! disk, and TAXII objects by id. (What a receiver refuses from a peer is
//! tested black-box in tests/tests/hostile_content.rs.)
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use crate::envelope::{Entry, Indicator, Marking};
use crate::feedback::{FeedbackType, NewFeedback};
use crate::identity::{CardKey, IdentityCard};
use crate::init::{InitOptions, init};
use crate::keys::SigningKey;
use crate::model::{Action, Category, Distribution, Kind, Tlp};
use crate::node::{Conflict, Node, NodeError, NotFound};
use crate::peers::{InboundAgreement, OutboundAgreement, Peer};
use crate::store::LogEntry;
use crate::submission::NewIndicator;

pub(super) struct Running {
    pub(super) node: Arc<Node>,
    _ledger: std::thread::JoinHandle<()>,
    _tmp: tempfile::TempDir,
    dir: std::path::PathBuf,
}

pub(super) fn start(id: &str, edit: impl FnOnce(&std::path::Path)) -> Running {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("n");
    init(&InitOptions::loopback(id, dir.clone())).unwrap();
    edit(&dir);
    let config = crate::config::Config::load(&dir.join("node.toml")).unwrap();
    let (node, ledger) = Node::open(config).unwrap();
    Running { node, _ledger: ledger, _tmp: tmp, dir }
}

pub(super) fn domain(value: &str, tlp: Tlp, distribution: Distribution, description: &str) -> NewIndicator {
    NewIndicator {
        kind: Some(Kind::Domain),
        value: value.into(),
        categories: vec![Category::JobScam],
        confidence: 90,
        tlp: Some(tlp),
        distribution: Some(distribution),
        description: Some(description.into()),
        source_refs: vec![format!("{description} source")],
        ..NewIndicator::default()
    }
}

pub(super) async fn submit(node: &Node, input: NewIndicator) {
    let r = node.submit(vec![input], "ops").await.unwrap();
    r.into_iter().next().unwrap().unwrap();
}

/// Every indicator version in the log, in order.
fn versions(node: &Node) -> Vec<Indicator> {
    let hidden = node.committed().hidden();
    node.store()
        .log_entries_after(0, &hidden)
        .filter_map(|r| match r.unwrap().body.entry {
            Entry::Indicator(i) => Some(i),
            _ => None,
        })
        .collect()
}

fn green() -> Marking {
    Marking { tlp: Tlp::Green, distribution: Distribution::Federation, categories: vec![Category::JobScam] }
}

#[tokio::test]
async fn a_narrower_re_marking_publishes_a_withdrawal_notice_first() {
    let r = start("ID", |_| {});
    let node = &r.node;
    submit(node, domain("remarked-loker.co.id", Tlp::Green, Distribution::Federation, "public")).await;
    // Wider again: nothing to withdraw.
    submit(node, domain("remarked-loker.co.id", Tlp::Clear, Distribution::Federation, "public")).await;
    assert_eq!(versions(node).len(), 2);
    submit(node, domain("remarked-loker.co.id", Tlp::Red, Distribution::Federation, "secret")).await;
    let v = versions(node);
    assert_eq!(v.len(), 4, "a notice, then the RED version: {v:#?}");
    let (notice, red) = (&v[2], &v[3]);
    assert_eq!((notice.action, notice.version, red.action, red.version), (Action::Revoke, 3, Action::Upsert, 4));
    let clear = Marking { tlp: Tlp::Clear, ..green() };
    assert_eq!(notice.reach, vec![green(), clear], "both earlier markings, neither covered by RED");
    assert_eq!((notice.tlp, notice.distribution, notice.confidence.get()), (Tlp::Clear, Distribution::Federation, 0));
    assert_eq!((notice.description.as_deref(), notice.source_refs.len()), (None, 0));
    // The node serves its current version, RED.
    let held = node.indexed_at(Kind::Domain, "remarked-loker.co.id", "ID").unwrap().unwrap();
    let Some(LogEntry { body, .. }) = node.log_entry(held).unwrap() else { panic!() };
    assert!(matches!(body.entry, Entry::Indicator(ref i) if i.tlp == Tlp::Red && i.version == 4));

    // The revocation reaches what left, with nothing of the RED version.
    let tomb = node.revoke(&red.id, "gone", "ops").await.unwrap();
    assert_eq!((tomb.action, tomb.version, tomb.tlp, tomb.confidence), (Action::Revoke, 5, Tlp::Clear, 0));
    assert_eq!((tomb.description, tomb.source_refs.len(), tomb.valid_until_ms), (None, 0, None));
    let last = versions(node).pop().unwrap();
    assert_eq!(last.reach.len(), 2);
    assert_eq!(last.first_seen_ms, v[0].first_seen_ms);

    // Narrower distribution and fewer categories withdraw too; a value that
    // never left keeps its tombstone home.
    submit(node, domain("direct-loker.co.id", Tlp::Green, Distribution::Federation, "x")).await;
    submit(node, domain("direct-loker.co.id", Tlp::Green, Distribution::Direct, "x")).await;
    let v = versions(node);
    assert_eq!(v[v.len() - 2].action, Action::Revoke, "relays got the federation version");
    submit(node, domain("home-loker.co.id", Tlp::Red, Distribution::Federation, "x")).await;
    let home = versions(node).pop().unwrap();
    let tomb = node.revoke(&home.id, "x", "ops").await.unwrap();
    assert_eq!((tomb.tlp, tomb.action), (Tlp::Red, Action::Revoke), "stays where it always was");
    assert!(versions(node).pop().unwrap().reach.is_empty());
}

fn card_text(node_id: &str, signer: &SigningKey, extra: &[(String, String)], ca: &str) -> String {
    let mut keys = vec![CardKey {
        key_id: signer.id().to_string(),
        public_key_hex: hex::encode(signer.public().as_bytes()),
        valid_from_ms: 0,
        revoked_at_ms: None,
    }];
    for (id, hex) in extra {
        keys.push(CardKey { key_id: id.clone(), public_key_hex: hex.clone(), valid_from_ms: 0, revoked_at_ms: None });
    }
    IdentityCard {
        version: 1,
        node_id: node_id.into(),
        federation_endpoint: "127.0.0.1:1".into(),
        tls_name: format!("{}.jaring.local", node_id.to_lowercase()),
        tls_ca_pem: ca.into(),
        signing_keys: keys,
        issued_at_ms: 1,
    }
    .sign(signer)
}

fn peer(card_text: String) -> Peer {
    Peer {
        card: IdentityCard::verify(&card_text).unwrap(),
        card_text,
        trust: crate::model::Trust::Trusted,
        member_only: true,
        endpoint_override: None,
        outbound: OutboundAgreement::default(),
        inbound: InboundAgreement::default(),
        added_at_ms: 0,
    }
}

#[tokio::test]
async fn a_card_may_not_claim_a_key_another_node_holds_and_removal_drops_only_owned_keys() {
    let r = start("ID", |_| {});
    let node = &r.node;
    let ca = std::fs::read_to_string(r.dir.join("tls/ca.pem")).unwrap();
    let own = node.keys(false).pop().unwrap();
    let my_key = SigningKey::generate(0);
    node.add_peer(peer(card_text("MY", &my_key, &[], &ca)), "ops").await.unwrap();

    for (victim, id, hex) in [
        ("ID", own.key_id.clone(), own.public_key_hex.clone()),
        ("MY", my_key.id().to_string(), hex::encode(my_key.public().as_bytes())),
    ] {
        let evil = SigningKey::generate(0);
        let err = node.add_peer(peer(card_text("EVIL", &evil, &[(id.clone(), hex)], &ca)), "ops").await.unwrap_err();
        match err {
            NodeError::Conflict(Conflict::KeyOwned { key_id, node: n, owner }) => {
                assert_eq!((key_id.as_str(), n.as_str(), owner.as_str()), (id.as_str(), "EVIL", victim));
            }
            e => panic!("{e}"),
        }
        assert!(node.peer("EVIL").is_none());
        assert_eq!(node.key_owner(&id).unwrap().as_deref(), Some(victim), "the key stays with {victim}");
    }
    let audit = crate::store::audit::list(node.store(), &crate::store::audit::AuditFilter::default()).unwrap();
    let refused: Vec<_> = audit.iter().filter(|e| e.draft.action == "peer.add.refused").collect();
    assert_eq!(refused.len(), 2);
    assert!(refused.iter().all(|e| e.draft.reason.as_deref() == Some("key_owned")), "{refused:?}");

    // Removing a peer drops its keys and nobody else's.
    let th_key = SigningKey::generate(0);
    node.add_peer(peer(card_text("TH", &th_key, &[], &ca)), "ops").await.unwrap();
    node.remove_peer("TH", "ops").await.unwrap();
    assert_eq!(node.key_owner(th_key.id().as_str()).unwrap(), None);
    assert_eq!(node.key_owner(my_key.id().as_str()).unwrap().as_deref(), Some("MY"));
    assert_eq!(node.key_owner(&own.key_id).unwrap().as_deref(), Some("ID"));
}

/// A sighting of the domain `value`, marked `tlp`, by a reporter with TLP
/// `ceiling`.
fn sighting(value: &str, tlp: Option<Tlp>, ceiling: Option<Tlp>) -> NewFeedback {
    NewFeedback {
        value: value.into(),
        kind: Some(Kind::Domain),
        feedback_type: FeedbackType::Sighting,
        platform: None,
        action_taken: None,
        reason: None,
        note: None,
        referred_to: None,
        observed_at_ms: None,
        tlp,
        case_ref: None,
        ceiling,
    }
}

#[tokio::test]
async fn a_feedback_tlp_override_only_restricts() {
    let r = start("ID", |_| {});
    let node = &r.node;
    submit(node, domain("amber-loker.co.id", Tlp::Amber, Distribution::Federation, "x")).await;
    let fb = |tlp: Option<Tlp>, observed_at_ms: Option<i64>| NewFeedback {
        observed_at_ms,
        ..sighting("amber-loker.co.id", tlp, None)
    };
    for wider in [Tlp::Clear, Tlp::Green] {
        match node.add_feedback(fb(Some(wider), None), "ops").await {
            Err(NodeError::Input(e)) => assert_eq!(e.field, "tlp", "{e}"),
            other => panic!("{wider}: {other:?}"),
        }
    }
    assert_eq!(node.add_feedback(fb(None, None), "ops").await.unwrap().tlp, Tlp::Amber);
    assert_eq!(node.add_feedback(fb(Some(Tlp::Amber), None), "ops").await.unwrap().tlp, Tlp::Amber);
    assert_eq!(node.add_feedback(fb(Some(Tlp::Red), None), "ops").await.unwrap().tlp, Tlp::Red);
    match node.add_feedback(fb(None, Some(4_102_444_800_000)), "ops").await {
        Err(NodeError::Input(e)) => assert_eq!(e.field, "observed_at", "{e}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn feedback_builds_only_on_what_its_reporter_may_see() {
    let r = start("ID", |_| {});
    let node = &r.node;
    submit(node, domain("amber-only.co.id", Tlp::Amber, Distribution::Federation, "x")).await;
    let fb = |ceiling: Tlp, tlp: Option<Tlp>| sighting("amber-only.co.id", tlp, Some(ceiling));
    // Held only above a GREEN token's ceiling: not found for it.
    match node.add_feedback(fb(Tlp::Green, None), "platform:meta").await {
        Err(NodeError::NotFound(NotFound::HeldValue(_))) => {}
        other => panic!("{other:?}"),
    }
    // An AMBER token may report it, but not mark it RED: it could not see it.
    match node.add_feedback(fb(Tlp::Amber, Some(Tlp::Red)), "platform:meta").await {
        Err(NodeError::Input(e)) => assert_eq!(e.field, "tlp", "{e}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(node.add_feedback(fb(Tlp::Amber, None), "platform:meta").await.unwrap().tlp, Tlp::Amber);
}

#[tokio::test]
async fn a_full_disk_is_reported_until_a_commit_succeeds() {
    let r = start("ID", |dir| {
        let path = dir.join("node.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        let text = text.replacen("[store]", "[store]\ntest_fault_file = \"disk-full\"", 1);
        assert!(text.contains("test_fault_file"), "{text}");
        std::fs::write(path, text).unwrap();
    });
    let node = &r.node;
    submit(node, domain("before-loker.co.id", Tlp::Green, Distribution::Federation, "x")).await;
    assert!(!node.store_health().failing);
    std::fs::write(r.dir.join("disk-full"), b"").unwrap();
    let err = node.submit(vec![domain("full-loker.co.id", Tlp::Green, Distribution::Federation, "x")], "ops").await;
    assert!(matches!(err, Err(NodeError::Store(_))), "{err:?}");
    let health = node.store_health();
    assert!(health.failing && health.failing_since_ms.is_some(), "{health:?}");
    assert!(health.last_error.as_deref().unwrap_or_default().contains("No space left"), "{health:?}");
    assert!(node.status().unwrap().store.failing);
    assert!(node.ledger().probe().await.is_err());
    assert!(node.store_health().failing, "still full");
    std::fs::remove_file(r.dir.join("disk-full")).unwrap();
    node.ledger().probe().await.unwrap();
    let health = node.store_health();
    assert!(!health.failing && health.failed_commits >= 2, "{health:?}");
    submit(node, domain("after-loker.co.id", Tlp::Green, Distribution::Federation, "x")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pipelined_writer_stores_what_it_acknowledged_and_nothing_built_on_a_failed_commit() {
    let with_fault = |dir: &std::path::Path| {
        let path = dir.join("node.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(path, text.replacen("[store]", "[store]\ntest_fault_file = \"disk-full\"", 1)).unwrap();
    };
    crate::node::TEST_PIPELINE.with(|p| p.set(true));
    let r = start("ID", with_fault);
    crate::node::TEST_PIPELINE.with(|p| p.set(false));
    let before = versions(&r.node).len();
    // Submissions stream from many callers (so the writer builds one commit
    // while the one before commits) while the disk fills and empties.
    let full = r.dir.join("disk-full");
    let toggler = tokio::spawn(async move {
        for i in 0..40 {
            if i % 2 == 0 {
                std::fs::write(&full, b"").unwrap();
            } else {
                let _ = std::fs::remove_file(&full);
            }
            tokio::time::sleep(std::time::Duration::from_millis(3)).await;
        }
        let _ = std::fs::remove_file(&full);
    });
    let callers: Vec<_> = (0..16)
        .map(|c| {
            let node = r.node.clone();
            tokio::spawn(async move {
                let mut outcomes = Vec::new();
                for i in 0..25 {
                    let value = format!("pipe-{c}-{i}.co.id");
                    let d = domain(&value, Tlp::Green, Distribution::Federation, "x");
                    let ok = match node.submit(vec![d], "ops").await {
                        Ok(mut items) => items.pop().is_some_and(|i| i.is_ok()),
                        Err(NodeError::Store(_)) => false,
                        Err(e) => panic!("{e:?}"),
                    };
                    outcomes.push((value, ok));
                }
                outcomes
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for c in callers {
        outcomes.extend(c.await.unwrap());
    }
    toggler.await.unwrap();
    let acked: std::collections::BTreeSet<String> =
        outcomes.iter().filter(|(_, ok)| *ok).map(|(v, _)| v.clone()).collect();
    assert!(!acked.is_empty() && acked.len() < outcomes.len(), "some commits failed, some landed: {}", acked.len());
    // The log holds exactly the acknowledged submissions, once each, at
    // consecutive positions (a commit built on a failed one stored nothing).
    let stored = |node: &Node| {
        let v = versions(node);
        v[before..].iter().map(|i| i.value.as_str().to_string()).collect::<Vec<_>>()
    };
    let logged = stored(&r.node);
    assert_eq!(logged.len(), acked.len(), "each acknowledged entry once, nothing else");
    assert_eq!(logged.iter().cloned().collect::<std::collections::BTreeSet<_>>(), acked);
    assert_eq!(
        r.node.store().log_head().unwrap() as usize,
        r.node.store().log_entries_after(0, &Default::default()).count()
    );
    // The writer goes on on what is stored, and the audit chain holds.
    submit(&r.node, domain("after-pipe.co.id", Tlp::Green, Distribution::Federation, "x")).await;
    assert_eq!(stored(&r.node).len(), acked.len() + 1);
    crate::store::audit::verify(r.node.store()).unwrap();
}

#[tokio::test]
async fn taxii_answers_objects_by_id_from_the_index() {
    use crate::http::taxii::{Collection, PageQuery, Served, Taxii};
    use crate::store::TableWrites;
    let r = start("ID", |_| {});
    let node = &r.node;
    submit(node, domain("taxii-loker.co.id", Tlp::Green, Distribution::Federation, "v1")).await;
    submit(node, domain("taxii-loker.co.id", Tlp::Green, Distribution::Federation, "v2")).await;
    let taxii = Taxii::new(node.clone());
    let token = crate::access::Scope { max_tlp: Tlp::Green, kinds: vec![], categories: vec![] };
    let id = crate::stix::indicator_id(&crate::envelope::indicator_id("ID", Kind::Domain, "taxii-loker.co.id"));
    let q = PageQuery::default();
    let found = taxii.object_by_id(Collection::All, &token, &id, &q).unwrap();
    assert_eq!(found.len(), 1);
    let Served::Indicator(rec) = &found[0].object else { panic!() };
    assert_eq!((rec.version, rec.description.as_deref()), (2, Some("v2")), "the current version");
    // Its date_added is the one a page gives it.
    let page = taxii.page(Collection::All, &token, &PageQuery { limit: 100, ..PageQuery::default() }).unwrap().0;
    let paged = page.iter().find(|i| matches!(&i.object, Served::Indicator(r) if r.version == 2)).unwrap();
    assert_eq!(found[0].date_added_us, paged.date_added_us);
    let amber = crate::access::Scope { max_tlp: Tlp::Clear, ..token.clone() };
    assert!(taxii.object_by_id(Collection::All, &amber, &id, &q).unwrap().is_empty(), "above its TLP");

    // An entry that does not decode at the log's end: a scan would fail on
    // it; ids nothing has are answered from the index alone.
    let head = node.store().log_head().unwrap();
    let mut batch = crate::store::Batch::default();
    batch.put_log(
        head + 1,
        &crate::envelope::SignedEnvelope { body: vec![0x0f, 1, 2], signature: vec![], key_id: String::new() },
    );
    node.store().commit(batch).unwrap();
    assert!(taxii.page(Collection::All, &token, &PageQuery { limit: 100, ..PageQuery::default() }).is_err());
    for unknown in ["indicator--00000000-0000-5000-8000-000000000000", "identity--nobody", "x--y", ""] {
        assert!(taxii.object_by_id(Collection::All, &token, unknown, &q).unwrap().is_empty(), "{unknown}");
    }
}

#[tokio::test]
async fn a_peer_batch_continues_only_from_the_stored_cursor_even_queued_behind_one_refused() {
    use crate::ledger::IngestBatch;
    use crate::store::StoreError;
    let r = start("ID", |_| {});
    let ledger = r.node.ledger();
    let batch = |after: u64, cursor: u64| IngestBatch {
        peer: "VN".into(),
        cursor: Some(cursor),
        after: Some(after),
        ..IngestBatch::default()
    };
    ledger.ingest(batch(0, 5)).await.unwrap();
    assert_eq!(r.node.cursor("VN").unwrap(), 5);
    // Two handed over at once (a link's pipeline): the second continues
    // from the first's cursor, in the same commit or the next.
    let first = ledger.submit_ingest(batch(5, 7)).await.unwrap();
    let second = ledger.submit_ingest(batch(7, 9)).await.unwrap();
    first.await.unwrap();
    second.await.unwrap();
    assert_eq!(r.node.cursor("VN").unwrap(), 9);
    // One that continues from elsewhere stores nothing, and neither does
    // the one queued behind it.
    let stale = ledger.submit_ingest(batch(3, 11)).await.unwrap();
    let behind = ledger.submit_ingest(batch(11, 12)).await.unwrap();
    let moved = |e: Result<_, StoreError>, want: u64| match e {
        Err(StoreError::CursorMoved { peer, expected, stored }) => {
            assert_eq!((peer.as_str(), expected, stored), ("VN", want, 9));
        }
        other => panic!("{other:?}"),
    };
    moved(stale.await, 3);
    moved(behind.await, 11);
    assert_eq!(r.node.cursor("VN").unwrap(), 9);
    // A link starting again waits for what its last session handed over.
    let _pending = ledger.submit_ingest(batch(9, 10)).await.unwrap();
    ledger.settled().await.unwrap();
    assert_eq!(r.node.cursor("VN").unwrap(), 10);
    // A batch without `after` (an import) is not held to a cursor.
    ledger.ingest(IngestBatch { peer: "VN".into(), cursor: Some(4), ..IngestBatch::default() }).await.unwrap();
    assert_eq!(r.node.cursor("VN").unwrap(), 4);
}
