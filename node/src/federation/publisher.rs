//! The `Subscribe` side: what this node sends a peer.
//!
//! A stream reads the log in chunks after the subscriber's cursor. Each
//! chunk becomes one response: the entries the outbound agreement lets
//! through and a cursor covering the whole chunk, so filtered entries still
//! move the subscriber forward. Caught up, the stream waits for the ledger's
//! head to move, sending a heartbeat every [`HEARTBEAT`]. Each stream runs in
//! its own task behind a small bounded channel: a subscriber that stops
//! reading only stalls its own stream. A change to the peer set re-checks
//! the peer; a removed or blocked peer's stream ends at once.

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use jaring_proto::pb;
use jaring_proto::pb::federation_server::Federation;
use tokio::sync::mpsc;
use tokio_stream::Stream;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};
use tracing::Instrument;

use crate::node::{Node, decode_log};
use crate::policy;
use crate::shutdown::Shutdown;
use crate::store::{Keyspace, layout};
use crate::tls::PeerInfo;

/// Interval of heartbeats on an idle stream.
pub const HEARTBEAT: Duration = Duration::from_secs(5);

/// Default and largest number of entries in one response.
pub const MAX_BATCH: usize = 512;

/// The federation service.
#[derive(Debug, Clone)]
pub struct FederationService {
    node: Arc<Node>,
    shutdown: Shutdown,
}

impl FederationService {
    /// Serves `node`'s log to its peers.
    pub fn new(node: Arc<Node>, shutdown: Shutdown) -> FederationService {
        FederationService { node, shutdown }
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
        let r = req.into_inner();
        let max_batch = match r.max_batch {
            0 => MAX_BATCH,
            n => usize::try_from(n).unwrap_or(MAX_BATCH).min(MAX_BATCH),
        };
        let (tx, rx) = mpsc::channel(4);
        let node = self.node.clone();
        let shutdown = self.shutdown.clone();
        let span = tracing::info_span!("publish", peer = %peer);
        tokio::spawn(
            async move {
                node.update_link(&peer, |l| l.outbound_streams += 1);
                tracing::info!(cursor = r.cursor, "subscriber connected");
                let end = stream_log(&node, &peer, r.cursor, max_batch, &tx, shutdown).await;
                if let Err(status) = end {
                    tracing::info!(reason = %status.message(), "stream ends");
                    let _ = tx.send(Err(status)).await;
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
}

type Tx = mpsc::Sender<Result<pb::SubscribeResponse, Status>>;

async fn stream_log(
    node: &Arc<Node>,
    peer_id: &str,
    mut cursor: u64,
    max_batch: usize,
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
            let chunk = tokio::task::spawn_blocking(move || read_chunk(&n, &peer2, cursor, max_batch))
                .await
                .map_err(|e| Status::internal(e.to_string()))?
                .map_err(|e| Status::internal(e.to_string()))?;
            cursor = chunk.cursor;
            crate::metrics::global().sent(peer_id, chunk.entries.len());
            let msg = pb::SubscribeResponse { entries: chunk.entries, cursor, head };
            if tx.send(Ok(msg)).await.is_err() {
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
                if tx.send(Ok(msg)).await.is_err() {
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
    max: usize,
) -> Result<Chunk, crate::store::StoreError> {
    let hidden = node.shared().hidden.read().unwrap_or_else(|p| p.into_inner()).clone();
    let mut entries = Vec::new();
    let mut cursor = after;
    // Scan at most 8x the batch so a long filtered run still yields a
    // cursor-advancing response promptly.
    for r in node.store().scan_after(Keyspace::Log, &layout::seq_key(after)).take(max * 8) {
        let (k, v) = r?;
        let seq = layout::read_u64(&k).unwrap_or(cursor);
        cursor = seq;
        if hidden.contains(&seq) {
            continue;
        }
        let (env, body) = decode_log(&v)?;
        if policy::may_send(&body, node.id(), peer) {
            entries.push(pb::LogEntry { seq, envelope: Some((&env).into()) });
            if entries.len() >= max {
                break;
            }
        }
    }
    Ok(Chunk { entries, cursor })
}
