//! Wire envelopes: `decode_envelope`, `decode_body`, `verify` and
//! `verify_batch` against a fixed key ring (an active key of origin `ID`
//! valid from a date, and a revoked key of origin `VN`).
//!
//! Properties:
//! - nothing panics;
//! - a body that decodes survives `encode_body` -> `decode_body` unchanged;
//! - `verify` of the envelope as received accepts only a body that
//!   `decode_body` accepts, returns that body, and hashes the exact bytes;
//! - the same body re-signed by each fixed key verifies exactly when it
//!   decodes, names the key's owner as origin and is dated inside the key's
//!   validity, and otherwise fails with the one matching error;
//! - `verify_batch` gives, entry by entry, what `verify` gives alone (for
//!   a batch mixing the received envelope, the re-signed ones and a copy
//!   with a corrupted signature);
//! - `peek_origin` of the log bytes of an envelope never names another
//!   origin than the one `decode_body` reads (it may name none, e.g. past
//!   an unknown group field, and the full decode then decides).
#![no_main]

use jaring_fuzz::{KEYS, RING};
use jaring_node::envelope::{VerifiedEnvelope, body_hash};
use jaring_node::signing::{VerifyError, verify, verify_batch};
use jaring_node::wire::{decode_body, decode_envelope, encode_body, encode_envelope, peek_origin};
use libfuzzer_sys::fuzz_target;

fn same(a: &Result<VerifiedEnvelope, VerifyError>, b: &Result<VerifiedEnvelope, VerifyError>) -> bool {
    match (a, b) {
        (Ok(a), Ok(b)) => a.raw == b.raw && a.body == b.body && a.hash == b.hash,
        (Err(a), Err(b)) => a == b,
        _ => false,
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(env) = decode_envelope(data) else { return };

    let decoded = decode_body(&env.body);
    if let Ok(body) = &decoded {
        assert_eq!(decode_body(&encode_body(body)).as_ref(), Ok(body), "body does not survive re-encoding");
        let stored = encode_envelope(&env);
        let peeked = peek_origin(&stored);
        assert!(peeked.is_none_or(|o| o == body.origin), "peek_origin read {peeked:?}, the body says {}", body.origin);
    }

    let received = verify(env.clone(), &*RING);
    if let Ok(v) = &received {
        assert_eq!(Ok(&v.body), decoded.as_ref(), "verify accepted a body decode_body refuses");
        assert_eq!(v.hash, body_hash(&env.body));
        assert!(v.raw == env, "verify changed the envelope");
    }

    // Signed correctly: the batch equation holds unless the received
    // envelope is bad. With corrupted copies: it fails, each is checked.
    let mut good = (vec![env.clone()], vec![received]);
    let mut mixed = (Vec::new(), Vec::new());
    for key in KEYS.iter() {
        let signed = key.sign_body(env.body.clone());
        let got = verify(signed.clone(), &*RING);
        let reason = match &decoded {
            Err(_) => "malformed_body",
            Ok(b) if b.origin != key.owner => "origin_mismatch",
            Ok(b) if key.revoked_at_ms.is_some_and(|at| b.created_at_ms >= at) => "key_revoked",
            Ok(b) if b.created_at_ms < key.valid_from_ms => "key_not_yet_valid",
            Ok(_) => "ok",
        };
        match &got {
            Ok(v) => {
                assert_eq!(reason, "ok", "re-signed by {} verified", key.key_id);
                assert_eq!(Ok(&v.body), decoded.as_ref());
            }
            Err(e) => assert_eq!(e.reason(), reason, "re-signed by {}: {e}", key.key_id),
        }
        if let Err(VerifyError::Malformed(e)) = &got {
            assert_eq!(Err(e), decoded.as_ref().map(|_| ()), "a different decode error");
        }
        let mut corrupted = signed.clone();
        if let Some(b) = corrupted.signature.get_mut(usize::from(data.first().copied().unwrap_or(0)) % 64) {
            *b ^= 0x01;
        }
        let corrupted_alone = verify(corrupted.clone(), &*RING);
        assert!(corrupted_alone.is_err(), "a corrupted signature verified");
        good.0.push(signed.clone());
        good.1.push(got.clone());
        mixed.0.extend([signed, corrupted]);
        mixed.1.extend([got, corrupted_alone]);
    }

    for (batch, alone) in [good, mixed] {
        let batched = verify_batch(batch, &*RING);
        assert_eq!(batched.len(), alone.len());
        for (i, (b, a)) in batched.iter().zip(&alone).enumerate() {
            assert!(same(b, a), "entry {i}: verify_batch {:?} but verify {:?}", b.as_ref().err(), a.as_ref().err());
        }
    }
});
