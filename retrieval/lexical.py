"""BM25 over `Tokenizer` terms: the lexical half of hybrid search.

Why not bm25s: bm25s scores eagerly, i.e. it stores idf(t) * tf-saturation(t, d) for every
(document, term) pair, and both idf and the average document length change with every added
or removed passage, so each `add`/`remove` would mean re-indexing everything through bm25s'
Python-level pipeline; it also has no notion of string ids or of filtering before the top-k.
Here the index stores raw term counts and scores lazily: a query reads only its own terms'
postings and applies BM25 with the current statistics.

Layout. An index is an immutable state, swapped whole by each change (so `copy` shares it and
an index being searched on another thread never sees a half-made change):
* a base: term-major (CSC) arrays `col_ptr`, `col_rows`, `col_counts` over a vocabulary sorted
  by string, the passages' lengths, their ids sorted (row r is the r-th id, so the tie-break
  by id is the row number). It is exactly what the saved file holds, and `load` maps the file
  instead of reading it (`_read_npz`): no array is rebuilt, nothing but two strings is decoded;
* a tail: the passages added since the base was made, as CSR rows plus a CSC over its own term
  ids, rebuilt by each change (O(tail postings));
* a dead-row mask over the base: removed or replaced passages, filtered out of every posting
  list a query reads.
BM25 statistics are taken exactly from base - dead + tail (passage count, total length; each
query term's df counted over its live postings), and each passage's score sums its terms in
term-string order, whatever the history: a changed index scores bit for bit as a fresh `build`
of the same passages. `save`, and a change that makes tail + dead rows pass `_COMPACT_SHARE` of
the base (at least `_COMPACT_MIN_ROWS`), merge tail and base into a new base (`_compact`,
O(all postings) in numpy: 0.1-0.16 s at 200,000 passages).

Cost model (2-core machine shared with other work; 200,000 synthetic passages of ~100 corpus
words, `benchmarks/bench_lexical.py`, ratios against main's version in the same run, which kept
row-major arrays and rebuilt a scipy CSC matrix from them, O(all postings), on the first search
after every load, add or remove):
* `build`: tokenising dominates (~6,000 English passages/s on an idle machine, 1,700/s
  under load; Korean goes through Kiwi at roughly 200-400 passages of 300 characters/s); the
  arrays are then made in 1.2-1.8 s (every passage as a tail, compacted).
* `load`: maps the file, decodes ids and vocabulary, checks that the arrays fit (one pass over
  the posting rows, ~3 ms): 6-11 ms (0.06-0.07x). The file is 2/3 of main's (one byte per
  count); mapped, it is page cache, not process memory: on the real 205,654-chunk index a cold
  process holds 150 MiB less anonymous memory after its first question (main kept the row
  arrays and the matrix).
* First `search` after a load: the passages' length norms (O(passages), ~1 ms) and the
  vocabulary as a list (O(terms)), then the query: 8-13 ms (0.03-0.04x; main 0.2-0.4 s). On
  the real 205,654-chunk index, load + first `search_concepts` of a cold process: 26-28 ms
  against 0.27-0.57 s.
* A snapshot update (copy, remove 26 ids, add 26 passages): tokenising the 26 passages (most
  of it), a binary search per id, the tail rebuilt, the dead mask copied: ~10 ms, and the next
  search ~3 ms: 12-14 ms against 0.28-0.44 s (0.03-0.05x); on the real index with real
  passages 19-24 ms against ~0.2 s. A change's own work grows with the tail (2.2 ms at 26
  tail rows, 3.7 ms at 3,100, 7.8 ms at 10,400); the change in ~120 that compacts takes
  0.2-0.3 s in all (the compaction 0.1-0.16 s).
* `save`: compaction if the index changed since (0.1-0.16 s) and the write: 0.1 s for a
  compacted index (0.17-0.19x).
* `search`: tokenise the query, then O(postings of the query terms), dead rows filtered out of
  them: as main (0.97-1.01x over 200 searches, ~2 ms each; 0.8x for `search_concepts`, which
  no longer goes through scipy); ~0.1-0.5 ms at 10,000 real passages.

Scoring is Okapi BM25 with k1=1.2, b=0.75 and the non-negative Lucene idf
log(1 + (N - df + 0.5) / (df + 0.5)); each distinct query term counts once, so a list query
(a place name in English and Korean, say) is an OR over the union of its terms.

Longer than 400 lines on purpose: one index, its incremental updates and its .npz format belong
together (the snapshot saves and grows it).
"""

from __future__ import annotations

import bisect
import itertools
import json
import mmap
import os
import struct
import threading
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from retrieval.tokenize import Tokenizer

# 2: term-major arrays, sorted ids and vocabulary as strings + offsets, lengths; aligned members
# (1: row-major arrays and a JSON list of ids; refused, the snapshot rebuilds).
_FORMAT = 2
# Ids are looked up by binary search when they are at most this share of the index, by a scan
# of all ids otherwise (k log n Python steps against n).
_FEW_IDS = 1 / 64
# Tail + dead rows beyond max(_COMPACT_MIN_ROWS, _COMPACT_SHARE * base rows) are merged into the
# base. Each change rebuilds the tail, O(tail postings); a compaction is O(all postings). At
# 205,000 passages a change's own work grew from 2.2 ms (26 tail rows) to 3.7 ms (3,100) and
# 7.8 ms (10,400), and a compaction took 0.10-0.16 s: 1/32 keeps changes within ~4 ms and
# compacts once per ~120 reloads of one report (26 passages replaced), ~1 ms each amortised.
_COMPACT_SHARE = 1 / 32
_COMPACT_MIN_ROWS = 1024
# Members of the saved file start at this alignment, so mapped arrays are aligned.
_ALIGN = 64


class _Strings:
    """Strings in one `str` plus character offsets: no Python object per string until one is
    read (200,000 ids: one decode at load instead of a JSON list of 200,000 objects)."""

    __slots__ = ("text", "offsets", "_list")

    def __init__(self, text: str, offsets: np.ndarray) -> None:
        self.text = text
        self.offsets = offsets
        self._list: list[str] | None = None

    @classmethod
    def of(cls, strings: Sequence[str]) -> _Strings:
        offsets = np.zeros(len(strings) + 1, dtype=np.int64)
        np.cumsum(np.fromiter(map(len, strings), np.int64, len(strings)), out=offsets[1:])
        return cls("".join(strings), offsets)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, i: int) -> str:
        return self.text[self.offsets[i] : self.offsets[i + 1]]

    def as_list(self, cache: bool = True) -> list[str]:
        """All strings: for many look-ups at once (kept for the vocabulary, which every search
        reads; not for 200,000 ids, read whole only by rare large removals)."""
        if self._list is not None:
            return self._list
        text, offsets = self.text, self.offsets.tolist()
        strings = [text[a:b] for a, b in itertools.pairwise(offsets)]
        if cache:
            self._list = strings
        return strings

    def merged(self, keep: np.ndarray | None, new: list[str], at: Sequence[int]) -> _Strings:
        """These strings where `keep` (None: all), with `new[k]` inserted before the string at
        `at[k]` (`at` non-decreasing). Python steps per dropped or inserted string only."""
        if len(self) == 0:
            return _Strings.of(new)
        text, offsets = self.text, self.offsets
        dropped = [] if keep is None else np.flatnonzero(~keep).tolist()
        pieces: list[str] = []
        start = d = k = 0  # first string of the current kept run; next drop; next insert
        while d < len(dropped) or k < len(at):
            if k < len(at) and (d >= len(dropped) or at[k] <= dropped[d]):
                pieces += (text[offsets[start] : offsets[at[k]]], new[k])
                start = at[k]
                k += 1
            else:
                pieces.append(text[offsets[start] : offsets[dropped[d]]])
                start = dropped[d] + 1
                d += 1
        pieces.append(text[offsets[start] :])
        lengths = np.diff(offsets)
        kept_before = np.arange(len(self) + 1, dtype=np.int64)
        if keep is not None:
            lengths = lengths[keep]
            kept_before = np.zeros(len(self) + 1, dtype=np.int64)
            np.cumsum(keep, out=kept_before[1:])
        where = kept_before[np.asarray(at, dtype=np.int64)]
        lengths = np.insert(lengths, where, np.fromiter(map(len, new), np.int64, len(new)))
        merged_offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=merged_offsets[1:])
        return _Strings("".join(pieces), merged_offsets)


class _Base:
    """Compacted passages, term-major: column c is term `vocab[c]` (sorted), its postings are
    `col_rows`/`col_counts[col_ptr[c]:col_ptr[c + 1]]`; row r is passage `ids[r]` (sorted) of
    length `lengths[r]`. Immutable (possibly mapped from a file)."""

    __slots__ = (
        "ids",
        "vocab",
        "col_ptr",
        "col_rows",
        "col_counts",
        "lengths",
        "total",
        "max_count",
        "_col_of",
    )

    def __init__(
        self,
        ids: _Strings,
        vocab: _Strings,
        col_ptr: np.ndarray,
        col_rows: np.ndarray,
        col_counts: np.ndarray,
        lengths: np.ndarray,
        total: int,
        max_count: int,
    ) -> None:
        self.ids, self.vocab = ids, vocab
        self.col_ptr, self.col_rows, self.col_counts = col_ptr, col_rows, col_counts
        self.lengths, self.total, self.max_count = lengths, total, max_count
        self._col_of: dict[str, int] | None = None

    @property
    def n_rows(self) -> int:
        return len(self.lengths)

    def col(self, term: str) -> int:
        """The column of `term`, -1 if it has none (a binary search in the sorted vocabulary)."""
        terms = self.vocab.as_list()
        at = bisect.bisect_left(terms, term)
        return at if at < len(terms) and terms[at] == term else -1

    def col_of(self) -> dict[str, int]:
        """Term -> column, for many terms at once (compaction); built on first use."""
        if self._col_of is None:
            terms = self.vocab.as_list()
            self._col_of = dict(zip(terms, range(len(terms)), strict=True))
        return self._col_of


def _count_dtype(max_count: int) -> type[np.integer]:
    """Term counts rarely exceed 255 in a passage: one byte per posting instead of four."""
    if max_count <= np.iinfo(np.uint8).max:
        return np.uint8
    if max_count <= np.iinfo(np.uint16).max:
        return np.uint16
    return np.int32


_EMPTY_BASE = _Base(
    _Strings("", np.zeros(1, dtype=np.int64)),
    _Strings("", np.zeros(1, dtype=np.int64)),
    np.zeros(1, dtype=np.int64),
    np.zeros(0, dtype=np.int32),
    np.zeros(0, dtype=np.uint8),
    np.zeros(0, dtype=np.int32),
    0,
    0,
)


class _Tail:
    """Passages added since the base was made, in the order added: CSR rows over the tail's own
    term ids (`term_of`, insertion order) plus, made here, the same postings term-major for
    searching and each row's rank key among all ids. Small: each change makes a new one."""

    __slots__ = (
        "ids",
        "row_of",
        "pos",
        "term_of",
        "ptr",
        "terms",
        "counts",
        "lengths",
        "total",
        "col_ptr",
        "col_rows",
        "col_counts",
        "sorted_rows",
        "key",
    )

    def __init__(
        self,
        ids: list[str],
        pos: np.ndarray,
        term_of: dict[str, int],
        ptr: np.ndarray,
        terms: np.ndarray,
        counts: np.ndarray,
    ) -> None:
        n = len(ids)
        self.ids, self.pos, self.term_of = ids, pos, term_of
        self.ptr, self.terms, self.counts = ptr, terms, counts
        self.row_of = dict(zip(ids, range(n), strict=True))
        summed = np.zeros(len(counts) + 1, dtype=np.int64)
        np.cumsum(counts, out=summed[1:])
        self.lengths = summed[ptr[1:]] - summed[ptr[:-1]]
        self.total = int(summed[-1])
        if len(terms):
            csc = sp.csr_matrix((counts, terms, ptr), shape=(n, len(term_of))).tocsc()
            self.col_ptr = csc.indptr.astype(np.int64, copy=False)
            self.col_rows = csc.indices.astype(np.int32, copy=False)
            self.col_counts = csc.data
        else:
            self.col_ptr = np.zeros(len(term_of) + 1, dtype=np.int64)
            self.col_rows = np.zeros(0, dtype=np.int32)
            self.col_counts = np.zeros(0, dtype=np.int32)
        # Rank key for the tie-break by id, comparable with a base row r's r * (n + 1) + n: a
        # tail id goes before the base id at its insertion position `pos` (the base is sorted),
        # after the one before it, and among tail ids of the same position by id.
        self.sorted_rows = np.asarray(sorted(range(n), key=ids.__getitem__), dtype=np.int64)
        order = np.empty(n, dtype=np.int64)
        order[self.sorted_rows] = np.arange(n, dtype=np.int64)
        self.key = pos * (n + 1) + order

    @property
    def n_rows(self) -> int:
        return len(self.ids)

    def plus(self, ids: list[str], pos: np.ndarray, token_lists: list[list[str]]) -> _Tail:
        """This tail and these new passages (ids not held, each once)."""
        term_of = dict(self.term_of)  # shared with other states: copied, then extended
        terms: list[int] = []
        counts: list[int] = []
        sizes: list[int] = []
        for tokens in token_lists:
            tally = Counter(tokens)
            terms += [term_of.setdefault(t, len(term_of)) for t in tally]
            counts += tally.values()
            sizes.append(len(tally))
        ptr = np.zeros(len(ids) + 1, dtype=np.int64)
        np.cumsum(sizes, out=ptr[1:])
        return _Tail(
            self.ids + ids,
            np.concatenate([self.pos, pos]),
            term_of,
            np.concatenate([self.ptr, self.ptr[-1] + ptr[1:]]),
            np.concatenate([self.terms, np.asarray(terms, dtype=np.int32)]),
            np.concatenate([self.counts, np.asarray(counts, dtype=np.int32)]),
        )

    def without(self, rows: list[int]) -> _Tail:
        keep = np.ones(self.n_rows, dtype=bool)
        keep[rows] = False
        sizes = np.diff(self.ptr)
        postings = np.repeat(keep, sizes)
        ptr = np.zeros(int(keep.sum()) + 1, dtype=np.int64)
        np.cumsum(sizes[keep], out=ptr[1:])
        return _Tail(
            [doc_id for doc_id, kept in zip(self.ids, keep.tolist(), strict=True) if kept],
            self.pos[keep],
            self.term_of,
            ptr,
            self.terms[postings],
            self.counts[postings],
        )


_EMPTY_TAIL = _Tail(
    [],
    np.zeros(0, dtype=np.int64),
    {},
    np.zeros(1, dtype=np.int64),
    np.zeros(0, dtype=np.int32),
    np.zeros(0, dtype=np.int32),
)


class _State:
    """What an index holds: base - dead + tail. Immutable; rows are numbered base first
    (0..B-1), then tail (B..B+T-1)."""

    __slots__ = ("base", "tail", "dead", "n_dead", "dead_total", "_norm", "_csr")

    def __init__(
        self,
        base: _Base,
        tail: _Tail = _EMPTY_TAIL,
        dead: np.ndarray | None = None,
        dead_total: int = 0,
    ) -> None:
        self.base, self.tail = base, tail
        self.n_dead = int(dead.sum()) if dead is not None else 0
        self.dead = dead if self.n_dead else None
        self.dead_total = dead_total
        self._norm: tuple[tuple[float, float], np.ndarray] | None = None
        self._csr: tuple | None = None

    @property
    def n_rows(self) -> int:
        return self.base.n_rows + self.tail.n_rows

    @property
    def n_docs(self) -> int:
        return self.base.n_rows - self.n_dead + self.tail.n_rows

    @property
    def compact(self) -> bool:
        return self.dead is None and self.tail.n_rows == 0

    def norm(self, k1: float, b: float) -> np.ndarray:
        """Each row's k1 * (1 - b + b * length / average length), as float32 (cached)."""
        cached = self._norm
        if cached is not None and cached[0] == (k1, b):
            return cached[1]
        n_docs = self.n_docs
        # The lengths are integers: their exact sum over N is what mean() of a fresh build's
        # lengths gives, so the norms (and scores) match it bit for bit.
        avg = (
            (self.base.total - self.dead_total + self.tail.total) / n_docs if n_docs else 0.0
        ) or 1.0
        lengths = np.concatenate([self.base.lengths, self.tail.lengths]).astype(np.float64)
        norm = (k1 * (1.0 - b + b * lengths / avg)).astype(np.float32)
        self._norm = ((k1, b), norm)
        return norm

    def id_at(self, row: int) -> str:
        n_base = self.base.n_rows
        return self.base.ids[row] if row < n_base else self.tail.ids[row - n_base]

    def rank_keys(self, rows: np.ndarray) -> np.ndarray:
        """Keys that order these rows by id (see _Tail.key)."""
        n_base, n_tail = self.base.n_rows, self.tail.n_rows
        in_base = rows < n_base
        keys = rows * (n_tail + 1) + n_tail
        if not in_base.all():
            keys[~in_base] = self.tail.key[rows[~in_base] - n_base]
        return keys

    def find(self, doc_ids: Sequence[str]) -> tuple[list[int], list[int]]:
        """The live base rows and the tail rows of those of `doc_ids` that are held. A binary
        search in the sorted ids for a few (a snapshot update: one report's passages), a scan
        for many."""
        base, dead = self.base, self.dead
        tail_rows = [self.tail.row_of[d] for d in doc_ids if d in self.tail.row_of]
        n_base = base.n_rows
        if not doc_ids or not n_base:
            return [], sorted(set(tail_rows))
        if len(doc_ids) > n_base * _FEW_IDS:
            wanted = set(doc_ids)
            ids_now = base.ids.as_list(cache=False)
            rows = [row for row, doc_id in enumerate(ids_now) if doc_id in wanted]
        else:
            ids = base.ids
            rows = []
            for doc_id in doc_ids:
                at = bisect.bisect_left(ids, doc_id)
                if at < n_base and ids[at] == doc_id:
                    rows.append(at)
        if dead is not None:
            rows = [row for row in rows if not dead[row]]
        return sorted(set(rows)), sorted(set(tail_rows))

    def positions(self, doc_ids: Sequence[str]) -> np.ndarray:
        """Where each id would go in the base's sorted ids."""
        ids = self.base.ids
        if len(doc_ids) > len(ids) * _FEW_IDS:
            ids = ids.as_list(cache=False)  # type: ignore[assignment]  # C-level bisect
        return np.fromiter((bisect.bisect_left(ids, d) for d in doc_ids), np.int64, len(doc_ids))

    def without(self, doc_ids: Sequence[str]) -> _State:
        base_rows, tail_rows = self.find(doc_ids)
        if not base_rows and not tail_rows:
            return self
        dead, dead_total = self.dead, self.dead_total
        if base_rows:
            dead = np.zeros(self.base.n_rows, dtype=bool) if dead is None else dead.copy()
            dead[base_rows] = True
            dead_total += int(self.base.lengths[base_rows].sum())
        tail = self.tail.without(tail_rows) if tail_rows else self.tail
        return _State(self.base, tail, dead, dead_total)

    def postings(
        self, terms: Iterable[str]
    ) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
        """Of `terms`, those a live passage has (in the order given), each one's df, and all
        their live postings one term after the other: rows (int64) and counts (float64),
        each concatenated once."""
        base, tail, dead = self.base, self.tail, self.dead
        n_base = base.n_rows
        found: list[str] = []
        df: list[int] = []
        rows: list[np.ndarray] = []
        counts: list[np.ndarray] = []
        for term in terms:
            n = 0
            col = base.col(term)
            if col >= 0:
                lo, hi = base.col_ptr[col], base.col_ptr[col + 1]
                term_rows, term_counts = base.col_rows[lo:hi], base.col_counts[lo:hi]
                if dead is not None:
                    live = ~dead[term_rows]
                    term_rows, term_counts = term_rows[live], term_counts[live]
                rows.append(term_rows)
                counts.append(term_counts)
                n += len(term_rows)
            j = tail.term_of.get(term)
            if j is not None:
                lo, hi = tail.col_ptr[j], tail.col_ptr[j + 1]
                rows.append(tail.col_rows[lo:hi] + np.int64(n_base))
                counts.append(tail.col_counts[lo:hi])
                n += hi - lo
            if n:
                found.append(term)
                df.append(n)
        if not found:
            return [], np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0)
        return (
            found,
            np.asarray(df, dtype=np.int64),
            np.concatenate(rows, dtype=np.int64, casting="safe"),
            np.concatenate(counts, dtype=np.float64, casting="safe"),
        )


def _compact(state: _State) -> _State:
    """Merge tail and base, without the dead rows, into a new base: rows in id order, columns
    in term order. O(all postings), in numpy; only dropped and added ids and terms are touched
    as Python strings."""
    if state.compact:
        return state
    base, tail = state.base, state.tail
    n_base, n_tail = base.n_rows, tail.n_rows
    alive = np.ones(n_base, dtype=bool) if state.dead is None else ~state.dead

    # Rows: tail rows in id order, each before the base row at its insertion position.
    by_id = tail.sorted_rows
    at_row = tail.pos[by_id]
    alive_before = np.zeros(n_base + 1, dtype=np.int64)
    np.cumsum(alive, out=alive_before[1:])
    tail_row = np.empty(n_tail, dtype=np.int64)
    tail_row[by_id] = alive_before[at_row] + np.arange(n_tail, dtype=np.int64)
    base_row = alive_before[:-1] + np.searchsorted(at_row, np.arange(n_base), side="right")
    ids = base.ids.merged(
        None if state.dead is None else alive, [tail.ids[r] for r in by_id.tolist()], at_row
    )

    # Columns: base terms that keep a posting, then the tail's terms the base lacks, inserted.
    n_cols = len(base.vocab)
    base_count = np.diff(base.col_ptr)
    dead_at = np.zeros(0, dtype=np.int64)  # positions of the dead rows' postings
    if state.dead is not None:
        dead_at = np.flatnonzero(state.dead[base.col_rows])
        in_col = np.searchsorted(base.col_ptr, dead_at, side="right") - 1
        base_count = base_count - np.bincount(in_col, minlength=n_cols)
    tail_terms = list(tail.term_of)
    tail_count = np.diff(tail.col_ptr)
    col_of = base.col_of() if tail_terms else {}
    tail_base_col = np.fromiter((col_of.get(t, -1) for t in tail_terms), np.int64, len(tail_terms))
    used = tail_count > 0
    shared = used & (tail_base_col >= 0)
    keep_col = base_count > 0
    keep_col[tail_base_col[shared]] = True
    fresh = sorted(np.flatnonzero(used & (tail_base_col < 0)).tolist(), key=tail_terms.__getitem__)
    fresh_terms = [tail_terms[t] for t in fresh]
    base_terms = base.vocab.as_list() if fresh_terms and n_cols else []
    at_col = [bisect.bisect_left(base_terms, t) for t in fresh_terms]
    vocab = base.vocab.merged(None if keep_col.all() else keep_col, fresh_terms, at_col)
    kept_cols_before = np.zeros(n_cols + 1, dtype=np.int64)
    np.cumsum(keep_col, out=kept_cols_before[1:])
    at_col_arr = np.asarray(at_col, dtype=np.int64)
    base_col = kept_cols_before[:-1] + np.searchsorted(at_col_arr, np.arange(n_cols), "right")
    tail_col = np.zeros(len(tail_terms), dtype=np.int64)
    tail_col[shared] = base_col[tail_base_col[shared]]
    tail_col[np.asarray(fresh, dtype=np.int64)] = kept_cols_before[at_col_arr] + np.arange(
        len(fresh), dtype=np.int64
    )

    # Postings: each new column holds its base postings (dead ones deleted, rows renumbered),
    # then its tail ones, inserted: a few passes over the base's postings, all in numpy.
    n_new_cols = len(vocab)
    from_base = np.zeros(n_new_cols, dtype=np.int64)
    from_base[base_col[keep_col]] = base_count[keep_col]
    sizes = from_base.copy()
    sizes[tail_col[used]] += tail_count[used]
    col_ptr = np.zeros(n_new_cols + 1, dtype=np.int64)
    np.cumsum(sizes, out=col_ptr[1:])
    max_count = max(base.max_count, int(tail.counts.max()) if len(tail.counts) else 0)
    count_dtype = _count_dtype(max_count)
    col_rows = np.delete(base_row.astype(np.int32)[base.col_rows], dead_at)
    col_counts = np.delete(base.col_counts.astype(count_dtype, copy=False), dead_at)
    if len(tail.col_rows):  # then every tail term with postings has a column
        terms = np.flatnonzero(used)
        terms = terms[np.argsort(tail_col[terms], kind="stable")]  # in new column order
        counts = tail_count[terms]
        starts = np.zeros(len(terms), dtype=np.int64)
        np.cumsum(counts[:-1], out=starts[1:])
        take = np.repeat(tail.col_ptr[terms] - starts, counts) + np.arange(
            int(counts.sum()), dtype=np.int64
        )
        base_end = np.cumsum(from_base)[tail_col[terms]]  # after its column's base postings
        at = np.repeat(base_end, counts)
        col_rows = np.insert(col_rows, at, tail_row[tail.col_rows[take]].astype(np.int32))
        col_counts = np.insert(col_counts, at, tail.col_counts[take].astype(count_dtype))

    lengths = np.empty(len(ids), dtype=np.int32)
    lengths[base_row[alive]] = base.lengths[alive]
    lengths[tail_row] = tail.lengths
    total = base.total - state.dead_total + tail.total
    return _State(_Base(ids, vocab, col_ptr, col_rows, col_counts, lengths, total, max_count))


class LexicalIndex:
    """An in-memory BM25 index of (id, text) passages, saved as one .npz file of term counts."""

    k1: float = 1.2
    b: float = 0.75

    def __init__(self, tokenizer: Tokenizer) -> None:
        self._tokenizer = tokenizer
        self._lock = threading.RLock()  # one change at a time; searches read `_state` once
        self._state = _State(_EMPTY_BASE)

    # ------------------------------------------------------------------ mutation

    def build(self, ids: Sequence[str], texts: Sequence[str]) -> None:
        """Replace the whole index with these passages."""
        _check_lengths(ids, texts)
        token_lists = self._tokenizer.tokens_batch(list(texts))
        new_ids, token_lists = _last_of_each(list(ids), token_lists)
        tail = _EMPTY_TAIL.plus(new_ids, np.zeros(len(new_ids), dtype=np.int64), token_lists)
        state = _compact(_State(_EMPTY_BASE, tail))
        with self._lock:
            self._state = state

    def add(self, ids: Sequence[str], texts: Sequence[str]) -> None:
        """Add passages (an existing id is replaced). Tokenises only the new texts; they join
        the tail (O(tail postings)), and the replaced ones are marked dead."""
        _check_lengths(ids, texts)
        if not ids:
            return
        token_lists = self._tokenizer.tokens_batch(list(texts))
        new_ids, token_lists = _last_of_each(list(ids), token_lists)
        with self._lock:
            state = self._state.without(new_ids)
            tail = state.tail.plus(new_ids, state.positions(new_ids), token_lists)
            self._state = _maybe_compacted(_State(state.base, tail, state.dead, state.dead_total))

    def copy(self) -> LexicalIndex:
        """An index with the same passages that changes independently of this one: they share
        the (immutable) state until either changes."""
        other = LexicalIndex(self._tokenizer)
        other._state = self._state
        other.k1, other.b = self.k1, self.b
        return other

    def remove(self, ids: Iterable[str]) -> None:
        """Forget these ids (unknown ids are ignored)."""
        doc_ids = list(ids)
        with self._lock:
            self._state = _maybe_compacted(self._state.without(doc_ids))

    # -------------------------------------------------------------------- search

    def search(
        self,
        query: str | list[str],
        limit: int,
        allowed: Callable[[str], bool] | None = None,
    ) -> list[tuple[str, float]]:
        """(id, score) best first. A list query ORs the terms of all its strings. `allowed`
        is applied before taking the top `limit` (called best-first, only until `limit` ids
        pass). An empty query, no match or `limit` < 1 gives []."""
        if limit < 1:
            return []
        return self._search_terms(_query_terms(self._tokenizer, query), limit, allowed)

    def _search_terms(
        self, terms: list[str], limit: int, allowed: Callable[[str], bool] | None
    ) -> list[tuple[str, float]]:
        state = self._state
        if not terms or not state.n_docs:
            return []
        _, _, rows, weights = self._weighted(state, sorted(set(terms)))
        if not len(rows):
            return []
        scores = np.bincount(rows, weights=weights, minlength=state.n_rows)
        return self._top(state, scores, limit, allowed)

    def search_concepts(
        self,
        text: str,
        concepts: Sequence[Sequence[str]],
        limit: int,
        allowed: Callable[[str], bool] | None = None,
    ) -> list[tuple[str, float]]:
        """Like `search(text + every form)`, except that each concept (the forms of one named
        thing or term: "NPP", "nuclear power plant", "원전") counts once, as its best form that
        a passage contains whole (all of that form's terms). A plain OR over every form lets a
        generic term's many spellings outweigh the rare name the question is about: for
        "체르노빌 원전 장악", Zaporizhzhia NPP passages got "nuclear", "power", "plant" and "NPP"
        each, four times the weight of "Chernobyl" in the passage about it. The text's own terms
        that some concept covers count only through it."""
        if limit < 1:
            return []
        return self._search_concept_terms(
            _concept_terms(self._tokenizer, text, concepts), limit, allowed
        )

    def _search_concept_terms(
        self,
        prepared: tuple[list[str], list[list[list[str]]]],
        limit: int,
        allowed: Callable[[str], bool] | None,
    ) -> list[tuple[str, float]]:
        free, forms_terms = prepared
        state = self._state
        if not state.n_docs:
            return []
        covered = {t for forms in forms_terms for terms in forms for t in terms}
        found, df, all_rows, all_weights = self._weighted(state, sorted({*free, *covered}))
        if not found:
            return []
        ends = np.cumsum(df).tolist()
        weighted = {
            term: (all_rows[end - n : end], all_weights[end - n : end])
            for term, n, end in zip(found, df.tolist(), ends, strict=True)
        }
        n_rows = state.n_rows

        def summed(terms: list[str]) -> np.ndarray:
            rows = np.concatenate([weighted[t][0] for t in terms])
            weights = np.concatenate([weighted[t][1] for t in terms])
            return np.bincount(rows, weights=weights, minlength=n_rows)

        free_terms = sorted({t for t in free if t in weighted})
        scores = summed(free_terms) if free_terms else np.zeros(n_rows)
        for forms in forms_terms:
            best = None
            for terms in forms:
                distinct = sorted(set(terms))
                if not all(t in weighted for t in distinct):
                    continue  # some term occurs nowhere: no passage contains the form
                rows = np.concatenate([weighted[t][0] for t in distinct])
                whole = np.bincount(rows, minlength=n_rows) == len(distinct)
                score = summed(distinct) * whole
                best = score if best is None else np.maximum(best, score)
            if best is not None:
                scores += best
        return self._top(state, scores, limit, allowed)

    def _weighted(
        self, state: _State, terms: list[str]
    ) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
        """Of `terms` (sorted), those a live passage has, their df, and their postings' rows and
        BM25 weights, term after term: scores sum them in term order, the same order whatever
        the index's history."""
        found, df, rows, tf = state.postings(terms)
        if not found:
            return found, df, rows, tf
        idf = np.log1p((state.n_docs - df + 0.5) / (df + 0.5))
        norm = state.norm(self.k1, self.b)
        weights = np.repeat(idf, df) * tf * (self.k1 + 1.0) / (tf + norm[rows])
        return found, df, rows, weights

    @staticmethod
    def _top(
        state: _State, scores: np.ndarray, limit: int, allowed: Callable[[str], bool] | None
    ) -> list[tuple[str, float]]:
        """The best `limit` (id, score) with a positive score that `allowed` lets through;
        equal scores go by id (an index brought up to date report by report ranks exactly as
        a fresh build)."""
        candidates = np.flatnonzero(scores > 0)
        if candidates.size == 0:
            return []
        if allowed is None and candidates.size > limit:
            # Everything scoring at least the limit-th best (ties kept, cut after sorting).
            kth = np.partition(scores[candidates], candidates.size - limit)[candidates.size - limit]
            candidates = candidates[scores[candidates] >= kth]
        ranked = candidates[np.lexsort((state.rank_keys(candidates), -scores[candidates]))]
        out: list[tuple[str, float]] = []
        for row in ranked.tolist():
            doc_id = state.id_at(row)
            if allowed is None or allowed(doc_id):
                out.append((doc_id, float(scores[row])))
                if len(out) >= limit:
                    break
        return out

    def __len__(self) -> int:
        return self._state.n_docs

    def __contains__(self, doc_id: object) -> bool:
        if not isinstance(doc_id, str):
            return False
        base_rows, tail_rows = self._state.find([doc_id])
        return bool(base_rows or tail_rows)

    # ------------------------------------------------- the passages as CSR (tests)

    def _csr(self) -> tuple[list[str], dict[str, int], np.ndarray, np.ndarray, np.ndarray]:
        """ids, vocabulary, ptr, terms, counts: row r (id order) has terms[ptr[r]:ptr[r + 1]].
        The row-major layout of format 1, rebuilt on demand (O(postings), cached per state)."""
        state = self._state
        if state._csr is None:
            base = _compact(state).base
            shape = (base.n_rows, len(base.vocab))
            counts = base.col_counts.astype(np.int32)
            csr = sp.csc_matrix((counts, base.col_rows, base.col_ptr), shape=shape).tocsr()
            terms = base.vocab.as_list()
            state._csr = (
                base.ids.as_list(),
                dict(zip(terms, range(len(terms)), strict=True)),
                csr.indptr.astype(np.int64),
                csr.indices.astype(np.int32),
                csr.data,
            )
        return state._csr

    # tests/test_snapshot.py reads the passages' postings through these (format 1's names).
    _ids = property(lambda self: self._csr()[0])
    _vocab = property(lambda self: self._csr()[1])
    _ptr = property(lambda self: self._csr()[2])
    _terms = property(lambda self: self._csr()[3])
    _counts = property(lambda self: self._csr()[4])

    # --------------------------------------------------------------- persistence

    def save(self, path: Path) -> None:
        """Write the compacted index to one .npz file (no pickles), atomically: what `load`
        maps as it is. An index with a tail or dead rows is compacted first, and keeps the
        compacted state (same passages, same scores)."""
        with self._lock:
            state = self._state
            if not state.compact:
                state = self._state = _compact(state)
        base = state.base
        meta = {
            "format": _FORMAT,
            "tokenizer_version": self._tokenizer.version,
            "docs": base.n_rows,
            "terms": len(base.vocab),
            "total_length": base.total,
            "max_count": base.max_count,
        }
        _write_npz(
            Path(path),
            {
                "meta": _utf8(json.dumps(meta)),
                "ids_text": _utf8(base.ids.text),
                "ids_offsets": base.ids.offsets,
                "vocab_text": _utf8(base.vocab.text),
                "vocab_offsets": base.vocab.offsets,
                "col_ptr": base.col_ptr,
                "col_rows": base.col_rows,
                "col_counts": base.col_counts,
                "lengths": base.lengths,
            },
        )

    @classmethod
    def load(cls, path: Path, tokenizer: Tokenizer) -> LexicalIndex:
        """Read a file written by `save`: its arrays are mapped and become the index as they
        are (pages are read as searches touch them). Raises ValueError if it was made by
        another format or tokenizer version, or is inconsistent (the caller should rebuild
        from the passages)."""
        try:
            arrays = _read_npz(Path(path))
            meta = json.loads(arrays["meta"].tobytes().decode("utf-8"))
        except (OSError, KeyError, zipfile.BadZipFile, UnicodeDecodeError) as err:
            raise ValueError(f"{path}: not a lexical index ({err}); rebuild it") from err
        if meta.get("format") != _FORMAT:
            raise ValueError(f"{path}: lexical index format {meta.get('format')}, want {_FORMAT}")
        if meta.get("tokenizer_version") != tokenizer.version:
            raise ValueError(
                f"{path}: made by tokenizer version {meta.get('tokenizer_version')}, "
                f"this is {tokenizer.version}; rebuild the index"
            )
        try:
            base = _checked_base(arrays, meta)
        except (KeyError, TypeError, UnicodeDecodeError) as err:
            raise ValueError(f"{path}: lexical index damaged ({err}); rebuild it") from err
        if base is None:
            raise ValueError(f"{path}: lexical index arrays do not fit together; rebuild it")
        index = cls(tokenizer)
        index._state = _State(base)
        return index


def _maybe_compacted(state: _State) -> _State:
    """Compacted once tail + dead rows pass the share of the base that keeps changes cheap."""
    pending = state.tail.n_rows + state.n_dead
    if pending > max(_COMPACT_MIN_ROWS, _COMPACT_SHARE * state.base.n_rows):
        return _compact(state)
    return state


def _checked_base(arrays: dict[str, np.ndarray], meta: dict) -> _Base | None:
    """The base a saved file holds, or None if its arrays disagree. O(passages + terms), plus
    one pass over the posting rows' range (a damaged file fails here, not at a search)."""
    ids_offsets = arrays["ids_offsets"].astype(np.int64, copy=False)
    vocab_offsets = arrays["vocab_offsets"].astype(np.int64, copy=False)
    ids = _Strings(str(memoryview(arrays["ids_text"]), "utf-8"), ids_offsets)
    vocab = _Strings(str(memoryview(arrays["vocab_text"]), "utf-8"), vocab_offsets)
    col_ptr = arrays["col_ptr"].astype(np.int64, copy=False)
    col_rows = arrays["col_rows"].astype(np.int32, copy=False)
    col_counts = arrays["col_counts"]
    lengths = arrays["lengths"].astype(np.int32, copy=False)
    n_docs, n_terms = len(ids), len(vocab)

    def offsets_fit(strings: _Strings) -> bool:
        off = strings.offsets
        return (
            off.ndim == 1
            and len(off) >= 1
            and off[0] == 0
            and off[-1] == len(strings.text)
            and bool(np.all(off[1:] >= off[:-1]))
        )

    fits = (
        offsets_fit(ids)
        and offsets_fit(vocab)
        and n_docs == meta.get("docs")
        and n_terms == meta.get("terms")
        and col_ptr.shape == (n_terms + 1,)
        and col_ptr[0] == 0
        and col_ptr[-1] == len(col_rows) == len(col_counts)
        and bool(np.all(col_ptr[1:] >= col_ptr[:-1]))
        and lengths.shape == (n_docs,)
        and int(lengths.sum()) == meta.get("total_length")
        and col_counts.dtype.kind in "iu"
        and (len(col_rows) == 0 or int(col_rows.view(np.uint32).max()) < n_docs)
    )
    if not fits:
        return None
    return _Base(
        ids,
        vocab,
        col_ptr,
        col_rows,
        col_counts,
        lengths,
        int(meta["total_length"]),
        int(meta.get("max_count", np.iinfo(np.int32).max)),
    )


def _utf8(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-8"), dtype=np.uint8)


def _write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """An uncompressed .npz (np.load reads it) whose members' data start `_ALIGN`-aligned:
    each local header's extra field is padded (numpy pads its own header to 64 bytes)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh, zipfile.ZipFile(fh, "w", zipfile.ZIP_STORED) as zf:
        for name, array in arrays.items():
            array = np.ascontiguousarray(array)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED
            big = array.nbytes > 1 << 30  # zipfile then adds a 20-byte zip64 field
            fixed = fh.tell() + 30 + len(info.filename) + 4 + (20 if big else 0)
            info.extra = struct.pack("<HH", 0xD935, -fixed % _ALIGN) + bytes(-fixed % _ALIGN)
            with zf.open(info, "w", force_zip64=big) as member:
                np.lib.format.write_array(member, array, allow_pickle=False)
    os.replace(tmp, path)


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    """The arrays of an .npz file, read only. Uncompressed members (as `_write_npz` writes
    them) are memory-mapped: loading reads nothing but headers, and a search touches only the
    pages of its terms' postings. A later save replaces the file (a new inode), never writes
    into it, so a mapping stays valid. Compressed members are read."""
    out: dict[str, np.ndarray] = {}
    with open(path, "rb") as fh, zipfile.ZipFile(fh) as zf:
        mapped = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        for info in zf.infolist():
            name = info.filename.removesuffix(".npy")
            if info.compress_type != zipfile.ZIP_STORED or info.flag_bits & 1:
                with zf.open(info) as member:
                    out[name] = np.lib.format.read_array(member, allow_pickle=False)
                continue
            name_len, extra_len = struct.unpack_from("<HH", mapped, info.header_offset + 26)
            start = info.header_offset + 30 + name_len + extra_len
            fh.seek(start)
            version = np.lib.format.read_magic(fh)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
            elif version == (2, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
            else:
                raise ValueError(f"{path}: {info.filename}: .npy version {version}")
            if dtype.hasobject:
                raise ValueError(f"{path}: {info.filename}: object array")
            count = int(np.prod(shape, dtype=np.int64))
            offset = fh.tell()
            if offset + count * dtype.itemsize > start + info.file_size:
                raise ValueError(f"{path}: {info.filename}: truncated")
            if count == 0:
                out[name] = np.zeros(shape, dtype=dtype)
            else:
                flat = np.frombuffer(mapped, dtype=dtype, count=count, offset=offset)
                out[name] = flat.reshape(shape, order="F" if fortran else "C")
    return out


def _last_of_each(
    ids: list[str], token_lists: list[list[str]]
) -> tuple[list[str], list[list[str]]]:
    """An id given twice in one call keeps its last text."""
    last = dict(zip(ids, range(len(ids)), strict=True))
    if len(last) == len(ids):
        return ids, token_lists
    keep = [i for i, doc_id in enumerate(ids) if last[doc_id] == i]
    return [ids[i] for i in keep], [token_lists[i] for i in keep]


def _query_terms(tokenizer: Tokenizer, query: str | list[str]) -> list[str]:
    texts = [query] if isinstance(query, str) else [q for q in query if isinstance(q, str)]
    return tokenizer.unique_tokens(texts) if texts else []


def _concept_terms(
    tokenizer: Tokenizer, text: str, concepts: Sequence[Sequence[str]]
) -> tuple[list[str], list[list[list[str]]]]:
    """The text's terms that no concept covers, and each concept's forms' terms. Tokenised
    once per question (the first Cyrillic form loads pymorphy3's dictionaries, ~0.1-0.2 s
    once per process, whatever the index size)."""
    forms_terms = [
        [terms for terms in tokenizer.tokens_batch(list(forms)) if terms] for forms in concepts
    ]
    covered = {t for forms in forms_terms for terms in forms for t in terms}
    free = [t for t in tokenizer.unique_tokens([text]) if t not in covered]
    return free, forms_terms


def _by_language(
    ids: Sequence[str], texts: Sequence[str], langs: Sequence[str]
) -> dict[str, tuple[list[str], list[str]]]:
    groups: dict[str, tuple[list[str], list[str]]] = {}
    for doc_id, text, lang in zip(ids, texts, langs, strict=True):
        group = groups.setdefault(lang, ([], []))
        group[0].append(doc_id)
        group[1].append(text)
    return groups


def _check_lengths(ids: Sequence[str], texts: Sequence[str]) -> None:
    if len(ids) != len(texts):
        raise ValueError(f"{len(ids)} ids but {len(texts)} texts")


class PartitionedLexicalIndex:
    """One BM25 index per language of the passages, searched together.

    Term statistics must come from documents that could contain the term: in a corpus of
    English reports with a few Korean reposts, "러시아" (Russia) is in every Korean passage yet
    looks as rare as a name when counted over all of them, so any Korean question would rank
    the reposts first by that word alone. Scores of the partitions are merged as they are.
    """

    def __init__(self, tokenizer: Tokenizer) -> None:
        self._tokenizer = tokenizer
        self._parts: dict[str, LexicalIndex] = {}

    def build(self, ids: Sequence[str], texts: Sequence[str], langs: Sequence[str]) -> None:
        _check_lengths(ids, texts)
        _check_lengths(ids, langs)
        self._parts = {}
        for lang, (group_ids, group_texts) in _by_language(ids, texts, langs).items():
            index = LexicalIndex(self._tokenizer)
            index.build(group_ids, group_texts)
            self._parts[lang] = index

    def add(self, ids: Sequence[str], texts: Sequence[str], langs: Sequence[str]) -> None:
        """Add passages to their language's partition, tokenising only them."""
        _check_lengths(ids, texts)
        _check_lengths(ids, langs)
        for lang, (group_ids, group_texts) in _by_language(ids, texts, langs).items():
            self._parts.setdefault(lang, LexicalIndex(self._tokenizer)).add(group_ids, group_texts)

    def remove(self, ids: Iterable[str]) -> None:
        gone = list(dict.fromkeys(ids))
        if gone:
            for index in self._parts.values():
                index.remove(gone)

    def copy(self) -> PartitionedLexicalIndex:
        other = PartitionedLexicalIndex(self._tokenizer)
        other._parts = {lang: index.copy() for lang, index in self._parts.items()}
        return other

    def save(self, folder: Path) -> None:
        """One .npz per language (LexicalIndex.save) in `folder`."""
        folder.mkdir(parents=True, exist_ok=True)
        for lang, index in self._parts.items():
            index.save(folder / f"{lang or '_'}.npz")

    @classmethod
    def load(cls, folder: Path, tokenizer: Tokenizer) -> PartitionedLexicalIndex:
        index = cls(tokenizer)
        for path in sorted(folder.glob("*.npz")):
            lang = "" if path.stem == "_" else path.stem
            index._parts[lang] = LexicalIndex.load(path, tokenizer)
        return index

    def search(
        self,
        query: str | list[str],
        limit: int,
        allowed: Callable[[str], bool] | None = None,
    ) -> list[tuple[str, float]]:
        """As LexicalIndex.search, over every partition (the query tokenised once)."""
        if limit < 1:
            return []
        terms = _query_terms(self._tokenizer, query)
        return self._merged(lambda index: index._search_terms(terms, limit, allowed), limit)

    def search_concepts(
        self,
        text: str,
        concepts: Sequence[Sequence[str]],
        limit: int,
        allowed: Callable[[str], bool] | None = None,
    ) -> list[tuple[str, float]]:
        """As LexicalIndex.search_concepts, over every partition (tokenised once)."""
        if limit < 1:
            return []
        prepared = _concept_terms(self._tokenizer, text, concepts)
        return self._merged(
            lambda index: index._search_concept_terms(prepared, limit, allowed), limit
        )

    def _merged(
        self, search: Callable[[LexicalIndex], list[tuple[str, float]]], limit: int
    ) -> list[tuple[str, float]]:
        merged: list[tuple[str, float]] = []
        for index in self._parts.values():
            merged += search(index)
        merged.sort(key=lambda pair: pair[1], reverse=True)
        return merged[:limit]

    def __len__(self) -> int:
        return sum(len(index) for index in self._parts.values())
