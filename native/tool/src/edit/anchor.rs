//! line_trimmed's fast path: find its windows without splitting the content into lines.
//!
//! A SIMD search for one rare-looking word of the pattern finds the few lines worth checking;
//! the answer is the same as the line scan's (`strategies::line_trimmed` falls back to that
//! scan, which is linear, whenever the word is too common). Native only: the Python twin always
//! scans, with the same result.

use std::borrow::Cow;

use super::text::trim;

/// line_trimmed's anchored search checks about one line per this many bytes of content before
/// it hands over to the full line scan.
pub const ANCHOR_BYTES_PER_CHECKED_LINE: usize = 16;
/// A word with a digit is preferred as line_trimmed's anchor from this length on.
pub const MIN_NUMBERED_ANCHOR: usize = 4;

/// line_trimmed without splitting the content: a SIMD search for a rare-looking word of one
/// pattern line (see [`anchor_of`]); each line holding it that trims to that pattern line is
/// checked with its neighbours. Gives up (`None`, and the caller scans every line instead — same
/// answer, linear time) when the word is so common that checking its lines would cost more than
/// about one line per [`ANCHOR_BYTES_PER_CHECKED_LINE`] bytes of content.
pub fn anchored_windows<'a>(content: &'a str, pattern: &[&str]) -> Option<Vec<Cow<'a, str>>> {
    let (k, anchor) = anchor_of(pattern)?;
    let bytes = content.as_bytes();
    let allowed = content.len() / ANCHOR_BYTES_PER_CHECKED_LINE + pattern.len();
    let mut checked = 0usize;
    let mut previous_line = usize::MAX;
    let mut out = Vec::new();
    'hits: for at in memchr::memmem::find_iter(bytes, anchor.as_bytes()) {
        let line_start = memchr::memrchr(b'\n', &bytes[..at]).map_or(0, |p| p + 1);
        if line_start == previous_line {
            continue;
        }
        previous_line = line_start;
        let line_end = memchr::memchr(b'\n', &bytes[at..]).map_or(bytes.len(), |p| at + p);
        if trim(&content[line_start..line_end]) != pattern[k] {
            continue;
        }
        checked += pattern.len();
        if checked > allowed {
            return None;
        }
        let mut first = line_start;
        for _ in 0..k {
            if first == 0 {
                continue 'hits;
            }
            first = memchr::memrchr(b'\n', &bytes[..first - 1]).map_or(0, |p| p + 1);
        }
        let mut start = first;
        for (j, wanted) in pattern.iter().enumerate() {
            let end = memchr::memchr(b'\n', &bytes[start..]).map_or(bytes.len(), |p| start + p);
            if trim(&content[start..end]) != *wanted {
                continue 'hits;
            }
            if j + 1 == pattern.len() {
                out.push(Cow::Borrowed(&content[first..end]));
            } else if end == bytes.len() {
                continue 'hits;
            } else {
                start = end + 1;
            }
        }
    }
    Some(out)
}

/// The text an anchored search looks for, and the pattern line holding it: the longest word
/// (ASCII letters, digits, `_`) of any line — one of at least [`MIN_NUMBERED_ANCHOR`] bytes with
/// a digit first (generated names and numbers are rare, so few false hits) — else the longest
/// line. `None` if every line is blank.
fn anchor_of<'p>(pattern: &[&'p str]) -> Option<(usize, &'p str)> {
    let is_word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut best: Option<(bool, usize, usize, &'p str)> = None;
    for (k, line) in pattern.iter().enumerate() {
        let bytes = line.as_bytes();
        let mut start = 0;
        while start < bytes.len() {
            if !is_word(bytes[start]) {
                start += 1;
                continue;
            }
            let end = bytes[start..]
                .iter()
                .position(|&b| !is_word(b))
                .map_or(bytes.len(), |p| start + p);
            let word = &line[start..end];
            let numbered =
                word.len() >= MIN_NUMBERED_ANCHOR && word.bytes().any(|b| b.is_ascii_digit());
            let key = (numbered, word.len());
            if best.is_none_or(|(d, len, _, _)| key > (d, len)) {
                best = Some((key.0, key.1, k, word));
            }
            start = end;
        }
    }
    match best {
        Some((_, _, k, word)) => Some((k, word)),
        None => pattern
            .iter()
            .enumerate()
            .filter(|(_, line)| !line.is_empty())
            .max_by_key(|(i, line)| (line.len(), std::cmp::Reverse(*i)))
            .map(|(k, line)| (k, *line)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::edit::text::{Text, find_runs, search_lines};

    #[test]
    fn line_trimmed_anchor_search_agrees_with_the_line_scan() {
        let content =
            "a\n  x\n\ty\nx\ny\n  z\nx\ny\nrun(job_1234)\n  run(job_1234)\nrun(job_12345)\n";
        for find in [
            "x\ny",
            "x\ny\n",
            "y",
            "  x",
            "\nx",
            "a\nx",
            "z\nx\ny\n",
            "q",
            "run(job_1234)",
            "y\n run(job_1234)\nrun(job_1234)",
            "run(job_1234)\nrun(job_12345)",
        ] {
            let text = Text::new(content);
            let pattern: Vec<&str> = search_lines(find).into_iter().map(trim).collect();
            let scanned: Vec<Cow<'_, str>> = find_runs(text.trimmed(), &pattern)
                .into_iter()
                .map(|first| text.window(first, pattern.len()))
                .collect();
            if let Some(anchored) = anchored_windows(content, &pattern) {
                assert_eq!(anchored, scanned, "{find:?}");
            }
        }
        // A pattern line that repeats everywhere hands over to the line scan.
        let repeated = "x\n".repeat(1000);
        assert!(anchored_windows(&repeated, &["x", "x"]).is_none());
    }
}
