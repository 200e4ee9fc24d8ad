//! The terminal module end to end, without the C boundary: real programs on real PTYs.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use ironcode_tool::error::ErrorKind;
use ironcode_tool::terminal::{self, Spawn};

const DEADLINE_S: f64 = 15.0;

fn spawn(command: &[&str]) -> terminal::Info {
    terminal::create(Spawn {
        command: Some(command.iter().map(|s| s.to_string()).collect()),
        cwd: ".".into(),
        rows: 24,
        cols: 80,
        env: BTreeMap::new(),
    })
    .expect("session starts")
}

fn read_until(id: &str, marker: &[u8]) -> Vec<u8> {
    let deadline = Instant::now() + Duration::from_secs_f64(DEADLINE_S);
    let mut seen = Vec::new();
    while !seen.windows(marker.len()).any(|w| w == marker) {
        assert!(Instant::now() < deadline, "no {marker:?} in {seen:?}");
        seen.extend(terminal::read(id, 1.0).unwrap());
    }
    seen
}

#[test]
fn echo_round_trip_through_cat() {
    let info = spawn(&["cat"]);
    assert_eq!(terminal::write(&info.id, b"hi\n").unwrap(), 3);
    read_until(&info.id, b"hi\r\nhi\r\n");
    terminal::close(&info.id).unwrap();
}

#[test]
fn exit_code_is_recorded_and_close_reaps_the_child() {
    let info = spawn(&["sh", "-c", "exit 3"]);
    assert_eq!(terminal::wait(&info.id, DEADLINE_S).unwrap(), Some(3));
    assert_eq!(terminal::info(&info.id).unwrap().status, "exited");
    let err = terminal::write(&info.id, b"x").unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidArgument);
    let last = terminal::close(&info.id).unwrap();
    assert_eq!(last.exit_code, Some(3));
    assert!(
        !Path::new(&format!("/proc/{}", info.pid)).exists(),
        "zombie left"
    );
    assert_eq!(
        terminal::info(&info.id).unwrap_err().kind,
        ErrorKind::NotFound
    );
}

#[test]
fn close_kills_a_running_program() {
    let info = spawn(&["sleep", "300"]);
    let last = terminal::close(&info.id).unwrap();
    assert_eq!(last.exit_code, Some(-9));
    assert!(!Path::new(&format!("/proc/{}", info.pid)).exists());
}

#[test]
fn missing_command_is_not_found_with_its_name() {
    let err = terminal::create(Spawn {
        command: Some(vec!["no-such-program-ironcode".into()]),
        cwd: ".".into(),
        rows: 24,
        cols: 80,
        env: BTreeMap::new(),
    })
    .unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound);
    assert!(err.message.contains("no-such-program-ironcode"));
}

#[test]
fn read_into_a_small_buffer_returns_the_output_in_order_across_calls() {
    let info = spawn(&["printf", "0123456789"]);
    assert_eq!(terminal::wait(&info.id, DEADLINE_S).unwrap(), Some(0));
    let mut out = [0u8; 4];
    let mut seen = Vec::new();
    loop {
        let n = terminal::read_into(&info.id, 0.0, &mut out).unwrap();
        if n == 0 {
            break;
        }
        assert!(n <= out.len());
        seen.extend_from_slice(&out[..n]);
    }
    assert_eq!(seen, b"0123456789");
    let empty = terminal::read_into(&info.id, 0.0, &mut []).unwrap_err();
    assert_eq!(empty.kind, ErrorKind::InvalidArgument);
    terminal::close(&info.id).unwrap();
}
