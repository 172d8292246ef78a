//! Gathered first reads. A lookup's first read of a listed value is one
//! query joining the lookup index and the log ([`tables::INDEX_WITH_LOG`]).
//! Under load many lookups want one at the same moment; instead of a query
//! each, the requests that arrive while every reading session is busy wait
//! for the next free session and go to the server together, as one query.
//! An idle node sends a request at once; a busy one answers more per query,
//! so the server's work per lookup falls as the load rises.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::{Semaphore, mpsc, oneshot};

use super::{Inner, tables};
use crate::store::{Keyspace, StoreError};

/// What the index holds under a key (its value) and what the log holds at
/// the position that value names.
pub(super) type Found = HashMap<Vec<u8>, (Vec<u8>, Option<Vec<u8>>)>;

/// Index keys gathered into one query at most (the requests of one query
/// may exceed it by the last one's keys).
const MAX_KEYS: usize = 16_384;

type Reply = oneshot::Sender<Result<Arc<Found>, String>>;

struct Request {
    keys: Vec<Vec<u8>>,
    reply: Reply,
}

/// The gatherer: a task on the adapter's runtime, which stops when this is
/// dropped.
#[derive(Debug)]
pub(super) struct Gather {
    tx: mpsc::UnboundedSender<Request>,
    counts: Arc<Counts>,
}

/// Requests answered and queries sent.
#[derive(Debug, Default)]
pub(super) struct Counts {
    pub requests: AtomicU64,
    pub queries: AtomicU64,
}

impl Gather {
    /// Starts the task; at most `sessions` queries run at once.
    pub fn start(inner: &Arc<Inner>, sessions: usize) -> Gather {
        let (tx, rx) = mpsc::unbounded_channel();
        let counts = Arc::new(Counts::default());
        inner.bridge.handle().spawn(dispatch(rx, inner.clone(), sessions.max(1), counts.clone()));
        Gather { tx, counts }
    }

    /// (requests, queries) so far.
    pub fn counts(&self) -> (u64, u64) {
        (self.counts.requests.load(Ordering::Relaxed), self.counts.queries.load(Ordering::Relaxed))
    }

    /// What the index and the log hold for `keys` (and for the keys of the
    /// requests gathered with them). The request is queued at once; the
    /// future waits for its answer.
    ///
    /// # Errors
    ///
    /// The query's failure, as [`StoreError::Engine`].
    pub fn read(
        &self,
        keys: Vec<Vec<u8>>,
    ) -> impl Future<Output = Result<Arc<Found>, StoreError>> + Send + 'static + use<> {
        let (reply, answer) = oneshot::channel();
        let queued = self.tx.send(Request { keys, reply }).is_ok();
        async move {
            let stopped = || StoreError::Engine("the PostgreSQL read gatherer stopped".into());
            if !queued {
                return Err(stopped());
            }
            answer.await.map_err(|_| stopped())?.map_err(StoreError::Engine)
        }
    }
}

async fn dispatch(mut rx: mpsc::UnboundedReceiver<Request>, inner: Arc<Inner>, sessions: usize, counts: Arc<Counts>) {
    let free = Arc::new(Semaphore::new(sessions));
    while let Some(first) = rx.recv().await {
        // Wait for a session first: what arrives meanwhile joins this query.
        let Ok(session) = free.clone().acquire_owned().await else { return };
        let mut keys = first.keys;
        let mut replies = vec![first.reply];
        while keys.len() < MAX_KEYS
            && let Ok(next) = rx.try_recv()
        {
            keys.extend(next.keys);
            replies.push(next.reply);
        }
        counts.requests.fetch_add(replies.len() as u64, Ordering::Relaxed);
        counts.queries.fetch_add(1, Ordering::Relaxed);
        let inner = inner.clone();
        tokio::spawn(async move {
            let found = query(&inner, keys).await.map(Arc::new).map_err(|e| e.to_string());
            drop(session);
            for reply in replies {
                // A caller that gave up no longer listens.
                let _ = reply.send(found.clone());
            }
        });
    }
}

async fn query(inner: &Inner, keys: Vec<Vec<u8>>) -> Result<Found, StoreError> {
    let conn = inner.read_slot().get().await?;
    let st = conn.prepare(tables::INDEX_WITH_LOG).await?;
    let rows = conn.client.query(&st, &[&keys]).await.map_err(|e| conn.err(&e))?;
    let bad = |e: tokio_postgres::Error| StoreError::Engine(format!("reading lookup_index and log: {e}"));
    rows.iter()
        .map(|r| {
            let envelope: Option<Vec<u8>> = r.try_get(2).map_err(bad)?;
            Ok((tables::key_of(Keyspace::Index, r)?, (tables::value_of(Keyspace::Index, r, 1)?, envelope)))
        })
        .collect()
}
