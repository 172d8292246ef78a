//! Bank and e-wallet accounts: what the words around a run of digits say
//! it is.
//!
//! For each run of digits ([`super::phone::runs`]) the phrases before it
//! are read nearest first, back to 80 bytes and two line breaks, and not
//! past another number ([`intent`]); the first that says something
//! decides:
//! - an identity-number, postal-code or reference label on the same line
//!   within 30 bytes (`NIK`, `CCCD`, `kode pos`, `Ref`), or a currency
//!   right before (`Rp 2.500.000`): not an indicator;
//! - a bank's name (`BCA 123-456-7890`, `STK Vietcombank 0071000654321`,
//!   `บัญชีกสิกร 123-4-56789-0`; weak names only right before the digits):
//!   a bank account with that bank's code;
//! - an account word (`no. rek`, `STK`, `บัญชี`, `account no`) within
//!   40 bytes: a bank account if a bank is named within 120 bytes either
//!   side; else, if the word labels the digits directly (`No. Rek:
//!   1234567890`), nothing (an account number without its bank is not a
//!   value the node can store); "bank" alone counts only right before the
//!   digits;
//! - an e-wallet (`DANA/OVO 0812...`, `MoMo: 0912...`, `GCash 0917...`):
//!   an e-wallet account of each provider named in the list, within 40
//!   bytes;
//! - a phone word or platform (`WA`, `SĐT`, `โทร`, `Telegram`, `Zalo`):
//!   a phone number, also in bare forms.
//!
//! A holder's label (`a/n`, `atas nama`, `CTK`, `ชื่อบัญชี`) is followed by a
//! name, so it is passed over before the digits. Then a phrase right after
//! them (within three blanks, `(`, `-`, `/` or `:`): `1234567890 (BCA)`,
//! `1234567890 a/n Budi` (with a bank named near), `0812... (WA)`,
//! `1.500.000đ`, `50kg`. A bank's name before digits that are not one of
//! its account numbers (a call-centre number, a phone number) leaves them
//! to the phone rules. A run joined to the previous one
//! by a list separator (`/`, `,`, `atau`) and with nothing of its own
//! inherits the previous run's reading.

use super::lexicon::{Cue, Hit};
use super::phone::Run;
use crate::model::Kind;
use crate::normalize::{NormalizeContext, normalize};

/// What a run of digits is, from the words around it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Intent {
    /// Not an indicator (identity number, amount, measure, ...).
    Skip,
    /// A phone number (a phone word or platform governs it).
    Phone,
    /// A bank account at this bank; `direct`: the name is right before it.
    Bank { code: &'static str, direct: bool },
    /// E-wallet accounts with these providers; `phone`: a phone word is
    /// in the same list (`WA/DANA 0812...`, `GCash/Contact #: 0917...`),
    /// so the number is also a phone number.
    Ewallet { providers: Vec<&'static str>, phone: bool },
    /// Nothing said: phone rules without a cue.
    Unknown,
}

/// How far back phrases count, in bytes.
const BACK: usize = 80;
/// How far an account word looks for the bank's name, either side.
const BANK_SEARCH: usize = 120;
/// How far forward phrases count, on the same line.
const FORWARD: usize = 4;

/// Whether `gap` holds only blanks and light punctuation (`BCA: `,
/// `DANA - `, `STK. `).
fn is_close(gap: &str) -> bool {
    gap.chars().count() <= 4 && gap.chars().all(|c| c.is_whitespace() || ":：.-=#>(".contains(c))
}

/// The hits ending at or before `at`, nearest first.
fn before(hits: &[Hit], at: usize) -> impl Iterator<Item = &Hit> {
    let idx = hits.partition_point(|h| h.start < at);
    hits[..idx].iter().rev().filter(move |h| h.end <= at)
}

/// The hits starting at or after `at`, nearest first.
fn after(hits: &[Hit], at: usize) -> impl Iterator<Item = &Hit> {
    let idx = hits.partition_point(|h| h.start < at);
    hits[idx..].iter()
}

/// What the words around `run` say it is.
pub(super) fn intent(text: &str, hits: &[Hit], run: &Run, previous: Option<&Intent>) -> Intent {
    let at = run.start;
    for (n, h) in before(hits, at).enumerate() {
        if n > 12 || h.end + BACK < at {
            break;
        }
        let gap = text.get(h.end..at).unwrap_or_default();
        let lines = gap.matches('\n').count();
        // Another number in between: the phrase was about that one.
        if lines > 2 || gap.bytes().any(|b| b.is_ascii_digit()) {
            break;
        }
        let close = is_close(gap);
        let distance = at - h.end;
        match h.cue {
            Cue::NotPhone if lines == 0 && distance <= 30 => return Intent::Skip,
            Cue::Currency if close => return Intent::Skip,
            Cue::Bank { code, weak } if !weak || close => return Intent::Bank { code, direct: close || lines == 0 },
            Cue::Ewallet { weak, .. } if (!weak || close) && distance <= 40 => return wallet_list(text, hits, h),
            Cue::AccountWord if distance <= 40 => match bank_near(text, hits, at, run.end) {
                Some(code) => return Intent::Bank { code, direct: false },
                // "No. Rek: 1234567890" with no bank named: an account
                // number, but not one the node can store.
                None if close => return Intent::Skip,
                None => {}
            },
            Cue::BankWord if close => {
                if let Some(code) = bank_near(text, hits, at, run.end) {
                    return Intent::Bank { code, direct: false };
                }
            }
            Cue::PhoneWord | Cue::Platform(_) if lines == 0 || distance <= 40 => {
                return match wallet_list(text, hits, h) {
                    Intent::Ewallet { providers, .. } if !providers.is_empty() => {
                        Intent::Ewallet { providers, phone: true }
                    }
                    _ => Intent::Phone,
                };
            }
            _ => {}
        }
    }
    for h in after(hits, run.end) {
        if h.start > run.end + FORWARD {
            break;
        }
        let gap = text.get(run.end..h.start).unwrap_or_default();
        if gap.contains('\n') || gap.bytes().any(|b| b.is_ascii_digit()) {
            break;
        }
        // Right after the digits, not in the next sentence: `1234567890
        // (BCA)`, `0812... / WA`, `1.500.000đ`.
        let close = gap.chars().count() <= 3 && gap.chars().all(|c| c.is_whitespace() || "(-/:".contains(c));
        if !close {
            break;
        }
        match h.cue {
            Cue::Currency | Cue::Unit if gap.chars().count() <= 2 => return Intent::Skip,
            Cue::Bank { code, .. } => return Intent::Bank { code, direct: true },
            Cue::Ewallet { .. } => return wallet_list(text, hits, h),
            Cue::PhoneWord | Cue::Platform(_) => return Intent::Phone,
            Cue::AccountWord | Cue::HolderWord => {
                if let Some(code) = bank_near(text, hits, at, run.end) {
                    return Intent::Bank { code, direct: false };
                }
            }
            _ => {}
        }
    }
    match previous {
        Some(p @ (Intent::Phone | Intent::Bank { .. } | Intent::Ewallet { .. })) if run.listed_after_previous => {
            p.clone()
        }
        _ => Intent::Unknown,
    }
}

/// The bank named nearest to `start..end`, within [`BANK_SEARCH`] bytes.
fn bank_near(text: &str, hits: &[Hit], start: usize, end: usize) -> Option<&'static str> {
    let mut best: Option<(usize, &'static str)> = None;
    let lo = hits.partition_point(|h| h.end + BANK_SEARCH < start);
    for h in hits.iter().skip(lo).take_while(|h| h.start <= end + BANK_SEARCH) {
        let Cue::Bank { code, weak } = h.cue else { continue };
        let distance = if h.end <= start { start - h.end } else { h.start.saturating_sub(end) };
        if weak {
            // A weak name counts only right next to the digits.
            let gap = if h.end <= start { text.get(h.end..start) } else { text.get(end..h.start) };
            if !gap.is_some_and(is_close) {
                continue;
            }
        }
        if best.is_none_or(|(d, _)| distance < d) {
            best = Some((distance, code));
        }
    }
    best.map(|(_, code)| code)
}

/// The e-wallets of the list that `last` ends (`DANA/OVO/GoPay`,
/// `WA/DANA`, `GCash/Contact #`), in the order written, and whether a
/// phone word or platform is in it.
fn wallet_list(text: &str, hits: &[Hit], last: &Hit) -> Intent {
    let mut providers = Vec::new();
    let mut phone = false;
    let mut take = |cue: Cue, providers: &mut Vec<&'static str>| match cue {
        Cue::Ewallet { provider, .. } => {
            if !providers.contains(&provider) {
                providers.insert(0, provider);
            }
            true
        }
        Cue::PhoneWord | Cue::Platform(_) => {
            phone = true;
            true
        }
        _ => false,
    };
    take(last.cue, &mut providers);
    let mut edge = last.start;
    for h in before(hits, last.start) {
        let gap = text.get(h.end..edge).unwrap_or("x");
        let joined = gap.trim_matches(|c: char| c.is_whitespace() || "/,&|+".contains(c));
        let joined = joined.is_empty() || ["atau", "dan", "or", "and", "hoặc", "và", "หรือ", "o"].contains(&joined);
        if !joined || !take(h.cue, &mut providers) {
            break;
        }
        edge = h.start;
    }
    Intent::Ewallet { providers, phone }
}

/// The bank account `code:<digits of run>`, if the digits fit the bank's
/// account numbers ([`super::lexicon::account_digits`]).
pub(super) fn bank_account(code: &str, digits: &str, ctx: &NormalizeContext) -> Option<String> {
    let (min, max) = super::lexicon::account_digits(code);
    if !(min..=max).contains(&digits.len()) {
        return None;
    }
    normalize(Kind::BankAccount, &format!("{code}:{digits}"), ctx).ok()
}

/// The e-wallet account `provider:<number>`, the number in E.164 (a
/// national number is read in the context's region; an account the node
/// would keep as bare digits is left out, since a node with another region
/// would read those digits differently). `provider` is a canonical
/// provider name of the lexicon, so the value is `provider:` and the
/// canonical phone number, as the node's normalization writes it.
pub(super) fn ewallet_account(provider: &str, number: &str, ctx: &NormalizeContext) -> Option<String> {
    let digits = number.trim_start_matches('+');
    if !(7..=17).contains(&digits.len()) {
        return None;
    }
    let e164 = match (number.starts_with('+'), ctx.region.as_deref()) {
        (true, _) => super::phone::international(digits, ctx)?,
        (false, Some(region)) => match super::phone::international_of_national(number, region) {
            Some(plus) => super::phone::international(plus.trim_start_matches('+'), ctx)?,
            None => normalize(Kind::Phone, number, ctx).ok()?,
        },
        (false, None) => return None,
    };
    Some(format!("{provider}:{e164}"))
}
