//! `jaring token create|list|revoke`: read-only consumer tokens for the
//! node's TAXII server (threat-intelligence platforms, partner tools).
//!
//! Tokens live hashed in `DIR/http-tokens.json` (0600); the running node
//! picks changes up on the next request. The secret is printed once.

use anyhow::{Result, bail};
use clap::Subcommand;
use jaring_node::config::Config;
use jaring_node::http::tokens;
use jaring_node::model::{Kind, Tlp};

use super::parse_list;
use crate::client::Target;
use crate::output::{Output, time};

/// Token commands.
#[derive(Debug, Subcommand)]
pub enum TokenCmd {
    /// Make a read-only TAXII token; prints it once.
    #[command(
        after_help = "Example:\n  jaring --node ./id-node token create opencti --max-tlp green --kinds domain,url"
    )]
    Create {
        /// Who holds it (letters, digits, '-', '_', '.').
        name: String,
        /// Most restricted TLP it may see: clear, green, amber, amber+strict, red.
        #[arg(long, default_value = "green")]
        max_tlp: Tlp,
        /// Kinds it may see (comma-separated; default all).
        #[arg(long)]
        kinds: Vec<String>,
        /// Needed with --max-tlp red: TLP:RED is for named recipients only,
        /// and a TAXII token is easily shared.
        #[arg(long)]
        allow_red: bool,
    },
    /// List tokens (names and scopes, never secrets).
    List,
    /// Revoke a token; its holder is refused from the next request on.
    Revoke {
        /// Token name.
        name: String,
    },
}

fn token_path(target: &Target) -> Result<std::path::PathBuf> {
    let Some(dir) = &target.node else {
        bail!("token commands work on the node directory: give --node DIR");
    };
    let config = Config::load(&dir.join("node.toml"))?;
    Ok(tokens::path(&config))
}

/// Runs a token command.
///
/// # Errors
///
/// No `--node`, unreadable token file, duplicate or unknown name.
pub fn run(cmd: TokenCmd, target: &Target, out: &Output) -> Result<()> {
    let path = token_path(target)?;
    match cmd {
        TokenCmd::Create { name, max_tlp, kinds, allow_red } => {
            if max_tlp == Tlp::Red && !allow_red {
                bail!(
                    "--max-tlp red: a token that sees TLP:RED hands RED indicators to whoever holds it; \
                     pass --allow-red if that is what the agreement says"
                );
            }
            let kinds: Vec<Kind> = parse_list(&kinds)?;
            let (secret, rec) = tokens::create(&path, &name, max_tlp, kinds)?;
            if out.json {
                out.json(
                    &serde_json::json!({"name": rec.name, "token": secret, "max_tlp": rec.max_tlp, "kinds": rec.kinds}),
                );
            } else {
                println!("{secret}");
                eprintln!("token {:?} (max TLP {}): shown once, store it now", rec.name, rec.max_tlp);
            }
        }
        TokenCmd::List => {
            let list = tokens::list(&path)?;
            if out.json {
                out.json(&list);
            } else if list.is_empty() {
                println!("no tokens");
            } else {
                for t in &list {
                    let kinds = if t.kinds.is_empty() {
                        "all kinds".to_string()
                    } else {
                        t.kinds.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(",")
                    };
                    println!(
                        "{:<24} max TLP {:<13} {:<30} created {}",
                        t.name,
                        t.max_tlp,
                        kinds,
                        time(t.created_at_ms)
                    );
                }
            }
        }
        TokenCmd::Revoke { name } => {
            let gone = tokens::revoke(&path, &name)?;
            if out.json {
                out.json(&gone);
            } else {
                println!("revoked {:?}", gone.name);
            }
        }
    }
    Ok(())
}
