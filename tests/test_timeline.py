"""A topic's timeline on the corpus slice with the real model: the weekly counts against a
direct count over the store's takeaways, the peaks, the names, the chart (rendered with Hangul
and without missing glyphs) and `reportbot timeline`."""

from __future__ import annotations

import io
import json
import re
import warnings
from collections import Counter
from datetime import date, timedelta

import pytest
from PIL import Image

from bot import timeline_chart
from bot.cli import main
from bot.i18n import label
from bot.timeline_chart import render_timeline
from retrieval.gazetteer import Gazetteer

pytestmark = pytest.mark.slow


def monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def direct_weekly_counts(store, forms: list[str]) -> list[dict]:
    """Every committed takeaway in the store (one per report and position, whatever its
    languages) that contains one of `forms` (Latin and Cyrillic as whole words, any case;
    Hangul at any place, particles glued on), counted per week from the oldest report's week to
    the newest's."""
    reports = store.reports()
    rows = store.chunks.get(where={"kind": "takeaway"}, include=["documents", "metadatas"])
    texts: dict[tuple[str, int], list[str]] = {}
    for text, meta in zip(rows["documents"], rows["metadatas"], strict=True):
        entry = reports.get(meta["report_id"])
        if entry is None or meta["version"] != entry.version:
            continue  # not committed
        texts.setdefault((meta["report_id"], int(meta["position"])), []).append(text)
    patterns = [
        re.compile(re.escape(f))
        if re.search(r"[\uac00-\ud7a3]", f)
        else re.compile(rf"(?<![\w-]){re.escape(f)}(?!\w)", re.IGNORECASE)
        for f in forms
    ]
    mentions = Counter(
        monday(reports[rid].report_date)
        for (rid, _), versions in texts.items()
        if any(p.search(t) for t in versions for p in patterns)
    )
    per_week = Counter(monday(r.report_date) for r in reports.values())
    week, last, out = min(per_week), max(per_week), []
    while week <= last:
        out.append({"week": week.isoformat(), "count": mentions[week], "reports": per_week[week]})
        week += timedelta(days=7)
    return out


def test_cli_weekly_counts_equal_a_direct_count_over_the_store(slice_store, slice_data_dir, capsys):
    assert main(["--data-dir", str(slice_data_dir), "timeline", "Avdiivka", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    forms = Gazetteer.load().forms("avdiivka")
    expected = direct_weekly_counts(slice_store, forms)
    assert data["weeks"] == expected
    assert data["total"] == sum(w["count"] for w in expected) > 0
    assert set(forms) <= set(data["forms"])
    assert data["name"] == "Avdiivka" and data["lang"] == "en"


def test_the_timeline_counts_what_topic_lists(qa):
    for term in ("아브디이프카", "Avdiivka", "Kherson", "Putin"):
        timeline = qa.timeline(term)
        listed = qa.topic(term, limit=100_000).results
        assert timeline.total == len(listed) == sum(w.count for w in timeline.weeks), term
        per_week = Counter(monday(r.report_date) for r in listed)
        assert {w.week: w.count for w in timeline.weeks if w.count} == dict(per_week)
        busiest = sorted(per_week.items(), key=lambda kv: (kv[1], kv[0]), reverse=True)[:3]
        assert [(p.week, p.count) for p in timeline.peaks] == busiest
        for peak in timeline.peaks:
            # The week's newest takeaway that mentions it (the first /topic lists of that week).
            of_week = [r for r in listed if monday(r.report_date) == peak.week]
            assert peak.takeaway == of_week[0]
        assert timeline.first.report_date == min(r.report_date for r in listed)
        assert timeline.last == listed[0]


def test_weeks_cover_the_store_from_its_oldest_to_its_newest_report(qa):
    timeline = qa.timeline("Avdiivka")
    stats = qa.stats()
    weeks = [w.week for w in timeline.weeks]
    assert weeks[0] == monday(stats.oldest) and weeks[-1] == monday(stats.newest)
    assert all(b - a == timedelta(days=7) for a, b in zip(weeks, weeks[1:], strict=False))
    assert sum(w.reports for w in timeline.weeks) == stats.reports


def test_the_name_is_in_the_readers_language(qa):
    assert qa.timeline("Avdiivka", lang="ko").name == "아브디이프카"
    assert qa.timeline("아브디이프카").name == "아브디이프카"
    assert qa.timeline("아브디이프카", lang="en").name == "Avdiivka"
    assert qa.timeline("Avdiivka", lang="uk").name == "Авдіївка"
    assert qa.timeline("Zzyzxville").name == "Zzyzxville"


def test_a_term_nothing_mentions(qa):
    timeline = qa.timeline("Zzyzxville")
    assert timeline.total == 0 and timeline.note == "no_topic"
    assert timeline.peaks == [] and timeline.first is None and timeline.last is None
    assert timeline.weeks and not any(w.count for w in timeline.weeks)


@pytest.mark.parametrize(("term", "lang"), [("아브디이프카", None), ("Avdiivka", "uk")])
def test_the_chart_renders_every_glyph(qa, term, lang):
    timeline = qa.timeline(term, lang=lang)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a missing glyph is a UserWarning: here, a failure
        png = render_timeline(timeline)
    image = Image.open(io.BytesIO(png))
    image.load()
    assert image.format == "PNG" and image.width >= 600 and image.height >= 300


def test_the_glyph_check_catches_a_font_without_hangul(qa, monkeypatch):
    """The control: drawn with DejaVu Sans alone, Hangul is missing, and the test above would
    have failed."""
    monkeypatch.setattr(timeline_chart, "font_families", lambda: ["DejaVu Sans"])
    monkeypatch.setattr(timeline_chart, "has_hangul_font", lambda: True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(UserWarning, match="Glyph .* missing from font"):
            render_timeline(qa.timeline("아브디이프카"))


def test_without_a_hangul_font_the_chart_falls_back_to_english(qa, monkeypatch):
    monkeypatch.setattr(timeline_chart, "font_families", lambda: ["DejaVu Sans"])
    monkeypatch.setattr(timeline_chart, "has_hangul_font", lambda: False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        png = render_timeline(qa.timeline("아브디이프카"))
    assert Image.open(io.BytesIO(png)).width >= 600


def test_cli_writes_the_chart_and_prints_the_peaks(slice_store, slice_data_dir, tmp_path, capsys):
    out = tmp_path / "chart.png"
    code = main(["--data-dir", str(slice_data_dir), "timeline", "아브디이프카", "--out", str(out)])
    assert code == 0
    image = Image.open(out)
    assert image.format == "PNG" and image.width >= 600
    printed = capsys.readouterr().out
    assert label("ko", "timeline_peaks") in printed
    assert f"{label('ko', 'timeline_first')}: [" in printed
    assert f"chart: {out}" in printed


def test_the_terminal_chat_gives_the_timeline_as_text(qa):
    from bot.chat import respond

    text = respond(qa, "/timeline 아브디이프카")
    timeline = qa.timeline("아브디이프카")
    assert text.splitlines()[0].startswith(f"아브디이프카: 핵심 요점 {timeline.total}개가 언급")
    assert label("ko", "timeline_peaks") in text
    assert respond(qa, "/timeline") == label("en", "usage_timeline")
