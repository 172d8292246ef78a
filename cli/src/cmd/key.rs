//! `jaring key list|rotate|revoke`: the node's signing key lifecycle.

use anyhow::{Result, bail};
use clap::Subcommand;
use jaring_proto::pb;
use serde::Serialize;

use crate::client::{Target, status_error};
use crate::output::{Output, time};

/// Signing key commands.
#[derive(Debug, Subcommand)]
pub enum KeyCmd {
    /// This node's signing keys (and, with --all, every trusted origin's).
    #[command(
        after_help = "Examples:\n  jaring --node ./id-node key list\n  jaring --node ./id-node key list --all --json"
    )]
    List {
        /// Also list the keys of peers and members.
        #[arg(long)]
        all: bool,
    },
    /// Make a new signing key, endorsed by the current one and announced to
    /// peers as a signed key event. The old key stays valid for what it signed.
    #[command(after_help = "Example:\n  jaring --node ./id-node key rotate")]
    Rotate,
    /// Revoke one of this node's keys (e.g. after a laptop was lost): peers
    /// refuse its signatures dated at or after --at. Rotate away from the
    /// current key first.
    #[command(
        after_help = "Examples:\n  jaring --node ./id-node key revoke ed25519:4f1c0a9e2b7d3c55 --reason 'laptop stolen'\n  \
                            jaring --node ./id-node key revoke ed25519:4f1c0a9e2b7d3c55 --at 2026-03-01T08:00:00Z --reason compromise\n\n\
                            Then `jaring indicator list --signed-by KEY` shows what the key signed."
    )]
    Revoke {
        /// The key id (from `key list`).
        key_id: String,
        /// From when signatures are refused: RFC 3339 time (2026-03-01T08:00:00Z)
        /// or Unix milliseconds. Default: now.
        #[arg(long)]
        at: Option<String>,
        /// Why (for the audit log and peers).
        #[arg(long, default_value = "")]
        reason: String,
    },
}

#[derive(Serialize)]
struct Key {
    key_id: String,
    owner: String,
    public_key_hex: String,
    valid_from_ms: i64,
    revoked_at_ms: Option<i64>,
    current: bool,
    local: bool,
}

impl From<pb::KeyRecord> for Key {
    fn from(k: pb::KeyRecord) -> Self {
        Key {
            key_id: k.key_id,
            owner: k.owner,
            public_key_hex: k.public_key_hex,
            valid_from_ms: k.valid_from_ms,
            revoked_at_ms: (k.revoked_at_ms != 0).then_some(k.revoked_at_ms),
            current: k.current,
            local: k.local,
        }
    }
}

fn print_key(k: &Key) {
    let state = match (k.current, k.revoked_at_ms) {
        (_, Some(t)) => format!("revoked from {}", time(t)),
        (true, None) => "current".into(),
        (false, None) => "valid (verifies)".into(),
    };
    println!(
        "{:<26} {:<10} valid from {}  age {}  {}",
        k.key_id,
        k.owner,
        time(k.valid_from_ms),
        crate::output::age(k.valid_from_ms),
        state
    );
}

/// Parses `--at`: RFC 3339 or Unix milliseconds.
///
/// # Errors
///
/// Neither form.
pub fn parse_time(s: &str) -> Result<i64> {
    if let Ok(ms) = s.parse::<i64>() {
        if ms <= 0 {
            bail!("time {s:?}: must be after 1970");
        }
        return Ok(ms);
    }
    let t = humantime::parse_rfc3339_weak(s)
        .map_err(|e| anyhow::anyhow!("time {s:?}: {e} (use RFC 3339, e.g. 2026-03-01T08:00:00Z, or Unix ms)"))?;
    let d = t.duration_since(std::time::UNIX_EPOCH).map_err(|_| anyhow::anyhow!("time {s:?}: before 1970"))?;
    Ok(i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Runs a key command.
///
/// # Errors
///
/// Bad input, refused by the node, node unreachable.
pub async fn run(cmd: KeyCmd, target: &Target, out: &Output) -> Result<()> {
    let at = match &cmd {
        KeyCmd::Revoke { at: Some(a), .. } => parse_time(a)?,
        _ => 0,
    };
    let mut client = target.connect().await?;
    match cmd {
        KeyCmd::List { all } => {
            let keys: Vec<Key> = client
                .list_keys(pb::ListKeysRequest { all_origins: all })
                .await
                .map_err(status_error)?
                .into_inner()
                .keys
                .into_iter()
                .map(Into::into)
                .collect();
            if out.json {
                out.json(&keys);
            } else {
                keys.iter().for_each(print_key);
            }
        }
        KeyCmd::Rotate => {
            let k: Key = client.rotate_key(pb::RotateKeyRequest {}).await.map_err(status_error)?.into_inner().into();
            if out.json {
                out.json(&k);
            } else {
                println!(
                    "new signing key {} (announced to peers; the old key still verifies what it signed)",
                    k.key_id
                );
            }
        }
        KeyCmd::Revoke { key_id, reason, .. } => {
            let k: Key = client
                .revoke_key(pb::RevokeKeyRequest { key_id, revoked_at_ms: at, reason })
                .await
                .map_err(status_error)?
                .into_inner()
                .into();
            if out.json {
                out.json(&k);
            } else {
                println!(
                    "revoked {} from {}; see what it signed: jaring indicator list --signed-by {}",
                    k.key_id,
                    time(k.revoked_at_ms.unwrap_or(0)),
                    k.key_id
                );
            }
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_as_rfc3339_or_millis() {
        assert_eq!(parse_time("1700000000000").unwrap(), 1_700_000_000_000);
        assert_eq!(parse_time("2023-11-14T22:13:20Z").unwrap(), 1_700_000_000_000);
        assert!(parse_time("yesterday").unwrap_err().to_string().contains("RFC 3339"));
        assert!(parse_time("-5").is_err());
    }
}
