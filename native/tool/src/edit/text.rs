//! Text primitives shared by the replacer strategies and the driver: JavaScript's whitespace
//! set, content split into lines once per call, the search budget, levenshtein and line-sequence
//! matching. Twin: `ironcode/twin/edit_text.py`.

use std::borrow::Cow;
use std::cell::OnceCell;

use crate::error::{ErrorKind, ToolError, ToolResult};

/// Middle-line pairs one run of block_anchor or of context_aware may score.
pub const MAX_PAIRS_PER_RUN: u64 = 250_000;
/// Levenshtein table cells (length × length after dropping the common prefix and suffix) one
/// call may compute, over every table it computes.
pub const MAX_LEVENSHTEIN_CELLS: u64 = 4_000_000;
/// The search budget of one call, in code points examined: every candidate window a strategy
/// verifies, every proposal the driver looks at and every distinct proposal it searches the
/// content for. It keeps pathological inputs (a file that repeats one block thousands of times)
/// from taking quadratic time, and never binds on ordinary edits.
pub const MIN_SEARCH_CHARS: u64 = 100_000_000;
/// ... or this many times the content's length, whichever is larger, so big files stay editable.
pub const SEARCH_CHARS_PER_CONTENT_CHAR: u64 = 16;

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

/// `s` without leading and trailing JavaScript whitespace.
#[inline]
pub fn trim(s: &str) -> &str {
    s.trim_matches(is_js_whitespace)
}

/// `s` without leading JavaScript whitespace.
#[inline]
pub fn trim_start(s: &str) -> &str {
    s.trim_start_matches(is_js_whitespace)
}

/// `s` without trailing JavaScript whitespace.
#[inline]
pub fn trim_end(s: &str) -> &str {
    s.trim_end_matches(is_js_whitespace)
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

/// The content of one call, split on `\n` once and shared by every strategy of the chain.
pub struct Text<'a> {
    pub content: &'a str,
    pub lines: Vec<&'a str>,
    /// Byte offset of each line's first character.
    pub starts: Vec<usize>,
    /// The content's length in code points.
    pub chars: usize,
    trimmed: OnceCell<Vec<&'a str>>,
    normalized: OnceCell<Vec<String>>,
}

impl<'a> Text<'a> {
    /// Splits `content` into lines.
    pub fn new(content: &'a str) -> Self {
        let mut lines = Vec::new();
        let mut starts = Vec::new();
        let mut start = 0;
        for line in content.split('\n') {
            starts.push(start);
            lines.push(line);
            start += line.len() + 1;
        }
        Text {
            content,
            lines,
            starts,
            chars: char_len(content),
            trimmed: OnceCell::new(),
            normalized: OnceCell::new(),
        }
    }

    /// Every line trimmed of JavaScript whitespace (computed on first use).
    pub fn trimmed(&self) -> &[&'a str] {
        self.trimmed
            .get_or_init(|| self.lines.iter().map(|l| trim(l)).collect())
    }

    /// Every line with whitespace runs collapsed and trimmed (computed on first use).
    pub fn normalized(&self) -> &[String] {
        self.normalized
            .get_or_init(|| self.lines.iter().map(|l| normalize_whitespace(l)).collect())
    }

    /// The original text of lines `first ..= last`, without the final newline.
    pub fn block(&self, first: usize, last: usize) -> &'a str {
        let end = self.starts[last] + self.lines[last].len();
        &self.content[self.starts[first]..end]
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
    /// A fresh budget for a call on content of `content_chars` code points.
    pub fn new(content_chars: usize) -> Self {
        Budget {
            search_left: MIN_SEARCH_CHARS
                .max(SEARCH_CHARS_PER_CONTENT_CHAR.saturating_mul(content_chars as u64)),
            cells_used: 0,
            pairs_used: 0,
        }
    }

    /// Spends `chars` of the search budget.
    pub fn charge_search(&mut self, chars: usize) -> ToolResult<()> {
        let chars = chars as u64;
        if chars > self.search_left {
            return Err(too_large(
                "the fuzzy search would examine too much text (the file repeats the same lines \
                 many times)",
            ));
        }
        self.search_left -= chars;
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
