//! `jaring extract`: candidate indicators from free text (an advert, a
//! post, an SMS, a web page), offline; with a node, whether each is
//! already listed and by whom; with `--submit`, published through the
//! node's normal submission path.
//!
//! The input is read as a stream (a file, or standard input with `-`), in
//! bounded memory whatever its size (`jaring_node::extract::StreamExtractor`);
//! candidates are printed as they are found. `--json` prints one object,
//! `{"candidates": [...]}`, one candidate per line.

use std::io::{BufWriter, Read, Write};
use std::path::PathBuf;

use anyhow::{Context, Result, anyhow, bail};
use clap::Args;
use jaring_node::extract::{Candidate, ExtractOptions, Listing, StreamExtractor};
use jaring_node::model::{Category, Distribution, Kind, Tlp};
use jaring_node::submission::NewIndicator;
use jaring_node::view::{IndicatorRecord, LookupResult};
use jaring_node::wire::{FromPb, ToPb, WireEnum};
use jaring_proto::pb;
use serde::Serialize;

use super::parse_list;
use crate::client::{Client, Target, status_error};
use crate::output::Output;

/// Candidates sent to the node per Lookup or SubmitIndicators call.
const BATCH: usize = 256;

/// Extract candidate indicators from text.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  jaring extract advert.txt --region ID
  curl -s https://example.invalid/post | jaring extract - --region VN --json
  jaring --node ./id-node extract advert.txt                      # also: already listed? by whom?
  jaring --node ./id-node extract advert.txt --submit --category job_scam --tlp green \\
      --source-ref https://facebook.com/groups/x/posts/1")]
pub struct ExtractArgs {
    /// The text to read; `-` or nothing: standard input.
    file: Option<PathBuf>,
    /// Region (ISO 3166-1 alpha-2) for national phone numbers; default: the node's with --node.
    #[arg(long)]
    region: Option<String>,
    /// Leave out candidates below this confidence (0-100).
    #[arg(long, default_value_t = 0)]
    min_confidence: u8,
    /// Publish every candidate through the node (allowlists and validation apply; one result each).
    #[arg(long, requires = "categories")]
    submit: bool,
    /// With --submit: categories (repeat or comma-separate), e.g. job_scam.
    #[arg(long = "category")]
    categories: Vec<String>,
    /// With --submit: clear, green, amber, amber+strict, red.
    #[arg(long, default_value = "amber")]
    tlp: Tlp,
    /// With --submit: local, direct or federation.
    #[arg(long, default_value = "federation")]
    distribution: Distribution,
    /// With --submit: where the text was found (URL of the post, case number); repeatable.
    #[arg(long = "source-ref")]
    source_refs: Vec<String>,
    /// With --submit: the confidence to publish (default: each candidate's own).
    #[arg(long)]
    confidence: Option<u32>,
    /// With --submit: publish even values on an allowlist (recorded in the audit log).
    #[arg(long)]
    override_allowlist: bool,
    /// Do not ask the node (offline extraction even with --node).
    #[arg(long, conflicts_with = "submit")]
    offline: bool,
}

/// What happened to a submitted candidate.
#[derive(Debug, Serialize)]
#[serde(rename_all = "snake_case")]
enum Submitted {
    /// Stored and signed: its id and version.
    Stored { id: String, version: u64 },
    /// Refused, nothing stored.
    Refused { field: String, reason: String },
}

/// One printed candidate.
#[derive(Debug, Serialize)]
struct Row {
    #[serde(flatten)]
    candidate: Candidate,
    #[serde(skip_serializing_if = "Option::is_none")]
    submitted: Option<Submitted>,
}

/// Counts for the closing line.
#[derive(Debug, Default)]
struct Totals {
    candidates: u64,
    flagged: u64,
    listed: u64,
    stored: u64,
    refused: u64,
}

/// Where the node is, when one is used.
struct NodeSession {
    client: Client,
}

/// Calls in flight at once when asking the node's allowlists.
const CHECKS_IN_FLIGHT: usize = 16;

impl NodeSession {
    /// Adds `allowlist: LIST` to each candidate the node's allowlists hold
    /// (the list a submission would be stopped by).
    async fn flag(&mut self, batch: &mut [Candidate]) -> Result<()> {
        let mut lists: Vec<Option<String>> = vec![None; batch.len()];
        let mut calls = tokio::task::JoinSet::new();
        for (i, c) in batch.iter().enumerate() {
            if calls.len() >= CHECKS_IN_FLIGHT
                && let Some(done) = calls.join_next().await
            {
                let (at, list) = done.context("an allowlist check")??;
                lists[at] = list;
            }
            let mut client = self.client.clone();
            let req = pb::AllowlistCheckRequest { value: c.value.clone(), kind: c.kind.to_wire() };
            calls.spawn(async move {
                let resp = client.allowlist_check(req).await.map_err(status_error)?.into_inner();
                let list = resp.results.into_iter().find_map(|r| r.matches.into_iter().next()).map(|m| m.list);
                Ok::<_, anyhow::Error>((i, list))
            });
        }
        while let Some(done) = calls.join_next().await {
            let (at, list) = done.context("an allowlist check")??;
            lists[at] = list;
        }
        for (c, list) in batch.iter_mut().zip(lists) {
            if let Some(list) = list {
                c.notes.push(format!("allowlist: {list}"));
            }
        }
        Ok(())
    }
}

/// Runs `jaring extract`.
///
/// # Errors
///
/// Unreadable input, a bad region, a node that cannot be reached when one
/// is asked for, or refused submission flags.
pub async fn run(a: ExtractArgs, target: &Target, out: &Output) -> Result<()> {
    let wants_node = (target.node.is_some() || target.admin.is_some()) && !a.offline;
    if a.submit && !wants_node {
        bail!("--submit publishes through a node: say which with --node DIR (or --admin ADDR --token-file FILE)");
    }
    let categories: Vec<Category> = parse_list(&a.categories)?;
    let region = match (&a.region, &target.node) {
        (Some(r), _) => Some(r.clone()),
        (None, Some(dir)) => jaring_node::config::Config::load(&dir.join("node.toml")).ok().and_then(|c| c.region),
        (None, None) => None,
    };
    let options = ExtractOptions::new(region.as_deref()).map_err(|e| anyhow!("--region: {e}"))?;

    // Through a node, the node's own lists flag the candidates (built-in,
    // admin and imported warninglists: `NodeSession::flag`); offline, the
    // built-in ones.
    let mut session = None;
    let index = if wants_node {
        session = Some(NodeSession { client: target.connect().await? });
        None
    } else {
        Some(jaring_node::warninglist::builtin::index())
    };
    let flag = |k: Kind, v: &str| index.as_ref().and_then(|i| i.check(k, v)).map(|hit| hit.list.to_owned());

    let mut input: Box<dyn Read> = match a.file.as_deref() {
        None => Box::new(std::io::stdin().lock()),
        Some(p) if p.as_os_str() == "-" => Box::new(std::io::stdin().lock()),
        Some(p) => Box::new(std::fs::File::open(p).with_context(|| format!("opening {}", p.display()))?),
    };
    let stdout = std::io::stdout();
    let mut w = BufWriter::new(stdout.lock());
    let mut printer = Printer { json: out.json, first: true, totals: Totals::default() };
    printer.begin(&mut w)?;

    let mut stream = StreamExtractor::new(options, &flag);
    let mut found = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e).context("reading the input"),
        };
        stream.feed(buf.get(..n).unwrap_or_default(), &mut found);
        if found.len() >= BATCH || (session.is_none() && !found.is_empty()) {
            let batch = std::mem::take(&mut found);
            printer.batch(&mut w, session.as_mut(), &a, &categories, batch).await?;
        }
    }
    stream.finish(&mut found);
    while !found.is_empty() {
        let rest = found.split_off(found.len().min(BATCH));
        let batch = std::mem::replace(&mut found, rest);
        printer.batch(&mut w, session.as_mut(), &a, &categories, batch).await?;
    }
    printer.end(&mut w, a.submit)?;
    w.flush()?;
    Ok(())
}

struct Printer {
    json: bool,
    first: bool,
    totals: Totals,
}

impl Printer {
    fn begin(&mut self, w: &mut impl Write) -> Result<()> {
        if self.json {
            writeln!(w, "{{\"candidates\": [")?;
        }
        Ok(())
    }

    fn end(&mut self, w: &mut impl Write, submitted: bool) -> Result<()> {
        let t = &self.totals;
        if self.json {
            writeln!(w, "{}]}}", if self.first { "" } else { "\n" })?;
        } else {
            let mut line = format!("{} candidate(s), {} on an allowlist", t.candidates, t.flagged);
            if t.listed > 0 {
                line.push_str(&format!(", {} already listed", t.listed));
            }
            if submitted {
                line.push_str(&format!("; submitted: {} stored, {} refused", t.stored, t.refused));
            }
            writeln!(w, "{line}")?;
        }
        Ok(())
    }

    /// Looks a batch up and submits it (with a node), then prints it.
    async fn batch(
        &mut self,
        w: &mut impl Write,
        session: Option<&mut NodeSession>,
        a: &ExtractArgs,
        categories: &[Category],
        batch: Vec<Candidate>,
    ) -> Result<()> {
        let mut batch: Vec<Candidate> = batch.into_iter().filter(|c| c.confidence >= a.min_confidence).collect();
        if batch.is_empty() {
            return Ok(());
        }
        let mut submitted: Vec<Option<Submitted>> = batch.iter().map(|_| None).collect();
        if let Some(s) = session {
            s.flag(&mut batch).await?;
            let queries =
                batch.iter().map(|c| pb::LookupQuery { value: c.value.clone(), kind: c.kind.to_wire() }).collect();
            let resp = s
                .client
                .lookup(pb::LookupRequest { queries, min_score: 0, summary: false })
                .await
                .map_err(status_error)?
                .into_inner();
            for (c, r) in batch.iter_mut().zip(resp.results) {
                let r = LookupResult::from_pb(r).context("decoding the lookup answer")?;
                c.listed = Some(Listing::of(&r, c.kind));
            }
            if a.submit {
                let inputs: Vec<pb::IndicatorInput> =
                    batch.iter().map(|c| submission(c, a, categories).to_pb()).collect();
                let resp = s
                    .client
                    .submit_indicators(pb::SubmitIndicatorsRequest {
                        indicators: inputs,
                        override_allowlist: a.override_allowlist,
                        ..Default::default()
                    })
                    .await
                    .map_err(status_error)?
                    .into_inner();
                for (slot, r) in submitted.iter_mut().zip(resp.results) {
                    *slot = Some(match r.result {
                        // Only with `unchanged: SKIP`, which this request does not send.
                        Some(pb::submit_result::Result::Stored(rec) | pb::submit_result::Result::Unchanged(rec)) => {
                            let rec = IndicatorRecord::from_pb(rec).context("decoding the stored record")?;
                            Submitted::Stored { id: rec.id, version: rec.version }
                        }
                        Some(pb::submit_result::Result::Error(e)) => {
                            Submitted::Refused { field: e.field, reason: e.reason }
                        }
                        None => Submitted::Refused { field: String::new(), reason: "empty answer".into() },
                    });
                }
            }
        }
        for (candidate, submitted) in batch.into_iter().zip(submitted) {
            self.row(w, Row { candidate, submitted })?;
        }
        Ok(())
    }

    fn row(&mut self, w: &mut impl Write, row: Row) -> Result<()> {
        let t = &mut self.totals;
        t.candidates += 1;
        t.flagged += u64::from(row.candidate.notes.iter().any(|n| n.starts_with("allowlist: ")));
        t.listed += u64::from(row.candidate.listed.as_ref().is_some_and(|l| l.found));
        match &row.submitted {
            Some(Submitted::Stored { .. }) => t.stored += 1,
            Some(Submitted::Refused { .. }) => t.refused += 1,
            None => {}
        }
        if self.json {
            if !self.first {
                writeln!(w, ",")?;
            }
            write!(w, "  {}", serde_json::to_string(&row)?)?;
            self.first = false;
            return Ok(());
        }
        let c = &row.candidate;
        write!(w, "{:<16} {:<40} {:>3}  {}-{}  {:?}", c.kind.as_str(), c.value, c.confidence, c.start, c.end, c.text)?;
        if !c.notes.is_empty() {
            write!(w, "  ({})", c.notes.join("; "))?;
        }
        writeln!(w)?;
        if let Some(l) = &c.listed {
            if l.found {
                let cats: Vec<&str> = l.categories.iter().map(|c| c.as_str()).collect();
                writeln!(
                    w,
                    "    listed by {} ({}, score {}, [{}])",
                    l.by.join(", "),
                    l.status.as_deref().unwrap_or("-"),
                    l.score.unwrap_or(0),
                    cats.join(",")
                )?;
            } else {
                writeln!(w, "    not listed")?;
            }
        }
        match &row.submitted {
            Some(Submitted::Stored { id, version }) => writeln!(w, "    submitted: stored {id} v{version}")?,
            Some(Submitted::Refused { field, reason }) => writeln!(w, "    submitted: refused: {field}: {reason}")?,
            None => {}
        }
        Ok(())
    }
}

/// The submission of a candidate with the command's flags.
fn submission(c: &Candidate, a: &ExtractArgs, categories: &[Category]) -> NewIndicator {
    NewIndicator {
        kind: Some(c.kind),
        value: c.value.clone(),
        categories: categories.to_vec(),
        confidence: a.confidence.unwrap_or(u32::from(c.confidence)),
        tlp: Some(a.tlp),
        distribution: Some(a.distribution),
        first_seen_ms: None,
        last_seen_ms: None,
        valid_until_ms: None,
        description: None,
        source_refs: a.source_refs.clone(),
    }
}
