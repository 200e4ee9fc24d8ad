"""Ranking quality: queries typed the way people type them, over a real path list.

``test/data/fuzzy-paths.txt`` is this repository's files plus the Python 3.11 standard library (a
frozen snapshot, so the ranks do not move when files are added); ``fuzzy-quality.json`` pairs each
query with the file it means. ``script/bench-fuzzy-all.py`` prints every implementation's rank for
every query; here the minimums are asserted.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import ironcode

DATA = Path(__file__).resolve().parent / "data"
PATHS = (DATA / "fuzzy-paths.txt").read_text().splitlines()
CASES = json.loads((DATA / "fuzzy-quality.json").read_text())["cases"]
ALGORITHMS = ("nucleo", "skim", "sublime", "rapidfuzz")
#: Every implementation must put the expected file in its top 5 for this share of the queries.
MIN_TOP5_SHARE = 0.9


def rank_of(found: list[str], expected: str) -> int | None:
    return found.index(expected) + 1 if expected in found else None


def test_the_quality_set_is_real_and_large_enough():
    assert len(CASES) >= 20
    assert len(PATHS) > 2000
    for case in CASES:
        assert case["expected"] in PATHS, case


@pytest.mark.parametrize("case", CASES, ids=[c["query"] for c in CASES])
def test_default_search_puts_the_expected_file_in_the_top_5(impl, case):
    assert rank_of(impl.fuzzy_search(case["query"], PATHS, 5), case["expected"]), case


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_every_algorithm_finds_most_expected_files_in_the_top_5(algorithm):
    misses = [
        case["query"]
        for case in CASES
        if not rank_of(ironcode.fuzzy_search(case["query"], PATHS, 5, algorithm), case["expected"])
    ]
    assert len(misses) <= (1 - MIN_TOP5_SHARE) * len(CASES), misses


def test_the_index_ranks_the_quality_set_like_the_per_call_search(impl):
    with impl.FuzzyIndex(PATHS) as index:
        for case in CASES[:10]:
            assert index.search(case["query"], 10) == impl.fuzzy_search(case["query"], PATHS, 10)
