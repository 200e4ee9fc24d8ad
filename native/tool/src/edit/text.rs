//! Text primitives shared by the replacer strategies and the driver: JavaScript's whitespace
//! set, content split into lines once per call, the search budget, levenshtein and line-sequence
//! matching. Twin: `ironcode/twin/edit_text.py`.

use std::borrow::Cow;
use std::cell::OnceCell;

use super::anchor::{Anchor, Occurrences};
use crate::error::{ErrorKind, ToolError, ToolResult};

/// Middle-line pairs one run of block_anchor or of context_aware may score.
pub const MAX_PAIRS_PER_RUN: u64 = 250_000;
/// Levenshtein table cells (length × length after dropping the common prefix and suffix) one
/// call may compute, over every table it computes.
pub const MAX_LEVENSHTEIN_CELLS: u64 = 4_000_000;
/// The search budget of one call, in UTF-8 bytes examined: every candidate window a strategy
/// verifies, every proposal the driver looks at and every distinct proposal it searches the
/// content for. (Bytes, not code points: both backends know a text's UTF-8 length without a
/// pass over it — Python's `str.isascii()` is O(1).) It keeps pathological inputs (a file that repeats one block thousands of times)
/// from taking quadratic time, and never binds on ordinary edits.
pub const MIN_SEARCH_BYTES: u64 = 100_000_000;
/// ... or this many times the content's UTF-8 length, whichever is larger, so big files stay
/// editable.
pub const SEARCH_BYTES_PER_CONTENT_BYTE: u64 = 16;

/// The characters JavaScript's `String.prototype.trim()` and regex `\s` treat as whitespace
/// (WhiteSpace and LineTerminator of ECMA-262). Python's `str.strip()` differs (it strips
/// U+001C–U+001F and U+0085, keeps U+FEFF), so both backends spell this set out.
pub const JS_WHITESPACE: [char; 25] = [
    '\t', '\n', '\u{b}', '\u{c}', '\r', ' ', '\u{a0}', '\u{1680}', '\u{2000}', '\u{2001}',
    '\u{2002}', '\u{2003}', '\u{2004}', '\u{2005}', '\u{2006}', '\u{2007}', '\u{2008}', '\u{2009}',
    '\u{200a}', '\u{2028}', '\u{2029}', '\u{202f}', '\u{205f}', '\u{3000}', '\u{feff}',
];

/// True for a character of [`JS_WHITESPACE`].
#[inline]
pub fn is_js_whitespace(c: char) -> bool {
    if c.is_ascii() {
        matches!(c, '\t' | '\n' | '\u{b}' | '\u{c}' | '\r' | ' ')
    } else {
        JS_WHITESPACE.contains(&c)
    }
}

/// Bit `b` is set for each ASCII byte `b` of [`JS_WHITESPACE`] (tab, LF, VT, FF, CR, space).
const ASCII_WHITESPACE_BITS: u64 = 0b1_1111 << 9 | 1 << 32;

/// True for an ASCII whitespace byte of [`JS_WHITESPACE`] (a table lookup, not six compares).
#[inline]
pub fn is_ascii_whitespace_byte(b: u8) -> bool {
    b <= b' ' && ASCII_WHITESPACE_BITS >> b & 1 == 1
}

/// `s` without leading and trailing JavaScript whitespace.
#[inline]
pub fn trim(s: &str) -> &str {
    trim_end(trim_start(s))
}

/// `s` without leading JavaScript whitespace (bytes first; characters only past a non-ASCII one).
#[inline]
pub fn trim_start(s: &str) -> &str {
    let bytes = s.as_bytes();
    let mut at = 0;
    // Indentation is mostly spaces: skip them eight at a time.
    while bytes.len() - at >= 8 && bytes[at..at + 8] == [b' '; 8] {
        at += 8;
    }
    while at < bytes.len() && is_ascii_whitespace_byte(bytes[at]) {
        at += 1;
    }
    let rest = &s[at..];
    if rest.as_bytes().first().is_some_and(|&b| b >= 0x80) {
        rest.trim_start_matches(is_js_whitespace)
    } else {
        rest
    }
}

/// `s` without trailing JavaScript whitespace.
#[inline]
pub fn trim_end(s: &str) -> &str {
    let bytes = s.as_bytes();
    let mut end = bytes.len();
    while end > 0 && is_ascii_whitespace_byte(bytes[end - 1]) {
        end -= 1;
    }
    let rest = &s[..end];
    if rest.as_bytes().last().is_some_and(|&b| b >= 0x80) {
        rest.trim_end_matches(is_js_whitespace)
    } else {
        rest
    }
}

/// Byte offset of the first occurrence of `needle` in `haystack` (SIMD search).
#[inline]
pub fn find(haystack: &str, needle: &str) -> Option<usize> {
    memchr::memmem::find(haystack.as_bytes(), needle.as_bytes())
}

/// Byte offset of the first occurrence of `needle` starting after byte `after` (overlapping
/// `after`'s own occurrence allowed). A forward search: reverse search has no SIMD path and is
/// many times slower, and "is there another one after the first?" is all uniqueness needs.
#[inline]
pub fn find_after(haystack: &str, needle: &str, after: usize) -> Option<usize> {
    let rest = haystack.as_bytes().get(after + 1..)?;
    memchr::memmem::find(rest, needle.as_bytes()).map(|at| after + 1 + at)
}

/// Byte offsets of the non-overlapping occurrences of `needle`, left to right (like
/// `str::match_indices`). A match of valid UTF-8 in valid UTF-8 starts on a character boundary.
pub fn find_all(haystack: &str, needle: &str) -> Vec<usize> {
    let finder = memchr::memmem::Finder::new(needle.as_bytes());
    let mut found = Vec::new();
    let mut at = 0;
    while let Some(hit) = finder.find(&haystack.as_bytes()[at..]) {
        found.push(at + hit);
        at += hit + needle.len().max(1);
        if at > haystack.len() {
            break;
        }
    }
    found
}

/// Length in code points.
#[inline]
pub fn char_len(s: &str) -> usize {
    if s.is_ascii() {
        s.len()
    } else {
        s.chars().count()
    }
}

/// `find`'s lines for the line-window strategies: split on `\n`, one trailing empty line dropped
/// (a find that ends in a newline does not ask for an extra blank line).
pub fn search_lines(find: &str) -> Vec<&str> {
    let mut lines: Vec<&str> = find.split('\n').collect();
    if lines.last() == Some(&"") {
        lines.pop();
    }
    lines
}

/// Collapses every run of JavaScript whitespace to one space and trims the ends.
pub fn normalize_whitespace(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut pending_space = false;
    for c in s.chars() {
        if is_js_whitespace(c) {
            pending_space = !out.is_empty();
        } else {
            if pending_space {
                out.push(' ');
                pending_space = false;
            }
            out.push(c);
        }
    }
    out
}

/// [`normalize_whitespace`] plus, for every byte of the result, the byte offset in `s` it came
/// from (a collapsed space maps to the start of its whitespace run).
pub fn normalize_whitespace_mapped(s: &str) -> (String, Vec<usize>) {
    let mut out = String::with_capacity(s.len());
    let mut map = Vec::with_capacity(s.len());
    let mut pending_space: Option<usize> = None;
    for (at, c) in s.char_indices() {
        if is_js_whitespace(c) {
            if !out.is_empty() && pending_space.is_none() {
                pending_space = Some(at);
            }
        } else {
            if let Some(space_at) = pending_space.take() {
                out.push(' ');
                map.push(space_at);
            }
            out.push(c);
            map.extend(at..at + c.len_utf8());
        }
    }
    (out, map)
}

/// The content of one call, split on `\n` on first use and shared by every strategy.
pub struct Text<'a> {
    pub content: &'a str,
    /// The text searched for (`old` or `find`).
    pub find: &'a str,
    split: OnceCell<Lines<'a>>,
    anchor: OnceCell<Option<Anchor<'a>>>,
}

struct Lines<'a> {
    lines: Vec<&'a str>,
    /// Byte offset of each line's first character.
    starts: Vec<usize>,
    trimmed: Vec<&'a str>,
}

impl<'a> Text<'a> {
    /// The content and what is searched for; nothing is split or scanned yet.
    pub fn new(content: &'a str, find: &'a str) -> Self {
        Text {
            content,
            find,
            split: OnceCell::new(),
            anchor: OnceCell::new(),
        }
    }

    /// The anchor of [`Text::find`], found on first use; `None` when its lines are all blank.
    pub fn anchor(&self) -> Option<&Anchor<'a>> {
        self.anchor
            .get_or_init(|| Anchor::new(self.content, self.find))
            .as_ref()
    }

    /// Where `needle` occurs in the content (read off the anchor when it can be).
    pub fn occurrences<'t>(&'t self, needle: &'t str) -> Occurrences<'t> {
        Occurrences::new(self.content, needle, self.anchor())
    }

    /// Splits the content into lines and trims each, in one pass while the line is in cache.
    fn split(&self) -> &Lines<'a> {
        self.split.get_or_init(|| {
            let content = self.content;
            let count = memchr::memchr_iter(b'\n', content.as_bytes()).count() + 1;
            let mut lines = Vec::with_capacity(count);
            let mut starts = Vec::with_capacity(count);
            let mut trimmed = Vec::with_capacity(count);
            let mut start = 0;
            let ends = memchr::memchr_iter(b'\n', content.as_bytes()).chain([content.len()]);
            for end in ends {
                let line = &content[start..end];
                starts.push(start);
                lines.push(line);
                trimmed.push(trim(line));
                start = end + 1;
            }
            Lines {
                lines,
                starts,
                trimmed,
            }
        })
    }

    /// The lines (split on `\n` only).
    pub fn lines(&self) -> &[&'a str] {
        &self.split().lines
    }

    /// Byte offset of each line's first character.
    pub fn starts(&self) -> &[usize] {
        &self.split().starts
    }

    /// Every line trimmed of JavaScript whitespace.
    pub fn trimmed(&self) -> &[&'a str] {
        &self.split().trimmed
    }

    /// The original text of lines `first ..= last`, without the final newline.
    pub fn block(&self, first: usize, last: usize) -> &'a str {
        let split = self.split();
        let end = split.starts[last] + split.lines[last].len();
        &self.content[split.starts[first]..end]
    }

    /// The original text of the `count` lines from `first` (`count` ≥ 1).
    pub fn window(&self, first: usize, count: usize) -> Cow<'a, str> {
        Cow::Borrowed(self.block(first, first + count - 1))
    }
}

/// What one call may still spend; see the limits at the top of this module.
pub struct Budget {
    search_left: u64,
    cells_used: u64,
    pairs_used: u64,
}

impl Budget {
    /// A fresh budget for a call on content of `content_bytes` UTF-8 bytes.
    pub fn new(content_bytes: usize) -> Self {
        Budget {
            search_left: MIN_SEARCH_BYTES
                .max(SEARCH_BYTES_PER_CONTENT_BYTE.saturating_mul(content_bytes as u64)),
            cells_used: 0,
            pairs_used: 0,
        }
    }

    /// Spends `bytes` of the search budget.
    pub fn charge_search(&mut self, bytes: usize) -> ToolResult<()> {
        let bytes = bytes as u64;
        if bytes > self.search_left {
            return Err(too_large(
                "the fuzzy search would examine too much text (the file repeats the same lines \
                 many times)",
            ));
        }
        self.search_left -= bytes;
        Ok(())
    }

    /// Starts a run of block_anchor or context_aware: each run has its own pair budget.
    pub fn start_run(&mut self) {
        self.pairs_used = 0;
    }

    /// Spends `pairs` middle-line pairs of the current run.
    pub fn charge_pairs(&mut self, pairs: usize) -> ToolResult<()> {
        self.pairs_used += pairs as u64;
        if self.pairs_used > MAX_PAIRS_PER_RUN {
            return Err(too_large(&format!(
                "more than {MAX_PAIRS_PER_RUN} candidate line pairs to score"
            )));
        }
        Ok(())
    }

    /// Spends `cells` levenshtein cells.
    pub fn charge_cells(&mut self, cells: u64) -> ToolResult<()> {
        self.cells_used = self.cells_used.saturating_add(cells);
        if self.cells_used > MAX_LEVENSHTEIN_CELLS {
            return Err(too_large(&format!(
                "more than {MAX_LEVENSHTEIN_CELLS} levenshtein cells to compute"
            )));
        }
        Ok(())
    }
}

fn too_large(why: &str) -> ToolError {
    ToolError::new(
        ErrorKind::SearchTooLarge,
        format!(
            "The fuzzy search for old_string is too large: {why}. Give old_string exactly as it \
             appears in the file, with enough surrounding lines to make it unique."
        ),
    )
}

/// Levenshtein distance in code points, charging the table it computes to `budget`.
///
/// The common prefix and suffix are dropped first (they never change the distance); the rest
/// is one table of `len_a × len_b` cells, computed with two rows so memory stays linear.
pub fn levenshtein_counted(a: &str, b: &str, budget: &mut Budget) -> ToolResult<usize> {
    if a.is_ascii() && b.is_ascii() {
        distance(a.as_bytes(), b.as_bytes(), budget)
    } else {
        let a: Vec<char> = a.chars().collect();
        let b: Vec<char> = b.chars().collect();
        distance(&a, &b, budget)
    }
}

fn distance<T: PartialEq + Copy>(a: &[T], b: &[T], budget: &mut Budget) -> ToolResult<usize> {
    let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let (a, b) = (&a[prefix..], &b[prefix..]);
    let suffix = a
        .iter()
        .rev()
        .zip(b.iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (a, b) = (&a[..a.len() - suffix], &b[..b.len() - suffix]);
    if a.is_empty() || b.is_empty() {
        return Ok(a.len().max(b.len()));
    }
    budget.charge_cells((a.len() as u64).saturating_mul(b.len() as u64))?;
    // The shorter string is the row, so memory is min(len) + 1 cells.
    let (long, short) = if a.len() >= b.len() { (a, b) } else { (b, a) };
    let mut row: Vec<usize> = (0..=short.len()).collect();
    for (i, &lc) in long.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &sc) in short.iter().enumerate() {
            let above = row[j + 1];
            let substitute = diagonal + usize::from(lc != sc);
            row[j + 1] = substitute.min(above + 1).min(row[j] + 1);
            diagonal = above;
        }
    }
    Ok(row[short.len()])
}

/// Start indices of every (possibly overlapping) run of `pattern` in `items` (Knuth–Morris–
/// Pratt: linear in both lengths, whatever the content repeats).
pub fn find_runs(items: &[&str], pattern: &[&str]) -> Vec<usize> {
    let m = pattern.len();
    if m == 0 || m > items.len() {
        return Vec::new();
    }
    let mut failure = vec![0usize; m];
    let mut k = 0;
    for i in 1..m {
        while k > 0 && pattern[i] != pattern[k] {
            k = failure[k - 1];
        }
        if pattern[i] == pattern[k] {
            k += 1;
        }
        failure[i] = k;
    }
    let mut found = Vec::new();
    let mut k = 0;
    for (i, item) in items.iter().enumerate() {
        while k > 0 && *item != pattern[k] {
            k = failure[k - 1];
        }
        if *item == pattern[k] {
            k += 1;
        }
        if k == m {
            found.push(i + 1 - m);
            k = failure[k - 1];
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lev(a: &str, b: &str) -> usize {
        levenshtein_counted(a, b, &mut Budget::new(0)).unwrap()
    }

    #[test]
    fn whitespace_set_is_javascripts() {
        for c in ['\u{feff}', '\u{a0}', '\u{3000}', '\u{2028}', '\u{b}'] {
            assert!(is_js_whitespace(c), "{c:?}");
        }
        for c in ['\u{1c}', '\u{1f}', '\u{85}', '\u{180e}', '\u{200b}', 'a'] {
            assert!(!is_js_whitespace(c), "{c:?}");
        }
        assert_eq!(trim("\u{feff} x \u{3000}"), "x");
        assert_eq!(trim("\u{1c}x\u{1c}"), "\u{1c}x\u{1c}");
    }

    #[test]
    fn byte_trims_agree_with_char_trims() {
        for s in [
            "",
            " ",
            " a ",
            "\u{3000} a \u{feff}",
            " \u{a0}\ta\u{1c} ",
            "é ",
            " é",
            "\r\n",
        ] {
            assert_eq!(trim(s), s.trim_matches(is_js_whitespace), "{s:?}");
            assert_eq!(
                trim_start(s),
                s.trim_start_matches(is_js_whitespace),
                "{s:?}"
            );
            assert_eq!(trim_end(s), s.trim_end_matches(is_js_whitespace), "{s:?}");
        }
    }

    #[test]
    fn text_splits_on_newlines_only() {
        let text = Text::new("a\r\nb\n\nc", "");
        assert_eq!(text.lines(), ["a\r", "b", "", "c"]);
        assert_eq!(text.starts(), [0, 3, 5, 6]);
        assert_eq!(Text::new("", "").lines(), [""]);
        for b in 0..=255u8 {
            let expected = b.is_ascii() && is_js_whitespace(b as char);
            assert_eq!(is_ascii_whitespace_byte(b), expected, "{b}");
        }
    }

    #[test]
    fn levenshtein_counts_code_points() {
        assert_eq!(lev("kitten", "sitting"), 3);
        assert_eq!(lev("", "abc"), 3);
        assert_eq!(lev("😀a", "a"), 1);
        assert_eq!(lev("über", "uber"), 1);
        assert_eq!(lev("same", "same"), 0);
    }

    #[test]
    fn levenshtein_budget_counts_the_table_after_common_ends() {
        let mut budget = Budget::new(0);
        // "xaaay" vs "xbbby": prefix x and suffix y dropped, a 3 × 3 table remains.
        assert_eq!(
            levenshtein_counted("xaaay", "xbbby", &mut budget).unwrap(),
            3
        );
        assert_eq!(budget.cells_used, 9);
        let big = "a".repeat(2001);
        let other = "b".repeat(2000);
        let err = levenshtein_counted(&big, &other, &mut Budget::new(0)).unwrap_err();
        assert_eq!(err.kind, ErrorKind::SearchTooLarge);
    }

    #[test]
    fn normalize_maps_back_to_original_bytes() {
        let (norm, map) = normalize_whitespace_mapped("  a\u{3000}\u{3000}bé c ");
        assert_eq!(norm, "a bé c");
        assert_eq!(norm, normalize_whitespace("  a\u{3000}\u{3000}bé c "));
        assert_eq!(map[0], 2);
        assert_eq!(map[1], 3); // the collapsed run starts at the first U+3000
        assert_eq!(map[2], 9);
    }

    #[test]
    fn find_runs_finds_overlapping_runs() {
        let items = ["a", "a", "a", "b", "a", "a"];
        assert_eq!(find_runs(&items, &["a", "a"]), vec![0, 1, 4]);
        assert_eq!(find_runs(&items, &["a", "b"]), vec![2]);
        assert!(find_runs(&items, &["c"]).is_empty());
        assert!(find_runs(&items[..1], &["a", "a"]).is_empty());
    }
}
