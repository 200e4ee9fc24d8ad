//! `extract`: zip and tar(.gz) archives, refusing every entry that would land outside `dest`.
//!
//! Three walls keep an archive inside `dest` (zip-slip, CVE-2018-1002200 and its symlink
//! variants):
//! 1. Before anything is written, every name and link target is checked lexically: no absolute
//!    path, no `..` that climbs out, no link pointing out.
//! 2. Entries are extracted into a fresh staging folder beside `dest`; nothing is ever written
//!    through a symlink the archive made.
//! 3. Every staged symlink is resolved physically and must stay inside the staging folder.
//!
//! Only then are the staged files moved into `dest`, each by one atomic rename, so `dest` sees
//! old files or new ones and an unsafe archive leaves no trace at all.

use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

use crate::error::{ErrorKind, IoResultExt, ToolError, ToolResult};
use crate::paths;
use crate::write::{self, Leftover};

/// Permission bits of an extracted file whose archive entry carries none.
pub const DEFAULT_FILE_MODE: u32 = 0o644;
/// Symlink hops followed while resolving a link before it counts as a loop.
pub const MAX_LINK_HOPS: usize = 40;

const S_IFMT: u32 = 0o170000;
const S_IFLNK: u32 = 0o120000;

/// The answer of [`extract`]: files (regular files and links) written, and the destination.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct ExtractResult {
    pub files: usize,
    pub dest: String,
}

/// One archive entry, reduced to what extraction needs.
#[derive(Debug)]
enum EntryKind {
    File {
        mode: u32,
    },
    Dir,
    Symlink {
        target: String,
    },
    HardLink {
        target: String,
    },
    /// Devices, FIFOs and other special files are never created.
    Skip,
}

#[derive(Debug, Clone, Copy)]
enum Format {
    Zip,
    Tar,
    TarGz,
}

/// Extracts `archive` into `dest` (created if missing). An unsafe entry raises `unsafe_path`
/// and writes nothing, inside or outside `dest`.
pub fn extract(archive: &str, dest: &str) -> ToolResult<ExtractResult> {
    let archive = paths::absolute(archive)?;
    let dest = paths::absolute(dest)?;
    let format = detect_format(&archive)?;
    match fs::metadata(&dest) {
        Ok(meta) if !meta.is_dir() => {
            return Err(ToolError::new(
                ErrorKind::NotADirectory,
                format!("Destination is not a directory: {}", dest.display()),
            ));
        }
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(ToolError::from_io(&e, &dest)),
    }
    // Wall 1: the whole listing is checked before the first byte is written.
    for_each_entry(&archive, format, |name, kind, _| {
        if let Some(rel) = safe_relative(name)? {
            check_link_target(&rel, &kind)?;
        }
        Ok(())
    })?;
    let parent = dest.parent().unwrap_or(Path::new("/"));
    fs::create_dir_all(parent).at(parent)?;
    let staging = Staging::create(parent, &dest)?;
    let result = (|| {
        let mut links = Vec::new();
        for_each_entry(&archive, format, |name, kind, data| {
            stage_entry(&staging.path, name, kind, data, &mut links)
        })?;
        // Wall 3: a chain of in-archive links may still point out once it exists on disk.
        for rel in &links {
            if !resolves_inside(&staging.path, rel) {
                return Err(unsafe_entry(
                    rel,
                    "is a symlink that resolves outside the destination",
                ));
            }
        }
        let files = count_files(&staging.path);
        promote(&staging.path, &dest)?;
        Ok(ExtractResult {
            files,
            dest: paths::display(&dest),
        })
    })();
    drop(staging);
    result
}

/// What a staging folder's name holds between `.{dest name}` and the process id.
pub const STAGING_MARKER: &str = ".ironcode-extract-";

/// A staging folder beside `dest`, removed when dropped (after a successful promote it is
/// already empty or gone). A killed extraction cannot drop it: a later extraction beside it
/// removes the staging folders whose process is gone (`write::tidy_leftovers`).
struct Staging {
    path: PathBuf,
}

static STAGING_COUNTER: AtomicU64 = AtomicU64::new(0);

impl Staging {
    fn create(parent: &Path, dest: &Path) -> ToolResult<Staging> {
        let name = dest
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        write::tidy_leftovers(parent, Leftover::Folder);
        loop {
            let n = STAGING_COUNTER.fetch_add(1, Ordering::Relaxed);
            let path = parent.join(format!(".{name}{STAGING_MARKER}{}-{n}", std::process::id()));
            match fs::create_dir(&path) {
                Ok(()) => return Ok(Staging { path }),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(ToolError::from_io(&e, parent)),
            }
        }
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

fn detect_format(archive: &Path) -> ToolResult<Format> {
    let mut file = File::open(archive).at(archive)?;
    if file.metadata().at(archive)?.is_dir() {
        return Err(ToolError::new(
            ErrorKind::IsDirectory,
            format!("Archive path is a directory: {}", archive.display()),
        ));
    }
    let mut head = [0u8; 512];
    let mut filled = 0;
    while filled < head.len() {
        match file.read(&mut head[filled..]).at(archive)? {
            0 => break,
            n => filled += n,
        }
    }
    let head = &head[..filled];
    if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        Ok(Format::Zip)
    } else if head.starts_with(&[0x1f, 0x8b]) {
        Ok(Format::TarGz)
    } else if head.len() >= 262 && &head[257..262] == b"ustar" {
        Ok(Format::Tar)
    } else {
        Err(ToolError::invalid_argument(format!(
            "Not a zip, tar or tar.gz archive: {}",
            archive.display()
        )))
    }
}

/// Calls `visit(name, kind, data)` for every entry, in archive order.
fn for_each_entry(
    archive: &Path,
    format: Format,
    mut visit: impl FnMut(&str, EntryKind, &mut dyn Read) -> ToolResult<()>,
) -> ToolResult<()> {
    let file = File::open(archive).at(archive)?;
    match format {
        Format::Zip => visit_zip(archive, file, &mut visit),
        Format::Tar => visit_tar(archive, tar::Archive::new(file), &mut visit),
        Format::TarGz => visit_tar(
            archive,
            tar::Archive::new(flate2::read::GzDecoder::new(file)),
            &mut visit,
        ),
    }
}

fn corrupt(archive: &Path, err: impl std::fmt::Display) -> ToolError {
    ToolError::new(
        ErrorKind::Io,
        format!("Corrupt archive {}: {err}", archive.display()),
    )
}

fn visit_zip(
    archive: &Path,
    mut file: File,
    visit: &mut dyn FnMut(&str, EntryKind, &mut dyn Read) -> ToolResult<()>,
) -> ToolResult<()> {
    file.seek(SeekFrom::Start(0)).at(archive)?;
    let mut zip = zip::ZipArchive::new(file).map_err(|e| corrupt(archive, e))?;
    for index in 0..zip.len() {
        let mut entry = zip.by_index(index).map_err(|e| corrupt(archive, e))?;
        let name = entry.name().map_err(|e| corrupt(archive, e))?.into_owned();
        let mode = entry.unix_mode();
        // A folder is a name ending in '/' (the zip crate also counts '\\', Python's zipfile does not).
        let kind = if name.ends_with('/') {
            EntryKind::Dir
        } else if mode.is_some_and(|m| m & S_IFMT == S_IFLNK) {
            let mut target = String::new();
            entry
                .read_to_string(&mut target)
                .map_err(|e| corrupt(archive, e))?;
            EntryKind::Symlink { target }
        } else {
            EntryKind::File {
                mode: file_mode(mode),
            }
        };
        visit(&name, kind, &mut entry)?;
    }
    Ok(())
}

fn visit_tar<R: Read>(
    archive: &Path,
    mut tar: tar::Archive<R>,
    visit: &mut dyn FnMut(&str, EntryKind, &mut dyn Read) -> ToolResult<()>,
) -> ToolResult<()> {
    for entry in tar.entries().map_err(|e| corrupt(archive, e))? {
        let mut entry = entry.map_err(|e| corrupt(archive, e))?;
        let mut name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let header = entry.header();
        // Old (V7) tar marks a folder as a plain file whose name ends in '/'; and a folder's
        // trailing slashes are not part of its name (both as Python's tarfile reads them).
        let old_style_dir = header.entry_type().as_byte() == 0 && name.ends_with('/');
        let link = || -> ToolResult<String> {
            let raw = entry
                .link_name_bytes()
                .ok_or_else(|| corrupt(archive, "link without target"))?;
            Ok(String::from_utf8_lossy(&raw).into_owned())
        };
        let kind = match header.entry_type() {
            _ if old_style_dir => EntryKind::Dir,
            tar::EntryType::Regular | tar::EntryType::Continuous | tar::EntryType::GNUSparse => {
                EntryKind::File {
                    mode: file_mode(header.mode().ok()),
                }
            }
            tar::EntryType::Directory => EntryKind::Dir,
            tar::EntryType::Symlink => EntryKind::Symlink { target: link()? },
            tar::EntryType::Link => EntryKind::HardLink { target: link()? },
            _ => EntryKind::Skip,
        };
        if matches!(kind, EntryKind::Dir) {
            name.truncate(name.trim_end_matches('/').len());
        }
        visit(&name, kind, &mut entry)?;
    }
    Ok(())
}

/// Permission bits for a file: the archive's, without set-id and sticky bits; 0o644 when the
/// archive gives none.
fn file_mode(mode: Option<u32>) -> u32 {
    match mode.map(|m| m & 0o777) {
        Some(bits) if bits != 0 => bits,
        _ => DEFAULT_FILE_MODE,
    }
}

fn unsafe_entry(name: &str, why: &str) -> ToolError {
    ToolError::new(
        ErrorKind::UnsafePath,
        format!("Archive entry '{name}' {why}; nothing was extracted"),
    )
}

/// The entry's path relative to `dest` with `.` and empty parts dropped, or `None` for the
/// root itself. Absolute names and `..` parts are unsafe.
fn safe_relative(name: &str) -> ToolResult<Option<String>> {
    if name.contains('\0') {
        return Err(unsafe_entry(name, "has a NUL byte in its name"));
    }
    if name.starts_with('/') {
        return Err(unsafe_entry(name, "is an absolute path"));
    }
    let mut parts = Vec::new();
    for part in name.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                return Err(unsafe_entry(
                    name,
                    "climbs out of the destination with '..'",
                ));
            }
            _ => parts.push(part),
        }
    }
    Ok(if parts.is_empty() {
        None
    } else {
        Some(parts.join("/"))
    })
}

fn check_link_target(rel: &str, kind: &EntryKind) -> ToolResult<()> {
    match kind {
        EntryKind::Symlink { target } => {
            if target.starts_with('/') {
                return Err(unsafe_entry(rel, "is a symlink to an absolute path"));
            }
            let mut stack: Vec<&str> = rel.split('/').collect();
            stack.pop();
            for part in target.split('/') {
                match part {
                    "" | "." => {}
                    ".." => {
                        if stack.pop().is_none() {
                            return Err(unsafe_entry(
                                rel,
                                "is a symlink that points outside the destination",
                            ));
                        }
                    }
                    _ => stack.push(part),
                }
            }
            Ok(())
        }
        EntryKind::HardLink { target } => match safe_relative(target) {
            Ok(Some(_)) => Ok(()),
            _ => Err(unsafe_entry(
                rel,
                "is a hard link to a path outside the destination",
            )),
        },
        _ => Ok(()),
    }
}

/// Wall 2: refuses to write where a parent component inside staging is a symlink.
fn ensure_no_symlink_parent(root: &Path, rel: &str) -> ToolResult<()> {
    let mut current = root.to_path_buf();
    let parts: Vec<&str> = rel.split('/').collect();
    for part in &parts[..parts.len() - 1] {
        current.push(part);
        if let Ok(meta) = fs::symlink_metadata(&current)
            && meta.file_type().is_symlink()
        {
            return Err(unsafe_entry(rel, "would be written through a symlink"));
        }
    }
    Ok(())
}

fn stage_entry(
    root: &Path,
    name: &str,
    kind: EntryKind,
    data: &mut dyn Read,
    links: &mut Vec<String>,
) -> ToolResult<()> {
    let Some(rel) = safe_relative(name)? else {
        return Ok(());
    };
    if matches!(kind, EntryKind::Skip) {
        return Ok(());
    }
    ensure_no_symlink_parent(root, &rel)?;
    let path = root.join(&rel);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).at(parent)?;
    }
    if !matches!(kind, EntryKind::Dir) {
        remove_existing(&path)?;
    }
    match kind {
        EntryKind::Dir => fs::create_dir_all(&path).at(&path)?,
        EntryKind::File { mode } => {
            let mut out = File::create(&path).at(&path)?;
            io::copy(data, &mut out).at(&path)?;
            out.set_permissions(fs::Permissions::from_mode(mode))
                .at(&path)?;
        }
        EntryKind::Symlink { target } => {
            std::os::unix::fs::symlink(&target, &path).at(&path)?;
            links.push(rel);
        }
        EntryKind::HardLink { target } => {
            let source = root.join(safe_relative(&target)?.unwrap_or_default());
            let meta = fs::symlink_metadata(&source);
            if !meta.map(|m| m.is_file()).unwrap_or(false) {
                return Err(unsafe_entry(
                    &rel,
                    "is a hard link to a file the archive does not hold",
                ));
            }
            fs::copy(&source, &path).at(&path)?;
        }
        EntryKind::Skip => {}
    }
    Ok(())
}

/// A later entry of the same name replaces an earlier one (as tar and unzip do).
fn remove_existing(path: &Path) -> ToolResult<()> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => fs::remove_dir_all(path).at(path),
        Ok(_) => fs::remove_file(path).at(path),
        Err(_) => Ok(()),
    }
}

/// Follows `rel` inside `root` physically, link by link; false if it leaves `root` or loops.
fn resolves_inside(root: &Path, rel: &str) -> bool {
    let mut pending: Vec<String> = rel.split('/').rev().map(str::to_string).collect();
    let mut stack: Vec<String> = Vec::new();
    let mut hops = 0;
    while let Some(part) = pending.pop() {
        match part.as_str() {
            "" | "." => continue,
            ".." => {
                if stack.pop().is_none() {
                    return false;
                }
                continue;
            }
            _ => stack.push(part),
        }
        let current = root.join(stack.join("/"));
        if let Ok(target) = fs::read_link(&current) {
            hops += 1;
            let target = target.to_string_lossy().into_owned();
            if hops > MAX_LINK_HOPS || target.starts_with('/') {
                return false;
            }
            stack.pop();
            pending.extend(target.split('/').rev().map(str::to_string));
        }
    }
    true
}

fn count_files(root: &Path) -> usize {
    let mut count = 0;
    let Ok(entries) = fs::read_dir(root) else {
        return 0;
    };
    for entry in entries.flatten() {
        match entry.file_type() {
            Ok(t) if t.is_dir() => count += count_files(&entry.path()),
            Ok(_) => count += 1,
            Err(_) => {}
        }
    }
    count
}

/// Moves the staged tree into `dest`: a rename of the whole folder when `dest` does not exist,
/// otherwise one rename per file after checking that no path collides or passes a symlink.
fn promote(staging: &Path, dest: &Path) -> ToolResult<()> {
    if fs::symlink_metadata(dest).is_err() {
        return fs::rename(staging, dest).at(dest);
    }
    check_merge(staging, dest, "")?;
    merge(staging, dest)
}

fn check_merge(staged: &Path, dest: &Path, rel: &str) -> ToolResult<()> {
    let entries = fs::read_dir(staged).at(staged)?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let child_rel = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        let target = dest.join(&name);
        let staged_is_dir = entry.file_type().map(|t| t.is_dir()).unwrap_or(false);
        match fs::symlink_metadata(&target) {
            Ok(meta) if meta.file_type().is_symlink() && staged_is_dir => {
                return Err(unsafe_entry(
                    &child_rel,
                    "would be written through a symlink in the destination",
                ));
            }
            Ok(meta) if meta.is_dir() && !staged_is_dir => {
                return Err(ToolError::new(
                    ErrorKind::IsDirectory,
                    format!(
                        "Cannot replace folder {} with a file from the archive; nothing was extracted",
                        target.display()
                    ),
                ));
            }
            Ok(meta) if !meta.is_dir() && staged_is_dir => {
                return Err(ToolError::new(
                    ErrorKind::NotADirectory,
                    format!(
                        "Cannot replace file {} with a folder from the archive; nothing was extracted",
                        target.display()
                    ),
                ));
            }
            Ok(_) if staged_is_dir => check_merge(&entry.path(), &target, &child_rel)?,
            _ => {}
        }
    }
    Ok(())
}

fn merge(staged: &Path, dest: &Path) -> ToolResult<()> {
    for entry in fs::read_dir(staged).at(staged)?.flatten() {
        let target = dest.join(entry.file_name());
        let is_dir = entry.file_type().map(|t| t.is_dir()).unwrap_or(false);
        if is_dir && fs::symlink_metadata(&target).is_ok() {
            merge(&entry.path(), &target)?;
        } else {
            fs::rename(entry.path(), &target).at(&target)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_normalised_and_escapes_refused() {
        assert_eq!(safe_relative("./a//b/").unwrap(), Some("a/b".to_string()));
        assert_eq!(safe_relative("./").unwrap(), None);
        assert_eq!(
            safe_relative("../evil").unwrap_err().kind,
            ErrorKind::UnsafePath
        );
        assert_eq!(
            safe_relative("a/../../evil").unwrap_err().kind,
            ErrorKind::UnsafePath
        );
        assert_eq!(
            safe_relative("/etc/passwd").unwrap_err().kind,
            ErrorKind::UnsafePath
        );
    }

    #[test]
    fn link_targets_must_stay_inside() {
        let ok = EntryKind::Symlink {
            target: "../b".into(),
        };
        assert!(check_link_target("a/link", &ok).is_ok());
        let out = EntryKind::Symlink {
            target: "../../b".into(),
        };
        assert!(check_link_target("a/link", &out).is_err());
        let abs = EntryKind::Symlink {
            target: "/etc".into(),
        };
        assert!(check_link_target("link", &abs).is_err());
    }
}
