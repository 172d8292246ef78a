//! [`Overlay`]: a read-your-writes transaction over the store, for the
//! single writer.
//!
//! The ledger applies many commands to one overlay, reading through it
//! (later commands see earlier ones), then commits it as one durable batch.
//! A key written many times in a commit (an origin's head, a counter) is
//! written once: the last write wins.
//!
//! An overlay can also sit on the writes of the commit before it, while
//! the engine is still committing those ([`Overlay::on_pending`]): it reads
//! them as if they were stored, so the writer builds the next commit
//! without waiting for the engine.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use super::layout;
use super::tables::{RawRead, RawWrite};
use super::{Batch, Keyspace, Op, Store, StoreError};
use crate::model::Kind;

/// Writes not yet committed, over a store.
#[derive(Debug)]
pub struct Overlay<'s> {
    store: &'s Store,
    /// The writes of the commit on its way to the engine, read as stored.
    pending: Option<&'s LastWrites>,
    writes: LastWrites,
}

/// The last write of each key of a batch or an overlay, as if its writes
/// were applied in order.
pub(crate) type LastWrites = HashMap<(Keyspace, Vec<u8>), Write>;

/// The last write of a key.
#[derive(Debug)]
pub(crate) enum Write {
    Put(Vec<u8>),
    /// A put of a key not stored before ([`Op::Insert`]).
    Insert(Vec<u8>),
    Delete,
}

impl Write {
    fn value(&self) -> Option<Vec<u8>> {
        match self {
            Write::Put(v) | Write::Insert(v) => Some(v.clone()),
            Write::Delete => None,
        }
    }
}

/// The last write of each key of `batch`, for an overlay built while
/// `batch` commits ([`Overlay::on_pending`]).
pub(crate) fn last_writes(batch: &Batch) -> LastWrites {
    let mut last = LastWrites::with_capacity(batch.len());
    for op in batch.ops.iter().cloned() {
        record(&mut last, op);
    }
    last
}

/// Records `op` as the last write of its key. A key inserted stays new
/// when put again; a key written before is only put by an insert (after a
/// delete, the writer cannot know what the store holds under it).
pub(crate) fn record(writes: &mut LastWrites, op: Op) {
    let (ks, key, value, new) = match op {
        Op::Put(ks, k, v) => (ks, k, v, false),
        Op::Insert(ks, k, v) => (ks, k, v, true),
        Op::Delete(ks, k) => {
            writes.insert((ks, k), Write::Delete);
            return;
        }
    };
    match writes.entry((ks, key)) {
        Entry::Occupied(mut o) => {
            let w = o.get_mut();
            *w = if matches!(w, Write::Insert(_)) { Write::Insert(value) } else { Write::Put(value) };
        }
        Entry::Vacant(v) => {
            v.insert(if new { Write::Insert(value) } else { Write::Put(value) });
        }
    }
}

impl<'s> Overlay<'s> {
    /// An empty overlay with room for `keys` writes.
    pub fn new(store: &'s Store, keys: usize) -> Overlay<'s> {
        Overlay { store, pending: None, writes: HashMap::with_capacity(keys) }
    }

    /// An empty overlay over the writes of a commit the engine has not
    /// finished yet (`pending`), then the store.
    pub(crate) fn on_pending(store: &'s Store, pending: Option<&'s LastWrites>, keys: usize) -> Overlay<'s> {
        Overlay { store, pending, writes: HashMap::with_capacity(keys) }
    }

    /// This overlay's write of a key, else the pending commit's.
    fn written(&self, key: &(Keyspace, Vec<u8>)) -> Option<&Write> {
        self.writes.get(key).or_else(|| self.pending.and_then(|p| p.get(key)))
    }

    /// The store under it.
    pub fn store(&self) -> &'s Store {
        self.store
    }

    /// [`super::tables::Tables::indexed_at`], reading the store only when
    /// `may_be_stored`: a caller that knows the value was never indexed (the
    /// lookup index's membership set) saves the read.
    ///
    /// # Errors
    ///
    /// Engine failures, [`StoreError::Corrupt`].
    pub fn indexed_at_if(
        &self,
        kind: Kind,
        value: &str,
        origin: &str,
        may_be_stored: bool,
    ) -> Result<Option<u64>, StoreError> {
        let key = (Keyspace::Index, layout::index_key(kind, value, origin));
        // The pending commit is read even when the value was never indexed
        // by a landed commit: the membership set knows only those.
        let found = match self.written(&key) {
            Some(w) => w.value(),
            None if !may_be_stored => None,
            None => self.store.get(Keyspace::Index, &key.1)?,
        };
        found
            .map(|v| {
                layout::read_u64(&v)
                    .ok_or_else(|| StoreError::Corrupt { keyspace: Keyspace::Index, reason: "bad log position".into() })
            })
            .transpose()
    }

    /// Every write, as one batch with room for `room` more, in key order
    /// within each keyspace: the engines insert into sorted structures
    /// (fjall's memtable skip lists), and keys in order land next to the
    /// one before (log positions at the end) instead of at a random place
    /// each, which the hash map's order would give.
    pub fn into_batch(self, room: usize) -> Batch {
        let mut writes: Vec<_> = self.writes.into_iter().collect();
        writes.sort_unstable_by(|((a, ka), _), ((b, kb), _)| a.slot().cmp(&b.slot()).then_with(|| ka.cmp(kb)));
        let mut batch = Batch::with_capacity(writes.len() + room);
        for ((ks, k), w) in writes {
            match w {
                Write::Put(v) => batch.put(ks, k, v),
                Write::Insert(v) => batch.insert(ks, k, v),
                Write::Delete => batch.delete(ks, k),
            }
        }
        batch
    }
}

impl RawRead for Overlay<'_> {
    fn raw_get(&self, ks: Keyspace, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        if (!self.writes.is_empty() || self.pending.is_some())
            && let Some(w) = self.written(&(ks, key.to_vec()))
        {
            return Ok(w.value());
        }
        self.store.get(ks, key)
    }
}

impl RawWrite for Overlay<'_> {
    fn raw_put(&mut self, ks: Keyspace, key: Vec<u8>, value: Vec<u8>) {
        record(&mut self.writes, Op::Put(ks, key, value));
    }

    fn raw_insert(&mut self, ks: Keyspace, key: Vec<u8>, value: Vec<u8>) {
        record(&mut self.writes, Op::Insert(ks, key, value));
    }

    fn raw_delete(&mut self, ks: Keyspace, key: Vec<u8>) {
        record(&mut self.writes, Op::Delete(ks, key));
    }
}

impl Overlay<'_> {
    /// Applies an admin batch's writes to the overlay.
    pub fn extend(&mut self, batch: Batch) {
        for op in batch.into_ops() {
            record(&mut self.writes, op);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::store::fjall_engine::FjallEngine;
    use crate::store::{Op, Store, TableWrites};

    #[test]
    fn a_batch_lists_its_writes_by_keyspace_then_key_with_room_to_spare() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(Arc::new(FjallEngine::open(dir.path(), 16).unwrap()));
        let mut overlay = Overlay::new(&store, 0);
        // Written in no order, across two keyspaces, one key twice.
        for seq in [7u64, 3, 9, 1, 5, 3] {
            overlay.raw_put(Keyspace::Index, format!("v{seq}").into_bytes(), vec![0]);
            overlay.raw_put(Keyspace::Log, layout::seq_key(seq).to_vec(), vec![seq as u8]);
        }
        overlay.raw_delete(Keyspace::Log, layout::seq_key(4).to_vec());
        let batch = overlay.into_batch(3);
        assert!(batch.ops.capacity() >= batch.len() + 3);
        let keys: Vec<(usize, Vec<u8>)> = batch
            .into_ops()
            .into_iter()
            .map(|op| match op {
                Op::Put(ks, k, _) | Op::Insert(ks, k, _) | Op::Delete(ks, k) => (ks.slot(), k),
            })
            .collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
        assert_eq!(keys.len(), 11, "{keys:?}");
        assert_ne!(Keyspace::Log.slot(), Keyspace::Index.slot());
    }

    #[test]
    fn a_key_inserted_stays_new_when_put_again_and_a_key_deleted_first_is_only_put() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(Arc::new(FjallEngine::open(dir.path(), 16).unwrap()));
        let mut overlay = Overlay::new(&store, 0);
        overlay.raw_insert(Keyspace::Index, b"new".to_vec(), vec![1]);
        overlay.raw_put(Keyspace::Index, b"new".to_vec(), vec![2]);
        overlay.raw_delete(Keyspace::Index, b"gone".to_vec());
        overlay.raw_insert(Keyspace::Index, b"gone".to_vec(), vec![3]);
        overlay.raw_put(Keyspace::Index, b"kept".to_vec(), vec![4]);
        assert_eq!(overlay.raw_get(Keyspace::Index, b"new").unwrap(), Some(vec![2]));
        let ops: Vec<String> = overlay
            .into_batch(0)
            .into_ops()
            .into_iter()
            .map(|op| match op {
                Op::Put(_, k, v) => format!("put {} {v:?}", String::from_utf8_lossy(&k)),
                Op::Insert(_, k, v) => format!("insert {} {v:?}", String::from_utf8_lossy(&k)),
                Op::Delete(_, k) => format!("delete {}", String::from_utf8_lossy(&k)),
            })
            .collect();
        assert_eq!(ops, ["put gone [3]", "put kept [4]", "insert new [2]"]);
    }

    /// An overlay on a commit still on its way to the engine reads that
    /// commit's writes as stored: its puts (an index entry the membership
    /// set does not know yet among them), its deletes over what is stored;
    /// the overlay's own writes come first; and its batch holds only its
    /// own writes.
    #[test]
    fn an_overlay_on_a_pending_commit_reads_its_writes_as_stored() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(Arc::new(FjallEngine::open(dir.path(), 16).unwrap()));
        let mut stored = Batch::default();
        stored.put(Keyspace::Meta, b"old".to_vec(), vec![1]);
        stored.put(Keyspace::Meta, b"kept".to_vec(), vec![2]);
        store.commit(stored).unwrap();

        let mut first = Overlay::new(&store, 0);
        first.raw_delete(Keyspace::Meta, b"old".to_vec());
        first.raw_put(Keyspace::Meta, b"kept".to_vec(), vec![3]);
        first.insert_index(Kind::Domain, "scam.example", "ID", 7);
        let pending = last_writes(&first.into_batch(0));

        let mut next = Overlay::on_pending(&store, Some(&pending), 0);
        assert_eq!(next.raw_get(Keyspace::Meta, b"old").unwrap(), None);
        assert_eq!(next.raw_get(Keyspace::Meta, b"kept").unwrap(), Some(vec![3]));
        assert_eq!(next.indexed_at_if(Kind::Domain, "scam.example", "ID", false).unwrap(), Some(7));
        assert_eq!(next.indexed_at_if(Kind::Domain, "other.example", "ID", true).unwrap(), None);
        // Without the pending commit the same reads see the store.
        let bare = Overlay::new(&store, 0);
        assert_eq!(bare.raw_get(Keyspace::Meta, b"old").unwrap(), Some(vec![1]));
        assert_eq!(bare.indexed_at_if(Kind::Domain, "scam.example", "ID", false).unwrap(), None);

        next.raw_put(Keyspace::Meta, b"kept".to_vec(), vec![4]);
        assert_eq!(next.raw_get(Keyspace::Meta, b"kept").unwrap(), Some(vec![4]));
        let ops = next.into_batch(0).into_ops();
        assert_eq!(ops.len(), 1, "{ops:?}");
        assert!(matches!(&ops[0], Op::Put(Keyspace::Meta, k, v) if k == b"kept" && v == &[4]), "{ops:?}");
    }
}
