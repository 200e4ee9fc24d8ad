//! `FuzzyIndex`: the items sent across once and kept here, so each search sends only the query.
//!
//! Indexes live in a registry keyed by id (ARCHITECTURE.md, contract 6). A search clones the
//! index's `Arc` under a read lock and matches with the lock released, so searches of one index
//! run in parallel and closing it mid-search is safe (the search finishes on its own copy).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use serde::Serialize;

use super::{Algorithm, ItemSource, rank};
use crate::error::{ToolError, ToolResult};

/// The items of an index in one buffer: less memory and fewer allocations than one `String`
/// each (100K paths would be 100K allocations).
pub struct FuzzyIndex {
    text: String,
    /// `ends[i]` is where item `i` ends in `text`; it starts where item `i - 1` ends.
    ends: Vec<usize>,
    algorithm: Algorithm,
}

impl FuzzyIndex {
    /// Copies `items` into a new index that ranks with `algorithm`.
    pub fn new<S: AsRef<str>>(items: &[S], algorithm: Algorithm) -> Self {
        let total = items.iter().map(|s| s.as_ref().len()).sum();
        let mut text = String::with_capacity(total);
        let mut ends = Vec::with_capacity(items.len());
        for item in items {
            text.push_str(item.as_ref());
            ends.push(text.len());
        }
        FuzzyIndex {
            text,
            ends,
            algorithm,
        }
    }

    /// Ranks the items against `query`: indices, best first, at most `limit` (None = all).
    pub fn search(&self, query: &str, limit: Option<usize>) -> Vec<usize> {
        rank(query, self, limit, self.algorithm)
    }

    /// How many items the index holds.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// True if the index holds no items.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }
}

impl ItemSource for FuzzyIndex {
    fn count(&self) -> usize {
        self.ends.len()
    }

    fn item(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.text[start..self.ends[i]]
    }
}

/// What [`create`] returns to Python.
#[derive(Debug, Serialize)]
pub struct IndexInfo {
    pub id: u64,
    pub len: usize,
    pub algorithm: &'static str,
}

type Registry = RwLock<HashMap<u64, Arc<FuzzyIndex>>>;

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

fn registry() -> &'static Registry {
    static REGISTRY: std::sync::OnceLock<Registry> = std::sync::OnceLock::new();
    REGISTRY.get_or_init(Default::default)
}

/// Builds an index of `items` and registers it; search it with [`search`], free it with [`close`].
pub fn create<S: AsRef<str>>(items: &[S], algorithm: Algorithm) -> IndexInfo {
    let index = FuzzyIndex::new(items, algorithm);
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let info = IndexInfo {
        id,
        len: index.len(),
        algorithm: algorithm.name(),
    };
    registry()
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .insert(id, Arc::new(index));
    info
}

/// Searches the index `id`. An unknown or closed id is `invalid_argument`.
pub fn search(id: u64, query: &str, limit: Option<usize>) -> ToolResult<Vec<usize>> {
    let index = registry()
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .get(&id)
        .cloned()
        .ok_or_else(|| {
            ToolError::invalid_argument(format!(
                "no fuzzy index with id {id}: it was closed (create a new FuzzyIndex)"
            ))
        })?;
    Ok(index.search(query, limit))
}

/// Frees the index `id`; returns false if there was none (closing twice is harmless).
pub fn close(id: u64) -> bool {
    registry()
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .remove(&id)
        .is_some()
}

/// How many indexes are open (for tests that check nothing leaks).
pub fn open_count() -> usize {
    registry()
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fuzzy::fuzzy_search;

    #[test]
    fn index_search_equals_per_call_search() {
        let items = ["src/a.rs", "", "lib/src.py", "ünïcode/src", "x"];
        for algorithm in Algorithm::ALL {
            let index = FuzzyIndex::new(&items, algorithm);
            let from_index: Vec<&str> = index
                .search("src", None)
                .into_iter()
                .map(|i| items[i])
                .collect();
            assert_eq!(from_index, fuzzy_search("src", &items, None, algorithm));
        }
    }

    #[test]
    fn closed_index_cannot_be_searched() {
        let info = create(&["a", "b"], Algorithm::Nucleo);
        assert_eq!(search(info.id, "a", None).unwrap(), [0]);
        assert!(close(info.id));
        assert!(!close(info.id));
        assert!(search(info.id, "a", None).is_err());
    }
}
