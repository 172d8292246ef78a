//! What a receiver checks in every entry a peer sends, after its signature
//! verified and before it is stored: the same rules the origin applies to a
//! submission, so a hostile or broken origin cannot store what no honest
//! node would publish.
//!
//! Per indicator and feedback event (a refusal's reason, for audit and
//! metrics, in brackets):
//!
//! - **Canonical form.** A plain value is normalized again with the same
//!   code and must come back unchanged (`not_canonical`); one that does not
//!   normalize at all, such as a `javascript:` URL, is refused
//!   (`invalid_value`). Values travel canonical, so no region is needed:
//!   phone numbers travel in E.164 (`+62...`), which needs none.
//! - **Personal data only as keyed hashes.** Bank accounts, e-wallet
//!   accounts and e-mail addresses in plain are refused
//!   (`personal_data_in_clear`); so are plain phone numbers when this node
//!   hashes phones (`privacy.hash_phone`). The mismatch rule: a node that
//!   does not hash phones accepts both plain and keyed phone numbers (it
//!   cannot match the keyed ones in its own lookups, but keeps and relays
//!   them); a node that hashes phones accepts only keyed ones. A keyed hash
//!   of a kind that is never personal data (domain, url, ip, crypto wallet,
//!   social handle) matches no lookup anywhere and is refused
//!   (`keyed_hash_not_personal`).
//! - **Identity.** An indicator's id must be `indicator_id(origin, kind,
//!   value)`; a feedback event naming the indicator it responds to must name
//!   it by `indicator_id(indicator_origin, kind, value)`, and name both or
//!   neither (`id_mismatch`).
//! - **Time.** No time a peer supplies may be more than
//!   [`ArrivalRules::max_future_ms`] ahead of this node's clock: the body's
//!   `created_at`, an indicator's `first_seen` and `last_seen`, a feedback
//!   event's `observed_at`, a new key's `valid_from` (`time_in_future`).
//!   Past times are the origin's to state; `valid_until` is an expiry and
//!   may lie anywhere ahead.
//!
//! Field limits and categories (known, non-empty) are checked when the body
//! decodes (`malformed_body`); the hard sharing rules in
//! [`crate::policy::receive_check`].

use crate::envelope::{Entry, EnvelopeBody, KeyEvent, Value, indicator_id};
use crate::model::{Kind, UnixMillis};
use crate::normalize::{self, NormalizeContext};

/// What the receiver's checks depend on.
#[derive(Debug, Clone, Copy)]
pub struct ArrivalRules {
    /// Whether this node hashes phone numbers (`privacy.hash_phone`).
    pub hash_phone: bool,
    /// This node's clock.
    pub now_ms: UnixMillis,
    /// How far ahead of `now_ms` a peer's times may be
    /// (`limits.max_clock_skew_ms`).
    pub max_future_ms: i64,
}

/// Why an arrival was refused: a short stable reason and a detail.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}: {detail}")]
pub struct ArrivalRefusal {
    /// Short stable reason (audit, metrics).
    pub reason: &'static str,
    /// What exactly, for people.
    pub detail: String,
}

/// Every reason [`check`] refuses for.
pub const REASONS: &[&str] = &[
    "not_canonical",
    "invalid_value",
    "personal_data_in_clear",
    "keyed_hash_not_personal",
    "id_mismatch",
    "time_in_future",
];

fn refuse(reason: &'static str, detail: String) -> Result<(), ArrivalRefusal> {
    Err(ArrivalRefusal { reason, detail })
}

/// Checks an arrival's content (see the module docs).
///
/// # Errors
///
/// [`ArrivalRefusal`] with the first rule it breaks.
pub fn check(body: &EnvelopeBody, rules: &ArrivalRules) -> Result<(), ArrivalRefusal> {
    let latest = rules.now_ms.saturating_add(rules.max_future_ms);
    let time = |field: &str, t: UnixMillis| {
        if t > latest {
            return refuse(
                "time_in_future",
                format!(
                    "{field} {t} ms is {} ms ahead of this node's clock (limit {} ms)",
                    t - rules.now_ms,
                    rules.max_future_ms
                ),
            );
        }
        Ok(())
    };
    time("created_at_ms", body.created_at_ms)?;
    match &body.entry {
        Entry::Indicator(ind) => {
            time("first_seen_ms", ind.first_seen_ms)?;
            time("last_seen_ms", ind.last_seen_ms)?;
            check_value(ind.kind, &ind.value, rules.hash_phone)?;
            let want = indicator_id(&body.origin, ind.kind, ind.value.as_str());
            if ind.id != want {
                return refuse(
                    "id_mismatch",
                    format!("id {:?} is not the id of ({}, {}, its value): {want}", ind.id, body.origin, ind.kind),
                );
            }
            Ok(())
        }
        Entry::Feedback(f) => {
            time("observed_at_ms", f.observed_at_ms)?;
            check_value(f.kind, &f.value, rules.hash_phone)?;
            match (&f.indicator_id, &f.indicator_origin) {
                (Some(id), Some(origin)) => {
                    let want = indicator_id(origin, f.kind, f.value.as_str());
                    if *id != want {
                        return refuse(
                            "id_mismatch",
                            format!("indicator_id {id:?} is not the id of ({origin}, {}, its value): {want}", f.kind),
                        );
                    }
                    Ok(())
                }
                (None, None) => Ok(()),
                // An honest node names both or neither.
                (Some(id), None) => refuse("id_mismatch", format!("indicator_id {id:?} without indicator_origin")),
                (None, Some(origin)) => {
                    refuse("id_mismatch", format!("indicator_origin {origin} without indicator_id"))
                }
            }
        }
        Entry::KeyEvent(KeyEvent::Rotation { valid_from_ms, .. }) => time("valid_from_ms", *valid_from_ms),
        Entry::KeyEvent(KeyEvent::Revocation { .. }) => Ok(()),
    }
}

/// The value rules: canonical plain values, personal data keyed.
fn check_value(kind: Kind, value: &Value, hash_phone: bool) -> Result<(), ArrivalRefusal> {
    match value {
        Value::Keyed { .. } if !kind.is_personal(true) => {
            refuse("keyed_hash_not_personal", format!("{kind} is not personal data: it travels in plain, canonical"))
        }
        Value::Keyed { .. } => Ok(()),
        Value::Plain(_) if kind.is_personal(hash_phone) => {
            refuse("personal_data_in_clear", format!("{kind} is personal data: it travels only as a keyed hash"))
        }
        Value::Plain(v) => match normalize::normalize(kind, v, &NormalizeContext::default()) {
            Ok(canonical) if canonical == *v => Ok(()),
            Ok(canonical) => {
                refuse("not_canonical", format!("{kind} {v:?} is not canonical; its canonical form is {canonical:?}"))
            }
            Err(e) => refuse("invalid_value", e.to_string()),
        },
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::envelope::{GENESIS_HASH, Indicator};
    use crate::feedback::{Feedback, FeedbackType};
    use crate::model::{Action, Category, Confidence, Distribution, Tlp};

    const NOW: i64 = 1_800_000_000_000;
    const SKEW: i64 = 300_000;

    fn rules(hash_phone: bool) -> ArrivalRules {
        ArrivalRules { hash_phone, now_ms: NOW, max_future_ms: SKEW }
    }

    fn ind(origin: &str, kind: Kind, value: Value) -> Indicator {
        Indicator {
            id: indicator_id(origin, kind, value.as_str()),
            kind,
            value,
            categories: vec![Category::JobScam],
            confidence: Confidence::try_from(80u32).unwrap(),
            tlp: Tlp::Green,
            distribution: Distribution::Federation,
            first_seen_ms: NOW - 10,
            last_seen_ms: NOW - 10,
            valid_until_ms: Some(NOW + 365 * 86_400_000),
            action: Action::Upsert,
            version: 1,
            description: None,
            source_refs: vec![],
            reach: vec![],
        }
    }

    fn body(origin: &str, entry: Entry) -> EnvelopeBody {
        EnvelopeBody { origin: origin.into(), origin_seq: 1, prev_hash: GENESIS_HASH, created_at_ms: NOW, entry }
    }

    fn reason(b: &EnvelopeBody, hash_phone: bool) -> Option<&'static str> {
        check(b, &rules(hash_phone)).err().map(|e| e.reason)
    }

    fn plain(kind: Kind, v: &str) -> EnvelopeBody {
        body("EVIL", Entry::Indicator(ind("EVIL", kind, Value::Plain(v.into()))))
    }

    fn keyed(kind: Kind) -> EnvelopeBody {
        body("EVIL", Entry::Indicator(ind("EVIL", kind, Value::Keyed { epoch: 1, digest: "ab".repeat(32) })))
    }

    #[test]
    fn canonical_values_pass_and_others_are_refused() {
        assert_eq!(reason(&plain(Kind::Domain, "evil-upper.co.id"), false), None);
        assert_eq!(reason(&plain(Kind::Domain, "WWW.EVIL-UPPER.CO.ID"), false), Some("not_canonical"));
        assert_eq!(reason(&plain(Kind::Url, "http://evil.co.id/"), false), None);
        assert_eq!(reason(&plain(Kind::Url, "http://EVIL.co.id"), false), Some("not_canonical"));
        assert_eq!(reason(&plain(Kind::Url, "javascript:alert(1)"), false), Some("invalid_value"));
        assert_eq!(reason(&plain(Kind::Url, "data:text/html,<b>x</b>"), false), Some("invalid_value"));
        assert_eq!(reason(&plain(Kind::Ip, "203.0.113.7"), false), None);
        assert_eq!(reason(&plain(Kind::Ip, "203.000.113.007"), false), Some("invalid_value"));
        // Phones travel in E.164, canonical without a region.
        assert_eq!(reason(&plain(Kind::Phone, "+6281234567890"), false), None);
        assert_eq!(reason(&plain(Kind::Phone, "0812-3456-7890"), false), Some("invalid_value"));
    }

    #[test]
    fn personal_data_travels_only_keyed() {
        for kind in [Kind::BankAccount, Kind::EwalletAccount, Kind::Email] {
            let v = match kind {
                Kind::BankAccount => "BCA:1234567890",
                Kind::EwalletAccount => "gopay:+6281234567890",
                _ => "budi@example.com",
            };
            assert_eq!(reason(&plain(kind, v), false), Some("personal_data_in_clear"), "{kind}");
            assert_eq!(reason(&keyed(kind), false), None, "{kind}");
        }
        // Phones: as this node's hash_phone says; keyed ones are kept either way.
        assert_eq!(reason(&plain(Kind::Phone, "+6281234567890"), true), Some("personal_data_in_clear"));
        assert_eq!(reason(&keyed(Kind::Phone), true), None);
        assert_eq!(reason(&keyed(Kind::Phone), false), None);
        for kind in [Kind::Domain, Kind::Url, Kind::Ip, Kind::CryptoWallet, Kind::SocialHandle] {
            assert_eq!(reason(&keyed(kind), false), Some("keyed_hash_not_personal"), "{kind}");
        }
    }

    #[test]
    fn ids_belong_to_their_origin() {
        let mut i = ind("EVIL", Kind::Domain, Value::Plain("evil.co.id".into()));
        assert_eq!(reason(&body("EVIL", Entry::Indicator(i.clone())), false), None);
        i.id = indicator_id("ID", Kind::Domain, "evil.co.id");
        assert_eq!(reason(&body("EVIL", Entry::Indicator(i)), false), Some("id_mismatch"));
        let mut f = feedback(NOW);
        f.indicator_origin = Some("ID".into());
        f.indicator_id = Some(indicator_id("ID", Kind::Domain, "evil.co.id"));
        assert_eq!(reason(&body("EVIL", Entry::Feedback(Box::new(f.clone()))), false), None);
        f.indicator_id = Some(indicator_id("EVIL", Kind::Domain, "evil.co.id"));
        assert_eq!(reason(&body("EVIL", Entry::Feedback(Box::new(f.clone()))), false), Some("id_mismatch"));
        // Half a target: an id without its origin, or an origin without an id.
        let mut half = f.clone();
        half.indicator_origin = None;
        assert_eq!(reason(&body("EVIL", Entry::Feedback(Box::new(half))), false), Some("id_mismatch"));
        f.indicator_id = None;
        assert_eq!(reason(&body("EVIL", Entry::Feedback(Box::new(f))), false), Some("id_mismatch"));
    }

    fn feedback(observed_at_ms: i64) -> Feedback {
        Feedback {
            kind: Kind::Domain,
            value: Value::Plain("evil.co.id".into()),
            feedback_type: FeedbackType::Sighting,
            indicator_id: None,
            indicator_origin: None,
            categories: vec![Category::JobScam],
            tlp: Tlp::Green,
            distribution: Distribution::Federation,
            platform: None,
            action_taken: None,
            observed_at_ms,
            reason: None,
            note: None,
            referred_to: None,
            case_seq: None,
            due_at_ms: None,
            case_ref: None,
        }
    }

    #[test]
    fn times_from_peers_are_bounded() {
        let year_2100 = 4_102_444_800_000;
        let f = |t| body("EVIL", Entry::Feedback(Box::new(feedback(t))));
        assert_eq!(reason(&f(NOW + SKEW), false), None, "at the limit");
        assert_eq!(reason(&f(NOW + SKEW + 1), false), Some("time_in_future"));
        assert_eq!(reason(&f(year_2100), false), Some("time_in_future"));
        let mut late = plain(Kind::Domain, "evil.co.id");
        late.created_at_ms = year_2100;
        assert_eq!(reason(&late, false), Some("time_in_future"));
        for field in [0, 1] {
            let mut i = ind("EVIL", Kind::Domain, Value::Plain("evil.co.id".into()));
            if field == 0 {
                i.first_seen_ms = year_2100
            } else {
                i.last_seen_ms = year_2100
            }
            let e = check(&body("EVIL", Entry::Indicator(i)), &rules(false)).unwrap_err();
            assert_eq!(e.reason, "time_in_future");
            assert!(e.detail.starts_with(["first_seen_ms", "last_seen_ms"][field]), "{e}");
        }
        let rotation = |valid_from_ms| {
            body(
                "EVIL",
                Entry::KeyEvent(KeyEvent::Rotation { new_key_id: "k".into(), new_public_key: [0; 32], valid_from_ms }),
            )
        };
        assert_eq!(reason(&rotation(NOW), false), None);
        assert_eq!(reason(&rotation(year_2100), false), Some("time_in_future"));
    }
}
