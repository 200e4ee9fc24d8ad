//! `git_diff`: the patch `git diff --no-renames [--cached] [-- FILE]` prints.
//!
//! libgit2 writes the patches; git's habits are added on top: a tab after a `---` / `+++` name
//! holding a space, no `---` / `+++` lines for a patch without hunks, a type change as a
//! deletion and a creation, and `git add -N` files as new files. Twin:
//! `ironcode/twin/vcs_diff.py`.

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use git2::{Oid, Repository};

use super::client::{base_folder, path_matches, repo_relative};
use super::renames::blob_hash;
use super::{EMPTY_BLOB_ID, head_tree, intent_to_add_entries, workdir};
use crate::error::ToolResult;

/// Hex digits of a blob id in a patch's `index` line.
pub const ABBREV: usize = 7;

/// The unified patch of unstaged changes (index to working tree), or of staged ones (HEAD to
/// index) with `staged`, limited to `file` (a file or folder) if given.
///
/// libgit2 writes the patches; git's habits are added on top: a tab after a `---` / `+++` name
/// holding a space, a type change as a deletion and a creation, and `git add -N` files as new
/// files (not as staged ones, and not as edits of an empty file).
pub fn git_diff(path: &str, file: Option<&str>, staged: bool) -> ToolResult<String> {
    let repo = super::cache::open(path)?;
    let root = workdir(&repo)?;
    let rel = match file {
        Some(file) => Some(repo_relative(&root, &base_folder(path)?, file)?),
        None => None,
    };
    let index = repo.index()?;
    let intent_to_add = intent_to_add_entries(&index);
    let mut options = git2::DiffOptions::new();
    options.include_typechange(true);
    let diff = if staged {
        let tree = head_tree(&repo)?;
        repo.diff_tree_to_index(tree.as_ref(), Some(&index), Some(&mut options))?
    } else {
        repo.diff_index_to_workdir(Some(&index), Some(&mut options))?
    };
    let root_path = Path::new(&root);
    let wanted = |p: &[u8]| rel.as_ref().is_none_or(|r| path_matches(p, r.as_bytes()));
    let mut patches: Vec<(Vec<u8>, String)> = Vec::new();
    for (i, delta) in diff.deltas().enumerate() {
        let new_path = delta.new_file().path_bytes().unwrap_or_default().to_vec();
        let old_path = delta.old_file().path_bytes().unwrap_or_default();
        if !wanted(&new_path) && !wanted(old_path) {
            continue;
        }
        let (old_file, new_file) = (delta.old_file(), delta.new_file());
        if delta.status() == git2::Delta::Typechange {
            // libgit2 prints a type change as a mode change (and loses the creation when the
            // old file is empty); git prints the deletion, then the creation.
            let old_data = blob_data(&repo, old_file.id());
            let new_data = if staged {
                blob_data(&repo, new_file.id())
            } else {
                worktree_data(root_path, &new_path)
            };
            let new_id = if staged {
                new_file.id()
            } else {
                blob_hash(&new_data)
            };
            let old_mode = u32::from(old_file.mode());
            let new_mode = u32::from(new_file.mode());
            let deleted = whole_file_patch(&new_path, false, old_mode, old_file.id(), &old_data)?;
            let added = whole_file_patch(&new_path, true, new_mode, new_id, &new_data)?;
            patches.push((new_path.clone(), deleted));
            patches.push((new_path, added));
            continue;
        }
        if intent_to_add.contains(&new_path) {
            if staged {
                continue;
            }
            if delta.status() != git2::Delta::Deleted {
                let data = worktree_data(root_path, &new_path);
                let mode = u32::from(new_file.mode());
                let text = whole_file_patch(&new_path, true, mode, blob_hash(&data), &data)?;
                patches.push((new_path, text));
                continue;
            }
        }
        let text = match git2::Patch::from_diff(&diff, i)? {
            Some(mut patch) => String::from_utf8_lossy(&patch.to_buf()?).into_owned(),
            None => String::new(),
        };
        patches.push((new_path, git_style_patch(&text)));
    }
    if !staged {
        let shown: BTreeSet<Vec<u8>> = patches.iter().map(|(p, _)| p.clone()).collect();
        let mut missing: Vec<&Vec<u8>> = intent_to_add
            .iter()
            .filter(|p| !shown.contains(*p))
            .collect();
        missing.sort();
        for ita_path in missing {
            let full = root_path.join(OsStr::from_bytes(ita_path));
            if full.symlink_metadata().is_err() || !wanted(ita_path) {
                continue;
            }
            // an empty `git add -N` file equals its empty blob, so libgit2 lists no change
            let mode = index
                .get_path(Path::new(OsStr::from_bytes(ita_path)), 0)
                .map(|e| e.mode)
                .unwrap_or(0o100644);
            let empty = Oid::from_str(EMPTY_BLOB_ID)?;
            patches.push((
                ita_path.clone(),
                whole_file_patch(ita_path, true, mode, empty, b"")?,
            ));
        }
    }
    patches.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(patches.into_iter().map(|(_, text)| text).collect())
}

/// git's patch creating (`added`) or deleting a whole file; libgit2 supplies the hunks.
fn whole_file_patch(
    path: &[u8],
    added: bool,
    mode: u32,
    blob_id: Oid,
    data: &[u8],
) -> ToolResult<String> {
    let name = String::from_utf8_lossy(path);
    let a_name = quote_path(&format!("a/{name}"));
    let b_name = quote_path(&format!("b/{name}"));
    let (old, new): (&[u8], &[u8]) = if added { (b"", data) } else { (data, b"") };
    let as_path = Path::new(OsStr::from_bytes(path));
    let mut patch = git2::Patch::from_buffers(old, Some(as_path), new, Some(as_path), None)?;
    let hunks = String::from_utf8_lossy(&patch.to_buf()?).into_owned();
    let lines: Vec<&str> = hunks.split('\n').collect();
    let mut body = String::new();
    for (i, line) in lines.iter().enumerate() {
        if line.starts_with("@@") {
            let labels = if added {
                format!("--- /dev/null\n+++ {b_name}\n")
            } else {
                format!("--- {a_name}\n+++ /dev/null\n")
            };
            body = labels + &lines[i..].join("\n");
            break;
        }
        if line.starts_with("Binary files") {
            body = if added {
                format!("Binary files /dev/null and {b_name} differ\n")
            } else {
                format!("Binary files {a_name} and /dev/null differ\n")
            };
            break;
        }
    }
    let id = blob_id.to_string();
    let short = &id[..id.len().min(ABBREV)];
    let (kind, index_line) = if added {
        ("new", format!("0000000..{short}"))
    } else {
        ("deleted", format!("{short}..0000000"))
    };
    let header =
        format!("diff --git {a_name} {b_name}\n{kind} file mode {mode:06o}\nindex {index_line}\n");
    Ok(git_style_patch(&(header + &body)))
}

fn blob_data(repo: &Repository, id: Oid) -> Vec<u8> {
    if id.to_string() == EMPTY_BLOB_ID {
        return Vec::new();
    }
    repo.find_blob(id)
        .map(|b| b.content().to_vec())
        .unwrap_or_default()
}

/// A working-tree file's content (a symlink's is its target).
fn worktree_data(root: &Path, rel: &[u8]) -> Vec<u8> {
    let full = root.join(OsStr::from_bytes(rel));
    let is_link = full
        .symlink_metadata()
        .map(|m| m.file_type().is_symlink())
        .unwrap_or(false);
    let content = if is_link {
        std::fs::read_link(&full).map(|t| t.as_os_str().as_bytes().to_vec())
    } else {
        std::fs::read(&full)
    };
    content.unwrap_or_default()
}

/// Two habits of git's patch headers libgit2 lacks: a `--- a/x y` / `+++ b/x y` line ends with
/// a tab when the name holds a space, and a patch without hunks (an empty file added or
/// deleted) has no `---` / `+++` lines at all.
fn git_style_patch(text: &str) -> String {
    let mut lines: Vec<String> = text.split('\n').map(str::to_string).collect();
    let header_end = lines
        .iter()
        .position(|l| l.starts_with("@@") || l.starts_with("Binary files"))
        .unwrap_or(lines.len());
    for line in lines.iter_mut().take(header_end) {
        if (line.starts_with("--- ") || line.starts_with("+++ "))
            && &line[4..] != "/dev/null"
            && line[4..].contains(' ')
        {
            line.push('\t');
        }
    }
    let n = lines.len();
    if header_end == n
        && n >= 3
        && lines[n - 3].starts_with("--- ")
        && lines[n - 2].starts_with("+++ ")
    {
        lines.drain(n - 3..n - 1);
    }
    lines.join("\n")
}

/// git's quoting of a path in patch headers (core.quotePath on): C escapes and octal bytes.
fn quote_path(name: &str) -> String {
    let raw = name.as_bytes();
    if !raw
        .iter()
        .any(|&b| b < 0x20 || b == b'"' || b == b'\\' || b >= 0x7f)
    {
        return name.to_string();
    }
    let mut out = String::from("\"");
    for &b in raw {
        match b {
            7 => out.push_str("\\a"),
            8 => out.push_str("\\b"),
            9 => out.push_str("\\t"),
            10 => out.push_str("\\n"),
            11 => out.push_str("\\v"),
            12 => out.push_str("\\f"),
            13 => out.push_str("\\r"),
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b if !(0x20..0x7f).contains(&b) => out.push_str(&format!("\\{b:03o}")),
            b => out.push(char::from(b)),
        }
    }
    out.push('"');
    out
}
