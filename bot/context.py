"""What every handler gets: the bot's dependencies, typed, through PTB's custom context.

build_application registers BotContext with `ContextTypes(context=BotContext)`, so PTB hands
each handler, error handler and job a BotContext whose `deps` property is the one BotDeps of
the running bot (kept in application.bot_data[DEPS_KEY], where PTB keeps bot-wide state).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from telegram import Update
from telegram.ext import Application, CallbackContext, ContextTypes, ExtBot

from bot.inline import InlineState
from bot.ratelimit import SlidingWindowLimiter
from bot.settings import Settings
from bot.subscriptions import SubscriptionStore
from bot.telegram_format import user_lang
from store.library import ReportLibrary

if TYPE_CHECKING:
    from retrieval.service import ReportQA

DEPS_KEY = "reportbot"


@dataclass
class BotDeps:
    """What the handlers need, kept in application.bot_data[DEPS_KEY]."""

    qa: ReportQA
    settings: Settings
    # The write path (store/library.py): uploads are ingested through it, into the store qa reads.
    library: ReportLibrary
    limiter: SlidingWindowLimiter
    clock: Callable[[], float] = time.monotonic
    # All users together (questions only); None = no global limit.
    global_limiter: SlidingWindowLimiter | None = None
    # One upload is ingested at a time.
    upload_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # New-report subscriptions (bot/subscriptions.py); None: /subscribe is not offered.
    subscriptions: SubscriptionStore | None = None
    # Finds reports that are news and queues them for subscribers (bot/news.py): called after
    # an upload was ingested and after a /subscribe.
    announce: Callable[[], Awaitable[int]] | None = None
    # Inline mode: the debouncer and the answer cache (bot/inline.py); None: inline queries are
    # not answered.
    inline: InlineState | None = None


class BotContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """PTB's CallbackContext with the bot's dependencies as a typed property."""

    def __init__(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        chat_id: int | None = None,
        user_id: int | None = None,
    ) -> None:
        super().__init__(application=application, chat_id=chat_id, user_id=user_id)

    @property
    def deps(self) -> BotDeps:
        return self.bot_data[DEPS_KEY]


CONTEXT_TYPES = ContextTypes(context=BotContext)


def language_code(update: Update) -> str | None:
    """The user's Telegram language (None for updates without a user)."""
    user = update.effective_user
    return user.language_code if user else None


def update_lang(update: Update) -> str:
    """The language for labels: by the message's text, else the user's Telegram language."""
    message = update.effective_message
    text = message.text if message is not None and message.text else ""
    if text.startswith("/"):
        text = text.partition(" ")[2]
    return user_lang(text, language_code(update))
