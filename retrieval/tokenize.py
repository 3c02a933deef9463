"""One analyser for the mixed Korean / English / Cyrillic text of questions and reports.

The same `Tokenizer` is used for indexing passages and for queries, so whatever it does to a
word happens on both sides. The rules, in short:

* Hangul goes through Kiwi. Content morphemes are kept (nouns NNG/NNP, bound nouns of two or
  more syllables such as 달러, numerals NR, verb/adjective stems VV/VA, roots XR); particles,
  endings, suffixes and prefixes are dropped. Because Kiwi splits the same word differently in
  different contexts ("러시아군" vs "러시아" + "군") and sometimes leaves a particle glued to an
  unknown transliterated name ("도네츠크주의"), every noun run also yields its joined form and
  the form without a glued particle or an administrative/military suffix (주, 시, 군, 구, 강,
  해, 측, 궁): "벨고로드주에서" gives "벨고로드주" and "벨고로드".
* Latin-script words are lower-cased and Snowball-stemmed (English) after a small stopword
  list. Cyrillic words become their lemmas (retrieval.morphology, pymorphy3): "Авдіївки",
  "Авдіївці" -> "авдіївка", "мостом" -> "мост". A word with letters only Ukrainian has
  (і ї є ґ) is read as Ukrainian, one with letters only Russian has (ы э ъ ё) as Russian; any
  other in the language of its text (the same evidence counted over the text's words, plus
  words only one dictionary knows: "що", "заявил"); when the text does not tell, it yields
  the lemma of each language (one term when they agree).
* Identifiers are kept whole and in parts: "Il-76" -> il-76, il76, il, 76; "234th" -> 234th,
  234; "$1.7" -> 1.7; "1,000" -> 1000; "U.S." and the all-caps "US" -> u.s.
* Curly quotes, odd hyphens and full-width forms are normalised; "Putin’s" -> putin.

Only Hangul-bearing texts are sent to Kiwi; Latin, digits and Cyrillic are handled by one
regular expression over the original text, so Kiwi never splits "Il-76". `tokens_batch` sends
many texts to Kiwi in one multithreaded call: use it for indexing.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Iterable, Sequence

import Stemmer
from kiwipiepy import Kiwi

from retrieval import morphology
from store.korean import HANGUL_SYLLABLE, NAME_SUFFIXES, PARTICLES

# Bump when the token stream changes: saved lexical indexes record it and refuse to load
# tokens made by another version.
TOKENIZER_VERSION = 3

# Hangul texts up to this long are remembered (names and questions; not passages).
_MEMO_MAX_CHARS = 80
_MEMO_MAX_ENTRIES = 100_000  # a bot's many questions must not grow it without end

# A "word" outside Hangul: Latin (incl. Latin-1/Extended-A/B letters), digits and Cyrillic,
# optionally joined by - . , ' / _ when a letter or digit follows on both sides.
_ALNUM = r"0-9A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u0400-\u04ff"
_WORD = re.compile(rf"[{_ALNUM}]+(?:[-.,'_/][{_ALNUM}]+)*")
_JOINER = re.compile(r"([-.,'_/])")
_DIGITS = re.compile(r"\d+")
_LEADING_DIGITS = re.compile(r"^(\d+)[^\d]")
_THOUSANDS = re.compile(r"^\d{1,3}(?:,\d{3})+(?:\.\d+)?$")
_DECIMAL = re.compile(r"^\d+(?:\.\d+)+$")
_INITIALS = re.compile(r"^(?:[a-z]\.)+[a-z]$")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_UKRAINIAN_ONLY = re.compile(r"[іїєґІЇЄҐ]")
_RUSSIAN_ONLY = re.compile(r"[ыэъёЫЭЪЁ]")
_LATIN_LETTER = re.compile(r"[A-Za-z\u00c0-\u024f]")

_TRANSLATE = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u02bc": "'",
        "\u2032": "'",
        "\u0060": "'",
        "\u00b4": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u2010": "-",
        "\u2011": "-",
        "\u2212": "-",
        "\u00ad": None,  # soft hyphen
        "\u200b": None,  # zero-width space
        "\u200c": None,
        "\u200d": None,
        "\ufeff": None,
        "\u00a0": " ",
    }
)

_EN_STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers herself him himself his how i if in into is it
    its itself just me more most my myself no nor not of off on once only or other our ours
    ourselves out over own same she should so some such than that the their theirs them
    themselves then there these they this those through to too under until up very was we were
    what when where which while who whom why with would you your yours yourself yourselves s t
    also its however whether amid via within without""".split()
)
# Cyrillic function words (Russian and Ukrainian) that would otherwise match everything; a
# word is dropped when it or its lemma is one ("якого" -> "який").
_CYR_STOPWORDS = frozenset(
    """и в во на с со к ко о об от по за из у не что как а но же бы ли то это
    і й та в у на з із зі до від по за що як а але не це
    где когда кто почему зачем какой каков который чей сколько или ни да нет был быть есть
    этот тот такой там тут здесь для при про под над между через около после перед без же ведь
    мы вы он она они оно я ты его её их свой весь сам уже ещё еще только также тоже так
    де коли хто чому навіщо який котрий чий скільки або чи ні так був бути є цей той такий
    там тут для при про під над між через біля після перед без адже ми ви він вона вони воно
    я ти його її їх свій весь сам вже ще лише тільки також теж""".split()
)

# Kiwi tags kept as tokens (irregular-conjugation variants such as VV-I are matched on the
# part before the dash). NNB (bound nouns) are kept only from two syllables up (달러, 이상).
_KEEP_TAGS = frozenset({"NNG", "NNP", "NR", "VV", "VA", "XR", "SH"})
_NOUN_TAGS = frozenset({"NNG", "NNP", "NNB", "NR", "XR", "SH"})


def _normalise(text: str) -> str:
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text.translate(_TRANSLATE))
    return text


class Tokenizer:
    """Text -> list of index terms, identical for passages and queries.

    Kiwi's model (about 2.5 s) loads on the first Hangul text; build one tokenizer and share
    it. `tokens` and `tokens_batch` are safe to call from several threads.
    """

    version: int = TOKENIZER_VERSION

    def __init__(self) -> None:
        self._kiwi_lock = threading.Lock()
        self._kiwi_model: Kiwi | None = None
        # Kiwi's terms of short Hangul texts already analysed (names, glossary terms, questions),
        # saved with the read index so that a question whose expansions carry Korean names
        # does not load Kiwi just for them.
        self._memo: dict[str, list[tuple[int, str]]] = {}
        self._en = Stemmer.Stemmer("english")
        # PyStemmer objects are not thread-safe; the cache makes the lock rarely taken.
        self._stem_lock = threading.Lock()
        self._stem_cache: dict[tuple[str, str | None], list[str]] = {}

    @property
    def _kiwi(self) -> Kiwi:
        """Kiwi, loaded on the first Hangul text (~2.5 s and ~200 MB): an English question
        answered from saved indexes (retrieval.snapshot) never needs it."""
        with self._kiwi_lock:
            if self._kiwi_model is None:
                # num_workers=-1: Kiwi uses every core for batched (iterable) input. Its typo
                # and multi-word dictionaries are for correcting and joining user text; we only
                # need the morphemes, and they cost 190 MB of memory and a second of start-up.
                kiwi = Kiwi(num_workers=-1, load_typo_dict=False, load_multi_dict=False)
                # Kiwi loads part of its model on the first call (~1.4 s); pay it here.
                kiwi.tokenize("러시아군이 진격했다.")
                self._kiwi_model = kiwi
            return self._kiwi_model

    def warm_up(self) -> None:
        """Load Kiwi now (a long-running bot, before its first Korean question)."""
        _ = self._kiwi

    # ----------------------------------------------------------------- public API

    def tokens(self, text: str) -> list[str]:
        """Index terms of one text, in text order (duplicates kept: they are term counts)."""
        return self.tokens_batch([text])[0]

    def tokens_batch(self, texts: Sequence[str]) -> list[list[str]]:
        """`tokens` for many texts, with one multithreaded Kiwi call for all Hangul texts."""
        normalised = [_normalise(t) if isinstance(t, str) else "" for t in texts]
        hangul_at = [i for i, t in enumerate(normalised) if HANGUL_SYLLABLE.search(t)]
        korean: dict[int, list[tuple[int, str]]] = {}
        for i in hangul_at:
            known = self._memo.get(normalised[i])
            if known is not None:
                korean[i] = list(known)
        todo = [i for i in hangul_at if i not in korean]
        if todo:
            analysed = self._kiwi.tokenize([normalised[i] for i in todo])
            for i, morphs in zip(todo, analysed, strict=True):
                korean[i] = self._korean_terms(morphs)
                if len(normalised[i]) <= _MEMO_MAX_CHARS and len(self._memo) < _MEMO_MAX_ENTRIES:
                    self._memo[normalised[i]] = korean[i]
        out: list[list[str]] = []
        for i, text in enumerate(normalised):
            terms = self._other_terms(text)
            if i in korean:
                terms.extend(korean[i])
                terms.sort(key=lambda pair: pair[0])  # stable: keeps whole-before-parts
            out.append([term for _, term in terms])
        return out

    def remembered(self) -> dict[str, list[tuple[int, str]]]:
        """The short Hangul texts analysed so far and their Kiwi terms (see `remember`)."""
        return dict(self._memo)

    def remember(self, memo: dict[str, list[tuple[int, str]]]) -> None:
        """Take analyses saved by `remembered` (made by the same tokenizer code and Kiwi)."""
        self._memo.update(
            {text: [(int(p), str(t)) for p, t in terms] for text, terms in memo.items()}
        )

    def unique_tokens(self, texts: Iterable[str]) -> list[str]:
        """Distinct terms of several texts (e.g. a query and its translations), first-seen order."""
        seen: dict[str, None] = {}
        for terms in self.tokens_batch(list(texts)):
            seen.update(dict.fromkeys(terms))
        return list(seen)

    # ------------------------------------------------------------------- Hangul

    def _korean_terms(self, morphs: Sequence) -> list[tuple[int, str]]:
        """Content morphemes of Hangul words, plus joined noun runs and their stripped forms."""
        terms: list[tuple[int, str]] = []
        run: list = []  # consecutive noun morphemes inside one eojeol

        def flush() -> None:
            if not run:
                return
            start = run[0].start
            if len(run) > 1:
                own = {m.form for m in run}
                joined = "".join(m.form for m in run)
                terms.extend((start, v) for v in _variants(joined) if v not in own)
            elif run[0].tag.startswith("NNB") and len(run[0].form) < 2:
                pass  # a lone 월, 일, 군 (NNB): dropped
            else:  # the noun itself is already in `terms`
                terms.extend((start, v) for v in _variants(run[0].form)[1:])
            run.clear()

        for m in morphs:
            form: str = m.form
            if not HANGUL_SYLLABLE.search(form):
                # Latin, digits, Cyrillic, punctuation: handled by the regex over the text.
                flush()
                continue
            tag = m.tag.split("-", 1)[0]
            keep = tag in _KEEP_TAGS or (tag == "NNB" and len(form) >= 2)
            if keep:
                terms.append((m.start, form))
            if tag in _NOUN_TAGS:  # one-syllable NNB too: 우크라이나 + 군 -> 우크라이나군
                if run and (
                    run[-1].word_position != m.word_position
                    or run[-1].start + run[-1].len != m.start
                ):
                    flush()
                run.append(m)
            else:
                flush()
        flush()
        return terms

    # ------------------------------------------------------ Latin, digits, Cyrillic

    def _other_terms(self, text: str) -> list[tuple[int, str]]:
        terms: list[tuple[int, str]] = []
        cyrillic = _cyrillic_language(text) if _CYRILLIC.search(text) else None
        for match in _WORD.finditer(text):
            start = match.start()
            for term in self._word_terms(match.group(), cyrillic):
                terms.append((start, term))
        return terms

    def _word_terms(self, word: str, cyrillic: str | None = None) -> list[str]:
        if word == "US":
            return ["u.s"]
        low = word.lower()
        if "'" in low:
            # Possessives and transliteration apostrophes: Putin's -> putin, Mar'inka -> marinka.
            if low.endswith("'s"):
                low = low[:-2]
            elif low.endswith("s'"):
                low = low[:-1]
            low = low.replace("'", "")
            if not low:
                return []
        if not _JOINER.search(low):
            return self._simple(low, cyrillic)
        if _THOUSANDS.match(low):
            return [low.replace(",", "")]
        if _DECIMAL.match(low):
            return [low]
        if _INITIALS.match(low):  # u.s, u.k, e.u
            return [low]
        parts = [p for p in re.split(r"[-.,_/]", low) if p]
        out: list[str] = []
        if "," not in low:  # a comma joins list items ("1,2"), never one identifier
            out.append(low)
            if any(c.isdigit() for c in low):
                out.append("".join(parts))  # il-76 -> il76, so "Il76" finds "Il-76"
        for part in parts:
            out.extend(self._simple(part, cyrillic))
        return out

    def _simple(self, word: str, cyrillic: str | None = None) -> list[str]:
        """One run of letters/digits (lower-cased, no joiners)."""
        if word.isdigit():
            return [word]
        if any(c.isdigit() for c in word):
            lead = _LEADING_DIGITS.match(word)
            if lead:  # 234th -> 234th, 234; 1990s -> 1990s, 1990
                return [word, lead.group(1)]
            return [word]
        if word in _EN_STOPWORDS or word in _CYR_STOPWORDS:
            return []
        return self._stem(word, cyrillic)

    def _stem(self, word: str, cyrillic: str | None = None) -> list[str]:
        key = (word, cyrillic)
        cached = self._stem_cache.get(key)
        if cached is not None:
            return cached
        if _CYRILLIC.search(word):
            stems = _cyrillic_lemmas(word, cyrillic)
        else:
            with self._stem_lock:
                stems = [self._en.stemWord(word)] if _LATIN_LETTER.search(word) else [word]
        if len(self._stem_cache) < 500_000:
            self._stem_cache[key] = stems
        return stems


def _word_language(word: str) -> str | None:
    """uk or ru when a Cyrillic word says which by its letters, else None."""
    if _UKRAINIAN_ONLY.search(word):
        return None if _RUSSIAN_ONLY.search(word) else "uk"
    return "ru" if _RUSSIAN_ONLY.search(word) else None


def _cyrillic_language(text: str) -> str | None:
    """uk or ru when the text's Cyrillic words say which (letters, then words only one
    dictionary knows), by majority; None on a tie."""
    votes = {"uk": 0, "ru": 0}
    for match in _WORD.finditer(text):
        word = match.group().lower()
        if not _CYRILLIC.search(word):
            continue
        lang = _word_language(word)
        if lang is None:
            known = [code for code in morphology.LANGUAGES if morphology.known(word, code)]
            lang = known[0] if len(known) == 1 else None
        if lang is not None:
            votes[lang] += 1
    if votes["uk"] == votes["ru"]:
        return None
    return "uk" if votes["uk"] > votes["ru"] else "ru"


def _cyrillic_lemmas(word: str, text_language: str | None) -> list[str]:
    """The lemma(s) of a lower-case Cyrillic word: Ukrainian or Russian by its letters, else in
    the text's language, else by which dictionary knows it, else both; [] for a function
    word."""
    lang = _word_language(word) or text_language
    if lang is not None:
        langs: tuple[str, ...] = (lang,)
    else:
        known = tuple(code for code in morphology.LANGUAGES if morphology.known(word, code))
        langs = known if len(known) == 1 else morphology.LANGUAGES
    out = [morphology.lemma(word, code) for code in langs]
    if any(lemma in _CYR_STOPWORDS for lemma in out):
        return []
    return list(dict.fromkeys(out))


def _variants(noun: str) -> list[str]:
    """The noun itself plus forms without a glued particle and/or a name suffix."""
    out = [noun]
    base = noun
    if len(noun) >= 4:
        for particle in PARTICLES:
            if noun.endswith(particle) and len(noun) - len(particle) >= 3:
                base = noun[: -len(particle)]
                out.append(base)
                break
    if len(base) >= 3 and base.endswith(NAME_SUFFIXES):
        out.append(base[:-1])
    return out
