//! RFC 9162 §2.1 Merkle hashing and proofs (the same tree as RFC 6962).
//!
//! Leaves are hashed `SHA-256(0x00 ‖ entry)` and interior nodes
//! `SHA-256(0x01 ‖ left ‖ right)`; the tree over `n` leaves splits at the
//! largest power of two below `n`, so the tree of every size is defined and
//! an older tree is always a prefix of a newer one.
//!
//! Proofs are built from stored hashes through [`NodeReader`], which answers
//! for *perfect* subtrees only: `(level, index)` is the hash of leaves
//! `[index·2^level, (index+1)·2^level)`. Every other range hash is folded
//! from those. Verification follows the algorithms of RFC 9162 §2.1.3.2
//! (inclusion) and §2.1.4.2 (consistency) step by step, and says which step
//! failed.

use sha2::{Digest, Sha256};

use super::Hash;

/// The root of the empty tree: SHA-256 of the empty string (RFC 9162 §2.1.1).
pub const EMPTY_ROOT: Hash = Hash([
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24, 0x27, 0xae, 0x41,
    0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
]);

/// The leaf hash of an entry: `SHA-256(0x00 ‖ entry)`.
pub fn leaf_hash(entry: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0x00]);
    h.update(entry);
    Hash(h.finalize().into())
}

/// The hash of an interior node: `SHA-256(0x01 ‖ left ‖ right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([0x01]);
    h.update(left.0);
    h.update(right.0);
    Hash(h.finalize().into())
}

/// Reads the hashes of perfect subtrees of a tree: `(level, index)` is the
/// root over leaves `[index << level, (index + 1) << level)`; level 0 is the
/// leaf hashes.
pub trait NodeReader {
    /// Why a hash could not be read.
    type Error;

    /// The hash of the perfect subtree at `(level, index)`.
    ///
    /// # Errors
    ///
    /// The hash is not stored, or the store failed.
    fn subtree(&self, level: u8, index: u64) -> Result<Hash, Self::Error>;
}

/// Why a proof could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProveError<E> {
    /// The leaf is not in the tree.
    #[error("leaf {index} is not in a tree of size {size}")]
    IndexOutOfRange {
        /// Leaf index asked for.
        index: u64,
        /// Tree size.
        size: u64,
    },
    /// A consistency proof from a larger tree to a smaller one.
    #[error("no consistency proof from size {old} to the smaller size {new}")]
    OldSizeAboveNew {
        /// Old size.
        old: u64,
        /// New size.
        new: u64,
    },
    /// Every tree is consistent with the empty tree: there is nothing to prove.
    #[error("no consistency proof from the empty tree (every tree extends it)")]
    EmptyOldTree,
    /// A stored hash could not be read.
    #[error("reading a stored hash: {0}")]
    Read(E),
}

/// Why a proof did not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProofError {
    /// The leaf index is not below the tree size.
    #[error("leaf {index} is not in a tree of size {size}")]
    IndexOutOfRange {
        /// Leaf index.
        index: u64,
        /// Tree size.
        size: u64,
    },
    /// The old tree is larger than the new one.
    #[error("the old tree (size {old}) is larger than the new one (size {new})")]
    OldSizeAboveNew {
        /// Old size.
        old: u64,
        /// New size.
        new: u64,
    },
    /// A consistency proof from the empty tree proves nothing.
    #[error("a consistency proof from the empty tree proves nothing")]
    EmptyOldTree,
    /// The proof has more hashes than the tree shape allows.
    #[error("the proof has more hashes than a tree of this size has levels")]
    ProofTooLong,
    /// The proof ends before it reaches the root.
    #[error("the proof is too short to reach the root")]
    ProofTooShort,
    /// Equal tree sizes need an empty consistency proof.
    #[error("equal tree sizes need an empty consistency proof")]
    ProofNotEmpty,
    /// Different tree sizes need a non-empty consistency proof.
    #[error("a consistency proof between different sizes cannot be empty")]
    EmptyProof,
    /// The proof leads to another root than the one given (inclusion, or
    /// two trees of equal size with different roots).
    #[error("the proof leads to another root hash")]
    RootMismatch,
    /// The consistency proof does not lead to the old root.
    #[error("the consistency proof does not lead to the old root hash")]
    OldRootMismatch,
    /// The consistency proof does not lead to the new root.
    #[error("the consistency proof does not lead to the new root hash")]
    NewRootMismatch,
}

/// The largest power of two strictly below `n` (`n >= 2`): where RFC 9162
/// splits a tree of `n` leaves.
pub fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1u64 << (63 - (n - 1).leading_zeros())
}

/// MTH(D[lo:hi]): the Merkle tree hash of leaves `lo..hi`, folded from the
/// perfect subtrees `reader` holds. `lo == hi` is the empty tree.
///
/// # Errors
///
/// The reader's error for a hash it cannot give.
pub fn range_hash<R: NodeReader + ?Sized>(reader: &R, lo: u64, hi: u64) -> Result<Hash, R::Error> {
    let n = hi.saturating_sub(lo);
    if n == 0 {
        return Ok(EMPTY_ROOT);
    }
    if n.is_power_of_two() && lo.is_multiple_of(n) {
        // n = 2^level; level < 64 because n is a u64.
        return reader.subtree(n.trailing_zeros() as u8, lo / n);
    }
    let k = split_point(n);
    let left = range_hash(reader, lo, lo + k)?;
    let right = range_hash(reader, lo + k, hi)?;
    Ok(node_hash(&left, &right))
}

/// The tree head (root hash) of the first `size` leaves.
///
/// # Errors
///
/// The reader's error for a hash it cannot give.
pub fn root<R: NodeReader + ?Sized>(reader: &R, size: u64) -> Result<Hash, R::Error> {
    range_hash(reader, 0, size)
}

/// The inclusion proof of leaf `index` in the tree of `size` leaves
/// (RFC 9162 §2.1.3.1, PATH), from the leaf's sibling up to the root's
/// child.
///
/// # Errors
///
/// [`ProveError::IndexOutOfRange`], or the reader's error.
pub fn inclusion_proof<R: NodeReader + ?Sized>(
    reader: &R,
    index: u64,
    size: u64,
) -> Result<Vec<Hash>, ProveError<R::Error>> {
    if index >= size {
        return Err(ProveError::IndexOutOfRange { index, size });
    }
    let mut proof = Vec::with_capacity(64);
    path(reader, index, 0, size, &mut proof).map_err(ProveError::Read)?;
    Ok(proof)
}

/// PATH(m, D[lo:hi]), appended to `out` deepest first.
fn path<R: NodeReader + ?Sized>(reader: &R, m: u64, lo: u64, hi: u64, out: &mut Vec<Hash>) -> Result<(), R::Error> {
    let n = hi - lo;
    if n <= 1 {
        return Ok(());
    }
    let k = split_point(n);
    if m < lo + k {
        path(reader, m, lo, lo + k, out)?;
        out.push(range_hash(reader, lo + k, hi)?);
    } else {
        path(reader, m, lo + k, hi, out)?;
        out.push(range_hash(reader, lo, lo + k)?);
    }
    Ok(())
}

/// The consistency proof from the tree of `old` leaves to the tree of
/// `new` leaves (RFC 9162 §2.1.4.1, PROOF). Empty when `old == new`.
///
/// # Errors
///
/// [`ProveError::OldSizeAboveNew`], [`ProveError::EmptyOldTree`], or the
/// reader's error.
pub fn consistency_proof<R: NodeReader + ?Sized>(
    reader: &R,
    old: u64,
    new: u64,
) -> Result<Vec<Hash>, ProveError<R::Error>> {
    if old > new {
        return Err(ProveError::OldSizeAboveNew { old, new });
    }
    if old == 0 {
        return Err(ProveError::EmptyOldTree);
    }
    let mut proof = Vec::with_capacity(64);
    subproof(reader, old, 0, new, true, &mut proof).map_err(ProveError::Read)?;
    Ok(proof)
}

/// SUBPROOF(m, D[lo:hi], b), with `m` counted from `lo`.
fn subproof<R: NodeReader + ?Sized>(
    reader: &R,
    m: u64,
    lo: u64,
    hi: u64,
    complete: bool,
    out: &mut Vec<Hash>,
) -> Result<(), R::Error> {
    let n = hi - lo;
    if m == n {
        if !complete {
            out.push(range_hash(reader, lo, hi)?);
        }
        return Ok(());
    }
    let k = split_point(n);
    if m <= k {
        subproof(reader, m, lo, lo + k, complete, out)?;
        out.push(range_hash(reader, lo + k, hi)?);
    } else {
        subproof(reader, m - k, lo + k, hi, false, out)?;
        out.push(range_hash(reader, lo, lo + k)?);
    }
    Ok(())
}

/// Verifies that `leaf` is leaf `index` of the tree of `size` leaves with
/// root `root`, following RFC 9162 §2.1.3.2.
///
/// # Errors
///
/// [`ProofError::IndexOutOfRange`], [`ProofError::ProofTooLong`],
/// [`ProofError::ProofTooShort`], [`ProofError::RootMismatch`].
pub fn verify_inclusion(leaf: &Hash, index: u64, size: u64, proof: &[Hash], root: &Hash) -> Result<(), ProofError> {
    // 1. leaf_index must be below tree_size.
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    // 2.-3.
    let (mut fn_, mut sn) = (index, size - 1);
    let mut r = *leaf;
    // 4.
    for p in proof {
        if sn == 0 {
            return Err(ProofError::ProofTooLong);
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    // 5.
    if sn != 0 {
        return Err(ProofError::ProofTooShort);
    }
    if r != *root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// Verifies that the tree of `old_size` leaves with root `old_root` is a
/// prefix of the tree of `new_size` leaves with root `new_root`, following
/// RFC 9162 §2.1.4.2 (whose algorithm covers `0 < old < new`; equal sizes
/// need an empty proof and equal roots; the empty old tree is refused, as
/// there is nothing to prove).
///
/// # Errors
///
/// [`ProofError::OldSizeAboveNew`], [`ProofError::EmptyOldTree`],
/// [`ProofError::ProofNotEmpty`], [`ProofError::RootMismatch`],
/// [`ProofError::EmptyProof`], [`ProofError::ProofTooLong`],
/// [`ProofError::ProofTooShort`], [`ProofError::OldRootMismatch`],
/// [`ProofError::NewRootMismatch`].
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    if old_size > new_size {
        return Err(ProofError::OldSizeAboveNew { old: old_size, new: new_size });
    }
    if old_size == 0 {
        return Err(ProofError::EmptyOldTree);
    }
    if old_size == new_size {
        if !proof.is_empty() {
            return Err(ProofError::ProofNotEmpty);
        }
        if old_root != new_root {
            return Err(ProofError::RootMismatch);
        }
        return Ok(());
    }
    // 1.
    let Some((first, rest)) = proof.split_first() else {
        return Err(ProofError::EmptyProof);
    };
    // 2. If first is an exact power of 2, prepend first_hash.
    let (start, rest) = if old_size.is_power_of_two() { (old_root, proof) } else { (first, rest) };
    // 3.
    let (mut fn_, mut sn) = (old_size - 1, new_size - 1);
    // 4.
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    // 5.
    let (mut fr, mut sr) = (*start, *start);
    // 6.
    for c in rest {
        if sn == 0 {
            return Err(ProofError::ProofTooLong);
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    // 7.
    if sn != 0 {
        return Err(ProofError::ProofTooShort);
    }
    if fr != *old_root {
        return Err(ProofError::OldRootMismatch);
    }
    if sr != *new_root {
        return Err(ProofError::NewRootMismatch);
    }
    Ok(())
}
