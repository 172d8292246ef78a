//! Withdrawing what left the node: tombstones and withdrawal notices that
//! reach every node that received an earlier version, and carry nothing of
//! a stricter one.
//!
//! A node remembers, per indicator of its own, the [`Reach`]: the marking
//! ([`Marking`]: TLP, distribution, categories) of every version it
//! published that could leave it (not RED, not `local`). Then:
//!
//! - **Revocation.** The tombstone carries the indicator's identity (id,
//!   kind, value), the next version number and the reach, and none of the
//!   current version's fields: no confidence (0), description, source
//!   references or expiry; `first_seen` is the earliest among the versions
//!   that could leave; its own TLP, distribution and categories are the
//!   widest of the reach ([`widest`]), so nodes that predate `reach` route
//!   it like the earlier versions. A publisher (the origin or a relay) sends
//!   it to a peer when *one* of the reach markings would have gone there
//!   (`crate::policy::may_send`), so it reaches exactly the nodes an
//!   earlier version could reach, directly or by relay, and nobody else.
//! - **Re-marking.** Publishing a version with a narrower marking (a
//!   stricter TLP, a narrower distribution, fewer categories: any change
//!   after which some peer that could receive an earlier version may not
//!   receive the new one, [`Marking::covered_by`]) first publishes a
//!   withdrawal notice: a tombstone as above whose reach holds only the
//!   markings the new version does not cover. Nodes that may receive the
//!   new version get it next and hold it; the others hold the tombstone.
//!
//! Receivers need nothing new: a tombstone is a newer version, applied in
//! version order and idempotent by (origin, origin_seq); lookups, TAXII,
//! the MISP feed and exports serve it as revoked.
//!
//! Known limits: a tombstone's own TLP is the lowest of its reach, so a
//! node that held only an AMBER version of an indicator that was also
//! shared GREEN (with other peers) shows the tombstone to its GREEN
//! consumers: they learn that the value was withdrawn. A reach longer than
//! [`MAX_REACH`] markings is merged into its widest marking (reaching more
//! nodes, never fewer).

use serde::{Deserialize, Serialize};

use crate::envelope::{Indicator, MAX_REACH, Marking};
use crate::model::{Action, Category, Confidence, Distribution, Tlp, UnixMillis};

impl Marking {
    /// The marking of a version.
    pub fn of(ind: &Indicator) -> Marking {
        let mut categories = ind.categories.clone();
        categories.sort();
        categories.dedup();
        Marking { tlp: ind.tlp, distribution: ind.distribution, categories }
    }

    /// Whether a version with this marking can leave the node at all.
    pub fn may_leave(&self) -> bool {
        self.tlp != Tlp::Red && self.distribution != Distribution::Local
    }

    /// Whether a version with this marking may be relayed.
    pub fn relayable(&self) -> bool {
        self.may_leave() && self.distribution == Distribution::Federation && self.tlp != Tlp::AmberStrict
    }

    /// Whether every peer (direct or by relay, under any agreement) that
    /// may receive a version marked `self` may receive one marked `newer`.
    pub fn covered_by(&self, newer: &Marking) -> bool {
        if !self.may_leave() {
            return true;
        }
        newer.may_leave()
            && newer.tlp <= self.tlp
            && (!self.relayable() || newer.relayable())
            && self.categories.iter().all(|c| newer.categories.contains(c))
    }
}

/// The widest of some markings: the lowest TLP, the widest distribution,
/// every category. `None` for none.
pub fn widest(markings: &[Marking]) -> Option<Marking> {
    let tlp = markings.iter().map(|m| m.tlp).min()?;
    let distribution = markings.iter().map(|m| m.distribution).max()?;
    let mut categories: Vec<Category> = markings.iter().flat_map(|m| m.categories.iter().copied()).collect();
    categories.sort();
    categories.dedup();
    Some(Marking { tlp, distribution, categories })
}

/// What of one of this node's indicators could leave it: the marking of
/// every version that was not RED or `local`, and the earliest first seen
/// among them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reach {
    /// Distinct markings, in the order first published.
    pub markings: Vec<Marking>,
    /// Earliest `first_seen_ms` of those versions.
    #[serde(default)]
    pub first_seen_ms: Option<UnixMillis>,
}

impl Reach {
    /// The reach known from one version alone, for an indicator whose
    /// history this node did not keep (published before it kept reaches,
    /// or never wider than its current version): an upsert's own marking,
    /// or the reach a tombstone carries.
    pub fn of(ind: &Indicator) -> Reach {
        match ind.action {
            Action::Upsert => {
                let mut r = Reach::default();
                r.record(ind);
                r
            }
            Action::Revoke => Reach {
                markings: ind.reach.clone(),
                first_seen_ms: (!ind.reach.is_empty()).then_some(ind.first_seen_ms),
            },
        }
    }

    /// Adds a published version.
    pub fn record(&mut self, ind: &Indicator) {
        let m = Marking::of(ind);
        if !m.may_leave() {
            return;
        }
        self.first_seen_ms = Some(self.first_seen_ms.map_or(ind.first_seen_ms, |t| t.min(ind.first_seen_ms)));
        if self.markings.contains(&m) {
            return;
        }
        if self.markings.len() >= MAX_REACH {
            // Merged into the last: it reaches more nodes, never fewer.
            if let Some(last) = self.markings.pop()
                && let Some(merged) = widest(&[last, m])
            {
                self.markings.push(merged);
            }
            return;
        }
        self.markings.push(m);
    }

    /// Whether no version could leave the node.
    pub fn is_empty(&self) -> bool {
        self.markings.is_empty()
    }

    /// The markings that a version marked like `newer` does not cover: a
    /// withdrawal notice must reach them.
    pub fn uncovered_by(&self, newer: &Indicator) -> Vec<Marking> {
        let n = Marking::of(newer);
        self.markings.iter().filter(|m| !m.covered_by(&n)).cloned().collect()
    }
}

/// The tombstone (version `current.version + 1`) of `current`, reaching
/// `reach`: its identity and the reach, none of `current`'s other fields.
/// With an empty reach (nothing ever left) it keeps `current`'s marking,
/// so it stays where `current` is.
pub fn tombstone(
    current: &Indicator,
    reach: Vec<Marking>,
    first_seen_ms: Option<UnixMillis>,
    now: UnixMillis,
) -> Indicator {
    let marking = widest(&reach).unwrap_or_else(|| Marking::of(current));
    let first_seen_ms = first_seen_ms.unwrap_or(current.first_seen_ms);
    Indicator {
        id: current.id.clone(),
        kind: current.kind,
        value: current.value.clone(),
        categories: marking.categories,
        confidence: Confidence::try_from(0u32).unwrap_or_else(|_| unreachable!()),
        tlp: marking.tlp,
        distribution: marking.distribution,
        first_seen_ms,
        last_seen_ms: now.max(first_seen_ms),
        valid_until_ms: None,
        action: Action::Revoke,
        version: current.version + 1,
        description: None,
        source_refs: Vec::new(),
        reach,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::envelope::{Value, indicator_id};
    use crate::model::Kind;

    fn version(tlp: Tlp, distribution: Distribution, categories: &[Category], first_seen_ms: i64) -> Indicator {
        Indicator {
            id: indicator_id("ID", Kind::Domain, "loker.co.id"),
            kind: Kind::Domain,
            value: Value::Plain("loker.co.id".into()),
            categories: categories.to_vec(),
            confidence: Confidence::try_from(90u32).unwrap(),
            tlp,
            distribution,
            first_seen_ms,
            last_seen_ms: first_seen_ms,
            valid_until_ms: Some(first_seen_ms + 10),
            action: Action::Upsert,
            version: 1,
            description: Some("the secret details".into()),
            source_refs: vec!["case 42".into()],
            reach: vec![],
        }
    }

    const FED: Distribution = Distribution::Federation;
    const JOB: &[Category] = &[Category::JobScam];

    #[test]
    fn narrower_markings_are_not_covered() {
        let m = |tlp, d, c: &[Category]| Marking { tlp, distribution: d, categories: c.to_vec() };
        let green = m(Tlp::Green, FED, JOB);
        assert!(green.covered_by(&m(Tlp::Clear, FED, JOB)));
        assert!(green.covered_by(&m(Tlp::Green, FED, &[Category::JobScam, Category::Phishing])));
        assert!(!green.covered_by(&m(Tlp::Amber, FED, JOB)), "stricter TLP");
        assert!(!green.covered_by(&m(Tlp::Red, FED, JOB)));
        assert!(!green.covered_by(&m(Tlp::Green, Distribution::Local, JOB)));
        assert!(!green.covered_by(&m(Tlp::Green, Distribution::Direct, JOB)), "relays got it");
        assert!(!green.covered_by(&m(Tlp::Green, FED, &[Category::Phishing])), "fewer categories");
        // A direct-only version is covered by a wider one; what never left by anything.
        assert!(m(Tlp::Green, Distribution::Direct, JOB).covered_by(&green));
        assert!(m(Tlp::AmberStrict, FED, JOB).covered_by(&m(Tlp::Amber, Distribution::Direct, JOB)));
        assert!(m(Tlp::Red, FED, JOB).covered_by(&m(Tlp::Red, Distribution::Local, JOB)));
    }

    #[test]
    fn a_reach_keeps_what_could_leave() {
        let mut r = Reach::default();
        r.record(&version(Tlp::Red, FED, JOB, 5));
        r.record(&version(Tlp::Green, Distribution::Local, JOB, 4));
        assert!(r.is_empty(), "RED and local never left");
        r.record(&version(Tlp::Green, FED, JOB, 30));
        r.record(&version(Tlp::Green, FED, JOB, 20));
        r.record(&version(Tlp::Amber, Distribution::Direct, &[Category::Phishing], 40));
        assert_eq!(r.markings.len(), 2);
        assert_eq!(r.first_seen_ms, Some(20));
        let uncovered = r.uncovered_by(&version(Tlp::Red, FED, JOB, 1));
        assert_eq!(uncovered, r.markings);
        assert!(r.uncovered_by(&version(Tlp::Clear, FED, &[Category::JobScam, Category::Phishing], 1)).is_empty());
        // Past the cap, markings merge into a wider one.
        for (i, c) in Category::ALL.iter().cycle().take(3 * MAX_REACH).enumerate() {
            let tlp = [Tlp::Clear, Tlp::Green, Tlp::Amber][(i / Category::ALL.len()) % 3];
            r.record(&version(tlp, FED, &[*c], 50));
        }
        assert_eq!(r.markings.len(), MAX_REACH);
    }

    #[test]
    fn a_tombstone_carries_the_reach_and_nothing_of_the_current_version() {
        let red = Indicator { version: 3, ..version(Tlp::Red, Distribution::Local, &[Category::Phishing], 1) };
        let reach = vec![
            Marking { tlp: Tlp::Amber, distribution: Distribution::Direct, categories: vec![Category::Phishing] },
            Marking { tlp: Tlp::Green, distribution: FED, categories: JOB.to_vec() },
        ];
        let t = tombstone(&red, reach.clone(), Some(7), 100);
        assert_eq!((t.action, t.version, t.id.as_str()), (Action::Revoke, 4, red.id.as_str()));
        assert_eq!((t.tlp, t.distribution), (Tlp::Green, FED));
        assert_eq!(t.categories, vec![Category::JobScam, Category::Phishing]);
        assert_eq!((t.confidence.get(), t.description.as_deref(), t.source_refs.len()), (0, None, 0));
        assert_eq!((t.first_seen_ms, t.last_seen_ms, t.valid_until_ms), (7, 100, None));
        assert_eq!(t.reach, reach);
        assert_eq!(t.validate(), Ok(()));
        // Nothing ever left: the tombstone stays where the indicator is.
        let home = tombstone(&red, vec![], None, 100);
        assert_eq!((home.tlp, home.distribution, home.first_seen_ms), (Tlp::Red, Distribution::Local, 1));
        assert_eq!(home.validate(), Ok(()));
    }
}
