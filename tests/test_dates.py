"""Dates in questions, in Korean, English and ISO; relative ones against the newest report."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from retrieval.dates import DateRange, parse_dates

T1 = date(2026, 2, 2)  # a Monday: the newest report in the store
T2 = date(2022, 10, 31)  # also a Monday, early in the war
TODAYS = [T1, T2]


def d(text: str) -> date:
    return date.fromisoformat(text)


def day(text: str) -> tuple[date, date, bool]:
    return d(text), d(text), True


def span(start: str, end: str) -> tuple[date, date, bool]:
    return d(start), d(end), False


def check(text: str, today: date, expected: tuple[date, date, bool] | None) -> None:
    rng = parse_dates(text, today).range
    if expected is None:
        assert rng is None, f"{text!r} gave {rng}"
    else:
        assert rng is not None, f"{text!r} gave no range"
        assert (rng.start, rng.end, rng.exact_day) == expected, text


# ---- forms that do not depend on `today` (checked with both) -----------------------------------

ABSOLUTE = [
    # full dates
    ("2024년 1월 26일", day("2024-01-26")),
    ("2024년1월26일", day("2024-01-26")),
    ("24년 1월 26일", day("2024-01-26")),
    ("2024.1.26", day("2024-01-26")),
    ("2024. 1. 26.", day("2024-01-26")),
    ("2024-01-26", day("2024-01-26")),
    ("2024/01/26", day("2024-01-26")),
    ("26.01.2024", day("2024-01-26")),
    ("January 26, 2024", day("2024-01-26")),
    ("january 26th, 2024", day("2024-01-26")),
    ("26 January 2024", day("2024-01-26")),
    ("the 26th of January, 2024", day("2024-01-26")),
    ("Jan 26 2024", day("2024-01-26")),
    ("Jan. 26, 2024", day("2024-01-26")),
    ("March 16, 2022", day("2022-03-16")),
    ("Sept 5, 2023", day("2023-09-05")),
    # months
    ("2024년 1월", span("2024-01-01", "2024-01-31")),
    ("2022년 3월", span("2022-03-01", "2022-03-31")),
    ("22년 2월", span("2022-02-01", "2022-02-28")),
    ("January 2024", span("2024-01-01", "2024-01-31")),
    ("Jan 2024", span("2024-01-01", "2024-01-31")),
    ("February 2024", span("2024-02-01", "2024-02-29")),
    ("2024-01", span("2024-01-01", "2024-01-31")),
    # years, only with an explicit marker
    ("2022년", span("2022-01-01", "2022-12-31")),
    ("2022년도 예산", span("2022-01-01", "2022-12-31")),
    ("in 2022", span("2022-01-01", "2022-12-31")),
    ("during 2022", span("2022-01-01", "2022-12-31")),
    ("throughout 2023", span("2023-01-01", "2023-12-31")),
    ("2023년에 수입한 마이크로칩", span("2023-01-01", "2023-12-31")),
    # ranges
    ("between March and May 2022", span("2022-03-01", "2022-05-31")),
    ("from March to May 2022", span("2022-03-01", "2022-05-31")),
    ("March–May 2022", span("2022-03-01", "2022-05-31")),
    ("March - May 2022", span("2022-03-01", "2022-05-31")),
    ("from March 1 to March 15, 2022", span("2022-03-01", "2022-03-15")),
    ("between January 1 and February 3, 2023", span("2023-01-01", "2023-02-03")),
    ("March 1–15, 2022", span("2022-03-01", "2022-03-15")),
    ("1-15 March 2022", span("2022-03-01", "2022-03-15")),
    ("November 2022 to February 2023", span("2022-11-01", "2023-02-28")),
    ("November to February 2023", span("2022-11-01", "2023-02-28")),
    ("between 2022 and 2023", span("2022-01-01", "2023-12-31")),
    ("2022–2023", span("2022-01-01", "2023-12-31")),
    ("2022-03-01 to 2022-03-15", span("2022-03-01", "2022-03-15")),
    ("2022-03-01~2022-03-15", span("2022-03-01", "2022-03-15")),
    ("2022년 3월부터 5월까지", span("2022-03-01", "2022-05-31")),
    ("2022년 3월 ~ 5월", span("2022-03-01", "2022-05-31")),
    ("2022년 3월에서 5월까지", span("2022-03-01", "2022-05-31")),
    ("2022년 3월과 5월 사이", span("2022-03-01", "2022-05-31")),
    ("2022년 3월 1일부터 15일까지", span("2022-03-01", "2022-03-15")),
    ("2022년 3월 1~15일", span("2022-03-01", "2022-03-15")),
    ("2022년 12월~2023년 2월", span("2022-12-01", "2023-02-28")),
    # separate expressions: the range covering them
    ("January 2024 and March 2024", span("2024-01-01", "2024-03-31")),
    ("2024년 1월 26일과 2024년 2월 1일 비교", span("2024-01-26", "2024-02-01")),
]


@pytest.mark.parametrize("today", TODAYS, ids=str)
@pytest.mark.parametrize(("text", "expected"), ABSOLUTE)
def test_absolute(text, expected, today):
    check(text, today, expected)


# ---- forms relative to `today` -----------------------------------------------------------------

RELATIVE = [
    # day without year: the latest such day on or before today
    ("1월 26일", day("2026-01-26"), day("2022-01-26")),
    ("January 26", day("2026-01-26"), day("2022-01-26")),
    ("Feb 3", day("2025-02-03"), day("2022-02-03")),
    ("2월 2일", day("2026-02-02"), day("2022-02-02")),
    ("the 3rd of February", day("2025-02-03"), day("2022-02-03")),
    ("26 January", day("2026-01-26"), day("2022-01-26")),
    ("May 9", day("2025-05-09"), day("2022-05-09")),
    ("February 29", day("2024-02-29"), day("2020-02-29")),
    ("12월 25일", day("2025-12-25"), day("2021-12-25")),
    # month without year
    ("3월", span("2025-03-01", "2025-03-31"), span("2022-03-01", "2022-03-31")),
    ("in March", span("2025-03-01", "2025-03-31"), span("2022-03-01", "2022-03-31")),
    ("during October", span("2025-10-01", "2025-10-31"), span("2022-10-01", "2022-10-31")),
    ("3월 1일~3월 15일", span("2025-03-01", "2025-03-15"), span("2022-03-01", "2022-03-15")),
    ("3월 1일부터 15일까지", span("2025-03-01", "2025-03-15"), span("2022-03-01", "2022-03-15")),
    ("from March to May", span("2025-03-01", "2025-05-31"), span("2022-03-01", "2022-05-31")),
    # today / yesterday
    ("today", day("2026-02-02"), day("2022-10-31")),
    ("오늘", day("2026-02-02"), day("2022-10-31")),
    ("yesterday", day("2026-02-01"), day("2022-10-30")),
    ("어제", day("2026-02-01"), day("2022-10-30")),
    ("the day before yesterday", day("2026-01-31"), day("2022-10-29")),
    ("그저께", day("2026-01-31"), day("2022-10-29")),
    ("3 days ago", day("2026-01-30"), day("2022-10-28")),
    ("3일 전", day("2026-01-30"), day("2022-10-28")),
    # weeks (Monday to Sunday)
    ("last week", span("2026-01-26", "2026-02-01"), span("2022-10-24", "2022-10-30")),
    ("지난주", span("2026-01-26", "2026-02-01"), span("2022-10-24", "2022-10-30")),
    ("지난 주", span("2026-01-26", "2026-02-01"), span("2022-10-24", "2022-10-30")),
    ("this week", span("2026-02-02", "2026-02-02"), span("2022-10-31", "2022-10-31")),
    ("이번 주", span("2026-02-02", "2026-02-02"), span("2022-10-31", "2022-10-31")),
    ("the past week", span("2026-01-27", "2026-02-02"), span("2022-10-25", "2022-10-31")),
    ("최근 일주일", span("2026-01-27", "2026-02-02"), span("2022-10-25", "2022-10-31")),
    ("the last 2 weeks", span("2026-01-20", "2026-02-02"), span("2022-10-18", "2022-10-31")),
    ("최근 2주", span("2026-01-20", "2026-02-02"), span("2022-10-18", "2022-10-31")),
    # months and years
    ("last month", span("2026-01-01", "2026-01-31"), span("2022-09-01", "2022-09-30")),
    ("지난달", span("2026-01-01", "2026-01-31"), span("2022-09-01", "2022-09-30")),
    ("this month", span("2026-02-01", "2026-02-02"), span("2022-10-01", "2022-10-31")),
    ("이번 달", span("2026-02-01", "2026-02-02"), span("2022-10-01", "2022-10-31")),
    ("지난 한 달", span("2026-01-03", "2026-02-02"), span("2022-10-01", "2022-10-31")),
    ("this year", span("2026-01-01", "2026-02-02"), span("2022-01-01", "2022-10-31")),
    ("올해", span("2026-01-01", "2026-02-02"), span("2022-01-01", "2022-10-31")),
    ("last year", span("2025-01-01", "2025-12-31"), span("2021-01-01", "2021-12-31")),
    ("작년", span("2025-01-01", "2025-12-31"), span("2021-01-01", "2021-12-31")),
    # the last N days, recent
    ("the last 3 days", span("2026-01-31", "2026-02-02"), span("2022-10-29", "2022-10-31")),
    ("past 3 days", span("2026-01-31", "2026-02-02"), span("2022-10-29", "2022-10-31")),
    ("최근 3일", span("2026-01-31", "2026-02-02"), span("2022-10-29", "2022-10-31")),
    ("지난 3일간", span("2026-01-31", "2026-02-02"), span("2022-10-29", "2022-10-31")),
    ("recent", span("2026-01-27", "2026-02-02"), span("2022-10-25", "2022-10-31")),
    ("recently", span("2026-01-27", "2026-02-02"), span("2022-10-25", "2022-10-31")),
    ("최근", span("2026-01-27", "2026-02-02"), span("2022-10-25", "2022-10-31")),
    ("요즘", span("2026-01-27", "2026-02-02"), span("2022-10-25", "2022-10-31")),
    # since: from then up to the newest report
    ("since March 2022", span("2022-03-01", "2026-02-02"), span("2022-03-01", "2022-10-31")),
    ("2022년 3월 이후", span("2022-03-01", "2026-02-02"), span("2022-03-01", "2022-10-31")),
    ("2022년 3월부터", span("2022-03-01", "2026-02-02"), span("2022-03-01", "2022-10-31")),
    ("since yesterday", span("2026-02-01", "2026-02-02"), span("2022-10-30", "2022-10-31")),
    ("from yesterday to today", span("2026-02-01", "2026-02-02"), span("2022-10-30", "2022-10-31")),
    # "latest" sets no range: the caller knows the newest report
    ("latest", None, None),
    ("the most recent report", None, None),
    ("가장 최근 보고서", None, None),
    ("최신 소식", None, None),
]


@pytest.mark.parametrize(("text", "on_t1", "on_t2"), RELATIVE)
def test_relative(text, on_t1, on_t2):
    check(text, T1, on_t1)
    check(text, T2, on_t2)


# ---- the date is taken out of the text -----------------------------------------------------------

REMOVAL = [
    ("2024년 1월 26일 아브디이우카 상황은?", "아브디이우카 상황은?"),
    ("1월 26일에 무슨 일이 있었나?", "무슨 일이 있었나?"),
    ("2023년에 수입한 마이크로칩", "수입한 마이크로칩"),
    ("HIMARS 관련 소식 2022년 6월", "HIMARS 관련 소식"),
    ("2022년 3월부터 5월까지 헤르손 전선", "헤르손 전선"),
    ("최근 3일간 바흐무트", "바흐무트"),
    ("어제 포크로우스크 상황", "포크로우스크 상황"),
    ("지난주에 무슨 일이?", "무슨 일이?"),
    ("1월 26일자 보고서", "보고서"),
    ("2022-02-24에 무슨 일", "무슨 일"),
    ("What happened on January 26, 2024?", "What happened?"),
    ("On January 26, 2024, what happened near Avdiivka?", "what happened near Avdiivka?"),
    ("What happened in Bakhmut in May 2023?", "What happened in Bakhmut?"),
    ("Wagner mutiny June 2023", "Wagner mutiny"),
    ("Avdiivka (January 2024)", "Avdiivka"),
    ("HIMARS strikes between March and May 2022", "HIMARS strikes"),
    ("Kherson from March 1 to March 15, 2022", "Kherson"),
    ("what happened in the last 3 days", "what happened"),
    ("Russian losses in 2022", "Russian losses"),
    ("Kupiansk since January 2024", "Kupiansk"),
    ("latest on Kherson", "latest on Kherson"),  # no range, nothing removed
    ("  Il-76   crash  ", "  Il-76   crash  "),  # no date: the text exactly as given
]


@pytest.mark.parametrize(("text", "expected"), REMOVAL)
def test_date_is_removed_from_text(text, expected):
    assert parse_dates(text, T1).text == expected


# ---- things that are not dates ------------------------------------------------------------------

NOT_DATES = [
    "$1.7 billion",
    "The US approved $1.7 billion in aid",
    "234th Airborne Regiment",
    "Il-76",
    "Il-76 추락 원인?",
    "28-point plan",
    "Putin's 28-point plan",
    "5,000 troops",
    "5 billion euros",
    "76th VDV Division",
    "Su-25 may 3 times have been hit",
    "troops march 5 km toward Kupiansk",
    "the 2022 budget",
    "2022 and 2023",
    "Russia may attack",
    "2000년대 러시아 경제",
    "24년 만에 처음",
    "12개월 동안",
    "15일 동안 포위",
    "3년 전쟁",
    "지난 주요 전투",
    "오늘날 러시아",
    "13 brigades near Pokrovsk",
    "Bakhmut",
    "",
]


@pytest.mark.parametrize("today", TODAYS, ids=str)
@pytest.mark.parametrize("text", NOT_DATES)
def test_not_a_date(text, today):
    parsed = parse_dates(text, today)
    assert parsed.range is None
    assert parsed.text == text


# ---- invalid dates: no range, text unchanged, no exception ----------------------------------------

INVALID = [
    "2월 30일",
    "2월 30일 바흐무트",
    "2023년 2월 29일",
    "2022-13-01",
    "2022-02-30",
    "February 30, 2024",
    "February 30",
    "January 32",
    "13월",
    "2024년 13월 5일 소식",
    "2022년 3월 1일부터 2월 30일까지",
    "the last 0 days",
    "최근 99999999일",
]


@pytest.mark.parametrize("today", TODAYS, ids=str)
@pytest.mark.parametrize("text", INVALID)
def test_invalid_date(text, today):
    parsed = parse_dates(text, today)
    assert parsed.range is None
    assert parsed.text == text


def test_date_range_rejects_reversed_bounds():
    with pytest.raises(ValueError):
        DateRange(start=date(2024, 2, 1), end=date(2024, 1, 1), exact_day=False)


# ---- never raises, never a reversed range -------------------------------------------------------

FRAGMENTS = st.sampled_from(
    [
        "2024년", "1월", "26일", "~", "부터", "까지", "이후", "사이", "March", "May", "2022",
        "between", "and", "from", "to", "-", "–", "in", "since", "최근", "3", "일", "지난", "주",
        "오늘", "yesterday", "the last", "days", "ago", "전", "31", "29", "Feb", "2024-02-30",
        "2022-13-01", "9999년 12월", "0", "99999999", "Il-76", "Бахмут", "바흐무트", "\x00",
        "\u200b", "\n", "\t", "🔥", " ", ",", ".",
    ]
)  # fmt: skip
MIXED = st.lists(st.one_of(FRAGMENTS, st.text(max_size=6)), max_size=12).map(" ".join)
TEXT = st.one_of(st.text(), MIXED, MIXED.map(lambda s: s.replace(" ", "")))


@settings(max_examples=400, deadline=None)
@given(text=TEXT, today=st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)))
def test_never_raises_and_range_is_ordered(text, today):
    parsed = parse_dates(text, today)
    if parsed.range is not None:
        assert parsed.range.start <= parsed.range.end
    else:
        assert parsed.text == text


@pytest.mark.parametrize(
    ("text", "implied"),
    [
        ("8월 29일 헤르손", True),
        ("what happened on October 10?", True),
        ("between March and May", True),
        ("2024년 1월 26일", False),
        ("January 26, 2024", False),
        ("between March and May 2022", False),
        ("어제", False),
        ("last week", False),
    ],
)
def test_year_implied_says_whether_the_year_was_written(text, implied):
    rng = parse_dates(text, T1).range
    assert rng is not None
    assert rng.year_implied is implied


# ---- Ukrainian and Russian ---------------------------------------------------------------------

UK_RU_ABSOLUTE = [
    ("26 січня 2024", day("2024-01-26")),
    ("26 січня 2024 року", day("2024-01-26")),
    ("26 января 2024 года", day("2024-01-26")),
    ("26 января 2024 г.", day("2024-01-26")),
    ("24 лютого 2022", day("2022-02-24")),
    ("8 жовтня 2022 р.", day("2022-10-08")),
    ("8 октября 2022", day("2022-10-08")),
    ("жовтень 2022", span("2022-10-01", "2022-10-31")),
    ("у жовтні 2022 року", span("2022-10-01", "2022-10-31")),
    ("в октябре 2022", span("2022-10-01", "2022-10-31")),
    ("в октябре 2022 года", span("2022-10-01", "2022-10-31")),
    ("у лютому 2024", span("2024-02-01", "2024-02-29")),
    ("2022 року", span("2022-01-01", "2022-12-31")),
    ("у 2022 році", span("2022-01-01", "2022-12-31")),
    ("в 2023 году", span("2023-01-01", "2023-12-31")),
    ("у 2022", span("2022-01-01", "2022-12-31")),
    ("з березня по травень 2022", span("2022-03-01", "2022-05-31")),
    ("с марта по май 2022 года", span("2022-03-01", "2022-05-31")),
    ("з березня до травня 2022", span("2022-03-01", "2022-05-31")),
    ("між березнем і травнем 2022", span("2022-03-01", "2022-05-31")),
    ("между мартом и маем 2022", span("2022-03-01", "2022-05-31")),
    ("1-15 березня 2022", span("2022-03-01", "2022-03-15")),
    ("з 1 по 15 березня 2022", span("2022-03-01", "2022-03-15")),
    ("с 1 до 15 марта 2022 года", span("2022-03-01", "2022-03-15")),
    ("з 1 березня по 15 квітня 2022", span("2022-03-01", "2022-04-15")),
]


@pytest.mark.parametrize("today", TODAYS, ids=str)
@pytest.mark.parametrize(("text", "expected"), UK_RU_ABSOLUTE)
def test_ukrainian_and_russian_absolute(text, expected, today):
    check(text, today, expected)


UK_RU_RELATIVE = [
    ("26 січня", day("2026-01-26"), day("2022-01-26")),
    ("26 января", day("2026-01-26"), day("2022-01-26")),
    ("у березні", span("2025-03-01", "2025-03-31"), span("2022-03-01", "2022-03-31")),
    ("в марте", span("2025-03-01", "2025-03-31"), span("2022-03-01", "2022-03-31")),
    ("сьогодні", day("2026-02-02"), day("2022-10-31")),
    ("сегодня", day("2026-02-02"), day("2022-10-31")),
    ("вчора", day("2026-02-01"), day("2022-10-30")),
    ("вчера", day("2026-02-01"), day("2022-10-30")),
    ("позавчора", day("2026-01-31"), day("2022-10-29")),
    ("позавчера", day("2026-01-31"), day("2022-10-29")),
    ("3 дні тому", day("2026-01-30"), day("2022-10-28")),
    ("3 дня назад", day("2026-01-30"), day("2022-10-28")),
    ("тиждень тому", span("2026-01-26", "2026-02-01"), span("2022-10-24", "2022-10-30")),
    ("неделю назад", span("2026-01-26", "2026-02-01"), span("2022-10-24", "2022-10-30")),
    ("минулого тижня", span("2026-01-26", "2026-02-01"), span("2022-10-24", "2022-10-30")),
    ("на минулому тижні", span("2026-01-26", "2026-02-01"), span("2022-10-24", "2022-10-30")),
    ("на прошлой неделе", span("2026-01-26", "2026-02-01"), span("2022-10-24", "2022-10-30")),
    ("цього тижня", span("2026-02-02", "2026-02-02"), span("2022-10-31", "2022-10-31")),
    ("на этой неделе", span("2026-02-02", "2026-02-02"), span("2022-10-31", "2022-10-31")),
    ("за останній тиждень", span("2026-01-27", "2026-02-02"), span("2022-10-25", "2022-10-31")),
    ("за последнюю неделю", span("2026-01-27", "2026-02-02"), span("2022-10-25", "2022-10-31")),
    ("за останні 2 тижні", span("2026-01-20", "2026-02-02"), span("2022-10-18", "2022-10-31")),
    ("за последние 3 дня", span("2026-01-31", "2026-02-02"), span("2022-10-29", "2022-10-31")),
    ("минулого місяця", span("2026-01-01", "2026-01-31"), span("2022-09-01", "2022-09-30")),
    ("в прошлом месяце", span("2026-01-01", "2026-01-31"), span("2022-09-01", "2022-09-30")),
    ("цього року", span("2026-01-01", "2026-02-02"), span("2022-01-01", "2022-10-31")),
    ("в этом году", span("2026-01-01", "2026-02-02"), span("2022-01-01", "2022-10-31")),
    ("торік", span("2025-01-01", "2025-12-31"), span("2021-01-01", "2021-12-31")),
    ("в прошлом году", span("2025-01-01", "2025-12-31"), span("2021-01-01", "2021-12-31")),
    ("нещодавно", span("2026-01-27", "2026-02-02"), span("2022-10-25", "2022-10-31")),
    ("останнім часом", span("2026-01-27", "2026-02-02"), span("2022-10-25", "2022-10-31")),
    ("в последнее время", span("2026-01-27", "2026-02-02"), span("2022-10-25", "2022-10-31")),
    ("з березня 2022", span("2022-03-01", "2026-02-02"), span("2022-03-01", "2022-10-31")),
    ("с марта 2022 года", span("2022-03-01", "2026-02-02"), span("2022-03-01", "2022-10-31")),
    ("після 1 березня 2022", span("2022-03-02", "2026-02-02"), span("2022-03-02", "2022-10-31")),
    ("останній звіт", None, None),
    ("последние новости", None, None),
]


@pytest.mark.parametrize(("text", "on_t1", "on_t2"), UK_RU_RELATIVE)
def test_ukrainian_and_russian_relative(text, on_t1, on_t2):
    check(text, T1, on_t1)
    check(text, T2, on_t2)


@pytest.mark.parametrize(
    ("text", "rest"),
    [
        ("Що сталося 26 січня 2024 року?", "Що сталося?"),
        ("Что произошло с Крымским мостом в октябре 2022?", "Что произошло с Крымским мостом?"),
        ("Бахмут минулого тижня", "Бахмут"),
        ("Что было на прошлой неделе в Авдеевке?", "Что было в Авдеевке?"),
    ],
)
def test_ukrainian_and_russian_dates_are_taken_out(text, rest):
    assert parse_dates(text, T1).text == rest


@pytest.mark.parametrize(
    "text",
    ["лютий бій за місто", "Що з Бахмутом?", "мая", "ракети 2022 типу", "5 тисяч військових"],
)
def test_ukrainian_and_russian_non_dates(text):
    check(text, T1, None)
