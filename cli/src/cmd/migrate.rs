//! `jaring migrate --from DIR --to postgres://...`: moves a stopped node's
//! embedded store (fjall or sled) into PostgreSQL, then verifies the copy.
//!
//! Every keyspace is copied pair by pair, byte for byte, in commits of
//! [`BATCH`] pairs, with progress on stderr. The copy is then read back
//! and compared with the source in lockstep (every key and value of every
//! keyspace, so the counts too), the origins' heads are compared, and the
//! audit chain is verified on PostgreSQL. The target schema must be empty:
//! a migration that failed half way is started again on a fresh schema
//! (`DROP SCHEMA ... CASCADE`).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use clap::Args;
use jaring_node::config::Config;
use jaring_node::store::postgres::PgOptions;
use jaring_node::store::{self, Batch, EngineKind, Keyspace, Store, WriterInfo};
use serde::Serialize;

use crate::output::Output;

/// Pairs per commit.
const BATCH: usize = 4096;
/// A progress line every this many pairs of a keyspace.
const PROGRESS_EVERY: u64 = 100_000;

/// `jaring migrate`.
#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// The node directory (with node.toml; stop the node first), or an
    /// embedded store's directory.
    #[arg(long)]
    pub from: PathBuf,
    /// The PostgreSQL database, `postgres://USER@HOST:PORT/DB` (no
    /// password in it).
    #[arg(long)]
    pub to: String,
    /// File holding the database password (first line; else the variable
    /// `--password-env` names).
    #[arg(long)]
    pub password_file: Option<PathBuf>,
    /// Environment variable holding the password.
    #[arg(long, default_value = jaring_node::store::postgres::DEFAULT_PASSWORD_ENV)]
    pub password_env: String,
    /// CA certificate(s), PEM, verifying the server: TLS to the database.
    #[arg(long)]
    pub tls_ca: Option<PathBuf>,
    /// The schema to fill (it must hold no data).
    #[arg(long, default_value = jaring_node::store::postgres::DEFAULT_SCHEMA)]
    pub schema: String,
}

/// What was moved, per keyspace.
#[derive(Debug, Serialize)]
struct Moved {
    keyspace: String,
    pairs: u64,
}

/// The outcome.
#[derive(Debug, Serialize)]
struct Report {
    from: String,
    engine: String,
    to: String,
    schema: String,
    keyspaces: Vec<Moved>,
    pairs: u64,
    log_head: u64,
    origins: usize,
    audit_entries: u64,
    verified: bool,
}

/// Runs the migration (blocking: call from a blocking thread).
///
/// # Errors
///
/// Anything that stops the copy or fails its verification.
pub fn run(args: &MigrateArgs, out: &Output) -> Result<()> {
    let (db, engine) = source(&args.from)?;
    let from = store::open(&db, engine, 64)
        .with_context(|| format!("opening {} (is the node still running? stop it first)", db.display()))?;
    let mut options = PgOptions::new(args.to.clone());
    options.password_file = args.password_file.clone();
    options.password_env = args.password_env.clone();
    options.tls_ca = args.tls_ca.clone();
    options.schema = args.schema.clone();
    options.check().map_err(|e| anyhow!("--to: {e}"))?;
    let to = store::open_postgres(&options).context("opening the PostgreSQL database")?;
    let shared = to.shared().ok_or_else(|| anyhow!("the target is not a shared store"))?;
    let me = WriterInfo { holder: format!("jaring migrate/{}", std::process::id()), ..WriterInfo::default() };
    if shared.try_acquire(&me)?.is_none() {
        bail!(
            "a node process holds the writer lease of schema {:?}: stop it (a migration fills an empty schema)",
            args.schema
        );
    }
    let result = copy_and_verify(&from, &to, args, &db, engine);
    if let Err(e) = shared.release() {
        eprintln!("jaring migrate: could not release the writer lease ({e}); it expires by itself");
    }
    let report = result?;
    if out.json {
        out.json(&report);
    } else {
        println!(
            "moved {} pairs from {} ({}) to schema {:?}: log head {}, {} origins, {} audit entries; verified",
            report.pairs,
            report.from,
            report.engine,
            report.schema,
            report.log_head,
            report.origins,
            report.audit_entries
        );
        println!("now set [store] engine = \"postgres\", url and password_file (or password_env) in node.toml");
    }
    Ok(())
}

/// The store directory and its engine.
fn source(from: &Path) -> Result<(PathBuf, EngineKind)> {
    let toml = from.join("node.toml");
    let db = if toml.exists() {
        let config = Config::load(&toml).context("reading the node's config")?;
        if config.store.engine == EngineKind::Postgres {
            bail!("{}: this node is on PostgreSQL already", toml.display());
        }
        config.resolve(&config.paths.db)
    } else {
        from.to_path_buf()
    };
    let engine = EngineKind::detect(&db).ok_or_else(|| anyhow!("{}: no fjall or sled store here", db.display()))?;
    Ok((db, engine))
}

fn copy_and_verify(from: &Store, to: &Store, args: &MigrateArgs, db: &Path, engine: EngineKind) -> Result<Report> {
    for ks in Keyspace::ALL {
        if to.scan_prefix(ks, b"").next().is_some() {
            bail!(
                "schema {:?} already holds data (keyspace {ks:?}); migrate into an empty schema \
                 (DROP SCHEMA {} CASCADE, or another --schema)",
                args.schema,
                args.schema
            );
        }
    }
    let mut keyspaces = Vec::new();
    let mut total = 0u64;
    for ks in Keyspace::ALL {
        let mut batch = Batch::default();
        let mut pairs = 0u64;
        for r in from.scan_prefix(ks, b"") {
            let (k, v) = r.with_context(|| format!("reading {ks:?} from the source"))?;
            batch.put(ks, k, v);
            pairs += 1;
            if batch.len() >= BATCH {
                to.commit(std::mem::take(&mut batch)).with_context(|| format!("writing {ks:?}"))?;
            }
            if pairs.is_multiple_of(PROGRESS_EVERY) {
                eprintln!("jaring migrate: {ks:?}: {pairs} pairs");
            }
        }
        if !batch.is_empty() {
            to.commit(batch).with_context(|| format!("writing {ks:?}"))?;
        }
        eprintln!("jaring migrate: {ks:?}: {pairs} pairs copied");
        total += pairs;
        keyspaces.push(Moved { keyspace: format!("{ks:?}"), pairs });
    }
    eprintln!("jaring migrate: verifying {total} pairs");
    for ks in Keyspace::ALL {
        let mut a = from.scan_prefix(ks, b"");
        let mut b = to.scan_prefix(ks, b"");
        let mut n = 0u64;
        loop {
            match (a.next().transpose()?, b.next().transpose()?) {
                (None, None) => break,
                (Some(x), Some(y)) if x == y => n += 1,
                (Some((k, _)), Some((k2, _))) if k == k2 => {
                    bail!("{ks:?}: the value of key {k:?} differs in PostgreSQL")
                }
                (x, y) => bail!(
                    "{ks:?}: the copy differs after {n} pairs (source key {:?}, PostgreSQL key {:?})",
                    x.map(|p| p.0),
                    y.map(|p| p.0)
                ),
            }
        }
    }
    let heads = from.heads()?;
    if heads != to.heads()? {
        bail!("the origins' heads differ in PostgreSQL");
    }
    let log_head = to.log_head()?;
    if log_head != from.log_head()? {
        bail!("the log head differs in PostgreSQL");
    }
    let audit_entries =
        store::audit::verify(to).map_err(|e| anyhow!("the audit chain does not verify in PostgreSQL: {e}"))?;
    eprintln!(
        "jaring migrate: verified: every pair, {} heads, log head {log_head}, audit chain of {audit_entries}",
        heads.len()
    );
    Ok(Report {
        from: db.display().to_string(),
        engine: engine.to_string(),
        to: redacted(&args.to),
        schema: args.schema.clone(),
        keyspaces,
        pairs: total,
        log_head,
        origins: heads.len(),
        audit_entries,
        verified: true,
    })
}

/// The URL without its query (which may name files).
fn redacted(url: &str) -> String {
    url.split('?').next().unwrap_or(url).to_string()
}
