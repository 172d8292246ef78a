//! Nodes on the test PostgreSQL server that `.ci/postgres.sh start`
//! runs (it exports `JARING_TEST_PG_URL`, `JARING_TEST_PG_PASSWORD_FILE`,
//! `JARING_TEST_PG_DIR` and `JARING_TEST_PG_SCRIPT`). Tests that need it
//! fail with a message saying so when it is absent; they never skip.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::TestNode;

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: this test needs PostgreSQL. Start the test server with \
             `.ci/postgres.sh run cargo test ...` (or `eval \"$(.ci/postgres.sh start)\"`: initdb into a temporary directory on a free port) \
             and run the tests from that shell"
        )
    })
}

/// The server's URL (no password).
pub fn url() -> String {
    var("JARING_TEST_PG_URL")
}

/// The file holding its password.
pub fn password_file() -> PathBuf {
    PathBuf::from(var("JARING_TEST_PG_PASSWORD_FILE"))
}

/// A schema name no other test uses.
pub fn fresh_schema(tag: &str) -> String {
    let mut rng = crate::Rng::from_clock();
    format!("{tag}_{:010x}", rng.next_u64() & 0xff_ffff_ffff)
}

/// Points a node (not running) at the test server, in `schema`, with the
/// password file copied into the node directory (0600), as an operator
/// would keep it.
///
/// # Errors
///
/// The config or the password file cannot be written.
pub fn use_postgres(node: &TestNode, schema: &str) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let pw = node.dir().join("db-password");
    std::fs::copy(password_file(), &pw).context("copying the test server's password file")?;
    std::fs::set_permissions(&pw, std::fs::Permissions::from_mode(0o600))?;
    node.set_config("store", "engine", "\"postgres\"")?;
    node.set_config("store", "url", &format!("{:?}", url()))?;
    node.set_config("store", "password_file", "\"db-password\"")?;
    node.set_config("store", "schema", &format!("{schema:?}"))
}

/// A streaming replica of the test server (pg_basebackup), stopped on drop.
#[derive(Debug)]
pub struct Replica {
    /// Its port on 127.0.0.1.
    pub port: u16,
    dir: tempfile::TempDir,
}

impl Replica {
    /// Makes and starts one.
    ///
    /// # Errors
    ///
    /// The script failed (its stderr is in the message).
    pub fn start() -> Result<Replica> {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::Builder::new().prefix("jaring-pg-replica-").tempdir()?;
        // The server runs as its own user, which must reach the data.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))?;
        let out = Command::new(var("JARING_TEST_PG_SCRIPT"))
            .args(["replica", &var("JARING_TEST_PG_DIR")])
            .arg(dir.path().join("r"))
            .output()?;
        if !out.status.success() {
            bail!("making a replica failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        let port = String::from_utf8_lossy(&out.stdout).trim().parse().context("the replica's port")?;
        Ok(Replica { port, dir })
    }

    /// Its URL (same user and database as the primary).
    pub fn url(&self) -> String {
        let primary = url();
        let (head, tail) = primary.rsplit_once('@').unwrap_or(("postgres://jaring", &primary));
        let db = tail.split_once('/').map_or("postgres", |(_, d)| d);
        format!("{head}@127.0.0.1:{}/{db}", self.port)
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = Command::new(var("JARING_TEST_PG_SCRIPT")).arg("stop-dir").arg(self.dir.path().join("r")).output();
    }
}
