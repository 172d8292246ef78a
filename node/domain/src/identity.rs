//! Identity cards: what two ministries exchange out of band.
//!
//! A card names a node (node_id, federation endpoint, the TLS name on its
//! certificate, its TLS CA certificate) and its signing public keys with
//! their validity. It is a DSSE JSON envelope (`payloadType`, base64
//! `payload`, `signatures`) whose payload is the card's JSON, signed by one
//! of the keys the card itself lists: self-signed, so a card altered in
//! transit no longer verifies. Importing a card ([`IdentityCard::verify`])
//! checks that signature over the exact payload bytes before reading them.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signature, Verifier};
use serde::{Deserialize, Serialize};

use crate::envelope::pae;
use crate::keys::{SigningKey, key_id_of};
use crate::model::UnixMillis;

/// DSSE payload type of an identity card.
pub const CARD_TYPE: &str = "application/vnd.jaring.identity.v1+json";

/// A node's identity, as signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityCard {
    /// Card format version (1).
    pub version: u32,
    /// The node's id.
    pub node_id: String,
    /// `host:port` its federation listener answers on.
    pub federation_endpoint: String,
    /// DNS name its TLS certificate carries (what peers verify).
    pub tls_name: String,
    /// PEM of the CA that issues its TLS certificates.
    pub tls_ca_pem: String,
    /// Its signing keys.
    pub signing_keys: Vec<CardKey>,
    /// When the card was made.
    pub issued_at_ms: UnixMillis,
}

/// A signing key on a card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CardKey {
    /// `ed25519:...`.
    pub key_id: String,
    /// 32-byte public key, hex.
    pub public_key_hex: String,
    /// Signatures dated before this are refused.
    pub valid_from_ms: UnixMillis,
    /// Set when the key is revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at_ms: Option<UnixMillis>,
}

impl CardKey {
    /// The public key.
    ///
    /// # Errors
    ///
    /// [`CardError::BadKey`].
    pub fn public_key(&self) -> Result<ed25519_dalek::VerifyingKey, CardError> {
        let bad = || CardError::BadKey(self.key_id.clone());
        let bytes: [u8; 32] = hex::decode(&self.public_key_hex).ok().and_then(|b| b.try_into().ok()).ok_or_else(bad)?;
        let key = ed25519_dalek::VerifyingKey::from_bytes(&bytes).map_err(|_| bad())?;
        if key_id_of(&bytes).0 != self.key_id {
            return Err(bad());
        }
        Ok(key)
    }
}

/// The signed form: a DSSE JSON envelope.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CardEnvelope {
    payload_type: String,
    payload: String,
    signatures: Vec<CardSignature>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct CardSignature {
    keyid: String,
    sig: String,
}

/// Why a card was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CardError {
    /// Not a DSSE JSON envelope.
    #[error("not an identity card: {0}")]
    Format(String),
    /// Another payload type.
    #[error("payload type is {0:?}, expected {CARD_TYPE:?}")]
    PayloadType(String),
    /// A listed key is malformed or its id does not match it.
    #[error("signing key {0:?} on the card is malformed or does not match its id")]
    BadKey(String),
    /// No signature by a key the card lists verifies.
    #[error("the card is not signed by any key it lists (altered or forged)")]
    BadSignature,
    /// A field is invalid.
    #[error("{field}: {reason}")]
    Invalid {
        field: &'static str,
        /// Why.
        reason: String,
    },
}

impl IdentityCard {
    /// Signs the card with `key`, which must be one of its keys.
    pub fn sign(&self, key: &SigningKey) -> String {
        let payload = serde_json::to_vec(self).unwrap_or_default();
        let sig = key.sign(&pae(CARD_TYPE, &payload));
        let env = CardEnvelope {
            payload_type: CARD_TYPE.into(),
            payload: B64.encode(&payload),
            signatures: vec![CardSignature { keyid: key.id().to_string(), sig: B64.encode(sig.to_bytes()) }],
        };
        serde_json::to_string_pretty(&env).unwrap_or_default()
    }

    /// Parses a signed card and checks its self-signature and fields.
    ///
    /// # Errors
    ///
    /// [`CardError`].
    pub fn verify(text: &str) -> Result<IdentityCard, CardError> {
        let env: CardEnvelope = serde_json::from_str(text).map_err(|e| CardError::Format(e.to_string()))?;
        if env.payload_type != CARD_TYPE {
            return Err(CardError::PayloadType(env.payload_type));
        }
        let payload = B64.decode(env.payload.as_bytes()).map_err(|e| CardError::Format(format!("payload: {e}")))?;
        // Keys are read from the payload before its signature is checked only
        // to find the candidate key; nothing else is trusted until it verifies.
        let card: IdentityCard =
            serde_json::from_slice(&payload).map_err(|e| CardError::Format(format!("payload: {e}")))?;
        let message = pae(CARD_TYPE, &payload);
        let signed = env.signatures.iter().any(|s| {
            let Some(k) = card.signing_keys.iter().find(|k| k.key_id == s.keyid) else { return false };
            let Ok(vk) = k.public_key() else { return false };
            let Ok(sig) = B64.decode(s.sig.as_bytes()) else { return false };
            let Ok(sig) = <[u8; 64]>::try_from(sig.as_slice()) else { return false };
            k.revoked_at_ms.is_none() && vk.verify(&message, &Signature::from_bytes(&sig)).is_ok()
        });
        if !signed {
            return Err(CardError::BadSignature);
        }
        card.validate()?;
        Ok(card)
    }

    fn validate(&self) -> Result<(), CardError> {
        let invalid = |field, reason: &str| CardError::Invalid { field, reason: reason.into() };
        if self.version != 1 {
            return Err(invalid("version", "unsupported card version"));
        }
        crate::node_id::NodeId::check(&self.node_id).map_err(|r| invalid("node_id", &r.to_string()))?;
        if self.signing_keys.is_empty() {
            return Err(invalid("signing_keys", "no signing key"));
        }
        for k in &self.signing_keys {
            k.public_key()?;
        }
        if !self.tls_ca_pem.contains("-----BEGIN CERTIFICATE-----") {
            return Err(invalid("tls_ca_pem", "not a PEM certificate"));
        }
        if self.tls_name.is_empty() {
            return Err(invalid("tls_name", "empty"));
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn card(key: &SigningKey) -> IdentityCard {
        IdentityCard {
            version: 1,
            node_id: "ID".into(),
            federation_endpoint: "127.0.0.1:7700".into(),
            tls_name: "id.jaring.local".into(),
            tls_ca_pem: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n".into(),
            signing_keys: vec![CardKey {
                key_id: key.id().to_string(),
                public_key_hex: hex::encode(key.public().as_bytes()),
                valid_from_ms: 0,
                revoked_at_ms: None,
            }],
            issued_at_ms: 1,
        }
    }

    #[test]
    fn signed_card_verifies() {
        let key = SigningKey::generate(0);
        let text = card(&key).sign(&key);
        assert_eq!(IdentityCard::verify(&text).unwrap(), card(&key));
    }

    #[test]
    fn altered_or_foreign_signed_cards_are_refused() {
        let key = SigningKey::generate(0);
        let text = card(&key).sign(&key);
        let mut env: serde_json::Value = serde_json::from_str(&text).unwrap();
        let mut altered = card(&key);
        altered.federation_endpoint = "203.0.113.9:7700".into();
        env["payload"] = B64.encode(serde_json::to_vec(&altered).unwrap()).into();
        assert_eq!(IdentityCard::verify(&env.to_string()), Err(CardError::BadSignature));

        let other = SigningKey::generate(0);
        assert_eq!(IdentityCard::verify(&card(&key).sign(&other)), Err(CardError::BadSignature));
        assert!(matches!(IdentityCard::verify("{}"), Err(CardError::Format(_))));
    }
}
