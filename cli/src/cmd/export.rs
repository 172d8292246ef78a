//! `jaring export stix|csv`: what the node holds, for other tools.
//!
//! Both page through the admin API in log order, so memory stays bounded.
//!
//! - `stix`: a STIX 2.1 bundle (see `jaring_node::stix`): personal-data
//!   kinds only as keyed hashes.
//! - `csv`: the import header plus columns import ignores:
//!   `kind,value,categories,tlp,confidence,distribution,valid_until,first_seen,last_seen,description,source_refs,id,origin,version,revoked,keyed_hash,hash_epoch`
//!   (import reads `last_seen`, refuses `revoked` rows and rows holding only a keyed hash).
//!   Personal-data rows carry the keyed hash and an empty `value`, unless
//!   `--plaintext` asks for the plain values this node holds (its own
//!   submissions), e.g. to move them to a new node.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use jaring_node::model::{Action, Kind};
use jaring_node::stix::BundleWriter;
use jaring_node::view::IndicatorRecord;
use jaring_proto::pb;

use crate::client::{Client, Target, status_error};
use crate::output::Output;

/// Page size.
const PAGE: u32 = 1000;

/// Export formats.
#[derive(Debug, Subcommand)]
pub enum ExportCmd {
    /// A STIX 2.1 bundle of indicators.
    #[command(after_help = "Example:\n  jaring --node ./id-node export stix --out id-indicators.json")]
    Stix(ExportArgs),
    /// CSV with the header `jaring indicator import` reads.
    #[command(after_help = "Example:\n  jaring --node ./id-node export csv --out id-indicators.csv")]
    Csv {
        #[command(flatten)]
        args: ExportArgs,
        /// Write the plain values this node holds for personal-data kinds.
        #[arg(long)]
        plaintext: bool,
    },
}

/// Common export options.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Output file (default stdout).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Only this kind.
    #[arg(long)]
    kind: Option<Kind>,
    /// Only this origin node.
    #[arg(long)]
    origin: Option<String>,
    /// Leave out revoked indicators.
    #[arg(long)]
    active_only: bool,
}

/// The CSV header of exports.
pub const CSV_HEADER: [&str; 17] = [
    "kind",
    "value",
    "categories",
    "tlp",
    "confidence",
    "distribution",
    "valid_until",
    "first_seen",
    "last_seen",
    "description",
    "source_refs",
    "id",
    "origin",
    "version",
    "revoked",
    "keyed_hash",
    "hash_epoch",
];

async fn pages(
    client: &mut Client,
    args: &ExportArgs,
    mut each: impl FnMut(&IndicatorRecord) -> Result<()>,
) -> Result<u64> {
    let mut after = 0;
    let mut n = 0;
    loop {
        let resp = client
            .list_indicators(pb::ListIndicatorsRequest {
                kind: args.kind.map_or(0, i32::from),
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
            let rec = IndicatorRecord::try_from(r).context("decoding the answer")?;
            after = after.max(rec.local_seq);
            if args.active_only && rec.action == Action::Revoke {
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

fn time(ms: i64) -> String {
    jaring_node::stix::export::timestamp(ms)
}

fn csv_row(rec: &IndicatorRecord, plaintext: bool) -> Vec<String> {
    let value = match (&rec.keyed_hash, plaintext) {
        (Some(_), false) => String::new(),
        (Some(h), true) if rec.value == *h => String::new(),
        _ => rec.value.clone(),
    };
    vec![
        rec.kind.to_string(),
        value,
        rec.categories.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(";"),
        rec.tlp.to_string(),
        rec.confidence.to_string(),
        rec.distribution.to_string(),
        rec.valid_until_ms.map(time).unwrap_or_default(),
        time(rec.first_seen_ms),
        time(rec.last_seen_ms),
        rec.description.clone().unwrap_or_default(),
        rec.source_refs.join(";"),
        rec.id.clone(),
        rec.origin.clone(),
        rec.version.to_string(),
        (rec.action == Action::Revoke).to_string(),
        rec.keyed_hash.clone().unwrap_or_default(),
        rec.hash_epoch.map(|e| e.to_string()).unwrap_or_default(),
    ]
}

fn sink(out: &Option<PathBuf>) -> Result<Box<dyn Write>> {
    Ok(match out {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    })
}

/// Runs an export.
///
/// # Errors
///
/// Node unreachable, unwritable output.
pub async fn run(cmd: ExportCmd, target: &Target, out: &Output) -> Result<()> {
    let mut client = target.connect().await?;
    let (n, file) = match cmd {
        ExportCmd::Stix(args) => {
            let seed = format!(
                "{}:{}",
                target.node.as_ref().map(|p| p.display().to_string()).unwrap_or_default(),
                jaring_node::model::now_ms()
            );
            let mut bundle = BundleWriter::new(sink(&args.out)?, &seed)?;
            let n = pages(&mut client, &args, |rec| Ok(bundle.push(rec)?)).await?;
            bundle.finish()?;
            (n, args.out)
        }
        ExportCmd::Csv { args, plaintext } => {
            let mut w = csv::Writer::from_writer(sink(&args.out)?);
            w.write_record(CSV_HEADER)?;
            let n = pages(&mut client, &args, |rec| Ok(w.write_record(csv_row(rec, plaintext))?)).await?;
            w.flush()?;
            (n, args.out)
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
