//! `jaring export stix|csv|misp`: what the node holds, for other tools.
//!
//! Every export pages through the admin API in log order, so memory stays
//! bounded, and keeps what `jaring_node::export_filter` admits: by default
//! nothing TLP:RED and nothing `local` (an export is usually for someone
//! else); `--max-tlp red` and `--distribution local,direct,federation`
//! include them. `--status` (or `--active-only`) and `--since` narrow it.
//!
//! - `stix`: a STIX 2.1 bundle (see `jaring_node::stix`): personal-data
//!   kinds only as keyed hashes.
//! - `csv`: the import header (with `last_seen`) plus columns import
//!   ignores or refuses (see `jaring_node::csv_export`; import refuses
//!   `revoked` rows and rows holding only a keyed hash), free text escaped against spreadsheet
//!   formula injection; `--excel` keeps phone numbers and other number-like
//!   values as text. Personal-data rows carry the keyed hash and an empty
//!   `value`, unless `--plaintext` asks for the plain values this node
//!   holds (its own submissions), e.g. to move them to a new node.
//! - `misp`: a MISP feed directory (`manifest.json`, one `<uuid>.json` per
//!   event, `hashes.csv`; see `jaring_node::misp`), personal data only as
//!   keyed hashes.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Subcommand};
use jaring_node::csv_export::{self, CsvMode};
use jaring_node::export_filter::ExportFilter;
use jaring_node::misp::{self, EventSummary, EventWriter};
use jaring_node::model::{Distribution, Kind, Tlp, UnixMillis};
use jaring_node::scoring::ScoringConfig;
use jaring_node::stix::BundleWriter;
use jaring_node::view::{IndicatorRecord, ValueStatus};
use jaring_node::wire::{FromPb, WireEnum};
use jaring_proto::pb;

use crate::client::{Client, Target, status_error};
use crate::output::Output;

/// Page size.
const PAGE: u32 = 1000;

/// Export formats.
#[derive(Debug, Subcommand)]
pub enum ExportCmd {
    /// A STIX 2.1 bundle of indicators.
    #[command(
        after_help = "Example:\n  jaring --node ./id-node export stix --out id-indicators.json --max-tlp green --active-only"
    )]
    Stix(ExportArgs),
    /// CSV with the header `jaring indicator import` reads.
    #[command(after_help = "Example:\n  jaring --node ./id-node export csv --out id-indicators.csv --excel")]
    Csv {
        #[command(flatten)]
        args: ExportArgs,
        /// Write the plain values this node holds for personal-data kinds.
        #[arg(long)]
        plaintext: bool,
        /// For spreadsheets: keep phone numbers, IPs and other number-like
        /// values as text (a leading '), and start with a UTF-8 BOM. Not
        /// for `jaring indicator import`.
        #[arg(long)]
        excel: bool,
    },
    /// A MISP feed directory: manifest.json, one <uuid>.json per event, hashes.csv.
    #[command(after_help = "Example:\n  jaring --node ./id-node export misp --out ./misp-feed --max-tlp green")]
    Misp(ExportArgs),
}

/// Common export options.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Output file (default stdout); for `misp`, the directory (required).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Only this kind.
    #[arg(long)]
    kind: Option<Kind>,
    /// Only this origin node.
    #[arg(long)]
    origin: Option<String>,
    /// Only active indicators (not revoked, not expired): `--status active`.
    #[arg(long, conflicts_with = "status")]
    active_only: bool,
    /// Only these statuses: active, expired, revoked (comma-separated).
    #[arg(long, value_delimiter = ',')]
    status: Vec<String>,
    /// Most restricted TLP included (default amber+strict: everything but RED).
    #[arg(long, default_value = "amber+strict")]
    max_tlp: Tlp,
    /// Distributions included (comma-separated; default direct,federation:
    /// `local` only when asked).
    #[arg(long, value_delimiter = ',', default_value = "direct,federation")]
    distribution: Vec<Distribution>,
    /// Only versions signed since this time: RFC 3339 (`2026-11-01T00:00:00Z`)
    /// or an age (`7d`, `12h`).
    #[arg(long)]
    since: Option<String>,
}

fn parse_status(s: &str) -> Result<ValueStatus> {
    match s.trim().to_ascii_lowercase().as_str() {
        "active" => Ok(ValueStatus::Active),
        "expired" => Ok(ValueStatus::Expired),
        "revoked" => Ok(ValueStatus::Revoked),
        other => bail!("--status: unknown status {other:?}; expected active, expired or revoked"),
    }
}

/// A `--since` value as Unix milliseconds.
fn parse_since(s: &str, now: UnixMillis) -> Result<UnixMillis> {
    if let Ok(t) = humantime::parse_rfc3339_weak(s) {
        let d = t.duration_since(std::time::UNIX_EPOCH).map_err(|_| anyhow!("--since: {s:?} is before 1970"))?;
        return Ok(i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    }
    let age = humantime::parse_duration(s)
        .map_err(|_| anyhow!("--since: {s:?} is neither an RFC 3339 time nor an age like 7d"))?;
    Ok(now.saturating_sub(i64::try_from(age.as_millis()).unwrap_or(i64::MAX)))
}

impl ExportArgs {
    fn filter(&self, now: UnixMillis) -> Result<ExportFilter> {
        let statuses = if self.active_only {
            vec![ValueStatus::Active]
        } else {
            self.status.iter().filter(|s| !s.trim().is_empty()).map(|s| parse_status(s)).collect::<Result<_>>()?
        };
        Ok(ExportFilter {
            max_tlp: self.max_tlp,
            distributions: self.distribution.clone(),
            statuses,
            since_ms: self.since.as_deref().map(|s| parse_since(s, now)).transpose()?,
        })
    }
}

/// The node's scoring rules (for "expired"), from its directory when
/// known, else the built-in defaults.
fn scoring(target: &Target) -> Result<ScoringConfig> {
    match &target.node {
        Some(dir) => {
            Ok(jaring_node::config::Config::load(&dir.join("node.toml")).context("reading the node's config")?.scoring)
        }
        None => Ok(ScoringConfig::default()),
    }
}

async fn pages(
    client: &mut Client,
    args: &ExportArgs,
    filter: &ExportFilter,
    scoring: &ScoringConfig,
    now: UnixMillis,
    mut each: impl FnMut(&IndicatorRecord) -> Result<()>,
) -> Result<u64> {
    let mut after = 0;
    let mut n = 0;
    loop {
        let resp = client
            .list_indicators(pb::ListIndicatorsRequest {
                kind: args.kind.map_or(0, WireEnum::to_wire),
                origin: args.origin.clone().unwrap_or_default(),
                limit: PAGE,
                after_local_seq: after,
                signed_by: String::new(),
                min_score: 0,
            })
            .await
            .map_err(status_error)?
            .into_inner();
        let count = resp.indicators.len();
        for r in resp.indicators {
            let rec = IndicatorRecord::from_pb(r).context("decoding the answer")?;
            after = after.max(rec.local_seq);
            if !filter.admits(&rec, now, scoring) {
                continue;
            }
            each(&rec)?;
            n += 1;
        }
        if count < PAGE as usize {
            return Ok(n);
        }
    }
}

fn sink(out: &Option<PathBuf>) -> Result<Box<dyn Write>> {
    Ok(match out {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    })
}

fn create(path: &Path) -> Result<std::io::BufWriter<std::fs::File>> {
    Ok(std::io::BufWriter::new(std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?))
}

/// One event file being written.
type OpenEvent = (EventSummary, EventWriter<std::io::BufWriter<std::fs::File>>);

/// Runs an export.
///
/// # Errors
///
/// Node unreachable, unwritable output, bad filter values.
pub async fn run(cmd: ExportCmd, target: &Target, out: &Output) -> Result<()> {
    let now = jaring_node::model::now_ms();
    let scoring = scoring(target)?;
    let mut client = target.connect().await?;
    let (n, file) = match cmd {
        ExportCmd::Stix(args) => {
            let filter = args.filter(now)?;
            let seed = format!(
                "{}:{}",
                target.node.as_ref().map(|p| p.display().to_string()).unwrap_or_default(),
                jaring_node::model::now_ms()
            );
            let mut bundle = BundleWriter::new(sink(&args.out)?, &seed)?;
            let n = pages(&mut client, &args, &filter, &scoring, now, |rec| Ok(bundle.push(rec)?)).await?;
            bundle.finish()?;
            (n, args.out)
        }
        ExportCmd::Csv { args, plaintext, excel } => {
            let filter = args.filter(now)?;
            let mode = if excel { CsvMode::Excel } else { CsvMode::Import };
            let mut raw = sink(&args.out)?;
            if mode == CsvMode::Excel {
                raw.write_all(csv_export::UTF8_BOM)?;
            }
            let mut w = csv::Writer::from_writer(raw);
            w.write_record(csv_export::HEADER)?;
            let n = pages(&mut client, &args, &filter, &scoring, now, |rec| {
                Ok(w.write_record(csv_export::row(rec, plaintext, mode))?)
            })
            .await?;
            w.flush()?;
            (n, args.out)
        }
        ExportCmd::Misp(args) => {
            let filter = args.filter(now)?;
            let dir = args.out.clone().ok_or_else(|| anyhow!("export misp: give the feed directory with --out DIR"))?;
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            let mut events: BTreeMap<String, OpenEvent> = BTreeMap::new();
            let mut hashes = create(&dir.join(misp::HASHES))?;
            let n = pages(&mut client, &args, &filter, &scoring, now, |rec| {
                // A directory export has no log arrival times: the version's
                // signing time stands in.
                let a = misp::attribute(rec, rec.created_at_ms.div_euclid(1000), now, &scoring);
                let uuid = misp::event_uuid(&rec.origin, rec.kind);
                if !events.contains_key(&uuid) {
                    let w = EventWriter::new(create(&dir.join(format!("{uuid}.json")))?)?;
                    events.insert(uuid.clone(), (EventSummary::new(&rec.origin, rec.kind), w));
                }
                if let Some((summary, w)) = events.get_mut(&uuid) {
                    summary.observe(rec, &a);
                    w.push(&a)?;
                }
                hashes.write_all(misp::hash_line(&a, &uuid).as_bytes())?;
                Ok(())
            })
            .await?;
            hashes.flush()?;
            let mut summaries = Vec::with_capacity(events.len());
            for (_, (summary, w)) in events {
                w.finish(&summary)?;
                summaries.push(summary);
            }
            let mut manifest = create(&dir.join(misp::MANIFEST))?;
            serde_json::to_writer(&mut manifest, &misp::manifest(&summaries))?;
            manifest.flush()?;
            (n, Some(dir))
        }
    };
    if let Some(path) = file {
        if out.json {
            out.json(&serde_json::json!({"exported": n, "file": path}));
        } else {
            eprintln!("exported {n} indicators to {}", path.display());
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_a_time_or_an_age() {
        let now = 1_800_000_000_000;
        assert_eq!(parse_since("2026-11-01T00:00:00Z", now).unwrap(), 1_793_491_200_000);
        assert_eq!(parse_since("7d", now).unwrap(), now - 7 * 86_400_000);
        assert!(parse_since("last tuesday", now).is_err());
    }

    #[test]
    fn statuses_parse() {
        assert_eq!(parse_status("Expired").unwrap(), ValueStatus::Expired);
        assert!(parse_status("stale").is_err());
    }
}
