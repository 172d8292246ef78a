//! Bank accounts and e-wallet accounts.
//!
//! Bank account, canonical `BCA:1234567890`: input is `<bank code><sep>
//! <account>` where the separator is `:`, `/` or whitespace (the first one
//! splits; more separators after it are skipped). The bank code is 2-11 ASCII
//! letters or digits, upper-cased (`BCA`, `014`, `VCB`, `MAYBANK`). The
//! account loses spaces, `-` and `.`, and must then be 5-34 digits; leading
//! zeros are kept. A value with no bank code is refused (`MissingBankCode`):
//! account numbers repeat across banks.
//!
//! E-wallet account, canonical `gopay:+6281234567890`: input is
//! `<provider>:<account>`. The provider is lower-cased and must match
//! `[a-z0-9][a-z0-9_-]{0,31}`; any well-formed name is accepted (gopay, ovo,
//! dana, momo, zalopay, gcash, maya, grabpay, truemoney, shopeepay, ...).
//! The account:
//! - if it looks like a phone number (digits, separators, optional leading
//!   `+`) and normalizes as one (national forms need the context region),
//!   its E.164 form;
//! - if it starts with `+` but is not a valid phone number: refused;
//! - if it is otherwise digits and separators (a national number on a node
//!   without a region, or a numeric id): the digits alone. Nodes with a
//!   region therefore turn `ovo:0812-3456-7890` into `ovo:+6281234567890`,
//!   nodes without one into `ovo:081234567890`; analysts should write
//!   international forms when sharing;
//! - else a lower-cased id of `a-z 0-9 . _ -`, 1-100 characters.

use super::{NormalizeContext, NormalizeError, phone};
use crate::model::Kind;

/// Normalize a value of kind bank_account (trimmed, non-empty).
pub(super) fn normalize_bank(value: &str) -> Result<String, NormalizeError> {
    let kind = Kind::BankAccount;
    let is_sep = |c: char| c == ':' || c == '/' || c.is_whitespace();
    let Some((code, rest)) = value.split_once(is_sep) else {
        return Err(NormalizeError::MissingBankCode);
    };
    if code.is_empty() {
        return Err(NormalizeError::MissingBankCode);
    }
    if !(2..=11).contains(&code.len()) || !code.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(NormalizeError::InvalidBankCode { code: code.to_string() });
    }
    let mut digits = String::with_capacity(rest.len());
    for c in rest.trim_start_matches(is_sep).chars() {
        match c {
            '0'..='9' => digits.push(c),
            ' ' | '-' | '.' => {}
            _ => return Err(NormalizeError::InvalidCharacter { kind, ch: c }),
        }
    }
    if !(5..=34).contains(&digits.len()) {
        return Err(NormalizeError::AccountNumberLength { len: digits.len() });
    }
    Ok(format!("{}:{digits}", code.to_ascii_uppercase()))
}

/// Normalize a value of kind ewallet_account (trimmed, non-empty).
pub(super) fn normalize_ewallet(value: &str, ctx: &NormalizeContext) -> Result<String, NormalizeError> {
    let kind = Kind::EwalletAccount;
    let Some((provider, account)) = value.split_once(':') else {
        return Err(NormalizeError::MissingProvider);
    };
    let provider = provider.trim();
    if provider.is_empty() {
        return Err(NormalizeError::MissingProvider);
    }
    let provider = provider.to_ascii_lowercase();
    if !is_name(&provider) {
        return Err(NormalizeError::InvalidProvider { provider });
    }
    let account = account.trim();
    if account.is_empty() {
        return Err(NormalizeError::Empty { kind });
    }
    if looks_like_phone(account) {
        return match phone::to_e164(account, ctx.region.as_deref()) {
            Ok(e164) => Ok(format!("{provider}:{e164}")),
            Err(_) if account.starts_with('+') => {
                Err(NormalizeError::InvalidAccountId { reason: "starts with '+' but is not a valid phone number" })
            }
            Err(_) => {
                let digits: String = account.chars().filter(char::is_ascii_digit).collect();
                Ok(format!("{provider}:{digits}"))
            }
        };
    }
    let id = account.to_ascii_lowercase();
    if let Some(ch) =
        super::find_char(&id, |c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')))
    {
        return Err(NormalizeError::InvalidCharacter { kind, ch });
    }
    if id.len() > 100 {
        return Err(NormalizeError::InvalidAccountId { reason: "account id longer than 100 characters" });
    }
    Ok(format!("{provider}:{id}"))
}

/// Whether `name` matches `[a-z0-9][a-z0-9_-]{0,31}` (provider and platform
/// names).
pub(super) fn is_name(name: &str) -> bool {
    let mut chars = name.chars();
    name.len() <= 32
        && chars.next().is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

/// Digits and phone separators with an optional leading `+`, at least one
/// digit.
fn looks_like_phone(s: &str) -> bool {
    let body = s.strip_prefix('+').unwrap_or(s);
    body.chars().any(|c| c.is_ascii_digit())
        && body.chars().all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '.' | '(' | ')' | '/'))
}

#[cfg(test)]
mod tests {
    use super::super::{NormalizeContext, NormalizeError, normalize};
    use crate::model::Kind;

    fn run(kind: Kind, raw: &str, region: Option<&str>) -> Result<String, NormalizeError> {
        let ctx = NormalizeContext { region: region.map(str::to_string) };
        normalize(kind, raw, &ctx)
    }

    #[test]
    fn good_bank_accounts() {
        let max = format!("BCA:{}", "1".repeat(34));
        let cases = [
            ("BCA:1234567890", "BCA:1234567890"),
            ("bca 123-456-7890", "BCA:1234567890"),
            ("BCA / 123.456.7890", "BCA:1234567890"),
            ("BCA::1234567890", "BCA:1234567890"),
            ("014:1234567890", "014:1234567890"),
            ("VCB 0071000123456", "VCB:0071000123456"),
            ("Maybank:5140 1234 5678", "MAYBANK:514012345678"),
            ("BDO/001234567890", "BDO:001234567890"),
            ("KBANK 123-4-56789-0", "KBANK:1234567890"),
            ("DBS:012-345678-9", "DBS:0123456789"),
            ("BPI\t1234567890", "BPI:1234567890"),
            ("BRI:0123-01-012345-50-1", "BRI:012301012345501"),
            ("a1:12345", "A1:12345"),
            ("ABCDEFGHIJK:12345", "ABCDEFGHIJK:12345"),
            (max.as_str(), max.as_str()),
        ];
        for (raw, want) in cases {
            assert_eq!(run(Kind::BankAccount, raw, None).as_deref(), Ok(want), "{raw}");
            assert_eq!(run(Kind::BankAccount, want, None).as_deref(), Ok(want), "fixed point {want}");
        }
    }

    #[test]
    fn bad_bank_accounts() {
        let k = Kind::BankAccount;
        let too_long = format!("BCA:{}", "1".repeat(35));
        let cases: Vec<(&str, NormalizeError)> = vec![
            ("", NormalizeError::Empty { kind: k }),
            ("1234567890", NormalizeError::MissingBankCode),
            (":1234567890", NormalizeError::MissingBankCode),
            ("/1234567890", NormalizeError::MissingBankCode),
            ("BCA1234567890", NormalizeError::MissingBankCode),
            ("B:1234567", NormalizeError::InvalidBankCode { code: "B".into() }),
            ("ABCDEFGHIJKL:12345", NormalizeError::InvalidBankCode { code: "ABCDEFGHIJKL".into() }),
            ("BC-A:12345", NormalizeError::InvalidBankCode { code: "BC-A".into() }),
            ("BÇA:12345", NormalizeError::InvalidBankCode { code: "BÇA".into() }),
            ("BCA:1234", NormalizeError::AccountNumberLength { len: 4 }),
            ("BCA:", NormalizeError::AccountNumberLength { len: 0 }),
            (&too_long, NormalizeError::AccountNumberLength { len: 35 }),
            ("BCA:12345x", NormalizeError::InvalidCharacter { kind: k, ch: 'x' }),
            ("BCA:+6281234567", NormalizeError::InvalidCharacter { kind: k, ch: '+' }),
            ("BCA:123/4567", NormalizeError::InvalidCharacter { kind: k, ch: '/' }),
            ("BCA:１２３４５", NormalizeError::InvalidCharacter { kind: k, ch: '１' }),
        ];
        for (raw, want) in cases {
            assert_eq!(run(k, raw, None), Err(want), "{raw}");
        }
    }

    #[test]
    fn good_ewallet_accounts() {
        let cases = [
            ("gopay:+6281234567890", None, "gopay:+6281234567890"),
            ("GoPay:0812-3456-7890", Some("ID"), "gopay:+6281234567890"),
            ("ovo: +62 812 3456 7890", None, "ovo:+6281234567890"),
            ("dana:081234567890", Some("ID"), "dana:+6281234567890"),
            ("momo:0912345678", Some("VN"), "momo:+84912345678"),
            ("ZaloPay:+84 91 234 5678", None, "zalopay:+84912345678"),
            ("gcash:0917 123 4567", Some("PH"), "gcash:+639171234567"),
            ("maya:+639171234567", Some("ID"), "maya:+639171234567"),
            ("grabpay:+65 9123 4567", None, "grabpay:+6591234567"),
            ("truemoney:081-234-5678", Some("TH"), "truemoney:+66812345678"),
            ("tng-ewallet:012-345 6789", Some("MY"), "tng-ewallet:+60123456789"),
            // National form without a region: digits only.
            ("shopeepay:0812-3456-7890", None, "shopeepay:081234567890"),
            // Numeric id that is not a phone number.
            ("linkaja:1234567", Some("ID"), "linkaja:1234567"),
            ("paypal:Some.User_01", None, "paypal:some.user_01"),
            ("wise:user-123", None, "wise:user-123"),
        ];
        for (raw, region, want) in cases {
            assert_eq!(run(Kind::EwalletAccount, raw, region).as_deref(), Ok(want), "{raw} {region:?}");
            assert_eq!(run(Kind::EwalletAccount, want, region).as_deref(), Ok(want), "fixed point {want}");
        }
    }

    #[test]
    fn bad_ewallet_accounts() {
        let k = Kind::EwalletAccount;
        let long_id = format!("gopay:{}", "a".repeat(101));
        let long_provider = format!("{}:123", "p".repeat(33));
        let cases: Vec<(&str, NormalizeError)> = vec![
            ("", NormalizeError::Empty { kind: k }),
            ("081234567890", NormalizeError::MissingProvider),
            (":081234567890", NormalizeError::MissingProvider),
            ("go pay:0812", NormalizeError::InvalidProvider { provider: "go pay".into() }),
            ("_gopay:123", NormalizeError::InvalidProvider { provider: "_gopay".into() }),
            (&long_provider, NormalizeError::InvalidProvider { provider: "p".repeat(33) }),
            ("gopay:", NormalizeError::Empty { kind: k }),
            ("gopay:   ", NormalizeError::Empty { kind: k }),
            (
                "gopay:+62 123",
                NormalizeError::InvalidAccountId { reason: "starts with '+' but is not a valid phone number" },
            ),
            ("gopay:user name", NormalizeError::InvalidCharacter { kind: k, ch: ' ' }),
            ("gopay:user@mail.com", NormalizeError::InvalidCharacter { kind: k, ch: '@' }),
            ("gopay:+", NormalizeError::InvalidCharacter { kind: k, ch: '+' }),
            ("gopay:ü", NormalizeError::InvalidCharacter { kind: k, ch: 'ü' }),
            ("gopay:abc:def", NormalizeError::InvalidCharacter { kind: k, ch: ':' }),
            (&long_id, NormalizeError::InvalidAccountId { reason: "account id longer than 100 characters" }),
        ];
        for (raw, want) in cases {
            assert_eq!(run(k, raw, Some("ID")), Err(want), "{raw}");
        }
    }
}
