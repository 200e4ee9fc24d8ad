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

use std::ffi::{CStr, CString, OsStr};
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
/// Components of the path argument carry this instead of the index of the symlink they came from.
const FROM_ARGUMENT: usize = usize::MAX;

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

/// One resolution by the walk: the folders entered below the root and what is left to resolve.
struct Walker<'r> {
    root: &'r Root,
    place: &'r Place,
    /// Folders entered below the root, innermost last, with their names (for messages).
    dirs: Vec<(OwnedFd, Vec<u8>)>,
    /// Components still to resolve, the next one last, each with the index in `links` of the
    /// symlink it came from ([`FROM_ARGUMENT`] for the argument's own).
    todo: Vec<(Vec<u8>, usize)>,
    /// Every symlink followed: where it is (as results spell it) and what it says.
    links: Vec<(PathBuf, Vec<u8>)>,
    changes: usize,
    /// The last component came from a symlink that was itself the last component.
    final_via_link: bool,
}

impl<'r> Walker<'r> {
    fn new(root: &'r Root, place: &'r Place) -> Self {
        let mut walker = Walker {
            root,
            place,
            dirs: Vec::new(),
            todo: Vec::new(),
            links: Vec::new(),
            changes: 0,
            final_via_link: false,
        };
        walker.push_path(&place.rel, FROM_ARGUMENT);
        walker
    }

    /// Queues the components of `path` (a relative path or a link's target) to resolve next.
    fn push_path(&mut self, path: &[u8], origin: usize) {
        let parts: Vec<&[u8]> = path
            .split(|&b| b == b'/')
            .filter(|p| !p.is_empty())
            .collect();
        self.todo
            .extend(parts.into_iter().rev().map(|p| (p.to_vec(), origin)));
    }

    fn top(&self) -> BorrowedFd<'_> {
        self.dirs
            .last()
            .map_or(self.root.fd.as_fd(), |(fd, _)| fd.as_fd())
    }

    /// Where the walk is, as results spell it.
    fn here(&self) -> PathBuf {
        let mut path = self.root.shown.clone();
        for (_, name) in &self.dirs {
            path.push(OsStr::from_bytes(name));
        }
        path
    }

    fn run(&mut self, want: Want) -> Walked<Reached> {
        loop {
            let Some((name, origin)) = self.todo.pop() else {
                return self.reached_folder(want);
            };
            if name == b"." {
                continue;
            }
            if name == b".." {
                if self.dirs.pop().is_none() {
                    return Err(Failure::Tool(self.climbs_out(origin)));
                }
                continue;
            }
            let last = self.todo.is_empty();
            let Ok(cname) = CString::new(name) else {
                return Err(Failure::Tool(ToolError::invalid_argument(
                    "path contains a NUL byte",
                )));
            };
            let done = match (last, want) {
                (false, Want::Open(_)) => self.enter(cname, origin, false)?,
                (false, Want::Locate(how)) => self.enter(cname, origin, how.create)?,
                (true, Want::Open(flags)) => self.open_last(cname, origin, flags)?,
                (true, Want::Locate(how)) => self.locate_last(cname, origin, how)?,
            };
            if let Some(reached) = done {
                return Ok(reached);
            }
        }
    }

    /// The path ended at a folder (`.`, `..`, the root, a link to a folder).
    fn reached_folder(&mut self, want: Want) -> Walked<Reached> {
        match want {
            Want::Open(flags) => {
                let flags = flags | OFlags::CLOEXEC;
                rustix::fs::openat(self.top(), ".", flags, Mode::empty())
                    .map(Reached::Opened)
                    .map_err(|e| Failure::os(e, &self.place.shown))
            }
            Want::Locate(_) => Ok(Reached::Located(Located {
                dir: self.top_copy()?,
                name: c".".to_owned(),
                kind: Some(FileType::Directory),
                shown: self.place.shown.clone(),
            })),
        }
    }

    /// A folder on the way: entered without following a symlink (a symlink is followed by
    /// reading it); a missing one is created when asked.
    fn enter(&mut self, name: CString, origin: usize, create: bool) -> Walked<Option<Reached>> {
        let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        match rustix::fs::openat(self.top(), name.as_c_str(), flags, Mode::empty()) {
            Ok(fd) => self.dirs.push((fd, name.into_bytes())),
            Err(Errno::NOENT) if create => {
                if !self.skip_balanced() {
                    match rustix::fs::mkdirat(
                        self.top(),
                        name.as_c_str(),
                        Mode::from_raw_mode(NEW_FOLDER_MODE),
                    ) {
                        Ok(()) | Err(Errno::EXIST) => {}
                        Err(e) => {
                            return Err(Failure::os(
                                e,
                                &self.here().join(OsStr::from_bytes(name.as_bytes())),
                            ));
                        }
                    }
                    self.todo.push((name.into_bytes(), origin)); // entered at the next step
                }
            }
            Err(Errno::NOTDIR) => match self.classify(&name) {
                Some(FileType::Symlink) => self.follow(&name, origin, false)?,
                Some(FileType::Directory) | None => self.changed(name, origin)?,
                Some(_) => {
                    return Err(Failure::os(Errno::NOTDIR, &self.place.shown));
                }
            },
            Err(e) => return Err(Failure::os(e, &self.place.shown)),
        }
        Ok(None)
    }

    /// A missing folder followed by a `..` that returns from it needs no creating (today's
    /// unconfined write folds such a path lexically): drops both and says so.
    fn skip_balanced(&mut self) -> bool {
        let mut depth = 1usize;
        for at in (0..self.todo.len()).rev() {
            match self.todo[at].0.as_slice() {
                b"." => {}
                b".." => {
                    depth -= 1;
                    if depth == 0 {
                        self.todo.truncate(at);
                        return true;
                    }
                }
                _ => depth += 1,
            }
        }
        false
    }

    /// The last component, opened with the caller's flags; a symlink is followed.
    fn open_last(
        &mut self,
        name: CString,
        origin: usize,
        flags: OFlags,
    ) -> Walked<Option<Reached>> {
        let open_flags = flags | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        match rustix::fs::openat(self.top(), name.as_c_str(), open_flags, Mode::empty()) {
            // With O_PATH, O_NOFOLLOW opens a symlink itself instead of failing: follow it.
            Ok(fd) if flags.contains(OFlags::PATH) && is_symlink(&fd) => {
                self.follow(&name, origin, true)?
            }
            Ok(fd) => return Ok(Some(Reached::Opened(fd))),
            Err(e @ (Errno::LOOP | Errno::NOTDIR)) => match self.classify(&name) {
                Some(FileType::Symlink) => self.follow(&name, origin, true)?,
                Some(kind) if e == Errno::NOTDIR && kind != FileType::Directory => {
                    return Err(Failure::os(Errno::NOTDIR, &self.place.shown));
                }
                _ => self.changed(name, origin)?,
            },
            Err(e) => return Err(Failure::os(e, &self.final_shown(&name))),
        }
        Ok(None)
    }

    /// The last component, looked at without opening it.
    fn locate_last(
        &mut self,
        name: CString,
        origin: usize,
        how: Locate,
    ) -> Walked<Option<Reached>> {
        let kind = match rustix::fs::statat(self.top(), name.as_c_str(), AtFlags::SYMLINK_NOFOLLOW)
        {
            Ok(stat) => Some(FileType::from_raw_mode(stat.st_mode)),
            Err(Errno::NOENT) => None,
            Err(e) => return Err(Failure::os(e, &self.place.shown)),
        };
        if kind == Some(FileType::Symlink) {
            if how.follow_last {
                self.follow(&name, origin, true)?;
                return Ok(None);
            }
            return self.locate_link(name, origin).map(Some);
        }
        let shown = self.final_shown(&name);
        Ok(Some(Reached::Located(Located {
            dir: self.top_copy()?,
            name,
            kind,
            shown,
        })))
    }

    /// A symlink as last component that the operation acts on itself: located if where it
    /// leads stays inside the root (whether or not that exists), `outside_root` otherwise.
    fn locate_link(&mut self, name: CString, origin: usize) -> Walked<Reached> {
        let dir = self.top_copy()?;
        let shown = self.final_shown(&name);
        self.follow(&name, origin, true)?;
        let check = Locate {
            create: false,
            follow_last: true,
        };
        match self.run(Want::Locate(check)) {
            Err(Failure::Tool(e)) if e.kind == ErrorKind::OutsideRoot => Err(Failure::Tool(e)),
            _ => Ok(Reached::Located(Located {
                dir,
                name,
                kind: Some(FileType::Symlink),
                shown,
            })),
        }
    }

    /// How results spell the last component: the argument's spelling, unless a last symlink
    /// was followed to reach it (then where it led).
    fn final_shown(&self, name: &CStr) -> PathBuf {
        if self.final_via_link {
            self.here().join(OsStr::from_bytes(name.to_bytes()))
        } else {
            self.place.shown.clone()
        }
    }

    /// What `name` in the current folder is now, without following it; None when it is gone.
    fn classify(&self, name: &CStr) -> Option<FileType> {
        rustix::fs::statat(self.top(), name, AtFlags::SYMLINK_NOFOLLOW)
            .ok()
            .map(|stat| FileType::from_raw_mode(stat.st_mode))
    }

    /// Reads the symlink `name` of the current folder and queues its target in its place.
    fn follow(&mut self, name: &CStr, origin: usize, last: bool) -> Walked<()> {
        if self.links.len() >= MAX_SYMLINKS {
            return Err(Failure::os(Errno::LOOP, &self.place.shown));
        }
        let target = match rustix::fs::readlinkat(self.top(), name, Vec::new()) {
            Ok(target) => target.into_bytes(),
            // No longer a symlink: look at it again.
            Err(Errno::INVAL | Errno::NOENT) => return self.changed(name.to_owned(), origin),
            Err(e) => return Err(Failure::os(e, &self.place.shown)),
        };
        let at = self.here().join(OsStr::from_bytes(name.to_bytes()));
        self.links.push((at, target.clone()));
        let index = self.links.len() - 1;
        if last {
            self.final_via_link = true;
        }
        if target.starts_with(b"/") {
            match self.root.strip_root(Path::new(OsStr::from_bytes(&target))) {
                Some(rest) => {
                    self.dirs.clear();
                    self.push_path(&rest, index);
                }
                None => return Err(Failure::Tool(self.link_out(index))),
            }
        } else {
            self.push_path(&target, index);
        }
        Ok(())
    }

    /// A component changed between two steps (a folder swapped for a symlink, or back): it is
    /// looked at again, a bounded number of times.
    fn changed(&mut self, name: CString, origin: usize) -> Walked<()> {
        self.changes += 1;
        if self.changes > MAX_CHANGES {
            return Err(Failure::Tool(changed_error(&self.place.shown)));
        }
        self.todo.push((name.into_bytes(), origin));
        Ok(())
    }

    /// A readable descriptor of the current folder that outlives the walk.
    fn top_copy(&self) -> Walked<OwnedFd> {
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        rustix::fs::openat(self.top(), ".", flags, Mode::empty())
            .or_else(|_| rustix::io::fcntl_dupfd_cloexec(self.top(), 0))
            .map_err(|e| Failure::os(e, &self.here()))
    }

    fn climbs_out(&self, origin: usize) -> ToolError {
        if origin == FROM_ARGUMENT {
            self.root
                .outside(&self.place.given, "`..` climbs above the root")
        } else {
            self.link_out(origin)
        }
    }

    fn link_out(&self, index: usize) -> ToolError {
        let (at, target) = &self.links[index];
        let why = format!(
            "the symlink {} points to {}, outside the root",
            at.display(),
            String::from_utf8_lossy(target)
        );
        self.root.outside(&self.place.given, &why)
    }
}

/// Why a walk stopped: a system call's error on a path (kept as the errno, so a walk of many
/// folders can tell running out of descriptors from an unreadable folder), or a refusal.
#[derive(Debug)]
enum Failure {
    Os(Errno, PathBuf),
    Tool(ToolError),
}

type Walked<T> = Result<T, Failure>;

impl Failure {
    fn os(errno: Errno, path: &Path) -> Self {
        Failure::Os(errno, path.to_path_buf())
    }

    fn into_io(self) -> io::Error {
        match self {
            Failure::Os(errno, _) => errno.into(),
            Failure::Tool(error) => io::Error::other(error.message),
        }
    }
}

impl From<Failure> for ToolError {
    fn from(failure: Failure) -> Self {
        match failure {
            Failure::Os(errno, path) => io_error(errno, &path),
            Failure::Tool(error) => error,
        }
    }
}

fn is_symlink(fd: &OwnedFd) -> bool {
    rustix::fs::fstat(fd)
        .is_ok_and(|stat| FileType::from_raw_mode(stat.st_mode) == FileType::Symlink)
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
