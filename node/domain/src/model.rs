//! The indicator model: plain Rust types with their invariants.
//!
//! Nothing here knows about protobuf; the node's `wire` module converts at
//! the edge.
//! Every enum has one canonical lower-case name (`as_str`) used by the CLI,
//! config files, JSON output and exports, and parses from it (`FromStr`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A name that did not parse as one of an enum's values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {given:?}; expected one of: {expected}")]
pub struct UnknownName {
    /// What was being parsed ("kind", "category", ...).
    pub what: &'static str,
    /// The input.
    pub given: String,
    /// The accepted names, comma separated.
    pub expected: String,
}

macro_rules! named_enum {
    (
        $(#[$meta:meta])*
        $name:ident, $what:literal {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal $(| $alias:literal)* ),+ $(,)?
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
                let lower = s.trim().to_ascii_lowercase().replace('-', "_");
                match lower.as_str() {
                    $( $text $(| $alias)* => Ok($name::$variant), )+
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

named_enum! {
    /// What kind of real-world thing an indicator names.
    Kind, "kind" {
        Domain = "domain",
        Url = "url",
        /// A phone number, E.164.
        Phone = "phone",
        /// Bank code plus account digits.
        BankAccount = "bank_account" | "bank",
        /// An e-wallet (GoPay, OVO, MoMo, GCash, ...) account.
        EwalletAccount = "ewallet_account" | "ewallet",
        /// Chain plus address.
        CryptoWallet = "crypto_wallet" | "wallet",
        Email = "email",
        Ip = "ip",
        /// Platform plus handle.
        SocialHandle = "social_handle" | "handle",
    }
}

impl Kind {
    /// Whether values of this kind are personal data, which travel only as
    /// keyed hashes. Phone numbers are personal data when the node's
    /// configuration says so (`hash_phone`).
    pub fn is_personal(self, hash_phone: bool) -> bool {
        match self {
            Kind::BankAccount | Kind::EwalletAccount | Kind::Email => true,
            Kind::Phone => hash_phone,
            _ => false,
        }
    }
}

named_enum! {
    /// What the scam or abuse behind an indicator is.
    Category, "category" {
        JobScam = "job_scam",
        TraffickingRecruitment = "trafficking_recruitment",
        InvestmentScam = "investment_scam",
        Phishing = "phishing",
        OnlineGambling = "online_gambling",
        LoanScam = "loan_scam",
        RomanceScam = "romance_scam",
        Impersonation = "impersonation",
        Other = "other",
    }
}

named_enum! {
    /// Traffic Light Protocol 2.0 marking, ordered from least to most
    /// restricted.
    Tlp, "TLP" {
        Clear = "clear" | "white",
        Green = "green",
        Amber = "amber",
        AmberStrict = "amber+strict" | "amber_strict" | "amberstrict",
        Red = "red",
    }
}

impl Tlp {
    /// The TLP 2.0 label, e.g. `TLP:AMBER+STRICT`.
    pub fn label(self) -> &'static str {
        match self {
            Tlp::Clear => "TLP:CLEAR",
            Tlp::Green => "TLP:GREEN",
            Tlp::Amber => "TLP:AMBER",
            Tlp::AmberStrict => "TLP:AMBER+STRICT",
            Tlp::Red => "TLP:RED",
        }
    }
}

named_enum! {
    /// How far an indicator may travel.
    Distribution, "distribution" {
        /// Never leaves the node.
        Local = "local",
        /// Only to the origin's direct peers.
        Direct = "direct",
        /// May be relayed by peers whose agreements allow it.
        Federation = "federation",
    }
}

named_enum! {
    /// Whether a version asserts or withdraws the indicator.
    Action, "action" {
        Upsert = "upsert",
        /// A signed tombstone.
        Revoke = "revoke",
    }
}

named_enum! {
    /// How far this node trusts a peer.
    Trust, "trust" {
        /// Arrivals are stored and served at once.
        Trusted = "trusted",
        /// Arrivals wait in quarantine for an analyst.
        Review = "review",
        /// No connection, nothing accepted.
        Blocked = "blocked",
    }
}

/// Confidence in an indicator, 0-100.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct Confidence(u8);

/// A confidence outside 0-100.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("confidence must be 0-100, got {0}")]
pub struct ConfidenceOutOfRange(pub u64);

impl Confidence {
    /// The value, 0-100.
    pub fn get(self) -> u8 {
        self.0
    }
}

impl TryFrom<u32> for Confidence {
    type Error = ConfidenceOutOfRange;
    fn try_from(v: u32) -> Result<Self, Self::Error> {
        match u8::try_from(v) {
            Ok(v) if v <= 100 => Ok(Confidence(v)),
            _ => Err(ConfidenceOutOfRange(u64::from(v))),
        }
    }
}

impl From<Confidence> for u32 {
    fn from(c: Confidence) -> u32 {
        u32::from(c.0)
    }
}

impl fmt::Display for Confidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A value that breaks a rule: which field, and why. Every check in the
/// domain says this, so the edges can name the field (a gRPC status, an
/// RFC 9457 problem, a CSV line) without parsing a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct InvalidField {
    /// The field.
    pub field: &'static str,
    /// Why.
    pub reason: String,
}

impl InvalidField {
    /// Builds the error.
    pub fn new(field: &'static str, reason: impl Into<String>) -> InvalidField {
        InvalidField { field, reason: reason.into() }
    }
}

/// Milliseconds since the Unix epoch.
pub type UnixMillis = i64;

/// The current time in Unix milliseconds.
pub fn now_ms() -> UnixMillis {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(now.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for k in Kind::ALL {
            assert_eq!(k.as_str().parse::<Kind>(), Ok(*k));
        }
        for c in Category::ALL {
            assert_eq!(c.as_str().parse::<Category>(), Ok(*c));
        }
        for t in Tlp::ALL {
            assert_eq!(t.as_str().parse::<Tlp>(), Ok(*t));
        }
        assert_eq!("AMBER+STRICT".parse::<Tlp>(), Ok(Tlp::AmberStrict));
        assert_eq!("job-scam".parse::<Category>(), Ok(Category::JobScam));
    }

    #[test]
    fn unknown_names_list_the_choices() {
        let err = "spam".parse::<Category>().unwrap_err();
        assert_eq!(err.what, "category");
        assert!(err.to_string().contains("job_scam"), "{err}");
    }

    #[test]
    fn tlp_is_ordered_by_restriction() {
        assert!(Tlp::Clear < Tlp::Green && Tlp::Green < Tlp::Amber);
        assert!(Tlp::Amber < Tlp::AmberStrict && Tlp::AmberStrict < Tlp::Red);
    }

    #[test]
    fn confidence_bounds() {
        assert_eq!(Confidence::try_from(100).map(Confidence::get), Ok(100));
        assert_eq!(Confidence::try_from(150), Err(ConfidenceOutOfRange(150)));
        assert_eq!(Confidence::try_from(256), Err(ConfidenceOutOfRange(256)));
    }
}
