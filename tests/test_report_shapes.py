"""Every shape a report file comes in, and what is not a report.

Fixtures in tests/fixtures/shapes were written for these tests from the shapes users save
(datasets flattened the way research projects publish them, pastes from news sites, a crawl
whose URL names another day) and from files that are not reports. The real dataset in
../shared/datasets is checked against the corpus's own pages of the same reports.
"""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

import pytest

from bot.cli import main
from store.embedding import HashingEmbedder
from store.ingest import ingest, walk
from store.models import ParseError, SourceFormat, SourceHints
from store.parsers import parse_file, parse_path, parse_text
from store.parsers.flattened import unflatten
from store.parsers.report_date import DateEvidence, choose_report_date, eastern_date
from store.vector_store import ReportStore, open_client
from tests.conftest import CORPUS, SEED, SHARED

SHAPES = Path(__file__).parent / "fixtures" / "shapes"
DATASET = SHARED / "datasets" / "anivone-alarm-prediction-reports.json"

needs_shared = pytest.mark.skipif(not DATASET.exists(), reason="shared corpus not available")


def _outcomes(name: str) -> list[tuple[int, str | None, str | None]]:
    """(index, report date, failure/empty reason) per record of a fixture file."""
    return [
        (r.index, r.report.report_date.isoformat() if r.report else None, r.reason or None)
        for r in parse_path(SHAPES / name)
    ]


# --- datasets -----------------------------------------------------------------------------------


def test_json_list_with_nulls_empty_and_malformed_records() -> None:
    assert _outcomes("dataset-list.json") == [
        (0, None, "null record"),
        (1, "2023-06-06", None),
        (2, None, "empty record"),
        (3, None, "not a record but int"),
        (4, "2023-05-16", None),
        (5, None, "no report text in this record"),
        (6, None, "null record"),
    ]
    results = parse_path(SHAPES / "dataset-list.json")
    assert [r.empty for r in results] == [True, False, True, False, False, False, True]
    june = results[1].report
    assert june.source_format is SourceFormat.DATASET
    assert june.source.endswith("dataset-list.json#1")
    assert june.date_source == "dateline"  # "June 6, 8:30 pm ET", the year from the timestamp
    assert [t.texts["en"][:40] for t in june.takeaways] == [
        "Ukrainian officials accused Russian forc",
        "The flooding of the lower Dnipro River w",
        "Russian forces continued limited ground ",
    ]
    # The body's paragraphs come back apart, headings included, boilerplate dropped.
    assert any(p.heading == "Russian Main Effort—Eastern Ukraine" for p in june.passages)
    assert not any("We do not report" in p.text for p in june.passages)
    # No dateline: the latest day the topline and takeaways mention ("May 15 to 16").
    assert results[4].report.date_source == "mentioned"


def test_json_object_with_the_list_under_some_key() -> None:
    results = parse_path(SHAPES / "dataset-nested.json")
    assert [(r.report.report_date.isoformat(), r.report.date_source) for r in results] == [
        ("2023-05-16", "title"),
        ("2023-06-06", "title"),
    ]
    assert results[0].report.title == "Russian Offensive Campaign Assessment, May 16, 2023"


def test_single_json_object_with_paragraphs_as_a_list() -> None:
    (result,) = parse_path(SHAPES / "dataset-single.json")
    report = result.report
    assert report.report_date == date(2023, 6, 6)
    assert report.authors == ["Riley Bailey", "Karolina Hird", "Frederick W. Kagan"]
    assert len(report.takeaways) == 3


def test_json_lines_with_a_broken_line() -> None:
    assert _outcomes("dataset.jsonl") == [
        (0, "2023-06-06", None),
        (1, None, "not valid JSON"),
        (2, None, "null record"),
        (3, "2023-05-16", None),
    ]


@pytest.mark.parametrize("name", ["dataset.csv", "dataset.tsv"])
def test_tables(name: str) -> None:
    dates = [d for _, d, _ in _outcomes(name) if d]
    assert dates == ["2023-06-06", "2023-05-16"]


def test_fields_are_found_by_content_not_by_name(tmp_path: Path) -> None:
    body = json.loads((SHAPES / "dataset-list.json").read_text(encoding="utf-8"))[1]["body"]
    path = tmp_path / "odd.json"
    path.write_text(
        json.dumps([{"x1": "2023-06-07T01:12:00Z", "zz": body, "q": "https://example.org/a"}]),
        encoding="utf-8",
    )
    (result,) = parse_path(path)
    assert result.report.report_date == date(2023, 6, 6)


def test_a_table_without_report_text_is_not_a_dataset(tmp_path: Path) -> None:
    path = tmp_path / "SOURCES.tsv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t")
        writer.writerow(["file", "report_date", "notes"])
        writer.writerow(["a.html", "2022-02-24", "full report"])
    with pytest.raises(ParseError, match="not a dataset of reports"):
        parse_path(path)


@needs_shared
def test_real_dataset_matches_the_corpus_pages() -> None:
    """Every report of the real dataset gets exactly its page's date and takeaways."""
    results = parse_path(DATASET)
    assert len(results) == 365
    assert sum(r.empty for r in results) == 296
    reports = [r.report for r in results if r.report is not None]
    assert len(reports) == 69
    rows = list(csv.DictReader((CORPUS / "SOURCES.tsv").open(encoding="utf-8"), delimiter="\t"))
    pages = {row["report_date"]: CORPUS / "isw-html" / row["file"] for row in rows}
    for report in reports:
        page = parse_file(pages[report.report_date.isoformat()])
        assert page.report_date == report.report_date
        mine = [" ".join(t.texts["en"].split()) for t in report.takeaways]
        theirs = [" ".join(t.texts["en"].split()) for t in page.takeaways]
        assert [m[:60] for m in mine] == [t[:60] for t in theirs], report.source


# --- pastes, crawls, file names -----------------------------------------------------------------


def test_paste_with_a_date_line_and_bullets_on_one_line() -> None:
    report = parse_file(SHAPES / "paste-date-line.txt")
    assert (report.report_date, report.date_source) == (date(2024, 1, 20), "date line")
    assert len(report.takeaways) == 4
    assert report.takeaways[0].texts["en"].startswith("Russian forces conducted a series")
    assert not report.passages  # the date line and the source note are not content


def test_paste_dated_by_its_takeaways_and_its_file_name(tmp_path: Path) -> None:
    report = parse_file(SHAPES / "2024-01-23_takeaways.txt")
    assert (report.report_date, report.date_source) == (date(2024, 1, 23), "mentioned")
    assert len(report.takeaways) == 4
    # The same paste with no year anywhere cannot be dated: refused, saying so.
    text = (SHAPES / "2024-01-23_takeaways.txt").read_text(encoding="utf-8")
    with pytest.raises(ParseError, match="no report date found"):
        parse_text(text, "takeaways.txt", SourceHints(file_name="takeaways.txt"))
    # Only the name: its date, when the text names no day at all.
    undated = "Key Takeaways from the ISW:\n- Russian forces attacked near Avdiivka.\n"
    got = parse_text(undated, "x", SourceHints(file_name="isw_2024-01-23.txt"))
    assert (got.report_date, got.date_source) == (date(2024, 1, 23), "file name")


def test_crawl_whose_url_names_another_day() -> None:
    report = parse_file(SHAPES / "crawl-mislabeled-url.md")
    assert report.report_date == date(2025, 12, 20)  # "on the night of December 19 and 20"
    assert report.date_source == "mentioned"
    assert len(report.takeaways) == 3
    assert any("URL says 2025-12-22" in w for w in report.warnings)


@pytest.mark.parametrize(
    "name", ["paste-run-together.txt", "paste-space-joined.txt", "dataset-single.json"]
)
def test_flattened_texts_keep_their_takeaways(name: str) -> None:
    (result,) = parse_path(SHAPES / name)
    takeaways = [t.texts["en"] for t in result.report.takeaways]
    assert len(takeaways) == 3
    assert all(t.endswith(".") and len(t) < 300 for t in takeaways)


# --- what is not a report -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("not-a-report-readme.md", "not an ISW assessment: no series title"),
        ("not-a-report-diary.txt", "not an ISW assessment"),
        ("not-a-report-notes.txt", "not an ISW assessment"),
        ("not-a-report-questions.txt", "not an ISW assessment"),
        ("not-a-report-news.txt", "not an ISW assessment"),
        ("not-a-report-code.py", "not an ISW assessment: this is source code"),
        ("report-dated-2099.txt", "report date 2099-01-26 is in the future"),
    ],
)
def test_refused_with_the_reason(name: str, reason: str) -> None:
    with pytest.raises(ParseError, match=reason) as info:
        parse_path(SHAPES / name)
    assert name in str(info.value) and "\n" not in str(info.value)


def test_a_date_before_the_first_assessment_is_refused() -> None:
    text = "Russian Offensive Campaign Assessment, January 26, 2021\n\nKey Takeaways\n- A.\n- B.\n"
    with pytest.raises(ParseError, match="before the first assessment"):
        parse_text(text, "old.txt")


# --- date evidence ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stamp", "day"),
    [
        ("2022-07-01T23:36:10.000Z", date(2022, 7, 1)),
        ("2022-10-04T00:42:58.000Z", date(2022, 10, 3)),  # evening in Washington
        ("2022-10-04T00:42:58+00:00", date(2022, 10, 3)),
        ("2025-12-23T15:04:00.335119", date(2025, 12, 23)),  # no zone: taken as UTC
        ("1656718570", date(2022, 7, 1)),  # epoch seconds
        ("2022-07-01", date(2022, 7, 1)),
        ("9999-12-31", None),
        ("soon", None),
    ],
)
def test_timestamps_are_read_in_us_eastern_time(stamp: str, day: date | None) -> None:
    assert eastern_date(stamp) == day


def test_the_report_s_own_date_beats_names_urls_and_stamps() -> None:
    evidence = DateEvidence(
        titles=["Russian Offensive Campaign Assessment, December 17"],
        file_name="2025-12-20_crawl.md",
        urls=[
            "https://understandingwar.org/x/russian-offensive-campaign-assessment-december-20-2025"
        ],
        timestamps=["2025-12-23T15:04:00"],
    )
    choice = choose_report_date(evidence, today=date(2026, 1, 1))
    assert (choice.day, choice.source) == (date(2025, 12, 17), "title")
    assert len(choice.warnings) == 3  # file name, URL and stamp all disagree by days


def test_a_quoted_date_of_another_year_does_not_lend_its_year() -> None:
    """A September 19 report that recalls "September 19, 2021" is still 2022's, as its
    publication stamp says."""
    evidence = DateEvidence(
        datelines=["September 19, 9 pm ET"],
        timestamps=["2022-09-20T00:08:04.000Z"],
        year_hints=[date(2021, 9, 19)],
    )
    assert choose_report_date(evidence).day == date(2022, 9, 19)


def test_unflatten_leaves_ordinary_report_lines_alone() -> None:
    for path in [SEED, *sorted((CORPUS / "markdown").glob("*.md"))]:
        if not path.exists():
            pytest.skip("shared corpus not available")
        text = path.read_text(encoding="utf-8")
        assert unflatten(text).splitlines() == text.splitlines(), path.name


def test_unflatten_splits_comma_joins_but_not_numbers_or_quotes() -> None:
    joined = (
        "July 1, 6:45pm ET,First paragraph ends here.,Second says 16,000 troops.,"
        "Third quotes the “Wagner Line,” too.,,Fourth.,Fifth."
    )
    assert unflatten(joined).splitlines() == [
        "July 1, 6:45pm ET",
        "First paragraph ends here.",
        "Second says 16,000 troops.",
        "Third quotes the “Wagner Line,” too.",
        "",
        "Fourth.",
        "Fifth.",
    ]


# --- ingest: every file accounted for, datasets deduplicated against pages ----------------------


def test_walk_accounts_for_every_file(tmp_path: Path) -> None:
    (tmp_path / "a.html").write_text("<html></html>")
    (tmp_path / "b.json").write_text("[]")
    (tmp_path / "chart.png").write_bytes(b"\x89PNG")
    (tmp_path / "run").write_text("#!/bin/sh\n")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "c.md").write_text("x")
    files, passed = walk([tmp_path])
    assert sorted(p.name for p in files) == ["a.html", "b.json"]
    assert sorted((Path(o.path).name, o.reason) for o in passed) == [
        ("c.md", "hidden file"),
        ("chart.png", "not a report file type (.png)"),
        ("run", "not a report file type (no extension)"),
    ]


def test_cli_ingest_summary_names_every_file_and_record(hashing_cli, capsys) -> None:
    assert main([*hashing_cli, "ingest", "--json", str(SHAPES)]) == 1  # the refusals fail the run
    summary = json.loads(capsys.readouterr().out)
    outcomes = summary["outcomes"]
    by_name = {}
    for outcome in outcomes:
        by_name.setdefault(Path(outcome["path"].split("#")[0]).name, []).append(outcome)
    on_disk = {p.name for p in SHAPES.iterdir()}
    assert set(by_name) == on_disk  # every file is accounted for
    assert by_name["not-a-report-code.py"][0]["status"] == "skipped"  # .py inside a folder
    assert by_name["report-dated-2099.txt"][0]["status"] == "failed"
    assert {o["status"] for o in by_name["dataset-list.json"]} >= {"added", "skipped", "failed"}
    assert summary["skipped_files_by_extension"] == {".py": 1}
    datasets = {Path(d["path"]).name: d for d in summary["datasets"]}
    assert datasets["dataset-list.json"] == {
        "path": str(SHAPES / "dataset-list.json"),
        "records": 7,
        "reports": 2,
        "empty": [0, 2, 6],
        "failed": [3, 5],
    }
    stored = [o for o in outcomes if o["status"] in ("added", "updated", "duplicate")]
    assert all(o["date_source"] for o in stored)
    counts = summary["counts"]
    assert sum(counts.values()) == len(outcomes)

    # The text summary: datasets' record counts and the skipped files by extension.
    assert main([*hashing_cli, "ingest", "--quiet", str(SHAPES)]) == 1
    out = capsys.readouterr()
    assert "dataset-list.json: 7 records: 2 reports, 3 empty (#0, #2, #6), 2 failed (#3, #5)" in (
        out.out
    )
    assert "1 file skipped (.py 1)" in out.out
    assert "not-a-report-readme.md: not an ISW assessment" in out.err


@needs_shared
def test_real_dataset_is_a_duplicate_of_the_pages_and_stands_alone(tmp_path: Path) -> None:
    from retrieval.gazetteer import Gazetteer
    from retrieval.language import LanguageDetector
    from retrieval.service import ReportQA
    from retrieval.tokenize import Tokenizer

    rows = list(csv.DictReader((CORPUS / "SOURCES.tsv").open(encoding="utf-8"), delimiter="\t"))
    wanted = {r.report.report_date.isoformat() for r in parse_path(DATASET) if r.report}
    pages = [CORPUS / "isw-html" / row["file"] for row in rows if row["report_date"] in wanted]
    assert len(pages) == 69

    store = ReportStore(open_client(tmp_path / "pages"), "isw_reports", HashingEmbedder.name)
    ingest(pages, store, HashingEmbedder(), progress=False)
    before = {k: (e.version, e.report_date) for k, e in store.reports().items()}
    summary = ingest([DATASET], store, HashingEmbedder(), progress=False)
    assert summary.count("duplicate") == 69 and not summary.failed
    assert summary.count("added") == summary.count("updated") == 0
    assert {k: (e.version, e.report_date) for k, e in store.reports().items()} == before

    alone = ReportStore(open_client(tmp_path / "alone"), "isw_reports", HashingEmbedder.name)
    summary = ingest([DATASET], alone, HashingEmbedder(), progress=False)
    assert summary.count("added") == 69 and not summary.failed
    qa = ReportQA(alone, HashingEmbedder(), Gazetteer.load(), LanguageDetector(), Tokenizer())
    answer = qa.on_date("2022-07-01", lang="en")
    assert answer.results and {r.report_date for r in answer.results} == {date(2022, 7, 1)}
    assert answer.results[0].text.startswith("Russian forces continued efforts to encircle")


def test_a_stored_report_gets_its_link_without_re_embedding(tmp_path: Path) -> None:
    """A store built before reports carried links: ingesting the same file again fills the link
    into the manifest row, and nothing is embedded again."""
    page = CORPUS / "isw-html" / "2022-03-01_kma-alarm-ml.html"
    if not page.exists():
        pytest.skip("shared corpus not available")
    store = ReportStore(open_client(tmp_path / "data"), "isw_reports", HashingEmbedder.name)
    ingest([page], store, HashingEmbedder(), progress=False)
    (entry,) = store.reports().values()
    assert entry.url.endswith("/russian-offensive-campaign-assessment-march-1")
    chunks = store.chunks.count()
    store.save_entry(entry.model_copy(update={"url": ""}))  # as an older store holds it
    summary = ingest([page], store, HashingEmbedder(), progress=False)
    assert [(o.status, o.reason) for o in summary.outcomes] == [("updated", "link added")]
    (again,) = store.reports().values()
    assert again.url == entry.url and again.version == entry.version
    assert store.chunks.count() == chunks
    assert ingest([page], store, HashingEmbedder(), progress=False).count("unchanged") == 1


@pytest.mark.parametrize("name", ["dataset-no-header.tsv", "dataset-semicolon-bom.csv"])
def test_tables_without_a_header_or_with_another_delimiter(name: str) -> None:
    """A TSV whose first line is already a record; a spreadsheet's CSV (BOM, semicolons)."""
    dates = [d for _, d, _ in _outcomes(name) if d]
    assert dates == ["2023-06-06", "2023-05-16"]


def test_records_holding_report_pages(tmp_path: Path) -> None:
    """A crawl's JSON Lines of {url, html}: each record's page is read as a saved page is."""
    page = CORPUS / "isw-html" / "2022-05-03_kma-alarm-ml.html"
    if not page.exists():
        pytest.skip("shared corpus not available")
    url = (
        "https://www.understandingwar.org/backgrounder/russian-offensive-campaign-assessment-may-3"
    )
    crawl = tmp_path / "crawl.jsonl"
    record = {"url": url, "html": page.read_text(encoding="utf-8"), "fetched": 1651619509000}
    crawl.write_text(json.dumps(record) + "\n", encoding="utf-8")
    (result,) = parse_path(crawl)
    original = parse_file(page)
    assert result.report.report_date == original.report_date
    assert len(result.report.takeaways) == len(original.takeaways)
    assert result.report.url == url


@pytest.mark.parametrize("day", ["2022-03-02", "2022-05-03", "2022-09-11"])
def test_a_browser_copy_of_a_page_keeps_its_takeaways(day: str) -> None:
    """Select-all and copy in a browser: every paragraph on its own line with a blank line
    between, no bullets, the report's title without its year but a posting line with it."""
    from selectolax.lexbor import LexborHTMLParser

    page = CORPUS / "isw-html" / f"{day}_kma-alarm-ml.html"
    if not page.exists():
        pytest.skip("shared corpus not available")
    tree = LexborHTMLParser(page.read_text(encoding="utf-8"))
    for node in tree.css("script, style"):
        node.decompose()
    blocks = [" ".join(n.text().split()) for n in tree.body.css("h1, h2, h3, h4, p, li")]
    posted = date.fromisoformat(day).strftime("Posted %b %d, %Y")
    copy = "\n\n".join([posted, *(b for b in blocks if b)])
    report, original = parse_text(copy, "copy.txt"), parse_file(page)
    assert report.report_date == original.report_date
    assert [t.texts["en"] for t in report.takeaways] == [t.texts["en"] for t in original.takeaways]


def test_a_korean_repost_saved_as_a_web_page_reads_as_the_repost() -> None:
    """The forum page itself saved from the browser (HTML), not its text: the Korean summary
    still pairs with the English takeaways, as in the text copy of the same repost."""
    import html

    if not SEED.exists():
        pytest.skip("shared corpus not available")
    lines = SEED.read_text(encoding="utf-8").splitlines()
    page = (
        "<!DOCTYPE html><html><head><title>[ISW] 러시아 공세 캠페인 평가 - 자유게시판</title>"
        "</head><body><div class='board'><script>var x = 1;</script>"
        + "".join(f"<p>{html.escape(line)}</p>" for line in lines if line.strip())
        + "</div></body></html>"
    )
    report, text_copy = parse_text(page, "repost.html"), parse_file(SEED)
    assert report.source_format is SourceFormat.KOREAN_REPOST
    assert report.report_date == text_copy.report_date
    assert [t.texts for t in report.takeaways] == [t.texts for t in text_copy.takeaways]
    assert {"en", "ko"} <= set(report.takeaways[0].texts)


@pytest.mark.parametrize(
    ("name", "lang", "count"), [("repost-uk.txt", "uk", 4), ("repost-ru.txt", "ru", 3)]
)
def test_ukrainian_and_russian_reposts_are_stored_in_their_language(name, lang, count) -> None:
    """A news site's "Ключові висновки ISW" / "Основные выводы": the takeaways are the
    reposter's translation, stored in that language, never as English; the date is written day
    first ("26 січня 2024", "26 января 2024 года")."""
    report = parse_file(SHAPES / name)
    assert report.source_format is SourceFormat.CYRILLIC_REPOST
    assert (report.report_date, report.date_source) == (date(2024, 1, 26), "title")
    assert report.languages == [lang]
    assert len(report.takeaways) == count
    assert all(set(t.texts) == {lang} for t in report.takeaways)
    assert report.takeaways[1].texts[lang].startswith("Російські" if lang == "uk" else "Российские")


def test_a_cyrillic_text_that_does_not_name_isw_is_not_a_repost() -> None:
    text = "Новини дня\n\n" + "Сьогодні у місті відбулася виставка квітів та концерт. " * 20
    with pytest.raises(ParseError, match="not an ISW assessment"):
        parse_text(text, "news.txt")
