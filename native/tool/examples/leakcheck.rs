//! Calls every export many times with good and bad arguments, freeing every result, so that
//! `valgrind --leak-check=full` (make leakcheck) can prove no call leaks memory.
//!
//!     cargo run --release --features test-exports --example leakcheck -- [ROUNDS]

use std::ffi::{CString, c_char};
use std::ptr;

use ironcode_tool as lib;

/// Frees a result after checking it is a JSON envelope.
fn take(ptr: *mut c_char) {
    assert!(!ptr.is_null(), "an export returned NULL");
    // SAFETY: `ptr` came from an export and is freed exactly once, here.
    unsafe {
        let text = std::ffi::CStr::from_ptr(ptr).to_string_lossy();
        assert!(
            text.starts_with("{\"ok\"") || text.starts_with("{\"error\""),
            "{text}"
        );
        lib::free_string(ptr);
    }
}

fn c(s: &str) -> CString {
    CString::new(s).expect("no NUL in test strings")
}

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200);
    let dir = std::env::temp_dir().join(format!("ironcode-leakcheck-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("tree/sub")).expect("temp dir");
    let file = dir.join("file.txt");
    std::fs::write(&file, "alpha\r\nbeta\n".repeat(500)).expect("write");
    std::fs::write(dir.join("tree/sub/a.rs"), "fn main() {}\n").expect("write");
    let file_c = c(file.to_str().unwrap_or_default());
    let tree_c = c(dir.join("tree").to_str().unwrap_or_default());
    let missing_c = c(dir.join("missing").to_str().unwrap_or_default());
    let out_c = c(dir.join("written.txt").to_str().unwrap_or_default());
    let invalid_utf8: &[u8] = b"/tmp/\xff\xfe\0";
    let content = b"payload\0with nul".to_vec();

    for round in 0..rounds {
        // SAFETY: every pointer below is NULL or a valid NUL-terminated string / buffer.
        unsafe {
            take(lib::read_ffi(file_c.as_ptr(), 1, 2000));
            take(lib::read_ffi(file_c.as_ptr(), 999_999, 10));
            take(lib::read_ffi(missing_c.as_ptr(), 1, 10));
            take(lib::read_ffi(ptr::null(), 1, 10));
            take(lib::read_ffi(invalid_utf8.as_ptr().cast(), 1, 10));
            take(lib::write_ffi(
                out_c.as_ptr(),
                content.as_ptr(),
                content.len(),
            ));
            take(lib::write_ffi(out_c.as_ptr(), ptr::null(), 5));
            take(lib::ls_ffi(tree_c.as_ptr(), c("[\"*.log\"]").as_ptr(), -1));
            take(lib::ls_ffi(tree_c.as_ptr(), c("[not json").as_ptr(), 10));
            take(lib::stats_ffi());
            take(lib::extract_ffi(missing_c.as_ptr(), tree_c.as_ptr()));
            take(lib::probe_noop_ffi());
            take(lib::probe_echo_ffi(c(&"x".repeat(round % 4096)).as_ptr()));
            #[cfg(feature = "test-exports")]
            take(lib::debug_panic_ffi(c("leakcheck panic").as_ptr()));
        }
    }
    // SAFETY: NULL is accepted and ignored.
    unsafe { lib::free_string(ptr::null_mut()) };
    let _ = std::fs::remove_dir_all(&dir);
    println!("leakcheck: {rounds} rounds of every export done");
}
