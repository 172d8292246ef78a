//! Feedback: signed events about values this node holds (sightings,
//! takedowns, false positives, referrals), and reading them back.

use crate::audit::AuditDraft;
use crate::envelope::{Entry, Indicator, Value};
use crate::feedback::{Feedback, FeedbackEvent, NewFeedback};
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
    /// most restrictive TLP (unless `input.tlp`) and the most restrictive
    /// distribution of the assertions held, and names the indicator it
    /// responds to (another origin's, when there is one).
    ///
    /// # Errors
    ///
    /// [`NodeError::Input`] for a bad value or a missing reason or
    /// platform; [`NodeError::NotFound`] when no indicator for the value is
    /// held; store failures.
    pub async fn add_feedback(&self, input: NewFeedback, actor: &str) -> Result<FeedbackEvent, NodeError> {
        let candidates = match input.kind {
            Some(k) => vec![(
                k,
                normalize::normalize(k, &input.value, self.normalize_context())
                    .map_err(|e| InputError::new("value", e.to_string()))?,
            )],
            None => normalize::candidates(&input.value, self.normalize_context()),
        };
        let mut found = None;
        for (kind, canonical) in candidates {
            let (value, _) = self.privacy.carried(kind, canonical);
            let held = self.assertions_held(kind, &value)?;
            if !held.is_empty() {
                found = Some((kind, value, held));
                break;
            }
        }
        let Some((kind, value, held)) = found else {
            return Err(NotFound::HeldValue(input.value).into());
        };
        let mut categories: Vec<Category> = held.iter().flat_map(|(_, i)| i.categories.iter().copied()).collect();
        categories.sort();
        categories.dedup();
        let inherited_tlp = held.iter().map(|(_, i)| i.tlp).max().unwrap_or(Tlp::Amber);
        let distribution = held.iter().map(|(_, i)| i.distribution).min().unwrap_or(Distribution::Direct);
        let target = held.iter().find(|(o, _)| o != self.id()).or_else(|| held.first());
        let text = |s: Option<String>| s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
        let f = Feedback {
            kind,
            value,
            feedback_type: input.feedback_type,
            indicator_id: target.map(|(_, i)| i.id.clone()),
            indicator_origin: target.map(|(o, _)| o.clone()),
            categories,
            tlp: input.tlp.unwrap_or(inherited_tlp),
            distribution,
            platform: text(input.platform),
            action_taken: text(input.action_taken),
            observed_at_ms: input.observed_at_ms.unwrap_or_else(now_ms),
            reason: text(input.reason),
            note: text(input.note),
            referred_to: text(input.referred_to),
        };
        f.validate().map_err(InputError::from)?;
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
