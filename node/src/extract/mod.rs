//! Free-text extraction: from a scam advert, a Telegram post, an SMS or a
//! web page to the indicators in it, each in the canonical form the node
//! stores.
//!
//! [`extract`] reads a text and returns [`Candidate`]s: kind, canonical
//! `value` (exactly what [`crate::normalize::normalize`] gives, so a
//! candidate can be submitted or looked up as is; personal-data kinds are
//! plain here and hashed by the node), the `text` as written, its `start`
//! and `end` in Unicode scalar values of the input, a `confidence` 0-100
//! and `notes`. Each real-world thing appears once, at its first
//! occurrence: candidates are deduplicated by (kind, value). Candidates on
//! an allowlist are kept and flagged (`allowlist: builtin-platforms`), so
//! that an analyst sees them. [`StreamExtractor`] does the same over input
//! of any size in bounded memory (`jaring extract -`).
//!
//! Kinds and where they come from:
//! - `url`, `domain`, `email`, `ip`: `net` (scheme-less URLs, public
//!   suffix checked domains, IDN), after refanging (`defang`: `hxxps`,
//!   `[.]`, `(dot)`, `[at]`, spaced dots, invisible and full-width
//!   characters);
//! - `phone`: international and national forms for the region, spaced-out
//!   digits, chat links (`wa.me/...`, `api.whatsapp.com/send?phone=...`,
//!   `zalo.me/...`) (`phone`; the region's numbering plans are read with
//!   anchored patterns, `plans`);
//! - `bank_account`, `ewallet_account`: digits governed by a bank's or
//!   e-wallet's name in the region's languages (`account`, `lexicon`);
//! - `social_handle`: profile URLs (`net`) and phrases (`telegram @x`,
//!   `Line ID x`, `IG: x`) (`handle`);
//! - `crypto_wallet`: TRON, EVM, Bitcoin legacy and bech32 addresses with
//!   their checksums (`wallet`).
//!
//! Not picked up: prices and amounts, dates, times, heights and weights,
//! years, identity-card numbers, postal codes, job and reference codes.
//!
//! Pure code: no I/O, no clock, no store. The compiled automata are built
//! once per process on first use.

mod account;
mod defang;
mod handle;
mod lexicon;
mod net;
mod phone;
mod plans;
mod stream;
mod wallet;

#[cfg(test)]
mod eval;
#[cfg(test)]
mod tests;

use std::collections::HashSet;
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

use crate::model::{Category, Kind};
use crate::normalize::{NormalizeContext, normalize};
use crate::view::LookupResult;
use account::Intent;
use defang::{EditKind, Refanged};
use lexicon::{Cue, Lexicon};
use net::{NetScanner, Reading, Shape};
use phone::PhoneForm;

pub use stream::{CHUNK_BYTES, DEDUP_MEMORY, StreamExtractor};

/// One indicator found in a text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Candidate {
    /// What kind of thing it is.
    pub kind: Kind,
    /// The canonical form the node stores for it.
    pub value: String,
    /// The input's characters `start..end`, as written (defanged, spaced).
    pub text: String,
    /// First character, in Unicode scalar values of the input.
    pub start: u64,
    /// One past the last character, in Unicode scalar values of the input.
    pub end: u64,
    /// How sure the reading is, 0-100.
    pub confidence: u8,
    /// How it was read (`defanged`, `from profile URL`, `bank named in the
    /// text`, `allowlist: builtin-platforms`, ...).
    pub notes: Vec<String>,
    /// Whether a node already lists it and by whom (filled by callers that
    /// ask a node; absent otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listed: Option<Listing>,
}

/// What a node knows about a candidate's value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listing {
    /// Whether any origin lists it.
    pub found: bool,
    /// The origins that list it (node ids).
    pub by: Vec<String>,
    /// `active`, `expired` or `revoked`, when found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Union of the origins' categories.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<Category>,
    /// The value's current score, when found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<u8>,
}

impl Listing {
    /// What a node's lookup of a candidate's canonical value says about
    /// it as a `kind`.
    pub fn of(r: &LookupResult, kind: Kind) -> Listing {
        let Some(view) = r.views.iter().find(|v| v.kind == kind) else {
            return Listing { found: false, by: Vec::new(), status: None, categories: Vec::new(), score: None };
        };
        Listing {
            found: true,
            by: view.assertions.iter().map(|a| a.origin.clone()).collect(),
            status: Some(view.status.as_str().to_string()),
            categories: view.categories.clone(),
            score: Some(view.score),
        }
    }
}

/// The result of extracting a text: what `jaring extract --json` prints.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Extraction {
    /// In order of first occurrence.
    pub candidates: Vec<Candidate>,
}

impl Extraction {
    /// Fills each candidate's `listed` with what `lookup` (a node's lookup
    /// of the canonical value) says.
    pub fn annotate_listings(&mut self, mut lookup: impl FnMut(&Candidate) -> Listing) {
        for c in &mut self.candidates {
            c.listed = Some(lookup(c));
        }
    }
}

/// How to read a text.
#[derive(Debug, Clone, Default)]
pub struct ExtractOptions {
    ctx: NormalizeContext,
}

/// Bad extraction options.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ExtractError {
    /// Not an ISO 3166-1 alpha-2 code known to the phone-number plans.
    #[error("unknown region {region:?}; expected an ISO 3166-1 alpha-2 code such as ID, VN, TH, MY, PH, SG")]
    UnknownRegion {
        /// The region as given.
        region: String,
    },
}

impl ExtractOptions {
    /// Options reading national phone numbers in `region` (none: only
    /// international forms are read).
    ///
    /// # Errors
    ///
    /// [`ExtractError::UnknownRegion`] for a region that is not an ISO
    /// 3166-1 alpha-2 code with a numbering plan.
    pub fn new(region: Option<&str>) -> Result<ExtractOptions, ExtractError> {
        let region = match region.map(str::trim).filter(|r| !r.is_empty()) {
            None => None,
            Some(r) => {
                let upper = r.to_ascii_uppercase();
                if upper.parse::<phonenumber::country::Id>().is_err() {
                    return Err(ExtractError::UnknownRegion { region: r.to_string() });
                }
                Some(upper)
            }
        };
        Ok(ExtractOptions { ctx: NormalizeContext { region } })
    }

    /// The region national forms are read in.
    pub fn region(&self) -> Option<&str> {
        self.ctx.region.as_deref()
    }

    /// The normalization context extraction uses (the node's, for the
    /// same region).
    pub fn normalize_context(&self) -> &NormalizeContext {
        &self.ctx
    }
}

/// Which allowlist, if any, a candidate is on: the node's allowlists, or
/// only the built-in ones offline.
///
/// Closures `Fn(Kind, &str) -> Option<String>` (returning the list's name)
/// are allowlists.
pub trait Allowlist {
    /// The name of a list that holds the canonical `value` of `kind`.
    fn list_of(&self, kind: Kind, value: &str) -> Option<String>;
}

impl<F> Allowlist for F
where
    F: Fn(Kind, &str) -> Option<String>,
{
    fn list_of(&self, kind: Kind, value: &str) -> Option<String> {
        self(kind, value)
    }
}

/// No allowlist: nothing is flagged.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoAllowlist;

impl Allowlist for NoAllowlist {
    fn list_of(&self, _kind: Kind, _value: &str) -> Option<String> {
        None
    }
}

/// The allowlist index the node checks submissions against
/// ([`crate::warninglist`]): the list of the hit that matters most
/// ([`AllowIndex::check`](crate::warninglist::AllowIndex::check)). Offline,
/// [`crate::warninglist::builtin::index`] holds the built-in lists.
impl Allowlist for crate::warninglist::AllowIndex {
    fn list_of(&self, kind: Kind, value: &str) -> Option<String> {
        self.check(kind, value).map(|hit| hit.list.to_owned())
    }
}

/// The candidates in `text` (the library call behind `jaring extract` and
/// the HTTP API's extraction endpoint), flagged by `allowlist`.
///
/// The whole text is read at once; for large inputs use
/// [`StreamExtractor`], which gives the same candidates except for phrases
/// split across its chunk boundaries.
pub fn extract(text: &str, options: &ExtractOptions, allowlist: &dyn Allowlist) -> Extraction {
    let found = scan(text, options);
    let mut seen: HashSet<(Kind, String)> = HashSet::new();
    let mut candidates = Vec::new();
    for c in to_candidates(text, 0, found) {
        if seen.insert((c.kind, c.value.clone())) {
            candidates.push(flag(c, allowlist));
        }
    }
    Extraction { candidates }
}

/// Adds the allowlist note to `c`.
fn flag(mut c: Candidate, allowlist: &dyn Allowlist) -> Candidate {
    if let Some(list) = allowlist.list_of(c.kind, &c.value) {
        c.notes.push(format!("allowlist: {list}"));
    }
    c
}

/// The compiled automata.
struct Engine {
    lexicon: Lexicon,
    net: NetScanner,
}

static ENGINE: LazyLock<Engine> = LazyLock::new(|| Engine { lexicon: Lexicon::new(), net: NetScanner::new() });

/// A candidate in a chunk: byte span of the chunk.
#[derive(Debug, Clone)]
struct Found {
    kind: Kind,
    value: String,
    start: usize,
    end: usize,
    confidence: u8,
    notes: Vec<String>,
}

/// Spans already read, so that one stretch of text is one thing:
/// disjoint, sorted by start (readings mostly arrive in order, so an
/// insertion is nearly always at the end).
#[derive(Debug, Default)]
struct Claims {
    spans: Vec<(usize, usize)>,
}

impl Claims {
    fn overlaps(&self, start: usize, end: usize) -> bool {
        let idx = self.spans.partition_point(|&(s, _)| s < end);
        idx.checked_sub(1).and_then(|i| self.spans.get(i)).is_some_and(|&(_, e)| e > start)
    }

    fn claim(&mut self, start: usize, end: usize) {
        let idx = self.spans.partition_point(|&(s, _)| s < start);
        self.spans.insert(idx, (start, end));
    }
}

/// A reading in the refanged text, before mapping back to the input.
struct Raw {
    kind: Kind,
    value: String,
    start: usize,
    end: usize,
    confidence: u8,
    notes: Vec<String>,
}

fn raw(kind: Kind, value: String, start: usize, end: usize, confidence: u8, note: Option<&str>) -> Raw {
    Raw { kind, value, start, end, confidence, notes: note.map(str::to_string).into_iter().collect() }
}

/// Every reading in `input`, with byte spans of `input`, in order.
fn scan(input: &str, options: &ExtractOptions) -> Vec<Found> {
    let engine = &*ENGINE;
    let ctx = &options.ctx;
    let refanged = Refanged::new(input);
    let text = refanged.text();
    let hits = engine.lexicon.find(text, ctx.region.as_deref());
    let mut claims = Claims::default();
    let mut out: Vec<Raw> = Vec::new();

    for m in engine.net.scan(text) {
        let Some(s) = text.get(m.start..m.end) else { continue };
        let reading: Option<Reading> = match m.shape {
            Shape::Url => net::read_url(s, true, ctx),
            Shape::Email => normalize(Kind::Email, s, ctx).ok().map(|v| (Kind::Email, v, 85, None)),
            Shape::Evm | Shape::Tron | Shape::Btc | Shape::Bech32 => {
                wallet::read_wallet(text, m.start, m.end, m.shape, &hits, ctx)
            }
            Shape::Ipv4 | Shape::Ipv6 => {
                if currency_before(text, &hits, m.start) {
                    None
                } else {
                    net::read_ip(text, m.start, m.end, m.shape, ctx)
                }
            }
            Shape::Host if s.contains(['/', '?', '#', ':']) => net::read_url(s, false, ctx),
            // `IG: loker.jepang.id`: a handle, read by the handle rules.
            Shape::Host if handle_platform_before(text, &hits, m.start) => None,
            Shape::Host => net::read_host(text, m.start, m.end, ctx),
        };
        if let Some((kind, value, confidence, note)) = reading {
            claims.claim(m.start, m.end);
            out.push(raw(kind, value, m.start, m.end, confidence, note));
        }
    }

    let found_handles = handle::handles(text, &hits, ctx, &|s, e| claims.overlaps(s, e));
    for h in found_handles {
        if !claims.overlaps(h.start, h.end) {
            claims.claim(h.start, h.end);
            out.push(raw(
                Kind::SocialHandle,
                h.value,
                h.start,
                h.end,
                h.confidence,
                Some("platform named in the text"),
            ));
        }
    }

    let mut previous: Option<Intent> = None;
    for run in phone::runs(text) {
        if claims.overlaps(run.start, run.end) {
            previous = None;
            continue;
        }
        // Fewer than six digits: no phone number or account (and no list
        // of them to carry on).
        if run.letter_after || run.digit_count() < 6 || run.is_date_time_or_amount() {
            previous = Some(Intent::Skip);
            continue;
        }
        let intent = account::intent(text, &hits, &run, previous.as_ref());
        let spaced = run.spaced_out().then_some("spaced-out digits");
        match &intent {
            Intent::Skip => {}
            Intent::Bank { code, direct } => {
                let digits = run.digits(text, 0, run.groups.len());
                if let Some(value) = account::bank_account(code, &digits, ctx) {
                    let mut r = raw(Kind::BankAccount, value, run.start, run.end, if *direct { 85 } else { 75 }, None);
                    r.notes.push(format!("bank named in the text: {code}"));
                    r.notes.extend(spaced.map(str::to_string));
                    out.push(r);
                } else {
                    push_phones(&mut out, &run, phone::whole_phone(text, &run, ctx), spaced);
                }
            }
            Intent::Ewallet { providers, phone } => {
                let digits = run.digits(text, 0, run.groups.len());
                let number = if run.plus { format!("+{digits}") } else { digits };
                for provider in providers {
                    if let Some(value) = account::ewallet_account(provider, &number, ctx) {
                        let mut r = raw(Kind::EwalletAccount, value, run.start, run.end, 80, None);
                        r.notes.push(format!("e-wallet named in the text: {provider}"));
                        r.notes.extend(spaced.map(str::to_string));
                        out.push(r);
                    }
                }
                if *phone {
                    push_phones(&mut out, &run, phone::phone_in(text, &run, true, ctx), spaced);
                }
            }
            Intent::Phone | Intent::Unknown => {
                let cue = intent == Intent::Phone;
                push_phones(&mut out, &run, phone::phone_in(text, &run, cue, ctx), spaced);
            }
        }
        previous = Some(intent);
    }

    let mut found: Vec<Found> = out
        .into_iter()
        .map(|r| {
            let mut notes = r.notes;
            for kind in refanged.edits_in(r.start, r.end) {
                notes.push(
                    match kind {
                        EditKind::Defang => "defanged",
                        EditKind::Hidden => "hidden characters removed",
                        EditKind::Lookalike => "look-alike characters read as ASCII",
                    }
                    .to_string(),
                );
            }
            Found {
                kind: r.kind,
                value: r.value,
                start: refanged.orig_start(r.start),
                end: refanged.orig_end(r.end),
                confidence: r.confidence,
                notes,
            }
        })
        .filter(|f| f.start < f.end && f.end <= input.len())
        .collect();
    found.sort_by_key(|a| (a.start, a.kind, a.end));
    found
}

/// The phone numbers `found` in `run`.
fn push_phones(out: &mut Vec<Raw>, run: &phone::Run, found: Vec<phone::PhoneInRun>, spaced: Option<&str>) {
    for p in found {
        let start = if p.from == 0 { run.start } else { run.groups.get(p.from).map_or(run.start, |g| g.start) };
        let end = run.groups.get(p.to.saturating_sub(1)).map_or(run.end, |g| g.end);
        let note = match p.form {
            PhoneForm::International => None,
            PhoneForm::National => Some("national form read in the region"),
            PhoneForm::Bare => Some("written without + or trunk prefix"),
        };
        let mut r = raw(Kind::Phone, p.value, start, end, p.confidence, note);
        r.notes.extend(spaced.map(str::to_string));
        out.push(r);
    }
}

/// Whether a platform with handles is named right before `at` (`IG: `,
/// `Line ID `).
fn handle_platform_before(text: &str, hits: &[lexicon::Hit], at: usize) -> bool {
    let idx = hits.partition_point(|h| h.start < at);
    hits[..idx].iter().rev().take(2).any(|h| {
        matches!(h.cue, Cue::Platform(p) if p.has_handles())
            && h.end <= at
            && text
                .get(h.end..at)
                .is_some_and(|g| g.chars().count() <= 4 && g.chars().all(|c| c.is_whitespace() || ":：=-@".contains(c)))
    })
}

/// Whether a currency is written right before `at` (`Rp 1.100.100.100`).
fn currency_before(text: &str, hits: &[lexicon::Hit], at: usize) -> bool {
    let idx = hits.partition_point(|h| h.start < at);
    hits[..idx].iter().rev().take(3).any(|h| {
        h.cue == Cue::Currency
            && h.end <= at
            && text.get(h.end..at).is_some_and(|g| g.trim().is_empty() && g.len() <= 2)
    })
}

/// Candidates from `found` in `chunk`, whose first character is character
/// `base` of the whole input.
fn to_candidates(chunk: &str, base: u64, found: Vec<Found>) -> Vec<Candidate> {
    let mut positions: Vec<usize> = found.iter().flat_map(|f| [f.start, f.end]).collect();
    positions.sort_unstable();
    positions.dedup();
    let mut chars = Vec::with_capacity(positions.len());
    let (mut at, mut count) = (0usize, 0u64);
    for &p in &positions {
        count += chunk.get(at..p).map_or(0, |s| s.chars().count() as u64);
        at = p;
        chars.push(count);
    }
    let char_at = |p: usize| positions.binary_search(&p).ok().and_then(|i| chars.get(i)).copied().unwrap_or(0);
    found
        .into_iter()
        .filter_map(|f| {
            let text = chunk.get(f.start..f.end)?.to_string();
            Some(Candidate {
                kind: f.kind,
                value: f.value,
                text,
                start: base + char_at(f.start),
                end: base + char_at(f.end),
                confidence: f.confidence,
                notes: f.notes,
                listed: None,
            })
        })
        .collect()
}
