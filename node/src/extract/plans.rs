//! The region's numbering plans, read fast.
//!
//! The node's phone normalization asks the `phonenumber` crate whether a
//! number is valid. The crate tests each pattern of the plan with an
//! *unanchored* search, whose lazy DFA keeps growing on random digits (a
//! state per set of partial matches at every start position), so a parse
//! and validity check costs ~10 µs and most of extraction's time on
//! adverts full of phone numbers. Here the same patterns, from the same
//! metadata, are compiled once as *anchored* expressions, and the crate's
//! validity rule (`phonenumber::validator::number_type`: the general
//! pattern, then each type in the crate's order, lengths first) is applied
//! to them: the same answer, much cheaper.
//!
//! Only for the country calling codes of the region (Indonesia, Viet Nam,
//! Thailand, Malaysia, the Philippines, Singapore, Cambodia, Laos, Myanmar,
//! Brunei, Timor-Leste): each belongs to one region and their plans strip
//! no prefix from a national number that does not start with `0`, so the
//! canonical form of `+<code><number>` is itself when valid. Other codes,
//! and numbers starting with `0` after the code, go through the node's
//! normalization. A test checks the two agree over thousands of numbers of
//! every one of these plans.

use std::collections::HashMap;
use std::sync::LazyLock;

use phonenumber::Type;
use regex::Regex;

/// The calling codes read here (also as text), and their regions.
const CODES: &[(u16, &str, &str)] = &[
    (62, "62", "ID"),
    (84, "84", "VN"),
    (66, "66", "TH"),
    (60, "60", "MY"),
    (63, "63", "PH"),
    (65, "65", "SG"),
    (855, "855", "KH"),
    (856, "856", "LA"),
    (95, "95", "MM"),
    (673, "673", "BN"),
    (670, "670", "TL"),
];

/// The types `number_type` tests after the general pattern, in its order
/// (fixed line and mobile last, handled apart).
const ORDER: [Type; 8] = [
    Type::PremiumRate,
    Type::TollFree,
    Type::SharedCost,
    Type::Voip,
    Type::PersonalNumber,
    Type::Pager,
    Type::Uan,
    Type::Voicemail,
];

/// One descriptor: possible lengths and the anchored pattern.
struct Desc {
    lengths: Vec<u16>,
    pattern: Regex,
    source: String,
}

impl Desc {
    fn of(d: &phonenumber::metadata::Descriptor) -> Option<Desc> {
        let source = d.national_number().as_str().to_string();
        // The crate compiles its patterns ignoring white space (the
        // metadata's patterns are laid out on several lines).
        let pattern = regex::RegexBuilder::new(&format!("^(?:{source})")).ignore_whitespace(true).build().ok()?;
        Some(Desc { lengths: d.possible_length().to_vec(), pattern, source })
    }

    /// `Descriptor::is_match`: a possible length, and a match at the start.
    fn matches(&self, nsn: &str) -> bool {
        (self.lengths.is_empty() || u16::try_from(nsn.len()).is_ok_and(|l| self.lengths.contains(&l)))
            && self.pattern.is_match(nsn)
    }
}

/// A region's plan.
struct Plan {
    general: Desc,
    types: Vec<(Type, Desc)>,
    fixed_line: Option<Desc>,
    mobile: Option<Desc>,
}

impl Plan {
    fn of(region: &str) -> Option<Plan> {
        let meta = phonenumber::metadata::DATABASE.by_id(region)?.descriptors();
        let general = Desc::of(meta.general())?;
        let mut types = Vec::new();
        for t in ORDER {
            if let Some(d) = meta.get(t) {
                types.push((t, Desc::of(d)?));
            }
        }
        let fixed_line = match meta.fixed_line() {
            Some(d) => Some(Desc::of(d)?),
            None => None,
        };
        let mobile = match meta.mobile() {
            Some(d) => Some(Desc::of(d)?),
            None => None,
        };
        Some(Plan { general, types, fixed_line, mobile })
    }

    /// `phonenumber::validator::number_type` of a national significant
    /// number.
    fn number_type(&self, nsn: &str) -> Type {
        if !self.general.matches(nsn) {
            return Type::Unknown;
        }
        if let Some((t, _)) = self.types.iter().find(|(_, d)| d.matches(nsn)) {
            return *t;
        }
        if let Some(fixed) = &self.fixed_line
            && fixed.matches(nsn)
        {
            let same = self.mobile.as_ref().is_some_and(|m| m.source == fixed.source);
            if same || self.mobile.as_ref().is_some_and(|m| m.matches(nsn)) {
                return Type::FixedLineOrMobile;
            }
            return Type::FixedLine;
        }
        if self.mobile.as_ref().is_some_and(|m| m.matches(nsn)) {
            return Type::Mobile;
        }
        Type::Unknown
    }
}

static PLANS: LazyLock<HashMap<u16, Plan>> =
    LazyLock::new(|| CODES.iter().filter_map(|&(code, _, region)| Plan::of(region).map(|p| (code, p))).collect());

/// What the region's plans say of `+<digits>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Reading {
    /// Not a code read here, or a form the node's normalization must read.
    Elsewhere,
    /// Not a valid number.
    Invalid,
    /// Valid: its canonical form and type.
    Valid(String, Type),
}

/// Reads `+<digits>` (digits only, without the `+`).
pub(super) fn read(digits: &str) -> Reading {
    let Some(&(code, text, _)) = CODES.iter().find(|(_, text, _)| digits.starts_with(text)) else {
        return Reading::Elsewhere;
    };
    let nsn = digits.get(text.len()..).unwrap_or_default();
    if nsn.starts_with('0') || nsn.len() < 2 || !nsn.bytes().all(|b| b.is_ascii_digit()) {
        return Reading::Elsewhere;
    }
    let Some(plan) = PLANS.get(&code) else { return Reading::Elsewhere };
    match plan.number_type(nsn) {
        Type::Unknown => Reading::Invalid,
        t => Reading::Valid(format!("+{digits}"), t),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::model::Kind;
    use crate::normalize::{NormalizeContext, normalize};

    /// Over every plan read here, many numbers of every length and leading
    /// digits: valid exactly when the node's normalization accepts them,
    /// with the same canonical form, and of the crate's type.
    #[test]
    fn agrees_with_the_node_normalization() {
        let ctx = NormalizeContext::default();
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let (mut valid, mut checked) = (0, 0);
        for &(code, _, _) in CODES {
            for len in (6..=12usize).flat_map(|l| [l; 3]) {
                for lead in 10..100u64 {
                    let mut nsn = lead.to_string();
                    while nsn.len() < len {
                        nsn.push(char::from(b'0' + u8::try_from(next() % 10).unwrap()));
                    }
                    let digits = format!("{code}{nsn}");
                    let node = normalize(Kind::Phone, &format!("+{digits}"), &ctx).ok();
                    let fast = read(&digits);
                    match (&fast, &node) {
                        (Reading::Valid(v, t), Some(n)) => {
                            assert_eq!(v, n, "+{digits}");
                            let parsed = phonenumber::parse(None, n).unwrap();
                            assert_eq!(*t, parsed.number_type(&phonenumber::metadata::DATABASE), "+{digits}");
                            valid += 1;
                        }
                        (Reading::Invalid, None) => {}
                        _ => panic!("+{digits}: plans say {fast:?}, the node's normalization {node:?}"),
                    }
                    checked += 1;
                }
            }
        }
        // The sample reaches both answers for every plan.
        assert!(valid > 2000 && valid < checked, "{valid} valid of {checked}");
    }

    #[test]
    fn other_codes_and_trunk_zeros_are_left_to_the_normalizer() {
        assert_eq!(read("14155550123"), Reading::Elsewhere);
        assert_eq!(read("62081234567890"), Reading::Elsewhere);
        assert_eq!(read("6281234567890"), Reading::Valid("+6281234567890".into(), Type::Mobile));
        assert_eq!(read("6211"), Reading::Invalid);
    }
}
