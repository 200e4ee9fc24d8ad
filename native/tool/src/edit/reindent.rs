//! Re-indenting `new` after a tolerant match (issue 22). Twin: `ironcode/twin/edit_reindent.py`.
//!
//! The commonest mistake a model makes with an edit tool is an `old_string` without the
//! indentation the code has in the file (or with more). The tolerant strategies still find the
//! right lines, but inserting `new` as written then breaks the file's indentation — a syntax
//! error in Python at best, changed meaning at worst — and nothing tells the model. opencode
//! does exactly that (its golden test pins it); aider shifts the replacement by the offset it
//! matched with. The rule here:
//!
//! - It applies only when a tolerant strategy (never the exact one) matched whole lines: every
//!   replaced copy starts at a line start and ends at a line end.
//! - The matched lines and `old`'s lines are compared with trailing whitespace and blank lines
//!   left out. If every matched line is P + its old line, for one whitespace string P, every
//!   non-blank line of `new` gets P in front; if every old line is P + its matched line, P is
//!   taken off the front of every non-blank line of `new` that starts with it. Blank lines of
//!   `new` stay as they are; in every other case (offsets that differ line by line, other
//!   differences) `new` goes in exactly as written.
//! - Every copy of a `replace_all` gets the same text: the copies are the same matched text.

use std::borrow::Cow;

use super::text::{is_js_whitespace, trim, trim_end};

/// Which way `new` is shifted, by which whitespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shift<'a> {
    /// The file is indented by this much more than `old`: `new` gets it in front.
    Indent(&'a str),
    /// `old` is indented by this much more than the file: `new` loses it.
    Dedent(&'a str),
}

/// `new` re-indented for a tolerant match of `old` as `proposal` at byte offsets `starts` of
/// `content` (see the module docs); `new` itself when the rule does not apply.
pub fn reindent<'a>(
    content: &str,
    starts: &[usize],
    old: &str,
    proposal: &str,
    new: &'a str,
) -> Cow<'a, str> {
    if !starts
        .iter()
        .all(|&start| on_whole_lines(content, start, proposal.len()))
    {
        return Cow::Borrowed(new);
    }
    match shift(old, proposal) {
        Some(shift) => Cow::Owned(shifted(new, shift)),
        None => Cow::Borrowed(new),
    }
}

/// True if `content[start..start + len]` starts at a line start and ends at a line end (the end
/// of the content, before `\n` or `\r\n`, or just after a `\n` it holds).
pub fn on_whole_lines(content: &str, start: usize, len: usize) -> bool {
    let bytes = content.as_bytes();
    let end = start + len;
    let starts_line = start == 0 || bytes[start - 1] == b'\n';
    let rest = &bytes[end..];
    let ends_line = (len > 0 && bytes[end - 1] == b'\n')
        || rest.is_empty()
        || rest.starts_with(b"\n")
        || rest.starts_with(b"\r\n");
    starts_line && ends_line
}

/// The one whitespace string that turns every non-blank line of `old` into the matched line, or
/// the reverse; `None` if there is none (or it is empty: nothing to shift).
pub fn shift<'a>(old: &'a str, matched: &'a str) -> Option<Shift<'a>> {
    let old_lines = non_blank_lines(old);
    let matched_lines = non_blank_lines(matched);
    if old_lines.len() != matched_lines.len() || old_lines.is_empty() {
        return None;
    }
    let (o, m) = (old_lines[0], matched_lines[0]);
    if m.len() > o.len() {
        let prefix = common_prefix(&matched_lines, &old_lines)?;
        Some(Shift::Indent(prefix))
    } else if o.len() > m.len() {
        let prefix = common_prefix(&old_lines, &matched_lines)?;
        Some(Shift::Dedent(prefix))
    } else {
        None
    }
}

/// The whitespace P with `longer[i] == P + shorter[i]` for every i, if there is one.
fn common_prefix<'a>(longer: &[&'a str], shorter: &[&str]) -> Option<&'a str> {
    let first = longer[0];
    let cut = first.len().checked_sub(shorter[0].len())?;
    let prefix = first.get(..cut)?;
    if prefix.is_empty() || !prefix.chars().all(is_js_whitespace) {
        return None;
    }
    let fits = longer
        .iter()
        .zip(shorter)
        .all(|(l, s)| l.strip_prefix(prefix) == Some(*s));
    fits.then_some(prefix)
}

/// The lines of `s` (split on `\n`) that hold more than whitespace, without trailing whitespace.
fn non_blank_lines(s: &str) -> Vec<&str> {
    s.split('\n')
        .filter(|line| !trim(line).is_empty())
        .map(trim_end)
        .collect()
}

/// `new` with `shift` applied to each of its non-blank lines.
fn shifted(new: &str, shift: Shift<'_>) -> String {
    let lines: Vec<Cow<'_, str>> = new
        .split('\n')
        .map(|line| {
            if trim(line).is_empty() {
                return Cow::Borrowed(line);
            }
            match shift {
                Shift::Indent(prefix) => Cow::Owned(format!("{prefix}{line}")),
                Shift::Dedent(prefix) => Cow::Borrowed(line.strip_prefix(prefix).unwrap_or(line)),
            }
        })
        .collect();
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn under_indented_old_indents_new() {
        assert_eq!(
            shift("if x:\n    return 1", "    if x:\n        return 1"),
            Some(Shift::Indent("    "))
        );
        assert_eq!(
            shifted("if y:\n\n    return 2\n", Shift::Indent("    ")),
            "    if y:\n\n        return 2\n"
        );
    }

    #[test]
    fn over_indented_old_dedents_new_where_it_can() {
        assert_eq!(
            shift("\t\tif x:\n\t\t\tgo()", "\tif x:\n\t\tgo()"),
            Some(Shift::Dedent("\t"))
        );
        assert_eq!(shifted("\ta\nb\n\t", Shift::Dedent("\t")), "a\nb\n\t");
    }

    #[test]
    fn offsets_that_differ_line_by_line_shift_nothing() {
        assert_eq!(shift("a:\n  b", "  a:\n      b"), None);
        assert_eq!(shift("a\nb", "  a\n  b\n  c"), None);
        assert_eq!(shift("a", "xa"), None);
        assert_eq!(shift("  a", "  a  "), None);
    }

    #[test]
    fn trailing_whitespace_and_blank_lines_are_left_out_of_the_comparison() {
        assert_eq!(
            shift("a \n\n   \nb\r", "  a\r\n  b  "),
            Some(Shift::Indent("  "))
        );
    }

    #[test]
    fn whole_lines_end_at_a_line_break_or_the_end() {
        let content = "x\n  a\r\nb";
        assert!(on_whole_lines(content, 2, 3));
        assert!(on_whole_lines(content, 2, 5));
        assert!(on_whole_lines(content, 7, 1));
        assert!(!on_whole_lines(content, 4, 1));
        assert!(!on_whole_lines(content, 2, 2));
    }
}
