//! The words that give digits and names their meaning, in the region's
//! languages (Bahasa Indonesia, Tiếng Việt, ไทย, Malay, Tagalog, English).
//!
//! A [`Cue`] is what a phrase says about the text next to it: a bank's
//! name (`BCA`, `Vietcombank`, `กสิกร`), an account word (`no. rek`, `STK`,
//! `บัญชี`), an e-wallet (`DANA`, `MoMo`, `GCash`), a phone word (`WA`,
//! `SĐT`, `โทร`), a platform (`Line ID`, `Telegram`, `IG`), a chain
//! (`TRC20`, `BEP20`), or a reason the digits next to it are not an
//! indicator: a national-ID or postal-code label (`NIK`, `CCCD`, `kode
//! pos`), a currency (`Rp`, `₫`, `บาท`) or a unit after a number (`cm`,
//! `tuổi`).
//!
//! All phrases are found in one pass with an Aho-Corasick automaton
//! (leftmost-longest, ASCII case-insensitive; phrases with non-ASCII letters
//! are added in lower, upper and capitalized forms). Phrases made of ASCII
//! letters must stand as words: the character before must not be a letter
//! or digit and the one after not a letter (`rek` is not found in
//! `rekrutmen`; `Rp2.500.000` still finds `Rp`). Thai is written without
//! spaces, so Thai phrases match anywhere.
//!
//! Bank codes (the part before `:` in `BCA:1234567890`) are this table's
//! names, unique across the region; where two countries' banks share an
//! abbreviation the code says which (`SCB` is Siam Commercial Bank;
//! Saigon Commercial Bank is `SCBVN`). Some names are also ordinary words
//! (`mandiri`, `permata`, `dana`, `maya`, `boost`, Bangkok's name
//! `กรุงเทพ`): those are *weak* and count only right before digits.

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};

/// What a phrase says about the text next to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Cue {
    /// A bank's name; `code` is the canonical bank code.
    Bank {
        /// Canonical bank code.
        code: &'static str,
        /// Also an ordinary word: counts only right before digits.
        weak: bool,
    },
    /// "bank", "ngân hàng", "ธนาคาร".
    BankWord,
    /// "rekening", "STK", "บัญชี", "account no".
    AccountWord,
    /// "a/n", "atas nama", "CTK", "ชื่อบัญชี", "account name": the holder's
    /// name follows, so it says something only of digits before it.
    HolderWord,
    /// An e-wallet; `provider` is the canonical provider name.
    Ewallet {
        /// Canonical provider name.
        provider: &'static str,
        /// Also an ordinary word: counts only right before digits.
        weak: bool,
    },
    /// "WA", "telp", "SĐT", "โทร", "call".
    PhoneWord,
    /// A messaging or social platform; handles after it belong to it.
    Platform(Platform),
    /// A chain or token standard: the canonical chain name.
    Chain(&'static str),
    /// Digits after it are an identity number, postal code, job code,
    /// order number...: not an indicator.
    NotPhone,
    /// A currency: digits next to it are an amount.
    Currency,
    /// A unit after a number (cm, kg, years): the digits are a measure.
    Unit,
}

/// A messaging or social platform named in text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Platform {
    Telegram,
    Line,
    Instagram,
    Tiktok,
    Facebook,
    X,
    Zalo,
    Wechat,
    Signal,
    Viber,
    /// WhatsApp accounts are phone numbers.
    Whatsapp,
}

impl Platform {
    /// The platform's name in `social_handle` values.
    pub(super) fn name(self) -> &'static str {
        match self {
            Platform::Telegram => "telegram",
            Platform::Line => "line",
            Platform::Instagram => "instagram",
            Platform::Tiktok => "tiktok",
            Platform::Facebook => "facebook",
            Platform::X => "x",
            Platform::Zalo => "zalo",
            Platform::Wechat => "wechat",
            Platform::Signal => "signal",
            Platform::Viber => "viber",
            Platform::Whatsapp => "whatsapp",
        }
    }

    /// Whether a handle (not only a phone number) can name an account.
    pub(super) fn has_handles(self) -> bool {
        !matches!(self, Platform::Whatsapp | Platform::Viber)
    }

    /// Whether `handle` (without `@`) has the shape this platform allows.
    pub(super) fn accepts(self, handle: &str) -> bool {
        let len = handle.len();
        fn word(b: u8) -> bool {
            b.is_ascii_alphanumeric() || b == b'_'
        }
        let all = |f: &dyn Fn(u8) -> bool| handle.bytes().all(f);
        let first_letter = handle.bytes().next().is_some_and(|b| b.is_ascii_alphabetic());
        match self {
            // 5-32 of a-z 0-9 _, starting with a letter.
            Platform::Telegram => (5..=32).contains(&len) && first_letter && all(&word),
            // LINE ids: 4-20 of a-z 0-9 . _ -.
            Platform::Line => (4..=20).contains(&len) && all(&|b| word(b) || b == b'.' || b == b'-'),
            Platform::Instagram => (2..=30).contains(&len) && all(&|b| word(b) || b == b'.') && !handle.ends_with('.'),
            Platform::Tiktok => (2..=24).contains(&len) && all(&|b| word(b) || b == b'.'),
            Platform::Facebook => (5..=50).contains(&len) && all(&|b| b.is_ascii_alphanumeric() || b == b'.'),
            Platform::X => (2..=15).contains(&len) && all(&word),
            Platform::Zalo | Platform::Wechat | Platform::Signal => {
                (4..=30).contains(&len) && first_letter && all(&|b| word(b) || b == b'.' || b == b'-')
            }
            Platform::Viber | Platform::Whatsapp => false,
        }
    }
}

/// One phrase found in the text.
#[derive(Debug, Clone, Copy)]
pub(super) struct Hit {
    /// Byte range in the (refanged) text.
    pub start: usize,
    pub end: usize,
    pub cue: Cue,
}

/// Which country a phrase belongs to, to pick a bank code when two
/// countries use the same name (`CIMB`).
type Country = &'static str;

struct Phrase {
    text: &'static str,
    cue: Cue,
    country: Option<Country>,
}

/// The compiled phrase automaton.
pub(super) struct Lexicon {
    automaton: AhoCorasick,
    /// Per pattern id: the readings of that phrase.
    readings: Vec<Vec<(Option<Country>, Cue)>>,
    /// Per pattern id: whether word boundaries apply (ASCII phrase).
    bounded: Vec<bool>,
}

impl std::fmt::Debug for Lexicon {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lexicon").field("patterns", &self.readings.len()).finish()
    }
}

const fn bank(code: &'static str) -> Cue {
    Cue::Bank { code, weak: false }
}
const fn weak_bank(code: &'static str) -> Cue {
    Cue::Bank { code, weak: true }
}
const fn wallet(provider: &'static str) -> Cue {
    Cue::Ewallet { provider, weak: false }
}
const fn weak_wallet(provider: &'static str) -> Cue {
    Cue::Ewallet { provider, weak: true }
}

/// Banks: (country, code, strong names, weak names).
#[rustfmt::skip]
const BANKS: &[(Country, &str, &[&str], &[&str])] = &[
    // Indonesia.
    ("ID", "BCA", &["bca", "bank bca", "bank central asia", "klikbca"], &[]),
    ("ID", "MANDIRI", &["bank mandiri", "livin mandiri", "livin' by mandiri"], &["mandiri"]),
    ("ID", "BRI", &["bri", "bank bri", "bank rakyat indonesia", "britama", "brimo"], &[]),
    ("ID", "BNI", &["bni", "bank bni", "bank negara indonesia"], &[]),
    ("ID", "BSI", &["bsi", "bank bsi", "bank syariah indonesia"], &[]),
    ("ID", "CIMBNIAGA", &["cimb niaga", "bank cimb niaga", "cimb"], &[]),
    ("ID", "BTN", &["btn", "bank btn", "bank tabungan negara"], &[]),
    ("ID", "PERMATA", &["permatabank", "bank permata"], &["permata"]),
    ("ID", "DANAMON", &["danamon", "bank danamon"], &[]),
    ("ID", "JAGO", &["bank jago"], &[]),
    ("ID", "SEABANK", &["seabank", "sea bank"], &[]),
    ("ID", "OCBCNISP", &["ocbc nisp"], &[]),
    ("ID", "MEGA", &["bank mega"], &[]),
    ("ID", "PANIN", &["panin bank", "bank panin"], &[]),
    ("ID", "BJB", &["bjb", "bank bjb"], &[]),
    // Viet Nam.
    ("VN", "VCB", &["vietcombank", "vcb", "ngân hàng ngoại thương"], &[]),
    ("VN", "TCB", &["techcombank", "tcb"], &[]),
    ("VN", "BIDV", &["bidv"], &[]),
    ("VN", "VIETINBANK", &["vietinbank", "viettinbank", "vietin bank"], &[]),
    ("VN", "AGRIBANK", &["agribank", "agri bank"], &[]),
    ("VN", "ACB", &["acb"], &[]),
    ("VN", "MBBANK", &["mbbank", "mb bank", "mb-bank", "ngân hàng quân đội"], &["mb"]),
    ("VN", "VPBANK", &["vpbank", "vp bank"], &[]),
    ("VN", "TPBANK", &["tpbank", "tp bank"], &[]),
    ("VN", "SACOMBANK", &["sacombank", "sacom bank"], &[]),
    ("VN", "SHB", &["shb"], &[]),
    ("VN", "VIB", &["vib"], &[]),
    ("VN", "HDBANK", &["hdbank", "hd bank"], &[]),
    ("VN", "OCB", &["ocb"], &[]),
    ("VN", "MSB", &["msb", "maritime bank"], &[]),
    ("VN", "EXIMBANK", &["eximbank"], &[]),
    ("VN", "LPBANK", &["lpbank", "lienvietpostbank"], &[]),
    ("VN", "SCBVN", &["scb sài gòn", "ngân hàng sài gòn"], &[]),
    ("VN", "NAMABANK", &["nam a bank", "namabank"], &[]),
    // Thailand.
    ("TH", "KBANK", &["kbank", "kasikorn", "kasikornbank", "กสิกร", "กสิกรไทย", "ธ.กสิกร", "ธ.กสิกรไทย"], &[]),
    ("TH", "SCB", &["scb", "siam commercial", "ไทยพาณิชย์", "ธ.ไทยพาณิชย์"], &[]),
    ("TH", "BBL", &["bbl", "bangkok bank", "บัวหลวง", "ธ.กรุงเทพ", "ธนาคารกรุงเทพ"], &["กรุงเทพ"]),
    ("TH", "KTB", &["ktb", "krungthai", "krung thai", "กรุงไทย", "ธ.กรุงไทย"], &[]),
    ("TH", "BAY", &["krungsri", "bank of ayudhya", "กรุงศรี", "ธ.กรุงศรี"], &[]),
    ("TH", "TTB", &["ttb", "tmbthanachart", "ทีทีบี", "ทหารไทยธนชาต", "ทหารไทย"], &[]),
    ("TH", "GSB", &["gsb", "ออมสิน", "ธ.ออมสิน"], &[]),
    ("TH", "BAAC", &["baac", "ธ.ก.ส."], &[]),
    // Malaysia.
    ("MY", "MAYBANK", &["maybank", "maybank2u", "maybank islamic"], &[]),
    ("MY", "CIMB", &["cimb", "cimb bank", "cimb clicks"], &[]),
    ("MY", "PBB", &["public bank"], &["pbb", "pbe"]),
    ("MY", "RHB", &["rhb", "rhb bank"], &[]),
    ("MY", "HLB", &["hong leong", "hong leong bank", "hlb"], &[]),
    ("MY", "AMBANK", &["ambank"], &[]),
    ("MY", "BIMB", &["bank islam", "bimb"], &[]),
    ("MY", "BSN", &["bsn", "bank simpanan nasional"], &[]),
    ("MY", "AFFIN", &["affin bank", "affin"], &[]),
    ("MY", "ALLIANCE", &["alliance bank"], &[]),
    ("MY", "BKRM", &["bank rakyat"], &[]),
    ("MY", "AGROBANK", &["agrobank"], &[]),
    // Philippines.
    ("PH", "BDO", &["bdo", "banco de oro"], &[]),
    ("PH", "BPI", &["bpi", "bank of the philippine islands"], &[]),
    ("PH", "METROBANK", &["metrobank", "metro bank"], &[]),
    ("PH", "LANDBANK", &["landbank", "land bank"], &[]),
    ("PH", "PNB", &["pnb", "philippine national bank"], &[]),
    ("PH", "SECB", &["security bank"], &[]),
    ("PH", "UBP", &["unionbank", "union bank"], &[]),
    ("PH", "RCBC", &["rcbc"], &[]),
    ("PH", "CHINABANK", &["chinabank", "china bank"], &[]),
    ("PH", "EASTWEST", &["eastwest bank", "eastwest"], &[]),
    // Singapore.
    ("SG", "DBS", &["dbs", "dbs bank"], &[]),
    ("SG", "POSB", &["posb"], &[]),
    ("SG", "OCBC", &["ocbc", "ocbc bank"], &[]),
    ("SG", "UOB", &["uob", "uob bank"], &[]),
    ("SG", "STANCHART", &["standard chartered", "stanchart"], &[]),
    ("SG", "HSBC", &["hsbc"], &[]),
];

/// How many digits account numbers have at `code`'s bank: the country's
/// range, narrowed for banks whose numbers have one length (`BCA`: 10).
/// Vietnamese banks sell chosen numbers (a phone number as the account),
/// so their range stays wide.
/// Keeps a bank's call-centre number (`Halo BCA 1500888`) or a phone
/// number next to a bank's name from reading as an account.
pub(super) fn account_digits(code: &str) -> (usize, usize) {
    let exact = match code {
        "BCA" | "BNI" | "BSI" | "KBANK" | "SCB" | "BBL" | "KTB" | "BAY" | "TTB" | "DBS" | "UOB" | "BPI"
        | "LANDBANK" => 10,
        "MANDIRI" | "METROBANK" => 13,
        "BRI" => 15,
        "GSB" | "BAAC" => 12,
        "POSB" => 9,
        _ => 0,
    };
    if exact > 0 {
        return (exact, exact);
    }
    let country = BANKS.iter().find(|(_, c, _, _)| *c == code).map_or("", |(country, ..)| *country);
    match country {
        "ID" | "MY" | "PH" => (10, 16),
        "TH" => (10, 12),
        "SG" => (9, 12),
        _ => (6, 19),
    }
}

/// E-wallets and payment proxies: (provider, strong names, weak names).
#[rustfmt::skip]
const EWALLETS: &[(&str, &[&str], &[&str])] = &[
    ("dana", &["e-wallet dana", "akun dana"], &["dana"]),
    ("ovo", &["ovo"], &[]),
    ("gopay", &["gopay", "go-pay", "go pay"], &[]),
    ("shopeepay", &["shopeepay", "shopee pay"], &[]),
    ("linkaja", &["linkaja", "link aja"], &[]),
    ("gcash", &["gcash", "g-cash", "g cash"], &[]),
    ("maya", &["paymaya"], &["maya"]),
    ("momo", &["momo", "ví momo", "vi momo"], &[]),
    ("zalopay", &["zalopay", "zalo pay"], &[]),
    ("viettelpay", &["viettelpay", "viettel pay", "viettel money"], &[]),
    ("truemoney", &["truemoney", "true money", "truemoney wallet", "ทรูมันนี่", "ทรูมันนี่วอลเล็ท", "ทรูวอลเล็ท"], &[]),
    ("tng", &["touch 'n go", "touch \u{2019}n go", "touch n go", "touch'n go", "touch & go", "touchngo", "tng", "tng ewallet", "tng e-wallet"], &[]),
    ("grabpay", &["grabpay", "grab pay"], &[]),
    ("boost", &["boost ewallet", "boost e-wallet"], &["boost"]),
    ("promptpay", &["promptpay", "prompt pay", "พร้อมเพย์"], &[]),
    ("paynow", &["paynow"], &["pay now"]),
    ("duitnow", &["duitnow", "duit now"], &[]),
];

#[rustfmt::skip]
const BANK_WORDS: &[&str] = &[
    "bank", "ngân hàng", "ngan hang", "ธนาคาร", "ธ.", "banco",
];

#[rustfmt::skip]
const ACCOUNT_WORDS: &[&str] = &[
    // Indonesian.
    "rekening", "rek", "rek.", "no rek", "no. rek", "no.rek", "norek", "nomor rekening", "no rekening",
    "transfer ke", "tf ke", "trf ke",
    // Vietnamese.
    "stk", "số tài khoản", "so tai khoan", "số tk", "so tk", "tk", "tài khoản", "tai khoan",
    "chuyển khoản", "chuyen khoan", "ck",
    // Thai.
    "บัญชี", "เลขที่บัญชี", "เลขบัญชี", "โอนเข้า", "โอนเงินเข้า",
    // Malay.
    "akaun", "no akaun", "no. akaun", "nombor akaun", "akaun bank",
    // Tagalog and English.
    "account", "acct", "acc", "acc no", "acct no", "account no", "account number",
    "a/c", "savings", "savings account", "beneficiary", "ipadala sa", "padala sa",
];

#[rustfmt::skip]
const HOLDER_WORDS: &[&str] = &[
    "a/n", "a.n", "a.n.", "an.", "atas nama", "ctk", "chủ tk", "chủ tài khoản", "chu tai khoan", "tên tk",
    "ชื่อบัญชี", "nama akaun", "nama pemegang akaun", "account name", "acct name", "acc name", "pangalan",
];

#[rustfmt::skip]
const PHONE_WORDS: &[&str] = &[
    // Indonesian and Malay.
    "tel", "tel.", "telp", "telp.", "telpon", "telepon", "telefon", "hp", "no hp", "no. hp", "nomor hp", "handphone",
    "hubungi", "kontak", "hubungi kami", "no tel", "no. tel", "nombor telefon", "sms", "wa", "w.a", "w/a",
    "whatsapp", "whats app", "whatapp", "watsap", "wasap",
    // Vietnamese.
    "sđt", "sdt", "đt", "điện thoại", "dien thoai", "liên hệ", "lien he", "lh", "gọi", "nhắn tin", "hotline",
    // Thai.
    "โทร", "โทร.", "เบอร์", "เบอร์โทร", "ติดต่อ", "มือถือ",
    // Tagalog and English.
    "call", "text", "txt", "cel", "cell", "cellphone", "cp", "cp no", "tawag", "mobile", "mobile no", "phone",
    "contact", "contact no", "contact number", "tel no", "hand phone", "ph",
];

/// Platforms: (platform, names).
#[rustfmt::skip]
const PLATFORMS: &[(Platform, &[&str])] = &[
    (Platform::Telegram, &["telegram", "tele", "tg", "tlgrm", "telegram id", "id telegram", "tele id", "kênh telegram", "เทเลแกรม", "เทเลแกรม id"]),
    (Platform::Line, &["line", "line id", "id line", "lineid", "line@", "ไลน์", "ไลน์ไอดี", "แอดไลน์", "ไอดีไลน์", "ไลน์ id", "id ไลน์"]),
    (Platform::Instagram, &["instagram", "ig", "insta", "ig id", "ไอจี"]),
    (Platform::Tiktok, &["tiktok", "tik tok", "ติ๊กต็อก"]),
    (Platform::Facebook, &["facebook", "fb", "fanpage", "page fb", "เฟซบุ๊ก", "เฟสบุ๊ค", "เฟสบุ๊ก"]),
    (Platform::X, &["twitter"]),
    (Platform::Zalo, &["zalo", "zalo id"]),
    (Platform::Wechat, &["wechat", "weixin", "wechat id"]),
    (Platform::Signal, &["signal"]),
    (Platform::Viber, &["viber"]),
];

/// Chains and token standards: (chain, names).
#[rustfmt::skip]
const CHAINS: &[(&str, &[&str])] = &[
    ("tron", &["trc20", "trc-20", "trc 20", "tron", "trx"]),
    ("eth", &["erc20", "erc-20", "erc 20", "ethereum", "eth"]),
    ("bsc", &["bep20", "bep-20", "bep 20", "bsc", "bnb smart chain", "binance smart chain", "bnb chain"]),
    ("polygon", &["polygon", "matic"]),
    ("arbitrum", &["arbitrum"]),
    ("btc", &["btc", "bitcoin"]),
];

#[rustfmt::skip]
const NOT_PHONE: &[&str] = &[
    // Identity numbers.
    "nik", "ktp", "no ktp", "no. ktp", "nkk", "npwp", "cccd", "cmnd", "căn cước", "can cuoc", "căn cước công dân",
    "ic", "no ic", "no. ic", "i/c", "mykad", "nric", "fin", "passport", "paspor", "passport no", "hộ chiếu",
    "id no", "id no.", "id number", "national id", "บัตรประชาชน", "เลขบัตร", "เลขประจำตัว", "sss", "philhealth",
    "pag-ibig", "umid", "mã số thuế", "mst",
    // Postal codes.
    "kode pos", "kodepos", "postcode", "poskod", "postal code", "zip", "zip code", "mã bưu chính", "รหัสไปรษณีย์",
    // Codes and references.
    "job code", "job id", "kode lowongan", "kode", "ref", "ref no", "ref.", "no. ref", "reference", "invoice",
    "order id", "order no", "no. order", "nomor order", "no pesanan", "nomor pesanan", "resi", "no resi", "tracking", "awb", "mã đơn", "mã đơn hàng", "mã số", "no. surat",
    "nomor surat", "số hiệu", "quyết định số", "otp", "kode otp", "pin", "serial", "case no",
    "คดี", "เลขที่คดี", "เลขพัสดุ", "laporan", "no. laporan",
];

/// Currencies written before amounts (`Rp 2.500.000`, `RM 1 299`, `$1,500`)
/// or apart after them (`1.500.000 VND`, `25,000 บาท`). Units and
/// currencies glued to digits (`500k`, `15tr`, `50kg`) end the run with a
/// letter and need no phrase.
#[rustfmt::skip]
const CURRENCIES: &[&str] = &[
    "rp", "rp.", "idr", "rm", "myr", "vnd", "vnđ", "đ", "₫", "đồng", "thb", "฿", "บาท", "php", "₱", "peso", "pesos",
    "sgd", "s$", "usd", "us$", "$", "usdt", "juta", "ribu", "triệu", "nghìn", "ngàn", "tỷ", "ringgit", "baht",
    "dollar", "dollars", "€", "eur", "¥", "rupiah", "ล้าน",
];

/// Units written apart after a number (`160 cm`, `25 tahun`).
#[rustfmt::skip]
const UNITS: &[&str] = &[
    "cm", "kg", "tahun", "tuổi", "tuoi", "years", "year", "orang", "người", "persen", "unit", "units", "slot", "slots",
];

fn push(out: &mut Vec<Phrase>, texts: &[&'static str], cue: Cue, country: Option<Country>) {
    for &text in texts {
        out.push(Phrase { text, cue, country });
    }
}

fn phrases() -> Vec<Phrase> {
    let mut out = Vec::new();
    for &(country, code, strong, weak) in BANKS {
        push(&mut out, strong, bank(code), Some(country));
        push(&mut out, weak, weak_bank(code), Some(country));
    }
    for &(provider, strong, weak) in EWALLETS {
        push(&mut out, strong, wallet(provider), None);
        push(&mut out, weak, weak_wallet(provider), None);
    }
    push(&mut out, BANK_WORDS, Cue::BankWord, None);
    push(&mut out, ACCOUNT_WORDS, Cue::AccountWord, None);
    push(&mut out, HOLDER_WORDS, Cue::HolderWord, None);
    push(&mut out, PHONE_WORDS, Cue::PhoneWord, None);
    push(&mut out, &["whatsapp", "wa", "whats app", "วอทส์แอป", "วอทแอป"], Cue::Platform(Platform::Whatsapp), None);
    for &(platform, names) in PLATFORMS {
        push(&mut out, names, Cue::Platform(platform), None);
    }
    for &(chain, names) in CHAINS {
        push(&mut out, names, Cue::Chain(chain), None);
    }
    push(&mut out, NOT_PHONE, Cue::NotPhone, None);
    push(&mut out, CURRENCIES, Cue::Currency, None);
    push(&mut out, UNITS, Cue::Unit, None);
    out
}

/// Lower, upper and capitalized forms of a phrase with non-ASCII letters
/// (the automaton folds ASCII case only).
fn case_forms(text: &str) -> Vec<String> {
    let lower = text.to_lowercase();
    if lower.is_ascii() {
        return vec![lower];
    }
    let mut forms = vec![lower.clone(), text.to_uppercase()];
    let mut chars = lower.chars();
    if let Some(first) = chars.next() {
        forms.push(first.to_uppercase().chain(chars).collect());
    }
    forms.sort();
    forms.dedup();
    forms
}

impl Lexicon {
    /// Builds the automaton over every phrase.
    ///
    /// # Panics
    ///
    /// Never for the built-in tables (a fixed, small pattern set); the
    /// automaton builder fails only past its size limits.
    pub(super) fn new() -> Lexicon {
        let mut patterns: Vec<String> = Vec::new();
        let mut readings: Vec<Vec<(Option<Country>, Cue)>> = Vec::new();
        let mut index = std::collections::HashMap::<String, usize>::new();
        for phrase in phrases() {
            for form in case_forms(phrase.text) {
                let key = form.to_ascii_lowercase();
                let id = *index.entry(key).or_insert_with(|| {
                    patterns.push(form.clone());
                    readings.push(Vec::new());
                    patterns.len() - 1
                });
                if let Some(r) = readings.get_mut(id)
                    && !r.contains(&(phrase.country, phrase.cue))
                {
                    r.push((phrase.country, phrase.cue));
                }
            }
        }
        let bounded = patterns.iter().map(|p| p.chars().any(char::is_alphabetic) && !has_thai(p)).collect();
        #[allow(clippy::expect_used)]
        let automaton = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::LeftmostLongest)
            .kind(Some(AhoCorasickKind::DFA))
            .build(&patterns)
            .expect("the built-in phrase table compiles");
        Lexicon { automaton, readings, bounded }
    }

    /// Every phrase in `text`, in order, with readings resolved for
    /// `region` (a phrase with several readings yields one hit per
    /// distinct kind of cue).
    pub(super) fn find(&self, text: &str, region: Option<&str>) -> Vec<Hit> {
        let mut hits = Vec::new();
        for m in self.automaton.find_iter(text) {
            let id = m.pattern().as_usize();
            let (start, end) = (m.start(), m.end());
            let Some(readings) = self.readings.get(id) else { continue };
            if self.bounded.get(id).copied().unwrap_or(false) {
                let after_number = readings.iter().any(|(_, c)| matches!(c, Cue::Unit | Cue::Currency));
                if !is_word_at(text, start, end, after_number) {
                    continue;
                }
            }
            push_readings(&mut hits, readings, start, end, region);
        }
        hits
    }
}

/// One hit per reading; for banks, only the reading of `region`'s bank
/// when the name is shared (else the first).
fn push_readings(
    hits: &mut Vec<Hit>,
    readings: &[(Option<Country>, Cue)],
    start: usize,
    end: usize,
    region: Option<&str>,
) {
    let mut bank_done = false;
    let regional = readings.iter().find(|(c, cue)| {
        matches!(cue, Cue::Bank { .. }) && region.is_some_and(|r| c.is_some_and(|c| c.eq_ignore_ascii_case(r)))
    });
    for (_, cue) in readings {
        if matches!(cue, Cue::Bank { .. }) {
            if bank_done {
                continue;
            }
            bank_done = true;
            let chosen = regional.map_or(*cue, |(_, c)| *c);
            hits.push(Hit { start, end, cue: chosen });
        } else {
            hits.push(Hit { start, end, cue: *cue });
        }
    }
}

fn has_thai(s: &str) -> bool {
    s.chars().any(|c| ('\u{0E00}'..='\u{0E7F}').contains(&c))
}

/// Whether `start..end` stands as a word: no letter (any script) before
/// it, and no digit either unless the phrase can be a unit or currency
/// written after a number (`50kg`, `1.500.000đ`); no letter after it
/// (digits may follow: `Rp2.500.000`, `TK0071...`), except the Indonesian
/// suffix `-nya` (`rekeningnya`).
fn is_word_at(text: &str, start: usize, end: usize, after_number: bool) -> bool {
    let before = text.get(..start).and_then(|s| s.chars().next_back());
    let rest = text.get(end..).unwrap_or_default();
    let before_ok = match before {
        Some(c) if c.is_alphabetic() => false,
        Some(c) if c.is_ascii_digit() => after_number,
        _ => true,
    };
    let after_ok = match rest.chars().next() {
        Some(c) if c.is_alphabetic() => {
            let suffix = rest.get(..3).is_some_and(|s| s.eq_ignore_ascii_case("nya"));
            suffix && !rest[3..].chars().next().is_some_and(char::is_alphabetic)
        }
        _ => true,
    };
    before_ok && after_ok
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn cues(text: &str, region: Option<&str>) -> Vec<(String, Cue)> {
        let lex = Lexicon::new();
        lex.find(text, region).into_iter().map(|h| (text[h.start..h.end].to_string(), h.cue)).collect()
    }

    #[test]
    fn phrases_stand_as_words() {
        assert!(cues("rekrutmen", None).is_empty(), "rek inside a word");
        let found = cues("No. Rek BCA: 1234567890", None);
        assert!(found.iter().any(|(t, c)| t == "No. Rek" && *c == Cue::AccountWord), "{found:?}");
        assert!(found.iter().any(|(t, c)| t == "BCA" && *c == bank("BCA")), "{found:?}");
        let found = cues("Rp2.500.000", None);
        assert_eq!(found, vec![("Rp".to_string(), Cue::Currency)]);
    }

    #[test]
    fn non_ascii_phrases_match_in_any_case() {
        let found = cues("SỐ TÀI KHOẢN: 0071000654321 Vietcombank", None);
        assert!(found.iter().any(|(t, c)| t == "SỐ TÀI KHOẢN" && *c == Cue::AccountWord), "{found:?}");
        let found = cues("Số tài khoản", None);
        assert!(found.iter().any(|(_, c)| *c == Cue::AccountWord), "{found:?}");
        // Thai is written without spaces.
        let found = cues("โอนเข้าบัญชีกสิกร123", None);
        assert!(found.iter().any(|(t, c)| t == "กสิกร" && *c == bank("KBANK")), "{found:?}");
    }

    #[test]
    fn shared_bank_names_follow_the_region() {
        assert!(cues("CIMB 1234", Some("ID")).iter().any(|(_, c)| *c == bank("CIMBNIAGA")));
        assert!(cues("CIMB 1234", Some("MY")).iter().any(|(_, c)| *c == bank("CIMB")));
        assert_eq!(cues("CIMB 1234", Some("MY")).iter().filter(|(_, c)| matches!(c, Cue::Bank { .. })).count(), 1);
    }

    #[test]
    fn platform_handle_shapes() {
        assert!(Platform::Telegram.accepts("LokerJepang_Resmi"));
        assert!(!Platform::Telegram.accepts("abc"), "too short");
        assert!(!Platform::Telegram.accepts("1abcdef"), "must start with a letter");
        assert!(Platform::Line.accepts("job.th-2024"));
        assert!(Platform::Instagram.accepts("loker.jepang"));
        assert!(!Platform::Instagram.accepts("loker."));
        assert!(!Platform::Whatsapp.accepts("anything"));
    }
}
