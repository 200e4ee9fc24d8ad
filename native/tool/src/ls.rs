//! `ls`: every file below a folder, as sorted relative paths, skipping the folders an agent never
//! wants to see (dependencies, build output, caches) and any the caller names.

use std::ffi::{CString, OsStr};
use std::fs;
use std::mem::MaybeUninit;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use ignore::gitignore::{Gitignore, GitignoreBuilder};
use rustix::fs::{AtFlags, CWD, FileType, Mode, OFlags, RawDir};
use serde::Serialize;

use crate::confine::Root;
use crate::error::{ErrorKind, IoResultExt, ToolError, ToolResult};
use crate::paths;

/// Files returned when the caller gives no limit.
pub const DEFAULT_LIMIT: usize = 100;
/// Folders never entered (opencode's ls list).
pub const IGNORED_FOLDERS: &[&str] = &[
    "node_modules",
    "__pycache__",
    ".git",
    "dist",
    "build",
    "target",
    "vendor",
    "bin",
    "obj",
    ".idea",
    ".vscode",
    ".zig-cache",
    "zig-out",
    ".coverage",
    "coverage",
    "tmp",
    "temp",
    ".cache",
    "cache",
    "logs",
    ".venv",
    "venv",
    "env",
];

/// The answer of [`ls`].
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct LsResult {
    pub root: String,
    pub files: Vec<String>,
    pub truncated: bool,
}

/// Lists files below `path` recursively. `ignore` holds gitignore-style globs matched against
/// paths relative to `path`; `limit` (None = all) keeps the first paths in sorted order. With
/// `root`, the folder is resolved beneath it and the walk never leaves it: a symlink is listed
/// only when it leads to a file inside the root.
pub fn ls(
    path: &str,
    ignore: &[String],
    limit: Option<usize>,
    root: Option<&str>,
) -> ToolResult<LsResult> {
    let confined = root.map(Root::open).transpose()?;
    let (shown, dir, below) = match &confined {
        None => {
            let shown = paths::absolute(path)?;
            let meta = fs::metadata(&shown).at(&shown)?;
            if !meta.is_dir() {
                return Err(not_a_folder(&shown));
            }
            // An unreadable folder lists as empty, as one below it is skipped.
            let dir = rustix::fs::openat(CWD, &shown, LIST_FLAGS, Mode::empty()).ok();
            (shown, dir, None)
        }
        Some(root) => {
            let place = root.place(path)?;
            let dir = root.open_file(&place, OFlags::RDONLY | OFlags::NONBLOCK)?;
            let stat =
                rustix::fs::fstat(&dir).map_err(|e| ToolError::from_io(&e.into(), &place.shown))?;
            if FileType::from_raw_mode(stat.st_mode) != FileType::Directory {
                return Err(not_a_folder(&place.shown));
            }
            let below = Beneath {
                root,
                rel: place.rel().to_path_buf(),
            };
            (place.shown, Some(dir), Some(below))
        }
    };
    let matcher = build_matcher(&shown, ignore)?;
    let mut files = Vec::new();
    if let Some(dir) = dir {
        collect(&dir, "", &[], &matcher, below.as_ref(), &mut files);
    }
    files.sort();
    let limit = limit.unwrap_or(usize::MAX);
    let truncated = files.len() > limit;
    files.truncate(limit);
    Ok(LsResult {
        root: paths::display(&shown),
        files,
        truncated,
    })
}

/// How a folder is opened to be listed.
const LIST_FLAGS: OFlags = OFlags::RDONLY
    .union(OFlags::DIRECTORY)
    .union(OFlags::CLOEXEC);
/// The buffer one `getdents` call fills.
const LIST_BUFFER_BYTES: usize = 32 * 1024;

fn not_a_folder(path: &Path) -> ToolError {
    ToolError::new(
        ErrorKind::NotADirectory,
        format!(
            "Path is not a directory: {} (use read for a file)",
            path.display()
        ),
    )
}

/// A confined listing: the root, and the listed folder's path below it as given.
struct Beneath<'r> {
    root: &'r Root,
    rel: PathBuf,
}

fn build_matcher(root: &Path, globs: &[String]) -> ToolResult<Gitignore> {
    let mut builder = GitignoreBuilder::new(root);
    for glob in globs {
        builder.add_line(None, glob).map_err(|e| {
            ToolError::new(
                ErrorKind::InvalidPattern,
                format!("Invalid ignore glob '{glob}': {e}"),
            )
        })?;
    }
    builder.build().map_err(|e| {
        ToolError::new(
            ErrorKind::InvalidPattern,
            format!("Invalid ignore globs: {e}"),
        )
    })
}

/// Depth-first walk of the open folder `dir`, every subfolder opened relative to it without
/// following a symlink; unreadable folders are skipped, symlinked folders are not entered. A
/// symlink is listed when it leads to a file (beneath the root, when there is one). `prefix` is
/// the folder's path below the listed one as shown, `raw` the same in the names' own bytes.
fn collect(
    dir: &OwnedFd,
    prefix: &str,
    raw: &[u8],
    matcher: &Gitignore,
    below: Option<&Beneath>,
    out: &mut Vec<String>,
) {
    for (name, listed) in entries(dir) {
        let shown = name.to_string_lossy();
        let rel = if prefix.is_empty() {
            shown.into_owned()
        } else {
            format!("{prefix}/{shown}")
        };
        let mut raw_rel = raw.to_vec();
        if !raw_rel.is_empty() {
            raw_rel.push(b'/');
        }
        raw_rel.extend_from_slice(name.to_bytes());
        let file_type = match listed {
            FileType::Unknown => {
                match rustix::fs::statat(dir, name.as_c_str(), AtFlags::SYMLINK_NOFOLLOW) {
                    Ok(stat) => FileType::from_raw_mode(stat.st_mode),
                    Err(_) => continue,
                }
            }
            known => known,
        };
        match file_type {
            FileType::Directory => {
                let base = name.to_string_lossy();
                if IGNORED_FOLDERS.contains(&base.as_ref())
                    || matcher.matched(&rel, true).is_ignore()
                {
                    continue;
                }
                let flags = LIST_FLAGS | OFlags::NOFOLLOW;
                if let Ok(sub) = rustix::fs::openat(dir, name.as_c_str(), flags, Mode::empty()) {
                    collect(&sub, &rel, &raw_rel, matcher, below, out);
                }
            }
            FileType::RegularFile | FileType::Symlink => {
                let is_file = file_type == FileType::RegularFile
                    || match below {
                        None => link_is_file(dir, &name),
                        Some(below) => link_is_file_beneath(below, &raw_rel),
                    };
                if is_file && !matcher.matched(&rel, false).is_ignore() {
                    out.push(rel);
                }
            }
            _ => {}
        }
    }
}

/// The names and types of the open folder's entries, `.` and `..` left out.
fn entries(dir: &OwnedFd) -> Vec<(CString, FileType)> {
    let mut buffer = Vec::<u8>::with_capacity(LIST_BUFFER_BYTES);
    let spare: &mut [MaybeUninit<u8>] = buffer.spare_capacity_mut();
    let mut listing = RawDir::new(dir, spare);
    let mut found = Vec::new();
    while let Some(Ok(entry)) = listing.next() {
        let name = entry.file_name();
        if name.to_bytes() != b"." && name.to_bytes() != b".." {
            found.push((name.to_owned(), entry.file_type()));
        }
    }
    found
}

/// Whether the symlink `name` in `dir` leads to a file.
fn link_is_file(dir: &OwnedFd, name: &CString) -> bool {
    rustix::fs::statat(dir, name.as_c_str(), AtFlags::empty())
        .is_ok_and(|stat| FileType::from_raw_mode(stat.st_mode) == FileType::RegularFile)
}

/// Whether the symlink at `rel` (below the listed folder) leads to a file inside the root.
fn link_is_file_beneath(below: &Beneath, rel: &[u8]) -> bool {
    let rel = below.rel.join(OsStr::from_bytes(rel));
    let Ok(fd) = below.root.open_below(&rel, OFlags::PATH) else {
        return false;
    };
    rustix::fs::fstat(&fd)
        .is_ok_and(|stat| FileType::from_raw_mode(stat.st_mode) == FileType::RegularFile)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ls_skips_default_and_requested_folders() {
        let dir = tempfile::tempdir().unwrap();
        for f in [
            "a.txt",
            "node_modules/x.js",
            "src/b.rs",
            "src/gen/c.rs",
            "logs.txt",
        ] {
            let p = dir.path().join(f);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, "x").unwrap();
        }
        let out = ls(
            dir.path().to_str().unwrap(),
            &["gen/".to_string()],
            None,
            None,
        )
        .unwrap();
        assert_eq!(out.files, vec!["a.txt", "logs.txt", "src/b.rs"]);
    }
}
