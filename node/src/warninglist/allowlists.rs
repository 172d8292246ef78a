//! [`Allowlists`]: every list a node checks values against (built-in,
//! admin, imported), in two indexes kept in step:
//!
//! - the plain index ([`AllowIndex`]), holding each list's rules as
//!   written, checked for submissions, imports, extraction and arrivals
//!   that carry plain values;
//! - the keyed index: for every exact value of a personal-data kind
//!   (bank account, e-wallet, e-mail, phone), its keyed hash under this
//!   node's federation key, in a list of the same name. Those kinds arrive
//!   from peers as keyed hashes only ([`crate::pii`]), so a plain exact
//!   value would never meet them; the keyed form does. Phone numbers are
//!   hashed here whatever this node's `hash_phone` says, because a peer
//!   may hash them.
//!
//! The keyed index adds no rules to the counts (they are the same rules in
//! another form) but its memory is counted.
//!
//! Pure: the key comes in with each change ([`Privacy`]).

use serde::Serialize;

use super::index::{AllowIndex, Hit, IndexError, IndexStats, ListInfo};
use super::list::ListMeta;
use super::rule::{DomainScope, IpNetwork, Rule, RuleSet};
use crate::allowlist::{AllowEntry, ListAction};
use crate::envelope::{Entry, EnvelopeBody, Value};
use crate::model::{Action, Kind};
use crate::pii::Privacy;

/// The node's lists. See the module docs.
#[derive(Debug, Clone, Default)]
pub struct Allowlists {
    plain: AllowIndex,
    keyed: AllowIndex,
}

/// A match, owned: what a caller keeps or sends on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AllowMatch {
    /// The list.
    pub list: String,
    /// What the match does.
    pub action: ListAction,
    /// The rule, as [`Rule`]'s `Display` writes it (`domain rule
    /// google.com`, `network 10.0.0.0/8`, `phone +62811000111`).
    pub rule: String,
}

impl From<Hit<'_>> for AllowMatch {
    fn from(h: Hit<'_>) -> Self {
        AllowMatch { list: h.list.to_string(), action: h.action, rule: h.rule.to_string() }
    }
}

/// The keyed form of a rule: a personal-data exact value's keyed hash.
fn keyed_form(rule: &Rule<'_>, privacy: &Privacy) -> Option<(Kind, String)> {
    match rule {
        Rule::Exact { kind, value } if kind.is_personal(true) => match privacy.key().hash(*kind, value) {
            Value::Keyed { digest, .. } => Some((*kind, digest)),
            Value::Plain(_) => None,
        },
        _ => None,
    }
}

/// The keyed forms of a list's personal-data exact values (see the module
/// docs).
pub fn keyed_rules(rules: &RuleSet, privacy: &Privacy) -> RuleSet {
    let mut out = RuleSet::new();
    for (rule, action) in rules.iter() {
        if let Some((kind, digest)) = keyed_form(&rule, privacy) {
            out.push(Rule::Exact { kind, value: &digest }, action);
        }
    }
    out.shrink_to_fit();
    out
}

/// The rule an admin entry makes: a domain rule over the hosts under it, an
/// IP network (or address) for kind `ip`, else an exact value. `None` for
/// an `ip` entry that is not an address or network (the node never stores
/// The admin lists `entries` hold, one rule set per list (entries of the
/// built-in lists are left out: those are indexed from
/// [`super::builtin::lists`]).
pub fn admin_lists(entries: &[AllowEntry]) -> Vec<(ListMeta, RuleSet)> {
    let mut lists: std::collections::BTreeMap<&str, RuleSet> = std::collections::BTreeMap::new();
    for e in entries.iter().filter(|e| !e.builtin && !super::builtin::is_builtin_name(&e.list)) {
        if let Some(rule) = entry_rule(e) {
            lists.entry(e.list.as_str()).or_default().push(rule, e.action);
        }
    }
    lists.into_iter().map(|(name, rules)| (ListMeta::admin(name), rules)).collect()
}

/// one).
pub fn entry_rule(e: &AllowEntry) -> Option<Rule<'_>> {
    match e.kind {
        None => Some(Rule::Domain { name: &e.value, scope: DomainScope::Subtree }),
        Some(Kind::Ip) => e.value.parse::<IpNetwork>().ok().map(Rule::Network),
        Some(kind) => Some(Rule::Exact { kind, value: &e.value }),
    }
}

impl Allowlists {
    /// No lists.
    pub fn new() -> Self {
        Self::default()
    }

    /// The plain index.
    pub fn index(&self) -> &AllowIndex {
        &self.plain
    }

    /// Makes `meta.name` hold exactly `rules` in both indexes (see
    /// [`AllowIndex::set_list`]).
    ///
    /// # Errors
    ///
    /// [`IndexError`]; the lists are then part-way: change a clone.
    pub fn set_list(&mut self, meta: ListMeta, rules: &RuleSet, privacy: &Privacy) -> Result<(), IndexError> {
        let keyed = keyed_rules(rules, privacy);
        if keyed.is_empty() {
            self.keyed.remove_list(&meta.name);
        } else {
            self.keyed.set_list(meta.clone(), &keyed)?;
        }
        self.plain.set_list(meta, rules)
    }

    /// Removes a whole list; whether it was there.
    pub fn remove_list(&mut self, name: &str) -> bool {
        self.keyed.remove_list(name);
        self.plain.remove_list(name)
    }

    /// Adds one rule to `list` (an admin list if new).
    ///
    /// # Errors
    ///
    /// [`IndexError`].
    pub fn insert(
        &mut self,
        list: &str,
        rule: Rule<'_>,
        action: ListAction,
        privacy: &Privacy,
    ) -> Result<(), IndexError> {
        self.plain.insert(list, rule, action)?;
        if let Some((kind, digest)) = keyed_form(&rule, privacy) {
            self.keyed.insert(list, Rule::Exact { kind, value: &digest }, action)?;
        }
        Ok(())
    }

    /// Removes one rule from `list`; whether it was there. A list left
    /// without rules is removed.
    pub fn remove(&mut self, list: &str, rule: Rule<'_>, privacy: &Privacy) -> bool {
        if let Some((kind, digest)) = keyed_form(&rule, privacy) {
            self.keyed.remove(list, Rule::Exact { kind, value: &digest });
        }
        let gone = self.plain.remove(list, rule);
        if self.plain.list(list).is_some_and(|l| l.rules.total() == 0) {
            self.remove_list(list);
        }
        gone
    }

    /// The hit that matters most for a normalized value (see
    /// [`AllowIndex::check`]).
    pub fn check(&self, kind: Kind, canonical: &str) -> Option<Hit<'_>> {
        self.plain.check(kind, canonical)
    }

    /// Every hit for a normalized value, best first.
    pub fn check_all(&self, kind: Kind, canonical: &str) -> Vec<Hit<'_>> {
        self.plain.check_all(kind, canonical)
    }

    /// The hit that matters most for a value as an envelope carries it: a
    /// plain value in the plain index, a keyed hash of this node's key
    /// epoch in the keyed index (a hash of another epoch meets nothing).
    /// A keyed hit's rule is the digest; [`Self::describe_carried`] says it
    /// in words.
    pub fn check_carried(&self, kind: Kind, value: &Value, privacy: &Privacy) -> Option<Hit<'_>> {
        match value {
            Value::Plain(v) => self.plain.check(kind, v),
            Value::Keyed { epoch, digest } if *epoch == privacy.key().epoch() => self.keyed.check(kind, digest),
            Value::Keyed { .. } => None,
        }
    }

    /// [`Self::check_carried`] as an [`AllowMatch`]; a keyed hit's rule
    /// reads `phone value (matched by its keyed hash)`.
    pub fn describe_carried(&self, kind: Kind, value: &Value, privacy: &Privacy) -> Option<AllowMatch> {
        let hit = self.check_carried(kind, value, privacy)?;
        let mut m = AllowMatch::from(hit);
        if matches!(value, Value::Keyed { .. }) {
            m.rule = format!("{kind} value, matched by its keyed hash");
        }
        Some(m)
    }

    /// The `refuse` match of an arriving envelope, if it is an indicator
    /// (not a tombstone) whose value is on a local `refuse` list: what
    /// [`crate::policy::allowlisted`] holds for review. `review` lists do
    /// not hold arrivals.
    pub fn refuse_hit(&self, body: &EnvelopeBody, privacy: &Privacy) -> Option<AllowMatch> {
        let Entry::Indicator(ind) = &body.entry else { return None };
        if ind.action != Action::Upsert {
            return None;
        }
        self.describe_carried(ind.kind, &ind.value, privacy).filter(|m| m.action == ListAction::Refuse)
    }

    /// One list.
    pub fn list(&self, name: &str) -> Option<&ListInfo> {
        self.plain.list(name)
    }

    /// Every list, in no particular order.
    pub fn lists(&self) -> impl Iterator<Item = &ListInfo> + '_ {
        self.plain.lists()
    }

    /// Lists and rules (of the plain index) and the memory of both.
    pub fn stats(&self) -> IndexStats {
        let mut s = self.plain.stats();
        s.memory_bytes += self.keyed.memory_bytes();
        s
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::pii::FederationKey;

    fn privacy(secret: u8) -> Privacy {
        Privacy::new(FederationKey::new(1, [secret; 32]), false)
    }

    fn hotlines() -> RuleSet {
        let mut r = RuleSet::new();
        r.push(Rule::Exact { kind: Kind::Phone, value: "+62811000111" }, ListAction::Refuse);
        r.push(Rule::Exact { kind: Kind::Email, value: "pengaduan@kominfo.go.id" }, ListAction::Refuse);
        r.push(Rule::Domain { name: "kominfo.go.id", scope: DomainScope::Subtree }, ListAction::Refuse);
        r
    }

    #[test]
    fn personal_values_meet_arrivals_by_their_keyed_hash() {
        let p = privacy(7);
        let mut a = Allowlists::new();
        a.set_list(ListMeta::admin("hotlines"), &hotlines(), &p).unwrap();
        // A peer with the same federation key hashes the same values.
        for (kind, v) in [(Kind::Phone, "+62811000111"), (Kind::Email, "pengaduan@kominfo.go.id")] {
            let carried = p.key().hash(kind, v);
            let m = a.describe_carried(kind, &carried, &p).unwrap();
            assert_eq!(m.list, "hotlines");
            assert_eq!(m.rule, format!("{kind} value, matched by its keyed hash"));
            assert_eq!(a.check_carried(kind, &Value::Plain(v.into()), &p).unwrap().list, "hotlines");
        }
        let other = p.key().hash(Kind::Phone, "+62811000112");
        assert_eq!(a.check_carried(Kind::Phone, &other, &p), None);
        // Another key, or another epoch, meets nothing.
        let stranger = privacy(8).key().hash(Kind::Phone, "+62811000111");
        assert_eq!(a.check_carried(Kind::Phone, &stranger, &p), None);
        let Value::Keyed { digest, .. } = p.key().hash(Kind::Phone, "+62811000111") else { panic!() };
        assert_eq!(a.check_carried(Kind::Phone, &Value::Keyed { epoch: 2, digest }, &p), None);
        // Keyed forms are not rules of their own.
        assert_eq!(a.stats().rules.exact, 2);
        assert_eq!(a.stats().rules.domains, 1);
    }

    #[test]
    fn changes_keep_both_indexes_in_step() {
        let p = privacy(7);
        let mut a = Allowlists::new();
        let phone = Rule::Exact { kind: Kind::Phone, value: "+62811000111" };
        a.insert("hotlines", phone, ListAction::Refuse, &p).unwrap();
        let carried = p.key().hash(Kind::Phone, "+62811000111");
        assert!(a.check_carried(Kind::Phone, &carried, &p).is_some());
        assert!(a.remove("hotlines", phone, &p));
        assert_eq!(a.check_carried(Kind::Phone, &carried, &p), None);
        assert!(a.list("hotlines").is_none(), "an emptied admin list goes");
        a.set_list(ListMeta::admin("hotlines"), &hotlines(), &p).unwrap();
        let mut no_personal = RuleSet::new();
        no_personal.push(Rule::Domain { name: "kominfo.go.id", scope: DomainScope::Subtree }, ListAction::Refuse);
        a.set_list(ListMeta::admin("hotlines"), &no_personal, &p).unwrap();
        assert_eq!(a.check_carried(Kind::Phone, &carried, &p), None, "replaced whole, keyed forms too");
        assert!(a.remove_list("hotlines"));
        assert_eq!(a.check(Kind::Domain, "kominfo.go.id"), None);
    }

    #[test]
    fn admin_entries_make_rules() {
        let e = |kind, value: &str| AllowEntry {
            list: "l".into(),
            kind,
            value: value.into(),
            action: ListAction::Refuse,
            builtin: false,
            note: String::new(),
        };
        let d = e(None, "bank-contoh.co.id");
        assert_eq!(entry_rule(&d), Some(Rule::Domain { name: "bank-contoh.co.id", scope: DomainScope::Subtree }));
        let n = e(Some(Kind::Ip), "203.0.113.0/24");
        assert_eq!(entry_rule(&n), Some(Rule::Network("203.0.113.0/24".parse().unwrap())));
        assert_eq!(entry_rule(&e(Some(Kind::Ip), "nonsense")), None);
        let p = e(Some(Kind::Phone), "+62811000111");
        assert_eq!(entry_rule(&p), Some(Rule::Exact { kind: Kind::Phone, value: "+62811000111" }));
    }
}
