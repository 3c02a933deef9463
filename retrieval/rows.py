"""The committed chunk rows, held as columns: what the read side knows about every chunk.

A `Chunk` object per row costs ~1 KB and ~10 µs to build: at 205,000 chunks, reading the
snapshot's rows as objects took ~3 s and most of the read side's 2.7-3.0 GB. Here a row is a
position in a few arrays: small-integer codes into each string column's distinct values (a
report's title, source and version repeat over all its chunks), position and date as int32, and
the texts as UTF-8 bytes in one file that is memory-mapped, not read. A `Chunk` is made only
when one row is asked for (a search hit, one report's takeaways).

Cost model, at 205,654 rows (benchmarks/bench_rows.py; 2 shared cores, so ratios matter more):

* Ids on disk are a sorted fixed-width bytes array and the row of each, both memory-mapped.
  `load` makes no Python object per row: ~13 ms (main's, parsing every id from JSON: ~42 ms).
  A look-up is then a binary search in C, ~2.5 µs; the first one after load ~0.1 ms, against
  the ~47 ms of main's id -> row dict. After `_DICT_AFTER` searches on one lineage the dict is
  made after all (decoding the ids ~30 ms, hashing them ~40 ms) and look-ups cost what a dict
  costs. Rows made in memory (`from_chunks`, compaction) make that dict at their first look-up.
* `without` and `plus` return new rows and leave these as they were (they may be serving a
  question meanwhile), sharing their physical rows: dead rows are marked in a copied alive mask
  (one byte per row), new rows are appended to copies of the numeric columns (C-speed, ~0.04
  ms each), a string column is copied only when a new value appears (7,750 report ids: ~0.1
  ms), and the ids appended since the base are kept in a small dict. The new rows' look-ups go
  through the older rows' id dict, skipping dead rows (~0.3 µs more each), and copy it into
  their own (~4 ms) only after `_COPY_AFTER` look-ups. A reload of one report,
  `without({report}).plus(26 chunks)` + first look-ups + `rows_of`, is ~4 ms (main: ~118 ms,
  a Python loop over every id and a new dict). No Python loop runs over all rows.
* Public row numbers (`rows_of`, `chunk_at`, `ids`) never show dead rows: row i is the i-th row
  in iteration order, mapped to its physical row by one `flatnonzero` per rows (~0.2 ms, only
  once some died). `rows_of` sorts the report codes once per rows (~1-3 ms, in C).
* Dead and appended rows grow with each change; past `_COMPACT_MIN` or a share of the rows
  (~1,000 one-report reloads at 205k) the rows are compacted: ~7 ms in C, then ~40 ms to make
  the id dict again at the next look-up.
* `save` writes only the live rows (~0.2 s, half of main's): one texts file written by runs,
  each string column's values still in use, the ids sorted (~40 ms of it).

On disk: columns.json (format, row count, distinct string values), arrays.npz (codes, positions,
days, text ends), ids.npy + id_rows.npy (the sorted ids and their rows), texts.bin. `load`
refuses another `_FORMAT` with ValueError (main's layout, ids in columns.json, has no format).
"""

from __future__ import annotations

import itertools
import mmap
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import overload

import numpy as np
import orjson

from store.records import Chunk, date_to_int

# The string fields of a chunk, stored as codes into their distinct values.
_STRINGS = ("report_id", "version", "kind", "lang", "title", "source", "heading")
_TEXTS = "texts.bin"
# Of the saved folder. The layout before it (every id in columns.json) had no "format" key.
_FORMAT = 3
# Binary searches before an id dict pays for itself: at 205k one search is ~2.5 µs and the dict
# ~70 ms (decoding the ids, then hashing them), so after ~28k searches; earlier, so that a
# question with a wide date filter (it asks the date of every scored row) pays little first,
# late enough that a cold start's first questions (a few hundred look-ups each) make no dict.
_DICT_AFTER = 10_000
# Look-ups through an older index (each ~0.3 µs slower than a dict's) before rows made by
# `without`/`plus` copy it into their own (~4 ms at 205k): a reload that few questions see
# copies nothing.
_COPY_AFTER = 10_000
# Compaction: dead or appended rows at most this many, or this share of the rows, before the
# rows are rebuilt without the dead (so a long-running bot's rows and overlay stay bounded).
_COMPACT_MIN = 4096


class _BaseIds:
    """The ids of a lineage's first physical rows, shared by every `ChunkRows` derived from the
    same load, `from_chunks` or compaction: never changed, only lazily completed. Its ids are
    unique."""

    __slots__ = ("size", "index", "_list", "_sorted", "_sorted_rows", "_ranks", "_searches")

    def __init__(
        self,
        ids: list[str] | None,
        sorted_ids: np.ndarray | None = None,
        sorted_rows: np.ndarray | None = None,
    ) -> None:
        self._list = ids
        self._sorted = sorted_ids  # bytes, ascending
        self._sorted_rows = sorted_rows  # the row of each sorted id
        self.size = len(ids) if ids is not None else len(sorted_ids)  # type: ignore[arg-type]
        self.index: dict[str, int] | None = None  # id -> row, once made
        self._ranks: np.ndarray | None = None
        self._searches = 0

    def search(self, chunk_id: str) -> int | None:
        """The row of an id by binary search, while that is cheaper than making the dict
        (`index` is then set: use it)."""
        if self._sorted is None or self._searches >= _DICT_AFTER:
            return self.rows().get(chunk_id)
        self._searches += 1
        if not isinstance(chunk_id, str):
            return None
        key = chunk_id.encode("utf-8")
        if len(key) > self._sorted.itemsize:
            return None  # longer than every id here (and searching would widen them all)
        # Typed as the ids are: a key of another width made numpy cast all 205,000 of them
        # for each search (1.6 ms instead of 5 µs).
        i = int(self._sorted.searchsorted(np.asarray(key, dtype=self._sorted.dtype)))
        if i < self.size and self._sorted[i] == key:
            return int(self._sorted_rows[i])
        return None

    def rows(self) -> dict[str, int]:
        if self.index is None:
            self.index = dict(zip(self.as_list(), range(self.size), strict=True))
        return self.index

    def as_list(self) -> list[str]:
        if self._list is None:
            assert self._sorted is not None
            self._list = [b.decode("utf-8") for b in self._sorted[self._rank()].tolist()]
        return self._list

    def at(self, row: int) -> str:
        if self._list is not None:
            return self._list[row]
        assert self._sorted is not None
        return bytes(self._sorted[self._rank()[row]]).decode("utf-8")

    def encoded(self, rows: np.ndarray) -> np.ndarray:
        """These rows' ids as a fixed-width bytes array."""
        if self._list is None:
            assert self._sorted is not None
            return np.asarray(self._sorted[self._rank()[rows]])
        return _fixed([self._list[i] for i in rows.tolist()])

    def _rank(self) -> np.ndarray:
        if self._ranks is None:
            ranks = np.empty(self.size, dtype=np.int32)
            ranks[self._sorted_rows] = np.arange(self.size, dtype=np.int32)
            self._ranks = ranks
        return self._ranks


class _Column:
    """A string column's distinct values (codes index into them); shared until a change adds
    values, then copied."""

    __slots__ = ("values", "_index")

    def __init__(self, values: list[str], index: dict[str, int] | None = None) -> None:
        self.values = values
        self._index = index

    def index(self) -> dict[str, int]:
        if self._index is None:
            self._index = {v: i for i, v in enumerate(self.values)}
        return self._index

    def merged(self, values: list[str]) -> tuple[_Column, np.ndarray]:
        """This column with these (distinct) values added, and their codes in it."""
        index = self.index()
        missing = [v for v in values if v not in index]
        column = self
        if missing:
            index = dict(index)
            for i, v in enumerate(missing, len(self.values)):
                index[v] = i
            column = _Column(self.values + missing, index)
        return column, np.asarray([index[v] for v in values], dtype=np.int32)


class ChunkRows(Mapping[str, Chunk]):
    """Chunk id -> Chunk, in row order (removed rows leave, new rows join at the end)."""

    def __init__(
        self,
        base: _BaseIds,
        extra: list[str],
        added: dict[str, int],
        alive: bytearray,
        dead: int,
        columns: dict[str, _Column],
        codes: dict[str, np.ndarray],
        positions: np.ndarray,
        days: np.ndarray,
        buffers: list[bytes | mmap.mmap],
        segment: np.ndarray,
        starts: np.ndarray,
        ends: np.ndarray,
    ) -> None:
        """Internal: use `from_chunks`, `load`, `without`, `plus`. A physical row below
        `base.size` has its id in `base`, above it in `extra`; `added` maps the live `extra`
        ids to their rows; `alive` marks each physical row."""
        n = base.size + len(extra)
        if (
            any(len(codes[f]) != n for f in _STRINGS)
            or not (len(alive) == len(positions) == len(days) == len(segment) == len(starts))
            or not (len(starts) == len(ends) == n)
        ):
            raise ValueError("chunk columns must line up")
        self._base = base
        self._extra = extra
        self._added = added
        self._alive = alive  # one byte per physical row; never resized once here
        self._alive_mask = np.frombuffer(alive, dtype=np.bool_)
        self._dead = dead
        self._columns = columns  # field -> distinct values
        self._codes = codes  # field -> int32 code per physical row
        self._positions = positions
        self._days = days  # YYYYMMDD, as the vector index keeps them
        self._buffers = buffers
        self._segment = segment  # which buffer holds a row's text
        self._starts = starts
        self._ends = ends
        # Every live id -> its physical row: made once these rows were asked many ids, then a
        # plain dict look-up as fast as before rows could die. Until then a look-up asks
        # `_anc`, an older rows' index (shared, never changed: the rows of `_anc_dead` died
        # since, the rows from `_anc_len` on came after), then `_added`.
        self._index: dict[str, int] | None = None
        self._anc: dict[str, int] | None = None
        self._anc_len = 0
        self._anc_dead: list[int] = []
        self._lookups = 0
        self._live: np.ndarray | None = None  # physical row of each public row, once rows died
        self._by_report: tuple[np.ndarray, np.ndarray] | None = None

    # ---- making -------------------------------------------------------------------------------

    @classmethod
    def empty(cls) -> ChunkRows:
        return cls.from_chunks([])

    @classmethod
    def from_chunks(cls, chunks: Iterable[Chunk]) -> ChunkRows:
        """Rows for these chunks; a repeated id keeps its first place and its last value, as
        a dict would."""
        by_id = {c.id: c for c in chunks}
        rows = list(by_id.values())
        columns: dict[str, _Column] = {}
        codes: dict[str, np.ndarray] = {}
        for name in _STRINGS:
            columns[name], codes[name] = _factorize([getattr(c, name) for c in rows])
        encoded = [c.text.encode("utf-8") for c in rows]
        ends = np.cumsum([len(b) for b in encoded], dtype=np.int64)
        starts = ends - np.asarray([len(b) for b in encoded], dtype=np.int64)
        return cls(
            _BaseIds(list(by_id)),
            [],
            {},
            bytearray(b"\x01") * len(rows),
            0,
            columns,
            codes,
            np.asarray([c.position for c in rows], dtype=np.int32),
            np.asarray([date_to_int(c.report_date) for c in rows], dtype=np.int32),
            [b"".join(encoded)],
            np.zeros(len(rows), dtype=np.int32),
            starts,
            ends,
        )

    def without(self, report_ids: set[str]) -> ChunkRows:
        """These rows minus every chunk of these reports."""
        dead = self._of_reports(report_ids)
        return self if not dead.size else self._changed(dead, None)

    def ids_of(self, report_ids: set[str]) -> list[str]:
        """The chunk ids of these reports, in row order."""
        return [self._id_at(p) for p in self._of_reports(report_ids).tolist()]

    def _of_reports(self, report_ids: set[str]) -> np.ndarray:
        """The live physical rows of these reports, in order."""
        index = self._columns["report_id"].index()
        codes = [index[rid] for rid in report_ids if rid in index]
        if not codes:
            return np.zeros(0, dtype=np.int64)
        mask = np.isin(self._codes["report_id"], np.asarray(codes, dtype=np.int32))
        if self._dead:
            mask &= self._alive_mask
        return np.flatnonzero(mask)

    def plus(self, chunks: Sequence[Chunk]) -> ChunkRows:
        """These rows and the new chunks after them (an id already here is replaced, and its
        row moves to the end)."""
        if not chunks:
            return self
        new = ChunkRows.from_chunks(chunks)
        found = (self._find(cid) for cid in new._base.as_list())
        replaced = np.asarray(sorted(p for p in found if p is not None), dtype=np.int64)
        return self._changed(replaced, new)

    def _changed(self, dead: np.ndarray, new: ChunkRows | None) -> ChunkRows:
        """New rows: these live physical rows dead, then `new`'s rows appended. The arrays
        are copied (C speed), the per-row Python objects are shared."""
        size, first = self._base.size, len(self._alive)
        dead_rows = dead.tolist()
        new_ids = new._base.as_list() if new is not None else []
        fresh = dict(zip(new_ids, range(first, first + len(new_ids)), strict=True))
        alive = self._alive + b"\x01" * len(new_ids)
        for p in dead_rows:
            alive[p] = 0
        added = self._added
        if fresh or (dead_rows and dead_rows[-1] >= size):
            added = dict(added)  # small: the ids appended since the base was made
            for p in dead_rows:
                if p >= size:
                    del added[self._extra[p - size]]
            added.update(fresh)
        if new is None:
            columns, codes = self._columns, self._codes
            arrays = (self._positions, self._days, self._segment, self._starts, self._ends)
            buffers, extra = self._buffers, self._extra
        else:
            columns, codes = {}, {}
            for name in _STRINGS:
                columns[name], remap = self._columns[name].merged(new._columns[name].values)
                codes[name] = np.concatenate([self._codes[name], remap[new._codes[name]]])
            segment = np.full(len(new_ids), len(self._buffers), dtype=np.int32)
            arrays = (
                np.concatenate([self._positions, new._positions]),
                np.concatenate([self._days, new._days]),
                np.concatenate([self._segment, segment]),
                np.concatenate([self._starts, new._starts]),
                np.concatenate([self._ends, new._ends]),
            )
            buffers, extra = [*self._buffers, new._buffers[0]], self._extra + new_ids
        positions, days, segments, starts, ends = arrays
        rows = ChunkRows(
            self._base,
            extra,
            added,
            alive,
            self._dead + len(dead_rows),
            columns,
            codes,
            positions,
            days,
            buffers,
            segments,
            starts,
            ends,
        )
        if rows._compact_due():
            return rows._compacted()
        # No copy of the id dict here (~4 ms at 205k, twice per without+plus): the new rows
        # look ids up in this one's (or its ancestor's) and make their own only if asked many.
        if self._index is not None:
            rows._anc, rows._anc_len, rows._anc_dead = self._index, first, dead_rows
        elif self._anc is not None:
            rows._anc, rows._anc_len = self._anc, self._anc_len
            rows._anc_dead = self._anc_dead + [p for p in dead_rows if p < self._anc_len]
        return rows

    def _compact_due(self) -> bool:
        n = len(self._alive)
        return self._dead > max(_COMPACT_MIN, n // 4) or len(self._extra) > max(
            _COMPACT_MIN, self._base.size // 8
        )

    def _compacted(self) -> ChunkRows:
        """The same rows with no dead ones and every id in the base (its dict built when
        first asked)."""
        live = self._live_rows()
        ids = list(itertools.compress(self._physical_ids(), self._alive))
        return ChunkRows(
            _BaseIds(ids),
            [],
            {},
            bytearray(b"\x01") * len(ids),
            0,
            self._columns,
            {name: self._codes[name][live] for name in _STRINGS},
            self._positions[live],
            self._days[live],
            self._buffers,
            self._segment[live],
            self._starts[live],
            self._ends[live],
        )

    # ---- reading ------------------------------------------------------------------------------

    def __getitem__(self, chunk_id: str) -> Chunk:
        row = self._find(chunk_id)
        if row is None:
            raise KeyError(chunk_id)
        return self._chunk(row)

    def __contains__(self, chunk_id: object) -> bool:
        index = self._index
        if index is not None:
            return chunk_id in index
        return self._find_slowly(chunk_id) is not None  # type: ignore[arg-type]

    def __iter__(self) -> Iterator[str]:
        ids = self._physical_ids()
        return iter(ids) if not self._dead else itertools.compress(ids, self._alive)

    def __len__(self) -> int:
        return len(self._alive) - self._dead

    @property
    def ids(self) -> Sequence[str]:
        """The id of each row number (`rows_of`'s), in row order: a view, not a list (a
        list of 205k ids is ~30 ms to make); `list(rows)` makes one."""
        return _RowIds(self)

    def id_at(self, row: int) -> str:
        return self._id_at(self._physical(row))

    def chunk_at(self, row: int) -> Chunk:
        return self._chunk(self._physical(row))

    def text_at(self, row: int) -> str:
        return self._text(self._physical(row))

    def kind_at(self, row: int) -> str:
        return self._columns["kind"].values[self._codes["kind"][self._physical(row)]]

    def day(self, chunk_id: str) -> int | None:
        """A chunk's report date as YYYYMMDD, without making the chunk (date filters ask this
        of every scored row)."""
        index = self._index
        row = index.get(chunk_id) if index is not None else self._find_slowly(chunk_id)
        return None if row is None else int(self._days[row])

    def rows_of(self, report_id: str) -> list[int]:
        """A report's rows, in row order."""
        code = self._columns["report_id"].index().get(report_id)
        if code is None:
            return []
        if self._by_report is None:
            # One stable sort (C, ~0.2 ms at 205k) answers every report.
            codes = self._codes["report_id"]
            if self._dead:
                codes = codes[self._live_rows()]
            order = np.argsort(codes, kind="stable")
            bounds = np.searchsorted(
                codes[order], np.arange(len(self._columns["report_id"].values) + 1)
            )
            self._by_report = (order, bounds)
        order, bounds = self._by_report
        return order[bounds[code] : bounds[code + 1]].tolist()

    def report_ids(self, kind: str) -> list[str]:
        """The reports that have rows of this kind, sorted."""
        code = self._columns["kind"].index().get(kind)
        if code is None:
            return []
        mask = self._codes["kind"] == code
        if self._dead:
            mask &= self._alive_mask
        values = self._columns["report_id"].values
        present = np.bincount(self._codes["report_id"][mask], minlength=len(values))
        return sorted(values[i] for i in np.flatnonzero(present).tolist())

    # Physical rows: what the arrays are indexed by. Public row numbers skip the dead ones.

    def _find(self, chunk_id: str) -> int | None:
        """A live id's physical row."""
        index = self._index
        return index.get(chunk_id) if index is not None else self._find_slowly(chunk_id)

    def _find_slowly(self, chunk_id: str) -> int | None:
        # An older index (or the base's ids) knows every live row it was made with; a row
        # that died since is skipped, and the only other live rows are in `_added`.
        anc = self._anc
        if anc is None:
            base = self._base
            if base.index is None:
                row = base.search(chunk_id)
                if base.index is None:
                    if row is not None and self._alive[row]:
                        return row
                    return self._added.get(chunk_id)
            anc, self._anc_len = base.index, base.size
            self._anc_dead = np.flatnonzero(~self._alive_mask[: base.size]).tolist()
            self._anc = anc
            if not self._anc_dead and base.size == len(self._alive):
                self._index = anc  # these rows are the base's: its dict is theirs
                return anc.get(chunk_id)
        self._lookups += 1
        if self._lookups > _COPY_AFTER:
            return self._own_index().get(chunk_id)
        row = anc.get(chunk_id)
        if row is not None and self._alive[row]:
            return row
        return self._added.get(chunk_id)

    def _own_index(self) -> dict[str, int]:
        """`_anc` copied (C speed, ~4 ms at 205k) and brought up to these rows."""
        assert self._anc is not None
        index = self._anc.copy()
        for p in self._anc_dead:
            del index[self._id_at(p)]
        alive, extra, size = self._alive, self._extra, self._base.size
        for p in range(self._anc_len, len(alive)):
            if alive[p]:
                index[extra[p - size]] = p
        self._index = index
        return index

    def _physical(self, row: int) -> int:
        n = len(self)
        if row < 0:
            row += n
        if not 0 <= row < n:
            raise IndexError(f"row {row} out of range")
        return row if not self._dead else int(self._live_rows()[row])

    def _live_rows(self) -> np.ndarray:
        if self._live is None:
            self._live = np.flatnonzero(self._alive_mask)
        return self._live

    def _physical_ids(self) -> Iterable[str]:
        base = self._base.as_list()
        return itertools.chain(base, self._extra) if self._extra else base

    def _id_at(self, row: int) -> str:
        size = self._base.size
        return self._base.at(row) if row < size else self._extra[row - size]

    def _chunk(self, row: int) -> Chunk:
        field = {name: self._columns[name].values[self._codes[name][row]] for name in _STRINGS}
        day = int(self._days[row])
        return Chunk.model_construct(
            position=int(self._positions[row]),
            text=self._text(row),
            report_date=date(day // 10000, day // 100 % 100, day % 100),
            **field,
        )

    def _text(self, row: int) -> str:
        buffer = self._buffers[self._segment[row]]
        return bytes(buffer[self._starts[row] : self._ends[row]]).decode("utf-8")

    # ---- on disk ------------------------------------------------------------------------------

    def save(self, folder: Path) -> None:
        """The live rows compacted: one texts file, each string column's values still in use,
        the ids sorted for binary search."""
        folder.mkdir(parents=True, exist_ok=True)
        live = self._live_rows()
        columns: dict[str, list[str]] = {}
        arrays: dict[str, np.ndarray] = {}
        for name in _STRINGS:
            used, codes = np.unique(self._codes[name][live], return_inverse=True)
            columns[name] = [self._columns[name].values[i] for i in used.tolist()]
            arrays[name] = codes.astype(np.int32).reshape(-1)
        segment, starts, ends = self._segment[live], self._starts[live], self._ends[live]
        with open(folder / _TEXTS, "wb") as out:
            # One write per run of rows that lie back to back in one buffer (a loaded snapshot
            # is a single run), not one per row.
            cuts = np.flatnonzero((segment[1:] != segment[:-1]) | (starts[1:] != ends[:-1])) + 1
            firsts = [0, *cuts.tolist()]
            lasts = [*cuts.tolist(), len(live)]
            for first, last in zip(firsts, lasts, strict=True):
                if first < last:
                    with memoryview(self._buffers[segment[first]]) as view:
                        out.write(view[starts[first] : ends[last - 1]])
        arrays["ends"] = np.cumsum(ends - starts, dtype=np.int64)
        arrays["positions"] = self._positions[live]
        arrays["days"] = self._days[live]
        size = self._base.size
        in_base = live[live < size]
        ids = np.concatenate(
            [
                self._base.encoded(in_base),
                _fixed([self._extra[p - size] for p in live[live >= size].tolist()]),
            ]
        )
        order = np.argsort(ids, kind="stable")
        np.save(folder / "ids.npy", ids[order])
        np.save(folder / "id_rows.npy", order.astype(np.int32))
        np.savez(folder / "arrays.npz", **arrays)
        meta = {"format": _FORMAT, "rows": len(live), "values": columns}
        (folder / "columns.json").write_bytes(orjson.dumps(meta))

    @classmethod
    def load(cls, folder: Path) -> ChunkRows:
        """Saved rows; the texts and ids stay on disk, mapped (a folder is never rewritten in
        place: the snapshot writes a new one, so the mapping stays valid). Raises ValueError
        for a folder saved in another layout."""
        meta = orjson.loads((folder / "columns.json").read_bytes())
        if not isinstance(meta, dict) or meta.get("format") != _FORMAT:
            raise ValueError(f"chunk rows in {folder} are not in format {_FORMAT}")
        n = meta["rows"]
        with np.load(folder / "arrays.npz") as saved:
            arrays = {name: saved[name] for name in saved.files}
        mode = "r" if n else None  # mmap refuses an empty array
        sorted_ids = np.load(folder / "ids.npy", mmap_mode=mode)
        sorted_rows = np.load(folder / "id_rows.npy", mmap_mode=mode)
        if sorted_ids.dtype.kind != "S" or not (len(sorted_ids) == len(sorted_rows) == n):
            raise ValueError(f"chunk rows in {folder} are damaged")
        ends = arrays["ends"]
        starts = np.concatenate([np.zeros(min(1, ends.size), dtype=np.int64), ends[:-1]])
        with open(folder / _TEXTS, "rb") as f:
            # mmap refuses an empty file.
            text: bytes | mmap.mmap = (
                mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) if ends.size and ends[-1] else b""
            )
        return cls(
            _BaseIds(None, sorted_ids, sorted_rows),
            [],
            {},
            bytearray(b"\x01") * n,
            0,
            {name: _Column(meta["values"][name]) for name in _STRINGS},
            {name: arrays[name] for name in _STRINGS},
            arrays["positions"],
            arrays["days"],
            [text],
            np.zeros(n, dtype=np.int32),
            starts,
            ends,
        )


class _RowIds(Sequence[str]):
    """`ChunkRows.ids`: row number -> id, without making the list."""

    def __init__(self, rows: ChunkRows) -> None:
        self._rows = rows

    def __len__(self) -> int:
        return len(self._rows)

    @overload
    def __getitem__(self, row: int) -> str: ...

    @overload
    def __getitem__(self, row: slice) -> list[str]: ...

    def __getitem__(self, row: int | slice) -> str | list[str]:
        if isinstance(row, slice):
            return [self._rows.id_at(i) for i in range(*row.indices(len(self)))]
        return self._rows.id_at(row)

    def __iter__(self) -> Iterator[str]:
        return iter(self._rows)


def _factorize(items: list[str]) -> tuple[_Column, np.ndarray]:
    index: dict[str, int] = {}
    codes = [index.setdefault(v, len(index)) for v in items]
    return _Column(list(index), index), np.asarray(codes, dtype=np.int32)


def _fixed(ids: list[str]) -> np.ndarray:
    """Ids as a fixed-width bytes array (numpy drops trailing NUL bytes; a chunk id ends with
    its language code, never with NUL)."""
    return np.asarray([cid.encode("utf-8") for cid in ids], dtype=np.bytes_)
