//! [`SharedAllowIndex`]: the one index a node checks against, shared by its
//! tasks. Generic over what is shared: an [`AllowIndex`] by default, or
//! anything cheap to clone that holds indexes (the node shares
//! [`super::Allowlists`], its plain and keyed indexes together).
//!
//! Readers take a snapshot (`Arc` clone under a read lock held for
//! nanoseconds) and check without any lock. Writers are serialized; each
//! clones the current index (cheap: the parts are shared), changes the
//! clone, and swaps it in only if the change succeeded. A reader therefore
//! sees every change whole or not at all: a list replaced by a newer
//! version is never half old, half new, and a failed change leaves nothing
//! behind. Only the shards a change touches are copied; replacing a large
//! list copies about all of them, so the index briefly takes twice its
//! memory.
//!
//! Blocking std locks: writers are admin actions (rare), and the read lock
//! only guards an `Arc` clone.

use std::sync::{Arc, Mutex, PoisonError, RwLock};

use super::index::AllowIndex;

/// The node's allowlist index. See the module docs.
#[derive(Debug, Default)]
pub struct SharedAllowIndex<T = AllowIndex> {
    current: RwLock<Arc<T>>,
    writer: Mutex<()>,
}

impl<T: Clone> SharedAllowIndex<T> {
    /// Shares `index`.
    pub fn new(index: T) -> Self {
        SharedAllowIndex { current: RwLock::new(Arc::new(index)), writer: Mutex::new(()) }
    }

    /// The index as it is now; later changes do not affect it.
    pub fn snapshot(&self) -> Arc<T> {
        Arc::clone(&self.current.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Applies `change` to a clone of the current index and, if it returns
    /// `Ok`, makes the clone current. Writers run one at a time.
    ///
    /// # Errors
    ///
    /// Whatever `change` returns; the current index is then unchanged.
    pub fn update<R, E>(&self, change: impl FnOnce(&mut T) -> Result<R, E>) -> Result<R, E> {
        let _one_writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let mut next = T::clone(&self.snapshot());
        let out = change(&mut next)?;
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(next);
        Ok(out)
    }

    /// Makes `next` current: for a writer that built it from a
    /// [`Self::snapshot`] while its own lock kept other writers out (the
    /// node builds the next index before it stores a change, so a change
    /// the index cannot take stores nothing).
    pub fn replace(&self, next: T) {
        let _one_writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(next);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::allowlist::ListAction;
    use crate::model::Kind;
    use crate::warninglist::{DomainScope, IndexError, ListMeta, Rule, RuleSet};

    fn rules(names: &[&str]) -> RuleSet {
        let mut r = RuleSet::new();
        for n in names {
            r.push(Rule::Domain { name: n, scope: DomainScope::Site }, ListAction::Refuse);
        }
        r
    }

    #[test]
    fn snapshots_see_changes_whole_or_not_at_all() {
        let shared = SharedAllowIndex::new(AllowIndex::new());
        shared.update(|ix| ix.set_list(ListMeta::admin("top"), &rules(&["a.example", "b.example"]))).unwrap();
        let old = shared.snapshot();
        shared.update(|ix| ix.set_list(ListMeta::admin("top"), &rules(&["c.example"]))).unwrap();
        let new = shared.snapshot();
        assert!(old.check(Kind::Domain, "a.example").is_some());
        assert!(old.check(Kind::Domain, "c.example").is_none());
        assert!(new.check(Kind::Domain, "a.example").is_none());
        assert!(new.check(Kind::Domain, "c.example").is_some());
    }

    #[test]
    fn a_failed_change_leaves_the_index_as_it_was() {
        let shared = SharedAllowIndex::new(AllowIndex::new());
        shared.update(|ix| ix.set_list(ListMeta::admin("top"), &rules(&["a.example"]))).unwrap();
        let err = shared
            .update(|ix| {
                ix.set_list(ListMeta::admin("top"), &rules(&["b.example"]))?;
                Err::<(), _>(IndexError::Full)
            })
            .unwrap_err();
        assert_eq!(err, IndexError::Full);
        let now = shared.snapshot();
        assert!(now.check(Kind::Domain, "a.example").is_some());
        assert!(now.check(Kind::Domain, "b.example").is_none());
    }
}
