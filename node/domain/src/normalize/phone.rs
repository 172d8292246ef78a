//! Phone numbers.
//!
//! Canonical form: E.164, `+` then country code then national significant
//! number, no separators (`+6281234567890`), from libphonenumber's rules
//! (`phonenumber` crate); the number must be valid for its country, not
//! only of a possible length.
//!
//! Accepted input: an optional `tel:` prefix, then an optional leading `+`,
//! then digits with separators (space, `-`, `.`, `(`, `)`, `/`, no-break
//! space). Letters are refused (vanity numbers such as `1-800-FLOWERS` and
//! written extensions), as is any other character. Forms with a `+` are
//! read alone; forms without (national `0812-3456-7890`, or with an
//! international dialling prefix such as `00`) are read in the context's
//! region and refused when there is none.
//!
//! The input is reduced to `+` and digits before libphonenumber sees it, so
//! its lenient extraction (skipping leading junk, reading extensions) never
//! applies. A trunk prefix written after the country code is dropped
//! (`+62 0812-3456-7890` is `+6281234567890`). The result is checked to read
//! back as itself, so canonical forms are fixed points.
//!
//! Known limitation of the `phonenumber` crate: it strips the trunk prefix
//! even when that digit begins the national number itself, so numbers like
//! Russia's `+7 8412 ...` (area codes starting with the trunk digit 8) are
//! refused as not valid. No South-East Asian plan is affected: their trunk
//! prefix is 0 (ID, VN, MY, TH, PH) or absent (SG), and no national number
//! there starts with 0.

use phonenumber::ParseError;
use phonenumber::country::Id;

use super::{NormalizeContext, NormalizeError};
use crate::model::Kind;

/// Most digits in an E.164 number (15) plus room for an international
/// dialling prefix; anything longer is refused before parsing.
const MAX_DIGITS: usize = 20;

/// Normalize a value of kind phone (trimmed, non-empty).
pub(super) fn normalize(value: &str, ctx: &NormalizeContext) -> Result<String, NormalizeError> {
    to_e164(value, ctx.region.as_deref())
}

/// Compiled patterns the `phonenumber` crate keeps. It compiles its
/// metadata's regular expressions on use into an LRU cache of 100, fewer
/// than the plans of a few countries need together: numbers from half a
/// dozen countries in a row (a crawler's adverts, a lookup batch) kept
/// evicting and recompiling them, which made a parse ~10 times slower.
const PATTERN_CACHE: usize = 8192;

fn enlarge_pattern_cache() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if let Ok(mut cache) = phonenumber::metadata::DATABASE.cache().lock() {
            cache.set_capacity(PATTERN_CACHE);
        }
    });
}

/// E.164 form of `value`, national forms read in `region`.
pub(super) fn to_e164(value: &str, region: Option<&str>) -> Result<String, NormalizeError> {
    enlarge_pattern_cache();
    let kind = Kind::Phone;
    let value = match value.get(..4) {
        Some(prefix) if prefix.eq_ignore_ascii_case("tel:") => value.get(4..).unwrap_or_default(),
        _ => value,
    }
    .trim();
    if value.chars().any(char::is_alphabetic) {
        return Err(NormalizeError::ContainsLetters { kind });
    }
    let (international, body) = match value.strip_prefix('+') {
        Some(rest) => (true, rest),
        None => (false, value),
    };
    let mut digits = String::with_capacity(body.len() + 1);
    if international {
        digits.push('+');
    }
    for c in body.chars() {
        match c {
            '0'..='9' => digits.push(c),
            ' ' | '-' | '.' | '(' | ')' | '/' | '\u{a0}' => {}
            _ => return Err(NormalizeError::InvalidCharacter { kind, ch: c }),
        }
    }
    let count = digits.trim_start_matches('+').len();
    if count == 0 {
        return Err(NormalizeError::PhoneSyntax { reason: "no digits" });
    }
    if count > MAX_DIGITS {
        return Err(NormalizeError::PhoneSyntax { reason: "too many digits" });
    }
    let e164 = if international {
        international_e164(&digits)?
    } else {
        let configured = region.ok_or(NormalizeError::RegionRequired)?;
        let id = configured
            .trim()
            .to_ascii_uppercase()
            .parse::<Id>()
            .map_err(|_| NormalizeError::UnknownRegion { region: configured.to_string() })?;
        let number = phonenumber::parse(Some(id), &digits).map_err(syntax)?;
        if !phonenumber::is_valid(&number) {
            return Err(NormalizeError::PhoneNotValid);
        }
        e164_of(&number)
    };
    // The canonical form must read back as itself; refuse the rare number
    // for which the library's reading of its own output differs.
    if e164 != digits && international_e164(&e164).as_ref() != Ok(&e164) {
        return Err(NormalizeError::PhoneNotValid);
    }
    Ok(e164)
}

/// E.164 form of `+<digits>`.
fn international_e164(plus_digits: &str) -> Result<String, NormalizeError> {
    let number = phonenumber::parse(None, plus_digits).map_err(syntax)?;
    if !phonenumber::is_valid(&number) {
        return Err(NormalizeError::PhoneNotValid);
    }
    Ok(e164_of(&number))
}

fn e164_of(number: &phonenumber::PhoneNumber) -> String {
    format!("+{}{}", number.code().value(), number.national())
}

fn syntax(e: ParseError) -> NormalizeError {
    NormalizeError::PhoneSyntax { reason: parse_reason(&e) }
}

fn parse_reason(e: &ParseError) -> &'static str {
    match e {
        ParseError::NoNumber => "not a phone number",
        ParseError::InvalidCountryCode => "unknown country calling code",
        ParseError::TooShortAfterIdd => "too short after the international dialling prefix",
        ParseError::TooShortNsn => "too short",
        ParseError::TooLong => "too long",
        ParseError::MalformedInteger(_) => "malformed number",
    }
}

#[cfg(test)]
mod tests {
    use super::super::{NormalizeContext, NormalizeError, normalize};
    use crate::model::Kind;

    fn run(raw: &str, region: Option<&str>) -> Result<String, NormalizeError> {
        let ctx = NormalizeContext { region: region.map(str::to_string) };
        normalize(Kind::Phone, raw, &ctx)
    }

    const K: Kind = Kind::Phone;

    #[test]
    fn good_phones() {
        let cases = [
            // Indonesia (Telkomsel mobile).
            ("0812-3456-7890", Some("ID"), "+6281234567890"),
            ("(0812) 3456 7890", Some("id"), "+6281234567890"),
            ("+62 812-3456-7890", None, "+6281234567890"),
            ("+6281234567890", Some("VN"), "+6281234567890"),
            ("tel:+62-812-3456-7890", None, "+6281234567890"),
            // Vietnam (Viettel/Vinaphone mobile).
            ("091 234 5678", Some("VN"), "+84912345678"),
            ("+84 91 234 5678", None, "+84912345678"),
            ("00 62 812 3456 7890", Some("VN"), "+6281234567890"),
            ("001 84 91 234 5678", Some("TH"), "+84912345678"),
            // Malaysia.
            ("012-345 6789", Some("MY"), "+60123456789"),
            ("+60 12-345 6789", None, "+60123456789"),
            // Thailand.
            ("081 234 5678", Some("TH"), "+66812345678"),
            ("+66 81 234 5678", None, "+66812345678"),
            // Philippines.
            ("0917 123 4567", Some("PH"), "+639171234567"),
            ("+63 917 123 4567", None, "+639171234567"),
            // Singapore (no national prefix).
            ("9123 4567", Some("SG"), "+6591234567"),
            ("+65 9123.4567", None, "+6591234567"),
            // Trunk prefix written after the country code.
            ("+62 0812-3456-7890", None, "+6281234567890"),
            ("+84 0912 345 678", None, "+84912345678"),
            // Fixed line, Jakarta.
            ("(021) 2345-6789", Some("ID"), "+622123456789"),
            ("+62\u{a0}21\u{a0}2345\u{a0}6789", None, "+622123456789"),
        ];
        for (raw, region, want) in cases {
            assert_eq!(run(raw, region).as_deref(), Ok(want), "{raw} {region:?}");
            assert_eq!(run(want, region).as_deref(), Ok(want), "fixed point {want}");
        }
    }

    #[test]
    fn bad_phones() {
        let cases: Vec<(&str, Option<&str>, NormalizeError)> = vec![
            ("", Some("ID"), NormalizeError::Empty { kind: K }),
            ("0812-CALL-NOW", Some("ID"), NormalizeError::ContainsLetters { kind: K }),
            ("1-800-FLOWERS", Some("US"), NormalizeError::ContainsLetters { kind: K }),
            ("+62 812 3456 7890 ext. 12", None, NormalizeError::ContainsLetters { kind: K }),
            ("0812-3456-7890", None, NormalizeError::RegionRequired),
            ("00 84 91 234 5678", None, NormalizeError::RegionRequired),
            ("0812-3456-7890", Some("XX"), NormalizeError::UnknownRegion { region: "XX".into() }),
            ("+62 812#3456", None, NormalizeError::InvalidCharacter { kind: K, ch: '#' }),
            ("+62+81234567890", None, NormalizeError::InvalidCharacter { kind: K, ch: '+' }),
            ("+62,81234567890", None, NormalizeError::InvalidCharacter { kind: K, ch: ',' }),
            ("---", Some("ID"), NormalizeError::PhoneSyntax { reason: "no digits" }),
            ("+62 8123 4567 8901 2345 6789", None, NormalizeError::PhoneSyntax { reason: "too many digits" }),
            ("+999 1234 5678", None, NormalizeError::PhoneSyntax { reason: "unknown country calling code" }),
            ("+62 000 0000 0000", None, NormalizeError::PhoneSyntax { reason: "malformed number" }),
            ("+62 111 2345 6789", None, NormalizeError::PhoneNotValid),
            ("00 84 91 234 5678", Some("ID"), NormalizeError::PhoneNotValid),
            ("+84 91 234", None, NormalizeError::PhoneNotValid),
            ("0812-345", Some("ID"), NormalizeError::PhoneNotValid),
            ("9123 4567 89", Some("SG"), NormalizeError::PhoneNotValid),
            // Library limitation (see module docs): Penza, Russia.
            ("+7 8412 12-34-56", None, NormalizeError::PhoneNotValid),
        ];
        for (raw, region, want) in cases {
            assert_eq!(run(raw, region), Err(want), "{raw} {region:?}");
        }
    }
}
