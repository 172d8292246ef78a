//! Feedback: what happened to an indicator after it was shared.
//!
//! A feedback event is a signed entry in the reporting node's own log
//! ([`crate::envelope::Entry::Feedback`]), kept apart from indicator
//! versions: the origin of an indicator never rewrites it because another
//! country saw it again or had it taken down. Each event names the value the
//! way indicators carry it (normalized, or the keyed hash for personal data)
//! and, when known, the indicator it responds to.
//!
//! Routing (see [`crate::policy`]): an event carries the categories, TLP and
//! distribution of the indicator it responds to (inherited when it is made,
//! the most restrictive TLP and distribution among the assertions the
//! reporter holds) and travels exactly like an indicator with those
//! markings, plus always to the indicator's origin when that origin is a
//! direct peer. Idempotency, signatures, hash chains and relay are those of
//! every envelope.
//!
//! The merged view of a value lists the events held about it
//! ([`FeedbackEvent`]) and a [`FeedbackSummary`] derived from them: per
//! reporting country its sightings and last sighting, false-positive votes
//! with reasons, takedown status per platform.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::model::{Distribution, InvalidField, Kind, Tlp, UnixMillis};
use crate::node_id::NodeId;

pub use crate::envelope::{Feedback, FeedbackType, MAX_NOTE, MAX_SHORT_FIELD};

/// One feedback event as admins see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedbackEvent {
    /// The reporting node (who signed it).
    pub reporter: String,
    /// Reporter's sequence number.
    pub origin_seq: u64,
    /// Position in this node's log.
    pub local_seq: u64,
    /// What is reported.
    #[serde(rename = "type")]
    pub feedback_type: FeedbackType,
    pub kind: Kind,
    /// Value as carried (keyed hash for personal data).
    pub value: String,
    /// Indicator responded to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub indicator_id: Option<String>,
    /// Its origin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub indicator_origin: Option<String>,
    /// Platform or registrar.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// What the platform did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action_taken: Option<String>,
    /// Why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Notes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Agency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referred_to: Option<String>,
    /// When seen or actioned.
    pub observed_at_ms: UnixMillis,
    /// When the reporter signed it.
    pub created_at_ms: UnixMillis,
    /// Marking.
    pub tlp: Tlp,
    /// Reach.
    pub distribution: Distribution,
    /// The takedown case the event belongs to (`<reporter>-<seq>`, see
    /// [`CaseId`]); a request names its own case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case_id: Option<String>,
    /// When a takedown request is due.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_at_ms: Option<UnixMillis>,
    /// The agency's case reference (`referred`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case_ref: Option<String>,
}

impl FeedbackEvent {
    /// The admin view of a feedback entry.
    pub fn new(reporter: &str, origin_seq: u64, local_seq: u64, created_at_ms: UnixMillis, f: &Feedback) -> Self {
        FeedbackEvent {
            reporter: reporter.into(),
            origin_seq,
            local_seq,
            feedback_type: f.feedback_type,
            kind: f.kind,
            value: f.value.as_str().to_string(),
            indicator_id: f.indicator_id.clone(),
            indicator_origin: f.indicator_origin.clone(),
            platform: f.platform.clone(),
            action_taken: f.action_taken.clone(),
            reason: f.reason.clone(),
            note: f.note.clone(),
            referred_to: f.referred_to.clone(),
            observed_at_ms: f.observed_at_ms,
            created_at_ms,
            tlp: f.tlp,
            distribution: f.distribution,
            case_id: case_of(f, origin_seq).map(|seq| CaseId { origin: reporter.into(), seq }.to_string()),
            due_at_ms: f.due_at_ms,
            case_ref: f.case_ref.clone(),
        }
    }
}

/// The id of a takedown case: the requesting node and the `origin_seq` of
/// the `takedown_requested` event that opened it. Written `<origin>-<seq>`
/// (`ID-17`, `id-kominfo-4`); node ids may hold `-`, the sequence number
/// is what follows the last one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct CaseId {
    /// The requesting node.
    pub origin: String,
    /// Its request event's `origin_seq`.
    pub seq: u64,
}

impl fmt::Display for CaseId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.origin, self.seq)
    }
}

impl FromStr for CaseId {
    type Err = InvalidField;
    fn from_str(s: &str) -> Result<CaseId, InvalidField> {
        let bad = || InvalidField::new("case_id", format!("{s:?} is not a case id like ID-17"));
        let (origin, seq) = s.trim().rsplit_once('-').ok_or_else(bad)?;
        NodeId::check(origin).map_err(|_| bad())?;
        let seq: u64 = seq.parse().map_err(|_| bad())?;
        if seq == 0 {
            return Err(bad());
        }
        Ok(CaseId { origin: origin.to_string(), seq })
    }
}

impl From<CaseId> for String {
    fn from(c: CaseId) -> String {
        c.to_string()
    }
}

impl TryFrom<String> for CaseId {
    type Error = InvalidField;
    fn try_from(s: String) -> Result<CaseId, InvalidField> {
        s.parse()
    }
}

/// The case a feedback entry at `origin_seq` belongs to (its reporter's
/// sequence number of the request): its own for a request, `case_seq` for
/// the others, none for feedback outside cases.
pub fn case_of(f: &Feedback, origin_seq: u64) -> Option<u64> {
    match f.feedback_type {
        FeedbackType::TakedownRequested => Some(origin_seq),
        _ => f.case_seq,
    }
}

/// One reporting country's feedback about a value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CountryFeedback {
    /// The reporting node.
    pub node: String,
    /// Sightings reported.
    pub sightings: u64,
    /// Latest sighting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sighting_ms: Option<UnixMillis>,
    /// Whether it voted false positive.
    pub false_positive: bool,
    /// Takedown events (requested, actioned, no action) it reported.
    pub takedown_events: u64,
    /// Whether it referred the value to law enforcement.
    pub referred: bool,
}

/// A false-positive vote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FalsePositiveVote {
    /// Who voted.
    pub by: String,
    /// Why.
    pub reason: String,
    /// When.
    pub at_ms: UnixMillis,
}

/// The latest takedown state of a value on one platform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TakedownStatus {
    /// Platform or registrar (lower case).
    pub platform: String,
    /// The latest takedown event's type: `takedown_requested`,
    /// `acknowledged`, `actioned`, `no_action` (refused), `expired` or
    /// `withdrawn`.
    pub status: FeedbackType,
    /// Who reported the latest state.
    pub by: String,
    /// What was done (`actioned`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action_taken: Option<String>,
    /// Why not (`no_action`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When.
    pub at_ms: UnixMillis,
}

/// What the feedback held about a value adds up to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedbackSummary {
    /// Per reporting node, sorted by node.
    pub countries: Vec<CountryFeedback>,
    /// Sightings from everyone.
    pub sightings: u64,
    /// Latest sighting from anyone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sighting_ms: Option<UnixMillis>,
    /// One vote per reporting node (its latest), sorted by node.
    pub false_positives: Vec<FalsePositiveVote>,
    /// Per platform, sorted by platform.
    pub takedowns: Vec<TakedownStatus>,
}

impl FeedbackSummary {
    /// Summarizes events (any order). Takedown status per platform is the
    /// latest event by (observed_at, created_at, reporter's sequence).
    pub fn from_events(events: &[FeedbackEvent]) -> FeedbackSummary {
        let mut sorted: Vec<&FeedbackEvent> = events.iter().collect();
        sorted.sort_by_key(|e| (e.observed_at_ms, e.created_at_ms, e.origin_seq));
        let mut countries: BTreeMap<&str, CountryFeedback> = BTreeMap::new();
        let mut fps: BTreeMap<&str, FalsePositiveVote> = BTreeMap::new();
        let mut takedowns: BTreeMap<String, TakedownStatus> = BTreeMap::new();
        let mut sum = FeedbackSummary::default();
        for e in sorted {
            let c = countries
                .entry(&e.reporter)
                .or_insert_with(|| CountryFeedback { node: e.reporter.clone(), ..CountryFeedback::default() });
            match e.feedback_type {
                FeedbackType::Sighting => {
                    c.sightings += 1;
                    c.last_sighting_ms = c.last_sighting_ms.max(Some(e.observed_at_ms));
                    sum.sightings += 1;
                    sum.last_sighting_ms = sum.last_sighting_ms.max(Some(e.observed_at_ms));
                }
                FeedbackType::FalsePositive => {
                    c.false_positive = true;
                    fps.insert(
                        &e.reporter,
                        FalsePositiveVote {
                            by: e.reporter.clone(),
                            reason: e.reason.clone().unwrap_or_default(),
                            at_ms: e.observed_at_ms,
                        },
                    );
                }
                FeedbackType::TakedownRequested
                | FeedbackType::Actioned
                | FeedbackType::NoAction
                | FeedbackType::Acknowledged
                | FeedbackType::Expired
                | FeedbackType::Withdrawn => {
                    c.takedown_events += 1;
                    let platform = e.platform.clone().unwrap_or_default().trim().to_lowercase();
                    takedowns.insert(
                        platform.clone(),
                        TakedownStatus {
                            platform,
                            status: e.feedback_type,
                            by: e.reporter.clone(),
                            action_taken: e.action_taken.clone(),
                            reason: e.reason.clone(),
                            at_ms: e.observed_at_ms,
                        },
                    );
                }
                FeedbackType::Referred => c.referred = true,
            }
        }
        sum.countries = countries.into_values().collect();
        sum.false_positives = fps.into_values().collect();
        sum.takedowns = takedowns.into_values().collect();
        sum
    }
}

/// Feedback as an admin submits it, before normalization.
#[derive(Debug, Clone)]
pub struct NewFeedback {
    /// The value as seen.
    pub value: String,
    /// Its kind; `None`: every kind it parses as (the first one held).
    pub kind: Option<Kind>,
    /// What is reported.
    pub feedback_type: FeedbackType,
    /// Platform or registrar.
    pub platform: Option<String>,
    /// What the platform did.
    pub action_taken: Option<String>,
    /// Why.
    pub reason: Option<String>,
    pub note: Option<String>,
    /// Agency referred to.
    pub referred_to: Option<String>,
    /// The agency's case reference (`referred`).
    pub case_ref: Option<String>,
    /// When seen or actioned; default now.
    pub observed_at_ms: Option<UnixMillis>,
    /// Marking; default the most restrictive among the assertions held.
    pub tlp: Option<Tlp>,
    /// The reporter's TLP ceiling (its token's `max_tlp`); `None` for the
    /// node's admin. The event inherits only from the assertions the
    /// reporter may see, and is not marked above the ceiling.
    pub ceiling: Option<Tlp>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::envelope::Value;
    use crate::model::Category;

    fn ev(reporter: &str, seq: u64, t: FeedbackType, at: i64) -> FeedbackEvent {
        FeedbackEvent {
            reporter: reporter.into(),
            origin_seq: seq,
            local_seq: seq,
            feedback_type: t,
            kind: Kind::Domain,
            value: "x.co.id".into(),
            indicator_id: None,
            indicator_origin: None,
            platform: t.is_takedown().then(|| "Registrar".to_string()),
            action_taken: (t == FeedbackType::Actioned).then(|| "suspended".to_string()),
            reason: matches!(t, FeedbackType::FalsePositive | FeedbackType::NoAction).then(|| "why".to_string()),
            note: None,
            referred_to: None,
            observed_at_ms: at,
            created_at_ms: at,
            tlp: Tlp::Green,
            distribution: Distribution::Federation,
            case_id: None,
            due_at_ms: None,
            case_ref: None,
        }
    }

    #[test]
    fn names_round_trip_and_accept_dashes() {
        for t in FeedbackType::ALL {
            assert_eq!(t.as_str().parse::<FeedbackType>().unwrap(), *t);
        }
        assert_eq!("false-positive".parse::<FeedbackType>().unwrap(), FeedbackType::FalsePositive);
        assert_eq!("Takedown-Requested".parse::<FeedbackType>().unwrap(), FeedbackType::TakedownRequested);
        assert!("deleted".parse::<FeedbackType>().is_err());
        assert_eq!("refused".parse::<FeedbackType>().unwrap(), FeedbackType::NoAction, "a case's refusal");
    }

    #[test]
    fn summary_counts_per_country_and_keeps_latest_takedown_state() {
        let events = vec![
            ev("VN", 2, FeedbackType::Actioned, 200),
            ev("VN", 1, FeedbackType::TakedownRequested, 100),
            ev("MY", 1, FeedbackType::Sighting, 150),
            ev("MY", 2, FeedbackType::Sighting, 300),
            ev("ID", 7, FeedbackType::FalsePositive, 400),
        ];
        let s = FeedbackSummary::from_events(&events);
        assert_eq!(s.sightings, 2);
        assert_eq!(s.last_sighting_ms, Some(300));
        assert_eq!(s.countries.iter().map(|c| c.node.as_str()).collect::<Vec<_>>(), ["ID", "MY", "VN"]);
        let my = &s.countries[1];
        assert_eq!((my.sightings, my.last_sighting_ms), (2, Some(300)));
        assert_eq!(s.countries[2].takedown_events, 2);
        assert_eq!(s.takedowns.len(), 1);
        assert_eq!(s.takedowns[0].platform, "registrar");
        assert_eq!(s.takedowns[0].status, FeedbackType::Actioned, "actioned came after the request");
        assert_eq!(s.takedowns[0].action_taken.as_deref(), Some("suspended"));
        assert_eq!(s.false_positives, vec![FalsePositiveVote { by: "ID".into(), reason: "why".into(), at_ms: 400 }]);
    }

    #[test]
    fn validation_names_the_missing_field() {
        let mut f = Feedback {
            kind: Kind::Domain,
            value: Value::Plain("x.co.id".into()),
            feedback_type: FeedbackType::FalsePositive,
            indicator_id: None,
            indicator_origin: None,
            categories: vec![Category::JobScam],
            tlp: Tlp::Green,
            distribution: Distribution::Federation,
            platform: None,
            action_taken: None,
            observed_at_ms: 1,
            reason: None,
            note: None,
            referred_to: None,
            case_seq: None,
            due_at_ms: None,
            case_ref: None,
        };
        assert_eq!(f.validate().unwrap_err().field, "reason");
        f.reason = Some("bank's own site".into());
        assert!(f.validate().is_ok());
        f.feedback_type = FeedbackType::Actioned;
        assert_eq!(f.validate().unwrap_err().field, "platform");
        f.platform = Some("registrar".into());
        assert!(f.validate().is_ok());
        f.due_at_ms = Some(5);
        assert_eq!(f.validate().unwrap_err().field, "due_at_ms", "a due time belongs on a request");
        f.feedback_type = FeedbackType::TakedownRequested;
        assert!(f.validate().is_ok());
        f.due_at_ms = Some(f.observed_at_ms + crate::envelope::MAX_DUE_MS + 1);
        assert_eq!(f.validate().unwrap_err().field, "due_at_ms", "a receiver refuses a due time years ahead");
        f.due_at_ms = Some(f.observed_at_ms + crate::envelope::MAX_DUE_MS);
        assert!(f.validate().is_ok());
        f.case_seq = Some(3);
        assert_eq!(f.validate().unwrap_err().field, "case_seq", "a request names no case: it opens one");
        f.due_at_ms = None;
        f.case_seq = None;
        f.feedback_type = FeedbackType::Acknowledged;
        assert_eq!(f.validate().unwrap_err().field, "case_seq", "an acknowledgement belongs to a case");
        f.case_seq = Some(3);
        assert!(f.validate().is_ok());
        f.case_ref = Some("POLRI/123".into());
        assert_eq!(f.validate().unwrap_err().field, "case_ref");
        f.feedback_type = FeedbackType::Referred;
        f.case_seq = None;
        assert!(f.validate().is_ok());
        f.categories.clear();
        assert_eq!(f.validate().unwrap_err().field, "categories");
    }
}
