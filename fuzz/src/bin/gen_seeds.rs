//! Writes the committed seed corpus, `fuzz/corpus/<target>/seed-*`: real,
//! valid examples of what each target reads (envelopes and cards signed by
//! the fixed keys of `jaring_fuzz`, a STIX bundle as the export writes it, a
//! CSV file as the import documents it). Deterministic: ed25519 signatures
//! are, so running it again rewrites the same bytes.
//!
//! ```text
//! .ci/fuzz.sh --write-seeds
//! ```
//!
//! It is a libFuzzer binary only so that it is built with the targets'
//! flags and reuses their build (instrumented code must link libFuzzer):
//! it writes the seeds from libFuzzer's initialization hook, given the
//! corpus directory as its first argument, and exits before any fuzzing.
#![no_main]

use std::path::Path;

use jaring_fuzz::{ACTIVE_OWNER, KEYS, REVOKED_AT_MS, REVOKED_OWNER};
use jaring_node::envelope::{Entry, EnvelopeBody, GENESIS_HASH, Indicator, KeyEvent, Value, indicator_id};
use jaring_node::feedback::{Feedback, FeedbackType};
use jaring_node::identity::{CardKey, IdentityCard};
use jaring_node::model::{Action, Category, Confidence, Distribution, Kind, Tlp};
use jaring_node::view::IndicatorRecord;
use jaring_node::{stix, wire};

fn write(dir: &Path, target: &str, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    let d = dir.join(target);
    std::fs::create_dir_all(&d)?;
    std::fs::write(d.join(format!("seed-{name}")), bytes)
}

fn normalize_seeds(dir: &Path) -> std::io::Result<()> {
    // A long non-ASCII path, as phishing links carry: its canonical form is
    // three times longer (percent-encoding), close to the 2048-byte limit.
    let thai_url = format!(
        "https://\u{e15}\u{e31}\u{e27}\u{e2d}\u{e22}\u{e48}\u{e32}\u{e07}.\u{e44}\u{e17}\u{e22}/{}",
        ["\u{e2a}\u{e21}\u{e31}\u{e04}\u{e23}\u{e07}\u{e32}\u{e19}"; 25].join("-")
    );
    // Selector byte: kind index + 9 * region index (None, ID, VN, ZZ).
    let cases: &[(Kind, usize, &str, &str)] = &[
        (Kind::Domain, 0, "domain", "WWW.Loker-Kerja.CO.ID."),
        (Kind::Domain, 0, "domain-idn", "shop.b\u{fc}cher.de"),
        (Kind::Url, 0, "url", "HTTP://B\u{fc}cher.DE:80/a%7eb/%2f?q=%e2%82%ac#x"),
        (Kind::Url, 0, "url-thai-path", thai_url.as_str()),
        (Kind::Phone, 1, "phone-id", "0812-3456-7890"),
        (Kind::Phone, 0, "phone-intl", "+84 91 234 5678"),
        (Kind::BankAccount, 0, "bank", "bca 123-456-7890"),
        (Kind::EwalletAccount, 1, "ewallet", "GoPay:0812 3456 7890"),
        (Kind::CryptoWallet, 0, "wallet-btc", "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4"),
        (Kind::CryptoWallet, 0, "wallet-eth", "0x52908400098527886E0F7030069857D2E4169EE7"),
        (Kind::Email, 0, "email", "mailto:Kerja@B\u{dc}CHER.de"),
        (Kind::Ip, 0, "ip", "[2001:DB8::1]"),
        (Kind::SocialHandle, 0, "handle-url", "https://www.instagram.com/Loker.Kerja/"),
        (Kind::SocialHandle, 1, "handle", "telegram:@LokerKerja_Resmi"),
    ];
    for (kind, region, name, raw) in cases {
        let Some(index) = Kind::ALL.iter().position(|k| k == kind) else { continue };
        let Ok(selector) = u8::try_from(index + Kind::ALL.len() * region) else { continue };
        let mut bytes = vec![selector];
        bytes.extend_from_slice(raw.as_bytes());
        write(dir, "normalize", name, &bytes)?;
    }
    Ok(())
}

fn indicator(origin: &str, kind: Kind, value: Value) -> Indicator {
    Indicator {
        id: indicator_id(origin, kind, value.as_str()),
        kind,
        value,
        categories: vec![Category::JobScam, Category::TraffickingRecruitment],
        confidence: Confidence::try_from(80).expect("80 is a confidence"),
        tlp: Tlp::Green,
        distribution: Distribution::Federation,
        first_seen_ms: 1_700_000_000_000,
        last_seen_ms: 1_700_000_100_000,
        valid_until_ms: Some(1_800_000_000_000),
        action: Action::Upsert,
        version: 1,
        description: Some("Fake overseas job offer".into()),
        source_refs: vec!["https://t.me/LokerKerja_Resmi/12".into()],
        reach: vec![],
    }
}

fn envelope_seeds(dir: &Path) -> std::io::Result<()> {
    let [active, revoked] = &*KEYS;
    let body = |origin: &str, seq: u64, created_at_ms: i64, entry: Entry| EnvelopeBody {
        origin: origin.into(),
        origin_seq: seq,
        prev_hash: GENESIS_HASH,
        created_at_ms,
        entry,
    };
    let domain = Value::Plain("loker-kerja.co.id".into());
    let keyed = Value::Keyed { epoch: 1, digest: "ab".repeat(32) };
    let rotation = KeyEvent::Rotation {
        new_key_id: revoked.key_id.clone(),
        new_public_key: {
            let mut k = [0u8; 32];
            hex::decode_to_slice(revoked.public_key_hex(), &mut k).expect("hex of 32 bytes");
            k
        },
        valid_from_ms: 1_700_000_000_000,
    };
    let feedback = Feedback {
        kind: Kind::Domain,
        value: domain.clone(),
        feedback_type: FeedbackType::TakedownRequested,
        indicator_id: Some(indicator_id(ACTIVE_OWNER, Kind::Domain, "loker-kerja.co.id")),
        indicator_origin: Some(ACTIVE_OWNER.into()),
        categories: vec![Category::JobScam],
        tlp: Tlp::Amber,
        distribution: Distribution::Federation,
        platform: Some("registrar".into()),
        action_taken: None,
        observed_at_ms: 1_700_000_000_000,
        reason: None,
        note: Some("asked the registrar".into()),
        referred_to: None,
        case_seq: None,
        due_at_ms: Some(1_700_172_800_000),
        case_ref: None,
    };
    let seeds = [
        (
            "indicator",
            active,
            body(ACTIVE_OWNER, 1, 1_700_000_000_000, Entry::Indicator(indicator(ACTIVE_OWNER, Kind::Domain, domain))),
        ),
        ("key-rotation", active, body(ACTIVE_OWNER, 2, 1_700_000_000_001, Entry::KeyEvent(rotation))),
        ("feedback", active, body(ACTIVE_OWNER, 3, 1_700_000_000_002, Entry::Feedback(Box::new(feedback)))),
        (
            "keyed-before-revocation",
            revoked,
            body(
                REVOKED_OWNER,
                1,
                REVOKED_AT_MS - 1,
                Entry::Indicator(indicator(REVOKED_OWNER, Kind::BankAccount, keyed)),
            ),
        ),
        (
            "revocation-after-revocation",
            revoked,
            body(
                REVOKED_OWNER,
                2,
                REVOKED_AT_MS,
                Entry::KeyEvent(KeyEvent::Revocation {
                    key_id: revoked.key_id.clone(),
                    revoked_at_ms: REVOKED_AT_MS,
                    reason: "key leaked".into(),
                }),
            ),
        ),
    ];
    for (name, key, body) in seeds {
        let env = key.sign_body(wire::encode_body(&body));
        write(dir, "envelope", name, &wire::encode_envelope(&env))?;
    }
    Ok(())
}

fn identity_seeds(dir: &Path) -> std::io::Result<()> {
    let [active, revoked] = &*KEYS;
    let card_key = |k: &jaring_fuzz::FixedKey, revoked_at_ms| CardKey {
        key_id: k.key_id.clone(),
        public_key_hex: k.public_key_hex(),
        valid_from_ms: k.valid_from_ms,
        revoked_at_ms,
    };
    let card = IdentityCard {
        version: 1,
        node_id: ACTIVE_OWNER.into(),
        federation_endpoint: "id.jaring.example:7700".into(),
        tls_name: "id.jaring.example".into(),
        tls_ca_pem: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n".into(),
        signing_keys: vec![card_key(active, None), card_key(revoked, Some(REVOKED_AT_MS))],
        issued_at_ms: 1_700_000_000_000,
    };
    let payload = serde_json::to_vec(&card).map_err(std::io::Error::other)?;
    // The whole signed card, and its payload alone (the target also signs
    // its input as a payload).
    write(dir, "identity", "card", active.sign_card_payload(&payload).as_bytes())?;
    write(dir, "identity", "payload", &payload)
}

fn stix_seeds(dir: &Path) -> std::io::Result<()> {
    let rec = IndicatorRecord {
        id: indicator_id(ACTIVE_OWNER, Kind::Url, "https://loker-kerja.co.id/apply"),
        origin: ACTIVE_OWNER.into(),
        origin_seq: 1,
        local_seq: 1,
        kind: Kind::Url,
        value: "https://loker-kerja.co.id/apply".into(),
        keyed_hash: None,
        hash_epoch: None,
        categories: vec![Category::JobScam],
        confidence: 80,
        tlp: Tlp::Green,
        distribution: Distribution::Federation,
        first_seen_ms: 1_700_000_000_000,
        last_seen_ms: 1_700_000_100_000,
        valid_until_ms: Some(1_800_000_000_000),
        action: Action::Upsert,
        version: 2,
        created_at_ms: 1_700_000_200_000,
        description: Some("it's a \\ trap".into()),
        source_refs: vec!["https://example.org/post/1".into(), "CASE-7".into()],
        key_id: KEYS[0].key_id.clone(),
    };
    let bundle = serde_json::json!({
        "type": "bundle",
        "id": "bundle--6a617269-6e67-5000-8000-000000000001",
        "objects": [
            stix::identity(ACTIVE_OWNER),
            stix::tlp_marking(Tlp::Green),
            stix::indicator(&rec),
            {
                "type": "indicator", "spec_version": "2.1", "id": "indicator--2",
                "pattern": "[x-jaring-phone:value = '+6281234567890']", "pattern_type": "stix",
                "labels": ["loan_scam"], "confidence": 60,
                "object_marking_refs": ["marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"],
                "valid_from": "2026-11-29T10:00:00Z"
            },
            {"type": "indicator", "id": "indicator--3", "pattern": "[file:name = 'a.exe']", "pattern_type": "stix"},
            {"type": "relationship", "id": "relationship--1"}
        ]
    });
    let text = serde_json::to_string_pretty(&bundle).map_err(std::io::Error::other)?;
    write(dir, "stix_import", "bundle.json", text.as_bytes())?;
    write(dir, "stix_import", "pattern", b"[email-addr:value = 'o\\'brien@example.com']")
}

fn csv_seeds(dir: &Path) -> std::io::Result<()> {
    let text = "\
kind,value,categories,tlp,confidence,distribution,valid_until,first_seen,description,source_refs
domain,loker-kerja.co.id,job_scam;trafficking_recruitment,green,80,federation,2027-06-01T00:00:00Z,2026-11-29T10:00:00Z,\"Fake job, overseas\",https://t.me/LokerKerja_Resmi/12; CASE-7
phone,0812-3456-7890,job_scam,amber,,,,,,
bank,BCA:1234567890,investment_scam,red,95,local,,,,
url,https://loker-kerja.co.id/apply?id=1,phishing,,,direct,,2026-11-29T10:00:00.250Z,,
handle,telegram:@LokerKerja_Resmi,job_scam,,70,,,,,
";
    write(dir, "csv_import", "import.csv", text.as_bytes())?;
    write(
        dir,
        "csv_import",
        "minimal.csv",
        b"value,kind,categories\neth:0x52908400098527886e0f7030069857d2e4169ee7,crypto_wallet,other\n",
    )
}

/// Adverts as analysts meet them; selector byte: region index (none, ID,
/// VN, TH, MY, PH, SG) plus 7 times a chunk-size step.
fn extract_seeds(dir: &Path) -> std::io::Result<()> {
    let cases: &[(u8, &str, &str)] = &[
        (
            1,
            "advert-id",
            "LOWONGAN KERJA JEPANG 2025\nGaji Rp 25.000.000/bulan, usia 18-35 tahun, TB min 160 cm.\n\
             Daftar: hxxps://gaji-tinggi[.]com/daftar atau www.loker-jepang.co.id\n\
             Hubungi WA 0 8 1 2 - 7 7 7 7 - 8 8 8 8 / 0813-1111-2222\n\
             Transfer ke BCA 123-456-7890 a/n PT Maju, atau DANA/OVO 0812 3456 7890\n\
             Telegram kami: @LokerJepangResmi | IG: loker.jepang2025\nEmail: hrd[at]gaji-tinggi[.]com\n\
             Kode pos 12190, NIK 3174012345670001\n",
        ),
        (
            2 + 7 * 3,
            "advert-vn",
            "TUY\u{1ec2}N G\u{1ea4}P 20 NH\u{c2}N VI\u{ca}N - l\u{1b0}\u{1a1}ng 1500$/th\u{e1}ng\n\
             Li\u{ea}n h\u{1ec7} S\u{110}T/Zalo: 0912.345.678\nSTK Vietcombank 0071000654321 - CTK NGUYEN VAN A\n\
             v\u{ed} MoMo 0909 123 456, USDT TRC20: TLa2f6VPqDgRE67v1736s7bJ8Ray5wYjU7\n\
             Website: viec-lam-cpc ch\u{1ea5}m com\n",
        ),
        (
            3 + 7 * 9,
            "advert-th",
            "\u{e23}\u{e31}\u{e1a}\u{e2a}\u{e21}\u{e31}\u{e04}\u{e23}\u{e07}\u{e32}\u{e19} 500-3,000 \u{e1a}\u{e32}\u{e17}\n\
             \u{e41}\u{e2d}\u{e14}\u{e44}\u{e25}\u{e19}\u{e4c}\u{e44}\u{e2d}\u{e14}\u{e35}: @job.thai99 \
             \u{e42}\u{e17}\u{e23} 081-234-5678\n\u{e1a}\u{e31}\u{e0d}\u{e0a}\u{e35}\u{e01}\u{e2a}\u{e34}\u{e01}\u{e23} \
             123-4-56789-0\nhttps://thai-job-online.com/register?ref=line\n",
        ),
        (
            0,
            "analyst-note",
            "IOC: hxxps://bpjs-bantuan-2025[.]com/klaim 103[.]145[.]12[.]88 2a02:4780:12:3456::1 \
             admin[at]bpjs-bantuan-2025[.]com 0x47A06Bf62C86137956f57EAB43Cc41577ab4AD3C \
             bc1qtnjnrkeksjqqjg5r52f7fe08kh694pp7vau5u3 wa.me/6285712345678 t.me/rekrut_kamboja88\n",
        ),
        (
            6,
            "obfuscated-sg",
            "WhatsApp 9\u{200b}123 4567, PayNow \u{ff18}\u{ff11}\u{ff12}\u{ff13} 4567, DBS 012-345678-9\n",
        ),
    ];
    for (selector, name, text) in cases {
        let mut bytes = vec![*selector];
        bytes.extend_from_slice(text.as_bytes());
        write(dir, "extract", name, &bytes)?;
    }
    Ok(())
}

fn write_all(dir: &Path) -> std::io::Result<()> {
    normalize_seeds(dir)?;
    envelope_seeds(dir)?;
    identity_seeds(dir)?;
    stix_seeds(dir)?;
    csv_seeds(dir)?;
    extract_seeds(dir)
}

libfuzzer_sys::fuzz_target!(
    init: {
        let dir = std::env::args().nth(1).unwrap_or_else(|| "fuzz/corpus".into());
        match write_all(Path::new(&dir)) {
            Ok(()) => {
                println!("seeds written under {dir}");
                std::process::exit(0);
            }
            Err(e) => {
                eprintln!("gen_seeds: {dir}: {e}");
                std::process::exit(1);
            }
        }
    },
    |_data: &[u8]| {}
);
