//! `jaring indicator add|revoke|list`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Subcommand};
use jaring_node::model::{Category, Distribution, Kind, Tlp};
use jaring_node::submission::NewIndicator;
use jaring_node::view::IndicatorRecord;
use jaring_node::wire::{FromPb, ToPb, WireEnum};
use jaring_proto::pb;

use super::parse_list;
use crate::client::{Target, status_error};
use crate::output::{Output, print_record};

/// Indicator commands.
#[derive(Debug, Subcommand)]
pub enum IndicatorCmd {
    /// Normalize, sign and store an indicator (a new version if this node already reported it).
    #[command(
        after_help = "Example:\n  jaring --node ./id-node indicator add --kind phone --value '+62 812 3456 7890' \\\n    --category job_scam --tlp green --confidence 80 --valid-for 30d"
    )]
    Add(AddArgs),
    /// Publish a signed revocation of one of this node's indicators.
    #[command(
        after_help = "Example:\n  jaring --node ./id-node indicator revoke 3f2a...-... --reason 'site taken down'"
    )]
    Revoke {
        /// Indicator id.
        id: String,
        /// Why (recorded in the audit log).
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Import indicators from a CSV file (header: kind,value,categories,tlp,confidence,
    /// distribution,valid_until,first_seen,description,source_refs) or a STIX 2.1 bundle (.json).
    #[command(after_help = "Example:\n  jaring --node ./id-node indicator import crawler-2026-11-29.csv")]
    Import {
        /// The file: .csv, or .json (a STIX 2.1 bundle, a TAXII envelope or one STIX object).
        file: std::path::PathBuf,
        /// Publish values that are on an allowlist too (each is audited).
        #[arg(long)]
        override_allowlist: bool,
        /// Publish a new version even of rows equal to what the node holds
        /// (by default they are skipped and counted as unchanged).
        #[arg(long)]
        republish: bool,
    },
    /// List current indicators in log order.
    #[command(after_help = "Example:\n  jaring --node ./id-node indicator list --kind domain --limit 20")]
    List {
        /// Only this kind.
        #[arg(long)]
        kind: Option<Kind>,
        /// Only this origin node.
        #[arg(long)]
        origin: Option<String>,
        /// Only entries signed with this key (all versions).
        #[arg(long)]
        signed_by: Option<String>,
        /// Only entries after this local log position.
        #[arg(long, default_value_t = 0)]
        after: u64,
        /// At most this many (paged through the node, 1000 per request).
        #[arg(long, default_value_t = 100)]
        limit: u32,
        /// Only indicators in force whose current score is at least this (0-100).
        #[arg(long, default_value_t = 0)]
        min_score: u32,
    },
}

/// `indicator add` options.
#[derive(Debug, Args)]
pub struct AddArgs {
    /// domain, url, phone, bank_account, ewallet_account, crypto_wallet, email, ip, social_handle.
    #[arg(long)]
    kind: Kind,
    /// The value as seen (the node normalizes it).
    #[arg(long)]
    value: String,
    /// Categories (repeat or comma-separate): job_scam, trafficking_recruitment, investment_scam,
    /// phishing, online_gambling, loan_scam, romance_scam, impersonation, other.
    #[arg(long = "category", required = true)]
    categories: Vec<String>,
    /// clear, green, amber, amber+strict, red.
    #[arg(long, default_value = "amber")]
    tlp: Tlp,
    /// 0-100.
    #[arg(long, default_value_t = 50)]
    confidence: u32,
    /// How long it stays valid, e.g. 30d, 12h.
    #[arg(long)]
    valid_for: Option<humantime::Duration>,
    /// Expiry as RFC 3339, e.g. 2027-01-31T00:00:00Z.
    #[arg(long, conflicts_with = "valid_for")]
    valid_until: Option<humantime::Timestamp>,
    /// local, direct or federation.
    #[arg(long, default_value = "federation")]
    distribution: Distribution,
    /// When it was first seen (RFC 3339; default now).
    #[arg(long)]
    first_seen: Option<humantime::Timestamp>,
    /// Free text for analysts.
    #[arg(long)]
    description: Option<String>,
    /// Source reference (URL of the post, case number); repeatable.
    #[arg(long = "source")]
    sources: Vec<String>,
    /// When it was last seen (RFC 3339; default now). Scores decay from here.
    #[arg(long)]
    last_seen: Option<humantime::Timestamp>,
    /// Publish even if the value is on an allowlist (recorded in the audit log).
    #[arg(long)]
    override_allowlist: bool,
}

fn ms(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl AddArgs {
    fn to_input(&self) -> Result<NewIndicator> {
        let categories: Vec<Category> = parse_list(&self.categories)?;
        let first_seen = self.first_seen.map(|t| ms(t.into()));
        let base = first_seen.unwrap_or_else(|| ms(SystemTime::now()));
        let valid_until = match (self.valid_for, self.valid_until) {
            (Some(d), _) => Some(base + i64::try_from(Duration::from(d).as_millis()).unwrap_or(i64::MAX / 2)),
            (_, Some(t)) => Some(ms(t.into())),
            _ => None,
        };
        Ok(NewIndicator {
            kind: Some(self.kind),
            value: self.value.clone(),
            categories,
            confidence: self.confidence,
            tlp: Some(self.tlp),
            distribution: Some(self.distribution),
            first_seen_ms: first_seen,
            last_seen_ms: self.last_seen.map(|t| ms(t.into())),
            valid_until_ms: valid_until,
            description: self.description.clone(),
            source_refs: self.sources.clone(),
        })
    }
}

/// Runs an indicator command.
///
/// # Errors
///
/// Refused input (naming the field), node unreachable.
pub async fn run(cmd: IndicatorCmd, target: &Target, out: &Output) -> Result<()> {
    match cmd {
        IndicatorCmd::Add(a) => {
            let input = a.to_input()?;
            let mut client = target.connect().await?;
            let resp = client
                .submit_indicators(pb::SubmitIndicatorsRequest {
                    indicators: vec![input.to_pb()],
                    override_allowlist: a.override_allowlist,
                    ..Default::default()
                })
                .await
                .map_err(status_error)?
                .into_inner();
            let result =
                resp.results.into_iter().next().and_then(|r| r.result).ok_or_else(|| anyhow!("empty answer"))?;
            match result {
                pb::submit_result::Result::Stored(rec) | pb::submit_result::Result::Unchanged(rec) => {
                    let rec = IndicatorRecord::from_pb(rec)?;
                    if out.json {
                        out.json(&rec)
                    } else {
                        print_record(&rec)
                    }
                    Ok(())
                }
                pb::submit_result::Result::Error(e) => bail!("refused: {}: {}", e.field, e.reason),
            }
        }
        IndicatorCmd::Import { file, override_allowlist, republish } => {
            let ext = file.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
            let is_stix = ext.as_deref() == Some("json");
            if !is_stix && ext.as_deref() != Some("csv") {
                bail!("{}: expected a .csv file or a STIX 2.1 bundle (.json)", file.display());
            }
            let mut client = target.connect().await?;
            let opts = super::import::ImportOptions { override_allowlist, republish, progress: !out.json };
            let report = if is_stix {
                super::import::import_stix(&mut client, &file, opts).await?
            } else {
                super::import::import_csv(&mut client, &file, opts).await?
            };
            let (rows, at) = if is_stix { ("indicator values", "object") } else { ("rows", "line") };
            if out.json {
                out.json(&report);
            } else {
                println!(
                    "{} {rows}: {} stored, {} unchanged, {} refused",
                    report.rows, report.stored, report.unchanged, report.refused
                );
                for (line, e) in report.errors.iter().take(50) {
                    println!("  {at} {line}: {e}");
                }
                if report.errors.len() > 50 {
                    println!("  ... {} more (use --json for all)", report.errors.len() - 50);
                }
            }
            if let Some(stop) = &report.stopped {
                let through = stop.known_through.map_or_else(
                    || format!("no {at} was stored"),
                    |n| format!("the counts cover every {at} up to {n}; nothing after it was stored"),
                );
                let unknown = stop
                    .unknown
                    .map(|(a, b)| format!("; {at}s {a} to {b} may or may not be stored"))
                    .unwrap_or_default();
                bail!(
                    "import stopped: {}: {through}{unknown} (importing the file again is safe: unchanged rows are skipped)",
                    stop.reason
                );
            }
            Ok(())
        }
        IndicatorCmd::Revoke { id, reason } => {
            let mut client = target.connect().await?;
            let rec = client
                .revoke_indicator(pb::RevokeIndicatorRequest { id, reason })
                .await
                .map_err(status_error)?
                .into_inner();
            let rec = IndicatorRecord::from_pb(rec)?;
            if out.json {
                out.json(&rec)
            } else {
                print_record(&rec)
            }
            Ok(())
        }
        IndicatorCmd::List { kind, origin, signed_by, after, limit, min_score } => {
            let mut client = target.connect().await?;
            let filter = pb::ListIndicatorsRequest {
                kind: kind.map_or(0, WireEnum::to_wire),
                origin: origin.unwrap_or_default(),
                limit: 0,
                after_local_seq: after,
                signed_by: signed_by.unwrap_or_default(),
                min_score,
            };
            list_pages(&mut client, filter, limit, out).await
        }
    }
}

/// Indicators per `ListIndicators` call (the node serves at most 10,000).
const LIST_PAGE: u32 = 1000;

/// `indicator list --limit N`: pages through the node until N indicators
/// or the end of its log, printing each page as it arrives (with `--json`,
/// one JSON array). If the node fails mid-way, what was listed stays
/// printed and the error says where it stopped.
async fn list_pages(
    client: &mut crate::client::Client,
    mut filter: pb::ListIndicatorsRequest,
    limit: u32,
    out: &Output,
) -> Result<()> {
    let mut listed: u64 = 0;
    if out.json {
        print!("[");
    }
    let outcome: Result<()> = async {
        while listed < u64::from(limit) {
            filter.limit = LIST_PAGE.min(limit - u32::try_from(listed).unwrap_or(limit));
            let resp = client.list_indicators(filter.clone()).await.map_err(status_error)?.into_inner();
            let got = resp.indicators.len();
            for r in resp.indicators {
                let rec = IndicatorRecord::from_pb(r).context("decoding the answer")?;
                filter.after_local_seq = filter.after_local_seq.max(rec.local_seq);
                if out.json {
                    let text = serde_json::to_string_pretty(&rec)?;
                    print!("{}\n{text}", if listed == 0 { "" } else { "," });
                } else {
                    print_record(&rec);
                }
                listed += 1;
            }
            if got < filter.limit as usize {
                break;
            }
        }
        Ok(())
    }
    .await;
    if out.json {
        println!("{}]", if listed == 0 { "" } else { "\n" });
    } else if listed == 0 && outcome.is_ok() {
        println!("no indicators");
    }
    outcome.with_context(|| {
        format!("listing stopped after {listed} indicators (the last at log position {})", filter.after_local_seq)
    })
}
