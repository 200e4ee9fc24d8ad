//! Reading one file for grep: how much of it is read, and how it is handed to the searcher so
//! the answer is ripgrep's.
//!
//! A file is read into a reused buffer and searched in memory, with ripgrep's answer: a file
//! with a NUL byte is searched only up to the read that brings the first one (see
//! [`searched_length`]); a file starting with a byte-order mark, too long to read whole, or
//! binary with context lines asked for (the searcher's reads then fall where the context it
//! keeps puts them), goes through the searcher's own reads. In multi-line mode the searcher
//! needs the whole file, as ripgrep reads it: files of [`MAX_LINE_BYTES`] or more are not
//! searched (and are reported, as a line too long is).

use std::fs::File;
use std::io;
use std::path::Path;

use grep_regex::RegexMatcher;
use grep_searcher::{BinaryDetection, Searcher, SearcherBuilder};

use super::sink::{Collect, Collector, Line};
use super::{
    BINARY_BYTE, BOM_PEEK_BYTES, FIRST_READ_BYTES, MAX_LINE_BYTES, SEARCHER_BUFFER_BYTES,
    WHOLE_FILE_BYTES,
};
use crate::paths;

/// How the searcher is configured (kept to build a fresh one after a file that grew its
/// buffers).
#[derive(Debug, Clone, Copy, Default)]
pub struct SearcherSettings {
    pub before: usize,
    pub after: usize,
    /// ripgrep `-U`: a match may span lines.
    pub multi_line: bool,
    /// Stop at the first match (files mode: the rest of the file is not read).
    pub first_match_only: bool,
}

impl SearcherSettings {
    /// The searcher `rg -n` uses for files it finds by walking: line numbers, BOM sniffing,
    /// and binary files abandoned at the first NUL byte; plus a line buffer that stops growing
    /// at [`MAX_LINE_BYTES`], and the context, multi-line and first-match settings asked for.
    pub fn build(&self) -> Searcher {
        SearcherBuilder::new()
            .line_number(true)
            .binary_detection(BinaryDetection::quit(BINARY_BYTE))
            .heap_limit(Some(MAX_LINE_BYTES))
            .before_context(self.before)
            .after_context(self.after)
            .multi_line(self.multi_line)
            .max_matches(self.first_match_only.then_some(1))
            .build()
    }
}

/// What to keep of each file and how to read it.
#[derive(Debug, Clone, Copy)]
pub struct SearchPlan {
    pub collect: Collect,
    /// Files up to this size are read whole and searched in memory; past it the rest streams
    /// through the searcher, which stops reading where its search stops.
    pub whole_file_bytes: usize,
    /// The searcher runs in multi-line mode with the matcher (the pattern can match a line
    /// end): files are searched whole.
    pub multi_line: bool,
    /// Context lines are asked for.
    pub context: bool,
    /// Count mode: a file in which the search met binary data is left out, as `rg -c` leaves
    /// it out (content keeps the lines found before it, as `rg -n` prints them).
    pub binary_drops_file: bool,
}

/// What one file's search kept.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct FileFound {
    pub path: String,
    /// Match lines (content, files) or matches (count) found.
    pub matched: u64,
    pub lines: Vec<Line>,
    pub text: String,
    /// The search stopped at a line (in multi-line mode: a file) of [`MAX_LINE_BYTES`] or more.
    pub cut: bool,
}

/// One thread's reusable searcher and read buffer.
pub struct FileSearcher {
    settings: SearcherSettings,
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
    /// Up to a NUL byte (`read` bytes); the searcher stops at the read that brings it, and only
    /// the bytes before that read (`searched`) are searched.
    UpTo { searched: usize, read: usize },
    /// Not all of it (this many bytes so far): the rest is read by the searcher itself.
    Stream(usize),
}

impl FileSearcher {
    /// A searcher with these settings and an empty buffer.
    pub fn new(settings: SearcherSettings) -> Self {
        FileSearcher {
            settings,
            searcher: settings.build(),
            buffer: Vec::new(),
        }
    }

    /// Whether the searcher runs `matcher` in multi-line mode.
    pub fn multi_line_with(&self, matcher: &RegexMatcher) -> bool {
        self.searcher.multi_line_with_matcher(matcher)
    }

    /// Searches one open file; None when nothing matched (and nothing was too long). A read
    /// error is returned (the caller skips the file, or ends the walk when the process ran out
    /// of descriptors or memory). Returns the file's modification time for sorting.
    ///
    /// The searcher's line buffer is replaced after any file that may have grown it, so every
    /// file is read in the same chunks a fresh searcher would use.
    pub fn search(
        &mut self,
        matcher: &RegexMatcher,
        mut file: File,
        path: &Path,
        plan: &SearchPlan,
    ) -> io::Result<Option<(i128, FileFound)>> {
        let mut sink = Collector::new(plan.collect, matcher);
        let mut binary = false;
        let mut cut = false;
        let mut streamed = false;
        let searched = if plan.multi_line {
            match read_bounded(&mut file, &mut self.buffer, MAX_LINE_BYTES)? {
                Some(len) => {
                    streamed = starts_with_bom(&self.buffer[..len]);
                    self.searcher
                        .search_slice(matcher, &self.buffer[..len], &mut sink)
                }
                None => {
                    cut = true;
                    Ok(())
                }
            }
        } else {
            match read_searchable(&mut file, &mut self.buffer, plan.whole_file_bytes)? {
                Loaded::Whole(len) => {
                    streamed = starts_with_bom(&self.buffer[..len]);
                    self.searcher
                        .search_slice(matcher, &self.buffer[..len], &mut sink)
                }
                Loaded::UpTo { searched, .. } if !plan.context => {
                    binary = true;
                    self.searcher
                        .search_slice(matcher, &self.buffer[..searched], &mut sink)
                }
                Loaded::UpTo { read: len, .. } | Loaded::Stream(len) => {
                    streamed = true;
                    let rest = Prefixed {
                        prefix: &self.buffer[..len],
                        file: &mut file,
                        ended: false,
                    };
                    self.searcher.search_reader(matcher, rest, &mut sink)
                }
            }
        };
        if searched.is_err() || (streamed && sink.reach >= SEARCHER_BUFFER_BYTES) {
            self.searcher = self.settings.build();
        }
        if self.buffer.len() > WHOLE_FILE_BYTES {
            self.buffer = Vec::new(); // a file bigger than most does not pin its buffer
        }
        // grep-searcher reports a full line buffer only as this io::Error text; the lines
        // before the long one were searched and are kept.
        cut |= matches!(&searched, Err(e) if e.to_string().contains("allocation limit"));
        if plan.binary_drops_file && (binary || sink.binary) {
            sink.matched = 0;
        }
        if !cut && (searched.is_err() || sink.matched == 0) {
            return Ok(None);
        }
        let modified = crate::glob::metadata_modified_ns(&file.metadata()?);
        Ok(Some((
            modified,
            FileFound {
                path: paths::display(path),
                matched: sink.matched,
                lines: sink.lines,
                text: sink.text,
                cut,
            },
        )))
    }
}

/// Reads `file` into `buffer` from its start: whole, or up to its first NUL byte, or (a BOM
/// with a NUL, or past `whole_file_bytes`) the part read so far.
fn read_searchable(
    file: &mut File,
    buffer: &mut Vec<u8>,
    whole_file_bytes: usize,
) -> io::Result<Loaded> {
    if buffer.len() < SEARCHER_BUFFER_BYTES as usize {
        buffer.resize(SEARCHER_BUFFER_BYTES as usize, 0);
    }
    let mut filled = 0;
    let mut want = FIRST_READ_BYTES;
    loop {
        if filled + want > buffer.len() {
            buffer.resize(filled + want, 0);
        }
        let read = read_some(file, &mut buffer[filled..filled + want])?;
        if read == 0 {
            return Ok(Loaded::Whole(filled));
        }
        let before = filled;
        filled += read;
        if let Some(at) = memchr::memchr(BINARY_BYTE, &buffer[before..filled]) {
            if starts_with_bom(&buffer[..filled]) {
                return Ok(Loaded::Stream(filled)); // transcoded: the NUL may move or vanish
            }
            let searched = searched_length(&buffer[..=before + at]);
            return Ok(Loaded::UpTo {
                searched,
                read: filled,
            });
        }
        if filled >= whole_file_bytes {
            return Ok(Loaded::Stream(filled));
        }
        // Read into the rest of the buffer; once it is full, double it (never past the
        // whole-file size: a buffer grown by an earlier file does not make files mode read more).
        want = if filled < buffer.len() {
            buffer.len() - filled
        } else {
            buffer.len()
        }
        .min(whole_file_bytes - filled);
    }
}

/// Reads all of `file` into `buffer` when it holds fewer than `limit` bytes (the searcher's
/// own multi-line reads refuse a file that fills its whole buffer); None when it holds more.
fn read_bounded(file: &mut File, buffer: &mut Vec<u8>, limit: usize) -> io::Result<Option<usize>> {
    if buffer.len() < SEARCHER_BUFFER_BYTES as usize {
        buffer.resize(SEARCHER_BUFFER_BYTES as usize, 0);
    }
    let mut filled = 0;
    loop {
        if filled == limit {
            return Ok(None);
        }
        if filled == buffer.len() {
            buffer.resize((filled * 2).min(limit), 0);
        }
        let end = buffer.len().min(limit);
        let read = read_some(file, &mut buffer[filled..end])?;
        if read == 0 {
            return Ok(Some(filled));
        }
        filled += read;
    }
}

/// One `read` into `out`, retried when interrupted. rustix's read is the bare system call;
/// libc's also toggles thread cancellation around it, 2 % of a search that makes 100K reads.
fn read_some(file: &File, out: &mut [u8]) -> io::Result<usize> {
    loop {
        match rustix::io::read(file, &mut *out) {
            Err(rustix::io::Errno::INTR) => continue,
            other => return Ok(other?),
        }
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
/// from its start up to and including its first NUL byte (no BOM), when no context lines are
/// kept.
///
/// Replays `LineBuffer::fill`: the first read is the bytes the BOM sniffer peeked at; each fill
/// keeps the unfinished last line, reads into the free space (growing the buffer threefold when
/// full, up to [`MAX_LINE_BYTES`]), and stops at a read that brings a line end. A read that brings a NUL byte ends the
/// search without searching that fill's lines. The twin's `LineBuffer` (grep_search.py) replays
/// the same fills.
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
///
/// The file's end is final once met (`ended`): grep-searcher reads again after a read that
/// returned nothing, and a file being rewritten meanwhile would go on from where that read
/// stopped, so a line cut at the first end would be counted twice (its two parts as two lines,
/// every line number after it one too high).
struct Prefixed<'a> {
    prefix: &'a [u8],
    file: &'a mut File,
    ended: bool,
}

impl io::Read for Prefixed<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let from_prefix = self.prefix.len().min(out.len());
        out[..from_prefix].copy_from_slice(&self.prefix[..from_prefix]);
        self.prefix = &self.prefix[from_prefix..];
        let mut filled = from_prefix;
        while filled < out.len() && !self.ended {
            match self.file.read(&mut out[filled..]) {
                Ok(0) => self.ended = true,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if filled == 0 => return Err(e),
                Err(_) => break, // reported by the next read
            }
        }
        Ok(filled)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn a_file_that_grows_after_its_end_was_read_gives_nothing_more() {
        use std::io::{Read, Write};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("growing.txt");
        fs::write(&path, "row 1\nro").unwrap();
        let mut file = File::open(&path).unwrap();
        let mut rest = Prefixed {
            prefix: b"",
            file: &mut file,
            ended: false,
        };
        let mut out = [0u8; 64];
        assert_eq!(rest.read(&mut out).unwrap(), 8);
        assert_eq!(rest.read(&mut out).unwrap(), 0);
        let mut writer = fs::OpenOptions::new().append(true).open(&path).unwrap();
        writer.write_all(b"w 2\n").unwrap();
        // the searcher reads again after an end: the rest of the cut line must not arrive as
        // a line of its own
        assert_eq!(rest.read(&mut out).unwrap(), 0);
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
        let mut load = |content: &[u8], whole: usize| {
            let path = dir.path().join("f");
            fs::write(&path, content).unwrap();
            read_searchable(&mut File::open(&path).unwrap(), &mut buffer, whole).unwrap()
        };
        assert_eq!(load(b"", WHOLE_FILE_BYTES), Loaded::Whole(0));
        let text = b"line\n".repeat(10_000);
        assert_eq!(load(&text, WHOLE_FILE_BYTES), Loaded::Whole(text.len()));
        assert_eq!(
            load(b"a\nb\0c\n", WHOLE_FILE_BYTES),
            Loaded::UpTo {
                searched: 2,
                read: 6
            }
        );
        assert_eq!(
            load(b"\xef\xbb\xbfa\0", WHOLE_FILE_BYTES),
            Loaded::Stream(5)
        );
        // Past the whole-file size the rest streams; what was read is the stream's start.
        let big = b"line\n".repeat(WHOLE_FILE_BYTES / 5 + 10);
        assert_eq!(
            load(&big, WHOLE_FILE_BYTES),
            Loaded::Stream(WHOLE_FILE_BYTES)
        );
        assert_eq!(
            load(&big, SEARCHER_BUFFER_BYTES as usize),
            Loaded::Stream(SEARCHER_BUFFER_BYTES as usize)
        );
    }

    #[test]
    fn a_multi_line_read_takes_files_under_the_limit_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let mut buffer = Vec::new();
        for (size, expected) in [(0, Some(0)), (99, Some(99)), (100, None), (250, None)] {
            fs::write(&path, vec![b'a'; size]).unwrap();
            let got = read_bounded(&mut File::open(&path).unwrap(), &mut buffer, 100).unwrap();
            assert_eq!(got, expected, "{size}");
        }
    }
}
