//! [`Node`]: the indicator service behind the admin API and the federation.
//!
//! It owns the store, the ledger (single writer), this node's keys, the
//! federation key for personal data and the peer set, and offers the
//! operations admins use: submit, revoke, list, look up, manage peers,
//! review.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use tokio::sync::watch;

use crate::audit::AuditDraft;
use crate::config::Config;
use crate::envelope::{Entry, EnvelopeBody, Indicator, SignedEnvelope, Value};
use crate::identity::{CardKey, IdentityCard};
use crate::keys::{KeyFileError, SigningKey};
use crate::ledger::{self, Draft, Ledger, LedgerConfig, Publish, PublishError, QuarantineRecord, Shared, StoredKey};
use crate::model::{Category, Confidence, Distribution, Kind, Tlp, Trust, UnixMillis, now_ms};
use crate::normalize::{self, NormalizeContext};
use crate::peers::{InboundAgreement, OutboundAgreement, Peer};
use crate::pii::{FederationKey, FederationKeyError};
use crate::store::{self, Batch, Keyspace, Store, StoreError, layout};
use crate::view::{Assertion, IndicatorRecord, LookupResult, MergedView, ValueStatus};
use crate::wire;

mod ops;
mod unchanged;
pub use ops::{CERT_WARNING_MS, CertExpiry, KeyInfo, pem_not_after};
pub use unchanged::{SubmitOptions, Submitted, same_content};

/// An indicator as submitted, before normalization.
#[derive(Debug, Clone, Default)]
pub struct NewIndicator {
    /// Kind (required).
    pub kind: Option<Kind>,
    /// Raw value.
    pub value: String,
    /// At least one.
    pub categories: Vec<Category>,
    /// 0-100.
    pub confidence: u32,
    /// Default AMBER.
    pub tlp: Option<Tlp>,
    /// Default federation.
    pub distribution: Option<Distribution>,
    /// Default now.
    pub first_seen_ms: Option<UnixMillis>,
    /// Default now.
    pub last_seen_ms: Option<UnixMillis>,
    /// Default none.
    pub valid_until_ms: Option<UnixMillis>,
    /// Notes.
    pub description: Option<String>,
    /// Sources.
    pub source_refs: Vec<String>,
}

/// A refused input: which field, and why. Nothing was stored for it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct InputError {
    /// The field.
    pub field: String,
    /// Why.
    pub reason: String,
}

impl InputError {
    /// Builds an error.
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        InputError { field: field.into(), reason: reason.into() }
    }
}

/// A failure of a node operation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NodeError {
    /// Bad input from the caller.
    #[error(transparent)]
    Input(#[from] InputError),
    /// Something named does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The request conflicts with the current state.
    #[error("{0}")]
    Conflict(String),
    /// Not allowed.
    #[error("{0}")]
    Forbidden(String),
    /// Storage failed; nothing was changed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<PublishError> for NodeError {
    fn from(e: PublishError) -> Self {
        match e {
            PublishError::NotFound(_) => NodeError::NotFound(e.to_string()),
            PublishError::NotOwn { .. } => NodeError::Forbidden(e.to_string()),
            PublishError::AlreadyRevoked(_) => NodeError::Conflict(e.to_string()),
            PublishError::Store(s) => NodeError::Store(s),
        }
    }
}

/// Why a node could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// Signing keys.
    #[error("signing keys: {0}")]
    Keys(#[from] KeyFileError),
    /// Federation key.
    #[error("federation key: {0}")]
    FederationKey(#[from] FederationKeyError),
    /// Store.
    #[error("{0}")]
    Store(#[from] StoreError),
    /// TLS material.
    #[error("TLS: {0}")]
    Tls(String),
    /// Admin token.
    #[error("admin token {path}: {reason}")]
    Token {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        reason: String,
    },
}

/// Live state of the connection to one peer, for status.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct LinkStatus {
    /// connected, connecting, backoff, idle, blocked.
    pub inbound_state: String,
    /// Peer log position applied.
    pub inbound_cursor: u64,
    /// Peer's newest position, as last reported.
    pub inbound_head: u64,
    /// Last time anything arrived.
    pub last_contact_ms: UnixMillis,
    /// Open streams the peer holds on us.
    pub outbound_streams: u32,
    /// Last failure.
    pub last_error: String,
    /// Last time the cursor reached the peer's head.
    pub caught_up_at_ms: UnixMillis,
}

/// The node.
#[derive(Debug)]
pub struct Node {
    config: Arc<Config>,
    store: Store,
    ledger: Ledger,
    shared: Arc<Shared>,
    federation_key: FederationKey,
    normalize: NormalizeContext,
    signing: RwLock<Vec<Arc<SigningKey>>>,
    peers: RwLock<HashMap<String, Peer>>,
    peers_changed: watch::Sender<u64>,
    links: RwLock<HashMap<String, LinkStatus>>,
    started_at_ms: UnixMillis,
    tls_ca_pem: RwLock<String>,
    /// Serializes key rotations and revocations.
    key_ops: tokio::sync::Mutex<()>,
    /// The TLS material the servers use, once running (for reload).
    own_cert: std::sync::OnceLock<Arc<crate::tls::OwnCert>>,
}

impl Node {
    /// Opens the node's keys and store and starts its ledger.
    ///
    /// # Errors
    ///
    /// [`StartError`] saying what is missing or broken, and where.
    pub fn open(config: Config) -> Result<(Arc<Node>, std::thread::JoinHandle<()>), StartError> {
        let keys_dir = config.resolve(&config.paths.keys);
        let signing: Vec<Arc<SigningKey>> = SigningKey::read_dir(&keys_dir)?.into_iter().map(Arc::new).collect();
        let epoch = config.privacy.federation_key_epoch;
        let federation_key = FederationKey::read_from(&keys_dir.join(FederationKey::file_name(epoch)), epoch)?;
        let tls = config.tls_files();
        let tls_ca_pem = std::fs::read_to_string(&tls.ca)
            .map_err(|e| StartError::Tls(format!("cannot read {}: {e}", tls.ca.display())))?;
        let store = store::open(&config.resolve(&config.paths.db), config.store.engine, config.store.cache_mib)?;
        let shared = Arc::new(Shared {
            lookup: load_lookup_index(&store, config.store.lookup_cache_entries)?,
            ..Shared::default()
        });
        let mut peers = HashMap::new();
        for r in store.scan_prefix(Keyspace::Peers, b"") {
            let (_, v) = r?;
            let peer: Peer = serde_json::from_slice(&v)
                .map_err(|e| StoreError::Corrupt { keyspace: Keyspace::Peers, reason: e.to_string() })?;
            peers.insert(peer.node_id().to_string(), peer);
        }
        let current = signing.last().cloned().ok_or_else(|| KeyFileError::NoKey { dir: keys_dir.clone() })?;
        let (ledger, handle) = Ledger::start(
            store.clone(),
            LedgerConfig {
                origin: config.node_id.clone(),
                commit_batch: config.limits.commit_batch,
                max_seq_gap: config.limits.max_seq_gap,
            },
            current,
            shared.clone(),
        )?;
        {
            let mut ring = shared.keyring.write().unwrap_or_else(|p| p.into_inner());
            for k in &signing {
                ring.insert(&config.node_id, k.public(), k.valid_from_ms());
            }
        }
        let normalize = NormalizeContext { region: config.region.clone() };
        let (peers_changed, _) = watch::channel(0);
        let node = Node {
            config: Arc::new(config),
            store,
            ledger,
            shared,
            federation_key,
            normalize,
            signing: RwLock::new(signing),
            peers: RwLock::new(peers),
            peers_changed,
            links: RwLock::new(HashMap::new()),
            started_at_ms: now_ms(),
            tls_ca_pem: RwLock::new(tls_ca_pem),
            key_ops: tokio::sync::Mutex::new(()),
            own_cert: std::sync::OnceLock::new(),
        };
        Ok((Arc::new(node), handle))
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// This node's id.
    pub fn id(&self) -> &str {
        &self.config.node_id
    }

    /// The store (read side).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The ledger (write side).
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// Keys and hidden entries shared with the ledger.
    pub fn shared(&self) -> &Shared {
        &self.shared
    }

    /// When the node started.
    pub fn started_at_ms(&self) -> UnixMillis {
        self.started_at_ms
    }

    /// Ids of this node's signing keys, oldest first.
    pub fn signing_key_ids(&self) -> Vec<String> {
        self.signing.read().unwrap_or_else(|p| p.into_inner()).iter().map(|k| k.id().to_string()).collect()
    }

    // --- indicators ------------------------------------------------------------

    /// Normalizes and checks one submission.
    ///
    /// # Errors
    ///
    /// [`InputError`] naming the field.
    pub fn prepare(&self, input: NewIndicator) -> Result<Draft, InputError> {
        let kind = input.kind.ok_or_else(|| InputError::new("kind", "is missing"))?;
        let canonical = normalize::normalize(kind, &input.value, &self.normalize)
            .map_err(|e| InputError::new("value", e.to_string()))?;
        let mut categories = input.categories;
        categories.sort();
        categories.dedup();
        if categories.is_empty() {
            return Err(InputError::new("category", "at least one category is required"));
        }
        let confidence =
            Confidence::try_from(input.confidence).map_err(|e| InputError::new("confidence", e.to_string()))?;
        let now = now_ms();
        let first_seen_ms = input.first_seen_ms.unwrap_or(now);
        let last_seen_ms = input.last_seen_ms.unwrap_or(now).max(first_seen_ms);
        if let Some(until) = input.valid_until_ms
            && until <= first_seen_ms
        {
            return Err(InputError::new("valid_until", "must be after first_seen"));
        }
        if input.description.as_ref().is_some_and(|d| d.len() > wire::MAX_DESCRIPTION) {
            return Err(InputError::new("description", format!("longer than {} bytes", wire::MAX_DESCRIPTION)));
        }
        if input.source_refs.len() > wire::MAX_SOURCE_REFS
            || input.source_refs.iter().any(|s| s.len() > wire::MAX_SOURCE_REF)
        {
            return Err(InputError::new(
                "source_refs",
                format!("at most {} references of {} bytes", wire::MAX_SOURCE_REFS, wire::MAX_SOURCE_REF),
            ));
        }
        let (value, plain) = self.value_of(kind, canonical);
        Ok(Draft {
            kind,
            value,
            plain,
            categories,
            confidence,
            tlp: input.tlp.unwrap_or(Tlp::Amber),
            distribution: input.distribution.unwrap_or(Distribution::Federation),
            first_seen_ms,
            last_seen_ms,
            valid_until_ms: input.valid_until_ms,
            description: input.description.filter(|d| !d.is_empty()),
            source_refs: input.source_refs,
        })
    }

    /// The stored form of a normalized value: itself, or its keyed hash
    /// (with the plain value to keep locally) for personal data.
    pub(crate) fn value_of(&self, kind: Kind, canonical: String) -> (Value, Option<String>) {
        if kind.is_personal(self.config.privacy.hash_phone) {
            (self.federation_key.hash(kind, &canonical), Some(canonical))
        } else {
            (Value::Plain(canonical), None)
        }
    }

    /// How this node normalizes values.
    pub fn normalize_context(&self) -> &NormalizeContext {
        &self.normalize
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
    /// ([`crate::allowlist`]): a match is refused naming the list, unless
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
    /// nothing and answers [`Submitted::Unchanged`] (see [`same_content`]).
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
        let allow = self.allowlist_entries(true)?;
        let mut overridden = Vec::new();
        let mut out: Vec<Option<Result<Submitted, InputError>>> = Vec::with_capacity(inputs.len());
        let mut drafts = Vec::new();
        let mut slots = Vec::new();
        for input in inputs {
            let prepared = self.prepare(input).and_then(|d| {
                let canonical = d.plain.clone().unwrap_or_else(|| d.value.as_str().to_string());
                match crate::allowlist::find(&allow, d.kind, &canonical) {
                    None => Ok(d),
                    Some(hit) if override_allowlist => {
                        overridden.push(format!("{} {canonical} (list {})", d.kind, hit.list));
                        Ok(d)
                    }
                    Some(hit) => Err(crate::allowlist::refusal(hit, &canonical)),
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
                    drafts.push(Publish::Upsert(d));
                }
                Err(e) => out.push(Some(Err(e))),
            }
        }
        if !drafts.is_empty() {
            let mut audit = vec![AuditDraft::admin(actor, "indicator.add", format!("{} indicator(s)", drafts.len()))];
            for o in overridden {
                audit.push(AuditDraft::admin(actor, "allowlist.override", o));
            }
            let results = self.ledger.publish(drafts, audit).await?;
            for (slot, r) in slots.into_iter().zip(results) {
                let stored = r.map_err(NodeError::from)?;
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
        let stored = results.pop().ok_or_else(|| NodeError::NotFound(id.into()))??;
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
            return Err(StoreError::Corrupt {
                keyspace: Keyspace::Log,
                reason: format!("{local_seq} is not an indicator"),
            });
        };
        let (value, keyed_hash, hash_epoch) = match &ind.value {
            Value::Plain(v) => (v.clone(), None, None),
            Value::Keyed { epoch, digest } => {
                let plain = self.store.get(Keyspace::Plain, &layout::plain_key(ind.kind, digest))?;
                let shown = plain.map(|p| String::from_utf8_lossy(&p).into_owned()).unwrap_or_else(|| digest.clone());
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

    /// Reads and decodes one log entry.
    ///
    /// # Errors
    ///
    /// Store failures or a corrupt entry.
    pub fn log_entry(&self, local_seq: u64) -> Result<Option<(SignedEnvelope, EnvelopeBody)>, StoreError> {
        let Some(bytes) = self.store.get(Keyspace::Log, &layout::seq_key(local_seq))? else { return Ok(None) };
        decode_log(&bytes).map(Some)
    }

    /// Current versions of indicators, in log order after `after`.
    ///
    /// # Errors
    ///
    /// Store failures.
    pub fn list(&self, filter: &ListFilter) -> Result<Vec<IndicatorRecord>, StoreError> {
        let limit = if filter.limit == 0 { 100 } else { filter.limit };
        let hidden = self.shared.hidden.read().unwrap_or_else(|p| p.into_inner()).clone();
        let mut out = Vec::new();
        for r in self.store.scan_after(Keyspace::Log, &layout::seq_key(filter.after)) {
            let (k, v) = r?;
            let seq = layout::read_u64(&k).unwrap_or(0);
            if hidden.contains(&seq) {
                continue;
            }
            let (env, body) = decode_log(&v)?;
            let Entry::Indicator(ind) = &body.entry else { continue };
            if filter.kind.is_some_and(|k| k != ind.kind) || filter.origin.as_ref().is_some_and(|o| *o != body.origin) {
                continue;
            }
            if filter.signed_by.as_ref().is_some_and(|k| *k != env.key_id) {
                continue;
            }
            // Only the latest version of each indicator.
            let latest = self.indexed_at(ind.kind, ind.value.as_str(), &body.origin)?;
            if filter.signed_by.is_none() && latest != Some(seq) {
                continue;
            }
            if filter.min_score > 0 {
                let facts =
                    crate::feedback::FeedbackSummary::from_events(&self.feedback_events(ind.kind, ind.value.as_str())?);
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
    ///
    /// # Errors
    ///
    /// Store failures.
    pub fn lookup(&self, queries: &[(String, Option<Kind>)]) -> Result<Vec<LookupResult>, StoreError> {
        let now = now_ms();
        let mut results = Vec::with_capacity(queries.len());
        for (query, kind) in queries {
            let candidates = match kind {
                Some(k) => match normalize::normalize(*k, query, &self.normalize) {
                    Ok(v) => vec![(*k, v)],
                    Err(e) => {
                        results.push(LookupResult {
                            query: query.clone(),
                            found: false,
                            views: vec![],
                            error: Some(e.to_string()),
                        });
                        continue;
                    }
                },
                None => normalize::candidates(query, &self.normalize),
            };
            // Values stored under an older canonical form (e-mail local
            // parts kept their case) are found too.
            let legacy: Vec<(Kind, String)> = candidates
                .iter()
                .flat_map(|(k, _)| normalize::legacy_forms(*k, query).into_iter().map(|v| (*k, v)))
                .collect();
            let mut candidates = candidates;
            candidates.extend(legacy);
            let mut views = Vec::new();
            for (kind, canonical) in candidates {
                if let Some(view) = self.view(kind, canonical, now)? {
                    views.push(view);
                }
            }
            results.push(LookupResult { query: query.clone(), found: !views.is_empty(), views, error: None });
        }
        Ok(results)
    }

    /// The merged view of a normalized value, if any origin asserted it.
    ///
    /// # Errors
    ///
    /// Store failures.
    pub fn view(&self, kind: Kind, canonical: String, now: UnixMillis) -> Result<Option<MergedView>, StoreError> {
        let (value, plain) = self.value_of(kind, canonical);
        let Some(held) = self.shared.lookup.get(kind, value.as_str(), || self.held(kind, value.as_str()))? else {
            return Ok(None);
        };
        if held.assertions.is_empty() {
            return Ok(None);
        }
        // Most listed values have no feedback: nothing to summarize.
        let facts = if held.events.is_empty() {
            crate::feedback::FeedbackSummary::default()
        } else {
            crate::feedback::FeedbackSummary::from_events(&held.events)
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
        Ok(Some(if held.events.is_empty() { view } else { view.with_feedback(held.events.clone()) }))
    }

    /// What the store holds about a (kind, value): each origin's current
    /// assertion and the feedback events.
    fn held(&self, kind: Kind, value: &str) -> Result<crate::lookup_index::Held, StoreError> {
        let mut assertions = Vec::new();
        // One point read per known origin (bloom-filtered by the store)
        // costs far less than a range scan over every level of the index.
        for origin in self.shared.lookup.origins().iter() {
            let Some(seq) = self.indexed_at(kind, value, origin)? else { continue };
            let Some((_, body)) = self.log_entry(seq)? else { continue };
            if let Entry::Indicator(ind) = body.entry {
                assertions.push((body.origin, ind));
            }
        }
        let events = if assertions.is_empty() || !self.shared.lookup.may_have_feedback(kind, value) {
            Vec::new()
        } else {
            self.feedback_events(kind, value)?
        };
        Ok(crate::lookup_index::Held { assertions, events })
    }

    // --- peers -----------------------------------------------------------------

    /// Every peer.
    pub fn peers(&self) -> Vec<Peer> {
        let mut v: Vec<Peer> = self.peers.read().unwrap_or_else(|p| p.into_inner()).values().cloned().collect();
        v.sort_by(|a, b| a.node_id().cmp(b.node_id()));
        v
    }

    /// One peer.
    pub fn peer(&self, node_id: &str) -> Option<Peer> {
        self.peers.read().unwrap_or_else(|p| p.into_inner()).get(node_id).cloned()
    }

    /// Notified with a new number whenever the peer set or a peer's trust or
    /// agreement changes.
    pub fn peers_changed(&self) -> watch::Receiver<u64> {
        self.peers_changed.subscribe()
    }

    /// Imports a peer from its signed identity card.
    ///
    /// # Errors
    ///
    /// A card that does not verify, a duplicate or this node's own card.
    pub async fn add_peer(&self, mut peer: Peer, actor: &str) -> Result<Peer, NodeError> {
        let card = IdentityCard::verify(&peer.card_text).map_err(|e| InputError::new("identity", e.to_string()))?;
        if card.node_id == self.config.node_id {
            return Err(InputError::new("identity", "this is this node's own identity card").into());
        }
        if self.peer(&card.node_id).is_some() {
            return Err(NodeError::Conflict(format!(
                "peer {} already exists; use `peer set` or remove it first",
                card.node_id
            )));
        }
        peer.card = card;
        peer.added_at_ms = now_ms();
        let mut batch = Batch::default();
        put_peer(&mut batch, &peer)?;
        for k in &peer.card.signing_keys {
            let stored = StoredKey {
                owner: peer.card.node_id.clone(),
                public_key_hex: k.public_key_hex.clone(),
                valid_from_ms: k.valid_from_ms,
                revoked_at_ms: k.revoked_at_ms,
            };
            batch.put(Keyspace::Keys, k.key_id.as_bytes().to_vec(), serde_json::to_vec(&stored).unwrap_or_default());
        }
        let detail = format!(
            "trust={} member_only={} endpoint={} outbound={} inbound={}",
            peer.trust,
            peer.member_only,
            peer.endpoint(),
            serde_json::to_string(&peer.outbound).unwrap_or_default(),
            serde_json::to_string(&peer.inbound).unwrap_or_default()
        );
        self.ledger.apply(batch, vec![AuditDraft::trust(actor, "peer.add", peer.node_id(), detail)]).await?;
        {
            let mut ring = self.shared.keyring.write().unwrap_or_else(|p| p.into_inner());
            for k in &peer.card.signing_keys {
                if let Ok(vk) = k.public_key() {
                    let id = ring.insert(peer.node_id(), vk, k.valid_from_ms);
                    if let Some(at) = k.revoked_at_ms {
                        ring.revoke(id.as_str(), at);
                    }
                }
            }
        }
        self.peers.write().unwrap_or_else(|p| p.into_inner()).insert(peer.node_id().to_string(), peer.clone());
        self.peers_changed.send_modify(|n| *n += 1);
        Ok(peer)
    }

    /// Changes a peer's trust, agreements or endpoint.
    ///
    /// # Errors
    ///
    /// Unknown peer, store failure.
    pub async fn update_peer(&self, node_id: &str, change: PeerChange, actor: &str) -> Result<Peer, NodeError> {
        let mut peer = self.peer(node_id).ok_or_else(|| NodeError::NotFound(format!("no peer {node_id}")))?;
        if let Some(t) = change.trust {
            peer.trust = t;
        }
        if let Some(o) = change.outbound {
            peer.outbound = o;
        }
        if let Some(i) = change.inbound {
            peer.inbound = i;
        }
        if let Some(e) = change.endpoint {
            peer.endpoint_override = Some(e);
        }
        let mut batch = Batch::default();
        put_peer(&mut batch, &peer)?;
        let detail = format!(
            "trust={} endpoint={} outbound={} inbound={}",
            peer.trust,
            peer.endpoint(),
            serde_json::to_string(&peer.outbound).unwrap_or_default(),
            serde_json::to_string(&peer.inbound).unwrap_or_default()
        );
        self.ledger.apply(batch, vec![AuditDraft::trust(actor, "peer.set", node_id, detail)]).await?;
        self.peers.write().unwrap_or_else(|p| p.into_inner()).insert(node_id.to_string(), peer.clone());
        self.peers_changed.send_modify(|n| *n += 1);
        Ok(peer)
    }

    /// Removes a peer: its streams close, its handshakes are refused, and
    /// its keys are no longer trusted for new envelopes.
    ///
    /// # Errors
    ///
    /// Unknown peer, store failure.
    pub async fn remove_peer(&self, node_id: &str, actor: &str) -> Result<(), NodeError> {
        let peer = self.peer(node_id).ok_or_else(|| NodeError::NotFound(format!("no peer {node_id}")))?;
        let mut batch = Batch::default();
        batch.delete(Keyspace::Peers, node_id.as_bytes().to_vec());
        batch.delete(Keyspace::Cursors, node_id.as_bytes().to_vec());
        for k in &peer.card.signing_keys {
            batch.delete(Keyspace::Keys, k.key_id.as_bytes().to_vec());
        }
        self.ledger.apply(batch, vec![AuditDraft::trust(actor, "peer.remove", node_id, "")]).await?;
        self.shared.keyring.write().unwrap_or_else(|p| p.into_inner()).remove_owner(node_id);
        self.peers.write().unwrap_or_else(|p| p.into_inner()).remove(node_id);
        self.links.write().unwrap_or_else(|p| p.into_inner()).remove(node_id);
        self.peers_changed.send_modify(|n| *n += 1);
        Ok(())
    }

    // --- identity ----------------------------------------------------------------

    /// This node's identity card, signed with its newest key.
    pub fn identity_card(&self) -> String {
        let keys = self.signing.read().unwrap_or_else(|p| p.into_inner()).clone();
        let ca = self.tls_ca_pem.read().unwrap_or_else(|p| p.into_inner()).clone();
        let ring = self.shared.keyring.read().unwrap_or_else(|p| p.into_inner()).clone();
        let mut card = identity_card_unsigned(&self.config, &keys, &ca);
        for k in &mut card.signing_keys {
            k.revoked_at_ms = crate::keys::PublicKeyLookup::public_key(&ring, &k.key_id).and_then(|s| s.revoked_at_ms);
        }
        match keys.last() {
            Some(k) => card.sign(k),
            None => String::new(),
        }
    }

    // --- review ------------------------------------------------------------------

    /// Records held for review.
    ///
    /// # Errors
    ///
    /// Store failures.
    pub fn quarantine(&self, include_decided: bool) -> Result<Vec<(u64, QuarantineRecord)>, StoreError> {
        let mut out = Vec::new();
        for r in self.store.scan_prefix(Keyspace::Quarantine, b"") {
            let (k, v) = r?;
            let rec: QuarantineRecord = serde_json::from_slice(&v)
                .map_err(|e| StoreError::Corrupt { keyspace: Keyspace::Quarantine, reason: e.to_string() })?;
            if include_decided || rec.decision == "pending" {
                out.push((layout::read_u64(&k).unwrap_or(0), rec));
            }
        }
        Ok(out)
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
        self.ledger.decide(local_seq, accept, note.into(), actor.into()).await.map_err(|e| match e {
            ledger::DecideError::NotFound(_) => NodeError::NotFound(e.to_string()),
            ledger::DecideError::AlreadyDecided(..) => NodeError::Conflict(e.to_string()),
            ledger::DecideError::Store(s) => NodeError::Store(s),
        })
    }

    // --- federation link state -----------------------------------------------------

    /// Updates the status of the link to a peer.
    pub fn update_link(&self, peer: &str, f: impl FnOnce(&mut LinkStatus)) {
        let mut links = self.links.write().unwrap_or_else(|p| p.into_inner());
        f(links.entry(peer.to_string()).or_default());
    }

    /// Status of every link.
    pub fn links(&self) -> HashMap<String, LinkStatus> {
        self.links.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// A counter kept by the ledger (`count/...`).
    ///
    /// # Errors
    ///
    /// Store failures.
    pub fn counter(&self, name: &str) -> Result<u64, StoreError> {
        Ok(self.store.get(Keyspace::Meta, name.as_bytes())?.and_then(|v| layout::read_u64(&v)).unwrap_or(0))
    }

    /// Every counter with a prefix, e.g. `count/kind/`.
    ///
    /// # Errors
    ///
    /// Store failures.
    pub fn counters(&self, prefix: &str) -> Result<Vec<(String, u64)>, StoreError> {
        let mut out = Vec::new();
        for r in self.store.scan_prefix(Keyspace::Meta, prefix.as_bytes()) {
            let (k, v) = r?;
            let name = String::from_utf8_lossy(&k[prefix.len()..]).into_owned();
            out.push((name, layout::read_u64(&v).unwrap_or(0)));
        }
        Ok(out)
    }

    /// The log position of the latest accepted version of `origin`'s
    /// assertion of (kind, value), from the index: an entry at another
    /// position is an older version.
    ///
    /// # Errors
    ///
    /// The store's.
    pub fn indexed_at(&self, kind: Kind, value: &str, origin: &str) -> Result<Option<u64>, StoreError> {
        let key = layout::index_key(kind, value, origin);
        Ok(self.store.get(Keyspace::Index, &key)?.and_then(|v| layout::read_u64(&v)))
    }

    /// The subscription cursor recorded for a peer.
    ///
    /// # Errors
    ///
    /// Store failures.
    pub fn cursor(&self, peer: &str) -> Result<u64, StoreError> {
        Ok(self.store.get(Keyspace::Cursors, peer.as_bytes())?.and_then(|v| layout::read_u64(&v)).unwrap_or(0))
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
}

/// A change to a peer; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct PeerChange {
    /// Trust.
    pub trust: Option<Trust>,
    /// Outbound agreement.
    pub outbound: Option<OutboundAgreement>,
    /// Inbound agreement.
    pub inbound: Option<InboundAgreement>,
    /// Endpoint override.
    pub endpoint: Option<String>,
}

fn put_peer(batch: &mut Batch, peer: &Peer) -> Result<(), StoreError> {
    let bytes = serde_json::to_vec(peer).map_err(|e| StoreError::Engine(e.to_string()))?;
    batch.put(Keyspace::Peers, peer.node_id().as_bytes().to_vec(), bytes);
    Ok(())
}

/// Decodes a log record.
///
/// # Errors
///
/// [`StoreError::Corrupt`].
pub fn decode_log(bytes: &[u8]) -> Result<(SignedEnvelope, EnvelopeBody), StoreError> {
    let env = wire::decode_envelope(bytes)
        .map_err(|e| StoreError::Corrupt { keyspace: Keyspace::Log, reason: e.to_string() })?;
    let body = wire::decode_body(&env.body)
        .map_err(|e| StoreError::Corrupt { keyspace: Keyspace::Log, reason: e.to_string() })?;
    Ok((env, body))
}

/// The current score of one assertion given the feedback about its value.
pub fn score_of(
    ind: &Indicator,
    now: UnixMillis,
    scoring: &crate::scoring::ScoringConfig,
    facts: &crate::feedback::FeedbackSummary,
) -> crate::scoring::Score {
    scoring.score(
        &crate::scoring::ScoreInput {
            confidence: ind.confidence.get(),
            categories: &ind.categories,
            last_seen_ms: ind.last_seen_ms,
            valid_until_ms: ind.valid_until_ms,
            revoked: ind.action == crate::model::Action::Revoke,
            last_sighting_ms: facts.last_sighting_ms,
            false_positive_votes: u32::try_from(facts.false_positives.len()).unwrap_or(u32::MAX),
        },
        now,
    )
}

/// The membership set of every indexed value, read from the index keyspace.
fn load_lookup_index(store: &Store, cache_entries: usize) -> Result<crate::lookup_index::LookupIndex, StoreError> {
    let index = crate::lookup_index::LookupIndex::new(cache_entries);
    for r in store.scan_prefix(Keyspace::Index, b"") {
        let (k, _) = r?;
        let (kind, value, _) = layout::split_index_key(&k)
            .ok_or_else(|| StoreError::Corrupt { keyspace: Keyspace::Index, reason: "bad index key".into() })?;
        index.insert_member(kind, value);
    }
    for r in store.scan_prefix(Keyspace::Feedback, b"") {
        let (k, _) = r?;
        // kind 0x00 value 0x00 reporter 0x00 local_seq: the first two parts.
        let mut parts = k.splitn(3, |&b| b == 0);
        let kind = parts.next().and_then(|p| std::str::from_utf8(p).ok()).and_then(|p| p.parse::<Kind>().ok());
        let value = parts.next().and_then(|p| std::str::from_utf8(p).ok());
        let (Some(kind), Some(value)) = (kind, value) else {
            return Err(StoreError::Corrupt { keyspace: Keyspace::Feedback, reason: "bad feedback key".into() });
        };
        index.insert_feedback(kind, value);
    }
    Ok(index)
}

fn assertion(
    origin: &str,
    ind: &Indicator,
    now: UnixMillis,
    scoring: &crate::scoring::ScoringConfig,
    facts: &crate::feedback::FeedbackSummary,
) -> Assertion {
    let score = score_of(ind, now, scoring, facts);
    let status = if ind.action == crate::model::Action::Revoke {
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

/// Builds and signs a node's identity card.
pub fn identity_card(config: &Config, keys: &[Arc<SigningKey>], tls_ca_pem: &str) -> String {
    let card = identity_card_unsigned(config, keys, tls_ca_pem);
    match keys.last() {
        Some(k) => card.sign(k),
        None => String::new(),
    }
}

/// A node's identity card before signing (keys listed without revocations).
fn identity_card_unsigned(config: &Config, keys: &[Arc<SigningKey>], tls_ca_pem: &str) -> IdentityCard {
    IdentityCard {
        version: 1,
        node_id: config.node_id.clone(),
        federation_endpoint: config.federation_endpoint().to_string(),
        tls_name: jaring_certs::tls_name(&config.node_id),
        tls_ca_pem: tls_ca_pem.to_string(),
        signing_keys: keys
            .iter()
            .map(|k| CardKey {
                key_id: k.id().to_string(),
                public_key_hex: hex::encode(k.public().as_bytes()),
                valid_from_ms: k.valid_from_ms(),
                revoked_at_ms: None,
            })
            .collect(),
        issued_at_ms: now_ms(),
    }
}
