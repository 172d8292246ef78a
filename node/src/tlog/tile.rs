//! C2SP tlog-tiles: the paths tiles and entry bundles are served under, and
//! the bytes of an entry bundle.
//!
//! A hash tile at level `L` is up to 256 consecutive hashes of tree level
//! `8·L`; tile `N` at level `L` covers leaves `[N·256^(L+1), (N+1)·256^(L+1))`.
//! A full tile is 256 hashes (8,192 bytes); the rightmost tile of each level
//! is usually partial (`.p/<W>`, 1 to 255 hashes). Entry bundles mirror the
//! level-0 tiles with the entries themselves, each prefixed by its length as
//! a big-endian u16.

use super::Hash;

/// Hashes in a full tile (tiles are of height 8).
pub const TILE_WIDTH: u64 = 256;

/// Bytes in a full hash tile.
pub const FULL_TILE_BYTES: usize = TILE_WIDTH as usize * Hash::LEN;

/// The largest entry an entry bundle can carry (its length prefix is a u16).
pub const MAX_ENTRY_BYTES: usize = u16::MAX as usize;

/// What a tile path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TileKind {
    /// A hash tile at this tile level (0 to 63 in a path; 0 to 7 hold
    /// hashes in a tree of at most 2^64 leaves).
    Hashes(u8),
    /// An entry bundle.
    Entries,
}

/// One tile or entry bundle, as named by its path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TileId {
    /// Hash tile (and its level) or entry bundle.
    pub kind: TileKind,
    /// Index of the tile within its level.
    pub index: u64,
    /// Number of hashes or entries: 256 for a full tile, 1-255 for a partial one.
    pub width: u16,
}

/// Why a tile path was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TilePathError {
    /// Not `tile/<L>/<N>[.p/<W>]` or `tile/entries/<N>[.p/<W>]`.
    #[error("not a tile path: {0:?}")]
    Malformed(String),
    /// A level outside 0-63, or with leading zeroes.
    #[error("bad tile level in {0:?}")]
    Level(String),
    /// A width outside 1-255, or with leading zeroes.
    #[error("bad partial tile width in {0:?}")]
    Width(String),
    /// An index not written in the one canonical way (`x001/x234/067`).
    #[error("bad tile index in {0:?}")]
    Index(String),
}

impl TileId {
    /// A full tile.
    pub fn full(kind: TileKind, index: u64) -> TileId {
        TileId { kind, index, width: TILE_WIDTH as u16 }
    }

    /// Whether the tile is partial.
    pub fn is_partial(&self) -> bool {
        u64::from(self.width) < TILE_WIDTH
    }

    /// The path under the log prefix: `tile/0/x001/x234/067`,
    /// `tile/1/005.p/17`, `tile/entries/000.p/3`.
    pub fn path(&self) -> String {
        let mut p = match self.kind {
            TileKind::Hashes(level) => format!("tile/{level}/"),
            TileKind::Entries => "tile/entries/".to_string(),
        };
        p.push_str(&index_path(self.index));
        if self.is_partial() {
            p.push_str(&format!(".p/{}", self.width));
        }
        p
    }

    /// Parses a path as [`TileId::path`] writes it (the only accepted form).
    ///
    /// # Errors
    ///
    /// [`TilePathError`].
    pub fn parse(path: &str) -> Result<TileId, TilePathError> {
        let malformed = || TilePathError::Malformed(path.to_string());
        let rest = path.strip_prefix("tile/").ok_or_else(malformed)?;
        let (kind_part, rest) = rest.split_once('/').ok_or_else(malformed)?;
        let kind = if kind_part == "entries" {
            TileKind::Entries
        } else {
            let level = super::parse_decimal(kind_part)
                .filter(|l| *l <= 63)
                .ok_or_else(|| TilePathError::Level(path.to_string()))?;
            TileKind::Hashes(level as u8)
        };
        let (index_part, width) = match rest.split_once(".p/") {
            Some((i, w)) => {
                let w = super::parse_decimal(w)
                    .filter(|w| (1..TILE_WIDTH).contains(w))
                    .ok_or_else(|| TilePathError::Width(path.to_string()))?;
                (i, w as u16)
            }
            None => (rest, TILE_WIDTH as u16),
        };
        let index = parse_index_path(index_part).ok_or_else(|| TilePathError::Index(path.to_string()))?;
        Ok(TileId { kind, index, width })
    }

    /// The hash tiles a client needs (and a log serves) for a tree of
    /// `size` leaves: at each level, every full tile and the partial one.
    pub fn hash_tiles_for(size: u64) -> Vec<TileId> {
        let mut out = Vec::new();
        let mut level = 0u8;
        let mut count = size; // hashes at this level
        while count > 0 {
            for index in 0..count / TILE_WIDTH {
                out.push(TileId::full(TileKind::Hashes(level), index));
            }
            let w = count % TILE_WIDTH;
            if w > 0 {
                out.push(TileId { kind: TileKind::Hashes(level), index: count / TILE_WIDTH, width: w as u16 });
            }
            count /= TILE_WIDTH;
            level += 1;
        }
        out
    }

    /// The rightmost tile at `level` in a tree of `size` leaves: the
    /// partial one, or `None` when that level ends on a full tile.
    pub fn partial_at(level: u8, size: u64) -> Option<TileId> {
        let count = size.checked_shr(8 * u32::from(level)).unwrap_or(0);
        let w = count % TILE_WIDTH;
        (w > 0).then_some(TileId { kind: TileKind::Hashes(level), index: count / TILE_WIDTH, width: w as u16 })
    }
}

/// `index` in zero-padded 3-digit elements, all but the last prefixed `x`.
fn index_path(mut index: u64) -> String {
    let mut parts = vec![format!("{:03}", index % 1000)];
    index /= 1000;
    while index > 0 {
        parts.push(format!("x{:03}", index % 1000));
        index /= 1000;
    }
    parts.reverse();
    parts.join("/")
}

fn parse_index_path(text: &str) -> Option<u64> {
    let parts: Vec<&str> = text.split('/').collect();
    let (last, init) = parts.split_last()?;
    let mut index: u64 = 0;
    for (i, part) in init.iter().enumerate() {
        let digits = part.strip_prefix('x')?;
        // The leading element is never x000 (that would be a second
        // spelling of a smaller index).
        if i == 0 && digits == "000" {
            return None;
        }
        index = index.checked_mul(1000)?.checked_add(three_digits(digits)?)?;
    }
    index.checked_mul(1000)?.checked_add(three_digits(last)?)
}

fn three_digits(s: &str) -> Option<u64> {
    (s.len() == 3 && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok()).flatten()
}

/// Why an entry bundle could not be built or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BundleError {
    /// An entry longer than the u16 length prefix can say.
    #[error("entry {position} is {len} bytes; an entry bundle holds entries of at most {MAX_ENTRY_BYTES} bytes")]
    EntryTooLarge {
        /// Position in the bundle.
        position: usize,
        /// Its length.
        len: usize,
    },
    /// More than 256 entries.
    #[error("an entry bundle holds at most 256 entries")]
    TooManyEntries,
    /// The bytes end inside a length prefix or an entry.
    #[error("the entry bundle is truncated")]
    Truncated,
}

/// The bytes of an entry bundle: each entry as a big-endian u16 length and
/// the entry.
///
/// # Errors
///
/// [`BundleError::EntryTooLarge`], [`BundleError::TooManyEntries`].
pub fn encode_bundle<E: AsRef<[u8]>>(entries: &[E]) -> Result<Vec<u8>, BundleError> {
    if entries.len() as u64 > TILE_WIDTH {
        return Err(BundleError::TooManyEntries);
    }
    let total = entries.iter().map(|e| e.as_ref().len() + 2).sum();
    let mut out = Vec::with_capacity(total);
    for (position, entry) in entries.iter().enumerate() {
        let entry = entry.as_ref();
        let len = u16::try_from(entry.len()).map_err(|_| BundleError::EntryTooLarge { position, len: entry.len() })?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(entry);
    }
    Ok(out)
}

/// The entries of an entry bundle.
///
/// # Errors
///
/// [`BundleError::Truncated`], [`BundleError::TooManyEntries`].
pub fn decode_bundle(bytes: &[u8]) -> Result<Vec<&[u8]>, BundleError> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        if out.len() as u64 == TILE_WIDTH {
            return Err(BundleError::TooManyEntries);
        }
        let (len, tail) = rest.split_first_chunk::<2>().ok_or(BundleError::Truncated)?;
        let len = usize::from(u16::from_be_bytes(*len));
        if tail.len() < len {
            return Err(BundleError::Truncated);
        }
        let (entry, tail) = tail.split_at(len);
        out.push(entry);
        rest = tail;
    }
    Ok(out)
}

/// The hashes in a hash tile's bytes, or `None` if the length is not a
/// multiple of 32 or above a full tile.
pub fn tile_hashes(bytes: &[u8]) -> Option<Vec<Hash>> {
    if !bytes.len().is_multiple_of(Hash::LEN) || bytes.len() > FULL_TILE_BYTES {
        return None;
    }
    Some(bytes.chunks_exact(Hash::LEN).filter_map(Hash::from_slice).collect())
}

/// The bytes of hash tile `id` cut from `stored`, the stored (full, or
/// widest partial) tile at that position: what `/log/<id.path()>` serves.
/// `None` when the stored tile is narrower than asked (the tree has not
/// reached that size) or `id` is an entry bundle.
pub fn serve_hash_tile(id: &TileId, stored: &[u8]) -> Option<Vec<u8>> {
    if id.kind == TileKind::Entries {
        return None;
    }
    let want = usize::from(id.width) * Hash::LEN;
    (stored.len() >= want && stored.len() <= FULL_TILE_BYTES && stored.len().is_multiple_of(Hash::LEN))
        .then(|| stored[..want].to_vec())
}
