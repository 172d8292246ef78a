//! Social media handles named in phrases (profile URLs are read by
//! [`super::net`]).
//!
//! - `@name` with a platform named before it on the same line within 50
//!   bytes (`Telegram kami: @LokerJepang`, `IG/TikTok @loker.id`) or after
//!   it within 30 (`@LokerJepang di Telegram`): a handle on each platform
//!   of that list. An `@` right after a letter or digit is an e-mail's, and
//!   `@name` with no platform named is left out (whose handle is it?).
//! - a platform and a name without `@`: `Line ID: job.th2024`,
//!   `IG: loker.jepang`, `Zalo: tuyendung.vn`, `ไลน์ไอดี: jobthai`. The name
//!   must follow a separator (`:`, `=`, `-`) or an `ID` word, or hold a
//!   digit, `_` or `.`; ordinary words after a platform's name (`IG kami`,
//!   `Telegram channel`) are not names.
//!
//! Each platform's own rules apply (Telegram: 5-32 of letters, digits,
//! `_`, starting with a letter; LINE: 4-20 with `.` and `-`; ...), then the
//! node's normalization (`telegram:lokerjepang`). Digits after a platform
//! are a phone number, read by the phone rules.

use super::lexicon::{Cue, Hit, Platform};
use crate::model::Kind;
use crate::normalize::{NormalizeContext, normalize};

/// A handle found: byte span, canonical value, confidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct HandleFound {
    pub start: usize,
    pub end: usize,
    pub value: String,
    pub confidence: u8,
}

/// Words that follow a platform's name in prose, in the region's
/// languages; never taken as a handle.
#[rustfmt::skip]
const NOT_HANDLES: &[&str] = &[
    "kami", "saya", "aku", "resmi", "official", "group", "grup", "grub", "channel", "kenh", "nhom", "untuk", "di",
    "ke", "me", "us", "now", "sekarang", "ngay", "link", "disini", "sini", "ini", "itu", "aja", "saja", "juga",
    "atau", "dan", "or", "and", "the", "our", "my", "to", "for", "with", "chat", "only", "id", "kita", "anda",
    "bro", "sis", "gan", "kak", "ya", "yah", "nhe", "nha", "ban", "minh", "em", "anh", "chi", "support", "cs",
    "info", "page", "account", "akun", "terbaru", "baru", "new", "join", "follow", "add", "here", "below",
    "bawah", "atas", "klik", "click", "tap", "contact", "hubungi", "number", "nomor", "no", "please", "pls",
    "plz", "dm", "pm", "inbox", "message", "msg", "admin", "call", "video", "live", "story", "post", "reels",
    "lang", "po", "na", "ng", "sa", "mo", "ko", "kayo", "namin", "natin", "kaagad", "lamang", "lah", "je",
    "sahaja", "kat", "dekat", "sekarang", "segera", "now", "today", "is", "are", "at", "on", "in", "by", "via",
    "app", "apps", "web", "website", "tinder", "dating", "sms", "text", "wa", "whatsapp", "telegram", "line",
    "zalo", "viber", "signal", "wechat", "facebook", "instagram", "tiktok", "twitter", "messenger",
];

/// Every handle in `text` named by a phrase; `claimed(start, end)` says
/// whether a span is already taken by another reading.
pub(super) fn handles(
    text: &str,
    hits: &[Hit],
    ctx: &NormalizeContext,
    claimed: &dyn Fn(usize, usize) -> bool,
) -> Vec<HandleFound> {
    let mut out = Vec::new();
    at_handles(text, hits, ctx, claimed, &mut out);
    named_handles(text, hits, ctx, claimed, &mut out);
    out.sort_by_key(|h| (h.start, h.end));
    out.dedup_by(|a, b| a.start == b.start && a.value == b.value);
    out
}

fn token_end(bytes: &[u8], from: usize) -> usize {
    let mut e = from;
    while bytes.get(e).is_some_and(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-')) {
        e += 1;
    }
    while e > from && matches!(bytes.get(e - 1), Some(b'.' | b'-')) {
        e -= 1;
    }
    e
}

/// The platforms named in the list that `hit` ends (`IG/TikTok`).
fn platform_list(text: &str, hits: &[Hit], last: usize) -> Vec<Platform> {
    let mut out = Vec::new();
    let Some(h) = hits.get(last) else { return out };
    let Cue::Platform(p) = h.cue else { return out };
    out.push(p);
    let mut edge = h.start;
    for prev in hits[..last].iter().rev() {
        if prev.end > edge {
            continue;
        }
        let gap = text.get(prev.end..edge).unwrap_or("x");
        let joined = gap.trim_matches(|c: char| c.is_whitespace() || "/,&|+".contains(c)).is_empty();
        match prev.cue {
            Cue::Platform(p) if joined => {
                if !out.contains(&p) {
                    out.insert(0, p);
                }
                edge = prev.start;
            }
            _ => break,
        }
    }
    out
}

fn push(
    out: &mut Vec<HandleFound>,
    platform: Platform,
    start: usize,
    end: usize,
    token: &str,
    confidence: u8,
    ctx: &NormalizeContext,
) {
    if !platform.has_handles() || !platform.accepts(token) {
        return;
    }
    if NOT_HANDLES.iter().any(|w| w.eq_ignore_ascii_case(token)) {
        return;
    }
    if let Ok(value) = normalize(Kind::SocialHandle, &format!("{}:{token}", platform.name()), ctx) {
        out.push(HandleFound { start, end, value, confidence });
    }
}

fn at_handles(
    text: &str,
    hits: &[Hit],
    ctx: &NormalizeContext,
    claimed: &dyn Fn(usize, usize) -> bool,
    out: &mut Vec<HandleFound>,
) {
    let bytes = text.as_bytes();
    for (i, _) in text.match_indices('@') {
        let before = text.get(..i).and_then(|s| s.chars().next_back());
        if before.is_some_and(|c| c.is_alphanumeric() || "._%+-".contains(c)) {
            continue;
        }
        let end = token_end(bytes, i + 1);
        let token = text.get(i + 1..end).unwrap_or_default();
        if token.is_empty() || token.bytes().all(|b| b.is_ascii_digit()) || bytes.get(end) == Some(&b'@') {
            continue;
        }
        if claimed(i, end) {
            continue;
        }
        // A platform before, on the same line.
        let idx = hits.partition_point(|h| h.start < i);
        let mut platforms = Vec::new();
        let mut confidence = 85;
        for k in (0..idx).rev() {
            let Some(h) = hits.get(k) else { break };
            if h.end + 50 < i || text.get(h.end..i).is_none_or(|g| g.contains('\n')) {
                break;
            }
            if matches!(h.cue, Cue::Platform(p) if p.has_handles()) {
                platforms = platform_list(text, hits, k);
                break;
            }
        }
        if platforms.is_empty() {
            confidence = 75;
            for h in hits.iter().skip(idx) {
                if h.start > end + 30 || text.get(end..h.start).is_none_or(|g| g.contains('\n')) {
                    break;
                }
                if let Cue::Platform(p) = h.cue
                    && p.has_handles()
                {
                    platforms.push(p);
                    break;
                }
            }
        }
        for p in platforms {
            push(out, p, i, end, token, confidence, ctx);
        }
    }
}

/// Blanks and separators from `j` (not past the line); sets `explicit`
/// when a separator is among them.
fn skip_connectors(text: &str, mut j: usize, explicit: &mut bool) -> usize {
    while let Some(c) = text.get(j..).and_then(|s| s.chars().next()) {
        if c.is_whitespace() && c != '\n' {
            j += c.len_utf8();
        } else if ":\u{ff1a}=-\u{2013}>\u{bb}\u{27a1}".contains(c) {
            *explicit = true;
            j += c.len_utf8();
        } else {
            break;
        }
    }
    j
}

fn named_handles(
    text: &str,
    hits: &[Hit],
    ctx: &NormalizeContext,
    claimed: &dyn Fn(usize, usize) -> bool,
    out: &mut Vec<HandleFound>,
) {
    let bytes = text.as_bytes();
    for h in hits {
        let Cue::Platform(platform) = h.cue else { continue };
        if !platform.has_handles() {
            continue;
        }
        let phrase = text.get(h.start..h.end).unwrap_or_default();
        let mut explicit = phrase.to_ascii_lowercase().ends_with("id") || phrase.ends_with('@');
        let mut j = skip_connectors(text, h.end, &mut explicit);
        // An "ID" or "username" word after the platform's name.
        let word_end = token_end(bytes, j);
        let word = text.get(j..word_end).unwrap_or_default().to_ascii_lowercase();
        if ["id", "username", "user", "usn"].contains(&word.as_str()) {
            explicit = true;
            j = skip_connectors(text, word_end, &mut explicit);
        }
        if bytes.get(j) == Some(&b'@') {
            continue;
        }
        let end = token_end(bytes, j);
        let token = text.get(j..end).unwrap_or_default();
        if token.is_empty() || token.bytes().filter(u8::is_ascii_digit).count() * 2 > token.len() {
            continue;
        }
        // A host name or URL: read by the URL rules.
        if matches!(bytes.get(end), Some(b'/' | b':' | b'@')) || claimed(j, end) {
            continue;
        }
        let marked = token.bytes().any(|b| b.is_ascii_digit() || b == b'_' || b == b'.');
        if !(explicit || marked) {
            continue;
        }
        push(out, platform, j, end, token, if explicit { 75 } else { 65 }, ctx);
    }
}
