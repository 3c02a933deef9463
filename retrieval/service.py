"""The questions reportbot answers: ask, latest, topic and date. The bot and the CLI call these."""

from __future__ import annotations

import functools
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import numpy as np
from dateutil.relativedelta import relativedelta

from retrieval import morphology
from retrieval.catalog import TakeawayView
from retrieval.dates import DateRange, parse_dates
from retrieval.gazetteer import CYRILLIC_WORD, Gazetteer, GazetteerEntry
from retrieval.gloss import gloss
from retrieval.language import LanguageDetector
from retrieval.models import Answer, Peak, Result, StoreStats, Timeline
from retrieval.numbers import KoreanNumber, written_numbers
from retrieval.search import Hit, HybridSearcher
from retrieval.snapshot import IndexSnapshot, load_snapshot
from retrieval.timeline import busiest, week_of, weekly_counts
from retrieval.tokenize import Tokenizer
from retrieval.transliterate import NameIndex
from store.embedding import Embedder
from store.embedding.memory import release_freed_memory
from store.records import Chunk, date_to_int
from store.vector_store import Generation, ReportStore, StoreBusyError

log = logging.getLogger(__name__)

# Words that ask for "the report" rather than a subject: "2024년 1월 26일 핵심 요점" is a date lookup.
GENERIC_QUESTION = (
    "key takeaways takeaway summary summarize report reports assessment what happened happen "
    "news update updates show tell me give list the of on for in from about was were is are "
    "핵심 요점 요약 보고서 보고 정리 무슨 일 있었 있었어 있었나 뭐 뭐야 알려줘 알려 주세요 내용 소식 평가"
)
# The same in Ukrainian and in Russian, tokenised apart (their lemmas depend on the language).
GENERIC_QUESTION_UK = (
    "головні висновки висновок звіт звіти підсумок огляд зведення що сталося відбулося було "
    "новини новина розкажи покажи дай перелік оцінка про за який яка які"
)
GENERIC_QUESTION_RU = (
    "главные выводы вывод отчёт отчет отчеты сводка обзор итоги что произошло случилось было "
    "новости новость расскажи покажи дай перечень оценка о про за какой какая какие"
)
# Takeaways this similar (cosine of their embeddings) and this close in time are "the same
# takeaway, repeated". e5 puts different events of one kind above 0.95 ("unsuccessful assaults
# north of Kharkiv City" vs "... on the Southern Axis", Putin's conscription delay vs his end of
# mobilization two weeks later); ISW's repeats come within days of each other.
DUPLICATE_SIMILARITY = 0.97
DUPLICATE_WINDOW_DAYS = 7
# Only the best answer units are compared (each pair costs a dot product).
COLLAPSE_HEAD = 30
# Below this a dense-only match is noise: e5 scores unrelated text around 0.7-0.8.
MIN_DENSE_ONLY = 0.82
PASSAGE_EVIDENCE = 0.8
RELATIVE_FLOOR = 0.3
# A date in a question mostly names the report wanted ("1월 26일 크렘린 협상"), but sometimes the
# event ("postponed the draft to November 1", "chips imported in 2023", "the first strike on
# Kyiv since April 29"), which a report dated later tells. So matches from inside the range
# come first, and the best matches from anywhere keep OUTSIDE_SLOTS places when they rank among
# the overall top OUTSIDE_RANK; with nothing inside the range, the best matches from anywhere.
OUTSIDE_SLOTS = 2
OUTSIDE_RANK = 3
EXTRA_EVIDENCE = 0.15
PHONETIC_MIN = 0.75
# Ukrainian and Russian words this long or longer may be names the gazetteer lacks.
CYRILLIC_NAME_MIN = 4
CYRILLIC_PHONETIC_MIN = 0.85
# Seconds between two reloads while another process commits (a long ingest commits report
# after report); a reload of the whole corpus takes 1-3 s.
RELOAD_AT_MOST_EVERY = 10.0
# Particles glued to a name: "바흐무트에서" -> "바흐무트".
PARTICLE = re.compile(
    r"(에서|으로|에게|까지|부터|근처|주변|일대|방향|은|는|이|가|을|를|의|에|로|와|과|도)$"
)
HANGUL = re.compile(r"[\uac00-\ud7a3]{2,}")


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


@dataclass
class SearchRequest:
    """A question's text with what the search needs from it: other names, grouped by what they
    name, and the embedded query."""

    text: str
    expansions: list[str]
    concepts: list[list[str]]
    hints: list[str]
    vector: np.ndarray | None


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
        self._lock = threading.Lock()
        self._refresh_lock = threading.RLock()  # one reload at a time
        self._generation: Generation = None  # the store's generation the state was loaded at
        self._loaded_at = float("-inf")
        self._snapshot: IndexSnapshot | None = None  # what the indexes were last brought up from
        self.refresh()

    def catch_up(self) -> None:
        """Reload if anything was committed since the last load, by this process or another
        (`reportbot ingest` beside the running bot): a stat call when nothing was, so every
        question starts with it. A reload that fails leaves the previous state in place (its
        answers are still whole reports), to be tried again at the next question."""
        if self.store.generation() == self._generation:
            return
        if time.monotonic() - self._loaded_at < RELOAD_AT_MOST_EVERY:
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
            self._refresh()

    def _refresh(self) -> None:
        # Read first: a commit while loading moves it again, so the next question reloads. The
        # load reopens the store's client when another process wrote (ReportStore.sync), and
        # sees only whole reports (ReportStore.committed_chunks).
        generation = self.store.generation()
        self._loaded_at = time.monotonic()
        # Before and after: the models loaded before the first load and the state a reload
        # replaces leave freed pages that would otherwise add to the peak.
        release_freed_memory()
        # The Korean names a question may expand to: analysed once, saved with the snapshot.
        hangul_names = [form for entry in self.gazetteer.entries for form in entry.ko]
        snapshot = load_snapshot(self.store, self.tokenizer, self._snapshot, hangul_names)
        catalog = snapshot.catalog()
        lexical = snapshot.lexical
        mentions = snapshot.mentions(catalog)
        with self._lock:
            self._generation = generation
            self.catalog = catalog
            self.lexical = lexical
            self.mentions = mentions
            self._snapshot = snapshot
            self.searcher = HybridSearcher(catalog.vectors, self.embedder, lexical)
        release_freed_memory()

    # ---- public questions -------------------------------------------------------------------

    def ask(self, question: str, limit: int | None = None, lang: str | None = None) -> Answer:
        self.catch_up()
        limit = limit or self.max_results
        lang = lang or self.detector.detect(question)
        today = self.catalog.newest_date() or date.today()
        parsed = parse_dates(question, today)
        text = parsed.text
        rng = self._year_with_reports(parsed.range)
        if rng is not None and self._is_generic(text):
            return self._takeaways_in(rng, "ask", question, lang, limit)
        note = None
        if rng is None:
            candidates = self._ranked(self._understand(text or question), None)
        else:
            # Inside the range the date words are a filter; elsewhere they may be the event's
            # own date ("postponed to November 1"), so that search keeps them.
            inside = self._ranked(self._understand(text or question), rng)
            inside = self._naming(inside, text or question)
            anywhere = self._ranked(self._understand(question), None)
            candidates = _prefer_range(inside, anywhere, rng, limit)
            if candidates and not inside:
                note = "other_dates"
        results = [self._result(c, lang) for c in candidates[:limit]]
        if not results:
            note = "no_match"
        return Answer(command="ask", query=question, lang=lang, results=results, note=note)

    def _naming(self, units: list[Candidate], text: str) -> list[Candidate]:
        """The units that name one of the places, people or units the text names (all units
        when it names none). A date range can hold nothing about the thing asked for ("최근
        아브디이프카 상황" when the newest reports no longer mention it): its best matches are
        then only the same kind of news about other places, which the search outside the
        range beats."""
        # Events ("Kharkiv counteroffensive") are phrases that reports word in many ways.
        named = [e for e in self.gazetteer.find(text) if e.type not in ("term", "event")]
        if not named:
            return units
        patterns = [_mention_pattern(form) for entry in named for form in entry.forms()]

        def names_one(unit: Candidate) -> bool:
            texts = [unit.evidence.text]
            if unit.takeaway is not None:
                texts += unit.takeaway.texts.values()
            return any(p.search(t) for p in patterns for t in texts)

        return [u for u in units if names_one(u)]

    def _understand(self, query: str) -> SearchRequest:
        entries, numbers = self.gazetteer.find(query), written_numbers(query)
        concepts = self._concepts(query, entries, numbers)
        expansions = list(dict.fromkeys(form for group in concepts for form in group))
        hints = self._hints(query, entries, numbers)
        vector = self.searcher.query_vector(query, expansions, hints)
        return SearchRequest(query, expansions, concepts, hints, vector)

    def _ranked(self, search: SearchRequest, rng: DateRange | None) -> list[Candidate]:
        dates, allowed = self._date_filter(rng)
        hits = self.searcher.search(
            search.text,
            search.expansions,
            60,
            dates,
            allowed,
            dense_hints=search.hints,
            vector=search.vector,
            concepts=search.concepts,
        )
        candidates = self._collapse_duplicates(self._candidates(hits))
        if candidates:
            # Far weaker than the best match is noise, not a second answer.
            floor = candidates[0].score * RELATIVE_FLOOR
            candidates = [c for c in candidates if c.score >= floor]
        return candidates

    def topic(self, term: str, limit: int | None = None, lang: str | None = None) -> Answer:
        """Takeaways that literally mention the term (in any of its names), newest first."""
        self.catch_up()
        limit = limit or 10
        term = term.strip()
        lang = lang or self.detector.detect(term)
        found = self._mentioning(self._mention_forms(term), limit)
        results = [self._takeaway_result(view, lang, 1.0) for view, _ in found]
        note = None if results else "no_topic"
        return Answer(command="topic", query=term, lang=lang, results=results, note=note)

    def timeline(self, term: str, lang: str | None = None, peaks: int = 3) -> Timeline:
        """How many takeaways mention the term, week by week over the period the store covers:
        /topic's own search (every takeaway it would list, not only the first page), counted
        per week. With the `peaks` busiest weeks (each with its newest takeaway), and the first
        and last mention."""
        self.catch_up()
        term = term.strip()
        lang = lang or self.detector.detect(term)
        forms = self._mention_forms(term)
        found = self._mentioning(forms, None)  # newest first
        timeline = Timeline(term=term, name=self.topic_name(term, lang), lang=lang, forms=forms)
        days = self.catalog.dates()
        if not days:
            timeline.note = "empty_store"
            return timeline
        timeline.weeks = weekly_counts((day for _, day in found), days)
        timeline.total = len(found)
        if not found:
            timeline.note = "no_topic"
            return timeline
        newest_in: dict[date, TakeawayView] = {}
        for view, day in found:
            newest_in.setdefault(week_of(day), view)
        timeline.peaks = [
            Peak(
                week=w.week,
                count=w.count,
                takeaway=self._takeaway_result(newest_in[w.week], lang, 1.0),
            )
            for w in busiest(timeline.weeks, peaks)
        ]
        timeline.last = self._takeaway_result(found[0][0], lang, 1.0)
        oldest_day = found[-1][1]
        # The oldest report's first mention (found is newest first, in report order within one).
        first = next(view for view, day in found if day == oldest_day)
        timeline.first = self._takeaway_result(first, lang, 1.0)
        return timeline

    def topic_name(self, term: str, lang: str) -> str:
        """The term's name in `lang` when it names one known thing (the gazetteer's first form
        in that language, else its English one), else the term as written."""
        entries = self.gazetteer.find(term)
        if len(entries) != 1:
            return term.strip()
        entry = entries[0]
        names = {"en": entry.en, "ko": entry.ko, "uk": entry.uk, "ru": entry.ru}.get(lang) or []
        return (names or entry.en or [term.strip()])[0]

    def _mentioning(self, forms: list[str], limit: int | None) -> list[tuple[TakeawayView, date]]:
        """The takeaways that mention one of `forms`, newest first (/topic's search)."""
        return self.mentions.find(forms, [_mention_pattern(f) for f in forms], limit)

    def mention_matchers(self, term: str) -> list[re.Pattern[str]]:
        """Patterns for the term and its other names (what /topic and topic subscriptions
        count as "mentions the term")."""
        return [_mention_pattern(f) for f in self._mention_forms(term)]

    def _mention_forms(self, term: str) -> list[str]:
        term = term.strip()
        forms = self.expand(term) or [term]
        return sorted({f for f in [term, *forms] if f}, key=len, reverse=True)

    def report_takeaways(
        self, report_id: str, lang: str = "en", terms: list[str] | None = None
    ) -> Answer:
        """One report's takeaways in report order (its opening passages when it has none), for
        announcing a new report. With `terms`, only the takeaways that mention one of them, as
        /topic matches; empty when none does."""
        self.catch_up()
        entry = self.catalog.reports.get(report_id)
        if entry is None:
            return Answer(command="date", query=report_id, lang=lang, note="empty_store")
        views = self.catalog.takeaways.get(report_id, [])
        if terms:
            matchers = [m for term in terms for m in self.mention_matchers(term)]
            views = [
                v for v in views if any(m.search(t) for t in v.texts.values() for m in matchers)
            ]
            results = [self._takeaway_result(v, lang, 1.0) for v in views]
            return Answer(command="topic", query=", ".join(terms), lang=lang, results=results)
        if views:
            results = [self._takeaway_result(v, lang, 1.0) for v in views]
            return Answer(
                command="date", query=entry.report_date.isoformat(), lang=lang, results=results
            )
        answer = self._takeaways_in(
            DateRange(start=entry.report_date, end=entry.report_date, exact_day=True),
            "date",
            entry.report_date.isoformat(),
            lang,
            None,
        )
        answer.results = [r for r in answer.results if r.report_id == report_id]
        return answer

    def latest(self, limit: int | None = None, lang: str = "en") -> Answer:
        self.catch_up()
        newest = self.catalog.newest_date()
        if newest is None:
            return Answer(command="latest", query="", lang=lang, note="empty_store")
        return self._takeaways_in(
            DateRange(start=newest, end=newest, exact_day=True), "latest", "", lang, limit
        )

    def on_date(self, expression: str, lang: str | None = None, limit: int | None = None) -> Answer:
        self.catch_up()
        lang = lang or self.detector.detect(expression)
        today = self.catalog.newest_date() or date.today()
        parsed = parse_dates(expression, today)
        rng = self._year_with_reports(parsed.range)
        if rng is None:
            return Answer(command="date", query=expression, lang=lang, note="bad_date")
        return self._takeaways_in(rng, "date", expression, lang, limit)

    def stats(self) -> StoreStats:
        self.catch_up()
        return self.store.stats()

    # ---- query understanding ---------------------------------------------------------------

    def expand(self, text: str) -> list[str]:
        """Other names of what the text mentions: the gazetteer first, then, for Hangul names the
        gazetteer lacks, the corpus's own proper nouns that sound alike."""
        return list(dict.fromkeys(form for group in self.concepts(text) for form in group))

    def concepts(self, text: str) -> list[list[str]]:
        """`expand`, grouped by what each form names: one group per gazetteer entry (all its
        forms), one per sound-alike name, one per Korean, Ukrainian or Russian number ("1만6천", "16 тисяч" and "16,000")."""
        return self._concepts(text, self.gazetteer.find(text), written_numbers(text))

    def dense_hints(self, text: str) -> list[str]:
        """What to add to the text before embedding it: one English name per thing it mentions.
        Every spelling in every language (as lexical search gets) would drown the question."""
        return self._hints(text, self.gazetteer.find(text), written_numbers(text))

    def _concepts(
        self, text: str, entries: list[GazetteerEntry], numbers: list[KoreanNumber]
    ) -> list[list[str]]:
        groups = [entry.forms() for entry in entries]
        known = [form for group in groups for form in group]
        groups += [[name] for name in self._sounds_alike(text, known)]
        return groups + [[n.text, *n.forms] for n in numbers]

    def _hints(
        self, text: str, entries: list[GazetteerEntry], numbers: list[KoreanNumber]
    ) -> list[str]:
        english = [entry.en[0] for entry in entries]
        english += self._sounds_alike(text, english)
        return list(dict.fromkeys(english + [n.forms[0] for n in numbers]))

    def _sounds_alike(self, text: str, forms: list[str]) -> list[str]:
        found = self._sounds_alike_hangul(text, forms)
        for name in self._sounds_alike_cyrillic(text, forms):
            if name not in found:
                found.append(name)
        return found

    def _sounds_alike_cyrillic(self, text: str, forms: list[str]) -> list[str]:
        """Corpus names that a Ukrainian or Russian name the gazetteer lacks transliterates:
        "під Стахановим" -> Stakhanov. Only words written as names (capitalised, after the
        first word or read as a name by a dictionary) or that neither dictionary knows; each as
        written, then in its dictionary forms (as a name, when a dictionary reads it as one).
        Cyrillic transliterates almost letter for letter, hence a stricter score than Hangul's
        ("Україна" is not the town of Ukrainka)."""
        found: list[str] = []
        covered = [(start, end) for start, end, _ in self.gazetteer.find_spans(text)]
        for i, match in enumerate(CYRILLIC_WORD.finditer(text)):
            word = match.group()
            if len(word) < CYRILLIC_NAME_MIN or any(
                start <= match.start() < end for start, end in covered
            ):
                continue
            if not self._maybe_a_name(word, first=i == 0) or self._is_generic(word):
                continue
            spellings = [morphology.fold(word)]
            spellings += [morphology.name_lemma(word, lang) for lang in morphology.LANGUAGES]
            best: tuple[str, float] | None = None
            for spelling in dict.fromkeys(spellings):
                for name, score in self.names.match_cyrillic(
                    spelling, limit=1, min_score=CYRILLIC_PHONETIC_MIN
                ):
                    if best is None or score > best[1]:
                        best = (name, score)
            if best is not None and best[0] not in forms and best[0] not in found:
                found.append(best[0])
        return found

    @staticmethod
    def _maybe_a_name(word: str, first: bool) -> bool:
        if not any(morphology.known(word, lang) for lang in morphology.LANGUAGES):
            return True
        if not word[:1].isupper():
            return False
        return not first or any(
            morphology.reads_as_name(word, lang) for lang in morphology.LANGUAGES
        )

    def _sounds_alike_hangul(self, text: str, forms: list[str]) -> list[str]:
        found: list[str] = []
        known = " ".join(forms)
        for word in HANGUL.findall(text):
            word = PARTICLE.sub("", word)
            # Transliterated names are long; most short words are ordinary Korean, and some
            # ordinary words sound like names (미사일 ~ Mikhail), hence the strict score.
            if len(word) < 3 or word in known or self._is_generic(word):
                continue
            for name, _score in self.names.match(word, limit=2, min_score=PHONETIC_MIN):
                if name not in forms and name not in found:
                    found.append(name)
        return found

    def _year_with_reports(self, rng: DateRange | None) -> DateRange | None:
        """For a date written without a year ("8월 29일"), the latest year the store has reports
        in that range: an archive reader asking about "October 10" means the one we covered."""
        if rng is None or not rng.year_implied:
            return rng
        days = self.catalog.dates()
        if not days:
            return rng
        shifted = rng
        for back in range(1, 1 + rng.end.year - days[0].year + 1):
            if any(shifted.start <= d <= shifted.end for d in days):
                return shifted
            step = relativedelta(years=back)
            shifted = rng.model_copy(update={"start": rng.start - step, "end": rng.end - step})
        return rng

    def _is_generic(self, text: str) -> bool:
        return all(tok in self._generic_terms for tok in self.tokenizer.tokens(text))

    @functools.cached_property
    def _generic_terms(self) -> set[str]:
        # On first need: the Korean one loads Kiwi, which an English start should not wait for.
        return {
            token
            for text in (GENERIC_QUESTION, GENERIC_QUESTION_UK, GENERIC_QUESTION_RU)
            for token in self.tokenizer.tokens(text)
        }

    @property
    def names(self) -> NameIndex:
        """The English proper nouns of the store, for matching Hangul and Cyrillic spellings
        (built on the first such question: 0.2-0.4 s at 9,000 names)."""
        assert self._snapshot is not None
        return self._snapshot.names

    def _date_filter(
        self, rng: DateRange | None
    ) -> tuple[tuple[int, int] | None, Callable[[str], bool] | None]:
        """The range as YYYYMMDD bounds (for the vector index) and as a chunk-id predicate."""
        if rng is None:
            return None, None
        chunks = self.catalog.chunks

        def allowed(cid: str) -> bool:
            chunk = chunks.get(cid)
            return chunk is not None and rng.start <= chunk.report_date <= rng.end

        return (date_to_int(rng.start), date_to_int(rng.end)), allowed

    # ---- answer assembly -------------------------------------------------------------------

    def _candidates(self, hits: list[Hit]) -> list[Candidate]:
        """Turn chunk hits into answer units: a passage counts for its report's closest takeaway."""
        chunks = self.catalog.chunks
        relevant = [
            h
            for h in hits
            if h.chunk_id in chunks and (h.lexical or (h.dense or 0.0) >= MIN_DENSE_ONLY)
        ]
        passages = [chunks[h.chunk_id] for h in relevant if chunks[h.chunk_id].kind == "passage"]
        closest = self._closest_takeaways(passages)
        units: dict[tuple[str, str], Candidate] = {}
        for hit in relevant:
            chunk = chunks[hit.chunk_id]
            view = self.catalog.takeaway_of(chunk) or closest.get(chunk.id)
            key = (chunk.report_id, f"t{view.position}" if view else f"p{chunk.position}")
            # A passage is weaker evidence for a takeaway than the takeaway's own words.
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
                # A second piece of evidence for the same takeaway counts a little; no more, so
                # a broad takeaway that many passages loosely support does not outrank one that
                # matches exactly.
                unit.score += score * EXTRA_EVIDENCE
                unit.extra = True
        return sorted(units.values(), key=lambda u: u.score, reverse=True)

    def _closest_takeaways(self, passages: list[Chunk]) -> dict[str, TakeawayView]:
        wanted = [p for p in passages if self.catalog.takeaways.get(p.report_id)]
        if not wanted:
            return {}
        ids = [p.id for p in wanted]
        for p in wanted:
            for view in self.catalog.takeaways[p.report_id]:
                ids += view.chunk_ids
        vectors = self.catalog.vectors.vectors(list(dict.fromkeys(ids)))
        out: dict[str, TakeawayView] = {}
        for p in wanted:
            pv = vectors.get(p.id)
            if pv is None:
                continue
            best, best_sim = None, -1.0
            for view in self.catalog.takeaways[p.report_id]:
                sims = [float(pv @ vectors[c]) for c in view.chunk_ids if c in vectors]
                if sims and max(sims) > best_sim:
                    best, best_sim = view, max(sims)
            if best is not None:
                out[p.id] = best
        return out

    def _collapse_duplicates(self, units: list[Candidate]) -> list[Candidate]:
        ids = [_english_chunk(u) for u in units[:COLLAPSE_HEAD]]
        vectors = self.catalog.vectors.vectors([i for i in ids if i])
        return collapse_repeats(units, [vectors.get(i) if i else None for i in ids])

    def _result(self, unit: Candidate, lang: str) -> Result:
        entry = self.catalog.reports[unit.report_id]
        if unit.takeaway is not None:
            result = self._takeaway_result(unit.takeaway, lang, unit.score)
            if unit.evidence.kind == "passage":
                result.supporting = _clip(unit.evidence.text, 400)
        else:
            chunk = unit.passage or unit.evidence
            result = Result(
                report_id=unit.report_id,
                report_date=entry.report_date,
                text=chunk.text,
                lang=chunk.lang,
                kind="passage",
                report_title=entry.title,
                source=entry.source,
                url=entry.url or None,
                score=unit.score,
                position=chunk.position,
                gloss=gloss(chunk.text, chunk.lang, lang, self.gazetteer),
            )
        result.also_reported = unit.also
        return result

    def _takeaway_result(self, view: TakeawayView, lang: str, score: float) -> Result:
        entry = self.catalog.reports[view.report_id]
        text_lang, text = view.text_for(lang)
        translation: dict[str, object] = {}
        if text_lang != lang and lang in view.translations:
            # Machine translated: shown marked as such, with ISW's own words beside it.
            translated, model = view.translations[lang]
            translation = {"translated_by": model, "original_text": text}
            text_lang, text = lang, translated
        return Result(
            report_id=view.report_id,
            report_date=entry.report_date,
            text=text,
            lang=text_lang,
            kind="takeaway",
            report_title=entry.title,
            source=entry.source,
            url=entry.url or None,
            score=round(score, 6),
            position=view.position,
            gloss=gloss(text, text_lang, lang, self.gazetteer),
            **translation,
        )

    def _takeaways_in(
        self, rng: DateRange, command: str, query: str, lang: str, limit: int | None
    ) -> Answer:
        """A report's own takeaways in report order; the nearest report when none that day."""
        days = [d for d in self.catalog.dates() if rng.start <= d <= rng.end]
        note = None
        if not days:
            nearest = self.catalog.nearest_date(rng.end)
            if nearest is None:
                return Answer(command=command, query=query, lang=lang, note="empty_store")
            days, note = [nearest], f"nearest:{nearest.isoformat()}"
        day = days[-1]
        results: list[Result] = []
        for entry in sorted(self.catalog.reports_on(day), key=lambda e: e.report_id):
            views = self.catalog.takeaways.get(entry.report_id, [])
            results += [self._takeaway_result(v, lang, 1.0) for v in views]
            if not views:
                # Some (Sunday) reports have no Key Takeaways: say what the report opens with.
                note = note or "no_takeaways"
                for chunk in self.catalog.passages.get(entry.report_id, [])[:3]:
                    results.append(
                        Result(
                            report_id=entry.report_id,
                            report_date=entry.report_date,
                            text=chunk.text,
                            lang=chunk.lang,
                            kind="passage",
                            report_title=entry.title,
                            source=entry.source,
                            url=entry.url or None,
                            score=1.0,
                            position=chunk.position,
                            gloss=gloss(chunk.text, chunk.lang, lang, self.gazetteer),
                        )
                    )
        if limit:
            results = results[:limit]
        return Answer(command=command, query=query, lang=lang, results=results, note=note)  # type: ignore[arg-type]


def _english_chunk(unit: Candidate) -> str | None:
    if unit.takeaway is None:
        return unit.evidence.id
    for cid in unit.takeaway.chunk_ids:
        if cid.endswith(":en"):
            return cid
    return unit.takeaway.chunk_ids[0] if unit.takeaway.chunk_ids else None


def _mention_pattern(form: str) -> re.Pattern[str]:
    """Latin names match as whole words (so "Lyman" is not "Lymanske"); Hangul names match as a
    prefix of a word, because Korean glues particles on ("아브디이프카 근처로", "바흐무트에서")."""
    escaped = re.escape(form)
    if HANGUL.search(form):
        return re.compile(escaped)
    return re.compile(rf"(?<![\w-]){escaped}(?![\w])", re.IGNORECASE)


def _clip(text: str, size: int) -> str:
    return text if len(text) <= size else text[: size - 1].rsplit(" ", 1)[0] + "…"


def _prefer_range(
    inside: list[Candidate], anywhere: list[Candidate], rng: DateRange, limit: int
) -> list[Candidate]:
    if not inside:
        return anywhere
    outside = [c for c in anywhere[:OUTSIDE_RANK] if not rng.start <= c.report_date <= rng.end]
    outside = outside[:OUTSIDE_SLOTS]
    return inside[: max(1, limit - len(outside))] + outside


def collapse_repeats(units: list[Candidate], vectors: list[np.ndarray | None]) -> list[Candidate]:
    """ISW repeats a takeaway on consecutive days: show the newest once, with the others'
    dates, at the rank of the best of them. `vectors` are the embeddings of the first units
    (of their English text), in order; units past them are left as they are."""
    head = units[: len(vectors)]
    kept: list[tuple[Candidate, np.ndarray | None]] = []
    for unit, vec in zip(head, vectors, strict=True):
        twin = None
        if vec is not None:
            for other, ovec in kept:
                if (
                    ovec is not None
                    and other.report_id != unit.report_id
                    and abs((other.report_date - unit.report_date).days) <= DUPLICATE_WINDOW_DAYS
                    and float(vec @ ovec) >= DUPLICATE_SIMILARITY
                ):
                    twin = other
                    break
        if twin is None:
            kept.append((unit, vec))
            continue
        if unit.report_date > twin.report_date:
            # The newer report's wording stands for the group.
            unit.also = sorted({*twin.also, twin.report_date}, reverse=True)
            unit.score = twin.score
            idx = next(i for i, (u, _) in enumerate(kept) if u is twin)
            kept[idx] = (unit, vec)
        else:
            twin.also = sorted({*twin.also, unit.report_date}, reverse=True)
    return [u for u, _ in kept] + units[len(vectors) :]
