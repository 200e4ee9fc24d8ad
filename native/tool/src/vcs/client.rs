//! The small git client agents need: `git_branches`, `git_stage` (`git add -- FILES`),
//! `git_unstage` (`git restore --staged -- FILES`) and `git_commit` (`git commit -m`, without
//! hooks); `git_diff` is in [`super::diff`]. FILES are relative to `path` (a folder, or a
//! file's folder) or absolute, and must lie inside the repository.
//! Twin: `ironcode/twin/vcs_client.py`.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use git2::{
    BranchType, Index, IndexAddOption, IndexEntry, IndexTime, Oid, Repository, Signature, Tree,
};
use serde::Serialize;

use super::{branch_name, head_tree, is_unborn, open_repository, workdir};
use crate::error::{ErrorKind, ToolError, ToolResult};
use crate::paths;

/// The whitespace git strips from the end of commit message lines (C isspace).
pub const MESSAGE_WHITESPACE: &[char] = &[' ', '\t', '\n', '\u{0b}', '\u{0c}', '\r'];
/// Characters a pathspec would read as a pattern; escaped so that names are taken literally.
pub const PATHSPEC_SPECIAL: &[char] = &['*', '?', '[', ']', '\\'];

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
pub(super) fn base_folder(path: &str) -> ToolResult<PathBuf> {
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

pub(super) fn path_matches(candidate: &[u8], rel: &[u8]) -> bool {
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
