//! Rewriting a stopped node's history, as an operator covering their tracks
//! would: [`rewrite_log`] swaps the last two entries of the node's log and
//! drops its transparency-log tree and the checkpoints it signed, so the
//! node starts without complaint, rebuilds its tree from the rewritten log,
//! and signs checkpoints of a history its witnesses never saw.

use std::path::Path;

use anyhow::{Context, Result, bail};
use jaring_node::store::{self, Batch, TableWrites, Tables};

/// Rewrites the log of the stopped node in `dir` (see the module docs).
///
/// # Errors
///
/// The store cannot be opened (is the node still running?) or holds fewer
/// than two entries.
pub fn rewrite_log(dir: &Path) -> Result<()> {
    let store = store::open_existing(&dir.join("db"), 8).context("opening the stopped node's store")?;
    let head = store.log_head()?;
    if head < 2 {
        bail!("the log holds {head} entries; two are needed to swap");
    }
    let last = store.log_record(head)?.context("the last entry")?.bytes;
    let before = store.log_record(head - 1)?.context("the entry before it")?.bytes;
    let mut batch = Batch::default();
    batch.put_log_bytes(head - 1, last);
    batch.put_log_bytes(head, before);
    for pos in store.tile_positions() {
        let (level, index) = pos?;
        batch.delete_tile(level, index);
    }
    batch.delete_tlog_size();
    batch.delete_own_checkpoints();
    store.commit(batch)?;
    Ok(())
}
