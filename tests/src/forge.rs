//! Forging envelopes as a peer (honest or not) would sign them: an origin's
//! key and chain position, indicator entries, signatures over arbitrary
//! bytes, and bytes that are not protobuf.

use jaring_node::envelope::{self, Entry, EnvelopeBody, Indicator, SignedEnvelope, Value};
use jaring_node::keys::SigningKey;
use jaring_node::model::{Action, Category, Confidence, Distribution, Kind, Tlp, now_ms};

use crate::{Rng, TestNode};

/// An origin's signing key and chain position, as the test forges for it.
#[derive(Debug)]
pub struct Origin {
    /// The origin's node id.
    pub id: String,
    /// The key it signs with.
    pub key: SigningKey,
    /// The last origin_seq the subscriber holds.
    pub seq: u64,
    /// The hash of that body.
    pub prev: envelope::BodyHash,
    /// What the subscriber holds, in order.
    pub held: Vec<SignedEnvelope>,
}

impl Origin {
    /// A node's own first signing key, read from its directory.
    ///
    /// # Panics
    ///
    /// If the node has no readable key.
    pub fn of(node: &TestNode) -> Origin {
        let key =
            jaring_node::keystore::read_signing_keys(&node.dir().join("keys")).expect("the node's keys").remove(0);
        Origin::with_key(&node.id, key)
    }

    /// An origin `id` signing with `key`, nothing held yet.
    pub fn with_key(id: &str, key: SigningKey) -> Origin {
        Origin { id: id.into(), key, seq: 0, prev: envelope::GENESIS_HASH, held: Vec::new() }
    }

    /// The body after the held chain.
    pub fn next_body(&self, entry: Entry) -> EnvelopeBody {
        EnvelopeBody {
            origin: self.id.clone(),
            origin_seq: self.seq + 1,
            prev_hash: self.prev,
            created_at_ms: now_ms(),
            entry,
        }
    }

    /// The next envelope, signed, not yet counted as held.
    pub fn next(&self, entry: Entry) -> SignedEnvelope {
        jaring_node::signing::sign(&self.next_body(entry), &self.key)
    }

    /// `n` chained envelopes after the held chain, none counted as held.
    pub fn chain(&self, values: &[String]) -> Vec<SignedEnvelope> {
        let (mut seq, mut prev) = (self.seq, self.prev);
        values
            .iter()
            .map(|v| {
                seq += 1;
                let body = EnvelopeBody {
                    origin: self.id.clone(),
                    origin_seq: seq,
                    prev_hash: prev,
                    created_at_ms: now_ms(),
                    entry: domain(&self.id, v, 1),
                };
                let env = jaring_node::signing::sign(&body, &self.key);
                prev = envelope::body_hash(&env.body);
                env
            })
            .collect()
    }

    /// Counts `env` (the next in the chain) as held by the subscriber.
    pub fn hold(&mut self, env: &SignedEnvelope) {
        self.seq += 1;
        self.prev = envelope::body_hash(&env.body);
        self.held.push(env.clone());
    }

    /// The next envelope, counted as held.
    pub fn publish(&mut self, entry: Entry) -> SignedEnvelope {
        let env = self.next(entry);
        self.hold(&env);
        env
    }
}

/// A GREEN job-scam domain indicator of `origin`, version `version`.
pub fn domain(origin: &str, value: &str, version: u64) -> Entry {
    indicator(origin, value, version, None)
}

/// A GREEN job-scam domain indicator with an optional description.
pub fn indicator(origin: &str, value: &str, version: u64, description: Option<String>) -> Entry {
    let t = now_ms();
    Entry::Indicator(Indicator {
        id: envelope::indicator_id(origin, Kind::Domain, value),
        kind: Kind::Domain,
        value: Value::Plain(value.into()),
        categories: vec![Category::JobScam],
        confidence: Confidence::try_from(80u32).unwrap_or_else(|_| unreachable!()),
        tlp: Tlp::Green,
        distribution: Distribution::Federation,
        first_seen_ms: t,
        last_seen_ms: t,
        valid_until_ms: None,
        action: Action::Upsert,
        version,
        description,
        source_refs: vec![],
        reach: vec![],
    })
}

/// Signs arbitrary body bytes with a node's key (what `envelope::sign` does
/// for well-formed bodies).
///
/// # Panics
///
/// If the node has no readable key.
pub fn sign_bytes(node: &TestNode, body: Vec<u8>) -> SignedEnvelope {
    let key = jaring_node::keystore::read_signing_keys(&node.dir().join("keys")).expect("the node's keys").remove(0);
    let signature = key.sign(&envelope::pae(envelope::PAYLOAD_TYPE, &body)).to_bytes().to_vec();
    SignedEnvelope { body, signature, key_id: key.id().to_string() }
}

/// Bytes that are not protobuf: the first is field 1 with wire type 7,
/// which does not exist; the rest are random.
pub fn garbage(rng: &mut Rng, len: usize) -> Vec<u8> {
    let mut out = vec![0x0f];
    out.extend((1..len).map(|_| rng.next_u64() as u8));
    out
}
