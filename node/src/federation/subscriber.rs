//! The subscribing side: one task per peer.
//!
//! The task dials the peer over mTLS (verifying the peer's certificate
//! against the CA and TLS name on its identity card), subscribes from the
//! cursor stored for it, and runs a pipeline: the receive stage decodes
//! each response and starts verifying its signatures (ed25519 batch
//! verification, split across the blocking pool, followed by the sharing
//! and arrival rules) while it reads the next one, and the apply stage
//! hands the responses, in order, to the ledger, which stores each one's
//! entries and the new cursor durably. It hands up to twelve (`IN_FLIGHT`)
//! before the oldest is answered, so a writer whose commits take longer than a
//! response's verification (a database over the network) commits several
//! at once; each names the cursor it continues from
//! ([`IngestBatch::after`]), so one queued behind a failed commit stores
//! nothing rather than moving the cursor past entries not stored. A
//! response with an entry signed by a key not yet known waits until those
//! before it are answered (their key events may announce the key). On any
//! failure it reconnects with capped exponential backoff and resumes from
//! the stored cursor, read once what it handed over is answered; applying is idempotent by (origin, origin_seq), so
//! at-least-once delivery is harmless.
//!
//! Abuse limits: the pipeline holds at most sixteen responses (twelve handed
//! to the ledger, one being handed and three verified or being verified; the
//! next is not read before one leaves), each within `limits.max_message_bytes` and
//! `limits.max_batch` entries. A peer's entries pass a token bucket
//! (`limits.peer_entries_per_s`, `limits.peer_entries_burst`), and the
//! envelopes of it that are refused (each one audited) a second one
//! (`limits.peer_refusals_per_s`, `limits.peer_refusals_burst`); past either
//! the task stops reading, so HTTP/2 flow control slows the peer down. A
//! response the peer should never have sent (too large, undecodable, too
//! many entries, cursor moving backwards) is audited as a rejection and
//! closes the stream; refused envelopes inside a well-formed response are
//! audited one by one and the stream goes on.
//!
//! What a verified envelope must pass before it is stored: the hard sharing
//! rules ([`crate::policy::receive_check`]) and the content rules the
//! origin itself keeps ([`crate::arrival`]: canonical values, personal data
//! only keyed, ids of their origin, no times from the future). Key events
//! from a `review` peer wait in quarantine like its other entries; what a
//! key announced there signed waits with them (the link holds its cursor
//! before it until an analyst decides).
//!
//! An indicator whose value is on one of this node's `refuse` allowlists
//! (built-in, admin or imported; personal data by its keyed hash) is held
//! for review instead of being served, the reason naming the list and the
//! rule ([`crate::policy::allowlisted`]).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jaring_proto::pb;
use jaring_proto::pb::federation_client::FederationClient;
use tokio::sync::{mpsc, watch};
use tracing::Instrument;

use super::error::LinkError;
use crate::arrival::{self, ArrivalRules};
use crate::audit::AuditDraft;
use crate::envelope::{Entry, SignedEnvelope, VerifiedEnvelope};
use crate::ledger::{IngestBatch, IngestReport, StoredBytes};
use crate::model::now_ms;
use crate::node::Node;
use crate::policy;
use crate::shutdown::Shutdown;
use crate::signing::{self, Refused, VerifyError};
use crate::store::StoreError;
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
    followed: Arc<super::witness::Followed>,
) {
    let span = tracing::info_span!("subscribe", peer = %peer_id);
    async move {
        let mut backoff = BACKOFF_MIN;
        let limits = &node.config().limits;
        // Kept across reconnects: reconnecting does not refill them.
        let mut bucket = TokenBucket::new(limits.peer_entries_per_s, limits.peer_entries_burst, Instant::now());
        let refusals = Arc::new(Mutex::new(TokenBucket::new(
            limits.peer_refusals_per_s,
            limits.peer_refusals_burst,
            Instant::now(),
        )));
        loop {
            if shutdown.is_shutdown() || *stop.borrow() {
                break;
            }
            let started = std::time::Instant::now();
            let outcome = tokio::select! {
                r = session(&node, &own, &peer_id, &mut bucket, &refusals, &followed) => r,
                _ = shutdown.wait() => break,
                _ = stop.wait_for(|s| *s) => break,
            };
            let err = match outcome {
                Ok(()) => "stream ended".to_string(),
                Err(e) => e.to_string(),
            };
            if started.elapsed() > Duration::from_secs(10) {
                backoff = BACKOFF_MIN;
            }
            tracing::info!(error = %err, retry_in_ms = backoff.as_millis() as u64, "subscription interrupted");
            node.update_link(&peer_id, |l| {
                l.inbound_state = "backoff".into();
                l.last_error = err.clone();
            });
            let jitter = Duration::from_millis(u64::from(
                getrandom::rand_core::Rng::next_u32(&mut getrandom::rand_core::UnwrapErr(getrandom::SysRng)) % 100,
            ));
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
async fn session(
    node: &Arc<Node>,
    own: &Arc<OwnCert>,
    peer_id: &str,
    bucket: &mut TokenBucket,
    refusals: &Arc<Mutex<TokenBucket>>,
    followed: &Arc<super::witness::Followed>,
) -> Result<(), LinkError> {
    let peer = node.peer(peer_id).filter(|p| p.may_connect()).ok_or(LinkError::PeerGone)?;
    node.update_link(peer_id, |l| l.inbound_state = "connecting".into());
    let ca = tls::TrustedPeer::from_ca_pem(peer_id, &peer.card.tls_ca_pem).map_err(LinkError::PeerCa)?.ca_certs;
    let config = tls::client_config(own.clone(), &ca)?;
    let channel = tls::connect(peer.endpoint(), &peer.card.tls_name, config).await?;
    let limit = node.config().limits.max_message_bytes;
    let max_batch = node.config().limits.max_batch;
    let mut client = FederationClient::new(channel).max_decoding_message_size(limit).max_encoding_message_size(limit);
    // Batches an earlier session handed over may still be queued.
    node.ledger().settled().await?;
    let cursor = node.cursor(peer_id)?;
    let request = pb::SubscribeRequest {
        cursor,
        max_batch: u32::try_from(max_batch).unwrap_or(u32::MAX),
        max_message_bytes: u32::try_from(limit).unwrap_or(u32::MAX),
    };
    let mut stream = client.subscribe(request).await.map_err(LinkError::Subscribe)?.into_inner();
    tracing::info!(cursor, "subscribed");
    // While subscribed, this node witnesses the peer's log over the same
    // connection (the task ends with the session).
    let _following = followed.register(peer_id, client.clone());
    let _witness = AbortOnDrop(tokio::spawn(
        super::witness::follow(node.clone(), peer_id.to_string(), client.clone(), followed.clone())
            .instrument(tracing::info_span!("witness")),
    ));
    node.update_link(peer_id, |l| {
        l.inbound_state = "connected".into();
        l.inbound_cursor = cursor;
        l.last_contact_ms = now_ms();
        l.last_error.clear();
    });

    // Each response's verification runs on the blocking pool while the next
    // response is received and the ones before are applied: the channel
    // carries the verification task, in order.
    let (tx, mut rx) = mpsc::channel::<(Verifying, u64, u64, u64)>(2);
    let applier = {
        let node = node.clone();
        let peer_id = peer_id.to_string();
        let refusals = refusals.clone();
        tokio::spawn(async move {
            let mut handed: VecDeque<Handed> = VecDeque::with_capacity(IN_FLIGHT);
            let mut open = true;
            loop {
                let room = open && handed.len() < IN_FLIGHT;
                let event = match handed.front_mut() {
                    Some(oldest) if room => tokio::select! {
                        biased;
                        r = &mut oldest.answer => Event::Answered(r),
                        next = rx.recv() => Event::Next(next),
                    },
                    Some(oldest) => Event::Answered((&mut oldest.answer).await),
                    None if open => Event::Next(rx.recv().await),
                    None => break,
                };
                match event {
                    Event::Answered(r) => {
                        let Some(h) = handed.pop_front() else { continue };
                        settle(&node, &peer_id, &refusals, h, r).await?;
                    }
                    Event::Next(None) => open = false,
                    Event::Next(Some((verifying, cursor, head, before))) => {
                        let items = verifying.await.map_err(LinkError::VerifyTask)??;
                        if items.iter().any(|(_, v)| matches!(v, Verified::UnknownKey(_))) {
                            // Its key may come with a response still
                            // committing: wait for those before looking again.
                            while let Some(mut h) = handed.pop_front() {
                                let r = (&mut h.answer).await;
                                settle(&node, &peer_id, &refusals, h, r).await?;
                            }
                        }
                        let (refused, answer) = apply(&node, &peer_id, items, before, cursor).await?;
                        handed.push_back(Handed { answer: Box::pin(answer), cursor, head });
                        // Refusals found before the ledger hold the next
                        // response back at once; the ledger's, once answered.
                        throttle(&peer_id, &refusals, refused).await;
                    }
                }
            }
            Ok::<(), LinkError>(())
        })
    };
    // Owns `tx`: dropping it ends the apply stage's input.
    let mut receive = Box::pin(async move {
        let mut last_cursor = cursor;
        loop {
            let msg = match stream.message().await {
                Ok(Some(m)) => m,
                Ok(None) => return Ok(()),
                Err(s) => {
                    let reason = peer_fault(&s);
                    let error = LinkError::Stream(s);
                    if let Some(reason) = reason {
                        refuse_response(node, peer_id, reason, &error.to_string()).await;
                    }
                    return Err(error);
                }
            };
            if msg.cursor < last_cursor {
                let error = LinkError::CursorBackwards { got: msg.cursor, had: last_cursor };
                refuse_response(node, peer_id, "cursor_backwards", &error.to_string()).await;
                return Err(error);
            }
            if msg.entries.len() > max_batch {
                let error = LinkError::BatchTooLarge { entries: msg.entries.len(), max: max_batch };
                refuse_response(node, peer_id, "batch_too_large", &error.to_string()).await;
                return Err(error);
            }
            let before = std::mem::replace(&mut last_cursor, msg.cursor);
            let wait = bucket.take(msg.entries.len() as u64, Instant::now());
            if !wait.is_zero() {
                crate::metrics::global().throttled(peer_id, "entries", wait.as_secs_f64());
                tokio::time::sleep(wait).await;
            }
            let verifying = tokio::spawn(verify(node.clone(), peer_id.into(), msg.entries));
            if tx.send((verifying, msg.cursor, msg.head, before)).await.is_err() {
                return Err(LinkError::ApplyStopped);
            }
        }
    });
    let mut applier = applier;
    // The apply stage stops early only on an error (a store failure, or a
    // key under review): the session ends then, not at the next response.
    let received: Result<(), LinkError> = tokio::select! {
        r = &mut receive => r,
        a = &mut applier => return a?.and(Err(LinkError::ApplyStopped)),
    };
    drop(receive);
    let applied = applier.await?;
    applied.and(received)
}

/// Aborts a task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The audit reason of a stream error the peer caused, if it did: a
/// response over `limits.max_message_bytes` or one that does not decode.
/// Connection failures and the peer ending the stream are not faults.
fn peer_fault(status: &tonic::Status) -> Option<&'static str> {
    match status.code() {
        tonic::Code::OutOfRange if status.message().contains("message length too large") => Some("message_too_large"),
        tonic::Code::Internal
            if status.message().starts_with("failed to decode Protobuf message")
                || status.message().starts_with("protocol error") =>
        {
            Some("malformed_message")
        }
        _ => None,
    }
}

/// Audits and counts a response refused as a whole (the stream then closes).
async fn refuse_response(node: &Node, peer_id: &str, reason: &'static str, detail: &str) {
    tracing::warn!(reason, detail, "response refused; closing the stream");
    crate::metrics::global().rejection(reason);
    let batch = IngestBatch {
        peer: peer_id.to_string(),
        refused: vec![AuditDraft::rejection(peer_id, None, None, reason, detail)],
        ..IngestBatch::default()
    };
    if let Err(e) = node.ledger().ingest(batch).await {
        tracing::warn!(error = %e, "cannot audit a refused response");
    }
}

/// A token bucket over entries: `rate` per second, at most `burst` saved.
/// Taking more than is there goes into debt; the answer is how long to wait
/// for the debt to be paid, so a large response waits in proportion.
#[derive(Debug, Clone)]
struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    fn new(rate: u64, burst: u64, now: Instant) -> TokenBucket {
        let burst = burst.max(1) as f64;
        TokenBucket { rate: rate.max(1) as f64, burst, tokens: burst, last: now }
    }

    /// Takes `n` tokens at `now`; how long to wait before using them.
    fn take(&mut self, n: u64, now: Instant) -> Duration {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst) - n as f64;
        if self.tokens >= 0.0 { Duration::ZERO } else { Duration::from_secs_f64(-self.tokens / self.rate) }
    }
}

/// One received entry after signature checking.
enum Verified {
    /// With its stored bytes, encoded (and hashed) on the verifying thread.
    Ok(Box<(VerifiedEnvelope, StoredBytes)>),
    Refused {
        origin: Option<String>,
        seq: Option<u64>,
        reason: &'static str,
        detail: String,
    },
    /// Signed by a key not (yet) known: retried after earlier key events apply.
    UnknownKey(SignedEnvelope),
}

/// Verifies a response's entries, each with the peer's log position of it,
/// and checks what verified against the sharing and arrival rules.
async fn verify(
    node: Arc<Node>,
    peer_id: Arc<str>,
    entries: Vec<pb::LogEntry>,
) -> Result<Vec<(u64, Verified)>, LinkError> {
    let seqs: Vec<u64> = entries.iter().map(|e| e.seq).collect();
    let envs: Vec<SignedEnvelope> =
        entries.into_iter().map(|e| e.envelope.map(wire::envelope_from_pb).unwrap_or_else(empty)).collect();
    // Two halves on the blocking pool: the node's two cores verify at once.
    let mid = envs.len() / 2;
    let mut first = envs;
    let second = first.split_off(mid);
    let (n1, p1) = (node.clone(), peer_id.clone());
    let a = tokio::task::spawn_blocking(move || verify_all(&n1, &p1, first));
    let b = tokio::task::spawn_blocking(move || verify_all(&node, &peer_id, second));
    let (a, b) = tokio::join!(a, b);
    let mut out = a.map_err(LinkError::VerifyTask)?;
    out.extend(b.map_err(LinkError::VerifyTask)?);
    Ok(seqs.into_iter().zip(out).collect())
}

fn empty() -> SignedEnvelope {
    SignedEnvelope { body: Vec::new(), signature: Vec::new(), key_id: String::new() }
}

/// Verifies envelopes from `peer_id` with the current key ring. What
/// verifies must then pass the hard sharing rules
/// ([`policy::receive_check`]) and the content rules ([`arrival::check`]:
/// canonical values, personal data keyed, ids, times) before it is kept;
/// both depend on the envelope alone, so they run here, on the verifying
/// threads, not in the apply stage.
fn verify_all(node: &Node, peer_id: &str, envs: Vec<SignedEnvelope>) -> Vec<Verified> {
    if envs.is_empty() {
        return Vec::new();
    }
    let ring = node.committed().keyring();
    let leaf = node.config().log.enabled;
    let rules = ArrivalRules {
        hash_phone: node.privacy().hash_phone(),
        now_ms: now_ms(),
        max_future_ms: node.config().limits.max_clock_skew_ms,
    };
    signing::verify_batch_keeping(envs, &ring)
        .into_iter()
        .map(|r| match r {
            Ok(v) => {
                let refusal = policy::receive_check(&v.body, peer_id)
                    .map_err(|reason| (reason, "the sender broke the sharing rules".to_string()))
                    .and_then(|()| arrival::check(&v.body, &rules).map_err(|r| (r.reason, r.detail)));
                match refusal {
                    Ok(()) => {
                        let stored = StoredBytes::of(&v.raw, leaf);
                        Verified::Ok(Box::new((v, stored)))
                    }
                    Err((reason, detail)) => Verified::Refused {
                        origin: Some(v.body.origin.clone()),
                        seq: Some(v.body.origin_seq),
                        reason,
                        detail,
                    },
                }
            }
            Err(refused) => match *refused {
                Refused { error: VerifyError::UnknownKey { .. }, envelope } => Verified::UnknownKey(envelope),
                Refused { error, envelope } => {
                    let claimed = wire::decode_body(&envelope.body).ok();
                    Verified::Refused {
                        origin: claimed.as_ref().map(|b| b.origin.clone()),
                        seq: claimed.as_ref().map(|b| b.origin_seq),
                        reason: error.reason(),
                        detail: error.to_string(),
                    }
                }
            },
        })
        .collect()
}

/// Checks again, with the current key ring, entries whose key was unknown.
fn reverify_unknown(node: &Node, peer_id: &str, items: &mut [(u64, Verified)]) {
    let slots: Vec<usize> = (0..items.len()).filter(|&i| matches!(items[i].1, Verified::UnknownKey(_))).collect();
    if slots.is_empty() {
        return;
    }
    let envs: Vec<SignedEnvelope> = slots
        .iter()
        .map(|&i| match &mut items[i].1 {
            Verified::UnknownKey(env) => std::mem::replace(env, empty()),
            _ => empty(),
        })
        .collect();
    for (slot, again) in slots.into_iter().zip(verify_all(node, peer_id, envs)) {
        items[slot].1 = again;
    }
}

/// Hands one response's entries to the ledger in order, then records the
/// cursor (`cursor`; `before`: the cursor before this response, which each
/// of its batches names as [`IngestBatch::after`]). Returns how many were
/// refused before the ledger (and by key events stored first) and the
/// ledger's answer for the rest.
///
/// Each verified entry has passed the hard sharing rules and the content
/// rules (in [`verify_all`]); a refusal is audited with its reason and the
/// stream goes on. An
/// entry signed by a key that a rotation held for review announced
/// ([`crate::ledger::Committed::key_pending`]) stops the response there:
/// what came before is stored, the cursor stays before it, and the link
/// waits (retrying with backoff) until an analyst decides.
async fn apply(
    node: &Arc<Node>,
    peer_id: &str,
    items: Vec<(u64, Verified)>,
    before: u64,
    cursor: u64,
) -> Result<(u64, impl Future<Output = Result<IngestReport, StoreError>> + Send + 'static), LinkError> {
    let peer = node.peer(peer_id).ok_or(LinkError::PeerGone)?;
    let fresh = || IngestBatch { peer: peer_id.to_string(), after: Some(before), ..IngestBatch::default() };
    let mut batch = fresh();
    let mut items = items;
    // Keys may have arrived with earlier responses since these were checked.
    reverify_unknown(node, peer_id, &mut items);
    let mut queue: std::collections::VecDeque<(u64, Verified)> = items.into();
    let mut refused = 0;
    // The peer's position up to which this response is handled.
    let mut done = before;
    // One snapshot of the allowlists for the whole response.
    let allowlists = node.allowlists();
    while let Some((seq, item)) = queue.pop_front() {
        match item {
            Verified::Ok(item) => {
                let (env, stored) = *item;
                let is_key_event = matches!(env.body.entry, Entry::KeyEvent(_));
                // Key events from a `review` peer are held for review too.
                let mut disposition = policy::disposition(&env.body, &peer);
                // A value this node will not act on is held for review, with the list named.
                if let Some(hit) = allowlists.refuse_hit(&env.body, node.privacy()) {
                    disposition = policy::allowlisted(disposition, &hit.list, &hit.rule);
                }
                batch.items.push((env, disposition, Some(stored)));
                if is_key_event && queue.iter().any(|(_, v)| matches!(v, Verified::UnknownKey(_))) {
                    // Store the key event first so later entries signed by
                    // the new key verify.
                    let done_batch = std::mem::replace(&mut batch, fresh());
                    refused += done_batch.refused.len() as u64;
                    crate::metrics::global().observe_batch(peer_id, &done_batch);
                    let report = node.ledger().ingest(done_batch).await?;
                    crate::metrics::global().observe_ingest(peer_id, &report);
                    refused += report.refused.len() as u64;
                    reverify_unknown(node, peer_id, queue.make_contiguous());
                }
            }
            Verified::Refused { origin, seq: origin_seq, reason, detail } => {
                batch.refused.push(AuditDraft::rejection(peer_id, origin.as_deref(), origin_seq, reason, detail));
            }
            Verified::UnknownKey(env) if node.committed().key_pending(&env.key_id) => {
                // Signed by a key still under review: wait for the decision.
                batch.cursor = Some(done);
                crate::metrics::global().observe_batch(peer_id, &batch);
                let report = node.ledger().ingest(batch).await?;
                crate::metrics::global().observe_ingest(peer_id, &report);
                tracing::info!(key = %env.key_id, cursor = done, "waiting for the review of a key event");
                return Err(LinkError::KeyUnderReview { key_id: env.key_id });
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
        done = seq.clamp(done, cursor);
    }
    batch.cursor = Some(cursor);
    refused += batch.refused.len() as u64;
    crate::metrics::global().observe_batch(peer_id, &batch);
    let answer = node.ledger().submit_ingest(batch).await?;
    Ok((refused, answer))
}

/// A response's verification, on the blocking pool.
type Verifying = tokio::task::JoinHandle<Result<Vec<(u64, Verified)>, LinkError>>;

/// Responses of one link handed to the ledger before the oldest is
/// answered: the writer commits those queued together, so a store whose
/// commits cost more than the verification of a response (a database
/// over the network) commits several responses at once.
const IN_FLIGHT: usize = 12;

/// A response handed to the ledger, until its commit is answered.
struct Handed {
    answer: std::pin::Pin<Box<dyn Future<Output = Result<IngestReport, StoreError>> + Send>>,
    cursor: u64,
    head: u64,
}

/// What the apply stage waits for.
enum Event {
    Answered(Result<IngestReport, StoreError>),
    Next(Option<(Verifying, u64, u64, u64)>),
}

/// Takes `refused` from the peer's refusal budget, waiting when it is
/// spent: the receive stage fills the channel and stops reading meanwhile.
async fn throttle(peer_id: &str, refusals: &Mutex<TokenBucket>, refused: u64) {
    let wait = refusals.lock().unwrap_or_else(|p| p.into_inner()).take(refused, Instant::now());
    if !wait.is_zero() {
        crate::metrics::global().throttled(peer_id, "refusals", wait.as_secs_f64());
        tokio::time::sleep(wait).await;
    }
}

/// The oldest handed response is answered: count it, slow down after the
/// ledger's refusals, show the link's new cursor.
async fn settle(
    node: &Node,
    peer_id: &str,
    refusals: &Mutex<TokenBucket>,
    h: Handed,
    answer: Result<IngestReport, StoreError>,
) -> Result<(), LinkError> {
    let report = answer?;
    crate::metrics::global().observe_ingest(peer_id, &report);
    if report.applied > 0 || !report.refused.is_empty() {
        tracing::debug!(
            applied = report.applied,
            duplicates = report.duplicates,
            refused = report.refused.len(),
            cursor = h.cursor,
            "applied"
        );
    }
    throttle(peer_id, refusals, report.refused.len() as u64).await;
    node.update_link(peer_id, |l| {
        l.inbound_cursor = h.cursor;
        l.inbound_head = h.head;
        l.last_contact_ms = now_ms();
        if h.cursor >= h.head {
            l.caught_up_at_ms = l.last_contact_ms;
        }
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bucket_allows_the_burst_then_the_rate() {
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let t0 = Instant::now();
        let mut b = TokenBucket::new(100, 50, t0);
        assert_eq!(b.take(50, t0), Duration::ZERO);
        // 10 more with nothing saved: 0.1 s at 100/s.
        assert!((ms(b.take(10, t0)) - 100.0).abs() < 0.01);
        // Once the debt is paid, saving stops at the burst: 50 free, 51 wait.
        assert!(ms(b.take(0, t0 + Duration::from_millis(101))) < 0.01);
        assert_eq!(b.take(50, t0 + Duration::from_secs(5)), Duration::ZERO);
        // A response larger than the burst waits in proportion.
        assert!((ms(b.take(200, t0 + Duration::from_secs(5))) - 2000.0).abs() < 0.01);
    }

    #[test]
    fn only_faults_of_the_peer_are_audited() {
        let too_large = tonic::Status::out_of_range(
            "Error, decoded message length too large: found 70000 bytes, the limit is: 65536 bytes",
        );
        assert_eq!(peer_fault(&too_large), Some("message_too_large"));
        let garbage = tonic::Status::internal("failed to decode Protobuf message: invalid wire type");
        assert_eq!(peer_fault(&garbage), Some("malformed_message"));
        assert_eq!(peer_fault(&tonic::Status::unavailable("node shutting down")), None);
        assert_eq!(peer_fault(&tonic::Status::internal("store failure")), None);
        assert_eq!(peer_fault(&tonic::Status::permission_denied("peer removed or blocked")), None);
    }
}
