//! Keeps the federation listener's trust set and the subscriber tasks in
//! step with the peer set.

use std::collections::HashMap;
use std::sync::Arc;

use jaring_proto::pb::federation_server::FederationServer;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::publisher::FederationService;
use super::subscriber;
use crate::node::Node;
use crate::shutdown::Shutdown;
use crate::tls::{self, OwnCert, PeerTrust, TrustedPeer};

/// The peers allowed to complete a federation handshake.
pub fn trusted_peers(node: &Node) -> Vec<TrustedPeer> {
    node.peers()
        .into_iter()
        .filter(|p| p.may_connect())
        .filter_map(|p| match TrustedPeer::from_ca_pem(p.node_id(), &p.card.tls_ca_pem) {
            Ok(t) => Some(TrustedPeer { tls_name: p.card.tls_name.clone(), ..t }),
            Err(e) => {
                tracing::warn!(peer = %p.node_id(), error = %e, "peer CA certificate unusable; peer refused");
                None
            }
        })
        .collect()
}

fn refresh(trust: &PeerTrust, node: &Node) {
    for e in trust.replace(trusted_peers(node)) {
        tracing::warn!(error = %e, "peer left out of the TLS trust set");
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
) -> Result<(), String> {
    let trust = PeerTrust::new();
    refresh(&trust, &node);
    let config = tls::server_config(own.clone(), trust.clone()).map_err(|e| e.to_string())?;
    let incoming = tls::tls_incoming(listener, config, trust.clone());
    let limit = node.config().limits.max_message_bytes;
    let service = FederationServer::new(FederationService::new(node.clone(), shutdown.clone()))
        .max_decoding_message_size(limit)
        .max_encoding_message_size(limit);
    let health = crate::introspection::federation_health().await;
    let reflection = crate::introspection::reflection()?;
    let server = {
        let mut stop = shutdown.clone();
        tokio::spawn(async move {
            tonic::transport::Server::builder()
                .http2_keepalive_interval(Some(std::time::Duration::from_secs(20)))
                .http2_keepalive_timeout(Some(std::time::Duration::from_secs(20)))
                .add_service(health)
                .add_service(reflection)
                .add_service(service)
                .serve_with_incoming_shutdown(incoming, async move { stop.wait().await })
                .await
        })
    };

    let mut tasks: HashMap<String, (watch::Sender<bool>, JoinHandle<()>)> = HashMap::new();
    let mut changes = node.peers_changed();
    loop {
        refresh(&trust, &node);
        let wanted: Vec<String> =
            node.peers().into_iter().filter(|p| p.may_connect()).map(|p| p.node_id().to_string()).collect();
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
                let handle = tokio::spawn(subscriber::run(node.clone(), own.clone(), id, stop_rx, shutdown.clone()));
                (stop_tx, handle)
            });
        }
        tokio::select! {
            r = changes.changed() => if r.is_err() { break },
            _ = shutdown.wait() => break,
        }
    }
    for (id, (stop, handle)) in tasks {
        stop.send_replace(true);
        if let Err(e) = handle.await {
            tracing::warn!(peer = %id, error = %e, "subscriber task failed");
        }
    }
    match server.await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(format!("federation server: {e}")),
        Err(e) => Err(format!("federation server task: {e}")),
    }
}
