"""The search stage: a question's `Terms` -> the answer units that match them, best first.

Dense (e5 vectors, retrieval.vectors) and lexical (BM25) rankings of chunks are fused by
reciprocal rank (`HybridSearcher`); each matching chunk then counts for the takeaway it
supports (`candidates`). Also /topic's literal look-up (`mentioning`) and its matching rule.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from retrieval.catalog import Catalog, TakeawayView
from retrieval.dates import DateRange
from retrieval.indexes import ReadIndexes
from retrieval.lexical import LexicalIndex, PartitionedLexicalIndex
from retrieval.query import Terms
from retrieval.vectors import VectorIndex
from store.korean import HANGUL_WORD
from store.records import Chunk, date_to_int

# 60 is the constant of the original RRF paper; it keeps one list's top hit from dominating.
RRF_K = 60
# Chunks each side ranks for one question: enough for five answers after several chunks of one
# takeaway (its languages, its passages) have merged and repeats have collapsed.
SEARCH_DEPTH = 60
# Below this a dense-only match is noise: e5 scores unrelated text around 0.7-0.8.
MIN_DENSE_ONLY = 0.82
# A passage is weaker evidence for a takeaway than the takeaway's own words.
PASSAGE_EVIDENCE = 0.8
# What a second piece of evidence adds to a takeaway's score (and no more after it), so a
# broad takeaway that many passages loosely support does not outrank one that matches exactly.
EXTRA_EVIDENCE = 0.15


@dataclass
class Hit:
    chunk_id: str
    score: float
    dense: float | None = None  # cosine similarity, when the dense side found it
    lexical: float | None = None  # BM25 score, when the lexical side found it


@dataclass(frozen=True)
class DateFilter:
    """A date range as both indexes take it."""

    bounds: tuple[int, int]  # YYYYMMDD, for the vector index
    allowed: Callable[[str], bool]  # a chunk-id predicate, for the lexical index


@dataclass
class Candidate:
    """An answer unit being ranked: a takeaway (or a passage of a report without takeaways)."""

    report_id: str
    report_date: date
    takeaway: TakeawayView | None
    passage: Chunk | None
    score: float
    evidence: Chunk
    also: list[date] = field(default_factory=list)
    extra: bool = False


class HybridSearcher:
    def __init__(
        self,
        vectors: VectorIndex,
        lexical: LexicalIndex | PartitionedLexicalIndex,
        centroids: dict[str, np.ndarray] | None = None,
    ) -> None:
        self.vectors = vectors
        self.lexical = lexical
        # The mean vector of each language's chunks (by default the index's own). A multilingual
        # model scores text in the question's own language higher across the board (a Korean
        # question is "closer" to any Korean chunk than to the English one that answers it);
        # ranking by similarity minus the query's similarity to that language's centroid
        # removes most of that bias.
        self.centroids = vectors.centroids() if centroids is None else centroids

    def search(
        self,
        terms: Terms,
        limit: int = 50,
        within: DateFilter | None = None,
        dense: bool = True,
        lexical: bool = True,
    ) -> list[Hit]:
        """Chunks matching `terms`: densely by its vector (none without one), lexically by its
        text and its concepts, each named thing counted once (LexicalIndex.search_concepts)."""
        hits: dict[str, Hit] = {}
        if dense and terms.vector is not None:
            dates = within.bounds if within is not None else None
            ranked = self.vectors.search(terms.vector, limit * 2, dates)
            ranked = self._debiased(terms.vector, ranked)
            for rank, (cid, sim) in enumerate(ranked[:limit]):
                hit = hits.setdefault(cid, Hit(cid, 0.0))
                hit.dense = sim
                hit.score += 1.0 / (RRF_K + rank + 1)
        if lexical:
            allowed = within.allowed if within is not None else None
            ranked = self.lexical.search_concepts(terms.text, terms.concepts, limit, allowed)
            top = ranked[0][1] if ranked else 1.0
            for rank, (cid, score) in enumerate(ranked):
                hit = hits.setdefault(cid, Hit(cid, 0.0))
                hit.lexical = score
                # Plain RRF would rank a passage sharing one common word ("regiment") next to
                # the one containing the whole name ("234th Airborne Regiment"); BM25's own
                # margin says how much better the top hits are, so it scales their share.
                hit.score += (score / top) / (RRF_K + rank + 1)
        return sorted(hits.values(), key=lambda h: h.score, reverse=True)

    def _debiased(
        self, vector: np.ndarray, ranked: list[tuple[str, float]]
    ) -> list[tuple[str, float]]:
        if len(self.centroids) < 2:
            return ranked
        bias = {lang: float(vector @ c) for lang, c in self.centroids.items()}
        base = min(bias.values())

        def adjusted(pair: tuple[str, float]) -> float:
            lang = self.vectors.lang(pair[0])
            return pair[1] - (bias.get(lang, base) - base if lang else 0.0)

        return sorted(ranked, key=adjusted, reverse=True)


def candidates(indexes: ReadIndexes, terms: Terms, rng: DateRange | None) -> list[Candidate]:
    """The answer units that match `terms` (within `rng` when given), best first."""
    searcher = HybridSearcher(indexes.catalog.vectors, indexes.lexical, indexes.centroids)
    hits = searcher.search(terms, SEARCH_DEPTH, date_filter(indexes.catalog, rng))
    return _units(indexes.catalog, hits)


def date_filter(catalog: Catalog, rng: DateRange | None) -> DateFilter | None:
    """The range as YYYYMMDD bounds (for the vector index) and as a chunk-id predicate."""
    if rng is None:
        return None
    chunks = catalog.chunks
    low, high = date_to_int(rng.start), date_to_int(rng.end)

    def allowed(cid: str) -> bool:
        day = chunks.day(cid)
        return day is not None and low <= day <= high

    return DateFilter((low, high), allowed)


def _units(catalog: Catalog, hits: list[Hit]) -> list[Candidate]:
    """Turn chunk hits into answer units: a passage counts for its report's closest takeaway."""
    chunks = catalog.chunks
    relevant = [
        (h, chunks[h.chunk_id])  # made once: a row becomes a Chunk on each look-up
        for h in hits
        if h.chunk_id in chunks and (h.lexical or (h.dense or 0.0) >= MIN_DENSE_ONLY)
    ]
    passages = [chunk for _, chunk in relevant if chunk.kind == "passage"]
    closest = _closest_takeaways(catalog, passages)
    units: dict[tuple[str, str], Candidate] = {}
    for hit, chunk in relevant:
        view = catalog.takeaway_of(chunk) or closest.get(chunk.id)
        key = (chunk.report_id, f"t{view.position}" if view else f"p{chunk.position}")
        score = hit.score * (PASSAGE_EVIDENCE if chunk.kind == "passage" and view else 1.0)
        unit = units.get(key)
        if unit is None:
            units[key] = Candidate(
                report_id=chunk.report_id,
                report_date=chunk.report_date,
                takeaway=view,
                passage=None if view else chunk,
                score=score,
                evidence=chunk,
            )
        elif not unit.extra:
            unit.score += score * EXTRA_EVIDENCE
            unit.extra = True
    return sorted(units.values(), key=lambda u: u.score, reverse=True)


def _closest_takeaways(catalog: Catalog, passages: list[Chunk]) -> dict[str, TakeawayView]:
    wanted = [p for p in passages if catalog.takeaways.get(p.report_id)]
    if not wanted:
        return {}
    ids = [p.id for p in wanted]
    for p in wanted:
        for view in catalog.takeaways[p.report_id]:
            ids += view.chunk_ids
    vectors = catalog.vectors.vectors(list(dict.fromkeys(ids)))
    out: dict[str, TakeawayView] = {}
    for p in wanted:
        pv = vectors.get(p.id)
        if pv is None:
            continue
        best, best_sim = None, -1.0
        for view in catalog.takeaways[p.report_id]:
            sims = [float(pv @ vectors[c]) for c in view.chunk_ids if c in vectors]
            if sims and max(sims) > best_sim:
                best, best_sim = view, max(sims)
        if best is not None:
            out[p.id] = best
    return out


# ---- /topic: literal mentions ---------------------------------------------------------------


def mention_pattern(form: str) -> re.Pattern[str]:
    """Latin names match as whole words (so "Lyman" is not "Lymanske"); Hangul names match as a
    prefix of a word, because Korean glues particles on ("아브디이프카 근처로", "바흐무트에서")."""
    escaped = re.escape(form)
    if HANGUL_WORD.search(form):
        return re.compile(escaped)
    return re.compile(rf"(?<![\w-]){escaped}(?![\w])", re.IGNORECASE)


def mentioning(
    indexes: ReadIndexes, forms: list[str], limit: int | None
) -> list[tuple[TakeawayView, date]]:
    """The takeaways that mention one of `forms`, newest first (/topic's search)."""
    return indexes.mentions.find(forms, [mention_pattern(f) for f in forms], limit)
