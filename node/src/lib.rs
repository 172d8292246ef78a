//! The Jaring node: a federated store of signed scam and trafficking
//! indicators.
//!
//! # Layout
//!
//! - [`model`]: indicator kinds, categories, TLP, distribution, trust.
//! - [`normalize`]: one canonical form per real-world thing.
//! - [`pii`]: keyed hashes for personal data.
//! - [`envelope`]: DSSE-style signed envelopes, the per-origin hash chain,
//!   verification with a distinct error per failure.
//! - [`keys`]: this node's signing keys and the ring of trusted public keys.
//! - [`identity`]: self-signed identity cards exchanged between ministries.
//! - [`wire`]: the one place protobuf meets the domain.
//! - [`store`]: the narrow storage interface and its sled adapter.
//! - [`ledger`]: the single writer: sequencing, signing, idempotent
//!   ingest, group commits.
//! - [`audit`]: the hash-chained audit log.
//! - [`peers`], [`policy`]: peers, sharing agreements and the rules that
//!   decide what leaves the node and how arrivals are kept.
//! - [`node`]: the service that admins and peers talk to.
//! - [`view`]: what admins see.
//! - [`admin`]: the admin gRPC API.
//! - [`federation`]: the federation gRPC service and subscribers.
//! - [`tls`]: mTLS with live peer trust.
//! - [`config`], [`logging`], [`shutdown`], [`server`]: running a node.
#![forbid(unsafe_code)]

pub mod admin;
pub mod audit;
pub mod config;
pub mod envelope;
pub mod federation;
pub mod fsutil;
pub mod identity;
pub mod init;
pub mod keys;
pub mod ledger;
pub mod logging;
pub mod model;
pub mod node;
pub mod normalize;
pub mod peers;
pub mod pii;
pub mod policy;
pub mod server;
pub mod shutdown;
pub mod store;
pub mod tls;
pub mod view;
pub mod wire;
