//! Signed envelopes: the unit of the log and of federation.
//!
//! An envelope is the exact bytes of an encoded [`EnvelopeBody`], an ed25519
//! signature and the id of the signing key. The signature covers the DSSE
//! pre-authentication encoding ([`pae`]) of [`PAYLOAD_TYPE`] and those bytes,
//! so a receiver verifies what it received, byte for byte, before decoding
//! anything. Bodies are never re-encoded to be verified. Signing and
//! verifying need the body's encoding, so they live at the edge of the
//! domain, beside the wire format (`jaring_node::signing`); this module holds
//! the types, the bytes that get signed and the rules a body must keep
//! ([`Indicator::validate`]).
//!
//! Each origin's bodies form a hash chain: `origin_seq` is dense from 1 and
//! `prev_hash` is [`body_hash`] of the origin's previous body, so a fork (two
//! bodies for one sequence number) or a rewritten history is provable.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::model::{Action, Category, Confidence, Distribution, InvalidField, Kind, Tlp, UnixMillis, UnknownName};

/// The DSSE payload type of every Jaring envelope.
pub const PAYLOAD_TYPE: &str = "application/vnd.jaring.envelope.v1+protobuf";

/// SHA-256 of a body's bytes: what `prev_hash` links to.
pub type BodyHash = [u8; 32];

/// `prev_hash` of an origin's first body.
pub const GENESIS_HASH: BodyHash = [0; 32];

/// DSSE pre-authentication encoding: the exact bytes that get signed.
///
/// `"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`, lengths in decimal.
pub fn pae(payload_type: &str, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + payload_type.len() + 32);
    out.extend_from_slice(b"DSSEv1 ");
    out.extend_from_slice(payload_type.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload_type.as_bytes());
    out.push(b' ');
    out.extend_from_slice(body.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(body);
    out
}

/// The hash a successor's `prev_hash` must carry.
pub fn body_hash(body: &[u8]) -> BodyHash {
    Sha256::digest(body).into()
}

/// An envelope as stored and sent: body bytes, signature, key id.
#[derive(Clone, PartialEq, Eq)]
pub struct SignedEnvelope {
    /// Encoded [`EnvelopeBody`].
    pub body: Vec<u8>,
    /// Signature over `pae(PAYLOAD_TYPE, body)`.
    pub signature: Vec<u8>,
    /// Which of the origin's keys signed.
    pub key_id: String,
}

impl std::fmt::Debug for SignedEnvelope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignedEnvelope")
            .field("body_len", &self.body.len())
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

/// Decoded body of an envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvelopeBody {
    /// node_id of the node that signed it.
    pub origin: String,
    /// Dense per-origin sequence number, from 1.
    pub origin_seq: u64,
    /// [`body_hash`] of the origin's previous body.
    pub prev_hash: BodyHash,
    /// When the origin signed it.
    pub created_at_ms: UnixMillis,
    /// What it says.
    pub entry: Entry,
}

/// What an envelope carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// A version of an indicator (or its tombstone).
    Indicator(Indicator),
    /// A change to the origin's signing keys.
    KeyEvent(KeyEvent),
    /// Feedback about an indicator value (sighting, takedown, ...). Boxed:
    /// it is the largest entry and rarer than indicators.
    Feedback(Box<Feedback>),
}

/// A change to an origin's signing keys, signed by a key already trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyEvent {
    /// A new key, endorsed by the signer.
    Rotation {
        /// Id of the new key.
        new_key_id: String,
        /// Its 32-byte ed25519 public key.
        new_public_key: [u8; 32],
        /// From when it signs.
        valid_from_ms: UnixMillis,
    },
    /// A key no longer to be trusted from a point in time.
    Revocation {
        /// The revoked key.
        key_id: String,
        /// Signatures made at or after this are refused.
        revoked_at_ms: UnixMillis,
        /// Why, for people.
        reason: String,
    },
}

/// How an indicator's value is carried.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Value {
    /// The normalized value itself.
    Plain(String),
    /// Personal data: lowercase hex HMAC-SHA256 under the federation key of
    /// `epoch` (see [`crate::pii`]).
    Keyed {
        /// Federation key epoch.
        epoch: u32,
        /// Hex digest.
        digest: String,
    },
}

impl Value {
    /// Checks the carried form: 1-[`MAX_VALUE`] bytes without NUL, and a
    /// keyed hash as 64 lowercase hex characters.
    ///
    /// # Errors
    ///
    /// [`InvalidField`] for `value`.
    pub fn validate(&self) -> Result<(), InvalidField> {
        let v = self.as_str();
        if v.is_empty() || v.len() > MAX_VALUE || v.contains('\0') {
            return Err(InvalidField::new("value", format!("must be 1-{MAX_VALUE} bytes without NUL")));
        }
        if let Value::Keyed { digest, .. } = self
            && (digest.len() != 64 || !digest.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')))
        {
            return Err(InvalidField::new("value", "keyed hash must be 64 lowercase hex characters"));
        }
        Ok(())
    }

    /// The string that is signed, indexed and looked up.
    pub fn as_str(&self) -> &str {
        match self {
            Value::Plain(v) => v,
            Value::Keyed { digest, .. } => digest,
        }
    }
}

/// One version of one origin's assertion about a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Indicator {
    /// Stable id of (origin, kind, value).
    pub id: String,
    /// What the value names.
    pub kind: Kind,
    /// The normalized value or its keyed hash.
    pub value: Value,
    /// Sorted, without duplicates, never empty.
    pub categories: Vec<Category>,
    /// 0-100.
    pub confidence: Confidence,
    /// Sharing restriction.
    pub tlp: Tlp,
    /// How far it may travel.
    pub distribution: Distribution,
    /// First time the origin saw it.
    pub first_seen_ms: UnixMillis,
    /// Last time the origin saw it.
    pub last_seen_ms: UnixMillis,
    /// Expiry; `None` for none.
    pub valid_until_ms: Option<UnixMillis>,
    /// Assert or withdraw.
    pub action: Action,
    /// From 1; higher supersedes.
    pub version: u64,
    /// Free text for analysts.
    pub description: Option<String>,
    /// Where the origin found it (URLs of posts, case numbers).
    pub source_refs: Vec<String>,
    /// On a revocation (a tombstone or a withdrawal notice): the markings of
    /// the earlier versions that could leave the origin, so the tombstone
    /// reaches every node that received one of them ([`crate::withdrawal`]).
    /// Empty on upserts, and on tombstones of origins that predate it (they
    /// travel by their own marking).
    pub reach: Vec<Marking>,
}

/// What routing looks at in one version: its TLP, distribution and
/// categories (sorted, without duplicates, never empty).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Marking {
    /// Sharing restriction.
    pub tlp: Tlp,
    /// How far it may travel.
    pub distribution: Distribution,
    /// Categories, sorted, unique, non-empty.
    pub categories: Vec<Category>,
}

/// Most markings a revocation carries in `reach`.
pub const MAX_REACH: usize = 16;

/// Longest value (canonical form or keyed hash), in bytes.
pub const MAX_VALUE: usize = 2048;
/// Longest indicator id, in bytes.
pub const MAX_ID: usize = 64;
/// Largest description accepted, in bytes.
pub const MAX_DESCRIPTION: usize = 4096;
/// Largest number of source references per indicator.
pub const MAX_SOURCE_REFS: usize = 32;
/// Largest source reference, in bytes.
pub const MAX_SOURCE_REF: usize = 2048;

impl Indicator {
    /// Whether the indicator is expired at `now`.
    pub fn is_expired(&self, now: UnixMillis) -> bool {
        self.valid_until_ms.is_some_and(|t| t <= now)
    }

    /// Checks the rules every version keeps, wherever it comes from (a
    /// submission or a peer): id and value sizes, at least one category,
    /// bounded description and source references, a version from 1.
    ///
    /// # Errors
    ///
    /// [`InvalidField`] naming the first field that breaks a rule.
    pub fn validate(&self) -> Result<(), InvalidField> {
        if self.id.is_empty() || self.id.len() > MAX_ID {
            return Err(InvalidField::new("id", format!("must be 1-{MAX_ID} bytes")));
        }
        self.value.validate()?;
        if self.categories.is_empty() {
            return Err(InvalidField::new("categories", "at least one category is required"));
        }
        if self.version == 0 {
            return Err(InvalidField::new("version", "is missing"));
        }
        if self.description.as_ref().is_some_and(|d| d.len() > MAX_DESCRIPTION) {
            return Err(InvalidField::new("description", format!("longer than {MAX_DESCRIPTION} bytes")));
        }
        if self.source_refs.len() > MAX_SOURCE_REFS || self.source_refs.iter().any(|s| s.len() > MAX_SOURCE_REF) {
            return Err(InvalidField::new(
                "source_refs",
                format!("at most {MAX_SOURCE_REFS} references of {MAX_SOURCE_REF} bytes"),
            ));
        }
        if !self.reach.is_empty() && self.action != Action::Revoke {
            return Err(InvalidField::new("reach", "only a revocation carries the markings it withdraws"));
        }
        if self.reach.len() > MAX_REACH {
            return Err(InvalidField::new("reach", format!("at most {MAX_REACH} markings")));
        }
        for m in &self.reach {
            if m.categories.is_empty() {
                return Err(InvalidField::new("reach", "a marking names at least one category"));
            }
            if m.tlp == Tlp::Red || m.distribution == Distribution::Local {
                return Err(InvalidField::new("reach", "a withdrawn marking is never RED or local: it never left"));
            }
        }
        Ok(())
    }
}

/// The stable indicator id of (origin, kind, value): a UUID (version 8,
/// RFC 9562) made of the first 16 bytes of
/// SHA-256(origin 0x00 kind 0x00 value).
pub fn indicator_id(origin: &str, kind: Kind, value: &str) -> String {
    let mut h = Sha256::new();
    h.update(origin.as_bytes());
    h.update([0]);
    h.update(kind.as_str().as_bytes());
    h.update([0]);
    h.update(value.as_bytes());
    let d = h.finalize();
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    b[6] = (b[6] & 0x0f) | 0x80;
    b[8] = (b[8] & 0x3f) | 0x80;
    let x = hex::encode(b);
    format!("{}-{}-{}-{}-{}", &x[0..8], &x[8..12], &x[12..16], &x[16..20], &x[20..32])
}

/// The UUIDv5 namespace of Jaring's STIX ids.
pub const STIX_NAMESPACE: uuid::Uuid = uuid::Uuid::from_u128(0x6a61_7269_6e67_5000_8000_0000_5354_4958);

/// The STIX id of an indicator: `indicator--` and a UUIDv5 of its Jaring id,
/// so every version of an indicator has the same STIX id.
pub fn stix_indicator_id(id: &str) -> String {
    format!("indicator--{}", uuid::Uuid::new_v5(&STIX_NAMESPACE, format!("jaring-indicator:{id}").as_bytes()))
}

/// Longest platform, action, reason or referral, in bytes.
pub const MAX_SHORT_FIELD: usize = 256;
/// Longest note, in bytes.
pub const MAX_NOTE: usize = 4096;

/// The longest time a takedown request may give a platform (a year past
/// its `observed_at_ms`): what a sender allows and a receiver checks.
pub const MAX_DUE_MS: i64 = 366 * 86_400_000;

/// What a feedback event reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum FeedbackType {
    /// The value was seen again.
    Sighting,
    /// The value is not a scam; a reason is required.
    FalsePositive,
    /// A takedown was asked of a platform or registrar.
    TakedownRequested,
    /// A platform acted (taken down, blocked, account frozen).
    Actioned,
    /// A platform declined to act; a reason is required. A takedown case's
    /// `refused` outcome is carried as this type (it parses from
    /// `refused` too), so nodes that predate cases read it.
    NoAction,
    /// Referred to law enforcement.
    Referred,
    /// A platform acknowledged a takedown case (it has seen the request).
    Acknowledged,
    /// A takedown case got no outcome by its due time.
    Expired,
    /// The requester withdrew a takedown case.
    Withdrawn,
}

impl FeedbackType {
    /// Every type, in declaration order.
    pub const ALL: &'static [FeedbackType] = &[
        FeedbackType::Sighting,
        FeedbackType::FalsePositive,
        FeedbackType::TakedownRequested,
        FeedbackType::Actioned,
        FeedbackType::NoAction,
        FeedbackType::Referred,
        FeedbackType::Acknowledged,
        FeedbackType::Expired,
        FeedbackType::Withdrawn,
    ];

    /// The canonical name.
    pub fn as_str(self) -> &'static str {
        match self {
            FeedbackType::Sighting => "sighting",
            FeedbackType::FalsePositive => "false_positive",
            FeedbackType::TakedownRequested => "takedown_requested",
            FeedbackType::Actioned => "actioned",
            FeedbackType::NoAction => "no_action",
            FeedbackType::Referred => "referred",
            FeedbackType::Acknowledged => "acknowledged",
            FeedbackType::Expired => "expired",
            FeedbackType::Withdrawn => "withdrawn",
        }
    }

    /// Whether the type is about a platform's handling (needs `platform`).
    pub fn is_takedown(self) -> bool {
        matches!(
            self,
            FeedbackType::TakedownRequested
                | FeedbackType::Actioned
                | FeedbackType::NoAction
                | FeedbackType::Acknowledged
                | FeedbackType::Expired
                | FeedbackType::Withdrawn
        )
    }

    /// Whether the type exists only inside a takedown case (it names the
    /// case it belongs to, `case_seq`).
    pub fn needs_case(self) -> bool {
        matches!(self, FeedbackType::Acknowledged | FeedbackType::Expired | FeedbackType::Withdrawn)
    }
}

impl fmt::Display for FeedbackType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for FeedbackType {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase().replace('-', "_");
        if lower == "refused" {
            return Ok(FeedbackType::NoAction);
        }
        FeedbackType::ALL.iter().copied().find(|t| t.as_str() == lower).ok_or_else(|| UnknownName {
            what: "feedback type",
            given: s.to_string(),
            expected: FeedbackType::ALL.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(", "),
        })
    }
}

impl From<FeedbackType> for String {
    fn from(v: FeedbackType) -> String {
        v.as_str().to_string()
    }
}

impl TryFrom<String> for FeedbackType {
    type Error = UnknownName;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

/// A feedback event as signed by the reporting node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feedback {
    /// Kind of the value.
    pub kind: Kind,
    /// The value as indicators carry it.
    pub value: Value,
    /// What is reported.
    pub feedback_type: FeedbackType,
    /// The indicator responded to, when known.
    pub indicator_id: Option<String>,
    /// Its origin, when known.
    pub indicator_origin: Option<String>,
    /// Inherited categories (routing); sorted, unique, non-empty.
    pub categories: Vec<Category>,
    /// Inherited or chosen marking.
    pub tlp: Tlp,
    /// Inherited reach.
    pub distribution: Distribution,
    /// Platform or registrar (required for takedown types).
    pub platform: Option<String>,
    /// What the platform did (`actioned`).
    pub action_taken: Option<String>,
    /// When it was seen or actioned.
    pub observed_at_ms: UnixMillis,
    /// Why (required for `false_positive` and `no_action`).
    pub reason: Option<String>,
    /// Free text.
    pub note: Option<String>,
    /// Which agency (`referred`).
    pub referred_to: Option<String>,
    /// The takedown case this event belongs to: the reporter's
    /// `origin_seq` of the `takedown_requested` event that opened it. None
    /// on that request itself (the case is named after it) and on feedback
    /// outside any case.
    pub case_seq: Option<u64>,
    /// When a takedown request is due (an outcome by then, or it expires);
    /// `takedown_requested` only.
    pub due_at_ms: Option<UnixMillis>,
    /// The receiving agency's own case reference (`referred` only).
    pub case_ref: Option<String>,
}

impl Feedback {
    /// Checks the per-type rules: a reason for `false_positive` and
    /// `no_action`, a platform for takedown types, bounded text fields.
    ///
    /// # Errors
    ///
    /// [`InvalidField`] naming the first bad field.
    pub fn validate(&self) -> Result<(), InvalidField> {
        let err = |field, reason: &str| Err(InvalidField::new(field, reason));
        if self.categories.is_empty() {
            return err("categories", "at least one category is required");
        }
        if matches!(self.feedback_type, FeedbackType::FalsePositive | FeedbackType::NoAction)
            && self.reason.as_deref().is_none_or(|r| r.trim().is_empty())
        {
            return err("reason", &format!("is required for {}", self.feedback_type));
        }
        if self.feedback_type.is_takedown() && self.platform.as_deref().is_none_or(|p| p.trim().is_empty()) {
            return err("platform", &format!("is required for {}", self.feedback_type));
        }
        if self.feedback_type.needs_case() && self.case_seq.is_none() {
            return err("case_seq", &format!("is required for {}", self.feedback_type));
        }
        if self.case_seq.is_some()
            && !matches!(
                self.feedback_type,
                FeedbackType::Acknowledged
                    | FeedbackType::Expired
                    | FeedbackType::Withdrawn
                    | FeedbackType::Actioned
                    | FeedbackType::NoAction
            )
        {
            return err("case_seq", &format!("is not allowed on {}", self.feedback_type));
        }
        if self.case_seq == Some(0) {
            return err("case_seq", "must be an origin_seq (from 1)");
        }
        if let Some(due) = self.due_at_ms
            && (self.feedback_type != FeedbackType::TakedownRequested || due <= 0)
        {
            return err("due_at_ms", "is a positive time, on takedown_requested only");
        }
        if let Some(due) = self.due_at_ms
            && due.saturating_sub(self.observed_at_ms) > MAX_DUE_MS
        {
            return err("due_at_ms", "is more than a year after the request");
        }
        if self.case_ref.is_some() && self.feedback_type != FeedbackType::Referred {
            return err("case_ref", "is allowed on referred only");
        }
        for (field, v) in [
            ("platform", &self.platform),
            ("action_taken", &self.action_taken),
            ("reason", &self.reason),
            ("referred_to", &self.referred_to),
            ("indicator_id", &self.indicator_id),
            ("indicator_origin", &self.indicator_origin),
            ("case_ref", &self.case_ref),
        ] {
            if v.as_ref().is_some_and(|s| s.len() > MAX_SHORT_FIELD || s.contains('\0')) {
                return err(field, &format!("at most {MAX_SHORT_FIELD} bytes without NUL"));
            }
        }
        if self.note.as_ref().is_some_and(|n| n.len() > MAX_NOTE) {
            return err("note", &format!("longer than {MAX_NOTE} bytes"));
        }
        if self.observed_at_ms <= 0 {
            return err("observed_at_ms", "is missing");
        }
        Ok(())
    }
}

/// An envelope whose signature, origin and key validity have been checked.
#[derive(Debug, Clone)]
pub struct VerifiedEnvelope {
    /// The envelope exactly as received.
    pub raw: SignedEnvelope,
    /// Its decoded body.
    pub body: EnvelopeBody,
    /// [`body_hash`] of `raw.body`.
    pub hash: BodyHash,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn indicator() -> Indicator {
        Indicator {
            id: indicator_id("ID", Kind::Domain, "loker-kerja.co.id"),
            kind: Kind::Domain,
            value: Value::Plain("loker-kerja.co.id".into()),
            categories: vec![Category::JobScam],
            confidence: Confidence::try_from(80).unwrap(),
            tlp: Tlp::Green,
            distribution: Distribution::Federation,
            first_seen_ms: 1_700_000_000_000,
            last_seen_ms: 1_700_000_000_000,
            valid_until_ms: None,
            action: Action::Upsert,
            version: 1,
            description: None,
            source_refs: vec![],
            reach: vec![],
        }
    }

    #[test]
    fn pae_matches_dsse_spec_example() {
        // From the DSSE protocol document.
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec()
        );
    }

    #[test]
    fn ids_are_stable_uuids() {
        let a = indicator_id("ID", Kind::Domain, "x.co.id");
        assert_eq!(a, indicator_id("ID", Kind::Domain, "x.co.id"));
        assert_ne!(a, indicator_id("VN", Kind::Domain, "x.co.id"));
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "8");
    }

    #[test]
    fn validate_names_the_field_that_breaks_a_rule() {
        assert_eq!(indicator().validate(), Ok(()));
        let field = |f: fn(&mut Indicator)| {
            let mut i = indicator();
            f(&mut i);
            i.validate().unwrap_err().field
        };
        assert_eq!(field(|i| i.id = String::new()), "id");
        assert_eq!(field(|i| i.value = Value::Plain("a\0b".into())), "value");
        assert_eq!(field(|i| i.value = Value::Plain("x".repeat(MAX_VALUE + 1))), "value");
        assert_eq!(field(|i| i.value = Value::Keyed { epoch: 1, digest: "AB".repeat(32) }), "value");
        assert_eq!(field(|i| i.categories.clear()), "categories");
        assert_eq!(field(|i| i.version = 0), "version");
        assert_eq!(field(|i| i.description = Some("d".repeat(MAX_DESCRIPTION + 1))), "description");
        assert_eq!(field(|i| i.source_refs = vec!["s".into(); MAX_SOURCE_REFS + 1]), "source_refs");
        let green =
            Marking { tlp: Tlp::Green, distribution: Distribution::Federation, categories: vec![Category::JobScam] };
        let mut upsert = indicator();
        upsert.reach = vec![green.clone()];
        assert_eq!(upsert.validate().unwrap_err().field, "reach", "an upsert carries no reach");
        let revoke = |reach: Vec<Marking>| {
            let mut i = indicator();
            i.action = Action::Revoke;
            i.reach = reach;
            i.validate()
        };
        assert_eq!(revoke(vec![green.clone()]), Ok(()));
        assert_eq!(revoke(vec![green.clone(); MAX_REACH + 1]).unwrap_err().field, "reach");
        let red = Marking { tlp: Tlp::Red, ..green.clone() };
        assert_eq!(revoke(vec![red]).unwrap_err().field, "reach");
        let local = Marking { distribution: Distribution::Local, ..green.clone() };
        assert_eq!(revoke(vec![local]).unwrap_err().field, "reach");
        assert_eq!(revoke(vec![Marking { categories: vec![], ..green }]).unwrap_err().field, "reach");
    }
}
