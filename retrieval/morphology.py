"""Ukrainian and Russian word forms reduced to their dictionary forms (lemmas), with pymorphy3.

Both languages inflect names and nouns in six or seven cases: a reader asks about "Авдіївки",
"Авдіївці", "Авдіївку" (Avdiivka) or "Крымским мостом" (the Crimean bridge) and the gazetteer
holds "Авдіївка" and "Крымский мост". pymorphy3 with the OpenCorpora (ru) and VESUM-based (uk)
dictionaries, shipped as the `pymorphy3-dicts-ru` / `pymorphy3-dicts-uk` wheels (no download at
run time), gives every dictionary form a word can be an inflection of, and guesses them for
words it does not know (most transliterated village names) from their endings.

* `lemmas(word, lang)`: every normal form of every analysis (a word is often ambiguous:
  "Суми" is the town Sumy and the plural of "сума", a sum). Matching by "do two words share
  a lemma" is therefore generous; callers that hold a name use `name_lemmas` for its side.
* `base_lemmas(word, lang)`: for a word of a gazetteer form, which is written in its
  dictionary form: the word itself when some analysis reads it as its own normal form
  ("Суми" is the town, not the plural of "сума"), else its analyses as a name (geographical,
  surname, ...) when there are any, else all.
* `lemma(word, lang)`: the most probable normal form, for index terms.
* `known(word, lang)`: whether the dictionary has the word (not just a guess from its ending).

Analysers load in about 0.1 s each (the dictionaries are memory-mapped DAWGs, ~25 MB apiece)
on first use; results are cached per word. Everything is lower-cased and "ё" is read as "е"
(Russian writes both).
"""

from __future__ import annotations

import threading
from functools import lru_cache

import pymorphy3

LANGUAGES: tuple[str, ...] = ("uk", "ru")
# Tags of analyses that read a word as a name rather than a common word.
_NAME_TAGS = frozenset({"Geox", "Name", "Surn", "Patr", "Orgn", "Trad", "Abbr"})

_lock = threading.Lock()
_analysers: dict[str, pymorphy3.MorphAnalyzer] = {}


def _analyser(lang: str) -> pymorphy3.MorphAnalyzer:
    if lang not in LANGUAGES:
        raise ValueError(f"no morphology for {lang!r}; have {', '.join(LANGUAGES)}")
    with _lock:
        found = _analysers.get(lang)
        if found is None:
            found = _analysers[lang] = pymorphy3.MorphAnalyzer(lang=lang)
        return found


def fold(word: str) -> str:
    """Lower case, "ё" as "е", the typographic apostrophes as "'" (Ukrainian "Куп’янськ")."""
    return (
        word.lower()
        .replace("ё", "е")
        .replace("’", "'")
        .replace("ʼ", "'")
        .replace("‘", "'")
        .replace("`", "'")
    )


@lru_cache(maxsize=200_000)
def _analyses(word: str, lang: str) -> tuple[tuple[str, float, frozenset[str], bool], ...]:
    """(normal form, score, grammemes, from the dictionary) of each analysis of a folded word."""
    out = []
    for parse in _analyser(lang).parse(word):
        known = any(type(m[0]).__name__.startswith("Dictionary") for m in parse.methods_stack)
        out.append((fold(parse.normal_form), float(parse.score), parse.tag.grammemes, known))
    return tuple(out)


def lemmas(word: str, lang: str) -> frozenset[str]:
    """Every dictionary form `word` may be an inflection of in `lang` (uk or ru), itself
    included."""
    folded = fold(word)
    return frozenset({folded, *(a[0] for a in _analyses(folded, lang))})


def base_lemmas(word: str, lang: str) -> frozenset[str]:
    """The dictionary forms a gazetteer word (written in its base form) stands for: itself when
    some analysis reads it as its own normal form, else its readings as a name when there are
    any, else all. Keeps "Суми" (Sumy) from also being "сума" (a sum)."""
    folded = fold(word)
    analyses = _analyses(folded, lang)
    if not analyses or any(a[0] == folded for a in analyses):
        return frozenset({folded})
    named = [a[0] for a in analyses if a[2] & _NAME_TAGS]
    return frozenset({folded, *(named or [a[0] for a in analyses])})


def name_lemma(word: str, lang: str) -> str:
    """The most probable dictionary form of `word` read as a name (surname, place, ...), else
    `lemma`: "Стаханова" -> "стаханов" rather than the adjective "стаханова"."""
    folded = fold(word)
    analyses = _analyses(folded, lang)
    for analysis in analyses:
        if analysis[2] & _NAME_TAGS:
            return analysis[0]
    return analyses[0][0] if analyses else folded


def lemma(word: str, lang: str) -> str:
    """The most probable dictionary form of `word` in `lang`."""
    folded = fold(word)
    analyses = _analyses(folded, lang)
    return analyses[0][0] if analyses else folded


def known(word: str, lang: str) -> bool:
    """Whether the `lang` dictionary holds `word` (as opposed to guessing from its ending)."""
    return _analyser(lang).word_is_known(fold(word))
