//! This node's log as a transparency-log tree, kept in the commit path.
//!
//! Leaf *i* of the tree is log entry `local_seq = i + 1`: the exact stored
//! bytes of its envelope (RFC 9162 leaf hash `SHA-256(0x00 ‖ bytes)`). Each
//! commit hashes the entries it appends, in log order (own entries on the
//! signing threads, peers' entries on the verification threads), extends the
//! writer's [`TreeState`], and puts the tiles that changed and the tree's
//! size in the same atomic batch as the entries. The state moves forward,
//! and the new tree head ([`TreeHead`]) is published to the checkpoint
//! signer, only once that batch is durable.
//!
//! At start ([`load`]) the stored tiles are checked against the log: every
//! tile is recomputed from the leaves and compared
//! ([`TreeState::rebuild_and_check`], one pass over the log), and the
//! latest checkpoint this node signed must still match the tree. A store
//! whose tiles or log were edited is refused, naming the first tile that
//! differs. A store that has no tree yet (made before the transparency log,
//! or kept with `[log] enabled = false`) gets one built from its log, and a
//! tree that stopped while the log grew (the log was off for a while) is
//! extended to the end of the log.

use crate::store::{Batch, Keyspace, Store, StoreError, TableWrites, Tables};
use crate::tlog::Hash;
use crate::tlog::checkpoint::Checkpoint;
use crate::tlog::merkle::{self, leaf_hash};
use crate::tlog::note::Note;
use crate::tlog::tree::{TileNodes, TileReadError, TreeState};

/// Entries hashed per commit when a tree is built or extended at start.
const BUILD_CHUNK: usize = 8192;

/// The tree's size and root after a commit: what a checkpoint signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TreeHead {
    /// Leaves (log entries) in the tree.
    pub size: u64,
    /// RFC 9162 root hash at that size.
    pub root: Hash,
}

fn corrupt(reason: impl Into<String>) -> StoreError {
    StoreError::Corrupt { keyspace: Keyspace::Tiles, reason: reason.into() }
}

fn tile_error(e: TileReadError<StoreError>) -> StoreError {
    match e {
        TileReadError::Store(e) => e,
        other => corrupt(format!("{other}; the log or its tree was changed outside the node")),
    }
}

/// The leaf hashes of the first `count` log entries, checking that the log
/// is numbered 1, 2, 3, ... without gaps.
fn leaves(store: &Store, count: u64) -> impl Iterator<Item = Result<Hash, StoreError>> + '_ {
    store.log_records_after(0).take(usize::try_from(count).unwrap_or(usize::MAX)).zip(1u64..).map(|(r, expected)| {
        let rec = r?;
        if rec.seq != expected {
            return Err(StoreError::corrupt_log(format!(
                "entry {} follows {}: the log has a gap",
                rec.seq,
                expected - 1
            )));
        }
        Ok(leaf_hash(&rec.bytes))
    })
}

/// The tree of the store's log, checked (see the module docs); builds or
/// extends the stored tiles to cover the whole log.
///
/// # Errors
///
/// [`StoreError::Corrupt`] (keyspace `Tiles` or `Log`) when the tiles do not
/// match the log, the tiles cover more entries than the log holds, or the
/// log no longer matches a checkpoint this node signed; engine failures.
pub(super) fn load(store: &Store, log_head: u64) -> Result<TreeState, StoreError> {
    let mut state = match store.tlog_size()? {
        Some(size) if size > log_head => {
            return Err(corrupt(format!(
                "the tree covers {size} log entries but the log holds {log_head}: entries were removed"
            )));
        }
        Some(size) => TreeState::rebuild_and_check(store, leaves(store, size)).map_err(tile_error)?,
        None => {
            // No tree was ever recorded: any tile here is left over from an
            // interrupted build; start afresh.
            let mut stray = Batch::default();
            for pos in store.tile_positions() {
                let (level, index) = pos?;
                stray.delete_tile(level, index);
            }
            store.commit(stray)?;
            TreeState::new()
        }
    };
    if state.size() < log_head {
        tracing::info!(from = state.size(), to = log_head, "building the transparency log tree from the log");
        let mut chunk = Vec::with_capacity(BUILD_CHUNK);
        let mut pending = leaves(store, log_head).skip(usize::try_from(state.size()).unwrap_or(usize::MAX));
        loop {
            chunk.clear();
            for leaf in pending.by_ref().take(BUILD_CHUNK) {
                chunk.push(leaf?);
            }
            if chunk.is_empty() {
                break;
            }
            let appended = state.append(state.size(), &chunk).map_err(|e| corrupt(e.to_string()))?;
            let mut batch = Batch::default();
            for tile in &appended.tiles {
                batch.put_tile(tile);
            }
            batch.put_tlog_size(appended.state.size());
            store.commit(batch)?;
            state = appended.state;
        }
    } else if store.tlog_size()?.is_none() {
        // An empty log: record the empty tree, so a later start checks it.
        let mut batch = Batch::default();
        batch.put_tlog_size(0);
        store.commit(batch)?;
    }
    check_own_checkpoint(store, &state)?;
    Ok(state)
}

/// Refuses a tree that no longer gives the root of the latest checkpoint
/// this node signed (its log was rewritten or rolled back since).
fn check_own_checkpoint(store: &Store, state: &TreeState) -> Result<(), StoreError> {
    let Some(text) = store.own_checkpoint()? else { return Ok(()) };
    let parsed = Note::parse(text.as_bytes()).ok().and_then(|n| Checkpoint::parse(n.text()).ok());
    let Some(cp) = parsed else {
        return Err(StoreError::Corrupt {
            keyspace: Keyspace::Meta,
            reason: "tlog/checkpoint is not a checkpoint".into(),
        });
    };
    if cp.size > state.size() {
        return Err(corrupt(format!(
            "this node signed a checkpoint of size {} but its log holds {} entries: the log was rolled back",
            cp.size,
            state.size()
        )));
    }
    let root = merkle::root(&TileNodes::new(store), cp.size).map_err(tile_error)?;
    if root != cp.root {
        return Err(corrupt(format!(
            "the log no longer gives the root this node signed at size {}: the log was rewritten",
            cp.size
        )));
    }
    Ok(())
}

impl TreeHead {
    /// The head of `state`.
    pub fn of(state: &TreeState) -> TreeHead {
        TreeHead { size: state.size(), root: state.root() }
    }
}
