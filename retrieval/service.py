"""The questions reportbot answers: ask, latest, topic and date. The bot and the CLI call these.

`ReportQA` is a facade over the read path's stages, each in its own module:

1. understand (retrieval.understand): the question -> a `Query` (retrieval.query);
2. search (retrieval.search): the query's terms -> answer units (`Candidate`), best first;
3. assemble (retrieval.assemble): units -> the `Answer`, with its notes.

All three read one `ReadIndexes` (retrieval.indexes), which a reload replaces whole.
"""

from __future__ import annotations

import logging
import re
import threading
import time

from retrieval import search
from retrieval.assemble import Assembler
from retrieval.catalog import Catalog
from retrieval.dates import DateRange
from retrieval.gazetteer import Gazetteer
from retrieval.indexes import ReadIndexes
from retrieval.language import LanguageDetector
from retrieval.lexical import PartitionedLexicalIndex
from retrieval.models import Answer, StoreStats, Timeline
from retrieval.tokenize import Tokenizer
from retrieval.understand import Understander
from store.embedding import Embedder
from store.embedding.memory import release_freed_memory
from store.records import store_stats
from store.vector_store import Generation, ReportStore, StoreBusyError

log = logging.getLogger(__name__)

# While another process commits report after report (a long ingest), reloading for each would
# stall every question: a reload waits until RELOAD_SPACING times the last reload's duration
# has passed since it, at least RELOAD_AT_LEAST_EVERY and at most RELOAD_AT_MOST_EVERY seconds.
# A reload reads only the reports that changed (retrieval.snapshot): ~0.15 s for one report on
# the 250-report corpus, so a new report is answered from about half a second after it is in.
RELOAD_SPACING = 3.0
RELOAD_AT_LEAST_EVERY = 0.2
RELOAD_AT_MOST_EVERY = 10.0


class ReportQA:
    def __init__(
        self,
        store: ReportStore,
        embedder: Embedder,
        gazetteer: Gazetteer,
        detector: LanguageDetector,
        tokenizer: Tokenizer,
        max_results: int = 5,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.gazetteer = gazetteer
        self.detector = detector
        self.tokenizer = tokenizer
        self.max_results = max_results
        self._understander = Understander(gazetteer, detector, tokenizer, embedder)
        self._assembler = Assembler(gazetteer)
        self._refresh_lock = threading.RLock()  # one reload at a time
        self._indexes: ReadIndexes
        self._loaded_at = float("-inf")
        self._reload_seconds = 0.0  # how long the last load took
        self.refresh()

    # ---- the loaded indexes ------------------------------------------------------------------

    @property
    def indexes(self) -> ReadIndexes:
        """What questions are answered from now; take it once per question (a reload replaces
        it whole, and a question should read one load)."""
        return self._indexes

    @property
    def catalog(self) -> Catalog:
        return self._indexes.catalog

    @property
    def lexical(self) -> PartitionedLexicalIndex:
        return self._indexes.lexical

    @property
    def _generation(self) -> Generation:
        return self._indexes.generation

    def catch_up(self) -> None:
        """Reload if anything was committed since the last load, by this process or another
        (`reportbot ingest` beside the running bot): a stat call when nothing was, so every
        question starts with it. A reload that fails leaves the previous state in place (its
        answers are still whole reports), to be tried again at the next question."""
        if self.store.generation() == self._generation:
            return
        spacing = min(
            RELOAD_AT_MOST_EVERY, max(RELOAD_AT_LEAST_EVERY, RELOAD_SPACING * self._reload_seconds)
        )
        if time.monotonic() - self._loaded_at < spacing:
            return  # an ingest is committing report after report: do not reload for each
        with self._refresh_lock:
            if self.store.generation() == self._generation:
                return  # another thread reloaded meanwhile
            try:
                self.refresh()
            except StoreBusyError as err:
                log.info("Store not ready to reload (%s); answering from the previous state", err)
            except Exception:
                log.exception("Reloading the store failed; answering from the previous state")

    def refresh(self) -> None:
        """Reload what the store has committed (after an ingest)."""
        with self._refresh_lock:
            started = time.monotonic()
            previous = getattr(self, "_indexes", None)
            # One assignment: a question in flight keeps the load it started with.
            self._indexes = ReadIndexes.load(
                self.store, self.tokenizer, previous, self._understander.hangul_names()
            )
            release_freed_memory()  # the replaced load's pages
            # Only a reload spaces the next one: a start's load (a second at 205,000 chunks,
            # from disk) says nothing of what catching up costs, and held back the first
            # commit after a start by three times that.
            if previous is not None:
                self._loaded_at, self._reload_seconds = started, time.monotonic() - started

    # ---- public questions -------------------------------------------------------------------

    def ask(self, question: str, limit: int | None = None, lang: str | None = None) -> Answer:
        self.catch_up()
        indexes = self._indexes
        limit = limit or self.max_results
        query = self._understander.understand(question, indexes, lang)
        if query.report_lookup:
            assert query.range is not None
            return self._assembler.takeaways_in(
                indexes, query.range, "ask", question, query.lang, limit
            )
        assert query.terms is not None
        inside = search.candidates(indexes, query.terms, query.range)
        anywhere = search.candidates(indexes, query.whole, None) if query.whole else None
        return self._assembler.answer(indexes, query, inside, anywhere, limit)

    def topic(self, term: str, limit: int | None = None, lang: str | None = None) -> Answer:
        """Takeaways that literally mention the term (in any of its names), newest first."""
        self.catch_up()
        indexes = self._indexes
        limit = limit or 10
        term = term.strip()
        lang = self._understander.language(term, lang)
        forms = self._understander.mention_forms(term, indexes)
        found = search.mentioning(indexes, forms, limit)
        return self._assembler.topic(term, lang, found, indexes)

    def timeline(self, term: str, lang: str | None = None, peaks: int = 3) -> Timeline:
        """How many takeaways mention the term, week by week over the period the store covers:
        /topic's own search (every takeaway it would list, not only the first page), counted
        per week. With the `peaks` busiest weeks (each with its newest takeaway), and the first
        and last mention."""
        self.catch_up()
        indexes = self._indexes
        term = term.strip()
        lang = self._understander.language(term, lang)
        forms = self._understander.mention_forms(term, indexes)
        found = search.mentioning(indexes, forms, None)  # newest first
        timeline = Timeline(term=term, name=self.topic_name(term, lang), lang=lang, forms=forms)
        return self._assembler.timeline(timeline, found, indexes, peaks)

    def topic_name(self, term: str, lang: str) -> str:
        """The term's name in `lang` when it names one known thing (the gazetteer's first form
        in that language, else its English one), else the term as written."""
        return self._understander.topic_name(term, lang)

    def mention_matchers(self, term: str) -> list[re.Pattern[str]]:
        """Patterns for the term and its other names (what /topic and topic subscriptions
        count as "mentions the term")."""
        forms = self._understander.mention_forms(term, self._indexes)
        return [search.mention_pattern(f) for f in forms]

    def report_takeaways(
        self, report_id: str, lang: str = "en", terms: list[str] | None = None
    ) -> Answer:
        """One report's takeaways in report order (its opening passages when it has none), for
        announcing a new report. With `terms`, only the takeaways that mention one of them, as
        /topic matches; empty when none does."""
        self.catch_up()
        indexes = self._indexes
        matchers = [m for term in terms or [] for m in self.mention_matchers(term)]
        return self._assembler.report_takeaways(indexes, report_id, lang, terms, matchers)

    def latest(self, limit: int | None = None, lang: str = "en") -> Answer:
        self.catch_up()
        indexes = self._indexes
        newest = indexes.catalog.newest_date()
        if newest is None:
            return Answer(command="latest", query="", lang=lang, note="empty_store")
        return self._assembler.takeaways_in(
            indexes, DateRange(start=newest, end=newest, exact_day=True), "latest", "", lang, limit
        )

    def on_date(self, expression: str, lang: str | None = None, limit: int | None = None) -> Answer:
        self.catch_up()
        indexes = self._indexes
        lang = self._understander.language(expression, lang)
        rng = self._understander.date_range(expression, indexes)
        if rng is None:
            return Answer(command="date", query=expression, lang=lang, note="bad_date")
        return self._assembler.takeaways_in(indexes, rng, "date", expression, lang, limit)

    def stats(self) -> StoreStats:
        """What questions are answered from: the loaded indexes, not Chroma, whose chunk count
        loads the collection's whole vector index (0.8 s and ~400 MB at 205,000 chunks, the
        terminal chat's greeting)."""
        self.catch_up()
        indexes = self._indexes
        return store_stats(
            indexes.catalog.reports.values(),
            chunks=len(indexes.catalog.chunks),
            translations=len(indexes.snapshot.translations),
            embedding_model=self.store.embedding_model,
            store=self.store.describe(),
        )

    # ---- query understanding, for callers that show or test it --------------------------------

    def expand(self, text: str) -> list[str]:
        """Other names of what the text mentions: the gazetteer first, then, for Hangul names the
        gazetteer lacks, the corpus's own proper nouns that sound alike."""
        return self._understander.expand(text, self._indexes)

    def concepts(self, text: str) -> list[list[str]]:
        """`expand`, grouped by what each form names (Understander.concepts)."""
        return self._understander.concepts(text, self._indexes)

    def dense_hints(self, text: str) -> list[str]:
        """What to add to the text before embedding it: one English name per thing it mentions."""
        return self._understander.dense_hints(text, self._indexes)
