//! File modes: a node's files are its own.
//!
//! The store holds plaintext personal data and RED indicators, the key
//! files can speak for the node, and `http-tokens.json` decides who may
//! read over TAXII, so nothing in a node directory is for other local
//! users:
//!
//! - [`restrict_umask`] sets the process umask to `0o077` when a node
//!   starts (and in `jaring init`), so every file and directory created
//!   afterwards, the store engine's included, is `0600`/`0700`;
//! - [`restrict_tree`] takes group and other bits off a tree (what `jaring
//!   init` wrote);
//! - [`check`] refuses to start a node whose directory, store, keys, TLS
//!   keys or token files others can reach, naming each file, its mode and
//!   the `chmod` that fixes it.

use std::fmt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::config::Config;

/// The umask a node runs with: nothing for group or others.
pub const PRIVATE_UMASK: u32 = 0o077;

/// Sets the process umask to [`PRIVATE_UMASK`] (process-wide: every file
/// created from now on in this process is private).
pub fn restrict_umask() {
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(PRIVATE_UMASK));
}

/// Removes the group and other permission bits of `dir` and of everything
/// under it (symbolic links are left alone, not followed).
///
/// # Errors
///
/// The first I/O error.
pub fn restrict_tree(dir: &Path) -> std::io::Result<()> {
    let meta = std::fs::symlink_metadata(dir)?;
    if meta.file_type().is_symlink() {
        return Ok(());
    }
    let mode = meta.permissions().mode();
    if mode & 0o077 != 0 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode & !0o077 & 0o7777))?;
    }
    if meta.is_dir() {
        for entry in std::fs::read_dir(dir)? {
            restrict_tree(&entry?.path())?;
        }
    }
    Ok(())
}

/// One file others can reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsafeMode {
    /// The file or directory.
    pub path: PathBuf,
    /// What it is, e.g. "signing or federation key".
    pub what: &'static str,
    /// Its permission bits.
    pub mode: u32,
    /// What is wrong with them.
    pub problem: &'static str,
    /// The command that fixes it.
    pub fix: String,
}

impl fmt::Display for UnsafeMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}) has mode {:04o}: {}; fix it with `{}`",
            self.path.display(),
            self.what,
            self.mode,
            self.problem,
            self.fix
        )
    }
}

/// Every unsafe file a node directory holds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct UnsafeModes(pub Vec<UnsafeMode>);

impl fmt::Display for UnsafeModes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "refusing to start: other local users can reach the node's files: ")?;
        for (i, m) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{m}")?;
        }
        Ok(())
    }
}

/// Which bits a file may not have.
#[derive(Clone, Copy)]
enum Rule {
    /// No group or other bits at all (directories, keys, the store).
    Private,
    /// Neither readable nor writable by group or others.
    NoReadWrite,
}

fn inspect(out: &mut Vec<UnsafeMode>, path: &Path, what: &'static str, rule: Rule) {
    let Ok(meta) = std::fs::metadata(path) else { return };
    let mode = meta.permissions().mode() & 0o7777;
    let (bad, problem) = match rule {
        Rule::Private => (mode & 0o077, "group or others have access"),
        Rule::NoReadWrite => (mode & 0o066, "group or others can read or write it"),
    };
    if bad == 0 {
        return;
    }
    let fix = if meta.is_dir() {
        format!("chmod -R go-rwx {}", path.display())
    } else {
        format!("chmod 600 {}", path.display())
    };
    out.push(UnsafeMode { path: path.to_path_buf(), what, mode, problem, fix });
}

/// Checks the modes of a node's directory and secret files: the node
/// directory, the store, the keys directory and every key in it (signing
/// keys, federation keys), the TLS private keys, `admin.token` (no group or
/// other bits at all), and `http-tokens.json` (neither readable nor
/// writable by others). Missing files are not this check's business.
///
/// # Errors
///
/// [`UnsafeModes`] listing every offending file.
pub fn check(config: &Config) -> Result<(), UnsafeModes> {
    let mut out = Vec::new();
    inspect(&mut out, &config.base_dir, "node directory", Rule::Private);
    inspect(&mut out, &config.resolve(&config.paths.db), "store", Rule::Private);
    let keys = config.resolve(&config.paths.keys);
    inspect(&mut out, &keys, "keys directory", Rule::Private);
    if let Ok(entries) = std::fs::read_dir(&keys) {
        let mut files: Vec<PathBuf> = entries.flatten().map(|e| e.path()).filter(|p| p.is_file()).collect();
        files.sort();
        for f in files {
            inspect(&mut out, &f, "signing or federation key", Rule::Private);
        }
    }
    let tls = config.tls_files();
    inspect(&mut out, &tls.key, "TLS private key", Rule::Private);
    if let Some(dir) = tls.key.parent() {
        inspect(&mut out, &dir.join(jaring_certs::CA_KEY_FILE), "dev CA private key", Rule::Private);
    }
    inspect(&mut out, &config.resolve(&config.paths.admin_token), "admin token", Rule::Private);
    if let Some(pw) = &config.store.password_file {
        inspect(&mut out, &config.resolve(pw), "database password file", Rule::Private);
    }
    inspect(&mut out, &crate::access::legacy::path(config), "TAXII token file", Rule::NoReadWrite);
    if out.is_empty() { Ok(()) } else { Err(UnsafeModes(out)) }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn chmod(p: &Path, mode: u32) {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    fn node_dir() -> (tempfile::TempDir, Config) {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("node");
        let config = crate::init::init(&crate::init::InitOptions::loopback("ID", dir.clone())).unwrap();
        (tmp, config)
    }

    #[test]
    fn a_fresh_node_directory_passes_and_each_unsafe_file_is_named_with_its_fix() {
        let (_tmp, config) = node_dir();
        check(&config).unwrap();
        let dir = config.base_dir.clone();
        let key = std::fs::read_dir(dir.join("keys")).unwrap().flatten().map(|e| e.path()).min().unwrap();
        let cases: Vec<(PathBuf, u32, &str)> = vec![
            (dir.clone(), 0o755, "node directory"),
            (key.clone(), 0o644, "signing or federation key"),
            (dir.join("tls/node.key"), 0o640, "TLS private key"),
            (dir.join("tls/ca.key"), 0o604, "dev CA private key"),
            (dir.join("admin.token"), 0o644, "admin token"),
        ];
        for (path, mode, what) in cases {
            let before = std::fs::metadata(&path).unwrap().permissions().mode() & 0o7777;
            chmod(&path, mode);
            let err = check(&config).unwrap_err();
            assert_eq!(err.0.len(), 1, "{err}");
            assert_eq!((err.0[0].path.as_path(), err.0[0].what, err.0[0].mode), (path.as_path(), what, mode));
            assert!(err.to_string().contains("chmod"), "{err}");
            chmod(&path, before);
        }
        // The TAXII token file: others may not read or write it.
        let tokens = crate::access::legacy::path(&config);
        std::fs::write(&tokens, "[]").unwrap();
        chmod(&tokens, 0o602);
        let err = check(&config).unwrap_err();
        assert_eq!(err.0[0].what, "TAXII token file");
        assert_eq!(err.0[0].fix, format!("chmod 600 {}", tokens.display()));
        chmod(&tokens, 0o600);
        check(&config).unwrap();
    }

    #[test]
    fn restrict_tree_takes_group_and_other_bits_off_everything() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("d");
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::write(dir.join("sub/f"), "x").unwrap();
        chmod(&dir, 0o755);
        chmod(&dir.join("sub"), 0o775);
        chmod(&dir.join("sub/f"), 0o664);
        restrict_tree(&dir).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join("sub")), 0o700);
        assert_eq!(mode(&dir.join("sub/f")), 0o600);
    }
}
