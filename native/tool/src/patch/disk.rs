//! Every filesystem access of apply_patch, in one place: looking at a target, creating parent
//! folders, writing atomically, removing, and putting things back. Confinement (`root=`) routes
//! these few functions through descriptors beneath the root: [`Disk`] picks the by-name function
//! here or its twin in [`super::beneath`]. Twin: `ironcode/twin/patch_disk.py`.

use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::beneath;
use crate::confine::Root;
use crate::error::{ErrorKind, IoResultExt, ToolError, ToolResult};
use crate::paths;
use crate::write::{create_parents, resolve_symlink, write_atomic};

/// What a path held before the patch touched it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Snapshot {
    Missing,
    Directory,
    File {
        bytes: Vec<u8>,
        /// Permission bits, to put back a removed file as it was.
        mode: u32,
        /// The link's own text when the path is a symlink (a Delete removes the link).
        link: Option<PathBuf>,
    },
}

/// What is at a path, without reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Missing,
    Directory,
    File,
}

/// Where a patch's files are reached: by name, or beneath a root (issue 19).
#[derive(Debug, Default)]
pub struct Disk {
    root: Option<Root>,
}

impl Disk {
    /// By name without `root`; with it, every path resolved beneath the root's descriptor.
    pub fn new(root: Option<&str>) -> ToolResult<Self> {
        Ok(Disk {
            root: root.map(Root::open).transpose()?,
        })
    }

    /// The root the patch is confined to, if any.
    pub fn root(&self) -> Option<&Root> {
        self.root.as_ref()
    }

    pub fn working_folder(&self, cwd: &str) -> ToolResult<PathBuf> {
        match &self.root {
            None => working_folder(cwd),
            Some(root) => beneath::working_folder_beneath(root, cwd),
        }
    }

    pub fn kind_of(&self, path: &Path) -> ToolResult<Kind> {
        match &self.root {
            None => kind_of(path),
            Some(root) => beneath::kind_of_beneath(root, path),
        }
    }

    pub fn inspect(&self, path: &Path) -> ToolResult<Snapshot> {
        match &self.root {
            None => inspect(path),
            Some(root) => beneath::inspect_beneath(root, path),
        }
    }

    fn make_parents(&self, path: &Path) -> ToolResult<Vec<PathBuf>> {
        match &self.root {
            None => make_parents(path),
            Some(root) => beneath::make_parents_beneath(root, path),
        }
    }

    fn write_file(&self, path: &Path, bytes: &[u8]) -> ToolResult<()> {
        match &self.root {
            None => write_file(path, bytes),
            Some(root) => beneath::write_file_beneath(root, path, bytes),
        }
    }

    fn remove_file(&self, path: &Path) -> ToolResult<()> {
        match &self.root {
            None => remove_file(path),
            Some(root) => beneath::remove_file_beneath(root, path),
        }
    }

    fn restore(&self, path: &Path, original: &Snapshot) -> ToolResult<()> {
        match &self.root {
            None => restore(path, original),
            Some(root) => beneath::restore_beneath(root, path, original),
        }
    }

    fn remove_folders(&self, created: &[PathBuf]) {
        match &self.root {
            None => remove_folders(created),
            Some(root) => beneath::remove_folders_beneath(root, created),
        }
    }
}

/// The folder relative patch paths are taken from: absolute, and an existing folder.
///
/// Errors: `not_found`, `not_a_directory`, `invalid_argument`.
pub fn working_folder(cwd: &str) -> ToolResult<PathBuf> {
    let abs = paths::absolute(cwd)?;
    match kind_of(&abs)? {
        Kind::Directory => Ok(abs),
        Kind::Missing => Err(ToolError::new(
            ErrorKind::NotFound,
            format!("The working folder does not exist: {}", abs.display()),
        )),
        Kind::File => Err(ToolError::new(
            ErrorKind::NotADirectory,
            format!("The working folder is a file: {}", abs.display()),
        )),
    }
}

/// What is at `path` (following symlinks; a dangling one is missing).
pub fn kind_of(path: &Path) -> ToolResult<Kind> {
    match fs::metadata(path) {
        Ok(meta) if meta.is_dir() => Ok(Kind::Directory),
        Ok(_) => Ok(Kind::File),
        Err(e) if is_missing(&e) => Ok(Kind::Missing),
        Err(e) => Err(ToolError::from_io(&e, path)),
    }
}

fn is_missing(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
    )
}

/// Reads what `path` holds now: a file's bytes (through a symlink), or that it is a folder or
/// missing. A special file (FIFO, device) is refused rather than read.
pub fn inspect(path: &Path) -> ToolResult<Snapshot> {
    let meta = match fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if is_missing(&e) => return Ok(Snapshot::Missing),
        Err(e) => return Err(ToolError::from_io(&e, path)),
    };
    if meta.is_dir() {
        return Ok(Snapshot::Directory);
    }
    if !meta.is_file() {
        return Err(ToolError::new(
            ErrorKind::Io,
            format!(
                "Not a regular file, so it is not patched: {}",
                path.display()
            ),
        ));
    }
    let link = match fs::symlink_metadata(path) {
        Ok(own) if own.file_type().is_symlink() => Some(fs::read_link(path).at(path)?),
        _ => None,
    };
    Ok(Snapshot::File {
        bytes: fs::read(path).at(path)?,
        mode: meta.permissions().mode() & 0o7777,
        link,
    })
}

/// Creates the missing folders above `path`; returns those it created, deepest first.
pub fn make_parents(path: &Path) -> ToolResult<Vec<PathBuf>> {
    let Some(parent) = path.parent() else {
        return Ok(Vec::new());
    };
    let missing: Vec<PathBuf> = parent
        .ancestors()
        .take_while(|dir| matches!(fs::symlink_metadata(dir), Err(e) if e.kind() == io::ErrorKind::NotFound))
        .map(Path::to_path_buf)
        .collect();
    if !missing.is_empty() {
        create_parents(parent)?;
    }
    Ok(missing)
}

/// Removes folders [`make_parents`] created, if they are empty again (best effort).
pub fn remove_folders(created: &[PathBuf]) {
    for dir in created {
        let _ = fs::remove_dir(dir);
    }
}

/// Writes `bytes` to `path` atomically, through a symlink (the link stays).
pub fn write_file(path: &Path, bytes: &[u8]) -> ToolResult<()> {
    write_atomic(&resolve_symlink(path)?, bytes)
}

/// Removes the file (or the symlink itself) at `path`.
pub fn remove_file(path: &Path) -> ToolResult<()> {
    fs::remove_file(path).at(path)
}

/// Puts `path` back as `original` says it was.
pub fn restore(path: &Path, original: &Snapshot) -> ToolResult<()> {
    match original {
        Snapshot::Missing => match fs::remove_file(path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(ToolError::from_io(&e, path)),
            _ => Ok(()),
        },
        Snapshot::Directory => Ok(()),
        Snapshot::File { bytes, mode, link } => {
            let present = fs::symlink_metadata(path).is_ok();
            if let (Some(link), false) = (link, present) {
                return std::os::unix::fs::symlink(link, path).at(path);
            }
            write_file(path, bytes)?;
            let target = resolve_symlink(path)?;
            fs::set_permissions(&target, fs::Permissions::from_mode(*mode)).at(&target)
        }
    }
}

/// One path's change: what it held and what it is to hold (`None`: removed).
#[derive(Debug)]
pub struct Change<'a> {
    pub path: &'a Path,
    pub original: &'a Snapshot,
    pub new: Option<&'a [u8]>,
}

/// Makes every change, in order; if one fails, puts back those already made and says so.
///
/// Errors: the failing write's own kind when nothing had been changed yet, else `io` saying
/// whether the files already changed were restored.
pub fn commit(disk: &Disk, changes: &[Change<'_>]) -> ToolResult<()> {
    let mut done: Vec<(usize, Vec<PathBuf>)> = Vec::new();
    for (i, change) in changes.iter().enumerate() {
        let outcome = match (change.original, change.new) {
            (Snapshot::File { bytes, .. }, Some(new)) if bytes.as_slice() == new => continue,
            (Snapshot::Missing, None) => continue,
            (_, Some(new)) => disk.make_parents(change.path).and_then(|created| {
                match disk.write_file(change.path, new) {
                    Ok(()) => Ok(created),
                    Err(e) => {
                        disk.remove_folders(&created);
                        Err(e)
                    }
                }
            }),
            (_, None) => disk.remove_file(change.path).map(|()| Vec::new()),
        };
        match outcome {
            Ok(created) => done.push((i, created)),
            Err(e) => return Err(failed_part_way(disk, e, changes, &done)),
        }
    }
    Ok(())
}

/// Rolls back `done` (newest first) and builds the error for the failure `e`.
fn failed_part_way(
    disk: &Disk,
    e: ToolError,
    changes: &[Change<'_>],
    done: &[(usize, Vec<PathBuf>)],
) -> ToolError {
    if done.is_empty() {
        return ToolError::new(
            e.kind,
            format!(
                "{} Nothing was changed: the patch was not applied.",
                e.message
            ),
        );
    }
    let mut unrestored = Vec::new();
    for (i, created) in done.iter().rev() {
        let change = &changes[*i];
        if let Err(problem) = disk.restore(change.path, change.original) {
            unrestored.push(problem.message);
        }
        disk.remove_folders(created);
    }
    let message = if unrestored.is_empty() {
        format!(
            "{} The patch was not applied: the {} file(s) it had already changed were restored.",
            e.message,
            done.len()
        )
    } else {
        format!(
            "{} The patch was not applied, and restoring the files it had already changed \
             failed: {}. Check those files.",
            e.message,
            unrestored.join("; ")
        )
    };
    ToolError::new(ErrorKind::Io, message)
}
