//! An analyst's decision on a quarantined entry: accepted entries are
//! indexed (if no newer version is), accepted key events applied (if they
//! still claim no other node's key), rejected ones stay hidden.

use super::command::DecideError;
use super::txn::{KeyringChange, Txn};
use crate::audit::AuditDraft;
use crate::envelope::{Entry, KeyEvent};
use crate::store::records::{Decision, QuarantineRecord};
use crate::store::{LogEntry, TableWrites, Tables};

impl Txn<'_> {
    pub(super) fn decide(
        &mut self,
        local_seq: u64,
        accept: bool,
        note: String,
        actor: String,
    ) -> Result<QuarantineRecord, DecideError> {
        let mut rec = self.overlay.quarantine_record(local_seq)?.ok_or(DecideError::NotFound(local_seq))?;
        if rec.decision != Decision::Pending {
            return Err(DecideError::AlreadyDecided(local_seq, rec.decision));
        }
        let LogEntry { body, .. } = self.entry_at(local_seq)?.ok_or(DecideError::NotFound(local_seq))?;
        if let Entry::KeyEvent(ev) = &body.entry {
            if accept {
                // Ownership may have changed since it arrived.
                if let Some(why) = self.bad_key_event(&body.origin, ev)? {
                    return Err(DecideError::BadKeyEvent(why));
                }
                self.key_event(&body.origin, ev)?;
            }
            if let KeyEvent::Rotation { new_key_id, .. } = ev {
                self.keyring_changes.push(KeyringChange::Settled { key_id: new_key_id.clone() });
            }
        }
        if accept {
            if let Entry::Indicator(ind) = &body.entry {
                let held = self.indexed(ind.kind, ind.value.as_str(), &body.origin)?;
                if held.as_ref().is_none_or(|(_, cur)| cur.version < ind.version) {
                    self.index(&body.origin, ind, local_seq, held.is_some());
                }
            }
            if let Entry::Feedback(f) = &body.entry {
                self.index_feedback(&body.origin, body.origin_seq, f, local_seq);
            }
            self.hidden_remove.push(local_seq);
        }
        rec.decision = if accept { Decision::Accepted } else { Decision::Rejected };
        rec.note = note.clone();
        rec.decided_by = actor.clone();
        self.overlay.put_quarantine_record(local_seq, &rec);
        self.audit(AuditDraft {
            peer: Some(rec.peer.clone()),
            origin: Some(body.origin.clone()),
            origin_seq: Some(body.origin_seq),
            ..AuditDraft::admin(&actor, if accept { "review.accept" } else { "review.reject" }, note)
        });
        Ok(rec)
    }
}
