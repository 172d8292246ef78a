//! [`Node`]: the indicator service behind the admin API, the federation and
//! the HTTPS listener.
//!
//! It owns the store, the ledger (single writer), this node's keys, the
//! federation key for personal data and the peer set. One file per job:
//! - [`indicators`]: submit, revoke, list, look up, the merged view;
//!   [`unchanged`]: re-submitting what is held publishes nothing;
//! - [`peers`]: peers and their agreements; link state for status;
//! - [`review`]: the quarantine;
//! - [`status`]: what admins, auditors and health checks see;
//! - [`feedback`]: signed feedback about held values;
//! - [`allowlist`]: admin allowlists, and the check every value that
//!   enters meets; [`warninglists`]: large imported lists (MISP
//!   warninglists, rankings), stored and built into the index at start;
//! - [`keys`]: the signing key lifecycle (rotate, revoke) and the identity
//!   card;
//! - [`tls`]: reloading TLS material and certificate expiry;
//! - [`transparency`]: the transparency log: checkpoints, cosignatures,
//!   inclusion proofs, and witnessing the peers' logs;
//! - [`tokens`]: the credentials of every party (making, revoking and
//!   checking tokens, auditing refusals);
//! - [`takedown`]: takedown cases (requests, the platform's queue and
//!   answers, expiry, service levels) and referrals;
//! - [`evidence`]: the evidence package about a value;
//! - [`error`]: how operations fail, with typed fields.

mod allowlist;
pub mod error;
mod evidence;
mod feedback;
mod indicators;
mod keys;
#[cfg(test)]
mod lookup_tests;
mod peers;
mod review;
mod status;
mod takedown;
mod tls;
mod tokens;
mod transparency;
#[cfg(test)]
mod trust_tests;
mod unchanged;
mod warninglists;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use tokio::sync::watch;

use crate::config::Config;
use crate::keys::SigningKey;
use crate::ledger::{Committed, Ledger, LedgerConfig};
use crate::lookup_index::LookupIndex;
use crate::model::{Kind, UnixMillis, now_ms};
use crate::normalize::NormalizeContext;
use crate::peers::Peer;
use crate::pii::Privacy;
use crate::store::{LogEntry, Store, StoreError, Tables};
use crate::warninglist::{Allowlists, SharedAllowIndex};

pub use allowlist::AllowCheck;
pub use error::{Conflict, Forbidden, NodeError, NotFound, StartError};
pub use evidence::EvidencePackage;
pub use indicators::ListFilter;
pub use keys::{KeyInfo, identity_card};
pub use peers::{LinkStatus, PeerChange};
pub use review::ReviewItem;
pub use status::{CertStatus, OriginStatus, PeerStatus, SigningKeyStatus, StatusReport};
pub use takedown::{
    Answerer, CaseNotice, CasePage, EXPIRY_ACTOR, MAX_PAGE, NewReferral, NoticeKind, Page, QueueQuery, Requested,
};
pub use tls::{CERT_WARNING_MS, CertExpiry, pem_not_after};
pub use transparency::{
    AddCheckpointError, CosignatureOutcome, LogForkStatus, LogStatus, PeerLog, Transparency, WitnessedLog,
    empty_checkpoint,
};
pub use unchanged::{SubmitOptions, Submitted};
pub use warninglists::{CHUNKS_PER_COMMIT, ImportedList, ListImport, ListImportOutcome, MAX_IMPORT_BYTES};

/// The node.
#[derive(Debug)]
pub struct Node {
    config: Arc<Config>,
    store: Store,
    ledger: Ledger,
    committed: Arc<Committed>,
    privacy: Privacy,
    normalize: NormalizeContext,
    signing: RwLock<Vec<Arc<SigningKey>>>,
    peers: RwLock<HashMap<String, Peer>>,
    peers_changed: watch::Sender<u64>,
    peer_trust: crate::tls::PeerTrust,
    links: RwLock<HashMap<String, LinkStatus>>,
    started_at_ms: UnixMillis,
    tls_ca_pem: RwLock<String>,
    /// Serializes key rotations and revocations.
    key_ops: tokio::sync::Mutex<()>,
    /// The TLS material the servers use, once running (for reload).
    own_cert: std::sync::OnceLock<Arc<crate::tls::OwnCert>>,
    /// This node's transparency log: checkpoints, cosignatures, witnessing.
    transparency: Transparency,
    /// Every allowlist, indexed: what each value that enters is checked
    /// against.
    allowlists: SharedAllowIndex<Allowlists>,
    /// Serializes allowlist changes; holds the highest generation a large
    /// list was stored under.
    allowlist_ops: tokio::sync::Mutex<u64>,
    /// Every token this node accepts.
    credentials: crate::access::Credentials,
    /// Takedown cases: the lock on transitions, change and push signals.
    takedowns: takedown::TakedownState,
}

impl Node {
    /// Opens the node's keys and store and starts its ledger.
    ///
    /// # Errors
    ///
    /// [`StartError`] saying what is missing or broken, and where.
    pub fn open(config: Config) -> Result<(Arc<Node>, std::thread::JoinHandle<()>), StartError> {
        let keys_dir = config.resolve(&config.paths.keys);
        let signing: Vec<Arc<SigningKey>> =
            crate::keystore::read_signing_keys(&keys_dir)?.into_iter().map(Arc::new).collect();
        let epoch = config.privacy.federation_key_epoch;
        let federation_key =
            crate::keystore::read_federation_key(&keys_dir.join(crate::pii::FederationKey::file_name(epoch)), epoch)?;
        let tls = config.tls_files();
        let tls_ca_pem =
            std::fs::read_to_string(&tls.ca).map_err(|source| StartError::TlsCa { path: tls.ca.clone(), source })?;
        let store = config.open_store()?;
        let store = match &config.store.test_fault_file {
            Some(f) => {
                let path = config.resolve(f);
                tracing::warn!(path = %path.display(), "[store] test_fault_file: commits fail while this file exists");
                store.with_fault_file(path)
            }
            None => store,
        };
        // A shared store is written by its writer only (through the ledger):
        // it was made with the STIX id table.
        let indexed = if store.shared().is_some() { 0 } else { store.backfill_stix_ids()? };
        if indexed > 0 {
            tracing::info!(indexed, "indexed the STIX ids of the indicators held (once)");
        }
        let privacy = Privacy::new(federation_key, config.privacy.hash_phone);
        // Before the ledger starts: loading may delete chunks of an
        // interrupted import, and nothing else may write then.
        let (allowlists, last_generation) = warninglists::load(&store, &privacy)?;
        // Read before the index: a standby follows commits from here on.
        let index_at = store.log_head()?;
        let committed = Arc::new(Committed {
            lookup: load_lookup_index(&store, config.store.lookup_cache_entries)?,
            ..Committed::default()
        });
        let peers = store.peer_records()?.into_iter().map(|p| (p.node_id().to_string(), p)).collect();
        let transparency = Transparency::open(&store, &jaring_certs::tls_name(&config.node_id))?;
        let credentials = crate::access::Credentials::new(crate::access::legacy::path(&config));
        credentials.set_stored(store.token_records()?);
        let current =
            signing.last().cloned().ok_or_else(|| crate::keystore::KeyFileError::NoKey { dir: keys_dir.clone() })?;
        let (ledger, handle) = Ledger::start(
            store.clone(),
            LedgerConfig {
                origin: config.node_id.to_string(),
                commit_batch: config.limits.commit_batch,
                max_seq_gap: config.limits.max_seq_gap,
                tlog: config.log.enabled,
                pipeline: store.shared().is_some() || test_pipeline(),
            },
            current,
            committed.clone(),
            writer_info(&config),
            index_at,
        )?;
        {
            let mut ring = committed.keyring.write().unwrap_or_else(|p| p.into_inner());
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
            committed,
            privacy,
            normalize,
            signing: RwLock::new(signing),
            peers: RwLock::new(peers),
            peers_changed,
            peer_trust: crate::tls::PeerTrust::new(),
            links: RwLock::new(HashMap::new()),
            started_at_ms: now_ms(),
            tls_ca_pem: RwLock::new(tls_ca_pem),
            key_ops: tokio::sync::Mutex::new(()),
            own_cert: std::sync::OnceLock::new(),
            transparency,
            allowlists: SharedAllowIndex::new(allowlists),
            allowlist_ops: tokio::sync::Mutex::new(last_generation),
            credentials,
            takedowns: takedown::TakedownState::new(),
        };
        node.refresh_peer_trust();
        let node = Arc::new(node);
        Node::warm_lookup_cache(&node);
        Ok((node, handle))
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

    /// What this process is for its store: the writer, a standby or a
    /// reader.
    pub fn role(&self) -> crate::ledger::Role {
        self.ledger.role().borrow().clone()
    }

    /// How far this process's read replica is behind its primary, if it
    /// reads one (not while it is the writer).
    pub fn replica_lag(&self) -> Option<std::time::Duration> {
        self.store.shared().and_then(|s| s.replica_lag().ok().flatten())
    }

    /// Whether the store takes commits (the last one succeeded).
    pub fn store_health(&self) -> crate::ledger::StoreHealth {
        self.ledger.health().borrow().clone()
    }

    /// Keeps probing the store while its commits fail (every `every`),
    /// until shutdown: the node is healthy again at the first commit that
    /// succeeds.
    pub async fn probe_store_while_failing(&self, every: std::time::Duration, mut shutdown: crate::shutdown::Shutdown) {
        let mut health = self.ledger.health();
        loop {
            let failing = health.borrow_and_update().failing;
            if failing {
                tokio::select! {
                    _ = tokio::time::sleep(every) => {}
                    _ = shutdown.wait() => return,
                }
                if let Err(e) = self.ledger.probe().await {
                    tracing::warn!(error = %e, "store still refuses commits");
                }
                continue;
            }
            tokio::select! {
                r = health.changed() => if r.is_err() { return },
                _ = shutdown.wait() => return,
            }
        }
    }

    /// What readers see of the ledger's last commit: trusted keys, hidden
    /// log positions, the lookup index.
    pub fn committed(&self) -> &Committed {
        &self.committed
    }

    /// How this node carries values (which kinds are hashed, and the key).
    pub fn privacy(&self) -> &Privacy {
        &self.privacy
    }

    /// How this node normalizes values.
    pub fn normalize_context(&self) -> &NormalizeContext {
        &self.normalize
    }

    /// When the node started.
    pub fn started_at_ms(&self) -> UnixMillis {
        self.started_at_ms
    }

    /// Ids of this node's signing keys, oldest first.
    pub fn signing_key_ids(&self) -> Vec<String> {
        self.signing.read().unwrap_or_else(|p| p.into_inner()).iter().map(|k| k.id().to_string()).collect()
    }

    /// Reads and decodes one log entry.
    ///
    /// # Errors
    ///
    /// Store failures or a corrupt entry.
    pub fn log_entry(&self, local_seq: u64) -> Result<Option<LogEntry>, StoreError> {
        self.store.log_entry(local_seq)
    }

    /// The log position of the latest accepted version of `origin`'s
    /// assertion of (kind, value), from the index: an entry at another
    /// position is an older version.
    ///
    /// # Errors
    ///
    /// The store's.
    pub fn indexed_at(&self, kind: Kind, value: &str, origin: &str) -> Result<Option<u64>, StoreError> {
        self.store.indexed_at(kind, value, origin)
    }
}

/// How this process names itself in the writer lease: where writes go.
fn writer_info(config: &Config) -> crate::store::WriterInfo {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    crate::store::WriterInfo {
        holder: format!("{}/{}/{}", host.trim(), std::process::id(), now_ms()),
        admin: config.admin.listen.clone(),
        federation: config.federation_endpoint().to_string(),
        http: config.http.as_ref().map(|h| h.listen.clone()),
    }
}

/// The membership set of every indexed value, read from the store.
fn load_lookup_index(store: &Store, cache_entries: usize) -> Result<LookupIndex, StoreError> {
    let index = LookupIndex::new(cache_entries);
    index.cache_commits(store.shared().is_some());
    for r in store.indexed_values() {
        let (kind, value) = r?;
        index.insert_member(kind, &value);
    }
    for r in store.values_with_feedback() {
        let (kind, value) = r?;
        index.insert_feedback(kind, &value);
    }
    Ok(index)
}

#[cfg(test)]
thread_local! {
    /// Set by a test before [`Node::open`] on its thread: the writer
    /// pipelines its commits on an embedded engine too, so the pipeline's
    /// failure paths are tested without a database.
    pub(crate) static TEST_PIPELINE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether a test asked for the writer's pipeline ([`TEST_PIPELINE`]).
fn test_pipeline() -> bool {
    #[cfg(test)]
    return TEST_PIPELINE.with(std::cell::Cell::get);
    #[cfg(not(test))]
    false
}
