//! A fleet of real nodes on loopback, for `jaring demo` and `jaring bench`:
//! each node is this program's hidden `node-run` command (the same code as
//! `jaring-node`) in its own directory, on ports it picks itself and records
//! (`listen.json`), so nothing can take a port between choosing and binding
//! it. Dropping a [`FleetNode`] stops its process.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use jaring_node::init::{InitOptions, init};
use jaring_node::model::Tlp;
use jaring_node::store::EngineKind;
use jaring_node::wire::WireEnum;
use jaring_proto::pb;

use crate::client::{Client, Target, status_error};

/// How to start one node.
#[derive(Debug, Clone)]
pub struct NodeSpec<'a> {
    /// Node id.
    pub id: &'a str,
    /// Region for national phone numbers.
    pub region: &'a str,
    /// A federation key file to share (the first node makes one).
    pub federation_key: Option<&'a Path>,
    /// Store engine.
    pub engine: EngineKind,
    /// The node's log filter.
    pub log_level: &'a str,
    /// Whether it serves the HTTPS listener.
    pub http: bool,
}

/// A running node of the fleet.
#[derive(Debug)]
pub struct FleetNode {
    /// Node id.
    pub id: String,
    /// Its directory.
    pub dir: PathBuf,
    /// Its process.
    pub child: Child,
    /// An admin client.
    pub client: Client,
}

impl FleetNode {
    /// Its federation key file (for the next node to share).
    pub fn federation_key(&self) -> PathBuf {
        self.dir.join("keys").join("federation-1.key")
    }

    /// Its identity card.
    ///
    /// # Errors
    ///
    /// The card cannot be read.
    pub fn card(&self) -> Result<String> {
        let path = self.dir.join("identity.json");
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))
    }

    /// The addresses it listens on (recorded when it started).
    ///
    /// # Errors
    ///
    /// The node has not recorded them.
    pub fn bound(&self) -> Result<jaring_node::config::Bound> {
        jaring_node::config::Bound::read(&self.dir).with_context(|| format!("{}: listen.json", self.dir.display()))
    }

    /// Peak resident memory of its process, MiB.
    pub fn peak_rss_mib(&self) -> f64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("VmHWM:"))
                    .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
            })
            .map_or(0.0, |kib| kib / 1024.0)
    }

    /// SIGTERM, then waits for the process.
    pub fn stop(&mut self) {
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let _ = self.child.wait();
    }

    /// Makes `to` a trusted peer of this node, sharing up to GREEN; with
    /// `relay` this node forwards other origins' indicators to it; with
    /// `member_only` only its keys are trusted (on relayed indicators) and no
    /// connection is made.
    ///
    /// # Errors
    ///
    /// The node refused.
    pub async fn peer(&mut self, to: &FleetNode, relay: bool, member_only: bool) -> Result<()> {
        self.peer_card(to.card()?, relay, member_only).await
    }

    /// [`Self::peer`] with the peer's identity card.
    ///
    /// # Errors
    ///
    /// The node refused.
    pub async fn peer_card(&mut self, identity_json: String, relay: bool, member_only: bool) -> Result<()> {
        self.client
            .add_peer(pb::AddPeerRequest {
                identity_json,
                trust: pb::Trust::Trusted as i32,
                member_only,
                outbound: Some(pb::OutboundAgreement { max_tlp: Tlp::Green.to_wire(), relay, ..Default::default() }),
                inbound: Some(pb::InboundAgreement::default()),
                endpoint: String::new(),
            })
            .await
            .map_err(status_error)?;
        Ok(())
    }
}

impl Drop for FleetNode {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts a node in `base/<id>` (made with `jaring init` the first time;
/// an existing directory is started as it is) and waits for its admin API.
///
/// # Errors
///
/// Init failed, or the node did not answer within 30 s.
pub async fn start(base: &Path, spec: &NodeSpec<'_>) -> Result<FleetNode> {
    start_with(base, spec, |_, _| Ok(())).await
}

/// [`start`], with `configure` changing a new node's configuration (given
/// its directory) before it is written and the node first starts.
///
/// # Errors
///
/// Init or `configure` failed, or the node did not answer within 30 s.
pub async fn start_with<F>(base: &Path, spec: &NodeSpec<'_>, configure: F) -> Result<FleetNode>
where
    F: FnOnce(&mut jaring_node::config::Config, &Path) -> Result<()>,
{
    let dir = base.join(spec.id.to_ascii_lowercase());
    if !dir.join("node.toml").exists() {
        let mut config = init(&InitOptions {
            region: Some(spec.region.into()),
            http: spec.http.then(|| "127.0.0.1:0".to_string()),
            federation_key: spec.federation_key.map(Path::to_path_buf),
            ..InitOptions::loopback(spec.id, dir.clone())
        })?;
        config.store.engine = spec.engine;
        configure(&mut config, &dir)?;
        std::fs::write(dir.join("node.toml"), config.to_toml())?;
    }
    let log = std::fs::File::create(dir.join("node.log"))?;
    let bin = std::env::current_exe().context("finding this program to start nodes with")?;
    let _ = std::fs::remove_file(dir.join(jaring_node::config::LISTEN_FILE));
    let child = Command::new(&bin)
        .arg("node-run")
        .arg("--config")
        .arg(dir.join("node.toml"))
        .arg("--log-level")
        .arg(spec.log_level)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    let mut node = Started { child: Some(child) };
    let target = Target { node: Some(dir.clone()), ..Target::default() };
    let deadline = Instant::now() + Duration::from_secs(30);
    let client = loop {
        if let Ok(mut c) = target.connect().await
            && c.status(pb::StatusRequest {}).await.is_ok()
        {
            break c;
        }
        if node.exited() || Instant::now() > deadline {
            bail!(
                "node {} did not start: {}",
                spec.id,
                std::fs::read_to_string(dir.join("node.log")).unwrap_or_default()
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let child = node.child.take().context("the node's process")?;
    Ok(FleetNode { id: spec.id.into(), dir, child, client })
}

/// A process being started: killed if starting fails.
struct Started {
    child: Option<Child>,
}

impl Started {
    fn exited(&mut self) -> bool {
        self.child.as_mut().is_none_or(|c| c.try_wait().ok().flatten().is_some())
    }
}

impl Drop for Started {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
