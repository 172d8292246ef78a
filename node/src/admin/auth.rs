//! The node's admin token: `DIR/admin.token` (mode 0600), the built-in
//! `admin` among the node's tokens ([`crate::access`]). Calls are checked
//! by [`super::authz`], which accepts every role's token; a client may name
//! the person behind the call in the `x-jaring-operator` header (the CLI
//! sends `$USER`), recorded in the audit log as `admin:<operator>` (or
//! `token:<name>:<operator>`).

use std::path::Path;
use std::sync::Arc;

use base64::Engine as _;
use zeroize::Zeroizing;

/// Who made an admin call, for the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor(pub String);

/// Checks admin bearer tokens.
#[derive(Clone)]
pub struct AdminAuth {
    token: Arc<Zeroizing<String>>,
}

impl std::fmt::Debug for AdminAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminAuth { token: <redacted> }")
    }
}

/// Makes a new random token: 32 bytes, base64url.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    getrandom::rand_core::Rng::fill_bytes(&mut getrandom::rand_core::UnwrapErr(getrandom::SysRng), &mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

impl AdminAuth {
    /// Reads the token file, refusing one that others can read.
    ///
    /// # Errors
    ///
    /// The reason, naming the problem.
    pub fn load(path: &Path) -> Result<AdminAuth, String> {
        let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| e.to_string())?);
        if crate::fsutil::is_group_or_world_readable(path).map_err(|e| e.to_string())? {
            return Err("is readable by group or others; run `chmod 600` on it".into());
        }
        let token = text.trim().to_string();
        if token.len() < 16 {
            return Err("token is shorter than 16 characters".into());
        }
        Ok(AdminAuth { token: Arc::new(Zeroizing::new(token)) })
    }

    /// Wraps a known token (tests, in-process nodes).
    pub fn from_token(token: String) -> AdminAuth {
        AdminAuth { token: Arc::new(Zeroizing::new(token)) }
    }

    /// The token (to hand to the node's credentials, which keep only its
    /// SHA-256).
    pub fn token(&self) -> &str {
        self.token.as_str()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn readable_token_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("admin.token");
        std::fs::write(&p, "0123456789abcdef0123").unwrap();
        std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
        assert!(AdminAuth::load(&p).unwrap_err().contains("chmod 600"));
        std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
        assert!(AdminAuth::load(&p).is_ok());
    }
}
