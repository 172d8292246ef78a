//! `jaring allowlist add|remove|list|import`: values never published as
//! scams without `--override-allowlist`.

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use jaring_node::allowlist::{AllowEntry, ListAction};
use jaring_node::model::Kind;
use jaring_node::wire::{FromPb, WireEnum};
use jaring_proto::pb;

use crate::client::{Client, Target, status_error};
use crate::output::Output;

/// Allowlist commands.
#[derive(Debug, Subcommand)]
pub enum AllowlistCmd {
    /// Add an entry: a domain rule (matches the domain and every host under it, in domains,
    /// URLs and e-mail addresses) or, with --kind, an exact value.
    #[command(
        after_help = "Examples:\n  jaring --node ./id-node allowlist add gov-id kemnaker.go.id\n  jaring --node ./id-node allowlist add hotlines --kind phone '+62 811 000 111'\n  jaring --node ./id-node allowlist add shorteners lnkd.in --review"
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
    /// Remove an entry, or a whole list when no value is given.
    #[command(
        after_help = "Examples:\n  jaring --node ./id-node allowlist remove gov-id kemnaker.go.id\n  jaring --node ./id-node allowlist remove gov-id"
    )]
    Remove {
        /// List name.
        list: String,
        /// The entry (default: the whole list).
        value: Option<String>,
    },
    /// List entries (built-in ones with --builtin).
    #[command(after_help = "Example:\n  jaring --node ./id-node allowlist list --builtin")]
    List {
        /// Only this list.
        list: Option<String>,
        /// Include the built-in lists.
        #[arg(long)]
        builtin: bool,
    },
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
        AllowlistCmd::List { list, builtin } => {
            let resp = client
                .allowlist_list(pb::AllowlistListRequest { list: list.unwrap_or_default(), include_builtin: builtin })
                .await
                .map_err(status_error)?
                .into_inner();
            let entries: Vec<AllowEntry> = resp.entries.into_iter().map(FromPb::from_pb).collect::<Result<_, _>>()?;
            if out.json {
                out.json(&entries);
            } else if entries.is_empty() {
                println!("no allowlist entries");
            } else {
                for e in &entries {
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
            Ok(())
        }
    }
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
