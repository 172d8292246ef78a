//! CSV files of indicators into submissions: the parsing half of
//! `jaring indicator import FILE.csv` (the CLI streams the results to a
//! node in batches).
//!
//! The CSV header (columns in any order; only `kind`, `value` and
//! `categories` are required):
//!
//! ```text
//! kind,value,categories,tlp,confidence,distribution,valid_until,first_seen,last_seen,description,source_refs
//! ```
//!
//! `categories` and `source_refs` hold `;`-separated lists; times are RFC
//! 3339. A bad row is its own error, with its line number, and the rest go
//! on; values are not normalized here (the node does that on submit).
//!
//! Of the columns `jaring export csv` adds, two are read: a row with
//! `revoked` = `true` is a withdrawal and is refused (importing it must
//! never make the value active), and a row with only a `keyed_hash` (no
//! `value`: personal data exported without `--plaintext`) is refused with
//! the rule that explains why. The others (`id`, `origin`, `version`,
//! `hash_epoch`) are ignored.

use std::io::Read;

use crate::model::{Category, Distribution, Kind, Tlp};
use crate::submission::NewIndicator;

/// Columns every file must have.
pub const REQUIRED_COLUMNS: [&str; 3] = ["kind", "value", "categories"];

/// The file as a whole is unusable.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CsvError {
    /// The header row could not be read.
    #[error("reading the header: {0}")]
    Header(#[from] csv::Error),
    /// A required column is absent.
    #[error("the header has no {0:?} column (expected kind,value,categories,...)")]
    MissingColumn(&'static str),
}

#[derive(Debug, serde::Deserialize)]
struct Row {
    kind: String,
    value: String,
    categories: String,
    #[serde(default)]
    tlp: Option<String>,
    #[serde(default)]
    confidence: Option<String>,
    #[serde(default)]
    distribution: Option<String>,
    #[serde(default)]
    valid_until: Option<String>,
    #[serde(default)]
    first_seen: Option<String>,
    #[serde(default)]
    last_seen: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    source_refs: Option<String>,
    #[serde(default)]
    revoked: Option<String>,
    #[serde(default)]
    keyed_hash: Option<String>,
}

/// The rows of a CSV file, read lazily: `(line, submission or why not)`,
/// where line 1 is the header.
pub struct CsvRows<R> {
    records: csv::DeserializeRecordsIntoIter<R, Row>,
    rows: u64,
}

impl<R> std::fmt::Debug for CsvRows<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CsvRows").field("rows", &self.rows).finish_non_exhaustive()
    }
}

impl<R: Read> Iterator for CsvRows<R> {
    type Item = (u64, Result<NewIndicator, String>);

    fn next(&mut self) -> Option<Self::Item> {
        let row = self.records.next()?;
        self.rows += 1;
        Some((self.rows + 1, row.map_err(|e| e.to_string()).and_then(to_input)))
    }
}

/// Reads the header of a CSV file and checks the required columns; the rows
/// follow from the returned iterator.
///
/// # Errors
///
/// [`CsvError`] for an unreadable header or a missing required column.
pub fn read_csv<R: Read>(reader: R) -> Result<CsvRows<R>, CsvError> {
    let mut reader = csv::ReaderBuilder::new().flexible(false).trim(csv::Trim::Headers).from_reader(reader);
    let headers = reader.headers()?;
    for required in REQUIRED_COLUMNS {
        if !headers.iter().any(|h| h == required) {
            return Err(CsvError::MissingColumn(required));
        }
    }
    Ok(CsvRows { records: reader.into_deserialize(), rows: 0 })
}

fn time_ms(field: &str, s: &str) -> Result<i64, String> {
    let t = humantime::parse_rfc3339_weak(s).map_err(|e| format!("{field}: {e}"))?;
    let d = t.duration_since(std::time::UNIX_EPOCH).map_err(|_| format!("{field}: before 1970"))?;
    Ok(i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn present(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn to_input(r: Row) -> Result<NewIndicator, String> {
    match present(&r.revoked).map(str::to_ascii_lowercase).as_deref() {
        None | Some("false") => {}
        Some("true") => {
            return Err("revoked: a revoked indicator is not imported (the row is a withdrawal)".into());
        }
        Some(other) => return Err(format!("revoked: {other:?} is not true or false")),
    }
    let kind: Kind = r.kind.parse().map_err(|e| format!("kind: {e}"))?;
    if r.value.trim().is_empty() && present(&r.keyed_hash).is_some() {
        return Err(format!(
            "value: empty; the row holds only the keyed hash of a {kind}: only its origin, which holds the plain \
             value, can assert it (the origin can export plain values with `export csv --plaintext`)"
        ));
    }
    let mut categories = Vec::new();
    for c in r.categories.split(';').map(str::trim).filter(|c| !c.is_empty()) {
        categories.push(c.parse::<Category>().map_err(|e| format!("categories: {e}"))?);
    }
    let confidence = match present(&r.confidence) {
        Some(c) => c.parse::<u32>().map_err(|_| format!("confidence: {c:?} is not a number"))?,
        None => 50,
    };
    Ok(NewIndicator {
        kind: Some(kind),
        value: r.value,
        categories,
        confidence,
        tlp: present(&r.tlp).map(|t| t.parse::<Tlp>()).transpose().map_err(|e| format!("tlp: {e}"))?,
        distribution: present(&r.distribution)
            .map(|d| d.parse::<Distribution>())
            .transpose()
            .map_err(|e| format!("distribution: {e}"))?,
        first_seen_ms: present(&r.first_seen).map(|t| time_ms("first_seen", t)).transpose()?,
        last_seen_ms: present(&r.last_seen).map(|t| time_ms("last_seen", t)).transpose()?,
        valid_until_ms: present(&r.valid_until).map(|t| time_ms("valid_until", t)).transpose()?,
        description: present(&r.description).map(str::to_string),
        source_refs: present(&r.source_refs)
            .map(|s| s.split(';').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect())
            .unwrap_or_default(),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn rows_parse_with_line_numbers_and_errors() {
        let text = "kind,value,categories,tlp,confidence,first_seen,source_refs\n\
                    domain,loker-kerja.co.id,job_scam;phishing,green,80,2026-11-29T10:00:00Z,https://x.example/1; CASE-7\n\
                    planet,mars,other,,,,\n\
                    phone,+6281234567890,job_scam,,,,\n";
        let rows: Vec<_> = read_csv(text.as_bytes()).unwrap().collect();
        assert_eq!(rows.len(), 3);
        let (line, first) = &rows[0];
        assert_eq!(*line, 2);
        let first = first.as_ref().unwrap();
        assert_eq!(first.kind, Some(Kind::Domain));
        assert_eq!(first.value, "loker-kerja.co.id");
        assert_eq!(first.categories, vec![Category::JobScam, Category::Phishing]);
        assert_eq!(first.tlp, Some(Tlp::Green));
        assert_eq!(first.confidence, 80);
        assert_eq!(first.first_seen_ms, Some(1_795_946_400_000));
        assert_eq!(first.source_refs, vec!["https://x.example/1".to_string(), "CASE-7".to_string()]);
        assert_eq!(rows[1].0, 3);
        assert!(rows[1].1.as_ref().unwrap_err().starts_with("kind: "), "{:?}", rows[1].1);
        assert_eq!(rows[2].0, 4);
        assert_eq!(rows[2].1.as_ref().unwrap().confidence, 50);
    }

    #[test]
    fn missing_required_column_is_refused() {
        let err = read_csv("kind,value\ndomain,x.co.id\n".as_bytes()).unwrap_err();
        assert!(matches!(err, CsvError::MissingColumn("categories")), "{err}");
    }

    #[test]
    fn revoked_rows_and_keyed_hash_only_rows_are_refused_with_the_rule_and_last_seen_is_read() {
        let text = "kind,value,categories,first_seen,last_seen,revoked,keyed_hash\n\
                    domain,gone.example.com,phishing,,,true,\n\
                    domain,kept.example.com,phishing,2014-01-01T00:00:00Z,2015-06-01T00:00:00Z,false,\n\
                    bank_account,,investment_scam,,,false,ab12cd\n\
                    domain,odd.example.com,phishing,,,maybe,\n";
        let rows: Vec<_> = read_csv(text.as_bytes()).unwrap().collect();
        assert_eq!(rows[0].0, 2);
        assert!(rows[0].1.as_ref().unwrap_err().starts_with("revoked: a revoked indicator is not imported"));
        let kept = rows[1].1.as_ref().unwrap();
        assert_eq!((kept.first_seen_ms, kept.last_seen_ms), (Some(1_388_534_400_000), Some(1_433_116_800_000)));
        let e = rows[2].1.as_ref().unwrap_err();
        assert!(e.contains("only the keyed hash of a bank_account") && e.contains("only its origin"), "{e}");
        assert!(rows[3].1.as_ref().unwrap_err().starts_with("revoked: \"maybe\""));
    }
}
