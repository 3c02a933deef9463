"""Giving back line structure to report text that lost it.

Datasets store a report's body as one string with its paragraphs joined by commas
("…of the city.,Russian forces…", a blank paragraph as ",,"); pastes from news sites put a
"Key Takeaways from the ISW:" heading and its bullets on one line ("… ISW: - A. - B."), or run
a whole report together with spaces. The line-based parsers need one paragraph or item per line,
so these lines are split back, conservatively: a line is only cut where the signs of a join are
unmistakable, and ordinary report lines come through unchanged.

No library reverses such joins: they are artefacts of particular scrapers, hence by hand.
"""

from __future__ import annotations

import re

from store.parsers import text as tx
from store.parsers.dates import EN_DATE

# A paragraph join in a comma-flattened body: a sentence end, a comma, and the next paragraph
# straight after it ("city.,Russian"). Ordinary text always has a space after a comma.
_COMMA_JOIN = re.compile(r"[.!?…:;”\"’)\]],(?=[^\s,\d])")
_MIN_COMMA_JOINS = 3
# Split at every comma not followed by a space, except inside numbers ("16,000") and before a
# closing quote or bracket ("the “Wagner Line,” are").
_COMMA_SPLIT = re.compile(r",(?![ \t])(?!\d{3}(?!\d))(?![”’\"')\]])")

# A Key Takeaways heading inside a line, with text after it. Case-sensitive on purpose: "the key
# takeaways of the meeting" in running text is no heading.
_INLINE_HEADING = re.compile(
    r"(?:(?<=\s)|^)(?P<head>(?:ISW(?:'s|’s)?\s+)?(?:Key [Tt]akeaways?|KEY TAKEAWAYS?)"
    r"(?:\s+(?:from|of|by)\s+(?:the\s+)?(?:ISW|Institute for the Study of War)\b[^.:\n]{0,60})?"
    r"\s*[:.]?)(?=\s+\S)"
)
# A dateline run into the paragraph after it: "October 3, 9 pm ET, This map is updated…".
_DATELINE_RUN_ON = re.compile(
    rf"^(?P<dateline>{EN_DATE.pattern},?\s*\d{{1,2}}(?::\d{{2}})?\s*[ap]\.?m\.?\s*E[SD]?T)"
    r"[\s,]+(?=\S)",
    re.IGNORECASE,
)
# Bullets run together: a glyph anywhere, or "-", "–", "*" or "1." after a sentence end.
# Each pattern starts a match only where a run of spaces starts (a lookbehind), so a line of a
# million spaces is not rescanned from each of them.
_GLYPH_BULLET = re.compile(r"(?<!\s)\s+(?=[•●▪■◦‣►▶✓✔]\s*\S)")
_DASH_BULLET = re.compile(r"(?<=[.!?:;”\"’])\s+(?=[-–*]\s+\S)")
_NUMBER_BULLET = re.compile(r"(?<=[.!?:;”\"’])\s+(?=\d{1,2}[.)]\s+[A-Z“\"])")
# Sentence ends in running text (for takeaways run together with spaces).
_SENTENCE_END = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][”\"’)]))\s+(?=[A-Z“\"])")
# Where a run of takeaways ends in text that lost its breaks: the next fixed part of a report.
_TAKEAWAYS_END = re.compile(
    r"^(?:we do not report in detail|click\s*here|note: isw|russian main effort|main effort"
    r"|ukrainian counter-?offensives?|supporting effort|isw has updated|russian forces are engaged"
    r"|mobilization and force generation|activities in russian-occupied)",
    re.IGNORECASE,
)
_MAX_RUN_TAKEAWAYS = 15
# A line this long with a heading in it is a report run together, not one paragraph.
_LONG_LINE = 600


def unflatten(text: str) -> str:
    """`text` with flattened lines split back into paragraphs and items; other lines as they are."""
    out: list[str] = []
    for line in text.splitlines():
        out.extend(_split_line(line))
    return "\n".join(out)


def _split_line(line: str) -> list[str]:
    if len(_COMMA_JOIN.findall(line)) >= _MIN_COMMA_JOINS:
        parts = [part.strip() for part in _COMMA_SPLIT.split(line)]
        # An empty part was an empty paragraph: keep it as the blank line that ends a list.
        return [piece for part in parts for piece in (_split_line(part) if part else [""])]
    if run_on := _DATELINE_RUN_ON.match(line):
        return [run_on.group("dateline"), *_split_line(line[run_on.end() :])]
    heading = None if tx.is_key_takeaways(line) else _INLINE_HEADING.search(line)
    if heading is None:
        return _split_bullets(line)
    before = line[: heading.start()].strip()
    after = line[heading.end() :].strip()
    lines = [*_split_line(before)] if before else []
    lines.append(heading.group("head").strip())
    items = _split_bullets(after)
    if len(items) == 1 and len(after) > _LONG_LINE and not _is_item(after):
        items = _sentence_run(after)
    return lines + items


def _split_bullets(line: str) -> list[str]:
    pieces = [line]
    for pattern in (_GLYPH_BULLET, _DASH_BULLET, _NUMBER_BULLET):
        if len(pattern.findall(line)) >= 2 or (pattern.findall(line) and _is_item(line)):
            pieces = [p for piece in pieces for p in pattern.split(piece) if p.strip()]
    return [p.strip() for p in pieces] if len(pieces) > 1 else [line]


def _is_item(text: str) -> bool:
    return bool(re.match(r"\s*(?:[•●▪■◦‣►▶✓✔]|[-–*]\s|\d{1,2}[.)]\s)", text))


def _sentence_run(text: str) -> list[str]:
    """Takeaways run together with spaces: one sentence each, up to the report's next fixed
    part (or a limit); the rest stays one paragraph, after a blank line that ends the list."""
    sentences = _SENTENCE_END.split(text)
    end = 0
    while (
        end < len(sentences)
        and end < _MAX_RUN_TAKEAWAYS
        and not _TAKEAWAYS_END.match(sentences[end])
    ):
        end += 1
    rest = " ".join(sentences[end:])
    return sentences[:end] + (["", rest] if rest else [])
