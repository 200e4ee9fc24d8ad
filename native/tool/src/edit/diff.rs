//! Unified diffs of an edit, built from the patch that made it. Twin:
//! `ironcode/twin/edit_diff.py`.
//!
//! The patch says which lines each replacement touched, so the diff is exact and local even
//! for `replace_all` over a large file: each touched region is diffed on its own (common lines
//! at its ends dropped, Myers' algorithm on the rest, bounded by [`MAX_DIFF_WORK`]), and the
//! untouched lines between regions are context. Lines compare and print with `\r\n` read as
//! `\n`; a last line without a newline is marked the usual way.

use super::Patch;

/// Lines of context around each change.
pub const CONTEXT_LINES: usize = 3;
/// Diagonals plus snake steps Myers' algorithm may take in one region; past it the region is
/// shown as all of its old lines removed and all of its new lines added.
pub const MAX_DIFF_WORK: usize = 1_000_000;
/// Printed after a last line that has no newline.
pub const NO_NEWLINE_MARKER: &str = "\\ No newline at end of file";

/// A unified diff and its counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diff {
    pub text: String,
    pub additions: usize,
    pub deletions: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Line<'a> {
    text: &'a str,
    newline: bool,
}

/// A run of changed lines: old `a_start..a_end` became new `b_start..b_end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Change {
    a_start: usize,
    a_end: usize,
    b_start: usize,
    b_end: usize,
}

/// Lines of `text` (each with its own `\n`) and where each starts; when the text is empty or
/// ends in a newline, its end starts one more (empty) line, so an edit there maps past the last.
fn split_lines(text: &str) -> (Vec<Line<'_>>, Vec<usize>) {
    let mut lines = Vec::new();
    let mut starts = Vec::new();
    let mut at = 0;
    for raw in text.split_inclusive('\n') {
        starts.push(at);
        at += raw.len();
        let line = match raw.strip_suffix('\n') {
            Some(body) => Line {
                text: body.strip_suffix('\r').unwrap_or(body),
                newline: true,
            },
            None => Line {
                text: raw,
                newline: false,
            },
        };
        lines.push(line);
    }
    if text.is_empty() || text.ends_with('\n') {
        starts.push(text.len());
    }
    (lines, starts)
}

/// Index of the line holding byte `at`.
fn line_of(starts: &[usize], at: usize) -> usize {
    starts.partition_point(|&s| s <= at).saturating_sub(1)
}

/// The unified diff from `before` to `after`, where `after` is `patch` applied to `before`.
pub fn unified(path: &str, before: &str, after: &str, patch: &Patch) -> Diff {
    let (a, a_starts) = split_lines(before);
    let (b, b_starts) = split_lines(after);
    let mut changes = Vec::new();
    for region in touched_regions(&a_starts, a.len(), &b_starts, b.len(), patch) {
        diff_region(&a, &b, region, &mut changes);
    }
    render(path, path, &a, &b, &changes)
}

/// The unified diff from `before` to `after` given the line ranges that may differ: each
/// region `(old_start, old_end, new_start, new_end)` says old lines `old_start..old_end` became
/// new lines `new_start..new_end`; the lines between regions are the same in both. Regions come
/// in order and are merged where they overlap. The headers name `old_name` and `new_name`
/// (apply_patch: `/dev/null` for a file added or deleted).
pub fn unified_lines(
    old_name: &str,
    new_name: &str,
    before: &str,
    after: &str,
    regions: &[(usize, usize, usize, usize)],
) -> Diff {
    let (a, _) = split_lines(before);
    let (b, _) = split_lines(after);
    let mut merged: Vec<Change> = Vec::new();
    for &(a_start, a_end, b_start, b_end) in regions {
        let region = Change {
            a_start: a_start.min(a.len()),
            a_end: a_end.min(a.len()),
            b_start: b_start.min(b.len()),
            b_end: b_end.min(b.len()),
        };
        match merged.last_mut() {
            Some(last) if region.a_start <= last.a_end => {
                last.a_end = last.a_end.max(region.a_end);
                last.b_end = last.b_end.max(region.b_end);
            }
            _ => merged.push(region),
        }
    }
    let mut changes = Vec::new();
    for region in merged {
        diff_region(&a, &b, region, &mut changes);
    }
    render(old_name, new_name, &a, &b, &changes)
}

/// The line ranges (old, new) each replacement touched, merged where they share lines.
fn touched_regions(
    a_starts: &[usize],
    a_len: usize,
    b_starts: &[usize],
    b_len: usize,
    patch: &Patch,
) -> Vec<Change> {
    let mut regions: Vec<Change> = Vec::new();
    let mut shift: isize = 0;
    for &(start, end) in &patch.spans {
        let new_start = start.saturating_add_signed(shift);
        let new_end = new_start + patch.text.len();
        shift += patch.text.len() as isize - (end - start) as isize;
        let region = Change {
            a_start: line_of(a_starts, start).min(a_len),
            a_end: (line_of(a_starts, end) + 1).min(a_len),
            b_start: line_of(b_starts, new_start).min(b_len),
            b_end: (line_of(b_starts, new_end) + 1).min(b_len),
        };
        match regions.last_mut() {
            Some(last) if region.a_start < last.a_end => {
                last.a_end = last.a_end.max(region.a_end);
                last.b_end = last.b_end.max(region.b_end);
            }
            _ => regions.push(region),
        }
    }
    regions
}

/// Appends the changes inside one touched region.
fn diff_region(a: &[Line<'_>], b: &[Line<'_>], region: Change, changes: &mut Vec<Change>) {
    let (mut a_start, mut b_start) = (region.a_start, region.b_start);
    let (mut a_end, mut b_end) = (region.a_end, region.b_end);
    while a_start < a_end && b_start < b_end && a[a_start] == b[b_start] {
        a_start += 1;
        b_start += 1;
    }
    while a_start < a_end && b_start < b_end && a[a_end - 1] == b[b_end - 1] {
        a_end -= 1;
        b_end -= 1;
    }
    if a_start == a_end && b_start == b_end {
        return;
    }
    if a_start == a_end || b_start == b_end {
        changes.push(Change {
            a_start,
            a_end,
            b_start,
            b_end,
        });
        return;
    }
    match myers(&a[a_start..a_end], &b[b_start..b_end]) {
        Some(found) => changes.extend(found.into_iter().map(|c| Change {
            a_start: a_start + c.a_start,
            a_end: a_start + c.a_end,
            b_start: b_start + c.b_start,
            b_end: b_start + c.b_end,
        })),
        None => changes.push(Change {
            a_start,
            a_end,
            b_start,
            b_end,
        }),
    }
}

/// The changes of a shortest edit script from `a` to `b` (Myers' greedy algorithm), or `None`
/// past [`MAX_DIFF_WORK`]. Both are non-empty.
fn myers(a: &[Line<'_>], b: &[Line<'_>]) -> Option<Vec<Change>> {
    let (n, m) = (a.len() as isize, b.len() as isize);
    let max = n + m;
    let offset = max;
    let mut v = vec![0isize; 2 * max as usize + 2];
    // trace[d] holds v[-d ..= d] as it was before step d.
    let mut trace: Vec<Vec<isize>> = Vec::new();
    let mut work = 0usize;
    let at = |k: isize| (k + offset) as usize;
    'search: for d in 0..=max {
        trace.push(v[at(-d)..=at(d)].to_vec());
        let mut k = -d;
        while k <= d {
            work += 1;
            let mut x = if k == -d || (k != d && v[at(k - 1)] < v[at(k + 1)]) {
                v[at(k + 1)]
            } else {
                v[at(k - 1)] + 1
            };
            let mut y = x - k;
            while x < n && y < m && a[x as usize] == b[y as usize] {
                x += 1;
                y += 1;
                work += 1;
            }
            v[at(k)] = x;
            if x >= n && y >= m {
                break 'search;
            }
            if work > MAX_DIFF_WORK {
                return None;
            }
            k += 2;
        }
    }
    // Walk back from the end, collecting each edit as (from x, from y, to x, to y).
    let mut edits: Vec<(isize, isize, isize, isize)> = Vec::new();
    let (mut x, mut y) = (n, m);
    for d in (1..trace.len() as isize).rev() {
        let snapshot = &trace[d as usize];
        let get = |k: isize| snapshot[(k + d) as usize];
        let k = x - y;
        let prev_k = if k == -d || (k != d && get(k - 1) < get(k + 1)) {
            k + 1
        } else {
            k - 1
        };
        let prev_x = get(prev_k);
        let prev_y = prev_x - prev_k;
        while x > prev_x && y > prev_y {
            x -= 1;
            y -= 1;
        }
        edits.push((prev_x, prev_y, x, y));
        x = prev_x;
        y = prev_y;
    }
    edits.reverse();
    let mut changes: Vec<Change> = Vec::new();
    for (from_x, from_y, to_x, to_y) in edits {
        let (from_x, from_y, to_x, to_y) = (
            from_x as usize,
            from_y as usize,
            to_x as usize,
            to_y as usize,
        );
        match changes.last_mut() {
            Some(last) if last.a_end == from_x && last.b_end == from_y => {
                last.a_end = to_x;
                last.b_end = to_y;
            }
            _ => changes.push(Change {
                a_start: from_x,
                a_end: to_x,
                b_start: from_y,
                b_end: to_y,
            }),
        }
    }
    Some(changes)
}

fn push_line(out: &mut String, prefix: char, line: &Line<'_>) {
    out.push(prefix);
    out.push_str(line.text);
    out.push('\n');
    if !line.newline {
        out.push_str(NO_NEWLINE_MARKER);
        out.push('\n');
    }
}

fn range_header(start: usize, len: usize) -> String {
    let first = if len == 0 { start } else { start + 1 };
    format!("{first},{len}")
}

/// Hunks with [`CONTEXT_LINES`] of context; changes closer than twice that share a hunk.
fn render(
    old_name: &str,
    new_name: &str,
    a: &[Line<'_>],
    b: &[Line<'_>],
    changes: &[Change],
) -> Diff {
    let additions = changes.iter().map(|c| c.b_end - c.b_start).sum();
    let deletions = changes.iter().map(|c| c.a_end - c.a_start).sum();
    if changes.is_empty() {
        return Diff {
            text: String::new(),
            additions,
            deletions,
        };
    }
    let mut out = format!("--- {old_name}\n+++ {new_name}\n");
    let mut first = 0;
    while first < changes.len() {
        let mut last = first;
        while last + 1 < changes.len()
            && changes[last + 1].a_start - changes[last].a_end <= 2 * CONTEXT_LINES
        {
            last += 1;
        }
        let (head, tail) = (changes[first], changes[last]);
        let a_from = head.a_start.saturating_sub(CONTEXT_LINES);
        let b_from = head.b_start - (head.a_start - a_from);
        let a_to = (tail.a_end + CONTEXT_LINES).min(a.len());
        let b_to = tail.b_end + (a_to - tail.a_end);
        out.push_str(&format!(
            "@@ -{} +{} @@\n",
            range_header(a_from, a_to - a_from),
            range_header(b_from, b_to - b_from)
        ));
        let mut at = a_from;
        for change in &changes[first..=last] {
            for line in &a[at..change.a_start] {
                push_line(&mut out, ' ', line);
            }
            for line in &a[change.a_start..change.a_end] {
                push_line(&mut out, '-', line);
            }
            for line in &b[change.b_start..change.b_end] {
                push_line(&mut out, '+', line);
            }
            at = change.a_end;
        }
        for line in &a[at..a_to] {
            push_line(&mut out, ' ', line);
        }
        first = last + 1;
    }
    Diff {
        text: out,
        additions,
        deletions,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diff(before: &str, after: &str, patch: &Patch) -> Diff {
        assert_eq!(patch.apply(before), after);
        unified("f", before, after, patch)
    }

    #[test]
    fn one_changed_line_in_a_block() {
        let before = "a\nb\nc\nd\ne\n";
        let patch = Patch {
            spans: vec![(2, 7)],
            text: "b\nC\nd".into(),
        };
        let d = diff(before, "a\nb\nC\nd\ne\n", &patch);
        assert_eq!(
            d.text,
            "--- f\n+++ f\n@@ -1,5 +1,5 @@\n a\n b\n-c\n+C\n d\n e\n"
        );
        assert_eq!((d.additions, d.deletions), (1, 1));
    }

    #[test]
    fn missing_final_newline_is_marked_and_crlf_reads_as_lf() {
        let before = "x\r\ny";
        let patch = Patch {
            spans: vec![(3, 4)],
            text: "z\r\n".into(),
        };
        let d = diff(before, "x\r\nz\r\n", &patch);
        assert_eq!(
            d.text,
            "--- f\n+++ f\n@@ -1,2 +1,2 @@\n x\n-y\n\\ No newline at end of file\n+z\n"
        );
    }

    #[test]
    fn deleting_up_to_the_end_after_a_final_newline() {
        let before = "a\nb\nc";
        let patch = Patch {
            spans: vec![(2, 5)],
            text: String::new(),
        };
        let d = diff(before, "a\n", &patch);
        assert_eq!(
            d.text,
            "--- f\n+++ f\n@@ -1,3 +1,1 @@\n a\n-b\n-c\n\\ No newline at end of file\n"
        );
    }

    #[test]
    fn creating_a_file_adds_every_line() {
        let patch = Patch {
            spans: vec![(0, 0)],
            text: "a\nb\n".into(),
        };
        let d = unified("f", "", "a\nb\n", &patch);
        assert_eq!(d.text, "--- f\n+++ f\n@@ -0,0 +1,2 @@\n+a\n+b\n");
    }

    #[test]
    fn far_apart_replacements_make_separate_hunks() {
        let before: String = (0..20).map(|i| format!("l{i}\n")).collect();
        let after = before.replace("l1\n", "L1\n").replace("l18\n", "L18\n");
        let first = before.find("l1\n").unwrap();
        let second = before.find("l18\n").unwrap();
        let patch = Patch {
            spans: vec![(first, first + 1), (second, second + 1)],
            text: "L".into(),
        };
        let d = diff(&before, &after, &patch);
        assert_eq!(d.text.matches("@@ -").count(), 2);
        assert_eq!((d.additions, d.deletions), (2, 2));
    }
}
