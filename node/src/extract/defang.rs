//! Refanging: undoing what makes an indicator unclickable or invisible to
//! filters, with a map back to the input.
//!
//! Analysts defang what they share (`hxxps://gaji-tinggi[.]com`); scammers
//! obfuscate what they post (`gaji-tinggi (dot) com`, zero-width spaces
//! inside a number, full-width `０８１２`, keycap emoji digits). The
//! scanners read the refanged text; every edit is recorded so that spans
//! map back to the exact characters of the input.
//!
//! Edits:
//! - `[.]` `(.)` `{.}` `[dot]` `(dot)` `{dot}` (spaces inside allowed) to
//!   `.`; `[@]` `(@)` `{@}` `[at]` `(at)` `{at}` to `@`; `[:]` `(:)` to `:`;
//!   `[://]` to `://`; `[/]` to `/`;
//! - `hxxp`, `hxtp`, `htxp`, `h**p` (any case) before `:` or a bracket to
//!   `http`;
//! - spaces around a dot between a label and a top-level domain:
//!   `gaji-tinggi . com`, `gaji-tinggi .com`, `gaji-tinggi [.] com`, and the
//!   words `dot`, `titik` (Indonesian, Malay), `chấm` (Vietnamese), `จุด`
//!   (Thai) between spaces: `gaji-tinggi dot com`. Only before a known
//!   top-level word (`com`, `net`, `id`, `vn`, ...; second-level `co`,
//!   `com`, `go`, `gov`, ... followed by a country code), so that prose
//!   (`... di Jakarta . Info ...`) stays as written. A dot followed by a
//!   space only (`kerja. com`) is prose and is left alone;
//! - ` at ` between an e-mail's local part and a domain whose dot is a
//!   word too (`kerja at gmail dot com`) to `@`;
//! - invisible characters deleted: zero-width space, non-joiner, joiner,
//!   word joiner, byte-order mark, soft hyphen, emoji variation selectors
//!   and the combining keycap (`0️⃣8️⃣` reads `08`);
//! - full-width ASCII (`０８１２`, `＠`, `．`), Thai digits (`๐๘๑๒`) and
//!   mathematical digits (`𝟎𝟖`) to ASCII.

use std::borrow::Cow;

/// Why the text was changed at an edit (for candidates' notes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum EditKind {
    /// Defanging undone: brackets, `hxxp`, spaced dots.
    Defang,
    /// Invisible characters removed.
    Hidden,
    /// Full-width, Thai or mathematical characters read as ASCII.
    Lookalike,
}

#[derive(Debug, Clone, Copy)]
struct Edit {
    clean_start: usize,
    clean_end: usize,
    orig_start: usize,
    orig_end: usize,
    kind: EditKind,
}

/// The refanged text of an input, and where each part of it came from.
#[derive(Debug)]
pub(super) struct Refanged<'a> {
    text: Cow<'a, str>,
    edits: Vec<Edit>,
}

impl<'a> Refanged<'a> {
    /// Refangs `input` (borrowed unchanged when there is nothing to undo).
    pub(super) fn new(input: &'a str) -> Refanged<'a> {
        let mut b = Builder { input, out: None, copied: 0, edits: Vec::new() };
        let bytes = input.as_bytes();
        let mut i = 0;
        while let Some(&byte) = bytes.get(i) {
            if !TRIGGERS[usize::from(byte)] {
                i += 1;
                continue;
            }
            let next = match byte {
                b'[' | b'(' | b'{' => b.bracket(i),
                b'h' | b'H' => b.scheme(i),
                b' ' | b'\t' => b.spaced_dot(i).or_else(|| b.spaced_at(i)),
                0xC2 | 0xE0 | 0xE2 | 0xEF | 0xF0 => b.unicode(i),
                _ => None,
            };
            i = next.unwrap_or(i + 1);
        }
        b.finish()
    }

    /// The refanged text.
    pub(super) fn text(&self) -> &str {
        &self.text
    }

    /// Byte offset in the input where the refanged text at byte `p` starts.
    pub(super) fn orig_start(&self, p: usize) -> usize {
        let idx = self.edits.partition_point(|e| e.clean_start <= p);
        match idx.checked_sub(1).and_then(|i| self.edits.get(i)) {
            None => p,
            Some(e) if p < e.clean_end => e.orig_start,
            Some(e) => e.orig_end + (p - e.clean_end),
        }
    }

    /// Byte offset in the input where refanged text ending (exclusive) at
    /// byte `p` ends.
    pub(super) fn orig_end(&self, p: usize) -> usize {
        let idx = self.edits.partition_point(|e| e.clean_start < p);
        match idx.checked_sub(1).and_then(|i| self.edits.get(i)) {
            None => p,
            Some(e) if p <= e.clean_end => e.orig_end,
            Some(e) => e.orig_end + (p - e.clean_end),
        }
    }

    /// The kinds of edit inside the refanged range `start..end`.
    pub(super) fn edits_in(&self, start: usize, end: usize) -> Vec<EditKind> {
        let first = self.edits.partition_point(|e| e.clean_end < start);
        let mut kinds = Vec::new();
        for e in self.edits.iter().skip(first).take_while(|e| e.clean_start < end) {
            let inside = if e.clean_start == e.clean_end { e.clean_start > start } else { e.clean_end > start };
            if inside && !kinds.contains(&e.kind) {
                kinds.push(e.kind);
            }
        }
        kinds
    }
}

/// Bytes where an edit can start: brackets, `h`/`H` (`hxxp`), blanks
/// (spaced dots), and the lead bytes of the invisible and look-alike
/// characters.
static TRIGGERS: [bool; 256] = {
    let mut t = [false; 256];
    let bytes = [b'[', b'(', b'{', b'h', b'H', b' ', b'\t', 0xC2, 0xE0, 0xE2, 0xEF, 0xF0];
    let mut i = 0;
    while i < bytes.len() {
        t[bytes[i] as usize] = true;
        i += 1;
    }
    t
};

struct Builder<'a> {
    input: &'a str,
    out: Option<String>,
    copied: usize,
    edits: Vec<Edit>,
}

/// Top-level words a spaced dot may join (not English words such as `in`,
/// `me`, `to`, `my`, which follow a spaced dot in prose).
#[rustfmt::skip]
const SPACED_TLDS: &[&str] = &[
    "com", "net", "org", "info", "biz", "xyz", "top", "online", "site", "shop", "store", "vip", "club", "live",
    "app", "io", "co", "cc", "asia", "link", "click", "pro", "tv", "ws", "mobi", "work", "jobs", "icu", "fun",
    "website", "tech", "cloud", "id", "vn", "th", "ph", "sg", "kh", "la", "mm", "bn", "tk", "ml", "cn", "hk",
    "tw", "jp", "kr", "au", "uk", "ru",
];

/// Second-level labels after which a spaced dot joins any country code.
const SECOND_LEVEL: &[&str] =
    &["co", "com", "go", "gov", "or", "org", "ac", "edu", "net", "in", "mil", "sch", "web", "biz"];

/// Country codes of the region (and the common ones) after a second level.
const COUNTRY_CODES: &[&str] =
    &["id", "vn", "th", "my", "ph", "sg", "kh", "la", "mm", "bn", "uk", "jp", "kr", "au", "in", "tw", "hk", "cn"];

fn eq_word(bytes: &[u8], at: usize, word: &str) -> bool {
    bytes.get(at..at + word.len()).is_some_and(|s| s.eq_ignore_ascii_case(word.as_bytes()))
}

fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

fn is_label_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-'
}

impl<'a> Builder<'a> {
    fn replace(&mut self, orig_start: usize, orig_end: usize, with: &str, kind: EditKind) {
        let input = self.input;
        let out = self.out.get_or_insert_with(|| String::with_capacity(input.len()));
        out.push_str(input.get(self.copied..orig_start).unwrap_or_default());
        let clean_start = out.len();
        out.push_str(with);
        self.edits.push(Edit { clean_start, clean_end: out.len(), orig_start, orig_end, kind });
        self.copied = orig_end;
    }

    fn finish(mut self) -> Refanged<'a> {
        let text = match self.out.take() {
            None => Cow::Borrowed(self.input),
            Some(mut out) => {
                out.push_str(self.input.get(self.copied..).unwrap_or_default());
                Cow::Owned(out)
            }
        };
        Refanged { text, edits: self.edits }
    }

    /// A bracketed token at `i`: its length and replacement.
    fn bracket_token(&self, i: usize) -> Option<(usize, &'static str)> {
        let bytes = self.input.as_bytes();
        let open = *bytes.get(i)?;
        let close = match open {
            b'[' => b']',
            b'(' => b')',
            _ => b'}',
        };
        let mut j = i + 1;
        while bytes.get(j) == Some(&b' ') && j < i + 3 {
            j += 1;
        }
        let (inner_len, repl) =
            [("://", "://"), ("dot", "."), (".", "."), ("at", "@"), ("@", "@"), (":", ":"), ("/", "/")]
                .iter()
                .find(|(w, _)| eq_word(bytes, j, w))
                .map(|(w, r)| (w.len(), *r))?;
        let mut k = j + inner_len;
        while bytes.get(k) == Some(&b' ') && k < j + inner_len + 2 {
            k += 1;
        }
        (bytes.get(k) == Some(&close)).then_some((k + 1 - i, repl))
    }

    /// `[.]`, `(at)`, ... at `i`, with the spaces around a dot token joined
    /// when a top-level word follows.
    fn bracket(&mut self, i: usize) -> Option<usize> {
        let (len, repl) = self.bracket_token(i)?;
        let mut end = i + len;
        if repl == "." {
            let after = self.skip_blanks(end);
            if after > end && self.tld_follows(i, after) {
                end = after;
            }
        }
        self.replace(i, end, repl, EditKind::Defang);
        Some(end)
    }

    /// `hxxp` and friends at `i`.
    fn scheme(&mut self, i: usize) -> Option<usize> {
        let bytes = self.input.as_bytes();
        let mid = bytes.get(i + 1..i + 3)?;
        let fanged = |b: u8| matches!(b, b'x' | b'X' | b't' | b'T' | b'*');
        if !(fanged(mid[0]) && fanged(mid[1])) || mid.eq_ignore_ascii_case(b"tt") {
            return None;
        }
        if !matches!(bytes.get(i + 3), Some(b'p' | b'P')) {
            return None;
        }
        if i > 0 && bytes.get(i - 1).is_some_and(|b| b.is_ascii_alphanumeric()) {
            return None;
        }
        let mut k = i + 4;
        if matches!(bytes.get(k), Some(b's' | b'S')) {
            k += 1;
        }
        if !matches!(bytes.get(k), Some(b':' | b'[' | b'(' | b'{')) {
            return None;
        }
        self.replace(i, i + 4, "http", EditKind::Defang);
        Some(i + 4)
    }

    /// Up to three spaces or tabs from `j`; where they end.
    fn skip_blanks(&self, j: usize) -> usize {
        let bytes = self.input.as_bytes();
        let mut k = j;
        while matches!(bytes.get(k), Some(b' ' | b'\t')) && k < j + 3 {
            k += 1;
        }
        k
    }

    /// Whether a top-level word starts at `at`, for a dot whose preceding
    /// label ends at `label_end`.
    fn tld_follows(&self, label_end: usize, at: usize) -> bool {
        let bytes = self.input.as_bytes();
        let mut s = label_end;
        while s > 0 && bytes.get(s - 1).copied().is_some_and(is_label_byte) {
            s -= 1;
        }
        if s == label_end {
            return false;
        }
        let label = &bytes[s..label_end];
        let mut e = at;
        while bytes.get(e).is_some_and(u8::is_ascii_alphabetic) {
            e += 1;
        }
        if e == at || bytes.get(e).is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'-') {
            return false;
        }
        let word = &bytes[at..e];
        let is = |list: &[&str]| list.iter().any(|w| w.as_bytes().eq_ignore_ascii_case(word));
        let second_level = SECOND_LEVEL.iter().any(|w| w.as_bytes().eq_ignore_ascii_case(label));
        is(SPACED_TLDS) || (second_level && is(COUNTRY_CODES))
    }

    /// Spaces around a dot (or a dot word) at `i`, the first blank after a
    /// label.
    fn spaced_dot(&mut self, i: usize) -> Option<usize> {
        let bytes = self.input.as_bytes();
        if i == 0 || !bytes.get(i - 1).copied().is_some_and(is_label_byte) {
            return None;
        }
        let tok = self.skip_blanks(i);
        // Most blanks are followed by a word: look closer only at what can
        // start a dot token.
        if !matches!(bytes.get(tok)?, b'.' | b'[' | b'(' | b'{' | b'd' | b'D' | b't' | b'T' | b'c' | b'C' | 0xE0) {
            return None;
        }
        let after_token = match bytes.get(tok)? {
            b'.' => Some(tok + 1),
            b'[' | b'(' | b'{' => self.bracket_token(tok).and_then(|(len, r)| (r == ".").then_some(tok + len)),
            _ => ["dot", "titik", "chấm", "cham", "จุด"].iter().find(|w| eq_word(bytes, tok, w)).and_then(|w| {
                let end = tok + w.len();
                // A dot word stands between blanks.
                matches!(bytes.get(end), Some(b' ' | b'\t')).then_some(end)
            }),
        }?;
        let word_token = !matches!(bytes.get(tok), Some(b'.' | b'[' | b'(' | b'{'));
        if word_token && tok == i {
            return None;
        }
        let tld = self.skip_blanks(after_token);
        if !self.tld_follows(i, tld) {
            return None;
        }
        self.replace(i, tld, ".", EditKind::Defang);
        Some(tld)
    }

    /// ` at ` between an e-mail's local part and a domain whose dot is
    /// written as a word too (`kerja.jepang at gmail dot com`), at `i`, the
    /// first blank after the local part. With a plain or bracketed dot it
    /// is prose (`apply at jobstreet.com`, `verify at bank-sg[.]com/otp`).
    fn spaced_at(&mut self, i: usize) -> Option<usize> {
        let bytes = self.input.as_bytes();
        let local = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'%' | b'+' | b'-');
        if i == 0 || !bytes.get(i - 1).copied().is_some_and(local) {
            return None;
        }
        let tok = self.skip_blanks(i);
        if !eq_word(bytes, tok, "at") || !bytes.get(tok + 2).copied().is_some_and(is_blank) {
            return None;
        }
        let label = self.skip_blanks(tok + 2);
        let mut e = label;
        while bytes.get(e).copied().is_some_and(is_label_byte) {
            e += 1;
        }
        if e == label {
            return None;
        }
        // The dot after the label: a bracket token, or a dot word between
        // blanks, then a top-level word.
        let w = self.skip_blanks(e);
        if w == e {
            return None;
        }
        let dot_end = w + ["dot", "titik", "chấm", "cham"].iter().find(|x| eq_word(bytes, w, x))?.len();
        let tld = self.skip_blanks(dot_end);
        if !self.tld_follows(e, tld) {
            return None;
        }
        // An address ends there; a path after it makes it a URL in prose
        // (`hosted at evil dot com/x`).
        let mut t = tld;
        while bytes.get(t).is_some_and(u8::is_ascii_alphabetic) {
            t += 1;
        }
        if bytes.get(t) == Some(&b'/') {
            return None;
        }
        self.replace(i, label, "@", EditKind::Defang);
        Some(label)
    }

    /// Invisible and look-alike characters at `i` (a UTF-8 lead byte).
    fn unicode(&mut self, i: usize) -> Option<usize> {
        let c = self.input.get(i..)?.chars().next()?;
        let len = c.len_utf8();
        let cp = u32::from(c);
        let mapped = match cp {
            0x00AD | 0x200B..=0x200D | 0x2060 | 0xFEFF | 0xFE0E | 0xFE0F | 0x20E3 => Some((None, EditKind::Hidden)),
            0xFF01..=0xFF5E => char::from_u32(cp - 0xFEE0).map(|a| (Some(a), EditKind::Lookalike)),
            0x0E50..=0x0E59 => char::from_u32(u32::from(b'0') + cp - 0x0E50).map(|a| (Some(a), EditKind::Lookalike)),
            0x1D7CE..=0x1D7FF => {
                char::from_u32(u32::from(b'0') + (cp - 0x1D7CE) % 10).map(|a| (Some(a), EditKind::Lookalike))
            }
            _ => None,
        };
        let (with, kind) = mapped?;
        let mut buf = [0u8; 4];
        let with = with.map_or("", |a| a.encode_utf8(&mut buf));
        self.replace(i, i + len, with, kind);
        Some(i + len)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn clean(s: &str) -> String {
        Refanged::new(s).text().to_string()
    }

    #[test]
    fn defanged_forms_are_undone() {
        let cases = [
            ("hxxps://gaji-tinggi[.]com/daftar", "https://gaji-tinggi.com/daftar"),
            ("hXXp://loker(.)co(.)id", "http://loker.co.id"),
            ("hxtps[:]//a{dot}b[.]com", "https://a.b.com"),
            ("hrd[at]gaji-tinggi[.]com", "hrd@gaji-tinggi.com"),
            ("hrd(@)gaji (dot) com", "hrd@gaji.com"),
            ("kerja.jepang at gmail dot com", "kerja.jepang@gmail.com"),
            ("hr AT jobs-asia dot net", "hr@jobs-asia.net"),
            // Prose before a URL: only the dot is undone.
            ("Verify at dbs-sg-verify dot com/otp now", "Verify at dbs-sg-verify.com/otp now"),
            ("hosted at evil[.]com", "hosted at evil.com"),
            ("gaji-tinggi . com", "gaji-tinggi.com"),
            ("gaji-tinggi .com/x", "gaji-tinggi.com/x"),
            ("gaji-tinggi [.] co [.] id", "gaji-tinggi.co.id"),
            ("gaji-tinggi dot com", "gaji-tinggi.com"),
            ("kerja titik co titik id", "kerja.co.id"),
            ("viec-lam chấm vn", "viec-lam.vn"),
            ("http[://]x.com", "http://x.com"),
            ("0\u{fe0f}\u{20e3}8\u{fe0f}\u{20e3}1", "081"),
            ("08\u{200b}12-34\u{200d}56", "0812-3456"),
            ("\u{ff10}\u{ff18}\u{ff11}\u{ff12}", "0812"),
            ("๐๘๑๒", "0812"),
            ("\u{1d7ce}\u{1d7d6}", "08"),
        ];
        for (input, want) in cases {
            assert_eq!(clean(input), want, "{input}");
        }
    }

    #[test]
    fn prose_is_left_alone() {
        for s in [
            "Kerja di Jakarta. Info lengkap",
            "polka dot in the dress",
            "gaji besar . Hubungi kami",
            "Meet me . to talk",
            "apply at jobstreet.com today",
            "Juan at Maria dot dot",
            "http://x.com",
            "hatch the plan",
            "a [b] c (d) {e}",
            "Rp 2.500.000 - 3.000.000",
        ] {
            assert_eq!(clean(s), s, "{s}");
            assert!(matches!(Refanged::new(s).text, Cow::Borrowed(_)), "{s}");
        }
    }

    #[test]
    fn spans_map_back_to_the_input() {
        let input = "Lihat hxxps://gaji[.]com ya";
        let r = Refanged::new(input);
        let text = r.text();
        let start = text.find("https").unwrap();
        let end = text.find(" ya").unwrap();
        assert_eq!(&input[r.orig_start(start)..r.orig_end(end)], "hxxps://gaji[.]com");
        assert_eq!(r.edits_in(start, end), vec![EditKind::Defang]);
        assert!(r.edits_in(0, 5).is_empty());

        // A deleted character at the edge of a span stays outside it.
        let input = "a\u{200b}0812\u{200b} b";
        let r = Refanged::new(input);
        let text = r.text();
        let start = text.find("0812").unwrap();
        let end = start + 4;
        assert_eq!(&input[r.orig_start(start)..r.orig_end(end)], "0812");
        assert!(r.edits_in(start, end).is_empty());
        let input = "08\u{200b}12";
        let r = Refanged::new(input);
        assert_eq!(&input[r.orig_start(0)..r.orig_end(4)], input);
        assert_eq!(r.edits_in(0, 4), vec![EditKind::Hidden]);
    }
}
