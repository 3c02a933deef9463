"""Sending to Telegram: the retry policy, replies, and the "typing…" indicator.

Sending an answer: a 5xx from Telegram or a connection error means Telegram did not take it, so
it is sent again (settings.send_retries, with backoff). A read timeout is different: Telegram got
the request and may have delivered it, so it is *not* sent again (a duplicate is worse than the
rare lost answer) — at most once. 429 is retried by PTB's AIORateLimiter. bot/news.py applies
the same reading of a failure (send_failure) to its pushed messages.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from typing import Any, Literal, TypeVar

import httpx
from telegram import LinkPreviewOptions, Message, Update
from telegram.constants import ChatAction, ParseMode
from telegram.error import BadRequest, NetworkError, TelegramError, TimedOut

from bot.context import BotContext

log = logging.getLogger(__name__)

NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
TYPING_EVERY = 4.5
T = TypeVar("T")


def send_failure(err: TelegramError) -> Literal["retry", "unknown", "final"]:
    """What a failed Bot API send means.

    retry    Telegram did not take the request: an HTTP 5xx, a connection that could not be
             made or that was reset before an answer came (what a stale keep-alive connection or
             a restarting proxy does), a connect or pool timeout.
    unknown  a read/write timeout: Telegram may have delivered it. Not sent again.
    final    anything else (400, 403, RetryAfter after the rate limiter's own retries): raise.
    """
    if isinstance(err, TimedOut):
        cause = err.__cause__
        return "retry" if isinstance(cause, httpx.ConnectTimeout | httpx.PoolTimeout) else "unknown"
    if isinstance(err, BadRequest) or not isinstance(err, NetworkError):
        return "final"
    cause = err.__cause__
    if cause is None or isinstance(cause, TelegramError):  # an HTTP error status (5xx)
        return "retry"
    connection_errors = (
        httpx.ConnectError,
        httpx.RemoteProtocolError,
        httpx.ReadError,
        httpx.WriteError,
    )
    return "retry" if isinstance(cause, connection_errors) else "final"


async def send_with_retry(
    send: Callable[[], Awaitable[T]], retries: int, delay: float, what: str = "message"
) -> T | None:
    """`send()`, again after a failure Telegram did not act on (see send_failure), at most
    `retries` more times, waiting `delay`, 2×`delay`, 4×`delay`, ... seconds. None when a
    timeout left it unknown whether Telegram delivered it (it is not sent again)."""
    attempt = 0
    while True:
        try:
            return await send()
        except TelegramError as err:
            kind = send_failure(err)
            if kind == "unknown":
                log.warning(
                    "Telegram did not confirm the %s in time (%s); it may have been delivered, "
                    "so it is not sent again",
                    what,
                    type(err).__name__,
                )
                return None
            if kind == "final" or attempt >= retries:
                raise
            wait = delay * 2**attempt
            attempt += 1
            log.warning(
                "Sending the %s failed (%s); try %d of %d in %.2f s",
                what,
                err,
                attempt,
                retries,
                wait,
            )
            await asyncio.sleep(wait)


async def reply(
    update: Update,
    context: BotContext,
    html_text: str,
    reply_markup: Any = None,
) -> None:
    """Reply to the update's message in HTML, without link previews, retried per send_failure."""
    message = update.effective_message
    if message is None:
        return
    settings = context.deps.settings

    async def send() -> Message:
        return await message.reply_text(
            html_text,
            parse_mode=ParseMode.HTML,
            link_preview_options=NO_PREVIEW,
            reply_markup=reply_markup,
        )

    await send_with_retry(send, settings.send_retries, settings.send_retry_delay, "reply")


@asynccontextmanager
async def typing(
    context: BotContext, chat_id: int, action: str = ChatAction.TYPING
) -> AsyncIterator[None]:
    """Telegram shows "typing…" (or `action`) for about five seconds: repeat it until the answer
    is ready. Not at all when the answer is ready within settings.typing_delay."""

    async def chat_action() -> None:
        try:
            await context.bot.send_chat_action(chat_id, action)
        except TelegramError as err:
            log.debug("typing indicator failed: %s", err)

    async def send() -> None:
        # Shielded: the answer being ready cancels the typing task, but a request already on
        # the wire is left to finish rather than cut off mid-connection.
        await asyncio.shield(chat_action())

    async def keep_typing() -> None:
        while True:
            await asyncio.sleep(TYPING_EVERY)
            await send()

    async def first_after_delay() -> None:
        await asyncio.sleep(context.deps.settings.typing_delay)
        await send()
        await keep_typing()

    task = asyncio.create_task(first_after_delay())
    try:
        yield
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task
