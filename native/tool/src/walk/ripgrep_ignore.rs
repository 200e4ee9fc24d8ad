//! The ignore-file rules of ripgrep's walker, rebuilt on the `ignore` crate's public matchers.
//!
//! `ignore::WalkParallel` decides what to skip with its private `dir::Ignore` chain; the walk in
//! [`super`] reads folders itself (see there for why), so this module ports that chain from
//! ignore 0.4.35 `dir.rs`, rule for rule, and matches with the crate's own `Gitignore` and
//! `Override`. The Python twin's `ironcode/twin/ripgrep_ignore.py` is the same port, with the
//! same function names (`add_child_path`, `add_parents`, `matched`, `matched_ignore`,
//! `should_skip_entry`, `create_gitignore`, `resolve_git_commondir`).
//!
//! Two deliberate differences in shape, none in answers:
//! - the crate links a node for every folder; here a folder gets a node only when it has an
//!   ignore file or is a repository, because a node without either changes no match (its
//!   matchers are empty and it sets no `has_git`);
//! - the crate roots each folder's matcher at the folder and hands it absolute paths, which it
//!   strips back to relative ones; here matchers are rooted at `.` and get the relative path
//!   (the same candidate, without the crate comparing an absolute root with `.` as a `Path`,
//!   component by component, for every entry: 4 % of a walk's time).

use std::ffi::OsStr;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ignore::Match;
use ignore::gitignore::{Gitignore, GitignoreBuilder};
use ignore::overrides::Override;

/// A folder that is a git repository (git worktrees and submodules have a `.git` file).
pub const GIT_DIR: &str = ".git";
/// A Jujutsu repository; the crate treats it as a git one for `.gitignore` files.
pub const JJ_DIR: &str = ".jj";
/// ripgrep's own ignore file, with the highest precedence of all ignore files.
pub const RG_IGNORE_FILE: &str = ".rgignore";
/// The ignore file ripgrep shares with other tools.
pub const IGNORE_FILE: &str = ".ignore";
pub const GITIGNORE_FILE: &str = ".gitignore";
/// Below a repository's git folder: its private ignore file.
pub const GIT_EXCLUDE_FILE: &str = "info/exclude";
/// The root every matcher is built with: it is handed paths already relative to its folder.
pub const RELATIVE_ROOT: &str = ".";

/// Bytes of `dir` plus the separator that follows it in a path below it.
pub fn separated_len(dir: &Path) -> usize {
    let bytes = dir.as_os_str().as_bytes();
    bytes.len() + usize::from(!bytes.ends_with(b"/"))
}

/// `path` relative to `dir` (whose [`separated_len`] is `dir_len`) when it lies below it, else
/// `path` itself: what `Gitignore::strip` leaves of a path for a matcher rooted at `dir`.
pub fn relative_to<'p>(path: &'p Path, dir: &Path, dir_len: usize) -> &'p Path {
    let bytes = path.as_os_str().as_bytes();
    let dir_bytes = dir.as_os_str().as_bytes();
    if bytes.len() > dir_len && bytes.starts_with(dir_bytes) && bytes[dir_len - 1] == b'/' {
        Path::new(OsStr::from_bytes(&bytes[dir_len..]))
    } else {
        path
    }
}

/// Which rule files a folder's listing holds (the crate's `IgnoreFilesFound`): only those are
/// opened, so a folder without ignore files costs no extra system call.
#[derive(Debug, Default, Clone, Copy)]
pub struct IgnoreFilesFound {
    pub git: bool,
    pub jj: bool,
    pub rg_ignore: bool,
    pub ignore: bool,
    pub git_ignore: bool,
}

impl IgnoreFilesFound {
    /// Notes `name` if it is one of the rule files.
    pub fn note(&mut self, name: &[u8]) {
        match name {
            b".git" => self.git = true,
            b".jj" => self.jj = true,
            b".rgignore" => self.rg_ignore = true,
            b".ignore" => self.ignore = true,
            b".gitignore" => self.git_ignore = true,
            _ => {}
        }
    }

    /// Everything may exist: the disk is probed (folders above the search root, never listed).
    pub fn probe_all() -> Self {
        IgnoreFilesFound {
            git: true,
            jj: true,
            rg_ignore: true,
            ignore: true,
            git_ignore: true,
        }
    }
}

/// One folder's ignore rules (the crate's `IgnoreInner`), linked to the nearest folder above it
/// that has rules or is a repository.
#[derive(Debug)]
pub struct Rules {
    pub dir: PathBuf,
    /// Bytes of `dir` and its separator: a path below it, relative to it, starts there.
    dir_len: usize,
    pub parent: Chain,
    /// A folder above the search root (its rules match absolute paths).
    pub is_absolute_parent: bool,
    pub has_git: bool,
    /// This folder or one above it is a repository (the crate's `parents().any(has_git)`).
    pub any_git: bool,
    pub custom: Option<Gitignore>,
    pub ignore: Option<Gitignore>,
    pub git_ignore: Option<Gitignore>,
    pub git_exclude: Option<Gitignore>,
}

/// The rules in force in a folder: its own node, or the nearest one above; None above the
/// outermost folder with rules.
pub type Chain = Option<Arc<Rules>>;

impl Rules {
    /// `path` relative to this folder, as the crate's `Gitignore::strip` makes it; a path
    /// outside the folder is matched whole, as there.
    fn relative<'p>(&self, path: &'p Path) -> &'p Path {
        relative_to(path, &self.dir, self.dir_len)
    }

    fn has_rules(&self) -> bool {
        self.custom.is_some()
            || self.ignore.is_some()
            || self.git_ignore.is_some()
            || self.git_exclude.is_some()
    }
}

/// The nodes of `chain`, from the innermost folder out.
fn nodes(chain: &Chain) -> impl Iterator<Item = &Rules> {
    std::iter::successors(chain.as_deref(), |node| node.parent.as_deref())
}

/// How a folder's rule files are reached: by their path (the folders above the search root), or
/// through the folder's open descriptor (the walk's folders; beneath a root, see
/// [`crate::confine`], never by a name that could lead out).
pub trait RuleFiles {
    /// Opens `name` (relative to the folder; it may hold `/`) for reading, following symlinks.
    fn open(&self, name: &str) -> Option<File>;
    /// Whether `name` is a file (true) or something else (false), following symlinks; None when
    /// it does not exist.
    fn is_file(&self, name: &str) -> Option<bool>;
}

/// Rule files of the folder at a path (the crate's own way).
pub struct ByPath(pub PathBuf);

impl RuleFiles for ByPath {
    fn open(&self, name: &str) -> Option<File> {
        File::open(self.0.join(name)).ok()
    }

    fn is_file(&self, name: &str) -> Option<bool> {
        self.0.join(name).metadata().ok().map(|m| m.is_file())
    }
}

/// The chain for folder `dir` below `parent` (the crate's
/// `add_child_path_with_found_ignore_files`); `found` says which rule files may exist, `files`
/// how to read them.
pub fn add_child_path(
    parent: &Chain,
    dir: &Path,
    found: IgnoreFilesFound,
    is_absolute_parent: bool,
    files: &dyn RuleFiles,
) -> Chain {
    let git_is_file = if found.git {
        files.is_file(GIT_DIR)
    } else {
        None
    };
    let has_jj = found.jj && files.is_file(JJ_DIR).is_some();
    let has_git = git_is_file.is_some() || has_jj;
    let custom = found
        .rg_ignore
        .then(|| create_gitignore(files, dir, RG_IGNORE_FILE))
        .flatten();
    let ignore = found
        .ignore
        .then(|| create_gitignore(files, dir, IGNORE_FILE))
        .flatten();
    let git_ignore = found
        .git_ignore
        .then(|| create_gitignore(files, dir, GITIGNORE_FILE))
        .flatten();
    let git_exclude = match git_is_file {
        // The repository's own git folder: below this folder.
        Some(false) => create_gitignore(files, dir, &format!("{GIT_DIR}/{GIT_EXCLUDE_FILE}")),
        // A worktree or submodule: its git folder is elsewhere, named by the `.git` file
        // (repository metadata, read where it lies, as without a root).
        Some(true) => resolve_git_commondir(files).and_then(|git_dir| {
            create_gitignore(&ByPath(git_dir.clone()), &git_dir, GIT_EXCLUDE_FILE)
        }),
        None => None,
    };
    let node = Rules {
        dir: dir.to_path_buf(),
        dir_len: separated_len(dir),
        parent: parent.clone(),
        is_absolute_parent,
        has_git,
        any_git: has_git || parent.as_ref().is_some_and(|p| p.any_git),
        custom,
        ignore,
        git_ignore,
        git_exclude,
    };
    if !node.has_git && !node.has_rules() {
        return parent.clone();
    }
    Some(Arc::new(node))
}

/// The rules of every folder above the search root (the crate's `Ignore::add_parents`), given
/// the canonical root (`absolute_base`; None when it has none, as when canonicalizing fails):
/// the chain, that base, and whether any of them has rules. `files_of` says how each folder's
/// rule files are read.
pub fn add_parents(
    absolute_base: Option<PathBuf>,
    files_of: &dyn Fn(&Path) -> Box<dyn RuleFiles>,
) -> (Chain, Option<PathBuf>, bool) {
    let Some(absolute_base) = absolute_base else {
        return (None, None, false);
    };
    let mut parents: Vec<&Path> = absolute_base.ancestors().skip(1).collect();
    parents.reverse();
    let mut chain = None;
    let mut has_rules = false;
    for parent in parents {
        let files = files_of(parent);
        chain = add_child_path(&chain, parent, IgnoreFilesFound::probe_all(), true, &*files);
        has_rules |= chain
            .as_ref()
            .is_some_and(|n| n.dir == parent && n.has_rules());
    }
    (chain, Some(absolute_base), has_rules)
}

/// The rules of the ignore file `name` of a folder, for paths relative to the folder they
/// apply to (see [`Rules::relative`]); None when it is missing, unreadable or holds no rule
/// (the crate keeps the lines that parse). `dir` names the file in the rules it yields.
pub fn create_gitignore(files: &dyn RuleFiles, dir: &Path, name: &str) -> Option<Gitignore> {
    let file = files.open(name)?;
    let mut builder = GitignoreBuilder::new(RELATIVE_ROOT);
    add_lines(&mut builder, &dir.join(name), file);
    let rules = builder.build().ok()?;
    (!rules.is_empty()).then_some(rules)
}

/// `GitignoreBuilder::add` of an open file: its lines, a leading BOM dropped as git drops it, a
/// line that is not UTF-8 skipped, reading stopped at an I/O error.
fn add_lines(builder: &mut GitignoreBuilder, path: &Path, file: File) {
    for (i, line) in BufReader::new(file).lines().enumerate() {
        let line = match line {
            Ok(line) => line,
            Err(e) if e.kind() == std::io::ErrorKind::InvalidData => continue,
            Err(_) => break,
        };
        let line = if i == 0 {
            line.trim_start_matches('\u{feff}')
        } else {
            &line
        };
        // A line that does not parse is left out, as the crate keeps the others.
        let _ = builder.add_line(Some(path.to_path_buf()), line);
    }
}

/// Where a worktree's `info/exclude` lives: the common git folder named by the `commondir` file
/// of the git folder its `.git` file names (`gitdir: ...`).
pub fn resolve_git_commondir(files: &dyn RuleFiles) -> Option<PathBuf> {
    let line = BufReader::new(files.open(GIT_DIR)?).lines().next()?.ok()?;
    let real_git_dir = PathBuf::from(line.strip_prefix("gitdir: ")?);
    let commondir = first_line(&real_git_dir.join("commondir"))?;
    Some(if commondir.starts_with('.') {
        real_git_dir.join(commondir)
    } else {
        PathBuf::from(commondir)
    })
}

fn first_line(path: &Path) -> Option<String> {
    BufReader::new(File::open(path).ok()?).lines().next()?.ok()
}

/// What decides, once per walk, whether an entry is skipped (the crate's `Ignore` settings that
/// do not change from folder to folder).
#[derive(Debug)]
pub struct Matcher {
    /// The search root, as given (absolute).
    pub root: PathBuf,
    /// [`separated_len`] of the root.
    pub root_len: usize,
    pub overrides: Override,
    /// The caller gave globs; otherwise the overrides are only `!.git`, decided by name.
    pub has_globs: bool,
    pub skip_hidden: bool,
    pub global_gitignore: Option<Gitignore>,
    /// The canonical root, against which the rules of folders above it are matched.
    pub absolute_base: Option<PathBuf>,
    pub has_absolute_parent_rules: bool,
}

impl Matcher {
    /// The crate's `Ignore::matched`: overrides first, then the ignore files.
    pub fn matched(&self, chain: &Chain, path: &Path, name: &[u8], is_dir: bool) -> Match<()> {
        // `!.git` is always the last override and so wins for a `.git` at any depth; without
        // other globs nothing else can match, so the glob matcher is not consulted at all.
        if name == GIT_DIR.as_bytes() {
            return Match::Ignore(());
        }
        if self.has_globs {
            // Rooted at `.`: handed the path relative to the search root.
            let relative = relative_to(path, &self.root, self.root_len);
            let found = self.overrides.matched(relative, is_dir);
            if !found.is_none() {
                return found.map(|_| ());
            }
        }
        self.matched_ignore(chain, path, is_dir)
    }

    /// The crate's `Ignore::matched_ignore`: per kind of file the innermost folder's verdict,
    /// `.gitignore` and `info/exclude` only up to the nearest repository, then the precedence
    /// `.rgignore` > `.ignore` > `.gitignore` > `info/exclude` > global excludes.
    pub fn matched_ignore(&self, chain: &Chain, path: &Path, is_dir: bool) -> Match<()> {
        let any_git = chain.as_ref().is_some_and(|n| n.any_git);
        let mut found = Found::new();
        let mut saw_git = false;
        let mut above = None;
        for node in nodes(chain) {
            if node.is_absolute_parent {
                above = Some(node);
                break;
            }
            found.match_one(node, path, is_dir, any_git, saw_git);
            saw_git |= node.has_git;
        }
        if let (Some(first_above), true, Some(base)) = (
            above,
            self.has_absolute_parent_rules,
            self.absolute_base.as_ref(),
        ) {
            let relative = relative_to(path, &self.root, self.root_len);
            let parent_path = base.join(relative);
            let mut node = Some(first_above);
            while let Some(n) = node {
                found.match_one(n, &parent_path, is_dir, any_git, saw_git);
                saw_git |= n.has_git;
                node = n.parent.as_deref();
            }
        }
        let global = match (&self.global_gitignore, any_git) {
            (Some(global), true) => unit(global.matched(path, is_dir)),
            _ => Match::None,
        };
        found
            .custom
            .or(found.ignore)
            .or(found.git_ignore)
            .or(found.git_exclude)
            .or(global)
    }

    /// The crate's `should_skip_entry`: ignored, or hidden with no rule saying otherwise.
    pub fn should_skip_entry(&self, chain: &Chain, path: &Path, name: &[u8], is_dir: bool) -> bool {
        let found = self.matched(chain, path, name, is_dir);
        if found.is_none() && self.skip_hidden && name.first() == Some(&b'.') {
            return true;
        }
        found.is_ignore()
    }
}

/// The first verdict per kind of ignore file, innermost folder first.
struct Found {
    custom: Match<()>,
    ignore: Match<()>,
    git_ignore: Match<()>,
    git_exclude: Match<()>,
}

impl Found {
    fn new() -> Self {
        Found {
            custom: Match::None,
            ignore: Match::None,
            git_ignore: Match::None,
            git_exclude: Match::None,
        }
    }

    fn match_one(&mut self, node: &Rules, path: &Path, is_dir: bool, any_git: bool, saw_git: bool) {
        let path = node.relative(path);
        first(&mut self.custom, &node.custom, path, is_dir);
        first(&mut self.ignore, &node.ignore, path, is_dir);
        if any_git && !saw_git {
            first(&mut self.git_ignore, &node.git_ignore, path, is_dir);
            first(&mut self.git_exclude, &node.git_exclude, path, is_dir);
        }
    }
}

fn first(slot: &mut Match<()>, rules: &Option<Gitignore>, path: &Path, is_dir: bool) {
    if slot.is_none()
        && let Some(rules) = rules
    {
        *slot = unit(rules.matched(path, is_dir));
    }
}

fn unit<T>(found: Match<T>) -> Match<()> {
    found.map(|_| ())
}
