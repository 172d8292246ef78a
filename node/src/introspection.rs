//! gRPC introspection on the admin and federation listeners: the standard
//! health service (`grpc.health.v1.Health`) and server reflection, in both
//! versions clients speak: `grpc.reflection.v1` (tonic, grpcurl 1.9+) and
//! `grpc.reflection.v1alpha` (grpcurl 1.8, Python's grpcio-reflection), so
//! off-the-shelf tools (grpcurl, grpc_health_probe, load balancers) can
//! list, describe and probe Jaring's services.
//!
//! Each listener's reflection lists only what that listener serves: the
//! admin listener does not list (or describe) `jaring.v1.Federation`, the
//! federation listener not `jaring.v1.Admin`.
//!
//! Health says NOT_SERVING (overall and per service) while the store
//! refuses commits ([`crate::ledger::StoreHealth`]), SERVING otherwise.

use jaring_proto::pb::admin_server::AdminServer;
use jaring_proto::pb::federation_server::FederationServer;
use prost::Message;
use tokio::sync::watch;
use tonic_health::ServingStatus;
use tonic_health::pb::health_server::{Health, HealthServer};
use tonic_health::server::HealthReporter;
use tonic_reflection::server::{v1, v1alpha};

use crate::admin::AdminService;
use crate::federation::publisher::FederationService;
use crate::ledger::StoreHealth;

/// Which gRPC listener a reflection service is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listener {
    /// `[admin] listen`: `jaring.v1.Admin`.
    Admin,
    /// `[federation] listen`: `jaring.v1.Federation`.
    Federation,
}

impl Listener {
    /// The Jaring service this listener serves.
    pub fn service(self) -> &'static str {
        match self {
            Listener::Admin => "jaring.v1.Admin",
            Listener::Federation => "jaring.v1.Federation",
        }
    }

    /// Every service the listener serves, as reflection lists them.
    pub fn services(self) -> [&'static str; 4] {
        [
            self.service(),
            "grpc.health.v1.Health",
            "grpc.reflection.v1.ServerReflection",
            "grpc.reflection.v1alpha.ServerReflection",
        ]
    }
}

/// Why a reflection service could not be built (a build bug: the compiled
/// descriptors do not decode).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReflectionError {
    /// Jaring's own descriptor set does not decode.
    #[error("gRPC reflection: jaring descriptors: {0}")]
    Descriptors(#[from] prost::DecodeError),
    /// tonic-reflection refused a descriptor set.
    #[error("gRPC reflection: {0}")]
    Build(#[from] tonic_reflection::server::Error),
}

/// Jaring's descriptor set without the files that define services this
/// listener does not serve (so they can be neither listed nor described).
fn descriptors_for(listener: Listener) -> Result<prost_types::FileDescriptorSet, ReflectionError> {
    let mut set = prost_types::FileDescriptorSet::decode(jaring_proto::FILE_DESCRIPTOR_SET)?;
    set.file.retain(|file| {
        let package = file.package.as_deref().unwrap_or_default();
        file.service
            .iter()
            .all(|s| format!("{package}.{}", s.name.as_deref().unwrap_or_default()) == listener.service())
    });
    Ok(set)
}

// Jaring's descriptors go in decoded (re-encoded by tonic-reflection, which
// would drop custom options: the jaring protos have none).
fn builder(listener: Listener, jaring: prost_types::FileDescriptorSet) -> tonic_reflection::server::Builder<'static> {
    let mut b = tonic_reflection::server::Builder::configure()
        .register_file_descriptor_set(jaring)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET)
        .include_reflection_service(false);
    for name in listener.services() {
        b = b.with_service_name(name);
    }
    b
}

/// Reflection for one listener, `v1` and `v1alpha`: add both to the server.
///
/// # Errors
///
/// [`ReflectionError`] if the compiled descriptors do not decode (a build bug).
pub fn reflection(
    listener: Listener,
) -> Result<
    (
        v1::ServerReflectionServer<impl v1::ServerReflection>,
        v1alpha::ServerReflectionServer<impl v1alpha::ServerReflection>,
    ),
    ReflectionError,
> {
    let jaring = descriptors_for(listener)?;
    let current = builder(listener, jaring.clone()).build_v1()?;
    let alpha = builder(listener, jaring).build_v1alpha()?;
    Ok((current, alpha))
}

/// Health for the admin listener: the overall server and `jaring.v1.Admin`
/// report SERVING while the store takes commits, NOT_SERVING while it does
/// not (`store`: [`crate::node::Node::store_health`]'s channel).
pub async fn admin_health(store: watch::Receiver<StoreHealth>) -> HealthServer<impl Health> {
    let (reporter, service) = tonic_health::server::health_reporter();
    reporter.set_serving::<AdminServer<AdminService>>().await;
    tokio::spawn(follow(reporter, <AdminServer<AdminService> as tonic::server::NamedService>::NAME, store));
    service
}

/// Health for the federation listener: the overall server and
/// `jaring.v1.Federation` report SERVING while the store takes commits,
/// NOT_SERVING while it does not.
pub async fn federation_health(store: watch::Receiver<StoreHealth>) -> HealthServer<impl Health> {
    let (reporter, service) = tonic_health::server::health_reporter();
    reporter.set_serving::<FederationServer<FederationService>>().await;
    tokio::spawn(follow(reporter, <FederationServer<FederationService> as tonic::server::NamedService>::NAME, store));
    service
}

/// Keeps the overall status ("") and `service`'s in step with the store's
/// health until the ledger is gone.
async fn follow(reporter: HealthReporter, service: &'static str, mut store: watch::Receiver<StoreHealth>) {
    loop {
        let status = if store.borrow_and_update().failing { ServingStatus::NotServing } else { ServingStatus::Serving };
        reporter.set_service_status("", status).await;
        reporter.set_service_status(service, status).await;
        if store.changed().await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn each_listener_keeps_only_its_own_service_file() {
        for (listener, kept, dropped) in [
            (Listener::Admin, "jaring/v1/admin.proto", "jaring/v1/federation.proto"),
            (Listener::Federation, "jaring/v1/federation.proto", "jaring/v1/admin.proto"),
        ] {
            let set = descriptors_for(listener).unwrap();
            let names: Vec<&str> = set.file.iter().filter_map(|f| f.name.as_deref()).collect();
            assert!(names.contains(&kept), "{listener:?}: {names:?}");
            assert!(names.contains(&"jaring/v1/envelope.proto"), "{listener:?}: {names:?}");
            assert!(!names.contains(&dropped), "{listener:?}: {names:?}");
        }
    }
}
