//! Key files on disk: this node's signing keys and the federation key, in
//! `DIR/keys/`, each written 0600 and never printed.
//!
//! The domain knows the text of a key file ([`SigningKey::to_key_file`],
//! [`FederationKey::to_key_file`]); this module reads and writes the files.

use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::keys::{KeyFormatError, SigningKey};
use crate::pii::{FederationKey, FederationKeyFormatError};

/// Why key files could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyFileError {
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a signing key file.
    #[error("{path}: {source}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        source: KeyFormatError,
    },
    /// The file is not a federation key file.
    #[error("{path}: {source}")]
    FederationFormat {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        source: FederationKeyFormatError,
    },
    /// The directory holds no signing key.
    #[error("{dir}: no signing key (expected a *.key file made by `jaring init`)")]
    NoKey {
        /// The key directory.
        dir: PathBuf,
    },
}

fn read_secret(path: &Path) -> Result<Zeroizing<String>, KeyFileError> {
    std::fs::read_to_string(path).map(Zeroizing::new).map_err(|source| KeyFileError::Io { path: path.into(), source })
}

/// Writes a signing key to `dir/<id>.key` with mode 0600.
///
/// # Errors
///
/// [`KeyFileError::Io`].
pub fn write_signing_key(dir: &Path, key: &SigningKey) -> Result<PathBuf, KeyFileError> {
    let path = dir.join(key.file_name());
    crate::fsutil::write_secret(&path, key.to_key_file().as_bytes())
        .map_err(|source| KeyFileError::Io { path: path.clone(), source })?;
    Ok(path)
}

/// Reads one signing key file.
///
/// # Errors
///
/// [`KeyFileError`] naming the file and what is wrong with it.
pub fn read_signing_key(path: &Path) -> Result<SigningKey, KeyFileError> {
    SigningKey::from_key_file(&read_secret(path)?).map_err(|source| KeyFileError::Format { path: path.into(), source })
}

/// Every signing key in `dir`, oldest first.
///
/// # Errors
///
/// The first unreadable key file, or [`KeyFileError::NoKey`].
pub fn read_signing_keys(dir: &Path) -> Result<Vec<SigningKey>, KeyFileError> {
    let entries = std::fs::read_dir(dir).map_err(|source| KeyFileError::Io { path: dir.into(), source })?;
    let mut keys = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| KeyFileError::Io { path: dir.into(), source })?;
        if SigningKey::is_key_file_name(&entry.file_name().to_string_lossy()) {
            keys.push(read_signing_key(&entry.path())?);
        }
    }
    if keys.is_empty() {
        return Err(KeyFileError::NoKey { dir: dir.into() });
    }
    keys.sort_by_key(|k| (k.valid_from_ms(), k.id().clone()));
    Ok(keys)
}

/// Writes the federation key to `dir/federation-<epoch>.key`, mode 0600.
///
/// # Errors
///
/// [`KeyFileError::Io`].
pub fn write_federation_key(dir: &Path, key: &FederationKey) -> Result<PathBuf, KeyFileError> {
    let path = dir.join(FederationKey::file_name(key.epoch()));
    crate::fsutil::write_secret(&path, key.to_key_file().as_bytes())
        .map_err(|source| KeyFileError::Io { path: path.clone(), source })?;
    Ok(path)
}

/// Reads a federation key file of `epoch`.
///
/// # Errors
///
/// [`KeyFileError`] naming the file.
pub fn read_federation_key(path: &Path, epoch: u32) -> Result<FederationKey, KeyFileError> {
    FederationKey::from_key_file(&read_secret(path)?, epoch)
        .map_err(|source| KeyFileError::FederationFormat { path: path.into(), source })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::model::Kind;

    #[test]
    fn key_files_round_trip_private() {
        let dir = tempfile::tempdir().unwrap();
        let key = SigningKey::generate(5);
        let path = write_signing_key(dir.path(), &key).unwrap();
        let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&path).unwrap().permissions());
        assert_eq!(mode & 0o777, 0o600);
        let back = read_signing_key(&path).unwrap();
        assert_eq!((back.id(), back.public(), back.valid_from_ms()), (key.id(), key.public(), 5));
        assert_eq!(read_signing_keys(dir.path()).unwrap().len(), 1);

        let fed = FederationKey::generate(2);
        let path = write_federation_key(dir.path(), &fed).unwrap();
        let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&path).unwrap().permissions());
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(read_federation_key(&path, 2).unwrap().hash(Kind::Email, "a@b.co"), fed.hash(Kind::Email, "a@b.co"));
    }

    #[test]
    fn broken_key_files_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ed25519-x.key");
        std::fs::write(&path, "{}").unwrap();
        let err = read_signing_key(&path).unwrap_err();
        assert!(matches!(err, KeyFileError::Format { .. }), "{err}");
        assert!(err.to_string().contains("ed25519-x.key"));
        let empty = tempfile::tempdir().unwrap();
        assert!(matches!(read_signing_keys(empty.path()).unwrap_err(), KeyFileError::NoKey { .. }));
        std::fs::write(dir.path().join("federation-1.key"), "nothex").unwrap();
        let err = read_federation_key(&dir.path().join("federation-1.key"), 1).unwrap_err();
        assert!(matches!(err, KeyFileError::FederationFormat { .. }), "{err}");
    }
}
