"""Korean numbers with 만/억/천 units read as the numbers English reports write."""

from __future__ import annotations

from decimal import Decimal

import pytest

from retrieval.numbers import cyrillic_numbers, english_forms, korean_numbers


@pytest.mark.parametrize(
    ("text", "written", "value", "forms"),
    [
        ("시리아 용병 최대 1만6천명 투입", "1만6천", 16_000, ("16,000",)),
        ("1만 6000명", "1만 6000", 16_000, ("16,000",)),
        ("반도체 17억 달러어치", "17억", 1_700_000_000, ("1.7 billion", "1,700,000,000")),
        ("12억5천만 달러", "12억5천만", 1_250_000_000, ("1.25 billion", "1,250,000,000")),
        ("예비군 30만 명 동원", "30만", 300_000, ("300,000",)),
        ("3천 5백 명", "3천 5백", 3_500, ("3,500",)),
        ("1.5만 명", "1.5만", 15_000, ("15,000",)),
        ("300만 명", "300만", 3_000_000, ("3 million", "3,000,000")),
    ],
)
def test_korean_numbers(text, written, value, forms):
    [number] = korean_numbers(text)
    assert (number.text, number.value, number.forms) == (written, Decimal(value), forms)


@pytest.mark.parametrize(
    "text", ["2024년 1월 26일", "16,000명", "4개 지역", "천 명", "HIMARS 8대", ""]
)
def test_plain_digits_and_words_are_not_korean_numbers(text):
    assert korean_numbers(text) == []


def test_a_year_after_a_number_stays_apart():
    assert [n.value for n in korean_numbers("30만 2022년")] == [Decimal(300_000)]


def test_english_forms_of_fractions():
    assert english_forms(Decimal("2500000.5")) == ("2.5000005 million", "2500000.5")


def test_a_korean_number_finds_the_passage_with_the_english_one(qa):
    assert ["17억", "1.7 billion", "1,700,000,000"] in qa.concepts("반도체 17억 달러어치")
    assert "1.7 billion" in qa.dense_hints("반도체 17억 달러어치")
    # Only an English report (2025-12-17) says "nearly 410,000 Russians have signed contracts".
    question = "41만 명 계약"
    [(top, _), *_] = qa.lexical.search_concepts(question, qa.concepts(question), 5)
    assert "410,000" in qa.catalog.chunks[top].text


@pytest.mark.parametrize(
    ("text", "forms"),
    [
        ("16 тисяч військових", ("16,000",)),
        ("близько 10 тисячами", ("10,000",)),
        ("300 тыс. мобилизованных", ("300,000",)),
        ("300 тысяч мобилизованных", ("300,000",)),
        ("1,7 млрд доларів", ("1.7 billion", "1,700,000,000")),
        ("2,5 мільйона", ("2.5 million", "2,500,000")),
        ("5 млн", ("5 million", "5,000,000")),
        ("1,5 миллиарда долларов", ("1.5 billion", "1,500,000,000")),
    ],
)
def test_ukrainian_and_russian_numbers(text, forms):
    found = cyrillic_numbers(text)
    assert len(found) == 1
    assert found[0].forms == forms


@pytest.mark.parametrize("text", ["2022 року", "5 тисячоліть", "Бахмут", "16,000"])
def test_ukrainian_and_russian_non_numbers(text):
    assert cyrillic_numbers(text) == []
