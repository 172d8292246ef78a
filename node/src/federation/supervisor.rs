//! Keeps the federation listener's trust set and the subscriber tasks in
//! step with the peer set.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use jaring_proto::pb::federation_server::FederationServer;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tonic::transport::server::Connected;

use super::error::ServeError;
use super::publisher::FederationService;
use super::subscriber;
use crate::node::Node;
use crate::shutdown::Shutdown;
use crate::tls::{self, OwnCert, PeerInfo, TlsConn};

/// How long shutdown waits for open federation connections to finish their
/// streams before closing them.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// A federation connection that fails every read and write from
/// [`SHUTDOWN_GRACE`] after shutdown. Streams end at shutdown, but a peer
/// that stopped reading never takes the end of its stream, and the server
/// would wait for it forever.
struct Closing {
    conn: TlsConn,
    close: Pin<Box<dyn Future<Output = ()> + Send>>,
}

impl Closing {
    fn new(conn: TlsConn, mut shutdown: Shutdown) -> Closing {
        let close = Box::pin(async move {
            shutdown.wait().await;
            tokio::time::sleep(SHUTDOWN_GRACE).await;
        });
        Closing { conn, close }
    }

    /// An error once the connection is to close; registers for the moment otherwise.
    fn closed(&mut self, cx: &mut Context<'_>) -> Option<io::Error> {
        self.close
            .as_mut()
            .poll(cx)
            .is_ready()
            .then(|| io::Error::new(io::ErrorKind::ConnectionAborted, "node shut down; peer not reading"))
    }
}

impl Connected for Closing {
    type ConnectInfo = PeerInfo;

    fn connect_info(&self) -> PeerInfo {
        self.conn.connect_info()
    }
}

impl AsyncRead for Closing {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        if let Some(e) = self.closed(cx) {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut self.conn).poll_read(cx, buf)
    }
}

impl AsyncWrite for Closing {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if let Some(e) = self.closed(cx) {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut self.conn).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Some(e) = self.closed(cx) {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut self.conn).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.conn).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if let Some(e) = self.closed(cx) {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut self.conn).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.conn.is_write_vectored()
    }
}

/// Serves `jaring.v1.Federation` on `listener` and subscribes to every
/// connectable peer until shutdown.
///
/// # Errors
///
/// TLS configuration or server failures.
pub async fn run(
    node: Arc<Node>,
    listener: TcpListener,
    own: Arc<OwnCert>,
    mut shutdown: Shutdown,
) -> Result<(), ServeError> {
    // The node keeps the trust set in step with its peers (before a peer
    // change returns); the server's verifier reads it at every handshake.
    let trust = node.peer_trust().clone();
    let config = tls::server_config(own.clone(), trust.clone())?;
    let incoming = {
        let shutdown = shutdown.clone();
        let limits = node.config().federation.handshake_limits();
        tokio_stream::StreamExt::map(
            tls::tls_incoming_with_limits(listener, config, trust.clone(), limits),
            move |conn| conn.map(|c| Closing::new(c, shutdown.clone())),
        )
    };
    let limit = node.config().limits.max_message_bytes;
    // The subscribers' connections, shared with the service for witnessing.
    let followed = Arc::new(super::witness::Followed::default());
    let service =
        FederationServer::new(FederationService::new(node.clone(), shutdown.clone()).with_followed(followed.clone()))
            .max_decoding_message_size(limit)
            .max_encoding_message_size(limit);
    let health = crate::introspection::federation_health(node.ledger().health()).await;
    let (reflection, reflection_v1alpha) =
        crate::introspection::reflection(crate::introspection::Listener::Federation)?;
    let mut server = {
        let mut stop = shutdown.clone();
        tokio::spawn(async move {
            tonic::transport::Server::builder()
                .http2_keepalive_interval(Some(Duration::from_secs(20)))
                .http2_keepalive_timeout(Some(Duration::from_secs(20)))
                .add_service(health)
                .add_service(reflection)
                .add_service(reflection_v1alpha)
                .add_service(service)
                .serve_with_incoming_shutdown(incoming, async move { stop.wait().await })
                .await
        })
    };

    let mut tasks: HashMap<String, (watch::Sender<bool>, JoinHandle<()>)> = HashMap::new();
    let mut changes = node.peers_changed();
    // Only the writer of a shared store subscribes: it is the one that can
    // store what arrives. A standby starts its subscriptions when it takes
    // over, from the cursors in the store.
    let mut role = node.ledger().role();
    loop {
        let writer = role.borrow_and_update().is_writer();
        let wanted: Vec<String> = if writer {
            node.peers().into_iter().filter(|p| p.may_connect()).map(|p| p.node_id().to_string()).collect()
        } else {
            Vec::new()
        };
        tasks.retain(|id, (stop, _)| {
            let keep = wanted.contains(id);
            if !keep {
                stop.send_replace(true);
            }
            keep
        });
        for id in wanted {
            tasks.entry(id.clone()).or_insert_with(|| {
                let (stop_tx, stop_rx) = watch::channel(false);
                let handle = tokio::spawn(subscriber::run(
                    node.clone(),
                    own.clone(),
                    id,
                    stop_rx,
                    shutdown.clone(),
                    followed.clone(),
                ));
                (stop_tx, handle)
            });
        }
        tokio::select! {
            r = changes.changed() => if r.is_err() { break },
            r = role.changed() => if r.is_err() { break },
            _ = shutdown.wait() => break,
        }
    }
    for (id, (stop, handle)) in tasks {
        stop.send_replace(true);
        if let Err(e) = handle.await {
            tracing::warn!(peer = %id, error = %e, "subscriber task failed");
        }
    }
    // Connections close SHUTDOWN_GRACE after shutdown (see [`Closing`]);
    // this is a second line of defence.
    let finished = match tokio::time::timeout(SHUTDOWN_GRACE * 2, &mut server).await {
        Ok(finished) => finished,
        Err(_) => {
            tracing::warn!("federation server still draining; abandoning its connections");
            server.abort();
            Ok(Ok(()))
        }
    };
    Ok(finished??)
}
