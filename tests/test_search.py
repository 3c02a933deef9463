"""HybridSearcher's fusion rules and the ranking of answer units, on hand-made vectors (no model,
no Chroma)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from retrieval.assemble import collapse_repeats, prefer_range
from retrieval.dates import DateRange
from retrieval.lexical import PartitionedLexicalIndex
from retrieval.query import Terms
from retrieval.search import Candidate, HybridSearcher
from retrieval.tokenize import Tokenizer
from retrieval.understand import query_vector
from retrieval.vectors import VectorIndex


class FixedEmbedder:
    def __init__(self, vector: np.ndarray) -> None:
        self.vector = vector

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return np.stack([self.vector for _ in texts])


def index_of(vectors: dict[str, np.ndarray], langs: dict[str, str] | None = None) -> VectorIndex:
    ids = list(vectors)
    dates = np.full(len(ids), 20240126, dtype=np.int32)
    languages = [(langs or {}).get(cid, "en") for cid in ids]
    return VectorIndex(ids, np.stack([vectors[cid] for cid in ids]), dates, languages)


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
    store = index_of(vectors, langs)
    lexical = PartitionedLexicalIndex(Tokenizer())
    lexical.build([], [], [])
    assert store.search(query, 3)[0][0] == "ko-other"  # raw similarity: language wins

    centroids = {"ko": unit(1.0, 0.1, 0.1), "en": unit(0.0, 0.5, 0.5)}
    terms = Terms("질문", vector=query_vector(FixedEmbedder(query), "질문", []))
    searcher = HybridSearcher(store, lexical, centroids)
    hits = searcher.search(terms, limit=3, lexical=False)
    assert [h.chunk_id for h in hits][0] == "en-answer"
    assert {h.chunk_id: h.dense for h in hits}["ko-other"] == store.search(query, 3)[0][1]

    plain = HybridSearcher(store, lexical, centroids={})  # no correction
    assert plain.search(terms, limit=3, lexical=False)[0].chunk_id == "ko-other"


def test_dense_hints_replace_expansions_in_the_embedded_query():
    seen: list[str] = []

    class RecordingEmbedder(FixedEmbedder):
        def embed_queries(self, texts: list[str]) -> np.ndarray:
            seen.extend(texts)
            return super().embed_queries(texts)

    embedder = RecordingEmbedder(unit(1.0, 0.0))
    query_vector(embedder, "아브디이프카", ["Avdiivka", "Авдіївка", "Авдеевка"], ["Avdiivka"])
    query_vector(embedder, "아브디이프카", ["Avdiivka", "Авдіївка"])
    assert seen == ["아브디이프카 Avdiivka", "아브디이프카 Avdiivka Авдіївка"]


def test_vector_index_is_exact_and_filters_by_date():
    rng = np.random.default_rng(7)
    matrix = rng.normal(size=(500, 16)).astype(np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    ids = [f"c{i}" for i in range(500)]
    dates = np.asarray([20220101 + (i % 28) for i in range(500)], dtype=np.int32)
    index = VectorIndex(ids, matrix, dates)
    query = matrix[42]
    expected = np.argsort(-(matrix @ query), kind="stable")[:10]
    assert [cid for cid, _ in index.search(query, 10)] == [ids[i] for i in expected]
    assert index.search(query, 1)[0] == ("c42", pytest.approx(1.0, abs=1e-5))

    dated = index.search(query, 500, dates=(20220103, 20220104))
    assert len(dated) == sum(1 for d in dates if 20220103 <= d <= 20220104)
    assert all(20220103 <= dates[int(cid[1:])] <= 20220104 for cid, _ in dated)
    sims = [s for _, s in dated]
    assert sims == sorted(sims, reverse=True)

    odd = index.search(query, 5, allowed=lambda cid: int(cid[1:]) % 2 == 1)
    assert len(odd) == 5 and all(int(cid[1:]) % 2 == 1 for cid, _ in odd)
    assert index.search(query, 5, dates=(20300101, 20300102)) == []
    assert (
        VectorIndex([], np.zeros((0, 0), np.float32), np.zeros(0, np.int32)).search(query, 3) == []
    )


def test_vector_index_rejects_misaligned_rows():
    with pytest.raises(ValueError):
        VectorIndex(["a", "b"], np.zeros((3, 4), np.float32), np.zeros(2, np.int32))


def _unit(day: int) -> Candidate:
    return Candidate(
        report_id=f"r{day}",
        report_date=date(2022, 3, day),
        takeaway=None,
        passage=None,
        score=1.0 / day,
        evidence=None,  # type: ignore[arg-type]
    )


def test_prefer_range_keeps_the_best_matches_from_outside_a_few_places():
    rng = DateRange(start=date(2022, 3, 1), end=date(2022, 3, 9), exact_day=False)
    inside = [_unit(d) for d in (1, 2, 3, 4, 5, 6)]
    # The overall best three: two outside the range and one inside.
    anywhere = [_unit(20), inside[0], _unit(21), _unit(22)]
    chosen = prefer_range(inside, anywhere, rng, 5)
    assert [c.report_date.day for c in chosen] == [1, 2, 3, 20, 21]
    # When the overall best are all inside, the range fills every place.
    assert prefer_range(inside, inside, rng, 5)[:5] == inside[:5]
    # Nothing inside: the best from anywhere.
    assert prefer_range([], anywhere, rng, 5) == anywhere


def _near(vector: np.ndarray, cosine: float, seed: int) -> np.ndarray:
    """A unit vector with the given cosine to `vector` (a unit vector)."""
    other = np.random.default_rng(seed).normal(size=vector.shape)
    other -= (other @ vector) * vector
    other /= np.linalg.norm(other)
    return cosine * vector + np.sqrt(1 - cosine**2) * other


def test_repeated_takeaways_collapse_into_the_newest_at_the_best_rank():
    base = np.zeros(16)
    base[0] = 1.0
    # Ranked: the Mar 2 takeaway, its repeat on Mar 3 (lower), a repeat 3 weeks later, a
    # different event of the same kind on Mar 4 (cosine 0.96), an unrelated one.
    units = [_unit(2), _unit(5), _unit(3), _unit(24), _unit(4)]
    vectors = [base, _near(base, 0.10, 1), _near(base, 0.99, 2), _near(base, 0.99, 3)]
    vectors.append(_near(base, 0.96, 4))
    collapsed = collapse_repeats(units, vectors)
    assert [u.report_date.day for u in collapsed] == [3, 5, 24, 4]
    assert collapsed[0].also == [date(2022, 3, 2)]
    assert collapsed[0].score == 1.0 / 2  # the best of the group's rank and score
    assert all(not u.also for u in collapsed[1:])
    # Units without a vector, and those past the compared head, stay as they are.
    assert collapse_repeats([_unit(7), _unit(8)], [None]) == [_unit(7), _unit(8)]
