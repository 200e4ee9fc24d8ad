//! The edit exports at the C ABI: text crosses as pointer + length (NUL kept), invalid UTF-8 and
//! NULL are `invalid_argument`, offsets come back in code points, and every answer is an envelope.

use std::ffi::{CStr, CString, c_char};

use ironcode_tool as lib;

/// The envelope an export returned, freed.
fn take(ptr: *mut c_char) -> serde_json::Value {
    assert!(!ptr.is_null());
    // SAFETY: `ptr` came from an export and is freed exactly once, here.
    let text = unsafe { CStr::from_ptr(ptr) }.to_str().unwrap().to_string();
    unsafe { lib::free_string(ptr) };
    serde_json::from_str(&text).unwrap()
}

fn replace(content: &[u8], old: &[u8], new: &[u8], all: i64) -> serde_json::Value {
    // SAFETY: every buffer is valid for its length during the call.
    take(unsafe {
        lib::edit_replace_ffi(
            content.as_ptr(),
            content.len(),
            old.as_ptr(),
            old.len(),
            new.as_ptr(),
            new.len(),
            all,
        )
    })
}

fn kind(value: &serde_json::Value) -> &str {
    value["error"]["kind"].as_str().unwrap_or("")
}

#[test]
fn nul_bytes_cross_the_boundary_and_offsets_count_code_points() {
    let answer = replace("é\0x😀x\0".as_bytes(), "😀".as_bytes(), b"-", 0);
    assert_eq!(answer["ok"]["spans"], serde_json::json!([[3, 4]]));
    assert_eq!(answer["ok"]["text"], "-");
}

#[test]
fn invalid_utf8_and_null_are_invalid_argument() {
    assert_eq!(kind(&replace(b"a\xffb", b"a", b"b", 0)), "invalid_argument");
    // SAFETY: NULL with a non-zero length is the case under test; the export must refuse it.
    let null = take(unsafe {
        lib::edit_replace_ffi(std::ptr::null(), 3, b"a".as_ptr(), 1, b"b".as_ptr(), 1, 0)
    });
    assert_eq!(kind(&null), "invalid_argument");
}

#[test]
fn errors_carry_their_kind() {
    assert_eq!(
        kind(&replace(b"foo foo", b"foo", b"bar", 0)),
        "multiple_matches"
    );
    assert_eq!(kind(&replace(b"Hello world", b"a\nb", b"x", 0)), "no_match");
    assert_eq!(kind(&replace(b"abc", b"", b"x", 0)), "empty_old_string");
    assert_eq!(
        replace(b"foo foo", b"foo", b"bar", 1)["ok"]["spans"],
        serde_json::json!([[0, 3], [4, 7]])
    );
    let strategy = CString::new("nope").unwrap();
    // SAFETY: valid C string and buffers.
    let unknown = take(unsafe {
        lib::edit_candidates_ffi(strategy.as_ptr(), b"a".as_ptr(), 1, b"a".as_ptr(), 1)
    });
    assert_eq!(kind(&unknown), "invalid_argument");
}

#[test]
fn levenshtein_and_edit_file_through_the_abi() {
    // SAFETY: valid buffers.
    let distance =
        take(unsafe { lib::levenshtein_ffi(b"kitten".as_ptr(), 6, b"sitting".as_ptr(), 7) });
    assert_eq!(distance["ok"], 3);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.txt");
    std::fs::write(&path, b"a\r\nb\r\n").unwrap();
    let path_c = CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: valid C string and buffers.
    let answer = take(unsafe {
        lib::edit_file_ffi(
            path_c.as_ptr(),
            b"b\n".as_ptr(),
            2,
            b"c\n".as_ptr(),
            2,
            0,
            std::ptr::null(),
        )
    });
    assert_eq!(answer["ok"]["additions"], 1);
    assert_eq!(std::fs::read(&path).unwrap(), b"a\r\nc\r\n");
}
