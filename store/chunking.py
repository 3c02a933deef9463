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
_TAIL = 16  # longer than any abbreviation above


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
        # Only the sentence's last word decides, so look at its tail alone: slicing the whole
        # growing sentence at every "W." of a long run of initials is quadratic. A tail of
        # _TAIL characters holds any abbreviation or initial whole (cut words are longer).
        end = match.end(1)
        tail = text[max(start, end - _TAIL) : end]
        last_word = tail.rsplit(None, 1)[-1].lower()
        if last_word in _ABBREVIATIONS or _INITIAL.search(tail):
            continue  # not a real sentence end: keep extending this sentence
        sentences.append(text[start:end].strip())
        start = match.end()
    sentences.append(text[start:].strip())
    return [s for s in sentences if s]


def _hard_split(sentence: str, max_chars: int) -> list[str]:
    """A sentence longer than max_chars, cut at spaces (or anywhere, if it has none)."""
    parts: list[str] = []
    # Walks an index through the sentence: cutting the rest off again and again copies a
    # multi-megabyte sentence once per piece.
    sentence = sentence.strip()
    start, end = 0, len(sentence)
    while end - start > max_chars:
        cut = sentence.rfind(" ", start, start + max_chars + 1)
        if cut <= start:
            cut = start + max_chars
        parts.append(sentence[start:cut].strip())
        start = cut
        while start < end and sentence[start].isspace():
            start += 1
    if start < end:
        parts.append(sentence[start:])
    return parts
