//! `jaring indicator import FILE.csv`: bulk submission.
//!
//! The CSV header (columns in any order; only `kind`, `value` and
//! `categories` are required):
//!
//! ```text
//! kind,value,categories,tlp,confidence,distribution,valid_until,first_seen,description,source_refs
//! ```
//!
//! `categories` and `source_refs` hold `;`-separated lists; times are RFC
//! 3339 (parsing: [`jaring_node::csv_import`]). Rows stream to the node in
//! batches (two in flight), so memory stays bounded whatever the file size;
//! a bad row is reported with its line number and the rest go on.

use std::path::Path;

use anyhow::{Context, Result};
use jaring_node::csv_import::read_csv;
use jaring_node::wire::ToPb;
use jaring_proto::pb;
use serde::Serialize;

use crate::client::{Client, status_error};

/// Rows per request.
pub const BATCH: usize = 1000;

/// What an import did.
#[derive(Debug, Default, Serialize)]
pub struct ImportReport {
    /// Rows read.
    pub rows: u64,
    /// Stored.
    pub stored: u64,
    /// Refused rows: (line, reason).
    pub errors: Vec<(u64, String)>,
}

/// A batch on its way: its line numbers and the node's answer.
type InFlight = tokio::task::JoinHandle<Result<(Vec<u64>, pb::SubmitIndicatorsResponse)>>;

/// Streams a CSV file into the node.
///
/// # Errors
///
/// Unreadable file, a header without the required columns, node failure.
pub async fn import_csv(client: &mut Client, path: &Path, progress: bool) -> Result<ImportReport> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut records = read_csv(std::io::BufReader::new(file)).with_context(|| format!("{}", path.display()))?;
    let mut report = ImportReport::default();
    let mut batch: Vec<(u64, pb::IndicatorInput)> = Vec::with_capacity(BATCH);
    let mut in_flight: Option<InFlight> = None;
    loop {
        let next = records.next();
        let done = next.is_none();
        if let Some((line, row)) = next {
            report.rows += 1;
            match row {
                Ok(input) => batch.push((line, input.to_pb())),
                Err(e) => report.errors.push((line, e)),
            }
        }
        if batch.len() >= BATCH || (done && !batch.is_empty()) {
            let (lines, inputs): (Vec<u64>, Vec<pb::IndicatorInput>) = std::mem::take(&mut batch).into_iter().unzip();
            let mut c = client.clone();
            let next = tokio::spawn(async move {
                let r = c
                    .submit_indicators(pb::SubmitIndicatorsRequest { indicators: inputs, override_allowlist: false })
                    .await
                    .map_err(status_error)?;
                Ok((lines, r.into_inner()))
            });
            if let Some(prev) = in_flight.replace(next) {
                collect(prev.await??, &mut report);
                if progress && report.rows % 100_000 < BATCH as u64 {
                    eprintln!("  {} rows, {} stored, {} refused", report.rows, report.stored, report.errors.len());
                }
            }
        }
        if done {
            break;
        }
    }
    if let Some(prev) = in_flight {
        collect(prev.await??, &mut report);
    }
    // Rows refused here and by the node, in file order.
    report.errors.sort_by_key(|(line, _)| *line);
    Ok(report)
}

fn collect((lines, resp): (Vec<u64>, pb::SubmitIndicatorsResponse), report: &mut ImportReport) {
    for (line, r) in lines.into_iter().zip(resp.results) {
        match r.result {
            Some(pb::submit_result::Result::Stored(_)) => report.stored += 1,
            Some(pb::submit_result::Result::Error(e)) => report.errors.push((line, e.reason)),
            None => report.errors.push((line, "no result".into())),
        }
    }
}

/// Reads a STIX 2.1 bundle and submits its indicators in batches; every
/// object that cannot be taken is reported by its index in `objects` (in
/// `errors`, with its id) and the rest go on.
///
/// # Errors
///
/// Unreadable file, not a bundle, node failure.
pub async fn import_stix(client: &mut Client, path: &Path) -> Result<ImportReport> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let parsed = jaring_node::stix::parse_bundle(&text).with_context(|| format!("{}", path.display()))?;
    drop(text);
    let mut report = ImportReport::default();
    let mut batch: Vec<(u64, pb::IndicatorInput)> = Vec::with_capacity(BATCH);
    let mut parsed = parsed.into_iter().peekable();
    while let Some((index, r)) = parsed.next() {
        report.rows += 1;
        match r {
            Ok(input) => batch.push((index as u64, input.to_pb())),
            Err(e) => report.errors.push((index as u64, format!("{}: {}", e.id, e.reason))),
        }
        if batch.len() >= BATCH || (parsed.peek().is_none() && !batch.is_empty()) {
            let (lines, inputs): (Vec<u64>, Vec<pb::IndicatorInput>) = std::mem::take(&mut batch).into_iter().unzip();
            let r = client
                .submit_indicators(pb::SubmitIndicatorsRequest { indicators: inputs, override_allowlist: false })
                .await
                .map_err(status_error)?;
            collect((lines, r.into_inner()), &mut report);
        }
    }
    report.errors.sort_by_key(|(i, _)| *i);
    Ok(report)
}
