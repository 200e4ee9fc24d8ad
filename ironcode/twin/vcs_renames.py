"""Twin of native/tool/src/vcs/renames.rs: git's rename and copy detection (diffcore-rename).

libgit2's own rename detection disagrees with git's (another similarity measure, no symlink renames,
type changes used as sources), so ``git status`` is matched by porting git's algorithm instead:

1. exact renames: same blob id (and, for symlinks and submodules, the same mode); among equal
   candidates the first unused source with the same file name wins, else the first unused one;
2. (renames only) files whose name is unique on both sides are paired when they are at least 75 %
   similar (half-way between the minimum score and 100 %);
3. the remaining destinations are scored against the remaining sources — unless there are more
   than ``rename_limit``² pairs — keeping the 4 best sources per destination, and the pairs are
   taken best first while their score reaches 50 %.

Similarity is git's ``diffcore_count_changes``: content is cut into chunks ending at a newline or
after 64 bytes, each chunk hashed into one of 107,927 buckets; the score is the number of source
bytes found again in the destination over the larger of the two sizes (60,000 = identical).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

#: git's scale for similarity scores: 60,000 is "identical".
MAX_SCORE = 60000
#: The default minimum score for a rename (git's -M50%).
DEFAULT_RENAME_SCORE = 30000
#: How many best sources the inexact matrix keeps per destination.
NUM_CANDIDATES_PER_DST = 4
#: How many identical sources an exact match looks at before it settles.
EXACT_CANDIDATE_LIMIT = 100
#: Name-based pairing needs a score this far from the minimum towards 100 %.
BASENAME_SCORE_FACTOR = 0.5
#: The prime number of hash buckets chunks are counted in.
HASHBASE = 107927
#: A chunk ends at a newline or after this many bytes.
CHUNK_MAX_BYTES = 64
#: Content with a NUL byte in its first 8,000 bytes is binary (CR before LF then counts).
BINARY_SNIFF_BYTES = 8000
#: Rename detection modes (git's diff.renames / status.renames).
DETECT_OFF, DETECT_RENAMES, DETECT_COPIES = 0, 1, 2

_S_IFMT = 0o170000
_S_IFREG = 0o100000
_MASK32 = 0xFFFFFFFF


@dataclass(eq=False)
class FileSpec:
    """One side of a pair: a blob id (None: hash the content when needed), a mode, and a loader."""

    path: str
    mode: int
    oid: str | None
    load: Callable[[], bytes]
    rename_used: int = 0
    _data: bytes | None = field(default=None, repr=False)
    _counts: dict[int, int] | None = field(default=None, repr=False)

    def data(self) -> bytes:
        if self._data is None:
            self._data = self.load()
        return self._data

    def blob_id(self) -> str:
        if self.oid is None:
            self.oid = blob_hash(self.data())
        return self.oid

    def counts(self) -> dict[int, int]:
        if self._counts is None:
            self._counts = span_hashes(self.data())
        return self._counts


@dataclass(eq=False)
class Pair:
    """A changed path: ``one`` is the old side (None: created), ``two`` the new (None: deleted).

    ``letter`` is the status the pair shows unless it becomes a rename or copy (A D M T).
    """

    letter: str
    path: str
    one: FileSpec | None
    two: FileSpec | None
    source: FileSpec | None = None
    score: int = 0


@dataclass(frozen=True)
class Change:
    """One line of the result: ``letter`` is A D M T R or C; ``orig_path`` and ``similarity``
    (percent) are set for renames and copies."""

    letter: str
    path: str
    orig_path: str | None = None
    similarity: int | None = None


def blob_hash(data: bytes) -> str:
    """The git blob id of ``data``."""
    import hashlib

    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def is_regular(mode: int) -> bool:
    return mode & _S_IFMT == _S_IFREG


def span_hashes(data: bytes) -> dict[int, int]:
    """Bucket -> bytes: chunks end at a newline, after 64 bytes, or at the end; in text, a CR
    right before a LF is skipped."""
    is_text = b"\0" not in data[:BINARY_SNIFF_BYTES]
    counts: dict[int, int] = {}
    accum1 = accum2 = 0
    n = 0
    size = len(data)
    for i, c in enumerate(data):
        if is_text and c == 13 and i + 1 < size and data[i + 1] == 10:
            continue
        old1 = accum1
        accum1 = ((accum1 << 7) ^ (accum2 >> 25)) & _MASK32
        accum2 = ((accum2 << 7) ^ (old1 >> 25)) & _MASK32
        accum1 = (accum1 + c) & _MASK32
        n += 1
        if n < CHUNK_MAX_BYTES and c != 10:
            continue
        bucket = ((accum1 + accum2 * 0x61) & _MASK32) % HASHBASE
        counts[bucket] = counts.get(bucket, 0) + n
        n = 0
        accum1 = accum2 = 0
    if n:
        bucket = ((accum1 + accum2 * 0x61) & _MASK32) % HASHBASE
        counts[bucket] = counts.get(bucket, 0) + n
    return counts


def count_copied(src: dict[int, int], dst: dict[int, int]) -> int:
    """Bytes of the source found again in the destination, bucket by bucket."""
    if len(dst) < len(src):
        return sum(min(count, src[b]) for b, count in dst.items() if b in src)
    return sum(min(count, dst[b]) for b, count in src.items() if b in dst)


def estimate_similarity(src: FileSpec, dst: FileSpec, minimum_score: int) -> int:
    """git's similarity score (0..60000) of two regular files; 0 for anything else or for sizes
    too different to ever reach ``minimum_score``."""
    if not is_regular(src.mode) or not is_regular(dst.mode):
        return 0
    src_size = len(src.data())
    dst_size = len(dst.data())
    max_size = max(src_size, dst_size)
    delta_size = max_size - min(src_size, dst_size)
    # git compares in floating point (MAX_SCORE is a double there); so do we, to agree at the edges.
    if max_size * (float(MAX_SCORE) - minimum_score) < delta_size * float(MAX_SCORE):
        return 0
    if dst_size == 0:
        return 0
    copied = count_copied(src.counts(), dst.counts())
    return int(copied * float(MAX_SCORE) / max_size)


def basename(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def same_basename(a: str, b: str) -> bool:
    return basename(a) == basename(b)


@dataclass
class _Candidate:
    score: int
    name_score: int
    dst: int
    src: int


def _worse(a: _Candidate | None, b: _Candidate | None) -> bool:
    """True when ``a`` sorts after ``b`` (git's score_compare(a, b) > 0); empty slots sort last."""
    if a is None:
        return b is not None
    if b is None:
        return False
    if a.score == b.score:
        return a.name_score < b.name_score
    return a.score < b.score


def _record_if_better(slots: list[_Candidate | None], candidate: _Candidate) -> None:
    worst = 0
    for i in range(1, NUM_CANDIDATES_PER_DST):
        if _worse(slots[i], slots[worst]):
            worst = i
    if _worse(slots[worst], candidate):
        slots[worst] = candidate


def _record_rename(dst: Pair, src: Pair, score: int) -> None:
    assert src.one is not None
    src.one.rename_used += 1
    dst.source = src.one
    dst.score = score


def _find_exact_renames(dsts: list[Pair], srcs: list[Pair], want_copies: bool) -> int:
    by_blob: dict[str, list[Pair]] = {}
    for src in srcs:
        assert src.one is not None
        by_blob.setdefault(src.one.blob_id(), []).append(src)
    renames = 0
    for dst in dsts:
        assert dst.two is not None
        target = dst.two
        best: Pair | None = None
        best_score = -1
        budget = EXACT_CANDIDATE_LIMIT
        for src in by_blob.get(target.blob_id(), ()):
            source = src.one
            assert source is not None
            if (not is_regular(source.mode) or not is_regular(target.mode)) and source.mode != target.mode:
                continue
            if source.rename_used and not want_copies:
                continue
            score = (0 if source.rename_used else 1) + same_basename(source.path, target.path)
            if score > best_score:
                best, best_score = src, score
                if score == 2:
                    break
            budget -= 1
            if not budget:
                break
        if best is not None:
            _record_rename(dst, best, MAX_SCORE)
            renames += 1
    return renames


def _find_basename_matches(dsts: list[Pair], srcs: list[Pair], minimum_score: int) -> int:
    """Pairs a source and a destination whose file name is unique on both sides, if similar."""
    unique_src: dict[str, int] = {}
    for i, src in enumerate(srcs):
        name = basename(src.path)
        unique_src[name] = -1 if name in unique_src else i
    unique_dst: dict[str, int] = {}
    for i, dst in enumerate(dsts):
        if dst.source is not None:
            continue
        name = basename(dst.path)
        unique_dst[name] = -1 if name in unique_dst else i
    renames = 0
    for i, src in enumerate(srcs):
        name = basename(src.path)
        if unique_src[name] != i or unique_dst.get(name, -1) == -1:
            continue
        dst = dsts[unique_dst[name]]
        assert src.one is not None and dst.two is not None
        score = estimate_similarity(src.one, dst.two, minimum_score)
        if score < minimum_score:
            continue
        _record_rename(dst, src, score)
        renames += 1
    return renames


def _find_inexact_renames(dsts: list[Pair], srcs: list[Pair], minimum_score: int, want_copies: bool) -> None:
    matrix: list[_Candidate | None] = []
    for d, dst in enumerate(dsts):
        if dst.source is not None:
            continue
        assert dst.two is not None
        slots: list[_Candidate | None] = [None] * NUM_CANDIDATES_PER_DST
        for s, src in enumerate(srcs):
            assert src.one is not None
            score = estimate_similarity(src.one, dst.two, minimum_score)
            name_score = int(same_basename(src.path, dst.path))
            _record_if_better(slots, _Candidate(score, name_score, d, s))
        matrix.extend(slots)
    # Stable, best first: git's STABLE_QSORT with score_compare.
    matrix.sort(key=lambda c: (1, 0, 0) if c is None else (0, -c.score, -c.name_score))
    for copies in (False, True) if want_copies else (False,):
        for candidate in matrix:
            if candidate is None or candidate.score < minimum_score:
                break
            dst = dsts[candidate.dst]
            src = srcs[candidate.src]
            assert src.one is not None
            if dst.source is not None:
                continue
            if not copies and src.one.rename_used:
                continue
            _record_rename(dst, src, candidate.score)


def detect_renames(pairs: list[Pair], detect: int, rename_limit: int) -> list[Change]:
    """Resolves renames (and copies) among ``pairs`` — sorted by path, as git queues them — and
    returns one change per remaining pair, in the same order."""
    want_copies = detect == DETECT_COPIES
    dsts: list[Pair] = []
    srcs: list[Pair] = []
    if detect != DETECT_OFF:
        for pair in pairs:
            if pair.one is None and pair.two is not None:
                dsts.append(pair)
            elif pair.one is not None and pair.two is None:
                srcs.append(pair)
            elif want_copies and pair.one is not None:
                # A kept file is a copy source; counting it as a user makes every use a copy.
                pair.one.rename_used += 1
                srcs.append(pair)
    if dsts and srcs:
        _find_renames(dsts, srcs, want_copies, rename_limit)
    return _resolve(pairs)


def _find_renames(dsts: list[Pair], srcs: list[Pair], want_copies: bool, rename_limit: int) -> None:
    minimum_score = DEFAULT_RENAME_SCORE
    rename_count = _find_exact_renames(dsts, srcs, want_copies)
    if not want_copies:
        srcs = [s for s in srcs if s.one is not None and not s.one.rename_used]
        basename_score = minimum_score + int(BASENAME_SCORE_FACTOR * (MAX_SCORE - minimum_score))
        rename_count += _find_basename_matches(dsts, srcs, basename_score)
        srcs = [s for s in srcs if s.one is not None and not s.one.rename_used]
    num_destinations = len(dsts) - rename_count
    if not num_destinations or not srcs:
        return
    if rename_limit > 0 and num_destinations * len(srcs) > rename_limit * rename_limit:
        return  # git skips inexact detection above the limit ("too many files")
    _find_inexact_renames(dsts, srcs, minimum_score, want_copies)


def _resolve(pairs: list[Pair]) -> list[Change]:
    # A deletion whose file was used by a rename or copy disappears: decided before the letters,
    # whose counting below uses up `rename_used`.
    kept = [p for p in pairs if not (p.two is None and p.one is not None and p.one.rename_used)]
    out: list[Change] = []
    for pair in kept:
        if pair.one is None and pair.source is not None:
            # A source used N times: the first N-1 destinations (in path order) are copies, the
            # last one the rename — unless the source itself stays, which makes all of them copies.
            source = pair.source
            source.rename_used -= 1
            letter = "C" if source.rename_used > 0 else "R"
            similarity = int(pair.score * 100 / float(MAX_SCORE))
            out.append(Change(letter, pair.path, source.path, similarity))
        else:
            out.append(Change(pair.letter, pair.path))
    return out
