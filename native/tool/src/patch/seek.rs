//! Applying an Update's chunks to a file's text: Codex's four matching passes from a cursor,
//! `*** End of File` anchoring, the trailing-empty-line retry, `@@ TEXT` as an insertion point,
//! line endings kept, all within a search budget. Twin: `ironcode/twin/patch_seek.py`.

use std::borrow::Cow;
use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};

use super::parse::{Chunk, quote};
use crate::edit::text::{trim, trim_end};
use crate::edit::{MAX_HINT_LINES, closest_region};
use crate::error::{ErrorKind, ToolError, ToolResult};

/// The search budget of one apply_patch call, in lines examined: each Update's file lines when
/// they are split and keyed for a pass, every line a search pass scans, and the chunk's length
/// for every position it verifies. It keeps pathological patches (a chunk whose first line is
/// everywhere but never in sequence, one huge file updated hundreds of times) from running for
/// minutes, and never binds on ordinary patches (a 100-chunk patch of a 10K-line file with every
/// context line re-spaced examines about 100,000 lines).
pub const MIN_SEARCH_LINES: u64 = 50_000_000;
/// ... or this many times the line count of the largest file the call updates, whichever is
/// larger, so big files stay patchable.
pub const SEARCH_LINES_PER_FILE_LINE: u64 = 8;

/// How a file line and a patch line are compared, in the order they are tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pass {
    Exact,
    TrimEnd,
    Trim,
    /// Trimmed, with typographic dashes, quotes and spaces read as their ASCII forms.
    Typographic,
}

/// The passes in the order a search tries them; the first that finds a position wins.
pub const PASSES: [Pass; 4] = [Pass::Exact, Pass::TrimEnd, Pass::Trim, Pass::Typographic];

impl Pass {
    /// What a line is compared by in this pass.
    pub fn key(self, line: &str) -> Cow<'_, str> {
        match self {
            Pass::Exact => Cow::Borrowed(line),
            Pass::TrimEnd => Cow::Borrowed(trim_end(line)),
            Pass::Trim => Cow::Borrowed(trim(line)),
            Pass::Typographic => typographic(trim(line)),
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// `s` with Unicode dashes (U+2010–2015, U+2212) read as `-`, single quotes (U+2018–201B) as
/// `'`, double quotes (U+201C–201F) as `"`, and no-break and other spaces (U+00A0, U+2002–200A,
/// U+202F, U+205F, U+3000) as a space.
pub fn typographic(s: &str) -> Cow<'_, str> {
    if s.is_ascii() {
        return Cow::Borrowed(s);
    }
    Cow::Owned(
        s.chars()
            .map(|c| match c {
                '\u{2010}'..='\u{2015}' | '\u{2212}' => '-',
                '\u{2018}'..='\u{201B}' => '\'',
                '\u{201C}'..='\u{201F}' => '"',
                '\u{a0}' | '\u{2002}'..='\u{200a}' | '\u{202f}' | '\u{205f}' | '\u{3000}' => ' ',
                other => other,
            })
            .collect(),
    )
}

/// What one call may still spend; see [`MIN_SEARCH_LINES`].
#[derive(Debug)]
pub struct Budget {
    used: u64,
    limit: u64,
}

impl Default for Budget {
    fn default() -> Self {
        Self::new()
    }
}

impl Budget {
    /// A fresh budget for one call.
    pub fn new() -> Self {
        Budget {
            used: 0,
            limit: MIN_SEARCH_LINES,
        }
    }

    /// Raises the limit for a file of `lines` lines (see [`SEARCH_LINES_PER_FILE_LINE`]).
    pub fn allow_file(&mut self, lines: usize) {
        self.limit = self
            .limit
            .max(SEARCH_LINES_PER_FILE_LINE.saturating_mul(lines as u64));
    }

    /// Spends `lines` of the budget.
    pub fn charge(&mut self, lines: usize) -> ToolResult<()> {
        self.used = self.used.saturating_add(lines as u64);
        if self.used > self.limit {
            return Err(ToolError::new(
                ErrorKind::SearchTooLarge,
                format!(
                    "The patch needs too much searching (more than {} lines examined): its \
                     chunks' lines occur all over the file without matching, or it updates the \
                     same large file many times. Give each chunk a few distinctive context lines, \
                     or split the patch.",
                    self.limit
                ),
            ));
        }
        Ok(())
    }
}

/// A file's text as lines: split on `\n`, a `\r` before it set aside as the line's ending. An
/// empty text has no lines and counts as ending with a newline.
#[derive(Debug)]
pub struct FileLines<'a> {
    pub texts: Vec<&'a str>,
    /// Each line's own ending (`\n` or `\r\n`); `None` for a last line without one.
    pub ends: Vec<Option<&'static str>>,
    pub final_newline: bool,
    /// Any `\r\n` makes the file CRLF (as edit_file decides): added lines get `\r\n`.
    pub crlf: bool,
}

/// Splits `body` (a file's text without its BOM) into [`FileLines`].
pub fn split_file(body: &str) -> FileLines<'_> {
    let mut texts = Vec::new();
    let mut ends = Vec::new();
    let mut parts = body.split('\n').peekable();
    let mut final_newline = true;
    while let Some(part) = parts.next() {
        if parts.peek().is_none() {
            if !part.is_empty() {
                texts.push(part);
                ends.push(None);
                final_newline = false;
            }
            break;
        }
        match part.strip_suffix('\r') {
            Some(text) => {
                texts.push(text);
                ends.push(Some("\r\n"));
            }
            None => {
                texts.push(part);
                ends.push(Some("\n"));
            }
        }
    }
    FileLines {
        texts,
        ends,
        final_newline,
        crlf: body.contains("\r\n"),
    }
}

/// One pass's keys of the file's lines, and the set of their hashes.
type Keyed<'a> = (Vec<Cow<'a, str>>, HashSet<u64>);

/// The file's lines keyed for each pass (built on first use) and, per pass, a set of the
/// keys' hashes: a pattern with a line the file has nowhere fails the pass at once.
struct Keys<'f, 'a> {
    texts: &'f [&'a str],
    passes: [Option<Keyed<'a>>; 4],
}

fn hash_of(s: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    s.hash(&mut hasher);
    hasher.finish()
}

impl<'f, 'a> Keys<'f, 'a> {
    fn new(texts: &'f [&'a str]) -> Self {
        Keys {
            texts,
            passes: [None, None, None, None],
        }
    }

    fn pass(&mut self, pass: Pass, budget: &mut Budget) -> ToolResult<&Keyed<'a>> {
        let slot = &mut self.passes[pass.index()];
        if slot.is_none() {
            budget.charge(self.texts.len())?;
            let keys: Vec<Cow<'a, str>> = self.texts.iter().map(|t| pass.key(t)).collect();
            let present = keys.iter().map(|k| hash_of(k)).collect();
            *slot = Some((keys, present));
        }
        Ok(slot.as_ref().expect("just built"))
    }
}

/// The first position at or after `start` where `pattern` occurs in the file, by the first of
/// the [`PASSES`] that finds one; with `eof`, only the position that ends at the file's end.
fn seek(
    keys: &mut Keys<'_, '_>,
    pattern: &[&str],
    start: usize,
    eof: bool,
    budget: &mut Budget,
) -> ToolResult<Option<usize>> {
    let n = keys.texts.len();
    let m = pattern.len();
    if m == 0 || m > n || start > n - m {
        return Ok(None);
    }
    let last = n - m;
    for pass in PASSES {
        let wanted: Vec<Cow<'_, str>> = pattern.iter().map(|line| pass.key(line)).collect();
        budget.charge(m)?;
        let (file, present) = keys.pass(pass, budget)?;
        if eof {
            if file[last..] == wanted[..] {
                return Ok(Some(last));
            }
            continue;
        }
        if !wanted.iter().all(|w| present.contains(&hash_of(w))) {
            continue;
        }
        let mut at = start;
        let mut found = None;
        while at <= last {
            let Some(i) = (at..=last).find(|&i| file[i] == wanted[0]) else {
                at = last + 1;
                break;
            };
            budget.charge(m)?;
            at = i + 1;
            if file[i..i + m] == wanted[..] {
                found = Some(i);
                break;
            }
        }
        budget.charge(at - start)?;
        if found.is_some() {
            return Ok(found);
        }
    }
    Ok(None)
}

/// A chunk placed in the file: old lines `start..start + old_len` become the chunk's first
/// `new_len` new lines.
#[derive(Debug, Clone, Copy)]
struct Replacement {
    start: usize,
    old_len: usize,
    chunk: usize,
    new_len: usize,
}

/// An Update's new text and the line regions it changed (for the diff).
#[derive(Debug)]
pub struct Applied {
    pub body: String,
    /// `(old_start, old_end, new_start, new_end)` line ranges, in order.
    pub regions: Vec<(usize, usize, usize, usize)>,
}

/// Applies `chunks` to `body` (a file's text without its BOM), in order from a cursor; `shown`
/// names the file in errors.
///
/// Errors: `patch_failed` (a chunk or its `@@` line not found, with the closest region),
/// `search_too_large`.
pub fn apply_chunks(
    shown: &str,
    body: &str,
    chunks: &[Chunk<'_>],
    budget: &mut Budget,
) -> ToolResult<Applied> {
    let file = split_file(body);
    budget.allow_file(file.texts.len());
    budget.charge(file.texts.len())?;
    let mut keys = Keys::new(&file.texts);
    let mut cursor = 0;
    let mut placed: Vec<Replacement> = Vec::with_capacity(chunks.len());
    for (number, chunk) in chunks.iter().enumerate() {
        if let Some(text) = chunk.context {
            match seek(&mut keys, &[text], cursor, false, budget)? {
                Some(at) => cursor = at + 1,
                None => return Err(context_failed(shown, number + 1, chunk, text, body, cursor)),
            }
        }
        if chunk.old.is_empty() {
            // An insertion: after the `@@ TEXT` line, else at the end of the file.
            let start = if chunk.context.is_some() {
                cursor
            } else {
                file.texts.len()
            };
            placed.push(Replacement {
                start,
                old_len: 0,
                chunk: number,
                new_len: chunk.new.len(),
            });
            continue;
        }
        let (mut old_len, mut new_len) = (chunk.old.len(), chunk.new.len());
        let found = loop {
            let found = seek(&mut keys, &chunk.old[..old_len], cursor, chunk.eof, budget)?;
            // Trailing empty lines are often the blank lines before the next section.
            if found.is_some() || old_len < 2 || !chunk.old[old_len - 1].is_empty() {
                break found;
            }
            old_len -= 1;
            if new_len > 0 && chunk.new[new_len - 1].text.is_empty() {
                new_len -= 1;
            }
        };
        let Some(start) = found else {
            return Err(chunk_failed(shown, number + 1, chunk, body, cursor));
        };
        placed.push(Replacement {
            start,
            old_len,
            chunk: number,
            new_len,
        });
        cursor = start + old_len;
    }
    Ok(assemble(&file, chunks, placed))
}

/// The new text from the placed chunks, and the regions they changed.
fn assemble<'a>(
    file: &FileLines<'a>,
    chunks: &[Chunk<'a>],
    mut placed: Vec<Replacement>,
) -> Applied {
    placed.sort_by_key(|r| r.start);
    let default_end = if file.crlf { "\r\n" } else { "\n" };
    let mut lines: Vec<(&'a str, Option<&'static str>)> = Vec::with_capacity(file.texts.len());
    let mut regions = Vec::with_capacity(placed.len());
    let mut at = 0;
    let keep = |lines: &mut Vec<(&'a str, Option<&'static str>)>, from: usize, to: usize| {
        lines.extend((from..to).map(|i| (file.texts[i], file.ends[i])));
    };
    for r in placed {
        keep(&mut lines, at, r.start);
        let new_start = lines.len();
        for line in &chunks[r.chunk].new[..r.new_len] {
            let end = line
                .old
                .filter(|&j| j < r.old_len)
                .and_then(|j| file.ends[r.start + j]);
            lines.push((line.text, end));
        }
        // One line before the change too: a last line that gains or loses its ending shows.
        let before = usize::from(r.start > 0 && new_start > 0);
        regions.push((
            r.start - before,
            r.start + r.old_len,
            new_start - before,
            lines.len(),
        ));
        at = r.start + r.old_len;
    }
    keep(&mut lines, at, file.texts.len());
    let mut body = String::with_capacity(lines.iter().map(|(t, _)| t.len() + 2).sum());
    let count = lines.len();
    for (i, (text, end)) in lines.into_iter().enumerate() {
        body.push_str(text);
        if i + 1 < count || file.final_newline {
            body.push_str(end.unwrap_or(default_end));
        }
    }
    Applied { body, regions }
}

/// Where a search started, for a message: "" at the top, else " after line N".
fn after(cursor: usize) -> String {
    if cursor == 0 {
        String::new()
    } else {
        format!(" after line {cursor}")
    }
}

fn context_failed(
    shown: &str,
    number: usize,
    chunk: &Chunk<'_>,
    text: &str,
    body: &str,
    cursor: usize,
) -> ToolError {
    let mut message = format!(
        "Could not apply chunk {number} of {shown} (patch line {}): its line '@@ {text}' names a \
         line that was not found{}, even ignoring whitespace and typographic quotes and dashes.",
        chunk.line,
        after(cursor)
    );
    message.push_str(&region_hint(body, text, cursor));
    ToolError::new(ErrorKind::PatchFailed, message)
}

fn chunk_failed(
    shown: &str,
    number: usize,
    chunk: &Chunk<'_>,
    body: &str,
    cursor: usize,
) -> ToolError {
    let place = if chunk.eof {
        " at the end of the file (the chunk ends with '*** End of File', so its lines must be \
         the file's last lines)"
            .to_string()
    } else {
        after(cursor)
    };
    let mut message = format!(
        "Could not apply chunk {number} of {shown} (patch line {}): its lines were not found{place}, \
         even ignoring whitespace and typographic quotes and dashes. Its first old line: {}.",
        chunk.line,
        quote(chunk.old[0])
    );
    let mut wanted = &chunk.old[..];
    while wanted.len() > 1 && wanted[wanted.len() - 1].is_empty() {
        wanted = &wanted[..wanted.len() - 1];
    }
    message.push_str(&region_hint(body, &wanted.join("\n"), cursor));
    ToolError::new(ErrorKind::PatchFailed, message)
}

/// The closest region of the file to `wanted`, with its line numbers, as edit_file names it.
fn region_hint(body: &str, wanted: &str, cursor: usize) -> String {
    let Some(region) = closest_region(body, wanted) else {
        return " Re-read the file and copy its exact lines into the chunk.".to_string();
    };
    let lines: Vec<&str> = body.split('\n').collect();
    let last = region.first + region.count - 1;
    let place = if region.count == 1 {
        format!("line {}", last + 1)
    } else {
        format!("lines {}-{}", region.first + 1, last + 1)
    };
    let mut out = format!(
        " The most similar region is {place} ({}% similar):\n",
        (region.similarity * 100.0).floor()
    );
    for (i, line) in lines
        .iter()
        .enumerate()
        .skip(region.first)
        .take(region.count.min(MAX_HINT_LINES))
    {
        let line = line.strip_suffix('\r').unwrap_or(line);
        out.push_str(&format!("{}: {line}\n", i + 1));
    }
    if region.count > MAX_HINT_LINES {
        out.push_str("...\n");
    }
    if region.first < cursor {
        out.push_str(&format!(
            "That region is above line {}, where this chunk's search started: chunks must follow \
             the file's order.\n",
            cursor + 1
        ));
    }
    out.push_str("Copy the file's exact lines into the chunk's context (' ') and '-' lines.");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::patch::parse::parse_patch;

    fn apply(body: &str, patch_body: &str) -> ToolResult<String> {
        let text = format!("*** Begin Patch\n*** Update File: f\n{patch_body}\n*** End Patch");
        let sections = parse_patch(&text)?;
        let crate::patch::parse::Section::Update { chunks, .. } = &sections[0] else {
            panic!()
        };
        apply_chunks("f", body, chunks, &mut Budget::new()).map(|a| a.body)
    }

    #[test]
    fn each_pass_finds_what_the_one_before_misses() {
        assert_eq!(apply("a\nb\n", "-b\n+B").unwrap(), "a\nB\n");
        assert_eq!(apply("a\nb  \n", "-b\n+B").unwrap(), "a\nB\n");
        assert_eq!(apply("a\n   b\n", "-b\n+B").unwrap(), "a\nB\n");
        assert_eq!(
            apply(
                "x = \u{201c}hi\u{201d} \u{2014} ok\n",
                "-x = \"hi\" - ok\n+y"
            )
            .unwrap(),
            "y\n"
        );
    }

    #[test]
    fn crlf_lines_keep_their_endings_and_added_lines_get_crlf() {
        assert_eq!(
            apply("a\r\nb\r\nc\r\n", " a\n-b\n+B\n+B2").unwrap(),
            "a\r\nB\r\nB2\r\nc\r\n"
        );
    }

    #[test]
    fn a_missing_final_newline_stays_missing() {
        assert_eq!(apply("a\nb", " b\n+c").unwrap(), "a\nb\nc");
        assert_eq!(apply("a\nb", "-b").unwrap(), "a");
        assert_eq!(apply("", "+x").unwrap(), "x\n");
    }

    #[test]
    fn end_of_file_anchors_and_context_is_an_insertion_point() {
        assert_eq!(
            apply("x\ny\nx\n", "-x\n+z\n*** End of File").unwrap(),
            "x\ny\nz\n"
        );
        assert_eq!(
            apply("a\nb\nc\n", "@@ a\n+inserted").unwrap(),
            "a\ninserted\nb\nc\n"
        );
        assert_eq!(apply("a\nb\n", "+end").unwrap(), "a\nb\nend\n");
    }

    #[test]
    fn trailing_empty_lines_are_dropped_until_the_chunk_matches() {
        assert_eq!(apply("a\nb\n", "-a\n+A\n\n\n").unwrap(), "A\nb\n");
    }

    #[test]
    fn a_missing_chunk_is_patch_failed_with_the_closest_region() {
        let err = apply(
            "fn main() {\n    run(1);\n}\n",
            "-fn main() {\n-    run(2);",
        )
        .unwrap_err();
        assert_eq!(err.kind, ErrorKind::PatchFailed);
        assert!(err.message.contains("lines 1-2"), "{}", err.message);
        let err = apply("a\n", "@@ nowhere\n+x").unwrap_err();
        assert_eq!(err.kind, ErrorKind::PatchFailed);
    }

    #[test]
    fn a_repeated_line_matches_at_the_cursor_in_bounded_work() {
        let body = "x\n".repeat(100_000);
        let chunk: String = (0..1000).map(|_| "@@\n-x\n+y\n").collect();
        let out = apply(&body, chunk.trim_end()).unwrap();
        assert_eq!(
            out,
            format!("{}{}", "y\n".repeat(1000), "x\n".repeat(99_000))
        );
        // A first line that is everywhere but a sequence that is nowhere: the budget stops it.
        let pattern: String = "-x\n".repeat(400) + "-z";
        let body = format!("{}z\n", "x\n".repeat(399)).repeat(2000);
        assert_eq!(
            apply(&body, &pattern).unwrap_err().kind,
            ErrorKind::SearchTooLarge
        );
    }
}
