//! URLs.
//!
//! Parsed with the WHATWG URL parser (`url` crate), then:
//! - no scheme written: `http://` is assumed (`//host/...` gets `http:`);
//!   `host:port/...` is read as host and port, not as a scheme;
//! - only `http` and `https` are accepted, other schemes are refused;
//! - the host is a domain under the domain rules (lower case, IDNA to ASCII,
//!   no trailing dot, known public suffix, not a bare public suffix) or an
//!   IP address in the parser's canonical text (`[2001:db8::1]`,
//!   `0x7f.1` is `127.0.0.1`);
//! - user name and password are dropped: in `http://bank.co.id@evil.com/`
//!   the host is `evil.com`, and the canonical form names only the host;
//! - the default port is dropped (the parser does this);
//! - the path keeps its case; dot segments are resolved and an empty path
//!   is `/` (the parser does this);
//! - percent-encoding in path and query: escapes of unreserved characters
//!   (`A-Z a-z 0-9 - . _ ~`) are decoded, other escapes get upper-case hex
//!   (`%2f` is `%2F` and stays encoded); characters the parser encodes
//!   (spaces, non-ASCII) are encoded as UTF-8; a `%` not followed by two hex
//!   digits is left as is, and an escape right after such a `%` stays
//!   encoded when decoding it would make a new escape with that `%`
//!   (`%2%64` is kept, not turned into `%2d`, which would decode again);
//! - the query is kept in order, byte for byte apart from the escapes above;
//!   an empty query (`?` alone) is dropped;
//! - the fragment is dropped.

use ::url::{Host, Url};

use super::{NormalizeError, domain};
use crate::model::Kind;

/// Normalize a value of kind url (trimmed, non-empty).
pub(super) fn normalize(value: &str) -> Result<String, NormalizeError> {
    let full = match scheme_of(value) {
        Some(scheme) if is_http(scheme) => value.to_string(),
        Some(scheme) => {
            return Err(NormalizeError::UnsupportedScheme { scheme: scheme.to_ascii_lowercase() });
        }
        None if value.starts_with("//") => format!("http:{value}"),
        None => format!("http://{value}"),
    };
    let url = Url::parse(&full).map_err(NormalizeError::UrlSyntax)?;
    let scheme = url.scheme();
    if !is_http(scheme) {
        return Err(NormalizeError::UnsupportedScheme { scheme: scheme.to_string() });
    }
    let host = match url.host() {
        Some(Host::Domain(name)) => domain::normalize_name(name, Kind::Url)?,
        Some(ip @ (Host::Ipv4(_) | Host::Ipv6(_))) => ip.to_string(),
        None => return Err(NormalizeError::UrlSyntax(::url::ParseError::EmptyHost)),
    };
    let mut out = format!("{scheme}://{host}");
    if let Some(port) = url.port() {
        out.push(':');
        out.push_str(&port.to_string());
    }
    push_normalized_escapes(&mut out, url.path());
    if let Some(query) = url.query().filter(|q| !q.is_empty()) {
        out.push('?');
        push_normalized_escapes(&mut out, query);
    }
    Ok(out)
}

/// Whether `value` starts with an explicit `http:` or `https:` scheme.
pub(super) fn has_http_scheme(value: &str) -> bool {
    scheme_of(value).is_some_and(is_http)
}

fn is_http(scheme: &str) -> bool {
    scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https")
}

/// The scheme written at the start of `value`, if any (RFC 3986 syntax:
/// a letter, then letters, digits, `+`, `-`, `.`, then `:`). A colon
/// followed by digits and then the end, `/`, `?` or `#` is a port
/// (`example.com:8080/x`), not a scheme.
fn scheme_of(value: &str) -> Option<&str> {
    let (scheme, rest) = value.split_once(':')?;
    let mut chars = scheme.chars();
    if !chars.next()?.is_ascii_alphabetic() || !chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    {
        return None;
    }
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let after = rest.as_bytes().get(digits);
    if digits > 0 && matches!(after, None | Some(b'/' | b'?' | b'#')) {
        return None;
    }
    Some(scheme)
}

/// Append `part` (a serialized path or query, ASCII) to `out` with escapes
/// of unreserved characters decoded and other escapes in upper-case hex.
fn push_normalized_escapes(out: &mut String, part: &str) {
    let bytes = part.as_bytes();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let escape = match (b, bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&hi), Some(&lo)) => hex_value(hi).zip(hex_value(lo)),
            _ => None,
        };
        match escape {
            Some((hi, lo)) => {
                let decoded = (hi << 4) | lo;
                let unreserved = decoded.is_ascii_alphanumeric() || matches!(decoded, b'-' | b'.' | b'_' | b'~');
                // A stray `%` (one not starting an escape) just before: a
                // decoded hex digit could complete a new escape with it, and
                // the canonical form would change when normalized again.
                let after_stray = match out.as_bytes() {
                    [.., b'%'] => true,
                    [.., b'%', h] => h.is_ascii_hexdigit(),
                    _ => false,
                };
                if unreserved && !(after_stray && decoded.is_ascii_hexdigit()) {
                    out.push(char::from(decoded));
                } else {
                    out.push('%');
                    out.push(char::from(hex_digit(hi)));
                    out.push(char::from(hex_digit(lo)));
                }
                i += 3;
            }
            None => {
                // The parser serializes ASCII only; keep any other char whole.
                match part.get(i..).and_then(|rest| rest.chars().next()) {
                    Some(c) => {
                        out.push(c);
                        i += c.len_utf8();
                    }
                    None => i += 1,
                }
            }
        }
    }
}

fn hex_value(b: u8) -> Option<u8> {
    char::from(b).to_digit(16).and_then(|d| u8::try_from(d).ok())
}

fn hex_digit(v: u8) -> u8 {
    b"0123456789ABCDEF"[usize::from(v & 0x0f)]
}

#[cfg(test)]
mod tests {
    use super::super::{NormalizeContext, NormalizeError, normalize};
    use crate::model::Kind;
    use ::url::ParseError;

    fn run(raw: &str) -> Result<String, NormalizeError> {
        normalize(Kind::Url, raw, &NormalizeContext::default())
    }

    const K: Kind = Kind::Url;

    #[test]
    fn good_urls() {
        let cases = [
            ("HTTP://WWW.Loker-Kerja.CO.ID:80/Lowongan", "http://www.loker-kerja.co.id/Lowongan"),
            ("https://example.com:443", "https://example.com/"),
            ("https://example.com:8443/x", "https://example.com:8443/x"),
            ("http://example.com:443/", "http://example.com:443/"),
            ("loker-kerja.co.id", "http://loker-kerja.co.id/"),
            ("loker-kerja.co.id:8080/apply", "http://loker-kerja.co.id:8080/apply"),
            ("//example.com/x", "http://example.com/x"),
            ("https://example.com./a", "https://example.com/a"),
            // IDNA host, non-ASCII path encoded as UTF-8.
            ("https://bücher.de/straße", "https://xn--bcher-kva.de/stra%C3%9Fe"),
            ("https://việclàm.vn/tuyển-dụng", "https://xn--viclm-uqa6964c.vn/tuy%E1%BB%83n-d%E1%BB%A5ng"),
            ("https://ตัวอย่าง.ไทย/", "https://xn--72c1a1bt4awk9o.xn--o3cw4h/"),
            // Escapes of unreserved characters are decoded.
            ("http://example.com/%7euser/%7Eother", "http://example.com/~user/~other"),
            ("http://example.com/%41%62%2D%5f%2E%30", "http://example.com/Ab-_.0"),
            // Other escapes get upper-case hex; encoded slashes stay encoded.
            ("http://example.com/a%2fb%2Fc", "http://example.com/a%2Fb%2Fc"),
            ("http://example.com/%e2%82%ac", "http://example.com/%E2%82%AC"),
            ("http://example.com/?q=%3d%26%7e&x=1#frag", "http://example.com/?q=%3D%26~&x=1"),
            ("https://example.com/%zz%4", "https://example.com/%zz%4"),
            // Found by the `normalize` fuzz target (fuzz/): decoding `%64`
            // after the stray `%2` made `%2d`, which the next pass decoded
            // to `-`; a canonical form was not a fixed point.
            ("http://example.com/ace%2%64%ac", "http://example.com/ace%2%64%AC"),
            ("http://example.com/%%41%31", "http://example.com/%%411"),
            ("http://example.com/%%7e%41", "http://example.com/%~A"),
            ("http://example.com/?q=%2%62%63", "http://example.com/?q=%2%62c"),
            // Spaces are encoded.
            ("http://example.com/a b?q=a b", "http://example.com/a%20b?q=a%20b"),
            ("example.com/a b", "http://example.com/a%20b"),
            // Query kept in order, '+' untouched.
            (
                "https://example.com/search?q=lowongan+kerja&page=2&a=1",
                "https://example.com/search?q=lowongan+kerja&page=2&a=1",
            ),
            ("http://example.com/?", "http://example.com/"),
            ("http://example.com/#", "http://example.com/"),
            // User info is dropped.
            ("http://bank.co.id@evil.com/login", "http://evil.com/login"),
            ("http://user:pass@evil.com:80/", "http://evil.com/"),
            // IP hosts.
            ("http://203.0.113.7:8080/x", "http://203.0.113.7:8080/x"),
            ("http://[2001:DB8::1]/", "http://[2001:db8::1]/"),
            ("http://0x7f.1/", "http://127.0.0.1/"),
            // Dot segments, including encoded ones, are resolved.
            ("https://EXAMPLE.com/a/../b/./c", "https://example.com/b/c"),
            ("https://example.com/a/%2e%2E/b", "https://example.com/b"),
            ("http://example.com\\path", "http://example.com/path"),
            ("https://example.com/ü", "https://example.com/%C3%BC"),
        ];
        for (raw, want) in cases {
            assert_eq!(run(raw).as_deref(), Ok(want), "{raw}");
            assert_eq!(run(want).as_deref(), Ok(want), "fixed point {want}");
        }
    }

    #[test]
    fn bad_urls() {
        let cases: Vec<(&str, NormalizeError)> = vec![
            ("", NormalizeError::Empty { kind: K }),
            ("ftp://example.com/", NormalizeError::UnsupportedScheme { scheme: "ftp".into() }),
            ("javascript:alert(1)", NormalizeError::UnsupportedScheme { scheme: "javascript".into() }),
            ("mailto:a@example.com", NormalizeError::UnsupportedScheme { scheme: "mailto".into() }),
            ("HTTPX://example.com/", NormalizeError::UnsupportedScheme { scheme: "httpx".into() }),
            ("http://", NormalizeError::UrlSyntax(ParseError::EmptyHost)),
            ("http://example.com:99999/", NormalizeError::UrlSyntax(ParseError::InvalidPort)),
            ("http://[::1/", NormalizeError::UrlSyntax(ParseError::InvalidIpv6Address)),
            ("http://exa mple.com/", NormalizeError::UrlSyntax(ParseError::IdnaError)),
            ("http://localhost/", NormalizeError::UnknownSuffix { kind: K, suffix: "localhost".into() }),
            ("http://example.notatld/x", NormalizeError::UnknownSuffix { kind: K, suffix: "notatld".into() }),
            ("https://co.id/", NormalizeError::PublicSuffixOnly { kind: K, name: "co.id".into() }),
            ("http://-bad.com/", NormalizeError::HyphenAtLabelEdge { kind: K, label: "-bad".into() }),
            ("http://a..b.com/", NormalizeError::EmptyLabel { kind: K }),
            ("http://exa!mple.com/", NormalizeError::InvalidCharacter { kind: K, ch: '!' }),
        ];
        for (raw, want) in cases {
            assert_eq!(run(raw), Err(want), "{raw}");
        }
    }
}
