//! What admins see: records, merged views, status. Plain serde types, used
//! by the admin API (converted in `wire::admin`) and printed by the CLI.

use serde::{Deserialize, Serialize};

use crate::model::{Action, Category, Distribution, Kind, Tlp, UnixMillis};

/// One stored assertion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndicatorRecord {
    /// Stable id.
    pub id: String,
    /// Origin node.
    pub origin: String,
    /// Origin's sequence number.
    pub origin_seq: u64,
    /// Position in this node's log.
    pub local_seq: u64,
    pub kind: Kind,
    /// Normalized value (plain where this node holds it, else the keyed hash).
    pub value: String,
    /// Keyed hash for personal-data kinds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keyed_hash: Option<String>,
    /// Federation key epoch of `keyed_hash`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash_epoch: Option<u32>,
    pub categories: Vec<Category>,
    /// 0-100.
    pub confidence: u8,
    pub tlp: Tlp,
    pub distribution: Distribution,
    /// First seen.
    pub first_seen_ms: UnixMillis,
    /// Last seen.
    pub last_seen_ms: UnixMillis,
    /// Expiry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until_ms: Option<UnixMillis>,
    /// Upsert or revoke.
    pub action: Action,
    pub version: u64,
    /// When the origin signed it.
    pub created_at_ms: UnixMillis,
    /// Notes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Sources.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub source_refs: Vec<String>,
    /// Signing key.
    pub key_id: String,
}

/// Whether an assertion or value is in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueStatus {
    /// Asserted and not expired.
    Active,
    /// Past its valid_until.
    Expired,
    /// Withdrawn by its origin.
    Revoked,
}

impl ValueStatus {
    /// Its name, as serialized.
    pub fn as_str(self) -> &'static str {
        match self {
            ValueStatus::Active => "active",
            ValueStatus::Expired => "expired",
            ValueStatus::Revoked => "revoked",
        }
    }
}

/// One origin's current assertion about a value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assertion {
    /// Who reported it.
    pub origin: String,
    pub indicator_id: String,
    pub version: u64,
    pub categories: Vec<Category>,
    pub confidence: u8,
    pub tlp: Tlp,
    /// First seen.
    pub first_seen_ms: UnixMillis,
    /// Last seen.
    pub last_seen_ms: UnixMillis,
    /// Expiry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until_ms: Option<UnixMillis>,
    /// In force?
    pub status: ValueStatus,
    /// Notes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Current score after decay and feedback, 0-100 ([`crate::scoring`]).
    #[serde(default)]
    pub score: u8,
}

/// Every origin's assertion about one (kind, value), merged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MergedView {
    pub kind: Kind,
    /// The value as queried (normalized).
    pub value: String,
    /// Keyed hash, for personal-data kinds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keyed_hash: Option<String>,
    /// Active if any origin's assertion is; else revoked or expired.
    pub status: ValueStatus,
    /// Highest confidence among assertions in force (all, if none is).
    pub max_confidence: u8,
    /// Union of categories of assertions in force (all, if none is).
    pub categories: Vec<Category>,
    /// Per origin.
    pub assertions: Vec<Assertion>,
    /// Current score of the value: the best score among assertions in force.
    #[serde(default)]
    pub score: u8,
    /// Every feedback event held about the value, oldest first.
    #[serde(default)]
    pub feedback: Vec<crate::feedback::FeedbackEvent>,
    /// What the feedback adds up to (derived from `feedback`).
    #[serde(default)]
    pub summary: crate::feedback::FeedbackSummary,
}

impl MergedView {
    /// Merges assertions (at least one) about a value.
    pub fn merge(kind: Kind, value: String, keyed_hash: Option<String>, mut assertions: Vec<Assertion>) -> MergedView {
        assertions.sort_by(|a, b| a.origin.cmp(&b.origin));
        let status = assertions.iter().map(|a| a.status).min().unwrap_or(ValueStatus::Expired);
        let in_force: Vec<&Assertion> = assertions.iter().filter(|a| a.status == status).collect();
        let max_confidence = in_force.iter().map(|a| a.confidence).max().unwrap_or(0);
        let mut categories: Vec<Category> = in_force.iter().flat_map(|a| a.categories.iter().copied()).collect();
        categories.sort();
        categories.dedup();
        let score = in_force.iter().map(|a| a.score).max().unwrap_or(0);
        MergedView {
            kind,
            value,
            keyed_hash,
            status,
            max_confidence,
            categories,
            assertions,
            score,
            feedback: Vec::new(),
            summary: crate::feedback::FeedbackSummary::default(),
        }
    }

    /// Attaches the feedback events held about the value (any order) and
    /// their summary.
    pub fn with_feedback(mut self, mut events: Vec<crate::feedback::FeedbackEvent>) -> MergedView {
        events.sort_by_key(|e| (e.observed_at_ms, e.created_at_ms, e.local_seq));
        self.summary = crate::feedback::FeedbackSummary::from_events(&events);
        self.feedback = events;
        self
    }
}

/// The answer to one lookup query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LookupResult {
    /// The query as given.
    pub query: String,
    /// Whether any view was found.
    pub found: bool,
    /// One per kind the query matched.
    pub views: Vec<MergedView>,
    /// Why the query is not a valid value, when a kind was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl LookupResult {
    /// Keeps only assertions whose score is at least `min` and in force,
    /// and only views that keep one (0 keeps everything).
    pub fn retain_min_score(&mut self, min: u8) {
        if min == 0 {
            return;
        }
        for v in &mut self.views {
            v.assertions.retain(|a| a.status == ValueStatus::Active && a.score >= min);
        }
        self.views.retain(|v| !v.assertions.is_empty());
        for v in &mut self.views {
            v.score = v.assertions.iter().map(|a| a.score).max().unwrap_or(0);
        }
        self.found = !self.views.is_empty();
    }
}
