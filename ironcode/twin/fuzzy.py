"""Twin of native/tool/src/fuzzy.rs: rank strings (file paths) against a typed query.

The same rule decides *which* items match: the query's characters occur in the item in order,
compared case-insensitively unless the query holds an upper-case letter (smart case). Scoring is
rapidfuzz's; an item the scorer cannot score (over the work limit) comes back after the scored
ones, and ties keep input order — as in the native module.

Both steps run inside rapidfuzz's C++ loops, not per item in Python: the in-order filter is
"the longest common subsequence of query and item is the whole query" (``LCSseq``, bit-parallel),
and the scorer is applied by ``process.extract_iter`` to the survivors only.

Why the ``path`` scorer (see :data:`SCORERS`; ``script/bench-fuzzy-all.py`` prints the quality
table that chose it): every item that survives the filter already holds the whole query as a
subsequence, so what separates them is how much *else* they hold. ``fuzz.ratio`` (normalised Indel
similarity: 2·|query| / (|query| + |item|) once the filter has passed) says exactly that, shorter
paths first, which is how ``argparse`` finds ``argparse.py`` before ``test/test_argparse.py``.
A small share of the same score on the file name alone (:data:`NAME_WEIGHT`) breaks near-ties
toward files whose *name* the query spells (``librs`` wants a file called lib.rs: rank 19 with
``ratio`` alone, 4 with the name's share). ``partial_ratio`` and ``WRatio`` reward the
best-aligned window instead, which many long paths also have: on the test set they rank the
expected file worse (MRR 0.84-0.86 against 0.97), and ``partial_ratio`` costs about 7x ``ratio``.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from operator import itemgetter

from rapidfuzz import fuzz, process
from rapidfuzz.distance import LCSseq

from ..errors import IronCodeError

#: Results returned when the caller gives no limit (OPERATIONS.md: ``limit=50``).
DEFAULT_LIMIT = 50
#: The algorithm of this backend, and the names the native backend serves instead.
DEFAULT_ALGORITHM = "rapidfuzz"
NATIVE_ALGORITHMS = ("nucleo", "skim", "sublime")
#: Beyond query length × item length cells an item is kept but not scored (as in fuzzy.rs).
MAX_SCORE_CELLS = 1 << 20
#: The score of an item that could not be scored: after every scored item.
UNSCORED = float("-inf")


def parse_algorithm(name: str | None) -> str:
    """The algorithm called ``name``; None is :data:`DEFAULT_ALGORITHM`."""
    if name is None or name == DEFAULT_ALGORITHM:
        return DEFAULT_ALGORITHM
    if name in NATIVE_ALGORITHMS:
        raise IronCodeError(
            "invalid_argument",
            f"algorithm {name!r} is served by the native backend; "
            f"call ironcode.fuzzy_search(..., algorithm={name!r})",
        )
    raise IronCodeError(
        "invalid_argument", f"unknown fuzzy algorithm {name!r}; use nucleo, skim, sublime or rapidfuzz"
    )


@dataclass(frozen=True)
class Query:
    """A query ready for matching: smart case decided, characters folded when case is ignored."""

    text: str
    #: The characters the filter looks for: folded with :func:`fold_char` when ``ignore_case``.
    chars: str
    ignore_case: bool


def parse_query(query: str) -> Query:
    """Parses ``query`` with smart case: case is ignored unless some character is upper case."""
    ignore_case = not any(c.isupper() for c in query)
    return Query(query, fold(query) if ignore_case else query, ignore_case)


def fold_char(c: str) -> str:
    """The character compared when case is ignored: its lower case if that is one character, else
    itself (``İ`` lowercases to two characters and stays ``İ``). fuzzy.rs folds the same way."""
    lower = c.lower()
    return lower if len(lower) == 1 else c


#: The only characters for which ``str.lower`` differs from folding one character at a time:
#: ``İ`` (two characters) and ``Σ`` (final sigma depends on the neighbours).
_CONTEXT_CASED = ("\u0130", "\u03a3")


def fold(text: str) -> str:
    """``text`` with every character folded by :func:`fold_char` (``str.lower`` when equal)."""
    if text.isascii() or not any(c in text for c in _CONTEXT_CASED):
        return text.lower()
    return "".join(map(fold_char, text))


def matches_in_order(query: Query, item: str) -> bool:
    """True if the query's characters occur in ``item`` in order (folded when ignoring case)."""
    haystack = iter(fold(item) if query.ignore_case else item)
    return all(c in haystack for c in query.chars)


def in_order_matches(query: Query, haystacks: Sequence[str]) -> list[int]:
    """Indices of the haystacks (already folded when ignoring case) that :func:`matches_in_order`.

    The query is a subsequence of an item exactly when their longest common subsequence is the
    whole query, which rapidfuzz computes for the whole list in C++.
    """
    found = process.extract_iter(
        query.chars, haystacks, scorer=LCSseq.similarity, score_cutoff=len(query.chars)
    )
    return [index for _, _, index in found]


def score_partial(query: str, haystacks: Sequence[str]) -> list[float]:
    return _scores(query, haystacks, fuzz.partial_ratio)


def score_wratio(query: str, haystacks: Sequence[str]) -> list[float]:
    return _scores(query, haystacks, fuzz.WRatio)


def score_ratio(query: str, haystacks: Sequence[str]) -> list[float]:
    return _scores(query, haystacks, fuzz.ratio)


def score_path(query: str, haystacks: Sequence[str]) -> list[float]:
    """``ratio`` of the whole path, plus :data:`NAME_WEIGHT` times ``ratio`` of the file name."""
    names = [h[h.rfind("/") + 1 :] for h in haystacks]
    whole = _scores(query, haystacks, fuzz.ratio)
    named = _scores(query, names, fuzz.ratio)
    return [w + NAME_WEIGHT * n for w, n in zip(whole, named, strict=True)]


#: The file name's share in :func:`score_path`: enough to break near-ties, too little to let a
#: long path with a matching name beat a much shorter one.
NAME_WEIGHT = 0.1


def _scores(query: str, haystacks: Sequence[str], scorer: Callable) -> list[float]:
    """``scorer(query, h)`` for every haystack, in input order, each computed in rapidfuzz's C++."""
    return [score for _, score, _ in process.extract_iter(query, haystacks, scorer=scorer)]


#: Scorer name -> function(query, haystacks) -> scores in input order. The quality table of
#: ``script/bench-fuzzy-all.py`` measures each; :data:`SCORER` is the one the twin uses.
SCORERS: dict[str, Callable[[str, Sequence[str]], list[float]]] = {
    "partial_ratio": score_partial,
    "WRatio": score_wratio,
    "ratio": score_ratio,
    "path": score_path,
}
SCORER = "path"


def rank(
    query: str,
    items: Sequence[str],
    limit: int | None = DEFAULT_LIMIT,
    algorithm: str | None = None,
    *,
    folded: Sequence[str] | None = None,
    scorer: str = SCORER,
) -> list[int]:
    """Indices of the matching items, best first, at most ``limit`` (None = all); an empty query
    keeps the first ``limit`` items. ``folded`` are the items already folded (an index has them)."""
    check_query(query)
    items = check_items(items)
    limit = check_limit(limit)
    parse_algorithm(algorithm)
    n = len(items)
    if limit is None:
        limit = n
    if not query:
        return list(range(min(n, limit)))
    parsed = parse_query(query)
    if parsed.ignore_case and folded is None:
        folded = [fold(item) for item in items]
    haystacks = folded if parsed.ignore_case else items
    return best(score_all(parsed, haystacks, SCORERS[scorer]), limit)


def fuzzy_search(
    query: str, items: Sequence[str], limit: int | None = DEFAULT_LIMIT, algorithm: str | None = None
) -> list[str]:
    """:func:`rank`, returning the items themselves."""
    items = check_items(items)
    return [items[i] for i in rank(query, items, limit, algorithm)]


def score_all(
    query: Query, haystacks: Sequence[str], scorer: Callable[[str, Sequence[str]], list[float]]
) -> list[tuple[float, int]]:
    """``(score, index)`` of every haystack that passes the in-order filter, in input order."""
    candidates = in_order_matches(query, haystacks)
    longest = MAX_SCORE_CELLS // len(query.chars)
    if all(len(haystacks[i]) <= longest for i in candidates):
        return list(zip(scorer(query.chars, [haystacks[i] for i in candidates]), candidates, strict=True))
    scorable = [i for i in candidates if len(haystacks[i]) <= longest]
    scores = dict(zip(scorable, scorer(query.chars, [haystacks[i] for i in scorable]), strict=True))
    return [(scores.get(i, UNSCORED), i) for i in candidates]


def best(scored: list[tuple[float, int]], limit: int) -> list[int]:
    """The indices of the ``limit`` best pairs: higher score first, then input order (``scored``
    is in input order and ``nlargest`` is stable, like ``sorted(..., reverse=True)``)."""
    return [i for _, i in heapq.nlargest(limit, scored, key=itemgetter(0))]


class FuzzyIndex:
    """The items kept (and folded) once, so each search only scores: ``FuzzyIndex(items)`` then
    ``index.search(query, limit)``. The twin of the native index; closing is a no-op here but
    searching a closed index fails the same way."""

    def __init__(self, items: Sequence[str], algorithm: str | None = None) -> None:
        self._items = check_items(items)
        self.algorithm = parse_algorithm(algorithm)
        self._folded: list[str] | None = [fold(item) for item in self._items]

    def search(self, query: str, limit: int | None = DEFAULT_LIMIT) -> list[str]:
        """The best items for ``query``, as :func:`fuzzy_search` would rank them."""
        if self._folded is None:
            raise IronCodeError("invalid_argument", "this FuzzyIndex was closed (create a new one)")
        return [self._items[i] for i in rank(query, self._items, limit, folded=self._folded)]

    def close(self) -> None:
        self._folded = None

    def __len__(self) -> int:
        return len(self._items)

    def __enter__(self) -> FuzzyIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ---- argument checks, shared with the native wrapper (ironcode.ffi) --------------------------


def check_query(query: object) -> str:
    """A query must be a str without lone surrogates (it could not cross to the native side)."""
    if not isinstance(query, str):
        raise IronCodeError("invalid_argument", f"query must be a string, got {type(query).__name__}")
    if not query.isascii():
        _check_encodable(query, "query")
    return query


def check_items(items: object) -> list[str]:
    """Items must be a sequence (not a string) of strs without lone surrogates."""
    items, joined = join_items(items)
    if not joined.isascii():
        _check_encodable(joined, "items")
    return items


def join_items(items: object) -> tuple[list[str], str]:
    """The items as a list, and joined by NUL (one C-speed pass that also checks every type)."""
    if isinstance(items, (str, bytes, bytearray)) or not isinstance(items, Sequence):
        raise IronCodeError(
            "invalid_argument", f"items must be a list of strings, got {type(items).__name__}"
        )
    items = items if isinstance(items, list) else list(items)
    try:
        joined = "\0".join(items)
    except TypeError:
        bad = next(i for i, item in enumerate(items) if not isinstance(item, str))
        raise IronCodeError(
            "invalid_argument", f"items[{bad}] must be a string, got {type(items[bad]).__name__}"
        ) from None
    return items, joined


def check_limit(limit: object) -> int | None:
    if limit is None:
        return None
    if isinstance(limit, bool) or not isinstance(limit, int):
        raise IronCodeError("invalid_argument", f"limit must be an integer or None, got {limit!r}")
    if limit < 0:
        raise IronCodeError("invalid_argument", f"limit must not be negative, got {limit}")
    return limit


def _check_encodable(text: str, name: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        raise IronCodeError("invalid_argument", f"{name} is not valid Unicode: {e}") from None
