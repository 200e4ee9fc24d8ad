//! `grep`: the lines that match a regex in the files ripgrep would search, found in-process with
//! ripgrep's own library crates (`grep-regex` and `grep-searcher`) configured as `rg -n` is.
//!
//! What that means for the answer, matching `rg -n --hidden -g '!.git' PATTERN PATH`:
//! - the regex is Rust `regex` syntax, matched line by line (`^`/`$` at line ends; a literal
//!   `\n` in the pattern is refused, as rg does without `--multiline`);
//! - a file starting with a UTF-16 byte-order mark is transcoded to UTF-8 and a UTF-8 BOM is
//!   dropped; other bytes are searched as they are, and invalid UTF-8 is shown lossily;
//! - binary files are skipped as rg skips them: the search of a file stops at the first read
//!   that brings a NUL byte, so matches in earlier reads are kept and later ones never seen.
//!
//! - memory stays bounded whatever the file: the line buffer grows to [`MAX_LINE_BYTES`] at most
//!   (rg's grows without end; a 100 MB single-line file made it hold the whole line, and the
//!   answer carried it too). A longer line ends the search of its file like a NUL byte does —
//!   earlier matches are kept — and the file is named in `long_lines`. A match's text is cut to
//!   [`MAX_MATCH_TEXT_CHARS`].
//!
//! The keyword extensions ([`GrepOptions`], OPERATIONS.md) are the searcher's own features:
//! output modes (`rg -l`, `rg -c`), context lines (`-B/-A/-C`), multi-line matching (`-U`),
//! file types (`-t`, [`types`]) and a per-line cut. [`file`] reads each file, [`sink`] keeps what
//! the mode needs of its search.
//!
//! Files run on the walk's threads; the answer lists files newest first, lines in file order.

pub mod file;
pub mod sink;
pub mod types;

use std::io;
use std::path::Path;
use std::sync::Mutex;

use grep_regex::{RegexMatcher, RegexMatcherBuilder};
use serde::{Deserialize, Serialize};

use crate::error::{ErrorKind, ToolError, ToolResult};
use crate::glob::sort_newest_first;
use crate::walk::{self, SearchTarget, WalkOptions};
use file::{FileFound, FileSearcher, SearchPlan, SearcherSettings};
use sink::{Collect, LineKind};

/// Matches returned when the caller gives no limit.
pub const DEFAULT_LIMIT: usize = 100;
/// ripgrep's line buffer starts this big and only grows once it has read this much of a file
/// without a NUL, so a searcher reused after shorter reads splits the next file into exactly the
/// chunks a fresh one would (which binary detection depends on); after a longer read it is
/// replaced.
pub const SEARCHER_BUFFER_BYTES: u64 = 64 * 1024;
/// The byte that marks a file as binary, as in ripgrep.
pub const BINARY_BYTE: u8 = b'\0';
/// How many bytes the searcher's BOM sniffer peeks at, and so returns by its first read.
pub const BOM_PEEK_BYTES: usize = 3;
/// The first read of a file: one page. Half the files of the standard library tree fit (median
/// 1.8 KB), and a binary one (a NUL early on, like every `.pyc`) needs nothing more, where the
/// searcher's own reads copy up to 64 KiB of it. Measured there against 16 KiB: 7 % less CPU
/// (321 MB copied instead of 245 MB; 2 and 8 KiB were no better).
pub const FIRST_READ_BYTES: usize = 4 * 1024;
/// Files are read whole up to this size and searched in memory; past it (with no NUL yet) the
/// rest is streamed through the searcher, as ripgrep reads every file. 1 MiB holds all but 3 of
/// the 46K files of the standard library tree; what is read whole stays beside the searcher's
/// buffer while the rest streams (8 MiB here made a 100 MB one-line grep peak at 16 MB, not 9)
/// and a thread's buffer is kept for its whole walk.
/// No larger than [`MAX_LINE_BYTES`], so no line of a file searched in memory is too long.
pub const WHOLE_FILE_BYTES: usize = 1024 * 1024;
/// In files mode only the searcher's first buffer's worth is read whole: the rest of a larger
/// file streams, so its reading stops at the fill that brings the first match.
pub const FIRST_MATCH_WHOLE_FILE_BYTES: usize = SEARCHER_BUFFER_BYTES as usize;
/// How big the line buffer may grow (grep-searcher's `heap_limit`, its whole buffer): the
/// longest line searched, its newline included. 8 MiB holds minified bundles and bounds grep's
/// memory. In multi-line mode, where the searcher holds the whole file, files of this size or
/// more are not searched.
pub const MAX_LINE_BYTES: usize = 8 << 20;
const _: () = assert!(WHOLE_FILE_BYTES <= MAX_LINE_BYTES);
/// A match's text is cut to this many characters (256 Ki), with [`TEXT_TRUNCATED_SUFFIX`]: lines
/// as long as rg shows whole in practice (a 100 KB line is), while 100 matches on 8 MiB lines
/// cannot fill the answer with 800 MB. A caller that shows text cuts far shorter (the grep
/// tool: `max_line_chars`).
pub const MAX_MATCH_TEXT_CHARS: usize = 1 << 18;
/// What follows a cut match text.
pub const TEXT_TRUNCATED_SUFFIX: &str = "... (line truncated to 262144 chars)";
/// Compiled matchers kept for reuse, most recent last. Compiling a pattern with Unicode classes
/// (`\w`) takes tens of milliseconds, often longer than the search; agents repeat patterns, and
/// Python's `re` (the twin) keeps such a cache too.
pub const MATCHER_CACHE_SIZE: usize = 32;
/// A search that has run this long on one thread is joined by the walk's helper threads,
/// however few files it has seen. This repository (360 files): 7.4 ms on one thread, 5.7 ms
/// joined after 1 ms; a listing alone (file_list) stays on one thread, where a helper costs
/// more than it saves (2.5 vs 2.9 ms).
pub const PARALLEL_AFTER: std::time::Duration = std::time::Duration::from_millis(1);

/// (pattern, ignore_case, multi_line)
type MatcherKey = (String, bool, bool);
static MATCHERS: Mutex<Vec<(MatcherKey, RegexMatcher)>> = Mutex::new(Vec::new());

/// What [`grep_with`] answers with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputMode {
    /// Match (and context) lines: [`GrepResult`].
    #[default]
    Content,
    /// The files with a match: [`FilesResult`] (`rg -l`).
    Files,
    /// Matches per file: [`CountResult`] (`rg -c`).
    Count,
}

/// The keyword arguments of `grep` (OPERATIONS.md), as the C boundary passes them in JSON.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GrepOptions {
    /// A ripgrep `--glob` override choosing the files.
    pub include: Option<String>,
    /// Lines (content) or files (files, count) returned at most; None = all.
    pub limit: Option<usize>,
    pub ignore_case: bool,
    pub output_mode: OutputMode,
    /// Context lines before / after each match; `context` sets both, the others override it.
    pub before: Option<usize>,
    pub after: Option<usize>,
    pub context: Option<usize>,
    /// ripgrep `-U`: a match may span lines.
    pub multiline: bool,
    /// ripgrep `--type`: only files of this built-in type.
    pub file_type: Option<String>,
    /// Line texts are cut to this many characters, and the entry marked `cut`.
    pub max_line_chars: Option<usize>,
    /// Confined to this root ([`crate::confine`]): the path resolved beneath it, the walk never
    /// leaving it.
    pub root: Option<String>,
}

/// One matching (or context) line.
#[derive(Debug, Serialize, PartialEq, Eq, Clone)]
pub struct GrepMatch {
    /// Absolute path of the file.
    pub path: String,
    /// 1-based line number.
    pub line: u64,
    /// The line without its `\n` (or `\r\n`), invalid UTF-8 replaced by U+FFFD.
    pub text: String,
    /// `"match"` or `"context"`, when context lines were asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<&'static str>,
    /// The text was cut to `max_line_chars`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cut: Option<bool>,
    /// The whole line's length in characters, when cut.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chars: Option<usize>,
}

/// The answer of [`grep`] in content mode.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct GrepResult {
    pub matches: Vec<GrepMatch>,
    /// How many lines matched before `limit` was applied.
    pub total: usize,
    pub truncated: bool,
    /// Files whose search stopped at a line longer than [`MAX_LINE_BYTES`] (matches before it
    /// are kept), sorted; the key is left out when there are none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub long_lines: Vec<String>,
}

/// The answer in files mode: the files with a match, newest first.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct FilesResult {
    pub files: Vec<String>,
    /// How many files matched.
    pub total: usize,
    pub truncated: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub long_lines: Vec<String>,
}

/// One file's count.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct FileCount {
    pub path: String,
    pub count: u64,
}

/// The answer in count mode.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct CountResult {
    pub counts: Vec<FileCount>,
    /// The sum of every file's count.
    pub total: u64,
    pub truncated: bool,
    /// How many files matched (`counts` holds at most `limit` of them).
    pub matched_files: usize,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub long_lines: Vec<String>,
}

/// The answer of [`grep_with`], shaped by the output mode.
#[derive(Debug, Serialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum GrepAnswer {
    Content(GrepResult),
    Files(FilesResult),
    Count(CountResult),
}

/// Searches the files below `path` (or the one file `path`) for lines matching `pattern`.
/// `include` is a ripgrep `--glob` override choosing the files; `limit` (None = all) keeps the
/// lines of the newest files first; `ignore_case` matches case-insensitively (Unicode simple
/// case folding).
///
/// Raises `invalid_pattern` for a regex or glob that does not parse (with the engine's message),
/// `not_found` for a missing path, and `permission_denied` for a file named by `path` that
/// cannot be read (unreadable files inside a folder are skipped, as rg skips them). With `root`,
/// the path is resolved beneath it and the walk never leaves it.
pub fn grep(
    pattern: &str,
    path: &str,
    include: Option<&str>,
    limit: Option<usize>,
    ignore_case: bool,
    root: Option<&str>,
) -> ToolResult<GrepResult> {
    let options = GrepOptions {
        include: include.map(str::to_string),
        limit,
        ignore_case,
        root: root.map(str::to_string),
        ..Default::default()
    };
    match grep_with(pattern, path, &options)? {
        GrepAnswer::Content(result) => Ok(result),
        _ => unreachable!("content mode answers with lines"),
    }
}

/// [`grep`] with every keyword argument: the output mode, context lines, multi-line matching,
/// a file type and a per-line cut (OPERATIONS.md, "Keyword-only extensions of grep").
///
/// Raises `invalid_argument` for an unknown file type (naming the close ones) or a text
/// argument holding a NUL byte, and what [`grep`] raises. Running out of descriptors or memory
/// while opening or reading a file ends the search with an `io` error, as a folder does
/// (skipping the file would answer less without saying so).
pub fn grep_with(pattern: &str, path: &str, options: &GrepOptions) -> ToolResult<GrepAnswer> {
    for (name, value) in [
        ("include", &options.include),
        ("file_type", &options.file_type),
    ] {
        if value.as_deref().is_some_and(|v| v.contains('\0')) {
            return Err(ToolError::invalid_argument(format!(
                "{name} contains a NUL byte"
            )));
        }
    }
    let matcher = cached_matcher(pattern, options.ignore_case, options.multiline)?;
    let file_type = options
        .file_type
        .as_deref()
        .map(types::select)
        .transpose()?;
    let mode = options.output_mode;
    let with_context = mode == OutputMode::Content
        && (options.before.is_some() || options.after.is_some() || options.context.is_some());
    let settings = SearcherSettings {
        before: if with_context {
            options.before.or(options.context).unwrap_or(0)
        } else {
            0
        },
        after: if with_context {
            options.after.or(options.context).unwrap_or(0)
        } else {
            0
        },
        multi_line: options.multiline,
        first_match_only: mode == OutputMode::Files,
    };
    let multi_line = FileSearcher::new(settings).multi_line_with(&matcher);
    let limit = options.limit.unwrap_or(usize::MAX);
    let plan = SearchPlan {
        collect: match mode {
            OutputMode::Content => Collect::Lines {
                keep_matches: limit,
                max_chars: options.max_line_chars,
            },
            OutputMode::Files => Collect::FirstMatch,
            OutputMode::Count => Collect::Count { multi_line },
        },
        whole_file_bytes: if mode == OutputMode::Files {
            FIRST_MATCH_WHOLE_FILE_BYTES
        } else {
            WHOLE_FILE_BYTES
        },
        multi_line,
        context: settings.before + settings.after > 0,
        binary_drops_file: mode == OutputMode::Count,
    };
    let mut files = match walk::search_target_at(path, options.root.as_deref())? {
        SearchTarget::Folder(target, beneath) => {
            let walk_options = WalkOptions {
                globs: options.include.clone().into_iter().collect(),
                beneath,
                parallel_after: Some(PARALLEL_AFTER),
                ..Default::default()
            };
            let init = || FileSearcher::new(settings);
            walk::collect_files_with(&target, &walk_options, init, |searcher, entry| {
                if let Some(file_type) = &file_type
                    && !file_type.keeps(entry.path())
                {
                    return Ok(None);
                }
                let found = entry
                    .open()
                    .and_then(|file| searcher.search(&matcher, file, entry.path(), &plan));
                skip_unreadable(found, entry.path())
            })?
        }
        // A file named directly that cannot be opened is an error, as rg reports it: "no
        // matches" would tell the caller something false. In a folder walk it is skipped. As
        // in rg, a file named directly is searched whatever its type.
        SearchTarget::File(target, file) => {
            let found = FileSearcher::new(settings).search(&matcher, file, &target, &plan);
            skip_unreadable(found, &target)?.into_iter().collect()
        }
        // A FIFO or device given by name: reading it could block forever; rg would try.
        SearchTarget::Other(_) => Vec::new(),
    };
    let mut long_lines: Vec<String> = files
        .iter()
        .filter(|(_, f)| f.cut)
        .map(|(_, f)| f.path.clone())
        .collect();
    long_lines.sort();
    files.retain(|(_, f)| f.matched > 0);
    sort_newest_first(&mut files);
    Ok(match mode {
        OutputMode::Content => GrepAnswer::Content(content(files, limit, with_context, long_lines)),
        OutputMode::Files => {
            let total = files.len();
            let shown: Vec<String> = files.into_iter().take(limit).map(|(_, f)| f.path).collect();
            GrepAnswer::Files(FilesResult {
                truncated: total > shown.len(),
                files: shown,
                total,
                long_lines,
            })
        }
        OutputMode::Count => {
            let total = files.iter().map(|(_, f)| f.matched).sum();
            let matched_files = files.len();
            let counts: Vec<FileCount> = files
                .into_iter()
                .take(limit)
                .map(|(_, f)| FileCount {
                    path: f.path,
                    count: f.matched,
                })
                .collect();
            GrepAnswer::Count(CountResult {
                truncated: matched_files > counts.len(),
                counts,
                total,
                matched_files,
                long_lines,
            })
        }
    })
}

/// A file's search result, with errors that only say the file could not be read made "no
/// match" (ripgrep reports them and goes on) and running out of descriptors or memory an
/// error that ends the search.
fn skip_unreadable<T>(found: io::Result<Option<T>>, path: &Path) -> ToolResult<Option<T>> {
    match found {
        Ok(found) => Ok(found),
        Err(error) if walk::is_resource_exhausted(&error) => Err(ToolError::from_io(&error, path)),
        Err(_) => Ok(None),
    }
}

/// The content answer: the lines of the newest files first, `limit` match lines at most (the
/// last one kept still gets its after-context, up to the next match line).
fn content(
    files: Vec<(i128, FileFound)>,
    limit: usize,
    with_context: bool,
    long_lines: Vec<String>,
) -> GrepResult {
    let total: u64 = files.iter().map(|(_, f)| f.matched).sum();
    let mut matches = Vec::new();
    let mut kept = 0;
    'files: for (_, file) in files {
        for line in &file.lines {
            if kept == limit && line.kind != LineKind::After {
                break 'files;
            }
            if line.kind == LineKind::Match {
                kept += 1;
            }
            matches.push(GrepMatch {
                path: file.path.clone(),
                line: line.number,
                text: file.text[line.start..line.end].to_string(),
                kind: with_context.then_some(match line.kind {
                    LineKind::Match => "match",
                    LineKind::Before | LineKind::After => "context",
                }),
                cut: line.chars.map(|_| true),
                chars: line.chars,
            });
        }
        if kept == limit {
            break;
        }
    }
    let total = usize::try_from(total).unwrap_or(usize::MAX);
    GrepResult {
        truncated: total > kept,
        total,
        matches,
        long_lines,
    }
}

/// [`build_matcher`] through a small most-recently-used cache.
pub fn cached_matcher(
    pattern: &str,
    ignore_case: bool,
    multi_line: bool,
) -> ToolResult<RegexMatcher> {
    let key = (pattern.to_string(), ignore_case, multi_line);
    {
        let mut cache = MATCHERS.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(at) = cache.iter().position(|(k, _)| *k == key) {
            let hit = cache.remove(at);
            let matcher = hit.1.clone();
            cache.push(hit);
            return Ok(matcher);
        }
    }
    // Compiled outside the lock, so one slow pattern does not hold up other searches.
    let matcher = build_matcher(pattern, ignore_case, multi_line)?;
    let mut cache = MATCHERS.lock().unwrap_or_else(|p| p.into_inner());
    if cache.len() >= MATCHER_CACHE_SIZE {
        cache.remove(0);
    }
    cache.push((key, matcher.clone()));
    Ok(matcher)
}

/// The regex matcher `rg` builds: Rust regex syntax, Unicode, multi-line anchors, no octal
/// escapes, `.` not matching a line end; without `multi_line` (rg without `-U`) never matching
/// the line terminator (a literal `\n` is refused), with it free to match one.
pub fn build_matcher(
    pattern: &str,
    ignore_case: bool,
    multi_line: bool,
) -> ToolResult<RegexMatcher> {
    let mut builder = RegexMatcherBuilder::new();
    builder
        .case_insensitive(ignore_case)
        .multi_line(true)
        .unicode(true)
        .octal(false)
        .dot_matches_new_line(false);
    if !multi_line {
        builder.line_terminator(Some(b'\n'));
    }
    builder.build(pattern).map_err(|e| {
        ToolError::new(
            ErrorKind::InvalidPattern,
            format!("Invalid regex '{pattern}': {}", one_line(&e.to_string())),
        )
    })
}

/// regex-syntax explains a parse error over several lines (the pattern, a caret, the reason);
/// callers get one line: the reason.
fn one_line(message: &str) -> String {
    match message.rfind("error: ") {
        Some(at) => message[at + "error: ".len()..].trim().to_string(),
        None => message.split_whitespace().collect::<Vec<_>>().join(" "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn finds_lines_and_skips_binary_files() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("a.txt"), "one foo\ntwo\r\nfoo three\r\n").unwrap();
        fs::write(dir.path().join("bin.dat"), "xxxx foo\n\0 foo\n").unwrap();
        let out = grep("foo", dir.path().to_str().unwrap(), None, None, false, None).unwrap();
        let got: Vec<_> = out
            .matches
            .iter()
            .map(|m| (m.line, m.text.as_str()))
            .collect();
        assert_eq!(got, vec![(1, "one foo"), (3, "foo three")]);
        assert_eq!((out.total, out.truncated), (2, false));
    }

    #[test]
    fn look_around_and_newline_literals_are_invalid_patterns() {
        for bad in ["(?=x)", r"\1", "a\\nb", "(", "a{"] {
            let err = build_matcher(bad, false, false).unwrap_err();
            assert_eq!(err.kind, ErrorKind::InvalidPattern, "{bad}");
        }
        assert!(build_matcher("a\\nb", false, true).is_ok());
    }

    #[test]
    fn the_matcher_cache_keeps_answers_right_past_its_size() {
        for i in 0..MATCHER_CACHE_SIZE + 8 {
            let matcher = cached_matcher(&format!("a{i}b"), i % 2 == 0, false).unwrap();
            let again = cached_matcher(&format!("a{i}b"), i % 2 == 0, false).unwrap();
            use grep_matcher::Matcher;
            let text = format!("xA{i}B");
            assert_eq!(matcher.is_match(text.as_bytes()).unwrap(), i % 2 == 0);
            assert_eq!(again.is_match(text.as_bytes()).unwrap(), i % 2 == 0);
        }
        assert!(MATCHERS.lock().unwrap().len() <= MATCHER_CACHE_SIZE);
    }

    #[test]
    fn regex_errors_are_one_line_reasons() {
        let err = build_matcher("(", false, false).unwrap_err();
        assert_eq!(err.message, "Invalid regex '(': unclosed group");
    }

    fn run(dir: &Path, pattern: &str, options: GrepOptions) -> GrepAnswer {
        grep_with(pattern, dir.to_str().unwrap(), &options).unwrap()
    }

    #[test]
    fn files_and_count_modes_list_files_and_counts() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("a.txt"), "foo\nfoo foo\nbar\n").unwrap();
        fs::write(dir.path().join("b.txt"), "bar\n").unwrap();
        let files = GrepOptions {
            output_mode: OutputMode::Files,
            ..Default::default()
        };
        let GrepAnswer::Files(found) = run(dir.path(), "foo", files) else {
            panic!("files mode")
        };
        assert_eq!((found.files.len(), found.total), (1, 1));
        let count = GrepOptions {
            output_mode: OutputMode::Count,
            ..Default::default()
        };
        let GrepAnswer::Count(counted) = run(dir.path(), "foo", count) else {
            panic!("count mode")
        };
        assert_eq!(counted.counts[0].count, 2);
        assert_eq!(counted.total, 2);
    }

    #[test]
    fn context_lines_come_once_each_in_file_order() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("a.txt"), "1\nx\n3\nx\n5\n6\n7\n").unwrap();
        let options = GrepOptions {
            context: Some(1),
            ..Default::default()
        };
        let GrepAnswer::Content(out) = run(dir.path(), "x", options) else {
            panic!("content")
        };
        let got: Vec<_> = out
            .matches
            .iter()
            .map(|m| (m.line, m.kind.unwrap()))
            .collect();
        assert_eq!(
            got,
            vec![
                (1, "context"),
                (2, "match"),
                (3, "context"),
                (4, "match"),
                (5, "context")
            ]
        );
        assert_eq!(out.total, 2);
    }

    #[test]
    fn a_multi_line_match_gives_one_entry_per_line() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("a.txt"), "a\nfoo\nbar\nz\n").unwrap();
        let options = GrepOptions {
            multiline: true,
            ..Default::default()
        };
        let GrepAnswer::Content(out) = run(dir.path(), "foo\\nbar", options) else {
            panic!("content")
        };
        let got: Vec<_> = out
            .matches
            .iter()
            .map(|m| (m.line, m.text.as_str()))
            .collect();
        assert_eq!(got, vec![(2, "foo"), (3, "bar")]);
    }
}
