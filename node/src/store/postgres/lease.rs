//! The writer lease (table `writer_lease`, one row): who writes, under
//! which fencing token, until when.
//!
//! Taking it: one `UPDATE` that succeeds only when the lease has expired
//! (by the database's clock, the one clock every process shares), and
//! increments the token. Holding it: a background task renews it every
//! quarter of its duration; a renewal that finds another token, or no
//! successful renewal for a whole duration, means it is lost. Every commit
//! checks the token in its own transaction (see `commit` in `mod.rs`),
//! holding the row's lock until it commits, so a takeover waits for a commit
//! in flight and every later commit of the old writer fails.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::Inner;
use crate::store::StoreError;
use crate::store::shared::WriterInfo;

/// Takes the lease if it has expired.
pub(super) const ACQUIRE: &str = "UPDATE writer_lease SET token = token + 1, holder = $1, admin_addr = $2, \
     federation_addr = $3, http_addr = $4, acquired_at = now(), renewed_at = now(), \
     expires_at = now() + make_interval(secs => $5::float8) \
     WHERE id = 1 AND expires_at < now() RETURNING token";

/// Extends the lease held under a token.
const RENEW: &str = "UPDATE writer_lease SET renewed_at = now(), expires_at = now() + make_interval(secs => $2::float8) \
     WHERE id = 1 AND token = $1";

/// Ends the lease held under a token.
pub(super) const RELEASE: &str =
    "UPDATE writer_lease SET expires_at = '-infinity', holder = NULL WHERE id = 1 AND token = $1";

/// The live writer.
pub(super) const WRITER: &str =
    "SELECT holder, admin_addr, federation_addr, http_addr FROM writer_lease WHERE id = 1 AND expires_at > now()";

/// The fencing check, first in every commit's transaction.
pub(super) const FENCE: &str = "UPDATE writer_lease SET commits = commits + 1 WHERE id = 1 AND token = $1";

/// Tries to take the lease; on success starts renewing it.
pub(super) async fn acquire(inner: &Arc<Inner>, me: &WriterInfo) -> Result<Option<u64>, StoreError> {
    let conn = inner.lease_slot.get().await?;
    let st = conn.prepare(ACQUIRE).await?;
    let secs = inner.options.lease.as_secs_f64();
    let row = conn
        .client
        .query_opt(&st, &[&me.holder, &me.admin, &me.federation, &me.http, &secs])
        .await
        .map_err(|e| conn.err(&e))?;
    let Some(row) = row else { return Ok(None) };
    let token: i64 = row.get(0);
    let token = token as u64;
    inner.lease_tx.send_replace(Some(token));
    let renewer = inner.bridge.handle().spawn(renew(inner.clone(), token));
    if let Some(old) = inner.renewer.lock().unwrap_or_else(|p| p.into_inner()).replace(renewer) {
        old.abort();
    }
    tracing::info!(token, holder = %me.holder, "took the writer lease");
    Ok(Some(token))
}

/// Marks the lease under `token` lost, if it is still the one held.
pub(super) fn lose(inner: &Inner, token: u64, why: &str) {
    let changed = inner.lease_tx.send_if_modified(|t| {
        if *t == Some(token) {
            *t = None;
            true
        } else {
            false
        }
    });
    if changed {
        tracing::warn!(token, why, "lost the writer lease; this process is a standby now");
    }
}

async fn renew(inner: Arc<Inner>, token: u64) {
    let period = inner.options.lease / 4;
    let mut last_ok = Instant::now();
    loop {
        tokio::time::sleep(period).await;
        if *inner.lease_tx.borrow() != Some(token) {
            return;
        }
        let outcome = async {
            let conn = inner.lease_slot.get().await?;
            let st = conn.prepare(RENEW).await?;
            let secs = inner.options.lease.as_secs_f64();
            conn.client.execute(&st, &[&(token as i64), &secs]).await.map_err(|e| conn.err(&e))
        };
        // A renewal that hangs must not outlive the lease.
        match tokio::time::timeout(inner.options.lease, outcome).await {
            Ok(Ok(1)) => last_ok = Instant::now(),
            Ok(Ok(_)) => return lose(&inner, token, "another process took the lease"),
            Ok(Err(e)) => tracing::warn!(error = %e, "cannot renew the writer lease"),
            Err(_) => tracing::warn!("renewing the writer lease timed out"),
        }
        // Past a whole lease without renewal a standby may have taken over.
        if last_ok.elapsed() + period >= inner.options.lease {
            return lose(&inner, token, "the lease could not be renewed in time");
        }
    }
}

/// Lease durations a node accepts: a renewal every quarter of it.
pub(super) fn check_duration(d: Duration) -> bool {
    d >= Duration::from_millis(400) && d <= Duration::from_secs(600)
}
