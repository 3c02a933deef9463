"""The answers of issue 2's acceptance criteria, on a real slice of the corpus with the real model."""

from __future__ import annotations

import json
from datetime import date

import pytest

from bot.cli import main

pytestmark = pytest.mark.slow
SEED_DAY = date(2024, 1, 26)


def test_latest_is_the_newest_report(qa):
    answer = qa.latest()
    assert answer.results
    assert {r.report_date for r in answer.results} == {date(2026, 2, 2)}
    assert all(r.kind == "takeaway" for r in answer.results)


def test_topic_in_korean_finds_the_korean_takeaway(qa):
    answer = qa.topic("아브디이프카")
    assert answer.lang == "ko"
    first = answer.results[0]
    assert first.report_date == SEED_DAY
    assert first.lang == "ko" and "아브디이프카" in first.text


def test_topic_in_english_finds_the_same_takeaway_and_answers_in_english(qa):
    answer = qa.topic("Avdiivka")
    hit = next(r for r in answer.results if r.report_date == SEED_DAY)
    assert hit.lang == "en" and "Avdiivka" in hit.text


def test_topic_lists_newest_first(qa):
    days = [r.report_date for r in qa.topic("Putin").results]
    assert days and days == sorted(days, reverse=True)


@pytest.mark.parametrize(
    "question",
    ["What did the Kremlin say about negotiations?", "크렘린이 협상에 대해 뭐라고 했어?"],
)
def test_negotiations_question_finds_the_seed_report(qa, question):
    answer = qa.ask(question)
    assert SEED_DAY in [r.report_date for r in answer.results[:3]]


def test_korean_question_gets_korean_text_where_the_report_has_it(qa):
    answer = qa.ask("크렘린이 협상에 대해 뭐라고 했어?")
    assert answer.lang == "ko"
    seed_hit = next(r for r in answer.results if r.report_date == SEED_DAY)
    assert seed_hit.lang == "ko"
    assert any("\uac00" <= ch <= "\ud7a3" for ch in seed_hit.text)


def test_date_question_returns_that_days_takeaways_in_order(qa):
    answer = qa.ask("2024년 1월 26일 핵심 요점", limit=20)
    assert [r.report_date for r in answer.results] == [SEED_DAY] * 10
    assert [r.position for r in answer.results] == sorted(r.position for r in answer.results)


def test_a_report_without_takeaways_answers_with_its_opening(qa):
    answer = qa.on_date("2022-10-09")
    assert answer.note == "no_takeaways"
    assert answer.results and all(r.kind == "passage" for r in answer.results)


def test_a_date_without_report_says_which_report_it_shows(qa):
    answer = qa.on_date("2024-01-27")
    assert answer.note == "nearest:2024-01-26"
    assert answer.results[0].report_date == SEED_DAY


def test_exact_names_and_numbers_rank_their_takeaway_first(qa):
    for question in ("Il-76 crash", "$1.7 billion microchips", "234th Airborne Regiment"):
        assert qa.ask(question).results[0].report_date == SEED_DAY, question


def test_cli_json_shape(slice_store, slice_data_dir, capsys):
    assert main(["--data-dir", str(slice_data_dir), "topic", "아브디이프카", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["command"] == "topic" and data["lang"] == "ko"
    first = data["results"][0]
    assert first["report_date"] == "2024-01-26"
    assert {"text", "lang", "kind", "report_title", "source", "score", "url"} <= set(first)
    # Every HTML page and the February clip of the slice carry their address.
    linked = {r["report_date"]: r["url"] for r in data["results"] if r["url"]}
    assert all(
        u.startswith("https://www.understandingwar.org/")
        for d, u in linked.items()
        if d.startswith("2022")
    )


def test_cli_batch_answers_one_json_line_per_query(slice_store, slice_data_dir, tmp_path, capsys):
    batch = tmp_path / "questions.txt"
    batch.write_text('Il-76\n{"query": "아브디이프카"}\n\n', encoding="utf-8")
    assert main(["--data-dir", str(slice_data_dir), "ask", "--json", "--batch", str(batch)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [json.loads(line)["query"] for line in lines] == ["Il-76", "아브디이프카"]


def test_a_date_without_a_year_means_the_latest_year_the_store_covers(qa):
    """The newest report is from 2026; "10월 8일" has no report in 2025, but one in 2022."""
    newest = qa.stats().newest
    assert newest is not None and newest.year > 2022
    for expression in ("10월 8일", "October 8"):
        answer = qa.on_date(expression)
        assert answer.results, expression
        assert {r.report_date for r in answer.results} == {date(2022, 10, 8)}, expression
        assert answer.note is None
    asked = qa.ask("10월 8일 핵심 요점")
    assert {r.report_date for r in asked.results} == {date(2022, 10, 8)}


@pytest.mark.parametrize(
    "term", ["Avdiivka", "아브디이프카", "Kherson", "Putin", "Wagner", "bridge", "크림", "drone"]
)
def test_topic_finds_exactly_the_takeaways_a_full_scan_finds(qa, term):
    """MentionIndex (str.find, then the rule) agrees with checking every takeaway by the rule."""
    import re

    matchers: list[re.Pattern[str]] = qa.mention_matchers(term)
    expected = []
    for rid, views in qa.catalog.takeaways.items():
        day = qa.catalog.reports[rid].report_date
        for view in views:
            if any(m.search(t) for t in view.texts.values() for m in matchers):
                expected.append((day, view.position, rid))
    expected.sort(key=lambda row: (-row[0].toordinal(), row[1]))
    got = qa.topic(term, limit=1000).results
    assert [(r.report_date, r.position, r.report_id) for r in got] == expected


@pytest.mark.parametrize(
    "question",
    [
        "What did the Kremlin say about negotiations in 2023?",  # no report from 2023
        "2023년 크렘린 협상 입장",
    ],
)
def test_a_date_with_no_report_gives_the_best_matches_from_other_dates(qa, question):
    """The year names the event's time, not the report's: the answer is in a later report."""
    answer = qa.ask(question)
    assert answer.note == "other_dates"
    assert date(2024, 1, 26) in [r.report_date for r in answer.results[:3]]


def test_matches_inside_the_date_range_come_first(qa):
    answer = qa.ask("October 8 Kerch bridge")
    assert answer.note is None
    assert answer.results[0].report_date == date(2022, 10, 8)
    inside = [r.report_date == date(2022, 10, 8) for r in answer.results]
    # Once a match from elsewhere appears, no match from inside the range follows it.
    assert inside == sorted(inside, reverse=True)


def test_a_date_range_that_never_names_the_place_gives_way_to_reports_that_do(qa):
    """The newest report (the store's last week) has fighting elsewhere but never names
    Avdiivka; "recently" must not fill the answer with its news about other places."""
    answer = qa.ask("최근 아우디이우카 전투")
    assert answer.note == "other_dates"
    assert answer.results[0].report_date == date(2024, 1, 26)
    assert "아브디이프카" in answer.results[0].text


def test_the_answerers_stats_come_from_its_indexes_and_equal_the_stores(qa):
    """/stats and the terminal chat's greeting count what questions are answered from, without
    asking Chroma (whose chunk count loads the whole vector index), and agree with it."""
    stats = qa.stats()
    assert stats.reports > 0 and stats.chunks > stats.reports
    assert stats == qa.store.stats()
