//! `edit`: find the text an edit means and replace it — opencode's chain of nine replacer
//! strategies, levenshtein, and the file edit tool on top. Twin: `ironcode/twin/edit.py`.
//!
//! - [`edit_replace`] runs the chain: the exact `old` first (ambiguous → `multiple_matches`, no
//!   fuzzy fall-through), then each fuzzy strategy's proposals in order; the first proposal that
//!   occurs exactly once (or, with `replace_all`, at all) is replaced by `new`, inserted literally
//!   — except that after a tolerant match of whole lines `new` takes on the indentation the file
//!   has and `old` lacks, or loses what `old` has and the file lacks ([`reindent`], issue 22).
//! - Every call is bounded: a size guard refuses proposals much larger than `old`
//!   (`disproportionate`), and a search budget ([`text::Budget`]) stops pathological inputs with
//!   `search_too_large` instead of running for minutes.
//! - [`edit_file`] applies it to a file: UTF-8 only, BOM and CRLF kept, atomic write, a unified
//!   diff back, and errors that point at the closest region or list every match.

mod anchor;
mod diff;
mod file;
pub mod reindent;
pub mod strategies;
pub mod text;

use std::borrow::Cow;
use std::collections::HashSet;

use serde::Serialize;

use anchor::Occurrences;
pub use file::{EditFileResult, edit_file};
// The text conventions apply_patch shares with edit_file (patch/): diffs, the closest-region
// hint, the BOM.
pub use diff::{Diff, unified_lines};
pub use file::{MAX_HINT_LINES, Region, UTF8_BOM, closest_region};
use strategies::{Strategy, propose};
use text::{Budget, Text, char_len, levenshtein_counted, trim};

use crate::error::{ErrorKind, ToolError, ToolResult};

/// Size guard: a proposal with at least `old`'s line count plus this many lines is refused ...
pub const GUARD_EXTRA_LINES: usize = 3;
/// ... as is one with at least this many times `old`'s line count (whichever bound is larger).
pub const GUARD_LINE_FACTOR: usize = 2;
/// Size guard for a multi-line `old`: a proposal whose trimmed length passes `old`'s trimmed
/// length plus this many code points ...
pub const GUARD_EXTRA_CHARS: usize = 500;
/// ... and this many times it (whichever bound is larger) is refused.
pub const GUARD_CHAR_FACTOR: usize = 4;
/// `multiple_matches` lists at most this many line numbers.
pub const MAX_LISTED_LINES: usize = 50;

/// What the driver runs after the exact check. `simple` and `multi_occurrence` only ever propose
/// `old` itself, which the exact check has already decided on, so they cannot change the outcome.
const FUZZY_CHAIN: [Strategy; 7] = [
    Strategy::LineTrimmed,
    Strategy::BlockAnchor,
    Strategy::WhitespaceNormalized,
    Strategy::IndentationFlexible,
    Strategy::EscapeNormalized,
    Strategy::TrimmedBoundary,
    Strategy::ContextAware,
];

/// An edit as spans of the content replaced by one text; `apply` gives the edited content.
///
/// Offsets are bytes in Rust; [`Patch::into_char_offsets`] gives the code-point offsets the
/// Python side slices with, so the FFI returns a few numbers instead of the whole file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Patch {
    pub spans: Vec<(usize, usize)>,
    pub text: String,
}

impl Patch {
    /// Replaces `len` bytes at each of `starts` by `text`.
    fn at(starts: &[usize], len: usize, text: Cow<'_, str>) -> Patch {
        Patch {
            spans: starts.iter().map(|&at| (at, at + len)).collect(),
            text: text.into_owned(),
        }
    }

    /// The content with every span replaced by the text.
    pub fn apply(&self, content: &str) -> String {
        let removed: usize = self.spans.iter().map(|(s, e)| e - s).sum();
        let mut out =
            String::with_capacity(content.len() - removed + self.text.len() * self.spans.len());
        let mut at = 0;
        for &(start, end) in &self.spans {
            out.push_str(&content[at..start]);
            out.push_str(&self.text);
            at = end;
        }
        out.push_str(&content[at..]);
        out
    }

    /// The same patch with byte offsets turned into code-point offsets of `content` (counting
    /// only up to the last span, a word at a time while the text is ASCII).
    pub fn into_char_offsets(mut self, content: &str) -> Patch {
        let (mut byte, mut chars) = (0usize, 0usize);
        let mut to_chars = |target: usize| {
            chars += char_len(&content[byte..target]);
            byte = target;
            chars
        };
        for span in &mut self.spans {
            *span = (to_chars(span.0), to_chars(span.1));
        }
        self
    }
}

/// Replaces the text `old` means in `content` by `new`; see the module docs for the chain.
/// After a tolerant match of whole lines, `new` is re-indented by the one whitespace prefix the
/// matched lines and `old`'s differ by, if there is one ([`reindent`]); the exact match never is.
///
/// Errors: `same_strings`, `empty_old_string`, `multiple_matches` (lists the lines),
/// `disproportionate`, `no_match`, `search_too_large`.
pub fn edit_replace(content: &str, old: &str, new: &str, replace_all: bool) -> ToolResult<String> {
    Ok(replace_patch(content, old, new, replace_all)?.apply(content))
}

/// [`edit_replace`] as a [`Patch`] of `content` (byte offsets).
pub fn replace_patch(content: &str, old: &str, new: &str, replace_all: bool) -> ToolResult<Patch> {
    check_strings(old, new)?;
    let text = Text::new(content, old);
    if let Some(patch) = exact_step(&text, old, new, replace_all)? {
        return Ok(patch);
    }
    let mut budget = Budget::new(content.len());
    let mut seen: HashSet<Cow<'_, str>> = HashSet::new();
    let mut refused: Option<Cow<'_, str>> = None;
    let mut ambiguous: Option<Cow<'_, str>> = None;
    for strategy in FUZZY_CHAIN {
        for proposal in propose(strategy, &text, old, &mut budget)? {
            if proposal.is_empty() {
                continue;
            }
            budget.charge_search(proposal.len())?;
            if !seen.insert(proposal.clone()) {
                continue;
            }
            budget.charge_search(content.len())?;
            let found = text.occurrences(&proposal);
            let Some(first) = found.first() else {
                continue;
            };
            if guard_refuses(old, &proposal) {
                refused.get_or_insert(proposal);
                continue;
            }
            let starts = if replace_all {
                found.non_overlapping()
            } else if found.after(first).is_none() {
                vec![first]
            } else {
                ambiguous.get_or_insert(proposal);
                continue;
            };
            let fitted = reindent::reindent(content, &starts, old, &proposal, new);
            let replacement = adjust_new(old, &proposal, &fitted);
            return Ok(Patch::at(&starts, proposal.len(), replacement));
        }
    }
    Err(match (refused, ambiguous) {
        (Some(proposal), _) => disproportionate(old, &proposal),
        (None, Some(proposal)) => multiple_matches(&text.occurrences(&proposal), true),
        (None, None) => no_match(),
    })
}

/// The exact step of the chain: `None` if `old` does not occur; a patch if it occurs once (or
/// at all, with `replace_all`); `multiple_matches` if it occurs more than once.
pub fn exact_patch(
    content: &str,
    old: &str,
    new: &str,
    replace_all: bool,
) -> ToolResult<Option<Patch>> {
    check_strings(old, new)?;
    exact_step(&Text::new(content, old), old, new, replace_all)
}

fn exact_step(
    text: &Text<'_>,
    old: &str,
    new: &str,
    replace_all: bool,
) -> ToolResult<Option<Patch>> {
    let found = text.occurrences(old);
    let Some(first) = found.first() else {
        return Ok(None);
    };
    let replacement = adjust_new(old, old, new);
    if replace_all {
        return Ok(Some(Patch::at(
            &found.non_overlapping(),
            old.len(),
            replacement,
        )));
    }
    if found.after(first).is_some() {
        return Err(multiple_matches(&found, false));
    }
    Ok(Some(Patch::at(&[first], old.len(), replacement)))
}

/// What one strategy proposes for `find` in `content`, in file order.
///
/// Errors: `invalid_argument` (unknown strategy), `empty_old_string`, `search_too_large`.
pub fn edit_candidates(strategy: &str, content: &str, find: &str) -> ToolResult<Vec<String>> {
    let strategy = Strategy::parse(strategy)?;
    if find.is_empty() {
        return Err(empty_old_string());
    }
    let text = Text::new(content, find);
    let mut budget = Budget::new(content.len());
    propose(strategy, &text, find, &mut budget)?
        .into_iter()
        .map(|proposal| {
            budget.charge_search(proposal.len())?;
            Ok(proposal.into_owned())
        })
        .collect()
}

/// Levenshtein distance of `a` and `b` in code points, in memory linear in the shorter one.
///
/// Errors: `search_too_large` when the table (after dropping the common prefix and suffix)
/// would pass [`text::MAX_LEVENSHTEIN_CELLS`].
pub fn levenshtein(a: &str, b: &str) -> ToolResult<usize> {
    levenshtein_counted(a, b, &mut Budget::new(0))
}

fn check_strings(old: &str, new: &str) -> ToolResult<()> {
    if old == new {
        return Err(same_strings());
    }
    if old.is_empty() {
        return Err(empty_old_string());
    }
    Ok(())
}

fn line_count(s: &str) -> usize {
    s.bytes().filter(|&b| b == b'\n').count() + 1
}

/// True if `proposal` is much larger than `old` (see the `GUARD_*` limits).
fn guard_refuses(old: &str, proposal: &str) -> bool {
    let old_lines = line_count(old);
    let most_lines = (old_lines + GUARD_EXTRA_LINES).max(GUARD_LINE_FACTOR * old_lines);
    if line_count(proposal) >= most_lines {
        return true;
    }
    if old.contains('\n') {
        let wanted = char_len(trim(old));
        let most_chars = (wanted + GUARD_EXTRA_CHARS).max(GUARD_CHAR_FACTOR * wanted);
        return char_len(trim(proposal)) > most_chars;
    }
    false
}

/// `new` fitted to the line ends around `proposal`: when `old` ends in a newline the proposal
/// lacks (a line window), one trailing line break of `new` goes, so no blank line appears; then
/// when the proposal ends in `\r` (a window in CRLF text) and `new` does not, `new` gets it.
fn adjust_new<'a>(old: &str, proposal: &str, new: &'a str) -> Cow<'a, str> {
    let mut out = Cow::Borrowed(new);
    if old.ends_with('\n') && !proposal.ends_with('\n') {
        out = Cow::Borrowed(
            new.strip_suffix("\r\n")
                .or_else(|| new.strip_suffix('\n'))
                .unwrap_or(new),
        );
    }
    if proposal.ends_with('\r') && !out.ends_with('\r') {
        out.to_mut().push('\r');
    }
    out
}

fn same_strings() -> ToolError {
    ToolError::new(
        ErrorKind::SameStrings,
        "No changes to apply: old_string and new_string are identical.",
    )
}

fn empty_old_string() -> ToolError {
    ToolError::new(
        ErrorKind::EmptyOldString,
        "old_string is empty, so there is nothing to find. Give the text to replace; to write a \
         whole file, use write.",
    )
}

fn no_match() -> ToolError {
    ToolError::new(
        ErrorKind::NoMatch,
        "Could not find old_string in the content, even ignoring differences in whitespace, \
         indentation and escaping. Re-read the file and copy the exact lines to change.",
    )
}

fn disproportionate(old: &str, proposal: &str) -> ToolError {
    ToolError::new(
        ErrorKind::Disproportionate,
        format!(
            "The closest match for old_string spans {} lines where old_string has {}, so it was \
             not replaced: a fuzzy match that much larger could replace code you did not mean \
             to change. Give the exact text to replace.",
            line_count(proposal),
            line_count(old)
        ),
    )
}

/// How often `needle` occurs (non-overlapping, plus the next occurrence overlapping the last of
/// those, so an ambiguous overlap still counts two) and the distinct 1-based lines they start on.
pub fn occurrence_lines(content: &str, needle: &str) -> (usize, Vec<usize>) {
    lines_of(&Occurrences::new(content, needle, None))
}

fn lines_of(found: &Occurrences<'_>) -> (usize, Vec<usize>) {
    let content = found.content();
    let mut starts = found.non_overlapping();
    if let Some(overlapping) = starts.last().and_then(|&last| found.after(last)) {
        starts.push(overlapping);
    }
    let (mut line, mut at) = (1usize, 0usize);
    let mut lines: Vec<usize> = Vec::new();
    for &start in &starts {
        line += memchr::memchr_iter(b'\n', &content.as_bytes()[at..start]).count();
        at = start;
        if lines.last() != Some(&line) {
            lines.push(line);
        }
    }
    (starts.len(), lines)
}

fn multiple_matches(found: &Occurrences<'_>, fuzzy: bool) -> ToolError {
    let (count, lines) = lines_of(found);
    let mut shown: Vec<String> = lines
        .iter()
        .take(MAX_LISTED_LINES)
        .map(|l| l.to_string())
        .collect();
    if lines.len() > MAX_LISTED_LINES {
        shown.push(format!("and {} more", lines.len() - MAX_LISTED_LINES));
    }
    let what = if fuzzy {
        "old_string is not in the content exactly, and its closest match occurs"
    } else {
        "old_string occurs"
    };
    let at = if lines.len() == 1 { "line" } else { "lines" };
    ToolError::new(
        ErrorKind::MultipleMatches,
        format!(
            "{what} {count} times (at {at} {}). Add surrounding lines to make it unique, or set \
             replace_all to change every occurrence.",
            shown.join(", ")
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(result: ToolResult<String>) -> ErrorKind {
        result.unwrap_err().kind
    }

    #[test]
    fn exact_duplicates_are_ambiguous_without_fuzzy_fall_through() {
        assert_eq!(
            kind(edit_replace("foo bar foo", "foo", "baz", false)),
            ErrorKind::MultipleMatches
        );
        assert_eq!(
            edit_replace("foo bar foo", "foo", "baz", true).unwrap(),
            "baz bar baz"
        );
    }

    #[test]
    fn reindented_block_is_found_new_keeps_the_files_indentation_and_no_blank_line_appears() {
        assert_eq!(
            edit_replace(
                "    if x:\n        y()\n",
                "if x:\n    y()",
                "if z:\n    w()",
                false
            )
            .unwrap(),
            "    if z:\n        w()\n"
        );
    }

    #[test]
    fn exact_match_never_reindents() {
        assert_eq!(
            edit_replace("    a\n", "a", "b\nc", false).unwrap(),
            "    b\nc\n"
        );
    }

    #[test]
    fn tolerant_match_inside_a_line_is_not_reindented() {
        // The tolerant match is "foo" in the middle of the line: not whole lines.
        assert_eq!(
            edit_replace("x = foo\n", "  foo", "  bar", false).unwrap(),
            "x =   bar\n"
        );
    }

    #[test]
    fn a_multi_line_find_in_a_one_line_text_is_no_match_not_an_abort() {
        assert_eq!(
            kind(edit_replace("Hello world", "a\nb", "x", false)),
            ErrorKind::NoMatch
        );
    }

    #[test]
    fn new_is_inserted_literally() {
        assert_eq!(
            edit_replace("a = 1", "1", "$& $1 \\1", false).unwrap(),
            "a = $& $1 \\1"
        );
    }

    #[test]
    fn crlf_window_keeps_its_carriage_return_and_its_indentation() {
        let content = "a\r\n  b\r\nc";
        assert_eq!(
            edit_replace(content, "b\n", "B\n", false).unwrap(),
            "a\r\n  B\r\nc"
        );
    }

    #[test]
    fn empty_and_same_strings_are_refused() {
        assert_eq!(
            kind(edit_replace("x", "", "y", false)),
            ErrorKind::EmptyOldString
        );
        assert_eq!(
            kind(edit_replace("x", "x", "x", false)),
            ErrorKind::SameStrings
        );
        assert_eq!(kind(edit_replace("", "", "", true)), ErrorKind::SameStrings);
    }

    #[test]
    fn occurrence_lines_lists_overlaps_once() {
        assert_eq!(occurrence_lines("aaa", "aa"), (2, vec![1]));
        assert_eq!(occurrence_lines("x\ny\nx", "x"), (2, vec![1, 3]));
    }

    #[test]
    fn char_offsets_count_code_points() {
        let patch = Patch {
            spans: vec![(2, 3), (4, 5)],
            text: "-".into(),
        };
        assert_eq!(
            patch.clone().into_char_offsets("é.x.y").spans,
            vec![(1, 2), (3, 4)]
        );
        assert_eq!(patch.apply("é.x.y"), "é-x-y");
    }
}
