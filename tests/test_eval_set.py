"""The evaluation set (benchmarks/eval/questions.jsonl) is well-formed and points at real reports.

Fast and model-free: it only parses the JSON lines and greps the raw source files."""

from __future__ import annotations

import csv
import datetime as dt
import html
import json
import re
from functools import cache
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
QUESTIONS = REPO / "benchmarks" / "eval" / "questions.jsonl"
SHARED = REPO.parent / "shared"
CORPUS = SHARED / "corpus"
SOURCES = CORPUS / "SOURCES.tsv"
SEED = SHARED / "seed" / "000_859c8f8a3315b5de.txt"
SEED_DATE = "2024-01-26"
LATEST = "2026-02-02"

FIELDS = {
    "id",
    "kind",
    "lang",
    "query",
    "expect_dates",
    "date_window_days",
    "expect_terms",
    "answer_langs",
}
KINDS = {"ask", "topic", "date", "latest"}
LANGS = {"en", "ko"}
HANGUL = re.compile(r"[\uac00-\ud7a3]")


def load() -> list[dict]:
    rows = []
    for number, line in enumerate(QUESTIONS.read_text(encoding="utf-8").splitlines(), 1):
        assert line.strip(), f"line {number} is blank"
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as exc:  # pragma: no cover - the message is the point
            pytest.fail(f"line {number} is not JSON: {exc}")
    return rows


ROWS = load()


@cache
def sources() -> dict[str, list[Path]]:
    """report_date -> its source files (SOURCES.tsv plus the seed)."""
    if not SOURCES.exists():
        pytest.skip(f"corpus not found at {CORPUS}")
    by_date: dict[str, list[Path]] = {}
    with SOURCES.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            name = row["file"]
            folder = "markdown" if name.endswith(".md") else "isw-html"
            by_date.setdefault(row["report_date"], []).append(CORPUS / folder / name)
    by_date.setdefault(SEED_DATE, []).append(SEED)
    return by_date


@cache
def source_text(path: Path) -> str:
    """The raw file, entities decoded, whitespace (incl. nbsp) collapsed, lower-cased."""
    return " ".join(
        html.unescape(path.read_text(encoding="utf-8", errors="replace")).split()
    ).lower()


def test_enough_questions_and_unique_ids():
    assert len(ROWS) >= 100
    ids = [row.get("id") for row in ROWS]
    assert len(ids) == len(set(ids)), "duplicate ids"


@pytest.mark.parametrize("row", ROWS, ids=lambda row: str(row.get("id")))
def test_fields_and_enums(row):
    assert set(row) == FIELDS
    assert re.fullmatch(r"q\d{3,}", row["id"])
    assert row["kind"] in KINDS
    assert row["lang"] in LANGS
    assert isinstance(row["query"], str) and row["query"].strip()
    if row["lang"] == "ko":
        assert HANGUL.search(row["query"]), "a Korean question without Hangul"
    dates = row["expect_dates"]
    assert isinstance(dates, list) and dates
    assert len(dates) == len(set(dates))
    for value in dates:
        assert dt.date.fromisoformat(value).isoformat() == value
    assert row["date_window_days"] in (0, 1, 2)
    terms = row["expect_terms"]
    assert isinstance(terms, list) and 1 <= len(terms) <= 4
    assert all(isinstance(t, str) and t.strip() for t in terms)
    assert any(not HANGUL.search(t) for t in terms), "needs at least one English term"
    langs = row["answer_langs"]
    assert langs in (["en"], ["en", "ko"])
    # Korean answers exist only for the bilingual seed report.
    assert (langs == ["en", "ko"]) == (SEED_DATE in dates)
    if row["kind"] == "latest":
        assert dates == [LATEST]
    if row["kind"] == "date":
        assert len(dates) == 1


def test_language_mix():
    korean = [row for row in ROWS if row["lang"] == "ko"]
    assert len(korean) * 2 >= len(ROWS), "at least half the questions are Korean"
    assert sum(row["answer_langs"] == ["en"] for row in korean) >= 25
    assert sum(row["kind"] == "latest" for row in ROWS) >= 2


def test_product_examples_present():
    by_query = {row["query"]: row for row in ROWS}
    for query in (
        "What did the Kremlin say about negotiations?",
        "크렘린이 협상에 대해 뭐라고 했어?",
    ):
        assert SEED_DATE in by_query[query]["expect_dates"]
    assert by_query["아브디이프카"]["kind"] == "topic"
    assert SEED_DATE in by_query["아브디이프카"]["expect_dates"]
    assert "What happened near Avdiivka?" in by_query


@pytest.mark.parametrize("row", ROWS, ids=lambda row: str(row.get("id")))
def test_dates_are_reports_and_terms_occur(row):
    known = sources()
    for value in row["expect_dates"]:
        assert value in known, f"{value} is not a report date"
    texts = [source_text(path) for value in row["expect_dates"] for path in known[value]]
    terms = [" ".join(term.split()).lower() for term in row["expect_terms"]]
    assert any(term in text for term in terms for text in texts), (
        f"none of {row['expect_terms']} occurs in the sources of {row['expect_dates']}"
    )


def test_topic_precision_counts_shown_results_that_mention_the_term():
    from retrieval.evaluation import Question, evaluate, format_table
    from retrieval.models import Answer, Result

    def result(text: str, day: str) -> Result:
        return Result(
            report_id=f"r-{day}",
            report_date=dt.date.fromisoformat(day),
            text=text,
            lang="en",
            kind="takeaway",
            report_title="t",
            source="s",
            score=1.0,
        )

    question = Question(
        id="t1",
        kind="topic",
        lang="en",
        query="Avdiivka",
        expect_dates=[dt.date(2024, 1, 26)],
        expect_terms=["Avdiivka", "아브디이프카"],
    )
    shown = [
        result("Russian forces attacked near AVDIIVKA.", "2024-01-26"),
        result("아브디이프카 방향 공격", "2024-01-25"),
        result("Nothing about it.", "2024-01-24"),
        result("Also nothing.", "2024-01-23"),
    ]
    scores = evaluate(
        [question],
        {"sys": lambda q: Answer(command="topic", query=q.query, lang="en", results=shown)},
    )
    topic = scores["sys"]["kind:topic"]
    assert topic["shown"] == 4 and topic["precision"] == 0.5
    assert topic["recall@1"] == 1.0
    assert "/topic precision, sys: 0.500 (4 results shown" in format_table(scores)
