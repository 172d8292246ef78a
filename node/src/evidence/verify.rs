//! Checking a package offline: no node, no network, nothing but its bytes.
//!
//! In order:
//! 1. the layout: the magic line, the manifest line, items exactly filling
//!    the blob area;
//! 2. every item's SHA-256 against the manifest;
//! 3. identity cards: each self-signature ([`IdentityCard::verify`]); their
//!    keys, with their validity, make the key ring;
//! 4. key events, in each origin's order: verified against the ring, then
//!    applied to it (a rotation adds a key, a revocation ends one);
//! 5. the manifest's signature, by a key of the exporting node valid when
//!    it exported;
//! 6. every assertion and feedback envelope: its signature over its exact
//!    body bytes by a key of its origin valid when it was signed
//!    ([`crate::signing::verify`]), then that it says what the manifest
//!    says (origin, sequence number, entry type, the subject's value);
//! 7. audit entries: each entry's hash over its content and its
//!    predecessor's hash (the chain between entries is the node's to show:
//!    `jaring audit verify`).
//!
//! Every problem is reported against the item it is in ([`ItemReport`]);
//! the package is valid when none is ([`Report::is_valid`]).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signature, Verifier};
use serde::Serialize;

use super::format::{self, EVIDENCE_TYPE, FORMAT, ItemType, Manifest, ManifestEnvelope, ManifestItem, Subject};
use crate::audit::{self, AuditEntry};
use crate::envelope::{Entry, KeyEvent, pae};
use crate::identity::{CardError, IdentityCard};
use crate::keys::{KeyRing, PublicKeyLookup};
use crate::model::UnixMillis;
use crate::signing::{self, VerifyError};
use crate::wire;

/// What is wrong with one item (or with the package or its manifest).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ItemError {
    /// The file is not laid out as a package.
    #[error("not an evidence package: {0}")]
    Layout(String),
    /// The manifest does not parse.
    #[error("manifest does not parse: {0}")]
    Manifest(String),
    /// The manifest's signature does not verify.
    #[error("manifest signature: {0}")]
    ManifestSignature(String),
    /// The item's bytes lie outside the blob area.
    #[error("bytes {offset}..{end} lie outside the package ({size} bytes of items)")]
    OutOfBounds {
        /// Start.
        offset: u64,
        /// End.
        end: u64,
        /// Size of the blob area.
        size: u64,
    },
    /// The item's bytes are not the ones the manifest lists.
    #[error("SHA-256 is {actual}, the manifest says {expected} (the item was changed)")]
    Digest {
        /// From the manifest.
        expected: String,
        /// Of the bytes.
        actual: String,
    },
    /// An identity card does not verify.
    #[error("identity card: {0}")]
    Card(#[from] CardError),
    /// An envelope does not verify against the cards.
    #[error("signature: {0}")]
    Signature(#[from] VerifyError),
    /// An envelope or entry does not decode.
    #[error("does not decode: {0}")]
    Malformed(String),
    /// The item is not what the manifest says it is.
    #[error("the manifest says {expected}, the item holds {found}")]
    Mismatch {
        /// What the manifest says.
        expected: String,
        /// What the item holds.
        found: String,
    },
    /// An audit entry's content does not match its hash.
    #[error("audit entry content does not match its hash (the entry was edited)")]
    AuditHash,
}

/// One item's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct ItemReport {
    /// The item's name (`package` and `manifest` for the file itself).
    pub name: String,
    /// Its type.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub item_type: Option<ItemType>,
    /// Who signed it (node and key id), for signed items.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signer: Option<String>,
    /// When it was made, by its own account.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at_ms: Option<UnixMillis>,
    /// What it says, for people.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statement: Option<String>,
    /// Why it does not verify.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "error_text")]
    pub error: Option<ItemError>,
}

fn error_text<S: serde::Serializer>(e: &Option<ItemError>, s: S) -> Result<S::Ok, S::Error> {
    match e {
        Some(e) => s.serialize_str(&e.to_string()),
        None => s.serialize_none(),
    }
}

impl ItemReport {
    fn new(name: &str, item_type: Option<ItemType>) -> ItemReport {
        ItemReport { name: name.into(), item_type, signer: None, at_ms: None, statement: None, error: None }
    }

    fn failed(name: &str, error: ItemError) -> ItemReport {
        ItemReport { error: Some(error), ..ItemReport::new(name, None) }
    }
}

/// The outcome of checking a package.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The exporting node, from the manifest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exported_by: Option<String>,
    /// When it exported.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exported_at_ms: Option<UnixMillis>,
    /// The key that signed the manifest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signed_by_key: Option<String>,
    /// The value it is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<Subject>,
    /// `package` and `manifest`, then every item in manifest order.
    pub items: Vec<ItemReport>,
}

impl Report {
    /// Whether nothing failed.
    pub fn is_valid(&self) -> bool {
        self.items.iter().all(|i| i.error.is_none())
    }

    /// The items that failed, with why.
    pub fn failures(&self) -> impl Iterator<Item = (&str, &ItemError)> {
        self.items.iter().filter_map(|i| i.error.as_ref().map(|e| (i.name.as_str(), e)))
    }
}

/// Human time (RFC 3339, seconds) of Unix milliseconds.
fn time(ms: UnixMillis) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms.max(0).unsigned_abs());
    humantime::format_rfc3339_seconds(t).to_string()
}

/// Checks a package. Never fails: every problem is in the report.
pub fn verify(bytes: &[u8]) -> Report {
    let mut report =
        Report { exported_by: None, exported_at_ms: None, signed_by_key: None, subject: None, items: Vec::new() };
    let parts = match format::split(bytes) {
        Ok(p) => p,
        Err(reason) => {
            report.items.push(ItemReport::failed("package", ItemError::Layout(reason.to_string())));
            return report;
        }
    };
    let (envelope, payload, manifest) = match parse_manifest(parts.manifest) {
        Ok(m) => m,
        Err(e) => {
            report.items.push(ItemReport::failed("manifest", e));
            return report;
        }
    };
    report.exported_by = Some(manifest.exported_by.clone());
    report.exported_at_ms = Some(manifest.exported_at_ms);
    report.subject = Some(manifest.subject.clone());
    report.signed_by_key = envelope.signatures.first().map(|s| s.keyid.clone());

    // 1-2. Layout and digests.
    let mut package = ItemReport::new("package", None);
    let filled: u64 = manifest.items.iter().map(|i| i.length).sum();
    let mut expected_offset = 0u64;
    for item in &manifest.items {
        if item.offset != expected_offset && package.error.is_none() {
            package.error = Some(ItemError::Layout(format!("item {} is not where the previous one ends", item.name)));
        }
        expected_offset = item.offset.saturating_add(item.length);
    }
    if package.error.is_none() && filled != parts.blobs.len() as u64 {
        package.error = Some(ItemError::Layout(format!(
            "the items fill {filled} bytes, the package holds {} after the manifest",
            parts.blobs.len()
        )));
    }
    let mut names = std::collections::HashSet::new();
    if let Some(dup) = manifest.items.iter().find(|i| !names.insert(i.name.as_str())) {
        package.error.get_or_insert(ItemError::Layout(format!("two items are named {}", dup.name)));
    }
    package.statement = Some(format!("{} items, {} bytes", manifest.items.len(), bytes.len()));
    report.items.push(package);
    let manifest_at = report.items.len();
    report.items.push(ItemReport::new("manifest", None));

    let mut items: Vec<(ItemReport, Option<&[u8]>, &ManifestItem)> = manifest
        .items
        .iter()
        .map(|m| {
            let mut r = ItemReport::new(&m.name, Some(m.item_type));
            let slice = match slice_of(parts.blobs, m) {
                Err(e) => {
                    r.error = Some(e);
                    None
                }
                Ok(b) => {
                    let actual = format::sha256_hex(b);
                    if actual != m.sha256 {
                        r.error = Some(ItemError::Digest { expected: m.sha256.clone(), actual });
                    }
                    Some(b)
                }
            };
            (r, slice, m)
        })
        .collect();

    // 3. Cards make the key ring.
    let mut ring = KeyRing::default();
    for (r, bytes, m) in items.iter_mut().filter(|(_, _, m)| m.item_type == ItemType::IdentityCard) {
        let Some(bytes) = bytes else { continue };
        match check_card(bytes, m, &mut ring) {
            Ok(statement) => r.statement = Some(statement),
            Err(e) => {
                r.error.get_or_insert(e);
            }
        }
    }
    // 4. Key events, in each origin's order, extend it.
    let mut key_events: Vec<usize> = (0..items.len()).filter(|&i| items[i].2.item_type == ItemType::KeyEvent).collect();
    key_events.sort_by_key(|&i| (items[i].2.origin.clone(), items[i].2.seq));
    for i in key_events {
        let (r, bytes, m) = &mut items[i];
        let Some(bytes) = bytes else { continue };
        match check_envelope(bytes, m, &manifest.subject, &ring) {
            Ok(checked) => {
                if let Entry::KeyEvent(ev) = &checked.entry {
                    apply_key_event(&mut ring, &checked.origin, ev);
                }
                fill(r, checked);
            }
            Err(e) => {
                r.error.get_or_insert(e);
            }
        }
    }
    // 5. The manifest's signature.
    if let Err(e) = check_manifest_signature(&envelope, &payload, &manifest, &ring) {
        report.items[manifest_at].error = Some(e);
    } else {
        report.items[manifest_at].signer =
            report.signed_by_key.as_ref().map(|k| format!("{} with {k}", manifest.exported_by));
        report.items[manifest_at].at_ms = Some(manifest.exported_at_ms);
        report.items[manifest_at].statement = Some(format!(
            "{} exported this package about {} {} at {}",
            manifest.exported_by,
            manifest.subject.kind,
            manifest.subject.plain_value.as_deref().unwrap_or(&manifest.subject.value),
            time(manifest.exported_at_ms)
        ));
    }
    // 6-7. Envelopes and audit entries.
    for (r, bytes, m) in items.iter_mut() {
        let Some(bytes) = bytes else { continue };
        let outcome = match m.item_type {
            ItemType::Assertion | ItemType::Feedback => {
                check_envelope(bytes, m, &manifest.subject, &ring).map(|checked| fill(r, checked))
            }
            ItemType::AuditEntry => check_audit(bytes, m, &manifest.exported_by).map(|(at, s)| {
                r.at_ms = Some(at);
                r.statement = Some(s);
            }),
            ItemType::IdentityCard | ItemType::KeyEvent => Ok(()),
        };
        if let Err(e) = outcome {
            r.error.get_or_insert(e);
        }
    }
    report.items.extend(items.into_iter().map(|(r, _, _)| r));
    report
}

fn parse_manifest(line: &[u8]) -> Result<(ManifestEnvelope, Vec<u8>, Manifest), ItemError> {
    let bad = |reason: String| ItemError::Manifest(reason);
    let envelope: ManifestEnvelope = serde_json::from_slice(line).map_err(|e| bad(e.to_string()))?;
    if envelope.payload_type != EVIDENCE_TYPE {
        return Err(bad(format!("payload type is {:?}, expected {EVIDENCE_TYPE:?}", envelope.payload_type)));
    }
    let payload = B64.decode(envelope.payload.as_bytes()).map_err(|e| bad(format!("payload: {e}")))?;
    let manifest: Manifest = serde_json::from_slice(&payload).map_err(|e| bad(format!("payload: {e}")))?;
    if manifest.format != FORMAT {
        return Err(bad(format!("format is {:?}, expected {FORMAT:?}", manifest.format)));
    }
    Ok((envelope, payload, manifest))
}

fn slice_of<'a>(blobs: &'a [u8], m: &ManifestItem) -> Result<&'a [u8], ItemError> {
    let end = m.offset.checked_add(m.length);
    let size = blobs.len() as u64;
    match end {
        Some(end) if end <= size => {
            let (start, end) = (usize::try_from(m.offset).unwrap_or(usize::MAX), usize::try_from(end).unwrap_or(0));
            blobs.get(start..end).ok_or(ItemError::OutOfBounds { offset: m.offset, end: end as u64, size })
        }
        _ => Err(ItemError::OutOfBounds { offset: m.offset, end: end.unwrap_or(u64::MAX), size }),
    }
}

fn check_card(bytes: &[u8], m: &ManifestItem, ring: &mut KeyRing) -> Result<String, ItemError> {
    let text = std::str::from_utf8(bytes).map_err(|e| ItemError::Malformed(e.to_string()))?;
    let card = IdentityCard::verify(text)?;
    if m.origin.as_deref() != Some(card.node_id.as_str()) {
        return Err(ItemError::Mismatch {
            expected: format!("the card of {}", m.origin.as_deref().unwrap_or("?")),
            found: format!("the card of {}", card.node_id),
        });
    }
    let mut keys = Vec::new();
    for k in &card.signing_keys {
        let vk = k.public_key()?;
        let id = ring.insert(&card.node_id, vk, k.valid_from_ms);
        if let Some(at) = k.revoked_at_ms {
            ring.revoke(id.as_str(), at);
        }
        keys.push(k.key_id.clone());
    }
    Ok(format!("{} ({}), signing keys {}", card.node_id, card.tls_name, keys.join(", ")))
}

fn apply_key_event(ring: &mut KeyRing, origin: &str, ev: &KeyEvent) {
    match ev {
        KeyEvent::Rotation { new_public_key, valid_from_ms, .. } => {
            if let Ok(vk) = ed25519_dalek::VerifyingKey::from_bytes(new_public_key) {
                ring.insert(origin, vk, *valid_from_ms);
            }
        }
        KeyEvent::Revocation { key_id, revoked_at_ms, .. } => {
            ring.revoke(key_id, *revoked_at_ms);
        }
    }
}

fn check_manifest_signature(
    envelope: &ManifestEnvelope,
    payload: &[u8],
    manifest: &Manifest,
    ring: &KeyRing,
) -> Result<(), ItemError> {
    let bad = |reason: String| ItemError::ManifestSignature(reason);
    let sig = envelope.signatures.first().ok_or_else(|| bad("no signature".into()))?;
    let key =
        ring.public_key(&sig.keyid).ok_or_else(|| bad(format!("key {} is on no card in the package", sig.keyid)))?;
    if key.owner != manifest.exported_by {
        return Err(bad(format!("key {} is {}'s, not the exporter {}'s", sig.keyid, key.owner, manifest.exported_by)));
    }
    let at = manifest.exported_at_ms;
    if at < key.valid_from_ms || key.revoked_at_ms.is_some_and(|r| at >= r) {
        return Err(bad(format!("key {} was not valid at {}", sig.keyid, time(at))));
    }
    let raw = B64.decode(sig.sig.as_bytes()).map_err(|e| bad(format!("not base64: {e}")))?;
    let raw: [u8; 64] = raw.as_slice().try_into().map_err(|_| bad(format!("{} bytes, expected 64", raw.len())))?;
    key.key
        .verify(&pae(EVIDENCE_TYPE, payload), &Signature::from_bytes(&raw))
        .map_err(|_| bad(format!("does not verify with {} (the manifest was changed)", sig.keyid)))
}

/// What a verified envelope says.
struct Checked {
    origin: String,
    key_id: String,
    created_at_ms: UnixMillis,
    entry: Entry,
    statement: String,
}

fn fill(r: &mut ItemReport, c: Checked) {
    r.signer = Some(format!("{} with {}", c.origin, c.key_id));
    r.at_ms = Some(c.created_at_ms);
    r.statement = Some(c.statement);
}

fn check_envelope(bytes: &[u8], m: &ManifestItem, subject: &Subject, ring: &KeyRing) -> Result<Checked, ItemError> {
    let env = wire::decode_envelope(bytes).map_err(|e| ItemError::Malformed(e.to_string()))?;
    let key_id = env.key_id.clone();
    let v = signing::verify(env, ring)?;
    let body = v.body;
    let mismatch = |expected: String, found: String| Err(ItemError::Mismatch { expected, found });
    if m.origin.as_deref() != Some(body.origin.as_str()) || m.seq != Some(body.origin_seq) {
        return mismatch(
            format!("{} #{}", m.origin.as_deref().unwrap_or("?"), m.seq.unwrap_or(0)),
            format!("{} #{}", body.origin, body.origin_seq),
        );
    }
    let about = |kind: crate::model::Kind, value: &str| kind == subject.kind && value == subject.value;
    let signed = time(body.created_at_ms);
    let statement = match (&body.entry, m.item_type) {
        (Entry::Indicator(i), ItemType::Assertion) => {
            if !about(i.kind, i.value.as_str()) {
                return mismatch(
                    format!("an assertion about {}", subject.value),
                    format!("{} {}", i.kind, i.value.as_str()),
                );
            }
            let cats: Vec<&str> = i.categories.iter().map(|c| c.as_str()).collect();
            format!(
                "{} {} {} {}: [{}], confidence {}, {}, version {}, first seen {}, last seen {}{}; signed {signed}",
                body.origin,
                if i.action == crate::model::Action::Revoke { "revoked its assertion of" } else { "asserted" },
                i.kind,
                subject.plain_value.as_deref().unwrap_or(i.value.as_str()),
                cats.join(", "),
                i.confidence,
                i.tlp.label(),
                i.version,
                time(i.first_seen_ms),
                time(i.last_seen_ms),
                i.description.as_ref().map(|d| format!(", \"{d}\"")).unwrap_or_default(),
            )
        }
        (Entry::Feedback(f), ItemType::Feedback) => {
            if !about(f.kind, f.value.as_str()) {
                return mismatch(
                    format!("feedback about {}", subject.value),
                    format!("{} {}", f.kind, f.value.as_str()),
                );
            }
            let case = crate::takedown::case_of(f, body.origin_seq)
                .map(|seq| format!(" (case {}-{seq})", body.origin))
                .unwrap_or_default();
            let mut s = format!("{} reported {}{case}", body.origin, f.feedback_type);
            for (label, v) in [
                ("platform", &f.platform),
                ("action", &f.action_taken),
                ("reason", &f.reason),
                ("referred to", &f.referred_to),
                ("agency reference", &f.case_ref),
                ("note", &f.note),
            ] {
                if let Some(v) = v {
                    s.push_str(&format!(", {label} {v:?}"));
                }
            }
            if let Some(due) = f.due_at_ms {
                s.push_str(&format!(", due {}", time(due)));
            }
            s.push_str(&format!("; at {}, signed {signed}", time(f.observed_at_ms)));
            s
        }
        (Entry::KeyEvent(ev), ItemType::KeyEvent) => match ev {
            KeyEvent::Rotation { new_key_id, valid_from_ms, .. } => {
                format!("{} endorsed key {new_key_id} from {}; signed {signed}", body.origin, time(*valid_from_ms))
            }
            KeyEvent::Revocation { key_id, revoked_at_ms, .. } => {
                format!("{} revoked key {key_id} from {}; signed {signed}", body.origin, time(*revoked_at_ms))
            }
        },
        (entry, t) => {
            let found = match entry {
                Entry::Indicator(_) => "an indicator",
                Entry::Feedback(_) => "feedback",
                Entry::KeyEvent(_) => "a key event",
            };
            return mismatch(format!("a {} envelope", t.as_str()), found.into());
        }
    };
    Ok(Checked { origin: body.origin, key_id, created_at_ms: body.created_at_ms, entry: body.entry, statement })
}

fn check_audit(bytes: &[u8], m: &ManifestItem, exporter: &str) -> Result<(UnixMillis, String), ItemError> {
    let e: AuditEntry = serde_json::from_slice(bytes).map_err(|e| ItemError::Malformed(e.to_string()))?;
    if m.seq != Some(e.seq) {
        return Err(ItemError::Mismatch {
            expected: format!("audit entry {}", m.seq.unwrap_or(0)),
            found: format!("audit entry {}", e.seq),
        });
    }
    if audit::chain(e.seq, e.at_ms, e.draft.clone(), &e.prev_hash).hash != e.hash {
        return Err(ItemError::AuditHash);
    }
    Ok((
        e.at_ms,
        format!(
            "{exporter}'s audit entry {} at {}: {} {}{}",
            e.seq,
            time(e.at_ms),
            e.draft.actor,
            e.draft.action,
            if e.draft.detail.is_empty() { String::new() } else { format!(": {}", e.draft.detail) }
        ),
    ))
}
