//! The watcher's ignore globs: gitignore lines matched against paths relative to the root.

use std::path::{Path, PathBuf};

use ignore::gitignore::{Gitignore, GitignoreBuilder};

use crate::error::{ErrorKind, ToolError, ToolResult};

/// The ignore globs as one gitignore matcher rooted at `root`; no globs, no matcher.
pub fn build_matcher(root: &Path, globs: &[String]) -> ToolResult<Option<Gitignore>> {
    if globs.is_empty() {
        return Ok(None);
    }
    let mut builder = GitignoreBuilder::new(root);
    for glob in globs {
        builder.add_line(None, glob).map_err(|e| {
            ToolError::new(
                ErrorKind::InvalidPattern,
                format!("Invalid ignore glob '{glob}': {e}"),
            )
        })?;
    }
    builder.build().map(Some).map_err(|e| {
        ToolError::new(
            ErrorKind::InvalidPattern,
            format!("Invalid ignore globs: {e}"),
        )
    })
}

/// Git's rule: a path is ignored if a folder above it is ignored (nothing below an ignored
/// folder comes back), else if its own last matching glob ignores it. A path whose type is
/// unknown (`is_dir` None: it is gone) is ignored if it matches as a file or as a folder.
pub fn is_ignored(matcher: &Gitignore, relative: &Path, is_dir: Option<bool>) -> bool {
    if relative.as_os_str().is_empty() {
        return false;
    }
    let mut folders = relative.components();
    folders.next_back();
    let mut ancestor = PathBuf::new();
    for part in folders {
        ancestor.push(part);
        if matcher.matched(&ancestor, true).is_ignore() {
            return true;
        }
    }
    match is_dir {
        Some(is_dir) => matcher.matched(relative, is_dir).is_ignore(),
        None => {
            matcher.matched(relative, false).is_ignore()
                || matcher.matched(relative, true).is_ignore()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matcher(globs: &[&str]) -> Gitignore {
        let globs: Vec<String> = globs.iter().map(|g| g.to_string()).collect();
        build_matcher(Path::new("/root"), &globs).unwrap().unwrap()
    }

    #[test]
    fn globs_match_paths_relative_to_the_root_as_gitignore_does() {
        let m = matcher(&["node_modules", ".git", "**/*.log", "build/"]);
        let ignored = |p: &str, d: Option<bool>| is_ignored(&m, Path::new(p), d);
        assert!(ignored("node_modules", Some(true)));
        assert!(ignored("a/node_modules/x/y.js", Some(false)));
        assert!(ignored(".git/HEAD", Some(false)));
        assert!(ignored("deep/er/app.log", Some(false)));
        assert!(ignored("build/out.o", Some(false)));
        assert!(
            !ignored("build", Some(false)),
            "build/ matches folders only"
        );
        assert!(
            ignored("build", None),
            "a vanished path matches as a file or a folder"
        );
        assert!(!ignored("src/main.rs", Some(false)));
        assert!(!ignored("", Some(true)));
    }

    #[test]
    fn nothing_below_an_ignored_folder_comes_back() {
        let m = matcher(&["vendor", "!keep.txt"]);
        assert!(is_ignored(&m, Path::new("vendor/keep.txt"), Some(false)));
        assert!(!is_ignored(&m, Path::new("src/keep.txt"), Some(false)));
    }

    #[test]
    fn a_bad_glob_is_invalid_pattern() {
        for glob in ["a{b", "[z-a]", "a\\"] {
            let err = build_matcher(Path::new("/r"), &[glob.to_string()]).unwrap_err();
            assert_eq!(err.kind, ErrorKind::InvalidPattern, "{glob}");
        }
    }
}
