//! `jaring hash --kind K VALUE`: the keyed hash of a value exactly as the
//! federation computes it, for partners who match personal data without
//! exchanging it (a bank checking its accounts against shared hashes).
//!
//! Offline: reads the federation key from the node directory (`--node DIR`:
//! `keys/federation-<epoch>.key`, the epoch and region from `node.toml`) or
//! from a key file (`--federation-key FILE --epoch N`). The value is first
//! normalized like a submission (`jaring_node::normalize`), then hashed by
//! `jaring_node::pii::FederationKey::hash`:
//! `HMAC-SHA256(key, kind ‖ 0x00 ‖ normalized value)`, lowercase hex.

use std::path::PathBuf;

use anyhow::{Context, Result, anyhow, bail};
use clap::Args;
use jaring_node::config::Config;
use jaring_node::envelope::Value;
use jaring_node::model::Kind;
use jaring_node::normalize::{NormalizeContext, normalize};
use jaring_node::pii::FederationKey;

use crate::client::Target;
use crate::output::Output;

/// `jaring hash`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    jaring --node ./id-node hash --kind bank_account 'bca 123-456-7890'\n  \
    jaring hash --kind email --federation-key federation-1.key --epoch 1 Budi@Contoh.CO.ID")]
pub struct HashArgs {
    /// The kind of the value (the hash depends on it).
    #[arg(long)]
    kind: Kind,
    /// The value, in any form a submission accepts.
    value: String,
    /// A federation key file (64 hex characters), instead of --node.
    #[arg(long, requires = "epoch")]
    federation_key: Option<PathBuf>,
    /// The key's epoch, with --federation-key.
    #[arg(long)]
    epoch: Option<u32>,
    /// Region for national phone numbers (default: the node's, with --node).
    #[arg(long)]
    region: Option<String>,
}

/// Prints the keyed hash.
///
/// # Errors
///
/// No key given, unreadable key file or config, a value that does not
/// normalize.
pub fn run(args: HashArgs, target: &Target, out: &Output) -> Result<()> {
    let (key, region) = match (&args.federation_key, &target.node) {
        (Some(path), _) => {
            let epoch = args.epoch.ok_or_else(|| anyhow!("--federation-key needs --epoch"))?;
            (jaring_node::keystore::read_federation_key(path, epoch)?, args.region.clone())
        }
        (None, Some(dir)) => {
            let config = Config::load(&dir.join("node.toml")).context("reading the node's config")?;
            let epoch = args.epoch.unwrap_or(config.privacy.federation_key_epoch);
            let path = config.resolve(&config.paths.keys).join(FederationKey::file_name(epoch));
            (jaring_node::keystore::read_federation_key(&path, epoch)?, args.region.clone().or(config.region))
        }
        (None, None) => bail!("say which key: --node DIR, or --federation-key FILE --epoch N"),
    };
    let normalized = normalize(args.kind, &args.value, &NormalizeContext { region })?;
    let Value::Keyed { epoch, digest } = key.hash(args.kind, &normalized) else {
        bail!("the federation key did not produce a keyed hash");
    };
    if out.json {
        out.json(&serde_json::json!({
            "kind": args.kind,
            "normalized": normalized,
            "scheme": jaring_node::pii::SCHEME,
            "epoch": epoch,
            "hash": digest,
        }));
    } else {
        println!("{digest}");
    }
    Ok(())
}
