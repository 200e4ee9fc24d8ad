//! grep's `file_type`: ripgrep's `--type NAME`, with the built-in type table of the `ignore`
//! crate this library links (`py` → `*.py`, `*.pyi`; `rust` → `*.rs`; …). The twin carries the
//! same table, generated from the crate's source by `script/gen-grep-types.py`
//! (`ironcode/twin/grep_types.py`); a test checks the two are equal.
//!
//! A type's globs are matched against a file's name only, as ripgrep matches them; folders are
//! never filtered by type.

use std::path::Path;

use ignore::types::{Types, TypesBuilder};
use serde::Serialize;

use crate::error::{ToolError, ToolResult};

/// At most this many close type names are offered when a name is unknown.
pub const MAX_CLOSE_TYPES: usize = 5;
/// A known name at most this many edits away from an unknown one is offered as close to it.
pub const CLOSE_TYPE_DISTANCE: usize = 2;

/// One file type: its name and its globs (sorted).
#[derive(Debug, Serialize, PartialEq, Eq, Clone)]
pub struct TypeDef {
    pub name: String,
    pub globs: Vec<String>,
}

/// Every built-in type, sorted by name, each with its globs sorted.
pub fn type_table() -> Vec<TypeDef> {
    let mut builder = TypesBuilder::new();
    builder.add_defaults();
    builder
        .definitions()
        .into_iter()
        .map(|def| TypeDef {
            name: def.name().to_string(),
            globs: def.globs().to_vec(),
        })
        .collect()
}

/// A matcher that keeps the files of type `name`; `invalid_argument` naming the close types
/// when there is no such type.
pub fn select(name: &str) -> ToolResult<FileType> {
    let mut builder = TypesBuilder::new();
    builder.add_defaults();
    let known = builder.definitions();
    // "all" selects every type in the crate; ripgrep accepts it too, but as a filter it only
    // drops files of no known type, which is not what a caller asking for one type means.
    if name == "all" || !known.iter().any(|def| def.name() == name) {
        let names: Vec<&str> = known.iter().map(|def| def.name()).collect();
        return Err(unknown_type(name, &names));
    }
    builder.select(name);
    let types = builder
        .build()
        .map_err(|e| ToolError::invalid_argument(format!("File type '{name}': {e}")))?;
    Ok(FileType { types })
}

/// The compiled selection of one type.
pub struct FileType {
    types: Types,
}

impl FileType {
    /// Whether the file at `path` (its name) is of the selected type.
    pub fn keeps(&self, path: &Path) -> bool {
        self.types.matched(path, false).is_whitelist()
    }
}

/// The error for an unknown type: its close names, or where to find the list.
pub fn unknown_type(name: &str, known: &[&str]) -> ToolError {
    let close = close_names(name, known);
    let hint = if close.is_empty() {
        "no type has a similar name; types are ripgrep's (`rg --type-list`), e.g. py, rust, js, ts, md".to_string()
    } else {
        format!("did you mean {}?", close.join(", "))
    };
    ToolError::invalid_argument(format!("Unknown file type '{name}': {hint}"))
}

/// Known names close to `name`: those it is a prefix of, and those at most
/// [`CLOSE_TYPE_DISTANCE`] edits away (case-insensitively), nearest first, then by name.
pub fn close_names<'a>(name: &str, known: &[&'a str]) -> Vec<&'a str> {
    let wanted = name.to_lowercase();
    let mut scored: Vec<(usize, &str)> = known
        .iter()
        .filter_map(|&candidate| {
            let lower = candidate.to_lowercase();
            let distance = crate::edit::levenshtein(&wanted, &lower).unwrap_or(usize::MAX);
            let prefix = !wanted.is_empty() && lower.starts_with(&wanted);
            (distance <= CLOSE_TYPE_DISTANCE || prefix).then_some((distance, candidate))
        })
        .collect();
    scored.sort();
    scored
        .into_iter()
        .take(MAX_CLOSE_TYPES)
        .map(|(_, n)| n)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_type_keeps_files_by_name_only() {
        let py = select("py").unwrap();
        assert!(py.keeps(Path::new("/a/b/x.py")));
        assert!(py.keeps(Path::new("stub.pyi")));
        assert!(!py.keeps(Path::new("/a/x.py/readme.txt")));
        assert!(select("make").unwrap().keeps(Path::new("/src/Makefile")));
    }

    #[test]
    fn an_unknown_type_names_the_close_ones() {
        let err = select("pyton").err().unwrap();
        assert_eq!(err.kind, crate::error::ErrorKind::InvalidArgument);
        assert!(err.message.contains("python"), "{}", err.message);
        let err = select("zzzzzzzzzz").err().unwrap();
        assert!(err.message.contains("rg --type-list"), "{}", err.message);
        assert!(select("all").is_err());
    }

    #[test]
    fn the_table_is_sorted_with_sorted_globs() {
        let table = type_table();
        assert!(table.len() > 200);
        assert!(table.windows(2).all(|w| w[0].name < w[1].name));
        assert!(
            table
                .iter()
                .all(|t| t.globs.windows(2).all(|g| g[0] <= g[1]))
        );
    }
}
