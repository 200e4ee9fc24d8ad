//! `ls`: every file below a folder, as sorted relative paths, skipping the folders an agent never
//! wants to see (dependencies, build output, caches) and any the caller names.

use std::fs;
use std::path::Path;

use ignore::gitignore::{Gitignore, GitignoreBuilder};
use serde::Serialize;

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
/// paths relative to `path`; `limit` (None = all) keeps the first paths in sorted order.
pub fn ls(path: &str, ignore: &[String], limit: Option<usize>) -> ToolResult<LsResult> {
    let root = paths::absolute(path)?;
    let meta = fs::metadata(&root).at(&root)?;
    if !meta.is_dir() {
        return Err(ToolError::new(
            ErrorKind::NotADirectory,
            format!(
                "Path is not a directory: {} (use read for a file)",
                root.display()
            ),
        ));
    }
    let matcher = build_matcher(&root, ignore)?;
    let mut files = Vec::new();
    collect(&root, "", &matcher, &mut files);
    files.sort();
    let limit = limit.unwrap_or(usize::MAX);
    let truncated = files.len() > limit;
    files.truncate(limit);
    Ok(LsResult {
        root: paths::display(&root),
        files,
        truncated,
    })
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

/// Depth-first walk; unreadable folders are skipped, symlinked folders are not entered.
fn collect(dir: &Path, prefix: &str, matcher: &Gitignore, out: &mut Vec<String>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let rel = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}/{name}")
        };
        let Ok(file_type) = entry.file_type() else {
            continue;
        };
        let full = entry.path();
        if file_type.is_dir() {
            if IGNORED_FOLDERS.contains(&name.as_str()) || matcher.matched(&rel, true).is_ignore() {
                continue;
            }
            collect(&full, &rel, matcher, out);
        } else {
            let is_file = file_type.is_file()
                || (file_type.is_symlink()
                    && fs::metadata(&full).map(|m| m.is_file()).unwrap_or(false));
            if is_file && !matcher.matched(&rel, false).is_ignore() {
                out.push(rel);
            }
        }
    }
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
        let out = ls(dir.path().to_str().unwrap(), &["gen/".to_string()], None).unwrap();
        assert_eq!(out.files, vec!["a.txt", "logs.txt", "src/b.rs"]);
    }
}
