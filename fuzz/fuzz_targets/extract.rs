//! Free-text extraction: `extract(text, options, allowlist)` and the
//! streaming extractor behind `jaring extract -`. The first byte picks the
//! region (none, ID, VN, TH, MY, PH, SG) and the streaming chunk size; the
//! rest is the text (read lossily as UTF-8, as the stream reads it).
//!
//! Properties, for both the whole-text and the streaming extraction:
//! - never panics;
//! - every candidate's `start..end` is in bounds (`start < end <= number
//!   of characters`) and its `text` is exactly those characters of the
//!   input;
//! - every `value` normalizes to itself with the candidate's kind (it is
//!   what the node would store);
//! - each (kind, value) appears once.
#![no_main]

use std::collections::HashSet;

use jaring_node::extract::{Candidate, ExtractOptions, StreamExtractor, extract};
use jaring_node::normalize::normalize;
use libfuzzer_sys::fuzz_target;

const REGIONS: [Option<&str>; 7] = [None, Some("ID"), Some("VN"), Some("TH"), Some("MY"), Some("PH"), Some("SG")];

fn check(what: &str, chars: &[char], found: &[Candidate], options: &ExtractOptions) {
    let mut seen = HashSet::new();
    for c in found {
        let (Ok(start), Ok(end)) = (usize::try_from(c.start), usize::try_from(c.end)) else {
            panic!("{what}: offsets do not fit: {c:?}");
        };
        assert!(start < end && end <= chars.len(), "{what}: span out of bounds: {c:?} of {} chars", chars.len());
        let text: String = chars[start..end].iter().collect();
        assert_eq!(text, c.text, "{what}: text is not the input's characters {start}..{end}");
        let again = normalize(c.kind, &c.value, options.normalize_context());
        assert_eq!(again.as_ref(), Ok(&c.value), "{what}: {} {:?} is not canonical", c.kind, c.value);
        assert!(seen.insert((c.kind, c.value.clone())), "{what}: {} {:?} twice", c.kind, c.value);
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    let region = REGIONS[usize::from(selector) % REGIONS.len()];
    let Ok(options) = ExtractOptions::new(region) else { return };
    let flag = jaring_node::warninglist::builtin::index();

    let text = String::from_utf8_lossy(rest);
    let chars: Vec<char> = text.chars().collect();
    let whole = extract(&text, &options, &flag);
    check("extract", &chars, &whole.candidates, &options);

    // The stream, in chunks of 64 to 1024 bytes, fed 1 to 32 bytes at a time.
    let chunk = 64 + usize::from(selector / 7) * 8;
    let piece = 1 + usize::from(selector % 32);
    let mut out = Vec::new();
    let mut s = StreamExtractor::with_limits(options.clone(), &flag, chunk, 1 << 16);
    for bytes in rest.chunks(piece) {
        s.feed(bytes, &mut out);
    }
    s.finish(&mut out);
    check("stream", &chars, &out, &options);
});
