//! The federation listener's stream of authenticated connections, for
//! tonic's `serve_with_incoming`.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use rustls::ServerConfig;
use rustls_pki_types::UnixTime;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tokio_stream::Stream;
use tonic::transport::server::Connected;
use tracing::Instrument;

use super::{ALPN_H2, PeerTrust};
use crate::admission::{Admission, Caps, Ticket, WhenFull};

/// Who is on the other end of a federation connection. tonic puts it in
/// every request's extensions:
///
/// ```
/// # use jaring_node::tls::PeerInfo;
/// fn peer_of<T>(request: &tonic::Request<T>) -> Option<&str> {
///     request.extensions().get::<PeerInfo>().map(|p| p.node_id.as_str())
/// }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerInfo {
    /// The trusted peer the client certificate identified.
    pub node_id: String,
    /// The TCP address the connection came from.
    pub remote_addr: SocketAddr,
}

/// An accepted, authenticated federation connection.
#[derive(Debug)]
pub struct TlsConn {
    stream: TlsStream<TcpStream>,
    peer: PeerInfo,
}

impl TlsConn {
    /// The peer on the other end.
    #[must_use]
    pub fn peer(&self) -> &PeerInfo {
        &self.peer
    }

    /// The TLS stream, for inspecting the session.
    #[must_use]
    pub fn get_ref(&self) -> &TlsStream<TcpStream> {
        &self.stream
    }
}

impl Connected for TlsConn {
    type ConnectInfo = PeerInfo;

    fn connect_info(&self) -> PeerInfo {
        self.peer.clone()
    }
}

impl AsyncRead for TlsConn {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for TlsConn {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

/// Bounds on the handshakes the listener runs.
///
/// A connection counts against the caps from `accept` until its handshake
/// is over; established connections (authenticated peers) do not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HandshakeLimits {
    /// A client that has not finished its TLS handshake by then is dropped.
    pub timeout: Duration,
    /// At most this many handshakes run at once. When full, the oldest is
    /// dropped to make room, one whose client has sent nothing first (see
    /// [`crate::admission`]), so idle connections cannot hold a peer out.
    pub max_in_flight: usize,
    /// At most this many handshakes from one client address (IPv6: /64)
    /// run at once; more connections from it are closed at once.
    pub max_per_ip: usize,
}

impl Default for HandshakeLimits {
    /// 5 seconds, 128 handshakes, 8 per client address (as in
    /// [`crate::config::FederationConfig`]).
    fn default() -> HandshakeLimits {
        HandshakeLimits { timeout: Duration::from_secs(5), max_in_flight: 128, max_per_ip: 8 }
    }
}

/// The authenticated connections of a federation listener, as a stream for
/// `tonic::transport::Server::serve_with_incoming`.
///
/// Each TCP connection gets its TLS handshake in its own task, bounded by
/// [`HandshakeLimits`], so one slow client holds up nobody: connections
/// are accepted as fast as they come, the caps close the excess at once,
/// and a full listener drops its oldest handshake (a silent one first)
/// rather than making new clients wait in the kernel's accept queue. A connection is
/// yielded only after the handshake succeeded, ALPN chose `h2`, and the
/// client certificate identified a peer in the [`PeerTrust`] (checked again
/// after the handshake, so the connection is tagged with the node id of the
/// trust set in force).
///
/// Failed handshakes and refused peers are logged (`info` for certificate
/// refusals, `debug` for the rest) with the remote address and the reason,
/// and are **never yielded as errors**: tonic 0.14 skips `Err` items with a
/// `trace`-level message anyway, so yielding them would only lose the
/// context. Failures of `accept` itself are logged too; the stream never
/// ends while it is polled.
///
/// Dropping the stream (tonic does when the server stops) stops accepting
/// and closes the listening socket.
#[derive(Debug)]
pub struct TlsIncoming {
    connections: mpsc::Receiver<TlsConn>,
    accept_loop: JoinHandle<()>,
}

impl Stream for TlsIncoming {
    type Item = Result<TlsConn, io::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.connections.poll_recv(cx).map(|conn| conn.map(Ok))
    }
}

impl Drop for TlsIncoming {
    fn drop(&mut self) {
        self.accept_loop.abort();
    }
}

/// [`tls_incoming_with_limits`] with the default [`HandshakeLimits`].
///
/// # Panics
///
/// If called outside a Tokio runtime (it spawns the accept loop).
#[must_use]
pub fn tls_incoming(listener: TcpListener, config: Arc<ServerConfig>, trust: PeerTrust) -> TlsIncoming {
    tls_incoming_with_limits(listener, config, trust, HandshakeLimits::default())
}

/// Accepts connections on `listener` and runs the TLS handshakes with
/// `config` (normally from [`server_config`](super::server_config) with the
/// same `trust`); see [`TlsIncoming`].
///
/// # Panics
///
/// If called outside a Tokio runtime (it spawns the accept loop).
#[must_use]
pub fn tls_incoming_with_limits(
    listener: TcpListener,
    config: Arc<ServerConfig>,
    trust: PeerTrust,
    limits: HandshakeLimits,
) -> TlsIncoming {
    // Ready connections wait here until tonic takes them.
    let (tx, rx) = mpsc::channel(16);
    let local_addr = listener.local_addr().ok();
    let accept_loop = tokio::spawn(
        accept_loop(listener, TlsAcceptor::from(config), trust, limits, tx)
            .instrument(tracing::info_span!("federation_accept", ?local_addr)),
    );
    TlsIncoming { connections: rx, accept_loop }
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    trust: PeerTrust,
    limits: HandshakeLimits,
    tx: mpsc::Sender<TlsConn>,
) {
    let admission = Admission::new(
        "federation",
        Caps { total: limits.max_in_flight, per_ip: limits.max_per_ip },
        WhenFull::EvictOldest,
    );
    loop {
        let accepted = tokio::select! {
            () = tx.closed() => return,
            accepted = listener.accept() => accepted,
        };
        let (tcp, remote_addr) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                accept_failed(&e).await;
                continue;
            }
        };
        let Ok(ticket) = admission.admit(remote_addr.ip()) else {
            // Closed at once (logged by the admission).
            continue;
        };
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(%remote_addr, error = %e, "cannot set TCP_NODELAY");
        }
        let handshake = Handshake {
            acceptor: acceptor.clone(),
            trust: trust.clone(),
            timeout: limits.timeout,
            tx: tx.clone(),
            ticket,
        };
        tokio::spawn(handshake.run(tcp, remote_addr).instrument(tracing::debug_span!("tls_handshake", %remote_addr)));
    }
}

/// Logs a failed `accept` and, for errors that are about the listener rather
/// than one connection (such as running out of file descriptors), pauses so
/// the loop does not spin.
async fn accept_failed(error: &io::Error) {
    use io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset, Interrupted};
    if matches!(error.kind(), ConnectionAborted | ConnectionRefused | ConnectionReset | Interrupted) {
        tracing::debug!(%error, "accept failed for one connection");
    } else {
        tracing::warn!(%error, "accept failed; pausing 100 ms");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// One connection's handshake.
struct Handshake {
    acceptor: TlsAcceptor,
    trust: PeerTrust,
    timeout: Duration,
    tx: mpsc::Sender<TlsConn>,
    /// Its place among the handshakes; freed when the handshake is over.
    ticket: Ticket,
}

impl Handshake {
    async fn run(self, tcp: TcpStream, remote_addr: SocketAddr) {
        let Handshake { acceptor, trust, timeout, tx, mut ticket } = self;
        let deadline = tokio::time::Instant::now() + timeout;
        // Wait for the ClientHello's first bytes, so a connection that says
        // nothing can be told from a handshake under way.
        let first_bytes = tokio::select! {
            r = tokio::time::timeout_at(deadline, tcp.readable()) => r,
            () = ticket.evicted() => {
                tracing::debug!(%remote_addr, "silent connection closed to make room for a new handshake");
                return;
            }
        };
        match first_bytes {
            Ok(Ok(())) => ticket.mark_started(),
            Ok(Err(error)) => {
                tracing::debug!(%remote_addr, %error, "connection failed before the TLS handshake");
                return;
            }
            Err(_) => {
                tracing::debug!(%remote_addr, ?timeout, "client sent nothing; closed at the handshake timeout");
                return;
            }
        }
        let handshake = tokio::select! {
            r = tokio::time::timeout_at(deadline, acceptor.accept(tcp)) => r,
            () = ticket.evicted() => {
                tracing::debug!(%remote_addr, "handshake closed to make room for a new one");
                return;
            }
        };
        let stream = match handshake {
            Ok(Ok(stream)) => stream,
            Ok(Err(error)) => {
                log_failed_handshake(remote_addr, &error);
                return;
            }
            Err(_) => {
                tracing::debug!(%remote_addr, ?timeout, "TLS handshake timed out");
                return;
            }
        };
        drop(ticket);

        let session = stream.get_ref().1;
        if session.alpn_protocol() != Some(ALPN_H2) {
            tracing::debug!(%remote_addr, "client did not negotiate HTTP/2 (ALPN h2); closing");
            return;
        }
        let Some((end_entity, intermediates)) = session.peer_certificates().and_then(|certs| certs.split_first())
        else {
            // The verifier makes client certificates mandatory.
            tracing::debug!(%remote_addr, "no client certificate after the handshake; closing");
            return;
        };
        let node_id = match trust.verify(end_entity, intermediates, UnixTime::now()) {
            Ok(node_id) => node_id,
            Err(refusal) => {
                // The trust set changed during the handshake.
                tracing::info!(%remote_addr, %refusal, "federation client refused after handshake");
                return;
            }
        };
        tracing::debug!(%remote_addr, %node_id, "federation peer connected");
        let conn = TlsConn { stream, peer: PeerInfo { node_id, remote_addr } };
        // An error means the server stopped; the connection is dropped.
        let _ = tx.send(conn).await;
    }
}

fn log_failed_handshake(remote_addr: SocketAddr, error: &io::Error) {
    let tls_error = error.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>());
    match tls_error {
        Some(tls_error @ (rustls::Error::InvalidCertificate(_) | rustls::Error::NoCertificatesPresented)) => {
            tracing::info!(%remote_addr, error = %tls_error, "federation client refused");
        }
        Some(tls_error) => {
            tracing::debug!(%remote_addr, error = %tls_error, "TLS handshake failed");
        }
        None => tracing::debug!(%remote_addr, %error, "TLS handshake failed"),
    }
}
