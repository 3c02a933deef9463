"""Exact nearest-neighbour search over the committed chunks' embeddings, held in memory.

Chroma stores the vectors; the read path keeps the committed ones as float32 rows (6,634 x 384 =
10 MB for the shipped corpus, 300 MB at 205,654 chunks). A matrix product is exact (no HNSW
approximation), ~15 ms at 205,654 rows on two cores (~30 ms when they are shared), filters by
report date with a mask instead of a metadata query, and never returns the uncommitted rows of
a report that is being written.

Cost model (205,654 rows, benchmarks/bench_vectors.py; main's one-matrix index in brackets):

* Rows live in parts: a base matrix (as loaded or last compacted), the parts later reloads
  appended, and a dead-row mask. `updated` (a reload: one report's ~26 rows out, ~26 in)
  never copies the base: it copies the per-row mask, dates and language codes (7 bytes a
  row, C speed) and the overlay dict of ids changed since the base was made (at most
  COMPACT_SHARE of the rows), and appends one part: 0.55 ms, peak RSS +0.02 MiB [0.2-0.4 s
  and +633 MiB, the matrix concatenated]. With the next search and `centroids()`, a reload
  costs 15.5 ms (max 17.8) [284 ms]. Its Python work is O(dropped + added), ~8 µs a row.
  The appended parts merge like a binary counter (O(log) parts, each appended row copied
  O(log) times; rows keep their numbers), and all live rows are copied into a new base only
  when dead plus appended rows pass COMPACT_SHARE of the base (see there).
* A search does one matrix-vector product per part (dead rows included), then keeps the live
  rows in row order, so the partition and the stable sort pick what one matrix of those rows
  gives, ties included. The scores are that index's bit for bit except for the few rows
  OpenBLAS computes in a call's remainder path (the last 1-3 rows of each thread's share):
  those may differ in the last bit (5 of 205,654 after 10 reloads), as main's own scores for
  a row already did when rows before it were dropped.
* Id lookups (`get`, `vectors`, `lang`, `in`) read the overlay, else binary-search the base
  ids by their sorted order, which is saved with them: ~4.5 µs a lookup [~1 µs], and no
  id -> row dict, whose 205,654 string hashes cost 40-60 ms at every load and reload.
* `centroids()` divides per-language float64 sums that updates keep (O(changed rows)) and
  that are saved: 0.04 ms [0.07-0.5 s, a pass over the matrix at every load and reload].
* On disk (`save`/`load`): the ids as one newline-joined UTF-8 file, split at load (17 ms;
  [they were parsed from state.json's JSON with everything else]); the matrix, dates,
  language codes, sorted order and centroid sums as .npy; a small meta.json. Load 82 ms
  [172 ms + 85 ms of centroids]. Saving streams each part's live rows to the file (no
  compacted copy in memory) and merges the appended ids into the saved order: 109 ms
  [81 ms].
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import numpy as np
import orjson

from store.records import Chunk, date_to_int

FORMAT = 1
# When dead rows plus appended rows pass this share of the base's rows, `updated` copies the
# live rows into a new base. Measured at 205,654 rows (bench_vectors.py): a compaction takes
# 60-100 ms and, while the old snapshot is still served, a second 300 MB matrix (what every
# reload cost before). A dead row costs every search what a live one does (the product runs
# over it: at 1/8 dead, 14.3 ms against 12.4 ms for the same live rows alone) and 1.5 KB
# (37 MB at 1/8). Appended rows cost the binary-counter merges, the largest of which copies
# them all (7 ms at 1/8, once per doubling). At 1/8 a compaction comes once per ~500 replaced
# reports (26 rows out, 26 in) or ~1,000 new ones: ~0.1-0.2 ms a reload amortised, against up
# to ~2 ms a search and 37 MB for the dead rows it lets build up. A smaller share would
# compact, and double the matrix memory, more often to save a fraction of those 2 ms; a larger
# one lets the dead rows' search time and memory grow. Measuring against the base also makes
# growth from a small base geometric.
COMPACT_SHARE = 1 / 8


# Binary searches of the base ids before an id dict is made (see _Base).
_DICT_AFTER = 4_000


class _Base:
    """The base part's ids and their order sorted by id, shared by every index made from the
    same base by `updated` (built lazily when not loaded: one sort)."""

    __slots__ = ("ids", "_order", "_view", "_first", "_searches")

    def __init__(self, ids: list[str], order: np.ndarray | None = None) -> None:
        self.ids = ids
        self._order = order
        self._view: memoryview | None = None if order is None else memoryview(order)
        # id -> its first place in the sorted order, made once binary searches have cost more
        # than making it: at 205,000 ids one search is ~15 µs of Python-level comparisons (a
        # question asks ~100), the dict ~60 ms once; a start makes none.
        self._first: dict[str, int] | None = None
        self._searches = 0

    def order(self) -> np.ndarray:
        if self._order is None:
            # Python's sort compares str as `bisect` does below (by code point); stable, so
            # the rows of a repeated id stay in row order.
            order = np.asarray(
                sorted(range(len(self.ids)), key=self.ids.__getitem__), dtype=np.int32
            )
            self._view = memoryview(order)
            self._order = order
        return self._order

    def rows(self, chunk_id: str) -> tuple[int, ...]:
        """The rows holding this id, ascending."""
        order = self._view
        if order is None:
            self.order()
            order = self._view
            assert order is not None
        ids = self.ids
        first = self._first
        if first is not None:
            at = first.get(chunk_id, len(order))
        else:
            self._searches += 1
            if self._searches > _DICT_AFTER:
                self._first = {ids[order[k]]: k for k in range(len(order) - 1, -1, -1)}
            at = bisect.bisect_left(order, chunk_id, key=ids.__getitem__)
        found: list[int] = []
        while at < len(order) and ids[order[at]] == chunk_id:
            found.append(order[at])
            at += 1
        return tuple(found)


class _Part:
    __slots__ = ("matrix", "ids")

    def __init__(self, matrix: np.ndarray, ids: list[str]) -> None:
        self.matrix = matrix
        self.ids = ids


def _count_in(
    sums: np.ndarray, counts: np.ndarray, codes: np.ndarray, rows: np.ndarray, sign: int
) -> None:
    """Add (sign 1) or take away (-1) rows from the per-language sums and counts, in place."""
    # Not np.unique: its first call imports numpy.ma (20-30 ms, once per process).
    for code in np.flatnonzero(np.bincount(codes)).tolist():
        mine = codes == code
        sums[code] += sign * rows[mine].sum(axis=0, dtype=np.float64)
        counts[code] += sign * int(np.count_nonzero(mine))


class VectorIndex:
    def __init__(
        self, ids: list[str], matrix: np.ndarray, dates: np.ndarray, langs: list[str] | None = None
    ) -> None:
        langs = langs if langs is not None else [""] * len(ids)
        if (
            matrix.ndim != 2
            or matrix.shape[0] != len(ids)
            or dates.shape != (len(ids),)
            or len(langs) != len(ids)
        ):
            raise ValueError("ids, matrix rows, dates and languages must line up")
        names = list(dict.fromkeys(langs))
        index = {lang: i for i, lang in enumerate(names)}
        codes = np.fromiter(map(index.__getitem__, langs), dtype=np.uint16, count=len(langs))
        self._set(
            [_Part(np.ascontiguousarray(matrix, dtype=np.float32), ids)],
            _Base(ids),
            {},
            np.asarray(dates, dtype=np.int32),
            codes,
            tuple(names),
            None,
            None,
        )

    def _set(
        self,
        parts: list[_Part],
        base: _Base,
        over: dict[str, tuple[int, ...]],
        dates: np.ndarray,
        codes: np.ndarray,
        names: tuple[str, ...],
        alive: np.ndarray | None,
        sums: tuple[np.ndarray, np.ndarray] | None,
    ) -> VectorIndex:
        self._parts = parts  # parts[0] is the base; rows are numbered across all parts
        self._starts = [0]
        for part in parts:
            self._starts.append(self._starts[-1] + len(part.ids))
        self._base = base  # ids of parts[0], sorted for lookups
        # Every id that `updated` dropped or added -> its live rows (ascending; () when gone).
        # An id not in it has all its rows in the base, all live.
        self._over = over
        self._dates = dates  # per row, dead rows included
        self._codes = codes  # per row: index into `_names`
        self._names = names
        self._alive = alive  # None: every row is live
        self._count = self._starts[-1] if alive is None else int(np.count_nonzero(alive))
        self._live: np.ndarray | None = None  # the live rows, ascending (made at first search)
        self._sums = sums  # per language code: float64 sum of the live rows, and their count
        return self

    @classmethod
    def _blank(cls) -> VectorIndex:
        """An index to `_set` (the updates and `load` make theirs from parts, not rows)."""
        return cls.__new__(cls)

    @classmethod
    def build(cls, vectors: Mapping[str, np.ndarray], chunks: Mapping[str, Chunk]) -> VectorIndex:
        """Rows for the chunks that have a vector, in `chunks` order."""
        ids = [cid for cid in chunks if cid in vectors]
        if not ids:
            return cls.empty()
        matrix = np.stack([np.asarray(vectors[cid], dtype=np.float32) for cid in ids])
        dates = np.asarray([date_to_int(chunks[cid].report_date) for cid in ids], dtype=np.int32)
        return cls(ids, matrix, dates, [chunks[cid].lang for cid in ids])

    @classmethod
    def empty(cls) -> VectorIndex:
        return cls([], np.zeros((0, 0), dtype=np.float32), np.zeros(0, dtype=np.int32))

    # ---- rows ----------------------------------------------------------------------------

    def _locate(self, row: int) -> tuple[_Part, int]:
        if len(self._parts) == 1:
            return self._parts[0], row
        k = bisect.bisect_right(self._starts, row) - 1
        return self._parts[k], row - self._starts[k]

    def _id_at(self, row: int) -> str:
        part, at = self._locate(row)
        return part.ids[at]

    def _vector_at(self, row: int) -> np.ndarray:
        part, at = self._locate(row)
        return part.matrix[at]

    def _rows_of(self, chunk_id: str) -> tuple[int, ...]:
        rows = self._over.get(chunk_id)
        return self._base.rows(chunk_id) if rows is None else rows

    def _row_of(self, chunk_id: str) -> int | None:
        """The last live row of this id (as the id -> row dict of one matrix had it)."""
        rows = self._rows_of(chunk_id)
        return rows[-1] if rows else None

    def _live_rows(self) -> np.ndarray:
        if self._live is None:
            self._live = (
                np.arange(self._starts[-1]) if self._alive is None else np.flatnonzero(self._alive)
            )
        return self._live

    def _dim(self) -> int:
        for part in self._parts:
            if len(part.ids):
                return part.matrix.shape[1]
        return self._parts[0].matrix.shape[1]

    def _live_runs(self) -> Iterator[tuple[list[str], np.ndarray]]:
        """The live rows in row order as runs of consecutive rows of one part: (their ids, their
        vectors as a view). Dead rows are few and bunched (a report's rows), so the runs are
        few and nothing is copied."""
        for k, part in enumerate(self._parts):
            size = len(part.ids)
            if not size:
                continue
            dead = (
                np.zeros(0, dtype=np.int64)
                if self._alive is None
                else np.flatnonzero(~self._alive[self._starts[k] : self._starts[k + 1]])
            )
            if not dead.size:
                yield part.ids, part.matrix
                continue
            ends = [*dead.tolist(), size]
            begins = [0, *(dead + 1).tolist()]
            for lo, hi in zip(begins, ends, strict=True):
                if hi > lo:
                    yield part.ids[lo:hi], part.matrix[lo:hi]

    # ---- change ----------------------------------------------------------------------------

    def updated(
        self,
        drop: set[str],
        ids: list[str],
        matrix: np.ndarray | None,
        dates: np.ndarray,
        langs: list[str],
    ) -> VectorIndex:
        """A new index without the `drop` rows and with these rows added after the others (this
        one is left as it is: it may be serving questions meanwhile). Costs O(dropped + added)
        Python work; see the module docstring."""
        dead: list[int] = []
        gone: list[str] = []
        for cid in drop:
            rows = self._rows_of(cid)
            if rows:
                dead.extend(rows)
                gone.append(cid)
        adding = matrix is not None and len(ids) > 0
        if not dead and not adding:
            return self
        if adding:
            assert matrix is not None
            new = np.ascontiguousarray(matrix, dtype=np.float32)
            added_dates = np.asarray(dates).astype(np.int32)
            if (
                new.ndim != 2
                or new.shape[0] != len(ids)
                or added_dates.shape != (len(ids),)
                or len(langs) != len(ids)
            ):
                raise ValueError("ids, matrix rows, dates and languages must line up")
            if len(dead) == self._count:  # nothing left: the new rows alone, as built
                return VectorIndex(list(ids), new, added_dates, list(langs))
            if new.shape[1] != self._dim():
                raise ValueError("the added vectors' dimension differs from the index's")
        sums, counts = self._centroid_sums()
        sums, counts = sums.copy(), counts.copy()
        total = self._starts[-1]
        alive = np.ones(total, dtype=bool) if self._alive is None else self._alive.copy()
        over = dict(self._over)
        if dead:
            dead_rows = np.asarray(dead, dtype=np.int64)
            alive[dead_rows] = False
            dropped = np.stack([self._vector_at(r) for r in dead])
            _count_in(sums, counts, self._codes[dead_rows], dropped, -1)
            for cid in gone:
                over[cid] = ()
        parts, names = list(self._parts), self._names
        new_dates, new_codes = self._dates, self._codes
        if adding:
            index = {lang: i for i, lang in enumerate(names)}
            for lang in langs:
                index.setdefault(lang, len(index))
            if len(index) > len(names):
                grow = len(index) - len(names)
                names = tuple(index)
                sums = np.vstack([sums, np.zeros((grow, sums.shape[1]))])
                counts = np.concatenate([counts, np.zeros(grow, dtype=np.int64)])
            added_codes = np.asarray([index[lang] for lang in langs], dtype=np.uint16)
            _count_in(sums, counts, added_codes, new, 1)
            for i, cid in enumerate(ids):
                before = over.get(cid)
                if before is None:
                    before = self._base.rows(cid)
                over[cid] = (*before, total + i)
            parts.append(_Part(new, list(ids)))
            new_dates = np.concatenate([self._dates, added_dates])
            new_codes = np.concatenate([self._codes, added_codes])
            alive = np.concatenate([alive, np.ones(len(ids), dtype=bool)])
        sums[counts == 0] = 0.0  # a language with no rows left holds exactly nothing
        out = VectorIndex._blank()._set(
            parts,
            self._base,
            over,
            new_dates,
            new_codes,
            names,
            alive if dead or self._alive is not None else None,
            (sums, counts),
        )
        return out._maintained()

    def _maintained(self) -> VectorIndex:
        """This index, or one with the same rows in fewer parts (see COMPACT_SHARE)."""
        base_rows = len(self._parts[0].ids)
        dead = self._starts[-1] - self._count
        appended = self._starts[-1] - base_rows
        if self._count == 0 or dead + appended > COMPACT_SHARE * base_rows:
            return self._compacted()
        # Binary-counter merging of the appended parts: merge the trailing ones while the part
        # before them is no larger than they are together (O(log) parts, every appended row
        # copied O(log) times).
        j = len(self._parts) - 1
        tail = len(self._parts[j].ids)
        while j > 1 and len(self._parts[j - 1].ids) <= tail:
            j -= 1
            tail += len(self._parts[j].ids)
        if j < len(self._parts) - 1:
            return self._merged_from(j)
        return self

    def _merged_from(self, j: int) -> VectorIndex:
        """The appended parts from `j` on as one. Their dead rows stay (dead): every row keeps
        its number, so the overlay, dates and mask hold as they are; compaction drops them."""
        merged = _Part(
            np.concatenate([p.matrix for p in self._parts[j:]]),
            list(itertools.chain.from_iterable(p.ids for p in self._parts[j:])),
        )
        return VectorIndex._blank()._set(
            [*self._parts[:j], merged],
            self._base,
            self._over,
            self._dates,
            self._codes,
            self._names,
            self._alive,
            self._sums,
        )

    def _compacted(self) -> VectorIndex:
        """The live rows as one base matrix (a copy of every live row)."""
        if self._count == 0:
            matrix = np.zeros((0, 0), dtype=np.float32)
            names: tuple[str, ...] = ()
            return VectorIndex._blank()._set(
                [_Part(matrix, [])],
                _Base([], np.zeros(0, dtype=np.int32)),
                {},
                np.zeros(0, dtype=np.int32),
                np.zeros(0, dtype=np.uint16),
                names,
                None,
                (np.zeros((0, 0)), np.zeros(0, dtype=np.int64)),
            )
        matrix = np.empty((self._count, self._dim()), dtype=np.float32)
        at = 0
        for _, vectors in self._live_runs():
            matrix[at : at + len(vectors)] = vectors
            at += len(vectors)
        live = self._live_rows()
        ids = self.ids
        return VectorIndex._blank()._set(
            [_Part(matrix, ids)],
            _Base(ids, self._saved_order()),
            {},
            self._dates[live],
            self._codes[live],
            self._names,
            None,
            self._sums,
        )

    def _saved_order(self) -> np.ndarray:
        """The live rows' positions (counted among live rows) sorted by id, stable: the base's
        sorted order without its dead rows, the appended live rows sorted and merged in by
        binary search."""
        base = self._base.order()
        if self._alive is not None:
            base = base[self._alive[base]]
        base = np.ascontiguousarray(base, dtype=np.int32)
        extra: list[int] = []
        for k in range(1, len(self._parts)):
            lo, hi = self._starts[k], self._starts[k + 1]
            if self._alive is None:
                extra.extend(range(lo, hi))
            else:
                extra.extend((lo + np.flatnonzero(self._alive[lo:hi])).tolist())
        if extra:
            extra.sort(key=self._id_at)  # stable: a repeated id's rows stay in row order
            view, key = memoryview(base), self._base.ids.__getitem__
            at = [bisect.bisect_right(view, self._id_at(r), key=key) for r in extra]
            merged = np.insert(base.astype(np.int64), at, extra)
        else:
            merged = base.astype(np.int64)
        if self._alive is None:
            return merged.astype(np.int32)
        position = np.cumsum(self._alive, dtype=np.int64) - 1
        return position[merged].astype(np.int32)

    # ---- questions -------------------------------------------------------------------------

    def __len__(self) -> int:
        return self._count

    def __contains__(self, chunk_id: object) -> bool:
        return isinstance(chunk_id, str) and bool(self._rows_of(chunk_id))

    def lang(self, chunk_id: str) -> str | None:
        row = self._row_of(chunk_id)
        return None if row is None else self._names[self._codes[row]]

    def get(self, chunk_id: str) -> np.ndarray | None:
        row = self._row_of(chunk_id)
        return None if row is None else self._vector_at(row)

    def vectors(self, ids: list[str]) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for cid in ids:
            row = self._row_of(cid)
            if row is not None:
                out[cid] = self._vector_at(row)
        return out

    def _similarities(self, query: np.ndarray) -> np.ndarray:
        """Per row, dead rows included."""
        if len(self._parts) == 1:
            return self._parts[0].matrix @ query
        sims = np.empty(self._starts[-1], dtype=np.float32)
        for k, part in enumerate(self._parts):
            if len(part.ids):
                np.matmul(part.matrix, query, out=sims[self._starts[k] : self._starts[k + 1]])
        return sims

    def search(
        self,
        vector: np.ndarray,
        limit: int,
        dates: tuple[int, int] | None = None,
        allowed: Callable[[str], bool] | None = None,
    ) -> list[tuple[str, float]]:
        """(chunk id, cosine similarity) best first; `dates` is an inclusive YYYYMMDD range."""
        if limit < 1 or not self._count:
            return []
        sims = self._similarities(np.asarray(vector, dtype=np.float32))
        # The live rows' similarities in row order, as one matrix of those rows would give
        # them: the partition and the stable sort below then pick the same rows, ties too.
        rows: np.ndarray | None = None
        if dates is not None:
            mask = (self._dates >= dates[0]) & (self._dates <= dates[1])
            if self._alive is not None:
                mask &= self._alive
            rows = np.flatnonzero(mask)
            sims = sims[rows]
        elif self._alive is not None:
            rows = self._live_rows()
            sims = sims[rows]
        size = self._count if rows is None else rows.size
        if size == 0:
            return []
        # Take more than asked when a predicate may still drop some.
        take = min(size, limit if allowed is None else limit * 4)
        top = np.argpartition(-sims, take - 1)[:take]
        top = top[np.argsort(-sims[top], kind="stable")]
        out: list[tuple[str, float]] = []
        for i in top:
            cid = self._id_at(int(i) if rows is None else int(rows[i]))
            if allowed is None or allowed(cid):
                out.append((cid, float(sims[i])))
                if len(out) >= limit:
                    break
        return out

    def _centroid_sums(self) -> tuple[np.ndarray, np.ndarray]:
        if self._sums is None:
            # Only an index made from whole lists gets here (a loaded one has them saved; an
            # updated one derives them). One matrix product with a row of ones per language:
            # masking the matrix per language copied it (1.4 s at 205,000 rows).
            matrix = self._parts[0].matrix
            onehot = (
                self._codes[None, :] == np.arange(len(self._names), dtype=np.uint16)[:, None]
            ).astype(np.float32)
            sums = (onehot @ matrix).astype(np.float64)
            counts = np.bincount(self._codes, minlength=len(self._names)).astype(np.int64)
            self._sums = (sums, counts)
        return self._sums

    def centroids(self) -> dict[str, np.ndarray]:
        """The mean vector of each language's rows (see HybridSearcher), from sums kept per
        language: O(languages x dimensions)."""
        if not self._count:
            return {}
        sums, counts = self._centroid_sums()
        found = sorted((name, code) for code, name in enumerate(self._names) if counts[code] > 0)
        return {name: (sums[code] / counts[code]).astype(np.float32) for name, code in found}

    # ---- whole columns (tools and tests: O(rows), a copy once rows changed) ---------------

    @property
    def ids(self) -> list[str]:
        if len(self._parts) == 1 and self._alive is None:
            return self._parts[0].ids
        out: list[str] = []
        for run_ids, _ in self._live_runs():
            out.extend(run_ids)
        return out

    @property
    def langs(self) -> list[str]:
        codes = self._codes if self._alive is None else self._codes[self._alive]
        return np.asarray(self._names, dtype=object)[codes].tolist() if codes.size else []

    @property
    def dates(self) -> np.ndarray:
        return self._dates if self._alive is None else self._dates[self._alive]

    @property
    def matrix(self) -> np.ndarray:
        if len(self._parts) == 1 and self._alive is None:
            return self._parts[0].matrix
        return self._compacted()._parts[0].matrix

    # ---- on disk ---------------------------------------------------------------------------

    def save(self, folder: Path) -> None:
        """The live rows into `folder` (see the module docstring), streamed part by part."""
        folder.mkdir(parents=True, exist_ok=True)
        ids = self.ids
        text = "\n".join(ids)
        if text.count("\n") != max(0, len(ids) - 1):
            raise ValueError("a chunk id holds a line break")
        (folder / "ids.txt").write_bytes(text.encode("utf-8"))
        dim = self._dim()
        with open(folder / "matrix.npy", "wb") as out:
            header = {"descr": "<f4", "fortran_order": False, "shape": (self._count, dim)}
            np.lib.format.write_array_header_1_0(out, header)
            for _, vectors in self._live_runs():
                out.write(np.ascontiguousarray(vectors, dtype="<f4").data)
        np.save(folder / "dates.npy", self.dates)
        codes = self._codes if self._alive is None else self._codes[self._alive]
        np.save(folder / "langs.npy", codes)
        np.save(folder / "order.npy", self._saved_order())
        sums, _ = self._centroid_sums()
        np.save(folder / "centroid_sums.npy", sums)
        meta = {"format": FORMAT, "rows": self._count, "dim": dim, "langs": list(self._names)}
        (folder / "meta.json").write_bytes(orjson.dumps(meta))

    @classmethod
    def load(cls, folder: Path) -> VectorIndex:
        """A saved index. ValueError (or OSError, KeyError) when the files do not line up."""
        meta = orjson.loads((folder / "meta.json").read_bytes())
        if meta["format"] != FORMAT:
            raise ValueError(f"vector index format {meta['format']}, not {FORMAT}")
        rows, dim, names = int(meta["rows"]), int(meta["dim"]), tuple(meta["langs"])
        ids = (folder / "ids.txt").read_bytes().decode("utf-8").split("\n") if rows else []
        # Read whole, not memory-mapped: every dense search scans all rows, and at 205,000
        # chunks the first scan of a mapped file took 1.3 s of page faults, against well under
        # that to read the 300 MB at once.
        matrix = np.load(folder / "matrix.npy")
        dates = np.load(folder / "dates.npy")
        codes = np.load(folder / "langs.npy")
        order = np.load(folder / "order.npy")
        sums = np.load(folder / "centroid_sums.npy")
        if (
            len(ids) != rows
            or matrix.shape != (rows, dim)
            or matrix.dtype != np.float32
            or dates.shape != (rows,)
            or dates.dtype != np.int32
            or codes.shape != (rows,)
            or codes.dtype != np.uint16
            or order.shape != (rows,)
            or order.dtype != np.int32
            or sums.shape != (len(names), dim)
            or (rows and (int(codes.max()) >= len(names) or order.min() < 0 or order.max() >= rows))
        ):
            raise ValueError(f"the vector index files in {folder} do not line up")
        counts = np.bincount(codes, minlength=len(names)).astype(np.int64)
        return cls._blank()._set(
            [_Part(matrix, ids)],
            _Base(ids, order),
            {},
            dates,
            codes,
            names,
            None,
            (sums.astype(np.float64), counts),
        )
