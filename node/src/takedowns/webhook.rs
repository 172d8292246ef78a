//! The optional push of this node's cases to platforms: for each platform
//! with a `[takedown.webhooks.<platform>]`, every new case (and every
//! withdrawal) addressed to it is POSTed to its URL as JSON.
//!
//! A delivery:
//!
//! ```text
//! POST /jaring HTTP/1.1
//! Content-Type: application/json
//! X-Jaring-Event: takedown.requested          (or takedown.withdrawn)
//! X-Jaring-Delivery: ID-17/takedown.requested  (the same on every retry)
//! X-Jaring-Signature: sha256=<hex HMAC-SHA256(secret, body)>
//!
//! {"event":"takedown.requested","delivery":"ID-17/takedown.requested",
//!  "node":"ID","sent_at_ms":...,"case":{...the case, as `takedown show --json`...}}
//! ```
//!
//! The receiver recomputes the HMAC over the exact body bytes with the
//! shared secret and compares in constant time; the delivery id lets it
//! drop duplicates. Any 2xx answer is a success; anything else (or no
//! answer within `timeout_ms`) is retried after `initial_backoff_ms`,
//! doubling up to `max_backoff_ms`, `max_attempts` times in all. Cases
//! marked above the webhook's `max_tlp` are not pushed.
//!
//! Push is best effort: deliveries pending at shutdown are dropped, and
//! the platform's queue (`GET /api/v1/takedowns`, or `jaring takedown
//! queue`) stays the source of truth.
//!
//! HTTPS uses rustls with the ring provider (the node's own TLS stack) and
//! hyper's HTTP/1.1 client, one connection per attempt.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, Mac};
use http_body_util::Full;
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use sha2::Sha256;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::broadcast::error::RecvError;
use tokio::task::JoinSet;
use tracing::Instrument;
use zeroize::Zeroizing;

use super::config::WebhookConfig;
use crate::config::Config;
use crate::model::now_ms;
use crate::node::{CaseNotice, Node};
use crate::shutdown::Shutdown;

/// Where the system's CA bundle usually is (Debian and Ubuntu, RHEL and
/// Fedora, Alpine and BSDs).
const SYSTEM_CA_BUNDLES: &[&str] =
    &["/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/cert.pem"];

/// The signature header.
pub const SIGNATURE_HEADER: &str = "x-jaring-signature";

/// Why the webhooks could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookError {
    /// The secret file is missing, unreadable, too short or readable by others.
    #[error("takedown webhook {platform}: secret file {path}: {reason}")]
    Secret {
        /// The platform.
        platform: String,
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The CA file (or the system bundle) holds no usable certificate.
    #[error("takedown webhook {platform}: CA certificates {path}: {reason}")]
    Ca {
        /// The platform.
        platform: String,
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// No `ca_file` and no system bundle.
    #[error("takedown webhook {0}: no ca_file and no system CA bundle (looked in {list})", list = SYSTEM_CA_BUNDLES.join(", "))]
    NoSystemCa(String),
    /// The URL could not be read (validated with the config).
    #[error("takedown webhook {platform}: {reason}")]
    Url {
        /// The platform.
        platform: String,
        /// Why.
        reason: String,
    },
}

/// One platform's webhook, ready to deliver.
struct Hook {
    platform: String,
    config: WebhookConfig,
    url: url::Url,
    secret: Zeroizing<Vec<u8>>,
    tls: Option<Arc<rustls::ClientConfig>>,
}

impl std::fmt::Debug for Hook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hook")
            .field("platform", &self.platform)
            .field("url", &self.url.as_str())
            .finish_non_exhaustive()
    }
}

/// The configured webhooks, by platform.
#[derive(Debug, Default)]
pub struct Webhooks {
    hooks: HashMap<String, Arc<Hook>>,
}

/// HMAC-SHA256 of `body` under `secret`, as the signature header carries
/// it: `sha256=<lowercase hex>`.
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    // `new_from_slice` fails only for fixed-size keys; HMAC takes any.
    let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(secret) else { return String::new() };
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

fn read_secret(platform: &str, path: &Path) -> Result<Zeroizing<Vec<u8>>, WebhookError> {
    let bad = |reason: String| WebhookError::Secret { platform: platform.into(), path: path.into(), reason };
    let text = Zeroizing::new(std::fs::read(path).map_err(|e| bad(e.to_string()))?);
    if crate::fsutil::is_group_or_world_readable(path).map_err(|e| bad(e.to_string()))? {
        return Err(bad("is readable by group or others; run `chmod 600` on it".into()));
    }
    let trimmed = text.trim_ascii();
    if trimmed.len() < 16 {
        return Err(bad("holds fewer than 16 bytes".into()));
    }
    Ok(Zeroizing::new(trimmed.to_vec()))
}

fn tls_config(platform: &str, ca: Option<&Path>) -> Result<Arc<rustls::ClientConfig>, WebhookError> {
    let path = match ca {
        Some(p) => p.to_path_buf(),
        None => SYSTEM_CA_BUNDLES
            .iter()
            .map(PathBuf::from)
            .find(|p| p.is_file())
            .ok_or_else(|| WebhookError::NoSystemCa(platform.into()))?,
    };
    let bad = |reason: String| WebhookError::Ca { platform: platform.into(), path: path.clone(), reason };
    let pem = std::fs::read(&path).map_err(|e| bad(e.to_string()))?;
    let mut roots = rustls::RootCertStore::empty();
    // A system bundle may hold certificates rustls cannot use; skip them.
    for c in CertificateDer::pem_slice_iter(&pem).flatten() {
        let _ = roots.add(c);
    }
    if roots.is_empty() {
        return Err(bad("holds no usable CA certificate".into()));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| bad(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

impl Webhooks {
    /// Reads every webhook's secret and CA certificates.
    ///
    /// # Errors
    ///
    /// [`WebhookError`] naming the platform and the file.
    pub fn load(config: &Config) -> Result<Webhooks, WebhookError> {
        let mut hooks = HashMap::new();
        for (platform, hook) in &config.takedown.webhooks {
            let url = url::Url::parse(&hook.url)
                .map_err(|e| WebhookError::Url { platform: platform.clone(), reason: e.to_string() })?;
            let secret = read_secret(platform, &config.resolve(&hook.secret_file))?;
            let tls = match url.scheme() {
                "https" => Some(tls_config(platform, hook.ca_file.as_ref().map(|p| config.resolve(p)).as_deref())?),
                _ => None,
            };
            let h = Hook { platform: platform.clone(), config: hook.clone(), url, secret, tls };
            hooks.insert(platform.clone(), Arc::new(h));
        }
        Ok(Webhooks { hooks })
    }

    /// Whether no webhook is configured.
    pub fn is_empty(&self) -> bool {
        self.hooks.is_empty()
    }
}

/// Pushes `node`'s case notices to the webhooks until `shutdown`.
pub async fn run(node: Arc<Node>, webhooks: Webhooks, mut shutdown: Shutdown) {
    let mut notices = node.takedown_notices();
    let mut deliveries = JoinSet::new();
    loop {
        tokio::select! {
            n = notices.recv() => match n {
                Ok(notice) => {
                    let Some(hook) = webhooks.hooks.get(&notice.case.platform) else { continue };
                    if notice.case.tlp > hook.config.max_tlp {
                        tracing::debug!(case = %notice.case.id, "above the webhook's max_tlp; not pushed");
                        continue;
                    }
                    let body = payload(node.id(), &notice);
                    let span = tracing::info_span!("takedown_webhook", platform = %hook.platform, case = %notice.case.id);
                    deliveries.spawn(deliver(hook.clone(), notice, body, shutdown.clone()).instrument(span));
                }
                Err(RecvError::Lagged(n)) => {
                    tracing::warn!(missed = n, "takedown webhooks fell behind; {n} notices were not pushed");
                }
                Err(RecvError::Closed) => break,
            },
            Some(_) = deliveries.join_next(), if !deliveries.is_empty() => {}
            _ = shutdown.wait() => break,
        }
    }
    deliveries.shutdown().await;
}

/// The delivery id: the same for every attempt of one notice.
fn delivery_id(notice: &CaseNotice) -> String {
    format!("{}/{}", notice.case.id, notice.kind.as_str())
}

/// The JSON body of a notice.
fn payload(node: &str, notice: &CaseNotice) -> Vec<u8> {
    let body = serde_json::json!({
        "event": notice.kind.as_str(),
        "delivery": delivery_id(notice),
        "node": node,
        "sent_at_ms": now_ms(),
        "case": notice.case,
    });
    serde_json::to_vec(&body).unwrap_or_default()
}

async fn deliver(hook: Arc<Hook>, notice: CaseNotice, body: Vec<u8>, mut shutdown: Shutdown) {
    let delivery = delivery_id(&notice);
    let signature = signature(&hook.secret, &body);
    let body = Bytes::from(body);
    let mut backoff = Duration::from_millis(hook.config.initial_backoff_ms);
    let max_backoff = Duration::from_millis(hook.config.max_backoff_ms);
    for attempt in 1..=hook.config.max_attempts {
        let post = post(&hook, notice.kind.as_str(), &delivery, &signature, body.clone());
        let failure = match tokio::time::timeout(Duration::from_millis(hook.config.timeout_ms), post).await {
            Ok(Ok(status)) if (200..300).contains(&status) => {
                tracing::info!(attempt, status, "takedown case pushed");
                return;
            }
            Ok(Ok(status)) => format!("answered {status}"),
            Ok(Err(e)) => e,
            Err(_) => format!("no answer within {} ms", hook.config.timeout_ms),
        };
        if attempt == hook.config.max_attempts {
            tracing::error!(attempt, error = %failure, "takedown webhook gave up");
            return;
        }
        tracing::warn!(attempt, error = %failure, retry_in_ms = backoff.as_millis() as u64, "takedown webhook failed");
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = shutdown.wait() => return,
        }
        backoff = (backoff * 2).min(max_backoff);
    }
}

/// One attempt: the status the receiver answered.
async fn post(hook: &Hook, event: &str, delivery: &str, signature: &str, body: Bytes) -> Result<u16, String> {
    let host = hook.url.host_str().ok_or("the URL has no host")?;
    let port = hook.url.port_or_known_default().ok_or("the URL has no port")?;
    let connect_host = host.trim_start_matches('[').trim_end_matches(']');
    let tcp = TcpStream::connect((connect_host, port)).await.map_err(|e| format!("cannot connect: {e}"))?;
    let _ = tcp.set_nodelay(true);
    let authority = match hook.url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_string(),
    };
    let path = match hook.url.query() {
        Some(q) => format!("{}?{q}", hook.url.path()),
        None => hook.url.path().to_string(),
    };
    let request = hyper::Request::post(path)
        .header(hyper::header::HOST, authority)
        .header(hyper::header::CONTENT_TYPE, "application/json")
        .header(hyper::header::USER_AGENT, concat!("jaring/", env!("CARGO_PKG_VERSION")))
        .header("x-jaring-event", event)
        .header("x-jaring-delivery", delivery)
        .header(SIGNATURE_HEADER, signature)
        .body(Full::new(body))
        .map_err(|e| format!("cannot build the request: {e}"))?;
    match &hook.tls {
        Some(tls) => {
            let name =
                ServerName::try_from(connect_host.to_string()).map_err(|e| format!("bad server name {host}: {e}"))?;
            let stream = tokio_rustls::TlsConnector::from(tls.clone())
                .connect(name, tcp)
                .await
                .map_err(|e| format!("TLS: {e}"))?;
            send(stream, request).await
        }
        None => send(tcp, request).await,
    }
}

async fn send<I>(io: I, request: hyper::Request<Full<Bytes>>) -> Result<u16, String>
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(TokioIo::new(io)).await.map_err(|e| format!("HTTP: {e}"))?;
    let conn = tokio::spawn(conn);
    let answer = sender.send_request(request).await.map_err(|e| format!("HTTP: {e}"));
    drop(sender);
    conn.abort();
    Ok(answer?.status().as_u16())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_rfc_4231_test_case_2() {
        // RFC 4231 4.3: key "Jefe", data "what do ya want for nothing?".
        assert_eq!(
            signature(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn secrets_must_be_private_and_long_enough() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("meta.secret");
        std::fs::write(&p, "short\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(matches!(read_secret("meta", &p), Err(WebhookError::Secret { reason, .. }) if reason.contains("16")));
        std::fs::write(&p, "0123456789abcdef-secret\n").unwrap();
        assert_eq!(read_secret("meta", &p).unwrap().as_slice(), b"0123456789abcdef-secret");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(
            matches!(read_secret("meta", &p), Err(WebhookError::Secret { reason, .. }) if reason.contains("chmod"))
        );
    }
}
