//! Extraction over input of any size, in bounded memory.
//!
//! Bytes are fed in pieces of any size; they are read in chunks of at most
//! [`CHUNK_BYTES`], cut after the last line break in the chunk (else after
//! the last blank, else at a character boundary), so that a chunk never
//! splits a character and rarely splits a phrase. Offsets carry over: a
//! candidate's `start` and `end` count characters from the start of the
//! whole input. Invalid UTF-8 is read as U+FFFD, one character per invalid
//! sequence (as `String::from_utf8_lossy` does).
//!
//! What a chunk boundary can change: a phrase that governs digits on the
//! next line (`Bank BCA` / `No. Rek 1234567890`) is not seen across it,
//! and a line longer than a chunk may be cut inside a value. With 1 MiB
//! chunks and adverts of a few kilobytes this is rare.
//!
//! Deduplication memory is bounded: the 64-bit hashes of (kind, value)
//! already emitted are kept in two generations of at most
//! [`DEDUP_MEMORY`]` / 2` each (about 16 MiB at most); when the newer one
//! fills, the older is dropped. So a value is emitted once within any
//! stretch of at least `DEDUP_MEMORY / 2` distinct values, and may be
//! emitted again after more than [`DEDUP_MEMORY`] other distinct values.

use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};

use super::{Allowlist, Candidate, ExtractOptions, flag, scan, to_candidates};
use crate::model::Kind;

/// Largest chunk read at once, in bytes.
pub const CHUNK_BYTES: usize = 1 << 20;

/// Distinct (kind, value) pairs remembered for deduplication (see the
/// module docs).
pub const DEDUP_MEMORY: usize = 1_000_000;

/// Extraction over a stream of bytes; see the module docs.
pub struct StreamExtractor<'a> {
    options: ExtractOptions,
    allowlist: &'a dyn Allowlist,
    pending: Vec<u8>,
    /// Characters of the input before `pending`.
    base: u64,
    chunk_bytes: usize,
    newer: HashSet<u64>,
    older: HashSet<u64>,
    generation: usize,
}

impl std::fmt::Debug for StreamExtractor<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamExtractor")
            .field("options", &self.options)
            .field("pending", &self.pending.len())
            .field("base", &self.base)
            .field("chunk_bytes", &self.chunk_bytes)
            .finish_non_exhaustive()
    }
}

impl<'a> StreamExtractor<'a> {
    /// A stream read with `options`, flagged by `allowlist`.
    pub fn new(options: ExtractOptions, allowlist: &'a dyn Allowlist) -> StreamExtractor<'a> {
        StreamExtractor::with_limits(options, allowlist, CHUNK_BYTES, DEDUP_MEMORY)
    }

    /// The same with other limits (tests; at least 64 bytes per chunk and
    /// 2 values remembered).
    pub fn with_limits(
        options: ExtractOptions,
        allowlist: &'a dyn Allowlist,
        chunk_bytes: usize,
        remembered: usize,
    ) -> StreamExtractor<'a> {
        StreamExtractor {
            options,
            allowlist,
            pending: Vec::new(),
            base: 0,
            chunk_bytes: chunk_bytes.max(64),
            newer: HashSet::new(),
            older: HashSet::new(),
            generation: (remembered / 2).max(1),
        }
    }

    /// Reads `bytes`, appending the candidates of every complete chunk to
    /// `out`.
    pub fn feed(&mut self, bytes: &[u8], out: &mut Vec<Candidate>) {
        self.pending.extend_from_slice(bytes);
        while self.pending.len() >= self.chunk_bytes {
            let cut = cut_point(&self.pending, self.chunk_bytes);
            self.process(cut, out);
        }
    }

    /// Reads what is left, appending its candidates to `out`.
    pub fn finish(&mut self, out: &mut Vec<Candidate>) {
        while !self.pending.is_empty() {
            let cut = if self.pending.len() > self.chunk_bytes {
                cut_point(&self.pending, self.chunk_bytes)
            } else {
                self.pending.len()
            };
            self.process(cut, out);
        }
    }

    fn process(&mut self, cut: usize, out: &mut Vec<Candidate>) {
        let cut = cut.clamp(1, self.pending.len());
        let bytes = self.pending.get(..cut).unwrap_or_default();
        let chunk = String::from_utf8_lossy(bytes);
        let found = scan(&chunk, &self.options);
        for c in to_candidates(&chunk, self.base, found) {
            if first_time(&mut self.newer, &mut self.older, self.generation, c.kind, &c.value) {
                out.push(flag(c, self.allowlist));
            }
        }
        self.base += chunk.chars().count() as u64;
        drop(chunk);
        self.pending.drain(..cut);
    }
}

/// Whether (kind, value) is new, remembering it in two generations of at
/// most `generation` hashes each.
fn first_time(newer: &mut HashSet<u64>, older: &mut HashSet<u64>, generation: usize, kind: Kind, value: &str) -> bool {
    let mut h = DefaultHasher::new();
    (kind, value).hash(&mut h);
    let key = h.finish();
    if newer.contains(&key) || older.contains(&key) {
        return false;
    }
    if newer.len() >= generation {
        *older = std::mem::take(newer);
    }
    newer.insert(key);
    true
}

/// Where to cut `pending` into a chunk of at most `limit` bytes: after
/// the last line break, else after the last blank, else at the last
/// character boundary.
fn cut_point(pending: &[u8], limit: usize) -> usize {
    let window = pending.get(..limit).unwrap_or(pending);
    if let Some(p) = window.iter().rposition(|&b| b == b'\n') {
        return p + 1;
    }
    if let Some(p) = window.iter().rposition(|b| b.is_ascii_whitespace()) {
        return p + 1;
    }
    // Not inside a UTF-8 sequence: the first byte of the next chunk is
    // there and is not a continuation byte (a character whose last bytes
    // have not arrived yet stays for the next chunk).
    (1..=window.len()).rev().find(|&p| pending.get(p).is_some_and(|&b| b & 0xC0 != 0x80)).unwrap_or(window.len())
}
