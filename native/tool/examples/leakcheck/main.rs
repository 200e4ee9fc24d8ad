//! Calls every export many times with good and bad arguments, freeing every result, so that
//! `valgrind --leak-check=full` (make leakcheck) can prove no call leaks memory.
//!
//!     cargo run --release --features test-exports --example leakcheck -- [ROUNDS]
//!
//! Each round runs every tool once: the stateless exports with good arguments and with bad ones
//! (NULL, invalid UTF-8, bad JSON, out-of-range numbers, missing paths), and the registries
//! (terminals, watchers, locks, fuzzy indexes) through whole lifecycles — create, use, close,
//! close again, unknown ids. Every answer is checked to be the expected `ok` or error kind, so a
//! bad argument really travels its error path. At the end the registries must be empty and the
//! driver prints how many calls it checked and which exports it called (test/test_leaks.py
//! compares that list with lib.rs, so a new export cannot go unchecked).

use std::collections::BTreeMap;
use std::ffi::{CStr, CString, c_char};
use std::path::{Path, PathBuf};
use std::ptr;
use std::time::{Duration, Instant};

use ironcode_tool as lib;
use serde_json::Value;

use registries::{fuzzy, lock, terminal, watcher};
use stateless::{edit, files, git, patch, search, shell, system};

/// Rounds when none is given on the command line (as make leakcheck runs).
const DEFAULT_ROUNDS: usize = 150;
/// Longest any blocking call (terminal read/wait, watcher wait) is allowed to block, in seconds:
/// every wait is bounded, even under valgrind's slowdown.
const WAIT_S: f64 = 10.0;
/// Lines of the file edited in place by `edit_file`.
const EDIT_FILE_LINES: usize = 200;

/// Not UTF-8, NUL-terminated for C-string arguments.
const INVALID_UTF8: &[u8] = b"/tmp/\xff\xfe\0";
/// Not UTF-8, for pointer + length arguments.
const INVALID_TEXT: &[u8] = b"caf\xc3(";

/// One answer of an export: the `ok` value, or the error.
enum Reply {
    Ok(Value),
    /// The error's kind and message.
    Error(String, String),
}

impl Reply {
    fn ok(self, what: &str) -> Value {
        match self {
            Reply::Ok(value) => value,
            Reply::Error(kind, message) => panic!("{what}: expected ok, got {kind}: {message}"),
        }
    }

    fn error(self, what: &str, expected: &str) {
        match self {
            Reply::Error(kind, _) if kind == expected => {}
            Reply::Error(kind, message) => {
                panic!("{what}: expected error {expected}, got {kind}: {message}")
            }
            Reply::Ok(value) => panic!("{what}: expected error {expected}, got ok {value}"),
        }
    }
}

/// Counts calls per export.
#[derive(Default)]
struct Driver {
    calls: BTreeMap<&'static str, u64>,
}

impl Driver {
    /// Decodes, checks and frees one result.
    fn take(&mut self, export: &'static str, ptr: *mut c_char) -> Reply {
        assert!(!ptr.is_null(), "{export} returned NULL");
        *self.calls.entry(export).or_default() += 1;
        // SAFETY: `ptr` came from an export and is freed exactly once, here.
        let text = unsafe { CStr::from_ptr(ptr) }.to_str().map(str::to_owned);
        unsafe { lib::free_string(ptr) };
        let text = text.unwrap_or_else(|e| panic!("{export} answered invalid UTF-8: {e}"));
        let mut envelope: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{export} answered invalid JSON ({e}): {text}"));
        if let Some(ok) = envelope.get_mut("ok") {
            return Reply::Ok(ok.take());
        }
        let kind = envelope.pointer("/error/kind").and_then(Value::as_str);
        let message = envelope.pointer("/error/message").and_then(Value::as_str);
        match (kind, message) {
            (Some(kind), Some(message)) => Reply::Error(kind.to_string(), message.to_string()),
            _ => panic!("{export} answered no envelope: {text}"),
        }
    }

    fn total(&self) -> u64 {
        self.calls.values().sum()
    }
}

/// Calls `lib::<export>(args)` and takes its result, recording the export's name.
macro_rules! call {
    ($driver:expr, $export:ident($($arg:expr),* $(,)?)) => {{
        // SAFETY: every pointer passed by this driver is NULL or valid for the call (C strings
        // NUL-terminated, buffers of the given length), and outlives it.
        let ptr = unsafe { lib::$export($($arg),*) };
        $driver.take(stringify!($export), ptr)
    }};
}

mod registries;
mod stateless;

/// One tool's round: a name (for the time report) and the calls.
type Tool<'a> = (&'static str, &'a dyn Fn(&mut Driver));

fn c(s: &str) -> CString {
    CString::new(s).expect("no NUL in test strings")
}

fn cpath(path: &Path) -> CString {
    c(path.to_str().expect("temp paths are UTF-8"))
}

fn invalid_c() -> *const c_char {
    INVALID_UTF8.as_ptr().cast()
}

/// The files every round works on, made once.
struct Fixture {
    root: PathBuf,
    file: CString,
    missing: CString,
    tree: CString,
    written: CString,
    edited: CString,
    repo: CString,
    tar: CString,
    zip: CString,
    bad_archive: CString,
    scratch: PathBuf,
    /// The fixture root as a confinement root.
    confined: CString,
}

impl Fixture {
    fn new() -> Self {
        let root = std::env::temp_dir().join(format!("ironcode-leakcheck-{}", std::process::id()));
        let tree = root.join("tree");
        std::fs::create_dir_all(tree.join("sub")).expect("temp dir");
        let file = root.join("file.txt");
        std::fs::write(&file, "alpha\r\nbeta\n".repeat(500)).expect("write");
        std::fs::write(tree.join("sub/a.rs"), "fn main() {}\n// TODO: leak\n").expect("write");
        std::fs::write(tree.join("b.log"), "log line\n").expect("write");
        std::fs::write(tree.join(".hidden"), "hidden\n").expect("write");
        let edited = root.join("edited.txt");
        std::fs::write(&edited, "    let alpha = 1;\n".repeat(EDIT_FILE_LINES)).expect("write");
        let repo = root.join("repo");
        make_repo(&repo);
        let tar = root.join("a.tar");
        make_tar(&tar);
        let zip = root.join("a.zip");
        make_zip(&zip);
        let bad_archive = root.join("bad.zip");
        std::fs::write(&bad_archive, b"PK\x03\x04 not really a zip").expect("write");
        let scratch = root.join("scratch");
        std::fs::create_dir_all(&scratch).expect("scratch dir");
        Fixture {
            file: cpath(&file),
            missing: cpath(&root.join("missing")),
            tree: cpath(&tree),
            written: cpath(&root.join("written.txt")),
            edited: cpath(&edited),
            repo: cpath(&repo),
            tar: cpath(&tar),
            zip: cpath(&zip),
            bad_archive: cpath(&bad_archive),
            scratch,
            confined: cpath(&root),
            root,
        }
    }
}

/// A repository with one commit and a committer identity in its own config.
fn make_repo(path: &Path) {
    let repo = git2::Repository::init(path).expect("git init");
    let mut config = repo.config().expect("config");
    config.set_str("user.name", "Leak Check").expect("config");
    config
        .set_str("user.email", "leak@check.invalid")
        .expect("config");
    std::fs::write(path.join("tracked.txt"), "one\n").expect("write");
    let mut index = repo.index().expect("index");
    index.add_path(Path::new("tracked.txt")).expect("add");
    index.write().expect("index write");
    let tree = repo
        .find_tree(index.write_tree().expect("tree"))
        .expect("tree");
    let who = repo.signature().expect("signature");
    repo.commit(Some("HEAD"), &who, &who, "first", &tree, &[])
        .expect("commit");
}

fn make_tar(path: &Path) {
    let mut builder = tar::Builder::new(std::fs::File::create(path).expect("tar"));
    for i in 0..5 {
        let data = format!("file {i}\n");
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder
            .append_data(&mut header, format!("p/m{i}.txt"), data.as_bytes())
            .expect("tar entry");
    }
    builder.finish().expect("tar");
}

fn make_zip(path: &Path) {
    use std::io::Write as _;
    let mut zip = zip::ZipWriter::new(std::fs::File::create(path).expect("zip"));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for i in 0..5 {
        zip.start_file(format!("p/m{i}.py"), options)
            .expect("zip entry");
        zip.write_all(format!("# {i}\n").as_bytes())
            .expect("zip data");
    }
    zip.finish().expect("zip");
}

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(DEFAULT_ROUNDS);
    let fx = Fixture::new();
    let mut d = Driver::default();
    let mut spent: BTreeMap<&str, Duration> = BTreeMap::new();
    for round in 0..rounds {
        let tools: [Tool; 11] = [
            ("files", &|d| files(d, &fx)),
            ("edit", &|d| edit(d, &fx, round)),
            ("patch", &|d| patch(d, &fx, round)),
            ("search", &|d| search(d, &fx)),
            ("git", &|d| git(d, &fx, round)),
            ("shell", &|d| shell(d, &fx)),
            ("terminal", &|d| terminal(d, &fx)),
            ("fuzzy", &|d| fuzzy(d)),
            ("watcher", &|d| watcher(d, &fx, round)),
            ("lock", &|d| lock(d, round)),
            ("system", &|d| system(d, &fx, round)),
        ];
        for (name, tool) in tools {
            let start = Instant::now();
            tool(&mut d);
            *spent.entry(name).or_default() += start.elapsed();
        }
    }
    // SAFETY: NULL is accepted and ignored.
    unsafe { lib::free_string(ptr::null_mut()) };
    let _ = std::fs::remove_dir_all(&fx.root);
    let names: Vec<&str> = d.calls.keys().copied().collect();
    println!(
        "leakcheck: {rounds} rounds of every export done: {} calls checked over {} exports",
        d.total(),
        names.len()
    );
    println!("exports: {}", names.join(" "));
    // Where the time went, to choose the rounds that fit a valgrind run (never asserted).
    let spent: Vec<String> = spent
        .iter()
        .map(|(tool, time)| format!("{tool} {:.2}", time.as_secs_f64()))
        .collect();
    println!("seconds per tool: {}", spent.join(", "));
}
