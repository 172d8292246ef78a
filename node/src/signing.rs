//! Signing and verifying envelopes: where the domain meets the wire format.
//!
//! The signature covers the DSSE pre-authentication encoding
//! ([`envelope::pae`]) of the exact body bytes, so signing needs the body's
//! encoding ([`wire::encode_body`]) and verifying decodes only after the
//! bytes checked out ([`wire::decode_body`]). Everything else about
//! envelopes is plain domain ([`crate::envelope`]).

use std::collections::HashMap;

use ed25519_dalek::{Signature, Verifier};

use crate::envelope::{EnvelopeBody, PAYLOAD_TYPE, SignedEnvelope, VerifiedEnvelope, body_hash, pae};
use crate::keys::{KeyStatus, PublicKeyLookup, SigningKey};
use crate::model::UnixMillis;
use crate::wire::{self, WireError};

/// Why an envelope was not accepted. Each reason is distinct so audits and
/// metrics can tell them apart.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// No trusted key has this id.
    #[error("unknown signing key {key_id:?}")]
    UnknownKey {
        /// The key id the envelope named.
        key_id: String,
    },
    /// The signature is not 64 bytes.
    #[error("signature is {len} bytes, expected 64")]
    MalformedSignature {
        /// Its length.
        len: usize,
    },
    /// The signature does not verify over the body with the named key.
    #[error("signature does not verify with key {key_id:?}")]
    BadSignature {
        /// The key tried.
        key_id: String,
    },
    /// The body is not a valid `EnvelopeBody`.
    #[error("body does not decode: {0}")]
    Malformed(#[from] WireError),
    /// The key belongs to another node than the body's origin.
    #[error("body claims origin {claimed:?} but key {key_id:?} belongs to {owner:?}")]
    OriginMismatch {
        /// `origin` in the body.
        claimed: String,
        /// The key's owner.
        owner: String,
        /// The key.
        key_id: String,
    },
    /// The key was revoked before the body says it was signed.
    #[error("key {key_id:?} was revoked at {revoked_at_ms} ms, body signed at {signed_at_ms} ms")]
    KeyRevoked {
        /// The key.
        key_id: String,
        /// When it was revoked.
        revoked_at_ms: UnixMillis,
        /// `created_at_ms` of the body.
        signed_at_ms: UnixMillis,
    },
    /// The body is dated before the key became valid.
    #[error("key {key_id:?} is valid from {valid_from_ms} ms, body signed at {signed_at_ms} ms")]
    KeyNotYetValid {
        /// The key.
        key_id: String,
        /// Start of its validity.
        valid_from_ms: UnixMillis,
        /// `created_at_ms` of the body.
        signed_at_ms: UnixMillis,
    },
}

impl VerifyError {
    /// Short stable name, for metrics and audit.
    pub fn reason(&self) -> &'static str {
        match self {
            VerifyError::UnknownKey { .. } => "unknown_key",
            VerifyError::MalformedSignature { .. } => "malformed_signature",
            VerifyError::BadSignature { .. } => "bad_signature",
            VerifyError::Malformed(_) => "malformed_body",
            VerifyError::OriginMismatch { .. } => "origin_mismatch",
            VerifyError::KeyRevoked { .. } => "key_revoked",
            VerifyError::KeyNotYetValid { .. } => "key_not_yet_valid",
        }
    }
}

/// Signs a body: encodes it once and signs those bytes.
pub fn sign(body: &EnvelopeBody, key: &SigningKey) -> SignedEnvelope {
    let mut env = unsigned(body, key);
    env.signature = signature(&env.body, key);
    env
}

/// The envelope of a body before its signature is added with
/// [`signature`]: encoding is sequential (each body names the hash of the
/// previous one), signing can then run in parallel.
pub fn unsigned(body: &EnvelopeBody, key: &SigningKey) -> SignedEnvelope {
    SignedEnvelope { body: wire::encode_body(body), signature: Vec::new(), key_id: key.id().to_string() }
}

/// The signature of encoded body bytes.
pub fn signature(body: &[u8], key: &SigningKey) -> Vec<u8> {
    key.sign(&pae(PAYLOAD_TYPE, body)).to_bytes().to_vec()
}

/// Verifies an envelope's signature over its exact bytes, then decodes the
/// body and checks that the key belongs to the body's origin and was valid
/// when the body was signed.
///
/// # Errors
///
/// A distinct [`VerifyError`] for each reason.
pub fn verify(env: SignedEnvelope, keys: &impl PublicKeyLookup) -> Result<VerifiedEnvelope, VerifyError> {
    let known = keys.public_key(&env.key_id).ok_or_else(|| VerifyError::UnknownKey { key_id: env.key_id.clone() })?;
    let sig = signature_of(&env)?;
    known
        .key
        .verify(&pae(PAYLOAD_TYPE, &env.body), &sig)
        .map_err(|_| VerifyError::BadSignature { key_id: env.key_id.clone() })?;
    finish_verify(env, &known).map_err(|refused| refused.error)
}

/// Verifies many envelopes at once with ed25519 batch verification, falling
/// back to one-by-one checks to find the culprits when a batch fails.
/// Results are in input order.
///
/// # Acceptance set
///
/// [`verify`] is ed25519-dalek's `verify`: S must be canonical (below the
/// group order), R is compared byte for byte with the encoding of
/// `[S]B - [k]A` (so a non-canonical R is refused), and the equation is the
/// cofactorless one. It is not `verify_strict`: a small-order R, or a
/// small-order (weak) key, is accepted when that equation holds. Nothing in
/// the node calls `verify_strict`, and identity cards and key events do not
/// refuse weak keys (for which anyone can sign).
///
/// The batch equation (ed25519-dalek's `verify_batch`: cofactorless, with
/// 128-bit weights derived from the whole batch) holds for every batch that
/// [`verify`] accepts entry by entry. With an entry that [`verify`] refuses
/// it fails, except with negligible probability, when that entry's error
/// lies in the prime-order subgroup; an error of small order, which only
/// the holder of the key's secret can make, vanishes under a weight its
/// order divides (an even one, for order 2), so the batch may hold. To keep
/// the result what [`verify`] gives, the entries the batch could decide
/// differently are verified one by one instead: R encoded non-canonically
/// (the batch decodes it, [`verify`] refuses it) and keys with a
/// small-order component (checked once per key and batch). What remains:
/// an envelope whose signer put a small-order component into a canonically
/// encoded R may be accepted here, depending on the rest of the batch, where
/// [`verify`] refuses it. Both equations are the same in ed25519-dalek 2.2
/// and 3; the tests in `signing/batch_acceptance.rs` pin each case.
pub fn verify_batch(
    envs: Vec<SignedEnvelope>,
    keys: &impl PublicKeyLookup,
) -> Vec<Result<VerifiedEnvelope, VerifyError>> {
    verify_batch_keeping(envs, keys).into_iter().map(|r| r.map_err(|refused| refused.error)).collect()
}

/// An envelope that did not verify, handed back with the reason.
#[derive(Debug)]
pub struct Refused {
    pub error: VerifyError,
    pub envelope: SignedEnvelope,
}

/// [`verify_batch`], handing each refused envelope back with its error, so a
/// caller that reports or retries refusals needs no copy of the batch.
pub fn verify_batch_keeping(
    envs: Vec<SignedEnvelope>,
    keys: &impl PublicKeyLookup,
) -> Vec<Result<VerifiedEnvelope, Box<Refused>>> {
    let mut prepared = Vec::with_capacity(envs.len());
    for env in envs {
        let checked = match keys.public_key(&env.key_id) {
            None => Err(VerifyError::UnknownKey { key_id: env.key_id.clone() }),
            Some(known) => signature_of(&env).map(|sig| (known, sig)),
        };
        prepared.push((env, checked));
    }
    let mut torsion_free = HashMap::new();
    let batched: Vec<bool> = prepared
        .iter()
        .map(|(_, checked)| checked.as_ref().is_ok_and(|(known, sig)| batchable(known, sig, &mut torsion_free)))
        .collect();
    let candidates: Vec<usize> = (0..prepared.len()).filter(|&i| batched[i]).collect();
    let batch_ok = {
        let messages: Vec<Vec<u8>> = candidates.iter().map(|&i| pae(PAYLOAD_TYPE, &prepared[i].0.body)).collect();
        let mut msgs: Vec<&[u8]> = Vec::with_capacity(candidates.len());
        let mut sigs = Vec::with_capacity(candidates.len());
        let mut vks = Vec::with_capacity(candidates.len());
        for (n, &i) in candidates.iter().enumerate() {
            if let (_, Ok((known, sig))) = &prepared[i] {
                msgs.push(&messages[n]);
                sigs.push(*sig);
                vks.push(known.key);
            }
        }
        !candidates.is_empty() && ed25519_dalek::verify_batch(&msgs, &sigs, &vks).is_ok()
    };
    prepared
        .into_iter()
        .zip(batched)
        .map(|((env, checked), batched)| {
            let (known, sig) = match checked {
                Ok(c) => c,
                Err(error) => return Err(Box::new(Refused { error, envelope: env })),
            };
            if !(batch_ok && batched) && known.key.verify(&pae(PAYLOAD_TYPE, &env.body), &sig).is_err() {
                let error = VerifyError::BadSignature { key_id: env.key_id.clone() };
                return Err(Box::new(Refused { error, envelope: env }));
            }
            finish_verify(env, &known)
        })
        .collect()
}

/// Whether the batch equation decides this signature as [`verify`] does
/// (see [`verify_batch`]): R canonically encoded, the key without a
/// small-order component. `torsion_free` remembers the keys seen.
fn batchable(known: &KeyStatus, sig: &Signature, torsion_free: &mut HashMap<[u8; 32], bool>) -> bool {
    canonical_point_encoding(sig.r_bytes())
        && *torsion_free.entry(known.key.to_bytes()).or_insert_with(|| known.key.to_edwards().is_torsion_free())
}

/// Whether `bytes` is the encoding RFC 8032 (5.1.2) gives the point it
/// decodes to: y below p = 2^255 - 19, and the sign bit clear when x is 0
/// (y = 1 or y = p - 1). Decoding accepts the other encodings too.
fn canonical_point_encoding(bytes: &[u8; 32]) -> bool {
    const ONE: [u8; 32] = {
        let mut one = [0; 32];
        one[0] = 1;
        one
    };
    const P_MINUS_ONE: [u8; 32] = {
        let mut y = [0xff; 32];
        y[0] = 0xec;
        y[31] = 0x7f;
        y
    };
    let mut y = *bytes;
    y[31] &= 0x7f;
    let sign = bytes[31] & 0x80 != 0;
    let at_least_p = y[31] == 0x7f && y[1..31].iter().all(|&b| b == 0xff) && y[0] >= 0xed;
    !at_least_p && !(sign && (y == ONE || y == P_MINUS_ONE))
}

fn signature_of(env: &SignedEnvelope) -> Result<Signature, VerifyError> {
    let bytes: [u8; 64] = env
        .signature
        .as_slice()
        .try_into()
        .map_err(|_| VerifyError::MalformedSignature { len: env.signature.len() })?;
    Ok(Signature::from_bytes(&bytes))
}

fn finish_verify(env: SignedEnvelope, known: &KeyStatus) -> Result<VerifiedEnvelope, Box<Refused>> {
    match checked_body(&env, known) {
        Ok(body) => {
            let hash = body_hash(&env.body);
            Ok(VerifiedEnvelope { raw: env, body, hash })
        }
        Err(error) => Err(Box::new(Refused { error, envelope: env })),
    }
}

/// The decoded body of an envelope whose signature checked out, if its key
/// belongs to the body's origin and was valid when the body was signed.
fn checked_body(env: &SignedEnvelope, known: &KeyStatus) -> Result<EnvelopeBody, VerifyError> {
    let body = wire::decode_body(&env.body)?;
    let key_id = || env.key_id.clone();
    if body.origin != known.owner {
        return Err(VerifyError::OriginMismatch { claimed: body.origin, owner: known.owner.clone(), key_id: key_id() });
    }
    if let Some(revoked_at_ms) = known.revoked_at_ms
        && body.created_at_ms >= revoked_at_ms
    {
        return Err(VerifyError::KeyRevoked { key_id: key_id(), revoked_at_ms, signed_at_ms: body.created_at_ms });
    }
    if body.created_at_ms < known.valid_from_ms {
        return Err(VerifyError::KeyNotYetValid {
            key_id: key_id(),
            valid_from_ms: known.valid_from_ms,
            signed_at_ms: body.created_at_ms,
        });
    }
    Ok(body)
}

#[cfg(test)]
mod batch_acceptance;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::envelope::{Entry, GENESIS_HASH, Indicator, Value, indicator_id};
    use crate::keys::KeyRing;
    use crate::model::{Action, Category, Confidence, Distribution, Kind, Tlp};

    fn body(origin: &str, seq: u64) -> EnvelopeBody {
        EnvelopeBody {
            origin: origin.into(),
            origin_seq: seq,
            prev_hash: GENESIS_HASH,
            created_at_ms: 1_700_000_000_000,
            entry: Entry::Indicator(Indicator {
                id: indicator_id(origin, Kind::Domain, "loker-kerja.co.id"),
                kind: Kind::Domain,
                value: Value::Plain("loker-kerja.co.id".into()),
                categories: vec![Category::JobScam],
                confidence: Confidence::try_from(80).unwrap(),
                tlp: Tlp::Green,
                distribution: Distribution::Federation,
                first_seen_ms: 1_700_000_000_000,
                last_seen_ms: 1_700_000_000_000,
                valid_until_ms: None,
                action: Action::Upsert,
                version: 1,
                description: None,
                source_refs: vec![],
                reach: vec![],
            }),
        }
    }

    fn ring_with(owner: &str, key: &SigningKey) -> KeyRing {
        let mut ring = KeyRing::default();
        ring.insert(owner, key.public(), 0);
        ring
    }

    #[test]
    fn good_envelope_verifies() {
        let key = SigningKey::generate(0);
        let env = sign(&body("ID", 1), &key);
        let v = verify(env.clone(), &ring_with("ID", &key)).unwrap();
        assert_eq!(v.body, body("ID", 1));
        assert_eq!(v.hash, body_hash(&env.body));
    }

    #[test]
    fn each_failure_has_its_own_error() {
        let key = SigningKey::generate(0);
        let other = SigningKey::generate(0);
        let ring = ring_with("ID", &key);
        let env = sign(&body("ID", 1), &key);

        let mut tampered = env.clone();
        let last = tampered.body.len() - 1;
        tampered.body[last] ^= 1;
        assert_eq!(verify(tampered, &ring).unwrap_err(), VerifyError::BadSignature { key_id: key.id().to_string() });

        let mut wrong_key = sign(&body("ID", 1), &other);
        wrong_key.key_id = key.id().to_string();
        assert_eq!(verify(wrong_key, &ring).unwrap_err(), VerifyError::BadSignature { key_id: key.id().to_string() });

        let mut truncated = env.clone();
        truncated.signature.truncate(63);
        assert_eq!(verify(truncated, &ring).unwrap_err(), VerifyError::MalformedSignature { len: 63 });

        let unknown = sign(&body("ID", 1), &other);
        assert_eq!(verify(unknown, &ring).unwrap_err(), VerifyError::UnknownKey { key_id: other.id().to_string() });

        let mut ring2 = ring_with("ID", &key);
        ring2.insert("VN", other.public(), 0);
        let claimed = sign(&body("ID", 1), &other);
        assert!(matches!(verify(claimed, &ring2).unwrap_err(), VerifyError::OriginMismatch { .. }));
    }

    #[test]
    fn revoked_key_refuses_later_signatures_only() {
        let key = SigningKey::generate(0);
        let mut ring = ring_with("ID", &key);
        ring.revoke(key.id().as_str(), 1_700_000_000_001);
        assert!(verify(sign(&body("ID", 1), &key), &ring).is_ok());
        let mut late = body("ID", 2);
        late.created_at_ms = 1_700_000_000_001;
        assert!(matches!(verify(sign(&late, &key), &ring).unwrap_err(), VerifyError::KeyRevoked { .. }));
    }

    #[test]
    fn batch_finds_the_bad_one() {
        let key = SigningKey::generate(0);
        let ring = ring_with("ID", &key);
        let mut envs: Vec<_> = (1..=10).map(|s| sign(&body("ID", s), &key)).collect();
        envs[4].signature[0] ^= 1;
        let out = verify_batch(envs, &ring);
        for (i, r) in out.iter().enumerate() {
            assert_eq!(r.is_ok(), i != 4, "entry {i}");
        }
    }

    #[test]
    fn random_bytes_are_refused_not_panicking() {
        let key = SigningKey::generate(0);
        let ring = ring_with("ID", &key);
        let junk = SignedEnvelope { body: vec![0xff; 40], signature: vec![0; 64], key_id: key.id().to_string() };
        assert!(matches!(verify(junk, &ring).unwrap_err(), VerifyError::BadSignature { .. }));
        // Correctly signed garbage is refused at decode time.
        let garbage = vec![0xff, 0xff, 0xff];
        let sig = key.sign(&pae(PAYLOAD_TYPE, &garbage));
        let env = SignedEnvelope { body: garbage, signature: sig.to_bytes().to_vec(), key_id: key.id().to_string() };
        assert!(matches!(verify(env, &ring).unwrap_err(), VerifyError::Malformed(_)));
    }

    #[test]
    fn feedback_envelopes_round_trip_signed_and_refuse_broken_rules() {
        use crate::feedback::{Feedback, FeedbackType};
        let key = SigningKey::generate(0);
        let mut ring = KeyRing::default();
        ring.insert("VN", key.public(), 0);
        let mut f = Feedback {
            kind: Kind::Email,
            value: Value::Keyed { epoch: 1, digest: "ab".repeat(32) },
            feedback_type: FeedbackType::Actioned,
            indicator_id: Some("3f2a".into()),
            indicator_origin: Some("ID".into()),
            categories: vec![Category::JobScam, Category::Phishing],
            tlp: Tlp::Amber,
            distribution: Distribution::Direct,
            platform: Some("registrar".into()),
            action_taken: Some("suspended".into()),
            observed_at_ms: 1_700_000_000_000,
            reason: None,
            note: Some("case 12".into()),
            referred_to: None,
            case_seq: Some(4),
            due_at_ms: None,
            case_ref: None,
        };
        let body = |f: Feedback| EnvelopeBody {
            origin: "VN".into(),
            origin_seq: 1,
            prev_hash: GENESIS_HASH,
            created_at_ms: 1_700_000_000_000,
            entry: Entry::Feedback(Box::new(f)),
        };
        let v = verify(sign(&body(f.clone()), &key), &ring).unwrap();
        assert_eq!(v.body, body(f.clone()), "decodes to exactly what was signed");
        // A signed body that breaks a feedback rule is refused at decode time.
        f.platform = None;
        let err = verify(sign(&body(f), &key), &ring).unwrap_err();
        assert!(matches!(err, VerifyError::Malformed(crate::wire::WireError::Invalid { field: "platform", .. })));
    }
}
