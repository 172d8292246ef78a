//! Who may do what on a node: roles, permissions, the operations every
//! interface offers, and the scope of one credential.
//!
//! Every party reaches a node with a token of one [`Role`]. An interface
//! (the admin gRPC API, the HTTP API, TAXII, the MISP feed) names the
//! [`Operation`] a request asks for; [`Operation::permission`] is the one
//! table from operation to [`Permission`], and [`Role::may`] the one table
//! from role to permission. Nothing else decides.
//!
//! What a token may *read* is its [`Scope`]: a TLP ceiling, kinds and
//! categories. Every read path (lookups, lists, the review queue, TAXII,
//! the MISP feed, exports) serves only what [`Scope::may_see`] admits, and a
//! merged view is rebuilt from the assertions the scope admits
//! ([`Scope::restrict`]), so a value asserted only at a hidden TLP is "not
//! listed" to that token, not "listed, details hidden".
//!
//! A stored credential is a [`TokenRecord`]: the token's name, role, scope,
//! bindings (platform, source networks, expiry, rate) and the SHA-256 of its
//! secret, never the secret itself. [`TokenRecord::check`] decides whether a
//! request may go on, with a typed [`Denied`] when not.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::model::{Category, Kind, Tlp, UnixMillis, UnknownName};
use crate::submission::InputError;
use crate::view::{LookupResult, MergedView};

macro_rules! names {
    (
        $(#[$meta:meta])*
        $name:ident, $what:literal {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(into = "String", try_from = "String")]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[ $( $name::$variant ),+ ];

            /// The canonical name.
            pub fn as_str(self) -> &'static str {
                match self { $( $name::$variant => $text, )+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownName;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s.trim().to_ascii_lowercase().replace('-', "_").as_str() {
                    $( $text => Ok($name::$variant), )+
                    _ => Err(UnknownName {
                        what: $what,
                        given: s.to_string(),
                        expected: [$($text),+].join(", "),
                    }),
                }
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String { v.as_str().to_string() }
        }

        impl TryFrom<String> for $name {
            type Error = UnknownName;
            fn try_from(s: String) -> Result<Self, Self::Error> { s.parse() }
        }
    };
}

names! {
    /// What a credential is for: one per kind of party.
    Role, "role" {
        /// Everything, including peers, keys and tokens. The node's
        /// `admin.token` is one.
        Admin = "admin",
        /// Submit, revoke this node's indicators, look up, list, review,
        /// feedback, takedowns, export; no peers, keys or tokens.
        Analyst = "analyst",
        /// A crawler: submit and extract, plus lookups (and status, to size
        /// its batches).
        Submitter = "submitter",
        /// A platform (Meta, a bank, a registrar): lookups, TAXII and feed
        /// reads, its own takedown queue and outcomes; bound to one platform
        /// name.
        Platform = "platform",
        /// Reads the audit log and the node's status.
        Auditor = "auditor",
        /// A threat-intelligence platform pulling TAXII or the MISP feed.
        Reader = "reader",
    }
}

names! {
    /// One thing a role may be allowed to do.
    Permission, "permission" {
        /// Submit indicators (admin API, HTTP API, TAXII write).
        Submit = "submit",
        /// Publish a value an allowlist stops.
        OverrideAllowlist = "override_allowlist",
        /// Revoke this node's own indicators.
        Revoke = "revoke",
        /// List indicators and read them by id (exports page through this).
        ReadIndicators = "read_indicators",
        /// Look values up, one or in bulk.
        Lookup = "lookup",
        /// The review queue: list and decide.
        Review = "review",
        /// Signed feedback: sightings, takedown outcomes, false positives.
        Feedback = "feedback",
        /// The platform side of takedown cases: read the queue, acknowledge,
        /// report the outcome.
        Takedown = "takedown",
        /// Open, withdraw and follow takedown cases, record referrals and
        /// export evidence packages (the requesting side of issue 17).
        Cases = "cases",
        /// Extract indicators from text (issue 18's engine).
        Extract = "extract",
        /// The node's status and identity card.
        Status = "status",
        /// Read the allowlists.
        ReadAllowlists = "read_allowlists",
        /// Change the allowlists.
        Allowlists = "allowlists",
        /// Peers and sharing agreements.
        Peers = "peers",
        /// Signing keys.
        Keys = "keys",
        /// Reload TLS material.
        Tls = "tls",
        /// The audit log: list and verify.
        Audit = "audit",
        /// Make, list and revoke tokens.
        Tokens = "tokens",
        /// TAXII collections and the MISP feed.
        Feed = "feed",
        /// Read one's own token (name, role, scope).
        Whoami = "whoami",
    }
}

impl Role {
    /// Whether this role holds `p`: the one table from role to permission.
    pub fn may(self, p: Permission) -> bool {
        use Permission as P;
        match self {
            Role::Admin => true,
            Role::Analyst => matches!(
                p,
                P::Submit
                    | P::OverrideAllowlist
                    | P::Revoke
                    | P::ReadIndicators
                    | P::Lookup
                    | P::Review
                    | P::Feedback
                    | P::Takedown
                    | P::Cases
                    | P::Extract
                    | P::Status
                    | P::ReadAllowlists
                    | P::Feed
                    | P::Whoami
            ),
            Role::Submitter => matches!(p, P::Submit | P::Extract | P::Lookup | P::Status | P::Whoami),
            Role::Platform => matches!(p, P::Lookup | P::Feed | P::Feedback | P::Takedown | P::Whoami),
            Role::Auditor => matches!(p, P::Audit | P::Status | P::Whoami),
            Role::Reader => matches!(p, P::Feed | P::Whoami),
        }
    }

    /// The TLP ceiling a new token of this role gets unless told otherwise.
    pub fn default_max_tlp(self) -> Tlp {
        match self {
            Role::Admin => Tlp::Red,
            Role::Analyst | Role::Auditor => Tlp::AmberStrict,
            Role::Submitter => Tlp::Amber,
            Role::Platform | Role::Reader => Tlp::Green,
        }
    }

    /// The request rate a token of this role gets unless told otherwise
    /// (`None`: unlimited).
    pub fn default_rate(self) -> Option<Rate> {
        let per_s = match self {
            Role::Admin => return None,
            Role::Analyst | Role::Submitter => 100,
            Role::Platform => 20,
            Role::Auditor | Role::Reader => 10,
        };
        Some(Rate::per_second(per_s))
    }
}

names! {
    /// What a request asks for, whatever interface it came by.
    Operation, "operation" {
        /// Submit indicators.
        SubmitIndicators = "submit_indicators",
        /// Submit past an allowlist (`override_allowlist`).
        OverrideAllowlist = "override_allowlist",
        /// Revoke one of this node's indicators.
        RevokeIndicator = "revoke_indicator",
        /// List indicators (and export them).
        ListIndicators = "list_indicators",
        /// Read one indicator by id.
        GetIndicator = "get_indicator",
        /// Look values up.
        LookupValues = "lookup_values",
        /// List the review queue.
        ListReview = "list_review",
        /// Accept or reject a held entry.
        DecideReview = "decide_review",
        /// Publish feedback.
        AddFeedback = "add_feedback",
        /// Open, list, withdraw and answer takedown cases through the
        /// admin API, record referrals, export evidence packages.
        ManageTakedowns = "manage_takedowns",
        /// Read takedown cases: a platform its own queue, an analyst every
        /// case held (the HTTP API's `GET /api/v1/takedowns`).
        ReadTakedowns = "read_takedowns",
        /// Answer a takedown case: acknowledge it, report its outcome.
        AnswerTakedown = "answer_takedown",
        /// Extract indicators from text.
        Extract = "extract",
        /// Read the node's status.
        ReadStatus = "read_status",
        /// Read the node's identity card.
        ExportIdentity = "export_identity",
        /// List peers.
        ListPeers = "list_peers",
        /// Add a peer.
        AddPeer = "add_peer",
        /// Change a peer's trust or agreement.
        UpdatePeer = "update_peer",
        /// Remove a peer.
        RemovePeer = "remove_peer",
        /// List allowlists.
        ListAllowlists = "list_allowlists",
        /// Add to or remove from allowlists.
        ChangeAllowlists = "change_allowlists",
        /// List signing keys.
        ListKeys = "list_keys",
        /// Rotate the signing key.
        RotateKey = "rotate_key",
        /// Revoke a signing key.
        RevokeKey = "revoke_key",
        /// Reload TLS material.
        ReloadTls = "reload_tls",
        /// List the audit log.
        ListAudit = "list_audit",
        /// Verify the audit chain.
        VerifyAudit = "verify_audit",
        /// List tokens.
        ListTokens = "list_tokens",
        /// Make a token.
        CreateToken = "create_token",
        /// Revoke a token.
        RevokeToken = "revoke_token",
        /// Read one's own token.
        WhoAmI = "who_am_i",
        /// Read TAXII collections or the MISP feed.
        ReadFeed = "read_feed",
        /// TAXII discovery, the API root and the collections' descriptions
        /// (what a token may read and write there; no indicators).
        DescribeFeed = "describe_feed",
    }
}

impl Operation {
    /// The permission this operation needs: the one table from operation
    /// to permission, consulted by every interface.
    pub fn permission(self) -> Permission {
        use Operation as O;
        use Permission as P;
        match self {
            O::SubmitIndicators => P::Submit,
            O::OverrideAllowlist => P::OverrideAllowlist,
            O::RevokeIndicator => P::Revoke,
            O::ListIndicators | O::GetIndicator => P::ReadIndicators,
            O::LookupValues => P::Lookup,
            O::ListReview | O::DecideReview => P::Review,
            O::AddFeedback => P::Feedback,
            O::ManageTakedowns => P::Cases,
            O::ReadTakedowns | O::AnswerTakedown => P::Takedown,
            O::Extract => P::Extract,
            O::ReadStatus | O::ExportIdentity => P::Status,
            O::ListPeers | O::AddPeer | O::UpdatePeer | O::RemovePeer => P::Peers,
            O::ListAllowlists => P::ReadAllowlists,
            O::ChangeAllowlists => P::Allowlists,
            O::ListKeys | O::RotateKey | O::RevokeKey => P::Keys,
            O::ReloadTls => P::Tls,
            O::ListAudit | O::VerifyAudit => P::Audit,
            O::ListTokens | O::CreateToken | O::RevokeToken => P::Tokens,
            // Describing the collections shows no indicator, and a submitter's
            // TAXII client reads `can_write` before it adds objects.
            O::WhoAmI | O::DescribeFeed => P::Whoami,
            O::ReadFeed => P::Feed,
        }
    }

    /// What it does, to finish "this token's role (platform) may not ...".
    pub fn describe(self) -> &'static str {
        use Operation as O;
        match self {
            O::SubmitIndicators => "submit indicators",
            O::OverrideAllowlist => "publish values an allowlist stops (override_allowlist)",
            O::RevokeIndicator => "revoke indicators",
            O::ListIndicators => "list or export indicators",
            O::GetIndicator => "read indicators by id",
            O::LookupValues => "look values up",
            O::ListReview => "read the review queue",
            O::DecideReview => "decide on held entries",
            O::AddFeedback => "publish feedback",
            O::ManageTakedowns => "manage takedown cases, referrals and evidence",
            O::ReadTakedowns => "read takedown cases",
            O::AnswerTakedown => "answer takedown cases",
            O::Extract => "extract indicators",
            O::ReadStatus => "read the node's status",
            O::ExportIdentity => "export the node's identity card",
            O::ListPeers => "list peers",
            O::AddPeer => "add peers",
            O::UpdatePeer => "change peers",
            O::RemovePeer => "remove peers",
            O::ListAllowlists => "read allowlists",
            O::ChangeAllowlists => "change allowlists",
            O::ListKeys => "list signing keys",
            O::RotateKey => "rotate signing keys",
            O::RevokeKey => "revoke signing keys",
            O::ReloadTls => "reload TLS material",
            O::ListAudit => "read the audit log",
            O::VerifyAudit => "verify the audit log",
            O::ListTokens => "list tokens",
            O::CreateToken => "make tokens",
            O::RevokeToken => "revoke tokens",
            O::WhoAmI => "read its own token",
            O::ReadFeed => "read TAXII collections or the MISP feed",
            O::DescribeFeed => "read the TAXII collections' descriptions",
        }
    }
}

/// What a token may read: a TLP ceiling, kinds and categories.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scope {
    /// The most restricted TLP served.
    pub max_tlp: Tlp,
    /// Kinds served (empty: every kind).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kinds: Vec<Kind>,
    /// Categories served: an indicator is served if it has one of them
    /// (empty: every category).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<Category>,
}

impl Scope {
    /// Everything, up to TLP:RED.
    pub fn everything() -> Scope {
        Scope { max_tlp: Tlp::Red, kinds: Vec::new(), categories: Vec::new() }
    }

    /// Whether nothing is held back.
    pub fn is_everything(&self) -> bool {
        self.max_tlp == Tlp::Red && self.kinds.is_empty() && self.categories.is_empty()
    }

    /// Whether a kind is in scope.
    pub fn may_see_kind(&self, kind: Kind) -> bool {
        self.kinds.is_empty() || self.kinds.contains(&kind)
    }

    /// Whether an indicator (or feedback event) of this kind, TLP and
    /// categories may be served.
    pub fn may_see(&self, kind: Kind, tlp: Tlp, categories: &[Category]) -> bool {
        tlp <= self.max_tlp
            && self.may_see_kind(kind)
            && (self.categories.is_empty() || categories.iter().any(|c| self.categories.contains(c)))
    }

    /// The view as this scope sees it: only the assertions (and feedback
    /// events) in scope, merged again; `None` when none is.
    pub fn restrict(&self, view: MergedView) -> Option<MergedView> {
        if self.is_everything() {
            return Some(view);
        }
        if !self.may_see_kind(view.kind) {
            return None;
        }
        let kind = view.kind;
        let assertions: Vec<_> =
            view.assertions.into_iter().filter(|a| self.may_see(kind, a.tlp, &a.categories)).collect();
        if assertions.is_empty() {
            return None;
        }
        let events: Vec<_> = view.feedback.into_iter().filter(|e| self.may_see(kind, e.tlp, &[])).collect();
        let merged = MergedView::merge(kind, view.value, view.keyed_hash, assertions);
        Some(if events.is_empty() { merged } else { merged.with_feedback(events) })
    }

    /// A lookup answer as this scope sees it.
    pub fn restrict_result(&self, mut r: LookupResult) -> LookupResult {
        if self.is_everything() {
            return r;
        }
        r.views = std::mem::take(&mut r.views).into_iter().filter_map(|v| self.restrict(v)).collect();
        r.found = !r.views.is_empty();
        r
    }
}

/// A request rate: a token bucket refilled at `per_s` per second, holding
/// at most `burst`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rate {
    /// Units refilled per second.
    pub per_s: u32,
    /// Most units held at once.
    pub burst: u32,
}

impl Rate {
    /// `n` per second with a burst of `2n`.
    pub fn per_second(n: u32) -> Rate {
        Rate { per_s: n, burst: n.saturating_mul(2).max(1) }
    }
}

/// A rate that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("rate {0:?}: use N/s or N/min (N from 1), e.g. 20/s")]
pub struct BadRate(pub String);

impl FromStr for Rate {
    type Err = BadRate;

    /// `N/s`, `N/min` (or a bare `N`, per second); the burst is twice the
    /// per-second rate (at least 1).
    fn from_str(s: &str) -> Result<Rate, BadRate> {
        let bad = || BadRate(s.to_string());
        let t = s.trim();
        let (n, per_minute) = match t.split_once('/') {
            None => (t, false),
            Some((n, "s" | "sec" | "second")) => (n, false),
            Some((n, "m" | "min" | "minute")) => (n, true),
            Some(_) => return Err(bad()),
        };
        let n: u32 = n.trim().parse().map_err(|_| bad())?;
        if n == 0 {
            return Err(bad());
        }
        if per_minute {
            let per_s = n.div_ceil(60);
            Ok(Rate { per_s, burst: n.clamp(1, per_s.saturating_mul(60)) })
        } else {
            Ok(Rate::per_second(n))
        }
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/s (burst {})", self.per_s, self.burst)
    }
}

/// An IPv4 or IPv6 network, e.g. `10.0.0.0/8`, `2001:db8::/32`, or one
/// address. IPv4-mapped IPv6 clients (`::ffff:10.1.2.3`) match IPv4
/// networks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cidr {
    addr: IpAddr,
    len: u8,
}

/// A network that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("network {0:?}: use an address or address/prefix, e.g. 10.0.0.0/8 or 2001:db8::/32")]
pub struct BadCidr(pub String);

fn mapped(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

impl Cidr {
    /// Whether `ip` is in the network.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, mapped(ip)) {
            (IpAddr::V4(net), IpAddr::V4(a)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.len)).unwrap_or(0);
                u32::from(net) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(a)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.len)).unwrap_or(0);
                u128::from(net) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for Cidr {
    type Err = BadCidr;
    fn from_str(s: &str) -> Result<Cidr, BadCidr> {
        let bad = || BadCidr(s.to_string());
        let (a, len) = match s.trim().split_once('/') {
            Some((a, l)) => (a, Some(l.parse::<u8>().map_err(|_| bad())?)),
            None => (s.trim(), None),
        };
        let addr = mapped(a.parse::<IpAddr>().map_err(|_| bad())?);
        let width = if addr.is_ipv4() { 32 } else { 128 };
        let len = len.unwrap_or(width);
        if len > width {
            return Err(bad());
        }
        // Normalized: host bits cleared, so `10.1.2.3/8` prints as `10.0.0.0/8`.
        let addr = match addr {
            IpAddr::V4(v4) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
                IpAddr::V4((u32::from(v4) & mask).into())
            }
            IpAddr::V6(v6) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
                IpAddr::V6((u128::from(v6) & mask).into())
            }
        };
        Ok(Cidr { addr, len })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

impl Serialize for Cidr {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Cidr {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Cidr, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Checks a token or platform name: 1-64 letters, digits, `-`, `_`, `.`.
///
/// # Errors
///
/// The reason, naming the rule.
pub fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 64 || !name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
        return Err(format!("{name:?}: use 1-64 letters, digits, '-', '_' or '.'"));
    }
    Ok(())
}

/// A stored credential: everything about a token but its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRecord {
    /// Who holds it; unique on the node, recorded as the actor of every
    /// change made with it.
    pub name: String,
    /// Its role.
    pub role: Role,
    /// What it may read.
    pub scope: Scope,
    /// The platform a `platform` token speaks for (its feedback and
    /// takedowns carry this name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// Requests after this are refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at_ms: Option<UnixMillis>,
    /// Source networks it may be used from (empty: any).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow_from: Vec<Cidr>,
    /// Its request rate (`None`: the role's default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<Rate>,
    /// When it was made.
    pub created_at_ms: UnixMillis,
    /// Who made it (the actor).
    #[serde(default)]
    pub created_by: String,
    /// When it was revoked (then it is refused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at_ms: Option<UnixMillis>,
    /// Who revoked it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_by: Option<String>,
    /// Hex SHA-256 of the secret.
    pub sha256: String,
}

/// A token to make, as an admin asks for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewToken {
    /// Its name.
    pub name: String,
    /// Its role.
    pub role: Role,
    /// TLP ceiling (default: the role's, [`Role::default_max_tlp`]).
    pub max_tlp: Option<Tlp>,
    /// Kinds it may read (empty: all).
    pub kinds: Vec<Kind>,
    /// Categories it may read (empty: all).
    pub categories: Vec<Category>,
    /// The platform it speaks for (required for, and only for, `platform`).
    pub platform: Option<String>,
    /// When it expires.
    pub expires_at_ms: Option<UnixMillis>,
    /// Networks it may be used from (empty: any).
    pub allow_from: Vec<Cidr>,
    /// Its rate (default: the role's).
    pub rate: Option<Rate>,
}

impl NewToken {
    /// The record to store for a token whose secret hashes to `sha256`,
    /// made by `actor` at `now`.
    ///
    /// # Errors
    ///
    /// [`InputError`] naming the field: a bad name, a platform missing for
    /// (or given to another role than) `platform`, an expiry in the past.
    pub fn into_record(self, now: UnixMillis, actor: &str, sha256: String) -> Result<TokenRecord, InputError> {
        check_name(&self.name).map_err(|r| InputError::new("name", r))?;
        let platform = self.platform.map(|p| p.trim().to_ascii_lowercase()).filter(|p| !p.is_empty());
        match (&platform, self.role) {
            (None, Role::Platform) => {
                return Err(InputError::new("platform", "a platform token speaks for one platform: give --platform"));
            }
            (Some(p), Role::Platform) => check_name(p).map_err(|r| InputError::new("platform", r))?,
            (Some(_), role) => {
                return Err(InputError::new(
                    "platform",
                    format!("only platform tokens are bound to a platform, not {role}"),
                ));
            }
            (None, _) => {}
        }
        if self.expires_at_ms.is_some_and(|t| t <= now) {
            return Err(InputError::new("expires", "is not in the future"));
        }
        let mut kinds = self.kinds;
        kinds.sort();
        kinds.dedup();
        let mut categories = self.categories;
        categories.sort();
        categories.dedup();
        Ok(TokenRecord {
            scope: Scope { max_tlp: self.max_tlp.unwrap_or(self.role.default_max_tlp()), kinds, categories },
            name: self.name,
            role: self.role,
            platform,
            expires_at_ms: self.expires_at_ms,
            allow_from: self.allow_from,
            rate: self.rate,
            created_at_ms: now,
            created_by: actor.into(),
            revoked_at_ms: None,
            revoked_by: None,
            sha256,
        })
    }
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Denied {
    /// No credential, or not one this node knows.
    #[error("missing or unknown token (send Authorization: Bearer <token>)")]
    UnknownToken,
    /// The token was revoked.
    #[error("token {name:?} was revoked")]
    Revoked {
        /// The token.
        name: String,
    },
    /// The token expired.
    #[error("token {name:?} expired at {at_ms} ms")]
    Expired {
        /// The token.
        name: String,
        /// When.
        at_ms: UnixMillis,
    },
    /// The request came from a network the token is not bound to.
    #[error("token {name:?} may be used from {allowed} only; this request came from {from}")]
    Address {
        /// The token.
        name: String,
        /// Where the request came from.
        from: IpAddr,
        /// The networks allowed, comma separated.
        allowed: String,
    },
    /// The token's role does not hold the operation's permission.
    #[error("this token's role ({role}) may not {}", operation.describe())]
    Role {
        /// The token.
        name: String,
        /// The token's role.
        role: Role,
        /// What was asked.
        operation: Operation,
    },
    /// The token is bound to another platform.
    #[error("token {name:?} speaks for platform {bound:?}, not {asked:?}")]
    Platform {
        /// The token.
        name: String,
        /// Its platform.
        bound: String,
        /// The platform named in the request.
        asked: String,
    },
    /// The token's rate is exhausted.
    #[error("token {name:?} is over its rate of {rate}; retry in {retry_after_ms} ms")]
    RateLimited {
        /// The token.
        name: String,
        /// Its rate.
        rate: Rate,
        /// When a request of the same cost would pass.
        retry_after_ms: u64,
    },
}

impl Denied {
    /// A short stable name (metrics label, audit reason).
    pub fn reason(&self) -> &'static str {
        match self {
            Denied::UnknownToken => "unknown_token",
            Denied::Revoked { .. } => "revoked",
            Denied::Expired { .. } => "expired",
            Denied::Address { .. } => "address",
            Denied::Role { .. } => "role",
            Denied::Platform { .. } => "platform",
            Denied::RateLimited { .. } => "rate",
        }
    }

    /// Every reason, for metrics series that exist from the start.
    pub const REASONS: &'static [&'static str] =
        &["unknown_token", "revoked", "expired", "address", "role", "platform", "rate"];

    /// The token refused, when it is a known one.
    pub fn token(&self) -> Option<&str> {
        match self {
            Denied::UnknownToken => None,
            Denied::Revoked { name }
            | Denied::Expired { name, .. }
            | Denied::Address { name, .. }
            | Denied::Role { name, .. }
            | Denied::Platform { name, .. }
            | Denied::RateLimited { name, .. } => Some(name),
        }
    }

    /// Whether the credential itself is not (or no longer) valid, as
    /// opposed to valid but not allowed this request.
    pub fn is_authentication(&self) -> bool {
        matches!(self, Denied::UnknownToken | Denied::Revoked { .. } | Denied::Expired { .. })
    }
}

impl TokenRecord {
    /// Whether the token may ask for `operation` from `from` at `now`:
    /// revocation, expiry, source network, then role.
    ///
    /// # Errors
    ///
    /// The first [`Denied`] that applies.
    pub fn check(&self, now: UnixMillis, from: IpAddr, operation: Operation) -> Result<(), Denied> {
        if self.revoked_at_ms.is_some_and(|at| at <= now) {
            return Err(Denied::Revoked { name: self.name.clone() });
        }
        if let Some(at_ms) = self.expires_at_ms
            && at_ms <= now
        {
            return Err(Denied::Expired { name: self.name.clone(), at_ms });
        }
        if !self.allow_from.is_empty() && !self.allow_from.iter().any(|c| c.contains(from)) {
            let allowed = self.allow_from.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
            return Err(Denied::Address { name: self.name.clone(), from: mapped(from), allowed });
        }
        if !self.role.may(operation.permission()) {
            return Err(Denied::Role { name: self.name.clone(), role: self.role, operation });
        }
        Ok(())
    }

    /// Its rate: its own, else its role's default.
    pub fn effective_rate(&self) -> Option<Rate> {
        self.rate.or_else(|| self.role.default_rate())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::view::{Assertion, ValueStatus};

    fn record(role: Role) -> TokenRecord {
        TokenRecord {
            name: "t".into(),
            role,
            scope: Scope { max_tlp: Tlp::Green, kinds: vec![], categories: vec![] },
            platform: None,
            expires_at_ms: None,
            allow_from: vec![],
            rate: None,
            created_at_ms: 0,
            created_by: "admin".into(),
            revoked_at_ms: None,
            revoked_by: None,
            sha256: String::new(),
        }
    }

    #[test]
    fn admin_may_everything_and_no_other_role_manages_peers_keys_or_tokens() {
        for op in Operation::ALL {
            assert!(Role::Admin.may(op.permission()), "{op}");
        }
        for role in Role::ALL.iter().filter(|r| **r != Role::Admin) {
            for op in [Operation::AddPeer, Operation::RotateKey, Operation::CreateToken, Operation::ReloadTls] {
                assert!(!role.may(op.permission()), "{role} {op}");
            }
            assert!(role.may(Permission::Whoami), "{role}");
        }
        assert!(Role::Submitter.may(Permission::Submit) && !Role::Submitter.may(Permission::Revoke));
        assert!(
            !Role::Submitter.may(Permission::OverrideAllowlist) && Role::Analyst.may(Permission::OverrideAllowlist)
        );
        assert!(Role::Platform.may(Permission::Lookup) && !Role::Platform.may(Permission::ReadIndicators));
        assert!(Role::Auditor.may(Permission::Audit) && !Role::Auditor.may(Permission::Lookup));
        assert!(Role::Reader.may(Permission::Feed) && !Role::Reader.may(Permission::Lookup));
    }

    #[test]
    fn the_refusal_names_the_role_and_what_was_asked() {
        let e = record(Role::Platform).check(0, "127.0.0.1".parse().unwrap(), Operation::AddPeer).unwrap_err();
        assert_eq!(e, Denied::Role { name: "t".into(), role: Role::Platform, operation: Operation::AddPeer });
        assert_eq!(e.to_string(), "this token's role (platform) may not add peers");
    }

    #[test]
    fn revoked_expired_and_out_of_network_tokens_are_refused() {
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let mut r = record(Role::Reader);
        assert_eq!(r.check(10, ip, Operation::ReadFeed), Ok(()));
        r.expires_at_ms = Some(10);
        assert!(matches!(r.check(10, ip, Operation::ReadFeed), Err(Denied::Expired { at_ms: 10, .. })));
        assert_eq!(r.check(9, ip, Operation::ReadFeed), Ok(()));
        r.allow_from = vec!["10.0.0.0/8".parse().unwrap()];
        let e = r.check(9, ip, Operation::ReadFeed).unwrap_err();
        assert!(matches!(&e, Denied::Address { allowed, .. } if allowed == "10.0.0.0/8"), "{e}");
        assert_eq!(r.check(9, "10.9.8.7".parse().unwrap(), Operation::ReadFeed), Ok(()));
        assert_eq!(r.check(9, "::ffff:10.9.8.7".parse().unwrap(), Operation::ReadFeed), Ok(()));
        r.revoked_at_ms = Some(5);
        assert!(matches!(r.check(9, ip, Operation::ReadFeed), Err(Denied::Revoked { .. })));
    }

    #[test]
    fn new_tokens_are_checked_field_by_field() {
        let new = |role, platform: Option<&str>| NewToken {
            name: "meta".into(),
            role,
            max_tlp: None,
            kinds: vec![Kind::Url, Kind::Domain, Kind::Url],
            categories: vec![],
            platform: platform.map(str::to_string),
            expires_at_ms: None,
            allow_from: vec![],
            rate: None,
        };
        let r = new(Role::Platform, Some(" Facebook ")).into_record(5, "admin", "ab".into()).unwrap();
        assert_eq!(r.platform.as_deref(), Some("facebook"));
        assert_eq!(r.scope.max_tlp, Tlp::Green);
        assert_eq!(r.scope.kinds, vec![Kind::Domain, Kind::Url]);
        assert_eq!(new(Role::Platform, None).into_record(5, "a", String::new()).unwrap_err().field, "platform");
        assert_eq!(new(Role::Analyst, Some("x")).into_record(5, "a", String::new()).unwrap_err().field, "platform");
        let past = NewToken { expires_at_ms: Some(5), ..new(Role::Reader, None) };
        assert_eq!(past.into_record(5, "a", String::new()).unwrap_err().field, "expires");
        let bad = NewToken { name: "a b".into(), ..new(Role::Reader, None) };
        assert_eq!(bad.into_record(5, "a", String::new()).unwrap_err().field, "name");
    }

    #[test]
    fn networks_parse_normalize_and_match() {
        let c: Cidr = "10.1.2.3/8".parse().unwrap();
        assert_eq!(c.to_string(), "10.0.0.0/8");
        assert!(c.contains("10.255.0.1".parse().unwrap()) && !c.contains("11.0.0.1".parse().unwrap()));
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains("192.0.2.1".parse().unwrap()) && !all.contains("2001:db8::1".parse().unwrap()));
        let v6: Cidr = "2001:db8::/32".parse().unwrap();
        assert!(v6.contains("2001:db8:ffff::1".parse().unwrap()) && !v6.contains("2001:db9::1".parse().unwrap()));
        let one: Cidr = "192.0.2.7".parse().unwrap();
        assert_eq!(one.to_string(), "192.0.2.7/32");
        for bad in ["10.0.0.0/33", "::/129", "nope", "10.0.0.0/x", ""] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad}");
        }
    }

    #[test]
    fn rates_parse() {
        assert_eq!("20/s".parse::<Rate>().unwrap(), Rate { per_s: 20, burst: 40 });
        assert_eq!("5".parse::<Rate>().unwrap(), Rate { per_s: 5, burst: 10 });
        assert_eq!("120/min".parse::<Rate>().unwrap(), Rate { per_s: 2, burst: 120 });
        for bad in ["0/s", "x/s", "5/h", "-1"] {
            assert!(bad.parse::<Rate>().is_err(), "{bad}");
        }
    }

    fn assertion(origin: &str, tlp: Tlp, categories: Vec<Category>, confidence: u8) -> Assertion {
        Assertion {
            origin: origin.into(),
            indicator_id: format!("id-{origin}"),
            version: 1,
            categories,
            confidence,
            tlp,
            first_seen_ms: 0,
            last_seen_ms: 0,
            valid_until_ms: None,
            status: ValueStatus::Active,
            description: None,
            score: confidence,
        }
    }

    #[test]
    fn a_view_is_merged_again_from_what_the_scope_sees() {
        let view = MergedView::merge(
            Kind::Domain,
            "scam.example".into(),
            None,
            vec![
                assertion("ID", Tlp::Green, vec![Category::JobScam], 60),
                assertion("VN", Tlp::Red, vec![Category::TraffickingRecruitment], 95),
            ],
        );
        let green = Scope { max_tlp: Tlp::Green, kinds: vec![], categories: vec![] };
        let seen = green.restrict(view.clone()).unwrap();
        assert_eq!(seen.assertions.len(), 1);
        assert_eq!(seen.max_confidence, 60);
        assert_eq!(seen.categories, vec![Category::JobScam]);
        // Only the RED assertion names trafficking: not listed at all.
        let trafficking = Scope { categories: vec![Category::TraffickingRecruitment], ..green.clone() };
        assert_eq!(trafficking.restrict(view.clone()), None);
        let urls = Scope { kinds: vec![Kind::Url], ..Scope::everything() };
        assert_eq!(urls.restrict(view.clone()), None);
        assert_eq!(Scope::everything().restrict(view.clone()), Some(view));
    }
}
