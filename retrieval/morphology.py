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


# Case endings of names. A capitalised word the dictionary does not decline as a name (a
# surname it guesses as a village, "Суровикина" -> "суровикино") also stands for itself
# without one of them: "Суровикина" -> "суровикин".
_NAME_ENDINGS = tuple(
    sorted(
        "ого ому ими ами ах ам ов ев ів им ім ом ем ою ею ой ей ий ый а я у ю е і ы и".split(),
        key=len,
        reverse=True,
    )
)
_NAME_STEM_MIN = 4


def lemmas(word: str, lang: str) -> frozenset[str]:
    """Every dictionary form `word` may be an inflection of in `lang` (uk or ru), itself
    included; for a capitalised word also the word without a case ending."""
    folded = fold(word)
    out = {folded, *(a[0] for a in _analyses(folded, lang))}
    if word[:1].isupper():
        for ending in _NAME_ENDINGS:
            if folded.endswith(ending) and len(folded) - len(ending) >= _NAME_STEM_MIN:
                out.add(folded[: -len(ending)])
                break
    return frozenset(out)


# Adjectives made from place names: "Покровський", "Бахмутському", "іранських",
# "авдеевском" name Pokrovsk, Bakhmut, Iran, Avdiivka. The suffix comes off the adjective's
# lemma; what is left is compared with the place's name (see `place_stems`).
_ADJECTIVE_SUFFIXES = (
    "ський", "цький", "зький", "ський", "ький", "ский", "цкий", "зкий", "кий", "ий", "ій", "ый"
)  # fmt: skip
# The two sides' own adjectives are in most questions and name no place ("український" is not
# the town of Ukrainsk).
_NOT_PLACE_ADJECTIVES = frozenset(
    "український украинский російський российский русский руський радянський советский".split()
)
_PLACE_ADJECTIVE = frozenset({"ADJF"})


def adjective_stems(word: str, lang: str) -> list[str]:
    """What an adjective made from a place name leaves of it, longest first:
    "бахмутському" -> "бахмутськ", "бахмут"; "покровський" -> "покровськ", "покров";
    "авдіївського" -> ..., "авдіїв"."""
    folded = fold(word)
    out: set[str] = set()
    for normal, _, grammemes, _ in _analyses(folded, lang):
        if not grammemes & _PLACE_ADJECTIVE or normal in _NOT_PLACE_ADJECTIVES:
            continue
        for suffix in _ADJECTIVE_SUFFIXES:
            if normal.endswith(suffix) and len(normal) - len(suffix) >= _NAME_STEM_MIN:
                out.add(normal[: -len(suffix)])
    return sorted(out, key=lambda stem: (-len(stem), stem))


def place_stems(name: str) -> list[str]:
    """What of a one-word place name its adjective keeps, the name itself first:
    "Покровськ" -> "покровськ"; "Авдіївка" -> "авдіївка", "авдіївк", "авдіїв";
    "Одеса" -> "одеса", "одес"."""
    folded = fold(name)
    out = [folded]
    for ending in ("ка", "а", "я", "е", "о", "ь"):
        if folded.endswith(ending) and len(folded) - len(ending) >= _NAME_STEM_MIN:
            out.append(folded[: -len(ending)])
    return out


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


def is_adjective_name(word: str, lang: str) -> bool:
    """Whether a one-word name is also a form of an adjective ("Покровське", "Бахмутське":
    villages named by a neuter adjective), whose other cases are the common adjective's
    ("Покровському напрямку" is the Pokrovsk direction)."""
    folded = fold(word)
    return any(a[2] & _PLACE_ADJECTIVE and a[0] != folded for a in _analyses(folded, lang))


def has_adjective_reading(word: str, lang: str) -> bool:
    """Whether some analysis reads `word` as an adjective ("українську", "покровська")."""
    return any(a[2] & _PLACE_ADJECTIVE for a in _analyses(fold(word), lang))


def reads_as_name(word: str, lang: str) -> bool:
    """Whether the most probable analysis of `word` is a name (place, surname, ...)."""
    analyses = _analyses(fold(word), lang)
    return bool(analyses) and bool(analyses[0][2] & _NAME_TAGS)


def lemma(word: str, lang: str) -> str:
    """The most probable dictionary form of `word` in `lang`."""
    folded = fold(word)
    analyses = _analyses(folded, lang)
    return analyses[0][0] if analyses else folded


def known(word: str, lang: str) -> bool:
    """Whether the `lang` dictionary holds `word` (as opposed to guessing from its ending)."""
    return _analyser(lang).word_is_known(fold(word))
