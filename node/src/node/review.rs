//! The review queue: arrivals held in quarantine (from `review`-trust
//! peers, or outside the inbound agreement) and an analyst's decision.

use crate::envelope::{Entry, Value};
use crate::model::now_ms;
use crate::store::records::{Decision, QuarantineRecord};
use crate::store::{LogEntry, StoreError};
use crate::view::{IndicatorRecord, MergedView};

use super::{Node, NodeError};

/// An entry held for review, as an analyst sees it.
#[derive(Debug, Clone)]
pub struct ReviewItem {
    /// Its position in the log.
    pub local_seq: u64,
    /// The review record.
    pub record: QuarantineRecord,
    /// The indicator, when the entry is one.
    pub indicator: Option<IndicatorRecord>,
    /// What is already held about the value (plain values only).
    pub view: Option<MergedView>,
}

impl ReviewItem {
    /// The entry as a token of `scope` sees it: hidden when its indicator
    /// is outside the scope, and the value's view restricted to it.
    pub fn restricted(mut self, scope: &crate::access::Scope) -> Option<ReviewItem> {
        if let Some(i) = &self.indicator
            && !scope.may_see(i.kind, i.tlp, &i.categories)
        {
            return None;
        }
        self.view = self.view.and_then(|v| scope.restrict(v));
        Some(self)
    }
}

impl Node {
    /// Entries held for review (with `include_decided`, the decided ones
    /// too), with what the analyst needs to decide.
    ///
    /// # Errors
    ///
    /// Store failures.
    pub fn review_items(&self, include_decided: bool) -> Result<Vec<ReviewItem>, StoreError> {
        let now = now_ms();
        let mut out = Vec::new();
        for (seq, record) in self.quarantine(include_decided)? {
            let Some(LogEntry { envelope, body, .. }) = self.log_entry(seq)? else { continue };
            let indicator = match &body.entry {
                Entry::Indicator(_) => Some(self.record(seq, &envelope, &body)?),
                _ => None,
            };
            let plain = match &body.entry {
                Entry::Indicator(ind) => Some((ind.kind, &ind.value)),
                Entry::Feedback(f) => Some((f.kind, &f.value)),
                Entry::KeyEvent(_) => None,
            };
            let view = match plain {
                Some((kind, Value::Plain(v))) => self.view(kind, v.clone(), now)?,
                _ => None,
            };
            out.push(ReviewItem { local_seq: seq, record, indicator, view });
        }
        Ok(out)
    }

    /// Records held for review.
    ///
    /// # Errors
    ///
    /// Store failures.
    pub fn quarantine(&self, include_decided: bool) -> Result<Vec<(u64, QuarantineRecord)>, StoreError> {
        let mut all = self.store.quarantine_records()?;
        if !include_decided {
            all.retain(|(_, rec)| rec.decision == Decision::Pending);
        }
        Ok(all)
    }

    /// An analyst's decision on a held entry.
    ///
    /// # Errors
    ///
    /// Nothing held there, already decided, store failure.
    pub async fn decide(
        &self,
        local_seq: u64,
        accept: bool,
        note: &str,
        actor: &str,
    ) -> Result<QuarantineRecord, NodeError> {
        Ok(self.ledger.decide(local_seq, accept, note.into(), actor.into()).await?)
    }
}
