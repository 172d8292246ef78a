//! Where the PKI lives in a node directory, and writing it there.

use std::fs::{self, OpenOptions, Permissions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use crate::{CertError, DevCa, NodeCert};

/// Sub-directory of the node directory that holds the TLS files.
pub const TLS_DIR: &str = "tls";
/// The node's CA certificate (PEM). Its content goes into the identity card.
pub const CA_CERT_FILE: &str = "ca.pem";
/// The dev CA's private key (PEM, mode 0600). Absent when a ministry brings
/// its own PKI.
pub const CA_KEY_FILE: &str = "ca.key";
/// The node's certificate chain (PEM): leaf first, then intermediates and
/// optionally the CA.
pub const NODE_CERT_FILE: &str = "node.pem";
/// The node certificate's private key (PEM, mode 0600).
pub const NODE_KEY_FILE: &str = "node.key";

/// Owner read/write only.
const SECRET_MODE: u32 = 0o600;

/// Writes a secret (a private key PEM) to `path`, readable and writable by the
/// owner only (mode 0600).
///
/// A new file is created with mode 0600, so the secret is never readable by
/// others, not even briefly; an existing file has its mode set to 0600 before
/// it is truncated and rewritten.
///
/// # Errors
///
/// [`CertError::Write`] naming the path if the file cannot be opened, its
/// mode set, or written.
pub fn write_pem_secret(path: impl AsRef<Path>, pem: &str) -> Result<(), CertError> {
    let path = path.as_ref();
    let error = |source| CertError::Write { path: path.to_owned(), source };
    let mut file =
        OpenOptions::new().write(true).create(true).truncate(false).mode(SECRET_MODE).open(path).map_err(error)?;
    // `mode` only applies when the file is created.
    file.set_permissions(Permissions::from_mode(SECRET_MODE)).map_err(error)?;
    file.set_len(0).map_err(error)?;
    file.write_all(pem.as_bytes()).map_err(error)?;
    file.sync_all().map_err(error)
}

/// Writes a development PKI into `tls_dir` (usually `DIR/tls`), creating the
/// directory: `ca.pem`, `ca.key` (0600), `node.pem` (the chain) and
/// `node.key` (0600).
///
/// # Errors
///
/// [`CertError::Write`] naming the directory or file that could not be
/// written.
pub fn write_dev_pki(tls_dir: impl AsRef<Path>, ca: &DevCa, node: &NodeCert) -> Result<(), CertError> {
    let dir = tls_dir.as_ref();
    fs::create_dir_all(dir).map_err(|source| CertError::Write { path: dir.to_owned(), source })?;
    write_public(&dir.join(CA_CERT_FILE), &ca.cert_pem)?;
    write_pem_secret(dir.join(CA_KEY_FILE), &ca.key_pem)?;
    write_public(&dir.join(NODE_CERT_FILE), &node.chain_pem)?;
    write_pem_secret(dir.join(NODE_KEY_FILE), &node.key_pem)
}

fn write_public(path: &Path, pem: &str) -> Result<(), CertError> {
    fs::write(path, pem).map_err(|source| CertError::Write { path: path.to_owned(), source })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::path::PathBuf;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::Validity;

    /// A fresh directory under the system temp dir, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new() -> TempDir {
            static NEXT: AtomicUsize = AtomicUsize::new(0);
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let dir = std::env::temp_dir().join(format!("jaring-certs-test-{}-{n}", std::process::id()));
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(&dir).unwrap();
            TempDir(dir)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn secrets_are_0600_even_when_the_file_existed() {
        let dir = TempDir::new();
        let path = dir.0.join("key.pem");
        fs::write(&path, "old, longer content than the new one").unwrap();
        fs::set_permissions(&path, Permissions::from_mode(0o644)).unwrap();

        write_pem_secret(&path, "new").unwrap();
        assert_eq!(mode(&path), 0o600);
        assert_eq!(fs::read_to_string(&path).unwrap(), "new");

        let fresh = dir.0.join("fresh.pem");
        write_pem_secret(&fresh, "x").unwrap();
        assert_eq!(mode(&fresh), 0o600);
    }

    #[test]
    fn write_errors_name_the_path() {
        let dir = TempDir::new();
        let path = dir.0.join("missing").join("key.pem");
        match write_pem_secret(&path, "x") {
            Err(CertError::Write { path: p, .. }) => assert_eq!(p, path),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn dev_pki_layout() {
        let dir = TempDir::new();
        let tls = dir.0.join(TLS_DIR);
        let ca = DevCa::generate("ID").unwrap();
        let node = ca.issue_node_cert("ID", &[], Validity::days(30)).unwrap();
        write_dev_pki(&tls, &ca, &node).unwrap();

        assert_eq!(fs::read_to_string(tls.join(CA_CERT_FILE)).unwrap(), ca.cert_pem);
        assert_eq!(fs::read_to_string(tls.join(NODE_CERT_FILE)).unwrap(), node.chain_pem);
        assert_eq!(mode(&tls.join(CA_KEY_FILE)), 0o600);
        assert_eq!(mode(&tls.join(NODE_KEY_FILE)), 0o600);
        let reloaded = DevCa::from_pem(
            &fs::read_to_string(tls.join(CA_CERT_FILE)).unwrap(),
            &fs::read_to_string(tls.join(CA_KEY_FILE)).unwrap(),
        );
        assert!(reloaded.is_ok());
    }
}
