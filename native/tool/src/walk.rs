//! `walk`: the one directory walk behind `file_list`, `glob` and `grep`.
//!
//! It visits exactly the files `rg --hidden -g '!.git'` would search:
//!
//! - `.gitignore` files inside a git repository (nested, with negations), `.ignore`,
//!   `.rgignore`, `.git/info/exclude` and the global git excludes file, and such files in the
//!   parent folders of the search root, with ripgrep's precedence;
//! - globs are ripgrep `--glob` overrides: checked before any ignore file, so a positive glob
//!   keeps an ignored path and enters an ignored folder; with any positive glob, files matching
//!   none are dropped; `!glob` excludes; the last matching glob wins;
//! - `.git` is never entered or listed (an implicit last `!.git` override);
//! - symlinks are skipped unless followed, and a followed symlink that leads back to a folder
//!   above it is skipped, never walked again; unreadable folders are skipped.
//!
//! The rules are the `ignore` crate's own matchers (`Gitignore`, `Override`) applied as its
//! walker applies them ([`ripgrep_ignore`], a port of its `dir.rs`); the traversal is this
//! module's. Measured on the 46K-file standard library tree, the crate's `WalkParallel` spent
//! about half of its CPU time outside the kernel (a heap path, a work-queue message and an
//! `Ignore` node with four empty matchers per entry, every file passed through the queue) and
//! the rest opening files by absolute path. Here a folder is listed with `getdents` into a
//! reused buffer, only folders go through the shared queue, and a file is handed to the caller
//! while its folder is open, so it can be opened or `stat`ed relative to that folder.
//!
//! A large walk runs on several threads; callers sort what it collects, so results are
//! deterministic. Globs anchored below a literal folder (`src/**/*.rs`) prune the walk to the
//! folders on the way there.
//! The Python twin (`ironcode/twin/walk.py`) reimplements this precedence step by step.

mod beneath;
mod ripgrep_ignore;

use std::ffi::{CStr, OsStr};
use std::fs::{self, File};
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use ignore::gitignore::GitignoreBuilder;
use ignore::overrides::{Override, OverrideBuilder};
use rustix::fs::{AtFlags, CWD, FileType, Mode, OFlags, RawDir};
use rustix::io::Errno;

use crate::confine::Root;
use crate::error::{ErrorKind, IoResultExt, ToolError, ToolResult};
use crate::paths;
pub use beneath::{Beneath, search_target_beneath};
use beneath::{RuleFilesIn, open_dir_beneath, relative_bytes, root_ancestors_beneath};
use ripgrep_ignore::{ByPath, Chain, IgnoreFilesFound, Matcher};

/// The override appended after the caller's globs: `.git` is never entered or listed, whatever
/// the globs say (the last matching override wins).
pub const NEVER_GIT: &str = "!.git";
/// Once a walk has seen this many entries on the calling thread, helper threads join it.
/// Starting threads costs milliseconds on a busy machine, more than a small walk (this
/// repository: 0.5 ms on one thread vs 1.5-3 ms with a thread pool).
pub const PARALLEL_AFTER_ENTRIES: usize = 1000;

/// At most this many walker threads, however many cores there are (as ripgrep caps its own).
pub const MAX_THREADS: usize = 12;
/// The buffer one `getdents` call fills; a folder with more entries takes several calls.
pub const DIR_BUFFER_BYTES: usize = 32 * 1024;
/// Folders down to this depth are opened relative to their open parent (one name to look up,
/// not the whole path); the parent's descriptor stays open until its last subfolder is. The
/// queue is depth first, so this bounds the descriptors held to about this many per thread.
pub const OPEN_RELATIVE_DEPTH: usize = 32;
/// A folder with more entries than this hands its files to the queue in batches of this many,
/// so every walk thread can take some: otherwise the thread that listed a folder searches all
/// of its files, and one folder of 3,000 files of 110 KB kept one core busy and the other idle
/// (bench-grep's one-big-folder row). Small folders keep their files (no queue traffic).
pub const FILES_PER_BATCH: usize = 128;

/// What to walk and how; the defaults are ripgrep's with `--hidden`.
#[derive(Debug, Clone, Default)]
pub struct WalkOptions {
    /// ripgrep `--glob` overrides, relative to the search root.
    pub globs: Vec<String>,
    /// Skip files and folders whose name starts with `.` (ripgrep without `--hidden`).
    pub skip_hidden: bool,
    /// Follow symbolic links (ripgrep `--follow`); loops are detected and skipped.
    pub follow: bool,
    /// ripgrep `--max-depth`: 1 lists the root's direct children only.
    pub max_depth: Option<usize>,
    /// Confined to a root: where the walk starts and what it may open ([`Beneath`]).
    pub beneath: Option<Beneath>,
    /// Helper threads also join once the walk has run this long on the calling thread, however
    /// few entries it has seen: for a `keep` that costs more than listing (grep searches each
    /// file, so a small tree's walk takes milliseconds without reaching
    /// [`PARALLEL_AFTER_ENTRIES`]).
    pub parallel_after: Option<std::time::Duration>,
}

/// The folder a search walks: `path` made absolute. Raises `not_found` when it does not exist and
/// `not_a_directory` when it is something else.
pub fn search_root(path: &str) -> ToolResult<PathBuf> {
    let root = search_target(path)?;
    if !root.is_dir() {
        return Err(ToolError::new(
            ErrorKind::NotADirectory,
            format!(
                "Path is not a directory: {} (pass the folder that contains it)",
                root.display()
            ),
        ));
    }
    Ok(root)
}

/// Like [`search_root`] but a single file is accepted too (grep searches one file).
pub fn search_target(path: &str) -> ToolResult<PathBuf> {
    let root = paths::absolute(path)?;
    fs::metadata(&root).at(&root)?;
    Ok(root)
}

/// [`search_root`], or with `root` the folder opened beneath it: its path as results spell it,
/// and the [`Beneath`] a walk of it needs.
pub fn search_root_at(path: &str, root: Option<&str>) -> ToolResult<(PathBuf, Option<Beneath>)> {
    let Some(root) = root else {
        return Ok((search_root(path)?, None));
    };
    match search_target_at(path, Some(root))? {
        SearchTarget::Folder(shown, beneath) => Ok((shown, beneath)),
        SearchTarget::File(shown, _) | SearchTarget::Other(shown) => Err(ToolError::new(
            ErrorKind::NotADirectory,
            format!(
                "Path is not a directory: {} (pass the folder that contains it)",
                shown.display()
            ),
        )),
    }
}

/// What a search was pointed at.
pub enum SearchTarget {
    /// A folder to walk (confined: with its [`Beneath`]).
    Folder(PathBuf, Option<Beneath>),
    /// One file, open.
    File(PathBuf, File),
    /// Something else (a FIFO, a device): not read, it could block forever.
    Other(PathBuf),
}

/// [`search_target`], or with `root` [`search_target_beneath`].
pub fn search_target_at(path: &str, root: Option<&str>) -> ToolResult<SearchTarget> {
    let Some(root) = root else {
        let target = search_target(path)?;
        return Ok(if target.is_dir() {
            SearchTarget::Folder(target, None)
        } else if target.is_file() {
            // A file named directly that cannot be opened is an error, as rg reports it.
            let file = File::open(&target).at(&target)?;
            SearchTarget::File(target, file)
        } else {
            SearchTarget::Other(target)
        });
    };
    search_target_beneath(Arc::new(Root::open(root)?), path)
}

/// Compiles the caller's globs, plus [`NEVER_GIT`], into ripgrep's override matcher rooted at
/// `root` (the walk roots it at `.` and hands it relative paths). A glob that does not parse is
/// `invalid_pattern` with the glob engine's message.
pub fn overrides(root: &Path, globs: &[String]) -> ToolResult<Override> {
    let mut builder = OverrideBuilder::new(root);
    for glob in globs {
        builder.add(glob).map_err(|e| invalid_glob(glob, &e))?;
    }
    builder
        .add(NEVER_GIT)
        .map_err(|e| invalid_glob(NEVER_GIT, &e))?;
    builder.build().map_err(|e| invalid_glob("", &e))
}

fn invalid_glob(glob: &str, err: &ignore::Error) -> ToolError {
    ToolError::new(
        ErrorKind::InvalidPattern,
        format!("Invalid glob '{glob}': {err}"),
    )
}

/// One walk's settings: the matcher every folder shares, and how deep and where to go.
struct Walk {
    matcher: Matcher,
    /// The rules of the folders above the root (probed once).
    parents: Chain,
    follow: bool,
    max_depth: Option<usize>,
    /// Only folders on the way to this path, and what is below it, are walked (a glob prefix).
    only_towards: Option<PathBuf>,
    /// Bytes of the root path plus its separator: an entry's path relative to the root follows.
    root_len: usize,
    /// When following symlinks: the folders above the root (a link to one of them is a loop).
    root_ancestors: Option<Arc<Ancestor>>,
    /// Confined to a root.
    beneath: Option<Beneath>,
    parallel_after: Option<std::time::Duration>,
}

/// ripgrep's walk of `root` as `rg --hidden -g GLOB... -g '!.git'` configures it, with global
/// gitignore patterns interpreted relative to `root` (ripgrep: its working directory, which is
/// `root` when it is run from there).
fn builder(root: &Path, options: &WalkOptions) -> ToolResult<Walk> {
    // Rooted at `.`: the matcher is handed paths relative to the root (see ripgrep_ignore).
    let overrides = overrides(Path::new(ripgrep_ignore::RELATIVE_ROOT), &options.globs)?;
    let (parents, absolute_base, has_absolute_parent_rules) = match &options.beneath {
        None => ripgrep_ignore::add_parents(root.canonicalize().ok(), &|folder| {
            Box::new(ByPath(folder.to_path_buf()))
        }),
        Some(beneath) => ripgrep_ignore::add_parents(Some(beneath.real.clone()), &|folder| {
            beneath.rule_files_of(folder)
        }),
    };
    let (global, _) = GitignoreBuilder::new(root).build_global();
    let root_len = ripgrep_ignore::separated_len(root);
    Ok(Walk {
        matcher: Matcher {
            root: root.to_path_buf(),
            root_len,
            overrides,
            has_globs: !options.globs.is_empty(),
            skip_hidden: options.skip_hidden,
            global_gitignore: (!global.is_empty()).then_some(global),
            absolute_base,
            has_absolute_parent_rules,
        },
        parents,
        follow: options.follow,
        max_depth: options.max_depth,
        // Only the folders on the way to the prefix and below it can hold a file the globs
        // keep; every ignore file on the way still applies, so nothing else changes.
        only_towards: literal_prefix(&options.globs).map(|prefix| root.join(prefix)),
        root_len,
        root_ancestors: match (&options.beneath, options.follow) {
            (_, false) => None,
            (None, true) => root_ancestors(root),
            (Some(beneath), true) => root_ancestors_beneath(beneath),
        },
        beneath: options.beneath.clone(),
        parallel_after: options.parallel_after,
    })
}

/// The folders above the canonical `root`, outermost first in the chain's tail: the crate's
/// loop check compares a link's target with them too (a link to a folder above the root leads
/// back to the root).
fn root_ancestors(root: &Path) -> Option<Arc<Ancestor>> {
    let canonical = root.canonicalize().ok()?;
    let mut parents: Vec<&Path> = canonical.ancestors().skip(1).collect();
    parents.reverse();
    let mut chain = None;
    for parent in parents {
        let stat = rustix::fs::stat(parent).ok()?;
        chain = Some(Arc::new(Ancestor {
            id: (stat.st_dev, stat.st_ino),
            parent: chain,
        }));
    }
    chain
}

/// The folder, relative to the root, below which every file the globs can keep must lie: the
/// literal leading folders shared by all positive globs when each is anchored (`src/**/*.rs` →
/// `src`). None when some positive glob can match anywhere, or there is no positive glob.
pub fn literal_prefix(globs: &[String]) -> Option<PathBuf> {
    let mut common: Option<Vec<&str>> = None;
    for glob in globs {
        if glob.is_empty() || glob.starts_with('!') || glob.starts_with('#') {
            continue; // excludes, comments and empty lines never keep a file
        }
        if glob.starts_with('\\') || glob.ends_with(' ') {
            return None;
        }
        let anchored = glob.starts_with('/');
        let line = glob.trim_start_matches('/').trim_end_matches('/');
        if !anchored && !line.contains('/') {
            return None;
        }
        let parts: Vec<&str> = line.split('/').collect();
        let literal: Vec<&str> = parts[..parts.len() - 1]
            .iter()
            .take_while(|p| is_literal_folder(p))
            .copied()
            .collect();
        common = Some(match common {
            None => literal,
            Some(before) => before
                .iter()
                .zip(&literal)
                .take_while(|(a, b)| a == b)
                .map(|(a, _)| *a)
                .collect(),
        });
    }
    let common = common?;
    (!common.is_empty()).then(|| common.iter().collect())
}

fn is_literal_folder(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains(GLOB_META)
}

/// Characters with a meaning in a glob; a folder name without them is matched literally.
const GLOB_META: &[char] = &['*', '?', '[', ']', '{', '}', '\\'];

/// A regular file the walk keeps (a followed symlink counts as the file it points to), lent to
/// the caller while its folder is open, so it can be opened or `stat`ed without looking its
/// whole path up again.
pub struct FileEntry<'a> {
    path: &'a Path,
    root_len: usize,
    dir: BorrowedFd<'a>,
    name: &'a CStr,
    /// Confined: the root to open a followed symlink through.
    beneath: Option<&'a Beneath>,
    /// The entry is a followed symlink.
    via_link: bool,
}

impl FileEntry<'_> {
    /// The file's absolute path.
    pub fn path(&self) -> &Path {
        self.path
    }

    /// The path relative to the search root, `/`-separated, lossy for names that are not UTF-8.
    pub fn relative(&self) -> String {
        let bytes = self.path.as_os_str().as_bytes();
        String::from_utf8_lossy(bytes.get(self.root_len..).unwrap_or(bytes)).into_owned()
    }

    /// Opens the file for reading, as `File::open(path)` would (following a symlink; confined,
    /// a followed symlink through the root and anything else never through a symlink).
    pub fn open(&self) -> io::Result<File> {
        let flags = OFlags::RDONLY | OFlags::CLOEXEC;
        let fd = match self.beneath {
            None => rustix::fs::openat(self.dir, self.name, flags, Mode::empty())?,
            Some(beneath) if self.via_link => {
                beneath.open(self.relative_bytes(), OFlags::RDONLY)?
            }
            Some(_) => {
                rustix::fs::openat(self.dir, self.name, flags | OFlags::NOFOLLOW, Mode::empty())?
            }
        };
        Ok(File::from(fd))
    }

    fn relative_bytes(&self) -> &[u8] {
        let bytes = self.path.as_os_str().as_bytes();
        bytes.get(self.root_len..).unwrap_or(bytes)
    }

    /// Modification time in nanoseconds since the epoch (negative before it), following
    /// symlinks; None when the file vanished since its folder was listed.
    pub fn modified_ns(&self) -> Option<i128> {
        // fstatat, not statx: some kernels and seccomp profiles refuse statx.
        let stat = match self.beneath {
            None => rustix::fs::statat(self.dir, self.name, AtFlags::empty()).ok()?,
            Some(beneath) if self.via_link => {
                rustix::fs::fstat(beneath.open(self.relative_bytes(), OFlags::PATH).ok()?).ok()?
            }
            Some(_) => rustix::fs::statat(self.dir, self.name, AtFlags::SYMLINK_NOFOLLOW).ok()?,
        };
        Some(crate::glob::epoch_ns(
            stat.st_mtime,
            stat.st_mtime_nsec as i64,
        ))
    }
}

/// Walks `root` and returns `keep(entry)` for every regular file the walk visits (a followed
/// symlink counts as the file it points to). Entries the walk cannot read (unreadable folders,
/// broken links, symlink loops) are skipped. The order is unspecified.
pub fn collect_files<T, F>(root: &Path, options: &WalkOptions, keep: F) -> ToolResult<Vec<T>>
where
    T: Send,
    F: Fn(&FileEntry) -> Option<T> + Sync,
{
    collect_files_with(root, options, || (), |_, entry| Ok(keep(entry)))
}

/// Like [`collect_files`], with per-thread state made by `init` and lent to every `keep` call
/// on that thread (grep keeps one reusable searcher and read buffer per thread). An error from
/// `keep` ends the walk and is returned (grep: no descriptor left to open a file with).
///
/// The walk starts on the calling thread; once it has seen [`PARALLEL_AFTER_ENTRIES`] entries,
/// helper threads (one per further core) take folders, and batches of a large folder's files,
/// from the same queue.
pub fn collect_files_with<S, T, I, F>(
    root: &Path,
    options: &WalkOptions,
    init: I,
    keep: F,
) -> ToolResult<Vec<T>>
where
    S: Send,
    T: Send,
    I: Fn() -> S + Sync,
    F: Fn(&mut S, &FileEntry) -> ToolResult<Option<T>> + Sync,
{
    let walk = builder(root, options)?;
    let opened = match &options.beneath {
        Some(beneath) => Some(
            rustix::io::fcntl_dupfd_cloexec(&*beneath.start, 0)
                .map_err(|e| ToolError::from_io(&e.into(), root))?,
        ),
        None => None,
    };
    let queue = Queue::new(Work::Dir(DirWork {
        path: root.to_path_buf(),
        parent: None,
        opened,
        via_link: false,
        depth: 0,
        rules: walk.parents.clone(),
        ancestors: walk.root_ancestors.clone(),
    }));
    let (walk, queue, init, keep) = (&walk, &queue, &init, &keep);
    let found = std::thread::scope(|scope| {
        let mut helpers = Vec::new();
        let mut main = Worker::new(walk, keep, init());
        main.run(queue, &mut || {
            // Asked only now: std reads the cgroup CPU quota files to answer (5 opens).
            let threads = std::thread::available_parallelism()
                .map_or(1, |n| n.get())
                .min(MAX_THREADS);
            for _ in 1..threads {
                let started = std::thread::Builder::new().spawn_scoped(scope, move || {
                    let mut helper = Worker::new(walk, keep, init());
                    helper.run(queue, &mut || {});
                    helper.found
                });
                match started {
                    Ok(helper) => helpers.push(helper),
                    Err(_) => break, // no more threads (RLIMIT_NPROC): the ones running finish
                }
            }
        });
        let mut found = main.found;
        for helper in helpers {
            match helper.join() {
                Ok(mut more) => found.append(&mut more),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        found
    });
    match queue.lock().error.take() {
        Some(error) => Err(error),
        None => Ok(found),
    }
}

/// A folder waiting to be read.
struct DirWork {
    path: PathBuf,
    /// The open folder it lies in, when it is to be opened relative to it.
    parent: Option<Arc<OwnedFd>>,
    /// Already open (a confined walk's first folder).
    opened: Option<OwnedFd>,
    /// Reached through a followed symlink.
    via_link: bool,
    depth: usize,
    /// The rules in force in the folder above it.
    rules: Chain,
    /// When following symlinks: the folders it lies in, to recognise a link back up.
    ancestors: Option<Arc<Ancestor>>,
}

/// Files of one large folder, already kept by the rules, waiting to be handed to `keep`.
struct FileBatch {
    /// The open folder they lie in (they are opened relative to it).
    dir: Arc<OwnedFd>,
    /// The folder's path, ending with `/`.
    dir_path: Arc<[u8]>,
    /// Their names, NUL-terminated, back to back.
    names: Vec<u8>,
}

/// What a walk thread takes from the queue.
enum Work {
    Dir(DirWork),
    Files(FileBatch),
}

/// A folder on the way down (device and inode), when following symlinks.
struct Ancestor {
    id: (u64, u64),
    parent: Option<Arc<Ancestor>>,
}

/// The folders still to read and file batches still to search, shared by the walk's threads
/// (last in, first out: depth first, a folder's batches before its subfolders).
struct Queue {
    state: Mutex<QueueState>,
    ready: Condvar,
}

struct QueueState {
    folders: Vec<Work>,
    /// Threads reading a folder or searching a batch (which may add more).
    busy: usize,
    /// Threads waiting for a folder.
    idle: usize,
    /// A thread panicked, or met an error that ends the walk: the others stop instead of
    /// waiting for it forever.
    failed: bool,
    /// The error that ended the walk, if one did (the first).
    error: Option<ToolError>,
}

impl Queue {
    fn new(root: Work) -> Self {
        Queue {
            state: Mutex::new(QueueState {
                folders: vec![root],
                busy: 0,
                idle: 0,
                failed: false,
                error: None,
            }),
            ready: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, QueueState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The next folder to read or batch to search; None once the walk is over (nothing queued
    /// and nobody busy).
    fn next(&self) -> Option<Work> {
        let mut state = self.lock();
        loop {
            if state.failed {
                return None;
            }
            if let Some(work) = state.folders.pop() {
                state.busy += 1;
                return Some(work);
            }
            if state.busy == 0 {
                return None;
            }
            state.idle += 1;
            state = self.ready.wait(state).unwrap_or_else(|p| p.into_inner());
            state.idle -= 1;
        }
    }

    /// Hands over the subfolders of a folder just read, then its file batches (taken first).
    fn finish(&self, subfolders: &mut Vec<Work>, batches: &mut Vec<Work>) {
        let mut state = self.lock();
        state.busy -= 1;
        state.folders.append(subfolders);
        state.folders.append(batches);
        if state.idle > 0 && (!state.folders.is_empty() || state.busy == 0) {
            self.ready.notify_all();
        }
    }
}

impl Queue {
    /// Ends the walk for every thread with `error` (the first one is kept).
    fn fail(&self, error: ToolError) {
        let mut state = self.lock();
        state.failed = true;
        state.error.get_or_insert(error);
        self.ready.notify_all();
    }
}

/// Marks the queue failed if the thread holding it unwinds (a panic in `keep`).
struct PanicGuard<'a>(&'a Queue);

impl Drop for PanicGuard<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.lock().failed = true;
            self.0.ready.notify_all();
        }
    }
}

/// One walk thread: its buffers, its state for `keep`, and what it kept.
struct Worker<'w, S, T, F> {
    walk: &'w Walk,
    keep: &'w F,
    state: S,
    found: Vec<T>,
    /// `getdents` output.
    dir_buffer: Vec<u8>,
    /// The names of the folder being read, NUL-terminated, back to back.
    names: Vec<u8>,
    /// (start of the name in `names`, its type) per entry.
    entries: Vec<(usize, FileType)>,
    /// The path of the entry being looked at.
    path: Vec<u8>,
    subfolders: Vec<Work>,
    /// The batches of the folder being read, when it is a large one.
    batches: Vec<Work>,
    seen: usize,
}

impl<'w, S, T, F> Worker<'w, S, T, F>
where
    F: Fn(&mut S, &FileEntry) -> ToolResult<Option<T>>,
{
    fn new(walk: &'w Walk, keep: &'w F, state: S) -> Self {
        Worker {
            walk,
            keep,
            state,
            found: Vec::new(),
            dir_buffer: Vec::with_capacity(DIR_BUFFER_BYTES),
            names: Vec::new(),
            entries: Vec::new(),
            path: Vec::new(),
            subfolders: Vec::new(),
            batches: Vec::new(),
            seen: 0,
        }
    }

    /// Reads folders from `queue` until the walk is over; calls `grow` once, when this thread
    /// has seen [`PARALLEL_AFTER_ENTRIES`] entries or run for the walk's `parallel_after`.
    fn run(&mut self, queue: &Queue, grow: &mut dyn FnMut()) {
        let started = std::time::Instant::now();
        let mut grown = false;
        while let Some(work) = queue.next() {
            let guard = PanicGuard(queue);
            let read = match work {
                Work::Dir(work) => self.read_dir(work),
                Work::Files(batch) => self.search_batch(batch),
            };
            queue.finish(&mut self.subfolders, &mut self.batches);
            if let Err(error) = read {
                queue.fail(error);
            }
            drop(guard);
            if !grown
                && (self.seen >= PARALLEL_AFTER_ENTRIES
                    || self
                        .walk
                        .parallel_after
                        .is_some_and(|after| started.elapsed() >= after))
            {
                grown = true;
                grow();
            }
        }
    }

    /// Lists one folder, keeps its files and queues its subfolders (the crate's `run_one` and
    /// `generate_work`). An unreadable folder is skipped, as ripgrep warns and goes on; running
    /// out of descriptors or memory ends the walk with an error instead of an answer that
    /// silently lacks the folder.
    fn read_dir(&mut self, mut work: DirWork) -> ToolResult<()> {
        if self.walk.max_depth.is_some_and(|max| work.depth >= max) {
            return Ok(());
        }
        let opened = match (work.opened.take(), &self.walk.beneath) {
            (Some(dir), _) => Ok(dir),
            (None, None) => open_dir(&work),
            (None, Some(beneath)) => open_dir_beneath(&work, beneath, self.walk.root_len),
        };
        let dir = match opened {
            Ok(dir) => dir,
            Err(error) if is_resource_exhausted(&error) => {
                return Err(ToolError::from_io(&error, &work.path));
            }
            Err(_) => return Ok(()),
        };
        let dir = Arc::new(dir);
        let found = self.list(&dir);
        self.seen += self.entries.len();
        let relative = relative_bytes(&work.path, self.walk.root_len);
        let files = RuleFilesIn {
            dir: dir.as_fd(),
            beneath: self.walk.beneath.as_ref().map(|b| (b, relative)),
        };
        let rules = ripgrep_ignore::add_child_path(&work.rules, &work.path, found, false, &files);
        let ancestors = if self.walk.follow {
            let Ok(stat) = rustix::fs::fstat(&dir) else {
                return Ok(());
            };
            Some(Arc::new(Ancestor {
                id: (stat.st_dev, stat.st_ino),
                parent: work.ancestors.clone(),
            }))
        } else {
            None
        };
        self.path.clear();
        self.path
            .extend_from_slice(work.path.as_os_str().as_bytes());
        if !self.path.ends_with(b"/") {
            self.path.push(b'/');
        }
        let dir_len = self.path.len();
        // A large folder's files go to the queue in batches, for any thread to search.
        let split = self.entries.len() > FILES_PER_BATCH;
        let mut batch = Vec::new();
        let mut in_batch = 0;
        for i in 0..self.entries.len() {
            let (start, file_type) = self.entries[i];
            let Ok(name) = CStr::from_bytes_until_nul(&self.names[start..]) else {
                continue;
            };
            self.path.truncate(dir_len);
            self.path.extend_from_slice(name.to_bytes());
            let Some((kind, via_link)) =
                self.entry_kind(&dir, name, file_type, ancestors.as_deref())
            else {
                continue;
            };
            let path = Path::new(OsStr::from_bytes(&self.path));
            let is_dir = kind == EntryKind::Dir;
            if self
                .walk
                .matcher
                .should_skip_entry(&rules, path, name.to_bytes(), is_dir)
            {
                continue;
            }
            if let Some(target) = &self.walk.only_towards
                && !(target.starts_with(path) || path.starts_with(target))
            {
                continue;
            }
            match kind {
                // A folder at the depth limit would only be dropped by the thread taking it.
                EntryKind::Dir if self.walk.max_depth.is_some_and(|max| work.depth + 1 >= max) => {}
                EntryKind::Dir => self.subfolders.push(Work::Dir(DirWork {
                    path: path.to_path_buf(),
                    parent: (work.depth < OPEN_RELATIVE_DEPTH).then(|| dir.clone()),
                    opened: None,
                    via_link,
                    depth: work.depth + 1,
                    rules: rules.clone(),
                    ancestors: ancestors.clone(),
                })),
                // A followed symlink is searched here: a batch holds plain names only.
                EntryKind::File if split && !via_link => {
                    batch.extend_from_slice(name.to_bytes_with_nul());
                    in_batch += 1;
                    if in_batch == FILES_PER_BATCH {
                        self.batches.push(Work::Files(FileBatch {
                            dir: dir.clone(),
                            dir_path: Arc::from(&self.path[..dir_len]),
                            names: std::mem::take(&mut batch),
                        }));
                        in_batch = 0;
                    }
                }
                EntryKind::File => {
                    let entry = FileEntry {
                        path,
                        root_len: self.walk.root_len,
                        dir: dir.as_fd(),
                        name,
                        beneath: self.walk.beneath.as_ref(),
                        via_link,
                    };
                    if let Some(value) = (self.keep)(&mut self.state, &entry)? {
                        self.found.push(value);
                    }
                }
                EntryKind::Other => {}
            }
        }
        if in_batch > 0 {
            self.batches.push(Work::Files(FileBatch {
                dir: dir.clone(),
                dir_path: Arc::from(&self.path[..dir_len]),
                names: batch,
            }));
        }
        Ok(())
    }

    /// Hands each file of a batch to `keep`, as [`Self::read_dir`] hands those of a small folder.
    fn search_batch(&mut self, batch: FileBatch) -> ToolResult<()> {
        self.path.clear();
        self.path.extend_from_slice(&batch.dir_path);
        let dir_len = self.path.len();
        let mut names = &batch.names[..];
        while let Ok(name) = CStr::from_bytes_until_nul(names) {
            names = &names[name.to_bytes_with_nul().len()..];
            self.path.truncate(dir_len);
            self.path.extend_from_slice(name.to_bytes());
            let entry = FileEntry {
                path: Path::new(OsStr::from_bytes(&self.path)),
                root_len: self.walk.root_len,
                dir: batch.dir.as_fd(),
                name,
                beneath: self.walk.beneath.as_ref(),
                via_link: false,
            };
            if let Some(value) = (self.keep)(&mut self.state, &entry)? {
                self.found.push(value);
            }
        }
        Ok(())
    }

    /// Reads the names and types of the open folder `dir` into `names` and `entries`, and
    /// notes which of them are rule files.
    fn list(&mut self, dir: &OwnedFd) -> IgnoreFilesFound {
        self.names.clear();
        self.entries.clear();
        let mut found = IgnoreFilesFound::default();
        let buffer: &mut [MaybeUninit<u8>] = self.dir_buffer.spare_capacity_mut();
        let mut listing = RawDir::new(dir, buffer);
        while let Some(entry) = listing.next() {
            // An error while listing ends the folder: what was read is kept, as the crate
            // keeps the entries before an error.
            let Ok(entry) = entry else { break };
            let name = entry.file_name().to_bytes();
            if name == b"." || name == b".." {
                continue;
            }
            found.note(name);
            self.entries.push((self.names.len(), entry.file_type()));
            self.names.extend_from_slice(name);
            self.names.push(0);
        }
        found
    }

    /// What an entry is for the walk, and whether it is a followed symlink, following a symlink
    /// when asked; None for an entry to skip (it vanished, its link is broken or leads out of
    /// the root, or it leads back to a folder it lies in).
    fn entry_kind(
        &self,
        dir: &OwnedFd,
        name: &CStr,
        listed: FileType,
        ancestors: Option<&Ancestor>,
    ) -> Option<(EntryKind, bool)> {
        let file_type = match listed {
            // Some file systems do not fill in the type: ask, as std's `DirEntry` does.
            FileType::Unknown => {
                let stat = rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW).ok()?;
                FileType::from_raw_mode(stat.st_mode)
            }
            known => known,
        };
        if file_type == FileType::Symlink && self.walk.follow {
            let stat = match &self.walk.beneath {
                None => rustix::fs::statat(dir, name, AtFlags::empty()).ok()?,
                Some(beneath) => {
                    let relative = relative_bytes(
                        Path::new(OsStr::from_bytes(&self.path)),
                        self.walk.root_len,
                    );
                    rustix::fs::fstat(beneath.open(relative, OFlags::PATH).ok()?).ok()?
                }
            };
            let target = FileType::from_raw_mode(stat.st_mode);
            if target == FileType::Directory
                && is_symlink_loop(ancestors, (stat.st_dev, stat.st_ino))
            {
                return None;
            }
            return Some((EntryKind::of(target), true));
        }
        Some((EntryKind::of(file_type), false))
    }
}

/// Whether an error says the process ran out of descriptors or memory, not that the entry is
/// unreadable: such an error ends a walk (an answer that silently lacks the entry would be
/// wrong), where an unreadable entry is skipped as ripgrep skips it.
pub fn is_resource_exhausted(error: &io::Error) -> bool {
    matches!(
        error.raw_os_error(),
        Some(code) if code == Errno::MFILE.raw_os_error()
            || code == Errno::NFILE.raw_os_error()
            || code == Errno::NOMEM.raw_os_error()
    )
}

/// Opens a folder to list it: by its name in its open parent when there is one, else by path.
fn open_dir(work: &DirWork) -> io::Result<OwnedFd> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let opened = match (&work.parent, work.path.file_name()) {
        (Some(parent), Some(name)) => rustix::fs::openat(parent, name, flags, Mode::empty()),
        _ => rustix::fs::openat(CWD, &work.path, flags, Mode::empty()),
    };
    Ok(opened?)
}

/// What the walk does with an entry: read it, keep it, or neither (a symlink not followed, a
/// socket, a device).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EntryKind {
    Dir,
    File,
    Other,
}

impl EntryKind {
    fn of(file_type: FileType) -> Self {
        match file_type {
            FileType::Directory => EntryKind::Dir,
            FileType::RegularFile => EntryKind::File,
            _ => EntryKind::Other,
        }
    }
}

/// The crate's `check_symlink_loop`: a followed link to a folder is a loop when that folder is
/// one the link lies in, the search root or a folder above it included.
fn is_symlink_loop(ancestors: Option<&Ancestor>, target: (u64, u64)) -> bool {
    std::iter::successors(ancestors, |a| a.parent.as_deref()).any(|a| a.id == target)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, content) in files {
            let p = dir.path().join(name);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, content).unwrap();
        }
        dir
    }

    fn list(root: &Path, options: &WalkOptions) -> Vec<String> {
        let mut out = collect_files(root, options, |e| Some(e.relative())).unwrap();
        out.sort();
        out
    }

    #[test]
    fn git_folder_is_never_listed_even_under_a_star_glob() {
        let dir = tree(&[("a.txt", ""), (".git/config", ""), ("sub/.git", "")]);
        let root = dir.path().canonicalize().unwrap();
        let options = WalkOptions {
            globs: vec!["*".into()],
            ..Default::default()
        };
        assert_eq!(list(&root, &options), vec!["a.txt"]);
    }

    #[test]
    fn positive_glob_enters_an_ignored_folder() {
        let dir = tree(&[
            (".git/HEAD", ""),
            (".gitignore", "mime/\ndrop.txt\n"),
            ("email/mime/a.py", ""),
            ("drop.txt", ""),
            ("keep.py", ""),
        ]);
        let root = dir.path().canonicalize().unwrap();
        assert_eq!(
            list(&root, &WalkOptions::default()),
            vec![".gitignore", "keep.py"]
        );
        // `email/**` matches the ignored folder `email/mime` itself, so the walk enters it.
        let options = WalkOptions {
            globs: vec!["email/**".into(), "*.txt".into()],
            ..Default::default()
        };
        assert_eq!(list(&root, &options), vec!["drop.txt", "email/mime/a.py"]);
    }

    #[test]
    fn a_tree_deeper_than_the_relative_opens_is_listed_whole() {
        // Below OPEN_RELATIVE_DEPTH folders are opened by path instead of by parent.
        let mut files = Vec::new();
        let mut dir = String::new();
        for depth in 0..OPEN_RELATIVE_DEPTH + 8 {
            dir.push_str(&format!("d{depth}/"));
            files.push(format!("{dir}f.txt"));
        }
        let owned: Vec<(&str, &str)> = files.iter().map(|f| (f.as_str(), "")).collect();
        let dir = tree(&owned);
        let root = dir.path().canonicalize().unwrap();
        let mut expected = files.clone();
        expected.sort();
        assert_eq!(list(&root, &WalkOptions::default()), expected);
    }

    #[test]
    fn a_panic_in_keep_on_a_helper_thread_reaches_the_caller_instead_of_hanging() {
        // Enough entries for helper threads to start; every file panics, on whichever thread.
        let names: Vec<String> = (0..3 * PARALLEL_AFTER_ENTRIES)
            .map(|i| format!("d{}/f{i}.txt", i % 50))
            .collect();
        let owned: Vec<(&str, &str)> = names.iter().map(|f| (f.as_str(), "")).collect();
        let dir = tree(&owned);
        let root = dir.path().canonicalize().unwrap();
        let seen = std::sync::atomic::AtomicUsize::new(0);
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            collect_files(&root, &WalkOptions::default(), |_| -> Option<()> {
                if seen.fetch_add(1, std::sync::atomic::Ordering::Relaxed) > PARALLEL_AFTER_ENTRIES
                {
                    panic!("keep failed");
                }
                None
            })
        }));
        assert!(outcome.is_err());
    }

    #[test]
    fn a_large_folder_is_handed_out_in_batches_and_each_file_kept_once() {
        // More entries than start the helper threads, in one folder: its files go out in
        // batches (the last one short), searched by whichever thread takes them.
        let count = PARALLEL_AFTER_ENTRIES + 3 * FILES_PER_BATCH + 5;
        let names: Vec<String> = (0..count).map(|i| format!("f{i:05}.txt")).collect();
        let mut owned: Vec<(&str, &str)> = names.iter().map(|f| (f.as_str(), "")).collect();
        owned.push(("sub/inner.txt", ""));
        let dir = tree(&owned);
        let root = dir.path().canonicalize().unwrap();
        let mut expected = names.clone();
        expected.push("sub/inner.txt".to_string());
        expected.sort();
        assert_eq!(list(&root, &WalkOptions::default()), expected);
        // Files of a batch are opened relative to their folder, as the others are.
        let sizes = collect_files(&root, &WalkOptions::default(), |e| {
            Some(e.open().ok()?.metadata().ok()?.len())
        })
        .unwrap();
        assert_eq!(sizes.len(), count + 1);
    }

    #[test]
    fn literal_prefix_is_the_shared_anchored_folder() {
        let prefix = |globs: &[&str]| {
            literal_prefix(&globs.iter().map(|g| g.to_string()).collect::<Vec<_>>())
        };
        assert_eq!(prefix(&["src/**/*.rs"]), Some(PathBuf::from("src")));
        assert_eq!(
            prefix(&["/a/b/*.py", "a/b/c/d", "!x"]),
            Some(PathBuf::from("a/b"))
        );
        assert_eq!(prefix(&["*.rs"]), None);
        assert_eq!(prefix(&["src/*.rs", "*.py"]), None);
        assert_eq!(prefix(&["a/*", "b/*"]), None);
        assert_eq!(prefix(&["**/a/*"]), None);
        assert_eq!(prefix(&["!.git"]), None);
    }

    #[test]
    fn bad_glob_is_invalid_pattern() {
        let err = overrides(Path::new("/"), &["{a,b".into()]).unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidPattern);
    }
}
