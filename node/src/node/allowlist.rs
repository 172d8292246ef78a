//! Admin allowlists: adding, removing and reading the entries every
//! submission is checked against (the rules are in [`crate::allowlist`]).

use crate::allowlist::{self, AllowEntry};
use crate::audit::AuditDraft;
use crate::store::{Batch, StoreError, TableWrites};
use crate::submission::InputError;

use super::{Forbidden, Node, NodeError, NotFound};

impl Node {
    /// Every allowlist entry: the admin's lists from the store and, with
    /// `include_builtin`, the built-in ones.
    ///
    /// # Errors
    ///
    /// Store failures.
    pub fn allowlist_entries(&self, include_builtin: bool) -> Result<Vec<AllowEntry>, StoreError> {
        let mut out = if include_builtin { allowlist::builtin() } else { Vec::new() };
        out.extend(self.store.allow_entries()?);
        Ok(out)
    }

    /// Normalizes and stores allowlist entries (one audit entry for all).
    /// Each input gets its own result.
    ///
    /// # Errors
    ///
    /// Store failures; bad entries are per-item [`InputError`]s.
    pub async fn allowlist_add(
        &self,
        entries: Vec<AllowEntry>,
        actor: &str,
    ) -> Result<Vec<Result<AllowEntry, InputError>>, NodeError> {
        let mut batch = Batch::default();
        let mut out = Vec::with_capacity(entries.len());
        for mut e in entries {
            let checked =
                allowlist::validate_list_name(&e.list).map_err(|r| InputError::new("list", r)).and_then(|()| {
                    if e.list.starts_with("builtin-") {
                        return Err(InputError::new("list", "names starting with builtin- are reserved"));
                    }
                    e.value = match e.kind {
                        None => allowlist::normalize_rule(&e.value, self.normalize_context()),
                        Some(k) => crate::normalize::normalize(k, &e.value, self.normalize_context())
                            .map_err(|err| err.to_string()),
                    }
                    .map_err(|r| InputError::new("value", r))?;
                    e.builtin = false;
                    batch.put_allow_entry(&e);
                    Ok(e)
                });
            out.push(checked);
        }
        let added: Vec<String> = out.iter().flatten().map(|e| format!("{}:{}", e.list, e.value)).collect();
        if !added.is_empty() {
            let detail = format!("{} entr(ies): {}", added.len(), added.join(" "));
            self.ledger().apply(batch, vec![AuditDraft::admin(actor, "allowlist.add", detail)]).await?;
        }
        Ok(out)
    }

    /// Removes one entry (`value` normalized like [`Self::allowlist_add`])
    /// or, with `value` `None`, a whole list. Returns how many were removed.
    ///
    /// # Errors
    ///
    /// [`NodeError::NotFound`] when nothing matched; built-in lists are
    /// [`NodeError::Forbidden`]; store failures.
    pub async fn allowlist_remove(&self, list: &str, value: Option<&str>, actor: &str) -> Result<u64, NodeError> {
        if list.starts_with("builtin-") {
            return Err(Forbidden::BuiltinList(list.into()).into());
        }
        let mut batch = Batch::default();
        for e in self.allowlist_entries(false)? {
            if e.list != list {
                continue;
            }
            let hit = match value {
                None => true,
                Some(v) => {
                    let norm = match e.kind {
                        None => allowlist::normalize_rule(v, self.normalize_context()).ok(),
                        Some(k) => crate::normalize::normalize(k, v, self.normalize_context()).ok(),
                    };
                    e.value == v || norm.as_deref() == Some(e.value.as_str())
                }
            };
            if hit {
                batch.delete_allow_entry(&e);
            }
        }
        let n = u64::try_from(batch.len()).unwrap_or(u64::MAX);
        if n == 0 {
            return Err(match value {
                Some(v) => NotFound::AllowlistEntry { list: list.into(), value: v.into() },
                None => NotFound::Allowlist(list.into()),
            }
            .into());
        }
        let detail = format!("{list}: {} ({n} removed)", value.unwrap_or("whole list"));
        self.ledger().apply(batch, vec![AuditDraft::admin(actor, "allowlist.remove", detail)]).await?;
        Ok(n)
    }
}
