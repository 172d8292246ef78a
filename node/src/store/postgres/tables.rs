//! How each keyspace maps onto its PostgreSQL table (migrations/0001):
//! the columns, how a (key, value) pair becomes a row and a row becomes the
//! value again, and how byte bounds of a scan become SQL bounds.
//!
//! Two kinds of table: keyed by a position (`seq bigint`: the log, the audit
//! chain, the quarantine), whose 8-byte big-endian keys are converted to
//! bigints, and keyed by the node's key bytes (`k bytea`), which PostgreSQL
//! orders byte by byte exactly as the node does. Columns decoded from the
//! key are informative (NULL when a key does not parse); columns holding the
//! value are the value, and a value that does not fit them is refused.

use std::ops::Bound;

use bytes::BytesMut;
use tokio_postgres::Row;
use tokio_postgres::types::{IsNull, ToSql, Type, WrongType, to_sql_checked};

use crate::store::{Keyspace, StoreError};

/// A column's SQL type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Sql {
    /// `bigint`
    Int,
    /// `bytea`
    Bytes,
    /// `text`
    Text,
    /// `json`, sent and read as text.
    Json,
}

impl Sql {
    fn array(self) -> &'static str {
        match self {
            Sql::Int => "bigint[]",
            Sql::Bytes => "bytea[]",
            Sql::Text | Sql::Json => "text[]",
        }
    }

    /// The type a binary `COPY` sends it as.
    fn copy_type(self) -> Type {
        match self {
            Sql::Int => Type::INT8,
            Sql::Bytes => Type::BYTEA,
            Sql::Text => Type::TEXT,
            Sql::Json => Type::JSON,
        }
    }
}

/// One table.
#[derive(Debug)]
pub(super) struct Table {
    /// Its name.
    pub name: &'static str,
    /// Keyed by `seq bigint` (else `k bytea`).
    pub seq_key: bool,
    /// Columns decoded from the key (or from the value, for SQL readers),
    /// nullable.
    pub derived: &'static [(&'static str, Sql)],
    /// Columns that hold the value, in the order it is rebuilt from.
    pub value: &'static [(&'static str, Sql)],
}

impl Table {
    /// The key column.
    pub fn key(&self) -> &'static str {
        if self.seq_key { "seq" } else { "k" }
    }

    /// What to select to rebuild a value.
    pub fn value_select(&self) -> String {
        if self.value.is_empty() {
            return "NULL".into();
        }
        self.value
            .iter()
            .map(|(c, t)| if *t == Sql::Json { format!("{c}::text") } else { (*c).to_string() })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// `SELECT value FROM t WHERE key = $1`.
    pub fn get_sql(&self) -> String {
        format!("SELECT {} FROM {} WHERE {} = $1", self.value_select(), self.name, self.key())
    }

    /// Every column of a row, in the order rows are sent: key, derived,
    /// value.
    fn columns(&self) -> Vec<(&'static str, Sql)> {
        let mut cols = vec![(self.key(), if self.seq_key { Sql::Int } else { Sql::Bytes })];
        cols.extend(self.derived.iter().copied());
        cols.extend(self.value.iter().copied());
        cols
    }

    /// Inserts rows given as one array per column (key, derived, value),
    /// with no conflict clause: for keys that must be new, it spares the
    /// server a probe of the key's index before each row (a conflict fails
    /// the statement instead).
    pub fn insert_sql(&self) -> String {
        let cols = self.columns();
        let names: Vec<&str> = cols.iter().map(|(c, _)| *c).collect();
        let params: Vec<String> =
            cols.iter().enumerate().map(|(i, (_, t))| format!("${}::{}", i + 1, t.array())).collect();
        let select: Vec<String> =
            cols.iter().map(|(c, t)| if *t == Sql::Json { format!("u.{c}::json") } else { format!("u.{c}") }).collect();
        format!(
            "INSERT INTO {t} ({names}) SELECT {select} FROM unnest({params}) AS u({names})",
            t = self.name,
            names = names.join(", "),
            select = select.join(", "),
            params = params.join(", "),
        )
    }

    /// [`Self::insert_sql`] that overwrites a row whose key is there.
    pub fn upsert_sql(&self) -> String {
        let update: Vec<String> = self.columns().iter().skip(1).map(|(c, _)| format!("{c} = EXCLUDED.{c}")).collect();
        let on_conflict =
            if update.is_empty() { "DO NOTHING".to_string() } else { format!("DO UPDATE SET {}", update.join(", ")) };
        format!("{} ON CONFLICT ({}) {on_conflict}", self.insert_sql(), self.key())
    }

    /// Adds rows by binary `COPY`, columns in [`Self::insert_sql`]'s order:
    /// for keys that must be new, the cheapest way into the table (no
    /// arrays to unpack, heap pages filled several rows at a time, one
    /// WAL record per page); a key that is there fails it, as a plain
    /// insert does.
    pub fn copy_sql(&self) -> String {
        let names: Vec<&str> = self.columns().iter().map(|(c, _)| *c).collect();
        format!("COPY {} ({}) FROM STDIN (FORMAT binary)", self.name, names.join(", "))
    }

    /// The types of [`Self::copy_sql`]'s columns.
    pub fn copy_types(&self) -> Vec<Type> {
        self.columns().iter().map(|(_, t)| t.copy_type()).collect()
    }

    /// Deletes the keys in `$1`.
    pub fn delete_sql(&self) -> String {
        let t = if self.seq_key { "bigint[]" } else { "bytea[]" };
        format!("DELETE FROM {} WHERE {} = ANY($1::{t})", self.name, self.key())
    }

    /// One page of a scan: `lower`/`upper` say which bounds are given
    /// (`$1`, then `$2`), each `Some(inclusive)`.
    pub fn range_sql(&self, lower: Option<bool>, upper: Option<bool>, reverse: bool, limit: usize) -> String {
        let key = self.key();
        let mut conds = Vec::new();
        let mut n = 0;
        if let Some(inclusive) = lower {
            n += 1;
            conds.push(format!("{key} {} ${n}", if inclusive { ">=" } else { ">" }));
        }
        if let Some(inclusive) = upper {
            n += 1;
            conds.push(format!("{key} {} ${n}", if inclusive { "<=" } else { "<" }));
        }
        let filter = if conds.is_empty() { String::new() } else { format!(" WHERE {}", conds.join(" AND ")) };
        format!(
            "SELECT {key}, {} FROM {}{filter} ORDER BY {key} {} LIMIT {limit}",
            self.value_select(),
            self.name,
            if reverse { "DESC" } else { "ASC" }
        )
    }
}

/// Lookup-index entries and the log entries they point at, for the index
/// keys in `$1`, in one round trip: (k, local_seq, envelope or NULL). The
/// log entry is a correlated subquery, so every index row costs one probe
/// of the log's primary key whatever plan the server picks: as a join, a
/// prepared statement's generic plan (which cannot know how many keys come)
/// may hash the whole log instead.
pub(super) const INDEX_WITH_LOG: &str = "SELECT i.k, i.local_seq, \
     (SELECT l.envelope FROM log l WHERE l.seq = i.local_seq) FROM lookup_index i WHERE i.k = ANY($1::bytea[])";

const ORIGIN_SEQ: &[(&str, Sql)] = &[("origin", Sql::Text), ("origin_seq", Sql::Int)];

/// The table of a keyspace.
pub(super) fn table(ks: Keyspace) -> &'static Table {
    match ks {
        Keyspace::Log => &Table { name: "log", seq_key: true, derived: ORIGIN_SEQ, value: &[("envelope", Sql::Bytes)] },
        Keyspace::OriginSeq => &Table {
            name: "origin_entries",
            seq_key: false,
            derived: ORIGIN_SEQ,
            value: &[("body_hash", Sql::Bytes), ("prev_hash", Sql::Bytes), ("local_seq", Sql::Int)],
        },
        Keyspace::Heads => &Table {
            name: "heads",
            seq_key: false,
            derived: &[("origin", Sql::Text)],
            value: &[("seq", Sql::Int), ("body_hash", Sql::Bytes)],
        },
        Keyspace::Index => &Table {
            name: "lookup_index",
            seq_key: false,
            derived: &[("kind", Sql::Text), ("value", Sql::Text), ("origin", Sql::Text)],
            value: &[("local_seq", Sql::Int)],
        },
        Keyspace::Ids => &Table {
            name: "own_ids",
            seq_key: false,
            derived: &[("indicator_id", Sql::Text)],
            value: &[("local_seq", Sql::Int)],
        },
        Keyspace::Plain => &Table {
            name: "plain_values",
            seq_key: false,
            derived: &[("kind", Sql::Text), ("digest", Sql::Text)],
            value: &[("plain", Sql::Text)],
        },
        Keyspace::Cursors => &Table {
            name: "cursors",
            seq_key: false,
            derived: &[("peer", Sql::Text)],
            value: &[("position", Sql::Int)],
        },
        Keyspace::Peers => &Table {
            name: "peers",
            seq_key: false,
            derived: &[("node_id", Sql::Text)],
            value: &[("record", Sql::Json)],
        },
        Keyspace::Keys => &Table {
            name: "trusted_keys",
            seq_key: false,
            derived: &[("key_id", Sql::Text)],
            value: &[("record", Sql::Json)],
        },
        Keyspace::Audit => &Table {
            name: "audit",
            seq_key: true,
            derived: &[
                ("at_ms", Sql::Int),
                ("actor", Sql::Text),
                ("action", Sql::Text),
                ("prev_hash", Sql::Text),
                ("hash", Sql::Text),
            ],
            value: &[("record", Sql::Json)],
        },
        Keyspace::Quarantine => {
            &Table { name: "quarantine", seq_key: true, derived: &[], value: &[("record", Sql::Json)] }
        }
        Keyspace::Forks => {
            &Table { name: "forks", seq_key: false, derived: ORIGIN_SEQ, value: &[("envelope", Sql::Bytes)] }
        }
        Keyspace::Meta => {
            &Table { name: "meta", seq_key: false, derived: &[("name", Sql::Text)], value: &[("v", Sql::Bytes)] }
        }
        Keyspace::Feedback => &Table {
            name: "feedback_refs",
            seq_key: false,
            derived: &[("kind", Sql::Text), ("value", Sql::Text), ("reporter", Sql::Text), ("local_seq", Sql::Int)],
            value: &[],
        },
        Keyspace::Allowlist => &Table {
            name: "allowlist",
            seq_key: false,
            derived: &[("list", Sql::Text), ("kind", Sql::Text), ("value", Sql::Text)],
            value: &[("record", Sql::Json)],
        },
        Keyspace::Reach => &Table {
            name: "reach",
            seq_key: false,
            derived: &[("indicator_id", Sql::Text)],
            value: &[("record", Sql::Json)],
        },
        Keyspace::StixIds => &Table {
            name: "stix_ids",
            seq_key: false,
            derived: &[("stix_id", Sql::Text), ("kind", Sql::Text), ("value", Sql::Text), ("origin", Sql::Text)],
            value: &[("index_key", Sql::Bytes)],
        },
        Keyspace::Warninglists => &Table {
            name: "warninglists",
            seq_key: false,
            derived: &[("part", Sql::Text), ("list", Sql::Text), ("generation", Sql::Int), ("chunk", Sql::Int)],
            value: &[("v", Sql::Bytes)],
        },
        Keyspace::Tokens => {
            &Table { name: "tokens", seq_key: false, derived: &[("name", Sql::Text)], value: &[("record", Sql::Json)] }
        }
        Keyspace::Tiles => &Table {
            name: "tlog_tiles",
            seq_key: false,
            derived: &[("level", Sql::Int), ("tile_index", Sql::Int)],
            value: &[("hashes", Sql::Bytes)],
        },
        Keyspace::Witness => &Table {
            name: "witness",
            seq_key: false,
            derived: &[("what", Sql::Text), ("origin", Sql::Text)],
            value: &[("record", Sql::Json)],
        },
        Keyspace::Cases => &Table {
            name: "takedown_cases",
            seq_key: false,
            derived: &[("origin", Sql::Text), ("case_seq", Sql::Int), ("local_seq", Sql::Int)],
            value: &[],
        },
    }
}

/// One cell of a row to write.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Cell {
    /// A bigint, or NULL.
    Int(Option<i64>),
    /// A bytea, or NULL.
    Bytes(Option<Vec<u8>>),
    /// A text (or JSON text), or NULL.
    Text(Option<String>),
}

/// The rows of one table in one commit, column by column, ready to be sent
/// as arrays.
#[derive(Debug)]
pub(super) enum Column {
    /// bigint[]
    Int(Vec<Option<i64>>),
    /// bytea[]
    Bytes(Vec<Option<Vec<u8>>>),
    /// text[]
    Text(Vec<Option<String>>),
}

impl Column {
    fn new(t: Sql) -> Column {
        match t {
            Sql::Int => Column::Int(Vec::new()),
            Sql::Bytes => Column::Bytes(Vec::new()),
            Sql::Text | Sql::Json => Column::Text(Vec::new()),
        }
    }

    fn push(&mut self, c: Cell) {
        match (self, c) {
            (Column::Int(v), Cell::Int(x)) => v.push(x),
            (Column::Bytes(v), Cell::Bytes(x)) => v.push(x),
            (Column::Text(v), Cell::Text(x)) => v.push(x),
            // The cells come from `row` below, in the table's column order.
            (Column::Int(v), _) => v.push(None),
            (Column::Bytes(v), _) => v.push(None),
            (Column::Text(v), _) => v.push(None),
        }
    }

    /// As a query parameter.
    pub fn param(&self) -> &(dyn ToSql + Sync) {
        match self {
            Column::Int(v) => v,
            Column::Bytes(v) => v,
            Column::Text(v) => v,
        }
    }

    /// Row `i`'s cell, for a `COPY` (NULL past the end).
    pub fn cell(&self, i: usize) -> CopyCell<'_> {
        match self {
            Column::Int(v) => CopyCell::Int(v.get(i).copied().flatten()),
            Column::Bytes(v) => CopyCell::Bytes(v.get(i).and_then(Option::as_deref)),
            Column::Text(v) => CopyCell::Text(v.get(i).and_then(Option::as_deref)),
        }
    }
}

/// One cell of a row sent by binary `COPY`, in the binary format of its
/// column's type: a bigint, a bytea, a text, or a json (whose binary form
/// is its text).
#[derive(Debug, Clone, Copy)]
pub(super) enum CopyCell<'a> {
    Int(Option<i64>),
    Bytes(Option<&'a [u8]>),
    Text(Option<&'a str>),
}

impl ToSql for CopyCell<'_> {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match (*self, ty) {
            (CopyCell::Int(v), &Type::INT8) => v.to_sql(ty, out),
            (CopyCell::Bytes(v), &Type::BYTEA) => v.to_sql(ty, out),
            (CopyCell::Text(v), &Type::TEXT | &Type::JSON) => v.to_sql(&Type::TEXT, out),
            _ => Err(Box::new(WrongType::new::<Self>(ty.clone()))),
        }
    }

    fn accepts(ty: &Type) -> bool {
        matches!(*ty, Type::INT8 | Type::BYTEA | Type::TEXT | Type::JSON)
    }

    to_sql_checked!();
}

/// Rows to upsert into one table.
#[derive(Debug)]
pub(super) struct Rows {
    /// One per column: key, derived, value.
    pub columns: Vec<Column>,
    /// How many rows.
    pub len: usize,
}

impl Rows {
    /// Empty rows for `table`.
    pub fn new(table: &Table) -> Rows {
        Rows { columns: table.columns().iter().map(|(_, t)| Column::new(*t)).collect(), len: 0 }
    }

    /// Adds the row of (key, value).
    ///
    /// # Errors
    ///
    /// [`StoreError::Engine`] when the key or value does not fit the table.
    pub fn push(&mut self, ks: Keyspace, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        let cells = row(ks, key, value)?;
        for (col, cell) in self.columns.iter_mut().zip(cells) {
            col.push(cell);
        }
        self.len += 1;
        Ok(())
    }
}

fn misfit(ks: Keyspace, what: &str) -> StoreError {
    StoreError::Engine(format!("{what} does not fit PostgreSQL table {}", table(ks).name))
}

/// A big-endian u64 as the bigint it is stored as (the same bits).
fn int_of(b: &[u8]) -> Option<i64> {
    Some(i64::from_be_bytes(b.try_into().ok()?))
}

fn text(b: &[u8]) -> Option<String> {
    std::str::from_utf8(b).ok().map(str::to_string)
}

/// Splits a key at its first `n - 1` zero bytes.
fn parts(key: &[u8], n: usize) -> Vec<&[u8]> {
    key.splitn(n, |&b| b == 0).collect()
}

/// `origin 0x00 seq`: the origin and the seq.
fn origin_seq(key: &[u8]) -> (Option<String>, Option<i64>) {
    match key.iter().position(|&b| b == 0) {
        Some(i) => (text(&key[..i]), key.get(i + 1..i + 9).and_then(int_of)),
        None => (None, None),
    }
}

fn texts(key: &[u8], n: usize) -> Vec<Cell> {
    let p = parts(key, n);
    (0..n).map(|i| Cell::Text(p.get(i).and_then(|b| text(b)).filter(|_| p.len() == n))).collect()
}

/// The cells of one row: key, derived columns, value columns.
fn row(ks: Keyspace, key: &[u8], value: &[u8]) -> Result<Vec<Cell>, StoreError> {
    let t = table(ks);
    let mut cells = Vec::with_capacity(1 + t.derived.len() + t.value.len());
    if t.seq_key {
        let seq = int_of(key).filter(|s| *s >= 0).ok_or_else(|| misfit(ks, "a key that is not a position"))?;
        cells.push(Cell::Int(Some(seq)));
    } else {
        cells.push(Cell::Bytes(Some(key.to_vec())));
    }
    let int8 = |v: &[u8]| int_of(v).ok_or_else(|| misfit(ks, "a value that is not 8 bytes"));
    let json = |v: &[u8]| {
        std::str::from_utf8(v).map(str::to_string).map_err(|_| misfit(ks, "a record that is not UTF-8 JSON"))
    };
    match ks {
        Keyspace::Log | Keyspace::Forks => {
            let (origin, seq) = if ks == Keyspace::Log {
                match crate::store::decode_log(value) {
                    Ok((_, body)) => (Some(body.origin.to_string()), i64::try_from(body.origin_seq).ok()),
                    Err(_) => (None, None),
                }
            } else {
                origin_seq(key)
            };
            cells.extend([Cell::Text(origin), Cell::Int(seq), Cell::Bytes(Some(value.to_vec()))]);
        }
        Keyspace::OriginSeq => {
            let (origin, seq) = origin_seq(key);
            if value.len() != 72 {
                return Err(misfit(ks, "an origin entry that is not 72 bytes"));
            }
            cells.extend([
                Cell::Text(origin),
                Cell::Int(seq),
                Cell::Bytes(Some(value[..32].to_vec())),
                Cell::Bytes(Some(value[32..64].to_vec())),
                Cell::Int(Some(int8(&value[64..])?)),
            ]);
        }
        Keyspace::Heads => {
            if value.len() != 40 {
                return Err(misfit(ks, "a head that is not 40 bytes"));
            }
            cells.extend([
                Cell::Text(text(key)),
                Cell::Int(Some(int8(&value[..8])?)),
                Cell::Bytes(Some(value[8..].to_vec())),
            ]);
        }
        Keyspace::Index => {
            cells.extend(texts(key, 3));
            cells.push(Cell::Int(Some(int8(value)?)));
        }
        Keyspace::Ids | Keyspace::Cursors => {
            cells.push(Cell::Text(text(key)));
            cells.push(Cell::Int(Some(int8(value)?)));
        }
        Keyspace::Plain => {
            cells.extend(texts(key, 2));
            let plain = std::str::from_utf8(value).map_err(|_| misfit(ks, "a plain value that is not UTF-8"))?;
            cells.push(Cell::Text(Some(plain.to_string())));
        }
        Keyspace::Peers | Keyspace::Keys | Keyspace::Meta => {
            cells.push(Cell::Text(text(key)));
            if ks == Keyspace::Meta {
                cells.push(Cell::Bytes(Some(value.to_vec())));
            } else {
                cells.push(Cell::Text(Some(json(value)?)));
            }
        }
        Keyspace::Audit => {
            let record = json(value)?;
            let parsed: serde_json::Value = serde_json::from_str(&record).unwrap_or_default();
            let field = |name: &str| parsed.get(name).and_then(|v| v.as_str()).map(str::to_string);
            cells.extend([
                Cell::Int(parsed.get("at_ms").and_then(serde_json::Value::as_i64)),
                Cell::Text(field("actor")),
                Cell::Text(field("action")),
                Cell::Text(field("prev_hash")),
                Cell::Text(field("hash")),
                Cell::Text(Some(record)),
            ]);
        }
        Keyspace::Quarantine => cells.push(Cell::Text(Some(json(value)?))),
        Keyspace::Feedback => {
            if !value.is_empty() {
                return Err(misfit(ks, "a feedback reference with a value"));
            }
            let p = parts(key, 4);
            let ok = p.len() == 4;
            for part in p.iter().take(3) {
                cells.push(Cell::Text(text(part).filter(|_| ok)));
            }
            let seq = crate::store::layout::feedback_key_seq(key).and_then(|s| i64::try_from(s).ok());
            cells.push(Cell::Int(seq.filter(|_| ok)));
        }
        Keyspace::Allowlist => {
            cells.extend(texts(key, 3));
            cells.push(Cell::Text(Some(json(value)?)));
        }
        Keyspace::Reach | Keyspace::Tokens => {
            cells.push(Cell::Text(text(key)));
            cells.push(Cell::Text(Some(json(value)?)));
        }
        Keyspace::StixIds => {
            cells.push(Cell::Text(text(key)));
            let split = crate::store::layout::split_index_key(value);
            cells.push(Cell::Text(split.map(|(k, _, _)| k.as_str().to_string())));
            cells.push(Cell::Text(split.map(|(_, v, _)| v.to_string())));
            cells.push(Cell::Text(split.map(|(_, _, o)| o.to_string())));
            cells.push(Cell::Bytes(Some(value.to_vec())));
        }
        Keyspace::Warninglists => {
            let chunk = crate::store::layout::split_warninglist_chunk_key(key);
            let (part, list) = match (key.first(), chunk) {
                (Some(b'c'), Some((list, _, _))) => (Some("chunk"), Some(list.to_string())),
                (Some(b'h'), _) => (Some("header"), key.get(1..).and_then(text)),
                _ => (None, None),
            };
            cells.push(Cell::Text(part.map(str::to_string)));
            cells.push(Cell::Text(list));
            cells.push(Cell::Int(chunk.and_then(|(_, g, _)| i64::try_from(g).ok())));
            cells.push(Cell::Int(chunk.map(|(_, _, i)| i64::from(i))));
            cells.push(Cell::Bytes(Some(value.to_vec())));
        }
        Keyspace::Tiles => {
            let ok = key.len() == 9;
            cells.push(Cell::Int(key.first().map(|l| i64::from(*l)).filter(|_| ok)));
            cells.push(Cell::Int(key.get(1..).and_then(int_of).filter(|_| ok)));
            cells.push(Cell::Bytes(Some(value.to_vec())));
        }
        Keyspace::Witness => {
            let p = parts(key, 3);
            cells.push(Cell::Text(p.first().and_then(|b| text(b))));
            cells.push(Cell::Text(p.get(1).and_then(|b| text(b))));
            cells.push(Cell::Text(Some(json(value)?)));
        }
        Keyspace::Cases => {
            if !value.is_empty() {
                return Err(misfit(ks, "a takedown case event with a value"));
            }
            let split = crate::store::layout::split_case_key(key);
            cells.push(Cell::Text(split.map(|(o, _, _)| o.to_string())));
            cells.push(Cell::Int(split.and_then(|(_, c, _)| i64::try_from(c).ok())));
            cells.push(Cell::Int(split.and_then(|(_, _, l)| i64::try_from(l).ok())));
        }
    }
    Ok(cells)
}

/// The key of a row (its first column).
///
/// # Errors
///
/// [`StoreError::Engine`] for a row of another shape.
pub(super) fn key_of(ks: Keyspace, row: &Row) -> Result<Vec<u8>, StoreError> {
    if table(ks).seq_key {
        let seq: i64 = row.try_get(0).map_err(|e| StoreError::Engine(e.to_string()))?;
        Ok(seq.to_be_bytes().to_vec())
    } else {
        row.try_get::<_, Vec<u8>>(0).map_err(|e| StoreError::Engine(e.to_string()))
    }
}

/// Rebuilds a value from its columns, starting at column `from`.
///
/// # Errors
///
/// [`StoreError::Engine`] for a row of another shape.
pub(super) fn value_of(ks: Keyspace, row: &Row, from: usize) -> Result<Vec<u8>, StoreError> {
    let t = table(ks);
    let e = |e: tokio_postgres::Error| StoreError::Engine(format!("reading {}: {e}", t.name));
    let mut out = Vec::new();
    for (i, (_, sql)) in t.value.iter().enumerate() {
        match sql {
            Sql::Int => out.extend_from_slice(&row.try_get::<_, i64>(from + i).map_err(e)?.to_be_bytes()),
            Sql::Bytes => out.extend_from_slice(&row.try_get::<_, Vec<u8>>(from + i).map_err(e)?),
            Sql::Text | Sql::Json => out.extend_from_slice(row.try_get::<_, String>(from + i).map_err(e)?.as_bytes()),
        }
    }
    Ok(out)
}

/// A scan bound in a table's key domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum KeyBound {
    /// No bound.
    Unbounded,
    /// `seq` compared with a bigint.
    Seq(i64, bool),
    /// `k` compared with bytes.
    Bytes(Vec<u8>, bool),
    /// No key can satisfy it: the scan is empty.
    Empty,
}

/// 8 bytes: `b` padded with zeros, or cut.
fn pad8(b: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    let n = b.len().min(8);
    a[..n].copy_from_slice(&b[..n]);
    u64::from_be_bytes(a)
}

/// Converts a byte bound of a scan to `table`'s key domain. For position
/// keys (8-byte big-endian integers below 2^63) the bound on bytes is the
/// equivalent bound on integers: a shorter bound is padded with zeros, a
/// longer one compared on its first 8 bytes.
pub(super) fn key_bound(t: &Table, b: Bound<&[u8]>, lower: bool) -> KeyBound {
    let (bytes, inclusive) = match b {
        Bound::Unbounded => return KeyBound::Unbounded,
        Bound::Included(k) => (k, true),
        Bound::Excluded(k) => (k, false),
    };
    if !t.seq_key {
        return KeyBound::Bytes(bytes.to_vec(), inclusive);
    }
    let v = pad8(bytes);
    // (value, inclusive) on u64 keys.
    let (v, inclusive) = match bytes.len().cmp(&8) {
        std::cmp::Ordering::Equal => (v, inclusive),
        // A proper prefix: the padded key is the first key after it.
        std::cmp::Ordering::Less => (v, lower),
        // Longer: the 8-byte key equal to its head sorts before it.
        std::cmp::Ordering::Greater => (v, !lower),
    };
    match i64::try_from(v) {
        Ok(v) => KeyBound::Seq(v, inclusive),
        // Beyond every stored position.
        Err(_) if lower => KeyBound::Empty,
        Err(_) => KeyBound::Unbounded,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn satisfies(b: &KeyBound, k: u64, lower: bool) -> bool {
        match b {
            KeyBound::Unbounded => true,
            KeyBound::Empty => false,
            KeyBound::Seq(v, inc) => {
                let k = k as i64;
                match (lower, inc) {
                    (true, true) => k >= *v,
                    (true, false) => k > *v,
                    (false, true) => k <= *v,
                    (false, false) => k < *v,
                }
            }
            KeyBound::Bytes(..) => unreachable!(),
        }
    }

    #[test]
    fn position_bounds_match_byte_order() {
        let t = table(Keyspace::Log);
        let keys: Vec<u64> = vec![0, 1, 2, 255, 256, 257, 65535, 1 << 40, (1 << 62) + 5, i64::MAX as u64];
        let mut bounds: Vec<Vec<u8>> = vec![vec![], vec![0], vec![1], vec![0, 0, 0, 0, 0, 0, 1], vec![0xff]];
        for k in &keys {
            let b = k.to_be_bytes().to_vec();
            bounds.push(b.clone());
            let mut longer = b.clone();
            longer.push(0);
            bounds.push(longer);
            bounds.push(b[..5].to_vec());
        }
        for b in &bounds {
            for lower in [true, false] {
                for inclusive in [true, false] {
                    let bound = if inclusive { Bound::Included(b.as_slice()) } else { Bound::Excluded(b.as_slice()) };
                    let kb = key_bound(t, bound, lower);
                    for k in &keys {
                        let kb_bytes = k.to_be_bytes();
                        let want = match (lower, inclusive) {
                            (true, true) => kb_bytes.as_slice() >= b.as_slice(),
                            (true, false) => kb_bytes.as_slice() > b.as_slice(),
                            (false, true) => kb_bytes.as_slice() <= b.as_slice(),
                            (false, false) => kb_bytes.as_slice() < b.as_slice(),
                        };
                        assert_eq!(
                            satisfies(&kb, *k, lower),
                            want,
                            "key {k} bound {b:?} lower {lower} incl {inclusive}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn values_that_do_not_fit_their_table_are_refused() {
        let mut rows = Rows::new(table(Keyspace::Heads));
        let e = rows.push(Keyspace::Heads, b"ID", b"short").unwrap_err();
        assert!(e.to_string().contains("heads"), "{e}");
        rows.push(Keyspace::Heads, b"ID", &[7u8; 40]).unwrap();
        assert_eq!(rows.len, 1);
        let mut log = Rows::new(table(Keyspace::Log));
        let e = log.push(Keyspace::Log, b"1234", b"x").unwrap_err();
        assert!(e.to_string().contains("position"), "{e}");
        let mut fb = Rows::new(table(Keyspace::Feedback));
        assert!(fb.push(Keyspace::Feedback, b"domain\0a.example\0VN\0", b"x").is_err());
    }

    #[test]
    fn every_keyspace_has_its_own_table_and_well_formed_sql() {
        let names: std::collections::HashSet<_> = Keyspace::ALL.iter().map(|k| table(*k).name).collect();
        assert_eq!(names.len(), Keyspace::ALL.len());
        let up = table(Keyspace::Peers).upsert_sql();
        assert_eq!(
            up,
            "INSERT INTO peers (k, node_id, record) SELECT u.k, u.node_id, u.record::json FROM \
             unnest($1::bytea[], $2::text[], $3::text[]) AS u(k, node_id, record) ON CONFLICT (k) \
             DO UPDATE SET node_id = EXCLUDED.node_id, record = EXCLUDED.record"
        );
        assert_eq!(
            table(Keyspace::Log).insert_sql(),
            "INSERT INTO log (seq, origin, origin_seq, envelope) SELECT u.seq, u.origin, u.origin_seq, u.envelope \
             FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::bytea[]) AS u(seq, origin, origin_seq, envelope)"
        );
        // The query names the tables and columns the two keyspaces map to.
        let (index, log) = (table(Keyspace::Index), table(Keyspace::Log));
        assert_eq!(index.value, &[("local_seq", Sql::Int)]);
        assert_eq!(log.value, &[("envelope", Sql::Bytes)]);
        assert!(INDEX_WITH_LOG.contains(&format!("FROM {} i WHERE i.{} = ANY", index.name, index.key())));
        assert!(INDEX_WITH_LOG.contains(&format!("FROM {} l WHERE l.{} = i.local_seq", log.name, log.key())));
        assert!(table(Keyspace::Feedback).upsert_sql().ends_with("DO UPDATE SET kind = EXCLUDED.kind, value = EXCLUDED.value, reporter = EXCLUDED.reporter, local_seq = EXCLUDED.local_seq"));
        for ks in Keyspace::ALL {
            let mut rows = Rows::new(table(ks));
            assert_eq!(rows.columns.len(), 1 + table(ks).derived.len() + table(ks).value.len(), "{ks:?}");
            rows.len = 0;
        }
    }
}
