//! STIX 2.1: how Jaring indicators look to threat-intelligence platforms.
//!
//! - [`export`]: an [`IndicatorRecord`](crate::view::IndicatorRecord) as a
//!   STIX 2.1 `indicator` (pattern per kind, validity, confidence,
//!   revocation, TLP 2.0 marking, `created_by_ref` to an `identity` per
//!   origin), and a streaming bundle writer.
//! - [`import`]: STIX 2.1 bundles, TAXII envelopes and single objects back
//!   into submissions, with one error per refused object;
//!   [`stream`] reads a file object by object (bounded memory),
//!   [`pattern`] the equality comparisons of a pattern.
//!
//! # Mapping
//!
//! | Jaring kind | STIX pattern |
//! |---|---|
//! | domain | `[domain-name:value = '…']` |
//! | url | `[url:value = '…']` |
//! | ip | `[ipv4-addr:value = '…']` or `[ipv6-addr:value = '…']` |
//! | email (plain, never exported) | `[email-addr:value = '…']` (import only) |
//! | phone, bank_account, ewallet_account, crypto_wallet, social_handle | `[x-jaring-phone:value = '…']`, `x-jaring-bank-account`, `x-jaring-ewallet-account`, `x-jaring-crypto-wallet`, `x-jaring-social-handle` |
//! | any personal-data kind | `[x-jaring-<kind>:hmac_sha256 = '<hex>']` plus `x_jaring_hash_epoch` |
//!
//! Personal-data values (bank and e-wallet accounts, e-mail, phone when the
//! node hashes phones) leave the node only as the keyed hash that travels in
//! the federation: never the plain value, even when this node holds it. A
//! receiver holding the same federation key epoch can match them; nobody
//! else learns the value.
//!
//! Ids are deterministic: the STIX id of an indicator is a UUIDv5 of its
//! Jaring id (so every version of an indicator has the same STIX id and a
//! newer `modified`), the identity of an origin a UUIDv5 of its node id.

pub mod export;
pub mod import;
pub mod pattern;
pub mod stream;

pub use export::{BundleWriter, identity, identity_id, indicator, indicator_id, tlp_marking, tlp_marking_id};
pub use import::{ImportError, ObjectError, StixContext, parse_bundle, parse_object, parse_pattern};

/// The UUIDv5 namespace of Jaring's STIX ids.
pub const NAMESPACE: uuid::Uuid = crate::envelope::STIX_NAMESPACE;

/// The OASIS TLP 2.0 extension definition that TLP 2.0 markings carry.
pub const TLP2_EXTENSION: &str = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d";

/// STIX media type.
pub const STIX_MEDIA_TYPE: &str = "application/stix+json;version=2.1";
