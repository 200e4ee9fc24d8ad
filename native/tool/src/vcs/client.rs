//! The small git client agents need.
//!
//! `git_diff` (`git diff --no-renames [--cached] [-- FILE]`), `git_branches`, `git_stage`
//! (`git add -- FILES`), `git_unstage` (`git restore --staged -- FILES`) and `git_commit`
//! (`git commit -m`, without hooks). FILES are relative to `path` (a folder, or a file's folder)
//! or absolute, and must lie inside the repository. Twin: `ironcode/twin/vcs_client.py`.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use git2::{
    BranchType, Index, IndexAddOption, IndexEntry, IndexTime, Oid, Repository, Signature, Tree,
};
use serde::Serialize;

use super::renames::blob_hash;
use super::{
    EMPTY_BLOB_ID, branch_name, head_tree, intent_to_add_paths, is_unborn, open_repository, workdir,
};
use crate::error::{ErrorKind, ToolError, ToolResult};
use crate::paths;

/// The whitespace git strips from the end of commit message lines (C isspace).
pub const MESSAGE_WHITESPACE: &[char] = &[' ', '\t', '\n', '\u{0b}', '\u{0c}', '\r'];
/// Characters a pathspec would read as a pattern; escaped so that names are taken literally.
pub const PATHSPEC_SPECIAL: &[char] = &['*', '?', '[', ']', '\\'];
/// Hex digits of a blob id in a patch's `index` line.
pub const ABBREV: usize = 7;

/// `git_branches`: the current branch and every local branch.
#[derive(Debug, Serialize)]
pub struct Branches {
    pub current: String,
    pub branches: Vec<BranchInfo>,
}

/// One local branch; `commit` is a short id, `upstream` e.g. `origin/main`.
#[derive(Debug, Serialize)]
pub struct BranchInfo {
    pub name: String,
    pub commit: String,
    pub subject: String,
    pub current: bool,
    pub upstream: Option<String>,
}

/// What `git_stage` / `git_unstage` changed: repo-relative paths under `root`.
#[derive(Debug, Serialize)]
pub struct Staged {
    pub root: String,
    pub paths: Vec<String>,
}

/// The unified patch of unstaged changes (index to working tree), or of staged ones (HEAD to
/// index) with `staged`, limited to `file` (a file or folder) if given.
///
/// libgit2 writes the patches; git's habits are added on top: a tab after a `---` / `+++` name
/// holding a space, a type change as a deletion and a creation, and `git add -N` files as new
/// files (not as staged ones, and not as edits of an empty file).
pub fn git_diff(path: &str, file: Option<&str>, staged: bool) -> ToolResult<String> {
    let repo = open_repository(path)?;
    let root = workdir(&repo)?;
    let rel = match file {
        Some(file) => Some(repo_relative(&root, &base_folder(path)?, file)?),
        None => None,
    };
    let index = repo.index()?;
    let tree = head_tree(&repo)?;
    let intent_to_add = intent_to_add_paths(
        &index,
        &repo.diff_tree_to_index(tree.as_ref(), Some(&index), None)?,
    );
    let mut options = git2::DiffOptions::new();
    options.include_typechange(true);
    let diff = if staged {
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

/// The local branches, sorted by name, and the current branch.
pub fn git_branches(path: &str) -> ToolResult<Branches> {
    let repo = open_repository(path)?;
    let current = branch_name(&repo)?;
    let mut branches = Vec::new();
    for item in repo.branches(Some(BranchType::Local))? {
        let (branch, _) = item?;
        let name = String::from_utf8_lossy(branch.name_bytes()?).into_owned();
        let commit = branch.get().peel_to_commit()?;
        let short = commit.as_object().short_id()?;
        let upstream = branch.upstream().ok().and_then(|u| {
            u.name_bytes()
                .ok()
                .map(|n| String::from_utf8_lossy(n).into_owned())
        });
        branches.push(BranchInfo {
            name,
            commit: String::from_utf8_lossy(short.as_ref()).into_owned(),
            subject: message_subject(&String::from_utf8_lossy(commit.message_bytes())),
            current: branch.is_head(),
            upstream,
        });
    }
    branches.sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
    Ok(Branches { current, branches })
}

/// Stages `files` like `git add`: new and modified files are added, deleted ones removed; a
/// folder stages everything in it that is not ignored.
pub fn git_stage(path: &str, files: &[String]) -> ToolResult<Staged> {
    let repo = open_repository(path)?;
    let root = workdir(&repo)?;
    let base = base_folder(path)?;
    let rels = check_files(files)?
        .iter()
        .map(|f| repo_relative(&root, &base, f))
        .collect::<ToolResult<Vec<_>>>()?;
    let mut index = repo.index()?;
    for rel in &rels {
        stage_one(&repo, &mut index, Path::new(&root), rel)?;
    }
    index.write()?;
    Ok(Staged { root, paths: rels })
}

fn stage_one(repo: &Repository, index: &mut Index, root: &Path, rel: &str) -> ToolResult<()> {
    let full = if rel.is_empty() {
        root.to_path_buf()
    } else {
        root.join(rel)
    };
    let tracked = tracked_paths(index, rel)?;
    let meta = full.symlink_metadata();
    if meta.as_ref().map(|m| m.is_dir()).unwrap_or(false) {
        let spec = if rel.is_empty() {
            "*".to_string()
        } else {
            pathspec_literal(rel)
        };
        index.add_all([spec.as_str()], IndexAddOption::DEFAULT, None)?;
        for entry_path in &tracked {
            if root
                .join(OsStr::from_bytes(entry_path))
                .symlink_metadata()
                .is_err()
            {
                remove_path(index, entry_path)?;
            }
        }
    } else if meta.is_ok() {
        if tracked.is_empty() && repo.is_path_ignored(rel)? {
            return Err(ToolError::new(
                ErrorKind::Git,
                format!(
                    "{rel} is ignored by a .gitignore file; stage it with `git add -f` if you mean it"
                ),
            ));
        }
        index.add_path(Path::new(rel))?;
    } else if !tracked.is_empty() {
        for entry_path in &tracked {
            remove_path(index, entry_path)?;
        }
    } else {
        return Err(ToolError::new(
            ErrorKind::NotFound,
            format!("{rel} matches no file in the working tree or the index"),
        ));
    }
    Ok(())
}

/// Unstages `files` like `git restore --staged`: their index entries go back to HEAD's version
/// (or are removed when HEAD does not have them).
pub fn git_unstage(path: &str, files: &[String]) -> ToolResult<Staged> {
    let repo = open_repository(path)?;
    let root = workdir(&repo)?;
    let base = base_folder(path)?;
    let rels = check_files(files)?
        .iter()
        .map(|f| repo_relative(&root, &base, f))
        .collect::<ToolResult<Vec<_>>>()?;
    let mut index = repo.index()?;
    let head = head_tree(&repo)?;
    for rel in &rels {
        let in_head = head_paths(&repo, head.as_ref(), rel)?;
        let mut targets: BTreeSet<Vec<u8>> = in_head.keys().cloned().collect();
        targets.extend(tracked_paths(&index, rel)?);
        if targets.is_empty() {
            return Err(ToolError::new(
                ErrorKind::NotFound,
                format!("{rel} matches no file known to git"),
            ));
        }
        for target in targets {
            match in_head.get(&target) {
                Some(&(oid, mode)) => {
                    remove_conflict(&mut index, &target)?;
                    index.add(&index_entry(&target, oid, mode))?;
                }
                None => remove_path(&mut index, &target)?,
            }
        }
    }
    index.write()?;
    Ok(Staged { root, paths: rels })
}

/// Commits the index on the current branch (creating it when unborn; a merge in progress gets
/// its second parent) and returns the new commit's short id. The author comes from
/// GIT_AUTHOR_NAME / GIT_AUTHOR_EMAIL or user.name / user.email. Hooks are not run.
pub fn git_commit(path: &str, message: &str) -> ToolResult<String> {
    let text = clean_message(message)?;
    let mut repo = open_repository(path)?;
    let mut index = repo.index()?;
    let conflicts = conflicted_paths(&index)?;
    if !conflicts.is_empty() {
        return Err(ToolError::new(
            ErrorKind::Git,
            format!(
                "cannot commit with unresolved conflicts in {}; resolve and stage them",
                conflicts.join(", ")
            ),
        ));
    }
    let tree_id = index.write_tree()?;
    let mut merge_heads = Vec::new();
    match repo.mergehead_foreach(|oid| {
        merge_heads.push(*oid);
        true
    }) {
        Ok(()) => {}
        Err(e) if e.code() == git2::ErrorCode::NotFound => {}
        Err(e) => return Err(e.into()),
    }
    let parent = if is_unborn(&repo)? {
        None
    } else {
        Some(repo.head()?.peel_to_commit()?)
    };
    if merge_heads.is_empty() && nothing_to_commit(parent.as_ref(), tree_id, &index) {
        return Err(ToolError::new(
            ErrorKind::Git,
            "nothing to commit: stage changes first (git_stage)",
        ));
    }
    let author = signature(&repo, "AUTHOR")?;
    let committer = signature(&repo, "COMMITTER")?;
    let tree = repo.find_tree(tree_id)?;
    let mut parents = Vec::new();
    if let Some(parent) = parent {
        parents.push(parent);
    }
    for oid in &merge_heads {
        parents.push(repo.find_commit(*oid)?);
    }
    let parent_refs: Vec<&git2::Commit> = parents.iter().collect();
    let oid = repo.commit(
        Some("HEAD"),
        &author,
        &committer,
        &text,
        &tree,
        &parent_refs,
    )?;
    if !merge_heads.is_empty() {
        repo.cleanup_state()?;
    }
    let short = repo.find_object(oid, None)?.short_id()?;
    Ok(String::from_utf8_lossy(short.as_ref()).into_owned())
}

// ---- helpers ---------------------------------------------------------------------------------

/// True when the index holds what the parent already has (or nothing, on an unborn branch).
fn nothing_to_commit(parent: Option<&git2::Commit>, tree_id: Oid, index: &Index) -> bool {
    match parent {
        None => index.is_empty(),
        Some(parent) => parent.tree_id() == tree_id,
    }
}

/// Who authors or commits: GIT_<ROLE>_NAME / _EMAIL, else user.name / user.email.
fn signature(repo: &Repository, role: &str) -> ToolResult<Signature<'static>> {
    let config = repo.config()?;
    let from_env = |what: &str| {
        std::env::var(format!("GIT_{role}_{what}"))
            .ok()
            .filter(|v| !v.is_empty())
    };
    let name = from_env("NAME").or_else(|| config_string(&config, "user.name"));
    let email = from_env("EMAIL").or_else(|| config_string(&config, "user.email"));
    match (name, email) {
        (Some(name), Some(email)) => Signature::now(&name, &email).map_err(|e| {
            ToolError::new(
                ErrorKind::Git,
                format!("invalid identity {name} <{email}>: {}", e.message()),
            )
        }),
        _ => Err(ToolError::new(
            ErrorKind::Git,
            "Author identity unknown: set it with git config user.name 'Your Name' and \
             git config user.email 'you@example.com'",
        )),
    }
}

fn config_string(config: &git2::Config, key: &str) -> Option<String> {
    config.get_string(key).ok().filter(|v| !v.is_empty())
}

/// git's whitespace clean-up of a commit message (`--cleanup=whitespace`): trailing whitespace
/// cut, runs of blank lines folded into one, blank lines at both ends dropped.
pub fn clean_message(message: &str) -> ToolResult<String> {
    if message.contains('\0') {
        return Err(ToolError::invalid_argument("message contains a NUL byte"));
    }
    let mut lines: Vec<&str> = Vec::new();
    let mut blank_run = false;
    for line in message.split('\n') {
        let line = line.trim_end_matches(MESSAGE_WHITESPACE);
        if line.is_empty() {
            blank_run = true;
            continue;
        }
        if blank_run && !lines.is_empty() {
            lines.push("");
        }
        blank_run = false;
        lines.push(line);
    }
    if lines.is_empty() {
        return Err(ToolError::invalid_argument(
            "Aborting commit due to empty commit message",
        ));
    }
    Ok(lines.join("\n") + "\n")
}

fn message_subject(message: &str) -> String {
    message.split('\n').next().unwrap_or("").trim().to_string()
}

fn check_files(files: &[String]) -> ToolResult<&[String]> {
    if files.is_empty() {
        return Err(ToolError::invalid_argument(
            "files is empty: name at least one path",
        ));
    }
    Ok(files)
}

/// The folder FILES are relative to: `path` itself, or its folder when it is a file.
fn base_folder(path: &str) -> ToolResult<PathBuf> {
    let abs_path = paths::absolute(path)?;
    Ok(if abs_path.is_dir() {
        abs_path
    } else {
        abs_path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("/"))
    })
}

/// `file` (relative to `base`, or absolute) as a `/`-separated path inside `root`; `""` is the
/// whole working tree. Symlinked folders on the way are resolved, the last component is not (a
/// symlink is staged as a link).
pub fn repo_relative(root: &str, base: &Path, file: &str) -> ToolResult<String> {
    if file.is_empty() || file.contains('\0') {
        return Err(ToolError::invalid_argument(
            "file is empty or contains a NUL byte",
        ));
    }
    let full = paths::normalize(&base.join(file));
    let resolved = match (full.parent(), full.file_name()) {
        (Some(parent), Some(name)) => real_path(parent).join(name),
        _ => real_path(&full),
    };
    let root_path = PathBuf::from(root);
    let real_root = real_path(&root_path);
    for (candidate, top) in [(&full, &root_path), (&resolved, &real_root)] {
        if candidate == top {
            return Ok(String::new());
        }
        if let Ok(rel) = candidate.strip_prefix(top) {
            let rel = paths::display(rel);
            if rel == ".git" || rel.starts_with(".git/") {
                return Err(ToolError::invalid_argument(format!(
                    "{file} is inside the .git folder"
                )));
            }
            return Ok(rel);
        }
    }
    Err(ToolError::invalid_argument(format!(
        "{file} is outside the repository at {root}"
    )))
}

/// `path` with symlinks resolved as far as it exists (like Python's `os.path.realpath`).
fn real_path(path: &Path) -> PathBuf {
    if let Ok(real) = std::fs::canonicalize(path) {
        return real;
    }
    match (path.parent(), path.file_name()) {
        (Some(parent), Some(name)) => real_path(parent).join(name),
        _ => path.to_path_buf(),
    }
}

fn path_matches(candidate: &[u8], rel: &[u8]) -> bool {
    rel.is_empty()
        || candidate == rel
        || (candidate.starts_with(rel) && candidate.get(rel.len()) == Some(&b'/'))
}

fn pathspec_literal(rel: &str) -> String {
    let mut out = String::with_capacity(rel.len());
    for c in rel.chars() {
        if PATHSPEC_SPECIAL.contains(&c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Index paths (any stage) equal to `rel` or inside the folder `rel`.
fn tracked_paths(index: &Index, rel: &str) -> ToolResult<BTreeSet<Vec<u8>>> {
    Ok(index
        .iter()
        .map(|entry| entry.path)
        .filter(|p| path_matches(p, rel.as_bytes()))
        .collect())
}

fn conflicted_paths(index: &Index) -> ToolResult<Vec<String>> {
    let mut out = BTreeSet::new();
    for conflict in index.conflicts()? {
        let conflict = conflict?;
        if let Some(entry) = conflict.ancestor.or(conflict.our).or(conflict.their) {
            out.insert(String::from_utf8_lossy(&entry.path).into_owned());
        }
    }
    Ok(out.into_iter().collect())
}

/// HEAD's files equal to `rel` or inside the folder `rel`: path -> (blob id, mode).
fn head_paths(
    repo: &Repository,
    tree: Option<&Tree>,
    rel: &str,
) -> ToolResult<BTreeMap<Vec<u8>, (Oid, u32)>> {
    let mut out = BTreeMap::new();
    let Some(tree) = tree else { return Ok(out) };
    if rel.is_empty() {
        walk_tree(repo, tree, b"", &mut out)?;
        return Ok(out);
    }
    let entry = match tree.get_path(Path::new(rel)) {
        Ok(entry) => entry,
        Err(e) if e.code() == git2::ErrorCode::NotFound => return Ok(out),
        Err(e) => return Err(e.into()),
    };
    if entry.kind() == Some(git2::ObjectType::Tree) {
        let subtree = repo.find_tree(entry.id())?;
        let prefix = format!("{rel}/");
        walk_tree(repo, &subtree, prefix.as_bytes(), &mut out)?;
    } else {
        out.insert(
            rel.as_bytes().to_vec(),
            (entry.id(), entry.filemode() as u32),
        );
    }
    Ok(out)
}

fn walk_tree(
    repo: &Repository,
    tree: &Tree,
    prefix: &[u8],
    out: &mut BTreeMap<Vec<u8>, (Oid, u32)>,
) -> ToolResult<()> {
    for entry in tree.iter() {
        let mut name = prefix.to_vec();
        name.extend_from_slice(entry.name_bytes());
        if entry.kind() == Some(git2::ObjectType::Tree) {
            let subtree = repo.find_tree(entry.id())?;
            name.push(b'/');
            walk_tree(repo, &subtree, &name, out)?;
        } else {
            out.insert(name, (entry.id(), entry.filemode() as u32));
        }
    }
    Ok(())
}

fn index_entry(path: &[u8], id: Oid, mode: u32) -> IndexEntry {
    IndexEntry {
        ctime: IndexTime::new(0, 0),
        mtime: IndexTime::new(0, 0),
        dev: 0,
        ino: 0,
        mode,
        uid: 0,
        gid: 0,
        file_size: 0,
        id,
        flags: path.len().min(0xfff) as u16,
        flags_extended: 0,
        path: path.to_vec(),
    }
}

fn remove_path(index: &mut Index, rel: &[u8]) -> ToolResult<()> {
    remove_conflict(index, rel)?;
    let path = Path::new(OsStr::from_bytes(rel));
    if index.get_path(path, 0).is_some() {
        index.remove(path, 0)?;
    }
    Ok(())
}

fn remove_conflict(index: &mut Index, rel: &[u8]) -> ToolResult<()> {
    match index.conflict_remove(Path::new(OsStr::from_bytes(rel))) {
        Ok(()) => Ok(()),
        Err(e) if e.code() == git2::ErrorCode::NotFound => Ok(()),
        Err(e) => Err(e.into()),
    }
}
