//! Allowlist rule shapes, their normalization, and [`RuleSet`], the compact
//! form a large list's rules take in memory between a parser, the store and
//! the index.
//!
//! Three shapes:
//! - a domain rule ([`Rule::Domain`]): a host name and the hosts under it,
//!   within a [`DomainScope`];
//! - an exact value of one kind ([`Rule::Exact`]), normalized like a
//!   submission (an exact domain matches that domain value only);
//! - an IP network ([`Rule::Network`]), IPv4 or IPv6; a single address is
//!   a network of full length.
//!
//! Pure: depends on [`crate::model`] and [`crate::normalize`] only.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use crate::allowlist::ListAction;
use crate::model::Kind;
use crate::normalize::{NormalizeContext, NormalizeError, normalize};

/// How far below its name a domain rule reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DomainScope {
    /// The name and every host under it, whoever registered them: the rule
    /// `go.id` covers `imigrasi.go.id`. Admin and built-in rules.
    Subtree,
    /// The name and the hosts under it that belong to the same registrable
    /// domain (public suffix list, private section included): the rule
    /// `google.com` covers `mail.google.com`, but the rule `blogspot.com`
    /// does not cover `loker-kerja.blogspot.com`, which someone else
    /// registered. Imported lists: top-site rankings name hosting platforms
    /// whose customers' sites are exactly what gets reported.
    Site,
}

impl DomainScope {
    /// The canonical name.
    pub fn as_str(self) -> &'static str {
        match self {
            DomainScope::Subtree => "subtree",
            DomainScope::Site => "site",
        }
    }
}

impl FromStr for DomainScope {
    type Err = RuleError;
    fn from_str(s: &str) -> Result<Self, RuleError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "subtree" => Ok(DomainScope::Subtree),
            "site" => Ok(DomainScope::Site),
            _ => Err(RuleError::UnknownScope { given: s.to_string() }),
        }
    }
}

/// Why a value is not a rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RuleError {
    /// Not a host name (nor a public suffix such as `go.id`).
    #[error("{0}")]
    NotADomain(NormalizeError),
    /// A single label such as `com`: a rule would cover every name under it.
    #[error("{name:?} is a top-level domain; a rule would cover every name under it")]
    TopLevelDomain {
        /// The label.
        name: String,
    },
    /// Not a value of the kind.
    #[error("{0}")]
    Value(NormalizeError),
    /// Not an IPv4 or IPv6 network (`addr/len`) or address.
    #[error("{given:?} is not an IP address or network: {reason}")]
    NotANetwork {
        /// The input.
        given: String,
        /// What was wrong.
        reason: &'static str,
    },
    /// A domain scope other than `subtree` or `site`.
    #[error("unknown domain scope {given:?}; expected subtree or site")]
    UnknownScope {
        /// The input.
        given: String,
    },
}

/// Normalizes a domain rule: a host name as [`normalize`] gives it, or a
/// public suffix of two or more labels (`go.id`, `co.id`). Leading and
/// trailing dots and a leading `*.` are dropped (`.google.com`,
/// `*.google.com` and `google.com.` are the rule `google.com`), as MISP
/// does for hostname lists.
///
/// # Errors
///
/// [`RuleError::NotADomain`] with the domain normalization error,
/// [`RuleError::TopLevelDomain`] for a single label.
pub fn normalize_domain_rule(raw: &str, ctx: &NormalizeContext) -> Result<String, RuleError> {
    let t = raw.trim();
    let t = t.strip_prefix("*.").unwrap_or(t).trim_matches('.');
    match normalize(Kind::Domain, t, ctx) {
        Ok(d) => Ok(d),
        Err(NormalizeError::PublicSuffixOnly { name, .. }) if name.contains('.') => Ok(name),
        Err(NormalizeError::PublicSuffixOnly { name, .. }) => Err(RuleError::TopLevelDomain { name }),
        Err(e) => Err(RuleError::NotADomain(e)),
    }
}

/// An IPv4 or IPv6 network: an address and a prefix length, host bits
/// zero. A single address is a network of full length (`/32`, `/128`).
///
/// IPv4-mapped IPv6 networks (`::ffff:a.b.c.d/n`, `n > 96`) are the IPv4
/// network `a.b.c.d/(n-96)`: the same hosts. `::ffff:0:0/96` itself (and
/// anything shorter) stays IPv6, so a rule for "all mapped addresses" does
/// not become a rule for every IPv4 address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IpNetwork {
    /// IPv4.
    V4 {
        /// The network address.
        addr: u32,
        /// Prefix length, 0-32.
        len: u8,
    },
    /// IPv6.
    V6 {
        /// The network address.
        addr: u128,
        /// Prefix length, 0-128.
        len: u8,
    },
}

const MAPPED_PREFIX: u128 = 0xffff_0000_0000;

impl IpNetwork {
    /// A network from an address and a prefix length; host bits are
    /// cleared, mapped IPv6 becomes IPv4 (see the type's docs).
    ///
    /// # Errors
    ///
    /// [`RuleError::NotANetwork`] for a length beyond the family's width.
    pub fn new(addr: IpAddr, len: u8) -> Result<Self, RuleError> {
        let too_long = || RuleError::NotANetwork { given: format!("{addr}/{len}"), reason: "prefix too long" };
        match addr {
            IpAddr::V4(a) if len <= 32 => Ok(IpNetwork::V4 { addr: u32::from(a) & mask32(len), len }),
            IpAddr::V6(a) if len <= 128 => {
                let bits = u128::from(a) & mask128(len);
                if len > 96 && bits >> 32 == MAPPED_PREFIX >> 32 {
                    // Truncation to the low 32 bits is the point: they are the IPv4 address.
                    #[allow(clippy::cast_possible_truncation)]
                    let v4 = bits as u32;
                    Ok(IpNetwork::V4 { addr: v4, len: len - 96 })
                } else {
                    Ok(IpNetwork::V6 { addr: bits, len })
                }
            }
            _ => Err(too_long()),
        }
    }

    /// One address, as a network of full length.
    pub fn host(addr: IpAddr) -> Self {
        match addr {
            IpAddr::V4(a) => IpNetwork::V4 { addr: u32::from(a), len: 32 },
            IpAddr::V6(a) => match a.to_ipv4_mapped() {
                Some(v4) => IpNetwork::V4 { addr: u32::from(v4), len: 32 },
                None => IpNetwork::V6 { addr: u128::from(a), len: 128 },
            },
        }
    }

    /// Prefix length.
    pub fn prefix_len(self) -> u8 {
        match self {
            IpNetwork::V4 { len, .. } | IpNetwork::V6 { len, .. } => len,
        }
    }

    /// Whether this is a single address (full length).
    pub fn is_host(self) -> bool {
        matches!(self, IpNetwork::V4 { len: 32, .. } | IpNetwork::V6 { len: 128, .. })
    }

    /// The network address.
    pub fn addr(self) -> IpAddr {
        match self {
            IpNetwork::V4 { addr, .. } => IpAddr::V4(Ipv4Addr::from(addr)),
            IpNetwork::V6 { addr, .. } => IpAddr::V6(Ipv6Addr::from(addr)),
        }
    }

    /// Whether `ip` is in this network (an IPv4-mapped IPv6 address is in
    /// the IPv4 networks that hold its IPv4 address, and in the IPv6
    /// networks that hold it as written).
    pub fn contains(self, ip: IpAddr) -> bool {
        let v4 = match ip {
            IpAddr::V4(a) => Some(u32::from(a)),
            IpAddr::V6(a) => a.to_ipv4_mapped().map(u32::from),
        };
        match self {
            IpNetwork::V4 { addr, len } => v4.is_some_and(|a| a & mask32(len) == addr),
            IpNetwork::V6 { addr, len } => match ip {
                IpAddr::V6(a) => u128::from(a) & mask128(len) == addr,
                IpAddr::V4(_) => false,
            },
        }
    }
}

pub(crate) fn mask32(len: u8) -> u32 {
    if len == 0 { 0 } else { u32::MAX << (32 - u32::from(len)) }
}

pub(crate) fn mask128(len: u8) -> u128 {
    if len == 0 { 0 } else { u128::MAX << (128 - u32::from(len)) }
}

/// `addr/len`, or the bare address for a single address (as MISP lists
/// write them).
impl fmt::Display for IpNetwork {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_host() { write!(f, "{}", self.addr()) } else { write!(f, "{}/{}", self.addr(), self.prefix_len()) }
    }
}

/// Parses `addr/len` or a bare address (brackets allowed around IPv6).
/// Host bits are cleared (`10.1.2.3/8` is `10.0.0.0/8`), as most tools do
/// for published range lists.
impl FromStr for IpNetwork {
    type Err = RuleError;
    fn from_str(s: &str) -> Result<Self, RuleError> {
        let t = s.trim();
        let bad = |reason| RuleError::NotANetwork { given: s.to_string(), reason };
        let (addr, len) = match t.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (t, None),
        };
        let addr = addr.strip_prefix('[').and_then(|a| a.strip_suffix(']')).unwrap_or(addr);
        let ip: IpAddr = addr.parse().map_err(|_| bad("not an IPv4 or IPv6 address"))?;
        match len {
            None => Ok(IpNetwork::host(ip)),
            Some(l) => {
                if l.is_empty() || l.len() > 3 || !l.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(bad("prefix length is not a number"));
                }
                let len: u8 = l.parse().map_err(|_| bad("prefix length is not a number"))?;
                IpNetwork::new(ip, len).map_err(|_| bad("prefix longer than the address"))
            }
        }
    }
}

/// One rule, borrowed from a [`RuleSet`] or built by a caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule<'a> {
    /// A domain rule.
    Domain {
        /// The normalized name.
        name: &'a str,
        /// How far below the name it reaches.
        scope: DomainScope,
    },
    /// An exact value of one kind (never [`Kind::Ip`]: addresses are
    /// [`Rule::Network`]s).
    Exact {
        /// The kind.
        kind: Kind,
        /// The normalized value.
        value: &'a str,
    },
    /// An IP network or address.
    Network(IpNetwork),
}

impl fmt::Display for Rule<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rule::Domain { name, scope: DomainScope::Subtree } => write!(f, "domain rule {name}"),
            Rule::Domain { name, scope: DomainScope::Site } => write!(f, "domain rule {name} (its own site)"),
            Rule::Exact { kind, value } => write!(f, "{kind} {value}"),
            Rule::Network(n) if n.is_host() => write!(f, "ip {n}"),
            Rule::Network(n) => write!(f, "network {n}"),
        }
    }
}

/// How many rules of each shape.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RuleCounts {
    /// Domain rules.
    pub domains: u64,
    /// Exact values.
    pub exact: u64,
    /// Single IP addresses.
    pub addresses: u64,
    /// IP networks other than single addresses.
    pub networks: u64,
}

impl RuleCounts {
    /// All rules.
    pub fn total(&self) -> u64 {
        self.domains + self.exact + self.addresses + self.networks
    }

    pub(crate) fn add(&mut self, rule: &Rule<'_>, n: i64) {
        let slot = match rule {
            Rule::Domain { .. } => &mut self.domains,
            Rule::Exact { .. } => &mut self.exact,
            Rule::Network(net) if net.is_host() => &mut self.addresses,
            Rule::Network(_) => &mut self.networks,
        };
        *slot = slot.saturating_add_signed(n);
    }
}

/// Shape byte of a text rule in a [`RuleSet`]: low bits the shape, bit 7
/// the action.
const SHAPE_SUBTREE: u8 = 0;
const SHAPE_SITE: u8 = 1;
const SHAPE_EXACT: u8 = 2;
const REVIEW_BIT: u8 = 0x80;

#[derive(Debug, Clone, Copy)]
struct TextRule {
    off: u32,
    len: u16,
    shape: u8,
    /// Index in [`Kind::ALL`] for exact values.
    kind: u8,
}

/// The rules of one list, compact: all text in one buffer, 8 bytes per
/// text rule besides it, and networks apart. A million Tranco domains take
/// about 23 MB here. Values are trusted to be normalized: build through the
/// parsers ([`super::misp`], [`super::ranked`]) or normalize first.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    text: String,
    texts: Vec<TextRule>,
    networks: Vec<(IpNetwork, ListAction)>,
}

fn kind_index(kind: Kind) -> u8 {
    let i = Kind::ALL.iter().position(|k| *k == kind).unwrap_or(0);
    u8::try_from(i).unwrap_or(0)
}

/// Most values are far shorter; the normalizer's limit is 2048 bytes.
const MAX_TEXT_RULE: usize = u16::MAX as usize;

impl RuleSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a rule. An exact IP value becomes a network of full length; an
    /// exact IP that does not parse, or a value longer than 65535 bytes, is
    /// dropped and `false` returned.
    pub fn push(&mut self, rule: Rule<'_>, action: ListAction) -> bool {
        let (value, shape, kind) = match rule {
            Rule::Network(n) => {
                self.networks.push((n, action));
                return true;
            }
            Rule::Exact { kind: Kind::Ip, value } => {
                let Ok(n) = value.parse::<IpNetwork>() else { return false };
                self.networks.push((n, action));
                return true;
            }
            Rule::Domain { name, scope: DomainScope::Subtree } => (name, SHAPE_SUBTREE, 0),
            Rule::Domain { name, scope: DomainScope::Site } => (name, SHAPE_SITE, 0),
            Rule::Exact { kind, value } => (value, SHAPE_EXACT, kind_index(kind)),
        };
        let (Ok(off), Ok(len)) = (u32::try_from(self.text.len()), u16::try_from(value.len())) else {
            return false;
        };
        if value.len() > MAX_TEXT_RULE {
            return false;
        }
        let shape = shape | if action == ListAction::Review { REVIEW_BIT } else { 0 };
        self.text.push_str(value);
        self.texts.push(TextRule { off, len, shape, kind });
        true
    }

    /// Every rule with its action: text rules in the order added, then
    /// networks in the order added.
    pub fn iter(&self) -> impl Iterator<Item = (Rule<'_>, ListAction)> + '_ {
        let texts = self.texts.iter().map(|t| {
            let start = t.off as usize;
            let value = self.text.get(start..start + usize::from(t.len)).unwrap_or("");
            let action = if t.shape & REVIEW_BIT != 0 { ListAction::Review } else { ListAction::Refuse };
            let rule = match t.shape & !REVIEW_BIT {
                SHAPE_SUBTREE => Rule::Domain { name: value, scope: DomainScope::Subtree },
                SHAPE_SITE => Rule::Domain { name: value, scope: DomainScope::Site },
                _ => Rule::Exact { kind: Kind::ALL.get(usize::from(t.kind)).copied().unwrap_or(Kind::Domain), value },
            };
            (rule, action)
        });
        texts.chain(self.networks.iter().map(|(n, a)| (Rule::Network(*n), *a)))
    }

    /// How many rules.
    pub fn len(&self) -> usize {
        self.texts.len() + self.networks.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many of each shape.
    pub fn counts(&self) -> RuleCounts {
        let mut c = RuleCounts::default();
        for (r, _) in self.iter() {
            c.add(&r, 1);
        }
        c
    }

    /// Heap bytes held.
    pub fn memory_bytes(&self) -> usize {
        self.text.capacity()
            + self.texts.capacity() * std::mem::size_of::<TextRule>()
            + self.networks.capacity() * std::mem::size_of::<(IpNetwork, ListAction)>()
    }

    /// Releases spare capacity (after a parser is done).
    pub fn shrink_to_fit(&mut self) {
        self.text.shrink_to_fit();
        self.texts.shrink_to_fit();
        self.networks.shrink_to_fit();
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn net(s: &str) -> IpNetwork {
        s.parse().unwrap()
    }

    #[test]
    fn domain_rules_normalize() {
        let ctx = NormalizeContext::default();
        assert_eq!(normalize_domain_rule("WWW.Bank.CO.ID.", &ctx).unwrap(), "www.bank.co.id");
        assert_eq!(normalize_domain_rule(".google.co.id", &ctx).unwrap(), "google.co.id");
        assert_eq!(normalize_domain_rule("*.google.com", &ctx).unwrap(), "google.com");
        assert_eq!(normalize_domain_rule("go.id", &ctx).unwrap(), "go.id");
        assert_eq!(normalize_domain_rule("bücher.de", &ctx).unwrap(), "xn--bcher-kva.de");
        assert_eq!(normalize_domain_rule("com", &ctx), Err(RuleError::TopLevelDomain { name: "com".into() }));
        assert!(matches!(
            normalize_domain_rule("corona helden", &ctx),
            Err(RuleError::NotADomain(NormalizeError::ContainsWhitespace { .. }))
        ));
        assert!(matches!(
            normalize_domain_rule("8.8.8.8", &ctx),
            Err(RuleError::NotADomain(NormalizeError::IpNotDomain { .. }))
        ));
    }

    #[test]
    fn networks_parse_and_mask() {
        assert_eq!(net("10.1.2.3/8"), IpNetwork::V4 { addr: 0x0a00_0000, len: 8 });
        assert_eq!(net("8.8.8.8"), IpNetwork::V4 { addr: 0x0808_0808, len: 32 });
        assert_eq!(net("FE80::/10").to_string(), "fe80::/10");
        assert_eq!(net("[2001:db8::1]").to_string(), "2001:db8::1");
        assert_eq!(net("0.0.0.0/0").to_string(), "0.0.0.0/0");
        // Mapped addresses and networks are IPv4; the mapped space itself is not.
        assert_eq!(net("::ffff:9270:3d68"), net("146.112.61.104"));
        assert_eq!(net("::ffff:10.0.0.0/104"), net("10.0.0.0/8"));
        assert_eq!(net("::ffff:0:0/96"), IpNetwork::V6 { addr: MAPPED_PREFIX, len: 96 });
        for bad in ["10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/x", "10.0.0/8", "10.0.0.0/-1", "host"] {
            assert!(matches!(bad.parse::<IpNetwork>(), Err(RuleError::NotANetwork { .. })), "{bad}");
        }
    }

    #[test]
    fn contains_handles_edges_and_mapped_addresses() {
        let n = net("192.168.0.0/16");
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(n.contains(ip("192.168.0.0")));
        assert!(n.contains(ip("192.168.255.255")));
        assert!(!n.contains(ip("192.169.0.0")));
        assert!(!n.contains(ip("192.167.255.255")));
        assert!(n.contains(ip("::ffff:192.168.1.1")));
        assert!(!n.contains(ip("2001:db8::1")));
        let v6 = net("2001:db8::/32");
        assert!(v6.contains(ip("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff")));
        assert!(!v6.contains(ip("2001:db9::")));
        assert!(!v6.contains(ip("192.168.1.1")));
        assert!(net("0.0.0.0/0").contains(ip("255.255.255.255")));
    }

    #[test]
    fn rule_sets_keep_rules_and_actions() {
        let mut s = RuleSet::new();
        assert!(s.push(Rule::Domain { name: "bank.co.id", scope: DomainScope::Site }, ListAction::Refuse));
        assert!(s.push(Rule::Exact { kind: Kind::Phone, value: "+62811000111" }, ListAction::Review));
        assert!(s.push(Rule::Exact { kind: Kind::Ip, value: "8.8.8.8" }, ListAction::Refuse));
        assert!(!s.push(Rule::Exact { kind: Kind::Ip, value: "not an ip" }, ListAction::Refuse));
        assert!(s.push(Rule::Network(net("10.0.0.0/8")), ListAction::Refuse));
        let all: Vec<_> = s.iter().collect();
        assert_eq!(
            all,
            vec![
                (Rule::Domain { name: "bank.co.id", scope: DomainScope::Site }, ListAction::Refuse),
                (Rule::Exact { kind: Kind::Phone, value: "+62811000111" }, ListAction::Review),
                (Rule::Network(net("8.8.8.8")), ListAction::Refuse),
                (Rule::Network(net("10.0.0.0/8")), ListAction::Refuse),
            ]
        );
        assert_eq!(s.counts(), RuleCounts { domains: 1, exact: 1, addresses: 1, networks: 1 });
    }
}
