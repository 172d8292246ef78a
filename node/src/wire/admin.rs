//! Admin API messages to and from domain types.

use jaring_proto::pb;

use super::{WireError, categories_from_wire, categories_to_wire};
use crate::allowlist::AllowEntry;
use crate::feedback::{FeedbackEvent, FeedbackSummary, FeedbackType, NewFeedback};
use crate::model::{Action, Distribution, Kind, Tlp, Trust};
use crate::node::NewIndicator;
use crate::peers::{InboundAgreement, OutboundAgreement, Peer};
use crate::view::{Assertion, IndicatorRecord, LookupResult, MergedView, ValueStatus};

fn opt_ms(v: i64) -> Option<i64> {
    (v != 0).then_some(v)
}

impl TryFrom<pb::IndicatorInput> for NewIndicator {
    type Error = WireError;
    fn try_from(i: pb::IndicatorInput) -> Result<Self, WireError> {
        Ok(NewIndicator {
            kind: Kind::from_wire(i.kind)?,
            value: i.value,
            categories: categories_from_wire(&i.categories)?,
            confidence: i.confidence,
            tlp: Tlp::from_wire(i.tlp)?,
            distribution: Distribution::from_wire(i.distribution)?,
            first_seen_ms: opt_ms(i.first_seen_ms),
            last_seen_ms: opt_ms(i.last_seen_ms),
            valid_until_ms: opt_ms(i.valid_until_ms),
            description: (!i.description.is_empty()).then_some(i.description),
            source_refs: i.source_refs,
        })
    }
}

impl From<&NewIndicator> for pb::IndicatorInput {
    fn from(i: &NewIndicator) -> Self {
        pb::IndicatorInput {
            kind: i.kind.map_or(0, i32::from),
            value: i.value.clone(),
            categories: categories_to_wire(&i.categories),
            confidence: i.confidence,
            tlp: i.tlp.map_or(0, i32::from),
            distribution: i.distribution.map_or(0, i32::from),
            first_seen_ms: i.first_seen_ms.unwrap_or(0),
            last_seen_ms: i.last_seen_ms.unwrap_or(0),
            valid_until_ms: i.valid_until_ms.unwrap_or(0),
            description: i.description.clone().unwrap_or_default(),
            source_refs: i.source_refs.clone(),
        }
    }
}

impl From<&IndicatorRecord> for pb::IndicatorRecord {
    fn from(r: &IndicatorRecord) -> Self {
        pb::IndicatorRecord {
            id: r.id.clone(),
            origin: r.origin.clone(),
            origin_seq: r.origin_seq,
            local_seq: r.local_seq,
            kind: r.kind.into(),
            value: r.value.clone(),
            keyed_hash: r.keyed_hash.clone().unwrap_or_default(),
            hash_epoch: r.hash_epoch.unwrap_or(0),
            categories: categories_to_wire(&r.categories),
            confidence: u32::from(r.confidence),
            tlp: r.tlp.into(),
            distribution: r.distribution.into(),
            first_seen_ms: r.first_seen_ms,
            last_seen_ms: r.last_seen_ms,
            valid_until_ms: r.valid_until_ms.unwrap_or(0),
            action: r.action.into(),
            version: r.version,
            created_at_ms: r.created_at_ms,
            description: r.description.clone().unwrap_or_default(),
            source_refs: r.source_refs.clone(),
            key_id: r.key_id.clone(),
        }
    }
}

impl TryFrom<pb::IndicatorRecord> for IndicatorRecord {
    type Error = WireError;
    fn try_from(r: pb::IndicatorRecord) -> Result<Self, WireError> {
        Ok(IndicatorRecord {
            id: r.id,
            origin: r.origin,
            origin_seq: r.origin_seq,
            local_seq: r.local_seq,
            kind: Kind::require_wire(r.kind)?,
            value: r.value,
            keyed_hash: (!r.keyed_hash.is_empty()).then_some(r.keyed_hash),
            hash_epoch: (r.hash_epoch != 0).then_some(r.hash_epoch),
            categories: categories_from_wire(&r.categories)?,
            confidence: u8::try_from(r.confidence).unwrap_or(u8::MAX),
            tlp: Tlp::require_wire(r.tlp)?,
            distribution: Distribution::require_wire(r.distribution)?,
            first_seen_ms: r.first_seen_ms,
            last_seen_ms: r.last_seen_ms,
            valid_until_ms: opt_ms(r.valid_until_ms),
            action: Action::require_wire(r.action)?,
            version: r.version,
            created_at_ms: r.created_at_ms,
            description: (!r.description.is_empty()).then_some(r.description),
            source_refs: r.source_refs,
            key_id: r.key_id,
        })
    }
}

fn status_to_wire(s: ValueStatus) -> i32 {
    (match s {
        ValueStatus::Active => pb::ValueStatus::Active,
        ValueStatus::Expired => pb::ValueStatus::Expired,
        ValueStatus::Revoked => pb::ValueStatus::Revoked,
    }) as i32
}

fn status_from_wire(v: i32) -> Result<ValueStatus, WireError> {
    match pb::ValueStatus::try_from(v) {
        Ok(pb::ValueStatus::Active) => Ok(ValueStatus::Active),
        Ok(pb::ValueStatus::Expired) => Ok(ValueStatus::Expired),
        Ok(pb::ValueStatus::Revoked) => Ok(ValueStatus::Revoked),
        Ok(pb::ValueStatus::Unspecified) => Err(WireError::Missing("status")),
        Err(_) => Err(WireError::UnknownEnum { field: "status", value: v }),
    }
}

impl From<&MergedView> for pb::MergedView {
    fn from(v: &MergedView) -> Self {
        pb::MergedView {
            kind: v.kind.into(),
            value: v.value.clone(),
            keyed_hash: v.keyed_hash.clone().unwrap_or_default(),
            status: status_to_wire(v.status),
            max_confidence: u32::from(v.max_confidence),
            categories: categories_to_wire(&v.categories),
            assertions: v
                .assertions
                .iter()
                .map(|a| pb::Assertion {
                    origin: a.origin.clone(),
                    indicator_id: a.indicator_id.clone(),
                    version: a.version,
                    categories: categories_to_wire(&a.categories),
                    confidence: u32::from(a.confidence),
                    tlp: a.tlp.into(),
                    first_seen_ms: a.first_seen_ms,
                    last_seen_ms: a.last_seen_ms,
                    valid_until_ms: a.valid_until_ms.unwrap_or(0),
                    status: status_to_wire(a.status),
                    description: a.description.clone().unwrap_or_default(),
                    score: u32::from(a.score),
                })
                .collect(),
            feedback: v.feedback.iter().map(Into::into).collect(),
            score: u32::from(v.score),
        }
    }
}

impl TryFrom<pb::MergedView> for MergedView {
    type Error = WireError;
    fn try_from(v: pb::MergedView) -> Result<Self, WireError> {
        let mut assertions = Vec::with_capacity(v.assertions.len());
        for a in v.assertions {
            assertions.push(Assertion {
                origin: a.origin,
                indicator_id: a.indicator_id,
                version: a.version,
                categories: categories_from_wire(&a.categories)?,
                confidence: u8::try_from(a.confidence).unwrap_or(u8::MAX),
                tlp: Tlp::require_wire(a.tlp)?,
                first_seen_ms: a.first_seen_ms,
                last_seen_ms: a.last_seen_ms,
                valid_until_ms: opt_ms(a.valid_until_ms),
                status: status_from_wire(a.status)?,
                description: (!a.description.is_empty()).then_some(a.description),
                score: u8::try_from(a.score).unwrap_or(u8::MAX),
            });
        }
        let feedback: Vec<FeedbackEvent> = v.feedback.into_iter().map(TryInto::try_into).collect::<Result<_, _>>()?;
        let view = MergedView {
            kind: Kind::require_wire(v.kind)?,
            value: v.value,
            keyed_hash: (!v.keyed_hash.is_empty()).then_some(v.keyed_hash),
            status: status_from_wire(v.status)?,
            max_confidence: u8::try_from(v.max_confidence).unwrap_or(u8::MAX),
            categories: categories_from_wire(&v.categories)?,
            assertions,
            score: u8::try_from(v.score).unwrap_or(u8::MAX),
            feedback: Vec::new(),
            summary: FeedbackSummary::default(),
        };
        Ok(view.with_feedback(feedback))
    }
}

fn text(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

impl From<&FeedbackEvent> for pb::FeedbackEvent {
    fn from(e: &FeedbackEvent) -> Self {
        pb::FeedbackEvent {
            reporter: e.reporter.clone(),
            origin_seq: e.origin_seq,
            local_seq: e.local_seq,
            r#type: e.feedback_type.into(),
            kind: e.kind.into(),
            value: e.value.clone(),
            indicator_id: e.indicator_id.clone().unwrap_or_default(),
            indicator_origin: e.indicator_origin.clone().unwrap_or_default(),
            platform: e.platform.clone().unwrap_or_default(),
            action_taken: e.action_taken.clone().unwrap_or_default(),
            reason: e.reason.clone().unwrap_or_default(),
            note: e.note.clone().unwrap_or_default(),
            referred_to: e.referred_to.clone().unwrap_or_default(),
            observed_at_ms: e.observed_at_ms,
            created_at_ms: e.created_at_ms,
            tlp: e.tlp.into(),
            distribution: e.distribution.into(),
        }
    }
}

impl TryFrom<pb::FeedbackEvent> for FeedbackEvent {
    type Error = WireError;
    fn try_from(e: pb::FeedbackEvent) -> Result<Self, WireError> {
        Ok(FeedbackEvent {
            reporter: e.reporter,
            origin_seq: e.origin_seq,
            local_seq: e.local_seq,
            feedback_type: FeedbackType::require_wire(e.r#type)?,
            kind: Kind::require_wire(e.kind)?,
            value: e.value,
            indicator_id: text(e.indicator_id),
            indicator_origin: text(e.indicator_origin),
            platform: text(e.platform),
            action_taken: text(e.action_taken),
            reason: text(e.reason),
            note: text(e.note),
            referred_to: text(e.referred_to),
            observed_at_ms: e.observed_at_ms,
            created_at_ms: e.created_at_ms,
            tlp: Tlp::require_wire(e.tlp)?,
            distribution: Distribution::require_wire(e.distribution)?,
        })
    }
}

impl TryFrom<pb::AddFeedbackRequest> for NewFeedback {
    type Error = WireError;
    fn try_from(r: pb::AddFeedbackRequest) -> Result<Self, WireError> {
        Ok(NewFeedback {
            value: r.value,
            kind: Kind::from_wire(r.kind)?,
            feedback_type: FeedbackType::require_wire(r.r#type)?,
            platform: text(r.platform),
            action_taken: text(r.action_taken),
            reason: text(r.reason),
            note: text(r.note),
            referred_to: text(r.referred_to),
            observed_at_ms: opt_ms(r.observed_at_ms),
            tlp: Tlp::from_wire(r.tlp)?,
        })
    }
}

impl From<&AllowEntry> for pb::AllowlistEntry {
    fn from(e: &AllowEntry) -> Self {
        pb::AllowlistEntry {
            list: e.list.clone(),
            value: e.value.clone(),
            kind: e.kind.map_or(0, i32::from),
            action: e.action.as_str().into(),
            builtin: e.builtin,
            note: e.note.clone(),
        }
    }
}

impl TryFrom<pb::AllowlistEntry> for AllowEntry {
    type Error = WireError;
    fn try_from(e: pb::AllowlistEntry) -> Result<Self, WireError> {
        Ok(AllowEntry {
            list: e.list,
            kind: Kind::from_wire(e.kind)?,
            value: e.value,
            action: e.action.parse().map_err(|reason| WireError::Invalid { field: "action", reason })?,
            builtin: e.builtin,
            note: e.note,
        })
    }
}

impl From<&LookupResult> for pb::LookupResult {
    fn from(r: &LookupResult) -> Self {
        pb::LookupResult {
            query: r.query.clone(),
            views: r.views.iter().map(Into::into).collect(),
            error: r.error.as_ref().map(|e| pb::FieldError { field: "value".into(), reason: e.clone() }),
        }
    }
}

impl TryFrom<pb::LookupResult> for LookupResult {
    type Error = WireError;
    fn try_from(r: pb::LookupResult) -> Result<Self, WireError> {
        let views: Vec<MergedView> = r.views.into_iter().map(TryInto::try_into).collect::<Result<_, _>>()?;
        Ok(LookupResult { query: r.query, found: !views.is_empty(), views, error: r.error.map(|e| e.reason) })
    }
}

fn trust_to_wire(t: Trust) -> i32 {
    (match t {
        Trust::Trusted => pb::Trust::Trusted,
        Trust::Review => pb::Trust::Review,
        Trust::Blocked => pb::Trust::Blocked,
    }) as i32
}

/// Decodes a trust level; unspecified is `None`.
///
/// # Errors
///
/// Unknown numbers.
pub fn trust_from_wire(v: i32) -> Result<Option<Trust>, WireError> {
    match pb::Trust::try_from(v) {
        Ok(pb::Trust::Trusted) => Ok(Some(Trust::Trusted)),
        Ok(pb::Trust::Review) => Ok(Some(Trust::Review)),
        Ok(pb::Trust::Blocked) => Ok(Some(Trust::Blocked)),
        Ok(pb::Trust::Unspecified) => Ok(None),
        Err(_) => Err(WireError::UnknownEnum { field: "trust", value: v }),
    }
}

/// Encodes a trust level.
pub fn trust_wire(t: Trust) -> i32 {
    trust_to_wire(t)
}

impl From<&OutboundAgreement> for pb::OutboundAgreement {
    fn from(a: &OutboundAgreement) -> Self {
        pb::OutboundAgreement {
            kinds: a.kinds.iter().map(|&k| i32::from(k)).collect(),
            max_tlp: a.max_tlp.into(),
            categories: categories_to_wire(&a.categories),
            relay: a.relay,
        }
    }
}

impl TryFrom<pb::OutboundAgreement> for OutboundAgreement {
    type Error = WireError;
    fn try_from(a: pb::OutboundAgreement) -> Result<Self, WireError> {
        let max_tlp = Tlp::from_wire(a.max_tlp)?.unwrap_or(Tlp::Green);
        if max_tlp == Tlp::Red {
            return Err(WireError::Invalid { field: "share_max_tlp", reason: "RED is never shared".into() });
        }
        Ok(OutboundAgreement {
            kinds: a.kinds.iter().map(|&k| Kind::require_wire(k)).collect::<Result<_, _>>()?,
            max_tlp,
            categories: categories_from_wire(&a.categories)?,
            relay: a.relay,
        })
    }
}

impl From<&InboundAgreement> for pb::InboundAgreement {
    fn from(a: &InboundAgreement) -> Self {
        pb::InboundAgreement {
            kinds: a.kinds.iter().map(|&k| i32::from(k)).collect(),
            min_confidence: u32::from(a.min_confidence),
        }
    }
}

impl TryFrom<pb::InboundAgreement> for InboundAgreement {
    type Error = WireError;
    fn try_from(a: pb::InboundAgreement) -> Result<Self, WireError> {
        let min_confidence = u8::try_from(a.min_confidence)
            .ok()
            .filter(|c| *c <= 100)
            .ok_or(WireError::Invalid { field: "accept_min_confidence", reason: "must be 0-100".into() })?;
        Ok(InboundAgreement {
            kinds: a.kinds.iter().map(|&k| Kind::require_wire(k)).collect::<Result<_, _>>()?,
            min_confidence,
        })
    }
}

impl From<&Peer> for pb::PeerRecord {
    fn from(p: &Peer) -> Self {
        pb::PeerRecord {
            node_id: p.node_id().to_string(),
            trust: trust_to_wire(p.trust),
            member_only: p.member_only,
            endpoint: p.endpoint().to_string(),
            tls_name: p.card.tls_name.clone(),
            outbound: Some((&p.outbound).into()),
            inbound: Some((&p.inbound).into()),
            key_ids: p.card.signing_keys.iter().map(|k| k.key_id.clone()).collect(),
            added_at_ms: p.added_at_ms,
            identity_json: p.card_text.clone(),
        }
    }
}
