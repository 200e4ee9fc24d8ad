//! `write`: whole-file writes that are atomic. Every tool that changes a file (write, edit_file,
//! extract) goes through [`write_atomic`], so a crash leaves the old content or the new, never a
//! truncated mix.

use std::collections::HashMap;
use std::ffi::{CStr, CString};
use std::fs::{self, File};
use std::io::Write;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rustix::fs::{AtFlags, CWD, FileType, Mode, OFlags, RawDir};
use serde::Serialize;

use crate::confine::{Locate, Located, Root};
use crate::error::{ErrorKind, IoResultExt, ToolError, ToolResult};
use crate::paths;

/// Permission bits of a file that did not exist before (before the umask).
pub const NEW_FILE_MODE: u32 = 0o666;
/// What a temporary file's name holds between the target's name and its process id.
pub const TEMP_MARKER: &str = ".ironcode-";
/// The end of a temporary file's name.
pub const TEMP_SUFFIX: &str = ".tmp";

/// What a killed process may have left behind: [`remove_leftovers`] removes only that kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Leftover {
    /// A temporary file of [`write_atomic`]: `.{name}.ironcode-{pid}-{n}-{hex}.tmp`.
    File,
    /// A staging folder of `archive::extract`: `.{name}.ironcode-extract-{pid}-{n}`.
    Folder,
}

impl Leftover {
    /// What the name holds before the process id, and how it ends.
    fn marker_and_suffix(self) -> (&'static str, &'static str) {
        match self {
            Leftover::File => (TEMP_MARKER, TEMP_SUFFIX),
            Leftover::Folder => (crate::archive::STAGING_MARKER, ""),
        }
    }
}

/// A process looks for leftovers in a folder the first time it changes something there, then at
/// most this often: listing a folder is the one cost that grows with it (a 1 KB write took
/// 0.8 ms in an empty folder, 3.8 ms beside 10,000 files and 15.7 ms beside 50,000 when every
/// write listed it).
pub const LEFTOVER_SCAN_INTERVAL: Duration = Duration::from_secs(60);
/// Folders whose last scan is remembered; past this, the expired ones are forgotten.
const LEFTOVER_SCANS_KEPT: usize = 4096;
/// The buffer one `getdents` call of the leftover scan fills.
const LEFTOVER_LIST_BYTES: usize = 32 * 1024;
static LEFTOVER_SCANS: Mutex<Option<HashMap<(PathBuf, Leftover), Instant>>> = Mutex::new(None);

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
/// With `root`, the path is resolved beneath it ([`crate::confine`]); leaving it is
/// `outside_root`.
pub fn write(path: &str, content: &[u8], root: Option<&str>) -> ToolResult<WriteResult> {
    if let Some(root) = root {
        return write_beneath(&Root::open(root)?, path, content);
    }
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

/// [`write`] beneath a root: parents created and the file replaced through descriptors.
fn write_beneath(root: &Root, path: &str, content: &[u8]) -> ToolResult<WriteResult> {
    let place = root.place(path)?;
    let how = Locate {
        create: true,
        follow_last: true,
    };
    let target = root.locate(&place, how)?;
    if target.kind == Some(FileType::Directory) {
        return Err(ToolError::new(
            ErrorKind::IsDirectory,
            format!("Path is a directory, not a file: {}", place.shown.display()),
        ));
    }
    write_atomic_located(&target, content)?;
    Ok(WriteResult {
        path: paths::display(&place.shown),
        bytes: content.len(),
        created: target.kind.is_none(),
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
pub fn resolve_symlink(path: &Path) -> ToolResult<PathBuf> {
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
    let dir_path = target.parent().unwrap_or(Path::new("/"));
    let name = CString::new(target.file_name().map_or(&[][..], |n| n.as_bytes()))
        .map_err(|_| ToolError::invalid_argument("path contains a NUL byte"))?;
    let mode = fs::metadata(target)
        .map(|m| m.permissions().mode() & 0o7777)
        .ok();
    let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let dir = rustix::fs::openat(CWD, dir_path, flags, Mode::empty())
        .map_err(|e| ToolError::from_io(&e.into(), dir_path))?;
    write_atomic_in(dir.as_fd(), &name, target, mode, content)
}

/// [`write_atomic`] of what [`Root::locate`] found: keeps the permission bits of the file it
/// replaces (never of a symlink's target: the walk has resolved those).
pub fn write_atomic_located(target: &Located, content: &[u8]) -> ToolResult<()> {
    let mode = rustix::fs::statat(
        &target.dir,
        target.name.as_c_str(),
        AtFlags::SYMLINK_NOFOLLOW,
    )
    .ok()
    .filter(|stat| FileType::from_raw_mode(stat.st_mode) != FileType::Symlink)
    .map(|stat| stat.st_mode & 0o7777);
    write_atomic_in(
        target.dir.as_fd(),
        &target.name,
        &target.shown,
        mode,
        content,
    )
}

/// The atomic write itself, in the open folder `dir`: a temporary file created there
/// (`openat`), fsynced, given `mode`, renamed over `name` (`renameat`), then the folder fsynced.
/// `target` (the path `dir`/`name` spells) is for messages and the leftover scan's memory.
pub fn write_atomic_in(
    dir: BorrowedFd,
    name: &CStr,
    target: &Path,
    mode: Option<u32>,
    content: &[u8],
) -> ToolResult<()> {
    let dir_path = target.parent().unwrap_or(Path::new("/"));
    if scan_due(dir_path, Leftover::File) {
        remove_leftover_files_in(dir);
    }
    let (temp, mut file) = create_temp(dir, dir_path, &name.to_string_lossy())?;
    let result = (|| {
        file.write_all(content).at(target)?;
        if let Some(mode) = mode {
            rustix::fs::fchmod(&file, Mode::from_raw_mode(mode))
                .map_err(|e| ToolError::from_io(&e.into(), target))?;
        }
        file.sync_all().at(target)?;
        drop(file);
        rustix::fs::renameat(dir, temp.as_c_str(), dir, name)
            .map_err(|e| ToolError::from_io(&e.into(), target))?;
        // Make the rename itself durable; a failure here cannot undo it, so it is not an error.
        let folder = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        if let Ok(d) = rustix::fs::openat(dir, ".", folder, Mode::empty()) {
            let _ = rustix::fs::fsync(&d);
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = rustix::fs::unlinkat(dir, temp.as_c_str(), AtFlags::empty());
    }
    result
}

fn create_temp(dir: BorrowedFd, dir_path: &Path, name: &str) -> ToolResult<(CString, File)> {
    let pid = std::process::id();
    let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    loop {
        let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let temp = format!(".{name}{TEMP_MARKER}{pid}-{n}-{nanos:x}{TEMP_SUFFIX}");
        let temp = CString::new(temp)
            .map_err(|_| ToolError::invalid_argument("path contains a NUL byte"))?;
        match rustix::fs::openat(
            dir,
            temp.as_c_str(),
            flags,
            Mode::from_raw_mode(NEW_FILE_MODE),
        ) {
            Ok(fd) => return Ok((temp, File::from(fd))),
            Err(rustix::io::Errno::EXIST) => continue,
            Err(e) => return Err(ToolError::from_io(&e.into(), dir_path)),
        }
    }
}

/// [`remove_leftovers`] of `kind` in `dir`, if this process has not done it there within
/// [`LEFTOVER_SCAN_INTERVAL`].
pub fn tidy_leftovers(dir: &Path, kind: Leftover) {
    if scan_due(dir, kind) {
        remove_leftovers(dir, kind);
    }
}

/// Whether this process should look for leftovers of `kind` in `dir` now (it has not within
/// [`LEFTOVER_SCAN_INTERVAL`]); a yes counts as the look.
fn scan_due(dir: &Path, kind: Leftover) -> bool {
    let now = Instant::now();
    let mut scans = LEFTOVER_SCANS.lock().unwrap_or_else(|p| p.into_inner());
    let scans = scans.get_or_insert_with(HashMap::new);
    let key = (dir.to_path_buf(), kind);
    if let Some(last) = scans.get(&key)
        && now.duration_since(*last) < LEFTOVER_SCAN_INTERVAL
    {
        return false;
    }
    if scans.len() >= LEFTOVER_SCANS_KEPT {
        scans.retain(|_, last| now.duration_since(*last) < LEFTOVER_SCAN_INTERVAL);
    }
    scans.insert(key, now);
    true
}

/// Removes what killed processes left in `dir`: entries of the given kind named
/// `.{any name}{marker}{pid}-{counters}{suffix}` (counters: hex digits and dashes) whose process
/// `pid` no longer exists. SIGKILL runs no cleanup, so a killed write leaves its temporary file
/// and a killed extraction its staging folder; a later change in the same folder removes them
/// (see [`tidy_leftovers`]). A live process's entries (even another user's) are never touched,
/// nor a symlink. Best effort: a failure here never fails the write.
pub fn remove_leftovers(dir: &Path, kind: Leftover) {
    if kind == Leftover::File {
        let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
        if let Ok(dir) = rustix::fs::openat(CWD, dir, flags, Mode::empty()) {
            remove_leftover_files_in(dir.as_fd());
        }
        return;
    }
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(owner) = leftover_of(&name.to_string_lossy(), kind) else {
            continue;
        };
        if process_exists(owner) {
            continue;
        }
        let path = entry.path();
        if fs::symlink_metadata(&path).is_ok_and(|meta| meta.is_dir()) {
            let _ = fs::remove_dir_all(&path);
        }
    }
}

/// The temporary files of dead processes in the open folder `dir` (see [`remove_leftovers`]),
/// removed with `unlinkat`, so a folder beneath a root is cleaned through its descriptor.
pub fn remove_leftover_files_in(dir: BorrowedFd) {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let Ok(listing) = rustix::fs::openat(dir, ".", flags, Mode::empty()) else {
        return;
    };
    let mut buffer = Vec::<u8>::with_capacity(LEFTOVER_LIST_BYTES);
    let spare: &mut [MaybeUninit<u8>] = buffer.spare_capacity_mut();
    let mut dead = Vec::new();
    let mut entries = RawDir::new(&listing, spare);
    while let Some(Ok(entry)) = entries.next() {
        let name = entry.file_name();
        let Some(owner) = leftover_of(&name.to_string_lossy(), Leftover::File) else {
            continue;
        };
        if !process_exists(owner) {
            dead.push(name.to_owned());
        }
    }
    for name in dead {
        let is_file = rustix::fs::statat(dir, name.as_c_str(), AtFlags::SYMLINK_NOFOLLOW)
            .is_ok_and(|stat| FileType::from_raw_mode(stat.st_mode) == FileType::RegularFile);
        if is_file {
            let _ = rustix::fs::unlinkat(dir, name.as_c_str(), AtFlags::empty());
        }
    }
}

/// The process that made the entry `name`, when it is shaped like a leftover of `kind`:
/// `.{any name}{marker}{pid}-{counters}{suffix}`, the last marker counting (a target's own name
/// may hold one).
fn leftover_of(name: &str, kind: Leftover) -> Option<i32> {
    let (marker, suffix) = kind.marker_and_suffix();
    name.strip_prefix('.')
        .and_then(|rest| rest.strip_suffix(suffix))
        .and_then(|rest| rest.rfind(marker).map(|at| &rest[at + marker.len()..]))
        .and_then(leftover_owner)
}

/// The process id at the start of `{pid}-{counters}`, if the whole has that shape.
fn leftover_owner(middle: &str) -> Option<i32> {
    let (pid, counters) = middle.split_once('-')?;
    let shaped =
        !counters.is_empty() && counters.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
    if !shaped || pid.is_empty() || !pid.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    pid.parse().ok()
}

/// Whether process `pid` exists (`kill(pid, 0)`; EPERM means it exists but is not ours).
fn process_exists(pid: i32) -> bool {
    match rustix::process::Pid::from_raw(pid) {
        Some(pid) => !matches!(
            rustix::process::test_kill_process(pid),
            Err(rustix::io::Errno::SRCH)
        ),
        None => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_keeps_permission_bits_and_reports_creation() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a/b/c.txt");
        let first = write(file.to_str().unwrap(), b"one", None).unwrap();
        assert!(first.created);
        fs::set_permissions(&file, fs::Permissions::from_mode(0o751)).unwrap();
        let second = write(file.to_str().unwrap(), b"two\0three", None).unwrap();
        assert!(!second.created);
        assert_eq!(fs::read(&file).unwrap(), b"two\0three");
        assert_eq!(
            fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o751
        );
    }

    #[test]
    fn leftovers_of_a_dead_process_go_and_others_stay() {
        let dir = tempfile::tempdir().unwrap();
        let dead = {
            let mut child = std::process::Command::new("true").spawn().unwrap();
            let pid = child.id();
            child.wait().unwrap();
            pid
        };
        let me = std::process::id();
        let names = [
            format!(".a.txt.ironcode-{dead}-3-1f.tmp"),
            format!(".b.ironcode-1.txt.ironcode-{dead}-0-2.tmp"),
            format!(".a.txt.ironcode-{me}-3-1f.tmp"),
            format!(".a.txt.ironcode-{dead}-notes.tmp"),
            format!(".a.txt.ironcode-extract-{dead}-3.tmp"),
            format!("a.txt.ironcode-{dead}-3-1f.tmp"),
        ];
        for name in &names {
            fs::write(dir.path().join(name), "x").unwrap();
        }
        remove_leftovers(dir.path(), Leftover::Folder); // files are not its kind
        remove_leftovers(dir.path(), Leftover::File);
        let left: Vec<bool> = names.iter().map(|n| dir.path().join(n).exists()).collect();
        assert_eq!(left, [false, false, true, true, true, true]);
    }

    #[test]
    fn write_through_symlink_keeps_the_link() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.txt");
        let link = dir.path().join("link.txt");
        fs::write(&real, "old").unwrap();
        std::os::unix::fs::symlink(&real, &link).unwrap();
        write(link.to_str().unwrap(), b"new", None).unwrap();
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read(&real).unwrap(), b"new");
    }
}
