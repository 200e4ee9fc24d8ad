//! The `*** Begin Patch` grammar, read leniently as Codex reads it: the text into file sections
//! and chunks, or `invalid_patch` naming the line that is wrong and what was expected. Also the
//! heredoc a model (or a shell command line) wraps a patch in. Twin: `ironcode/twin/patch_parse.py`.

use std::borrow::Cow;

use crate::edit::text::{char_len, trim, trim_end};
use crate::error::{ErrorKind, ToolError, ToolResult};

/// The first line of a patch (after trimming).
pub const BEGIN_MARKER: &str = "*** Begin Patch";
/// The last line of a patch (after trimming).
pub const END_MARKER: &str = "*** End Patch";
/// A section creating (or replacing) a file: `+` lines follow.
pub const ADD_HEADER: &str = "*** Add File:";
/// A section removing a file.
pub const DELETE_HEADER: &str = "*** Delete File:";
/// A section changing a file: chunks follow.
pub const UPDATE_HEADER: &str = "*** Update File:";
/// Right after an Update header: the file's new path.
pub const MOVE_HEADER: &str = "*** Move to:";
/// At column 0, ends a chunk and anchors it to the end of the file.
pub const EOF_MARKER: &str = "*** End of File";
/// What a chunk starts with: `@@`, or `@@ TEXT` naming a line the chunk comes after.
pub const CHUNK_MARKER: &str = "@@";
/// A line quoted in an error message is cut to this many characters.
pub const MAX_QUOTED_CHARS: usize = 120;

/// One file section of a patch, in patch order. `line` is the 1-based line of its header in
/// the patch as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Section<'a> {
    Add {
        path: &'a str,
        line: usize,
        /// The `+` lines, each ending in `\n`.
        content: String,
    },
    Delete {
        path: &'a str,
        line: usize,
    },
    Update {
        path: &'a str,
        line: usize,
        move_to: Option<&'a str>,
        chunks: Vec<Chunk<'a>>,
    },
}

/// A chunk of an Update: where it goes (`@@ TEXT`), the lines it expects (context and `-`
/// lines, in order) and the lines that replace them (context and `+` lines, in order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk<'a> {
    /// 1-based patch line of the chunk's first line (its `@@` if it has one).
    pub line: usize,
    /// The TEXT of `@@ TEXT`.
    pub context: Option<&'a str>,
    pub old: Vec<&'a str>,
    pub new: Vec<NewLine<'a>>,
    /// Ended by `*** End of File`: the old lines must be the file's last lines.
    pub eof: bool,
}

/// A line of a chunk's result: its text and, for a context line, its index in the old lines
/// (the file line it matched keeps its own line ending).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewLine<'a> {
    pub text: &'a str,
    pub old: Option<usize>,
}

/// A heredoc around a text: `[command] <<[-]['"]TAG['"]` on the first line, `TAG` on the last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Heredoc<'a> {
    /// The word before `<<`, if any (`apply_patch`, `cat`).
    pub command: Option<&'a str>,
    pub tag: &'a str,
    /// The lines between the first and the last, without the newline before the last.
    pub body: &'a str,
}

/// The patch as UTF-8 text; anything else is `invalid_patch`, naming the line of the first
/// bad byte.
pub fn decode_patch(bytes: &[u8]) -> ToolResult<&str> {
    std::str::from_utf8(bytes).map_err(|e| {
        let at = e.valid_up_to();
        let line = memchr::memchr_iter(b'\n', &bytes[..at]).count() + 1;
        invalid(format!(
            "The patch is not valid UTF-8 (byte {at}, line {line}). Send the patch as UTF-8 text."
        ))
    })
}

/// `patch` with every `\r\n` read as `\n`.
pub fn normalize_newlines(patch: &str) -> Cow<'_, str> {
    if patch.contains("\r\n") {
        Cow::Owned(patch.replace("\r\n", "\n"))
    } else {
        Cow::Borrowed(patch)
    }
}

/// The text inside a heredoc, if `text` (leading and trailing blank lines aside) is one: a first
/// line `<<'TAG'`, `<<"TAG"` or `<<TAG` (or `<<-`, spaces allowed around `<<`), optionally after
/// one command word (`apply_patch <<'EOF'`, `cat<<'PATCH'`), and a last line `TAG`. TAG is
/// letters, digits and `_`. A shell runs such a line the same way; the toolbox uses this to read
/// `apply_patch <<'EOF' ... EOF` command lines.
pub fn unwrap_heredoc(text: &str) -> Option<Heredoc<'_>> {
    let lines: Vec<&str> = text.split('\n').collect();
    let (first, last) = content_bounds(&lines)?;
    if last <= first {
        return None;
    }
    let (command, tag) = heredoc_opener(trim(lines[first]))?;
    if trim(lines[last]) != tag {
        return None;
    }
    let start = line_offset(&lines, first + 1);
    let end = line_offset(&lines, last) - 1;
    let body = if start > end { "" } else { &text[start..end] };
    Some(Heredoc { command, tag, body })
}

/// Byte offset of line `index` in the text `lines` were split from.
fn line_offset(lines: &[&str], index: usize) -> usize {
    lines[..index].iter().map(|l| l.len() + 1).sum()
}

/// (command word, TAG) of a heredoc's first line, already trimmed.
fn heredoc_opener(line: &str) -> Option<(Option<&str>, &str)> {
    let at = line.find("<<")?;
    let before = trim_end(&line[..at]);
    let command = if before.is_empty() {
        None
    } else if before.chars().any(crate::edit::text::is_js_whitespace) || before.contains('<') {
        return None;
    } else {
        Some(before)
    };
    let mut rest = &line[at + 2..];
    rest = rest.strip_prefix('-').unwrap_or(rest);
    rest = crate::edit::text::trim_start(rest);
    let tag = match rest.as_bytes().first() {
        Some(&quote @ (b'\'' | b'"')) => rest[1..].strip_suffix(quote as char)?,
        _ => rest,
    };
    let word = !tag.is_empty() && tag.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    word.then_some((command, tag))
}

/// Indices of the first and last lines that are not blank.
fn content_bounds(lines: &[&str]) -> Option<(usize, usize)> {
    let first = lines.iter().position(|l| !trim(l).is_empty())?;
    let last = lines.iter().rposition(|l| !trim(l).is_empty())?;
    Some((first, last))
}

/// The file sections of `patch` (its `\r\n` already read as `\n`: [`normalize_newlines`]).
///
/// Errors: `invalid_patch`, saying which line is wrong and what was expected.
pub fn parse_patch(patch: &str) -> ToolResult<Vec<Section<'_>>> {
    let lines: Vec<&str> = patch.split('\n').collect();
    let Some((mut first, mut last)) = content_bounds(&lines) else {
        return Err(invalid(format!("The patch is empty. {}", expected_shape())));
    };
    let mut heredoc_hint = "";
    if let Some((_, tag)) = heredoc_opener(trim(lines[first])) {
        if last > first && trim(lines[last]) == tag {
            match content_bounds(&lines[first + 1..last]) {
                Some((a, b)) => (first, last) = (first + 1 + a, first + 1 + b),
                None => {
                    return Err(invalid(format!(
                        "The heredoc on line {} holds no patch. {}",
                        first + 1,
                        expected_shape()
                    )));
                }
            }
        } else {
            heredoc_hint = " (a heredoc opened with <<TAG must end with a line TAG)";
        }
    }
    if trim(lines[first]) != BEGIN_MARKER {
        return Err(at_line(
            first,
            lines[first],
            &format!("the first line of a patch must be '{BEGIN_MARKER}'{heredoc_hint}"),
        ));
    }
    if last == first || trim(lines[last]) != END_MARKER {
        return Err(at_line(
            last,
            lines[last],
            &format!("the last line of a patch must be '{END_MARKER}'"),
        ));
    }
    let mut parser = Parser {
        lines: &lines,
        at: first + 1,
        end: last,
    };
    let sections = parser.sections()?;
    if sections.is_empty() {
        return Err(invalid(format!(
            "The patch has no file section. {}",
            expected_shape()
        )));
    }
    Ok(sections)
}

/// What a line that trims to a `***` marker is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Marker<'a> {
    Add(&'a str),
    Delete(&'a str),
    Update(&'a str),
    Move(&'a str),
    /// Any other line starting with `***`.
    Other,
}

/// The marker a trimmed line is, if it starts with `***`.
fn marker(trimmed: &str) -> Option<Marker<'_>> {
    if !trimmed.starts_with("***") {
        return None;
    }
    let path = |header: &str| trimmed.strip_prefix(header).map(trim);
    Some(if let Some(p) = path(ADD_HEADER) {
        Marker::Add(p)
    } else if let Some(p) = path(DELETE_HEADER) {
        Marker::Delete(p)
    } else if let Some(p) = path(UPDATE_HEADER) {
        Marker::Update(p)
    } else if let Some(p) = path(MOVE_HEADER) {
        Marker::Move(p)
    } else {
        Marker::Other
    })
}

/// True for a line that starts a new file section.
fn is_file_header(line: &str) -> bool {
    matches!(
        marker(trim(line)),
        Some(Marker::Add(_) | Marker::Delete(_) | Marker::Update(_))
    )
}

/// A walk over the lines between the patch markers.
struct Parser<'p, 'a> {
    lines: &'p [&'a str],
    /// Index of the next line to read.
    at: usize,
    /// Index of the `*** End Patch` line.
    end: usize,
}

impl<'a> Parser<'_, 'a> {
    fn sections(&mut self) -> ToolResult<Vec<Section<'a>>> {
        let mut sections = Vec::new();
        while self.at < self.end {
            let index = self.at;
            let line = self.lines[index];
            let trimmed = trim(line);
            if trimmed.is_empty() {
                self.at += 1;
                continue;
            }
            self.at += 1;
            let section = match marker(trimmed) {
                Some(Marker::Add(path)) => Section::Add {
                    path: section_path(index, line, path)?,
                    line: index + 1,
                    content: self.add_lines(),
                },
                Some(Marker::Delete(path)) => Section::Delete {
                    path: section_path(index, line, path)?,
                    line: index + 1,
                },
                Some(Marker::Update(path)) => self.update(index, line, path)?,
                Some(Marker::Move(_)) => {
                    return Err(at_line(
                        index,
                        line,
                        &format!(
                            "'{MOVE_HEADER} PATH' must come right after its '{UPDATE_HEADER} PATH' line"
                        ),
                    ));
                }
                Some(Marker::Other) => return Err(unknown_marker(index, line)),
                None => return Err(stray_line(index, line)),
            };
            sections.push(section);
        }
        Ok(sections)
    }

    /// The `+` lines of an Add section, each ending in `\n`.
    fn add_lines(&mut self) -> String {
        let mut content = String::new();
        while self.at < self.end {
            let Some(rest) = self.lines[self.at].strip_prefix('+') else {
                break;
            };
            content.push_str(rest);
            content.push('\n');
            self.at += 1;
        }
        content
    }

    fn update(&mut self, index: usize, line: &'a str, path: &'a str) -> ToolResult<Section<'a>> {
        let path = section_path(index, line, path)?;
        let mut move_to = None;
        if self.at < self.end {
            let next = self.lines[self.at];
            if let Some(Marker::Move(target)) = marker(trim(next)) {
                move_to = Some(section_path(self.at, next, target)?);
                self.at += 1;
            }
        }
        let chunks = self.chunks()?;
        if chunks.is_empty() {
            let what = if move_to.is_some() {
                "is a move with no chunk: a move needs at least one chunk"
            } else {
                "has no chunk"
            };
            return Err(at_line(
                index,
                line,
                &format!(
                    "this Update {what}; follow it with '@@' and the lines to change (' ' for \
                     context, '-' for removed, '+' for added)"
                ),
            ));
        }
        Ok(Section::Update {
            path,
            line: index + 1,
            move_to,
            chunks,
        })
    }

    /// The chunks of an Update section, up to the next file header (or any `***` line).
    fn chunks(&mut self) -> ToolResult<Vec<Chunk<'a>>> {
        let mut chunks: Vec<Chunk<'a>> = Vec::new();
        while self.at < self.end {
            let index = self.at;
            let line = self.lines[index];
            let trimmed = trim(line);
            if trimmed.is_empty() {
                self.at += 1;
                continue;
            }
            if trimmed.starts_with("***") {
                break;
            }
            let context = if let Some(rest) = line.strip_prefix(CHUNK_MARKER) {
                self.at += 1;
                if trim(rest).is_empty() {
                    None
                } else if let Some(text) = rest.strip_prefix(' ') {
                    Some(text)
                } else {
                    return Err(at_line(
                        index,
                        line,
                        "a chunk starts with '@@' or '@@ TEXT' (a space between '@@' and TEXT)",
                    ));
                }
            } else if chunks.is_empty() {
                None
            } else {
                return Err(at_line(
                    index,
                    line,
                    &format!(
                        "the chunk before ended with '{EOF_MARKER}', so this line needs a new \
                         chunk: every chunk after a file's first starts with '@@' or '@@ TEXT'"
                    ),
                ));
            };
            // The body stops at the next '@@', a '***' line, `*** End of File` or the end.
            chunks.push(self.chunk_body(index, context)?);
        }
        Ok(chunks)
    }

    /// The lines of one chunk after its `@@` line (if any).
    fn chunk_body(&mut self, first: usize, context: Option<&'a str>) -> ToolResult<Chunk<'a>> {
        let mut chunk = Chunk {
            line: first + 1,
            context,
            old: Vec::new(),
            new: Vec::new(),
            eof: false,
        };
        while self.at < self.end {
            let index = self.at;
            let line = self.lines[index];
            if line.starts_with(CHUNK_MARKER) {
                break;
            }
            if trim_end(line) == EOF_MARKER {
                self.at += 1;
                chunk.eof = true;
                break;
            }
            let trimmed = trim(line);
            if is_file_header(line) || trimmed == END_MARKER {
                break;
            }
            match line.as_bytes().first() {
                Some(b' ') => chunk.push_context(&line[1..]),
                Some(b'-') => chunk.old.push(&line[1..]),
                Some(b'+') => chunk.new.push(NewLine {
                    text: &line[1..],
                    old: None,
                }),
                // An empty line, or one of only whitespace, is an empty context line.
                _ if trimmed.is_empty() => chunk.push_context(""),
                _ if trimmed.starts_with("***") => break,
                _ => {
                    return Err(at_line(
                        index,
                        line,
                        "every line of a chunk starts with ' ' (context), '-' (removed) or '+' \
                         (added); an empty line is an empty context line",
                    ));
                }
            }
            self.at += 1;
        }
        if chunk.old.is_empty() && chunk.new.is_empty() {
            return Err(at_line(
                first,
                self.lines[first],
                "this chunk has no lines; give its context (' '), removed ('-') and added ('+') \
                 lines",
            ));
        }
        Ok(chunk)
    }
}

impl<'a> Chunk<'a> {
    fn push_context(&mut self, text: &'a str) {
        self.new.push(NewLine {
            text,
            old: Some(self.old.len()),
        });
        self.old.push(text);
    }
}

/// The path of a header, or `invalid_patch` when it is empty or holds NUL.
fn section_path<'a>(index: usize, line: &str, path: &'a str) -> ToolResult<&'a str> {
    if path.is_empty() {
        return Err(at_line(index, line, "the header names no path"));
    }
    if path.contains('\0') {
        return Err(at_line(index, line, "the path holds a NUL byte"));
    }
    Ok(path)
}

fn expected_shape() -> String {
    format!(
        "A patch starts with '{BEGIN_MARKER}', holds one or more file sections \
         ('{ADD_HEADER} PATH' with '+' lines, '{DELETE_HEADER} PATH', or '{UPDATE_HEADER} PATH' \
         with '@@' chunks) and ends with '{END_MARKER}'."
    )
}

fn unknown_marker(index: usize, line: &str) -> ToolError {
    let what = if trim(line) == END_MARKER {
        format!("'{END_MARKER}' may only be the last line")
    } else {
        format!(
            "this is not a file header; a section starts with '{ADD_HEADER} PATH', \
             '{DELETE_HEADER} PATH' or '{UPDATE_HEADER} PATH'"
        )
    };
    at_line(index, line, &what)
}

fn stray_line(index: usize, line: &str) -> ToolError {
    let hint = if line.starts_with('+') {
        " (every line of an Add File section starts with '+'; an empty line of the file is a \
         lone '+')"
    } else {
        ""
    };
    at_line(
        index,
        line,
        &format!(
            "this line is outside any file section; expected '{ADD_HEADER} PATH', \
             '{DELETE_HEADER} PATH', '{UPDATE_HEADER} PATH' or '{END_MARKER}'{hint}"
        ),
    )
}

/// `invalid_patch` for line `index` (0-based) holding `line`.
fn at_line(index: usize, line: &str, what: &str) -> ToolError {
    invalid(format!(
        "Invalid patch, line {}: {}: {what}.",
        index + 1,
        quote(line)
    ))
}

/// `line` in single quotes, cut to [`MAX_QUOTED_CHARS`] characters.
pub fn quote(line: &str) -> String {
    if char_len(line) <= MAX_QUOTED_CHARS {
        return format!("'{line}'");
    }
    let cut: String = line.chars().take(MAX_QUOTED_CHARS).collect();
    format!("'{cut}...'")
}

fn invalid(message: String) -> ToolError {
    ToolError::new(ErrorKind::InvalidPatch, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> ToolResult<Vec<Section<'_>>> {
        parse_patch(text)
    }

    fn kind(text: &str) -> ErrorKind {
        parse(text).unwrap_err().kind
    }

    #[test]
    fn sections_of_every_kind_in_order() {
        let text = "*** Begin Patch\n*** Add File: a.txt\n+one\n+\n*** Delete File: b.txt\n\
                    *** Update File: c.txt\n*** Move to: d.txt\n@@ fn main\n ctx\n-old\n+new\n\
                    *** End Patch";
        let sections = parse(text).unwrap();
        assert_eq!(
            sections[0],
            Section::Add {
                path: "a.txt",
                line: 2,
                content: "one\n\n".into()
            }
        );
        assert_eq!(
            sections[1],
            Section::Delete {
                path: "b.txt",
                line: 5
            }
        );
        let Section::Update {
            move_to, chunks, ..
        } = &sections[2]
        else {
            panic!("{:?}", sections[2]);
        };
        assert_eq!(*move_to, Some("d.txt"));
        assert_eq!(chunks[0].context, Some("fn main"));
        assert_eq!(chunks[0].old, ["ctx", "old"]);
        let new: Vec<_> = chunks[0].new.iter().map(|l| (l.text, l.old)).collect();
        assert_eq!(new, [("ctx", Some(0)), ("new", None)]);
    }

    #[test]
    fn heredoc_forms_are_unwrapped() {
        for opener in [
            "<<'EOF'",
            "<<\"EOF\"",
            "<<EOF",
            "<<-EOF",
            "apply_patch <<'EOF'",
            "cat<<'EOF'",
            "apply_patch << EOF",
        ] {
            let text =
                format!("\n{opener}\n*** Begin Patch\n*** Delete File: x\n*** End Patch\nEOF\n");
            assert_eq!(parse(&text).unwrap().len(), 1, "{opener}");
        }
        let wrapped = unwrap_heredoc("apply_patch <<'PATCH'\nbody\nlines\nPATCH").unwrap();
        assert_eq!(wrapped.command, Some("apply_patch"));
        assert_eq!(wrapped.body, "body\nlines");
        assert!(unwrap_heredoc("cat <<'EOF\"\nx\nEOF").is_none());
        assert!(unwrap_heredoc("a b <<EOF\nx\nEOF").is_none());
        assert_eq!(unwrap_heredoc("<<EOF\nEOF").unwrap().body, "");
    }

    #[test]
    fn grammar_errors_are_invalid_patch_with_the_line() {
        for text in [
            "",
            "  \n\t\n",
            "*** Begin Patch\n*** End Patch",
            "*** Begin Patch\n*** Delete File: a",
            "Begin\n*** Delete File: a\n*** End Patch",
            "*** Begin Patch\n*** Rename File: a\n*** End Patch",
            "*** Begin Patch\n*** Update File: a\n*** End Patch",
            "*** Begin Patch\n*** Update File: a\n-x\n*** End of File\n-y\n*** End Patch",
            "*** Begin Patch\n*** Update File: a\n-x\nbad\n*** End Patch",
            "*** Begin Patch\nstray\n*** Delete File: a\n*** End Patch",
            "*** Begin Patch\n*** Update File: a\n@@\n*** End Patch",
            "*** Begin Patch\n*** Update File: a\n@@x\n-y\n*** End Patch",
            "*** Begin Patch\n*** Add File: \n+x\n*** End Patch",
        ] {
            assert_eq!(kind(text), ErrorKind::InvalidPatch, "{text:?}");
        }
        let err = parse("*** Begin Patch\n*** Update File: a\n-x\nbad\n*** End Patch").unwrap_err();
        assert!(err.message.contains("line 4: 'bad'"), "{}", err.message);
    }

    #[test]
    fn padded_markers_and_blank_lines_between_sections_are_accepted() {
        let text = "\n *** Begin Patch \n\n  *** Update File: a\n@@  \n-x\n+y\n\n\n*** Delete File: b\n\n *** End Patch\n\n";
        let sections = parse(text).unwrap();
        assert_eq!(sections.len(), 2);
        let Section::Update { chunks, .. } = &sections[0] else {
            panic!()
        };
        // The blank lines before the next header are empty context lines (Codex reads them so).
        assert_eq!(chunks[0].old, ["x", "", ""]);
        assert_eq!(chunks[0].context, None);
    }

    #[test]
    fn invalid_utf8_names_its_line() {
        let err = decode_patch(b"*** Begin Patch\n\xff").unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidPatch);
        assert!(err.message.contains("line 2"), "{}", err.message);
    }
}
