//! Repositories kept open between `git_status` and `git_diff` calls.
//!
//! Opening a repository costs libgit2 about sixty system calls (discovery, the ownership check,
//! three config files read and parsed): a fifth of a small repository's status. An agent asks
//! about the same repository again and again, so the last few stay open, each with a stamp of
//! everything an open reads that a later call would not read again:
//!
//! - the working tree and its `.git` folder (device, inode, owner): a repository deleted and
//!   made again, or a `.git` swapped, is opened afresh;
//! - every config file libgit2 loads (the repository's, `config.worktree`, `~/.gitconfig`, the
//!   XDG one, `/etc/gitconfig`): libgit2 caches core settings such as `core.autocrlf` and
//!   `core.ignorecase` for the life of a repository, so a change to any of them reopens it;
//! - `GIT_CEILING_DIRECTORIES`, which changes what discovery finds.
//!
//! A stamp is only trusted when it is settled, as git treats a racily clean index: a config file
//! changed in the last [`SETTLED_SECONDS`] could change again within the same timestamp tick
//! with the same size, so such a repository is not kept. Only a plain repository opened at its
//! own top is kept (no linked worktree, no `.git` file, not a sub-folder: discovery from a
//! sub-folder could meet a new `.git` on the way up). The index is re-read on every call; refs,
//! objects, `.gitignore` and `.gitattributes` are read (or stamp-checked) by libgit2 on each use,
//! as with a fresh open. A repository is lent to one call at a time: a concurrent call on the
//! same one opens its own.

use std::ffi::OsString;
use std::ops::Deref;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use git2::{Index, Repository};

use crate::error::ToolResult;

/// How many repositories stay open.
pub const CACHED_REPOSITORIES: usize = 8;
/// A config file changed more recently than this is not trusted to show its next change.
pub const SETTLED_SECONDS: i64 = 2;

/// (device, inode, owner, size, mtime s, mtime ns, ctime s, ctime ns) of a file, or None when
/// it does not exist.
type FileStamp = Option<(u64, u64, u32, u64, i64, i64, i64, i64)>;

#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamp {
    ceilings: Option<OsString>,
    files: Vec<FileStamp>,
}

struct Kept {
    top: PathBuf,
    stamp: Stamp,
    repo: Repository,
}

static KEPT: Mutex<Vec<Kept>> = Mutex::new(Vec::new());

/// A repository for one call; back to the cache when dropped, if it may be kept.
pub struct Lent {
    repo: Option<Repository>,
    keep: Option<(PathBuf, Stamp)>,
    /// Opened by an earlier call: its index in memory may be older than the file.
    reused: bool,
}

impl Lent {
    /// The repository's index as the file holds it now.
    pub fn index(&self) -> ToolResult<Index> {
        let mut index = self.deref().index()?;
        if self.reused {
            index.read(true)?;
        }
        Ok(index)
    }
}

impl Deref for Lent {
    type Target = Repository;
    fn deref(&self) -> &Repository {
        self.repo
            .as_ref()
            .expect("a lent repository is present until dropped")
    }
}

impl Drop for Lent {
    fn drop(&mut self) {
        let (Some(repo), Some((top, stamp))) = (self.repo.take(), self.keep.take()) else {
            return;
        };
        let mut kept = KEPT.lock().unwrap_or_else(PoisonError::into_inner);
        kept.retain(|k| k.top != top);
        if kept.len() >= CACHED_REPOSITORIES {
            kept.remove(0); // the least recently returned
        }
        kept.push(Kept { top, stamp, repo });
    }
}

/// The repository containing `path`, as [`super::open_repository`] opens it, from the cache
/// when `path` is a kept repository's top and nothing it was opened with has changed.
pub fn open(path: &str) -> ToolResult<Lent> {
    let abs = crate::paths::absolute(path)?;
    let taken = {
        let mut kept = KEPT.lock().unwrap_or_else(PoisonError::into_inner);
        kept.iter()
            .position(|k| k.top == abs)
            .map(|at| kept.remove(at))
    };
    if let Some(kept) = taken
        && stamp(&kept.top).as_ref() == Some(&kept.stamp)
    {
        return Ok(Lent {
            repo: Some(kept.repo),
            keep: Some((kept.top, kept.stamp)),
            reused: true,
        });
    }
    // Stamped before the open: a change made while it opens shows as a changed stamp next time.
    let before = stamp(&abs).filter(settled);
    let repo = super::open_repository(path)?;
    let keep = before
        .filter(|_| opened_at_its_top(&repo, &abs))
        .map(|s| (abs, s));
    Ok(Lent {
        repo: Some(repo),
        keep,
        reused: false,
    })
}

/// Drops every kept repository (tests; a process that wants its descriptors back).
pub fn clear() {
    KEPT.lock().unwrap_or_else(PoisonError::into_inner).clear();
}

/// How many repositories are kept.
pub fn kept() -> usize {
    KEPT.lock().unwrap_or_else(PoisonError::into_inner).len()
}

fn opened_at_its_top(repo: &Repository, top: &Path) -> bool {
    !repo.is_worktree()
        && repo.workdir().is_some_and(|w| same_folder(w, top))
        && same_folder(repo.path(), &top.join(".git"))
}

fn same_folder(a: &Path, b: &Path) -> bool {
    a.components().eq(b.components())
}

/// The stamp of a repository whose top is `top`; None when `top` or `top/.git` is not a folder.
fn stamp(top: &Path) -> Option<Stamp> {
    let git = top.join(".git");
    let folder = |p: &Path| {
        let m = p.symlink_metadata().ok()?;
        m.is_dir()
            .then(|| Some((m.dev(), m.ino(), m.uid(), 0, 0, 0, 0, 0)))
    };
    let mut files = vec![folder(top)?, folder(&git)?];
    for path in [git.join("config"), git.join("config.worktree")]
        .iter()
        .chain(global_config_files())
    {
        files.push(file_stamp(path));
    }
    Some(Stamp {
        ceilings: std::env::var_os("GIT_CEILING_DIRECTORIES"),
        files,
    })
}

fn file_stamp(path: &Path) -> FileStamp {
    let m = std::fs::metadata(path).ok()?;
    Some((
        m.dev(),
        m.ino(),
        m.uid(),
        m.size(),
        m.mtime(),
        m.mtime_nsec(),
        m.ctime(),
        m.ctime_nsec(),
    ))
}

/// No config file was written in the last [`SETTLED_SECONDS`]. (The modification time is the
/// one a write sets; a change of ctime alone, as from `touch -d`, changes the stamp anyway.)
fn settled(stamp: &Stamp) -> bool {
    let now = now();
    stamp
        .files
        .iter()
        .flatten()
        .all(|&(.., mtime, _, _, _)| mtime < now - SETTLED_SECONDS)
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// The config files outside the repository that libgit2 loads, by its own rules: `~/.gitconfig`,
/// `$XDG_CONFIG_HOME/git/config` (default `~/.config/git/config`) and `/etc/gitconfig`, with the
/// home folder as the process had it when libgit2 first looked (it does not look again).
fn global_config_files() -> &'static [PathBuf] {
    static FILES: OnceLock<Vec<PathBuf>> = OnceLock::new();
    FILES.get_or_init(|| {
        let mut files = vec![PathBuf::from("/etc/gitconfig")];
        if let Some(home) = std::env::var_os("HOME").filter(|h| !h.is_empty()) {
            let home = PathBuf::from(home);
            files.push(home.join(".gitconfig"));
            let xdg = std::env::var_os("XDG_CONFIG_HOME")
                .filter(|x| !x.is_empty())
                .map_or_else(|| home.join(".config"), PathBuf::from);
            files.push(xdg.join("git").join("config"));
        }
        files
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn git(dir: &Path, args: &[&str]) {
        let ok = Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
            .args(args)
            .current_dir(dir)
            .status()
            .unwrap()
            .success();
        assert!(ok, "git {args:?}");
    }

    /// Sets a file's times back, so that its stamp is settled.
    fn age(path: &Path) {
        let old = SystemTime::now() - std::time::Duration::from_secs(60);
        let file = std::fs::File::options().write(true).open(path).unwrap();
        file.set_times(
            std::fs::FileTimes::new()
                .set_modified(old)
                .set_accessed(old),
        )
        .unwrap();
    }

    #[test]
    fn a_repository_is_kept_once_its_config_has_settled() {
        let _serial = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
        clear();
        let dir = tempfile::tempdir().unwrap();
        let top = dir.path().canonicalize().unwrap();
        git(&top, &["init", "-q"]);
        let path = top.to_str().unwrap();
        drop(open(path).unwrap());
        assert_eq!(kept(), 0, "a config written just now is not trusted");
        age(&top.join(".git").join("config"));
        // The user's own config files may have been written just before the tests started.
        while !stamp(&top).is_some_and(|s| settled(&s)) {
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let first = open(path).unwrap();
        assert!(first.keep.is_some());
        drop(first);
        assert_eq!(kept(), 1);
        let again = open(path).unwrap();
        assert_eq!(kept(), 0, "lent to one call at a time");
        assert!(again.keep.is_some());
        // A second call while the first holds it opens its own, and both go back as one.
        let second = open(path).unwrap();
        drop(again);
        drop(second);
        assert_eq!(kept(), 1);
        clear();
    }

    #[test]
    fn a_kept_repository_is_lent_again_only_while_its_stamp_holds() {
        let _serial = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
        clear();
        let dir = tempfile::tempdir().unwrap();
        let top = dir.path().canonicalize().unwrap();
        git(&top, &["init", "-q"]);
        let repo = super::super::open_repository(top.to_str().unwrap()).unwrap();
        let stamp_now = stamp(&top).unwrap();
        drop(Lent {
            repo: Some(repo),
            keep: Some((top.clone(), stamp_now)),
            reused: false,
        });
        assert_eq!(kept(), 1);
        let again = open(top.to_str().unwrap()).unwrap();
        assert!(again.keep.is_some(), "the kept repository is lent again");
        assert_eq!(kept(), 0, "lent to one call at a time");
        drop(again);
        assert_eq!(kept(), 1);
        // `git config` writes a new file (a new inode): the stamp no longer holds.
        git(&top, &["config", "core.autocrlf", "true"]);
        let reopened = open(top.to_str().unwrap()).unwrap();
        assert!(
            reopened.keep.is_none(),
            "a changed config is opened afresh, and not kept"
        );
        drop(reopened);
        assert_eq!(kept(), 0);
        // A repository made again in the same place has a new `.git`.
        let repo = super::super::open_repository(top.to_str().unwrap()).unwrap();
        drop(Lent {
            repo: Some(repo),
            keep: Some((top.clone(), stamp(&top).unwrap())),
            reused: false,
        });
        std::fs::remove_dir_all(top.join(".git")).unwrap();
        git(&top, &["init", "-q"]);
        assert!(open(top.to_str().unwrap()).unwrap().keep.is_none());
        std::fs::remove_dir_all(top.join(".git")).unwrap();
        assert!(
            open(top.to_str().unwrap()).is_err(),
            "no repository any more"
        );
        clear();
    }

    #[test]
    fn only_a_repository_opened_at_its_top_may_be_kept() {
        let dir = tempfile::tempdir().unwrap();
        let top = dir.path().canonicalize().unwrap();
        git(&top, &["init", "-q"]);
        std::fs::create_dir(top.join("sub")).unwrap();
        let repo = super::super::open_repository(top.join("sub").to_str().unwrap()).unwrap();
        assert!(!opened_at_its_top(&repo, &top.join("sub")));
        assert!(opened_at_its_top(&repo, &top));
        assert!(
            stamp(&top.join("sub")).is_none(),
            "a sub-folder has no .git of its own"
        );
    }

    static SERIAL: Mutex<()> = Mutex::new(());
}
