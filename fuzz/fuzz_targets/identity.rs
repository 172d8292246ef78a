//! Identity cards: `IdentityCard::verify` on the input as a whole signed
//! card, and on the input as the payload of a card signed by a fixed key
//! (so mutations of the payload reach the checks behind the signature).
//!
//! Properties:
//! - nothing panics;
//! - an accepted card is well formed (version 1, a valid node id, at least
//!   one key and every key matching its id, a PEM CA, a TLS name) and
//!   survives serializing and parsing back unchanged;
//! - a payload signed by the fixed key is refused as unsigned exactly when
//!   the payload's first entry with that key id is missing, malformed or
//!   revoked; a payload that is not a card is a format error; an accepted
//!   payload is returned as parsed.
#![no_main]

use jaring_fuzz::KEYS;
use jaring_node::identity::{CardError, IdentityCard};
use jaring_node::node_id::NodeId;
use libfuzzer_sys::fuzz_target;

fn check_accepted(card: &IdentityCard) {
    assert_eq!(card.version, 1);
    assert!(NodeId::check(&card.node_id).is_ok(), "{:?}", card.node_id);
    assert!(!card.signing_keys.is_empty());
    for k in &card.signing_keys {
        assert!(k.public_key().is_ok(), "accepted card with bad key {:?}", k.key_id);
    }
    assert!(card.tls_ca_pem.contains("-----BEGIN CERTIFICATE-----"));
    assert!(!card.tls_name.is_empty());
    let Ok(json) = serde_json::to_vec(card) else { panic!("an accepted card does not serialize") };
    let back: Result<IdentityCard, _> = serde_json::from_slice(&json);
    assert_eq!(back.ok().as_ref(), Some(card), "card does not survive a JSON round trip");
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(card) = IdentityCard::verify(text)
    {
        check_accepted(&card);
    }

    let key = &KEYS[0];
    let result = IdentityCard::verify(&key.sign_card_payload(data));
    let parsed: Result<IdentityCard, _> = serde_json::from_slice(data);
    let Ok(parsed) = parsed else {
        assert!(matches!(result, Err(CardError::Format(_))), "payload that is not a card: {result:?}");
        return;
    };
    let signer_listed = parsed
        .signing_keys
        .iter()
        .find(|k| k.key_id == key.key_id)
        .is_some_and(|k| k.revoked_at_ms.is_none() && k.public_key().is_ok());
    match &result {
        Ok(card) => {
            assert!(signer_listed, "accepted a card that does not list its signer");
            assert_eq!(card, &parsed);
            check_accepted(card);
        }
        Err(CardError::BadSignature) => assert!(!signer_listed, "signed by a key the card lists, yet refused"),
        Err(CardError::Invalid { .. } | CardError::BadKey(_)) => assert!(signer_listed, "{result:?}"),
        Err(e) => panic!("unexpected error for a card payload: {e}"),
    }
});
