"""BM25 over `Tokenizer` terms: the lexical half of hybrid search.

Why not bm25s: bm25s scores eagerly, i.e. it stores idf(t) * tf-saturation(t, d) for every
(document, term) pair, and both idf and the average document length change with every added
or removed passage, so each `add`/`remove` would mean re-indexing everything through bm25s'
Python-level pipeline; it also has no notion of string ids or of filtering before the top-k.
Here the index stores raw term counts per document (the only thing that depends on the
tokenizer) and scores lazily: a query reads only its own terms' columns of a scipy CSC
matrix (documents x vocabulary) and applies BM25 with the current statistics.

Cost model (measured on a 2-core machine with 10,000 real English ISW passages):
* `build`/`add`: tokenising dominates (~6,000 English passages/s; Korean goes through Kiwi at
  roughly 200-400 passages of 300 characters/s); counting terms is O(tokens).
* `add`/`remove` only update per-document term-count arrays and mark the matrix stale; the
  next `search` rebuilds the CSC matrix from those arrays, O(total postings), with no
  re-tokenising (~15 ms for 10,000 passages).
* `search`: tokenise the query, then O(postings of the query terms): ~0.1-0.5 ms.

Scoring is Okapi BM25 with k1=1.2, b=0.75 and the non-negative Lucene idf
log(1 + (N - df + 0.5) / (df + 0.5)); each distinct query term counts once, so a list query
(a place name in English and Korean, say) is an OR over the union of its terms.

Longer than 400 lines on purpose: one index, its incremental updates and its .npz format belong
together (the snapshot saves and grows it).
"""

from __future__ import annotations

import json
import os
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from retrieval.tokenize import Tokenizer

_FORMAT = 1


class LexicalIndex:
    """An in-memory BM25 index of (id, text) passages, saved as one .npz file of term counts."""

    k1: float = 1.2
    b: float = 0.75

    def __init__(self, tokenizer: Tokenizer) -> None:
        self._tokenizer = tokenizer
        self._lock = threading.RLock()
        self._vocab: dict[str, int] = {}
        # id -> (term ids, counts); ties between equal scores go by id (see _refresh).
        self._docs: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._stale = True
        self._order: list[str] = []
        self._rank = np.zeros(0, dtype=np.int64)
        self._matrix: sp.csc_matrix | None = None
        self._norm = np.zeros(0, dtype=np.float32)

    # ------------------------------------------------------------------ mutation

    def build(self, ids: Sequence[str], texts: Sequence[str]) -> None:
        """Replace the whole index with these passages."""
        _check_lengths(ids, texts)
        token_lists = self._tokenizer.tokens_batch(list(texts))
        with self._lock:
            self._vocab = {}
            self._docs = {}
            self._put(ids, token_lists)

    def add(self, ids: Sequence[str], texts: Sequence[str]) -> None:
        """Add passages (an existing id is replaced). Tokenises only the new texts; the next
        search rebuilds the sparse matrix from stored counts (O(all postings), ~15 ms per
        10,000 passages)."""
        _check_lengths(ids, texts)
        token_lists = self._tokenizer.tokens_batch(list(texts))
        with self._lock:
            self._put(ids, token_lists)

    def copy(self) -> LexicalIndex:
        """An index with the same passages that changes independently of this one (the
        arrays are shared: they are never written in place)."""
        other = LexicalIndex(self._tokenizer)
        with self._lock:
            other._vocab = dict(self._vocab)
            other._docs = dict(self._docs)
        return other

    def remove(self, ids: Iterable[str]) -> None:
        """Forget these ids (unknown ids are ignored)."""
        with self._lock:
            for doc_id in ids:
                if self._docs.pop(doc_id, None) is not None:
                    self._stale = True

    def _put(self, ids: Sequence[str], token_lists: list[list[str]]) -> None:
        vocab = self._vocab
        for doc_id, tokens in zip(ids, token_lists, strict=True):
            counts = Counter(tokens)
            term_ids = np.fromiter(
                (vocab.setdefault(t, len(vocab)) for t in counts), dtype=np.int32, count=len(counts)
            )
            tfs = np.fromiter(counts.values(), dtype=np.int32, count=len(counts))
            self._docs.pop(doc_id, None)  # re-adding moves the id to the end, like a new doc
            self._docs[doc_id] = (term_ids, tfs)
        self._stale = True

    def _refresh(self) -> None:
        """Rebuild the CSC matrix and per-document length norms from the stored counts."""
        if not self._stale:
            return
        self._order = list(self._docs)
        n_docs = len(self._order)
        # Equal scores are ordered by id, not by when a passage was added: an index brought up
        # to date report by report (retrieval.snapshot) then ranks exactly as a fresh build.
        by_id = sorted(range(n_docs), key=self._order.__getitem__)
        self._rank = np.empty(n_docs, dtype=np.int64)
        self._rank[by_id] = np.arange(n_docs)
        if n_docs == 0:
            self._matrix = None
            self._norm = np.zeros(0, dtype=np.float32)
        else:
            pairs = list(self._docs.values())
            sizes = np.fromiter((len(t) for t, _ in pairs), dtype=np.int64, count=n_docs)
            cols = np.concatenate([t for t, _ in pairs])
            data = np.concatenate([c for _, c in pairs]).astype(np.float32)
            rows = np.repeat(np.arange(n_docs, dtype=np.int32), sizes)
            self._matrix = sp.csc_matrix(
                (data, (rows, cols)), shape=(n_docs, max(len(self._vocab), 1)), dtype=np.float32
            )
            lengths = np.bincount(rows, weights=data, minlength=n_docs)
            avg = float(lengths.mean()) or 1.0
            self._norm = (self.k1 * (1.0 - self.b + self.b * lengths / avg)).astype(np.float32)
        self._stale = False

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
        texts = [query] if isinstance(query, str) else [q for q in query if isinstance(q, str)]
        terms = self._tokenizer.unique_tokens(texts) if texts else []
        if not terms:
            return []
        with self._lock:
            self._refresh()
            matrix = self._matrix
            if matrix is None:
                return []
            cols = sorted({self._vocab[t] for t in terms if t in self._vocab})
            if not cols:
                return []
            scores = self._scores(matrix, np.asarray(cols, dtype=np.int64))
            return self._top(scores, limit, allowed)

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
        forms_terms = [
            [terms for terms in self._tokenizer.tokens_batch(list(forms)) if terms]
            for forms in concepts
        ]
        covered = {t for forms in forms_terms for terms in forms for t in terms}
        free = [t for t in self._tokenizer.unique_tokens([text]) if t not in covered]
        with self._lock:
            self._refresh()
            matrix = self._matrix
            if matrix is None:
                return []
            wanted = [t for t in dict.fromkeys([*free, *covered]) if t in self._vocab]
            if not wanted:
                return []
            col_of = {t: i for i, t in enumerate(wanted)}
            weights = self._weights(matrix, np.asarray([self._vocab[t] for t in wanted]))
            present = weights.copy()
            present.data[:] = 1.0
            scores = np.zeros(matrix.shape[0])
            free_cols = [col_of[t] for t in free if t in col_of]
            if free_cols:
                scores += np.asarray(weights[:, free_cols].sum(axis=1)).ravel()
            for forms in forms_terms:
                best = None
                for terms in forms:
                    cols = sorted({col_of[t] for t in terms if t in col_of})
                    if len(cols) < len(set(terms)):
                        continue  # some term occurs nowhere: no passage contains the form
                    whole = np.asarray(present[:, cols].sum(axis=1)).ravel() == len(cols)
                    score = np.asarray(weights[:, cols].sum(axis=1)).ravel() * whole
                    best = score if best is None else np.maximum(best, score)
                if best is not None:
                    scores += best
            return self._top(scores, limit, allowed)

    def _top(
        self, scores: np.ndarray, limit: int, allowed: Callable[[str], bool] | None
    ) -> list[tuple[str, float]]:
        """The best `limit` (id, score) with a positive score that `allowed` lets through."""
        with self._lock:
            order = self._order
            candidates = np.flatnonzero(scores > 0)
            if candidates.size == 0:
                return []
            if allowed is None and candidates.size > limit:
                # Everything scoring at least the limit-th best (ties kept, cut after sorting).
                kth = np.partition(scores[candidates], candidates.size - limit)[
                    candidates.size - limit
                ]
                candidates = candidates[scores[candidates] >= kth]
            ranked = candidates[np.lexsort((self._rank[candidates], -scores[candidates]))]
            out: list[tuple[str, float]] = []
            for row in ranked:
                doc_id = order[row]
                if allowed is None or allowed(doc_id):
                    out.append((doc_id, float(scores[row])))
                    if len(out) >= limit:
                        break
            return out

    def _scores(self, matrix: sp.csc_matrix, cols: np.ndarray) -> np.ndarray:
        weights = self._weights(matrix, cols)
        return np.bincount(weights.indices, weights=weights.data, minlength=matrix.shape[0])

    def _weights(self, matrix: sp.csc_matrix, cols: np.ndarray) -> sp.csc_matrix:
        """Each (document, term) pair's BM25 weight, for the term columns `cols`."""
        n_docs = matrix.shape[0]
        sub = matrix[:, cols]
        df = np.diff(sub.indptr)
        idf = np.log1p((n_docs - df + 0.5) / (df + 0.5))
        rows = sub.indices
        tf = sub.data.astype(np.float64)
        data = np.repeat(idf, df) * tf * (self.k1 + 1.0) / (tf + self._norm[rows])
        return sp.csc_matrix((data, rows, sub.indptr), shape=sub.shape)

    def __len__(self) -> int:
        return len(self._docs)

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._docs

    # --------------------------------------------------------------- persistence

    def save(self, path: Path) -> None:
        """Write ids, vocabulary and term counts to one .npz file (no pickles), atomically."""
        path = Path(path)
        with self._lock:
            ids = list(self._docs)
            pairs = list(self._docs.values())
            used = np.zeros(len(self._vocab), dtype=bool)
            for term_ids, _ in pairs:
                used[term_ids] = True
            # Compact: terms of removed documents are dropped from the saved vocabulary.
            remap = np.cumsum(used, dtype=np.int64) - 1
            vocab = [t for t, i in self._vocab.items() if used[i]]
            sizes = np.fromiter((len(t) for t, _ in pairs), dtype=np.int64, count=len(pairs))
            ptr = np.zeros(len(pairs) + 1, dtype=np.int64)
            np.cumsum(sizes, out=ptr[1:])
            terms = (
                remap[np.concatenate([t for t, _ in pairs])].astype(np.int32)
                if pairs
                else np.zeros(0, dtype=np.int32)
            )
            counts = np.concatenate([c for _, c in pairs]) if pairs else np.zeros(0, dtype=np.int32)
        meta = {
            "format": _FORMAT,
            "tokenizer_version": self._tokenizer.version,
            "ids": ids,
            "vocab": vocab,
        }
        blob = np.frombuffer(json.dumps(meta, ensure_ascii=False).encode("utf-8"), dtype=np.uint8)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "wb") as fh:
            np.savez(fh, meta=blob, ptr=ptr, terms=terms, counts=counts)
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path, tokenizer: Tokenizer) -> LexicalIndex:
        """Read a file written by `save`. Raises ValueError if it was made by another format or
        tokenizer version (the caller should rebuild from the passages)."""
        with np.load(Path(path), allow_pickle=False) as npz:
            meta = json.loads(npz["meta"].tobytes().decode("utf-8"))
            ptr, terms, counts = npz["ptr"], npz["terms"], npz["counts"]
        if meta.get("format") != _FORMAT:
            raise ValueError(f"{path}: lexical index format {meta.get('format')}, want {_FORMAT}")
        if meta.get("tokenizer_version") != tokenizer.version:
            raise ValueError(
                f"{path}: made by tokenizer version {meta.get('tokenizer_version')}, "
                f"this is {tokenizer.version}; rebuild the index"
            )
        index = cls(tokenizer)
        index._vocab = {term: i for i, term in enumerate(meta["vocab"])}
        terms = terms.astype(np.int32, copy=False)
        counts = counts.astype(np.int32, copy=False)
        index._docs = {
            doc_id: (terms[ptr[i] : ptr[i + 1]], counts[ptr[i] : ptr[i + 1]])
            for i, doc_id in enumerate(meta["ids"])
        }
        index._stale = True
        return index


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
        gone = set(ids)
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
        """As LexicalIndex.search, over every partition."""
        return self._merged(lambda index: index.search(query, limit, allowed), limit)

    def search_concepts(
        self,
        text: str,
        concepts: Sequence[Sequence[str]],
        limit: int,
        allowed: Callable[[str], bool] | None = None,
    ) -> list[tuple[str, float]]:
        """As LexicalIndex.search_concepts, over every partition."""
        return self._merged(
            lambda index: index.search_concepts(text, concepts, limit, allowed), limit
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
