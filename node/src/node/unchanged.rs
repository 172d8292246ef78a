//! "Same content as the held version": a submission that says exactly
//! what this node's current version of the indicator says can be skipped
//! instead of published as a new version (`unchanged = skip` in the admin
//! API), so re-importing an unchanged file publishes nothing. The
//! comparison itself is [`Submission::same_content`].
//!
//! The comparison is over everything a submission sets: kind, value,
//! categories, confidence, TLP, distribution, first and last seen, expiry,
//! description and source references. A held version that was revoked is
//! never "the same": submitting the value again publishes it anew.

use super::Node;
use crate::envelope::Entry;
use crate::store::{LogEntry, StoreError};
use crate::submission::Submission;
use crate::view::IndicatorRecord;

/// How [`Node::submit_checked`] treats submissions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SubmitOptions {
    /// Publish values on an allowlist (audited).
    pub override_allowlist: bool,
    /// Skip a submission equal to the held version ([`Submitted::Unchanged`]).
    pub skip_unchanged: bool,
}

/// What happened to one accepted submission.
#[derive(Debug, Clone, PartialEq)]
pub enum Submitted {
    /// Published: the new version.
    Stored(IndicatorRecord),
    /// Equal to the held version, which is returned; nothing was published.
    Unchanged(IndicatorRecord),
}

impl Submitted {
    /// The record, stored or held.
    pub fn into_record(self) -> IndicatorRecord {
        match self {
            Submitted::Stored(r) | Submitted::Unchanged(r) => r,
        }
    }
}

impl Node {
    /// This node's current version of the indicator `draft` would publish,
    /// if it says exactly what `draft` says.
    ///
    /// # Errors
    ///
    /// Store failures.
    pub(crate) fn held_unchanged(&self, sub: &Submission) -> Result<Option<IndicatorRecord>, StoreError> {
        let ind = &sub.indicator;
        let Some(seq) = self.indexed_at(ind.kind, ind.value.as_str(), self.id())? else { return Ok(None) };
        let Some(LogEntry { envelope, body, .. }) = self.log_entry(seq)? else { return Ok(None) };
        let Entry::Indicator(held) = &body.entry else { return Ok(None) };
        if body.origin != self.id() || !sub.same_content(held) {
            return Ok(None);
        }
        self.record(seq, &envelope, &body).map(Some)
    }
}
