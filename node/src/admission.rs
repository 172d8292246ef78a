//! Admission of incoming TCP connections: caps on the connections a
//! listener holds for all clients together and for one client address, so
//! idle or slow connections from anyone, without credentials, can neither
//! exhaust the node's file descriptors nor take the places real clients
//! need.
//!
//! Every accepted connection asks [`Admission::admit`] for a [`Ticket`]
//! before anything else is done with it, and holds the ticket for as long
//! as it counts against the caps (the whole connection on the HTTPS and
//! admin listeners; the TLS handshake only on the federation listener). A
//! refused connection is closed at once: it costs an `accept` and a
//! `close`.
//!
//! # Client addresses
//!
//! An IPv4 client is counted by its address. IPv6 clients are counted by
//! their /64 prefix, since one host usually holds a whole /64 and could
//! otherwise open every connection from a fresh address. IPv4-mapped IPv6
//! addresses (`::ffff:192.0.2.1`, from dual-stack listeners) count as the
//! IPv4 address.
//!
//! # When the listener is full
//!
//! [`WhenFull::Refuse`] closes the new connection. [`WhenFull::EvictOldest`]
//! (the federation handshakes) closes the oldest connection instead,
//! preferring one that has not sent a byte yet ([`Ticket::mark_started`]):
//! a real peer finishes its handshake in milliseconds, so it is never the
//! oldest for long, while connections held open doing nothing are the first
//! to go. The per-address cap always refuses the new connection.
//!
//! Refusals are logged at `debug` one by one and summarized at `warn` at
//! most every [`REPORT_EVERY`], so a flood does not flood the log too.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv6Addr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

/// How often, at most, refusals are summarized in the log.
pub const REPORT_EVERY: Duration = Duration::from_secs(10);

/// The caps of one listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caps {
    /// Connections from all clients together.
    pub total: usize,
    /// Connections from one client address (IPv6: one /64).
    pub per_ip: usize,
}

/// What a full listener does with a new connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhenFull {
    /// Close the new connection.
    Refuse,
    /// Close the oldest held connection, one that has sent nothing first.
    EvictOldest,
}

/// Why a connection was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// The client's address holds its share already.
    #[error("{client} already holds {cap} connections")]
    PerIp {
        /// The client address as counted (IPv6: the /64 prefix).
        client: IpAddr,
        /// [`Caps::per_ip`].
        cap: usize,
    },
    /// The listener holds [`Caps::total`] connections.
    #[error("the listener holds {cap} connections")]
    Total {
        /// [`Caps::total`].
        cap: usize,
    },
}

/// Admission control of one listener; clones share the counts.
#[derive(Debug, Clone)]
pub struct Admission {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    listener: &'static str,
    caps: Caps,
    when_full: WhenFull,
    state: Mutex<State>,
    refused: AtomicU64,
    evicted: AtomicU64,
}

#[derive(Debug, Default)]
struct State {
    next_id: u64,
    per_client: HashMap<IpAddr, usize>,
    /// Held connections by admission order (oldest first).
    held: BTreeMap<u64, Held>,
    last_report: Option<Instant>,
    refused_since_report: u64,
    evicted_since_report: u64,
}

#[derive(Debug)]
struct Held {
    client: IpAddr,
    started: bool,
    evict: Option<oneshot::Sender<()>>,
}

/// One admitted connection's place; dropping it frees the place.
#[derive(Debug)]
pub struct Ticket {
    shared: Arc<Shared>,
    id: u64,
    evicted: oneshot::Receiver<()>,
}

/// The address a client is counted under: IPv4 as is (also when mapped
/// into IPv6), IPv6 by its /64 prefix.
pub fn client_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
    }
}

impl Admission {
    /// Admission for the listener named `listener` (in log messages).
    pub fn new(listener: &'static str, caps: Caps, when_full: WhenFull) -> Admission {
        let caps = Caps { total: caps.total.max(1), per_ip: caps.per_ip.max(1) };
        Admission {
            shared: Arc::new(Shared {
                listener,
                caps,
                when_full,
                state: Mutex::new(State::default()),
                refused: AtomicU64::new(0),
                evicted: AtomicU64::new(0),
            }),
        }
    }

    /// The caps in force.
    pub fn caps(&self) -> Caps {
        self.shared.caps
    }

    /// Admits a connection from `ip`, or says why not (the caller closes
    /// it). With [`WhenFull::EvictOldest`] a full listener closes its oldest
    /// connection instead (that connection's [`Ticket::evicted`] resolves).
    ///
    /// # Errors
    ///
    /// [`Refusal::PerIp`] when the client's address holds its share,
    /// [`Refusal::Total`] when the listener is full and refuses.
    pub fn admit(&self, ip: IpAddr) -> Result<Ticket, Refusal> {
        let client = client_key(ip);
        let shared = &self.shared;
        let mut state = shared.state.lock().unwrap_or_else(PoisonError::into_inner);
        let from_client = state.per_client.get(&client).copied().unwrap_or(0);
        let refusal = if from_client >= shared.caps.per_ip {
            Some(Refusal::PerIp { client, cap: shared.caps.per_ip })
        } else if state.held.len() >= shared.caps.total {
            match shared.when_full {
                WhenFull::Refuse => Some(Refusal::Total { cap: shared.caps.total }),
                WhenFull::EvictOldest => {
                    state.evict_oldest();
                    shared.evicted.fetch_add(1, Ordering::Relaxed);
                    state.evicted_since_report += 1;
                    None
                }
            }
        } else {
            None
        };
        if let Some(refusal) = refusal {
            shared.refused.fetch_add(1, Ordering::Relaxed);
            state.refused_since_report += 1;
            tracing::debug!(listener = shared.listener, %ip, %refusal, "connection refused");
        }
        state.report(shared);
        if let Some(refusal) = refusal {
            return Err(refusal);
        }
        let id = state.next_id;
        state.next_id += 1;
        let (tx, rx) = oneshot::channel();
        *state.per_client.entry(client).or_insert(0) += 1;
        state.held.insert(id, Held { client, started: false, evict: Some(tx) });
        Ok(Ticket { shared: shared.clone(), id, evicted: rx })
    }

    /// Connections held now.
    pub fn held(&self) -> usize {
        self.shared.state.lock().unwrap_or_else(PoisonError::into_inner).held.len()
    }

    /// Connections refused since the start.
    pub fn refused_total(&self) -> u64 {
        self.shared.refused.load(Ordering::Relaxed)
    }

    /// Connections evicted (closed to make room) since the start.
    pub fn evicted_total(&self) -> u64 {
        self.shared.evicted.load(Ordering::Relaxed)
    }
}

impl State {
    /// Removes the oldest held connection that has sent nothing, else the
    /// oldest, and tells it to close.
    fn evict_oldest(&mut self) {
        let victim = self.held.iter().find(|(_, h)| !h.started).or_else(|| self.held.iter().next()).map(|(id, _)| *id);
        if let Some(held) = victim.and_then(|id| self.held.remove(&id)) {
            self.release(held.client);
            if let Some(tx) = held.evict {
                let _ = tx.send(());
            }
        }
    }

    fn release(&mut self, client: IpAddr) {
        if let Some(n) = self.per_client.get_mut(&client) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.per_client.remove(&client);
            }
        }
    }

    fn report(&mut self, shared: &Shared) {
        if self.refused_since_report == 0 && self.evicted_since_report == 0 {
            return;
        }
        let now = Instant::now();
        if self.last_report.is_some_and(|t| now.duration_since(t) < REPORT_EVERY) {
            return;
        }
        tracing::warn!(
            listener = shared.listener,
            refused = self.refused_since_report,
            evicted = self.evicted_since_report,
            held = self.held.len(),
            total_cap = shared.caps.total,
            per_ip_cap = shared.caps.per_ip,
            "connection caps reached; excess connections closed"
        );
        self.last_report = Some(now);
        self.refused_since_report = 0;
        self.evicted_since_report = 0;
    }
}

impl Ticket {
    /// Notes that the client has sent its first bytes: a full
    /// [`WhenFull::EvictOldest`] listener then evicts it only after every
    /// connection that has sent nothing.
    pub fn mark_started(&self) {
        let mut state = self.shared.state.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(h) = state.held.get_mut(&self.id) {
            h.started = true;
        }
    }

    /// Resolves when the listener evicted this connection to make room
    /// (never, on a [`WhenFull::Refuse`] listener).
    pub async fn evicted(&mut self) {
        // The sender lives as long as the place is held, and is used only
        // to evict; an error means the place is gone all the same.
        let _ = (&mut self.evicted).await;
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut state = self.shared.state.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(held) = state.held.remove(&self.id) {
            state.release(held.client);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn per_ip_and_total_caps_refuse_and_a_closed_connection_frees_its_place() {
        let a = Admission::new("test", Caps { total: 3, per_ip: 2 }, WhenFull::Refuse);
        let t1 = a.admit(ip("192.0.2.1")).unwrap();
        let _t2 = a.admit(ip("192.0.2.1")).unwrap();
        assert_eq!(a.admit(ip("192.0.2.1")).unwrap_err(), Refusal::PerIp { client: ip("192.0.2.1"), cap: 2 });
        // IPv4-mapped IPv6 is the same client.
        assert!(matches!(a.admit(ip("::ffff:192.0.2.1")), Err(Refusal::PerIp { .. })));
        let _t3 = a.admit(ip("192.0.2.2")).unwrap();
        assert_eq!(a.admit(ip("192.0.2.3")).unwrap_err(), Refusal::Total { cap: 3 });
        assert_eq!(a.held(), 3);
        drop(t1);
        assert_eq!(a.held(), 2);
        let _t4 = a.admit(ip("192.0.2.1")).unwrap();
        assert_eq!(a.refused_total(), 3);
        assert_eq!(a.evicted_total(), 0);
    }

    #[test]
    fn ipv6_clients_count_by_their_64() {
        let a = Admission::new("test", Caps { total: 10, per_ip: 1 }, WhenFull::Refuse);
        let _t = a.admit(ip("2001:db8:1:2::1")).unwrap();
        assert_eq!(
            a.admit(ip("2001:db8:1:2:ffff::9")).unwrap_err(),
            Refusal::PerIp { client: ip("2001:db8:1:2::"), cap: 1 }
        );
        assert!(a.admit(ip("2001:db8:1:3::1")).is_ok());
    }

    #[tokio::test]
    async fn a_full_evicting_listener_drops_a_silent_connection_before_a_started_one() {
        let a = Admission::new("test", Caps { total: 2, per_ip: 10 }, WhenFull::EvictOldest);
        let mut started = a.admit(ip("192.0.2.1")).unwrap();
        started.mark_started();
        let mut silent = a.admit(ip("192.0.2.2")).unwrap();
        let newer = a.admit(ip("192.0.2.3")).unwrap();
        // The silent one went, though it is younger.
        tokio::time::timeout(Duration::from_secs(5), silent.evicted()).await.unwrap();
        assert_eq!(a.held(), 2);
        assert_eq!(a.evicted_total(), 1);
        // Dropping the evicted ticket does not free a second place.
        drop(silent);
        assert_eq!(a.held(), 2);
        // With only started connections left, the oldest goes.
        newer.mark_started();
        let _newest = a.admit(ip("192.0.2.4")).unwrap();
        tokio::time::timeout(Duration::from_secs(5), started.evicted()).await.unwrap();
        assert_eq!(a.held(), 2);
    }

    #[test]
    fn the_per_ip_cap_refuses_even_when_evicting() {
        let a = Admission::new("test", Caps { total: 1, per_ip: 1 }, WhenFull::EvictOldest);
        let _t = a.admit(ip("192.0.2.1")).unwrap();
        assert!(matches!(a.admit(ip("192.0.2.1")), Err(Refusal::PerIp { .. })));
        assert_eq!(a.evicted_total(), 0);
    }
}
