//! One scorer per algorithm, behind one small enum. A scorer only orders items the in-order
//! filter already kept; `None` means "could not score" and puts the item after the scored ones.

use fuzzy_matcher::FuzzyMatcher;
use fuzzy_matcher::skim::SkimMatcherV2;
use nucleo_matcher::{Config, Matcher, Utf32Str};
use sublime_fuzzy::FuzzySearch;

use super::{Algorithm, Query, fold, fold_char};

/// Sublime's matcher explores every way the query can align with the item (memoised on query
/// position × item position × run length), so its work grows with the square of
/// query length × occurrences of the query's characters. Past this product the item is left
/// unscored instead of stalling the search.
pub const SUBLIME_MAX_WORK: usize = 512;

/// A scorer with its per-thread state (nucleo's matrix, skim's caches).
pub enum Scorer<'q> {
    Nucleo(NucleoScorer),
    /// Boxed: skim's matcher carries its caches inline (1.6 KB).
    Skim(Box<SkimScorer<'q>>),
    Sublime(SublimeScorer<'q>),
}

impl<'q> Scorer<'q> {
    /// A scorer of `algorithm` for `query`; build one per thread.
    pub fn new(algorithm: Algorithm, query: &'q Query) -> Self {
        match algorithm {
            Algorithm::Nucleo => Scorer::Nucleo(NucleoScorer::new(query)),
            Algorithm::Skim => Scorer::Skim(Box::new(SkimScorer::new(query))),
            Algorithm::Sublime => Scorer::Sublime(SublimeScorer { query }),
        }
    }

    /// The score of `item` (higher is better), or None if the algorithm cannot score it.
    pub fn score(&mut self, item: &str) -> Option<i64> {
        match self {
            Scorer::Nucleo(s) => s.score(item),
            Scorer::Skim(s) => s.score(item),
            Scorer::Sublime(s) => s.score(item),
        }
    }
}

/// nucleo with its file-path bonuses. Accent folding is off: the filter compares code points,
/// so `é` never stands for `e`.
pub struct NucleoScorer {
    matcher: Matcher,
    /// The needle as nucleo wants it: case-folded with nucleo's own table when ignoring case.
    needle: Vec<char>,
    needle_ascii: Option<Vec<u8>>,
    buffer: Vec<char>,
}

impl NucleoScorer {
    fn new(query: &Query) -> Self {
        let mut config = Config::DEFAULT.match_paths();
        config.normalize = false;
        config.ignore_case = query.ignore_case;
        let needle: Vec<char> = if query.ignore_case {
            query
                .text
                .chars()
                .map(nucleo_matcher::chars::to_lower_case)
                .collect()
        } else {
            query.text.chars().collect()
        };
        let needle_ascii = needle
            .iter()
            .all(char::is_ascii)
            .then(|| needle.iter().map(|&c| c as u8).collect());
        NucleoScorer {
            matcher: Matcher::new(config),
            needle,
            needle_ascii,
            buffer: Vec::new(),
        }
    }

    fn score(&mut self, item: &str) -> Option<i64> {
        let needle = match &self.needle_ascii {
            Some(bytes) => Utf32Str::Ascii(bytes),
            None => Utf32Str::Unicode(&self.needle),
        };
        let haystack = Utf32Str::new(item, &mut self.buffer);
        self.matcher.fuzzy_match(haystack, needle).map(i64::from)
    }
}

/// skim v2. It folds ASCII only, so an item it cannot match as typed (a non-ASCII letter in
/// another case) is scored again with both sides folded.
pub struct SkimScorer<'q> {
    matcher: SkimMatcherV2,
    query: &'q Query,
    folded_query: String,
}

impl<'q> SkimScorer<'q> {
    fn new(query: &'q Query) -> Self {
        let matcher = SkimMatcherV2::default();
        let matcher = if query.ignore_case {
            matcher.ignore_case()
        } else {
            matcher.respect_case()
        };
        SkimScorer {
            matcher,
            query,
            folded_query: query.chars.iter().collect(),
        }
    }

    fn score(&mut self, item: &str) -> Option<i64> {
        self.matcher
            .fuzzy_match(item, &self.query.text)
            .or_else(|| {
                if self.query.ignore_case && !item.is_ascii() {
                    self.matcher.fuzzy_match(&fold(item), &self.folded_query)
                } else {
                    None
                }
            })
    }
}

/// Sublime Text's algorithm, within [`SUBLIME_MAX_WORK`].
pub struct SublimeScorer<'q> {
    query: &'q Query,
}

impl SublimeScorer<'_> {
    fn score(&mut self, item: &str) -> Option<i64> {
        let query = self.query;
        let occurrences = item
            .chars()
            .filter(|&c| {
                let c = if query.ignore_case { fold_char(c) } else { c };
                query.chars.contains(&c)
            })
            .count();
        if query.chars.len().saturating_mul(occurrences) > SUBLIME_MAX_WORK {
            return None;
        }
        let search = FuzzySearch::new(&query.text, item);
        let search = if query.ignore_case {
            search.case_insensitive()
        } else {
            search.case_sensitive()
        };
        search.best_match().map(|m| m.score() as i64)
    }
}
