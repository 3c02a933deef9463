"""HybridSearcher's fusion rules, on hand-made vectors (no model, no Chroma)."""

from __future__ import annotations

import numpy as np

from retrieval.lexical import PartitionedLexicalIndex
from retrieval.search import HybridSearcher
from retrieval.tokenize import Tokenizer


class FixedEmbedder:
    def __init__(self, vector: np.ndarray) -> None:
        self.vector = vector

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return np.stack([self.vector for _ in texts])


class FixedStore:
    """dense_search as Chroma would answer it: cosine similarity, best first."""

    def __init__(self, vectors: dict[str, np.ndarray]) -> None:
        self.vectors = vectors

    def dense_search(self, vector: np.ndarray, limit: int, where: dict | None = None):
        ranked = sorted(
            ((cid, float(v @ vector)) for cid, v in self.vectors.items()),
            key=lambda pair: pair[1],
            reverse=True,
        )
        return ranked[:limit]


def unit(*values: float) -> np.ndarray:
    v = np.asarray(values, dtype=np.float32)
    return v / np.linalg.norm(v)


def test_dense_ranking_discounts_the_pull_of_the_questions_own_language():
    # Axis 0 is "being Korean", axis 1 the subject asked about, axis 2 another subject.
    query = unit(0.6, 0.5, 0.0)
    vectors = {
        "ko-other": unit(0.9, 0.0, 0.45),  # Korean, about something else
        "en-answer": unit(0.0, 0.9, 0.1),  # English, about the subject
        "en-other": unit(0.0, 0.1, 0.9),
    }
    langs = {"ko-other": "ko", "en-answer": "en", "en-other": "en"}
    store = FixedStore(vectors)
    lexical = PartitionedLexicalIndex(Tokenizer())
    lexical.build([], [], [])
    assert store.dense_search(query, 3)[0][0] == "ko-other"  # raw similarity: language wins

    centroids = {"ko": unit(1.0, 0.1, 0.1), "en": unit(0.0, 0.5, 0.5)}
    searcher = HybridSearcher(
        store,
        FixedEmbedder(query),
        lexical,
        centroids,
        langs.get,  # type: ignore[arg-type]
    )
    hits = searcher.search("질문", [], limit=3, lexical=False)
    assert [h.chunk_id for h in hits][0] == "en-answer"
    assert {h.chunk_id: h.dense for h in hits}["ko-other"] == store.dense_search(query, 3)[0][1]

    plain = HybridSearcher(store, FixedEmbedder(query), lexical)  # type: ignore[arg-type]
    assert plain.search("질문", [], limit=3, lexical=False)[0].chunk_id == "ko-other"


def test_dense_hints_replace_expansions_in_the_embedded_query():
    seen: list[str] = []

    class RecordingEmbedder(FixedEmbedder):
        def embed_queries(self, texts: list[str]) -> np.ndarray:
            seen.extend(texts)
            return super().embed_queries(texts)

    lexical = PartitionedLexicalIndex(Tokenizer())
    lexical.build([], [], [])
    store = FixedStore({"a": unit(1.0, 0.0)})
    searcher = HybridSearcher(store, RecordingEmbedder(unit(1.0, 0.0)), lexical)  # type: ignore[arg-type]
    searcher.search("아브디이프카", ["Avdiivka", "Авдіївка", "Авдеевка"], dense_hints=["Avdiivka"])
    searcher.search("아브디이프카", ["Avdiivka", "Авдіївка"])
    assert seen == ["아브디이프카 Avdiivka", "아브디이프카 Avdiivka Авдіївка"]
