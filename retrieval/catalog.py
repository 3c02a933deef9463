"""An in-memory view of what is committed in the store: reports, their takeaways and passages.

Answers are assembled from here; the vector and lexical indexes only say *which* rows match.
"""

from __future__ import annotations

import bisect
import functools
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from retrieval.rows import ChunkRows
from retrieval.vectors import VectorIndex
from store.records import Chunk, ReportEntry
from store.translation import TranslationRow
from store.vector_store import ReportStore


@dataclass
class TakeawayView:
    report_id: str
    position: int
    texts: dict[str, str] = field(default_factory=dict)
    chunk_ids: list[str] = field(default_factory=list)
    # Machine translations of the English text: language -> (text, model).
    translations: dict[str, tuple[str, str]] = field(default_factory=dict)

    def text_for(self, lang: str) -> tuple[str, str]:
        for candidate in (lang, "en", *self.texts):
            if candidate in self.texts:
                return candidate, self.texts[candidate]
        raise ValueError("takeaway without text")


class _ReportViews(Mapping[str, list]):
    """Report id -> its takeaways or passages, made on first use from the rows: a start or a
    reload then costs nothing per row (at 205,000 chunks, building every view took 1.3 s),
    and a question makes only the few reports it answers from."""

    def __init__(self, keys: list[str], make: Callable[[str], list]) -> None:
        self._keys = keys
        self._key_set = set(keys)
        self._make = make
        self._made: dict[str, list] = {}

    def __getitem__(self, report_id: str) -> list:
        made = self._made.get(report_id)
        if made is None:
            if report_id not in self._key_set:
                raise KeyError(report_id)
            # setdefault: two threads asking at once still share one list.
            made = self._made.setdefault(report_id, self._make(report_id))
        return made

    def peek(self, report_id: str) -> list:
        """As `self[report_id]`, without keeping what it made: for a pass over every report
        (/topic's index), which would otherwise keep every view made (~50 MB at 205,000
        chunks)."""
        made = self._made.get(report_id)
        return made if made is not None else self._make(report_id)

    def __contains__(self, report_id: object) -> bool:
        return report_id in self._key_set

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)


@dataclass
class Catalog:
    reports: dict[str, ReportEntry]
    chunks: ChunkRows
    takeaways: Mapping[str, list[TakeawayView]]  # report id -> takeaways in report order
    passages: Mapping[str, list[Chunk]]  # report id -> passages in report order
    vectors: VectorIndex

    @classmethod
    def load(cls, store: ReportStore) -> Catalog:
        """Everything the store has committed, read from Chroma (see retrieval.snapshot for
        the persisted copy that a start reads instead)."""
        reports = store.reports()
        raw: dict[str, np.ndarray] = {}
        chunks = store.committed_chunks(reports, raw)
        return cls.assemble(
            reports,
            chunks,
            VectorIndex.build(raw, {c.id: c for c in chunks}),
            list(store.translations().values()),
        )

    @classmethod
    def assemble(
        cls,
        reports: dict[str, ReportEntry],
        chunks: Iterable[Chunk] | ChunkRows,
        vectors: VectorIndex,
        translations: Iterable[TranslationRow],
    ) -> Catalog:
        """The views over committed rows: takeaways grouped by position, passages in report
        order, and the machine translations that match each report's current version."""
        rows = chunks if isinstance(chunks, ChunkRows) else ChunkRows.from_chunks(chunks)
        matching: dict[str, list[TranslationRow]] = defaultdict(list)
        for row in translations:
            entry = reports.get(row.report_id)
            if entry is not None and entry.version == row.version:
                matching[row.report_id].append(row)

        def takeaways_of(report_id: str) -> list[TakeawayView]:
            by_pos: dict[int, TakeawayView] = {}
            for i in rows.rows_of(report_id):
                if rows.kind_at(i) == "takeaway":
                    chunk = rows.chunk_at(i)
                    view = by_pos.setdefault(
                        chunk.position, TakeawayView(report_id, chunk.position)
                    )
                    view.texts[chunk.lang] = chunk.text
                    view.chunk_ids.append(rows.ids[i])
            for row in matching.get(report_id, ()):
                if (view := by_pos.get(row.position)) is not None:
                    view.translations[row.lang] = (row.text, row.model)
            return [by_pos[p] for p in sorted(by_pos)]

        def passages_of(report_id: str) -> list[Chunk]:
            # Only the passages become Chunk objects (the kind is read from its column).
            found = [
                rows.chunk_at(i) for i in rows.rows_of(report_id) if rows.kind_at(i) == "passage"
            ]
            return sorted(found, key=lambda c: c.position)

        return cls(
            reports,
            rows,
            _ReportViews(rows.report_ids("takeaway"), takeaways_of),
            _ReportViews(rows.report_ids("passage"), passages_of),
            vectors,
        )

    # Made once per load (the reports never change after it): at 7,750 reports, rebuilding
    # them made every /date answer cost ~20 ms.
    @functools.cached_property
    def _by_date(self) -> dict[date, list[ReportEntry]]:
        out: dict[date, list[ReportEntry]] = {}
        for r in self.reports.values():
            out.setdefault(r.report_date, []).append(r)
        return dict(sorted(out.items()))

    def dates(self) -> list[date]:
        return list(self._by_date)

    def newest_date(self) -> date | None:
        return next(reversed(self._by_date), None)

    def reports_on(self, day: date) -> list[ReportEntry]:
        return list(self._by_date.get(day, []))

    def nearest_date(self, day: date) -> date | None:
        """The report date closest to `day`, the later one on a tie."""
        days = self.dates()
        if not days:
            return None
        at = bisect.bisect_left(days, day)
        near = days[max(0, at - 1) : at + 1]
        return min(near, key=lambda d: (abs((d - day).days), -d.toordinal()))

    def each_report_takeaways(self) -> Iterator[tuple[str, list[TakeawayView]]]:
        """Every report's takeaways, made one report at a time and not kept."""
        views = self.takeaways
        for rid in views:
            yield rid, views.peek(rid) if isinstance(views, _ReportViews) else views[rid]

    def takeaway_of(self, chunk: Chunk) -> TakeawayView | None:
        if chunk.kind != "takeaway":
            return None
        for view in self.takeaways.get(chunk.report_id, []):
            if view.position == chunk.position:
                return view
        return None
