"""Which language a question is written in, so the answer can be given in the same one.

Questions to the bot are short and full of transliterated place names, acronyms and weapon
designations ("Avdiivka", "HIMARS", "Il-76"), which a statistical detector reads as French or
Polish with high confidence. So the decision goes script first and uses lingua only where the
script leaves a real choice:

* Hangul anywhere -> Korean (Korean questions routinely carry English names: "HIMARS 관련 소식").
* Kana -> Japanese. Han only -> lingua between ja and zh (the hint settles a tie).
* Cyrillic words (at least as many as Latin ones) -> Ukrainian or Russian by the words that
  only one of them has: letters (і ї є ґ / ы э ъ ё), the most common function words ("що",
  "де", "чи" / "что", "где", "и"), and words only one of the two pymorphy3 dictionaries knows
  ("сталося", "було" / "произошло", "было"). The majority decides ("Что произошло в Київі?" is
  Russian); with no majority, lingua with the letters as a strong prior and the hint.
* Latin -> English unless lingua is confident of another language, measured in a way that
  names cannot fake (see `_decide_latin`).
* Nothing to read (empty, emoji, digits, punctuation) -> the hint (Telegram's language_code
  reduced to two letters) or "en".
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Collection, Sequence

from lingua import IsoCode639_1, Language, LanguageDetectorBuilder
from lingua import LanguageDetector as LinguaDetector

from retrieval import morphology
from store.embedding.memory import release_freed_memory
from store.korean import is_hangul

DEFAULT_LANGUAGES: tuple[str, ...] = ("en", "ko", "uk", "ru", "de", "fr", "es", "pl", "ja", "zh")

# Calibrated on English questions full of ISW place names and on short German, French, Spanish
# and Polish questions: lingua scores "Avdiivka coke plant" 0.82 French and "Izium
# counteroffensive" 0.68 German, while real foreign questions of three or more words score
# above 0.8 on the whole text or above 0.7 once names are taken out.
_LATIN_FULL_CONFIDENCE = 0.8
_LATIN_CONTENT_CONFIDENCE = 0.7
# With a matching hint less evidence is needed ("Où en est la contre-offensive ?" is 0.55 fr).
_LATIN_HINTED_CONFIDENCE = 0.4
# Ukrainian and Russian share most words; a letter only one of them uses outweighs lingua
# unless lingua is this sure of the other (a Russian sentence naming "Київ").
_CYRILLIC_OVERRIDE_CONFIDENCE = 0.8
# Below this margin between uk and ru the text (often a bare place name) is ambiguous.
_CYRILLIC_TIE_MARGIN = 0.4

# The script each configured language is written in, to know whose models a decision needs.
_CYRILLIC_LANGUAGES = frozenset({"uk", "ru", "be", "bg", "mk", "sr", "kk", "mn"})
_HAN_LANGUAGES = frozenset({"ja", "zh"})

_UK_ONLY = frozenset("іїєґІЇЄҐ")
_RU_ONLY = frozenset("ыэъёЫЭЪЁ")
# Frequent words written the same way in both scripts that are common in one language only
# (both dictionaries list them, the other as a rare or dialect word).
_UK_WORDS = frozenset("де чи та як коли з із зі й є але або зараз".split())
_RU_WORDS = frozenset("и с со ли где как когда это был была было были но или сейчас".split())

# "/topic", "/topic@reportbot": Telegram bot commands are not part of the question.
_COMMAND = re.compile(r"^\s*/[A-Za-z0-9_]+(?:@[A-Za-z0-9_]+)?")
_TOKEN = re.compile(r"\S+")
_EDGE_PUNCT = "?!.,:;()[]{}\"'«»„“”‘’¿¡…-–—"


def _script_of_language(code: str) -> str | None:
    if code in _CYRILLIC_LANGUAGES:
        return "cyrillic"
    if code in _HAN_LANGUAGES:
        return "han"
    return None if code == "ko" else "latin"  # Hangul settles Korean without lingua


def _script(ch: str) -> str | None:
    """The writing system of one letter, for the handful of scripts that matter here."""
    cp = ord(ch)
    if is_hangul(ch):
        return "hangul"
    if 0x3040 <= cp <= 0x30FF or 0x31F0 <= cp <= 0x31FF or 0xFF66 <= cp <= 0xFF9F:
        return "kana"
    if 0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0xF900 <= cp <= 0xFAFF:
        return "han"
    if 0x20000 <= cp <= 0x3FFFF:
        return "han"
    if 0x0400 <= cp <= 0x052F or 0x1C80 <= cp <= 0x1C8F or 0xA640 <= cp <= 0xA69F:
        return "cyrillic"
    if unicodedata.name(ch, "").startswith("LATIN"):
        return "latin"
    return None


def _script_counts(text: str) -> dict[str, int]:
    """How many letters of each script the text has (scripts `_script` knows only)."""
    counts: dict[str, int] = {}
    for ch in text:
        if ch.isalpha():
            script = _script(ch)
            if script:
                counts[script] = counts.get(script, 0) + 1
    return counts


def guess_by_script(text: str, hint: str | None, languages: Collection[str]) -> str:
    """The language of a few words by their script alone, among `languages` (the bot's labels:
    errors, usage, help). No model and no dictionary, so a label never waits for lingua or
    pymorphy3; `LanguageDetector.detect` starts from the same script counts and goes further.

    Hangul -> ko; Cyrillic -> uk with a letter only Ukrainian has, else the hint when it is uk
    or ru, else ru; Latin -> en; nothing to read -> the hint when it is one of `languages`,
    else en. `hint` is a language code as the caller reduced it ("ko", not "ko-KR")."""
    counts = _script_counts(text)
    if counts.get("hangul"):
        return "ko"
    if counts.get("cyrillic"):
        if any(ch in _UK_ONLY for ch in text):
            return "uk"
        return hint if hint in ("uk", "ru") else "ru"
    if counts.get("latin"):
        return "en"
    return hint if hint in languages else "en"


def _script_of_word(word: str) -> str | None:
    """The script of a word's first scripted letter."""
    for ch in word:
        if ch.isalpha():
            script = _script(ch)
            if script:
                return script
    return None


def _words(text: str) -> list[str]:
    """Whitespace tokens with their surrounding punctuation removed, keeping only those with a letter."""
    out = []
    for token in _TOKEN.findall(text):
        word = token.strip(_EDGE_PUNCT)
        if any(ch.isalpha() for ch in word):
            out.append(word)
    return out


def _is_designation(word: str) -> bool:
    """Acronyms and designations (HIMARS, VDV, Il-76, Su-34): they belong to no language."""
    if any(ch.isdigit() for ch in word):
        return True
    letters = [ch for ch in word if ch.isalpha()]
    return len(letters) >= 2 and all(ch.isupper() for ch in letters)


def _word_vote(word: str) -> str | None:
    """uk or ru when one Cyrillic word is written the way only one of them writes."""
    letters = set(word)
    if letters & _UK_ONLY:
        return None if letters & _RU_ONLY else "uk"
    if letters & _RU_ONLY:
        return "ru"
    low = word.lower()
    if low in _UK_WORDS:
        return "uk"
    if low in _RU_WORDS:
        return "ru"
    known = [lang for lang in morphology.LANGUAGES if morphology.known(low, lang)]
    return known[0] if len(known) == 1 else None


def normalize_hint(hint: str | None) -> str | None:
    """Telegram's language_code ("en-US", "pt-br", "zh-hans") reduced to ISO 639-1, or None."""
    if not hint:
        return None
    code = hint.strip().lower()[:2]
    return code if len(code) == 2 and code.isascii() and code.isalpha() else None


class LanguageDetector:
    """Detects the language of a user's question.

    Build one and reuse it. lingua's models load on the first question in each script that
    needs them (about 1 s for the Latin languages): they take 25-70 MB a language, and a bot
    whose users write Korean and English never needs the Cyrillic or Han ones. A call then
    takes well under a millisecond.
    """

    def __init__(self, languages: Sequence[str] = DEFAULT_LANGUAGES) -> None:
        codes = []
        for code in languages:
            try:
                iso = IsoCode639_1.from_str(code.lower())
            except ValueError as exc:
                raise ValueError(f"unknown ISO 639-1 language code: {code!r}") from exc
            codes.append(iso)
        if len(codes) < 2:
            raise ValueError("lingua needs at least two languages to choose from")
        self.languages: tuple[str, ...] = tuple(c.lower() for c in languages)
        self._codes = codes
        self._lock = threading.Lock()
        self._detectors: dict[str, LinguaDetector | None] = {}
        self._quick: LinguaDetector | None = None  # see _surely_english

    def detect(self, text: str, hint: str | None = None) -> str:
        """The ISO 639-1 code of the question's language; `hint` decides when the text cannot."""
        hint = normalize_hint(hint)
        fallback = hint or "en"
        text = _COMMAND.sub("", text or "", count=1)

        counts = _script_counts(text)
        if not counts:
            return fallback
        if counts.get("hangul"):
            return "ko"
        if counts.get("kana"):
            return "ja"

        words = _words(text)
        latin_words = sum(1 for w in words if _script_of_word(w) == "latin")
        cyrillic_words = sum(1 for w in words if _script_of_word(w) == "cyrillic")
        han_words = sum(1 for w in words if _script_of_word(w) == "han")
        if cyrillic_words and cyrillic_words >= latin_words:
            return self._decide_cyrillic(words, hint)
        if han_words and han_words >= latin_words:
            return self._decide_han(words, hint)
        if counts.get("latin"):
            return self._decide_latin(text, words, hint)
        return fallback

    # -- per script -------------------------------------------------------------------------

    def _lingua(self, script: str) -> LinguaDetector | None:
        """lingua over the configured languages written in `script`, built on first use; None
        when fewer than two are (nothing to choose between)."""
        with self._lock:
            if script not in self._detectors:
                wanted = [c for c in self._codes if _script_of_language(c.name.lower()) == script]
                self._detectors[script] = (
                    LanguageDetectorBuilder.from_languages(
                        *(Language.from_iso_code_639_1(c) for c in wanted)
                    )
                    .with_preloaded_language_models()
                    .build()
                    if len(wanted) >= 2
                    else None
                )
                release_freed_memory()  # loading leaves ~80 MB of freed pages behind
            return self._detectors[script]

    def _confidences(self, text: str, script: str) -> dict[str, float]:
        detector = self._lingua(script)
        if detector is None:
            only = [c for c in self.languages if _script_of_language(c) == script]
            return {only[0]: 1.0} if only else {}
        values = detector.compute_language_confidence_values(text)
        return {v.language.iso_code_639_1.name.lower(): v.value for v in values}

    def _top(self, text: str) -> tuple[str, float]:
        confidences = self._confidences(text, "latin")
        if not confidences:
            return "en", 0.0
        return max(confidences.items(), key=lambda pair: pair[1])

    def _surely_english(self, text: str) -> bool:
        """lingua's trigram-only mode (0.15 s to load, against 1.7-4 s for the full models)
        gives English >= 0.95: the full rules below would say English too. Checked on the
        1,822 Latin-script questions and texts of the tests and eval sets (no disagreement)
        and 40 German, French, Spanish and Polish questions about the war (none reached it),
        so an English question never waits for the full models."""
        with self._lock:
            if self._quick is None:
                latin = [c for c in self._codes if _script_of_language(c.name.lower()) == "latin"]
                if len(latin) < 2 or IsoCode639_1.EN not in latin:
                    return False
                self._quick = (
                    LanguageDetectorBuilder.from_languages(
                        *(Language.from_iso_code_639_1(c) for c in latin)
                    )
                    .with_low_accuracy_mode()
                    .build()
                )
            quick = self._quick
        values = quick.compute_language_confidence_values(text)
        return bool(values) and values[0].language == Language.ENGLISH and values[0].value >= 0.95

    def _decide_cyrillic(self, words: list[str], hint: str | None) -> str:
        # Only the Cyrillic words: a Latin acronym ("Что с HIMARS") would drag lingua elsewhere.
        cyrillic = [w for w in words if _script_of_word(w) == "cyrillic"]
        if "uk" in self.languages and "ru" in self.languages:
            votes = [_word_vote(w) for w in cyrillic]
            uk_votes, ru_votes = votes.count("uk"), votes.count("ru")
            if uk_votes != ru_votes:
                return "uk" if uk_votes > ru_votes else "ru"
        conf = self._confidences(" ".join(cyrillic), "cyrillic")
        uk, ru = conf.get("uk", 0.0), conf.get("ru", 0.0)
        letters = set("".join(cyrillic))
        has_uk, has_ru = bool(letters & _UK_ONLY), bool(letters & _RU_ONLY)
        if has_uk and not has_ru and ru < _CYRILLIC_OVERRIDE_CONFIDENCE:
            return "uk"
        if has_ru and not has_uk and uk < _CYRILLIC_OVERRIDE_CONFIDENCE:
            return "ru"
        if abs(uk - ru) < _CYRILLIC_TIE_MARGIN and hint in ("uk", "ru"):
            return hint
        if uk == ru == 0.0:
            return hint or "en"
        return "uk" if uk >= ru else "ru"

    def _decide_han(self, words: list[str], hint: str | None) -> str:
        # Kana was handled before; Han alone is written by both, so the user's client language
        # is the better guide when it names one of them.
        if hint in ("ja", "zh"):
            return hint
        han = " ".join(w for w in words if _script_of_word(w) == "han")
        conf = self._confidences(han, "han")
        ja, zh = conf.get("ja", 0.0), conf.get("zh", 0.0)
        if ja == zh == 0.0:
            return hint or "en"
        return "ja" if ja > zh else "zh"

    def _decide_latin(self, text: str, words: list[str], hint: str | None) -> str:
        """English unless lingua is confident of another language in a way names cannot fake.

        Place names are the trap: lingua reads "Avdiivka" as 0.99 French and "Krynky" as 0.99
        Polish. Therefore:
        * texts of one or two real words (designations such as "Il-76" do not count) are English
          unless they carry non-ASCII letters (é, ü, ł, ñ ...), which English never needs;
        * otherwise another language wins when lingua gives it >= 0.8 on the whole text, or
          >= 0.7 on the text without likely names (capitalised words after the first, acronyms);
        * and it is vetoed when the lower-case words alone (no names at all) read as English
          ("Avdiivka coke plant" -> "coke plant").
        A hint naming the candidate language lowers the bar to 0.4.
        """
        plain = [w for w in words if not _is_designation(w)]
        non_ascii = any(ch.isalpha() and not ch.isascii() for ch in text)
        if len(plain) <= 2 and not non_ascii:
            return "en"
        if hint in (None, "en") and self._surely_english(text):
            return "en"
        full_lang, full_conf = self._top(text)
        content = [w for i, w in enumerate(plain) if i == 0 or not w[0].isupper()]
        content_lang, content_conf = self._top(" ".join(content)) if content else ("en", 0.0)

        candidate = None
        if hint and hint != "en" and hint in (full_lang, content_lang):
            conf = full_conf if hint == full_lang else content_conf
            if conf >= _LATIN_HINTED_CONFIDENCE:
                candidate = hint
        if candidate is None and full_lang != "en" and full_conf >= _LATIN_FULL_CONFIDENCE:
            candidate = full_lang
        elif (
            candidate is None
            and content_lang != "en"
            and content_lang == full_lang
            and content_conf >= _LATIN_CONTENT_CONFIDENCE
        ):
            candidate = content_lang
        if candidate is None:
            return "en"
        lower = [w for w in plain if not w[0].isupper()]
        if lower and self._top(" ".join(lower))[0] == "en":
            return "en"
        return candidate
