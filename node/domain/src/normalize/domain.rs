//! Domain names.
//!
//! Canonical form: lower case, IDNA (UTS 46, non-transitional) to ASCII, so
//! `bücher.de` is `xn--bcher-kva.de`; one trailing dot removed. Labels are
//! letters, digits, `-` and `_` (the underscore occurs in real host names),
//! 1-63 bytes, not starting or ending with `-`; the whole name is at most
//! 253 bytes. The name must end in a suffix on the public suffix list (ICANN
//! or private section) and must not be a bare public suffix (`co.id`).
//! Subdomains, including `www.`, are kept as given: the registrable domain
//! is a separate question ([`super::registrable_domain`]).
//!
//! The domain kind takes a host name only: input with a scheme, path, port,
//! query, fragment or `@` is refused with a pointer to kind url or email,
//! and IP addresses are refused with a pointer to kind ip.

use std::net::IpAddr;

use idna::uts46::{AsciiDenyList, DnsLength, Hyphens, Uts46};

use super::NormalizeError;
use crate::model::Kind;

/// Longest label, in bytes of its ASCII form.
const MAX_LABEL: usize = 63;
/// Longest name, in bytes of its ASCII form, without a trailing dot.
const MAX_NAME: usize = 253;

/// Normalize a value of kind domain (trimmed, non-empty).
pub(super) fn normalize(value: &str) -> Result<String, NormalizeError> {
    if is_ip_literal(value) {
        return Err(NormalizeError::IpNotDomain { kind: Kind::Domain });
    }
    if value.contains(['/', '\\', '?', '#', ':', '@']) {
        return Err(NormalizeError::NotAHostName);
    }
    normalize_name(value, Kind::Domain)
}

/// Whether `value` is an IP address, bare or in brackets.
fn is_ip_literal(value: &str) -> bool {
    let inner = value.strip_prefix('[').and_then(|v| v.strip_suffix(']')).unwrap_or(value);
    inner.parse::<IpAddr>().is_ok()
}

/// Normalize a host name under the domain rules, reporting errors as `kind`
/// (url hosts and e-mail domains use these rules too).
pub(super) fn normalize_name(name: &str, kind: Kind) -> Result<String, NormalizeError> {
    if name.chars().any(char::is_whitespace) {
        return Err(NormalizeError::ContainsWhitespace { kind });
    }
    if is_ip_literal(name) {
        return Err(NormalizeError::IpNotDomain { kind });
    }
    if let Some(ch) = super::find_char(name, |c| c.is_ascii() && !is_name_char(c)) {
        return Err(NormalizeError::InvalidCharacter { kind, ch });
    }
    let ascii = Uts46::new()
        .to_ascii(name.as_bytes(), AsciiDenyList::EMPTY, Hyphens::Allow, DnsLength::Ignore)
        .map_err(|_| NormalizeError::Idna { kind })?;
    // Mapping can turn non-ASCII look-alikes (full-width solidus, ...) into
    // ASCII characters that are not allowed in a name.
    if let Some(ch) = super::find_char(&ascii, |c| !is_name_char(c) || c.is_ascii_uppercase()) {
        return Err(NormalizeError::InvalidCharacter { kind, ch });
    }
    let ascii = ascii.strip_suffix('.').unwrap_or(&ascii);
    if ascii.is_empty() {
        return Err(NormalizeError::Empty { kind });
    }
    if ascii.len() > MAX_NAME {
        return Err(NormalizeError::NameTooLong { kind });
    }
    for label in ascii.split('.') {
        if label.is_empty() {
            return Err(NormalizeError::EmptyLabel { kind });
        }
        if label.len() > MAX_LABEL {
            return Err(NormalizeError::LabelTooLong { kind });
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(NormalizeError::HyphenAtLabelEdge { kind, label: label.to_string() });
        }
    }
    // Full-width digits map to an address.
    if is_ip_literal(ascii) {
        return Err(NormalizeError::IpNotDomain { kind });
    }
    let suffix = psl::suffix(ascii.as_bytes());
    if !suffix.is_some_and(|s| s.is_known()) {
        let last = ascii.rsplit('.').next().unwrap_or(ascii);
        return Err(NormalizeError::UnknownSuffix { kind, suffix: last.to_string() });
    }
    if psl::domain(ascii.as_bytes()).is_none() {
        return Err(NormalizeError::PublicSuffixOnly { kind, name: ascii.to_string() });
    }
    Ok(ascii.to_string())
}

/// Characters allowed in an ASCII host name (either case; dots separate).
fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
}

#[cfg(test)]
mod tests {
    use super::super::{NormalizeContext, NormalizeError, normalize};
    use crate::model::Kind;

    fn run(raw: &str) -> Result<String, NormalizeError> {
        normalize(Kind::Domain, raw, &NormalizeContext::default())
    }

    const K: Kind = Kind::Domain;

    #[test]
    fn good_domains() {
        let cases = [
            ("WWW.Loker-Kerja.CO.ID.", "www.loker-kerja.co.id"),
            ("www.loker-kerja.co.id", "www.loker-kerja.co.id"),
            ("  loker-kerja.co.id\n", "loker-kerja.co.id"),
            ("example.com", "example.com"),
            ("a.b.c.example.com", "a.b.c.example.com"),
            // German umlaut and sharp s (non-transitional: ß is kept).
            ("bücher.de", "xn--bcher-kva.de"),
            ("BÜCHER.DE", "xn--bcher-kva.de"),
            ("straße.de", "xn--strae-oqa.de"),
            ("shop.münchen.de", "shop.xn--mnchen-3ya.de"),
            // Vietnamese.
            ("việclàm.vn", "xn--viclm-uqa6964c.vn"),
            ("tuyển-dụng.com.vn", "xn--tuyn-dng-g60d5m.com.vn"),
            ("công-ty.vn", "xn--cng-ty-ixa.vn"),
            // Thai, including the Thai top-level domain and its subdomain.
            ("ตัวอย่าง.ไทย", "xn--72c1a1bt4awk9o.xn--o3cw4h"),
            ("ตัวอย่าง.ธุรกิจ.ไทย", "xn--72c1a1bt4awk9o.xn--12co0c3b4eva.xn--o3cw4h"),
            // Already punycode stays.
            ("xn--bcher-kva.de", "xn--bcher-kva.de"),
            // Ideographic full stop maps to a dot.
            ("example\u{3002}com", "example.com"),
            ("my_site.example.com", "my_site.example.com"),
            ("r3---sn-abc.googlevideo.com", "r3---sn-abc.googlevideo.com"),
            ("foo.blogspot.com", "foo.blogspot.com"),
            ("x.co", "x.co"),
            ("www.dict.gov.ph", "www.dict.gov.ph"),
        ];
        for (raw, want) in cases {
            assert_eq!(run(raw).as_deref(), Ok(want), "{raw}");
            assert_eq!(run(want).as_deref(), Ok(want), "fixed point {want}");
        }
    }

    #[test]
    fn bad_domains() {
        let long_label = format!("{}.com", "a".repeat(64));
        let long_name = format!("{}com", "abcdefghi.".repeat(26));
        let cases: Vec<(&str, NormalizeError)> = vec![
            ("", NormalizeError::Empty { kind: K }),
            ("http://example.com/", NormalizeError::NotAHostName),
            ("example.com/path", NormalizeError::NotAHostName),
            ("example.com:8080", NormalizeError::NotAHostName),
            ("user@example.com", NormalizeError::NotAHostName),
            ("exa mple.com", NormalizeError::ContainsWhitespace { kind: K }),
            ("1.2.3.4", NormalizeError::IpNotDomain { kind: K }),
            ("[2001:db8::1]", NormalizeError::IpNotDomain { kind: K }),
            ("::1", NormalizeError::IpNotDomain { kind: K }),
            ("\u{ff11}.\u{ff12}.\u{ff13}.\u{ff14}", NormalizeError::IpNotDomain { kind: K }),
            ("example..com", NormalizeError::EmptyLabel { kind: K }),
            (".example.com", NormalizeError::EmptyLabel { kind: K }),
            ("example.com..", NormalizeError::EmptyLabel { kind: K }),
            (&long_label, NormalizeError::LabelTooLong { kind: K }),
            (&long_name, NormalizeError::NameTooLong { kind: K }),
            ("-scam.com", NormalizeError::HyphenAtLabelEdge { kind: K, label: "-scam".into() }),
            ("scam-.co.id", NormalizeError::HyphenAtLabelEdge { kind: K, label: "scam-".into() }),
            ("exa!mple.com", NormalizeError::InvalidCharacter { kind: K, ch: '!' }),
            ("exa*mple.com", NormalizeError::InvalidCharacter { kind: K, ch: '*' }),
            // Full-width solidus maps to '/'.
            ("example.com\u{ff0f}x", NormalizeError::InvalidCharacter { kind: K, ch: '/' }),
            // Invalid punycode.
            ("xn--a.com", NormalizeError::Idna { kind: K }),
            ("example.notatld", NormalizeError::UnknownSuffix { kind: K, suffix: "notatld".into() }),
            ("localhost", NormalizeError::UnknownSuffix { kind: K, suffix: "localhost".into() }),
            ("co.id", NormalizeError::PublicSuffixOnly { kind: K, name: "co.id".into() }),
            ("COM.", NormalizeError::PublicSuffixOnly { kind: K, name: "com".into() }),
            ("blogspot.com", NormalizeError::PublicSuffixOnly { kind: K, name: "blogspot.com".into() }),
            ("ไทย", NormalizeError::PublicSuffixOnly { kind: K, name: "xn--o3cw4h".into() }),
        ];
        for (raw, want) in cases {
            assert_eq!(run(raw), Err(want), "{raw}");
        }
    }
}
