"""Choosing a report's date from the evidence its file carries, most trusted first.

1. the assessment's own date: its title or heading ("…Assessment, July 11"), its dateline
   ("July 11, 7:10 pm ET"), or "Assessment[,] [as of] <date>" in its text;
2. a date line in a paste ("date 2024-01-20", "날짜: 2024년 1월 20일", a line that is only a date);
3. the latest day the topline or the takeaways mention ("on December 19 and 20");
4. a date in the file's name (`2024-01-23_takeaways.txt`);
5. a URL slug (`…-assessment-december-20-2025`);
6. a publication or crawl timestamp, taken in US Eastern time (ISW's own clock).

The body wins over names, URLs and stamps, which are often another day's (a crawl of the
December 20 page that holds the December 17 report). A date written without a year takes it
from the other evidence. Evidence that disagrees with the chosen date by more than a day is
reported as a warning, never silently dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from store.models import ParseError
from store.parsers.dates import (
    ASSESSMENT_DATE,
    CYRILLIC_DATE,
    DATELINE,
    EN_DATE,
    ISO_DATE,
    KO_DATE,
    KO_TITLE_DATE,
    MONTHS,
    Partial,
    first_partial,
    full_dates,
    partial,
)

# The first assessment of the series; nothing earlier can be one.
FIRST_ASSESSMENT = date(2022, 2, 24)
_EASTERN = ZoneInfo("America/New_York")

# "date 2024-01-20", "Date: January 20, 2024", "날짜: 2024년 1월 20일", or a line that is only a date.
_DATE_LABEL = re.compile(
    r"^\s*(?:(?:report\s+)?date[d]?|날짜|일자|작성일|보고서\s*날짜)\s*[:：=-]?\s*", re.IGNORECASE
)
# "December 19 and 20", "December 16 to 17", "March 5-6": the later day counts.
_EN_DAY_PAIR = re.compile(
    rf"\b{EN_DATE.pattern}\s*(?:-|–|—|and|to|through|into)\s*(?P<day2>\d{{1,2}})\b(?!\s*(?:km|kilomet|mile|%))",
    re.IGNORECASE,
)
# A date in a file name: 2024-01-23, 2024_01_23, 20240123.
_NAME_DATE = re.compile(r"(?<!\d)(20\d{2})[-_.]?(\d{2})[-_.]?(\d{2})(?!\d)")
# A URL slug: "…-december-20-2025", "…/2025/12/20/…".
_SLUG_DATE = re.compile(
    rf"(?P<month>{'|'.join(sorted(MONTHS, key=len, reverse=True))})-(?P<day>\d{{1,2}})-(?P<year>20\d{{2}})",
    re.IGNORECASE,
)
_PATH_DATE = re.compile(r"/(20\d{2})/(\d{1,2})/(\d{1,2})(?:/|$)")
# How a warning names each kind of evidence.
_SAYS = {
    "title": "title",
    "dateline": "dateline",
    "assessment": "report's 'Assessment, <date>' line",
    "date line": "date line",
    "mentioned": "latest day the takeaways mention",
    "file name": "file name",
    "url": "URL",
    "timestamp": "timestamp (US Eastern)",
}
# Where a date line may sit: the first lines of a paste.
_DATE_LINE_SCAN = 40


@dataclass
class DateEvidence:
    """What a file says about its date, gathered by its format's parser."""

    titles: list[str] = field(default_factory=list)
    datelines: list[str] = field(default_factory=list)
    # Texts searched for "Assessment, <date>" and Korean full dates (the report's own words).
    bodies: list[str] = field(default_factory=list)
    # Raw text whose first lines may hold a pasted date line.
    paste: str = ""
    # The topline and the takeaways: the latest day they mention.
    mentions: list[str] = field(default_factory=list)
    file_name: str = ""
    urls: list[str] = field(default_factory=list)
    timestamps: list[str] = field(default_factory=list)
    # Other full dates written in the file (a posting line, a byline): they only lend a year.
    year_hints: list[date | None] = field(default_factory=list)


@dataclass
class DateChoice:
    day: date
    source: str  # which evidence decided: see the module docstring
    warnings: list[str] = field(default_factory=list)


def choose_report_date(evidence: DateEvidence, today: date | None = None) -> DateChoice:
    """The report's date, how it was found, and what disagreed with it.

    Raises ParseError when no evidence gives a date, or the date cannot be an assessment's
    (before the first one, 2022-02-24, or after tomorrow)."""
    named = _outside_dates(evidence)  # (source, date) of the file name, URLs and stamps
    # Outside evidence first: on a tie it lends the year (see _with_year).
    hints = [d for _, d in named]
    hints += [h for h in evidence.year_hints if h and 1900 <= h.year <= 2099]
    # A year that would put the report outside the series lends nothing (a quoted "August 14,
    # 2021" in an August 14 report).
    latest = (today or date.today()) + timedelta(days=1)
    hints = [h for h in hints if FIRST_ASSESSMENT.year <= h.year <= latest.year]

    choice: DateChoice | None = None
    own = _own_candidates(evidence)
    if own:
        source, (month, day, year) = own[0]
        if year is None:
            year = next((c[2] for _, c in own if c[:2] == (month, day) and c[2]), None)
        if year is None:
            found = _with_year(month, day, hints)
            if found is None:
                raise ParseError(f"no report date found (only month {month} day {day}, no year)")
        else:
            found = _valid(year, month, day)
        if found is None:
            raise ParseError(f"no report date found (invalid date {year}-{month}-{day})")
        choice = DateChoice(found, source)
    if choice is None and (found := _mentioned(evidence.mentions, hints, named)) is not None:
        choice = DateChoice(found, "mentioned")
    if choice is None and named:
        choice = DateChoice(named[0][1], named[0][0])
    if choice is None:
        raise ParseError("no report date found")

    _check_range(choice.day, today or date.today())
    for source, day in [*_full_own(own), *named]:
        if source != choice.source and abs((day - choice.day).days) > 1:
            choice.warnings.append(
                f"the {_SAYS[source]} says {day.isoformat()}, but the {_SAYS[choice.source]} "
                f"gives {choice.day.isoformat()} (kept)"
            )
    choice.warnings = list(dict.fromkeys(choice.warnings))
    return choice


def _check_range(day: date, today: date) -> None:
    if day < FIRST_ASSESSMENT:
        raise ParseError(
            f"report date {day.isoformat()} is before the first assessment "
            f"({FIRST_ASSESSMENT.isoformat()})"
        )
    if day > today + timedelta(days=1):
        raise ParseError(f"report date {day.isoformat()} is in the future")


def _own_candidates(evidence: DateEvidence) -> list[tuple[str, Partial]]:
    """The report's own dates, most trusted first: titles, datelines, the text's "Assessment,
    <date>", then a pasted date line."""
    found: list[tuple[str, Partial]] = []
    for title in evidence.titles:
        if got := first_partial((KO_TITLE_DATE, EN_DATE, CYRILLIC_DATE, ISO_DATE), title):
            found.append(("title", got))
    for line in evidence.datelines:
        if got := first_partial((DATELINE,), line.strip()):
            found.append(("dateline", got))
    for body in evidence.bodies:
        if got := first_partial((ASSESSMENT_DATE, KO_DATE), body):
            found.append(("assessment", got))
    for line in evidence.paste.splitlines()[:_DATE_LINE_SCAN]:
        if got := _date_line(line):
            found.append(("date line", got))
    return found


def _full_own(own: list[tuple[str, Partial]]) -> list[tuple[str, date]]:
    return [(s, d) for s, (m, dd, y) in own if y and (d := _valid(y, m, dd))]


def _date_line(line: str) -> Partial | None:
    """A pasted "date 2024-01-20" line (the date may run on into text), or a line that is
    nothing but a full date."""
    text = line.strip().strip("*_#[]() ")
    label = _DATE_LABEL.match(text)
    rest = text[label.end() :] if label else text
    for pattern in (ISO_DATE, KO_DATE, EN_DATE, CYRILLIC_DATE):
        match = pattern.match(rest)
        if match is None:
            continue
        got = partial(match)
        if got is None or got[2] is None:
            return None
        if label or not rest[match.end() :].strip(" .,"):
            return got
    return None


def _mentioned(texts: list[str], hints: list[date], named: list[tuple[str, date]]) -> date | None:
    """The latest day the texts mention, each year-less day given the year of the first hint.
    A day after every dated outside evidence (+1 day) is a deadline or a forecast, not the
    report's day, and is passed over."""
    ceiling = max((d for _, d in named), default=None)
    days: list[date] = []
    for text in texts:
        for pattern in (_EN_DAY_PAIR, EN_DATE, CYRILLIC_DATE):
            for match in pattern.finditer(text):
                got = partial(match)
                if got is None:
                    continue
                month, day, year = got
                if pattern is _EN_DAY_PAIR:
                    day = max(day, int(match.group("day2")))
                if year is not None:
                    found = _valid(year, month, day)
                elif hints:
                    found = _with_year(month, day, hints)
                else:
                    found = None
                if found is not None and (ceiling is None or found <= ceiling + timedelta(1)):
                    days.append(found)
    return max(days, default=None)


def _outside_dates(evidence: DateEvidence) -> list[tuple[str, date]]:
    """(source, date) of the evidence outside the report's text, most trusted first."""
    found: list[tuple[str, date]] = []
    if got := file_name_date(evidence.file_name):
        found.append(("file name", got))
    for url in evidence.urls:
        if got := url_date(url):
            found.append(("url", got))
    for stamp in evidence.timestamps:
        if got := eastern_date(stamp):
            found.append(("timestamp", got))
    return found


def file_name_date(name: str) -> date | None:
    base = re.split(r"[\\/]", name)[-1]
    for match in _NAME_DATE.finditer(base):
        if found := _valid(int(match.group(1)), int(match.group(2)), int(match.group(3))):
            return found
    return None


def url_date(url: str) -> date | None:
    if match := _SLUG_DATE.search(url):
        month = MONTHS[match.group("month").lower()]
        return _valid(int(match.group("year")), month, int(match.group("day")))
    if match := _PATH_DATE.search(url):
        return _valid(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    return None


def eastern_date(stamp: str) -> date | None:
    """The US Eastern calendar day of a timestamp: ISW dates its reports by its own evening, so
    "2022-07-01T23:36Z" is July 1 and "2022-10-04T00:42Z" is October 3. A stamp without a zone
    is taken as UTC; a bare date is that date."""
    text = stamp.strip()
    if re.fullmatch(r"\d{9,13}", text):  # epoch seconds or milliseconds
        seconds = int(text) / (1000 if len(text) > 11 else 1)
        moment = datetime.fromtimestamp(seconds, UTC)
    else:
        try:
            moment = datetime.fromisoformat(text.replace(" ", "T", 1))
        except ValueError:
            dates = full_dates(text)
            return dates[0] if dates else None
    if not 1900 <= moment.year <= 2099:
        return None  # a placeholder such as 9999-12-31, and no date arithmetic overflows
    if len(text) <= 10:
        return moment.date()
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(_EASTERN).date()


def _with_year(month: int, day: int, hints: list[date]) -> date | None:
    """`month`/`day` in the year that puts it closest to one of the hints, each hint read as
    "the latest such day not after me (+ a week of slack for late postings)". A report written
    in 2022 may quote "September 19, 2021", so no single hint is trusted blindly; on a tie the
    earlier hint (outside evidence comes first) wins."""
    best: tuple[int, int, date] | None = None
    for order, hint in enumerate(hints):
        found = _valid(hint.year, month, day)
        if found is not None and found > hint + timedelta(days=7):
            found = _valid(hint.year - 1, month, day)
        if found is None or found < FIRST_ASSESSMENT:
            continue
        score = (abs((hint - found).days), order, found)
        if best is None or score < best:
            best = score
    return best[2] if best else None


def _valid(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None
