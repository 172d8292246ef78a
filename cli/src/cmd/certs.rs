//! `jaring certs ca|issue|renew|show`: development certificates (rcgen,
//! through `jaring-certs`) for a federation on one machine or a test bed.
//! Production ministries bring their own PKI; see certs/README.md.
//!
//! Offline: these commands only read and write files.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use jaring_certs::{CA_CERT_FILE, CA_KEY_FILE, DevCa, NODE_CERT_FILE, NODE_KEY_FILE, Validity};
use jaring_node::config::Config;
use serde::Serialize;

use crate::client::Target;
use crate::output::{Output, time};

/// Dev certificate commands.
#[derive(Debug, Subcommand)]
pub enum CertsCmd {
    /// Make a new dev CA (ca.pem, ca.key 0600) in --out.
    #[command(after_help = "Example:\n  jaring certs ca --node-id VN --out ./pki/vn")]
    Ca {
        /// Node the CA belongs to (goes into its name).
        #[arg(long)]
        node_id: String,
        /// Directory to write ca.pem and ca.key into (created).
        #[arg(long)]
        out: PathBuf,
        /// Overwrite an existing CA there.
        #[arg(long)]
        force: bool,
    },
    /// Issue a node certificate from the CA in --ca-dir: writes node.pem (the
    /// chain), node.key (0600) and a copy of ca.pem into --out.
    #[command(
        after_help = "Example:\n  jaring certs issue --ca-dir ./pki/vn --node-id VN --out ./vn-node/tls --days 90\n\n\
                            The certificate names <node-id>.jaring.local, localhost, 127.0.0.1 and every --host."
    )]
    Issue {
        /// Directory holding ca.pem and ca.key.
        #[arg(long)]
        ca_dir: PathBuf,
        /// The node the certificate is for.
        #[arg(long)]
        node_id: String,
        /// Directory to write node.pem, node.key and ca.pem into (created).
        #[arg(long)]
        out: PathBuf,
        /// Validity in days.
        #[arg(long, default_value_t = 365)]
        days: u32,
        /// Extra host names or IPs to name (repeatable).
        #[arg(long = "host")]
        hosts: Vec<String>,
    },
    /// Re-issue a node's certificate in place from its own dev CA
    /// (DIR/tls/ca.key), keeping the CA; with --reload the running node
    /// switches to it at once (else run `jaring tls reload` or send SIGHUP).
    #[command(after_help = "Example:\n  jaring --node ./id-node certs renew --days 365 --reload")]
    Renew {
        /// Validity in days.
        #[arg(long, default_value_t = 365)]
        days: u32,
        /// Extra host names or IPs to name (repeatable); the listen and
        /// endpoint hosts from node.toml are always named.
        #[arg(long = "host")]
        hosts: Vec<String>,
        /// Ask the running node to reload its TLS material afterwards.
        #[arg(long)]
        reload: bool,
    },
    /// Expiry of a node's certificate and CA.
    #[command(after_help = "Example:\n  jaring --node ./id-node certs show")]
    Show,
}

#[derive(Serialize)]
struct Written {
    files: Vec<PathBuf>,
    not_after_ms: Option<i64>,
    reloaded: bool,
}

#[derive(Serialize)]
struct Shown {
    file: PathBuf,
    not_after_ms: Option<i64>,
    days_left: Option<i64>,
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

fn load_ca(dir: &Path) -> Result<DevCa> {
    let (cert, key) = (dir.join(CA_CERT_FILE), dir.join(CA_KEY_FILE));
    if !key.exists() {
        bail!(
            "{}: no CA key here (make one with `jaring certs ca --node-id ID --out {}`; \
             a ministry CA's key stays in its own PKI)",
            key.display(),
            dir.display()
        );
    }
    DevCa::from_pem(&read(&cert)?, &read(&key)?).with_context(|| format!("loading the CA in {}", dir.display()))
}

/// Writes the node certificate and key next to each other, each through a
/// temporary file and a rename, so a reload never sees half a file.
fn write_node_cert(out: &Path, cert: &jaring_certs::NodeCert, ca_pem: &str) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let key = out.join(NODE_KEY_FILE);
    let chain = out.join(NODE_CERT_FILE);
    let ca = out.join(CA_CERT_FILE);
    let key_tmp = out.join(format!(".{NODE_KEY_FILE}.new"));
    let chain_tmp = out.join(format!(".{NODE_CERT_FILE}.new"));
    jaring_certs::write_pem_secret(&key_tmp, &cert.key_pem)?;
    std::fs::write(&chain_tmp, &cert.chain_pem).with_context(|| format!("writing {}", chain_tmp.display()))?;
    std::fs::rename(&key_tmp, &key).with_context(|| format!("writing {}", key.display()))?;
    std::fs::rename(&chain_tmp, &chain).with_context(|| format!("writing {}", chain.display()))?;
    if read(&ca).ok().as_deref() != Some(ca_pem) {
        std::fs::write(&ca, ca_pem).with_context(|| format!("writing {}", ca.display()))?;
    }
    Ok(vec![chain, key, ca])
}

fn host_of(addr: &str) -> Option<String> {
    let (host, _) = addr.rsplit_once(':')?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    (!host.is_empty() && host != "0.0.0.0" && host != "::").then(|| host.to_string())
}

fn node_dir(target: &Target) -> Result<(PathBuf, Config)> {
    let Some(dir) = &target.node else { bail!("say which node: --node DIR") };
    let config = Config::load(&dir.join("node.toml")).context("reading the node's config")?;
    Ok((dir.clone(), config))
}

/// Runs a certs command.
///
/// # Errors
///
/// Missing CA, unwritable files, bad node id.
pub async fn run(cmd: CertsCmd, target: &Target, out: &Output) -> Result<()> {
    let written = match cmd {
        CertsCmd::Ca { node_id, out: dir, force } => {
            if dir.join(CA_KEY_FILE).exists() && !force {
                bail!("{}: a CA is already there (use --force to replace it)", dir.join(CA_KEY_FILE).display());
            }
            let ca = DevCa::generate(&node_id)?;
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            std::fs::write(dir.join(CA_CERT_FILE), &ca.cert_pem)
                .with_context(|| format!("writing {}", dir.join(CA_CERT_FILE).display()))?;
            jaring_certs::write_pem_secret(dir.join(CA_KEY_FILE), &ca.key_pem)?;
            Written {
                files: vec![dir.join(CA_CERT_FILE), dir.join(CA_KEY_FILE)],
                not_after_ms: jaring_node::node::pem_not_after(&ca.cert_pem),
                reloaded: false,
            }
        }
        CertsCmd::Issue { ca_dir, node_id, out: dir, days, hosts } => {
            if days == 0 {
                bail!("--days must be at least 1");
            }
            let ca = load_ca(&ca_dir)?;
            let cert = ca.issue_node_cert(&node_id, &hosts, Validity::days(days))?;
            let files = write_node_cert(&dir, &cert, &ca.cert_pem)?;
            Written { files, not_after_ms: jaring_node::node::pem_not_after(&cert.chain_pem), reloaded: false }
        }
        CertsCmd::Renew { days, hosts, reload } => {
            if days == 0 {
                bail!("--days must be at least 1");
            }
            let (_, config) = node_dir(target)?;
            let tls = config.resolve(&config.paths.tls);
            let ca = load_ca(&tls)?;
            let mut all = hosts;
            for h in [host_of(&config.federation.listen), host_of(config.federation_endpoint())].into_iter().flatten() {
                if !all.contains(&h) {
                    all.push(h);
                }
            }
            let cert = ca.issue_node_cert(&config.node_id, &all, Validity::days(days))?;
            let files = write_node_cert(&tls, &cert, &ca.cert_pem)?;
            let mut reloaded = false;
            if reload {
                let mut client = target.connect().await?;
                client
                    .reload_tls(jaring_proto::pb::ReloadTlsRequest {})
                    .await
                    .map_err(crate::client::status_error)
                    .context("the new certificate is on disk, but the node did not reload it")?;
                reloaded = true;
            }
            Written { files, not_after_ms: jaring_node::node::pem_not_after(&cert.chain_pem), reloaded }
        }
        CertsCmd::Show => {
            let (_, config) = node_dir(target)?;
            let files = config.tls_files();
            let now = jaring_node::model::now_ms();
            let shown: Vec<Shown> = [files.cert, files.ca]
                .into_iter()
                .map(|file| {
                    let not_after_ms = read(&file).ok().and_then(|p| jaring_node::node::pem_not_after(&p));
                    Shown { days_left: not_after_ms.map(|t| (t - now) / 86_400_000), not_after_ms, file }
                })
                .collect();
            if out.json {
                out.json(&shown);
            } else {
                for s in &shown {
                    match s.not_after_ms {
                        Some(t) => println!(
                            "{}  expires {} ({} days){}",
                            s.file.display(),
                            time(t),
                            s.days_left.unwrap_or(0),
                            if t - now < jaring_node::node::CERT_WARNING_MS { "  WARNING: renew soon" } else { "" }
                        ),
                        None => println!("{}  unreadable", s.file.display()),
                    }
                }
            }
            return Ok(());
        }
    };
    if out.json {
        out.json(&written);
    } else {
        for f in &written.files {
            println!("wrote {}", f.display());
        }
        if let Some(t) = written.not_after_ms {
            println!("valid until {}", time(t));
        }
        if written.reloaded {
            println!("the node reloaded it; new connections use it");
        }
    }
    Ok(())
}
