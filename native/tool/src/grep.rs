//! `grep`: the lines that match a regex in the files ripgrep would search, found in-process with
//! ripgrep's own library crates (`grep-regex` and `grep-searcher`) configured as `rg -n` is.
//!
//! What that means for the answer, matching `rg -n --hidden -g '!.git' PATTERN PATH`:
//! - the regex is Rust `regex` syntax, matched line by line (`^`/`$` at line ends; a literal
//!   `\n` in the pattern is refused, as rg does without `--multiline`);
//! - a file starting with a UTF-16 byte-order mark is transcoded to UTF-8 and a UTF-8 BOM is
//!   dropped; other bytes are searched as they are, and invalid UTF-8 is shown lossily;
//! - binary files are skipped as rg skips them: the search of a file stops at the first read
//!   that brings a NUL byte, so matches in earlier reads are kept and later ones never seen.
//!
//! Files run on the walk's threads; the answer lists files newest first, lines in file order.

use std::fs::File;
use std::io;
use std::path::Path;
use std::sync::Mutex;

use grep_regex::{RegexMatcher, RegexMatcherBuilder};
use grep_searcher::{BinaryDetection, Searcher, SearcherBuilder, Sink, SinkFinish, SinkMatch};
use serde::Serialize;

use crate::error::{ErrorKind, ToolError, ToolResult};
use crate::glob::sort_newest_first;
use crate::paths;
use crate::walk::{self, WalkOptions};

/// Matches returned when the caller gives no limit.
pub const DEFAULT_LIMIT: usize = 100;
/// ripgrep's line buffer starts this big and only grows once it has read this much of a file
/// without a NUL, so a searcher reused after shorter reads splits the next file into exactly the
/// chunks a fresh one would (which binary detection depends on); after a longer read it is
/// replaced.
pub const SEARCHER_BUFFER_BYTES: u64 = 64 * 1024;
/// The byte that marks a file as binary, as in ripgrep.
pub const BINARY_BYTE: u8 = b'\0';
/// Compiled matchers kept for reuse, most recent last. Compiling a pattern with Unicode classes
/// (`\w`) takes tens of milliseconds, often longer than the search; agents repeat patterns, and
/// Python's `re` (the twin) keeps such a cache too.
pub const MATCHER_CACHE_SIZE: usize = 32;

type MatcherKey = (String, bool);
static MATCHERS: Mutex<Vec<(MatcherKey, RegexMatcher)>> = Mutex::new(Vec::new());

/// One matching line.
#[derive(Debug, Serialize, PartialEq, Eq, Clone)]
pub struct GrepMatch {
    /// Absolute path of the file.
    pub path: String,
    /// 1-based line number.
    pub line: u64,
    /// The line without its `\n` (or `\r\n`), invalid UTF-8 replaced by U+FFFD.
    pub text: String,
}

/// The answer of [`grep`].
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct GrepResult {
    pub matches: Vec<GrepMatch>,
    /// How many lines matched before `limit` was applied.
    pub total: usize,
    pub truncated: bool,
}

/// Searches the files below `path` (or the one file `path`) for lines matching `pattern`.
/// `include` is a ripgrep `--glob` override choosing the files; `limit` (None = all) keeps the
/// lines of the newest files first; `ignore_case` matches case-insensitively (Unicode simple
/// case folding).
///
/// Raises `invalid_pattern` for a regex or glob that does not parse (with the engine's message)
/// and `not_found` for a missing path.
pub fn grep(
    pattern: &str,
    path: &str,
    include: Option<&str>,
    limit: Option<usize>,
    ignore_case: bool,
) -> ToolResult<GrepResult> {
    let matcher = cached_matcher(pattern, ignore_case)?;
    let target = walk::search_target(path)?;
    let mut files = if target.is_dir() {
        let options = WalkOptions {
            globs: include.map(str::to_string).into_iter().collect(),
            ..Default::default()
        };
        walk::collect_files_with(&target, &options, new_searcher, |searcher, entry| {
            search_file(&matcher, entry.open().ok()?, entry.path(), searcher)
        })?
    } else if target.is_file() {
        File::open(&target)
            .ok()
            .and_then(|file| search_file(&matcher, file, &target, &mut new_searcher()))
            .into_iter()
            .collect()
    } else {
        // A FIFO or device given by name: reading it could block forever; rg would try.
        Vec::new()
    };
    sort_newest_first(&mut files);
    let total: usize = files.iter().map(|(_, f)| f.lines.len()).sum();
    let limit = limit.unwrap_or(usize::MAX);
    let mut matches = Vec::with_capacity(total.min(limit));
    'files: for (_, file) in files {
        for (line, text) in file.lines {
            if matches.len() == limit {
                break 'files;
            }
            matches.push(GrepMatch {
                path: file.path.clone(),
                line,
                text,
            });
        }
    }
    Ok(GrepResult {
        truncated: total > matches.len(),
        total,
        matches,
    })
}

/// [`build_matcher`] through a small most-recently-used cache.
pub fn cached_matcher(pattern: &str, ignore_case: bool) -> ToolResult<RegexMatcher> {
    let key = (pattern.to_string(), ignore_case);
    {
        let mut cache = MATCHERS.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(at) = cache.iter().position(|(k, _)| *k == key) {
            let hit = cache.remove(at);
            let matcher = hit.1.clone();
            cache.push(hit);
            return Ok(matcher);
        }
    }
    // Compiled outside the lock, so one slow pattern does not hold up other searches.
    let matcher = build_matcher(pattern, ignore_case)?;
    let mut cache = MATCHERS.lock().unwrap_or_else(|p| p.into_inner());
    if cache.len() >= MATCHER_CACHE_SIZE {
        cache.remove(0);
    }
    cache.push((key, matcher.clone()));
    Ok(matcher)
}

/// The regex matcher `rg` builds without flags: Rust regex syntax, Unicode, multi-line anchors,
/// no octal escapes, never matching the line terminator.
pub fn build_matcher(pattern: &str, ignore_case: bool) -> ToolResult<RegexMatcher> {
    RegexMatcherBuilder::new()
        .case_insensitive(ignore_case)
        .multi_line(true)
        .unicode(true)
        .octal(false)
        .dot_matches_new_line(false)
        .line_terminator(Some(b'\n'))
        .build(pattern)
        .map_err(|e| {
            ToolError::new(
                ErrorKind::InvalidPattern,
                format!("Invalid regex '{pattern}': {}", one_line(&e.to_string())),
            )
        })
}

/// regex-syntax explains a parse error over several lines (the pattern, a caret, the reason);
/// callers get one line: the reason.
fn one_line(message: &str) -> String {
    match message.rfind("error: ") {
        Some(at) => message[at + "error: ".len()..].trim().to_string(),
        None => message.split_whitespace().collect::<Vec<_>>().join(" "),
    }
}

/// The searcher `rg -n` uses for files it finds by walking: line numbers, BOM sniffing, and
/// binary files abandoned at the first NUL byte.
pub fn new_searcher() -> Searcher {
    SearcherBuilder::new()
        .line_number(true)
        .binary_detection(BinaryDetection::quit(BINARY_BYTE))
        .build()
}

/// The matching lines of one file.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct FileMatches {
    pub path: String,
    pub lines: Vec<(u64, String)>,
}

/// Searches one file; None when nothing matched or the file could not be read (ripgrep reports
/// such files on stderr and goes on). Returns the file's modification time for sorting.
///
/// `searcher` is reused across files; it is replaced after any file that may have grown its line
/// buffer, so every file is read in the same chunks a fresh searcher would use.
fn search_file(
    matcher: &RegexMatcher,
    file: File,
    path: &Path,
    searcher: &mut Searcher,
) -> Option<(i128, FileMatches)> {
    let mut sink = LineCollector::default();
    let searched = searcher.search_file(matcher, &file, &mut sink);
    if searched.is_err() || sink.reach >= SEARCHER_BUFFER_BYTES {
        *searcher = new_searcher();
    }
    if searched.is_err() || sink.lines.is_empty() {
        return None;
    }
    let modified = crate::glob::metadata_modified_ns(&file.metadata().ok()?)?;
    Some((
        modified,
        FileMatches {
            path: paths::display(path),
            lines: sink.lines,
        },
    ))
}

/// Collects (line number, text) for every matching line, and how far into the file the
/// searcher read (its line buffer only grows for a file at least that long).
#[derive(Default)]
struct LineCollector {
    lines: Vec<(u64, String)>,
    reach: u64,
}

impl Sink for LineCollector {
    type Error = io::Error;

    fn matched(&mut self, _searcher: &Searcher, found: &SinkMatch<'_>) -> Result<bool, io::Error> {
        let line = found.line_number().unwrap_or(0);
        self.lines.push((line, line_text(found.bytes())));
        Ok(true)
    }

    fn finish(&mut self, _searcher: &Searcher, finish: &SinkFinish) -> Result<(), io::Error> {
        self.reach = finish
            .byte_count()
            .max(finish.binary_byte_offset().unwrap_or(0));
        Ok(())
    }
}

/// A matched line as text: its `\n` and a `\r` before it removed, invalid UTF-8 made U+FFFD.
pub fn line_text(bytes: &[u8]) -> String {
    let bytes = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
    String::from_utf8_lossy(bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn finds_lines_and_skips_binary_files() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("a.txt"), "one foo\ntwo\r\nfoo three\r\n").unwrap();
        fs::write(dir.path().join("bin.dat"), "xxxx foo\n\0 foo\n").unwrap();
        let out = grep("foo", dir.path().to_str().unwrap(), None, None, false).unwrap();
        let got: Vec<_> = out
            .matches
            .iter()
            .map(|m| (m.line, m.text.as_str()))
            .collect();
        assert_eq!(got, vec![(1, "one foo"), (3, "foo three")]);
        assert_eq!((out.total, out.truncated), (2, false));
    }

    #[test]
    fn look_around_and_newline_literals_are_invalid_patterns() {
        for bad in ["(?=x)", r"\1", "a\\nb", "(", "a{"] {
            let err = build_matcher(bad, false).unwrap_err();
            assert_eq!(err.kind, ErrorKind::InvalidPattern, "{bad}");
        }
    }

    #[test]
    fn the_matcher_cache_keeps_answers_right_past_its_size() {
        for i in 0..MATCHER_CACHE_SIZE + 8 {
            let matcher = cached_matcher(&format!("a{i}b"), i % 2 == 0).unwrap();
            let again = cached_matcher(&format!("a{i}b"), i % 2 == 0).unwrap();
            use grep_matcher::Matcher;
            let text = format!("xA{i}B");
            assert_eq!(matcher.is_match(text.as_bytes()).unwrap(), i % 2 == 0);
            assert_eq!(again.is_match(text.as_bytes()).unwrap(), i % 2 == 0);
        }
        assert!(MATCHERS.lock().unwrap().len() <= MATCHER_CACHE_SIZE);
    }

    #[test]
    fn regex_errors_are_one_line_reasons() {
        let err = build_matcher("(", false).unwrap_err();
        assert_eq!(err.message, "Invalid regex '(': unclosed group");
    }

    #[test]
    fn line_text_drops_crlf_and_replaces_invalid_utf8() {
        assert_eq!(line_text(b"a\xffb\r\n"), "a\u{fffd}b");
    }
}
