//! Allowlists (warninglists): values that must never be published as scams
//! without an explicit override.
//!
//! A list has a name and entries. An entry is either
//! - a domain rule (`kind` unset): a host name or a suffix, e.g.
//!   `google.com` or `go.id`; it matches that host and every host under it
//!   as a domain value or a URL of the whole site (no path or query). A
//!   specific page or account on a platform (`facebook.com/groups/...`) and
//!   an e-mail address at a free-mail provider are legitimate indicators,
//!   so `refuse` rules do not match them, and domain rules never match
//!   e-mail addresses; `review` rules (URL shorteners, where every link
//!   hides a destination) match every URL under the host; or
//! - an exact value of one kind, normalized like a submission; for kind
//!   `ip` also a network (`203.0.113.0/24`).
//!
//! Each entry says what a match does: `refuse` the submission, or `review`
//! (URL shorteners: the short link is not itself the scam; an analyst should
//! look at the destination). Both stop the submission, naming the list, and
//! store nothing; the message says which of the two it is ([`refusal`]).
//! After review, `--override-allowlist` (audited) publishes it.
//!
//! Admin lists live in the node's store; a small built-in set
//! ([`builtin`]) of well-known platforms, hosting front doors, government
//! suffixes, banks and shorteners always applies, and so do the private,
//! loopback and reserved IP ranges ([`crate::reserved_ip`]). Matching is
//! done by the node's allowlist index (`jaring_node::warninglist`), which
//! holds these lists, the admin's and large imported ones alike.

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

/// Name of the built-in list of platforms, hosting front doors, governments
/// and banks.
pub const BUILTIN_PLATFORMS: &str = "builtin-platforms";
/// Name of the built-in list of public URL shorteners (review, not refuse).
pub const BUILTIN_SHORTENERS: &str = "builtin-shorteners";
/// Name of the built-in list of private, loopback and reserved IP ranges
/// ([`crate::reserved_ip`]); its entries are CIDR ranges of kind ip.
pub const BUILTIN_RESERVED_IPS: &str = "builtin-reserved-ips";

/// Platforms, government suffixes and banks of the built-in list: domain
/// rules over every host under them.
#[rustfmt::skip]
pub const PLATFORMS: &[&str] = &[
    // Platforms scams abuse (a post on them is not the platform itself).
    "google.com", "youtube.com", "facebook.com", "fb.com", "instagram.com", "whatsapp.com", "wa.me",
    "telegram.org", "t.me", "tiktok.com", "x.com", "twitter.com", "linkedin.com", "line.me", "zalo.me",
    "shopee.co.id", "shopee.vn", "shopee.com.my", "tokopedia.com", "lazada.co.id", "lazada.vn",
    "lazada.com.my", "grab.com", "gojek.com", "microsoft.com", "apple.com", "icloud.com", "amazon.com",
    "wikipedia.org", "github.com", "gmail.com", "outlook.com", "yahoo.com",
    // Government suffixes of the region.
    "go.id", "gov.vn", "gov.my", "gov.sg", "gov.ph", "go.th", "gov.kh", "gov.la", "gov.mm", "gov.bn",
    // Banks' own domains.
    "bca.co.id", "bankmandiri.co.id", "bri.co.id", "bni.co.id", "maybank.com", "maybank2u.com.my",
    "cimb.com", "cimbclicks.com.my", "vietcombank.com.vn", "techcombank.com.vn", "bidv.com.vn",
    "dbs.com", "ocbc.com", "uob.com.sg",
];

/// CDNs and hosting front doors of the built-in list: rules over their own
/// site only (the index's `site` scope), not over the hosts their customers
/// run under them: `evil-bucket.s3.amazonaws.com` and `d1234.cloudfront.net`
/// are someone's content, and exactly what gets reported.
#[rustfmt::skip]
pub const HOSTING: &[&str] = &[
    "cloudflare.com", "cloudfront.net", "akamaihd.net", "akamai.net", "fastly.net", "googleusercontent.com",
    "gstatic.com", "googleapis.com", "azureedge.net", "amazonaws.com",
];

/// Public URL shorteners of the built-in list (review, not refuse).
#[rustfmt::skip]
pub const SHORTENERS: &[&str] = &[
    "bit.ly", "tinyurl.com", "s.id", "cutt.ly", "t.co", "goo.gl", "ow.ly", "is.gd", "rebrand.ly", "shorturl.at",
    "rb.gy", "tiny.cc",
];

/// Why a built-in platform, government or bank is listed.
pub const PLATFORM_NOTE: &str = "well-known platform, government or bank";
/// Why a built-in hosting front door is listed.
pub const HOSTING_NOTE: &str = "CDN or hosting front door (its own site, not its customers' hosts)";
/// Why a built-in shortener is listed.
pub const SHORTENER_NOTE: &str = "public URL shortener: review the destination";

/// The built-in entries, as `allowlist list --builtin` shows them.
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
    let mut out = make(BUILTIN_PLATFORMS, ListAction::Refuse, PLATFORM_NOTE, PLATFORMS);
    out.extend(make(BUILTIN_PLATFORMS, ListAction::Refuse, HOSTING_NOTE, HOSTING));
    out.extend(make(BUILTIN_SHORTENERS, ListAction::Review, SHORTENER_NOTE, SHORTENERS));
    out.extend(crate::reserved_ip::RANGES.iter().map(|(cidr, what)| AllowEntry {
        list: BUILTIN_RESERVED_IPS.into(),
        kind: Some(Kind::Ip),
        value: (*cidr).to_string(),
        action: ListAction::Refuse,
        builtin: true,
        note: reserved_note(what),
    }));
    out
}

/// The note of a built-in reserved range, from what the range is.
pub fn reserved_note(what: &str) -> String {
    format!("{what}: not an address on the Internet")
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

/// The refusal of a submission of `canonical` that matched `rule` (as the
/// index writes it: `domain rule google.com`, `network 10.0.0.0/8`,
/// `phone +62811000111`) on `list`, with the entry's note if it has one.
pub fn refusal(list: &str, action: ListAction, rule: &str, note: &str, canonical: &str) -> InputError {
    let what = match action {
        ListAction::Refuse => "refused",
        ListAction::Review => "needs an analyst's review (nothing was stored)",
    };
    InputError::new(
        "value",
        format!(
            "{canonical} is on allowlist {list:?} ({rule}{}): {what}; publish with --override-allowlist if you are sure",
            if note.is_empty() { String::new() } else { format!(", {note}") },
        ),
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn builtin_entries_name_their_lists_and_ranges() {
        let b = builtin();
        assert_eq!(b.iter().filter(|e| e.list == BUILTIN_SHORTENERS).count(), SHORTENERS.len());
        assert!(b.iter().filter(|e| e.list == BUILTIN_SHORTENERS).all(|e| e.action == ListAction::Review));
        let private = b.iter().find(|e| e.value == "192.168.0.0/16").unwrap();
        assert_eq!(private.list, BUILTIN_RESERVED_IPS);
        assert_eq!(private.kind, Some(Kind::Ip));
        let refused = refusal(&private.list, private.action, "network 192.168.0.0/16", &private.note, "192.168.1.1");
        assert!(refused.reason.contains("(network 192.168.0.0/16, private network (RFC 1918)"), "{refused}");
        assert!(refused.reason.contains("--override-allowlist"), "{refused}");
        let review = refusal(BUILTIN_SHORTENERS, ListAction::Review, "domain rule bit.ly", "", "https://bit.ly/x");
        assert!(review.reason.contains("needs an analyst's review"), "{review}");
        // No name is on two of the built-in groups.
        assert!(PLATFORMS.iter().all(|p| !HOSTING.contains(p) && !SHORTENERS.contains(p)));
        assert!(HOSTING.iter().all(|h| !SHORTENERS.contains(h)));
    }

    #[test]
    fn list_names_are_checked() {
        assert!(validate_list_name("gov-domains").is_ok());
        assert!(validate_list_name("a b").is_err());
        assert!(validate_list_name("").is_err());
        assert!(validate_list_name(&"x".repeat(65)).is_err());
    }
}
