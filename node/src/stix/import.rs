//! STIX 2.1 bundles into Jaring submissions.
//!
//! Every `indicator` with a simple equality pattern (`[type:prop = '…']`)
//! on a type Jaring knows becomes a [`NewIndicator`]; anything else in the
//! bundle (identities, marking definitions, relationships) is skipped
//! silently, and every indicator that cannot be taken gets its own
//! [`ObjectError`] while the rest go on.

use serde_json::Value;

use crate::model::{Category, Distribution, Kind, Tlp};
use crate::submission::NewIndicator;

/// The bundle itself is unusable.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// Not JSON.
    #[error("not JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// JSON, but not a STIX bundle.
    #[error("not a STIX 2.1 bundle: {0}")]
    NotBundle(&'static str),
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

/// Parses a simple equality pattern into (object type, property, value).
///
/// # Errors
///
/// A message saying what is unsupported.
pub fn parse_pattern(p: &str) -> Result<(String, String, String), String> {
    let inner = p
        .trim()
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .ok_or("pattern must be one observation: [type:property = 'value']")?;
    let (path, rest) = inner.split_once('=').ok_or("only '=' comparisons are supported")?;
    let (ty, prop) = path.trim().split_once(':').ok_or("object path must be type:property")?;
    let rest = rest.trim();
    let body = rest.strip_prefix('\'').ok_or("the value must be a quoted string")?;
    let mut value = String::with_capacity(body.len());
    let mut chars = body.chars();
    let mut closed = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(e @ ('\'' | '\\')) => value.push(e),
                _ => return Err("bad escape in the value".into()),
            },
            '\'' => {
                closed = true;
                break;
            }
            c => value.push(c),
        }
    }
    if !closed {
        return Err("unterminated string".into());
    }
    if !chars.as_str().trim().is_empty() {
        return Err("only a single comparison is supported (no AND/OR/qualifiers)".into());
    }
    Ok((ty.trim().to_string(), prop.trim().to_string(), value))
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

fn tlp_of(refs: Option<&Value>) -> Option<Tlp> {
    let refs = refs?.as_array()?;
    refs.iter().filter_map(Value::as_str).find_map(|id| {
        for t in Tlp::ALL {
            if super::tlp_marking_id(*t) == id {
                return Some(*t);
            }
        }
        // TLP 1.0 markings of STIX 2.1 section 7.2.1.4.
        match id {
            "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9" => Some(Tlp::Clear),
            "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da" => Some(Tlp::Green),
            "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82" => Some(Tlp::Amber),
            "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed" => Some(Tlp::Red),
            _ => None,
        }
    })
}

fn time_ms(field: &str, v: &Value) -> Result<i64, String> {
    let s = v.as_str().ok_or_else(|| format!("{field}: not a string"))?;
    let t = humantime::parse_rfc3339_weak(s).map_err(|e| format!("{field}: {e}"))?;
    let d = t.duration_since(std::time::UNIX_EPOCH).map_err(|_| format!("{field}: before 1970"))?;
    Ok(i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// One indicator object as a submission.
///
/// # Errors
///
/// Why the object cannot be taken.
pub fn to_submission(o: &Value) -> Result<NewIndicator, String> {
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
    let pattern = o.get("pattern").and_then(Value::as_str).ok_or("pattern: missing")?;
    let (ty, prop, value) = parse_pattern(pattern).map_err(|e| format!("pattern: {e}"))?;
    let kind = kind_of(&ty, &prop)?;
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
    let first_seen_ms = o.get("valid_from").map(|v| time_ms("valid_from", v)).transpose()?;
    let valid_until_ms = o.get("valid_until").map(|v| time_ms("valid_until", v)).transpose()?;
    let last_seen_ms = o.get("x_jaring_last_seen").map(|v| time_ms("x_jaring_last_seen", v)).transpose()?;
    let distribution = match o.get("x_jaring_distribution").and_then(Value::as_str) {
        Some(d) => Some(d.parse::<Distribution>().map_err(|e| format!("x_jaring_distribution: {e}"))?),
        None => None,
    };
    let source_refs = o
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
    Ok(NewIndicator {
        kind: Some(kind),
        value,
        categories,
        confidence,
        tlp: Some(tlp_of(o.get("object_marking_refs")).unwrap_or(Tlp::Amber)),
        distribution,
        first_seen_ms,
        last_seen_ms,
        valid_until_ms,
        description: o.get("description").and_then(Value::as_str).map(str::to_string),
        source_refs,
    })
}

/// One indicator object of a bundle: its index in `objects` and the
/// submission, or why it was refused.
pub type ParsedObject = (usize, Result<NewIndicator, ObjectError>);

/// Parses a bundle: one result per `indicator` object, in order, with its
/// index in `objects` (other object types are skipped).
///
/// # Errors
///
/// [`ImportError`] if the text is not a bundle at all.
pub fn parse_bundle(text: &str) -> Result<Vec<ParsedObject>, ImportError> {
    let v: Value = serde_json::from_str(text)?;
    if v.get("type").and_then(Value::as_str) != Some("bundle") {
        return Err(ImportError::NotBundle("type is not \"bundle\""));
    }
    let objects = v.get("objects").and_then(Value::as_array).ok_or(ImportError::NotBundle("no objects array"))?;
    let mut out = Vec::new();
    for (index, o) in objects.iter().enumerate() {
        let ty = o.get("type").and_then(Value::as_str);
        if ty.is_some() && ty != Some("indicator") {
            continue;
        }
        let id = o.get("id").and_then(Value::as_str).unwrap_or("").to_string();
        let r = if ty.is_none() { Err("type: missing".to_string()) } else { to_submission(o) };
        out.push((index, r.map_err(|reason| ObjectError { index, id, reason })));
    }
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
        assert!(matches!(parse_bundle("{\"type\":\"x\"}"), Err(ImportError::NotBundle(_))));
        assert!(matches!(parse_bundle("nope"), Err(ImportError::Json(_))));
    }
}
