//! E-mail addresses.
//!
//! Canonical form `local@domain`, all lower case. An optional `mailto:`
//! prefix is removed, then the input splits at the last `@`. The local part
//! must be non-empty, at most 64 bytes, printable ASCII without spaces, and
//! is lower-cased: RFC 5321 lets a server treat `Budi@` and `budi@` as two
//! mailboxes, but the mail providers scams use (Gmail, Outlook, Yahoo and
//! the region's ISPs) deliver both to one, so one scammer's address must
//! have one canonical form. The domain part follows the domain rules,
//! reported as kind email: lower case, IDNA to ASCII, no trailing dot, a
//! known public suffix and not a bare one; address literals
//! (`user@[192.0.2.1]`) are refused.
//!
//! Before this rule the local part kept its case, so values stored then
//! (and sent by peers that still run that rule) may hold upper case:
//! [`legacy`] gives that older form, which lookups try too.

use super::{NormalizeError, domain};
use crate::model::Kind;

/// Normalize a value of kind email (trimmed, non-empty).
pub(super) fn normalize(value: &str) -> Result<String, NormalizeError> {
    let kind = Kind::Email;
    let value = match value.get(..7) {
        Some(prefix) if prefix.eq_ignore_ascii_case("mailto:") => value.get(7..).unwrap_or_default(),
        _ => value,
    };
    let Some((local, domain_part)) = value.rsplit_once('@') else {
        return Err(NormalizeError::MissingAt);
    };
    if local.is_empty() {
        return Err(NormalizeError::EmptyLocalPart);
    }
    if local.len() > 64 {
        return Err(NormalizeError::LocalPartTooLong);
    }
    if local.chars().any(char::is_whitespace) {
        return Err(NormalizeError::ContainsWhitespace { kind });
    }
    if let Some(ch) = super::find_char(local, |c| !c.is_ascii_graphic()) {
        return Err(NormalizeError::InvalidCharacter { kind, ch });
    }
    if domain_part.is_empty() {
        return Err(NormalizeError::EmptyDomainPart);
    }
    let domain = domain::normalize_name(domain_part, kind)?;
    Ok(format!("{}@{domain}", local.to_ascii_lowercase()))
}

/// The canonical form of the rule before local parts were lower-cased
/// (`Budi@contoh.co.id` stayed so), when it differs from today's; what an
/// older node stored or hashed for `value`.
pub(super) fn legacy(value: &str) -> Option<String> {
    let canonical = normalize(value).ok()?;
    let value = match value.get(..7) {
        Some(prefix) if prefix.eq_ignore_ascii_case("mailto:") => value.get(7..).unwrap_or_default(),
        _ => value,
    };
    let (local, _) = value.rsplit_once('@')?;
    let (_, domain) = canonical.rsplit_once('@')?;
    let old = format!("{local}@{domain}");
    (old != canonical).then_some(old)
}

#[cfg(test)]
mod tests {
    use super::super::{NormalizeContext, NormalizeError, normalize};
    use crate::model::Kind;

    fn run(raw: &str) -> Result<String, NormalizeError> {
        normalize(Kind::Email, raw, &NormalizeContext::default())
    }

    const K: Kind = Kind::Email;

    #[test]
    fn good_emails() {
        let local64 = format!("{}@example.com", "a".repeat(64));
        let cases = [
            ("Local.Part@example.co.id", "local.part@example.co.id"),
            ("Rekrut.Kerja@Gmail.COM", "rekrut.kerja@gmail.com"),
            (" hr@loker-kerja.co.id. ", "hr@loker-kerja.co.id"),
            ("kerja@bücher.de", "kerja@xn--bcher-kva.de"),
            ("Kerja@BÜCHER.de", "kerja@xn--bcher-kva.de"),
            ("Budi@Contoh.CO.ID", "budi@contoh.co.id"),
            ("tuyendung@việclàm.vn", "tuyendung@xn--viclm-uqa6964c.vn"),
            ("hr@ตัวอย่าง.ไทย", "hr@xn--72c1a1bt4awk9o.xn--o3cw4h"),
            ("user+tag@example.com", "user+tag@example.com"),
            ("\"quoted\"@example.com", "\"quoted\"@example.com"),
            ("a@b@example.com", "a@b@example.com"),
            ("mailto:HR@Example.com", "hr@example.com"),
            ("MAILTO:hr@example.com", "hr@example.com"),
            ("x@mail.example.co.th", "x@mail.example.co.th"),
            ("o'brien@example.ph", "o'brien@example.ph"),
            ("A@EXAMPLE.COM.MY", "a@example.com.my"),
            ("first_last-1@sub.example.sg", "first_last-1@sub.example.sg"),
            (local64.as_str(), local64.as_str()),
        ];
        for (raw, want) in cases {
            assert_eq!(run(raw).as_deref(), Ok(want), "{raw}");
            assert_eq!(run(want).as_deref(), Ok(want), "fixed point {want}");
        }
    }

    #[test]
    fn the_legacy_form_keeps_the_local_part_as_written() {
        assert_eq!(super::legacy("Budi@Contoh.CO.ID").as_deref(), Some("Budi@contoh.co.id"));
        assert_eq!(super::legacy("mailto:HR@Example.com").as_deref(), Some("HR@example.com"));
        assert_eq!(super::legacy("budi@Contoh.CO.ID"), None, "same as today's form");
        assert_eq!(super::legacy("not an address"), None);
        assert_eq!(run("Budi@contoh.co.id"), run("budi@contoh.co.id"));
    }

    #[test]
    fn bad_emails() {
        let local65 = format!("{}@example.com", "a".repeat(65));
        let cases: Vec<(&str, NormalizeError)> = vec![
            ("", NormalizeError::Empty { kind: K }),
            ("nobody", NormalizeError::MissingAt),
            ("@example.com", NormalizeError::EmptyLocalPart),
            (&local65, NormalizeError::LocalPartTooLong),
            ("a b@example.com", NormalizeError::ContainsWhitespace { kind: K }),
            ("ü@example.com", NormalizeError::InvalidCharacter { kind: K, ch: 'ü' }),
            ("user@", NormalizeError::EmptyDomainPart),
            ("user@localhost", NormalizeError::UnknownSuffix { kind: K, suffix: "localhost".into() }),
            ("user@a.notatld", NormalizeError::UnknownSuffix { kind: K, suffix: "notatld".into() }),
            ("user@co.id", NormalizeError::PublicSuffixOnly { kind: K, name: "co.id".into() }),
            ("user@[192.0.2.1]", NormalizeError::IpNotDomain { kind: K }),
            ("user@192.0.2.1", NormalizeError::IpNotDomain { kind: K }),
            ("user@exa mple.com", NormalizeError::ContainsWhitespace { kind: K }),
            ("user@example..com", NormalizeError::EmptyLabel { kind: K }),
            ("user@example.com/x", NormalizeError::InvalidCharacter { kind: K, ch: '/' }),
            ("user@-x.com", NormalizeError::HyphenAtLabelEdge { kind: K, label: "-x".into() }),
        ];
        for (raw, want) in cases {
            assert_eq!(run(raw), Err(want), "{raw}");
        }
    }
}
