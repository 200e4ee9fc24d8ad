//! What grep keeps of one file's search: the searcher (grep-searcher) reports matching lines,
//! context lines and where the search stopped to a [`Collector`], which keeps what the output
//! mode needs and no more.
//!
//! - content: each match and context line (text cut as asked), and how many lines matched. A
//!   file never shows more than `limit` match lines, so only that many are kept (plus the
//!   after-context of the last of them), however many are counted;
//! - files: the searcher stops at the first match (`max_matches(1)`);
//! - count: a count only, as `rg -c` counts: one per matching line, or, when the search runs in
//!   multi-line mode, one per regex match inside the matched lines (grep-printer's summary).

use std::io;

use grep_matcher::Matcher;
use grep_regex::RegexMatcher;
use grep_searcher::{Searcher, Sink, SinkContext, SinkContextKind, SinkFinish, SinkMatch};

use super::{MAX_MATCH_TEXT_CHARS, TEXT_TRUNCATED_SUFFIX};

/// How far past the matched lines a multi-line count looks for the end of a match (grep-printer's
/// `MAX_LOOK_AHEAD`, so `rg -U -c` and this count alike).
pub const MAX_LOOK_AHEAD: usize = 128;

/// Which kind of line an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LineKind {
    Match,
    /// Before-context of the next match.
    Before,
    /// After-context of the previous match.
    After,
}

/// One kept line of a file: its number, where its text lies in [`Collector::text`], its kind,
/// and its full length in characters when its text was cut to `max_line_chars`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Line {
    pub number: u64,
    pub start: usize,
    pub end: usize,
    pub kind: LineKind,
    pub chars: Option<usize>,
}

/// What the collector keeps.
#[derive(Debug, Clone, Copy)]
pub enum Collect {
    /// Lines: at most `keep_matches` match lines (with their context), texts cut to
    /// `max_chars` characters when given.
    Lines {
        keep_matches: usize,
        max_chars: Option<usize>,
    },
    /// Whether anything matched.
    FirstMatch,
    /// How many matches; `multi_line`: the searcher runs in multi-line mode.
    Count { multi_line: bool },
}

/// A [`Sink`] keeping what [`Collect`] asks for.
pub struct Collector<'m> {
    collect: Collect,
    matcher: &'m RegexMatcher,
    pub lines: Vec<Line>,
    /// The kept lines' texts back to back: one allocation per file, not one per line.
    pub text: String,
    /// Match lines (content, files) or matches (count) found, kept or not.
    pub matched: u64,
    kept_matches: usize,
    /// After the last match that could be kept, its after-context is still kept.
    after_open: bool,
    /// How far into the input the searcher read (its line buffer only grows for an input at
    /// least that long).
    pub reach: u64,
    /// The searcher met a NUL byte (binary data) and stopped there.
    pub binary: bool,
}

impl<'m> Collector<'m> {
    pub fn new(collect: Collect, matcher: &'m RegexMatcher) -> Self {
        Collector {
            collect,
            matcher,
            lines: Vec::new(),
            text: String::new(),
            matched: 0,
            kept_matches: 0,
            after_open: false,
            reach: 0,
            binary: false,
        }
    }

    fn push(&mut self, number: u64, bytes: &[u8], kind: LineKind, max_chars: Option<usize>) {
        let start = self.text.len();
        let chars = push_line_text(bytes, &mut self.text, max_chars);
        self.lines.push(Line {
            number,
            start,
            end: self.text.len(),
            kind,
            chars,
        });
    }
}

impl Sink for Collector<'_> {
    type Error = io::Error;

    fn matched(&mut self, _searcher: &Searcher, found: &SinkMatch<'_>) -> Result<bool, io::Error> {
        match self.collect {
            Collect::FirstMatch => {
                self.matched = 1;
            }
            Collect::Count { multi_line: false } => self.matched += 1,
            Collect::Count { multi_line: true } => {
                self.matched += count_matches(self.matcher, found)?;
            }
            Collect::Lines {
                keep_matches,
                max_chars,
            } => {
                let first = found.line_number().unwrap_or(0);
                // A multi-line match reports every line it spans at once.
                for (i, line) in found.bytes().split_inclusive(|&b| b == b'\n').enumerate() {
                    self.matched += 1;
                    if self.kept_matches < keep_matches {
                        self.kept_matches += 1;
                        self.after_open = true;
                        self.push(first + i as u64, line, LineKind::Match, max_chars);
                    } else {
                        self.after_open = false;
                    }
                }
            }
        }
        Ok(true)
    }

    fn context(
        &mut self,
        _searcher: &Searcher,
        context: &SinkContext<'_>,
    ) -> Result<bool, io::Error> {
        let Collect::Lines {
            keep_matches,
            max_chars,
        } = self.collect
        else {
            return Ok(true);
        };
        let kind = match context.kind() {
            SinkContextKind::Before => LineKind::Before,
            SinkContextKind::After => LineKind::After,
            SinkContextKind::Other => return Ok(true), // passthru only, never configured
        };
        let under_limit = self.kept_matches < keep_matches;
        if kind == LineKind::Before && !under_limit {
            self.after_open = false;
        }
        if under_limit || (kind == LineKind::After && self.after_open) {
            let number = context.line_number().unwrap_or(0);
            self.push(number, context.bytes(), kind, max_chars);
        }
        Ok(true)
    }

    fn finish(&mut self, _searcher: &Searcher, finish: &SinkFinish) -> Result<(), io::Error> {
        self.binary = finish.binary_byte_offset().is_some();
        self.reach = finish
            .byte_count()
            .max(finish.binary_byte_offset().unwrap_or(0));
        Ok(())
    }
}

/// How many regex matches start inside a multi-line match's lines, found again in the whole
/// buffer (so anchors and word boundaries see what lies around them), as `rg -U -c` counts.
fn count_matches(matcher: &RegexMatcher, found: &SinkMatch<'_>) -> io::Result<u64> {
    let buffer = found.buffer();
    let range = found.bytes_range_in_buffer();
    let end = buffer.len().min(range.end + MAX_LOOK_AHEAD);
    let mut count = 0;
    matcher
        .find_iter_at(&buffer[..end], range.start, |m| {
            if m.start() >= range.end {
                return false;
            }
            count += 1;
            true
        })
        .map_err(io::Error::other)?;
    Ok(count)
}

/// Appends a line as text: its `\n` and a `\r` before it removed, invalid UTF-8 made U+FFFD.
/// With `max_chars`, a longer text is cut to that many characters and its full length returned;
/// without, it is cut to [`MAX_MATCH_TEXT_CHARS`] followed by [`TEXT_TRUNCATED_SUFFIX`].
pub fn push_line_text(bytes: &[u8], text: &mut String, max_chars: Option<usize>) -> Option<usize> {
    let bytes = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
    let line = String::from_utf8_lossy(bytes);
    let cap = max_chars.map_or(MAX_MATCH_TEXT_CHARS, |n| n.min(MAX_MATCH_TEXT_CHARS));
    match line.char_indices().nth(cap) {
        Some((cut, _)) => {
            text.push_str(&line[..cut]);
            if max_chars.is_some() {
                return Some(line.chars().count());
            }
            text.push_str(TEXT_TRUNCATED_SUFFIX);
            None
        }
        None => {
            text.push_str(&line);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_text_drops_crlf_and_replaces_invalid_utf8() {
        let mut text = String::from("x");
        assert_eq!(push_line_text(b"a\xffb\r\n", &mut text, None), None);
        assert_eq!(text, "xa\u{fffd}b");
    }

    #[test]
    fn line_text_is_cut_to_max_chars_with_its_length() {
        let mut text = String::new();
        assert_eq!(
            push_line_text("ééééé\n".as_bytes(), &mut text, Some(3)),
            Some(5)
        );
        assert_eq!(text, "ééé");
        text.clear();
        assert_eq!(push_line_text(b"abc", &mut text, Some(3)), None);
        assert_eq!(text, "abc");
    }
}
