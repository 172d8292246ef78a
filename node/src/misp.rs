//! Jaring indicators as MISP events: the files of a MISP feed.
//!
//! MISP's "Feeds" pull (MISP `app/Model/Feed.php`) reads, under the feed
//! URL, `manifest.json` (event uuid -> event metadata with a `timestamp`;
//! MISP fetches an event again when its timestamp rose), one
//! `<event uuid>.json` per event (`{"Event": {...}}`), and `hashes.csv`
//! (`md5(value),event uuid` per attribute value, for MISP's feed cache and
//! correlation without downloading the events). The HTTPS listener serves
//! them under `/misp/` ([`crate::http::misp`]) and `jaring export misp
//! --out DIR` writes the same files.
//!
//! # Events
//!
//! One event per origin and kind ("Jaring node ID: phone indicators").
//! Both are part of an indicator's identity, so an indicator stays in the
//! same event for life: a new version or a revocation updates its
//! attribute (same uuid, newer `timestamp`) and raises the event's
//! timestamp, and MISP, which never removes an attribute a feed stops
//! listing, updates it in place. Event uuids are UUIDv5 of (origin, kind)
//! and attribute uuids UUIDv5 of the Jaring indicator id, so two nodes
//! serving the same origin's indicators name them the same.
//!
//! # Attributes
//!
//! | Jaring kind | MISP type | category |
//! |---|---|---|
//! | domain | `domain` | Network activity |
//! | url | `url` | Network activity |
//! | ip | `ip-dst` | Network activity |
//! | phone | `phone-number` | Financial fraud |
//! | bank_account | `bank-account-nr` | Financial fraud |
//! | ewallet_account | `text` | Financial fraud |
//! | crypto_wallet `btc:`, `xmr:`, `dash:` | `btc`, `xmr`, `dash` (the address) | Financial fraud |
//! | other crypto_wallet chains | `text` (`eth:0x…`) | Financial fraud |
//! | email | `email-src` | Payload delivery |
//! | social_handle | `text` (`telegram:handle`) | Social network |
//! | any personal-data kind, hashed | `anonymised` (hex HMAC-SHA256) | as the kind |
//!
//! MISP's describeTypes has no Ethereum or generic wallet attribute type
//! (only the `coin-address` object), so other chains are `text` with a
//! `jaring:chain` tag. Hashed personal data uses MISP's `anonymised` type,
//! with the scheme and federation key epoch in the comment and tags; MISP
//! does not correlate `anonymised` values, but a search for the hash
//! finds them.
//!
//! Tags: the MISP `tlp` taxonomy (`tlp:clear`, `tlp:green`, `tlp:amber`,
//! `tlp:amber+strict`, `tlp:red`), and `jaring:` machine tags:
//! `jaring:category="job_scam"` per category, `jaring:kind`,
//! `jaring:status` (`active`, `expired`, `revoked`), `jaring:confidence`,
//! `jaring:origin`, `jaring:hash-epoch`, `jaring:chain`. `to_ids` is true
//! only for active indicators of a type detection can use (not `text`,
//! not `anonymised`); revoked and expired ones are false.
//!
//! Timestamps: an attribute's `timestamp` is when this node added the
//! version (or signed it, for directory exports), or when it expired if
//! that is later, so the event's timestamp rises when an indicator
//! expires and MISP fetches the event again to clear its `to_ids`.
//!
//! Pure: records in, JSON out.

use std::io::Write;

use serde_json::{Map, Value, json};

use crate::model::{Kind, Tlp, UnixMillis};
use crate::scoring::ScoringConfig;
use crate::stix::NAMESPACE;
use crate::view::{IndicatorRecord, ValueStatus};

/// File name of the manifest.
pub const MANIFEST: &str = "manifest.json";
/// File name of the hash list.
pub const HASHES: &str = "hashes.csv";

/// The uuid of the event holding `origin`'s indicators of `kind`.
pub fn event_uuid(origin: &str, kind: Kind) -> String {
    uuid::Uuid::new_v5(&NAMESPACE, format!("jaring-misp-event:{origin}:{kind}").as_bytes()).to_string()
}

/// The uuid of the attribute standing for a Jaring indicator id.
pub fn attribute_uuid(indicator_id: &str) -> String {
    uuid::Uuid::new_v5(&NAMESPACE, format!("jaring-misp-attribute:{indicator_id}").as_bytes()).to_string()
}

/// The uuid of the MISP organisation standing for an origin node (the
/// uuid of its STIX identity, [`crate::stix::identity_id`]).
pub fn org_uuid(origin: &str) -> String {
    uuid::Uuid::new_v5(&NAMESPACE, format!("jaring-node:{origin}").as_bytes()).to_string()
}

/// The MISP `tlp` taxonomy tag of a level.
pub fn tlp_tag(tlp: Tlp) -> &'static str {
    match tlp {
        Tlp::Clear => "tlp:clear",
        Tlp::Green => "tlp:green",
        Tlp::Amber => "tlp:amber",
        Tlp::AmberStrict => "tlp:amber+strict",
        Tlp::Red => "tlp:red",
    }
}

fn tlp_colour(tlp: Tlp) -> &'static str {
    match tlp {
        Tlp::Clear => "#ffffff",
        Tlp::Green => "#339900",
        Tlp::Amber | Tlp::AmberStrict => "#ffc000",
        Tlp::Red => "#cc0033",
    }
}

fn tag(name: String) -> Value {
    json!({"name": name})
}

fn machine_tag(predicate: &str, value: &str) -> Value {
    tag(format!("jaring:{predicate}=\"{value}\""))
}

fn status_name(s: ValueStatus) -> &'static str {
    match s {
        ValueStatus::Active => "active",
        ValueStatus::Expired => "expired",
        ValueStatus::Revoked => "revoked",
    }
}

/// MISP type, category and value of a record.
pub fn misp_type(rec: &IndicatorRecord) -> (&'static str, &'static str, String) {
    let category = match rec.kind {
        Kind::Domain | Kind::Url | Kind::Ip => "Network activity",
        Kind::Email => "Payload delivery",
        Kind::SocialHandle => "Social network",
        Kind::Phone | Kind::BankAccount | Kind::EwalletAccount | Kind::CryptoWallet => "Financial fraud",
    };
    if let Some(hash) = &rec.keyed_hash {
        return ("anonymised", category, hash.clone());
    }
    let v = rec.value.clone();
    let ty = match rec.kind {
        Kind::Domain => "domain",
        Kind::Url => "url",
        Kind::Ip => "ip-dst",
        Kind::Phone => "phone-number",
        Kind::BankAccount => "bank-account-nr",
        Kind::Email => "email-src",
        Kind::EwalletAccount | Kind::SocialHandle => "text",
        Kind::CryptoWallet => {
            let (chain, address) = v.split_once(':').unwrap_or(("", v.as_str()));
            let ty = match chain {
                "btc" => "btc",
                "xmr" => "xmr",
                "dash" => "dash",
                _ => "text",
            };
            if ty != "text" {
                return (ty, category, address.to_string());
            }
            ty
        }
    };
    (ty, category, v)
}

/// When a record stopped being active by expiry (its `valid_until`, or
/// its category's lifetime after it was last seen), if it has.
pub fn expired_at(rec: &IndicatorRecord, now: UnixMillis, scoring: &ScoringConfig) -> Option<UnixMillis> {
    if crate::export_filter::status_of(rec, now, scoring) != ValueStatus::Expired {
        return None;
    }
    let lifetime_ms = scoring.decay_of(&rec.categories).lifetime_days * 86_400_000.0;
    // Lifetimes are days (validated finite and positive); the product fits.
    #[allow(clippy::cast_possible_truncation)]
    let by_lifetime = rec.last_seen_ms.saturating_add(lifetime_ms as i64);
    Some(rec.valid_until_ms.map_or(by_lifetime, |u| u.min(by_lifetime)))
}

/// A record as a MISP attribute. `added_s`: when this node added this
/// version (seconds); the attribute's timestamp is that or its expiry.
pub fn attribute(rec: &IndicatorRecord, added_s: i64, now: UnixMillis, scoring: &ScoringConfig) -> Value {
    let status = crate::export_filter::status_of(rec, now, scoring);
    let timestamp = expired_at(rec, now, scoring).map_or(added_s, |t| added_s.max(t.div_euclid(1000)));
    let (ty, category, value) = misp_type(rec);
    let detectable = !matches!(ty, "text" | "anonymised");
    let mut tags = vec![json!({"name": tlp_tag(rec.tlp), "colour": tlp_colour(rec.tlp)})];
    tags.extend(rec.categories.iter().map(|c| machine_tag("category", c.as_str())));
    tags.push(machine_tag("kind", rec.kind.as_str()));
    tags.push(machine_tag("status", status_name(status)));
    tags.push(machine_tag("confidence", &rec.confidence.to_string()));
    tags.push(machine_tag("origin", &rec.origin));
    let mut comment = Vec::new();
    if let Some(epoch) = rec.hash_epoch.filter(|_| rec.keyed_hash.is_some()) {
        tags.push(machine_tag("hash-epoch", &epoch.to_string()));
        comment.push(format!(
            "{}: HMAC-SHA256 keyed hash (federation key epoch {epoch}) of \"{}\" 0x00 normalized value",
            rec.kind, rec.kind
        ));
    }
    if rec.kind == Kind::CryptoWallet
        && rec.keyed_hash.is_none()
        && let Some((chain, _)) = rec.value.split_once(':')
    {
        tags.push(machine_tag("chain", chain));
    }
    if let Some(d) = &rec.description {
        comment.push(d.clone());
    }
    let time = crate::stix::export::timestamp;
    let mut a = Map::new();
    a.insert("uuid".into(), attribute_uuid(&rec.id).into());
    a.insert("type".into(), ty.into());
    a.insert("category".into(), category.into());
    a.insert("value".into(), value.into());
    a.insert("to_ids".into(), (status == ValueStatus::Active && detectable).into());
    a.insert("timestamp".into(), timestamp.to_string().into());
    a.insert("comment".into(), comment.join(" | ").into());
    a.insert("deleted".into(), false.into());
    a.insert("disable_correlation".into(), false.into());
    a.insert("first_seen".into(), time(rec.first_seen_ms).into());
    a.insert("last_seen".into(), time(rec.last_seen_ms.max(rec.first_seen_ms)).into());
    a.insert("Tag".into(), tags.into());
    Value::Object(a)
}

/// What is known about one event while its attributes are written: enough
/// for its header and its manifest entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventSummary {
    /// Origin node.
    pub origin: String,
    pub kind: Kind,
    /// Latest attribute timestamp, seconds.
    pub timestamp: i64,
    /// Earliest first_seen, ms.
    pub first_seen_ms: UnixMillis,
    /// Most restricted TLP among its attributes.
    pub max_tlp: Tlp,
    pub attributes: u64,
}

impl EventSummary {
    /// An empty event for `origin`'s indicators of `kind`.
    pub fn new(origin: &str, kind: Kind) -> EventSummary {
        EventSummary {
            origin: origin.to_string(),
            kind,
            timestamp: 0,
            first_seen_ms: UnixMillis::MAX,
            max_tlp: Tlp::Clear,
            attributes: 0,
        }
    }

    /// The event's uuid.
    pub fn uuid(&self) -> String {
        event_uuid(&self.origin, self.kind)
    }

    /// Counts one attribute (as [`attribute`] made it).
    pub fn observe(&mut self, rec: &IndicatorRecord, attribute: &Value) {
        let ts = attribute["timestamp"].as_str().and_then(|t| t.parse().ok()).unwrap_or(0);
        self.timestamp = self.timestamp.max(ts);
        self.first_seen_ms = self.first_seen_ms.min(rec.first_seen_ms);
        self.max_tlp = self.max_tlp.max(rec.tlp);
        self.attributes += 1;
    }

    fn info(&self) -> String {
        format!("Jaring node {}: {} indicators", self.origin, self.kind)
    }

    fn date(&self) -> String {
        let ms = if self.first_seen_ms == UnixMillis::MAX { 0 } else { self.first_seen_ms };
        crate::stix::export::timestamp(ms).chars().take(10).collect()
    }

    fn orgc(&self) -> Value {
        json!({"name": format!("Jaring node {}", self.origin), "uuid": org_uuid(&self.origin)})
    }

    fn tags(&self) -> Value {
        json!([
            {"name": tlp_tag(self.max_tlp), "colour": tlp_colour(self.max_tlp)},
            machine_tag("origin", &self.origin),
            machine_tag("kind", self.kind.as_str()),
        ])
    }

    /// The event's entry in `manifest.json` (keyed by [`Self::uuid`]).
    pub fn manifest_entry(&self) -> Value {
        json!({
            "Orgc": self.orgc(),
            "Tag": self.tags(),
            "info": self.info(),
            "date": self.date(),
            "analysis": 1,
            "threat_level_id": 2,
            "timestamp": self.timestamp.to_string(),
        })
    }

    /// The event's fields other than its attributes.
    fn header(&self) -> Map<String, Value> {
        let mut e = Map::new();
        e.insert("uuid".into(), self.uuid().into());
        e.insert("info".into(), self.info().into());
        e.insert("date".into(), self.date().into());
        // 1: ongoing (the node keeps adding to it); 2: medium.
        e.insert("analysis".into(), "1".into());
        e.insert("threat_level_id".into(), "2".into());
        e.insert("published".into(), true.into());
        e.insert("timestamp".into(), self.timestamp.to_string().into());
        e.insert("publish_timestamp".into(), self.timestamp.to_string().into());
        e.insert("Orgc".into(), self.orgc());
        e.insert("Tag".into(), self.tags());
        e
    }
}

/// Writes one event file (`{"Event": {...}}`) attribute by attribute, so
/// events of any size use bounded memory.
#[derive(Debug)]
pub struct EventWriter<W: Write> {
    out: W,
    first: bool,
}

impl<W: Write> EventWriter<W> {
    /// Starts an event file.
    ///
    /// # Errors
    ///
    /// Write failures.
    pub fn new(mut out: W) -> std::io::Result<Self> {
        out.write_all(b"{\"Event\":{\"Attribute\":[")?;
        Ok(EventWriter { out, first: true })
    }

    /// Appends one attribute.
    ///
    /// # Errors
    ///
    /// Write failures.
    pub fn push(&mut self, attribute: &Value) -> std::io::Result<()> {
        self.out.write_all(if self.first { b"\n" } else { b",\n" })?;
        self.first = false;
        serde_json::to_writer(&mut self.out, attribute).map_err(std::io::Error::other)
    }

    /// Closes the attribute list and writes the event's other fields.
    ///
    /// # Errors
    ///
    /// Write failures.
    pub fn finish(mut self, summary: &EventSummary) -> std::io::Result<W> {
        self.out.write_all(b"\n]")?;
        for (k, v) in summary.header() {
            self.out.write_all(b",")?;
            serde_json::to_writer(&mut self.out, &k).map_err(std::io::Error::other)?;
            self.out.write_all(b":")?;
            serde_json::to_writer(&mut self.out, &v).map_err(std::io::Error::other)?;
        }
        self.out.write_all(b"}}\n")?;
        self.out.flush()?;
        Ok(self.out)
    }
}

/// The `manifest.json` of a set of events.
pub fn manifest<'a>(events: impl IntoIterator<Item = &'a EventSummary>) -> Value {
    let mut m = Map::new();
    for e in events {
        m.insert(e.uuid(), e.manifest_entry());
    }
    Value::Object(m)
}

/// One line of `hashes.csv` for an attribute: `md5(value),event uuid`.
pub fn hash_line(attribute: &Value, event_uuid: &str) -> String {
    use md5::Digest;
    let value = attribute["value"].as_str().unwrap_or_default();
    format!("{},{event_uuid}\n", hex::encode(md5::Md5::digest(value.as_bytes())))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::export_filter::tests::{NOW, record};
    use crate::model::{Action, Category};

    fn attr(rec: &IndicatorRecord) -> Value {
        attribute(rec, 1_700_000_000, NOW, &ScoringConfig::default())
    }

    #[test]
    fn kinds_map_to_misp_types() {
        for (kind, value, ty, category, shown) in [
            (Kind::Domain, "loker.example", "domain", "Network activity", "loker.example"),
            (Kind::Url, "https://loker.example/a", "url", "Network activity", "https://loker.example/a"),
            (Kind::Ip, "203.0.113.7", "ip-dst", "Network activity", "203.0.113.7"),
            (Kind::Phone, "+6281234567890", "phone-number", "Financial fraud", "+6281234567890"),
            (Kind::BankAccount, "BCA:1234567890", "bank-account-nr", "Financial fraud", "BCA:1234567890"),
            (Kind::EwalletAccount, "gopay:+6281234567890", "text", "Financial fraud", "gopay:+6281234567890"),
            (
                Kind::CryptoWallet,
                "btc:1BoatSLRHtKNngkdXEeobR76b53LETtpyT",
                "btc",
                "Financial fraud",
                "1BoatSLRHtKNngkdXEeobR76b53LETtpyT",
            ),
            (
                Kind::CryptoWallet,
                "eth:0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed",
                "text",
                "Financial fraud",
                "eth:0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed",
            ),
            (Kind::Email, "a@loker.example", "email-src", "Payload delivery", "a@loker.example"),
            (Kind::SocialHandle, "telegram:lokerkerja", "text", "Social network", "telegram:lokerkerja"),
        ] {
            let a = attr(&record(kind, value));
            assert_eq!(
                (a["type"].as_str(), a["category"].as_str(), a["value"].as_str()),
                (Some(ty), Some(category), Some(shown)),
                "{kind}"
            );
        }
    }

    #[test]
    fn hashed_values_are_anonymised_with_their_epoch() {
        let mut rec = record(Kind::BankAccount, "ab".repeat(32).as_str());
        rec.keyed_hash = Some("ab".repeat(32));
        rec.hash_epoch = Some(3);
        let a = attr(&rec);
        assert_eq!(a["type"], "anonymised");
        assert_eq!(a["value"], "ab".repeat(32));
        assert_eq!(a["to_ids"], false);
        let tags = a["Tag"].to_string();
        assert!(tags.contains(r#"jaring:hash-epoch=\"3\""#), "{tags}");
        assert!(a["comment"].as_str().unwrap().contains("epoch 3"), "{a}");
    }

    #[test]
    fn revoked_and_expired_are_not_for_ids_and_tags_say_why() {
        let active = record(Kind::Domain, "loker.example");
        let a = attr(&active);
        assert_eq!(a["to_ids"], true);
        let tags: Vec<String> =
            a["Tag"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap().to_string()).collect();
        assert_eq!(tags[0], "tlp:green");
        assert!(tags.contains(&r#"jaring:category="job_scam""#.to_string()), "{tags:?}");
        assert!(tags.contains(&r#"jaring:status="active""#.to_string()), "{tags:?}");
        let revoked = IndicatorRecord { action: Action::Revoke, ..active.clone() };
        assert_eq!(attr(&revoked)["to_ids"], false);
        assert!(attr(&revoked)["Tag"].to_string().contains(r#"jaring:status=\"revoked\""#));
        // Expired an hour ago: to_ids off, and the timestamp is the expiry,
        // later than when it was added, so MISP fetches the event again.
        let expired = IndicatorRecord { valid_until_ms: Some(NOW - 3_600_000), ..active };
        let e = attr(&expired);
        assert_eq!(e["to_ids"], false);
        assert_eq!(e["timestamp"], ((NOW - 3_600_000) / 1000).to_string());
    }

    #[test]
    fn event_file_and_manifest_agree() {
        let mut rec = record(Kind::Domain, "loker.example");
        rec.categories = vec![Category::JobScam, Category::Phishing];
        let a = attr(&rec);
        let mut summary = EventSummary::new("ID", Kind::Domain);
        summary.observe(&rec, &a);
        let mut w = EventWriter::new(Vec::new()).unwrap();
        w.push(&a).unwrap();
        let bytes = w.finish(&summary).unwrap();
        let event: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(event["Event"]["uuid"], event_uuid("ID", Kind::Domain));
        assert_eq!(event["Event"]["Attribute"][0], a);
        assert_eq!(event["Event"]["timestamp"], "1700000000");
        let m = manifest([&summary]);
        assert_eq!(m[event_uuid("ID", Kind::Domain)]["timestamp"], "1700000000");
        assert_eq!(m[event_uuid("ID", Kind::Domain)]["Orgc"]["name"], "Jaring node ID");
        let line = hash_line(&a, &summary.uuid());
        // md5("loker.example"), by Python's hashlib.
        assert!(line.starts_with("d3210c198a27035b5b7c61a5f64234fb,"), "{line}");
        assert!(line.ends_with(&format!("{}\n", summary.uuid())));
    }
}
