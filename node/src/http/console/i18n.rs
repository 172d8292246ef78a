//! The console's one message catalogue, in English, Bahasa Indonesia and
//! Tiếng Việt.
//!
//! Every string a page shows is a [`Msg`]; [`Msg::text`] gives it in a
//! [`Lang`]. The catalogue is one macro invocation with three texts per
//! message, so a message without all three translations does not compile.
//!
//! The language of a request ([`Lang::choose`]): `?lang=` (the switch in
//! the header, remembered in the `jaring_lang` cookie), else that cookie,
//! else the browser's `Accept-Language` (by quality), else English.

/// A language the console speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    /// English.
    En,
    /// Bahasa Indonesia.
    Id,
    /// Tiếng Việt.
    Vi,
}

impl Lang {
    /// Every language, in the order of the switch.
    pub const ALL: [Lang; 3] = [Lang::En, Lang::Id, Lang::Vi];

    /// The BCP 47 tag (`lang` attribute, `?lang=`, the cookie).
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Id => "id",
            Lang::Vi => "vi",
        }
    }

    /// The language's own name, for the switch.
    pub fn name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::Id => "Bahasa Indonesia",
            Lang::Vi => "Tiếng Việt",
        }
    }

    /// The language of a tag (`id`, `vi-VN`, `EN-gb`; `in`, the old code
    /// of Indonesian, too).
    pub fn of_tag(tag: &str) -> Option<Lang> {
        let primary = tag.trim().split(['-', '_']).next().unwrap_or("").to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Lang::En),
            "id" | "in" => Some(Lang::Id),
            "vi" => Some(Lang::Vi),
            _ => None,
        }
    }

    /// The best language of an `Accept-Language` header (RFC 9110
    /// §12.5.4): the highest quality among the ones spoken here, the first
    /// listed on a tie; `None` when none is spoken.
    pub fn from_accept_language(header: &str) -> Option<Lang> {
        let mut best: Option<(u16, Lang)> = None;
        for item in header.split(',').take(32) {
            let mut parts = item.split(';');
            let Some(lang) = parts.next().and_then(Lang::of_tag) else { continue };
            let q = parts.find_map(|p| p.trim().strip_prefix("q=").map(str::to_string)).map_or(1000, |q| quality(&q));
            if q > 0 && best.is_none_or(|(b, _)| q > b) {
                best = Some((q, lang));
            }
        }
        best.map(|(_, l)| l)
    }

    /// The language of a request: the switch, the cookie, the header.
    pub fn choose(switch: Option<&str>, cookie: Option<&str>, accept: Option<&str>) -> Lang {
        switch
            .and_then(Lang::of_tag)
            .or_else(|| cookie.and_then(Lang::of_tag))
            .or_else(|| accept.and_then(Lang::from_accept_language))
            .unwrap_or(Lang::En)
    }
}

/// A quality value (`0`, `0.8`, `1.000`) in thousandths; 0 when it does
/// not parse.
fn quality(q: &str) -> u16 {
    let q = q.trim();
    let (int, frac) = q.split_once('.').unwrap_or((q, ""));
    let whole: u16 = match int {
        "0" => 0,
        "1" => 1000,
        _ => return 0,
    };
    if frac.len() > 3 || !frac.chars().all(|c| c.is_ascii_digit()) {
        return 0;
    }
    let digits = format!("{frac:0<3}");
    let thousandths: u16 = digits.parse().unwrap_or(0);
    if whole == 1000 { if thousandths == 0 { 1000 } else { 0 } } else { thousandths }
}

macro_rules! catalogue {
    ($( $(#[$meta:meta])* $name:ident => [$en:literal, $id:literal, $vi:literal] ),+ $(,)?) => {
        /// One string of the console.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Msg {
            $( $(#[$meta])* $name, )+
        }

        impl Msg {
            /// Every message.
            pub const ALL: &'static [Msg] = &[ $( Msg::$name ),+ ];

            /// The message in `lang`.
            pub fn text(self, lang: Lang) -> &'static str {
                let [en, id, vi] = match self { $( Msg::$name => [$en, $id, $vi], )+ };
                match lang {
                    Lang::En => en,
                    Lang::Id => id,
                    Lang::Vi => vi,
                }
            }
        }
    };
}

catalogue! {
    /// The product.
    Console => ["Jaring console", "Konsol Jaring", "Bảng điều khiển Jaring"],
    /// Skip link.
    SkipToContent => ["Skip to content", "Lewati ke konten", "Chuyển đến nội dung"],
    /// Nav.
    Home => ["Home", "Beranda", "Trang chủ"],
    /// Nav.
    Lookup => ["Lookup", "Pencarian", "Tra cứu"],
    /// Nav.
    Indicators => ["Indicators", "Indikator", "Chỉ báo"],
    /// Nav.
    Submit => ["Submit", "Kirim", "Gửi"],
    /// Nav.
    Review => ["Review queue", "Antrean tinjauan", "Hàng đợi xem xét"],
    /// Nav.
    Takedowns => ["Takedowns", "Penurunan konten", "Gỡ bỏ"],
    /// Nav.
    Federation => ["Federation", "Federasi", "Liên kết"],
    /// Nav.
    Audit => ["Audit log", "Log audit", "Nhật ký kiểm toán"],
    /// Main navigation label.
    Navigation => ["Main navigation", "Navigasi utama", "Điều hướng chính"],
    /// Language switch label.
    Language => ["Language", "Bahasa", "Ngôn ngữ"],
    /// Button.
    LogOut => ["Log out", "Keluar", "Đăng xuất"],
    /// Login page.
    LogIn => ["Log in", "Masuk", "Đăng nhập"],
    /// Login field.
    Token => ["Access token", "Token akses", "Mã truy cập"],
    /// Login help.
    TokenHelp => [
        "A token from `jaring token create` (role analyst, auditor, platform or admin).",
        "Token dari `jaring token create` (peran analyst, auditor, platform, atau admin).",
        "Mã từ `jaring token create` (vai trò analyst, auditor, platform hoặc admin)."
    ],
    /// Login refused.
    LoginFailed => [
        "This token is not accepted.",
        "Token ini tidak diterima.",
        "Mã này không được chấp nhận."
    ],
    /// Too many attempts.
    TooManyAttempts => [
        "Too many attempts; wait a minute and try again.",
        "Terlalu banyak percobaan; tunggu satu menit lalu coba lagi.",
        "Quá nhiều lần thử; hãy đợi một phút rồi thử lại."
    ],
    /// Who is logged in.
    SignedInAs => ["Signed in as", "Masuk sebagai", "Đăng nhập với"],
    /// Role.
    Role => ["Role", "Peran", "Vai trò"],
    /// TLP ceiling.
    TlpCeiling => ["TLP ceiling", "Batas TLP", "Mức TLP tối đa"],
    /// 403 page.
    Forbidden => [
        "Your role may not open this page.",
        "Peran Anda tidak boleh membuka halaman ini.",
        "Vai trò của bạn không được mở trang này."
    ],
    /// CSRF refusal.
    BadForm => [
        "This form expired or did not come from the console; reload the page and try again.",
        "Formulir ini kedaluwarsa atau tidak berasal dari konsol; muat ulang halaman lalu coba lagi.",
        "Biểu mẫu này đã hết hạn hoặc không đến từ bảng điều khiển; hãy tải lại trang và thử lại."
    ],
    /// 404.
    NotFound => ["Not found.", "Tidak ditemukan.", "Không tìm thấy."],
    /// Store failure.
    Failed => [
        "The node could not answer; try again.",
        "Node tidak dapat menjawab; coba lagi.",
        "Nút không thể trả lời; hãy thử lại."
    ],
    /// Rate limit.
    RateLimited => [
        "Too many requests for this token; wait a moment.",
        "Terlalu banyak permintaan untuk token ini; tunggu sebentar.",
        "Quá nhiều yêu cầu cho mã này; hãy đợi một lát."
    ],
    /// Home: counts.
    CountsByKind => ["Indicators by kind", "Indikator per jenis", "Chỉ báo theo loại"],
    /// Home: counts.
    CountsByOrigin => ["Indicators by origin", "Indikator per asal", "Chỉ báo theo nguồn"],
    /// Home: counts.
    CountsByCategory => ["Indicators by category", "Indikator per kategori", "Chỉ báo theo danh mục"],
    /// Home: categories are counted over the newest entries.
    CategoriesSample => [
        "Over the newest entries of the log",
        "Dari entri terbaru di log",
        "Trên các mục mới nhất của nhật ký"
    ],
    /// Home: chart.
    Arrivals7d => ["New entries, last 7 days", "Entri baru, 7 hari terakhir", "Mục mới, 7 ngày qua"],
    /// Home: chart's alternative text.
    ArrivalsChart => [
        "Bar chart of new log entries per day",
        "Diagram batang entri log baru per hari",
        "Biểu đồ cột số mục nhật ký mới mỗi ngày"
    ],
    /// Home.
    Peers => ["Peers", "Mitra", "Nút ngang hàng"],
    /// Home.
    OpenReview => ["Open review items", "Item tinjauan terbuka", "Mục đang chờ xem xét"],
    /// Home.
    OverdueTakedowns => ["Overdue takedowns", "Penurunan yang terlambat", "Yêu cầu gỡ bỏ quá hạn"],
    /// Nothing to show.
    Nothing => ["None.", "Tidak ada.", "Không có."],
    /// Column.
    Kind => ["Kind", "Jenis", "Loại"],
    /// Column.
    Count => ["Count", "Jumlah", "Số lượng"],
    /// Column.
    Origin => ["Origin", "Asal", "Nguồn"],
    /// Column.
    Country => ["Country", "Negara", "Quốc gia"],
    /// Column.
    Value => ["Value", "Nilai", "Giá trị"],
    /// Column.
    Categories => ["Categories", "Kategori", "Danh mục"],
    /// Column.
    Category => ["Category", "Kategori", "Danh mục"],
    /// Column.
    Confidence => ["Confidence", "Keyakinan", "Độ tin cậy"],
    /// Column.
    Tlp => ["TLP", "TLP", "TLP"],
    /// Column.
    Version => ["Version", "Versi", "Phiên bản"],
    /// Column.
    Versions => ["Versions", "Versi", "Các phiên bản"],
    /// Column.
    Score => ["Score", "Skor", "Điểm"],
    /// Column.
    Status => ["Status", "Status", "Trạng thái"],
    /// Column.
    State => ["State", "Keadaan", "Tình trạng"],
    /// Column.
    Lag => ["Lag", "Jeda", "Độ trễ"],
    /// Column: this node's position in the peer's log / the peer's newest.
    CursorHead => ["Cursor / head", "Kursor / ujung log", "Con trỏ / đầu nhật ký"],
    /// Column.
    LastContact => ["Last contact", "Kontak terakhir", "Liên lạc lần cuối"],
    /// Column.
    Trust => ["Trust", "Kepercayaan", "Mức tin cậy"],
    /// Column.
    Platform => ["Platform", "Platform", "Nền tảng"],
    /// Column.
    Due => ["Due", "Tenggat", "Hạn"],
    /// Column.
    Requested => ["Requested", "Diminta", "Đã yêu cầu"],
    /// Column.
    When => ["When", "Waktu", "Thời điểm"],
    /// Column.
    Who => ["Who", "Siapa", "Ai"],
    /// Column.
    Action => ["Action", "Tindakan", "Hành động"],
    /// Column.
    Detail => ["Detail", "Rincian", "Chi tiết"],
    /// Column.
    Reason => ["Reason", "Alasan", "Lý do"],
    /// Column.
    Note => ["Note", "Catatan", "Ghi chú"],
    /// Column.
    KeyId => ["Signing key", "Kunci penanda tangan", "Khóa ký"],
    /// Column.
    Signature => ["Signature", "Tanda tangan", "Chữ ký"],
    /// Signature state.
    Verified => ["verified", "terverifikasi", "đã xác minh"],
    /// Column.
    FirstSeen => ["First seen", "Pertama terlihat", "Thấy lần đầu"],
    /// Column.
    LastSeen => ["Last seen", "Terakhir terlihat", "Thấy lần cuối"],
    /// Lookup box.
    LookupValue => [
        "Value (any form: phone number, URL, domain, e-mail, account, wallet)",
        "Nilai (bentuk apa pun: nomor telepon, URL, domain, e-mail, rekening, dompet)",
        "Giá trị (mọi dạng: số điện thoại, URL, tên miền, e-mail, tài khoản, ví)"
    ],
    /// Button.
    Search => ["Look up", "Cari", "Tra cứu"],
    /// Lookup: nothing.
    NotListed => [
        "Not listed (or not visible to your token).",
        "Tidak terdaftar (atau tidak terlihat oleh token Anda).",
        "Không có trong danh sách (hoặc mã của bạn không được xem)."
    ],
    /// Lookup: the assertions.
    Assertions => ["Assertions by origin", "Pernyataan per asal", "Khẳng định theo nguồn"],
    /// Lookup: feedback.
    FeedbackTimeline => ["Feedback timeline", "Linimasa umpan balik", "Dòng thời gian phản hồi"],
    /// Lookup: takedowns.
    TakedownStatus => ["Takedown status per platform", "Status penurunan per platform", "Tình trạng gỡ bỏ theo nền tảng"],
    /// Form.
    ReportSighting => ["Report a sighting", "Laporkan penampakan", "Báo cáo đã thấy"],
    /// Form.
    ReportFalsePositive => ["Report a false positive", "Laporkan positif palsu", "Báo cáo nhận diện sai"],
    /// Form.
    RequestTakedown => ["Request a takedown", "Minta penurunan", "Yêu cầu gỡ bỏ"],
    /// Done.
    FeedbackRecorded => ["Feedback recorded.", "Umpan balik dicatat.", "Đã ghi nhận phản hồi."],
    /// Done.
    TakedownRequested => ["Takedown requested.", "Penurunan diminta.", "Đã gửi yêu cầu gỡ bỏ."],
    /// Done.
    TakedownAlreadyOpen => [
        "A takedown is already open for this value and platform.",
        "Penurunan untuk nilai dan platform ini sudah terbuka.",
        "Đã có yêu cầu gỡ bỏ đang mở cho giá trị và nền tảng này."
    ],
    /// Submit: one indicator.
    SubmitOne => ["One indicator", "Satu indikator", "Một chỉ báo"],
    /// Submit: paste box.
    PasteAdvert => ["Paste an advert", "Tempel iklan", "Dán quảng cáo"],
    /// Submit: paste box label.
    AdvertText => [
        "Advert text (indicators are extracted from it)",
        "Teks iklan (indikator diekstrak darinya)",
        "Nội dung quảng cáo (các chỉ báo được trích xuất từ đó)"
    ],
    /// Button.
    Extract => ["Extract candidates", "Ekstrak kandidat", "Trích xuất ứng viên"],
    /// Extract result.
    Candidates => ["Candidates", "Kandidat", "Ứng viên"],
    /// Extract result.
    NoCandidates => ["No candidates found.", "Tidak ada kandidat.", "Không tìm thấy ứng viên."],
    /// Button.
    PublishChosen => ["Publish the chosen ones", "Terbitkan yang dipilih", "Công bố các mục đã chọn"],
    /// Checkbox.
    Publish => ["Publish", "Terbitkan", "Công bố"],
    /// Column.
    AsWritten => ["As written", "Seperti tertulis", "Như đã viết"],
    /// Column.
    Notes => ["Notes", "Catatan", "Ghi chú"],
    /// Result.
    Stored => ["stored", "disimpan", "đã lưu"],
    /// Result.
    Refused => ["refused", "ditolak", "bị từ chối"],
    /// Result heading.
    Results => ["Results", "Hasil", "Kết quả"],
    /// Nothing chosen.
    NothingChosen => ["Nothing was chosen.", "Tidak ada yang dipilih.", "Chưa chọn mục nào."],
    /// Field.
    Description => ["Description", "Deskripsi", "Mô tả"],
    /// Button.
    Accept => ["Accept", "Terima", "Chấp nhận"],
    /// Button.
    Reject => ["Reject", "Tolak", "Từ chối"],
    /// Review column.
    Peer => ["Peer", "Mitra", "Nút ngang hàng"],
    /// Review column.
    Received => ["Received", "Diterima", "Đã nhận"],
    /// Review column.
    AlreadyHeld => ["Already held here", "Sudah disimpan di sini", "Đã có tại đây"],
    /// Review done.
    Decided => ["Decision recorded.", "Keputusan dicatat.", "Đã ghi nhận quyết định."],
    /// Takedowns: board.
    Board => ["Board", "Papan", "Bảng"],
    /// Takedowns: service levels.
    TimeToOutcome => [
        "Time to outcome per platform (last 30 days)",
        "Waktu hingga hasil per platform (30 hari terakhir)",
        "Thời gian đến kết quả theo nền tảng (30 ngày qua)"
    ],
    /// Column.
    Median => ["Median", "Median", "Trung vị"],
    /// Column.
    Open => ["Open", "Terbuka", "Đang mở"],
    /// Column.
    Actioned => ["Actioned", "Ditindak", "Đã xử lý"],
    /// Overdue marker.
    Overdue => ["overdue", "terlambat", "quá hạn"],
    /// Indicators filter.
    Filter => ["Filter", "Saring", "Lọc"],
    /// Any value of a filter.
    Any => ["any", "semua", "tất cả"],
    /// Filter.
    MinScore => ["Minimum score", "Skor minimum", "Điểm tối thiểu"],
    /// Paging.
    NextPage => ["Next page", "Halaman berikutnya", "Trang sau"],
    /// Detail.
    VersionHistory => ["Version history", "Riwayat versi", "Lịch sử phiên bản"],
    /// Federation.
    Agreements => ["Sharing agreements", "Perjanjian berbagi", "Thỏa thuận chia sẻ"],
    /// Federation.
    Outbound => ["What we send", "Yang kami kirim", "Những gì chúng ta gửi"],
    /// Federation.
    Inbound => ["What we take without review", "Yang kami terima tanpa tinjauan", "Những gì chúng ta nhận không cần xem xét"],
    /// Federation.
    Rejections24h => ["Rejections, last 24 h", "Penolakan, 24 jam terakhir", "Từ chối, 24 giờ qua"],
    /// Audit: button.
    VerifyChain => ["Verify the chain", "Verifikasi rantai", "Xác minh chuỗi"],
    /// Audit.
    ChainVerified => ["The audit chain verifies", "Rantai audit terverifikasi", "Chuỗi kiểm toán hợp lệ"],
    /// Audit.
    ChainBroken => ["The audit chain is broken at entry", "Rantai audit rusak pada entri", "Chuỗi kiểm toán bị hỏng tại mục"],
    /// Audit.
    EntriesChecked => ["entries checked", "entri diperiksa", "mục đã kiểm tra"],
    /// Audit filter.
    Since => ["Since", "Sejak", "Từ"],
    /// Button.
    Apply => ["Apply", "Terapkan", "Áp dụng"],
    /// Times.
    TimesInUtc => [
        "Times are shown in UTC (+00:00) without scripts, in your time zone with them.",
        "Waktu ditampilkan dalam UTC (+00:00) tanpa skrip, dalam zona waktu Anda dengan skrip.",
        "Thời gian hiển thị theo UTC (+00:00) khi tắt script, theo múi giờ của bạn khi bật."
    ],
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_has_three_distinct_non_empty_texts_or_is_a_shared_term() {
        // Terms that are the same word in the three languages.
        let shared = [Msg::Tlp, Msg::Platform, Msg::Median];
        for &m in Msg::ALL {
            for lang in Lang::ALL {
                assert!(!m.text(lang).trim().is_empty(), "{m:?} in {lang:?}");
            }
            if !shared.contains(&m) {
                assert_ne!(m.text(Lang::En), m.text(Lang::Vi), "{m:?} is not translated to Vietnamese");
            }
        }
    }

    #[test]
    fn vietnamese_keeps_its_diacritics() {
        assert_eq!(Msg::Lookup.text(Lang::Vi), "Tra cứu");
        assert_eq!(Lang::Vi.name(), "Tiếng Việt");
        assert!(Msg::ALL.iter().any(|m| m.text(Lang::Vi).contains('ệ')));
    }

    #[test]
    fn the_switch_wins_over_the_cookie_over_the_header() {
        assert_eq!(Lang::choose(Some("vi"), Some("id"), Some("en")), Lang::Vi);
        assert_eq!(Lang::choose(Some("xx"), Some("id"), Some("vi")), Lang::Id);
        assert_eq!(Lang::choose(None, None, Some("vi-VN,vi;q=0.9,en;q=0.8")), Lang::Vi);
        assert_eq!(Lang::choose(None, None, Some("fr-FR, id;q=0.5, en;q=0.4")), Lang::Id);
        assert_eq!(Lang::choose(None, None, Some("en;q=0.2, vi;q=0.9")), Lang::Vi);
        assert_eq!(Lang::choose(None, None, Some("vi;q=0, in")), Lang::Id);
        assert_eq!(Lang::choose(None, None, Some("fr, de")), Lang::En);
        assert_eq!(Lang::choose(None, None, Some("vi;q=1.5")), Lang::En);
        assert_eq!(Lang::choose(None, None, None), Lang::En);
    }

    #[test]
    fn quality_values_parse_as_rfc_9110_writes_them() {
        assert_eq!(quality("1"), 1000);
        assert_eq!(quality("1.000"), 1000);
        assert_eq!(quality("0.8"), 800);
        assert_eq!(quality("0.05"), 50);
        assert_eq!(quality("0"), 0);
        assert_eq!(quality("1.5"), 0);
        assert_eq!(quality("0.1234"), 0);
        assert_eq!(quality("x"), 0);
    }
}
