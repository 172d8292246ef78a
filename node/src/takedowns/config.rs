//! `[takedown]` in `node.toml`: the default due time of requests and the
//! per-platform webhooks new cases are pushed to.
//!
//! ```toml
//! [takedown]
//! default_due = "72h"
//!
//! [takedown.webhooks.meta]
//! url = "https://takedown-intake.example.com/jaring"
//! secret_file = "webhooks/meta.secret"   # HMAC-SHA256 key, mode 0600
//! # ca_file = "webhooks/meta-ca.pem"     # default: the system's CA bundle
//! # max_tlp = "amber"                    # cases marked above are not pushed
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::model::Tlp;
use crate::takedown::{DAY_MS, MAX_DUE_MS, platform_name};

/// `[takedown]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TakedownConfig {
    /// How long a platform has for an outcome when a request names no due
    /// time, e.g. `"48h"`, `"3days"` (humantime).
    #[serde(default = "default_due")]
    pub default_due: String,
    /// Per platform (its canonical name): where new and withdrawn cases are
    /// pushed.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub webhooks: BTreeMap<String, WebhookConfig>,
}

/// `[takedown.webhooks.<platform>]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// Where to POST: an `https://` URL, or `http://` on loopback with
    /// [`Self::allow_plain_http`].
    pub url: String,
    /// The file holding the HMAC-SHA256 key the `X-Jaring-Signature`
    /// header is made with (whitespace trimmed; at least 16 bytes; mode
    /// 0600), relative to the node directory.
    pub secret_file: PathBuf,
    /// PEM certificates the receiver's certificate must chain to. Default:
    /// the system's CA bundle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    /// Allow a plain `http://` URL; only to a loopback host (a receiver on
    /// the same machine, such as a relay or a test).
    #[serde(default)]
    pub allow_plain_http: bool,
    /// Cases marked above this are not pushed (never RED).
    #[serde(default = "default_max_tlp")]
    pub max_tlp: Tlp,
    /// Deliveries tried per case before giving up (each failure is logged).
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    /// Milliseconds before the first retry; doubled after each failure.
    #[serde(default = "default_initial_backoff_ms")]
    pub initial_backoff_ms: u64,
    /// The longest wait between two attempts, in milliseconds.
    #[serde(default = "default_max_backoff_ms")]
    pub max_backoff_ms: u64,
    /// Milliseconds one attempt may take (connect, TLS, request, answer).
    #[serde(default = "default_attempt_timeout_ms")]
    pub timeout_ms: u64,
}

fn default_due() -> String {
    "72h".into()
}
fn default_max_tlp() -> Tlp {
    Tlp::Amber
}
fn default_max_attempts() -> u32 {
    8
}
fn default_initial_backoff_ms() -> u64 {
    1_000
}
fn default_max_backoff_ms() -> u64 {
    300_000
}
fn default_attempt_timeout_ms() -> u64 {
    10_000
}

impl Default for TakedownConfig {
    fn default() -> Self {
        TakedownConfig { default_due: default_due(), webhooks: BTreeMap::new() }
    }
}

fn parse_due(s: &str) -> Result<i64, String> {
    let d = humantime::parse_duration(s).map_err(|e| format!("{s:?} is not a duration like \"72h\": {e}"))?;
    let ms = i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
    if ms > MAX_DUE_MS {
        return Err(format!("{s:?} is longer than {} days", MAX_DUE_MS / DAY_MS));
    }
    Ok(ms)
}

/// Whether a URL's host is loopback (`127.0.0.0/8`, `::1`, `localhost`).
fn loopback_host(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(a)) => a.is_loopback(),
        Some(url::Host::Ipv6(a)) => a.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

impl TakedownConfig {
    /// [`Self::default_due`] in milliseconds (72 h if it does not parse;
    /// [`Self::validate`] refuses that before the node starts).
    pub fn default_due_ms(&self) -> i64 {
        parse_due(&self.default_due).unwrap_or(72 * 3_600_000)
    }

    /// Checks every field.
    ///
    /// # Errors
    ///
    /// The dotted field and why.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        parse_due(&self.default_due).map_err(|r| ("takedown.default_due", r))?;
        for (platform, hook) in &self.webhooks {
            let field = "takedown.webhooks";
            match platform_name(platform) {
                Ok(p) if p == *platform => {}
                _ => return Err((field, format!("{platform:?} is not a canonical platform name (lower case)"))),
            }
            let url = url::Url::parse(&hook.url)
                .map_err(|e| (field, format!("{platform}: {:?} is not a URL: {e}", hook.url)))?;
            match url.scheme() {
                "https" => {}
                "http" if hook.allow_plain_http && loopback_host(&url) => {}
                "http" if hook.allow_plain_http => {
                    return Err((field, format!("{platform}: plain http is allowed to a loopback host only")));
                }
                _ => return Err((field, format!("{platform}: {:?} must be an https:// URL", hook.url))),
            }
            if url.host().is_none() {
                return Err((field, format!("{platform}: {:?} has no host", hook.url)));
            }
            if hook.max_tlp == Tlp::Red {
                return Err((field, format!("{platform}: max_tlp RED is never pushed")));
            }
            if hook.max_attempts == 0 {
                return Err((field, format!("{platform}: max_attempts must be at least 1")));
            }
            if hook.initial_backoff_ms < 10 || hook.max_backoff_ms < hook.initial_backoff_ms {
                return Err((field, format!("{platform}: backoff must be at least 10 ms and at most max_backoff_ms")));
            }
            if !(100..=600_000).contains(&hook.timeout_ms) {
                return Err((field, format!("{platform}: timeout_ms must be 100 to 600000")));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn with(toml_text: &str) -> TakedownConfig {
        toml::from_str(toml_text).unwrap()
    }

    #[test]
    fn defaults_and_durations() {
        let c = TakedownConfig::default();
        assert_eq!(c.default_due_ms(), 72 * 3_600_000);
        assert!(c.validate().is_ok());
        assert_eq!(with("default_due = \"2days\"").default_due_ms(), 2 * DAY_MS);
        assert_eq!(with("default_due = \"soon\"").validate().unwrap_err().0, "takedown.default_due");
        assert_eq!(with("default_due = \"400days\"").validate().unwrap_err().0, "takedown.default_due");
    }

    #[test]
    fn webhooks_are_https_or_loopback_http_when_allowed() {
        let hook = |platform: &str, url: &str, extra: &str| {
            with(&format!("[webhooks.{platform}]\nurl = \"{url}\"\nsecret_file = \"s\"\n{extra}"))
        };
        assert!(hook("meta", "https://intake.example.com/x", "").validate().is_ok());
        assert!(hook("meta", "http://127.0.0.1:9/x", "allow_plain_http = true").validate().is_ok());
        let refused = [
            hook("meta", "http://127.0.0.1:9/x", ""),
            hook("meta", "http://intake.example.com/x", "allow_plain_http = true"),
            hook("meta", "ftp://intake.example.com/x", ""),
            hook("Meta", "https://intake.example.com/x", ""),
            hook("meta", "https://intake.example.com/x", "max_tlp = \"red\""),
            hook("meta", "https://intake.example.com/x", "max_attempts = 0"),
        ];
        for c in refused {
            assert_eq!(c.validate().unwrap_err().0, "takedown.webhooks", "{c:?}");
        }
        let c = hook("tiktok", "https://i.example/x", "");
        let h = &c.webhooks["tiktok"];
        assert_eq!((h.max_tlp, h.max_attempts, h.initial_backoff_ms), (Tlp::Amber, 8, 1_000));
    }
}
