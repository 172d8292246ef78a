//! `normalize(kind, raw, ctx)`: the first byte picks the kind (all nine)
//! and the region of the context, the rest is the raw value.
//!
//! Properties:
//! - never panics (for any kind, region and input);
//! - idempotence: a canonical form normalizes to itself (the module's
//!   documented contract, relied on by lookups and signatures);
//! - `candidates(raw)` offers exactly what `normalize` gives for each kind
//!   it lists, and never a URL reading of a scheme-less `@` input.
#![no_main]

use jaring_node::model::Kind;
use jaring_node::normalize::{NormalizeContext, candidates, normalize};
use libfuzzer_sys::fuzz_target;

const REGIONS: [Option<&str>; 4] = [None, Some("ID"), Some("VN"), Some("ZZ")];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    let Ok(raw) = std::str::from_utf8(rest) else { return };
    let kinds = Kind::ALL;
    let kind = kinds[usize::from(selector) % kinds.len()];
    let region = REGIONS[usize::from(selector) / kinds.len() % REGIONS.len()];
    let ctx = NormalizeContext { region: region.map(str::to_string) };

    let once = normalize(kind, raw, &ctx);
    if let Ok(once) = &once {
        let twice = normalize(kind, once, &ctx);
        assert_eq!(twice.as_ref(), Ok(once), "{kind}: canonical form of {raw:?} is not a fixed point");
    }

    // Candidates only every 4th selector value: it runs all nine kinds.
    if selector % 4 == 0 {
        for (k, v) in candidates(raw, &ctx) {
            assert_eq!(normalize(k, raw, &ctx).as_ref(), Ok(&v), "candidate {k} of {raw:?}");
            if k == Kind::Url {
                let t = raw.trim();
                assert!(
                    !t.contains('@') || t.to_ascii_lowercase().starts_with("http"),
                    "scheme-less {raw:?} with '@' offered as a URL"
                );
            }
        }
    }
});
