"""Inline mode: `@bot QUERY` in any chat lists takeaways; choosing one posts it there.

Telegram sends an inline query on every keystroke. A query is answered only once it has
settled: each user's newest query waits `settings.inline_debounce` seconds, and a newer one from
the same user in that time replaces it (the older one is never answered: Telegram's client shows
only the newest anyway, and an unanswered query costs nothing). Answers are kept per query for `settings.inline_cache_time` seconds, by
the bot (so many readers typing the same name cost one search) and by Telegram (`cache_time`).
A settled query counts against the user's rate limit like a question.

What a query finds: an empty query, the newest report's takeaways (/latest); a name or short
term, the takeaways that mention it, newest first (/topic's search); a question (or a term no
takeaway mentions), what the same question in the chat gets. The takeaways are shown and posted as the
bot's own answers show them (bot/telegram_format.py).
"""

from __future__ import annotations

import asyncio
import itertools
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from telegram import InlineQueryResultArticle

from retrieval.models import Answer

if TYPE_CHECKING:
    from retrieval.service import ReportQA

# Distinct queries whose answers the bot keeps (the oldest goes first).
CACHE_ENTRIES = 2000
# An inline query of at most this many words (and no "?") is a name or term: /topic's search.
# /topic itself takes longer terms, but in inline mode readers also type questions, and /topic
# would answer "What did the Kremlin say about negotiations" with every takeaway that names the
# Kremlin.
TERM_WORDS = 3
QUESTION_MARK = re.compile(r"[?？]")


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
    """Per user, the newest query. `schedule` starts a task that waits `delay` seconds and then
    answers, unless a newer query from the same user came meanwhile (then it ends, unanswered:
    superseded). Once settled, a query is answered whatever comes after it."""

    delay: float
    latest: dict[int, int] = field(default_factory=dict)  # user id -> their newest query's number
    superseded: int = 0
    settled: int = 0
    _numbers: Iterator[int] = field(default_factory=itertools.count)

    def schedule(
        self,
        user_id: int,
        answer: Callable[[], Coroutine[Any, Any, None]],
        start: Callable[[Coroutine[Any, Any, None]], asyncio.Task],
    ) -> asyncio.Task:
        """Make this the user's newest query and start waiting for it to settle; `start` turns
        the coroutine into a task (the Application's create_task)."""
        number = next(self._numbers)
        self.latest[user_id] = number
        return start(self._settle(user_id, number, answer))

    async def _settle(
        self, user_id: int, number: int, answer: Callable[[], Coroutine[Any, Any, None]]
    ) -> None:
        await asyncio.sleep(self.delay)
        if self.latest.get(user_id) != number:
            self.superseded += 1
            return
        del self.latest[user_id]
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
    topic_words: int = TERM_WORDS,
    topic_chars: int = 100,
) -> Answer:
    """What an inline query finds (see the module's doc): /latest for an empty query; for a
    name or short term (`is_term`), /topic's takeaways; for a question, or a term nothing
    mentions, the question's answer."""
    query = " ".join(query.split())
    if not query:
        return qa.latest(limit=limit, lang=lang or "en")
    if is_term(query, topic_words, topic_chars):
        found = qa.topic(query, limit=limit, lang=lang)
        if found.results:
            return found
    return qa.ask(query, limit=limit, lang=lang)


def is_term(query: str, words: int = TERM_WORDS, chars: int = 100) -> bool:
    """A name or short term ("아브디이프카", "Chasiv Yar", "Wagner Group"), not a question: at
    most `words` words and `chars` characters, no question mark."""
    return len(query) <= chars and len(query.split()) <= words and not QUESTION_MARK.search(query)
