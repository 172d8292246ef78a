//! The signing key lifecycle and this node's identity card.
//!
//! Rotation writes a new key file (0600), then publishes a
//! [`KeyEvent::Rotation`] signed by the current key, so every peer learns
//! the new key through the federation from a key it already trusts; only
//! then does the ledger sign with the new key. Revocation publishes a
//! [`KeyEvent::Revocation`] signed by the current key: peers refuse the
//! revoked key's signatures dated at or after the revocation time, and keep
//! what it signed before. The identity card lists every key with its
//! validity and revocation, and is rewritten after each change.

use std::sync::Arc;

use crate::audit::AuditDraft;
use crate::config::Config;
use crate::envelope::KeyEvent;
use crate::identity::{CardKey, IdentityCard};
use crate::keys::{PublicKeyLookup, SigningKey};
use crate::ledger::Publish;
use crate::model::{UnixMillis, now_ms};
use crate::store::records::StoredKey;
use crate::store::{Batch, StoreError, TableWrites, Tables};
use crate::submission::InputError;

use super::{Conflict, Node, NodeError, NotFound};

/// A signing key as admins see it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct KeyInfo {
    /// `ed25519:...`.
    pub key_id: String,
    /// Node id of the key's owner.
    pub owner: String,
    /// Public key, hex.
    pub public_key_hex: String,
    /// Signatures dated before this are refused.
    pub valid_from_ms: UnixMillis,
    /// Signatures dated at or after this are refused.
    pub revoked_at_ms: Option<UnixMillis>,
    /// The key this node signs new entries with.
    pub current: bool,
    /// This node holds the secret key.
    pub local: bool,
}

impl Node {
    /// This node's signing keys, oldest first; with `all_origins`, also
    /// every other trusted origin's keys.
    pub fn keys(&self, all_origins: bool) -> Vec<KeyInfo> {
        let own = self.signing.read().unwrap_or_else(|p| p.into_inner()).clone();
        let ring = self.committed.keyring();
        let current = own.last().map(|k| k.id().to_string());
        let mut out: Vec<KeyInfo> = own
            .iter()
            .map(|k| KeyInfo {
                key_id: k.id().to_string(),
                owner: self.id().to_string(),
                public_key_hex: hex::encode(k.public().as_bytes()),
                valid_from_ms: k.valid_from_ms(),
                revoked_at_ms: ring.public_key(k.id().as_str()).and_then(|s| s.revoked_at_ms),
                current: current.as_deref() == Some(k.id().as_str()),
                local: true,
            })
            .collect();
        if all_origins {
            let mut others: Vec<KeyInfo> = ring
                .iter()
                .filter(|(id, _)| !out.iter().any(|k| k.key_id == *id))
                .map(|(id, s)| KeyInfo {
                    key_id: id.to_string(),
                    owner: s.owner.clone(),
                    public_key_hex: hex::encode(s.key.as_bytes()),
                    valid_from_ms: s.valid_from_ms,
                    revoked_at_ms: s.revoked_at_ms,
                    current: false,
                    local: false,
                })
                .collect();
            others.sort_by(|a, b| (&a.owner, a.valid_from_ms, &a.key_id).cmp(&(&b.owner, b.valid_from_ms, &b.key_id)));
            out.extend(others);
        }
        out
    }

    fn own_key(&self, key_id: &str) -> Option<KeyInfo> {
        self.keys(false).into_iter().find(|k| k.key_id == key_id)
    }

    /// Records this node's own public keys in the store's key table, so key
    /// events about them apply here as at peers.
    async fn store_own_keys(&self) -> Result<(), NodeError> {
        let own = self.signing.read().unwrap_or_else(|p| p.into_inner()).clone();
        let mut batch = Batch::default();
        for k in &own {
            if self.store.stored_key(k.id().as_str())?.is_none() {
                let stored = StoredKey {
                    owner: self.id().to_string(),
                    public_key_hex: hex::encode(k.public().as_bytes()),
                    valid_from_ms: k.valid_from_ms(),
                    revoked_at_ms: None,
                };
                batch.put_stored_key(k.id().as_str(), &stored);
            }
        }
        if !batch.is_empty() {
            self.ledger.apply(batch, Vec::new()).await?;
        }
        Ok(())
    }

    /// Makes a new signing key endorsed by the current one: writes its file
    /// (0600), publishes the signed rotation event, and signs everything
    /// after with it. The old key stays valid for what it signed.
    ///
    /// # Errors
    ///
    /// The key file cannot be written, or the store failed (then the new
    /// file is removed and nothing changed).
    pub async fn rotate_key(&self, actor: &str) -> Result<KeyInfo, NodeError> {
        let _one_at_a_time = self.key_ops.lock().await;
        let old = self.signing.read().unwrap_or_else(|p| p.into_inner()).last().cloned();
        let old_from = old.as_ref().map_or(0, |k| k.valid_from_ms());
        let new = Arc::new(SigningKey::generate(now_ms().max(old_from + 1)));
        let dir = self.config.resolve(&self.config.paths.keys);
        let path = crate::keystore::write_signing_key(&dir, &new)
            .map_err(|e| NodeError::Store(StoreError::Engine(format!("writing the new key: {e}"))))?;
        let published = async {
            self.store_own_keys().await?;
            let event = KeyEvent::Rotation {
                new_key_id: new.id().to_string(),
                new_public_key: new.public().to_bytes(),
                valid_from_ms: new.valid_from_ms(),
            };
            let detail = format!("{} -> {}", old.as_ref().map(|k| k.id().to_string()).unwrap_or_default(), new.id());
            let mut r = self
                .ledger
                .publish(vec![Publish::Key(event)], vec![AuditDraft::admin(actor, "key.rotate", detail)])
                .await?;
            r.pop().ok_or_else(|| NodeError::missing_result("key rotation"))??;
            Ok::<(), NodeError>(())
        }
        .await;
        if let Err(e) = published {
            let _ = std::fs::remove_file(&path);
            return Err(e);
        }
        self.ledger.set_signing_key(new.clone()).await?;
        self.signing.write().unwrap_or_else(|p| p.into_inner()).push(new.clone());
        self.write_identity_file();
        tracing::info!(key = %new.id(), "signing key rotated");
        self.own_key(new.id().as_str()).ok_or_else(|| NodeError::missing_result("the new key"))
    }

    /// Revokes one of this node's keys from `at_ms` (default now): peers
    /// refuse its signatures dated at or after that time.
    ///
    /// # Errors
    ///
    /// Not one of this node's keys, the current key (rotate first), already
    /// revoked at or before that time, or a store failure.
    pub async fn revoke_key(
        &self,
        key_id: &str,
        at_ms: Option<UnixMillis>,
        reason: &str,
        actor: &str,
    ) -> Result<KeyInfo, NodeError> {
        let _one_at_a_time = self.key_ops.lock().await;
        let key = self.own_key(key_id).ok_or_else(|| NotFound::OwnKey(key_id.into()))?;
        if key.current {
            return Err(Conflict::CurrentKey(key_id.into()).into());
        }
        let at = at_ms.unwrap_or_else(now_ms);
        if let Some(t) = key.revoked_at_ms
            && t <= at
        {
            return Err(Conflict::KeyAlreadyRevoked { key_id: key_id.into(), at_ms: t }.into());
        }
        if at < key.valid_from_ms {
            return Err(NodeError::Input(InputError::new(
                "at",
                format!("{at} ms is before the key became valid ({} ms)", key.valid_from_ms),
            )));
        }
        self.store_own_keys().await?;
        let event = KeyEvent::Revocation { key_id: key_id.to_string(), revoked_at_ms: at, reason: reason.to_string() };
        let detail = format!("{key_id} from {at} ms: {reason}");
        let mut r = self
            .ledger
            .publish(vec![Publish::Key(event)], vec![AuditDraft::admin(actor, "key.revoke", detail)])
            .await?;
        r.pop().ok_or_else(|| NodeError::missing_result("key revocation"))??;
        self.write_identity_file();
        tracing::warn!(key = %key_id, at_ms = at, "signing key revoked");
        self.own_key(key_id).ok_or_else(|| NodeError::missing_result("the revoked key"))
    }

    /// Rewrites DIR/identity.json with the current card (keys, CA,
    /// endpoint); a failure is logged, not fatal.
    pub fn write_identity_file(&self) {
        let path = self.config.resolve(&self.config.paths.identity);
        let card = self.identity_card();
        if let Err(e) = crate::fsutil::write_atomic(&path, format!("{card}\n").as_bytes(), 0o600) {
            tracing::warn!(path = %path.display(), error = %e, "cannot rewrite the identity card");
        }
    }

    /// This node's identity card, signed with its newest key.
    pub fn identity_card(&self) -> String {
        let keys = self.signing.read().unwrap_or_else(|p| p.into_inner()).clone();
        let ca = self.tls_ca_pem.read().unwrap_or_else(|p| p.into_inner()).clone();
        let ring = self.committed.keyring();
        let mut card = identity_card_unsigned(&self.config, &keys, &ca);
        for k in &mut card.signing_keys {
            k.revoked_at_ms = ring.public_key(&k.key_id).and_then(|s| s.revoked_at_ms);
        }
        match keys.last() {
            Some(k) => card.sign(k),
            None => String::new(),
        }
    }
}

/// Builds and signs a node's identity card.
pub fn identity_card(config: &Config, keys: &[Arc<SigningKey>], tls_ca_pem: &str) -> String {
    let card = identity_card_unsigned(config, keys, tls_ca_pem);
    match keys.last() {
        Some(k) => card.sign(k),
        None => String::new(),
    }
}

/// A node's identity card before signing (keys listed without revocations).
fn identity_card_unsigned(config: &Config, keys: &[Arc<SigningKey>], tls_ca_pem: &str) -> IdentityCard {
    IdentityCard {
        version: 1,
        node_id: config.node_id.to_string(),
        federation_endpoint: config.federation_endpoint().to_string(),
        tls_name: jaring_certs::tls_name(&config.node_id),
        tls_ca_pem: tls_ca_pem.to_string(),
        signing_keys: keys
            .iter()
            .map(|k| CardKey {
                key_id: k.id().to_string(),
                public_key_hex: hex::encode(k.public().as_bytes()),
                valid_from_ms: k.valid_from_ms(),
                revoked_at_ms: None,
            })
            .collect(),
        issued_at_ms: now_ms(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::init::{InitOptions, init};
    use crate::node::{Conflict, NotFound};

    fn node_in(dir: &std::path::Path) -> (Arc<Node>, std::thread::JoinHandle<()>) {
        let config = crate::config::Config::load(&dir.join("node.toml")).unwrap();
        Node::open(config).unwrap()
    }

    #[tokio::test]
    async fn rotate_then_revoke_persists_and_shows_on_the_identity_card() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("n");
        init(&InitOptions::loopback("ID", dir.clone())).unwrap();
        let (node, ledger) = node_in(&dir);
        let first = node.keys(false).pop().unwrap();
        assert!(first.current);

        // The key in use cannot be revoked.
        let err = node.revoke_key(&first.key_id, None, "x", "ops").await.unwrap_err();
        assert!(matches!(err, NodeError::Conflict(Conflict::CurrentKey(_))), "{err}");
        // Nor can another origin's key, or an unknown one.
        assert!(matches!(
            node.revoke_key("ed25519:00", None, "x", "ops").await,
            Err(NodeError::NotFound(NotFound::OwnKey(_)))
        ));

        let second = node.rotate_key("ops").await.unwrap();
        assert!(second.current && second.valid_from_ms > first.valid_from_ms);
        let at = second.valid_from_ms + 5;
        let revoked = node.revoke_key(&first.key_id, Some(at), "laptop lost", "ops").await.unwrap();
        assert_eq!(revoked.revoked_at_ms, Some(at));
        // Revoking again at a later time changes nothing.
        assert!(matches!(
            node.revoke_key(&first.key_id, Some(at + 1), "", "ops").await,
            Err(NodeError::Conflict(Conflict::KeyAlreadyRevoked { .. }))
        ));

        let card = crate::identity::IdentityCard::verify(&node.identity_card()).unwrap();
        let listed: Vec<_> = card.signing_keys.iter().map(|k| (k.key_id.clone(), k.revoked_at_ms)).collect();
        assert_eq!(listed, vec![(first.key_id.clone(), Some(at)), (second.key_id.clone(), None)]);
        let on_disk = std::fs::read_to_string(dir.join("identity.json")).unwrap();
        assert_eq!(crate::identity::IdentityCard::verify(on_disk.trim()).unwrap().signing_keys, card.signing_keys);

        // Both events are in the audit log, and the chain holds.
        let actions: Vec<String> =
            crate::store::audit::list(node.store(), &crate::store::audit::AuditFilter::default())
                .unwrap()
                .into_iter()
                .map(|e| e.draft.action)
                .collect();
        assert!(actions.ends_with(&["key.rotate".to_string(), "key.revoke".to_string()]), "{actions:?}");
        assert!(crate::store::audit::verify(node.store()).is_ok());

        // After a restart the new key signs and the revocation is remembered.
        drop(node);
        tokio::task::spawn_blocking(move || ledger.join()).await.unwrap().unwrap();
        let (node, _ledger) = node_in(&dir);
        let keys = node.keys(false);
        assert_eq!(keys.len(), 2);
        assert_eq!(keys[0].revoked_at_ms, Some(at));
        assert!(keys[1].current);
        assert_eq!(keys[1].key_id, second.key_id);
    }
}
