//! Tests of the transparency log against published vectors and against a
//! second, naive implementation of the RFC 6962 definitions.
//!
//! Vectors, copied as data:
//! - RFC 6962 reference tree (8 leaves, roots of every size, node hashes):
//!   transparency-dev/merkle `testonly/constants.go` (Apache-2.0), the
//!   vectors of the original Certificate Transparency code.
//! - Inclusion and consistency probes (happy paths, and every mutation they
//!   list): transparency-dev/merkle `testdata/` (Apache-2.0), in
//!   `testdata/transparency-dev-*.json` with the commit named inside.
//! - Signed notes: golang.org/x/mod `sumdb/note/note_test.go` (BSD-3-Clause)
//!   and the C2SP signed-note spec's example.
//! - Cosignature keys and timestamp: transparency-dev/formats
//!   `note/note_cosigv1_test.go` (Apache-2.0).
//! - Tile paths and the size-70,000 tile set: the C2SP tlog-tiles spec.
//! - add-checkpoint body: the C2SP tlog-witness spec's example.

#![allow(clippy::unwrap_used)]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use sha2::{Digest, Sha256};

use super::checkpoint::{self, Checkpoint, CheckpointError};
use super::cosignature::{self, Cosigner};
use super::merkle::{self, EMPTY_ROOT, ProofError, leaf_hash, node_hash};
use super::note::{Algorithm, Ed25519Signer, Note, NoteError, NoteSignature, VerifierKey};
use super::proof::{TlogProof, TlogProofError};
use super::tile::{self, BundleError, TileId, TileKind, TilePathError};
use super::tree::{AppendError, MemoryTiles, TileNodes, TileReadError, TreeState};
use super::witness::{self, AddCheckpoint, ForkKind, Judgement, Refusal};
use super::{Hash, cosigner_name, origin};

// ---------------------------------------------------------------------------
// The second implementation: RFC 6962 §2.1 definitions, written naively
// over the raw entries (no stored hashes, no bit tricks).

mod naive {
    use sha2::{Digest, Sha256};

    pub type H = [u8; 32];

    fn sha(parts: &[&[u8]]) -> H {
        let mut h = Sha256::new();
        for p in parts {
            h.update(p);
        }
        h.finalize().into()
    }

    fn k(n: usize) -> usize {
        let mut k = 1;
        while k * 2 < n {
            k *= 2;
        }
        k
    }

    /// MTH(D[n]).
    pub fn mth(d: &[Vec<u8>]) -> H {
        match d.len() {
            0 => sha(&[]),
            1 => sha(&[&[0u8], &d[0]]),
            n => {
                let k = k(n);
                sha(&[&[1u8], &mth(&d[..k]), &mth(&d[k..])])
            }
        }
    }

    /// PATH(m, D[n]).
    pub fn path(m: usize, d: &[Vec<u8>]) -> Vec<H> {
        let n = d.len();
        if n <= 1 {
            return vec![];
        }
        let k = k(n);
        if m < k {
            let mut p = path(m, &d[..k]);
            p.push(mth(&d[k..]));
            p
        } else {
            let mut p = path(m - k, &d[k..]);
            p.push(mth(&d[..k]));
            p
        }
    }

    /// PROOF(m, D[n]).
    pub fn proof(m: usize, d: &[Vec<u8>]) -> Vec<H> {
        subproof(m, d, true)
    }

    fn subproof(m: usize, d: &[Vec<u8>], b: bool) -> Vec<H> {
        let n = d.len();
        if m == n {
            return if b { vec![] } else { vec![mth(d)] };
        }
        let k = k(n);
        if m <= k {
            let mut p = subproof(m, &d[..k], b);
            p.push(mth(&d[k..]));
            p
        } else {
            let mut p = subproof(m - k, &d[k..], false);
            p.push(mth(&d[..k]));
            p
        }
    }
}

fn entries(n: usize) -> Vec<Vec<u8>> {
    (0..n).map(|i| format!("jaring log entry {i}").into_bytes()).collect()
}

fn hashes(v: &[naive::H]) -> Vec<Hash> {
    v.iter().map(|h| Hash(*h)).collect()
}

/// Builds a tree over `d` in batches of `batch`, returning the state and
/// the tiles as a store would hold them.
fn build(d: &[Vec<u8>], batch: usize) -> (TreeState, MemoryTiles) {
    let mut state = TreeState::new();
    let mut tiles = MemoryTiles::new();
    for chunk in d.chunks(batch.max(1)) {
        let leaves: Vec<Hash> = chunk.iter().map(|e| leaf_hash(e)).collect();
        let a = state.append(state.size(), &leaves).unwrap();
        tiles.apply(&a.tiles);
        assert_eq!(a.root, a.state.root());
        state = a.state;
    }
    (state, tiles)
}

fn hex32(s: &str) -> Hash {
    Hash::from_slice(&hex::decode(s).unwrap()).unwrap()
}

// ---------------------------------------------------------------------------
// Hashing and the RFC 6962 reference tree.

/// transparency-dev/merkle rfc6962/rfc6962_test.go.
#[test]
fn rfc6962_hash_vectors() {
    assert_eq!(EMPTY_ROOT, hex32("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
    assert_eq!(leaf_hash(b""), hex32("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"));
    assert_eq!(leaf_hash(b"L123456"), hex32("395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56"));
    // Interior nodes are domain-separated from leaves and ordered.
    let (a, b) = (leaf_hash(b"Hello"), leaf_hash(b"World"));
    let mut concat = a.0.to_vec();
    concat.extend_from_slice(&b.0);
    assert_ne!(node_hash(&a, &b), leaf_hash(&concat));
    assert_ne!(node_hash(&a, &b), node_hash(&b, &a));
}

/// transparency-dev/merkle testonly/constants.go: LeafInputs, RootHashes,
/// NodeHashes.
fn reference_leaves() -> Vec<Vec<u8>> {
    ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"]
        .iter()
        .map(|h| hex::decode(h).unwrap())
        .collect()
}

const REFERENCE_ROOTS: [&str; 9] = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

const REFERENCE_NODES: [&[&str]; 4] = [
    &[
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
        "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
        "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
        "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
    ],
    &[
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
    ],
    &[
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    &["5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"],
];

#[test]
fn reference_tree_roots_and_nodes() {
    let d = reference_leaves();
    for (n, want) in REFERENCE_ROOTS.iter().enumerate() {
        let want = hex32(want);
        assert_eq!(Hash(naive::mth(&d[..n])), want, "naive MTH, size {n}");
        let (state, tiles) = build(&d[..n], 3);
        assert_eq!(state.root(), want, "tree state root, size {n}");
        assert_eq!(merkle::root(&TileNodes::new(&tiles), n as u64).unwrap(), want, "root from tiles, size {n}");
    }
    let (_, tiles) = build(&d, 8);
    let nodes = TileNodes::new(&tiles);
    for (level, row) in REFERENCE_NODES.iter().enumerate() {
        for (index, want) in row.iter().enumerate() {
            use super::merkle::NodeReader as _;
            assert_eq!(nodes.subtree(level as u8, index as u64).unwrap(), hex32(want), "node {level}/{index}");
        }
    }
}

// ---------------------------------------------------------------------------
// transparency-dev/merkle probes.

fn vector_hash(v: &serde_json::Value) -> Hash {
    // Some consistency probes use roots that are not 32 bytes ("don't care 1", a
    // 9-byte wrong leaf, empty roots). Only equality matters for them, so
    // they stand in as a domain-separated SHA-256 of their bytes, which
    // keeps it without colliding with a real hash (e.g. the empty root).
    let bytes = B64.decode(v.as_str().unwrap()).unwrap();
    Hash::from_slice(&bytes).unwrap_or_else(|| {
        let mut h = Sha256::new();
        h.update(b"stand-in for a non-hash value\0");
        h.update(&bytes);
        Hash(h.finalize().into())
    })
}

fn vector_proof(v: &serde_json::Value) -> Vec<Hash> {
    v.as_array().map(|a| a.iter().map(vector_hash).collect()).unwrap_or_default()
}

#[test]
fn transparency_dev_inclusion_probes() {
    let doc: serde_json::Value =
        serde_json::from_str(include_str!("testdata/transparency-dev-inclusion.json")).unwrap();
    let vectors = doc["vectors"].as_array().unwrap();
    assert!(vectors.len() > 90);
    for v in vectors {
        let want_err = v["wantErr"].as_bool().unwrap();
        // A leaf or root that is not 32 bytes cannot even be given to the
        // verifier ([`Hash::from_slice`] refuses it): every such probe
        // expects a refusal.
        let as_hash = |k: &str| Hash::from_slice(&B64.decode(v[k].as_str().unwrap()).unwrap());
        let (Some(leaf), Some(root)) = (as_hash("leafHash"), as_hash("root")) else {
            assert!(want_err, "{}", v["file"]);
            continue;
        };
        let got = merkle::verify_inclusion(
            &leaf,
            v["leafIdx"].as_u64().unwrap(),
            v["treeSize"].as_u64().unwrap(),
            &vector_proof(&v["proof"]),
            &root,
        );
        assert_eq!(got.is_err(), want_err, "{}: {got:?}", v["file"]);
    }
}

#[test]
fn transparency_dev_consistency_probes() {
    let doc: serde_json::Value =
        serde_json::from_str(include_str!("testdata/transparency-dev-consistency.json")).unwrap();
    let vectors = doc["vectors"].as_array().unwrap();
    assert!(vectors.len() > 90);
    for v in vectors {
        let got = merkle::verify_consistency(
            v["size1"].as_u64().unwrap(),
            v["size2"].as_u64().unwrap(),
            &vector_hash(&v["root1"]),
            &vector_hash(&v["root2"]),
            &vector_proof(&v["proof"]),
        );
        assert_eq!(got.is_err(), v["wantErr"].as_bool().unwrap(), "{}: {got:?}", v["file"]);
    }
}

// ---------------------------------------------------------------------------
// Against the naive implementation, over many sizes.

#[test]
fn proofs_match_the_naive_definitions_for_every_small_tree() {
    let d = entries(130);
    let (_, tiles) = build(&d, 17);
    let nodes = TileNodes::new(&tiles);
    for n in 1..=d.len() {
        let root = Hash(naive::mth(&d[..n]));
        assert_eq!(merkle::root(&nodes, n as u64).unwrap(), root, "root {n}");
        // Every leaf of the trees up to 64; a sample (and the last) above.
        let step = if n <= 64 { 1 } else { 9 };
        for m in (0..n).step_by(step).chain([n - 1]) {
            let want = hashes(&naive::path(m, &d[..n]));
            let got = merkle::inclusion_proof(&nodes, m as u64, n as u64).unwrap();
            assert_eq!(got, want, "inclusion {m} in {n}");
            merkle::verify_inclusion(&leaf_hash(&d[m]), m as u64, n as u64, &got, &root).unwrap();
            if m > 0 {
                let want = hashes(&naive::proof(m, &d[..n]));
                let got = merkle::consistency_proof(&nodes, m as u64, n as u64).unwrap();
                assert_eq!(got, want, "consistency {m} -> {n}");
                let old = Hash(naive::mth(&d[..m]));
                merkle::verify_consistency(m as u64, n as u64, &old, &root, &got).unwrap();
            }
        }
    }
}

#[test]
fn proofs_match_the_naive_definitions_around_tile_boundaries() {
    let d = entries(65_537 + 300);
    let (_, tiles) = build(&d, 1000);
    let nodes = TileNodes::new(&tiles);
    for n in [255usize, 256, 257, 511, 512, 513, 4097, 65_536, 65_837] {
        let root = Hash(naive::mth(&d[..n]));
        assert_eq!(merkle::root(&nodes, n as u64).unwrap(), root, "root {n}");
        let sample: &[usize] =
            if n < 65_000 { &[1, 2, 255, 256, 257, 4096, n / 2, n - 2, n - 1] } else { &[1, 257, n - 1] };
        for &m in sample {
            if m == 0 || m >= n {
                continue;
            }
            let got = merkle::inclusion_proof(&nodes, m as u64, n as u64).unwrap();
            assert_eq!(got, hashes(&naive::path(m, &d[..n])), "inclusion {m} in {n}");
            let got = merkle::consistency_proof(&nodes, m as u64, n as u64).unwrap();
            assert_eq!(got, hashes(&naive::proof(m, &d[..n])), "consistency {m} -> {n}");
            let old = Hash(naive::mth(&d[..m]));
            merkle::verify_consistency(m as u64, n as u64, &old, &root, &got).unwrap();
        }
    }
}

#[test]
fn every_flipped_bit_of_a_proof_or_root_fails() {
    let d = entries(37);
    let (_, tiles) = build(&d, 5);
    let nodes = TileNodes::new(&tiles);
    let (m, n) = (13u64, 37u64);
    let root = Hash(naive::mth(&d[..37]));
    let old = Hash(naive::mth(&d[..13]));
    let incl = merkle::inclusion_proof(&nodes, m, n).unwrap();
    let cons = merkle::consistency_proof(&nodes, m, n).unwrap();
    for i in 0..incl.len() {
        for bit in 0..256 {
            let mut p = incl.clone();
            p[i].0[bit / 8] ^= 1 << (bit % 8);
            assert_eq!(merkle::verify_inclusion(&leaf_hash(&d[13]), m, n, &p, &root), Err(ProofError::RootMismatch));
        }
    }
    for i in 0..cons.len() {
        for bit in (0..256).step_by(7) {
            let mut p = cons.clone();
            p[i].0[bit / 8] ^= 1 << (bit % 8);
            assert!(merkle::verify_consistency(m, n, &old, &root, &p).is_err(), "consistency hash {i} bit {bit}");
        }
    }
    // Wrong index, wrong size, truncated and extended proofs.
    assert!(merkle::verify_inclusion(&leaf_hash(&d[13]), 12, n, &incl, &root).is_err());
    // (Sizes 33 to 64 give leaf 13 the same path shape: the size is bound
    // by the signed checkpoint, not by the proof.)
    assert_eq!(merkle::verify_inclusion(&leaf_hash(&d[13]), m, 70, &incl, &root), Err(ProofError::ProofTooShort));
    assert_eq!(
        merkle::verify_inclusion(&leaf_hash(&d[13]), m, n, &incl[..incl.len() - 1], &root),
        Err(ProofError::ProofTooShort)
    );
    let mut longer = incl.clone();
    longer.push(root);
    assert_eq!(merkle::verify_inclusion(&leaf_hash(&d[13]), m, n, &longer, &root), Err(ProofError::ProofTooLong));
    assert_eq!(
        merkle::verify_inclusion(&leaf_hash(&d[13]), n, n, &incl, &root),
        Err(ProofError::IndexOutOfRange { index: n, size: n })
    );
    assert_eq!(merkle::verify_consistency(n, m, &root, &old, &[]), Err(ProofError::OldSizeAboveNew { old: n, new: m }));
    assert_eq!(merkle::verify_consistency(0, n, &EMPTY_ROOT, &root, &[]), Err(ProofError::EmptyOldTree));
    assert_eq!(merkle::verify_consistency(m, n, &old, &root, &[]), Err(ProofError::EmptyProof));
    assert_eq!(merkle::verify_consistency(n, n, &root, &root, &cons), Err(ProofError::ProofNotEmpty));
    assert_eq!(merkle::verify_consistency(n, n, &root, &old, &[]), Err(ProofError::RootMismatch));
}

// ---------------------------------------------------------------------------
// The writer's tree state and its tiles.

#[test]
fn batch_boundaries_do_not_change_the_tiles() {
    let d = entries(70_000);
    let (one, tiles_one) = build(&d, 70_000);
    let (many, tiles_many) = build(&d, 999);
    let (single, tiles_single) = build(&d[..3000], 1);
    assert_eq!(one, many);
    assert_eq!(one.root(), Hash(naive::mth(&d)));
    let a: Vec<_> = tiles_one.iter().collect();
    let b: Vec<_> = tiles_many.iter().collect();
    assert_eq!(a, b);
    // The stored tiles are exactly the spec's tile set for size 70,000:
    // 273 full level-0 tiles, a partial of 112, one full level-1 tile, a
    // partial of 17, and a partial level-2 tile of 1.
    let want = TileId::hash_tiles_for(70_000);
    assert_eq!(want.len(), 273 + 1 + 1 + 1 + 1);
    assert_eq!(want[273], TileId { kind: TileKind::Hashes(0), index: 273, width: 112 });
    assert_eq!(want[275], TileId { kind: TileKind::Hashes(1), index: 1, width: 17 });
    assert_eq!(want[276], TileId { kind: TileKind::Hashes(2), index: 0, width: 1 });
    let stored: Vec<TileId> = tiles_one
        .iter()
        .map(|((l, i), bytes)| TileId { kind: TileKind::Hashes(*l), index: *i, width: (bytes.len() / 32) as u16 })
        .collect();
    assert_eq!(stored, want);
    assert_eq!(single, build(&d[..3000], 3000).0);
    assert_eq!(tiles_single.len(), TileId::hash_tiles_for(3000).len());
}

#[test]
fn an_append_returns_exactly_the_changed_tiles() {
    let d = entries(600);
    let (state, _) = build(&d[..250], 250);
    let leaves: Vec<Hash> = d[250..600].iter().map(|e| leaf_hash(e)).collect();
    let a = state.append(250, &leaves).unwrap();
    let got: Vec<(u8, u64, usize)> = a.tiles.iter().map(|t| (t.level, t.index, t.width())).collect();
    // Completes level-0 tiles 0 and 1, leaves tile 2 partial (88), and
    // level 1 partial with 2 hashes.
    assert_eq!(got, vec![(0, 0, 256), (0, 1, 256), (0, 2, 88), (1, 0, 2)]);
    assert_eq!(a.tiles[0].key(), [0, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(a.tiles[3].key(), [1, 0, 0, 0, 0, 0, 0, 0, 0]);
    // A small append touches only the level-0 partial tile.
    let b = a.state.append(600, &leaves[..1]).unwrap();
    let got: Vec<(u8, u64, usize)> = b.tiles.iter().map(|t| (t.level, t.index, t.width())).collect();
    assert_eq!(got, vec![(0, 2, 89)]);
    assert_eq!(a.state.append(599, &leaves[..1]).unwrap_err(), AppendError::NotContiguous { first: 599, size: 600 });
    let empty = a.state.append(600, &[]).unwrap();
    assert!(empty.tiles.is_empty());
    assert_eq!(empty.root, a.root);
}

#[test]
fn load_reads_back_the_writer_state() {
    let d = entries(66_003);
    for n in [0usize, 1, 255, 256, 257, 65_536, 65_537, 66_000] {
        let (state, tiles) = build(&d[..n], 4096);
        let loaded = TreeState::load(n as u64, &tiles).unwrap();
        assert_eq!(loaded, state, "size {n}");
        // And it keeps appending to the same tree.
        let next: Vec<Hash> = d[n..n + 3].iter().map(|e| leaf_hash(e)).collect();
        let a = loaded.append(n as u64, &next).unwrap();
        assert_eq!(a.root, Hash(naive::mth(&d[..n + 3])));
    }
    let (_, tiles) = build(&d[..300], 300);
    assert_eq!(
        TreeState::load(301, &tiles).unwrap_err(),
        TileReadError::Width { level: 0, index: 1, stored: 44, expected: 45 }
    );
    assert_eq!(TreeState::load(600, &tiles).unwrap_err(), TileReadError::Missing { level: 0, index: 2 });
}

#[test]
fn rebuild_and_check_finds_every_altered_tile() {
    let d = entries(70_000);
    let (state, tiles) = build(&d, 5000);
    let leaves = || d.iter().map(|e| Ok(leaf_hash(e)));
    assert_eq!(TreeState::rebuild_and_check(&tiles, leaves()).unwrap(), state);
    // One flipped byte in a full tile, a partial tile, a higher level.
    for (level, index, byte) in [(0u8, 17u64, 100usize), (0, 273, 3), (1, 0, 8191), (1, 1, 0), (2, 0, 31)] {
        let mut bad = tiles.clone();
        bad.get_mut(level, index).unwrap()[byte] ^= 0x40;
        assert_eq!(
            TreeState::rebuild_and_check(&bad, leaves()).unwrap_err(),
            TileReadError::Mismatch { level, index },
            "tile {level}/{index}"
        );
    }
    // An entry of the log rewritten: the tile covering it no longer matches.
    let mut forged = d.clone();
    forged[1000][0] ^= 1;
    let forged_leaves = forged.iter().map(|e| Ok(leaf_hash(e)));
    assert_eq!(
        TreeState::rebuild_and_check(&tiles, forged_leaves).unwrap_err(),
        TileReadError::Mismatch { level: 0, index: 3 }
    );
    // The log lost its last entries but the tiles were kept.
    let short = d[..69_888].iter().map(|e| Ok(leaf_hash(e)));
    assert_eq!(
        TreeState::rebuild_and_check(&tiles, short).unwrap_err(),
        TileReadError::Unexpected { level: 0, index: 273 }
    );
    // A tile missing.
    let mut missing = MemoryTiles::new();
    for ((l, i), b) in tiles.iter() {
        if (*l, *i) != (0, 5) {
            missing.insert(*l, *i, b.clone());
        }
    }
    assert_eq!(
        TreeState::rebuild_and_check(&missing, leaves()).unwrap_err(),
        TileReadError::Missing { level: 0, index: 5 }
    );
}

// ---------------------------------------------------------------------------
// Tiles: paths and bundles.

#[test]
fn tile_paths_follow_the_spec() {
    let t = |kind, index, width| TileId { kind, index, width };
    for (id, path) in [
        (t(TileKind::Hashes(0), 1_234_067, 256), "tile/0/x001/x234/067"),
        (t(TileKind::Hashes(0), 0, 256), "tile/0/000"),
        (t(TileKind::Hashes(1), 5, 17), "tile/1/005.p/17"),
        (t(TileKind::Hashes(2), 1000, 1), "tile/2/x001/000.p/1"),
        (t(TileKind::Entries, 273, 112), "tile/entries/273.p/112"),
        (t(TileKind::Entries, 999_999, 256), "tile/entries/x999/999"),
        (t(TileKind::Hashes(63), u64::MAX, 255), "tile/63/x018/x446/x744/x073/x709/x551/615.p/255"),
    ] {
        assert_eq!(id.path(), path);
        assert_eq!(TileId::parse(path).unwrap(), id, "{path}");
    }
    for bad in ["tile/0/x000/005", "tile/0/1234", "tile/0/12", "tile/0/x1/234", "tile/0/x001", "tile/0/"] {
        assert_eq!(TileId::parse(bad).unwrap_err(), TilePathError::Index(bad.into()), "{bad}");
    }
    for bad in ["tile/00/000", "tile/64/000", "tile/-1/000", "tile/a/000"] {
        assert_eq!(TileId::parse(bad).unwrap_err(), TilePathError::Level(bad.into()), "{bad}");
    }
    for bad in ["tile/0/000.p/0", "tile/0/000.p/256", "tile/0/000.p/07", "tile/0/000.p/"] {
        assert_eq!(TileId::parse(bad).unwrap_err(), TilePathError::Width(bad.into()), "{bad}");
    }
    assert!(matches!(TileId::parse("tiles/0/000"), Err(TilePathError::Malformed(_))));
    assert!(matches!(TileId::parse("tile/0"), Err(TilePathError::Malformed(_))));
    // A size of 256: one full level-0 tile and a level-1 tile of width 1.
    assert_eq!(TileId::hash_tiles_for(256), vec![t(TileKind::Hashes(0), 0, 256), t(TileKind::Hashes(1), 0, 1)]);
    assert!(TileId::hash_tiles_for(0).is_empty());
}

#[test]
fn serving_a_partial_tile_cuts_the_stored_one() {
    let d = entries(300);
    let (_, tiles) = build(&d, 300);
    use super::tree::TileReader as _;
    let stored = tiles.read_tile(0, 1).unwrap().unwrap();
    let narrow = TileId::parse("tile/0/001.p/10").unwrap();
    let served = tile::serve_hash_tile(&narrow, &stored).unwrap();
    assert_eq!(served, stored[..320]);
    assert_eq!(tile::tile_hashes(&served).unwrap()[9], leaf_hash(&d[265]));
    assert!(tile::serve_hash_tile(&TileId::parse("tile/0/001.p/45").unwrap(), &stored).is_none());
    assert!(tile::serve_hash_tile(&TileId::parse("tile/0/001").unwrap(), &stored).is_none());
    assert!(tile::serve_hash_tile(&TileId::parse("tile/entries/001.p/10").unwrap(), &stored).is_none());
}

#[test]
fn entry_bundles_round_trip_and_match_level_zero_tiles() {
    let d = entries(256);
    let bundle = tile::encode_bundle(&d).unwrap();
    assert_eq!(&bundle[..2], &(d[0].len() as u16).to_be_bytes());
    let back = tile::decode_bundle(&bundle).unwrap();
    assert_eq!(back.len(), 256);
    let (_, tiles) = build(&d, 256);
    use super::tree::TileReader as _;
    let level0 = tile::tile_hashes(&tiles.read_tile(0, 0).unwrap().unwrap()).unwrap();
    let from_bundle: Vec<Hash> = back.iter().map(|e| leaf_hash(e)).collect();
    assert_eq!(from_bundle, level0);
    assert_eq!(tile::decode_bundle(&bundle[..bundle.len() - 1]).unwrap_err(), BundleError::Truncated);
    assert_eq!(tile::decode_bundle(&[0]).unwrap_err(), BundleError::Truncated);
    assert_eq!(tile::decode_bundle(&[]).unwrap(), Vec::<&[u8]>::new());
    let big = vec![vec![0u8; 65_536]];
    assert_eq!(tile::encode_bundle(&big).unwrap_err(), BundleError::EntryTooLarge { position: 0, len: 65_536 });
    assert!(tile::encode_bundle(&[vec![0u8; 65_535]]).is_ok());
    assert_eq!(tile::encode_bundle(&entries(257)).unwrap_err(), BundleError::TooManyEntries);
    let mut too_many = bundle.clone();
    too_many.extend_from_slice(&[0, 0]);
    assert_eq!(tile::decode_bundle(&too_many).unwrap_err(), BundleError::TooManyEntries);
}

// ---------------------------------------------------------------------------
// Signed notes.

/// golang.org/x/mod sumdb/note/note_test.go.
const PETER_SKEY: &str = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const ENOCH_VKEY: &str = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
const GO_TEXT: &str =
    "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const PETER_SIG: &str =
    "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
const ENOCH_SIG: &str =
    "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

fn peter_signer() -> Ed25519Signer {
    let raw = B64.decode(PETER_SKEY.splitn(5, '+').last().unwrap()).unwrap();
    assert_eq!(raw[0], 0x01);
    let seed: [u8; 32] = raw[1..].try_into().unwrap();
    Ed25519Signer::new("PeterNeumann", std::sync::Arc::new(crate::keys::SigningKey::from_secret_bytes(&seed, 0)))
        .unwrap()
}

#[test]
fn go_note_vectors_sign_and_verify() {
    let signer = peter_signer();
    assert_eq!(signer.verifier().to_vkey(), PETER_VKEY);
    let mut note = Note::new(GO_TEXT).unwrap();
    signer.sign(&mut note).unwrap();
    assert_eq!(note.to_text(), format!("{GO_TEXT}\n{PETER_SIG}"));

    let peter = VerifierKey::parse(PETER_VKEY).unwrap();
    let enoch = VerifierKey::parse(ENOCH_VKEY).unwrap();
    assert_eq!((peter.name(), peter.key_id(), peter.algorithm()), ("PeterNeumann", 0xc74f20a3, Algorithm::Ed25519));
    let both = format!("{GO_TEXT}\n{PETER_SIG}{ENOCH_SIG}");
    let parsed = Note::parse(both.as_bytes()).unwrap();
    assert_eq!(parsed.text(), GO_TEXT);
    assert_eq!(parsed.to_text(), both);
    // Enoch's signature is unknown to a Peter-only verifier: ignored.
    let v = parsed.verify(std::slice::from_ref(&peter)).unwrap();
    assert_eq!(v.by.iter().map(|(i, _)| *i).collect::<Vec<_>>(), vec![0]);
    let v = parsed.verify(&[peter.clone(), enoch.clone()]).unwrap();
    assert_eq!(v.by.len(), 2);
    assert_eq!(parsed.verify(&[]).unwrap_err(), NoteError::NoKnownSignature);
    assert_eq!(
        parsed.verify(&[enoch.clone(), peter.clone(), enoch.clone()]).unwrap_err(),
        NoteError::AmbiguousKey { name: "EnochRoot".into(), key_id: 0xaf0cfe78 }
    );
    // A corrupted signature by a known key refuses the note.
    let bad = format!("{GO_TEXT}\n{}ABCD{}", &PETER_SIG[..60], &PETER_SIG[60..]);
    assert_eq!(
        Note::parse(bad.as_bytes()).unwrap().verify(&[peter]).unwrap_err(),
        NoteError::BadSignature { name: "PeterNeumann".into(), key_id: 0xc74f20a3 }
    );
}

/// The C2SP signed-note spec's example.
#[test]
fn spec_example_note_verifies() {
    let key = VerifierKey::parse("example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k").unwrap();
    let note = "This is an example message.\n\n— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";
    Note::parse(note.as_bytes()).unwrap().verify(&[key]).unwrap();
}

#[test]
fn notes_refuse_wrong_keys_names_lines_and_encodings() {
    let peter = VerifierKey::parse(PETER_VKEY).unwrap();
    let open = |s: &str| Note::parse(s.as_bytes()).and_then(|n| n.verify(std::slice::from_ref(&peter)).map(|_| ()));
    // Wrong key id or wrong name: not Peter's key, so no known signature.
    let wrong_id = PETER_SIG.replace("x08g", "xxxx");
    assert_eq!(open(&format!("{GO_TEXT}\n{wrong_id}")), Err(NoteError::NoKnownSignature));
    let wrong_name = PETER_SIG.replace("PeterNeumann", "PeterNeuman");
    assert_eq!(open(&format!("{GO_TEXT}\n{wrong_name}")), Err(NoteError::NoKnownSignature));
    // Malformed notes (the Go test's list).
    assert_eq!(open(GO_TEXT), Err(NoteError::Structure));
    assert_eq!(open(&format!("{GO_TEXT}\n")), Err(NoteError::Structure));
    assert_eq!(open(&format!("{GO_TEXT}\n{}", &PETER_SIG[..PETER_SIG.len() - 1])), Err(NoteError::Structure));
    assert_eq!(open(&format!("\x01{GO_TEXT}\n{PETER_SIG}")), Err(NoteError::Characters));
    assert_eq!(Note::parse(b"\xffabc\n\n\xe2\x80\x94 a AAAAAAA=\n").unwrap_err(), NoteError::Characters);
    assert_eq!(
        open(&format!(
            "{GO_TEXT}\n— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
        )),
        Err(NoteError::SignatureLine(
            "— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM="
                .into()
        ))
    );
    assert_eq!(
        open(&format!("{GO_TEXT}\n{PETER_SIG}Unexpected line.\n")),
        Err(NoteError::SignatureLine("Unexpected line.".into()))
    );
    // Bad base64: not base64, non-canonical padding, too short.
    assert_eq!(
        open(&format!("{GO_TEXT}\n— PeterNeumann x08go/ZJ!!\n")),
        Err(NoteError::SignatureEncoding("PeterNeumann".into()))
    );
    let unpadded = PETER_SIG.trim_end_matches("=\n").to_string() + "\n";
    assert_eq!(open(&format!("{GO_TEXT}\n{unpadded}")), Err(NoteError::SignatureEncoding("PeterNeumann".into())));
    assert_eq!(
        open(&format!("{GO_TEXT}\n— PeterNeumann x08g\n")),
        Err(NoteError::SignatureEncoding("PeterNeumann".into()))
    );
    // Too many signatures.
    assert_eq!(open(&format!("{GO_TEXT}\n{}", PETER_SIG.repeat(101))), Err(NoteError::TooManySignatures));
    assert!(open(&format!("{GO_TEXT}\n{}", PETER_SIG.repeat(16))).is_ok());
    // Text to sign.
    assert_eq!(Note::new("no newline").unwrap_err(), NoteError::Text);
    assert_eq!(Note::new("tab\there\n").unwrap_err(), NoteError::Text);
}

#[test]
fn verifier_keys_refuse_manglings() {
    // Every proper substring and every single-byte change of a vkey is
    // refused (as in the Go test).
    let b = PETER_VKEY.as_bytes();
    for i in 0..=b.len() {
        for j in i + 1..=b.len() {
            if (i, j) == (0, b.len()) {
                continue;
            }
            if let Ok(s) = std::str::from_utf8(&b[i..j]) {
                assert!(VerifierKey::parse(s).is_err(), "{s}");
            }
        }
    }
    for i in 0..b.len() {
        let mut m = b.to_vec();
        m[i] = m[i].wrapping_add(1);
        if let Ok(s) = std::str::from_utf8(&m) {
            assert!(VerifierKey::parse(s).is_err(), "{s}");
        }
    }
    assert!(matches!(
        VerifierKey::parse("PeterNeumann+00000000+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"),
        Err(NoteError::KeyIdMismatch(_))
    ));
    // Unknown algorithm (with an adjusted key hash, from the Go test).
    assert!(matches!(
        VerifierKey::parse("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"),
        Err(NoteError::VerifierKey(_))
    ));
    assert!(matches!(
        VerifierKey::parse("a b+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"),
        Err(NoteError::KeyName(_))
    ));
}

// ---------------------------------------------------------------------------
// Cosignatures.

/// transparency-dev/formats note/note_cosigv1_test.go.
#[test]
fn cosignature_vectors() {
    let k = VerifierKey::parse("remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2").unwrap();
    assert_eq!(k.algorithm(), Algorithm::CosignatureV1);
    let k = VerifierKey::parse("TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6").unwrap();
    assert_eq!(k.algorithm(), Algorithm::Ed25519);
    let sig = B64
        .decode(
            "ZGhGuQAAAABm/qTPeyKXD+R2rzyQsxPiP8mXum7qq/iF0u4vanlqJyocWODBt97w9uL+8qT7S5gxEHWWOworDcFiEBYJXORmnFBOBA==",
        )
        .unwrap();
    assert_eq!(cosignature::timestamp(&sig[4..]), Some(1_727_964_367));
    let not_cosig = B64
        .decode("eQjRQm6eSKzFoiYalgwCPXu2y3ijtg68is9M46JKxuZB+dRfTmeQeDBoXnvxZx2ugnkyV+MUMLXpWs1hPb/W/4xkNQY=")
        .unwrap();
    assert_eq!(cosignature::timestamp(&not_cosig[4..]), None);
    // The spec's signed message.
    assert_eq!(
        cosignature::signed_message(1_679_315_147, "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n").unwrap(),
        b"cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n".to_vec()
    );
}

fn key(n: u8) -> std::sync::Arc<crate::keys::SigningKey> {
    std::sync::Arc::new(crate::keys::SigningKey::from_secret_bytes(&[n; 32], 0))
}

#[test]
fn cosignatures_round_trip_and_are_not_note_signatures() {
    let cp = Checkpoint { origin: "id.jaring.local/log".into(), size: 5, root: leaf_hash(b"r"), extensions: vec![] };
    let log = Ed25519Signer::new(&cp.origin, key(1)).unwrap();
    let mut signed = cp.sign(&log).unwrap();
    let witness = Cosigner::new("vn.jaring.local/witness", key(2)).unwrap();
    let line = witness.cosign(signed.note.text(), 1_700_000_000).unwrap();
    assert_eq!(cosignature::timestamp(&line.signature), Some(1_700_000_000));
    signed.note.push(line.clone()).unwrap();
    let text = signed.to_text();
    let reopened = checkpoint::open(text.as_bytes(), &cp.origin, &[log.verifier()]).unwrap();
    assert_eq!(
        super::proof::cosigners(&reopened, std::slice::from_ref(witness.verifier())).unwrap(),
        vec![("vn.jaring.local/witness".to_string(), 1_700_000_000)]
    );
    // Same key as an Ed25519 note key: another key id, so not a known signature.
    let same_key_as_note = VerifierKey::new("vn.jaring.local/witness", Algorithm::Ed25519, key(2).public()).unwrap();
    assert_ne!(same_key_as_note.key_id(), witness.verifier().key_id());
    assert_eq!(reopened.verify(&[same_key_as_note]).unwrap_err(), NoteError::NoKnownSignature);
    // The timestamp and every line are covered.
    let mut moved = line.clone();
    moved.signature[7] ^= 1;
    assert!(!witness.verifier().verifies(signed.note.text(), &moved.signature));
    let with_ext = "id.jaring.local/log\n5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\next\n";
    let l = witness.cosign(with_ext, 1).unwrap();
    assert!(witness.verifier().verifies(with_ext, &l.signature));
    assert!(!witness.verifier().verifies(&with_ext.replace("ext", "exu"), &l.signature));
    // Not a checkpoint, or a timestamp past 2^63 - 1.
    assert_eq!(witness.cosign("one line\n", 1).unwrap_err(), NoteError::Text);
    assert_eq!(witness.cosign(signed.note.text(), 1 << 63).unwrap_err(), NoteError::Text);
    // tlog-witness response bodies.
    let body = witness::cosignatures_body(std::slice::from_ref(&line));
    assert_eq!(witness::parse_cosignatures(body.as_bytes()).unwrap(), vec![line]);
    assert_eq!(witness::parse_cosignatures(b"").unwrap_err(), NoteError::Structure);
}

// ---------------------------------------------------------------------------
// Checkpoints.

#[test]
fn checkpoints_parse_strictly() {
    let text = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
    let cp = Checkpoint::parse(text).unwrap();
    assert_eq!((cp.origin.as_str(), cp.size), ("example.com/behind-the-sofa", 20_852_163));
    assert_eq!(cp.to_text(), text);
    let ext = format!("{text}extension one\n");
    assert_eq!(Checkpoint::parse(&ext).unwrap().extensions, vec!["extension one".to_string()]);
    assert_eq!(Checkpoint::parse(&ext).unwrap().to_text(), ext);
    let root = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=";
    for (bad, err) in [
        ("o\n1\n", CheckpointError::Lines),
        (&format!("o\n1\n{root}") as &str, CheckpointError::Lines),
        (&format!("\n1\n{root}\n"), CheckpointError::EmptyOrigin),
        (&format!("o\n01\n{root}\n"), CheckpointError::Size("01".into())),
        (&format!("o\n+1\n{root}\n"), CheckpointError::Size("+1".into())),
        (&format!("o\n18446744073709551616\n{root}\n"), CheckpointError::Size("18446744073709551616".into())),
        (
            "o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I\n",
            CheckpointError::Root("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I".into()),
        ),
        ("o\n1\nAAAA\n", CheckpointError::Root("AAAA".into())),
        (&format!("o\n1\n{root}\n\n"), CheckpointError::EmptyExtension),
    ] {
        assert_eq!(Checkpoint::parse(bad).unwrap_err(), err, "{bad:?}");
    }
    assert_eq!(Checkpoint::parse(&format!("o\n0\n{}\n", EMPTY_ROOT.to_base64())).unwrap().size, 0);
}

#[test]
fn opening_a_checkpoint_checks_key_and_origin() {
    let origin = origin("id.jaring.local");
    assert_eq!(origin, "id.jaring.local/log");
    assert_eq!(cosigner_name("vn.jaring.local"), "vn.jaring.local/witness");
    let cp = Checkpoint { origin: origin.clone(), size: 3, root: leaf_hash(b"x"), extensions: vec![] };
    let log = Ed25519Signer::new(&origin, key(1)).unwrap();
    let text = cp.sign(&log).unwrap().to_text();
    assert_eq!(checkpoint::open(text.as_bytes(), &origin, &[log.verifier()]).unwrap().checkpoint, cp);
    let other = Ed25519Signer::new(&origin, key(9)).unwrap();
    assert_eq!(
        checkpoint::open(text.as_bytes(), &origin, &[other.verifier()]).unwrap_err(),
        CheckpointError::Note(NoteError::NoKnownSignature)
    );
    assert_eq!(
        checkpoint::open(text.as_bytes(), "vn.jaring.local/log", &[log.verifier()]).unwrap_err(),
        CheckpointError::Origin { expected: "vn.jaring.local/log".into(), found: origin.clone() }
    );
    // Every byte of the signed checkpoint matters.
    let b = text.as_bytes();
    for i in 0..b.len() {
        let mut m = b.to_vec();
        m[i] ^= 0x01;
        let r = checkpoint::open(&m, &origin, &[log.verifier()]);
        assert!(r.is_err() || r.as_ref().unwrap().checkpoint != cp, "byte {i} flipped still opens");
        assert!(r.is_err(), "byte {i} flipped still opens");
    }
}

// ---------------------------------------------------------------------------
// tlog-proof.

struct Fixture {
    origin: String,
    log: Ed25519Signer,
    witnesses: Vec<Cosigner>,
    entries: Vec<Vec<u8>>,
    tiles: MemoryTiles,
    checkpoint: String,
}

fn fixture(n: usize) -> Fixture {
    let origin = origin("id.jaring.local");
    let log = Ed25519Signer::new(&origin, key(1)).unwrap();
    let witnesses: Vec<Cosigner> = ["vn", "my"]
        .iter()
        .enumerate()
        .map(|(i, w)| Cosigner::new(&cosigner_name(&format!("{w}.jaring.local")), key(10 + i as u8)).unwrap())
        .collect();
    let entries = entries(n);
    let (state, tiles) = build(&entries, 64);
    let cp = Checkpoint { origin: origin.clone(), size: state.size(), root: state.root(), extensions: vec![] };
    let mut signed = cp.sign(&log).unwrap();
    for (i, w) in witnesses.iter().enumerate() {
        let line = w.cosign(signed.note.text(), 1_764_000_000 + i as u64).unwrap();
        signed.note.push(line).unwrap();
    }
    Fixture { origin, log, witnesses, entries, tiles, checkpoint: signed.to_text() }
}

impl Fixture {
    fn proof(&self, index: usize) -> TlogProof {
        let nodes = TileNodes::new(&self.tiles);
        TlogProof {
            extra: Some(self.entries[index].clone()),
            index: index as u64,
            proof: merkle::inclusion_proof(&nodes, index as u64, self.entries.len() as u64).unwrap(),
            checkpoint: self.checkpoint.clone(),
        }
    }

    fn witness_keys(&self) -> Vec<VerifierKey> {
        self.witnesses.iter().map(|w| w.verifier().clone()).collect()
    }

    fn verify(&self, text: &[u8]) -> Result<super::proof::VerifiedProof, TlogProofError> {
        TlogProof::parse(text)?.verify(None, &self.origin, &[self.log.verifier()], &self.witness_keys(), 2)
    }
}

#[test]
fn tlog_proofs_round_trip_and_verify() {
    let f = fixture(1000);
    let p = f.proof(777);
    let text = p.to_text();
    assert!(text.starts_with("c2sp.org/tlog-proof@v1\nextra "));
    assert!(text.contains("\nindex 777\n"));
    assert_eq!(TlogProof::parse(text.as_bytes()).unwrap(), p);
    let v = f.verify(text.as_bytes()).unwrap();
    assert_eq!((v.index, v.leaf, v.checkpoint.checkpoint.size), (777, leaf_hash(&f.entries[777]), 1000));
    assert_eq!(v.witnesses.len(), 2);
    // A proof without extra data, verified against a given entry.
    let bare = TlogProof { extra: None, ..p.clone() };
    let t = bare.to_text();
    assert!(t.starts_with("c2sp.org/tlog-proof@v1\nindex 777\n"));
    let parsed = TlogProof::parse(t.as_bytes()).unwrap();
    assert_eq!(parsed.verify(None, &f.origin, &[f.log.verifier()], &[], 0).unwrap_err(), TlogProofError::NoEntry);
    parsed.verify(Some(&f.entries[777]), &f.origin, &[f.log.verifier()], &[], 0).unwrap();
    assert!(matches!(
        parsed.verify(Some(&f.entries[776]), &f.origin, &[f.log.verifier()], &[], 0),
        Err(TlogProofError::Inclusion(ProofError::RootMismatch))
    ));
    // Quorum: three witnesses required, two known.
    assert_eq!(
        p.verify(None, &f.origin, &[f.log.verifier()], &f.witness_keys(), 3).unwrap_err(),
        TlogProofError::Quorum { got: 2, needed: 3 }
    );
    // Index 0 of a one-entry log: an empty proof.
    let one = fixture(1);
    let p0 = one.proof(0);
    assert!(p0.proof.is_empty());
    one.verify(p0.to_text().as_bytes()).unwrap();
}

#[test]
fn every_byte_of_a_tlog_proof_matters() {
    let f = fixture(300);
    let text = f.proof(261).to_text();
    f.verify(text.as_bytes()).unwrap();
    let b = text.as_bytes();
    let mut still_valid = Vec::new();
    for i in 0..b.len() {
        for flip in [0x01u8, 0x20] {
            let mut m = b.to_vec();
            m[i] ^= flip;
            if f.verify(&m).is_ok() {
                still_valid.push((i, flip, String::from_utf8_lossy(&m).into_owned()));
            }
        }
    }
    assert!(still_valid.is_empty(), "a changed byte still verifies: {:?}", still_valid.first());
}

#[test]
fn tlog_proof_parsing_refusals() {
    let f = fixture(10);
    let good = f.proof(3).to_text();
    let cp = &f.checkpoint;
    let h = leaf_hash(b"h").to_base64();
    for (bad, err) in [
        ("wrong-header\nindex 0\n\ncp\n".to_string(), TlogProofError::Header),
        ("c2sp.org/tlog-proof@v1\nextra !!notbase64!!\nindex 0\n\ncp\n".into(), TlogProofError::Extra),
        ("c2sp.org/tlog-proof@v1\n\n\ncp\n".into(), TlogProofError::Index),
        ("c2sp.org/tlog-proof@v1\nindex notanumber\n\ncp\n".into(), TlogProofError::Index),
        ("c2sp.org/tlog-proof@v1\nindex -5\n\ncp\n".into(), TlogProofError::Index),
        ("c2sp.org/tlog-proof@v1\nindex 05\n\ncp\n".into(), TlogProofError::Index),
        ("c2sp.org/tlog-proof@v1\nindex 0\n!!notbase64!!\n\ncp\n".into(), TlogProofError::ProofLine(0)),
        (
            format!("c2sp.org/tlog-proof@v1\nindex 0\n{h}\n{}\n\ncp\n", B64.encode([0u8; 64])),
            TlogProofError::ProofLine(1),
        ),
        (
            format!("c2sp.org/tlog-proof@v1\nindex 0\n{}\ncp\n", format!("{h}\n").repeat(65)),
            TlogProofError::ProofLength,
        ),
        (format!("c2sp.org/tlog-proof@v1\nindex 0\n{h}\n"), TlogProofError::MissingCheckpoint),
        ("c2sp.org/tlog-proof@v1\nindex 0\n\n".into(), TlogProofError::MissingCheckpoint),
    ] {
        assert_eq!(TlogProof::parse(bad.as_bytes()).unwrap_err(), err, "{bad:?}");
    }
    // A checkpoint of another log, or not signed by this one.
    let other = good.replace("id.jaring.local/log", "vn.jaring.local/log");
    assert!(matches!(f.verify(other.as_bytes()), Err(TlogProofError::Checkpoint(_))));
    let unsigned = good.replace(cp, &Checkpoint::parse(Note::parse(cp.as_bytes()).unwrap().text()).unwrap().to_text());
    assert!(matches!(f.verify(unsigned.as_bytes()), Err(TlogProofError::Checkpoint(_))));
}

// ---------------------------------------------------------------------------
// Witness.

/// The C2SP tlog-witness spec's example request body.
#[test]
fn add_checkpoint_bodies() {
    let body = "old 20852014\nPlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\njrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=\n5+pKlUdi2LeF/BcMHBn+Ku6yhPGNCswZZD1X/6QgPd8=\n/6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=\n\nexample.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n— example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n— example.com/behind-the-sofa opLqBQsREYCgu6xQkYQwJr9fo45a62DN9EdmHXnZdXNqlcVGlCum2Wks+49/V6267UEjw6QUXTS5Rovnzv++qbSzm9Q=\n";
    let req = AddCheckpoint::parse(body.as_bytes()).unwrap();
    assert_eq!(req.old_size, 20_852_014);
    assert_eq!(req.proof.len(), 4);
    assert_eq!(req.origin(), Some("example.com/behind-the-sofa"));
    assert_eq!(req.to_body(), body);
    let note = Note::parse(req.checkpoint.as_bytes()).unwrap();
    assert_eq!(note.signatures().len(), 2);
    for bad in ["old 01\n\ncp\n", "old 1\n", "new 1\n\ncp\n", "old 1\nAAAA\n\ncp\n", "old 1\n\n"] {
        assert!(matches!(AddCheckpoint::parse(bad.as_bytes()), Err(Refusal::Malformed(_))), "{bad:?}");
    }
    let many = format!("old 1\n{}\ncp\n", format!("{}\n", EMPTY_ROOT.to_base64()).repeat(64));
    assert!(matches!(AddCheckpoint::parse(many.as_bytes()), Err(Refusal::Malformed(_))));
    assert_eq!(witness::conflict_body(20_852_014), "20852014\n");
    assert_eq!(witness::parse_conflict(b"20852014\n"), Some(20_852_014));
    assert_eq!(witness::parse_conflict(b"20852014"), None);
}

#[test]
fn the_witness_cosigns_only_consistent_checkpoints() {
    let origin = origin("id.jaring.local");
    let log = Ed25519Signer::new(&origin, key(1)).unwrap();
    let keys = vec![log.verifier()];
    let d = entries(100);
    let (_, tiles) = build(&d, 100);
    let nodes = TileNodes::new(&tiles);
    let signed = |n: u64, root: Hash| {
        Checkpoint { origin: origin.clone(), size: n, root, extensions: vec![] }.sign(&log).unwrap().to_text()
    };
    let root = |n: u64| merkle::root(&nodes, n).unwrap();
    let req = |old: u64, proof: Vec<Hash>, cp: String| AddCheckpoint { old_size: old, proof, checkpoint: cp };

    // First checkpoint: old 0, no proof.
    let cp40 = signed(40, root(40));
    assert_eq!(witness::decide(&req(0, vec![], cp40.clone()), Some(&keys), None).unwrap().checkpoint.size, 40);
    // Growth with a valid proof.
    let p = merkle::consistency_proof(&nodes, 40, 100).unwrap();
    let cp100 = signed(100, root(100));
    witness::decide(&req(40, p.clone(), cp100.clone()), Some(&keys), Some((40, root(40)))).unwrap();
    // Same size, same root: no proof.
    witness::decide(&req(100, vec![], cp100.clone()), Some(&keys), Some((100, root(100)))).unwrap();

    let status = |r: Result<_, Refusal>| r.unwrap_err().http_status();
    assert_eq!(status(witness::decide(&req(40, p.clone(), cp100.clone()), None, Some((40, root(40))))), 404);
    let other = Ed25519Signer::new(&origin, key(2)).unwrap();
    assert_eq!(status(witness::decide(&req(40, p.clone(), cp100.clone()), Some(&[other.verifier()]), None)), 403);
    let mut tampered = Note::parse(cp100.as_bytes()).unwrap();
    let mut sig = tampered.signatures()[0].clone();
    sig.signature[0] ^= 1;
    tampered = Note::parse(format!("{}\n{}", tampered.text(), sig.to_line()).as_bytes()).unwrap();
    assert_eq!(
        status(witness::decide(&req(40, p.clone(), tampered.to_text()), Some(&keys), Some((40, root(40))))),
        403
    );
    assert_eq!(status(witness::decide(&req(101, vec![], cp100.clone()), Some(&keys), Some((40, root(40))))), 400);
    assert_eq!(
        witness::decide(&req(30, p.clone(), cp100.clone()), Some(&keys), Some((40, root(40)))).unwrap_err(),
        Refusal::Conflict { old: 30, latest: 40 }
    );
    assert_eq!(status(witness::decide(&req(0, vec![], signed(0, root(1))), Some(&keys), None)), 422);
    assert_eq!(
        witness::decide(&req(0, p.clone(), cp100.clone()), Some(&keys), None).unwrap_err(),
        Refusal::ProofFromEmpty
    );
    // A bad proof, or a forked history: refused with the signed evidence.
    let mut bad = p.clone();
    bad[0].0[0] ^= 1;
    let r = witness::decide(&req(40, bad, cp100.clone()), Some(&keys), Some((40, root(40)))).unwrap_err();
    assert_eq!(r.http_status(), 422);
    let Refusal::Inconsistent { checkpoint, .. } = r else { panic!("{r:?}") };
    assert_eq!(checkpoint.to_text(), cp100);
    let forked = signed(100, leaf_hash(b"another history"));
    let r = witness::decide(&req(100, vec![], forked), Some(&keys), Some((100, root(100)))).unwrap_err();
    assert!(matches!(r, Refusal::Inconsistent { reason: ProofError::RootMismatch, .. }), "{r:?}");
    // Rollback: the witness holds 100; a client offering 40 -> 40 conflicts.
    assert_eq!(
        witness::decide(&req(40, vec![], cp40), Some(&keys), Some((100, root(100)))).unwrap_err(),
        Refusal::Conflict { old: 40, latest: 100 }
    );
}

#[test]
fn a_follower_tells_forks_from_bad_tiles() {
    let d = entries(600);
    let (_, tiles) = build(&d, 600);
    let nodes = TileNodes::new(&tiles);
    let cp = |n: u64, root: Hash| Checkpoint { origin: "o".into(), size: n, root, extensions: vec![] };
    let old = cp(300, merkle::root(&nodes, 300).unwrap());
    let new = cp(600, merkle::root(&nodes, 600).unwrap());
    assert_eq!(
        witness::judge_from_tiles(&old, &new, &nodes),
        Judgement::Consistent { proof: merkle::consistency_proof(&nodes, 300, 600).unwrap() }
    );
    assert_eq!(
        witness::judge_from_tiles(&new, &old, &nodes),
        Judgement::Fork(ForkKind::Rollback { old: 600, new: 300 })
    );
    assert_eq!(
        witness::judge_from_tiles(&new, &cp(600, leaf_hash(b"x")), &nodes),
        Judgement::Fork(ForkKind::SameSizeDifferentRoot)
    );
    // The log rewrote entry 10 and serves tiles of the rewritten history:
    // they give the new root, and at size 300 a root it never signed.
    let mut forged = d.clone();
    forged[10][0] ^= 1;
    let (_, ftiles) = build(&forged, 600);
    let fnodes = TileNodes::new(&ftiles);
    let fnew = cp(600, merkle::root(&fnodes, 600).unwrap());
    let Judgement::Fork(ForkKind::OldRootRewritten { recomputed }) = witness::judge_from_tiles(&old, &fnew, &fnodes)
    else {
        panic!("fork not detected")
    };
    assert_eq!(recomputed, merkle::root(&fnodes, 300).unwrap());
    // Tiles that do not give the checkpoint's root prove nothing.
    assert!(matches!(witness::judge_from_tiles(&old, &fnew, &nodes), Judgement::BadTiles(_)));
    let mut missing = MemoryTiles::new();
    missing.insert(0, 0, tiles.iter().next().unwrap().1.clone());
    assert!(matches!(witness::judge_from_tiles(&old, &new, &TileNodes::new(&missing)), Judgement::BadTiles(_)));
    // Signature round trip of the follower's cosignature line.
    let w = Cosigner::new("w.example/w1", key(3)).unwrap();
    let line = w.cosign(&new.to_text(), 5).unwrap();
    assert_eq!(NoteSignature::parse_line(line.to_line().trim_end()).unwrap(), line);
}

// ---------------------------------------------------------------------------
// Every parser accepts only the one spelling it writes: a mutated input is
// either refused or reads back as exactly the same bytes.

mod canonical {
    use proptest::prelude::*;

    use super::*;

    /// Replaces, inserts or deletes bytes of `base`.
    fn mutate(base: &[u8], edits: &[(usize, u8, u8)]) -> Vec<u8> {
        let mut b = base.to_vec();
        for &(pos, op, byte) in edits {
            let at = if b.is_empty() { 0 } else { pos % (b.len() + 1) };
            match op % 3 {
                0 if at < b.len() => b[at] = byte,
                1 => b.insert(at, byte),
                _ if at < b.len() => {
                    b.remove(at);
                }
                _ => {}
            }
        }
        b
    }

    /// Bytes that matter to these formats, and some that do not.
    fn byte() -> impl Strategy<Value = u8> {
        prop_oneof![
            Just(b'\n'),
            Just(b' '),
            Just(b'+'),
            Just(b'/'),
            Just(b'='),
            Just(b'0'),
            Just(b'x'),
            Just(b'.'),
            Just(b'p'),
            Just(0xe2),
            Just(0x80),
            Just(0x94),
            any::<u8>()
        ]
    }

    fn edits() -> impl Strategy<Value = Vec<(usize, u8, u8)>> {
        proptest::collection::vec((any::<usize>(), any::<u8>(), byte()), 1..4)
    }

    fn samples() -> (String, String, String, String) {
        let f = fixture(20);
        let proof = f.proof(7).to_text();
        let cp_text = Note::parse(f.checkpoint.as_bytes()).unwrap().text().to_string();
        let body = AddCheckpoint { old_size: 5, proof: f.proof(7).proof, checkpoint: f.checkpoint.clone() }.to_body();
        (f.checkpoint, cp_text, proof, body)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        #[test]
        fn parsers_are_canonical(e in edits()) {
            let (note, cp, proof, body) = samples();
            let m = mutate(note.as_bytes(), &e);
            if let Ok(n) = Note::parse(&m) {
                prop_assert_eq!(n.to_text().into_bytes(), m);
            }
            let m = mutate(cp.as_bytes(), &e);
            if let Ok(c) = std::str::from_utf8(&m).map_err(|_| ()).and_then(|s| Checkpoint::parse(s).map_err(|_| ())) {
                prop_assert_eq!(c.to_text().into_bytes(), m);
            }
            let m = mutate(proof.as_bytes(), &e);
            if let Ok(p) = TlogProof::parse(&m) {
                prop_assert_eq!(p.to_text().into_bytes(), m);
            }
            let m = mutate(body.as_bytes(), &e);
            if let Ok(r) = AddCheckpoint::parse(&m) {
                prop_assert_eq!(r.to_body().into_bytes(), m);
            }
        }

        #[test]
        fn tile_paths_are_canonical(level in 0u8..70, index in any::<u64>(), width in 0u16..300, e in edits()) {
            let id = TileId { kind: TileKind::Hashes(level.min(63)), index, width: width.clamp(1, 256) };
            let path = id.path();
            prop_assert_eq!(TileId::parse(&path).unwrap(), id);
            let m = mutate(path.as_bytes(), &e);
            let parsed = std::str::from_utf8(&m).ok().and_then(|s| TileId::parse(s).ok().map(|p| (s, p)));
            if let Some((s, parsed)) = parsed {
                prop_assert_eq!(parsed.path(), s);
            }
        }
    }
}
