//! Allowlists (warninglists): values that must never be published as scams
//! without an explicit override.
//!
//! A list has a name and entries. An entry is either
//! - a domain rule (`kind` unset): a registrable domain or a suffix, e.g.
//!   `google.com` or `go.id`; it matches that host and every host under it
//!   as a domain value or a URL of the whole site (no path or query). A
//!   specific page or account on a platform (`facebook.com/groups/...`) and
//!   an e-mail address at a free-mail provider are legitimate indicators,
//!   so `refuse` rules do not match them; `review` rules (URL shorteners,
//!   where every link hides a destination) match every URL under the host;
//!   or
//! - an exact value of one kind, normalized like a submission.
//!
//! Each entry says what a match does: `refuse` the submission, or `review`
//! (URL shorteners: the short link is not itself the scam; an analyst should
//! look at the destination). Both stop the submission, naming the list, and
//! store nothing; the message says which of the two it is. After review,
//! `--override-allowlist` (audited) publishes it.
//!
//! Admin lists live in the node's store; a small built-in set
//! ([`builtin`]) of well-known platforms, CDNs, government suffixes, banks
//! and shorteners always applies, and so do the private, loopback and
//! reserved IP ranges ([`crate::reserved_ip`]).

use serde::{Deserialize, Serialize};

use crate::model::Kind;
use crate::submission::InputError;

/// What a match does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListAction {
    /// Refuse the submission.
    Refuse,
    /// Stop it for an analyst's review (then publish with the override).
    Review,
}

impl ListAction {
    /// The canonical name.
    pub fn as_str(self) -> &'static str {
        match self {
            ListAction::Refuse => "refuse",
            ListAction::Review => "review",
        }
    }
}

impl std::str::FromStr for ListAction {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "" | "refuse" => Ok(ListAction::Refuse),
            "review" => Ok(ListAction::Review),
            other => Err(format!("unknown allowlist action {other:?}; expected refuse or review")),
        }
    }
}

/// One allowlist entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllowEntry {
    /// List name.
    pub list: String,
    /// `None`: a domain rule; else an exact value of this kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<Kind>,
    /// Normalized domain (rule) or value.
    pub value: String,
    /// What a match does.
    pub action: ListAction,
    /// Shipped with the node (cannot be removed).
    #[serde(default)]
    pub builtin: bool,
    /// Why it is listed.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
}

/// Name of the built-in list of platforms, CDNs, governments and banks.
pub const BUILTIN_PLATFORMS: &str = "builtin-platforms";
/// Name of the built-in list of public URL shorteners (review, not refuse).
pub const BUILTIN_SHORTENERS: &str = "builtin-shorteners";
/// Name of the built-in list of private, loopback and reserved IP ranges
/// ([`crate::reserved_ip`]); its entries are CIDR ranges of kind ip.
pub const BUILTIN_RESERVED_IPS: &str = "builtin-reserved-ips";

#[rustfmt::skip]
const PLATFORMS: &[&str] = &[
    // Platforms scams abuse (a post on them is not the platform itself).
    "google.com", "youtube.com", "facebook.com", "fb.com", "instagram.com", "whatsapp.com", "wa.me",
    "telegram.org", "t.me", "tiktok.com", "x.com", "twitter.com", "linkedin.com", "line.me", "zalo.me",
    "shopee.co.id", "shopee.vn", "shopee.com.my", "tokopedia.com", "lazada.co.id", "lazada.vn",
    "lazada.com.my", "grab.com", "gojek.com", "microsoft.com", "apple.com", "icloud.com", "amazon.com",
    "wikipedia.org", "github.com", "gmail.com", "outlook.com", "yahoo.com",
    // CDNs and hosting front doors.
    "cloudflare.com", "cloudfront.net", "akamaihd.net", "akamai.net", "fastly.net", "googleusercontent.com",
    "gstatic.com", "googleapis.com", "azureedge.net", "amazonaws.com",
    // Government suffixes of the region.
    "go.id", "gov.vn", "gov.my", "gov.sg", "gov.ph", "go.th", "gov.kh", "gov.la", "gov.mm", "gov.bn",
    // Banks' own domains.
    "bca.co.id", "bankmandiri.co.id", "bri.co.id", "bni.co.id", "maybank.com", "maybank2u.com.my",
    "cimb.com", "cimbclicks.com.my", "vietcombank.com.vn", "techcombank.com.vn", "bidv.com.vn",
    "dbs.com", "ocbc.com", "uob.com.sg",
];

#[rustfmt::skip]
const SHORTENERS: &[&str] = &[
    "bit.ly", "tinyurl.com", "s.id", "cutt.ly", "t.co", "goo.gl", "ow.ly", "is.gd", "rebrand.ly", "shorturl.at",
    "rb.gy", "tiny.cc",
];

/// The built-in entries.
pub fn builtin() -> Vec<AllowEntry> {
    let make = |list: &str, action, note: &str, domains: &[&str]| -> Vec<AllowEntry> {
        domains
            .iter()
            .map(|d| AllowEntry {
                list: list.into(),
                kind: None,
                value: (*d).to_string(),
                action,
                builtin: true,
                note: note.into(),
            })
            .collect()
    };
    let mut out =
        make(BUILTIN_PLATFORMS, ListAction::Refuse, "well-known platform, CDN, government or bank", PLATFORMS);
    out.extend(make(
        BUILTIN_SHORTENERS,
        ListAction::Review,
        "public URL shortener: review the destination",
        SHORTENERS,
    ));
    out.extend(crate::reserved_ip::RANGES.iter().map(|(cidr, note)| AllowEntry {
        list: BUILTIN_RESERVED_IPS.into(),
        kind: Some(Kind::Ip),
        value: (*cidr).to_string(),
        action: ListAction::Refuse,
        builtin: true,
        note: format!("{note}: not an address on the Internet"),
    }));
    out
}

/// The host a normalized value names, for domain rules, and whether the
/// value names the whole site (a domain, or a URL without path or query).
fn host_of(kind: Kind, canonical: &str) -> Option<(String, bool)> {
    match kind {
        Kind::Domain => Some((canonical.to_string(), true)),
        Kind::Url => url::Url::parse(canonical).ok().and_then(|u| {
            let whole = matches!(u.path(), "" | "/") && u.query().is_none();
            u.host_str().map(|h| (h.to_string(), whole))
        }),
        _ => None,
    }
}

/// Whether `host` is `rule` or under it.
fn under(host: &str, rule: &str) -> bool {
    host == rule || host.strip_suffix(rule).is_some_and(|rest| rest.ends_with('.'))
}

/// The first entry that matches a normalized value, if any. Exact entries
/// are checked before domain rules; `refuse` before `review`.
pub fn find<'a>(entries: &'a [AllowEntry], kind: Kind, canonical: &str) -> Option<&'a AllowEntry> {
    let host = host_of(kind, canonical);
    let hit = |e: &&AllowEntry| match e.kind {
        // Built-in IP entries are ranges.
        Some(Kind::Ip) if e.builtin && kind == Kind::Ip => crate::reserved_ip::cidr_contains(&e.value, canonical),
        Some(k) => k == kind && e.value == canonical,
        None => {
            host.as_ref().is_some_and(|(h, whole)| under(h, &e.value) && (*whole || e.action == ListAction::Review))
        }
    };
    let rank = |e: &AllowEntry| (e.kind.is_none(), e.action == ListAction::Review);
    entries.iter().filter(hit).min_by_key(|e| rank(e))
}

/// Normalizes a domain rule: a host name (`normalize` rules) or, for bare
/// suffixes like `go.id`, lower-case dotted labels.
///
/// # Errors
///
/// Why it is not a domain rule.
pub fn normalize_rule(raw: &str, ctx: &crate::normalize::NormalizeContext) -> Result<String, String> {
    if let Ok(d) = crate::normalize::normalize(Kind::Domain, raw, ctx) {
        return Ok(d);
    }
    let d = raw.trim().trim_end_matches('.').to_ascii_lowercase();
    let ok = !d.is_empty()
        && d.len() <= 253
        && d.split('.')
            .all(|l| !l.is_empty() && l.len() <= 63 && l.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-'));
    if ok { Ok(d) } else { Err(format!("{raw:?} is not a domain or domain suffix")) }
}

/// Checks a list name: 1-64 of ASCII letters, digits, `-`, `_`, `.`.
///
/// # Errors
///
/// Why not.
pub fn validate_list_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 64 {
        return Err("list name must be 1-64 characters".into());
    }
    if !name.bytes().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.')) {
        return Err(format!("list name {name:?} may hold only letters, digits, '-', '_' and '.'"));
    }
    Ok(())
}

/// The refusal of a submission that matched `hit`.
pub fn refusal(hit: &AllowEntry, canonical: &str) -> InputError {
    let what = match hit.action {
        ListAction::Refuse => "refused",
        ListAction::Review => "needs an analyst's review (nothing was stored)",
    };
    InputError::new(
        "value",
        format!(
            "{canonical} is on allowlist {:?} ({}{}): {what}; publish with --override-allowlist if you are sure",
            hit.list,
            hit.kind.map_or_else(|| format!("domain rule {}", hit.value), |k| format!("{k} {}", hit.value)),
            if hit.note.is_empty() { String::new() } else { format!(", {}", hit.note) },
        ),
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn domain_rules_match_hosts_under_them_only() {
        let b = builtin();
        let hit = |k, v| find(&b, k, v).map(|e| e.list.as_str());
        assert_eq!(hit(Kind::Domain, "google.com"), Some(BUILTIN_PLATFORMS));
        assert_eq!(hit(Kind::Domain, "mail.google.com"), Some(BUILTIN_PLATFORMS));
        assert_eq!(hit(Kind::Domain, "notgoogle.com"), None, "suffix must be a whole label");
        assert_eq!(hit(Kind::Domain, "google.com.evil.id"), None);
        assert_eq!(hit(Kind::Domain, "imigrasi.go.id"), Some(BUILTIN_PLATFORMS));
        assert_eq!(hit(Kind::Url, "https://www.facebook.com/"), Some(BUILTIN_PLATFORMS));
        // A scam page on a platform and a scammer's free-mail address are
        // indicators in their own right.
        assert_eq!(hit(Kind::Url, "https://www.facebook.com/groups/x"), None);
        assert_eq!(hit(Kind::Url, "https://www.facebook.com/?id=1"), None);
        assert_eq!(hit(Kind::Email, "rekrut.kerja@gmail.com"), None);
        assert_eq!(hit(Kind::Url, "https://bit.ly/abc"), Some(BUILTIN_SHORTENERS));
        assert_eq!(find(&b, Kind::Url, "https://bit.ly/abc").unwrap().action, ListAction::Review);
        assert_eq!(hit(Kind::Domain, "loker-kerja.co.id"), None);
        assert_eq!(hit(Kind::Phone, "+6281234567890"), None);
        // Private, loopback and reserved addresses are refused; the
        // documentation ranges are not.
        for ip in ["10.0.0.0", "127.0.0.1", "192.168.1.1", "::1", "::ffff:10.0.0.1"] {
            assert_eq!(hit(Kind::Ip, ip), Some(BUILTIN_RESERVED_IPS), "{ip}");
        }
        assert_eq!(find(&b, Kind::Ip, "10.0.0.1").unwrap().action, ListAction::Refuse);
        assert_eq!(hit(Kind::Ip, "203.0.113.7"), None);
        assert_eq!(hit(Kind::Ip, "8.8.4.4"), None);
        let refused = refusal(find(&b, Kind::Ip, "192.168.1.1").unwrap(), "192.168.1.1");
        assert!(refused.reason.contains("192.168.0.0/16, private network (RFC 1918)"), "{refused}");
        assert!(refused.reason.contains("--override-allowlist"), "{refused}");
    }

    #[test]
    fn exact_entries_match_their_kind_and_value() {
        let e = vec![AllowEntry {
            list: "hotlines".into(),
            kind: Some(Kind::Phone),
            value: "+62811000111".into(),
            action: ListAction::Refuse,
            builtin: false,
            note: String::new(),
        }];
        assert!(find(&e, Kind::Phone, "+62811000111").is_some());
        assert!(find(&e, Kind::Phone, "+62811000112").is_none());
        assert!(find(&e, Kind::Domain, "+62811000111").is_none());
    }

    #[test]
    fn rules_normalize() {
        let ctx = crate::normalize::NormalizeContext::default();
        assert_eq!(normalize_rule("WWW.Example.COM.", &ctx).unwrap(), "www.example.com");
        assert_eq!(normalize_rule("go.id", &ctx).unwrap(), "go.id");
        assert!(normalize_rule("http://x/", &ctx).is_err());
        assert!(validate_list_name("gov-domains").is_ok());
        assert!(validate_list_name("a b").is_err());
    }
}
