//! The anchor of a call: one rare-looking word of `find`, found in the content with one SIMD
//! scan and reused. Native only — the answers are the same as without it (the Python twin
//! scans), it only saves passes over a large file:
//!
//! - line_trimmed finds its windows from the lines holding the word, without splitting the
//!   content (it falls back to the linear line scan when the word is too common);
//! - every occurrence of a text containing the word has an occurrence of the word at a fixed
//!   offset inside it, so "where does `old` occur?" and "is this proposal unique?" are answered
//!   from the word's hits instead of by scanning the content again.

use std::borrow::Cow;

use super::text::{find, find_after, find_all, search_lines, trim};

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
pub fn anchored_windows<'a>(
    content: &'a str,
    pattern: &[&str],
    anchor: &Anchor<'_>,
) -> Option<Vec<Cow<'a, str>>> {
    let k = anchor.line;
    if !pattern.get(k)?.contains(anchor.word) {
        return None;
    }
    let bytes = content.as_bytes();
    let allowed = content.len() / ANCHOR_BYTES_PER_CHECKED_LINE + pattern.len();
    let mut checked = 0usize;
    let mut previous_line = usize::MAX;
    let mut out = Vec::new();
    'hits: for &at in &anchor.hits {
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

/// `find`'s anchor and where it occurs in the content.
pub struct Anchor<'a> {
    /// The word (see [`anchor_of`]).
    pub word: &'a str,
    /// Which of `find`'s trimmed lines ([`search_lines`]) holds it.
    pub line: usize,
    /// Byte offsets of its non-overlapping occurrences.
    pub hits: Vec<usize>,
    /// No proper prefix of the word is also its suffix, so its occurrences cannot overlap and
    /// `hits` holds every one of them.
    pub complete: bool,
}

impl<'a> Anchor<'a> {
    /// `find`'s anchor in `content`; `None` when all of `find`'s lines are blank.
    pub fn new(content: &str, find: &'a str) -> Option<Self> {
        let pattern: Vec<&'a str> = search_lines(find).into_iter().map(trim).collect();
        let (line, word) = anchor_of(&pattern)?;
        Some(Anchor {
            word,
            line,
            hits: find_all(content, word),
            complete: !has_border(word.as_bytes()),
        })
    }

    /// Every start of `needle` in `content` (overlapping ones too), read off the hits: `None`
    /// unless `needle` holds the word, the hits are complete and checking them costs less than
    /// one scan of the content.
    fn starts_of(&self, content: &str, needle: &str) -> Option<Vec<usize>> {
        if !self.complete || self.hits.len().saturating_mul(needle.len()) > content.len() {
            return None;
        }
        let offset = find(needle, self.word)?;
        let bytes = content.as_bytes();
        Some(
            self.hits
                .iter()
                .filter_map(|&hit| {
                    let start = hit.checked_sub(offset)?;
                    bytes[start..]
                        .starts_with(needle.as_bytes())
                        .then_some(start)
                })
                .collect(),
        )
    }
}

/// True if some proper prefix of `s` is also a suffix (so two occurrences can overlap).
fn has_border(s: &[u8]) -> bool {
    let mut failure = vec![0usize; s.len()];
    let mut k = 0;
    for i in 1..s.len() {
        while k > 0 && s[i] != s[k] {
            k = failure[k - 1];
        }
        if s[i] == s[k] {
            k += 1;
        }
        failure[i] = k;
    }
    failure.last().is_some_and(|&k| k > 0)
}

/// Where one text occurs in the content: from the anchor's hits when possible, else by scans.
pub struct Occurrences<'t> {
    content: &'t str,
    needle: &'t str,
    /// Every start, overlapping ones too, in order (when read off the anchor).
    starts: Option<Vec<usize>>,
}

impl<'t> Occurrences<'t> {
    /// Where `needle` occurs in `content`, using `anchor` if it can.
    pub fn new(content: &'t str, needle: &'t str, anchor: Option<&Anchor<'_>>) -> Self {
        Occurrences {
            content,
            needle,
            starts: anchor.and_then(|a| a.starts_of(content, needle)),
        }
    }

    /// The content searched.
    pub fn content(&self) -> &'t str {
        self.content
    }

    /// The first occurrence.
    pub fn first(&self) -> Option<usize> {
        match &self.starts {
            Some(starts) => starts.first().copied(),
            None => find(self.content, self.needle),
        }
    }

    /// The first occurrence starting after byte `at` (it may overlap the one at `at`).
    pub fn after(&self, at: usize) -> Option<usize> {
        match &self.starts {
            Some(starts) => starts.get(starts.partition_point(|&s| s <= at)).copied(),
            None => find_after(self.content, self.needle, at),
        }
    }

    /// The non-overlapping occurrences, left to right (what replacing every one replaces).
    pub fn non_overlapping(&self) -> Vec<usize> {
        match &self.starts {
            Some(starts) => {
                let mut kept: Vec<usize> = Vec::new();
                for &start in starts {
                    if kept.last().is_none_or(|&k| start >= k + self.needle.len()) {
                        kept.push(start);
                    }
                }
                kept
            }
            None => find_all(self.content, self.needle),
        }
    }
}

/// The word an anchored search looks for, and the pattern line holding it: the longest word
/// (ASCII letters, digits, `_`) of any line — one of at least [`MIN_NUMBERED_ANCHOR`] bytes with
/// a digit first (generated names and numbers are rare, so few false hits) — else the longest
/// line. `None` if every line is blank.
pub fn anchor_of<'p>(pattern: &[&'p str]) -> Option<(usize, &'p str)> {
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
    use crate::edit::text::{Text, find_runs};

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
            let text = Text::new(content, find);
            let pattern: Vec<&str> = search_lines(find).into_iter().map(trim).collect();
            let scanned: Vec<Cow<'_, str>> = find_runs(text.trimmed(), &pattern)
                .into_iter()
                .map(|first| text.window(first, pattern.len()))
                .collect();
            let anchor = Anchor::new(content, find).unwrap();
            if let Some(anchored) = anchored_windows(content, &pattern, &anchor) {
                assert_eq!(anchored, scanned, "{find:?}");
            }
        }
        // A pattern line that repeats everywhere hands over to the line scan.
        let repeated = "x\n".repeat(1000);
        let anchor = Anchor::new(&repeated, "x\nx").unwrap();
        assert!(anchored_windows(&repeated, &["x", "x"], &anchor).is_none());
    }

    #[test]
    fn occurrences_read_off_the_anchor_match_a_scan() {
        let content = "run(job_1234)\n  run(job_1234) x\nrun(job_1234)run(job_1234)\n";
        let anchor = Anchor::new(content, "run(job_1234)").unwrap();
        assert!(anchor.complete);
        for needle in [
            "run(job_1234)",
            "run(job_1234)\n",
            " run(job_1234) x",
            "job_1234)r",
            "q",
        ] {
            let found = Occurrences::new(content, needle, Some(&anchor));
            if needle == "run(job_1234)" {
                assert!(found.starts.is_some(), "the hits answer for {needle:?}");
            }
            let first = find(content, needle);
            assert_eq!(found.first(), first, "{needle:?}");
            if let Some(first) = first {
                assert_eq!(found.after(first), find_after(content, needle, first));
            }
            assert_eq!(found.non_overlapping(), find_all(content, needle));
        }
        // A word that overlaps itself never answers for the scan.
        assert!(!Anchor::new("aaa", "aa").unwrap().complete);
        assert!(has_border(b"abcab") && !has_border(b"abcd"));
    }
}
