//! `edit_file`: the replacer chain applied to a file. Twin: `ironcode/twin/edit_file.py`.
//!
//! The file is read as UTF-8 (anything else is `encoding`, file untouched); a UTF-8 BOM is
//! stripped before matching and put back on write; a file with any `\r\n` is CRLF, and `old`
//! and `new` are converted to its line ending so the file keeps one. The write is atomic and
//! keeps permission bits. A failed match says where the closest region is.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use rustix::fs::{FileType, OFlags};
use serde::Serialize;

use super::diff::{Diff, unified};
use super::text::{Budget, Text, char_len, levenshtein_counted, search_lines};
use super::{Patch, replace_patch};
use crate::confine::{Locate, Located, Place, Root};
use crate::error::{ErrorKind, IoResultExt, ToolError, ToolResult};
use crate::paths;
use crate::write::{write_atomic, write_atomic_located};

/// The byte order mark a UTF-8 file may start with.
pub const UTF8_BOM: &str = "\u{feff}";
/// `no_match` names the closest region only if it is at least this similar to `old`.
pub const MIN_HINT_SIMILARITY: f64 = 0.5;
/// `no_match` quotes at most this many lines of the closest region.
pub const MAX_HINT_LINES: usize = 20;

/// The answer of [`edit_file`].
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct EditFileResult {
    pub path: String,
    pub diff: String,
    pub additions: usize,
    pub deletions: usize,
}

/// Replaces the text `old` means in the file at `path` by `new` (see the module docs).
///
/// `old == ""` creates a missing file (and its folders) holding `new`, and is
/// `empty_old_string` for an existing one. Errors: those of [`super::edit_replace`] (`no_match`
/// names the closest region), `not_found`, `is_directory`, `permission_denied`, `encoding`.
/// With `root`, the file is found, read and replaced beneath it ([`crate::confine`]); leaving
/// it is `outside_root`.
pub fn edit_file(
    path: &str,
    old: &str,
    new: &str,
    replace_all: bool,
    root: Option<&str>,
) -> ToolResult<EditFileResult> {
    if old == new {
        return Err(super::same_strings());
    }
    let (abs, edited) = match root {
        None => {
            let abs = paths::absolute(path)?;
            if old.is_empty() {
                return create(&abs, &paths::display(&abs), new);
            }
            if fs::metadata(&abs).at(&abs)?.is_dir() {
                return Err(directory_error(&paths::display(&abs)));
            }
            // Edit the file a symlink points at; renaming over the link would replace it with a copy.
            let target = fs::canonicalize(&abs).at(&abs)?;
            (abs, Edited::Path(target))
        }
        Some(root) => {
            let root = Root::open(root)?;
            let place = root.place(path)?;
            if old.is_empty() {
                return create_beneath(&root, &place, new);
            }
            let target = root.locate(
                &place,
                Locate {
                    create: false,
                    follow_last: true,
                },
            )?;
            match target.kind {
                None => {
                    return Err(ToolError::from_io(
                        &io::ErrorKind::NotFound.into(),
                        &place.shown,
                    ));
                }
                Some(FileType::Directory) => {
                    return Err(directory_error(&paths::display(&place.shown)));
                }
                Some(_) => {}
            }
            (place.shown, Edited::Beneath(target))
        }
    };
    let shown = paths::display(&abs);
    let bytes = edited.read(&abs)?;
    let text = std::str::from_utf8(&bytes).map_err(|e| {
        ToolError::new(
            ErrorKind::Encoding,
            format!("File is not valid UTF-8 ({e}), so it was not edited: {shown}"),
        )
    })?;
    let (bom, body) = match text.strip_prefix(UTF8_BOM) {
        Some(rest) => (UTF8_BOM, rest),
        None => ("", text),
    };
    let crlf = body.contains("\r\n");
    let old = with_line_ending(old, crlf);
    let new = with_line_ending(new, crlf);
    let patch = replace_patch(body, &old, &new, replace_all).map_err(|e| {
        if e.kind == ErrorKind::NoMatch {
            no_match_here(&shown, body, &old)
        } else {
            e
        }
    })?;
    let updated = patch.apply(body);
    let mut data = Vec::with_capacity(bom.len() + updated.len());
    data.extend_from_slice(bom.as_bytes());
    data.extend_from_slice(updated.as_bytes());
    edited.write(&data)?;
    Ok(result(shown, unified_for(&abs, body, &updated, &patch)))
}

/// Where the edited file is read from and written to.
enum Edited {
    /// By name (no root): the file a symlink points at.
    Path(PathBuf),
    /// Beneath a root: its folder's descriptor and its name there.
    Beneath(Located),
}

impl Edited {
    fn read(&self, shown: &Path) -> ToolResult<Vec<u8>> {
        match self {
            Edited::Path(target) => fs::read(target).at(shown),
            Edited::Beneath(target) => {
                let mut bytes = Vec::new();
                File::from(target.open(OFlags::RDONLY)?)
                    .read_to_end(&mut bytes)
                    .at(shown)?;
                Ok(bytes)
            }
        }
    }

    fn write(&self, data: &[u8]) -> ToolResult<()> {
        match self {
            Edited::Path(target) => write_atomic(target, data),
            Edited::Beneath(target) => write_atomic_located(target, data),
        }
    }
}

fn directory_error(shown: &str) -> ToolError {
    ToolError::new(
        ErrorKind::IsDirectory,
        format!("Path is a directory, not a file: {shown}"),
    )
}

fn exists_error(shown: &str) -> ToolError {
    ToolError::new(
        ErrorKind::EmptyOldString,
        format!(
            "old_string is empty but {shown} already exists. Give the text to replace, \
             or use write to replace the whole file."
        ),
    )
}

/// `old == ""` beneath a root: a new file holding `new`, its folders created beneath the root.
/// A symlink in its place is an existing file, if it stays inside the root.
fn create_beneath(root: &Root, place: &Place, new: &str) -> ToolResult<EditFileResult> {
    let shown = paths::display(&place.shown);
    let target = root.locate(
        place,
        Locate {
            create: true,
            follow_last: false,
        },
    )?;
    match target.kind {
        Some(FileType::Directory) => return Err(directory_error(&shown)),
        Some(_) => return Err(exists_error(&shown)),
        None => {}
    }
    write_atomic_located(&target, new.as_bytes())?;
    let patch = Patch {
        spans: vec![(0, 0)],
        text: new.to_string(),
    };
    Ok(result(shown, unified_for(&place.shown, "", new, &patch)))
}

fn unified_for(abs: &Path, before: &str, after: &str, patch: &Patch) -> Diff {
    unified(&paths::display(abs), before, after, patch)
}

fn result(path: String, diff: Diff) -> EditFileResult {
    EditFileResult {
        path,
        diff: diff.text,
        additions: diff.additions,
        deletions: diff.deletions,
    }
}

/// `old == ""`: a new file holding `new`.
fn create(abs: &Path, shown: &str, new: &str) -> ToolResult<EditFileResult> {
    match fs::symlink_metadata(abs) {
        Ok(meta) if meta.is_dir() => return Err(directory_error(shown)),
        Ok(_) => return Err(exists_error(shown)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(ToolError::from_io(&e, abs)),
    }
    if let Some(parent) = abs.parent() {
        fs::create_dir_all(parent).at(parent)?;
    }
    write_atomic(abs, new.as_bytes())?;
    let patch = Patch {
        spans: vec![(0, 0)],
        text: new.to_string(),
    };
    Ok(result(shown.to_string(), unified_for(abs, "", new, &patch)))
}

/// `s` with every line break made `\r\n` (`crlf`) or `\n`.
fn with_line_ending(s: &str, crlf: bool) -> String {
    let lf = s.replace("\r\n", "\n");
    if crlf { lf.replace('\n', "\r\n") } else { lf }
}

fn no_match_here(shown: &str, body: &str, old: &str) -> ToolError {
    let mut message = format!(
        "Could not find old_string in {shown}, even ignoring differences in whitespace, \
         indentation and escaping."
    );
    match closest_region(body, old) {
        Some(region) => {
            let lines = Text::new(body, old);
            let last = region.first + region.count - 1;
            let place = if region.count == 1 {
                format!("line {}", last + 1)
            } else {
                format!("lines {}-{}", region.first + 1, last + 1)
            };
            message.push_str(&format!(
                " The most similar region is {place} ({}% similar):\n",
                (region.similarity * 100.0).floor()
            ));
            for i in region.first..region.first + region.count.min(MAX_HINT_LINES) {
                let line = lines.lines()[i];
                let line = line.strip_suffix('\r').unwrap_or(line);
                message.push_str(&format!("{}: {line}\n", i + 1));
            }
            if region.count > MAX_HINT_LINES {
                message.push_str("...\n");
            }
            message.push_str("Copy the exact text of the lines to change into old_string.");
        }
        None => message.push_str(" Re-read the file and copy the exact lines to change."),
    }
    ToolError::new(ErrorKind::NoMatch, message)
}

/// A window of lines and how similar it is to `old`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Region {
    /// 0-based first line.
    pub first: usize,
    pub count: usize,
    pub similarity: f64,
}

/// The window of `old`'s line count whose trimmed lines, joined by `\n`, are most similar to
/// `old`'s (1 − levenshtein / longer length; the first on ties), if at least
/// [`MIN_HINT_SIMILARITY`].
///
/// Windows are scored best-first by an upper bound (the bag distance — characters one side has
/// and the other lacks — never exceeds levenshtein), so the exact distance is computed only for
/// windows that could still win, within the levenshtein cell budget.
pub fn closest_region(body: &str, old: &str) -> Option<Region> {
    let wanted_lines = search_lines(old);
    let m = wanted_lines.len();
    let text = Text::new(body, old);
    let n = text.lines().len();
    if m == 0 || m > n {
        return None;
    }
    let wanted: String = wanted_lines
        .iter()
        .map(|l| super::text::trim(l))
        .collect::<Vec<_>>()
        .join("\n");
    let wanted_chars = char_len(&wanted);
    let trimmed = text.trimmed();
    let window_text = |first: usize| trimmed[first..first + m].join("\n");

    let mut bounds: Vec<(f64, usize, usize)> = Vec::with_capacity(n - m + 1);
    let mut bag = BagDistance::new(&wanted);
    let mut length = m - 1;
    for _ in 0..m - 1 {
        bag.add('\n');
    }
    for line in &trimmed[..m] {
        bag.add_all(line);
        length += char_len(line);
    }
    for first in 0..=n - m {
        if first > 0 {
            bag.remove_all(trimmed[first - 1]);
            length -= char_len(trimmed[first - 1]);
            bag.add_all(trimmed[first + m - 1]);
            length += char_len(trimmed[first + m - 1]);
        }
        let longest = length.max(wanted_chars);
        bounds.push((similarity(bag.distance(), longest), first, longest));
    }
    bounds.sort_by(|x, y| y.0.total_cmp(&x.0).then(x.1.cmp(&y.1)));

    let mut budget = Budget::new(0);
    let mut best: Option<(f64, usize)> = None;
    for (bound, first, longest) in bounds {
        if bound < MIN_HINT_SIMILARITY {
            break;
        }
        if let Some((best_similarity, best_first)) = best {
            if bound < best_similarity {
                break;
            }
            if bound == best_similarity && first > best_first {
                continue;
            }
        }
        let Ok(distance) = levenshtein_counted(&window_text(first), &wanted, &mut budget) else {
            break;
        };
        let score = similarity(distance, longest);
        let better = match best {
            None => true,
            Some((s, f)) => score > s || (score == s && first < f),
        };
        if better {
            best = Some((score, first));
        }
    }
    best.filter(|(s, _)| *s >= MIN_HINT_SIMILARITY)
        .map(|(similarity, first)| Region {
            first,
            count: m,
            similarity,
        })
}

fn similarity(distance: usize, longest: usize) -> f64 {
    if longest == 0 {
        1.0
    } else {
        1.0 - distance as f64 / longest as f64
    }
}

/// The bag distance of a sliding window to a fixed text: max(characters the window has in
/// excess, characters it lacks), updated one character at a time.
struct BagDistance {
    ascii: [i64; 128],
    other: HashMap<char, i64>,
    excess: usize,
    missing: usize,
}

impl BagDistance {
    fn new(target: &str) -> Self {
        let mut bag = BagDistance {
            ascii: [0; 128],
            other: HashMap::new(),
            excess: 0,
            missing: 0,
        };
        for c in target.chars() {
            *bag.slot(c) -= 1;
            bag.missing += 1;
        }
        bag
    }

    fn slot(&mut self, c: char) -> &mut i64 {
        if c.is_ascii() {
            &mut self.ascii[c as usize]
        } else {
            self.other.entry(c).or_insert(0)
        }
    }

    fn add(&mut self, c: char) {
        let slot = self.slot(c);
        let before = *slot;
        *slot += 1;
        if before >= 0 {
            self.excess += 1;
        } else {
            self.missing -= 1;
        }
    }

    fn remove(&mut self, c: char) {
        let slot = self.slot(c);
        let before = *slot;
        *slot -= 1;
        if before > 0 {
            self.excess -= 1;
        } else {
            self.missing += 1;
        }
    }

    fn add_all(&mut self, s: &str) {
        s.chars().for_each(|c| self.add(c));
    }

    fn remove_all(&mut self, s: &str) {
        s.chars().for_each(|c| self.remove(c));
    }

    fn distance(&self) -> usize {
        self.excess.max(self.missing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_file(content: &[u8]) -> (tempfile::TempDir, String) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.txt");
        fs::write(&path, content).unwrap();
        (dir, path.to_str().unwrap().to_string())
    }

    #[test]
    fn crlf_file_keeps_crlf_after_edit() {
        let (_dir, path) = temp_file(b"line1\r\nold\r\nline3");
        let result = edit_file(&path, "old", "new", false, None).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"line1\r\nnew\r\nline3");
        assert_eq!((result.additions, result.deletions), (1, 1));
    }

    #[test]
    fn bom_is_kept_and_hidden_from_matching() {
        let (_dir, path) = temp_file("\u{feff}first\nsecond\n".as_bytes());
        edit_file(&path, "first\nsecond", "only", false, None).unwrap();
        assert_eq!(fs::read(&path).unwrap(), "\u{feff}only\n".as_bytes());
    }

    #[test]
    fn invalid_utf8_is_an_encoding_error_and_the_file_stays() {
        let (_dir, path) = temp_file(b"ok \xff\xfe");
        let err = edit_file(&path, "ok", "no", false, None).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Encoding);
        assert_eq!(fs::read(&path).unwrap(), b"ok \xff\xfe");
    }

    #[test]
    fn no_match_names_the_closest_region() {
        let (_dir, path) = temp_file(b"a\nfn main() {\n    run(1);\n}\nz\n");
        let err = edit_file(&path, "fn main() {\n    run(2);", "x", false, None).unwrap_err();
        assert_eq!(err.kind, ErrorKind::NoMatch);
        assert!(err.message.contains("lines 2-3"), "{}", err.message);
    }

    #[test]
    fn closest_region_prefers_the_first_of_equals() {
        let region = closest_region("ab\nab\n", "ac").unwrap();
        assert_eq!((region.first, region.count), (0, 1));
        assert_eq!(region.similarity, 0.5);
    }
}
