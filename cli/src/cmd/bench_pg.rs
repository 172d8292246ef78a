//! `jaring bench --engine postgres`: the scenarios that touch the store
//! (`publish`, `ingest`, `lookup`, `catchup`) side by side on fjall and on
//! PostgreSQL in one run (issue 21's performance figures).
//!
//! Each such scenario runs twice through [`side_by_side`]: first as it is,
//! on fjall, then with every node it starts on PostgreSQL, each node in a
//! fresh schema of its own (the password file copied 0600 into the node
//! directory, as an operator keeps it). The report holds both results and
//! `postgres_vs_fjall`, PostgreSQL's rate over fjall's for every `*_per_s`
//! figure both have (above 1: PostgreSQL is faster). The schemas are
//! dropped after each scenario unless `--dir` keeps the node directories.
//!
//! On PostgreSQL the `lookup` scenario also measures how lookups scale with
//! processes ([`scaling`]): gRPC lookups against the writer alone, then
//! against the writer and a second process on the same schema
//! (`role = "reader"`, a lookup process) loaded at once.
//!
//! The database comes from `--pg-url` and `--pg-password-file`, or from
//! the variables `.ci/postgres.sh start|run` exports
//! (`JARING_TEST_PG_URL`, `JARING_TEST_PG_PASSWORD_FILE`).

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Args;
use jaring_node::config::Config;
use jaring_node::store::postgres::{DEFAULT_PASSWORD_ENV, client as pg_client};
use jaring_node::store::{EngineKind, StoreRole};
use serde_json::{Map, Value, json};

use super::bench::{Timed, grpc_lookups, lookup_query, start_node_spec, unary_lookups};
use crate::client::{Client, status_error};
use crate::fleet::{self, FleetNode};

/// The variable naming the database when `--pg-url` is not given.
pub const URL_ENV: &str = "JARING_TEST_PG_URL";
/// The variable naming its password file when `--pg-password-file` is not
/// given.
pub const PASSWORD_FILE_ENV: &str = "JARING_TEST_PG_PASSWORD_FILE";

/// Where `--engine postgres` finds its database.
#[derive(Debug, Default, Args)]
pub struct PgArgs {
    /// With --engine postgres: the database, `postgres://USER@HOST:PORT/DB`
    /// (no password in it) [default: $JARING_TEST_PG_URL].
    #[arg(long, value_name = "URL")]
    pub pg_url: Option<String>,
    /// With --engine postgres: file holding the database password (first
    /// line) [default: $JARING_TEST_PG_PASSWORD_FILE; without either the
    /// nodes read $JARING_PG_PASSWORD].
    #[arg(long, value_name = "FILE")]
    pub pg_password_file: Option<PathBuf>,
    /// With --engine postgres: run each side-by-side scenario this many
    /// times, fjall and PostgreSQL in turn, and report the median ratio.
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub pg_rounds: u32,
}

/// Why `--engine postgres` has no usable database.
#[derive(Debug, thiserror::Error)]
pub enum PgTargetError {
    /// Neither the flag nor the variable names one.
    #[error(
        "--engine postgres needs a PostgreSQL database: pass --pg-url postgres://USER@HOST:PORT/DB (and \
         --pg-password-file FILE), or set {URL_ENV} (and {PASSWORD_FILE_ENV}), as \
         `.ci/postgres.sh run target/release/jaring bench --engine postgres ingest lookup` does"
    )]
    NoDatabase,
    /// The URL is unusable.
    #[error("--pg-url (or {URL_ENV}) {url:?}: {reason}")]
    Url {
        /// The URL given.
        url: String,
        /// Why.
        reason: String,
    },
    /// The password file cannot be read.
    #[error("--pg-password-file (or {PASSWORD_FILE_ENV}) {path}: {reason}")]
    PasswordFile {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

/// The database the bench's PostgreSQL nodes use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgTarget {
    /// `postgres://USER@HOST:PORT/DB`.
    pub url: String,
    /// Its password file, if one is named.
    pub password_file: Option<PathBuf>,
}

impl PgArgs {
    /// The database: the flags, else the variables `env` gives.
    ///
    /// # Errors
    ///
    /// [`PgTargetError::NoDatabase`] when neither names one; `Url` for a
    /// URL that does not parse or carries a password; `PasswordFile` for a
    /// password file that cannot be read or is empty.
    pub fn resolve(&self, env: impl Fn(&str) -> Option<String>) -> Result<PgTarget, PgTargetError> {
        let url = self
            .pg_url
            .clone()
            .or_else(|| env(URL_ENV))
            .filter(|u| !u.trim().is_empty())
            .ok_or(PgTargetError::NoDatabase)?;
        pg_client::parse_url("url", &url)
            .map_err(|e| PgTargetError::Url { url: url.clone(), reason: e.to_string() })?;
        let password_file = self
            .pg_password_file
            .clone()
            .or_else(|| env(PASSWORD_FILE_ENV).filter(|p| !p.is_empty()).map(PathBuf::from));
        if let Some(path) = &password_file {
            pg_client::read_password(Some(path), DEFAULT_PASSWORD_ENV)
                .map_err(|e| PgTargetError::PasswordFile { path: path.clone(), reason: e.to_string() })?;
        }
        Ok(PgTarget { url, password_file })
    }
}

/// One bench run on PostgreSQL: the database and the schemas made so far.
#[derive(Debug)]
pub struct PgRun {
    target: PgTarget,
    /// Keeps the schemas (the node directories are kept too).
    keep: bool,
    /// fjall-then-PostgreSQL passes per scenario.
    rounds: u32,
    /// Unique to this run, in every schema name.
    tag: String,
    /// Made and not yet dropped.
    schemas: Mutex<Vec<String>>,
    /// Made in all.
    made: Mutex<u64>,
}

tokio::task_local! {
    /// Set while a scenario runs its PostgreSQL pass.
    static CURRENT: Arc<PgRun>;
}

/// The PostgreSQL run the current scenario pass uses, if it is one.
pub fn current() -> Option<Arc<PgRun>> {
    CURRENT.try_with(Arc::clone).ok()
}

impl PgRun {
    /// A run on `target` of `rounds` passes per scenario (at least one);
    /// with `keep` the schemas stay after the run.
    pub fn new(target: PgTarget, rounds: u32, keep: bool) -> PgRun {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        let tag = format!("{:08x}", (nanos as u64 ^ u64::from(std::process::id()).rotate_left(32)) & 0xffff_ffff);
        PgRun { target, keep, rounds: rounds.max(1), tag, schemas: Mutex::new(Vec::new()), made: Mutex::new(0) }
    }

    /// The database's URL (no password).
    pub fn url(&self) -> &str {
        &self.target.url
    }

    /// A schema name no other node of any run uses.
    fn new_schema(&self, id: &str) -> String {
        let mut made = self.made.lock().unwrap_or_else(|p| p.into_inner());
        *made += 1;
        let id: String =
            id.to_ascii_lowercase().chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
        let name = format!("bench_{}_{}_{id}", self.tag, *made);
        self.schemas.lock().unwrap_or_else(|p| p.into_inner()).push(name.clone());
        name
    }

    /// Points a new node's configuration (in `dir`) at the database, in a
    /// fresh schema.
    ///
    /// # Errors
    ///
    /// The password file cannot be copied.
    pub fn configure(&self, config: &mut Config, dir: &Path) -> Result<()> {
        use std::os::unix::fs::PermissionsExt;
        config.store.engine = EngineKind::Postgres;
        config.store.url = Some(self.target.url.clone());
        if let Some(file) = &self.target.password_file {
            let copy = dir.join("db-password");
            std::fs::copy(file, &copy).with_context(|| format!("copying {}", file.display()))?;
            std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o600))?;
            config.store.password_file = Some(PathBuf::from("db-password"));
        }
        config.store.schema = self.new_schema(config.node_id.as_str());
        Ok(())
    }

    /// A session on the database.
    async fn connect(&self) -> Result<tokio_postgres::Client> {
        let mut config = pg_client::parse_url("url", &self.target.url)?;
        if let Some(p) = pg_client::read_password(self.target.password_file.as_deref(), DEFAULT_PASSWORD_ENV)? {
            config.password(p.as_bytes());
        }
        config.application_name("jaring-bench");
        config.connect_timeout(Duration::from_secs(5));
        let (client, conn) = config
            .connect(tokio_postgres::NoTls)
            .await
            .with_context(|| format!("connecting to {}", pg_client::label(&config)))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(client)
    }

    /// Bytes of the tables and indexes in `schema`.
    ///
    /// # Errors
    ///
    /// The database cannot be asked.
    pub async fn schema_bytes(&self, schema: &str) -> Result<u64> {
        let client = self.connect().await?;
        let row = client
            .query_one(
                "SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0)::bigint FROM pg_class c \
                 JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind = 'r'",
                &[&schema],
            )
            .await?;
        Ok(u64::try_from(row.get::<_, i64>(0)).unwrap_or(0))
    }

    /// Drops the schemas made so far (unless kept); returns how many.
    ///
    /// # Errors
    ///
    /// The database refused.
    async fn drop_schemas(&self) -> Result<usize> {
        let names: Vec<String> = std::mem::take(&mut *self.schemas.lock().unwrap_or_else(|p| p.into_inner()));
        if self.keep || names.is_empty() {
            return Ok(0);
        }
        let client = self.connect().await?;
        for name in &names {
            // Names are made by new_schema: lower-case letters, digits, `_`.
            client.batch_execute(&format!("DROP SCHEMA IF EXISTS \"{name}\" CASCADE")).await?;
        }
        Ok(names.len())
    }
}

/// Runs a store scenario: as it is without `pg`; with `pg`, on fjall in
/// `base/fjall`, then on PostgreSQL in `base/postgres`, and compares them;
/// with several rounds, each in `base/round-N/` and summed up by [`median_round`].
///
/// # Errors
///
/// Either pass failing; dropping the schemas failing.
pub async fn side_by_side<F, Fut>(pg: Option<&Arc<PgRun>>, base: &Path, run: F) -> Result<Value>
where
    F: Fn(PathBuf) -> Fut,
    Fut: Future<Output = Result<Value>>,
{
    let Some(pg) = pg else { return run(base.to_path_buf()).await };
    let mut rounds = Vec::new();
    for r in 1..=pg.rounds {
        let dir = if pg.rounds == 1 { base.to_path_buf() } else { base.join(format!("round-{r}")) };
        let fjall = run(dir.join("fjall")).await.with_context(|| format!("round {r} on fjall"))?;
        let postgres = CURRENT.scope(pg.clone(), run(dir.join("postgres"))).await;
        // The scenario's nodes are stopped by now (dropped with its future).
        let dropped = pg.drop_schemas().await;
        let mut postgres = postgres.with_context(|| format!("round {r} on PostgreSQL"))?;
        let dropped = dropped.context("dropping the bench schemas")?;
        if let Some(m) = postgres.as_object_mut() {
            m.insert("schemas_dropped".into(), json!(dropped));
        }
        rounds.push(compare(fjall, postgres));
    }
    Ok(median_round(rounds))
}

/// Several rounds of [`compare`] as one: `postgres_vs_fjall` the median of
/// each ratio, `postgres_vs_fjall_by_round` each ratio in the order run,
/// and `fjall` and `postgres` the figures of the round whose main ratio
/// (`indicators_per_s` where there is one) is the median. One round is
/// returned as it is.
pub fn median_round(mut rounds: Vec<Value>) -> Value {
    if rounds.len() < 2 {
        return rounds.pop().unwrap_or(Value::Null);
    }
    let ratio_of = |round: &Value, key: &str| round["postgres_vs_fjall"][key].as_f64();
    let mut keys: Vec<String> =
        rounds.iter().filter_map(|r| r["postgres_vs_fjall"].as_object()).flat_map(|m| m.keys().cloned()).collect();
    keys.sort();
    keys.dedup();
    let (mut medians, mut by_round) = (Map::new(), Map::new());
    let (mut fjall_rates, mut postgres_rates) = (Map::new(), Map::new());
    for key in &keys {
        let each: Vec<Option<f64>> = rounds.iter().map(|r| ratio_of(r, key)).collect();
        let mut known: Vec<f64> = each.iter().flatten().copied().collect();
        known.sort_by(f64::total_cmp);
        if let Some(m) = median(&known) {
            medians.insert(key.clone(), json!(m));
        }
        let shown = each.iter().map(|r| r.map_or(Value::Null, |r| json!((r * 1000.0).round() / 1000.0)));
        by_round.insert(key.clone(), Value::Array(shown.collect()));
        for (engine, rates) in [("fjall", &mut fjall_rates), ("postgres", &mut postgres_rates)] {
            let each = rounds
                .iter()
                .map(|r| at(&r[engine], key).and_then(Value::as_f64).map_or(Value::Null, |v| json!(v.round())));
            rates.insert(key.clone(), Value::Array(each.collect()));
        }
    }
    let main = keys.iter().find(|k| k.as_str() == "indicators_per_s").or_else(|| keys.first());
    let mut order: Vec<usize> = (0..rounds.len()).collect();
    if let Some(main) = main {
        order.sort_by(|&a, &b| {
            let (a, b) = (ratio_of(&rounds[a], main), ratio_of(&rounds[b], main));
            a.unwrap_or(f64::NAN).total_cmp(&b.unwrap_or(f64::NAN))
        });
    }
    let middle = order[(order.len() - 1) / 2];
    let chosen = rounds.swap_remove(middle);
    json!({
        "rounds": order.len(),
        "fjall": chosen["fjall"],
        "postgres": chosen["postgres"],
        "postgres_vs_fjall": medians,
        "postgres_vs_fjall_by_round": by_round,
        "fjall_by_round": fjall_rates,
        "postgres_by_round": postgres_rates,
    })
}

/// The value at a dotted path of [`compare`]'s ratio keys.
fn at<'v>(v: &'v Value, dotted: &str) -> Option<&'v Value> {
    dotted.split('.').try_fold(v, |v, k| v.get(k))
}

/// The median of sorted values (the mean of the middle two for an even count).
fn median(sorted: &[f64]) -> Option<f64> {
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

/// Both results and PostgreSQL's rate over fjall's for every `*_per_s`
/// figure both have (nested ones by dotted path).
pub fn compare(fjall: Value, postgres: Value) -> Value {
    let mut ratios = Map::new();
    ratios_into(&mut ratios, "", &fjall, &postgres);
    json!({ "fjall": fjall, "postgres": postgres, "postgres_vs_fjall": ratios })
}

fn ratios_into(out: &mut Map<String, Value>, prefix: &str, fjall: &Value, postgres: &Value) {
    let (Some(f), Some(p)) = (fjall.as_object(), postgres.as_object()) else { return };
    for (k, fv) in f {
        let Some(pv) = p.get(k) else { continue };
        let path = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
        if fv.is_object() {
            ratios_into(out, &path, fv, pv);
        } else if k.ends_with("_per_s")
            && let (Some(a), Some(b)) = (fv.as_f64(), pv.as_f64())
            && a > 0.0
        {
            out.insert(path, json!(b / a));
        }
    }
}

/// Starts a second process on `writer`'s database and schema in
/// `base/<id>`: its directory copied (not the log nor the listen
/// addresses), new ports, `role = "reader"` (a lookup process).
async fn second_process(writer: &FleetNode, base: &Path) -> Result<FleetNode> {
    let dir = base.join(writer.id.to_ascii_lowercase());
    copy_tree(&writer.dir, &dir)?;
    let toml = dir.join("node.toml");
    let mut config = Config::load(&toml)?;
    config.admin.listen = "127.0.0.1:0".into();
    config.federation.listen = "127.0.0.1:0".into();
    if let Some(http) = config.http.as_mut() {
        http.listen = "127.0.0.1:0".into();
    }
    config.store.role = StoreRole::Reader;
    std::fs::write(&toml, config.to_toml())?;
    // The directory holds node.toml: the fleet starts it as it is.
    fleet::start(base, &start_node_spec(&writer.id, None)).await
}

fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(to)?;
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o700))?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let name = entry.file_name();
        if ["db", "node.log", jaring_node::config::LISTEN_FILE].iter().any(|n| name == std::ffi::OsStr::new(n)) {
            continue;
        }
        let (src, dst) = (entry.path(), to.join(&name));
        if entry.file_type()?.is_dir() {
            copy_tree(&src, &dst)?;
        } else {
            std::fs::copy(&src, &dst).with_context(|| format!("copying {}", src.display()))?;
        }
    }
    Ok(())
}

/// Unary (32 callers) and batched (1000 values a call) gRPC lookups per
/// second against each of `nodes`, all loaded at once.
async fn loaded_at_once(nodes: &[&FleetNode], store: u64, lookups: u64) -> Result<(Vec<Timed>, Vec<Timed>)> {
    let unary_n = unary_lookups(lookups);
    let unary = at_once(nodes, |c| async move { grpc_lookups(&c, 0..unary_n, store, 1, false).await }).await?;
    let batched = at_once(nodes, |c| async move { grpc_lookups(&c, 0..lookups, store, 1000, false).await }).await?;
    Ok((unary, batched))
}

/// Runs `calls` against every node at once (each on its own task, so the
/// processes are loaded in parallel); the results in the nodes' order.
async fn at_once<F, Fut>(nodes: &[&FleetNode], calls: F) -> Result<Vec<Timed>>
where
    F: Fn(Client) -> Fut,
    Fut: Future<Output = Result<Timed>> + Send + 'static,
{
    let handles: Vec<_> = nodes.iter().map(|n| tokio::spawn(calls(n.client.clone()))).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await??);
    }
    Ok(out)
}

/// Items per second over the longest of the calls made at once.
fn aggregate(t: &[Timed]) -> f64 {
    let items: u64 = t.iter().map(|t| t.items).sum();
    let wall = t.iter().map(|t| t.elapsed).max().unwrap_or_default();
    if wall.is_zero() { 0.0 } else { items as f64 / wall.as_secs_f64() }
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 { a / b } else { 0.0 }
}

/// Lookup scaling on PostgreSQL: gRPC lookups (unary, 32 concurrent
/// callers per process; batched, 1000 values a call) against `writer`
/// alone, then against `writer` and a second process on the same schema
/// (`role = "reader"`, started in `base`) loaded at once. Per-process and
/// aggregate rates and the aggregate over the single process's.
///
/// # Errors
///
/// The second process failing to start or to find the stored values; a
/// lookup failing.
pub async fn scaling(writer: &FleetNode, base: &Path, store: u64, lookups: u64) -> Result<Value> {
    let (single_unary, single_batched) = loaded_at_once(&[writer], store, lookups).await?;
    let mut reader = second_process(writer, base).await?;
    // It serves what the writer stored before it started: wait (bounded)
    // until it answers the last stored value.
    let last = lookup_query(store.saturating_sub(1));
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let r = reader
            .client
            .lookup(jaring_proto::pb::LookupRequest { queries: vec![last.clone()], min_score: 0, summary: true })
            .await
            .map_err(status_error)?
            .into_inner();
        if r.results.first().is_some_and(|r| !r.views.is_empty()) {
            break;
        }
        if Instant::now() > deadline {
            bail!("lookup scaling: the second process does not find the stored values after 60 s");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The writer's lookup cache is warm from the measurements before: warm
    // the second process's with the same values, so both start alike.
    let warm = unary_lookups(lookups).max(lookups);
    grpc_lookups(&reader.client, 0..warm, store, 1000, false).await?;
    let (unary, batched) = loaded_at_once(&[writer, &reader], store, lookups).await?;
    let reader_rss = reader.peak_rss_mib();
    reader.stop();
    let (single_u, single_b) = (aggregate(&single_unary), aggregate(&single_batched));
    let (both_u, both_b) = (aggregate(&unary), aggregate(&batched));
    Ok(json!({
        "cores": std::thread::available_parallelism().map_or(1, |n| n.get()),
        "cores_shared_by": "both node processes, PostgreSQL and this benchmark's client",
        "second_process_role": "reader",
        "one_process_grpc_unary_lookups_per_s": single_u,
        "one_process_grpc_batched_values_per_s": single_b,
        "two_processes_grpc_unary_lookups_per_s_by_process": unary.iter().map(Timed::rate).collect::<Vec<_>>(),
        "two_processes_grpc_unary_lookups_per_s": both_u,
        "two_processes_grpc_unary_vs_one": ratio(both_u, single_u),
        "two_processes_grpc_batched_values_per_s_by_process": batched.iter().map(Timed::rate).collect::<Vec<_>>(),
        "two_processes_grpc_batched_values_per_s": both_b,
        "two_processes_grpc_batched_vs_one": ratio(both_b, single_b),
        "second_process_peak_rss_mib": reader_rss,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
    }

    fn password_file() -> Result<tempfile::NamedTempFile> {
        let f = tempfile::NamedTempFile::new()?;
        std::fs::write(f.path(), "s3cret\n")?;
        Ok(f)
    }

    #[test]
    fn without_a_flag_or_variable_the_error_names_both_ways() {
        let err = PgArgs::default().resolve(env(&[])).err();
        assert!(matches!(err, Some(PgTargetError::NoDatabase)), "{err:?}");
        let text = err.map(|e| e.to_string()).unwrap_or_default();
        for way in ["--pg-url", "--pg-password-file", URL_ENV, PASSWORD_FILE_ENV, ".ci/postgres.sh run"] {
            assert!(text.contains(way), "{text} does not name {way}");
        }
        // An empty variable is no database either.
        let err = PgArgs::default().resolve(env(&[(URL_ENV, "")])).err();
        assert!(matches!(err, Some(PgTargetError::NoDatabase)), "{err:?}");
    }

    #[test]
    fn the_variables_of_the_ci_script_are_the_default() -> Result<()> {
        let pw = password_file()?;
        let path = pw.path().to_string_lossy().to_string();
        let url = "postgres://jaring@127.0.0.1:5999/postgres";
        let t = PgArgs::default().resolve(env(&[(URL_ENV, url), (PASSWORD_FILE_ENV, &path)]))?;
        assert_eq!(t, PgTarget { url: url.into(), password_file: Some(pw.path().to_path_buf()) });
        Ok(())
    }

    #[test]
    fn flags_win_over_the_variables() -> Result<()> {
        let pw = password_file()?;
        let args = PgArgs {
            pg_url: Some("postgres://bench@db.example:5432/jaring".into()),
            pg_password_file: Some(pw.path().to_path_buf()),
            ..PgArgs::default()
        };
        let t = args.resolve(env(&[
            (URL_ENV, "postgres://jaring@127.0.0.1:5999/postgres"),
            (PASSWORD_FILE_ENV, "/nonexistent/password"),
        ]))?;
        assert_eq!(t.url, "postgres://bench@db.example:5432/jaring");
        assert_eq!(t.password_file.as_deref(), Some(pw.path()));
        // Without a password file the nodes read $JARING_PG_PASSWORD.
        let args = PgArgs { pg_url: Some("postgres://bench@db.example/jaring".into()), ..PgArgs::default() };
        assert_eq!(args.resolve(env(&[]))?.password_file, None);
        Ok(())
    }

    #[test]
    fn a_password_in_the_url_or_an_unreadable_file_is_refused() {
        let args = PgArgs { pg_url: Some("postgres://jaring:hunter2@127.0.0.1/postgres".into()), ..PgArgs::default() };
        let err = args.resolve(env(&[])).err();
        assert!(matches!(err, Some(PgTargetError::Url { .. })), "{err:?}");
        let err = PgArgs::default()
            .resolve(env(&[
                (URL_ENV, "postgres://jaring@127.0.0.1/postgres"),
                (PASSWORD_FILE_ENV, "/nonexistent/password"),
            ]))
            .err();
        assert!(
            matches!(&err, Some(PgTargetError::PasswordFile { path, .. }) if path == Path::new("/nonexistent/password")),
            "{err:?}"
        );
    }

    #[test]
    fn ratios_are_postgres_over_fjall_for_rates_both_have() {
        let fjall =
            json!({"indicators_per_s": 1000.0, "seconds": 2.0, "scaling": {"x_per_s": 10.0}, "only_fjall_per_s": 1.0});
        let postgres =
            json!({"indicators_per_s": 600.0, "seconds": 3.0, "scaling": {"x_per_s": 5.0}, "zero_per_s": 0.0});
        let c = compare(fjall, postgres);
        assert_eq!(c["postgres_vs_fjall"], json!({"indicators_per_s": 0.6, "scaling.x_per_s": 0.5}));
        assert_eq!(c["fjall"]["seconds"], 2.0);
        assert_eq!(c["postgres"]["seconds"], 3.0);
    }

    #[test]
    fn rounds_report_the_median_ratio_and_the_median_round() {
        let round = |f: f64, p: f64, extra: f64| {
            compare(
                json!({"indicators_per_s": f, "seconds": 1.0, "b_per_s": 10.0}),
                json!({"indicators_per_s": p, "seconds": 2.0, "b_per_s": extra}),
            )
        };
        // Ratios 0.5, 0.3, 0.4: the median is the third round's 0.4.
        let r = median_round(vec![round(100.0, 50.0, 1.0), round(100.0, 30.0, 2.0), round(200.0, 80.0, 5.0)]);
        assert_eq!(r["rounds"], 3);
        assert_eq!(r["postgres_vs_fjall"]["indicators_per_s"], 0.4);
        assert_eq!(r["postgres_vs_fjall"]["b_per_s"], 0.2);
        assert_eq!(r["postgres_vs_fjall_by_round"]["indicators_per_s"], json!([0.5, 0.3, 0.4]));
        assert_eq!(r["fjall_by_round"]["indicators_per_s"], json!([100.0, 100.0, 200.0]));
        assert_eq!(r["postgres_by_round"]["b_per_s"], json!([1.0, 2.0, 5.0]));
        assert_eq!(r["fjall"]["indicators_per_s"], 200.0);
        assert_eq!(r["postgres"]["indicators_per_s"], 80.0);
        // An even count: the mean of the middle two; the lower one's figures.
        let r = median_round(vec![round(100.0, 50.0, 1.0), round(100.0, 30.0, 1.0)]);
        assert_eq!(r["postgres_vs_fjall"]["indicators_per_s"], 0.4);
        assert_eq!(r["postgres"]["indicators_per_s"], 30.0);
        // One round is the comparison as it is.
        let one = round(100.0, 50.0, 1.0);
        assert_eq!(median_round(vec![one.clone()]), one);
    }

    #[test]
    fn schema_names_are_valid_and_distinct() -> Result<()> {
        let run = PgRun::new(PgTarget { url: "postgres://u@h/d".into(), password_file: None }, 1, false);
        let (a, b) = (run.new_schema("ID"), run.new_schema("id-2"));
        assert_ne!(a, b);
        for s in [&a, &b] {
            assert!(jaring_node::store::postgres::schema::valid_schema_name(s), "{s}");
        }
        let dir = tempfile::tempdir()?;
        let mut config = jaring_node::init::init(&jaring_node::init::InitOptions {
            region: Some("VN".into()),
            ..jaring_node::init::InitOptions::loopback("VN", dir.path().join("vn"))
        })?;
        run.configure(&mut config, &dir.path().join("vn"))?;
        assert_eq!(config.store.engine, EngineKind::Postgres);
        assert_eq!(config.store.url.as_deref(), Some("postgres://u@h/d"));
        assert_eq!(config.store.schema, format!("bench_{}_3_vn", run.tag));
        assert_eq!(config.store.password_file, None);
        Ok(())
    }
}
