//! Publishing this node's own entries: numbering, chaining, signing; the
//! reach of each indicator, its tombstones and the withdrawal notices a
//! narrower re-marking publishes first ([`crate::withdrawal`]).

use super::command::{Publish, PublishError, Stored};
use super::txn::Txn;
use crate::envelope::{self, Entry, EnvelopeBody, GENESIS_HASH, VerifiedEnvelope};
use crate::model::{Action, now_ms};
use crate::policy::Disposition;
use crate::signing;
use crate::store::layout::Head;
use crate::store::{LogEntry, StoreError, TableWrites, Tables};
use crate::tlog::Hash;
use crate::tlog::merkle::leaf_hash;
use crate::wire;
use crate::withdrawal::{self, Reach};

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
                let stored_reach = match &prev {
                    Some(_) => self.overlay.reach(&ind.id)?,
                    None => None,
                };
                let mut reach =
                    stored_reach.clone().or_else(|| prev.as_ref().map(|(_, p)| Reach::of(p))).unwrap_or_default();
                match &prev {
                    Some((_, p)) if p.action == Action::Upsert => {
                        ind.first_seen_ms = p.first_seen_ms.min(ind.first_seen_ms);
                        ind.version = p.version + 1;
                        // Re-marked narrower: what went out before is
                        // withdrawn where the new version will not go.
                        let uncovered = reach.uncovered_by(&ind);
                        if !uncovered.is_empty() {
                            let notice = withdrawal::tombstone(p, uncovered, reach.first_seen_ms, now);
                            ind.version = notice.version + 1;
                            let stored = self.append_own(Entry::Indicator(notice), None, true, now)?;
                            self.withdrawals.push(stored);
                        }
                    }
                    Some((_, p)) => ind.version = p.version + 1,
                    None => ind.version = 1,
                }
                reach.record(&ind);
                // Kept only when the history is wider than the current
                // version (otherwise `Reach::of` the current one says it all).
                if stored_reach.as_ref() != Some(&reach) && (stored_reach.is_some() || reach != Reach::of(&ind)) {
                    self.overlay.put_reach(&ind.id, &reach);
                }
                (Entry::Indicator(ind), sub.plain, prev.is_some())
            }
            Publish::Revoke { id } => {
                let seq = self.overlay.own_indicator_at(&id)?.ok_or_else(|| PublishError::NotFound(id.clone()))?;
                let LogEntry { body, .. } = self.entry_at(seq)?.ok_or_else(|| PublishError::NotFound(id.clone()))?;
                let Entry::Indicator(ind) = body.entry else {
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
                // Reaches every node an earlier version could reach, and
                // carries nothing of the current version.
                let reach = self.overlay.reach(&id)?.unwrap_or_else(|| Reach::of(&ind));
                let tomb = withdrawal::tombstone(&ind, reach.markings, reach.first_seen_ms, now);
                (Entry::Indicator(tomb), None, true)
            }
            Publish::Key(event) => (Entry::KeyEvent(event), None, false),
            Publish::Feedback(f) => (Entry::Feedback(Box::new(f)), None, false),
        };
        self.append_own(entry, plain, indexed, now)
    }

    /// Chains one of this node's entries after its head and appends it,
    /// unsigned.
    fn append_own(
        &mut self,
        entry: Entry,
        plain: Option<String>,
        indexed: bool,
        now: crate::model::UnixMillis,
    ) -> Result<Stored, PublishError> {
        let origin = self.config.origin.clone();
        let head = self.snap.heads.get(&origin).copied().unwrap_or(Head { seq: 0, hash: GENESIS_HASH });
        let body = EnvelopeBody { origin, origin_seq: head.seq + 1, prev_hash: head.hash, created_at_ms: now, entry };
        // Signed by `sign_all` before the commit; the log holds the unsigned
        // form only inside this transaction.
        let raw = signing::unsigned(&body, &self.snap.key);
        let len = super::command::stored_len(&raw);
        if len > crate::tlog::tile::MAX_ENTRY_BYTES {
            return Err(PublishError::TooLarge { len, max: crate::tlog::tile::MAX_ENTRY_BYTES });
        }
        let hash = envelope::body_hash(&raw.body);
        let env = VerifiedEnvelope { raw, body, hash };
        if let (Some(plain), Entry::Indicator(ind)) = (plain, &env.body.entry) {
            self.overlay.put_plain_value(ind.kind, ind.value.as_str(), &plain);
        }
        let local_seq = self.append(&env, &Disposition::Accept, indexed, None)?;
        Ok(Stored { local_seq, envelope: env })
    }

    /// Signs what [`Self::publish`] stored unsigned, on every core for a
    /// large batch, and puts the signed envelopes in the log. The same
    /// threads encode each signed envelope once and hash the stored bytes
    /// into the transparency-log tree's leaves.
    pub(super) fn sign_all(&mut self, results: &mut [Result<Stored, PublishError>]) {
        // Withdrawal notices published on the way (see `publish`) too.
        let mut notices = std::mem::take(&mut self.withdrawals);
        let mut todo: Vec<&mut Stored> = results
            .iter_mut()
            .filter_map(|r| r.as_mut().ok())
            .chain(notices.iter_mut())
            .filter(|s| s.envelope.raw.signature.is_empty())
            .collect();
        let key = &*self.snap.key;
        let hash = self.snap.tree.is_some();
        let sign = |s: &mut Stored| -> (u64, Vec<u8>, Option<Hash>) {
            s.envelope.raw.signature = signing::signature(&s.envelope.raw.body, key);
            let encoded = wire::encode_envelope(&s.envelope.raw);
            let leaf = hash.then(|| leaf_hash(&encoded));
            (s.local_seq, encoded, leaf)
        };
        let threads = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        let signed: Vec<(u64, Vec<u8>, Option<Hash>)> = if todo.len() < 64 || threads < 2 {
            todo.iter_mut().map(|s| sign(s)).collect()
        } else {
            let per = todo.len().div_ceil(threads);
            let sign = &sign;
            std::thread::scope(|scope| {
                let handles: Vec<_> = todo
                    .chunks_mut(per)
                    .map(|chunk| scope.spawn(move || chunk.iter_mut().map(|s| sign(s)).collect::<Vec<_>>()))
                    .collect();
                // A signing thread panics only on a bug: the ledger stops,
                // as it did when signing ran in the scope alone.
                handles.into_iter().flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))).collect()
            })
        };
        for (local_seq, encoded, leaf) in signed {
            self.put_signed(local_seq, encoded, leaf);
        }
    }
}
