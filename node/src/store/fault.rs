//! Failing commits on demand, for tests of what a node does when its disk
//! is full: [`FaultFile`] wraps any engine and, while a given file exists,
//! fails every commit as a full disk would (nothing of the batch stored).
//! Reads pass through. Turned on only by `[store] test_fault_file` in
//! `node.toml`, which production configurations do not set.

use std::ops::Bound;
use std::path::PathBuf;
use std::sync::Arc;

use super::{Batch, Engine, Indexed, Keyspace, Prepared, Scan, StoreError};

/// An engine whose commits fail while `path` exists.
#[derive(Debug)]
pub struct FaultFile {
    inner: Arc<dyn Engine>,
    path: PathBuf,
}

impl FaultFile {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn Engine>, path: PathBuf) -> FaultFile {
        FaultFile { inner, path }
    }

    /// The error a full disk gives, while the file exists.
    fn full(&self) -> Result<(), StoreError> {
        if self.path.exists() {
            return Err(StoreError::Engine(format!(
                "No space left on device (os error 28) (simulated while {} exists)",
                self.path.display()
            )));
        }
        Ok(())
    }
}

impl Engine for FaultFile {
    fn get(&self, ks: Keyspace, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.get(ks, key)
    }

    fn get_indexed(&self, keys: &[Vec<u8>]) -> Result<Vec<Indexed>, StoreError> {
        self.inner.get_indexed(keys)
    }

    fn range(&self, ks: Keyspace, start: Bound<&[u8]>, end: Bound<&[u8]>, reverse: bool) -> Scan<'_> {
        self.inner.range(ks, start, end, reverse)
    }

    fn commit(&self, batch: Batch) -> Result<(), StoreError> {
        self.full()?;
        self.inner.commit(batch)
    }

    fn prepare(&self, batch: Batch) -> Result<Prepared, StoreError> {
        self.inner.prepare(batch)
    }

    fn commit_prepared(&self, prepared: Prepared) -> Result<(), StoreError> {
        self.full()?;
        self.inner.commit_prepared(prepared)
    }

    fn size_on_disk(&self) -> Result<u64, StoreError> {
        self.inner.size_on_disk()
    }

    fn shared(&self) -> Option<&dyn super::SharedStore> {
        self.inner.shared()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::store::{Store, TableWrites, Tables};

    #[test]
    fn commits_fail_while_the_file_exists_and_nothing_is_stored() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::open(&dir.path().join("db"), crate::store::EngineKind::Fjall, 8).unwrap();
        let fault = dir.path().join("disk-full");
        let store = store.with_fault_file(fault.clone());
        let write = |n: u64| {
            let mut b = Batch::default();
            b.put_counter("count/x", n);
            store.commit(b)
        };
        write(1).unwrap();
        std::fs::write(&fault, b"").unwrap();
        let e = write(2).unwrap_err().to_string();
        assert!(e.contains("No space left on device"), "{e}");
        assert_eq!(store.counter("count/x").unwrap(), 1, "nothing of the failed batch");
        std::fs::remove_file(&fault).unwrap();
        write(3).unwrap();
        assert_eq!(store.counter("count/x").unwrap(), 3);
        let _: &Store = &store;
    }
}
