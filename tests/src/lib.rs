//! Test harness: real `jaring-node` processes and the real `jaring` CLI on
//! 127.0.0.1, each node in its own temporary directory.
//!
//! - [`TestNode`] and its [`Builder`]: a node directory and process; ports
//!   picked by the node and read back; `[limits]` overrides; metrics and
//!   memory of the process.
//! - [`https`]: requests to the node's HTTPS listener.
//! - [`forge`], [`fake_peer`]: envelopes signed as a peer would, and a fake
//!   publisher that serves whatever a test sets.
//! - [`inspect`]: what a refusal must leave alone, audited rejections,
//!   and an assertion that a refusal was audited, counted and harmless.
//! - [`proxy`]: a TCP proxy that can cut a link (partitions) or move it to
//!   another process (a virtual IP).
//! - [`fork`]: rewriting a stopped node's log, for witnesses to catch.
//! - [`pg`]: nodes on the test PostgreSQL server, replicas of it.
//!
//! ```ignore
//! let id = TestNode::builder("ID").region("ID").start()?;
//! id.cli(&["indicator", "add", "--kind", "domain", ...])?;
//! assert_eventually!(Duration::from_secs(10), id.lookup_found("x.co.id")?);
//! ```

pub mod fake_peer;
pub mod forge;
pub mod fork;
pub mod https;
pub mod inspect;
pub mod pg;
pub mod proxy;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::Value;

/// Retries a condition until it holds or the patience runs out.
#[macro_export]
macro_rules! assert_eventually {
    ($patience:expr, $cond:expr) => {
        $crate::assert_eventually!($patience, $cond, stringify!($cond))
    };
    ($patience:expr, $cond:expr, $($msg:tt)+) => {{
        let deadline = std::time::Instant::now() + $patience;
        loop {
            let ok: bool = $cond;
            if ok {
                break;
            }
            if std::time::Instant::now() > deadline {
                panic!("not true within {:?}: {}", $patience, format!($($msg)+));
            }
            std::thread::sleep(std::time::Duration::from_millis(25));
        }
    }};
}

/// A small xorshift generator for randomized tests; print the seed so a
/// failure can be replayed.
#[derive(Debug)]
pub struct Rng(pub u64);

impl Rng {
    /// A generator seeded from `JARING_TEST_SEED` if set (to replay a
    /// failure), else from the clock (never zero).
    pub fn from_clock() -> Rng {
        if let Some(seed) = std::env::var("JARING_TEST_SEED").ok().and_then(|s| s.parse::<u64>().ok()) {
            return Rng(seed | 1);
        }
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos());
        Rng(nanos as u64 | 1)
    }

    /// The next value.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A value in `lo..hi`.
    pub fn between(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo)
    }
}

/// Adds a GREEN job-scam domain through the CLI of the node in `dir`;
/// whether the node acknowledged it.
pub fn cli_add_domain(dir: &Path, value: &str) -> bool {
    Command::new(bin("jaring"))
        .arg("--node")
        .arg(dir)
        .args(["indicator", "add", "--kind", "domain", "--value", value, "--category", "job_scam", "--tlp", "green"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Path of a workspace binary next to the running test.
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    // target/<profile>/deps/<test>-<hash>
    let dir = exe.parent().and_then(Path::parent).map(Path::to_path_buf).unwrap_or_default();
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} not built; run `cargo test --workspace` (or `cargo build --workspace --bins`)",
        path.display()
    );
    path
}

/// A loopback port no other caller in this process has been given, free
/// when handed out (bound to `:0`, then released). For listeners the test
/// binds itself, or a node that must know its port before it starts; a node
/// started with [`Builder::start`] picks its own ports instead and the
/// harness reads them back, so nothing can take them in between.
pub fn free_port() -> u16 {
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut given = GIVEN.lock().unwrap_or_else(|p| p.into_inner());
    loop {
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).unwrap_or(0);
        if port != 0 && !given.contains(&port) {
            given.push(port);
            return port;
        }
    }
}

/// Peak and current resident memory of a process, KiB.
pub fn rss_kib(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
    };
    Some((field("VmHWM:")?, field("VmRSS:")?))
}

/// Builder for a [`TestNode`].
#[derive(Debug)]
pub struct Builder {
    id: String,
    region: Option<String>,
    federation_key: Option<PathBuf>,
    extra: Vec<String>,
    http: bool,
    limits: Vec<(String, String)>,
}

impl Builder {
    /// National region for phone numbers.
    pub fn region(mut self, r: &str) -> Self {
        self.region = Some(r.into());
        self
    }

    /// Shares the federation key of another node.
    pub fn federation_key_of(mut self, other: &TestNode) -> Self {
        self.federation_key = Some(other.dir().join("keys/federation-1.key"));
        self
    }

    /// Extra `jaring init` arguments.
    pub fn init_args(mut self, args: &[&str]) -> Self {
        self.extra.extend(args.iter().map(|s| s.to_string()));
        self
    }

    /// Serves the HTTPS listener (TAXII, `/metrics`, the HTTP API); its
    /// port is [`TestNode::http_port`].
    pub fn http(mut self) -> Self {
        self.http = true;
        self
    }

    /// Sets `[limits] key = value` (value as TOML, e.g. `"4"`).
    pub fn limit(mut self, key: &str, value: &str) -> Self {
        self.limits.push((key.into(), value.into()));
        self
    }

    /// Initializes the directory without starting the node, with ports
    /// reserved by [`free_port`] (its identity card names them).
    ///
    /// # Errors
    ///
    /// `jaring init` failed.
    pub fn init(self) -> Result<TestNode> {
        let ports = (free_port(), free_port(), self.http.then(free_port));
        self.init_on(ports)
    }

    fn init_on(self, (fed_port, admin_port, http_port): (u16, u16, Option<u16>)) -> Result<TestNode> {
        let temp = tempfile::Builder::new().prefix(&format!("jaring-{}-", self.id)).tempdir()?;
        let dir = temp.path().join("node");
        let mut args: Vec<String> = vec![
            "init".into(),
            "--node-id".into(),
            self.id.clone(),
            "--dir".into(),
            dir.display().to_string(),
            "--listen".into(),
            format!("127.0.0.1:{fed_port}"),
            "--admin".into(),
            format!("127.0.0.1:{admin_port}"),
        ];
        if let Some(r) = &self.region {
            args.extend(["--region".into(), r.clone()]);
        }
        if let Some(k) = &self.federation_key {
            args.extend(["--federation-key".into(), k.display().to_string()]);
        }
        if let Some(port) = http_port {
            args.extend(["--http".into(), format!("127.0.0.1:{port}")]);
        }
        args.extend(self.extra);
        let out = Command::new(bin("jaring")).args(&args).output()?;
        if !out.status.success() {
            bail!("jaring init failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        let node =
            TestNode { id: self.id, _temp: temp, dir, admin_port, fed_port, http_port, child: None, open_files: None };
        for (key, value) in &self.limits {
            node.set_config("limits", key, value)?;
        }
        Ok(node)
    }

    /// Initializes and starts the node, waiting until its admin API answers.
    /// The node picks its own free ports (port 0); they are read back and
    /// kept for restarts.
    ///
    /// # Errors
    ///
    /// Init or start failed.
    pub fn start(self) -> Result<TestNode> {
        let http = self.http.then_some(0);
        let mut n = self.init_on((0, 0, http))?;
        n.start()?;
        Ok(n)
    }
}

/// A node directory and, while running, its `jaring-node` process.
#[derive(Debug)]
pub struct TestNode {
    /// Node id.
    pub id: String,
    _temp: tempfile::TempDir,
    dir: PathBuf,
    pub admin_port: u16,
    /// Federation port.
    pub fed_port: u16,
    /// HTTPS port, with [`Builder::http`].
    pub http_port: Option<u16>,
    child: Option<Child>,
    /// `ulimit -n` for the node process, when set.
    open_files: Option<u64>,
}

impl TestNode {
    /// A builder for node `id`.
    pub fn builder(id: &str) -> Builder {
        Builder { id: id.into(), region: None, federation_key: None, extra: vec![], http: false, limits: vec![] }
    }

    /// The node directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Starts `jaring-node` and waits for the admin API.
    ///
    /// # Errors
    ///
    /// The process exits or never answers.
    pub fn start(&mut self) -> Result<()> {
        // 0600 like every file in a node directory.
        let log = std::os::unix::fs::OpenOptionsExt::mode(std::fs::OpenOptions::new().create(true).append(true), 0o600)
            .open(self.dir.join("node.log"))?;
        // With an open-files limit the node starts under `sh -c 'ulimit -n N; exec ...'`.
        let mut command = match self.open_files {
            Some(n) => {
                let mut c = Command::new("sh");
                c.arg("-c").arg(format!("ulimit -n {n} && exec \"$0\" \"$@\"")).arg(bin("jaring-node"));
                c
            }
            None => Command::new(bin("jaring-node")),
        };
        let child = command
            .arg("--config")
            .arg(self.dir.join("node.toml"))
            .arg("--log-level")
            .arg("info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        let picks_ports = self.admin_port == 0;
        let _ = std::fs::remove_file(self.dir.join("listen.json"));
        loop {
            if let Some(c) = self.child.as_mut()
                && let Some(status) = c.try_wait()?
            {
                bail!("jaring-node {} exited with {status}: {}", self.id, self.log());
            }
            if picks_ports && let Some(bound) = self.read_bound() {
                // Keep the ports the node picked: a restart must answer where
                // its peers' copies of its identity card say it does.
                self.admin_port = bound.0;
                self.fed_port = bound.1;
                self.http_port = bound.2;
                self.set_config("admin", "listen", &format!("\"127.0.0.1:{}\"", bound.0))?;
                self.set_config("federation", "listen", &format!("\"127.0.0.1:{}\"", bound.1))?;
                if let Some(h) = bound.2 {
                    self.set_config("http", "listen", &format!("\"127.0.0.1:{h}\""))?;
                }
            }
            if self.admin_port != 0
                && std::net::TcpStream::connect(("127.0.0.1", self.admin_port)).is_ok()
                && self.cli(&["status"]).is_ok()
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("jaring-node {} did not answer in 20 s: {}", self.id, self.log());
            }
            std::thread::sleep(Duration::from_millis(30));
        }
    }

    /// The ports a started node recorded in `listen.json`: admin,
    /// federation, HTTPS.
    fn read_bound(&self) -> Option<(u16, u16, Option<u16>)> {
        let text = std::fs::read_to_string(self.dir.join("listen.json")).ok()?;
        let v: Value = serde_json::from_str(&text).ok()?;
        let port = |k: &str| v[k].as_str()?.rsplit_once(':')?.1.parse::<u16>().ok();
        Some((port("admin")?, port("federation")?, port("http")))
    }

    /// A second process of this node (same identity, keys, TLS and tokens,
    /// its own ports), for a store several processes share: the directory
    /// is copied without the embedded store, the log and `listen.json`.
    ///
    /// # Errors
    ///
    /// The copy failed.
    pub fn second_process(&self) -> Result<TestNode> {
        let temp = tempfile::Builder::new().prefix(&format!("jaring-{}-b-", self.id)).tempdir()?;
        let dir = temp.path().join("node");
        copy_tree(&self.dir, &dir)?;
        let node = TestNode {
            id: self.id.clone(),
            _temp: temp,
            dir,
            admin_port: 0,
            fed_port: 0,
            http_port: self.http_port.map(|_| 0),
            child: None,
            open_files: None,
        };
        node.set_config("admin", "listen", "\"127.0.0.1:0\"")?;
        node.set_config("federation", "listen", "\"127.0.0.1:0\"")?;
        if node.http_port.is_some() {
            node.set_config("http", "listen", "\"127.0.0.1:0\"")?;
        }
        Ok(node)
    }

    /// Sets `[section] key = value` (value as TOML) in the node's config;
    /// it applies when the node next starts.
    ///
    /// # Errors
    ///
    /// The config cannot be read or written.
    pub fn set_config(&self, section: &str, key: &str, value: &str) -> Result<()> {
        let path = self.dir.join("node.toml");
        let mut table: toml::Table = std::fs::read_to_string(&path)?.parse()?;
        let value: toml::Value = format!("v = {value}").parse::<toml::Table>()?.remove("v").context("a TOML value")?;
        let entry = table.entry(section.to_string()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
        let toml::Value::Table(section) = entry else { bail!("[{section}] is not a table in {}", path.display()) };
        section.insert(key.to_string(), value);
        std::fs::write(&path, toml::to_string(&table)?)?;
        Ok(())
    }

    /// Peak and current resident memory of the running node, KiB.
    pub fn rss_kib(&self) -> Option<(u64, u64)> {
        rss_kib(self.pid()?)
    }

    /// Starts the node under this open-files limit (`ulimit -n`, soft and
    /// hard) from now on.
    pub fn set_open_files_limit(&mut self, n: u64) {
        self.open_files = Some(n);
    }

    /// Process id of the running node (to send it signals).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The node's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("node.log")).unwrap_or_default()
    }

    /// SIGKILL: no chance to flush anything.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM and wait for a clean exit.
    ///
    /// # Errors
    ///
    /// The node did not exit cleanly in 20 s.
    pub fn stop(&mut self) -> Result<()> {
        let Some(mut c) = self.child.take() else { return Ok(()) };
        let _ = Command::new("kill").arg("-TERM").arg(c.id().to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = c.try_wait()? {
                if !status.success() {
                    bail!("jaring-node {} exited with {status}: {}", self.id, self.log());
                }
                return Ok(());
            }
            if Instant::now() > deadline {
                let _ = c.kill();
                bail!("jaring-node {} ignored SIGTERM", self.id);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Runs `jaring --node DIR ARGS`.
    ///
    /// # Errors
    ///
    /// The process could not run.
    pub fn cli_output(&self, args: &[&str]) -> Result<Output> {
        Ok(Command::new(bin("jaring")).arg("--node").arg(&self.dir).args(args).stdin(Stdio::null()).output()?)
    }

    /// Runs the CLI and requires success; returns stdout.
    ///
    /// # Errors
    ///
    /// Non-zero exit (with stderr in the message).
    pub fn cli(&self, args: &[&str]) -> Result<String> {
        let out = self.cli_output(args)?;
        if !out.status.success() {
            bail!("jaring {args:?} failed: {}", String::from_utf8_lossy(&out.stderr).trim());
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Makes an API token with `jaring token create NAME ARGS`; its secret.
    ///
    /// # Errors
    ///
    /// The command failed, or printed something that is not a token.
    pub fn create_token(&self, name: &str, args: &[&str]) -> Result<String> {
        let mut all = vec!["token", "create", name];
        all.extend_from_slice(args);
        let secret = self.cli(&all)?.trim().to_string();
        if !secret.starts_with("jrt_") {
            bail!("not a token: {secret}");
        }
        Ok(secret)
    }

    /// Runs the CLI with `--json` and parses stdout.
    ///
    /// # Errors
    ///
    /// Non-zero exit or bad JSON.
    pub fn cli_json(&self, args: &[&str]) -> Result<Value> {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let text = self.cli(&all)?;
        serde_json::from_str(&text).with_context(|| format!("jaring {args:?} printed non-JSON: {text}"))
    }

    /// `lookup --json` for one value; whether it was found.
    ///
    /// # Errors
    ///
    /// CLI failure.
    pub fn lookup_found(&self, value: &str) -> Result<bool> {
        Ok(self.cli_json(&["lookup", value])?["found"].as_bool().unwrap_or(false))
    }

    /// Origins reported in the merged view of a value.
    ///
    /// # Errors
    ///
    /// CLI failure.
    pub fn origins_of(&self, value: &str, kind: &str) -> Result<Vec<String>> {
        let v = self.cli_json(&["lookup", "--kind", kind, value])?;
        let mut out = Vec::new();
        for view in v["views"].as_array().into_iter().flatten() {
            for a in view["assertions"].as_array().into_iter().flatten() {
                out.push(a["origin"].as_str().unwrap_or("").to_string());
            }
        }
        Ok(out)
    }

    /// The identity card path.
    pub fn identity(&self) -> PathBuf {
        self.dir.join("identity.json")
    }

    /// Adds `other` as a peer with extra `peer add` flags.
    ///
    /// # Errors
    ///
    /// CLI failure.
    pub fn add_peer(&self, other: &TestNode, flags: &[&str]) -> Result<()> {
        let id = other.identity();
        let mut args = vec!["peer", "add", "--identity", id.to_str().unwrap_or("")];
        args.extend_from_slice(flags);
        self.cli(&args).map(|_| ())
    }

    /// Adds a domain indicator.
    ///
    /// # Errors
    ///
    /// CLI failure.
    pub fn add_domain(&self, domain: &str, tlp: &str) -> Result<Value> {
        self.cli_json(&[
            "indicator",
            "add",
            "--kind",
            "domain",
            "--value",
            domain,
            "--category",
            "job_scam",
            "--tlp",
            tlp,
            "--confidence",
            "80",
        ])
    }
}

/// Copies a node directory, private modes kept, without the embedded
/// store, the log and the recorded ports.
fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(to)?;
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o700))?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let name = entry.file_name();
        if ["db", "node.log", "listen.json"].iter().any(|n| name == std::ffi::OsStr::new(n)) {
            continue;
        }
        let (src, dst) = (entry.path(), to.join(&name));
        if entry.file_type()?.is_dir() {
            copy_tree(&src, &dst)?;
        } else {
            std::fs::copy(&src, &dst)?;
        }
    }
    Ok(())
}

impl Drop for TestNode {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Peers two nodes both ways, trusted, with extra flags for each direction.
///
/// # Errors
///
/// CLI failure.
pub fn link(a: &TestNode, b: &TestNode, a_flags: &[&str], b_flags: &[&str]) -> Result<()> {
    let mut fa = vec!["--trust", "trusted"];
    fa.extend_from_slice(a_flags);
    let mut fb = vec!["--trust", "trusted"];
    fb.extend_from_slice(b_flags);
    a.add_peer(b, &fa)?;
    b.add_peer(a, &fb)
}
