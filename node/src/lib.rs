//! The Jaring node: a federated store of signed scam and trafficking
//! indicators.
//!
//! # Layout
//!
//! Bottom up; a module imports only from the layers below it.
//!
//! - The domain, in its own crate ([`jaring_domain`]): [`model`],
//!   [`node_id`], [`normalize`], [`pii`], [`envelope`], [`submission`],
//!   [`keys`], [`identity`], [`peers`], [`policy`], [`feedback`],
//!   [`scoring`], [`allowlist`], [`reserved_ip`], [`takedown`], [`view`], [`audit`],
//!   [`arrival`], [`withdrawal`]. Re-exported here
//!   under their own names, so callers have one path for everything.
//! - The domain's edge: [`wire`] (the one place protobuf meets the domain;
//!   [`wire::status`] maps node errors to gRPC statuses) and [`signing`]
//!   (signing and verifying envelopes over their encoded bytes;
//!   [`verify_backend`]: which curve25519-dalek backend checks signatures).
//! - Storage: [`store`] (the narrow engine trait with fjall and sled
//!   adapters, typed tables over it, the writer's overlay, the audit
//!   chain's reader), [`lookup_index`] (what lookups keep in memory) and
//!   [`warninglist`] (allowlists at real size: an index whose cost does not
//!   depend on list size, MISP warninglists and ranked top-site lists);
//!   [`tlog`] (the log as a C2SP transparency log: Merkle tree, tiles,
//!   signed checkpoints, cosignatures, proofs) and [`log_tree`] (its tree
//!   read from a stopped node's store).
//! - [`ledger`]: the single writer: sequencing, signing, idempotent
//!   ingest, group commits.
//! - [`access`]: who may call what: the domain's roles, permissions and
//!   operation table, the node's tokens in memory, rates per token.
//! - [`node`]: the service, one file per job (indicators, peers, review,
//!   feedback, allowlists, keys, TLS, tokens).
//! - The edges: [`admin`] (the admin gRPC API), [`federation`] (the
//!   federation service, publisher, subscribers), [`http`] (TAXII 2.1,
//!   `/metrics`, `/healthz`, the MISP feed), [`stix`], [`misp`],
//!   [`csv_import`] and [`csv_export`] (file formats; CSV cells safe to open
//!   in a spreadsheet), [`export_filter`] (what an export for a recipient
//!   holds), [`metrics`] and [`exposition`] (OpenMetrics or Prometheus
//!   text), [`introspection`] (gRPC health and reflection), [`tls`] (mTLS
//!   with live peer trust), [`takedowns`] (the expiry task, webhook push
//!   and metrics of takedown cases), [`evidence`] (self-contained
//!   evidence packages that verify offline).
//! - Running a node: [`config`], [`keystore`] (key files), [`fsutil`],
//!   [`init`] (`jaring init`), [`logging`], [`shutdown`], [`server`],
//!   [`daemon`] (the `jaring-node` binary's body); [`admission`],
//!   [`fd_budget`], [`file_modes`]: what keeps it running under connection
//!   floods and its files private.
//! - [`extract`]: free-text extraction, from a scam advert to candidate
//!   indicators in canonical form.
#![forbid(unsafe_code)]

pub use jaring_domain::{
    allowlist, arrival, audit, envelope, feedback, identity, keys, model, node_id, normalize, peers, pii, policy,
    reserved_ip, scoring, submission, takedown, view, withdrawal,
};

pub mod access;
pub mod admin;
pub mod admission;
pub mod config;
pub mod csv_export;
pub mod csv_import;
pub mod daemon;
pub mod evidence;
pub mod export_filter;
pub mod exposition;
pub mod extract;
pub mod fd_budget;
pub mod federation;
pub mod file_modes;
pub mod fsutil;
pub mod http;
pub mod init;
pub mod introspection;
pub mod keystore;
pub mod ledger;
pub mod log_tree;
pub mod logging;
pub mod lookup_index;
pub mod metrics;
pub mod misp;
pub mod node;
pub mod server;
pub mod shutdown;
pub mod signing;
pub mod stix;
pub mod store;
pub mod takedowns;
pub mod tlog;
pub mod tls;
pub mod verify_backend;
pub mod warninglist;
pub mod wire;
