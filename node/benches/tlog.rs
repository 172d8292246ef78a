//! Micro-benchmarks of the transparency log: what the tree adds to each
//! appended log entry (leaf hash of a stored envelope, the append, the
//! root), proofs from stored tiles, and checkpoint signing. Whole-node
//! overhead comes from `jaring bench` with the tree on and off.

#![allow(clippy::unwrap_used, missing_docs)]

use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use jaring_node::keys::SigningKey;
use jaring_node::tlog::checkpoint::Checkpoint;
use jaring_node::tlog::merkle::{self, leaf_hash};
use jaring_node::tlog::tree::{MemoryTiles, TileNodes, TreeState};
use jaring_node::tlog::{self, Hash};

/// About the size of a stored envelope (LIMITS.md measures with 300 B).
fn entry(i: u64) -> Vec<u8> {
    let mut e = vec![0x5a; 300];
    e[..8].copy_from_slice(&i.to_be_bytes());
    e
}

fn tree_of(n: u64) -> (TreeState, MemoryTiles) {
    let mut state = TreeState::new();
    let mut tiles = MemoryTiles::new();
    let leaves: Vec<Hash> = (0..n).map(|i| leaf_hash(&entry(i))).collect();
    for chunk in leaves.chunks(4096) {
        let a = state.append(state.size(), chunk).unwrap();
        tiles.apply(&a.tiles);
        state = a.state;
    }
    (state, tiles)
}

fn append(c: &mut Criterion) {
    let mut g = c.benchmark_group("tlog");
    g.throughput(Throughput::Elements(1));
    let e = entry(7);
    g.bench_function("leaf_hash_300B", |b| b.iter(|| leaf_hash(black_box(&e))));

    // A commit's work on a tree of a million leaves: hash the batch's
    // entries, append, take the root and the tiles to write.
    let (state, _) = tree_of(1_000_000);
    for batch in [1usize, 64, 1024] {
        let entries: Vec<Vec<u8>> = (0..batch as u64).map(|i| entry(1_000_000 + i)).collect();
        g.throughput(Throughput::Elements(batch as u64));
        g.bench_function(format!("commit_{batch}_leaves"), |b| {
            b.iter_batched(
                || state.clone(),
                |s| {
                    let leaves: Vec<Hash> = entries.iter().map(|e| leaf_hash(e)).collect();
                    let a = s.append(s.size(), &leaves).unwrap();
                    black_box((a.root, a.tiles.len()))
                },
                BatchSize::SmallInput,
            )
        });
    }
    g.finish();
}

fn proofs(c: &mut Criterion) {
    let (state, tiles) = tree_of(1_000_000);
    let n = state.size();
    let mut g = c.benchmark_group("tlog");
    g.bench_function("inclusion_proof_1M", |b| {
        b.iter(|| merkle::inclusion_proof(&TileNodes::new(&tiles), black_box(123_457), n).unwrap())
    });
    g.bench_function("consistency_proof_1M", |b| {
        b.iter(|| merkle::consistency_proof(&TileNodes::new(&tiles), black_box(654_321), n).unwrap())
    });
    let proof = merkle::inclusion_proof(&TileNodes::new(&tiles), 123_457, n).unwrap();
    let leaf = leaf_hash(&entry(123_457));
    let root = state.root();
    g.bench_function("verify_inclusion_1M", |b| {
        b.iter(|| merkle::verify_inclusion(&leaf, 123_457, n, black_box(&proof), &root).unwrap())
    });
    let key = std::sync::Arc::new(SigningKey::generate(0));
    let signer = tlog::log_signer("id.jaring.local", key).unwrap();
    let cp = Checkpoint { origin: tlog::origin("id.jaring.local"), size: n, root, extensions: vec![] };
    g.bench_function("sign_checkpoint", |b| b.iter(|| cp.sign(&signer).unwrap()));
    g.finish();
}

criterion_group!(benches, append, proofs);
criterion_main!(benches);
