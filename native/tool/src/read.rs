//! `read`: a text file as numbered lines for a model, with the limits of opencode's read tool.

use std::fs::{self, File};
use std::io::Read;
use std::path::{Path, PathBuf};

use rustix::fs::{FileType, OFlags};
use serde::Serialize;

use crate::confine::Root;
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
/// How much is read and decoded at a time: the memory a read needs, whatever the file's size.
pub const CHUNK_BYTES: usize = 1 << 20;
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
/// offset past the end ("Offset N is out of range for this file (M lines)"). With `root`, the
/// path is resolved beneath it ([`crate::confine`]); leaving it is `outside_root`.
pub fn read(path: &str, offset: usize, limit: usize, root: Option<&str>) -> ToolResult<ReadResult> {
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
    let (abs, mut file) = match root {
        None => open_by_name(path)?,
        Some(root) => open_beneath(&Root::open(root)?, path)?,
    };
    let mut head = Vec::with_capacity(SNIFF_BYTES);
    (&mut file)
        .take(SNIFF_BYTES as u64)
        .read_to_end(&mut head)
        .at(&abs)?;
    if looks_binary(&head) {
        return Err(binary_error(&abs));
    }
    let mut window = LineWindow::new(offset, limit);
    let mut pending = head;
    // Read straight into `pending` (no zeroed buffer, no second copy), a chunk at a time; a
    // small file takes one chunk the size of the file.
    let size = file.metadata().map_or(0, |m| m.len());
    let want = usize::try_from(size)
        .unwrap_or(CHUNK_BYTES)
        .clamp(SNIFF_BYTES, CHUNK_BYTES);
    let mut at_start = true;
    loop {
        pending.reserve(want);
        let n = read_up_to(&mut file, &mut pending, want).at(&abs)?;
        let eof = n == 0;
        let valid = match std::str::from_utf8(&pending) {
            Ok(text) => text.len(),
            // An incomplete character at the end of the chunk is completed by the next one.
            Err(e) if e.error_len().is_none() && !eof => e.valid_up_to(),
            Err(e) => return Err(encoding_error(&abs, &e)),
        };
        // SAFETY-free: the prefix up to `valid` was just validated.
        let text = std::str::from_utf8(&pending[..valid]).unwrap_or_default();
        let text = if at_start {
            at_start = text.is_empty();
            text.strip_prefix('\u{feff}').unwrap_or(text)
        } else {
            text
        };
        window.feed(text);
        pending.drain(..valid);
        if eof {
            break;
        }
    }
    let (lines, total_lines, truncated_by_bytes) = window.finish();
    if offset > total_lines && !(offset == 1 && total_lines == 0) {
        return Err(ToolError::invalid_argument(format!(
            "Offset {offset} is out of range for this file ({total_lines} lines)"
        )));
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

/// The file to read, by its name: a folder or a binary extension is refused before it is
/// opened.
fn open_by_name(path: &str) -> ToolResult<(PathBuf, File)> {
    let abs = paths::absolute(path)?;
    let meta = fs::metadata(&abs).at(&abs)?;
    if meta.is_dir() {
        return Err(directory_error(&abs));
    }
    if has_binary_extension(&abs) {
        return Err(binary_error(&abs));
    }
    let file = File::open(&abs).at(&abs)?;
    Ok((abs, file))
}

/// The file to read, opened beneath `root`; a folder or a binary extension is refused once it
/// is open (there is no name to look at first).
fn open_beneath(root: &Root, path: &str) -> ToolResult<(PathBuf, File)> {
    let place = root.place(path)?;
    let fd = root.open_file(&place, OFlags::RDONLY)?;
    let stat = rustix::fs::fstat(&fd).map_err(|e| ToolError::from_io(&e.into(), &place.shown))?;
    if FileType::from_raw_mode(stat.st_mode) == FileType::Directory {
        return Err(directory_error(&place.shown));
    }
    let file = File::from(fd);
    if has_binary_extension(&place.shown) {
        return Err(binary_error(&place.shown));
    }
    Ok((place.shown, file))
}

fn directory_error(path: &Path) -> ToolError {
    ToolError::new(
        ErrorKind::IsDirectory,
        format!(
            "Path is a directory, not a file: {} (use ls to list it)",
            path.display()
        ),
    )
}

/// Appends up to `want` bytes of `file` to `buf` (fewer only at the end of the file; an
/// interrupted read is retried). Returns how many were appended.
fn read_up_to(file: &mut File, buf: &mut Vec<u8>, want: usize) -> std::io::Result<usize> {
    file.take(want as u64).read_to_end(buf)
}

fn encoding_error(path: &Path, err: &std::str::Utf8Error) -> ToolError {
    ToolError::new(
        ErrorKind::Encoding,
        format!("File is not valid UTF-8 ({err}): {}", path.display()),
    )
}

/// Collects the requested window of lines from text fed in pieces, keeping memory bounded:
/// lines outside the window are only counted, and a line inside it keeps at most
/// `MAX_LINE_CHARS + 1` characters however long it is.
struct LineWindow {
    first: usize,
    end: usize,
    /// 0-based index of the line being read.
    index: usize,
    current: String,
    current_dropped: bool,
    lines: Vec<String>,
    bytes_used: usize,
    collecting: bool,
    truncated_by_bytes: bool,
    /// The last character fed, to know whether the text ends with an unterminated line.
    last_char: Option<char>,
}

impl LineWindow {
    fn new(offset: usize, limit: usize) -> Self {
        LineWindow {
            first: offset - 1,
            end: (offset - 1).saturating_add(limit),
            index: 0,
            current: String::new(),
            current_dropped: false,
            lines: Vec::new(),
            bytes_used: 0,
            collecting: true,
            truncated_by_bytes: false,
            last_char: None,
        }
    }

    fn in_window(&self) -> bool {
        self.collecting && self.index >= self.first && self.index < self.end
    }

    fn feed(&mut self, text: &str) {
        if let Some(c) = text.chars().next_back() {
            self.last_char = Some(c);
        }
        let mut rest = text;
        while !rest.is_empty() {
            if !self.in_window() && (self.index >= self.end || !self.collecting) {
                // Past the window: only count what is left.
                self.index += rest.bytes().filter(|&b| b == b'\n').count();
                return;
            }
            let (piece, terminated, next) = match rest.find('\n') {
                Some(nl) => (&rest[..nl], true, &rest[nl + 1..]),
                None => (rest, false, ""),
            };
            if self.in_window() {
                self.keep(piece);
            }
            if terminated {
                self.finish_line(true);
            }
            rest = next;
        }
    }

    fn keep(&mut self, piece: &str) {
        if self.current_dropped {
            return;
        }
        // A line of at most MAX_LINE_CHARS + 1 bytes has at most that many characters: no
        // need to count them (the common case).
        if self.current.len() + piece.len() <= MAX_LINE_CHARS + 1 {
            self.current.push_str(piece);
            return;
        }
        let room = MAX_LINE_CHARS + 1 - self.current.chars().count();
        match piece.char_indices().nth(room) {
            Some((cut, _)) => {
                self.current.push_str(&piece[..cut]);
                self.current_dropped = true;
            }
            None => self.current.push_str(piece),
        }
    }

    fn finish_line(&mut self, terminated: bool) {
        if self.in_window() {
            let mut line = std::mem::take(&mut self.current);
            if terminated && !self.current_dropped && line.ends_with('\r') {
                line.pop();
            }
            let line = truncate_line(line);
            let size = line.len() + 1;
            if self.bytes_used + size > MAX_BYTES {
                self.truncated_by_bytes = true;
                self.collecting = false;
            } else {
                self.bytes_used += size;
                self.lines.push(line);
            }
        }
        self.current.clear();
        self.current_dropped = false;
        self.index += 1;
    }

    /// The collected lines, the total line count, and whether the byte cap ended the window.
    fn finish(mut self) -> (Vec<String>, usize, bool) {
        if self.last_char.is_some_and(|c| c != '\n') {
            self.finish_line(false);
        }
        (self.lines, self.index, self.truncated_by_bytes)
    }
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

fn truncate_line(line: String) -> String {
    if line.len() <= MAX_LINE_CHARS {
        return line; // at most that many bytes, so at most that many characters
    }
    match line.char_indices().nth(MAX_LINE_CHARS) {
        Some((cut, _)) => format!("{}{LINE_TRUNCATED_SUFFIX}", &line[..cut]),
        None => line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(pieces: &[&str], offset: usize, limit: usize) -> (Vec<String>, usize, bool) {
        let mut w = LineWindow::new(offset, limit);
        for p in pieces {
            w.feed(p);
        }
        w.finish()
    }

    #[test]
    fn line_window_follows_the_read_rules_across_pieces() {
        assert_eq!(window(&[""], 1, 10).1, 0);
        assert_eq!(window(&["a\nb\n"], 1, 10).0, vec!["a", "b"]);
        assert_eq!(window(&["a\r", "\nb"], 1, 10).0, vec!["a", "b"]);
        assert_eq!(window(&["\n"], 1, 10).0, vec![""]);
        assert_eq!(window(&["a\r"], 1, 10).0, vec!["a\r"]);
        assert_eq!(
            window(&["a\nb\nc\nd"], 2, 2),
            (vec!["b".into(), "c".into()], 4, false)
        );
    }

    #[test]
    fn a_huge_line_keeps_only_what_is_shown() {
        let mut w = LineWindow::new(1, 10);
        for _ in 0..1000 {
            w.feed(&"x".repeat(10_000));
            assert!(w.current.len() <= MAX_LINE_CHARS + 1);
        }
        let (lines, total, _) = w.finish();
        assert_eq!(total, 1);
        assert!(lines[0].ends_with(LINE_TRUNCATED_SUFFIX));
    }

    #[test]
    fn the_character_limit_holds_across_pieces_of_wide_characters() {
        // 2,000 two-byte characters (4,000 bytes: past the byte shortcut) are kept whole;
        // 2,001 are cut, whichever way the pieces fall.
        for (count, cut) in [(MAX_LINE_CHARS, false), (MAX_LINE_CHARS + 1, true)] {
            for split in [1, 999, 1000, count - 1] {
                let mut w = LineWindow::new(1, 10);
                w.feed(&"é".repeat(split));
                w.feed(&"é".repeat(count - split));
                w.feed("\n");
                let (lines, _, _) = w.finish();
                assert_eq!(
                    lines[0].ends_with(LINE_TRUNCATED_SUFFIX),
                    cut,
                    "{count} {split}"
                );
                assert!(lines[0].starts_with(&"é".repeat(MAX_LINE_CHARS)));
            }
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
        let cut = truncate_line(line.clone());
        assert!(cut.starts_with(&"é".repeat(2000)));
        assert!(cut.ends_with(LINE_TRUNCATED_SUFFIX));
    }
}
