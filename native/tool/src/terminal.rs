//! `terminal` — programs on pseudo-terminals, their output kept in a ring buffer.
//!
//! Sessions live in a registry keyed by id. Each session owns two threads:
//!
//! - the *pump* blocks in `poll` on the PTY master and copies output into a ring buffer of
//!   [`RING_BUFFER_BYTES`] (the oldest bytes are dropped and counted), waking readers through a
//!   condition variable;
//! - the *watcher* blocks in `waitid(WEXITED | WNOWAIT)`, so the exit is recorded the moment it
//!   happens, without anyone polling. It leaves the child a zombie until [`close`]: while the
//!   zombie exists its pid cannot be reused, so killing its process group and session at close can
//!   never hit a stranger. Only then does it reap the child.
//!
//! [`read`] waits on the condition variable with a timeout; called through ctypes the GIL is
//! released meanwhile. [`close`] kills every process of the session (its process group, and any
//! job an interactive shell moved to a group of its own), reaps the child, stops both threads and
//! closes every descriptor: no zombies, no leaked file descriptors.
//!
//! One file for the whole tool, as every tool has (ARCHITECTURE.md), so it is long: read it by its
//! sections — the ring buffer, one session, the registry, operations, arguments, the PTY and the
//! child, killing a session, errors. `ironcode/twin/terminal.py` has the same sections in the
//! same order.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, LazyLock, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rustix::event::{PollFd, PollFlags, poll};
use rustix::fs::{Access, Mode, OFlags, access, fcntl_getfl, fcntl_setfl, open};
use rustix::io::Errno;
use rustix::pipe::{PipeFlags, pipe_with};
use rustix::process::{
    Pid, Signal, WaitId, WaitIdOptions, WaitIdStatus, WaitOptions, ioctl_tiocsctty, kill_process,
    kill_process_group, setsid, waitid, waitpid,
};
use rustix::pty::{OpenptFlags, grantpt, openpt, ptsname, unlockpt};
use rustix::termios::{Winsize, tcsetwinsize};
use serde::Serialize;

use crate::error::{ErrorKind, ToolError, ToolResult};

/// Output bytes each session keeps; older bytes are dropped and counted in `dropped`.
pub const RING_BUFFER_BYTES: usize = 2 * 1024 * 1024;
/// Bytes asked for per read of the PTY master.
const READ_CHUNK_BYTES: usize = 64 * 1024;
/// The program run when no command is given and `$SHELL` is unset.
pub const FALLBACK_SHELL: &str = "/bin/sh";
/// `TERM` given to programs unless `env` sets it: what an agent's terminal emulates.
pub const DEFAULT_TERM: &str = "xterm-256color";
/// `PATH` searched for a command when neither `env` nor this process sets one.
const DEFAULT_PATH: &str = "/usr/local/bin:/usr/bin:/bin";
/// Longest a `write` waits for the program to make room in the terminal's input queue.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest `close` waits for the killed program to be reaped and the pump to stop.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest single `read`/`wait` accepted (a day): every wait is bounded.
pub const MAX_WAIT_SECONDS: f64 = 86_400.0;
/// Largest number of rows or columns (the kernel stores them as 16-bit values).
const MAX_DIMENSION: i64 = u16::MAX as i64;
/// Passes over /proc when killing a session: the second catches anything forked during the first.
const SESSION_SWEEPS: usize = 2;
/// Stack of the pump and watcher threads: they keep their buffers on the heap.
const THREAD_STACK_BYTES: usize = 128 * 1024;
/// Which backend made a session (the twin says "python").
const BACKEND: &str = "native";

// ---- the ring buffer ---------------------------------------------------------------------------

/// The last `capacity` bytes of output, with counts of all bytes received and dropped.
///
/// Positions are absolute: byte `n` is the `n`-th byte ever received, so a reader remembers where
/// it stopped even while old bytes fall off the front.
#[derive(Debug)]
pub struct Ring {
    bytes: VecDeque<u8>,
    capacity: usize,
    received: u64,
    dropped: u64,
}

impl Ring {
    /// An empty ring keeping at most `capacity` bytes.
    pub fn new(capacity: usize) -> Self {
        Ring {
            bytes: VecDeque::new(),
            capacity,
            received: 0,
            dropped: 0,
        }
    }

    /// Appends `data`, dropping (and counting) the oldest bytes beyond the capacity.
    pub fn push(&mut self, data: &[u8]) {
        self.received += data.len() as u64;
        let kept = &data[data.len().saturating_sub(self.capacity)..];
        let overflow = (self.bytes.len() + kept.len()).saturating_sub(self.capacity);
        self.bytes.drain(..overflow);
        self.dropped += (data.len() - kept.len() + overflow) as u64;
        self.bytes.extend(kept);
    }

    /// The retained bytes from absolute position `position` on (all of them if it fell off).
    pub fn since(&self, position: u64) -> Vec<u8> {
        let start = self.received - self.bytes.len() as u64;
        let skip = position.saturating_sub(start).min(self.bytes.len() as u64) as usize;
        let (front, back) = self.bytes.as_slices();
        let mut out = Vec::with_capacity(self.bytes.len() - skip);
        if skip < front.len() {
            out.extend_from_slice(&front[skip..]);
            out.extend_from_slice(back);
        } else {
            out.extend_from_slice(&back[skip - front.len()..]);
        }
        out
    }

    /// Copies retained bytes from absolute position `position` on (from the oldest retained byte
    /// if it fell off) into `out`, as many as fit; returns (the position of the first byte copied,
    /// the number copied).
    pub fn copy_since(&self, position: u64, out: &mut [u8]) -> (u64, usize) {
        let start = self.received - self.bytes.len() as u64;
        let first = position.clamp(start, self.received);
        let skip = (first - start) as usize;
        let (front, back) = self.bytes.as_slices();
        let from_front = front.get(skip..).unwrap_or_default();
        let from_back = &back[skip.saturating_sub(front.len())..];
        let mut copied = 0;
        for part in [from_front, from_back] {
            let n = part.len().min(out.len() - copied);
            out[copied..copied + n].copy_from_slice(&part[..n]);
            copied += n;
        }
        (first, copied)
    }

    /// All retained bytes.
    pub fn contents(&self) -> Vec<u8> {
        self.since(0)
    }

    /// Forgets the retained bytes (they are not counted as dropped).
    pub fn clear(&mut self) {
        self.bytes.clear();
    }

    /// Bytes retained now.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// True when no bytes are retained.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Bytes received since the ring was made.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// Bytes that fell off the front because the ring was full.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}

// ---- one session -------------------------------------------------------------------------------

/// What the pump, the watcher and callers share, behind one mutex.
struct State {
    ring: Ring,
    /// Absolute position up to which `read` has returned output.
    read_position: u64,
    /// Callers blocked in `read` now: output wakes only them (see [`Shared::push_output`]).
    output_waiters: usize,
    rows: u16,
    cols: u16,
    exited: bool,
    /// The exit status, or minus the signal that killed the program; None while running (or if
    /// someone else reaped the child).
    exit_code: Option<i32>,
    /// The pump has stopped: no more output will arrive.
    output_closed: bool,
    /// `close` has killed the session: the watcher may reap the child.
    closing: bool,
    reaped: bool,
    last_activity: Instant,
}

struct Shared {
    state: Mutex<State>,
    changed: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Waits until `done(state)` or `deadline`, whichever comes first; returns the guard.
    fn wait_until(
        &self,
        deadline: Instant,
        done: impl Fn(&State) -> bool,
    ) -> MutexGuard<'_, State> {
        let mut state = self.lock();
        while !done(&state) {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            state = match self.changed.wait_timeout(state, deadline - now) {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
        state
    }

    /// Runs `change` on the state and wakes every waiter.
    fn update(&self, change: impl FnOnce(&mut State)) {
        change(&mut self.lock());
        self.changed.notify_all();
    }

    /// Waits like [`Shared::wait_until`] for output after `read_position` (or its end), counted
    /// in `output_waiters` meanwhile so the pump knows to wake it.
    fn wait_for_output(&self, deadline: Instant) -> MutexGuard<'_, State> {
        let has_output = |s: &State| s.ring.received() > s.read_position || s.output_closed;
        let mut state = self.lock();
        if has_output(&state) || Instant::now() >= deadline {
            return state;
        }
        state.output_waiters += 1;
        drop(state);
        let mut state = self.wait_until(deadline, has_output);
        state.output_waiters -= 1;
        state
    }

    /// Appends output to the ring. Only callers blocked in `read` are woken: waking a `wait`
    /// (which waits for the exit) on every chunk cost a context switch per 4 KB and halved bulk
    /// throughput on two cores (bench-pty, bulk case). A notify is a system call even with
    /// nobody waiting, so it is skipped then.
    fn push_output(&self, data: &[u8]) {
        let mut state = self.lock();
        state.ring.push(data);
        state.last_activity = Instant::now();
        let wake = state.output_waiters > 0;
        drop(state);
        if wake {
            self.changed.notify_all();
        }
    }
}

struct Session {
    id: String,
    seq: u64,
    pid: Pid,
    command: Vec<String>,
    cwd: String,
    created: f64,
    master: Arc<OwnedFd>,
    /// Write end of the pipe the pump also polls: a byte here stops it.
    wake: OwnedFd,
    shared: Arc<Shared>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

/// A session as callers see it (`info()`, `terminals()`).
#[derive(Debug, Clone, Serialize)]
pub struct Info {
    pub id: String,
    pub backend: &'static str,
    pub pid: i32,
    pub command: Vec<String>,
    pub cwd: String,
    pub rows: u16,
    pub cols: u16,
    /// "running" or "exited".
    pub status: &'static str,
    pub exit_code: Option<i32>,
    /// Seconds since the Unix epoch.
    pub created: f64,
    /// Seconds since the last output, input, read or exit.
    pub idle_seconds: f64,
    /// Bytes in the ring buffer now.
    pub buffered: usize,
    /// Bytes of output received in all.
    pub received: u64,
    /// Bytes of output dropped because the buffer was full.
    pub dropped: u64,
    /// True once the program and everything it started have closed the terminal.
    pub output_closed: bool,
}

impl Session {
    fn info(&self) -> Info {
        let state = self.shared.lock();
        Info {
            id: self.id.clone(),
            backend: BACKEND,
            pid: self.pid.as_raw_nonzero().get(),
            command: self.command.clone(),
            cwd: self.cwd.clone(),
            rows: state.rows,
            cols: state.cols,
            status: if state.exited { "exited" } else { "running" },
            exit_code: state.exit_code,
            created: self.created,
            idle_seconds: state.last_activity.elapsed().as_secs_f64(),
            buffered: state.ring.len(),
            received: state.ring.received(),
            dropped: state.ring.dropped(),
            output_closed: state.output_closed,
        }
    }

    /// Kills every process of the session, lets the watcher reap the child, stops the pump and
    /// joins both threads. Bounded by [`CLOSE_TIMEOUT`]: a thread that does not finish in time
    /// (a process stuck in the kernel) is left to finish on its own.
    fn shutdown(&self) {
        // The child is still unreaped here (the watcher waits for `closing`), so its pid, group
        // id and session id all still name this session.
        kill_session(self.pid);
        let deadline = Instant::now() + CLOSE_TIMEOUT;
        self.shared.update(|state| state.closing = true);
        let reaped = self.shared.wait_until(deadline, |s| s.reaped).reaped;
        // Ignored failure: the pump may already have stopped and the pipe be full or closed.
        let _ = rustix::io::write(&self.wake, &[1]);
        let pumped = self
            .shared
            .wait_until(deadline, |s| s.output_closed)
            .output_closed;
        let mut threads = self.threads.lock().unwrap_or_else(|p| p.into_inner());
        if reaped && pumped {
            for handle in threads.drain(..) {
                // Both threads have passed their last blocking call: joining is immediate.
                let _ = handle.join();
            }
        } else {
            threads.clear(); // detach: they end when the stuck process finally dies
        }
        self.touch();
    }

    fn push_thread(&self, handle: JoinHandle<()>) {
        self.threads
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(handle);
    }

    fn touch(&self) {
        self.shared.lock().last_activity = Instant::now();
    }
}

// ---- the registry ------------------------------------------------------------------------------

static SESSIONS: LazyLock<Mutex<HashMap<String, Arc<Session>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));
static NEXT_SEQ: AtomicU64 = AtomicU64::new(1);

fn sessions() -> MutexGuard<'static, HashMap<String, Arc<Session>>> {
    SESSIONS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn lookup(id: &str) -> ToolResult<Arc<Session>> {
    sessions()
        .get(id)
        .cloned()
        .ok_or_else(|| unknown_session(id))
}

// ---- operations --------------------------------------------------------------------------------

/// What to start: the arguments of `Terminal(command, cwd, rows, cols, env)`.
#[derive(Debug, Clone, Default)]
pub struct Spawn {
    /// argv; None runs `$SHELL`, else [`FALLBACK_SHELL`].
    pub command: Option<Vec<String>>,
    pub cwd: String,
    pub rows: i64,
    pub cols: i64,
    /// Variables set on top of this process's environment.
    pub env: BTreeMap<String, String>,
}

/// Starts `request.command` on a new PTY and registers the session.
///
/// Errors: a command that does not exist → `not_found` naming it; a missing `cwd` → `not_found`;
/// bad dimensions, an empty command, NUL bytes, or `=` in a variable name → `invalid_argument`.
pub fn create(request: Spawn) -> ToolResult<Info> {
    let rows = dimension(request.rows, "rows")?;
    let cols = dimension(request.cols, "cols")?;
    let command = command_argv(request.command)?;
    check_env(&request.env)?;
    let cwd = working_directory(&request.cwd)?;
    let program = resolve_command(&command[0], &cwd, &search_path(&request.env))?;
    let (master, slave) =
        open_pty(rows, cols).map_err(|e| os_error(e, "open a pseudo-terminal"))?;
    let child = spawn_on(&program, &command, &cwd, &request.env, slave)?;
    let pid = Pid::from_child(&child);
    let seq = NEXT_SEQ.fetch_add(1, Ordering::Relaxed);
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            ring: Ring::new(RING_BUFFER_BYTES),
            read_position: 0,
            output_waiters: 0,
            rows,
            cols,
            exited: false,
            exit_code: None,
            output_closed: false,
            closing: false,
            reaped: false,
            last_activity: Instant::now(),
        }),
        changed: Condvar::new(),
    });
    let master = Arc::new(master);
    let (wake_read, wake) = match pipe_with(PipeFlags::CLOEXEC) {
        Ok(pipe) => pipe,
        Err(e) => {
            kill_session(pid);
            let mut child = child;
            let _ = child.wait();
            return Err(os_error(e, "create a pipe"));
        }
    };
    let session = Arc::new(Session {
        id: format!("{BACKEND}-{seq}"),
        seq,
        pid,
        command,
        cwd: cwd.to_string_lossy().into_owned(),
        created: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0),
        master: Arc::clone(&master),
        wake,
        shared: Arc::clone(&shared),
        threads: Mutex::new(Vec::new()),
    });
    // The watcher owns the child. If its thread cannot start, the child is dropped unreaped with
    // the closure: kill and reap it here.
    let watcher = {
        let shared = Arc::clone(&shared);
        spawn_thread(format!("ironcode-pty-{seq}-exit"), move || {
            watch_exit(child, &shared)
        })
    };
    match watcher {
        Ok(handle) => session.push_thread(handle),
        Err(e) => {
            kill_session(pid);
            let _ = waitpid(Some(pid), WaitOptions::empty());
            return Err(thread_error(e));
        }
    }
    let pump = {
        let shared = Arc::clone(&shared);
        spawn_thread(format!("ironcode-pty-{seq}-pump"), move || {
            pump_output(&master, &wake_read, &shared)
        })
    };
    match pump {
        Ok(handle) => session.push_thread(handle),
        Err(e) => {
            shared.update(|state| state.output_closed = true);
            session.shutdown();
            return Err(thread_error(e));
        }
    }
    sessions().insert(session.id.clone(), Arc::clone(&session));
    Ok(session.info())
}

/// Writes `data` to the program's terminal; returns the number of bytes written.
///
/// Errors: the program has exited → `invalid_argument`; the program does not read its input
/// for [`WRITE_TIMEOUT`] → `timeout`.
pub fn write(id: &str, data: &[u8]) -> ToolResult<usize> {
    let session = lookup(id)?;
    if session.shared.lock().exited {
        return Err(exited_error(&session));
    }
    let deadline = Instant::now() + WRITE_TIMEOUT;
    let mut written = 0;
    while written < data.len() {
        match rustix::io::write(&*session.master, &data[written..]) {
            Ok(n) => written += n,
            Err(Errno::INTR) => {}
            Err(Errno::AGAIN) => {
                if !wait_writable(&session.master, deadline) {
                    return Err(ToolError::new(
                        ErrorKind::Timeout,
                        format!(
                            "terminal {id} did not take its input: wrote {written} of {} bytes in \
                             {} s; is the program reading?",
                            data.len(),
                            WRITE_TIMEOUT.as_secs()
                        ),
                    ));
                }
            }
            // EIO: nothing holds the terminal's other side any more — the program is gone.
            Err(Errno::IO) => return Err(exited_error(&session)),
            Err(e) => return Err(os_error(e, "write to the terminal")),
        }
    }
    session.touch();
    Ok(written)
}

/// Output received since the last `read`, waiting up to `timeout_s` seconds for some to arrive.
///
/// Returns at once when output is waiting, and empty-handed as soon as no more can come (the
/// program and all it started have exited). Bytes that fell out of the ring buffer before being
/// read are lost to `read` (they are counted in `dropped`).
pub fn read(id: &str, timeout_s: f64) -> ToolResult<Vec<u8>> {
    let timeout = wait_duration(timeout_s, "timeout")?;
    let session = lookup(id)?;
    let deadline = Instant::now() + timeout;
    let mut state = session.shared.wait_for_output(deadline);
    let output = state.ring.since(state.read_position);
    state.read_position = state.ring.received();
    state.last_activity = Instant::now();
    Ok(output)
}

/// Like [`read`], into `out` instead of a new vector: the bytes cross the C boundary this way,
/// copied once into the caller's buffer (base64 inside JSON cost 47 ms for 2 MiB against 1 ms
/// for the twin's read; bench-pty). When more output is waiting than `out` holds, the oldest
/// part is returned and the rest stays for the next read. Returns the number of bytes written.
///
/// Errors: an empty `out` → `invalid_argument` (it could never return anything).
pub fn read_into(id: &str, timeout_s: f64, out: &mut [u8]) -> ToolResult<usize> {
    let timeout = wait_duration(timeout_s, "timeout")?;
    if out.is_empty() {
        return Err(ToolError::invalid_argument(format!(
            "the output buffer must hold at least one byte (pass {RING_BUFFER_BYTES} to get \
             everything a read can return)"
        )));
    }
    let session = lookup(id)?;
    let deadline = Instant::now() + timeout;
    let mut state = session.shared.wait_for_output(deadline);
    let (first, copied) = state.ring.copy_since(state.read_position, out);
    state.read_position = first + copied as u64;
    state.last_activity = Instant::now();
    Ok(copied)
}

/// Waits up to `timeout_s` seconds for the program to exit and its output to end; returns the
/// exit code (minus the signal number if a signal killed it), or None if it is still running.
pub fn wait(id: &str, timeout_s: f64) -> ToolResult<Option<i32>> {
    let timeout = wait_duration(timeout_s, "timeout")?;
    let session = lookup(id)?;
    let deadline = Instant::now() + timeout;
    let state = session
        .shared
        .wait_until(deadline, |s| s.exited && s.output_closed);
    Ok(state.exit_code)
}

/// Changes the terminal's size; the kernel tells the program with SIGWINCH.
pub fn resize(id: &str, rows: i64, cols: i64) -> ToolResult<()> {
    let rows = dimension(rows, "rows")?;
    let cols = dimension(cols, "cols")?;
    let session = lookup(id)?;
    tcsetwinsize(&*session.master, winsize(rows, cols))
        .map_err(|e| os_error(e, "resize the terminal"))?;
    session.shared.update(|state| {
        state.rows = rows;
        state.cols = cols;
        state.last_activity = Instant::now();
    });
    Ok(())
}

/// The session's id, program, size, status, exit code and buffer counters.
pub fn info(id: &str) -> ToolResult<Info> {
    Ok(lookup(id)?.info())
}

/// The retained output (the last ≤ [`RING_BUFFER_BYTES`]), whatever `read` has returned.
pub fn buffer(id: &str) -> ToolResult<Vec<u8>> {
    let session = lookup(id)?;
    let mut state = session.shared.lock();
    state.last_activity = Instant::now();
    Ok(state.ring.contents())
}

/// The retained output, emptying the buffer.
pub fn drain(id: &str) -> ToolResult<Vec<u8>> {
    let session = lookup(id)?;
    let mut state = session.shared.lock();
    let output = state.ring.contents();
    forget_output(&mut state);
    Ok(output)
}

/// Empties the buffer; `read` then returns only output that arrives afterwards.
pub fn clear(id: &str) -> ToolResult<()> {
    let session = lookup(id)?;
    forget_output(&mut session.shared.lock());
    Ok(())
}

/// Kills every process of the session, reaps the program, releases the PTY and forgets the
/// session; returns its final info.
pub fn close(id: &str) -> ToolResult<Info> {
    let session = sessions().remove(id).ok_or_else(|| unknown_session(id))?;
    session.shutdown();
    Ok(session.info())
}

/// Every open session, oldest first.
pub fn terminals() -> Vec<Info> {
    let mut open: Vec<Arc<Session>> = sessions().values().cloned().collect();
    open.sort_by_key(|session| session.seq);
    open.iter().map(|session| session.info()).collect()
}

/// Closes the sessions whose program has exited and that have been idle for more than
/// `seconds`; returns their ids, oldest first.
pub fn cleanup_idle(seconds: f64) -> ToolResult<Vec<String>> {
    if !seconds.is_finite() || seconds < 0.0 {
        return Err(ToolError::invalid_argument(format!(
            "seconds must be a number ≥ 0, got {seconds}"
        )));
    }
    let mut idle: Vec<Arc<Session>> = sessions()
        .values()
        .filter(|session| {
            let state = session.shared.lock();
            state.exited && state.last_activity.elapsed().as_secs_f64() > seconds
        })
        .cloned()
        .collect();
    idle.sort_by_key(|session| session.seq);
    let mut closed = Vec::new();
    for session in idle {
        // Another thread may have closed it meanwhile; then it is not ours to report.
        if sessions().remove(&session.id).is_some() {
            session.shutdown();
            closed.push(session.id.clone());
        }
    }
    Ok(closed)
}

// ---- arguments ---------------------------------------------------------------------------------

fn dimension(value: i64, name: &str) -> ToolResult<u16> {
    if (1..=MAX_DIMENSION).contains(&value) {
        Ok(value as u16)
    } else {
        Err(ToolError::invalid_argument(format!(
            "{name} must be between 1 and {MAX_DIMENSION}, got {value}"
        )))
    }
}

fn wait_duration(seconds: f64, name: &str) -> ToolResult<Duration> {
    if seconds.is_finite() && (0.0..=MAX_WAIT_SECONDS).contains(&seconds) {
        Ok(Duration::from_secs_f64(seconds))
    } else {
        Err(ToolError::invalid_argument(format!(
            "{name} must be between 0 and {MAX_WAIT_SECONDS} seconds, got {seconds}"
        )))
    }
}

/// The argv to run: `command`, or the user's shell.
fn command_argv(command: Option<Vec<String>>) -> ToolResult<Vec<String>> {
    let command = match command {
        Some(command) => command,
        None => vec![
            std::env::var("SHELL")
                .ok()
                .filter(|shell| !shell.is_empty())
                .unwrap_or_else(|| FALLBACK_SHELL.to_string()),
        ],
    };
    if command.is_empty() || command[0].is_empty() {
        return Err(ToolError::invalid_argument(
            "command must name a program: got an empty command",
        ));
    }
    if let Some(arg) = command.iter().find(|arg| arg.contains('\0')) {
        return Err(ToolError::invalid_argument(format!(
            "command argument contains a NUL byte: {arg:?}"
        )));
    }
    Ok(command)
}

fn check_env(env: &BTreeMap<String, String>) -> ToolResult<()> {
    for (name, value) in env {
        if name.is_empty() || name.contains('=') || name.contains('\0') {
            return Err(ToolError::invalid_argument(format!(
                "environment variable name must be non-empty without '=' or NUL: {name:?}"
            )));
        }
        if value.contains('\0') {
            return Err(ToolError::invalid_argument(format!(
                "environment variable {name} contains a NUL byte"
            )));
        }
    }
    Ok(())
}

/// `cwd` made absolute; it must be an existing directory.
fn working_directory(cwd: &str) -> ToolResult<PathBuf> {
    let path = std::path::absolute(if cwd.is_empty() { "." } else { cwd })
        .map_err(|e| ToolError::from_io(&e, Path::new(cwd)))?;
    match std::fs::metadata(&path) {
        Ok(meta) if meta.is_dir() => Ok(path),
        Ok(_) => Err(ToolError::new(
            ErrorKind::NotADirectory,
            format!("Working directory is not a directory: {cwd}"),
        )),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(ToolError::new(
            ErrorKind::NotFound,
            format!("Working directory not found: {cwd}"),
        )),
        Err(e) => Err(ToolError::from_io(&e, &path)),
    }
}

/// The `PATH` the program will see: from `env`, else this process's, else [`DEFAULT_PATH`].
fn search_path(env: &BTreeMap<String, String>) -> String {
    env.get("PATH")
        .cloned()
        .or_else(|| std::env::var("PATH").ok())
        .unwrap_or_else(|| DEFAULT_PATH.to_string())
}

/// Finds the program as `execvp` would, so a missing command is reported by name before
/// anything is started. A name with a `/` is taken relative to `cwd`.
fn resolve_command(name: &str, cwd: &Path, path: &str) -> ToolResult<PathBuf> {
    if name.contains('/') {
        let candidate = cwd.join(name);
        if candidate.is_dir() {
            return Err(ToolError::new(
                ErrorKind::IsDirectory,
                format!("Command is a directory: {name}"),
            ));
        }
        if !candidate.is_file() {
            return Err(command_not_found(name));
        }
        return if access(&candidate, Access::EXEC_OK).is_ok() {
            Ok(candidate)
        } else {
            Err(command_not_executable(name))
        };
    }
    let mut not_executable = false;
    for dir in path.split(':').filter(|dir| !dir.is_empty()) {
        let candidate = cwd.join(dir).join(name);
        if candidate.is_file() {
            if access(&candidate, Access::EXEC_OK).is_ok() {
                return Ok(candidate);
            }
            not_executable = true;
        }
    }
    Err(if not_executable {
        command_not_executable(name)
    } else {
        command_not_found(name)
    })
}

// ---- the PTY and the child ---------------------------------------------------------------------

fn winsize(rows: u16, cols: u16) -> Winsize {
    Winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    }
}

/// A new PTY pair, both ends close-on-exec (no other child inherits them); the master is
/// non-blocking so `write` can give up at its deadline.
fn open_pty(rows: u16, cols: u16) -> rustix::io::Result<(OwnedFd, OwnedFd)> {
    let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC)?;
    grantpt(&master)?;
    unlockpt(&master)?;
    let name = ptsname(&master, Vec::new())?;
    let slave = open(
        name.as_c_str(),
        OFlags::RDWR | OFlags::NOCTTY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    tcsetwinsize(&master, winsize(rows, cols))?;
    fcntl_setfl(&master, fcntl_getfl(&master)? | OFlags::NONBLOCK)?;
    Ok((master, slave))
}

/// Starts `program` with the PTY's slave side as stdin, stdout and stderr, as the leader of a
/// new session (so of a new process group) whose controlling terminal is that PTY.
fn spawn_on(
    program: &Path,
    command: &[String],
    cwd: &Path,
    env: &BTreeMap<String, String>,
    slave: OwnedFd,
) -> ToolResult<Child> {
    let io_error = |e: io::Error| {
        ToolError::new(
            ErrorKind::Io,
            format!("Could not duplicate the terminal: {e}"),
        )
    };
    let mut child = Command::new(program);
    child
        .args(&command[1..])
        .current_dir(cwd)
        .env("TERM", DEFAULT_TERM)
        .envs(env)
        .stdin(Stdio::from(slave.try_clone().map_err(io_error)?))
        .stdout(Stdio::from(slave.try_clone().map_err(io_error)?))
        .stderr(Stdio::from(slave));
    // SAFETY: the closure runs in the forked child before exec and only makes two system calls,
    // which are async-signal-safe; it allocates nothing and takes no lock.
    unsafe {
        use std::os::unix::process::CommandExt;
        child.pre_exec(|| {
            setsid()?;
            ioctl_tiocsctty(rustix::stdio::stdin())?;
            Ok(())
        });
    }
    child.spawn().map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => command_not_found(&command[0]),
        io::ErrorKind::PermissionDenied => command_not_executable(&command[0]),
        _ => ToolError::new(
            ErrorKind::Io,
            format!("Could not start {}: {e}", command[0]),
        ),
    })
}

fn spawn_thread(name: String, body: impl FnOnce() + Send + 'static) -> io::Result<JoinHandle<()>> {
    thread::Builder::new()
        .name(name)
        .stack_size(THREAD_STACK_BYTES)
        .spawn(body)
}

/// The pump: PTY output into the ring buffer until the terminal closes or `wake` is written.
///
/// A PTY read returns at most one 4 KB line-discipline buffer. When output comes faster than
/// that, the pump reads again at once into the same chunk until the terminal has nothing more
/// (or the chunk is full), then hands the whole chunk over and wakes readers once: a reader then
/// takes tens of KB per wake-up instead of 4 KB (bench-pty, bulk read by the caller). Output
/// that trickles in is handed over as soon as it is read, so latency is unchanged.
fn pump_output(master: &OwnedFd, wake: &OwnedFd, shared: &Shared) {
    let mut chunk = vec![0u8; READ_CHUNK_BYTES];
    loop {
        let mut fds = [
            PollFd::new(master, PollFlags::IN),
            PollFd::new(wake, PollFlags::IN),
        ];
        match poll(&mut fds, None) {
            Ok(_) => {}
            Err(Errno::INTR) => continue,
            Err(_) => break,
        }
        if !fds[1].revents().is_empty() {
            break;
        }
        if fds[0].revents().is_empty() {
            continue;
        }
        let (filled, open) = read_available(master, &mut chunk);
        if filled > 0 {
            shared.push_output(&chunk[..filled]);
        }
        if !open {
            break;
        }
    }
    shared.update(|state| state.output_closed = true);
}

/// Reads what the terminal has now into `chunk` (the master is non-blocking): (bytes read,
/// whether the terminal is still open). EIO or end of file: every process has closed the
/// terminal's slave side.
fn read_available(master: &OwnedFd, chunk: &mut [u8]) -> (usize, bool) {
    let mut filled = 0;
    while filled < chunk.len() {
        match rustix::io::read(master, &mut chunk[filled..]) {
            Ok(0) => return (filled, false),
            Ok(n) => filled += n,
            Err(Errno::AGAIN) => break,
            Err(Errno::INTR) => {}
            Err(_) => return (filled, false),
        }
    }
    (filled, true)
}

/// The watcher: records the exit as it happens, then reaps the child once `close` asks.
fn watch_exit(mut child: Child, shared: &Shared) {
    let pid = Pid::from_child(&child);
    let exit_code = loop {
        // WNOWAIT: look, do not reap — the zombie keeps the pid (and group) reserved.
        match waitid(
            WaitId::Pid(pid),
            WaitIdOptions::EXITED | WaitIdOptions::NOWAIT,
        ) {
            Ok(Some(status)) => break exit_code(&status),
            Ok(None) | Err(Errno::INTR) => continue,
            // ECHILD: someone else reaped it (e.g. SIGCHLD ignored); the code is unknown.
            Err(_) => break None,
        }
    };
    shared.update(|state| {
        state.exited = true;
        state.exit_code = exit_code;
        state.last_activity = Instant::now();
    });
    // Parked for the session's lifetime: only `close` (which always sets `closing`) ends it.
    let mut state = shared.lock();
    while !state.closing {
        state = shared
            .changed
            .wait(state)
            .unwrap_or_else(|poisoned| poisoned.into_inner());
    }
    drop(state);
    let _ = child.wait();
    shared.update(|state| state.reaped = true);
}

fn exit_code(status: &WaitIdStatus) -> Option<i32> {
    if status.exited() {
        status.exit_status()
    } else {
        status.terminating_signal().map(|signal| -signal)
    }
}

/// True once `master` can take more input, false at `deadline`.
fn wait_writable(master: &OwnedFd, deadline: Instant) -> bool {
    loop {
        let now = Instant::now();
        if now >= deadline {
            return false;
        }
        let left =
            rustix::event::Timespec::try_from(deadline - now).unwrap_or(rustix::event::Timespec {
                tv_sec: 1,
                tv_nsec: 0,
            });
        let mut fds = [PollFd::new(master, PollFlags::OUT)];
        match poll(&mut fds, Some(&left)) {
            Ok(0) | Err(Errno::INTR) => {}
            Ok(_) => return true,
            Err(_) => return true, // let the write report the error
        }
    }
}

fn forget_output(state: &mut State) {
    state.ring.clear();
    state.read_position = state.ring.received();
    state.last_activity = Instant::now();
}

// ---- killing a session -------------------------------------------------------------------------

/// SIGKILL to the process group led by `leader`, and to every other process of its session
/// (an interactive shell puts each job in a group of its own). Processes that left the session
/// with `setsid` (daemons) are out of reach, as they are meant to be.
fn kill_session(leader: Pid) {
    // Ignored failure: ESRCH when the whole group has already exited.
    let _ = kill_process_group(leader, Signal::KILL);
    for _ in 0..SESSION_SWEEPS {
        let members = session_members(leader);
        if members.is_empty() {
            break;
        }
        for pid in members {
            let _ = kill_process(pid, Signal::KILL);
        }
    }
}

/// Live (non-zombie) processes whose session id is `leader`, read from /proc (empty elsewhere).
fn session_members(leader: Pid) -> Vec<Pid> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let me = rustix::process::getpid();
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(Pid::from_raw)
        .filter(|&pid| pid != me)
        .filter(|&pid| {
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{}/stat", pid.as_raw_pid()))
            else {
                return false;
            };
            // "pid (comm) state ppid pgrp session ...": comm may hold spaces and parentheses.
            let Some(close) = stat.rfind(')') else {
                return false;
            };
            let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
            fields.len() > 3
                && fields[0] != "Z"
                && fields[3].parse::<i32>().ok() == Some(leader.as_raw_pid())
        })
        .collect()
}

// ---- errors ------------------------------------------------------------------------------------

fn thread_error(e: io::Error) -> ToolError {
    ToolError::new(ErrorKind::Io, format!("Could not start a thread: {e}"))
}

fn unknown_session(id: &str) -> ToolError {
    ToolError::new(
        ErrorKind::NotFound,
        format!("No terminal session with id {id:?} (closed, or never opened)"),
    )
}

fn exited_error(session: &Session) -> ToolError {
    let code = session
        .shared
        .lock()
        .exit_code
        .map(|code| format!(" with code {code}"))
        .unwrap_or_default();
    ToolError::invalid_argument(format!(
        "terminal {} has exited{code}: it takes no more input; read its output or close it",
        session.id
    ))
}

fn command_not_found(name: &str) -> ToolError {
    ToolError::new(ErrorKind::NotFound, format!("Command not found: {name}"))
}

fn command_not_executable(name: &str) -> ToolError {
    ToolError::new(
        ErrorKind::PermissionDenied,
        format!("Command is not executable: {name}"),
    )
}

fn os_error(errno: Errno, doing: &str) -> ToolError {
    let kind = match errno {
        Errno::NOENT => ErrorKind::NotFound,
        Errno::ACCESS | Errno::PERM => ErrorKind::PermissionDenied,
        _ => ErrorKind::Io,
    };
    ToolError::new(
        kind,
        format!("Could not {doing}: {}", io::Error::from(errno)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_keeps_the_last_capacity_bytes_and_counts_the_rest() {
        let mut ring = Ring::new(4);
        ring.push(b"ab");
        ring.push(b"cde");
        assert_eq!(ring.contents(), b"bcde");
        assert_eq!((ring.received(), ring.dropped()), (5, 1));
        ring.push(b"0123456789");
        assert_eq!(ring.contents(), b"6789");
        assert_eq!((ring.received(), ring.dropped()), (15, 11));
    }

    #[test]
    fn ring_since_returns_bytes_after_an_absolute_position() {
        let mut ring = Ring::new(4);
        ring.push(b"abcdef");
        assert_eq!(ring.since(0), b"cdef"); // fell off: all that is left
        assert_eq!(ring.since(4), b"ef");
        assert_eq!(ring.since(6), b"");
        assert_eq!(ring.since(99), b"");
    }

    #[test]
    fn ring_copy_since_fills_the_buffer_across_the_wrap_and_leaves_the_rest() {
        let mut ring = Ring::new(6);
        ring.push(b"abcd");
        ring.push(b"efgh"); // the deque wraps: "cdefgh" kept, positions 2..8
        let mut out = [0u8; 4];
        assert_eq!(ring.copy_since(0, &mut out), (2, 4)); // fell off: from the oldest kept
        assert_eq!(&out, b"cdef");
        assert_eq!(ring.copy_since(6, &mut out), (6, 2));
        assert_eq!(&out[..2], b"gh");
        assert_eq!(ring.copy_since(8, &mut out), (8, 0));
        let mut big = [0u8; 16];
        assert_eq!(ring.copy_since(3, &mut big), (3, 5));
        assert_eq!(&big[..5], b"defgh");
    }

    #[test]
    fn ring_clear_forgets_bytes_without_counting_them_dropped() {
        let mut ring = Ring::new(8);
        ring.push(b"abc");
        ring.clear();
        assert!(ring.is_empty());
        assert_eq!((ring.received(), ring.dropped()), (3, 0));
        ring.push(b"d");
        assert_eq!(ring.since(0), b"d");
    }

    #[test]
    fn resolve_command_reports_missing_and_non_executable_commands() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("plain");
        std::fs::write(&plain, "x").unwrap();
        let path = dir.path().to_string_lossy().into_owned();
        let missing = resolve_command("no-such-command-xyz", dir.path(), &path).unwrap_err();
        assert_eq!(missing.kind, ErrorKind::NotFound);
        assert!(missing.message.contains("no-such-command-xyz"));
        // root may execute anything with an x bit, but a file with none is refused even so
        let refused = resolve_command("plain", dir.path(), &path).unwrap_err();
        assert_eq!(refused.kind, ErrorKind::PermissionDenied);
        assert_eq!(
            resolve_command("./plain", dir.path(), "").unwrap_err().kind,
            ErrorKind::PermissionDenied
        );
    }

    #[test]
    fn bad_dimensions_and_timeouts_are_invalid_arguments() {
        assert_eq!(
            dimension(0, "rows").unwrap_err().kind,
            ErrorKind::InvalidArgument
        );
        assert_eq!(dimension(65_535, "rows").unwrap(), 65_535);
        assert!(dimension(65_536, "cols").is_err());
        assert!(wait_duration(f64::NAN, "timeout").is_err());
        assert!(wait_duration(-1.0, "timeout").is_err());
        assert!(wait_duration(f64::INFINITY, "timeout").is_err());
    }
}
