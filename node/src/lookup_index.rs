//! The in-memory side of lookups: who asserted which value, without touching
//! the store on the hot path.
//!
//! Two parts, both derived from the store (the log and its index keyspace are
//! the truth; nothing here is persisted):
//! - a membership set of 64-bit keyed hashes of every indexed (kind, value),
//!   built by scanning the index at start. It answers "not listed", the usual
//!   answer to a platform checking a number or a domain, in one hash probe.
//!   A hash collision only costs a store read.
//! - a bounded cache of what the store holds about listed values (each
//!   origin's current assertion and the feedback events), so a hot value is
//!   answered from memory. When a shard is full, the entry cached longest
//!   ago is evicted (first in, first out: constant time per insertion).
//!
//! The ledger calls [`LookupIndex::touch`] for every value a commit changed,
//! after the commit is durable and before it is acknowledged, so a reader
//! sees its own writes. A reader that loads a value from the store while a
//! commit touches it does not cache what it read (a per-shard generation).
//! On a shared store ([`LookupIndex::cache_commits`]) a value no origin
//! asserted before, the usual case of a new indicator, is cached as it was
//! written ([`Fresh`]): the commit holds the whole answer (its one
//! assertion, no feedback), so its first lookup needs no round trip to the
//! database. Followers touch what they read from the log the same way, so a
//! lookup process answers new values from memory too. Every other touched
//! value is dropped from the cache and read again.

use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState};
use std::sync::{Arc, RwLock};

use crate::envelope::Indicator;
use crate::feedback::FeedbackEvent;
use crate::model::Kind;

const SHARDS: usize = 16;

/// What the store holds about one (kind, value).
#[derive(Debug, Clone, Default)]
pub struct Held {
    /// Each origin's current assertion: (origin, indicator).
    pub assertions: Vec<(String, Indicator)>,
    /// Feedback events about the value, oldest first.
    pub events: Vec<FeedbackEvent>,
}

/// A value a commit changed, in the order the commit changed them.
#[derive(Debug)]
pub enum Touch {
    /// An assertion of the value was indexed. With [`Fresh`] when the
    /// assertion may be all there is to answer (its origin asserted nothing
    /// before): if no other origin did either, and no feedback is filed
    /// about it, it is cached as it is.
    Asserted(ValueKey, Option<Box<Fresh>>),
    /// A feedback event about the value was filed.
    Feedback(ValueKey),
}

/// An assertion as its commit indexed it.
#[derive(Debug)]
pub struct Fresh {
    /// Whose assertion it is.
    pub origin: String,
    /// The indicator (its kind and value, as stored, name the value).
    pub indicator: Indicator,
}

/// Most bytes an indicator may take in memory to be cached as its commit
/// wrote it. Peers choose what they send: a cache filled by their commits
/// is bounded by the cache's entries times this, not by the largest entry
/// the log takes (64 KiB). A typical indicator takes under 1 KiB.
pub const FRESH_MAX_BYTES: usize = 2048;

impl Fresh {
    /// Whether `indicator` is small enough to be cached as written
    /// ([`FRESH_MAX_BYTES`]); a larger one is read when first asked.
    pub fn fits(indicator: &Indicator) -> bool {
        let strings = indicator.id.len()
            + indicator.value.as_str().len()
            + indicator.description.as_ref().map_or(0, String::len)
            + indicator.source_refs.iter().map(|r| r.len() + size_of::<String>()).sum::<usize>()
            + indicator.categories.len()
            + indicator.reach.len() * size_of::<crate::envelope::Marking>();
        size_of::<Indicator>() + strings <= FRESH_MAX_BYTES
    }
}

/// A hasher for keys that are already uniformly random 64-bit hashes.
#[derive(Debug, Default)]
struct Passthrough(u64);

impl Hasher for Passthrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type Members = HashSet<u64, BuildHasherDefault<Passthrough>>;

/// The keyed hash of a (kind, value) in one [`LookupIndex`] (its keys are
/// per process: meaningless to another index).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValueKey(u64);

/// A cached value: its (kind, value), checked on every hit because two
/// values can share a 64-bit hash, and what is held about it.
type Cached = (Kind, Box<str>, Arc<Held>);

/// One of [`SHARDS`] parts, by the high bits of the hash: a lookup takes one
/// shard's read lock for both the membership probe and the cache, and
/// concurrent lookups rarely share a lock.
#[derive(Debug, Default)]
struct Shard {
    /// Hashes of the indexed values of this shard.
    members: Members,
    /// By the keyed hash of (kind, value).
    map: HashMap<u64, Cached, BuildHasherDefault<Passthrough>>,
    /// The keys of `map` in the order they were cached, oldest first, and
    /// keys since dropped by a touch until they come up (a value cached
    /// again after a touch may so leave the cache early).
    order: VecDeque<u64>,
    generation: u64,
}

/// Membership set and bounded cache; see the module docs.
#[derive(Debug)]
pub struct LookupIndex {
    /// SipHash with per-process random keys: values are chosen by outsiders.
    hasher: RandomState,
    /// Values some feedback event is about (most values have none).
    with_feedback: RwLock<Members>,
    shards: Vec<RwLock<Shard>>,
    per_shard: usize,
    /// See [`LookupIndex::cache_commits`].
    commits: std::sync::atomic::AtomicBool,
    /// Every origin that may have an assertion indexed, sorted: a value not
    /// in the cache is read with one point read per origin.
    origins: RwLock<Arc<[String]>>,
}

impl Default for LookupIndex {
    fn default() -> Self {
        LookupIndex::new(0)
    }
}

impl LookupIndex {
    /// An empty index caching at most `cache_entries` values (0: no cache).
    pub fn new(cache_entries: usize) -> LookupIndex {
        LookupIndex {
            hasher: RandomState::new(),
            with_feedback: RwLock::new(Members::default()),
            shards: (0..SHARDS).map(|_| RwLock::new(Shard::default())).collect(),
            per_shard: cache_entries.div_ceil(SHARDS),
            commits: std::sync::atomic::AtomicBool::new(false),
            origins: RwLock::new(Arc::from(Vec::new())),
        }
    }

    /// The origins that may have assertions, sorted.
    pub fn origins(&self) -> Arc<[String]> {
        self.origins.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Sets the origins that may have assertions: at load, and by the writer
    /// when a commit adds one, before it touches that origin's values.
    pub fn set_origins<'a>(&self, origins: impl IntoIterator<Item = &'a str>) {
        let mut sorted: Vec<String> = origins.into_iter().map(str::to_string).collect();
        sorted.sort_unstable();
        sorted.dedup();
        *self.origins.write().unwrap_or_else(|p| p.into_inner()) = Arc::from(sorted);
    }

    fn hash(&self, kind: Kind, value: &str) -> u64 {
        let mut h = self.hasher.build_hasher();
        h.write(kind.as_str().as_bytes());
        h.write_u8(0);
        h.write(value.as_bytes());
        h.finish()
    }

    fn shard(&self, hash: u64) -> &RwLock<Shard> {
        // The low bits pick the bucket inside a shard's map; use high ones.
        &self.shards[(hash >> 60) as usize % SHARDS]
    }

    /// Records that (kind, value) is indexed; used while loading.
    pub fn insert_member(&self, kind: Kind, value: &str) {
        let h = self.hash(kind, value);
        self.shard(h).write().unwrap_or_else(|p| p.into_inner()).members.insert(h);
    }

    /// Records that a feedback event about (kind, value) is held; used
    /// while loading.
    pub fn insert_feedback(&self, kind: Kind, value: &str) {
        let h = self.hash(kind, value);
        self.with_feedback.write().unwrap_or_else(|p| p.into_inner()).insert(h);
    }

    /// Whether feedback about (kind, value) may be held: false means none.
    pub fn may_have_feedback(&self, kind: Kind, value: &str) -> bool {
        self.may_have_feedback_hash(self.hash(kind, value))
    }

    /// Whether (kind, value) may be indexed: false means certainly not.
    pub fn may_contain(&self, kind: Kind, value: &str) -> bool {
        let h = self.hash(kind, value);
        self.shard(h).read().unwrap_or_else(|p| p.into_inner()).members.contains(&h)
    }

    /// Number of distinct values known to be listed (upper bound: values
    /// whose assertions were all superseded still count).
    pub fn members(&self) -> usize {
        self.shards.iter().map(|s| s.read().unwrap_or_else(|p| p.into_inner()).members.len()).sum()
    }

    /// The keyed hash this index files (kind, value) under.
    pub fn key(&self, kind: Kind, value: &str) -> ValueKey {
        ValueKey(self.hash(kind, value))
    }

    /// Whether commits cache the values they list ([`Fresh`]): set on a
    /// shared store, where a value's first read is a round trip to the
    /// database. On an embedded store a first read is local and cheaper
    /// than caching every new value on the writer's path (about 13% of
    /// fjall's ingest rate, BENCHMARKS.md), so values are cached when asked.
    pub fn cache_commits(&self, on: bool) {
        self.commits.store(on, std::sync::atomic::Ordering::Relaxed);
    }

    /// Whether a commit's first assertion of a value, `indicator`, is
    /// worth a [`Fresh`] touch: a cache (size above 0) that commits fill
    /// ([`LookupIndex::cache_commits`]), and an indicator that fits
    /// ([`FRESH_MAX_BYTES`]). The writer and followers ask before they make
    /// one; [`LookupIndex::touch`] keeps only those.
    pub fn wants_fresh(&self, indicator: &Indicator) -> bool {
        self.per_shard > 0 && self.commits.load(std::sync::atomic::Ordering::Relaxed) && Fresh::fits(indicator)
    }

    /// Called by the writer for every value a durable commit changed, and
    /// by followers for every entry they read from the log (by the value's
    /// [`LookupIndex::key`]): the value becomes a member, and its cache
    /// entry is dropped, or, for a value new to the index with a
    /// [`Fresh`] assertion, set to that assertion alone.
    pub fn touch(&self, touches: Vec<Touch>) {
        if touches.iter().any(|t| matches!(t, Touch::Feedback(_))) {
            let mut with = self.with_feedback.write().unwrap_or_else(|p| p.into_inner());
            with.extend(touches.iter().filter_map(|t| match t {
                Touch::Feedback(k) => Some(k.0),
                Touch::Asserted(..) => None,
            }));
        }
        for touch in touches {
            let (h, fresh) = match touch {
                Touch::Feedback(ValueKey(h)) => {
                    let mut shard = self.shard(h).write().unwrap_or_else(|p| p.into_inner());
                    shard.generation += 1;
                    shard.map.remove(&h);
                    continue;
                }
                Touch::Asserted(ValueKey(h), fresh) => (h, fresh),
            };
            // Feedback filed before any assertion belongs in the answer.
            let fresh = fresh.filter(|f| self.wants_fresh(&f.indicator) && !self.may_have_feedback_hash(h));
            // Removing by hash also drops a colliding value: it is re-read.
            let mut shard = self.shard(h).write().unwrap_or_else(|p| p.into_inner());
            let new = shard.members.insert(h);
            shard.generation += 1;
            match fresh {
                Some(fresh) if new => {
                    let Fresh { origin, indicator } = *fresh;
                    let (kind, value) = (indicator.kind, Box::from(indicator.value.as_str()));
                    let held = Arc::new(Held { assertions: vec![(origin, indicator)], events: Vec::new() });
                    self.insert(&mut shard, h, (kind, value, held));
                }
                _ => {
                    shard.map.remove(&h);
                }
            }
        }
    }

    fn may_have_feedback_hash(&self, h: u64) -> bool {
        self.with_feedback.read().unwrap_or_else(|p| p.into_inner()).contains(&h)
    }

    /// Caches `cached` under `h`, evicting the oldest entries of a full
    /// shard first.
    fn insert(&self, shard: &mut Shard, h: u64, cached: Cached) {
        if shard.map.insert(h, cached).is_some() {
            return;
        }
        shard.order.push_back(h);
        while shard.map.len() > self.per_shard {
            match shard.order.pop_front() {
                Some(oldest) => {
                    shard.map.remove(&oldest);
                }
                None => break,
            }
        }
        // Keys dropped by touches stay in `order` until they come up; once
        // they are most of it, it is rebuilt from what is cached.
        if shard.order.len() > 2 * self.per_shard + 64 {
            let Shard { map, order, .. } = shard;
            order.retain(|k| map.contains_key(k));
        }
    }

    /// What is held about (kind, value): `None` when it is certainly not
    /// listed, else the cached entry or what `load` reads from the store
    /// (then cached, unless a commit touched the shard meanwhile).
    ///
    /// # Errors
    ///
    /// Whatever `load` returns.
    pub fn get<E>(
        &self,
        kind: Kind,
        value: &str,
        load: impl FnOnce() -> Result<Held, E>,
    ) -> Result<Option<Arc<Held>>, E> {
        let h = self.hash(kind, value);
        let generation = match self.probe(h, kind, value) {
            None => return Ok(None),
            Some(Ok(held)) => return Ok(Some(held)),
            Some(Err(generation)) => generation,
        };
        let held = Arc::new(load()?);
        self.keep(h, generation, kind, value, &held);
        Ok(Some(held))
    }

    /// The cached entry of `h`, or the shard's generation to load it under;
    /// `None` when (kind, value) is certainly not listed.
    fn probe(&self, h: u64, kind: Kind, value: &str) -> Option<Result<Arc<Held>, u64>> {
        let shard = self.shard(h).read().unwrap_or_else(|p| p.into_inner());
        if !shard.members.contains(&h) {
            return None;
        }
        match shard.map.get(&h) {
            Some((k, v, held)) if *k == kind && **v == *value => Some(Ok(held.clone())),
            _ => Some(Err(shard.generation)),
        }
    }

    /// Caches what was loaded under `generation`, unless a commit touched
    /// the shard since (then it may be stale).
    fn keep(&self, h: u64, generation: u64, kind: Kind, value: &str, held: &Arc<Held>) {
        if self.per_shard == 0 {
            return;
        }
        let mut shard = self.shard(h).write().unwrap_or_else(|p| p.into_inner());
        if shard.generation != generation {
            return;
        }
        self.insert(&mut shard, h, (kind, value.into(), held.clone()));
    }

    /// [`LookupIndex::get`] for many values at once: in the order of
    /// `values`, `None` for those certainly not listed. `load` is called at
    /// most once, with the values neither unlisted nor cached, in order,
    /// and returns what is held about each of them, in the same order (a
    /// value it gives nothing for counts as holding nothing).
    ///
    /// # Errors
    ///
    /// Whatever `load` returns.
    pub fn get_many<E>(
        &self,
        values: &[(Kind, &str)],
        load: impl FnOnce(&[(Kind, &str)]) -> Result<Vec<Held>, E>,
    ) -> Result<Vec<Option<Arc<Held>>>, E> {
        let mut out = Vec::with_capacity(values.len());
        // (position in `values`, hash, generation) of each value to load.
        let mut misses = Vec::new();
        for (i, &(kind, value)) in values.iter().enumerate() {
            let h = self.hash(kind, value);
            out.push(match self.probe(h, kind, value) {
                None => None,
                Some(Ok(held)) => Some(held),
                Some(Err(generation)) => {
                    misses.push((i, h, generation));
                    None
                }
            });
        }
        if misses.is_empty() {
            return Ok(out);
        }
        let wanted: Vec<(Kind, &str)> = misses.iter().map(|(i, ..)| values[*i]).collect();
        let mut loaded = load(&wanted)?.into_iter();
        for (i, h, generation) in misses {
            let held = Arc::new(loaded.next().unwrap_or_default());
            let (kind, value) = values[i];
            self.keep(h, generation, kind, value, &held);
            out[i] = Some(held);
        }
        Ok(out)
    }

    /// Values cached now.
    pub fn cached(&self) -> usize {
        self.shards.iter().map(|s| s.read().unwrap_or_else(|p| p.into_inner()).map.len()).sum()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::convert::Infallible;

    fn held(n: usize) -> Held {
        Held { assertions: Vec::with_capacity(n), events: Vec::new() }
    }

    #[test]
    fn unlisted_values_never_reach_the_store() {
        let idx = LookupIndex::new(100);
        let r = idx.get::<Infallible>(Kind::Domain, "example.com", || panic!("loaded an unlisted value")).unwrap();
        assert!(r.is_none());
        idx.insert_member(Kind::Domain, "example.com");
        assert!(
            idx.get::<Infallible>(Kind::Url, "example.com", || panic!("kind is part of the key")).unwrap().is_none()
        );
        assert!(idx.get::<Infallible>(Kind::Domain, "example.com", || Ok(held(1))).unwrap().is_some());
    }

    #[test]
    fn cached_until_touched() {
        let idx = LookupIndex::new(100);
        idx.insert_member(Kind::Domain, "a.test");
        let loads = std::cell::Cell::new(0);
        let load = || {
            loads.set(loads.get() + 1);
            Ok::<_, Infallible>(held(loads.get()))
        };
        idx.get(Kind::Domain, "a.test", load).unwrap();
        idx.get(Kind::Domain, "a.test", load).unwrap();
        assert_eq!(loads.get(), 1, "second lookup served from memory");
        idx.touch(vec![Touch::Asserted(idx.key(Kind::Domain, "a.test"), None)]);
        let again = idx.get(Kind::Domain, "a.test", load).unwrap().unwrap();
        assert_eq!(loads.get(), 2, "a touched value is read again");
        assert_eq!(again.assertions.capacity(), 2);
    }

    #[test]
    fn touch_makes_new_values_visible() {
        let idx = LookupIndex::new(100);
        idx.touch(vec![Touch::Asserted(idx.key(Kind::Phone, "+6281234567890"), None)]);
        assert!(idx.get::<Infallible>(Kind::Phone, "+6281234567890", || Ok(held(0))).unwrap().is_some());
        assert_eq!(idx.members(), 1);
    }

    fn fresh(idx: &LookupIndex, origin: &str, value: &str) -> Touch {
        let indicator = fresh_indicator(value);
        Touch::Asserted(idx.key(Kind::Domain, value), Some(Box::new(Fresh { origin: origin.into(), indicator })))
    }

    fn fresh_indicator(value: &str) -> Indicator {
        Indicator {
            id: format!("ID-{value}"),
            kind: Kind::Domain,
            value: crate::envelope::Value::Plain(value.into()),
            categories: vec![crate::model::Category::JobScam],
            confidence: crate::model::Confidence::try_from(80).unwrap(),
            tlp: crate::model::Tlp::Green,
            distribution: crate::model::Distribution::Federation,
            first_seen_ms: 1,
            last_seen_ms: 1,
            valid_until_ms: None,
            action: crate::model::Action::Upsert,
            version: 1,
            description: None,
            source_refs: Vec::new(),
            reach: Vec::new(),
        }
    }

    fn origins_of(held: &Held) -> Vec<&str> {
        held.assertions.iter().map(|(o, _)| o.as_str()).collect()
    }

    #[test]
    fn a_new_value_is_cached_as_written_and_anything_else_read_again() {
        let idx = LookupIndex::new(100);
        idx.cache_commits(true);
        idx.touch(vec![fresh(&idx, "ID", "new.test")]);
        let got = idx.get::<Infallible>(Kind::Domain, "new.test", || panic!("read a value its commit held")).unwrap();
        assert_eq!(origins_of(&got.unwrap()), ["ID"]);
        assert!(
            idx.get::<Infallible>(Kind::Url, "new.test", || Ok(held(0))).unwrap().is_none(),
            "the cached value is only its own kind's"
        );

        // A second origin's first assertion: the answer has both, so the
        // store is read.
        idx.touch(vec![fresh(&idx, "VN", "new.test")]);
        let loads = std::cell::Cell::new(0);
        idx.get::<Infallible>(Kind::Domain, "new.test", || {
            loads.set(loads.get() + 1);
            Ok(held(2))
        })
        .unwrap();
        assert_eq!(loads.get(), 1, "a value asserted before is read again");

        // Two origins in one commit: only the store knows both.
        idx.touch(vec![fresh(&idx, "ID", "both.test"), fresh(&idx, "VN", "both.test")]);
        assert!(idx.get::<Infallible>(Kind::Domain, "both.test", || Ok(held(9))).unwrap().is_some());
        assert_eq!(
            idx.get::<Infallible>(Kind::Domain, "both.test", || Ok(held(0))).unwrap().unwrap().assertions.capacity(),
            9
        );

        // Feedback filed before the first assertion belongs in the answer.
        idx.touch(vec![Touch::Feedback(idx.key(Kind::Domain, "told.test"))]);
        idx.touch(vec![fresh(&idx, "ID", "told.test")]);
        let got = idx.get::<Infallible>(Kind::Domain, "told.test", || Ok(held(5))).unwrap().unwrap();
        assert_eq!(got.assertions.capacity(), 5, "read with its feedback");

        // An indicator larger than a typical one is read when asked.
        let mut big = fresh_indicator("big.test");
        big.description = Some("x".repeat(FRESH_MAX_BYTES));
        assert!(!Fresh::fits(&big) && Fresh::fits(&fresh_indicator("big.test")));
        let key = idx.key(Kind::Domain, "big.test");
        idx.touch(vec![Touch::Asserted(key, Some(Box::new(Fresh { origin: "ID".into(), indicator: big })))]);
        assert!(idx.may_contain(Kind::Domain, "big.test"));
        let got = idx.get::<Infallible>(Kind::Domain, "big.test", || Ok(held(3))).unwrap().unwrap();
        assert_eq!(got.assertions.capacity(), 3, "read from the store");

        // Without a cache, nothing is kept, but the value is listed.
        let none = LookupIndex::new(0);
        none.cache_commits(true);
        none.touch(vec![fresh(&none, "ID", "new.test")]);
        assert_eq!(none.cached(), 0);
        assert!(none.may_contain(Kind::Domain, "new.test"));
        // Unless told (a shared store), commits cache nothing.
        let embedded = LookupIndex::new(100);
        embedded.touch(vec![fresh(&embedded, "ID", "new.test")]);
        assert_eq!(embedded.cached(), 0, "cached when asked");
        assert!(embedded.may_contain(Kind::Domain, "new.test"));
    }

    #[test]
    fn fresh_values_stay_within_the_bound() {
        let idx = LookupIndex::new(32);
        idx.cache_commits(true);
        idx.touch((0..1000).map(|i| fresh(&idx, "ID", &format!("d{i}.test"))).collect());
        assert!(idx.cached() <= 32, "{}", idx.cached());
        assert!(idx.cached() >= 16, "{}", idx.cached());
        assert_eq!(idx.members(), 1000);
        // The newest stays; the oldest went first.
        assert!(idx.get::<Infallible>(Kind::Domain, "d999.test", || panic!("evicted the newest")).unwrap().is_some());
        let loads = std::cell::Cell::new(0);
        idx.get::<Infallible>(Kind::Domain, "d0.test", || {
            loads.set(1);
            Ok(held(0))
        })
        .unwrap();
        assert_eq!(loads.get(), 1, "the oldest was evicted");
    }

    #[test]
    fn feedback_is_tracked_apart_and_refreshes_the_cache() {
        let idx = LookupIndex::new(100);
        idx.touch(vec![Touch::Asserted(idx.key(Kind::Domain, "f.test"), None)]);
        assert!(!idx.may_have_feedback(Kind::Domain, "f.test"));
        idx.get::<Infallible>(Kind::Domain, "f.test", || Ok(held(0))).unwrap();
        idx.touch(vec![Touch::Feedback(idx.key(Kind::Domain, "f.test"))]);
        assert!(idx.may_have_feedback(Kind::Domain, "f.test"));
        assert_eq!(idx.cached(), 0, "feedback changes the answer");
        assert_eq!(idx.members(), 1);
    }

    #[test]
    fn a_load_racing_a_commit_is_not_cached() {
        let idx = LookupIndex::new(100);
        idx.insert_member(Kind::Domain, "race.test");
        // The commit lands while the reader is reading the store.
        idx.get::<Infallible>(Kind::Domain, "race.test", || {
            idx.touch(vec![Touch::Asserted(idx.key(Kind::Domain, "race.test"), None)]);
            Ok(held(0))
        })
        .unwrap();
        assert_eq!(idx.cached(), 0, "what the reader read may be stale");
    }

    #[test]
    fn many_values_are_loaded_in_one_call_and_cached() {
        let idx = LookupIndex::new(100);
        for v in ["a.test", "b.test", "c.test"] {
            idx.insert_member(Kind::Domain, v);
        }
        idx.get::<Infallible>(Kind::Domain, "b.test", || Ok(held(7))).unwrap();
        let calls = std::cell::RefCell::new(Vec::new());
        let load = |wanted: &[(Kind, &str)]| {
            calls.borrow_mut().push(wanted.iter().map(|(_, v)| v.to_string()).collect::<Vec<_>>());
            Ok::<_, Infallible>(wanted.iter().map(|(_, v)| held(v.len())).collect())
        };
        let asked = [
            (Kind::Domain, "a.test"),
            (Kind::Domain, "x.test"),
            (Kind::Domain, "b.test"),
            (Kind::Url, "c.test"),
            (Kind::Domain, "c.test"),
        ];
        let got = idx.get_many(&asked, load).unwrap();
        assert_eq!(
            *calls.borrow(),
            vec![vec!["a.test".to_string(), "c.test".to_string()]],
            "only listed, uncached values are loaded, once"
        );
        let caps: Vec<Option<usize>> = got.iter().map(|h| h.as_ref().map(|h| h.assertions.capacity())).collect();
        assert_eq!(caps, vec![Some(6), None, Some(7), None, Some(6)]);
        idx.get_many(&asked, load).unwrap();
        assert_eq!(calls.borrow().len(), 1, "the second time, all from memory");
        // A load racing a commit is answered but not kept.
        idx.touch(vec![Touch::Asserted(idx.key(Kind::Domain, "a.test"), None)]);
        idx.get_many(&[(Kind::Domain, "a.test")], |w| {
            idx.touch(vec![Touch::Asserted(idx.key(Kind::Domain, "a.test"), None)]);
            load(w)
        })
        .unwrap();
        idx.get_many(&[(Kind::Domain, "a.test")], load).unwrap();
        assert_eq!(calls.borrow().len(), 3, "what raced a commit was read again");
        // A loader that gives too few answers leaves the rest holding nothing.
        let idx = LookupIndex::new(0);
        idx.insert_member(Kind::Domain, "a.test");
        idx.insert_member(Kind::Domain, "b.test");
        let got = idx
            .get_many(&[(Kind::Domain, "a.test"), (Kind::Domain, "b.test")], |_| Ok::<_, Infallible>(vec![held(3)]))
            .unwrap();
        assert_eq!(got[0].as_ref().unwrap().assertions.capacity(), 3);
        assert!(got[1].as_ref().unwrap().assertions.is_empty());
    }

    #[test]
    fn the_cache_is_bounded() {
        let idx = LookupIndex::new(32);
        for i in 0..1000 {
            let v = format!("d{i}.test");
            idx.insert_member(Kind::Domain, &v);
            idx.get::<Infallible>(Kind::Domain, &v, || Ok(held(0))).unwrap();
        }
        assert!(idx.cached() <= 32, "{}", idx.cached());
        assert_eq!(idx.members(), 1000);
        let zero = LookupIndex::new(0);
        zero.insert_member(Kind::Domain, "x.test");
        zero.get::<Infallible>(Kind::Domain, "x.test", || Ok(held(0))).unwrap();
        assert_eq!(zero.cached(), 0);
    }
}
