"""Splitting long paragraphs into passages small enough to embed well."""

from __future__ import annotations

import re

# A sentence ends at . ! ? or 。 (optionally followed by closing quotes/brackets) and whitespace,
# and the next sentence does not start with a lowercase letter ("approx. five" is one sentence).
_SENTENCE_BREAK = re.compile(r"(?<=[.!?。])([\"”’'\)\]]*)\s+(?=[^a-z\s])")

# Tokens whose final period is not a sentence end; ISW text is full of ranks and "U.S.".
_ABBREVIATIONS = {
    "u.s.",
    "u.k.",
    "mr.",
    "mrs.",
    "ms.",
    "dr.",
    "gen.",
    "lt.",
    "col.",
    "maj.",
    "capt.",
    "sgt.",
    "adm.",
    "gov.",
    "sen.",
    "rep.",
    "st.",
    "no.",
    "vs.",
    "e.g.",
    "i.e.",
    "approx.",
    "jan.",
    "feb.",
    "mar.",
    "apr.",
    "aug.",
    "sep.",
    "sept.",
    "oct.",
    "nov.",
    "dec.",
}
_INITIAL = re.compile(r"(?:^|\s)[A-Z]\.$")  # "Frederick W." in a name


def split_passage(text: str, max_chars: int = 1200) -> list[str]:
    """Split `text` into pieces of at most `max_chars`, breaking between sentences.

    Short text comes back as one piece; a single sentence longer than `max_chars` is cut at
    the last space before the limit. Empty text gives [].
    """
    text = text.strip()
    if not text:
        return []
    if len(text) <= max_chars:
        return [text]
    pieces: list[str] = []
    current = ""
    for sentence in _sentences(text):
        for part in _hard_split(sentence, max_chars):
            if current and len(current) + 1 + len(part) > max_chars:
                pieces.append(current)
                current = part
            else:
                current = f"{current} {part}" if current else part
    if current:
        pieces.append(current)
    return pieces


def _sentences(text: str) -> list[str]:
    sentences: list[str] = []
    start = 0
    for match in _SENTENCE_BREAK.finditer(text):
        candidate = text[start : match.end(1)]
        last_word = candidate.rsplit(None, 1)[-1].lower()
        if last_word in _ABBREVIATIONS or _INITIAL.search(candidate):
            continue  # not a real sentence end: keep extending this sentence
        sentences.append(candidate.strip())
        start = match.end()
    sentences.append(text[start:].strip())
    return [s for s in sentences if s]


def _hard_split(sentence: str, max_chars: int) -> list[str]:
    """A sentence longer than max_chars, cut at spaces (or anywhere, if it has none)."""
    parts: list[str] = []
    while len(sentence) > max_chars:
        cut = sentence.rfind(" ", 0, max_chars + 1)
        if cut <= 0:
            cut = max_chars
        parts.append(sentence[:cut].strip())
        sentence = sentence[cut:].strip()
    if sentence:
        parts.append(sentence)
    return parts
