//! The one place where protobuf meets the domain.
//!
//! Everything that crosses the wire is decoded here into plain domain types
//! with their invariants checked ([`FromPb`]), and encoded back
//! ([`ToPb`]). A value from a peer or a client that breaks an invariant is a
//! [`WireError`] naming the field. (The domain types and the generated
//! protobuf types live in crates of their own, so the orphan rule rules out
//! `From`/`TryFrom` between them; these two traits are the same thing with
//! local names.)

use jaring_proto::pb;
use prost::Message;

use crate::envelope::{BodyHash, Entry, EnvelopeBody, Indicator, KeyEvent, Marking, SignedEnvelope, Value};
use crate::feedback::{Feedback, FeedbackType};
use crate::model::{Action, Category, Confidence, Distribution, InvalidField, Kind, Tlp};
use crate::node_id::NodeId;
use crate::pii;
use crate::takedown::CaseState;

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

impl From<InvalidField> for WireError {
    fn from(e: InvalidField) -> WireError {
        WireError::Invalid { field: e.field, reason: e.reason }
    }
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

/// A domain value's protobuf form.
pub trait ToPb {
    /// The generated type.
    type Pb;
    /// Encodes.
    fn to_pb(&self) -> Self::Pb;
}

/// A domain value decoded from its protobuf form, its invariants checked.
pub trait FromPb<P>: Sized {
    /// Decodes.
    ///
    /// # Errors
    ///
    /// [`WireError`] naming the first bad field.
    fn from_pb(p: P) -> Result<Self, WireError>;
}

/// A domain enum carried as a protobuf enum number.
pub trait WireEnum: Sized {
    /// The protobuf enum number.
    fn to_wire(self) -> i32;

    /// Decodes the protobuf enum number; 0 (unspecified) is `None`.
    ///
    /// # Errors
    ///
    /// [`WireError::UnknownEnum`] for numbers this version does not know.
    fn from_wire(v: i32) -> Result<Option<Self>, WireError>;

    /// Like [`Self::from_wire`], with unspecified an error.
    ///
    /// # Errors
    ///
    /// [`WireError::Missing`] or [`WireError::UnknownEnum`].
    fn require_wire(v: i32) -> Result<Self, WireError>;
}

macro_rules! enum_map {
    ($domain:ident, $pb:ident, $field:literal, { $($d:ident <=> $p:ident),+ $(,)? }) => {
        impl WireEnum for $domain {
            fn to_wire(self) -> i32 {
                let v = match self { $( $domain::$d => pb::$pb::$p, )+ };
                v as i32
            }

            fn from_wire(v: i32) -> Result<Option<$domain>, WireError> {
                match pb::$pb::try_from(v) {
                    $( Ok(pb::$pb::$p) => Ok(Some($domain::$d)), )+
                    Ok(_) => Ok(None),
                    Err(_) => Err(WireError::UnknownEnum { field: $field, value: v }),
                }
            }

            fn require_wire(v: i32) -> Result<$domain, WireError> {
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
    Acknowledged <=> Acknowledged, Expired <=> Expired, Withdrawn <=> Withdrawn,
});
enum_map!(CaseState, TakedownState, "state", {
    Requested <=> Requested, Acknowledged <=> Acknowledged, Actioned <=> Actioned,
    Refused <=> Refused, Expired <=> Expired, Withdrawn <=> Withdrawn,
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
    v.iter().map(|&c| c.to_wire()).collect()
}

// --- envelopes -------------------------------------------------------------------

impl ToPb for SignedEnvelope {
    type Pb = pb::SignedIndicator;
    fn to_pb(&self) -> pb::SignedIndicator {
        pb::SignedIndicator { body: self.body.clone(), signature: self.signature.clone(), key_id: self.key_id.clone() }
    }
}

/// A received `SignedIndicator` as an envelope (nothing in it is checked
/// until it is verified).
pub fn envelope_from_pb(e: pb::SignedIndicator) -> SignedEnvelope {
    SignedEnvelope { body: e.body, signature: e.signature, key_id: e.key_id }
}

/// An envelope as a `SignedIndicator`, without copying its bytes.
pub fn envelope_into_pb(e: SignedEnvelope) -> pb::SignedIndicator {
    pb::SignedIndicator { body: e.body, signature: e.signature, key_id: e.key_id }
}

/// Encodes a signed envelope as stored in the log.
pub fn encode_envelope(e: &SignedEnvelope) -> Vec<u8> {
    e.to_pb().encode_to_vec()
}

/// Decodes a stored or received `SignedIndicator`.
///
/// # Errors
///
/// [`WireError::Decode`].
pub fn decode_envelope(bytes: &[u8]) -> Result<SignedEnvelope, WireError> {
    pb::SignedIndicator::decode(bytes).map(envelope_from_pb).map_err(|e| WireError::Decode(e.to_string()))
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
    NodeId::check(&b.origin).map_err(|r| WireError::invalid("origin", r.to_string()))?;
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

fn indicator_to_wire(i: &Indicator) -> pb::Indicator {
    let (value, keyed_hash) = match &i.value {
        Value::Plain(v) => (v.clone(), None),
        Value::Keyed { epoch, digest } => {
            (digest.clone(), Some(pb::KeyedHash { scheme: pii::SCHEME.into(), epoch: *epoch }))
        }
    };
    pb::Indicator {
        id: i.id.clone(),
        kind: i.kind.to_wire(),
        value,
        keyed_hash,
        categories: categories_to_wire(&i.categories),
        confidence: i.confidence.into(),
        tlp: i.tlp.to_wire(),
        distribution: i.distribution.to_wire(),
        first_seen_ms: i.first_seen_ms,
        last_seen_ms: i.last_seen_ms,
        valid_until_ms: i.valid_until_ms.unwrap_or(0),
        action: i.action.to_wire(),
        version: i.version,
        description: i.description.clone().unwrap_or_default(),
        source_refs: i.source_refs.clone(),
        reach: i
            .reach
            .iter()
            .map(|m| pb::Marking {
                tlp: m.tlp.to_wire(),
                distribution: m.distribution.to_wire(),
                categories: categories_to_wire(&m.categories),
            })
            .collect(),
    }
}

fn marking_from_wire(m: pb::Marking) -> Result<Marking, WireError> {
    Ok(Marking {
        tlp: Tlp::require_wire(m.tlp)?,
        distribution: Distribution::require_wire(m.distribution)?,
        categories: categories_from_wire(&m.categories)?,
    })
}

fn indicator_from_wire(i: pb::Indicator) -> Result<Indicator, WireError> {
    let ind = Indicator {
        id: i.id,
        kind: Kind::require_wire(i.kind)?,
        value: value_from_wire(i.value, i.keyed_hash)?,
        categories: categories_from_wire(&i.categories)?,
        confidence: Confidence::try_from(i.confidence).map_err(|e| WireError::invalid("confidence", e.to_string()))?,
        tlp: Tlp::require_wire(i.tlp)?,
        distribution: Distribution::require_wire(i.distribution)?,
        first_seen_ms: i.first_seen_ms,
        last_seen_ms: i.last_seen_ms,
        valid_until_ms: (i.valid_until_ms != 0).then_some(i.valid_until_ms),
        action: Action::require_wire(i.action)?,
        version: i.version,
        description: (!i.description.is_empty()).then_some(i.description),
        source_refs: i.source_refs,
        reach: i.reach.into_iter().map(marking_from_wire).collect::<Result<_, _>>()?,
    };
    ind.validate()?;
    Ok(ind)
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
            if crate::keys::key_id_of(&new_public_key).0 != r.new_key_id {
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
    let v = match keyed_hash {
        None => Value::Plain(value),
        Some(k) => {
            if k.scheme != pii::SCHEME {
                return Err(WireError::invalid("keyed_hash.scheme", format!("unknown scheme {:?}", k.scheme)));
            }
            Value::Keyed { epoch: k.epoch, digest: value }
        }
    };
    v.validate()?;
    Ok(v)
}

fn opt_text(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

fn feedback_to_wire(f: &Feedback) -> pb::Feedback {
    let (value, keyed_hash) = value_to_wire(&f.value);
    pb::Feedback {
        kind: f.kind.to_wire(),
        value,
        keyed_hash,
        r#type: f.feedback_type.to_wire(),
        indicator_id: f.indicator_id.clone().unwrap_or_default(),
        indicator_origin: f.indicator_origin.clone().unwrap_or_default(),
        categories: categories_to_wire(&f.categories),
        tlp: f.tlp.to_wire(),
        distribution: f.distribution.to_wire(),
        platform: f.platform.clone().unwrap_or_default(),
        action_taken: f.action_taken.clone().unwrap_or_default(),
        observed_at_ms: f.observed_at_ms,
        reason: f.reason.clone().unwrap_or_default(),
        note: f.note.clone().unwrap_or_default(),
        referred_to: f.referred_to.clone().unwrap_or_default(),
        case_seq: f.case_seq.unwrap_or(0),
        due_at_ms: f.due_at_ms.unwrap_or(0),
        case_ref: f.case_ref.clone().unwrap_or_default(),
    }
}

fn feedback_from_wire(f: pb::Feedback) -> Result<Feedback, WireError> {
    let kind = Kind::require_wire(f.kind)?;
    let value = value_from_wire(f.value, f.keyed_hash)?;
    if let Some(origin) = opt_text(f.indicator_origin.clone()) {
        NodeId::check(&origin).map_err(|r| WireError::invalid("feedback.indicator_origin", r.to_string()))?;
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
        case_seq: (f.case_seq != 0).then_some(f.case_seq),
        due_at_ms: (f.due_at_ms != 0).then_some(f.due_at_ms),
        case_ref: opt_text(f.case_ref),
    };
    fb.validate()?;
    Ok(fb)
}

pub mod admin;
pub mod allowlist;
pub mod status;
pub mod takedown;
pub mod tlog;
pub mod tokens;

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
