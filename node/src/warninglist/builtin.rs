//! The built-in lists ([`crate::allowlist`]'s names and
//! [`crate::reserved_ip`]'s ranges) as lists of the index, and the notes a
//! refusal quotes for their rules.
//!
//! - `builtin-platforms`: platforms, government suffixes and banks as
//!   domain rules over every host under them ([`DomainScope::Subtree`]);
//!   CDNs and hosting front doors ([`crate::allowlist::HOSTING`]) as rules
//!   over their own site only ([`DomainScope::Site`]), so a customer's
//!   bucket or distribution under them stays reportable;
//! - `builtin-shorteners`: URL shorteners, `review`, subtree;
//! - `builtin-reserved-ips`: private, loopback and reserved ranges as IP
//!   networks.
//!
//! Pure.

use super::allowlists::admin_lists;
use super::index::AllowIndex;
use super::list::{ListFormat, ListMeta};
use super::rule::{DomainScope, IpNetwork, Rule, RuleSet};
use crate::allowlist::{
    self, BUILTIN_PLATFORMS, BUILTIN_RESERVED_IPS, BUILTIN_SHORTENERS, HOSTING, HOSTING_NOTE, ListAction,
    PLATFORM_NOTE, PLATFORMS, SHORTENER_NOTE, SHORTENERS,
};
use crate::reserved_ip;

fn meta(name: &str, title: &str, action: ListAction) -> ListMeta {
    ListMeta {
        name: name.to_string(),
        format: ListFormat::Builtin,
        source: String::new(),
        version: None,
        title: title.to_string(),
        description: String::new(),
        category: None,
        action,
    }
}

/// An index of the built-in lists alone: what a node with no admin or
/// imported lists checks against (offline extraction flags with it).
pub fn index() -> AllowIndex {
    index_with(&[])
}

/// An index of the built-in lists and the admin lists `entries` hold (as a
/// node's `allowlist list --builtin` gives them; entries of the built-in
/// lists are skipped, the built-in rules are indexed as the node indexes
/// them).
pub fn index_with(entries: &[allowlist::AllowEntry]) -> AllowIndex {
    let mut index = AllowIndex::new();
    for (meta, rules) in lists().into_iter().chain(admin_lists(entries)) {
        let name = meta.name.clone();
        if let Err(e) = index.set_list(meta, &rules) {
            tracing::warn!(list = %name, error = %e, "allowlist left out of the index");
        }
    }
    index
}

/// The built-in lists with their rules.
pub fn lists() -> Vec<(ListMeta, RuleSet)> {
    let mut platforms = RuleSet::new();
    for name in PLATFORMS {
        platforms.push(Rule::Domain { name, scope: DomainScope::Subtree }, ListAction::Refuse);
    }
    for name in HOSTING {
        platforms.push(Rule::Domain { name, scope: DomainScope::Site }, ListAction::Refuse);
    }
    let mut shorteners = RuleSet::new();
    for name in SHORTENERS {
        shorteners.push(Rule::Domain { name, scope: DomainScope::Subtree }, ListAction::Review);
    }
    let mut reserved = RuleSet::new();
    for (cidr, _) in reserved_ip::RANGES {
        if let Ok(net) = cidr.parse::<IpNetwork>() {
            reserved.push(Rule::Network(net), ListAction::Refuse);
        }
    }
    vec![
        (
            meta(BUILTIN_PLATFORMS, "Well-known platforms, hosting, governments and banks", ListAction::Refuse),
            platforms,
        ),
        (meta(BUILTIN_SHORTENERS, "Public URL shorteners", ListAction::Review), shorteners),
        (meta(BUILTIN_RESERVED_IPS, "Private, loopback and reserved IP ranges", ListAction::Refuse), reserved),
    ]
}

/// Why a built-in rule is listed, for the refusal message; `None` for a
/// list or rule that is not built in.
pub fn note(list: &str, rule: &Rule<'_>) -> Option<String> {
    match (list, rule) {
        (BUILTIN_PLATFORMS, Rule::Domain { name, .. }) if HOSTING.contains(name) => Some(HOSTING_NOTE.into()),
        (BUILTIN_PLATFORMS, Rule::Domain { .. }) => Some(PLATFORM_NOTE.into()),
        (BUILTIN_SHORTENERS, Rule::Domain { .. }) => Some(SHORTENER_NOTE.into()),
        (BUILTIN_RESERVED_IPS, Rule::Network(net)) => reserved_ip::RANGES
            .iter()
            .find(|(cidr, _)| cidr.parse::<IpNetwork>().is_ok_and(|n| n == *net))
            .map(|(_, what)| allowlist::reserved_note(what)),
        _ => None,
    }
}

/// Whether `list` is a built-in list's name (those names are reserved).
pub fn is_builtin_name(list: &str) -> bool {
    list.starts_with("builtin-")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::model::Kind;
    use crate::warninglist::AllowIndex;

    fn index() -> AllowIndex {
        let mut ix = AllowIndex::new();
        for (meta, rules) in lists() {
            ix.set_list(meta, &rules).unwrap();
        }
        ix
    }

    #[test]
    fn builtin_rules_match_what_the_old_scan_matched() {
        let ix = index();
        let hit = |k, v| ix.check(k, v).map(|h| h.list);
        assert_eq!(hit(Kind::Domain, "google.com"), Some(BUILTIN_PLATFORMS));
        assert_eq!(hit(Kind::Domain, "mail.google.com"), Some(BUILTIN_PLATFORMS));
        assert_eq!(hit(Kind::Domain, "notgoogle.com"), None, "suffix must be a whole label");
        assert_eq!(hit(Kind::Domain, "google.com.evil.id"), None);
        assert_eq!(hit(Kind::Domain, "imigrasi.go.id"), Some(BUILTIN_PLATFORMS));
        assert_eq!(hit(Kind::Url, "https://www.facebook.com/"), Some(BUILTIN_PLATFORMS));
        assert_eq!(hit(Kind::Url, "https://www.facebook.com/groups/x"), None);
        assert_eq!(hit(Kind::Email, "rekrut.kerja@gmail.com"), None);
        assert_eq!(hit(Kind::Url, "https://bit.ly/abc"), Some(BUILTIN_SHORTENERS));
        assert_eq!(ix.check(Kind::Url, "https://bit.ly/abc").unwrap().action, ListAction::Review);
        assert_eq!(hit(Kind::Domain, "loker-kerja.co.id"), None);
        for ip in ["10.0.0.0", "127.0.0.1", "192.168.1.1", "::1", "::ffff:10.0.0.1", "fe80::1", "255.255.255.255"] {
            assert_eq!(hit(Kind::Ip, ip), Some(BUILTIN_RESERVED_IPS), "{ip}");
        }
        // The documentation ranges are not reserved here: examples use them.
        for ip in ["203.0.113.7", "8.8.4.4", "2001:db8::1", "::ffff:8.8.8.8"] {
            assert_eq!(hit(Kind::Ip, ip), None, "{ip}");
        }
        assert_eq!(ix.list(BUILTIN_RESERVED_IPS).unwrap().rules.total(), reserved_ip::RANGES.len() as u64);
    }

    #[test]
    fn hosting_front_doors_cover_their_own_site_not_their_customers() {
        let ix = index();
        let hit = |v| ix.check(Kind::Domain, v).map(|h| h.list);
        assert_eq!(hit("amazonaws.com"), Some(BUILTIN_PLATFORMS));
        assert_eq!(hit("console.amazonaws.com"), Some(BUILTIN_PLATFORMS));
        assert_eq!(hit("cloudfront.net"), Some(BUILTIN_PLATFORMS));
        for customer in [
            "evil-bucket.s3.amazonaws.com",
            "d1234abcd.cloudfront.net",
            "loker.storage.googleapis.com",
            "x.azureedge.net",
        ] {
            assert_eq!(hit(customer), None, "{customer}");
        }
    }

    #[test]
    fn notes_name_what_a_rule_is() {
        let ix = index();
        let h = ix.check(Kind::Ip, "192.168.1.1").unwrap();
        assert_eq!(note(h.list, &h.rule).unwrap(), "private network (RFC 1918): not an address on the Internet");
        let h = ix.check(Kind::Url, "https://bit.ly/x").unwrap();
        assert_eq!(note(h.list, &h.rule).as_deref(), Some(SHORTENER_NOTE));
        let h = ix.check(Kind::Domain, "amazonaws.com").unwrap();
        assert_eq!(note(h.list, &h.rule).as_deref(), Some(HOSTING_NOTE));
        assert_eq!(note("gov-id", &h.rule), None);
    }
}
