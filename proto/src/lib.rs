//! Generated protobuf types and gRPC stubs for `jaring.v1`.
//!
//! This crate is the edge: the node's domain types never derive prost, and
//! conversion to and from these types happens in `jaring_node::wire`.

#![allow(missing_docs, missing_debug_implementations, clippy::all)]

/// `jaring.v1`: envelopes, federation and admin services.
pub mod pb {
    tonic::include_proto!("jaring.v1");
}

/// Encoded `FileDescriptorSet` of every `jaring.v1` file, for server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("jaring_descriptor");
