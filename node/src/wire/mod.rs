//! The one place where protobuf meets the domain.
//!
//! Everything that crosses the wire is decoded here into plain domain types
//! with their invariants checked (`TryFrom<pb::X>`), and encoded back
//! (`From<&X> for pb::X`). A value from a peer or a client that breaks an
//! invariant is a [`WireError`] naming the field.

use jaring_proto::pb;
use prost::Message;

use crate::envelope::{BodyHash, Entry, EnvelopeBody, Indicator, KeyEvent, SignedEnvelope, Value};
use crate::feedback::{Feedback, FeedbackType};
use crate::model::{Action, Category, Confidence, Distribution, Kind, Tlp};
use crate::pii;

/// Largest description accepted, in bytes.
pub const MAX_DESCRIPTION: usize = 4096;
/// Largest number of source references per indicator.
pub const MAX_SOURCE_REFS: usize = 32;
/// Largest source reference, in bytes.
pub const MAX_SOURCE_REF: usize = 2048;

/// A protobuf message that does not make a valid domain value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    /// Not protobuf.
    #[error("not a valid protobuf message: {0}")]
    Decode(String),
    /// A required field is absent or zero.
    #[error("{0} is missing")]
    Missing(&'static str),
    /// An enum field has a value this version does not know.
    #[error("{field} has unknown value {value}")]
    UnknownEnum {
        /// The field.
        field: &'static str,
        /// The number received.
        value: i32,
    },
    /// A field breaks an invariant.
    #[error("{field}: {reason}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
}

impl WireError {
    fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        WireError::Invalid { field, reason: reason.into() }
    }

    /// The field this error is about.
    pub fn field(&self) -> &'static str {
        match self {
            WireError::Decode(_) => "body",
            WireError::Missing(f) => f,
            WireError::UnknownEnum { field, .. } | WireError::Invalid { field, .. } => field,
        }
    }
}

// --- enums ---------------------------------------------------------------------

macro_rules! enum_map {
    ($domain:ident, $pb:ident, $field:literal, { $($d:ident <=> $p:ident),+ $(,)? }) => {
        impl From<$domain> for pb::$pb {
            fn from(v: $domain) -> Self {
                match v { $( $domain::$d => pb::$pb::$p, )+ }
            }
        }
        impl From<$domain> for i32 {
            fn from(v: $domain) -> i32 { pb::$pb::from(v) as i32 }
        }
        impl $domain {
            /// Decodes the protobuf enum number; 0 (unspecified) is `None`.
            ///
            /// # Errors
            ///
            /// [`WireError::UnknownEnum`] for numbers this version does not know.
            pub fn from_wire(v: i32) -> Result<Option<$domain>, WireError> {
                match pb::$pb::try_from(v) {
                    $( Ok(pb::$pb::$p) => Ok(Some($domain::$d)), )+
                    Ok(_) => Ok(None),
                    Err(_) => Err(WireError::UnknownEnum { field: $field, value: v }),
                }
            }

            /// Like [`Self::from_wire`], with unspecified an error.
            ///
            /// # Errors
            ///
            /// [`WireError::Missing`] or [`WireError::UnknownEnum`].
            pub fn require_wire(v: i32) -> Result<$domain, WireError> {
                Self::from_wire(v)?.ok_or(WireError::Missing($field))
            }
        }
    };
}

enum_map!(Kind, Kind, "kind", {
    Domain <=> Domain, Url <=> Url, Phone <=> Phone, BankAccount <=> BankAccount,
    EwalletAccount <=> EwalletAccount, CryptoWallet <=> CryptoWallet, Email <=> Email,
    Ip <=> Ip, SocialHandle <=> SocialHandle,
});
enum_map!(Category, Category, "categories", {
    JobScam <=> JobScam, TraffickingRecruitment <=> TraffickingRecruitment,
    InvestmentScam <=> InvestmentScam, Phishing <=> Phishing, OnlineGambling <=> OnlineGambling,
    LoanScam <=> LoanScam, RomanceScam <=> RomanceScam, Impersonation <=> Impersonation,
    Other <=> Other,
});
enum_map!(Tlp, Tlp, "tlp", {
    Clear <=> Clear, Green <=> Green, Amber <=> Amber, AmberStrict <=> AmberStrict, Red <=> Red,
});
enum_map!(Distribution, Distribution, "distribution", {
    Local <=> Local, Direct <=> Direct, Federation <=> Federation,
});
enum_map!(Action, Action, "action", { Upsert <=> Upsert, Revoke <=> Revoke });
enum_map!(FeedbackType, FeedbackType, "feedback.type", {
    Sighting <=> Sighting, FalsePositive <=> FalsePositive, TakedownRequested <=> TakedownRequested,
    Actioned <=> Actioned, NoAction <=> NoAction, Referred <=> Referred,
});

/// Decodes a repeated category field into a sorted, duplicate-free list.
///
/// # Errors
///
/// Unknown or unspecified categories.
pub fn categories_from_wire(v: &[i32]) -> Result<Vec<Category>, WireError> {
    let mut out = Vec::with_capacity(v.len());
    for &c in v {
        out.push(Category::require_wire(c)?);
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// Encodes categories.
pub fn categories_to_wire(v: &[Category]) -> Vec<i32> {
    v.iter().map(|&c| i32::from(c)).collect()
}

// --- envelopes -------------------------------------------------------------------

impl From<&SignedEnvelope> for pb::SignedIndicator {
    fn from(e: &SignedEnvelope) -> Self {
        pb::SignedIndicator { body: e.body.clone(), signature: e.signature.clone(), key_id: e.key_id.clone() }
    }
}

impl From<pb::SignedIndicator> for SignedEnvelope {
    fn from(e: pb::SignedIndicator) -> Self {
        SignedEnvelope { body: e.body, signature: e.signature, key_id: e.key_id }
    }
}

impl From<SignedEnvelope> for pb::SignedIndicator {
    fn from(e: SignedEnvelope) -> Self {
        pb::SignedIndicator { body: e.body, signature: e.signature, key_id: e.key_id }
    }
}

/// Encodes a signed envelope as stored in the log.
pub fn encode_envelope(e: &SignedEnvelope) -> Vec<u8> {
    pb::SignedIndicator::from(e).encode_to_vec()
}

/// Decodes a stored or received `SignedIndicator`.
///
/// # Errors
///
/// [`WireError::Decode`].
pub fn decode_envelope(bytes: &[u8]) -> Result<SignedEnvelope, WireError> {
    pb::SignedIndicator::decode(bytes).map(Into::into).map_err(|e| WireError::Decode(e.to_string()))
}

/// The origin named in an encoded `SignedIndicator`, read without decoding
/// the rest: enough for a publisher to pass over entries a peer must not
/// get. `None` when the bytes do not hold one (the full decode then says
/// why).
pub fn peek_origin(envelope: &[u8]) -> Option<&str> {
    let body = length_delimited_field(envelope, 1)?;
    std::str::from_utf8(length_delimited_field(body, 1)?).ok()
}

/// The length-delimited field `number` of an encoded message; the last one
/// if it repeats, as a protobuf decoder reads it.
fn length_delimited_field(mut buf: &[u8], number: u64) -> Option<&[u8]> {
    use prost::encoding::decode_varint;
    let mut found = None;
    while !buf.is_empty() {
        let key = decode_varint(&mut buf).ok()?;
        let len = match key & 7 {
            0 => {
                decode_varint(&mut buf).ok()?;
                0
            }
            1 => 8,
            2 => usize::try_from(decode_varint(&mut buf).ok()?).ok()?,
            5 => 4,
            _ => return None,
        };
        let field = buf.get(..len)?;
        if key & 7 == 2 && key >> 3 == number {
            found = Some(field);
        }
        buf = &buf[len..];
    }
    found
}

/// Encodes a body: the bytes that get signed.
pub fn encode_body(b: &EnvelopeBody) -> Vec<u8> {
    let entry = match &b.entry {
        Entry::Indicator(i) => pb::envelope_body::Entry::Indicator(indicator_to_wire(i)),
        Entry::KeyEvent(k) => pb::envelope_body::Entry::KeyEvent(key_event_to_wire(k)),
        Entry::Feedback(f) => pb::envelope_body::Entry::Feedback(feedback_to_wire(f)),
    };
    pb::EnvelopeBody {
        origin: b.origin.clone(),
        origin_seq: b.origin_seq,
        prev_hash: b.prev_hash.to_vec(),
        created_at_ms: b.created_at_ms,
        entry: Some(entry),
    }
    .encode_to_vec()
}

/// Decodes and validates a body.
///
/// # Errors
///
/// [`WireError`] naming the first bad field.
pub fn decode_body(bytes: &[u8]) -> Result<EnvelopeBody, WireError> {
    let b = pb::EnvelopeBody::decode(bytes).map_err(|e| WireError::Decode(e.to_string()))?;
    validate_node_id(&b.origin).map_err(|r| WireError::invalid("origin", r))?;
    if b.origin_seq == 0 {
        return Err(WireError::Missing("origin_seq"));
    }
    let prev_hash: BodyHash =
        b.prev_hash.as_slice().try_into().map_err(|_| WireError::invalid("prev_hash", "must be 32 bytes"))?;
    if b.created_at_ms <= 0 {
        return Err(WireError::Missing("created_at_ms"));
    }
    let entry = match b.entry.ok_or(WireError::Missing("entry"))? {
        pb::envelope_body::Entry::Indicator(i) => Entry::Indicator(indicator_from_wire(i)?),
        pb::envelope_body::Entry::KeyEvent(k) => Entry::KeyEvent(key_event_from_wire(k)?),
        pb::envelope_body::Entry::Feedback(f) => Entry::Feedback(Box::new(feedback_from_wire(f)?)),
    };
    Ok(EnvelopeBody { origin: b.origin, origin_seq: b.origin_seq, prev_hash, created_at_ms: b.created_at_ms, entry })
}

/// Checks a node id: 1-32 characters of ASCII letters, digits, `-` and `_`.
///
/// # Errors
///
/// The reason, for the caller to wrap.
pub fn validate_node_id(id: &str) -> Result<(), String> {
    if id.is_empty() || id.len() > 32 {
        return Err("node id must be 1-32 characters".into());
    }
    if !id.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_') {
        return Err(format!("node id {id:?} may hold only ASCII letters, digits, '-' and '_'"));
    }
    Ok(())
}

fn indicator_to_wire(i: &Indicator) -> pb::Indicator {
    let (value, keyed_hash) = match &i.value {
        Value::Plain(v) => (v.clone(), None),
        Value::Keyed { epoch, digest } => {
            (digest.clone(), Some(pb::KeyedHash { scheme: pii::SCHEME.into(), epoch: *epoch }))
        }
    };
    pb::Indicator {
        id: i.id.clone(),
        kind: i.kind.into(),
        value,
        keyed_hash,
        categories: categories_to_wire(&i.categories),
        confidence: i.confidence.into(),
        tlp: i.tlp.into(),
        distribution: i.distribution.into(),
        first_seen_ms: i.first_seen_ms,
        last_seen_ms: i.last_seen_ms,
        valid_until_ms: i.valid_until_ms.unwrap_or(0),
        action: i.action.into(),
        version: i.version,
        description: i.description.clone().unwrap_or_default(),
        source_refs: i.source_refs.clone(),
    }
}

fn indicator_from_wire(i: pb::Indicator) -> Result<Indicator, WireError> {
    if i.id.is_empty() || i.id.len() > 64 {
        return Err(WireError::invalid("id", "must be 1-64 bytes"));
    }
    let kind = Kind::require_wire(i.kind)?;
    if i.value.is_empty() || i.value.len() > 2048 || i.value.contains('\0') {
        return Err(WireError::invalid("value", "must be 1-2048 bytes without NUL"));
    }
    let value = match i.keyed_hash {
        None => Value::Plain(i.value),
        Some(k) => {
            if k.scheme != pii::SCHEME {
                return Err(WireError::invalid("keyed_hash.scheme", format!("unknown scheme {:?}", k.scheme)));
            }
            if i.value.len() != 64 || !i.value.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')) {
                return Err(WireError::invalid("value", "keyed hash must be 64 lowercase hex characters"));
            }
            Value::Keyed { epoch: k.epoch, digest: i.value }
        }
    };
    let categories = categories_from_wire(&i.categories)?;
    if categories.is_empty() {
        return Err(WireError::Missing("categories"));
    }
    let confidence = Confidence::try_from(i.confidence).map_err(|e| WireError::invalid("confidence", e.to_string()))?;
    let version = if i.version == 0 { return Err(WireError::Missing("version")) } else { i.version };
    let description = (!i.description.is_empty()).then_some(i.description);
    if description.as_ref().is_some_and(|d| d.len() > MAX_DESCRIPTION) {
        return Err(WireError::invalid("description", format!("longer than {MAX_DESCRIPTION} bytes")));
    }
    if i.source_refs.len() > MAX_SOURCE_REFS || i.source_refs.iter().any(|s| s.len() > MAX_SOURCE_REF) {
        return Err(WireError::invalid("source_refs", format!("at most {MAX_SOURCE_REFS} of {MAX_SOURCE_REF} bytes")));
    }
    Ok(Indicator {
        id: i.id,
        kind,
        value,
        categories,
        confidence,
        tlp: Tlp::require_wire(i.tlp)?,
        distribution: Distribution::require_wire(i.distribution)?,
        first_seen_ms: i.first_seen_ms,
        last_seen_ms: i.last_seen_ms,
        valid_until_ms: (i.valid_until_ms != 0).then_some(i.valid_until_ms),
        action: Action::require_wire(i.action)?,
        version,
        description,
        source_refs: i.source_refs,
    })
}

fn key_event_to_wire(k: &KeyEvent) -> pb::KeyEvent {
    let event = match k {
        KeyEvent::Rotation { new_key_id, new_public_key, valid_from_ms } => {
            pb::key_event::Event::Rotation(pb::KeyRotation {
                new_key_id: new_key_id.clone(),
                new_public_key: new_public_key.to_vec(),
                valid_from_ms: *valid_from_ms,
            })
        }
        KeyEvent::Revocation { key_id, revoked_at_ms, reason } => pb::key_event::Event::Revocation(pb::KeyRevocation {
            key_id: key_id.clone(),
            revoked_at_ms: *revoked_at_ms,
            reason: reason.clone(),
        }),
    };
    pb::KeyEvent { event: Some(event) }
}

fn key_event_from_wire(k: pb::KeyEvent) -> Result<KeyEvent, WireError> {
    match k.event.ok_or(WireError::Missing("key_event.event"))? {
        pb::key_event::Event::Rotation(r) => {
            let new_public_key: [u8; 32] = r
                .new_public_key
                .as_slice()
                .try_into()
                .map_err(|_| WireError::invalid("new_public_key", "must be 32 bytes"))?;
            if crate::envelope::key_id_of(&new_public_key).0 != r.new_key_id {
                return Err(WireError::invalid("new_key_id", "does not match new_public_key"));
            }
            Ok(KeyEvent::Rotation { new_key_id: r.new_key_id, new_public_key, valid_from_ms: r.valid_from_ms })
        }
        pb::key_event::Event::Revocation(r) => {
            if r.key_id.is_empty() {
                return Err(WireError::Missing("key_id"));
            }
            Ok(KeyEvent::Revocation { key_id: r.key_id, revoked_at_ms: r.revoked_at_ms, reason: r.reason })
        }
    }
}

fn value_to_wire(v: &Value) -> (String, Option<pb::KeyedHash>) {
    match v {
        Value::Plain(v) => (v.clone(), None),
        Value::Keyed { epoch, digest } => {
            (digest.clone(), Some(pb::KeyedHash { scheme: pii::SCHEME.into(), epoch: *epoch }))
        }
    }
}

fn value_from_wire(value: String, keyed_hash: Option<pb::KeyedHash>) -> Result<Value, WireError> {
    if value.is_empty() || value.len() > 2048 || value.contains('\0') {
        return Err(WireError::invalid("value", "must be 1-2048 bytes without NUL"));
    }
    match keyed_hash {
        None => Ok(Value::Plain(value)),
        Some(k) => {
            if k.scheme != pii::SCHEME {
                return Err(WireError::invalid("keyed_hash.scheme", format!("unknown scheme {:?}", k.scheme)));
            }
            if value.len() != 64 || !value.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')) {
                return Err(WireError::invalid("value", "keyed hash must be 64 lowercase hex characters"));
            }
            Ok(Value::Keyed { epoch: k.epoch, digest: value })
        }
    }
}

fn opt_text(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

fn feedback_to_wire(f: &Feedback) -> pb::Feedback {
    let (value, keyed_hash) = value_to_wire(&f.value);
    pb::Feedback {
        kind: f.kind.into(),
        value,
        keyed_hash,
        r#type: f.feedback_type.into(),
        indicator_id: f.indicator_id.clone().unwrap_or_default(),
        indicator_origin: f.indicator_origin.clone().unwrap_or_default(),
        categories: categories_to_wire(&f.categories),
        tlp: f.tlp.into(),
        distribution: f.distribution.into(),
        platform: f.platform.clone().unwrap_or_default(),
        action_taken: f.action_taken.clone().unwrap_or_default(),
        observed_at_ms: f.observed_at_ms,
        reason: f.reason.clone().unwrap_or_default(),
        note: f.note.clone().unwrap_or_default(),
        referred_to: f.referred_to.clone().unwrap_or_default(),
    }
}

fn feedback_from_wire(f: pb::Feedback) -> Result<Feedback, WireError> {
    let kind = Kind::require_wire(f.kind)?;
    let value = value_from_wire(f.value, f.keyed_hash)?;
    if let Some(origin) = opt_text(f.indicator_origin.clone()) {
        validate_node_id(&origin).map_err(|r| WireError::invalid("feedback.indicator_origin", r))?;
    }
    let fb = Feedback {
        kind,
        value,
        feedback_type: FeedbackType::require_wire(f.r#type)?,
        indicator_id: opt_text(f.indicator_id),
        indicator_origin: opt_text(f.indicator_origin),
        categories: categories_from_wire(&f.categories)?,
        tlp: Tlp::require_wire(f.tlp)?,
        distribution: Distribution::require_wire(f.distribution)?,
        platform: opt_text(f.platform),
        action_taken: opt_text(f.action_taken),
        observed_at_ms: f.observed_at_ms,
        reason: opt_text(f.reason),
        note: opt_text(f.note),
        referred_to: opt_text(f.referred_to),
    };
    fb.validate().map_err(|e| WireError::Invalid { field: e.field, reason: e.reason })?;
    Ok(fb)
}

pub mod admin;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn signed(body: Vec<u8>) -> Vec<u8> {
        pb::SignedIndicator { body, signature: vec![7; 64], key_id: "ed25519:0011223344556677".into() }.encode_to_vec()
    }

    #[test]
    fn peek_origin_reads_what_a_decoder_reads() {
        let body = pb::EnvelopeBody { origin: "ID".into(), origin_seq: 9, created_at_ms: 5, ..Default::default() };
        assert_eq!(peek_origin(&signed(body.encode_to_vec())), Some("ID"));

        // A repeated field: decoders keep the last one, and so does the peek.
        let mut twice = body.encode_to_vec();
        twice.extend(pb::EnvelopeBody { origin: "VN".into(), ..Default::default() }.encode_to_vec());
        assert_eq!(pb::EnvelopeBody::decode(twice.as_slice()).unwrap().origin, "VN");
        assert_eq!(peek_origin(&signed(twice)), Some("VN"));
    }

    #[test]
    fn peek_origin_is_none_on_bytes_without_one() {
        assert_eq!(peek_origin(&[]), None);
        assert_eq!(peek_origin(&signed(Vec::new())), None);
        assert_eq!(peek_origin(&[0x0a, 0x05, 0x0a]), None, "a length past the end");
        assert_eq!(peek_origin(&[0x0f]), None, "wire type 7 does not exist");
        assert_eq!(peek_origin(&[0x0a, 0x00]), None, "an empty body");
        assert_eq!(peek_origin(&signed(vec![0x0a, 0x02, 0xff, 0xfe])), None, "origin is not UTF-8");
    }
}
