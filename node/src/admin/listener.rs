//! The admin listener's connections, for tonic's `serve_with_incoming`:
//! TLS with the node's own certificate (`tls/node.pem`, reloaded with the
//! rest of the TLS material), so the CLI authenticates the node before it
//! sends the admin token; plaintext only when `[admin] tls = false`, which
//! the configuration allows on loopback only.
//!
//! Connections are capped (`[admin] max_connections`, excess closed at
//! once), and each handshake runs in its own task with a timeout
//! (`[admin] handshake_timeout_ms`), so a silent client holds up nobody.
//! No client certificate is asked for: the bearer token authenticates the
//! caller ([`super::auth`]).

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use rustls::ServerConfig;
use rustls::server::NoServerSessionStorage;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tokio_stream::Stream;
use tonic::transport::server::{Connected, TcpConnectInfo};
use tracing::Instrument;

use crate::admission::{Admission, Caps, Ticket, WhenFull};
use crate::config::AdminConfig;
use crate::tls::{ALPN_H2, OwnCert};

/// The admin listener's TLS configuration: our certificate (reloadable),
/// no client certificates, ALPN `h2`, TLS 1.2 and 1.3 with `ring`, no
/// session resumption.
///
/// # Errors
///
/// If rustls refuses the protocol versions (it does not with `ring`).
pub fn server_config(own: Arc<OwnCert>) -> Result<Arc<ServerConfig>, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_cert_resolver(own);
    config.alpn_protocols = vec![ALPN_H2.to_vec()];
    config.session_storage = Arc::new(NoServerSessionStorage {});
    config.send_tls13_tickets = 0;
    Ok(Arc::new(config))
}

/// One admin connection: TLS or, when configured, plaintext on loopback.
#[derive(Debug)]
pub struct AdminConn {
    stream: Transport,
    info: TcpConnectInfo,
    /// Its place under `[admin] max_connections`.
    _ticket: Ticket,
}

#[derive(Debug)]
enum Transport {
    Tls(Box<TlsStream<TcpStream>>),
    Plain(TcpStream),
}

impl Connected for AdminConn {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> TcpConnectInfo {
        self.info.clone()
    }
}

impl AsyncRead for AdminConn {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match &mut self.stream {
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
            Transport::Plain(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for AdminConn {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match &mut self.stream {
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
            Transport::Plain(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.stream {
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
            Transport::Plain(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.stream {
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
            Transport::Plain(s) => Pin::new(s).poll_shutdown(cx),
        }
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match &mut self.stream {
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
            Transport::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match &self.stream {
            Transport::Tls(s) => s.is_write_vectored(),
            Transport::Plain(s) => s.is_write_vectored(),
        }
    }
}

/// The admin listener's connections as a stream for
/// `tonic::transport::Server::serve_with_incoming`. Dropping it stops
/// accepting.
#[derive(Debug)]
pub struct AdminIncoming {
    connections: mpsc::Receiver<AdminConn>,
    accept_loop: JoinHandle<()>,
}

impl Stream for AdminIncoming {
    type Item = Result<AdminConn, io::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.connections.poll_recv(cx).map(|conn| conn.map(Ok))
    }
}

impl Drop for AdminIncoming {
    fn drop(&mut self) {
        self.accept_loop.abort();
    }
}

/// Accepts admin connections on `listener`: TLS with `own` unless
/// `config.tls` is off.
///
/// # Errors
///
/// If the TLS configuration cannot be built.
///
/// # Panics
///
/// If called outside a Tokio runtime (it spawns the accept loop).
pub fn incoming(
    listener: TcpListener,
    own: Arc<OwnCert>,
    config: &AdminConfig,
) -> Result<AdminIncoming, rustls::Error> {
    let acceptor = if config.tls { Some(TlsAcceptor::from(server_config(own)?)) } else { None };
    let admission = Admission::new(
        "admin",
        Caps { total: config.max_connections, per_ip: config.max_connections },
        WhenFull::Refuse,
    );
    let timeout = Duration::from_millis(config.handshake_timeout_ms);
    let (tx, rx) = mpsc::channel(16);
    let accept_loop = tokio::spawn(
        accept_loop(listener, acceptor, admission, timeout, tx).instrument(tracing::info_span!("admin_accept")),
    );
    Ok(AdminIncoming { connections: rx, accept_loop })
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: Option<TlsAcceptor>,
    admission: Admission,
    timeout: Duration,
    tx: mpsc::Sender<AdminConn>,
) {
    let local_addr = listener.local_addr().ok();
    loop {
        let accepted = tokio::select! {
            () = tx.closed() => return,
            accepted = listener.accept() => accepted,
        };
        let (tcp, remote_addr) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                tracing::warn!(%error, "admin accept failed; pausing 100 ms");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(ticket) = admission.admit(remote_addr.ip()) else { continue };
        // Without TCP_NODELAY a unary response (headers, message, trailers)
        // can wait for the client's delayed ACK: ~40 ms stalls at p99.
        if let Err(error) = tcp.set_nodelay(true) {
            tracing::debug!(%remote_addr, %error, "cannot set TCP_NODELAY");
        }
        let info = TcpConnectInfo { local_addr, remote_addr: Some(remote_addr) };
        let Some(acceptor) = acceptor.clone() else {
            if tx.send(AdminConn { stream: Transport::Plain(tcp), info, _ticket: ticket }).await.is_err() {
                return;
            }
            continue;
        };
        let tx = tx.clone();
        tokio::spawn(
            async move {
                let tls = match tokio::time::timeout(timeout, acceptor.accept(tcp)).await {
                    Ok(Ok(tls)) => tls,
                    Ok(Err(error)) => {
                        tracing::debug!(%remote_addr, %error, "admin TLS handshake failed");
                        return;
                    }
                    Err(_) => {
                        tracing::debug!(%remote_addr, ?timeout, "admin TLS handshake timed out");
                        return;
                    }
                };
                let _ = tx.send(AdminConn { stream: Transport::Tls(Box::new(tls)), info, _ticket: ticket }).await;
            }
            .instrument(tracing::debug_span!("admin_handshake", %remote_addr)),
        );
    }
}

/// The address a client dials for an admin listener configured on
/// `listen`: a wildcard (`0.0.0.0`, `[::]`) is dialed on loopback.
pub fn dial_addr(listen: &str) -> String {
    listen.replace("0.0.0.0", "127.0.0.1").replace("[::]", "[::1]")
}

#[cfg(test)]
mod tests {
    use super::dial_addr;

    #[test]
    fn wildcards_are_dialed_on_loopback() {
        assert_eq!(dial_addr("0.0.0.0:7701"), "127.0.0.1:7701");
        assert_eq!(dial_addr("[::]:7701"), "[::1]:7701");
        assert_eq!(dial_addr("127.0.0.1:7701"), "127.0.0.1:7701");
    }
}
