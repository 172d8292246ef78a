//! Takedown cases and referrals: what the CLI, the admin API and (through
//! the HTTP API) the platforms call.
//!
//! A case is a run of this node's signed feedback events
//! ([`crate::takedown`]); nothing about it is kept outside the log but the
//! ledger's index of each case's events (`Store::case_events`). So every
//! transition federates under the feedback rules, and a peer's lookup shows
//! the case's history.
//!
//! The calls, each with the acting person or platform as a parameter:
//! - the requester's side: [`Node::request_takedown`] (one open case per
//!   value and platform; a second request returns the open one, and an open
//!   case of another node is refused unless asked `also`),
//!   [`Node::withdraw_takedown`], [`Node::takedown_cases`],
//!   [`Node::takedown_case`], [`Node::takedown_stats`],
//!   [`Node::create_referral`];
//! - the platform's side, for `GET /api/v1/takedowns` and its `POST`s:
//!   [`Node::takedown_queue`] (this node's cases addressed to one platform,
//!   at most its TLP ceiling, paged by case id), [`Node::acknowledge_takedown`]
//!   and [`Node::takedown_outcome`], each taking an [`Answerer`] (the
//!   platform and the principal behind the call, both recorded in the
//!   audit log; a platform naming a case addressed to another platform gets
//!   "not found");
//! - the expiry task's: [`Node::next_takedown_due`] and
//!   [`Node::expire_due_takedowns`] (an `expired` event dated at the due
//!   time);
//! - the webhook push: [`Node::takedown_notices`].
//!
//! Transitions of this node's cases are serialized by one lock, so two
//! answers racing for one case cannot both be signed.

use tokio::sync::{broadcast, watch};

use crate::audit::AuditDraft;
use crate::envelope::{Entry, Value};
use crate::feedback::{Feedback, FeedbackEvent, FeedbackType, NewFeedback};
use crate::ledger::Publish;
use crate::model::{Kind, Tlp, UnixMillis, now_ms};
use crate::store::{Batch, LogEntry, StoreError, TableWrites, Tables};
use crate::submission::InputError;
use crate::takedown::{
    self, Case, CaseFilter, CaseId, CaseState, NewTakedown, Outcome, ServiceLevels, TransitionError,
};

use super::feedback::Inherited;
use super::{Conflict, Forbidden, Node, NodeError, NotFound};

/// Audit actor of the expiry task.
pub const EXPIRY_ACTOR: &str = "system:takedown-expiry";

/// How many cases a page holds when the caller does not say.
pub const DEFAULT_PAGE: usize = 100;

/// Largest page.
pub const MAX_PAGE: usize = 1000;

/// What the takedown service keeps beside the store.
#[derive(Debug)]
pub(super) struct TakedownState {
    /// Serializes transitions of this node's cases.
    ops: tokio::sync::Mutex<()>,
    /// Bumped whenever this node's cases change (the expiry task wakes).
    changed: watch::Sender<u64>,
    /// New and withdrawn cases, for the webhook push.
    notices: broadcast::Sender<CaseNotice>,
}

impl TakedownState {
    pub(super) fn new() -> TakedownState {
        TakedownState {
            ops: tokio::sync::Mutex::new(()),
            changed: watch::channel(0).0,
            notices: broadcast::channel(1024).0,
        }
    }
}

/// A change to one of this node's cases that platforms are told of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeKind {
    /// A new case.
    Requested,
    /// The requester withdrew it.
    Withdrawn,
}

impl NoticeKind {
    /// The webhook event name.
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeKind::Requested => "takedown.requested",
            NoticeKind::Withdrawn => "takedown.withdrawn",
        }
    }
}

/// A case platforms are told of, as it stands after the change.
#[derive(Debug, Clone)]
pub struct CaseNotice {
    /// What happened.
    pub kind: NoticeKind,
    /// The case.
    pub case: Case,
}

/// Who answers a case on the platform's side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answerer {
    /// The platform answering, or `None` for an admin answering on behalf
    /// of the case's platform (the admin API).
    pub platform: Option<String>,
    /// The person or token behind the call (the audit log's actor).
    pub principal: String,
}

/// What [`Node::request_takedown`] did.
#[derive(Debug, Clone)]
pub struct Requested {
    /// The case.
    pub case: Case,
    /// `false`: this node already had an open case for the value and
    /// platform, and this is it.
    pub created: bool,
}

/// A page of cases.
#[derive(Debug, Clone, Default)]
pub struct CasePage {
    /// The cases, by id.
    pub cases: Vec<Case>,
    /// Set when more cases may follow: pass it as `after` for the next page.
    pub next: Option<CaseId>,
}

/// Which page of cases.
#[derive(Debug, Clone, Default)]
pub struct Page {
    /// Only cases after this one.
    pub after: Option<CaseId>,
    /// At most this many (0: [`DEFAULT_PAGE`]; at most [`MAX_PAGE`]).
    pub limit: usize,
}

/// A platform's view of its queue.
#[derive(Debug, Clone)]
pub struct QueueQuery {
    /// States to show (empty: the open ones).
    pub states: Vec<CaseState>,
    /// The platform's TLP ceiling: cases marked above it are left out.
    pub max_tlp: Tlp,
    /// Which page.
    pub page: Page,
}

/// A referral to law enforcement.
#[derive(Debug, Clone, Default)]
pub struct NewReferral {
    /// The value, any form.
    pub value: String,
    /// Its kind; `None`: every kind it parses as (the first one held).
    pub kind: Option<Kind>,
    /// The agency.
    pub referred_to: String,
    /// The agency's own case reference.
    pub case_ref: Option<String>,
    /// Notes.
    pub note: Option<String>,
    /// Marking; default the most restrictive among the assertions held.
    pub tlp: Option<Tlp>,
    /// When it was referred; default now.
    pub observed_at_ms: Option<UnixMillis>,
}

fn text(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

impl Node {
    /// Wakes whenever this node's cases change.
    pub fn takedown_changes(&self) -> watch::Receiver<u64> {
        self.takedowns.changed.subscribe()
    }

    /// New and withdrawn cases of this node, as they happen.
    pub fn takedown_notices(&self) -> broadcast::Receiver<CaseNotice> {
        self.takedowns.notices.subscribe()
    }

    fn cases_changed(&self) {
        self.takedowns.changed.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Opens a takedown case about a held value, addressed to a platform:
    /// a signed `takedown_requested` event inheriting the markings of the
    /// assertions held, due at `input.due`. If this node already has an
    /// open case for the value and platform, that one is returned
    /// (`created: false`). If another node's open case for them is held,
    /// the request is refused naming it, unless `input.also`.
    ///
    /// # Errors
    ///
    /// [`NodeError::Input`] (value, platform, note, due);
    /// [`NotFound::HeldValue`]; [`Conflict::TakedownOpenElsewhere`]; store
    /// failures.
    pub async fn request_takedown(&self, input: NewTakedown, actor: &str) -> Result<Requested, NodeError> {
        let platform = takedown::platform_name(&input.platform).map_err(InputError::from)?;
        let note = text(input.note);
        takedown::check_note(note.as_deref()).map_err(InputError::from)?;
        let now = now_ms();
        let due = input.due.resolve(now, self.config.takedown.default_due_ms()).map_err(InputError::from)?;
        super::feedback::marking_within(input.tlp, input.ceiling)?;
        let held = self.find_held(&input.value, input.kind, input.ceiling)?;
        let _guard = self.takedowns.ops.lock().await;
        let mut elsewhere: Option<Case> = None;
        for case in self.cases_about(held.kind, held.value.as_str())? {
            if case.platform != platform || !case.state.is_open() {
                continue;
            }
            if case.id.origin == self.id() {
                return Ok(Requested { case: self.with_plain(case)?, created: false });
            }
            elsewhere.get_or_insert(case);
        }
        if let Some(c) = elsewhere
            && !input.also
        {
            return Err(Conflict::TakedownOpenElsewhere {
                id: c.id.to_string(),
                origin: c.id.origin,
                platform,
                requested_at_ms: c.requested_at_ms,
            }
            .into());
        }
        if let (Value::Keyed { digest, .. }, Some(plain)) = (&held.value, &held.plain)
            && self.store.plain_value(held.kind, digest)?.is_none()
        {
            // The platform acts on the plain account number; it never travels.
            let mut batch = Batch::default();
            batch.put_plain_value(held.kind, digest, plain);
            self.ledger.apply(batch, Vec::new()).await?;
        }
        let inherited = Inherited::of(self.id(), &held.assertions);
        let f = Feedback {
            kind: held.kind,
            value: held.value,
            feedback_type: FeedbackType::TakedownRequested,
            indicator_id: inherited.indicator_id,
            indicator_origin: inherited.indicator_origin,
            categories: inherited.categories,
            tlp: input.tlp.unwrap_or(inherited.tlp),
            distribution: inherited.distribution,
            platform: Some(platform.clone()),
            action_taken: None,
            observed_at_ms: now,
            reason: None,
            note,
            referred_to: None,
            case_seq: None,
            due_at_ms: Some(due),
            case_ref: None,
        };
        f.validate().map_err(InputError::from)?;
        let detail = format!(
            "takedown of {} {} asked of {platform}, due at {due} ms (tlp {}){}",
            f.kind,
            f.value.as_str(),
            f.tlp.label(),
            if input.also { "; another node's case is open too" } else { "" },
        );
        let seq = self.publish_case_events(vec![f], vec![AuditDraft::admin(actor, "takedown.request", detail)]).await?;
        let id = CaseId { origin: self.id().to_string(), seq: seq.first().copied().unwrap_or(0) };
        let case = self.takedown_case(&id)?;
        self.cases_changed();
        let _ = self.takedowns.notices.send(CaseNotice { kind: NoticeKind::Requested, case: case.clone() });
        Ok(Requested { case, created: true })
    }

    /// Records that the platform has seen one of this node's cases (a
    /// signed `acknowledged` event, at `at_ms` or now). Acknowledging an
    /// acknowledged case again changes nothing.
    ///
    /// # Errors
    ///
    /// [`NotFound::TakedownCase`] (also for a case addressed to another
    /// platform than `by.platform`); [`Forbidden::NotOwnCase`];
    /// [`Conflict::TakedownState`] for a closed case; [`NodeError::Input`]
    /// for a time before the request; store failures.
    pub async fn acknowledge_takedown(
        &self,
        id: &CaseId,
        by: &Answerer,
        note: Option<String>,
        at_ms: Option<UnixMillis>,
    ) -> Result<Case, NodeError> {
        let change = Change { to: CaseState::Acknowledged, action_taken: None, reason: None, note: text(note) };
        self.answer(id, by, change, at_ms).await
    }

    /// Records the platform's outcome for one of this node's cases: a
    /// signed `actioned` event (what was done) or `no_action` (why not), at
    /// `at_ms` or now. An expired case takes a late outcome; the same
    /// outcome again changes nothing.
    ///
    /// # Errors
    ///
    /// As [`Self::acknowledge_takedown`], and [`NodeError::Input`] for an
    /// empty action or reason.
    pub async fn takedown_outcome(
        &self,
        id: &CaseId,
        by: &Answerer,
        outcome: Outcome,
        note: Option<String>,
        at_ms: Option<UnixMillis>,
    ) -> Result<Case, NodeError> {
        let outcome = outcome.checked().map_err(InputError::from)?;
        let to = outcome.state();
        let (action_taken, reason) = match outcome {
            Outcome::Actioned(a) => (Some(a), None),
            Outcome::Refused(r) => (None, Some(r)),
        };
        self.answer(id, by, Change { to, action_taken, reason, note: text(note) }, at_ms).await
    }

    async fn answer(
        &self,
        id: &CaseId,
        by: &Answerer,
        change: Change,
        at_ms: Option<UnixMillis>,
    ) -> Result<Case, NodeError> {
        let asked = by.platform.as_deref().map(takedown::platform_name).transpose();
        // A platform naming a case it may not see learns nothing about it.
        let asked = asked.map_err(|_| NotFound::TakedownCase(id.to_string()))?;
        let _guard = self.takedowns.ops.lock().await;
        let case = self.own_case(id)?;
        if asked.as_ref().is_some_and(|p| *p != case.platform) {
            return Err(NotFound::TakedownCase(id.to_string()).into());
        }
        let retried = case.state == change.to
            && match change.to {
                CaseState::Acknowledged => true,
                CaseState::Actioned => case.action_taken == change.action_taken,
                CaseState::Refused => case.reason == change.reason,
                _ => false,
            };
        if retried {
            // A retried answer.
            return Ok(case);
        }
        let at = at_ms.unwrap_or_else(now_ms);
        if at < case.requested_at_ms {
            return Err(InputError::new("at_ms", "is before the request").into());
        }
        let who = match &by.platform {
            Some(p) => format!("platform {p}, principal {}", by.principal),
            None => format!("{} for platform {}", by.principal, case.platform),
        };
        let action = match change.to {
            CaseState::Acknowledged => "takedown.acknowledge",
            _ => "takedown.outcome",
        };
        let detail = format!("case {id} {} at {at} ms by {who}", change.to);
        let audit = AuditDraft::admin(&by.principal, action, detail);
        self.transition(&case, change, at, audit).await
    }

    /// Withdraws one of this node's open cases (a signed `withdrawn`
    /// event).
    ///
    /// # Errors
    ///
    /// [`NotFound::TakedownCase`]; [`Forbidden::NotOwnCase`];
    /// [`Conflict::TakedownState`] for a closed case; store failures.
    pub async fn withdraw_takedown(&self, id: &CaseId, reason: Option<String>, actor: &str) -> Result<Case, NodeError> {
        let _guard = self.takedowns.ops.lock().await;
        let case = self.own_case(id)?;
        let at = now_ms().max(case.requested_at_ms);
        let detail = format!("case {id} on {} withdrawn", case.platform);
        let audit = AuditDraft::admin(actor, "takedown.withdraw", detail);
        let change = Change { to: CaseState::Withdrawn, action_taken: None, reason: text(reason), note: None };
        let case = self.transition(&case, change, at, audit).await?;
        let _ = self.takedowns.notices.send(CaseNotice { kind: NoticeKind::Withdrawn, case: case.clone() });
        Ok(case)
    }

    /// One of this node's cases, for a transition.
    fn own_case(&self, id: &CaseId) -> Result<Case, NodeError> {
        if id.origin != self.id() {
            // Held or not, its answers are signed by its requester.
            return Err(Forbidden::NotOwnCase { id: id.to_string(), origin: id.origin.clone() }.into());
        }
        self.takedown_case(id)
    }

    /// Signs and publishes the event moving `case` to `change.to`, dated
    /// `at`; the caller holds the lock.
    async fn transition(
        &self,
        case: &Case,
        change: Change,
        at: UnixMillis,
        audit: AuditDraft,
    ) -> Result<Case, NodeError> {
        case.state.next(change.to.event_type()).map_err(|TransitionError { from, .. }| Conflict::TakedownState {
            id: case.id.to_string(),
            state: from,
            wanted: change.to,
        })?;
        let f = self.case_event(case, change, at)?;
        self.publish_case_events(vec![f], vec![audit]).await?;
        self.cases_changed();
        self.takedown_case(&case.id)
    }

    /// The feedback event of a transition: kind, value and markings copied
    /// from the request, so every event of a case travels like it.
    fn case_event(&self, case: &Case, change: Change, at: UnixMillis) -> Result<Feedback, NodeError> {
        let seq = case.request_local_seq();
        let request = match self.store.log_entry(seq)? {
            Some(LogEntry { body, .. }) => match body.entry {
                Entry::Feedback(f) => *f,
                _ => {
                    return Err(
                        StoreError::corrupt_log(format!("case {} points at {seq}, not feedback", case.id)).into()
                    );
                }
            },
            None => {
                return Err(StoreError::corrupt_log(format!("case {} points at {seq}, not in the log", case.id)).into());
            }
        };
        let f = Feedback {
            feedback_type: change.to.event_type(),
            platform: Some(case.platform.clone()),
            action_taken: change.action_taken,
            observed_at_ms: at,
            reason: change.reason,
            note: change.note,
            referred_to: None,
            case_seq: Some(case.id.seq),
            due_at_ms: None,
            case_ref: None,
            ..request
        };
        f.validate().map_err(InputError::from)?;
        Ok(f)
    }

    /// Publishes case events with their audit entries; their origin_seqs.
    async fn publish_case_events(&self, events: Vec<Feedback>, audit: Vec<AuditDraft>) -> Result<Vec<u64>, NodeError> {
        let n = events.len();
        let results = self.ledger.publish(events.into_iter().map(Publish::Feedback).collect(), audit).await?;
        if results.len() != n {
            return Err(NodeError::missing_result("takedown events"));
        }
        let mut seqs = Vec::with_capacity(n);
        for r in results {
            seqs.push(r?.envelope.body.origin_seq);
        }
        Ok(seqs)
    }

    /// One held case (this node's or a peer's) with its history.
    ///
    /// # Errors
    ///
    /// [`NotFound::TakedownCase`]; store failures.
    pub fn takedown_case(&self, id: &CaseId) -> Result<Case, NodeError> {
        let positions = self.store.case_positions(&id.origin, id.seq)?;
        match self.case_at(&id.origin, id.seq, &positions)? {
            Some(c) => Ok(self.with_plain(c)?),
            None => Err(NotFound::TakedownCase(id.to_string()).into()),
        }
    }

    /// Held cases passing `filter`, by id, one page at a time.
    ///
    /// # Errors
    ///
    /// Store failures.
    pub fn takedown_cases(&self, filter: &CaseFilter, page: &Page) -> Result<CasePage, StoreError> {
        let limit = if page.limit == 0 { DEFAULT_PAGE } else { page.limit.min(MAX_PAGE) };
        let origin = filter.own_only.then(|| self.id());
        let after = page.after.as_ref().map(|a| (a.origin.as_str(), a.seq));
        let now = now_ms();
        let mut out = CasePage::default();
        for group in self.store.case_events(origin, after) {
            let (o, seq, positions) = group?;
            let Some(case) = self.case_at(&o, seq, &positions)? else { continue };
            if !filter.matches(&case, self.id(), now) {
                continue;
            }
            if out.cases.len() == limit {
                out.next = out.cases.last().map(|c| c.id.clone());
                break;
            }
            out.cases.push(self.with_plain(case)?);
        }
        Ok(out)
    }

    /// One platform's queue: this node's cases addressed to it, in the
    /// states asked (default: the open ones), none marked above its TLP
    /// ceiling, by id. What `GET /api/v1/takedowns` serves a platform
    /// token.
    ///
    /// # Errors
    ///
    /// [`NodeError::Input`] for a bad platform name; store failures.
    pub fn takedown_queue(&self, platform: &str, principal: &str, query: &QueueQuery) -> Result<CasePage, NodeError> {
        let platform = takedown::platform_name(platform).map_err(InputError::from)?;
        tracing::debug!(%platform, %principal, "takedown queue read");
        let states = if query.states.is_empty() {
            vec![CaseState::Requested, CaseState::Acknowledged]
        } else {
            query.states.clone()
        };
        let filter = CaseFilter {
            own_only: true,
            platform: Some(platform),
            states,
            overdue: false,
            max_tlp: Some(query.max_tlp),
        };
        Ok(self.takedown_cases(&filter, &query.page)?)
    }

    /// Time to acknowledge and to outcome of every held case (this node's
    /// and its peers'), per platform and per requesting node, over 7, 30
    /// and 90 days at `now`.
    ///
    /// # Errors
    ///
    /// Store failures.
    pub fn takedown_stats(&self, now: UnixMillis) -> Result<ServiceLevels, StoreError> {
        Ok(takedown::service_levels(&self.all_cases(None)?, now))
    }

    /// Every held case, of `origin` or of every origin.
    ///
    /// # Errors
    ///
    /// Store failures.
    pub fn all_cases(&self, origin: Option<&str>) -> Result<Vec<Case>, StoreError> {
        let mut out = Vec::new();
        for group in self.store.case_events(origin, None) {
            let (o, seq, positions) = group?;
            if let Some(case) = self.case_at(&o, seq, &positions)? {
                out.push(case);
            }
        }
        Ok(out)
    }

    /// The earliest due time of this node's open cases.
    ///
    /// # Errors
    ///
    /// Store failures.
    pub fn next_takedown_due(&self) -> Result<Option<UnixMillis>, StoreError> {
        Ok(self.all_cases(Some(self.id()))?.iter().filter(|c| c.state.is_open()).filter_map(|c| c.due_at_ms).min())
    }

    /// Expires this node's open cases due at or before `now`: one signed
    /// `expired` event each, dated at its due time. Returns them expired.
    ///
    /// # Errors
    ///
    /// Store failures.
    pub async fn expire_due_takedowns(&self, now: UnixMillis) -> Result<Vec<Case>, NodeError> {
        let _guard = self.takedowns.ops.lock().await;
        let due: Vec<Case> = self
            .all_cases(Some(self.id()))?
            .into_iter()
            .filter(|c| c.state.is_open() && c.due_at_ms.is_some_and(|d| d <= now))
            .collect();
        if due.is_empty() {
            return Ok(Vec::new());
        }
        let mut events = Vec::with_capacity(due.len());
        let mut audit = Vec::with_capacity(due.len());
        for c in &due {
            let at = c.due_at_ms.unwrap_or(now).max(c.requested_at_ms);
            let change = Change { to: CaseState::Expired, action_taken: None, reason: None, note: None };
            events.push(self.case_event(c, change, at)?);
            let detail = format!("case {} on {} expired: no outcome by {at} ms", c.id, c.platform);
            audit.push(AuditDraft::admin(EXPIRY_ACTOR, "takedown.expire", detail));
        }
        self.publish_case_events(events, audit).await?;
        self.cases_changed();
        let mut out = Vec::with_capacity(due.len());
        for c in due {
            out.push(self.takedown_case(&c.id)?);
        }
        Ok(out)
    }

    /// Records a referral of a held value to law enforcement: a signed
    /// `referred` event naming the agency and its case reference.
    ///
    /// # Errors
    ///
    /// [`NodeError::Input`] without an agency or with a bad value;
    /// [`NotFound::HeldValue`]; store failures.
    pub async fn create_referral(&self, input: NewReferral, actor: &str) -> Result<FeedbackEvent, NodeError> {
        let Some(to) = text(Some(input.referred_to)) else {
            return Err(InputError::new("referred_to", "is required: the agency referred to").into());
        };
        let feedback = NewFeedback {
            value: input.value,
            kind: input.kind,
            feedback_type: FeedbackType::Referred,
            platform: None,
            action_taken: None,
            reason: None,
            note: input.note,
            referred_to: Some(to),
            case_ref: input.case_ref,
            observed_at_ms: input.observed_at_ms,
            tlp: input.tlp,
            // Referrals are the admin's (the admin API).
            ceiling: None,
        };
        self.add_feedback(feedback, actor).await
    }

    /// Every case held about a (kind, value as carried).
    fn cases_about(&self, kind: Kind, value: &str) -> Result<Vec<Case>, StoreError> {
        Ok(Case::from_events(&self.feedback_events(kind, value)?))
    }

    /// The case (origin, seq) folded from the events at `positions`.
    fn case_at(&self, origin: &str, seq: u64, positions: &[u64]) -> Result<Option<Case>, StoreError> {
        let mut events = Vec::with_capacity(positions.len());
        for &p in positions {
            if let Some(LogEntry { body, .. }) = self.store.log_entry(p)?
                && let Entry::Feedback(f) = &body.entry
            {
                events.push(FeedbackEvent::new(&body.origin, body.origin_seq, p, body.created_at_ms, f));
            }
        }
        Ok(Case::from_events(&events).into_iter().find(|c| c.id.origin == origin && c.id.seq == seq))
    }

    /// Fills in the plain value of a personal-data case this node holds.
    fn with_plain(&self, mut case: Case) -> Result<Case, StoreError> {
        if case.kind.is_personal(self.privacy.hash_phone()) {
            case.plain_value = self.store.plain_value(case.kind, &case.value)?;
        }
        Ok(case)
    }
}

/// A transition to sign.
#[derive(Debug)]
struct Change {
    to: CaseState,
    action_taken: Option<String>,
    reason: Option<String>,
    note: Option<String>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::init::{InitOptions, init};
    use crate::submission::NewIndicator;
    use crate::takedown::Due;

    const HOUR: i64 = 3_600_000;

    struct Fixture {
        _tmp: tempfile::TempDir,
        node: Arc<Node>,
    }

    fn node(id: &str) -> Fixture {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("n");
        init(&InitOptions { region: Some("ID".into()), ..InitOptions::loopback(id, dir.clone()) }).unwrap();
        let config = crate::config::Config::load(&dir.join("node.toml")).unwrap();
        let (node, _ledger) = Node::open(config).unwrap();
        Fixture { _tmp: tmp, node }
    }

    async fn add(node: &Node, kind: Kind, value: &str, tlp: Tlp) {
        let input = NewIndicator {
            kind: Some(kind),
            value: value.into(),
            categories: vec![crate::model::Category::JobScam],
            confidence: 80,
            tlp: Some(tlp),
            ..NewIndicator::default()
        };
        node.submit(vec![input], "analyst").await.unwrap().pop().unwrap().unwrap();
    }

    fn ask(value: &str, platform: &str) -> NewTakedown {
        NewTakedown { value: value.into(), platform: platform.into(), due: Due::In(48 * HOUR), ..Default::default() }
    }

    fn admin() -> Answerer {
        Answerer { platform: None, principal: "admin:siti".into() }
    }

    fn meta() -> Answerer {
        Answerer { platform: Some("meta".into()), principal: "meta-trust-team".into() }
    }

    #[tokio::test]
    async fn one_open_case_per_value_and_platform() {
        let f = node("ID");
        add(&f.node, Kind::Domain, "loker-meta.co.id", Tlp::Green).await;
        let first = f.node.request_takedown(ask("LOKER-META.co.id", "Meta"), "admin:siti").await.unwrap();
        assert!(first.created);
        assert_eq!(first.case.platform, "meta");
        assert_eq!(first.case.state, CaseState::Requested);
        assert_eq!(first.case.id.origin, "ID");
        assert_eq!(first.case.due_at_ms, Some(first.case.requested_at_ms + 48 * HOUR));
        assert_eq!(first.case.tlp, Tlp::Green, "inherited from the indicator");

        let again = f.node.request_takedown(ask("loker-meta.co.id", "meta"), "admin:siti").await.unwrap();
        assert!(!again.created, "the open case is returned");
        assert_eq!(again.case.id, first.case.id);
        let other = f.node.request_takedown(ask("loker-meta.co.id", "tiktok"), "admin:siti").await.unwrap();
        assert!(other.created && other.case.id != first.case.id, "another platform gets its own case");

        // Once closed, a new request opens a new case.
        f.node.withdraw_takedown(&first.case.id, Some("asked by mistake".into()), "admin:siti").await.unwrap();
        let third = f.node.request_takedown(ask("loker-meta.co.id", "meta"), "admin:siti").await.unwrap();
        assert!(third.created && third.case.id != first.case.id);

        let err = f.node.request_takedown(ask("never-reported.co.id", "meta"), "a").await.unwrap_err();
        assert!(matches!(err, NodeError::NotFound(NotFound::HeldValue(_))), "{err}");
        let err = f.node.request_takedown(ask("loker-meta.co.id", "me ta"), "a").await.unwrap_err();
        assert!(matches!(&err, NodeError::Input(e) if e.field == "platform"), "{err}");
        let mut bad_due = ask("loker-meta.co.id", "google");
        bad_due.due = Due::In(-5);
        let err = f.node.request_takedown(bad_due, "a").await.unwrap_err();
        assert!(matches!(&err, NodeError::Input(e) if e.field == "due"), "{err}");
    }

    #[tokio::test]
    async fn a_requester_cannot_open_a_case_above_its_own_ceiling() {
        let f = node("ID");
        add(&f.node, Kind::Domain, "amber-only.co.id", Tlp::Amber).await;
        let capped = |value: &str, ceiling: Tlp, tlp: Option<Tlp>| NewTakedown {
            ceiling: Some(ceiling),
            tlp,
            ..ask(value, "meta")
        };
        // Held only above the ceiling: not found for this requester, as a
        // lookup would answer it.
        let err = f.node.request_takedown(capped("amber-only.co.id", Tlp::Green, None), "a").await.unwrap_err();
        assert!(matches!(err, NodeError::NotFound(NotFound::HeldValue(_))), "{err}");
        // Marked above the ceiling: refused, naming the field.
        let err =
            f.node.request_takedown(capped("amber-only.co.id", Tlp::Amber, Some(Tlp::Red)), "a").await.unwrap_err();
        assert!(matches!(&err, NodeError::Input(e) if e.field == "tlp"), "{err}");
        assert_eq!(
            f.node.takedown_cases(&CaseFilter::default(), &Page::default()).unwrap().cases.len(),
            0,
            "nothing was opened"
        );
        // Within it: the case inherits the marking and its requester sees it.
        let case = f.node.request_takedown(capped("amber-only.co.id", Tlp::Amber, None), "a").await.unwrap().case;
        assert_eq!(case.tlp, Tlp::Amber);
        let seen = CaseFilter { max_tlp: Some(Tlp::Amber), ..CaseFilter::default() };
        assert_eq!(f.node.takedown_cases(&seen, &Page::default()).unwrap().cases.len(), 1);
        // The admin (no ceiling) may still mark above any token's.
        let admin = NewTakedown { tlp: Some(Tlp::Red), ..ask("amber-only.co.id", "tiktok") };
        assert_eq!(f.node.request_takedown(admin, "admin:siti").await.unwrap().case.tlp, Tlp::Red);
    }

    #[tokio::test]
    async fn a_value_of_two_kinds_is_found_as_the_kind_its_requester_may_see() {
        let f = node("ID");
        // Untyped, the value parses as a domain first, then as a URL; the
        // domain is held only above the requester's ceiling.
        add(&f.node, Kind::Domain, "dua-jenis.co.id", Tlp::Amber).await;
        add(&f.node, Kind::Url, "dua-jenis.co.id", Tlp::Green).await;
        let green = NewTakedown { ceiling: Some(Tlp::Green), ..ask("dua-jenis.co.id", "meta") };
        let case = f.node.request_takedown(green, "a").await.unwrap().case;
        assert_eq!((case.kind, case.tlp), (Kind::Url, Tlp::Green));
        // The admin sees both and gets the first kind.
        let case = f.node.request_takedown(ask("dua-jenis.co.id", "tiktok"), "admin:siti").await.unwrap().case;
        assert_eq!((case.kind, case.tlp), (Kind::Domain, Tlp::Amber));
    }

    #[tokio::test]
    async fn answers_move_the_case_and_refuse_what_does_not_fit() {
        let f = node("ID");
        add(&f.node, Kind::Domain, "loker-meta.co.id", Tlp::Green).await;
        let case = f.node.request_takedown(ask("loker-meta.co.id", "meta"), "admin:siti").await.unwrap().case;
        let t0 = case.requested_at_ms;

        // TikTok cannot see, let alone answer, Meta's case.
        let tiktok = Answerer { platform: Some("tiktok".into()), principal: "tt".into() };
        let err = f.node.acknowledge_takedown(&case.id, &tiktok, None, None).await.unwrap_err();
        assert!(matches!(&err, NodeError::NotFound(NotFound::TakedownCase(id)) if *id == case.id.to_string()), "{err}");

        let acked = f.node.acknowledge_takedown(&case.id, &meta(), None, Some(t0 + HOUR)).await.unwrap();
        assert_eq!(acked.state, CaseState::Acknowledged);
        assert_eq!(acked.acknowledged_at_ms, Some(t0 + HOUR));
        let again = f.node.acknowledge_takedown(&case.id, &meta(), None, None).await.unwrap();
        assert_eq!(again.events.len(), 2, "a retried acknowledgement signs nothing");

        let err =
            f.node.takedown_outcome(&case.id, &meta(), Outcome::Refused(" ".into()), None, None).await.unwrap_err();
        assert!(matches!(&err, NodeError::Input(e) if e.field == "reason"), "{err}");
        let err = f
            .node
            .takedown_outcome(&case.id, &admin(), Outcome::Actioned("x".into()), None, Some(t0 - 1))
            .await
            .unwrap_err();
        assert!(matches!(&err, NodeError::Input(e) if e.field == "at_ms"), "{err}");

        let done = f
            .node
            .takedown_outcome(&case.id, &admin(), Outcome::Actioned("page removed".into()), None, Some(t0 + 30 * HOUR))
            .await
            .unwrap();
        assert_eq!(done.state, CaseState::Actioned);
        assert_eq!(done.outcome_at_ms, Some(t0 + 30 * HOUR));
        assert_eq!(done.action_taken.as_deref(), Some("page removed"));
        let states: Vec<CaseState> = done.events.iter().map(|e| e.state).collect();
        assert_eq!(states, [CaseState::Requested, CaseState::Acknowledged, CaseState::Actioned]);

        // Closed: no refusal, acknowledgement or withdrawal after it.
        let err =
            f.node.takedown_outcome(&case.id, &meta(), Outcome::Refused("no".into()), None, None).await.unwrap_err();
        assert!(
            matches!(
                &err,
                NodeError::Conflict(Conflict::TakedownState {
                    state: CaseState::Actioned,
                    wanted: CaseState::Refused,
                    ..
                })
            ),
            "{err}"
        );
        let err = f.node.withdraw_takedown(&case.id, None, "admin").await.unwrap_err();
        assert!(matches!(&err, NodeError::Conflict(Conflict::TakedownState { wanted: CaseState::Withdrawn, .. })));
        // A peer's case (or an unknown one) is not answered here.
        let vn = CaseId { origin: "VN".into(), seq: 3 };
        let err = f.node.acknowledge_takedown(&vn, &meta(), None, None).await.unwrap_err();
        assert!(matches!(&err, NodeError::Forbidden(Forbidden::NotOwnCase { origin, .. }) if origin == "VN"), "{err}");
        let missing = CaseId { origin: "ID".into(), seq: 999 };
        assert!(matches!(f.node.takedown_case(&missing), Err(NodeError::NotFound(NotFound::TakedownCase(_)))));

        // Every transition is a signed feedback event in the log, audited
        // with the platform and the principal.
        let events = f.node.feedback_events(Kind::Domain, "loker-meta.co.id").unwrap();
        let types: Vec<FeedbackType> = events.iter().map(|e| e.feedback_type).collect();
        assert_eq!(types, [FeedbackType::TakedownRequested, FeedbackType::Acknowledged, FeedbackType::Actioned]);
        assert!(events.iter().all(|e| e.case_id.as_deref() == Some(case.id.to_string().as_str())));
        let audit = crate::store::audit::list(f.node.store(), &crate::store::audit::AuditFilter::default()).unwrap();
        let ack = audit.iter().find(|e| e.draft.action == "takedown.acknowledge").unwrap();
        assert_eq!(ack.draft.actor, "meta-trust-team");
        assert!(ack.draft.detail.contains("platform meta, principal meta-trust-team"), "{}", ack.draft.detail);
        let outcome = audit.iter().find(|e| e.draft.action == "takedown.outcome").unwrap();
        assert!(outcome.draft.detail.contains("admin:siti for platform meta"), "{}", outcome.draft.detail);
    }

    #[tokio::test]
    async fn the_queue_shows_one_platform_its_cases_within_its_tlp_ceiling_page_by_page() {
        let f = node("ID");
        let mut ids = Vec::new();
        for i in 0..5 {
            let v = format!("loker-{i}.co.id");
            let tlp = if i == 2 { Tlp::Amber } else { Tlp::Green };
            add(&f.node, Kind::Domain, &v, tlp).await;
            ids.push(f.node.request_takedown(ask(&v, "meta"), "a").await.unwrap().case.id);
        }
        add(&f.node, Kind::Domain, "tt.co.id", Tlp::Green).await;
        f.node.request_takedown(ask("tt.co.id", "tiktok"), "a").await.unwrap();
        f.node.acknowledge_takedown(&ids[4], &meta(), None, None).await.unwrap();
        f.node.takedown_outcome(&ids[3], &meta(), Outcome::Refused("not ours".into()), None, None).await.unwrap();

        let q =
            |after: Option<CaseId>, limit, max_tlp| QueueQuery { states: vec![], max_tlp, page: Page { after, limit } };
        let page = f.node.takedown_queue("META", "meta-bot", &q(None, 2, Tlp::Green)).unwrap();
        assert_eq!(page.cases.iter().map(|c| c.id.clone()).collect::<Vec<_>>(), [ids[0].clone(), ids[1].clone()]);
        assert_eq!(page.next, Some(ids[1].clone()));
        let page = f.node.takedown_queue("meta", "meta-bot", &q(page.next, 2, Tlp::Green)).unwrap();
        // ids[2] is AMBER (above the ceiling), ids[3] refused (closed).
        assert_eq!(page.cases.iter().map(|c| c.id.clone()).collect::<Vec<_>>(), [ids[4].clone()]);
        assert_eq!(page.next, None);
        let amber = f.node.takedown_queue("meta", "meta-bot", &q(None, 0, Tlp::Amber)).unwrap();
        assert_eq!(amber.cases.len(), 4, "with an AMBER ceiling the AMBER case shows");
        assert!(amber.cases.iter().all(|c| c.platform == "meta"), "never another platform's case");
        let refused = QueueQuery { states: vec![CaseState::Refused], ..q(None, 0, Tlp::Amber) };
        assert_eq!(f.node.takedown_queue("meta", "m", &refused).unwrap().cases.len(), 1);
        assert!(f.node.takedown_queue("tiktok", "t", &q(None, 0, Tlp::Red)).unwrap().cases.len() == 1);

        // Admin listing across platforms, by state.
        let all = f.node.takedown_cases(&CaseFilter::default(), &Page::default()).unwrap();
        assert_eq!(all.cases.len(), 6);
        let acked = CaseFilter { states: vec![CaseState::Acknowledged], ..Default::default() };
        assert_eq!(f.node.takedown_cases(&acked, &Page::default()).unwrap().cases[0].id, ids[4]);
    }

    #[tokio::test]
    async fn due_cases_expire_dated_at_their_due_time_and_take_a_late_answer() {
        let f = node("ID");
        add(&f.node, Kind::Domain, "a.co.id", Tlp::Green).await;
        add(&f.node, Kind::Domain, "b.co.id", Tlp::Green).await;
        let now = now_ms();
        let mut past = ask("a.co.id", "meta");
        past.due = Due::At(now - HOUR);
        let a = f.node.request_takedown(past, "a").await.unwrap().case;
        let b = f.node.request_takedown(ask("b.co.id", "meta"), "a").await.unwrap().case;
        assert_eq!(f.node.next_takedown_due().unwrap(), Some(now - HOUR));
        let overdue = CaseFilter { overdue: true, ..Default::default() };
        assert_eq!(f.node.takedown_cases(&overdue, &Page::default()).unwrap().cases.len(), 1);

        let expired = f.node.expire_due_takedowns(now_ms()).await.unwrap();
        assert_eq!(expired.len(), 1);
        assert_eq!(expired[0].id, a.id);
        assert_eq!(expired[0].state, CaseState::Expired);
        assert_eq!(expired[0].expired_at_ms, Some(a.requested_at_ms), "a due time before the request: at the request");
        assert!(f.node.expire_due_takedowns(now_ms()).await.unwrap().is_empty(), "nothing twice");
        assert_eq!(f.node.next_takedown_due().unwrap(), b.due_at_ms);
        assert_eq!(f.node.takedown_case(&b.id).unwrap().state, CaseState::Requested);

        let err = f.node.acknowledge_takedown(&a.id, &meta(), None, None).await.unwrap_err();
        assert!(matches!(&err, NodeError::Conflict(Conflict::TakedownState { state: CaseState::Expired, .. })));
        let late =
            f.node.takedown_outcome(&a.id, &meta(), Outcome::Actioned("removed".into()), None, None).await.unwrap();
        assert_eq!(late.state, CaseState::Actioned);
        let levels = f.node.takedown_stats(now_ms()).unwrap();
        assert_eq!(levels.windows[0].total.late, 1);
        let audit = crate::store::audit::list(f.node.store(), &crate::store::audit::AuditFilter::default()).unwrap();
        assert!(audit.iter().any(|e| e.draft.action == "takedown.expire" && e.draft.actor == EXPIRY_ACTOR));
    }

    #[tokio::test]
    async fn a_request_notifies_and_a_personal_value_keeps_its_plain_form_locally() {
        let f = node("ID");
        add(&f.node, Kind::BankAccount, "BCA 123-456-7890", Tlp::Amber).await;
        let mut notices = f.node.takedown_notices();
        let changes = f.node.takedown_changes();
        let mut req = ask("bca:1234567890", "bca");
        req.kind = Some(Kind::BankAccount);
        let case = f.node.request_takedown(req, "a").await.unwrap().case;
        assert_eq!(case.value.len(), 64, "the case carries the keyed hash");
        assert_eq!(case.plain_value.as_deref(), Some("BCA:1234567890"), "the platform sees the account");
        let n = notices.try_recv().unwrap();
        assert_eq!((n.kind, n.case.id), (NoticeKind::Requested, case.id.clone()));
        assert!(changes.has_changed().unwrap());

        let r = f
            .node
            .create_referral(
                NewReferral {
                    value: "BCA:1234567890".into(),
                    kind: Some(Kind::BankAccount),
                    referred_to: "Bareskrim POLRI".into(),
                    case_ref: Some("LP/B/123/2026".into()),
                    ..Default::default()
                },
                "a",
            )
            .await
            .unwrap();
        assert_eq!(r.feedback_type, FeedbackType::Referred);
        assert_eq!(r.case_ref.as_deref(), Some("LP/B/123/2026"));
        let err = f.node.create_referral(NewReferral { value: "BCA:1234567890".into(), ..Default::default() }, "a");
        assert!(matches!(&err.await.unwrap_err(), NodeError::Input(e) if e.field == "referred_to"));
    }
}
