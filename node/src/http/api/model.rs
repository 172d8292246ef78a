//! What the API returns: records, merged views, lookups, feedback events,
//! each built from the domain's type. These types are what the OpenAPI
//! document describes and what is serialized, so the two cannot differ.
//! Times are milliseconds since the Unix epoch (`*_ms`), as everywhere in
//! Jaring's JSON.

use serde::Serialize;
use utoipa::ToSchema;

use super::names::{ApiAction, ApiCategory, ApiDistribution, ApiFeedbackType, ApiKind, ApiStatus, ApiTlp};
use crate::feedback::FeedbackEvent;
use crate::view::{Assertion, IndicatorRecord, LookupResult, MergedView};

fn categories(c: &[crate::model::Category]) -> Vec<ApiCategory> {
    c.iter().copied().map(ApiCategory).collect()
}

/// One stored assertion (a version of an indicator).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IndicatorOut {
    /// Stable id: the same for every version of (origin, kind, value).
    pub id: String,
    /// The node that asserted it.
    pub origin: String,
    /// The origin's sequence number.
    pub origin_seq: u64,
    /// Position in this node's log (the cursor of listings).
    pub local_seq: u64,
    /// Kind.
    pub kind: ApiKind,
    /// The normalized value: plain where this node holds it, else the keyed hash.
    pub value: String,
    /// For personal-data kinds: the keyed hash that travels.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keyed_hash: Option<String>,
    /// The federation key epoch of `keyed_hash`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hash_epoch: Option<u32>,
    /// Categories.
    pub categories: Vec<ApiCategory>,
    /// 0-100.
    pub confidence: u8,
    /// TLP.
    pub tlp: ApiTlp,
    /// Distribution.
    pub distribution: ApiDistribution,
    /// First seen.
    pub first_seen_ms: i64,
    /// Last seen.
    pub last_seen_ms: i64,
    /// Expiry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_until_ms: Option<i64>,
    /// Upsert, or revoke (a signed tombstone).
    pub action: ApiAction,
    /// Version, from 1.
    pub version: u64,
    /// When the origin signed it.
    pub created_at_ms: i64,
    /// Notes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Where it was found.
    pub source_refs: Vec<String>,
    /// The signing key.
    pub key_id: String,
}

impl From<&IndicatorRecord> for IndicatorOut {
    fn from(r: &IndicatorRecord) -> IndicatorOut {
        IndicatorOut {
            id: r.id.clone(),
            origin: r.origin.clone(),
            origin_seq: r.origin_seq,
            local_seq: r.local_seq,
            kind: r.kind.into(),
            value: r.value.clone(),
            keyed_hash: r.keyed_hash.clone(),
            hash_epoch: r.hash_epoch,
            categories: categories(&r.categories),
            confidence: r.confidence,
            tlp: r.tlp.into(),
            distribution: r.distribution.into(),
            first_seen_ms: r.first_seen_ms,
            last_seen_ms: r.last_seen_ms,
            valid_until_ms: r.valid_until_ms,
            action: r.action.into(),
            version: r.version,
            created_at_ms: r.created_at_ms,
            description: r.description.clone(),
            source_refs: r.source_refs.clone(),
            key_id: r.key_id.clone(),
        }
    }
}

/// One origin's current assertion about a value.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AssertionOut {
    /// Who asserted it.
    pub origin: String,
    /// Its indicator id.
    pub indicator_id: String,
    /// Its version.
    pub version: u64,
    /// Categories.
    pub categories: Vec<ApiCategory>,
    /// Confidence.
    pub confidence: u8,
    /// TLP.
    pub tlp: ApiTlp,
    /// First seen.
    pub first_seen_ms: i64,
    /// Last seen.
    pub last_seen_ms: i64,
    /// Expiry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_until_ms: Option<i64>,
    /// In force?
    pub status: ApiStatus,
    /// Notes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Current score after decay and feedback, 0-100.
    pub score: u8,
}

impl From<&Assertion> for AssertionOut {
    fn from(a: &Assertion) -> AssertionOut {
        AssertionOut {
            origin: a.origin.clone(),
            indicator_id: a.indicator_id.clone(),
            version: a.version,
            categories: categories(&a.categories),
            confidence: a.confidence,
            tlp: a.tlp.into(),
            first_seen_ms: a.first_seen_ms,
            last_seen_ms: a.last_seen_ms,
            valid_until_ms: a.valid_until_ms,
            status: a.status.into(),
            description: a.description.clone(),
            score: a.score,
        }
    }
}

/// One feedback event about a value.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FeedbackEventOut {
    /// The node that signed it.
    pub reporter: String,
    /// The reporter's sequence number.
    pub origin_seq: u64,
    /// Position in this node's log.
    pub local_seq: u64,
    /// What is reported.
    #[serde(rename = "type")]
    pub feedback_type: ApiFeedbackType,
    /// Kind.
    pub kind: ApiKind,
    /// The value as carried (keyed hash for personal data).
    pub value: String,
    /// The indicator it responds to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub indicator_id: Option<String>,
    /// That indicator's origin.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub indicator_origin: Option<String>,
    /// Platform or registrar.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// What the platform did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action_taken: Option<String>,
    /// Why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Notes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The agency it was referred to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub referred_to: Option<String>,
    /// When it was seen or actioned.
    pub observed_at_ms: i64,
    /// When the reporter signed it.
    pub created_at_ms: i64,
    /// Marking.
    pub tlp: ApiTlp,
    /// Reach.
    pub distribution: ApiDistribution,
}

impl From<&FeedbackEvent> for FeedbackEventOut {
    fn from(e: &FeedbackEvent) -> FeedbackEventOut {
        FeedbackEventOut {
            reporter: e.reporter.clone(),
            origin_seq: e.origin_seq,
            local_seq: e.local_seq,
            feedback_type: e.feedback_type.into(),
            kind: e.kind.into(),
            value: e.value.clone(),
            indicator_id: e.indicator_id.clone(),
            indicator_origin: e.indicator_origin.clone(),
            platform: e.platform.clone(),
            action_taken: e.action_taken.clone(),
            reason: e.reason.clone(),
            note: e.note.clone(),
            referred_to: e.referred_to.clone(),
            observed_at_ms: e.observed_at_ms,
            created_at_ms: e.created_at_ms,
            tlp: e.tlp.into(),
            distribution: e.distribution.into(),
        }
    }
}

/// Every origin's assertion about one (kind, value), merged.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ViewOut {
    /// Kind.
    pub kind: ApiKind,
    /// The value (normalized).
    pub value: String,
    /// For personal-data kinds: the keyed hash.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keyed_hash: Option<String>,
    /// Active if any assertion is; else expired or revoked.
    pub status: ApiStatus,
    /// Highest confidence among the assertions in force.
    pub max_confidence: u8,
    /// Union of the categories of the assertions in force.
    pub categories: Vec<ApiCategory>,
    /// The value's score: the best score among assertions in force.
    pub score: u8,
    /// Per origin (empty with `summary`).
    pub assertions: Vec<AssertionOut>,
    /// Feedback events, oldest first (empty with `summary`).
    pub feedback: Vec<FeedbackEventOut>,
}

impl ViewOut {
    /// The view; with `summary` only the verdict.
    pub fn of(v: &MergedView, summary: bool) -> ViewOut {
        ViewOut {
            kind: v.kind.into(),
            value: v.value.clone(),
            keyed_hash: v.keyed_hash.clone(),
            status: v.status.into(),
            max_confidence: v.max_confidence,
            categories: categories(&v.categories),
            score: v.score,
            assertions: if summary { Vec::new() } else { v.assertions.iter().map(Into::into).collect() },
            feedback: if summary { Vec::new() } else { v.feedback.iter().map(Into::into).collect() },
        }
    }
}

/// The answer to one lookup.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LookupOut {
    /// The value as asked.
    pub query: String,
    /// Whether it is listed (as anything this token may see).
    pub found: bool,
    /// One per kind it matched.
    pub views: Vec<ViewOut>,
    /// Why the value is not a valid value of the kind asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl LookupOut {
    /// The answer; with `summary` only each view's verdict.
    pub fn of(r: &LookupResult, summary: bool) -> LookupOut {
        LookupOut {
            query: r.query.clone(),
            found: r.found,
            views: r.views.iter().map(|v| ViewOut::of(v, summary)).collect(),
            error: r.error.clone(),
        }
    }
}
