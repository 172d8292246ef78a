//! The append-only tree of a single writer that commits in groups, kept as
//! tlog-tiles hash tiles.
//!
//! The durable form of the tree is its hash tiles: tile `(L, N)` holds up
//! to 256 hashes of tree level `8·L` (see [`super::tile`]). Intermediate
//! levels are recomputed from a tile when needed, so the store keeps about
//! one hash per leaf and writes one tile key per 256 leaves (plus the
//! rightmost partial tile of each level, rewritten by every commit).
//!
//! [`TreeState`] is the writer's in-memory right edge: the partial tile of
//! each level and, beside it, the roots of its perfect subtrees (a compact
//! range), so the root of any size is at most 64 hashes away. A commit
//! calls [`TreeState::append`] with the leaf hashes of the entries it
//! writes and puts the returned [`TileWrite`]s in the same atomic batch;
//! it keeps the returned state only once the batch is durable.
//!
//! Readers (proofs, serving tiles) go through [`TileReader`], one method
//! over stored tiles, and [`TileNodes`], which answers
//! [`NodeReader`] questions from it. At start, [`TreeState::load`] reads
//! the right edge back, and [`TreeState::rebuild_and_check`] recomputes
//! every tile from the leaves and compares it with what is stored.

use std::cell::RefCell;

use super::Hash;
use super::merkle::{EMPTY_ROOT, NodeReader, node_hash};
use super::tile::{FULL_TILE_BYTES, TILE_WIDTH, TileId, tile_hashes};

/// Tile levels a tree of at most 2^64 - 1 leaves uses (256^8 = 2^64).
pub const MAX_TILE_LEVELS: usize = 8;

/// One tile to persist: its position and its hashes, concatenated.
#[derive(Clone, PartialEq, Eq)]
pub struct TileWrite {
    /// Tile level (hashes of tree level `8 * level`).
    pub level: u8,
    /// Tile index within the level.
    pub index: u64,
    /// `width * 32` bytes.
    pub hashes: Vec<u8>,
}

impl TileWrite {
    /// Hashes in the tile: 256 when full.
    pub fn width(&self) -> usize {
        self.hashes.len() / Hash::LEN
    }

    /// The proposed store key: tile level, then the index big-endian, so
    /// a level's tiles sort in order.
    pub fn key(&self) -> [u8; 9] {
        tile_key(self.level, self.index)
    }
}

impl std::fmt::Debug for TileWrite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TileWrite {{ level: {}, index: {}, width: {} }}", self.level, self.index, self.width())
    }
}

/// Store key of tile `(level, index)`: `level ‖ index` (big-endian).
pub fn tile_key(level: u8, index: u64) -> [u8; 9] {
    let mut k = [0u8; 9];
    k[0] = level;
    k[1..].copy_from_slice(&index.to_be_bytes());
    k
}

/// The outcome of an append: keep `state` once `tiles` are durable.
#[derive(Debug, Clone)]
pub struct Appended {
    /// The tree after the batch.
    pub state: TreeState,
    /// Its root.
    pub root: Hash,
    /// Exactly the tiles that changed: tiles the batch completed, and the
    /// new contents of each level's partial tile that it touched.
    pub tiles: Vec<TileWrite>,
}

/// Why an append was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AppendError {
    /// The batch does not start where the tree ends.
    #[error("the batch starts at leaf {first}, but the tree has {size} leaves")]
    NotContiguous {
        /// First leaf index of the batch.
        first: u64,
        /// Current tree size.
        size: u64,
    },
    /// The tree would pass 2^64 - 1 leaves.
    #[error("the tree cannot grow past 2^64 - 1 leaves")]
    Full,
}

/// Why stored tiles could not be read or do not match the leaves.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TileReadError<E> {
    /// The store failed.
    #[error("reading tiles: {0}")]
    Store(E),
    /// A tile the tree needs is not stored.
    #[error("tile {level}/{index} is missing")]
    Missing {
        /// Tile level.
        level: u8,
        /// Tile index.
        index: u64,
    },
    /// A stored tile is not a whole number of hashes, or too long.
    #[error("tile {level}/{index} is {len} bytes, not a whole number of hashes up to a full tile")]
    BadLength {
        /// Tile level.
        level: u8,
        /// Tile index.
        index: u64,
        /// Its length in bytes.
        len: usize,
    },
    /// A stored tile has another width than the tree size implies.
    #[error("tile {level}/{index} holds {stored} hashes, the tree size implies {expected}")]
    Width {
        /// Tile level.
        level: u8,
        /// Tile index.
        index: u64,
        /// Hashes stored.
        stored: usize,
        /// Hashes expected.
        expected: usize,
    },
    /// A stored tile differs from the one recomputed from the leaves.
    #[error("tile {level}/{index} does not match the log entries it covers")]
    Mismatch {
        /// Tile level.
        level: u8,
        /// Tile index.
        index: u64,
    },
    /// A tile is stored beyond the end of the tree.
    #[error("tile {level}/{index} is stored beyond the end of the tree")]
    Unexpected {
        /// Tile level.
        level: u8,
        /// Tile index.
        index: u64,
    },
    /// A perfect subtree beyond what a tile level can hold was asked for.
    #[error("no subtree at tree level {0}")]
    Level(u8),
}

/// Reads stored hash tiles.
pub trait TileReader {
    /// Why the store could not answer.
    type Error;

    /// The stored bytes of tile `(level, index)`: a full tile, or the
    /// rightmost partial tile as last written; `None` if not stored.
    ///
    /// # Errors
    ///
    /// The store failed.
    fn read_tile(&self, level: u8, index: u64) -> Result<Option<Vec<u8>>, Self::Error>;
}

impl<T: TileReader + ?Sized> TileReader for &T {
    type Error = T::Error;
    fn read_tile(&self, level: u8, index: u64) -> Result<Option<Vec<u8>>, Self::Error> {
        (**self).read_tile(level, index)
    }
}

/// One level of the right edge: the partial tile's hashes and the roots
/// of the perfect subtrees over them, largest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Edge {
    hashes: Vec<Hash>,
    peaks: Vec<Hash>,
}

impl Edge {
    /// Pushes a hash; returns the tile root when the tile is full (and
    /// empties the edge).
    fn push(&mut self, h: Hash) -> Option<(Vec<Hash>, Hash)> {
        self.hashes.push(h);
        self.peaks.push(h);
        let mut count = self.hashes.len();
        while count & 1 == 0 {
            let (Some(right), Some(left)) = (self.peaks.pop(), self.peaks.pop()) else { break };
            self.peaks.push(node_hash(&left, &right));
            count >>= 1;
        }
        if self.hashes.len() as u64 == TILE_WIDTH {
            let root = self.peaks.pop().unwrap_or(EMPTY_ROOT);
            self.peaks.clear();
            return Some((std::mem::take(&mut self.hashes), root));
        }
        None
    }
}

/// The writer's view of the tree: its size and right edge.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TreeState {
    size: u64,
    edges: Vec<Edge>,
}

impl TreeState {
    /// The empty tree.
    pub fn new() -> TreeState {
        TreeState::default()
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The root hash (tree head) at this size.
    pub fn root(&self) -> Hash {
        // Perfect subtrees from left to right are the peaks of the highest
        // level first; fold them from the right, as RFC 9162 splits.
        let mut peaks = self.edges.iter().rev().flat_map(|e| e.peaks.iter()).rev();
        let Some(last) = peaks.next() else { return EMPTY_ROOT };
        peaks.fold(*last, |acc, left| node_hash(left, &acc))
    }

    /// Appends `leaves` (leaf hashes of the entries at indexes
    /// `first..first + leaves.len()`), returning the new state, its root
    /// and the tiles to persist. `self` is unchanged.
    ///
    /// # Errors
    ///
    /// [`AppendError::NotContiguous`] when `first` is not the current size,
    /// [`AppendError::Full`].
    pub fn append(&self, first: u64, leaves: &[Hash]) -> Result<Appended, AppendError> {
        if first != self.size {
            return Err(AppendError::NotContiguous { first, size: self.size });
        }
        self.size.checked_add(leaves.len() as u64).ok_or(AppendError::Full)?;
        let mut state = self.clone();
        let mut tiles = Vec::new();
        let mut touched = [false; MAX_TILE_LEVELS];
        for leaf in leaves {
            state.push_leaf(*leaf, &mut |level, index, hashes| {
                tiles.push(TileWrite { level, index, hashes: concat(hashes) });
            });
            mark_touched(&mut touched, &state);
        }
        for (level, edge) in state.edges.iter().enumerate() {
            if touched.get(level).copied().unwrap_or(false) && !edge.hashes.is_empty() {
                let level = level as u8;
                let index = state.size.checked_shr(8 * (u32::from(level) + 1)).unwrap_or(0);
                tiles.push(TileWrite { level, index, hashes: concat(&edge.hashes) });
            }
        }
        let root = state.root();
        Ok(Appended { state, root, tiles })
    }

    /// Adds one leaf; `full(level, index, hashes)` is called for every tile
    /// the leaf completes.
    fn push_leaf(&mut self, leaf: Hash, full: &mut dyn FnMut(u8, u64, &[Hash])) {
        self.size += 1;
        let mut level = 0usize;
        let mut h = leaf;
        loop {
            if self.edges.len() <= level {
                self.edges.push(Edge::default());
            }
            let Some((hashes, root)) = self.edges[level].push(h) else { break };
            // A tile at `level` just completed, so the shift is below 64 and
            // its result at least 1.
            let index = self.size.checked_shr(8 * (level as u32 + 1)).unwrap_or(0).saturating_sub(1);
            full(level as u8, index, &hashes);
            h = root;
            level += 1;
        }
    }

    /// The state of a stored tree of `size` leaves, read from the right
    /// edge of its tiles (one partial tile per level). Fast; checks only
    /// the widths. Use [`TreeState::rebuild_and_check`] to check contents.
    ///
    /// # Errors
    ///
    /// [`TileReadError::Store`], [`TileReadError::Missing`],
    /// [`TileReadError::BadLength`], [`TileReadError::Width`].
    pub fn load<R: TileReader>(size: u64, reader: &R) -> Result<TreeState, TileReadError<R::Error>> {
        let mut edges = Vec::new();
        for level in 0..MAX_TILE_LEVELS as u8 {
            if size.checked_shr(8 * u32::from(level)).unwrap_or(0) == 0 {
                break;
            }
            let mut edge = Edge::default();
            if let Some(id) = TileId::partial_at(level, size) {
                let hashes = read_hashes(reader, level, id.index)?;
                if hashes.len() != usize::from(id.width) {
                    return Err(TileReadError::Width {
                        level,
                        index: id.index,
                        stored: hashes.len(),
                        expected: usize::from(id.width),
                    });
                }
                for h in hashes {
                    // Fewer than 256 hashes never complete the tile.
                    let _ = edge.push(h);
                }
            }
            edges.push(edge);
        }
        Ok(TreeState { size, edges })
    }

    /// Recomputes every tile from `leaves` (the leaf hashes of the log, in
    /// order) and compares each with the stored one; checks that nothing is
    /// stored past the end. Returns the state for the writer.
    ///
    /// # Errors
    ///
    /// [`TileReadError::Mismatch`] naming the first tile that differs,
    /// [`TileReadError::Missing`], [`TileReadError::Width`],
    /// [`TileReadError::Unexpected`], or the store's error (also for a leaf
    /// that could not be read).
    pub fn rebuild_and_check<R, I>(reader: &R, leaves: I) -> Result<TreeState, TileReadError<R::Error>>
    where
        R: TileReader,
        I: IntoIterator<Item = Result<Hash, R::Error>>,
    {
        let mut state = TreeState::new();
        let mut failure = None;
        for leaf in leaves {
            let leaf = leaf.map_err(TileReadError::Store)?;
            state.push_leaf(leaf, &mut |level, index, hashes| {
                if failure.is_none() {
                    failure = check_tile(reader, level, index, hashes).err();
                }
            });
            if let Some(e) = failure.take() {
                return Err(e);
            }
        }
        for level in 0..MAX_TILE_LEVELS as u8 {
            let count = state.size.checked_shr(8 * u32::from(level)).unwrap_or(0);
            let index = count / TILE_WIDTH;
            match state.edges.get(usize::from(level)) {
                Some(edge) if !edge.hashes.is_empty() => check_tile(reader, level, index, &edge.hashes)?,
                _ => {
                    if reader.read_tile(level, index).map_err(TileReadError::Store)?.is_some() {
                        return Err(TileReadError::Unexpected { level, index });
                    }
                }
            }
            if count == 0 {
                break;
            }
        }
        Ok(state)
    }
}

fn mark_touched(touched: &mut [bool; MAX_TILE_LEVELS], state: &TreeState) {
    // Every level the leaf reached: level 0 always, and level l + 1 when
    // level l just completed a tile (its edge is then empty).
    for (level, edge) in state.edges.iter().enumerate() {
        if let Some(t) = touched.get_mut(level) {
            *t = true;
        }
        if !edge.hashes.is_empty() {
            break;
        }
    }
}

fn concat(hashes: &[Hash]) -> Vec<u8> {
    let mut v = Vec::with_capacity(hashes.len() * Hash::LEN);
    for h in hashes {
        v.extend_from_slice(&h.0);
    }
    v
}

fn read_hashes<R: TileReader>(reader: &R, level: u8, index: u64) -> Result<Vec<Hash>, TileReadError<R::Error>> {
    let bytes =
        reader.read_tile(level, index).map_err(TileReadError::Store)?.ok_or(TileReadError::Missing { level, index })?;
    tile_hashes(&bytes).ok_or(TileReadError::BadLength { level, index, len: bytes.len() })
}

fn check_tile<R: TileReader>(
    reader: &R,
    level: u8,
    index: u64,
    expected: &[Hash],
) -> Result<(), TileReadError<R::Error>> {
    let stored = read_hashes(reader, level, index)?;
    if stored.len() != expected.len() {
        return Err(TileReadError::Width { level, index, stored: stored.len(), expected: expected.len() });
    }
    if stored != expected {
        return Err(TileReadError::Mismatch { level, index });
    }
    Ok(())
}

/// A tile read once: `((level, index), hashes)`.
type CachedTile = ((u8, u64), Vec<Hash>);

/// Answers [`NodeReader`] questions from stored tiles, caching the tiles it
/// reads (one proof reads each at most once). Short-lived: one per proof or
/// request.
#[derive(Debug)]
pub struct TileNodes<R> {
    reader: R,
    cache: RefCell<Vec<CachedTile>>,
}

impl<R: TileReader> TileNodes<R> {
    /// Reads through `reader`.
    pub fn new(reader: R) -> TileNodes<R> {
        TileNodes { reader, cache: RefCell::new(Vec::new()) }
    }

    fn tile(&self, level: u8, index: u64) -> Result<Vec<Hash>, TileReadError<R::Error>> {
        if let Some((_, t)) = self.cache.borrow().iter().find(|(k, _)| *k == (level, index)) {
            return Ok(t.clone());
        }
        let hashes = read_hashes(&self.reader, level, index)?;
        self.cache.borrow_mut().push(((level, index), hashes.clone()));
        Ok(hashes)
    }
}

impl<R: TileReader> NodeReader for TileNodes<R> {
    type Error = TileReadError<R::Error>;

    fn subtree(&self, level: u8, index: u64) -> Result<Hash, Self::Error> {
        let tile_level = level / 8;
        if usize::from(tile_level) >= MAX_TILE_LEVELS {
            return Err(TileReadError::Level(level));
        }
        let height = u32::from(level % 8);
        // The subtree covers 2^height hashes of tile level `tile_level`.
        let first = index.checked_mul(1u64 << height).ok_or(TileReadError::Level(level))?;
        let tile_index = first / TILE_WIDTH;
        let offset = (first % TILE_WIDTH) as usize;
        let count = 1usize << height;
        let hashes = self.tile(tile_level, tile_index)?;
        let Some(span) = hashes.get(offset..offset + count) else {
            return Err(TileReadError::Width {
                level: tile_level,
                index: tile_index,
                stored: hashes.len(),
                expected: offset + count,
            });
        };
        Ok(perfect_root(span))
    }
}

/// The root of a perfect subtree over `hashes` (a power-of-two count).
fn perfect_root(hashes: &[Hash]) -> Hash {
    let mut level: Vec<Hash> = hashes.to_vec();
    while level.len() > 1 {
        level = level.chunks_exact(2).map(|p| node_hash(&p[0], &p[1])).collect();
    }
    level.first().copied().unwrap_or(EMPTY_ROOT)
}

/// Tiles held in memory, keyed like the store: for tests, tools and a
/// witness holding the tiles it fetched from a peer.
#[derive(Debug, Clone, Default)]
pub struct MemoryTiles {
    tiles: std::collections::BTreeMap<(u8, u64), Vec<u8>>,
}

impl MemoryTiles {
    /// No tiles.
    pub fn new() -> MemoryTiles {
        MemoryTiles::default()
    }

    /// Stores (or overwrites) tiles, as a commit would.
    pub fn apply(&mut self, writes: &[TileWrite]) {
        for w in writes {
            self.tiles.insert((w.level, w.index), w.hashes.clone());
        }
    }

    /// Stores one tile's bytes (e.g. fetched from a log).
    pub fn insert(&mut self, level: u8, index: u64, bytes: Vec<u8>) {
        self.tiles.insert((level, index), bytes);
    }

    /// Number of tiles held.
    pub fn len(&self) -> usize {
        self.tiles.len()
    }

    /// Whether no tile is held.
    pub fn is_empty(&self) -> bool {
        self.tiles.is_empty()
    }

    /// Every tile, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&(u8, u64), &Vec<u8>)> {
        self.tiles.iter()
    }

    /// Mutable access, for tests that corrupt a tile.
    pub fn get_mut(&mut self, level: u8, index: u64) -> Option<&mut Vec<u8>> {
        self.tiles.get_mut(&(level, index))
    }
}

impl TileReader for MemoryTiles {
    type Error = std::convert::Infallible;
    fn read_tile(&self, level: u8, index: u64) -> Result<Option<Vec<u8>>, Self::Error> {
        Ok(self.tiles.get(&(level, index)).cloned())
    }
}

/// Checks a full tile's length, for edges that accept tiles from outside.
pub fn is_full_tile(bytes: &[u8]) -> bool {
    bytes.len() == FULL_TILE_BYTES
}
