//! Console sessions: a server-side table from a random session id (the
//! cookie) to the digest of the token that logged in, with an absolute
//! lifetime, an idle timeout and a CSRF token.
//!
//! - The id is 32 bytes from the OS random source, sent once as the
//!   `jaring_session` cookie (`HttpOnly; Secure; SameSite=Strict;
//!   Path=/console/; Max-Age`). The table is keyed by the SHA-256 of the id,
//!   so a lookup's timing says nothing about the ids held, and a memory dump
//!   of the table does not give usable cookies.
//! - A session keeps the SHA-256 of the token's secret, never the secret.
//!   Every request is authorized again by that digest
//!   ([`crate::node::Node::authorize_digest`]), so a token revoked or
//!   expired ends its sessions at their next request, and the role and
//!   scope used are always the token's current ones.
//! - The CSRF token (32 random bytes) is carried by every form as a hidden
//!   field and compared in constant time ([`Active::csrf_matches`]).
//! - Logout removes the entry; expired entries are swept on every login,
//!   and the table holds at most [`MAX_SESSIONS`] (the least recently used
//!   is dropped first).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::access::credentials::SecretDigest;

/// The session cookie.
pub const COOKIE: &str = "jaring_session";

/// How long a session lasts at most.
pub const LIFETIME: Duration = Duration::from_secs(8 * 3600);

/// How long a session lasts without a request.
pub const IDLE: Duration = Duration::from_secs(30 * 60);

/// Most sessions held at once.
pub const MAX_SESSIONS: usize = 10_000;

/// The OS random source failed.
#[derive(Debug, thiserror::Error)]
#[error("the OS random source failed: {0}")]
pub struct NoRandom(String);

/// 32 random bytes, hex.
///
/// # Errors
///
/// [`NoRandom`] when the OS gives none.
pub fn random_hex() -> Result<String, NoRandom> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| NoRandom(e.to_string()))?;
    Ok(hex::encode(bytes))
}

/// Compares two secrets in constant time (for their common length).
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

type Key = [u8; 32];

fn key_of(id: &str) -> Key {
    Sha256::digest(id.as_bytes()).into()
}

#[derive(Debug, Clone)]
struct Entry {
    token: SecretDigest,
    csrf: String,
    created: Instant,
    last_seen: Instant,
}

impl Entry {
    fn live(&self, now: Instant, lifetime: Duration, idle: Duration) -> bool {
        now.saturating_duration_since(self.created) < lifetime && now.saturating_duration_since(self.last_seen) < idle
    }
}

/// A new session: the cookie's value and the CSRF token.
#[derive(Clone)]
pub struct Opened {
    /// The session id (the cookie's value).
    pub id: String,
    /// The session's CSRF token.
    pub csrf: String,
}

impl std::fmt::Debug for Opened {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Opened(<redacted>)")
    }
}

/// A session found for a request.
#[derive(Clone)]
pub struct Active {
    /// The session id, as the cookie gave it.
    pub id: String,
    /// The digest of the token that logged in.
    pub token: SecretDigest,
    /// The CSRF token every form carries.
    pub csrf: String,
}

impl std::fmt::Debug for Active {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Active(<redacted>)")
    }
}

impl Active {
    /// Whether a form's CSRF field is this session's (constant time).
    pub fn csrf_matches(&self, given: Option<&str>) -> bool {
        given.is_some_and(|g| same_secret(g, &self.csrf))
    }
}

/// The console's sessions.
#[derive(Debug)]
pub struct Sessions {
    table: Mutex<HashMap<Key, Entry>>,
    lifetime: Duration,
    idle: Duration,
    max: usize,
}

impl Default for Sessions {
    fn default() -> Sessions {
        Sessions::new(LIFETIME, IDLE, MAX_SESSIONS)
    }
}

impl Sessions {
    /// An empty table with these limits.
    pub fn new(lifetime: Duration, idle: Duration, max: usize) -> Sessions {
        Sessions { table: Mutex::new(HashMap::new()), lifetime, idle, max: max.max(1) }
    }

    /// The `Max-Age` of the cookie, in seconds.
    pub fn max_age_s(&self) -> u64 {
        self.lifetime.as_secs()
    }

    /// Opens a session for the token with digest `token`.
    ///
    /// # Errors
    ///
    /// [`NoRandom`].
    pub fn open(&self, token: SecretDigest) -> Result<Opened, NoRandom> {
        self.open_at(token, Instant::now())
    }

    /// [`Self::open`] at `now`.
    ///
    /// # Errors
    ///
    /// [`NoRandom`].
    pub fn open_at(&self, token: SecretDigest, now: Instant) -> Result<Opened, NoRandom> {
        let opened = Opened { id: random_hex()?, csrf: random_hex()? };
        let mut table = self.table.lock().unwrap_or_else(|p| p.into_inner());
        table.retain(|_, e| e.live(now, self.lifetime, self.idle));
        while table.len() >= self.max {
            let Some(oldest) = table.iter().min_by_key(|(_, e)| e.last_seen).map(|(k, _)| *k) else { break };
            table.remove(&oldest);
        }
        table.insert(key_of(&opened.id), Entry { token, csrf: opened.csrf.clone(), created: now, last_seen: now });
        Ok(opened)
    }

    /// The live session with this id (its idle clock restarted), if any;
    /// an expired one is removed.
    pub fn get(&self, id: &str) -> Option<Active> {
        self.get_at(id, Instant::now())
    }

    /// [`Self::get`] at `now`.
    pub fn get_at(&self, id: &str, now: Instant) -> Option<Active> {
        if id.len() != 64 {
            return None;
        }
        let key = key_of(id);
        let mut table = self.table.lock().unwrap_or_else(|p| p.into_inner());
        let entry = table.get_mut(&key)?;
        if !entry.live(now, self.lifetime, self.idle) {
            table.remove(&key);
            return None;
        }
        entry.last_seen = now.max(entry.last_seen);
        Some(Active { id: id.to_string(), token: entry.token, csrf: entry.csrf.clone() })
    }

    /// Ends a session (logout).
    pub fn close(&self, id: &str) {
        self.table.lock().unwrap_or_else(|p| p.into_inner()).remove(&key_of(id));
    }

    /// Ends every session of a token (it was refused: revoked, expired).
    pub fn close_token(&self, token: &SecretDigest) {
        self.table.lock().unwrap_or_else(|p| p.into_inner()).retain(|_, e| !bool::from(e.token.ct_eq(token)));
    }

    /// Sessions held.
    pub fn len(&self) -> usize {
        self.table.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Whether none is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const T1: SecretDigest = [1; 32];
    const T2: SecretDigest = [2; 32];

    #[test]
    fn a_session_is_found_by_its_id_only_and_carries_its_token_and_csrf() {
        let s = Sessions::default();
        let a = s.open(T1).unwrap();
        let b = s.open(T2).unwrap();
        assert_eq!(a.id.len(), 64);
        assert_ne!(a.id, b.id);
        assert_ne!(a.csrf, b.csrf);
        let got = s.get(&a.id).unwrap();
        assert_eq!(got.token, T1);
        assert!(got.csrf_matches(Some(&a.csrf)));
        assert!(!got.csrf_matches(Some(&b.csrf)));
        assert!(!got.csrf_matches(None));
        assert!(!got.csrf_matches(Some("")));
        assert!(s.get(&b.csrf).is_none(), "a CSRF token is not a session id");
        assert!(s.get("short").is_none());
    }

    #[test]
    fn sessions_end_at_their_lifetime_and_after_idling() {
        let s = Sessions::new(Duration::from_secs(100), Duration::from_secs(10), 10);
        let t0 = Instant::now();
        let a = s.open_at(T1, t0).unwrap();
        // Kept alive by requests every 9 s...
        for i in 1..=10 {
            assert!(s.get_at(&a.id, t0 + Duration::from_secs(9 * i)).is_some(), "request {i}");
        }
        // ...until the absolute lifetime.
        assert!(s.get_at(&a.id, t0 + Duration::from_secs(100)).is_none());
        assert!(s.is_empty(), "an expired session is removed");
        let b = s.open_at(T1, t0).unwrap();
        assert!(s.get_at(&b.id, t0 + Duration::from_secs(10)).is_none(), "idle for 10 s");
    }

    #[test]
    fn logout_and_a_refused_token_end_sessions() {
        let s = Sessions::default();
        let a = s.open(T1).unwrap();
        let a2 = s.open(T1).unwrap();
        let b = s.open(T2).unwrap();
        s.close(&a.id);
        assert!(s.get(&a.id).is_none());
        assert!(s.get(&a2.id).is_some());
        s.close_token(&T1);
        assert!(s.get(&a2.id).is_none());
        assert!(s.get(&b.id).is_some());
    }

    #[test]
    fn the_table_is_bounded_dropping_the_least_recently_used() {
        let s = Sessions::new(LIFETIME, IDLE, 2);
        let t0 = Instant::now();
        let a = s.open_at(T1, t0).unwrap();
        let b = s.open_at(T1, t0 + Duration::from_secs(1)).unwrap();
        assert!(s.get_at(&a.id, t0 + Duration::from_secs(2)).is_some());
        let c = s.open_at(T1, t0 + Duration::from_secs(3)).unwrap();
        assert_eq!(s.len(), 2);
        assert!(s.get_at(&b.id, t0 + Duration::from_secs(4)).is_none(), "b was the least recently used");
        assert!(s.get_at(&a.id, t0 + Duration::from_secs(4)).is_some());
        assert!(s.get_at(&c.id, t0 + Duration::from_secs(4)).is_some());
    }

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "ab"));
        assert!(!same_secret("", "a"));
    }
}
