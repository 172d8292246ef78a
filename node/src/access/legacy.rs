//! `DIR/http-tokens.json`: the TAXII consumer tokens of nodes before roles
//! (issue 16), still honoured as `reader` tokens.
//!
//! The file (mode 0600) holds a name, the SHA-256 of the token, the most
//! restricted TLP the holder may see and the kinds it may see. Tokens are
//! no longer made here (`jaring token create` goes through the admin API
//! into the store, audited), but a file an older `jaring` wrote keeps
//! working: the node re-reads it when it changes, and `jaring token revoke`
//! of one of its names removes it from the file (audited). [`create`] is
//! kept for tools and tests that need such a file.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use getrandom::SysRng;
use getrandom::rand_core::{Rng, UnwrapErr};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::access::{Role, Scope, TokenRecord};
use crate::config::Config;
use crate::model::{Kind, Tlp, UnixMillis};

/// File name in the node directory.
pub const FILE: &str = "http-tokens.json";

/// Prefix of every token, so leaked tokens are recognisable.
pub const PREFIX: &str = "jrt_";

/// One consumer token of the file (without the secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsumerToken {
    /// Who holds it.
    pub name: String,
    /// Hex SHA-256 of the token.
    pub sha256: String,
    /// Most restricted TLP served to it.
    pub max_tlp: Tlp,
    /// Kinds served to it (empty: all).
    #[serde(default)]
    pub kinds: Vec<Kind>,
    /// When it was made.
    pub created_at_ms: UnixMillis,
}

impl ConsumerToken {
    /// Whether an indicator of this kind and TLP may be served to it.
    pub fn may_see(&self, kind: Kind, tlp: Tlp) -> bool {
        tlp <= self.max_tlp && (self.kinds.is_empty() || self.kinds.contains(&kind))
    }

    /// The token as a `reader` token record.
    pub fn to_record(&self) -> TokenRecord {
        TokenRecord {
            name: self.name.clone(),
            role: Role::Reader,
            scope: Scope { max_tlp: self.max_tlp, kinds: self.kinds.clone(), categories: Vec::new() },
            platform: None,
            expires_at_ms: None,
            allow_from: Vec::new(),
            rate: None,
            created_at_ms: self.created_at_ms,
            created_by: FILE.into(),
            revoked_at_ms: None,
            revoked_by: None,
            sha256: self.sha256.clone(),
        }
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct TokenFile {
    tokens: Vec<ConsumerToken>,
}

/// Token file errors.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// Reading or writing the file.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Not a token file.
    #[error("{path}: {reason}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// Name in use.
    #[error("a token named {0:?} exists; revoke it first")]
    Exists(String),
    /// No such token.
    #[error("no token named {0:?}")]
    NotFound(String),
    /// Bad name.
    #[error("token name {0:?}: use 1-64 letters, digits, '-', '_' or '.'")]
    BadName(String),
}

/// Where a node keeps its legacy consumer tokens.
pub fn path(config: &Config) -> PathBuf {
    config.resolve(Path::new(FILE))
}

fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn read(path: &Path) -> Result<TokenFile, TokenError> {
    match std::fs::read(path) {
        Ok(bytes) => {
            serde_json::from_slice(&bytes).map_err(|e| TokenError::Parse { path: path.into(), reason: e.to_string() })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(TokenFile::default()),
        Err(source) => Err(TokenError::Io { path: path.into(), source }),
    }
}

fn write(path: &Path, file: &TokenFile) -> Result<(), TokenError> {
    let bytes =
        serde_json::to_vec_pretty(file).map_err(|e| TokenError::Parse { path: path.into(), reason: e.to_string() })?;
    crate::fsutil::write_atomic(path, &bytes, 0o600).map_err(|source| TokenError::Io { path: path.into(), source })
}

/// Adds a token to the file, as `jaring token create` did before roles;
/// returns the secret (shown once) and its record.
///
/// # Errors
///
/// [`TokenError`].
pub fn create(path: &Path, name: &str, max_tlp: Tlp, kinds: Vec<Kind>) -> Result<(String, ConsumerToken), TokenError> {
    if crate::access::check_name(name).is_err() {
        return Err(TokenError::BadName(name.into()));
    }
    let mut file = read(path)?;
    if file.tokens.iter().any(|t| t.name == name) {
        return Err(TokenError::Exists(name.into()));
    }
    let mut secret = [0u8; 32];
    UnwrapErr(SysRng).fill_bytes(&mut secret);
    let token = format!("{PREFIX}{}", hex::encode(secret));
    let record = ConsumerToken {
        name: name.into(),
        sha256: hash(&token),
        max_tlp,
        kinds,
        created_at_ms: crate::model::now_ms(),
    };
    file.tokens.push(record.clone());
    write(path, &file)?;
    Ok((token, record))
}

/// Every token of the file.
///
/// # Errors
///
/// [`TokenError`].
pub fn list(path: &Path) -> Result<Vec<ConsumerToken>, TokenError> {
    Ok(read(path)?.tokens)
}

/// Removes a token from the file: its holder is refused from the next
/// request on.
///
/// # Errors
///
/// [`TokenError::NotFound`] and file errors.
pub fn revoke(path: &Path, name: &str) -> Result<ConsumerToken, TokenError> {
    let mut file = read(path)?;
    let pos = file.tokens.iter().position(|t| t.name == name).ok_or_else(|| TokenError::NotFound(name.into()))?;
    let gone = file.tokens.remove(pos);
    write(path, &file)?;
    Ok(gone)
}

/// Modification time and length of the token file when last read.
type FileStamp = (SystemTime, u64);

/// The node's view of the file, re-read when it changes (its modification
/// time or length differ from the last read).
#[derive(Debug)]
pub struct LegacyFile {
    path: PathBuf,
    cache: Mutex<(Option<FileStamp>, Vec<TokenRecord>)>,
}

impl LegacyFile {
    /// A view of `path`.
    pub fn new(path: PathBuf) -> LegacyFile {
        LegacyFile { path, cache: Mutex::new((None, Vec::new())) }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The tokens of the file now, as records (re-read if it changed;
    /// `changed` says whether it did). An unreadable file holds no tokens
    /// (and says so in the log).
    pub fn records(&self) -> (Vec<TokenRecord>, bool) {
        let stamp = std::fs::metadata(&self.path).ok().and_then(|m| Some((m.modified().ok()?, m.len())));
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        let changed = cache.0 != stamp || stamp.is_none();
        if changed {
            match read(&self.path) {
                Ok(f) => *cache = (stamp, f.tokens.iter().map(ConsumerToken::to_record).collect()),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read the legacy consumer tokens; refusing them all");
                    *cache = (None, Vec::new());
                }
            }
        }
        (cache.1.clone(), changed)
    }

    /// Forgets what was read, so the next call reads the file again.
    pub fn invalidate(&self) {
        self.cache.lock().unwrap_or_else(|p| p.into_inner()).0 = None;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn create_read_revoke() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(FILE);
        let file = LegacyFile::new(p.clone());
        let (secret, rec) = create(&p, "opencti", Tlp::Green, vec![Kind::Domain]).unwrap();
        assert!(secret.starts_with(PREFIX));
        assert!(!std::fs::read_to_string(&p).unwrap().contains(&secret), "the secret is never stored");
        let (records, changed) = file.records();
        assert!(changed);
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].role, Role::Reader);
        assert_eq!(records[0].sha256, hash(&secret));
        assert_eq!(records[0].scope.max_tlp, Tlp::Green);
        assert!(rec.may_see(Kind::Domain, Tlp::Clear) && !rec.may_see(Kind::Domain, Tlp::Amber));
        assert!(matches!(create(&p, "opencti", Tlp::Red, vec![]), Err(TokenError::Exists(_))));
        revoke(&p, "opencti").unwrap();
        // Same second, maybe same length: the length changed, so it reloads.
        assert!(file.records().0.is_empty());
        assert!(matches!(revoke(&p, "opencti"), Err(TokenError::NotFound(_))));
    }
}
