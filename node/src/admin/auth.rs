//! Bearer-token authentication for the admin API.
//!
//! The token lives in `DIR/admin.token` (mode 0600) and is compared in
//! constant time. A client may name the person behind the call in the
//! `x-jaring-operator` header (the CLI sends `$USER`); it is recorded in the
//! audit log as `admin:<operator>`.

use std::path::Path;
use std::sync::Arc;

use base64::Engine as _;
use subtle::ConstantTimeEq;
use tonic::{Request, Status};
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

    /// A tonic interceptor: refuses calls without the right token and tags
    /// the others with their [`Actor`].
    ///
    /// # Errors
    ///
    /// `UNAUTHENTICATED`.
    #[allow(clippy::result_large_err)]
    pub fn check(&self, mut req: Request<()>) -> Result<Request<()>, Status> {
        let header = req.metadata().get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("");
        let given = header.strip_prefix("Bearer ").unwrap_or("").trim();
        if given.is_empty() {
            return Err(Status::unauthenticated("missing bearer token (authorization: Bearer <admin.token>)"));
        }
        if !bool::from(given.as_bytes().ct_eq(self.token.as_bytes())) {
            return Err(Status::unauthenticated("wrong admin token"));
        }
        let operator = req
            .metadata()
            .get("x-jaring-operator")
            .and_then(|v| v.to_str().ok())
            .map(|s| {
                s.chars().filter(|c| c.is_ascii_alphanumeric() || "._-@".contains(*c)).take(64).collect::<String>()
            })
            .filter(|s| !s.is_empty());
        let actor = match operator {
            Some(op) => format!("admin:{op}"),
            None => "admin".to_string(),
        };
        req.extensions_mut().insert(Actor(actor));
        Ok(req)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn with_header(v: &str) -> Request<()> {
        let mut r = Request::new(());
        r.metadata_mut().insert("authorization", v.parse().unwrap());
        r
    }

    #[test]
    fn token_checks() {
        let auth = AdminAuth::from_token("s3cret-token-0123456789".into());
        assert!(auth.check(with_header("Bearer s3cret-token-0123456789")).is_ok());
        assert_eq!(auth.check(with_header("Bearer nope")).unwrap_err().code(), tonic::Code::Unauthenticated);
        assert_eq!(auth.check(Request::new(())).unwrap_err().code(), tonic::Code::Unauthenticated);
        let mut r = with_header("Bearer s3cret-token-0123456789");
        r.metadata_mut().insert("x-jaring-operator", "siti\n;rm".parse().unwrap_or_else(|_| "siti".parse().unwrap()));
        let ok = auth.check(r).unwrap();
        assert!(ok.extensions().get::<Actor>().unwrap().0.starts_with("admin:siti"));
    }

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
