"""The read path's in-memory indexes over what the store has committed, loaded as one object.

`ReportQA` holds one `ReadIndexes` and replaces it whole after a commit (`catch_up`), so a
question reads one consistent load from start to end, while the next load is built aside.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from retrieval.catalog import Catalog
from retrieval.lexical import PartitionedLexicalIndex
from retrieval.mentions import MentionIndex
from retrieval.snapshot import IndexSnapshot, load_snapshot
from retrieval.tokenize import Tokenizer
from retrieval.transliterate import NameIndex
from store.embedding.memory import release_freed_memory
from store.vector_store import Generation, ReportStore


@dataclass(frozen=True)
class ReadIndexes:
    # The store's generation the indexes were loaded at: another one means a reload is due.
    generation: Generation
    catalog: Catalog  # reports, takeaways, passages and their vectors
    lexical: PartitionedLexicalIndex  # BM25 over every chunk, by language
    # The mean vector of each language's chunks, for HybridSearcher's debiasing.
    centroids: dict[str, np.ndarray]
    # What they were made from (retrieval.snapshot): the next load starts from it.
    snapshot: IndexSnapshot

    @functools.cached_property
    def mentions(self) -> MentionIndex:
        """/topic's literal look-up, made on the first /topic: it reads every takeaway's
        text, which nothing else at a start needs (at 205,000 chunks, ~1 s and the texts'
        memory)."""
        return MentionIndex(self.catalog)

    @property
    def names(self) -> NameIndex:
        """The English reports' proper nouns, for names the gazetteer lacks (built on the first
        Hangul or Cyrillic question that needs them)."""
        return self.snapshot.names

    @classmethod
    def load(
        cls,
        store: ReportStore,
        tokenizer: Tokenizer,
        previous: ReadIndexes | None = None,
        phrases: Sequence[str] = (),
    ) -> ReadIndexes:
        """The indexes for what the store has committed: from `previous` (a running process
        catching up: only the reports that changed are read) or from the snapshot saved
        beside the store (a start). `phrases` see retrieval.snapshot.load_snapshot."""
        # Before and after (the caller releases after the swap): the models loaded before the
        # first load and the state a reload replaces leave freed pages that would otherwise
        # add to the peak.
        release_freed_memory()
        snapshot = load_snapshot(
            store, tokenizer, previous.snapshot if previous is not None else None, phrases
        )
        catalog = snapshot.catalog()
        return cls(
            # Read before the store was: a commit while loading moves it again, so the next
            # question reloads.
            generation=snapshot.generation,
            catalog=catalog,
            lexical=snapshot.lexical,
            centroids=catalog.vectors.centroids(),
            snapshot=snapshot,
        )
