//! The nine replacer strategies. Each looks at the content and `find` and proposes the text in
//! the content that `find` probably means, in file order; the driver (`edit::replace_patch`)
//! decides what to do with the proposals. Twin: `ironcode/twin/edit_strategies.py`.
//!
//! Proposals that are windows of whole lines borrow the content (no copies), so a strategy that
//! matches everywhere in a repetitive file costs memory linear in the line count, not more.

use std::borrow::Cow;

use super::anchor::anchored_windows;
use super::text::{
    Budget, Text, char_len, find_all, find_runs, is_js_whitespace, levenshtein_counted,
    normalize_whitespace, normalize_whitespace_mapped, search_lines, trim, trim_end, trim_start,
};
use crate::error::{ToolError, ToolResult};

/// block_anchor: the average middle-line similarity a block needs to be proposed.
pub const BLOCK_ANCHOR_MIN_SIMILARITY: f64 = 0.65;
/// block_anchor: a block may differ from the search by this share of its lines (at least 1).
pub const BLOCK_ANCHOR_SIZE_TOLERANCE_DIVISOR: usize = 4;
/// block_anchor and context_aware need a first anchor, a last anchor and something between.
pub const MIN_ANCHORED_LINES: usize = 3;

/// A replacer strategy, in the order the driver tries them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    Simple,
    LineTrimmed,
    BlockAnchor,
    WhitespaceNormalized,
    IndentationFlexible,
    EscapeNormalized,
    TrimmedBoundary,
    ContextAware,
    MultiOccurrence,
}

/// Every strategy with its public name, in chain order.
pub const STRATEGIES: [(Strategy, &str); 9] = [
    (Strategy::Simple, "simple"),
    (Strategy::LineTrimmed, "line_trimmed"),
    (Strategy::BlockAnchor, "block_anchor"),
    (Strategy::WhitespaceNormalized, "whitespace_normalized"),
    (Strategy::IndentationFlexible, "indentation_flexible"),
    (Strategy::EscapeNormalized, "escape_normalized"),
    (Strategy::TrimmedBoundary, "trimmed_boundary"),
    (Strategy::ContextAware, "context_aware"),
    (Strategy::MultiOccurrence, "multi_occurrence"),
];

impl Strategy {
    /// The strategy called `name`; an unknown name is `invalid_argument` listing the known ones.
    pub fn parse(name: &str) -> ToolResult<Strategy> {
        STRATEGIES
            .iter()
            .find(|(_, n)| *n == name)
            .map(|(s, _)| *s)
            .ok_or_else(|| {
                let known: Vec<&str> = STRATEGIES.iter().map(|(_, n)| *n).collect();
                ToolError::invalid_argument(format!(
                    "unknown strategy {name:?}; use one of: {}",
                    known.join(", ")
                ))
            })
    }
}

/// What `strategy` proposes for `find` in `text`, in file order. `find` is not empty.
pub fn propose<'a>(
    strategy: Strategy,
    text: &Text<'a>,
    find: &'a str,
    budget: &mut Budget,
) -> ToolResult<Vec<Cow<'a, str>>> {
    match strategy {
        Strategy::Simple => Ok(simple(find)),
        Strategy::LineTrimmed => Ok(line_trimmed(text, find)),
        Strategy::BlockAnchor => block_anchor(text, find, budget),
        Strategy::WhitespaceNormalized => whitespace_normalized(text, find, budget),
        Strategy::IndentationFlexible => indentation_flexible(text, find, budget),
        Strategy::EscapeNormalized => escape_normalized(text, find, budget),
        Strategy::TrimmedBoundary => trimmed_boundary(text, find, budget),
        Strategy::ContextAware => context_aware(text, find, budget),
        Strategy::MultiOccurrence => Ok(multi_occurrence(text, find)),
    }
}

/// `find` itself.
pub fn simple(find: &str) -> Vec<Cow<'_, str>> {
    vec![Cow::Borrowed(find)]
}

/// Every window of lines equal to `find`'s lines once both are trimmed; proposes the window's
/// own text (its indentation, without the final newline).
pub fn line_trimmed<'a>(text: &Text<'a>, find: &str) -> Vec<Cow<'a, str>> {
    let pattern: Vec<&str> = search_lines(find).into_iter().map(trim).collect();
    if pattern.is_empty() {
        return Vec::new();
    }
    if let Some(found) = text
        .anchor()
        .and_then(|anchor| anchored_windows(text.content, &pattern, anchor))
    {
        return found;
    }
    find_runs(text.trimmed(), &pattern)
        .into_iter()
        .map(|first| text.window(first, pattern.len()))
        .collect()
}

/// Lines of `text.trimmed()` equal to `anchor`, in order.
fn anchor_lines(trimmed: &[&str], anchor: &str) -> Vec<usize> {
    (0..trimmed.len())
        .filter(|&i| trimmed[i] == anchor)
        .collect()
}

/// The anchored blocks of a search: for each line equal to the first anchor, the first line at
/// least two below it equal to the last anchor. Linear: the last-anchor lines are indexed once.
fn anchored_blocks(trimmed: &[&str], first: &str, last: &str) -> Vec<(usize, usize)> {
    let closers = anchor_lines(trimmed, last);
    let mut next = 0;
    let mut blocks = Vec::new();
    for opener in anchor_lines(trimmed, first) {
        while next < closers.len() && closers[next] < opener + 2 {
            next += 1;
        }
        match closers.get(next) {
            Some(&closer) => blocks.push((opener, closer)),
            None => break,
        }
    }
    blocks
}

/// Blocks between a line equal to `find`'s first trimmed line and one equal to its last, of
/// about the same length, whose middle lines are on average at least 65 % similar
/// (levenshtein); proposes the best one (the first on ties).
pub fn block_anchor<'a>(
    text: &Text<'a>,
    find: &str,
    budget: &mut Budget,
) -> ToolResult<Vec<Cow<'a, str>>> {
    let search = search_lines(find);
    let m = search.len();
    if m < MIN_ANCHORED_LINES {
        return Ok(Vec::new());
    }
    let trimmed = text.trimmed();
    let tolerance = (m / BLOCK_ANCHOR_SIZE_TOLERANCE_DIVISOR).max(1);
    budget.start_run();
    let mut best: Option<(f64, usize, usize)> = None;
    for (first, last) in anchored_blocks(trimmed, trim(search[0]), trim(search[m - 1])) {
        let count = last - first + 1;
        if count.abs_diff(m) > tolerance {
            continue;
        }
        let pairs = m.min(count) - 2;
        budget.charge_pairs(pairs)?;
        let mut total = 0.0;
        for k in 1..=pairs {
            total += line_similarity(trimmed[first + k], trim(search[k]), budget)?;
        }
        let similarity = total / pairs as f64;
        if best.is_none_or(|(b, _, _)| similarity > b) {
            best = Some((similarity, first, last));
        }
    }
    Ok(match best {
        Some((similarity, first, last)) if similarity >= BLOCK_ANCHOR_MIN_SIMILARITY => {
            vec![Cow::Borrowed(text.block(first, last))]
        }
        _ => Vec::new(),
    })
}

/// 1 − levenshtein / longer length, in code points; two blank lines are equal.
fn line_similarity(a: &str, b: &str, budget: &mut Budget) -> ToolResult<f64> {
    let longest = char_len(a).max(char_len(b));
    if longest == 0 {
        return Ok(1.0);
    }
    let distance = levenshtein_counted(a, b, budget)?;
    Ok(1.0 - distance as f64 / longest as f64)
}

/// Lines equal to `find` once whitespace runs are collapsed (the whole line), lines containing it
/// (only the matching span), then windows of `find`'s line count equal after collapsing.
pub fn whitespace_normalized<'a>(
    text: &Text<'a>,
    find: &str,
    budget: &mut Budget,
) -> ToolResult<Vec<Cow<'a, str>>> {
    let wanted = normalize_whitespace(find);
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    // Any line that can match holds `wanted`'s first word verbatim: a SIMD search for it picks
    // the lines worth collapsing.
    let first_word = wanted.split(' ').next().unwrap_or(&wanted);
    let mut hit_lines: Vec<usize> = Vec::new();
    let mut line = 0;
    for at in find_all(text.content, first_word) {
        while line + 1 < text.starts().len() && text.starts()[line + 1] <= at {
            line += 1;
        }
        if hit_lines.last() != Some(&line) {
            hit_lines.push(line);
        }
    }
    let m = find.split('\n').count();
    let n = text.lines().len();
    let mut out = Vec::new();
    // Lines that can open a matching window: collapsed, a word-aligned prefix of `wanted`.
    let mut heads: Vec<usize> = Vec::new();
    for &i in &hit_lines {
        let original = text.lines()[i];
        let prefix = collapsed_prefix_len(original, &wanted);
        if prefix == Some(wanted.len()) {
            out.push(Cow::Borrowed(original));
        } else if original.len() > wanted.len() {
            // Collapsing never lengthens a line, so only a longer one can contain `wanted`.
            let norm = normalize_whitespace(original);
            if norm.len() > wanted.len() && norm.contains(wanted.as_str()) {
                out.push(Cow::Borrowed(matching_span(original, &wanted)));
            }
        }
        let opens = prefix
            .is_some_and(|len| len > 0 && (len == wanted.len() || wanted.as_bytes()[len] == b' '));
        if m > 1 && opens {
            heads.push(i);
        }
    }
    if m < 2 || m > n {
        return Ok(out);
    }
    // The windows whose first non-blank line is `head` start among the blank lines above it.
    let trimmed = text.trimmed();
    for head in heads {
        let mut top = head;
        while top > 0 && trimmed[top - 1].is_empty() {
            top -= 1;
        }
        let from = top.max((head + 1).saturating_sub(m));
        for first in from..=head.min(n - m) {
            budget.charge_search(wanted.len())?;
            let parts: Vec<String> = text.lines()[first..first + m]
                .iter()
                .map(|l| normalize_whitespace(l))
                .collect();
            if joined_equals(&parts, &wanted) {
                out.push(text.window(first, m));
            }
        }
    }
    Ok(out)
}

/// The length of `line` collapsed (see [`normalize_whitespace`]) if that is a prefix of
/// `wanted`, compared as it is produced, without building it.
fn collapsed_prefix_len(line: &str, wanted: &str) -> Option<usize> {
    let wanted = wanted.as_bytes();
    let mut at = 0;
    let mut pending_space = false;
    for c in line.chars() {
        if is_js_whitespace(c) {
            pending_space = at > 0;
            continue;
        }
        if pending_space {
            if wanted.get(at) != Some(&b' ') {
                return None;
            }
            at += 1;
            pending_space = false;
        }
        let mut buffer = [0u8; 4];
        let encoded = c.encode_utf8(&mut buffer).as_bytes();
        if wanted.get(at..at + encoded.len()) != Some(encoded) {
            return None;
        }
        at += encoded.len();
    }
    Some(at)
}

/// The span of `line` whose collapsed form is the first occurrence of `wanted` in the collapsed
/// line: the match of `find`'s words joined by `\s+`.
fn matching_span<'a>(line: &'a str, wanted: &str) -> &'a str {
    let (norm, map) = normalize_whitespace_mapped(line);
    match norm.find(wanted) {
        // `wanted` starts and ends with a copied (non-space) character, so both ends map back.
        Some(at) => &line[map[at]..map[at + wanted.len() - 1] + 1],
        None => "",
    }
}

/// True if the non-empty `parts` joined by single spaces are `wanted`.
fn joined_equals(parts: &[String], wanted: &str) -> bool {
    let mut rest = wanted;
    let mut first = true;
    for part in parts.iter().filter(|p| !p.is_empty()) {
        if !first {
            match rest.strip_prefix(' ') {
                Some(r) => rest = r,
                None => return false,
            }
        }
        first = false;
        match rest.strip_prefix(part.as_str()) {
            Some(r) => rest = r,
            None => return false,
        }
    }
    rest.is_empty()
}

/// Windows equal to `find` once each side's common leading indentation is removed.
pub fn indentation_flexible<'a>(
    text: &Text<'a>,
    find: &str,
    budget: &mut Budget,
) -> ToolResult<Vec<Cow<'a, str>>> {
    let find_lines: Vec<&str> = find.split('\n').collect();
    let m = find_lines.len();
    let wanted = remove_indentation(&find_lines);
    // Equal after removing indentation implies equal after trimming: the trimmed lines pick the
    // candidate windows in linear time, then each is checked exactly.
    let pattern: Vec<&str> = find_lines.iter().map(|l| trim(l)).collect();
    let mut out = Vec::new();
    for first in find_runs(text.trimmed(), &pattern) {
        budget.charge_search(find.len())?;
        if remove_indentation(&text.lines()[first..first + m]) == wanted {
            out.push(text.window(first, m));
        }
    }
    Ok(out)
}

/// The lines with the indentation common to the non-blank ones removed; blank lines unchanged.
fn remove_indentation<'a>(lines: &[&'a str]) -> Vec<&'a str> {
    let indent = lines
        .iter()
        .filter(|l| !trim(l).is_empty())
        .map(|l| l.chars().count() - trim_start(l).chars().count())
        .min();
    let Some(indent) = indent else {
        return lines.to_vec();
    };
    lines
        .iter()
        .map(|l| {
            if trim(l).is_empty() {
                l
            } else {
                let cut = l.char_indices().nth(indent).map_or(l.len(), |(at, _)| at);
                &l[cut..]
            }
        })
        .collect()
}

/// `find` with `\n \t \r \' \" \` \\ \$` and backslash-newline unescaped (if the content contains
/// it), then windows of its line count equal to it after unescaping them too.
pub fn escape_normalized<'a>(
    text: &Text<'a>,
    find: &str,
    budget: &mut Budget,
) -> ToolResult<Vec<Cow<'a, str>>> {
    let wanted = unescape(find).into_owned();
    let mut out = Vec::new();
    if super::text::find(text.content, &wanted).is_some() {
        out.push(Cow::Owned(wanted.clone()));
    }
    let wanted_lines: Vec<&str> = wanted.split('\n').collect();
    let m = wanted_lines.len();
    let n = text.lines().len();
    if m > n {
        return Ok(out);
    }
    // Unescaping never joins or splits lines except that a backslash ending a line (not the
    // window's last) eats the newline after it and leaves the newline. So a window unescapes line
    // by line, and only windows whose first line already matches are looked at further.
    let plain = memchr::memchr(b'\\', text.content.as_bytes()).is_none();
    for first in 0..=n - m {
        let opens = if plain {
            text.lines()[first] == wanted_lines[0]
        } else {
            unescape_line(text.lines()[first]).matches(wanted_lines[0], m == 1)
        };
        if !opens {
            continue;
        }
        budget.charge_search(wanted.len())?;
        let rest_matches = (1..m)
            .all(|k| unescape_line(text.lines()[first + k]).matches(wanted_lines[k], k + 1 == m));
        if rest_matches {
            out.push(text.window(first, m));
        }
    }
    Ok(out)
}

struct UnescapedLine<'a> {
    text: Cow<'a, str>,
    /// Ends in a backslash that no escape consumed.
    dangling: bool,
}

impl UnescapedLine<'_> {
    /// True if the line unescapes to `expected` as a window's `last` line (keeping a dangling
    /// backslash) or as an earlier one (where that backslash and the newline became a newline).
    fn matches(&self, expected: &str, last: bool) -> bool {
        if self.dangling && !last {
            self.text.len() == expected.len() + 1 && self.text.starts_with(expected)
        } else {
            self.text == expected
        }
    }
}

fn unescape_line(line: &str) -> UnescapedLine<'_> {
    let (text, dangling) = unescape_scan(line);
    UnescapedLine { text, dangling }
}

/// Replaces `\n \t \r \' \" \` \\ \$` and backslash-newline by the character they stand for,
/// left to right, like the regex `\\(n|t|r|'|"|`|\\|\n|\$)`.
pub fn unescape(s: &str) -> Cow<'_, str> {
    unescape_scan(s).0
}

fn unescape_scan(s: &str) -> (Cow<'_, str>, bool) {
    if !s.contains('\\') {
        return (Cow::Borrowed(s), false);
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    let mut dangling = false;
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let replacement = match chars.peek() {
            Some('n') => Some('\n'),
            Some('t') => Some('\t'),
            Some('r') => Some('\r'),
            Some(&q @ ('\'' | '"' | '`' | '\\' | '$' | '\n')) => Some(q),
            _ => None,
        };
        match replacement {
            Some(r) => {
                chars.next();
                out.push(r);
            }
            None => {
                dangling = chars.peek().is_none();
                out.push('\\');
            }
        }
    }
    (Cow::Owned(out), dangling)
}

/// Only for a `find` with whitespace at either end (and something else): the trimmed `find` (if
/// the content contains it), then windows of `find`'s line count whose trimmed text equals it.
pub fn trimmed_boundary<'a>(
    text: &Text<'a>,
    find: &'a str,
    budget: &mut Budget,
) -> ToolResult<Vec<Cow<'a, str>>> {
    let wanted = trim(find);
    if wanted == find || wanted.is_empty() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    if super::text::find(text.content, wanted).is_some() {
        out.push(Cow::Borrowed(wanted));
    }
    let m = find.split('\n').count();
    let n = text.lines().len();
    if m > n {
        return Ok(out);
    }
    // A window's trimmed text runs from its first non-blank line `top` (less leading whitespace)
    // to its last `bottom` (less trailing whitespace), so `top` trims to `wanted`'s first line,
    // `bottom` is `wanted`'s line count further down, and blank lines pad the window around them.
    let wanted_lines: Vec<&str> = wanted.split('\n').collect();
    let r = wanted_lines.len();
    let trimmed = text.trimmed();
    let head = trim_end(wanted_lines[0]);
    for top in (0..n).filter(|&i| trimmed[i] == head) {
        let bottom = top + r - 1;
        if bottom >= n || trimmed[bottom].is_empty() {
            continue;
        }
        let mut above = top;
        while above > 0 && trimmed[above - 1].is_empty() {
            above -= 1;
        }
        let mut below = bottom + 1;
        while below < n && trimmed[below].is_empty() {
            below += 1;
        }
        // The window covers top..=bottom and no non-blank line beyond: first ≥ above,
        // first + m - 1 ≥ bottom, first ≤ top and first + m ≤ below.
        if below < m {
            continue;
        }
        let from = above.max((bottom + 1).saturating_sub(m));
        let to = (below - m).min(top);
        if from > to {
            continue;
        }
        let matches = r == 1
            || (trim_start(text.lines()[top]) == wanted_lines[0]
                && trim_end(text.lines()[bottom]) == wanted_lines[r - 1]
                && (1..r - 1).all(|k| text.lines()[top + k] == wanted_lines[k]));
        for first in from..=to {
            budget.charge_search(wanted.len())?;
            if matches {
                out.push(text.window(first, m));
            }
        }
    }
    Ok(out)
}

/// Blocks between the anchors of block_anchor with exactly `find`'s line count whose non-blank
/// middle lines are equal after trimming at least half of the time.
pub fn context_aware<'a>(
    text: &Text<'a>,
    find: &str,
    budget: &mut Budget,
) -> ToolResult<Vec<Cow<'a, str>>> {
    let search = search_lines(find);
    let m = search.len();
    if m < MIN_ANCHORED_LINES {
        return Ok(Vec::new());
    }
    let trimmed = text.trimmed();
    budget.start_run();
    let mut out = Vec::new();
    for (first, last) in anchored_blocks(trimmed, trim(search[0]), trim(search[m - 1])) {
        if last - first + 1 != m {
            continue;
        }
        budget.charge_pairs(m - 2)?;
        let mut compared = 0usize;
        let mut equal = 0usize;
        for k in 1..m - 1 {
            let (a, b) = (trimmed[first + k], trim(search[k]));
            if !a.is_empty() || !b.is_empty() {
                compared += 1;
                equal += usize::from(a == b);
            }
        }
        if compared == 0 || 2 * equal >= compared {
            out.push(Cow::Borrowed(text.block(first, last)));
        }
    }
    Ok(out)
}

/// `find` once per exact non-overlapping occurrence. `find` is not empty.
pub fn multi_occurrence<'a>(text: &Text<'a>, find: &'a str) -> Vec<Cow<'a, str>> {
    vec![Cow::Borrowed(find); find_all(text.content, find).len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(strategy: &str, content: &str, find: &str) -> Vec<String> {
        let text = Text::new(content, find);
        let mut budget = Budget::new(text.content.len());
        propose(Strategy::parse(strategy).unwrap(), &text, find, &mut budget)
            .unwrap()
            .into_iter()
            .map(Cow::into_owned)
            .collect()
    }

    #[test]
    fn line_trimmed_keeps_the_files_indentation() {
        let content = "    if x:\n        y()\n";
        assert_eq!(
            run("line_trimmed", content, "if x:\n    y()"),
            ["    if x:\n        y()"]
        );
    }

    #[test]
    fn block_anchor_needs_three_lines_after_dropping_the_trailing_one() {
        let content = "a\nhello world\nc\n";
        assert!(run("block_anchor", content, "a\nc\n").is_empty());
        assert_eq!(
            run("block_anchor", content, "a\nhello wurld\nc\n"),
            ["a\nhello world\nc"]
        );
        // One letter of a one-letter middle line is not 65 % similar.
        assert!(run("block_anchor", "a\nb\nc", "a\nB\nc").is_empty());
    }

    #[test]
    fn whitespace_normalized_proposes_only_the_matching_span() {
        let content = "let  x =   1; // note";
        assert_eq!(
            run("whitespace_normalized", content, "x = 1;"),
            ["x =   1;"]
        );
    }

    #[test]
    fn escape_normalized_unescapes_find_and_windows() {
        assert_eq!(
            run("escape_normalized", "say \"hi\"\n", "say \\\"hi\\\""),
            ["say \"hi\"", "say \"hi\""]
        );
        // A backslash ending a line joins nothing: it stands for the newline after it.
        assert_eq!(run("escape_normalized", "a\\\nb", "a\nb"), ["a\\\nb"]);
    }

    #[test]
    fn trimmed_boundary_skips_all_whitespace_finds() {
        assert!(run("trimmed_boundary", "a\n   \nb", "  \t").is_empty());
        assert_eq!(
            run("trimmed_boundary", "x\n  foo  \n\ny", "foo\n"),
            ["foo", "  foo  \n"]
        );
    }

    #[test]
    fn unknown_strategy_is_invalid_argument() {
        assert!(Strategy::parse("fuzzy").is_err());
    }
}
