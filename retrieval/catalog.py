"""An in-memory view of what is committed in the store: reports, their takeaways and passages.

Answers are assembled from here; the vector and lexical indexes only say *which* rows match.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

import numpy as np

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


@dataclass
class Catalog:
    reports: dict[str, ReportEntry]
    chunks: dict[str, Chunk]
    takeaways: dict[str, list[TakeawayView]]  # report id -> takeaways in report order
    passages: dict[str, list[Chunk]]  # report id -> passages in report order
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
        chunks: Iterable[Chunk],
        vectors: VectorIndex,
        translations: Iterable[TranslationRow],
    ) -> Catalog:
        """The views over committed rows: takeaways grouped by position, passages in report
        order, and the machine translations that match each report's current version."""
        by_id = {c.id: c for c in chunks}
        by_pos: dict[tuple[str, int], TakeawayView] = {}
        passages: dict[str, list[Chunk]] = defaultdict(list)
        for cid, chunk in by_id.items():
            if chunk.kind == "takeaway":
                key = (chunk.report_id, chunk.position)
                view = by_pos.setdefault(key, TakeawayView(chunk.report_id, chunk.position))
                view.texts[chunk.lang] = chunk.text
                view.chunk_ids.append(cid)
            else:
                passages[chunk.report_id].append(chunk)
        for row in translations:
            view = by_pos.get((row.report_id, row.position))
            entry = reports.get(row.report_id)
            if view is not None and entry is not None and entry.version == row.version:
                view.translations[row.lang] = (row.text, row.model)
        takeaways: dict[str, list[TakeawayView]] = defaultdict(list)
        for (rid, _), view in sorted(by_pos.items()):
            takeaways[rid].append(view)
        for rows in passages.values():
            rows.sort(key=lambda c: c.position)
        return cls(reports, by_id, dict(takeaways), dict(passages), vectors)

    def dates(self) -> list[date]:
        return sorted({r.report_date for r in self.reports.values()})

    def newest_date(self) -> date | None:
        days = self.dates()
        return days[-1] if days else None

    def reports_on(self, day: date) -> list[ReportEntry]:
        return [r for r in self.reports.values() if r.report_date == day]

    def nearest_date(self, day: date) -> date | None:
        days = self.dates()
        if not days:
            return None
        return min(days, key=lambda d: (abs((d - day).days), -d.toordinal()))

    def takeaway_of(self, chunk: Chunk) -> TakeawayView | None:
        if chunk.kind != "takeaway":
            return None
        for view in self.takeaways.get(chunk.report_id, []):
            if view.position == chunk.position:
                return view
        return None
