//! The watcher through its Rust API: events arrive through `wait`, timeouts and ids are checked,
//! and `close` ends the watcher. Every wait has a timeout; every watcher is closed.

use std::fs;
use std::time::{Duration, Instant};

use ironcode_tool::error::ErrorKind;
use ironcode_tool::watcher::{self, Event, Kind};

const DEADLINE: Duration = Duration::from_secs(10);

/// Events until `done` holds or the deadline passes.
fn collect(id: u64, done: impl Fn(&[Event]) -> bool) -> Vec<Event> {
    let start = Instant::now();
    let mut events = Vec::new();
    while !done(&events) {
        let left = DEADLINE.saturating_sub(start.elapsed());
        if left.is_zero() {
            break;
        }
        events.extend(watcher::wait(id, left.as_secs_f64()).expect("wait"));
    }
    events
}

fn has(events: &[Event], path: &std::path::Path, kind: Kind) -> bool {
    let path = path.to_string_lossy();
    events.iter().any(|e| e.path == path && e.kind == kind)
}

#[test]
fn a_created_file_and_a_new_folder_arrive_through_wait() {
    let dir = tempfile::tempdir().expect("tempdir");
    let opened = watcher::open(dir.path().to_str().unwrap(), &[], 100).expect("open");
    let file = dir.path().join("a.txt");
    let nested = dir.path().join("new/deeper/b.txt");
    fs::write(&file, "x").expect("write");
    fs::create_dir_all(nested.parent().unwrap()).expect("mkdir");
    fs::write(&nested, "y").expect("write");
    let events = collect(opened.id, |ev| {
        has(ev, &file, Kind::Add) && has(ev, &nested, Kind::Add)
    });
    watcher::close(opened.id).expect("close");
    assert!(has(&events, &file, Kind::Add), "{events:?}");
    assert!(has(&events, &nested, Kind::Add), "{events:?}");
}

#[test]
fn ignored_paths_never_arrive() {
    let dir = tempfile::tempdir().expect("tempdir");
    let globs = vec!["*.log".to_string(), "target".to_string()];
    let opened = watcher::open(dir.path().to_str().unwrap(), &globs, 100).expect("open");
    fs::write(dir.path().join("x.log"), "x").expect("write");
    fs::create_dir(dir.path().join("target")).expect("mkdir");
    fs::write(dir.path().join("target/out"), "x").expect("write");
    let keep = dir.path().join("keep.rs");
    fs::write(&keep, "x").expect("write");
    let mut events = collect(opened.id, |ev| has(ev, &keep, Kind::Add));
    events.extend(watcher::wait(opened.id, 0.2).expect("wait"));
    watcher::close(opened.id).expect("close");
    let paths: Vec<&str> = events.iter().map(|e| e.path.as_str()).collect();
    assert!(paths.iter().all(|p| p.ends_with("keep.rs")), "{paths:?}");
}

#[test]
fn a_quiet_folder_times_out_empty_and_info_counts_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let opened = watcher::open(dir.path().to_str().unwrap(), &[], 5).expect("open");
    assert!(watcher::wait(opened.id, 0.05).expect("wait").is_empty());
    let info = watcher::info(opened.id).expect("info");
    assert_eq!((info.pending, info.dropped, info.error), (0, 0, None));
    assert!(watcher::open_ids().contains(&opened.id));
    watcher::close(opened.id).expect("close");
    assert!(!watcher::open_ids().contains(&opened.id));
}

#[test]
fn closed_and_unknown_ids_are_invalid_arguments() {
    let dir = tempfile::tempdir().expect("tempdir");
    let opened = watcher::open(dir.path().to_str().unwrap(), &[], 10).expect("open");
    watcher::close(opened.id).expect("close");
    for result in [
        watcher::poll(opened.id).map(|_| ()),
        watcher::wait(opened.id, 0.0).map(|_| ()),
        watcher::info(opened.id).map(|_| ()),
        watcher::close(opened.id),
        watcher::poll(u64::MAX).map(|_| ()),
    ] {
        assert_eq!(result.unwrap_err().kind, ErrorKind::InvalidArgument);
    }
}

#[test]
fn bad_paths_and_arguments_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("nope");
    let file = dir.path().join("f");
    fs::write(&file, "x").expect("write");
    let root = dir.path().to_str().unwrap();
    let kind = |r: Result<watcher::Opened, ironcode_tool::error::ToolError>| r.unwrap_err().kind;
    assert_eq!(
        kind(watcher::open(missing.to_str().unwrap(), &[], 10)),
        ErrorKind::NotFound
    );
    assert_eq!(
        kind(watcher::open(file.to_str().unwrap(), &[], 10)),
        ErrorKind::NotADirectory
    );
    assert_eq!(
        kind(watcher::open(root, &[], 0)),
        ErrorKind::InvalidArgument
    );
    assert_eq!(
        kind(watcher::open(root, &["a{".into()], 10)),
        ErrorKind::InvalidPattern
    );
}
