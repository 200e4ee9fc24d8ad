//! The watcher's inotify instance: one non-recursive watch per folder, read in batches by one
//! thread.
//!
//! notify 8 (the crate this replaced) asks the kernel for `IN_OPEN` and `IN_CLOSE_WRITE` on every
//! folder and cannot be told otherwise: creating one file made three kernel events, reading one
//! (`rg` over the tree) made one, and each became a heap-allocated `notify::Event` that the
//! watcher then threw away. Here the kernel is asked only for what becomes an event (the mask
//! watchdog uses when told which events it wants), events are read 64 KiB at a time, and each one
//! is resolved to its folder and handed on without an allocation of its own.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use rustix::event::{EventfdFlags, PollFd, PollFlags, eventfd, poll};
use rustix::fs::inotify::{self, CreateFlags, ReadFlags, WatchFlags};
use rustix::io::Errno;

use super::queue::Kind;

/// Bytes read from the inotify descriptor at once: about 2,000 events of short names.
pub const READ_BUFFER_BYTES: usize = 64 * 1024;

/// What each folder is watched for: the events that become `add` / `change` / `unlink`. No
/// `IN_OPEN` / `IN_CLOSE_*` (a file's content change is `IN_MODIFY`), and never a symlink or a
/// file in place of the folder.
const FOLDER_MASK: WatchFlags = WatchFlags::CREATE
    .union(WatchFlags::DELETE)
    .union(WatchFlags::MODIFY)
    .union(WatchFlags::ATTRIB)
    .union(WatchFlags::MOVED_FROM)
    .union(WatchFlags::MOVED_TO)
    .union(WatchFlags::ONLYDIR)
    .union(WatchFlags::DONT_FOLLOW);

/// An event about an entry of a watched folder (or about the root itself, with an empty name).
pub struct OsEvent<'a> {
    /// The folder the event came from, and the same path as text (lossy UTF-8).
    pub folder: &'a Folder,
    /// The entry's name; empty for an event about the root itself.
    pub name: &'a OsStr,
    pub kind: Kind,
    pub is_dir: bool,
}

/// A watched folder.
pub struct Folder {
    pub path: PathBuf,
    pub text: String,
}

impl Folder {
    /// The absolute path of `name` in this folder, as text (lossy UTF-8, like `paths::display`).
    pub fn entry_text(&self, name: &OsStr) -> String {
        let name = String::from_utf8_lossy(name.as_bytes());
        if name.is_empty() {
            return self.text.clone();
        }
        let mut text = String::with_capacity(self.text.len() + 1 + name.len());
        text.push_str(&self.text);
        if !text.ends_with('/') {
            text.push('/');
        }
        text.push_str(&name);
        text
    }
}

/// One inotify instance and the folders it watches; dropping the last handle closes it.
pub struct Inotify {
    fd: OwnedFd,
    waker: Arc<Waker>,
    folders: Mutex<HashMap<i32, Folder>>,
}

/// Stops the thread blocked in [`Inotify::wait`]; shared apart from the instance so that holding
/// it does not keep the inotify descriptor open.
pub struct Waker {
    fd: OwnedFd,
}

impl Waker {
    /// Makes [`Inotify::wait`] return `false`, now and from then on.
    pub fn wake(&self) {
        let _ = rustix::io::write(&self.fd, &1u64.to_ne_bytes());
    }
}

impl Inotify {
    /// A new inotify instance (close-on-exec, non-blocking) and its wake-up descriptor.
    pub fn new() -> io::Result<Self> {
        // The wake-up descriptor first: when descriptors run out, inotify_init1 is the call that
        // fails, and its error names the inotify limit.
        let wake = eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK)?;
        let fd = inotify::init(CreateFlags::CLOEXEC | CreateFlags::NONBLOCK)?;
        Ok(Inotify {
            fd,
            waker: Arc::new(Waker { fd: wake }),
            folders: Mutex::new(HashMap::new()),
        })
    }

    /// What stops [`Inotify::wait`].
    pub fn waker(&self) -> Arc<Waker> {
        Arc::clone(&self.waker)
    }

    /// Watches the entries of `folder` (not its subfolders' entries). The root is also watched
    /// for its own deletion. `ENOSPC` means the inotify watch limit was reached.
    pub fn watch(&self, folder: &Path, is_root: bool) -> io::Result<()> {
        let mask = if is_root {
            FOLDER_MASK | WatchFlags::DELETE_SELF
        } else {
            FOLDER_MASK
        };
        // Held across the system call so the reader, which resolves a batch under this lock,
        // never meets a descriptor it does not know yet.
        let mut folders = self.folders();
        let wd = inotify::add_watch(&self.fd, folder, mask)?;
        folders.insert(
            wd,
            Folder {
                path: folder.to_path_buf(),
                text: folder.to_string_lossy().into_owned(),
            },
        );
        Ok(())
    }

    /// Blocks until events can be read (`true`) or [`Waker::wake`] was called (`false`).
    pub fn wait(&self) -> io::Result<bool> {
        loop {
            let mut fds = [
                PollFd::new(&self.fd, PollFlags::IN),
                PollFd::new(&self.waker.fd, PollFlags::IN),
            ];
            match poll(&mut fds, None) {
                Ok(_) if !fds[1].revents().is_empty() => return Ok(false),
                Ok(_) if !fds[0].revents().is_empty() => return Ok(true),
                Ok(_) | Err(Errno::INTR) => continue,
                Err(error) => return Err(error.into()),
            }
        }
    }

    /// Reads one buffer of events and hands each to `each`; returns how many were read (0: none
    /// queued) and whether the kernel's queue overflowed (events were lost). Events of unknown watches (removed meanwhile) are skipped. A folder moved away
    /// stops being watched, with everything below it; a deleted one's watch goes by itself
    /// (`IN_IGNORED`, after its entries' own deletions).
    pub fn read(
        &self,
        buffer: &mut [MaybeUninit<u8>],
        each: &mut dyn FnMut(OsEvent<'_>),
    ) -> io::Result<Batch> {
        let mut reader = inotify::Reader::new(&self.fd, buffer);
        let mut count = 0;
        let mut overflowed = false;
        let mut folders = self.folders();
        loop {
            let event = match reader.next() {
                Ok(event) => event,
                Err(Errno::AGAIN) if count == 0 => return Ok(Batch::default()),
                Err(Errno::INTR) if count == 0 => continue,
                Err(error) => return Err(error.into()),
            };
            count += 1;
            let flags = event.events();
            let mut moved_away = None;
            if flags.contains(ReadFlags::QUEUE_OVERFLOW) {
                overflowed = true;
            } else if flags.contains(ReadFlags::IGNORED) {
                folders.remove(&event.wd());
            } else if let Some(folder) = folders.get(&event.wd()) {
                let name = event
                    .file_name()
                    .map_or(OsStr::new(""), |n| OsStr::from_bytes(n.to_bytes()));
                let is_dir = flags.contains(ReadFlags::ISDIR);
                if let Some(kind) = kind_of(flags) {
                    each(OsEvent {
                        folder,
                        name,
                        kind,
                        is_dir,
                    });
                }
                if is_dir && flags.contains(ReadFlags::MOVED_FROM) {
                    moved_away = Some(folder.path.join(name));
                }
            }
            // At once, so later events of this batch are not reported under the old name.
            if let Some(top) = moved_away {
                self.unwatch_below(&mut folders, &top);
            }
            if reader.is_buffer_empty() {
                return Ok(Batch {
                    events: count,
                    overflowed,
                });
            }
        }
    }

    /// Stops watching `top` and every folder below it: it moved (if it moved within the tree,
    /// it is watched again under its new name, like a new folder). Renaming a folder is rare;
    /// a linear pass over the watches is fine.
    fn unwatch_below(&self, folders: &mut HashMap<i32, Folder>, top: &Path) {
        folders.retain(|&wd, folder| {
            if folder.path.starts_with(top) {
                // EINVAL when the kernel already dropped it: nothing to do.
                let _ = inotify::remove_watch(&self.fd, wd);
                false
            } else {
                true
            }
        });
    }

    fn folders(&self) -> MutexGuard<'_, HashMap<i32, Folder>> {
        self.folders
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// What one [`Inotify::read`] found.
#[derive(Debug, Default)]
pub struct Batch {
    pub events: usize,
    /// The kernel's queue overflowed: events were lost (the caller watches the tree again).
    pub overflowed: bool,
}

/// Our kind for an inotify event, if it makes one. A rename is `unlink` of the old name
/// (`IN_MOVED_FROM`) and `add` of the new (`IN_MOVED_TO`); `IN_DELETE_SELF` comes only from the
/// root. A queue overflow makes no event (watchdog, the twin, reports none either); see
/// [`Batch::overflowed`].
fn kind_of(flags: ReadFlags) -> Option<Kind> {
    if flags.intersects(ReadFlags::CREATE | ReadFlags::MOVED_TO) {
        Some(Kind::Add)
    } else if flags.intersects(ReadFlags::DELETE | ReadFlags::MOVED_FROM | ReadFlags::DELETE_SELF) {
        Some(Kind::Unlink)
    } else if flags.intersects(ReadFlags::MODIFY | ReadFlags::ATTRIB) {
        Some(Kind::Change)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_follow_the_inotify_event() {
        assert_eq!(kind_of(ReadFlags::CREATE), Some(Kind::Add));
        assert_eq!(
            kind_of(ReadFlags::MOVED_TO | ReadFlags::ISDIR),
            Some(Kind::Add)
        );
        assert_eq!(kind_of(ReadFlags::MOVED_FROM), Some(Kind::Unlink));
        assert_eq!(kind_of(ReadFlags::DELETE_SELF), Some(Kind::Unlink));
        assert_eq!(kind_of(ReadFlags::ATTRIB), Some(Kind::Change));
        assert_eq!(kind_of(ReadFlags::QUEUE_OVERFLOW), None);
        assert_eq!(kind_of(ReadFlags::MOVE_SELF), None);
    }

    #[test]
    fn entry_paths_are_joined_as_text() {
        let folder = Folder {
            path: PathBuf::from("/r/d"),
            text: "/r/d".into(),
        };
        assert_eq!(folder.entry_text(OsStr::new("f.txt")), "/r/d/f.txt");
        assert_eq!(folder.entry_text(OsStr::new("")), "/r/d");
        assert_eq!(
            folder.entry_text(OsStr::from_bytes(b"bad-\xff")),
            "/r/d/bad-\u{fffd}"
        );
        let root = Folder {
            path: PathBuf::from("/"),
            text: "/".into(),
        };
        assert_eq!(root.entry_text(OsStr::new("etc")), "/etc");
    }
}
