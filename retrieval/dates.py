"""The dates in a question ("2024년 1월 26일", "March–May 2022", "지난주", "the last 3 days",
"26 січня 2024", "в октябре 2022 года", "минулого тижня", "за последние 3 дня").

`parse_dates(text, today)` returns the date range the question asks about, and the question
with that expression removed so the rest of the search sees only the topic. `today` is the
newest report in the store: the corpus is historical, so "yesterday" means the day before the
newest report, not before the wall clock.

How it works, and why it is not dateparser: dateparser's `search_dates` is slow and reads
"Il-76" or "28-point plan" as dates, and once a span is isolated by a regex the regex groups
already hold the year, month and day. So every form is a small regex, grouped by family (one
function each), and the calendar arithmetic is `datetime` plus `dateutil.relativedelta`.

1. Each family proposes candidate *atoms*: a partial date (year/month/day, any may be missing),
   a ready range (relative expressions, "March 1–15, 2022"), or a blocker ("latest", "가장
   최근": no range, but it keeps "최근" inside it from meaning "the last 7 days").
2. Overlapping candidates: the longest wins ("26 January 2024" over "January 2024").
3. Two atoms joined by a connector ("to", "–", "and" after "between", "부터", "~") become a
   range; the missing year or month of one side comes from the other.
4. Weak atoms (a bare month name, a bare year, a Korean "15일") count only inside a range or
   after a marker: "in/during/throughout/since/after/from/between 2022" is a year, "2022 budget"
   or "5,000 troops" is not. "2022년" (4-digit year + 년) is always a year - the Korean marker
   is explicit - so "2023년에 수입한 마이크로칩" filters to 2023; callers may widen it.
5. A day without a year ("1월 26일", "Feb 3") is the latest such day on or before `today`;
   a month without a year ("3월", "in March") the latest such month.
6. Several separate expressions give the smallest range covering them all. An invalid date
   anywhere ("2월 30일", "2022-13-01") gives no range and the text unchanged.

Ukrainian and Russian month names are read in every case they take ("січня", "у січні",
"між березнем і травнем"; "января", "в январе", "между мартом и маем"); "2022 року" / "2022
года" is always a year, "у/в 2022" a year by its marker; "з/с/від/от X" is "since X", "з X по
Y", "с X до Y", "між/между X і/и Y" are ranges.

Relative conventions: weeks run Monday to Sunday; "last week"/"지난주" is the previous calendar
week, "the last/past week" the 7 days ending today; "the last 3 days"/"최근 3일" are today and
the two days before; "recent(ly)"/"최근"/"요즘" are the last 7 days; "since X"/"X 이후"/"X부터"
run from X to today. "latest"/"most recent"/"최신"/"가장 최근" set no range (the caller knows
what the newest report is).

Longer than 400 lines on purpose: the date grammar of four languages (absolute, relative, ranges,
weekdays) shares one resolver and one set of tests.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, replace
from datetime import date, timedelta

from dateutil.relativedelta import relativedelta
from pydantic import BaseModel, model_validator

from store.korean import SYLLABLES


class DateRange(BaseModel):
    """Inclusive range of report dates; `exact_day` when the question named one specific day."""

    start: date
    end: date
    exact_day: bool
    # "8월 29일", "March 3": no year was written, so the latest one was assumed. A reader who
    # asks that of an archive may mean an earlier year; the caller can look further back.
    year_implied: bool = False

    @model_validator(mode="after")
    def _ordered(self) -> DateRange:
        if self.start > self.end:
            raise ValueError(f"start {self.start} is after end {self.end}")
        return self


class DateQuery(BaseModel):
    range: DateRange | None
    # The question without the date expression (whitespace tidied), or unchanged when no date.
    text: str


# ---------------------------------------------------------------------------------------------
# Atoms


@dataclass(frozen=True)
class _Partial:
    year: int | None = None
    month: int | None = None
    day: int | None = None


@dataclass
class _Atom:
    start: int
    end: int
    # "date": a partial date; "weak": a partial date that needs a marker or a range partner;
    # "day": a Korean bare day ("15일"), only the second half of a range; "pair": a ready range
    # of two partials; "fixed": a resolved relative range; "block": a no-range expression.
    kind: str
    first: _Partial | None = None
    second: _Partial | None = None
    fixed: DateRange | None = None
    invalid: bool = False


_MONTHS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
    "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip

_MON = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_MONTH_EN = rf"\b(?P<mon>{_MON})\b\.?"
_MONTH_EN2 = rf"\b(?P<mon2>{_MON})\b\.?"
# Full month names only for a bare month: "mar", "may", "jan" alone are too often not months.
_MONTH_FULL = (
    r"\b(?P<mon>january|february|march|april|may|june|july|august|september|sept|october"
    r"|november|december)\b"
)
_DAY = r"(?<![\d,.\-–/])(?P<day>\d{1,2})(?!\d)(?:st|nd|rd|th)?\b"
_DAY2 = r"(?<![\d,.])(?P<day2>\d{1,2})(?!\d)(?:st|nd|rd|th)?\b"
# English years are 19xx/20xx and never part of a larger number ("$2,022", "2022.5").
_YEAR_EN = r"(?<![\d,.$€£])(?P<year>(?:19|20)\d{2})(?![\d]|[.,]\d)"
_DASH = r"(?:-|–|—|~|〜|to|through|thru|until|till)"


def _month(name: str) -> int:
    return _MONTHS[name.lower()[:3]]


def _int(value: str | None) -> int | None:
    return int(value) if value else None


def _year2(value: str) -> int:
    """Korean "24년" means 2024."""
    year = int(value)
    return year + 2000 if len(value) == 2 else year


# ---- numeric forms: ISO and friends --------------------------------------------------------

_NUMERIC_DATE = re.compile(
    r"(?<![\d.])(?P<year>\d{4})\s*(?P<sep>[-./])\s*(?P<month>\d{1,2})\s*(?P=sep)\s*"
    r"(?P<day>\d{1,2})(?!\d)(?:\.(?!\d))?"
)
# "2024-01", "2024.01": a month. Two-digit 01-12 only, so "2022-23" (a season) is not one.
_NUMERIC_MONTH = re.compile(r"(?<![\d.])(?P<year>\d{4})[-./](?P<month>0[1-9]|1[0-2])(?![\d.\-/])")
# "26.01.2024": with dots the day comes first in every language that writes it this way.
_NUMERIC_DMY = re.compile(
    r"(?<![\d.])(?P<day>\d{1,2})\.\s?(?P<month>\d{1,2})\.\s?(?P<year>\d{4})(?!\d)"
)


def _numeric_atoms(text: str) -> list[_Atom]:
    atoms = []
    for rx in (_NUMERIC_DATE, _NUMERIC_DMY):
        for m in rx.finditer(text):
            p = _Partial(int(m["year"]), int(m["month"]), int(m["day"]))
            atoms.append(_Atom(m.start(), m.end(), "date", p))
    for m in _NUMERIC_MONTH.finditer(text):
        atoms.append(_Atom(m.start(), m.end(), "date", _Partial(int(m["year"]), int(m["month"]))))
    return atoms


# ---- Korean ----------------------------------------------------------------------------------

# A 2-digit year ("24년") only directly before a month: "24년 만에" means "in 24 years".
_KO_DATE = re.compile(
    r"(?<!\d)(?:(?P<year>\d{4}|\d{2})\s*년\s*)?(?P<month>\d{1,2})\s*월\s*(?P<day>\d{1,2})\s*일"
)
_KO_MONTH = re.compile(r"(?<!\d)(?:(?P<year>\d{4}|\d{2})\s*년\s*)?(?P<month>\d{1,2})\s*월")
# "2000년대" is a decade, not the year 2000.
_KO_YEAR = re.compile(r"(?<!\d)(?P<year>\d{4})\s*년(?:도)?(?!대)")
_KO_DAY = re.compile(r"(?<!\d)(?P<day>\d{1,2})\s*일(?!\s*(?:간|동안|전|째))")
# "3월 1~15일", "2022년 3월 1일부터 15일까지" is handled by linking; this is the compact form.
_KO_DAY_SPAN = re.compile(
    r"(?<!\d)(?:(?P<year>\d{4}|\d{2})\s*년\s*)?(?P<month>\d{1,2})\s*월\s*"
    r"(?P<day>\d{1,2})\s*(?:~|〜|-|–)\s*(?P<day2>\d{1,2})\s*일"
)


def _korean_atoms(text: str) -> list[_Atom]:
    atoms = []
    for m in _KO_DATE.finditer(text):
        year = _year2(m["year"]) if m["year"] else None
        atoms.append(
            _Atom(m.start(), m.end(), "date", _Partial(year, int(m["month"]), int(m["day"])))
        )
    for m in _KO_MONTH.finditer(text):
        year = _year2(m["year"]) if m["year"] else None
        atoms.append(_Atom(m.start(), m.end(), "date", _Partial(year, int(m["month"]))))
    for m in _KO_YEAR.finditer(text):
        atoms.append(_Atom(m.start(), m.end(), "date", _Partial(int(m["year"]))))
    for m in _KO_DAY.finditer(text):
        atoms.append(_Atom(m.start(), m.end(), "day", _Partial(day=int(m["day"]))))
    for m in _KO_DAY_SPAN.finditer(text):
        year = _year2(m["year"]) if m["year"] else None
        month = int(m["month"])
        first, second = _Partial(year, month, int(m["day"])), _Partial(year, month, int(m["day2"]))
        atoms.append(_Atom(m.start(), m.end(), "pair", first, second))
    return atoms


# ---- English ---------------------------------------------------------------------------------

_EN_SEP = r"(?:\s*,\s*|\s+)"
_EN_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # "January 26, 2024", "Jan. 26th 2024"
    (re.compile(rf"{_MONTH_EN}\s*{_DAY}{_EN_SEP}{_YEAR_EN}", re.I), "date"),
    # "26 January 2024", "the 26th of January, 2024"
    (re.compile(rf"(?:\bthe\s+)?{_DAY}(?:\s+of)?\s+{_MONTH_EN}{_EN_SEP}{_YEAR_EN}", re.I), "date"),
    # "January 2024", "Jan 2024", "January of 2024"
    (re.compile(rf"{_MONTH_EN}(?:\s*,\s*|\s+of\s+|\s+){_YEAR_EN}", re.I), "date"),
    # "January 26", "Feb 3rd"
    (re.compile(rf"{_MONTH_EN}\s*{_DAY}", re.I), "date"),
    # "26 January", "the 3rd of February"
    (re.compile(rf"(?:\bthe\s+)?{_DAY}(?:\s+of)?\s+{_MONTH_EN}", re.I), "date"),
    # Weak: "March" (in "between March and May 2022", "in March"), "2022" (in "in 2022").
    (re.compile(_MONTH_FULL, re.I), "weak"),
    (re.compile(rf"\b{_YEAR_EN}\b"), "weak"),
]
# "March 1–15, 2022", "1–15 March 2022": a day range inside one month.
_EN_DAY_SPANS = [
    re.compile(rf"{_MONTH_EN}\s*{_DAY}\s*{_DASH}\s*{_DAY2}(?:{_EN_SEP}{_YEAR_EN})?", re.I),
    re.compile(
        rf"{_DAY}\s*{_DASH}\s*{_DAY2}(?:\s+of)?\s+{_MONTH_EN}(?:{_EN_SEP}{_YEAR_EN})?", re.I
    ),
]


def _verb_not_month(token: str | None, year: str | None) -> bool:
    """ "Su-25 may 3 ...", "troops march 5 km": lower-case "may"/"march" before a bare day is a
    verb. (Bare month names are weak atoms and need "in"/"during"/a range partner anyway.)"""
    return token is not None and year is None and token in ("may", "march")


def _english_atoms(text: str) -> list[_Atom]:
    atoms = []
    for rx, kind in _EN_PATTERNS:
        for m in rx.finditer(text):
            groups = m.groupdict()
            if kind == "date" and _verb_not_month(groups.get("mon"), groups.get("year")):
                continue
            month = _month(groups["mon"]) if groups.get("mon") else None
            partial = _Partial(_int(groups.get("year")), month, _int(groups.get("day")))
            atoms.append(_Atom(m.start(), m.end(), kind, partial))
    for rx in _EN_DAY_SPANS:
        for m in rx.finditer(text):
            year, month = _int(m["year"]), _month(m["mon"])
            first, second = (
                _Partial(year, month, int(m["day"])),
                _Partial(year, month, int(m["day2"])),
            )
            atoms.append(_Atom(m.start(), m.end(), "pair", first, second))
    return atoms


# ---- Ukrainian and Russian -------------------------------------------------------------------

# Month stems and the endings of their cases (nominative, genitive, locative, instrumental).
_CYR_MONTHS: list[tuple[str, int]] = [
    (r"січ(?:ень|ня|ні|нем)", 1),
    (r"лют(?:ий|ого|ому|им)", 2),
    (r"берез(?:ень|ня|ні|нем)", 3),
    (r"квіт(?:ень|ня|ні|нем)", 4),
    (r"трав(?:ень|ня|ні|нем)", 5),
    (r"черв(?:ень|ня|ні|нем)", 6),
    (r"лип(?:ень|ня|ні|нем)", 7),
    (r"серп(?:ень|ня|ні|нем)", 8),
    (r"верес(?:ень|ня|ні|нем)", 9),
    (r"жовт(?:ень|ня|ні|нем)", 10),
    (r"листопад(?:а|і|ом|у)?", 11),
    (r"груд(?:ень|ня|ні|нем)", 12),
    (r"январ(?:ь|я|е|ём|ем)", 1),
    (r"феврал(?:ь|я|е|ём|ем)", 2),
    (r"март(?:а|е|ом)?", 3),
    (r"апрел(?:ь|я|е|ем)", 4),
    (r"ма(?:й|я|е|ем)", 5),
    (r"июн(?:ь|я|е|ем)", 6),
    (r"июл(?:ь|я|е|ем)", 7),
    (r"август(?:а|е|ом)?", 8),
    (r"сентябр(?:ь|я|е|ём|ем)", 9),
    (r"октябр(?:ь|я|е|ём|ем)", 10),
    (r"ноябр(?:ь|я|е|ём|ем)", 11),
    (r"декабр(?:ь|я|е|ём|ем)", 12),
]
_CYR_MONTH_RX = [(re.compile(rf"^{stem}$", re.I), number) for stem, number in _CYR_MONTHS]
_CYR = r"а-яёіїєґʼ'"
_CYR_MON_ALT = "|".join(stem for stem, _ in _CYR_MONTHS)
_CYR_MON = rf"(?<![{_CYR}])(?P<mon>{_CYR_MON_ALT})(?![{_CYR}])"
# "2024 року", "2024 р.", "2024 году", "2024 г.", "2024-го року".
_CYR_YEAR_WORD = r"(?:-?го\s+)?(?:року|році|рік|роком|р\.|году|года|год|г\.)"
_CYR_YEAR = r"(?<![\d,.$€£])(?P<year>(?:19|20)\d{2})(?![\d]|[.,]\d)"
_CYR_DAY = r"(?<![\d,.\-–/])(?P<day>\d{1,2})(?!\d)(?:-?(?:го|е|ое|ого))?"
_CYR_DAY2 = r"(?<![\d,.])(?P<day2>\d{1,2})(?!\d)(?:-?(?:го|е|ое|ого))?"
_CYR_DASH = r"(?:-|–|—|по|до)"

_CYR_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # "26 січня 2024 року", "26 января 2024 г.", "26 января 2024"
    (re.compile(rf"{_CYR_DAY}\s+{_CYR_MON}\s+{_CYR_YEAR}(?:\s*{_CYR_YEAR_WORD})?", re.I), "date"),
    # "жовтень 2022", "у жовтні 2022 року", "в октябре 2022 года"
    (re.compile(rf"{_CYR_MON}\s+{_CYR_YEAR}(?:\s*{_CYR_YEAR_WORD})?", re.I), "date"),
    # "26 січня", "8 октября"
    (re.compile(rf"{_CYR_DAY}\s+{_CYR_MON}", re.I), "date"),
    # "2022 року", "в 2023 году": the year word makes it a year
    (re.compile(rf"{_CYR_YEAR}\s*{_CYR_YEAR_WORD}(?![{_CYR}])", re.I), "date"),
    # Weak: a bare month ("у березні", "с марта по май") or year ("у 2022").
    (re.compile(_CYR_MON, re.I), "weak"),
]
# "1-15 березня 2022", "з 1 по 15 березня", "с 1 до 15 марта 2022 года"
_CYR_DAY_SPAN = re.compile(
    rf"{_CYR_DAY}\s*{_CYR_DASH}\s*{_CYR_DAY2}\s+{_CYR_MON}"
    rf"(?:\s+{_CYR_YEAR}(?:\s*{_CYR_YEAR_WORD})?)?",
    re.I,
)


def _cyr_month(name: str) -> int:
    for rx, number in _CYR_MONTH_RX:
        if rx.match(name):
            return number
    raise ValueError(f"not a month: {name}")


def _cyrillic_atoms(text: str) -> list[_Atom]:
    atoms = []
    for rx, kind in _CYR_PATTERNS:
        for m in rx.finditer(text):
            groups = m.groupdict()
            month = _cyr_month(groups["mon"]) if groups.get("mon") else None
            partial = _Partial(_int(groups.get("year")), month, _int(groups.get("day")))
            atoms.append(_Atom(m.start(), m.end(), kind, partial))
    for m in _CYR_DAY_SPAN.finditer(text):
        year, month = _int(m["year"]), _cyr_month(m["mon"])
        first, second = _Partial(year, month, int(m["day"])), _Partial(year, month, int(m["day2"]))
        atoms.append(_Atom(m.start(), m.end(), "pair", first, second))
    return atoms


# ---- relative expressions --------------------------------------------------------------------

_NUMBER_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "few": 3,
    "couple of": 2, "couple": 2,
    "한": 1, "두": 2, "세": 3, "네": 4, "다섯": 5, "여섯": 6, "일곱": 7, "여덟": 8,
    "아홉": 9, "열": 10,
    "один": 1, "одна": 1, "одну": 1, "одного": 1, "два": 2, "дві": 2, "две": 2, "двох": 2,
    "двух": 2, "три": 3, "трьох": 3, "трёх": 3, "трех": 3, "чотири": 4, "четыре": 4,
    "п'ять": 5, "пять": 5, "шість": 6, "шесть": 6, "сім": 7, "семь": 7, "вісім": 8,
    "восемь": 8, "дев'ять": 9, "девять": 9, "десять": 10, "кілька": 3, "декілька": 3,
    "несколько": 3, "пару": 2, "пара": 2,
}  # fmt: skip
_UNITS = {
    "day": "day", "week": "week", "month": "month", "year": "year",
    "일": "day", "주": "week", "주일": "week", "개월": "month", "달": "month", "년": "year",
    "해": "year",
}  # fmt: skip
# Ukrainian and Russian units in the cases numbers and "last"/"this" put them in.
_CYR_UNITS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^(?:день|дні|днів|дня|дней|дню|днем|добу|доби|діб|суток|сутки)$", re.I), "day"),
    (re.compile(r"^(?:тиж\w*|недел\w*|неделю)$", re.I), "week"),
    (re.compile(r"^(?:місяц\w*|месяц\w*)$", re.I), "month"),
    (re.compile(r"^(?:рік|роки|років|року|році|роком|год|года|году|годом|лет)$", re.I), "year"),
]


def _unit_name(word: str) -> str:
    """English unit of a Korean, English, Ukrainian or Russian unit word."""
    low = word.lower()
    if low in _UNITS:
        return _UNITS[low]
    for rx, unit in _CYR_UNITS:
        if rx.match(low):
            return unit
    return {"주": "week", "달": "month", "월": "month", "해": "year", "년": "year"}.get(low, low)


_NUM_EN = r"(?P<num>\d+|an?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|few|couple(?:\s+of)?)"
_UNIT_EN = r"(?P<unit>day|week|month|year)s?"
_NUM_KO = r"(?P<num>\d+|한|두|세|네|다섯|여섯|일곱|여덟|아홉|열)"
_UNIT_KO = r"(?P<unit>일|주일|주|개월|달|년|해)"
# "일주일" (one week) and "보름" (half a month) carry their own number.
_KO_AMOUNT = rf"(?:{_NUM_KO}\s*{_UNIT_KO}|(?P<week>일주일)|(?P<fortnight>보름))"

_NUM_CYR = (
    r"(?P<num>\d+|один|одна|одну|одного|два|дві|две|двох|двух|три|трьох|трёх|трех|чотири|четыре"
    r"|п['’ʼ]?ять|шість|шесть|сім|семь|вісім|восемь|дев['’ʼ]?ять|девять|десять|кілька|декілька"
    r"|несколько|пару)"
)
_UNIT_CYR = (
    r"(?P<unit>день|дні|днів|дня|дней|добу|доби|діб|суток|сутки|тиждень|тижні|тижнів|тижня"
    r"|неделю|недели|недель|неделя|місяць|місяці|місяців|місяця|месяц|месяца|месяцев"
    r"|рік|роки|років|року|год|года|лет)"
)

# Where a Korean relative word ends: "지난주에", "지난주말", but not "지난 주요 전투" (major).
_KO_END = rf"(?=$|[^{SYLLABLES}]|에|의|은|는|도|부터|까지|동안|간|말|중|이|가)"

# (pattern, what it means); the meanings are handled in _relative_range.
_RELATIVE: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\b(?:the\s+)?day\s+before\s+yesterday\b", re.I), "day-2"),
    (re.compile(r"\b(?:today|tonight)(?:'s)?\b", re.I), "day-0"),
    (re.compile(r"\byesterday(?:'s)?\b", re.I), "day-1"),
    (re.compile(rf"\b{_NUM_EN}\s+{_UNIT_EN}\s+ago\b", re.I), "ago"),
    (re.compile(rf"\b(?:the\s+)?(?:last|past|previous|recent)\s+{_NUM_EN}\s+{_UNIT_EN}\b", re.I), "rolling"),
    # "the last week", "past week", "this past week": the 7 days up to today.
    (re.compile(r"\b(?:(?:the|this)\s+(?:last|past)|past)\s+(?P<unit>day|week|month|year)\b", re.I), "rolling1"),
    # "last week" (without "the"): the previous calendar week.
    (re.compile(r"\b(?:last|previous)\s+(?P<unit>week|month|year)\b", re.I), "previous"),
    (re.compile(r"\bthis\s+(?P<unit>week|month|year)\b", re.I), "current"),
    (re.compile(r"\b(?:in\s+)?(?:recent\s+days|recently|lately|these\s+days|recent)\b", re.I), "recent"),
    (re.compile(r"\b(?:the\s+)?(?:latest|newest|most\s+recent)\b", re.I), "block"),
    (re.compile(r"그저께|그제"), "day-2"),
    (re.compile(r"오늘(?!날)"), "day-0"),
    (re.compile(r"어제"), "day-1"),
    (re.compile(rf"{_KO_AMOUNT}\s*전(?![{SYLLABLES}])"), "ago"),
    (re.compile(rf"{_KO_AMOUNT}\s*전(?=에|의|부터|까지)"), "ago"),
    (re.compile(rf"(?:최근|지난|과거)\s*{_KO_AMOUNT}\s*(?:간|동안)?"), "rolling"),
    (re.compile(rf"(?:(?:지난|저번)\s*(?P<unit>주|달)|지난(?P<unit2>해)|전(?P<unit3>월)|작(?P<unit4>년)){_KO_END}"), "previous"),
    (re.compile(rf"(?:이번\s*(?P<unit>주|달)|이(?P<unit2>달)|금(?P<unit3>월)|올(?P<unit4>해)|금(?P<unit5>년)){_KO_END}"), "current"),
    (re.compile(r"가장\s*최근|제일\s*최근|최신"), "block"),
    (re.compile(r"최근|요즘|요새"), "recent"),
    # Ukrainian and Russian.
    (re.compile(rf"(?<![{_CYR}])(?:позавчора|позавчера)(?![{_CYR}])", re.I), "day-2"),
    (re.compile(rf"(?<![{_CYR}])(?:сьогодні|сегодня|сьогоднішн\w*|сегодняшн\w*)(?![{_CYR}])", re.I), "day-0"),
    (re.compile(rf"(?<![{_CYR}])(?:вчора|вчера|учора|вчорашн\w*|вчерашн\w*)(?![{_CYR}])", re.I), "day-1"),
    (re.compile(rf"(?<![{_CYR}\d])(?:{_NUM_CYR}\s+)?{_UNIT_CYR}\s+(?:тому|назад)(?![{_CYR}])", re.I), "ago"),
    (re.compile(rf"(?<![{_CYR}])(?:за\s+|в\s+|у\s+|протягом\s+|в\s+течение\s+)?(?:останні|останніх|минулі|минулих|последние|последних|прошедшие|прошедших|прошлые)\s+{_NUM_CYR}\s+{_UNIT_CYR}(?![{_CYR}])", re.I), "rolling"),
    (re.compile(rf"(?<![{_CYR}])(?:за\s+)?(?:останній|останню|останнього|последний|последнюю|последнего|прошедший|прошедшую)\s+(?P<unit>тиждень|тижня|місяць|місяця|рік|року|неделю|недели|месяц|месяца|год|года)(?![{_CYR}])", re.I), "rolling1"),
    (re.compile(rf"(?<![{_CYR}])(?:(?:на|в|у)\s+)?(?:минулого|минулому|минулий|минула|попереднього|попередньому|прошлой|прошлом|прошлого|прошлая|прошлый|предыдущей|предыдущем)\s+(?P<unit>тижня|тижні|тиждень|місяця|місяці|місяць|року|році|рік|неделе|недели|неделя|месяце|месяца|месяц|году|года|год)(?![{_CYR}])", re.I), "previous"),
    (re.compile(rf"(?<![{_CYR}])торік(?![{_CYR}])", re.I), "previous-year"),
    (re.compile(rf"(?<![{_CYR}])(?:(?:на|в|у)\s+)?(?:цього|цьому|цей|поточного|этой|этом|этого|этот|эта|текущей|текущем|текущего|нинішнього)\s+(?P<unit>тижня|тижні|тиждень|місяця|місяці|місяць|року|році|рік|неделе|недели|неделя|месяце|месяца|месяц|году|года|год)(?![{_CYR}])", re.I), "current"),
    (re.compile(rf"(?<![{_CYR}])(?:найновіш\w*|найсвіжіш\w*|новейш\w*|самы[йем]\s+(?:свеж|нов|последн)\w*|останн(?:ій|ього|ьому|я|ю|ої|і|іх)|последн(?:ий|его|ем|яя|юю|ей|ие|их))(?![{_CYR}])", re.I), "block"),
    (re.compile(rf"(?<![{_CYR}])(?:нещодавно|останнім\s+часом|останніми\s+днями|(?:в|у|за)\s+останні\s+дні|недавно|в\s+последнее\s+время|на\s+днях|(?:в|за)\s+последние\s+дни|последнее\s+время)(?![{_CYR}])", re.I), "recent"),
]  # fmt: skip
_RECENT_DAYS = 7


def _amount(m: re.Match[str]) -> tuple[int, str]:
    groups = m.groupdict()
    if groups.get("week"):
        return 1, "week"
    if groups.get("fortnight"):
        return 15, "day"
    number = (groups.get("num") or "").lower()
    if not number:
        count = 1  # "тиждень тому", "неделю назад": one
    else:
        number = number.replace("’", "'").replace("ʼ", "'")
        count = int(number) if number.isdigit() else _NUMBER_WORDS[re.sub(r"\s+", " ", number)]
    return count, _unit_name(groups["unit"])


def _unit(m: re.Match[str]) -> str:
    for name, value in m.groupdict().items():
        if name.startswith("unit") and value:
            return _unit_name(value)
    raise ValueError("no unit")


def _period(day: date, unit: str) -> tuple[date, date]:
    """The calendar week (Monday first), month or year containing `day`."""
    if unit == "day":
        return day, day
    if unit == "week":
        start = day - timedelta(days=day.weekday())
        return start, start + timedelta(days=6)
    if unit == "month":
        return day.replace(day=1), day.replace(day=calendar.monthrange(day.year, day.month)[1])
    return date(day.year, 1, 1), date(day.year, 12, 31)


def _step(unit: str, count: int) -> relativedelta:
    return relativedelta(**{unit + "s": count})


def _relative_range(meaning: str, m: re.Match[str], today: date) -> DateRange:
    """What a relative expression means when the newest report is `today`."""
    if meaning.startswith("day-"):
        day = today - timedelta(days=int(meaning[4:]))
        return DateRange(start=day, end=day, exact_day=True)
    if meaning == "recent":
        return DateRange(start=today - timedelta(days=_RECENT_DAYS - 1), end=today, exact_day=False)
    if meaning == "previous-year":
        start, end = _period(today - _step("year", 1), "year")
        return DateRange(start=start, end=end, exact_day=False)
    if meaning in ("ago", "rolling"):
        count, unit = _amount(m)
        if not 1 <= count <= 5000:
            raise ValueError(f"unreasonable amount {count}")
        if meaning == "ago":
            start, end = _period(today - _step(unit, count), unit)
            return DateRange(start=start, end=end, exact_day=unit == "day")
        start = today - _step(unit, count) + timedelta(days=1)
        return DateRange(start=start, end=today, exact_day=False)
    unit = _unit(m)
    if meaning == "rolling1":
        return DateRange(
            start=today - _step(unit, 1) + timedelta(days=1), end=today, exact_day=False
        )
    if meaning == "previous":
        start, end = _period(today - _step(unit, 1), unit)
        return DateRange(start=start, end=end, exact_day=False)
    start, _ = _period(today, unit)  # "current": from the start of this week/month/year
    return DateRange(start=start, end=today, exact_day=False)


def _relative_atoms(text: str, today: date) -> list[_Atom]:
    atoms = []
    for rx, meaning in _RELATIVE:
        for m in rx.finditer(text):
            if meaning == "block":
                atoms.append(_Atom(m.start(), m.end(), "block"))
                continue
            try:
                fixed = _relative_range(meaning, m, today)
            except (ValueError, OverflowError):
                atoms.append(_Atom(m.start(), m.end(), "fixed", invalid=True))
                continue
            atoms.append(_Atom(m.start(), m.end(), "fixed", fixed=fixed))
    return atoms


# ---------------------------------------------------------------------------------------------
# Resolving partial dates


def _valid_month_day(month: int, day: int | None) -> bool:
    if not 1 <= month <= 12:
        return False
    return day is None or 1 <= day <= calendar.monthrange(2000, month)[1]  # 2000: a leap year


def _latest_year(p: _Partial, today: date) -> _Partial:
    """Give a year to a month (and day) without one: the latest occurrence on or before today."""
    if p.month is None or not _valid_month_day(p.month, p.day):
        raise ValueError(f"invalid month/day {p}")
    for year in range(today.year, today.year - 9, -1):
        try:
            first_day = date(year, p.month, p.day or 1)
        except ValueError:  # 29 February outside a leap year
            continue
        if first_day <= today:
            return replace(p, year=year)
    raise ValueError(f"no recent {p}")


def _bounds(p: _Partial, today: date) -> tuple[date, date, bool]:
    """First day, last day and whether it is one exact day."""
    if p.year is None:
        p = _latest_year(p, today)
    assert p.year is not None
    if p.month is None:
        if p.day is not None:
            raise ValueError("a day without a month")
        return date(p.year, 1, 1), date(p.year, 12, 31), False
    if p.day is not None:
        day = date(p.year, p.month, p.day)
        return day, day, True
    last = calendar.monthrange(p.year, p.month)[1]
    return date(p.year, p.month, 1), date(p.year, p.month, last), False


def _pair_bounds(a: _Partial, b: _Partial, today: date) -> DateRange:
    """A range of two partial dates; each side lends the other the month or year it lacks
    ("March 1 to 15, 2022", "November to February 2023" -> November 2022)."""
    if b.month is None and b.day is not None:
        b = replace(b, month=a.month)
    if a.month is None and a.day is not None:
        a = replace(a, month=b.month)
    implied = a.year is None and b.year is None
    if implied:
        b = _latest_year(b, today)
    if a.year is None and b.year is not None:
        a = replace(a, year=b.year)
        if _bounds(a, today)[0] > _bounds(b, today)[1]:
            a = replace(a, year=b.year - 1)
    if b.year is None and a.year is not None:
        b = replace(b, year=a.year)
        if _bounds(b, today)[1] < _bounds(a, today)[0]:
            b = replace(b, year=a.year + 1)
    a_start, a_end, _ = _bounds(a, today)
    b_start, b_end, _ = _bounds(b, today)
    start, end = min(a_start, b_start), max(a_end, b_end)
    return DateRange(start=start, end=end, exact_day=False, year_implied=implied)


def _atom_range(atom: _Atom, today: date) -> DateRange:
    if atom.invalid:
        raise ValueError("invalid relative expression")
    if atom.kind == "fixed":
        assert atom.fixed is not None
        return atom.fixed
    assert atom.first is not None
    if atom.kind == "pair":
        assert atom.second is not None
        return _pair_bounds(atom.first, atom.second, today)
    start, end, exact = _bounds(atom.first, today)
    implied = atom.first.year is None
    return DateRange(start=start, end=end, exact_day=exact, year_implied=implied)


# ---------------------------------------------------------------------------------------------
# Putting atoms together

# English words before a date that belong to it. For a weak atom only some count as a marker:
# "in 2022" is a year, "for 2022" or "by 2022" might be a target.
_PREFIX = re.compile(
    r"\b(?P<word>as\s+of|in|on|during|throughout|since|from|after|between|for|over|within"
    r"|в|у|во|протягом|впродовж|в\s+течение|на\s+протяжении|між|между|з|із|зі|с|со|від|от"
    r"|починаючи\s+з|начиная\s+с|після|после)\s+$",
    re.I,
)
# Ukrainian and Russian markers, as the English ones they mean.
_CYR_MARKERS = {
    "в": "in", "у": "in", "во": "in", "протягом": "during", "впродовж": "during",
    "в течение": "during", "на протяжении": "during", "між": "between", "между": "between",
    "з": "since", "із": "since", "зі": "since", "с": "since", "со": "since", "від": "since",
    "от": "since", "починаючи з": "since", "начиная с": "since", "після": "after",
    "после": "after",
}  # fmt: skip
_WEAK_MARKERS = {"in", "during", "throughout", "since", "from", "after", "between"}
# Korean particles after a date; never when a Hangul letter follows ("3월 중순", "의회").
_SUFFIX = re.compile(
    r"\s*(?P<word>이후로?|이래로?|부터는?|까지는?|동안에?|사이에?|무렵에?|쯤에?|경에?|께|중에?"
    rf"|에서는?|에는|에도|에|의|간에?|자|은|는|도)(?![{SYLLABLES}])"
)
_SINCE = {"since", "after", "이후", "이후로", "이래", "이래로", "부터", "부터는"}
# What may stand between the two halves of a range. "and" needs "between" before the first.
_CONNECTOR = re.compile(
    r"^\s*(?:-|–|—|~|〜|to|until|till|through|thru|and|부터|에서|와|과|по|до|і|й|та|и)\s*(?:~\s*)?$",
    re.I,
)


@dataclass
class _Expression:
    start: int
    end: int
    range: DateRange | None  # None: a blocker, or a range we could not make (invalid)
    invalid: bool = False


def _select(candidates: list[_Atom]) -> list[_Atom]:
    """Non-overlapping atoms, longest first, returned in text order."""
    chosen: list[_Atom] = []
    for atom in sorted(candidates, key=lambda a: (-(a.end - a.start), a.start)):
        if all(atom.end <= c.start or atom.start >= c.end for c in chosen):
            chosen.append(atom)
    return sorted(chosen, key=lambda a: a.start)


def _prefix(text: str, start: int) -> tuple[int, str | None]:
    m = _PREFIX.search(text, 0, start)
    if m is None:
        return start, None
    word = re.sub(r"\s+", " ", m["word"].lower())
    return m.start(), _CYR_MARKERS.get(word, word)


def _suffix(text: str, end: int) -> tuple[int, str | None]:
    m = _SUFFIX.match(text, end)
    if m is None:
        return end, None
    return m.end(), m["word"]


def _linked(text: str, a: _Atom, b: _Atom, a_marker: str | None) -> bool:
    """Whether two atoms are the two ends of one range ("March to May", "3월부터 5월까지")."""
    if a.kind in ("block", "pair", "day") or b.kind in ("block", "pair"):
        return False
    if b.kind == "day" and (a.first is None or a.first.month is None):
        return False
    gap = text[a.end : b.start]
    m = _CONNECTOR.match(gap)
    if m is None:
        return False
    word = gap.strip().lower().rstrip("~").strip()
    if word in ("and", "і", "й", "та", "и"):
        return a_marker == "between"
    if word in ("와", "과"):  # "A와 B 사이": only with 사이 after B
        return text[b.end :].lstrip().startswith("사이")
    return True


def _expressions(text: str, atoms: list[_Atom], today: date) -> list[_Expression]:
    out: list[_Expression] = []
    i = 0
    while i < len(atoms):
        atom = atoms[i]
        start, marker = _prefix(text, atom.start)
        nxt = atoms[i + 1] if i + 1 < len(atoms) else None
        if nxt is not None and _linked(text, atom, nxt, marker):
            end, _ = _suffix(text, nxt.end)
            out.append(_Expression(start, end, *_range_of_two(atom, nxt, today)))
            i += 2
            continue
        i += 1
        if atom.kind == "block":
            continue
        if atom.kind == "day" or (atom.kind == "weak" and marker not in _WEAK_MARKERS):
            continue  # "15일", "March", "2022" alone are not dates
        end, particle = _suffix(text, atom.end)
        try:
            rng = _atom_range(atom, today)
        except (ValueError, OverflowError):
            out.append(_Expression(start, end, None, invalid=True))
            continue
        if atom.kind != "pair" and (marker in _SINCE or particle in _SINCE):
            # "since January 2024", "2024년 1월 이후/부터": from then up to the newest report.
            begin = rng.end + timedelta(days=1) if marker == "after" else rng.start
            rng = DateRange(start=begin, end=max(today, begin), exact_day=False)
        out.append(_Expression(start, end, rng))
    return out


def _range_of_two(a: _Atom, b: _Atom, today: date) -> tuple[DateRange | None, bool]:
    try:
        if a.first is not None and b.first is not None and "fixed" not in (a.kind, b.kind):
            return _pair_bounds(a.first, b.first, today), False
        ra, rb = _atom_range(a, today), _atom_range(b, today)
        return DateRange(
            start=min(ra.start, rb.start), end=max(ra.end, rb.end), exact_day=False
        ), False
    except (ValueError, OverflowError):
        return None, True


def _remove(text: str, spans: list[tuple[int, int]]) -> str:
    """The text without the spans, with the whitespace and punctuation around them tidied."""
    for start, end in sorted(spans, reverse=True):
        text = text[:start] + " " + text[end:]
    text = re.sub(r"\s+", " ", text)
    text = re.sub(r"\s+([?!.,;:])", r"\1", text)
    text = re.sub(r",(?=[?!.;:])", "", text)  # "What happened, ?" -> "What happened?"
    text = re.sub(r"([(\[])\s*([)\]])", "", text)  # an emptied bracket
    return text.strip(" ,;:")


def parse_dates(text: str, today: date) -> DateQuery:
    """The date range a question asks about (relative to `today`, the newest report date) and
    the question without it. Never raises; an invalid date gives no range and the text as is."""
    candidates = (
        _numeric_atoms(text)
        + _korean_atoms(text)
        + _english_atoms(text)
        + _cyrillic_atoms(text)
        + _relative_atoms(text, today)
    )
    expressions = _expressions(text, _select(candidates), today)
    if not expressions or any(e.invalid for e in expressions):
        return DateQuery(range=None, text=text)
    ranges = [e.range for e in expressions if e.range is not None]
    if len(ranges) == 1:
        rng = ranges[0]
    else:
        # Separate expressions ("January 2024 and March 2024"): the range covering them all.
        start, end = min(r.start for r in ranges), max(r.end for r in ranges)
        exact = start == end and all(r.exact_day for r in ranges)
        implied = all(r.year_implied for r in ranges)
        rng = DateRange(start=start, end=end, exact_day=exact, year_implied=implied)
    return DateQuery(range=rng, text=_remove(text, [(e.start, e.end) for e in expressions]))
