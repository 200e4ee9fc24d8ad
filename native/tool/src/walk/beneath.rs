//! The confined walk (`root=`, issue 19): how [`super`]'s walk starts from a folder opened
//! beneath a root, opens what a followed symlink or a deep folder names through the root, and
//! reads rule files through folder descriptors. Twin: the confined part of
//! `ironcode/twin/walk.py`.

use std::ffi::OsStr;
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustix::fs::{AtFlags, FileType, Mode, OFlags};
use rustix::io::Errno;

use super::ripgrep_ignore::{ByPath, RuleFiles};
use super::{Ancestor, DirWork, SearchTarget};
use crate::confine::{Place, Root};
use crate::error::{ToolError, ToolResult};
use crate::paths;

/// A walk confined to a root ([`crate::confine`]): it starts from a folder opened beneath the
/// root, opens every folder relative to its open parent without following a symlink, and
/// reaches what a symlink names (with `follow`) only through the root, so it never leaves it and
/// never lists a link that leads out. Rule files of the folders between the root and the walked
/// folder are read beneath the root too; those above the root, as without one.
#[derive(Debug, Clone)]
pub struct Beneath {
    pub root: Arc<Root>,
    /// The walked folder, opened beneath the root.
    pub(super) start: Arc<OwnedFd>,
    /// The walked folder's path below the root, as given.
    rel: PathBuf,
    /// Where the walked folder really is.
    pub(super) real: PathBuf,
}

impl Beneath {
    /// The walk of the folder `start`, opened beneath `root` at `place`.
    pub fn new(root: Arc<Root>, place: &Place, start: OwnedFd) -> Self {
        let link = format!("/proc/self/fd/{}", start.as_raw_fd());
        let real = std::fs::read_link(link).unwrap_or_else(|_| root.real().join(place.rel()));
        Beneath {
            root,
            start: Arc::new(start),
            rel: place.rel().to_path_buf(),
            real: paths::normalize(&real),
        }
    }

    /// The path below the root of what the walk found at `relative` (below the walked folder).
    fn below_root(&self, relative: &[u8]) -> PathBuf {
        self.rel.join(OsStr::from_bytes(relative))
    }

    /// Opens what a walked path names through the root (a followed symlink, a deep folder).
    pub(super) fn open(&self, relative: &[u8], flags: OFlags) -> io::Result<OwnedFd> {
        self.root.open_below_io(&self.below_root(relative), flags)
    }

    /// The rule files of a folder above the walked one: beneath the root when the folder is
    /// inside it, by path above it.
    pub(super) fn rule_files_of(&self, folder: &Path) -> Box<dyn RuleFiles> {
        match folder.strip_prefix(self.root.real()) {
            Ok(rel) => Box::new(RuleFilesBelow {
                root: self.root.clone(),
                rel: rel.to_path_buf(),
            }),
            Err(_) => Box::new(ByPath(folder.to_path_buf())),
        }
    }
}

/// The rule files of a folder reached through the root's resolver, by its path below the root.
struct RuleFilesBelow {
    root: Arc<Root>,
    rel: PathBuf,
}

impl RuleFiles for RuleFilesBelow {
    fn open(&self, name: &str) -> Option<File> {
        let fd = self
            .root
            .open_below_io(&self.rel.join(name), OFlags::RDONLY)
            .ok()?;
        Some(File::from(fd))
    }

    fn is_file(&self, name: &str) -> Option<bool> {
        let fd = self
            .root
            .open_below_io(&self.rel.join(name), OFlags::PATH)
            .ok()?;
        let stat = rustix::fs::fstat(&fd).ok()?;
        Some(FileType::from_raw_mode(stat.st_mode) == FileType::RegularFile)
    }
}

/// The rule files of a folder the walk has open, through its descriptor: names looked up in it
/// (following symlinks as the crate does), or beneath the root when confined (a symlink, or a
/// name with `/`, goes through the root's resolver).
pub(super) struct RuleFilesIn<'a> {
    pub(super) dir: BorrowedFd<'a>,
    /// The root, and the folder's path below the walked one.
    pub(super) beneath: Option<(&'a Beneath, &'a [u8])>,
}

impl RuleFilesIn<'_> {
    fn below(&self, name: &str) -> Option<(&Beneath, Vec<u8>)> {
        let (beneath, relative) = self.beneath?;
        let mut path = relative.to_vec();
        if !path.is_empty() {
            path.push(b'/');
        }
        path.extend_from_slice(name.as_bytes());
        Some((beneath, path))
    }
}

impl RuleFiles for RuleFilesIn<'_> {
    fn open(&self, name: &str) -> Option<File> {
        let flags = OFlags::RDONLY | OFlags::CLOEXEC;
        let opened = match self.below(name) {
            None => rustix::fs::openat(self.dir, name, flags, Mode::empty()),
            Some((beneath, path)) if name.contains('/') => {
                return beneath.open(&path, OFlags::RDONLY).ok().map(File::from);
            }
            Some((beneath, path)) => {
                match rustix::fs::openat(self.dir, name, flags | OFlags::NOFOLLOW, Mode::empty()) {
                    Err(Errno::LOOP) => {
                        return beneath.open(&path, OFlags::RDONLY).ok().map(File::from);
                    }
                    other => other,
                }
            }
        };
        opened.ok().map(File::from)
    }

    fn is_file(&self, name: &str) -> Option<bool> {
        let stat = match self.below(name) {
            None => rustix::fs::statat(self.dir, name, AtFlags::empty()).ok()?,
            Some((beneath, path)) => {
                let stat = rustix::fs::statat(self.dir, name, AtFlags::SYMLINK_NOFOLLOW).ok()?;
                if FileType::from_raw_mode(stat.st_mode) == FileType::Symlink {
                    rustix::fs::fstat(beneath.open(&path, OFlags::PATH).ok()?).ok()?
                } else {
                    stat
                }
            }
        };
        Some(FileType::from_raw_mode(stat.st_mode) == FileType::RegularFile)
    }
}

/// What `path` names beneath `root`, opened (a folder with the [`Beneath`] to walk it).
pub fn search_target_beneath(root: Arc<Root>, path: &str) -> ToolResult<SearchTarget> {
    let place = root.place(path)?;
    // Non-blocking, so a FIFO named by the path does not hang the open.
    let fd = root.open_file(&place, OFlags::RDONLY | OFlags::NONBLOCK)?;
    let stat = rustix::fs::fstat(&fd).map_err(|e| ToolError::from_io(&e.into(), &place.shown))?;
    Ok(match FileType::from_raw_mode(stat.st_mode) {
        FileType::Directory => {
            let beneath = Beneath::new(root.clone(), &place, fd);
            SearchTarget::Folder(place.shown, Some(beneath))
        }
        FileType::RegularFile => SearchTarget::File(place.shown, File::from(fd)),
        _ => SearchTarget::Other(place.shown),
    })
}

/// [`root_ancestors`] of a confined walk: the folders between the root and the walked one, found
/// beneath the root (a link to a folder above the root leads out of it and is never followed).
pub(super) fn root_ancestors_beneath(beneath: &Beneath) -> Option<Arc<Ancestor>> {
    let inside = beneath.real.strip_prefix(beneath.root.real()).ok()?;
    let mut chain = None;
    let mut rel = PathBuf::new();
    let mut folders = vec![PathBuf::new()];
    for part in inside.iter() {
        rel.push(part);
        folders.push(rel.clone());
    }
    folders.pop(); // the walked folder itself is added by the walk
    for folder in folders {
        let fd = beneath.root.open_below_io(&folder, OFlags::PATH).ok()?;
        let stat = rustix::fs::fstat(&fd).ok()?;
        chain = Some(Arc::new(Ancestor {
            id: (stat.st_dev, stat.st_ino),
            parent: chain,
        }));
    }
    chain
}

/// The path of a walked entry relative to the walked folder (empty for the folder itself).
pub(super) fn relative_bytes(path: &Path, root_len: usize) -> &[u8] {
    path.as_os_str()
        .as_bytes()
        .get(root_len..)
        .unwrap_or_default()
}

/// [`open_dir`] of a confined walk: by name in the open parent without following a symlink;
/// a followed symlink, or a folder too deep to have its parent open, through the root.
pub(super) fn open_dir_beneath(
    work: &DirWork,
    beneath: &Beneath,
    root_len: usize,
) -> io::Result<OwnedFd> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    match (&work.parent, work.path.file_name()) {
        (Some(parent), Some(name)) if !work.via_link => Ok(rustix::fs::openat(
            parent,
            name,
            flags | OFlags::NOFOLLOW,
            Mode::empty(),
        )?),
        _ => beneath.open(
            relative_bytes(&work.path, root_len),
            OFlags::RDONLY | OFlags::DIRECTORY,
        ),
    }
}
