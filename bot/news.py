"""New reports by themselves, in the running bot: watch the sources, find the reports that are
news, and push their takeaways to the chats that subscribed.

Two JobQueue jobs:

check  every settings.watch_interval seconds: poll the watch sources (settings.watch) and
       ingest what is new, in a thread and one ingest at a time with uploads, so the bot keeps
       answering; then announce: compare the store with the reports the bot has seen
       (SubscriptionStore.plan), render each subscriber's message in their language and queue
       it in the outbox (SubscriptionStore.record). Reports another process ingested
       (`reportbot watch`, `reportbot ingest`) are found the same way. An admin's upload and a
       /subscribe announce at once.
send   every second: the messages due from the outbox, at most settings.push_per_second a
       second and one a second per chat (Telegram's limits: about 30 a second overall, which
       PTB's AIORateLimiter also enforces for everything the bot sends, and one a second per
       chat, which it does not). A 429 pauses the queue for as long as Telegram asks; a 5xx or
       a connection error is tried again later with growing waits; a chat that blocked the bot
       (403) or no longer exists is unsubscribed. A timeout is not sent again: Telegram may have
       delivered it, and a duplicate is worse than the rare lost message (as for answers).
"""

from __future__ import annotations

import asyncio
import logging
import time
import warnings
from collections import deque
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

from telegram import Bot
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError
from telegram.ext import Application
from telegram.warnings import PTBDeprecationWarning

from bot.context import BotContext, BotDeps
from bot.sending import NO_PREVIEW, send_failure
from bot.settings import Settings
from bot.subscriptions import FILE_NAME, Delivery, Subscription, SubscriptionStore
from bot.telegram_format import news_html
from bot.wiring import make_watcher
from store.library import ReportLibrary
from store.records import ReportEntry
from store.watch import Watcher

if TYPE_CHECKING:
    from retrieval.service import ReportQA

log = logging.getLogger(__name__)

NEWS_KEY = "reportbot_news"
# Telegram allows a chat about one message a second; the send job runs at that pace.
SEND_TICK = 1.0
# A bot back after days away announces the newest few reports, not a week of them at once.
MAX_NEWS_PER_ROUND = 3
# The longest wait between two tries of a message Telegram did not take.
MAX_BACKOFF = 300.0


class News:
    """The watcher, the subscriptions and the outbox of one running bot."""

    def __init__(
        self,
        settings: Settings,
        qa: ReportQA,
        library: ReportLibrary,
        subscriptions: SubscriptionStore,
        ingest_lock: asyncio.Lock,
        watcher: Watcher | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.qa = qa
        self.library = library  # the write path watched reports go in through
        self.subscriptions = subscriptions
        self.ingest_lock = ingest_lock
        self.watcher = watcher
        self.clock = clock
        self._check_lock = asyncio.Lock()
        self._announce_lock = asyncio.Lock()
        self._send_lock = asyncio.Lock()
        self._last_sent: dict[int, float] = {}  # chat -> when its last message went
        self._recent: deque[float] = deque()  # when each message of the last second went
        self._paused_until = 0.0

    def close(self) -> None:
        if self.watcher is not None:
            self.watcher.close()

    # ---- finding new reports ------------------------------------------------------------------

    async def check(self) -> None:
        """One round: what others ingested, then the watch sources, then what they brought."""
        if self._check_lock.locked():
            return  # the previous round is still busy (a slow source, a large ingest)
        async with self._check_lock:
            # First what is already there: the first round records the store as it was before
            # anything was watched, so only what arrives from now on is news.
            await self.announce()
            if self.watcher is None:
                return
            watcher = self.watcher
            try:
                # Fetching needs no lock: an upload is not held up by a slow source.
                results, marks = await asyncio.to_thread(watcher.poll)
                async with self.ingest_lock:
                    found = await asyncio.to_thread(self.library.take, watcher, results, marks)
            except Exception:
                log.exception("Watching the sources failed")
                return
            for outcome in found.summary.failed:
                log.warning("watch: %s could not be read: %s", outcome.path, outcome.reason)
            if found.summary.count("added") or found.summary.count("updated"):
                log.info("watch: %s", found.line())
                await asyncio.to_thread(self.qa.refresh)
            await self.announce()

    async def announce(self) -> int:
        """Queue the reports that are news for the subscribers; how many messages were queued."""
        if self.watcher is None and not self.subscriptions.exists():
            return 0  # nobody ever subscribed: nothing to keep track of
        async with self._announce_lock:
            try:
                return await asyncio.to_thread(self._announce)
            except Exception:
                log.exception("Announcing new reports failed")
                return 0

    def _announce(self) -> int:
        entries = list(self.qa.store.reports().values())
        plan = self.subscriptions.plan(entries, MAX_NEWS_PER_ROUND)
        if not plan.unseen:
            return 0
        if any(e.report_id not in self.qa.catalog.reports for e in plan.unseen):
            self.qa.refresh()  # ingested by another process or a moment ago: answer with it too
        deliveries = self._messages(plan.news)
        queued = self.subscriptions.record(plan, deliveries)
        if plan.baseline:
            log.info(
                "%d reports in the store are known; newer ones will be announced", len(entries)
            )
        elif plan.news:
            days = ", ".join(e.report_date.isoformat() for e in plan.news)
            log.info("New report(s) %s: %d message(s) queued", days, queued)
        return queued

    def _messages(self, news: list[ReportEntry]) -> list[Delivery]:
        """Each subscribed chat's message for each new report, in the chat's language; for a
        chat that follows topics only, the takeaways that mention one (none: no message)."""
        if not news:
            return []
        chats: dict[int, list[Subscription]] = {}
        for sub in self.subscriptions.subscriptions():
            chats.setdefault(sub.chat_id, []).append(sub)
        rendered: dict[tuple[str, str, tuple[str, ...]], str | None] = {}
        deliveries: list[Delivery] = []
        for entry in news:
            for chat_id, subs in chats.items():
                lang = subs[-1].lang  # the latest /subscribe says how the chat reads
                everything = any(not s.topic for s in subs)
                topics = () if everything else tuple(s.topic for s in subs)
                key = (entry.report_id, lang, topics)
                if key not in rendered:
                    answer = self.qa.report_takeaways(entry.report_id, lang, list(topics) or None)
                    rendered[key] = news_html(answer, list(topics)) if answer.results else None
                text = rendered[key]
                if text is not None:
                    deliveries.append(
                        Delivery(
                            chat_id=chat_id,
                            report_id=entry.report_id,
                            report_date=entry.report_date,
                            text=text,
                        )
                    )
        return deliveries

    # ---- sending ------------------------------------------------------------------------------

    async def send_due(self, bot: Bot) -> int:
        """Send one second's worth of due messages (at most one per chat); how many went."""
        if self._send_lock.locked() or self.clock() < self._paused_until:
            return 0
        async with self._send_lock:
            now = self.clock()
            self._last_sent = {c: t for c, t in self._last_sent.items() if now - t < SEND_TICK}
            while self._recent and now - self._recent[0] >= 1.0:
                self._recent.popleft()
            # A sliding second, not just one batch per tick: a late tick followed by a punctual
            # one must not put two batches into one second.
            room = self.settings.push_per_second - len(self._recent)
            if room <= 0:
                return 0
            due = await asyncio.to_thread(self.subscriptions.due, room, set(self._last_sent))
            if not due:
                return 0
            sent = await asyncio.gather(*(self._send(bot, d) for d in due))
            return sum(sent)

    async def _send(self, bot: Bot, delivery: Delivery) -> bool:
        subs = self.subscriptions
        self._last_sent[delivery.chat_id] = self.clock()
        self._recent.append(self._last_sent[delivery.chat_id])
        try:
            await bot.send_message(
                delivery.chat_id,
                delivery.text,
                parse_mode=ParseMode.HTML,
                link_preview_options=NO_PREVIEW,
            )
        except Forbidden as err:  # blocked by the user, kicked from the group, deactivated
            log.info("Chat %s cannot be written to (%s): unsubscribed", delivery.chat_id, err)
            await asyncio.to_thread(subs.remove_chat, delivery.chat_id, str(err))
            return False
        except RetryAfter as err:
            # What is left after AIORateLimiter's own retries: hold the whole queue.
            wait = _retry_after(err)
            self._paused_until = max(self._paused_until, self.clock() + wait)
            log.warning("Telegram asks to slow down: the push queue waits %.0f s", wait)
            await asyncio.to_thread(subs.retry_later, delivery, wait, str(err), False)
            return False
        except BadRequest as err:
            if "chat not found" in str(err).lower():
                log.info("Chat %s no longer exists: unsubscribed", delivery.chat_id)
                await asyncio.to_thread(subs.remove_chat, delivery.chat_id, str(err))
            else:
                log.error(
                    "Telegram refused the new-report message to %s: %s", delivery.chat_id, err
                )
                await asyncio.to_thread(subs.finish, delivery, "failed", str(err))
            return False
        except TelegramError as err:
            kind = send_failure(err)
            if kind == "unknown":
                log.warning(
                    "Telegram did not confirm the new-report message to %s in time; it may "
                    "have been delivered, so it is not sent again",
                    delivery.chat_id,
                )
                await asyncio.to_thread(subs.finish, delivery, "unconfirmed", str(err))
            elif kind == "retry" and delivery.attempts < self.settings.push_retries:
                wait = min(self.settings.send_retry_delay * 2**delivery.attempts, MAX_BACKOFF)
                log.warning(
                    "Sending a new-report message to %s failed (%s); again in %.1f s",
                    delivery.chat_id,
                    err,
                    wait,
                )
                await asyncio.to_thread(subs.retry_later, delivery, wait, str(err), True)
            else:
                log.error("Giving up the new-report message to %s: %s", delivery.chat_id, err)
                await asyncio.to_thread(subs.finish, delivery, "failed", str(err))
            return False
        await asyncio.to_thread(subs.finish, delivery, "sent")
        return True


def _retry_after(err: RetryAfter) -> float:
    """RetryAfter's wait in seconds, whichever type this PTB version gives it (int now, a
    timedelta from its next major version on, which it warns about)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = err.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


# ---- the running bot ------------------------------------------------------------------------


def attach(application: Application, settings: Settings, qa: ReportQA, deps: BotDeps) -> News:
    """Give the bot its subscriptions and (with settings.watch) its watcher, and schedule the
    check and send jobs on its JobQueue."""
    watcher = make_watcher(settings) if settings.watch else None
    subscriptions = SubscriptionStore(settings.data_dir / FILE_NAME)
    news = News(settings, qa, deps.library, subscriptions, deps.upload_lock, watcher)
    application.bot_data[NEWS_KEY] = news
    deps.subscriptions = subscriptions
    deps.announce = news.announce
    queue = application.job_queue
    if queue is None:
        log.warning("No JobQueue (python-telegram-bot[job-queue]): new reports are not pushed")
        return news
    # Our own locks keep one round at a time; a second instance just returns, instead of
    # APScheduler warning each time a slow round makes it skip one.
    kwargs = {"max_instances": 3, "coalesce": True}
    queue.run_repeating(
        _check_job, settings.watch_interval, first=0.0, data=news, name="news", job_kwargs=kwargs
    )
    queue.run_repeating(
        _send_job, SEND_TICK, first=SEND_TICK, data=news, name="push", job_kwargs=kwargs
    )
    return news


async def _check_job(context: BotContext) -> None:
    news: News = context.job.data  # type: ignore[union-attr,assignment]
    await news.check()


async def _send_job(context: BotContext) -> None:
    news: News = context.job.data  # type: ignore[union-attr,assignment]
    try:
        await news.send_due(context.bot)
    except Exception:
        log.exception("Sending new-report messages failed")
