//! Micro-benchmarks of the node's hot paths, so regressions show up in
//! `cargo bench -p jaring-node`: normalization per kind, envelope signing
//! and verification, store appends and reads on both engines, and the
//! in-memory lookup index. Whole-node figures come from `jaring bench`.

#![allow(clippy::unwrap_used, missing_docs)]

use std::convert::Infallible;
use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use jaring_node::envelope::{Entry, EnvelopeBody, GENESIS_HASH, Indicator, SignedEnvelope, Value, indicator_id};
use jaring_node::keys::{KeyRing, SigningKey};
use jaring_node::lookup_index::{Held, LookupIndex};
use jaring_node::model::{Action, Category, Confidence, Distribution, Kind, Tlp};
use jaring_node::normalize::{NormalizeContext, normalize};
use jaring_node::signing::{self, verify, verify_batch};
use jaring_node::store::{self, Batch, EngineKind, Keyspace, layout};

/// One raw input per kind, as a crawler would submit it.
const INPUTS: [(Kind, &str); 9] = [
    (Kind::Domain, "Lowongan-Kerja.Loker-Palsu.CO.ID."),
    (Kind::Url, "HTTPS://Investasi-Bodong.com:443/daftar/../promo?ref=tg&utm_source=x#top"),
    (Kind::Phone, "0812-3456-7890"),
    (Kind::BankAccount, "BCA: 123-456-7890"),
    (Kind::EwalletAccount, "GoPay:+62 812 3456 7890"),
    (Kind::CryptoWallet, "eth:0x52908400098527886E0F7030069857D2E4169EE7"),
    (Kind::Email, "Rekrutmen.Kerja@Gmail.COM"),
    (Kind::Ip, "203.0.113.7"),
    (Kind::SocialHandle, "https://t.me/LokerLuarNegeri"),
];

fn normalization(c: &mut Criterion) {
    let ctx = NormalizeContext { region: Some("ID".into()) };
    let mut g = c.benchmark_group("normalize");
    for (kind, raw) in INPUTS {
        assert!(normalize(kind, raw, &ctx).is_ok(), "{kind}: {raw}");
        g.bench_function(kind.as_str(), |b| b.iter(|| normalize(kind, black_box(raw), &ctx)));
    }
    g.finish();
}

fn body(seq: u64) -> EnvelopeBody {
    let value = format!("lowongan-{seq}.loker-palsu.co.id");
    EnvelopeBody {
        origin: "ID".into(),
        origin_seq: seq,
        prev_hash: GENESIS_HASH,
        created_at_ms: 1_700_000_000_000,
        entry: Entry::Indicator(Indicator {
            id: indicator_id("ID", Kind::Domain, &value),
            kind: Kind::Domain,
            value: Value::Plain(value),
            categories: vec![Category::JobScam],
            confidence: Confidence::try_from(80).unwrap(),
            tlp: Tlp::Green,
            distribution: Distribution::Federation,
            first_seen_ms: 1_700_000_000_000,
            last_seen_ms: 1_700_000_000_000,
            valid_until_ms: None,
            action: Action::Upsert,
            version: 1,
            description: Some("Fake overseas job offer recruiting through Telegram".into()),
            source_refs: vec!["crawler:telegram".into()],
            reach: vec![],
        }),
    }
}

fn envelopes(c: &mut Criterion) {
    let key = SigningKey::generate(0);
    let mut ring = KeyRing::default();
    ring.insert("ID", key.public(), 0);
    let signed: Vec<SignedEnvelope> = (1..=256).map(|i| signing::sign(&body(i), &key)).collect();
    let mut g = c.benchmark_group("envelope");
    let b1 = body(1);
    g.bench_function("sign", |b| b.iter(|| signing::sign(black_box(&b1), &key)));
    g.bench_function("verify", |b| {
        b.iter_batched(|| signed[0].clone(), |e| verify(e, &ring).unwrap(), BatchSize::SmallInput)
    });
    g.throughput(Throughput::Elements(256));
    g.bench_function("verify_batch_256", |b| {
        b.iter_batched(
            || signed.clone(),
            |all| {
                let out = verify_batch(all, &ring);
                assert!(out.iter().all(Result::is_ok));
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

fn stores(c: &mut Criterion) {
    let key = SigningKey::generate(0);
    let log_value = jaring_node::wire::encode_envelope(&signing::sign(&body(1), &key));
    for engine in [EngineKind::Fjall, EngineKind::Sled] {
        let dir = tempfile::tempdir().unwrap();
        let s = store::open(&dir.path().join("db"), engine, 64).unwrap();
        let mut g = c.benchmark_group(format!("store/{engine}"));
        // One durable commit of 1024 entries, each written as the ledger
        // writes it: the log record, its origin position and its index key.
        g.throughput(Throughput::Elements(1024));
        let mut next = 0u64;
        g.bench_function("append_1024_durable", |b| {
            b.iter(|| {
                let mut batch = Batch::default();
                for _ in 0..1024 {
                    next += 1;
                    batch.put(Keyspace::Log, layout::seq_key(next).to_vec(), log_value.clone());
                    batch.put(Keyspace::OriginSeq, layout::origin_seq_key("ID", next), [0u8; 72].to_vec());
                    let v = format!("d{next}.test");
                    batch.put(Keyspace::Index, layout::index_key(Kind::Domain, &v, "ID"), next.to_be_bytes().to_vec());
                }
                s.commit(batch).unwrap();
            })
        });
        g.throughput(Throughput::Elements(1));
        let written = next.max(1);
        let mut i = 0u64;
        g.bench_function("log_get", |b| {
            b.iter(|| {
                i = (i + 7919) % written + 1;
                s.get(Keyspace::Log, &layout::seq_key(i)).unwrap()
            })
        });
        g.finish();
    }
}

fn lookups(c: &mut Criterion) {
    let idx = LookupIndex::new(1 << 16);
    let values: Vec<String> = (0..50_000).map(|i| format!("d{i}.loker-palsu.co.id")).collect();
    for v in &values {
        idx.insert_member(Kind::Domain, v);
        idx.get::<Infallible>(Kind::Domain, v, || Ok(Held::default())).unwrap();
    }
    let mut g = c.benchmark_group("lookup_index");
    let mut i = 0usize;
    g.bench_function("hit_cached", |b| {
        b.iter(|| {
            i = (i + 7919) % values.len();
            idx.get::<Infallible>(Kind::Domain, &values[i], || unreachable!()).unwrap()
        })
    });
    g.bench_function("miss", |b| {
        b.iter(|| idx.get::<Infallible>(Kind::Domain, black_box("not-listed.example"), || unreachable!()).unwrap())
    });
    g.finish();
}

criterion_group!(benches, normalization, envelopes, stores, lookups);
criterion_main!(benches);
