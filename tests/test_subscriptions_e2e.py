"""New reports by themselves, end to end: the real Application (handlers, JobQueue, the watcher,
the outbox) polls the fake Bot API server (bot/fake_bot_api.py) while report files appear in a
watched folder and on a local HTTP site (tests/watch_helpers.py), and chats /subscribe.

Each test runs its own bot on its own data folder: a small store (two March 2022 reports, the
hashing embedder: pushing needs takeaways, not a model) that the watcher adds to. Restarts stop
the Application and build a new one on the same folder, as a new process would.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import sqlite3
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import chromadb
import pytest
import pytest_asyncio

from bot.fake_bot_api import Call, FakeBotApi, parse_html
from bot.i18n import label
from bot.news import NEWS_KEY
from bot.settings import Settings
from bot.subscriptions import FILE_NAME
from bot.telegram_app import ALLOWED_UPDATES, build_application
from store.embedding import HashingEmbedder
from store.ingest import ingest
from store.parsers import parse_file
from store.vector_store import ReportStore
from tests.conftest import CORPUS, SEED
from tests.watch_helpers import LocalSite, corpus_html, drop_in, rss, title_of

pytestmark = [
    pytest.mark.asyncio(loop_scope="session"),
    pytest.mark.skipif(not SEED.exists(), reason="shared corpus not available"),
]

TOKEN = "123456789:AAE-fake_token-for-the-push-tests-0123456789"
ADMIN = 4242
BASE_REPORTS = ("2022-03-01", "2022-03-02")
_ids = itertools.count(50_001)


def new_id() -> int:
    return next(_ids)


# ---- a bot on a data folder -------------------------------------------------------------------


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def api():
    server = FakeBotApi(TOKEN, username="isw_push_bot")
    await server.start()
    yield server
    await server.stop()


@pytest.fixture(scope="module")
def parts():
    """The query-side models, loaded once: every test's ReportQA shares them."""
    from retrieval.gazetteer import Gazetteer
    from retrieval.language import LanguageDetector
    from retrieval.tokenize import Tokenizer

    return Gazetteer.load(), LanguageDetector(), Tokenizer()


class RunningBot:
    """One bot process: a store opened on `data_dir`, its ReportQA and the real Application."""

    def __init__(self, api: FakeBotApi, parts: tuple, data_dir: Path, settings: dict) -> None:
        self.api, self.parts, self.data_dir, self.options = api, parts, data_dir, settings
        self.application = None
        self.client = None

    async def start(self) -> RunningBot:
        from retrieval.service import ReportQA

        self.client = chromadb.PersistentClient(path=str(self.data_dir / "chroma"))
        store = ReportStore(self.client, "isw_reports", HashingEmbedder.name)
        self.qa = ReportQA(store, HashingEmbedder(), *self.parts)
        settings = Settings(
            _env_file=None,
            TELEGRAM_BOT_TOKEN=TOKEN,
            TELEGRAM_API_BASE_URL=self.api.base_url,
            data_dir=self.data_dir,
            embedding_model=HashingEmbedder.name,
            admin_ids=[ADMIN],
            rate_limit_per_minute=1000,
            watch_interval=0.3,
            send_retry_delay=0.05,
            **self.options,
        )
        application = build_application(settings, self.qa)
        await application.initialize()
        await application.post_init(application)
        await application.start()
        await application.updater.start_polling(
            poll_interval=0, timeout=1, allowed_updates=ALLOWED_UPDATES
        )
        self.application = application
        return self

    async def stop(self) -> None:
        application, self.application = self.application, None
        if application is None:
            return
        await application.updater.stop()
        await application.stop()
        await application.shutdown()
        await application.post_shutdown(application)
        self.client.close()

    @property
    def news(self):
        return self.application.bot_data[NEWS_KEY]

    def db(self, query: str, *args) -> list[tuple]:
        with sqlite3.connect(self.data_dir / FILE_NAME) as db:
            return db.execute(query, args).fetchall()

    async def baseline_taken(self) -> None:
        """Wait until the bot has taken stock of the reports it starts with."""
        path = self.data_dir / FILE_NAME
        await until(lambda: path.exists() and self.db("SELECT 1 FROM meta WHERE key='baseline'"))


@pytest_asyncio.fixture(loop_scope="session")
async def make_bot(api, parts, tmp_path):
    """start(**settings) → a RunningBot on tmp_path/data (the same folder on every call, so a
    second call after stop() is a restart), its store holding BASE_REPORTS."""
    api.reset()
    data_dir = tmp_path / "data"
    client = chromadb.PersistentClient(path=str(data_dir / "chroma"))
    files = [corpus_html(day) for day in BASE_REPORTS]
    ingest(
        files, ReportStore(client, "isw_reports", HashingEmbedder.name), HashingEmbedder(), False
    )
    client.close()
    bots: list[RunningBot] = []

    async def start(**settings) -> RunningBot:
        bot = RunningBot(api, parts, data_dir, settings)
        bots.append(bot)
        return await bot.start()

    yield start
    for bot in bots:
        await bot.stop()
    api.reset()


# ---- helpers --------------------------------------------------------------------------------


async def until(condition: Callable[[], object], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(0.05)


async def settles(read: Callable[[], object], want: object) -> None:
    """`read()` comes to equal `want`. A delivery is marked sent after Telegram's answer comes
    back, so the last one can still read 'pending' the moment its message is seen."""
    with contextlib.suppress(TimeoutError):
        await until(lambda: read() == want)
    assert read() == want


async def command(api: FakeBotApi, chat: int, text: str, lang: str = "en") -> str:
    """A user sends a command in a private chat; the bot's reply (plain text)."""
    before = len(api.sent_to(chat))
    api.push_text(chat, text, language_code=lang)
    reply = await api.wait_for("sendMessage", lambda p: p.get("chat_id") == chat, count=before + 1)
    return parse_html(reply.params["text"])


def is_news(params: dict) -> bool:
    # Replies to commands are plain labels; an announcement opens with its bold header.
    return str(params.get("text", "")).startswith("<b>")


def news_calls(api: FakeBotApi, chat: int) -> list[Call]:
    return api.calls_of("sendMessage", lambda p: p.get("chat_id") == chat and is_news(p))


def news(api: FakeBotApi, chat: int) -> list[str]:
    return [parse_html(c.params["text"]) for c in news_calls(api, chat)]


async def news_arrives(api: FakeBotApi, chat: int, count: int = 1) -> str:
    await api.wait_for(
        "sendMessage", lambda p: p.get("chat_id") == chat and is_news(p), count=count, timeout=20
    )
    return news(api, chat)[count - 1]


# Dropped in last, to prove that nothing more is on its way (see then_a_later_report): newer
# than every report the tests drop in, so it is news.
SENTINEL = CORPUS / "markdown" / "2026-02-02_criticalthreats-crawl.md"
SENTINEL_DAY = "2026-02-02"


async def then_a_later_report(api: FakeBotApi, inbox: Path, chats: list[int]) -> None:
    """Prove that no other message is still on its way to `chats`, without a sleep: one more
    report is dropped in and its announcement reaches each of them. A chat's announcements go
    out in the order they were queued, and this report is found by a later watch round than
    everything before it, so a second message about an earlier report (a round announcing it
    again, a retry of a sent one) would have reached the chat first."""
    drop_in(inbox, SENTINEL)
    for chat in chats:
        await until(
            lambda chat=chat: any(SENTINEL_DAY in m.split("\n")[0] for m in news(api, chat))
        )


def before_sentinel(api: FakeBotApi, chat: int) -> list[str]:
    """The chat's announcements before the sentinel report's, which must be its last."""
    got = news(api, chat)
    assert got and SENTINEL_DAY in got[-1].split("\n")[0], got
    return got[:-1]


def takeaways(path: Path, lang: str = "en") -> list[str]:
    return [t.texts[lang] for t in parse_file(path).takeaways]


# ---- scenarios --------------------------------------------------------------------------------


async def test_new_file_reaches_each_subscriber_once_in_their_language(api, make_bot, tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    bot = await make_bot(watch=[str(inbox)])
    en, ko = new_id(), new_id()
    assert await command(api, en, "/subscribe") == label("en", "subscribed")
    assert await command(api, ko, "/subscribe", lang="ko") == label("ko", "subscribed")
    await bot.baseline_taken()
    assert news(api, en) == [] and news(api, ko) == []  # what the store had is not news

    drop_in(inbox, SEED)  # the Korean repost of 2024-01-26: takeaways in Korean and English
    english, korean = await news_arrives(api, en), await news_arrives(api, ko)
    assert english.startswith(label("en", "news", date="2024-01-26"))
    assert all(t in english for t in takeaways(SEED, "en"))
    assert not any(t in english for t in takeaways(SEED, "ko"))
    assert korean.startswith(label("ko", "news", date="2024-01-26"))
    assert all(t in korean for t in takeaways(SEED, "ko"))
    assert label("ko", "only_english") not in korean

    await then_a_later_report(api, inbox, [en, ko])
    assert len(before_sentinel(api, en)) == 1 and len(before_sentinel(api, ko)) == 1
    await settles(
        lambda: bot.db("SELECT state, COUNT(*) FROM deliveries GROUP BY state"), [("sent", 4)]
    )
    # ... and the bot answers from it too: it reloaded its answers.
    assert takeaways(SEED, "en")[0][:60] in await command(api, en, "/date 2024-01-26")


async def test_same_report_in_a_folder_and_a_feed_is_ingested_and_announced_once(
    api, make_bot, tmp_path
):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    day = date(2022, 6, 1)
    with LocalSite() as site:
        page = "/backgrounder/russian-offensive-campaign-assessment-june-1-2022"
        feed = site.add("/feed.xml", rss(site, []), "application/rss+xml")
        bot = await make_bot(watch=[str(inbox), feed])
        reader = new_id()
        await command(api, reader, "/subscribe")
        await bot.baseline_taken()

        site.add_report(page, corpus_html("2022-06-01"))
        site.add("/feed.xml", rss(site, [(title_of(day), page)]), "application/rss+xml")
        drop_in(inbox, corpus_html("2022-06-01"))
        text = await news_arrives(api, reader)
        await then_a_later_report(api, inbox, [reader])  # a later round has run
        assert len(site.hits(page, 200)) == 1  # fetched once, however many rounds ran
        feed_hits = [r.status for r in site.hits("/feed.xml")]
    assert text.startswith(label("en", "news", date="2022-06-01"))
    assert all(t in text for t in takeaways(corpus_html("2022-06-01")))
    assert len(before_sentinel(api, reader)) == 1
    [entry] = [e for e in bot.qa.store.reports().values() if e.report_date == day]
    assert len(entry.sources) == 2  # the folder's file and the fetched page: one report
    assert 304 in feed_hits  # the unchanged feed was asked "changed since?", not re-read


async def test_topic_subscription_pushes_only_takeaways_that_mention_it(api, make_bot, tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    bot = await make_bot(watch=[str(inbox)])
    everything, follower = new_id(), new_id()
    await command(api, everything, "/subscribe")
    reply = await command(api, follower, "/subscribe 아브디이프카", lang="ko")
    assert reply == label("ko", "subscribed_topic", topic="아브디이프카")
    await bot.baseline_taken()

    drop_in(inbox, corpus_html("2022-05-31"))  # no takeaway mentions Avdiivka
    await news_arrives(api, everything)

    drop_in(inbox, corpus_html("2022-06-01"))  # one of four takeaways does
    # The follower's first announcement is this one: nothing came of the report before it.
    text = await news_arrives(api, follower)
    [mentioned] = [t for t in takeaways(corpus_html("2022-06-01")) if "Avdiivka" in t]
    others = [t for t in takeaways(corpus_html("2022-06-01")) if t != mentioned]
    assert text.startswith(label("ko", "news_topic", date="2022-06-01", topics="“아브디이프카”"))
    assert mentioned in text and label("ko", "only_english") in text
    assert not any(t in text for t in others)
    full = await news_arrives(api, everything, count=2)
    assert all(t in full for t in takeaways(corpus_html("2022-06-01")))

    # Unsubscribing from the topic stops it; saying it twice says there is nothing to stop.
    reply = await command(api, follower, "/unsubscribe 아브디이프카", lang="ko")
    assert reply == label("ko", "unsubscribed_topic", topic="아브디이프카")
    assert await command(api, follower, "/unsubscribe", lang="ko") == label("ko", "not_subscribed")
    drop_in(inbox, corpus_html("2022-06-02"))  # mentions Avdiivka again
    await news_arrives(api, everything, count=3)
    await command(api, follower, "/subscribe", lang="ko")  # everything from now: the witness
    await then_a_later_report(api, inbox, [follower])
    assert len(before_sentinel(api, follower)) == 1


async def test_subscriber_who_blocked_the_bot_is_removed(api, make_bot, tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    bot = await make_bot(watch=[str(inbox)])
    stays, leaves = new_id(), new_id()
    await command(api, stays, "/subscribe")
    await command(api, leaves, "/subscribe")
    await bot.baseline_taken()
    api.block(leaves)

    drop_in(inbox, corpus_html("2022-05-31"))
    await news_arrives(api, stays)
    refused = lambda p: p.get("chat_id") == leaves and is_news(p)  # noqa: E731
    await until(lambda: api.calls_of("sendMessage", refused, ok_only=False))
    await until(lambda: not bot.db("SELECT 1 FROM subscriptions WHERE chat_id = ?", leaves))
    assert [c.status for c in api.calls_of("sendMessage", refused, ok_only=False)] == [403]
    assert bot.db("SELECT state FROM deliveries WHERE chat_id = ?", leaves) == [("dropped",)]

    drop_in(inbox, corpus_html("2022-06-01"))
    await news_arrives(api, stays, count=2)
    await then_a_later_report(api, inbox, [stays])  # the send queue has moved on twice since
    assert len(api.calls_of("sendMessage", refused, ok_only=False)) == 1  # never tried again


async def test_restart_loses_nothing_and_sends_nothing_twice(api, make_bot, tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    first = await make_bot(watch=[str(inbox)])
    en, ko = new_id(), new_id()
    await command(api, en, "/subscribe")
    await command(api, ko, "/subscribe", lang="ko")
    await first.baseline_taken()

    # Report 1 is delivered before the restart.
    drop_in(inbox, corpus_html("2022-05-31"))
    await news_arrives(api, en)
    await news_arrives(api, ko)

    # Report 2 is ingested and queued, but Telegram does not take it (502) until the bot stops.
    api.fail_next("sendMessage", 1000, status=502)
    drop_in(inbox, corpus_html("2022-06-01"))
    await until(
        lambda: (
            first.db(
                "SELECT COUNT(*) FROM deliveries WHERE report_date = '2022-06-01' AND attempts > 0"
            )
            == [(2,)]
        )
    )
    await first.stop()

    # Report 3 arrives while the bot is down.
    drop_in(inbox, corpus_html("2022-06-02"))
    api.reset()  # Telegram is fine again
    second = await make_bot(watch=[str(inbox)])
    for chat in (en, ko):
        await news_arrives(api, chat, count=2)
    await then_a_later_report(api, inbox, [en, ko])
    for chat, lang in ((en, "en"), (ko, "ko")):
        after = before_sentinel(api, chat)
        # Report 2 (queued before the restart), then report 3; report 1 is not sent again.
        assert [m.split("\n")[0] for m in after] == [
            label(lang, "news", date="2022-06-01"),
            label(lang, "news", date="2022-06-02"),
        ]
        first_at, second_at, _ = (c.at for c in news_calls(api, chat))
        assert second_at - first_at >= 0.85  # one message a second per chat
    want = [
        ("2022-05-31", "sent", 2),
        ("2022-06-01", "sent", 2),
        ("2022-06-02", "sent", 2),
        (SENTINEL_DAY, "sent", 2),
    ]

    await settles(
        lambda: second.db("SELECT report_date, state, COUNT(*) FROM deliveries GROUP BY 1, 2"), want
    )
    # Both chats are still subscribed, in their languages.
    assert second.db("SELECT chat_id, lang FROM subscriptions ORDER BY chat_id") == [
        (en, "en"),
        (ko, "ko"),
    ]


async def test_report_an_admin_uploads_is_pushed_to_subscribers(api, make_bot):
    bot = await make_bot()  # no watched sources: uploads and other processes bring reports
    reader = new_id()
    await command(api, reader, "/subscribe")
    await bot.baseline_taken()
    data = corpus_html("2022-06-01").read_bytes()
    before = len(api.sent_to(ADMIN))
    api.push_document(ADMIN, "roca-2022-06-01.html", data, user_id=ADMIN)
    reply = await api.wait_for("sendMessage", lambda p: p.get("chat_id") == ADMIN, count=before + 1)
    assert "1 added" in parse_html(reply.params["text"])
    text = await news_arrives(api, reader)
    assert text.startswith(label("en", "news", date="2022-06-01"))
    assert all(t in text for t in takeaways(corpus_html("2022-06-01")))


async def test_report_ingested_by_another_process_is_pushed(api, make_bot, parts):
    """A report another writer put into the store (as `reportbot watch` or `reportbot ingest`
    in another process would): the bot finds it on its next round and announces it."""
    bot = await make_bot()
    reader = new_id()
    await command(api, reader, "/subscribe")
    await bot.baseline_taken()
    other = chromadb.PersistentClient(path=str(bot.data_dir / "chroma"))
    store = ReportStore(other, "isw_reports", HashingEmbedder.name)
    await asyncio.to_thread(ingest, [corpus_html("2022-05-31")], store, HashingEmbedder(), False)
    text = await news_arrives(api, reader)
    assert text.startswith(label("en", "news", date="2022-05-31"))


async def test_pushes_keep_to_telegrams_rate_limits(api, make_bot, tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    bot = await make_bot(watch=[str(inbox)], push_per_second=4)
    readers = [new_id() for _ in range(6)]
    for reader in readers:
        await command(api, reader, "/subscribe")
    await bot.baseline_taken()
    # Two reports at once: two messages for each of six chats.
    drop_in(inbox, corpus_html("2022-05-31"))
    drop_in(inbox, corpus_html("2022-06-01"))
    for reader in readers:
        await news_arrives(api, reader, count=2)
    sent = sorted(c.at for r in readers for c in news_calls(api, r))
    assert len(sent) == 12
    # At most push_per_second in any second (a little slack for the clock), ...
    assert all(sum(1 for t in sent if start <= t < start + 0.8) <= 4 for start in sent)
    for reader in readers:
        # ... one a second per chat, the older report first.
        first, second = news_calls(api, reader)
        assert second.at - first.at >= 0.85
        assert "2022-05-31" in first.params["text"] and "2022-06-01" in second.params["text"]


async def test_flood_limits_and_server_errors_back_off_and_deliver_once(api, make_bot, tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    bot = await make_bot(watch=[str(inbox)])
    reader = new_id()
    await command(api, reader, "/subscribe")
    await bot.baseline_taken()
    # Four 429s (PTB's rate limiter retries three, the push queue pauses for the fourth), then
    # two 502s (tried again later), then Telegram takes it.
    api.fail_next("sendMessage", 4, status=429, retry_after=1)
    api.fail_next("sendMessage", 2, status=502)
    drop_in(inbox, corpus_html("2022-05-31"))
    await news_arrives(api, reader)
    await then_a_later_report(api, inbox, [reader])
    assert len(before_sentinel(api, reader)) == 1
    assert api.injected[("sendMessage", "429")] == 4 and api.injected[("sendMessage", "502")] == 2
    await settles(
        lambda: bot.db("SELECT state, attempts FROM deliveries ORDER BY report_date"),
        [("sent", 3), ("sent", 1)],
    )


async def test_subscribe_commands_refuse_overlong_topics_and_list_what_is_followed(api, make_bot):
    await make_bot()
    chat = new_id()
    long_topic = "/subscribe " + " ".join(["word"] * 20)
    assert await command(api, chat, long_topic) == label("en", "topic_too_long", words=8, chars=100)
    await command(api, chat, "/subscribe Bakhmut")
    await command(api, chat, "/subscribe")
    reply = await command(api, chat, "/unsubscribe Avdiivka")
    assert reply == label(
        "en",
        "not_subscribed_topic",
        topic="Avdiivka",
        topics=f"“Bakhmut”, {label('en', 'all_reports')}",
    )
    assert await command(api, chat, "/unsubscribe") == label("en", "unsubscribed")
    assert await command(api, chat, "/unsubscribe") == label("en", "not_subscribed")
