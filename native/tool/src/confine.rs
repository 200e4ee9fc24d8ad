//! `confine`: the paths of a confined operation (`root=`), resolved beneath the root folder's
//! descriptor. Twin: `ironcode/twin/confine.py`.
//!
//! An agent's tools must keep a model inside its project. Comparing a resolved path with the
//! root as a string and then opening it by name fails twice: a string prefix lets
//! `/work/app-evil` pass for `/work/app`, and a symlink swapped in between the check and the
//! open lets the call through. Here nothing is checked and then opened by name: the root is
//! opened once ([`Root::open`], the only by-name open of this module), and every later open,
//! create and listing starts from a descriptor obtained beneath it (OPERATIONS.md, "Confined
//! operations").
//!
//! Two ways to resolve, with one answer:
//! - `openat2(RESOLVE_BENEATH)` answers the common case in one call (no `..` above the root, no
//!   absolute symlink). Whatever it refuses or fails, and every kernel without it, goes to the
//!   walk, which decides every error, so both ways give the same answers.
//! - the walk takes one component at a time from the descriptor of the folder reached so far,
//!   always with `O_NOFOLLOW`: a symlink is read with `readlinkat` and its target walked the same
//!   way (an absolute target must name the root, by its real path or as given, and goes on from
//!   the root's descriptor); `..` returns to the folder the walk came from, and above the root it
//!   is `outside_root`. A component swapped between two steps is met, at the next step, as
//!   whatever it has become.
//!
//! Functions that act below a root take a folder descriptor ([`Located::dir`], or a folder
//! opened by [`Root::open_below`]); no function of a `*_beneath` code path opens by name:
//! `test/test_confine_lint.py` checks the sources, `test/test_confine_syscalls.py` the system
//! calls of every confined operation under strace.

use std::ffi::{CString, OsStr};
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

use rustix::fs::{AtFlags, CWD, FileType, Mode, OFlags, ResolveFlags};
use rustix::io::Errno;

use crate::error::{ErrorKind, ToolError, ToolResult};
use crate::paths;
use walker::{Failure, Walked, Walker};

mod walker;

/// Symlinks followed in one resolution before it is a loop (the kernel's limit too).
pub const MAX_SYMLINKS: usize = 40;
/// Times a component may change under the walk (a folder swapped for a symlink between two
/// steps) before the call gives up with `io`: a name flipped forever cannot stall a call.
pub const MAX_CHANGES: usize = 100;
/// `openat2` answers EAGAIN when a rename raced its `..` check; it is tried this often before
/// the walk decides.
pub const OPENAT2_ATTEMPTS: usize = 4;
/// Set to `1` to resolve every confined path with the walk, never `openat2` (read once).
pub const FORCE_WALK_ENV: &str = "IRONCODE_CONFINE_WALK";
/// Folders created below a root get these bits before the umask, as `mkdir -p`.
pub const NEW_FOLDER_MODE: u32 = 0o777;

const RESOLVE: ResolveFlags = ResolveFlags::BENEATH.union(ResolveFlags::NO_MAGICLINKS);

static FORCE_WALK: AtomicBool = AtomicBool::new(false);
static FORCE_WALK_FROM_ENV: OnceLock<()> = OnceLock::new();
/// 0: not known yet, 1: the kernel has `openat2`, 2: it does not (ENOSYS).
static OPENAT2: AtomicU8 = AtomicU8::new(0);

/// Makes every resolution use the walk (`true`) or `openat2` where the kernel has it; returns
/// the previous setting. Only tests switch it, to prove the walk on a kernel with `openat2`.
pub fn force_walk(on: bool) -> bool {
    init_force_walk();
    FORCE_WALK.swap(on, Ordering::SeqCst)
}

fn init_force_walk() {
    FORCE_WALK_FROM_ENV.get_or_init(|| {
        if std::env::var_os(FORCE_WALK_ENV).is_some_and(|v| v == "1") {
            FORCE_WALK.store(true, Ordering::SeqCst);
        }
    });
}

/// Which way confined paths are resolved in this process: `"openat2"` or `"walk"`.
pub fn kernel_path() -> &'static str {
    if use_openat2() { "openat2" } else { "walk" }
}

fn use_openat2() -> bool {
    init_force_walk();
    if FORCE_WALK.load(Ordering::Relaxed) {
        return false;
    }
    match OPENAT2.load(Ordering::Relaxed) {
        1 => true,
        2 => false,
        _ => {
            let probe = rustix::fs::openat2(
                CWD,
                ".",
                OFlags::PATH | OFlags::CLOEXEC,
                Mode::empty(),
                RESOLVE,
            );
            let has = !matches!(probe, Err(Errno::NOSYS));
            OPENAT2.store(if has { 1 } else { 2 }, Ordering::Relaxed);
            has
        }
    }
}

/// An `openat2` result: Some when it settled the question, None when the walk must decide.
fn beneath(dir: BorrowedFd, rel: &[u8], flags: OFlags) -> Option<OwnedFd> {
    let path = if rel.is_empty() {
        OsStr::new(".")
    } else {
        OsStr::from_bytes(rel)
    };
    for _ in 0..OPENAT2_ATTEMPTS {
        match rustix::fs::openat2(dir, path, flags | OFlags::CLOEXEC, Mode::empty(), RESOLVE) {
            Ok(fd) => return Some(fd),
            Err(Errno::AGAIN) => continue,
            Err(Errno::NOSYS) => {
                OPENAT2.store(2, Ordering::Relaxed);
                return None;
            }
            Err(_) => return None,
        }
    }
    None
}

/// A root folder, opened once: the descriptor every confined path is resolved beneath.
#[derive(Debug)]
pub struct Root {
    fd: OwnedFd,
    /// The root as the caller gave it, made absolute (lexically, as `os.path.abspath`): result
    /// paths are spelled from it.
    shown: PathBuf,
    /// Where the root really is (symlinks resolved), found once from the open descriptor.
    real: OnceLock<PathBuf>,
}

/// A path argument of a confined call, taken apart: what to resolve below the root and how
/// results spell it.
#[derive(Debug, Clone)]
pub struct Place {
    /// The path below the root as given (`.` and `..` kept, resolved physically); empty for the
    /// root itself.
    rel: Vec<u8>,
    /// The path as results spell it: the root as given joined with `rel`, folded lexically.
    pub shown: PathBuf,
    /// The argument as the caller wrote it, for messages.
    given: String,
}

impl Place {
    /// The path below the root as given, for resolving what a walk finds below it.
    pub fn rel(&self) -> &Path {
        Path::new(OsStr::from_bytes(&self.rel))
    }
}

/// How [`Root::locate`] treats the path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Locate {
    /// Create missing folders on the way (beneath the root), as `mkdir -p`.
    pub create: bool,
    /// Follow a symlink in the last component. Either way a symlink there that leads out of the
    /// root is `outside_root`; without following, one that stays inside is located itself.
    pub follow_last: bool,
}

/// Where a path ends: the folder that holds it, opened beneath the root, and its name there.
#[derive(Debug)]
pub struct Located {
    /// The folder holding `name` (readable where permissions allow, for fsync and listings).
    pub dir: OwnedFd,
    /// The last component; `.` when the path ends at a folder (`dir` itself).
    pub name: CString,
    /// What `name` is (`Symlink` only without `follow_last`); None when it does not exist.
    pub kind: Option<FileType>,
    /// The path as results spell it: the argument's, or where a followed last symlink led.
    pub shown: PathBuf,
}

impl Located {
    /// The folder holding the target, as results spell it.
    pub fn dir_shown(&self) -> &Path {
        self.shown.parent().unwrap_or(Path::new("/"))
    }

    /// Opens the located file (never through a symlink: one swapped in since is `io`).
    pub fn open(&self, flags: OFlags) -> ToolResult<OwnedFd> {
        let flags = flags | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        rustix::fs::openat(&self.dir, self.name.as_c_str(), flags, Mode::empty()).map_err(|e| {
            match e {
                Errno::LOOP => changed_error(&self.shown),
                e => io_error(e, &self.shown),
            }
        })
    }
}

/// What a resolution is asked for.
#[derive(Debug, Clone, Copy)]
enum Want {
    Open(OFlags),
    Locate(Locate),
}

enum Reached {
    Opened(OwnedFd),
    Located(Located),
}

impl Root {
    /// Opens the root: `root` made absolute from the current folder, a symlink to a folder
    /// resolved (once, here). Missing is `not_found`, not a folder `not_a_directory`.
    pub fn open(root: &str) -> ToolResult<Root> {
        let shown = paths::absolute(root)?;
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let opened = match rustix::fs::openat(CWD, &shown, flags, Mode::empty()) {
            // A folder one may enter but not list is still a root: its files can be opened.
            Err(Errno::ACCESS) => rustix::fs::openat(
                CWD,
                &shown,
                OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
            ),
            other => other,
        };
        let fd = opened.map_err(|e| match e {
            Errno::NOENT => ToolError::new(
                ErrorKind::NotFound,
                format!("Root not found: {}", shown.display()),
            ),
            Errno::NOTDIR => ToolError::new(
                ErrorKind::NotADirectory,
                format!("Root is not a folder: {}", shown.display()),
            ),
            e => io_error(e, &shown),
        })?;
        Ok(Root {
            fd,
            shown,
            real: OnceLock::new(),
        })
    }

    /// The root as the caller gave it, made absolute.
    pub fn shown(&self) -> &Path {
        &self.shown
    }

    /// The root folder's descriptor.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Where the root really is, from its descriptor (`/proc/self/fd`), else from its name.
    pub fn real(&self) -> &Path {
        self.real.get_or_init(|| {
            let link = format!(
                "/proc/self/fd/{}",
                std::os::fd::AsRawFd::as_raw_fd(&self.fd)
            );
            std::fs::read_link(link)
                .or_else(|_| std::fs::canonicalize(&self.shown))
                .unwrap_or_else(|_| self.shown.clone())
        })
    }

    /// Takes a path argument apart: relative paths are taken from the root; an absolute path
    /// must start with the root (as given or its real path, compared by components: `/a/b-evil`
    /// is not inside `/a/b`), and the rest is resolved beneath it. Anything else is
    /// `outside_root`.
    pub fn place(&self, path: &str) -> ToolResult<Place> {
        if path.is_empty() {
            return Err(ToolError::invalid_argument("path is empty"));
        }
        if path.contains('\0') {
            return Err(ToolError::invalid_argument("path contains a NUL byte"));
        }
        let raw = Path::new(path);
        let rel = if raw.is_absolute() {
            match self.strip_root(raw) {
                Some(rest) => rest,
                None => return Err(self.outside(path, "give a path inside the root")),
            }
        } else {
            raw.as_os_str().as_bytes().to_vec()
        };
        let shown = paths::normalize(&self.shown.join(OsStr::from_bytes(&rel)));
        Ok(Place {
            rel,
            shown,
            given: path.to_string(),
        })
    }

    /// A place below the root found by a walk (`rel` relative to the root).
    pub fn place_below(&self, rel: &Path) -> Place {
        let shown = paths::normalize(&self.shown.join(rel));
        Place {
            rel: rel.as_os_str().as_bytes().to_vec(),
            given: paths::display(&shown),
            shown,
        }
    }

    /// What follows the root in the absolute path `path`: the root as given, else its real path
    /// (by components); None when `path` starts with neither.
    fn strip_root(&self, path: &Path) -> Option<Vec<u8>> {
        let rest = match path.strip_prefix(&self.shown) {
            Ok(rest) => rest,
            Err(_) => path.strip_prefix(self.real()).ok()?,
        };
        Some(rest.as_os_str().as_bytes().to_vec())
    }

    /// Opens what `place` names, following symlinks that stay inside. Errors as opening it
    /// would give (`not_found`, `permission_denied`, ...), and `outside_root`.
    pub fn open_file(&self, place: &Place, flags: OFlags) -> ToolResult<OwnedFd> {
        Ok(self.open_walked(place, flags)?)
    }

    fn open_walked(&self, place: &Place, flags: OFlags) -> Walked<OwnedFd> {
        if use_openat2()
            && let Some(fd) = beneath(self.fd.as_fd(), &place.rel, flags)
        {
            return Ok(fd);
        }
        match Walker::new(self, place).run(Want::Open(flags))? {
            Reached::Opened(fd) => Ok(fd),
            Reached::Located(_) => unreachable!("an open answers with a descriptor"),
        }
    }

    /// [`Root::open_file`] of a path a walk found below the root.
    pub fn open_below(&self, rel: &Path, flags: OFlags) -> ToolResult<OwnedFd> {
        self.open_file(&self.place_below(rel), flags)
    }

    /// [`Root::open_below`] for a walk of many folders: the system's error as it is, so running
    /// out of descriptors can end the walk while an unreadable folder is skipped (a refusal,
    /// such as a link out of the root, is an `Other` error).
    pub fn open_below_io(&self, rel: &Path, flags: OFlags) -> io::Result<OwnedFd> {
        self.open_walked(&self.place_below(rel), flags)
            .map_err(Failure::into_io)
    }

    /// Finds the folder that holds what `place` names, and its name there, for an operation that
    /// creates, replaces or removes it (see [`Locate`]).
    pub fn locate(&self, place: &Place, how: Locate) -> ToolResult<Located> {
        if use_openat2()
            && let Some(found) = self.locate_beneath(place)
        {
            return Ok(found);
        }
        match Walker::new(self, place)
            .run(Want::Locate(how))
            .map_err(ToolError::from)?
        {
            Reached::Located(found) => Ok(found),
            Reached::Opened(_) => unreachable!("a locate answers with a folder"),
        }
    }

    /// The `openat2` answer of [`Root::locate`]: the parent folder in one call, then the last
    /// component looked at without following it. None (the walk decides) when the last
    /// component is a symlink, `.` or `..`, or the parent cannot be opened that way.
    fn locate_beneath(&self, place: &Place) -> Option<Located> {
        let rel = trim_trailing_slashes(&place.rel);
        let (parent, name) = match rel.iter().rposition(|&b| b == b'/') {
            Some(at) => (&rel[..at], &rel[at + 1..]),
            None => (&rel[..0], rel),
        };
        if name.is_empty() || name == b"." || name == b".." {
            return None;
        }
        let dir = beneath(self.fd.as_fd(), parent, OFlags::RDONLY | OFlags::DIRECTORY)?;
        let name = CString::new(name).ok()?;
        let kind = match rustix::fs::statat(&dir, name.as_c_str(), AtFlags::SYMLINK_NOFOLLOW) {
            Ok(stat) => match FileType::from_raw_mode(stat.st_mode) {
                FileType::Symlink => return None,
                kind => Some(kind),
            },
            Err(Errno::NOENT) => None,
            Err(_) => return None,
        };
        Some(Located {
            dir,
            name,
            kind,
            shown: place.shown.clone(),
        })
    }

    fn outside(&self, given: &str, why: &str) -> ToolError {
        ToolError::new(
            ErrorKind::OutsideRoot,
            format!(
                "Path is outside the root {}: {given} ({why})",
                self.shown.display()
            ),
        )
    }
}

fn trim_trailing_slashes(rel: &[u8]) -> &[u8] {
    let end = rel.iter().rposition(|&b| b != b'/').map_or(0, |at| at + 1);
    &rel[..end]
}

fn io_error(errno: Errno, path: &Path) -> ToolError {
    ToolError::from_io(&io::Error::from(errno), path)
}

fn changed_error(path: &Path) -> ToolError {
    ToolError::new(
        ErrorKind::Io,
        format!(
            "The path kept changing while it was resolved (a folder or symlink on the way was \
             replaced); try again: {}",
            path.display()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::symlink;

    /// Runs `check` with the walk forced and, where the kernel has it, with `openat2`.
    fn both_ways(check: impl Fn()) {
        static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _one_at_a_time = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
        for walk in [true, false] {
            let before = force_walk(walk);
            check();
            force_walk(before);
        }
    }

    fn setup() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("app");
        fs::create_dir_all(root.join("sub/deep")).unwrap();
        fs::create_dir_all(dir.path().join("app-evil")).unwrap();
        fs::write(root.join("sub/deep/a.txt"), "inside").unwrap();
        fs::write(dir.path().join("app-evil/secret"), "outside").unwrap();
        symlink("sub/deep", root.join("in")).unwrap();
        symlink(root.join("sub"), root.join("abs-in")).unwrap();
        symlink("../app-evil", root.join("out")).unwrap();
        symlink(dir.path().join("app-evil/secret"), root.join("abs-out")).unwrap();
        (dir, root)
    }

    fn read(root: &Root, path: &str) -> ToolResult<String> {
        let place = root.place(path)?;
        let fd = root.open_file(&place, OFlags::RDONLY)?;
        Ok(fs::read_to_string(format!(
            "/proc/self/fd/{}",
            std::os::fd::AsRawFd::as_raw_fd(&fd)
        ))
        .unwrap())
    }

    #[test]
    fn inside_paths_and_links_resolve_both_ways() {
        let (_dir, root_path) = setup();
        both_ways(|| {
            let root = Root::open(root_path.to_str().unwrap()).unwrap();
            for path in [
                "sub/deep/a.txt",
                "in/a.txt",
                "abs-in/deep/a.txt",
                "sub/../in/./a.txt",
            ] {
                assert_eq!(read(&root, path).unwrap(), "inside", "{path}");
            }
            let absolute = root_path.join("in/a.txt");
            assert_eq!(read(&root, absolute.to_str().unwrap()).unwrap(), "inside");
        });
    }

    #[test]
    fn every_escape_is_outside_root_both_ways() {
        let (dir, root_path) = setup();
        let sibling = dir.path().join("app-evil/secret");
        both_ways(|| {
            let root = Root::open(root_path.to_str().unwrap()).unwrap();
            for path in [
                "../app-evil/secret",
                "out/secret",
                "abs-out",
                "sub/../../app/../app-evil/secret",
                sibling.to_str().unwrap(),
            ] {
                let err = read(&root, path).unwrap_err();
                assert_eq!(err.kind, ErrorKind::OutsideRoot, "{path}: {err}");
            }
        });
    }

    #[test]
    fn locate_creates_missing_folders_beneath_and_refuses_links_out_as_last_component() {
        let (_dir, root_path) = setup();
        both_ways(|| {
            let root = Root::open(root_path.to_str().unwrap()).unwrap();
            let create = Locate {
                create: true,
                follow_last: false,
            };
            let found = root
                .locate(&root.place("new/a/../b/f.txt").unwrap(), create)
                .unwrap();
            assert_eq!(found.kind, None);
            assert!(root_path.join("new/b").is_dir() && !root_path.join("new/a").exists());
            fs::remove_dir_all(root_path.join("new")).unwrap();
            let err = root
                .locate(&root.place("abs-out").unwrap(), create)
                .unwrap_err();
            assert_eq!(err.kind, ErrorKind::OutsideRoot);
            let link = root.locate(&root.place("in").unwrap(), create).unwrap();
            assert_eq!(link.kind, Some(FileType::Symlink));
            let err = root
                .locate(&root.place("out/new/x").unwrap(), create)
                .unwrap_err();
            assert_eq!(err.kind, ErrorKind::OutsideRoot);
            assert!(!root_path.parent().unwrap().join("app-evil/new").exists());
        });
    }

    #[test]
    fn a_missing_root_or_a_file_root_is_refused() {
        let (_dir, root_path) = setup();
        let missing = root_path.join("nope");
        assert_eq!(
            Root::open(missing.to_str().unwrap()).unwrap_err().kind,
            ErrorKind::NotFound
        );
        let file = root_path.join("sub/deep/a.txt");
        assert_eq!(
            Root::open(file.to_str().unwrap()).unwrap_err().kind,
            ErrorKind::NotADirectory
        );
    }
}
