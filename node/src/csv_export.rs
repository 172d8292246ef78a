//! Indicators as CSV rows (`jaring export csv`), safe to open in a
//! spreadsheet.
//!
//! # Columns
//!
//! The import header first (`jaring indicator import` reads them), then
//! columns import ignores: [`HEADER`]. Personal-data rows carry the keyed
//! hash and an empty `value` unless the caller asks for the plain values.
//!
//! # Spreadsheets (CSV injection)
//!
//! Following the OWASP guidance on CSV injection, a free-text cell
//! (`description`, `source_refs`) that begins with `=`, `+`, `-`, `@`, a
//! tab or a carriage return is written with a single quote in front, so
//! Excel, LibreOffice and Google Sheets show it as text instead of running
//! it as a formula (`=HYPERLINK(...)` stays the text `'=HYPERLINK(...)`).
//! Normalized values (`value`) cannot begin with a formula character except
//! a phone number's `+`, which no spreadsheet runs as code but every one
//! turns into a number (`+6281234567890` becomes `6.28E+12`).
//!
//! [`CsvMode::Excel`] (`--excel`) is for people who open the file in a
//! spreadsheet: every text cell a spreadsheet would read as a formula, a
//! number or a date (phone numbers, IPs, all-digit hashes) gets the quote,
//! and the file starts with a UTF-8 byte-order mark so Excel reads
//! non-ASCII text (Vietnamese, Thai descriptions) correctly. The quote is
//! then part of the cell: such a file is for reading, not for importing.

use crate::model::Action;
use crate::view::IndicatorRecord;

/// The header of CSV exports.
pub const HEADER: [&str; 17] = [
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

/// The UTF-8 byte-order mark written first in [`CsvMode::Excel`].
pub const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// How cells are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CsvMode {
    /// For `jaring indicator import` and scripts: values exact, free text
    /// escaped against formula injection.
    #[default]
    Import,
    /// For spreadsheets: every text cell kept as text.
    Excel,
}

/// Whether a spreadsheet would run a cell beginning like this as a formula
/// (OWASP: `=`, `+`, `-`, `@`, tab, carriage return).
pub fn starts_like_formula(cell: &str) -> bool {
    cell.starts_with(['=', '+', '-', '@', '\t', '\r'])
}

/// Whether a spreadsheet would turn a cell into a number or a date:
/// digits with at most separators, signs, exponents and points
/// (`6281234567890`, `1e5`, `203.0.113.7`, `2026-11-29`, `0812 3456`).
fn looks_numeric(cell: &str) -> bool {
    let mut digits = 0;
    for c in cell.chars() {
        match c {
            '0'..='9' => digits += 1,
            '.' | ',' | '-' | '+' | '/' | ':' | ' ' | 'e' | 'E' | '%' => {}
            _ => return false,
        }
    }
    digits > 0
}

/// A free-text cell, escaped per OWASP.
pub fn text_cell(cell: &str) -> String {
    if starts_like_formula(cell) { format!("'{cell}") } else { cell.to_string() }
}

/// A value cell: exact for import; kept as text for spreadsheets.
fn value_cell(cell: &str, mode: CsvMode) -> String {
    match mode {
        CsvMode::Import => cell.to_string(),
        CsvMode::Excel if starts_like_formula(cell) || looks_numeric(cell) => format!("'{cell}"),
        CsvMode::Excel => cell.to_string(),
    }
}

/// One record as CSV cells in [`HEADER`] order. `plaintext`: write the
/// plain values this node holds for personal-data kinds.
pub fn row(rec: &IndicatorRecord, plaintext: bool, mode: CsvMode) -> Vec<String> {
    let value = match (&rec.keyed_hash, plaintext) {
        (Some(_), false) => String::new(),
        (Some(h), true) if rec.value == *h => String::new(),
        _ => rec.value.clone(),
    };
    let time = crate::stix::export::timestamp;
    vec![
        rec.kind.to_string(),
        value_cell(&value, mode),
        rec.categories.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(";"),
        rec.tlp.to_string(),
        rec.confidence.to_string(),
        rec.distribution.to_string(),
        rec.valid_until_ms.map(time).unwrap_or_default(),
        time(rec.first_seen_ms),
        time(rec.last_seen_ms),
        text_cell(rec.description.as_deref().unwrap_or_default()),
        text_cell(&rec.source_refs.join(";")),
        rec.id.clone(),
        rec.origin.clone(),
        rec.version.to_string(),
        (rec.action == Action::Revoke).to_string(),
        value_cell(rec.keyed_hash.as_deref().unwrap_or_default(), mode),
        rec.hash_epoch.map(|e| e.to_string()).unwrap_or_default(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export_filter::tests::record;
    use crate::model::Kind;

    /// The cell of `column` (a [`HEADER`] name) in `cells`.
    fn cell<'a>(cells: &'a [String], column: &str) -> &'a str {
        let at = HEADER.iter().position(|h| *h == column).unwrap_or_else(|| panic!("no column {column}"));
        &cells[at]
    }

    #[test]
    fn rows_have_one_cell_per_header_column() {
        assert_eq!(row(&record(Kind::Domain, "loker.example"), false, CsvMode::Import).len(), HEADER.len());
    }

    #[test]
    fn formula_cells_in_free_text_get_a_quote() {
        for (cell, want) in [
            ("=HYPERLINK(\"http://x\",\"y\")", "'=HYPERLINK(\"http://x\",\"y\")"),
            ("+1+1", "'+1+1"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\t=1", "'\t=1"),
            ("\r=1", "'\r=1"),
            ("fake job site", "fake job site"),
            ("a=b", "a=b"),
            ("", ""),
        ] {
            assert_eq!(text_cell(cell), want, "{cell:?}");
        }
    }

    #[test]
    fn descriptions_and_sources_are_escaped_values_exact_for_import() {
        let mut rec = record(Kind::Phone, "+6281234567890");
        rec.description = Some("=HYPERLINK(\"https://evil.example\",\"click\")".into());
        rec.source_refs = vec!["@report".into(), "CASE-1".into()];
        let cells = row(&rec, false, CsvMode::Import);
        assert_eq!(cell(&cells, "value"), "+6281234567890");
        assert_eq!(cell(&cells, "description"), "'=HYPERLINK(\"https://evil.example\",\"click\")");
        assert_eq!(cell(&cells, "source_refs"), "'@report;CASE-1");
    }

    #[test]
    fn excel_mode_keeps_phones_ips_and_digit_hashes_as_text() {
        let phone = row(&record(Kind::Phone, "+6281234567890"), false, CsvMode::Excel);
        assert_eq!(phone[1], "'+6281234567890");
        let ip = row(&record(Kind::Ip, "203.0.113.7"), false, CsvMode::Excel);
        assert_eq!(ip[1], "'203.0.113.7");
        let domain = row(&record(Kind::Domain, "loker.example"), false, CsvMode::Excel);
        assert_eq!(domain[1], "loker.example");
        let mut hashed = record(Kind::BankAccount, "1234e5");
        hashed.keyed_hash = Some("1234e5".into());
        let cells = row(&hashed, false, CsvMode::Excel);
        assert_eq!(cell(&cells, "value"), "", "no plain value without --plaintext");
        assert_eq!(cell(&cells, "keyed_hash"), "'1234e5");
        // Numbers stay numbers.
        assert_eq!(cell(&cells, "confidence"), "80");
    }
}
