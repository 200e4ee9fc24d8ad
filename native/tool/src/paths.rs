//! Path helpers shared by the file tools: absolute paths the way Python's `os.path.abspath`
//! computes them, so both backends print the same path for the same input.

use std::path::{Component, Path, PathBuf};

use crate::error::{ToolError, ToolResult};

/// Joins `path` to the current directory and folds `.` and `..` lexically (no symlink
/// resolution), exactly like `os.path.abspath`.
pub fn absolute(path: &str) -> ToolResult<PathBuf> {
    if path.is_empty() {
        return Err(ToolError::invalid_argument("path is empty"));
    }
    if path.contains('\0') {
        return Err(ToolError::invalid_argument("path contains a NUL byte"));
    }
    let raw = Path::new(path);
    let joined = if raw.is_absolute() {
        raw.to_path_buf()
    } else {
        let cwd = std::env::current_dir().map_err(|e| {
            ToolError::new(
                crate::error::ErrorKind::NotFound,
                format!("the current directory is gone ({e}); pass an absolute path"),
            )
        })?;
        cwd.join(raw)
    };
    Ok(normalize(&joined))
}

/// Folds `.` and `..` components of an absolute path without touching the file system.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::from("/");
    for component in path.components() {
        match component {
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(name) => out.push(name),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    out
}

/// A path as a `/`-separated string, lossy for non-UTF-8 names.
pub fn display(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_folds_dots_like_abspath() {
        assert_eq!(normalize(Path::new("/a/./b/../c")), PathBuf::from("/a/c"));
        assert_eq!(normalize(Path::new("/../..")), PathBuf::from("/"));
        assert_eq!(normalize(Path::new("/a//b/")), PathBuf::from("/a/b"));
    }

    #[test]
    fn empty_path_is_invalid() {
        assert_eq!(
            absolute("").unwrap_err().kind,
            crate::error::ErrorKind::InvalidArgument
        );
    }
}
