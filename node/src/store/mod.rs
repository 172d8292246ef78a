//! Durable storage behind a narrow interface.
//!
//! [`Engine`] is the whole contract an embedded database has to meet: point
//! reads, ordered scans of a keyspace, and atomic, durable batches of writes.
//! One adapter per engine lives beside this file: [`fjall_engine`] (the
//! default) and [`sled_engine`]; [`open`] picks one and refuses a store
//! another engine wrote.
//!
//! Keyspaces ([`Keyspace`], laid out in [`layout`]) hold the local log (the
//! source of truth), per-origin chain positions and heads, the lookup index,
//! plain values of personal data (local only), subscription cursors, peers,
//! keys, the audit chain, the review quarantine, fork evidence, counters,
//! feedback references and allowlists. Above the engines:
//! - [`tables`]: typed reads and writes of every keyspace ([`Tables`],
//!   [`TableWrites`]) and the log as decoded entries ([`LogEntry`]), so no
//!   file outside this folder names a keyspace or decodes a raw record;
//! - [`overlay`]: the single writer's read-your-writes transaction;
//! - [`records`]: the JSON records kept beside the log;
//! - [`audit`]: listing and verifying the audit chain, also offline.

pub mod audit;
pub mod fjall_engine;
pub mod layout;
pub mod overlay;
pub mod records;
pub mod sled_engine;
pub mod tables;

use std::ops::Bound;
use std::path::PathBuf;
use std::sync::Arc;

pub use layout::Keyspace;
pub use overlay::Overlay;
pub use tables::{LogEntry, LogRecord, TableWrites, Tables, decode_log};

/// A storage failure. The node treats these as fatal for the operation and
/// never acknowledges a write that returned one.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The engine failed.
    #[error("store engine error: {0}")]
    Engine(String),
    /// The store could not be opened.
    #[error("cannot open the store at {path}: {reason}")]
    Open {
        /// The directory.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A stored record does not decode: the store was edited or damaged.
    #[error("corrupt record in {keyspace:?}: {reason}")]
    Corrupt {
        /// Where.
        keyspace: Keyspace,
        /// What.
        reason: String,
    },
}

impl StoreError {
    /// A log entry that is not what the index or the caller says it is.
    pub fn corrupt_log(reason: impl Into<String>) -> StoreError {
        StoreError::Corrupt { keyspace: Keyspace::Log, reason: reason.into() }
    }
}

/// One write in a batch.
#[derive(Debug, Clone)]
pub enum Op {
    /// Set a key.
    Put(Keyspace, Vec<u8>, Vec<u8>),
    /// Remove a key.
    Delete(Keyspace, Vec<u8>),
}

/// Writes applied together: all or none, durable when `commit` returns.
#[derive(Debug, Default, Clone)]
pub struct Batch {
    ops: Vec<Op>,
}

impl Batch {
    /// Adds a put.
    pub fn put(&mut self, ks: Keyspace, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) {
        self.ops.push(Op::Put(ks, key.into(), value.into()));
    }

    /// Adds a delete.
    pub fn delete(&mut self, ks: Keyspace, key: impl Into<Vec<u8>>) {
        self.ops.push(Op::Delete(ks, key.into()));
    }

    /// Whether the batch is empty.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Number of writes.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// Adds another batch's writes after this one's.
    pub fn append(&mut self, other: Batch) {
        self.ops.extend(other.ops);
    }

    /// The writes, in order.
    pub fn into_ops(self) -> Vec<Op> {
        self.ops
    }
}

/// A (key, value) pair from a scan, key without any engine prefix.
pub type Pair = (Vec<u8>, Vec<u8>);

/// Iterator over a keyspace range.
pub type Scan<'a> = Box<dyn Iterator<Item = Result<Pair, StoreError>> + Send + 'a>;

/// What an embedded database must do for the node.
pub trait Engine: Send + Sync + std::fmt::Debug + 'static {
    /// Reads one key.
    ///
    /// # Errors
    ///
    /// Engine failures.
    fn get(&self, ks: Keyspace, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;

    /// Scans a keyspace in key order between two bounds.
    fn range(&self, ks: Keyspace, start: Bound<&[u8]>, end: Bound<&[u8]>, reverse: bool) -> Scan<'_>;

    /// Applies every write atomically and makes it durable before returning.
    ///
    /// # Errors
    ///
    /// Engine failures; then none of the batch is visible.
    fn commit(&self, batch: Batch) -> Result<(), StoreError>;

    /// Bytes used on disk.
    fn size_on_disk(&self) -> Result<u64, StoreError>;
}

/// The node's store: an engine plus the meaning of its keyspaces.
#[derive(Debug, Clone)]
pub struct Store {
    engine: Arc<dyn Engine>,
}

impl Store {
    /// Wraps an engine.
    pub fn new(engine: Arc<dyn Engine>) -> Store {
        Store { engine }
    }

    /// The engine.
    pub fn engine(&self) -> &dyn Engine {
        &*self.engine
    }

    /// Reads one key.
    ///
    /// # Errors
    ///
    /// Engine failures.
    pub fn get(&self, ks: Keyspace, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.engine.get(ks, key)
    }

    /// Every pair whose key starts with `prefix`.
    pub fn scan_prefix(&self, ks: Keyspace, prefix: &[u8]) -> Scan<'_> {
        match prefix_end(prefix) {
            Some(end) => {
                let it = self.engine.range(ks, Bound::Included(prefix), Bound::Unbounded, false);
                Box::new(it.take_while(move |r| r.as_ref().map_or(true, |(k, _)| k.as_slice() < end.as_slice())))
            }
            None => self.engine.range(ks, Bound::Included(prefix), Bound::Unbounded, false),
        }
    }

    /// Pairs with keys strictly after `after`, in order.
    pub fn scan_after(&self, ks: Keyspace, after: &[u8]) -> Scan<'_> {
        self.engine.range(ks, Bound::Excluded(after), Bound::Unbounded, false)
    }

    /// The last pair of a keyspace.
    ///
    /// # Errors
    ///
    /// Engine failures.
    pub fn last(&self, ks: Keyspace) -> Result<Option<Pair>, StoreError> {
        self.engine.range(ks, Bound::Unbounded, Bound::Unbounded, true).next().transpose()
    }

    /// Commits a batch durably.
    ///
    /// # Errors
    ///
    /// Engine failures.
    pub fn commit(&self, batch: Batch) -> Result<(), StoreError> {
        if batch.is_empty() {
            return Ok(());
        }
        self.engine.commit(batch)
    }
}

/// The smallest key greater than every key starting with `prefix`.
fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

/// Which embedded database holds a node's store (`[store] engine`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EngineKind {
    /// fjall 3, an LSM tree: the fastest durable ingest and bounded memory
    /// at national scale (BENCHMARKS.md).
    #[default]
    Fjall,
    /// sled 0.34.
    Sled,
}

impl EngineKind {
    /// The name used in `node.toml`.
    pub fn as_str(self) -> &'static str {
        match self {
            EngineKind::Fjall => "fjall",
            EngineKind::Sled => "sled",
        }
    }

    /// The engine that wrote the store at `path`, if there is one. sled
    /// keeps a `conf` file at the top of its directory, fjall does not.
    pub fn detect(path: &std::path::Path) -> Option<EngineKind> {
        let mut entries = std::fs::read_dir(path).ok()?.peekable();
        entries.peek()?;
        Some(if path.join("conf").is_file() { EngineKind::Sled } else { EngineKind::Fjall })
    }
}

impl std::str::FromStr for EngineKind {
    type Err = String;

    fn from_str(s: &str) -> Result<EngineKind, String> {
        match s {
            "fjall" => Ok(EngineKind::Fjall),
            "sled" => Ok(EngineKind::Sled),
            other => Err(format!("unknown store engine {other:?}; choose fjall or sled")),
        }
    }
}

impl std::fmt::Display for EngineKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Opens the store at `path` with `engine`, refusing a store that another
/// engine wrote (opening it would look like an empty store).
///
/// # Errors
///
/// [`StoreError::Open`].
pub fn open(path: &std::path::Path, engine: EngineKind, cache_mib: u64) -> Result<Store, StoreError> {
    if let Some(found) = EngineKind::detect(path)
        && found != engine
    {
        return Err(StoreError::Open {
            path: path.into(),
            reason: format!(
                "this store was written by {found}, but node.toml asks for {engine}; \
                 set `[store] engine = \"{found}\"` (or export and re-import into a new node)"
            ),
        });
    }
    let engine: Arc<dyn Engine> = match engine {
        EngineKind::Fjall => Arc::new(fjall_engine::FjallEngine::open(path, cache_mib)?),
        EngineKind::Sled => Arc::new(sled_engine::SledEngine::open(path, cache_mib)?),
    };
    Ok(Store::new(engine))
}

/// Opens an existing store with the engine that wrote it (for offline
/// tools and tests reading a stopped node's store).
///
/// # Errors
///
/// [`StoreError::Open`], also when there is no store at `path`.
pub fn open_existing(path: &std::path::Path, cache_mib: u64) -> Result<Store, StoreError> {
    let engine = EngineKind::detect(path)
        .ok_or_else(|| StoreError::Open { path: path.into(), reason: "no store here".into() })?;
    open(path, engine, cache_mib)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod contract {
    //! The contract every engine adapter must pass.
    use super::*;

    pub fn run_all(open: &dyn Fn(&std::path::Path) -> Store) {
        atomic_batches_and_scans(open);
        reopen_keeps_everything(open);
    }

    fn atomic_batches_and_scans(open: &dyn Fn(&std::path::Path) -> Store) {
        let dir = tempfile::tempdir().unwrap();
        let s = open(dir.path());
        let mut b = Batch::default();
        for i in 0u64..100 {
            b.put(Keyspace::Log, i.to_be_bytes(), format!("v{i}"));
        }
        b.put(Keyspace::Meta, b"a/1".to_vec(), b"x".to_vec());
        b.put(Keyspace::Meta, b"a/2".to_vec(), b"y".to_vec());
        b.put(Keyspace::Meta, b"b/1".to_vec(), b"z".to_vec());
        s.commit(b).unwrap();
        assert_eq!(s.get(Keyspace::Log, &7u64.to_be_bytes()).unwrap(), Some(b"v7".to_vec()));
        assert_eq!(s.get(Keyspace::Peers, &7u64.to_be_bytes()).unwrap(), None, "keyspaces are separate");
        let after: Vec<_> = s.scan_after(Keyspace::Log, &97u64.to_be_bytes()).map(|r| r.unwrap().1).collect();
        assert_eq!(after, vec![b"v98".to_vec(), b"v99".to_vec()]);
        let pre: Vec<_> = s.scan_prefix(Keyspace::Meta, b"a/").map(|r| r.unwrap().0).collect();
        assert_eq!(pre, vec![b"a/1".to_vec(), b"a/2".to_vec()]);
        assert_eq!(s.last(Keyspace::Log).unwrap().unwrap().1, b"v99".to_vec());
        assert_eq!(s.last(Keyspace::Cursors).unwrap(), None);
        let mut d = Batch::default();
        d.delete(Keyspace::Meta, b"a/1".to_vec());
        s.commit(d).unwrap();
        assert_eq!(s.get(Keyspace::Meta, b"a/1").unwrap(), None);
    }

    fn reopen_keeps_everything(open: &dyn Fn(&std::path::Path) -> Store) {
        let dir = tempfile::tempdir().unwrap();
        {
            let s = open(dir.path());
            let mut b = Batch::default();
            b.put(Keyspace::Log, 1u64.to_be_bytes(), b"one".to_vec());
            s.commit(b).unwrap();
        }
        let s = open(dir.path());
        assert_eq!(s.get(Keyspace::Log, &1u64.to_be_bytes()).unwrap(), Some(b"one".to_vec()));
    }

    #[test]
    fn a_store_is_reopened_only_with_its_own_engine() {
        for (made, other) in [(EngineKind::Sled, EngineKind::Fjall), (EngineKind::Fjall, EngineKind::Sled)] {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("db");
            drop(open(&path, made, 8).unwrap());
            assert_eq!(EngineKind::detect(&path), Some(made));
            assert_eq!(made.as_str().parse::<EngineKind>(), Ok(made));
            let e = open(&path, other, 8).unwrap_err().to_string();
            assert!(e.contains(&format!("written by {made}")), "{e}");
            open(&path, made, 8).unwrap();
        }
        assert_eq!(EngineKind::detect(std::path::Path::new("/nonexistent/jaring")), None);
        let e = open_existing(std::path::Path::new("/nonexistent/jaring"), 8).unwrap_err().to_string();
        assert!(e.contains("no store here"), "{e}");
    }

    #[test]
    fn prefix_end_rolls_over() {
        assert_eq!(prefix_end(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(prefix_end(&[1, 0xff]), Some(vec![2]));
        assert_eq!(prefix_end(&[0xff]), None);
    }
}
