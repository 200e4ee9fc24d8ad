//! `fuzzy`: rank strings (file paths, usually) against a query typed by a person.
//!
//! One rule decides *which* items match, for every algorithm and both backends: the query's
//! characters occur in the item in order, compared case-insensitively unless the query holds an
//! upper-case letter ("smart case"). The algorithm only decides the *order*: nucleo (Helix's
//! matcher), skim v2 (`fuzzy-matcher`) or Sublime Text's (`sublime_fuzzy`). An item the filter
//! keeps but the algorithm cannot score (a case mapping it does not know, an input over the work
//! limits) still comes back, after the scored ones. Ties keep input order.
//!
//! Two ways in: [`rank`] takes the items on every call (the migration plan's per-call path), and
//! [`index`] keeps them on this side so a search sends only the query. Large lists are scored on
//! several threads.
//!
//! The twin is `ironcode/twin/fuzzy.py` (rapidfuzz scoring, the same filter).

use std::borrow::Cow;
use std::num::NonZeroUsize;
use std::ops::Range;
use std::thread;

use serde::Deserialize;

use crate::error::{ToolError, ToolResult};

pub mod index;
mod scorers;

pub use index::{FuzzyIndex, IndexInfo};
use scorers::Scorer;

/// Results returned when the caller gives no limit (OPERATIONS.md: `limit=50`).
pub const DEFAULT_LIMIT: usize = 50;
/// The algorithm used when none is named: the fastest native one in `script/bench-fuzzy.py`.
pub const DEFAULT_ALGORITHM: Algorithm = Algorithm::Nucleo;
/// Scoring costs about query length × item length; beyond this many cells an item is kept
/// (the filter already accepted it) but not scored, so one pathological item cannot stall a call.
pub const MAX_SCORE_CELLS: usize = 1 << 20;
/// Lists shorter than this are scored on the calling thread: spawning costs more than it saves.
pub const PARALLEL_MIN_ITEMS: usize = 8192;
/// Never more scoring threads than this, however many cores the machine has.
pub const MAX_THREADS: usize = 8;
/// Scoring threads get a generous stack: sublime's matcher recurses once per query character.
const WORKER_STACK_BYTES: usize = 8 << 20;
/// The score of an item the algorithm could not score: after every scored item.
const UNSCORED: i64 = i64::MIN;

/// A ranking algorithm of the native backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// `nucleo-matcher` with its file-path bonuses (`Config::match_paths`).
    Nucleo,
    /// `fuzzy-matcher`'s `SkimMatcherV2`.
    Skim,
    /// `sublime_fuzzy`'s `best_match`.
    Sublime,
}

impl Algorithm {
    /// Every native algorithm, in the order tables show them.
    pub const ALL: [Algorithm; 3] = [Algorithm::Nucleo, Algorithm::Skim, Algorithm::Sublime];

    /// The algorithm called `name`; `None` is [`DEFAULT_ALGORITHM`].
    pub fn parse(name: Option<&str>) -> ToolResult<Self> {
        match name {
            None => Ok(DEFAULT_ALGORITHM),
            Some("nucleo") => Ok(Algorithm::Nucleo),
            Some("skim") => Ok(Algorithm::Skim),
            Some("sublime") => Ok(Algorithm::Sublime),
            Some("rapidfuzz") => Err(ToolError::invalid_argument(
                "algorithm 'rapidfuzz' is served by the Python backend; \
                 call ironcode.fuzzy_search(..., algorithm='rapidfuzz')",
            )),
            Some(other) => Err(ToolError::invalid_argument(format!(
                "unknown fuzzy algorithm '{other}'; use nucleo, skim, sublime or rapidfuzz"
            ))),
        }
    }

    /// The name [`Algorithm::parse`] accepts.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Nucleo => "nucleo",
            Algorithm::Skim => "skim",
            Algorithm::Sublime => "sublime",
        }
    }
}

/// A query ready for matching: smart case decided, characters folded when case is ignored.
#[derive(Debug, Clone)]
pub struct Query {
    /// The query as typed.
    pub text: String,
    /// The characters the filter looks for: folded with [`fold_char`] when `ignore_case`.
    pub chars: Vec<char>,
    /// True unless the query holds an upper-case letter.
    pub ignore_case: bool,
}

/// Parses `query` with smart case: case is ignored unless some character is upper case.
pub fn parse_query(query: &str) -> Query {
    let ignore_case = !query.chars().any(char::is_uppercase);
    let chars = if ignore_case {
        query.chars().map(fold_char).collect()
    } else {
        query.chars().collect()
    };
    Query {
        text: query.to_string(),
        chars,
        ignore_case,
    }
}

/// The character compared when case is ignored: its lower case if that is one character, else
/// itself (`İ` lowercases to two characters and stays `İ`). The twin folds the same way.
pub fn fold_char(c: char) -> char {
    if c.is_ascii() {
        return c.to_ascii_lowercase();
    }
    let mut lower = c.to_lowercase();
    match (lower.len(), lower.next()) {
        (1, Some(l)) => l,
        _ => c,
    }
}

/// `text` with every character folded by [`fold_char`].
pub fn fold(text: &str) -> String {
    text.chars().map(fold_char).collect()
}

/// True if the query's characters occur in `item` in order (folded when the query ignores case).
pub fn matches_in_order(query: &Query, item: &str) -> bool {
    if item.is_ascii() {
        // Paths are nearly always ASCII: compare bytes, and jump to each next character with memchr.
        let mut rest = item.as_bytes();
        for &c in &query.chars {
            if !c.is_ascii() {
                return false;
            }
            let c = c as u8;
            let found = if query.ignore_case && c.is_ascii_lowercase() {
                memchr::memchr2(c, c.to_ascii_uppercase(), rest)
            } else {
                memchr::memchr(c, rest)
            };
            match found {
                Some(at) => rest = &rest[at + 1..],
                None => return false,
            }
        }
        return true;
    }
    let mut wanted = query.chars.iter().copied().peekable();
    for c in item.chars() {
        let Some(&next) = wanted.peek() else {
            return true;
        };
        let c = if query.ignore_case { fold_char(c) } else { c };
        if c == next {
            wanted.next();
        }
    }
    wanted.peek().is_none()
}

/// A list of items, however it is stored: a slice of strings, or an index's packed buffer.
pub trait ItemSource: Sync {
    /// How many items there are.
    fn count(&self) -> usize;
    /// Item `i` (`i < count()`).
    fn item(&self, i: usize) -> &str;
}

impl<S: AsRef<str> + Sync> ItemSource for [S] {
    fn count(&self) -> usize {
        self.len()
    }
    fn item(&self, i: usize) -> &str {
        self[i].as_ref()
    }
}

/// Ranks `items` against `query`: the indices of the matching items, best first, at most `limit`
/// (None = all). An empty query keeps the first `limit` items in input order.
pub fn rank<S: ItemSource + ?Sized>(
    query: &str,
    items: &S,
    limit: Option<usize>,
    algorithm: Algorithm,
) -> Vec<usize> {
    let n = items.count();
    let limit = limit.unwrap_or(n);
    if query.is_empty() {
        return (0..n.min(limit)).collect();
    }
    let query = parse_query(query);
    best(score_all(&query, items, algorithm), limit)
}

/// [`rank`], returning the items themselves.
pub fn fuzzy_search<S: AsRef<str> + Sync>(
    query: &str,
    items: &[S],
    limit: Option<usize>,
    algorithm: Algorithm,
) -> Vec<String> {
    rank(query, items, limit, algorithm)
        .into_iter()
        .map(|i| items[i].as_ref().to_string())
        .collect()
}

/// `(score, index)` of every item that passes the in-order filter, on several threads when the
/// list is long.
fn score_all<S: ItemSource + ?Sized>(
    query: &Query,
    items: &S,
    algorithm: Algorithm,
) -> Vec<(i64, usize)> {
    let n = items.count();
    let threads = thread_count(n);
    if threads <= 1 {
        return score_range(query, items, algorithm, 0..n);
    }
    let chunk = n.div_ceil(threads);
    let ranges: Vec<Range<usize>> = (0..threads)
        .map(|t| t * chunk..n.min((t + 1) * chunk))
        .collect();
    thread::scope(|scope| {
        let workers: Vec<_> = ranges
            .iter()
            .map(|range| {
                let range = range.clone();
                let spawned = thread::Builder::new()
                    .name("ironcode-fuzzy".into())
                    .stack_size(WORKER_STACK_BYTES)
                    .spawn_scoped(scope, {
                        let range = range.clone();
                        move || score_range(query, items, algorithm, range)
                    });
                (range, spawned)
            })
            .collect();
        let mut scored = Vec::new();
        for (range, spawned) in workers {
            match spawned {
                Ok(handle) => match handle.join() {
                    Ok(part) => scored.extend(part),
                    // Re-raise on this thread, inside the export's landing pad.
                    Err(payload) => std::panic::resume_unwind(payload),
                },
                // No thread to be had: score this part here rather than fail the search.
                Err(_) => scored.extend(score_range(query, items, algorithm, range)),
            }
        }
        scored
    })
}

fn thread_count(items: usize) -> usize {
    if items < PARALLEL_MIN_ITEMS {
        return 1;
    }
    let cores = thread::available_parallelism().map_or(1, NonZeroUsize::get);
    cores.min(MAX_THREADS).min(items / (PARALLEL_MIN_ITEMS / 2))
}

fn score_range<S: ItemSource + ?Sized>(
    query: &Query,
    items: &S,
    algorithm: Algorithm,
    range: Range<usize>,
) -> Vec<(i64, usize)> {
    let mut scorer = Scorer::new(algorithm, query);
    let mut scored = Vec::new();
    for i in range {
        let item = items.item(i);
        if matches_in_order(query, item) {
            let score = if query.chars.len().saturating_mul(item.len()) > MAX_SCORE_CELLS {
                UNSCORED
            } else {
                scorer.score(item).unwrap_or(UNSCORED)
            };
            scored.push((score, i));
        }
    }
    scored
}

/// The indices of the `limit` best `(score, index)` pairs: higher score first, then input order.
fn best(mut scored: Vec<(i64, usize)>, limit: usize) -> Vec<usize> {
    let order = |a: &(i64, usize), b: &(i64, usize)| b.0.cmp(&a.0).then(a.1.cmp(&b.1));
    if limit == 0 {
        return Vec::new();
    }
    if limit < scored.len() {
        scored.select_nth_unstable_by(limit - 1, order);
        scored.truncate(limit);
    }
    scored.sort_unstable_by(order);
    scored.into_iter().map(|(_, i)| i).collect()
}

/// Splits the packed form of a list — the items joined by NUL bytes — and checks that it held
/// `count` items (an item holding NUL must travel as JSON instead, see [`items_from_json`]).
pub fn unpack_items(packed: &str, count: usize) -> ToolResult<Vec<&str>> {
    if count == 0 {
        return if packed.is_empty() {
            Ok(Vec::new())
        } else {
            Err(ToolError::invalid_argument(
                "items: 0 items announced but the buffer is not empty",
            ))
        };
    }
    let items: Vec<&str> = packed.split('\0').collect();
    if items.len() != count {
        return Err(ToolError::invalid_argument(format!(
            "items: {count} items announced but the NUL-separated buffer holds {}",
            items.len()
        )));
    }
    Ok(items)
}

/// Decodes a JSON list of strings (the transport for items that hold NUL bytes).
pub fn items_from_json(json: &str) -> ToolResult<Vec<Cow<'_, str>>> {
    #[derive(Deserialize)]
    struct Items<'a>(#[serde(borrow)] Vec<Cow<'a, str>>);
    serde_json::from_str::<Items>(json)
        .map(|items| items.0)
        .map_err(|e| ToolError::invalid_argument(format!("items must be a list of strings: {e}")))
}

/// The items of an FFI call, packed (NUL-separated, the fast path) or as JSON.
pub fn decode_items(buffer: &str, count: usize, json: bool) -> ToolResult<Vec<Cow<'_, str>>> {
    if json {
        items_from_json(buffer)
    } else {
        Ok(unpack_items(buffer, count)?
            .into_iter()
            .map(Cow::Borrowed)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn search(query: &str, items: &[&str], algorithm: Algorithm) -> Vec<String> {
        fuzzy_search(query, items, None, algorithm)
    }

    #[test]
    fn smart_case_ignores_case_only_for_lower_case_queries() {
        assert!(parse_query("src").ignore_case);
        assert!(!parse_query("Src").ignore_case);
        assert!(parse_query("über").ignore_case);
        assert!(!parse_query("Über").ignore_case);
    }

    #[test]
    fn fold_keeps_characters_whose_lower_case_is_two_characters() {
        assert_eq!(fold_char('İ'), 'İ');
        assert_eq!(fold_char('Ü'), 'ü');
        assert_eq!(fold_char('Σ'), 'σ');
        assert_eq!(fold_char('A'), 'a');
    }

    #[test]
    fn in_order_filter_is_the_same_for_every_algorithm() {
        let items = ["src/main.rs", "SRC/lib.rs", "s/r/c", "crs", "docs/readme"];
        for algorithm in Algorithm::ALL {
            let mut got = search("src", &items, algorithm);
            got.sort();
            assert_eq!(got, ["SRC/lib.rs", "s/r/c", "src/main.rs"], "{algorithm:?}");
            assert_eq!(search("SRC", &items, algorithm), ["SRC/lib.rs"]);
        }
    }

    #[test]
    fn empty_query_keeps_the_first_items_in_order() {
        let items = ["b", "a", "c"];
        assert_eq!(rank("", &items[..], Some(2), Algorithm::Nucleo), [0, 1]);
        assert_eq!(rank("", &items[..], None, Algorithm::Skim), [0, 1, 2]);
    }

    #[test]
    fn ties_keep_input_order() {
        let items = ["x/abc", "y/abc", "z/abc"];
        for algorithm in Algorithm::ALL {
            assert_eq!(rank("abc", &items[..], None, algorithm), [0, 1, 2]);
        }
    }

    #[test]
    fn limit_zero_returns_nothing() {
        assert!(rank("a", &["a"][..], Some(0), Algorithm::Nucleo).is_empty());
    }

    #[test]
    fn parallel_scoring_gives_the_serial_answer() {
        let items: Vec<String> = (0..PARALLEL_MIN_ITEMS * 3)
            .map(|i| format!("dir{}/file{}.rs", i % 97, i))
            .collect();
        for algorithm in Algorithm::ALL {
            let query = parse_query("d1f2");
            let serial = best(
                score_range(&query, &items[..], algorithm, 0..items.len()),
                100,
            );
            assert_eq!(rank("d1f2", &items[..], Some(100), algorithm), serial);
        }
    }

    #[test]
    fn huge_items_are_kept_unscored_after_scored_ones() {
        let huge = format!("a{}b", "x".repeat(MAX_SCORE_CELLS));
        let items = [huge.as_str(), "ab"];
        for algorithm in Algorithm::ALL {
            assert_eq!(rank("ab", &items[..], None, algorithm), [1, 0]);
        }
    }

    #[test]
    fn packed_items_must_match_the_announced_count() {
        assert_eq!(unpack_items("a\0b", 2).unwrap(), ["a", "b"]);
        assert_eq!(unpack_items("", 1).unwrap(), [""]);
        assert!(unpack_items("", 0).unwrap().is_empty());
        assert!(unpack_items("a\0b", 3).is_err());
        assert!(unpack_items("a", 0).is_err());
    }

    #[test]
    fn json_items_may_hold_nul() {
        let items = items_from_json(r#"["a\u0000b", "c"]"#).unwrap();
        assert_eq!(items, ["a\0b", "c"]);
        assert!(items_from_json("[1]").is_err());
    }

    #[test]
    fn unknown_algorithm_is_invalid_argument() {
        assert!(Algorithm::parse(Some("fzf")).is_err());
        assert!(Algorithm::parse(Some("rapidfuzz")).is_err());
        assert_eq!(Algorithm::parse(None).unwrap(), DEFAULT_ALGORITHM);
    }
}
