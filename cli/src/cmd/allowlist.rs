//! `jaring allowlist add|remove|list|import|import-misp|import-ranked|check`:
//! values never published as scams without `--override-allowlist`. Large
//! lists from files are [`super::allowlist_import`].

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use jaring_node::allowlist::{AllowEntry, ListAction};
use jaring_node::model::Kind;
use jaring_node::node::AllowCheck;
use jaring_node::warninglist::{IndexStats, ListFormat, ListInfo, RuleCounts};
use jaring_node::wire::{FromPb, WireEnum};
use jaring_proto::pb;

use crate::client::{Client, Target, status_error};
use crate::output::Output;

/// Allowlist commands.
#[derive(Debug, Subcommand)]
pub enum AllowlistCmd {
    /// Add an entry: a domain rule (matches the domain and every host under it, as a domain or
    /// as the host of a URL of the whole site; never an e-mail address) or, with --kind, an
    /// exact value (for --kind ip also a network such as 203.0.113.0/24).
    #[command(
        after_help = "Examples:\n  jaring --node ./id-node allowlist add gov-id kemnaker.go.id\n  jaring --node ./id-node allowlist add hotlines --kind phone '+62 811 000 111'\n  jaring --node ./id-node allowlist add shorteners lnkd.in --review\n  jaring --node ./id-node allowlist add partner-nets --kind ip 203.0.113.0/24"
    )]
    Add {
        /// List name.
        list: String,
        /// Domain (rule) or value.
        value: String,
        /// Exact value of this kind instead of a domain rule.
        #[arg(long)]
        kind: Option<Kind>,
        /// Hold matches for review instead of refusing them.
        #[arg(long)]
        review: bool,
        /// Why it is listed.
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Remove an entry, or a whole list when no value is given (an imported list is removed whole).
    #[command(
        after_help = "Examples:\n  jaring --node ./id-node allowlist remove gov-id kemnaker.go.id\n  jaring --node ./id-node allowlist remove gov-id"
    )]
    Remove {
        /// List name.
        list: String,
        /// The entry (default: the whole list).
        value: Option<String>,
    },
    /// Show every list (built-in, admin, imported) with its source, version and size; with a
    /// list name, that list's entries (or, for an imported list, what it is).
    #[command(
        after_help = "Examples:\n  jaring --node ./id-node allowlist list\n  jaring --node ./id-node allowlist list gov-id\n  jaring --node ./id-node allowlist list --entries --builtin"
    )]
    List {
        /// Only this list.
        list: Option<String>,
        /// Every admin entry, one per line, instead of the lists.
        #[arg(long)]
        entries: bool,
        /// With --entries: the built-in entries too.
        #[arg(long)]
        builtin: bool,
    },
    /// Which allowlists a value is on, as a submission of it would meet them.
    #[command(
        after_help = "Examples:\n  jaring --node ./id-node allowlist check mail.google.com\n  jaring --node ./id-node allowlist check --kind ip 10.1.2.3"
    )]
    Check {
        /// The value as seen.
        value: String,
        /// Read it as this kind only (default: every kind it reads as).
        #[arg(long)]
        kind: Option<Kind>,
    },
    /// Import MISP warninglists: a list.json, one list's folder, or a folder of lists (a clone of
    /// misp-warninglists). Each becomes list misp-FOLDER; a list whose version is held already is
    /// skipped, a newer version replaces it atomically; lists of types Jaring does not match
    /// (substring, regex) or of attributes it does not hold are skipped, saying why.
    #[command(
        name = "import-misp",
        after_help = "Examples:\n  git clone https://github.com/MISP/misp-warninglists\n  jaring --node ./id-node allowlist import-misp misp-warninglists/lists\n  jaring --node ./id-node allowlist import-misp misp-warninglists/lists/url-shortener --action review"
    )]
    ImportMisp(super::allowlist_import::MispArgs),
    /// Import a top-sites ranking: one domain per line, or `rank,domain` lines (Tranco). Its rules
    /// cover each domain's own site (a hosting platform's customers stay reportable); importing
    /// again replaces the list.
    #[command(
        name = "import-ranked",
        after_help = "Example:\n  jaring --node ./id-node allowlist import-ranked top-1m.csv --top 100000 --list tranco-top-100k"
    )]
    ImportRanked(super::allowlist_import::RankedArgs),
    /// Import entries into a list from a file: one per line, `domain` or `kind:value`,
    /// `#` comments; a line ending in ` review` is held for review.
    #[command(after_help = "Example:\n  jaring --node ./id-node allowlist import banks bank-domains.txt")]
    Import {
        /// List name.
        list: String,
        /// The file.
        file: std::path::PathBuf,
    },
}

fn entry(list: &str, value: &str, kind: Option<Kind>, review: bool, note: &str) -> pb::AllowlistEntry {
    let action = if review { ListAction::Review } else { ListAction::Refuse };
    pb::AllowlistEntry {
        list: list.into(),
        value: value.into(),
        kind: kind.map_or(0, WireEnum::to_wire),
        action: action.as_str().into(),
        builtin: false,
        note: note.into(),
    }
}

/// Parses an import file into entries.
///
/// # Errors
///
/// A line with an unknown kind, naming the line.
fn parse_file(list: &str, text: &str) -> Result<Vec<pb::AllowlistEntry>> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let (line, review) = match line.strip_suffix(" review") {
            Some(l) => (l.trim(), true),
            None => (line, false),
        };
        let (kind, value) = match line.split_once(':') {
            Some((k, v)) if !k.contains('.') && !k.contains('/') => {
                (Some(k.parse::<Kind>().with_context(|| format!("line {}", n + 1))?), v.trim())
            }
            _ => (None, line),
        };
        out.push(entry(list, value, kind, review, ""));
    }
    Ok(out)
}

async fn add(client: &mut Client, entries: Vec<pb::AllowlistEntry>, out: &Output) -> Result<()> {
    let resp = client.allowlist_add(pb::AllowlistAddRequest { entries }).await.map_err(status_error)?.into_inner();
    let added: Vec<AllowEntry> = resp.added.into_iter().map(FromPb::from_pb).collect::<Result<_, _>>()?;
    if out.json {
        out.json(&serde_json::json!({
            "added": added,
            "errors": resp.errors.iter().map(|e| format!("{}: {}", e.field, e.reason)).collect::<Vec<_>>(),
        }));
    } else {
        for e in &added {
            println!("added {} {} ({})", e.list, e.value, e.action.as_str());
        }
        for e in &resp.errors {
            println!("refused: {}: {}", e.field, e.reason);
        }
    }
    if added.is_empty() && !resp.errors.is_empty() {
        bail!("nothing added");
    }
    Ok(())
}

/// Runs an allowlist command.
///
/// # Errors
///
/// Refused entries, unknown list, node unreachable.
pub async fn run(cmd: AllowlistCmd, target: &Target, out: &Output) -> Result<()> {
    let mut client = target.connect().await?;
    match cmd {
        AllowlistCmd::Add { list, value, kind, review, note } => {
            add(&mut client, vec![entry(&list, &value, kind, review, &note)], out).await
        }
        AllowlistCmd::Import { list, file } => {
            let text = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
            let entries = parse_file(&list, &text)?;
            if entries.is_empty() {
                bail!("{}: no entries", file.display());
            }
            add(&mut client, entries, out).await
        }
        AllowlistCmd::Remove { list, value } => {
            let resp = client
                .allowlist_remove(pb::AllowlistRemoveRequest { list: list.clone(), value: value.unwrap_or_default() })
                .await
                .map_err(status_error)?
                .into_inner();
            if out.json {
                out.json(&serde_json::json!({ "removed": resp.removed }));
            } else {
                println!("removed {} entr(ies) from {list}", resp.removed);
            }
            Ok(())
        }
        AllowlistCmd::List { list, entries, builtin } => list_cmd(&mut client, list, entries, builtin, out).await,
        AllowlistCmd::Check { value, kind } => {
            let resp = client
                .allowlist_check(pb::AllowlistCheckRequest {
                    value: value.clone(),
                    kind: kind.map_or(0, WireEnum::to_wire),
                })
                .await
                .map_err(status_error)?
                .into_inner();
            let results: Vec<AllowCheck> = resp.results.into_iter().map(FromPb::from_pb).collect::<Result<_, _>>()?;
            if out.json {
                out.json(&results);
                return Ok(());
            }
            if results.is_empty() {
                println!("{value:?} is not a value of any kind");
            }
            for r in &results {
                match r.matches.first() {
                    None => println!("{} {}: on no allowlist", r.kind, r.canonical),
                    Some(_) => {
                        println!("{} {}:", r.kind, r.canonical);
                        for m in &r.matches {
                            println!("  {:<28} {:<7} {}", m.list, m.action.as_str(), m.rule);
                        }
                    }
                }
            }
            Ok(())
        }
        AllowlistCmd::ImportMisp(a) => super::allowlist_import::misp(&mut client, a, out).await,
        AllowlistCmd::ImportRanked(a) => super::allowlist_import::ranked(&mut client, a, out).await,
    }
}

fn print_entries(entries: &[AllowEntry]) {
    if entries.is_empty() {
        println!("no allowlist entries");
    }
    for e in entries {
        println!(
            "{:<20} {:<8} {}{}{}",
            e.list,
            e.action.as_str(),
            e.kind.map(|k| format!("{k}:")).unwrap_or_default(),
            e.value,
            if e.builtin { "  (built in)" } else { "" }
        );
    }
}

/// The rule counts of a list, in words.
fn shapes(c: &RuleCounts) -> String {
    let parts: Vec<String> =
        [(c.domains, "domain"), (c.exact, "exact"), (c.addresses, "address"), (c.networks, "network")]
            .iter()
            .filter(|(n, _)| *n > 0)
            .map(|(n, what)| format!("{n} {what}"))
            .collect();
    if parts.is_empty() { "no rules".into() } else { parts.join(", ") }
}

fn info_json(l: &ListInfo) -> serde_json::Value {
    serde_json::json!({
        "name": l.meta.name,
        "format": l.meta.format.as_str(),
        "source": l.meta.source,
        "version": l.meta.version,
        "title": l.meta.title,
        "description": l.meta.description,
        "category": l.meta.category,
        "action": if l.meta.format == ListFormat::Admin { None } else { Some(l.meta.action.as_str()) },
        "rules": l.rules,
        "size": l.rules.total(),
    })
}

/// `allowlist list`.
async fn list_cmd(client: &mut Client, list: Option<String>, entries: bool, builtin: bool, out: &Output) -> Result<()> {
    let resp = client.allowlist_lists(pb::AllowlistListsRequest {}).await.map_err(status_error)?.into_inner();
    let lists: Vec<ListInfo> = resp.lists.into_iter().map(FromPb::from_pb).collect::<Result<_, _>>()?;
    let stats = resp.stats.map(IndexStats::from_pb).transpose()?.unwrap_or_default();
    let one = list.as_deref().and_then(|n| lists.iter().find(|l| l.meta.name == n));
    if entries || one.is_some_and(|l| matches!(l.meta.format, ListFormat::Admin | ListFormat::Builtin)) {
        let name = list.clone().unwrap_or_default();
        let include_builtin = builtin || name.starts_with("builtin-");
        let resp = client
            .allowlist_list(pb::AllowlistListRequest { list: name, include_builtin })
            .await
            .map_err(status_error)?
            .into_inner();
        let entries: Vec<AllowEntry> = resp.entries.into_iter().map(FromPb::from_pb).collect::<Result<_, _>>()?;
        if out.json {
            out.json(&entries);
        } else {
            print_entries(&entries);
        }
        return Ok(());
    }
    if let Some(name) = &list {
        let Some(l) = one else { bail!("no allowlist {name:?}") };
        if out.json {
            out.json(&info_json(l));
        } else {
            println!("{} ({}, {}): {}", l.meta.name, l.meta.format.as_str(), l.meta.action.as_str(), shapes(&l.rules));
            for (what, v) in
                [("title", &l.meta.title), ("description", &l.meta.description), ("source", &l.meta.source)]
            {
                if !v.is_empty() {
                    println!("  {what}: {v}");
                }
            }
            if let Some(v) = l.meta.version {
                println!("  version: {v}");
            }
        }
        return Ok(());
    }
    if out.json {
        out.json(&serde_json::json!({
            "lists": lists.iter().map(info_json).collect::<Vec<_>>(),
            "index": stats,
        }));
        return Ok(());
    }
    println!("{:<30} {:<8} {:<7} {:>10}  {:<10} SOURCE", "LIST", "FORMAT", "ACTION", "SIZE", "VERSION");
    for l in &lists {
        let action = if l.meta.format == ListFormat::Admin { "entries" } else { l.meta.action.as_str() };
        println!(
            "{:<30} {:<8} {:<7} {:>10}  {:<10} {}",
            l.meta.name,
            l.meta.format.as_str(),
            action,
            l.rules.total(),
            l.meta.version.map(|v| v.to_string()).unwrap_or_else(|| "-".into()),
            if l.meta.source.is_empty() { "-" } else { l.meta.source.as_str() },
        );
    }
    println!(
        "index: {} lists; {}; {:.1} MiB in memory",
        stats.lists,
        shapes(&stats.rules),
        stats.memory_bytes as f64 / (1024.0 * 1024.0)
    );
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn import_lines_parse() {
        let e = parse_file("l", "# banks\nbca.co.id\nphone:+62811000111\nlnkd.in review\n\n").unwrap();
        assert_eq!(e.len(), 3);
        assert_eq!((e[0].value.as_str(), e[0].kind, e[0].action.as_str()), ("bca.co.id", 0, "refuse"));
        assert_eq!(e[1].kind, Kind::Phone.to_wire());
        assert_eq!(e[1].value, "+62811000111");
        assert_eq!(e[2].action, "review");
        assert!(parse_file("l", "planet:x").is_err());
    }
}
