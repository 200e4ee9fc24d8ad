//! `write`: whole-file writes that are atomic. Every tool that changes a file (write, edit_file,
//! extract) goes through [`write_atomic`], so a crash leaves the old content or the new, never a
//! truncated mix.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

use crate::error::{ErrorKind, IoResultExt, ToolError, ToolResult};
use crate::paths;

/// Permission bits of a file that did not exist before (before the umask).
pub const NEW_FILE_MODE: u32 = 0o666;

/// The answer of [`write`].
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct WriteResult {
    pub path: String,
    pub bytes: usize,
    pub created: bool,
}

/// Writes `content` to `path` atomically, creating missing parent directories.
///
/// A symlink is written through (its target changes, the link stays). Errors: `is_directory`,
/// `permission_denied`, `not_a_directory`, `io` (e.g. disk full), with the original intact.
pub fn write(path: &str, content: &[u8]) -> ToolResult<WriteResult> {
    let abs = paths::absolute(path)?;
    let target = resolve_symlink(&abs)?;
    if target.is_dir() {
        return Err(ToolError::new(
            ErrorKind::IsDirectory,
            format!("Path is a directory, not a file: {}", abs.display()),
        ));
    }
    let created = !target.exists();
    if let Some(parent) = target.parent() {
        create_parents(parent)?;
    }
    write_atomic(&target, content)?;
    Ok(WriteResult {
        path: paths::display(&abs),
        bytes: content.len(),
        created,
    })
}

/// Creates `dir` and its missing parents; an ancestor that is a file is `not_a_directory`.
pub fn create_parents(dir: &Path) -> ToolResult<()> {
    if let Some(blocker) = dir.ancestors().find(|a| a.exists())
        && !blocker.is_dir()
    {
        return Err(ToolError::new(
            ErrorKind::NotADirectory,
            format!(
                "Cannot create folder {}: {} is a file",
                dir.display(),
                blocker.display()
            ),
        ));
    }
    fs::create_dir_all(dir).at(dir)
}

/// Follows a chain of symlinks at `path` to the file it names (which may not exist yet).
fn resolve_symlink(path: &Path) -> ToolResult<PathBuf> {
    let mut current = path.to_path_buf();
    for _ in 0..40 {
        match fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let link = fs::read_link(&current).at(&current)?;
                let base = current.parent().unwrap_or(Path::new("/"));
                current = paths::normalize(&base.join(link));
            }
            _ => return Ok(current),
        }
    }
    Err(ToolError::new(
        ErrorKind::Io,
        format!("Too many levels of symbolic links: {}", path.display()),
    ))
}

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Writes `content` to a temporary file beside `target`, fsyncs it, gives it the original
/// file's permission bits, renames it over `target` and fsyncs the directory.
pub fn write_atomic(target: &Path, content: &[u8]) -> ToolResult<()> {
    let dir = target.parent().unwrap_or(Path::new("/"));
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mode = fs::metadata(target)
        .map(|m| m.permissions().mode() & 0o7777)
        .ok();
    let (temp_path, mut file) = create_temp(dir, &name)?;
    let result = (|| {
        file.write_all(content).at(target)?;
        if let Some(mode) = mode {
            file.set_permissions(fs::Permissions::from_mode(mode))
                .at(target)?;
        }
        file.sync_all().at(target)?;
        drop(file);
        fs::rename(&temp_path, target).at(target)?;
        // Make the rename itself durable; a failure here cannot undo it, so it is not an error.
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp_path);
    }
    result
}

fn create_temp(dir: &Path, name: &str) -> ToolResult<(PathBuf, File)> {
    let pid = std::process::id();
    loop {
        let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let temp = dir.join(format!(".{name}.ironcode-{pid}-{n}-{nanos:x}.tmp"));
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(NEW_FILE_MODE)
            .open(&temp)
        {
            Ok(file) => return Ok((temp, file)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(ToolError::from_io(&e, dir)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_keeps_permission_bits_and_reports_creation() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a/b/c.txt");
        let first = write(file.to_str().unwrap(), b"one").unwrap();
        assert!(first.created);
        fs::set_permissions(&file, fs::Permissions::from_mode(0o751)).unwrap();
        let second = write(file.to_str().unwrap(), b"two\0three").unwrap();
        assert!(!second.created);
        assert_eq!(fs::read(&file).unwrap(), b"two\0three");
        assert_eq!(
            fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o751
        );
    }

    #[test]
    fn write_through_symlink_keeps_the_link() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.txt");
        let link = dir.path().join("link.txt");
        fs::write(&real, "old").unwrap();
        std::os::unix::fs::symlink(&real, &link).unwrap();
        write(link.to_str().unwrap(), b"new").unwrap();
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read(&real).unwrap(), b"new");
    }
}
