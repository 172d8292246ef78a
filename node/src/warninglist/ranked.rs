//! Top-site rankings: a plain file of one domain per line, or `rank,domain`
//! lines as Tranco publishes them (`1,google.com`), read as a stream.
//!
//! Blank lines and `#` comments are skipped, and so is a first line that
//! is a header (`rank,domain`). A plain line's rank is its position among
//! the domain lines. With a `top` cut, lines ranked past it end the read
//! (ranking files are sorted by rank). Each domain becomes a domain rule
//! ([`normalize_domain_rule`]), by default of [`DomainScope::Site`] scope:
//! rankings list hosting platforms (`blogspot.com`, `github.io`) whose
//! customers' sites must stay reportable. Domains that do not normalize are
//! counted and sampled in the report, not fatal.
//!
//! Memory: one line buffer (lines are capped at [`MAX_LINE`] bytes) and the
//! compact [`RuleSet`] being built, about 23 bytes a domain.

use std::io::BufRead;

use super::list::{ImportReport, ListFormat, ListMeta, Warninglist};
use super::rule::{DomainScope, Rule, RuleSet, normalize_domain_rule};
use crate::allowlist::ListAction;
use crate::normalize::NormalizeContext;

/// The longest line read.
pub const MAX_LINE: usize = 4096;

/// Why a ranking file was not read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RankedError {
    /// Reading failed.
    #[error("line {line}: {source}")]
    Io {
        /// 1-based line number.
        line: u64,
        /// The failure.
        source: std::io::Error,
    },
    /// A line longer than [`MAX_LINE`] bytes.
    #[error("line {line}: longer than {MAX_LINE} bytes")]
    LineTooLong {
        /// 1-based line number.
        line: u64,
    },
    /// A `rank,domain` line whose rank is not a number.
    #[error("line {line}: rank {given:?} is not a whole number")]
    BadRank {
        /// 1-based line number.
        line: u64,
        /// The rank as written.
        given: String,
    },
    /// Nothing usable in the file.
    #[error("no domain in the file made a rule ({refused} refused)")]
    Empty {
        /// Domains refused.
        refused: u64,
    },
    /// The Jaring list name is not a valid list name.
    #[error("list name {name:?}: {reason}")]
    BadListName {
        /// The name.
        name: String,
        /// Why.
        reason: String,
    },
}

/// How to import a ranking.
#[derive(Debug, Clone)]
pub struct RankedImport<'a> {
    /// The Jaring list name, e.g. `tranco-top-100k`.
    pub name: String,
    /// Where it was read from.
    pub source: String,
    /// Keep ranks 1 to `top` only.
    pub top: Option<u64>,
    /// What its matches do.
    pub action: ListAction,
    /// How far its rules reach.
    pub scope: DomainScope,
    /// Normalization settings.
    pub ctx: &'a NormalizeContext,
}

/// Reads a ranking into a list.
///
/// # Errors
///
/// [`RankedError`]: I/O, a line too long, a bad rank, nothing usable, a
/// bad list name.
pub fn read<R: BufRead>(mut reader: R, opts: &RankedImport<'_>) -> Result<Warninglist, RankedError> {
    crate::allowlist::validate_list_name(&opts.name)
        .map_err(|reason| RankedError::BadListName { name: opts.name.clone(), reason })?;
    if opts.name.starts_with("builtin-") {
        return Err(RankedError::BadListName {
            name: opts.name.clone(),
            reason: "names starting with builtin- are reserved".into(),
        });
    }
    let mut rules = RuleSet::new();
    let mut report = ImportReport::default();
    let mut buf = Vec::with_capacity(256);
    let mut line_no = 0u64;
    let mut position = 0u64;
    loop {
        buf.clear();
        line_no += 1;
        let n = <&mut R as std::io::Read>::take(&mut reader, MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut buf)
            .map_err(|source| RankedError::Io { line: line_no, source })?;
        if n == 0 {
            break;
        }
        if buf.len() > MAX_LINE && buf.last() != Some(&b'\n') {
            return Err(RankedError::LineTooLong { line: line_no });
        }
        let Ok(text) = std::str::from_utf8(&buf) else {
            report.read += 1;
            position += 1;
            report.refuse(&String::from_utf8_lossy(&buf), "not UTF-8");
            continue;
        };
        let line = text.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (rank, domain) = match line.split_once(',') {
            Some((r, d)) => match r.trim().parse::<u64>() {
                Ok(rank) => (rank, d.trim()),
                Err(_) if line_no == 1 => continue,
                Err(_) => return Err(RankedError::BadRank { line: line_no, given: r.trim().to_string() }),
            },
            None => (position + 1, line),
        };
        position += 1;
        if opts.top.is_some_and(|top| rank > top) {
            report.past_top = true;
            break;
        }
        report.read += 1;
        match normalize_domain_rule(domain, opts.ctx) {
            Ok(name) => {
                rules.push(Rule::Domain { name: &name, scope: opts.scope }, opts.action);
            }
            Err(e) => report.refuse(domain, e),
        }
    }
    if rules.is_empty() {
        return Err(RankedError::Empty { refused: report.refused });
    }
    rules.shrink_to_fit();
    report.rules = rules.counts();
    let meta = ListMeta {
        name: opts.name.clone(),
        format: ListFormat::Ranked,
        source: opts.source.clone(),
        version: None,
        title: String::new(),
        description: match opts.top {
            Some(top) => format!("top {top} of a site ranking"),
            None => "a site ranking".into(),
        },
        category: None,
        action: opts.action,
    };
    Ok(Warninglist { meta, rules, report })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn opts(ctx: &NormalizeContext, top: Option<u64>) -> RankedImport<'_> {
        RankedImport {
            name: "tranco".into(),
            source: "t.csv".into(),
            top,
            action: ListAction::Refuse,
            scope: DomainScope::Site,
            ctx,
        }
    }

    fn names(w: &Warninglist) -> Vec<String> {
        w.rules
            .iter()
            .map(|(r, _)| match r {
                Rule::Domain { name, .. } => name.to_string(),
                other => other.to_string(),
            })
            .collect()
    }

    #[test]
    fn plain_and_ranked_lines() {
        let ctx = NormalizeContext::default();
        let w =
            read("# top sites\ngoogle.com\n\nFacebook.COM.\r\nnot a domain\n".as_bytes(), &opts(&ctx, None)).unwrap();
        assert_eq!(names(&w), vec!["google.com", "facebook.com"]);
        assert_eq!((w.report.read, w.report.refused), (3, 1));
        let w = read("rank,domain\n1,google.com\n2,youtube.com\n3,facebook.com\n".as_bytes(), &opts(&ctx, Some(2)))
            .unwrap();
        assert_eq!(names(&w), vec!["google.com", "youtube.com"]);
        assert!(w.report.past_top);
        // Plain lines count positions, refused ones included.
        let w = read("a.com\nbad domain\nc.com\nd.com\n".as_bytes(), &opts(&ctx, Some(3))).unwrap();
        assert_eq!(names(&w), vec!["a.com", "c.com"]);
    }

    #[test]
    fn bad_files_are_typed_errors() {
        let ctx = NormalizeContext::default();
        assert!(matches!(
            read("1,a.com\nx,b.com\n".as_bytes(), &opts(&ctx, None)),
            Err(RankedError::BadRank { line: 2, .. })
        ));
        let long = format!("{}.com\n", "a".repeat(MAX_LINE + 10));
        assert!(matches!(read(long.as_bytes(), &opts(&ctx, None)), Err(RankedError::LineTooLong { line: 1 })));
        assert!(matches!(read("bad domain\n".as_bytes(), &opts(&ctx, None)), Err(RankedError::Empty { refused: 1 })));
    }
}
