//! Social media handles.
//!
//! Canonical form `<platform>:<handle>`, e.g. `telegram:lokerkerja_resmi`.
//! Input is `<platform>:<handle>` or a profile URL (scheme optional):
//! - `t.me/NAME`, `t.me/s/NAME`, `telegram.me/NAME`: telegram;
//! - `facebook.com/NAME`, `fb.com/NAME`, `facebook.com/profile.php?id=N`:
//!   facebook;
//! - `instagram.com/NAME`: instagram;
//! - `tiktok.com/@NAME`: tiktok;
//! - `x.com/NAME`, `twitter.com/NAME`: x;
//! - `youtube.com/@NAME`: youtube.
//!
//! A `www.`, `m.`, `mobile.` or `web.` host prefix is ignored, as is
//! anything after the name (`/status/...`, `?lang=id`). Other URLs, and
//! paths that are not profiles (`instagram.com/p/...`, `x.com/home`,
//! `t.me/+invite`, `youtube.com/watch`), are refused (`NotAProfileUrl`).
//!
//! Platform names are lower-cased and must match `[a-z0-9][a-z0-9_-]{0,31}`;
//! aliases: `twitter` is `x`, `fb` is `facebook`, `ig` is `instagram`, `tg`
//! is `telegram`; any other well-formed name is accepted (line, zalo, ...).
//! The handle loses one leading `@`, is lower-cased, and must be 1-100 of
//! `a-z 0-9 . _ -`.

use ::url::Url;

use super::{NormalizeError, account};
use crate::model::Kind;

/// Normalize a value of kind social_handle (trimmed, non-empty).
pub(super) fn normalize(value: &str) -> Result<String, NormalizeError> {
    let is_url = value.contains("://") || value.starts_with("//") || (!value.contains(':') && value.contains('/'));
    if is_url {
        let (platform, handle) = from_profile_url(value)?;
        return Ok(format!("{platform}:{}", canonical_handle(&handle)?));
    }
    let Some((platform, handle)) = value.split_once(':') else {
        return Err(NormalizeError::MissingPlatform);
    };
    let platform = platform.trim();
    if platform.is_empty() {
        return Err(NormalizeError::MissingPlatform);
    }
    let lower = platform.to_ascii_lowercase();
    let platform = match lower.as_str() {
        "twitter" => "x".to_string(),
        "fb" => "facebook".to_string(),
        "ig" => "instagram".to_string(),
        "tg" => "telegram".to_string(),
        _ if account::is_name(&lower) => lower,
        _ => {
            return Err(NormalizeError::InvalidPlatform { platform: platform.to_string() });
        }
    };
    Ok(format!("{platform}:{}", canonical_handle(handle.trim())?))
}

/// Platform and raw handle of a profile URL.
fn from_profile_url(value: &str) -> Result<(&'static str, String), NormalizeError> {
    let full = if value.starts_with("//") {
        format!("https:{value}")
    } else if value.contains("://") {
        value.to_string()
    } else {
        format!("https://{value}")
    };
    let url = Url::parse(&full).map_err(|_| NormalizeError::NotAProfileUrl)?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(NormalizeError::NotAProfileUrl);
    }
    let host = url.host_str().ok_or(NormalizeError::NotAProfileUrl)?;
    let host = host.strip_suffix('.').unwrap_or(host);
    let host = ["www.", "m.", "mobile.", "web."].iter().find_map(|p| host.strip_prefix(p)).unwrap_or(host);
    let segments: Vec<&str> =
        url.path_segments().map(|s| s.filter(|seg| !seg.is_empty()).collect()).unwrap_or_default();
    let first = segments.first().copied();
    let not_profile = NormalizeError::NotAProfileUrl;
    let (platform, name) = match host {
        "t.me" | "telegram.me" | "telegram.dog" => {
            let name = match first {
                Some("s") => segments.get(1).copied(),
                _ => first,
            };
            let name = name.filter(|n| !n.starts_with('+') && *n != "joinchat");
            ("telegram", name.map(str::to_string))
        }
        "facebook.com" | "fb.com" => {
            let name = match first {
                Some("profile.php") => url.query_pairs().find(|(k, _)| k == "id").map(|(_, v)| v.into_owned()),
                Some(n) if !is_reserved(n, FACEBOOK_RESERVED) => Some(n.to_string()),
                _ => None,
            };
            ("facebook", name)
        }
        "instagram.com" => ("instagram", first.filter(|n| !is_reserved(n, INSTAGRAM_RESERVED)).map(str::to_string)),
        "tiktok.com" => ("tiktok", first.filter(|n| n.starts_with('@')).map(str::to_string)),
        "x.com" | "twitter.com" => ("x", first.filter(|n| !is_reserved(n, X_RESERVED)).map(str::to_string)),
        "youtube.com" => ("youtube", first.filter(|n| n.starts_with('@')).map(str::to_string)),
        _ => return Err(not_profile),
    };
    name.map(|n| (platform, n)).ok_or(not_profile)
}

const FACEBOOK_RESERVED: &[&str] = &[
    "groups",
    "pages",
    "events",
    "watch",
    "share",
    "sharer",
    "photo",
    "photo.php",
    "story.php",
    "permalink.php",
    "marketplace",
    "login",
    "login.php",
    "help",
    "reel",
    "hashtag",
    "people",
];
const INSTAGRAM_RESERVED: &[&str] = &["p", "reel", "reels", "stories", "explore", "accounts", "tv", "direct"];
const X_RESERVED: &[&str] =
    &["home", "i", "intent", "search", "hashtag", "explore", "share", "settings", "messages", "notifications", "login"];

fn is_reserved(segment: &str, reserved: &[&str]) -> bool {
    reserved.iter().any(|r| r.eq_ignore_ascii_case(segment))
}

/// A handle without its leading `@`, lower case, checked.
fn canonical_handle(handle: &str) -> Result<String, NormalizeError> {
    let kind = Kind::SocialHandle;
    let handle = handle.strip_prefix('@').unwrap_or(handle).to_ascii_lowercase();
    if let Some(ch) =
        super::find_char(&handle, |c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')))
    {
        return Err(NormalizeError::InvalidCharacter { kind, ch });
    }
    let len = handle.len();
    if !(1..=100).contains(&len) {
        return Err(NormalizeError::HandleLength { len });
    }
    Ok(handle)
}

#[cfg(test)]
mod tests {
    use super::super::{NormalizeContext, NormalizeError, normalize};
    use crate::model::Kind;

    fn run(raw: &str) -> Result<String, NormalizeError> {
        normalize(Kind::SocialHandle, raw, &NormalizeContext::default())
    }

    const K: Kind = Kind::SocialHandle;

    #[test]
    fn good_handles() {
        let cases = [
            ("telegram:@LokerKerja_Resmi", "telegram:lokerkerja_resmi"),
            ("tg: LokerKerja", "telegram:lokerkerja"),
            ("https://t.me/LokerKerja_Resmi", "telegram:lokerkerja_resmi"),
            ("t.me/s/LokerKerja", "telegram:lokerkerja"),
            ("telegram.me/LokerKerja/", "telegram:lokerkerja"),
            ("https://www.facebook.com/Loker.Kerja.2024/", "facebook:loker.kerja.2024"),
            ("https://m.facebook.com/profile.php?id=100012345678901", "facebook:100012345678901"),
            ("FB:loker.kerja", "facebook:loker.kerja"),
            ("https://www.instagram.com/Loker.Kerja/", "instagram:loker.kerja"),
            ("IG:@loker_kerja", "instagram:loker_kerja"),
            ("https://www.tiktok.com/@Loker.Kerja?lang=id", "tiktok:loker.kerja"),
            ("https://twitter.com/LokerKerja", "x:lokerkerja"),
            ("https://x.com/LokerKerja/status/123", "x:lokerkerja"),
            ("Twitter:@LokerKerja", "x:lokerkerja"),
            ("https://www.youtube.com/@LokerKerja/videos", "youtube:lokerkerja"),
            ("line:loker-kerja", "line:loker-kerja"),
            ("Zalo:Loker.Kerja", "zalo:loker.kerja"),
        ];
        for (raw, want) in cases {
            assert_eq!(run(raw).as_deref(), Ok(want), "{raw}");
            assert_eq!(run(want).as_deref(), Ok(want), "fixed point {want}");
        }
    }

    #[test]
    fn bad_handles() {
        let long = format!("telegram:{}", "a".repeat(101));
        let cases: Vec<(&str, NormalizeError)> = vec![
            ("", NormalizeError::Empty { kind: K }),
            ("someone", NormalizeError::MissingPlatform),
            ("@someone", NormalizeError::MissingPlatform),
            (":someone", NormalizeError::MissingPlatform),
            ("my platform:someone", NormalizeError::InvalidPlatform { platform: "my platform".into() }),
            ("telegram:", NormalizeError::HandleLength { len: 0 }),
            ("telegram:@", NormalizeError::HandleLength { len: 0 }),
            (&long, NormalizeError::HandleLength { len: 101 }),
            ("telegram:bad name", NormalizeError::InvalidCharacter { kind: K, ch: ' ' }),
            ("telegram:ผู้ใช้", NormalizeError::InvalidCharacter { kind: K, ch: 'ผ' }),
            ("https://example.com/someone", NormalizeError::NotAProfileUrl),
            ("https://www.instagram.com/p/Cabc123/", NormalizeError::NotAProfileUrl),
            ("https://www.tiktok.com/video/123", NormalizeError::NotAProfileUrl),
            ("https://www.youtube.com/watch?v=abc", NormalizeError::NotAProfileUrl),
            ("https://t.me/", NormalizeError::NotAProfileUrl),
            ("https://t.me/+AbCdEf", NormalizeError::NotAProfileUrl),
            ("https://x.com/home", NormalizeError::NotAProfileUrl),
            ("https://www.facebook.com/groups/123", NormalizeError::NotAProfileUrl),
            ("ftp://t.me/someone", NormalizeError::NotAProfileUrl),
        ];
        for (raw, want) in cases {
            assert_eq!(run(raw), Err(want), "{raw}");
        }
    }
}
