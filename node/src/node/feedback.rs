//! Feedback: signed events about values this node holds (sightings,
//! takedowns, false positives, referrals), and reading them back.

use crate::audit::AuditDraft;
use crate::envelope::{Entry, Indicator, Value};
use crate::feedback::{Feedback, FeedbackEvent, FeedbackType, NewFeedback};
use crate::ledger::Publish;
use crate::model::{Category, Distribution, Kind, Tlp, now_ms};
use crate::normalize;
use crate::store::{LogEntry, StoreError, Tables};
use crate::submission::InputError;

use super::{Node, NodeError, NotFound};

impl Node {
    /// Every feedback event held about a value (as carried), in log order.
    ///
    /// # Errors
    ///
    /// Store failures.
    pub fn feedback_events(&self, kind: Kind, value: &str) -> Result<Vec<FeedbackEvent>, StoreError> {
        let mut out = Vec::new();
        for seq in self.store.feedback_positions(kind, value)? {
            if let Some(LogEntry { body, .. }) = self.store.log_entry(seq)?
                && let Entry::Feedback(f) = &body.entry
            {
                out.push(FeedbackEvent::new(&body.origin, body.origin_seq, seq, body.created_at_ms, f));
            }
        }
        Ok(out)
    }

    /// Signs and publishes a feedback event about a value this node holds
    /// an indicator for. The event inherits the categories (union), the
    /// most restrictive TLP and the most restrictive distribution of the
    /// assertions held, and names the indicator it responds to (another
    /// origin's, when there is one). `input.tlp` may only be as or more
    /// restrictive than the inherited TLP.
    ///
    /// # Errors
    ///
    /// [`NodeError::Input`] for a takedown request (field `type`: it opens a
    /// case, [`Self::request_takedown`]), a bad value, a missing reason or platform,
    /// a TLP override less restrictive than the inherited one (field
    /// `tlp`), or an `observed_at` in the future (field `observed_at`);
    /// [`NodeError::NotFound`] when no indicator for the value is held;
    /// store failures.
    pub async fn add_feedback(&self, input: NewFeedback, actor: &str) -> Result<FeedbackEvent, NodeError> {
        if input.feedback_type == FeedbackType::TakedownRequested {
            // A request opens a tracked case, which has rules of its own
            // (one open case per value and platform, a due time).
            return Err(InputError::new(
                "type",
                "a takedown request opens a tracked case: use `jaring takedown request VALUE --platform P` \
                 (POST /api/v1/takedowns)",
            )
            .into());
        }
        marking_within(input.tlp, input.ceiling)?;
        let held = self.find_held(&input.value, input.kind, input.ceiling)?;
        let inherited = Inherited::of(self.id(), &held.assertions);
        let (kind, value) = (held.kind, held.value);
        let text = |s: Option<String>| s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
        let f = Feedback {
            kind,
            value,
            feedback_type: input.feedback_type,
            indicator_id: inherited.indicator_id,
            indicator_origin: inherited.indicator_origin,
            categories: inherited.categories,
            tlp: match input.tlp {
                // An override may restrict what is inherited, never widen it.
                Some(t) if t < inherited.tlp => {
                    return Err(InputError::new(
                        "tlp",
                        format!(
                            "{} is less restrictive than {}, which the feedback inherits from the indicator; \
                             choose {} or stricter",
                            t.label(),
                            inherited.tlp.label(),
                            inherited.tlp.label()
                        ),
                    )
                    .into());
                }
                Some(t) => t,
                None => inherited.tlp,
            },
            distribution: inherited.distribution,
            platform: text(input.platform),
            action_taken: text(input.action_taken),
            observed_at_ms: input.observed_at_ms.unwrap_or_else(now_ms),
            reason: text(input.reason),
            note: text(input.note),
            referred_to: text(input.referred_to),
            case_seq: None,
            due_at_ms: None,
            case_ref: text(input.case_ref),
        };
        f.validate().map_err(InputError::from)?;
        let latest = now_ms().saturating_add(self.config.limits.max_clock_skew_ms);
        if f.observed_at_ms > latest {
            return Err(InputError::new(
                "observed_at",
                format!("{} ms is in the future (limits.max_clock_skew_ms)", f.observed_at_ms),
            )
            .into());
        }
        let detail = format!("{} on {} {} (tlp {})", f.feedback_type, f.kind, f.value.as_str(), f.tlp.label());
        let audit = vec![AuditDraft::admin(actor, "feedback.add", detail)];
        let mut results = self.ledger().publish(vec![Publish::Feedback(f)], audit).await?;
        let stored = results.pop().ok_or_else(|| NodeError::missing_result("feedback"))??;
        let body = &stored.envelope.body;
        match &body.entry {
            Entry::Feedback(f) => {
                Ok(FeedbackEvent::new(&body.origin, body.origin_seq, stored.local_seq, body.created_at_ms, f))
            }
            _ => Err(StoreError::corrupt_log("published entry is not feedback").into()),
        }
    }

    /// The first kind `value` (any form) parses as, as `kind` or as every
    /// kind it parses as, for which an indicator is held that a requester
    /// with TLP `ceiling` may see (`None`: the node's admin, who sees all):
    /// the value as carried and every origin's current assertion of it
    /// within the ceiling. A value held only above the ceiling is not
    /// found, as a lookup would answer.
    ///
    /// # Errors
    ///
    /// [`NodeError::Input`] for a value that is not one of `kind`;
    /// [`NotFound::HeldValue`]; store failures.
    pub(super) fn find_held(
        &self,
        value: &str,
        kind: Option<Kind>,
        ceiling: Option<Tlp>,
    ) -> Result<HeldValue, NodeError> {
        let candidates = match kind {
            Some(k) => vec![(
                k,
                normalize::normalize(k, value, self.normalize_context())
                    .map_err(|e| InputError::new("value", e.to_string()))?,
            )],
            None => normalize::candidates(value, self.normalize_context()),
        };
        for (kind, canonical) in candidates {
            let (carried, plain) = self.privacy.carried(kind, canonical);
            let mut assertions = self.assertions_held(kind, &carried)?;
            assertions.retain(|(_, i)| ceiling.is_none_or(|c| i.tlp <= c));
            if !assertions.is_empty() {
                return Ok(HeldValue { kind, value: carried, plain, assertions });
            }
        }
        Err(NotFound::HeldValue(value.to_string()).into())
    }

    /// Every origin's current indicator for a value (as carried), by origin.
    fn assertions_held(&self, kind: Kind, value: &Value) -> Result<Vec<(String, Indicator)>, StoreError> {
        let mut out = Vec::new();
        for (_, seq) in self.store.indexed_by_origin(kind, value.as_str())? {
            if let Some(LogEntry { body, .. }) = self.store.log_entry(seq)?
                && let Entry::Indicator(ind) = body.entry
            {
                out.push((body.origin, ind));
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }
}

/// A value an indicator is held for.
#[derive(Debug)]
pub(super) struct HeldValue {
    /// Its kind.
    pub(super) kind: Kind,
    /// As carried.
    pub(super) value: Value,
    /// The plain canonical value of personal data (from the query).
    pub(super) plain: Option<String>,
    /// Every origin's current assertion, by origin.
    pub(super) assertions: Vec<(String, Indicator)>,
}

/// Refuses a marking `tlp` above a requester's TLP `ceiling` (`None`:
/// the node's admin): the requester could not see what it made.
pub(super) fn marking_within(tlp: Option<Tlp>, ceiling: Option<Tlp>) -> Result<(), InputError> {
    match (tlp, ceiling) {
        (Some(tlp), Some(ceiling)) if tlp > ceiling => Err(InputError::new(
            "tlp",
            format!(
                "{} is above the requester's TLP ceiling {}: the requester could not see it",
                tlp.label(),
                ceiling.label()
            ),
        )),
        _ => Ok(()),
    }
}

/// What feedback about a value inherits from the assertions held: the union
/// of their categories, the most restrictive TLP and distribution, and the
/// indicator it responds to (another origin's, when there is one).
#[derive(Debug)]
pub(super) struct Inherited {
    pub(super) categories: Vec<Category>,
    pub(super) tlp: Tlp,
    pub(super) distribution: Distribution,
    pub(super) indicator_id: Option<String>,
    pub(super) indicator_origin: Option<String>,
}

impl Inherited {
    pub(super) fn of(own: &str, held: &[(String, Indicator)]) -> Inherited {
        let mut categories: Vec<Category> = held.iter().flat_map(|(_, i)| i.categories.iter().copied()).collect();
        categories.sort();
        categories.dedup();
        let target = held.iter().find(|(o, _)| o != own).or_else(|| held.first());
        Inherited {
            categories,
            tlp: held.iter().map(|(_, i)| i.tlp).max().unwrap_or(Tlp::Amber),
            distribution: held.iter().map(|(_, i)| i.distribution).min().unwrap_or(Distribution::Direct),
            indicator_id: target.map(|(_, i)| i.id.clone()),
            indicator_origin: target.map(|(o, _)| o.clone()),
        }
    }
}
