//! The sled 0.34 adapter.
//!
//! Every keyspace lives in one sled tree under a one-byte prefix, so a batch
//! that touches several keyspaces is one `Tree::apply_batch`: atomic without
//! sled's slower multi-tree transactions. `commit` flushes before returning,
//! which is what makes an acknowledgement mean "durable"; the node's writer
//! groups many operations into one commit under load.

use std::ops::Bound;
use std::path::Path;

use super::{Batch, Engine, Keyspace, Op, Scan, StoreError};

/// sled, one tree, prefixed keyspaces.
#[derive(Debug)]
pub struct SledEngine {
    db: sled::Db,
    tree: sled::Tree,
}

fn err(e: sled::Error) -> StoreError {
    StoreError::Engine(e.to_string())
}

impl SledEngine {
    /// Opens (or creates) the store at `path`.
    ///
    /// # Errors
    ///
    /// [`StoreError::Open`] naming the path.
    pub fn open(path: &Path, cache_mib: u64) -> Result<SledEngine, StoreError> {
        let open_err = |reason: String| StoreError::Open { path: path.into(), reason };
        let db = sled::Config::new()
            .path(path)
            .cache_capacity(cache_mib.saturating_mul(1024 * 1024))
            .mode(sled::Mode::HighThroughput)
            .flush_every_ms(None)
            .open()
            .map_err(|e| open_err(e.to_string()))?;
        let tree = db.open_tree("jaring").map_err(|e| open_err(e.to_string()))?;
        Ok(SledEngine { db, tree })
    }
}

fn prefixed(ks: Keyspace, key: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(key.len() + 1);
    k.push(ks.prefix());
    k.extend_from_slice(key);
    k
}

impl Engine for SledEngine {
    fn get(&self, ks: Keyspace, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.tree.get(prefixed(ks, key)).map_err(err)?.map(|v| v.to_vec()))
    }

    fn range(&self, ks: Keyspace, start: Bound<&[u8]>, end: Bound<&[u8]>, reverse: bool) -> Scan<'_> {
        let p = ks.prefix();
        let start = match start {
            Bound::Included(k) => Bound::Included(prefixed(ks, k)),
            Bound::Excluded(k) => Bound::Excluded(prefixed(ks, k)),
            Bound::Unbounded => Bound::Included(vec![p]),
        };
        let end = match end {
            Bound::Included(k) => Bound::Included(prefixed(ks, k)),
            Bound::Excluded(k) => Bound::Excluded(prefixed(ks, k)),
            Bound::Unbounded => Bound::Excluded(vec![p + 1]),
        };
        let iter = self.tree.range::<Vec<u8>, _>((start, end));
        let map = |r: Result<(sled::IVec, sled::IVec), sled::Error>| {
            r.map(|(k, v)| (k[1..].to_vec(), v.to_vec())).map_err(err)
        };
        if reverse { Box::new(iter.rev().map(map)) } else { Box::new(iter.map(map)) }
    }

    fn commit(&self, batch: Batch) -> Result<(), StoreError> {
        let mut b = sled::Batch::default();
        for op in batch.into_ops() {
            match op {
                Op::Put(ks, k, v) | Op::Insert(ks, k, v) => b.insert(prefixed(ks, &k), v),
                Op::Delete(ks, k) => b.remove(prefixed(ks, &k)),
            }
        }
        self.tree.apply_batch(b).map_err(err)?;
        self.db.flush().map_err(err)?;
        Ok(())
    }

    fn size_on_disk(&self) -> Result<u64, StoreError> {
        self.db.size_on_disk().map_err(err)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::store::Store;
    use std::sync::Arc;

    #[test]
    fn sled_meets_the_engine_contract() {
        crate::store::contract::run_all(&|p| Store::new(Arc::new(SledEngine::open(p, 16).unwrap())));
    }
}
