//! Admin API messages to and from domain types.

use jaring_proto::pb;

use super::{FromPb, ToPb, WireEnum, WireError, categories_from_wire, categories_to_wire};
use crate::allowlist::AllowEntry;
use crate::feedback::{FeedbackEvent, FeedbackSummary, FeedbackType, NewFeedback};
use crate::model::{Action, Distribution, Kind, Tlp, Trust};
use crate::peers::{InboundAgreement, OutboundAgreement, Peer};
use crate::submission::NewIndicator;
use crate::view::{Assertion, IndicatorRecord, LookupResult, MergedView, ValueStatus};

fn opt_ms(v: i64) -> Option<i64> {
    (v != 0).then_some(v)
}

impl FromPb<pb::IndicatorInput> for NewIndicator {
    fn from_pb(i: pb::IndicatorInput) -> Result<NewIndicator, WireError> {
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

impl ToPb for NewIndicator {
    type Pb = pb::IndicatorInput;
    fn to_pb(&self) -> pb::IndicatorInput {
        let i = self;
        pb::IndicatorInput {
            kind: i.kind.map_or(0, WireEnum::to_wire),
            value: i.value.clone(),
            categories: categories_to_wire(&i.categories),
            confidence: i.confidence,
            tlp: i.tlp.map_or(0, WireEnum::to_wire),
            distribution: i.distribution.map_or(0, WireEnum::to_wire),
            first_seen_ms: i.first_seen_ms.unwrap_or(0),
            last_seen_ms: i.last_seen_ms.unwrap_or(0),
            valid_until_ms: i.valid_until_ms.unwrap_or(0),
            description: i.description.clone().unwrap_or_default(),
            source_refs: i.source_refs.clone(),
        }
    }
}

impl ToPb for IndicatorRecord {
    type Pb = pb::IndicatorRecord;
    fn to_pb(&self) -> pb::IndicatorRecord {
        let r = self;
        pb::IndicatorRecord {
            id: r.id.clone(),
            origin: r.origin.clone(),
            origin_seq: r.origin_seq,
            local_seq: r.local_seq,
            kind: r.kind.to_wire(),
            value: r.value.clone(),
            keyed_hash: r.keyed_hash.clone().unwrap_or_default(),
            hash_epoch: r.hash_epoch.unwrap_or(0),
            categories: categories_to_wire(&r.categories),
            confidence: u32::from(r.confidence),
            tlp: r.tlp.to_wire(),
            distribution: r.distribution.to_wire(),
            first_seen_ms: r.first_seen_ms,
            last_seen_ms: r.last_seen_ms,
            valid_until_ms: r.valid_until_ms.unwrap_or(0),
            action: r.action.to_wire(),
            version: r.version,
            created_at_ms: r.created_at_ms,
            description: r.description.clone().unwrap_or_default(),
            source_refs: r.source_refs.clone(),
            key_id: r.key_id.clone(),
        }
    }
}

impl FromPb<pb::IndicatorRecord> for IndicatorRecord {
    fn from_pb(r: pb::IndicatorRecord) -> Result<IndicatorRecord, WireError> {
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

impl ToPb for MergedView {
    type Pb = pb::MergedView;
    fn to_pb(&self) -> pb::MergedView {
        let v = self;
        pb::MergedView {
            kind: v.kind.to_wire(),
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
                    tlp: a.tlp.to_wire(),
                    first_seen_ms: a.first_seen_ms,
                    last_seen_ms: a.last_seen_ms,
                    valid_until_ms: a.valid_until_ms.unwrap_or(0),
                    status: status_to_wire(a.status),
                    description: a.description.clone().unwrap_or_default(),
                    score: u32::from(a.score),
                })
                .collect(),
            feedback: v.feedback.iter().map(ToPb::to_pb).collect(),
            score: u32::from(v.score),
        }
    }
}

impl FromPb<pb::MergedView> for MergedView {
    fn from_pb(v: pb::MergedView) -> Result<MergedView, WireError> {
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
        let feedback: Vec<FeedbackEvent> =
            v.feedback.into_iter().map(FeedbackEvent::from_pb).collect::<Result<_, _>>()?;
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

impl ToPb for FeedbackEvent {
    type Pb = pb::FeedbackEvent;
    fn to_pb(&self) -> pb::FeedbackEvent {
        let e = self;
        pb::FeedbackEvent {
            reporter: e.reporter.clone(),
            origin_seq: e.origin_seq,
            local_seq: e.local_seq,
            r#type: e.feedback_type.to_wire(),
            kind: e.kind.to_wire(),
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
            tlp: e.tlp.to_wire(),
            distribution: e.distribution.to_wire(),
            case_id: e.case_id.clone().unwrap_or_default(),
            due_at_ms: e.due_at_ms.unwrap_or(0),
            case_ref: e.case_ref.clone().unwrap_or_default(),
        }
    }
}

impl FromPb<pb::FeedbackEvent> for FeedbackEvent {
    fn from_pb(e: pb::FeedbackEvent) -> Result<FeedbackEvent, WireError> {
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
            case_id: text(e.case_id),
            due_at_ms: opt_ms(e.due_at_ms),
            case_ref: text(e.case_ref),
        })
    }
}

impl FromPb<pb::AddFeedbackRequest> for NewFeedback {
    fn from_pb(r: pb::AddFeedbackRequest) -> Result<NewFeedback, WireError> {
        Ok(NewFeedback {
            value: r.value,
            kind: Kind::from_wire(r.kind)?,
            feedback_type: FeedbackType::require_wire(r.r#type)?,
            platform: text(r.platform),
            action_taken: text(r.action_taken),
            reason: text(r.reason),
            note: text(r.note),
            referred_to: text(r.referred_to),
            case_ref: text(r.case_ref),
            observed_at_ms: opt_ms(r.observed_at_ms),
            tlp: Tlp::from_wire(r.tlp)?,
            // The admin API's caller is the node's admin.
            ceiling: None,
        })
    }
}

impl ToPb for AllowEntry {
    type Pb = pb::AllowlistEntry;
    fn to_pb(&self) -> pb::AllowlistEntry {
        let e = self;
        pb::AllowlistEntry {
            list: e.list.clone(),
            value: e.value.clone(),
            kind: e.kind.map_or(0, WireEnum::to_wire),
            action: e.action.as_str().into(),
            builtin: e.builtin,
            note: e.note.clone(),
        }
    }
}

impl FromPb<pb::AllowlistEntry> for AllowEntry {
    fn from_pb(e: pb::AllowlistEntry) -> Result<AllowEntry, WireError> {
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

impl ToPb for LookupResult {
    type Pb = pb::LookupResult;
    fn to_pb(&self) -> pb::LookupResult {
        let r = self;
        pb::LookupResult {
            query: r.query.clone(),
            views: r.views.iter().map(ToPb::to_pb).collect(),
            error: r.error.as_ref().map(|e| pb::FieldError { field: "value".into(), reason: e.clone() }),
        }
    }
}

impl FromPb<pb::LookupResult> for LookupResult {
    fn from_pb(r: pb::LookupResult) -> Result<LookupResult, WireError> {
        let views: Vec<MergedView> = r.views.into_iter().map(MergedView::from_pb).collect::<Result<_, _>>()?;
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

impl ToPb for OutboundAgreement {
    type Pb = pb::OutboundAgreement;
    fn to_pb(&self) -> pb::OutboundAgreement {
        let a = self;
        pb::OutboundAgreement {
            kinds: a.kinds.iter().map(|&k| k.to_wire()).collect(),
            max_tlp: a.max_tlp.to_wire(),
            categories: categories_to_wire(&a.categories),
            relay: a.relay,
        }
    }
}

impl FromPb<pb::OutboundAgreement> for OutboundAgreement {
    fn from_pb(a: pb::OutboundAgreement) -> Result<OutboundAgreement, WireError> {
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

impl ToPb for InboundAgreement {
    type Pb = pb::InboundAgreement;
    fn to_pb(&self) -> pb::InboundAgreement {
        let a = self;
        pb::InboundAgreement {
            kinds: a.kinds.iter().map(|&k| k.to_wire()).collect(),
            min_confidence: u32::from(a.min_confidence),
        }
    }
}

impl FromPb<pb::InboundAgreement> for InboundAgreement {
    fn from_pb(a: pb::InboundAgreement) -> Result<InboundAgreement, WireError> {
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

impl ToPb for Peer {
    type Pb = pb::PeerRecord;
    fn to_pb(&self) -> pb::PeerRecord {
        let p = self;
        pb::PeerRecord {
            node_id: p.node_id().to_string(),
            trust: trust_to_wire(p.trust),
            member_only: p.member_only,
            endpoint: p.endpoint().to_string(),
            tls_name: p.card.tls_name.clone(),
            outbound: Some(p.outbound.to_pb()),
            inbound: Some(p.inbound.to_pb()),
            key_ids: p.card.signing_keys.iter().map(|k| k.key_id.clone()).collect(),
            added_at_ms: p.added_at_ms,
            identity_json: p.card_text.clone(),
        }
    }
}

impl ToPb for crate::node::StatusReport {
    type Pb = pb::StatusResponse;
    fn to_pb(&self) -> pb::StatusResponse {
        pb::StatusResponse {
            node_id: self.node_id.clone(),
            version: self.version.clone(),
            started_at_ms: self.started_at_ms,
            log_head: self.log_head,
            signing_key_ids: self.signing_key_ids.clone(),
            kinds: self.kinds.iter().map(|(k, count)| pb::KindCount { kind: k.to_wire(), count: *count }).collect(),
            origins: self
                .origins
                .iter()
                .map(|o| pb::OriginCount { origin: o.origin.clone(), count: o.count, head_seq: o.head_seq })
                .collect(),
            peers: self
                .peers
                .iter()
                .map(|p| pb::PeerStatus {
                    node_id: p.node_id.clone(),
                    trust: p.trust.to_string(),
                    inbound_state: p.inbound_state.clone(),
                    inbound_cursor: p.inbound_cursor,
                    inbound_head: p.inbound_head,
                    last_contact_ms: p.last_contact_ms,
                    outbound_streams: p.outbound_streams,
                    inbound_lag_ms: p.inbound_lag_ms,
                    last_error: p.last_error.clone(),
                })
                .collect(),
            quarantined: self.quarantined,
            rejected_last_hour: self.rejected_last_hour,
            quarantined_last_hour: self.quarantined_last_hour,
            certs: self
                .certs
                .iter()
                .map(|c| pb::CertStatus {
                    warning: c.warning,
                    subject: c.subject.clone(),
                    not_after_ms: c.not_after_ms,
                })
                .collect(),
            signing_keys: self
                .signing_keys
                .iter()
                .map(|k| pb::SigningKeyStatus {
                    key_id: k.key_id.clone(),
                    valid_from_ms: k.valid_from_ms,
                    revoked_at_ms: k.revoked_at_ms.unwrap_or(0),
                    current: k.current,
                })
                .collect(),
            forks: self.forks,
            federation_listen: self.federation_listen.clone(),
            admin_listen: self.admin_listen.clone(),
            max_message_bytes: u64::try_from(self.max_message_bytes).unwrap_or(u64::MAX),
            max_batch: u32::try_from(self.max_batch).unwrap_or(u32::MAX),
            store_engine: self.store_engine.to_string(),
            store_role: self.store_role.to_string(),
            writer_admin: self.writer_admin.clone().unwrap_or_default(),
            replica_lag_ms: self.replica_lag_ms.map_or(-1, |ms| i64::try_from(ms).unwrap_or(i64::MAX)),
            store_failing: self.store.failing,
            store_last_error: self.store.last_error.clone().unwrap_or_default(),
            store_failing_since_ms: self.store.failing_since_ms.unwrap_or(0),
            store_failed_commits: self.store.failed_commits,
            region: self.region.clone().unwrap_or_default(),
            allowlists: Some(self.allowlists.to_pb()),
            log: Some(self.log.to_pb()),
        }
    }
}

impl ToPb for crate::node::LogStatus {
    type Pb = pb::LogStatus;
    fn to_pb(&self) -> pb::LogStatus {
        pb::LogStatus {
            enabled: self.enabled,
            origin: self.origin.clone(),
            tree_size: self.tree_size,
            checkpoint_size: self.checkpoint_size,
            checkpoint_cosigners: self.checkpoint_cosigners.clone(),
            cosigned_size: self.cosigned_size,
            cosigned_by: self.cosigned_by.clone(),
            witnessed: self
                .witnessed
                .iter()
                .map(|w| pb::WitnessedLog {
                    origin: w.origin.clone(),
                    peer: w.peer.clone(),
                    size: w.size,
                    cosigned_at_ms: w.cosigned_at_ms,
                })
                .collect(),
            forks: self
                .forks
                .iter()
                .map(|f| pb::LogFork {
                    origin: f.origin.clone(),
                    peer: f.peer.clone(),
                    kind: f.kind.clone(),
                    detail: f.detail.clone(),
                    detected_at_ms: f.detected_at_ms,
                })
                .collect(),
        }
    }
}

impl ToPb for crate::node::ReviewItem {
    type Pb = pb::QuarantineRecord;
    fn to_pb(&self) -> pb::QuarantineRecord {
        pb::QuarantineRecord {
            local_seq: self.local_seq,
            peer: self.record.peer.clone(),
            reason: self.record.reason.clone(),
            indicator: self.indicator.as_ref().map(ToPb::to_pb),
            received_at_ms: self.record.received_at_ms,
            decision: self.record.decision.to_string(),
            note: self.record.note.clone(),
            view: self.view.as_ref().map(ToPb::to_pb),
        }
    }
}

impl ToPb for crate::node::KeyInfo {
    type Pb = pb::KeyRecord;
    fn to_pb(&self) -> pb::KeyRecord {
        let k = self;
        pb::KeyRecord {
            key_id: k.key_id.clone(),
            owner: k.owner.clone(),
            public_key_hex: k.public_key_hex.clone(),
            valid_from_ms: k.valid_from_ms,
            revoked_at_ms: k.revoked_at_ms.unwrap_or(0),
            current: k.current,
            local: k.local,
        }
    }
}

impl ToPb for crate::audit::AuditEntry {
    type Pb = pb::AuditRecord;
    fn to_pb(&self) -> pb::AuditRecord {
        let e = self;
        pb::AuditRecord {
            seq: e.seq,
            at_ms: e.at_ms,
            category: e.draft.category.as_str().into(),
            actor: e.draft.actor.clone(),
            action: e.draft.action.clone(),
            peer: e.draft.peer.clone().unwrap_or_default(),
            origin: e.draft.origin.clone().unwrap_or_default(),
            origin_seq: e.draft.origin_seq.unwrap_or(0),
            reason: e.draft.reason.clone().unwrap_or_default(),
            detail: e.draft.detail.clone(),
            prev_hash: e.prev_hash.clone(),
            hash: e.hash.clone(),
        }
    }
}

/// The wire form of a verification outcome.
pub fn verify_response(outcome: Result<u64, crate::store::audit::AuditVerifyError>) -> pb::VerifyAuditResponse {
    match outcome {
        Ok(n) => pb::VerifyAuditResponse { ok: true, entries_checked: n, first_bad_seq: 0, error: String::new() },
        Err(crate::store::audit::AuditVerifyError::Broken(b)) => pb::VerifyAuditResponse {
            ok: false,
            entries_checked: b.seq().saturating_sub(1),
            first_bad_seq: b.seq(),
            error: b.to_string(),
        },
        Err(e) => pb::VerifyAuditResponse { ok: false, entries_checked: 0, first_bad_seq: 0, error: e.to_string() },
    }
}
