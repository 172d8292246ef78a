//! [`Credentials`]: every token a node accepts, in memory, and the check
//! each request goes through.
//!
//! Three sources, one table: the node's `admin.token` (the built-in
//! `admin`), the tokens made through the admin API (kept in the store,
//! `Keyspace::Tokens`, loaded at start and replaced after every change) and
//! the legacy `http-tokens.json` (`reader` tokens, re-read when the file
//! changes). A presented secret is hashed (SHA-256) and found by its digest;
//! the stored digest is then compared with the presented one in constant
//! time. Finding by digest leaks nothing of any stored secret: a caller
//! controls the digest only through SHA-256.
//!
//! Secrets are never kept: only their digests. Nothing here logs a secret.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::legacy::LegacyFile;
use super::limiter::TokenBucket;
use crate::access::{Denied, Operation, Rate, Role, Scope, TokenRecord};
use crate::model::now_ms;

/// Where a token comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The node's `admin.token`: the built-in `admin`.
    AdminToken,
    /// Made through the admin API; kept in the store.
    Store,
    /// The legacy `http-tokens.json`.
    File,
}

impl Source {
    /// Its name.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::AdminToken => "admin_token",
            Source::Store => "store",
            Source::File => "file",
        }
    }
}

/// The name of the built-in admin principal (`admin.token`).
pub const ADMIN: &str = "admin";

/// A digest of a secret.
pub type SecretDigest = [u8; 32];

/// The SHA-256 of a presented secret.
pub fn digest(secret: &str) -> SecretDigest {
    Sha256::digest(secret.as_bytes()).into()
}

/// One accepted token: its record, where it comes from, its bucket.
#[derive(Debug)]
pub struct Principal {
    record: TokenRecord,
    source: Source,
    digest: SecretDigest,
    bucket: Option<TokenBucket>,
}

impl Principal {
    fn new(record: TokenRecord, source: Source) -> Option<Principal> {
        let digest: SecretDigest = hex::decode(&record.sha256).ok()?.try_into().ok()?;
        let bucket = record.effective_rate().map(TokenBucket::new);
        Some(Principal { record, source, digest, bucket })
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.record.name
    }

    /// Its role.
    pub fn role(&self) -> Role {
        self.record.role
    }

    /// What it may read.
    pub fn scope(&self) -> &Scope {
        &self.record.scope
    }

    /// The platform it speaks for.
    pub fn platform(&self) -> Option<&str> {
        self.record.platform.as_deref()
    }

    /// Its record.
    pub fn record(&self) -> &TokenRecord {
        &self.record
    }

    /// Where it comes from.
    pub fn source(&self) -> Source {
        self.source
    }

    /// Its rate (`None`: unlimited).
    pub fn rate(&self) -> Option<Rate> {
        self.bucket.as_ref().map(TokenBucket::rate)
    }

    /// Who the audit log names for a change made with it: `admin` (or
    /// `admin:<operator>`) for the node's admin token, as before roles;
    /// `token:<name>` (or `token:<name>:<operator>`) for every other token.
    /// The operator is what the client says it is (the CLI sends `$USER`):
    /// a hint, the token is the credential.
    pub fn actor(&self, operator: Option<&str>) -> String {
        let op = operator.map(|s| {
            s.chars().filter(|c| c.is_ascii_alphanumeric() || "._-@".contains(*c)).take(64).collect::<String>()
        });
        let base = match self.source {
            Source::AdminToken => ADMIN.to_string(),
            _ => format!("token:{}", self.record.name),
        };
        match op.filter(|s| !s.is_empty()) {
            Some(op) => format!("{base}:{op}"),
            None => base,
        }
    }

    /// Takes `cost` from its bucket.
    ///
    /// # Errors
    ///
    /// [`Denied::RateLimited`] with when to retry.
    pub fn charge(&self, cost: u32) -> Result<(), Denied> {
        let Some(bucket) = &self.bucket else { return Ok(()) };
        bucket.take(cost, Instant::now()).map_err(|retry_after_ms| Denied::RateLimited {
            name: self.record.name.clone(),
            rate: bucket.rate(),
            retry_after_ms,
        })
    }
}

/// An authenticated request: who, and how the audit log names it.
#[derive(Debug, Clone)]
pub struct Session {
    /// The token.
    pub principal: Arc<Principal>,
    /// The audit log's actor for changes made in this request.
    pub actor: String,
}

impl Session {
    /// A session for a principal and the operator the client named.
    pub fn new(principal: Arc<Principal>, operator: Option<&str>) -> Session {
        let actor = principal.actor(operator);
        Session { principal, actor }
    }

    /// What the token may read.
    pub fn scope(&self) -> &Scope {
        self.principal.scope()
    }

    /// Whether the token's role allows `operation` (for operations a
    /// request asks for in its body, like `override_allowlist`).
    ///
    /// # Errors
    ///
    /// [`Denied::Role`].
    pub fn require(&self, operation: Operation) -> Result<(), Denied> {
        if self.principal.role().may(operation.permission()) {
            Ok(())
        } else {
            Err(Denied::Role { name: self.principal.name().into(), role: self.principal.role(), operation })
        }
    }

    /// The platform a request may name: a `platform` token's own (the
    /// request may repeat it or leave it out), anything for other roles.
    ///
    /// # Errors
    ///
    /// [`Denied::Platform`] when a bound token names another platform.
    pub fn platform(&self, asked: Option<String>) -> Result<Option<String>, Denied> {
        match (self.principal.platform(), asked) {
            (Some(bound), Some(a)) if !a.trim().eq_ignore_ascii_case(bound) => {
                Err(Denied::Platform { name: self.principal.name().into(), bound: bound.into(), asked: a })
            }
            (Some(bound), _) => Ok(Some(bound.to_string())),
            (None, asked) => Ok(asked),
        }
    }
}

type Table = HashMap<SecretDigest, Arc<Principal>>;

/// How often one (token, reason) refusal is written to the audit log; the
/// refusals in between are counted and named in the next entry.
pub const AUDIT_EVERY: Duration = Duration::from_secs(10);

/// A refusal's token and reason, audited once per interval.
type AuditKey = (String, &'static str);

/// Every token the node accepts.
#[derive(Debug)]
pub struct Credentials {
    admin: RwLock<Option<Arc<Principal>>>,
    stored: RwLock<Arc<Table>>,
    legacy_file: LegacyFile,
    legacy: RwLock<Arc<Table>>,
    refusals: [AtomicU64; Denied::REASONS.len()],
    rate_limited: Mutex<BTreeMap<String, u64>>,
    audited: Mutex<HashMap<AuditKey, (Instant, u64)>>,
    /// Serializes token changes (create, revoke), so the table in memory
    /// follows the store's order.
    pub(crate) changes: tokio::sync::Mutex<()>,
}

fn rebuild(old: &Table, records: Vec<TokenRecord>, source: Source) -> Table {
    let mut by_digest = HashMap::with_capacity(records.len());
    for record in records {
        let Some(p) = Principal::new(record, source) else {
            tracing::warn!("a token record without a usable digest is ignored");
            continue;
        };
        // Unchanged tokens keep their principal, and so their bucket.
        let p = match old.get(&p.digest) {
            Some(o) if o.record == p.record => o.clone(),
            _ => Arc::new(p),
        };
        by_digest.insert(p.digest, p);
    }
    by_digest
}

fn found(table: &Table, d: &SecretDigest) -> Option<Arc<Principal>> {
    let p = table.get(d)?;
    bool::from(p.digest.ct_eq(d)).then(|| p.clone())
}

impl Credentials {
    /// No tokens yet; the legacy file at `legacy`.
    pub fn new(legacy: std::path::PathBuf) -> Credentials {
        Credentials {
            admin: RwLock::new(None),
            stored: RwLock::new(Arc::new(Table::new())),
            legacy_file: LegacyFile::new(legacy),
            legacy: RwLock::new(Arc::new(Table::new())),
            refusals: std::array::from_fn(|_| AtomicU64::new(0)),
            rate_limited: Mutex::new(BTreeMap::new()),
            audited: Mutex::new(HashMap::new()),
            changes: tokio::sync::Mutex::new(()),
        }
    }

    /// Accepts `token` (the node's `admin.token`) as the built-in admin.
    pub fn set_admin_token(&self, token: &str) {
        let record = TokenRecord {
            name: ADMIN.into(),
            role: Role::Admin,
            scope: Scope::everything(),
            platform: None,
            expires_at_ms: None,
            allow_from: Vec::new(),
            rate: None,
            created_at_ms: 0,
            created_by: "jaring init (admin.token)".into(),
            revoked_at_ms: None,
            revoked_by: None,
            sha256: hex::encode(digest(token)),
        };
        *self.admin.write().unwrap_or_else(|p| p.into_inner()) =
            Principal::new(record, Source::AdminToken).map(Arc::new);
    }

    /// Replaces the stored tokens (after loading or changing them).
    pub fn set_stored(&self, records: Vec<TokenRecord>) {
        let mut stored = self.stored.write().unwrap_or_else(|p| p.into_inner());
        *stored = Arc::new(rebuild(&stored, records, Source::Store));
    }

    /// The legacy token file.
    pub fn legacy_file(&self) -> &LegacyFile {
        &self.legacy_file
    }

    fn legacy(&self) -> Arc<Table> {
        let (records, changed) = self.legacy_file.records();
        if changed {
            let mut legacy = self.legacy.write().unwrap_or_else(|p| p.into_inner());
            *legacy = Arc::new(rebuild(&legacy, records, Source::File));
        }
        self.legacy.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The token a secret is, if any (revoked and expired ones too).
    pub fn find(&self, secret: &str) -> Option<Arc<Principal>> {
        self.find_digest(&digest(secret))
    }

    /// The token whose secret has this digest, if any (revoked and
    /// expired ones too): what a console session keeps instead of the
    /// secret.
    pub fn find_digest(&self, d: &SecretDigest) -> Option<Arc<Principal>> {
        let d = *d;
        if let Some(admin) = self.admin.read().unwrap_or_else(|p| p.into_inner()).as_ref()
            && bool::from(admin.digest.ct_eq(&d))
        {
            return Some(admin.clone());
        }
        let stored = self.stored.read().unwrap_or_else(|p| p.into_inner()).clone();
        found(&stored, &d).or_else(|| found(&self.legacy(), &d))
    }

    /// Checks one request: the secret names a token that is neither
    /// revoked nor expired, used from a network it is bound to, whose role
    /// may ask for `operation`, within its rate (`cost` units).
    ///
    /// # Errors
    ///
    /// The first [`Denied`] that applies (counted for the metrics).
    pub fn authenticate(
        &self,
        secret: Option<&str>,
        from: IpAddr,
        operation: Operation,
        cost: u32,
    ) -> Result<Arc<Principal>, Denied> {
        let d = secret.filter(|s| !s.is_empty()).map(digest);
        self.authenticate_digest(d.as_ref(), from, operation, cost)
    }

    /// [`Self::authenticate`] for the token whose secret has digest `d`
    /// (a console session's): a token revoked or expired since is refused.
    ///
    /// # Errors
    ///
    /// The first [`Denied`] that applies (counted for the metrics).
    pub fn authenticate_digest(
        &self,
        d: Option<&SecretDigest>,
        from: IpAddr,
        operation: Operation,
        cost: u32,
    ) -> Result<Arc<Principal>, Denied> {
        let result = (|| {
            let p = d.and_then(|d| self.find_digest(d)).ok_or(Denied::UnknownToken)?;
            p.record.check(now_ms(), from, operation)?;
            p.charge(cost)?;
            Ok(p)
        })();
        if let Err(d) = &result {
            self.count(d);
        }
        result
    }

    /// Takes `cost` more units from a session's bucket (a batch's values,
    /// known once its body is read).
    ///
    /// # Errors
    ///
    /// [`Denied::RateLimited`] (counted).
    pub fn charge(&self, principal: &Principal, cost: u32) -> Result<(), Denied> {
        principal.charge(cost).inspect_err(|d| self.count(d))
    }

    /// Counts a refusal for the metrics.
    pub fn count(&self, d: &Denied) {
        if let Some(i) = Denied::REASONS.iter().position(|r| *r == d.reason()) {
            self.refusals[i].fetch_add(1, Ordering::Relaxed);
        }
        if let Denied::RateLimited { name, .. } = d {
            *self.rate_limited.lock().unwrap_or_else(|p| p.into_inner()).entry(name.clone()).or_insert(0) += 1;
        }
    }

    /// Refusals so far, by reason (every reason, from 0).
    pub fn refusal_counts(&self) -> Vec<(&'static str, u64)> {
        Denied::REASONS.iter().zip(&self.refusals).map(|(r, n)| (*r, n.load(Ordering::Relaxed))).collect()
    }

    /// Requests refused for their rate so far, by token.
    pub fn rate_limited_counts(&self) -> BTreeMap<String, u64> {
        self.rate_limited.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Whether a refusal is to be written to the audit log now: the first
    /// of its (token, reason) in [`AUDIT_EVERY`]. `Some(n)`: write it,
    /// naming the `n` refused since the last entry; `None`: counted only.
    pub fn audit_due(&self, d: &Denied) -> Option<u64> {
        let key = (d.token().unwrap_or("").to_string(), d.reason());
        let now = Instant::now();
        let mut audited = self.audited.lock().unwrap_or_else(|p| p.into_inner());
        match audited.get_mut(&key) {
            Some((at, skipped)) if now.duration_since(*at) < AUDIT_EVERY => {
                *skipped += 1;
                None
            }
            Some((at, skipped)) => {
                let n = *skipped;
                *at = now;
                *skipped = 0;
                Some(n)
            }
            None => {
                audited.insert(key, (now, 0));
                Some(0)
            }
        }
    }

    /// Every token: the built-in admin, the stored ones (revoked ones
    /// too), the legacy file's.
    pub fn list(&self) -> Vec<(TokenRecord, Source)> {
        let mut out = Vec::new();
        if let Some(a) = self.admin.read().unwrap_or_else(|p| p.into_inner()).as_ref() {
            out.push((a.record.clone(), a.source));
        }
        let mut stored: Vec<_> =
            self.stored.read().unwrap_or_else(|p| p.into_inner()).values().map(|p| p.record.clone()).collect();
        stored.sort_by(|a, b| a.name.cmp(&b.name));
        out.extend(stored.into_iter().map(|r| (r, Source::Store)));
        let mut legacy: Vec<_> = self.legacy().values().map(|p| p.record.clone()).collect();
        legacy.sort_by(|a, b| a.name.cmp(&b.name));
        out.extend(legacy.into_iter().map(|r| (r, Source::File)));
        out
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::model::Tlp;

    fn record(name: &str, secret: &str, role: Role) -> TokenRecord {
        TokenRecord {
            name: name.into(),
            role,
            scope: Scope { max_tlp: Tlp::Green, kinds: vec![], categories: vec![] },
            platform: None,
            expires_at_ms: None,
            allow_from: vec![],
            rate: Some(Rate { per_s: 1, burst: 2 }),
            created_at_ms: 0,
            created_by: "admin".into(),
            revoked_at_ms: None,
            revoked_by: None,
            sha256: hex::encode(digest(secret)),
        }
    }

    #[test]
    fn every_source_is_found_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(super::super::legacy::FILE);
        let c = Credentials::new(file.clone());
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        assert_eq!(c.authenticate(Some("nope"), ip, Operation::ReadFeed, 1).unwrap_err(), Denied::UnknownToken);
        assert_eq!(c.authenticate(None, ip, Operation::ReadFeed, 1).unwrap_err(), Denied::UnknownToken);
        c.set_admin_token("the-admin-token-0123456789");
        let admin = c.authenticate(Some("the-admin-token-0123456789"), ip, Operation::AddPeer, 1000).unwrap();
        assert_eq!((admin.name(), admin.source()), (ADMIN, Source::AdminToken));
        assert_eq!(admin.actor(Some("siti\n;rm")), "admin:sitirm");

        c.set_stored(vec![record("crawler", "jrt_c", Role::Submitter)]);
        let p = c.authenticate(Some("jrt_c"), ip, Operation::SubmitIndicators, 1).unwrap();
        assert_eq!(p.actor(None), "token:crawler");
        let e = c.authenticate(Some("jrt_c"), ip, Operation::AddPeer, 1).unwrap_err();
        assert!(matches!(e, Denied::Role { role: Role::Submitter, operation: Operation::AddPeer, .. }), "{e}");
        // Burst 2: the first call took one, the second is the last.
        c.authenticate(Some("jrt_c"), ip, Operation::SubmitIndicators, 1).unwrap();
        let e = c.authenticate(Some("jrt_c"), ip, Operation::SubmitIndicators, 1).unwrap_err();
        assert!(matches!(e, Denied::RateLimited { retry_after_ms: 1..=1000, .. }), "{e}");
        assert_eq!(c.rate_limited_counts().get("crawler"), Some(&1));

        // Revocation applies to the next request; the bucket of an
        // unchanged token is kept across a reload.
        let mut revoked = record("crawler", "jrt_c", Role::Submitter);
        revoked.revoked_at_ms = Some(1);
        c.set_stored(vec![revoked]);
        assert!(matches!(
            c.authenticate(Some("jrt_c"), ip, Operation::SubmitIndicators, 1),
            Err(Denied::Revoked { .. })
        ));

        let (secret, _) = super::super::legacy::create(&file, "opencti", Tlp::Green, vec![]).unwrap();
        let p = c.authenticate(Some(&secret), ip, Operation::ReadFeed, 1).unwrap();
        assert_eq!((p.role(), p.source()), (Role::Reader, Source::File));
        assert!(matches!(c.authenticate(Some(&secret), ip, Operation::LookupValues, 1), Err(Denied::Role { .. })));
        let names: Vec<String> = c.list().into_iter().map(|(r, _)| r.name).collect();
        assert_eq!(names, vec!["admin", "crawler", "opencti"]);
        let counts: BTreeMap<_, _> = c.refusal_counts().into_iter().collect();
        assert_eq!((counts["unknown_token"], counts["role"], counts["rate"], counts["revoked"]), (2, 2, 1, 1));
    }

    #[test]
    fn refusals_are_audited_once_per_window_with_the_rest_counted() {
        let c = Credentials::new(std::path::PathBuf::from("/nonexistent/http-tokens.json"));
        let d = Denied::Revoked { name: "x".into() };
        assert_eq!(c.audit_due(&d), Some(0));
        assert_eq!(c.audit_due(&d), None);
        assert_eq!(c.audit_due(&d), None);
        // Another token or reason has its own window.
        assert_eq!(c.audit_due(&Denied::Revoked { name: "y".into() }), Some(0));
        assert_eq!(c.audit_due(&Denied::Expired { name: "x".into(), at_ms: 1 }), Some(0));
    }

    #[test]
    fn a_bound_platform_token_speaks_only_for_its_platform() {
        let mut r = record("meta", "jrt_m", Role::Platform);
        r.platform = Some("facebook".into());
        let s = Session::new(Arc::new(Principal::new(r, Source::Store).unwrap()), None);
        assert_eq!(s.platform(None).unwrap().as_deref(), Some("facebook"));
        assert_eq!(s.platform(Some("Facebook".into())).unwrap().as_deref(), Some("facebook"));
        assert!(matches!(s.platform(Some("tiktok".into())), Err(Denied::Platform { .. })));
        assert!(matches!(s.require(Operation::SubmitIndicators), Err(Denied::Role { .. })));
    }
}
