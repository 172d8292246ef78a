//! Evaluation over the adverts and messages in `tests/data/extract/`
//! (format in its README): precision and recall of the extraction over
//! the whole set, both at least 0.9.
//!
//! A candidate counts when it is not on a built-in allowlist (flagged
//! candidates are shown to analysts as such and are not indicators); it is
//! a true positive when the case expects its (kind, value), else a false
//! positive. An expected (kind, value) not extracted is a false negative.
//! Every miss is printed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::{ExtractOptions, extract};
use crate::model::Kind;
use crate::normalize::normalize;

/// One case: its file, region, expected indicators and text.
struct Case {
    name: String,
    region: Option<String>,
    expect: BTreeSet<(Kind, String)>,
    text: String,
}

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/extract")
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            files(&p, out);
        } else if p.extension().is_some_and(|e| e == "txt") {
            out.push(p);
        }
    }
}

/// Parses a case file (see tests/data/extract/README.md).
fn parse(path: &Path) -> Case {
    let raw = std::fs::read_to_string(path).unwrap();
    let name =
        path.iter().rev().take(2).collect::<Vec<_>>().into_iter().rev().collect::<PathBuf>().display().to_string();
    let (head, text) = raw.split_once("\n---\n").unwrap_or_else(|| panic!("{name}: no '---' line"));
    let mut region = None;
    let mut expect = BTreeSet::new();
    for line in head.lines() {
        let (key, value) = line.split_once(':').unwrap_or_else(|| panic!("{name}: bad header line {line:?}"));
        let value = value.trim();
        match key.trim() {
            "region" => region = (value != "none").then(|| value.to_string()),
            "expect" => {
                let (kind, v) = value.split_once(' ').unwrap_or_else(|| panic!("{name}: bad expect {value:?}"));
                let kind: Kind = kind.parse().unwrap_or_else(|e| panic!("{name}: {e}"));
                expect.insert((kind, v.trim().to_string()));
            }
            "lang" | "source" | "note" => {}
            other => panic!("{name}: unknown header {other:?}"),
        }
    }
    Case { name, region, expect, text: text.to_string() }
}

fn cases() -> Vec<Case> {
    cases_in(&data_dir())
}

fn cases_in(dir: &Path) -> Vec<Case> {
    let mut paths = Vec::new();
    files(dir, &mut paths);
    paths.iter().map(|p| parse(p)).collect()
}

/// The data is sound: enough cases, every language, every expected value
/// in canonical form (what the node stores).
#[test]
fn evaluation_set_is_well_formed() {
    let all = cases();
    assert!(all.len() >= 100, "only {} cases", all.len());
    for dir in ["id/", "vn/", "th/", "my/", "ph/", "sg/", "en/"] {
        assert!(all.iter().any(|c| c.name.starts_with(dir)), "no case under {dir}");
    }
    assert!(all.iter().filter(|c| c.expect.is_empty()).count() >= 20, "too few negative cases");
    for c in &all {
        let options = ExtractOptions::new(c.region.as_deref()).unwrap();
        for (kind, value) in &c.expect {
            let again = normalize(*kind, value, options.normalize_context());
            assert_eq!(again.as_ref(), Ok(value), "{}: expected {kind} {value} is not canonical", c.name);
        }
    }
}

#[test]
fn precision_and_recall_over_the_evaluation_set() {
    let (precision, recall) = evaluate(&cases());
    assert!(precision >= 0.9, "precision {precision:.3} below 0.9");
    assert!(recall >= 0.9, "recall {recall:.3} below 0.9");
}

/// The same over another directory of cases (`EXTRACT_EVAL_DIR`), to try
/// the extraction on adverts it was not written against.
#[test]
fn precision_and_recall_over_another_directory() {
    let Ok(dir) = std::env::var("EXTRACT_EVAL_DIR") else { return };
    let _ = evaluate(&cases_in(Path::new(&dir)));
}

/// Precision and recall over `all`, printing every miss.
fn evaluate(all: &[Case]) -> (f64, f64) {
    let flagged = crate::warninglist::builtin::index();
    let (mut tp, mut fp, mut fn_) = (0usize, 0usize, 0usize);
    let mut report = Vec::new();
    for c in all {
        let options = ExtractOptions::new(c.region.as_deref()).unwrap();
        let got = extract(&c.text, &options, &flagged);
        let found: BTreeSet<(Kind, String)> = got
            .candidates
            .iter()
            .filter(|x| !x.notes.iter().any(|n| n.starts_with("allowlist: ")))
            .map(|x| (x.kind, x.value.clone()))
            .collect();
        for hit in found.intersection(&c.expect) {
            let _ = hit;
            tp += 1;
        }
        for extra in found.difference(&c.expect) {
            fp += 1;
            let text =
                got.candidates.iter().find(|x| (x.kind, &x.value) == (extra.0, &extra.1)).map(|x| x.text.clone());
            report.push(format!("  FP {}: {} {} (from {:?})", c.name, extra.0, extra.1, text.unwrap_or_default()));
        }
        for missed in c.expect.difference(&found) {
            fn_ += 1;
            report.push(format!("  FN {}: {} {}", c.name, missed.0, missed.1));
        }
    }
    let precision = tp as f64 / (tp + fp).max(1) as f64;
    let recall = tp as f64 / (tp + fn_).max(1) as f64;
    println!(
        "extraction over {} cases: {tp} true positives, {fp} false positives, {fn_} false negatives; \
         precision {precision:.3}, recall {recall:.3}",
        all.len()
    );
    for line in &report {
        println!("{line}");
    }
    (precision, recall)
}
