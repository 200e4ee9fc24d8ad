//! apply_patch's filesystem accesses beneath a root (`root=`, issue 19): the twins of the by-name
//! functions of [`super::disk`], each resolving its path with [`crate::confine`] and acting on
//! the folder descriptor it finds (a symlink as last component, which a Delete removes and an Add
//! replaces, must stay inside the root too). Twin: `ironcode/twin/patch_beneath.py`.

use std::ffi::OsString;
use std::fs::File;
use std::io::Read;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, FileType, Mode, OFlags};

use super::disk::{Kind, Snapshot};
use crate::confine::{Locate, Located, Root};
use crate::error::{ErrorKind, IoResultExt, ToolError, ToolResult};
use crate::paths;
use crate::write::write_atomic_located;

const AS_IT_IS: Locate = Locate {
    create: false,
    follow_last: false,
};
const FOLLOWED: Locate = Locate {
    create: false,
    follow_last: true,
};

fn os_error(e: rustix::io::Errno, path: &Path) -> ToolError {
    ToolError::from_io(&e.into(), path)
}

/// A missing path or one through a file reads as missing, as [`super::disk::kind_of`] has it.
fn is_missing(e: &ToolError) -> bool {
    matches!(e.kind, ErrorKind::NotFound | ErrorKind::NotADirectory)
}

fn locate(root: &Root, path: &Path, how: Locate) -> ToolResult<Located> {
    root.locate(&root.place(&paths::display(path))?, how)
}

/// [`super::disk::working_folder`] beneath `root`: `cwd` taken from the root.
pub fn working_folder_beneath(root: &Root, cwd: &str) -> ToolResult<PathBuf> {
    let place = root.place(cwd)?;
    let kind = match root.open_file(&place, OFlags::PATH) {
        Ok(fd) => rustix::fs::fstat(&fd)
            .map(|s| FileType::from_raw_mode(s.st_mode))
            .ok(),
        Err(e) if is_missing(&e) => None,
        Err(e) => return Err(e),
    };
    match kind {
        Some(FileType::Directory) => Ok(place.shown),
        None => Err(ToolError::new(
            ErrorKind::NotFound,
            format!(
                "The working folder does not exist: {}",
                place.shown.display()
            ),
        )),
        Some(_) => Err(ToolError::new(
            ErrorKind::NotADirectory,
            format!("The working folder is a file: {}", place.shown.display()),
        )),
    }
}

/// [`super::disk::kind_of`] beneath `root` (following symlinks that stay inside).
pub fn kind_of_beneath(root: &Root, path: &Path) -> ToolResult<Kind> {
    let place = root.place(&paths::display(path))?;
    match root.open_file(&place, OFlags::PATH) {
        Ok(fd) => {
            let stat = rustix::fs::fstat(&fd).map_err(|e| os_error(e, path))?;
            Ok(match FileType::from_raw_mode(stat.st_mode) {
                FileType::Directory => Kind::Directory,
                _ => Kind::File,
            })
        }
        Err(e) if is_missing(&e) => Ok(Kind::Missing),
        Err(e) => Err(e),
    }
}

/// [`super::disk::inspect`] beneath `root`: a symlink in the path's place must stay inside the
/// root, dangling or not (it is what a Delete removes).
pub fn inspect_beneath(root: &Root, path: &Path) -> ToolResult<Snapshot> {
    let at = match locate(root, path, AS_IT_IS) {
        Ok(at) => at,
        Err(e) if is_missing(&e) => return Ok(Snapshot::Missing),
        Err(e) => return Err(e),
    };
    let link = match at.kind {
        None => return Ok(Snapshot::Missing),
        Some(FileType::Directory) => return Ok(Snapshot::Directory),
        Some(FileType::Symlink) => {
            let text = rustix::fs::readlinkat(&at.dir, at.name.as_c_str(), Vec::new())
                .map_err(|e| os_error(e, path))?;
            Some(PathBuf::from(OsString::from_vec(text.into_bytes())))
        }
        Some(_) => None,
    };
    // Non-blocking: a FIFO in the path's place must not hang the open.
    let flags = OFlags::RDONLY | OFlags::NONBLOCK;
    let opened = match link {
        None => at.open(flags),
        Some(_) => root.open_file(&root.place(&paths::display(path))?, flags),
    };
    let fd = match opened {
        Ok(fd) => fd,
        Err(e) if is_missing(&e) => return Ok(Snapshot::Missing), // a dangling link inside
        Err(e) => return Err(e),
    };
    let stat = rustix::fs::fstat(&fd).map_err(|e| os_error(e, path))?;
    match FileType::from_raw_mode(stat.st_mode) {
        FileType::Directory => return Ok(Snapshot::Directory),
        FileType::RegularFile => {}
        _ => {
            return Err(ToolError::new(
                ErrorKind::Io,
                format!(
                    "Not a regular file, so it is not patched: {}",
                    path.display()
                ),
            ));
        }
    }
    let mut bytes = Vec::new();
    File::from(fd).read_to_end(&mut bytes).at(path)?;
    Ok(Snapshot::File {
        bytes,
        mode: stat.st_mode & 0o7777,
        link,
    })
}

/// [`super::disk::make_parents`] beneath `root`: the missing folders above `path` (deepest
/// first), created beneath the root.
pub fn make_parents_beneath(root: &Root, path: &Path) -> ToolResult<Vec<PathBuf>> {
    let Some(parent) = path.parent() else {
        return Ok(Vec::new());
    };
    let mut missing = Vec::new();
    for dir in parent.ancestors() {
        match locate(root, dir, AS_IT_IS) {
            Ok(at) if at.kind.is_none() => missing.push(dir.to_path_buf()),
            Ok(_) => break,
            Err(e) if e.kind == ErrorKind::NotFound => missing.push(dir.to_path_buf()),
            Err(e) => return Err(e),
        }
    }
    if !missing.is_empty() {
        let how = Locate {
            create: true,
            follow_last: false,
        };
        locate(root, path, how)?;
    }
    Ok(missing)
}

/// [`super::disk::remove_folders`] beneath `root` (best effort, empty folders only).
pub fn remove_folders_beneath(root: &Root, created: &[PathBuf]) {
    for dir in created {
        if let Ok(at) = locate(root, dir, AS_IT_IS)
            && at.kind == Some(FileType::Directory)
        {
            let _ = rustix::fs::unlinkat(&at.dir, at.name.as_c_str(), AtFlags::REMOVEDIR);
        }
    }
}

/// [`super::disk::write_file`] beneath `root`: through a symlink inside (the link stays).
pub fn write_file_beneath(root: &Root, path: &Path, bytes: &[u8]) -> ToolResult<()> {
    let how = Locate {
        create: true,
        follow_last: true,
    };
    let target = locate(root, path, how)?;
    if target.kind == Some(FileType::Directory) {
        return Err(ToolError::new(
            ErrorKind::IsDirectory,
            format!("Path is a directory, not a file: {}", path.display()),
        ));
    }
    write_atomic_located(&target, bytes)
}

/// [`super::disk::remove_file`] beneath `root`: the file, or the symlink itself.
pub fn remove_file_beneath(root: &Root, path: &Path) -> ToolResult<()> {
    let at = locate(root, path, AS_IT_IS)?;
    if at.kind.is_none() {
        return Err(ToolError::from_io(
            &std::io::ErrorKind::NotFound.into(),
            path,
        ));
    }
    rustix::fs::unlinkat(&at.dir, at.name.as_c_str(), AtFlags::empty())
        .map_err(|e| os_error(e, path))
}

/// [`super::disk::restore`] beneath `root`.
pub fn restore_beneath(root: &Root, path: &Path, original: &Snapshot) -> ToolResult<()> {
    match original {
        Snapshot::Missing => match remove_file_beneath(root, path) {
            Err(e) if !is_missing(&e) => Err(e),
            _ => Ok(()),
        },
        Snapshot::Directory => Ok(()),
        Snapshot::File { bytes, mode, link } => {
            let at = locate(root, path, AS_IT_IS)?;
            if let (Some(link), None) = (link, at.kind) {
                return rustix::fs::symlinkat(link.as_path(), &at.dir, at.name.as_c_str())
                    .map_err(|e| os_error(e, path));
            }
            write_file_beneath(root, path, bytes)?;
            let target = locate(root, path, FOLLOWED)?;
            let fd = target.open(OFlags::RDONLY | OFlags::NONBLOCK)?;
            rustix::fs::fchmod(&fd, Mode::from_raw_mode(*mode)).map_err(|e| os_error(e, path))
        }
    }
}
