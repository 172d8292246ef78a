//! `jaring init`.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use jaring_node::init::{InitOptions, init};

use crate::output::Output;

/// Create a node directory.
#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  jaring init --node-id ID --dir ./id-node --region ID --listen 127.0.0.1:7700 --admin 127.0.0.1:7701"
)]
pub struct InitArgs {
    /// Short stable node name, e.g. ID, VN, id-kominfo.
    #[arg(long)]
    node_id: String,
    /// Directory to create.
    #[arg(long)]
    dir: PathBuf,
    /// ISO 3166-1 alpha-2 region for national phone numbers, e.g. ID.
    #[arg(long)]
    region: Option<String>,
    /// Federation listen address.
    #[arg(long, default_value = "127.0.0.1:7700")]
    listen: String,
    /// Admin API listen address (loopback; TLS with the node's certificate).
    #[arg(long, default_value = "127.0.0.1:7701")]
    admin: String,
    /// Allow a non-loopback --admin address (the admin API on the network, over TLS).
    #[arg(long)]
    admin_remote: bool,
    /// HTTPS listen address for TAXII, metrics and health.
    #[arg(long)]
    http: Option<String>,
    /// Federation endpoint written into the identity card (default: --listen).
    #[arg(long)]
    endpoint: Option<String>,
    /// Extra DNS names or IPs for the node's TLS certificate.
    #[arg(long = "tls-host")]
    tls_hosts: Vec<String>,
    /// Use the federation's shared key file (keyed hashes of personal data)
    /// instead of making a new one; every member must hold the same key.
    #[arg(long)]
    federation_key: Option<PathBuf>,
    /// Epoch of the federation key.
    #[arg(long, default_value_t = 1)]
    federation_key_epoch: u32,
    /// Treat phone numbers as personal data (shared only as keyed hashes).
    #[arg(long)]
    hash_phone: bool,
}

/// Runs `jaring init`.
///
/// # Errors
///
/// Bad options or unwritable directory.
pub fn run(a: InitArgs, out: &Output) -> Result<()> {
    let config = init(&InitOptions {
        node_id: a.node_id,
        dir: a.dir.clone(),
        region: a.region,
        listen: a.listen,
        admin: a.admin,
        http: a.http,
        endpoint: a.endpoint,
        tls_hosts: a.tls_hosts,
        federation_key: a.federation_key,
        federation_key_epoch: a.federation_key_epoch,
        hash_phone: a.hash_phone,
        admin_remote: a.admin_remote,
    })?;
    if out.json {
        out.json(&serde_json::json!({
            "node_id": config.node_id,
            "dir": a.dir,
            "config": a.dir.join("node.toml"),
            "identity": a.dir.join("identity.json"),
            "federation_listen": config.federation.listen,
            "admin_listen": config.admin.listen,
        }));
    } else {
        println!("created node {} in {}", config.node_id, a.dir.display());
        println!("  config      {}", a.dir.join("node.toml").display());
        println!("  identity    {} (give this to peers)", a.dir.join("identity.json").display());
        println!("  federation  {}", config.federation.listen);
        println!("  admin       {}", config.admin.listen);
        println!("start it with: jaring-node --config {}", a.dir.join("node.toml").display());
    }
    Ok(())
}
