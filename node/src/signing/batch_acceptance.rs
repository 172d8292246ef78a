//! The acceptance set of [`verify_batch`] against [`verify`] (documented on
//! [`verify_batch`]) on signatures no honest signer makes: non-canonical S,
//! small-order R, R with a small-order component, non-canonical R, weak
//! keys and keys with a small-order component, alone and in batches that
//! mix them with valid and invalid envelopes.
//!
//! Signatures are built by hand from the secret scalar (RFC 8032, 5.1.6:
//! `S = r + k a`, `k = SHA-512(R || A || M)`), with fixed secrets and nonces
//! so that every run sees the same batch weights.

use curve25519_dalek::constants::EIGHT_TORSION;
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::Identity;
use ed25519_dalek::{Signer as _, VerifyingKey};
use sha2::{Digest as _, Sha512};

use super::*;
use crate::envelope::{Entry, GENESIS_HASH, Indicator, Value, indicator_id};
use crate::keys::{KeyRing, key_id_of};
use crate::model::{Action, Category, Confidence, Distribution, Kind, Tlp};

/// The group order l (RFC 8032, 5.1), little-endian.
const GROUP_ORDER: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

/// The identity point encoded with y = 1 + p instead of y = 1.
const IDENTITY_Y_PLUS_P: [u8; 32] = {
    let mut y = [0xff; 32];
    y[0] = 0xee;
    y[31] = 0x7f;
    y
};

/// The identity point encoded with the sign bit of x = 0 set.
const IDENTITY_NEGATIVE_ZERO: [u8; 32] = {
    let mut y = [0; 32];
    y[0] = 1;
    y[31] = 0x80;
    y
};

fn body_bytes(origin: &str, seq: u64) -> Vec<u8> {
    let value = format!("loker-{seq}.co.id");
    wire::encode_body(&EnvelopeBody {
        origin: origin.into(),
        origin_seq: seq,
        prev_hash: GENESIS_HASH,
        created_at_ms: 1_700_000_000_000,
        entry: Entry::Indicator(Indicator {
            id: indicator_id(origin, Kind::Domain, &value),
            kind: Kind::Domain,
            value: Value::Plain(value),
            categories: vec![Category::JobScam],
            confidence: Confidence::try_from(80).expect("80 is a confidence"),
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
    })
}

/// A signer that can put what it likes into R and into its public key.
struct Signer {
    /// Secret scalar a.
    secret: Scalar,
    /// Public point A: `[a]B`, plus a small-order point for a crafted key.
    public: EdwardsPoint,
    dalek: ed25519_dalek::SigningKey,
}

impl Signer {
    fn new(seed: u8) -> Signer {
        let dalek = ed25519_dalek::SigningKey::from_bytes(&[seed; 32]);
        Signer { secret: dalek.to_scalar(), public: dalek.verifying_key().to_edwards(), dalek }
    }

    /// The same secret with `torsion` added to the public key.
    fn with_public_torsion(seed: u8, torsion: EdwardsPoint) -> Signer {
        let mut signer = Signer::new(seed);
        signer.public += torsion;
        signer
    }

    fn key(&self) -> VerifyingKey {
        VerifyingKey::from(self.public)
    }

    fn key_id(&self) -> String {
        key_id_of(self.key().as_bytes()).0
    }

    /// An envelope signed the ordinary way (ed25519-dalek's `sign`).
    fn honest(&self, body: Vec<u8>) -> SignedEnvelope {
        let signature = self.dalek.sign(&pae(PAYLOAD_TYPE, &body)).to_bytes().to_vec();
        SignedEnvelope { body, signature, key_id: self.key_id() }
    }

    /// An envelope whose R is encoded as `r_bytes`, with S = r + k a, for
    /// the r given: the equation holds up to whatever `r_bytes` decodes to
    /// beyond `[r]B`.
    fn crafted(&self, body: Vec<u8>, r: Scalar, r_bytes: [u8; 32]) -> SignedEnvelope {
        let k = challenge(&r_bytes, self.key().as_bytes(), &pae(PAYLOAD_TYPE, &body));
        let s = r + k * self.secret;
        let mut signature = r_bytes.to_vec();
        signature.extend_from_slice(&s.to_bytes());
        SignedEnvelope { body, signature, key_id: self.key_id() }
    }

    /// An envelope with R = [r]B + `torsion`, canonically encoded.
    fn with_r_torsion(&self, body: Vec<u8>, r: Scalar, torsion: EdwardsPoint) -> SignedEnvelope {
        self.crafted(body, r, (EdwardsPoint::mul_base(&r) + torsion).compress().0)
    }
}

/// k = SHA-512(R || A || M) mod l.
fn challenge(r: &[u8; 32], a: &[u8; 32], message: &[u8]) -> Scalar {
    let mut h = Sha512::new();
    h.update(r);
    h.update(a);
    h.update(message);
    let mut wide = [0u8; 64];
    wide.copy_from_slice(&h.finalize());
    Scalar::from_bytes_mod_order_wide(&wide)
}

fn ring(signers: &[(&str, &Signer)]) -> KeyRing {
    let mut ring = KeyRing::default();
    for (owner, s) in signers {
        ring.insert(owner, s.key(), 0);
    }
    ring
}

fn same(a: &Result<VerifiedEnvelope, VerifyError>, b: &Result<VerifiedEnvelope, VerifyError>) -> bool {
    match (a, b) {
        (Ok(a), Ok(b)) => a.raw == b.raw && a.body == b.body && a.hash == b.hash,
        (Err(a), Err(b)) => a == b,
        _ => false,
    }
}

/// `verify_batch` of `envs`, asserted equal entry by entry to `verify`.
fn batch_as_alone(envs: &[SignedEnvelope], ring: &KeyRing) -> Vec<Result<VerifiedEnvelope, VerifyError>> {
    let batched = verify_batch(envs.to_vec(), ring);
    assert_eq!(batched.len(), envs.len());
    for (i, (b, env)) in batched.iter().zip(envs).enumerate() {
        let alone = verify(env.clone(), ring);
        assert!(same(b, &alone), "entry {i}: verify_batch {:?}, verify {:?}", b.as_ref().err(), alone.as_ref().err());
    }
    batched
}

/// ed25519-dalek's own batch equation over the envelopes' signed bytes.
fn raw_batch_holds(envs: &[SignedEnvelope], ring: &KeyRing) -> bool {
    let messages: Vec<Vec<u8>> = envs.iter().map(|e| pae(PAYLOAD_TYPE, &e.body)).collect();
    let messages: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
    let sigs: Vec<Signature> = envs.iter().map(|e| signature_of(e).expect("64-byte signature")).collect();
    let keys: Vec<VerifyingKey> =
        envs.iter().map(|e| ring.public_key(&e.key_id).expect("a key of the ring").key).collect();
    ed25519_dalek::verify_batch(&messages, &sigs, &keys).is_ok()
}

fn bad_signature(env: &SignedEnvelope) -> VerifyError {
    VerifyError::BadSignature { key_id: env.key_id.clone() }
}

#[test]
fn the_canonical_encoding_check_agrees_with_the_curve_crate() {
    let mut encodings: Vec<[u8; 32]> = Vec::new();
    for low in 0..=40u8 {
        // y = low, and y = 2^255 - 1 - low (around p = 2^255 - 19).
        let mut small = [0u8; 32];
        small[0] = low;
        let mut high = [0xffu8; 32];
        high[0] = 0xff - low;
        high[31] = 0x7f;
        for mut y in [small, high] {
            encodings.push(y);
            y[31] |= 0x80;
            encodings.push(y);
        }
    }
    encodings.extend((1..20u64).map(|n| EdwardsPoint::mul_base(&Scalar::from(n)).compress().0));
    encodings.extend(EIGHT_TORSION.iter().map(|t| t.compress().0));
    let mut non_canonical = 0;
    for bytes in &encodings {
        let Some(point) = CompressedEdwardsY(*bytes).decompress() else { continue };
        let canonical = point.compress().0 == *bytes;
        assert_eq!(canonical_point_encoding(bytes), canonical, "{}", hex::encode(bytes));
        non_canonical += usize::from(!canonical);
    }
    assert!(!canonical_point_encoding(&IDENTITY_Y_PLUS_P));
    assert!(!canonical_point_encoding(&IDENTITY_NEGATIVE_ZERO));
    assert!(non_canonical >= 4, "the set has non-canonical encodings of points: {non_canonical}");
}

#[test]
fn mixed_batches_give_what_verify_gives() {
    let id = Signer::new(1);
    let vn = Signer::new(2);
    let stranger = Signer::new(3);
    let ring = ring(&[("ID", &id), ("VN", &vn)]);
    assert_eq!(Scalar::from_canonical_bytes(GROUP_ORDER).into_option(), None);
    assert_eq!(Scalar::from_bytes_mod_order(GROUP_ORDER), Scalar::ZERO);

    let valid: Vec<_> = (1..=3).map(|s| id.honest(body_bytes("ID", s))).collect();
    let mut tampered = id.honest(body_bytes("ID", 4));
    let last = tampered.body.len() - 1;
    tampered.body[last] ^= 1;
    let mut flipped = id.honest(body_bytes("ID", 5));
    flipped.signature[40] ^= 0x10;
    // S + l: the same S modulo l, not canonical.
    let mut s_plus_l = id.honest(body_bytes("ID", 6));
    let mut carry = 0u16;
    for (b, l) in s_plus_l.signature[32..].iter_mut().zip(GROUP_ORDER) {
        let sum = u16::from(*b) + u16::from(l) + carry;
        *b = sum as u8;
        carry = sum >> 8;
    }
    assert_eq!(carry, 0);
    let mut s_high_bits = id.honest(body_bytes("ID", 7));
    s_high_bits.signature[63] |= 0xe0;
    let unknown = stranger.honest(body_bytes("ID", 8));
    let mut truncated = id.honest(body_bytes("ID", 9));
    truncated.signature.truncate(63);
    let claimed = vn.honest(body_bytes("ID", 10));

    assert!(raw_batch_holds(&valid, &ring));
    assert!(!raw_batch_holds(&[valid[0].clone(), s_plus_l.clone()], &ring));
    for env in &valid {
        assert!(batch_as_alone(std::slice::from_ref(env), &ring)[0].is_ok());
    }
    let all_valid = batch_as_alone(&valid, &ring);
    assert!(all_valid.iter().all(Result::is_ok));

    let mixed = vec![
        valid[0].clone(),
        tampered.clone(),
        valid[1].clone(),
        flipped.clone(),
        s_plus_l.clone(),
        s_high_bits.clone(),
        unknown.clone(),
        truncated,
        claimed.clone(),
        valid[2].clone(),
    ];
    let out = batch_as_alone(&mixed, &ring);
    let errors: Vec<_> = out.iter().map(|r| r.as_ref().err().map(VerifyError::reason)).collect();
    assert_eq!(
        errors,
        [
            None,
            Some("bad_signature"),
            None,
            Some("bad_signature"),
            Some("bad_signature"),
            Some("bad_signature"),
            Some("unknown_key"),
            Some("malformed_signature"),
            Some("origin_mismatch"),
            None,
        ]
    );
    assert_eq!(out[4].as_ref().err(), Some(&bad_signature(&s_plus_l)));
}

#[test]
fn a_small_order_r_verifies_when_the_equation_holds() {
    // R = identity, S = k a: [S]B - [k]A = identity, cofactorless and exact.
    // verify_strict would refuse it (small-order R); verify and the batch
    // accept it.
    let id = Signer::new(1);
    let ring = ring(&[("ID", &id)]);
    let env = id.crafted(body_bytes("ID", 1), Scalar::ZERO, EdwardsPoint::identity().compress().0);
    let message = pae(PAYLOAD_TYPE, &env.body);
    let sig = signature_of(&env).expect("64 bytes");
    assert!(id.key().verify_strict(&message, &sig).is_err());
    assert!(verify(env.clone(), &ring).is_ok());
    assert!(raw_batch_holds(std::slice::from_ref(&env), &ring));
    let out = batch_as_alone(&[id.honest(body_bytes("ID", 2)), env, id.honest(body_bytes("ID", 3))], &ring);
    assert!(out.iter().all(Result::is_ok));
}

#[test]
fn a_non_canonical_r_is_refused_though_the_batch_equation_holds() {
    // R = the identity encoded another way, S = k a: the batch decodes R to
    // the identity and its equation holds exactly; verify compares the bytes
    // of R and refuses. verify_batch checks such an R one by one.
    let id = Signer::new(1);
    let ring = ring(&[("ID", &id)]);
    for (n, r_bytes) in [IDENTITY_Y_PLUS_P, IDENTITY_NEGATIVE_ZERO].into_iter().enumerate() {
        assert_eq!(CompressedEdwardsY(r_bytes).decompress(), Some(EdwardsPoint::identity()));
        let seq = 10 * n as u64;
        let env = id.crafted(body_bytes("ID", seq + 1), Scalar::ZERO, r_bytes);
        assert!(raw_batch_holds(std::slice::from_ref(&env), &ring), "the batch equation holds");
        assert_eq!(verify(env.clone(), &ring).err(), Some(bad_signature(&env)));
        let alone = batch_as_alone(std::slice::from_ref(&env), &ring);
        assert_eq!(alone[0].as_ref().err(), Some(&bad_signature(&env)));
        let with_valid = [id.honest(body_bytes("ID", seq + 2)), env.clone(), id.honest(body_bytes("ID", seq + 3))];
        assert!(raw_batch_holds(&with_valid, &ring));
        let out = batch_as_alone(&with_valid, &ring);
        assert!(out[0].is_ok() && out[2].is_ok());
        assert_eq!(out[1].as_ref().err(), Some(&bad_signature(&env)));
    }
}

#[test]
fn a_weak_key_verifies_anyones_signature() {
    // A = identity: [S]B - [k]A = [S]B for any k, so (R = [S]B, S) verifies
    // for any body, made without a secret. The ring takes such a key (as
    // with ed25519-dalek 2); verify and verify_batch agree on it.
    let weak = VerifyingKey::from_bytes(&EdwardsPoint::identity().compress().0).expect("the identity decodes");
    assert!(weak.is_weak());
    let honest = Signer::new(1);
    let mut ring = ring(&[("VN", &honest)]);
    let weak_id = ring.insert("ID", weak, 0).0;
    let forged: Vec<_> = (1..=3u64)
        .map(|seq| {
            let s = Scalar::from(1_000 + seq);
            let mut signature = EdwardsPoint::mul_base(&s).compress().0.to_vec();
            signature.extend_from_slice(&s.to_bytes());
            SignedEnvelope { body: body_bytes("ID", seq), signature, key_id: weak_id.clone() }
        })
        .collect();
    let mut batch = forged.clone();
    batch.insert(1, honest.honest(body_bytes("VN", 1)));
    let out = batch_as_alone(&batch, &ring);
    assert!(out.iter().all(Result::is_ok), "{:?}", out.iter().map(|r| r.as_ref().err()).collect::<Vec<_>>());
}

#[test]
fn a_key_with_a_small_order_component_is_checked_one_by_one() {
    // A = [a]B + T (T of order 8): an ordinarily made signature (R = [r]B,
    // S = r + k a) leaves [k]T in the equation. verify refuses it unless
    // 8 divides k; the batch equation also accepts it when 8 divides the
    // weight times k. verify_batch checks such a key's envelopes one by one.
    let crafted = Signer::with_public_torsion(1, EIGHT_TORSION[1]);
    assert!(!crafted.key().to_edwards().is_torsion_free());
    let honest = Signer::new(2);
    let ring = ring(&[("ID", &crafted), ("VN", &honest)]);
    let mut batch_would_accept = 0;
    let mut verify_accepts = 0;
    for seq in 1..=64u64 {
        let r = Scalar::from(seq * 7919);
        let env = crafted.crafted(body_bytes("ID", seq), r, EdwardsPoint::mul_base(&r).compress().0);
        let alone = verify(env.clone(), &ring);
        verify_accepts += usize::from(alone.is_ok());
        if alone.is_err() && raw_batch_holds(std::slice::from_ref(&env), &ring) {
            batch_would_accept += 1;
        }
        batch_as_alone(std::slice::from_ref(&env), &ring);
        batch_as_alone(&[honest.honest(body_bytes("VN", seq)), env], &ring);
    }
    assert!(batch_would_accept > 0, "some envelope the batch equation takes and verify refuses");
    assert!(verify_accepts > 0 && verify_accepts < 64, "verify takes those where 8 divides k: {verify_accepts}");
}

#[test]
fn a_signers_small_order_component_in_r_may_pass_the_batch() {
    // The one documented difference: R = [r]B + T (T of order 2, R
    // canonically encoded) with a torsion-free key. verify refuses it; the
    // batch equation holds when the envelope's weight is even, and then
    // verify_batch accepts it. Made only with the key's secret.
    let id = Signer::new(1);
    let ring = ring(&[("ID", &id)]);
    let order_two = EIGHT_TORSION[4];
    assert_ne!(order_two, EdwardsPoint::identity());
    assert_eq!(order_two + order_two, EdwardsPoint::identity());
    let mut accepted_by_batch = 0;
    for seq in 1..=32u64 {
        let env = id.with_r_torsion(body_bytes("ID", seq), Scalar::from(seq * 104_729), order_two);
        assert_eq!(verify(env.clone(), &ring).err(), Some(bad_signature(&env)));
        let holds = raw_batch_holds(std::slice::from_ref(&env), &ring);
        let alone = verify_batch(vec![env.clone()], &ring);
        assert_eq!(alone[0].is_ok(), holds, "seq {seq}: verify_batch follows the batch equation");
        accepted_by_batch += usize::from(holds);
        // With an envelope that fails, the batch fails and each is checked.
        let mut broken = id.honest(body_bytes("ID", 100 + seq));
        broken.signature[0] ^= 1;
        let out = batch_as_alone(&[env.clone(), broken], &ring);
        assert_eq!(out[0].as_ref().err(), Some(&bad_signature(&env)));
    }
    assert!(accepted_by_batch > 0 && accepted_by_batch < 32, "about half: {accepted_by_batch}");
}
