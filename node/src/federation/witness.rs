//! Peers as witnesses: this node cosigns the checkpoints of the peers it
//! follows, and serves its own log to theirs.
//!
//! While a subscription to a peer is connected, [`follow`] asks the peer
//! for its latest checkpoint every `[log] witness_interval_ms` over the same
//! connection (`GetCheckpoint`), verifies it with the peer's keys, and
//! judges it against the checkpoint this node last cosigned for that log
//! ([`consider`]): it fetches exactly the hash tiles the judgement reads
//! (`GetTiles`, [`tlog::witness::tiles_for_judging`]), which must reproduce
//! the new root, then checks the consistency proof they give. Consistent:
//! cosign, persist, and send the cosignature back to the peer and on to the
//! other peers it is connected to (`AddCosignature`), at most once per
//! [`GOSSIP_EVERY`] per log. Not consistent, with both checkpoints signed
//! by the peer: refuse, keep both as evidence, audit ([`Node::keep_log_fork`]).
//! Tiles that do not reproduce the root prove nothing: refused quietly.
//!
//! A cosignature another witness sends about a third log (gossip) is judged
//! the same way against this node's own view of that log, with tiles from
//! that log: a log that shows two witnesses two histories is caught the
//! first time one witness's cosigned checkpoint reaches the other.
//!
//! [`serve_checkpoint`], [`serve_tiles`] and [`receive_cosignature`] are
//! the publisher side of the three RPCs.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jaring_proto::pb;
use jaring_proto::pb::federation_client::FederationClient;
use tonic::transport::Channel;
use tonic::{Code, Status};

use crate::node::{CosignatureOutcome, Node, NodeError, PeerLog, empty_checkpoint};
use crate::store::StoreError;
use crate::tlog;
use crate::tlog::checkpoint::{self, CheckpointError, SignedCheckpoint};
use crate::tlog::tree::{MemoryTiles, TileNodes};
use crate::tlog::witness::{ForkKind, Judgement, judge_from_tiles, tiles_for_judging};
use crate::wire;

/// Shortest time between two gossips of one log's cosigned checkpoint to
/// the other peers.
pub const GOSSIP_EVERY: Duration = Duration::from_secs(10);

/// Longest wait for one transparency-log RPC.
const RPC_TIMEOUT: Duration = Duration::from_secs(10);

/// Why following a peer's log failed this time.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WitnessError {
    /// The peer was removed meanwhile.
    #[error("peer removed")]
    PeerGone,
    /// An RPC failed.
    #[error("{}: {}", .0.code(), .0.message())]
    Rpc(Status),
    /// The peer keeps no transparency log.
    #[error("the peer keeps no transparency log")]
    NoLog,
    /// The checkpoint is not the peer's, or malformed.
    #[error("checkpoint: {0}")]
    Checkpoint(#[from] CheckpointError),
    /// The tiles served do not give the checkpoint's root: refused, no fork
    /// claimed.
    #[error("tiles: {0}")]
    BadTiles(String),
    /// This node failed.
    #[error(transparent)]
    Node(#[from] NodeError),
    /// This node's store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Where a checkpoint came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// From the log itself, as its latest.
    Poll,
    /// From another witness, cosigned by it.
    Gossip(String),
}

impl Source {
    fn label(&self) -> String {
        match self {
            Source::Poll => "poll".into(),
            Source::Gossip(peer) => format!("gossip:{peer}"),
        }
    }
}

/// What [`consider`] concluded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The checkpoint this node cosigned already.
    Known,
    /// Consistent and newer: cosigned.
    Cosigned(Box<SignedCheckpoint>),
    /// Consistent but older than the one cosigned (gossip from a witness
    /// behind this one): nothing to do.
    Older,
    /// Refused; the log contradicted itself: evidence kept.
    Fork(&'static str),
}

/// The peers this node is connected to (subscribed), with a client on each
/// connection, for sending cosignatures on and for fetching a log's tiles
/// when another witness's cosignature of it arrives.
#[derive(Debug, Default)]
pub struct Followed {
    clients: Mutex<HashMap<String, FederationClient<Channel>>>,
    gossiped: Mutex<HashMap<String, Instant>>,
}

/// Removes a client from [`Followed`] when the connection ends.
#[derive(Debug)]
pub struct Following {
    followed: Arc<Followed>,
    peer: String,
}

impl Drop for Following {
    fn drop(&mut self) {
        self.followed.clients.lock().unwrap_or_else(|p| p.into_inner()).remove(&self.peer);
    }
}

impl Followed {
    /// Registers the client of a connection to `peer` until the returned
    /// guard is dropped.
    pub fn register(self: &Arc<Self>, peer: &str, client: FederationClient<Channel>) -> Following {
        self.clients.lock().unwrap_or_else(|p| p.into_inner()).insert(peer.to_string(), client);
        Following { followed: self.clone(), peer: peer.to_string() }
    }

    fn client(&self, peer: &str) -> Option<FederationClient<Channel>> {
        self.clients.lock().unwrap_or_else(|p| p.into_inner()).get(peer).cloned()
    }

    fn others(&self, except: &str) -> Vec<(String, FederationClient<Channel>)> {
        self.clients
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|(p, _)| p.as_str() != except)
            .map(|(p, c)| (p.clone(), c.clone()))
            .collect()
    }

    /// Whether `origin`'s cosigned checkpoint may be gossiped now (and
    /// notes that it is).
    fn may_gossip(&self, origin: &str) -> bool {
        let now = Instant::now();
        let mut g = self.gossiped.lock().unwrap_or_else(|p| p.into_inner());
        match g.get(origin) {
            Some(t) if now.duration_since(*t) < GOSSIP_EVERY => false,
            _ => {
                g.insert(origin.to_string(), now);
                true
            }
        }
    }
}

fn timed<T>(mut req: tonic::Request<T>) -> tonic::Request<T> {
    req.set_timeout(RPC_TIMEOUT);
    req
}

/// Follows `peer_id`'s log over `client` until the task is aborted (when
/// its subscription ends).
pub async fn follow(node: Arc<Node>, peer_id: String, mut client: FederationClient<Channel>, followed: Arc<Followed>) {
    let interval = Duration::from_millis(node.config().log.witness_interval_ms);
    loop {
        let wait = match poll(&node, &peer_id, &mut client, &followed).await {
            Ok(()) => interval,
            Err(WitnessError::NoLog) => interval * 10,
            Err(e) => {
                tracing::info!(error = %e, "witnessing: checkpoint not cosigned");
                interval * 2
            }
        };
        tokio::time::sleep(wait).await;
    }
}

/// One look at the peer's latest checkpoint.
async fn poll(
    node: &Arc<Node>,
    peer_id: &str,
    client: &mut FederationClient<Channel>,
    followed: &Arc<Followed>,
) -> Result<(), WitnessError> {
    let log = node.peer_log(peer_id).ok_or(WitnessError::PeerGone)?;
    let served = match client.get_checkpoint(timed(tonic::Request::new(pb::GetCheckpointRequest {}))).await {
        Ok(r) => r.into_inner().checkpoint,
        Err(s) if matches!(s.code(), Code::NotFound | Code::Unimplemented) => return Err(WitnessError::NoLog),
        Err(s) => return Err(WitnessError::Rpc(s)),
    };
    let signed = checkpoint::open(served.as_bytes(), &log.origin, &log.log_keys)?;
    match consider(node, &log, &signed, &Source::Poll, client).await? {
        Verdict::Cosigned(mine) => spread(node, &log, &mine, followed),
        Verdict::Known => {
            // The peer may have restarted or missed our cosignature.
            if !carries_cosignature_of(&signed, &node.witness_name())
                && let Some(w) = node.witnessed(&log.origin)?
            {
                send_cosignature(client.clone(), w.checkpoint, peer_id.to_string());
            }
        }
        Verdict::Older | Verdict::Fork(_) => {}
    }
    Ok(())
}

fn carries_cosignature_of(cp: &SignedCheckpoint, name: &str) -> bool {
    cp.note.signatures().iter().any(|s| s.name == name)
}

/// Judges `signed` (a checkpoint of `log`, verified as its) against the
/// checkpoint of that log this node last cosigned, reading the log's tiles
/// over `client` (a connection to the log's node), and acts on it: cosigns
/// a consistent newer one, keeps evidence of a fork.
///
/// # Errors
///
/// [`WitnessError::BadTiles`], a failed RPC, a store failure.
pub async fn consider(
    node: &Node,
    log: &PeerLog,
    signed: &SignedCheckpoint,
    source: &Source,
    client: &mut FederationClient<Channel>,
) -> Result<Verdict, WitnessError> {
    let _one = node.witness_lock(&log.origin).await;
    let prev = match node.witnessed(&log.origin)? {
        Some(w) => Some(checkpoint::parse_own(w.checkpoint.as_bytes())?),
        None => None,
    };
    let new = &signed.checkpoint;
    let old = prev.as_ref().map_or_else(|| empty_checkpoint(&log.origin), |p| p.checkpoint.clone());
    let prev_text = prev.as_ref().map(SignedCheckpoint::to_text).unwrap_or_default();
    let fork = |kind: &'static str, detail: String| async move {
        node.keep_log_fork(log, kind, detail, &prev_text, signed, &source.label()).await?;
        Ok::<Verdict, WitnessError>(Verdict::Fork(kind))
    };
    if new.size == old.size {
        if new.root == old.root {
            return Ok(Verdict::Known);
        }
        if prev.is_none() {
            return Err(WitnessError::BadTiles("a checkpoint of size 0 without the empty tree's root".into()));
        }
        return fork("same_size_different_root", format!("two roots for size {}", new.size)).await;
    }
    if new.size < old.size {
        // Is it a prefix of the tree cosigned? The tiles of that tree say.
        let tiles = fetch_tiles(client, new.size, old.size).await;
        let judged = tiles.map(|t| judge_from_tiles(new, &old, &TileNodes::new(&t)));
        return match (judged, source) {
            (Ok(Judgement::Fork(ForkKind::OldRootRewritten { recomputed })), _) => {
                let detail = format!(
                    "the tree of size {} that this node cosigned gives root {recomputed} at size {}, the log signed {}",
                    old.size, new.size, new.root
                );
                fork("old_root_rewritten", detail).await
            }
            (_, Source::Poll) => {
                let detail = format!("the log now serves size {} after this node cosigned size {}", new.size, old.size);
                fork("rollback", detail).await
            }
            (_, Source::Gossip(_)) => Ok(Verdict::Older),
        };
    }
    let tiles = fetch_tiles(client, old.size, new.size).await?;
    match judge_from_tiles(&old, new, &TileNodes::new(&tiles)) {
        Judgement::Consistent { .. } => {
            let mine = node.cosign_peer_checkpoint(log, signed).await?;
            Ok(Verdict::Cosigned(Box::new(mine)))
        }
        Judgement::Fork(ForkKind::OldRootRewritten { recomputed }) => {
            let detail = format!(
                "the tiles that give the new root at size {} give root {recomputed} at size {}, which this node cosigned with root {}",
                new.size, old.size, old.root
            );
            fork("old_root_rewritten", detail).await
        }
        Judgement::Fork(other) => fork("inconsistent", format!("{other:?}")).await,
        Judgement::BadTiles(why) => Err(WitnessError::BadTiles(why)),
    }
}

/// Keeps evidence when `signed` has the size of the checkpoint of `log`
/// this node cosigned, with another root.
async fn same_size_check(
    node: &Node,
    log: &PeerLog,
    signed: &SignedCheckpoint,
    source: &Source,
) -> Result<(), WitnessError> {
    let _one = node.witness_lock(&log.origin).await;
    let Some(w) = node.witnessed(&log.origin)? else { return Ok(()) };
    let prev = checkpoint::parse_own(w.checkpoint.as_bytes())?;
    let new = &signed.checkpoint;
    if prev.checkpoint.size == new.size && prev.checkpoint.root != new.root {
        let detail = format!("two roots for size {}", new.size);
        node.keep_log_fork(log, "same_size_different_root", detail, &w.checkpoint, signed, &source.label()).await?;
    }
    Ok(())
}

/// Fetches the tiles [`tiles_for_judging`] names for `old` → `new`, checking
/// each is exactly as wide as asked.
async fn fetch_tiles(client: &mut FederationClient<Channel>, old: u64, new: u64) -> Result<MemoryTiles, WitnessError> {
    let ids = tiles_for_judging(old, new);
    let mut tiles = MemoryTiles::new();
    for chunk in ids.chunks(wire::tlog::MAX_TILES_PER_REQUEST) {
        let resp = client
            .get_tiles(timed(tonic::Request::new(wire::tlog::tiles_request(chunk))))
            .await
            .map_err(|s| match s.code() {
                Code::NotFound => WitnessError::BadTiles(format!("the log does not serve a tile: {}", s.message())),
                _ => WitnessError::Rpc(s),
            })?
            .into_inner();
        if resp.tiles.len() != chunk.len() {
            return Err(WitnessError::BadTiles(format!("{} tiles asked, {} served", chunk.len(), resp.tiles.len())));
        }
        for (id, bytes) in chunk.iter().zip(resp.tiles) {
            if bytes.len() != usize::from(id.width) * tlog::Hash::LEN {
                return Err(WitnessError::BadTiles(format!("{} is {} bytes", id.path(), bytes.len())));
            }
            if let tlog::tile::TileKind::Hashes(level) = id.kind {
                tiles.insert(level, id.index, bytes);
            }
        }
    }
    Ok(tiles)
}

/// Sends this node's cosignature on `log`'s checkpoint back to the log
/// (always) and to the other peers (at most once per [`GOSSIP_EVERY`]).
fn spread(node: &Arc<Node>, log: &PeerLog, mine: &SignedCheckpoint, followed: &Arc<Followed>) {
    let text = mine.to_text();
    if let Some(client) = followed.client(log.peer.node_id()) {
        send_cosignature(client, text.clone(), log.peer.node_id().to_string());
    }
    if followed.may_gossip(&log.origin) {
        for (peer, client) in followed.others(log.peer.node_id()) {
            if node.peer(&peer).is_some_and(|p| p.may_connect()) {
                send_cosignature(client, text.clone(), peer);
            }
        }
    }
}

fn send_cosignature(mut client: FederationClient<Channel>, checkpoint: String, to: String) {
    tokio::spawn(async move {
        let req = timed(tonic::Request::new(pb::AddCosignatureRequest { checkpoint }));
        if let Err(s) = client.add_cosignature(req).await {
            tracing::debug!(peer = %to, error = %s.message(), "cosignature not delivered");
        }
    });
}

// --- the publisher side -----------------------------------------------------

/// `GetCheckpoint`: the latest checkpoint with its cosignatures.
///
/// # Errors
///
/// NOT_FOUND when this node keeps no transparency log (or signed nothing yet).
#[allow(clippy::result_large_err)]
pub fn serve_checkpoint(node: &Node) -> Result<pb::GetCheckpointResponse, Status> {
    let cp = node.checkpoint().filter(|_| node.config().log.enabled).ok_or_else(|| {
        Status::not_found(
            "this node keeps no transparency log ([log] enabled = false), or has signed no checkpoint yet",
        )
    })?;
    Ok(pb::GetCheckpointResponse { checkpoint: cp.to_text() })
}

/// `GetTiles`: hash tiles by path, all or nothing.
///
/// # Errors
///
/// INVALID_ARGUMENT for a bad request, NOT_FOUND for a tile the tree has
/// not reached, INTERNAL for a store failure.
#[allow(clippy::result_large_err)]
pub fn serve_tiles(node: &Node, req: &pb::GetTilesRequest) -> Result<pb::GetTilesResponse, Status> {
    let ids = wire::tlog::tiles_asked(req).map_err(|e| wire::status::wire_status(&e))?;
    let mut tiles = Vec::with_capacity(ids.len());
    for id in &ids {
        match node.hash_tile(id) {
            Ok(Some(t)) => tiles.push(t),
            Ok(None) => return Err(Status::not_found(format!("{} is not in the tree", id.path()))),
            Err(e) => return Err(wire::status::store_status(&e)),
        }
    }
    Ok(pb::GetTilesResponse { tiles })
}

/// `AddCosignature` from `from` (the caller's node id): a cosignature of
/// this node's log is kept; one of another log this node witnesses is
/// judged against this node's own view of that log, with tiles fetched
/// from that log over `followed`'s connection to it.
///
/// # Errors
///
/// INVALID_ARGUMENT for a checkpoint not signed by its log or without a
/// valid cosignature by the caller; NOT_FOUND for an unknown log.
pub async fn receive_cosignature(
    node: &Arc<Node>,
    followed: &Arc<Followed>,
    from: &str,
    req: pb::AddCosignatureRequest,
) -> Result<pb::AddCosignatureResponse, Status> {
    let origin = checkpoint::peek_origin(req.checkpoint.as_bytes())
        .ok_or_else(|| Status::invalid_argument("not a checkpoint"))?
        .to_string();
    if origin == node.log_origin() {
        return match node.accept_cosignature(from, req.checkpoint.as_bytes()).await {
            Ok(outcome) => Ok(pb::AddCosignatureResponse { kept: outcome == CosignatureOutcome::Kept }),
            Err(e) => Err(e.into()),
        };
    }
    let log = node.peer_log_by_origin(&origin).ok_or_else(|| Status::not_found(format!("no known log {origin:?}")))?;
    if log.peer.node_id() == from {
        return Err(Status::invalid_argument("a log does not witness itself"));
    }
    let signed = checkpoint::open(req.checkpoint.as_bytes(), &log.origin, &log.log_keys)
        .map_err(|e| Status::invalid_argument(format!("not signed by {origin}: {e}")))?;
    let sender = node.peer_log(from).ok_or_else(|| Status::permission_denied(format!("{from} is not a peer")))?;
    signed
        .verify(&sender.witness_keys)
        .map_err(|e| Status::invalid_argument(format!("no valid cosignature by {from}: {e}")))?;
    let Some(mut client) = followed.client(log.peer.node_id()) else {
        // Not connected to that log now: a second root for the size this
        // node cosigned is caught without tiles; the rest waits for a poll.
        if let Err(e) = same_size_check(&node.clone(), &log, &signed, &Source::Gossip(from.to_string())).await {
            tracing::info!(origin = %log.origin, error = %e, "gossiped checkpoint not checked");
        }
        return Ok(pb::AddCosignatureResponse { kept: false });
    };
    let node = node.clone();
    let source = Source::Gossip(from.to_string());
    tokio::spawn(async move {
        match consider(&node, &log, &signed, &source, &mut client).await {
            Ok(v) => tracing::debug!(origin = %log.origin, verdict = ?v, "gossiped checkpoint judged"),
            Err(e) => tracing::info!(origin = %log.origin, error = %e, "gossiped checkpoint not verified"),
        }
    });
    Ok(pb::AddCosignatureResponse { kept: true })
}
