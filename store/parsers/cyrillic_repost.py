"""Ukrainian and Russian reposts of a report: a news site's or channel's "Ключові висновки ISW"
("Основные выводы ISW") with the takeaways translated, and often a summary of the rest.

The text is ISW's report in another language, so it is stored in that language (takeaways and
passages tagged `uk` or `ru`), never as English. Its heading is the Cyrillic "Key Takeaways", its
date is written day first ("26 січня 2024", "26 января 2024 года").
"""

from __future__ import annotations

import re

from store.models import Report, SourceFormat, SourceHints
from store.parsers.blocks import assemble
from store.parsers.dates import any_full_date
from store.parsers.lines import join_lines
from store.parsers.report import body_evidence, make_report
from store.parsers.report_date import choose_report_date
from store.parsers.signals import require_assessment

_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_LATIN = re.compile(r"[A-Za-z]")
_UKRAINIAN = re.compile(r"[іїєґІЇЄҐ]")
_RUSSIAN = re.compile(r"[ыэъёЫЭЪЁ]")
# ISW named in the text: its name in either language, or its initials or site.
_ATTRIBUTION = re.compile(
    r"\bISW\b|understandingwar|інститут[ау]? вивчення війни|институт[ау]? изучения войны",
    re.IGNORECASE,
)
# "Ключові висновки", "Головні висновки", "Основні висновки ISW:", "Ключевые выводы", ...
_TAKEAWAYS_HEADING = re.compile(
    r"^[\s*#_]*(?:ключові|головні|основні|ключевые|главные|основные)\s+"
    r"(?:висновки|тези|выводы|тезисы)\b[^.!?\n]{0,60}[:.]?[\s*_]*$",
    re.IGNORECASE,
)
_MIN_CYRILLIC = 200


def looks_like_cyrillic_repost(text: str) -> bool:
    """Ukrainian or Russian prose that names ISW."""
    sample = text[:200_000]
    cyrillic = len(_CYRILLIC.findall(sample))
    return (
        cyrillic >= _MIN_CYRILLIC
        and cyrillic > 2 * len(_LATIN.findall(sample))
        and bool(_ATTRIBUTION.search(sample))
    )


def repost_language(text: str) -> str:
    """uk or ru, by the letters only one of them writes."""
    return "uk" if len(_UKRAINIAN.findall(text)) >= len(_RUSSIAN.findall(text)) else "ru"


def parse_cyrillic_repost(text: str, source: str, hints: SourceHints | None = None) -> Report:
    hints = hints or SourceHints()
    lang = repost_language(text)
    # The Cyrillic heading becomes the one the shared assembly knows.
    lines = [
        "Key Takeaways" if _TAKEAWAYS_HEADING.match(line) else line for line in text.splitlines()
    ]
    body = assemble(join_lines(lines), allow_unlabeled_takeaways=True)
    first_line = next((line.strip() for line in lines if line.strip()), "")
    titles = [t for t in (hints.title, first_line) if t]
    require_assessment(titles, body.labeled, text)
    evidence = body_evidence(
        body, hints, titles=titles, text="\n".join(lines), year_hints=[any_full_date(text)]
    )
    return make_report(
        title=first_line[:200],
        dated=choose_report_date(evidence),
        source=source,
        source_format=SourceFormat.CYRILLIC_REPOST,
        authors=hints.authors,
        takeaways=[{lang: t} for t in body.takeaways],
        sections=[(s, lang) for s in body.sections],
        urls=hints.urls,
    )
