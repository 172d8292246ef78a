//! Sharing rules: what leaves this node for a peer, and how arrivals from a
//! peer are kept.
//!
//! Outbound, in order (all must pass):
//! 1. RED and `local` never leave the node.
//! 2. Nothing goes back to its own origin.
//! 3. Another origin's entry is relayed only if the agreement allows relay,
//!    its distribution is `federation` (`direct` is never relayed) and its
//!    TLP is not AMBER+STRICT (which never goes beyond the origin's direct
//!    peers).
//! 4. The entry's TLP is at most the agreement's `max_tlp` (GREEN unless
//!    the admin said otherwise), its kind is in the agreement's kinds, and
//!    one of its categories is in the agreement's categories (empty lists
//!    mean all).
//!
//! A tombstone that carries a `reach` (the markings of the versions it
//! withdraws, [`crate::withdrawal`]) goes wherever one of those markings
//! could go, by rules 1-4.
//!
//! Key events of an origin travel wherever that origin's indicators may, so
//! receivers can follow rotations.
//!
//! Feedback events (sightings, takedowns, false positives, ...) carry the
//! kind, categories, TLP and distribution of the indicator they respond to
//! (inherited when the reporter made them) and are routed exactly like an
//! indicator with those markings, by rules 1-4, with one addition: the
//! indicator's origin (`indicator_origin`) may always receive feedback about
//! its own indicator when it is the peer, whatever the agreement's kinds and
//! categories (rules 1-3 and the TLP ceiling still hold). Receivers check
//! feedback with the same hard rules as indicators.
//!
//! Inbound: entries from a `review` peer (key events included), or outside
//! the inbound agreement (kind not accepted, confidence below the minimum;
//! tombstones carry no confidence and are not held for it) wait in
//! quarantine.

use crate::envelope::{Entry, EnvelopeBody, Indicator, KeyEvent};
use crate::feedback::Feedback;
use crate::model::{Action, Distribution, Tlp, Trust};
use crate::peers::Peer;

/// Whether `body`, held by this node (`own` is this node's id), may be sent
/// to `peer`.
pub fn may_send(body: &EnvelopeBody, own: &str, peer: &Peer) -> bool {
    if !origin_may_go(&body.origin, own, peer) {
        return false;
    }
    let relayed = body.origin != own;
    match &body.entry {
        Entry::KeyEvent(_) => true,
        Entry::Indicator(ind) => indicator_may_go(ind, relayed, peer),
        Entry::Feedback(f) => feedback_may_go(f, relayed, peer),
    }
}

/// Whether anything of `origin` may be sent to `peer`: never back to its
/// origin, and another origin's entries only when relaying is agreed.
pub fn origin_may_go(origin: &str, own: &str, peer: &Peer) -> bool {
    origin != peer.node_id() && (origin == own || peer.outbound.relay)
}

fn feedback_may_go(f: &Feedback, relayed: bool, peer: &Peer) -> bool {
    let hard = Markings { kind: f.kind, categories: &f.categories, tlp: f.tlp, distribution: f.distribution };
    if !hard.may_leave(relayed) {
        return false;
    }
    let a = &peer.outbound;
    let to_target_origin = f.indicator_origin.as_deref() == Some(peer.node_id());
    f.tlp <= a.max_tlp.min(Tlp::AmberStrict) && (to_target_origin || hard.in_scope(peer))
}

/// What routing looks at, for indicators and feedback alike.
struct Markings<'a> {
    kind: crate::model::Kind,
    categories: &'a [crate::model::Category],
    tlp: Tlp,
    distribution: Distribution,
}

impl Markings<'_> {
    /// Rules 1 and 3.
    fn may_leave(&self, relayed: bool) -> bool {
        if self.tlp == Tlp::Red || self.distribution == Distribution::Local {
            return false;
        }
        !(relayed && (self.distribution != Distribution::Federation || self.tlp == Tlp::AmberStrict))
    }

    /// The kinds and categories of rule 4.
    fn in_scope(&self, peer: &Peer) -> bool {
        let a = &peer.outbound;
        (a.kinds.is_empty() || a.kinds.contains(&self.kind))
            && (a.categories.is_empty() || self.categories.iter().any(|c| a.categories.contains(c)))
    }
}

fn indicator_may_go(ind: &Indicator, relayed: bool, peer: &Peer) -> bool {
    let marking_may_go = |tlp: Tlp, distribution: Distribution, categories: &[crate::model::Category]| {
        let hard = Markings { kind: ind.kind, categories, tlp, distribution };
        hard.may_leave(relayed) && tlp <= peer.outbound.max_tlp.min(Tlp::AmberStrict) && hard.in_scope(peer)
    };
    // A tombstone goes wherever one of the versions it withdraws could go
    // (crate::withdrawal).
    if ind.action == Action::Revoke && !ind.reach.is_empty() {
        return ind.reach.iter().any(|m| marking_may_go(m.tlp, m.distribution, &m.categories));
    }
    marking_may_go(ind.tlp, ind.distribution, &ind.categories)
}

/// Checks an arrival against the rules its sender should have kept: a node
/// refuses RED and `local` indicators, and relayed ones that were not
/// `federation` distribution or were AMBER+STRICT, whoever sent them.
///
/// # Errors
///
/// A short reason for audit and metrics.
pub fn receive_check(body: &EnvelopeBody, from_peer: &str) -> Result<(), &'static str> {
    let (tlp, distribution) = match &body.entry {
        Entry::Indicator(ind) => (ind.tlp, ind.distribution),
        Entry::Feedback(f) => (f.tlp, f.distribution),
        Entry::KeyEvent(_) => return Ok(()),
    };
    if tlp == Tlp::Red {
        return Err("tlp_red_shared");
    }
    if distribution == Distribution::Local {
        return Err("local_shared");
    }
    let relayed = body.origin != from_peer;
    if relayed && (distribution != Distribution::Federation || tlp == Tlp::AmberStrict) {
        return Err("relay_not_allowed");
    }
    // A relayed tombstone must withdraw something that could be relayed.
    if let Entry::Indicator(ind) = &body.entry
        && relayed
        && !ind.reach.is_empty()
        && !ind.reach.iter().any(crate::envelope::Marking::relayable)
    {
        return Err("relay_not_allowed");
    }
    Ok(())
}

/// How an entry that arrived from a peer is to be kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disposition {
    /// Indexed and served at once.
    Accept,
    /// Held for an analyst.
    Quarantine {
        /// Why.
        reason: String,
    },
}

/// How an entry that arrived from `peer` is kept.
pub fn disposition(body: &EnvelopeBody, peer: &Peer) -> Disposition {
    if peer.trust == Trust::Review {
        let from = peer.node_id();
        let reason = match &body.entry {
            Entry::KeyEvent(KeyEvent::Rotation { new_key_id, valid_from_ms, .. }) => format!(
                "key rotation of {} to {new_key_id} (valid from {valid_from_ms} ms) from peer {from} under review; \
                 what that key signs waits for this decision",
                body.origin
            ),
            Entry::KeyEvent(KeyEvent::Revocation { key_id, revoked_at_ms, .. }) => {
                format!(
                    "revocation of {}'s key {key_id} from {revoked_at_ms} ms, from peer {from} under review",
                    body.origin
                )
            }
            _ => format!("peer {from} is under review"),
        };
        return Disposition::Quarantine { reason };
    }
    if let Entry::Feedback(f) = &body.entry {
        let a = &peer.inbound;
        if !a.kinds.is_empty() && !a.kinds.contains(&f.kind) {
            return Disposition::Quarantine {
                reason: format!("feedback on kind {} is outside the inbound agreement", f.kind),
            };
        }
        return Disposition::Accept;
    }
    let Entry::Indicator(ind) = &body.entry else { return Disposition::Accept };
    let a = &peer.inbound;
    if !a.kinds.is_empty() && !a.kinds.contains(&ind.kind) {
        return Disposition::Quarantine { reason: format!("kind {} is outside the inbound agreement", ind.kind) };
    }
    // A tombstone withdraws; it carries no confidence of its own (0).
    if ind.action == Action::Upsert && ind.confidence.get() < a.min_confidence {
        return Disposition::Quarantine {
            reason: format!("confidence {} is below the inbound minimum {}", ind.confidence, a.min_confidence),
        };
    }
    Disposition::Accept
}

/// How an arrival that matched a local `refuse` allowlist is kept: an
/// entry the other rules accept is held for review instead of being served,
/// naming the list and the rule (each ministry decides what it will not act
/// on); one already held keeps its own reason.
pub fn allowlisted(disposition: Disposition, list: &str, rule: &str) -> Disposition {
    match disposition {
        Disposition::Accept => {
            Disposition::Quarantine { reason: format!("on local allowlist {list} ({rule}): held for review") }
        }
        held @ Disposition::Quarantine { .. } => held,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::envelope::{GENESIS_HASH, Value};
    use crate::identity::IdentityCard;
    use crate::model::{Action, Category, Confidence, Kind};
    use crate::peers::{InboundAgreement, OutboundAgreement};
    use proptest::prelude::*;

    fn peer(id: &str, outbound: OutboundAgreement) -> Peer {
        Peer {
            card: IdentityCard {
                version: 1,
                node_id: id.into(),
                federation_endpoint: "127.0.0.1:1".into(),
                tls_name: "x".into(),
                tls_ca_pem: String::new(),
                signing_keys: vec![],
                issued_at_ms: 0,
            },
            card_text: String::new(),
            trust: Trust::Trusted,
            member_only: false,
            endpoint_override: None,
            outbound,
            inbound: InboundAgreement::default(),
            added_at_ms: 0,
        }
    }

    fn body(origin: &str, kind: Kind, tlp: Tlp, dist: Distribution, cats: Vec<Category>, conf: u32) -> EnvelopeBody {
        EnvelopeBody {
            origin: origin.into(),
            origin_seq: 1,
            prev_hash: GENESIS_HASH,
            created_at_ms: 1,
            entry: Entry::Indicator(Indicator {
                id: "x".into(),
                kind,
                value: Value::Plain("v".into()),
                categories: cats,
                confidence: Confidence::try_from(conf).unwrap(),
                tlp,
                distribution: dist,
                first_seen_ms: 1,
                last_seen_ms: 1,
                valid_until_ms: None,
                action: Action::Upsert,
                version: 1,
                description: None,
                source_refs: vec![],
                reach: vec![],
            }),
        }
    }

    #[test]
    fn default_agreement_stops_at_green() {
        let p = peer("VN", OutboundAgreement::default());
        let d = Distribution::Federation;
        let c = vec![Category::JobScam];
        assert!(may_send(&body("ID", Kind::Domain, Tlp::Green, d, c.clone(), 50), "ID", &p));
        assert!(may_send(&body("ID", Kind::Domain, Tlp::Clear, d, c.clone(), 50), "ID", &p));
        assert!(!may_send(&body("ID", Kind::Domain, Tlp::Amber, d, c.clone(), 50), "ID", &p));
        assert!(!may_send(&body("MY", Kind::Domain, Tlp::Green, d, c, 50), "ID", &p), "no relay by default");
    }

    pub(super) fn arb_kind() -> impl Strategy<Value = Kind> {
        proptest::sample::select(Kind::ALL.to_vec())
    }
    pub(super) fn arb_tlp() -> impl Strategy<Value = Tlp> {
        proptest::sample::select(Tlp::ALL.to_vec())
    }
    pub(super) fn arb_dist() -> impl Strategy<Value = Distribution> {
        proptest::sample::select(Distribution::ALL.to_vec())
    }
    pub(super) fn arb_cats() -> impl Strategy<Value = Vec<Category>> {
        proptest::sample::subsequence(Category::ALL.to_vec(), 0..4)
    }

    proptest! {
        /// The hard rules hold for every agreement and indicator.
        #[test]
        fn hard_rules_hold(
            kind in arb_kind(), tlp in arb_tlp(), dist in arb_dist(),
            cats in arb_cats().prop_filter("non-empty", |c| !c.is_empty()),
            a_kinds in proptest::sample::subsequence(Kind::ALL.to_vec(), 0..4),
            a_tlp in arb_tlp(), a_cats in arb_cats(), relay in any::<bool>(),
            origin in proptest::sample::select(vec!["ID", "MY", "VN"]),
            conf in 0u32..=100,
        ) {
            let p = peer("VN", OutboundAgreement { kinds: a_kinds.clone(), max_tlp: a_tlp, categories: a_cats.clone(), relay });
            let b = body(origin, kind, tlp, dist, cats.clone(), conf);
            let sent = may_send(&b, "ID", &p);
            if sent {
                prop_assert!(tlp != Tlp::Red, "RED never leaves");
                prop_assert!(dist != Distribution::Local, "local never leaves");
                prop_assert!(tlp <= a_tlp, "TLP above the agreement");
                prop_assert!(a_kinds.is_empty() || a_kinds.contains(&kind));
                prop_assert!(a_cats.is_empty() || cats.iter().any(|c| a_cats.contains(c)));
                prop_assert!(origin != "VN", "never back to the origin");
                if origin != "ID" {
                    prop_assert!(relay, "relay needs permission");
                    prop_assert!(dist == Distribution::Federation, "direct is never relayed");
                    prop_assert!(tlp != Tlp::AmberStrict, "AMBER+STRICT stays with direct peers");
                }
            } else if origin == "ID" && tlp != Tlp::Red && dist != Distribution::Local && tlp <= a_tlp
                && (a_kinds.is_empty() || a_kinds.contains(&kind))
                && (a_cats.is_empty() || cats.iter().any(|c| a_cats.contains(c))) {
                prop_assert!(false, "an own indicator the agreement allows was withheld");
            }
        }
    }

    #[test]
    fn inbound_rules_quarantine() {
        let mut p = peer("VN", OutboundAgreement::default());
        p.inbound = InboundAgreement { kinds: vec![Kind::Domain], min_confidence: 60 };
        let c = vec![Category::JobScam];
        let d = Distribution::Federation;
        assert_eq!(disposition(&body("VN", Kind::Domain, Tlp::Green, d, c.clone(), 60), &p), Disposition::Accept);
        assert!(matches!(
            disposition(&body("VN", Kind::Url, Tlp::Green, d, c.clone(), 90), &p),
            Disposition::Quarantine { .. }
        ));
        assert!(matches!(
            disposition(&body("VN", Kind::Domain, Tlp::Green, d, c.clone(), 59), &p),
            Disposition::Quarantine { .. }
        ));
        p.trust = Trust::Review;
        assert!(matches!(
            disposition(&body("VN", Kind::Domain, Tlp::Green, d, c, 99), &p),
            Disposition::Quarantine { .. }
        ));
    }

    #[test]
    fn an_allowlisted_arrival_is_held_naming_the_list_and_a_held_one_keeps_its_reason() {
        assert_eq!(
            allowlisted(Disposition::Accept, "misp-bank-domains", "domain rule bca.co.id"),
            Disposition::Quarantine {
                reason: "on local allowlist misp-bank-domains (domain rule bca.co.id): held for review".into()
            }
        );
        let held = Disposition::Quarantine { reason: "peer VN is under review".into() };
        assert_eq!(allowlisted(held.clone(), "x", "domain rule y"), held);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tombstone_routing_tests {
    use super::tests::{arb_cats, arb_dist, arb_kind, arb_tlp};
    use super::*;
    use crate::envelope::{GENESIS_HASH, Marking};
    use crate::identity::IdentityCard;
    use crate::peers::{InboundAgreement, OutboundAgreement};
    use crate::withdrawal;
    use proptest::prelude::*;

    fn peer(outbound: OutboundAgreement) -> Peer {
        Peer {
            card: IdentityCard {
                version: 1,
                node_id: "VN".into(),
                federation_endpoint: "127.0.0.1:1".into(),
                tls_name: "x".into(),
                tls_ca_pem: String::new(),
                signing_keys: vec![],
                issued_at_ms: 0,
            },
            card_text: String::new(),
            trust: Trust::Trusted,
            member_only: false,
            endpoint_override: None,
            outbound,
            inbound: InboundAgreement::default(),
            added_at_ms: 0,
        }
    }

    fn version(kind: crate::model::Kind, m: &Marking) -> Indicator {
        Indicator {
            id: "x".into(),
            kind,
            value: crate::envelope::Value::Plain("v".into()),
            categories: m.categories.clone(),
            confidence: crate::model::Confidence::try_from(50).unwrap(),
            tlp: m.tlp,
            distribution: m.distribution,
            first_seen_ms: 1,
            last_seen_ms: 1,
            valid_until_ms: None,
            action: Action::Upsert,
            version: 1,
            description: Some("v".into()),
            source_refs: vec![],
            reach: vec![],
        }
    }

    fn body(origin: &str, ind: Indicator) -> EnvelopeBody {
        EnvelopeBody {
            origin: origin.into(),
            origin_seq: 1,
            prev_hash: GENESIS_HASH,
            created_at_ms: 1,
            entry: Entry::Indicator(ind),
        }
    }

    fn arb_marking() -> impl Strategy<Value = Marking> {
        (arb_tlp(), arb_dist(), arb_cats().prop_filter("non-empty", |c| !c.is_empty()))
            .prop_map(|(tlp, distribution, categories)| Marking { tlp, distribution, categories })
    }

    proptest! {
        /// A tombstone reaches a peer exactly when one of the versions it
        /// withdraws could, directly or by relay, under any agreement.
        #[test]
        fn a_tombstone_goes_where_a_withdrawn_version_could(
            kind in arb_kind(),
            markings in proptest::collection::vec(arb_marking(), 1..4),
            now in arb_marking(),
            a_kinds in proptest::sample::subsequence(crate::model::Kind::ALL.to_vec(), 0..3),
            a_tlp in arb_tlp(), a_cats in arb_cats(), relay in any::<bool>(),
            origin in proptest::sample::select(vec!["ID", "MY"]),
        ) {
            let p = peer(OutboundAgreement { kinds: a_kinds, max_tlp: a_tlp, categories: a_cats, relay });
            let mut reach = withdrawal::Reach::default();
            for m in &markings {
                reach.record(&version(kind, m));
            }
            let current = Indicator { version: 9, ..version(kind, &now) };
            let went = |m: &Marking| may_send(&body(origin, version(kind, m)), "ID", &p);
            let earlier_went = markings.iter().any(went);
            // Re-marking: a withdrawal notice reaches every peer that got an
            // earlier version and will not get the new one.
            let uncovered = reach.uncovered_by(&current);
            if earlier_went && !went(&now) {
                prop_assert!(!uncovered.is_empty());
                let notice = withdrawal::tombstone(&current, uncovered, reach.first_seen_ms, 5);
                prop_assert!(may_send(&body(origin, notice), "ID", &p));
            }
            // Revocation: the tombstone goes exactly where a version went.
            reach.record(&current);
            let tomb = withdrawal::tombstone(&current, reach.markings.clone(), reach.first_seen_ms, 5);
            prop_assert_eq!(may_send(&body(origin, tomb.clone()), "ID", &p), earlier_went || went(&now));
            prop_assert_eq!(tomb.description, None);
        }
    }

    #[test]
    fn a_relayed_tombstone_must_withdraw_something_relayable() {
        let direct = Marking {
            tlp: Tlp::Green,
            distribution: Distribution::Direct,
            categories: vec![crate::model::Category::JobScam],
        };
        let current = version(crate::model::Kind::Domain, &direct);
        let mut tomb = withdrawal::tombstone(&current, vec![direct.clone()], None, 5);
        // A hostile origin labels it federation; the reach says direct.
        tomb.distribution = Distribution::Federation;
        assert_eq!(receive_check(&body("MY", tomb.clone()), "EVIL"), Err("relay_not_allowed"));
        assert_eq!(receive_check(&body("MY", tomb), "MY"), Ok(()));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod feedback_routing_tests {
    use super::tests::{arb_cats, arb_dist, arb_kind, arb_tlp};
    use super::*;
    use crate::envelope::{GENESIS_HASH, Value};
    use crate::feedback::FeedbackType;
    use crate::identity::IdentityCard;
    use crate::model::{Action, Category, Confidence, Kind};
    use crate::peers::{InboundAgreement, OutboundAgreement};
    use proptest::prelude::*;

    fn peer(id: &str, outbound: OutboundAgreement) -> Peer {
        Peer {
            card: IdentityCard {
                version: 1,
                node_id: id.into(),
                federation_endpoint: "127.0.0.1:1".into(),
                tls_name: "x".into(),
                tls_ca_pem: String::new(),
                signing_keys: vec![],
                issued_at_ms: 0,
            },
            card_text: String::new(),
            trust: Trust::Trusted,
            member_only: false,
            endpoint_override: None,
            outbound,
            inbound: InboundAgreement::default(),
            added_at_ms: 0,
        }
    }

    fn envelope(origin: &str, entry: Entry) -> EnvelopeBody {
        EnvelopeBody { origin: origin.into(), origin_seq: 1, prev_hash: GENESIS_HASH, created_at_ms: 1, entry }
    }

    fn feedback(kind: Kind, tlp: Tlp, dist: Distribution, cats: Vec<Category>, target: Option<&str>) -> Entry {
        Entry::Feedback(Box::new(Feedback {
            kind,
            value: Value::Plain("v".into()),
            feedback_type: FeedbackType::Sighting,
            indicator_id: None,
            indicator_origin: target.map(Into::into),
            categories: cats,
            tlp,
            distribution: dist,
            platform: None,
            action_taken: None,
            observed_at_ms: 1,
            reason: None,
            note: None,
            referred_to: None,
            case_seq: None,
            due_at_ms: None,
            case_ref: None,
        }))
    }

    fn indicator(kind: Kind, tlp: Tlp, dist: Distribution, cats: Vec<Category>) -> Entry {
        Entry::Indicator(Indicator {
            id: "x".into(),
            kind,
            value: Value::Plain("v".into()),
            categories: cats,
            confidence: Confidence::try_from(50).unwrap(),
            tlp,
            distribution: dist,
            first_seen_ms: 1,
            last_seen_ms: 1,
            valid_until_ms: None,
            action: Action::Upsert,
            version: 1,
            description: None,
            source_refs: vec![],
            reach: vec![],
        })
    }

    #[test]
    fn feedback_reaches_the_indicator_origin_even_outside_the_agreed_kinds() {
        let a = OutboundAgreement { kinds: vec![Kind::Phone], ..OutboundAgreement::default() };
        let c = vec![Category::JobScam];
        let fb = feedback(Kind::Domain, Tlp::Green, Distribution::Federation, c.clone(), Some("ID"));
        let to_origin = envelope("VN", fb);
        assert!(may_send(&to_origin, "VN", &peer("ID", a.clone())));
        assert!(!may_send(&to_origin, "VN", &peer("MY", a.clone())), "MY is held to the agreed kinds");
        // The TLP ceiling still holds for the origin.
        let amber = envelope("VN", feedback(Kind::Domain, Tlp::Amber, Distribution::Federation, c, Some("ID")));
        assert!(!may_send(&amber, "VN", &peer("ID", a)));
    }

    proptest! {
        /// Feedback goes exactly where an indicator with the same markings
        /// goes, plus to the indicator's origin (hard rules and the TLP
        /// ceiling still kept).
        #[test]
        fn feedback_routes_like_its_indicator(
            kind in arb_kind(), tlp in arb_tlp(), dist in arb_dist(),
            cats in arb_cats().prop_filter("non-empty", |c| !c.is_empty()),
            a_kinds in proptest::sample::subsequence(Kind::ALL.to_vec(), 0..4),
            a_tlp in arb_tlp(), a_cats in arb_cats(), relay in any::<bool>(),
            reporter in proptest::sample::select(vec!["ID", "MY", "VN"]),
            target in proptest::option::of(proptest::sample::select(vec!["ID", "MY", "VN", "TH"])),
        ) {
            let p = peer("VN", OutboundAgreement { kinds: a_kinds, max_tlp: a_tlp, categories: a_cats, relay });
            let fb = envelope(reporter, feedback(kind, tlp, dist, cats.clone(), target));
            let ind = envelope(reporter, indicator(kind, tlp, dist, cats));
            let sent = may_send(&fb, "ID", &p);
            let as_indicator = may_send(&ind, "ID", &p);
            if as_indicator {
                prop_assert!(sent, "withheld feedback an indicator with its markings would get");
            }
            if sent && !as_indicator {
                prop_assert_eq!(target, Some("VN"), "only the indicator's origin gets more");
            }
            if sent {
                prop_assert!(tlp != Tlp::Red && dist != Distribution::Local);
                prop_assert!(tlp <= a_tlp, "TLP above the agreement");
                prop_assert!(reporter != "VN", "never back to the reporter");
                if reporter != "ID" {
                    prop_assert!(relay && dist == Distribution::Federation && tlp != Tlp::AmberStrict);
                }
            }
            // Arrivals are judged like indicators.
            prop_assert_eq!(receive_check(&fb, "MY"), receive_check(&ind, "MY"));
        }
    }
}
