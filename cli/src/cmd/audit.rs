//! `jaring audit list|verify`: the hash-chained audit log.
//!
//! `verify --offline` opens a stopped node's store directly (read the
//! directory given by `--node`), so an auditor can check a copy of a node
//! directory without running it.

use anyhow::{Context, Result, bail};
use clap::{Subcommand, ValueEnum};
use jaring_node::config::Config;
use jaring_proto::pb;
use serde::Serialize;

use crate::client::{Target, status_error};
use crate::output::{Output, time};

/// Audit log commands.
#[derive(Debug, Subcommand)]
pub enum AuditCmd {
    /// Audit entries, oldest first (the newest --limit that match).
    #[command(
        after_help = "Examples:\n  jaring --node ./id-node audit list --kind rejection --since 2026-03-01T00:00:00Z\n  \
                            jaring --node ./id-node audit list --peer VN --limit 20 --json"
    )]
    List {
        /// Only entries at or after this time: RFC 3339 or Unix ms.
        #[arg(long)]
        since: Option<String>,
        /// Only entries about this peer.
        #[arg(long)]
        peer: Option<String>,
        /// Only this kind of entry.
        #[arg(long, value_enum)]
        kind: Option<AuditKind>,
        /// How many (newest) entries.
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// Recompute the hash chain; fails naming the first entry that was
    /// edited, removed or reordered.
    #[command(after_help = "Examples:\n  jaring --node ./id-node audit verify\n  \
                            jaring --node ./copy-of-id-node audit verify --offline   # node stopped, or a copy")]
    Verify {
        /// Open the store in the --node directory directly (the node must
        /// not be running) instead of asking the running node.
        #[arg(long)]
        offline: bool,
    },
}

/// Audit entry kinds.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum AuditKind {
    /// Rejected envelopes (bad signature, revoked key, policy, fork, ...).
    Rejection,
    /// Admin actions.
    Admin,
    /// Trust changes (peers added, changed, removed).
    Trust,
    /// Refused requests of tokens (revoked, expired, wrong network, role,
    /// rate).
    Access,
}

impl AuditKind {
    fn as_str(self) -> &'static str {
        match self {
            AuditKind::Rejection => "rejection",
            AuditKind::Admin => "admin",
            AuditKind::Trust => "trust",
            AuditKind::Access => "access",
        }
    }
}

#[derive(Serialize)]
struct Entry {
    seq: u64,
    at_ms: i64,
    kind: String,
    actor: String,
    action: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    peer: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    origin: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    origin_seq: Option<u64>,
    #[serde(skip_serializing_if = "String::is_empty")]
    reason: String,
    detail: String,
    hash: String,
}

#[derive(Serialize)]
struct Verified {
    ok: bool,
    entries_checked: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    first_bad_seq: Option<u64>,
    #[serde(skip_serializing_if = "String::is_empty")]
    error: String,
}

/// Runs an audit command.
///
/// # Errors
///
/// Bad input, node unreachable, unreadable store; `verify` fails when the
/// chain is broken.
pub async fn run(cmd: AuditCmd, target: &Target, out: &Output) -> Result<()> {
    match cmd {
        AuditCmd::List { since, peer, kind, limit } => {
            let since_ms = since.as_deref().map(super::key::parse_time).transpose()?.unwrap_or(0);
            let mut client = target.connect().await?;
            let entries: Vec<Entry> = client
                .list_audit(pb::ListAuditRequest {
                    since_ms,
                    peer: peer.unwrap_or_default(),
                    category: kind.map(|k| k.as_str().to_string()).unwrap_or_default(),
                    limit,
                })
                .await
                .map_err(status_error)?
                .into_inner()
                .entries
                .into_iter()
                .map(|e| Entry {
                    seq: e.seq,
                    at_ms: e.at_ms,
                    kind: e.category,
                    actor: e.actor,
                    action: e.action,
                    peer: e.peer,
                    origin_seq: (!e.origin.is_empty()).then_some(e.origin_seq),
                    origin: e.origin,
                    reason: e.reason,
                    detail: e.detail,
                    hash: e.hash,
                })
                .collect();
            if out.json {
                out.json(&entries);
            } else if entries.is_empty() {
                println!("no audit entries match");
            } else {
                for e in &entries {
                    let about = match (e.peer.is_empty(), e.origin_seq) {
                        (_, Some(s)) => format!(" peer {} origin {}#{s}", e.peer, e.origin),
                        (false, None) => format!(" peer {}", e.peer),
                        (true, None) => String::new(),
                    };
                    let reason = if e.reason.is_empty() { String::new() } else { format!(" [{}]", e.reason) };
                    println!(
                        "#{:<6} {} {:<9} {:<16} by {}{about}{reason} {}",
                        e.seq,
                        time(e.at_ms),
                        e.kind,
                        e.action,
                        e.actor,
                        e.detail
                    );
                }
            }
            Ok(())
        }
        AuditCmd::Verify { offline } => {
            let r = if offline { verify_offline(target)? } else { verify_online(target).await? };
            let v = Verified {
                ok: r.ok,
                entries_checked: r.entries_checked,
                first_bad_seq: (r.first_bad_seq != 0).then_some(r.first_bad_seq),
                error: r.error.clone(),
            };
            if out.json {
                out.json(&v);
            } else if r.ok {
                println!("audit log intact: {} entries, hash chain verified", r.entries_checked);
            }
            if !r.ok {
                if r.first_bad_seq != 0 {
                    bail!("audit log BROKEN at entry {}: {}", r.first_bad_seq, r.error);
                }
                bail!("audit log could not be verified: {}", r.error);
            }
            Ok(())
        }
    }
}

async fn verify_online(target: &Target) -> Result<pb::VerifyAuditResponse> {
    let mut client = target.connect().await?;
    Ok(client.verify_audit(pb::VerifyAuditRequest {}).await.map_err(status_error)?.into_inner())
}

fn verify_offline(target: &Target) -> Result<pb::VerifyAuditResponse> {
    let Some(dir) = &target.node else { bail!("--offline needs --node DIR (a stopped node's directory or a copy)") };
    let config = Config::load(&dir.join("node.toml")).context("reading the node's config")?;
    let db = config.resolve(&config.paths.db);
    if !db.exists() {
        bail!("{}: no store here", db.display());
    }
    let store = jaring_node::store::open(&db, config.store.engine, config.store.cache_mib).with_context(|| {
        format!("opening {} (is the node still running? stop it, or verify without --offline)", db.display())
    })?;
    Ok(jaring_node::wire::admin::verify_response(jaring_node::store::audit::verify(&store)))
}
