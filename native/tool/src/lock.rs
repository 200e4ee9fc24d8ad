//! `lock`: keyed reader-writer locks — many readers or one writer per key — for Python threads and
//! asyncio tasks, with writer priority and FIFO queues.
//!
//! # Policy (the same in `ironcode/twin/lock.py`)
//! - A read is granted when no writer holds the key and no writer waits for it. Writer priority:
//!   a waiting writer blocks new readers, so a stream of readers cannot starve a writer.
//! - A write is granted when nobody holds the key and no other writer waits for it.
//! - On every release or withdrawal, a free key goes to the first waiting writer; when no writer
//!   holds or waits, every waiting reader is granted at once, in arrival order. Each queue is FIFO.
//! - A key with no holders and no waiters is removed, so the registry only holds live keys.
//! - Readers can starve under an unbroken stream of writers: the price of writer priority.
//! - Holds are counted, not owned: a second acquisition by the same thread or task is a new
//!   request under the same rules (a write inside a hold of the same key never succeeds; the
//!   caller's timeout is what ends it).
//!
//! # Tickets
//! Every request gets a ticket id. [`try_acquire`] grants it at once or queues it; a queued ticket
//! is then waited for in one of two ways:
//! - a thread blocks in [`wait`] on the key's `Condvar`, with a timeout (ctypes releases the GIL
//!   for the call);
//! - an asyncio task names a *channel* ([`channel_open`]): when the ticket is granted, its id is
//!   added to the channel's ready list and one byte is written to the channel's socket, whose other
//!   end the event loop watches with `loop.add_reader`. The loop wakes only when there is news,
//!   then collects the granted ids with [`channel_take`]. No polling, and one descriptor per event
//!   loop rather than per waiter (a thread per waiter would need one pool thread per blocked task,
//!   and a bounded pool deadlocks when a granted task's wait queues behind blocked ones).
//!
//! [`release`] gives a ticket back: a held one is released, a waiting one leaves its queue (a
//! timeout or a cancelled task), and either way the queues move on.

use std::collections::{HashMap, VecDeque};
use std::io::{ErrorKind as IoErrorKind, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Condvar, LazyLock, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::error::{ErrorKind, ToolError, ToolResult};

/// The byte written to a channel's socket to wake its event loop. Only its arrival matters.
const WAKE_BYTE: [u8; 1] = [1];
/// How much [`channel_take`] reads from a channel's socket per read call while draining it.
const DRAIN_CHUNK: usize = 64;

/// What a ticket asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    Read,
    Write,
}

impl Mode {
    /// Parses `"read"` or `"write"`; anything else is `invalid_argument`.
    pub fn parse(text: &str) -> ToolResult<Mode> {
        match text {
            "read" => Ok(Mode::Read),
            "write" => Ok(Mode::Write),
            other => Err(ToolError::invalid_argument(format!(
                "lock mode must be 'read' or 'write', got {other:?}"
            ))),
        }
    }
}

/// The answer of [`try_acquire`]: the ticket, and whether it is already held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Attempt {
    pub ticket: u64,
    pub granted: bool,
}

/// The answer of [`stats`]: how many keys are live, and who holds and waits across all of them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct LockStats {
    pub total_locks: usize,
    pub active_readers: usize,
    pub active_writers: usize,
    pub waiting_readers: usize,
    pub waiting_writers: usize,
}

/// The answer of [`channel_open`]: the channel id, and the descriptor the event loop watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ChannelInfo {
    pub channel: u64,
    pub fd: i32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TicketState {
    Waiting,
    Held,
}

#[derive(Debug)]
struct Ticket {
    key: Arc<str>,
    mode: Mode,
    state: TicketState,
    /// The asyncio channel told when this ticket is granted; `None` for a thread's ticket.
    channel: Option<u64>,
}

/// One key's holders and queues.
#[derive(Debug, Default)]
struct KeyState {
    readers: usize,
    writer: bool,
    waiting_readers: VecDeque<u64>,
    waiting_writers: VecDeque<u64>,
    /// Threads blocked in `wait` on this key sleep here; created by the first such thread.
    wakeup: Option<Arc<Condvar>>,
}

impl KeyState {
    fn can_read(&self) -> bool {
        !self.writer && self.waiting_writers.is_empty()
    }

    fn can_write(&self) -> bool {
        !self.writer && self.readers == 0 && self.waiting_writers.is_empty()
    }

    fn is_idle(&self) -> bool {
        self.readers == 0
            && !self.writer
            && self.waiting_readers.is_empty()
            && self.waiting_writers.is_empty()
    }
}

#[derive(Debug)]
struct Channel {
    /// Granted tickets not yet collected by [`channel_take`].
    ready: Vec<u64>,
    /// True while a wake byte is unread: later grants add to `ready` without writing again, so
    /// the socket never holds more than one byte and a write can never block or fill it.
    signalled: bool,
    sender: UnixStream,
    receiver: UnixStream,
}

/// The state behind one [`Locks`] mutex.
#[derive(Debug, Default)]
struct Registry {
    keys: HashMap<Arc<str>, KeyState>,
    tickets: HashMap<u64, Ticket>,
    channels: HashMap<u64, Channel>,
    next_id: u64,
}

/// A registry of keyed reader-writer locks. The process has one ([`global`]); tests make their own.
#[derive(Debug, Default)]
pub struct Locks {
    registry: Mutex<Registry>,
}

static GLOBAL: LazyLock<Locks> = LazyLock::new(Locks::default);

/// The process-wide registry behind the exported functions.
pub fn global() -> &'static Locks {
    &GLOBAL
}

/// Requests `mode` on `key` in the global registry; see [`Locks::try_acquire`].
pub fn try_acquire(key: &str, mode: Mode, channel: Option<u64>) -> ToolResult<Attempt> {
    global().try_acquire(key, mode, channel)
}

/// Blocks until a ticket of the global registry is granted; see [`Locks::wait`].
pub fn wait(ticket: u64, timeout: Option<Duration>) -> ToolResult<bool> {
    global().wait(ticket, timeout)
}

/// Releases or withdraws a ticket of the global registry; see [`Locks::release`].
pub fn release(ticket: u64) -> ToolResult<()> {
    global().release(ticket)
}

/// Counts of the global registry; see [`Locks::stats`].
pub fn stats() -> LockStats {
    global().stats()
}

/// Opens a notification channel in the global registry; see [`Locks::channel_open`].
pub fn channel_open() -> ToolResult<ChannelInfo> {
    global().channel_open()
}

/// Collects granted tickets of a global channel; see [`Locks::channel_take`].
pub fn channel_take(channel: u64) -> ToolResult<Vec<u64>> {
    global().channel_take(channel)
}

/// Closes a global channel; see [`Locks::channel_close`].
pub fn channel_close(channel: u64) -> ToolResult<()> {
    global().channel_close(channel)
}

impl Locks {
    /// Requests `mode` on `key`: grants it at once if the policy allows, else queues it.
    ///
    /// A queued ticket is waited for with [`Locks::wait`] (threads) or, when `channel` is given,
    /// reported by [`Locks::channel_take`] once granted (asyncio). Either way it must end with
    /// [`Locks::release`]. An unknown `channel` is `invalid_argument`.
    pub fn try_acquire(&self, key: &str, mode: Mode, channel: Option<u64>) -> ToolResult<Attempt> {
        let mut guard = self.lock();
        let reg = &mut *guard;
        if let Some(id) = channel
            && !reg.channels.contains_key(&id)
        {
            return Err(unknown("channel", id));
        }
        reg.next_id += 1;
        let ticket = reg.next_id;
        let (key, state) = reg.entry(key);
        let granted = match mode {
            Mode::Read if state.can_read() => {
                state.readers += 1;
                true
            }
            Mode::Write if state.can_write() => {
                state.writer = true;
                true
            }
            Mode::Read => {
                state.waiting_readers.push_back(ticket);
                false
            }
            Mode::Write => {
                state.waiting_writers.push_back(ticket);
                false
            }
        };
        let state = if granted {
            TicketState::Held
        } else {
            TicketState::Waiting
        };
        reg.tickets.insert(
            ticket,
            Ticket {
                key,
                mode,
                state,
                channel,
            },
        );
        Ok(Attempt { ticket, granted })
    }

    /// Blocks the calling thread until `ticket` is granted (`true`) or `timeout` passes (`false`;
    /// the ticket stays queued, so the caller may wait again or withdraw it with
    /// [`Locks::release`]). `None` waits without limit. Sleeps on the key's `Condvar`: no polling.
    /// An unknown ticket, or one released while waiting, is `invalid_argument`.
    pub fn wait(&self, ticket: u64, timeout: Option<Duration>) -> ToolResult<bool> {
        let mut reg = self.lock();
        let wakeup = {
            let registry = &mut *reg;
            let entry = registry
                .tickets
                .get(&ticket)
                .ok_or_else(|| unknown("ticket", ticket))?;
            if entry.state == TicketState::Held {
                return Ok(true);
            }
            let state = registry
                .keys
                .get_mut(&entry.key)
                .ok_or_else(|| ToolError::new(ErrorKind::Panic, "waiting ticket without key"))?;
            Arc::clone(state.wakeup.get_or_insert_with(Default::default))
        };
        // A deadline too far away to represent is the same as no deadline.
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        loop {
            match reg.tickets.get(&ticket).map(|t| t.state) {
                Some(TicketState::Held) => return Ok(true),
                Some(TicketState::Waiting) => {}
                None => {
                    return Err(ToolError::invalid_argument(format!(
                        "lock ticket {ticket} was released while a thread waited for it"
                    )));
                }
            }
            reg = match deadline {
                None => wakeup.wait(reg).unwrap_or_else(PoisonError::into_inner),
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return Ok(false);
                    }
                    wakeup
                        .wait_timeout(reg, deadline - now)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
            };
        }
    }

    /// Gives `ticket` back: a held ticket is released, a waiting one leaves its queue. Then the
    /// key's queues move on (a withdrawn writer may unblock the readers queued behind it), and an
    /// idle key is removed. An unknown (or already released) ticket is `invalid_argument`.
    pub fn release(&self, ticket: u64) -> ToolResult<()> {
        self.lock().give_back(ticket)
    }

    /// Counts live keys, holders and waiters, across all keys.
    pub fn stats(&self) -> LockStats {
        let reg = self.lock();
        let mut stats = LockStats {
            total_locks: reg.keys.len(),
            ..LockStats::default()
        };
        for state in reg.keys.values() {
            stats.active_readers += state.readers;
            stats.active_writers += usize::from(state.writer);
            stats.waiting_readers += state.waiting_readers.len();
            stats.waiting_writers += state.waiting_writers.len();
        }
        stats
    }

    /// Opens a notification channel for one event loop: a non-blocking socket pair whose
    /// receiving end (`fd`) becomes readable when a ticket naming the channel is granted.
    /// The registry owns both ends; the caller only watches `fd` and must not close it.
    pub fn channel_open(&self) -> ToolResult<ChannelInfo> {
        let (sender, receiver) = UnixStream::pair().map_err(io_error)?;
        sender.set_nonblocking(true).map_err(io_error)?;
        receiver.set_nonblocking(true).map_err(io_error)?;
        let fd = receiver.as_raw_fd();
        let mut reg = self.lock();
        reg.next_id += 1;
        let channel = reg.next_id;
        reg.channels.insert(
            channel,
            Channel {
                ready: Vec::new(),
                signalled: false,
                sender,
                receiver,
            },
        );
        Ok(ChannelInfo { channel, fd })
    }

    /// The tickets of `channel` granted since the last call, in grant order. Drains the wake byte,
    /// so the descriptor is quiet until the next grant. Unknown channel: `invalid_argument`.
    pub fn channel_take(&self, channel: u64) -> ToolResult<Vec<u64>> {
        let mut reg = self.lock();
        let entry = reg
            .channels
            .get_mut(&channel)
            .ok_or_else(|| unknown("channel", channel))?;
        let mut sink = [0u8; DRAIN_CHUNK];
        // Drained under the registry mutex, which every signal also holds: a grant either lands
        // before this (its id is taken now) or after (it writes a fresh byte).
        while let Ok(n) = (&entry.receiver).read(&mut sink) {
            if n == 0 {
                break;
            }
        }
        entry.signalled = false;
        Ok(std::mem::take(&mut entry.ready))
    }

    /// Closes `channel` (its event loop is gone): its waiting tickets are withdrawn, since no one
    /// is left to be told; held ones stay held until released. Unknown channel: `invalid_argument`.
    pub fn channel_close(&self, channel: u64) -> ToolResult<()> {
        let mut guard = self.lock();
        let reg = &mut *guard;
        reg.channels
            .remove(&channel)
            .ok_or_else(|| unknown("channel", channel))?;
        let orphans: Vec<u64> = reg
            .tickets
            .iter()
            .filter(|(_, t)| t.channel == Some(channel) && t.state == TicketState::Waiting)
            .map(|(&id, _)| id)
            .collect();
        for ticket in reg.tickets.values_mut() {
            if ticket.channel == Some(channel) {
                ticket.channel = None;
            }
        }
        for ticket in orphans {
            reg.give_back(ticket)?;
        }
        Ok(())
    }

    /// The registry, recovered if a thread panicked while holding it: every update leaves the
    /// counts consistent before anything that could panic, so the data stays usable.
    fn lock(&self) -> MutexGuard<'_, Registry> {
        self.registry.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Registry {
    /// `key`'s state, created if the key is new, with the shared copy of the key for tickets.
    fn entry(&mut self, key: &str) -> (Arc<str>, &mut KeyState) {
        let shared = match self.keys.get_key_value(key) {
            Some((existing, _)) => Arc::clone(existing),
            None => Arc::from(key),
        };
        let state = self.keys.entry(Arc::clone(&shared)).or_default();
        (shared, state)
    }

    /// [`Locks::release`] with the registry locked.
    fn give_back(&mut self, ticket: u64) -> ToolResult<()> {
        let entry = self
            .tickets
            .remove(&ticket)
            .ok_or_else(|| unknown("ticket", ticket))?;
        if let Some(state) = self.keys.get_mut(&entry.key) {
            match (entry.state, entry.mode) {
                (TicketState::Held, Mode::Read) => state.readers = state.readers.saturating_sub(1),
                (TicketState::Held, Mode::Write) => state.writer = false,
                (TicketState::Waiting, Mode::Read) => {
                    state.waiting_readers.retain(|&t| t != ticket)
                }
                (TicketState::Waiting, Mode::Write) => {
                    state.waiting_writers.retain(|&t| t != ticket)
                }
            }
        }
        self.grant_waiters(&entry.key);
        Ok(())
    }

    /// Moves `key`'s queues on after a change: the first waiting writer if the key is free, else
    /// (no writer holding or waiting) every waiting reader. Tells each granted ticket's waiter,
    /// and removes the key if it has become idle.
    fn grant_waiters(&mut self, key: &str) {
        let Some(state) = self.keys.get_mut(key) else {
            return;
        };
        let mut granted: Vec<u64> = Vec::new();
        if !state.writer
            && state.readers == 0
            && let Some(writer) = state.waiting_writers.pop_front()
        {
            state.writer = true;
            granted.push(writer);
        }
        if !state.writer && state.waiting_writers.is_empty() {
            state.readers += state.waiting_readers.len();
            granted.extend(state.waiting_readers.drain(..));
        }
        if state.is_idle() {
            self.keys.remove(key);
            return;
        }
        if granted.is_empty() {
            return;
        }
        let mut wake_threads = false;
        for id in granted {
            let Some(ticket) = self.tickets.get_mut(&id) else {
                continue;
            };
            ticket.state = TicketState::Held;
            match ticket.channel.and_then(|c| self.channels.get_mut(&c)) {
                Some(channel) => channel.signal(id),
                None => wake_threads = true,
            }
        }
        if wake_threads && let Some(wakeup) = &state.wakeup {
            wakeup.notify_all();
        }
    }
}

impl Channel {
    /// Records a granted ticket and wakes the event loop, unless a wake byte is already unread.
    fn signal(&mut self, ticket: u64) {
        self.ready.push(ticket);
        if !self.signalled {
            // The socket is non-blocking and holds at most one unread byte, so this cannot block;
            // should it fail anyway, `signalled` stays false and the next grant tries again.
            self.signalled = (&self.sender).write(&WAKE_BYTE).is_ok();
        }
    }
}

fn unknown(what: &str, id: u64) -> ToolError {
    ToolError::invalid_argument(format!(
        "unknown lock {what} {id} (already released, or never issued)"
    ))
}

fn io_error(err: std::io::Error) -> ToolError {
    let kind = if err.kind() == IoErrorKind::PermissionDenied {
        ErrorKind::PermissionDenied
    } else {
        ErrorKind::Io
    };
    ToolError::new(
        kind,
        format!("cannot open a lock notification socket: {err}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(locks: &Locks, key: &str, mode: Mode) -> u64 {
        let attempt = locks.try_acquire(key, mode, None).unwrap();
        assert!(
            attempt.granted,
            "{mode:?} on {key} should be granted at once"
        );
        attempt.ticket
    }

    fn queued(locks: &Locks, key: &str, mode: Mode, channel: Option<u64>) -> u64 {
        let attempt = locks.try_acquire(key, mode, channel).unwrap();
        assert!(!attempt.granted, "{mode:?} on {key} should queue");
        attempt.ticket
    }

    #[test]
    fn readers_share_and_a_writer_excludes_them() {
        let locks = Locks::default();
        let r1 = held(&locks, "k", Mode::Read);
        let r2 = held(&locks, "k", Mode::Read);
        let w = queued(&locks, "k", Mode::Write, None);
        assert_eq!(locks.stats().active_readers, 2);
        assert_eq!(locks.stats().waiting_writers, 1);
        locks.release(r1).unwrap();
        assert!(!locks.wait(w, Some(Duration::ZERO)).unwrap());
        locks.release(r2).unwrap();
        assert!(locks.wait(w, Some(Duration::ZERO)).unwrap());
        locks.release(w).unwrap();
        assert_eq!(locks.stats(), LockStats::default());
    }

    #[test]
    fn a_waiting_writer_blocks_new_readers_and_goes_first() {
        let locks = Locks::default();
        let r1 = held(&locks, "k", Mode::Read);
        let w = queued(&locks, "k", Mode::Write, None);
        let r2 = queued(&locks, "k", Mode::Read, None);
        locks.release(r1).unwrap();
        assert!(locks.wait(w, Some(Duration::ZERO)).unwrap());
        assert!(!locks.wait(r2, Some(Duration::ZERO)).unwrap());
        locks.release(w).unwrap();
        assert!(locks.wait(r2, Some(Duration::ZERO)).unwrap());
        locks.release(r2).unwrap();
        assert_eq!(locks.stats().total_locks, 0);
    }

    #[test]
    fn writers_are_granted_in_arrival_order() {
        let locks = Locks::default();
        let first = held(&locks, "k", Mode::Write);
        let queue: Vec<u64> = (0..4)
            .map(|_| queued(&locks, "k", Mode::Write, None))
            .collect();
        locks.release(first).unwrap();
        for (i, &ticket) in queue.iter().enumerate() {
            assert!(locks.wait(ticket, Some(Duration::ZERO)).unwrap());
            for &later in &queue[i + 1..] {
                assert!(!locks.wait(later, Some(Duration::ZERO)).unwrap());
            }
            locks.release(ticket).unwrap();
        }
    }

    #[test]
    fn withdrawing_a_waiting_writer_admits_the_readers_behind_it() {
        let locks = Locks::default();
        let r1 = held(&locks, "k", Mode::Read);
        let w = queued(&locks, "k", Mode::Write, None);
        let r2 = queued(&locks, "k", Mode::Read, None);
        locks.release(w).unwrap();
        assert!(locks.wait(r2, Some(Duration::ZERO)).unwrap());
        assert_eq!(locks.stats().active_readers, 2);
        locks.release(r1).unwrap();
        locks.release(r2).unwrap();
    }

    #[test]
    fn releasing_twice_or_an_unknown_ticket_is_invalid_argument() {
        let locks = Locks::default();
        let t = held(&locks, "k", Mode::Write);
        locks.release(t).unwrap();
        assert_eq!(
            locks.release(t).unwrap_err().kind,
            ErrorKind::InvalidArgument
        );
        assert_eq!(
            locks.wait(9999, None).unwrap_err().kind,
            ErrorKind::InvalidArgument
        );
        assert_eq!(
            locks
                .try_acquire("k", Mode::Read, Some(12345))
                .unwrap_err()
                .kind,
            ErrorKind::InvalidArgument
        );
    }

    #[test]
    fn a_blocked_thread_wakes_when_the_writer_releases() {
        let locks = Arc::new(Locks::default());
        let w = held(&locks, "k", Mode::Write);
        let r = queued(&locks, "k", Mode::Read, None);
        let waiter = {
            let locks = Arc::clone(&locks);
            std::thread::spawn(move || locks.wait(r, Some(Duration::from_secs(30))))
        };
        locks.release(w).unwrap();
        assert!(waiter.join().unwrap().unwrap());
        locks.release(r).unwrap();
    }

    #[test]
    fn a_channel_reports_grants_once_and_its_socket_wakes() {
        let locks = Locks::default();
        let info = locks.channel_open().unwrap();
        let w = held(&locks, "k", Mode::Write);
        let r1 = queued(&locks, "k", Mode::Read, Some(info.channel));
        let r2 = queued(&locks, "k", Mode::Read, Some(info.channel));
        assert_eq!(locks.channel_take(info.channel).unwrap(), Vec::<u64>::new());
        locks.release(w).unwrap();
        {
            // One wake byte for both grants.
            let reg = locks.lock();
            let mut bytes = [0u8; 4];
            let n = (&reg.channels[&info.channel].receiver).read(&mut bytes);
            assert_eq!(n.unwrap(), 1);
        }
        assert_eq!(locks.channel_take(info.channel).unwrap(), vec![r1, r2]);
        assert_eq!(locks.channel_take(info.channel).unwrap(), Vec::<u64>::new());
        locks.release(r1).unwrap();
        locks.release(r2).unwrap();
        locks.channel_close(info.channel).unwrap();
    }

    #[test]
    fn closing_a_channel_withdraws_its_waiting_tickets() {
        let locks = Locks::default();
        let info = locks.channel_open().unwrap();
        let w = held(&locks, "k", Mode::Write);
        let _orphan = queued(&locks, "k", Mode::Write, Some(info.channel));
        locks.channel_close(info.channel).unwrap();
        assert_eq!(locks.stats().waiting_writers, 0);
        locks.release(w).unwrap();
        assert_eq!(locks.stats(), LockStats::default());
    }
}
