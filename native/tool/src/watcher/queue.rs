//! The watcher's event queue: bounded, newest kept, repeats merged while pending.

use std::collections::{HashMap, VecDeque};

use serde::Serialize;

/// What happened to a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Created, or moved into the tree (the new name of a rename).
    Add,
    /// A file's content or metadata changed (folders never report `change`).
    Change,
    /// Deleted, or moved out of the tree (the old name of a rename).
    Unlink,
}

/// One queued event: an absolute path, its kind, and when it was queued (seconds since the epoch).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    pub path: String,
    pub kind: Kind,
    pub timestamp: f64,
}

/// A bounded queue of events that merges repeats.
///
/// An event is merged away (not queued) when the newest pending event for the same path already
/// says it: the same kind again (a file written in ten chunks gives one `change`), or a `change`
/// after a pending `add` (the new file is read whole anyway). When more than `max_queue` events
/// are pending, the oldest are dropped and counted.
#[derive(Debug)]
pub struct EventQueue {
    events: VecDeque<(u64, Event)>,
    /// path -> (sequence number, kind) of the newest pending event for it
    latest: HashMap<String, (u64, Kind)>,
    next_seq: u64,
    max_queue: usize,
    dropped: u64,
}

impl EventQueue {
    /// An empty queue keeping at most `max_queue` events (at least one).
    pub fn new(max_queue: usize) -> Self {
        EventQueue {
            events: VecDeque::new(),
            latest: HashMap::new(),
            next_seq: 0,
            max_queue: max_queue.max(1),
            dropped: 0,
        }
    }

    /// Queues an event unless it merges into the newest pending one for its path; returns
    /// whether it was queued.
    pub fn push(&mut self, path: String, kind: Kind, timestamp: f64) -> bool {
        if let Some(&(_, pending)) = self.latest.get(&path)
            && merges_into(pending, kind)
        {
            return false;
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.latest.insert(path.clone(), (seq, kind));
        self.events.push_back((
            seq,
            Event {
                path,
                kind,
                timestamp,
            },
        ));
        while self.events.len() > self.max_queue {
            if let Some((old_seq, old)) = self.events.pop_front() {
                self.dropped += 1;
                if self
                    .latest
                    .get(&old.path)
                    .is_some_and(|&(s, _)| s == old_seq)
                {
                    self.latest.remove(&old.path);
                }
            }
        }
        true
    }

    /// True if some event for `path` is pending.
    pub fn has_pending(&self, path: &str) -> bool {
        self.latest.contains_key(path)
    }

    /// Takes every pending event, oldest first.
    pub fn drain(&mut self) -> Vec<Event> {
        self.latest.clear();
        self.events.drain(..).map(|(_, event)| event).collect()
    }

    /// How many events are pending.
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// True if no event is pending.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// How many events were dropped because the queue was full, since it was made.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}

/// Whether a new event of kind `new` adds nothing to a pending one of kind `pending`.
fn merges_into(pending: Kind, new: Kind) -> bool {
    pending == new || (pending == Kind::Add && new == Kind::Change)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeats_merge_into_the_newest_pending_event_for_the_path() {
        let mut queue = EventQueue::new(10);
        assert!(queue.push("/a".into(), Kind::Add, 1.0));
        assert!(!queue.push("/a".into(), Kind::Change, 2.0));
        assert!(!queue.push("/a".into(), Kind::Add, 3.0));
        assert!(queue.push("/a".into(), Kind::Unlink, 4.0));
        assert!(queue.push("/a".into(), Kind::Add, 5.0));
        assert!(queue.push("/b".into(), Kind::Change, 6.0));
        assert!(!queue.push("/b".into(), Kind::Change, 7.0));
        let kinds: Vec<(String, Kind)> = queue
            .drain()
            .into_iter()
            .map(|e| (e.path, e.kind))
            .collect();
        assert_eq!(
            kinds,
            vec![
                ("/a".into(), Kind::Add),
                ("/a".into(), Kind::Unlink),
                ("/a".into(), Kind::Add),
                ("/b".into(), Kind::Change),
            ]
        );
        assert!(
            queue.push("/b".into(), Kind::Change, 8.0),
            "a drain ends merging"
        );
    }

    #[test]
    fn a_full_queue_keeps_the_newest_and_counts_the_dropped() {
        let mut queue = EventQueue::new(3);
        for i in 0..10 {
            queue.push(format!("/f{i}"), Kind::Add, f64::from(i));
        }
        assert_eq!(queue.len(), 3);
        assert_eq!(queue.dropped(), 7);
        let paths: Vec<String> = queue.drain().into_iter().map(|e| e.path).collect();
        assert_eq!(paths, vec!["/f7", "/f8", "/f9"]);
    }

    #[test]
    fn a_dropped_event_no_longer_absorbs_repeats() {
        let mut queue = EventQueue::new(1);
        queue.push("/a".into(), Kind::Change, 1.0);
        queue.push("/b".into(), Kind::Change, 2.0); // drops /a
        assert!(!queue.has_pending("/a"));
        assert!(queue.push("/a".into(), Kind::Change, 3.0));
    }
}
