"""Is this text an ISW assessment at all? READMEs, diaries, notes, question lists and news pages
that merely mention the war must be refused, not stored as a report dated by whatever date they
happen to contain.

A text qualifies by any one of: the series name in its title or header, a labeled Key Takeaways
section, or the report's own structure (its recurring section headings and set phrases, at
least two distinct ones). An ISW attribution alone does not qualify: news pages cite ISW.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from store.models import ParseError
from store.parsers import text as tx

# Phrases and headings that recur in the assessments and hardly anywhere else.
_STRUCTURE = [
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        r"we do not report in detail on",
        r"\bmain effort\b",
        r"\bsupporting effort\b",
        r"ukrainian counter-?offensives?\s*[—–-]",
        r"mobilization and force generation efforts",
        r"activities in (?:russian-)?occupied areas",
        r"russian objective\s*:",
        r"\border of battle\s*:",
        r"\bISW (?:assesses|has (?:observed|assessed|reported)|continues to assess)\b",
        r"click\W+here\W+to (?:see|read|access) ISW",
        r"isw['’]?s interactive map",
        r"\bcampaign assessment\b",
        r"note: isw does not receive any classified material",
    )
]
# Lines that only source code has: definitions, imports, a shebang, statements ending in ";"
# or "{", lone closing braces.
_CODE_LINE = re.compile(
    r"^\s*(?:(?:async\s+)?def\s+\w+\(|class\s+\w+[(:]|import\s+[\w.]+|from\s+[\w.]+\s+import\b"
    r"|#!/|#include\b|(?:const|let|var|function|public|private|return)\b|[})\]];?\s*$|@\w+)"
    r"|[;{]\s*$"
)
_CODE_SHARE = 0.2
_KOREAN_SERIES = re.compile(r"\[ISW\]|러시아\s*공세\s*(?:캠페인)?\s*평가|전쟁\s*연구소")


def structure_marks(text: str) -> int:
    """How many distinct ISW structure phrases the text holds."""
    return sum(bool(pattern.search(text)) for pattern in _STRUCTURE)


def require_assessment(titles: Iterable[str], labeled_takeaways: bool, text: str) -> None:
    """Raise ParseError naming what was missing unless the text shows an assessment's signals."""
    if looks_like_code(text):
        raise ParseError("not an ISW assessment: this is source code")
    if any(tx.TITLE_LIKE.search(t) or _KOREAN_SERIES.search(t) for t in titles):
        return
    if labeled_takeaways or structure_marks(text) >= 2:
        return
    raise ParseError(
        "not an ISW assessment: no series title (…Campaign Assessment), no Key Takeaways "
        "section and no ISW report structure (section headings such as 'Main Effort')"
    )


def looks_like_code(text: str) -> bool:
    """Is a fair share of the lines code (a script that quotes report phrases is still code)?"""
    lines = [line for line in text.splitlines()[:2000] if line.strip()]
    if len(lines) < 5:
        return False
    return sum(bool(_CODE_LINE.match(line)) for line in lines) >= _CODE_SHARE * len(lines)
