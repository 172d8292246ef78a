//! The subscribing side: one task per peer.
//!
//! The task dials the peer over mTLS (verifying the peer's certificate
//! against the CA and TLS name on its identity card), subscribes from the
//! cursor stored for it, and runs a two-stage pipeline: the receive stage
//! verifies each response's signatures (ed25519 batch verification, split
//! across the blocking pool) while the apply stage hands the previous
//! response to the ledger, which stores its entries and the new cursor in
//! one durable commit. On any failure it reconnects with capped exponential
//! backoff and resumes from the stored cursor; applying is idempotent by
//! (origin, origin_seq), so at-least-once delivery is harmless.

use std::sync::Arc;
use std::time::Duration;

use jaring_proto::pb;
use jaring_proto::pb::federation_client::FederationClient;
use tokio::sync::{mpsc, watch};
use tracing::Instrument;

use crate::audit::AuditDraft;
use crate::envelope::{self, Entry, SignedEnvelope, VerifiedEnvelope, VerifyError};
use crate::ledger::{Disposition, IngestBatch};
use crate::model::now_ms;
use crate::node::Node;
use crate::policy;
use crate::shutdown::Shutdown;
use crate::tls::{self, OwnCert};
use crate::wire;

/// First reconnect delay.
pub const BACKOFF_MIN: Duration = Duration::from_millis(200);
/// Longest reconnect delay.
pub const BACKOFF_MAX: Duration = Duration::from_secs(30);

/// Runs the subscription to one peer until shutdown or `stop` fires.
pub async fn run(
    node: Arc<Node>,
    own: Arc<OwnCert>,
    peer_id: String,
    mut stop: watch::Receiver<bool>,
    mut shutdown: Shutdown,
) {
    let span = tracing::info_span!("subscribe", peer = %peer_id);
    async move {
        let mut backoff = BACKOFF_MIN;
        loop {
            if shutdown.is_shutdown() || *stop.borrow() {
                break;
            }
            let started = std::time::Instant::now();
            let outcome = tokio::select! {
                r = session(&node, &own, &peer_id) => r,
                _ = shutdown.wait() => break,
                _ = stop.wait_for(|s| *s) => break,
            };
            let err = match outcome {
                Ok(()) => "stream ended".to_string(),
                Err(e) => e,
            };
            if started.elapsed() > Duration::from_secs(10) {
                backoff = BACKOFF_MIN;
            }
            tracing::info!(error = %err, retry_in_ms = backoff.as_millis() as u64, "subscription interrupted");
            node.update_link(&peer_id, |l| {
                l.inbound_state = "backoff".into();
                l.last_error = err.clone();
            });
            let jitter = Duration::from_millis(u64::from(rand_core::RngCore::next_u32(&mut rand_core::OsRng) % 100));
            tokio::select! {
                _ = tokio::time::sleep(backoff + jitter) => {}
                _ = shutdown.wait() => break,
                _ = stop.wait_for(|s| *s) => break,
            }
            backoff = (backoff * 2).min(BACKOFF_MAX);
        }
        node.update_link(&peer_id, |l| l.inbound_state = "stopped".into());
    }
    .instrument(span)
    .await;
}

/// One connection: dial, subscribe, pipeline until the stream fails.
async fn session(node: &Arc<Node>, own: &Arc<OwnCert>, peer_id: &str) -> Result<(), String> {
    let peer = node.peer(peer_id).filter(|p| p.may_connect()).ok_or("peer removed or blocked")?;
    node.update_link(peer_id, |l| l.inbound_state = "connecting".into());
    let ca =
        tls::TrustedPeer::from_ca_pem(peer_id, &peer.card.tls_ca_pem).map_err(|e| format!("peer CA: {e}"))?.ca_certs;
    let config = tls::client_config(own.clone(), &ca).map_err(|e| e.to_string())?;
    let channel = tls::connect(peer.endpoint(), &peer.card.tls_name, config).await.map_err(|e| e.to_string())?;
    let limit = node.config().limits.max_message_bytes;
    let mut client = FederationClient::new(channel).max_decoding_message_size(limit).max_encoding_message_size(limit);
    let cursor = node.cursor(peer_id).map_err(|e| e.to_string())?;
    let mut stream = client
        .subscribe(pb::SubscribeRequest { cursor, max_batch: 0 })
        .await
        .map_err(|s| format!("subscribe refused: {}: {}", s.code(), s.message()))?
        .into_inner();
    tracing::info!(cursor, "subscribed");
    node.update_link(peer_id, |l| {
        l.inbound_state = "connected".into();
        l.inbound_cursor = cursor;
        l.last_contact_ms = now_ms();
        l.last_error.clear();
    });

    let (tx, mut rx) = mpsc::channel::<(Vec<Verified>, u64, u64)>(2);
    let applier = {
        let node = node.clone();
        let peer_id = peer_id.to_string();
        tokio::spawn(async move {
            while let Some((items, cursor, head)) = rx.recv().await {
                apply(&node, &peer_id, items, cursor).await?;
                node.update_link(&peer_id, |l| {
                    l.inbound_cursor = cursor;
                    l.inbound_head = head;
                    l.last_contact_ms = now_ms();
                    if cursor >= head {
                        l.caught_up_at_ms = l.last_contact_ms;
                    }
                });
            }
            Ok::<(), String>(())
        })
    };
    let receive = async {
        let mut last_cursor = cursor;
        loop {
            let msg = match stream.message().await {
                Ok(Some(m)) => m,
                Ok(None) => return Ok(()),
                Err(s) => return Err(format!("stream: {}: {}", s.code(), s.message())),
            };
            if msg.cursor < last_cursor {
                return Err(format!("peer moved the cursor backwards ({} < {last_cursor})", msg.cursor));
            }
            last_cursor = msg.cursor;
            let verified = verify(node, msg.entries).await;
            if tx.send((verified, msg.cursor, msg.head)).await.is_err() {
                return Err("apply stage stopped".into());
            }
        }
    };
    let received: Result<(), String> = receive.await;
    drop(tx);
    let applied = applier.await.map_err(|e| e.to_string())?;
    applied.and(received)
}

/// One received entry after signature checking.
enum Verified {
    Ok(Box<VerifiedEnvelope>),
    Refused {
        origin: Option<String>,
        seq: Option<u64>,
        reason: &'static str,
        detail: String,
    },
    /// Signed by a key not (yet) known: retried after earlier key events apply.
    UnknownKey(SignedEnvelope),
}

async fn verify(node: &Arc<Node>, entries: Vec<pb::LogEntry>) -> Vec<Verified> {
    let envs: Vec<SignedEnvelope> =
        entries.into_iter().map(|e| e.envelope.map(Into::into).unwrap_or_else(empty)).collect();
    let node = node.clone();
    // Two halves on the blocking pool: the node's two cores verify at once.
    let mid = envs.len() / 2;
    let mut first = envs;
    let second = first.split_off(mid);
    let n1 = node.clone();
    let a = tokio::task::spawn_blocking(move || verify_all(&n1, first));
    let b = tokio::task::spawn_blocking(move || verify_all(&node, second));
    let (a, b) = tokio::join!(a, b);
    let mut out = a.unwrap_or_default();
    out.extend(b.unwrap_or_default());
    out
}

fn empty() -> SignedEnvelope {
    SignedEnvelope { body: Vec::new(), signature: Vec::new(), key_id: String::new() }
}

fn verify_all(node: &Node, envs: Vec<SignedEnvelope>) -> Vec<Verified> {
    if envs.is_empty() {
        return Vec::new();
    }
    let ring = node.shared().keyring.read().unwrap_or_else(|p| p.into_inner()).clone();
    let originals = envs.clone();
    envelope::verify_batch(envs, &ring)
        .into_iter()
        .zip(originals)
        .map(|(r, env)| match r {
            Ok(v) => Verified::Ok(Box::new(v)),
            Err(VerifyError::UnknownKey { .. }) => Verified::UnknownKey(env),
            Err(e) => {
                let claimed = wire::decode_body(&env.body).ok();
                Verified::Refused {
                    origin: claimed.as_ref().map(|b| b.origin.clone()),
                    seq: claimed.as_ref().map(|b| b.origin_seq),
                    reason: e.reason(),
                    detail: e.to_string(),
                }
            }
        })
        .collect()
}

/// Checks again, with the current key ring, entries whose key was unknown.
fn reverify_unknown(node: &Node, items: &mut [Verified]) {
    let slots: Vec<usize> = (0..items.len()).filter(|&i| matches!(items[i], Verified::UnknownKey(_))).collect();
    if slots.is_empty() {
        return;
    }
    let envs: Vec<SignedEnvelope> = slots
        .iter()
        .map(|&i| match &mut items[i] {
            Verified::UnknownKey(env) => std::mem::replace(env, empty()),
            _ => empty(),
        })
        .collect();
    for (slot, again) in slots.into_iter().zip(verify_all(node, envs)) {
        items[slot] = again;
    }
}

/// Applies one response's entries in order, then records the cursor.
async fn apply(node: &Arc<Node>, peer_id: &str, items: Vec<Verified>, cursor: u64) -> Result<(), String> {
    let peer = node.peer(peer_id).ok_or("peer removed")?;
    let mut batch = IngestBatch { peer: peer_id.to_string(), ..IngestBatch::default() };
    let mut items = items;
    // Keys may have arrived with earlier responses since these were checked.
    reverify_unknown(node, &mut items);
    let mut queue: std::collections::VecDeque<Verified> = items.into();
    while let Some(item) = queue.pop_front() {
        match item {
            Verified::Ok(env) => {
                if let Err(reason) = policy::receive_check(&env.body, peer_id) {
                    batch.refused.push(AuditDraft::rejection(
                        peer_id,
                        Some(&env.body.origin),
                        Some(env.body.origin_seq),
                        reason,
                        "the sender broke the sharing rules",
                    ));
                    continue;
                }
                let is_key_event = matches!(env.body.entry, Entry::KeyEvent(_));
                let disposition =
                    if is_key_event { Disposition::Accept } else { policy::disposition(&env.body, &peer) };
                batch.items.push((*env, disposition));
                if is_key_event && queue.iter().any(|v| matches!(v, Verified::UnknownKey(_))) {
                    // Store the key event first so later entries signed by
                    // the new key verify.
                    let done = std::mem::replace(
                        &mut batch,
                        IngestBatch { peer: peer_id.to_string(), ..IngestBatch::default() },
                    );
                    node.ledger().ingest(done).await.map_err(|e| e.to_string())?;
                    reverify_unknown(node, queue.make_contiguous());
                }
            }
            Verified::Refused { origin, seq, reason, detail } => {
                batch.refused.push(AuditDraft::rejection(peer_id, origin.as_deref(), seq, reason, detail));
            }
            Verified::UnknownKey(env) => {
                let claimed = wire::decode_body(&env.body).ok();
                batch.refused.push(AuditDraft::rejection(
                    peer_id,
                    claimed.as_ref().map(|b| b.origin.as_str()),
                    claimed.as_ref().map(|b| b.origin_seq),
                    "unknown_key",
                    format!("key {:?} is not trusted for any origin", env.key_id),
                ));
            }
        }
    }
    batch.cursor = Some(cursor);
    crate::metrics::global().observe_batch(peer_id, &batch);
    let report = node.ledger().ingest(batch).await.map_err(|e| e.to_string())?;
    crate::metrics::global().observe_ingest(&report);
    if report.applied > 0 || !report.refused.is_empty() {
        tracing::debug!(
            applied = report.applied,
            duplicates = report.duplicates,
            refused = report.refused.len(),
            cursor,
            "applied"
        );
    }
    Ok(())
}
