"""The real Telegram bot, end to end: the real Application, handlers and ReportQA (the `qa`
fixture), its real polling loop, against a fake Bot API server (bot/fake_bot_api.py).

A wrapper around the real qa lets a test inject an edge-case answer (10,000 characters, HTML in
report text) or a failure; everything else is the real thing.
"""

from __future__ import annotations

import asyncio
import html
import itertools
import logging
import re
import time
from datetime import date

import pytest
import pytest_asyncio

from bot.context import DEPS_KEY
from bot.fake_bot_api import FakeBotApi, parse_html
from bot.i18n import label
from bot.settings import Settings
from bot.telegram_app import REDACTED, build_application, run_bot
from bot.telegram_format import (
    MAX_MESSAGE,
    answer_blocks,
    escape,
    render_answer,
    strip_tags,
    tags_balanced,
    tg_len,
)
from retrieval.models import Answer, Result
from tests.bot_harness import FakeClock, SwitchableQA, polling, sentinel

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.slow]

TOKEN = "123456789:AAE-fake_token-for-the-e2e-tests-0123456789"
BOT_NAME = "isw_report_bot"
RATE_LIMIT = 5
KO_QUESTION = "크렘린이 협상에 대해 뭐라고 했어?"
EN_QUESTION = "What did the Kremlin say about negotiations?"
HANGUL = re.compile(r"[\uac00-\ud7a3]")

_ids = itertools.count(10_001)


def new_id() -> int:
    """A fresh user (= private chat) id, so scenarios never share a chat or a rate limit."""
    return next(_ids)


def make_settings(base_url: str, **extra) -> Settings:
    return Settings(
        _env_file=None,
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE_URL=base_url,
        rate_limit_per_minute=RATE_LIMIT,
        send_retry_delay=0.05,  # 5xx retries are exercised; no need to wait half a second each
        typing_delay=0.0,  # "typing…" at once, so the scenarios can see it
        **extra,
    )


def result(text: str, position: int = 0, **overrides) -> Result:
    values = {
        "report_id": "2024-01-26",
        "report_date": date(2024, 1, 26),
        "text": text,
        "lang": "en",
        "kind": "takeaway",
        "report_title": "Russian Offensive Campaign Assessment, January 26, 2024",
        "source": "https://www.understandingwar.org/backgrounder/russian-offensive-campaign-"
        "assessment-january-26-2024",
        "score": 1.0,
        "position": position,
    }
    values.update(overrides)
    return Result(**values)


def stub_answer(answer: Answer):
    def ask(question: str, limit: int | None = None, lang: str | None = None) -> Answer:
        return answer.model_copy(update={"query": question})

    return ask


# ---- fixtures ---------------------------------------------------------------------------------


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def api():
    server = FakeBotApi(TOKEN, username=BOT_NAME)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture(scope="session")
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="session")
def switch(qa) -> SwitchableQA:
    return SwitchableQA(qa)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def app(api, switch, clock):
    """The real Application, polling the fake server, as run_polling would run it."""
    application = build_application(make_settings(api.base_url), switch, clock=clock)
    async with polling(application):
        yield application


@pytest.fixture(autouse=True)
def _fresh(request):
    """Each scenario starts with no recorded calls, no armed faults and the real qa."""
    if "app" not in request.fixturenames:
        yield
        return
    api = request.getfixturevalue("api")
    switch = request.getfixturevalue("switch")
    api.reset()
    switch.overrides.clear()
    yield
    switch.overrides.clear()


async def say(api: FakeBotApi, text: str, *, chat: int | None = None, lang: str = "en", **kw):
    """A user writes `text` in a private chat; returns (chat id, the bot's next reply)."""
    chat = chat or new_id()
    before = len(api.sent_to(chat))
    api.push_text(chat, text, language_code=lang, **kw)
    reply = await api.wait_for("sendMessage", lambda p: p.get("chat_id") == chat, count=before + 1)
    return chat, reply


async def press(api: FakeBotApi, chat: int, message_id: int, data: str, user: int):
    """The user presses an inline button; returns the callback query id."""
    return api.push_callback(api.messages[(chat, message_id)], data, user_id=user)


def buttons(params: dict) -> list[tuple[str, str]]:
    markup = params.get("reply_markup") or {"inline_keyboard": [[]]}
    return [(b["text"], b["callback_data"]) for row in markup["inline_keyboard"] for b in row]


def joined_modulo_breaks(pages: list[str], whole: str) -> bool:
    texts = [strip_tags(p) for p in pages]
    pattern = r"\s*".join(re.escape(t) for t in texts)
    return re.fullmatch(pattern, strip_tags(whole), flags=re.DOTALL) is not None


# ---- conversation -----------------------------------------------------------------------------


async def test_command_menu_set_at_startup_in_english_korean_ukrainian_and_russian(app, api):
    default = api.commands[('{"type": "default"}', "")]
    korean = api.commands[('{"type": "default"}', "ko")]
    for lang in ("uk", "ru"):
        menu = api.commands[('{"type": "default"}', lang)]
        assert [c["command"] for c in menu] == [c["command"] for c in default]
        assert [c["description"] for c in menu] == [
            label(lang, f"cmd_{c['command']}") for c in default
        ]
        assert menu[0]["description"] != default[0]["description"]
    assert [c["command"] for c in default] == [
        "latest",
        "topic",
        "timeline",
        "date",
        "subscribe",
        "unsubscribe",
        "stats",
        "help",
    ]
    assert [c["command"] for c in korean] == [c["command"] for c in default]
    assert default[0]["description"] == label("en", "cmd_latest")
    assert korean[0]["description"] == label("ko", "cmd_latest")


@pytest.mark.parametrize(
    ("command", "language_code", "lang"),
    [("/start", "ko", "ko"), ("/help", "en", "en"), ("/start", "fr", "en"), ("/help", None, "en")],
)
async def test_start_and_help_in_the_users_language(app, api, command, language_code, lang):
    _, reply = await say(api, command, lang=language_code)
    assert reply.params["text"] == escape(label(lang, "help"))
    assert reply.params["parse_mode"] == "HTML"


async def test_korean_question_gets_korean_takeaways_with_the_date(app, api):
    chat, reply = await say(api, KO_QUESTION, lang="ko")
    text = reply.params["text"]
    assert reply.params["parse_mode"] == "HTML"
    assert "2024-01-26" in text
    assert HANGUL.search(text) and "크렘린" in text and "협상" in text
    assert label("ko", "takeaway") in text
    assert label("ko", "source") in text
    # "typing…" was shown before the answer.
    typing = api.calls_of("sendChatAction", lambda p: p.get("chat_id") == chat)
    assert typing and typing[0].params["action"] == "typing"
    assert typing[0].at <= reply.at


async def test_english_question_gets_english_takeaways(app, api):
    _, reply = await say(api, EN_QUESTION, lang="ko")  # the text decides, not the app language
    text = reply.params["text"]
    assert "2024-01-26" in text
    assert "Kremlin" in text
    assert label("en", "takeaway") in text
    assert label("ko", "takeaway") not in text and "크렘린" not in text


async def test_latest(app, api, qa):
    _, reply = await say(api, "/latest")
    expected = qa.latest(lang="en")
    assert expected.results
    assert reply.params["text"] == render_answer(expected)[0]
    newest = max(r.report_date for r in expected.results).isoformat()
    assert newest in reply.params["text"]


async def test_latest_with_a_count(app, api, qa):
    _, reply = await say(api, "/latest 2")
    assert reply.params["text"] == render_answer(qa.latest(limit=2, lang="en"))[0]
    assert "<b>3. " not in reply.params["text"]


async def test_topic_in_korean_newest_first(app, api, qa):
    _, reply = await say(api, "/topic 아브디이프카", lang="ko")
    text = reply.params["text"]
    assert text == render_answer(qa.topic("아브디이프카"))[0]
    assert "2024-01-26" in text
    assert "아브디이프카" in text
    dates = re.findall(r"\[(\d{4}-\d{2}-\d{2})\]", text)
    assert dates == sorted(dates, reverse=True)


@pytest.mark.parametrize("expression", ["2024-01-26", "2024년 1월 26일", "1월 26일"])
async def test_date(app, api, qa, expression):
    _, reply = await say(api, f"/date {expression}")
    lang = "en" if expression == "2024-01-26" else None
    assert reply.params["text"] == render_answer(qa.on_date(expression, lang=lang))[0]
    if expression != "1월 26일":
        assert "[2024-01-26]" in reply.params["text"]


@pytest.mark.parametrize(
    ("command", "key", "lang"),
    [
        ("/topic", "usage_topic", "ko"),
        ("/date", "usage_date", "en"),
        ("/topic   ", "usage_topic", "en"),
    ],
)
async def test_commands_without_an_argument_get_usage(app, api, command, key, lang):
    _, reply = await say(api, command, lang=lang)
    assert reply.params["text"] == escape(label(lang, key))


async def test_unknown_command(app, api):
    _, reply = await say(api, "/frobnicate")
    assert reply.params["text"].startswith(
        escape(label("en", "unknown_command", command="/frobnicate"))
    )


async def test_stats(app, api, qa):
    _, reply = await say(api, "/stats")
    assert f"{qa.stats().reports} reports" in reply.params["text"]


# ---- long answers -----------------------------------------------------------------------------


async def test_pagination_with_more_and_back_buttons(app, api, switch, clock):
    answer = Answer(
        command="ask",
        query="",
        lang="en",
        results=[
            result(f"Takeaway number {i}. " + "Russian forces attacked near Avdiivka. " * 20, i)
            for i in range(9)
        ],
    )
    switch.overrides["ask"] = stub_answer(answer)
    pages = render_answer(answer)
    assert len(pages) == 3
    chat, first = await say(api, "What happened near Avdiivka?")
    assert first.params["text"] == pages[0]
    [(more_text, more_data)] = buttons(first.params)
    assert label("en", "more") in more_text and "2/3" in more_text
    message_id = first.result["message_id"]

    query = await press(api, chat, message_id, more_data, chat)
    await api.wait_for("answerCallbackQuery", lambda p: p["callback_query_id"] == query)
    second = await api.wait_for("editMessageText", lambda p: p["message_id"] == message_id)
    assert second.params["text"] == pages[1]
    assert second.params["parse_mode"] == "HTML"
    back, more = buttons(second.params)
    assert label("en", "back") in back[0] and "3/3" in more[0]

    query = await press(api, chat, message_id, more[1], chat)
    await api.wait_for("answerCallbackQuery", lambda p: p["callback_query_id"] == query)
    third = await api.wait_for("editMessageText", count=2)
    assert third.params["text"] == pages[2]
    [(back_text, back_data)] = buttons(third.params)  # the last page: only "back"

    query = await press(api, chat, message_id, back_data, chat)
    await api.wait_for("answerCallbackQuery", lambda p: p["callback_query_id"] == query)
    again = await api.wait_for("editMessageText", count=3)
    assert again.params["text"] == pages[1]

    # An unknown page says so (and the buttons go).
    query = await press(api, chat, message_id, "pg:deadbeef:1", chat)
    expired = await api.wait_for("answerCallbackQuery", lambda p: p["callback_query_id"] == query)
    assert expired.params["text"] == label("en", "expired")
    await api.wait_for("editMessageReplyMarkup", lambda p: p["message_id"] == message_id)
    query = await press(api, chat, message_id, "something else", chat)
    stray = await api.wait_for("answerCallbackQuery", lambda p: p["callback_query_id"] == query)
    assert stray.params["text"] == label("en", "expired")

    # So does a stored one after a day.
    _, other = await say(api, "What happened near Avdiivka?", chat=chat)
    clock.advance(25 * 3600)
    query = await press(api, chat, other.result["message_id"], buttons(other.params)[0][1], chat)
    expired = await api.wait_for("answerCallbackQuery", lambda p: p["callback_query_id"] == query)
    assert expired.params["text"] == label("en", "expired")
    # Only answers were sent: no error reply.
    assert [c.params["text"] for c in api.sent_to(chat)] == [pages[0], pages[0]]


async def test_ten_thousand_character_answer_is_split_correctly(app, api, switch):
    sentence = "Russian forces attacked near Avdiivka & <b>Bakhmut</b> on 26 January. "
    text = (sentence * (10_000 // len(sentence) + 1))[:10_000]
    answer = Answer(command="ask", query="", lang="en", results=[result(text)])
    switch.overrides["ask"] = stub_answer(answer)
    chat, first = await say(api, "Tell me everything about Avdiivka")
    pages = [first.params["text"]]
    message_id = first.result["message_id"]
    more = label("en", "more")
    while len(pages) < 10:
        ahead = [d for t, d in buttons(api.messages[(chat, message_id)]) if more in t]
        if not ahead:
            break
        await press(api, chat, message_id, ahead[0], chat)
        edit = await api.wait_for("editMessageText", count=len(pages))
        pages.append(edit.params["text"])
    assert pages == render_answer(answer)
    assert len(pages) >= 3  # 10,000 characters, more once escaped
    for page in pages:
        assert tg_len(page) <= MAX_MESSAGE
        assert tags_balanced(page)
        parse_html(page)
    assert joined_modulo_breaks(pages, "\n\n".join(answer_blocks(answer)))
    # Split at sentence ends, and what the user reads is the report's text.
    seen = " ".join(html.unescape(strip_tags(p)) for p in pages)
    assert "Avdiivka & <b>Bakhmut</b> on 26 January." in seen
    for page in pages[:-1]:
        assert html.unescape(strip_tags(page)).rstrip().endswith("January.")


async def test_html_in_report_text_is_escaped(app, api, switch):
    answer = Answer(
        command="ask",
        query="",
        lang="en",
        results=[
            result(
                'Russia <b>claimed</b> Avdiivka & "more" <script>x</script>',
                report_title="<i>Assessment</i> & co",
                source="https://example.org/report?a=1&b=<2>",
                supporting="Passage with <a href='x'>link</a> & stuff",
            )
        ],
    )
    switch.overrides["ask"] = stub_answer(answer)
    _, reply = await say(api, "html please")
    text = reply.params["text"]
    assert "Russia &lt;b&gt;claimed&lt;/b&gt; Avdiivka &amp; &quot;more&quot;" in text
    assert "&lt;script&gt;" in text and "<script>" not in text
    assert "&lt;i&gt;Assessment&lt;/i&gt; &amp; co" in text
    assert 'href="https://example.org/report?a=1&amp;b=&lt;2&gt;"' in text
    # Telegram accepted it, and the user reads the report's own characters.
    assert 'Russia <b>claimed</b> Avdiivka & "more" <script>x</script>' in reply.result["text"]


# ---- groups -----------------------------------------------------------------------------------


async def test_group_answers_only_when_addressed(app, api):
    group = -1_000_000_000_000 - new_id()
    user = new_id()
    api.push_group_message(group, KO_QUESTION, user_id=user)  # chatter: ignored
    api.push_group_message(group, "/topic@some_other_bot 아브디이프카", user_id=user)  # not ours
    asked = api.push_group_message(group, KO_QUESTION, user_id=user, mention=True)
    first = await api.wait_for("sendMessage", lambda p: p["chat_id"] == group)
    assert first.params["reply_parameters"]["message_id"] == asked["message_id"]
    assert "2024-01-26" in first.params["text"] and "크렘린" in first.params["text"]

    # A reply to the bot is addressed to it.
    bot_message = api.messages[(group, first.result["message_id"])]
    api.push_group_message(group, EN_QUESTION, user_id=user, reply_to=bot_message)
    second = await api.wait_for("sendMessage", lambda p: p["chat_id"] == group, count=2)
    assert "Kremlin" in second.params["text"]

    # A reply to someone else is not; /command@thisbot is.
    other = api.push_group_message(group, "hello", user_id=user + 1)
    api.push_group_message(group, "I agree", user_id=user, reply_to=other)
    api.push_group_message(group, f"/topic@{BOT_NAME} 아브디이프카", user_id=user)
    third = await api.wait_for("sendMessage", lambda p: p["chat_id"] == group, count=3)
    assert "아브디이프카" in third.params["text"]
    # A bare command in a group is for every bot there, this one included.
    api.push_group_message(group, "/latest 1", user_id=user)
    fourth = await api.wait_for("sendMessage", lambda p: p["chat_id"] == group, count=4)
    assert "[2026-02-02]" in fourth.params["text"]
    await sentinel(api, new_id())
    assert len(api.sent_to(group)) == 4


# ---- failures and limits ----------------------------------------------------------------------


# PTB's own AIORateLimiter reads RetryAfter.retry_after, deprecated as a number since v22.2.
@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_429_is_retried_and_the_answer_delivered_once(app, api):
    api.fail_next("sendMessage", status=429, retry_after=1)
    chat, reply = await say(api, "/date 2024-01-26")
    assert "[2024-01-26]" in reply.params["text"]
    await sentinel(api, new_id())
    attempts = api.calls_of("sendMessage", lambda p: p["chat_id"] == chat, ok_only=False)
    assert [c.status for c in attempts] == [429, 200]
    assert attempts[1].at - attempts[0].at >= 1.0  # it waited retry_after


@pytest.mark.parametrize(
    ("status", "description"), [(502, None), (400, "Bad Request: can't parse entities")]
)
async def test_send_failure_gives_the_short_error_reply(app, api, status, description):
    # A 5xx is retried (settings.send_retries); only when every attempt fails does the user get
    # the short error reply. A 400 is never retried.
    settings = app.bot_data["reportbot"].settings
    times = 1 + settings.send_retries if status >= 500 else 1
    api.fail_next("sendMessage", times=times, status=status, description=description)
    chat, reply = await say(api, "/date 2024-01-26")
    assert reply.params["text"] == escape(label("en", "error"))


async def test_rate_limit(app, api, clock):
    chat = new_id()
    for _ in range(RATE_LIMIT + 3):
        api.push_text(chat, "/date 2024-01-26")
    await api.wait_for("sendMessage", lambda p: p["chat_id"] == chat, count=RATE_LIMIT + 1)
    await sentinel(api, new_id())
    texts = [c.params["text"] for c in api.sent_to(chat)]
    assert len(texts) == RATE_LIMIT + 1  # the limit is said once, not once per message
    limited = escape(label("en", "rate_limited", seconds=60))
    assert texts.count(limited) == 1
    assert sum("[2024-01-26]" in t for t in texts) == RATE_LIMIT
    clock.advance(61)  # the window slides on
    _, reply = await say(api, "/date 2024-01-26", chat=chat)
    assert len(api.sent_to(chat)) == RATE_LIMIT + 2
    assert reply.params["text"] != limited
    assert "[2024-01-26]" in api.sent_to(chat)[-1].params["text"]


async def test_exception_in_qa_gives_short_reply_and_never_logs_the_token(app, api, switch, caplog):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="httpx")  # its request lines carry /bot<token>/

    def boom(question: str, limit: int | None = None, lang: str | None = None) -> Answer:
        raise RuntimeError(f"the index exploded (token {TOKEN})")

    switch.overrides["ask"] = boom
    _, reply = await say(api, KO_QUESTION, lang="ko")
    assert reply.params["text"] == escape(label("ko", "error"))
    assert "Traceback" not in reply.params["text"] and "exploded" not in reply.params["text"]
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert any(r.exc_info and "exploded" in (r.exc_text or "") for r in errors)
    # httpx logs the request once the response is back, a moment after the server saw it.
    for _ in range(100):
        httpx_lines = [r.getMessage() for r in caplog.records if r.name == "httpx"]
        if any("/sendMessage" in line for line in httpx_lines):
            break
        await asyncio.sleep(0.02)
    assert any(REDACTED in line and "/sendMessage" in line for line in httpx_lines)
    for record in caplog.records:
        assert TOKEN not in record.getMessage()
        assert TOKEN not in (record.exc_text or "")
    assert TOKEN not in caplog.text


async def test_fast_answers_skip_the_typing_indicator(app, api):
    settings = app.bot_data[DEPS_KEY].settings
    settings.typing_delay = 10.0
    try:
        chat, reply = await say(api, "/date 2024-01-26")
    finally:
        settings.typing_delay = 0.0
    assert "[2024-01-26]" in reply.params["text"]
    await sentinel(api, new_id())
    assert api.calls_of("sendChatAction", lambda p: p.get("chat_id") == chat) == []


async def test_slow_question_does_not_stall_other_chats(app, api, switch, qa):
    def slow_ask(question: str, limit: int | None = None, lang: str | None = None) -> Answer:
        time.sleep(2.0)
        return qa.ask(question, limit=limit, lang=lang)

    switch.overrides["ask"] = slow_ask
    slow_chat, fast_chat = new_id(), new_id()
    api.push_text(slow_chat, EN_QUESTION)
    await api.wait_for("sendChatAction", lambda p: p["chat_id"] == slow_chat)
    _, fast = await say(api, "/date 2024-01-26", chat=fast_chat)
    slow = await api.wait_for("sendMessage", lambda p: p["chat_id"] == slow_chat)
    assert fast.at < slow.at
    assert "Kremlin" in slow.params["text"]


async def test_allowlist(app, api):
    settings = app.bot_data[DEPS_KEY].settings
    allowed = new_id()
    settings.allowed_chat_ids = [allowed]
    try:
        _, reply = await say(api, EN_QUESTION)
        assert reply.params["text"] == escape(label("en", "not_allowed"))
        _, reply = await say(api, "/date 2024-01-26", chat=allowed)
        assert "[2024-01-26]" in reply.params["text"]
    finally:
        settings.allowed_chat_ids = []


# ---- start-up -----------------------------------------------------------------------------------


async def test_run_bot_polls_or_serves_a_webhook(monkeypatch, qa):
    from telegram.ext import Application

    seen: list[tuple[str, dict]] = []
    monkeypatch.setattr(Application, "run_polling", lambda self, **kw: seen.append(("poll", kw)))
    monkeypatch.setattr(Application, "run_webhook", lambda self, **kw: seen.append(("hook", kw)))
    run_bot(make_settings("http://127.0.0.1:9/bot"), qa)
    run_bot(
        make_settings("http://127.0.0.1:9/bot", webhook_url="https://bot.example.org/tg/hook"), qa
    )
    assert seen[0][0] == "poll"
    assert seen[1][0] == "hook"
    assert seen[1][1]["url_path"] == "tg/hook"
    assert seen[1][1]["webhook_url"] == "https://bot.example.org/tg/hook"
    assert seen[1][1]["secret_token"]
