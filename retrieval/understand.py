"""The understand stage: a question -> a `Query` (retrieval.query).

Its language, the report dates it names, the things it names in every known form (the
gazetteer; for names the gazetteer lacks, the corpus's own proper nouns that sound alike), the
numbers written the Korean, Ukrainian or Russian way, and its embedding.
"""

from __future__ import annotations

import functools
from datetime import date

import numpy as np
from dateutil.relativedelta import relativedelta

from retrieval import morphology
from retrieval.dates import DateRange, parse_dates
from retrieval.gazetteer import CYRILLIC_WORD, Gazetteer, GazetteerEntry
from retrieval.indexes import ReadIndexes
from retrieval.language import LanguageDetector
from retrieval.numbers import KoreanNumber, written_numbers
from retrieval.query import Query, Terms
from retrieval.tokenize import Tokenizer
from store.embedding import Embedder
from store.korean import GENERIC_WORDS, HANGUL_WORD, NAME_TAIL

# Words that ask for "the report" rather than a subject: "2024년 1월 26일 핵심 요점" is a date
# lookup. English and Korean are tokenised together, Korean's from store.korean.
GENERIC_QUESTION = (
    "key takeaways takeaway summary summarize report reports assessment what happened happen "
    "news update updates show tell me give list the of on for in from about was were is are "
    f"{GENERIC_WORDS}"
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
# Transliterated Hangul names sound like their corpus spelling at least this much; some
# ordinary words sound like names (미사일 ~ Mikhail), hence a strict score.
PHONETIC_MIN = 0.75
# Ukrainian and Russian words this long or longer may be names the gazetteer lacks.
CYRILLIC_NAME_MIN = 4
# Cyrillic transliterates almost letter for letter, hence a stricter score than Hangul's
# ("Україна" is not the town of Ukrainka).
CYRILLIC_PHONETIC_MIN = 0.85


def query_vector(
    embedder: Embedder, text: str, expansions: list[str], dense_hints: list[str] | None = None
) -> np.ndarray | None:
    """The embedded query: the text plus the hints (or expansions) it does not contain. The
    embedding model does not link transliterations by itself ("아브디이프카" and "Avdiivka"),
    but every spelling in every language would drown the question: a few hints, when given."""
    hints = expansions if dense_hints is None else dense_hints
    extra = [e for e in hints if e.lower() not in text.lower()]
    query = " ".join([text, *extra]).strip()
    return embedder.embed_queries([query])[0] if query else None


class Understander:
    """Reads questions; one per ReportQA, given the loaded indexes with each question."""

    def __init__(
        self,
        gazetteer: Gazetteer,
        detector: LanguageDetector,
        tokenizer: Tokenizer,
        embedder: Embedder,
    ) -> None:
        self.gazetteer = gazetteer
        self.detector = detector
        self.tokenizer = tokenizer
        self.embedder = embedder

    @functools.cached_property
    def _generic(self) -> set[str]:
        # On first need: tokenising the Korean words needs Kiwi, which a start need not wait for.
        return {
            token
            for text in (GENERIC_QUESTION, GENERIC_QUESTION_UK, GENERIC_QUESTION_RU)
            for token in self.tokenizer.tokens(text)
        }

    def hangul_names(self) -> list[str]:
        """The Korean names a question may expand to: the read index analyses them once and
        saves the analyses, so that English questions never load the Korean analyser."""
        return [form for entry in self.gazetteer.entries for form in entry.ko]

    def language(self, text: str, lang: str | None = None) -> str:
        """`lang` when the caller knows it, else the text's."""
        return lang or self.detector.detect(text)

    def understand(self, question: str, indexes: ReadIndexes, lang: str | None = None) -> Query:
        lang = self.language(question, lang)
        parsed = parse_dates(question, self._today(indexes))
        text = parsed.text
        rng = self.year_with_reports(parsed.range, indexes)
        if rng is not None and self.is_generic(text):
            return Query(question=question, lang=lang, range=rng, terms=None)
        # Inside the range the date words are a filter; elsewhere they may be the event's own
        # date ("postponed to November 1"), so that search keeps them.
        terms = self.terms(text or question, indexes)
        whole = None if rng is None else self.terms(question, indexes)
        return Query(question=question, lang=lang, range=rng, terms=terms, whole=whole)

    def date_range(self, expression: str, indexes: ReadIndexes) -> DateRange | None:
        """The report dates an expression names ("2024년 1월 26일", "last week"), or None."""
        parsed = parse_dates(expression, self._today(indexes))
        return self.year_with_reports(parsed.range, indexes)

    def terms(self, text: str, indexes: ReadIndexes) -> Terms:
        entries, numbers = self.gazetteer.find(text), written_numbers(text)
        concepts = self._concepts(text, entries, numbers, indexes)
        expansions = list(dict.fromkeys(form for group in concepts for form in group))
        hints = self._hints(text, entries, numbers, indexes)
        vector = query_vector(self.embedder, text, expansions, hints)
        return Terms(text, vector, concepts, expansions, hints, entries, numbers)

    # ---- other names --------------------------------------------------------------------------

    def expand(self, text: str, indexes: ReadIndexes) -> list[str]:
        """Other names of what the text mentions: the gazetteer first, then, for Hangul names the
        gazetteer lacks, the corpus's own proper nouns that sound alike."""
        return list(dict.fromkeys(form for group in self.concepts(text, indexes) for form in group))

    def concepts(self, text: str, indexes: ReadIndexes) -> list[list[str]]:
        """`expand`, grouped by what each form names: one group per gazetteer entry (all its
        forms), one per sound-alike name, one per Korean, Ukrainian or Russian number ("1만6천",
        "16 тисяч" and "16,000")."""
        return self._concepts(text, self.gazetteer.find(text), written_numbers(text), indexes)

    def dense_hints(self, text: str, indexes: ReadIndexes) -> list[str]:
        """What to add to the text before embedding it: one English name per thing it mentions.
        Every spelling in every language (as lexical search gets) would drown the question."""
        return self._hints(text, self.gazetteer.find(text), written_numbers(text), indexes)

    def mention_forms(self, term: str, indexes: ReadIndexes) -> list[str]:
        """The term and its other names, longest first: what /topic looks for."""
        term = term.strip()
        forms = self.expand(term, indexes) or [term]
        return sorted({f for f in [term, *forms] if f}, key=len, reverse=True)

    def topic_name(self, term: str, lang: str) -> str:
        """The term's name in `lang` when it names one known thing (the gazetteer's first form
        in that language, else its English one), else the term as written."""
        entries = self.gazetteer.find(term)
        if len(entries) != 1:
            return term.strip()
        entry = entries[0]
        names = {"en": entry.en, "ko": entry.ko, "uk": entry.uk, "ru": entry.ru}.get(lang) or []
        return (names or entry.en or [term.strip()])[0]

    def _concepts(
        self,
        text: str,
        entries: list[GazetteerEntry],
        numbers: list[KoreanNumber],
        indexes: ReadIndexes,
    ) -> list[list[str]]:
        groups = [entry.forms() for entry in entries]
        known = [form for group in groups for form in group]
        groups += [[name] for name in self._sounds_alike(text, known, indexes)]
        return groups + [[n.text, *n.forms] for n in numbers]

    def _hints(
        self,
        text: str,
        entries: list[GazetteerEntry],
        numbers: list[KoreanNumber],
        indexes: ReadIndexes,
    ) -> list[str]:
        english = [entry.en[0] for entry in entries]
        english += self._sounds_alike(text, english, indexes)
        return list(dict.fromkeys(english + [n.forms[0] for n in numbers]))

    def _sounds_alike(self, text: str, forms: list[str], indexes: ReadIndexes) -> list[str]:
        found = self._sounds_alike_hangul(text, forms, indexes)
        for name in self._sounds_alike_cyrillic(text, forms, indexes):
            if name not in found:
                found.append(name)
        return found

    def _sounds_alike_cyrillic(
        self, text: str, forms: list[str], indexes: ReadIndexes
    ) -> list[str]:
        """Corpus names that a Ukrainian or Russian name the gazetteer lacks transliterates:
        "під Стахановим" -> Stakhanov. Only words written as names (capitalised, after the
        first word or read as a name by a dictionary) or that neither dictionary knows; each as
        written, then in its dictionary forms (as a name, when a dictionary reads it as one)."""
        found: list[str] = []
        covered = [(start, end) for start, end, _ in self.gazetteer.find_spans(text)]
        for i, match in enumerate(CYRILLIC_WORD.finditer(text)):
            word = match.group()
            if len(word) < CYRILLIC_NAME_MIN or any(
                start <= match.start() < end for start, end in covered
            ):
                continue
            if not _maybe_a_name(word, first=i == 0) or self.is_generic(word):
                continue
            spellings = [morphology.fold(word)]
            spellings += [morphology.name_lemma(word, lang) for lang in morphology.LANGUAGES]
            best: tuple[str, float] | None = None
            for spelling in dict.fromkeys(spellings):
                for name, score in indexes.names.match_cyrillic(
                    spelling, limit=1, min_score=CYRILLIC_PHONETIC_MIN
                ):
                    if best is None or score > best[1]:
                        best = (name, score)
            if best is not None and best[0] not in forms and best[0] not in found:
                found.append(best[0])
        return found

    def _sounds_alike_hangul(self, text: str, forms: list[str], indexes: ReadIndexes) -> list[str]:
        found: list[str] = []
        known = " ".join(forms)
        for word in HANGUL_WORD.findall(text):
            word = NAME_TAIL.sub("", word)
            # Transliterated names are long; most short words are ordinary Korean.
            if len(word) < 3 or word in known or self.is_generic(word):
                continue
            for name, _score in indexes.names.match(word, limit=2, min_score=PHONETIC_MIN):
                if name not in forms and name not in found:
                    found.append(name)
        return found

    # ---- dates --------------------------------------------------------------------------------

    def year_with_reports(self, rng: DateRange | None, indexes: ReadIndexes) -> DateRange | None:
        """For a date written without a year ("8월 29일"), the latest year the store has reports
        in that range: an archive reader asking about "October 10" means the one we covered."""
        if rng is None or not rng.year_implied:
            return rng
        days = indexes.catalog.dates()
        if not days:
            return rng
        shifted = rng
        for back in range(1, 1 + rng.end.year - days[0].year + 1):
            if any(shifted.start <= d <= shifted.end for d in days):
                return shifted
            step = relativedelta(years=back)
            shifted = rng.model_copy(update={"start": rng.start - step, "end": rng.end - step})
        return rng

    def is_generic(self, text: str) -> bool:
        """Every word of the text only asks for "the report" (none when it has no words)."""
        return all(tok in self._generic for tok in self.tokenizer.tokens(text))

    @staticmethod
    def _today(indexes: ReadIndexes) -> date:
        # "Yesterday" and "last week" are relative to the newest report an archive holds.
        return indexes.catalog.newest_date() or date.today()


def _maybe_a_name(word: str, first: bool) -> bool:
    if not any(morphology.known(word, lang) for lang in morphology.LANGUAGES):
        return True
    if not word[:1].isupper():
        return False
    return not first or any(morphology.reads_as_name(word, lang) for lang in morphology.LANGUAGES)
