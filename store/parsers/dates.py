"""The date patterns of reports (English, Korean, ISO; titles, datelines, "Assessment, <date>")
and reading them into (month, day, year or None). Choosing a report's date from them is
`store.parsers.report_date`."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime

MONTHS = {
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
_MONTH = r"(?P<month>" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
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

# Ukrainian and Russian reposts date a report day first, the month in the genitive:
# "26 січня 2024", "26 января 2024 года".
CYRILLIC_MONTHS = {
    name: number
    for names in (
        "січня лютого березня квітня травня червня липня серпня вересня жовтня листопада грудня",
        "января февраля марта апреля мая июня июля августа сентября октября ноября декабря",
    )
    for number, name in enumerate(names.split(), start=1)
}
CYRILLIC_DATE = re.compile(
    r"(?<!\d)(?P<day>\d{1,2})\s+(?P<month>"
    + "|".join(CYRILLIC_MONTHS)
    + rf")(?:\s+{_YEAR}(?!\d))?",
    re.IGNORECASE,
)

# (month, day, year or None)
Partial = tuple[int, int, int | None]


def partial(match: re.Match[str]) -> Partial | None:
    month_text = match.group("month")
    if month_text.isdigit():
        month = int(month_text)
    else:
        month = MONTHS.get(month_text.lower()) or CYRILLIC_MONTHS[month_text.lower()]
    day = int(match.group("day"))
    year = int(match.group("year")) if match.group("year") else None
    try:
        date(year or 2000, month, day)  # 2000 is a leap year: Feb 29 stays possible
    except ValueError:
        return None
    return month, day, year


def first_partial(patterns: Iterable[re.Pattern[str]], text: str) -> Partial | None:
    for pattern in patterns:
        for match in pattern.finditer(text):
            found = partial(match)
            if found:
                return found
    return None


def any_full_date(text: str) -> date | None:
    """The first complete date written anywhere in `text` (used only as a year hint)."""
    dates = full_dates(text, limit=1)
    return dates[0] if dates else None


def full_dates(text: str, limit: int | None = None) -> list[date]:
    """The complete dates (with a year) written in `text`, ISO, Korean and English forms."""
    found: list[date] = []
    for pattern in (ISO_DATE, KO_DATE, EN_DATE, CYRILLIC_DATE):
        for match in pattern.finditer(text):
            got = partial(match)
            if got and got[2]:
                found.append(date(got[2], got[0], got[1]))
                if limit is not None and len(found) >= limit:
                    return found
    return found


def parse_iso(text: str) -> date | None:
    try:
        return datetime.fromisoformat(text.strip()[:10]).date()
    except ValueError:
        return None
