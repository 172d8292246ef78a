//! Printing: a human layout by default, JSON with `--json`.

use jaring_node::view::{IndicatorRecord, LookupResult, MergedView};
use serde::Serialize;

/// Output mode.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    /// `--json`.
    pub json: bool,
}

impl Output {
    /// Prints `value` as pretty JSON.
    pub fn json<T: Serialize>(&self, value: &T) {
        match serde_json::to_string_pretty(value) {
            Ok(s) => println!("{s}"),
            Err(e) => eprintln!("jaring: cannot encode output: {e}"),
        }
    }
}

/// RFC 3339 time from Unix milliseconds.
pub fn time(ms: i64) -> String {
    if ms <= 0 {
        return "-".into();
    }
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms.unsigned_abs());
    humantime::format_rfc3339_seconds(t).to_string()
}

/// Comma-joined display names.
pub fn join<T: std::fmt::Display>(items: &[T]) -> String {
    items.iter().map(ToString::to_string).collect::<Vec<_>>().join(",")
}

/// One stored indicator, human layout.
pub fn print_record(r: &IndicatorRecord) {
    println!(
        "{id}  {kind} {value}\n  origin {origin} #{seq} (local #{local}) v{version} {action}  {tlp}  confidence {conf}  [{cats}]  {dist}",
        id = r.id,
        kind = r.kind,
        value = r.value,
        origin = r.origin,
        seq = r.origin_seq,
        local = r.local_seq,
        version = r.version,
        action = r.action,
        tlp = r.tlp.label(),
        conf = r.confidence,
        cats = join(&r.categories),
        dist = r.distribution,
    );
    if let Some(h) = &r.keyed_hash {
        println!("  keyed hash {h} (epoch {})", r.hash_epoch.unwrap_or(0));
    }
    if let Some(until) = r.valid_until_ms {
        println!("  valid until {}", time(until));
    }
    if let Some(d) = &r.description {
        println!("  {d}");
    }
}

/// A merged view, human layout.
pub fn print_view(v: &MergedView) {
    println!(
        "{kind} {value}: {status:?}, max confidence {conf}, [{cats}], reported by {n} origin(s)",
        kind = v.kind,
        value = v.value,
        status = v.status,
        conf = v.max_confidence,
        cats = join(&v.categories),
        n = v.assertions.len()
    );
    for a in &v.assertions {
        println!(
            "  {origin:<12} v{ver} {status:?} confidence {conf} {tlp} [{cats}] first seen {first}{until}",
            origin = a.origin,
            ver = a.version,
            status = a.status,
            conf = a.confidence,
            tlp = a.tlp.label(),
            cats = join(&a.categories),
            first = time(a.first_seen_ms),
            until = a.valid_until_ms.map(|u| format!(", valid until {}", time(u))).unwrap_or_default(),
        );
    }
}

/// Lookup results, human layout.
pub fn print_lookup(results: &[LookupResult]) {
    for r in results {
        if let Some(e) = &r.error {
            println!("{}: invalid: {e}", r.query);
        } else if r.views.is_empty() {
            println!("{}: not found", r.query);
        } else {
            for v in &r.views {
                print_view(v);
            }
        }
    }
}
