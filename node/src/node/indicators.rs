//! Indicators: submission (normalize, check allowlists, publish),
//! revocation, listing, and lookups with the merged view of every origin's
//! assertion.

use std::sync::Arc;

use crate::audit::AuditDraft;
use crate::envelope::{Entry, EnvelopeBody, Indicator, SignedEnvelope, Value};
use crate::feedback::FeedbackSummary;
use crate::ledger::Publish;
use crate::lookup_index::Held;
use crate::model::{Action, Kind, UnixMillis, now_ms};
use crate::normalize;
use crate::scoring::{Score, ScoreInput, ScoringConfig};
use crate::store::{LogEntry, StoreError, Tables};
use crate::submission::{InputError, NewIndicator, Submission};
use crate::view::{Assertion, IndicatorRecord, LookupResult, MergedView, ValueStatus};

use super::unchanged::{SubmitOptions, Submitted};

/// Lookups of up to this many values on an embedded store are answered on
/// the calling task ([`Node::lookup_async`]).
const INLINE_LOOKUPS: usize = 32;
use super::{Node, NodeError};

impl Node {
    /// Normalizes and checks one submission.
    ///
    /// # Errors
    ///
    /// [`InputError`] naming the field.
    pub fn prepare(&self, input: NewIndicator) -> Result<Submission, InputError> {
        input.prepare(self.id(), &self.normalize, &self.privacy, now_ms())
    }

    /// Normalizes, signs and durably stores submissions. Each gets its own
    /// result; refused inputs store nothing.
    ///
    /// # Errors
    ///
    /// [`NodeError::Store`] if the store failed (then nothing was stored).
    pub async fn submit(
        &self,
        inputs: Vec<NewIndicator>,
        actor: &str,
    ) -> Result<Vec<Result<IndicatorRecord, InputError>>, NodeError> {
        self.submit_with(inputs, actor, false).await
    }

    /// [`Self::submit`], checking every value against the allowlists first
    /// (the index of [`crate::warninglist`]: built-in, admin and imported
    /// lists): a match is refused naming the list and the rule, unless
    /// `override_allowlist`, which publishes it and audits the override.
    ///
    /// # Errors
    ///
    /// [`NodeError::Store`] if the store failed (then nothing was stored).
    pub async fn submit_with(
        &self,
        inputs: Vec<NewIndicator>,
        actor: &str,
        override_allowlist: bool,
    ) -> Result<Vec<Result<IndicatorRecord, InputError>>, NodeError> {
        let opts = SubmitOptions { override_allowlist, skip_unchanged: false };
        let done = self.submit_checked(inputs, actor, opts).await?;
        Ok(done.into_iter().map(|r| r.map(Submitted::into_record)).collect())
    }

    /// [`Self::submit_with`], and with `opts.skip_unchanged` a submission
    /// equal to this node's current version of the indicator publishes
    /// nothing and answers [`Submitted::Unchanged`]
    /// ([`Submission::same_content`]).
    ///
    /// # Errors
    ///
    /// [`NodeError::Store`] if the store failed (then nothing was stored).
    pub async fn submit_checked(
        &self,
        inputs: Vec<NewIndicator>,
        actor: &str,
        opts: SubmitOptions,
    ) -> Result<Vec<Result<Submitted, InputError>>, NodeError> {
        let override_allowlist = opts.override_allowlist;
        // One snapshot of the index for the whole request: no store read.
        let allow = self.allowlists();
        let mut overridden = Vec::new();
        let mut out: Vec<Option<Result<Submitted, InputError>>> = Vec::with_capacity(inputs.len());
        let mut items = Vec::new();
        let mut slots = Vec::new();
        for input in inputs {
            let prepared = self.prepare(input).and_then(|s| {
                let kind = s.indicator.kind;
                match allow.check(kind, s.canonical()) {
                    None => Ok(s),
                    Some(hit) if override_allowlist => {
                        overridden.push(format!("{kind} {} (list {}, {})", s.canonical(), hit.list, hit.rule));
                        Ok(s)
                    }
                    Some(hit) => Err(self.allowlist_refusal(&allow, &hit, s.canonical())),
                }
            });
            match prepared {
                Ok(d) => {
                    if opts.skip_unchanged
                        && let Some(held) = self.held_unchanged(&d)?
                    {
                        out.push(Some(Ok(Submitted::Unchanged(held))));
                        continue;
                    }
                    slots.push(out.len());
                    out.push(None);
                    items.push(Publish::Upsert(d));
                }
                Err(e) => out.push(Some(Err(e))),
            }
        }
        if !items.is_empty() {
            let mut audit = vec![AuditDraft::admin(actor, "indicator.add", format!("{} indicator(s)", items.len()))];
            for o in overridden {
                audit.push(AuditDraft::admin(actor, "allowlist.override", o));
            }
            let results = self.ledger.publish(items, audit).await?;
            for (slot, r) in slots.into_iter().zip(results) {
                let stored = match r {
                    Ok(s) => s,
                    // Too large for a transparency-log entry: this one only.
                    Err(e @ crate::ledger::PublishError::TooLarge { .. }) => {
                        out[slot] = Some(Err(InputError::new("indicator", e.to_string())));
                        continue;
                    }
                    Err(e) => return Err(e.into()),
                };
                let rec = self.record(stored.local_seq, &stored.envelope.raw, &stored.envelope.body)?;
                out[slot] = Some(Ok(Submitted::Stored(rec)));
            }
        }
        Ok(out.into_iter().map(|r| r.unwrap_or_else(|| Err(InputError::new("internal", "no result")))).collect())
    }

    /// Publishes a signed tombstone for one of this node's indicators.
    ///
    /// # Errors
    ///
    /// Not found, not this node's, already revoked, or store failure.
    pub async fn revoke(&self, id: &str, reason: &str, actor: &str) -> Result<IndicatorRecord, NodeError> {
        let audit = vec![AuditDraft::admin(actor, "indicator.revoke", format!("{id}: {reason}"))];
        let mut results = self.ledger.publish(vec![Publish::Revoke { id: id.into() }], audit).await?;
        let stored = results.pop().ok_or_else(|| NodeError::missing_result("revoke"))??;
        Ok(self.record(stored.local_seq, &stored.envelope.raw, &stored.envelope.body)?)
    }

    /// An admin view of a log entry.
    ///
    /// # Errors
    ///
    /// Store failures.
    pub fn record(
        &self,
        local_seq: u64,
        env: &SignedEnvelope,
        body: &EnvelopeBody,
    ) -> Result<IndicatorRecord, StoreError> {
        let Entry::Indicator(ind) = &body.entry else {
            return Err(StoreError::corrupt_log(format!("{local_seq} is not an indicator")));
        };
        let (value, keyed_hash, hash_epoch) = match &ind.value {
            Value::Plain(v) => (v.clone(), None, None),
            Value::Keyed { epoch, digest } => {
                let shown = self.store.plain_value(ind.kind, digest)?.unwrap_or_else(|| digest.clone());
                (shown, Some(digest.clone()), Some(*epoch))
            }
        };
        Ok(IndicatorRecord {
            id: ind.id.clone(),
            origin: body.origin.clone(),
            origin_seq: body.origin_seq,
            local_seq,
            kind: ind.kind,
            value,
            keyed_hash,
            hash_epoch,
            categories: ind.categories.clone(),
            confidence: ind.confidence.get(),
            tlp: ind.tlp,
            distribution: ind.distribution,
            first_seen_ms: ind.first_seen_ms,
            last_seen_ms: ind.last_seen_ms,
            valid_until_ms: ind.valid_until_ms,
            action: ind.action,
            version: ind.version,
            created_at_ms: body.created_at_ms,
            description: ind.description.clone(),
            source_refs: ind.source_refs.clone(),
            key_id: env.key_id.clone(),
        })
    }

    /// Current versions of indicators, in log order after `after`.
    ///
    /// # Errors
    ///
    /// Store failures.
    pub fn list(&self, filter: &ListFilter) -> Result<Vec<IndicatorRecord>, StoreError> {
        let limit = if filter.limit == 0 { 100 } else { filter.limit };
        let hidden = self.committed.hidden();
        let mut out = Vec::new();
        for r in self.store.log_entries_after(filter.after, &hidden) {
            let LogEntry { seq, envelope: env, body } = r?;
            let Entry::Indicator(ind) = &body.entry else { continue };
            if filter.kind.is_some_and(|k| k != ind.kind) || filter.origin.as_ref().is_some_and(|o| *o != body.origin) {
                continue;
            }
            if filter.signed_by.as_ref().is_some_and(|k| *k != env.key_id) {
                continue;
            }
            if filter.scope.as_ref().is_some_and(|s| !s.may_see(ind.kind, ind.tlp, &ind.categories)) {
                continue;
            }
            // Only the latest version of each indicator.
            let latest = self.indexed_at(ind.kind, ind.value.as_str(), &body.origin)?;
            if filter.signed_by.is_none() && latest != Some(seq) {
                continue;
            }
            if filter.min_score > 0 {
                let facts = FeedbackSummary::from_events(&self.feedback_events(ind.kind, ind.value.as_str())?);
                let score = score_of(ind, now_ms(), &self.config.scoring, &facts);
                if score.expired || score.value < filter.min_score {
                    continue;
                }
            }
            out.push(self.record(seq, &env, &body)?);
            if out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }

    /// Looks values up, each as its given kind or as every kind it parses as.
    /// The values the lookup cache does not answer are read from the store
    /// together, in one read where the engine can; one value on an embedded
    /// store, whose reads are local, is read candidate by candidate.
    ///
    /// # Errors
    ///
    /// Store failures.
    pub fn lookup(&self, queries: &[(String, Option<Kind>)]) -> Result<Vec<LookupResult>, StoreError> {
        // One value from an embedded store, the usual call: its reads are
        // local, so there is no round trip to share and no batch to gather.
        if let [(query, kind)] = queries
            && self.store.shared().is_none()
        {
            return Ok(vec![self.lookup_one(query, *kind)?]);
        }
        self.lookup_with(queries, |misses| self.held_many(misses))
    }

    /// [`Node::lookup`] of one value, each candidate read on its own.
    fn lookup_one(&self, query: &str, kind: Option<Kind>) -> Result<LookupResult, StoreError> {
        let now = now_ms();
        let candidates = match self.lookup_candidates(query, kind) {
            Ok(c) => c,
            Err(e) => {
                return Ok(LookupResult { query: query.to_string(), found: false, views: vec![], error: Some(e) });
            }
        };
        let mut views = Vec::new();
        for (kind, canonical) in candidates {
            if let Some(view) = self.view(kind, canonical, now)? {
                views.push(view);
            }
        }
        Ok(LookupResult { query: query.to_string(), found: !views.is_empty(), views, error: None })
    }

    /// What a query is looked up as: the canonical form of its kind, or of
    /// every kind it parses as, then the older canonical forms values may be
    /// stored under (e-mail local parts kept their case). An error names why
    /// the value is not one of the given kind.
    fn lookup_candidates(&self, query: &str, kind: Option<Kind>) -> Result<Vec<(Kind, String)>, String> {
        let mut candidates = match kind {
            Some(k) => vec![(k, normalize::normalize(k, query, &self.normalize).map_err(|e| e.to_string())?)],
            None => normalize::candidates(query, &self.normalize),
        };
        let legacy: Vec<(Kind, String)> = candidates
            .iter()
            .flat_map(|(k, _)| normalize::legacy_forms(*k, query).into_iter().map(|v| (*k, v)))
            .collect();
        candidates.extend(legacy);
        Ok(candidates)
    }

    /// [`Node::lookup`] with `load` reading what is held about the values
    /// neither unlisted nor cached (all of them in one call).
    fn lookup_with<E>(
        &self,
        queries: &[(String, Option<Kind>)],
        load: impl FnOnce(&[(Kind, &str)]) -> Result<Vec<Held>, E>,
    ) -> Result<Vec<LookupResult>, E> {
        let now = now_ms();
        // Per query: its candidates' range in `wanted`, or why it was refused.
        let mut spans = Vec::with_capacity(queries.len());
        // Every candidate: the value as stored and its plain form.
        let mut wanted: Vec<(Kind, Value, Option<String>)> = Vec::new();
        for (query, kind) in queries {
            let candidates = match self.lookup_candidates(query, *kind) {
                Ok(c) => c,
                Err(e) => {
                    spans.push(Err(e));
                    continue;
                }
            };
            let start = wanted.len();
            for (kind, canonical) in candidates {
                let (value, plain) = self.privacy.carried(kind, canonical);
                wanted.push((kind, value, plain));
            }
            spans.push(Ok(start..wanted.len()));
        }
        let keys: Vec<(Kind, &str)> = wanted.iter().map(|(kind, value, _)| (*kind, value.as_str())).collect();
        let held = self.committed.lookup.get_many(&keys, load)?;
        let mut views: Vec<Option<MergedView>> = wanted
            .into_iter()
            .zip(held)
            .map(|((kind, value, plain), held)| held.and_then(|h| self.view_of(kind, value, plain, &h, now)))
            .collect();
        Ok(queries
            .iter()
            .zip(spans)
            .map(|((query, _), span)| match span {
                Ok(range) => {
                    let views: Vec<MergedView> = views[range].iter_mut().filter_map(Option::take).collect();
                    LookupResult { query: query.clone(), found: !views.is_empty(), views, error: None }
                }
                Err(e) => LookupResult { query: query.clone(), found: false, views: vec![], error: Some(e) },
            })
            .collect())
    }

    /// [`Node::lookup`] from an async task. A few values are answered on
    /// the task itself: from memory, or from a local read on an embedded
    /// store. More, or a store read across the network (PostgreSQL, where a
    /// value's first read is a round trip), go to the blocking pool, so
    /// waiting never holds one of the runtime's few threads.
    ///
    /// # Errors
    ///
    /// Store failures; [`StoreError::Engine`] if the lookup task died.
    pub async fn lookup_async(
        self: &Arc<Self>,
        queries: Vec<(String, Option<Kind>)>,
    ) -> Result<Vec<LookupResult>, StoreError> {
        if queries.len() <= INLINE_LOOKUPS {
            if self.store.shared().is_none() {
                return self.lookup(&queries);
            }
            // Answered from memory, or not at all here.
            if let Ok(results) = self.lookup_with(&queries, |_| Err(())) {
                return Ok(results);
            }
        }
        let node = self.clone();
        tokio::task::spawn_blocking(move || node.lookup(&queries))
            .await
            .map_err(|e| StoreError::Engine(format!("the lookup task failed: {e}")))?
    }

    /// Fills the lookup cache from the store on a thread of its own: each
    /// listed value once, in batches read like a batched lookup's, until
    /// the cache is nearly full or every value is in. A commit racing a
    /// batch leaves what it touched out (the cache's generations), so what
    /// is kept is what the store holds. Stops when the node is dropped.
    /// Only on a shared store (an embedded store's first reads are local),
    /// with a cache, unless `[store] lookup_cache_warm` is off.
    pub(super) fn warm_lookup_cache(node: &Arc<Node>) {
        let config = &node.config.store;
        if node.store.shared().is_none() || !config.lookup_cache_warm || config.lookup_cache_entries == 0 {
            return;
        }
        let (store, weak) = (node.store.clone(), Arc::downgrade(node));
        let capacity = config.lookup_cache_entries;
        let spawned = std::thread::Builder::new().name("jaring-warm".into()).spawn(move || {
            let started = std::time::Instant::now();
            match warm(&store, &weak, capacity) {
                Ok(values) => tracing::info!(
                    values,
                    ms = started.elapsed().as_millis() as u64,
                    "lookup cache filled from the store"
                ),
                Err(e) => tracing::warn!(error = %e, "cannot fill the lookup cache; values are read when first asked"),
            }
        });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "cannot start the thread filling the lookup cache");
        }
    }

    /// The merged view of a normalized value, if any origin asserted it.
    ///
    /// # Errors
    ///
    /// Store failures.
    pub fn view(&self, kind: Kind, canonical: String, now: UnixMillis) -> Result<Option<MergedView>, StoreError> {
        let (value, plain) = self.privacy.carried(kind, canonical);
        let Some(held) = self.committed.lookup.get(kind, value.as_str(), || self.held(kind, value.as_str()))? else {
            return Ok(None);
        };
        Ok(self.view_of(kind, value, plain, &held, now))
    }

    /// The merged view of what is held about a value (as carried, with its
    /// plain form when this node knows it); `None` if no origin asserts it.
    fn view_of(
        &self,
        kind: Kind,
        value: Value,
        plain: Option<String>,
        held: &Held,
        now: UnixMillis,
    ) -> Option<MergedView> {
        if held.assertions.is_empty() {
            return None;
        }
        // Most listed values have no feedback: nothing to summarize.
        let facts = if held.events.is_empty() {
            FeedbackSummary::default()
        } else {
            FeedbackSummary::from_events(&held.events)
        };
        let assertions = held
            .assertions
            .iter()
            .map(|(origin, ind)| assertion(origin, ind, now, &self.config.scoring, &facts))
            .collect();
        let (shown, keyed) = match (value, plain) {
            (Value::Keyed { digest, .. }, Some(p)) => (p, Some(digest)),
            (Value::Keyed { digest, .. }, None) => (digest, None),
            (Value::Plain(v), _) => (v, None),
        };
        let view = MergedView::merge(kind, shown, keyed, assertions);
        Some(if held.events.is_empty() { view } else { view.with_feedback(held.events.clone()) })
    }

    /// What the store holds about a (kind, value): each origin's current
    /// assertion and the feedback events.
    fn held(&self, kind: Kind, value: &str) -> Result<Held, StoreError> {
        Ok(self.held_many(&[(kind, value)])?.pop().unwrap_or_default())
    }

    /// [`Node::held`] for many values, in order, with one store read for
    /// every (value, known origin) pair: an index point read per pair
    /// (bloom-filtered by embedded stores, far cheaper than a range scan
    /// over every level of the index) and the log entries they point at.
    pub(super) fn held_many(&self, values: &[(Kind, &str)]) -> Result<Vec<Held>, StoreError> {
        let origins = self.committed.lookup.origins();
        if origins.is_empty() {
            return Ok(values.iter().map(|_| Held::default()).collect());
        }
        let pairs: Vec<(Kind, &str, &str)> = values
            .iter()
            .flat_map(|&(kind, value)| origins.iter().map(move |origin| (kind, value, origin.as_str())))
            .collect();
        let mut entries = self.store.indexed_entries(&pairs)?.into_iter();
        let mut out = Vec::with_capacity(values.len());
        for &(kind, value) in values {
            let mut assertions = Vec::new();
            for entry in entries.by_ref().take(origins.len()) {
                if let Some(LogEntry { body, .. }) = entry
                    && let Entry::Indicator(ind) = body.entry
                {
                    assertions.push((body.origin, ind));
                }
            }
            let events = if assertions.is_empty() || !self.committed.lookup.may_have_feedback(kind, value) {
                Vec::new()
            } else {
                self.feedback_events(kind, value)?
            };
            out.push(Held { assertions, events });
        }
        Ok(out)
    }
}

/// Filters for [`Node::list`].
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// Only this kind.
    pub kind: Option<Kind>,
    /// Only this origin.
    pub origin: Option<String>,
    /// Only entries signed by this key (all versions).
    pub signed_by: Option<String>,
    /// Only log positions above this.
    pub after: u64,
    /// At most this many (0: 100).
    pub limit: usize,
    /// Only indicators in force with a current score at least this (0: all).
    pub min_score: u8,
    /// Only what a token of this scope may see (`None`: everything).
    pub scope: Option<crate::access::Scope>,
}

/// The current score of one assertion given the feedback about its value.
pub fn score_of(ind: &Indicator, now: UnixMillis, scoring: &ScoringConfig, facts: &FeedbackSummary) -> Score {
    scoring.score(
        &ScoreInput {
            confidence: ind.confidence.get(),
            categories: &ind.categories,
            last_seen_ms: ind.last_seen_ms,
            valid_until_ms: ind.valid_until_ms,
            revoked: ind.action == Action::Revoke,
            last_sighting_ms: facts.last_sighting_ms,
            false_positive_votes: u32::try_from(facts.false_positives.len()).unwrap_or(u32::MAX),
        },
        now,
    )
}

fn assertion(
    origin: &str,
    ind: &Indicator,
    now: UnixMillis,
    scoring: &ScoringConfig,
    facts: &FeedbackSummary,
) -> Assertion {
    let score = score_of(ind, now, scoring, facts);
    let status = if ind.action == Action::Revoke {
        ValueStatus::Revoked
    } else if ind.is_expired(now) || score.expired {
        ValueStatus::Expired
    } else {
        ValueStatus::Active
    };
    Assertion {
        origin: origin.into(),
        indicator_id: ind.id.clone(),
        version: ind.version,
        categories: ind.categories.clone(),
        confidence: ind.confidence.get(),
        tlp: ind.tlp,
        first_seen_ms: ind.first_seen_ms,
        last_seen_ms: ind.last_seen_ms,
        valid_until_ms: ind.valid_until_ms,
        status,
        description: ind.description.clone(),
        score: score.value,
    }
}

/// Values [`Node::warm_lookup_cache`] reads in one batch.
const WARM_BATCH: usize = 1024;

/// [`Node::warm_lookup_cache`]'s work: how many values it read.
fn warm(store: &crate::store::Store, node: &std::sync::Weak<Node>, capacity: usize) -> Result<usize, StoreError> {
    // Past this, each value read would evict one read before.
    let enough = capacity - capacity / 16;
    // Reads a batch into the cache; false when the work is done.
    let fill = |batch: &[(Kind, String)]| -> Result<bool, StoreError> {
        let Some(node) = node.upgrade() else { return Ok(false) };
        let lookup = &node.committed.lookup;
        let keys: Vec<(Kind, &str)> = batch.iter().map(|(k, v)| (*k, v.as_str())).collect();
        lookup.get_many(&keys, |misses| node.held_many(misses))?;
        Ok(lookup.cached() < enough)
    };
    let mut batch: Vec<(Kind, String)> = Vec::with_capacity(WARM_BATCH);
    let mut read = 0;
    for r in store.indexed_values() {
        let kv = r?;
        // The index is in (kind, value, origin) order: a value asserted by
        // several origins comes once per origin, in a row.
        if batch.last() == Some(&kv) {
            continue;
        }
        batch.push(kv);
        if batch.len() == WARM_BATCH {
            read += batch.len();
            if !fill(&batch)? {
                return Ok(read);
            }
            batch.clear();
        }
    }
    if !batch.is_empty() {
        read += batch.len();
        fill(&batch)?;
    }
    Ok(read)
}
