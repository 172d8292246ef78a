//! `jaring allowlist import-misp` and `import-ranked`: large lists from
//! files. The CLI finds the files and sends each one's bytes to the node in
//! parts within its `max_message_bytes` (`AllowlistImport`); the node reads
//! them with its own normalization settings, keeps or skips each list, and
//! says what it took and refused.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;
use jaring_node::allowlist::ListAction;
use jaring_node::node::ListImport;
use jaring_node::warninglist::files::{self, MAX_LIST_FILE};
use jaring_node::warninglist::{DomainScope, ListFormat};
use jaring_node::wire::ToPb;
use jaring_proto::pb;
use serde_json::{Value, json};

use crate::client::{Client, status_error};
use crate::output::Output;

/// `allowlist import-misp`.
#[derive(Debug, Args)]
pub struct MispArgs {
    /// A MISP `list.json`, one list's folder, or a folder of lists (a clone
    /// of misp-warninglists, or its `lists/` folder).
    path: PathBuf,
    /// What a match does.
    #[arg(long, default_value = "refuse")]
    action: ListAction,
    /// How far `hostname` rules reach: site (the list's own sites; a
    /// platform's customers stay reportable) or subtree (every host under).
    #[arg(long, default_value = "site")]
    scope: DomainScope,
}

/// `allowlist import-ranked`.
#[derive(Debug, Args)]
pub struct RankedArgs {
    /// One domain per line, or `rank,domain` lines (Tranco's format).
    file: PathBuf,
    /// Keep ranks 1 to N only.
    #[arg(long)]
    top: u64,
    /// List name (default: from the file name, e.g. `top-1m` for top-1m.csv).
    #[arg(long)]
    list: Option<String>,
    /// What a match does.
    #[arg(long, default_value = "refuse")]
    action: ListAction,
    /// How far its rules reach: site (default) or subtree.
    #[arg(long, default_value = "site")]
    scope: DomainScope,
}

/// Files this size and up show progress on stderr.
const PROGRESS_FROM: usize = 4 * 1024 * 1024;

/// The largest part sent: the node's `max_message_bytes` less room for the
/// framing, at most 1 MiB.
pub(crate) async fn part_size(client: &mut Client) -> Result<usize> {
    let status = client.status(pb::StatusRequest {}).await.map_err(status_error)?.into_inner();
    let max = usize::try_from(status.max_message_bytes).unwrap_or(usize::MAX);
    Ok(max.saturating_sub(4096).clamp(16 * 1024, 1024 * 1024))
}

/// Sends one file's bytes; the node's answer.
pub(crate) async fn send(
    client: &mut Client,
    what: &ListImport,
    bytes: Vec<u8>,
    part: usize,
    progress: bool,
) -> Result<pb::AllowlistImportResponse> {
    let total = bytes.len();
    let mut header = what.to_pb();
    header.size = total as u64;
    let name = what.name.clone();
    let show = progress && total >= PROGRESS_FROM;
    let mut sent = 0usize;
    let mut next_report = total / 10;
    let data = (0..total).step_by(part.max(1)).map(move |offset| {
        let d = bytes.get(offset..(offset + part).min(total)).unwrap_or_default().to_vec();
        sent += d.len();
        if show && sent >= next_report {
            eprintln!("jaring: {name}: sent {} of {} MiB", sent >> 20, total >> 20);
            next_report = sent + total / 10;
        }
        pb::AllowlistImportPart { part: Some(pb::allowlist_import_part::Part::Data(d)) }
    });
    let first = pb::AllowlistImportPart { part: Some(pb::allowlist_import_part::Part::Header(header)) };
    let parts = std::iter::once(first).chain(data);
    if show {
        eprintln!(
            "jaring: {}: sending {} MiB; the node reads and indexes it after the last part",
            what.name,
            total >> 20
        );
    }
    Ok(client.allowlist_import(tokio_stream::iter(parts)).await.map_err(status_error)?.into_inner())
}

fn read_capped(path: &Path) -> Result<Vec<u8>> {
    let len = std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?.len();
    if len > MAX_LIST_FILE {
        bail!("{}: larger than {MAX_LIST_FILE} bytes", path.display());
    }
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}

fn counts(c: Option<&pb::AllowlistRuleCounts>) -> Value {
    let c = c.cloned().unwrap_or_default();
    json!({"domains": c.domains, "exact": c.exact, "addresses": c.addresses, "networks": c.networks})
}

/// What one import did, as `--json` prints it.
fn imported_json(file: &Path, r: &pb::AllowlistImportResponse) -> Value {
    let list = r.list.clone().unwrap_or_default();
    json!({
        "name": r.name,
        "file": file.display().to_string(),
        "version": (list.version != 0).then_some(list.version),
        "action": list.action,
        "rules": counts(list.rules.as_ref()),
        "read": r.read,
        "refused": r.refused,
        "refused_samples": r.refused_samples.iter().map(|s| json!({"value": s.value, "reason": s.reason})).collect::<Vec<_>>(),
        "ignored_attributes": r.ignored_attributes,
        "leading_dot_rules": r.leading_dot_rules,
        "past_top": r.past_top,
        "replaced_version": r.replaced.then_some(r.replaced_version),
    })
}

/// One line for an imported list, e.g. `imported misp-bank-domains v9
/// (refuse): 5 domain rules; 2 refused ("corona helden": ...)`.
fn imported_line(r: &pb::AllowlistImportResponse) -> String {
    let list = r.list.clone().unwrap_or_default();
    let c = list.rules.unwrap_or_default();
    let shapes: Vec<String> =
        [(c.domains, "domain rules"), (c.exact, "exact values"), (c.addresses, "addresses"), (c.networks, "networks")]
            .iter()
            .filter(|(n, _)| *n > 0)
            .map(|(n, what)| format!("{n} {what}"))
            .collect();
    let mut line = format!(
        "imported {}{} ({}): {}",
        r.name,
        if list.version != 0 { format!(" v{}", list.version) } else { String::new() },
        list.action,
        shapes.join(", ")
    );
    if r.replaced {
        line.push_str(&if r.replaced_version != 0 {
            format!("; replaces v{}", r.replaced_version)
        } else {
            "; replaces the list held".to_string()
        });
    }
    if r.refused > 0 {
        line.push_str(&format!("; {} of {} values refused", r.refused, r.read));
        if let Some(first) = r.refused_samples.first() {
            line.push_str(&format!(" (first: {:?}: {})", first.value, first.reason));
        }
    }
    if !r.ignored_attributes.is_empty() {
        line.push_str(&format!("; ignored attributes: {}", r.ignored_attributes.join(", ")));
    }
    if r.past_top {
        line.push_str("; cut at --top");
    }
    line
}

/// What a run of imports did.
#[derive(Default)]
struct Tally {
    imported: Vec<Value>,
    up_to_date: Vec<Value>,
    skipped: Vec<Value>,
    refused_values: u64,
}

impl Tally {
    fn record(&mut self, file: &Path, r: &pb::AllowlistImportResponse, out: &Output) {
        if r.imported {
            self.refused_values += r.refused;
            if !out.json {
                println!("{}", imported_line(r));
                for s in r.refused_samples.iter().skip(1) {
                    println!("  refused {:?}: {}", s.value, s.reason);
                }
            }
            self.imported.push(imported_json(file, r));
        } else {
            let entry = json!({"name": r.name, "file": file.display().to_string(), "reason": r.skipped_reason});
            if !out.json {
                println!("skipped {}: {}", r.name, r.skipped_reason);
            }
            if r.up_to_date { self.up_to_date.push(entry) } else { self.skipped.push(entry) }
        }
    }

    fn skip_local(&mut self, file: &Path, name: &str, reason: &str, out: &Output) {
        if !out.json {
            println!("skipped {name}: {reason}");
        }
        self.skipped.push(json!({"name": name, "file": file.display().to_string(), "reason": reason}));
    }

    /// Prints the totals; fails when every list was refused.
    fn finish(self, out: &Output) -> Result<()> {
        let (i, u, s) = (self.imported.len(), self.up_to_date.len(), self.skipped.len());
        if out.json {
            out.json(&json!({
                "imported": self.imported,
                "up_to_date": self.up_to_date,
                "skipped": self.skipped,
                "refused_values": self.refused_values,
            }));
        } else {
            println!(
                "{i} list(s) imported, {u} already up to date, {s} skipped; {} value(s) refused",
                self.refused_values
            );
        }
        if i == 0 && u == 0 {
            bail!("no list was imported");
        }
        Ok(())
    }
}

/// Runs `allowlist import-misp`.
///
/// # Errors
///
/// The path cannot be read, the node is unreachable, or no list imported.
pub async fn misp(client: &mut Client, a: MispArgs, out: &Output) -> Result<()> {
    let list_files = files::misp_list_files(&a.path)?;
    let part = part_size(client).await?;
    let mut tally = Tally::default();
    for file in &list_files {
        let name = files::misp_name_for(file);
        let bytes = match read_capped(file) {
            Ok(b) => b,
            Err(e) => {
                tally.skip_local(file, &name, &format!("{e:#}"), out);
                continue;
            }
        };
        let what = ListImport {
            format: ListFormat::Misp,
            name,
            source: file.display().to_string(),
            action: a.action,
            scope: a.scope,
            top: None,
        };
        let r = send(client, &what, bytes, part, !out.json).await?;
        tally.record(file, &r, out);
    }
    tally.finish(out)
}

/// A list name from a file's stem: lower case, characters outside
/// `a-z 0-9 - _ .` as `-`, at most 64.
fn name_from_file(file: &Path) -> String {
    let stem = file.file_stem().map(|s| s.to_string_lossy().to_string()).unwrap_or_default();
    let mut name: String = stem
        .chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '-' }
        })
        .collect::<String>()
        .trim_matches('-')
        .to_string();
    name.truncate(64);
    if name.is_empty() { "top-sites".into() } else { name }
}

/// Runs `allowlist import-ranked`.
///
/// # Errors
///
/// The file cannot be read, the node is unreachable, or the list was not
/// imported.
pub async fn ranked(client: &mut Client, a: RankedArgs, out: &Output) -> Result<()> {
    if a.top == 0 {
        bail!("--top must be at least 1");
    }
    let bytes = read_capped(&a.file)?;
    let part = part_size(client).await?;
    let what = ListImport {
        format: ListFormat::Ranked,
        name: a.list.unwrap_or_else(|| name_from_file(&a.file)),
        source: a.file.display().to_string(),
        action: a.action,
        scope: a.scope,
        top: Some(a.top),
    };
    let r = send(client, &what, bytes, part, !out.json).await?;
    let mut tally = Tally::default();
    tally.record(&a.file, &r, out);
    tally.finish(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_names_come_from_file_names() {
        assert_eq!(name_from_file(Path::new("/data/top-1m.csv")), "top-1m");
        assert_eq!(name_from_file(Path::new("Tranco List (2026).txt")), "tranco-list--2026");
        assert_eq!(name_from_file(Path::new("---.csv")), "top-sites");
    }
}
