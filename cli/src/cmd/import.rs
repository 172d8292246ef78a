//! `jaring indicator import FILE`: bulk submission of a CSV file or a STIX
//! 2.1 bundle, TAXII envelope or single object (`.json`).
//!
//! The CSV header (columns in any order; only `kind`, `value` and
//! `categories` are required):
//!
//! ```text
//! kind,value,categories,tlp,confidence,distribution,valid_until,first_seen,last_seen,description,source_refs
//! ```
//!
//! (parsing: [`jaring_node::csv_import`]; STIX: [`jaring_node::stix`]).
//! The file is read on a thread of its own, row by row or object by
//! object, so memory stays bounded whatever its size. Rows go to the node
//! in batches cut by bytes, under what one request may hold (half the
//! node's `max_message_bytes`, learnt from its status, since the answer
//! echoes each stored record) and at most its `max_batch` rows, two
//! batches in flight. A row too large for any request is refused alone,
//! with its line number.
//!
//! Every import asks the node to skip rows equal to the version it holds
//! (`unchanged = skip`), so importing the same file again publishes
//! nothing new, and importing again after an interruption is safe.
//!
//! The report always says how many rows were stored, unchanged and
//! refused, also when the import stops early (Ctrl-C, the node failing, a
//! broken file): then it says up to which line every row's outcome is
//! known, and which rows, if any, may or may not have been stored.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result};
use jaring_node::csv_import::read_csv;
use jaring_node::stix::{self, StixContext};
use jaring_node::wire::ToPb;
use jaring_proto::pb;
use prost::Message;
use serde::Serialize;
use tokio::sync::mpsc;

use crate::client::Client;

/// What the user asked for.
#[derive(Debug, Clone, Copy, Default)]
pub struct ImportOptions {
    /// Publish values on an allowlist too (audited).
    pub override_allowlist: bool,
    /// Publish a new version even of rows equal to the held version.
    pub republish: bool,
    /// Progress lines on stderr.
    pub progress: bool,
}

/// What an import did.
#[derive(Debug, Default, Serialize)]
pub struct ImportReport {
    /// Rows (CSV) or indicator values (STIX) read.
    pub rows: u64,
    /// Stored as new versions.
    pub stored: u64,
    /// Equal to the version the node holds: nothing published.
    pub unchanged: u64,
    /// Refused rows.
    pub refused: u64,
    /// Refused rows: (line or object index, reason), in file order.
    pub errors: Vec<(u64, String)>,
    /// Whether the whole file was read and every row's outcome is known.
    pub complete: bool,
    /// Why and where the import stopped early.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped: Option<Stopped>,
}

/// An import that did not reach the end of its file.
#[derive(Debug, Clone, Serialize)]
pub struct Stopped {
    /// What happened.
    pub reason: String,
    /// Every row up to this line (object index) has its outcome in the
    /// report; none after it was stored. `None`: not even the first.
    pub known_through: Option<u64>,
    /// Rows sent whose outcome is unknown (the connection broke while the
    /// node was storing them): `[from, to]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unknown: Option<(u64, u64)>,
}

/// One row of the file, ready to send or refused already.
#[derive(Debug)]
struct Row {
    /// Line (CSV) or object index (STIX).
    at: u64,
    /// The STIX id, so every message about the row names it.
    label: Option<String>,
    input: Result<pb::IndicatorInput, String>,
}

/// What the reading thread sends.
#[derive(Debug)]
enum Msg {
    Row(Row),
    /// The file broke off here.
    Broken(String),
}

/// How the node wants its batches.
#[derive(Debug, Clone, Copy)]
struct Limits {
    /// Most encoded bytes of inputs in one request.
    bytes: usize,
    /// Most inputs in one request.
    rows: usize,
    /// The node's `max_message_bytes`.
    message: usize,
}

impl Limits {
    async fn learn(client: &mut Client) -> Result<(Limits, String)> {
        let status = client.status(pb::StatusRequest {}).await.map_err(crate::client::status_error)?.into_inner();
        let message = match status.max_message_bytes {
            0 => 4 * 1024 * 1024,
            n => usize::try_from(n).unwrap_or(usize::MAX),
        };
        let rows = match status.max_batch {
            0 => 1024,
            n => n as usize,
        };
        // The answer echoes every stored record, so a request of half the
        // limit leaves room for it; a little more for the request's framing.
        let bytes = (message / 2).saturating_sub(1024).max(1024);
        Ok((Limits { bytes, rows, message }, status.node_id))
    }
}

/// The size a row adds to a request: its encoding plus the field's tag and
/// length prefix.
fn encoded_size(input: &pb::IndicatorInput) -> usize {
    let n = input.encoded_len();
    n + 1 + prost::length_delimiter_len(n)
}

/// A batch being filled.
#[derive(Debug, Default)]
struct Batch {
    rows: Vec<(u64, Option<String>)>,
    inputs: Vec<pb::IndicatorInput>,
    bytes: usize,
}

/// A batch on its way: its rows and the node's answer.
type InFlight =
    tokio::task::JoinHandle<(Vec<(u64, Option<String>)>, Result<pb::SubmitIndicatorsResponse, tonic::Status>)>;

fn labelled(label: &Option<String>, reason: &str) -> String {
    match label {
        Some(id) if !id.is_empty() => format!("{id}: {reason}"),
        _ => reason.to_string(),
    }
}

/// Streams a CSV file into the node.
///
/// # Errors
///
/// Unreadable file or a header without the required columns (nothing was
/// sent); failures later are in the report ([`ImportReport::stopped`]).
pub async fn import_csv(client: &mut Client, path: &Path, opts: ImportOptions) -> Result<ImportReport> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let rows = read_csv(std::io::BufReader::new(file)).with_context(|| format!("{}", path.display()))?;
    let (tx, rx) = mpsc::channel::<Msg>(4096);
    let reader = tokio::task::spawn_blocking(move || {
        for (line, row) in rows {
            let input = row.map(|r| r.to_pb());
            if tx.blocking_send(Msg::Row(Row { at: line, label: None, input })).is_err() {
                return;
            }
        }
    });
    let (limits, _) = Limits::learn(client).await?;
    let report = pipeline(client, rx, opts, limits).await;
    let _ = reader.await;
    Ok(report)
}

/// Streams a STIX 2.1 bundle, TAXII envelope or single object into the
/// node: a first pass learns the identities and marking definitions the
/// file holds, the second submits its indicators; every refused object is
/// reported by its index in `objects` and its id.
///
/// # Errors
///
/// Unreadable file, or the node's status unavailable (nothing was sent);
/// failures later are in the report.
pub async fn import_stix(client: &mut Client, path: &Path, opts: ImportOptions) -> Result<ImportReport> {
    let (limits, this_node) = Limits::learn(client).await?;
    let first = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let path_text = path.display().to_string();
    let path = path.to_path_buf();
    let (tx, rx) = mpsc::channel::<Msg>(1024);
    let reader = tokio::task::spawn_blocking(move || {
        let broken = |e: stix::ImportError| format!("{path_text}: {e}");
        let mut ctx = StixContext::for_node(Some(this_node));
        // A file that breaks off is read up to the break in both passes: the
        // indicators before it are imported and the report says where it
        // stopped (the second pass meets the same error).
        let _ = stix::stream::for_each_object(std::io::BufReader::new(first), |_, o| {
            ctx.learn(&o);
            std::ops::ControlFlow::Continue(())
        });
        let second = match std::fs::File::open(&path) {
            Ok(f) => f,
            Err(e) => {
                let _ = tx.blocking_send(Msg::Broken(format!("{path_text}: {e}")));
                return;
            }
        };
        let walked = stix::stream::for_each_object(std::io::BufReader::new(second), |index, o| {
            let rows: Vec<Row> = match stix::parse_object(index, &o, &ctx) {
                None => return std::ops::ControlFlow::Continue(()),
                Some(Ok(all)) => {
                    let id = o.get("id").and_then(serde_json::Value::as_str).map(str::to_string);
                    all.iter().map(|n| Row { at: index as u64, label: id.clone(), input: Ok(n.to_pb()) }).collect()
                }
                Some(Err(e)) => vec![Row { at: index as u64, label: Some(e.id), input: Err(e.reason) }],
            };
            for row in rows {
                if tx.blocking_send(Msg::Row(row)).is_err() {
                    return std::ops::ControlFlow::Break(());
                }
            }
            std::ops::ControlFlow::Continue(())
        });
        match walked {
            Ok(_) | Err(stix::ImportError::Stopped) => {}
            Err(e) => {
                let _ = tx.blocking_send(Msg::Broken(broken(e)));
            }
        }
    });
    let report = pipeline(client, rx, opts, limits).await;
    let _ = reader.await;
    Ok(report)
}

/// Sends the rows in byte-bounded batches, two in flight, until the file
/// ends, the node fails, or Ctrl-C.
async fn pipeline(
    client: &mut Client,
    mut rx: mpsc::Receiver<Msg>,
    opts: ImportOptions,
    limits: Limits,
) -> ImportReport {
    let interrupted = Arc::new(AtomicBool::new(false));
    let notify = Arc::new(tokio::sync::Notify::new());
    let watcher = {
        let interrupted = interrupted.clone();
        let notify = notify.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                interrupted.store(true, Ordering::SeqCst);
                notify.notify_one();
                eprintln!("jaring: interrupted; finishing the batches in flight (Ctrl-C again to quit now)");
                if tokio::signal::ctrl_c().await.is_ok() {
                    eprintln!(
                        "jaring: quit; rows in flight may or may not be stored \
                         (importing the file again is safe: unchanged rows are skipped)"
                    );
                    std::process::exit(130);
                }
            }
        })
    };
    let mut run = Run { report: ImportReport::default(), known_through: None, stop: None, opts };
    let mut batch = Batch::default();
    let mut in_flight: Option<InFlight> = None;
    let mut broken: Option<String> = None;
    loop {
        let msg = tokio::select! {
            biased;
            () = notify.notified() => None,
            msg = rx.recv() => msg,
        };
        if interrupted.load(Ordering::SeqCst) {
            run.stop_with("interrupted (Ctrl-C)".into(), None);
            break;
        }
        let row = match msg {
            None => break,
            Some(Msg::Broken(e)) => {
                broken = Some(e);
                break;
            }
            Some(Msg::Row(row)) => row,
        };
        run.report.rows += 1;
        let input = match row.input {
            Ok(input) => input,
            Err(e) => {
                run.refuse(row.at, &row.label, &e);
                continue;
            }
        };
        let size = encoded_size(&input);
        if size > limits.bytes {
            let reason = format!(
                "the row is {size} bytes once encoded, more than one request may carry ({} bytes, half the node's \
                 max_message_bytes of {})",
                limits.bytes, limits.message
            );
            run.refuse(row.at, &row.label, &reason);
            continue;
        }
        if (batch.bytes + size > limits.bytes || batch.inputs.len() >= limits.rows)
            && !run.send(client, &mut batch, &mut in_flight).await
        {
            break;
        }
        batch.rows.push((row.at, row.label));
        batch.inputs.push(input);
        batch.bytes += size;
    }
    if run.stop.is_none() && !batch.inputs.is_empty() && !interrupted.load(Ordering::SeqCst) {
        run.send(client, &mut batch, &mut in_flight).await;
    }
    // Rows read into a batch that was not sent are not stored; the reader
    // stops at its next row.
    drop(rx);
    if let Some(prev) = in_flight.take() {
        run.settle(prev).await;
    }
    watcher.abort();
    if let Some(e) = broken
        && run.stop.is_none()
    {
        run.stop_with(format!("the file broke off: {e}"), None);
    }
    if interrupted.load(Ordering::SeqCst) && run.stop.is_none() {
        run.stop_with("interrupted (Ctrl-C)".into(), None);
    }
    let Run { mut report, known_through, stop, .. } = run;
    report.complete = stop.is_none();
    report.stopped = stop.map(|(reason, unknown)| Stopped { reason, known_through, unknown });
    // Rows refused here and by the node, in file order.
    report.errors.sort_by_key(|(line, _)| *line);
    report
}

/// The state of one import.
struct Run {
    report: ImportReport,
    /// The last row whose outcome is known, all before it too.
    known_through: Option<u64>,
    /// Why it stopped, and rows of unknown outcome.
    stop: Option<(String, Option<(u64, u64)>)>,
    opts: ImportOptions,
}

impl Run {
    fn refuse(&mut self, at: u64, label: &Option<String>, reason: &str) {
        self.report.refused += 1;
        self.report.errors.push((at, labelled(label, reason)));
    }

    fn stop_with(&mut self, reason: String, unknown: Option<(u64, u64)>) {
        if self.stop.is_none() {
            self.stop = Some((reason, unknown));
        }
    }

    /// Sends `batch`, after settling the batch before the one in flight;
    /// false if the import must stop.
    async fn send(&mut self, client: &Client, batch: &mut Batch, in_flight: &mut Option<InFlight>) -> bool {
        let Batch { rows, inputs, .. } = std::mem::take(batch);
        let mut c = client.clone();
        let request = pb::SubmitIndicatorsRequest {
            indicators: inputs,
            override_allowlist: self.opts.override_allowlist,
            unchanged: if self.opts.republish { pb::Unchanged::Publish } else { pb::Unchanged::Skip } as i32,
        };
        let next = tokio::spawn(async move {
            let r = c.submit_indicators(request).await.map(tonic::Response::into_inner);
            (rows, r)
        });
        if let Some(prev) = in_flight.replace(next) {
            self.settle(prev).await;
            if self.report.progress_due(self.opts.progress) {
                eprintln!(
                    "  {} read, {} stored, {} unchanged, {} refused",
                    self.report.rows, self.report.stored, self.report.unchanged, self.report.refused
                );
            }
        }
        self.stop.is_none()
    }

    /// Takes one batch's answer into the report.
    async fn settle(&mut self, handle: InFlight) {
        let (rows, answer) = match handle.await {
            Ok(done) => done,
            Err(e) => {
                self.stop_with(format!("the import task failed: {e}"), None);
                return;
            }
        };
        let (first, last) = (rows.first().map(|r| r.0), rows.last().map(|r| r.0));
        let resp = match answer {
            Ok(resp) => resp,
            Err(status) => {
                let known = matches!(
                    status.code(),
                    tonic::Code::InvalidArgument
                        | tonic::Code::ResourceExhausted
                        | tonic::Code::OutOfRange
                        | tonic::Code::Unauthenticated
                        | tonic::Code::PermissionDenied
                        | tonic::Code::FailedPrecondition
                        | tonic::Code::Unimplemented
                ) || (status.code() == tonic::Code::Internal
                    && status.message().starts_with("store failure"));
                if known {
                    // Nothing of that batch was stored.
                    let what =
                        format!("the node refused the rows {} to {}: {}", opt(first), opt(last), status.message());
                    self.stop_with(what, None);
                } else {
                    let what = format!(
                        "the node failed while storing the rows {} to {}: {}",
                        opt(first),
                        opt(last),
                        status.message()
                    );
                    self.stop_with(what, None);
                    // Those rows may or may not be stored (so may the next
                    // batch's, in flight too).
                    if let (Some(a), Some(b)) = (first, last)
                        && let Some((_, unknown)) = &mut self.stop
                    {
                        *unknown = Some(unknown.map_or((a, b), |(x, y)| (x.min(a), y.max(b))));
                    }
                }
                return;
            }
        };
        for ((at, label), r) in rows.into_iter().zip(resp.results) {
            match r.result {
                Some(pb::submit_result::Result::Stored(_)) => self.report.stored += 1,
                Some(pb::submit_result::Result::Unchanged(_)) => self.report.unchanged += 1,
                Some(pb::submit_result::Result::Error(e)) => self.refuse(at, &label, &e.reason),
                None => self.refuse(at, &label, "no result"),
            }
            self.known_through = Some(at);
        }
    }
}

fn opt(v: Option<u64>) -> String {
    v.map_or_else(|| "-".into(), |v| v.to_string())
}

impl ImportReport {
    fn progress_due(&self, on: bool) -> bool {
        on && self.rows % 100_000 < 1024
    }
}
