"""Hybrid search: dense (e5 vectors, retrieval.vectors) and lexical (BM25) rankings fused by
reciprocal rank."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from retrieval.lexical import LexicalIndex, PartitionedLexicalIndex
from retrieval.vectors import VectorIndex
from store.embedding import Embedder

# 60 is the constant of the original RRF paper; it keeps one list's top hit from dominating.
RRF_K = 60


@dataclass
class Hit:
    chunk_id: str
    score: float
    dense: float | None = None  # cosine similarity, when the dense side found it
    lexical: float | None = None  # BM25 score, when the lexical side found it


class HybridSearcher:
    def __init__(
        self,
        vectors: VectorIndex,
        embedder: Embedder,
        lexical: LexicalIndex | PartitionedLexicalIndex,
        centroids: dict[str, np.ndarray] | None = None,
    ) -> None:
        self.vectors = vectors
        self.embedder = embedder
        self.lexical = lexical
        # The mean vector of each language's chunks (by default the index's own). A multilingual
        # model scores text in the question's own language higher across the board (a Korean
        # question is "closer" to any Korean chunk than to the English one that answers it);
        # ranking by similarity minus the query's similarity to that language's centroid
        # removes most of that bias.
        self.centroids = vectors.centroids() if centroids is None else centroids

    def search(
        self,
        text: str,
        expansions: list[str],
        limit: int = 50,
        dates: tuple[int, int] | None = None,
        allowed: Callable[[str], bool] | None = None,
        dense: bool = True,
        lexical: bool = True,
        dense_hints: list[str] | None = None,
        vector: np.ndarray | None = None,
        concepts: list[list[str]] | None = None,
    ) -> list[Hit]:
        """`expansions` are other names for what the text mentions (e.g. "Avdiivka" for
        "아브디이프카"): the embedding model does not link transliterations by itself.
        `dense_hints`, when given, replace them in the embedded query (a few, not every form).
        `vector`, when given, is `query_vector`'s for the same arguments (searching one question
        twice embeds it once). `concepts`, when given, are the expansions grouped by what they
        name: lexical search then counts each group once (LexicalIndex.search_concepts)."""
        hits: dict[str, Hit] = {}
        if dense:
            if vector is None:
                vector = self.query_vector(text, expansions, dense_hints)
            if vector is not None:
                ranked = self.vectors.search(vector, limit * 2, dates)
                ranked = self._debiased(vector, ranked)
                for rank, (cid, sim) in enumerate(ranked[:limit]):
                    hit = hits.setdefault(cid, Hit(cid, 0.0))
                    hit.dense = sim
                    hit.score += 1.0 / (RRF_K + rank + 1)
        if lexical:
            if concepts is None:
                ranked = self.lexical.search([text, *expansions], limit, allowed)
            else:
                ranked = self.lexical.search_concepts(text, concepts, limit, allowed)
            top = ranked[0][1] if ranked else 1.0
            for rank, (cid, score) in enumerate(ranked):
                hit = hits.setdefault(cid, Hit(cid, 0.0))
                hit.lexical = score
                # Plain RRF would rank a passage sharing one common word ("regiment") next to
                # the one containing the whole name ("234th Airborne Regiment"); BM25's own
                # margin says how much better the top hits are, so it scales their share.
                hit.score += (score / top) / (RRF_K + rank + 1)
        return sorted(hits.values(), key=lambda h: h.score, reverse=True)

    def query_vector(
        self, text: str, expansions: list[str], dense_hints: list[str] | None = None
    ) -> np.ndarray | None:
        """The embedded query: the text plus the hints (or expansions) it does not contain."""
        hints = expansions if dense_hints is None else dense_hints
        extra = [e for e in hints if e.lower() not in text.lower()]
        query = " ".join([text, *extra]).strip()
        return self.embedder.embed_queries([query])[0] if query else None

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
