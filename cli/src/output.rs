//! Printing: a human layout by default, JSON with `--json`.

use jaring_node::feedback::FeedbackEvent;
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
        println!("  {:<12} score {}", "", a.score);
    }
    print_feedback_summary(v);
}

/// The score and feedback part of a merged view, human layout.
pub fn print_feedback_summary(v: &MergedView) {
    let s = &v.summary;
    println!("  score {} (decayed; sightings refresh, false positives lower)", v.score);
    if v.feedback.is_empty() {
        return;
    }
    println!(
        "  feedback: {} event(s), {} sighting(s){}",
        v.feedback.len(),
        s.sightings,
        s.last_sighting_ms.map(|t| format!(", last seen {}", time(t))).unwrap_or_default()
    );
    for c in &s.countries {
        println!(
            "    {:<12} sightings {}{}{}{}",
            c.node,
            c.sightings,
            c.last_sighting_ms.map(|t| format!(" (last {})", time(t))).unwrap_or_default(),
            if c.false_positive { ", voted false positive" } else { "" },
            if c.referred { ", referred to law enforcement" } else { "" },
        );
    }
    for fp in &s.false_positives {
        println!("    false positive by {}: {}", fp.by, fp.reason);
    }
    for c in jaring_node::takedown::Case::from_events(&v.feedback) {
        let steps: Vec<String> = c.events.iter().map(|e| format!("{} {}", e.state, time(e.at_ms))).collect();
        println!(
            "    takedown case {} on {}: {}{}",
            c.id,
            c.platform,
            steps.join(" -> "),
            c.action_taken.as_ref().or(c.reason.as_ref()).map(|t| format!(": {t}")).unwrap_or_default(),
        );
    }
    for t in &s.takedowns {
        println!(
            "    takedown on {}: {} (by {}, {}){}{}",
            t.platform,
            t.status,
            t.by,
            time(t.at_ms),
            t.action_taken.as_ref().map(|a| format!(": {a}")).unwrap_or_default(),
            t.reason.as_ref().map(|r| format!(": {r}")).unwrap_or_default(),
        );
    }
}

/// One feedback event, human layout.
pub fn print_feedback_event(e: &FeedbackEvent) {
    println!(
        "{reporter} #{seq} {ty} on {kind} {value} ({tlp}, {dist}){target}",
        reporter = e.reporter,
        seq = e.origin_seq,
        ty = e.feedback_type,
        kind = e.kind,
        value = e.value,
        tlp = e.tlp.label(),
        dist = e.distribution,
        target = e.indicator_origin.as_ref().map(|o| format!(", about {o}'s indicator")).unwrap_or_default(),
    );
    for (label, v) in [
        ("platform", &e.platform),
        ("action", &e.action_taken),
        ("reason", &e.reason),
        ("referred to", &e.referred_to),
        ("agency reference", &e.case_ref),
        ("case", &e.case_id),
        ("note", &e.note),
    ] {
        if let Some(v) = v {
            println!("  {label}: {v}");
        }
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

/// How long ago `ms` was, e.g. `3d4h`, `5m`, `12s`.
pub fn age(ms: i64) -> String {
    if ms <= 0 {
        return "-".into();
    }
    let s = (jaring_node::model::now_ms() - ms).max(0) / 1000;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86_400 => format!("{}h{}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d{}h", s / 86_400, s % 86_400 / 3600),
    }
}
