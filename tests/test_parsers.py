"""Parsers against the real saved reports in ../shared plus small hand-written fixtures."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from store.models import ParseError, Report, SourceFormat
from store.parsers import detect_format, parse_file, parse_text
from store.sources import read_text
from tests.conftest import CORPUS, SEED

HTML_DIR = CORPUS / "isw-html"
MD_DEC17 = CORPUS / "markdown" / "2025-12-17_ua-benchmark-crawl.md"
MD_FEB02 = CORPUS / "markdown" / "2026-02-02_criticalthreats-crawl.md"

pytestmark = pytest.mark.skipif(not SEED.exists(), reason="shared corpus not available")


def _sources_rows() -> list[dict[str, str]]:
    path = CORPUS / "SOURCES.tsv"
    if not path.exists():
        return []
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


ROWS = _sources_rows()


def _corpus_path(name: str) -> Path:
    return CORPUS / ("isw-html" if name.endswith(".html") else "markdown") / name


def _all_texts(report: Report) -> list[str]:
    return [t for tk in report.takeaways for t in tk.texts.values()] + [
        p.text for p in report.passages
    ]


# Things that must never reach a takeaway or passage.
_FORBIDDEN = re.compile(
    r"\[\d{1,3}\]|click\s*here|(?-i:Constant Contact|Unsubscribe)|단축키|메뉴 건너뛰기|"
    r"TIPx|Make a text selection|function\s*\(|jQuery|Drupal|googletag|\{\s*\}|"
    r"Download the PDF|Follow ISW on social media",
    re.IGNORECASE,
)


@pytest.fixture(scope="module")
def seed() -> Report:
    return parse_file(SEED)


# --- Korean forum repost (the seed) ---------------------------------------------------------


def test_seed_bilingual_takeaways(seed: Report) -> None:
    assert seed.source_format is SourceFormat.KOREAN_REPOST
    assert seed.report_date.isoformat() == "2024-01-26"  # not the "posted Jan 27" date
    assert seed.languages == ["en", "ko"]
    assert len(seed.takeaways) == 10
    assert all(set(t.texts) == {"en", "ko"} for t in seed.takeaways)
    assert [t.position for t in seed.takeaways] == list(range(10))
    first = seed.takeaways[0].texts
    assert first["en"].startswith("The Kremlin and US officials rejected rumors")
    assert first["ko"].startswith("크렘린과 미국 관리들은")
    last = seed.takeaways[-1].texts
    assert "Viktor Filonov" in last["en"] and "빅토르 필로노프" in last["ko"]


def test_seed_metadata_and_passages(seed: Report) -> None:
    assert seed.metadata["categories"] == "전쟁, 정치, 외교"
    assert seed.metadata["countries"] == "러시아, 우크라이나, 미국"
    assert seed.metadata["outlook"].startswith("러시아와 우크라이나 간의 전쟁은")
    outlook = [p for p in seed.passages if p.heading == "향후 전망"]
    assert len(outlook) == 1 and outlook[0].lang == "ko"
    english = [p for p in seed.passages if p.lang == "en"]
    assert english and english[0].text.startswith("The Kremlin and US officials rejected")
    assert [p.position for p in seed.passages] == list(range(len(seed.passages)))
    assert "Frederick W. Kagan" in seed.authors and "Riley Bailey" in seed.authors
    assert seed.source == str(SEED)


def test_seed_has_no_noise(seed: Report) -> None:
    for text in _all_texts(seed):
        assert not _FORBIDDEN.search(text), text
        assert "ISW is a tax-exempt" not in text and "posted Jan" not in text
        assert "interactive map" not in text


def test_seed_cp949_copy_parses_identically(seed: Report, tmp_path: Path) -> None:
    text = SEED.read_text(encoding="utf-8")
    # CP949 has no "•" or no-break space: use "·" bullets and plain spaces, as a Windows
    # editor saving the page would.
    legacy = text.replace("\u2022", "\u00b7").replace("\u00a0", " ")
    path = tmp_path / "seed-cp949.txt"
    path.write_bytes(legacy.encode("cp949"))
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")
    copy = parse_file(path)
    assert copy.model_dump(exclude={"source"}) == seed.model_dump(exclude={"source"})


# --- Korean repost variants -------------------------------------------------------------------

_KO_ONLY = """자유게시판
[ISW] 러시아 공세 캠페인 평가 - 2023년 3월 5일
작성자: 홍길동 | 2023.03.06 09:12 | 조회 152

요약
핵심 요점
1. 러시아군은 바흐무트 주변에서 공세를 계속했습니다.
2. 우크라이나군은 바흐무트에서 질서 있게 철수할 가능성이 있습니다.
3) 바그너 그룹은 탄약 부족을 계속 호소하고 있습니다.

카테고리: 전쟁
주요 국가: 러시아, 우크라이나
향후 전망:
바흐무트 전투는 앞으로 몇 주간 계속될 것으로 보입니다.

목록 추천 댓글 0
"""

_EN_ORIGINAL = """
[원문]
Russian Offensive Campaign Assessment, March 5, 2023
Key Takeaways:
{bullets}

Russian forces continued to attack Bakhmut on March 5.[2] Ukrainian forces held their positions.
"""


def test_korean_repost_without_original() -> None:
    report = parse_text(_KO_ONLY, "ko-only.txt")
    assert report.source_format is SourceFormat.KOREAN_REPOST
    assert report.report_date.isoformat() == "2023-03-05"  # not the 2023.03.06 posting
    assert report.languages == ["ko"]
    assert [t.texts for t in report.takeaways] == [
        {"ko": "러시아군은 바흐무트 주변에서 공세를 계속했습니다."},
        {"ko": "우크라이나군은 바흐무트에서 질서 있게 철수할 가능성이 있습니다."},
        {"ko": "바그너 그룹은 탄약 부족을 계속 호소하고 있습니다."},
    ]
    assert report.metadata["outlook"] == "바흐무트 전투는 앞으로 몇 주간 계속될 것으로 보입니다."
    assert all("작성자" not in p.text and "목록" not in p.text for p in report.passages)


@pytest.mark.parametrize("marker", ["-", "*", "•", "1."])
def test_korean_repost_pairs_when_counts_match(marker: str) -> None:
    english = "\n".join(
        f"{marker} {t}"
        for t in (
            "Russian forces continued offensive operations around Bakhmut.",
            "Ukrainian forces may conduct a limited withdrawal from Bakhmut.",
            "The Wagner Group continues to complain about ammunition shortages.",
        )
    )
    text = _KO_ONLY.replace("목록 추천 댓글 0", _EN_ORIGINAL.format(bullets=english))
    report = parse_text(text, "paired.txt")
    assert report.languages == ["en", "ko"]
    assert len(report.takeaways) == 3
    assert report.takeaways[1].texts == {
        "en": "Ukrainian forces may conduct a limited withdrawal from Bakhmut.",
        "ko": "우크라이나군은 바흐무트에서 질서 있게 철수할 가능성이 있습니다.",
    }
    assert any(
        p.text.startswith("Russian forces continued to attack Bakhmut on March 5. ")
        for p in report.passages
    )


def test_korean_repost_keeps_both_lists_when_counts_differ() -> None:
    english = "- Russian forces continued offensive operations around Bakhmut.\n- Only two."
    text = _KO_ONLY.replace("목록 추천 댓글 0", _EN_ORIGINAL.format(bullets=english))
    report = parse_text(text, "unpaired.txt")
    assert [set(t.texts) for t in report.takeaways] == [{"en"}] * 2 + [{"ko"}] * 3
    assert [t.position for t in report.takeaways] == list(range(5))


# --- Every corpus file ------------------------------------------------------------------------


@pytest.mark.parametrize("row", ROWS, ids=[r["file"] for r in ROWS])
def test_corpus_file(row: dict[str, str]) -> None:
    path = _corpus_path(row["file"])
    report = parse_file(path)
    assert report.report_date.isoformat() == row["report_date"]
    assert report.source == str(path)
    assert report.source_format is (
        SourceFormat.ISW_HTML if path.suffix == ".html" else SourceFormat.MARKDOWN
    )
    if 'no "Key Takeaways"' in row["notes"]:
        assert report.takeaways == []  # never invented
    else:
        assert 2 <= len(report.takeaways) <= 15
    assert len(report.passages) >= 5
    if path.suffix == ".html":
        # The page's own canonical address, made absolute on ISW's site.
        canonical = re.search(r'<link rel="canonical" href="([^"]+)"', read_text(path))
        assert canonical is not None
        assert report.url == "https://www.understandingwar.org" + canonical.group(1)
    assert [p.position for p in report.passages] == list(range(len(report.passages)))
    assert all(p.lang == "en" and 0 < len(p.text) <= 1200 for p in report.passages)
    for text in _all_texts(report):
        assert not _FORBIDDEN.search(text), text[:200]
        assert "We do not report in detail on Russian war crimes" not in text
    for passage in report.passages:
        # Endnotes are lists of links; no passage may be one.
        assert not re.match(r"\s*\[?\d{1,3}\]", passage.text), passage.text[:200]
        assert len(re.findall(r"https?://", passage.text)) == 0, passage.text[:200]


def test_a_crawl_whose_address_names_another_day_gets_no_link() -> None:
    """The December 17 report saved from the December 20 page's address: a link to another
    day's report would be worse than none."""
    assert parse_file(MD_DEC17).url == ""
    feb02 = parse_file(MD_FEB02)
    assert feb02.url.endswith("/russian-offensive-campaign-assessment-february-2-2026")


def test_corpus_takeaway_counts_are_realistic() -> None:
    counts = [len(parse_file(_corpus_path(r["file"])).takeaways) for r in ROWS]
    labelled = [c for c, r in zip(counts, ROWS, strict=True) if 'no "Key' not in r["notes"]]
    assert sum(c == 0 for c in counts) == 6
    assert sorted(labelled)[len(labelled) // 2] in range(4, 13)  # the median


# --- ISW page HTML ----------------------------------------------------------------------------


def test_html_march_1() -> None:
    report = parse_file(HTML_DIR / "2022-03-01_kma-alarm-ml.html")
    assert report.title == "Russian Offensive Campaign Assessment, March 1"
    assert report.report_date.isoformat() == "2022-03-01"  # year from the byline
    assert report.authors == ["Frederick W. Kagan", "George Barros", "Kateryna Stepanenko"]
    assert len(report.takeaways) == 5
    assert (
        report.takeaways[0]
        .texts["en"]
        .startswith("Russian forces are setting conditions to envelop Kyiv from the west")
    )
    headings = {p.heading for p in report.passages}
    assert "Immediate items to watch" in headings
    assert "Subordinate Supporting Effort #1—Chernihiv Axis" in headings
    assert report.passages[0].heading is None
    assert report.passages[0].text.startswith("Russian forces are completing the reinforcement")


def test_html_title_without_date_uses_dateline() -> None:
    report = parse_file(HTML_DIR / "2022-02-24_kma-alarm-ml.html")
    assert "Initial Russian Offensive Campaign Assessment" in report.title
    assert report.report_date.isoformat() == "2022-02-24"


def test_html_sunday_special_edition_has_no_takeaways() -> None:
    report = parse_file(HTML_DIR / "2022-09-25_kma-alarm-ml.html")
    assert report.takeaways == []
    assert report.metadata["subtitle"] == "Special Edition on Russian Mobilization"
    assert report.authors == ["Frederick W. Kagan"]
    assert report.passages[0].text.startswith("This campaign assessment special edition")


def test_html_takeaways_stop_at_the_next_list() -> None:
    # The takeaways list is followed (after a map and a disclaimer) by a list of the
    # campaign's efforts, which must not be read as more takeaways.
    report = parse_file(HTML_DIR / "2022-07-02_kma-alarm-ml.html")
    assert len(report.takeaways) == 7
    assert not any("Main Effort" in t.texts["en"] for t in report.takeaways)


def test_detect_format_by_content_not_extension(tmp_path: Path) -> None:
    html = (HTML_DIR / "2022-03-01_kma-alarm-ml.html").read_text(encoding="utf-8")
    path = tmp_path / "report.txt"
    path.write_text(html, encoding="utf-8")
    assert parse_file(path).source_format is SourceFormat.ISW_HTML
    assert detect_format(MD_FEB02.read_text(encoding="utf-8")) is SourceFormat.MARKDOWN
    assert detect_format(SEED.read_text(encoding="utf-8")) is SourceFormat.KOREAN_REPOST
    assert detect_format(_PLAIN_BULLETS) is SourceFormat.PLAIN_TEXT


# --- Markdown clips ---------------------------------------------------------------------------


def test_markdown_date_comes_from_report_not_crawler_header() -> None:
    header = MD_DEC17.read_text(encoding="utf-8").splitlines()[0]
    assert "december-20-2025" in header  # the crawler's URL is wrong...
    report = parse_file(MD_DEC17)
    assert report.report_date.isoformat() == "2025-12-17"  # ...the text says December 17
    assert report.title == "Russian Offensive Campaign Assessment, December 17, 2025"
    assert len(report.takeaways) == 7  # an unlabeled numbered list
    assert report.takeaways[0].texts["en"].startswith("Russian President Vladimir Putin")
    assert report.takeaways[-1].texts["en"].startswith("Ukrainian forces recently advanced")
    assert report.passages[0].text.startswith("Russian President Vladimir Putin publicly")
    assert any(p.heading and p.heading.startswith("Russian objective:") for p in report.passages)


def test_markdown_front_matter_and_bold_bullets() -> None:
    report = parse_file(MD_FEB02)
    assert report.title == "Russian Offensive Campaign Assessment, February 2, 2026"
    assert report.authors == ["Justin Young", "Christina Harward", "Grace Mappes"] + [
        "Kateryna Stepanenko"
    ]
    assert len(report.takeaways) == 9  # the bold bullets; not the plain list after them
    assert report.takeaways[0].texts["en"].startswith("Russian Security Council Chairperson")
    assert report.takeaways[-1].texts["en"].startswith("Russian forces recently advanced")
    assert report.passages[0].text.startswith("Russian Security Council Chairperson")


_FRONT_MATTER_REPORT = """---
title: Russian Offensive Campaign Assessment
author: Riley Bailey
date: {date}
---
# Russian Offensive Campaign Assessment, {title_date}

**Key Takeaways**

- **Russian forces attacked near Avdiivka and made no confirmed gains.**
- **Ukrainian forces repelled assaults near Bakhmut.**

Russian forces continued offensive operations near Avdiivka on Thursday.
"""


@pytest.mark.parametrize("bad", ["2024-13-45", "2024-02-30", "0000-01-01", "9999-12-31"])
def test_markdown_front_matter_with_an_invalid_date(bad: str) -> None:
    """A header date that is no date (or no plausible one) is ignored like any wrong header
    date: the report's own date decides, and the rest of the front matter still counts."""
    text = _FRONT_MATTER_REPORT.format(date=bad, title_date="January 26, 2024")
    report = parse_text(text, "clip.md")
    assert report.source_format is SourceFormat.MARKDOWN
    assert report.report_date.isoformat() == "2024-01-26"
    assert report.authors == ["Riley Bailey"]
    assert len(report.takeaways) == 2
    # Without a year in the report itself there is nothing to date it by: a clear ParseError
    # (before: "unexpected parser failure: ValueError: month must be in 1..12").
    with pytest.raises(
        ParseError, match=r"^no report date found \(only month 1 day 26, no year\)$"
    ):
        parse_text(_FRONT_MATTER_REPORT.format(date=bad, title_date="January 26"), "clip.md")
    # A valid header date still lends its year.
    dated = _FRONT_MATTER_REPORT.format(date="2024-01-27", title_date="January 26")
    assert parse_text(dated, "clip.md").report_date.isoformat() == "2024-01-26"


# --- Plain text -------------------------------------------------------------------------------

_PLAIN_BULLETS = """Russian Offensive Campaign Assessment, February 26
Mason Clark, George Barros, and Kateryna Stepanenko
February 26, 3pm EST

Russian forces' main axes of advance in the last 24 hours focused on Kyiv.[1] Ukrainian
forces continue to defend the capital.

Key Takeaways:
• Russian forces are completing the reinforcement of their troops north of Kyiv.
• Russian forces in the south appear to be holding their positions.
• Ukrainian resistance remains remarkably effective.

Russian forces continued operations around Kharkiv. Russian forces have used bombers against
the city, and Ukrainian forces continue to defend it.[3]

Posted on February 27, 2022

[1] https://example.com/a
[2] https://example.com/b
"""


def test_plain_text_with_bullets() -> None:
    report = parse_text(_PLAIN_BULLETS, "paste.txt")
    assert report.source_format is SourceFormat.PLAIN_TEXT
    # The title has no year: it comes from the posting line, which is not the date itself.
    assert report.report_date.isoformat() == "2022-02-26"
    assert report.title == "Russian Offensive Campaign Assessment, February 26"
    assert report.authors == ["Mason Clark", "George Barros", "Kateryna Stepanenko"]
    assert [t.texts["en"] for t in report.takeaways] == [
        "Russian forces are completing the reinforcement of their troops north of Kyiv.",
        "Russian forces in the south appear to be holding their positions.",
        "Ukrainian resistance remains remarkably effective.",
    ]
    assert [p.text for p in report.passages] == [
        "Russian forces' main axes of advance in the last 24 hours focused on Kyiv. Ukrainian "
        "forces continue to defend the capital.",
        "Russian forces continued operations around Kharkiv. Russian forces have used bombers "
        "against the city, and Ukrainian forces continue to defend it.",
    ]


def test_plain_text_numbered_and_unmarked_lists() -> None:
    numbered = "Russian Offensive Campaign Assessment, March 3, 2022\n\nKey takeaways\n"
    numbered += "1. Russian forces are setting conditions to envelop Kyiv.\n"
    numbered += "2) Belarusian forces have likely entered the war.\n"
    report = parse_text(numbered, "numbered.txt")
    assert report.report_date.isoformat() == "2022-03-03"
    assert [t.texts["en"] for t in report.takeaways] == [
        "Russian forces are setting conditions to envelop Kyiv.",
        "Belarusian forces have likely entered the war.",
    ]
    # Copying a web page loses the bullet glyphs: the lines under the heading still count.
    unmarked = numbered.replace("1. ", "").replace("2) ", "")
    unmarked += "\nRussian forces did not attack Kyiv in the last 24 hours.\n"
    report = parse_text(unmarked, "unmarked.txt")
    assert len(report.takeaways) == 2
    assert [p.text for p in report.passages] == [
        "Russian forces did not attack Kyiv in the last 24 hours."
    ]


def test_plain_text_as_of_date() -> None:
    text = "Key Takeaways\n- Russian forces advanced near Avdiivka.\n\n"
    text += "Assessment as of January 26, 2024: 4:00 pm ET\n"
    assert parse_text(text, "asof.txt").report_date.isoformat() == "2024-01-26"


# --- Errors -----------------------------------------------------------------------------------


def test_no_date_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="no report date found"):
        parse_text("Key Takeaways\n- Russian forces advanced near Avdiivka.\n", "nodate.txt")
    with pytest.raises(ParseError, match="no report date found"):
        parse_text("Russian Offensive Campaign Assessment, February 26\n\n- A takeaway.\n", "x")


def test_no_content_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="no Key Takeaways or body paragraphs"):
        parse_text("Russian Offensive Campaign Assessment, February 26, 2022\n", "empty.txt")


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty document"),
        (b"  \n\t\n", "empty document"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "binary file"),
        (b"\x80\x80\x80 not text", "undecodable"),
    ],
)
def test_bad_files_raise_parse_error_naming_the_file(
    tmp_path: Path, content: bytes, reason: str
) -> None:
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    with pytest.raises(ParseError, match=reason) as info:
        parse_file(path)
    assert str(path) in str(info.value)
    assert "\n" not in str(info.value)


def test_too_large_file(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    path.write_text("x" * 2000, encoding="utf-8")
    with pytest.raises(ParseError, match="too large"):
        read_text(path, max_bytes=1000)


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.txt"
    path.write_bytes(b"\xef\xbb\xbf" + _PLAIN_BULLETS.encode("utf-8"))
    assert read_text(path).startswith("Russian Offensive")


@pytest.mark.parametrize("fraction", [0.02, 0.3, 0.6, 0.95])
def test_truncated_html(tmp_path: Path, fraction: float) -> None:
    data = (HTML_DIR / "2022-03-01_kma-alarm-ml.html").read_bytes()
    path = tmp_path / "truncated.html"
    path.write_bytes(data[: int(len(data) * fraction)])
    with pytest.raises(ParseError, match="truncated HTML") as info:
        parse_file(path)
    assert str(path) in str(info.value)


def test_html_that_is_not_a_report() -> None:
    page = (
        "<!DOCTYPE html><html><head><title>Pasta recipes</title></head><body>"
        "<nav><a href='/'>Home</a></nav><h1>Pasta recipes</h1>"
        "<p>Boil the pasta for ten minutes on March 3, 2022.</p></body></html>"
    )
    with pytest.raises(ParseError, match="not an ISW campaign assessment"):
        parse_text(page, "recipes.html")
    with pytest.raises(ParseError, match="no report body"):
        parse_text("<html><head><title>x</title></head><body></body></html>", "blank.html")
