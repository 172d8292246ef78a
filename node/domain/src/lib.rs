//! Jaring's domain: what an indicator is and the rules every node keeps,
//! as plain types with their invariants. No I/O, no wire format, no
//! storage: the compiler keeps it so, because this crate depends on none of
//! tonic, prost, tokio, fjall or sled. The node (`jaring-node`) builds its
//! storage, ledger, service and edges on top.
//!
//! # Layout
//!
//! - [`model`]: kinds, categories, TLP, distribution, trust, confidence,
//!   [`model::InvalidField`]; [`node_id`]: the node-id rule.
//! - [`normalize`]: one canonical form per real-world thing.
//! - [`pii`]: keyed hashes for personal data, and which kinds are personal.
//! - [`envelope`]: envelope and body types, the bytes that get signed, the
//!   per-origin hash chain, indicator ids and the rules a body keeps.
//! - [`submission`]: an indicator as submitted, checked into one ready to
//!   sign.
//! - [`keys`]: signing keys and the ring of trusted public keys.
//! - [`identity`]: self-signed identity cards exchanged between ministries.
//! - [`peers`], [`policy`]: peers, sharing agreements, and the rules that
//!   decide what leaves a node and how arrivals are kept.
//! - [`feedback`], [`scoring`], [`allowlist`]: what happened after sharing
//!   (sightings, takedowns, false positives), confidence decay, and values
//!   never published as scams without an override ([`reserved_ip`]: the IP
//!   ranges that are never a scam's address).
//! - [`arrival`]: what a receiver checks in a peer's entries (canonical
//!   values, personal data keyed, ids, times); [`withdrawal`]: tombstones
//!   and withdrawal notices that reach every node an earlier version did.
//! - [`takedown`]: takedown cases (requested, acknowledged, actioned,
//!   refused, expired, withdrawn) folded from feedback events, and their
//!   service levels.
//! - [`view`]: the merged view of a value across origins.
//! - [`audit`]: the hash-chained audit log's entries and their check.
//! - [`access`]: roles, permissions, the operation table, and what one
//!   credential may see.
#![forbid(unsafe_code)]

pub mod access;
pub mod allowlist;
pub mod arrival;
pub mod audit;
pub mod envelope;
pub mod feedback;
pub mod identity;
pub mod keys;
pub mod model;
pub mod node_id;
pub mod normalize;
pub mod peers;
pub mod pii;
pub mod policy;
pub mod reserved_ip;
pub mod scoring;
pub mod submission;
pub mod takedown;
pub mod view;
pub mod withdrawal;
