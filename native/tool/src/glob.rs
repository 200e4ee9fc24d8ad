//! `glob`: the files below a folder that match one ripgrep `--glob`, newest first.
//!
//! The pattern is a positive ripgrep override over the shared walk ([`crate::walk`]): it keeps
//! matching files even inside ignored folders, exactly as `rg --files -g PATTERN` would.

use std::os::unix::fs::MetadataExt;

use serde::Serialize;

use crate::error::{ErrorKind, ToolError, ToolResult};
use crate::paths;
use crate::walk::{self, WalkOptions};

/// Files returned when the caller gives no limit.
pub const DEFAULT_LIMIT: usize = 100;

/// The answer of [`glob`].
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct GlobResult {
    /// Absolute paths, newest modification time first (ties by path).
    pub files: Vec<String>,
    /// How many files matched before `limit` was applied.
    pub total: usize,
    pub truncated: bool,
}

/// Finds the files below `path` matching the ripgrep glob `pattern` (relative to `path`; a glob
/// without `/` matches a name at any depth). `limit` (None = all) keeps the newest.
///
/// Raises `invalid_pattern` for an empty or unparsable glob, `not_found` for a missing path and
/// `not_a_directory` for a file. With `root`, the folder is resolved beneath it and the walk never
/// leaves it.
pub fn glob(
    pattern: &str,
    path: &str,
    limit: Option<usize>,
    root: Option<&str>,
) -> ToolResult<GlobResult> {
    if pattern.is_empty() {
        return Err(ToolError::new(
            ErrorKind::InvalidPattern,
            "The glob pattern is empty (try \"**/*\" for every file)",
        ));
    }
    let (root, beneath) = walk::search_root_at(path, root)?;
    let options = WalkOptions {
        globs: vec![pattern.to_string()],
        beneath,
        ..Default::default()
    };
    // Only the matches are `stat`ed, each relative to its open folder.
    let mut found = walk::collect_files(&root, &options, |entry| {
        let modified = entry.modified_ns()?;
        Some((modified, paths::display(entry.path())))
    })?;
    sort_newest_first(&mut found);
    let total = found.len();
    let limit = limit.unwrap_or(usize::MAX);
    let files: Vec<String> = found.into_iter().take(limit).map(|(_, p)| p).collect();
    Ok(GlobResult {
        truncated: total > files.len(),
        total,
        files,
    })
}

/// A modification time as nanoseconds since the epoch (negative before it), from a stat's
/// seconds and nanoseconds (the nanoseconds are never negative, also before the epoch).
pub fn epoch_ns(seconds: i64, nanoseconds: i64) -> i128 {
    i128::from(seconds) * 1_000_000_000 + i128::from(nanoseconds)
}

/// [`epoch_ns`] of metadata already at hand (grep `fstat`s the file it has open).
pub fn metadata_modified_ns(metadata: &std::fs::Metadata) -> i128 {
    epoch_ns(metadata.mtime(), metadata.mtime_nsec())
}

/// Newest first; equal times by path, so the order is the same on every run and backend.
pub fn sort_newest_first<T: Ord>(items: &mut [(i128, T)]) {
    items.sort_unstable_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::time::{Duration, SystemTime};

    #[test]
    fn newest_first_with_limit_and_total() {
        let dir = tempfile::tempdir().unwrap();
        let base = SystemTime::now() - Duration::from_secs(1000);
        for (i, name) in ["old.py", "mid.py", "new.py", "skip.txt"]
            .iter()
            .enumerate()
        {
            let p = dir.path().join(name);
            fs::write(&p, "x").unwrap();
            let f = fs::File::options().write(true).open(&p).unwrap();
            f.set_modified(base + Duration::from_secs(10 * i as u64))
                .unwrap();
        }
        let out = glob("*.py", dir.path().to_str().unwrap(), Some(2), None).unwrap();
        let names: Vec<_> = out
            .files
            .iter()
            .map(|p| p.rsplit('/').next().unwrap())
            .collect();
        assert_eq!(names, vec!["new.py", "mid.py"]);
        assert_eq!((out.total, out.truncated), (3, true));
    }

    #[test]
    fn empty_pattern_is_invalid() {
        assert_eq!(
            glob("", "/", None, None).unwrap_err().kind,
            ErrorKind::InvalidPattern
        );
    }
}
