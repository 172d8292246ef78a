//! The transparency log inside one node: the tree in every commit, the
//! check at start, checkpoints and inclusion proofs.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use crate::init::{InitOptions, init};
use crate::model::{Category, Distribution, Kind, Tlp};
use crate::node::{Node, StartError};
use crate::store::{Batch, Keyspace, StoreError, TableWrites, Tables};
use crate::submission::NewIndicator;
use crate::tlog::proof::TlogProof;

fn init_dir(dir: &std::path::Path) {
    init(&InitOptions { region: Some("ID".into()), ..InitOptions::loopback("ID", dir.to_path_buf()) }).unwrap();
}

fn set_log_enabled(dir: &std::path::Path, on: bool) {
    let path = dir.join("node.toml");
    let mut config = crate::config::Config::load(&path).unwrap();
    config.log.enabled = on;
    std::fs::write(&path, config.to_toml()).unwrap();
}

fn open(dir: &std::path::Path) -> Result<(Arc<Node>, std::thread::JoinHandle<()>), StartError> {
    Node::open(crate::config::Config::load(&dir.join("node.toml")).unwrap())
}

async fn close(node: Arc<Node>, ledger: std::thread::JoinHandle<()>) {
    drop(node);
    tokio::task::spawn_blocking(move || ledger.join()).await.unwrap().unwrap();
}

fn domain(i: u64) -> NewIndicator {
    NewIndicator {
        kind: Some(Kind::Domain),
        value: format!("loker-{i}.example.co.id"),
        categories: vec![Category::JobScam],
        confidence: 70,
        tlp: Some(Tlp::Green),
        distribution: Some(Distribution::Federation),
        ..Default::default()
    }
}

async fn publish(node: &Node, from: u64, n: u64) {
    for chunk in (from..from + n).collect::<Vec<_>>().chunks(100) {
        let done = node.submit(chunk.iter().map(|i| domain(*i)).collect(), "test").await.unwrap();
        assert!(done.iter().all(Result::is_ok), "{done:?}");
    }
}

/// The root of the store's log computed apart from the ledger's tree.
fn independent_root(node: &Node) -> (u64, crate::tlog::Hash) {
    let tree = crate::log_tree::from_store(node.store()).unwrap();
    (tree.state.size(), tree.state.root())
}

#[tokio::test]
async fn every_commit_keeps_the_tree_and_a_restart_checks_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("id");
    init_dir(&dir);
    let (node, ledger) = open(&dir).unwrap();
    // 300 entries: a full level-0 tile, a partial one, a level-1 partial.
    publish(&node, 0, 300).await;
    let head = node.ledger().tree_head().borrow().unwrap();
    assert_eq!(head.size, node.store().log_head().unwrap());
    assert_eq!((head.size, head.root), independent_root(&node));
    assert_eq!(node.store().tlog_size().unwrap(), Some(head.size));
    assert_eq!(node.store().tile(0, 0).unwrap().map(|t| t.len()), Some(256 * 32));

    // A checkpoint of it, signed and verifiable with the node's keys.
    let cp = node.sign_checkpoint().await.unwrap();
    assert_eq!((cp.checkpoint.size, cp.checkpoint.root), (head.size, head.root));
    assert_eq!(cp.checkpoint.origin, "id.jaring.local/log");
    crate::tlog::checkpoint::open(cp.to_text().as_bytes(), node.log_origin(), &node.own_log_keys()).unwrap();
    // Not cosigned by anyone: a proof can be refused for that ...
    assert!(matches!(
        node.prove_entry(7, true).await,
        Err(crate::node::NodeError::Conflict(crate::node::Conflict::NotYetCosigned { local_seq: 7, cosigned_size: 0 }))
    ));
    // ... or made against the latest checkpoint, and it verifies offline.
    let proof = node.prove_entry(7, false).await.unwrap();
    let text = proof.to_text();
    let parsed = TlogProof::parse(text.as_bytes()).unwrap();
    let verified = parsed.verify(None, node.log_origin(), &node.own_log_keys(), &[], 0).unwrap();
    assert_eq!(verified.index, 6);
    assert_eq!(parsed.extra, node.store().log_record(7).unwrap().map(|r| r.bytes));
    assert!(matches!(
        node.prove_entry(10_000, false).await,
        Err(crate::node::NodeError::NotFound(crate::node::NotFound::LogEntry(10_000)))
    ));

    // A restart checks every tile against the log, and carries on.
    close(node, ledger).await;
    let (node, ledger) = open(&dir).unwrap();
    assert_eq!(node.checkpoint().map(|c| c.checkpoint.size), Some(300));
    publish(&node, 300, 20).await;
    let head = node.ledger().tree_head().borrow().unwrap();
    assert_eq!((head.size, head.root), independent_root(&node));
    close(node, ledger).await;

    // One changed byte of one entry: the node refuses to start.
    let store = crate::store::open_existing(&dir.join("db"), 8).unwrap();
    let mut bytes = store.log_record(42).unwrap().unwrap().bytes;
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    let mut batch = Batch::default();
    batch.put_log_bytes(42, bytes);
    store.commit(batch).unwrap();
    drop(store);
    match open(&dir) {
        Err(StartError::Store(StoreError::Corrupt { keyspace: Keyspace::Tiles, reason })) => {
            assert!(reason.contains("tile 0/0 does not match"), "{reason}");
        }
        other => panic!("a tampered log started: {:?}", other.map(|_| ())),
    }
}

#[tokio::test]
async fn a_log_rewritten_with_its_tree_is_refused_by_the_checkpoint_it_signed() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("id");
    init_dir(&dir);
    let (node, ledger) = open(&dir).unwrap();
    publish(&node, 0, 10).await;
    node.sign_checkpoint().await.unwrap();
    close(node, ledger).await;

    // Swap two entries and drop the tree, as someone covering their tracks
    // would: the tree is rebuilt from the log, but no longer gives the root
    // this node signed.
    let store = crate::store::open_existing(&dir.join("db"), 8).unwrap();
    let a = store.log_record(9).unwrap().unwrap().bytes;
    let b = store.log_record(10).unwrap().unwrap().bytes;
    let mut batch = Batch::default();
    batch.put_log_bytes(9, b);
    batch.put_log_bytes(10, a);
    batch.delete_tlog_size();
    store.commit(batch).unwrap();
    drop(store);
    match open(&dir) {
        Err(StartError::Store(StoreError::Corrupt { keyspace: Keyspace::Tiles, reason })) => {
            assert!(reason.contains("no longer gives the root this node signed at size 10"), "{reason}");
        }
        other => panic!("a rewritten log started: {:?}", other.map(|_| ())),
    }
}

#[tokio::test]
async fn with_the_log_off_no_tree_is_kept_and_turning_it_on_builds_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("id");
    init_dir(&dir);
    set_log_enabled(&dir, false);
    let (node, ledger) = open(&dir).unwrap();
    publish(&node, 0, 30).await;
    assert!(node.ledger().tree_head().borrow().is_none());
    assert!(matches!(
        node.sign_checkpoint().await,
        Err(crate::node::NodeError::NotFound(crate::node::NotFound::TransparencyLog))
    ));
    assert_eq!(node.store().tlog_size().unwrap(), None);
    assert_eq!(node.store().tile_positions().count(), 0);
    close(node, ledger).await;

    set_log_enabled(&dir, true);
    let (node, ledger) = open(&dir).unwrap();
    let head = node.ledger().tree_head().borrow().unwrap();
    assert_eq!((head.size, head.root), independent_root(&node));
    publish(&node, 30, 5).await;
    let head = node.ledger().tree_head().borrow().unwrap();
    assert_eq!((head.size, head.root), independent_root(&node));
    close(node, ledger).await;

    // Off again while the log grows, then on: the tree is extended.
    set_log_enabled(&dir, false);
    let (node, ledger) = open(&dir).unwrap();
    publish(&node, 35, 300).await;
    close(node, ledger).await;
    set_log_enabled(&dir, true);
    let (node, ledger) = open(&dir).unwrap();
    let head = node.ledger().tree_head().borrow().unwrap();
    assert_eq!(head.size, 335);
    assert_eq!((head.size, head.root), independent_root(&node));
    close(node, ledger).await;
}

#[tokio::test]
async fn an_envelope_too_large_for_a_log_entry_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("id");
    init_dir(&dir);
    let (node, ledger) = open(&dir).unwrap();
    let mut big = domain(1);
    big.description = Some("d".repeat(crate::envelope::MAX_DESCRIPTION));
    big.source_refs =
        (0..crate::envelope::MAX_SOURCE_REFS).map(|i| format!("https://e.example/{i}/{}", "r".repeat(2000))).collect();
    let done = node.submit(vec![big, domain(2)], "test").await.unwrap();
    match &done[0] {
        Err(e) => assert!(e.to_string().contains("a log entry holds at most 65535"), "{e}"),
        Ok(r) => panic!("stored {r:?}"),
    }
    assert!(done[1].is_ok());
    assert_eq!(node.store().log_head().unwrap(), 1);
    close(node, ledger).await;
}
