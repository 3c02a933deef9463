"""The assemble stage: answer units -> the `Answer` the bot and the command line show.

The naming filter, the date-range preference, the collapse of a takeaway ISW repeated on
consecutive days, the reports' own takeaways for a date, and the notes saying why an answer is
empty or narrowed.
"""

from __future__ import annotations

import re
from datetime import date

import numpy as np

from retrieval.catalog import TakeawayView
from retrieval.dates import DateRange
from retrieval.gazetteer import Gazetteer
from retrieval.gloss import gloss
from retrieval.indexes import ReadIndexes
from retrieval.models import Answer, Command, Peak, Result, Timeline
from retrieval.query import Query, Terms
from retrieval.search import Candidate, mention_pattern
from retrieval.timeline import busiest, week_of, weekly_counts
from store.records import Chunk, ReportEntry

# Takeaways this similar (cosine of their embeddings) and this close in time are "the same
# takeaway, repeated". e5 puts different events of one kind above 0.95 ("unsuccessful assaults
# north of Kharkiv City" vs "... on the Southern Axis", Putin's conscription delay vs his end of
# mobilization two weeks later); ISW's repeats come within days of each other.
DUPLICATE_SIMILARITY = 0.97
DUPLICATE_WINDOW_DAYS = 7
# Only the best answer units are compared (each pair costs a dot product).
COLLAPSE_HEAD = 30
# Far weaker than the best match (this share of its score) is noise, not a second answer.
RELATIVE_FLOOR = 0.3
# A date in a question mostly names the report wanted ("1월 26일 크렘린 협상"), but sometimes the
# event ("postponed the draft to November 1", "chips imported in 2023", "the first strike on
# Kyiv since April 29"), which a report dated later tells. So matches from inside the range
# come first, and the best matches from anywhere keep OUTSIDE_SLOTS places when they rank among
# the overall top OUTSIDE_RANK; with nothing inside the range, the best matches from anywhere.
OUTSIDE_SLOTS = 2
OUTSIDE_RANK = 3
# How much of a passage a takeaway found by it shows as its support.
SUPPORTING_CHARS = 400


class Assembler:
    """Builds answers; one per ReportQA, given the loaded indexes with each question."""

    def __init__(self, gazetteer: Gazetteer) -> None:
        self.gazetteer = gazetteer

    def answer(
        self,
        indexes: ReadIndexes,
        query: Query,
        inside: list[Candidate],
        anywhere: list[Candidate] | None,
        limit: int,
    ) -> Answer:
        """/ask's answer from the units found for `query.terms` (inside its range, if any) and,
        with a range, for `query.whole` (anywhere)."""
        note = None
        units = self._ranked(indexes, inside)
        if query.range is not None and query.terms is not None:
            units = self._naming(units, query.terms)
            best = self._ranked(indexes, anywhere or [])
            chosen = prefer_range(units, best, query.range, limit)
            if chosen and not units:
                note = "other_dates"
            units = chosen
        results = [self._result(indexes, c, query.lang) for c in units[:limit]]
        if not results:
            note = "no_match"
        return Answer(
            command="ask", query=query.question, lang=query.lang, results=results, note=note
        )

    def _ranked(self, indexes: ReadIndexes, units: list[Candidate]) -> list[Candidate]:
        units = self._collapse_duplicates(indexes, units)
        if units:
            floor = units[0].score * RELATIVE_FLOOR
            units = [c for c in units if c.score >= floor]
        return units

    def _naming(self, units: list[Candidate], terms: Terms) -> list[Candidate]:
        """The units that name one of the places, people or units the text names (all units
        when it names none). A date range can hold nothing about the thing asked for ("최근
        아브디이프카 상황" when the newest reports no longer mention it): its best matches are
        then only the same kind of news about other places, which the search outside the
        range beats."""
        # Events ("Kharkiv counteroffensive") are phrases that reports word in many ways.
        named = [e for e in terms.named if e.type not in ("term", "event")]
        if not named:
            return units
        patterns = [mention_pattern(form) for entry in named for form in entry.forms()]

        def names_one(unit: Candidate) -> bool:
            texts = [unit.evidence.text]
            if unit.takeaway is not None:
                texts += unit.takeaway.texts.values()
            return any(p.search(t) for p in patterns for t in texts)

        return [u for u in units if names_one(u)]

    def _collapse_duplicates(self, indexes: ReadIndexes, units: list[Candidate]) -> list[Candidate]:
        ids = [_english_chunk(u) for u in units[:COLLAPSE_HEAD]]
        vectors = indexes.catalog.vectors.vectors([i for i in ids if i])
        return collapse_repeats(units, [vectors.get(i) if i else None for i in ids])

    # ---- takeaways listed as they are -------------------------------------------------------

    def topic(
        self,
        term: str,
        lang: str,
        found: list[tuple[TakeawayView, date]],
        indexes: ReadIndexes,
    ) -> Answer:
        results = [self.takeaway_result(indexes, view, lang, 1.0) for view, _ in found]
        note = None if results else "no_topic"
        return Answer(command="topic", query=term, lang=lang, results=results, note=note)

    def timeline(
        self,
        timeline: Timeline,
        found: list[tuple[TakeawayView, date]],
        indexes: ReadIndexes,
        peaks: int,
    ) -> Timeline:
        """Fill `timeline` from the takeaways that mention its term (newest first)."""
        lang = timeline.lang
        days = indexes.catalog.dates()
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
                takeaway=self.takeaway_result(indexes, newest_in[w.week], lang, 1.0),
            )
            for w in busiest(timeline.weeks, peaks)
        ]
        timeline.last = self.takeaway_result(indexes, found[0][0], lang, 1.0)
        oldest_day = found[-1][1]
        # The oldest report's first mention (found is newest first, in report order within one).
        first = next(view for view, day in found if day == oldest_day)
        timeline.first = self.takeaway_result(indexes, first, lang, 1.0)
        return timeline

    def report_takeaways(
        self,
        indexes: ReadIndexes,
        report_id: str,
        lang: str,
        terms: list[str] | None,
        matchers: list[re.Pattern[str]],
    ) -> Answer:
        """One report's takeaways in report order (its opening passages when it has none). With
        `terms`, only the takeaways one of `matchers` accepts; empty when none does."""
        catalog = indexes.catalog
        entry = catalog.reports.get(report_id)
        if entry is None:
            return Answer(command="date", query=report_id, lang=lang, note="empty_store")
        views = catalog.takeaways.get(report_id, [])
        if terms:
            views = [
                v for v in views if any(m.search(t) for t in v.texts.values() for m in matchers)
            ]
            results = [self.takeaway_result(indexes, v, lang, 1.0) for v in views]
            return Answer(command="topic", query=", ".join(terms), lang=lang, results=results)
        if views:
            results = [self.takeaway_result(indexes, v, lang, 1.0) for v in views]
            return Answer(
                command="date", query=entry.report_date.isoformat(), lang=lang, results=results
            )
        answer = self.takeaways_in(
            indexes,
            DateRange(start=entry.report_date, end=entry.report_date, exact_day=True),
            "date",
            entry.report_date.isoformat(),
            lang,
            None,
        )
        answer.results = [r for r in answer.results if r.report_id == report_id]
        return answer

    def takeaways_in(
        self,
        indexes: ReadIndexes,
        rng: DateRange,
        command: Command,
        query: str,
        lang: str,
        limit: int | None,
    ) -> Answer:
        """A report's own takeaways in report order; the nearest report when none that day."""
        catalog = indexes.catalog
        days = [d for d in catalog.dates() if rng.start <= d <= rng.end]
        note = None
        if not days:
            nearest = catalog.nearest_date(rng.end)
            if nearest is None:
                return Answer(command=command, query=query, lang=lang, note="empty_store")
            days, note = [nearest], f"nearest:{nearest.isoformat()}"
        day = days[-1]
        results: list[Result] = []
        for entry in sorted(catalog.reports_on(day), key=lambda e: e.report_id):
            views = catalog.takeaways.get(entry.report_id, [])
            results += [self.takeaway_result(indexes, v, lang, 1.0) for v in views]
            if not views:
                # Some (Sunday) reports have no Key Takeaways: say what the report opens with.
                note = note or "no_takeaways"
                for chunk in catalog.passages.get(entry.report_id, [])[:3]:
                    results.append(self._passage_result(entry, chunk, lang, 1.0))
        if limit:
            results = results[:limit]
        return Answer(command=command, query=query, lang=lang, results=results, note=note)

    # ---- one result ---------------------------------------------------------------------------

    def _result(self, indexes: ReadIndexes, unit: Candidate, lang: str) -> Result:
        entry = indexes.catalog.reports[unit.report_id]
        if unit.takeaway is not None:
            result = self.takeaway_result(indexes, unit.takeaway, lang, unit.score)
            if unit.evidence.kind == "passage":
                result.supporting = _clip(unit.evidence.text, SUPPORTING_CHARS)
        else:
            result = self._passage_result(entry, unit.passage or unit.evidence, lang, unit.score)
        result.also_reported = unit.also
        return result

    def _passage_result(self, entry: ReportEntry, chunk: Chunk, lang: str, score: float) -> Result:
        return Result(
            report_id=entry.report_id,
            report_date=entry.report_date,
            text=chunk.text,
            lang=chunk.lang,
            kind="passage",
            report_title=entry.title,
            source=entry.source,
            url=entry.url or None,
            score=score,
            position=chunk.position,
            gloss=gloss(chunk.text, chunk.lang, lang, self.gazetteer),
        )

    def takeaway_result(
        self, indexes: ReadIndexes, view: TakeawayView, lang: str, score: float
    ) -> Result:
        entry = indexes.catalog.reports[view.report_id]
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


def _english_chunk(unit: Candidate) -> str | None:
    if unit.takeaway is None:
        return unit.evidence.id
    for cid in unit.takeaway.chunk_ids:
        if cid.endswith(":en"):
            return cid
    return unit.takeaway.chunk_ids[0] if unit.takeaway.chunk_ids else None


def _clip(text: str, size: int) -> str:
    return text if len(text) <= size else text[: size - 1].rsplit(" ", 1)[0] + "…"


def prefer_range(
    inside: list[Candidate], anywhere: list[Candidate], rng: DateRange, limit: int
) -> list[Candidate]:
    """Matches from inside the range first, and up to OUTSIDE_SLOTS of the overall best from
    outside it (see OUTSIDE_SLOTS); the best from anywhere when nothing is inside."""
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
