//! Fixtures shared by the fuzz targets and the seed generator: two fixed
//! ed25519 keys (one per origin, one of them revoked), the key ring that
//! trusts them, and helpers that sign envelope bodies and identity-card
//! payloads with them.
//!
//! The secrets are constants on purpose: the committed seed corpus holds
//! envelopes and cards signed with them, and the targets verify against
//! the same ring, so the seeds reach the code behind signature checks.

use std::sync::LazyLock;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::Signer as _;
use jaring_node::envelope::{PAYLOAD_TYPE, SignedEnvelope, pae};
use jaring_node::identity::CARD_TYPE;
use jaring_node::keys::KeyRing;
use jaring_node::keys::key_id_of;
use jaring_node::model::UnixMillis;

/// Origin of the active key.
pub const ACTIVE_OWNER: &str = "ID";
/// The active key signs bodies dated from here on.
pub const ACTIVE_VALID_FROM_MS: UnixMillis = 1_600_000_000_000;
/// Origin of the revoked key.
pub const REVOKED_OWNER: &str = "VN";
/// The revoked key's signatures dated at or after this are refused.
pub const REVOKED_AT_MS: UnixMillis = 1_750_000_000_000;

/// One fixed key and what the ring says about it.
#[derive(Debug)]
pub struct FixedKey {
    /// node_id that owns the key.
    pub owner: &'static str,
    /// Its key id (`ed25519:...`).
    pub key_id: String,
    /// Signatures dated before this are refused.
    pub valid_from_ms: UnixMillis,
    /// Signatures dated at or after this are refused.
    pub revoked_at_ms: Option<UnixMillis>,
    key: ed25519_dalek::SigningKey,
}

impl FixedKey {
    fn new(
        secret: [u8; 32],
        owner: &'static str,
        valid_from_ms: UnixMillis,
        revoked_at_ms: Option<UnixMillis>,
    ) -> Self {
        let key = ed25519_dalek::SigningKey::from_bytes(&secret);
        let key_id = key_id_of(key.verifying_key().as_bytes()).0;
        FixedKey { owner, key_id, valid_from_ms, revoked_at_ms, key }
    }

    /// The public key, lower-case hex (as identity cards carry it).
    pub fn public_key_hex(&self) -> String {
        hex::encode(self.key.verifying_key().as_bytes())
    }

    /// An envelope of exactly `body`, signed by this key.
    pub fn sign_body(&self, body: Vec<u8>) -> SignedEnvelope {
        let signature = self.key.sign(&pae(PAYLOAD_TYPE, &body)).to_bytes().to_vec();
        SignedEnvelope { body, signature, key_id: self.key_id.clone() }
    }

    /// A DSSE JSON envelope of exactly `payload` as an identity card
    /// signed by this key (the form `IdentityCard::sign` writes).
    pub fn sign_card_payload(&self, payload: &[u8]) -> String {
        let sig = self.key.sign(&pae(CARD_TYPE, payload));
        serde_json::json!({
            "payloadType": CARD_TYPE,
            "payload": B64.encode(payload),
            "signatures": [{"keyid": self.key_id, "sig": B64.encode(sig.to_bytes())}],
        })
        .to_string()
    }
}

/// The active key (owner [`ACTIVE_OWNER`]) and the revoked one (owner
/// [`REVOKED_OWNER`]).
pub static KEYS: LazyLock<[FixedKey; 2]> = LazyLock::new(|| {
    [
        FixedKey::new([0x11; 32], ACTIVE_OWNER, ACTIVE_VALID_FROM_MS, None),
        FixedKey::new([0x22; 32], REVOKED_OWNER, 0, Some(REVOKED_AT_MS)),
    ]
});

/// A ring trusting exactly [`KEYS`], with their validity.
pub static RING: LazyLock<KeyRing> = LazyLock::new(|| {
    let mut ring = KeyRing::default();
    for k in KEYS.iter() {
        ring.insert(k.owner, k.key.verifying_key(), k.valid_from_ms);
        if let Some(at) = k.revoked_at_ms {
            ring.revoke(&k.key_id, at);
        }
    }
    ring
});
