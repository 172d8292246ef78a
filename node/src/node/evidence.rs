//! The evidence package about a value ([`crate::evidence`]): gathered from
//! the store, signed by this node, audited.

use std::collections::{BTreeMap, BTreeSet};

use crate::audit::AuditDraft;
use crate::envelope::Entry;
use crate::evidence::{ItemType, PackageBuilder, Subject};
use crate::identity::IdentityCard;
use crate::model::{Kind, now_ms};
use crate::store::{Batch, LogRecord, StoreError, Tables};

use super::{Node, NodeError};

/// A package and what it holds.
#[derive(Debug, Clone)]
pub struct EvidencePackage {
    /// The `.jrev` bytes.
    pub bytes: Vec<u8>,
    /// Signed envelopes (assertions, feedback, key events).
    pub envelopes: usize,
    /// Identity cards.
    pub cards: usize,
    /// Audit entries.
    pub audit_entries: usize,
}

impl Node {
    /// The evidence package about a held value: every origin's current
    /// assertion (with `all_versions`, every version held, read from the
    /// whole log), every feedback event about it, the identity cards of
    /// this node and of every origin involved, the key events that
    /// introduced keys a card does not list, this node's audit entries
    /// about the value (naming it, its envelopes or its cases), and a
    /// manifest signed with this node's current key. The export is
    /// audited (after the package is made: it is not in it).
    ///
    /// # Errors
    ///
    /// [`NodeError::Input`] for a bad value; `NotFound::HeldValue`; store
    /// failures.
    pub async fn export_evidence(
        &self,
        value: &str,
        kind: Option<Kind>,
        all_versions: bool,
        actor: &str,
    ) -> Result<EvidencePackage, NodeError> {
        let held = self.find_held(value, kind, None)?;
        let (kind, carried) = (held.kind, held.value.as_str().to_string());
        let plain = match &held.plain {
            Some(p) => Some(p.clone()),
            None if kind.is_personal(self.privacy.hash_phone()) => self.store.plain_value(kind, &carried)?,
            None => None,
        };
        let mut builder = PackageBuilder::new();
        let mut envelopes: Vec<(ItemType, LogRecord)> = Vec::new();

        // Assertions: each origin's current one, or every version held.
        let hidden = self.committed.hidden();
        if all_versions {
            for r in self.store.log_records_after(0) {
                let rec = r?;
                if hidden.contains(&rec.seq) {
                    continue;
                }
                let entry = rec.clone().decode()?;
                if let Entry::Indicator(i) = &entry.body.entry
                    && i.kind == kind
                    && i.value.as_str() == carried
                {
                    envelopes.push((ItemType::Assertion, rec));
                }
            }
        } else {
            for (_, seq) in self.store.indexed_by_origin(kind, &carried)? {
                if let Some(rec) = self.store.log_record(seq)? {
                    envelopes.push((ItemType::Assertion, rec));
                }
            }
        }
        for seq in self.store.feedback_positions(kind, &carried)? {
            if let Some(rec) = self.store.log_record(seq)? {
                envelopes.push((ItemType::Feedback, rec));
            }
        }

        // Who signed what, and with which key.
        let mut decoded = Vec::with_capacity(envelopes.len());
        for (t, rec) in envelopes {
            let entry = rec.clone().decode()?;
            decoded.push((t, rec, entry));
        }
        decoded.sort_by(|a, b| (&a.2.body.origin, a.2.body.origin_seq).cmp(&(&b.2.body.origin, b.2.body.origin_seq)));
        let mut origins: BTreeSet<String> = decoded.iter().map(|(_, _, e)| e.body.origin.clone()).collect();
        origins.insert(self.id().to_string());

        // Cards, and the keys they list.
        let mut card_keys: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for origin in &origins {
            let text =
                if origin == self.id() { Some(self.identity_card()) } else { self.peer(origin).map(|p| p.card_text) };
            let Some(text) = text else {
                tracing::warn!(%origin, "no identity card held for an origin in an evidence package");
                continue;
            };
            if let Ok(card) = IdentityCard::verify(&text) {
                card_keys.insert(origin.clone(), card.signing_keys.iter().map(|k| k.key_id.clone()).collect());
            }
            builder.add(format!("card/{origin}"), ItemType::IdentityCard, text.into_bytes(), Some(origin), None, None);
        }

        // Key events, when an envelope is signed by a key its origin's card
        // does not list (a rotation after the card was exchanged).
        let unlisted: BTreeSet<&str> = decoded
            .iter()
            .filter(|(_, _, e)| card_keys.get(&e.body.origin).is_none_or(|keys| !keys.contains(&e.envelope.key_id)))
            .map(|(_, _, e)| e.body.origin.as_str())
            .collect();
        if !unlisted.is_empty() {
            for r in self.store.log_records_after(0) {
                let rec = r?;
                let entry = rec.clone().decode()?;
                if matches!(entry.body.entry, Entry::KeyEvent(_)) && unlisted.contains(entry.body.origin.as_str()) {
                    let name = format!("envelope/{}/{}", entry.body.origin, entry.body.origin_seq);
                    let (origin, seq) = (entry.body.origin.clone(), entry.body.origin_seq);
                    builder.add(name, ItemType::KeyEvent, rec.bytes, Some(&origin), Some(seq), Some(rec.seq));
                }
            }
        }

        // The envelopes, exactly as stored.
        let mut about: BTreeSet<(String, u64)> = BTreeSet::new();
        let mut cases: BTreeSet<String> = BTreeSet::new();
        for (t, rec, entry) in decoded {
            let (origin, seq) = (entry.body.origin.clone(), entry.body.origin_seq);
            if let Entry::Feedback(f) = &entry.body.entry
                && let Some(case) = crate::takedown::case_of(f, seq)
            {
                cases.insert(format!("case {origin}-{case} "));
            }
            about.insert((origin.clone(), seq));
            builder.add(format!("envelope/{origin}/{seq}"), t, rec.bytes, Some(&origin), Some(seq), Some(rec.seq));
        }

        // This node's audit entries about the value.
        let audit = crate::store::audit::entries_where(&self.store, |e| {
            let d = &e.draft;
            d.detail.contains(carried.as_str())
                || plain.as_deref().is_some_and(|p| d.detail.contains(p))
                || d.origin.as_ref().zip(d.origin_seq).is_some_and(|(o, s)| about.contains(&(o.clone(), s)))
                || cases.iter().any(|c| d.detail.contains(c.as_str()))
        })?;
        for (e, bytes) in audit {
            builder.add(format!("audit/{}", e.seq), ItemType::AuditEntry, bytes, None, Some(e.seq), None);
        }

        let package = EvidencePackage {
            envelopes: builder.count(ItemType::Assertion)
                + builder.count(ItemType::Feedback)
                + builder.count(ItemType::KeyEvent),
            cards: builder.count(ItemType::IdentityCard),
            audit_entries: builder.count(ItemType::AuditEntry),
            bytes: Vec::new(),
        };
        let key = self
            .signing
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .last()
            .cloned()
            .ok_or_else(|| StoreError::Engine("no signing key".into()))?;
        let subject = Subject { kind, value: carried.clone(), plain_value: plain };
        let bytes = builder.finish(self.id(), now_ms(), subject, &key);
        let detail = format!(
            "evidence package about {kind} {carried}: {} envelope(s), {} card(s), {} audit entr(ies), {} bytes",
            package.envelopes,
            package.cards,
            package.audit_entries,
            bytes.len()
        );
        self.ledger.apply(Batch::default(), vec![AuditDraft::admin(actor, "evidence.export", detail)]).await?;
        Ok(EvidencePackage { bytes, ..package })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::evidence::{ItemError, verify};
    use crate::init::{InitOptions, init};
    use crate::node::Answerer;
    use crate::submission::NewIndicator;
    use crate::takedown::{Due, NewTakedown, Outcome};

    async fn node_with_a_case() -> (tempfile::TempDir, Arc<Node>) {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("n");
        init(&InitOptions { region: Some("ID".into()), ..InitOptions::loopback("ID", dir.clone()) }).unwrap();
        let (node, _ledger) = Node::open(crate::config::Config::load(&dir.join("node.toml")).unwrap()).unwrap();
        let input = NewIndicator {
            kind: Some(Kind::Domain),
            value: "loker-meta.co.id".into(),
            categories: vec![crate::model::Category::JobScam],
            confidence: 80,
            description: Some("job ads on Facebook".into()),
            ..NewIndicator::default()
        };
        node.submit(vec![input], "admin:siti").await.unwrap();
        let ask = NewTakedown {
            value: "loker-meta.co.id".into(),
            platform: "meta".into(),
            due: Due::In(3_600_000),
            ..Default::default()
        };
        let case = node.request_takedown(ask, "admin:siti").await.unwrap().case;
        let meta = Answerer { platform: Some("meta".into()), principal: "meta-bot".into() };
        node.takedown_outcome(&case.id, &meta, Outcome::Actioned("page removed".into()), None, None).await.unwrap();
        (tmp, node)
    }

    #[tokio::test]
    async fn a_package_verifies_and_any_flipped_envelope_byte_is_named() {
        let (_tmp, node) = node_with_a_case().await;
        let pkg = node.export_evidence("loker-meta.co.id", None, false, "admin:siti").await.unwrap();
        assert_eq!((pkg.envelopes, pkg.cards), (3, 1), "one assertion, a request and an outcome; ID's card");
        assert!(pkg.audit_entries >= 2, "the indicator's and the case's audit entries: {}", pkg.audit_entries);
        let report = verify(&pkg.bytes);
        assert!(report.is_valid(), "{:?}", report.failures().collect::<Vec<_>>());
        assert_eq!(report.exported_by.as_deref(), Some("ID"));
        let statements: Vec<&str> = report.items.iter().filter_map(|i| i.statement.as_deref()).collect();
        assert!(statements.iter().any(|s| s.starts_with("ID asserted domain loker-meta.co.id: [job_scam]")));
        assert!(statements.iter().any(|s| s.contains("reported takedown_requested (case ID-2), platform \"meta\"")));
        assert!(statements.iter().any(|s| s.contains("reported actioned (case ID-2)")));

        // Flip every byte of every envelope: verification fails naming it.
        let blob_start = crate::evidence::format::blob_start(&pkg.bytes).unwrap();
        let manifest_items: Vec<(String, u64, u64)> = report
            .items
            .iter()
            .filter(|i| i.item_type.is_some_and(ItemType::is_envelope))
            .map(|i| i.name.clone())
            .map(|name| {
                let m = manifest_item(&pkg.bytes, &name);
                (name, m.0, m.1)
            })
            .collect();
        assert_eq!(manifest_items.len(), 3);
        for (name, offset, length) in manifest_items {
            for i in 0..length {
                let mut bad = pkg.bytes.clone();
                let at = blob_start + usize::try_from(offset + i).unwrap();
                bad[at] ^= 0x01;
                let r = verify(&bad);
                let failed: Vec<&str> = r.failures().map(|(n, _)| n).collect();
                assert_eq!(failed, [name.as_str()], "byte {i} of {name}");
                assert!(matches!(r.failures().next().unwrap().1, ItemError::Digest { .. }));
            }
        }
        // A changed manifest or card is named too.
        let mut bad = pkg.bytes.clone();
        let at = crate::evidence::MAGIC.len() + 60;
        bad[at] ^= 0x02;
        assert!(verify(&bad).failures().any(|(n, _)| n == "manifest"));
        let (card_offset, _) = manifest_item(&pkg.bytes, "card/ID");
        let mut bad = pkg.bytes.clone();
        bad[blob_start + usize::try_from(card_offset).unwrap() + 10] ^= 0x01;
        assert!(verify(&bad).failures().any(|(n, _)| n == "card/ID"));
        assert!(!verify(b"not a package").is_valid());
        let truncated = &pkg.bytes[..pkg.bytes.len() - 1];
        assert!(verify(truncated).failures().any(|(n, _)| n == "package"));
    }

    /// (offset, length) of a named item, read from the manifest.
    fn manifest_item(bytes: &[u8], name: &str) -> (u64, u64) {
        let m = crate::evidence::format::read_manifest(bytes).unwrap();
        let i = m.items.iter().find(|i| i.name == name).unwrap();
        (i.offset, i.length)
    }
}
