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
//! - [`audit`]: the hash-chained audit log; [`audit_store`]: listing and
//!   verifying it in a store (also offline).
//! - [`peers`], [`policy`]: peers, sharing agreements and the rules that
//!   decide what leaves the node and how arrivals are kept.
//! - [`node`]: the service that admins and peers talk to.
//! - [`view`]: what admins see.
//! - [`admin`]: the admin gRPC API.
//! - [`federation`]: the federation gRPC service and subscribers.
//! - [`tls`]: mTLS with live peer trust.
//! - [`stix`], [`http`], [`metrics`]: interoperability: STIX 2.1, the
//!   HTTPS listener (TAXII 2.1, `/metrics`, `/healthz`), Prometheus metrics;
//!   [`csv_import`]: CSV files of indicators into submissions.
//! - [`config`], [`logging`], [`shutdown`], [`server`]: running a node.
//! - [`feedback`], [`scoring`], [`allowlist`]: the takedown and feedback
//!   loop, confidence decay, and allowlists checked before publishing.
//! - [`extract`]: free-text extraction, from a scam advert to candidate
//!   indicators in canonical form.
#![forbid(unsafe_code)]

pub mod admin;
pub mod allowlist;
pub mod audit;
pub mod audit_store;
pub mod config;
pub mod csv_import;
pub mod daemon;
pub mod envelope;
pub mod extract;
pub mod federation;
pub mod feedback;
pub mod fsutil;
pub mod http;
pub mod identity;
pub mod init;
pub mod introspection;
pub mod keys;
pub mod ledger;
pub mod logging;
pub mod lookup_index;
pub mod metrics;
pub mod model;
pub mod node;
pub mod normalize;
pub mod peers;
pub mod pii;
pub mod policy;
pub mod scoring;
pub mod server;
pub mod shutdown;
pub mod stix;
pub mod store;
pub mod tls;
pub mod view;
pub mod wire;
