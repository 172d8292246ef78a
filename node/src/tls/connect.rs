//! tonic channels to a peer over mutual TLS.

use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::TokioIo;
use rustls::ClientConfig;
use rustls_pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tonic::transport::{Channel, Endpoint, Uri};

use super::{ALPN_H2, TlsError};

/// Bound on opening TCP plus the TLS handshake.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Interval of HTTP/2 pings on an open channel, also while idle, so a dead
/// peer is noticed on long-lived subscription streams.
pub const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(30);
/// How long a ping may go unanswered before the connection is dropped.
pub const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(10);

/// Connects to the peer at `addr` (`host:port`), verifying that its
/// certificate carries `tls_name` and chains to the CA in `config` (see
/// [`client_config`](super::client_config)), and returns a gRPC channel once
/// TLS and HTTP/2 are up.
///
/// The channel reconnects by itself (through the same verification) if the
/// connection drops.
///
/// # Errors
///
/// [`TlsError::InvalidTlsName`], [`TlsError::InvalidAddress`], or
/// [`TlsError::Connect`] whose source chain holds the cause (a
/// [`TlsError::Dial`], [`TlsError::Handshake`] or [`TlsError::NoH2`], or a
/// timeout); [`TlsError::rustls_error`] digs out the TLS reason.
pub async fn connect(addr: &str, tls_name: &str, config: Arc<ClientConfig>) -> Result<Channel, TlsError> {
    let endpoint = endpoint(addr)?;
    let connector = PeerConnector::new(addr, tls_name, config)?;
    endpoint
        .connect_with_connector(tower::service_fn(move |_: Uri| connector.clone().dial()))
        .await
        .map_err(|source| TlsError::Connect { addr: addr.to_owned(), source })
}

/// As [`connect`], but connects on first use instead of now.
///
/// # Errors
///
/// [`TlsError::InvalidTlsName`] or [`TlsError::InvalidAddress`]; connection
/// errors surface on the calls made through the channel.
pub fn connect_lazy(addr: &str, tls_name: &str, config: Arc<ClientConfig>) -> Result<Channel, TlsError> {
    let endpoint = endpoint(addr)?;
    let connector = PeerConnector::new(addr, tls_name, config)?;
    Ok(endpoint.connect_with_connector_lazy(tower::service_fn(move |_: Uri| connector.clone().dial())))
}

fn endpoint(addr: &str) -> Result<Endpoint, TlsError> {
    // The scheme only labels HTTP/2 requests; TLS comes from the connector.
    let endpoint = Endpoint::from_shared(format!("http://{addr}"))
        .map_err(|source| TlsError::InvalidAddress { addr: addr.to_owned(), source })?;
    Ok(endpoint
        .connect_timeout(CONNECT_TIMEOUT)
        .http2_keep_alive_interval(KEEPALIVE_INTERVAL)
        .keep_alive_timeout(KEEPALIVE_TIMEOUT)
        .keep_alive_while_idle(true))
}

/// Opens TCP to one peer address and runs the TLS handshake for one name.
#[derive(Clone)]
struct PeerConnector {
    addr: Arc<str>,
    name: ServerName<'static>,
    tls: TlsConnector,
}

impl PeerConnector {
    fn new(addr: &str, tls_name: &str, config: Arc<ClientConfig>) -> Result<PeerConnector, TlsError> {
        let name = ServerName::try_from(tls_name.to_owned())
            .map_err(|_| TlsError::InvalidTlsName { name: tls_name.to_owned() })?;
        Ok(PeerConnector { addr: addr.into(), name, tls: TlsConnector::from(config) })
    }

    async fn dial(self) -> Result<TokioIo<TlsStream<TcpStream>>, TlsError> {
        let addr = self.addr.to_string();
        let tcp =
            TcpStream::connect(&*self.addr).await.map_err(|source| TlsError::Dial { addr: addr.clone(), source })?;
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(%addr, error = %e, "cannot set TCP_NODELAY");
        }
        let tls = self
            .tls
            .connect(self.name, tcp)
            .await
            .map_err(|source| TlsError::Handshake { addr: addr.clone(), source })?;
        if tls.get_ref().1.alpn_protocol() != Some(ALPN_H2) {
            return Err(TlsError::NoH2 { addr });
        }
        Ok(TokioIo::new(tls))
    }
}
