//! Everything the C ABI needs that is not an export: argument decoding, the JSON envelope, and the
//! landing pad that stops panics at the boundary. `lib.rs` uses only these helpers, so each export
//! stays a few lines long.

use std::cell::RefCell;
use std::ffi::{CStr, CString, c_char};
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

use serde::Serialize;

use crate::error::{ErrorKind, ToolError, ToolResult};

thread_local! {
    /// Where the panic hook leaves the message and location of the panic being unwound.
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

static INSTALL_HOOK: Once = Once::new();

/// Replaces the default panic hook (which prints to the host's stderr) with one that records the
/// message for the landing pad. A panic in a thread we did not start still goes to the old hook.
fn install_panic_hook() {
    INSTALL_HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let message = panic_payload_text(info.payload());
            let location = info
                .location()
                .map(|l| format!(" at {}:{}", l.file(), l.line()))
                .unwrap_or_default();
            let recorded = LAST_PANIC.with(|slot| {
                if IN_LANDING_PAD.with(|flag| *flag.borrow()) {
                    *slot.borrow_mut() = Some(format!("{message}{location}"));
                    true
                } else {
                    false
                }
            });
            if !recorded {
                previous(info);
            }
        }));
    });
}

thread_local! {
    static IN_LANDING_PAD: RefCell<bool> = const { RefCell::new(false) };
}

fn panic_payload_text(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic payload".to_string()
    }
}

/// Runs an export's body: catches any panic, and encodes the result as the JSON envelope
/// `{"ok": value}` / `{"error": {"kind", "message"}}` in a C string the caller frees with
/// `free_string`.
pub fn landingpad<T: Serialize>(body: impl FnOnce() -> ToolResult<T>) -> *mut c_char {
    install_panic_hook();
    let was_inside = IN_LANDING_PAD.with(|flag| flag.replace(true));
    let outcome = panic::catch_unwind(AssertUnwindSafe(body));
    IN_LANDING_PAD.with(|flag| *flag.borrow_mut() = was_inside);
    let result = match outcome {
        Ok(result) => result,
        Err(payload) => {
            let message = LAST_PANIC
                .with(|slot| slot.borrow_mut().take())
                .unwrap_or_else(|| panic_payload_text(payload.as_ref()));
            Err(ToolError::new(
                ErrorKind::Panic,
                format!("native code panicked: {message}"),
            ))
        }
    };
    encode_envelope(result)
}

#[derive(Serialize)]
#[serde(untagged)]
enum Envelope<T> {
    Ok { ok: T },
    Error { error: ToolError },
}

fn encode_envelope<T: Serialize>(result: ToolResult<T>) -> *mut c_char {
    let envelope = match result {
        Ok(ok) => Envelope::Ok { ok },
        Err(error) => Envelope::Error { error },
    };
    // serde_json escapes U+0000 as \u0000, so the text never holds a NUL byte and the C string
    // is made without scanning it again (CString::new would); if serialisation itself fails,
    // NULL is the documented answer.
    let mut json = Vec::with_capacity(128);
    match serde_json::to_writer(&mut json, &envelope) {
        Ok(()) => {
            debug_assert!(!json.contains(&0));
            // SAFETY: JSON from serde_json holds no NUL byte (see above).
            unsafe { CString::from_vec_unchecked(json) }.into_raw()
        }
        Err(_) => std::ptr::null_mut(),
    }
}

/// Decodes a NUL-terminated UTF-8 argument. NULL and invalid UTF-8 are `invalid_argument`.
///
/// # Safety
/// `ptr` must be NULL or point to a NUL-terminated string that outlives the call.
pub unsafe fn str_arg<'a>(ptr: *const c_char, name: &str) -> ToolResult<&'a str> {
    if ptr.is_null() {
        return Err(ToolError::invalid_argument(format!(
            "argument '{name}' is NULL"
        )));
    }
    // SAFETY: non-NULL and NUL-terminated per the caller's contract.
    let bytes = unsafe { CStr::from_ptr(ptr) }.to_bytes();
    std::str::from_utf8(bytes).map_err(|e| {
        ToolError::invalid_argument(format!("argument '{name}' is not valid UTF-8: {e}"))
    })
}

/// Decodes an optional string argument: NULL means "not given".
///
/// # Safety
/// As [`str_arg`].
#[allow(dead_code)] // for exports with optional string arguments
pub unsafe fn opt_str_arg<'a>(ptr: *const c_char, name: &str) -> ToolResult<Option<&'a str>> {
    if ptr.is_null() {
        Ok(None)
    } else {
        unsafe { str_arg(ptr, name) }.map(Some)
    }
}

/// Borrows `len` bytes at `ptr`, for values that may contain NUL (file content, user text).
///
/// # Safety
/// `ptr` must be NULL (only with `len == 0`) or point to `len` readable bytes for the call.
pub unsafe fn bytes_arg<'a>(ptr: *const u8, len: usize, name: &str) -> ToolResult<&'a [u8]> {
    if ptr.is_null() {
        return if len == 0 {
            Ok(&[])
        } else {
            Err(ToolError::invalid_argument(format!(
                "argument '{name}' is NULL"
            )))
        };
    }
    // SAFETY: the caller guarantees `len` readable bytes at `ptr`.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// Borrows `len` writable bytes at `ptr`: a buffer the caller owns, for output that is copied
/// out once instead of crossing as base64 inside the JSON envelope.
///
/// # Safety
/// `ptr` must be NULL (only with `len == 0`) or point to `len` writable bytes that nothing else
/// touches during the call.
pub unsafe fn out_buffer_arg<'a>(ptr: *mut u8, len: usize, name: &str) -> ToolResult<&'a mut [u8]> {
    if ptr.is_null() {
        return if len == 0 {
            Ok(&mut [])
        } else {
            Err(ToolError::invalid_argument(format!(
                "argument '{name}' is NULL"
            )))
        };
    }
    // SAFETY: the caller guarantees `len` writable bytes at `ptr`, used only by this call.
    Ok(unsafe { std::slice::from_raw_parts_mut(ptr, len) })
}

/// Like [`bytes_arg`] but the bytes must be UTF-8 text.
///
/// # Safety
/// As [`bytes_arg`].
#[allow(dead_code)] // for exports taking text that may hold NUL
pub unsafe fn text_arg<'a>(ptr: *const u8, len: usize, name: &str) -> ToolResult<&'a str> {
    let bytes = unsafe { bytes_arg(ptr, len, name) }?;
    std::str::from_utf8(bytes).map_err(|e| {
        ToolError::invalid_argument(format!("argument '{name}' is not valid UTF-8: {e}"))
    })
}

/// Decodes a JSON argument (lists, optional structures) into `T`.
///
/// # Safety
/// As [`str_arg`].
pub unsafe fn json_arg<T: serde::de::DeserializeOwned>(
    ptr: *const c_char,
    name: &str,
) -> ToolResult<T> {
    let text = unsafe { str_arg(ptr, name) }?;
    serde_json::from_str(text).map_err(|e| {
        ToolError::invalid_argument(format!("argument '{name}' is not valid JSON: {e}"))
    })
}

/// A negative integer from Python means "not given" for optional limits.
pub fn opt_usize(value: i64) -> Option<usize> {
    usize::try_from(value).ok()
}

/// Frees a string returned by an export. NULL is ignored.
///
/// # Safety
/// `ptr` must be NULL or a pointer returned by an export of this library, freed only once.
pub unsafe fn free(ptr: *mut c_char) {
    if !ptr.is_null() {
        // SAFETY: the pointer came from CString::into_raw in encode_envelope.
        drop(unsafe { CString::from_raw(ptr) });
    }
}
