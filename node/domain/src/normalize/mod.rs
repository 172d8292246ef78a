//! Normalization: one canonical form per real-world thing.
//!
//! `normalize(kind, raw, ctx)` turns what an analyst or crawler saw into the
//! canonical string stored, signed, hashed and looked up. Bad input gets a
//! `NormalizeError` naming the kind and the reason; nothing about it is
//! stored. `candidates(raw, ctx)` tries every kind, for lookups where the
//! kind is not known. `registrable_domain` gives the eTLD+1 of a normalized
//! domain.
//!
//! Every kind: input longer than [`MAX_INPUT_LEN`] bytes is refused before
//! anything else, surrounding whitespace is trimmed, and empty input is
//! refused; so is a canonical form longer than [`MAX_INPUT_LEN`] bytes (a
//! URL's percent-encoding can triple its length). Canonical forms are
//! idempotent: normalizing a canonical form gives it back unchanged.
//!
//! Layout: one file per kind family.
//! - `domain`: lower case, IDNA to ASCII, no trailing dot, public suffix list
//!   (suffix must be known; a bare public suffix is refused).
//! - `url`: WHATWG parsing, http/https only, scheme/host normalized, user
//!   info dropped, default port dropped, percent-encoding normalized,
//!   fragment dropped.
//! - `phone`: E.164 with libphonenumber rules and the node's default region.
//! - `account`: bank accounts (`BCA:1234567890`) and e-wallet accounts
//!   (`gopay:+6281234567890`).
//! - `wallet`: crypto wallets, chain plus address, checksums where cheap
//!   (base58check, bech32, EIP-55).
//! - `email`: lower case; the domain part normalized as a domain
//!   ([`legacy_forms`]: the case-preserving form of the older rule).
//! - `ip`: `std::net::IpAddr` canonical text.
//! - `handle`: social media handles, `platform:handle` or a profile URL.

mod account;
mod domain;
mod email;
mod handle;
mod ip;
mod phone;
mod url;
mod wallet;

use crate::model::Kind;

/// Inputs longer than this many bytes (before trimming) are refused.
pub const MAX_INPUT_LEN: usize = 2048;

/// Settings that change how values normalize.
#[derive(Debug, Clone, Default)]
pub struct NormalizeContext {
    /// ISO 3166-1 alpha-2 region for national phone forms, e.g. "ID", "VN";
    /// None: only international forms.
    pub region: Option<String>,
}

/// Why a value did not normalize. `Display` names the kind and the reason,
/// e.g. `invalid phone: contains letters`.
///
/// Variants with a `kind` field are shared between kinds (a URL's host and an
/// e-mail's domain part fail with the domain variants, labelled with the
/// outer kind); the others belong to one kind, given by [`NormalizeError::kind`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NormalizeError {
    // ----- any kind -----
    /// The input is longer than [`MAX_INPUT_LEN`] bytes.
    #[error("invalid {kind}: longer than {max} bytes")]
    TooLong {
        /// The kind being normalized.
        kind: Kind,
        /// The limit, [`MAX_INPUT_LEN`].
        max: usize,
    },
    /// The canonical form would be longer than [`MAX_INPUT_LEN`] bytes
    /// (percent-encoding can triple a URL's path); such a form could not be
    /// normalized again, nor sent to peers, which refuse longer values.
    #[error("invalid {kind}: longer than {max} bytes once normalized")]
    CanonicalTooLong {
        /// The kind being normalized.
        kind: Kind,
        /// The limit, [`MAX_INPUT_LEN`].
        max: usize,
    },
    /// Nothing but whitespace (or a required part is empty).
    #[error("invalid {kind}: empty")]
    Empty {
        /// The kind being normalized.
        kind: Kind,
    },
    /// Whitespace where none is allowed.
    #[error("invalid {kind}: contains whitespace")]
    ContainsWhitespace {
        /// The kind being normalized.
        kind: Kind,
    },
    /// A character that this kind does not allow.
    #[error("invalid {kind}: character {ch:?} not allowed")]
    InvalidCharacter {
        /// The kind being normalized.
        kind: Kind,
        /// The first offending character.
        ch: char,
    },

    // ----- domain names (domain, url host, email domain) -----
    /// A URL, e-mail address or `host:port` given as a domain.
    #[error("invalid domain: a URL, e-mail address or host:port, not a host name; use kind url or email")]
    NotAHostName,
    /// An IP address where a domain name is required.
    #[error("invalid {kind}: an IP address, not a domain name; use kind ip")]
    IpNotDomain {
        /// The kind being normalized.
        kind: Kind,
    },
    /// Two dots in a row, or a leading dot.
    #[error("invalid {kind}: empty label in domain name")]
    EmptyLabel {
        /// The kind being normalized.
        kind: Kind,
    },
    /// A label longer than 63 bytes (after IDNA).
    #[error("invalid {kind}: domain label longer than 63 bytes")]
    LabelTooLong {
        /// The kind being normalized.
        kind: Kind,
    },
    /// A domain name longer than 253 bytes (after IDNA).
    #[error("invalid {kind}: domain name longer than 253 bytes")]
    NameTooLong {
        /// The kind being normalized.
        kind: Kind,
    },
    /// A label starting or ending with `-`.
    #[error("invalid {kind}: domain label {label:?} starts or ends with '-'")]
    HyphenAtLabelEdge {
        /// The kind being normalized.
        kind: Kind,
        /// The label, in ASCII form.
        label: String,
    },
    /// IDNA (UTS 46) processing refused the name.
    #[error("invalid {kind}: not a valid internationalized domain name")]
    Idna {
        /// The kind being normalized.
        kind: Kind,
    },
    /// The name does not end in a suffix on the public suffix list.
    #[error("invalid {kind}: {suffix:?} is not a known public suffix")]
    UnknownSuffix {
        /// The kind being normalized.
        kind: Kind,
        /// The unknown suffix (last label).
        suffix: String,
    },
    /// The name is itself a public suffix, e.g. `co.id`.
    #[error("invalid {kind}: {name:?} is a public suffix, not a registrable domain")]
    PublicSuffixOnly {
        /// The kind being normalized.
        kind: Kind,
        /// The name, in ASCII form.
        name: String,
    },

    // ----- url -----
    /// The WHATWG URL parser refused the input.
    #[error("invalid url: {0}")]
    UrlSyntax(::url::ParseError),
    /// A scheme other than http or https.
    #[error("invalid url: scheme {scheme:?} not supported; only http and https")]
    UnsupportedScheme {
        /// The scheme, lower case.
        scheme: String,
    },

    // ----- phone -----
    /// Letters in a phone number (vanity numbers, extensions).
    #[error("invalid {kind}: contains letters")]
    ContainsLetters {
        /// The kind being normalized.
        kind: Kind,
    },
    /// A national form with no region to read it in.
    #[error(
        "invalid phone: a national number needs a region; configure the node's region or write it as +<country code><number>"
    )]
    RegionRequired,
    /// The context's region is not a known ISO 3166-1 alpha-2 code.
    #[error("invalid phone: unknown region {region:?}; expected an ISO 3166-1 alpha-2 code such as ID")]
    UnknownRegion {
        /// The region as configured.
        region: String,
    },
    /// libphonenumber could not read a number.
    #[error("invalid phone: {reason}")]
    PhoneSyntax {
        /// What was wrong.
        reason: &'static str,
    },
    /// The number parsed but is not valid in its country's numbering plan.
    #[error("invalid phone: not a valid number in its country's numbering plan")]
    PhoneNotValid,

    // ----- bank_account -----
    /// No bank code before the account number.
    #[error("invalid bank_account: missing bank code; write <bank code>:<account>, e.g. BCA:1234567890")]
    MissingBankCode,
    /// A bank code that is not 2-11 letters or digits.
    #[error("invalid bank_account: bank code {code:?} must be 2-11 letters or digits")]
    InvalidBankCode {
        /// The bank code as given.
        code: String,
    },
    /// An account number with too few or too many digits.
    #[error("invalid bank_account: account number must be 5-34 digits, got {len}")]
    AccountNumberLength {
        /// Digits found.
        len: usize,
    },

    // ----- ewallet_account -----
    /// No provider before the account.
    #[error("invalid ewallet_account: missing provider; write <provider>:<account>, e.g. gopay:+6281234567890")]
    MissingProvider,
    /// A provider name outside `[a-z0-9][a-z0-9_-]{0,31}`.
    #[error("invalid ewallet_account: provider {provider:?} must be 1-32 of a-z, 0-9, '_', '-'")]
    InvalidProvider {
        /// The provider as given.
        provider: String,
    },
    /// An account that is neither a phone number nor a well-formed id.
    #[error("invalid ewallet_account: {reason}")]
    InvalidAccountId {
        /// What was wrong.
        reason: &'static str,
    },

    // ----- crypto_wallet -----
    /// A bare address whose chain cannot be inferred.
    #[error("invalid crypto_wallet: cannot tell the chain of a bare address; write <chain>:<address>")]
    UnknownChain,
    /// A chain name outside `[a-z0-9]{1,32}`.
    #[error("invalid crypto_wallet: chain name {chain:?} must be 1-32 of a-z, 0-9")]
    InvalidChain {
        /// The chain as given.
        chain: String,
    },
    /// An address that fails the chain's rules.
    #[error("invalid crypto_wallet: not a valid {chain} address: {reason}")]
    InvalidAddress {
        /// The canonical chain name.
        chain: String,
        /// What was wrong.
        reason: &'static str,
    },
    /// A mixed-case EVM address whose capitalization is not its EIP-55
    /// checksum.
    #[error("invalid crypto_wallet: EIP-55 checksum mismatch")]
    Eip55Mismatch,

    // ----- email -----
    /// No `@`.
    #[error("invalid email: no '@'")]
    MissingAt,
    /// Nothing before the `@`.
    #[error("invalid email: empty local part")]
    EmptyLocalPart,
    /// A local part longer than 64 bytes.
    #[error("invalid email: local part longer than 64 bytes")]
    LocalPartTooLong,
    /// Nothing after the `@`.
    #[error("invalid email: empty domain part")]
    EmptyDomainPart,

    // ----- ip -----
    /// A network (`1.2.3.0/24`) where one address is required.
    #[error("invalid ip: a network in CIDR notation, not a single address")]
    CidrNotIp,
    /// Not an IPv4 or IPv6 address as `std` parses them.
    #[error("invalid ip: not an IPv4 or IPv6 address")]
    InvalidIp,

    // ----- social_handle -----
    /// Neither `platform:handle` nor a URL.
    #[error("invalid social_handle: missing platform; write <platform>:<handle> or a profile URL")]
    MissingPlatform,
    /// A platform name outside `[a-z0-9][a-z0-9_-]{0,31}`.
    #[error("invalid social_handle: platform {platform:?} must be 1-32 of a-z, 0-9, '_', '-'")]
    InvalidPlatform {
        /// The platform as given.
        platform: String,
    },
    /// A URL that is not a profile page of a platform we know.
    #[error(
        "invalid social_handle: not a profile URL of telegram, facebook, instagram, tiktok, x or youtube; write <platform>:<handle>"
    )]
    NotAProfileUrl,
    /// A handle of the wrong length.
    #[error("invalid social_handle: handle must be 1-100 characters, got {len}")]
    HandleLength {
        /// Characters found (after stripping `@`).
        len: usize,
    },
}

impl NormalizeError {
    /// The kind whose normalization failed.
    pub fn kind(&self) -> Kind {
        use NormalizeError as E;
        match self {
            E::TooLong { kind, .. }
            | E::CanonicalTooLong { kind, .. }
            | E::Empty { kind }
            | E::ContainsWhitespace { kind }
            | E::InvalidCharacter { kind, .. }
            | E::IpNotDomain { kind }
            | E::EmptyLabel { kind }
            | E::LabelTooLong { kind }
            | E::NameTooLong { kind }
            | E::HyphenAtLabelEdge { kind, .. }
            | E::Idna { kind }
            | E::UnknownSuffix { kind, .. }
            | E::PublicSuffixOnly { kind, .. }
            | E::ContainsLetters { kind } => *kind,
            E::NotAHostName => Kind::Domain,
            E::UrlSyntax(_) | E::UnsupportedScheme { .. } => Kind::Url,
            E::RegionRequired | E::UnknownRegion { .. } | E::PhoneSyntax { .. } | E::PhoneNotValid => Kind::Phone,
            E::MissingBankCode | E::InvalidBankCode { .. } | E::AccountNumberLength { .. } => Kind::BankAccount,
            E::MissingProvider | E::InvalidProvider { .. } | E::InvalidAccountId { .. } => Kind::EwalletAccount,
            E::UnknownChain | E::InvalidChain { .. } | E::InvalidAddress { .. } | E::Eip55Mismatch => {
                Kind::CryptoWallet
            }
            E::MissingAt | E::EmptyLocalPart | E::LocalPartTooLong | E::EmptyDomainPart => Kind::Email,
            E::CidrNotIp | E::InvalidIp => Kind::Ip,
            E::MissingPlatform | E::InvalidPlatform { .. } | E::NotAProfileUrl | E::HandleLength { .. } => {
                Kind::SocialHandle
            }
        }
    }
}

/// Loads what normalization loads on first use (libphonenumber's
/// metadata: about half a second of CPU), so that the first phone number a node
/// reads (a peer's indicator, a lookup) does not wait for it. A node calls
/// it once at start, off its async threads.
pub fn warm_up() {
    let _ = phone::to_e164("+6281234567890", Some("ID"));
    let _ = phone::to_e164("0812-3456-7890", Some("ID"));
}

/// Canonical form of `raw` as a value of `kind`.
///
/// # Errors
///
/// A [`NormalizeError`] naming the kind and the reason when `raw` is longer
/// than [`MAX_INPUT_LEN`] bytes, empty after trimming, not a well-formed
/// value of `kind` (see the module docs for each kind's rules), or when its
/// canonical form would be longer than [`MAX_INPUT_LEN`] bytes.
pub fn normalize(kind: Kind, raw: &str, ctx: &NormalizeContext) -> Result<String, NormalizeError> {
    if raw.len() > MAX_INPUT_LEN {
        return Err(NormalizeError::TooLong { kind, max: MAX_INPUT_LEN });
    }
    let value = raw.trim();
    if value.is_empty() {
        return Err(NormalizeError::Empty { kind });
    }
    let canonical = normalize_kind(kind, value, ctx)?;
    // The canonical form must itself be acceptable input (idempotence) and
    // fit the wire's value limit, which is the same number.
    if canonical.len() > MAX_INPUT_LEN {
        return Err(NormalizeError::CanonicalTooLong { kind, max: MAX_INPUT_LEN });
    }
    Ok(canonical)
}

fn normalize_kind(kind: Kind, value: &str, ctx: &NormalizeContext) -> Result<String, NormalizeError> {
    match kind {
        Kind::Domain => domain::normalize(value),
        Kind::Url => url::normalize(value),
        Kind::Phone => phone::normalize(value, ctx),
        Kind::BankAccount => account::normalize_bank(value),
        Kind::EwalletAccount => account::normalize_ewallet(value, ctx),
        Kind::CryptoWallet => wallet::normalize(value),
        Kind::Email => email::normalize(value),
        Kind::Ip => ip::normalize(value),
        Kind::SocialHandle => handle::normalize(value),
    }
}

/// Every kind `raw` parses as, with its canonical form (for lookups without
/// a kind). Order: [`Kind::ALL`] order.
///
/// Prefixed forms are ambiguous by design: `BCA:1234567890` parses as a bank
/// account, an e-wallet account (`bca:1234567890`) and a social handle, and
/// all three are returned; callers look each up.
///
/// One exception to "every kind": a scheme-less input containing `@` (an
/// e-mail address, or `user@host`) is not offered as a URL, since the URL
/// reading would drop the user part and name only the host.
pub fn candidates(raw: &str, ctx: &NormalizeContext) -> Vec<(Kind, String)> {
    Kind::ALL
        .iter()
        .filter(|&&kind| kind != Kind::Url || !raw.contains('@') || url::has_http_scheme(raw.trim()))
        .filter_map(|&kind| normalize(kind, raw, ctx).ok().map(|v| (kind, v)))
        .collect()
}

/// Canonical forms older rules gave `raw` as `kind`, where they differ from
/// today's, so lookups still find values stored (or sent by peers) under
/// them. Today: e-mail local parts kept their case before they were
/// lower-cased.
pub fn legacy_forms(kind: Kind, raw: &str) -> Vec<String> {
    match kind {
        Kind::Email => email::legacy(raw).into_iter().collect(),
        _ => Vec::new(),
    }
}

/// Registrable domain (eTLD+1) of an already-normalized domain, via the
/// public suffix list (ICANN and private sections, so `foo.blogspot.com` is
/// its own registrable domain). `None` when the name's suffix is not on the
/// list or the name is itself a public suffix.
pub fn registrable_domain(domain: &str) -> Option<&str> {
    let domain = domain.strip_suffix('.').unwrap_or(domain);
    let found = psl::domain(domain.as_bytes())?;
    if !found.suffix().is_known() {
        return None;
    }
    let len = found.as_bytes().len();
    domain.get(domain.len().checked_sub(len)?..)
}

/// Whether `s` has a character for which `f` holds; the first such.
fn find_char(s: &str, f: impl Fn(char) -> bool) -> Option<char> {
    s.chars().find(|&c| f(c))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn ctx(region: Option<&str>) -> NormalizeContext {
        NormalizeContext { region: region.map(str::to_string) }
    }

    #[test]
    fn too_long_input_is_refused_early() {
        let long = "a".repeat(MAX_INPUT_LEN + 1);
        for &kind in Kind::ALL {
            assert_eq!(normalize(kind, &long, &ctx(None)), Err(NormalizeError::TooLong { kind, max: MAX_INPUT_LEN }));
        }
        // Exactly the limit is not refused for length.
        let at_limit = format!("{}.com", "a".repeat(MAX_INPUT_LEN - 4));
        assert_ne!(
            normalize(Kind::Domain, &at_limit, &ctx(None)),
            Err(NormalizeError::TooLong { kind: Kind::Domain, max: MAX_INPUT_LEN })
        );
    }

    /// Found with the idempotence check of the `normalize` fuzz target
    /// (fuzz/): percent-encoding made a 2019-byte URL a 6019-byte canonical
    /// form, which normalizing again refused as too long, and which peers
    /// would refuse on the wire.
    #[test]
    fn canonical_form_longer_than_the_limit_is_refused() {
        let long = format!("http://example.com/{}", "\u{fc}".repeat(1000));
        assert!(long.len() <= MAX_INPUT_LEN);
        assert_eq!(
            normalize(Kind::Url, &long, &ctx(None)),
            Err(NormalizeError::CanonicalTooLong { kind: Kind::Url, max: MAX_INPUT_LEN })
        );
        assert_eq!(
            normalize(Kind::Url, &long, &ctx(None)).unwrap_err().to_string(),
            "invalid url: longer than 2048 bytes once normalized"
        );
        // Up to the limit, the expanded form is kept and is a fixed point.
        let fits = format!("http://example.com/{}a", "\u{fc}".repeat(338));
        let once = normalize(Kind::Url, &fits, &ctx(None)).unwrap();
        assert_eq!(once.len(), MAX_INPUT_LEN);
        assert_eq!(normalize(Kind::Url, &once, &ctx(None)), Ok(once.clone()));
        assert_eq!(
            normalize(Kind::Url, &format!("{fits}b"), &ctx(None)),
            Err(NormalizeError::CanonicalTooLong { kind: Kind::Url, max: MAX_INPUT_LEN })
        );
    }

    #[test]
    fn empty_input_is_refused_for_every_kind() {
        for &kind in Kind::ALL {
            assert_eq!(normalize(kind, " \t\n", &ctx(Some("ID"))), Err(NormalizeError::Empty { kind }));
        }
    }

    #[test]
    fn errors_name_the_kind_and_the_reason() {
        let err = normalize(Kind::Phone, "0812-CALL-NOW", &ctx(Some("ID"))).unwrap_err();
        assert_eq!(err.to_string(), "invalid phone: contains letters");
        assert_eq!(err.kind(), Kind::Phone);

        let err = normalize(Kind::Email, "a@b.notatld", &ctx(None)).unwrap_err();
        assert_eq!(err.kind(), Kind::Email);
        assert!(err.to_string().starts_with("invalid email: "), "{err}");

        let err = normalize(Kind::CryptoWallet, "nonsense", &ctx(None)).unwrap_err();
        assert_eq!(err.kind(), Kind::CryptoWallet);
        assert!(err.to_string().starts_with("invalid crypto_wallet: "), "{err}");

        let err = normalize(Kind::Url, "ftp://example.com/", &ctx(None)).unwrap_err();
        assert_eq!(err.kind(), Kind::Url);
        assert_eq!(err.to_string(), "invalid url: scheme \"ftp\" not supported; only http and https");
    }

    #[test]
    fn every_error_display_starts_with_its_kind() {
        let samples: &[(Kind, &str)] = &[
            (Kind::Domain, "http://x.com/"),
            (Kind::Domain, "co.id"),
            (Kind::Url, "javascript:alert(1)"),
            (Kind::Phone, "0812345678"),
            (Kind::BankAccount, "1234567890"),
            (Kind::EwalletAccount, "081234567890"),
            (Kind::CryptoWallet, "eth:0x12"),
            (Kind::Email, "nobody"),
            (Kind::Ip, "10.0.0.0/8"),
            (Kind::SocialHandle, "someone"),
        ];
        for (kind, raw) in samples {
            let err = normalize(*kind, raw, &ctx(None)).unwrap_err();
            assert_eq!(err.kind(), *kind, "{raw}");
            assert!(err.to_string().starts_with(&format!("invalid {kind}: ")), "{raw}: {err}");
        }
    }

    #[test]
    fn candidates_phone() {
        assert_eq!(candidates("+6281234567890", &ctx(None)), vec![(Kind::Phone, "+6281234567890".to_string())]);
        assert_eq!(candidates(" 0812-3456-7890 ", &ctx(Some("ID"))), vec![(Kind::Phone, "+6281234567890".to_string())]);
    }

    #[test]
    fn candidates_domain_and_url() {
        assert_eq!(
            candidates("loker-kerja.co.id", &ctx(None)),
            vec![(Kind::Domain, "loker-kerja.co.id".to_string()), (Kind::Url, "http://loker-kerja.co.id/".to_string()),]
        );
        assert_eq!(
            candidates("https://Loker-Kerja.co.id/lowongan?id=1#top", &ctx(None)),
            vec![(Kind::Url, "https://loker-kerja.co.id/lowongan?id=1".to_string())]
        );
    }

    #[test]
    fn candidates_email_is_not_a_url() {
        assert_eq!(
            candidates("Rekrut.Kerja@Gmail.COM", &ctx(None)),
            vec![(Kind::Email, "rekrut.kerja@gmail.com".to_string())]
        );
        // With an explicit scheme the user-info trick is a URL.
        assert_eq!(
            candidates("http://bank.co.id@evil.com/", &ctx(None)),
            vec![(Kind::Url, "http://evil.com/".to_string())]
        );
    }

    #[test]
    fn candidates_other_kinds() {
        assert_eq!(
            candidates("203.0.113.7", &ctx(None)),
            vec![(Kind::Url, "http://203.0.113.7/".to_string()), (Kind::Ip, "203.0.113.7".to_string()),]
        );
        assert_eq!(
            candidates("0x52908400098527886E0F7030069857D2E4169EE7", &ctx(None)),
            vec![(Kind::CryptoWallet, "eth:0x52908400098527886e0f7030069857d2e4169ee7".to_string())]
        );
        // `<prefix>:<digits>` reads as a bank account, an e-wallet account
        // and a handle alike; all are offered.
        assert_eq!(
            candidates("BCA:1234567890", &ctx(None)),
            vec![
                (Kind::BankAccount, "BCA:1234567890".to_string()),
                (Kind::EwalletAccount, "bca:1234567890".to_string()),
                (Kind::SocialHandle, "bca:1234567890".to_string()),
            ]
        );
        assert_eq!(
            candidates("https://t.me/LokerKerja_Resmi", &ctx(None)),
            vec![
                (Kind::Url, "https://t.me/LokerKerja_Resmi".to_string()),
                (Kind::SocialHandle, "telegram:lokerkerja_resmi".to_string()),
            ]
        );
        assert_eq!(
            candidates("gopay:0812-3456-7890", &ctx(Some("ID"))),
            vec![
                (Kind::BankAccount, "GOPAY:081234567890".to_string()),
                (Kind::EwalletAccount, "gopay:+6281234567890".to_string()),
                (Kind::SocialHandle, "gopay:0812-3456-7890".to_string()),
            ]
        );
        assert!(candidates("", &ctx(None)).is_empty());
        assert!(candidates("not anything", &ctx(None)).is_empty());
    }

    /// Arbitrary input never panics, and whatever normalizes is a fixed
    /// point.
    #[test]
    fn arbitrary_input_never_panics() {
        const PIECES: &[&str] = &[
            "a", "Z", "0", "9", "+", "-", ".", ":", "/", "@", "%", "%2f", "%7E", "?", "#", " ", "[", "]", "x", "0x",
            "bc1", "T", "ü", "\u{3002}", "xn--", "http://", "tel:", "62", "0812", "com", "co.id", "t.me/", "www.",
            "\\", "\u{ff0b}", "\u{200b}", "::", "%%", "1", "3", "#:", "ä.de", "*", ";", ",", "\t",
        ];
        let contexts = [ctx(None), ctx(Some("ID")), ctx(Some("vn")), ctx(Some("ZZ"))];
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for round in 0..4000 {
            let len = next() % 12;
            let mut raw = String::new();
            for _ in 0..len {
                let pick = usize::try_from(next() % PIECES.len() as u64).unwrap();
                raw.push_str(PIECES[pick]);
            }
            let c = &contexts[round % contexts.len()];
            for &kind in Kind::ALL {
                if let Ok(once) = normalize(kind, &raw, c) {
                    assert_eq!(normalize(kind, &once, c).as_ref(), Ok(&once), "{kind} {raw:?}");
                }
            }
            let _ = candidates(&raw, c);
        }
    }

    #[test]
    fn registrable_domains() {
        let cases = [
            ("www.loker-kerja.co.id", Some("loker-kerja.co.id")),
            ("loker-kerja.co.id", Some("loker-kerja.co.id")),
            ("a.b.example.com", Some("example.com")),
            ("xn--bcher-kva.de", Some("xn--bcher-kva.de")),
            ("shop.xn--bcher-kva.de", Some("xn--bcher-kva.de")),
            ("foo.blogspot.com", Some("foo.blogspot.com")),
            ("example.com.", Some("example.com")),
            ("co.id", None),
            ("com", None),
            ("example.notatld", None),
            ("", None),
        ];
        for (domain, want) in cases {
            assert_eq!(registrable_domain(domain), want, "{domain}");
        }
    }

    #[test]
    fn canonical_forms_are_fixed_points() {
        let samples: &[(Kind, &str)] = &[
            (Kind::Domain, "WWW.Loker-Kerja.CO.ID."),
            (Kind::Domain, "bücher.de"),
            (Kind::Url, "HTTP://Bücher.DE:80/a%7eb/%2f?q=%e2%82%ac#x"),
            (Kind::Url, "example.com/a b"),
            (Kind::Phone, "+84 91 234 5678"),
            (Kind::BankAccount, "bca 123-456-7890"),
            (Kind::EwalletAccount, "GoPay:+62 812 3456 7890"),
            (Kind::CryptoWallet, "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4"),
            (Kind::Email, "Kerja@BÜCHER.de"),
            (Kind::Ip, "[2001:DB8::1]"),
            (Kind::SocialHandle, "https://www.instagram.com/Loker.Kerja/"),
        ];
        for (kind, raw) in samples {
            let once = normalize(*kind, raw, &ctx(Some("ID"))).unwrap();
            let twice = normalize(*kind, &once, &ctx(Some("ID"))).unwrap();
            assert_eq!(once, twice, "{kind} {raw}");
        }
    }
}
