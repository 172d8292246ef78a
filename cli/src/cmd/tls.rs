//! `jaring tls reload`: switch a running node to the TLS material on disk.

use anyhow::Result;
use clap::Subcommand;
use jaring_proto::pb;
use serde::Serialize;

use crate::client::{Target, status_error};
use crate::output::{Output, time};

/// TLS commands.
#[derive(Debug, Subcommand)]
pub enum TlsCmd {
    /// Reload the node's certificate, key and CA from disk (as SIGHUP does).
    /// Open streams keep working; new handshakes use the new certificate.
    /// If the files are broken the node keeps the old ones and this fails.
    #[command(
        after_help = "Example:\n  jaring --node ./id-node certs renew --days 365\n  jaring --node ./id-node tls reload"
    )]
    Reload,
}

#[derive(Serialize)]
struct Reloaded {
    cert_path: String,
    not_after_ms: i64,
}

/// Runs a TLS command.
///
/// # Errors
///
/// Broken TLS files (named), node unreachable.
pub async fn run(cmd: TlsCmd, target: &Target, out: &Output) -> Result<()> {
    let mut client = target.connect().await?;
    match cmd {
        TlsCmd::Reload => {
            let r = client.reload_tls(pb::ReloadTlsRequest {}).await.map_err(status_error)?.into_inner();
            let shown = Reloaded { cert_path: r.cert_path, not_after_ms: r.cert_not_after_ms };
            if out.json {
                out.json(&shown);
            } else {
                println!("reloaded {} (valid until {})", shown.cert_path, time(shown.not_after_ms));
            }
        }
    }
    Ok(())
}
