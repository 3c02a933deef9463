"""Answers as plain text for the terminal (Telegram HTML lives in bot/telegram_format.py)."""

from __future__ import annotations

import re

from bot.i18n import english_marker, label, note_text
from retrieval.gloss import gloss_line
from retrieval.models import Answer, Result, StoreStats, Timeline

# Report text must not be able to move the cursor, recolour or clear a terminal.
_CONTROL = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def clean_terminal(text: str) -> str:
    return _CONTROL.sub("", text)


def format_stats(stats: StoreStats, lang: str) -> str:
    """What /stats says: how many reports, from when to when, how many takeaways."""
    return label(
        lang,
        "stats",
        reports=stats.reports,
        oldest=stats.oldest or "—",
        newest=stats.newest or "—",
        takeaways=stats.takeaways,
    )


def result_lines(result: Result, lang: str, index: int) -> list[str]:
    day = result.report_date.isoformat()
    kind = label(lang, "takeaway" if result.kind == "takeaway" else "passage")
    marker = english_marker(result.lang, lang)
    lines = [f"{index}. [{day}] {clean_terminal(result.text)}{marker}", f"   — {kind}, {day}"]
    if result.url:
        lines[-1] += f" · {clean_terminal(result.url)}"
    if result.gloss:
        lines.insert(1, f"   🔎 {clean_terminal(gloss_line(result.gloss))}")
    if result.translated_by and result.original_text:
        lines[0] += " " + label(lang, "machine_translation")
        lines.insert(1, f"   ISW: {clean_terminal(result.original_text)}")
    if result.supporting:
        lines.append(f"   {label(lang, 'supporting')}: {clean_terminal(result.supporting)}")
    if result.also_reported:
        dates = ", ".join(d.isoformat() for d in result.also_reported[:5])
        lines.append(
            "   " + label(lang, "also_reported", count=len(result.also_reported), dates=dates)
        )
    return lines


def format_answer(answer: Answer) -> str:
    lines: list[str] = []
    note = note_text(answer.lang, answer.note, answer.query)
    if note:
        lines.append(note)
    for i, result in enumerate(answer.results, 1):
        lines += result_lines(result, answer.lang, i)
    return "\n".join(lines)


def format_timeline(timeline: Timeline) -> str:
    """A timeline for the terminal: how many takeaways mention the term over which weeks, the
    busiest weeks with one takeaway each, the first and last mention."""
    lang = timeline.lang
    if not timeline.total:
        return label(lang, "no_topic", query=timeline.term)
    start, end = timeline.weeks[0].week.isoformat(), timeline.weeks[-1].week.isoformat()
    name = clean_terminal(timeline.name)
    lines = [label(lang, "timeline_head", name=name, total=timeline.total, start=start, end=end)]
    if timeline.peaks:
        lines.append(label(lang, "timeline_peaks") + ":")
    for peak in timeline.peaks:
        week = label(lang, "timeline_week", week=peak.week.isoformat(), count=peak.count)
        lines.append(f"  {week}: {_dated(peak.takeaway, lang)}")
    for result, key in ((timeline.first, "timeline_first"), (timeline.last, "timeline_last")):
        if result is not None:
            lines.append(f"{label(lang, key)}: {_dated(result, lang)}")
    return "\n".join(lines)


def _dated(result: Result, lang: str) -> str:
    marker = english_marker(result.lang, lang)
    return f"[{result.report_date.isoformat()}] {clean_terminal(result.text)}{marker}"
