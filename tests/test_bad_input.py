"""Bad input: whatever the bytes, reading and parsing a file gives a `Report` (one the store can
take) or a one-line `ParseError` -- never another exception, and never a hang. The query-side
helpers (dates, language, tokens, gazetteer) take any text without raising.

Every call runs in a worker process with a deadline, so a hang (a regular expression gone
quadratic, a read that never ends) fails its test instead of freezing the suite. The deadlines
are generous (the machine may be busy): they catch hangs, not slowness.
"""

from __future__ import annotations

import bz2
import codecs
import gzip
import io
import lzma
import multiprocessing
import os
import tarfile
import time
import traceback
import zipfile
from datetime import date
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from store.models import ParseError
from store.parsers import parse_text
from store.sources import read_text
from tests.conftest import CORPUS, SEED

pytestmark = pytest.mark.skipif(not SEED.exists(), reason="shared corpus not available")

HTML_FILES = sorted((CORPUS / "isw-html").glob("*.html"))
MD_FILES = sorted((CORPUS / "markdown").glob("*.md"))
# A spread of real files (every format, early and late pages) for truncation and mutation.
REAL_FILES = [SEED, *MD_FILES, *HTML_FILES[:: max(1, len(HTML_FILES) // 6)]]

CALL_TIMEOUT = 15.0  # any single call; a 1 MB line parses in well under 2 s on an idle core
HANG_PROBE_TIMEOUT = 3.0  # for inputs known to hang: enough for a fixed parser (< 0.5 s)
STARTUP_TIMEOUT = 180.0  # worker start-up and the query models (lingua, Kiwi) on a busy box


def fuzz(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


MB = 1_000_000
TITLE = "Russian Offensive Campaign Assessment, February 26, 2022"
HTML_HEAD = (
    "<html><head><title>Russian Offensive Campaign Assessment, March 1, 2022</title></head><body>"
)


# ---- the worker process ---------------------------------------------------------------------


def _summary(report: Any) -> tuple[str, int]:
    """Everything ingest does with a report short of embedding it, so a Report that parses but
    cannot be stored also counts as a crash."""
    from store.records import ReportEntry, report_chunks

    entry = ReportEntry.for_report(report)
    for value in entry.to_metadata().values():
        assert isinstance(value, str | int), entry
    chunks = report_chunks(report)
    ids = [c.id for c in chunks]
    assert len(ids) == len(set(ids)), "duplicate chunk ids would fail the upsert"
    for chunk in chunks:
        assert chunk.text.strip()
        for value in chunk.metadata().values():
            assert isinstance(value, str | int)
    assert 1900 <= report.report_date.year <= 2100, report.report_date
    return report.report_id, len(chunks)


def _call(kind: str, arg: Any, state: dict[str, Any]) -> Any:
    from store.parsers import parse_file, parse_text

    if kind == "ping":
        return "pong"
    if kind == "text":
        return _summary(parse_text(arg, "fuzz.txt"))
    if kind == "file":
        return _summary(parse_file(Path(arg)))
    if kind == "read":
        path, max_bytes = arg
        return len(read_text(Path(path), max_bytes))
    if not state:
        from retrieval.gazetteer import Gazetteer
        from retrieval.language import LanguageDetector
        from retrieval.tokenize import Tokenizer

        state.update(lang=LanguageDetector(), tokens=Tokenizer(), gazetteer=Gazetteer.load())
    if kind == "warm":
        return "warm"
    if kind == "query":
        from retrieval.dates import parse_dates

        text, hint, today = arg
        found = parse_dates(text, today)
        assert isinstance(found.text, str)
        lang = state["lang"].detect(text, hint)
        assert isinstance(lang, str) and lang
        terms = state["tokens"].tokens(text)
        assert all(isinstance(t, str) for t in terms)
        forms = state["gazetteer"].expand(text)
        assert all(isinstance(f, str) for f in forms)
        return lang
    raise ValueError(f"unknown call {kind!r}")


def _serve(conn: Connection) -> None:
    state: dict[str, Any] = {}
    while True:
        try:
            kind, arg = conn.recv()
        except EOFError:
            return
        start = time.perf_counter()
        try:
            out: tuple[str, Any] = ("ok", _call(kind, arg, state))
        except ParseError as exc:
            out = ("parse_error", str(exc))
        except BaseException as exc:
            out = ("crash", "".join(traceback.format_exception(exc)))
        conn.send((*out, time.perf_counter() - start))


class Hang(AssertionError):
    pass


class Worker:
    """One process that runs the calls it is sent; killed and replaced when a call overruns.

    `start(warm=True)` returns at once and loads the query models (~15 s on a busy machine)
    in the background, while the parser tests use another worker."""

    def __init__(self) -> None:
        self.proc: Any = None
        self.conn: Connection | None = None
        self.pending = 0  # replies to calls sent by start(), not yet read

    def start(self, warm: bool = False) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_serve, args=(child,), daemon=True)
        self.proc.start()
        child.close()
        for kind in ("ping", "warm") if warm else ("ping",):
            self.conn.send((kind, None))
            self.pending += 1

    def call(self, kind: str, arg: Any, timeout: float = CALL_TIMEOUT) -> tuple[str, Any, float]:
        if self.proc is None or not self.proc.is_alive():
            self.start()
        assert self.conn is not None
        while self.pending:
            if not self.conn.poll(STARTUP_TIMEOUT):
                self.stop()
                raise RuntimeError("the worker process did not start")
            status, value, _ = self.conn.recv()
            assert status == "ok", value
            self.pending -= 1
        self.conn.send((kind, arg))
        if not self.conn.poll(timeout):
            self.stop()
            raise Hang(f"{kind} call did not finish within {timeout:.0f} s")
        try:
            return self.conn.recv()
        except EOFError:
            code = self.proc.exitcode if self.proc is not None else None
            self.stop()
            return "crash", f"the worker process died (exit code {code})", 0.0

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.join(10)
        self.proc = self.conn = None
        self.pending = 0


@pytest.fixture(scope="module")
def worker():
    w = Worker()
    yield w
    w.stop()


@pytest.fixture(scope="module", autouse=True)
def query_worker():
    """Started with the module, so its models load while the parser tests run."""
    w = Worker()
    w.start(warm=True)
    yield w
    w.stop()


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("bad-input")


def outcome(w: Worker, kind: str, arg: Any, timeout: float = CALL_TIMEOUT) -> tuple[str, Any]:
    """("ok", (report id, chunk count)) or ("parse_error", message); anything else fails."""
    status, value, _ = w.call(kind, arg, timeout)
    assert status != "crash", value
    if status == "parse_error":
        assert value.strip() and len(value.splitlines()) == 1, repr(value)
    return status, value


def _write(scratch: Path, data: bytes, name: str = "input.txt") -> Path:
    path = scratch / name
    path.write_bytes(data)
    return path


# ---- strategies -----------------------------------------------------------------------------

# Scripts, marks, spaces, line breaks and controls that real pastes and scrapes are full of.
_ODD_CHARS = (
    "AzÀé ßЖжїЄ가힣ᄀㄱ漢字かなカナ١٢عربيעבריתदेव😀👍🏽\u0301\u0336"
    "\u00a0\u2000\u200b\u200c\u200d\u200e\u200f\u202a\u202e\u2066\u2069\u3000\ufeff"
    "\t\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029\x00\x01\x07\x1b\x7f\x9b"
    "\ue000\ufffd\ufffe\U000e0001[](){}<>*_#-•·:;.,!?\"'’“”&%$@\\/|~`^=+"
)
MIXED_TEXT = st.text(alphabet=st.sampled_from(_ODD_CHARS), max_size=60)

_FRAGMENTS = [
    TITLE,
    "Russian Offensive Campaign Assessment, March 1",
    "Russian Offensive Campaign Assessment, February 30, 2022",
    "Russia-Ukraine Warning Update: Initial Russian Offensive Campaign Assessment",
    "Assessment as of December 17: 8:20 pm ET",
    "February 29, 3:00 pm EST",
    "March 1, 2022",
    "2022-02-29",
    "9999-12-31",
    "[ISW] 러시아 공세 캠페인 평가, 2024년 1월 26일",
    "러시아 공세 캠페인 평가 (13월 45일)",
    "2024년 2월 30일",
    "Key Takeaways",
    "Key Takeaways:",
    "**Key Takeaways**",
    "## Key Takeaways",
    "<h2>Key Takeaways</h2>",
    "핵심 요점:",
    "[요약]",
    "[원문]",
    "요약",
    "원문",
    "카테고리: 전쟁",
    "주요 국가: 러시아, 우크라이나",
    "향후 전망:",
    "작성자: 홍길동 | 2023.03.06 09:12 | 조회 152",
    "- ",
    "* ",
    "• ",
    "1. ",
    "2) ",
    "(3) ",
    "Russian forces attacked near Avdiivka.",
    "Ukrainian forces repelled assaults near Bakhmut, and",
    "러시아군은 바흐무트 주변에서 공세를 계속했습니다.",
    "Российские войска продолжили наступление.",
    "by Riley Bailey, Grace Mappes, and Frederick W. Kagan",
    "Special Edition",
    "[12]",
    "[[3]](https://example.org/3)",
    "[1] https://example.org/1",
    "Click here to read the full assessment",
    "Follow ISW on social media",
    "---",
    "---\ntitle: Russian Offensive Campaign Assessment\ndate: 2024-02-30\n---",
    "---\ndate: 9999-12-31\n---",
    "---\n[[[[[[[[\n---",
    "---\n" + "[" * 3000 + "\n---",
    "# Source: https://example.org",
    "# Date: 2024-01-01",
    "**bold lead.** rest",
    "![map](map.png)",
    "[link](http://example.org/a_(b))",
    "\\*not emphasis\\*",
    "<html>",
    "</html>",
    "<body>",
    "<p>",
    "</p>",
    "<ul><li>",
    "</li></ul>",
    "<h1>",
    "<strong>",
    "<br>",
    "<script>var x = '</p>';</script>",
    "<!--",
    '<meta property="og:title" content="Russian Offensive Campaign Assessment, March 1">',
    '<time datetime="9999-12-31">',
    '<span class="submitted" content="0000-00-00">x</span>',
    "&amp;&#0;&#xD800;&#x110000;&nbsp;",
]
_SEPARATORS = ["\n", "\n\n", " ", "", "\r\n", "\u2028", "\t", "\n   "]
# How documents open: nothing special, or a report title / repost header / page head / front
# matter, so that more of the generated documents get past date finding into the parsers.
_OPENERS = [
    "",
    TITLE + "\n\n",
    "[ISW] 러시아 공세 캠페인 평가, 2024년 1월 26일\n[요약]\n",
    HTML_HEAD,
    "---\ntitle: Russian Offensive Campaign Assessment\ndate: 2024-01-26\n---\n",
]
REPORT_LIKE = st.tuples(
    st.sampled_from(_OPENERS),
    st.lists(
        st.tuples(
            st.one_of(st.sampled_from(_FRAGMENTS), MIXED_TEXT),
            st.sampled_from(_SEPARATORS),
        ),
        max_size=40,
    ),
).map(lambda doc: doc[0] + "".join(f + s for f, s in doc[1]))

_REAL_TEXT: dict[Path, str] = {}


def real_text(path: Path) -> str:
    if path not in _REAL_TEXT:
        _REAL_TEXT[path] = path.read_text(encoding="utf-8")
    return _REAL_TEXT[path]


# ---- properties: text -----------------------------------------------------------------------


@fuzz(200)
@given(st.text(max_size=3000))
def test_any_text(worker, text):
    outcome(worker, "text", text)


@fuzz(200)
@given(REPORT_LIKE)
def test_report_like_text_with_odd_pieces(worker, text):
    outcome(worker, "text", text)


@fuzz(50)
@given(
    st.sampled_from(REAL_FILES),
    st.lists(
        st.tuples(
            st.sampled_from(["delete", "insert", "duplicate", "swap"]),
            st.floats(0, 1),
            st.floats(0, 1),
            MIXED_TEXT,
        ),
        min_size=1,
        max_size=4,
    ),
)
def test_mutated_real_reports(worker, path, edits):
    """Real reports with pieces cut out, odd text inserted, ranges duplicated or moved."""
    text = real_text(path)
    for op, a, b, junk in edits:
        i, j = sorted((int(a * len(text)), int(b * len(text))))
        if op == "delete":
            text = text[:i] + text[j:]
        elif op == "insert":
            text = text[:i] + junk + text[i:]
        elif op == "duplicate":
            text = text[:j] + text[i:j] + text[j:]
        else:
            text = text[j:] + text[i:j] + text[:i]
    outcome(worker, "text", text)


@fuzz(60)
@given(st.sampled_from(REAL_FILES), st.floats(0, 1))
def test_truncated_real_files(worker, scratch, path, fraction):
    """A real file cut at any byte (also mid UTF-8 sequence), as a file and as text."""
    data = path.read_bytes()
    cut = data[: int(len(data) * fraction)]
    outcome(worker, "file", str(_write(scratch, cut, "truncated" + path.suffix)))
    outcome(worker, "text", cut.decode("utf-8", errors="ignore"))


# ---- properties: bytes and encodings --------------------------------------------------------

_CODECS = [
    "utf-8",
    "utf-8-sig",
    "utf-16",
    "utf-16-le",
    "utf-16-be",
    "utf-32",
    "cp949",
    "euc_kr",
    "iso2022_kr",
    "latin-1",
    "cp1252",
    "koi8_r",
    "shift_jis",
    "gb18030",
    "big5",
    "utf-7",
]


@fuzz(120)
@given(
    st.one_of(st.text(max_size=400), REPORT_LIKE, st.sampled_from(REAL_FILES).map(real_text)),
    st.sampled_from(_CODECS),
)
def test_text_in_any_encoding(worker, scratch, text, codec):
    data = text.encode(codec, errors="replace")
    outcome(worker, "file", str(_write(scratch, data)))


@fuzz(100)
@given(st.binary(max_size=4096))
def test_any_bytes(worker, scratch, data):
    outcome(worker, "file", str(_write(scratch, data, "input.html")))


@pytest.mark.parametrize("codec", ["cp949", "euc_kr", "utf-16", "utf-16-be-bom", "utf-8-sig"])
@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_korean_repost_in_legacy_encodings_parses(worker, scratch, codec, newline):
    # CP949/EUC-KR have no "•" and no NBSP: a Windows editor saves "·" and plain spaces.
    text = real_text(SEED).replace("\u2022", "\u00b7").replace("\u00a0", " ")
    text = text.replace("\n", newline)
    reference = outcome(worker, "text", text)
    assert reference[0] == "ok"
    if codec == "utf-16-be-bom":
        data = codecs.BOM_UTF16_BE + text.encode("utf-16-be")
    else:
        data = text.encode(codec)
    path = _write(scratch, data, f"seed-{codec}.txt")
    assert outcome(worker, "file", str(path)) == reference


@pytest.mark.parametrize(
    "data",
    [b"", b" \n\t\r\n", b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\xef\xbb\xbf \n"],
    ids=["empty", "blank", "utf8-bom-only", "utf16le-bom-only", "utf16be-bom-only", "bom-blank"],
)
def test_empty_files(worker, scratch, data):
    status, message = outcome(worker, "file", str(_write(scratch, data)))
    assert status == "parse_error" and "empty document" in message


def _zip_bomb() -> bytes:
    """A few dozen KB that would inflate to 64 MB of zeros."""
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open("report.html", "w") as member,
    ):
        block = b"\0" * MB
        for _ in range(64):
            member.write(block)
    return buffer.getvalue()


def _tar_gz(data: bytes) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        info = tarfile.TarInfo("report.txt")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _zip(data: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("report.txt", data)
    return buffer.getvalue()


@pytest.mark.parametrize("kind", ["zip", "zip-bomb", "gzip", "tar.gz", "bz2", "xz"])
@pytest.mark.parametrize("suffix", [".html", ".txt"])
def test_archives_are_refused(worker, scratch, kind, suffix):
    """A compressed report is not read (and a zip bomb is never inflated): one-line refusal."""
    seed = SEED.read_bytes()
    make = {
        "zip": lambda: _zip(seed),
        "zip-bomb": _zip_bomb,
        "gzip": lambda: gzip.compress(seed),
        "tar.gz": lambda: _tar_gz(seed),
        "bz2": lambda: bz2.compress(seed),
        "xz": lambda: lzma.compress(seed),
    }
    path = _write(scratch, make[kind](), f"archive-{kind}{suffix}")
    status, message = outcome(worker, "file", str(path))
    assert status == "parse_error" and str(path) in message


# ---- the size limit and files that are not files --------------------------------------------


def test_size_limit_is_checked_before_reading(tmp_path, monkeypatch):
    path = tmp_path / "big.txt"
    path.write_text(TITLE + "\n\nRussian forces attacked.\n" * 100, encoding="utf-8")

    def never(*args, **kwargs):
        raise AssertionError("read the file although it is over the limit")

    monkeypatch.setattr(Path, "open", never)
    monkeypatch.setattr(Path, "read_bytes", never)
    with pytest.raises(ParseError, match="too large"):
        read_text(path, max_bytes=1000)


def test_huge_sparse_file_is_refused_at_once(worker, scratch):
    """A 4 GB file (sparse: no disk used) is refused from its size, not read into memory."""
    path = scratch / "huge.txt"
    with path.open("wb") as handle:
        handle.truncate(4 * 1024**3)
    status, message = outcome(worker, "file", str(path), timeout=10)
    assert status == "parse_error" and "too large" in message
    path.unlink()


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc")
def test_read_stops_at_the_limit_even_when_the_size_lies(worker):
    """/proc files claim size 0; the read itself must stop at the limit."""
    status, message = outcome(worker, "read", ("/proc/self/status", 10))
    assert status == "parse_error" and "too large" in message


def test_pipes_devices_and_folders_are_refused_unread(worker, scratch):
    fifo = scratch / "pipe.txt"
    if not fifo.exists():
        os.mkfifo(fifo)  # opening it for reading would block until someone writes
    link = scratch / "zero.txt"
    if not link.is_symlink():
        link.symlink_to("/dev/zero")  # endless
    loop = scratch / "loop.txt"
    if not loop.is_symlink():
        loop.symlink_to(loop)
    for path in (fifo, link, Path("/dev/zero"), scratch, scratch / "missing.txt", loop):
        status, message = outcome(worker, "file", str(path), timeout=10)
        assert status == "parse_error" and str(path) in message


def test_a_file_name_with_a_line_break_still_gives_one_line(worker, scratch):
    path = _write(scratch, b"\x00\x01binary", "odd\nname.txt")
    status, message = outcome(worker, "file", str(path))
    assert status == "parse_error" and "odd\\nname" in message


# ---- huge and pathological inputs -----------------------------------------------------------

_HUGE = {
    "letters": "a" * MB,
    "spaces-then-text": " " * MB + TITLE,
    "stars": "*" * MB,
    "bold-runs": "**a" * (MB // 3),
    "dashes": "- " * (MB // 2),
    "numbers": "1. " * (MB // 3),
    "underscores": "_a" * (MB // 2),
    "angle-brackets": "<" * MB,
    "paragraph-tags": "<p>" * (MB // 3),
    "hangul": "가" * MB,
    "emoji": "😀" * (MB // 4),
    "combining": "a\u0301" * (MB // 2),
    "vertical-tabs": TITLE + "\n" + "\x0b" * MB,
    "one-line-report": TITLE + " " + "Russian forces attacked near Kyiv, and held. " * (MB // 46),
    "endnotes": TITLE + "\n\nRussian forces attacked." + "[12]" * (MB // 4),
    "month-names": TITLE + "\n\n" + "March " * (MB // 6),
    "names": TITLE + "\n\n" + "Riley Bailey " * (MB // 13),
    "bullets": TITLE
    + "\n\nKey Takeaways\n"
    + "• Russian forces attacked near the city.\n" * (MB // 40),
    "korean": "[ISW] 러시아 공세 캠페인 평가, 2024년 1월 26일\n[요약]\n" + "가" * MB,
    "html-brackets": HTML_HEAD + "<p>" + "[" * MB + "</p></body></html>",
    "html-list": HTML_HEAD
    + "<h2>Key Takeaways</h2><ul>"
    + "<li>Russian forces attacked.</li>" * (MB // 32)
    + "</ul></body></html>",
    "html-nested-bold": HTML_HEAD + "<p>" + "<b>" * (MB // 3) + "Russian forces.</p></body></html>",
    "html-entities": HTML_HEAD + "<p>" + "&amp;" * (MB // 5) + "</p></body></html>",
    "yaml-nesting": "---\n" + "[" * 20_000 + "\n---\n" + TITLE + "\n\nRussian forces attacked.",
}


@pytest.mark.parametrize("name", list(_HUGE))
def test_huge_and_pathological_lines_finish(worker, name):
    outcome(worker, "text", _HUGE[name])


# Inputs that used to hang (time quadratic in the input): each is sized so that the parsers
# before the fix took from 5 seconds to many minutes, and a fixed one well under a second.
_FORMER_HANGS = {
    # markdown: link / image / endnote-link / autolink patterns rescanning the rest of the line
    # from every "[" (and looks_like_markdown's link test)
    "markdown-link-regex": TITLE + "\n\n" + "[" * 200_000,
    "markdown-images": TITLE + "\n\n**a** [a](b)\n" + "![" * 100_000,
    "markdown-image-targets": TITLE + "\n\n**a** [a](b)\n" + "![a](" * 200_000,
    "endnote-link-targets": TITLE + "\n\nRussian forces attacked " + "[[1]](" * 50_000,
    "markdown-autolinks": TITLE + "\n\n**a** [a](b)\n" + "<https://" * 60_000,
    # looks_like_markdown's bullet test, its indent running across a long run of blank lines
    "markdown-blank-lines": TITLE + "\n**a** [a](b)\n" + "\n" * 200_000 + "x",
    # a front-matter title with a long run of spaces before a "|"
    "markdown-title-spaces": "---\ntitle: '|" + " " * 200_000 + "b|'\n---\n" + TITLE,
    # "Assessment" then a long run of spaces or blank lines (dates.ASSESSMENT_DATE)
    "assessment-spaces": "Assessment" + " " * 100_000 + "x\n" + TITLE,
    "assessment-blank-lines": TITLE
    + "\n\nRussian forces attacked in the Assessment"
    + "\n" * 200_000
    + "x",
    # lines.join_lines re-cleaning the whole growing block for every continuation line
    "wrapped-lines": TITLE + "\n\n" + "word\n" * 30_000,
    "wrapped-bullet": TITLE + "\n\n- Russian forces attacked\n" + "  word\n" * 30_000,
    # a Korean summary bullet wrapped over many lines, grown one string at a time
    "korean-wrapped-bullet": "[ISW] 러시아 공세 캠페인 평가, 2024년 1월 26일\n[요약]\n핵심 요점:\n- 공격\n"
    + "가나다라마바사\n" * 200_000,
    # blocks._unlabeled_takeaways comparing every list item with every paragraph lead
    "paragraphs-then-items": TITLE
    + "\n\n"
    + "".join(f"Paragraph {i} says something long enough here. More.\n\n" for i in range(5000))
    + "".join(f"- Item {i} something different and long enough\n" for i in range(5000)),
    # chunking._sentences re-reading the growing sentence at every initial ("W.")
    "many-initials": TITLE
    + "\n\n"
    + "by Riley Bailey, Grace Mappes, and Frederick W. Kagan\n" * 6000,
    # isw_html._collect_blocks walking the whole subtree at every level (and recursing), and
    # lexbor itself, whose tree building is quadratic in the nesting depth
    "html-deep-nesting": HTML_HEAD + "<div>" * 200_000 + "Russian forces attacked.</body></html>",
    "html-nested-links": HTML_HEAD + "<i><a>" * 150_000 + "Russian forces.</body></html>",
    "html-reopened-bold": HTML_HEAD
    + "".join(f"<div><b id=b{i}>x</div>" for i in range(40_000))
    + "</body></html>",
}


@pytest.mark.parametrize("name", list(_FORMER_HANGS))
def test_former_parser_hangs_finish(worker, name):
    outcome(worker, "text", _FORMER_HANGS[name], timeout=HANG_PROBE_TIMEOUT)


@pytest.mark.parametrize("depth", [10, 250, 300, 200_000])
def test_deeply_nested_html_parses_or_is_refused_clearly(worker, depth):
    """Up to html_depth's limit the page parses (its text found at the bottom); beyond it, the
    ParseError says why."""
    html = HTML_HEAD + "<div>" * depth + "Russian forces attacked near Kyiv.</body></html>"
    status, value = outcome(worker, "text", html, timeout=HANG_PROBE_TIMEOUT)
    if depth <= 250:
        assert status == "ok", value
    else:
        assert status == "parse_error" and "HTML nested too deeply" in value, value


# ---- the query path -------------------------------------------------------------------------


@fuzz(80)
@given(
    st.one_of(st.text(max_size=300), MIXED_TEXT, REPORT_LIKE.map(lambda t: t[:500])),
    st.one_of(st.none(), st.sampled_from(["ko", "en-US", "uk", "", "zz", "pt-br"]), st.text()),
    st.dates(),
)
def test_query_helpers_take_any_text(query_worker, text, hint, today):
    """parse_dates, LanguageDetector.detect, Tokenizer.tokens and Gazetteer.expand never raise."""
    status, value, _ = query_worker.call("query", (text, hint, today))
    assert status == "ok", value


_LONG_QUERIES = {
    "digits": "1" * 4096,
    "digit-slashes": "1/" * 2048,
    "korean-months": "12월 " * 1024,
    "korean-years": "2024년 " * 682,
    "english-dates": "January 1 " * 409,
    "ranges": "from January 2 to February 3 " * 140,
    "relative": "3 days ago last week " * 195,
    "hangul": "가" * 4096,
    "mixed-names": "Авдіївка Avdiivka 아브디이프카 " * 136,
    "line-separators": "\u2028\x85\x0b" * 1365,
    "nul": "\x00" * 4096,
    "emoji": "😀" * 4096,
}


@pytest.mark.parametrize("name", list(_LONG_QUERIES))
def test_long_queries_finish(query_worker, name):
    """Telegram messages are at most 4096 characters."""
    status, value, _ = query_worker.call("query", (_LONG_QUERIES[name], None, date(2024, 1, 26)))
    assert status == "ok", value


def test_an_html_page_far_larger_than_any_report_is_refused_at_once():
    """lexbor is quadratic on some tag soup; pages over MAX_HTML_CHARS (10x the largest saved
    report) get a one-line error instead of minutes of parsing."""
    from store.parsers.isw_html import MAX_HTML_CHARS

    unit = "<form></select><select></p><nobr>"
    text = "<html><body>" + unit * (MAX_HTML_CHARS // len(unit) + 1) + "</body></html>"
    started = time.monotonic()
    with pytest.raises(ParseError, match="too large for a report"):
        parse_text(text, "soup.html")
    assert time.monotonic() - started < 1.0
