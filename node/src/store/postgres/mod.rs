//! The PostgreSQL adapter: the node's store in a database that several node
//! processes share.
//!
//! - [`tables`]: one table per keyspace with typed columns (migrations in
//!   `migrations/`, applied by [`schema`] at open);
//! - [`client`]: sessions on the adapter's own runtime, so the synchronous
//!   [`Engine`] calls are safe from any thread, TLS (rustls) and the
//!   password (a file or the environment, never node.toml);
//! - [`lease`]: the writer lease and its fencing token.
//!
//! A commit is one transaction on the writer's session: the fencing check;
//! the rows of keys that must be new (keyspaces the node only adds to, keys
//! it inserts) by binary `COPY`, one per table; the other rows by one
//! upsert per table (`unnest` of arrays) and one delete, with the change
//! marks, pipelined in one round trip; then `COMMIT`. The rows are made
//! from the batch beforehand ([`Engine::prepare`]: the ledger's writer does
//! it while the commit before is in flight). A commit returns once
//! PostgreSQL reports it, which is as durable as the server's
//! `synchronous_commit` makes it (`[store]
//! synchronous_commit` overrides it for the node's sessions; `remote_apply`
//! waits until the synchronous standbys have applied it, so a lookup on one
//! sees it).
//!
//! Reads go to the primary, or to the read replica (`[store] read_url`)
//! while this process is not the writer: the writer reads its own writes.
//! Scans fetch pages of growing size by key, the first as large as the
//! reader expects to take (a response's worth for a subscriber).

pub mod client;
mod gather;
mod lease;
pub mod schema;
mod tables;

use std::collections::{HashMap, VecDeque};
use std::ops::Bound;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use tokio_postgres::types::ToSql;

pub use self::client::PgConfigError;
use self::client::{Bridge, Connector, Slot};
use self::tables::{KeyBound, Rows, table};
use super::overlay::{self, LastWrites, Write};
use super::shared::{ChangeMarks, SharedStore, StoreRole, WriterInfo};
use super::{Batch, Engine, Indexed, Keyspace, Pair, Prepared, Scan, StoreError};

/// What the adapter needs to know, from `[store]`.
#[derive(Debug, Clone)]
pub struct PgOptions {
    /// The primary, `postgres://user@host:port/db[?sslmode=require]`.
    pub url: String,
    /// A read replica for a process that is not the writer.
    pub read_url: Option<String>,
    /// File holding the password (first line).
    pub password_file: Option<PathBuf>,
    /// Environment variable holding the password, if no file is named.
    pub password_env: String,
    /// CA certificates (PEM) that verify the server; turns TLS on.
    pub tls_ca: Option<PathBuf>,
    /// Schema holding the node's tables.
    pub schema: String,
    /// Reading sessions per server.
    pub connections: usize,
    /// How long a writer lease lasts without renewal.
    pub lease: Duration,
    /// How often a standby looks for commits and an expired lease.
    pub poll: Duration,
    /// `synchronous_commit` for the node's sessions, if not the server's.
    pub synchronous_commit: Option<String>,
    /// Whether this process may write.
    pub role: StoreRole,
}

impl PgOptions {
    /// Options for `url` with the defaults of `[store]`.
    pub fn new(url: impl Into<String>) -> PgOptions {
        PgOptions {
            url: url.into(),
            read_url: None,
            password_file: None,
            password_env: DEFAULT_PASSWORD_ENV.into(),
            tls_ca: None,
            schema: DEFAULT_SCHEMA.into(),
            connections: DEFAULT_CONNECTIONS,
            lease: DEFAULT_LEASE,
            poll: DEFAULT_POLL,
            synchronous_commit: None,
            role: StoreRole::Auto,
        }
    }

    /// Checks everything that can be checked without the server.
    ///
    /// # Errors
    ///
    /// [`PgConfigError`]; or a message for a bad schema, lease or
    /// `synchronous_commit`.
    pub fn check(&self) -> Result<(), PgConfigError> {
        let primary = client::parse_url("url", &self.url)?;
        let replica = self.read_url.as_deref().map(|u| client::parse_url("read_url", u)).transpose()?;
        for (field, c) in std::iter::once(("url", &primary)).chain(replica.iter().map(|r| ("read_url", r))) {
            if c.get_ssl_mode() == tokio_postgres::config::SslMode::Require && self.tls_ca.is_none() {
                return Err(PgConfigError::TlsWithoutCa { field });
            }
        }
        let invalid = |reason: String| PgConfigError::Url { field: "url", reason };
        if !schema::valid_schema_name(&self.schema) {
            return Err(invalid(format!(
                "[store] schema {:?} must be lower-case letters, digits and _ (at most 63)",
                self.schema
            )));
        }
        if let Some(s) = &self.synchronous_commit
            && !SYNCHRONOUS_COMMIT.contains(&s.as_str())
        {
            return Err(invalid(format!(
                "[store] synchronous_commit {s:?} is not one of {}",
                SYNCHRONOUS_COMMIT.join(", ")
            )));
        }
        if !lease::check_duration(self.lease) {
            return Err(invalid("[store] lease_ms must be between 400 and 600000".into()));
        }
        Ok(())
    }
}

/// The schema the node's tables live in unless `[store] schema` says.
pub const DEFAULT_SCHEMA: &str = "jaring";
/// The variable the password is read from unless a file is named.
pub const DEFAULT_PASSWORD_ENV: &str = "JARING_PG_PASSWORD";
/// Reading sessions per server.
pub const DEFAULT_CONNECTIONS: usize = 4;
/// A writer lease lasts this long without renewal: a standby takes over
/// at most this long (plus one poll) after the writer died.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(3);
/// How often a standby looks for commits and an expired lease.
pub const DEFAULT_POLL: Duration = Duration::from_millis(100);

/// The values PostgreSQL accepts for `synchronous_commit`.
pub const SYNCHRONOUS_COMMIT: &[&str] = &["on", "off", "local", "remote_write", "remote_apply"];

/// Rows per scan page: the first page is small (a `last` reads one row),
/// later ones grow to this.
const MAX_PAGE: usize = 2048;
const FIRST_PAGE: usize = 32;

/// SQL of one keyspace, built once.
#[derive(Debug)]
struct Sqls {
    get: String,
    upsert: String,
    /// For new keys: a binary `COPY`, with its columns' types.
    copy: String,
    copy_types: Vec<tokio_postgres::types::Type>,
    delete: String,
}

/// Keyspaces whose keys the node only ever adds (a log position, an
/// origin's sequence number, an audit position): their rows are inserted
/// without a conflict clause. Should a key be there already (a migration
/// run twice, a repair), the commit fails with a unique violation and is
/// sent again with upserts, so the shortcut never changes an outcome.
fn appends_only(ks: Keyspace) -> bool {
    matches!(ks, Keyspace::Log | Keyspace::OriginSeq | Keyspace::Audit)
}

/// Shared by the engine, its scans and its background tasks.
#[derive(Debug)]
pub(crate) struct Inner {
    bridge: Bridge,
    /// The writer's session (commits).
    write: Slot,
    /// The lease's session (acquire, renew, release, who writes).
    lease_slot: Slot,
    /// Reading sessions on the primary.
    primary: Vec<Slot>,
    /// Reading sessions on the replica (empty without `read_url`).
    replica: Vec<Slot>,
    next: AtomicUsize,
    lease_tx: watch::Sender<Option<u64>>,
    renewer: Mutex<Option<tokio::task::JoinHandle<()>>>,
    options: PgOptions,
    sqls: Vec<Sqls>,
    label: String,
}

impl Inner {
    /// A reading session: the replica's unless this process writes.
    fn read_slot(&self) -> &Slot {
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        if !self.replica.is_empty() && self.lease_tx.borrow().is_none() {
            &self.replica[i % self.replica.len()]
        } else {
            &self.primary[i % self.primary.len()]
        }
    }

    fn sql(&self, ks: Keyspace) -> &Sqls {
        &self.sqls[ks.slot()]
    }
}

/// PostgreSQL, one table per keyspace.
#[derive(Debug)]
pub struct PostgresEngine {
    inner: Arc<Inner>,
    /// First reads of lookups, gathered ([`gather`]).
    gather: gather::Gather,
}

impl PostgresEngine {
    /// Connects, creates the schema if needed and applies missing
    /// migrations.
    ///
    /// # Errors
    ///
    /// [`StoreError::Open`] naming the server (never the password).
    pub fn open(options: &PgOptions) -> Result<PostgresEngine, StoreError> {
        let primary_config = client::parse_url("url", &options.url).map_err(|e| open_err(&options.url, e))?;
        let label = client::label(&primary_config);
        let fail = |reason: String| StoreError::Open { path: PathBuf::from(&label), reason };
        options.check().map_err(|e| fail(e.to_string()))?;
        let password = client::read_password(options.password_file.as_deref(), &options.password_env)
            .map_err(|e| fail(e.to_string()))?;
        let tls = options.tls_ca.as_deref().map(client::tls_connector).transpose().map_err(|e| fail(e.to_string()))?;
        let mut session = format!("SET search_path TO \"{}\"", options.schema);
        if let Some(s) = &options.synchronous_commit {
            session.push_str(&format!("; SET synchronous_commit TO '{s}'"));
        }
        let connector = |mut config: tokio_postgres::Config| {
            if let Some(p) = &password {
                config.password(p.as_bytes());
            }
            config.application_name("jaring-node");
            config.connect_timeout(Duration::from_secs(5));
            config.keepalives_idle(Duration::from_secs(10));
            let label = client::label(&config);
            Arc::new(Connector { config, tls: tls.clone(), session: session.clone(), label })
        };
        let primary = connector(primary_config);
        let replica = match &options.read_url {
            Some(u) => Some(connector(client::parse_url("read_url", u).map_err(|e| fail(e.to_string()))?)),
            None => None,
        };
        let connections = options.connections.clamp(1, 64);
        let bridge = Bridge::new(2)?;
        let (lease_tx, _) = watch::channel(None);
        let sqls = Keyspace::ALL
            .iter()
            .map(|ks| {
                let t = table(*ks);
                Sqls {
                    get: t.get_sql(),
                    upsert: t.upsert_sql(),
                    copy: t.copy_sql(),
                    copy_types: t.copy_types(),
                    delete: t.delete_sql(),
                }
            })
            .collect();
        let inner = Arc::new(Inner {
            write: Slot::new(primary.clone()),
            lease_slot: Slot::new(primary.clone()),
            primary: (0..connections).map(|_| Slot::new(primary.clone())).collect(),
            replica: replica.map(|r| (0..connections).map(|_| Slot::new(r.clone())).collect()).unwrap_or_default(),
            bridge,
            next: AtomicUsize::new(0),
            lease_tx,
            renewer: Mutex::new(None),
            options: options.clone(),
            sqls,
            label: label.clone(),
        });
        let i = inner.clone();
        let schema = options.schema.clone();
        let applied = inner
            .bridge
            .run(async move {
                let conn = i.write.get().await?;
                schema::migrate(&conn, &schema).await
            })
            .map_err(|e| fail(e.to_string()))?;
        if !applied.is_empty() {
            tracing::info!(server = %label, schema = %options.schema, versions = ?applied, "migrated the database");
        }
        if !inner.replica.is_empty() {
            wait_for_replica_schema(&inner).map_err(|e| fail(e.to_string()))?;
        }
        let gather = gather::Gather::start(&inner, connections);
        Ok(PostgresEngine { inner, gather })
    }

    /// The server, as `host:port/db`.
    pub fn label(&self) -> &str {
        &self.inner.label
    }
}

/// How long a process waits at start for its read replica to replay the
/// schema the primary has (a replica just made, or behind).
const REPLICA_SCHEMA_WAIT: Duration = Duration::from_secs(30);

/// Waits until the read replica has replayed this node's schema version:
/// a lookup process started right after the primary was migrated would
/// otherwise find no tables there.
fn wait_for_replica_schema(inner: &Arc<Inner>) -> Result<(), StoreError> {
    let i = inner.clone();
    inner.bridge.run(async move {
        let conn = i.replica[0].get().await?;
        let (schema, want) = (&i.options.schema, schema::current());
        let started = tokio::time::Instant::now();
        let mut said = false;
        loop {
            let have = schema::replayed(&conn, schema).await?;
            if have >= want {
                return Ok(());
            }
            if started.elapsed() >= REPLICA_SCHEMA_WAIT {
                return Err(StoreError::Engine(format!(
                    "the read replica {} has not replayed schema {schema:?} version {want} (it has {have}) \
                     after {} s: is read_url a replica of url's server, and is it replaying?",
                    conn.label(),
                    REPLICA_SCHEMA_WAIT.as_secs()
                )));
            }
            if !said {
                tracing::info!(replica = %conn.label(), schema = %schema, "waiting for the read replica to replay the schema");
                said = true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
}

fn open_err(url: &str, e: PgConfigError) -> StoreError {
    // The URL has no password (that is what parse_url checks), but keep
    // only its host part in messages anyway.
    let host = url.rsplit('@').next().unwrap_or(url).to_string();
    StoreError::Open { path: PathBuf::from(host), reason: e.to_string() }
}

impl Drop for PostgresEngine {
    fn drop(&mut self) {
        // A clean stop hands the lease over at once instead of letting it
        // expire.
        if let Err(e) = self.release() {
            tracing::warn!(error = %e, "could not release the writer lease; it expires by itself");
        }
    }
}

/// A position key as the bigint it is stored as, if it is one.
fn seq_of(key: &[u8]) -> Option<i64> {
    let v = i64::from_be_bytes(key.try_into().ok()?);
    (v >= 0).then_some(v)
}

impl PostgresEngine {
    /// One commit's transaction for `writes`: plain inserts first, again
    /// with upserts if a new key was there after all.
    fn commit_writes(&self, writes: Writes) -> Result<(), StoreError> {
        let token = (*self.inner.lease_tx.borrow()).ok_or(StoreError::NotWriter { writer: None })?;
        let inner = self.inner.clone();
        self.inner.bridge.run(async move {
            let outcome = match commit(&inner, token, &writes, Inserts::Plain).await {
                Err(Failure::KeyExists) => {
                    tracing::debug!("a commit's new key was there already; committing it again with upserts");
                    commit(&inner, token, &writes, Inserts::Upsert).await
                }
                other => other,
            };
            outcome.map_err(Failure::into_store)
        })
    }
}

impl Engine for PostgresEngine {
    fn get(&self, ks: Keyspace, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let t = table(ks);
        let seq = if t.seq_key {
            match seq_of(key) {
                Some(s) => Some(s),
                None => return Ok(None),
            }
        } else {
            None
        };
        let inner = self.inner.clone();
        let key = key.to_vec();
        self.inner.bridge.run(async move {
            let conn = inner.read_slot().get().await?;
            let st = conn.prepare(&inner.sql(ks).get).await?;
            let row = match seq {
                Some(s) => conn.client.query_opt(&st, &[&s]).await,
                None => conn.client.query_opt(&st, &[&key]).await,
            }
            .map_err(|e| conn.err(&e))?;
            row.map(|r| tables::value_of(ks, &r, 0)).transpose()
        })
    }

    fn get_indexed(&self, keys: &[Vec<u8>]) -> Result<Vec<Indexed>, StoreError> {
        let found = self.inner.bridge.run(self.gather.read(keys.to_vec()))?;
        Ok(keys.iter().map(|k| found.get(k).cloned()).collect())
    }

    fn range(&self, ks: Keyspace, start: Bound<&[u8]>, end: Bound<&[u8]>, reverse: bool) -> Scan<'_> {
        self.range_expecting(ks, start, end, reverse, FIRST_PAGE)
    }

    fn range_expecting(
        &self,
        ks: Keyspace,
        start: Bound<&[u8]>,
        end: Bound<&[u8]>,
        reverse: bool,
        expect: usize,
    ) -> Scan<'_> {
        let t = table(ks);
        let lower = tables::key_bound(t, start, true);
        let upper = tables::key_bound(t, end, false);
        let done = lower == KeyBound::Empty || upper == KeyBound::Empty;
        Box::new(PgScan {
            inner: self.inner.clone(),
            ks,
            lower,
            upper,
            reverse,
            buf: VecDeque::new(),
            page: expect.clamp(FIRST_PAGE, MAX_PAGE),
            done,
        })
    }

    fn commit(&self, batch: Batch) -> Result<(), StoreError> {
        self.commit_writes(Writes::of(batch)?)
    }

    /// The batch as its statements' rows, made while the commit before
    /// is in flight.
    fn prepare(&self, batch: Batch) -> Result<Prepared, StoreError> {
        let empty = batch.is_empty();
        Ok(Prepared::new(empty, Writes::of(batch)?))
    }

    fn commit_prepared(&self, prepared: Prepared) -> Result<(), StoreError> {
        self.commit_writes(prepared.take::<Writes>()?)
    }

    fn size_on_disk(&self) -> Result<u64, StoreError> {
        let inner = self.inner.clone();
        self.inner.bridge.run(async move {
            let conn = inner.primary[0].get().await?;
            let row = conn
                .client
                .query_one(
                    "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint FROM pg_class c \
                     JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind = 'r'",
                    &[&inner.options.schema],
                )
                .await
                .map_err(|e| conn.err(&e))?;
            Ok(row.get::<_, i64>(0).max(0) as u64)
        })
    }

    fn shared(&self) -> Option<&dyn SharedStore> {
        Some(self)
    }
}

/// A batch as the statements of its commit: the last write of each key,
/// as if the batch were applied in order.
#[derive(Debug, Default)]
struct Writes {
    puts: HashMap<Puts, Rows>,
    /// Per keyspace, the positions (tables keyed by one) or keys to delete.
    deletes: HashMap<Keyspace, (Vec<i64>, Vec<Vec<u8>>)>,
    /// The tables written, for the change marks.
    touched: Vec<String>,
}

impl Writes {
    fn of(batch: Batch) -> Result<Writes, StoreError> {
        let mut last = LastWrites::new();
        for op in batch.into_ops() {
            overlay::record(&mut last, op);
        }
        let mut w = Writes::default();
        for ((ks, k), write) in last {
            let (v, new) = match write {
                Write::Put(v) => (v, false),
                Write::Insert(v) => (v, true),
                Write::Delete => {
                    let d = w.deletes.entry(ks).or_default();
                    if !table(ks).seq_key {
                        d.1.push(k);
                    } else if let Some(s) = seq_of(&k) {
                        d.0.push(s);
                    }
                    continue;
                }
            };
            let group = Puts { ks, new: new || appends_only(ks) };
            w.puts.entry(group).or_insert_with(|| Rows::new(table(ks))).push(ks, &k, &v)?;
        }
        w.touched =
            w.puts.keys().map(|p| p.ks).chain(w.deletes.keys().copied()).map(|ks| table(ks).name.to_string()).collect();
        w.touched.sort_unstable();
        w.touched.dedup();
        Ok(w)
    }
}

/// The rows of one keyspace a commit puts with one statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Puts {
    ks: Keyspace,
    /// Keys not stored before ([`super::Op::Insert`], or any key of an
    /// [`appends_only`] keyspace): a plain `INSERT` adds them.
    new: bool,
}

/// How a commit writes rows of new keys ([`Puts::new`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Inserts {
    /// A plain `INSERT`: the keys are new.
    Plain,
    /// An upsert, as every other keyspace (after a [`Failure::KeyExists`]).
    Upsert,
}

/// Why a commit's transaction stored nothing.
#[derive(Debug)]
enum Failure {
    /// A plain insert met a key already there: send it again with upserts.
    KeyExists,
    /// Anything else, for the caller.
    Store(StoreError),
}

impl Failure {
    /// For the caller (an upsert never yields [`Failure::KeyExists`]).
    fn into_store(self) -> StoreError {
        match self {
            Failure::KeyExists => StoreError::Engine("a commit's key was there already".into()),
            Failure::Store(e) => e,
        }
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Failure {
        Failure::Store(e)
    }
}

/// One commit's transaction: `BEGIN` and the fencing check, pipelined;
/// then the rows of new keys, each table's by binary `COPY`, streamed as
/// they are encoded (the server stores the first while the rest are on
/// their way); then the upserts, the deletes and the change marks,
/// pipelined; then `COMMIT`.
async fn commit(inner: &Arc<Inner>, token: u64, writes: &Writes, inserts: Inserts) -> Result<(), Failure> {
    let conn = inner.write.get().await?;
    let fence = conn.prepare(lease::FENCE).await?;
    let bump = conn
        .prepare(
            "INSERT INTO changes (keyspace, version) SELECT unnest($1::text[]), 1 \
             ON CONFLICT (keyspace) DO UPDATE SET version = changes.version + 1",
        )
        .await?;
    let Writes { puts, deletes, touched } = writes;
    let mut copies = Vec::new();
    let mut statements = Vec::with_capacity(puts.len() + deletes.len());
    for (group, rows) in puts {
        let sql = inner.sql(group.ks);
        if inserts == Inserts::Plain && group.new {
            copies.push((conn.prepare(&sql.copy).await?, &sql.copy_types, rows));
        } else {
            let params: Vec<&(dyn ToSql + Sync)> = rows.columns.iter().map(|c| c.param()).collect();
            statements.push((conn.prepare(&sql.upsert).await?, params));
        }
    }
    for (ks, (seqs, keys)) in deletes {
        let params: Vec<&(dyn ToSql + Sync)> =
            if table(*ks).seq_key { vec![seqs as &(dyn ToSql + Sync)] } else { vec![keys as &(dyn ToSql + Sync)] };
        statements.push((conn.prepare(&inner.sql(*ks).delete).await?, params));
    }
    let token_param = token as i64;
    let c = &conn.client;
    let fence_params: [&(dyn ToSql + Sync); 1] = [&token_param];
    let bump_params: [&(dyn ToSql + Sync); 1] = [touched];
    let work = async {
        // Sent in this order on the one session, answered in order.
        let (begun, fenced) = tokio::join!(c.batch_execute("BEGIN"), c.execute(&fence, &fence_params));
        begun?;
        if fenced? != 1 {
            return Ok(false);
        }
        for (copy, types, rows) in &copies {
            let sink = c.copy_in(copy).await?;
            let writer = tokio_postgres::binary_copy::BinaryCopyInWriter::new(sink, types);
            let mut writer = std::pin::pin!(writer);
            // One row's cells at a time, in a buffer kept for the table.
            let mut cells: Vec<tables::CopyCell<'_>> = Vec::with_capacity(rows.columns.len());
            for i in 0..rows.len {
                cells.extend(rows.columns.iter().map(|col| col.cell(i)));
                writer.as_mut().write_raw(cells.drain(..)).await?;
            }
            writer.finish().await?;
        }
        let written = statements.iter().map(|(st, params)| c.execute(st, params));
        let (written, bumped) = tokio::join!(futures_util::future::join_all(written), c.execute(&bump, &bump_params));
        // The first failure is the cause; later statements of an aborted
        // transaction fail only because of it.
        for r in written {
            r?;
        }
        bumped?;
        Ok::<bool, tokio_postgres::Error>(true)
    };
    match work.await {
        Ok(true) => {}
        Ok(false) => {
            let _ = c.batch_execute("ROLLBACK").await;
            lease::lose(inner, token, "a commit found another fencing token");
            return Err(StoreError::NotWriter { writer: None }.into());
        }
        Err(e) => {
            let _ = c.batch_execute("ROLLBACK").await;
            return Err(
                if inserts == Inserts::Plain && e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION) {
                    Failure::KeyExists
                } else {
                    Failure::Store(conn.err(&e))
                },
            );
        }
    }
    if let Err(e) = c.batch_execute("COMMIT").await {
        // Whether it committed is unknown: the writer must reload its state
        // from the database before it commits again, so it gives the lease
        // up and takes it (or a standby does) afresh.
        lease::lose(inner, token, "a commit's outcome is unknown");
        let _ = release_token(inner, token).await;
        return Err(conn.err(&e).into());
    }
    Ok(())
}

async fn release_token(inner: &Arc<Inner>, token: u64) -> Result<(), StoreError> {
    let conn = inner.lease_slot.get().await?;
    let st = conn.prepare(lease::RELEASE).await?;
    conn.client.execute(&st, &[&(token as i64)]).await.map_err(|e| conn.err(&e))?;
    Ok(())
}

/// A scan, one page at a time.
struct PgScan {
    inner: Arc<Inner>,
    ks: Keyspace,
    lower: KeyBound,
    upper: KeyBound,
    reverse: bool,
    buf: VecDeque<Pair>,
    page: usize,
    done: bool,
}

impl PgScan {
    fn fetch(&mut self) -> Result<(), StoreError> {
        let t = table(self.ks);
        let mut params: Vec<Box<dyn ToSql + Sync + Send>> = Vec::new();
        let mut flag = |b: &KeyBound| -> Option<bool> {
            match b {
                KeyBound::Seq(v, inclusive) => {
                    params.push(Box::new(*v));
                    Some(*inclusive)
                }
                KeyBound::Bytes(v, inclusive) => {
                    params.push(Box::new(v.clone()));
                    Some(*inclusive)
                }
                KeyBound::Unbounded | KeyBound::Empty => None,
            }
        };
        let lower = flag(&self.lower);
        let upper = flag(&self.upper);
        let sql = t.range_sql(lower, upper, self.reverse, self.page);
        let (inner, ks) = (self.inner.clone(), self.ks);
        let rows = self.inner.bridge.run(async move {
            let conn = inner.read_slot().get().await?;
            let st = conn.prepare(&sql).await?;
            let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| &**p as &(dyn ToSql + Sync)).collect();
            let rows = conn.client.query(&st, &refs).await.map_err(|e| conn.err(&e))?;
            rows.iter()
                .map(|r| Ok((tables::key_of(ks, r)?, tables::value_of(ks, r, 1)?)))
                .collect::<Result<Vec<Pair>, StoreError>>()
        })?;
        if rows.len() < self.page {
            self.done = true;
        }
        if let Some((k, _)) = rows.last() {
            let next = if t.seq_key {
                KeyBound::Seq(seq_of(k).unwrap_or(0), false)
            } else {
                KeyBound::Bytes(k.clone(), false)
            };
            if self.reverse { self.upper = next } else { self.lower = next }
        }
        self.page = (self.page * 8).min(MAX_PAGE);
        self.buf.extend(rows);
        Ok(())
    }
}

impl Iterator for PgScan {
    type Item = Result<Pair, StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.buf.is_empty()
            && !self.done
            && let Err(e) = self.fetch()
        {
            self.done = true;
            return Some(Err(e));
        }
        self.buf.pop_front().map(Ok)
    }
}

impl SharedStore for PostgresEngine {
    fn may_write(&self) -> bool {
        self.inner.options.role == StoreRole::Auto
    }

    fn try_acquire(&self, me: &WriterInfo) -> Result<Option<u64>, StoreError> {
        if !self.may_write() {
            return Ok(None);
        }
        if let Some(t) = *self.inner.lease_tx.borrow() {
            return Ok(Some(t));
        }
        let inner = self.inner.clone();
        let me = me.clone();
        self.inner.bridge.run(async move { lease::acquire(&inner, &me).await })
    }

    fn release(&self) -> Result<(), StoreError> {
        let Some(token) = *self.inner.lease_tx.borrow() else { return Ok(()) };
        lease::lose(&self.inner, token, "released");
        if let Some(r) = self.inner.renewer.lock().unwrap_or_else(|p| p.into_inner()).take() {
            r.abort();
        }
        let inner = self.inner.clone();
        self.inner.bridge.run(async move { release_token(&inner, token).await })
    }

    fn lease(&self) -> watch::Receiver<Option<u64>> {
        self.inner.lease_tx.subscribe()
    }

    fn writer(&self) -> Result<Option<WriterInfo>, StoreError> {
        let inner = self.inner.clone();
        self.inner.bridge.run(async move {
            let conn = inner.lease_slot.get().await?;
            let st = conn.prepare(lease::WRITER).await?;
            let row = conn.client.query_opt(&st, &[]).await.map_err(|e| conn.err(&e))?;
            Ok(row.map(|r| WriterInfo {
                holder: r.get::<_, Option<String>>(0).unwrap_or_default(),
                admin: r.get::<_, Option<String>>(1).unwrap_or_default(),
                federation: r.get::<_, Option<String>>(2).unwrap_or_default(),
                http: r.get(3),
            }))
        })
    }

    fn changes(&self) -> Result<ChangeMarks, StoreError> {
        let inner = self.inner.clone();
        self.inner.bridge.run(async move {
            let conn = inner.read_slot().get().await?;
            let st = conn
                .prepare(
                    "SELECT (SELECT coalesce(max(seq), 0) FROM log), \
                     (SELECT coalesce(json_object_agg(keyspace, version), '{}')::text FROM changes)",
                )
                .await?;
            let row = conn.client.query_one(&st, &[]).await.map_err(|e| conn.err(&e))?;
            let head: i64 = row.get(0);
            let versions: HashMap<String, u64> = serde_json::from_str(&row.get::<_, String>(1)).unwrap_or_default();
            Ok(ChangeMarks {
                log_head: head.max(0) as u64,
                versions: Keyspace::ALL
                    .iter()
                    .filter_map(|ks| versions.get(table(*ks).name).map(|v| (*ks, *v)))
                    .collect(),
            })
        })
    }

    fn replica_lag(&self) -> Result<Option<Duration>, StoreError> {
        if self.inner.replica.is_empty() {
            return Ok(None);
        }
        let inner = self.inner.clone();
        self.inner.bridge.run(async move {
            let conn = inner.replica[0].get().await?;
            let st = conn
                .prepare(
                    "SELECT CASE WHEN NOT pg_is_in_recovery() THEN NULL \
                     WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 \
                     ELSE (extract(epoch FROM now() - pg_last_xact_replay_timestamp()) * 1000)::bigint END",
                )
                .await?;
            let row = conn.client.query_one(&st, &[]).await.map_err(|e| conn.err(&e))?;
            Ok(row.get::<_, Option<i64>>(0).map(|ms| Duration::from_millis(ms.max(0) as u64)))
        })
    }

    fn poll_interval(&self) -> Duration {
        self.inner.options.poll
    }

    fn first_reads(&self) -> (u64, u64) {
        self.gather.counts()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod tests {
    use super::*;
    use crate::store::Store;

    /// Options for a fresh schema on the test server (`.ci/postgres.sh
    /// start` exports its URL and password file).
    pub(crate) fn test_options(tag: &str) -> PgOptions {
        let url = std::env::var("JARING_TEST_PG_URL").unwrap_or_else(|_| {
            panic!(
                "these tests need PostgreSQL: run them under `.ci/postgres.sh run cargo test ...` (or after `eval \"$(.ci/postgres.sh start)\"`) \
                 (it exports JARING_TEST_PG_URL and JARING_TEST_PG_PASSWORD_FILE)"
            )
        });
        let mut o = PgOptions::new(url);
        o.password_file = std::env::var_os("JARING_TEST_PG_PASSWORD_FILE").map(PathBuf::from);
        o.schema = format!("t_{tag}_{}", unique());
        o
    }

    fn unique() -> String {
        use std::hash::{BuildHasher, Hasher};
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos());
        format!("{:012x}", h.finish() & 0xffff_ffff_ffff)
    }

    fn writer(o: &PgOptions) -> PostgresEngine {
        let e = PostgresEngine::open(o).unwrap();
        assert!(e.try_acquire(&WriterInfo { holder: "test".into(), ..WriterInfo::default() }).unwrap().is_some());
        e
    }

    /// Runs SQL on the engine's lease session.
    fn sql(e: &PostgresEngine, q: &'static str) -> Vec<tokio_postgres::Row> {
        let inner = e.inner.clone();
        e.inner
            .bridge
            .run(async move {
                let conn = inner.lease_slot.get().await?;
                conn.client.query(q, &[]).await.map_err(|e| conn.err(&e))
            })
            .unwrap()
    }

    #[test]
    fn a_database_at_version_one_is_upgraded_and_keeps_its_data() {
        let o = test_options("upgrade");
        let e = writer(&o);
        let s = Store::new(Arc::new(e));
        let mut b = Batch::default();
        b.put(Keyspace::Meta, b"count/kept".to_vec(), 7u64.to_be_bytes().to_vec());
        s.commit(b).unwrap();
        // What a node of schema version 1 left: no tables of version 2, the
        // log's index by origin that version 3 drops.
        let Some(shared) = s.shared() else { panic!("not shared") };
        shared.release().unwrap();
        drop(s);
        let old = PostgresEngine::open(&o).unwrap();
        sql(&old, "DROP TABLE reach, stix_ids, warninglists, tokens, tlog_tiles, witness, takedown_cases");
        sql(&old, "CREATE INDEX log_origin ON log (origin, origin_seq)");
        sql(&old, "DELETE FROM schema_version WHERE version >= 2");
        drop(old);
        let e = writer(&o);
        let versions = sql(&e, "SELECT version FROM schema_version ORDER BY version");
        assert_eq!(versions.iter().map(|r| r.get::<_, i32>(0)).collect::<Vec<_>>(), vec![1, 2, 3]);
        // Version 3 dropped the log's index by origin that version 1 made.
        let log_indexes =
            sql(&e, "SELECT indexname::text FROM pg_indexes WHERE schemaname = current_schema() AND tablename = 'log'");
        assert_eq!(log_indexes.iter().map(|r| r.get::<_, String>(0)).collect::<Vec<_>>(), vec!["log_pkey".to_string()]);
        let s = Store::new(Arc::new(e));
        assert_eq!(s.get(Keyspace::Meta, b"count/kept").unwrap(), Some(7u64.to_be_bytes().to_vec()));
        let mut b = Batch::default();
        b.put(Keyspace::Tokens, b"crawler".to_vec(), b"{\"role\":\"submitter\"}".to_vec());
        s.commit(b).unwrap();
        assert_eq!(s.get(Keyspace::Tokens, b"crawler").unwrap(), Some(b"{\"role\":\"submitter\"}".to_vec()));
    }

    #[test]
    fn new_keys_are_grouped_for_plain_inserts_and_a_key_inserted_then_put_stays_new() {
        use crate::model::Kind;
        let index = |v: &str| crate::store::layout::index_key(Kind::Domain, v, "ID");
        let seq = |n: u64| n.to_be_bytes().to_vec();
        let mut b = Batch::default();
        b.insert(Keyspace::Index, index("new.example"), seq(1));
        b.put(Keyspace::Index, index("new.example"), seq(2));
        b.put(Keyspace::Index, index("known.example"), seq(3));
        b.insert(Keyspace::Index, index("gone.example"), seq(4));
        b.delete(Keyspace::Index, index("gone.example"));
        // A log position is new however it is put.
        b.put(Keyspace::Log, seq(9), b"entry".to_vec());
        let w = Writes::of(b).unwrap();
        let rows = |ks, new| w.puts.get(&Puts { ks, new }).map_or(0, |r| r.len);
        assert_eq!(rows(Keyspace::Index, true), 1, "new.example, inserted then put");
        assert_eq!(rows(Keyspace::Index, false), 1, "known.example");
        assert_eq!(rows(Keyspace::Log, true), 1);
        assert_eq!(rows(Keyspace::Log, false), 0);
        assert_eq!(w.deletes.get(&Keyspace::Index).map(|d| d.1.len()), Some(1), "gone.example");
        let mut tables = vec![table(Keyspace::Index).name, table(Keyspace::Log).name];
        tables.sort_unstable();
        assert_eq!(w.touched, tables);
    }

    #[test]
    fn a_key_of_an_append_only_table_written_again_is_committed_with_upserts() {
        let o = test_options("again");
        let e = Arc::new(writer(&o));
        let s = Store::new(e.clone());
        let seq = crate::store::layout::seq_key(5).to_vec();
        let mut b = Batch::default();
        b.put(Keyspace::Log, seq.clone(), b"first".to_vec());
        b.put(Keyspace::Log, crate::store::layout::seq_key(6).to_vec(), b"next".to_vec());
        s.commit(b).unwrap();
        // Position 5 again (a migration run twice): the plain insert meets
        // the key, and the whole commit goes again as upserts.
        let mut b = Batch::default();
        b.put(Keyspace::Log, seq.clone(), b"second".to_vec());
        b.put(Keyspace::Log, crate::store::layout::seq_key(7).to_vec(), b"new".to_vec());
        b.put(Keyspace::Meta, b"count/kept".to_vec(), 7u64.to_be_bytes().to_vec());
        s.commit(b).unwrap();
        assert_eq!(s.get(Keyspace::Log, &seq).unwrap(), Some(b"second".to_vec()));
        assert_eq!(s.get(Keyspace::Log, &crate::store::layout::seq_key(6)).unwrap(), Some(b"next".to_vec()));
        assert_eq!(s.get(Keyspace::Log, &crate::store::layout::seq_key(7)).unwrap(), Some(b"new".to_vec()));
        assert_eq!(s.get(Keyspace::Meta, b"count/kept").unwrap(), Some(7u64.to_be_bytes().to_vec()));
        let rows = sql(&e, "SELECT count(*)::bigint FROM log");
        assert_eq!(rows[0].get::<_, i64>(0), 3);
    }

    #[test]
    fn postgres_meets_the_engine_contract() {
        // One schema per directory the contract opens (it reopens one).
        let schemas = Mutex::new(HashMap::<PathBuf, PgOptions>::new());
        crate::store::contract::run_all(&|dir| {
            let o =
                schemas.lock().unwrap().entry(dir.to_path_buf()).or_insert_with(|| test_options("contract")).clone();
            Store::new(Arc::new(writer(&o)))
        });
    }

    #[test]
    fn first_reads_at_once_are_gathered_and_each_gets_its_own_answer() {
        use crate::model::Kind;
        let mut o = test_options("gather");
        // One reading session: every read that comes while it is busy waits
        // and joins the next query.
        o.connections = 1;
        let e = Arc::new(writer(&o));
        let s = Store::new(e.clone());
        let key = |i: u64| crate::store::layout::index_key(Kind::Domain, &format!("d{i}.example"), "ID");
        let mut b = Batch::default();
        for i in 0u64..400 {
            b.put(Keyspace::Log, i.to_be_bytes(), format!("entry {i}").into_bytes());
            b.put(Keyspace::Index, key(i), i.to_be_bytes().to_vec());
        }
        s.commit(b).unwrap();
        std::thread::scope(|scope| {
            for t in 0u64..8 {
                let s = &s;
                scope.spawn(move || {
                    for n in 0u64..50 {
                        let i = (t * 50 + n) % 400;
                        let got = s.get_indexed(&[key(i), key(1000 + i)]).unwrap();
                        let want = Some((i.to_be_bytes().to_vec(), Some(format!("entry {i}").into_bytes())));
                        assert_eq!(got, vec![want, None], "read {n} of thread {t}");
                    }
                });
            }
        });
        let (requests, queries) = e.gather.counts();
        assert_eq!(requests, 400);
        assert!(queries < requests, "{requests} requests in {queries} queries: none were gathered");
    }

    #[test]
    fn scans_page_through_large_ranges_in_both_directions() {
        let s = Store::new(Arc::new(writer(&test_options("pages"))));
        let mut b = Batch::default();
        for i in 1u64..=5000 {
            b.put(Keyspace::Log, i.to_be_bytes(), vec![1]);
            b.put(Keyspace::Meta, format!("n/{i:05}").into_bytes(), i.to_be_bytes().to_vec());
        }
        s.commit(b).unwrap();
        let seqs: Vec<u64> = s.log_records_after(10).map(|r| r.unwrap().seq).collect();
        assert_eq!(seqs, (11..=5000).collect::<Vec<_>>());
        let back: Vec<Vec<u8>> = s
            .engine()
            .range(Keyspace::Meta, Bound::Included(b"n/"), Bound::Excluded(b"n/04000"), true)
            .map(|r| r.unwrap().0)
            .collect();
        assert_eq!(back.len(), 3999);
        assert_eq!(back[0], b"n/03999".to_vec());
        assert_eq!(back[3998], b"n/00001".to_vec());
        assert_eq!(s.log_head().unwrap(), 5000);
    }

    #[test]
    fn tables_have_typed_columns_for_operators() {
        let e = Arc::new(writer(&test_options("typed")));
        let s = Store::new(e.clone());
        let mut b = Batch::default();
        crate::store::TableWrites::put_head(&mut b, "VN", &crate::store::layout::Head { seq: 42, hash: [9; 32] });
        crate::store::TableWrites::put_index(&mut b, crate::model::Kind::Domain, "scam.example", "VN", 7);
        crate::store::TableWrites::put_cursor(&mut b, "MY", 99);
        s.commit(b).unwrap();
        let heads = sql(&e, "SELECT origin, seq FROM heads");
        assert_eq!((heads[0].get::<_, String>(0), heads[0].get::<_, i64>(1)), ("VN".to_string(), 42));
        let idx = sql(&e, "SELECT kind, value, origin, local_seq FROM lookup_index");
        assert_eq!(idx[0].get::<_, String>(1), "scam.example");
        assert_eq!(idx[0].get::<_, i64>(3), 7);
        let cur = sql(&e, "SELECT peer, position FROM cursors");
        assert_eq!((cur[0].get::<_, String>(0), cur[0].get::<_, i64>(1)), ("MY".to_string(), 99));
        let marks = e.changes().unwrap();
        assert_eq!(marks.version(Keyspace::Cursors), 1);
        assert_eq!(marks.version(Keyspace::Peers), 0);
        assert_eq!(crate::store::Tables::head(&s, "VN").unwrap().unwrap().seq, 42);
        assert_eq!(crate::store::Tables::cursor(&s, "MY").unwrap(), 99);
    }

    #[test]
    fn migrations_apply_once_and_record_their_version() {
        let o = test_options("migrate");
        let first = writer(&o);
        drop(PostgresEngine::open(&o).unwrap());
        // Each version once, every one of them (a second open applies none).
        let rows = sql(&first, "SELECT version FROM schema_version ORDER BY version");
        assert_eq!(
            rows.iter().map(|r| r.get::<_, i32>(0)).collect::<Vec<_>>(),
            (1..=schema::current()).collect::<Vec<_>>()
        );
        // Every keyspace added after version 1 has its table.
        let tables = sql(
            &first,
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name IN \
             ('reach', 'stix_ids', 'warninglists', 'tokens', 'tlog_tiles', 'witness', 'takedown_cases')",
        );
        assert_eq!(tables[0].get::<_, i64>(0), 7);
    }

    #[test]
    fn a_replica_without_the_schema_yet_counts_as_version_zero_and_one_with_it_is_waited_for() {
        let mut o = test_options("replayed");
        let e = writer(&o);
        let (inner, schema) = (e.inner.clone(), o.schema.clone());
        let (absent, here) = e
            .inner
            .bridge
            .run(async move {
                let conn = inner.write.get().await?;
                let absent = schema::replayed(&conn, "jaring_no_such_schema").await?;
                Ok::<_, StoreError>((absent, schema::replayed(&conn, &schema).await?))
            })
            .unwrap();
        // Not replayed yet: 0, not an error that would stop the process.
        assert_eq!((absent, here), (0, schema::current()));
        // A read_url whose server has the schema: the open does not wait.
        o.read_url = Some(o.url.clone());
        let reader = PostgresEngine::open(&o).unwrap();
        assert_eq!(reader.replica_lag().unwrap(), None, "the primary itself is not in recovery");
    }

    #[test]
    fn a_writer_that_lost_its_lease_cannot_commit() {
        let mut o = test_options("fence");
        o.lease = Duration::from_millis(400);
        let old = PostgresEngine::open(&o).unwrap();
        let me = |h: &str| WriterInfo { holder: h.into(), admin: format!("{h}:1"), ..WriterInfo::default() };
        let token = old.try_acquire(&me("old")).unwrap().unwrap();
        let new = PostgresEngine::open(&o).unwrap();
        assert_eq!(new.try_acquire(&me("new")).unwrap(), None, "the lease is held");
        assert_eq!(new.writer().unwrap().unwrap().admin, "old:1");
        let mut put = Batch::default();
        put.put(Keyspace::Meta, b"k".to_vec(), b"old".to_vec());
        new.commit(put.clone()).map(|_| ()).unwrap_err();
        assert!(matches!(new.commit(put.clone()), Err(StoreError::NotWriter { writer: None })));
        // The old writer pauses: it stops renewing, the lease expires.
        if let Some(r) = old.inner.renewer.lock().unwrap().take() {
            r.abort();
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        let new_token = loop {
            if let Some(t) = new.try_acquire(&me("new")).unwrap() {
                break t;
            }
            assert!(std::time::Instant::now() < deadline, "the lease never expired");
            std::thread::sleep(Duration::from_millis(50));
        };
        assert!(new_token > token);
        // The paused writer wakes up still believing it writes: fenced.
        assert_eq!(*old.lease().borrow(), Some(token));
        assert!(matches!(old.commit(put.clone()), Err(StoreError::NotWriter { writer: None })));
        assert_eq!(*old.lease().borrow(), None, "a fenced commit drops the lease");
        let mut put_new = Batch::default();
        put_new.put(Keyspace::Meta, b"k".to_vec(), b"new".to_vec());
        new.commit(put_new).unwrap();
        assert_eq!(new.get(Keyspace::Meta, b"k").unwrap(), Some(b"new".to_vec()));
        assert_eq!(new.writer().unwrap().unwrap().admin, "new:1");
        // A clean stop hands the lease over at once.
        drop(new);
        assert!(old.try_acquire(&me("old")).unwrap().unwrap() > new_token);
    }
}
