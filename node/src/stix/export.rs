//! Jaring records as STIX 2.1 objects.

use std::collections::BTreeSet;
use std::io::Write;

use serde_json::{Map, Value, json};

use super::{NAMESPACE, TLP2_EXTENSION};
use crate::model::{Action, Kind, Tlp, UnixMillis};
use crate::view::IndicatorRecord;

/// The official TLP 2.0 marking-definition id for a level.
pub fn tlp_marking_id(tlp: Tlp) -> &'static str {
    match tlp {
        Tlp::Clear => "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
        Tlp::Green => "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
        Tlp::Amber => "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
        Tlp::AmberStrict => "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
        Tlp::Red => "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
    }
}

/// The official TLP 2.0 marking-definition object for a level.
pub fn tlp_marking(tlp: Tlp) -> Value {
    let mut ext = Map::new();
    ext.insert(TLP2_EXTENSION.into(), json!({"extension_type": "property-extension", "tlp_2_0": tlp.as_str()}));
    json!({
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": tlp_marking_id(tlp),
        "created": "2022-10-01T00:00:00.000Z",
        "name": tlp.label(),
        "extensions": ext,
    })
}

/// The STIX id of the identity standing for an origin node.
pub fn identity_id(origin: &str) -> String {
    format!("identity--{}", uuid::Uuid::new_v5(&NAMESPACE, format!("jaring-node:{origin}").as_bytes()))
}

/// The identity object of an origin node. Only standard properties, so
/// strict STIX parsers (OASIS `stix2` with `allow_custom=False`) accept it;
/// the node id is in the name and in each indicator's `x_jaring_origin`.
pub fn identity(origin: &str) -> Value {
    json!({
        "type": "identity",
        "spec_version": "2.1",
        "id": identity_id(origin),
        "created": "2026-01-01T00:00:00.000Z",
        "modified": "2026-01-01T00:00:00.000Z",
        "name": format!("Jaring node {origin}"),
        "identity_class": "organization",
        "sectors": ["government-national"],
    })
}

/// The STIX id of a Jaring indicator id.
pub fn indicator_id(jaring_id: &str) -> String {
    crate::envelope::stix_indicator_id(jaring_id)
}

/// The latest time RFC 3339 can write (four-digit years):
/// 9999-12-31T23:59:59.999Z.
const MAX_TIMESTAMP_MS: u64 = 253_402_300_799_999;

/// STIX timestamp (RFC 3339, UTC, milliseconds). Times are any `i64` a peer
/// or an admin sent: before 1970 is written as 1970, after year 9999 as the
/// last millisecond of 9999 (formatting it would otherwise panic).
pub fn timestamp(ms: UnixMillis) -> String {
    let ms = u64::try_from(ms).unwrap_or(0).min(MAX_TIMESTAMP_MS);
    humantime::format_rfc3339_millis(std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms)).to_string()
}

/// The custom observable type of a kind (`x-jaring-…`).
pub fn custom_type(kind: Kind) -> String {
    format!("x-jaring-{}", kind.as_str().replace('_', "-"))
}

fn quote(v: &str) -> String {
    let mut s = String::with_capacity(v.len() + 2);
    s.push('\'');
    for c in v.chars() {
        if c == '\'' || c == '\\' {
            s.push('\\');
        }
        s.push(c);
    }
    s.push('\'');
    s
}

/// The STIX pattern of a record: its keyed hash for personal data, else
/// its normalized value.
pub fn pattern(rec: &IndicatorRecord) -> String {
    if let Some(hash) = &rec.keyed_hash {
        return format!("[{}:hmac_sha256 = {}]", custom_type(rec.kind), quote(hash));
    }
    let v = quote(&rec.value);
    match rec.kind {
        Kind::Domain => format!("[domain-name:value = {v}]"),
        Kind::Url => format!("[url:value = {v}]"),
        Kind::Ip if rec.value.contains(':') => format!("[ipv6-addr:value = {v}]"),
        Kind::Ip => format!("[ipv4-addr:value = {v}]"),
        Kind::Email => format!("[email-addr:value = {v}]"),
        k => format!("[{}:value = {v}]", custom_type(k)),
    }
}

/// A record as a STIX 2.1 indicator.
pub fn indicator(rec: &IndicatorRecord) -> Value {
    let created_ms = rec.first_seen_ms.min(rec.created_at_ms);
    let labels: Vec<&str> = rec.categories.iter().map(|c| c.as_str()).collect();
    let shown = rec.keyed_hash.as_deref().map_or(rec.value.as_str(), |_| "(keyed hash)");
    let mut o = Map::new();
    o.insert("type".into(), "indicator".into());
    o.insert("spec_version".into(), "2.1".into());
    o.insert("id".into(), indicator_id(&rec.id).into());
    o.insert("created_by_ref".into(), identity_id(&rec.origin).into());
    o.insert("created".into(), timestamp(created_ms).into());
    o.insert("modified".into(), timestamp(rec.created_at_ms.max(created_ms)).into());
    o.insert("name".into(), format!("{} {shown}", rec.kind).into());
    if let Some(d) = &rec.description {
        o.insert("description".into(), d.clone().into());
    }
    o.insert("indicator_types".into(), json!(["malicious-activity"]));
    o.insert("pattern".into(), pattern(rec).into());
    o.insert("pattern_type".into(), "stix".into());
    o.insert("pattern_version".into(), "2.1".into());
    o.insert("valid_from".into(), timestamp(rec.first_seen_ms).into());
    if let Some(until) = rec.valid_until_ms.filter(|u| *u > rec.first_seen_ms) {
        o.insert("valid_until".into(), timestamp(until).into());
    }
    o.insert("labels".into(), json!(labels));
    o.insert("confidence".into(), rec.confidence.into());
    o.insert("revoked".into(), (rec.action == Action::Revoke).into());
    o.insert("object_marking_refs".into(), json!([tlp_marking_id(rec.tlp)]));
    if !rec.source_refs.is_empty() {
        let refs: Vec<Value> = rec
            .source_refs
            .iter()
            .map(|s| {
                if s.starts_with("http://") || s.starts_with("https://") {
                    json!({"source_name": "jaring-source", "url": s})
                } else {
                    json!({"source_name": "jaring-source", "external_id": s})
                }
            })
            .collect();
        o.insert("external_references".into(), refs.into());
    }
    o.insert("x_jaring_id".into(), rec.id.clone().into());
    o.insert("x_jaring_origin".into(), rec.origin.clone().into());
    o.insert("x_jaring_kind".into(), rec.kind.as_str().into());
    o.insert("x_jaring_version".into(), rec.version.into());
    o.insert("x_jaring_distribution".into(), rec.distribution.as_str().into());
    o.insert("x_jaring_last_seen".into(), timestamp(rec.last_seen_ms).into());
    if let Some(epoch) = rec.hash_epoch {
        o.insert("x_jaring_hash_scheme".into(), "hmac-sha256".into());
        o.insert("x_jaring_hash_epoch".into(), epoch.into());
    }
    Value::Object(o)
}

/// Writes a bundle object by object, so exports of any size use bounded
/// memory; the identity and marking-definition objects the indicators
/// reference are appended by [`BundleWriter::finish`].
#[derive(Debug)]
pub struct BundleWriter<W: Write> {
    out: W,
    first: bool,
    origins: BTreeSet<String>,
    tlps: BTreeSet<Tlp>,
    count: u64,
}

impl<W: Write> BundleWriter<W> {
    /// Starts a bundle with the given id seed (hashed into a UUIDv5).
    ///
    /// # Errors
    ///
    /// Write failures.
    pub fn new(mut out: W, seed: &str) -> std::io::Result<Self> {
        let id = uuid::Uuid::new_v5(&NAMESPACE, format!("jaring-bundle:{seed}").as_bytes());
        write!(out, "{{\"type\":\"bundle\",\"id\":\"bundle--{id}\",\"objects\":[")?;
        Ok(BundleWriter { out, first: true, origins: BTreeSet::new(), tlps: BTreeSet::new(), count: 0 })
    }

    fn object(&mut self, v: &Value) -> std::io::Result<()> {
        if !self.first {
            self.out.write_all(b",\n")?;
        } else {
            self.out.write_all(b"\n")?;
        }
        self.first = false;
        serde_json::to_writer(&mut self.out, v).map_err(std::io::Error::other)
    }

    /// Appends one record's indicator.
    ///
    /// # Errors
    ///
    /// Write failures.
    pub fn push(&mut self, rec: &IndicatorRecord) -> std::io::Result<()> {
        self.origins.insert(rec.origin.clone());
        self.tlps.insert(rec.tlp);
        self.count += 1;
        self.object(&indicator(rec))
    }

    /// Indicators written so far.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Appends the referenced identities and markings and closes the bundle.
    ///
    /// # Errors
    ///
    /// Write failures.
    pub fn finish(mut self) -> std::io::Result<W> {
        for origin in std::mem::take(&mut self.origins) {
            self.object(&identity(&origin))?;
        }
        for tlp in std::mem::take(&mut self.tlps) {
            self.object(&tlp_marking(tlp))?;
        }
        self.out.write_all(b"\n]}\n")?;
        self.out.flush()?;
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `valid_until_ms: i64::MAX` ("never") from an admin or a peer made
    /// the export panic: humantime refuses to format years past 9999.
    #[test]
    fn timestamps_out_of_range_are_clamped() {
        assert_eq!(timestamp(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(timestamp(-5), "1970-01-01T00:00:00.000Z");
        assert_eq!(timestamp(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
        assert_eq!(timestamp(253_402_300_799_999), "9999-12-31T23:59:59.999Z");
        assert_eq!(timestamp(253_402_300_800_000), "9999-12-31T23:59:59.999Z");
        assert_eq!(timestamp(i64::MAX), "9999-12-31T23:59:59.999Z");
    }
}
