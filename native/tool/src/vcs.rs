//! `vcs` — git status and branch info on libgit2, in-process.
//!
//! [`git_status`] answers what `git status --porcelain=v1 --untracked-files=all` prints, line for
//! line: libgit2 supplies the two diffs (HEAD to index, index to working tree, the latter with
//! the untracked files), and git's own rules are applied on top — its rename detection
//! ([`renames`]), `git add -N` files as ` A`, and conflict codes from the index's conflict
//! entries. Nothing is written: like `git --no-optional-locks status`, the index is never
//! refreshed, so a concurrent git command never finds `index.lock` taken by us.
//!
//! Above [`GIT_SPAWN_MIN_INDEX_ENTRIES`] tracked files, engine `auto` asks the git binary
//! instead ([`porcelain`]): git checks the working tree with several threads and is faster there.
//!
//! The small git client agents need: [`diff`] (the patch) and [`client`] (branches, stage,
//! unstage, commit).
//! Twin: `ironcode/twin/vcs.py`.

pub mod cache;
pub mod client;
pub mod diff;
pub mod porcelain;
pub mod renames;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use git2::{Delta, Diff, DiffFile, DiffOptions, Index, Oid, Repository, RepositoryOpenFlags, Tree};
use serde::Serialize;

use crate::error::{ErrorKind, ToolError, ToolResult};
use crate::paths;
use renames::{Change, Detect, FileSpec, Pair};

pub use client::{git_branches, git_commit, git_stage, git_unstage};
pub use diff::git_diff;

/// The blob id of empty content; `git add -N` gives its entries this id.
pub const EMPTY_BLOB_ID: &str = "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391";
/// GIT_INDEX_ENTRY_INTENT_TO_ADD, in an index entry's extended flags (`git add -N`).
pub const INTENT_TO_ADD_FLAG: u16 = 1 << 13;
/// git's default diff.renameLimit: above this many sources x destinations (squared), only exact
/// renames are looked for.
pub const DEFAULT_RENAME_LIMIT: i64 = 1000;
/// From this many index entries on, engine "auto" spawns git instead of checking the working
/// tree in-process. Measured side by side (script/bench-vcs.py, 2 shared cores): libgit2 (one
/// thread) takes 0.26x a git spawn's time at 1K files, 0.53x at 2K, 1.08x at 3K, 1.37x at 5K,
/// 2.18x at 10K; git checks files on several threads.
pub const GIT_SPAWN_MIN_INDEX_ENTRIES: usize = 3000;
/// Conflict codes by which stages exist (bit 0: ancestor, 1: ours, 2: theirs), as git prints them.
const UNMERGED_CODES: [&str; 8] = ["", "DD", "AU", "UD", "UA", "DU", "AA", "UU"];

const S_IFLNK: u32 = 0o120000;
const S_IFREG: u32 = 0o100644;

/// How the status is computed: `auto` is in-process below [`GIT_SPAWN_MIN_INDEX_ENTRIES`], else
/// the git binary if installed; `library` always in-process; `git` always the git binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Auto,
    Library,
    Git,
}

impl Engine {
    /// Parses "auto", "library" or "git".
    pub fn parse(name: &str) -> ToolResult<Engine> {
        match name {
            "auto" => Ok(Engine::Auto),
            "library" => Ok(Engine::Library),
            "git" => Ok(Engine::Git),
            _ => Err(ToolError::invalid_argument(format!(
                "unknown engine '{name}'; use one of auto, library, git"
            ))),
        }
    }
}

/// `vcs_info`: the branch and how many files are added, modified and deleted.
#[derive(Debug, Serialize)]
pub struct VcsInfo {
    pub branch: String,
    pub added: usize,
    pub modified: usize,
    pub deleted: usize,
}

/// `git_status`: the working tree's root, the branch, and one entry per porcelain line.
#[derive(Debug, Serialize)]
pub struct Status {
    pub root: String,
    pub branch: String,
    pub files: Vec<FileStatus>,
}

/// One line of `git status --porcelain=v1 -uall`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileStatus {
    pub path: String,
    pub xy: String,
    pub status: &'static str,
    pub staged: bool,
    pub orig_path: Option<String>,
    pub similarity: Option<u32>,
}

/// Every libgit2 failure is kind `git`, with libgit2's message.
impl From<git2::Error> for ToolError {
    fn from(error: git2::Error) -> Self {
        ToolError::new(ErrorKind::Git, error.message().to_string())
    }
}

// ---- operations ------------------------------------------------------------------------------

/// Branch and counts: untracked and newly added files are "added", deleted ones "deleted", the
/// rest (modified, renamed, type changes, conflicts) "modified".
pub fn vcs_info(path: &str, engine: &str) -> ToolResult<VcsInfo> {
    let status = git_status(path, engine)?;
    let mut info = VcsInfo {
        branch: status.branch,
        added: 0,
        modified: 0,
        deleted: 0,
    };
    for entry in &status.files {
        match count_bucket(entry.status) {
            "added" => info.added += 1,
            "deleted" => info.deleted += 1,
            _ => info.modified += 1,
        }
    }
    Ok(info)
}

/// The status of the repository containing `path`, as `git status --porcelain=v1 -uall`.
pub fn git_status(path: &str, engine: &str) -> ToolResult<Status> {
    let engine = Engine::parse(engine)?;
    let repo = cache::open(path)?;
    let branch = branch_name(&repo)?;
    let root = workdir(&repo)?;
    let files = if use_git_binary(engine, || index_entry_count(&repo)) {
        porcelain::status_files(repo.path(), Path::new(&root))?
    } else {
        status_files(&repo, &repo.index()?)?
    };
    Ok(Status {
        root,
        branch,
        files,
    })
}

// ---- repository and branch -------------------------------------------------------------------

/// The repository containing `path` (a folder or a file), searching parent folders up to
/// `GIT_CEILING_DIRECTORIES`, never across file systems. Kind `git` when there is none.
pub fn open_repository(path: &str) -> ToolResult<Repository> {
    let abs_path = paths::absolute(path)?;
    if abs_path.symlink_metadata().is_err() {
        return Err(ToolError::new(
            ErrorKind::NotFound,
            format!("Path not found: {}", paths::display(&abs_path)),
        ));
    }
    let start = if abs_path.is_dir() {
        abs_path.clone()
    } else {
        abs_path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("/"))
    };
    let ceiling = std::env::var_os("GIT_CEILING_DIRECTORIES").unwrap_or_default();
    let ceilings: Vec<PathBuf> = std::env::split_paths(&ceiling)
        .filter(|p| !p.as_os_str().is_empty())
        .collect();
    let repo = match Repository::open_ext(&start, RepositoryOpenFlags::empty(), &ceilings) {
        Ok(repo) => repo,
        Err(e) if e.code() == git2::ErrorCode::NotFound => {
            return Err(ToolError::new(
                ErrorKind::Git,
                format!(
                    "Not a git repository (nor any parent folder): {}; run `git init` to create one",
                    paths::display(&abs_path)
                ),
            ));
        }
        Err(e) => return Err(e.into()),
    };
    if repo.is_bare() || repo.workdir().is_none() {
        return Err(ToolError::new(
            ErrorKind::Git,
            format!(
                "{} is a bare repository: it has no working tree to inspect",
                paths::display(repo.path())
            ),
        ));
    }
    Ok(repo)
}

/// The working tree's absolute path, without a trailing slash.
pub fn workdir(repo: &Repository) -> ToolResult<String> {
    let dir = repo
        .workdir()
        .ok_or_else(|| ToolError::new(ErrorKind::Git, "the repository has no working tree"))?;
    let text = paths::display(dir);
    let trimmed = text.trim_end_matches('/');
    Ok(if trimmed.is_empty() {
        "/".to_string()
    } else {
        trimmed.to_string()
    })
}

/// The current branch; an unborn one by the name HEAD points at; a detached HEAD as
/// `HEAD (detached at <short id>)`.
pub fn branch_name(repo: &Repository) -> ToolResult<String> {
    let head = repo.find_reference("HEAD")?;
    if let Some(target) = head.symbolic_target_bytes() {
        return Ok(shorten_ref(&String::from_utf8_lossy(target)));
    }
    let oid = head
        .target()
        .ok_or_else(|| ToolError::new(ErrorKind::Git, "HEAD points at nothing"))?;
    let commit = repo.find_object(oid, None)?;
    let short = commit.short_id()?;
    Ok(format!(
        "HEAD (detached at {})",
        String::from_utf8_lossy(short.as_ref())
    ))
}

/// `refs/heads/main` -> `main`, as git shortens branch names.
pub fn shorten_ref(name: &str) -> String {
    for prefix in ["refs/heads/", "refs/tags/", "refs/remotes/", "refs/"] {
        if let Some(rest) = name.strip_prefix(prefix) {
            return rest.to_string();
        }
    }
    name.to_string()
}

fn use_git_binary(engine: Engine, index_entries: impl FnOnce() -> usize) -> bool {
    match engine {
        Engine::Git => true,
        Engine::Library => false,
        Engine::Auto => {
            index_entries() >= GIT_SPAWN_MIN_INDEX_ENTRIES && porcelain::find_git().is_some()
        }
    }
}

/// How many entries the index holds, from its 12-byte header ("DIRC", version, count): loading
/// a 50K-entry index only to count it would cost more than the git spawn it decides on. An
/// unreadable header counts as 0 (in-process, which then reports the real problem).
fn index_entry_count(repo: &Repository) -> usize {
    let mut header = [0u8; 12];
    let read = std::fs::File::open(repo.path().join("index"))
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut header));
    if read.is_err() || &header[..4] != b"DIRC" {
        return 0;
    }
    u32::from_be_bytes([header[8], header[9], header[10], header[11]]) as usize
}

// ---- status ----------------------------------------------------------------------------------

/// The status entries computed in-process, in git's order.
pub fn status_files(repo: &Repository, index: &Index) -> ToolResult<Vec<FileStatus>> {
    let (detect, rename_limit) = rename_settings(repo)?;
    let head = head_tree(repo)?;
    let mut options = DiffOptions::new();
    options.include_typechange(true);
    let index_diff = repo.diff_tree_to_index(head.as_ref(), Some(index), Some(&mut options))?;
    let intent_to_add = intent_to_add_entries(index);
    let unmerged = if index_diff.deltas().any(|d| d.status() == Delta::Conflicted) {
        unmerged_codes(index)?
    } else {
        HashMap::new()
    };
    let staged = renames::detect_renames(
        index_pairs(repo, &index_diff, &intent_to_add),
        detect,
        rename_limit,
    );
    let mut options = DiffOptions::new();
    options
        .include_typechange(true)
        .include_untracked(true)
        .recurse_untracked_dirs(true);
    let worktree_diff = repo.diff_index_to_workdir(Some(index), Some(&mut options))?;
    let root = workdir(repo)?;
    let (unstaged, untracked) = worktree_pairs(
        repo,
        index,
        &worktree_diff,
        &intent_to_add,
        Path::new(&root),
    );
    let unstaged = renames::detect_renames(unstaged, detect, rename_limit);
    Ok(merge_changes(staged, unmerged, unstaged, untracked))
}

/// (detection mode, rename limit) from status.renames / diff.renames and status.renameLimit /
/// diff.renameLimit, with git's defaults (renames on, 1000).
pub fn rename_settings(repo: &Repository) -> ToolResult<(Detect, i64)> {
    let config = repo.config()?;
    let mut detect = Detect::Renames;
    for key in ["status.renames", "diff.renames"] {
        if let Some(value) = config_value(&config, key)? {
            detect = parse_rename_mode(key, value.as_deref())?;
            break;
        }
    }
    let mut limit = DEFAULT_RENAME_LIMIT;
    for key in ["status.renameLimit", "diff.renameLimit"] {
        if let Some(value) = config_value(&config, key)? {
            limit = parse_config_int(key, value.as_deref())?;
            break;
        }
    }
    Ok((detect, limit))
}

/// `Some(value)` when `key` is set; a key without `= value` has value `None` (git reads it as
/// true).
fn config_value(config: &git2::Config, key: &str) -> ToolResult<Option<Option<String>>> {
    match config.get_entry(key) {
        Ok(entry) if !entry.has_value() => Ok(Some(None)),
        Ok(entry) => Ok(Some(Some(
            String::from_utf8_lossy(entry.value_bytes()).into_owned(),
        ))),
        Err(e) if e.code() == git2::ErrorCode::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// git_config_rename: "copies"/"copy", else a boolean.
fn parse_rename_mode(key: &str, value: Option<&str>) -> ToolResult<Detect> {
    if let Some(v) = value
        && (v.eq_ignore_ascii_case("copies") || v.eq_ignore_ascii_case("copy"))
    {
        return Ok(Detect::Copies);
    }
    Ok(if parse_config_bool(key, value)? {
        Detect::Renames
    } else {
        Detect::Off
    })
}

fn parse_config_bool(key: &str, value: Option<&str>) -> ToolResult<bool> {
    let Some(value) = value else { return Ok(true) };
    let lowered = value.to_ascii_lowercase();
    match lowered.as_str() {
        "true" | "yes" | "on" => Ok(true),
        "false" | "no" | "off" | "" => Ok(false),
        _ => Ok(parse_config_int(key, Some(value))? != 0),
    }
}

/// An integer with git's optional k/m/g suffix.
fn parse_config_int(key: &str, value: Option<&str>) -> ToolResult<i64> {
    let text = value.unwrap_or("").trim();
    let (digits, scale) = match text.chars().last().map(|c| c.to_ascii_lowercase()) {
        Some('k') => (&text[..text.len() - 1], 1i64 << 10),
        Some('m') => (&text[..text.len() - 1], 1 << 20),
        Some('g') => (&text[..text.len() - 1], 1 << 30),
        _ => (text, 1),
    };
    digits
        .parse::<i64>()
        .ok()
        .and_then(|n| n.checked_mul(scale))
        .ok_or_else(|| {
            ToolError::new(
                ErrorKind::Git,
                format!("bad config value '{}' for '{key}'", value.unwrap_or("")),
            )
        })
}

/// HEAD's tree; `None` (the empty tree) on an unborn branch.
pub fn head_tree(repo: &Repository) -> ToolResult<Option<Tree<'_>>> {
    match repo.head() {
        Ok(head) => Ok(Some(head.peel_to_tree()?)),
        Err(e) if is_unborn_error(&e) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// True when HEAD names a branch that has no commit yet.
pub fn is_unborn(repo: &Repository) -> ToolResult<bool> {
    match repo.head() {
        Ok(_) => Ok(false),
        Err(e) if is_unborn_error(&e) => Ok(true),
        Err(e) => Err(e.into()),
    }
}

fn is_unborn_error(error: &git2::Error) -> bool {
    matches!(
        error.code(),
        git2::ErrorCode::UnbornBranch | git2::ErrorCode::NotFound
    )
}

/// Paths added with `git add -N`, read off the index alone: an entry with the intent-to-add
/// flag and the empty blob (no HEAD-to-index diff needed, which reads HEAD's trees from the
/// object store: most of an unstaged `git_diff`'s time).
pub(crate) fn intent_to_add_entries(index: &Index) -> HashSet<Vec<u8>> {
    let empty = empty_blob_id();
    index
        .iter()
        .filter(|entry| entry.flags_extended & INTENT_TO_ADD_FLAG != 0 && entry.id == empty)
        .map(|entry| entry.path)
        .collect()
}

/// Path -> DD AU UD UA DU AA UU, from which of ancestor / ours / theirs the conflict has.
fn unmerged_codes(index: &Index) -> ToolResult<HashMap<Vec<u8>, &'static str>> {
    let mut out = HashMap::new();
    for conflict in index.conflicts()? {
        let conflict = conflict?;
        let mask = usize::from(conflict.ancestor.is_some())
            | usize::from(conflict.our.is_some()) << 1
            | usize::from(conflict.their.is_some()) << 2;
        if let Some(entry) = conflict.ancestor.or(conflict.our).or(conflict.their) {
            out.insert(entry.path, UNMERGED_CODES[mask]);
        }
    }
    Ok(out)
}

/// HEAD-to-index changes as pairs for rename detection, sorted by path (conflicts and
/// `git add -N` entries are left out: git shows neither as a staged change).
fn index_pairs<'r>(
    repo: &'r Repository,
    diff: &Diff,
    intent_to_add: &HashSet<Vec<u8>>,
) -> Vec<Pair<'r>> {
    let mut pairs = Vec::new();
    for delta in diff.deltas() {
        let path = file_path(&delta.new_file());
        match delta.status() {
            Delta::Added => {
                if intent_to_add.contains(&path) {
                    continue;
                }
                let two = odb_spec(repo, &path, &delta.new_file());
                pairs.push(Pair::new('A', path, None, Some(two)));
            }
            Delta::Deleted => {
                let one = odb_spec(repo, &path, &delta.old_file());
                pairs.push(Pair::new('D', path, Some(one), None));
            }
            Delta::Modified | Delta::Typechange => {
                let letter = if delta.status() == Delta::Modified {
                    'M'
                } else {
                    'T'
                };
                let one = odb_spec(repo, &path, &delta.old_file());
                let two = odb_spec(repo, &path, &delta.new_file());
                pairs.push(Pair::new(letter, path, Some(one), Some(two)));
            }
            _ => {}
        }
    }
    pairs.sort_by(|a, b| a.path.cmp(&b.path));
    pairs
}

/// Index-to-working-tree changes as pairs, sorted by path, and the untracked paths.
///
/// A `git add -N` file is a creation when it exists (git's ` A`) and a deletion when it does
/// not; libgit2 compares it with the empty blob instead, so its deltas are replaced.
fn worktree_pairs<'r>(
    repo: &'r Repository,
    index: &Index,
    diff: &Diff,
    intent_to_add: &HashSet<Vec<u8>>,
    root: &Path,
) -> (Vec<Pair<'r>>, Vec<Vec<u8>>) {
    let mut pairs = Vec::new();
    let mut untracked = Vec::new();
    for delta in diff.deltas() {
        let path = file_path(&delta.new_file());
        if intent_to_add.contains(&path) {
            continue;
        }
        match delta.status() {
            Delta::Untracked => untracked.push(path),
            Delta::Deleted => {
                let one = odb_spec(repo, &path, &delta.old_file());
                pairs.push(Pair::new('D', path, Some(one), None));
            }
            Delta::Modified | Delta::Typechange => {
                let letter = if delta.status() == Delta::Modified {
                    'M'
                } else {
                    'T'
                };
                let one = odb_spec(repo, &path, &delta.old_file());
                let two = worktree_spec(root, &path);
                pairs.push(Pair::new(letter, path, Some(one), Some(two)));
            }
            _ => {}
        }
    }
    for path in intent_to_add {
        let full = root.join(OsStr::from_bytes(path));
        if full.symlink_metadata().is_ok() {
            pairs.push(Pair::new(
                'A',
                path.clone(),
                None,
                Some(worktree_spec(root, path)),
            ));
        } else if let Some(entry) = index.get_path(Path::new(OsStr::from_bytes(path)), 0) {
            let spec = FileSpec::new(path.clone(), entry.mode, Some(entry.id), Vec::new);
            pairs.push(Pair::new('D', path.clone(), Some(spec), None));
        }
    }
    pairs.sort_by(|a, b| a.path.cmp(&b.path));
    (pairs, untracked)
}

/// A side whose content is a blob in the object database.
fn odb_spec<'r>(repo: &'r Repository, path: &[u8], file: &DiffFile) -> FileSpec<'r> {
    let oid = file.id();
    let mode = u32::from(file.mode());
    FileSpec::new(path.to_vec(), mode, Some(oid), move || {
        if oid == empty_blob_id() {
            return Vec::new(); // libgit2 does not invent the empty blob when it was never written
        }
        // Only regular files' content is compared; anything else (a submodule's commit) is empty.
        repo.find_blob(oid)
            .map(|blob| blob.content().to_vec())
            .unwrap_or_default()
    })
}

/// A side whose content is the working-tree file (a symlink's content is its target).
fn worktree_spec<'r>(root: &Path, path: &[u8]) -> FileSpec<'r> {
    let full = root.join(OsStr::from_bytes(path));
    let is_link = full
        .symlink_metadata()
        .map(|m| m.file_type().is_symlink())
        .unwrap_or(false);
    let mode = if is_link { S_IFLNK } else { S_IFREG };
    FileSpec::new(path.to_vec(), mode, None, move || {
        let content = if is_link {
            std::fs::read_link(&full).map(|t| t.as_os_str().as_bytes().to_vec())
        } else {
            std::fs::read(&full)
        };
        content.unwrap_or_default()
    })
}

#[derive(Default)]
struct Line {
    x: Option<char>,
    y: Option<char>,
    orig_path: Option<Vec<u8>>,
    similarity: Option<u32>,
    code: Option<&'static str>,
}

/// Joins both sides into git's lines: changed paths in path order, then untracked ones.
fn merge_changes(
    staged: Vec<Change>,
    unmerged: HashMap<Vec<u8>, &'static str>,
    unstaged: Vec<Change>,
    mut untracked: Vec<Vec<u8>>,
) -> Vec<FileStatus> {
    let mut lines: BTreeMap<Vec<u8>, Line> = BTreeMap::new();
    for change in staged {
        let line = lines.entry(change.path).or_default();
        line.x = Some(change.letter);
        if change.orig_path.is_some() {
            line.orig_path = change.orig_path;
            line.similarity = change.similarity;
        }
    }
    for (path, code) in unmerged {
        lines.entry(path).or_default().code = Some(code);
    }
    for change in unstaged {
        let line = lines.entry(change.path).or_default();
        line.y = Some(change.letter);
        if change.orig_path.is_some() {
            line.orig_path = change.orig_path;
            line.similarity = change.similarity;
        }
    }
    let mut out: Vec<FileStatus> = lines
        .into_iter()
        .map(|(path, line)| {
            let xy = match line.code {
                Some(code) => code.to_string(),
                None => format!("{}{}", line.x.unwrap_or(' '), line.y.unwrap_or(' ')),
            };
            make_entry(&path, &xy, line.orig_path.as_deref(), line.similarity)
        })
        .collect();
    untracked.sort();
    out.extend(
        untracked
            .iter()
            .map(|path| make_entry(path, "??", None, None)),
    );
    out
}

/// One status entry; `status` names the index side's change, else the working tree's.
pub fn make_entry(
    path: &[u8],
    xy: &str,
    orig_path: Option<&[u8]>,
    similarity: Option<u32>,
) -> FileStatus {
    let (status, staged) = if xy == "??" {
        ("untracked", false)
    } else if UNMERGED_CODES[1..].contains(&xy) {
        ("conflicted", false)
    } else {
        let mut letters = xy.chars();
        let x = letters.next().unwrap_or(' ');
        let y = letters.next().unwrap_or(' ');
        let letter = if x != ' ' { x } else { y };
        (status_name(letter), x != ' ')
    };
    FileStatus {
        path: String::from_utf8_lossy(path).into_owned(),
        xy: xy.to_string(),
        status,
        staged,
        orig_path: orig_path.map(|p| String::from_utf8_lossy(p).into_owned()),
        similarity,
    }
}

/// The readable status of a change letter.
fn status_name(letter: char) -> &'static str {
    match letter {
        'A' => "added",
        'D' => "deleted",
        'R' => "renamed",
        'C' => "copied",
        'T' => "typechange",
        _ => "modified",
    }
}

/// Which vcs_info count a status adds to: untracked and added files are "added", deleted ones
/// "deleted", the rest (renames, type changes, conflicts) "modified".
fn count_bucket(status: &str) -> &'static str {
    match status {
        "added" | "untracked" | "copied" => "added",
        "deleted" => "deleted",
        _ => "modified",
    }
}

fn empty_blob_id() -> Oid {
    Oid::from_str(EMPTY_BLOB_ID).unwrap_or(Oid::ZERO_SHA1)
}

fn file_path(file: &DiffFile) -> Vec<u8> {
    file.path_bytes().unwrap_or_default().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shorten_ref_strips_the_namespace() {
        assert_eq!(shorten_ref("refs/heads/feature/x"), "feature/x");
        assert_eq!(shorten_ref("HEAD"), "HEAD");
    }

    #[test]
    fn config_ints_take_git_suffixes() {
        assert_eq!(parse_config_int("k", Some("2k")).unwrap(), 2048);
        assert_eq!(
            parse_config_int("k", Some("x")).unwrap_err().kind,
            ErrorKind::Git
        );
        assert_eq!(
            parse_rename_mode("k", Some("Copies")).unwrap(),
            Detect::Copies
        );
        assert_eq!(parse_rename_mode("k", None).unwrap(), Detect::Renames);
        assert_eq!(parse_rename_mode("k", Some("off")).unwrap(), Detect::Off);
    }

    #[test]
    fn conflict_codes_are_not_staged() {
        let entry = make_entry(b"a", "UU", None, None);
        assert_eq!((entry.status, entry.staged), ("conflicted", false));
        let entry = make_entry(b"a", " M", None, None);
        assert_eq!((entry.status, entry.staged), ("modified", false));
    }
}
