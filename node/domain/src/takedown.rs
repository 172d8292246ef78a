//! Takedown cases: a request to a platform to take a value down, tracked
//! until the platform answers, the request expires or its requester
//! withdraws it.
//!
//! A case is not a record of its own: it is a run of signed feedback events
//! ([`crate::envelope::Feedback`]) in its requester's log, so it federates,
//! verifies and is audited like every other entry.
//!
//! - A `takedown_requested` event opens the case. Its id ([`CaseId`]) is the
//!   requester's node id and that event's `origin_seq`, e.g. `ID-17`.
//! - Every later event of the case carries the request's `origin_seq` in
//!   `case_seq` and is signed by the same node (the platform answers the
//!   node that asked it): `acknowledged`, `actioned`, `no_action` (the
//!   `refused` outcome, with a reason), `expired` (no outcome by the due
//!   time), `withdrawn`.
//!
//! States ([`CaseState`]) and the events that move them:
//!
//! ```text
//! requested ──acknowledged──▶ acknowledged
//! requested | acknowledged ──actioned──▶ actioned        (what was done)
//! requested | acknowledged ──no_action─▶ refused         (why not)
//! requested | acknowledged ──expired───▶ expired         (due time passed)
//! requested | acknowledged ──withdrawn─▶ withdrawn
//! expired ──actioned | no_action──▶ actioned | refused   (a late answer)
//! ```
//!
//! `requested` and `acknowledged` are open; a node keeps at most one open
//! case per (value, platform) of its own. The due time bounds the outcome:
//! an acknowledged case that gets no outcome by then expires too. A late
//! answer to an expired case is still recorded (and counted late by the
//! service levels); every other transition out of a closed case is refused
//! ([`TransitionError`]).
//!
//! [`Case::from_events`] folds the events a node holds into cases (ignoring
//! events that do not fit, such as a peer's duplicate answer);
//! [`service_levels`] turns cases into time-to-acknowledge and
//! time-to-outcome per platform and per requesting country over 7, 30 and
//! 90 days.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::envelope::{FeedbackType, MAX_NOTE, MAX_SHORT_FIELD};
use crate::feedback::FeedbackEvent;
use crate::model::{Distribution, InvalidField, Kind, Tlp, UnixMillis, UnknownName};

/// Longest platform name, in bytes.
pub const MAX_PLATFORM: usize = 64;

/// One day in milliseconds.
pub const DAY_MS: i64 = 86_400_000;

pub use crate::envelope::MAX_DUE_MS;

/// The service-level windows, in days.
pub const WINDOWS_DAYS: [u32; 3] = [7, 30, 90];

/// The canonical name of a platform (`meta`, `tiktok`, `bank-mandiri`, a
/// registrar): trimmed, lower case, 1-[`MAX_PLATFORM`] bytes of ASCII
/// letters, digits, `.`, `_` and `-`. Names appear in URLs (`/api/v1/...`),
/// metric labels and token scopes, so nothing else is allowed.
///
/// # Errors
///
/// [`InvalidField`] for `platform`.
pub fn platform_name(s: &str) -> Result<String, InvalidField> {
    let p = s.trim().to_ascii_lowercase();
    if p.is_empty() || p.len() > MAX_PLATFORM {
        return Err(InvalidField::new("platform", format!("must be 1-{MAX_PLATFORM} characters")));
    }
    if !p.bytes().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-')) {
        return Err(InvalidField::new("platform", format!("{s:?} may hold only letters, digits, '.', '_' and '-'")));
    }
    Ok(p)
}

pub use crate::feedback::{CaseId, case_of};

/// Where a takedown case stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum CaseState {
    /// Asked; no answer yet.
    Requested,
    /// The platform has seen it; no outcome yet.
    Acknowledged,
    /// The platform acted (taken down, blocked, frozen).
    Actioned,
    /// The platform declined, with a reason.
    Refused,
    /// No outcome by the due time.
    Expired,
    /// The requester withdrew it.
    Withdrawn,
}

impl CaseState {
    /// Every state, in declaration order.
    pub const ALL: &'static [CaseState] = &[
        CaseState::Requested,
        CaseState::Acknowledged,
        CaseState::Actioned,
        CaseState::Refused,
        CaseState::Expired,
        CaseState::Withdrawn,
    ];

    /// The canonical name.
    pub fn as_str(self) -> &'static str {
        match self {
            CaseState::Requested => "requested",
            CaseState::Acknowledged => "acknowledged",
            CaseState::Actioned => "actioned",
            CaseState::Refused => "refused",
            CaseState::Expired => "expired",
            CaseState::Withdrawn => "withdrawn",
        }
    }

    /// Whether the case still waits for the platform.
    pub fn is_open(self) -> bool {
        matches!(self, CaseState::Requested | CaseState::Acknowledged)
    }

    /// The feedback type of the event that moves a case into this state.
    pub fn event_type(self) -> FeedbackType {
        match self {
            CaseState::Requested => FeedbackType::TakedownRequested,
            CaseState::Acknowledged => FeedbackType::Acknowledged,
            CaseState::Actioned => FeedbackType::Actioned,
            CaseState::Refused => FeedbackType::NoAction,
            CaseState::Expired => FeedbackType::Expired,
            CaseState::Withdrawn => FeedbackType::Withdrawn,
        }
    }

    /// The state an event of this type moves a case into, if it is a case
    /// event.
    pub fn of_event(t: FeedbackType) -> Option<CaseState> {
        CaseState::ALL.iter().copied().find(|s| s.event_type() == t)
    }

    /// The state after an event of type `event`, from this one.
    ///
    /// # Errors
    ///
    /// [`TransitionError`] when the event does not apply here.
    pub fn next(self, event: FeedbackType) -> Result<CaseState, TransitionError> {
        use CaseState as S;
        let refuse = || Err(TransitionError { from: self, event });
        let to = CaseState::of_event(event).ok_or(TransitionError { from: self, event })?;
        match (self, to) {
            (S::Requested, S::Acknowledged) => Ok(to),
            (S::Requested | S::Acknowledged | S::Expired, S::Actioned | S::Refused) => Ok(to),
            (S::Requested | S::Acknowledged, S::Expired | S::Withdrawn) => Ok(to),
            _ => refuse(),
        }
    }
}

impl fmt::Display for CaseState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CaseState {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<CaseState, UnknownName> {
        let lower = s.trim().to_ascii_lowercase();
        CaseState::ALL.iter().copied().find(|t| t.as_str() == lower).ok_or_else(|| UnknownName {
            what: "case state",
            given: s.to_string(),
            expected: CaseState::ALL.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(", "),
        })
    }
}

impl From<CaseState> for String {
    fn from(v: CaseState) -> String {
        v.as_str().to_string()
    }
}

impl TryFrom<String> for CaseState {
    type Error = UnknownName;
    fn try_from(s: String) -> Result<CaseState, UnknownName> {
        s.parse()
    }
}

/// An event that does not apply to a case in its current state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a {from} case cannot take {event}")]
pub struct TransitionError {
    /// The case's state.
    pub from: CaseState,
    /// The event refused.
    pub event: FeedbackType,
}

/// One transition of a case, as held.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseEvent {
    /// The state it moved the case into.
    pub state: CaseState,
    /// Its requester's sequence number.
    pub origin_seq: u64,
    /// Its position in this node's log.
    pub local_seq: u64,
    /// When it happened (the event's `observed_at_ms`).
    pub at_ms: UnixMillis,
    /// When the requester signed it.
    pub created_at_ms: UnixMillis,
    /// What the platform did (`actioned`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action_taken: Option<String>,
    /// Why (`refused`, `withdrawn`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Notes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A takedown case folded from its events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Case {
    /// `<requester>-<seq>`.
    pub id: CaseId,
    /// Addressed to (canonical name).
    pub platform: String,
    /// The value's kind.
    pub kind: Kind,
    /// The value as carried (keyed hash for personal data).
    pub value: String,
    /// The plain value, where this node holds it (personal data).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plain_value: Option<String>,
    /// Marking of the request (and of every event of the case).
    pub tlp: Tlp,
    /// Reach of the request.
    pub distribution: Distribution,
    /// The indicator the request responds to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub indicator_id: Option<String>,
    /// Its origin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub indicator_origin: Option<String>,
    /// Where it stands.
    pub state: CaseState,
    /// When it was asked.
    pub requested_at_ms: UnixMillis,
    /// When an outcome is due.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_at_ms: Option<UnixMillis>,
    /// When the platform acknowledged it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledged_at_ms: Option<UnixMillis>,
    /// When the platform answered with an outcome (actioned or refused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome_at_ms: Option<UnixMillis>,
    /// When it expired.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expired_at_ms: Option<UnixMillis>,
    /// When it was withdrawn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawn_at_ms: Option<UnixMillis>,
    /// What the platform did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action_taken: Option<String>,
    /// Why it refused (or why the case was withdrawn).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The requester's note.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Every transition, oldest first; the first is the request.
    pub events: Vec<CaseEvent>,
}

impl Case {
    /// A case opened by a `takedown_requested` event; `None` for any other
    /// event or one without a platform.
    pub fn open(e: &FeedbackEvent) -> Option<Case> {
        if e.feedback_type != FeedbackType::TakedownRequested {
            return None;
        }
        let platform = platform_name(e.platform.as_deref()?).ok()?;
        Some(Case {
            id: CaseId { origin: e.reporter.clone(), seq: e.origin_seq },
            platform,
            kind: e.kind,
            value: e.value.clone(),
            plain_value: None,
            tlp: e.tlp,
            distribution: e.distribution,
            indicator_id: e.indicator_id.clone(),
            indicator_origin: e.indicator_origin.clone(),
            state: CaseState::Requested,
            requested_at_ms: e.observed_at_ms,
            due_at_ms: e.due_at_ms,
            acknowledged_at_ms: None,
            outcome_at_ms: None,
            expired_at_ms: None,
            withdrawn_at_ms: None,
            action_taken: None,
            reason: None,
            note: e.note.clone(),
            events: vec![event_of(CaseState::Requested, e)],
        })
    }

    /// Applies a later event of this case.
    ///
    /// # Errors
    ///
    /// [`TransitionError`] if the event does not apply in the current
    /// state (the case is unchanged).
    pub fn apply(&mut self, e: &FeedbackEvent) -> Result<(), TransitionError> {
        let to = self.state.next(e.feedback_type)?;
        match to {
            CaseState::Acknowledged => self.acknowledged_at_ms = Some(e.observed_at_ms),
            CaseState::Actioned => {
                self.outcome_at_ms = Some(e.observed_at_ms);
                self.action_taken.clone_from(&e.action_taken);
            }
            CaseState::Refused => {
                self.outcome_at_ms = Some(e.observed_at_ms);
                self.reason.clone_from(&e.reason);
            }
            CaseState::Expired => self.expired_at_ms = Some(e.observed_at_ms),
            CaseState::Withdrawn => {
                self.withdrawn_at_ms = Some(e.observed_at_ms);
                self.reason.clone_from(&e.reason);
            }
            CaseState::Requested => {}
        }
        self.state = to;
        self.events.push(event_of(to, e));
        Ok(())
    }

    /// Folds feedback events (any order, any values) into the cases they
    /// make: each request opens one, and its events apply in the
    /// requester's order. Events that do not fit their case (or whose
    /// request is not held) are left out. Cases come sorted by id.
    pub fn from_events(events: &[FeedbackEvent]) -> Vec<Case> {
        let mut by_case: BTreeMap<CaseId, Vec<&FeedbackEvent>> = BTreeMap::new();
        for e in events {
            let Some(id) = e.case_id.as_deref().and_then(|c| c.parse::<CaseId>().ok()) else { continue };
            if id.origin != e.reporter {
                // A case's events are all signed by its requester.
                continue;
            }
            by_case.entry(id).or_default().push(e);
        }
        let mut out = Vec::with_capacity(by_case.len());
        for (id, mut evs) in by_case {
            evs.sort_by_key(|e| e.origin_seq);
            let Some(first) = evs.first() else { continue };
            if first.origin_seq != id.seq {
                continue;
            }
            let Some(mut case) = Case::open(first) else { continue };
            for e in &evs[1..] {
                if e.origin_seq != case.events.last().map_or(0, |l| l.origin_seq) {
                    let _ = case.apply(e);
                }
            }
            out.push(case);
        }
        out
    }

    /// Whether the due time passed without an outcome: expired, or still
    /// open at `now` past its due time (the expiry has not run yet).
    pub fn is_overdue(&self, now: UnixMillis) -> bool {
        self.state == CaseState::Expired || (self.state.is_open() && self.due_at_ms.is_some_and(|d| d <= now))
    }

    /// The request event's position in this node's log.
    pub fn request_local_seq(&self) -> u64 {
        self.events.first().map_or(0, |e| e.local_seq)
    }
}

fn event_of(state: CaseState, e: &FeedbackEvent) -> CaseEvent {
    CaseEvent {
        state,
        origin_seq: e.origin_seq,
        local_seq: e.local_seq,
        at_ms: e.observed_at_ms,
        created_at_ms: e.created_at_ms,
        action_taken: e.action_taken.clone(),
        reason: e.reason.clone(),
        note: e.note.clone(),
    }
}

/// When a new request is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Due {
    /// The node's default (`[takedown] default_due`).
    #[default]
    Default,
    /// This long after the request, in milliseconds (0 to [`MAX_DUE_MS`]).
    In(i64),
    /// At this time (may be in the past: the case then expires at once).
    At(UnixMillis),
}

impl Due {
    /// The due time of a request made at `now`.
    ///
    /// # Errors
    ///
    /// [`InvalidField`] for `due` out of range.
    pub fn resolve(self, now: UnixMillis, default_ms: i64) -> Result<UnixMillis, InvalidField> {
        let within = |ms: i64| {
            if (0..=MAX_DUE_MS).contains(&ms) {
                Ok(now.saturating_add(ms))
            } else {
                Err(InvalidField::new("due", format!("must be 0 to {} days", MAX_DUE_MS / DAY_MS)))
            }
        };
        match self {
            Due::Default => within(default_ms),
            Due::In(ms) => within(ms),
            Due::At(t) if t <= 0 => Err(InvalidField::new("due", "must be a time after 1970")),
            Due::At(t) if t.saturating_sub(now) > MAX_DUE_MS => {
                Err(InvalidField::new("due", format!("must be at most {} days ahead", MAX_DUE_MS / DAY_MS)))
            }
            Due::At(t) => Ok(t),
        }
    }
}

/// A takedown request as an analyst makes it.
#[derive(Debug, Clone, Default)]
pub struct NewTakedown {
    /// The value, any form (normalized like a lookup).
    pub value: String,
    /// Its kind; `None`: every kind it parses as (the first one held).
    pub kind: Option<Kind>,
    /// The platform asked.
    pub platform: String,
    /// For the platform.
    pub note: Option<String>,
    /// When an outcome is due.
    pub due: Due,
    /// Marking; default the most restrictive among the assertions held.
    pub tlp: Option<Tlp>,
    /// Open a case even though another node holds an open one for the same
    /// value and platform.
    pub also: bool,
    /// The requester's TLP ceiling (its token's `max_tlp`); `None` for the
    /// node's admin. The case inherits only from the assertions the
    /// requester may see, and is not marked above the ceiling: the
    /// requester could not see its own case.
    pub ceiling: Option<Tlp>,
}

/// A platform's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Done: what was done ("page removed", "account frozen").
    Actioned(String),
    /// Declined: why.
    Refused(String),
}

impl Outcome {
    /// The checked outcome, text trimmed.
    ///
    /// # Errors
    ///
    /// [`InvalidField`] for `action_taken` or `reason` when empty or too
    /// long.
    pub fn checked(self) -> Result<Outcome, InvalidField> {
        let check = |field: &'static str, s: String| {
            let s = s.trim().to_string();
            if s.is_empty() || s.len() > MAX_SHORT_FIELD || s.contains('\0') {
                return Err(InvalidField::new(field, format!("is required: 1-{MAX_SHORT_FIELD} bytes without NUL")));
            }
            Ok(s)
        };
        Ok(match self {
            Outcome::Actioned(what) => Outcome::Actioned(check("action_taken", what)?),
            Outcome::Refused(why) => Outcome::Refused(check("reason", why)?),
        })
    }

    /// The state it closes a case in.
    pub fn state(&self) -> CaseState {
        match self {
            Outcome::Actioned(_) => CaseState::Actioned,
            Outcome::Refused(_) => CaseState::Refused,
        }
    }
}

/// Checks a free-text note.
///
/// # Errors
///
/// [`InvalidField`] for `note`.
pub fn check_note(note: Option<&str>) -> Result<(), InvalidField> {
    if note.is_some_and(|n| n.len() > MAX_NOTE) {
        return Err(InvalidField::new("note", format!("longer than {MAX_NOTE} bytes")));
    }
    Ok(())
}

/// Which cases to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaseFilter {
    /// Only cases this node opened (else every case held).
    pub own_only: bool,
    /// Only cases addressed to this platform.
    pub platform: Option<String>,
    /// Only cases in these states (empty: every state).
    pub states: Vec<CaseState>,
    /// Only overdue cases ([`Case::is_overdue`]).
    pub overdue: bool,
    /// Only cases marked at most this TLP.
    pub max_tlp: Option<Tlp>,
}

impl CaseFilter {
    /// Whether `case` passes at `now`; `own` is this node's id.
    pub fn matches(&self, case: &Case, own: &str, now: UnixMillis) -> bool {
        (!self.own_only || case.id.origin == own)
            && self.platform.as_ref().is_none_or(|p| *p == case.platform)
            && (self.states.is_empty() || self.states.contains(&case.state))
            && (!self.overdue || case.is_overdue(now))
            && self.max_tlp.is_none_or(|t| case.tlp <= t)
    }
}

/// How long something took across cases, in milliseconds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Durations {
    /// Cases measured.
    pub count: u64,
    /// Median (nearest rank).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub median_ms: Option<i64>,
    /// 90th percentile (nearest rank).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p90_ms: Option<i64>,
    /// Mean, rounded down.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean_ms: Option<i64>,
    /// Longest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_ms: Option<i64>,
}

impl Durations {
    /// Summarizes durations (any order; negative ones count as 0).
    pub fn of(mut v: Vec<i64>) -> Durations {
        if v.is_empty() {
            return Durations::default();
        }
        for d in &mut v {
            *d = (*d).max(0);
        }
        v.sort_unstable();
        let n = v.len();
        let rank = |q: usize| v[(n * q).div_ceil(100).clamp(1, n) - 1];
        let sum: i128 = v.iter().map(|&d| i128::from(d)).sum();
        Durations {
            count: n as u64,
            median_ms: Some(rank(50)),
            p90_ms: Some(rank(90)),
            mean_ms: i64::try_from(sum / n as i128).ok(),
            max_ms: v.last().copied(),
        }
    }
}

/// Service levels of one platform or one requesting country.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LevelRow {
    /// The platform or the requesting node.
    pub key: String,
    /// Cases requested in the window.
    pub requested: u64,
    /// Of those, still open.
    pub open: u64,
    /// Acknowledged (at any point).
    pub acknowledged: u64,
    /// Closed actioned.
    pub actioned: u64,
    /// Closed refused.
    pub refused: u64,
    /// Expired (and not answered since).
    pub expired: u64,
    /// Withdrawn.
    pub withdrawn: u64,
    /// Answered after their due time (late outcomes of expired cases).
    pub late: u64,
    /// Request to acknowledgement.
    pub time_to_acknowledge: Durations,
    /// Request to outcome (actioned or refused).
    pub time_to_outcome: Durations,
}

/// Service levels over one window.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LevelWindow {
    /// Length, in days.
    pub days: u32,
    /// Cases requested at or after this time are in the window.
    pub since_ms: UnixMillis,
    /// Every case in the window.
    pub total: LevelRow,
    /// Per platform, sorted.
    pub platforms: Vec<LevelRow>,
    /// Per requesting node, sorted.
    pub countries: Vec<LevelRow>,
}

/// Service levels over [`WINDOWS_DAYS`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceLevels {
    /// When they were computed.
    pub at_ms: UnixMillis,
    /// One per window, shortest first.
    pub windows: Vec<LevelWindow>,
}

#[derive(Default)]
struct Tally {
    row: LevelRow,
    ack: Vec<i64>,
    outcome: Vec<i64>,
}

impl Tally {
    fn add(&mut self, c: &Case) {
        let r = &mut self.row;
        r.requested += 1;
        match c.state {
            CaseState::Requested | CaseState::Acknowledged => r.open += 1,
            CaseState::Actioned => r.actioned += 1,
            CaseState::Refused => r.refused += 1,
            CaseState::Expired => r.expired += 1,
            CaseState::Withdrawn => r.withdrawn += 1,
        }
        if let Some(t) = c.acknowledged_at_ms {
            r.acknowledged += 1;
            self.ack.push(t - c.requested_at_ms);
        }
        if let Some(t) = c.outcome_at_ms {
            self.outcome.push(t - c.requested_at_ms);
            if c.expired_at_ms.is_some() {
                r.late += 1;
            }
        }
    }

    fn finish(mut self, key: &str) -> LevelRow {
        self.row.key = key.to_string();
        self.row.time_to_acknowledge = Durations::of(self.ack);
        self.row.time_to_outcome = Durations::of(self.outcome);
        self.row
    }
}

/// Time to acknowledge and to outcome, per platform and per requesting
/// node, over the last 7, 30 and 90 days (by request time) at `now`.
pub fn service_levels(cases: &[Case], now: UnixMillis) -> ServiceLevels {
    let windows = WINDOWS_DAYS
        .iter()
        .map(|&days| {
            let since_ms = now - i64::from(days) * DAY_MS;
            let mut total = Tally::default();
            let mut platforms: BTreeMap<&str, Tally> = BTreeMap::new();
            let mut countries: BTreeMap<&str, Tally> = BTreeMap::new();
            for c in cases.iter().filter(|c| c.requested_at_ms >= since_ms) {
                total.add(c);
                platforms.entry(&c.platform).or_default().add(c);
                countries.entry(&c.id.origin).or_default().add(c);
            }
            LevelWindow {
                days,
                since_ms,
                total: total.finish("all"),
                platforms: platforms.into_iter().map(|(k, t)| t.finish(k)).collect(),
                countries: countries.into_iter().map(|(k, t)| t.finish(k)).collect(),
            }
        })
        .collect();
    ServiceLevels { at_ms: now, windows }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const T0: i64 = 1_700_000_000_000;
    const HOUR: i64 = 3_600_000;

    fn ev(reporter: &str, seq: u64, t: FeedbackType, case: u64, at: i64) -> FeedbackEvent {
        FeedbackEvent {
            reporter: reporter.into(),
            origin_seq: seq,
            local_seq: seq + 100,
            feedback_type: t,
            kind: Kind::Domain,
            value: "meta-loker.example".into(),
            indicator_id: None,
            indicator_origin: None,
            platform: Some("Meta".into()),
            action_taken: (t == FeedbackType::Actioned).then(|| "page removed".to_string()),
            reason: (t == FeedbackType::NoAction).then(|| "not a violation".to_string()),
            note: None,
            referred_to: None,
            observed_at_ms: at,
            created_at_ms: at,
            tlp: Tlp::Green,
            distribution: Distribution::Federation,
            case_id: Some(CaseId { origin: reporter.into(), seq: case }.to_string()),
            due_at_ms: (t == FeedbackType::TakedownRequested).then_some(at + 48 * HOUR),
            case_ref: None,
        }
    }

    #[test]
    fn case_ids_print_and_parse_with_dashes_in_node_ids() {
        for (text, origin, seq) in [("ID-17", "ID", 17), ("id-kominfo-4", "id-kominfo", 4)] {
            let id: CaseId = text.parse().unwrap();
            assert_eq!((id.origin.as_str(), id.seq), (origin, seq));
            assert_eq!(id.to_string(), text);
        }
        for bad in ["ID", "ID-", "ID-0", "-5", "ID-x", "I D-3"] {
            assert_eq!(bad.parse::<CaseId>().unwrap_err().field, "case_id", "{bad}");
        }
    }

    #[test]
    fn platform_names_are_canonical() {
        assert_eq!(platform_name(" Meta ").unwrap(), "meta");
        assert_eq!(platform_name("bank-mandiri.co.id").unwrap(), "bank-mandiri.co.id");
        for bad in ["", "me ta", "meta/x", &"x".repeat(MAX_PLATFORM + 1)] {
            assert_eq!(platform_name(bad).unwrap_err().field, "platform", "{bad:?}");
        }
    }

    #[test]
    fn every_transition_follows_the_state_machine() {
        use CaseState as S;
        use FeedbackType as F;
        let allowed = [
            (S::Requested, F::Acknowledged, S::Acknowledged),
            (S::Requested, F::Actioned, S::Actioned),
            (S::Requested, F::NoAction, S::Refused),
            (S::Requested, F::Expired, S::Expired),
            (S::Requested, F::Withdrawn, S::Withdrawn),
            (S::Acknowledged, F::Actioned, S::Actioned),
            (S::Acknowledged, F::NoAction, S::Refused),
            (S::Acknowledged, F::Expired, S::Expired),
            (S::Acknowledged, F::Withdrawn, S::Withdrawn),
            (S::Expired, F::Actioned, S::Actioned),
            (S::Expired, F::NoAction, S::Refused),
        ];
        for &from in S::ALL {
            for &event in F::ALL {
                let expected = allowed.iter().find(|(f, e, _)| *f == from && *e == event).map(|(_, _, to)| *to);
                match expected {
                    Some(to) => assert_eq!(from.next(event), Ok(to), "{from} + {event}"),
                    None => assert_eq!(from.next(event), Err(TransitionError { from, event }), "{from} + {event}"),
                }
            }
        }
        assert!(S::Requested.is_open() && S::Acknowledged.is_open());
        assert!(!S::Actioned.is_open() && !S::Expired.is_open() && !S::Withdrawn.is_open());
        for s in S::ALL {
            assert_eq!(s.as_str().parse::<S>().unwrap(), *s);
            assert_eq!(S::of_event(s.event_type()), Some(*s));
        }
    }

    #[test]
    fn events_fold_into_cases_in_the_requesters_order() {
        let events = vec![
            // Delivered out of order; applied by origin_seq.
            ev("ID", 9, FeedbackType::Actioned, 5, T0 + 30 * HOUR),
            ev("ID", 5, FeedbackType::TakedownRequested, 5, T0),
            ev("ID", 7, FeedbackType::Acknowledged, 5, T0 + 2 * HOUR),
            // A second answer does not fit a closed case: left out.
            ev("ID", 11, FeedbackType::NoAction, 5, T0 + 40 * HOUR),
            // Another case, of VN, still open.
            ev("VN", 2, FeedbackType::TakedownRequested, 2, T0 + HOUR),
            // An event whose request is not held.
            ev("MY", 4, FeedbackType::Acknowledged, 3, T0),
            // An event claiming another node's case.
            FeedbackEvent { reporter: "MY".into(), ..ev("VN", 3, FeedbackType::Withdrawn, 2, T0) },
        ];
        let cases = Case::from_events(&events);
        assert_eq!(cases.len(), 2);
        let id = &cases[0];
        assert_eq!(id.id.to_string(), "ID-5");
        assert_eq!(id.platform, "meta", "platform names are canonical");
        assert_eq!(id.state, CaseState::Actioned);
        assert_eq!(id.acknowledged_at_ms, Some(T0 + 2 * HOUR));
        assert_eq!(id.outcome_at_ms, Some(T0 + 30 * HOUR));
        assert_eq!(id.action_taken.as_deref(), Some("page removed"));
        assert_eq!(id.reason, None, "the late refusal was not applied");
        assert_eq!(id.due_at_ms, Some(T0 + 48 * HOUR));
        let states: Vec<CaseState> = id.events.iter().map(|e| e.state).collect();
        assert_eq!(states, [CaseState::Requested, CaseState::Acknowledged, CaseState::Actioned]);
        assert_eq!(id.request_local_seq(), 105);
        let vn = &cases[1];
        assert_eq!((vn.id.to_string(), vn.state), ("VN-2".to_string(), CaseState::Requested));
        assert_eq!(vn.events.len(), 1, "MY cannot withdraw VN's case");
    }

    #[test]
    fn overdue_means_due_passed_without_an_outcome() {
        let mut c = Case::open(&ev("ID", 1, FeedbackType::TakedownRequested, 1, T0)).unwrap();
        let due = T0 + 48 * HOUR;
        assert!(!c.is_overdue(due - 1));
        assert!(c.is_overdue(due), "open at its due time");
        c.apply(&ev("ID", 2, FeedbackType::Expired, 1, due)).unwrap();
        assert!(c.is_overdue(due));
        c.apply(&ev("ID", 3, FeedbackType::Actioned, 1, due + HOUR)).unwrap();
        assert_eq!(c.state, CaseState::Actioned, "a late answer is recorded");
        assert!(!c.is_overdue(due + 2 * HOUR));
        assert_eq!(
            c.apply(&ev("ID", 4, FeedbackType::Withdrawn, 1, due + 3 * HOUR)),
            Err(TransitionError { from: CaseState::Actioned, event: FeedbackType::Withdrawn })
        );
    }

    #[test]
    fn filters_select_by_owner_platform_state_tlp_and_overdue() {
        let mut c = Case::open(&ev("VN", 1, FeedbackType::TakedownRequested, 1, T0)).unwrap();
        let now = T0 + HOUR;
        assert!(CaseFilter::default().matches(&c, "ID", now));
        assert!(!CaseFilter { own_only: true, ..Default::default() }.matches(&c, "ID", now));
        assert!(CaseFilter { own_only: true, ..Default::default() }.matches(&c, "VN", now));
        assert!(CaseFilter { platform: Some("meta".into()), ..Default::default() }.matches(&c, "ID", now));
        assert!(!CaseFilter { platform: Some("tiktok".into()), ..Default::default() }.matches(&c, "ID", now));
        let acked = CaseFilter { states: vec![CaseState::Acknowledged], ..Default::default() };
        assert!(!acked.matches(&c, "ID", now));
        assert!(!CaseFilter { overdue: true, ..Default::default() }.matches(&c, "ID", now));
        assert!(CaseFilter { overdue: true, ..Default::default() }.matches(&c, "ID", T0 + 49 * HOUR));
        c.tlp = Tlp::Amber;
        assert!(!CaseFilter { max_tlp: Some(Tlp::Green), ..Default::default() }.matches(&c, "ID", now));
        assert!(CaseFilter { max_tlp: Some(Tlp::Amber), ..Default::default() }.matches(&c, "ID", now));
    }

    #[test]
    fn due_times_resolve_within_bounds() {
        assert_eq!(Due::Default.resolve(T0, 72 * HOUR), Ok(T0 + 72 * HOUR));
        assert_eq!(Due::In(48 * HOUR).resolve(T0, 0), Ok(T0 + 48 * HOUR));
        assert_eq!(Due::At(T0 - HOUR).resolve(T0, 0), Ok(T0 - HOUR), "a past due time expires at once");
        assert_eq!(Due::In(-1).resolve(T0, 0).unwrap_err().field, "due");
        assert_eq!(Due::In(MAX_DUE_MS + 1).resolve(T0, 0).unwrap_err().field, "due");
        assert_eq!(Due::At(0).resolve(T0, 0).unwrap_err().field, "due");
        assert_eq!(Due::At(T0 + MAX_DUE_MS + 1).resolve(T0, 0).unwrap_err().field, "due", "at most a year ahead");
        assert_eq!(Outcome::Actioned("  ".into()).checked().unwrap_err().field, "action_taken");
        assert_eq!(Outcome::Refused(String::new()).checked().unwrap_err().field, "reason");
        assert_eq!(Outcome::Refused(" no ".into()).checked(), Ok(Outcome::Refused("no".into())));
    }

    #[test]
    fn durations_use_nearest_rank() {
        assert_eq!(Durations::of(vec![]), Durations::default());
        let d = Durations::of(vec![50, 10, 40, 20, 30, -5]);
        assert_eq!(d.count, 6);
        assert_eq!(d.median_ms, Some(20), "rank ceil(6 * 0.5) = 3 of [0, 10, 20, 30, 40, 50]");
        assert_eq!(d.p90_ms, Some(50), "rank ceil(6 * 0.9) = 6");
        assert_eq!(d.mean_ms, Some(25));
        assert_eq!(d.max_ms, Some(50));
        assert_eq!(Durations::of(vec![7]).median_ms, Some(7));
    }

    #[test]
    fn service_levels_per_platform_and_country_over_windows() {
        let now = T0 + 100 * DAY_MS;
        let at = |days_ago: i64| now - days_ago * DAY_MS;
        let case = |reporter: &str, seq: u64, platform: &str, requested: i64| {
            let mut e = ev(reporter, seq, FeedbackType::TakedownRequested, seq, requested);
            e.platform = Some(platform.into());
            Case::open(&e).unwrap()
        };
        // ID asked meta 2 days ago: acknowledged after 1 h, actioned after 30 h.
        let mut a = case("ID", 1, "meta", at(2));
        a.apply(&ev("ID", 2, FeedbackType::Acknowledged, 1, at(2) + HOUR)).unwrap();
        a.apply(&ev("ID", 3, FeedbackType::Actioned, 1, at(2) + 30 * HOUR)).unwrap();
        // VN asked meta 20 days ago: refused after 10 h, never acknowledged.
        let mut b = case("VN", 1, "meta", at(20));
        b.apply(&ev("VN", 2, FeedbackType::NoAction, 1, at(20) + 10 * HOUR)).unwrap();
        // ID asked tiktok 60 days ago: expired, then actioned late after 100 h.
        let mut c = case("ID", 4, "tiktok", at(60));
        c.apply(&ev("ID", 5, FeedbackType::Expired, 4, at(60) + 48 * HOUR)).unwrap();
        c.apply(&ev("ID", 6, FeedbackType::Actioned, 4, at(60) + 100 * HOUR)).unwrap();
        // ID asked tiktok 95 days ago: outside every window.
        let d = case("ID", 7, "tiktok", at(95));
        // ID asked meta 1 day ago: still open.
        let e = case("ID", 8, "meta", at(1));

        let levels = service_levels(&[a, b, c, d, e], now);
        assert_eq!(levels.windows.iter().map(|w| w.days).collect::<Vec<_>>(), [7, 30, 90]);
        let w7 = &levels.windows[0];
        assert_eq!(w7.total.requested, 2);
        assert_eq!(w7.total.open, 1);
        assert_eq!(w7.platforms.len(), 1);
        let meta7 = &w7.platforms[0];
        assert_eq!(meta7.key, "meta");
        assert_eq!(meta7.time_to_acknowledge.median_ms, Some(HOUR));
        assert_eq!(meta7.time_to_outcome.median_ms, Some(30 * HOUR));

        let w30 = &levels.windows[1];
        let meta30 = &w30.platforms[0];
        assert_eq!((meta30.requested, meta30.actioned, meta30.refused, meta30.open), (3, 1, 1, 1));
        assert_eq!(meta30.acknowledged, 1);
        assert_eq!(meta30.time_to_outcome.count, 2);
        assert_eq!(meta30.time_to_outcome.median_ms, Some(10 * HOUR));
        assert_eq!(meta30.time_to_outcome.mean_ms, Some(20 * HOUR));
        let countries: Vec<(&str, u64)> = w30.countries.iter().map(|r| (r.key.as_str(), r.requested)).collect();
        assert_eq!(countries, [("ID", 2), ("VN", 1)]);
        let vn30 = &w30.countries[1];
        assert_eq!(vn30.time_to_acknowledge.count, 0);
        assert_eq!(vn30.time_to_outcome.median_ms, Some(10 * HOUR));

        let w90 = &levels.windows[2];
        assert_eq!(w90.total.requested, 4, "the 95-day-old case is outside");
        let tiktok = w90.platforms.iter().find(|r| r.key == "tiktok").unwrap();
        assert_eq!((tiktok.requested, tiktok.actioned, tiktok.late), (1, 1, 1));
        assert_eq!(tiktok.time_to_outcome.median_ms, Some(100 * HOUR));
    }
}
