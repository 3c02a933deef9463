"""A multilingual gazetteer of the names ISW reports use, for query expansion across scripts.

The embedding model does not connect transliterations across scripts ("아브디이프카" scores an
English sentence about "Avdiivka" no higher than an unrelated one), so a question is expanded
with every known form of the names it contains before search.

Matching rules (see `Gazetteer.find`):

* Korean forms match at the start of a word (the preceding character is not Hangul) and may be
  followed by anything: particles and suffixes are glued on ("아브디이프카 근처에서",
  "벨고로드주에서"). Spaces inside a Korean form are optional ("바그너그룹").
* Latin and Cyrillic forms match whole words, case-insensitively; a possessive ("Putin's",
  "Putin’s") or a Korean particle ("HIMARS를") may follow. Acronym-like forms (two or more
  capitals, at most six characters: "UN", "MoD", "NATO") match case-sensitively.
* Ukrainian and Russian forms also match in any inflection, word by word by lemma
  (retrieval.morphology, pymorphy3): "біля Авдіївки" names "Авдіївка", "с Крымским мостом"
  names "Крымский мост", "крейсер «Москва»" names "крейсер Москва"; and a one-word place by
  its adjective ("на Покровському напрямку" names Pokrovsk) when no other place shares it. Each form's words are lemmatised once, at load, with the analyser of
  the language the form is listed under; a question's Cyrillic words are lemmatised with both,
  and a form matches when every one of its words shares a lemma with the question's word at
  that place. Acronyms ("ЗСУ", "ЗАЕС") match only as written.
* At each position the longest form wins and matches do not overlap, so "Belgorod Oblast" is
  one match and "76th VDV Division" is not also "VDV".

Lookup is a dict from a form's first two (normalised) characters to its candidate forms,
probed only at word starts, so `find` is linear in the text and independent of the number of
entries.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from pydantic import BaseModel

from retrieval import morphology
from store.korean import is_hangul

ENTRY_TYPES: frozenset[str] = frozenset(
    {"place", "region", "river", "person", "unit", "organisation", "equipment", "event", "term"}
)
# Names, and a glossary of the war's common words ("term" entries: 철수 -> withdrawal), so a
# Korean question can find an English-only report by its words as well as by its names.
PACKAGED = ("gazetteer.json", "glossary.json")

_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "ʼ": "'", "`": "'", "′": "'"})


class GazetteerEntry(BaseModel):
    """One named thing and its written forms; the first `en` form is ISW's spelling."""

    id: str
    type: str
    en: list[str]
    ko: list[str] = []
    uk: list[str] = []
    ru: list[str] = []

    def forms(self) -> list[str]:
        """All forms, English first, then Korean, Ukrainian, Russian; without duplicates."""
        return list(dict.fromkeys([*self.en, *self.ko, *self.uk, *self.ru]))


def _is_word_char(ch: str) -> bool:
    """A letter or digit of a non-Hangul script (Latin, Cyrillic, digits)."""
    return ch.isalnum() and not is_hangul(ch)


def _normalise(text: str) -> str:
    """Lower-case and unify apostrophes and whitespace, keeping every character's position."""
    out = []
    for ch in text.translate(_APOSTROPHES):
        if ch.isspace():
            out.append(" ")
            continue
        low = ch.lower()
        out.append(low if len(low) == 1 else ch)
    return "".join(out)


# A Cyrillic word, apostrophes ("Куп'янськ") and inner hyphens ("Ростов-на-Дону") included.
_CYRILLIC_LETTERS = "\u0400-\u04ff"
CYRILLIC_WORD = re.compile(
    rf"[{_CYRILLIC_LETTERS}]+(?:['’ʼ][{_CYRILLIC_LETTERS}]+)*(?:-[{_CYRILLIC_LETTERS}]+)*"
)
# Between two words of a name: spaces, and quotes ("крейсер «Москва»").
_NAME_GAP = re.compile(r"\s*[«»\"“”„']?\s*")
# Places whose adjectives name them ("на Покровському напрямку").
_PLACE_TYPES = frozenset({"place", "region", "river"})


def _case_sensitive(form: str) -> bool:
    return sum(c.isupper() for c in form) >= 2 and len(form) <= 6


@dataclass(frozen=True, slots=True)
class _Form:
    key: str  # normalised form as searched in the normalised text
    original: str  # as written in the data (compared verbatim when case-sensitive)
    entry: int  # index into Gazetteer.entries
    korean: bool
    case_sensitive: bool


@dataclass(frozen=True, slots=True)
class _LemmaForm:
    words: tuple[frozenset[str], ...]  # each word's lemmas (morphology.base_lemmas)
    entry: int
    length: int  # characters, to prefer the longer of two forms with as many words


class Gazetteer:
    """The loaded gazetteer; build once, pass around (no module-level state)."""

    def __init__(self, entries: list[GazetteerEntry]) -> None:
        self.entries: list[GazetteerEntry] = list(entries)
        self._by_id: dict[str, GazetteerEntry] = {e.id: e for e in self.entries}
        index: dict[str, list[_Form]] = {}
        seen: set[tuple[str, int, bool]] = set()
        for i, entry in enumerate(self.entries):
            for form in entry.forms():
                form = " ".join(form.split())
                if len(form) < 2:
                    continue
                korean = is_hangul(form[0])
                variants = [form]
                if korean and " " in form:
                    variants.append(form.replace(" ", ""))
                for variant in variants:
                    cs = not korean and _case_sensitive(variant)
                    key = _normalise(variant)
                    if (key, i, cs) in seen:
                        continue
                    seen.add((key, i, cs))
                    index.setdefault(key[:2], []).append(
                        _Form(key, variant.translate(_APOSTROPHES), i, korean, cs)
                    )
        for candidates in index.values():
            candidates.sort(key=lambda f: -len(f.key))
        self._index = index

    # The Ukrainian/Russian tables cost ~2 s of pymorphy3 analyses and serve only Cyrillic
    # text: built on the first Cyrillic look-up, so an English or Korean start never pays.
    @functools.cached_property
    def _lemma_index(self) -> dict[str, dict[str, list[_LemmaForm]]]:
        return self._build_lemma_index()

    @functools.cached_property
    def _place_stems(self) -> dict[str, tuple[list[int], list[int]]]:
        return self._build_place_stems()

    def _build_place_stems(self) -> dict[str, tuple[list[int], list[int]]]:
        """What adjectives keep of one-word Ukrainian and Russian place names -> (entries whose
        name it is, entries whose name it is without an ending)."""
        out: dict[str, tuple[list[int], list[int]]] = {}
        for i, entry in enumerate(self.entries):
            if entry.type not in _PLACE_TYPES:
                continue
            for form in [*entry.uk, *entry.ru]:
                if not CYRILLIC_WORD.fullmatch(form) or _case_sensitive(form):
                    continue
                stems = morphology.place_stems(form)
                if any(morphology.is_adjective_name(form, lang) for lang in morphology.LANGUAGES):
                    stems = stems[:1]  # "Бахмутське" is no shortening of "бахмутський"
                for k, stem in enumerate(stems):
                    owners = out.setdefault(stem, ([], []))[1 if k else 0]
                    if i not in owners:
                        owners.append(i)
        return out

    def _place_of_adjective(self, word: str, lang: str) -> GazetteerEntry | None:
        """The one place an adjective is made from ("Бахмутському" -> Bakhmut): the longest
        stem any place has; a place whose name it is beats one it is a shortening of; two
        places alike are no answer."""
        for stem in morphology.adjective_stems(word, lang):
            exact, shortened = self._place_stems.get(stem, ([], []))
            owners = exact or shortened
            if owners:
                return self.entries[owners[0]] if len(owners) == 1 else None
        return None

    def _build_lemma_index(self) -> dict[str, dict[str, list[_LemmaForm]]]:
        """Per language, the first word's lemma -> the Ukrainian/Russian forms starting with it
        (longest first)."""
        out: dict[str, dict[str, list[_LemmaForm]]] = {lang: {} for lang in morphology.LANGUAGES}
        seen: set[tuple[str, tuple[frozenset[str], ...], int]] = set()
        for i, entry in enumerate(self.entries):
            for lang in morphology.LANGUAGES:
                for form in getattr(entry, lang):
                    form = " ".join(form.split())
                    words = CYRILLIC_WORD.findall(form)
                    # Only forms made of Cyrillic words alone; acronyms match as written.
                    if not words or " ".join(words) != form or _case_sensitive(form):
                        continue
                    if len(words) == 1 and morphology.is_adjective_name(form, lang):
                        # "Покровське": its other cases are the adjective's ("Покровському
                        # напрямку" is Pokrovsk's direction); it matches as written only.
                        continue
                    keys = tuple(morphology.base_lemmas(w, lang) for w in words)
                    if (lang, keys, i) in seen:
                        continue
                    seen.add((lang, keys, i))
                    lemma_form = _LemmaForm(keys, i, len(form))
                    for first in keys[0]:
                        out[lang].setdefault(first, []).append(lemma_form)
        for table in out.values():
            for candidates in table.values():
                candidates.sort(key=lambda f: (-len(f.words), -f.length))
        return out

    @classmethod
    def load(cls, path: Path | None = None) -> Gazetteer:
        """Load from `path`, or the packaged names and glossary (`retrieval/data/`)."""
        if path is not None:
            raws = [Path(path).read_text(encoding="utf-8")]
        else:
            data = resources.files("retrieval").joinpath("data")
            raws = [data.joinpath(name).read_text("utf-8") for name in PACKAGED]
        items = [item for raw in raws for item in json.loads(raw)]
        return cls([GazetteerEntry.model_validate(item) for item in items])

    def __len__(self) -> int:
        return len(self.entries)

    def get(self, entry_id: str) -> GazetteerEntry | None:
        return self._by_id.get(entry_id)

    def forms(self, entry_id: str) -> list[str]:
        """All forms of one entry (KeyError for an unknown id)."""
        return self._by_id[entry_id].forms()

    def _match_at(self, text: str, norm: str, pos: int) -> _Form | None:
        candidates = self._index.get(norm[pos : pos + 2])
        if not candidates:
            return None
        hangul_start = is_hangul(norm[pos])
        prev = norm[pos - 1] if pos > 0 else " "
        for form in candidates:
            if not norm.startswith(form.key, pos):
                continue
            end = pos + len(form.key)
            if form.korean:
                if hangul_start and is_hangul(prev):
                    continue
            else:
                if _is_word_char(prev) and _is_word_char(norm[pos]):
                    continue
                if end < len(norm) and _is_word_char(norm[end]) and _is_word_char(norm[end - 1]):
                    continue
                if form.case_sensitive and text[pos:end].translate(_APOSTROPHES) != form.original:
                    continue
            return form
        return None

    def find_spans(self, text: str) -> list[tuple[int, int, GazetteerEntry]]:
        """Non-overlapping (start, end, entry) matches, leftmost-longest, in text order."""
        norm = _normalise(text)
        spans: list[tuple[int, int, GazetteerEntry]] = []
        pos, n = 0, len(norm)
        while pos < n - 1:
            form = self._match_at(text, norm, pos)
            if form is None:
                pos += 1
                continue
            end = pos + len(form.key)
            spans.append((pos, end, self.entries[form.entry]))
            pos = end
        inflected = self._lemma_spans(text)
        if not inflected:
            return spans
        # Both kinds together: the longest wins, then the leftmost; no overlaps.
        chosen: list[tuple[int, int, GazetteerEntry]] = []
        for span in sorted([*spans, *inflected], key=lambda s: (s[0] - s[1], s[0])):
            if all(span[1] <= c[0] or span[0] >= c[1] for c in chosen):
                chosen.append(span)
        return sorted(chosen, key=lambda s: s[0])

    def _lemma_spans(self, text: str) -> list[tuple[int, int, GazetteerEntry]]:
        """Matches of Ukrainian and Russian forms in any inflection (word by word by lemma)."""
        words = list(CYRILLIC_WORD.finditer(text))
        if not words:
            return []
        spans: list[tuple[int, int, GazetteerEntry]] = []
        for lang, table in self._lemma_index.items():
            lemmas = [morphology.lemmas(w.group(), lang) for w in words]
            for i in range(len(words)):
                # A lower-case word that may be an adjective ("українську") names no one-word
                # place by a lemma it shares with it (Ukrainsk); its adjective may (below).
                adjective = words[i].group()[:1].islower() and morphology.has_adjective_reading(
                    words[i].group(), lang
                )
                best: _LemmaForm | None = None
                for first in lemmas[i]:
                    for form in table.get(first, ()):
                        if adjective and len(form.words) == 1:
                            continue
                        if best is not None and (len(form.words), form.length) <= (
                            len(best.words),
                            best.length,
                        ):
                            break
                        if self._lemma_form_at(form, words, lemmas, i, text):
                            best = form
                            break
                if best is not None:
                    end = words[i + len(best.words) - 1].end()
                    spans.append((words[i].start(), end, self.entries[best.entry]))
                    continue
                place = self._place_of_adjective(words[i].group(), lang)
                if place is not None:
                    spans.append((words[i].start(), words[i].end(), place))
        return spans

    @staticmethod
    def _lemma_form_at(
        form: _LemmaForm,
        words: list[re.Match[str]],
        lemmas: list[frozenset[str]],
        i: int,
        text: str,
    ) -> bool:
        if i + len(form.words) > len(words):
            return False
        for j, keys in enumerate(form.words):
            gap = text[words[i + j - 1].end() : words[i + j].start()] if j else " "
            if j and (not gap or not _NAME_GAP.fullmatch(gap)):
                return False  # the words of a name stand side by side
            if not keys & lemmas[i + j]:
                return False
        return True

    def find(self, text: str) -> list[GazetteerEntry]:
        """Entries named in `text`, each once, in order of first appearance."""
        found: dict[str, GazetteerEntry] = {}
        for _, _, entry in self.find_spans(text):
            found.setdefault(entry.id, entry)
        return list(found.values())

    def expand(self, text: str) -> list[str]:
        """Every form (all languages) of the entries named in `text`, for query expansion.

        De-duplicated; entries in order of appearance, each entry's English forms first.
        """
        out: dict[str, None] = {}
        for entry in self.find(text):
            for form in entry.forms():
                out.setdefault(form, None)
        return list(out)
