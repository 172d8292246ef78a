//! Runs of digits, and phone numbers among them.
//!
//! A *run* is what a number looks like in an advert: digit groups joined by
//! short separators (one to three of space, `-`, `.`, `(`, `)`, no-break
//! space, en dash, at most two of them not spaces), optionally after `+`:
//! `0812-7777-8888`, `+62 812 7777 8888`, `(021) 2345-6789`,
//! `0 8 1 2 - 7 7 7 7 - 8 8 8 8`. `/`, `,` and `;` end a run (they separate
//! numbers in lists) and letters end it too.
//!
//! A run is not a phone number when its shape is a date (`12-05-2024`,
//! `2024.05.12`), a time or time range (`08.00-17.00`) or an amount
//! grouped in thousands (`2.500.000`); the caller also refuses runs next to
//! a currency, a unit, or an identity-number label (see [`super::lexicon`]).
//!
//! Which runs are phone numbers (rules in [`phone_in`]), for region `R`:
//! - `+` and a valid number: always;
//! - `00` (international prefix) or `0` (trunk prefix) and a valid number
//!   in `R`'s plan: always (national forms need a region);
//! - no prefix: only after a phone word or platform (`WA 6281277778888`,
//!   `Zalo 912345678`): as an international number without `+`, else a
//!   national number in `R`, and only a mobile, fixed or VoIP line (bare
//!   `1500-630`, `1800-255-0000` are call-centre numbers of companies and
//!   public bodies); without a phone word only in plans without a
//!   trunk prefix (Singapore: `9123 4567`, written in two groups of four),
//!   or a contiguous number of at least 11 digits starting with `R`'s
//!   country code.
//!
//! A run holding several numbers (`0812 1111 2222 0813 3333 4444`) is split
//! at group boundaries, longest valid number first. Values are the node's
//! own canonical form: `normalize(Kind::Phone, ...)`.

use phonenumber::Type;

use super::plans;
use crate::model::Kind;
use crate::normalize::{NormalizeContext, normalize};

/// Most digit groups read as one run (bounds the splitting work).
const MAX_GROUPS: usize = 24;

/// A group of digits inside a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Group {
    pub start: usize,
    pub end: usize,
    /// The separator before it (`b'\0'` for the first group; `b' '` for
    /// blanks only; else its non-blank character, `b'+'` for several).
    pub sep: u8,
}

/// Digit groups with separators, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Run {
    /// Byte offset of the first character (`+`, `(` or a digit).
    pub start: usize,
    /// Byte offset after the last digit.
    pub end: usize,
    pub plus: bool,
    pub groups: Vec<Group>,
    /// Joined to the previous run by a list separator (`/`, `,`, `atau`).
    pub listed_after_previous: bool,
    /// An ASCII letter touches the end (`500kg`, `15tr`).
    pub letter_after: bool,
}

impl Run {
    /// The digits of groups `from..to`.
    pub(super) fn digits(&self, text: &str, from: usize, to: usize) -> String {
        let mut out = String::new();
        for g in self.groups.get(from..to).unwrap_or_default() {
            out.push_str(text.get(g.start..g.end).unwrap_or_default());
        }
        out
    }

    /// How many digits.
    pub(super) fn digit_count(&self) -> usize {
        self.groups.iter().map(|g| g.end - g.start).sum()
    }

    /// Every digit written alone (`0 8 1 2 ...`).
    pub(super) fn spaced_out(&self) -> bool {
        self.groups.len() >= 6
            && self.groups.iter().filter(|g| g.end - g.start == 1).count() * 4 >= self.groups.len() * 3
    }

    /// Shape of a date, time or thousands-grouped amount.
    pub(super) fn is_date_time_or_amount(&self) -> bool {
        let lens: Vec<usize> = self.groups.iter().map(|g| g.end - g.start).collect();
        let seps: Vec<u8> = self.groups.iter().skip(1).map(|g| g.sep).collect();
        let all_seps = |f: fn(u8) -> bool| seps.iter().all(|&s| f(s));
        let date_sep = |s: u8| matches!(s, b'-' | b'.' | b' ');
        match lens.as_slice() {
            // dd-mm-yyyy, dd.mm.yy, yyyy-mm-dd
            [1..=2, 1..=2, 2 | 4] | [4, 1..=2, 1..=2] if all_seps(date_sep) && seps.iter().any(|&s| s != b' ') => true,
            // 08.00, 08.00-17.00, 8.30 - 9.30
            [1..=2, 2] | [1..=2, 2, 1..=2, 2] if seps.first() == Some(&b'.') => true,
            // 2.500.000, 1.500, 12.000.000.000
            [1..=3, rest @ ..] if !rest.is_empty() && rest.iter().all(|&l| l == 3) && all_seps(|s| s == b'.') => true,
            _ => false,
        }
    }
}

fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// The separator at `i` (blanks, `-`, `.`, parentheses, no-break space, en
/// dash): where it ends and its kind, if a digit follows it.
fn separator(bytes: &[u8], i: usize) -> Option<(usize, u8)> {
    let mut j = i;
    let mut marks = 0;
    let mut kind = b' ';
    let mut dots = 0;
    while j < i + 6 {
        let (len, mark) = match bytes.get(j..) {
            Some([b' ' | b'\t', ..]) => (1, None),
            Some([b @ (b'-' | b'.' | b'(' | b')'), ..]) => (1, Some(*b)),
            Some([0xC2, 0xA0, ..]) => (2, None),
            Some([0xE2, 0x80, 0xAF, ..]) => (3, None),
            Some([0xE2, 0x80, 0x93, ..]) => (3, Some(b'-')),
            _ => break,
        };
        if let Some(m) = mark {
            marks += 1;
            dots += usize::from(m == b'.');
            kind = if kind == b' ' { m } else { b'+' };
        }
        j += len;
    }
    let ok = j > i && marks <= 2 && dots <= 1 && j - i <= 5 && bytes.get(j).is_some_and(u8::is_ascii_digit);
    ok.then_some((j, kind))
}

/// Every run of digits in `text`.
pub(super) fn runs(text: &str) -> Vec<Run> {
    let bytes = text.as_bytes();
    let mut out: Vec<Run> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        while bytes.get(i).is_some_and(|&b| !(b.is_ascii_digit() || b == b'+')) {
            i += 1;
        }
        if i >= bytes.len() {
            break;
        }
        let mut start = i;
        let mut plus = false;
        if bytes.get(i) == Some(&b'+') {
            let mut d = i + 1;
            if bytes.get(d).copied().is_some_and(is_blank) {
                d += 1;
            }
            if bytes.get(d) == Some(&b'(') {
                d += 1;
            }
            if !bytes.get(d).is_some_and(u8::is_ascii_digit) {
                i += 1;
                continue;
            }
            plus = true;
            i = d;
            // "(+62) 812...": the parenthesis belongs to the number.
            if start > 0 && bytes.get(start - 1) == Some(&b'(') {
                start -= 1;
            }
        } else if i > 0 && bytes.get(i - 1) == Some(&b'(') {
            start = i - 1;
        }
        if !left_boundary(text, start) {
            // Inside a word or number: skip the rest of it.
            while bytes.get(i).is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'.' || *b == b',') {
                i += 1;
            }
            i = i.max(start + 1);
            continue;
        }
        let mut groups = Vec::new();
        let mut sep = b'\0';
        loop {
            let g = i;
            while bytes.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            groups.push(Group { start: g, end: i, sep });
            if groups.len() >= MAX_GROUPS {
                break;
            }
            match separator(bytes, i) {
                Some((next, kind)) => {
                    sep = kind;
                    i = next;
                }
                None => break,
            }
        }
        let end = groups.last().map_or(i, |g| g.end);
        let letter_after = bytes.get(end).is_some_and(u8::is_ascii_alphabetic);
        let listed = out.last().is_some_and(|prev| list_gap(text.get(prev.end..start).unwrap_or("x")));
        out.push(Run { start, end, plus, groups, listed_after_previous: listed, letter_after });
        i = end.max(start + 1);
    }
    out
}

/// A run may start at `start`: not inside a word or a decimal number. Up
/// to five capitals right before it are allowed (`STK0071...`, `BCA1234...`).
fn left_boundary(text: &str, start: usize) -> bool {
    let before = text.get(..start).unwrap_or_default();
    let mut chars = before.chars().rev();
    match chars.next() {
        None => true,
        Some(c) if c.is_ascii_digit() || c == '_' => false,
        Some('.' | ',') => !chars.next().is_some_and(|c| c.is_ascii_digit()),
        Some(c) if c.is_ascii_uppercase() => {
            let caps = 1 + before.chars().rev().skip(1).take_while(char::is_ascii_uppercase).count();
            let after_caps = before.chars().rev().nth(caps);
            caps <= 5 && !after_caps.is_some_and(char::is_alphanumeric)
        }
        Some(c) => !c.is_alphanumeric(),
    }
}

/// Whether the text between two runs makes them items of one list.
fn list_gap(gap: &str) -> bool {
    let g = gap.trim_matches(|c: char| c.is_whitespace() || "/,;|&".contains(c));
    g.is_empty()
        || ["atau", "or", "hoặc", "hoac", "หรือ", "o", "dan", "and", "và", "va", "at", "หรือที่"]
            .iter()
            .any(|w| g.eq_ignore_ascii_case(w))
}

/// Whether the run starts with a country code of the region in
/// parentheses: `(62) 812-1234-5678`, `(+63) 917 123 4567`.
fn country_code_in_parentheses(text: &str, run: &Run) -> bool {
    let Some(first) = run.groups.first() else { return false };
    let bytes = text.as_bytes();
    let opened = bytes.get(run.start) == Some(&b'(') || (run.plus && bytes.get(run.start + 1) == Some(&b'('));
    let closed = bytes.get(first.end) == Some(&b')');
    let digits = text.get(first.start..first.end).unwrap_or_default();
    opened && closed && ["62", "84", "66", "60", "63", "65", "855", "856", "95", "673", "670"].contains(&digits)
}

/// Country calling codes of the region's plans (for numbers written
/// without `+`).
fn country_code(region: &str) -> Option<&'static str> {
    let code = match region.to_ascii_uppercase().as_str() {
        "ID" => "62",
        "VN" => "84",
        "TH" => "66",
        "MY" => "60",
        "PH" => "63",
        "SG" => "65",
        "KH" => "855",
        "LA" => "856",
        "MM" => "95",
        "BN" => "673",
        "TL" => "670",
        _ => return None,
    };
    Some(code)
}

/// Plans without a trunk prefix, where national numbers are written bare.
fn bare_national(region: &str) -> bool {
    region.eq_ignore_ascii_case("SG")
}

/// A phone number found in a run: groups `from..to`, its canonical value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct PhoneInRun {
    pub from: usize,
    pub to: usize,
    pub value: String,
    pub confidence: u8,
    pub form: PhoneForm,
}

/// How the number was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PhoneForm {
    International,
    National,
    /// No `+` or trunk prefix.
    Bare,
}

/// The international form of a national number written with the trunk
/// prefix `0`, in the region's plan (`0812...` in ID: `+62812...`), for
/// the plans of the region, whose trunk prefix is `0` and never part of
/// the number. Reading the international form costs the phone-number
/// library one parse instead of two, with the same canonical result
/// (checked by a test against the national reading).
pub(super) fn international_of_national(digits: &str, region: &str) -> Option<String> {
    let rest = digits.strip_prefix('0')?;
    if rest.starts_with('0') {
        return None;
    }
    let cc = country_code(region).filter(|_| !bare_national(region) && !region.eq_ignore_ascii_case("BN"))?;
    Some(format!("+{cc}{rest}"))
}

/// The canonical form of `+<digits>`: read with the region's plans
/// ([`super::plans`]), else by the node's normalization.
pub(super) fn international(digits: &str, ctx: &NormalizeContext) -> Option<String> {
    match plans::read(digits) {
        plans::Reading::Valid(v, _) => Some(v),
        plans::Reading::Invalid => None,
        plans::Reading::Elsewhere => normalize(Kind::Phone, &format!("+{digits}"), ctx).ok(),
    }
}

/// The canonical form of a national number written without its trunk
/// prefix (`812...` in ID, `91234567` in SG), in the context's region.
fn national_bare(digits: &str, ctx: &NormalizeContext) -> Option<String> {
    let region = ctx.region.as_deref()?;
    match country_code(region) {
        Some(cc) => international(&format!("{cc}{digits}"), ctx),
        None => normalize(Kind::Phone, digits, ctx).ok(),
    }
}

/// Whether the E.164 number `e164` is a line a person holds (mobile,
/// fixed, VoIP, personal), not a toll-free, shared-cost, premium or
/// universal-access number: those are written bare (`1500-630`,
/// `1800-255-0000`) and belong to companies and public bodies.
fn personal_line(e164: &str) -> bool {
    let personal = |t: Type| {
        matches!(t, Type::Mobile | Type::FixedLine | Type::FixedLineOrMobile | Type::Voip | Type::PersonalNumber)
    };
    match plans::read(e164.trim_start_matches('+')) {
        plans::Reading::Valid(_, t) => personal(t),
        plans::Reading::Invalid => false,
        plans::Reading::Elsewhere => {
            phonenumber::parse(None, e164).is_ok_and(|n| personal(n.number_type(&phonenumber::metadata::DATABASE)))
        }
    }
}

/// Canonical phone number of `digits` (with `plus` if written), under
/// the rules in the module docs; `cue`: a phone word or platform is near.
fn phone_value(
    digits: &str,
    plus: bool,
    cue: bool,
    groups: &[Group],
    ctx: &NormalizeContext,
) -> Option<(String, u8, PhoneForm)> {
    let bonus = if cue { 10 } else { 0 };
    let len = digits.len();
    if plus {
        return (8..=15)
            .contains(&len)
            .then(|| international(digits, ctx))
            .flatten()
            .map(|v| (v, 85 + bonus, PhoneForm::International));
    }
    let region = ctx.region.as_deref();
    if let Some(rest) = digits.strip_prefix("00") {
        if !(8..=15).contains(&rest.len()) {
            return None;
        }
        // Which international prefixes a plan dials is the node's to say.
        let v = if region.is_some() { normalize(Kind::Phone, digits, ctx).ok() } else { international(rest, ctx) };
        return v.map(|v| (v, 75 + bonus, PhoneForm::International));
    }
    if digits.starts_with('0') {
        let region = region?;
        if !(8..=14).contains(&len) {
            return None;
        }
        let v = match international_of_national(digits, region) {
            Some(plus_digits) => international(plus_digits.trim_start_matches('+'), ctx),
            None => normalize(Kind::Phone, digits, ctx).ok(),
        };
        return v.map(|v| (v, 75 + bonus, PhoneForm::National));
    }
    if !(7..=15).contains(&len) {
        return None;
    }
    let region = region.unwrap_or_default();
    let cc = country_code(region);
    if cue {
        let v = if cc.is_some_and(|cc| digits.starts_with(cc)) {
            international(digits, ctx).or_else(|| national_bare(digits, ctx))
        } else {
            national_bare(digits, ctx).or_else(|| international(digits, ctx))
        };
        return v.filter(|v| personal_line(v)).map(|v| (v, 75, PhoneForm::Bare));
    }
    if bare_national(region) && len == 8 {
        let two_fours = groups.len() == 2 && groups.iter().all(|g| g.end - g.start == 4);
        if two_fours && digits.starts_with(['6', '8', '9']) {
            return national_bare(digits, ctx).map(|v| (v, 60, PhoneForm::Bare));
        }
        return None;
    }
    let contiguous = groups.len() == 1;
    if contiguous && len >= 11 && cc.is_some_and(|cc| digits.starts_with(cc)) {
        return international(digits, ctx).map(|v| (v, 55, PhoneForm::Bare));
    }
    None
}

/// The phone numbers in `run`: the whole run if it is one, else its
/// longest valid pieces from the left. `cue`: a phone word or platform
/// governs the run.
pub(super) fn phone_in(text: &str, run: &Run, cue: bool, ctx: &NormalizeContext) -> Vec<PhoneInRun> {
    phones_of(text, run, cue, false, ctx)
}

/// The run as one phone number, if it is one (digits a bank's name
/// governs that are not its account: not split into pieces, which would
/// find numbers inside a longer code).
pub(super) fn whole_phone(text: &str, run: &Run, ctx: &NormalizeContext) -> Vec<PhoneInRun> {
    phones_of(text, run, false, true, ctx)
}

fn phones_of(text: &str, run: &Run, cue: bool, whole: bool, ctx: &NormalizeContext) -> Vec<PhoneInRun> {
    let n = run.groups.len();
    let mut out = Vec::new();
    let mut i = 0;
    while i < n && !(whole && i > 0) {
        let mut found = None;
        let first = run.groups.get(i).and_then(|g| text.as_bytes().get(g.start)).copied();
        let plus = i == 0 && (run.plus || country_code_in_parentheses(text, run));
        // A number inside a run starts with its prefix; only the run's
        // first group may start a bare number.
        let starts_well = plus || first == Some(b'0') || (i == 0 && (cue || ctx.region.is_some()));
        if starts_well {
            let mut count = 0;
            let mut ends = Vec::new();
            for j in i..n {
                count += run.groups.get(j).map_or(0, |g| g.end - g.start);
                if count > 17 {
                    break;
                }
                if count >= 7 {
                    ends.push(j + 1);
                }
            }
            for &j in ends.iter().rev().filter(|&&j| !whole || j == n) {
                let digits = run.digits(text, i, j);
                let groups = run.groups.get(i..j).unwrap_or_default();
                if let Some((value, confidence, form)) = phone_value(&digits, plus, cue, groups, ctx) {
                    found = Some(PhoneInRun { from: i, to: j, value, confidence, form });
                    break;
                }
            }
        }
        match found {
            Some(p) => {
                i = p.to;
                out.push(p);
            }
            None => i += 1,
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn ctx(region: &str) -> NormalizeContext {
        NormalizeContext { region: Some(region.to_string()) }
    }

    fn phones(text: &str, region: &str, cue: bool) -> Vec<String> {
        runs(text).iter().flat_map(|r| phone_in(text, r, cue, &ctx(region))).map(|p| p.value).collect()
    }

    #[test]
    fn runs_follow_the_separators() {
        let text = "WA 0 8 1 2 - 7 7 7 7 - 8 8 8 8, atau (021) 2345-6789. Rp 2.500.000/bulan";
        let r = runs(text);
        let shown: Vec<&str> = r.iter().map(|r| &text[r.start..r.end]).collect();
        assert_eq!(shown, vec!["0 8 1 2 - 7 7 7 7 - 8 8 8 8", "(021) 2345-6789", "2.500.000"]);
        assert!(r[0].spaced_out());
        assert!(r[1].listed_after_previous);
        assert!(r[2].is_date_time_or_amount());
        assert!(!r[0].is_date_time_or_amount());
    }

    #[test]
    fn shapes_of_dates_times_and_amounts() {
        for s in ["12-05-2024", "2024.05.12", "08.00-17.00", "8.30", "1.500", "12.000.000", "31.12.2024"] {
            let r = runs(s);
            assert_eq!(r.len(), 1, "{s}");
            assert!(r[0].is_date_time_or_amount(), "{s}");
        }
        for s in ["0812-3456-7890", "0912.345.678", "091 234 5678", "+65 9123 4567"] {
            assert!(!runs(s)[0].is_date_time_or_amount(), "{s}");
        }
    }

    #[test]
    fn runs_do_not_start_inside_words_or_decimals() {
        assert!(runs("ABCDEF123456789").is_empty());
        assert!(runs("x1.5").is_empty());
        assert_eq!(runs("STK0071000654321").len(), 1);
        assert!(runs("v1.2").is_empty());
    }

    #[test]
    fn national_and_international_forms() {
        assert_eq!(phones("hubungi 0812-7777-8888 ya", "ID", false), vec!["+6281277778888"]);
        assert_eq!(phones("0 8 1 2 - 7 7 7 7 - 8 8 8 8", "ID", false), vec!["+6281277778888"]);
        assert_eq!(phones("+62 812 7777 8888", "VN", false), vec!["+6281277778888"]);
        assert_eq!(phones("0912.345.678", "VN", false), vec!["+84912345678"]);
        assert_eq!(phones("00 62 812 3456 7890", "VN", false), vec!["+6281234567890"]);
        assert_eq!(phones("081-234-5678", "TH", false), vec!["+66812345678"]);
        // Without a region, national forms cannot be read.
        let none = NormalizeContext::default();
        assert!(runs("0812-7777-8888").iter().all(|r| phone_in("0812-7777-8888", r, false, &none).is_empty()));
    }

    #[test]
    fn bare_numbers_need_a_cue() {
        assert!(phones("6281277778888", "VN", false).is_empty());
        assert_eq!(phones("6281277778888", "VN", true), vec!["+6281277778888"]);
        assert_eq!(phones("6281277778888", "ID", false), vec!["+6281277778888"]);
        assert_eq!(phones("9123 4567", "SG", false), vec!["+6591234567"]);
        assert!(phones("91234567", "SG", false).is_empty());
        assert_eq!(phones("91234567", "SG", true), vec!["+6591234567"]);
        // Identity numbers and references start with other digits.
        assert!(phones("3174012345670001", "ID", false).is_empty());
        assert!(phones("1-2345-67890-12-3", "TH", false).is_empty());
    }

    /// The shortcut through the international form gives what the node's
    /// own reading of the national form gives, over the region's plans.
    #[test]
    fn international_shortcut_agrees_with_the_national_reading() {
        let samples = [
            ("ID", &["081277778888", "0812345678", "02123456789", "0800123456", "085712345678", "0361234567"][..]),
            ("VN", &["0912345678", "0987654321", "02838234567", "0701234567", "0241234567"][..]),
            ("TH", &["0812345678", "021234567", "0612345678", "053123456"][..]),
            ("MY", &["0123456789", "01112345678", "0312345678", "082123456"][..]),
            ("PH", &["09171234567", "0281234567", "0321234567"][..]),
            ("KH", &["012345678", "0971234567"][..]),
        ];
        for (region, numbers) in samples {
            let c = ctx(region);
            for n in numbers {
                let national = normalize(Kind::Phone, n, &c);
                let shortcut = international_of_national(n, region).map(|i| normalize(Kind::Phone, &i, &c));
                assert_eq!(shortcut, Some(national.clone()), "{region} {n}");
            }
        }
        // Generated: every prefix of the region's mobile ranges.
        let c = ctx("ID");
        for p in 810..900 {
            let n = format!("0{p}12345678");
            let shortcut = normalize(Kind::Phone, &international_of_national(&n, "ID").unwrap(), &c);
            assert_eq!(shortcut, normalize(Kind::Phone, &n, &c), "{n}");
        }
    }

    #[test]
    fn lists_in_one_run_are_split() {
        assert_eq!(phones("0812 1111 2222 0813 3333 4444", "ID", false), vec!["+6281211112222", "+6281333334444"]);
    }
}
