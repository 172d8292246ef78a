//! CSV import: `csv_import::read_csv` and its rows (what
//! `jaring indicator import FILE.csv` submits).
//!
//! Properties:
//! - nothing panics;
//! - rows come numbered 2, 3, ... (line 1 is the header);
//! - a taken row has a kind;
//! - a taken row written back as CSV (the documented header, `;`-joined
//!   lists, RFC 3339 times) reads back as the same submission.
#![no_main]

use std::time::{Duration, UNIX_EPOCH};

use jaring_node::csv_import::read_csv;
use jaring_node::submission::NewIndicator;
use libfuzzer_sys::fuzz_target;

const HEADER: [&str; 10] = [
    "kind",
    "value",
    "categories",
    "tlp",
    "confidence",
    "distribution",
    "valid_until",
    "first_seen",
    "description",
    "source_refs",
];

fn time(ms: Option<i64>) -> String {
    let Some(ms) = ms else { return String::new() };
    let Ok(ms) = u64::try_from(ms) else { panic!("time before 1970 taken: {ms}") };
    humantime::format_rfc3339_millis(UNIX_EPOCH + Duration::from_millis(ms)).to_string()
}

fn write_back(sub: &NewIndicator) -> Vec<u8> {
    let Some(kind) = sub.kind else { panic!("row taken without a kind") };
    let join = |v: Vec<&str>| v.join(";");
    let row = [
        kind.as_str().to_string(),
        sub.value.clone(),
        join(sub.categories.iter().map(|c| c.as_str()).collect()),
        sub.tlp.map(|t| t.as_str().to_string()).unwrap_or_default(),
        sub.confidence.to_string(),
        sub.distribution.map(|d| d.as_str().to_string()).unwrap_or_default(),
        time(sub.valid_until_ms),
        time(sub.first_seen_ms),
        sub.description.clone().unwrap_or_default(),
        join(sub.source_refs.iter().map(String::as_str).collect()),
    ];
    let mut w = csv::Writer::from_writer(Vec::new());
    let written = w.write_record(HEADER).and_then(|()| w.write_record(&row));
    assert!(written.is_ok(), "writing CSV to memory failed");
    match w.into_inner() {
        Ok(bytes) => bytes,
        Err(_) => panic!("writing CSV to memory failed"),
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(rows) = read_csv(data) else { return };
    let mut expected_line = 2;
    for (line, row) in rows {
        assert_eq!(line, expected_line, "line numbers");
        expected_line += 1;
        let Ok(sub) = row else { continue };
        let text = write_back(&sub);
        let Ok(mut again) = read_csv(text.as_slice()) else { panic!("written-back header refused") };
        let Some((2, Ok(back))) = again.next() else {
            panic!("row {sub:?} written back as {:?} is refused", String::from_utf8_lossy(&text))
        };
        assert!(again.next().is_none(), "one row written, more read back");
        assert_eq!(format!("{back:?}"), format!("{sub:?}"), "row does not survive writing back");
    }
});
