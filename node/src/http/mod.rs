//! The node's HTTPS listener (`[http] listen`): the HTTP API, TAXII 2.1
//! for threat-intelligence platforms, the MISP feed, Prometheus
//! `/metrics`, `/healthz` (503 while the store refuses commits).
//!
//! - [`auth`]: the one token check of the listener (Bearer, or the Basic
//!   password), for the API, TAXII and the MISP feed.
//! - [`api`]: the HTTP JSON API under `/api/v1/` and its OpenAPI 3.1
//!   document.
//! - [`taxii`]: TAXII 2.1 over this node's log; [`taxii_write`]: adding
//!   objects and the status resource.
//! - [`conn`]: one connection under the listener's limits (timeouts).
//! - [`misp`]: a MISP feed (`/misp/`: `manifest.json`, one event per
//!   origin and kind, `hashes.csv`) with the same token rules.
//! - [`console`]: the analyst console (`/console/`): server-rendered
//!   pages in English, Bahasa Indonesia and Tiếng Việt, behind a login
//!   with a token and the same access table.
//! - [`log`]: the transparency log (`/log/`: C2SP tlog-tiles, and
//!   tlog-witness `add-checkpoint`).
//!
//! HTTPS uses the node's own certificate ([`OwnCert`], reloadable) with
//! server authentication only: clients authenticate with tokens, not
//! certificates.

pub mod api;
pub mod auth;
pub mod conn;
pub mod console;
pub mod log;
pub mod misp;
pub mod taxii;
pub mod taxii_write;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use tokio::net::TcpListener;
use tokio::task::JoinSet;

use crate::admission::{Admission, Caps, WhenFull};
use crate::node::Node;
use crate::shutdown::Shutdown;
use crate::tls::OwnCert;

/// The rustls configuration: our certificate, no client authentication,
/// HTTP/1.1 and h2.
///
/// # Errors
///
/// If rustls refuses the protocol versions.
pub fn tls_config(own: Arc<OwnCert>) -> Result<Arc<rustls::ServerConfig>, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_cert_resolver(own);
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The routes.
pub fn router(node: Arc<Node>) -> Router {
    let metrics_node = node.clone();
    let log = log::routes(node.clone());
    let health_node = node.clone();
    let (api_routes, api_paths) = api::router(node.clone());
    let api_paths = Arc::new(api_paths);
    let (paths_404, paths_405) = (api_paths.clone(), api_paths);
    let console = console::router(node.clone());
    let taxii = Arc::new(taxii::Taxii::new(node));
    Router::new()
        .route(
            "/healthz",
            get(move || {
                let health = health_node.store_health();
                async move {
                    match (health.failing, health.last_error) {
                        (true, e) => (
                            StatusCode::SERVICE_UNAVAILABLE,
                            format!("unhealthy: the store refuses commits: {}\n", e.unwrap_or_default()),
                        ),
                        (false, _) => (StatusCode::OK, "ok\n".to_string()),
                    }
                }
            }),
        )
        .route(
            "/metrics",
            get(move |headers: axum::http::HeaderMap| {
                let node = metrics_node.clone();
                async move {
                    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
                    let format = crate::exposition::negotiate(accept);
                    match tokio::task::spawn_blocking(move || crate::metrics::render(&node)).await {
                        Ok(text) => {
                            let body = match format {
                                crate::exposition::Format::OpenMetrics => text,
                                crate::exposition::Format::PrometheusText => {
                                    crate::exposition::to_prometheus_text(&text)
                                }
                            };
                            (StatusCode::OK, [(header::CONTENT_TYPE, format.content_type())], body).into_response()
                        }
                        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
                    }
                }
            }),
        )
        .merge(api_routes)
        .merge(console)
        .merge(taxii::routes(taxii.clone()))
        .merge(misp::router(taxii))
        .merge(log)
        .fallback(move |method: axum::http::Method, uri: axum::http::Uri| {
            let paths = paths_404.clone();
            async move {
                if is_api_path(uri.path()) { paths.unrouted(&method, &uri) } else { taxii::not_found(uri).await }
            }
        })
        .method_not_allowed_fallback(move |method: axum::http::Method, uri: axum::http::Uri| {
            let paths = paths_405.clone();
            async move {
                if is_api_path(uri.path()) {
                    paths.unrouted(&method, &uri)
                } else {
                    taxii::method_not_allowed(&method, &uri)
                }
            }
        })
}

fn is_api_path(path: &str) -> bool {
    path == "/api" || path.starts_with("/api/")
}

/// Serves HTTPS on `listener` until `shutdown`, under the `[http]` limits
/// (see [`conn`]): connection caps in total and per client address
/// (excess connections are closed at once), a TLS handshake timeout, a
/// header-read timeout and an idle timeout.
///
/// # Errors
///
/// A message if the TLS configuration cannot be built.
pub async fn serve(
    node: Arc<Node>,
    listener: TcpListener,
    own: Arc<OwnCert>,
    mut shutdown: Shutdown,
) -> Result<(), String> {
    let acceptor = tokio_rustls::TlsAcceptor::from(tls_config(own).map_err(|e| format!("http TLS: {e}"))?);
    let http = node.config().http.clone().unwrap_or_else(|| crate::config::HttpConfig::new(String::new()));
    let limits = conn::ConnLimits::of(&http);
    let admission = Admission::new(
        "https",
        Caps { total: http.max_connections, per_ip: http.max_connections_per_ip },
        WhenFull::Refuse,
    );
    let app = router(node);
    let mut connections = JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
        let (tcp, addr) = tokio::select! {
            _ = shutdown.wait() => break,
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!(error = %e, "http accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Ok(ticket) = admission.admit(addr.ip()) else {
            // Closed at once (logged by the admission).
            continue;
        };
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(%addr, error = %e, "cannot set TCP_NODELAY");
        }
        connections.spawn(conn::serve_one(tcp, addr, ticket, acceptor.clone(), app.clone(), limits));
    }
    connections.shutdown().await;
    Ok(())
}
