//! `file_list`: every file a ripgrep search of a folder would look at, as sorted relative paths.
//!
//! The set equals `rg --files --hidden [-g GLOB ...] -g '!.git' PATH` run from `PATH`; see
//! [`crate::walk`] for the ignore rules and glob overrides.

use crate::error::ToolResult;
use crate::walk::{self, WalkOptions};

/// Lists the files below `path` that ripgrep would search, relative to `path`, `/`-separated and
/// sorted. `globs` are ripgrep `--glob` overrides; `hidden = false` skips dot-files and
/// dot-folders; `follow` follows symlinks (loops are skipped); `max_depth` is ripgrep's
/// `--max-depth` (1 = the direct children only).
///
/// Raises `not_found` for a missing path, `not_a_directory` for a file and `invalid_pattern` for
/// a glob that does not parse. With `root`, the folder is resolved beneath it and the walk never
/// leaves it (`outside_root` for a path that does; links out of it are not listed).
pub fn file_list(
    path: &str,
    globs: &[String],
    hidden: bool,
    follow: bool,
    max_depth: Option<usize>,
    root: Option<&str>,
) -> ToolResult<Vec<String>> {
    let (root, beneath) = walk::search_root_at(path, root)?;
    let options = WalkOptions {
        globs: globs.to_vec(),
        skip_hidden: !hidden,
        follow,
        max_depth,
        beneath,
        parallel_after: None,
    };
    let mut files = walk::collect_files(&root, &options, |entry| Some(entry.relative()))?;
    files.sort_unstable();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use std::fs;

    #[test]
    fn lists_nested_files_sorted_and_respects_gitignore_in_a_repo() {
        let dir = tempfile::tempdir().unwrap();
        for (name, body) in [
            (".git/HEAD", ""),
            (".gitignore", "*.log\n!keep.log\n"),
            ("b.txt", ""),
            ("a/x.log", ""),
            ("a/keep.log", ""),
            (".hidden", ""),
        ] {
            let p = dir.path().join(name);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, body).unwrap();
        }
        let root = dir.path().to_str().unwrap();
        assert_eq!(
            file_list(root, &[], true, false, None, None).unwrap(),
            vec![".gitignore", ".hidden", "a/keep.log", "b.txt"]
        );
        assert_eq!(
            file_list(root, &[], false, false, None, None).unwrap(),
            vec!["a/keep.log", "b.txt"]
        );
        assert_eq!(
            file_list(root, &[], true, false, Some(1), None).unwrap(),
            vec![".gitignore", ".hidden", "b.txt"]
        );
    }

    #[test]
    fn a_file_or_a_missing_path_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        fs::write(&file, "").unwrap();
        let err = file_list(file.to_str().unwrap(), &[], true, false, None, None).unwrap_err();
        assert_eq!(err.kind, ErrorKind::NotADirectory);
        let missing = dir.path().join("nope");
        let err = file_list(missing.to_str().unwrap(), &[], true, false, None, None).unwrap_err();
        assert_eq!(err.kind, ErrorKind::NotFound);
    }
}
