"""Inline mode: `@bot QUERY` in any chat lists takeaways; choosing one posts it there.

Telegram sends an inline query on every keystroke. A query is answered only once it has
settled: each user's newest query waits `settings.inline_debounce` seconds, and a newer one from
the same user in that time replaces it (the older one is never answered; Telegram's client shows
only the newest anyway). Answers are kept per query for `settings.inline_cache_time` seconds, by
the bot (so many readers typing the same name cost one search) and by Telegram (`cache_time`).
A settled query counts against the user's rate limit like a question.

What a query finds: an empty query, the newest report's takeaways (/latest); a name or term,
the takeaways that mention it, newest first (/topic's search); words that no takeaway contains
(a question), what the same question in the chat gets. The takeaways are shown and posted as the
bot's own answers show them (bot/telegram_format.py).
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from telegram import InlineQueryResultArticle

from retrieval.models import Answer

if TYPE_CHECKING:
    from retrieval.service import ReportQA

# Distinct queries whose answers the bot keeps (the oldest goes first).
CACHE_ENTRIES = 2000


@dataclass
class CachedResults:
    results: list[InlineQueryResultArticle]
    lang: str
    stored: float


class ResultCache:
    """Inline answers by (query, language hint), for `ttl` seconds of `clock`."""

    def __init__(self, ttl: float, clock: Callable[[], float], size: int = CACHE_ENTRIES) -> None:
        self.ttl, self.clock, self.size = ttl, clock, size
        self._items: OrderedDict[tuple[str, str | None], CachedResults] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, key: tuple[str, str | None]) -> CachedResults | None:
        item = self._items.get(key)
        if item is not None and self.clock() - item.stored >= self.ttl:
            del self._items[key]
            item = None
        if item is None:
            self.misses += 1
            return None
        self.hits += 1
        self._items.move_to_end(key)
        return item

    def put(
        self, key: tuple[str, str | None], results: list[InlineQueryResultArticle], lang: str
    ) -> None:
        self._items[key] = CachedResults(results, lang, self.clock())
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)


@dataclass
class Debouncer:
    """Per user, the query still waiting to settle. `schedule` starts a task that waits `delay`
    seconds, then answers; a newer query from the same user cancels it while it waits. Once
    settled, a query is answered whatever comes after it."""

    delay: float
    waiting: dict[int, asyncio.Task] = field(default_factory=dict)
    superseded: int = 0
    settled: int = 0

    def schedule(
        self,
        user_id: int,
        answer: Callable[[], Coroutine[Any, Any, None]],
        start: Callable[[Coroutine[Any, Any, None]], asyncio.Task],
    ) -> asyncio.Task:
        """Replace the user's waiting query (if any) by a new one that calls `answer()` once
        settled; `start` turns the coroutine into a task (the Application's create_task)."""
        older = self.waiting.pop(user_id, None)
        if older is not None and not older.done():
            older.cancel()
            self.superseded += 1
        task = start(self._settle(user_id, answer))
        self.waiting[user_id] = task
        return task

    async def _settle(self, user_id: int, answer: Callable[[], Coroutine[Any, Any, None]]) -> None:
        await asyncio.sleep(self.delay)
        if self.waiting.get(user_id) is asyncio.current_task():
            del self.waiting[user_id]  # no longer cancellable: it is being answered
        self.settled += 1
        await answer()


@dataclass
class InlineState:
    """Inline mode's state in BotDeps: the debouncer and the answer cache."""

    debouncer: Debouncer
    cache: ResultCache

    @classmethod
    def create(
        cls, debounce: float, cache_time: float, clock: Callable[[], float] = time.monotonic
    ) -> InlineState:
        return cls(Debouncer(debounce), ResultCache(cache_time, clock))


def cache_key(query: str, hint: str | None) -> tuple[str, str | None]:
    return " ".join(query.split()), hint


def inline_answer(
    qa: ReportQA,
    query: str,
    lang: str | None,
    limit: int,
    *,
    topic_words: int,
    topic_chars: int,
) -> Answer:
    """What an inline query finds (see the module's doc): /latest for an empty query, else
    /topic's takeaways, else (nothing mentions it, or it is longer than a topic) the question's
    answer."""
    query = " ".join(query.split())
    if not query:
        return qa.latest(limit=limit, lang=lang or "en")
    if len(query) <= topic_chars and len(query.split()) <= topic_words:
        found = qa.topic(query, limit=limit, lang=lang)
        if found.results:
            return found
    return qa.ask(query, limit=limit, lang=lang)
