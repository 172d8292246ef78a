//! The `.jrev` layout (see `docs/evidence.md`):
//!
//! ```text
//! JREV/1 LF
//! <manifest: a DSSE JSON envelope on one line> LF
//! <item 0 bytes><item 1 bytes>...               (the blob area)
//! ```
//!
//! The manifest envelope is `{"payloadType":
//! "application/vnd.jaring.evidence.v1+json", "payload": <base64 of the
//! manifest JSON>, "signatures": [{"keyid": ..., "sig": <base64>}]}`, the
//! signature an ed25519 signature by the exporting node over the DSSE
//! pre-authentication encoding of the payload type and the payload bytes
//! (as for envelopes and identity cards). The manifest JSON lists every
//! item with its type, its offset and length in the blob area and the
//! SHA-256 of its bytes; items follow one another in manifest order with
//! nothing between or after them.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::envelope::pae;
use crate::keys::SigningKey;
use crate::model::{Kind, UnixMillis};

/// The first line of every package.
pub const MAGIC: &[u8] = b"JREV/1\n";

/// The manifest's `format`.
pub const FORMAT: &str = "jaring-evidence/1";

/// DSSE payload type of the manifest.
pub const EVIDENCE_TYPE: &str = "application/vnd.jaring.evidence.v1+json";

/// What an item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemType {
    /// An identity card (DSSE JSON, self-signed), as this node holds it.
    IdentityCard,
    /// An encoded `SignedIndicator` carrying an indicator version.
    Assertion,
    /// An encoded `SignedIndicator` carrying a feedback event.
    Feedback,
    /// An encoded `SignedIndicator` carrying a key event (a rotation or
    /// revocation the cards do not show).
    KeyEvent,
    /// One entry of this node's audit chain, its JSON as stored.
    AuditEntry,
}

impl ItemType {
    /// The name used in the manifest.
    pub fn as_str(self) -> &'static str {
        match self {
            ItemType::IdentityCard => "identity_card",
            ItemType::Assertion => "assertion",
            ItemType::Feedback => "feedback",
            ItemType::KeyEvent => "key_event",
            ItemType::AuditEntry => "audit_entry",
        }
    }

    /// Whether items of this type are signed envelopes.
    pub fn is_envelope(self) -> bool {
        matches!(self, ItemType::Assertion | ItemType::Feedback | ItemType::KeyEvent)
    }
}

/// One item as the manifest lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestItem {
    /// Unique within the package: `card/<node>`, `envelope/<origin>/<seq>`,
    /// `audit/<seq>`.
    pub name: String,
    /// What it is.
    #[serde(rename = "type")]
    pub item_type: ItemType,
    /// Where its bytes start in the blob area.
    pub offset: u64,
    /// How many bytes.
    pub length: u64,
    /// SHA-256 of its bytes, lowercase hex.
    pub sha256: String,
    /// Envelopes: the origin; cards: the node; audit entries: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    /// Envelopes: the origin's sequence number; audit entries: the entry's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    /// Envelopes: the position in the exporter's log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_seq: Option<u64>,
    /// Reserved (issue 20): for envelopes, a C2SP `tlog-proof` of the
    /// envelope's inclusion in the exporter's transparency log; `null`
    /// until then, and for other items.
    #[serde(default)]
    pub inclusion_proof: Option<String>,
}

/// The value a package is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Subject {
    /// Its kind.
    pub kind: Kind,
    /// As envelopes carry it (the keyed hash for personal data).
    pub value: String,
    /// The plain value of personal data, where the exporter holds it: a
    /// claim of the exporter (signed with the manifest), which the keyed
    /// hash in the envelopes cannot prove without the federation key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plain_value: Option<String>,
}

/// The signed manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// [`FORMAT`].
    pub format: String,
    /// The exporting node.
    pub exported_by: String,
    /// When it exported the package.
    pub exported_at_ms: UnixMillis,
    /// The value.
    pub subject: Subject,
    /// Every item, in blob order.
    pub items: Vec<ManifestItem>,
}

/// The manifest's DSSE JSON envelope.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ManifestEnvelope {
    pub(super) payload_type: String,
    pub(super) payload: String,
    pub(super) signatures: Vec<ManifestSignature>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct ManifestSignature {
    pub(super) keyid: String,
    pub(super) sig: String,
}

/// SHA-256, lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Collects items and writes the package.
#[derive(Debug, Default)]
pub struct PackageBuilder {
    items: Vec<(ManifestItem, Vec<u8>)>,
    offset: u64,
}

impl PackageBuilder {
    /// An empty package.
    pub fn new() -> PackageBuilder {
        PackageBuilder::default()
    }

    /// Whether an item of this name is in.
    pub fn contains(&self, name: &str) -> bool {
        self.items.iter().any(|(m, _)| m.name == name)
    }

    /// Adds an item (a second item of the same name is ignored).
    pub fn add(
        &mut self,
        name: String,
        item_type: ItemType,
        bytes: Vec<u8>,
        origin: Option<&str>,
        seq: Option<u64>,
        local_seq: Option<u64>,
    ) {
        if self.contains(&name) {
            return;
        }
        let length = bytes.len() as u64;
        let item = ManifestItem {
            name,
            item_type,
            offset: self.offset,
            length,
            sha256: sha256_hex(&bytes),
            origin: origin.map(Into::into),
            seq,
            local_seq,
            inclusion_proof: None,
        };
        self.offset += length;
        self.items.push((item, bytes));
    }

    /// How many items of `t` are in.
    pub fn count(&self, t: ItemType) -> usize {
        self.items.iter().filter(|(m, _)| m.item_type == t).count()
    }

    /// Writes the package: magic, the manifest signed with `key`, the items.
    pub fn finish(self, exported_by: &str, exported_at_ms: UnixMillis, subject: Subject, key: &SigningKey) -> Vec<u8> {
        let (items, blobs): (Vec<ManifestItem>, Vec<Vec<u8>>) = self.items.into_iter().unzip();
        let manifest =
            Manifest { format: FORMAT.into(), exported_by: exported_by.into(), exported_at_ms, subject, items };
        // A struct of strings and numbers always serializes.
        let payload = serde_json::to_vec(&manifest).unwrap_or_default();
        let sig = key.sign(&pae(EVIDENCE_TYPE, &payload));
        let envelope = ManifestEnvelope {
            payload_type: EVIDENCE_TYPE.into(),
            payload: B64.encode(&payload),
            signatures: vec![ManifestSignature { keyid: key.id().to_string(), sig: B64.encode(sig.to_bytes()) }],
        };
        let line = serde_json::to_vec(&envelope).unwrap_or_default();
        let mut out = Vec::with_capacity(MAGIC.len() + line.len() + 1 + blobs.iter().map(Vec::len).sum::<usize>());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&line);
        out.push(b'\n');
        for b in blobs {
            out.extend_from_slice(&b);
        }
        out
    }
}

/// Why bytes are not laid out as a package.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LayoutError {
    /// The first line is not [`MAGIC`].
    #[error("does not start with \"JREV/1\" and a newline")]
    NoMagic,
    /// No newline ends the manifest line.
    #[error("the manifest line does not end")]
    UnendedManifest,
    /// The manifest envelope or its payload does not parse.
    #[error("the manifest does not parse: {0}")]
    Manifest(String),
}

/// A package split into its manifest line and its blob area.
#[derive(Debug, Clone, Copy)]
pub struct Parts<'a> {
    /// The manifest envelope's JSON (without the newline).
    pub manifest: &'a [u8],
    /// Everything after it.
    pub blobs: &'a [u8],
}

/// Splits a package.
///
/// # Errors
///
/// [`LayoutError::NoMagic`], [`LayoutError::UnendedManifest`].
pub fn split(bytes: &[u8]) -> Result<Parts<'_>, LayoutError> {
    let rest = bytes.strip_prefix(MAGIC).ok_or(LayoutError::NoMagic)?;
    let end = rest.iter().position(|&b| b == b'\n').ok_or(LayoutError::UnendedManifest)?;
    Ok(Parts { manifest: &rest[..end], blobs: &rest[end + 1..] })
}

/// The manifest of a package, read without checking anything (for tools
/// that locate items; [`super::verify::verify`] is what checks them).
///
/// # Errors
///
/// [`LayoutError`] when the layout or the manifest does not parse.
pub fn read_manifest(bytes: &[u8]) -> Result<Manifest, LayoutError> {
    let parts = split(bytes)?;
    let bad = |e: &dyn std::fmt::Display| LayoutError::Manifest(e.to_string());
    let envelope: ManifestEnvelope = serde_json::from_slice(parts.manifest).map_err(|e| bad(&e))?;
    let payload = B64.decode(envelope.payload.as_bytes()).map_err(|e| bad(&e))?;
    serde_json::from_slice(&payload).map_err(|e| bad(&e))
}

/// Where the blob area of a package starts (the offset items count from).
///
/// # Errors
///
/// [`LayoutError`] when the layout does not parse.
pub fn blob_start(bytes: &[u8]) -> Result<usize, LayoutError> {
    let parts = split(bytes)?;
    Ok(bytes.len() - parts.blobs.len())
}
