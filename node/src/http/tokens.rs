//! Read-only consumer tokens for TAXII clients (platforms, partner tools).
//!
//! Kept in `DIR/http-tokens.json` (mode 0600): a name, the SHA-256 of the
//! token (the token itself is printed once by `jaring token create` and
//! never stored), the most restricted TLP the holder may see and the kinds
//! it may see. The node re-reads the file when it changes, so creating or
//! revoking a token applies to the next request without a restart.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use getrandom::SysRng;
use getrandom::rand_core::{Rng, UnwrapErr};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::model::{Kind, Tlp, UnixMillis};

/// File name in the node directory.
pub const FILE: &str = "http-tokens.json";

/// Prefix of every token, so leaked tokens are recognisable.
pub const PREFIX: &str = "jrt_";

/// One consumer token (without the secret).
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

/// Where a node keeps its consumer tokens.
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

/// Creates a token; returns the secret (shown once) and its record.
///
/// # Errors
///
/// [`TokenError`].
pub fn create(path: &Path, name: &str, max_tlp: Tlp, kinds: Vec<Kind>) -> Result<(String, ConsumerToken), TokenError> {
    if name.is_empty() || name.len() > 64 || !name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
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

/// Every token.
///
/// # Errors
///
/// [`TokenError`].
pub fn list(path: &Path) -> Result<Vec<ConsumerToken>, TokenError> {
    Ok(read(path)?.tokens)
}

/// Removes a token: its holder is refused from the next request on.
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

/// The node's view of the token file, re-read when it changes.
#[derive(Debug)]
pub struct TokenStore {
    path: PathBuf,
    cache: Mutex<(Option<FileStamp>, Vec<ConsumerToken>)>,
}

impl TokenStore {
    /// A store over `path`.
    pub fn new(path: PathBuf) -> TokenStore {
        TokenStore { path, cache: Mutex::new((None, Vec::new())) }
    }

    /// The token a presented secret names, if any.
    pub fn check(&self, presented: &str) -> Option<ConsumerToken> {
        let stamp = std::fs::metadata(&self.path).ok().and_then(|m| Some((m.modified().ok()?, m.len())));
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if cache.0 != stamp || stamp.is_none() {
            match read(&self.path) {
                Ok(f) => *cache = (stamp, f.tokens),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read consumer tokens; refusing all");
                    *cache = (None, Vec::new());
                }
            }
        }
        let h = hash(presented);
        cache.1.iter().find(|t| bool::from(subtle::ConstantTimeEq::ct_eq(t.sha256.as_bytes(), h.as_bytes()))).cloned()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn create_check_revoke() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(FILE);
        let store = TokenStore::new(p.clone());
        let (secret, rec) = create(&p, "opencti", Tlp::Green, vec![Kind::Domain]).unwrap();
        assert!(secret.starts_with(PREFIX));
        assert!(!std::fs::read_to_string(&p).unwrap().contains(&secret), "the secret is never stored");
        assert_eq!(store.check(&secret).map(|t| t.name), Some("opencti".into()));
        assert!(store.check("jrt_wrong").is_none());
        assert!(rec.may_see(Kind::Domain, Tlp::Clear) && !rec.may_see(Kind::Domain, Tlp::Amber));
        assert!(!rec.may_see(Kind::Url, Tlp::Clear));
        assert!(matches!(create(&p, "opencti", Tlp::Red, vec![]), Err(TokenError::Exists(_))));
        revoke(&p, "opencti").unwrap();
        // Same second, maybe same length: the length changed, so it reloads.
        assert!(store.check(&secret).is_none());
        assert!(matches!(revoke(&p, "opencti"), Err(TokenError::NotFound(_))));
    }
}
