//! The in-memory allowlist index: every list's rules in structures whose
//! check cost does not depend on how many rules there are.
//!
//! - Domain rules and exact domains: one hash table keyed by the normalized
//!   name. A value is checked by walking its parent suffixes
//!   (`login.bank.co.id`, `bank.co.id`, `co.id`, `id`): one probe per
//!   label, so `bank.co.id.evil.com` and `bank-palsu.co.id` never meet the
//!   rule `bank.co.id`.
//! - Exact values of other kinds, and single IP addresses: the same table,
//!   keyed by kind and value (addresses by their 4 or 16 bytes).
//! - IP networks: a binary prefix trie per family, walked along the
//!   address's bits (at most 32 or 128 steps, fewer where the trie ends).
//!   An IPv4-mapped IPv6 address (`::ffff:192.0.2.1`) is checked as the
//!   IPv4 address it carries and as the IPv6 address it is written as, so
//!   it meets both `192.0.2.0/24` and `::ffff:0:0/96`; a plain IPv4 address
//!   never meets IPv6 rules.
//!
//! How values meet rules (the rules of [`crate::allowlist`]):
//! - a domain value meets exact domains equal to it and domain rules at or
//!   above it ([`DomainScope::Site`] rules only within the value's
//!   registrable domain);
//! - a URL meets exact URLs equal to it and, through its host, domain rules
//!   (or, for an IP host, networks): `refuse` rules only when the URL names
//!   the whole site (path `/`, no query), `review` rules always (every link
//!   under a shortener hides a destination); exact domains do not meet
//!   URLs;
//! - an IP meets the networks that hold it;
//! - any other kind (e-mail, phone, accounts, wallets, handles) meets exact
//!   values only: a free-mail domain rule does not stop a scammer's address.
//!
//! Each [`Hit`] names the list and the rule. [`AllowIndex::check`] gives the
//! one that matters most: `refuse` before `review`, exact values before
//! rules, the most specific rule first.
//!
//! Updates: [`AllowIndex::insert`] and [`AllowIndex::remove`] per rule,
//! [`AllowIndex::set_list`] to replace a whole list, [`AllowIndex::remove_list`].
//! The index is cheap to clone: its parts are shared (`Arc`) and copied on
//! the first write, one of 64 shards at a time, so a writer clones the
//! current index, changes the clone and swaps it in
//! ([`super::SharedAllowIndex`]) while readers keep checking the old one:
//! a replaced list is never seen half old, half new.
//!
//! Memory: a table slot is 8 bytes, each name is stored once in a byte
//! arena with a 3-byte header; [`AllowIndex::memory_bytes`] adds up what is
//! held.
//!
//! Pure: no I/O, no locks.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};

use foldhash::fast::RandomState;
use std::net::IpAddr;
use std::sync::Arc;

use hashbrown::HashTable;

use super::list::ListMeta;
use super::rule::{DomainScope, IpNetwork, Rule, RuleCounts, RuleSet, mask32, mask128};
use crate::allowlist::ListAction;
use crate::model::Kind;

/// Why the index refused a change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IndexError {
    /// More lists than the index can name.
    #[error("too many allowlists: at most {max}")]
    TooManyLists {
        /// The limit.
        max: usize,
    },
    /// A shard's text would pass 4 GiB.
    #[error("allowlist index full: a shard's text would pass 4 GiB")]
    Full,
    /// A value longer than 65535 bytes.
    #[error("allowlist value longer than 65535 bytes")]
    ValueTooLong,
}

/// One match: the list and the rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit<'a> {
    /// The list's name.
    pub list: &'a str,
    /// What the match does.
    pub action: ListAction,
    /// The rule that matched (for a domain rule, the rule's own name).
    pub rule: Rule<'a>,
}

/// What the index holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct IndexStats {
    pub lists: usize,
    /// Rules of all lists, by shape (a value on two lists counts twice).
    pub rules: RuleCounts,
    /// Heap bytes held ([`AllowIndex::memory_bytes`]).
    pub memory_bytes: usize,
}

/// A list in the index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListInfo {
    /// What it is.
    pub meta: ListMeta,
    /// How many rules of each shape it has here.
    pub rules: RuleCounts,
}

const SHARD_COUNT: usize = 64;
/// Lists are numbered with 16 bits in a table slot.
const MAX_LISTS: usize = 1 << 16;

const TAG_HOST: u8 = 0;
const TAG_V4: u8 = 1;
const TAG_V6: u8 = 2;
const TAG_EXACT: u8 = 16;

/// A list's membership of one key: list number, action, scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Member(u32);

const REVIEW: u32 = 1 << 16;
const SCOPE_SHIFT: u32 = 17;
const SCOPE_EXACT: u32 = 0;
const SCOPE_SUBTREE: u32 = 1;
const SCOPE_SITE: u32 = 2;
/// In a slot: the members are `multi[low bits]`.
const MULTI: u32 = 1 << 31;

impl Member {
    fn new(list: u16, action: ListAction, scope: u32) -> Self {
        let review = if action == ListAction::Review { REVIEW } else { 0 };
        Member(u32::from(list) | review | (scope << SCOPE_SHIFT))
    }
    fn list(self) -> u16 {
        // The low 16 bits are the list number by construction.
        #[allow(clippy::cast_possible_truncation)]
        let l = self.0 as u16;
        l
    }
    fn action(self) -> ListAction {
        if self.0 & REVIEW != 0 { ListAction::Review } else { ListAction::Refuse }
    }
    fn scope(self) -> u32 {
        (self.0 >> SCOPE_SHIFT) & 3
    }
    fn is_multi(self) -> bool {
        self.0 & MULTI != 0
    }
    fn multi_index(self) -> usize {
        (self.0 & !MULTI) as usize
    }
    /// Same list and same rule (an exact domain and a domain rule of one
    /// name in one list are two rules).
    fn same_rule(self, other: Member) -> bool {
        self.list() == other.list() && (self.scope() == SCOPE_EXACT) == (other.scope() == SCOPE_EXACT)
    }
}

#[derive(Debug, Clone, Copy)]
struct Slot {
    /// Offset of the key in the shard's arena.
    off: u32,
    /// One member, or [`MULTI`] and an index into `multi`.
    members: Member,
}

/// A 64th of the table: slots, the arena of keys (`tag`, `u16` length,
/// bytes), and the member lists of keys on more than one list.
#[derive(Debug, Clone, Default)]
struct Shard {
    table: HashTable<Slot>,
    arena: Vec<u8>,
    garbage: usize,
    multi: Vec<Vec<Member>>,
    free_multi: Vec<u32>,
}

fn key_at(arena: &[u8], off: u32) -> (u8, &[u8]) {
    let off = off as usize;
    let (Some(&tag), Some(&lo), Some(&hi)) = (arena.get(off), arena.get(off + 1), arena.get(off + 2)) else {
        return (u8::MAX, &[]);
    };
    let len = usize::from(u16::from_le_bytes([lo, hi]));
    (tag, arena.get(off + 3..off + 3 + len).unwrap_or(&[]))
}

fn key_hash(hasher: &RandomState, tag: u8, bytes: &[u8]) -> u64 {
    let mut h = hasher.build_hasher();
    h.write_u8(tag);
    h.write(bytes);
    h.finish()
}

/// Which shard: bits the table itself does not use (it takes low bits for
/// the bucket and the top 7 for its tag).
fn shard_of(hash: u64) -> usize {
    ((hash >> 32) as usize) & (SHARD_COUNT - 1)
}

enum Added {
    New,
    Replaced,
}

impl Shard {
    fn find(&self, hash: u64, tag: u8, bytes: &[u8]) -> Option<&Slot> {
        self.table.find(hash, |s| key_at(&self.arena, s.off) == (tag, bytes))
    }

    fn members<'s>(&'s self, slot: &'s Slot) -> &'s [Member] {
        if slot.members.is_multi() {
            self.multi.get(slot.members.multi_index()).map_or(&[], Vec::as_slice)
        } else {
            std::slice::from_ref(&slot.members)
        }
    }

    fn add(&mut self, hasher: &RandomState, hash: u64, tag: u8, bytes: &[u8], m: Member) -> Result<Added, IndexError> {
        let Shard { table, arena, multi, free_multi, .. } = self;
        if let Some(slot) = table.find_mut(hash, |s| key_at(arena, s.off) == (tag, bytes)) {
            if slot.members.is_multi() {
                let Some(v) = multi.get_mut(slot.members.multi_index()) else { return Ok(Added::Replaced) };
                if let Some(old) = v.iter_mut().find(|o| o.same_rule(m)) {
                    *old = m;
                    return Ok(Added::Replaced);
                }
                v.push(m);
                return Ok(Added::New);
            }
            if slot.members.same_rule(m) {
                slot.members = m;
                return Ok(Added::Replaced);
            }
            let pair = vec![slot.members, m];
            let idx = match free_multi.pop() {
                Some(i) => {
                    if let Some(v) = multi.get_mut(i as usize) {
                        *v = pair;
                    }
                    i
                }
                None => {
                    multi.push(pair);
                    u32::try_from(multi.len() - 1).map_err(|_| IndexError::Full)?
                }
            };
            slot.members = Member(MULTI | idx);
            return Ok(Added::New);
        }
        let len = u16::try_from(bytes.len()).map_err(|_| IndexError::ValueTooLong)?;
        let off = u32::try_from(arena.len()).map_err(|_| IndexError::Full)?;
        if arena.len() + 3 + bytes.len() > u32::MAX as usize {
            return Err(IndexError::Full);
        }
        arena.push(tag);
        arena.extend_from_slice(&len.to_le_bytes());
        arena.extend_from_slice(bytes);
        let arena = &*arena;
        table.insert_unique(hash, Slot { off, members: m }, |s| {
            let (t, b) = key_at(arena, s.off);
            key_hash(hasher, t, b)
        });
        Ok(Added::New)
    }

    /// Removes the member of `list` for this rule; whether there was one.
    fn remove(&mut self, hash: u64, tag: u8, bytes: &[u8], m: Member) -> bool {
        let Shard { table, arena, multi, free_multi, garbage } = self;
        let Ok(mut entry) = table.find_entry(hash, |s| key_at(arena, s.off) == (tag, bytes)) else { return false };
        let slot = entry.get_mut();
        if slot.members.is_multi() {
            let idx = slot.members.multi_index();
            let Some(v) = multi.get_mut(idx) else { return false };
            let before = v.len();
            v.retain(|o| !o.same_rule(m));
            if v.len() == before {
                return false;
            }
            if let [only] = v.as_slice() {
                slot.members = *only;
                v.clear();
                free_multi.push(u32::try_from(idx).unwrap_or(u32::MAX));
            }
            return true;
        }
        if !slot.members.same_rule(m) {
            return false;
        }
        entry.remove();
        *garbage += 3 + bytes.len();
        true
    }

    /// Removes every member of `list`, counting what went by shape.
    fn remove_list(&mut self, hasher: &RandomState, list: u16, removed: &mut RuleCounts) {
        let Shard { table, arena, multi, free_multi, garbage } = self;
        table.retain(|slot| {
            let (tag, bytes) = key_at(arena, slot.off);
            let count = |removed: &mut RuleCounts, m: Member| match (tag, m.scope()) {
                (TAG_HOST, SCOPE_EXACT) => removed.exact += 1,
                (TAG_HOST, _) => removed.domains += 1,
                (TAG_V4 | TAG_V6, _) => removed.addresses += 1,
                _ => removed.exact += 1,
            };
            if slot.members.is_multi() {
                let idx = slot.members.multi_index();
                let Some(v) = multi.get_mut(idx) else { return true };
                v.retain(|m| {
                    let keep = m.list() != list;
                    if !keep {
                        count(removed, *m);
                    }
                    keep
                });
                match v.as_slice() {
                    [] | [_] => {
                        let rest = v.first().copied();
                        v.clear();
                        free_multi.push(u32::try_from(idx).unwrap_or(u32::MAX));
                        match rest {
                            Some(only) => {
                                slot.members = only;
                                true
                            }
                            None => {
                                *garbage += 3 + bytes.len();
                                false
                            }
                        }
                    }
                    _ => true,
                }
            } else if slot.members.list() == list {
                count(removed, slot.members);
                *garbage += 3 + bytes.len();
                false
            } else {
                true
            }
        });
        self.compact_if_wasteful(hasher);
    }

    /// Rewrites the arena without removed keys once they are most of it.
    /// Offsets change; positions in the table (by hash) do not.
    fn compact_if_wasteful(&mut self, hasher: &RandomState) {
        if self.garbage < 64 * 1024 || self.garbage * 2 < self.arena.len() {
            return;
        }
        let mut fresh = Vec::with_capacity(self.arena.len() - self.garbage);
        for slot in self.table.iter_mut() {
            let (tag, bytes) = key_at(&self.arena, slot.off);
            slot.off = u32::try_from(fresh.len()).unwrap_or(u32::MAX);
            fresh.push(tag);
            fresh.extend_from_slice(&u16::try_from(bytes.len()).unwrap_or(0).to_le_bytes());
            fresh.extend_from_slice(bytes);
        }
        self.arena = fresh;
        self.garbage = 0;
        let Shard { table, arena, .. } = self;
        let arena = &*arena;
        table.shrink_to_fit(|s| {
            let (t, b) = key_at(arena, s.off);
            key_hash(hasher, t, b)
        });
    }

    fn memory_bytes(&self) -> usize {
        self.table.allocation_size()
            + self.arena.capacity()
            + self.multi.capacity() * std::mem::size_of::<Vec<Member>>()
            + self.multi.iter().map(|v| v.capacity() * 4).sum::<usize>()
            + self.free_multi.capacity() * 4
    }
}

/// A binary prefix trie of networks of one family. Keys are left-aligned
/// in a `u128` (IPv4 in the top 32 bits).
#[derive(Debug, Clone, Default)]
struct Trie {
    nodes: Vec<TrieNode>,
    marks: Vec<Vec<Member>>,
    free_marks: Vec<u32>,
}

#[derive(Debug, Clone, Copy, Default)]
struct TrieNode {
    /// Child node numbers; 0 is none (node 0 is the root, nobody's child).
    child: [u32; 2],
    /// 0: no rule here; else `marks[mark - 1]`.
    mark: u32,
}

fn bit(key: u128, depth: u8) -> usize {
    usize::from((key >> (127 - u32::from(depth))) & 1 == 1)
}

impl Trie {
    fn insert(&mut self, key: u128, len: u8, m: Member) -> Result<Added, IndexError> {
        if self.nodes.is_empty() {
            self.nodes.push(TrieNode::default());
        }
        let mut node = 0usize;
        for depth in 0..len {
            let b = bit(key, depth);
            let next = self.nodes.get(node).map_or(0, |n| n.child[b]);
            node = if next == 0 {
                let id = u32::try_from(self.nodes.len()).map_err(|_| IndexError::Full)?;
                self.nodes.push(TrieNode::default());
                if let Some(n) = self.nodes.get_mut(node) {
                    n.child[b] = id;
                }
                id as usize
            } else {
                next as usize
            };
        }
        let Some(n) = self.nodes.get_mut(node) else { return Err(IndexError::Full) };
        if n.mark == 0 {
            let idx = match self.free_marks.pop() {
                Some(i) => i,
                None => {
                    self.marks.push(Vec::new());
                    u32::try_from(self.marks.len() - 1).map_err(|_| IndexError::Full)?
                }
            };
            n.mark = idx + 1;
        }
        let Some(v) = self.marks.get_mut(n.mark as usize - 1) else { return Err(IndexError::Full) };
        if let Some(old) = v.iter_mut().find(|o| o.list() == m.list()) {
            *old = m;
            return Ok(Added::Replaced);
        }
        v.push(m);
        Ok(Added::New)
    }

    fn node_at(&self, key: u128, len: u8) -> Option<usize> {
        let mut node = 0usize;
        self.nodes.first()?;
        for depth in 0..len {
            let next = self.nodes.get(node)?.child[bit(key, depth)];
            if next == 0 {
                return None;
            }
            node = next as usize;
        }
        Some(node)
    }

    fn remove(&mut self, key: u128, len: u8, list: u16) -> bool {
        let Some(node) = self.node_at(key, len) else { return false };
        let Some(n) = self.nodes.get_mut(node) else { return false };
        if n.mark == 0 {
            return false;
        }
        let idx = n.mark - 1;
        let Some(v) = self.marks.get_mut(idx as usize) else { return false };
        let before = v.len();
        v.retain(|m| m.list() != list);
        if v.len() == before {
            return false;
        }
        if v.is_empty() {
            n.mark = 0;
            self.free_marks.push(idx);
        }
        true
    }

    /// Calls `f(depth, members)` for every marked node on `key`'s path.
    fn walk(&self, key: u128, width: u8, mut f: impl FnMut(u8, &[Member])) {
        let mut node = 0usize;
        let mut depth = 0u8;
        loop {
            let Some(n) = self.nodes.get(node) else { return };
            if n.mark != 0
                && let Some(v) = self.marks.get(n.mark as usize - 1)
            {
                f(depth, v);
            }
            if depth == width {
                return;
            }
            let next = n.child[bit(key, depth)];
            if next == 0 {
                return;
            }
            node = next as usize;
            depth += 1;
        }
    }

    /// Every marked prefix with its members.
    fn entries(&self) -> Vec<(u128, u8, Vec<Member>)> {
        let mut out = Vec::new();
        let mut stack = vec![(0usize, 0u128, 0u8)];
        while let Some((node, key, depth)) = stack.pop() {
            let Some(n) = self.nodes.get(node) else { continue };
            if n.mark != 0
                && let Some(v) = self.marks.get(n.mark as usize - 1)
            {
                out.push((key, depth, v.clone()));
            }
            for (b, &c) in n.child.iter().enumerate() {
                if c != 0 && depth < 128 {
                    let key = key | ((b as u128) << (127 - u32::from(depth)));
                    stack.push((c as usize, key, depth + 1));
                }
            }
        }
        out
    }

    /// Removes every member of `list`, then rebuilds without dead branches.
    fn remove_list(&mut self, list: u16) -> u64 {
        let mut removed = 0;
        let mut kept = Trie::default();
        for (key, len, members) in self.entries() {
            for m in members {
                if m.list() == list {
                    removed += 1;
                } else {
                    // Re-inserting what was already there cannot overflow.
                    let _ = kept.insert(key, len, m);
                }
            }
        }
        *self = kept;
        removed
    }

    fn memory_bytes(&self) -> usize {
        self.nodes.capacity() * std::mem::size_of::<TrieNode>()
            + self.marks.capacity() * std::mem::size_of::<Vec<Member>>()
            + self.marks.iter().map(|v| v.capacity() * 4).sum::<usize>()
            + self.free_marks.capacity() * 4
    }
}

#[derive(Debug, Clone, Default)]
struct Lists {
    by_id: Vec<Option<ListInfo>>,
    by_name: HashMap<String, u16>,
}

/// The allowlist index. See the module docs.
#[derive(Debug, Clone)]
pub struct AllowIndex {
    hasher: RandomState,
    /// Bit `n` (at most 63): some domain key has `n` labels. A check probes
    /// only the suffixes of a host with a label count some key has.
    host_labels: u64,
    shards: Vec<Arc<Shard>>,
    v4: Arc<Trie>,
    v6: Arc<Trie>,
    lists: Arc<Lists>,
}

impl Default for AllowIndex {
    fn default() -> Self {
        Self::new()
    }
}

/// A candidate hit while checking, with what ranks it.
struct Found<'a> {
    hit: Hit<'a>,
    exact: bool,
    specificity: usize,
}

impl Found<'_> {
    /// Lower is better: refuse, then exact, then most specific.
    fn rank(&self) -> (bool, bool, std::cmp::Reverse<usize>) {
        (self.hit.action == ListAction::Review, !self.exact, std::cmp::Reverse(self.specificity))
    }
}

/// How a host was reached: as a domain value, or as a URL's host.
#[derive(Clone, Copy)]
enum Via {
    Domain,
    Url { whole: bool },
}

impl Via {
    /// Whether a rule (not an exact value) with this action applies.
    fn rule_applies(self, action: ListAction) -> bool {
        match self {
            Via::Domain => true,
            Via::Url { whole } => whole || action == ListAction::Review,
        }
    }
}

/// Host and whether the URL names the whole site, from a canonical URL
/// (`scheme://host[:port]/path[?query]`, as [`crate::normalize`] writes
/// it). Split by hand: a full parse would be most of the check's budget.
fn url_host(url: &str) -> Option<(&str, bool)> {
    let rest = url.split_once("://")?.1;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split_once(']')?.0,
        None => authority.split_once(':').map_or(authority, |(h, _)| h),
    };
    let whole = tail.is_empty() || tail == "/";
    (!host.is_empty()).then_some((host, whole))
}

/// Labels in a name, capped at 63 (a bit of [`AllowIndex::host_labels`]).
fn label_count(name: &[u8]) -> u32 {
    let dots = name.iter().filter(|&&b| b == b'.').count();
    u32::try_from(dots + 1).unwrap_or(63).min(63)
}

fn kind_tag(kind: Kind) -> u8 {
    let i = Kind::ALL.iter().position(|k| *k == kind).unwrap_or(0);
    TAG_EXACT + u8::try_from(i).unwrap_or(0)
}

fn v4_key(addr: u32) -> u128 {
    u128::from(addr) << 96
}

impl AllowIndex {
    /// An empty index.
    pub fn new() -> Self {
        AllowIndex {
            hasher: RandomState::default(),
            host_labels: 0,
            shards: (0..SHARD_COUNT).map(|_| Arc::new(Shard::default())).collect(),
            v4: Arc::new(Trie::default()),
            v6: Arc::new(Trie::default()),
            lists: Arc::new(Lists::default()),
        }
    }

    fn list_id(&self, name: &str) -> Option<u16> {
        self.lists.by_name.get(name).copied()
    }

    /// The number of `meta.name`, adding the list if it is new (with
    /// `meta`) or updating its meta.
    fn ensure_list(&mut self, meta: ListMeta, update_meta: bool) -> Result<u16, IndexError> {
        let lists = Arc::make_mut(&mut self.lists);
        if let Some(&id) = lists.by_name.get(&meta.name) {
            if update_meta && let Some(Some(info)) = lists.by_id.get_mut(usize::from(id)) {
                info.meta = meta;
            }
            return Ok(id);
        }
        let free = lists.by_id.iter().position(Option::is_none);
        let id = match free {
            Some(i) => i,
            None if lists.by_id.len() < MAX_LISTS => {
                lists.by_id.push(None);
                lists.by_id.len() - 1
            }
            None => return Err(IndexError::TooManyLists { max: MAX_LISTS }),
        };
        let id16 = u16::try_from(id).map_err(|_| IndexError::TooManyLists { max: MAX_LISTS })?;
        lists.by_name.insert(meta.name.clone(), id16);
        if let Some(slot) = lists.by_id.get_mut(id) {
            *slot = Some(ListInfo { meta, rules: RuleCounts::default() });
        }
        Ok(id16)
    }

    fn count(&mut self, id: u16, rule: &Rule<'_>, n: i64) {
        if let Some(Some(info)) = Arc::make_mut(&mut self.lists).by_id.get_mut(usize::from(id)) {
            info.rules.add(rule, n);
        }
    }

    fn insert_id(&mut self, id: u16, rule: Rule<'_>, action: ListAction) -> Result<Added, IndexError> {
        let (tag, bytes, scope): (u8, Vec<u8>, u32);
        match rule {
            Rule::Domain { name, scope: s } => {
                let sc = if s == DomainScope::Site { SCOPE_SITE } else { SCOPE_SUBTREE };
                (tag, bytes, scope) = (TAG_HOST, name.as_bytes().to_vec(), sc);
            }
            Rule::Exact { kind: Kind::Domain, value } => {
                (tag, bytes, scope) = (TAG_HOST, value.as_bytes().to_vec(), SCOPE_EXACT);
            }
            Rule::Exact { kind: Kind::Ip, value } => {
                let Ok(n) = value.parse::<IpNetwork>() else { return Ok(Added::Replaced) };
                return self.insert_id(id, Rule::Network(n), action);
            }
            Rule::Exact { kind, value } => {
                (tag, bytes, scope) = (kind_tag(kind), value.as_bytes().to_vec(), SCOPE_EXACT);
            }
            Rule::Network(n) => {
                let m = Member::new(id, action, SCOPE_SUBTREE);
                return match n {
                    IpNetwork::V4 { addr, len: 32 } => self.add_key(TAG_V4, &addr.to_be_bytes(), m),
                    IpNetwork::V6 { addr, len: 128 } => self.add_key(TAG_V6, &addr.to_be_bytes(), m),
                    IpNetwork::V4 { addr, len } => Arc::make_mut(&mut self.v4).insert(v4_key(addr), len, m),
                    IpNetwork::V6 { addr, len } => Arc::make_mut(&mut self.v6).insert(addr, len, m),
                };
            }
        }
        if tag == TAG_HOST {
            self.host_labels |= 1 << label_count(&bytes);
        }
        self.add_key(tag, &bytes, Member::new(id, action, scope))
    }

    fn add_key(&mut self, tag: u8, bytes: &[u8], m: Member) -> Result<Added, IndexError> {
        let hash = key_hash(&self.hasher, tag, bytes);
        let hasher = &self.hasher;
        let shard = self.shards.get_mut(shard_of(hash)).ok_or(IndexError::Full)?;
        Arc::make_mut(shard).add(hasher, hash, tag, bytes, m)
    }

    fn remove_key(&mut self, tag: u8, bytes: &[u8], m: Member) -> bool {
        let hash = key_hash(&self.hasher, tag, bytes);
        let Some(shard) = self.shards.get_mut(shard_of(hash)) else { return false };
        if shard.find(hash, tag, bytes).is_none() {
            return false;
        }
        Arc::make_mut(shard).remove(hash, tag, bytes, m)
    }

    /// Adds one rule to `list` (made an admin list if new). Adding a rule
    /// the list has replaces its action (and scope).
    ///
    /// # Errors
    ///
    /// [`IndexError::TooManyLists`], [`IndexError::ValueTooLong`],
    /// [`IndexError::Full`].
    pub fn insert(&mut self, list: &str, rule: Rule<'_>, action: ListAction) -> Result<(), IndexError> {
        let id = match self.list_id(list) {
            Some(id) => id,
            None => self.ensure_list(ListMeta::admin(list), false)?,
        };
        if let Added::New = self.insert_id(id, rule, action)? {
            self.count(id, &rule, 1);
        }
        Ok(())
    }

    /// Removes one rule from `list` (a domain rule whatever its scope);
    /// whether it was there. An emptied list stays, with no rules.
    pub fn remove(&mut self, list: &str, rule: Rule<'_>) -> bool {
        let Some(id) = self.list_id(list) else { return false };
        let m = |scope| Member::new(id, ListAction::Refuse, scope);
        let gone = match rule {
            Rule::Domain { name, .. } => self.remove_key(TAG_HOST, name.as_bytes(), m(SCOPE_SUBTREE)),
            Rule::Exact { kind: Kind::Domain, value } => self.remove_key(TAG_HOST, value.as_bytes(), m(SCOPE_EXACT)),
            Rule::Exact { kind: Kind::Ip, value } => match value.parse::<IpNetwork>() {
                Ok(n) => return self.remove(list, Rule::Network(n)),
                Err(_) => false,
            },
            Rule::Exact { kind, value } => self.remove_key(kind_tag(kind), value.as_bytes(), m(SCOPE_EXACT)),
            Rule::Network(IpNetwork::V4 { addr, len: 32 }) => {
                self.remove_key(TAG_V4, &addr.to_be_bytes(), m(SCOPE_SUBTREE))
            }
            Rule::Network(IpNetwork::V6 { addr, len: 128 }) => {
                self.remove_key(TAG_V6, &addr.to_be_bytes(), m(SCOPE_SUBTREE))
            }
            Rule::Network(IpNetwork::V4 { addr, len }) => {
                self.v4.node_at(v4_key(addr), len).is_some()
                    && Arc::make_mut(&mut self.v4).remove(v4_key(addr), len, id)
            }
            Rule::Network(IpNetwork::V6 { addr, len }) => {
                self.v6.node_at(addr, len).is_some() && Arc::make_mut(&mut self.v6).remove(addr, len, id)
            }
        };
        if gone {
            self.count(id, &rule, -1);
        }
        gone
    }

    /// Makes `meta.name` hold exactly `rules`: a new list, or a whole
    /// replacement of an old one (its rules all go, these all come, its
    /// meta becomes `meta`). Readers of a clone taken before see the old
    /// list whole; see the module docs.
    ///
    /// # Errors
    ///
    /// As [`Self::insert`]; the index is then part-way, so apply this to a
    /// clone and drop it on error.
    pub fn set_list(&mut self, meta: ListMeta, rules: &RuleSet) -> Result<(), IndexError> {
        let name = meta.name.clone();
        if self.list_id(&name).is_some() {
            self.clear_list(&name);
        }
        let id = self.ensure_list(meta, true)?;
        let mut counts = RuleCounts::default();
        for (rule, action) in rules.iter() {
            if let Added::New = self.insert_id(id, rule, action)? {
                counts.add(&rule, 1);
            }
        }
        if let Some(Some(info)) = Arc::make_mut(&mut self.lists).by_id.get_mut(usize::from(id)) {
            info.rules = counts;
        }
        Ok(())
    }

    /// Removes every rule of `list`, keeping the list; how many went.
    fn clear_list(&mut self, list: &str) -> u64 {
        let Some(id) = self.list_id(list) else { return 0 };
        let mut removed = RuleCounts::default();
        let hasher = &self.hasher;
        for shard in &mut self.shards {
            if shard.table.is_empty() {
                continue;
            }
            Arc::make_mut(shard).remove_list(hasher, id, &mut removed);
        }
        if !self.v4.nodes.is_empty() {
            removed.networks += Arc::make_mut(&mut self.v4).remove_list(id);
        }
        if !self.v6.nodes.is_empty() {
            removed.networks += Arc::make_mut(&mut self.v6).remove_list(id);
        }
        if let Some(Some(info)) = Arc::make_mut(&mut self.lists).by_id.get_mut(usize::from(id)) {
            info.rules = RuleCounts::default();
        }
        removed.total()
    }

    /// Removes a whole list; whether it was there.
    pub fn remove_list(&mut self, list: &str) -> bool {
        let Some(id) = self.list_id(list) else { return false };
        self.clear_list(list);
        let lists = Arc::make_mut(&mut self.lists);
        lists.by_name.remove(list);
        if let Some(slot) = lists.by_id.get_mut(usize::from(id)) {
            *slot = None;
        }
        true
    }

    /// One list.
    pub fn list(&self, name: &str) -> Option<&ListInfo> {
        let id = self.list_id(name)?;
        self.lists.by_id.get(usize::from(id))?.as_ref()
    }

    /// Every list, in no particular order.
    pub fn lists(&self) -> impl Iterator<Item = &ListInfo> + '_ {
        self.lists.by_id.iter().flatten()
    }

    fn list_name(&self, id: u16) -> &str {
        match self.lists.by_id.get(usize::from(id)) {
            Some(Some(info)) => info.meta.name.as_str(),
            _ => "",
        }
    }

    /// The hit that matters most for a normalized value of `kind`, if any
    /// (see the module docs for the order).
    pub fn check(&self, kind: Kind, canonical: &str) -> Option<Hit<'_>> {
        let mut best: Option<Found<'_>> = None;
        self.visit(kind, canonical, &mut |f| {
            if best.as_ref().is_none_or(|b| f.rank() < b.rank()) {
                best = Some(f);
            }
        });
        best.map(|f| f.hit)
    }

    /// Every hit for a normalized value of `kind`, best first.
    pub fn check_all(&self, kind: Kind, canonical: &str) -> Vec<Hit<'_>> {
        let mut all = Vec::new();
        self.visit(kind, canonical, &mut |f| all.push(f));
        all.sort_by_key(Found::rank);
        all.into_iter().map(|f| f.hit).collect()
    }

    fn visit<'a>(&'a self, kind: Kind, value: &str, f: &mut dyn FnMut(Found<'a>)) {
        match kind {
            Kind::Domain => self.visit_host(value, Via::Domain, f),
            Kind::Url => {
                if let Some((host, whole)) = url_host(value) {
                    match host.parse::<IpAddr>() {
                        Ok(ip) => self.visit_ip(ip, Via::Url { whole }, f),
                        Err(_) => self.visit_host(host, Via::Url { whole }, f),
                    }
                }
                self.visit_exact(kind, value, f);
            }
            Kind::Ip => {
                if let Ok(ip) = value.parse::<IpAddr>() {
                    self.visit_ip(ip, Via::Domain, f);
                }
            }
            _ => self.visit_exact(kind, value, f),
        }
    }

    fn probe(&self, tag: u8, bytes: &[u8]) -> Option<(&Shard, &Slot)> {
        let hash = key_hash(&self.hasher, tag, bytes);
        let shard = self.shards.get(shard_of(hash))?;
        shard.find(hash, tag, bytes).map(|slot| (&**shard, slot))
    }

    fn text_of<'a>(shard: &'a Shard, slot: &Slot) -> &'a str {
        std::str::from_utf8(key_at(&shard.arena, slot.off).1).unwrap_or("")
    }

    fn visit_exact<'a>(&'a self, kind: Kind, value: &str, f: &mut dyn FnMut(Found<'a>)) {
        let Some((shard, slot)) = self.probe(kind_tag(kind), value.as_bytes()) else { return };
        let value = Self::text_of(shard, slot);
        for m in shard.members(slot) {
            let hit = Hit { list: self.list_name(m.list()), action: m.action(), rule: Rule::Exact { kind, value } };
            f(Found { hit, exact: true, specificity: value.len() });
        }
    }

    fn visit_host<'a>(&'a self, host: &str, via: Via, f: &mut dyn FnMut(Found<'a>)) {
        let mut registrable: Option<usize> = None;
        let mut suffix = host;
        let mut top = true;
        let mut labels = label_count(host.as_bytes());
        loop {
            let wanted = self.host_labels & (1 << labels) != 0;
            if let Some((shard, slot)) = wanted.then(|| self.probe(TAG_HOST, suffix.as_bytes())).flatten() {
                let name = Self::text_of(shard, slot);
                for m in shard.members(slot) {
                    let applies = match (m.scope(), via) {
                        (SCOPE_EXACT, Via::Domain) => top,
                        (SCOPE_EXACT, Via::Url { .. }) => false,
                        (SCOPE_SITE, _) if !top => {
                            let reg = *registrable.get_or_insert_with(|| {
                                crate::normalize::registrable_domain(host).map_or(host.len(), str::len)
                            });
                            suffix.len() >= reg && via.rule_applies(m.action())
                        }
                        _ => via.rule_applies(m.action()),
                    };
                    if !applies {
                        continue;
                    }
                    let exact = m.scope() == SCOPE_EXACT;
                    let rule = match m.scope() {
                        SCOPE_EXACT => Rule::Exact { kind: Kind::Domain, value: name },
                        SCOPE_SITE => Rule::Domain { name, scope: DomainScope::Site },
                        _ => Rule::Domain { name, scope: DomainScope::Subtree },
                    };
                    let hit = Hit { list: self.list_name(m.list()), action: m.action(), rule };
                    f(Found { hit, exact, specificity: name.len() });
                }
            }
            match suffix.split_once('.') {
                Some((_, parent)) if !parent.is_empty() => suffix = parent,
                _ => return,
            }
            top = false;
            labels = label_count(suffix.as_bytes());
        }
    }

    fn visit_ip<'a>(&'a self, ip: IpAddr, via: Via, f: &mut dyn FnMut(Found<'a>)) {
        let emit = |net: IpNetwork, members: &[Member], f: &mut dyn FnMut(Found<'a>)| {
            for m in members {
                if !via.rule_applies(m.action()) {
                    continue;
                }
                let hit = Hit { list: self.list_name(m.list()), action: m.action(), rule: Rule::Network(net) };
                // Specificity in the 128-bit space, where IPv4 /n is mapped /(96+n).
                let specificity = match net {
                    IpNetwork::V4 { len, .. } => 96 + usize::from(len),
                    IpNetwork::V6 { len, .. } => usize::from(len),
                };
                f(Found { hit, exact: net.is_host(), specificity });
            }
        };
        let v4 = match ip {
            IpAddr::V4(a) => Some(u32::from(a)),
            IpAddr::V6(a) => a.to_ipv4_mapped().map(u32::from),
        };
        if let Some(a) = v4 {
            if let Some((shard, slot)) = self.probe(TAG_V4, &a.to_be_bytes()) {
                emit(IpNetwork::V4 { addr: a, len: 32 }, shard.members(slot), f);
            }
            self.v4.walk(v4_key(a), 32, |len, members| {
                emit(IpNetwork::V4 { addr: a & mask32(len), len }, members, f);
            });
        }
        if let IpAddr::V6(a6) = ip {
            let a = u128::from(a6);
            if let Some((shard, slot)) = self.probe(TAG_V6, &a.to_be_bytes()) {
                emit(IpNetwork::V6 { addr: a, len: 128 }, shard.members(slot), f);
            }
            self.v6.walk(a, 128, |len, members| {
                emit(IpNetwork::V6 { addr: a & mask128(len), len }, members, f);
            });
        }
    }

    /// Heap bytes held (a snapshot shares unchanged parts with its clones;
    /// this counts them all as its own).
    pub fn memory_bytes(&self) -> usize {
        let lists: usize = self
            .lists
            .by_id
            .iter()
            .flatten()
            .map(|l| {
                std::mem::size_of::<ListInfo>()
                    + 2 * l.meta.name.len()
                    + l.meta.source.len()
                    + l.meta.title.len()
                    + l.meta.description.len()
                    + 24
            })
            .sum();
        self.shards.iter().map(|s| s.memory_bytes()).sum::<usize>()
            + self.v4.memory_bytes()
            + self.v6.memory_bytes()
            + lists
            + self.shards.capacity() * std::mem::size_of::<Arc<Shard>>()
    }

    /// Lists, rules and memory.
    pub fn stats(&self) -> IndexStats {
        let mut rules = RuleCounts::default();
        for l in self.lists() {
            rules.domains += l.rules.domains;
            rules.exact += l.rules.exact;
            rules.addresses += l.rules.addresses;
            rules.networks += l.rules.networks;
        }
        IndexStats { lists: self.lists().count(), rules, memory_bytes: self.memory_bytes() }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn meta(name: &str) -> ListMeta {
        ListMeta::admin(name)
    }

    fn domain(name: &str) -> Rule<'_> {
        Rule::Domain { name, scope: DomainScope::Subtree }
    }

    fn site(name: &str) -> Rule<'_> {
        Rule::Domain { name, scope: DomainScope::Site }
    }

    fn net(s: &str) -> Rule<'static> {
        Rule::Network(s.parse().unwrap())
    }

    fn list_of(ix: &AllowIndex, kind: Kind, v: &str) -> Option<String> {
        ix.check(kind, v).map(|h| h.list.to_string())
    }

    #[test]
    fn domain_rules_walk_parent_suffixes_only() {
        let mut ix = AllowIndex::new();
        ix.insert("banks", domain("bank.co.id"), ListAction::Refuse).unwrap();
        let hit = |v| list_of(&ix, Kind::Domain, v);
        assert_eq!(hit("bank.co.id").as_deref(), Some("banks"));
        assert_eq!(hit("login.bank.co.id").as_deref(), Some("banks"));
        assert_eq!(hit("a.b.login.bank.co.id").as_deref(), Some("banks"));
        assert_eq!(hit("bank.co.id.evil.com"), None);
        assert_eq!(hit("bank-palsu.co.id"), None);
        assert_eq!(hit("mybank.co.id"), None);
        assert_eq!(hit("co.id"), None);
        let h = ix.check(Kind::Domain, "login.bank.co.id").unwrap();
        assert_eq!(h.rule, domain("bank.co.id"));
        assert_eq!(h.action, ListAction::Refuse);
    }

    #[test]
    fn site_rules_stop_at_the_registrable_domain() {
        let mut ix = AllowIndex::new();
        ix.insert("top", site("google.com"), ListAction::Refuse).unwrap();
        ix.insert("top", site("blogspot.com"), ListAction::Refuse).unwrap();
        let hit = |v| list_of(&ix, Kind::Domain, v);
        assert_eq!(hit("mail.google.com").as_deref(), Some("top"));
        assert_eq!(hit("blogspot.com").as_deref(), Some("top"));
        // Someone else's site on a hosting platform the ranking lists.
        assert_eq!(hit("loker-kerja.blogspot.com"), None);
        assert_eq!(hit("www.loker-kerja.blogspot.com"), None);
        // A subtree rule for the same name does cover them.
        ix.insert("platforms", domain("blogspot.com"), ListAction::Refuse).unwrap();
        assert_eq!(list_of(&ix, Kind::Domain, "loker-kerja.blogspot.com").as_deref(), Some("platforms"));
    }

    #[test]
    fn exact_domains_match_only_themselves() {
        let mut ix = AllowIndex::new();
        ix.insert("cisco", Rule::Exact { kind: Kind::Domain, value: "google.com" }, ListAction::Refuse).unwrap();
        assert_eq!(list_of(&ix, Kind::Domain, "google.com").as_deref(), Some("cisco"));
        assert_eq!(list_of(&ix, Kind::Domain, "mail.google.com"), None);
        assert_eq!(list_of(&ix, Kind::Url, "https://google.com/"), None);
    }

    #[test]
    fn urls_meet_domain_rules_through_their_host() {
        let mut ix = AllowIndex::new();
        ix.insert("platforms", domain("facebook.com"), ListAction::Refuse).unwrap();
        ix.insert("shorteners", domain("bit.ly"), ListAction::Review).unwrap();
        let url = |v| ix.check(Kind::Url, v).map(|h| (h.list, h.action));
        assert_eq!(url("https://www.facebook.com/"), Some(("platforms", ListAction::Refuse)));
        assert_eq!(url("https://www.facebook.com"), Some(("platforms", ListAction::Refuse)));
        assert_eq!(url("http://facebook.com:8080/"), Some(("platforms", ListAction::Refuse)));
        assert_eq!(url("https://www.facebook.com/groups/loker"), None);
        assert_eq!(url("https://www.facebook.com/?id=1"), None);
        assert_eq!(url("https://bit.ly/abc"), Some(("shorteners", ListAction::Review)));
        assert_eq!(url("https://bit.ly.evil.com/abc"), None);
        ix.insert("pages", Rule::Exact { kind: Kind::Url, value: "https://x.com/a" }, ListAction::Refuse).unwrap();
        assert_eq!(list_of(&ix, Kind::Url, "https://x.com/a").as_deref(), Some("pages"));
        assert_eq!(list_of(&ix, Kind::Url, "https://x.com/b"), None);
    }

    #[test]
    fn other_kinds_match_exact_values_only() {
        let mut ix = AllowIndex::new();
        ix.insert("free-mail", domain("gmail.com"), ListAction::Refuse).unwrap();
        ix.insert("hotlines", Rule::Exact { kind: Kind::Phone, value: "+62811000111" }, ListAction::Refuse).unwrap();
        assert_eq!(list_of(&ix, Kind::Email, "rekrut.kerja@gmail.com"), None);
        assert_eq!(list_of(&ix, Kind::Phone, "+62811000111").as_deref(), Some("hotlines"));
        assert_eq!(list_of(&ix, Kind::Phone, "+62811000112"), None);
        // Same text, other kind.
        assert_eq!(list_of(&ix, Kind::SocialHandle, "+62811000111"), None);
    }

    #[test]
    fn networks_match_inside_their_prefix_only() {
        let mut ix = AllowIndex::new();
        ix.insert("rfc1918", net("10.0.0.0/8"), ListAction::Refuse).unwrap();
        ix.insert("rfc1918", net("172.16.0.0/12"), ListAction::Refuse).unwrap();
        ix.insert("dns", net("8.8.8.8"), ListAction::Refuse).unwrap();
        ix.insert("doc6", net("2001:db8::/32"), ListAction::Refuse).unwrap();
        ix.insert("mapped", net("::ffff:0:0/96"), ListAction::Review).unwrap();
        let ip = |v| list_of(&ix, Kind::Ip, v);
        assert_eq!(ip("10.0.0.0").as_deref(), Some("rfc1918"));
        assert_eq!(ip("10.255.255.255").as_deref(), Some("rfc1918"));
        assert_eq!(ip("11.0.0.0"), None);
        assert_eq!(ip("9.255.255.255"), None);
        assert_eq!(ip("172.31.255.255").as_deref(), Some("rfc1918"));
        assert_eq!(ip("172.32.0.0"), None);
        assert_eq!(ip("172.15.255.255"), None);
        assert_eq!(ip("8.8.8.8").as_deref(), Some("dns"));
        assert_eq!(ip("8.8.8.9"), None);
        assert_eq!(ip("2001:db8:ffff::1").as_deref(), Some("doc6"));
        assert_eq!(ip("2001:db9::1"), None);
        // A mapped address is its IPv4 address too; the IPv4 rule (refuse)
        // outranks the mapped-space rule (review).
        let all: Vec<_> = ix.check_all(Kind::Ip, "::ffff:10.1.2.3").into_iter().map(|h| h.list).collect();
        assert_eq!(all, vec!["rfc1918", "mapped"]);
        assert_eq!(ip("::ffff:8.8.8.8").as_deref(), Some("dns"));
        // A plain IPv4 address never meets IPv6 rules.
        assert_eq!(ip("11.0.0.1"), None);
        let h = ix.check(Kind::Ip, "10.9.9.9").unwrap();
        assert_eq!(h.rule, net("10.0.0.0/8"));
        // URLs with an IP host: whole site only for refuse rules.
        assert_eq!(list_of(&ix, Kind::Url, "http://10.0.0.1/").as_deref(), Some("rfc1918"));
        assert_eq!(list_of(&ix, Kind::Url, "http://10.0.0.1/login"), None);
        assert_eq!(list_of(&ix, Kind::Url, "http://[2001:db8::1]/").as_deref(), Some("doc6"));
    }

    #[test]
    fn ranking_puts_refuse_then_exact_then_specific_first() {
        let mut ix = AllowIndex::new();
        ix.insert("review-exact", Rule::Exact { kind: Kind::Domain, value: "a.bank.co.id" }, ListAction::Review)
            .unwrap();
        ix.insert("broad", domain("bank.co.id"), ListAction::Refuse).unwrap();
        ix.insert("narrow", domain("a.bank.co.id"), ListAction::Refuse).unwrap();
        ix.insert("refuse-exact", Rule::Exact { kind: Kind::Domain, value: "a.bank.co.id" }, ListAction::Refuse)
            .unwrap();
        let all: Vec<_> = ix.check_all(Kind::Domain, "a.bank.co.id").into_iter().map(|h| h.list).collect();
        assert_eq!(all, vec!["refuse-exact", "narrow", "broad", "review-exact"]);
        assert_eq!(ix.check(Kind::Domain, "a.bank.co.id").unwrap().list, "refuse-exact");
    }

    #[test]
    fn insert_and_remove_per_rule() {
        let mut ix = AllowIndex::new();
        ix.insert("a", domain("example.com"), ListAction::Refuse).unwrap();
        ix.insert("b", domain("example.com"), ListAction::Review).unwrap();
        ix.insert("a", domain("example.com"), ListAction::Review).unwrap();
        assert_eq!(ix.list("a").unwrap().rules.domains, 1, "re-adding replaces");
        let all: Vec<_> = ix.check_all(Kind::Domain, "example.com").into_iter().map(|h| (h.list, h.action)).collect();
        assert_eq!(all.len(), 2);
        assert!(ix.remove("a", domain("example.com")));
        assert!(!ix.remove("a", domain("example.com")));
        assert_eq!(ix.check(Kind::Domain, "example.com").unwrap().list, "b");
        assert!(ix.remove("b", domain("example.com")));
        assert_eq!(ix.check(Kind::Domain, "example.com"), None);
        ix.insert("n", net("10.0.0.0/8"), ListAction::Refuse).unwrap();
        ix.insert("n", net("10.0.0.1"), ListAction::Refuse).unwrap();
        assert!(ix.remove("n", net("10.0.0.0/8")));
        assert!(!ix.remove("n", net("10.0.0.0/9")));
        assert_eq!(ix.check(Kind::Ip, "10.0.0.2"), None);
        assert_eq!(ix.check(Kind::Ip, "10.0.0.1").unwrap().list, "n");
        assert_eq!(ix.list("n").unwrap().rules, RuleCounts { addresses: 1, ..RuleCounts::default() });
    }

    #[test]
    fn set_list_replaces_whole_and_clones_keep_the_old() {
        let mut ix = AllowIndex::new();
        ix.insert("other", domain("shared.example"), ListAction::Refuse).ok();
        let mut v1 = RuleSet::new();
        v1.push(domain("old.example.com"), ListAction::Refuse);
        v1.push(domain("shared.example"), ListAction::Refuse);
        v1.push(net("192.0.2.0/24"), ListAction::Refuse);
        let mut m1 = meta("misp-x");
        m1.version = Some(1);
        ix.set_list(m1, &v1).unwrap();
        let before = ix.clone();
        let mut v2 = RuleSet::new();
        v2.push(domain("new.example.com"), ListAction::Refuse);
        v2.push(net("198.51.100.0/24"), ListAction::Refuse);
        let mut m2 = meta("misp-x");
        m2.version = Some(2);
        ix.set_list(m2, &v2).unwrap();
        assert_eq!(list_of(&ix, Kind::Domain, "old.example.com"), None);
        assert_eq!(list_of(&ix, Kind::Domain, "new.example.com").as_deref(), Some("misp-x"));
        assert_eq!(list_of(&ix, Kind::Ip, "192.0.2.1"), None);
        assert_eq!(list_of(&ix, Kind::Ip, "198.51.100.1").as_deref(), Some("misp-x"));
        assert_eq!(list_of(&ix, Kind::Domain, "shared.example").as_deref(), Some("other"));
        assert_eq!(ix.list("misp-x").unwrap().meta.version, Some(2));
        assert_eq!(ix.list("misp-x").unwrap().rules, RuleCounts { domains: 1, networks: 1, ..RuleCounts::default() });
        // The clone taken before is the old list, whole.
        assert_eq!(list_of(&before, Kind::Domain, "old.example.com").as_deref(), Some("misp-x"));
        assert_eq!(list_of(&before, Kind::Domain, "new.example.com"), None);
        assert_eq!(before.list("misp-x").unwrap().meta.version, Some(1));
        assert!(ix.remove_list("misp-x"));
        assert_eq!(list_of(&ix, Kind::Domain, "new.example.com"), None);
        assert!(ix.list("misp-x").is_none());
        assert_eq!(ix.stats().lists, 1);
    }

    #[test]
    fn memory_is_accounted_and_tight() {
        let mut ix = AllowIndex::new();
        let empty = ix.memory_bytes();
        let mut rules = RuleSet::new();
        let names: Vec<String> = (0..100_000).map(|i| format!("site{i:06}.example{}.com", i % 7)).collect();
        for n in &names {
            rules.push(site(n), ListAction::Refuse);
        }
        ix.set_list(meta("big"), &rules).unwrap();
        let per_rule = (ix.memory_bytes() - empty) / names.len();
        // Names here are 22-23 bytes: 26 in the arena, a slot and its
        // control byte at hashbrown's load.
        assert!(per_rule < 64, "{per_rule} bytes per rule");
        assert_eq!(ix.stats().rules.domains, 100_000);
        assert!(ix.check(Kind::Domain, "www.site000042.example0.com").is_some());
    }

    #[test]
    fn url_hosts_split() {
        assert_eq!(url_host("https://a.b/"), Some(("a.b", true)));
        assert_eq!(url_host("https://a.b"), Some(("a.b", true)));
        assert_eq!(url_host("https://a.b:8443/x"), Some(("a.b", false)));
        assert_eq!(url_host("https://a.b/?q"), Some(("a.b", false)));
        assert_eq!(url_host("http://[2001:db8::1]:80/"), Some(("2001:db8::1", true)));
        assert_eq!(url_host("nonsense"), None);
    }
}
