//! Versioned migrations, applied at start in one transaction.
//!
//! The SQL lives beside this file (`migrations/NNNN_name.sql`) and is
//! compiled in. `schema_version` records each applied version; a start
//! applies the ones above the recorded maximum, all in one transaction
//! under a transaction-scoped advisory lock, so several processes starting
//! at once migrate once. A database migrated by a newer node is refused.

use super::client::Conn;
use crate::store::StoreError;

/// One migration.
#[derive(Debug)]
pub struct Migration {
    /// Its version, from 1, dense.
    pub version: i32,
    /// What it does.
    pub description: &'static str,
    /// The SQL.
    pub sql: &'static str,
}

/// Every migration, in order.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        description: "tables per keyspace, writer lease, change marks",
        sql: include_str!("migrations/0001_tables.sql"),
    },
    Migration {
        version: 2,
        description: "reach, STIX ids, warninglists, tokens, tiles, witness, takedown cases",
        sql: include_str!("migrations/0002_keyspaces.sql"),
    },
    Migration {
        version: 3,
        description: "the log without its (origin, origin_seq) index (origin_entries answers that)",
        sql: include_str!("migrations/0003_log_origin.sql"),
    },
];

/// The schema version this node writes.
pub fn current() -> i32 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

/// Advisory lock key serializing migrations ("jaring" in ASCII).
const MIGRATION_LOCK: i64 = 0x6a61_7269_6e67;

/// Whether `name` can be a schema name here: lower-case letters, digits
/// and `_`, starting with a letter or `_`, at most 63 bytes.
pub fn valid_schema_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !name.as_bytes()[0].is_ascii_digit()
}

/// Creates `schema` if needed and applies the migrations it lacks. Returns
/// the versions applied.
///
/// # Errors
///
/// [`StoreError::Open`]-worthy engine failures, and a schema newer than
/// this node.
pub(super) async fn migrate(conn: &Conn, schema: &str) -> Result<Vec<i32>, StoreError> {
    let c = &conn.client;
    c.batch_execute("BEGIN").await.map_err(|e| conn.err(&e))?;
    let result = async {
        c.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).await.map_err(|e| conn.err(&e))?;
        c.batch_execute(&format!(
            "CREATE SCHEMA IF NOT EXISTS \"{schema}\"; SET LOCAL search_path TO \"{schema}\"; \
             CREATE TABLE IF NOT EXISTS schema_version (version integer PRIMARY KEY, \
             description text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
        ))
        .await
        .map_err(|e| conn.err(&e))?;
        let row =
            c.query_one("SELECT coalesce(max(version), 0) FROM schema_version", &[]).await.map_err(|e| conn.err(&e))?;
        let have: i32 = row.get(0);
        if have > current() {
            return Err(StoreError::Engine(format!(
                "the database schema \"{schema}\" is at version {have}, newer than this node's {}; \
                 upgrade the node",
                current()
            )));
        }
        let mut applied = Vec::new();
        for m in MIGRATIONS.iter().filter(|m| m.version > have) {
            c.batch_execute(m.sql).await.map_err(|e| {
                StoreError::Engine(format!("migration {} ({}) failed: {}", m.version, m.description, conn.err(&e)))
            })?;
            c.execute(
                "INSERT INTO schema_version (version, description) VALUES ($1, $2)",
                &[&m.version, &m.description],
            )
            .await
            .map_err(|e| conn.err(&e))?;
            applied.push(m.version);
        }
        Ok(applied)
    }
    .await;
    match result {
        Ok(applied) => {
            c.batch_execute("COMMIT").await.map_err(|e| conn.err(&e))?;
            Ok(applied)
        }
        Err(e) => {
            let _ = c.batch_execute("ROLLBACK").await;
            Err(e)
        }
    }
}

/// The schema version a read replica has replayed: 0 while `schema` or its
/// `schema_version` table has not reached it yet.
///
/// # Errors
///
/// Engine failures other than the schema or table being absent.
pub(super) async fn replayed(conn: &Conn, schema: &str) -> Result<i32, StoreError> {
    let sql = format!("SELECT coalesce(max(version), 0) FROM \"{schema}\".schema_version");
    match conn.client.query_one(sql.as_str(), &[]).await {
        Ok(row) => Ok(row.get(0)),
        Err(e)
            if e.code().is_some_and(|c| {
                *c == tokio_postgres::error::SqlState::UNDEFINED_TABLE
                    || *c == tokio_postgres::error::SqlState::INVALID_SCHEMA_NAME
            }) =>
        {
            Ok(0)
        }
        Err(e) => Err(conn.err(&e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_dense_from_one() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.version as usize, i + 1);
        }
        assert_eq!(current(), MIGRATIONS.len() as i32);
    }

    #[test]
    fn schema_names_are_plain_identifiers() {
        assert!(valid_schema_name("jaring"));
        assert!(valid_schema_name("jaring_test_42"));
        for bad in ["", "Jaring", "9lives", "a\"; DROP TABLE log; --", "a-b", &"x".repeat(64)] {
            assert!(!valid_schema_name(bad), "{bad}");
        }
    }
}
