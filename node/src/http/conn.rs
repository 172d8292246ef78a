//! One HTTPS connection under the listener's limits: a TLS handshake
//! timeout, HTTP/1.1 with a header-read timeout (which also bounds an idle
//! keep-alive connection between requests), HTTP/2 with a stream cap, and
//! an idle watchdog that closes any connection that has moved no byte in
//! either direction for `idle_timeout` (a silent HTTP/2 connection, a
//! client that stops reading its response, a stalled upload).
//!
//! The protocol is the one ALPN chose (`h2`, else HTTP/1.1), so no
//! connection ever waits, without a timeout, for bytes that would tell
//! the two apart.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::admission::Ticket;

/// The per-connection limits of the HTTPS listener (from `[http]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnLimits {
    /// To finish the TLS handshake.
    pub handshake_timeout: Duration,
    /// To send a request's headers, from when the server waits for them.
    pub header_read_timeout: Duration,
    /// Without a byte moved either way.
    pub idle_timeout: Duration,
    /// Concurrent HTTP/2 streams.
    pub max_streams: u32,
}

impl ConnLimits {
    /// The limits of an `[http]` section.
    pub fn of(config: &crate::config::HttpConfig) -> ConnLimits {
        ConnLimits {
            handshake_timeout: Duration::from_millis(config.handshake_timeout_ms),
            header_read_timeout: Duration::from_millis(config.header_read_timeout_ms),
            idle_timeout: Duration::from_millis(config.idle_timeout_ms),
            max_streams: config.max_streams_per_connection,
        }
    }
}

/// After the idle watchdog asks a connection to finish, how long its
/// requests in flight get before it is dropped.
const GRACE: Duration = Duration::from_secs(1);

/// Serves one accepted connection until it ends or breaks a limit. The
/// `ticket` (its place under the listener's caps) is held until then.
pub async fn serve_one(
    tcp: TcpStream,
    addr: SocketAddr,
    ticket: Ticket,
    acceptor: tokio_rustls::TlsAcceptor,
    app: Router,
    limits: ConnLimits,
) {
    let _ticket = ticket;
    let tls = match tokio::time::timeout(limits.handshake_timeout, acceptor.accept(tcp)).await {
        Ok(Ok(tls)) => tls,
        Ok(Err(e)) => {
            tracing::debug!(%addr, error = %e, "http TLS handshake failed");
            return;
        }
        Err(_) => {
            tracing::debug!(%addr, "http TLS handshake timed out");
            return;
        }
    };
    let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2".as_slice());
    let activity = Activity::new();
    let io = TokioIo::new(Watched { inner: tls, activity: activity.clone() });
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder = if h2 { builder.http2_only() } else { builder.http1_only() };
    builder.http1().timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout).keep_alive(true);
    builder.http2().timer(TokioTimer::new()).max_concurrent_streams(limits.max_streams).max_header_list_size(64 * 1024);
    let app = WithClientAddr { inner: app, addr: super::auth::ClientAddr(addr) };
    let conn = builder.serve_connection(io, TowerToHyperService::new(app));
    tokio::pin!(conn);
    let mut finishing: Option<Instant> = None;
    loop {
        let wake = match finishing {
            Some(deadline) => deadline,
            None => activity.last() + limits.idle_timeout,
        };
        tokio::select! {
            r = conn.as_mut() => {
                if let Err(e) = r {
                    tracing::debug!(%addr, error = %e, "http connection ended");
                }
                return;
            }
            () = tokio::time::sleep_until(wake) => {
                if finishing.is_some() {
                    tracing::debug!(%addr, "http connection dropped after the grace period");
                    return;
                }
                if activity.last() + limits.idle_timeout <= Instant::now() {
                    tracing::debug!(%addr, idle = ?limits.idle_timeout, "idle http connection closed");
                    conn.as_mut().graceful_shutdown();
                    finishing = Some(Instant::now() + GRACE);
                }
            }
        }
    }
}

/// The router with the connection's peer address in every request's
/// extensions (the token checks bind tokens to networks with it).
#[derive(Debug, Clone)]
struct WithClientAddr<S> {
    inner: S,
    addr: super::auth::ClientAddr,
}

impl<S, B> tower::Service<axum::http::Request<B>> for WithClientAddr<S>
where
    S: tower::Service<axum::http::Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: axum::http::Request<B>) -> Self::Future {
        req.extensions_mut().insert(self.addr);
        self.inner.call(req)
    }
}

/// When a connection last moved a byte.
#[derive(Debug, Clone)]
struct Activity {
    base: Instant,
    /// Milliseconds after `base`.
    last_ms: Arc<AtomicU64>,
}

impl Activity {
    fn new() -> Activity {
        Activity { base: Instant::now(), last_ms: Arc::new(AtomicU64::new(0)) }
    }

    fn touch(&self) {
        let ms = u64::try_from(self.base.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    fn last(&self) -> Instant {
        self.base + Duration::from_millis(self.last_ms.load(Ordering::Relaxed))
    }
}

/// A stream that records when bytes move.
struct Watched<T> {
    inner: T,
    activity: Activity,
}

impl<T: AsyncRead + Unpin> AsyncRead for Watched<T> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.touch();
        }
        r
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Watched<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        r
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        r
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
