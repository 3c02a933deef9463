"""The Telegram bot: builds the python-telegram-bot Application and runs it (long polling, or a
webhook when settings.webhook_url is set). PTB's run_polling/run_webhook stop cleanly on SIGINT
and SIGTERM.

TELEGRAM_API_BASE_URL may point at a self-hosted Bot API server (`telegram-bot-api`); the tests
point it at a fake one.
"""

from __future__ import annotations

import copy
import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING
from urllib.parse import quote, urlparse

from telegram import BotCommand, Update
from telegram._utils.types import JSONDict
from telegram.error import Forbidden, InvalidToken, NetworkError, TelegramError
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder
from telegram.request import HTTPXRequest

from bot import handlers, news
from bot.command_table import telegram_commands
from bot.context import CONTEXT_TYPES, DEPS_KEY, BotDeps
from bot.i18n import label
from bot.inline import InlineState
from bot.ratelimit import SlidingWindowLimiter
from bot.settings import Settings
from bot.wiring import library_over

if TYPE_CHECKING:
    from retrieval.service import ReportQA
    from store.library import ReportLibrary

log = logging.getLogger(__name__)

# Telegram shows a user the menu of their client's language (English for any other).
MENU_LANGUAGES = ("ko", "uk", "ru")
# Inline queries reach a bot only once BotFather's /setinline switched inline mode on.
ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY, Update.INLINE_QUERY]
REDACTED = "<redacted>"


# ---- logging: the token never appears in a log line ----------------------------------------


class TokenRedactingFilter(logging.Filter):
    """Replaces secrets (the bot token) in a record's message, traceback and stack text.

    Installed as a log-record factory hook (so it applies to every record, whichever logger and
    handler — httpx's request lines contain `/bot<token>/`) and on the root logger's handlers.
    """

    def __init__(self, secrets_: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets: list[str] = []
        for secret in secrets_:
            self.add(secret)

    def add(self, secret: str) -> None:
        for form in (secret, quote(secret, safe=""), quote(secret)):
            if form and form not in self._secrets:
                self._secrets.append(form)
        self._secrets.sort(key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return text

    def _has_secret(self, text: str) -> bool:
        return any(secret in text for secret in self._secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: leave it to logging's own error handling
            message = str(record.msg)
            if self._has_secret(message):
                record.msg = self.redact(message)
        else:
            # Freeze the message now: its arguments may change before a handler formats it
            # (PTB logs getFile's result, then writes the file URL, token and all, into it).
            record.msg, record.args = self.redact(message), None
        if record.exc_info and record.exc_info[0] is not None:
            text = record.exc_text or logging.Formatter().formatException(record.exc_info)
            if self._has_secret(text):
                record.exc_text = self.redact(text)
        elif record.exc_text and self._has_secret(record.exc_text):
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info and self._has_secret(record.stack_info):
            record.stack_info = self.redact(record.stack_info)
        return True


REDACTION = TokenRedactingFilter()
_factory_lock = threading.Lock()
_factory_installed = False


def install_log_redaction(secret: str) -> TokenRedactingFilter:
    """Redact `secret` from every log record from now on (idempotent)."""
    global _factory_installed
    REDACTION.add(secret)
    # The part after "123456:" is the secret itself: redact it wherever it shows up alone.
    _, _, tail = secret.partition(":")
    if len(tail) >= 16:
        REDACTION.add(tail)
    with _factory_lock:
        if not _factory_installed:
            previous = logging.getLogRecordFactory()

            def factory(*args: object, **kwargs: object) -> logging.LogRecord:
                record = previous(*args, **kwargs)
                REDACTION.filter(record)
                return record

            logging.setLogRecordFactory(factory)
            _factory_installed = True
    for handler in logging.getLogger().handlers:
        if REDACTION not in handler.filters:
            handler.addFilter(REDACTION)
    # httpx logs every request URL (which holds the token) at INFO.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    return REDACTION


# ---- updates PTB cannot read ------------------------------------------------------------------


class TolerantUpdatesRequest(HTTPXRequest):
    """The getUpdates connection (PTB's default: one connection, default timeouts), except that
    an update python-telegram-bot cannot read (malformed, or from a Bot API server of another
    version, e.g. a poll without a field PTB requires) is replaced by an empty update with the
    same update_id. PTB would otherwise fail the whole batch and fetch it again at once, forever:
    the bot would serve nobody. The empty update is confirmed with the others and ignored."""

    def __init__(self) -> None:
        super().__init__(connection_pool_size=1)

    def parse_json_payload(self, payload: bytes) -> JSONDict:
        data = super().parse_json_payload(payload)
        result = data.get("result") if isinstance(data, dict) else None
        if isinstance(result, list):
            data["result"] = [u for u in (readable_update(raw) for raw in result) if u is not None]
        return data


def readable_update(raw: object) -> dict | None:
    """`raw` if PTB can read it, else {"update_id": ...} (None without an update_id)."""
    try:
        Update.de_json(copy.deepcopy(raw), None)  # type: ignore[arg-type]
        return raw  # type: ignore[return-value]
    except Exception as err:
        update_id = raw.get("update_id") if isinstance(raw, dict) else None
        log.warning(
            "Update %s could not be read and is skipped (%s: %s)",
            update_id,
            type(err).__name__,
            str(err)[:200],
        )
        return {"update_id": update_id} if isinstance(update_id, int) else None


# ---- the application ------------------------------------------------------------------------


def file_base_url(base_url: str) -> str:
    """The file-download base for a Bot API base (`…/bot` → `…/file/bot`)."""
    if base_url.rstrip("/").endswith("/bot"):
        return base_url.rstrip("/")[: -len("/bot")] + "/file/bot"
    return "https://api.telegram.org/file/bot"


def build_application(
    settings: Settings,
    qa: ReportQA,
    library: ReportLibrary | None = None,
    *,
    clock: Callable[[], float] = time.monotonic,
    concurrent_updates: int = 16,
) -> Application:
    """The Application with the real handlers, ready for run_polling/run_webhook (or, in tests,
    initialize/start/updater.start_polling). Uploads and watched reports are written through
    `library` (default: one over the store and embedder `qa` reads)."""
    if library is None:
        library = library_over(settings, qa.store, qa.embedder)
    if settings.telegram_bot_token is None:
        raise ValueError("TELEGRAM_BOT_TOKEN is not set")
    token = settings.telegram_bot_token.get_secret_value()
    install_log_redaction(token)
    application = (
        ApplicationBuilder()
        .token(token)
        # Handlers get a BotContext: the bot's dependencies as a typed property.
        .context_types(CONTEXT_TYPES)
        .base_url(settings.telegram_api_base_url)
        .base_file_url(file_base_url(settings.telegram_api_base_url))
        .read_timeout(settings.telegram_read_timeout)
        .get_updates_request(TolerantUpdatesRequest())
        # Telegram's own flood limits: queue requests, retry on 429 RetryAfter.
        .rate_limiter(rate_limiter(settings))
        # One slow question must not hold up other chats (qa runs in a thread).
        .concurrent_updates(concurrent_updates)
        .post_init(post_init)
        .post_shutdown(post_shutdown)
        .build()
    )
    deps = BotDeps(
        qa=qa,
        settings=settings,
        limiter=SlidingWindowLimiter(settings.rate_limit_per_minute, 60.0, clock),
        clock=clock,
        global_limiter=SlidingWindowLimiter(settings.global_rate_limit_per_minute, 60.0, clock),
        inline=InlineState.create(settings.inline_debounce, settings.inline_cache_time, clock),
        library=library,
    )
    application.bot_data[DEPS_KEY] = deps
    handlers.register(application)
    # Watching the sources (settings.watch) and pushing new reports to subscribers (JobQueue).
    news.attach(application, settings, qa, deps)
    return application


def rate_limiter(settings: Settings) -> AIORateLimiter:
    """Telegram's flood limits: requests beyond them wait in a queue; a 429 is retried after
    its retry_after. Groups keep PTB's default of 20 messages a minute."""
    rate = settings.telegram_messages_per_second
    if rate <= 0:
        return AIORateLimiter(overall_max_rate=0, overall_time_period=1, max_retries=3)
    # AIORateLimiter counts whole requests per period: 30/s is 30 per 1 s; 0.5/s is 1 per 2 s.
    period = max(1.0, 1.0 / rate)
    return AIORateLimiter(
        overall_max_rate=max(1.0, rate * period), overall_time_period=period, max_retries=3
    )


def bot_commands(lang: str) -> list[BotCommand]:
    """The command menu in `lang`: the Telegram commands of bot/command_table.py."""
    return [BotCommand(c.name, label(lang, c.label)) for c in telegram_commands()]


async def post_init(application: Application) -> None:
    """At start-up: the command menu, in English (default), Korean, Ukrainian and Russian."""
    try:
        await application.bot.set_my_commands(bot_commands("en"))
        for lang in MENU_LANGUAGES:
            await application.bot.set_my_commands(bot_commands(lang), language_code=lang)
    except TelegramError as err:
        log.warning("Could not set the command menu: %s", err)


async def post_shutdown(application: Application) -> None:
    """At the end: close the watcher's HTTP connections."""
    found = application.bot_data.get(news.NEWS_KEY)
    if found is not None:
        found.close()


def run_bot(settings: Settings, qa: ReportQA, library: ReportLibrary | None = None) -> None:
    """Run until SIGINT/SIGTERM: long polling, or a webhook when settings.webhook_url is set."""
    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
    application = build_application(settings, qa, library)
    _check_connection(application, settings)
    # A bot that stays up will meet a Korean question or report sooner or later: load the
    # Korean analyser now, beside the first answers, rather than inside a reload or an answer.
    threading.Thread(target=qa.tokenizer.warm_up, name="kiwi-warm-up", daemon=True).start()
    if settings.webhook_url:
        path = urlparse(settings.webhook_url).path.lstrip("/")
        log.info("Starting the webhook on %s:%s", settings.webhook_listen, settings.webhook_port)
        application.run_webhook(
            listen=settings.webhook_listen,
            port=settings.webhook_port,
            url_path=path,
            webhook_url=settings.webhook_url,
            secret_token=secrets.token_urlsafe(32),
            allowed_updates=ALLOWED_UPDATES,
        )
    else:
        log.info("Starting long polling")
        # A Bot API that cannot be reached is retried (quietly, PTB logs each try at debug
        # level) until it answers; a token it rejects ends the start (InvalidToken is final).
        application.run_polling(allowed_updates=ALLOWED_UPDATES, bootstrap_retries=-1)


class StartupError(Exception):
    """The bot cannot start as configured; the message is one line and says what to fix."""


def _check_connection(application: Application, settings: Settings) -> None:
    """Ask the Bot API who we are once, before starting: a rejected token is one line and the
    end; an unreachable API is one line, then the start goes on and retries until it answers."""
    import asyncio

    from telegram import Bot

    # A throwaway client on a loop of its own, in a thread: the caller may already run a loop,
    # and the application's own bot is initialized later on the polling loop.
    probe = Bot(application.bot.token, base_url=settings.telegram_api_base_url)
    failure: list[BaseException] = []

    async def get_me() -> None:
        async with probe:
            await probe.get_me()

    def run() -> None:
        try:
            asyncio.run(get_me())
        except BaseException as err:  # handed to the caller's thread
            failure.append(err)

    checker = threading.Thread(target=run, name="bot-api-check")
    checker.start()
    checker.join()
    where = settings.telegram_api_base_url.removesuffix("/bot")
    try:
        if failure:
            raise failure[0]
    except (InvalidToken, Forbidden) as err:
        # Not err.message: PTB quotes the token in it, and a token never reaches a log.
        raise StartupError(
            f"the Bot API at {where} rejected the bot token ({type(err).__name__}): check "
            "TELEGRAM_BOT_TOKEN (@BotFather's /token shows it)"
        ) from err
    except NetworkError as err:
        print(
            f"reportbot: cannot reach the Bot API at {where} ({err.message}); retrying until "
            "it answers (Ctrl-C to stop)",
            flush=True,
        )
