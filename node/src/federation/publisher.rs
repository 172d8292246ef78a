//! The `Subscribe` side: what this node sends a peer.
//!
//! A stream reads the log in chunks after the subscriber's cursor. Each
//! chunk becomes one response: the entries the outbound agreement lets
//! through and a cursor covering the whole chunk, so filtered entries still
//! move the subscriber forward. Caught up, the stream waits for the ledger's
//! head to move, sending a heartbeat every [`HEARTBEAT`]. Each stream runs in
//! its own task behind a small bounded channel (at most [`STREAM_BUFFER`]
//! responses, each within the message size limit) and holds no lock while it
//! sends: a subscriber that stops reading only stalls its own stream. A
//! change to the peer set re-checks the peer; a removed or blocked peer's
//! stream ends at once.
//!
//! Limits: a peer holds at most `limits.max_streams_per_peer` streams at
//! once (more get RESOURCE_EXHAUSTED); a response holds at most the smaller
//! of the subscriber's and this node's `max_batch` entries and fits the
//! smaller of both sides' `max_message_bytes`.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jaring_proto::pb;
use jaring_proto::pb::federation_server::Federation;
use prost::Message;
use tokio::sync::mpsc;
use tokio_stream::Stream;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};
use tracing::Instrument;

use crate::node::Node;
use crate::policy;
use crate::shutdown::Shutdown;
use crate::tls::PeerInfo;
use crate::wire;

/// Interval of heartbeats on an idle stream.
pub const HEARTBEAT: Duration = Duration::from_secs(5);

/// Default and largest number of entries in one response.
pub const MAX_BATCH: usize = 512;

/// Responses buffered per stream between the task reading the log and the
/// connection.
pub const STREAM_BUFFER: usize = 4;

/// Smallest response size limit a subscriber may ask for.
const MIN_MESSAGE_BYTES: usize = 64 * 1024;

/// Room left in a response for its own fields and framing.
const RESPONSE_OVERHEAD: usize = 64;

/// The federation service.
#[derive(Debug, Clone)]
pub struct FederationService {
    node: Arc<Node>,
    shutdown: Shutdown,
    streams: Arc<Mutex<HashMap<String, usize>>>,
    /// This node's connections to the peers it follows (for judging a
    /// cosignature another witness sends about a third log).
    followed: Arc<super::witness::Followed>,
}

impl FederationService {
    /// Serves `node`'s log to its peers.
    pub fn new(node: Arc<Node>, shutdown: Shutdown) -> FederationService {
        FederationService { node, shutdown, streams: Arc::default(), followed: Arc::default() }
    }

    /// Uses the subscribers' connections (see [`super::witness::Followed`]).
    pub fn with_followed(mut self, followed: Arc<super::witness::Followed>) -> FederationService {
        self.followed = followed;
        self
    }

    /// Counts a new stream for `peer`, or refuses it if the peer holds
    /// `limits.max_streams_per_peer` already.
    fn open_stream(&self, peer: &str) -> Option<StreamSlot> {
        let max = self.node.config().limits.max_streams_per_peer;
        let mut streams = self.streams.lock().unwrap_or_else(|p| p.into_inner());
        let n = streams.entry(peer.to_string()).or_default();
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(StreamSlot { streams: self.streams.clone(), peer: peer.to_string() })
    }
}

/// One open stream of a peer, released when the stream's task ends.
struct StreamSlot {
    streams: Arc<Mutex<HashMap<String, usize>>>,
    peer: String,
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut streams = self.streams.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = streams.get_mut(&self.peer) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                streams.remove(&self.peer);
            }
        }
    }
}

type SubscribeStream = Pin<Box<dyn Stream<Item = Result<pb::SubscribeResponse, Status>> + Send>>;

/// The peer behind a request, from its client certificate.
#[allow(clippy::result_large_err)]
fn peer_of<T>(node: &Node, req: &Request<T>) -> Result<String, Status> {
    let info =
        req.extensions().get::<PeerInfo>().ok_or_else(|| Status::unauthenticated("no verified client certificate"))?;
    match node.peer(&info.node_id) {
        Some(p) if p.may_connect() => Ok(info.node_id.clone()),
        Some(_) => Err(Status::permission_denied(format!("peer {} is blocked or member-only", info.node_id))),
        None => Err(Status::permission_denied(format!("{} is not a peer", info.node_id))),
    }
}

#[tonic::async_trait]
impl Federation for FederationService {
    type SubscribeStream = SubscribeStream;

    async fn subscribe(&self, req: Request<pb::SubscribeRequest>) -> Result<Response<Self::SubscribeStream>, Status> {
        let peer = peer_of(&self.node, &req)?;
        let Some(slot) = self.open_stream(&peer) else {
            crate::metrics::global().stream_refused(&peer);
            tracing::warn!(%peer, "subscribe refused: too many streams");
            return Err(Status::resource_exhausted(format!(
                "peer {peer} already holds {} streams (limits.max_streams_per_peer)",
                self.node.config().limits.max_streams_per_peer
            )));
        };
        let r = req.into_inner();
        let limits = &self.node.config().limits;
        let largest = MAX_BATCH.min(limits.max_batch);
        let max_batch = match r.max_batch {
            0 => largest,
            n => usize::try_from(n).unwrap_or(largest).min(largest),
        };
        let max_bytes = match r.max_message_bytes {
            0 => limits.max_message_bytes,
            n => usize::try_from(n).unwrap_or(usize::MAX).max(MIN_MESSAGE_BYTES).min(limits.max_message_bytes),
        };
        let (tx, rx) = mpsc::channel(STREAM_BUFFER);
        let node = self.node.clone();
        let shutdown = self.shutdown.clone();
        let span = tracing::info_span!("publish", peer = %peer);
        tokio::spawn(
            async move {
                let _slot = slot;
                node.update_link(&peer, |l| l.outbound_streams += 1);
                tracing::info!(cursor = r.cursor, "subscriber connected");
                let size = Size { entries: max_batch, bytes: max_bytes };
                let mut stop = shutdown.clone();
                let end = stream_log(&node, &peer, r.cursor, size, &tx, shutdown).await;
                if let Err(status) = end {
                    tracing::info!(reason = %status.message(), "stream ends");
                    tokio::select! {
                        biased;
                        _ = tx.send(Err(status)) => {}
                        _ = stop.wait() => {}
                    }
                }
                node.update_link(&peer, |l| l.outbound_streams = l.outbound_streams.saturating_sub(1));
            }
            .instrument(span),
        );
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }

    async fn get_identity(
        &self,
        req: Request<pb::GetIdentityRequest>,
    ) -> Result<Response<pb::GetIdentityResponse>, Status> {
        peer_of(&self.node, &req)?;
        Ok(Response::new(pb::GetIdentityResponse { identity_json: self.node.identity_card() }))
    }

    async fn get_checkpoint(
        &self,
        req: Request<pb::GetCheckpointRequest>,
    ) -> Result<Response<pb::GetCheckpointResponse>, Status> {
        peer_of(&self.node, &req)?;
        super::witness::serve_checkpoint(&self.node).map(Response::new)
    }

    async fn get_tiles(&self, req: Request<pb::GetTilesRequest>) -> Result<Response<pb::GetTilesResponse>, Status> {
        peer_of(&self.node, &req)?;
        let node = self.node.clone();
        let r = req.into_inner();
        tokio::task::spawn_blocking(move || super::witness::serve_tiles(&node, &r))
            .await
            .map_err(|e| Status::internal(e.to_string()))?
            .map(Response::new)
    }

    async fn add_cosignature(
        &self,
        req: Request<pb::AddCosignatureRequest>,
    ) -> Result<Response<pb::AddCosignatureResponse>, Status> {
        let from = peer_of(&self.node, &req)?;
        super::witness::receive_cosignature(&self.node, &self.followed, &from, req.into_inner())
            .await
            .map(Response::new)
    }
}

type Tx = mpsc::Sender<Result<pb::SubscribeResponse, Status>>;

/// Bounds of one response.
#[derive(Debug, Clone, Copy)]
struct Size {
    entries: usize,
    bytes: usize,
}

/// Sends one response, waiting for room in the stream's buffer but not past
/// shutdown. Ok(false): the subscriber went away.
async fn send(tx: &Tx, msg: pb::SubscribeResponse, shutdown: &mut Shutdown) -> Result<bool, Status> {
    tokio::select! {
        biased;
        r = tx.send(Ok(msg)) => Ok(r.is_ok()),
        _ = shutdown.wait() => Err(Status::unavailable("node shutting down")),
    }
}

async fn stream_log(
    node: &Arc<Node>,
    peer_id: &str,
    mut cursor: u64,
    size: Size,
    tx: &Tx,
    mut shutdown: Shutdown,
) -> Result<(), Status> {
    let mut head_rx = node.ledger().head();
    let mut peers_rx = node.peers_changed();
    loop {
        let Some(peer) = node.peer(peer_id).filter(|p| p.may_connect()) else {
            return Err(Status::permission_denied("peer removed or blocked"));
        };
        let head = *head_rx.borrow_and_update();
        if cursor < head {
            let n = node.clone();
            let peer2 = peer.clone();
            let chunk = tokio::task::spawn_blocking(move || read_chunk(&n, &peer2, cursor, size))
                .await
                .map_err(|e| Status::internal(e.to_string()))?
                .map_err(|e| Status::internal(e.to_string()))?;
            cursor = chunk.cursor;
            crate::metrics::global().sent(peer_id, chunk.entries.len());
            let msg = pb::SubscribeResponse { entries: chunk.entries, cursor, head };
            if !send(tx, msg, &mut shutdown).await? {
                return Ok(()); // subscriber went away
            }
            continue;
        }
        tokio::select! {
            _ = head_rx.changed() => {}
            _ = peers_rx.changed() => {}
            _ = shutdown.wait() => return Err(Status::unavailable("node shutting down")),
            _ = tx.closed() => return Ok(()),
            _ = tokio::time::sleep(HEARTBEAT) => {
                let msg = pb::SubscribeResponse { entries: vec![], cursor, head };
                if !send(tx, msg, &mut shutdown).await? {
                    return Ok(());
                }
            }
        }
    }
}

struct Chunk {
    entries: Vec<pb::LogEntry>,
    cursor: u64,
}

fn read_chunk(
    node: &Node,
    peer: &crate::peers::Peer,
    after: u64,
    size: Size,
) -> Result<Chunk, crate::store::StoreError> {
    let hidden = node.committed().hidden();
    let mut entries = Vec::new();
    let mut cursor = after;
    let budget = size.bytes.saturating_sub(RESPONSE_OVERHEAD);
    let mut bytes = 0;
    // Scan at most 8x the batch so a long filtered run still yields a
    // cursor-advancing response promptly.
    for r in node.store().log_records_expecting(after, size.entries).take(size.entries * 8) {
        let record = r?;
        let seq = record.seq;
        if hidden.contains(&seq) {
            cursor = seq;
            continue;
        }
        // Most entries a peer must not get (its own, relayed ones) are
        // passed over on the origin alone, without decoding them.
        if wire::peek_origin(&record.bytes).is_some_and(|origin| !policy::origin_may_go(origin, node.id(), peer)) {
            cursor = seq;
            continue;
        }
        let entry = record.decode()?;
        if policy::may_send(&entry.body, node.id(), peer) {
            let entry = pb::LogEntry { seq, envelope: Some(wire::envelope_into_pb(entry.envelope)) };
            // Field tag and length prefix of the entry in the response.
            let cost = entry.encoded_len() + 6;
            if cost > budget {
                // Can never fit this subscriber's limit: skipped, not stuck on.
                tracing::warn!(seq, bytes = cost, limit = size.bytes, "log entry too large for the stream; skipped");
                cursor = seq;
                continue;
            }
            if bytes + cost > budget {
                break; // the next response starts with it
            }
            bytes += cost;
            entries.push(entry);
        }
        cursor = seq;
        if entries.len() >= size.entries {
            break;
        }
    }
    Ok(Chunk { entries, cursor })
}
