"""Sharing and timelines, end to end: the real Application, handlers and ReportQA (the corpus
slice, the real model) polling the fake Bot API server (bot/fake_bot_api.py).

Inline mode: a reader's keystrokes arrive as inline queries; only the settled one is answered
(answerInlineQuery, checked by the server as Telegram checks it), answers are cached, the empty
query lists the newest report, and choosing a result posts the takeaway with its date (and its
report's link, when it has one) in the chat. /timeline TERM and the button under /topic send a
PNG chart (sendPhoto, multipart) with the busiest weeks as its caption; a glyph missing from the
chart's fonts is an error here, not a warning.
"""

from __future__ import annotations

import io
import itertools
import re
import time
from datetime import date

import pytest
import pytest_asyncio
from PIL import Image

from bot.context import DEPS_KEY
from bot.fake_bot_api import FakeBotApi
from bot.i18n import label
from bot.settings import Settings
from bot.telegram_app import build_application
from bot.telegram_format import inline_results, share_html, timeline_callback_data
from retrieval.models import Answer, Result
from tests.bot_harness import FakeClock, SwitchableQA, polling

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.slow]

TOKEN = "123456789:AAE-fake_token-for-the-share-tests-0123456789"
RATE_LIMIT = 5
CACHE_TIME = 240
DEBOUNCE = 0.3
HANGUL = re.compile(r"[\uac00-\ud7a3]")
DAY = re.compile(r"^\d{4}-\d{2}-\d{2} · ")
_ids = itertools.count(70_001)


def new_id() -> int:
    return next(_ids)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def api():
    server = FakeBotApi(TOKEN, username="isw_share_bot")
    await server.start()
    yield server
    await server.stop()


@pytest.fixture(scope="module")
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="module")
def switch(qa) -> SwitchableQA:
    return SwitchableQA(qa)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def app(api, switch, clock):
    settings = Settings(
        _env_file=None,
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE_URL=api.base_url,
        rate_limit_per_minute=RATE_LIMIT,
        send_retry_delay=0.05,
        typing_delay=0.0,
        inline_debounce=DEBOUNCE,
        inline_cache_time=CACHE_TIME,
    )
    application = build_application(settings, switch, clock=clock)
    async with polling(application, menu=False):
        yield application


@pytest.fixture(autouse=True)
def _fresh(request):
    if "app" not in request.fixturenames:
        yield
        return
    request.getfixturevalue("api").reset()
    switch = request.getfixturevalue("switch")
    switch.overrides.clear()
    yield
    switch.overrides.clear()


def inline_state(app):
    return app.bot_data[DEPS_KEY].inline


def counting(switch: SwitchableQA, name: str) -> list[str]:
    """Count the real qa's `name` calls (the queries it was asked)."""
    real = getattr(switch.real, name)
    seen: list[str] = []

    def wrapper(query: str, *args, **kwargs):
        seen.append(query)
        return real(query, *args, **kwargs)

    switch.overrides[name] = wrapper
    return seen


async def answer_to(api: FakeBotApi, query_id: str):
    return await api.wait_for("answerInlineQuery", lambda p: p["inline_query_id"] == query_id)


def assert_well_formed(results: list[dict], lang: str) -> None:
    assert 1 <= len(results) <= 10
    assert len({r["id"] for r in results}) == len(results)
    for r in results:
        assert r["type"] == "article"
        assert DAY.match(r["title"]), r["title"]
        assert r["description"].strip()
        content = r["input_message_content"]
        assert content["parse_mode"] == "HTML"
        day = r["title"][:10]
        assert content["message_text"].startswith(f"<b>[{day}]</b> ")
        kind = label(lang, "takeaway")
        assert f"— {kind} · {label(lang, 'source')}: " in content["message_text"]


# ---- inline mode ------------------------------------------------------------------------------


async def test_inline_query_answers_only_the_settled_query(app, api, qa):
    user = new_id()
    state = inline_state(app)
    superseded = state.debouncer.superseded
    keystrokes = ["아", "아브디", "아브디이프카"]
    ids = []
    for text in keystrokes:
        ids.append(api.push_inline_query(user, text, language_code="ko"))
    pushed = api.inline_queries[ids[-1]]["at"]
    answer = await answer_to(api, ids[-1])
    # The earlier keystrokes were replaced while they waited: never answered.
    assert state.debouncer.superseded - superseded == 2
    answered = {c.params["inline_query_id"] for c in api.calls_of("answerInlineQuery")}
    assert answered == {ids[-1]}
    assert answer.at - pushed >= DEBOUNCE
    # The takeaways /topic finds, newest first, shown as the bot shows them.
    expected = qa.topic("아브디이프카", limit=10)
    assert expected.results
    results = answer.params["results"]
    assert_well_formed(results, "ko")
    assert [r["input_message_content"]["message_text"] for r in results] == [
        share_html(r, "ko") for r in expected.results
    ]
    days = [r["title"][:10] for r in results]
    assert days == sorted(days, reverse=True)
    assert any(HANGUL.search(r["title"]) for r in results)  # the Korean text where there is one
    assert answer.params["cache_time"] == CACHE_TIME
    assert answer.params.get("is_personal") in (None, False)  # the text decides, not the user


async def test_inline_answers_are_cached_per_query(app, api, switch, clock):
    searched = counting(switch, "topic")
    first = api.push_inline_query(new_id(), "Avdiivka")
    one = await answer_to(api, first)
    second = api.push_inline_query(new_id(), "Avdiivka", language_code="ko")
    two = await answer_to(api, second)
    assert searched == ["Avdiivka"]  # the second reader got the kept answer
    assert two.params["results"] == one.params["results"]
    assert_well_formed(one.params["results"], "en")
    assert one.params["cache_time"] == CACHE_TIME
    clock.advance(CACHE_TIME + 1)  # kept for cache_time only
    third = api.push_inline_query(new_id(), "Avdiivka")
    await answer_to(api, third)
    assert searched == ["Avdiivka", "Avdiivka"]


async def test_empty_inline_query_lists_the_newest_report(app, api, qa):
    query = api.push_inline_query(new_id(), "", language_code="ko")
    answer = await answer_to(api, query)
    latest = qa.latest(limit=10, lang="ko")
    assert latest.results
    results = answer.params["results"]
    assert_well_formed(results, "ko")
    assert [r["title"] for r in results] == [r.title for r in inline_results(latest)]
    assert {r["title"][:10] for r in results} == {qa.stats().newest.isoformat()}
    assert answer.params["is_personal"] is True  # chosen by the reader's language


async def test_a_question_no_takeaway_contains_gets_the_questions_answer(app, api, qa):
    question = "What did the Kremlin say about negotiations?"
    query = api.push_inline_query(new_id(), question)
    answer = await answer_to(api, query)
    expected = qa.ask(question, limit=10)
    assert [r["input_message_content"]["message_text"] for r in answer.params["results"]] == [
        share_html(r, "en") for r in expected.results
    ]
    assert "2024-01-26" in answer.params["results"][0]["title"]


async def test_inline_queries_keep_the_per_user_rate_limit(app, api):
    user = new_id()
    for i in range(RATE_LIMIT):
        query = api.push_inline_query(user, f"Avdiivka {'x' * i}")
        answer = await answer_to(api, query)
        assert answer.params["results"]
    query = api.push_inline_query(user, "Bakhmut")
    refused = await answer_to(api, query)
    assert refused.params["results"] == []
    assert refused.params["button"]["text"] == label("en", "rate_limited", seconds=60)
    assert refused.params["cache_time"] == 0 and refused.params["is_personal"] is True
    # Others are still answered.
    other = await answer_to(api, api.push_inline_query(new_id(), "Bakhmut"))
    assert other.params["results"]


async def test_choosing_a_result_posts_the_takeaway_with_its_date(app, api, qa):
    query = api.push_inline_query(new_id(), "아브디이프카", language_code="ko")
    answer = await answer_to(api, query)
    first = answer.params["results"][0]
    group = -1_000_000_000_000 - new_id()
    posted = api.choose_inline_result(query, first["id"], group)
    expected = qa.topic("아브디이프카", limit=10).results[0]
    assert posted["via_bot"]["username"] == "isw_share_bot"
    assert posted["text"].startswith(f"[{expected.report_date.isoformat()}] {expected.text}")
    assert expected.report_title in posted["text"]
    # The slice's reports were read from files: they have no web address, and none is made up.
    assert not [e for e in posted.get("entities", []) if e["type"] == "text_link"]
    assert "http" not in posted["text"]


async def test_a_chosen_result_carries_the_report_link(app, api, switch):
    url = "https://www.understandingwar.org/backgrounder/russian-offensive-campaign-assessment-february-17-2024"
    linked = Result(
        report_id="2024-02-17",
        report_date=date(2024, 2, 17),
        text="Ukrainian forces withdrew from Avdiivka.",
        lang="en",
        kind="takeaway",
        report_title="Russian Offensive Campaign Assessment, February 17, 2024",
        source=url,
        score=1.0,
    )
    switch.overrides["topic"] = lambda term, limit=None, lang=None: Answer(
        command="topic", query=term, lang="en", results=[linked]
    )
    query = api.push_inline_query(new_id(), "Avdiivka linked")
    answer = await answer_to(api, query)
    posted = api.choose_inline_result(query, answer.params["results"][0]["id"], new_id())
    assert posted["text"].startswith("[2024-02-17] Ukrainian forces withdrew from Avdiivka.")
    [link] = [e for e in posted["entities"] if e["type"] == "text_link"]
    assert link["url"] == url
    title = posted["text"].encode("utf-16-le")[
        2 * link["offset"] : 2 * (link["offset"] + link["length"])
    ]
    assert title.decode("utf-16-le") == linked.report_title


# ---- timelines --------------------------------------------------------------------------------


@pytest.mark.filterwarnings("error:Glyph:UserWarning")
async def test_timeline_command_sends_a_chart_with_the_peaks(app, api, qa):
    chat = new_id()
    api.push_text(chat, "/timeline 아브디이프카", language_code="ko")
    photo = await api.wait_for("sendPhoto", lambda p: p["chat_id"] == chat, timeout=30)
    action = api.calls_of("sendChatAction", lambda p: p["chat_id"] == chat)
    assert action and action[0].params["action"] == "upload_photo"
    image = Image.open(io.BytesIO(photo.params["photo"]))
    image.load()
    assert image.format == "PNG" and image.width >= 600
    assert photo.result["photo"][0]["width"] == image.width
    timeline = qa.timeline("아브디이프카")
    caption = photo.result["caption"]
    assert caption.startswith(
        label(
            "ko",
            "timeline_head",
            name="아브디이프카",
            total=timeline.total,
            start=timeline.weeks[0].week.isoformat(),
            end=timeline.weeks[-1].week.isoformat(),
        )
    )
    assert label("ko", "timeline_peaks") in caption
    for peak in timeline.peaks:
        week = label("ko", "timeline_week", week=peak.week.isoformat(), count=peak.count)
        assert f"{week}: [{peak.takeaway.report_date.isoformat()}]" in caption
    assert f"{label('ko', 'timeline_first')} [{timeline.first.report_date.isoformat()}]" in caption
    assert f"{label('ko', 'timeline_last')} [{timeline.last.report_date.isoformat()}]" in caption


@pytest.mark.filterwarnings("error:Glyph:UserWarning")
async def test_topic_answers_offer_the_timeline(app, api):
    chat = new_id()
    api.push_text(chat, "/topic 아브디이프카", language_code="ko")
    reply = await api.wait_for("sendMessage", lambda p: p["chat_id"] == chat)
    buttons = [b for row in reply.params["reply_markup"]["inline_keyboard"] for b in row]
    [button] = [b for b in buttons if b["callback_data"] == timeline_callback_data("아브디이프카")]
    assert button["text"] == label("ko", "timeline_button")
    query = api.push_callback(
        api.messages[(chat, reply.result["message_id"])],
        button["callback_data"],
        user_id=chat,
        language_code="ko",
    )
    await api.wait_for("answerCallbackQuery", lambda p: p["callback_query_id"] == query)
    photo = await api.wait_for("sendPhoto", lambda p: p["chat_id"] == chat, timeout=30)
    assert label("ko", "timeline_peaks") in photo.result["caption"]


async def test_timeline_of_a_term_nothing_mentions_says_so(app, api):
    chat = new_id()
    api.push_text(chat, "/timeline Zzyzxville")
    reply = await api.wait_for("sendMessage", lambda p: p["chat_id"] == chat)
    assert reply.params["text"] == label("en", "no_topic", query="Zzyzxville")
    assert api.calls_of("sendPhoto", lambda p: p["chat_id"] == chat) == []


async def test_timeline_without_a_term_gets_usage(app, api):
    chat = new_id()
    api.push_text(chat, "/timeline", language_code="ko")
    reply = await api.wait_for("sendMessage", lambda p: p["chat_id"] == chat)
    assert reply.params["text"] == label("ko", "usage_timeline")


async def test_timeline_button_needs_no_state_and_survives_a_restart(app, api):
    """The button carries the term itself: pressed under an answer the bot no longer
    remembers (e.g. sent before a restart) it still works."""
    chat = new_id()
    api.chat(chat)
    message = {
        "message_id": 999_999,
        "date": int(time.time()),
        "chat": api.chats[chat],
        "from": api.bot_user,
        "text": "an old /topic answer",
    }
    api.messages[(chat, 999_999)] = message
    api.push_callback(message, timeline_callback_data("Avdiivka"), user_id=chat)
    photo = await api.wait_for("sendPhoto", lambda p: p["chat_id"] == chat, timeout=30)
    assert photo.result["caption"].startswith("Avdiivka: ")


async def test_a_private_bot_answers_inline_queries_of_allowed_users_only(app, api):
    settings = app.bot_data[DEPS_KEY].settings
    allowed = new_id()
    settings.allowed_chat_ids = [allowed]
    try:
        refused = await answer_to(api, api.push_inline_query(new_id(), "Avdiivka"))
        assert refused.params["results"] == [] and refused.params["cache_time"] == 0
        served = await answer_to(api, api.push_inline_query(allowed, "Avdiivka"))
        assert served.params["results"]
    finally:
        settings.allowed_chat_ids = []
