"""Finding the date of the assessment: from its title, its dateline, or the report's own
"Assessment, <date>" / "Assessment as of <date>" wording; never from a posting or crawl date.
Those only supply the year when the report's own date has none ("…Assessment, February 26")."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime, timedelta

from store.models import ParseError

_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ],
        start=1,
    )
    for name in names
}
_MONTH = r"(?P<month>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_YEAR = r"(?P<year>(?:19|20)\d{2})"
EN_DATE = re.compile(
    rf"\b{_MONTH}\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+{_YEAR}\b)?", re.IGNORECASE
)
KO_DATE = re.compile(rf"{_YEAR}\s*년\s*(?P<month>\d{{1,2}})\s*월\s*(?P<day>\d{{1,2}})\s*일")
# In a title the year may be left out ("… 평가 (1월 26일)"); in body text a bare "1월 24일" is
# some other event, so there the year is required.
KO_TITLE_DATE = re.compile(
    rf"(?:{_YEAR}\s*년\s*)?(?P<month>\d{{1,2}})\s*월\s*(?P<day>\d{{1,2}})\s*일"
)
ISO_DATE = re.compile(rf"\b{_YEAR}[-./](?P<month>\d{{1,2}})[-./](?P<day>\d{{1,2}})\b")
# "…Campaign Assessment, December 17, 2025", "Assessment as of December 17: 8:20 pm ET".
# Possessive spaces: searched through whole documents, where "assessment" before a long run of
# spaces or blank lines must not be tried split by split (quadratic); a date starts with a
# letter, so no match needs the spaces split.
ASSESSMENT_DATE = re.compile(
    rf"assessment\s*+(?:[,:\-–—]\s*+)?(?:as\s++of\s++)?{EN_DATE.pattern}", re.IGNORECASE
)
# A dateline such as "March 1, 3:00 pm EST" or "February 26, 2022".
DATELINE = re.compile(
    rf"^{EN_DATE.pattern},?\s*(?:\d{{1,4}}(?::\d{{2}})?\s*(?:[ap]\.?m\.?)?\s*(?:E[SD]?T)?)?$",
    re.IGNORECASE,
)

# (month, day, year or None)
_Partial = tuple[int, int, int | None]


def _partial(match: re.Match[str]) -> _Partial | None:
    month_text = match.group("month")
    month = int(month_text) if month_text.isdigit() else _MONTHS[month_text.lower()]
    day = int(match.group("day"))
    year = int(match.group("year")) if match.group("year") else None
    try:
        date(year or 2000, month, day)  # 2000 is a leap year: Feb 29 stays possible
    except ValueError:
        return None
    return month, day, year


def _first(patterns: Iterable[re.Pattern[str]], text: str) -> _Partial | None:
    for pattern in patterns:
        for match in pattern.finditer(text):
            found = _partial(match)
            if found:
                return found
    return None


def any_full_date(text: str) -> date | None:
    """The first complete date written anywhere in `text` (used only as a year hint)."""
    for pattern in (ISO_DATE, KO_DATE, EN_DATE):
        for match in pattern.finditer(text):
            found = _partial(match)
            if found and found[2]:
                return date(found[2], found[0], found[1])
    return None


def parse_iso(text: str) -> date | None:
    try:
        return datetime.fromisoformat(text.strip()[:10]).date()
    except ValueError:
        return None


def find_report_date(
    titles: Iterable[str] = (),
    datelines: Iterable[str] = (),
    bodies: Iterable[str] = (),
    year_hints: Iterable[date | None] = (),
) -> date:
    """The report's date, searched in priority order: titles (any date in them), datelines,
    then "Assessment[,] [as of] <date>" in the body texts.

    A date without a year takes it from a later candidate with the same month and day, else from
    the first year hint (a byline, posting or crawl date): the latest such date not after the
    hint (+ a week of slack for time zones and late postings).
    """
    candidates: list[_Partial] = []
    for title in titles:
        found = _first((KO_TITLE_DATE, EN_DATE, ISO_DATE), title)
        if found:
            candidates.append(found)
    for line in datelines:
        found = _first((DATELINE,), line.strip())
        if found:
            candidates.append(found)
    for body in bodies:
        found = _first((ASSESSMENT_DATE, KO_DATE), body)
        if found:
            candidates.append(found)
    if not candidates:
        raise ParseError("no report date found")
    month, day, year = candidates[0]
    if year is None:
        year = next((c[2] for c in candidates if c[:2] == (month, day) and c[2]), None)
    if year is None:
        # Only years a date in the text could have: a placeholder such as 9999-12-31 in a
        # header is no hint (and would overflow the date arithmetic below).
        hint = next((h for h in year_hints if h and 1900 <= h.year <= 2099), None)
        if hint is None:
            raise ParseError(f"no report date found (only month {month} day {day}, no year)")
        year = hint.year
        if date(year, month, day) > hint + timedelta(days=7):
            year -= 1
    try:
        return date(year, month, day)
    except ValueError as exc:  # Feb 29 resolved to a non-leap year
        raise ParseError(f"no report date found (invalid date {year}-{month}-{day})") from exc
