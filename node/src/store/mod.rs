//! Durable storage behind a narrow interface.
//!
//! [`Engine`] is the whole contract an embedded database has to meet: point
//! reads, ordered scans of a keyspace, and atomic, durable batches of writes.
//! One adapter per engine lives beside this file: [`fjall_engine`] (the
//! default), [`sled_engine`] and [`postgres`] (a database several node
//! processes share, [`shared`]); [`open`] picks an embedded one and refuses
//! a store another engine wrote, [`open_postgres`] the database.
//!
//! Keyspaces ([`Keyspace`], laid out in [`layout`]) hold the local log (the
//! source of truth), per-origin chain positions and heads, the lookup index,
//! plain values of personal data (local only), subscription cursors, peers,
//! keys, the audit chain, the review quarantine, fork evidence, counters,
//! feedback references, admin allowlists and large imported lists. Above
//! the engines:
//! - [`tables`]: typed reads and writes of every keyspace ([`Tables`],
//!   [`TableWrites`]) and the log as decoded entries ([`LogEntry`]), so no
//!   file outside this folder names a keyspace or decodes a raw record;
//! - [`overlay`]: the single writer's read-your-writes transaction;
//! - [`records`]: the JSON records kept beside the log;
//! - [`audit`]: listing and verifying the audit chain, also offline;
//! - [`fault`]: commits that fail on demand (tests of a full disk).

pub mod audit;
pub mod fault;
pub mod fjall_engine;
pub mod layout;
pub mod overlay;
pub mod postgres;
pub mod records;
pub mod shared;
pub mod sled_engine;
pub mod tables;

use std::ops::Bound;
use std::path::PathBuf;
use std::sync::Arc;

pub use layout::Keyspace;
pub use overlay::Overlay;
pub use shared::{ChangeMarks, SharedStore, StoreRole, WriterInfo};
pub use tables::{LogEntry, LogRecord, StoredChunk, StoredLists, TableWrites, Tables, decode_log};

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
    /// This process does not hold the writer lease of a shared store (it
    /// is a standby or a lookup process, or it lost the lease): nothing was
    /// written. Writes go to the writer.
    #[error("{}", not_writer_message(writer.as_deref()))]
    NotWriter {
        /// The writer's admin address, when known.
        writer: Option<String>,
    },
    /// A peer's batch continues from a cursor the store no longer holds
    /// (a batch before it failed, or an admin moved the cursor): nothing
    /// of it was stored.
    #[error(
        "the cursor of peer {peer} is at {stored}, not at {expected} where this batch continues from; nothing of it was stored"
    )]
    CursorMoved {
        /// The peer.
        peer: String,
        /// Where the batch continues from.
        expected: u64,
        /// Where the stored cursor is.
        stored: u64,
    },
}

fn not_writer_message(writer: Option<&str>) -> String {
    match writer {
        Some(w) => format!("this node process is not the writer; the writer's admin API is at {w}"),
        None => "this node process is not the writer (no writer holds the lease right now; retry)".into(),
    }
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
    /// Set a key the writer knows is not stored: an engine may add it
    /// without looking for it first (and must still set it, as a put does,
    /// if it is there after all).
    Insert(Keyspace, Vec<u8>, Vec<u8>),
    /// Remove a key.
    Delete(Keyspace, Vec<u8>),
}

/// Writes applied together: all or none, durable when `commit` returns.
#[derive(Debug, Default, Clone)]
pub struct Batch {
    ops: Vec<Op>,
}

impl Batch {
    /// An empty batch with room for `writes` writes.
    pub fn with_capacity(writes: usize) -> Batch {
        Batch { ops: Vec::with_capacity(writes) }
    }

    /// Adds a put.
    pub fn put(&mut self, ks: Keyspace, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) {
        self.ops.push(Op::Put(ks, key.into(), value.into()));
    }

    /// Adds a put of a key the writer knows is not stored ([`Op::Insert`]).
    pub fn insert(&mut self, ks: Keyspace, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) {
        self.ops.push(Op::Insert(ks, key.into(), value.into()));
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

/// What [`Engine::get_indexed`] gives for one lookup-index key held: its
/// value (a log position) and the log's entry there.
pub type Indexed = Option<(Vec<u8>, Option<Vec<u8>>)>;

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

    /// Reads lookup-index keys and the log entries they point at: in the
    /// order of `keys`, `None` for a key not held, else its value (a log
    /// position) and the log's entry there (`None` if the log lacks it). An
    /// engine that pays a round trip per read (PostgreSQL) answers in one;
    /// embedded engines read them one by one.
    ///
    /// # Errors
    ///
    /// Engine failures.
    fn get_indexed(&self, keys: &[Vec<u8>]) -> Result<Vec<Indexed>, StoreError> {
        keys.iter()
            .map(|k| match self.get(Keyspace::Index, k)? {
                Some(position) => {
                    let entry = self.get(Keyspace::Log, &position)?;
                    Ok(Some((position, entry)))
                }
                None => Ok(None),
            })
            .collect()
    }

    /// Scans a keyspace in key order between two bounds.
    fn range(&self, ks: Keyspace, start: Bound<&[u8]>, end: Bound<&[u8]>, reverse: bool) -> Scan<'_>;

    /// [`Engine::range`] for a caller that expects to read about `expect`
    /// pairs (a response's worth of log entries): an engine that fetches
    /// pages fetches that many first, instead of growing to it.
    fn range_expecting(
        &self,
        ks: Keyspace,
        start: Bound<&[u8]>,
        end: Bound<&[u8]>,
        reverse: bool,
        _expect: usize,
    ) -> Scan<'_> {
        self.range(ks, start, end, reverse)
    }

    /// Applies every write atomically and makes it durable before returning.
    ///
    /// # Errors
    ///
    /// Engine failures; then none of the batch is visible.
    fn commit(&self, batch: Batch) -> Result<(), StoreError>;

    /// Turns a batch into what [`Engine::commit_prepared`] commits. The
    /// ledger's writer calls it while the commit before is in flight, so an
    /// engine that turns a batch into rows first (PostgreSQL) does that off
    /// the commit's path. By default the batch as it is.
    ///
    /// # Errors
    ///
    /// A write the engine cannot store (nothing is stored).
    fn prepare(&self, batch: Batch) -> Result<Prepared, StoreError> {
        Ok(Prepared::new(batch.is_empty(), batch))
    }

    /// Commits what [`Engine::prepare`] made, as [`Engine::commit`] does.
    ///
    /// # Errors
    ///
    /// As [`Engine::commit`]; a batch prepared by another engine.
    fn commit_prepared(&self, prepared: Prepared) -> Result<(), StoreError> {
        self.commit(prepared.take::<Batch>()?)
    }

    /// Bytes used on disk.
    fn size_on_disk(&self) -> Result<u64, StoreError>;

    /// The operations of a store several processes share, for an engine
    /// that is one (PostgreSQL); embedded engines have one process, always
    /// the writer.
    fn shared(&self) -> Option<&dyn SharedStore> {
        None
    }
}

/// A batch as an engine's [`Engine::prepare`] made it ready to commit.
pub struct Prepared {
    empty: bool,
    inner: Box<dyn std::any::Any + Send>,
}

impl Prepared {
    /// What an engine made of a batch (`empty`: it writes nothing).
    pub fn new<T: std::any::Any + Send>(empty: bool, inner: T) -> Prepared {
        Prepared { empty, inner: Box::new(inner) }
    }

    /// Whether it writes nothing.
    pub fn is_empty(&self) -> bool {
        self.empty
    }

    /// What the engine made, as the type it made.
    ///
    /// # Errors
    ///
    /// It was made by another engine.
    pub fn take<T: std::any::Any>(self) -> Result<T, StoreError> {
        self.inner
            .downcast::<T>()
            .map(|b| *b)
            .map_err(|_| StoreError::Engine("a batch prepared by another engine".into()))
    }
}

impl std::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prepared").field("empty", &self.empty).finish_non_exhaustive()
    }
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

    /// The shared-store operations, if several processes share this store.
    pub fn shared(&self) -> Option<&dyn SharedStore> {
        self.engine.shared()
    }

    /// The same store with every commit failing while `path` exists
    /// ([`fault::FaultFile`], for tests).
    pub fn with_fault_file(self, path: PathBuf) -> Store {
        Store { engine: Arc::new(fault::FaultFile::new(self.engine, path)) }
    }

    /// Reads one key.
    ///
    /// # Errors
    ///
    /// Engine failures.
    pub fn get(&self, ks: Keyspace, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.engine.get(ks, key)
    }

    /// Reads lookup-index keys and the log entries they point at
    /// ([`Engine::get_indexed`]).
    ///
    /// # Errors
    ///
    /// Engine failures.
    pub fn get_indexed(&self, keys: &[Vec<u8>]) -> Result<Vec<Indexed>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        self.engine.get_indexed(keys)
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

    /// [`Self::scan_after`] for a caller that expects to read about
    /// `expect` pairs ([`Engine::range_expecting`]).
    pub fn scan_after_expecting(&self, ks: Keyspace, after: &[u8], expect: usize) -> Scan<'_> {
        self.engine.range_expecting(ks, Bound::Excluded(after), Bound::Unbounded, false, expect)
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

    /// Makes a batch ready to commit ([`Engine::prepare`]).
    ///
    /// # Errors
    ///
    /// A write the engine cannot store.
    pub fn prepare(&self, batch: Batch) -> Result<Prepared, StoreError> {
        self.engine.prepare(batch)
    }

    /// Commits a prepared batch atomically and durably ([`Store::commit`]).
    ///
    /// # Errors
    ///
    /// As [`Store::commit`].
    pub fn commit_prepared(&self, prepared: Prepared) -> Result<(), StoreError> {
        if prepared.is_empty() {
            return Ok(());
        }
        self.engine.commit_prepared(prepared)
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
    /// PostgreSQL (`[store] url`): one database several node processes
    /// share, a writer and standbys or lookup processes.
    Postgres,
}

impl EngineKind {
    /// The name used in `node.toml`.
    pub fn as_str(self) -> &'static str {
        match self {
            EngineKind::Fjall => "fjall",
            EngineKind::Sled => "sled",
            EngineKind::Postgres => "postgres",
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
            "postgres" => Ok(EngineKind::Postgres),
            other => Err(format!("unknown store engine {other:?}; choose fjall, sled or postgres")),
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
        EngineKind::Postgres => {
            return Err(StoreError::Open {
                path: path.into(),
                reason: "a PostgreSQL store is opened from its [store] url, not a directory".into(),
            });
        }
    };
    Ok(Store::new(engine))
}

/// Opens the node's store in PostgreSQL: connects, migrates the schema.
///
/// # Errors
///
/// [`StoreError::Open`] naming the server.
pub fn open_postgres(options: &postgres::PgOptions) -> Result<Store, StoreError> {
    Ok(Store::new(Arc::new(postgres::PostgresEngine::open(options)?)))
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
        index_entries_with_their_log_entries(open);
        reopen_keeps_everything(open);
        every_keyspace_keeps_its_pairs(open);
        an_insert_of_a_key_there_sets_it(open);
        a_prepared_batch_commits_as_the_batch_would(open);
    }

    /// Two pairs shaped as the node writes them in `ks` (keys from
    /// layout.rs), the second sorting after the first.
    fn samples(ks: Keyspace) -> [(Vec<u8>, Vec<u8>); 2] {
        use crate::model::Kind;
        let json = |n: u32| format!("{{\"n\":{n},\"s\":\"x\"}}").into_bytes();
        let seq = |n: u64| n.to_be_bytes().to_vec();
        let pair = |k: Vec<u8>, v: Vec<u8>, k2: Vec<u8>, v2: Vec<u8>| [(k, v), (k2, v2)];
        match ks {
            Keyspace::Log => pair(seq(3), b"env-3".to_vec(), seq(300), b"env-300".to_vec()),
            Keyspace::Audit | Keyspace::Quarantine => pair(seq(1), json(1), seq(2), json(2)),
            Keyspace::OriginSeq => {
                pair(layout::origin_seq_key("ID", 1), vec![1; 72], layout::origin_seq_key("ID", 2), vec![2; 72])
            }
            Keyspace::Heads => pair(b"ID".to_vec(), vec![1; 40], b"VN".to_vec(), vec![2; 40]),
            Keyspace::Index => pair(
                layout::index_key(Kind::Domain, "a.example", "ID"),
                seq(1),
                layout::index_key(Kind::Domain, "b.example", "ID"),
                seq(2),
            ),
            Keyspace::Ids | Keyspace::Cursors => pair(b"a".to_vec(), seq(1), b"b".to_vec(), seq(2)),
            Keyspace::Plain => pair(
                layout::plain_key(Kind::Phone, "d1"),
                b"+62811".to_vec(),
                layout::plain_key(Kind::Phone, "d2"),
                b"+62812".to_vec(),
            ),
            Keyspace::Peers | Keyspace::Keys | Keyspace::Reach | Keyspace::Tokens => {
                pair(b"a".to_vec(), json(1), b"b".to_vec(), json(2))
            }
            Keyspace::Forks => pair(
                layout::origin_seq_key("ID", 1),
                b"env-a".to_vec(),
                layout::origin_seq_key("ID", 2),
                b"env-b".to_vec(),
            ),
            Keyspace::Meta => pair(b"count/a".to_vec(), seq(1), b"count/b".to_vec(), b"text".to_vec()),
            Keyspace::Feedback => pair(
                layout::feedback_key(Kind::Domain, "a.example", "ID", 1),
                Vec::new(),
                layout::feedback_key(Kind::Domain, "a.example", "ID", 2),
                Vec::new(),
            ),
            Keyspace::Allowlist => pair(
                layout::allow_key("local", None, "b.example"),
                json(1),
                layout::allow_key("local", Some(Kind::Domain), "a.example"),
                json(2),
            ),
            Keyspace::StixIds => pair(
                b"indicator--0001".to_vec(),
                layout::index_key(Kind::Domain, "a.example", "ID"),
                b"indicator--0002".to_vec(),
                layout::index_key(Kind::Url, "https://b.example/x", "VN"),
            ),
            Keyspace::Warninglists => pair(
                layout::warninglist_chunk_key("tranco", 1, 0),
                vec![0, 1, 2, 255],
                layout::warninglist_header_key("tranco"),
                vec![9, 0, 9],
            ),
            Keyspace::Tiles => pair(
                crate::tlog::tree::tile_key(0, 1).to_vec(),
                vec![7; 64],
                crate::tlog::tree::tile_key(1, 0).to_vec(),
                vec![8; 32],
            ),
            Keyspace::Witness => pair(
                layout::log_fork_key("a.example/log", 5, &[1; 32]),
                json(1),
                layout::witnessed_key("a.example/log"),
                json(2),
            ),
            Keyspace::Cases => {
                pair(layout::case_key("ID", 1, 10), Vec::new(), layout::case_key("ID", 2, 11), Vec::new())
            }
        }
    }

    /// Pairs shaped as the node writes them come back byte for byte from
    /// every keyspace, in key order, and go with one atomic delete.
    fn every_keyspace_keeps_its_pairs(open: &dyn Fn(&std::path::Path) -> Store) {
        let dir = tempfile::tempdir().unwrap();
        let s = open(dir.path());
        let mut b = Batch::default();
        for ks in Keyspace::ALL {
            let pairs = samples(ks);
            assert!(pairs[0].0 < pairs[1].0, "{ks:?}: samples out of order");
            // Written second first: the scan, not the batch, orders them.
            for (k, v) in pairs.iter().rev() {
                b.put(ks, k.clone(), v.clone());
            }
        }
        s.commit(b).unwrap();
        for ks in Keyspace::ALL {
            let pairs = samples(ks);
            for (k, v) in &pairs {
                assert_eq!(s.get(ks, k).unwrap().as_ref(), Some(v), "{ks:?}");
            }
            let all: Vec<(Vec<u8>, Vec<u8>)> = s.scan_prefix(ks, b"").map(|r| r.unwrap()).collect();
            assert_eq!(all, pairs.to_vec(), "{ks:?}");
            let back: Vec<Vec<u8>> =
                s.engine().range(ks, Bound::Unbounded, Bound::Unbounded, true).map(|r| r.unwrap().0).collect();
            assert_eq!(back, vec![pairs[1].0.clone(), pairs[0].0.clone()], "{ks:?} reversed");
        }
        let mut d = Batch::default();
        for ks in Keyspace::ALL {
            for (k, _) in samples(ks) {
                d.delete(ks, k);
            }
        }
        s.commit(d).unwrap();
        for ks in Keyspace::ALL {
            assert_eq!(s.scan_prefix(ks, b"").count(), 0, "{ks:?} after delete");
        }
    }

    /// A store in `dir` holding the first of [`samples`] in every keyspace.
    fn with_first_samples(open: &dyn Fn(&std::path::Path) -> Store, dir: &std::path::Path) -> Store {
        let s = open(dir);
        let mut b = Batch::default();
        for ks in Keyspace::ALL {
            let [(k, v), _] = samples(ks);
            b.put(ks, k, v);
        }
        s.commit(b).unwrap();
        s
    }

    /// [`Op::Insert`] is a promise the writer may get wrong (a repair, a
    /// migration run twice): a key that is there after all is set, as a
    /// put sets it, in every keyspace, and the rest of the batch commits.
    fn an_insert_of_a_key_there_sets_it(open: &dyn Fn(&std::path::Path) -> Store) {
        let dir = tempfile::tempdir().unwrap();
        let s = with_first_samples(open, dir.path());
        let mut b = Batch::default();
        for ks in Keyspace::ALL {
            let [(k0, _), (k1, v1)] = samples(ks);
            b.insert(ks, k0, v1.clone());
            b.insert(ks, k1, v1);
        }
        s.commit(b).unwrap();
        for ks in Keyspace::ALL {
            let [(k0, _), (k1, v1)] = samples(ks);
            assert_eq!(s.get(ks, &k0).unwrap().as_ref(), Some(&v1), "{ks:?}: the key there is set");
            assert_eq!(s.get(ks, &k1).unwrap().as_ref(), Some(&v1), "{ks:?}: the new key is added");
            assert_eq!(s.scan_prefix(ks, b"").count(), 2, "{ks:?}");
        }
        // Inserted, then put again in one batch: the last write wins.
        let mut b = Batch::default();
        let [(k, v0), (_, v1)] = samples(Keyspace::Meta);
        let fresh = [k.as_slice(), b"-fresh"].concat();
        b.insert(Keyspace::Meta, fresh.clone(), v0);
        b.put(Keyspace::Meta, fresh.clone(), v1.clone());
        s.commit(b).unwrap();
        assert_eq!(s.get(Keyspace::Meta, &fresh).unwrap(), Some(v1));
    }

    /// What the ledger's writer does on a shared store: prepare a batch
    /// while the commit before is in flight, commit it later.
    fn a_prepared_batch_commits_as_the_batch_would(open: &dyn Fn(&std::path::Path) -> Store) {
        let dir = tempfile::tempdir().unwrap();
        let s = with_first_samples(open, dir.path());
        let mut b = Batch::default();
        for ks in Keyspace::ALL {
            let [(k0, _), (k1, v1)] = samples(ks);
            b.delete(ks, k0);
            b.insert(ks, k1, v1);
        }
        let prepared = s.prepare(b).unwrap();
        assert!(!prepared.is_empty());
        for ks in Keyspace::ALL {
            let [(k0, v0), (k1, _)] = samples(ks);
            assert_eq!(s.get(ks, &k0).unwrap(), Some(v0), "{ks:?}: nothing moves before the commit");
            assert_eq!(s.get(ks, &k1).unwrap(), None, "{ks:?}");
        }
        s.commit_prepared(prepared).unwrap();
        for ks in Keyspace::ALL {
            let [(k0, _), (k1, v1)] = samples(ks);
            assert_eq!(s.get(ks, &k0).unwrap(), None, "{ks:?}: deleted");
            assert_eq!(s.get(ks, &k1).unwrap(), Some(v1), "{ks:?}: added");
        }
        let empty = s.prepare(Batch::default()).unwrap();
        assert!(empty.is_empty());
        s.commit_prepared(empty).unwrap();
        assert!(Prepared::new(false, 7u32).take::<Batch>().is_err(), "another engine's");
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

    fn index_entries_with_their_log_entries(open: &dyn Fn(&std::path::Path) -> Store) {
        use crate::model::Kind;
        let dir = tempfile::tempdir().unwrap();
        let s = open(dir.path());
        let seq = |n: u64| n.to_be_bytes().to_vec();
        let (k1, k2, absent) = (
            layout::index_key(Kind::Domain, "a.example", "ID"),
            layout::index_key(Kind::Domain, "b.example", "VN"),
            layout::index_key(Kind::Domain, "c.example", "ID"),
        );
        let mut b = Batch::default();
        b.put(Keyspace::Log, seq(3), b"entry 3".to_vec());
        b.put(Keyspace::Log, seq(4), b"entry 4".to_vec());
        b.put(Keyspace::Index, k1.clone(), seq(3));
        // Points at a position the log does not hold.
        b.put(Keyspace::Index, k2.clone(), seq(5));
        s.commit(b).unwrap();

        let e3 = Some(b"entry 3".to_vec());
        let keys = [k1.clone(), absent, k2, k1];
        let got = s.get_indexed(&keys).unwrap();
        let want = vec![Some((seq(3), e3.clone())), None, Some((seq(5), None)), Some((seq(3), e3))];
        assert_eq!(got, want, "in the order asked, a key asked twice answered twice");
        assert!(s.get_indexed(&[]).unwrap().is_empty());
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
