//! Allowlists: the admin's lists (adding and removing entries), the check
//! every value that enters the node meets, and what `allowlist list`,
//! `status` and `/metrics` show of them. Large imported lists (MISP
//! warninglists, rankings) are [`super::warninglists`]; the index and its
//! rules are [`crate::warninglist`].
//!
//! Where the check runs: every submission path goes through
//! [`Node::submit_checked`] (admin gRPC, CLI imports, and the HTTP API and
//! TAXII writes that call it); extraction flags its candidates with
//! [`Node::allowlisted`]; arrivals from peers meet
//! [`Allowlists::refuse_hit`] in the subscriber. All read one snapshot of
//! the index: no store read, whatever the lists' size.
//!
//! Changes (here and in [`super::warninglists`]) run one at a time under
//! the node's allowlist lock: each builds the next index on a clone, makes
//! the store change durable, then swaps the clone in, so readers see a
//! change whole or not at all and a change the index cannot take stores
//! nothing.

use std::sync::Arc;

use serde::Serialize;

use crate::allowlist::{self, AllowEntry};
use crate::audit::AuditDraft;
use crate::model::Kind;
use crate::normalize::{self, NormalizeContext};
use crate::store::{Batch, StoreError, TableWrites, Tables};
use crate::submission::InputError;
use crate::warninglist::{
    AllowMatch, Allowlists, Hit, IndexStats, IpNetwork, ListFormat, ListInfo, Rule, allowlists::entry_rule, builtin,
    normalize_domain_rule,
};

use super::{Forbidden, Node, NodeError, NotFound};

/// What `allowlist check` says about one reading of a value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AllowCheck {
    /// The kind the value was read as.
    pub kind: Kind,
    /// Its normalized form.
    pub canonical: String,
    /// Every match, the one a submission would be stopped by first.
    pub matches: Vec<AllowMatch>,
}

/// A normalized admin entry: a domain rule ([`normalize_domain_rule`]), an
/// IP address or network for kind `ip`, or a value of its kind.
fn normalize_entry(kind: Option<Kind>, raw: &str, ctx: &NormalizeContext) -> Result<String, String> {
    match kind {
        None => normalize_domain_rule(raw, ctx).map_err(|e| e.to_string()),
        Some(Kind::Ip) if raw.contains('/') => {
            raw.parse::<IpNetwork>().map(|n| n.to_string()).map_err(|e| e.to_string())
        }
        Some(k) => normalize::normalize(k, raw, ctx).map_err(|e| e.to_string()),
    }
}

impl Node {
    /// The allowlists as they are now (a snapshot: later changes do not
    /// affect it).
    pub fn allowlists(&self) -> Arc<Allowlists> {
        self.allowlists.snapshot()
    }

    /// Lists, rules by shape and memory of the allowlist index.
    pub fn allowlist_stats(&self) -> IndexStats {
        self.allowlists.snapshot().stats()
    }

    /// Every list (built-in, admin, imported) with its rule counts, by name.
    pub fn allowlist_infos(&self) -> Vec<ListInfo> {
        let mut out: Vec<ListInfo> = self.allowlists.snapshot().lists().cloned().collect();
        out.sort_by(|a, b| a.meta.name.cmp(&b.meta.name));
        out
    }

    /// Every admin allowlist entry and, with `include_builtin`, the
    /// built-in ones (imported lists are shown whole by
    /// [`Self::allowlist_infos`]).
    ///
    /// # Errors
    ///
    /// Store failures.
    pub fn allowlist_entries(&self, include_builtin: bool) -> Result<Vec<AllowEntry>, StoreError> {
        let mut out = if include_builtin { allowlist::builtin() } else { Vec::new() };
        out.extend(self.store.allow_entries()?);
        Ok(out)
    }

    /// The match that would stop a normalized value, if any: what
    /// extraction calls to flag its candidates.
    pub fn allowlisted(&self, kind: Kind, canonical: &str) -> Option<AllowMatch> {
        self.allowlists.snapshot().check(kind, canonical).map(AllowMatch::from)
    }

    /// Every match for a value as given: normalized as `kind`, or as every
    /// kind it reads as (like a lookup).
    ///
    /// # Errors
    ///
    /// [`InputError`] when `kind` is given and the value is not one.
    pub fn allowlist_check(&self, value: &str, kind: Option<Kind>) -> Result<Vec<AllowCheck>, InputError> {
        let candidates = match kind {
            Some(k) => vec![(
                k,
                normalize::normalize(k, value, &self.normalize).map_err(|e| InputError::new("value", e.to_string()))?,
            )],
            None => normalize::candidates(value, &self.normalize),
        };
        let lists = self.allowlists.snapshot();
        Ok(candidates
            .into_iter()
            .map(|(kind, canonical)| {
                let matches = lists.check_all(kind, &canonical).into_iter().map(AllowMatch::from).collect();
                AllowCheck { kind, canonical, matches }
            })
            .collect())
    }

    /// The refusal of a submission of `canonical` that matched `hit`, with
    /// the rule's note: a built-in rule's, an admin entry's, an imported
    /// list's title.
    pub(super) fn allowlist_refusal(&self, lists: &Allowlists, hit: &Hit<'_>, canonical: &str) -> InputError {
        let note = builtin::note(hit.list, &hit.rule).unwrap_or_else(|| match lists.list(hit.list) {
            Some(info) if info.meta.format == ListFormat::Admin => self.admin_note(hit).unwrap_or_default(),
            Some(info) if !info.meta.title.is_empty() => info.meta.title.clone(),
            Some(info) => info.meta.description.clone(),
            None => String::new(),
        });
        allowlist::refusal(hit.list, hit.action, &hit.rule.to_string(), &note, canonical)
    }

    /// The note of the admin entry behind a hit (one point read).
    fn admin_note(&self, hit: &Hit<'_>) -> Option<String> {
        let (kind, value) = match hit.rule {
            Rule::Domain { name, .. } => (None, name.to_string()),
            Rule::Exact { kind, value } => (Some(kind), value.to_string()),
            Rule::Network(n) => (Some(Kind::Ip), n.to_string()),
        };
        match self.store.allow_entry(hit.list, kind, &value) {
            Ok(e) => e.map(|e| e.note),
            Err(e) => {
                tracing::warn!(error = %e, list = hit.list, "cannot read an allowlist entry's note");
                None
            }
        }
    }

    /// Normalizes and stores allowlist entries (one audit entry for all),
    /// and adds them to the index. Each input gets its own result.
    ///
    /// # Errors
    ///
    /// Store failures; bad entries (and entries for built-in or imported
    /// lists) are per-item [`InputError`]s.
    pub async fn allowlist_add(
        &self,
        entries: Vec<AllowEntry>,
        actor: &str,
    ) -> Result<Vec<Result<AllowEntry, InputError>>, NodeError> {
        let _one_change = self.allowlist_ops.lock().await;
        let mut next = Allowlists::clone(&self.allowlists.snapshot());
        let mut batch = Batch::default();
        let mut out = Vec::with_capacity(entries.len());
        for mut e in entries {
            let checked =
                allowlist::validate_list_name(&e.list).map_err(|r| InputError::new("list", r)).and_then(|()| {
                    if builtin::is_builtin_name(&e.list) {
                        return Err(InputError::new("list", "names starting with builtin- are reserved"));
                    }
                    if next.list(&e.list).is_some_and(|l| l.meta.format != ListFormat::Admin) {
                        return Err(InputError::new(
                            "list",
                            format!(
                                "{} is an imported list: its entries come from its file; import a new version",
                                e.list
                            ),
                        ));
                    }
                    e.value =
                        normalize_entry(e.kind, &e.value, &self.normalize).map_err(|r| InputError::new("value", r))?;
                    e.builtin = false;
                    let rule =
                        entry_rule(&e).ok_or_else(|| InputError::new("value", "not an IP address or network"))?;
                    next.insert(&e.list, rule, e.action, &self.privacy)
                        .map_err(|err| InputError::new("list", err.to_string()))?;
                    batch.put_allow_entry(&e);
                    Ok(e)
                });
            out.push(checked);
        }
        let added: Vec<String> = out.iter().flatten().map(|e| format!("{}:{}", e.list, e.value)).collect();
        if !added.is_empty() {
            let detail = format!("{} entr(ies): {}", added.len(), added.join(" "));
            self.ledger().apply(batch, vec![AuditDraft::admin(actor, "allowlist.add", detail)]).await?;
            self.allowlists.replace(next);
        }
        Ok(out)
    }

    /// Removes one entry (`value` normalized like [`Self::allowlist_add`])
    /// or, with `value` `None`, a whole list (an imported list too).
    /// Returns how many entries (for an imported list, rules) were removed.
    ///
    /// # Errors
    ///
    /// [`NodeError::NotFound`] when nothing matched; built-in lists are
    /// [`NodeError::Forbidden`], and so is one entry of an imported list;
    /// store failures.
    pub async fn allowlist_remove(&self, list: &str, value: Option<&str>, actor: &str) -> Result<u64, NodeError> {
        if builtin::is_builtin_name(list) {
            return Err(Forbidden::BuiltinList(list.into()).into());
        }
        let _one_change = self.allowlist_ops.lock().await;
        if let Some(header) = self.store.warninglist_header(list)? {
            if value.is_some() {
                return Err(Forbidden::ImportedListEntry(list.into()).into());
            }
            return self.remove_stored_list(header, actor).await;
        }
        let mut next = Allowlists::clone(&self.allowlists.snapshot());
        let mut batch = Batch::default();
        let mut n = 0u64;
        for e in self.store.allow_entries_of(list)? {
            let hit = match value {
                None => true,
                Some(v) => {
                    e.value == v || normalize_entry(e.kind, v, &self.normalize).ok().as_deref() == Some(&e.value)
                }
            };
            if hit {
                batch.delete_allow_entry(&e);
                if let Some(rule) = entry_rule(&e) {
                    next.remove(list, rule, &self.privacy);
                }
                n += 1;
            }
        }
        if n == 0 {
            return Err(match value {
                Some(v) => NotFound::AllowlistEntry { list: list.into(), value: v.into() },
                None => NotFound::Allowlist(list.into()),
            }
            .into());
        }
        if value.is_none() {
            next.remove_list(list);
        }
        let detail = format!("{list}: {} ({n} removed)", value.unwrap_or("whole list"));
        self.ledger().apply(batch, vec![AuditDraft::admin(actor, "allowlist.remove", detail)]).await?;
        self.allowlists.replace(next);
        Ok(n)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn admin_entries_normalize_by_shape() {
        let ctx = NormalizeContext { region: Some("ID".into()) };
        assert_eq!(normalize_entry(None, "WWW.Example.COM.", &ctx).unwrap(), "www.example.com");
        assert_eq!(normalize_entry(None, "go.id", &ctx).unwrap(), "go.id");
        assert!(normalize_entry(None, "com", &ctx).is_err(), "a rule over a whole TLD");
        assert!(normalize_entry(None, "http://x/", &ctx).is_err());
        assert_eq!(normalize_entry(Some(Kind::Ip), "203.0.113.9/24", &ctx).unwrap(), "203.0.113.0/24");
        assert_eq!(normalize_entry(Some(Kind::Ip), "203.0.113.9", &ctx).unwrap(), "203.0.113.9");
        assert!(normalize_entry(Some(Kind::Ip), "203.0.113.0/33", &ctx).is_err());
        assert_eq!(normalize_entry(Some(Kind::Phone), "0812-3456-7890", &ctx).unwrap(), "+6281234567890");
    }
}
