//! `watcher`: watches a folder tree and queues `add` / `change` / `unlink` events that the caller
//! takes with [`poll`] or blocks for with [`wait`].
//!
//! The migration plan's watcher drained notify's channel on a 5 ms timer and lost to
//! @parcel/watcher on single-file latency. Here nothing polls: a reader thread sleeps in
//! `poll(2)` on the inotify descriptor, reads up to 64 KiB of events at once, queues them under
//! one lock and signals a condition variable once per batch; [`wait`] sleeps on that condition
//! variable until an event arrives or the timeout passes (ctypes releases the GIL for the call,
//! so other Python threads keep running), then takes the whole queue in one call.
//!
//! inotify is used directly (through rustix, `watcher/inotify.rs`) rather than through notify:
//! notify 8 cannot be told which events to ask the kernel for, so every file created cost three
//! kernel events and every file merely opened one, each a heap-allocated `notify::Event` that
//! was thrown away here (bench-watcher: 3x fewer kernel events, ~4x less reader CPU). Like the
//! twin (watchdog's inotify emitter), the native watcher is Linux-only.
//!
//! Each folder gets its own non-recursive watch, so a folder matching an ignore glob
//! (`node_modules`, `.git`) costs no inotify watch at all. A folder created after the start is
//! watched by a scanner thread *before* its entries are listed, and every entry found is queued
//! as `add`: files written into a brand-new folder before its watch existed are still reported.
//!
//! State lives in a registry keyed by id ([`open`] returns it); every lock recovers from poisoning.
//! The queue is in `watcher/queue.rs`, the ignore globs in `watcher/globs.rs`.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::mem::MaybeUninit;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Condvar, LazyLock, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ignore::gitignore::Gitignore;
use serde::Serialize;

use crate::error::{ErrorKind, IoResultExt, ToolError, ToolResult};
use crate::paths;

mod globs;
mod inotify;
mod queue;

use globs::{build_matcher, is_ignored};
use inotify::{Inotify, OsEvent, READ_BUFFER_BYTES, Waker};
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
/// `errno` of `inotify_add_watch` when the per-user watch limit is reached.
const ENOSPC: i32 = 28;
/// Longest [`close`] waits for the reader thread to close the inotify instance. Closing one waits
/// for the kernel's RCU grace period (2-16 ms measured on a busy machine); returning before it is
/// done let a loop opening and closing watchers run out of inotify instances (128 per user by
/// default) with every watcher already closed.
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

/// What the reader thread, the scanner thread and the caller share.
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

/// A registry entry: the shared state, what stops the reader thread, and the scanner thread.
/// Only the two threads hold the inotify instance, and the reader lets go of it last.
struct Entry {
    shared: Arc<Shared>,
    waker: Arc<Waker>,
    /// Disconnected once the reader has closed the inotify instance (nothing is ever sent).
    reader_done: Mutex<Option<Receiver<()>>>,
    jobs: Mutex<Option<Sender<Job>>>,
    scanner: Mutex<Option<JoinHandle<()>>>,
}

/// Work for the scanner thread.
enum Job {
    /// A folder appeared: watch it and everything below it, reporting its entries as `add`.
    Folder(PathBuf),
    /// The kernel's queue overflowed, so folders created meanwhile may be unwatched: watch the
    /// whole tree again, without reports (watchdog, the twin, rebuilds its watches alike).
    Rewatch,
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
    let inotify = Arc::new(Inotify::new().map_err(|e| start_error(&e, &root))?);
    let (jobs, job_queue) = mpsc::channel();
    let (done, reader_done) = mpsc::channel::<()>();
    let entry = Arc::new(Entry {
        shared: Arc::clone(&shared),
        waker: inotify.waker(),
        reader_done: Mutex::new(Some(reader_done)),
        jobs: Mutex::new(Some(jobs.clone())),
        scanner: Mutex::new(None),
    });
    // Not joined: close() waits for `done` instead, which is bounded (see CLOSE_TIMEOUT).
    let started = spawn("ironcode-watcher-read", {
        let (shared, inotify) = (Arc::clone(&shared), Arc::clone(&inotify));
        move || {
            read_events(&shared, &inotify, &jobs);
            drop(inotify); // the last handle once the scanner is gone: closes the descriptor
            drop(done);
        }
    })
    .and_then(|_detached_reader| {
        spawn("ironcode-watcher-scan", {
            let (shared, inotify) = (Arc::clone(&shared), Arc::clone(&inotify));
            move || scan_new_folders(job_queue, &shared, &inotify)
        })
    })
    .map(|scanner| *lock(&entry.scanner) = Some(scanner));
    if let Err(error) = started.and_then(|()| watch_tree(&inotify, &shared, &root, false)) {
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

fn spawn(name: &str, body: impl FnOnce() + Send + 'static) -> ToolResult<JoinHandle<()>> {
    thread::Builder::new()
        .name(name.into())
        .spawn(body)
        .map_err(|e| ToolError::new(ErrorKind::Io, format!("cannot start a thread: {e}")))
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
    /// Closes the queue (waking waiters), stops and joins the scanner, then stops the reader and
    /// waits (bounded by [`CLOSE_TIMEOUT`]) until it has closed the inotify instance: in that
    /// order the reader holds the last handle on it.
    fn shutdown(&self) {
        self.shared.lock_state().closed = true;
        self.shared.ready.notify_all();
        if let Some(jobs) = lock(&self.jobs).take() {
            let _ = jobs.send(Job::Stop);
        }
        if let Some(scanner) = lock(&self.scanner).take() {
            let _ = scanner.join();
        }
        self.waker.wake();
        if let Some(reader_done) = lock(&self.reader_done).take() {
            let _ = reader_done.recv_timeout(CLOSE_TIMEOUT);
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

    /// Queues a batch of events read from the kernel (emptying `batch`) under one lock, all
    /// stamped with the same time, and wakes the waiters once. False once the watcher is closed
    /// (the batch is dropped): the reader stops then, even while events keep coming.
    fn push_batch(&self, batch: &mut Vec<(String, Kind)>) -> bool {
        let mut state = self.lock_state();
        if state.closed {
            batch.clear();
            return false;
        }
        if batch.is_empty() {
            return true;
        }
        let was_empty = state.queue.is_empty();
        let timestamp = now_seconds();
        let mut queued = false;
        for (path, kind) in batch.drain(..) {
            queued |= state.queue.push(path, kind, timestamp);
        }
        drop(state);
        self.wake_if(was_empty && queued);
        true
    }

    /// Waiters only sleep on an empty queue, so only the first events after a drain need to wake
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

/// The reader thread: sleeps until the kernel has events, turns each buffer of them into one
/// batch for the queue, then hands new folders to the scanner. A panic (a bug) is recorded for
/// the caller instead of silently ending the watch.
fn read_events(shared: &Shared, inotify: &Inotify, folders: &Sender<Job>) {
    let run = catch_unwind(AssertUnwindSafe(|| {
        let mut buffer = vec![MaybeUninit::<u8>::uninit(); READ_BUFFER_BYTES];
        let mut batch: Vec<(String, Kind)> = Vec::new();
        let mut new_folders: Vec<PathBuf> = Vec::new();
        loop {
            match inotify.wait() {
                Ok(true) => {}
                Ok(false) => return,
                Err(error) => return shared.fail(runtime_error(&error, &shared.root)),
            }
            loop {
                let read = inotify.read(&mut buffer, &mut |event| {
                    translate(shared, &event, &mut batch, &mut new_folders)
                });
                match read {
                    Ok(batch) if batch.events == 0 => break,
                    Ok(batch) if batch.overflowed => {
                        let _ = folders.send(Job::Rewatch);
                    }
                    Ok(_) => {}
                    Err(error) => return shared.fail(runtime_error(&error, &shared.root)),
                }
                // The folder's own `add` is queued before the scanner reports what is inside.
                if !shared.push_batch(&mut batch) {
                    return;
                }
                for folder in new_folders.drain(..) {
                    let _ = folders.send(Job::Folder(folder));
                }
            }
        }
    }));
    if run.is_err() {
        shared.fail(ToolError::new(
            ErrorKind::Panic,
            format!(
                "the watcher of {} stopped after an internal error (a bug): open a new one",
                shared.root.display()
            ),
        ));
    }
}

/// Adds one kernel event to the batch unless it is ignored: folders never report `change` (their
/// own mode or times say nothing their entries' events don't), and ignore globs see the raw path.
fn translate(
    shared: &Shared,
    event: &OsEvent<'_>,
    batch: &mut Vec<(String, Kind)>,
    new_folders: &mut Vec<PathBuf>,
) {
    if event.kind == Kind::Change && event.is_dir {
        return;
    }
    let new_folder = event.kind == Kind::Add && event.is_dir;
    if shared.matcher.is_some() || new_folder {
        let path = event.folder.path.join(event.name);
        // A gone path's type is treated as unknown, as the twin does.
        let is_dir = (event.kind != Kind::Unlink).then_some(event.is_dir);
        if shared.is_ignored(&path, is_dir) {
            return;
        }
        if new_folder {
            new_folders.push(path);
        }
    }
    batch.push((event.folder.entry_text(event.name), event.kind));
}

// ---- watches and the scanner ---------------------------------------------------------------

/// The scanner thread: watches each new folder (and what is below it) and reports its entries.
fn scan_new_folders(jobs: Receiver<Job>, shared: &Shared, inotify: &Inotify) {
    loop {
        let (top, report) = match jobs.recv() {
            Ok(Job::Folder(folder)) => (folder, true),
            Ok(Job::Rewatch) => (shared.root.clone(), false),
            Ok(Job::Stop) | Err(_) => break,
        };
        if shared.is_closed() {
            break;
        }
        if let Err(error) = watch_tree(inotify, shared, &top, report) {
            shared.fail(error);
        }
    }
}

/// Watches `top` and every folder below it that no glob ignores, each one *before* listing its
/// entries, so nothing created meanwhile is missed. With `report`, every entry found is queued
/// as `add`. The root's errors are the caller's; below it, a folder that vanished or cannot be
/// read is skipped. Symlinks are never followed.
fn watch_tree(inotify: &Inotify, shared: &Shared, top: &Path, report: bool) -> ToolResult<()> {
    let mut pending = vec![top.to_path_buf()];
    while let Some(folder) = pending.pop() {
        if shared.is_closed() {
            break;
        }
        let is_root = folder == shared.root;
        match inotify.watch(&folder, is_root) {
            Ok(()) => {}
            Err(error) if error.raw_os_error() == Some(ENOSPC) => {
                return Err(watch_limit_error(&shared.root));
            }
            Err(error) if is_root => return Err(start_error(&error, &folder)),
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

/// Maps an error from starting the inotify instance or watching the root.
fn start_error(error: &io::Error, root: &Path) -> ToolError {
    match error.raw_os_error() {
        Some(EMFILE) | Some(ENFILE) => instance_limit_error(root, error),
        Some(ENOSPC) => watch_limit_error(root),
        _ => ToolError::from_io(error, root),
    }
}

/// Maps an error from reading the inotify descriptor.
fn runtime_error(error: &io::Error, root: &Path) -> ToolError {
    ToolError::new(
        ErrorKind::Io,
        format!("Watching {} failed: {error}", root.display()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

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
