//! Publishing this node's own entries: numbering, chaining, signing.

use super::command::{Publish, PublishError, Stored};
use super::txn::Txn;
use crate::envelope::{self, Entry, EnvelopeBody, GENESIS_HASH, VerifiedEnvelope};
use crate::model::{Action, now_ms};
use crate::policy::Disposition;
use crate::signing;
use crate::store::layout::Head;
use crate::store::{LogEntry, StoreError, TableWrites, Tables};

impl Txn<'_> {
    /// Appends one of this node's entries, unsigned: [`Self::sign_all`]
    /// signs the batch before the commit.
    pub(super) fn publish(&mut self, item: Publish) -> Result<Stored, PublishError> {
        let origin = self.config.origin.clone();
        let now = now_ms();
        let (entry, plain, indexed) = match item {
            Publish::Upsert(sub) => {
                let mut ind = sub.indicator;
                let prev = self.indexed(ind.kind, ind.value.as_str(), &origin)?;
                match &prev {
                    Some((_, p)) if p.action == Action::Upsert => {
                        ind.version = p.version + 1;
                        ind.first_seen_ms = p.first_seen_ms.min(ind.first_seen_ms);
                    }
                    Some((_, p)) => ind.version = p.version + 1,
                    None => ind.version = 1,
                }
                (Entry::Indicator(ind), sub.plain, prev.is_some())
            }
            Publish::Revoke { id } => {
                let seq = self.overlay.own_indicator_at(&id)?.ok_or_else(|| PublishError::NotFound(id.clone()))?;
                let LogEntry { body, .. } = self.entry_at(seq)?.ok_or_else(|| PublishError::NotFound(id.clone()))?;
                let Entry::Indicator(mut ind) = body.entry else {
                    return Err(
                        StoreError::corrupt_log(format!("{id} points at {seq}, which is not an indicator")).into()
                    );
                };
                if body.origin != origin {
                    return Err(PublishError::NotOwn { id, origin: body.origin });
                }
                if ind.action == Action::Revoke {
                    return Err(PublishError::AlreadyRevoked(id));
                }
                ind.action = Action::Revoke;
                ind.version += 1;
                ind.last_seen_ms = now;
                (Entry::Indicator(ind), None, true)
            }
            Publish::Key(event) => (Entry::KeyEvent(event), None, false),
            Publish::Feedback(f) => (Entry::Feedback(Box::new(f)), None, false),
        };
        let head = self.snap.heads.get(&origin).copied().unwrap_or(Head { seq: 0, hash: GENESIS_HASH });
        let body = EnvelopeBody {
            origin: origin.clone(),
            origin_seq: head.seq + 1,
            prev_hash: head.hash,
            created_at_ms: now,
            entry,
        };
        // Signed by `sign_all` before the commit; the log holds the unsigned
        // form only inside this transaction.
        let raw = signing::unsigned(&body, &self.snap.key);
        let hash = envelope::body_hash(&raw.body);
        let env = VerifiedEnvelope { raw, body, hash };
        if let (Some(plain), Entry::Indicator(ind)) = (plain, &env.body.entry) {
            self.overlay.put_plain_value(ind.kind, ind.value.as_str(), &plain);
        }
        let local_seq = self.append(&env, &Disposition::Accept, indexed)?;
        Ok(Stored { local_seq, envelope: env })
    }

    /// Signs what [`Self::publish`] stored unsigned, on every core for a
    /// large batch, and puts the signed envelopes in the log.
    pub(super) fn sign_all(&mut self, results: &mut [Result<Stored, PublishError>]) {
        let mut todo: Vec<&mut Stored> = results
            .iter_mut()
            .filter_map(|r| r.as_mut().ok())
            .filter(|s| s.envelope.raw.signature.is_empty())
            .collect();
        let key = &*self.snap.key;
        let threads = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        if todo.len() < 64 || threads < 2 {
            for s in &mut todo {
                s.envelope.raw.signature = signing::signature(&s.envelope.raw.body, key);
            }
        } else {
            let per = todo.len().div_ceil(threads);
            std::thread::scope(|scope| {
                for chunk in todo.chunks_mut(per) {
                    scope.spawn(move || {
                        for s in chunk {
                            s.envelope.raw.signature = signing::signature(&s.envelope.raw.body, key);
                        }
                    });
                }
            });
        }
        for s in todo {
            self.overlay.put_log(s.local_seq, &s.envelope.raw);
        }
    }
}
