//! `jaring identity export`.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Subcommand;
use jaring_proto::pb;

use crate::client::{Target, status_error};
use crate::output::Output;

/// Identity card commands.
#[derive(Debug, Subcommand)]
pub enum IdentityCmd {
    /// Print (or write) this node's signed identity card, to give to peers.
    #[command(after_help = "Example:\n  jaring --node ./id-node identity export --out id.identity.json")]
    Export {
        /// Write to this file instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// Runs an identity command.
///
/// # Errors
///
/// Node unreachable or file unwritable.
pub async fn run(cmd: IdentityCmd, target: &Target, out: &Output) -> Result<()> {
    let IdentityCmd::Export { out: file } = cmd;
    let mut client = target.connect().await?;
    let card =
        client.export_identity(pb::ExportIdentityRequest {}).await.map_err(status_error)?.into_inner().identity_json;
    match file {
        Some(path) => {
            std::fs::write(&path, format!("{card}\n")).with_context(|| format!("writing {}", path.display()))?;
            if out.json {
                out.json(&serde_json::json!({ "written": path }));
            } else {
                println!("identity card written to {}", path.display());
            }
        }
        None => println!("{card}"),
    }
    Ok(())
}
