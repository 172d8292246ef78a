//! STIX 2.1 into Jaring submissions.
//!
//! Every `indicator` whose pattern names values by equality
//! (`[type:prop = '…']`, several joined by `OR`: one submission each, see
//! [`super::pattern`]) on a type Jaring knows becomes [`NewIndicator`]s;
//! anything else (identities, marking definitions, relationships) is
//! skipped, and every indicator that cannot be taken gets its own
//! [`ObjectError`] while the rest go on. Files are read object by object
//! ([`super::stream`]): a bundle, a TAXII envelope or one object.
//!
//! # Mapping
//!
//! | STIX | Jaring |
//! |---|---|
//! | `valid_from` (else `created`) | first seen |
//! | `x_jaring_last_seen`, else `modified`, else `valid_from` | last seen (never the import time) |
//! | `valid_until` | expiry |
//! | `labels` (known categories; none known: `other`) | categories |
//! | `confidence` (0-100; absent: 50) | confidence |
//! | the most restrictive TLP among `object_marking_refs` and `granular_markings` | TLP (none: AMBER) |
//! | `external_references` (`url`, else `external_id`) | source references |
//! | `created_by_ref` (the identity's `name` when the file holds it) | one more source reference, `producer: <name>` |
//! | `x_jaring_distribution` | distribution |
//!
//! TLP markings are the official TLP 2.0 and TLP 1.0 marking definitions,
//! and any `marking-definition` object in the file that states a TLP level
//! (TLP 2.0 extension, or the STIX 2.0 `definition_type: "tlp"`); a file's
//! identities and marking definitions are learnt in a first pass
//! ([`StixContext`]), wherever they stand in the file.

use std::collections::HashMap;

use serde_json::Value;

use super::pattern::{self, Comparison};
use crate::model::{Category, Distribution, Kind, Tlp};
use crate::submission::NewIndicator;

/// The file as a whole is unusable.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// Not JSON (or JSON broken at some point: the error says where).
    #[error("not JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// JSON, but not a STIX bundle, TAXII envelope or STIX object.
    #[error("not a STIX 2.1 bundle, TAXII envelope or STIX object: {0}")]
    NotBundle(&'static str),
    /// The reader's callback stopped the walk.
    #[error("stopped before the end of the file")]
    Stopped,
}

/// One refused object.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ObjectError {
    /// Position in `objects`, from 0.
    pub index: usize,
    /// Its `id`, if it had one.
    pub id: String,
    /// Why.
    pub reason: String,
}

/// Most identities and marking definitions a [`StixContext`] keeps (a
/// bound on its memory whatever the file holds).
pub const MAX_CONTEXT_OBJECTS: usize = 100_000;

/// What a file says about the objects its indicators refer to: identity
/// names (for `created_by_ref`) and TLP levels of its own marking
/// definitions.
#[derive(Debug, Clone, Default)]
pub struct StixContext {
    identities: HashMap<String, Identity>,
    markings: HashMap<String, Tlp>,
    /// This node's id: its own identity is not a producer worth naming.
    pub this_node: Option<String>,
    /// Whether to keep `created_by_ref` as a source reference (files are
    /// imported with it; [`to_submission`] of a lone object without).
    pub producers: bool,
}

#[derive(Debug, Clone)]
struct Identity {
    name: String,
    node_id: Option<String>,
}

impl StixContext {
    /// A context for importing into node `this_node`.
    pub fn for_node(this_node: Option<String>) -> StixContext {
        StixContext { this_node, producers: true, ..StixContext::default() }
    }

    /// Learns from one object of the file (identities, marking definitions).
    pub fn learn(&mut self, o: &Value) {
        let Some(id) = o.get("id").and_then(Value::as_str) else { return };
        match o.get("type").and_then(Value::as_str) {
            Some("identity") if self.identities.len() < MAX_CONTEXT_OBJECTS => {
                if let Some(name) = o.get("name").and_then(Value::as_str) {
                    let node_id = o.get("x_jaring_node_id").and_then(Value::as_str).map(str::to_string);
                    self.identities.insert(id.to_string(), Identity { name: name.to_string(), node_id });
                }
            }
            Some("marking-definition") if self.markings.len() < MAX_CONTEXT_OBJECTS => {
                if let Some(tlp) = marking_tlp(o) {
                    self.markings.insert(id.to_string(), tlp);
                }
            }
            _ => {}
        }
    }

    fn tlp_of(&self, id: &str) -> Option<Tlp> {
        official_tlp(id).or_else(|| self.markings.get(id).copied())
    }

    /// The source reference naming the producer of an object, if it is
    /// not this node.
    fn producer(&self, created_by: &str) -> Option<String> {
        if !self.producers {
            return None;
        }
        match self.identities.get(created_by) {
            Some(i) if i.node_id.is_some() && i.node_id == self.this_node => None,
            Some(i) => Some(format!("producer: {}", i.name)),
            None => Some(format!("producer: {created_by}")),
        }
    }
}

/// The TLP level a marking-definition object states, if any.
fn marking_tlp(o: &Value) -> Option<Tlp> {
    if let Some(t) = o.get("id").and_then(Value::as_str).and_then(official_tlp) {
        return Some(t);
    }
    let level = o
        .get("extensions")
        .and_then(|e| e.get(super::TLP2_EXTENSION))
        .and_then(|e| e.get("tlp_2_0"))
        .or_else(|| {
            (o.get("definition_type").and_then(Value::as_str) == Some("tlp"))
                .then(|| o.get("definition").and_then(|d| d.get("tlp")))
                .flatten()
        })
        .and_then(Value::as_str)?;
    level.trim().trim_start_matches("TLP:").trim_start_matches("tlp:").parse().ok()
}

/// The official TLP marking definitions: TLP 2.0, and TLP 1.0 of STIX 2.1
/// section 7.2.1.4 (WHITE is CLEAR).
fn official_tlp(id: &str) -> Option<Tlp> {
    for t in Tlp::ALL {
        if super::tlp_marking_id(*t) == id {
            return Some(*t);
        }
    }
    match id {
        "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9" => Some(Tlp::Clear),
        "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da" => Some(Tlp::Green),
        "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82" => Some(Tlp::Amber),
        "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed" => Some(Tlp::Red),
        _ => None,
    }
}

/// The most restrictive TLP among an object's markings, object-level and
/// granular (a granular marking restricts part of the object; the whole
/// indicator is kept at the strictest).
fn strictest_tlp(o: &Value, ctx: &StixContext) -> Option<Tlp> {
    let object_refs = o.get("object_marking_refs").and_then(Value::as_array).into_iter().flatten();
    let granular =
        o.get("granular_markings").and_then(Value::as_array).into_iter().flatten().filter_map(|g| g.get("marking_ref"));
    object_refs.chain(granular).filter_map(Value::as_str).filter_map(|id| ctx.tlp_of(id)).max()
}

/// Parses a single equality pattern into (object type, property, value).
///
/// # Errors
///
/// A message saying what is unsupported (an `OR` too: see
/// [`pattern::comparisons`] for patterns that name several values).
pub fn parse_pattern(p: &str) -> Result<(String, String, String), String> {
    let mut all = pattern::comparisons(p)?;
    if all.len() != 1 {
        return Err("only a single comparison is supported here".into());
    }
    let Comparison { object_type, property, value } = all.remove(0);
    Ok((object_type, property, value))
}

fn kind_of(ty: &str, prop: &str) -> Result<Kind, String> {
    let kind = match ty {
        "domain-name" => Kind::Domain,
        "url" => Kind::Url,
        "ipv4-addr" | "ipv6-addr" => Kind::Ip,
        "email-addr" => Kind::Email,
        _ => match ty.strip_prefix("x-jaring-").map(|k| k.replace('-', "_").parse::<Kind>()) {
            Some(Ok(k)) => k,
            _ => return Err(format!("pattern: object type {ty:?} is not one Jaring knows")),
        },
    };
    match prop {
        "value" => Ok(kind),
        "hmac_sha256" => {
            Err(format!("pattern: {kind} is a keyed hash; only its origin, which holds the plain value, can assert it"))
        }
        _ => Err(format!("pattern: property {prop:?} of {ty} is not supported (use value)")),
    }
}

fn time_ms(field: &str, v: &Value) -> Result<i64, String> {
    let s = v.as_str().ok_or_else(|| format!("{field}: not a string"))?;
    let t = humantime::parse_rfc3339_weak(s).map_err(|e| format!("{field}: {e}"))?;
    let d = t.duration_since(std::time::UNIX_EPOCH).map_err(|_| format!("{field}: before 1970"))?;
    Ok(i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn opt_time(o: &Value, field: &str) -> Result<Option<i64>, String> {
    o.get(field).filter(|v| !v.is_null()).map(|v| time_ms(field, v)).transpose()
}

/// One indicator object as a submission (a single-comparison pattern),
/// without a file's context: official TLP markings only, no producer
/// reference (see [`to_submissions`] for the general case).
///
/// # Errors
///
/// Why the object cannot be taken.
pub fn to_submission(o: &Value) -> Result<NewIndicator, String> {
    let mut all = to_submissions(o, &StixContext::default())?;
    if all.len() != 1 {
        return Err(format!("pattern: names {} values; one was expected here", all.len()));
    }
    Ok(all.remove(0))
}

/// One indicator object as submissions: one per value its pattern names
/// (see the module doc for the mapping), all or none.
///
/// # Errors
///
/// Why the object cannot be taken.
pub fn to_submissions(o: &Value, ctx: &StixContext) -> Result<Vec<NewIndicator>, String> {
    if o.get("spec_version").and_then(Value::as_str).is_some_and(|v| v != "2.1") {
        return Err("spec_version: only 2.1 is supported".into());
    }
    if o.get("revoked").and_then(Value::as_bool) == Some(true) {
        return Err("revoked: a revoked indicator is not imported".into());
    }
    if let Some(pt) = o.get("pattern_type").and_then(Value::as_str)
        && pt != "stix"
    {
        return Err(format!("pattern_type: {pt:?} is not supported (stix only)"));
    }
    let text = o.get("pattern").and_then(Value::as_str).ok_or("pattern: missing")?;
    let comparisons = pattern::comparisons(text).map_err(|e| format!("pattern: {e}"))?;
    let n = comparisons.len();
    let mut kinds = Vec::with_capacity(n);
    for (i, c) in comparisons.iter().enumerate() {
        let kind = kind_of(&c.object_type, &c.property).map_err(|e| match n {
            1 => e,
            _ => format!("comparison {} of {n}: {e}", i + 1),
        })?;
        kinds.push(kind);
    }
    let mut categories: Vec<Category> = o
        .get("labels")
        .and_then(Value::as_array)
        .map(|ls| ls.iter().filter_map(Value::as_str).filter_map(|l| l.parse().ok()).collect())
        .unwrap_or_default();
    if categories.is_empty() {
        categories.push(Category::Other);
    }
    let confidence = match o.get("confidence") {
        None | Some(Value::Null) => 50,
        Some(c) => c
            .as_u64()
            .and_then(|c| u32::try_from(c).ok())
            .filter(|c| *c <= 100)
            .ok_or("confidence: must be an integer 0-100")?,
    };
    let created = opt_time(o, "created")?;
    let modified = opt_time(o, "modified")?;
    let valid_from = opt_time(o, "valid_from")?;
    let first_seen_ms = valid_from.or(created);
    let last_seen_ms = opt_time(o, "x_jaring_last_seen")?.or(modified).or(valid_from).or(created);
    let valid_until_ms = opt_time(o, "valid_until")?;
    let distribution = match o.get("x_jaring_distribution").and_then(Value::as_str) {
        Some(d) => Some(d.parse::<Distribution>().map_err(|e| format!("x_jaring_distribution: {e}"))?),
        None => None,
    };
    let mut source_refs: Vec<String> = o
        .get("external_references")
        .and_then(Value::as_array)
        .map(|refs| {
            refs.iter()
                .filter_map(|r| {
                    r.get("url").or_else(|| r.get("external_id")).and_then(Value::as_str).map(str::to_string)
                })
                .collect()
        })
        .unwrap_or_default();
    if let Some(producer) = o.get("created_by_ref").and_then(Value::as_str).and_then(|id| ctx.producer(id))
        && !source_refs.contains(&producer)
        && source_refs.len() < crate::envelope::MAX_SOURCE_REFS
    {
        source_refs.push(producer);
    }
    let tlp = strictest_tlp(o, ctx).unwrap_or(Tlp::Amber);
    let description = o.get("description").and_then(Value::as_str).map(str::to_string);
    Ok(comparisons
        .into_iter()
        .zip(kinds)
        .map(|(c, kind)| NewIndicator {
            kind: Some(kind),
            value: c.value,
            categories: categories.clone(),
            confidence,
            tlp: Some(tlp),
            distribution,
            first_seen_ms,
            last_seen_ms,
            valid_until_ms,
            description: description.clone(),
            source_refs: source_refs.clone(),
        })
        .collect())
}

/// One indicator object of a bundle: its index in `objects` and a
/// submission, or why it was refused (an object whose pattern names several
/// values appears once per value, with the same index).
pub type ParsedObject = (usize, Result<NewIndicator, ObjectError>);

/// What one object of a file gives: its index, its id, and its
/// submissions or why it was refused. `None` for objects that are not
/// indicators.
pub fn parse_object(index: usize, o: &Value, ctx: &StixContext) -> Option<Result<Vec<NewIndicator>, ObjectError>> {
    let ty = o.get("type").and_then(Value::as_str);
    if ty.is_some() && ty != Some("indicator") {
        return None;
    }
    let id = o.get("id").and_then(Value::as_str).unwrap_or("").to_string();
    let r = if ty.is_none() { Err("type: missing".to_string()) } else { to_submissions(o, ctx) };
    Some(r.map_err(|reason| ObjectError { index, id, reason }))
}

/// Parses a bundle, TAXII envelope or object held in memory: one result
/// per value an `indicator` object names, in order, with its index in
/// `objects` (other object types are skipped). Files are better read with
/// [`super::stream::for_each_object`].
///
/// # Errors
///
/// [`ImportError`] if the text is not a bundle, envelope or object at all.
pub fn parse_bundle(text: &str) -> Result<Vec<ParsedObject>, ImportError> {
    let mut ctx = StixContext::for_node(None);
    super::stream::for_each_object(text.as_bytes(), |_, o| {
        ctx.learn(&o);
        std::ops::ControlFlow::Continue(())
    })?;
    let mut out = Vec::new();
    super::stream::for_each_object(text.as_bytes(), |index, o| {
        match parse_object(index, &o, &ctx) {
            Some(Ok(all)) => out.extend(all.into_iter().map(|n| (index, Ok(n)))),
            Some(Err(e)) => out.push((index, Err(e))),
            None => {}
        }
        std::ops::ControlFlow::Continue(())
    })?;
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::model::{Action, Kind};
    use crate::view::IndicatorRecord;

    fn record(kind: Kind, value: &str, keyed: Option<&str>) -> IndicatorRecord {
        IndicatorRecord {
            id: "0123".into(),
            origin: "ID".into(),
            origin_seq: 1,
            local_seq: 1,
            kind,
            value: value.into(),
            keyed_hash: keyed.map(str::to_string),
            hash_epoch: keyed.map(|_| 1),
            categories: vec![Category::JobScam, Category::Phishing],
            confidence: 80,
            tlp: Tlp::Green,
            distribution: Distribution::Federation,
            first_seen_ms: 1_700_000_000_000,
            last_seen_ms: 1_700_000_100_000,
            valid_until_ms: Some(1_800_000_000_000),
            action: Action::Upsert,
            version: 2,
            created_at_ms: 1_700_000_200_000,
            description: Some("it's a \\ trap".into()),
            source_refs: vec!["https://example.org/post/1".into(), "CASE-7".into()],
            key_id: "k".into(),
        }
    }

    #[test]
    fn patterns_round_trip_with_escapes() {
        let rec = record(Kind::SocialHandle, "telegram:o'brien\\x", None);
        let p = super::super::export::pattern(&rec);
        assert_eq!(p, "[x-jaring-social-handle:value = 'telegram:o\\'brien\\\\x']");
        assert_eq!(parse_pattern(&p).unwrap(), ("x-jaring-social-handle".into(), "value".into(), rec.value.clone()));
        assert!(parse_pattern("[domain-name:value = 'a.com' AND url:value = 'x']").is_err());
        assert!(parse_pattern("[domain-name:value = 'a.com").is_err());
    }

    #[test]
    fn exported_fields_come_back() {
        let rec = record(Kind::Domain, "scam.example", None);
        let obj = super::super::indicator(&rec);
        let back = to_submission(&obj).unwrap();
        assert_eq!(back.kind, Some(Kind::Domain));
        assert_eq!(back.value, "scam.example");
        assert_eq!(back.categories, rec.categories);
        assert_eq!(back.confidence, 80);
        assert_eq!(back.tlp, Some(Tlp::Green));
        assert_eq!(back.first_seen_ms, Some(rec.first_seen_ms));
        assert_eq!(back.last_seen_ms, Some(rec.last_seen_ms));
        assert_eq!(back.valid_until_ms, rec.valid_until_ms);
        assert_eq!(back.description, rec.description);
        assert_eq!(back.source_refs, rec.source_refs);
        assert_eq!(back.distribution, Some(Distribution::Federation));
    }

    #[test]
    fn keyed_hashes_never_carry_the_plain_value() {
        let rec = record(Kind::BankAccount, "bca:1234567890", Some("ab12"));
        let obj = super::super::indicator(&rec);
        let text = obj.to_string();
        assert!(!text.contains("1234567890"), "{text}");
        assert_eq!(obj["pattern"], "[x-jaring-bank-account:hmac_sha256 = 'ab12']");
        assert_eq!(obj["x_jaring_hash_epoch"], 1);
        let e = to_submission(&obj).unwrap_err();
        assert!(e.contains("keyed hash"), "{e}");
    }

    #[test]
    fn bad_objects_are_reported_one_by_one() {
        let good = super::super::indicator(&record(Kind::Url, "https://x.example/", None));
        let text = serde_json::json!({"type": "bundle", "id": "bundle--1", "objects": [
            {"type": "identity", "id": "identity--1"},
            good,
            {"type": "indicator", "id": "indicator--2", "pattern": "[file:name = 'a']", "pattern_type": "stix"},
            {"type": "indicator", "id": "indicator--3"},
        ]})
        .to_string();
        let r = parse_bundle(&text).unwrap();
        assert_eq!(r.len(), 3);
        assert!(r[0].1.is_ok());
        let e1 = r[1].1.as_ref().unwrap_err();
        assert_eq!((e1.index, e1.id.as_str()), (2, "indicator--2"));
        assert!(e1.reason.contains("file"), "{}", e1.reason);
        assert!(r[2].1.as_ref().unwrap_err().reason.contains("pattern: missing"));
        assert!(matches!(parse_bundle("{\"id\":\"x\"}"), Err(ImportError::NotBundle(_))));
        // A single object of another type is read and skipped.
        assert_eq!(parse_bundle("{\"type\":\"x\"}").unwrap().len(), 0);
        assert!(matches!(parse_bundle("nope"), Err(ImportError::Json(_))));
    }

    const TLP_RED_2: &str = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1";
    const TLP_CLEAR_2: &str = "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487";
    const TLP_GREEN_1: &str = "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da";

    fn indicator_with(extra: Value) -> Value {
        let mut o = serde_json::json!({
            "type": "indicator", "spec_version": "2.1", "id": "indicator--9",
            "created": "2014-05-08T09:00:00.000Z", "modified": "2015-01-02T03:04:05.000Z",
            "pattern": "[domain-name:value = 'scam.example']", "pattern_type": "stix",
            "valid_from": "2014-06-01T00:00:00Z",
        });
        if let (Some(o), Value::Object(extra)) = (o.as_object_mut(), extra) {
            o.extend(extra);
        }
        o
    }

    #[test]
    fn the_most_restrictive_marking_wins_granular_ones_included() {
        let ctx = StixContext::default();
        let t = |extra: Value| to_submissions(&indicator_with(extra), &ctx).unwrap()[0].tlp;
        assert_eq!(t(serde_json::json!({"object_marking_refs": [TLP_CLEAR_2, TLP_RED_2]})), Some(Tlp::Red));
        assert_eq!(t(serde_json::json!({"object_marking_refs": [TLP_RED_2, TLP_CLEAR_2]})), Some(Tlp::Red));
        assert_eq!(t(serde_json::json!({"object_marking_refs": [TLP_GREEN_1]})), Some(Tlp::Green));
        let granular = serde_json::json!({
            "object_marking_refs": [TLP_CLEAR_2],
            "granular_markings": [{"marking_ref": TLP_RED_2, "selectors": ["description"]}],
        });
        assert_eq!(t(granular), Some(Tlp::Red));
        assert_eq!(t(serde_json::json!({})), Some(Tlp::Amber));
        // A marking definition of the file itself states the level.
        let mut ctx = StixContext::default();
        ctx.learn(&serde_json::json!({"type": "marking-definition", "id": "marking-definition--custom",
            "definition_type": "tlp", "definition": {"tlp": "amber"}}));
        let o = indicator_with(serde_json::json!({"object_marking_refs": ["marking-definition--custom", TLP_GREEN_1]}));
        assert_eq!(to_submissions(&o, &ctx).unwrap()[0].tlp, Some(Tlp::Amber));
    }

    #[test]
    fn history_comes_from_the_object_never_from_the_import_time() {
        let ctx = StixContext::default();
        let n = &to_submissions(&indicator_with(serde_json::json!({})), &ctx).unwrap()[0];
        assert_eq!(n.first_seen_ms, Some(1_401_580_800_000)); // valid_from 2014-06-01
        assert_eq!(n.last_seen_ms, Some(1_420_167_845_000)); // modified 2015-01-02T03:04:05
        let no_modified = indicator_with(serde_json::json!({"modified": null}));
        let n = &to_submissions(&no_modified, &ctx).unwrap()[0];
        assert_eq!(n.last_seen_ms, Some(1_401_580_800_000)); // valid_from
        let with_last = indicator_with(serde_json::json!({"x_jaring_last_seen": "2016-01-01T00:00:00Z"}));
        assert_eq!(to_submissions(&with_last, &ctx).unwrap()[0].last_seen_ms, Some(1_451_606_400_000));
    }

    #[test]
    fn the_producer_is_kept_as_a_source_reference_unless_it_is_this_node() {
        let mut ctx = StixContext::for_node(Some("ID".into()));
        ctx.learn(&serde_json::json!({"type": "identity", "id": "identity--a", "name": "CERT Contoh"}));
        ctx.learn(&serde_json::json!({"type": "identity", "id": "identity--me", "name": "Jaring node ID",
            "x_jaring_node_id": "ID"}));
        let refs = |by: &str| {
            let o = indicator_with(serde_json::json!({"created_by_ref": by,
                "external_references": [{"source_name": "x", "url": "https://example.org/1"}]}));
            to_submissions(&o, &ctx).unwrap()[0].source_refs.clone()
        };
        assert_eq!(refs("identity--a"), vec!["https://example.org/1".to_string(), "producer: CERT Contoh".into()]);
        assert_eq!(
            refs("identity--unknown"),
            vec!["https://example.org/1".to_string(), "producer: identity--unknown".into()]
        );
        assert_eq!(refs("identity--me"), vec!["https://example.org/1".to_string()]);
    }

    #[test]
    fn an_or_of_equalities_names_one_indicator_per_value() {
        let ctx = StixContext::default();
        let o = indicator_with(serde_json::json!({
            "pattern": "[domain-name:value = 'a.example'] OR [url:value = 'https://b.example/x' OR ipv4-addr:value = '198.51.100.7']"}));
        let all = to_submissions(&o, &ctx).unwrap();
        let got: Vec<(Option<Kind>, &str)> = all.iter().map(|n| (n.kind, n.value.as_str())).collect();
        assert_eq!(
            got,
            vec![
                (Some(Kind::Domain), "a.example"),
                (Some(Kind::Url), "https://b.example/x"),
                (Some(Kind::Ip), "198.51.100.7")
            ]
        );
        let bad =
            indicator_with(serde_json::json!({"pattern": "[domain-name:value = 'a.example'] OR [file:name = 'x']"}));
        let e = to_submissions(&bad, &ctx).unwrap_err();
        assert!(e.starts_with("comparison 2 of 2: pattern: object type \"file\""), "{e}");
        let and =
            indicator_with(serde_json::json!({"pattern": "[domain-name:value = 'a.example' AND url:value = 'x']"}));
        assert!(to_submissions(&and, &ctx).unwrap_err().contains("AND is not supported"));
    }
}
