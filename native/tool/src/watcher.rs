//! `watcher`: watches a folder tree and queues `add` / `change` / `unlink` events that the caller
//! takes with [`poll`] or blocks for with [`wait`].
//!
//! The migration plan's watcher drained notify's channel on a 5 ms timer and lost to
//! @parcel/watcher on single-file latency. Here nothing polls: notify's inotify thread pushes each
//! event into the watcher's queue and signals a condition variable, and [`wait`] sleeps on that
//! condition variable until an event arrives or the timeout passes (ctypes releases the GIL for
//! the call, so other Python threads keep running).
//!
//! Each folder gets its own non-recursive watch, added by this module, so a folder matching an
//! ignore glob (`node_modules`, `.git`) costs no inotify watch at all. A folder created after the
//! start is watched by a scanner thread *before* its entries are listed, and every entry found is
//! queued as `add`: files written into a brand-new folder before its watch existed are still
//! reported (notify's own recursive mode loses them, notify-rs issue 727).
//!
//! State lives in a registry keyed by id ([`open`] returns it); every lock recovers from poisoning.
//! The queue is in `watcher/queue.rs`, the ignore globs in `watcher/globs.rs`.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Condvar, LazyLock, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ignore::gitignore::Gitignore;
use notify::event::{CreateKind, ModifyKind, RenameMode};
use notify::{Config, EventKind, RecommendedWatcher, RecursiveMode, Watcher as _};
use serde::Serialize;

use crate::error::{ErrorKind, IoResultExt, ToolError, ToolResult};
use crate::paths;

mod globs;
mod queue;

use globs::{build_matcher, is_ignored};
pub use queue::{Event, EventQueue, Kind};

/// Events kept when the caller gives no `max_queue`.
pub const DEFAULT_MAX_QUEUE: usize = 1000;
/// The largest `max_queue` accepted (about 100 MB of queued paths at worst).
pub const MAX_QUEUE_LIMIT: usize = 1_000_000;
/// Longer waits are cut to this (the caller simply waits again).
pub const MAX_WAIT_SECONDS: f64 = 86_400.0;
/// The sysctl that bounds inotify watches per user: one per watched folder.
pub const WATCHES_SYSCTL: &str = "fs.inotify.max_user_watches";
/// The sysctl that bounds inotify instances per user: one per open watcher.
pub const INSTANCES_SYSCTL: &str = "fs.inotify.max_user_instances";
/// `errno` values that mean "no more file descriptors" when creating an inotify instance.
const EMFILE: i32 = 24;
const ENFILE: i32 = 23;
/// Longest [`close`] waits for notify's inotify thread to let go of the watcher. That thread ends
/// on its own after the watcher is dropped; without the wait, a loop opening and closing watchers
/// outran it and hit the per-user limit of inotify instances (128 by default) with every watcher
/// already closed.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// The answer of [`open`].
#[derive(Debug, Serialize)]
pub struct Opened {
    pub id: u64,
    pub path: String,
}

/// The answer of [`info`]: `error` is a failure waiting to be raised by the next poll or wait.
#[derive(Debug, Serialize)]
pub struct Info {
    pub path: String,
    pub pending: usize,
    pub dropped: u64,
    pub error: Option<String>,
}

// ---- one watcher ---------------------------------------------------------------------------

/// What the OS thread, the scanner thread and the caller share.
struct Shared {
    root: PathBuf,
    matcher: Option<Gitignore>,
    state: Mutex<State>,
    ready: Condvar,
}

struct State {
    queue: EventQueue,
    error: Option<ToolError>,
    closed: bool,
}

/// A registry entry: the shared state, notify's watcher, and the scanner thread.
struct Entry {
    shared: Arc<Shared>,
    os: Arc<Mutex<Option<RecommendedWatcher>>>,
    /// Disconnected once notify's thread has dropped our event handler (see [`OsEventHandler`]).
    os_released: Mutex<Option<Receiver<()>>>,
    jobs: Mutex<Option<Sender<Job>>>,
    scanner: Mutex<Option<JoinHandle<()>>>,
}

/// Work for the scanner thread.
enum Job {
    /// A folder appeared: watch it and everything below it, reporting its entries as `add`.
    Folder(PathBuf),
    Stop,
}

static WATCHERS: LazyLock<Mutex<HashMap<u64, Arc<Entry>>>> = LazyLock::new(Default::default);
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Starts watching the folder `path` and everything below it. `ignore` holds gitignore-style
/// globs matched against paths relative to `path` (`node_modules`, `.git`, `**/*.log`); matching
/// folders are not watched and matching paths never queued. At most `max_queue` events are kept
/// between two polls.
///
/// Errors: `not_found` / `not_a_directory` / `permission_denied` for the path, `invalid_pattern`
/// for a bad glob, `invalid_argument` for `max_queue` outside 1..=[`MAX_QUEUE_LIMIT`], and `io`
/// naming the sysctl to raise when inotify watches or instances run out.
pub fn open(path: &str, ignore: &[String], max_queue: i64) -> ToolResult<Opened> {
    let max_queue = check_max_queue(max_queue)?;
    let root = paths::absolute(path)?;
    let meta = fs::metadata(&root).at(&root)?;
    if !meta.is_dir() {
        return Err(ToolError::new(
            ErrorKind::NotADirectory,
            format!(
                "Path is not a directory: {} (watch its folder and filter the events by path)",
                root.display()
            ),
        ));
    }
    // inotify accepts a watch on a folder it cannot list; say so now rather than stay silent.
    fs::read_dir(&root).at(&root)?;
    let shared = Arc::new(Shared {
        matcher: build_matcher(&root, ignore)?,
        root: root.clone(),
        state: Mutex::new(State {
            queue: EventQueue::new(max_queue),
            error: None,
            closed: false,
        }),
        ready: Condvar::new(),
    });
    let (jobs, job_queue) = mpsc::channel();
    let (released, os_released) = mpsc::channel();
    let handler = OsEventHandler {
        shared: Arc::clone(&shared),
        folders: jobs.clone(),
        last_unlink: None,
        _released: released,
    };
    let os_watcher =
        RecommendedWatcher::new(handler, Config::default()).map_err(|e| start_error(&e, &root))?;
    let os = Arc::new(Mutex::new(Some(os_watcher)));
    let scanner = {
        let shared = Arc::clone(&shared);
        let os = Arc::clone(&os);
        thread::Builder::new()
            .name("ironcode-watcher-scan".into())
            .spawn(move || scan_new_folders(job_queue, &shared, &os))
            .map_err(|e| ToolError::new(ErrorKind::Io, format!("cannot start a thread: {e}")))?
    };
    let entry = Arc::new(Entry {
        shared,
        os,
        os_released: Mutex::new(Some(os_released)),
        jobs: Mutex::new(Some(jobs)),
        scanner: Mutex::new(Some(scanner)),
    });
    if let Err(error) = watch_tree(&entry.os, &entry.shared, &root, false) {
        entry.shutdown();
        return Err(error);
    }
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    lock(&WATCHERS).insert(id, entry);
    Ok(Opened {
        id,
        path: paths::display(&root),
    })
}

/// Takes the queued events, oldest first, without waiting. With nothing queued, a pending
/// failure (inotify watches ran out for a new folder) is raised instead, once.
pub fn poll(id: u64) -> ToolResult<Vec<Event>> {
    let entry = entry(id)?;
    let mut state = entry.shared.lock_state();
    take(&mut state)
}

/// Blocks until at least one event is queued (then takes them all, like [`poll`]), a failure
/// is pending, the watcher is closed, or `timeout` seconds pass (then returns nothing).
/// Sleeps on a condition variable: no polling interval. A negative or NaN timeout is
/// `invalid_argument`; one above [`MAX_WAIT_SECONDS`] is cut to it.
pub fn wait(id: u64, timeout: f64) -> ToolResult<Vec<Event>> {
    let timeout = wait_duration(timeout)?;
    let entry = entry(id)?;
    let shared = &entry.shared;
    let deadline = Instant::now() + timeout;
    let mut state = shared.lock_state();
    while state.queue.is_empty() && state.error.is_none() && !state.closed {
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        // The loop only guards against spurious wake-ups: each turn sleeps until signalled.
        state = match shared.ready.wait_timeout(state, deadline - now) {
            Ok((guard, _)) => guard,
            Err(poisoned) => poisoned.into_inner().0,
        };
    }
    take(&mut state)
}

/// `{"path", "pending", "dropped", "error"}` of an open watcher.
pub fn info(id: u64) -> ToolResult<Info> {
    let entry = entry(id)?;
    let state = entry.shared.lock_state();
    Ok(Info {
        path: paths::display(&entry.shared.root),
        pending: state.queue.len(),
        dropped: state.queue.dropped(),
        error: state.error.as_ref().map(|e| e.message.clone()),
    })
}

/// Stops the OS watches and the scanner thread, wakes any waiter, and forgets the id.
pub fn close(id: u64) -> ToolResult<()> {
    let entry = lock(&WATCHERS).remove(&id).ok_or_else(|| unknown_id(id))?;
    entry.shutdown();
    Ok(())
}

/// Ids of the open watchers, oldest first.
pub fn open_ids() -> Vec<u64> {
    let mut ids: Vec<u64> = lock(&WATCHERS).keys().copied().collect();
    ids.sort_unstable();
    ids
}

fn entry(id: u64) -> ToolResult<Arc<Entry>> {
    lock(&WATCHERS)
        .get(&id)
        .cloned()
        .ok_or_else(|| unknown_id(id))
}

fn unknown_id(id: u64) -> ToolError {
    ToolError::invalid_argument(format!(
        "No open watcher with id {id} (it was closed, or never opened)"
    ))
}

fn take(state: &mut State) -> ToolResult<Vec<Event>> {
    if state.queue.is_empty()
        && let Some(error) = state.error.take()
    {
        return Err(error);
    }
    Ok(state.queue.drain())
}

fn check_max_queue(max_queue: i64) -> ToolResult<usize> {
    usize::try_from(max_queue)
        .ok()
        .filter(|n| (1..=MAX_QUEUE_LIMIT).contains(n))
        .ok_or_else(|| {
            ToolError::invalid_argument(format!(
                "max_queue must be from 1 to {MAX_QUEUE_LIMIT}, got {max_queue}"
            ))
        })
}

fn wait_duration(timeout: f64) -> ToolResult<Duration> {
    if timeout.is_nan() || timeout < 0.0 {
        return Err(ToolError::invalid_argument(format!(
            "timeout must be a number of seconds >= 0, got {timeout}"
        )));
    }
    Ok(Duration::from_secs_f64(timeout.min(MAX_WAIT_SECONDS)))
}

impl Entry {
    /// Closes the queue (waking waiters), drops notify's watcher and waits (bounded by
    /// [`CLOSE_TIMEOUT`]) until its thread has closed the inotify instance and let go of our
    /// handler, and stops and joins the scanner.
    fn shutdown(&self) {
        self.shared.lock_state().closed = true;
        self.shared.ready.notify_all();
        // Taken out first so the scanner, which locks `os` per folder, sees the watcher gone.
        let os_watcher = lock(&self.os).take();
        drop(os_watcher);
        if let Some(released) = lock(&self.os_released).take() {
            // Nothing is ever sent: this returns `Disconnected` as soon as the handler is dropped.
            let _ = released.recv_timeout(CLOSE_TIMEOUT);
        }
        if let Some(jobs) = lock(&self.jobs).take() {
            let _ = jobs.send(Job::Stop);
        }
        if let Some(scanner) = lock(&self.scanner).take() {
            let _ = scanner.join();
        }
    }
}

impl Shared {
    fn lock_state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    fn is_closed(&self) -> bool {
        self.lock_state().closed
    }

    /// Queues an event reported by the OS and wakes the waiters.
    fn push(&self, path: &Path, kind: Kind) {
        let mut state = self.lock_state();
        if state.closed {
            return;
        }
        let was_empty = state.queue.is_empty();
        if state.queue.push(paths::display(path), kind, now_seconds()) {
            drop(state);
            self.wake_if(was_empty);
        }
    }

    /// Waiters only sleep on an empty queue, so only the first event after a drain needs to wake
    /// them (notify_all is a futex system call even with nobody waiting).
    fn wake_if(&self, was_empty: bool) {
        if was_empty {
            self.ready.notify_all();
        }
    }

    /// Queues `add` for an entry found by scanning a new folder, if it still exists. The check is
    /// made under the queue's lock: an entry deleted after it is reported as `unlink` after this
    /// `add`; one deleted before it is not reported as added at all. (An OS event already pending
    /// for the path is not a reason to skip: a pending `change` means the watch came after the
    /// file was created, so its `add` was never queued.)
    fn push_discovered(&self, path: &Path) {
        let mut state = self.lock_state();
        if state.closed || fs::symlink_metadata(path).is_err() {
            return;
        }
        let was_empty = state.queue.is_empty();
        if state
            .queue
            .push(paths::display(path), Kind::Add, now_seconds())
        {
            drop(state);
            self.wake_if(was_empty);
        }
    }

    /// Records a failure for the next poll or wait to raise (the first one wins).
    fn fail(&self, error: ToolError) {
        let mut state = self.lock_state();
        if state.error.is_none() && !state.closed {
            state.error = Some(error);
            drop(state);
            self.ready.notify_all();
        }
    }

    fn is_ignored(&self, path: &Path, is_dir: Option<bool>) -> bool {
        match (&self.matcher, path.strip_prefix(&self.root)) {
            (Some(matcher), Ok(relative)) => is_ignored(matcher, relative, is_dir),
            _ => false,
        }
    }
}

fn now_seconds() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

// ---- OS events -----------------------------------------------------------------------------

/// Runs on notify's inotify thread: turns notify's events into ours.
struct OsEventHandler {
    shared: Arc<Shared>,
    folders: Sender<Job>,
    /// The last path reported as unlinked, to drop the kernel's second report of a folder.
    last_unlink: Option<PathBuf>,
    /// Never sent on; dropped with the handler, which notify's thread does as it ends, after
    /// closing the inotify instance and its poll descriptors. [`Entry::shutdown`] waits for it.
    _released: Sender<()>,
}

impl notify::EventHandler for OsEventHandler {
    fn handle_event(&mut self, event: notify::Result<notify::Event>) {
        match event {
            Ok(event) => {
                if let Some((kind, is_dir)) = classify(&event.kind, event.attrs.tracker()) {
                    for path in event.paths {
                        self.on_path(path, kind, is_dir);
                    }
                }
            }
            Err(error) => self.shared.fail(runtime_error(&error, &self.shared.root)),
        }
    }
}

impl OsEventHandler {
    fn on_path(&mut self, path: PathBuf, kind: Kind, is_dir: Option<bool>) {
        // A removed folder is reported twice, back to back: IN_DELETE by its parent's watch and
        // IN_DELETE_SELF by its own.
        if kind == Kind::Unlink {
            if self.last_unlink.as_deref() == Some(path.as_path()) {
                self.last_unlink = None;
                return;
            }
            self.last_unlink = Some(path.clone());
        } else {
            self.last_unlink = None;
        }
        let is_dir = match kind {
            Kind::Unlink => None,
            _ => Some(
                is_dir.unwrap_or_else(|| fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir())),
            ),
        };
        // A folder's own metadata (mode, times) changing says nothing its entries' events don't.
        if kind == Kind::Change && is_dir == Some(true) {
            return;
        }
        if self.shared.is_ignored(&path, is_dir) {
            return;
        }
        self.shared.push(&path, kind);
        if kind == Kind::Add && is_dir == Some(true) {
            let _ = self.folders.send(Job::Folder(path));
        }
    }
}

/// Our kind for a notify event kind, and whether the path is a folder when the event says so.
/// `tracker` is the inotify rename cookie.
fn classify(kind: &EventKind, tracker: Option<usize>) -> Option<(Kind, Option<bool>)> {
    match kind {
        EventKind::Create(CreateKind::Folder) => Some((Kind::Add, Some(true))),
        EventKind::Create(CreateKind::File) => Some((Kind::Add, Some(false))),
        EventKind::Create(_) => Some((Kind::Add, None)),
        EventKind::Remove(_) => Some((Kind::Unlink, None)),
        // Without a cookie this is IN_MOVE_SELF on a watched folder: its parent reports the move
        // (with a cookie); a moved root keeps being watched under its new name, like watchdog.
        EventKind::Modify(ModifyKind::Name(RenameMode::From)) => {
            tracker.map(|_| (Kind::Unlink, None))
        }
        EventKind::Modify(ModifyKind::Name(RenameMode::To)) => Some((Kind::Add, None)),
        // RenameMode::Both repeats the two halves already reported.
        EventKind::Modify(ModifyKind::Name(_)) => None,
        EventKind::Modify(_) => Some((Kind::Change, None)),
        EventKind::Access(_) | EventKind::Any | EventKind::Other => None,
    }
}

// ---- watches and the scanner ---------------------------------------------------------------

/// The scanner thread: watches each new folder (and what is below it) and reports its entries.
fn scan_new_folders(jobs: Receiver<Job>, shared: &Shared, os: &Mutex<Option<RecommendedWatcher>>) {
    while let Ok(Job::Folder(folder)) = jobs.recv() {
        if shared.is_closed() {
            break;
        }
        if let Err(error) = watch_tree(os, shared, &folder, true) {
            shared.fail(error);
        }
    }
}

/// Watches `top` and every folder below it that no glob ignores, each one *before* listing its
/// entries, so nothing created meanwhile is missed. With `report`, every entry found is queued
/// as `add`. The root's errors are the caller's; below it, a folder that vanished or cannot be
/// read is skipped. Symlinks are never followed.
fn watch_tree(
    os: &Mutex<Option<RecommendedWatcher>>,
    shared: &Shared,
    top: &Path,
    report: bool,
) -> ToolResult<()> {
    let mut pending = vec![top.to_path_buf()];
    while let Some(folder) = pending.pop() {
        if shared.is_closed() {
            break;
        }
        match watch_folder(os, &folder) {
            Ok(()) => {}
            Err(error) if matches!(error.kind, notify::ErrorKind::MaxFilesWatch) => {
                return Err(watch_limit_error(&shared.root));
            }
            Err(error) if folder == shared.root => return Err(start_error(&error, &folder)),
            Err(_) => continue,
        }
        let Ok(entries) = fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
            if shared.is_ignored(&path, Some(is_dir)) {
                continue;
            }
            if report {
                shared.push_discovered(&path);
            }
            if is_dir {
                pending.push(path);
            }
        }
    }
    Ok(())
}

fn watch_folder(os: &Mutex<Option<RecommendedWatcher>>, folder: &Path) -> notify::Result<()> {
    match lock(os).as_mut() {
        Some(watcher) => watcher.watch(folder, RecursiveMode::NonRecursive),
        None => Ok(()), // closed meanwhile
    }
}

// ---- errors --------------------------------------------------------------------------------

/// The current value of a sysctl, for error messages.
fn sysctl_value(name: &str) -> Option<String> {
    let path = format!("/proc/sys/{}", name.replace('.', "/"));
    fs::read_to_string(path).ok().map(|v| v.trim().to_string())
}

fn sysctl_now(name: &str) -> String {
    sysctl_value(name)
        .map(|v| format!(" (now {v})"))
        .unwrap_or_default()
}

/// inotify watches ran out (ENOSPC from inotify_add_watch).
fn watch_limit_error(root: &Path) -> ToolError {
    ToolError::new(
        ErrorKind::Io,
        format!(
            "Ran out of inotify watches while watching {}: the per-user limit is the sysctl \
             {WATCHES_SYSCTL}{}. Raise it (sudo sysctl {WATCHES_SYSCTL}=524288) or ignore big \
             folders such as node_modules with ignore globs.",
            root.display(),
            sysctl_now(WATCHES_SYSCTL)
        ),
    )
}

/// No inotify instance could be made (EMFILE / ENFILE from inotify_init).
fn instance_limit_error(root: &Path, error: &io::Error) -> ToolError {
    ToolError::new(
        ErrorKind::Io,
        format!(
            "Cannot start an inotify instance to watch {}: {error}. The per-user limit is the \
             sysctl {INSTANCES_SYSCTL}{}: close watchers you no longer need or raise it (sudo \
             sysctl {INSTANCES_SYSCTL}=1024); the open-file limit (ulimit -n) also applies.",
            root.display(),
            sysctl_now(INSTANCES_SYSCTL)
        ),
    )
}

/// Maps an error from starting the watcher or watching the root.
fn start_error(error: &notify::Error, root: &Path) -> ToolError {
    match &error.kind {
        notify::ErrorKind::Io(io_error)
            if matches!(io_error.raw_os_error(), Some(EMFILE) | Some(ENFILE)) =>
        {
            instance_limit_error(root, io_error)
        }
        notify::ErrorKind::Io(io_error) => ToolError::from_io(io_error, root),
        notify::ErrorKind::PathNotFound => ToolError::new(
            ErrorKind::NotFound,
            format!("File not found: {}", root.display()),
        ),
        notify::ErrorKind::MaxFilesWatch => watch_limit_error(root),
        _ => ToolError::new(
            ErrorKind::Io,
            format!("Cannot watch {}: {error}", root.display()),
        ),
    }
}

/// Maps an error notify reports while running.
fn runtime_error(error: &notify::Error, root: &Path) -> ToolError {
    match &error.kind {
        notify::ErrorKind::MaxFilesWatch => watch_limit_error(root),
        _ => ToolError::new(
            ErrorKind::Io,
            format!("Watching {} failed: {error}", root.display()),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn move_self_without_a_cookie_is_not_an_unlink() {
        let from = EventKind::Modify(ModifyKind::Name(RenameMode::From));
        assert_eq!(classify(&from, None), None);
        assert_eq!(classify(&from, Some(7)), Some((Kind::Unlink, None)));
    }

    #[test]
    fn timeouts_are_checked_and_capped() {
        assert!(wait_duration(-1.0).is_err());
        assert!(wait_duration(f64::NAN).is_err());
        assert_eq!(
            wait_duration(f64::INFINITY).unwrap(),
            Duration::from_secs_f64(MAX_WAIT_SECONDS)
        );
        assert!(check_max_queue(0).is_err());
        assert!(check_max_queue(-1).is_err());
        assert_eq!(check_max_queue(5).unwrap(), 5);
    }
}
