//! Reading lists from files: a MISP `list.json`, a folder of them (a clone
//! of MISP's `misp-warninglists`, its `lists/` folder, or one list's
//! folder), or a ranking file. The only module of [`super`] that does I/O;
//! what a file means is [`super::misp`]'s and [`super::ranked`]'s.

use std::path::{Path, PathBuf};

use super::list::Warninglist;
use super::misp::{self, MispError, MispImport};
use super::ranked::{self, RankedError, RankedImport};
use super::rule::DomainScope;
use crate::allowlist::ListAction;
use crate::normalize::NormalizeContext;

/// Largest `list.json` read (MISP's biggest lists are about 30 MB).
pub const MAX_LIST_FILE: u64 = 256 * 1024 * 1024;

/// How deep below the given folder `list.json` files are looked for
/// (`misp-warninglists/lists/NAME/list.json` is 2).
const MAX_DEPTH: usize = 3;

/// Why a file or folder could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FilesError {
    /// Reading failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The failure.
        source: std::io::Error,
    },
    /// A file larger than [`MAX_LIST_FILE`].
    #[error("{}: larger than {MAX_LIST_FILE} bytes", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
    },
    /// A folder with no `list.json` in it.
    #[error("{}: no list.json found (looked {MAX_DEPTH} folders deep)", path.display())]
    NoLists {
        /// The folder.
        path: PathBuf,
    },
    /// The ranking file did not read.
    #[error("{}: {source}", path.display())]
    Ranked {
        /// The file.
        path: PathBuf,
        /// Why.
        source: RankedError,
    },
}

/// How to import MISP lists from files.
#[derive(Debug, Clone)]
pub struct MispFiles<'a> {
    /// What their matches do.
    pub action: ListAction,
    /// How far `hostname` rules reach.
    pub scope: DomainScope,
    /// Normalization settings.
    pub ctx: &'a NormalizeContext,
}

/// A list file that was skipped, and why.
#[derive(Debug)]
pub struct SkippedList {
    /// The file.
    pub path: PathBuf,
    /// The Jaring name it would have had.
    pub name: String,
    /// Why it was skipped.
    pub reason: SkipReason,
}

/// Why a list file was skipped.
#[derive(Debug, thiserror::Error)]
pub enum SkipReason {
    /// The file did not read.
    #[error(transparent)]
    Files(#[from] FilesError),
    /// It is not a list Jaring imports.
    #[error(transparent)]
    Misp(#[from] MispError),
}

/// Every `list.json` under `path` (or `path` itself if it is a file),
/// sorted.
///
/// # Errors
///
/// [`FilesError::Io`] for a path that cannot be read,
/// [`FilesError::NoLists`] for a folder without lists.
pub fn misp_list_files(path: &Path) -> Result<Vec<PathBuf>, FilesError> {
    let meta = std::fs::metadata(path).map_err(|source| FilesError::Io { path: path.to_path_buf(), source })?;
    if meta.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut found = Vec::new();
    let mut todo = vec![(path.to_path_buf(), 0usize)];
    while let Some((dir, depth)) = todo.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|source| FilesError::Io { path: dir.clone(), source })?;
        for entry in entries {
            let entry = entry.map_err(|source| FilesError::Io { path: dir.clone(), source })?;
            let p = entry.path();
            let ft = entry.file_type().map_err(|source| FilesError::Io { path: p.clone(), source })?;
            if ft.is_dir() && depth < MAX_DEPTH {
                todo.push((p, depth + 1));
            } else if ft.is_file() && p.file_name().is_some_and(|n| n == "list.json") {
                found.push(p);
            }
        }
    }
    if found.is_empty() {
        return Err(FilesError::NoLists { path: path.to_path_buf() });
    }
    found.sort();
    Ok(found)
}

/// The Jaring name of a list file: from its folder for `NAME/list.json`,
/// else from the file's stem.
pub fn misp_name_for(path: &Path) -> String {
    let folder = match path.file_name() {
        Some(n) if n == "list.json" => path.parent().and_then(Path::file_name),
        _ => path.file_stem(),
    };
    misp::list_name_for(&folder.map(|f| f.to_string_lossy()).unwrap_or_default())
}

fn read_capped(path: &Path) -> Result<Vec<u8>, FilesError> {
    let len = std::fs::metadata(path).map_err(|source| FilesError::Io { path: path.to_path_buf(), source })?.len();
    if len > MAX_LIST_FILE {
        return Err(FilesError::TooLarge { path: path.to_path_buf() });
    }
    std::fs::read(path).map_err(|source| FilesError::Io { path: path.to_path_buf(), source })
}

/// Reads and maps one MISP list file.
///
/// # Errors
///
/// [`SkipReason`]: the file did not read, or is not a list Jaring imports.
pub fn read_misp_file(path: &Path, opts: &MispFiles<'_>) -> Result<Warninglist, SkipReason> {
    let bytes = read_capped(path)?;
    let import = MispImport {
        name: misp_name_for(path),
        source: path.display().to_string(),
        action: opts.action,
        scope: opts.scope,
        ctx: opts.ctx,
    };
    Ok(misp::parse(&bytes, &import)?)
}

/// Reads every MISP list under `path`, one at a time, calling `each` with
/// the file and what came of it (a list, or why it was skipped): the
/// caller sends or stores each list before the next is read, so memory
/// holds one list at a time.
///
/// # Errors
///
/// [`FilesError`] when `path` itself cannot be listed; a list that fails
/// is reported to `each`, not here.
pub fn for_each_misp_list(
    path: &Path,
    opts: &MispFiles<'_>,
    mut each: impl FnMut(&Path, Result<Warninglist, SkippedList>),
) -> Result<usize, FilesError> {
    let files = misp_list_files(path)?;
    for f in &files {
        let outcome =
            read_misp_file(f, opts).map_err(|reason| SkippedList { path: f.clone(), name: misp_name_for(f), reason });
        each(f, outcome);
    }
    Ok(files.len())
}

/// Lists read and lists skipped.
#[derive(Debug, Default)]
pub struct MispFolder {
    /// Lists that imported.
    pub lists: Vec<Warninglist>,
    /// Lists that did not, with why.
    pub skipped: Vec<SkippedList>,
}

/// Reads every MISP list under `path` at once (see [`for_each_misp_list`]
/// to hold one at a time).
///
/// # Errors
///
/// As [`for_each_misp_list`].
pub fn read_misp_path(path: &Path, opts: &MispFiles<'_>) -> Result<MispFolder, FilesError> {
    let mut out = MispFolder::default();
    for_each_misp_list(path, opts, |_, r| match r {
        Ok(l) => out.lists.push(l),
        Err(s) => out.skipped.push(s),
    })?;
    Ok(out)
}

/// Reads a ranking file (streaming; see [`super::ranked`]).
///
/// # Errors
///
/// [`FilesError::Io`] opening it, [`FilesError::Ranked`] reading it.
pub fn read_ranked_file(path: &Path, opts: &RankedImport<'_>) -> Result<Warninglist, FilesError> {
    let f = std::fs::File::open(path).map_err(|source| FilesError::Io { path: path.to_path_buf(), source })?;
    ranked::read(std::io::BufReader::with_capacity(64 * 1024, f), opts)
        .map_err(|source| FilesError::Ranked { path: path.to_path_buf(), source })
}
