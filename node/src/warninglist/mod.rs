//! Allowlists at real size (issue 22): MISP warninglists, top-site
//! rankings, and an index whose check cost does not depend on list size.
//!
//! # Layout
//!
//! - [`rule`]: rule shapes (domain rules, exact values, IP networks), their
//!   normalization, and [`RuleSet`], a list's rules in compact form.
//! - [`list`]: a list as a whole ([`ListMeta`]) and what its import refused
//!   ([`ImportReport`]).
//! - [`index`]: [`AllowIndex`], the in-memory index checked on every value
//!   that enters the node.
//! - [`shared`]: [`SharedAllowIndex`], snapshots for readers and
//!   clone-change-swap for writers.
//! - [`allowlists`]: [`Allowlists`], what a node checks against: the plain
//!   index and the keyed hashes of personal-data values, kept in step.
//! - [`builtin`]: the built-in lists as index lists, and their notes.
//! - [`misp`]: the MISP warninglist format (`list.json`) mapped to rules.
//! - [`ranked`]: one-domain-per-line and `rank,domain` (Tranco) files.
//! - [`stored`]: the durable form of a large list (a header and chunks).
//! - [`files`]: reading lists from files and directories (the only module
//!   here that does I/O).
//!
//! Everything but [`files`] is pure: it depends on the domain only
//! ([`crate::model`], [`crate::normalize`], [`crate::allowlist`],
//! [`crate::reserved_ip`], and [`crate::pii`] for keyed forms).

pub mod allowlists;
pub mod builtin;
pub mod files;
pub mod index;
pub mod list;
pub mod misp;
pub mod ranked;
pub mod rule;
pub mod shared;
pub mod stored;

pub use allowlists::{AllowMatch, Allowlists};
pub use index::{AllowIndex, Hit, IndexError, IndexStats, ListInfo};
pub use list::{ImportReport, ListFormat, ListMeta, RefusedValue, Warninglist};
pub use rule::{DomainScope, IpNetwork, Rule, RuleCounts, RuleError, RuleSet, normalize_domain_rule};
pub use shared::SharedAllowIndex;

#[cfg(test)]
mod tests;
