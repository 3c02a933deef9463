"""The committed chunk rows, held as columns: what the read side knows about every chunk.

A `Chunk` object per row costs ~1 KB and ~10 µs to build: at 205,000 chunks, reading the
snapshot's rows as objects took ~3 s and most of the read side's 2.7-3.0 GB. Here a row is a
position in a few arrays: the ids, small-integer codes into each string column's distinct
values (a report's title, source and version repeat over all its chunks), position and date as
int32, and the texts as UTF-8 bytes in one file that is memory-mapped, not read. A `Chunk` is
made only when one row is asked for (a search hit, one report's takeaways), so a start costs
O(1) Python objects per row instead of one model: the id.

Immutable once made: `without` and `plus` return new rows (the old ones may be serving a
question meanwhile), sharing the text buffers.
"""

from __future__ import annotations

import mmap
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date
from pathlib import Path

import numpy as np
import orjson

from store.records import Chunk, date_to_int

# The string fields of a chunk, stored as codes into their distinct values.
_STRINGS = ("report_id", "version", "kind", "lang", "title", "source", "heading")
_TEXTS = "texts.bin"


class ChunkRows(Mapping[str, Chunk]):
    """Chunk id -> Chunk, in row order (removed rows leave, new rows join at the end)."""

    def __init__(
        self,
        ids: list[str],
        values: dict[str, list[str]],
        codes: dict[str, np.ndarray],
        positions: np.ndarray,
        days: np.ndarray,
        buffers: list[bytes | mmap.mmap],
        segment: np.ndarray,
        starts: np.ndarray,
        ends: np.ndarray,
    ) -> None:
        n = len(ids)
        if any(len(codes[f]) != n for f in _STRINGS) or not (
            len(positions) == len(days) == len(segment) == len(starts) == len(ends) == n
        ):
            raise ValueError("chunk columns must line up")
        self.ids = ids
        self._values = values  # field -> distinct values (codes index into them)
        self._codes = codes  # field -> int32 code per row
        self._positions = positions
        self._days = days  # YYYYMMDD, as the vector index keeps them
        self._buffers = buffers
        self._segment = segment  # which buffer holds a row's text
        self._starts = starts
        self._ends = ends
        self._row: dict[str, int] | None = None
        self._by_report: dict[str, np.ndarray] | None = None

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
        values: dict[str, list[str]] = {}
        codes: dict[str, np.ndarray] = {}
        for name in _STRINGS:
            values[name], codes[name] = _factorize([getattr(c, name) for c in rows])
        encoded = [c.text.encode("utf-8") for c in rows]
        ends = np.cumsum([len(b) for b in encoded], dtype=np.int64)
        starts = ends - np.asarray([len(b) for b in encoded], dtype=np.int64)
        return cls(
            list(by_id),
            values,
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
        mask = self._of_reports(report_ids)
        return self if not mask.any() else self._take(np.flatnonzero(~mask))

    def ids_of(self, report_ids: set[str]) -> list[str]:
        """The chunk ids of these reports, in row order."""
        return [self.ids[i] for i in np.flatnonzero(self._of_reports(report_ids)).tolist()]

    def _of_reports(self, report_ids: set[str]) -> np.ndarray:
        codes = [i for i, rid in enumerate(self._values["report_id"]) if rid in report_ids]
        return np.isin(self._codes["report_id"], np.asarray(codes, dtype=np.int32))

    def plus(self, chunks: Sequence[Chunk]) -> ChunkRows:
        """These rows and the new chunks after them (an id already here is replaced, and its
        row moves to the end)."""
        if not chunks:
            return self
        new = ChunkRows.from_chunks(chunks)
        base = self._take(np.flatnonzero([cid not in new for cid in self.ids]))
        values: dict[str, list[str]] = {}
        codes: dict[str, np.ndarray] = {}
        for name in _STRINGS:
            merged = list(base._values[name])
            index = {v: i for i, v in enumerate(merged)}
            for v in new._values[name]:
                if v not in index:
                    index[v] = len(merged)
                    merged.append(v)
            remap = np.asarray([index[v] for v in new._values[name]], dtype=np.int32)
            values[name] = merged
            codes[name] = np.concatenate([base._codes[name], remap[new._codes[name]]])
        return ChunkRows(
            base.ids + new.ids,
            values,
            codes,
            np.concatenate([base._positions, new._positions]),
            np.concatenate([base._days, new._days]),
            [*base._buffers, new._buffers[0]],
            np.concatenate([base._segment, np.full(len(new), len(base._buffers), np.int32)]),
            np.concatenate([base._starts, new._starts]),
            np.concatenate([base._ends, new._ends]),
        )

    def _take(self, rows: np.ndarray) -> ChunkRows:
        return ChunkRows(
            [self.ids[i] for i in rows.tolist()],
            self._values,
            {name: self._codes[name][rows] for name in _STRINGS},
            self._positions[rows],
            self._days[rows],
            self._buffers,
            self._segment[rows],
            self._starts[rows],
            self._ends[rows],
        )

    # ---- reading ------------------------------------------------------------------------------

    def __getitem__(self, chunk_id: str) -> Chunk:
        return self.chunk_at(self._rows()[chunk_id])

    def __contains__(self, chunk_id: object) -> bool:
        return chunk_id in self._rows()

    def __iter__(self) -> Iterator[str]:
        return iter(self.ids)

    def __len__(self) -> int:
        return len(self.ids)

    def chunk_at(self, row: int) -> Chunk:
        field = {name: self._values[name][self._codes[name][row]] for name in _STRINGS}
        day = int(self._days[row])
        return Chunk.model_construct(
            position=int(self._positions[row]),
            text=self.text_at(row),
            report_date=date(day // 10000, day // 100 % 100, day % 100),
            **field,
        )

    def text_at(self, row: int) -> str:
        buffer = self._buffers[self._segment[row]]
        return bytes(buffer[self._starts[row] : self._ends[row]]).decode("utf-8")

    def day(self, chunk_id: str) -> int | None:
        """A chunk's report date as YYYYMMDD, without making the chunk (date filters ask this
        of every scored row)."""
        row = self._rows().get(chunk_id)
        return None if row is None else int(self._days[row])

    def rows_of(self, report_id: str) -> list[int]:
        """A report's rows, in row order."""
        if self._by_report is None:
            codes = self._codes["report_id"]
            order = np.argsort(codes, kind="stable")
            bounds = np.searchsorted(codes[order], np.arange(len(self._values["report_id"]) + 1))
            self._by_report = {
                rid: order[bounds[i] : bounds[i + 1]]
                for i, rid in enumerate(self._values["report_id"])
                if bounds[i] < bounds[i + 1]
            }
        rows = self._by_report.get(report_id)
        return [] if rows is None else rows.tolist()

    def report_ids(self, kind: str) -> list[str]:
        """The reports that have rows of this kind, sorted."""
        if kind not in self._values["kind"]:
            return []
        mask = self._codes["kind"] == self._values["kind"].index(kind)
        present = np.unique(self._codes["report_id"][mask])
        return sorted(self._values["report_id"][i] for i in present.tolist())

    def kind_at(self, row: int) -> str:
        return self._values["kind"][self._codes["kind"][row]]

    def _rows(self) -> dict[str, int]:
        if self._row is None:
            self._row = {cid: i for i, cid in enumerate(self.ids)}
        return self._row

    # ---- on disk ------------------------------------------------------------------------------

    def save(self, folder: Path) -> None:
        """The rows compacted: one texts file, each string column's values still in use."""
        folder.mkdir(parents=True, exist_ok=True)
        columns: dict[str, list[str]] = {}
        arrays: dict[str, np.ndarray] = {}
        for name in _STRINGS:
            used, codes = np.unique(self._codes[name], return_inverse=True)
            columns[name] = [self._values[name][i] for i in used.tolist()]
            arrays[name] = codes.astype(np.int32)
        lengths = self._ends - self._starts
        with open(folder / _TEXTS, "wb") as out:
            for row in range(len(self)):
                buffer = self._buffers[self._segment[row]]
                out.write(buffer[self._starts[row] : self._ends[row]])
        arrays["ends"] = np.cumsum(lengths, dtype=np.int64)
        arrays["positions"] = self._positions
        arrays["days"] = self._days
        (folder / "columns.json").write_bytes(orjson.dumps({"ids": self.ids, "values": columns}))
        np.savez(folder / "arrays.npz", **arrays)

    @classmethod
    def load(cls, folder: Path) -> ChunkRows:
        """Saved rows; the texts stay on disk, mapped (a folder is never rewritten in place:
        the snapshot writes a new one, so the mapping stays valid)."""
        columns = orjson.loads((folder / "columns.json").read_bytes())
        with np.load(folder / "arrays.npz") as saved:
            arrays = {name: saved[name] for name in saved.files}
        ends = arrays["ends"]
        starts = np.concatenate([np.zeros(min(1, ends.size), dtype=np.int64), ends[:-1]])
        with open(folder / _TEXTS, "rb") as f:
            # mmap refuses an empty file.
            text: bytes | mmap.mmap = (
                mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) if ends.size and ends[-1] else b""
            )
        ids = columns["ids"]
        return cls(
            ids,
            columns["values"],
            {name: arrays[name] for name in _STRINGS},
            arrays["positions"],
            arrays["days"],
            [text],
            np.zeros(len(ids), dtype=np.int32),
            starts,
            ends,
        )


def _factorize(items: list[str]) -> tuple[list[str], np.ndarray]:
    index: dict[str, int] = {}
    codes = [index.setdefault(v, len(index)) for v in items]
    return list(index), np.asarray(codes, dtype=np.int32)
