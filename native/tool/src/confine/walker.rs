//! The component walk of [`super`]: one component at a time from the descriptor of the folder
//! reached so far, never following a symlink by name (it is read and its target walked), `..`
//! back to the folder the walk came from. `openat2` answers the common case; this decides the
//! rest, and every case on a kernel without it. Twin: `_Walker` in `ironcode/twin/confine.py`.

use std::ffi::{CStr, CString, OsStr};
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, FileType, Mode, OFlags};
use rustix::io::Errno;

use super::{
    Locate, Located, MAX_CHANGES, MAX_SYMLINKS, NEW_FOLDER_MODE, Place, Reached, Root, Want,
    changed_error, io_error,
};
use crate::error::{ErrorKind, ToolError};

/// Components of the path argument carry this instead of the index of the symlink they came from.
const FROM_ARGUMENT: usize = usize::MAX;

/// One resolution by the walk: the folders entered below the root and what is left to resolve.
pub(super) struct Walker<'r> {
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
    pub(super) fn new(root: &'r Root, place: &'r Place) -> Self {
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

    pub(super) fn run(&mut self, want: Want) -> Walked<Reached> {
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
pub(super) enum Failure {
    Os(Errno, PathBuf),
    Tool(ToolError),
}

pub(super) type Walked<T> = Result<T, Failure>;

impl Failure {
    fn os(errno: Errno, path: &Path) -> Self {
        Failure::Os(errno, path.to_path_buf())
    }

    pub(super) fn into_io(self) -> io::Error {
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
