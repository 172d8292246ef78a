//! Reading the audit log out of a store: listing with filters, counting
//! recent entries, and verifying the hash chain.
//!
//! These work on a [`Store`] alone, so `jaring audit verify --offline` can
//! check a stopped node's directory (or an auditor's copy of it) with the
//! same code the running node uses. Entries are keyed by their sequence
//! number (dense from 1) and appended by the ledger in time order, so the
//! first entry at or after a time is found by binary search.

use crate::audit::{self, AuditBreak, AuditCategory, AuditEntry};
use crate::model::UnixMillis;
use crate::store::{Keyspace, Store, StoreError, layout};

/// Which audit entries to list.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Only entries recorded at or after this time.
    pub since_ms: Option<UnixMillis>,
    /// Only entries about this peer.
    pub peer: Option<String>,
    /// Only this category.
    pub category: Option<AuditCategory>,
    /// The newest this many matching entries (0: 100).
    pub limit: usize,
}

/// Why the chain could not be checked or does not verify.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditVerifyError {
    /// The chain is broken at an entry.
    #[error(transparent)]
    Broken(#[from] AuditBreak),
    /// The store could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn decode(bytes: &[u8]) -> Result<AuditEntry, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt { keyspace: Keyspace::Audit, reason: e.to_string() })
}

fn last_seq(store: &Store) -> Result<u64, StoreError> {
    Ok(store.last(Keyspace::Audit)?.and_then(|(k, _)| layout::read_u64(&k)).unwrap_or(0))
}

/// The sequence number of the first entry recorded at or after `since_ms`
/// (one past the last entry if none is).
///
/// # Errors
///
/// Store failures or an undecodable entry.
pub fn first_since(store: &Store, since_ms: UnixMillis) -> Result<u64, StoreError> {
    let (mut lo, mut hi) = (1u64, last_seq(store)? + 1);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let at = match store.get(Keyspace::Audit, &layout::seq_key(mid))? {
            Some(v) => decode(&v)?.at_ms,
            // A hole (removed entry): treat as old; `verify` reports it.
            None => UnixMillis::MIN,
        };
        if at < since_ms {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    Ok(lo)
}

/// Entries matching `filter`, oldest first (the newest `limit` of them).
///
/// # Errors
///
/// Store failures or an undecodable entry.
pub fn list(store: &Store, filter: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError> {
    let limit = if filter.limit == 0 { 100 } else { filter.limit };
    let start = match filter.since_ms {
        Some(t) => first_since(store, t)?,
        None => 1,
    };
    let mut out = std::collections::VecDeque::with_capacity(limit.min(1024));
    for r in store.scan_after(Keyspace::Audit, &layout::seq_key(start.saturating_sub(1))) {
        let (_, v) = r?;
        let e = decode(&v)?;
        if filter.peer.as_ref().is_some_and(|p| e.draft.peer.as_deref() != Some(p.as_str())) {
            continue;
        }
        if filter.category.is_some_and(|c| c != e.draft.category) {
            continue;
        }
        if out.len() == limit {
            out.pop_front();
        }
        out.push_back(e);
    }
    Ok(out.into())
}

/// Every entry `keep` selects, oldest first, each with its bytes exactly
/// as stored (for evidence packages, which carry them verbatim).
///
/// # Errors
///
/// Store failures or an undecodable entry.
pub fn entries_where(
    store: &Store,
    mut keep: impl FnMut(&AuditEntry) -> bool,
) -> Result<Vec<(AuditEntry, Vec<u8>)>, StoreError> {
    let mut out = Vec::new();
    for r in store.scan_prefix(Keyspace::Audit, b"") {
        let (_, v) = r?;
        let e = decode(&v)?;
        if keep(&e) {
            out.push((e, v));
        }
    }
    Ok(out)
}

/// How many entries of `category` were recorded at or after `since_ms`.
///
/// # Errors
///
/// Store failures or an undecodable entry.
pub fn count_since(store: &Store, since_ms: UnixMillis, category: AuditCategory) -> Result<u64, StoreError> {
    let start = first_since(store, since_ms)?;
    let mut n = 0;
    for r in store.scan_after(Keyspace::Audit, &layout::seq_key(start.saturating_sub(1))) {
        let (_, v) = r?;
        if decode(&v)?.draft.category == category {
            n += 1;
        }
    }
    Ok(n)
}

/// Recomputes the whole chain; returns how many entries it checked.
///
/// # Errors
///
/// [`AuditVerifyError::Broken`] naming the first bad entry, or a store
/// failure.
pub fn verify(store: &Store) -> Result<u64, AuditVerifyError> {
    let mut failed: Option<StoreError> = None;
    let entries = store.scan_prefix(Keyspace::Audit, b"").map_while(|r| match r {
        Ok((k, v)) => Some((layout::read_u64(&k).unwrap_or(0), v)),
        Err(e) => {
            failed = Some(e);
            None
        }
    });
    let result = audit::verify_chain(entries);
    if let Some(e) = failed {
        return Err(e.into());
    }
    Ok(result?)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::audit::AuditDraft;
    use crate::store::Batch;

    fn store_with(n: u64) -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::open(&dir.path().join("db"), crate::store::EngineKind::default(), 8).unwrap();
        let mut prev = audit::genesis();
        let mut batch = Batch::default();
        for s in 1..=n {
            let draft = if s % 2 == 0 {
                AuditDraft::rejection("VN", Some("VN"), Some(s), "bad_signature", "")
            } else {
                AuditDraft::admin("ops", "indicator.add", "")
            };
            let e = audit::chain(s, 1000 * s as i64, draft, &prev);
            prev = e.hash.clone();
            batch.put(Keyspace::Audit, layout::seq_key(s).to_vec(), serde_json::to_vec(&e).unwrap());
        }
        store.commit(batch).unwrap();
        (dir, store)
    }

    #[test]
    fn lists_filters_and_counts_by_time() {
        let (_d, store) = store_with(10);
        assert_eq!(first_since(&store, 0).unwrap(), 1);
        assert_eq!(first_since(&store, 4500).unwrap(), 5);
        assert_eq!(first_since(&store, 99_000).unwrap(), 11);
        assert_eq!(count_since(&store, 4500, AuditCategory::Rejection).unwrap(), 3);
        let f = AuditFilter { category: Some(AuditCategory::Rejection), limit: 2, ..AuditFilter::default() };
        let seqs: Vec<u64> = list(&store, &f).unwrap().iter().map(|e| e.seq).collect();
        assert_eq!(seqs, vec![8, 10]);
        let f = AuditFilter { since_ms: Some(9000), ..AuditFilter::default() };
        assert_eq!(list(&store, &f).unwrap().len(), 2);
        assert_eq!(verify(&store).unwrap(), 10);
    }

    #[test]
    fn verify_names_the_edited_entry() {
        let (_d, store) = store_with(6);
        let mut e = decode(&store.get(Keyspace::Audit, &layout::seq_key(4)).unwrap().unwrap()).unwrap();
        e.draft.detail = "edited".into();
        let mut batch = Batch::default();
        batch.put(Keyspace::Audit, layout::seq_key(4).to_vec(), serde_json::to_vec(&e).unwrap());
        store.commit(batch).unwrap();
        match verify(&store) {
            Err(AuditVerifyError::Broken(b)) => assert_eq!(b, AuditBreak::Content { seq: 4 }),
            other => panic!("{other:?}"),
        }
    }
}
