//! URLs, bare domains, e-mail addresses, IP addresses, and the shapes of
//! crypto wallet addresses, found in one regular-expression pass.
//!
//! One leftmost-first automaton (no look-around, no backreferences: linear
//! time) finds, in this order of preference at a position: a URL with a
//! scheme; an e-mail address; an EVM, TRON, Bitcoin or bech32 address; an
//! IPv6 address; an IPv4 address (with optional port and path); a host name
//! with optional port and path (`gaji-tinggi.com`, `www.loker.co.id/daftar`).
//! Host labels take ASCII letters and digits and the Latin letters of
//! Vietnamese and Malay (IDN: `việclàm.vn`). A URL stops at white space,
//! quotes, angle brackets, Thai letters, general punctuation and emoji; its
//! trailing `.,;:!?` and unbalanced `)` `]` are dropped.
//!
//! What a match becomes ([`read_url`], [`read_host`]):
//! - a URL that is a profile page (`t.me/x`, `facebook.com/x`,
//!   `tiktok.com/@x`, `line.me/ti/p/~x`, `m.me/x`): a social handle;
//!   `wa.me/<number>`, `api.whatsapp.com/send?phone=<number>` and
//!   `zalo.me/<number>`: a phone number; any other http(s) URL: a URL;
//! - a host name without path: a domain, if its suffix is on the public
//!   suffix list. Refused, as prose rather than a domain: names right after
//!   `@` (a handle), `word.Word` with a capital after the dot (a missing
//!   space between sentences, `Jepang.Info`), and file names whose
//!   extension is also a top-level domain (`cv.zip`, `notes.md`);
//! - an IP address: refused right after a currency (`Rp 1.100.100.100`) or
//!   inside a longer dotted number, and left out when it is not routable
//!   (private, loopback, link-local, CGNAT, documentation, unique-local);
//!   `ip:port` is the address, `ip[:port]/path` a URL.

use regex::Regex;

use crate::model::Kind;
use crate::normalize::{NormalizeContext, normalize};

/// What a match looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Shape {
    Url,
    Email,
    Evm,
    Tron,
    Btc,
    Bech32,
    Ipv6,
    Ipv4,
    Host,
}

/// One match.
#[derive(Debug, Clone, Copy)]
pub(super) struct NetMatch {
    pub start: usize,
    pub end: usize,
    pub shape: Shape,
}

/// The compiled automaton.
#[derive(Debug)]
pub(super) struct NetScanner {
    regex: Regex,
}

/// Characters a URL never contains as written in an advert.
const STOP: &str = r#"\s<>"'`|\\^{}\x{0E00}-\x{0E7F}\x{2000}-\x{2BFF}\x{3000}-\x{FFFF}\x{10000}-\x{10FFFF}"#;

impl NetScanner {
    /// Compiles the automaton.
    pub(super) fn new() -> NetScanner {
        let l = r"a-zA-Z0-9\x{00C0}-\x{024F}\x{1E00}-\x{1EFF}";
        let label = format!("[{l}](?:[{l}_-]*[{l}])?");
        let tld = r"(?:[a-zA-Z\x{00C0}-\x{024F}\x{1E00}-\x{1EFF}]{2,63}|[xX][nN]--[a-zA-Z0-9-]{1,59})";
        let host = format!(r"{label}(?:\.{label})*\.{tld}");
        let alternatives = [
            format!(r"[hH][tT][tT][pP][sS]?://[^{STOP}]+"),
            format!(r"[A-Za-z0-9._%+\-]+@{host}"),
            r"0[xX][0-9a-fA-F]{40}".to_string(),
            r"(?:bc1|BC1)[02-9ac-hj-np-zAC-HJ-NP-Z]{11,71}".to_string(),
            r"T[1-9A-HJ-NP-Za-km-z]{33}".to_string(),
            r"[13][1-9A-HJ-NP-Za-km-z]{25,34}".to_string(),
            r"[0-9a-fA-F]{0,4}(?::[0-9a-fA-F]{0,4}){2,7}(?:\.[0-9]{1,3}){0,3}".to_string(),
            format!(r"[0-9]{{1,3}}(?:\.[0-9]{{1,3}}){{3}}(?::[0-9]{{1,5}})?(?:/[^{STOP}]*)?"),
            format!(r"{host}(?::[0-9]{{1,5}})?(?:[/?#][^{STOP}]*)?"),
        ];
        let pattern = alternatives.join("|");
        #[allow(clippy::expect_used)]
        let regex = Regex::new(&pattern).expect("the built-in pattern compiles");
        NetScanner { regex }
    }

    /// Every match in `text`, in order.
    pub(super) fn scan(&self, text: &str) -> Vec<NetMatch> {
        self.regex
            .find_iter(text)
            .map(|m| {
                let shape = shape_of(m.as_str());
                let end = match shape {
                    Shape::Url | Shape::Host | Shape::Ipv4 => m.start() + trimmed_len(m.as_str()),
                    _ => m.end(),
                };
                NetMatch { start: m.start(), end, shape }
            })
            .filter(|m| m.end > m.start)
            .collect()
    }
}

fn shape_of(s: &str) -> Shape {
    let b = s.as_bytes();
    let lower_prefix = |p: &str| b.get(..p.len()).is_some_and(|x| x.eq_ignore_ascii_case(p.as_bytes()));
    if lower_prefix("http://") || lower_prefix("https://") {
        Shape::Url
    } else if s.contains('@') {
        Shape::Email
    } else if lower_prefix("0x") && b.len() == 42 {
        Shape::Evm
    } else if lower_prefix("bc1") && !s.contains('.') {
        Shape::Bech32
    } else if b.first() == Some(&b'T') && b.len() == 34 && !s.contains('.') {
        Shape::Tron
    } else if matches!(b.first(), Some(b'1' | b'3')) && !s.contains(['.', ':']) {
        Shape::Btc
    } else if s.bytes().filter(|&c| c == b':').count() >= 2
        && s.bytes().all(|c| c.is_ascii_hexdigit() || c == b':' || c == b'.')
    {
        Shape::Ipv6
    } else if s.split(['/', ':']).next().is_some_and(|h| h.bytes().all(|c| c.is_ascii_digit() || c == b'.')) {
        Shape::Ipv4
    } else {
        Shape::Host
    }
}

/// Length of `s` without trailing punctuation and unbalanced brackets.
fn trimmed_len(s: &str) -> usize {
    let mut t = s;
    while let Some(last) = t.chars().next_back() {
        let unbalanced = |open: char, close: char| t.matches(close).count() > t.matches(open).count();
        let drop = match last {
            '.' | ',' | ';' | ':' | '!' | '?' | '*' | '~' => true,
            ')' => unbalanced('(', ')'),
            ']' => unbalanced('[', ']'),
            _ => false,
        };
        if !drop {
            break;
        }
        t = &t[..t.len() - last.len_utf8()];
    }
    t.len()
}

/// Hosts whose URLs may name a handle or a phone number: chat links and
/// the profile hosts of `crate::normalize`'s social handles.
const SPECIAL_HOSTS: &[&str] = &[
    "wa.me",
    "api.whatsapp.com",
    "whatsapp.com",
    "zalo.me",
    "line.me",
    "m.me",
    "t.me",
    "telegram.me",
    "telegram.dog",
    "facebook.com",
    "fb.com",
    "instagram.com",
    "tiktok.com",
    "x.com",
    "twitter.com",
    "youtube.com",
];

/// What a URL names: kind, canonical value, confidence, a note.
pub(super) type Reading = (Kind, String, u8, Option<&'static str>);

/// A URL as written (`raw`, with or without scheme): a social handle for a
/// profile page, a phone number for a chat link, else a URL.
pub(super) fn read_url(raw: &str, has_scheme: bool, ctx: &NormalizeContext) -> Option<Reading> {
    let canonical = normalize(Kind::Url, raw, ctx).ok()?;
    // The host of the canonical form (`scheme://host[:port]/...`): most
    // URLs are on no platform of ours and need no second parse.
    let host = canonical.split_once("://").map_or("", |(_, rest)| rest);
    let host = host.split(['/', ':', '?']).next().unwrap_or_default();
    let bare = ["www.", "m.", "mobile.", "web."].iter().find_map(|p| host.strip_prefix(p)).unwrap_or(host);
    if !SPECIAL_HOSTS.contains(&bare) {
        return Some((Kind::Url, canonical, if has_scheme { 90 } else { 75 }, None));
    }
    let parsed = ::url::Url::parse(&canonical).ok()?;
    let host = parsed.host_str().unwrap_or_default();
    let host = ["www.", "m.", "mobile.", "web."].iter().find_map(|p| host.strip_prefix(p)).unwrap_or(host);
    let segments: Vec<&str> = parsed.path_segments().map(|s| s.filter(|p| !p.is_empty()).collect()).unwrap_or_default();
    let phone = |digits: &str| -> Option<Reading> {
        let digits: String = digits.chars().filter(char::is_ascii_digit).collect();
        if digits.len() < 7 {
            return None;
        }
        let value = if digits.starts_with('0') {
            normalize(Kind::Phone, &digits, ctx).ok()?
        } else {
            normalize(Kind::Phone, &format!("+{digits}"), ctx).ok()?
        };
        Some((Kind::Phone, value, 90, Some("from chat link")))
    };
    match host {
        "wa.me" => return segments.first().and_then(|s| phone(s)),
        "api.whatsapp.com" | "whatsapp.com" if segments.first() == Some(&"send") => {
            let number = parsed.query_pairs().find(|(k, _)| k == "phone").map(|(_, v)| v.into_owned());
            return number.and_then(|n| phone(&n));
        }
        "zalo.me" => {
            if let Some(first) = segments.first().filter(|s| s.bytes().all(|b| b.is_ascii_digit())) {
                return phone(first);
            }
        }
        "line.me" => {
            // line.me/ti/p/~id, line.me/R/ti/p/@id
            let id = segments.iter().position(|s| *s == "p").and_then(|i| segments.get(i + 1));
            if let Some(id) = id {
                let id = id.trim_start_matches(['~', '@']);
                if let Ok(v) = normalize(Kind::SocialHandle, &format!("line:{id}"), ctx) {
                    return Some((Kind::SocialHandle, v, 90, Some("from profile URL")));
                }
            }
        }
        "m.me" => {
            if let Some(name) = segments.first()
                && let Ok(v) = normalize(Kind::SocialHandle, &format!("facebook:{name}"), ctx)
            {
                return Some((Kind::SocialHandle, v, 90, Some("from profile URL")));
            }
        }
        _ => {}
    }
    if let Ok(v) = normalize(Kind::SocialHandle, &canonical, ctx) {
        return Some((Kind::SocialHandle, v, 90, Some("from profile URL")));
    }
    Some((Kind::Url, canonical, if has_scheme { 90 } else { 75 }, None))
}

/// Top-level domains that are also file extensions: a bare `name.ext` is a
/// file name more often than a domain.
const FILE_LIKE: &[&str] = &["zip", "mov", "py", "rs", "sh", "md", "pl", "ps", "am", "pm", "exe"];

/// Top-level domains common enough in adverts for a bare name to count.
#[rustfmt::skip]
const COMMON_TLDS: &[&str] = &[
    "com", "net", "org", "info", "biz", "xyz", "top", "online", "site", "shop", "store", "vip", "club", "live", "app",
    "io", "co", "cc", "asia", "link", "click", "pro", "tv", "me", "mobi", "work", "jobs", "icu", "fun", "website",
    "tech", "cloud", "id", "vn", "th", "my", "ph", "sg", "kh", "la", "mm", "bn", "tk", "ml", "ga", "cf", "gq", "in",
    "cn", "hk", "tw", "jp", "kr", "au", "uk", "us", "ru", "bet", "win", "casino", "money", "finance", "loan", "bank",
];

/// A host name written without scheme or path (`text[start..end]`): a
/// domain, unless it reads as prose (module docs).
pub(super) fn read_host(text: &str, start: usize, end: usize, ctx: &NormalizeContext) -> Option<Reading> {
    let raw = text.get(start..end)?;
    if text.get(..start).and_then(|s| s.chars().next_back()) == Some('@') {
        return None;
    }
    let www = raw.len() > 4 && raw.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("www."));
    let (head, tld) = raw.rsplit_once('.')?;
    if !www {
        let before = head.chars().next_back();
        let after = tld.chars().next();
        if before.is_some_and(char::is_lowercase) && after.is_some_and(char::is_uppercase) {
            return None;
        }
        if FILE_LIKE.iter().any(|f| f.eq_ignore_ascii_case(tld)) {
            return None;
        }
    }
    let value = normalize(Kind::Domain, raw, ctx).ok()?;
    let last = value.rsplit('.').next().unwrap_or_default();
    let confidence = if www {
        85
    } else if COMMON_TLDS.contains(&last) || last.starts_with("xn--") {
        70
    } else {
        55
    };
    Some((Kind::Domain, value, confidence, None))
}

/// An IPv4 or IPv6 address (`text[start..end]`, possibly with port and
/// path: then a URL).
pub(super) fn read_ip(text: &str, start: usize, end: usize, shape: Shape, ctx: &NormalizeContext) -> Option<Reading> {
    let raw = text.get(start..end)?;
    let bytes = text.as_bytes();
    if shape == Shape::Ipv4 {
        // Not inside a longer dotted number or a version string.
        let before = text.get(..start).and_then(|s| s.chars().next_back());
        if before.is_some_and(|c| c.is_alphanumeric() || c == '.' || c == '_') {
            return None;
        }
        if bytes.get(end) == Some(&b'.') && bytes.get(end + 1).is_some_and(u8::is_ascii_digit) {
            return None;
        }
        if raw.contains('/') {
            return read_url(raw, false, ctx);
        }
        if let Some((host, _port)) = raw.split_once(':') {
            let value = normalize(Kind::Ip, host, ctx).ok()?;
            return routable(&value).then_some((Kind::Ip, value, 70, Some("written with a port")));
        }
    } else {
        let groups = raw.split(':').filter(|g| !g.is_empty()).count();
        if groups < 3 && !(raw.contains("::") && groups >= 2 && raw.split(':').all(|g| g.len() != 1)) {
            return None;
        }
        let before = text.get(..start).and_then(|s| s.chars().next_back());
        if before.is_some_and(char::is_alphanumeric) || bytes.get(end).is_some_and(u8::is_ascii_alphanumeric) {
            return None;
        }
    }
    let value = normalize(Kind::Ip, raw, ctx).ok()?;
    routable(&value).then_some((Kind::Ip, value, 70, None))
}

/// Whether an address can name a host on the Internet: not private,
/// loopback, link-local, shared (CGNAT), unspecified, broadcast,
/// documentation or unique-local (such addresses name nobody outside
/// their network, and are not indicators to share).
fn routable(value: &str) -> bool {
    match value.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(v4)) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_multicast()
                || a == 0
                || (a == 100 && (64..128).contains(&b)))
        }
        Ok(std::net::IpAddr::V6(v6)) => {
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || first == 0x2001 && v6.segments()[1] == 0x0db8)
        }
        Err(_) => false,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn shapes(text: &str) -> Vec<(&str, Shape)> {
        let s = NetScanner::new();
        s.scan(text).into_iter().map(|m| (&text[m.start..m.end], m.shape)).collect()
    }

    #[test]
    fn matches_and_their_shapes() {
        let text = "Daftar: https://gaji-tinggi.com/daftar?ref=fb. Email hrd.kerja@gmail.com, \
                    www.loker.co.id atau 103.28.12.7:8080/login (IP 2001:db8::7). \
                    TRC20 TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t";
        let found = shapes(text);
        assert_eq!(
            found,
            vec![
                ("https://gaji-tinggi.com/daftar?ref=fb", Shape::Url),
                ("hrd.kerja@gmail.com", Shape::Email),
                ("www.loker.co.id", Shape::Host),
                ("103.28.12.7:8080/login", Shape::Ipv4),
                ("2001:db8::7", Shape::Ipv6),
                ("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t", Shape::Tron),
            ]
        );
    }

    #[test]
    fn urls_stop_at_thai_and_brackets() {
        let found = shapes("(ดูที่ https://x-job.com/a)สมัครเลย");
        assert_eq!(found, vec![("https://x-job.com/a", Shape::Url)]);
        let found = shapes("[link](https://x-job.com/a_(b))");
        assert_eq!(found.last().unwrap().0, "https://x-job.com/a_(b)");
    }

    #[test]
    fn hosts_that_are_prose() {
        let ctx = NormalizeContext::default();
        let read = |t: &str| read_host(t, 0, t.len(), &ctx).map(|r| r.1);
        assert_eq!(read("gaji-tinggi.com").as_deref(), Some("gaji-tinggi.com"));
        assert_eq!(read("WWW.GAJI.CO.ID").as_deref(), Some("www.gaji.co.id"));
        assert_eq!(read("Jepang.Info"), None);
        assert_eq!(read("lamaran.zip"), None);
        assert_eq!(read("kerja.notatld"), None);
        let t = "@loker.id";
        assert_eq!(read_host(t, 1, t.len(), &ctx), None);
    }

    #[test]
    fn chat_and_profile_links() {
        let ctx = NormalizeContext { region: Some("VN".into()) };
        let read = |t: &str| read_url(t, true, &ctx).map(|r| (r.0, r.1));
        assert_eq!(read("https://wa.me/6281277778888"), Some((Kind::Phone, "+6281277778888".into())));
        assert_eq!(
            read("https://api.whatsapp.com/send?phone=6281277778888&text=halo"),
            Some((Kind::Phone, "+6281277778888".into()))
        );
        assert_eq!(read("https://zalo.me/0912345678"), Some((Kind::Phone, "+84912345678".into())));
        assert_eq!(read("https://line.me/ti/p/~job.th"), Some((Kind::SocialHandle, "line:job.th".into())));
        assert_eq!(read("https://t.me/LokerJepang"), Some((Kind::SocialHandle, "telegram:lokerjepang".into())));
        assert_eq!(read("https://t.me/+AbCdEf"), Some((Kind::Url, "https://t.me/+AbCdEf".into())));
    }
}
