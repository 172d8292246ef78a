//! The fjall 3 adapter.
//!
//! Each keyspace of the node is its own fjall keyspace (a separate LSM tree),
//! and a node batch is one fjall `WriteBatch`, which is atomic across
//! keyspaces. `commit` writes the batch to fjall's journal and `fdatasync`s it
//! before returning, so an acknowledgement means "durable"; memtables are
//! flushed and compacted in the background.

use std::ops::Bound;
use std::path::Path;

use fjall::{Database, KeyspaceCreateOptions, PersistMode};

use super::{Batch, Engine, Keyspace, Op, Scan, StoreError};

/// fjall, one fjall keyspace per node keyspace.
pub struct FjallEngine {
    db: Database,
    handles: Vec<fjall::Keyspace>,
}

impl std::fmt::Debug for FjallEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FjallEngine").field("keyspaces", &self.handles.len()).finish_non_exhaustive()
    }
}

fn err(e: fjall::Error) -> StoreError {
    StoreError::Engine(e.to_string())
}

/// The fjall keyspace name of a node keyspace.
fn name(ks: Keyspace) -> String {
    format!("ks_{}", char::from(ks.prefix()))
}

/// Memtable size per keyspace. fjall's default (64 MiB for each of the
/// twenty-two keyspaces) lets write buffers alone pass a gigabyte; the log takes
/// most writes, the rest are small records.
fn memtable_bytes(ks: Keyspace) -> u64 {
    match ks {
        Keyspace::Log => 32 << 20,
        _ => 8 << 20,
    }
}

impl FjallEngine {
    /// Opens (or creates) the store at `path` with a block cache of
    /// `cache_mib`.
    ///
    /// # Errors
    ///
    /// [`StoreError::Open`] naming the path.
    pub fn open(path: &Path, cache_mib: u64) -> Result<FjallEngine, StoreError> {
        let open_err = |reason: String| StoreError::Open { path: path.into(), reason };
        let db = Database::builder(path)
            .cache_size(cache_mib.saturating_mul(1024 * 1024))
            // Durability is per batch, in `commit`; nothing else syncs.
            .manual_journal_persist(true)
            .open()
            .map_err(|e| open_err(e.to_string()))?;
        let mut handles = Vec::with_capacity(Keyspace::ALL.len());
        for ks in Keyspace::ALL {
            let options = || KeyspaceCreateOptions::default().max_memtable_size(memtable_bytes(ks));
            handles.push(db.keyspace(&name(ks), options).map_err(|e| open_err(e.to_string()))?);
        }
        Ok(FjallEngine { db, handles })
    }

    fn handle(&self, ks: Keyspace) -> &fjall::Keyspace {
        &self.handles[ks.slot()]
    }
}

impl Engine for FjallEngine {
    fn get(&self, ks: Keyspace, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.handle(ks).get(key).map_err(err)?.map(|v| v.to_vec()))
    }

    fn range(&self, ks: Keyspace, start: Bound<&[u8]>, end: Bound<&[u8]>, reverse: bool) -> Scan<'_> {
        let owned = |b: Bound<&[u8]>| match b {
            Bound::Included(k) => Bound::Included(k.to_vec()),
            Bound::Excluded(k) => Bound::Excluded(k.to_vec()),
            Bound::Unbounded => Bound::Unbounded,
        };
        let iter = self.handle(ks).range::<Vec<u8>, _>((owned(start), owned(end)));
        let map = |g: fjall::Guard| g.into_inner().map(|(k, v)| (k.to_vec(), v.to_vec())).map_err(err);
        if reverse { Box::new(iter.rev().map(map)) } else { Box::new(iter.map(map)) }
    }

    fn commit(&self, batch: Batch) -> Result<(), StoreError> {
        let ops = batch.into_ops();
        let mut b =
            fjall::OwnedWriteBatch::with_capacity(self.db.clone(), ops.len()).durability(Some(PersistMode::SyncData));
        for op in ops {
            match op {
                Op::Put(ks, k, v) | Op::Insert(ks, k, v) => b.insert(self.handle(ks), k, v),
                Op::Delete(ks, k) => b.remove(self.handle(ks), k),
            }
        }
        b.commit().map_err(err)
    }

    fn size_on_disk(&self) -> Result<u64, StoreError> {
        self.db.disk_space().map_err(err)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::store::Store;
    use std::sync::Arc;

    #[test]
    fn fjall_meets_the_engine_contract() {
        crate::store::contract::run_all(&|p| Store::new(Arc::new(FjallEngine::open(p, 16).unwrap())));
    }

    #[test]
    fn every_keyspace_has_its_own_tree() {
        let names: std::collections::HashSet<_> = Keyspace::ALL.iter().map(|k| name(*k)).collect();
        assert_eq!(names.len(), Keyspace::ALL.len());
    }
}
