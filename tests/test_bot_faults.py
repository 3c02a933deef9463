"""The real bot against a misbehaving Telegram and odd input: nothing lost, nothing duplicated,
nothing crashes.

The real Application, handlers and ReportQA (the shared `qa` fixture) poll a fake Bot API server
(bot/fake_bot_api.py) that injects faults: 429 with retry_after, 502/503, replies slower than
the bot's read timeout, connections reset mid-request, getUpdates answering garbage. Each test
counts the faults injected, the answers delivered, lost (must be 0) and duplicated (must be 0);
the module prints the totals at the end (`pytest -s`).

Odd input: 4096-character messages, emoji only, whitespace only, commands without (or with far
too long) arguments, edited messages (ignored: the first version is answered once), channel
posts (ignored), stickers and photos (a short "text only" reply in private, ignored in groups),
update types the bot does not know, and updates python-telegram-bot cannot even read — after each
one a normal question in the same chat is still answered.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import re
import time
from collections import Counter
from collections.abc import Callable

import httpx
import pytest
import pytest_asyncio
from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut

from bot.fake_bot_api import Call, FakeBotApi
from bot.i18n import label
from bot.sending import send_failure, send_with_retry
from bot.settings import Settings
from bot.telegram_app import build_application
from bot.telegram_format import escape
from tests.bot_harness import FakeClock, SwitchableQA, polling, sentinel

# 429s are retried by PTB's AIORateLimiter, which reads the deprecated RetryAfter.retry_after
# (also after a test, while the application keeps running).
pytestmark = [
    pytest.mark.asyncio(loop_scope="session"),
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning"),
]

TOKEN = "223456789:AAF-fake_token-for-the-fault-tests-9876543210"
BOT_NAME = "isw_report_bot"
RETRY_DELAY = 0.05
READ_TIMEOUT = 2.0
DATE_QUESTION = "/date 2024-01-26"
EN_QUESTION = "What did the Kremlin say about negotiations?"
ANSWER = re.compile(r"\[\d{4}-\d{2}-\d{2}\]")

_ids = itertools.count(20_001)
FIGURES: Counter[str] = Counter()


def new_id() -> int:
    return next(_ids)


def group_id() -> int:
    return -1_000_000_000_000 - new_id()


def make_settings(base_url: str, **extra) -> Settings:
    values = {
        "rate_limit_per_minute": 0,
        "global_rate_limit_per_minute": 0,
        "send_retry_delay": RETRY_DELAY,
        "telegram_read_timeout": READ_TIMEOUT,
        "typing_delay": 0.0,  # the typing indicator's faults are part of the run
        **extra,
    }
    return Settings(
        _env_file=None, TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_BASE_URL=base_url, **values
    )


# ---- fixtures ---------------------------------------------------------------------------------


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def api():
    server = FakeBotApi(TOKEN, username=BOT_NAME)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture(scope="module")
def switch(qa) -> SwitchableQA:
    return SwitchableQA(qa)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def app(api, switch):
    application = build_application(make_settings(api.base_url), switch, clock=FakeClock())
    async with polling(application):
        yield application
    print("\n[test_bot_faults] " + ", ".join(f"{k}={v}" for k, v in sorted(FIGURES.items())))


@pytest.fixture(autouse=True)
def _fresh(request):
    """Each test starts with no recorded calls or armed faults; its injected faults are added to
    the module's figures."""
    if "app" not in request.fixturenames:
        yield
        return
    api = request.getfixturevalue("api")
    switch = request.getfixturevalue("switch")
    api.reset()
    switch.overrides.clear()
    yield
    for (method, kind), count in api.injected.items():
        FIGURES[f"fault:{method}:{kind}"] += count
    switch.overrides.clear()


# ---- helpers ----------------------------------------------------------------------------------


def is_answer(text: str) -> bool:
    return bool(ANSWER.search(text))


def tally(api: FakeBotApi, chats: list[int], what: Callable[[str], bool] = is_answer) -> dict:
    """Answers per chat (one question each): delivered, lost (no answer), duplicates."""
    counts = [sum(1 for c in api.sent_to(chat) if what(c.params["text"])) for chat in chats]
    figures = {
        "questions": len(chats),
        "delivered": sum(1 for n in counts if n >= 1),
        "lost": sum(1 for n in counts if n == 0),
        "duplicates": sum(max(0, n - 1) for n in counts),
    }
    for key, value in figures.items():
        FIGURES[key] += value
    return figures


def attempts(api: FakeBotApi, chat: int, method: str = "sendMessage") -> list[Call]:
    return api.calls_of(method, lambda p: p.get("chat_id") == chat, ok_only=False)


async def ask(api: FakeBotApi, text: str = DATE_QUESTION, *, chat: int | None = None, **kw):
    chat = chat or new_id()
    api.push_text(chat, text, **kw)
    reply = await api.wait_for("sendMessage", lambda p: p.get("chat_id") == chat, timeout=20)
    return chat, reply


# ---- Telegram faults --------------------------------------------------------------------------


async def test_429_retry_after_delivers_once(app, api):
    api.fail_next("sendMessage", times=2, status=429, retry_after=1)
    chat, reply = await ask(api)
    assert is_answer(reply.params["text"])
    await sentinel(api, new_id())
    tries = attempts(api, chat)
    assert [c.status for c in tries] == [429, 429, 200]
    assert tries[1].at - tries[0].at >= 1.0 and tries[2].at - tries[1].at >= 1.0
    assert tally(api, [chat]) == {"questions": 1, "delivered": 1, "lost": 0, "duplicates": 0}


@pytest.mark.parametrize("statuses", [[502], [503, 502], [502, 503, 502]])
async def test_5xx_is_retried_with_backoff_and_delivered_once(app, api, statuses):
    for status in statuses:
        api.fail_next("sendMessage", status=status)
    chat, reply = await ask(api)
    await sentinel(api, new_id())
    tries = attempts(api, chat)
    assert [c.status for c in tries] == [*statuses, 200]
    gaps = [b.at - a.at for a, b in itertools.pairwise(tries)]
    for i, gap in enumerate(gaps):
        assert gap >= RETRY_DELAY * 2**i * 0.9  # 0.05, 0.1, 0.2 s
    assert sum(api.injected.values()) == len(statuses)
    assert api.injected[("sendMessage", "502")] == statuses.count(502)
    assert tally(api, [chat]) == {"questions": 1, "delivered": 1, "lost": 0, "duplicates": 0}
    # Only the answer: no error reply.
    assert len(api.sent_to(chat)) == 1


async def test_5xx_beyond_the_retries_gives_up_with_the_error_reply(app, api):
    retries = app.bot_data["reportbot"].settings.send_retries
    api.fail_next("sendMessage", times=retries + 1, status=503)
    chat, reply = await ask(api)
    assert reply.params["text"] == escape(label("en", "error"))
    await sentinel(api, new_id())
    assert [c.status for c in attempts(api, chat)] == [503] * (retries + 1) + [200]
    # Bounded: the answer was tried 1 + retries times, then the user was told.
    assert len(api.sent_to(chat)) == 1
    FIGURES["gave_up_with_error_reply"] += 1


async def test_connection_reset_mid_request_is_retried_and_delivered_once(app, api):
    api.reset_next("sendMessage", times=2)
    chat, reply = await ask(api)
    assert is_answer(reply.params["text"])
    await sentinel(api, new_id())
    assert [c.fault for c in attempts(api, chat)] == ["reset", "reset", None]
    assert tally(api, [chat]) == {"questions": 1, "delivered": 1, "lost": 0, "duplicates": 0}


async def test_timeout_is_not_resent(app, api):
    """Telegram answers later than the bot's read timeout: PTB raises TimedOut, but the message
    was delivered. The bot does not send it again (at most once) and does not send an error."""
    api.delay_next("sendMessage", READ_TIMEOUT + 1.0)
    chat = new_id()
    started = time.monotonic()
    api.push_text(chat, DATE_QUESTION)
    reply = await api.wait_for("sendMessage", lambda p: p["chat_id"] == chat, timeout=20)
    assert reply.fault == "delay" and is_answer(reply.params["text"])
    assert reply.at - started >= READ_TIMEOUT + 1.0
    await sentinel(api, new_id())
    assert len(attempts(api, chat)) == 1  # no retry, no error reply
    assert tally(api, [chat]) == {"questions": 1, "delivered": 1, "lost": 0, "duplicates": 0}
    # The bot is fine afterwards.
    _, reply = await ask(api)
    assert is_answer(reply.params["text"])


async def test_typing_indicator_failures_do_not_stop_the_answer(app, api):
    api.fail_next("sendChatAction", status=502)
    api.reset_next("sendChatAction")
    chat, reply = await ask(api)
    chat2, reply2 = await ask(api)
    assert is_answer(reply.params["text"]) and is_answer(reply2.params["text"])
    await sentinel(api, new_id())
    assert tally(api, [chat, chat2]) == {"questions": 2, "delivered": 2, "lost": 0, "duplicates": 0}


async def test_polling_survives_garbage_and_loses_or_repeats_nothing(app, api):
    """getUpdates answers garbage, ok=false, 502 and a reset while questions wait: the polling
    loop keeps going, and once the server is back every question is answered exactly once
    (Telegram — and the fake — re-deliver updates until a later offset confirms them)."""
    api.garbage_next("getUpdates")
    api.not_ok_next("getUpdates")
    api.fail_next("getUpdates", status=502)
    api.reset_next("getUpdates")
    api.garbage_next("getUpdates")
    # Wait for the in-flight long poll to end and the faults to start, then ask.
    deadline = time.monotonic() + 5
    while not api.injected and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert api.injected
    chats = [new_id() for _ in range(5)]
    pushed = [api.push_text(chat, DATE_QUESTION) for chat in chats]
    for chat in chats:
        await api.wait_for("sendMessage", lambda p, c=chat: p["chat_id"] == c, timeout=30)
    await sentinel(api, new_id())
    assert api.armed("getUpdates") == 0
    assert sum(api.injected.values()) == 5
    assert app.updater.running
    # Every question reached the bot through a good getUpdates answer, and was answered once.
    delivered = {
        (u["message"]["chat"]["id"], u["message"]["message_id"])
        for c in api.calls_of("getUpdates")
        for u in c.result or []
        if "message" in u
    }
    assert {(m["chat"]["id"], m["message_id"]) for m in pushed} <= delivered
    assert tally(api, chats) == {"questions": 5, "delivered": 5, "lost": 0, "duplicates": 0}
    # And a question after the storm.
    _, reply = await ask(api)
    assert is_answer(reply.params["text"])


# ---- the send policy, unit by unit --------------------------------------------------------------


def _caused(err: Exception, cause: BaseException | None) -> Exception:
    err.__cause__ = cause
    return err


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (NetworkError("Bad Gateway"), "retry"),  # HTTP 502
        (_caused(NetworkError("Service Unavailable (503)"), None), "retry"),
        (_caused(NetworkError("httpx.ConnectError: refused"), httpx.ConnectError("x")), "retry"),
        (_caused(NetworkError("reset"), httpx.RemoteProtocolError("Server disconnected")), "retry"),
        (_caused(NetworkError("reset"), httpx.ReadError("Connection reset by peer")), "retry"),
        (_caused(TimedOut(), httpx.ConnectTimeout("x")), "retry"),  # never reached Telegram
        (_caused(TimedOut(), httpx.PoolTimeout("x")), "retry"),
        (_caused(TimedOut(), httpx.ReadTimeout("x")), "unknown"),  # may have been delivered
        (_caused(TimedOut(), httpx.WriteTimeout("x")), "unknown"),
        (BadRequest("Bad Request: can't parse entities"), "final"),
        (RetryAfter(5), "final"),  # AIORateLimiter already retried it
        (_caused(NetworkError("Unknown error in HTTP implementation"), ValueError()), "final"),
    ],
)
async def test_send_failure_classification(error, kind):
    assert send_failure(error) == kind


async def test_send_with_retry_is_bounded():
    calls = 0

    async def always_502() -> None:
        nonlocal calls
        calls += 1
        raise NetworkError("Bad Gateway")

    started = time.monotonic()
    with pytest.raises(NetworkError):
        await send_with_retry(always_502, retries=3, delay=0.01)
    assert calls == 4
    assert time.monotonic() - started < 1.0

    async def read_timeout() -> None:
        nonlocal calls
        calls += 1
        raise _caused(TimedOut(), httpx.ReadTimeout("x"))

    calls = 0
    assert await send_with_retry(read_timeout, retries=3, delay=0.01) is None
    assert calls == 1


# ---- odd input ------------------------------------------------------------------------------


def _sticker(api: FakeBotApi, chat: int, **kw) -> None:
    sticker = {
        "file_id": "CAACAgIAAxk",
        "file_unique_id": "AgADsticker",
        "type": "regular",
        "width": 512,
        "height": 512,
        "is_animated": False,
        "is_video": False,
        "emoji": "😀",
    }
    api.push_message(chat, sticker=sticker, **kw)


def _photo(api: FakeBotApi, chat: int, **kw) -> None:
    photo = [{"file_id": "AgACAgIAAxk", "file_unique_id": "AQADphoto", "width": 90, "height": 90}]
    api.push_message(chat, photo=photo, **kw)


def _edited(api: FakeBotApi, chat: int) -> None:
    original = api.push_text(chat, DATE_QUESTION)
    edited = {**original, "text": "/date 2022-03-16", "edit_date": int(time.time())}
    api.push_update({"edited_message": edited})


def _unknown_updates(api: FakeBotApi, chat: int) -> None:
    user = api.user(chat)
    api.chat(chat)
    api.push_update(
        {
            "message_reaction": {
                "chat": {"id": chat, "type": "private", "first_name": "Tester"},
                "message_id": 1,
                "date": int(time.time()),
                "user": user,
                "old_reaction": [],
                "new_reaction": [{"type": "emoji", "emoji": "👍"}],
            }
        }
    )
    api.push_update({"a_future_update_type": {"chat": {"id": chat}, "text": DATE_QUESTION}})
    api.push_update(
        {
            "my_chat_member": {
                "chat": {"id": chat, "type": "private", "first_name": "Tester"},
                "from": user,
                "date": int(time.time()),
                "old_chat_member": {"status": "member", "user": api.bot_user},
                "new_chat_member": {"status": "kicked", "user": api.bot_user, "until_date": 0},
            }
        }
    )


def _unreadable_updates(api: FakeBotApi, chat: int) -> None:
    """Updates python-telegram-bot cannot parse (a malformed message; a poll from an older Bot
    API server, without a field PTB requires): they must not block the updates around them."""
    api.push_update({"message": {"message_id": 5, "chat": {"id": chat, "type": "private"}}})
    api.push_update(
        {
            "poll": {
                "id": "1",
                "question": "?",
                "options": [],
                "total_voter_count": 0,
                "is_closed": False,
                "is_anonymous": True,
                "type": "regular",
                "allows_multiple_answers": False,
            }
        }
    )


LONG_QUESTION = (EN_QUESTION + " ") * 100
HELP = escape(label("en", "help"))
TEXT_ONLY = escape(label("en", "text_only"))

# (name, push the odd input into `chat`, chat kind, the replies it should get besides the
# follow-up question's answer — "answer" for an answer, else the exact text)
ODD_INPUTS: list[tuple[str, Callable[[FakeBotApi, int], None], str, list[str]]] = [
    ("4096 characters", lambda a, c: a.push_text(c, LONG_QUESTION[:4096]), "private", ["answer"]),
    (
        "4096 Korean characters",
        lambda a, c: a.push_text(
            c, ("크렘린이 협상에 대해 뭐라고 했어? " * 300)[:4096], language_code="ko"
        ),
        "private",
        ["answer"],
    ),
    ("4096 x without a space", lambda a, c: a.push_text(c, "x" * 4096), "private", ["no_match"]),
    ("emoji only", lambda a, c: a.push_text(c, "😀🔥🇺🇦👍🏽"), "private", [HELP]),
    ("whitespace only", lambda a, c: a.push_text(c, " \n\t  "), "private", [HELP]),
    ("zero-width only", lambda a, c: a.push_text(c, "\u200b\u200d\ufeff"), "private", [HELP]),
    ("punctuation only", lambda a, c: a.push_text(c, "?!…"), "private", [HELP]),
    (
        "/topic without a term",
        lambda a, c: a.push_text(c, "/topic"),
        "private",
        [escape(label("en", "usage_topic"))],
    ),
    (
        "/date without a date",
        lambda a, c: a.push_text(c, "/date"),
        "private",
        [escape(label("en", "usage_date"))],
    ),
    ("/latest with junk", lambda a, c: a.push_text(c, "/latest lots"), "private", ["answer"]),
    (
        "/topic with 1,000 terms",
        lambda a, c: a.push_text(c, "/topic " + " ".join(f"t{i}" for i in range(1000))),
        "private",
        [escape(label("en", "topic_too_long", words=8, chars=100))],
    ),
    (
        "/topic with one 4,000-character term",
        lambda a, c: a.push_text(c, "/topic " + "Avdiivka" * 500),
        "private",
        [escape(label("en", "topic_too_long", words=8, chars=100))],
    ),
    (
        "/date with 4,000 characters",
        lambda a, c: a.push_text(c, "/date " + "2024-01-26 " * 360),
        "private",
        [escape(label("en", "usage_date"))],
    ),
    ("edited message (answered once)", _edited, "private", ["answer"]),
    ("sticker in private", _sticker, "private", [TEXT_ONLY]),
    (
        "photo with a caption in private",
        lambda a, c: _photo(a, c, caption=EN_QUESTION),
        "private",
        [TEXT_ONLY],
    ),
    ("sticker in a group", _sticker, "group", []),
    (
        "photo mentioning the bot in a group",
        lambda a, c: _photo(a, c, caption=f"@{BOT_NAME} {EN_QUESTION}"),
        "group",
        [],
    ),
    (
        "edited message in a group",
        lambda a, c: a.push_message(c, kind="edited_message", text=f"@{BOT_NAME} hi", edit_date=1),
        "group",
        [],
    ),
    ("unknown update types", _unknown_updates, "private", []),
    ("updates PTB cannot read", _unreadable_updates, "private", []),
]


def _category(text: str) -> str:
    if is_answer(text):
        return "answer"
    if escape(label("en", "no_match")) in text:
        return "no_match"
    return text


async def test_odd_input_gets_a_sensible_reply_or_is_ignored(app, api, caplog):
    caplog.set_level(logging.WARNING)
    started = time.monotonic()
    cases = []
    for name, push, kind, expected in ODD_INPUTS:
        chat = new_id() if kind == "private" else group_id()
        push(api, chat)
        # After the odd input, a normal question in the same chat.
        api.push_text(chat, DATE_QUESTION, user_id=new_id() if kind == "group" else None)
        cases.append((name, chat, expected))
    # A channel post (even one that looks like a command) is ignored.
    channel = group_id()
    api.push_message(channel, chat_type="channel", kind="channel_post", text=DATE_QUESTION)
    api.push_message(channel, chat_type="channel", kind="edited_channel_post", text="hi")
    for _name, chat, expected in cases:
        await api.wait_for(
            "sendMessage", lambda p, c=chat: p["chat_id"] == c, timeout=30, count=len(expected) + 1
        )
    last = await sentinel(api, new_id())
    for name, chat, expected in cases:
        got = sorted(_category(c.params["text"]) for c in api.sent_to(chat))
        assert got == sorted([*expected, "answer"]), name
    assert api.sent_to(channel) == []
    # The bot sent nothing else, and nothing went wrong on the way.
    others = api.calls_of("sendMessage", lambda p: p["chat_id"] != last.params["chat_id"])
    assert len(others) == sum(len(e) + 1 for _, _, e in cases)
    problems = [
        r
        for r in caplog.records
        if r.levelno >= logging.ERROR or "could not be read" in r.getMessage()
    ]
    unreadable = [r for r in problems if "could not be read" in r.getMessage()]
    assert len(unreadable) == 2  # the two unreadable updates, logged and skipped
    assert [r for r in problems if r not in unreadable] == []
    # Inputs: each case once, but 3 unknown update types and 2 unreadable ones, + 2 channel posts.
    FIGURES["odd_inputs"] += len(ODD_INPUTS) - 2 + 3 + 2 + 2
    FIGURES["odd_input_followups_answered"] += len(cases)
    assert time.monotonic() - started < 60


async def test_topic_with_1000_terms_answers_quickly(app, api):
    started = time.monotonic()
    _, reply = await ask(api, "/topic " + " ".join(f"term{i}" for i in range(1000)))
    assert reply.params["text"] == escape(label("en", "topic_too_long", words=8, chars=100))
    assert reply.at - started < 2.0
    # A topic at the limit is still searched.
    _, reply = await ask(api, "/topic Avdiivka")
    assert "Avdiivka" in reply.params["text"]
