//! gRPC introspection on the admin and federation listeners: the standard
//! health service (`grpc.health.v1.Health`) and server reflection
//! (`grpc.reflection.v1`), so off-the-shelf tools (grpcurl, grpc_health_probe,
//! load balancers) can list, describe and probe Jaring's services.

use jaring_proto::pb::admin_server::AdminServer;
use jaring_proto::pb::federation_server::FederationServer;
use tonic_health::pb::health_server::{Health, HealthServer};
use tonic_reflection::server::v1::{ServerReflection, ServerReflectionServer};

use crate::admin::AdminService;
use crate::federation::publisher::FederationService;

/// Reflection over every `jaring.v1` service plus health.
///
/// # Errors
///
/// A message if the compiled descriptors do not decode (a build bug).
pub fn reflection() -> Result<ServerReflectionServer<impl ServerReflection>, String> {
    tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(jaring_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()
        .map_err(|e| format!("gRPC reflection: {e}"))
}

/// Health for the admin listener: the overall server and `jaring.v1.Admin`
/// report SERVING.
pub async fn admin_health() -> HealthServer<impl Health> {
    let (reporter, service) = tonic_health::server::health_reporter();
    reporter.set_serving::<AdminServer<AdminService>>().await;
    service
}

/// Health for the federation listener: the overall server and
/// `jaring.v1.Federation` report SERVING.
pub async fn federation_health() -> HealthServer<impl Health> {
    let (reporter, service) = tonic_health::server::health_reporter();
    reporter.set_serving::<FederationServer<FederationService>>().await;
    service
}
