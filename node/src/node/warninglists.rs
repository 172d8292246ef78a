//! Large allowlists: importing a MISP warninglist or a top-site ranking,
//! replacing it with a newer version, removing it, and building every
//! list into the index when the node starts.
//!
//! A list is stored as a header and chunks of rules
//! ([`crate::warninglist::stored`]). An import writes the new version's
//! chunks under a new generation, in commits of [`CHUNKS_PER_COMMIT`], then
//! in one commit the header naming that generation, the deletion of the old
//! generation's chunks and the audit entry: until that commit the old
//! version is the list, after it the new one, never a mix. A crash in
//! between leaves chunks no header names; the node deletes them when it
//! next starts ([`load`]). Generations only grow (the start time in
//! milliseconds, or one past the highest seen), so a retried import never
//! meets chunks of an earlier attempt.

use crate::allowlist::ListAction;
use crate::audit::AuditDraft;
use crate::model::now_ms;
use crate::normalize::NormalizeContext;
use crate::pii::Privacy;
use crate::store::{Batch, Store, StoreError, TableWrites, Tables};
use crate::submission::InputError;
use crate::warninglist::misp::{self, MispImport};
use crate::warninglist::ranked::{self, RankedImport};
use crate::warninglist::stored::{self, StoredHeader};
use crate::warninglist::{
    Allowlists, DomainScope, ImportReport, IndexError, ListFormat, ListInfo, ListMeta, Warninglist,
    allowlists::admin_lists, builtin,
};

use super::{Node, NodeError, StartError};

/// Chunks written per commit while importing (about 1 MB).
pub const CHUNKS_PER_COMMIT: usize = 16;

/// Largest list file an import takes
/// ([`crate::warninglist::files::MAX_LIST_FILE`]).
pub const MAX_IMPORT_BYTES: usize = crate::warninglist::files::MAX_LIST_FILE as usize;

/// What to import: how to read a list file's bytes.
#[derive(Debug, Clone)]
pub struct ListImport {
    /// [`ListFormat::Misp`] or [`ListFormat::Ranked`].
    pub format: ListFormat,
    /// The Jaring list name.
    pub name: String,
    /// Where the file came from (shown in `allowlist list`).
    pub source: String,
    /// What a match does.
    pub action: ListAction,
    /// How far domain rules reach.
    pub scope: DomainScope,
    /// Rankings: keep ranks 1 to `top` only.
    pub top: Option<u64>,
}

/// A list an import stored.
#[derive(Debug, Clone)]
pub struct ImportedList {
    /// The list as it is now.
    pub info: ListInfo,
    /// What the import took and refused.
    pub report: ImportReport,
    /// The version it replaced.
    pub replaced: Option<ListMeta>,
}

/// What an import did.
#[derive(Debug, Clone)]
pub enum ListImportOutcome {
    /// Stored and in force.
    Imported(Box<ImportedList>),
    /// Not imported; nothing changed.
    Skipped {
        /// The list name.
        name: String,
        /// Why.
        reason: String,
        /// Whether it was skipped only because the version held is the same
        /// or newer (a re-import of an unchanged list), not refused.
        up_to_date: bool,
    },
}

fn parse(what: &ListImport, bytes: &[u8], ctx: &NormalizeContext) -> Result<Warninglist, String> {
    match what.format {
        ListFormat::Misp => {
            let opts = MispImport {
                name: what.name.clone(),
                source: what.source.clone(),
                action: what.action,
                scope: what.scope,
                ctx,
            };
            misp::parse(bytes, &opts).map_err(|e| e.to_string())
        }
        ListFormat::Ranked => {
            let opts = RankedImport {
                name: what.name.clone(),
                source: what.source.clone(),
                top: what.top,
                action: what.action,
                scope: what.scope,
                ctx,
            };
            ranked::read(bytes, &opts).map_err(|e| e.to_string())
        }
        ListFormat::Builtin | ListFormat::Admin => Err("only MISP warninglists and rankings are imported".into()),
    }
}

fn index_error(e: &IndexError) -> NodeError {
    InputError::new("list", e.to_string()).into()
}

impl Node {
    /// Imports a list file's bytes: parses them as `what` says, and stores
    /// the list (replacing an older version atomically) unless the version
    /// held is the same or newer. A file that is not a list Jaring imports
    /// is [`ListImportOutcome::Skipped`], saying why.
    ///
    /// # Errors
    ///
    /// [`NodeError::Input`] for a file over [`MAX_IMPORT_BYTES`] or a list
    /// the index cannot take; store failures (then the list held before is
    /// still the list).
    pub async fn import_allowlist(
        &self,
        what: ListImport,
        bytes: Vec<u8>,
        actor: &str,
    ) -> Result<ListImportOutcome, NodeError> {
        if bytes.len() > MAX_IMPORT_BYTES {
            return Err(InputError::new("file", format!("larger than {MAX_IMPORT_BYTES} bytes")).into());
        }
        let name = what.name.clone();
        let ctx = self.normalize.clone();
        let parsed = tokio::task::spawn_blocking(move || parse(&what, &bytes, &ctx))
            .await
            .map_err(|e| StoreError::Engine(format!("allowlist parser stopped: {e}")))?;
        let list = match parsed {
            Ok(l) => l,
            Err(reason) => return Ok(ListImportOutcome::Skipped { name, reason, up_to_date: false }),
        };
        let mut last_generation = self.allowlist_ops.lock().await;
        if builtin::is_builtin_name(&name) {
            return Ok(ListImportOutcome::Skipped {
                name,
                reason: "names starting with builtin- are reserved".into(),
                up_to_date: false,
            });
        }
        if !self.store.allow_entries_of(&name)?.is_empty() {
            return Ok(ListImportOutcome::Skipped {
                reason: format!("an admin list named {name} exists; import under another name (--list) or remove it"),
                name,
                up_to_date: false,
            });
        }
        let current = self.store.warninglist_header(&name)?;
        if let Some(held) = &current
            && !list.meta.supersedes(&held.meta)
        {
            let v = |m: &ListMeta| m.version.map_or_else(|| "unversioned".to_string(), |v| format!("version {v}"));
            return Ok(ListImportOutcome::Skipped {
                reason: format!("{} is held; {} is not newer", v(&held.meta), v(&list.meta)),
                name,
                up_to_date: true,
            });
        }
        // The index takes the list first: what it cannot take is not stored.
        let mut next = Allowlists::clone(&self.allowlists.snapshot());
        next.set_list(list.meta.clone(), &list.rules, &self.privacy).map_err(|e| index_error(&e))?;
        let generation = u64::try_from(now_ms()).unwrap_or(0).max(*last_generation + 1);
        *last_generation = generation;
        let chunks = stored::encode_chunks(&list.rules, 0);
        let chunk_count = u32::try_from(chunks.len()).map_err(|_| InputError::new("file", "too many rules"))?;
        let mut index = 0u32;
        let mut chunks = chunks.into_iter().peekable();
        while chunks.peek().is_some() {
            let mut batch = Batch::default();
            for chunk in chunks.by_ref().take(CHUNKS_PER_COMMIT) {
                batch.put_warninglist_chunk(&name, generation, index, chunk);
                index += 1;
            }
            self.ledger.apply(batch, Vec::new()).await?;
        }
        let header = StoredHeader {
            format: stored::FORMAT,
            meta: list.meta.clone(),
            rules: list.rules.counts(),
            refused: list.report.refused,
            generation,
            chunks: chunk_count,
        };
        let mut batch = Batch::default();
        batch.put_warninglist_header(&header);
        if let Some(old) = &current {
            for i in 0..old.chunks {
                batch.delete_warninglist_chunk(&name, old.generation, i);
            }
        }
        let detail = format!(
            "{name}{} ({}, {}) from {}: {} rules, {} refused{}",
            list.meta.version.map(|v| format!(" v{v}")).unwrap_or_default(),
            list.meta.format.as_str(),
            list.meta.action.as_str(),
            list.meta.source,
            header.rules.total(),
            list.report.refused,
            current.as_ref().and_then(|h| h.meta.version).map(|v| format!("; replaces v{v}")).unwrap_or_default(),
        );
        self.ledger.apply(batch, vec![AuditDraft::admin(actor, "allowlist.import", detail)]).await?;
        let info = next.list(&name).cloned();
        self.allowlists.replace(next);
        let info = info.unwrap_or(ListInfo { meta: list.meta, rules: header.rules });
        Ok(ListImportOutcome::Imported(Box::new(ImportedList {
            info,
            report: list.report,
            replaced: current.map(|h| h.meta),
        })))
    }

    /// Removes an imported list whole (its header and chunks in one
    /// commit); how many rules it had. The caller holds the allowlist lock.
    pub(super) async fn remove_stored_list(&self, header: StoredHeader, actor: &str) -> Result<u64, NodeError> {
        let name = header.meta.name.clone();
        let mut next = Allowlists::clone(&self.allowlists.snapshot());
        next.remove_list(&name);
        let mut batch = Batch::default();
        batch.delete_warninglist_header(&name);
        for i in 0..header.chunks {
            batch.delete_warninglist_chunk(&name, header.generation, i);
        }
        let n = header.rules.total();
        let detail = format!("{name}: whole list ({n} rules removed)");
        self.ledger.apply(batch, vec![AuditDraft::admin(actor, "allowlist.remove", detail)]).await?;
        self.allowlists.replace(next);
        Ok(n)
    }
}

/// Every list in one index: the built-in lists, the admin's entries, and
/// each stored large list; and the highest generation seen. Chunks of
/// interrupted imports (no header names their generation) are deleted
/// here, directly: this runs before the ledger starts, so nothing else
/// writes.
///
/// # Errors
///
/// Store failures; a stored list that does not decode or does not hold
/// what its header says ([`StoreError::Corrupt`]); a list the index
/// cannot take.
pub(super) fn load(store: &Store, privacy: &Privacy) -> Result<(Allowlists, u64), StartError> {
    let mut lists = Allowlists::new();
    for (meta, rules) in builtin::lists() {
        lists.set_list(meta, &rules, privacy)?;
    }
    for (meta, rules) in admin_lists(&store.allow_entries()?) {
        lists.set_list(meta, &rules, privacy)?;
    }
    let stored = store.warninglists()?;
    for (header, rules) in stored.lists {
        lists.set_list(header.meta, &rules, privacy)?;
    }
    // On a shared store only the writer commits, through the ledger; the
    // orphans stay (they are never read) until an embedded store loads them.
    if !stored.orphans.is_empty() && store.shared().is_none() {
        tracing::info!(chunks = stored.orphans.len(), "removing the chunks of interrupted allowlist imports");
        let mut batch = Batch::default();
        for (list, generation, index) in &stored.orphans {
            batch.delete_warninglist_chunk(list, *generation, *index);
        }
        store.commit(batch)?;
    }
    Ok((lists, stored.last_generation))
}
