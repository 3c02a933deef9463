"""BM25 over `Tokenizer` terms: the lexical half of hybrid search.

Why not bm25s: bm25s scores eagerly, i.e. it stores idf(t) * tf-saturation(t, d) for every
(document, term) pair, and both idf and the average document length change with every added
or removed passage, so each `add`/`remove` would mean re-indexing everything through bm25s'
Python-level pipeline; it also has no notion of string ids or of filtering before the top-k.
Here the index stores raw term counts per document (the only thing that depends on the
tokenizer) and scores lazily: a query reads only its own terms' columns of a scipy CSC
matrix (documents x vocabulary) and applies BM25 with the current statistics.

The counts are kept as CSR arrays (a row per passage: `ptr`, `terms`, `counts`), the layout of
the saved file, and never as a Python object per passage: at 200,000 passages, a dict of
per-passage arrays took 0.7 s to load and 1.3-2.6 s to turn into the matrix, most of it
allocating and walking those objects. Every mutation makes new arrays, so `copy` shares them.

Cost model (2-core machine shared with other work, load average 5.2-5.5; 200,000 synthetic
passages of ~100 corpus words, `benchmarks/bench_lexical.py`, ratios against the per-passage
dict layout in the same run):
* `build`/`add`: tokenising dominates (~6,000 English passages/s on an idle machine, 1,700/s
  under that load; Korean goes through Kiwi at roughly 200-400 passages of 300 characters/s).
* `load`: one JSON of ids and vocabulary plus the arrays as saved: 0.17 s (0.26x). Rows are
  saved in id order, so the tie-break by id needs no sort of 200,000 strings (~0.15 s).
* First `search` after a load, add or remove: the CSC matrix is rebuilt from the arrays
  (`tocsc`, O(postings) in C, no re-tokenising): 0.33-0.37 s (0.23-0.41x).
* `add`/`remove` of 50 passages: 60-70 ms, O(postings) array copies (a concatenation; a keep
  mask expanded to postings) plus a binary search per id in the id order. The old dict update
  took 0.1-25 ms, but the rebuild that follows either is what a snapshot update waits for.
* `save`: vocabulary compaction and rows put in id order: 0.8-1.0 s (0.5-0.6x), mostly the
  JSON and the file write.
* `search`: tokenise the query, then O(postings of the query terms): ~0.1-0.5 ms at 10,000
  real passages, ~3 ms at 200,000 synthetic ones (as before: the matrix is the same).

Scoring is Okapi BM25 with k1=1.2, b=0.75 and the non-negative Lucene idf
log(1 + (N - df + 0.5) / (df + 0.5)); each distinct query term counts once, so a list query
(a place name in English and Korean, say) is an OR over the union of its terms.

Longer than 400 lines on purpose: one index, its incremental updates and its .npz format belong
together (the snapshot saves and grows it).
"""

from __future__ import annotations

import bisect
import itertools
import json
import operator
import os
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from retrieval.tokenize import Tokenizer

_FORMAT = 1
# Ids are looked up by binary search when they are at most this share of the index, by a scan
# of all ids otherwise (k log n Python steps against n).
_FEW_IDS = 1 / 64


class LexicalIndex:
    """An in-memory BM25 index of (id, text) passages, saved as one .npz file of term counts."""

    k1: float = 1.2
    b: float = 0.75

    def __init__(self, tokenizer: Tokenizer) -> None:
        self._tokenizer = tokenizer
        self._lock = threading.RLock()
        self._vocab: dict[str, int] = {}
        # Passages as CSR rows: row r is `_ids[r]`, its term ids `_terms[_ptr[r]:_ptr[r + 1]]`
        # and their counts in `_counts`. Never written in place (copies share them).
        self._ids: list[str] = []
        self._ptr = np.zeros(1, dtype=np.int64)
        self._terms = np.zeros(0, dtype=np.int32)
        self._counts = np.zeros(0, dtype=np.int32)
        # The rows in id order, kept up to date through add/remove (None: sort the ids when
        # needed): ties between equal scores go by id (see _refresh), and finding an id's row
        # is a binary search in it (no id -> row dict of every passage to build).
        self._by_id: np.ndarray | None = None
        self._own_vocab = True  # False: shared with a copy, copied before adding to it
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
            self._vocab, self._own_vocab = {}, True
            self._set_rows([], np.zeros(1, dtype=np.int64), self._terms[:0], self._counts[:0])
            self._by_id = np.zeros(0, dtype=np.int64)
            self._put(ids, token_lists)

    def add(self, ids: Sequence[str], texts: Sequence[str]) -> None:
        """Add passages (an existing id is replaced). Tokenises only the new texts and appends
        their rows; the next search rebuilds the sparse matrix from the arrays (O(all
        postings))."""
        _check_lengths(ids, texts)
        token_lists = self._tokenizer.tokens_batch(list(texts))
        with self._lock:
            self._put(ids, token_lists)

    def copy(self) -> LexicalIndex:
        """An index with the same passages that changes independently of this one: arrays,
        matrix and id list are shared (never written in place), the vocabulary is copied by
        whichever side first adds to it."""
        other = LexicalIndex(self._tokenizer)
        with self._lock:
            for name in ("_vocab", "_ids", "_ptr", "_terms", "_counts", "_by_id"):
                setattr(other, name, getattr(self, name))
            for name in ("_stale", "_order", "_rank", "_matrix", "_norm"):
                setattr(other, name, getattr(self, name))
            self._own_vocab = other._own_vocab = False
        return other

    def remove(self, ids: Iterable[str]) -> None:
        """Forget these ids (unknown ids are ignored)."""
        with self._lock:
            rows = self._find(list(ids))
            if rows:
                self._drop(np.asarray(rows, dtype=np.int64))

    def _put(self, ids: Sequence[str], token_lists: list[list[str]]) -> None:
        if not self._own_vocab:
            self._vocab, self._own_vocab = dict(self._vocab), True
        vocab = self._vocab
        terms: list[int] = []
        counts: list[int] = []
        sizes: list[int] = []
        for tokens in token_lists:
            tally = Counter(tokens)
            terms += [vocab.setdefault(t, len(vocab)) for t in tally]
            counts += tally.values()
            sizes.append(len(tally))
        new_ids = list(ids)
        new_ptr = np.zeros(len(new_ids) + 1, dtype=np.int64)
        np.cumsum(sizes, out=new_ptr[1:])
        new_terms = np.asarray(terms, dtype=np.int32)
        new_counts = np.asarray(counts, dtype=np.int32)
        last = dict(zip(new_ids, range(len(new_ids)), strict=True))
        if len(last) < len(new_ids):  # an id given twice: its last text wins
            keep = np.fromiter((last[d] == i for i, d in enumerate(new_ids)), dtype=bool)
            new_ids, new_ptr, new_terms, new_counts = _kept(
                keep, new_ids, new_ptr, new_terms, new_counts
            )
        replaced = self._find(new_ids)
        if replaced:  # re-adding moves the id to the end, like a new passage
            self._drop(np.asarray(replaced, dtype=np.int64))
        first = len(self._ids)
        self._set_rows(
            self._ids + new_ids,
            np.concatenate([self._ptr, self._ptr[-1] + new_ptr[1:]]),
            np.concatenate([self._terms, new_terms]),
            np.concatenate([self._counts, new_counts]),
        )
        if self._by_id is not None and new_ids:
            ids_now = self._ids
            new_rows = sorted(range(first, first + len(new_ids)), key=ids_now.__getitem__)
            if first == 0:
                self._by_id = np.asarray(new_rows, dtype=np.int64)
            else:  # merge into the id order: O(k log n) probes and one O(n) insert
                by_id = self._by_id
                key = ids_now.__getitem__
                at = [bisect.bisect_left(by_id, ids_now[r], key=key) for r in new_rows]
                self._by_id = np.insert(by_id, at, new_rows)

    def _drop(self, rows: np.ndarray) -> None:
        """Remove these rows: a keep-mask over rows, expanded to their postings."""
        keep = np.ones(len(self._ids), dtype=bool)
        keep[rows] = False
        ids, ptr, terms, counts = _kept(keep, self._ids, self._ptr, self._terms, self._counts)
        if self._by_id is not None:
            new_row = np.cumsum(keep, dtype=np.int64) - 1
            self._by_id = new_row[self._by_id[keep[self._by_id]]]
        self._set_rows(ids, ptr, terms, counts)

    def _set_rows(
        self, ids: list[str], ptr: np.ndarray, terms: np.ndarray, counts: np.ndarray
    ) -> None:
        self._ids, self._ptr, self._terms, self._counts = ids, ptr, terms, counts
        self._stale = True

    def _find(self, doc_ids: Sequence[str]) -> list[int]:
        """The rows of those of `doc_ids` that are held. A binary search in the id order for a
        few ids (a snapshot update: one report's passages), a scan for many: a dict of every
        id took 0.1 s to build at 200,000 passages, more than the rest of a remove."""
        ids = self._ids
        if not doc_ids or not ids:
            return []
        if len(doc_ids) > len(ids) * _FEW_IDS:
            wanted = set(doc_ids)
            return [row for row, doc_id in enumerate(ids) if doc_id in wanted]
        by_id = self._sorted_rows()
        key = ids.__getitem__
        rows = []
        for doc_id in doc_ids:
            at = bisect.bisect_left(by_id, doc_id, key=key)
            if at < len(by_id) and ids[by_id[at]] == doc_id:
                rows.append(int(by_id[at]))
        return rows

    def _sorted_rows(self) -> np.ndarray:
        """The rows in id order. Normally maintained by add/remove and the saved file (rows in
        id order); a sort of the ids otherwise (a file from older code)."""
        if self._by_id is None or len(self._by_id) != len(self._ids):
            ids = self._ids
            self._by_id = np.fromiter(
                sorted(range(len(ids)), key=ids.__getitem__), dtype=np.int64, count=len(ids)
            )
        return self._by_id

    def _refresh(self) -> None:
        """Rebuild the CSC matrix and per-document length norms from the CSR arrays."""
        if not self._stale:
            return
        self._order = self._ids
        n_docs = len(self._order)
        # Equal scores are ordered by id, not by when a passage was added: an index brought up
        # to date report by report (retrieval.snapshot) then ranks exactly as a fresh build.
        self._rank = np.empty(n_docs, dtype=np.int64)
        self._rank[self._sorted_rows()] = np.arange(n_docs)
        if n_docs == 0:
            self._matrix = None
            self._norm = np.zeros(0, dtype=np.float32)
        else:
            data = self._counts.astype(np.float32)
            shape = (n_docs, max(len(self._vocab), 1))
            self._matrix = sp.csr_matrix((data, self._terms, self._ptr), shape=shape).tocsc()
            summed = np.zeros(len(data) + 1, dtype=np.int64)
            np.cumsum(self._counts, out=summed[1:])
            lengths = (summed[self._ptr[1:]] - summed[self._ptr[:-1]]).astype(np.float64)
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
        return len(self._ids)

    def __contains__(self, doc_id: object) -> bool:
        if not isinstance(doc_id, str):
            return False
        with self._lock:
            return bool(self._find([doc_id]))

    # --------------------------------------------------------------- persistence

    def save(self, path: Path) -> None:
        """Write ids, vocabulary and term counts to one .npz file (no pickles), atomically. Rows
        are written in id order, so `load` needs no sort for the tie-break by id."""
        path = Path(path)
        with self._lock:
            by_id = self._sorted_rows()
            ids, ptr, terms, counts = self._ids, self._ptr, self._terms, self._counts
            sizes = np.diff(ptr)
            if not np.array_equal(by_id, np.arange(len(ids))):
                ids = list(operator.itemgetter(*by_id.tolist())(ids)) if len(ids) > 1 else ids
                sizes = sizes[by_id]
                ptr = np.zeros(len(ids) + 1, dtype=np.int64)
                np.cumsum(sizes, out=ptr[1:])
                # Posting k of the output is posting (start of its row in the input) + offset.
                take = np.repeat(self._ptr[:-1][by_id] - ptr[:-1], sizes)
                take += np.arange(len(take), dtype=np.int64)
                terms, counts = terms[take], counts[take]
            # Compact: terms of removed documents are dropped from the saved vocabulary (its
            # keys are in term-id order: ids are handed out in insertion order, never freed).
            used = np.zeros(len(self._vocab), dtype=bool)
            used[terms] = True
            remap = np.cumsum(used, dtype=np.int64) - 1
            vocab = list(itertools.compress(self._vocab, used.tolist()))
            terms = remap[terms].astype(np.int32)
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
        """Read a file written by `save`: its arrays become the index as they are. Raises
        ValueError if it was made by another format or tokenizer version, or is inconsistent
        (the caller should rebuild from the passages)."""
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
        ids: list[str] = meta["ids"]
        vocab: list[str] = meta["vocab"]
        ptr = ptr.astype(np.int64, copy=False)
        terms = terms.astype(np.int32, copy=False)
        counts = counts.astype(np.int32, copy=False)
        if not (
            ptr.shape == (len(ids) + 1,)
            and ptr[0] == 0
            and ptr[-1] == len(terms) == len(counts)
            and bool(np.all(ptr[1:] >= ptr[:-1]))
            and (len(terms) == 0 or (int(terms.min()) >= 0 and int(terms.max()) < len(vocab)))
        ):
            raise ValueError(f"{path}: lexical index arrays do not fit together; rebuild it")
        index = cls(tokenizer)
        index._vocab = dict(zip(vocab, range(len(vocab)), strict=True))
        index._set_rows(ids, ptr, terms, counts)
        if all(map(operator.lt, ids, itertools.islice(ids, 1, None))):
            index._by_id = np.arange(len(ids), dtype=np.int64)  # else sorted when needed
        return index


def _kept(
    keep: np.ndarray, ids: list[str], ptr: np.ndarray, terms: np.ndarray, counts: np.ndarray
) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """The rows where `keep` is True, as new CSR arrays."""
    sizes = np.diff(ptr)
    postings = np.repeat(keep, sizes)
    new_ptr = np.zeros(int(keep.sum()) + 1, dtype=np.int64)
    np.cumsum(sizes[keep], out=new_ptr[1:])
    return list(itertools.compress(ids, keep.tolist())), new_ptr, terms[postings], counts[postings]


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
