//! `read`: a text file as numbered lines for a model, with the limits of opencode's read tool.

use std::fs;
use std::path::Path;

use serde::Serialize;

use crate::error::{ErrorKind, IoResultExt, ToolError, ToolResult};
use crate::paths;

/// Lines returned when the caller gives no limit.
pub const DEFAULT_LIMIT: usize = 2000;
/// A longer line is cut to this many characters (code points).
pub const MAX_LINE_CHARS: usize = 2000;
/// What is appended to a cut line.
pub const LINE_TRUNCATED_SUFFIX: &str = "... (line truncated to 2000 chars)";
/// Reading stops before the returned lines (each plus its newline) pass this many bytes.
pub const MAX_BYTES: usize = 50 * 1024;
/// How much of the file's head the binary sniffing looks at.
pub const SNIFF_BYTES: usize = 4096;
/// Share of control bytes in the sniffed head above which a file counts as binary.
pub const CONTROL_BYTE_RATIO: f64 = 0.30;
/// Extensions that are binary whatever their content (lower-case, without the dot).
pub const BINARY_EXTENSIONS: &[&str] = &[
    "zip", "tar", "gz", "exe", "dll", "so", "class", "jar", "war", "7z", "doc", "docx", "xls",
    "xlsx", "ppt", "pptx", "odt", "ods", "odp", "bin", "dat", "obj", "o", "a", "lib", "wasm",
    "pyc", "pyo",
];

/// The answer of [`read`].
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct ReadResult {
    pub path: String,
    pub lines: Vec<String>,
    pub offset: usize,
    pub total_lines: usize,
    /// More lines follow the returned ones (by the line limit or the byte cap).
    pub truncated: bool,
    /// The byte cap, not the line limit, ended the read.
    pub truncated_by_bytes: bool,
}

/// Reads `path` as UTF-8 text and returns `limit` lines from the 1-based `offset`.
///
/// Errors: `not_found`, `is_directory`, `binary_file`, `encoding`, and `invalid_argument` for an
/// offset past the end ("Offset N is out of range for this file (M lines)").
pub fn read(path: &str, offset: usize, limit: usize) -> ToolResult<ReadResult> {
    if offset < 1 {
        return Err(ToolError::invalid_argument(format!(
            "offset must be 1 or more, got {offset}"
        )));
    }
    if limit < 1 {
        return Err(ToolError::invalid_argument(format!(
            "limit must be 1 or more, got {limit}"
        )));
    }
    let abs = paths::absolute(path)?;
    let meta = fs::metadata(&abs).at(&abs)?;
    if meta.is_dir() {
        return Err(ToolError::new(
            ErrorKind::IsDirectory,
            format!(
                "Path is a directory, not a file: {} (use ls to list it)",
                abs.display()
            ),
        ));
    }
    if has_binary_extension(&abs) {
        return Err(binary_error(&abs));
    }
    let bytes = fs::read(&abs).at(&abs)?;
    if looks_binary(&bytes) {
        return Err(binary_error(&abs));
    }
    let text = std::str::from_utf8(&bytes).map_err(|e| {
        ToolError::new(
            ErrorKind::Encoding,
            format!("File is not valid UTF-8 ({e}): {}", abs.display()),
        )
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let total_lines = count_lines(text);
    if offset > total_lines && !(offset == 1 && total_lines == 0) {
        return Err(ToolError::invalid_argument(format!(
            "Offset {offset} is out of range for this file ({total_lines} lines)"
        )));
    }

    let mut lines = Vec::new();
    let mut bytes_used = 0usize;
    let mut truncated_by_bytes = false;
    for line in split_lines(text).skip(offset - 1).take(limit) {
        let line = truncate_line(line);
        let size = line.len() + 1;
        if bytes_used + size > MAX_BYTES {
            truncated_by_bytes = true;
            break;
        }
        bytes_used += size;
        lines.push(line);
    }
    let truncated = offset - 1 + lines.len() < total_lines;
    Ok(ReadResult {
        path: paths::display(&abs),
        lines,
        offset,
        total_lines,
        truncated,
        truncated_by_bytes,
    })
}

fn binary_error(path: &Path) -> ToolError {
    ToolError::new(
        ErrorKind::BinaryFile,
        format!("Cannot read binary file: {}", path.display()),
    )
}

/// True for a known binary extension, compared case-insensitively.
pub fn has_binary_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .map(|e| BINARY_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
        .unwrap_or(false)
}

/// A NUL byte in the head, or too many control bytes (0x01–0x08, 0x0E–0x1F) there.
pub fn looks_binary(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(SNIFF_BYTES)];
    if head.is_empty() {
        return false;
    }
    if head.contains(&0) {
        return true;
    }
    let control = head
        .iter()
        .filter(|&&b| matches!(b, 0x01..=0x08 | 0x0E..=0x1F))
        .count();
    control as f64 / head.len() as f64 > CONTROL_BYTE_RATIO
}

/// How many lines [`split_lines`] yields, counted without splitting.
pub fn count_lines(text: &str) -> usize {
    if text.is_empty() {
        return 0;
    }
    let newlines = text.bytes().filter(|&b| b == b'\n').count();
    if text.ends_with('\n') {
        newlines
    } else {
        newlines + 1
    }
}

/// Splits on `\n` only; a final `\n` ends the last line, and a `\r` before `\n` is dropped.
/// Lazy, so a window near the top of a huge file never splits the rest.
pub fn split_lines(text: &str) -> impl Iterator<Item = &str> {
    text.split_inclusive('\n')
        .map(|piece| match piece.strip_suffix('\n') {
            Some(line) => line.strip_suffix('\r').unwrap_or(line),
            None => piece,
        })
}

fn truncate_line(line: &str) -> String {
    match line.char_indices().nth(MAX_LINE_CHARS) {
        Some((cut, _)) => format!("{}{LINE_TRUNCATED_SUFFIX}", &line[..cut]),
        None => line.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_lines_follows_the_read_rules() {
        let split = |t| split_lines(t).collect::<Vec<_>>();
        assert_eq!(split(""), Vec::<&str>::new());
        assert_eq!(split("a\nb\n"), vec!["a", "b"]);
        assert_eq!(split("a\r\nb"), vec!["a", "b"]);
        assert_eq!(split("\n"), vec![""]);
        assert_eq!(split("a\r"), vec!["a\r"]);
        for t in ["", "a", "a\n", "\n\n", "a\nb", "a\r\n"] {
            assert_eq!(count_lines(t), split(t).len(), "{t:?}");
        }
    }

    #[test]
    fn control_bytes_over_thirty_percent_are_binary() {
        assert!(looks_binary(b"\x01\x02\x03abcd"));
        assert!(!looks_binary("héllo 世界 🎉".as_bytes()));
        assert!(looks_binary(b"ab\0cd"));
    }

    #[test]
    fn long_lines_are_cut_by_code_points() {
        let line = "é".repeat(2500);
        let cut = truncate_line(&line);
        assert!(cut.starts_with(&"é".repeat(2000)));
        assert!(cut.ends_with(LINE_TRUNCATED_SUFFIX));
    }
}
