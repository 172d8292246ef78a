//! Running a node: bind, serve, shut down.
//!
//! [`run`] is what `jaring-node` and in-process tests call: it opens the
//! node, serves the admin API and the federation on the given listeners,
//! and returns after the shutdown signal once every server and task has
//! finished and the store is flushed.

use std::sync::Arc;

use jaring_proto::pb::admin_server::AdminServer;
use tokio::net::TcpListener;

use crate::admin::{AdminAuth, AdminService};
use crate::config::{Bound, Config, LISTEN_FILE};
use crate::federation;
use crate::node::{Node, StartError};
use crate::shutdown::Shutdown;
use crate::tls::OwnCert;

/// How often a node whose store refuses commits tries again.
pub const STORE_PROBE_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

/// The sockets a node serves on.
#[derive(Debug)]
pub struct Listeners {
    /// Admin API.
    pub admin: TcpListener,
    /// Federation (mTLS).
    pub federation: TcpListener,
}

/// Why a node stopped with an error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// Could not start.
    #[error(transparent)]
    Start(#[from] StartError),
    /// Could not bind.
    #[error("cannot listen on {addr} ({what}): {source}")]
    Bind {
        /// Which listener.
        what: &'static str,
        /// Address.
        addr: String,
        /// Why.
        source: std::io::Error,
    },
    /// Other local users can reach the node's files.
    #[error(transparent)]
    UnsafeFiles(#[from] crate::file_modes::UnsafeModes),
    /// The file-descriptor limit is below what the connection caps need.
    #[error(transparent)]
    FileDescriptors(#[from] crate::fd_budget::FdError),
    /// A takedown webhook's secret or CA certificates are unusable.
    #[error(transparent)]
    Webhooks(#[from] crate::takedowns::webhook::WebhookError),
    /// A server failed.
    #[error("{0}")]
    Serve(String),
}

/// Binds the configured listeners.
///
/// # Errors
///
/// [`RunError::Bind`] naming the address.
pub async fn bind(config: &Config) -> Result<Listeners, RunError> {
    let admin = TcpListener::bind(&config.admin.listen).await.map_err(|source| RunError::Bind {
        what: "admin",
        addr: config.admin.listen.clone(),
        source,
    })?;
    let federation = TcpListener::bind(&config.federation.listen).await.map_err(|source| RunError::Bind {
        what: "federation",
        addr: config.federation.listen.clone(),
        source,
    })?;
    Ok(Listeners { admin, federation })
}

/// Runs a node until `shutdown`.
///
/// # Errors
///
/// [`RunError`] if the node cannot start or a server fails.
pub async fn run(config: Config, listeners: Listeners, shutdown: Shutdown) -> Result<(), RunError> {
    run_with_reload(config, listeners, shutdown, None).await
}

/// [`run`], plus: every change on `reload` (e.g. one per SIGHUP) reloads
/// this node's TLS certificate, key and CA from disk, like `jaring tls
/// reload`. New handshakes use the new material; open streams continue.
///
/// # Errors
///
/// [`RunError`] if the node cannot start or a server fails.
pub async fn run_with_reload(
    config: Config,
    listeners: Listeners,
    shutdown: Shutdown,
    reload: Option<tokio::sync::watch::Receiver<u64>>,
) -> Result<(), RunError> {
    // Everything the node creates from here on (the store's files too) is
    // private; what exists already must be.
    crate::file_modes::restrict_umask();
    crate::file_modes::check(&config)?;
    let fds = crate::fd_budget::ensure(&config)?;
    if let Some(from) = fds.raised_from {
        tracing::info!(from, to = ?fds.soft, needed = fds.needed, "raised the open-files limit (RLIMIT_NOFILE)");
    }
    let token_path = config.resolve(&config.paths.admin_token);
    let auth = AdminAuth::load(&token_path).map_err(|reason| StartError::Token { path: token_path.clone(), reason })?;
    let own = Arc::new(OwnCert::load(&config.tls_files()).map_err(StartError::Tls)?);
    let webhooks = crate::takedowns::webhook::Webhooks::load(&config)?;
    // The HTTPS listener (TAXII, metrics, health) is optional: `[http] listen`.
    let http_listener = match &config.http {
        Some(h) => Some(TcpListener::bind(&h.listen).await.map_err(|source| RunError::Bind {
            what: "http",
            addr: h.listen.clone(),
            source,
        })?),
        None => None,
    };
    let bound = Bound {
        admin: listeners.admin.local_addr().map_err(|e| RunError::Serve(e.to_string()))?,
        federation: listeners.federation.local_addr().map_err(|e| RunError::Serve(e.to_string()))?,
        http: http_listener
            .as_ref()
            .map(TcpListener::local_addr)
            .transpose()
            .map_err(|e| RunError::Serve(e.to_string()))?,
    };
    let mut config = config;
    let picked_federation_port = bound.pin(&mut config);
    let listen_file = config.resolve(std::path::Path::new(LISTEN_FILE));
    let admin_config = config.admin.clone();
    // libphonenumber's metadata (about half a second of CPU) loads beside
    // the store's opening, not when the first phone number arrives and
    // holds up that peer's ingest.
    drop(tokio::task::spawn_blocking(crate::normalize::warm_up));
    let (node, ledger_thread) =
        tokio::task::spawn_blocking(move || Node::open(config)).await.map_err(|e| RunError::Serve(e.to_string()))??;
    if picked_federation_port {
        // The card must name the port peers can dial.
        node.write_identity_file();
    }
    bound.write(&listen_file);
    tracing::info!(node = %node.id(), admin = %bound.admin, federation = %bound.federation, "node started");

    let limit = node.config().limits.max_message_bytes;
    // The admin token is the built-in admin; every other role's token is
    // checked by the same layer (crate::admin::authz).
    node.credentials().set_admin_token(auth.token());
    drop(auth);
    let admin_service = AdminServer::new(AdminService::new(node.clone()))
        .max_decoding_message_size(limit)
        .max_encoding_message_size(limit);
    let admin_health_service = crate::introspection::admin_health(node.ledger().health()).await;
    // While commits fail (a full disk), probe the store so the node is
    // healthy again as soon as it can store.
    let prober = {
        let node = node.clone();
        let stop = shutdown.clone();
        tokio::spawn(async move { node.probe_store_while_failing(STORE_PROBE_EVERY, stop).await })
    };
    let (admin_reflection, admin_reflection_v1alpha) =
        crate::introspection::reflection(crate::introspection::Listener::Admin)
            .map_err(|e| RunError::Serve(e.to_string()))?;
    let admin = {
        let mut stop = shutdown.clone();
        let authz_node = node.clone();
        // TLS with our certificate unless `[admin] tls = false` (loopback).
        let incoming = crate::admin::listener::incoming(listeners.admin, own.clone(), &admin_config)
            .map_err(|e| RunError::Serve(format!("admin TLS: {e}")))?;
        tokio::spawn(async move {
            tonic::transport::Server::builder()
                .layer(crate::metrics::AdminLatencyLayer)
                .layer(crate::admin::authz::AuthzLayer::new(authz_node))
                .add_service(admin_health_service)
                .add_service(admin_reflection)
                .add_service(admin_reflection_v1alpha)
                .add_service(admin_service)
                .serve_with_incoming_shutdown(incoming, async move { stop.wait().await })
                .await
        })
    };
    node.set_own_cert(own.clone());
    let reloader = reload.map(|mut rx| {
        let node = node.clone();
        let mut stop = shutdown.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    r = rx.changed() => if r.is_err() { break },
                    _ = stop.wait() => break,
                }
                match node.reload_tls("signal:SIGHUP").await {
                    Ok(_) => tracing::info!("TLS material reloaded on SIGHUP"),
                    Err(e) => tracing::error!(error = %e, "TLS reload on SIGHUP failed; the old material stays in use"),
                }
            }
        })
    });
    let http = http_listener.map(|l| {
        if let Ok(addr) = l.local_addr() {
            tracing::info!(%addr, "https (TAXII, metrics, health) listening");
        }
        tokio::spawn(crate::http::serve(node.clone(), l, own.clone(), shutdown.clone()))
    });
    let federation = tokio::spawn(federation::run(node.clone(), listeners.federation, own, shutdown.clone()));
    let follower = tokio::spawn(follow_peers(node.clone(), shutdown.clone()));
    // Signs the transparency log's checkpoints while the log grows.
    let checkpoints = tokio::spawn(tracing::Instrument::instrument(
        node.clone().run_checkpoints(shutdown.clone()),
        tracing::info_span!("checkpoints"),
    ));
    // Takedown cases expire on their due time; new ones are pushed to
    // platforms with a webhook.
    let takedown_tasks = {
        use tracing::Instrument;
        let expiry = crate::takedowns::expiry::run(node.clone(), shutdown.clone())
            .instrument(tracing::info_span!("takedown_expiry"));
        let mut tasks = vec![tokio::spawn(expiry)];
        if !webhooks.is_empty() {
            let push = crate::takedowns::webhook::run(node.clone(), webhooks, shutdown.clone())
                .instrument(tracing::info_span!("takedown_webhooks"));
            tasks.push(tokio::spawn(push));
        }
        tasks
    };

    let admin_result = admin.await;
    let fed_result = federation.await;
    if let Some(http) = http {
        match http.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "https server failed"),
            Err(e) => tracing::error!(error = %e, "https server task failed"),
        }
    }
    if let Some(r) = reloader {
        let _ = r.await;
    }
    let _ = follower.await;
    if let Err(e) = checkpoints.await {
        tracing::warn!(error = %e, "checkpoint task failed");
    }
    let _ = prober.await;
    for t in takedown_tasks {
        let _ = t.await;
    }
    drop(node);
    // The ledger thread ends once every handle to it is gone; it has
    // committed everything it acknowledged.
    let joined = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        tokio::task::spawn_blocking(move || ledger_thread.join()),
    )
    .await;
    if joined.is_err() {
        tracing::warn!("ledger still referenced after 10 s; every acknowledged write is already durable");
    }
    tracing::info!("node stopped");
    match admin_result {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(RunError::Serve(format!("admin server: {e}"))),
        Err(e) => return Err(RunError::Serve(format!("admin server task: {e}"))),
    }
    match fed_result {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(RunError::Serve(e.to_string())),
        Err(e) => Err(RunError::Serve(format!("federation task: {e}"))),
    }
}

/// Reloads the peers when the ledger says they changed under this process
/// (a standby following the writer, or a takeover).
async fn follow_peers(node: Arc<Node>, mut shutdown: Shutdown) {
    let mut followed = node.ledger().followed();
    loop {
        tokio::select! {
            r = followed.changed() => if r.is_err() { break },
            _ = shutdown.wait() => break,
        }
        let n = node.clone();
        match tokio::task::spawn_blocking(move || n.reload_peers()).await {
            Ok(Ok(())) => tracing::debug!("peers reloaded from the store"),
            Ok(Err(e)) => tracing::warn!(error = %e, "cannot reload the peers"),
            Err(e) => tracing::warn!(error = %e, "peer reload task failed"),
        }
    }
}
