"""A topic's mentions counted week by week (weeks start on Monday), over every week the store
covers: from the week of its oldest report to the week of its newest, empty weeks included."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date, timedelta

from retrieval.models import WeekCount

WEEK = timedelta(days=7)


def week_of(day: date) -> date:
    """The Monday of the week `day` falls in."""
    return day - timedelta(days=day.weekday())


def weekly_counts(mentions: Iterable[date], report_days: Iterable[date]) -> list[WeekCount]:
    """One row per week from the oldest report's week to the newest's: how many of `mentions`
    (one date per mentioning takeaway) and of `report_days` (one per report) fall in it."""
    reports = Counter(week_of(d) for d in report_days)
    if not reports:
        return []
    counts = Counter(week_of(d) for d in mentions)
    week, last = min(reports), max(reports)
    rows: list[WeekCount] = []
    while week <= last:
        rows.append(WeekCount(week=week, count=counts.get(week, 0), reports=reports.get(week, 0)))
        week += WEEK
    return rows


def busiest(weeks: list[WeekCount], n: int = 3) -> list[WeekCount]:
    """The `n` weeks with the most mentions (none without any), most first; a tie goes to the
    newer week."""
    ranked = sorted((w for w in weeks if w.count), key=lambda w: (w.count, w.week), reverse=True)
    return ranked[:n]
