"""Ukrainian and Russian questions on a real slice of the corpus with the real model: names in
any case, dates in their words, answers labelled in the reader's language (issue 15)."""

from __future__ import annotations

from datetime import date

import pytest

pytestmark = pytest.mark.slow
SEED_DAY = date(2024, 1, 26)
BRIDGE_DAY = date(2022, 10, 8)  # the Kerch Strait Bridge explosion


@pytest.mark.parametrize(
    "question",
    [
        "Что произошло с Крымским мостом в октябре 2022?",
        "Що сталося з Кримським мостом у жовтні 2022 року?",
        "вибух на Керченському мосту",
        "взрыв на Керченском мосту",
    ],
)
def test_the_bridge_in_any_case_finds_the_explosion(qa, question):
    answer = qa.ask(question)
    assert BRIDGE_DAY in [r.report_date for r in answer.results[:3]], answer.results


@pytest.mark.parametrize(
    ("question", "lang"),
    [
        ("Що сказав Кремль про переговори?", "uk"),
        ("Что Кремль сказал о переговорах?", "ru"),
        ("Що казали в Кремлі про переговори 26 січня 2024 року?", "uk"),
        ("Что говорили в Кремле о переговорах 26 января 2024 года?", "ru"),
    ],
)
def test_negotiations_in_ukrainian_and_russian_find_the_seed_report(qa, question, lang):
    answer = qa.ask(question)
    assert answer.lang == lang
    assert SEED_DAY in [r.report_date for r in answer.results[:3]]


@pytest.mark.parametrize(
    "question", ["Що сталося 26 січня 2024 року?", "Что произошло 26 января 2024 года?"]
)
def test_a_date_question_lists_that_reports_takeaways(qa, question):
    answer = qa.ask(question, limit=20)
    assert answer.results
    assert {r.report_date for r in answer.results} == {SEED_DAY}
    assert [r.position for r in answer.results] == sorted(r.position for r in answer.results)


@pytest.mark.parametrize("term", ["Авдіївка", "Авдіївки", "Авдіївці", "Авдеевке", "Авдеевкой"])
def test_topic_takes_a_name_in_any_case(qa, term):
    answer = qa.topic(term)
    assert SEED_DAY in [r.report_date for r in answer.results]
    assert all("Avdiivka" in r.text or "아브디이프카" in r.text for r in answer.results)
