//! `node.toml`: one struct per subsystem, every field documented, validated
//! before anything starts.
//!
//! Relative paths are resolved against the directory holding `node.toml`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::node_id::NodeId;

/// The whole configuration of a node.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Short stable name of this node, e.g. `ID`, `VN`, `id-kominfo`.
    pub node_id: NodeId,
    /// ISO 3166-1 alpha-2 region used to read national phone numbers, e.g. `ID`.
    #[serde(default)]
    pub region: Option<String>,
    /// Federation listener (mTLS gRPC for peers).
    pub federation: FederationConfig,
    /// Admin listener (gRPC for the `jaring` CLI).
    pub admin: AdminConfig,
    /// HTTPS listener for TAXII, metrics and health (optional).
    #[serde(default)]
    pub http: Option<HttpConfig>,
    /// Where the node keeps its files.
    #[serde(default)]
    pub paths: PathsConfig,
    /// Store engine and cache.
    #[serde(default)]
    pub store: StoreConfig,
    /// Personal-data handling.
    #[serde(default)]
    pub privacy: PrivacyConfig,
    /// Resource limits.
    #[serde(default)]
    pub limits: LimitsConfig,
    /// Log output.
    #[serde(default)]
    pub logging: LoggingConfig,
    /// Confidence decay: per-category half-life and lifetime, false-positive
    /// factor (see [`crate::scoring`]).
    #[serde(default)]
    pub scoring: crate::scoring::ScoringConfig,
    /// This node's transparency log: the Merkle tree over its log, signed
    /// checkpoints, witnessing its peers (docs/transparency.md).
    #[serde(default)]
    pub log: LogConfig,
    /// Takedown cases: default due time, per-platform webhooks.
    #[serde(default)]
    pub takedown: crate::takedowns::config::TakedownConfig,
    /// Directory of `node.toml`; relative paths resolve against it.
    #[serde(skip)]
    pub base_dir: PathBuf,
}

/// `[federation]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FederationConfig {
    /// `host:port` to listen on.
    pub listen: String,
    /// `host:port` peers dial, written into the identity card. Default: `listen`.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// Milliseconds a client has to finish its TLS handshake (with its
    /// certificate) before the connection is dropped.
    #[serde(default = "default_handshake_timeout_ms")]
    pub handshake_timeout_ms: u64,
    /// Connections still in their TLS handshake, all clients together. When
    /// full, the oldest is dropped to make room (one that has sent nothing
    /// first), so idle connections cannot keep a peer out.
    #[serde(default = "default_max_handshakes")]
    pub max_handshakes: usize,
    /// Connections in their TLS handshake from one IP address; more from
    /// that address are closed at once.
    #[serde(default = "default_max_handshakes_per_ip")]
    pub max_handshakes_per_ip: usize,
}

/// `[admin]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminConfig {
    /// `host:port` to listen on. Must be loopback unless
    /// [`Self::allow_remote`].
    pub listen: String,
    /// TLS with the node's own certificate (`tls/node.pem`), so the CLI
    /// knows it talks to this node before it sends the token. `false`
    /// (plaintext) is allowed on loopback only.
    #[serde(default = "default_true")]
    pub tls: bool,
    /// Allow a non-loopback `listen` address (the admin API is then
    /// reachable from the network; TLS stays required).
    #[serde(default)]
    pub allow_remote: bool,
    /// Open admin connections, all clients together; more are closed at once.
    #[serde(default = "default_admin_max_connections")]
    pub max_connections: usize,
    /// Milliseconds a client has to finish its TLS handshake.
    #[serde(default = "default_handshake_timeout_ms")]
    pub handshake_timeout_ms: u64,
}

/// `[http]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// `host:port` to listen on.
    pub listen: String,
    /// The URL clients reach this listener at (e.g. behind a reverse proxy:
    /// `https://cti.kominfo.go.id`), used in TAXII discovery's `api_roots`.
    /// Default: the scheme `https` and the authority each request names.
    #[serde(default)]
    pub public_url: Option<String>,
    /// Open connections, all clients together; more are closed at once.
    #[serde(default = "default_http_max_connections")]
    pub max_connections: usize,
    /// Open connections from one IP address; more are closed at once.
    #[serde(default = "default_http_max_connections_per_ip")]
    pub max_connections_per_ip: usize,
    /// Milliseconds a client has to finish its TLS handshake.
    #[serde(default = "default_handshake_timeout_ms")]
    pub handshake_timeout_ms: u64,
    /// Milliseconds a client has to send a request's headers (HTTP/1.1),
    /// counted from when the server starts waiting for them: this also
    /// bounds an idle keep-alive connection between requests.
    #[serde(default = "default_header_read_timeout_ms")]
    pub header_read_timeout_ms: u64,
    /// Milliseconds without a byte read or written after which a connection
    /// is closed (HTTP/2 connections, slow readers, stalled uploads).
    #[serde(default = "default_idle_timeout_ms")]
    pub idle_timeout_ms: u64,
    /// Concurrent HTTP/2 streams per connection.
    #[serde(default = "default_http_max_streams")]
    pub max_streams_per_connection: u32,
}

impl FederationConfig {
    /// `[federation]` listening on `listen` with the default limits.
    pub fn new(listen: String, endpoint: Option<String>) -> FederationConfig {
        FederationConfig {
            listen,
            endpoint,
            handshake_timeout_ms: default_handshake_timeout_ms(),
            max_handshakes: default_max_handshakes(),
            max_handshakes_per_ip: default_max_handshakes_per_ip(),
        }
    }

    /// The bounds on the listener's TLS handshakes.
    pub fn handshake_limits(&self) -> crate::tls::HandshakeLimits {
        crate::tls::HandshakeLimits {
            timeout: std::time::Duration::from_millis(self.handshake_timeout_ms),
            max_in_flight: self.max_handshakes,
            max_per_ip: self.max_handshakes_per_ip,
        }
    }
}

impl AdminConfig {
    /// `[admin]` listening on `listen`, with TLS and the default limits.
    pub fn new(listen: String) -> AdminConfig {
        AdminConfig {
            listen,
            tls: true,
            allow_remote: false,
            max_connections: default_admin_max_connections(),
            handshake_timeout_ms: default_handshake_timeout_ms(),
        }
    }
}

impl HttpConfig {
    /// `[http]` listening on `listen` with the default limits.
    pub fn new(listen: String) -> HttpConfig {
        HttpConfig {
            listen,
            public_url: None,
            max_connections: default_http_max_connections(),
            max_connections_per_ip: default_http_max_connections_per_ip(),
            handshake_timeout_ms: default_handshake_timeout_ms(),
            header_read_timeout_ms: default_header_read_timeout_ms(),
            idle_timeout_ms: default_idle_timeout_ms(),
            max_streams_per_connection: default_http_max_streams(),
        }
    }
}

fn default_true() -> bool {
    true
}
fn default_handshake_timeout_ms() -> u64 {
    5_000
}
fn default_max_handshakes() -> usize {
    128
}
fn default_max_handshakes_per_ip() -> usize {
    8
}
fn default_admin_max_connections() -> usize {
    64
}
fn default_http_max_connections() -> usize {
    512
}
fn default_http_max_connections_per_ip() -> usize {
    32
}
fn default_header_read_timeout_ms() -> u64 {
    10_000
}
fn default_idle_timeout_ms() -> u64 {
    30_000
}
fn default_http_max_streams() -> u32 {
    32
}

/// Whether a `host:port` listen address is on loopback only (`127.0.0.0/8`,
/// `::1`, `localhost`). Wildcards (`0.0.0.0`, `::`) and other names are not.
pub fn is_loopback_listen(addr: &str) -> bool {
    if let Ok(a) = addr.parse::<SocketAddr>() {
        return a.ip().is_loopback();
    }
    addr.rsplit_once(':').is_some_and(|(host, _)| host.eq_ignore_ascii_case("localhost"))
}

/// `[paths]`, relative to the node directory.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PathsConfig {
    /// Signing keys and federation keys.
    #[serde(default = "default_keys")]
    pub keys: PathBuf,
    /// The store.
    #[serde(default = "default_db")]
    pub db: PathBuf,
    /// TLS material: `ca.pem`, `node.pem`, `node.key`.
    #[serde(default = "default_tls")]
    pub tls: PathBuf,
    /// The admin bearer token (mode 0600).
    #[serde(default = "default_token")]
    pub admin_token: PathBuf,
    /// This node's identity card.
    #[serde(default = "default_identity")]
    pub identity: PathBuf,
}

fn default_keys() -> PathBuf {
    "keys".into()
}
fn default_db() -> PathBuf {
    "db".into()
}
fn default_tls() -> PathBuf {
    "tls".into()
}
fn default_token() -> PathBuf {
    "admin.token".into()
}
fn default_identity() -> PathBuf {
    "identity.json".into()
}

impl Default for PathsConfig {
    fn default() -> Self {
        PathsConfig {
            keys: default_keys(),
            db: default_db(),
            tls: default_tls(),
            admin_token: default_token(),
            identity: default_identity(),
        }
    }
}

/// `[store]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// Storage engine: `fjall` (default), `sled`, or `postgres` (a
    /// database several node processes share; see docs/scaling.md). An
    /// embedded store keeps the engine it was created with.
    #[serde(default)]
    pub engine: crate::store::EngineKind,
    /// Engine cache size in MiB.
    #[serde(default = "default_cache")]
    pub cache_mib: u64,
    /// Listed values whose assertions lookups keep in memory (hot values
    /// are answered without reading the store); 0 turns the cache off.
    #[serde(default = "default_lookup_cache")]
    pub lookup_cache_entries: usize,
    /// On a shared store (PostgreSQL): fill the lookup cache from the
    /// database in the background at start, so a process that starts or
    /// takes over answers listed values from memory rather than with a
    /// round trip each (false: each value is read when first asked).
    #[serde(default = "default_true")]
    pub lookup_cache_warm: bool,
    /// PostgreSQL: the primary, `postgres://USER@HOST:PORT/DB` (add
    /// `?sslmode=require` for TLS). Never with a password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// PostgreSQL: a streaming replica this process reads from while it is
    /// not the writer (lookups, TAXII, the HTTP API).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_url: Option<String>,
    /// PostgreSQL: file holding the password (first line; mode 0600,
    /// relative to the node directory).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_file: Option<PathBuf>,
    /// PostgreSQL: environment variable holding the password when no file
    /// is named.
    #[serde(default = "default_password_env")]
    pub password_env: String,
    /// PostgreSQL: CA certificate(s), PEM, that verify the server; turns TLS
    /// (rustls) on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_ca: Option<PathBuf>,
    /// PostgreSQL: schema holding the node's tables.
    #[serde(default = "default_schema")]
    pub schema: String,
    /// PostgreSQL: reading sessions per server.
    #[serde(default = "default_connections")]
    pub connections: usize,
    /// PostgreSQL: how long the writer lease lasts without renewal; a
    /// standby takes over at most this long after the writer died.
    #[serde(default = "default_lease_ms")]
    pub lease_ms: u64,
    /// PostgreSQL: how often a standby looks for new commits and an
    /// expired lease.
    #[serde(default = "default_poll_ms")]
    pub poll_ms: u64,
    /// PostgreSQL: `synchronous_commit` for the node's sessions (`on`,
    /// `remote_write`, `remote_apply`, ...); the server's setting if unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synchronous_commit: Option<String>,
    /// PostgreSQL: `auto` (writer when it holds the lease, else a standby
    /// that takes over) or `reader` (a lookup process that never writes).
    #[serde(default)]
    pub role: crate::store::StoreRole,
    /// For tests only: while this file exists, every commit fails as on a
    /// full disk (`crate::store::fault`). Unset in real configurations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_fault_file: Option<PathBuf>,
}

fn default_cache() -> u64 {
    128
}
fn default_lookup_cache() -> usize {
    131_072
}
fn default_password_env() -> String {
    crate::store::postgres::DEFAULT_PASSWORD_ENV.into()
}
fn default_schema() -> String {
    crate::store::postgres::DEFAULT_SCHEMA.into()
}
fn default_connections() -> usize {
    crate::store::postgres::DEFAULT_CONNECTIONS
}
fn default_lease_ms() -> u64 {
    crate::store::postgres::DEFAULT_LEASE.as_millis() as u64
}
fn default_poll_ms() -> u64 {
    crate::store::postgres::DEFAULT_POLL.as_millis() as u64
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            engine: crate::store::EngineKind::default(),
            cache_mib: default_cache(),
            lookup_cache_entries: default_lookup_cache(),
            lookup_cache_warm: true,
            url: None,
            read_url: None,
            password_file: None,
            password_env: default_password_env(),
            tls_ca: None,
            schema: default_schema(),
            connections: default_connections(),
            lease_ms: default_lease_ms(),
            poll_ms: default_poll_ms(),
            synchronous_commit: None,
            role: crate::store::StoreRole::default(),
            test_fault_file: None,
        }
    }
}

impl StoreConfig {
    /// The PostgreSQL options, paths resolved against `base`; `None` for an
    /// embedded engine.
    pub fn postgres(&self, base: &Path) -> Option<crate::store::postgres::PgOptions> {
        if self.engine != crate::store::EngineKind::Postgres {
            return None;
        }
        let mut o = crate::store::postgres::PgOptions::new(self.url.clone().unwrap_or_default());
        o.read_url = self.read_url.clone();
        o.password_file = self.password_file.as_ref().map(|p| base.join(p));
        o.password_env = self.password_env.clone();
        o.tls_ca = self.tls_ca.as_ref().map(|p| base.join(p));
        o.schema = self.schema.clone();
        o.connections = self.connections;
        o.lease = std::time::Duration::from_millis(self.lease_ms);
        o.poll = std::time::Duration::from_millis(self.poll_ms.clamp(10, 10_000));
        o.synchronous_commit = self.synchronous_commit.clone();
        o.role = self.role;
        Some(o)
    }
}

/// `[privacy]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrivacyConfig {
    /// Treat phone numbers as personal data (keyed hashes only).
    #[serde(default)]
    pub hash_phone: bool,
    /// Epoch of the federation key in `keys/federation-<epoch>.key`.
    #[serde(default = "default_epoch")]
    pub federation_key_epoch: u32,
}

fn default_epoch() -> u32 {
    1
}

impl Default for PrivacyConfig {
    fn default() -> Self {
        PrivacyConfig { hash_phone: false, federation_key_epoch: default_epoch() }
    }
}

/// `[limits]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    /// Largest gRPC message accepted, in bytes.
    #[serde(default = "default_max_message")]
    pub max_message_bytes: usize,
    /// Most indicators in one submit or one federation batch.
    #[serde(default = "default_max_batch")]
    pub max_batch: usize,
    /// Most operations the writer groups into one durable commit.
    #[serde(default = "default_commit_batch")]
    pub commit_batch: usize,
    /// An origin_seq more than this far above the origin's head is refused.
    #[serde(default = "default_max_seq_gap")]
    pub max_seq_gap: u64,
    /// Entries per second one peer's stream may push (token bucket refill);
    /// beyond it the subscriber stops reading and the stream slows down.
    #[serde(default = "default_peer_entries_per_s")]
    pub peer_entries_per_s: u64,
    /// Entries one peer may push at once before [`Self::peer_entries_per_s`] applies.
    #[serde(default = "default_peer_entries_burst")]
    pub peer_entries_burst: u64,
    /// Refused envelopes per second one peer's stream may cause (each is
    /// audited); past it the subscriber reads that peer slower.
    #[serde(default = "default_peer_refusals_per_s")]
    pub peer_refusals_per_s: u64,
    /// Refusals one peer may cause at once before [`Self::peer_refusals_per_s`] applies.
    #[serde(default = "default_peer_refusals_burst")]
    pub peer_refusals_burst: u64,
    /// Concurrent `Subscribe` streams one peer may hold; more get RESOURCE_EXHAUSTED.
    #[serde(default = "default_max_streams_per_peer")]
    pub max_streams_per_peer: usize,
    /// How far ahead of this node's clock a time a peer supplies may be, in
    /// ms (an envelope's `created_at`, an indicator's first and last seen, a
    /// feedback event's `observed_at`, a new key's `valid_from`): later ones
    /// are refused (`time_in_future`). Also bounds `observed_at` of feedback
    /// added here.
    #[serde(default = "default_max_clock_skew_ms")]
    pub max_clock_skew_ms: i64,
}

fn default_max_message() -> usize {
    4 * 1024 * 1024
}
fn default_max_batch() -> usize {
    1024
}
fn default_commit_batch() -> usize {
    4096
}
fn default_max_seq_gap() -> u64 {
    1_000_000
}
fn default_peer_entries_per_s() -> u64 {
    50_000
}
fn default_peer_entries_burst() -> u64 {
    10_000
}
fn default_peer_refusals_per_s() -> u64 {
    100
}
fn default_peer_refusals_burst() -> u64 {
    1_000
}
fn default_max_streams_per_peer() -> usize {
    4
}
fn default_max_clock_skew_ms() -> i64 {
    300_000
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            max_message_bytes: default_max_message(),
            max_batch: default_max_batch(),
            commit_batch: default_commit_batch(),
            max_seq_gap: default_max_seq_gap(),
            peer_entries_per_s: default_peer_entries_per_s(),
            peer_entries_burst: default_peer_entries_burst(),
            peer_refusals_per_s: default_peer_refusals_per_s(),
            peer_refusals_burst: default_peer_refusals_burst(),
            max_streams_per_peer: default_max_streams_per_peer(),
            max_clock_skew_ms: default_max_clock_skew_ms(),
        }
    }
}

/// `[log]`: the transparency log (docs/transparency.md).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// Keep the Merkle tree of the log in every commit, sign checkpoints
    /// and serve them (`/log/`). Off, the node keeps no tree (it rebuilds
    /// it from the log when turned on again) but still witnesses its peers.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// While the log grows, a new checkpoint is signed at most this often
    /// (and at least this often), in milliseconds.
    #[serde(default = "default_checkpoint_interval")]
    pub checkpoint_interval_ms: u64,
    /// How often this node asks each peer it follows for its latest
    /// checkpoint, to verify and cosign it, in milliseconds.
    #[serde(default = "default_witness_interval")]
    pub witness_interval_ms: u64,
}

fn default_checkpoint_interval() -> u64 {
    1000
}
fn default_witness_interval() -> u64 {
    1000
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            enabled: true,
            checkpoint_interval_ms: default_checkpoint_interval(),
            witness_interval_ms: default_witness_interval(),
        }
    }
}

/// `[logging]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoggingConfig {
    /// `human` or `json`.
    #[serde(default = "default_format")]
    pub format: String,
    /// A tracing filter, e.g. `info` or `jaring_node=debug,info`.
    #[serde(default = "default_level")]
    pub level: String,
}

fn default_format() -> String {
    "human".into()
}
fn default_level() -> String {
    "info".into()
}

impl Default for LoggingConfig {
    fn default() -> Self {
        LoggingConfig { format: default_format(), level: default_level() }
    }
}

/// Where, beside `node.toml`, a running node records the addresses it
/// listens on (`listen.json`): tools find a node configured with port 0
/// (pick any free port) there.
pub const LISTEN_FILE: &str = "listen.json";

/// The addresses a node's listeners are bound to.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub struct Bound {
    /// Admin API.
    pub admin: std::net::SocketAddr,
    /// Federation (mTLS).
    pub federation: std::net::SocketAddr,
    /// HTTPS, when configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<std::net::SocketAddr>,
}

impl Bound {
    /// Replaces every port 0 in `config` with the port the listener got;
    /// returns whether the federation port was picked this way (then the
    /// identity card's endpoint changed).
    pub fn pin(&self, config: &mut Config) -> bool {
        let picked = |listen: &str| listen.rsplit_once(':').is_some_and(|(_, port)| port == "0");
        if picked(&config.admin.listen) {
            config.admin.listen = self.admin.to_string();
        }
        if let (Some(h), Some(addr)) = (config.http.as_mut(), self.http)
            && picked(&h.listen)
        {
            h.listen = addr.to_string();
        }
        if picked(&config.federation.listen) {
            config.federation.listen = self.federation.to_string();
            return config.federation.endpoint.is_none();
        }
        false
    }

    /// Writes `listen.json` (0600); a failure is logged, not fatal.
    pub fn write(&self, path: &std::path::Path) {
        let text = serde_json::to_string_pretty(self).unwrap_or_default();
        if let Err(e) = crate::fsutil::write_atomic(path, format!("{text}\n").as_bytes(), 0o600) {
            tracing::warn!(path = %path.display(), error = %e, "cannot record the listening addresses");
        }
    }

    /// Reads the addresses a node in `dir` recorded when it started.
    ///
    /// # Errors
    ///
    /// The file is missing (the node never started) or unreadable.
    pub fn read(dir: &std::path::Path) -> std::io::Result<Bound> {
        let text = std::fs::read_to_string(dir.join(LISTEN_FILE))?;
        serde_json::from_str(&text).map_err(std::io::Error::other)
    }
}

/// A configuration that cannot run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML for this schema.
    #[error("{path}: {reason}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message (with line and column).
        reason: String,
    },
    /// A value is out of range.
    #[error("{path}: {field}: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The field, dotted.
        field: &'static str,
        /// Why.
        reason: String,
    },
}

impl Config {
    /// Reads and validates `node.toml`.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] naming the file and field.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.into(), source })?;
        let mut config: Config =
            toml::from_str(&text).map_err(|e| ConfigError::Parse { path: path.into(), reason: e.to_string() })?;
        config.base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        if config.base_dir.as_os_str().is_empty() {
            config.base_dir = PathBuf::from(".");
        }
        config.validate(path)?;
        Ok(config)
    }

    fn validate(&self, path: &Path) -> Result<(), ConfigError> {
        let invalid = |field, reason: String| ConfigError::Invalid { path: path.into(), field, reason };
        if let Some(pg) = self.store.postgres(&self.base_dir) {
            if self.store.url.is_none() {
                return Err(invalid(
                    "store.url",
                    "engine = \"postgres\" needs url = \"postgres://USER@HOST:PORT/DB\"".into(),
                ));
            }
            pg.check().map_err(|e| invalid("store.url", e.to_string()))?;
        }
        if let Some(region) = &self.region
            && (region.len() != 2 || !region.bytes().all(|c| c.is_ascii_uppercase()))
        {
            return Err(invalid("region", format!("{region:?} is not an ISO 3166-1 alpha-2 code like \"ID\"")));
        }
        check_addr(&self.federation.listen).map_err(|r| invalid("federation.listen", r))?;
        check_addr(&self.admin.listen).map_err(|r| invalid("admin.listen", r))?;
        if !is_loopback_listen(&self.admin.listen) {
            if !self.admin.tls {
                return Err(invalid(
                    "admin.tls",
                    format!("plaintext (tls = false) is allowed on loopback only, not on {}", self.admin.listen),
                ));
            }
            if !self.admin.allow_remote {
                return Err(invalid(
                    "admin.listen",
                    format!(
                        "{} is not a loopback address; the admin API belongs on 127.0.0.1 \
                         (set [admin] allow_remote = true to serve it on the network)",
                        self.admin.listen
                    ),
                ));
            }
        }
        if let Some(http) = &self.http {
            check_addr(&http.listen).map_err(|r| invalid("http.listen", r))?;
            if let Some(u) = &http.public_url {
                check_public_url(u).map_err(|r| invalid("http.public_url", r))?;
            }
            if http.max_connections == 0 || http.max_connections_per_ip == 0 || http.max_streams_per_connection == 0 {
                return Err(invalid("http.max_connections", "connection and stream caps must be at least 1".into()));
            }
            for (field, ms) in [
                ("http.handshake_timeout_ms", http.handshake_timeout_ms),
                ("http.header_read_timeout_ms", http.header_read_timeout_ms),
                ("http.idle_timeout_ms", http.idle_timeout_ms),
            ] {
                check_timeout(ms).map_err(|r| invalid(field, r))?;
            }
        }
        if self.admin.max_connections == 0 {
            return Err(invalid("admin.max_connections", "must be at least 1".into()));
        }
        check_timeout(self.admin.handshake_timeout_ms).map_err(|r| invalid("admin.handshake_timeout_ms", r))?;
        if self.federation.max_handshakes == 0 || self.federation.max_handshakes_per_ip == 0 {
            return Err(invalid("federation.max_handshakes", "handshake caps must be at least 1".into()));
        }
        check_timeout(self.federation.handshake_timeout_ms)
            .map_err(|r| invalid("federation.handshake_timeout_ms", r))?;
        for (field, ms) in [
            ("log.checkpoint_interval_ms", self.log.checkpoint_interval_ms),
            ("log.witness_interval_ms", self.log.witness_interval_ms),
        ] {
            check_timeout(ms).map_err(|r| invalid(field, r))?;
        }
        if !matches!(self.logging.format.as_str(), "human" | "json") {
            return Err(invalid("logging.format", "must be \"human\" or \"json\"".into()));
        }
        if self.limits.max_batch == 0 || self.limits.commit_batch == 0 {
            return Err(invalid("limits", "batch sizes must be at least 1".into()));
        }
        if self.limits.max_message_bytes < 64 * 1024 {
            return Err(invalid("limits.max_message_bytes", "must be at least 65536".into()));
        }
        if self.limits.peer_entries_per_s == 0 || self.limits.peer_entries_burst == 0 {
            return Err(invalid("limits.peer_entries_per_s", "rate and burst must be at least 1".into()));
        }
        if self.limits.peer_refusals_per_s == 0 || self.limits.peer_refusals_burst == 0 {
            return Err(invalid("limits.peer_refusals_per_s", "rate and burst must be at least 1".into()));
        }
        if self.limits.max_streams_per_peer == 0 {
            return Err(invalid("limits.max_streams_per_peer", "must be at least 1".into()));
        }
        if !(0..=86_400_000).contains(&self.limits.max_clock_skew_ms) {
            return Err(invalid("limits.max_clock_skew_ms", "must be 0-86400000 (a day)".into()));
        }
        self.scoring.validate().map_err(|(field, reason)| invalid(field, reason))?;
        self.takedown.validate().map_err(|(field, reason)| invalid(field, reason))?;
        Ok(())
    }

    /// Resolves a path from the configuration against the node directory.
    pub fn resolve(&self, p: &Path) -> PathBuf {
        if p.is_absolute() { p.to_path_buf() } else { self.base_dir.join(p) }
    }

    /// Opens the node's store: the embedded engine in `paths.db`, or the
    /// PostgreSQL database of `[store] url`.
    ///
    /// # Errors
    ///
    /// [`crate::store::StoreError::Open`].
    pub fn open_store(&self) -> Result<crate::store::Store, crate::store::StoreError> {
        match self.store.postgres(&self.base_dir) {
            Some(pg) => crate::store::open_postgres(&pg),
            None => crate::store::open(&self.resolve(&self.paths.db), self.store.engine, self.store.cache_mib),
        }
    }

    /// The federation endpoint peers dial.
    pub fn federation_endpoint(&self) -> &str {
        self.federation.endpoint.as_deref().unwrap_or(&self.federation.listen)
    }

    /// TLS file paths.
    pub fn tls_files(&self) -> crate::tls::NodeTlsFiles {
        let dir = self.resolve(&self.paths.tls);
        crate::tls::NodeTlsFiles { ca: dir.join("ca.pem"), cert: dir.join("node.pem"), key: dir.join("node.key") }
    }

    /// Serializes to TOML, as `jaring init` writes it.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_default()
    }
}

/// Checks a timeout in milliseconds: 100 ms to one hour.
fn check_timeout(ms: u64) -> Result<(), String> {
    if (100..=3_600_000).contains(&ms) { Ok(()) } else { Err(format!("{ms} ms; must be 100 to 3600000")) }
}

/// Checks a `host:port` listen string.
fn check_addr(s: &str) -> Result<(), String> {
    if s.parse::<SocketAddr>().is_ok() {
        return Ok(());
    }
    match s.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => Ok(()),
        _ => Err(format!("{s:?} is not host:port")),
    }
}

/// `[http] public_url`: an absolute `https://` or `http://` URL with a
/// host, and no query or fragment.
fn check_public_url(u: &str) -> Result<(), String> {
    let url = url::Url::parse(u).map_err(|e| format!("{u:?} is not a URL: {e}"))?;
    if !matches!(url.scheme(), "https" | "http") || url.host_str().is_none() {
        return Err(format!("{u:?}: use https://host[:port][/path]"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!("{u:?}: no query or fragment"));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn write(dir: &Path, text: &str) -> PathBuf {
        let p = dir.join("node.toml");
        std::fs::write(&p, text).unwrap();
        p
    }

    const GOOD: &str = "node_id = \"ID\"\nregion = \"ID\"\n[federation]\nlisten = \"127.0.0.1:7700\"\n[admin]\nlisten = \"127.0.0.1:7701\"\n";

    #[test]
    fn minimal_config_gets_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let c = Config::load(&write(dir.path(), GOOD)).unwrap();
        assert_eq!(c.node_id, "ID");
        assert_eq!(c.store.engine, crate::store::EngineKind::Fjall);
        assert_eq!(c.resolve(&c.paths.db), dir.path().join("db"));
        assert_eq!(c.federation_endpoint(), "127.0.0.1:7700");
        assert!(c.admin.tls, "TLS on the admin listener by default");
        assert!(!c.admin.allow_remote);
    }

    #[test]
    fn loopback_listen_addresses() {
        for a in ["127.0.0.1:7701", "127.1.2.3:1", "[::1]:7701", "localhost:7701"] {
            assert!(is_loopback_listen(a), "{a}");
        }
        for a in ["0.0.0.0:7701", "[::]:7701", "192.0.2.1:7701", "admin.example.org:7701"] {
            assert!(!is_loopback_listen(a), "{a}");
        }
    }

    #[test]
    fn errors_name_the_field() {
        let dir = tempfile::tempdir().unwrap();
        let bad_region = GOOD.replace("region = \"ID\"", "region = \"Indonesia\"");
        let e = Config::load(&write(dir.path(), &bad_region)).unwrap_err();
        assert!(matches!(e, ConfigError::Invalid { field: "region", .. }), "{e}");
        let bad_addr = GOOD.replace("127.0.0.1:7701", "nowhere");
        let e = Config::load(&write(dir.path(), &bad_addr)).unwrap_err();
        assert!(matches!(e, ConfigError::Invalid { field: "admin.listen", .. }), "{e}");
        let e = Config::load(&write(dir.path(), "node_id = ")).unwrap_err();
        assert!(matches!(e, ConfigError::Parse { .. }), "{e}");
        let e = Config::load(&dir.path().join("missing.toml")).unwrap_err();
        assert!(e.to_string().contains("missing.toml"));
        let no_streams = format!("{GOOD}[limits]\nmax_streams_per_peer = 0\n");
        let e = Config::load(&write(dir.path(), &no_streams)).unwrap_err();
        assert!(matches!(e, ConfigError::Invalid { field: "limits.max_streams_per_peer", .. }), "{e}");
        let skew = format!("{GOOD}[limits]\nmax_clock_skew_ms = -1\n");
        let e = Config::load(&write(dir.path(), &skew)).unwrap_err();
        assert!(matches!(e, ConfigError::Invalid { field: "limits.max_clock_skew_ms", .. }), "{e}");
        let no_rate = format!("{GOOD}[limits]\npeer_entries_per_s = 0\n");
        let e = Config::load(&write(dir.path(), &no_rate)).unwrap_err();
        assert!(matches!(e, ConfigError::Invalid { field: "limits.peer_entries_per_s", .. }), "{e}");
        let unknown = format!("{GOOD}[store]\nengine = \"rocks\"\n");
        let e = Config::load(&write(dir.path(), &unknown)).unwrap_err();
        assert!(matches!(e, ConfigError::Parse { .. }) && e.to_string().contains("fjall"), "{e}");
        // The admin API stays on loopback unless allowed, and plaintext
        // only on loopback.
        let remote = GOOD.replace("127.0.0.1:7701", "0.0.0.0:7701");
        let e = Config::load(&write(dir.path(), &remote)).unwrap_err();
        assert!(matches!(e, ConfigError::Invalid { field: "admin.listen", .. }), "{e}");
        assert!(e.to_string().contains("allow_remote"), "{e}");
        let allowed = format!("{remote}allow_remote = true\n");
        let c = Config::load(&write(dir.path(), &allowed)).unwrap();
        assert!(c.admin.tls && c.admin.allow_remote);
        let remote_plain = format!("{remote}allow_remote = true\ntls = false\n");
        let e = Config::load(&write(dir.path(), &remote_plain)).unwrap_err();
        assert!(matches!(e, ConfigError::Invalid { field: "admin.tls", .. }), "{e}");
        let local_plain = format!("{GOOD}tls = false\n");
        assert!(!Config::load(&write(dir.path(), &local_plain)).unwrap().admin.tls);
        let sled = format!("{GOOD}[store]\nengine = \"sled\"\n");
        assert_eq!(Config::load(&write(dir.path(), &sled)).unwrap().store.engine, crate::store::EngineKind::Sled);
    }

    #[test]
    fn http_public_url_is_an_absolute_url() {
        let dir = tempfile::tempdir().unwrap();
        let with = |u: &str| format!("{GOOD}[http]\nlisten = \"127.0.0.1:7702\"\npublic_url = \"{u}\"\n");
        let ok = Config::load(&write(dir.path(), &with("https://cti.example.go.id/taxii"))).unwrap();
        assert_eq!(ok.http.unwrap().public_url.as_deref(), Some("https://cti.example.go.id/taxii"));
        for bad in ["cti.example.go.id", "ftp://cti.example.go.id", "https://cti.example.go.id/?a=1"] {
            let e = Config::load(&write(dir.path(), &with(bad))).unwrap_err();
            assert!(matches!(e, ConfigError::Invalid { field: "http.public_url", .. }), "{bad}: {e}");
        }
    }
}
