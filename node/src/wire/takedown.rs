//! Takedown cases, their service levels and the requests about them, to and
//! from the admin API's messages.

use jaring_proto::pb;

use super::{FromPb, ToPb, WireEnum, WireError};
use crate::model::{Distribution, Kind, Tlp};
use crate::takedown::{
    Case, CaseEvent, CaseId, CaseState, Due, Durations, LevelRow, LevelWindow, NewTakedown, Outcome, ServiceLevels,
};

fn text(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

fn ms(v: i64) -> Option<i64> {
    (v != 0).then_some(v)
}

/// A case id from the wire.
///
/// # Errors
///
/// [`WireError::Invalid`] for `id`.
pub fn case_id(s: &str) -> Result<CaseId, WireError> {
    s.parse::<CaseId>().map_err(|e| WireError::Invalid { field: "id", reason: e.reason })
}

/// A paging cursor (empty: from the start).
///
/// # Errors
///
/// [`WireError::Invalid`] for `after`.
pub fn cursor(s: &str) -> Result<Option<CaseId>, WireError> {
    if s.is_empty() {
        return Ok(None);
    }
    s.parse::<CaseId>().map(Some).map_err(|e| WireError::Invalid { field: "after", reason: e.reason })
}

/// Case states from the wire.
///
/// # Errors
///
/// Unknown or unspecified states.
pub fn states(v: &[i32]) -> Result<Vec<CaseState>, WireError> {
    v.iter().map(|&s| CaseState::require_wire(s)).collect()
}

impl ToPb for CaseEvent {
    type Pb = pb::TakedownEvent;
    fn to_pb(&self) -> pb::TakedownEvent {
        pb::TakedownEvent {
            state: self.state.to_wire(),
            origin_seq: self.origin_seq,
            local_seq: self.local_seq,
            at_ms: self.at_ms,
            created_at_ms: self.created_at_ms,
            action_taken: self.action_taken.clone().unwrap_or_default(),
            reason: self.reason.clone().unwrap_or_default(),
            note: self.note.clone().unwrap_or_default(),
        }
    }
}

impl FromPb<pb::TakedownEvent> for CaseEvent {
    fn from_pb(e: pb::TakedownEvent) -> Result<CaseEvent, WireError> {
        Ok(CaseEvent {
            state: CaseState::require_wire(e.state)?,
            origin_seq: e.origin_seq,
            local_seq: e.local_seq,
            at_ms: e.at_ms,
            created_at_ms: e.created_at_ms,
            action_taken: text(e.action_taken),
            reason: text(e.reason),
            note: text(e.note),
        })
    }
}

/// A case as the admin API carries it, with whether it is overdue at `now`.
pub fn case_to_pb(c: &Case, now: i64) -> pb::TakedownCase {
    pb::TakedownCase {
        id: c.id.to_string(),
        origin: c.id.origin.clone(),
        platform: c.platform.clone(),
        kind: c.kind.to_wire(),
        value: c.value.clone(),
        plain_value: c.plain_value.clone().unwrap_or_default(),
        tlp: c.tlp.to_wire(),
        distribution: c.distribution.to_wire(),
        indicator_id: c.indicator_id.clone().unwrap_or_default(),
        indicator_origin: c.indicator_origin.clone().unwrap_or_default(),
        state: c.state.to_wire(),
        requested_at_ms: c.requested_at_ms,
        due_at_ms: c.due_at_ms.unwrap_or(0),
        acknowledged_at_ms: c.acknowledged_at_ms.unwrap_or(0),
        outcome_at_ms: c.outcome_at_ms.unwrap_or(0),
        expired_at_ms: c.expired_at_ms.unwrap_or(0),
        withdrawn_at_ms: c.withdrawn_at_ms.unwrap_or(0),
        action_taken: c.action_taken.clone().unwrap_or_default(),
        reason: c.reason.clone().unwrap_or_default(),
        note: c.note.clone().unwrap_or_default(),
        events: c.events.iter().map(ToPb::to_pb).collect(),
        overdue: c.is_overdue(now),
    }
}

impl FromPb<pb::TakedownCase> for Case {
    fn from_pb(c: pb::TakedownCase) -> Result<Case, WireError> {
        Ok(Case {
            id: case_id(&c.id)?,
            platform: c.platform,
            kind: Kind::require_wire(c.kind)?,
            value: c.value,
            plain_value: text(c.plain_value),
            tlp: Tlp::require_wire(c.tlp)?,
            distribution: Distribution::require_wire(c.distribution)?,
            indicator_id: text(c.indicator_id),
            indicator_origin: text(c.indicator_origin),
            state: CaseState::require_wire(c.state)?,
            requested_at_ms: c.requested_at_ms,
            due_at_ms: ms(c.due_at_ms),
            acknowledged_at_ms: ms(c.acknowledged_at_ms),
            outcome_at_ms: ms(c.outcome_at_ms),
            expired_at_ms: ms(c.expired_at_ms),
            withdrawn_at_ms: ms(c.withdrawn_at_ms),
            action_taken: text(c.action_taken),
            reason: text(c.reason),
            note: text(c.note),
            events: c.events.into_iter().map(CaseEvent::from_pb).collect::<Result<_, _>>()?,
        })
    }
}

impl FromPb<pb::RequestTakedownRequest> for NewTakedown {
    fn from_pb(r: pb::RequestTakedownRequest) -> Result<NewTakedown, WireError> {
        let due = match (r.due_in_ms, r.due_at_ms) {
            (Some(_), at) if at != 0 => {
                return Err(WireError::Invalid {
                    field: "due",
                    reason: "give due_in_ms or due_at_ms, not both".into(),
                });
            }
            (Some(d), _) => Due::In(d),
            (None, 0) => Due::Default,
            (None, at) => Due::At(at),
        };
        Ok(NewTakedown {
            value: r.value,
            kind: Kind::from_wire(r.kind)?,
            platform: r.platform,
            note: text(r.note),
            due,
            tlp: Tlp::from_wire(r.tlp)?,
            also: r.also,
            // The admin API's caller is the node's admin.
            ceiling: None,
        })
    }
}

impl ToPb for NewTakedown {
    type Pb = pb::RequestTakedownRequest;
    fn to_pb(&self) -> pb::RequestTakedownRequest {
        let (due_in_ms, due_at_ms) = match self.due {
            Due::Default => (None, 0),
            Due::In(d) => (Some(d), 0),
            Due::At(t) => (None, t),
        };
        pb::RequestTakedownRequest {
            value: self.value.clone(),
            kind: self.kind.map_or(0, WireEnum::to_wire),
            platform: self.platform.clone(),
            note: self.note.clone().unwrap_or_default(),
            due_in_ms,
            due_at_ms,
            tlp: self.tlp.map_or(0, WireEnum::to_wire),
            also: self.also,
        }
    }
}

/// The outcome of a `TakedownOutcome` request.
///
/// # Errors
///
/// [`WireError::Missing`] without one.
pub fn outcome_from_pb(o: Option<pb::takedown_outcome_request::Outcome>) -> Result<Outcome, WireError> {
    match o.ok_or(WireError::Missing("outcome"))? {
        pb::takedown_outcome_request::Outcome::Actioned(a) => Ok(Outcome::Actioned(a)),
        pb::takedown_outcome_request::Outcome::Refused(r) => Ok(Outcome::Refused(r)),
    }
}

/// The wire form of an outcome.
pub fn outcome_to_pb(o: &Outcome) -> pb::takedown_outcome_request::Outcome {
    match o {
        Outcome::Actioned(a) => pb::takedown_outcome_request::Outcome::Actioned(a.clone()),
        Outcome::Refused(r) => pb::takedown_outcome_request::Outcome::Refused(r.clone()),
    }
}

impl ToPb for Durations {
    type Pb = pb::TakedownDurations;
    fn to_pb(&self) -> pb::TakedownDurations {
        pb::TakedownDurations {
            count: self.count,
            median_ms: self.median_ms.unwrap_or(0),
            p90_ms: self.p90_ms.unwrap_or(0),
            mean_ms: self.mean_ms.unwrap_or(0),
            max_ms: self.max_ms.unwrap_or(0),
        }
    }
}

impl FromPb<pb::TakedownDurations> for Durations {
    fn from_pb(d: pb::TakedownDurations) -> Result<Durations, WireError> {
        let some = |v: i64| (d.count > 0).then_some(v);
        Ok(Durations {
            count: d.count,
            median_ms: some(d.median_ms),
            p90_ms: some(d.p90_ms),
            mean_ms: some(d.mean_ms),
            max_ms: some(d.max_ms),
        })
    }
}

impl ToPb for LevelRow {
    type Pb = pb::TakedownLevel;
    fn to_pb(&self) -> pb::TakedownLevel {
        let r = self;
        pb::TakedownLevel {
            key: r.key.clone(),
            requested: r.requested,
            open: r.open,
            acknowledged: r.acknowledged,
            actioned: r.actioned,
            refused: r.refused,
            expired: r.expired,
            withdrawn: r.withdrawn,
            late: r.late,
            time_to_acknowledge: Some(r.time_to_acknowledge.to_pb()),
            time_to_outcome: Some(r.time_to_outcome.to_pb()),
        }
    }
}

impl FromPb<pb::TakedownLevel> for LevelRow {
    fn from_pb(r: pb::TakedownLevel) -> Result<LevelRow, WireError> {
        let durations = |d: Option<pb::TakedownDurations>| d.map(Durations::from_pb).transpose();
        Ok(LevelRow {
            key: r.key,
            requested: r.requested,
            open: r.open,
            acknowledged: r.acknowledged,
            actioned: r.actioned,
            refused: r.refused,
            expired: r.expired,
            withdrawn: r.withdrawn,
            late: r.late,
            time_to_acknowledge: durations(r.time_to_acknowledge)?.unwrap_or_default(),
            time_to_outcome: durations(r.time_to_outcome)?.unwrap_or_default(),
        })
    }
}

impl ToPb for ServiceLevels {
    type Pb = pb::TakedownStatsResponse;
    fn to_pb(&self) -> pb::TakedownStatsResponse {
        pb::TakedownStatsResponse {
            at_ms: self.at_ms,
            windows: self
                .windows
                .iter()
                .map(|w| pb::TakedownWindow {
                    days: w.days,
                    since_ms: w.since_ms,
                    total: Some(w.total.to_pb()),
                    platforms: w.platforms.iter().map(ToPb::to_pb).collect(),
                    countries: w.countries.iter().map(ToPb::to_pb).collect(),
                })
                .collect(),
        }
    }
}

impl FromPb<pb::TakedownStatsResponse> for ServiceLevels {
    fn from_pb(s: pb::TakedownStatsResponse) -> Result<ServiceLevels, WireError> {
        let rows = |v: Vec<pb::TakedownLevel>| v.into_iter().map(LevelRow::from_pb).collect::<Result<Vec<_>, _>>();
        let mut windows = Vec::with_capacity(s.windows.len());
        for w in s.windows {
            windows.push(LevelWindow {
                days: w.days,
                since_ms: w.since_ms,
                total: w.total.map(LevelRow::from_pb).transpose()?.unwrap_or_default(),
                platforms: rows(w.platforms)?,
                countries: rows(w.countries)?,
            });
        }
        Ok(ServiceLevels { at_ms: s.at_ms, windows })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::feedback::{FeedbackEvent, FeedbackType};
    use crate::takedown::service_levels;

    fn ev(seq: u64, t: FeedbackType, at: i64) -> FeedbackEvent {
        FeedbackEvent {
            reporter: "ID".into(),
            origin_seq: seq,
            local_seq: seq * 10,
            feedback_type: t,
            kind: Kind::Domain,
            value: "x.example".into(),
            indicator_id: Some("id-1".into()),
            indicator_origin: Some("VN".into()),
            platform: Some("meta".into()),
            action_taken: (t == FeedbackType::Actioned).then(|| "removed".into()),
            reason: None,
            note: (t == FeedbackType::TakedownRequested).then(|| "please".into()),
            referred_to: None,
            observed_at_ms: at,
            created_at_ms: at + 1,
            tlp: Tlp::Amber,
            distribution: Distribution::Direct,
            case_id: Some("ID-1".into()),
            due_at_ms: (t == FeedbackType::TakedownRequested).then_some(at + 1000),
            case_ref: None,
        }
    }

    #[test]
    fn cases_and_levels_round_trip() {
        let mut c = Case::from_events(&[ev(1, FeedbackType::TakedownRequested, 100)]).pop().unwrap();
        c.apply(&ev(2, FeedbackType::Acknowledged, 200)).unwrap();
        c.apply(&ev(3, FeedbackType::Actioned, 700)).unwrap();
        c.plain_value = Some("plain".into());
        let p = case_to_pb(&c, 10_000);
        assert!(!p.overdue);
        assert_eq!(Case::from_pb(p).unwrap(), c);
        let levels = service_levels(&[c], 1_000);
        assert_eq!(ServiceLevels::from_pb(levels.to_pb()).unwrap(), levels);
    }

    #[test]
    fn requests_carry_their_due_time() {
        for due in [Due::Default, Due::In(0), Due::In(5_000), Due::At(1_700_000_000_000)] {
            let t = NewTakedown { value: "v".into(), platform: "meta".into(), due, ..Default::default() };
            assert_eq!(NewTakedown::from_pb(t.to_pb()).unwrap().due, due);
        }
        let both = pb::RequestTakedownRequest { due_in_ms: Some(1), due_at_ms: 5, ..Default::default() };
        assert!(matches!(NewTakedown::from_pb(both), Err(WireError::Invalid { field: "due", .. })));
        assert!(matches!(case_id("nope"), Err(WireError::Invalid { field: "id", .. })));
        assert_eq!(cursor("").unwrap(), None);
        assert!(matches!(outcome_from_pb(None), Err(WireError::Missing("outcome"))));
    }
}
