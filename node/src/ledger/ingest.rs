//! Storing a peer's verified envelopes: idempotency by (origin,
//! origin_seq), the hash chain, forks, stale versions, quarantine, cursors.

use super::command::{IngestBatch, IngestReport};
use super::txn::Txn;
use crate::audit::AuditDraft;
use crate::envelope::{Entry, VerifiedEnvelope};
use crate::model::now_ms;
use crate::policy::Disposition;
use crate::store::records::{Decision, QuarantineRecord};
use crate::store::{StoreError, TableWrites, Tables};

/// What to do with one arrival.
enum Check {
    /// Apply it; `indexed`: an older version from the same origin is indexed.
    New { indexed: bool },
    /// Already held, byte for byte.
    Duplicate,
    /// Refused, with a short reason for audit and metrics and a detail.
    Refuse(&'static str, String),
}

impl Txn<'_> {
    pub(super) fn ingest(&mut self, batch: IngestBatch) -> Result<IngestReport, StoreError> {
        if let Some(expected) = batch.after {
            let stored = self.overlay.cursor(&batch.peer)?;
            if stored != expected {
                return Err(StoreError::CursorMoved { peer: batch.peer, expected, stored });
            }
        }
        let mut report = IngestReport::default();
        let peer = batch.peer;
        for draft in batch.refused {
            self.bump(format_args!("count/rejected"));
            self.audit(draft);
        }
        for (env, disposition, stored) in batch.items {
            match self.check(&env)? {
                Check::Duplicate => report.duplicates += 1,
                Check::Refuse(reason, detail) => {
                    let body = &env.body;
                    if reason == "fork" || reason == "chain_break" {
                        self.overlay.put_fork(&body.origin, body.origin_seq, &env.hash, &env.raw);
                        self.bump(format_args!("count/forks"));
                    }
                    self.bump(format_args!("count/rejected"));
                    self.audit(AuditDraft::rejection(&peer, Some(&body.origin), Some(body.origin_seq), reason, detail));
                    report.refused.push((body.origin.clone(), body.origin_seq, reason));
                }
                Check::New { indexed } => {
                    let local_seq = self.append(&env, &disposition, indexed, stored)?;
                    report.applied += 1;
                    if let Disposition::Quarantine { reason } = disposition {
                        let rec = QuarantineRecord {
                            peer: peer.clone(),
                            reason,
                            received_at_ms: now_ms(),
                            decision: Decision::Pending,
                            note: String::new(),
                            decided_by: String::new(),
                        };
                        self.overlay.put_quarantine_record(local_seq, &rec);
                        self.hidden_add.push(local_seq);
                        report.quarantined += 1;
                    }
                }
            }
        }
        if let Some(cursor) = batch.cursor {
            self.overlay.put_cursor(&peer, cursor);
        }
        Ok(report)
    }

    fn check(&self, env: &VerifiedEnvelope) -> Result<Check, StoreError> {
        let body = &env.body;
        let stored = super::command::stored_len(&env.raw);
        if stored > crate::tlog::tile::MAX_ENTRY_BYTES {
            return Ok(Check::Refuse(
                "entry_too_large",
                format!(
                    "the envelope is {stored} bytes; a transparency-log entry holds at most {}",
                    crate::tlog::tile::MAX_ENTRY_BYTES
                ),
            ));
        }
        let at = |seq| self.overlay.origin_entry(&body.origin, seq);
        // The head (highest sequence held) is in memory: an envelope that
        // extends it, the usual case, needs no chain reads at all.
        let head = self.snap.heads.get(&body.origin).copied();
        let head_seq = head.map_or(0, |h| h.seq);
        if body.origin_seq <= head_seq
            && let Some(held) = at(body.origin_seq)?
        {
            if held.hash == env.hash {
                return Ok(Check::Duplicate);
            }
            return Ok(Check::Refuse(
                "fork",
                format!("a different body is already held for {}#{}", body.origin, body.origin_seq),
            ));
        }
        if body.origin == self.config.origin {
            return Ok(Check::Refuse(
                "own_origin",
                "an envelope in this node's name that this node did not sign".into(),
            ));
        }
        if body.origin_seq > head_seq.saturating_add(self.config.max_seq_gap) {
            return Ok(Check::Refuse(
                "seq_too_far_ahead",
                format!(
                    "origin_seq {} is more than {} above head {head_seq}",
                    body.origin_seq, self.config.max_seq_gap
                ),
            ));
        }
        let prev_hash = match head {
            Some(h) if h.seq == body.origin_seq - 1 => Some(h.hash),
            _ if body.origin_seq > 1 && body.origin_seq - 1 < head_seq => at(body.origin_seq - 1)?.map(|p| p.hash),
            _ => None,
        };
        if prev_hash.is_some_and(|h| h != body.prev_hash) {
            return Ok(Check::Refuse(
                "chain_break",
                format!("prev_hash does not match {}#{}", body.origin, body.origin_seq - 1),
            ));
        }
        if body.origin_seq < head_seq
            && let Some(next) = at(body.origin_seq + 1)?
            && next.prev_hash != env.hash
        {
            return Ok(Check::Refuse(
                "chain_break",
                format!("{}#{} does not link to this body", body.origin, body.origin_seq + 1),
            ));
        }
        if let Entry::KeyEvent(ev) = &body.entry
            && let Some(why) = self.bad_key_event(&body.origin, ev)?
        {
            return Ok(Check::Refuse("bad_key_event", why));
        }
        let mut indexed = false;
        if let Entry::Indicator(ind) = &body.entry
            && let Some((_, current)) = self.indexed(ind.kind, ind.value.as_str(), &body.origin)?
        {
            if current.version >= ind.version {
                return Ok(Check::Refuse(
                    "stale_version",
                    format!("version {} is not newer than the held version {}", ind.version, current.version),
                ));
            }
            indexed = true;
        }
        Ok(Check::New { indexed })
    }
}
