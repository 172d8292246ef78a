//! A stopped node's log as a transparency-log tree, computed from its store.
//!
//! Until the ledger keeps the tree's tiles in its own commits, this is how
//! `jaring log checkpoint --offline` and `jaring log prove --offline` see
//! the tree: every log entry, in `local_seq` order, is leaf `local_seq - 1`
//! (its exact stored bytes), hashed into tiles held in memory (32 bytes per
//! entry). Reads only; the node must not be running.

use crate::store::{Keyspace, Store, StoreError, layout};
use crate::tlog::merkle::leaf_hash;
use crate::tlog::tree::{MemoryTiles, TreeState};

/// Entries hashed per append.
const CHUNK: usize = 4096;

/// The tree of a store's log.
#[derive(Debug, Clone)]
pub struct LogTree {
    /// Size and right edge.
    pub state: TreeState,
    /// Every tile.
    pub tiles: MemoryTiles,
}

/// Builds the tree over every entry of the store's log.
///
/// # Errors
///
/// The store's error; [`StoreError::Corrupt`] when the log's sequence
/// numbers are not 1, 2, 3, ... without gaps.
pub fn from_store(store: &Store) -> Result<LogTree, StoreError> {
    let mut state = TreeState::new();
    let mut tiles = MemoryTiles::new();
    let mut leaves = Vec::with_capacity(CHUNK);
    let corrupt = |reason: String| StoreError::Corrupt { keyspace: Keyspace::Log, reason };
    let mut flush = |state: &mut TreeState, leaves: &mut Vec<_>| -> Result<(), StoreError> {
        let a = state.append(state.size(), leaves).map_err(|e| corrupt(e.to_string()))?;
        tiles.apply(&a.tiles);
        *state = a.state;
        leaves.clear();
        Ok(())
    };
    for (expected, r) in (1u64..).zip(store.scan_prefix(Keyspace::Log, &[])) {
        let (k, v) = r?;
        let seq = layout::read_u64(&k).ok_or_else(|| corrupt("bad key".into()))?;
        if seq != expected {
            return Err(corrupt(format!("entry {seq} follows {}: the log has a gap", expected - 1)));
        }
        leaves.push(leaf_hash(&v));
        if leaves.len() == CHUNK {
            flush(&mut state, &mut leaves)?;
        }
    }
    flush(&mut state, &mut leaves)?;
    Ok(LogTree { state, tiles })
}

/// The stored bytes of log entry `local_seq` (leaf `local_seq - 1`).
///
/// # Errors
///
/// The store's error.
pub fn entry(store: &Store, local_seq: u64) -> Result<Option<Vec<u8>>, StoreError> {
    store.get(Keyspace::Log, &layout::seq_key(local_seq))
}
