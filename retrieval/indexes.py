"""The read path's in-memory indexes over what the store has committed, loaded as one object.

`ReportQA` holds one `ReadIndexes` and replaces it whole after a commit (`catch_up`), so a
question reads one consistent load from start to end, while the next load is built aside.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from retrieval.catalog import Catalog
from retrieval.lexical import PartitionedLexicalIndex
from retrieval.mentions import MentionIndex
from retrieval.tokenize import Tokenizer
from retrieval.transliterate import NameIndex, proper_nouns
from store.memory import release_freed_memory
from store.vector_store import Generation, ReportStore


@dataclass(frozen=True)
class ReadIndexes:
    # The store's generation the indexes were loaded at: another one means a reload is due.
    generation: Generation
    catalog: Catalog  # reports, takeaways, passages and their vectors
    lexical: PartitionedLexicalIndex  # BM25 over every chunk, by language
    mentions: MentionIndex  # /topic's literal look-up
    names: NameIndex  # the English reports' proper nouns, for names the gazetteer lacks
    # The mean vector of each language's chunks, for HybridSearcher's debiasing.
    centroids: dict[str, np.ndarray]

    @classmethod
    def load(cls, store: ReportStore, tokenizer: Tokenizer) -> ReadIndexes:
        # Read first: a commit while loading moves it again, so the next question reloads. The
        # load reopens the store's client when another process wrote (ReportStore.sync), and
        # sees only whole reports (ReportStore.committed_chunks).
        generation = store.generation()
        # Before and after (the caller releases after the swap): the models loaded before the
        # first load and the state a reload replaces leave freed pages that would otherwise
        # add to the peak.
        release_freed_memory()
        catalog = Catalog.load(store)
        lexical = PartitionedLexicalIndex(tokenizer)
        ids = list(catalog.chunks)
        lexical.build(
            ids, [catalog.chunks[i].text for i in ids], [catalog.chunks[i].lang for i in ids]
        )
        mentions = MentionIndex(catalog)
        vocabulary: set[str] = set()
        for chunk in catalog.chunks.values():
            if chunk.lang == "en":
                vocabulary |= proper_nouns(chunk.text)
        return cls(
            generation=generation,
            catalog=catalog,
            lexical=lexical,
            mentions=mentions,
            names=NameIndex(sorted(vocabulary)),
            centroids=catalog.vectors.centroids(),
        )
