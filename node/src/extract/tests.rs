//! Unit tests: every kind, in plain and defanged or obfuscated forms, the
//! things that are not indicators, offsets, deduplication, allowlist flags
//! and streaming.

#![allow(clippy::unwrap_used)]

use super::*;
use crate::allowlist;

fn options(region: Option<&str>) -> ExtractOptions {
    ExtractOptions::new(region).unwrap()
}

/// Extracts `text` and checks what must hold for every candidate: the
/// span is in bounds and is `text` as written, and the value is canonical.
fn run(text: &str, region: Option<&str>) -> Vec<Candidate> {
    let opts = options(region);
    let flag = crate::warninglist::builtin::index();
    let got = extract(text, &opts, &flag).candidates;
    let chars: Vec<char> = text.chars().collect();
    for c in &got {
        let (s, e) = (usize::try_from(c.start).unwrap(), usize::try_from(c.end).unwrap());
        assert!(s < e && e <= chars.len(), "{c:?} out of bounds");
        assert_eq!(chars[s..e].iter().collect::<String>(), c.text, "span of {c:?}");
        assert_eq!(normalize(c.kind, &c.value, opts.normalize_context()).as_ref(), Ok(&c.value), "{c:?} not canonical");
    }
    got
}

/// (kind, value) of each candidate.
fn values(text: &str, region: Option<&str>) -> Vec<(Kind, String)> {
    run(text, region).into_iter().map(|c| (c.kind, c.value)).collect()
}

fn one(text: &str, region: Option<&str>) -> Candidate {
    let got = run(text, region);
    assert_eq!(got.len(), 1, "{text:?}: {got:#?}");
    got.into_iter().next().unwrap()
}

fn has_note(c: &Candidate, note: &str) -> bool {
    c.notes.iter().any(|n| n == note)
}

#[test]
fn urls_plain_and_defanged() {
    let c = one("Daftar: hxxps://gaji-tinggi[.]com/daftar?ref=fb.", Some("ID"));
    assert_eq!((c.kind, c.value.as_str()), (Kind::Url, "https://gaji-tinggi.com/daftar?ref=fb"));
    assert_eq!(c.text, "hxxps://gaji-tinggi[.]com/daftar?ref=fb");
    assert!(has_note(&c, "defanged"));
    for (text, want) in [
        ("HXXP://Loker(.)co(.)id/Form", "http://loker.co.id/Form"),
        ("hxtps[:]//kerja{dot}com", "https://kerja.com/"),
        ("lihat bansos-kemensos.info/daftar ya", "http://bansos-kemensos.info/daftar"),
        ("(https://x-job.com/a_(b))", "https://x-job.com/a_(b)"),
        ("https://claim\u{200b}-prize\u{200b}.com/win", "https://claim-prize.com/win"),
    ] {
        assert_eq!(values(text, None), vec![(Kind::Url, want.to_string())], "{text}");
    }
}

#[test]
fn domains_plain_spaced_and_idn() {
    for (text, want) in [
        ("situs gacor77slot . com hari ini", "gacor77slot.com"),
        ("di kerjaremote-id(dot)site", "kerjaremote-id.site"),
        ("Website: viec-lam-cpc chấm com", "viec-lam-cpc.com"),
        ("lihat loker [.] co [.] id", "loker.co.id"),
        ("WWW.LOKER-JEPANG.CO.ID", "www.loker-jepang.co.id"),
        ("xem việclàm.vn nhé", "xn--viclm-uqa6964c.vn"),
        ("visit easy-money-my\u{ff0e}com", "easy-money-my.com"),
    ] {
        assert_eq!(values(text, None), vec![(Kind::Domain, want.to_string())], "{text}");
    }
    // Prose, file names and handles are not domains.
    for text in
        ["Kerja di Jepang.Info lengkap hubungi kami", "kirim lamaran.zip ke kami", "follow @loker.id", "Node.js v20"]
    {
        assert!(values(text, None).is_empty(), "{text}");
    }
}

#[test]
fn emails_plain_and_defanged() {
    for (text, want) in [
        ("Email: hrd.kerja@gmail.com", "hrd.kerja@gmail.com"),
        ("hrd[at]gaji-tinggi[.]com", "hrd@gaji-tinggi.com"),
        ("kerja.luarnegeri(at)yahoo(dot)co(dot)id", "kerja.luarnegeri@yahoo.co.id"),
        ("service[@]paypal-review[.]info", "service@paypal-review.info"),
        ("INFO@GAJI-TINGGI.COM", "info@gaji-tinggi.com"),
    ] {
        assert_eq!(values(text, None), vec![(Kind::Email, want.to_string())], "{text}");
    }
}

#[test]
fn ip_addresses_plain_and_defanged() {
    assert_eq!(values("server 103[.]145[.]12[.]88 (AS 1)", None), vec![(Kind::Ip, "103.145.12.88".to_string())]);
    assert_eq!(values("c2 45.61.136[.]12:443", None), vec![(Kind::Ip, "45.61.136.12".to_string())]);
    assert_eq!(values("IPv6 2A02:4780:12:3456::1.", None), vec![(Kind::Ip, "2a02:4780:12:3456::1".to_string())]);
    assert_eq!(
        values("panel hxxp://198.51.100[.]23:8080/login.php", None),
        vec![(Kind::Url, "http://198.51.100.23:8080/login.php".to_string())]
    );
    // Not addresses: private hosts, amounts, versions, times.
    for text in ["from 10.0.0.15 and 192.168.1.1", "Rp 1.100.100.100", "v1.2.3.4", "at 12:30:45"] {
        assert!(values(text, None).is_empty(), "{text}");
    }
}

#[test]
fn phones_in_national_international_and_obfuscated_forms() {
    let phone = |v: &str| vec![(Kind::Phone, v.to_string())];
    for (text, region, want) in [
        ("WA 0 8 1 2 - 7 7 7 7 - 8 8 8 8", "ID", "+6281277778888"),
        ("Hp/WA : (+62) 812 1234 5678", "ID", "+6281212345678"),
        ("hubungi (62) 812-1234-5678", "ID", "+6281212345678"),
        ("WA 6281277778888", "VN", "+6281277778888"),
        ("SĐT/Zalo: 0912.345.678", "VN", "+84912345678"),
        ("Hotline/Zalo: +84 (0) 912 345 678", "VN", "+84912345678"),
        ("โทร.๐๘๙-๘๘๘-๗๗๗๗", "TH", "+66898887777"),
        (
            "Contact \u{ff10}\u{ff11}\u{ff12}-\u{ff13}\u{ff13}\u{ff13} \u{ff14}\u{ff14}\u{ff14}\u{ff14}",
            "MY",
            "+60123334444",
        ),
        ("WhatsApp 0812\u{200b}-3333\u{200b}-4444", "ID", "+6281233334444"),
        ("0\u{fe0f}\u{20e3}8\u{fe0f}\u{20e3}1\u{fe0f}\u{20e3}2 3333 4444", "ID", "+6281233334444"),
        ("i-text sa 0 9 1 7 - 8 8 8 - 9 9 9 9", "PH", "+639178889999"),
        ("WhatsApp 9123 4567 (Ms Tan)", "SG", "+6591234567"),
        ("Call +1 (888) 555-0123 now", "SG", "+18885550123"),
        ("chat wa.me/6285712345678 ya", "ID", "+6285712345678"),
        ("https://api.whatsapp.com/send?phone=6281277778888&text=halo", "VN", "+6281277778888"),
        ("zalo.me/0912345678", "VN", "+84912345678"),
    ] {
        assert_eq!(values(text, Some(region)), phone(want), "{text}");
    }
    let c = one("WA 0 8 1 2 - 7 7 7 7 - 8 8 8 8", Some("ID"));
    assert_eq!(c.text, "0 8 1 2 - 7 7 7 7 - 8 8 8 8");
    assert!(has_note(&c, "spaced-out digits"));
    assert!(has_note(&one("WhatsApp 0812\u{200b}-3333\u{200b}-4444", Some("ID")), "hidden characters removed"));
    // Lists of numbers.
    assert_eq!(
        values("Info: 0856 1111 2222 / 0819 3333 4444 (SMS/WA)", Some("ID")),
        vec![(Kind::Phone, "+6285611112222".into()), (Kind::Phone, "+6281933334444".into())]
    );
    // "Order" alone asks for a message; an order number is labelled.
    assert_eq!(values("Order now: 0812-7777-8888", Some("ID")), phone("+6281277778888"));
    // National forms need a region.
    assert!(values("WA 0812-7777-8888", None).is_empty());
    assert_eq!(values("WA +62 812-7777-8888", None), phone("+6281277778888"));
}

#[test]
fn bank_accounts_named_in_the_region_languages() {
    let bank = |v: &str| vec![(Kind::BankAccount, v.to_string())];
    for (text, region, want) in [
        ("Transfer ke rekening BCA 123-456-7890 a/n PT Maju", "ID", "BCA:1234567890"),
        ("no. rek 7771234567 (BCA) an Sri", "ID", "BCA:7771234567"),
        ("Bank BRI\nNo Rek : 0123 0101 2345 501\nAtas Nama : CV Karya", "ID", "BRI:012301012345501"),
        ("Mandiri 137-00-1234567-8", "ID", "MANDIRI:1370012345678"),
        ("STK Vietcombank 0071000654321 - CTK NGUYEN VAN A", "VN", "VCB:0071000654321"),
        ("Số tài khoản: 1012345678\nNgân hàng: Vietcombank", "VN", "VCB:1012345678"),
        ("ck truoc vao stk ACB 12345678 ten PHAM", "VN", "ACB:12345678"),
        ("STK 0123456789 MB - chủ tk Tran", "VN", "MBBANK:0123456789"),
        ("เข้าบัญชีกสิกร 123-4-56789-0 ชื่อบัญชี นายสมชาย", "TH", "KBANK:1234567890"),
        ("โอนเข้า ธ.กรุงเทพ 111-2-22333-4", "TH", "BBL:1112223334"),
        ("bayar ke Maybank 5140 1234 5678 (Siti)", "MY", "MAYBANK:514012345678"),
        ("Bank-in ke CIMB 8007654321", "MY", "CIMB:8007654321"),
        ("Acct No: 0012-3456-7890\n(BDO Savings)", "PH", "BDO:001234567890"),
        ("transfer to my POSB 123-45678-9 first", "SG", "POSB:123456789"),
        ("rek BCA 1234\u{200b}567890", "ID", "BCA:1234567890"),
    ] {
        assert_eq!(values(text, Some(region)), bank(want), "{text}");
    }
    // The same bank name in two countries.
    assert_eq!(values("CIMB 800 765 4321", Some("MY")), bank("CIMB:8007654321"));
    assert_eq!(values("rek CIMB 8007 6543 2101", Some("ID")), bank("CIMBNIAGA:800765432101"));
    // No bank named, a call-centre number, a central bank's office phone.
    assert!(values("No. Rek: 1234567890 a/n Budi", Some("ID")).is_empty());
    assert!(values("Halo BCA 1500888 siap membantu", Some("ID")).is_empty());
    assert_eq!(
        values("pegawai Bank Negara (nombor 03-2700 1234) menelefon", Some("MY")),
        vec![(Kind::Phone, "+60327001234".to_string())]
    );
}

#[test]
fn ewallet_accounts_and_lists_of_them() {
    let wallets = |list: &[&str]| list.iter().map(|v| (Kind::EwalletAccount, (*v).to_string())).collect::<Vec<_>>();
    assert_eq!(
        values("Depo via DANA/OVO/GOPAY 0878-1234-5678", Some("ID")),
        wallets(&["dana:+6287812345678", "ovo:+6287812345678", "gopay:+6287812345678"])
    );
    for (text, region, want) in [
        ("ví MoMo 0909 123 456", "VN", "momo:+84909123456"),
        ("cọc qua ZaloPay 0934 556 677", "VN", "zalopay:+84934556677"),
        ("ผ่านทรูมันนี่วอลเล็ท 065-123-4567", "TH", "truemoney:+66651234567"),
        ("โอนผ่านพร้อมเพย์ 092-345-6781", "TH", "promptpay:+66923456781"),
        ("Touch 'n Go eWallet 017-654 3210", "MY", "tng:+60176543210"),
        ("send sa GCash 0917 123 4567", "PH", "gcash:+639171234567"),
        ("via Maya 0945 123 4567", "PH", "maya:+639451234567"),
        ("deal via PayNow 8123 4567", "SG", "paynow:+6581234567"),
        ("DANA 0 8 3 8 - 1 2 3 4 - 5 6 7 0", "ID", "dana:+6283812345670"),
    ] {
        assert_eq!(values(text, Some(region)), wallets(&[want]), "{text}");
    }
    // A phone word in the list: the number is also a phone number.
    assert_eq!(
        values("GCash/Contact #: 09171234567", Some("PH")),
        vec![(Kind::Phone, "+639171234567".into()), (Kind::EwalletAccount, "gcash:+639171234567".into())]
    );
    // "dana" is also a word: "dana 5 juta" is an amount, "cairkan dana" prose.
    assert!(values("cairkan dana 5 juta, hubungi kami", Some("ID")).is_empty());
}

#[test]
fn crypto_wallets_with_checksums() {
    let w = |v: &str| vec![(Kind::CryptoWallet, v.to_string())];
    assert_eq!(
        values("ví TRC20: TLa2f6VPqDgRE67v1736s7bJ8Ray5wYjU7", None),
        w("tron:TLa2f6VPqDgRE67v1736s7bJ8Ray5wYjU7")
    );
    // Split by an invisible character to dodge filters.
    assert_eq!(
        values("USDT TLa2f6VPqDgRE67v1736s7bJ8\u{200b}Ray5wYjU7", None),
        w("tron:TLa2f6VPqDgRE67v1736s7bJ8Ray5wYjU7")
    );
    assert_eq!(
        values("USDT (BEP20) 0x47A06Bf62C86137956f57EAB43Cc41577ab4AD3C", None),
        w("bsc:0x47a06bf62c86137956f57eab43cc41577ab4ad3c")
    );
    assert_eq!(
        values("ERC-20: 0x47A06Bf62C86137956f57EAB43Cc41577ab4AD3C.", None),
        w("eth:0x47a06bf62c86137956f57eab43cc41577ab4ad3c")
    );
    assert_eq!(values("BTC 1NbVgyvQxqnkhyvt4STY9NnMQ9wsFgtix1", None), w("btc:1NbVgyvQxqnkhyvt4STY9NnMQ9wsFgtix1"));
    assert_eq!(
        values("send to BC1QTNJNRKEKSJQQJG5R52F7FE08KH694PP7VAU5U3 now", None),
        w("btc:bc1qtnjnrkeksjqqjg5r52f7fe08kh694pp7vau5u3")
    );
    // Bad checksums, wrong EIP-55 case, transaction hashes: not wallets.
    for text in [
        "TLa2f6VPqDgRE67v1736s7bJ8Ray5wYjU8",
        "0x47a06Bf62C86137956f57EAB43Cc41577ab4AD3C",
        "tx 0x47a06bf62c86137956f57eab43cc41577ab4ad3c47a06bf62c86137956f57eab",
        "1NbVgyvQxqnkhyvt4STY9NnMQ9wsFgtix2",
    ] {
        assert!(values(text, None).is_empty(), "{text}");
    }
}

#[test]
fn social_handles_from_urls_and_phrases() {
    let h = |v: &str| vec![(Kind::SocialHandle, v.to_string())];
    for (text, want) in [
        ("Telegram kami: @LokerJepangResmi", "telegram:lokerjepangresmi"),
        ("nhắn tin Tele @hotro_tiktokshop", "telegram:hotro_tiktokshop"),
        ("message @phcryptomentor on Telegram", "telegram:phcryptomentor"),
        ("Gabung: https://t.me/kerjaonline_harian", "telegram:kerjaonline_harian"),
        ("Gabung t[.]me/kerjaonline_harian", "telegram:kerjaonline_harian"),
        ("สนใจแอดไลน์ไอดี: @job.thai99 ครับ", "line:job.thai99"),
        ("Line ID: coinprofit_th", "line:coinprofit_th"),
        ("https://line.me/ti/p/~job.th", "line:job.th"),
        ("IG: loker.jepang2025", "instagram:loker.jepang2025"),
        ("Follow us IG: ukay.branded.ph", "instagram:ukay.branded.ph"),
        ("kênh https://www.tiktok.com/@tiktokshop.tuyendung", "tiktok:tiktokshop.tuyendung"),
        ("Zalo ID: tuyendung.hanquoc", "zalo:tuyendung.hanquoc"),
        ("(facebook.com/david.miller.uk88)", "facebook:david.miller.uk88"),
        ("DM akun twitter @HaloBCA_CS24", "x:halobca_cs24"),
    ] {
        assert_eq!(values(text, Some("ID")), h(want), "{text}");
    }
    // Digits after a platform are its phone number.
    assert_eq!(values("Zalo 0386 123 456", Some("VN")), vec![(Kind::Phone, "+84386123456".to_string())]);
    // Words after a platform, and @names with no platform, are not handles.
    for text in ["Follow IG kami ya", "Join Telegram channel kami", "thanks @budi for sharing", "t.me/+AbCdEf"] {
        assert!(!values(text, Some("ID")).iter().any(|(k, _)| *k == Kind::SocialHandle), "{text}");
    }
    // A private invite link is a URL, not a handle.
    assert_eq!(values("https://t.me/+AbCdEfGh123", None), vec![(Kind::Url, "https://t.me/+AbCdEfGh123".to_string())]);
}

#[test]
fn prices_dates_times_measures_ids_and_codes_are_not_indicators() {
    for (text, region) in [
        ("Gaji Rp 2.500.000 - 3.500.000/bulan, bonus USD 1500", "ID"),
        ("Harga Rp. 32 500 000 per orang, IDR 150.000.000", "ID"),
        ("lương 15-20 triệu/tháng, cọc 2.000.000đ, 1.500.000 VND", "VN"),
        ("เงินเดือน 25,000 บาท ราคา ฿2,500", "TH"),
        ("Gaji RM3,500 sebulan, RM 1 299", "MY"),
        ("sahod ₱35,000 per month, PHP 22,000.00", "PH"),
        ("Interview 12/06/2025, deadline 30-06-2025, lahir 2024.05.12", "ID"),
        ("Jam kerja 08.00-17.00 WIB, istirahat 12.00", "ID"),
        ("Giờ làm: 7h30 - 17h00", "VN"),
        ("TB min 160 cm, BB 50-70 kg, usia 18-35 tahun", "ID"),
        ("Tahun 2025, sejak 1998", "ID"),
        ("NIK 3174012345670001, KK 3174010101010001", "ID"),
        ("CCCD: 079203001234", "VN"),
        ("เลขบัตรประชาชน 1-1020-12345-67-8", "TH"),
        ("No IC: 900101-14-5678", "MY"),
        ("SSS 34-1234567-8", "PH"),
        ("NRIC S8812345A", "SG"),
        ("Kode pos 12190, Jakarta 10310", "ID"),
        ("mã bưu chính 700000", "VN"),
        ("Singapore 521123", "SG"),
        ("Kode lowongan: ADM-GDG-2025-07, Job ID: 45821, Ref: 7781-2234-9910", "ID"),
        ("Order ID 1029384756, resi JT8823145, OTP 482913", "ID"),
        ("Call Center 1500-630, hotline 1800-255-0000", "SG"),
    ] {
        assert!(values(text, Some(region)).is_empty(), "{text}: {:?}", values(text, Some(region)));
    }
}

#[test]
fn each_thing_once_at_its_first_occurrence() {
    let text = "WA 0812-7777-8888. Sekali lagi: WA 0812 7777 8888 atau +62 812 7777 8888";
    let got = run(text, Some("ID"));
    assert_eq!(got.len(), 1, "{got:#?}");
    assert_eq!((got[0].start, got[0].end), (3, 17));
    // Different kinds of the same digits are different things.
    let got = run("MB Bank - STK: 0357998877\nLiên hệ: 0357 998 877", Some("VN"));
    let kinds: Vec<Kind> = got.iter().map(|c| c.kind).collect();
    assert_eq!(kinds, vec![Kind::BankAccount, Kind::Phone]);
}

#[test]
fn offsets_count_unicode_scalar_values() {
    let text = "🇹🇭 สมัครเลย https://thai-job.com 👉 โทร 081-234-5678";
    let got = run(text, Some("TH"));
    assert_eq!(got.len(), 2);
    let chars: Vec<char> = text.chars().collect();
    let url_start = chars.iter().position(|&c| c == 'h').unwrap();
    assert_eq!(got[0].start, url_start as u64);
    assert_eq!(got[0].text, "https://thai-job.com");
    assert_eq!(got[1].text, "081-234-5678");
    assert_eq!(got[1].end, chars.len() as u64);
}

#[test]
fn allowlisted_candidates_are_kept_and_flagged() {
    let got = run("Info resmi: https://www.facebook.com/ dan bit.ly/abc123 dan kemnaker.go.id", Some("ID"));
    let notes: Vec<(String, Vec<String>)> = got.iter().map(|c| (c.value.clone(), c.notes.clone())).collect();
    assert_eq!(
        notes,
        vec![
            ("https://www.facebook.com/".to_string(), vec!["allowlist: builtin-platforms".to_string()]),
            ("http://bit.ly/abc123".to_string(), vec!["allowlist: builtin-shorteners".to_string()]),
            ("kemnaker.go.id".to_string(), vec!["allowlist: builtin-platforms".to_string()]),
        ]
    );
    // Without an allowlist nothing is flagged.
    let plain = extract("https://www.facebook.com/", &options(None), &NoAllowlist);
    assert!(plain.candidates[0].notes.is_empty());
}

#[test]
fn the_builtin_index_and_admin_entries_flag_candidates() {
    use crate::allowlist::{AllowEntry, ListAction};
    use crate::warninglist::builtin;

    let text = "Daftar di loker.kemnaker.go.id atau WA 0812-7777-8888, info gaji-tinggi[.]com";
    let opts = options(Some("ID"));
    let offline = extract(text, &opts, &builtin::index());
    let partners = AllowEntry {
        list: "partners".into(),
        kind: Some(Kind::Phone),
        value: "+6281277778888".into(),
        action: ListAction::Refuse,
        builtin: false,
        note: "a partner's hotline".into(),
    };
    // A node's entries come with the built-in ones, which are skipped.
    let entries = [allowlist::builtin(), vec![partners]].concat();
    let with_node = extract(text, &opts, &builtin::index_with(&entries));
    let flags = |x: &Extraction| -> Vec<(String, Vec<String>)> {
        x.candidates
            .iter()
            .map(|c| (c.value.clone(), c.notes.iter().filter(|n| n.starts_with("allowlist: ")).cloned().collect()))
            .collect()
    };
    let builtin_flag = vec!["allowlist: builtin-platforms".to_string()];
    assert_eq!(
        flags(&offline),
        vec![
            ("loker.kemnaker.go.id".to_string(), builtin_flag.clone()),
            ("+6281277778888".to_string(), vec![]),
            ("gaji-tinggi.com".to_string(), vec![]),
        ]
    );
    assert_eq!(
        flags(&with_node),
        vec![
            ("loker.kemnaker.go.id".to_string(), builtin_flag),
            ("+6281277778888".to_string(), vec!["allowlist: partners".to_string()]),
            ("gaji-tinggi.com".to_string(), vec![]),
        ]
    );
}

#[test]
fn listings_are_filled_by_the_caller() {
    let mut x = extract("WA 0812-7777-8888 dan https://gaji.com/a", &options(Some("ID")), &NoAllowlist);
    x.annotate_listings(|c| Listing {
        found: c.kind == Kind::Phone,
        by: if c.kind == Kind::Phone { vec!["VN".into()] } else { vec![] },
        status: None,
        categories: vec![],
        score: None,
    });
    let v = serde_json::to_value(&x).unwrap();
    assert_eq!(v["candidates"][0]["listed"], serde_json::json!({"found": true, "by": ["VN"]}));
    assert_eq!(v["candidates"][1]["listed"], serde_json::json!({"found": false, "by": []}));
}

#[test]
fn unknown_regions_are_refused() {
    assert_eq!(ExtractOptions::new(Some("XX")).unwrap_err(), ExtractError::UnknownRegion { region: "XX".into() });
    assert_eq!(options(Some("id")).region(), Some("ID"));
    assert_eq!(options(Some(" ")).region(), None);
}

#[test]
fn json_is_the_documented_shape() {
    let x = extract("WA 0812-7777-8888", &options(Some("ID")), &NoAllowlist);
    let v = serde_json::to_value(&x).unwrap();
    assert_eq!(
        v,
        serde_json::json!({"candidates": [{
            "kind": "phone", "value": "+6281277778888", "text": "0812-7777-8888", "start": 3, "end": 17,
            "confidence": 85, "notes": ["national form read in the region"]
        }]})
    );
}

#[test]
fn streaming_carries_offsets_and_dedupes_across_chunks() {
    let advert = "Loker! WA 0812-7777-8888, rek BCA 123-456-7890 a/n PT X\nDaftar hxxps://gaji[.]com/a\n";
    let mut text = String::new();
    for i in 0..40 {
        text.push_str(&format!("{i} ✨ {advert}"));
    }
    let whole = extract(&text, &options(Some("ID")), &NoAllowlist).candidates;
    for piece in [1, 7, 64, 1000] {
        let mut out = Vec::new();
        let mut s = StreamExtractor::with_limits(options(Some("ID")), &NoAllowlist, 200, 1000);
        for chunk in text.as_bytes().chunks(piece) {
            s.feed(chunk, &mut out);
        }
        s.finish(&mut out);
        assert_eq!(out, whole, "fed {piece} bytes at a time");
    }
    assert_eq!(whole.len(), 3);
}

#[test]
fn streaming_dedup_memory_is_bounded() {
    // Two values remembered at most: the first comes back after others.
    let text = "WA 0812-1111-2222\nWA 0812-3333-4444\nWA 0812-5555-6666\nWA 0812-1111-2222\n";
    let mut out = Vec::new();
    let mut s = StreamExtractor::with_limits(options(Some("ID")), &NoAllowlist, 64, 2);
    s.feed(text.as_bytes(), &mut out);
    s.finish(&mut out);
    let got: Vec<&str> = out.iter().map(|c| c.value.as_str()).collect();
    assert_eq!(got, vec!["+6281211112222", "+6281233334444", "+6281255556666", "+6281211112222"]);
    // With room for all, it is emitted once.
    let mut out = Vec::new();
    let mut s = StreamExtractor::with_limits(options(Some("ID")), &NoAllowlist, 64, 100);
    s.feed(text.as_bytes(), &mut out);
    s.finish(&mut out);
    assert_eq!(out.len(), 3);
}

#[test]
fn invalid_utf8_and_long_lines_stream_safely() {
    let mut bytes = b"WA 0812-7777-8888 \xff\xfe ".to_vec();
    bytes.extend(std::iter::repeat_n(b'x', 300));
    bytes.extend("ไทย ".repeat(50).as_bytes());
    bytes.extend(b"https://gaji.com/a");
    let mut out = Vec::new();
    let mut s = StreamExtractor::with_limits(options(Some("ID")), &NoAllowlist, 64, 100);
    for piece in bytes.chunks(5) {
        s.feed(piece, &mut out);
    }
    s.finish(&mut out);
    assert_eq!(out[0].value, "+6281277778888");
    let lossy: Vec<char> = String::from_utf8_lossy(&bytes).chars().collect();
    for c in &out {
        let text: String = lossy[c.start as usize..c.end as usize].iter().collect();
        assert_eq!(text, c.text);
    }
}

/// Arbitrary text made of the pieces adverts are made of: nothing panics,
/// and every candidate keeps the contract (span, text, canonical value,
/// once), whole or streamed in small chunks.
#[test]
fn arbitrary_text_keeps_the_contract() {
    const PIECES: &[&str] = &[
        "0",
        "8",
        "12",
        "0812",
        "+62",
        "+",
        "-",
        ".",
        " ",
        "  ",
        "\n",
        "(",
        ")",
        "[.]",
        "(dot)",
        "[at]",
        "@",
        ":",
        "/",
        "hxxps://",
        "https://",
        "www.",
        "gaji",
        "-tinggi",
        ".com",
        ".co.id",
        "t.me/",
        "wa.me/",
        "BCA",
        "rek",
        "a/n",
        "DANA",
        "OVO",
        "MoMo",
        "STK",
        "Vietcombank",
        "กสิกร",
        "บัญชี",
        "โทร",
        "WA",
        "Telegram",
        "IG",
        "Line ID",
        "Zalo",
        "TRC20",
        "TLa2f6VPqDgRE67v1736s7bJ8Ray5wYjU7",
        "0x47A06Bf62C86137956f57EAB43Cc41577ab4AD3C",
        "bc1q",
        "Rp",
        "NIK",
        "2.500.000",
        "12/05/2024",
        "08.00-17.00",
        "\u{200b}",
        "\u{ff10}",
        "๘",
        "ủ",
        "🔥",
        "dot",
        " at ",
        "x",
        "3456",
        "7890",
        "1.2.3.4",
        "2001:db8::1",
        "::",
        "%",
        "?",
        "#",
        "'",
        "\"",
        "\u{fe0f}\u{20e3}",
    ];
    let regions = [None, Some("ID"), Some("VN"), Some("TH"), Some("SG")];
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for round in 0..1500 {
        let len = next() % 40;
        let mut text = String::new();
        for _ in 0..len {
            text.push_str(PIECES[usize::try_from(next() % PIECES.len() as u64).unwrap()]);
        }
        let region = regions[round % regions.len()];
        let whole = run(&text, region);
        let mut seen = HashSet::new();
        assert!(whole.iter().all(|c| seen.insert((c.kind, c.value.clone()))), "{text:?}: a value twice");
        let chars: Vec<char> = text.chars().collect();
        let mut out = Vec::new();
        let mut s = StreamExtractor::with_limits(options(region), &NoAllowlist, 64, 1000);
        for piece in text.as_bytes().chunks(1 + round % 13) {
            s.feed(piece, &mut out);
        }
        s.finish(&mut out);
        for c in &out {
            let (a, b) = (usize::try_from(c.start).unwrap(), usize::try_from(c.end).unwrap());
            assert_eq!(
                chars[a..b].iter().collect::<String>(),
                c.text,
                "round {round} {region:?} {text:?}: streamed span of {c:?}"
            );
        }
    }
}
