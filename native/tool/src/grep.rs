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
//! - memory stays bounded whatever the file: the line buffer grows to [`MAX_LINE_BYTES`] at most
//!   (rg's grows without end; a 100 MB single-line file made it hold the whole line, and the
//!   answer carried it too). A longer line ends the search of its file like a NUL byte does —
//!   earlier matches are kept — and the file is named in `long_lines`. A match's text is cut to
//!   [`MAX_MATCH_TEXT_CHARS`].
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
use crate::walk::{self, SearchTarget, WalkOptions};

/// Matches returned when the caller gives no limit.
pub const DEFAULT_LIMIT: usize = 100;
/// ripgrep's line buffer starts this big and only grows once it has read this much of a file
/// without a NUL, so a searcher reused after shorter reads splits the next file into exactly the
/// chunks a fresh one would (which binary detection depends on); after a longer read it is
/// replaced.
pub const SEARCHER_BUFFER_BYTES: u64 = 64 * 1024;
/// The byte that marks a file as binary, as in ripgrep.
pub const BINARY_BYTE: u8 = b'\0';
/// How many bytes the searcher's BOM sniffer peeks at, and so returns by its first read.
pub const BOM_PEEK_BYTES: usize = 3;
/// The first read of a file: one page. Half the files of the standard library tree fit (median
/// 1.8 KB), and a binary one (a NUL early on, like every `.pyc`) needs nothing more, where the
/// searcher's own reads copy up to 64 KiB of it. Measured there against 16 KiB: 7 % less CPU
/// (321 MB copied instead of 245 MB; 2 and 8 KiB were no better).
pub const FIRST_READ_BYTES: usize = 4 * 1024;
/// Files are read whole up to this size and searched in memory; past it (with no NUL yet) the
/// rest is streamed through the searcher, as ripgrep reads every file. 1 MiB holds all but 3 of
/// the 46K files of the standard library tree; what is read whole stays beside the searcher's
/// buffer while the rest streams (8 MiB here made a 100 MB one-line grep peak at 16 MB, not 9)
/// and a thread's buffer is kept for its whole walk.
/// No larger than [`MAX_LINE_BYTES`], so no line of a file searched in memory is too long.
pub const WHOLE_FILE_BYTES: usize = 1024 * 1024;
/// How big the line buffer may grow (grep-searcher's `heap_limit`, its whole buffer): the
/// longest line searched, its newline included. 8 MiB holds minified bundles and bounds grep's
/// memory.
pub const MAX_LINE_BYTES: usize = 8 << 20;
const _: () = assert!(WHOLE_FILE_BYTES <= MAX_LINE_BYTES);
/// A match's text is cut to this many characters (256 Ki), with [`TEXT_TRUNCATED_SUFFIX`]: lines
/// as long as rg shows whole in practice (a 100 KB line is), while 100 matches on 8 MiB lines
/// cannot fill the answer with 800 MB. A caller that shows text cuts far shorter (the grep
/// tool: 2000 characters).
pub const MAX_MATCH_TEXT_CHARS: usize = 1 << 18;
/// What follows a cut match text.
pub const TEXT_TRUNCATED_SUFFIX: &str = "... (line truncated to 262144 chars)";
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
    /// Files whose search stopped at a line longer than [`MAX_LINE_BYTES`] (matches before it
    /// are kept), sorted; the key is left out when there are none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub long_lines: Vec<String>,
}

/// Searches the files below `path` (or the one file `path`) for lines matching `pattern`.
/// `include` is a ripgrep `--glob` override choosing the files; `limit` (None = all) keeps the
/// lines of the newest files first; `ignore_case` matches case-insensitively (Unicode simple
/// case folding).
///
/// Raises `invalid_pattern` for a regex or glob that does not parse (with the engine's message),
/// `not_found` for a missing path, and `permission_denied` for a file named by `path` that
/// cannot be read (unreadable files inside a folder are skipped, as rg skips them). With `root`,
/// the path is resolved beneath it and the walk never leaves it.
pub fn grep(
    pattern: &str,
    path: &str,
    include: Option<&str>,
    limit: Option<usize>,
    ignore_case: bool,
    root: Option<&str>,
) -> ToolResult<GrepResult> {
    let matcher = cached_matcher(pattern, ignore_case)?;
    let mut files = match walk::search_target_at(path, root)? {
        SearchTarget::Folder(target, beneath) => {
            let options = WalkOptions {
                globs: include.map(str::to_string).into_iter().collect(),
                beneath,
                ..Default::default()
            };
            walk::collect_files_with(&target, &options, FileSearcher::new, |searcher, entry| {
                searcher.search(&matcher, entry.open().ok()?, entry.path())
            })?
        }
        // A file named directly that cannot be opened is an error, as rg reports it: "no
        // matches" would tell the caller something false. In a folder walk it is skipped.
        SearchTarget::File(target, file) => FileSearcher::new()
            .search(&matcher, file, &target)
            .into_iter()
            .collect(),
        // A FIFO or device given by name: reading it could block forever; rg would try.
        SearchTarget::Other(_) => Vec::new(),
    };
    let mut long_lines: Vec<String> = files
        .iter()
        .filter(|(_, f)| f.cut)
        .map(|(_, f)| f.path.clone())
        .collect();
    long_lines.sort();
    files.retain(|(_, f)| !f.lines.is_empty());
    sort_newest_first(&mut files);
    let total: usize = files.iter().map(|(_, f)| f.lines.len()).sum();
    let limit = limit.unwrap_or(usize::MAX);
    let mut matches = Vec::with_capacity(total.min(limit));
    'files: for (_, file) in files {
        for &(line, start, end) in &file.lines {
            if matches.len() == limit {
                break 'files;
            }
            matches.push(GrepMatch {
                path: file.path.clone(),
                line,
                text: file.text[start..end].to_string(),
            });
        }
    }
    Ok(GrepResult {
        truncated: total > matches.len(),
        total,
        matches,
        long_lines,
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
/// binary files abandoned at the first NUL byte; plus a line buffer that stops growing at
/// [`MAX_LINE_BYTES`].
pub fn new_searcher() -> Searcher {
    SearcherBuilder::new()
        .line_number(true)
        .binary_detection(BinaryDetection::quit(BINARY_BYTE))
        .heap_limit(Some(MAX_LINE_BYTES))
        .build()
}

/// The matching lines of one file.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct FileMatches {
    pub path: String,
    /// (line number, start, end) of each matching line in `text`.
    pub lines: Vec<(u64, usize, usize)>,
    /// The matching lines back to back: one allocation per file, not one per line.
    pub text: String,
    /// The search stopped at a line longer than [`MAX_LINE_BYTES`].
    pub cut: bool,
}

/// One thread's reusable searcher and read buffer.
pub struct FileSearcher {
    searcher: Searcher,
    /// Always initialised to its full length (the part a file filled is tracked apart), so
    /// reusing it costs no zeroing.
    buffer: Vec<u8>,
}

/// How much of a file [`read_searchable`] read, and so how to search it.
#[derive(Debug, PartialEq, Eq)]
enum Loaded {
    /// All of it (this many bytes), with no NUL byte: searched in memory.
    Whole(usize),
    /// Up to a NUL byte; the searcher stops at the read that brings it, and only the bytes
    /// before that read (this many) are searched.
    UpTo(usize),
    /// Not all of it (this many bytes so far): the rest is read by the searcher itself.
    Stream(usize),
}

impl FileSearcher {
    /// A searcher configured as `rg -n` is, with an empty buffer.
    pub fn new() -> Self {
        FileSearcher {
            searcher: new_searcher(),
            buffer: Vec::new(),
        }
    }

    /// Searches one open file; None when nothing matched (and no line was too long) or the
    /// file could not be read (ripgrep reports such files on stderr and goes on). Returns the file's modification
    /// time for sorting.
    ///
    /// The file is read into memory and searched there, with ripgrep's answer: a file with a
    /// NUL byte is searched only up to the read that brings the first one (see
    /// [`searched_length`]), and a file starting with a byte-order mark, or too long to read
    /// whole, goes through the searcher's own reads. Its line buffer is replaced after any
    /// file that may have grown it, so every file is read in the same chunks a fresh searcher
    /// would use.
    pub fn search(
        &mut self,
        matcher: &RegexMatcher,
        mut file: File,
        path: &Path,
    ) -> Option<(i128, FileMatches)> {
        let loaded = read_searchable(&mut file, &mut self.buffer).ok()?;
        let mut sink = LineCollector::default();
        let searched = match loaded {
            Loaded::Whole(len) | Loaded::UpTo(len) => {
                self.searcher
                    .search_slice(matcher, &self.buffer[..len], &mut sink)
            }
            Loaded::Stream(len) => {
                let rest = Prefixed {
                    prefix: &self.buffer[..len],
                    file: &mut file,
                };
                self.searcher.search_reader(matcher, rest, &mut sink)
            }
        };
        // Only the searcher's own reads (a stream, or a slice it transcodes) use its buffer.
        let streamed = match loaded {
            Loaded::Stream(_) => true,
            Loaded::Whole(len) | Loaded::UpTo(len) => starts_with_bom(&self.buffer[..len]),
        };
        if searched.is_err() || (streamed && sink.reach >= SEARCHER_BUFFER_BYTES) {
            self.searcher = new_searcher();
        }
        if self.buffer.len() > WHOLE_FILE_BYTES {
            self.buffer = Vec::new(); // a file bigger than most does not pin its buffer
        }
        // grep-searcher reports a full line buffer only as this io::Error text; the lines
        // before the long one were searched and are kept.
        let cut = matches!(&searched, Err(e) if e.to_string().contains("allocation limit"));
        if !cut && (searched.is_err() || sink.lines.is_empty()) {
            return None;
        }
        let modified = crate::glob::metadata_modified_ns(&file.metadata().ok()?);
        Some((
            modified,
            FileMatches {
                path: paths::display(path),
                lines: sink.lines,
                text: sink.text,
                cut,
            },
        ))
    }
}

impl Default for FileSearcher {
    fn default() -> Self {
        Self::new()
    }
}

/// Reads `file` into `buffer` from its start: whole, or up to its first NUL byte, or (a BOM
/// with a NUL, or past [`WHOLE_FILE_BYTES`]) the part read so far.
fn read_searchable(file: &mut File, buffer: &mut Vec<u8>) -> io::Result<Loaded> {
    if buffer.len() < SEARCHER_BUFFER_BYTES as usize {
        buffer.resize(SEARCHER_BUFFER_BYTES as usize, 0);
    }
    let mut filled = 0;
    let mut want = FIRST_READ_BYTES;
    loop {
        if filled + want > buffer.len() {
            buffer.resize(filled + want, 0);
        }
        // rustix's read is the bare system call; libc's also toggles thread cancellation
        // around it, 2 % of a search that makes 100K reads.
        let read = match rustix::io::read(&*file, &mut buffer[filled..filled + want]) {
            Err(rustix::io::Errno::INTR) => continue,
            other => other?,
        };
        if read == 0 {
            return Ok(Loaded::Whole(filled));
        }
        let before = filled;
        filled += read;
        if let Some(at) = memchr::memchr(BINARY_BYTE, &buffer[before..filled]) {
            if starts_with_bom(&buffer[..filled]) {
                return Ok(Loaded::Stream(filled)); // transcoded: the NUL may move or vanish
            }
            return Ok(Loaded::UpTo(searched_length(&buffer[..=before + at])));
        }
        if filled >= WHOLE_FILE_BYTES {
            return Ok(Loaded::Stream(filled));
        }
        // Read into the rest of the buffer; once it is full, double it.
        want = if filled < buffer.len() {
            buffer.len() - filled
        } else {
            buffer.len()
        };
    }
}

/// Whether `data` starts with a byte-order mark the searcher acts on (UTF-8 is dropped, UTF-16
/// transcoded), which `search_slice` hands to the searcher's reader.
fn starts_with_bom(data: &[u8]) -> bool {
    data.starts_with(b"\xEF\xBB\xBF")
        || data.starts_with(b"\xFF\xFE")
        || data.starts_with(b"\xFE\xFF")
}

/// How much of a file grep-searcher searches before binary detection stops it, given the file
/// from its start up to and including its first NUL byte (no BOM).
///
/// Replays `LineBuffer::fill`: the first read is the bytes the BOM sniffer peeked at; each fill
/// keeps the unfinished last line, reads into the free space (growing the buffer threefold when
/// full, up to [`MAX_LINE_BYTES`]), and stops at a read that brings a line end. A read that brings a NUL byte ends the
/// search without searching that fill's lines. The twin's `searched_length` is the same replay.
pub fn searched_length(stream: &[u8]) -> usize {
    let mut capacity = SEARCHER_BUFFER_BYTES as usize;
    let (mut end, mut searched) = (0, 0);
    let mut first_read = true;
    loop {
        let start = searched;
        loop {
            if end - start == capacity {
                // Full: it grows threefold, but never past MAX_LINE_BYTES in all; when it
                // cannot grow the searcher stops there (a stream given here is shorter than
                // that, as read_searchable hands over at most WHOLE_FILE_BYTES).
                let grow = (capacity * 2).min(MAX_LINE_BYTES - capacity);
                if grow == 0 {
                    return searched;
                }
                capacity += grow;
            }
            let mut want = capacity - (end - start);
            if first_read {
                want = want.min(BOM_PEEK_BYTES);
                first_read = false;
            }
            let chunk = &stream[end..stream.len().min(end + want)];
            if chunk.is_empty() {
                return end; // no NUL after all: everything is searched
            }
            let old_end = end;
            end += chunk.len();
            if chunk.contains(&BINARY_BYTE) {
                return searched;
            }
            if let Some(newline) = memchr::memrchr(b'\n', chunk) {
                searched = old_end + newline + 1;
                break;
            }
        }
    }
}

/// The rest of a file after the part already read: each read is filled as a read of the file
/// itself would be (all that is asked, short only at its end), so the searcher's reads fall
/// where they would on the file.
struct Prefixed<'a> {
    prefix: &'a [u8],
    file: &'a mut File,
}

impl io::Read for Prefixed<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let from_prefix = self.prefix.len().min(out.len());
        out[..from_prefix].copy_from_slice(&self.prefix[..from_prefix]);
        self.prefix = &self.prefix[from_prefix..];
        let mut filled = from_prefix;
        while filled < out.len() {
            match self.file.read(&mut out[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if filled == 0 => return Err(e),
                Err(_) => break, // reported by the next read
            }
        }
        Ok(filled)
    }
}

/// Collects (line number, text) for every matching line, and how far into the file the
/// searcher read (its line buffer only grows for a file at least that long).
#[derive(Default)]
struct LineCollector {
    lines: Vec<(u64, usize, usize)>,
    text: String,
    reach: u64,
}

impl Sink for LineCollector {
    type Error = io::Error;

    fn matched(&mut self, _searcher: &Searcher, found: &SinkMatch<'_>) -> Result<bool, io::Error> {
        let line = found.line_number().unwrap_or(0);
        let start = self.text.len();
        push_line_text(found.bytes(), &mut self.text);
        self.lines.push((line, start, self.text.len()));
        Ok(true)
    }

    fn finish(&mut self, _searcher: &Searcher, finish: &SinkFinish) -> Result<(), io::Error> {
        self.reach = finish
            .byte_count()
            .max(finish.binary_byte_offset().unwrap_or(0));
        Ok(())
    }
}

/// Appends a matched line as text: its `\n` and a `\r` before it removed, invalid UTF-8 made
/// U+FFFD, cut to [`MAX_MATCH_TEXT_CHARS`].
pub fn push_line_text(bytes: &[u8], text: &mut String) {
    let bytes = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
    let line = String::from_utf8_lossy(bytes);
    match line.char_indices().nth(MAX_MATCH_TEXT_CHARS) {
        Some((cut, _)) => {
            text.push_str(&line[..cut]);
            text.push_str(TEXT_TRUNCATED_SUFFIX);
        }
        None => text.push_str(&line),
    }
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
        let out = grep("foo", dir.path().to_str().unwrap(), None, None, false, None).unwrap();
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
    fn searched_length_stops_before_the_read_that_brings_a_nul() {
        // The first read is the 3 bytes peeked for a BOM: "a\nb" ends a fill with line 1.
        assert_eq!(searched_length(b"a\nb\0"), 2);
        // "aaa" has no line end, so the fill goes on into the read with the NUL.
        assert_eq!(searched_length(b"aaaa\nb\0"), 0);
        assert_eq!(searched_length(b"\0"), 0);
        // Later fills read the 64 KiB buffer's free space: bytes 3..65538 end with a line end
        // at 65537; the next fill brings the NUL at 80000.
        let mut late = b"a\n".repeat(40_000);
        late.push(0);
        assert_eq!(searched_length(&late), 65_538);
    }

    #[test]
    fn a_file_is_read_whole_or_up_to_where_the_searcher_would_stop() {
        let dir = tempfile::tempdir().unwrap();
        let mut buffer = Vec::new();
        let mut load = |content: &[u8]| {
            let path = dir.path().join("f");
            fs::write(&path, content).unwrap();
            read_searchable(&mut File::open(&path).unwrap(), &mut buffer).unwrap()
        };
        assert_eq!(load(b""), Loaded::Whole(0));
        let text = b"line\n".repeat(10_000);
        assert_eq!(load(&text), Loaded::Whole(text.len()));
        assert_eq!(load(b"a\nb\0c\n"), Loaded::UpTo(2));
        assert_eq!(load(b"\xef\xbb\xbfa\0"), Loaded::Stream(5));
        // Past WHOLE_FILE_BYTES the rest streams; what was read is the stream's start.
        let big = b"line\n".repeat(WHOLE_FILE_BYTES / 5 + 10);
        assert_eq!(load(&big), Loaded::Stream(WHOLE_FILE_BYTES));
    }

    #[test]
    fn line_text_drops_crlf_and_replaces_invalid_utf8() {
        let mut text = String::from("x");
        push_line_text(b"a\xffb\r\n", &mut text);
        assert_eq!(text, "xa\u{fffd}b");
    }
}
