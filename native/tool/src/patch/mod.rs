//! `apply_patch`: Codex's `*** Begin Patch` format, all files or none, line endings kept.
//! Twin: `ironcode/twin/patch.py`.
//!
//! - [`parse`] reads the grammar leniently (padded markers, a heredoc around the patch, CRLF).
//! - [`seek`] places each chunk of an Update with Codex's four passes from a cursor and builds
//!   the file's new text, keeping its line endings, BOM and final-newline state.
//! - This module resolves every section in memory, in patch order (each on the result of the
//!   ones before), and only then writes: a patch that fails anywhere changes nothing.
//! - [`disk`] holds every filesystem access, and puts back what was written if a write fails
//!   part-way.

mod beneath;
pub mod disk;
pub mod parse;
pub mod seek;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::edit::{Diff, UTF8_BOM, unified_lines};
use crate::error::{ErrorKind, ToolError, ToolResult};
use crate::paths;
use crate::read::looks_binary;
use disk::{Change, Disk, Kind, Snapshot};
use parse::{Chunk, Section};
pub use parse::{Heredoc, decode_patch, unwrap_heredoc};
use seek::Budget;

/// The diff header of the side where a file does not exist (added or deleted).
pub const NO_FILE: &str = "/dev/null";

/// The answer of [`apply_patch`]: one entry per file section, in patch order.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct PatchResult {
    pub files: Vec<FileChange>,
}

/// What one section did.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct FileChange {
    /// As the patch wrote it (for a move, the source).
    pub path: String,
    /// `add`, `update` or `delete`.
    pub action: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub move_path: Option<String>,
    pub additions: usize,
    pub deletions: usize,
    /// Unified diff of the text without BOM, `\n` endings.
    pub diff: String,
}

/// Applies `patch` to the files it names, relative paths taken from `cwd`; with `dry_run`,
/// nothing is written.
///
/// Errors: `invalid_patch` (grammar), `patch_failed` (a chunk that does not match), `not_found`,
/// `is_directory`, `not_a_directory`, `binary_file`, `encoding`, `unsafe_path` (a relative path
/// leaving `cwd`), `search_too_large`, `permission_denied` and `io` (a failed write; the files
/// already written are restored).
///
/// With `root`, `cwd` is taken from the root and every file is found, read, written and removed
/// beneath it ([`crate::confine`]); a path that leaves the root is `outside_root` (`unsafe_path`
/// stays for a relative path that leaves `cwd` but not the root).
pub fn apply_patch(
    patch: &str,
    cwd: &str,
    dry_run: bool,
    root: Option<&str>,
) -> ToolResult<PatchResult> {
    let disk = Disk::new(root)?;
    let cwd = disk.working_folder(cwd)?;
    let text = parse::normalize_newlines(patch);
    let sections = parse::parse_patch(&text)?;
    let mut plan = Plan {
        disk,
        ..Plan::default()
    };
    let mut budget = Budget::new();
    let mut files = Vec::with_capacity(sections.len());
    for section in &sections {
        files.push(plan.apply(section, &cwd, &mut budget)?);
    }
    if !dry_run {
        disk::commit(&plan.disk, &plan.changes())?;
    }
    Ok(PatchResult { files })
}

/// What a path is to hold once the patch is applied.
#[derive(Debug)]
enum Current {
    /// As it was (not changed yet, or a folder).
    Original,
    Missing,
    File(Vec<u8>),
}

#[derive(Debug)]
struct Entry {
    path: PathBuf,
    original: Snapshot,
    current: Current,
}

/// What a path holds in the plan right now.
enum View<'e> {
    Missing,
    Directory,
    File(&'e [u8]),
}

/// Every path the patch touches, in the order it first touches them.
#[derive(Debug, Default)]
struct Plan {
    /// Where the files are reached (by name, or beneath a root).
    disk: Disk,
    entries: Vec<Entry>,
    index: HashMap<PathBuf, usize>,
}

impl Plan {
    /// The entry of `path`, read from disk on first touch.
    fn entry(&mut self, path: &Path) -> ToolResult<usize> {
        if let Some(&i) = self.index.get(path) {
            return Ok(i);
        }
        let original = self.disk.inspect(path)?;
        self.entries.push(Entry {
            path: path.to_path_buf(),
            original,
            current: Current::Original,
        });
        self.index
            .insert(path.to_path_buf(), self.entries.len() - 1);
        Ok(self.entries.len() - 1)
    }

    fn view(&self, i: usize) -> View<'_> {
        let entry = &self.entries[i];
        match (&entry.current, &entry.original) {
            (Current::Missing, _) | (Current::Original, Snapshot::Missing) => View::Missing,
            (Current::File(bytes), _) | (Current::Original, Snapshot::File { bytes, .. }) => {
                View::File(bytes)
            }
            (Current::Original, Snapshot::Directory) => View::Directory,
        }
    }

    fn set(&mut self, i: usize, current: Current) {
        self.entries[i].current = current;
    }

    /// Checks that `path` can become a file: no folder of its ends up a file, and no file the
    /// patch writes lies below it.
    fn check_writable(&mut self, path: &Path, shown: &str) -> ToolResult<()> {
        for ancestor in path.ancestors().skip(1) {
            let kind = match self.index.get(ancestor) {
                Some(&i) => match self.view(i) {
                    View::Missing => Kind::Missing,
                    View::Directory => Kind::Directory,
                    View::File(_) => Kind::File,
                },
                None => self.disk.kind_of(ancestor)?,
            };
            match kind {
                Kind::Directory => break,
                Kind::Missing => continue,
                Kind::File => {
                    return Err(ToolError::new(
                        ErrorKind::NotADirectory,
                        format!(
                            "Cannot write {shown}: {} is a file, not a folder",
                            ancestor.display()
                        ),
                    ));
                }
            }
        }
        let below = (0..self.entries.len()).find(|&i| {
            self.entries[i].path.starts_with(path)
                && self.entries[i].path != path
                && matches!(self.view(i), View::File(_))
        });
        if let Some(i) = below {
            return Err(ToolError::new(
                ErrorKind::IsDirectory,
                format!(
                    "Cannot write {shown}: the patch puts {} inside it, so it is a folder",
                    self.entries[i].path.display()
                ),
            ));
        }
        Ok(())
    }

    fn apply(
        &mut self,
        section: &Section<'_>,
        cwd: &Path,
        budget: &mut Budget,
    ) -> ToolResult<FileChange> {
        match section {
            Section::Add { path, content, .. } => self.add(path, content, cwd),
            Section::Delete { path, .. } => self.delete(path, cwd),
            Section::Update {
                path,
                move_to,
                chunks,
                ..
            } => self.update(path, *move_to, chunks, cwd, budget),
        }
    }

    fn add(&mut self, shown: &str, content: &str, cwd: &Path) -> ToolResult<FileChange> {
        let abs = resolve_path(&self.disk, cwd, shown)?;
        let i = self.entry(&abs)?;
        let before = match self.view(i) {
            View::Directory => return Err(is_directory("add", shown)),
            View::Missing => None,
            View::File(bytes) => Some(String::from_utf8_lossy(bytes).into_owned()),
        };
        self.check_writable(&abs, shown)?;
        self.set(i, Current::File(content.as_bytes().to_vec()));
        let old_name = if before.is_some() { shown } else { NO_FILE };
        let diff = whole_diff(old_name, shown, before.as_deref().unwrap_or(""), content);
        Ok(change(shown, "add", None, diff))
    }

    fn delete(&mut self, shown: &str, cwd: &Path) -> ToolResult<FileChange> {
        let abs = resolve_path(&self.disk, cwd, shown)?;
        let i = self.entry(&abs)?;
        let before = match self.view(i) {
            View::Directory => return Err(is_directory("delete", shown)),
            View::Missing => return Err(not_found("delete", shown)),
            View::File(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        };
        self.set(i, Current::Missing);
        let diff = whole_diff(shown, NO_FILE, &before, "");
        Ok(change(shown, "delete", None, diff))
    }

    fn update(
        &mut self,
        shown: &str,
        move_to: Option<&str>,
        chunks: &[Chunk<'_>],
        cwd: &Path,
        budget: &mut Budget,
    ) -> ToolResult<FileChange> {
        let abs = resolve_path(&self.disk, cwd, shown)?;
        let i = self.entry(&abs)?;
        let bytes = match self.view(i) {
            View::Directory => return Err(is_directory("update", shown)),
            View::Missing => return Err(not_found("update", shown)),
            View::File(bytes) => bytes,
        };
        if looks_binary(bytes) {
            return Err(ToolError::new(
                ErrorKind::BinaryFile,
                format!("Cannot update binary file: {shown}"),
            ));
        }
        let text = std::str::from_utf8(bytes).map_err(|e| {
            ToolError::new(
                ErrorKind::Encoding,
                format!("File is not valid UTF-8 ({e}), so it was not patched: {shown}"),
            )
        })?;
        let (bom, body) = match text.strip_prefix(UTF8_BOM) {
            Some(rest) => (UTF8_BOM, rest),
            None => ("", text),
        };
        let applied = seek::apply_chunks(shown, body, chunks, budget)?;
        let new_name = move_to.unwrap_or(shown);
        let diff = unified_lines(shown, new_name, body, &applied.body, &applied.regions);
        let mut new = Vec::with_capacity(bom.len() + applied.body.len());
        new.extend_from_slice(bom.as_bytes());
        new.extend_from_slice(applied.body.as_bytes());
        let target = match move_to {
            Some(dest) => resolve_path(&self.disk, cwd, dest)?,
            None => abs.clone(),
        };
        if target == abs {
            self.set(i, Current::File(new));
        } else {
            let d = self.entry(&target)?;
            if matches!(self.view(d), View::Directory) {
                return Err(is_directory("move a file onto", new_name));
            }
            self.check_writable(&target, new_name)?;
            self.set(d, Current::File(new));
            self.set(i, Current::Missing);
        }
        Ok(change(shown, "update", move_to, diff))
    }

    /// The writes and removals the plan makes, in first-touch order.
    fn changes(&self) -> Vec<Change<'_>> {
        self.entries
            .iter()
            .filter_map(|entry| {
                let new = match &entry.current {
                    Current::Original => return None,
                    Current::Missing => None,
                    Current::File(bytes) => Some(bytes.as_slice()),
                };
                Some(Change {
                    path: &entry.path,
                    original: &entry.original,
                    new,
                })
            })
            .collect()
    }
}

/// A patch path as an absolute path: relative ones are taken from `cwd` and must stay inside
/// it; absolute ones are normalised and accepted (beneath a root, [`Disk`] refuses one outside
/// it when it is looked at). A relative path that leaves the root too is `outside_root`.
fn resolve_path(disk: &Disk, cwd: &Path, written: &str) -> ToolResult<PathBuf> {
    let raw = Path::new(written);
    if raw.is_absolute() {
        return Ok(paths::normalize(raw));
    }
    let joined = paths::normalize(&cwd.join(raw));
    if let Some(root) = disk.root()
        && !joined.starts_with(root.shown())
    {
        return Err(ToolError::new(
            ErrorKind::OutsideRoot,
            format!(
                "Path is outside the root {}: {written} (a path in a patch must stay inside it)",
                root.shown().display()
            ),
        ));
    }
    if !joined.starts_with(cwd) {
        return Err(ToolError::new(
            ErrorKind::UnsafePath,
            format!(
                "{written} leaves the working folder {}: a relative path in a patch must stay \
                 inside it",
                cwd.display()
            ),
        ));
    }
    Ok(joined)
}

/// The diff of a whole file's text (an Add or a Delete), BOM aside as for an Update.
fn whole_diff(old_name: &str, new_name: &str, before: &str, after: &str) -> Diff {
    let before = before.strip_prefix(UTF8_BOM).unwrap_or(before);
    let after = after.strip_prefix(UTF8_BOM).unwrap_or(after);
    let lines = |s: &str| seek::split_file(s).texts.len();
    unified_lines(
        old_name,
        new_name,
        before,
        after,
        &[(0, lines(before), 0, lines(after))],
    )
}

fn change(path: &str, action: &'static str, move_to: Option<&str>, diff: Diff) -> FileChange {
    FileChange {
        path: path.to_string(),
        action,
        move_path: move_to.map(str::to_string),
        additions: diff.additions,
        deletions: diff.deletions,
        diff: diff.text,
    }
}

fn is_directory(what: &str, shown: &str) -> ToolError {
    ToolError::new(
        ErrorKind::IsDirectory,
        format!("Cannot {what} {shown}: it is a directory"),
    )
}

fn not_found(what: &str, shown: &str) -> ToolError {
    ToolError::new(
        ErrorKind::NotFound,
        format!(
            "Cannot {what} {shown}: no such file. Check the path, or add it with '*** Add File:'"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn run(dir: &Path, body: &str) -> ToolResult<PatchResult> {
        let patch = format!("*** Begin Patch\n{body}\n*** End Patch\n");
        apply_patch(&patch, dir.to_str().unwrap(), false, None)
    }

    #[test]
    fn add_update_delete_and_move_in_one_patch() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("old.txt"), "a\nb\n").unwrap();
        fs::write(dir.path().join("gone.txt"), "x\n").unwrap();
        let result = run(
            dir.path(),
            "*** Add File: new/n.txt\n+hi\n*** Update File: old.txt\n*** Move to: moved.txt\n@@\n a\n-b\n+B\n*** Delete File: gone.txt",
        )
        .unwrap();
        assert_eq!(
            fs::read_to_string(dir.path().join("new/n.txt")).unwrap(),
            "hi\n"
        );
        assert_eq!(
            fs::read_to_string(dir.path().join("moved.txt")).unwrap(),
            "a\nB\n"
        );
        assert!(!dir.path().join("old.txt").exists());
        assert!(!dir.path().join("gone.txt").exists());
        let actions: Vec<_> = result.files.iter().map(|f| f.action).collect();
        assert_eq!(actions, ["add", "update", "delete"]);
        assert_eq!(result.files[1].move_path.as_deref(), Some("moved.txt"));
        assert_eq!(
            result.files[0].diff,
            "--- /dev/null\n+++ new/n.txt\n@@ -0,0 +1,1 @@\n+hi\n"
        );
    }

    #[test]
    fn a_failure_in_the_last_file_leaves_every_file_untouched() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["a", "b", "c"] {
            fs::write(dir.path().join(name), "one\n").unwrap();
        }
        let err = run(
            dir.path(),
            "*** Update File: a\n-one\n+1\n*** Update File: b\n-one\n+1\n*** Update File: c\n-two\n+2",
        )
        .unwrap_err();
        assert_eq!(err.kind, ErrorKind::PatchFailed);
        for name in ["a", "b", "c"] {
            assert_eq!(fs::read_to_string(dir.path().join(name)).unwrap(), "one\n");
        }
    }

    #[test]
    fn bom_is_kept_and_a_relative_path_may_not_leave_cwd() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("b.txt"), "\u{feff}x\n").unwrap();
        run(dir.path(), "*** Update File: b.txt\n-x\n+y").unwrap();
        assert_eq!(
            fs::read(dir.path().join("b.txt")).unwrap(),
            "\u{feff}y\n".as_bytes()
        );
        let err = run(dir.path(), "*** Add File: ../escape.txt\n+no").unwrap_err();
        assert_eq!(err.kind, ErrorKind::UnsafePath);
    }

    #[test]
    fn binary_and_non_utf8_targets_are_refused_for_update_only() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("bin"), b"a\0b\n").unwrap();
        fs::write(dir.path().join("latin"), b"caf\xe9\n").unwrap();
        let kind = |body: &str| run(dir.path(), body).unwrap_err().kind;
        assert_eq!(kind("*** Update File: bin\n-a\n+b"), ErrorKind::BinaryFile);
        assert_eq!(
            kind("*** Update File: latin\n-caf\n+x"),
            ErrorKind::Encoding
        );
        run(dir.path(), "*** Delete File: bin\n*** Add File: latin\n+ok").unwrap();
        assert_eq!(fs::read(dir.path().join("latin")).unwrap(), b"ok\n");
    }

    #[test]
    fn dry_run_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let patch = "*** Begin Patch\n*** Add File: x\n+1\n*** End Patch";
        let result = apply_patch(patch, dir.path().to_str().unwrap(), true, None).unwrap();
        assert_eq!(result.files[0].additions, 1);
        assert!(!dir.path().join("x").exists());
    }
}
