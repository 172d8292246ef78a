//! MISP warninglists, as published in MISP's `misp-warninglists`
//! repository: one `list.json` per list, with `name`, `type`, `list`,
//! `matching_attributes`, `version`, `description` and, in MISP's own
//! database, `category` (`false_positive` or `known`).
//!
//! Read as MISP reads them: `type` defaults to `string` (an array names its
//! first element), `version` to 1, no `matching_attributes` means every
//! attribute type, and `list` may be an array of values or an object of
//! value to comment (comments are dropped here).
//!
//! Mapped to Jaring rules by `type`:
//! - `hostname`: domain rules (MISP matches the host and every host under
//!   it, from a domain or a URL); leading dots are dropped. The scope is
//!   the import's, [`DomainScope::Site`] by default. The list must name a
//!   host attribute (`domain`, `hostname`, `url`, `domain|ip`, ...): Jaring
//!   does not apply domain rules to e-mail addresses.
//! - `cidr`: IP networks; bare addresses are single-address networks. The
//!   list must name an IP attribute (`ip-src`, `ip-dst`, `domain|ip`, ...).
//! - `string`: exact values of each kind its attributes name (see
//!   [`attribute_kinds`]), normalized like submissions. A value that is a
//!   domain (or an IP) is not also kept as a URL: it would only be
//!   `http://value/`. A value with a leading dot (`.google.com`, as in
//!   MISP's google and microsoft lists) is read as a domain rule, which is
//!   what its authors mean (MISP itself would match it against nothing).
//! - `substring` and `regex`: refused, naming the list: Jaring matches
//!   whole values, hosts and networks in constant time, and a substring or
//!   pattern would have to run against every value checked.
//!
//! Values that do not normalize are counted and sampled in the
//! [`ImportReport`], not fatal; a list none of whose values made a rule is
//! refused. Attribute types that name no Jaring kind are listed in the
//! report; a list none of whose attribute types does is refused.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};

use super::list::{ImportReport, ListFormat, ListMeta, RefusedValue, Warninglist};
use super::rule::{DomainScope, IpNetwork, Rule, RuleSet, normalize_domain_rule};
use crate::allowlist::ListAction;
use crate::model::Kind;
use crate::normalize::{NormalizeContext, normalize};

/// Why a MISP warninglist was not imported.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MispError {
    /// Not JSON, or not a warninglist's shape.
    #[error("not a MISP warninglist: {0}")]
    Json(#[from] serde_json::Error),
    /// `version` is neither a number nor a numeric string.
    #[error("list {list:?}: version {given:?} is not a whole number")]
    BadVersion {
        /// The list's MISP name.
        list: String,
        /// The version as written.
        given: String,
    },
    /// A `type` Jaring does not import.
    #[error("list {list:?} skipped: type {list_type} is not imported: {why}")]
    UnsupportedType {
        /// The list's MISP name.
        list: String,
        /// The type.
        list_type: String,
        why: &'static str,
    },
    /// A `type` outside the format.
    #[error("list {list:?} skipped: unknown type {list_type:?}; expected string, substring, hostname, cidr or regex")]
    UnknownType {
        /// The list's MISP name.
        list: String,
        /// The type.
        list_type: String,
    },
    /// No `matching_attributes` entry maps to what the type makes.
    #[error("list {list:?} skipped: its matching attributes ({}) {why}", attributes.join(", "))]
    NoMappedAttributes {
        /// The list's MISP name.
        list: String,
        /// The attribute types it names.
        attributes: Vec<String>,
        /// Why none applies.
        why: &'static str,
    },
    /// Every value was refused (or there were none).
    #[error("list {list:?} skipped: none of its {read} values made a rule{}", first.as_ref().map(|f| format!(" (first: {:?}: {})", f.value, f.reason)).unwrap_or_default())]
    NothingUsable {
        /// The list's MISP name.
        list: String,
        /// Values read.
        read: u64,
        /// The first refused value.
        first: Option<RefusedValue>,
    },
    /// The Jaring list name is not a valid list name.
    #[error("list name {name:?}: {reason}")]
    BadListName {
        /// The name.
        name: String,
        /// Why.
        reason: String,
    },
}

/// A Jaring kind a MISP attribute type names, and the prefix its values
/// need to normalize (`btc` values are bare addresses; Jaring writes
/// `btc:<address>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttributeTarget {
    /// The kind.
    pub kind: Kind,
    /// Written before a value that has no `prefix:` of its own.
    pub prefix: Option<&'static str>,
}

const fn to(kind: Kind) -> AttributeTarget {
    AttributeTarget { kind, prefix: None }
}

const fn with(kind: Kind, prefix: &'static str) -> AttributeTarget {
    AttributeTarget { kind, prefix: Some(prefix) }
}

/// The Jaring kinds a MISP attribute type names (empty: none). Composite
/// types name each part Jaring holds (`domain|ip`: domain and ip;
/// `ip-dst|port`: ip).
pub fn attribute_kinds(attribute: &str) -> &'static [AttributeTarget] {
    const DOMAIN: &[AttributeTarget] = &[to(Kind::Domain)];
    const DOMAIN_IP: &[AttributeTarget] = &[to(Kind::Domain), to(Kind::Ip)];
    const URL: &[AttributeTarget] = &[to(Kind::Url)];
    const IP: &[AttributeTarget] = &[to(Kind::Ip)];
    const EMAIL: &[AttributeTarget] = &[to(Kind::Email)];
    const PHONE: &[AttributeTarget] = &[to(Kind::Phone)];
    const BTC: &[AttributeTarget] = &[with(Kind::CryptoWallet, "btc")];
    const ETH: &[AttributeTarget] = &[with(Kind::CryptoWallet, "eth")];
    const XMR: &[AttributeTarget] = &[with(Kind::CryptoWallet, "xmr")];
    const DASH: &[AttributeTarget] = &[with(Kind::CryptoWallet, "dash")];
    const BANK: &[AttributeTarget] = &[to(Kind::BankAccount)];
    const GITHUB: &[AttributeTarget] = &[with(Kind::SocialHandle, "github")];
    const X: &[AttributeTarget] = &[with(Kind::SocialHandle, "x")];
    match attribute {
        "domain" | "hostname" | "hostname|port" => DOMAIN,
        "domain|ip" => DOMAIN_IP,
        "url" | "link" => URL,
        "ip-src" | "ip-dst" | "ip-src|port" | "ip-dst|port" => IP,
        "email"
        | "email-src"
        | "email-dst"
        | "target-email"
        | "email-reply-to"
        | "whois-registrant-email"
        | "dns-soa-email" => EMAIL,
        "phone-number" | "whois-registrant-phone" => PHONE,
        "btc" => BTC,
        "eth" => ETH,
        "xmr" => XMR,
        "dash" => DASH,
        "bank-account-nr" => BANK,
        "github-username" => GITHUB,
        "twitter-id" => X,
        _ => &[],
    }
}

/// Every kind, for a list without `matching_attributes` (MISP: any type).
const ALL_TARGETS: &[AttributeTarget] = &[
    to(Kind::Domain),
    to(Kind::Url),
    to(Kind::Phone),
    to(Kind::BankAccount),
    to(Kind::EwalletAccount),
    to(Kind::CryptoWallet),
    to(Kind::Email),
    to(Kind::Ip),
    to(Kind::SocialHandle),
];

/// How to import a list.
#[derive(Debug, Clone)]
pub struct MispImport<'a> {
    /// The Jaring list name ([`list_name_for`] makes one from a folder).
    pub name: String,
    /// Where it was read from (shown in `allowlist list`).
    pub source: String,
    /// What its matches do.
    pub action: ListAction,
    /// How far `hostname` rules reach.
    pub scope: DomainScope,
    /// Normalization settings (the node's region, for national phone forms).
    pub ctx: &'a NormalizeContext,
}

/// A Jaring list name for a MISP list folder (`url-shortener` gives
/// `misp-url-shortener`): lower case, characters outside `a-z 0-9 - _ .`
/// become `-`, at most 64 characters.
pub fn list_name_for(folder: &str) -> String {
    let body: String = folder
        .trim()
        .chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '-' }
        })
        .collect();
    let mut name = format!("misp-{}", body.trim_matches('-'));
    name.truncate(64);
    name
}

/// A JSON string, borrowed from the input where it has no escapes.
struct Text<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Text<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Text<'a>, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Text<'a>, E> {
                Ok(Text(Cow::Owned(v.to_string())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Text<'a>, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V(std::marker::PhantomData))
    }
}

/// `list`: an array of values, or an object of value to comment.
struct Values<'a>(Vec<Text<'a>>);

impl<'de: 'a, 'a> Deserialize<'de> for Values<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Values<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array of values or an object of value to comment")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Values<'a>, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1 << 20));
                while let Some(t) = seq.next_element::<Text<'a>>()? {
                    out.push(t);
                }
                Ok(Values(out))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Values<'a>, A::Error> {
                let mut out = Vec::new();
                while let Some(t) = map.next_key::<Text<'a>>()? {
                    map.next_value::<de::IgnoredAny>()?;
                    out.push(t);
                }
                Ok(Values(out))
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

/// `type`: a string, or (MISP accepts it) an array whose first is used.
struct ListType(Option<String>);

impl<'de> Deserialize<'de> for ListType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ListType;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list type")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ListType, E> {
                Ok(ListType(Some(v.to_string())))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ListType, A::Error> {
                let first = seq.next_element::<String>()?;
                while seq.next_element::<de::IgnoredAny>()?.is_some() {}
                Ok(ListType(first))
            }
            fn visit_unit<E: de::Error>(self) -> Result<ListType, E> {
                Ok(ListType(None))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawVersion {
    Number(u64),
    Text(String),
}

#[derive(Deserialize)]
struct RawList<'a> {
    #[serde(borrow)]
    name: Cow<'a, str>,
    #[serde(rename = "type", default)]
    list_type: Option<ListType>,
    #[serde(borrow)]
    list: Values<'a>,
    #[serde(default)]
    matching_attributes: Vec<String>,
    #[serde(default)]
    version: Option<RawVersion>,
    #[serde(default)]
    description: String,
    #[serde(default)]
    category: Option<String>,
}

/// Parses and maps one `list.json`. See the module docs for the rules.
///
/// # Errors
///
/// [`MispError`]: not a warninglist, an unsupported or unknown type,
/// attributes that map to nothing, no usable value, a bad list name.
pub fn parse(bytes: &[u8], opts: &MispImport<'_>) -> Result<Warninglist, MispError> {
    crate::allowlist::validate_list_name(&opts.name)
        .map_err(|reason| MispError::BadListName { name: opts.name.clone(), reason })?;
    if opts.name.starts_with("builtin-") {
        return Err(MispError::BadListName {
            name: opts.name.clone(),
            reason: "names starting with builtin- are reserved".into(),
        });
    }
    let raw: RawList<'_> = serde_json::from_slice(bytes)?;
    let title = raw.name.to_string();
    let version = match raw.version {
        None => 1,
        Some(RawVersion::Number(n)) => n,
        Some(RawVersion::Text(t)) => {
            t.trim().parse().map_err(|_| MispError::BadVersion { list: title.clone(), given: t.clone() })?
        }
    };
    let list_type = raw.list_type.and_then(|t| t.0).unwrap_or_else(|| "string".to_string());
    let mut report = ImportReport::default();
    let mut targets: Vec<AttributeTarget> = Vec::new();
    for a in &raw.matching_attributes {
        let mapped = attribute_kinds(a.trim());
        if mapped.is_empty() {
            report.ignored_attributes.push(a.clone());
        }
        for t in mapped {
            if !targets.contains(t) {
                targets.push(*t);
            }
        }
    }
    if raw.matching_attributes.is_empty() {
        targets.extend_from_slice(ALL_TARGETS);
    }
    let no_mapping =
        |why| MispError::NoMappedAttributes { list: title.clone(), attributes: raw.matching_attributes.clone(), why };
    let has = |k: Kind| targets.iter().any(|t| t.kind == k);
    let mut rules = RuleSet::new();
    match list_type.as_str() {
        "hostname" => {
            if !has(Kind::Domain) && !has(Kind::Url) {
                return Err(no_mapping(
                    "name no domain, hostname or url: hostname lists become domain rules, which Jaring applies to domains and URLs only",
                ));
            }
            for v in &raw.list.0 {
                report.read += 1;
                hostname_value(&v.0, has(Kind::Ip), opts, &mut rules, &mut report);
            }
        }
        "cidr" => {
            if !has(Kind::Ip) {
                return Err(no_mapping("name no IP attribute (ip-src, ip-dst, domain|ip, ...)"));
            }
            for v in &raw.list.0 {
                report.read += 1;
                match v.0.parse::<IpNetwork>() {
                    Ok(n) => {
                        rules.push(Rule::Network(n), opts.action);
                    }
                    Err(e) => report.refuse(&v.0, e),
                }
            }
        }
        "string" => {
            if targets.is_empty() {
                return Err(no_mapping("name no kind of value Jaring holds"));
            }
            for v in &raw.list.0 {
                report.read += 1;
                string_value(&v.0, &targets, opts, &mut rules, &mut report);
            }
        }
        "substring" => {
            return Err(MispError::UnsupportedType {
                list: title,
                list_type,
                why: "Jaring matches whole values, hosts and networks; a substring would be searched for in every value checked",
            });
        }
        "regex" => {
            return Err(MispError::UnsupportedType {
                list: title,
                list_type,
                why: "Jaring matches whole values, hosts and networks; a pattern would run against every value checked",
            });
        }
        _ => return Err(MispError::UnknownType { list: title, list_type }),
    }
    if rules.is_empty() {
        return Err(MispError::NothingUsable {
            list: title,
            read: report.read,
            first: report.refused_samples.first().cloned(),
        });
    }
    rules.shrink_to_fit();
    report.rules = rules.counts();
    let category = raw.category.filter(|c| matches!(c.as_str(), "false_positive" | "known"));
    let meta = ListMeta {
        name: opts.name.clone(),
        format: ListFormat::Misp,
        source: opts.source.clone(),
        version: Some(version),
        title,
        description: raw.description,
        category,
        action: opts.action,
    };
    Ok(Warninglist { meta, rules, report })
}

fn hostname_value(v: &str, ip_too: bool, opts: &MispImport<'_>, rules: &mut RuleSet, report: &mut ImportReport) {
    match normalize_domain_rule(v, opts.ctx) {
        Ok(name) => {
            rules.push(Rule::Domain { name: &name, scope: opts.scope }, opts.action);
        }
        Err(e) => match v.parse::<IpNetwork>() {
            Ok(n) if ip_too => {
                rules.push(Rule::Network(n), opts.action);
            }
            _ => report.refuse(v, e),
        },
    }
}

fn string_value(
    v: &str,
    targets: &[AttributeTarget],
    opts: &MispImport<'_>,
    rules: &mut RuleSet,
    report: &mut ImportReport,
) {
    let t = v.trim();
    let wants_domain = targets.iter().any(|t| t.kind == Kind::Domain);
    if wants_domain && t.starts_with('.') {
        match normalize_domain_rule(t, opts.ctx) {
            Ok(name) => {
                rules.push(Rule::Domain { name: &name, scope: opts.scope }, opts.action);
                report.leading_dot_rules += 1;
            }
            Err(e) => report.refuse(v, e),
        }
        return;
    }
    let mut made: Vec<(Kind, String)> = Vec::new();
    let mut first_error: Option<String> = None;
    for target in targets {
        let input: Cow<'_, str> = match target.prefix {
            Some(p) if !t.contains(':') => Cow::Owned(format!("{p}:{t}")),
            _ => Cow::Borrowed(t),
        };
        match normalize(target.kind, &input, opts.ctx) {
            Ok(canonical) => {
                if !made.iter().any(|(k, c)| *k == target.kind && *c == canonical) {
                    made.push((target.kind, canonical));
                }
            }
            Err(e) => {
                first_error.get_or_insert_with(|| e.to_string());
            }
        }
    }
    if made.iter().any(|(k, _)| matches!(k, Kind::Domain | Kind::Ip)) {
        made.retain(|(k, _)| *k != Kind::Url);
    }
    if made.is_empty() {
        report.refuse(v, first_error.unwrap_or_else(|| "no kind to read it as".into()));
        return;
    }
    for (kind, canonical) in &made {
        rules.push(Rule::Exact { kind: *kind, value: canonical }, opts.action);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn opts(ctx: &NormalizeContext) -> MispImport<'_> {
        MispImport {
            name: "misp-test".into(),
            source: "test".into(),
            action: ListAction::Refuse,
            scope: DomainScope::Site,
            ctx,
        }
    }

    #[test]
    fn defaults_follow_misp() {
        let ctx = NormalizeContext::default();
        // No type: string; no version: 1; no attributes: any kind.
        let w = parse(br#"{"name":"n","list":["8.8.8.8","google.com","+62 811 000 111"]}"#, &opts(&ctx)).unwrap();
        assert_eq!(w.meta.version, Some(1));
        let rules: Vec<_> = w.rules.iter().map(|(r, _)| r.to_string()).collect();
        assert_eq!(rules, vec!["domain google.com", "phone +62811000111", "ip 8.8.8.8"]);
        // `list` as an object of comments, `type` as an array, version as text.
        let w = parse(
            br#"{"name":"n","type":["hostname"],"version":"7","list":{"bit.ly":"short","s.id":""},"matching_attributes":["domain"]}"#,
            &opts(&ctx),
        )
        .unwrap();
        assert_eq!(w.meta.version, Some(7));
        assert_eq!(w.rules.len(), 2);
    }

    #[test]
    fn list_names_come_from_folders() {
        assert_eq!(list_name_for("url-shortener"), "misp-url-shortener");
        assert_eq!(list_name_for("Cisco Top 1000"), "misp-cisco-top-1000");
        assert!(list_name_for(&"x".repeat(100)).len() <= 64);
    }

    #[test]
    fn bad_input_is_a_typed_error() {
        let ctx = NormalizeContext::default();
        assert!(matches!(parse(b"[1,2]", &opts(&ctx)), Err(MispError::Json(_))));
        assert!(matches!(
            parse(br#"{"name":"n","version":"v2","list":["a"]}"#, &opts(&ctx)),
            Err(MispError::BadVersion { .. })
        ));
        assert!(matches!(
            parse(br#"{"name":"n","type":"glob","list":["a"]}"#, &opts(&ctx)),
            Err(MispError::UnknownType { .. })
        ));
        let mut o = opts(&ctx);
        o.name = "builtin-x".into();
        assert!(matches!(parse(br#"{"name":"n","list":["a.com"]}"#, &o), Err(MispError::BadListName { .. })));
    }
}
