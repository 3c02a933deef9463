"""The bot's handlers: thin glue between Telegram updates, ReportQA and bot/telegram_format.py.

The conversation follows bot/chat.py: /start and /help, /latest [N], /topic TERM, /date EXPR,
/stats, and free text as a question. In groups the bot answers commands and messages that mention
it or reply to it, and ignores other chatter.

Odd input: edited messages, channel posts and update types the bot does not know are ignored;
stickers, photos and other non-text messages get a short "text only" reply in a private chat and
are ignored in groups. Admins (settings.admin_ids) may send a report file in a private chat: it is
checked (size, name, content), saved under data_dir/uploads and ingested.

/timeline TERM (and the "timeline" button under /topic answers) sends a chart of how many
takeaways mention the term, week by week, with the busiest weeks and the first and last mention
as its caption (bot/timeline_chart.py draws it from ReportQA.timeline).

Inline mode (`@bot QUERY` in any chat): bot/inline.py. Messages the bot's inline results posted
(they carry `via_bot`) are not questions to it, even in its own chat.

/subscribe [TERM] and /unsubscribe [TERM]: a chat gets each new report's takeaways (only those
that mention TERM) in the language it subscribed in; bot/news.py finds new reports and sends them,
bot/subscriptions.py keeps the subscriptions. A report an admin uploads is announced the same way.

Sending an answer: a 5xx from Telegram or a connection error means Telegram did not take it, so
it is sent again (settings.send_retries, with backoff). A read timeout is different: Telegram got
the request and may have delivered it, so it is *not* sent again (a duplicate is worse than the
rare lost answer) — at most once. 429 is retried by PTB's AIORateLimiter.
"""

from __future__ import annotations

import asyncio
import codecs
import logging
import math
import re
import secrets
import time
import unicodedata
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import httpx
from telegram import (
    InlineKeyboardButton,
    InlineQueryResultsButton,
    LinkPreviewOptions,
    Message,
    MessageEntity,
    Update,
)
from telegram.constants import ChatAction, ChatType, ParseMode
from telegram.error import BadRequest, NetworkError, TelegramError, TimedOut
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    InlineQueryHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.i18n import label
from bot.inline import InlineState, cache_key, inline_answer
from bot.ratelimit import SlidingWindowLimiter
from bot.settings import Settings
from bot.subscriptions import MAX_TOPICS_PER_CHAT, SubscriptionStore, TooManyTopics, normalize_topic
from bot.telegram_format import (
    command_name,
    escape,
    help_lang,
    inline_results,
    lang_hint,
    page_keyboard,
    parse_count,
    parse_page_callback,
    parse_timeline_callback,
    render_answer,
    stats_text,
    strip_mention,
    timeline_button,
    timeline_caption,
    user_lang,
)
from bot.timeline_chart import chart_for
from retrieval.models import Answer
from store.ingest import REPORT_SUFFIXES, IngestSummary
from store.library import ReportLibrary

if TYPE_CHECKING:
    from retrieval.service import ReportQA

log = logging.getLogger(__name__)

DEPS_KEY = "reportbot"
PAGES_KEY = "reportbot_pages"
NOTIFIED_KEY = "reportbot_rate_limited_until"
# Stored multi-page answers: per chat, the newest few, for a day.
PAGES_PER_CHAT = 30
PAGES_TTL = 24 * 3600.0
TYPING_EVERY = 4.5
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
# What an ingest reads in folders: report pages and texts, and datasets of many reports.
UPLOAD_SUFFIXES = frozenset(REPORT_SUFFIXES)
UPLOADS_DIR = "uploads"
# Failure reasons listed under an upload's summary (a dataset may have hundreds).
UPLOAD_REASONS = 10
# Files that are binary whatever their name says (PDF, ZIP/DOCX, PNG, GIF, JPEG, ELF, EXE, gzip).
_BINARY_MAGIC = (
    b"%PDF",
    b"PK\x03\x04",
    b"\x89PNG",
    b"GIF8",
    b"\xff\xd8\xff",
    b"\x7fELF",
    b"MZ",
    b"\x1f\x8b",
)
_BAD_CONTROL = frozenset(chr(c) for c in range(32)) - {"\t", "\n", "\x0c", "\r"}
T = TypeVar("T")


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


@dataclass
class StoredPages:
    pages: list[str]
    lang: str
    created: float
    # Buttons shown under every page (the timeline button of a /topic answer).
    extra: list[InlineKeyboardButton] = field(default_factory=list)


def deps(context: ContextTypes.DEFAULT_TYPE) -> BotDeps:
    return context.bot_data[DEPS_KEY]


# ---- filters --------------------------------------------------------------------------------


class AddressedToBot(filters.MessageFilter):
    """A message that mentions the bot by @username or replies to one of its messages."""

    __slots__ = ()

    def filter(self, message: Message) -> bool:
        bot = message.get_bot()
        replied = message.reply_to_message
        if replied and replied.from_user and replied.from_user.id == bot.id:
            return True
        username = (bot.username or "").lower()
        mentions = message.parse_entities([MessageEntity.MENTION])
        return bool(username) and any(t[1:].lower() == username for t in mentions.values())


class CommandForBot(filters.MessageFilter):
    """A command meant for this bot: `/cmd` or `/cmd@thisbot`, but not `/cmd@otherbot` (in a
    group with several bots, Telegram users address one by name)."""

    __slots__ = ()

    def filter(self, message: Message) -> bool:
        if message.chat.type == ChatType.PRIVATE:
            return True
        first = (message.text or "").split(maxsplit=1)[0] if message.text else ""
        _, _, target = first.partition("@")
        return not target or target.lower() == (message.get_bot().username or "").lower()


# A message posted by choosing an inline result (`via_bot`) quotes a takeaway: not a question.
PRIVATE_TEXT = filters.ChatType.PRIVATE & filters.TEXT & ~filters.COMMAND & ~filters.VIA_BOT
GROUP_TEXT = (
    filters.ChatType.GROUPS
    & filters.TEXT
    & ~filters.COMMAND
    & ~filters.VIA_BOT
    & (filters.Entity(MessageEntity.MENTION) | filters.REPLY)
    & AddressedToBot()
)
NEW_MESSAGES = filters.UpdateType.MESSAGE
PRIVATE_DOCUMENT = filters.ChatType.PRIVATE & filters.Document.ALL
# Stickers, photos, voice, locations, ...: not text, not a document, not a service message.
PRIVATE_OTHER = (
    filters.ChatType.PRIVATE & ~filters.TEXT & ~filters.Document.ALL & ~filters.StatusUpdate.ALL
)


def register(application: Application) -> None:
    """Add the bot's handlers and its error handler to `application`."""
    application.add_handler(TypeHandler(Update, allowlist_gate), group=-1)
    application.add_handler(CommandHandler(["start", "help"], help_command, NEW_MESSAGES))
    application.add_handler(CommandHandler("latest", latest_command, NEW_MESSAGES))
    application.add_handler(CommandHandler("topic", topic_command, NEW_MESSAGES))
    application.add_handler(CommandHandler("date", date_command, NEW_MESSAGES))
    application.add_handler(CommandHandler("timeline", timeline_command, NEW_MESSAGES))
    application.add_handler(CommandHandler("stats", stats_command, NEW_MESSAGES))
    application.add_handler(CommandHandler("subscribe", subscribe_command, NEW_MESSAGES))
    application.add_handler(CommandHandler("unsubscribe", unsubscribe_command, NEW_MESSAGES))
    application.add_handler(
        MessageHandler(filters.COMMAND & NEW_MESSAGES & CommandForBot(), unknown_command)
    )
    application.add_handler(MessageHandler(PRIVATE_TEXT & NEW_MESSAGES, ask_message))
    application.add_handler(MessageHandler(GROUP_TEXT & NEW_MESSAGES, ask_message))
    application.add_handler(MessageHandler(PRIVATE_DOCUMENT & NEW_MESSAGES, upload_document))
    application.add_handler(MessageHandler(PRIVATE_OTHER & NEW_MESSAGES, not_text))
    # Everything else (edited messages, channel posts, unknown update types) is ignored.
    application.add_handler(InlineQueryHandler(inline_query))
    # Every callback query is answered: unknown or stale data says the answer expired.
    application.add_handler(CallbackQueryHandler(timeline_callback, pattern=r"^tl:"))
    application.add_handler(CallbackQueryHandler(page_callback))
    application.add_error_handler(on_error)


# ---- handlers -------------------------------------------------------------------------------


async def allowlist_gate(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """With settings.allowed_chat_ids set, only those chats get answers."""
    allowed = deps(context).settings.allowed_chat_ids
    chat = update.effective_chat
    if not allowed or (chat is not None and chat.id in allowed):
        return
    user = update.effective_user
    if update.inline_query is not None and user is not None and user.id in allowed:
        return  # inline queries come from a user, not a chat: their own private chat's id
    lang = _lang(update)
    if update.inline_query is not None:
        await update.inline_query.answer([], cache_time=0, is_personal=True)
    elif update.callback_query is not None:
        await update.callback_query.answer(label(lang, "not_allowed"))
    elif chat is not None and chat.type == ChatType.PRIVATE and update.message is not None:
        await _reply(update, context, escape(label(lang, "not_allowed")))
    raise ApplicationHandlerStop


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    user = update.effective_user
    lang = help_lang(" ".join(context.args or []), user.language_code if user else None)
    await _reply(update, context, escape(label(lang, "help")))


async def latest_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    rest = " ".join(context.args or [])
    count = parse_count(rest)
    lang = user_lang("", _language_code(update))
    await respond(update, context, lambda qa: qa.latest(limit=count, lang=lang))


async def topic_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    term = " ".join(context.args or [])
    if not term:
        await _reply(update, context, escape(label(_lang(update), "usage_topic")))
        return
    if await _topic_too_long(update, context, term):
        return
    lang = lang_hint(term, _language_code(update))
    await respond(update, context, lambda qa: qa.topic(term, lang=lang), timeline_of=term)


async def timeline_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/timeline TERM: the chart of the term's mentions per week, the peaks as its caption."""
    term = " ".join(context.args or [])
    if not term:
        await _reply(update, context, escape(label(_lang(update), "usage_timeline")))
        return
    if await _topic_too_long(update, context, term):
        return
    await send_timeline(update, context, term)


async def timeline_callback(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The "timeline" button under a /topic answer: the same chart, as a reply to it."""
    query = update.callback_query
    if query is None:
        return
    term = parse_timeline_callback(query.data)
    settings = deps(context).settings
    if term is None or len(term) > settings.max_argument_chars:
        lang = user_lang("", query.from_user.language_code if query.from_user else None)
        await query.answer(label(lang, "expired"), show_alert=True)
        return
    await query.answer()
    await send_timeline(update, context, term)


async def inline_query(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """`@bot QUERY`: answered once the user stops typing (bot/inline.py)."""
    d = deps(context)
    query = update.inline_query
    if query is None or d.inline is None:
        return
    d.inline.debouncer.schedule(
        query.from_user.id,
        lambda: answer_inline_query(update, context),
        lambda coroutine: context.application.create_task(coroutine, update=update),
    )


async def _topic_too_long(update: Update, context: ContextTypes.DEFAULT_TYPE, term: str) -> bool:
    """A /topic or /timeline term longer than a name or short term gets the usage note."""
    settings = deps(context).settings
    if len(term) <= settings.max_argument_chars and len(term.split()) <= settings.max_topic_words:
        return False
    text = label(
        _lang(update),
        "topic_too_long",
        words=settings.max_topic_words,
        chars=settings.max_argument_chars,
    )
    await _reply(update, context, escape(text))
    return True


async def date_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    expression = " ".join(context.args or [])
    if not expression or len(expression) > deps(context).settings.max_argument_chars:
        await _reply(update, context, escape(label(_lang(update), "usage_date")))
        return
    lang = lang_hint(expression, _language_code(update))
    await respond(update, context, lambda qa: qa.on_date(expression, lang=lang))


async def stats_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Admins only, once settings.admin_ids names any (with none configured it stays public:
    counts and dates of public reports)."""
    settings = deps(context).settings
    if settings.admin_ids and not is_admin(update, settings):
        await _reply(update, context, escape(label(_lang(update), "admin_only")))
        return
    stats = await asyncio.to_thread(deps(context).qa.stats)
    await _reply(update, context, stats_text(stats, _lang(update)))


async def subscribe_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/subscribe: each new report's takeaways; /subscribe TERM: only new takeaways that mention
    TERM. In the language of the command (else the user's Telegram language)."""
    d = deps(context)
    chat = update.effective_chat
    if chat is None or d.subscriptions is None:
        return
    topic = normalize_topic(" ".join(context.args or []))
    lang = _lang(update)
    settings = d.settings
    if len(topic) > settings.max_argument_chars or len(topic.split()) > settings.max_topic_words:
        text = label(
            lang,
            "topic_too_long",
            words=settings.max_topic_words,
            chars=settings.max_argument_chars,
        )
        await _reply(update, context, escape(text))
        return
    if not await admitted(update, context, questions=False):
        return
    try:
        await asyncio.to_thread(d.subscriptions.subscribe, chat.id, topic, lang)
    except TooManyTopics:
        text = label(lang, "too_many_topics", count=MAX_TOPICS_PER_CHAT)
        await _reply(update, context, escape(text))
        return
    text = label(lang, "subscribed_topic", topic=topic) if topic else label(lang, "subscribed")
    await _reply(update, context, escape(text))
    if d.announce is not None:
        # The first subscription takes stock of the reports already there (they are not news).
        await d.announce()


async def unsubscribe_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/unsubscribe: every subscription of the chat; /unsubscribe TERM: that topic only."""
    d = deps(context)
    chat = update.effective_chat
    if chat is None or d.subscriptions is None:
        return
    if not await admitted(update, context, questions=False):
        return
    topic = normalize_topic(" ".join(context.args or []))[: d.settings.max_argument_chars]
    lang = _lang(update)
    removed = await asyncio.to_thread(d.subscriptions.unsubscribe, chat.id, topic or None)
    if removed:
        text = (
            label(lang, "unsubscribed_topic", topic=topic) if topic else label(lang, "unsubscribed")
        )
    elif topic:
        left = await asyncio.to_thread(d.subscriptions.subscriptions, chat.id)
        names = ", ".join(f"“{s.topic}”" if s.topic else label(lang, "all_reports") for s in left)
        if names:
            text = label(lang, "not_subscribed_topic", topic=topic, topics=names)
        else:
            text = label(lang, "not_subscribed")
    else:
        text = label(lang, "not_subscribed")
    await _reply(update, context, escape(text))


async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message is None or not message.text:
        return
    user = update.effective_user
    lang = help_lang("", user.language_code if user else None)
    unknown = label(lang, "unknown_command", command=command_name(message.text))
    await _reply(update, context, escape(unknown + "\n\n" + label(lang, "help")))


async def ask_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message is None or not message.text:
        return
    question = strip_mention(message.text, context.bot.username)
    if not any(ch.isalnum() for ch in question):
        # Nothing to search for (empty, emoji, punctuation): say how to ask.
        await help_command(update, context)
        return
    await respond(update, context, lambda qa: qa.ask(question))


async def not_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A sticker, photo, voice message, ... in a private chat: ask for text (rate-limited)."""
    if await admitted(update, context, questions=False):
        await _reply(update, context, escape(label(_lang(update), "text_only")))


async def page_callback(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """ "More"/"back" under a long answer: edit the message to the requested page."""
    query = update.callback_query
    if query is None:
        return
    parsed = parse_page_callback(query.data)
    stored = _stored_pages(context, parsed[0]) if parsed else None
    if parsed is None or stored is None or not 0 <= parsed[1] < len(stored.pages):
        lang = user_lang("", query.from_user.language_code if query.from_user else None)
        await query.answer(label(lang, "expired"), show_alert=True)
        with suppress(TelegramError):
            await query.edit_message_reply_markup(reply_markup=None)
        return
    key, index = parsed
    await query.answer()
    try:
        await query.edit_message_text(
            stored.pages[index],
            parse_mode=ParseMode.HTML,
            link_preview_options=NO_PREVIEW,
            reply_markup=page_keyboard(key, index, len(stored.pages), stored.lang, stored.extra),
        )
    except BadRequest as err:
        if "not modified" not in str(err).lower():  # a double click shows the same page
            raise


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log the exception; tell the user briefly (never a stack trace)."""
    error = context.error
    if isinstance(error, NetworkError) and not isinstance(update, Update):
        log.warning("Telegram network problem: %s", error)
        return
    log.error("Error while handling an update", exc_info=error)
    if not isinstance(update, Update):
        return
    text = label(_lang(update), "error")
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(text)
        elif update.effective_chat is not None:
            await context.bot.send_message(
                update.effective_chat.id, escape(text), parse_mode=ParseMode.HTML
            )
    except TelegramError as err:
        log.warning("Could not tell the user about the error: %s", err)


# ---- answering ------------------------------------------------------------------------------


async def respond(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    question: Callable[[ReportQA], Answer],
    timeline_of: str | None = None,
) -> None:
    """Rate-limit, show "typing…", run the question off the event loop, send the answer.
    `timeline_of`: the /topic term whose timeline a button under a found answer offers."""
    message = update.effective_message
    chat = update.effective_chat
    if message is None or chat is None:
        return
    if not await admitted(update, context):
        return
    d = deps(context)
    async with typing(context, chat.id):
        answer = await asyncio.to_thread(question, d.qa)
    pages = render_answer(answer)
    button = timeline_button(timeline_of, answer.lang) if timeline_of and answer.results else None
    extra = [button] if button is not None else []
    if len(pages) == 1:
        await _reply(update, context, pages[0], page_keyboard("", 0, 1, answer.lang, extra))
        return
    key = _store_pages(context, pages, answer.lang, extra)
    await _reply(update, context, pages[0], page_keyboard(key, 0, len(pages), answer.lang, extra))


async def send_timeline(update: Update, context: ContextTypes.DEFAULT_TYPE, term: str) -> None:
    """Rate-limit, show "sending a photo…", draw the term's timeline off the event loop, send
    it with the peaks as its caption (a text reply when nothing mentions the term)."""
    message, chat = update.effective_message, update.effective_chat
    if message is None or chat is None:
        return
    if not await admitted(update, context):
        return
    d = deps(context)
    lang = lang_hint(term, _language_code(update))
    async with typing(context, chat.id, ChatAction.UPLOAD_PHOTO):
        chart = await asyncio.to_thread(chart_for, d.qa, term, lang)
    timeline = chart.timeline
    if chart.png is None:
        note = label(timeline.lang, timeline.note or "no_topic", query=term, date="")
        await _reply(update, context, escape(note))
        return
    png, caption = chart.png, timeline_caption(timeline)

    async def send() -> Message:
        return await message.reply_photo(
            png, caption=caption, parse_mode=ParseMode.HTML, filename="timeline.png"
        )

    await send_with_retry(send, d.settings.send_retries, d.settings.send_retry_delay, "chart")


async def answer_inline_query(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A settled inline query: the user's rate limit, then the cached answer or a search (off
    the event loop), then answerInlineQuery."""
    query = update.inline_query
    d = deps(context)
    if query is None or d.inline is None:
        return
    settings = d.settings
    hint = lang_hint(query.query, query.from_user.language_code)
    personal = hint is not None  # the user's language chose the answer, not the query
    wait, reason = _rate_check(d, query.from_user.id, questions=False)
    key = cache_key(query.query, hint)
    cached = d.inline.cache.get(key) if not wait else None
    if cached is None and not wait and d.global_limiter is not None:
        wait, reason = d.global_limiter.hit("*"), "busy"
    if wait:
        lang = hint or user_lang(query.query, query.from_user.language_code)
        text = label(lang, reason, seconds=max(1, math.ceil(wait)))
        button = InlineQueryResultsButton(text=text, start_parameter="help")
        await query.answer([], cache_time=0, is_personal=True, button=button)
        return
    if cached is None:
        answer = await asyncio.to_thread(
            inline_answer,
            d.qa,
            query.query,
            hint,
            settings.inline_results,
            topic_chars=settings.max_argument_chars,
        )
        results, lang = inline_results(answer), answer.lang
        d.inline.cache.put(key, results, lang)
    else:
        results, lang = cached.results, cached.lang
    button = None
    if not results:
        text = label(lang, "inline_none", query=" ".join(query.query.split())[:40])
        button = InlineQueryResultsButton(text=text, start_parameter="help")

    async def send() -> bool:
        return await query.answer(
            results,
            cache_time=settings.inline_cache_time,
            is_personal=personal,
            button=button,
        )

    await send_with_retry(send, settings.send_retries, settings.send_retry_delay, "inline answer")


async def admitted(
    update: Update, context: ContextTypes.DEFAULT_TYPE, *, questions: bool = True
) -> bool:
    """The rate limits: the user's own, then (for questions) everybody's together. The user's
    limit comes first, so a flooder spends only their own share of the global one. A refusal is
    said once per wait, not once per message of a flood."""
    d = deps(context)
    user, chat = update.effective_user, update.effective_chat
    key = user.id if user else (chat.id if chat else 0)
    wait, reason = _rate_check(d, key, questions)
    if not wait:
        return True
    state = context.user_data if context.user_data is not None else {}
    now = d.clock()
    if state.get(NOTIFIED_KEY, 0.0) <= now:
        state[NOTIFIED_KEY] = now + wait
        seconds = max(1, math.ceil(wait))
        await _reply(update, context, escape(label(_lang(update), reason, seconds=seconds)))
    return False


def _rate_check(d: BotDeps, key: int, questions: bool) -> tuple[float, str]:
    """(seconds to wait, the label that says so); 0 when admitted. The user's own limit first,
    so a flooder spends only their own share of the global one."""
    wait = d.limiter.hit(key)
    if wait:
        return wait, "rate_limited"
    if questions and d.global_limiter is not None:
        return d.global_limiter.hit("*"), "busy"
    return 0.0, "rate_limited"


@asynccontextmanager
async def typing(
    context: ContextTypes.DEFAULT_TYPE, chat_id: int, action: str = ChatAction.TYPING
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
        await asyncio.sleep(deps(context).settings.typing_delay)
        await send()
        await keep_typing()

    task = asyncio.create_task(first_after_delay())
    try:
        yield
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task


# ---- uploads (admins) -----------------------------------------------------------------------


def is_admin(update: Update, settings: Settings) -> bool:
    user = update.effective_user
    return user is not None and user.id in settings.admin_ids


async def upload_document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """An admin sends a report file in a private chat: check its size (before downloading), name
    and content, save it under data_dir/uploads, ingest it and reload the answers."""
    message = update.effective_message
    if message is None or message.document is None:
        return
    d = deps(context)
    settings = d.settings
    lang = _lang(update)
    if not is_admin(update, settings):  # no admins configured: nobody may upload
        if await admitted(update, context, questions=False):
            await _reply(update, context, escape(label(lang, "admin_only")))
        return
    document = message.document
    name = safe_upload_name(document.file_name)
    if name is None:
        await _reply(update, context, escape(label(lang, "upload_bad_type")))
        return
    limit = settings.max_upload_bytes
    if await _too_large(update, context, document.file_size, limit):
        return
    file = await context.bot.get_file(document.file_id)
    if await _too_large(update, context, file.file_size, limit):
        return
    data = bytes(await file.download_as_bytearray())
    if await _too_large(update, context, len(data), limit):
        return
    if not looks_like_text(data):
        await _reply(update, context, escape(label(lang, "upload_bad_type")))
        return
    async with d.upload_lock:
        path = await asyncio.to_thread(save_upload, settings.data_dir / UPLOADS_DIR, name, data)
        summary = await asyncio.to_thread(d.library.ingest, [path], progress=False)
        if summary.count("failed") and len(summary.outcomes) == summary.count("failed"):
            path.unlink(missing_ok=True)  # nothing of it is in the store: keep no litter
        await asyncio.to_thread(d.qa.refresh)
    log.info("Upload %s by admin %s: %s", name, update.effective_user.id, summary.line())
    await _reply(update, context, escape(upload_summary(lang, name, path, summary)))
    if d.announce is not None and (summary.count("added") or summary.count("updated")):
        await d.announce()  # a new report is pushed to subscribers like a watched one


async def _too_large(
    update: Update, context: ContextTypes.DEFAULT_TYPE, size: int | None, limit: int
) -> bool:
    if size is None or size <= limit:
        return False
    megabytes = f"{size / 1_000_000:.1f}"
    text = label(_lang(update), "upload_too_large", size=megabytes, limit=f"{limit / 1e6:g}")
    await _reply(update, context, escape(text))
    return True


def safe_upload_name(file_name: str | None) -> str | None:
    """A harmless file name for an upload: its last path component only (no `..`, no folders,
    no absolute paths, either slash), letters, digits, `.`, `_` and `-`, no leading dot, at most
    80 characters before the extension. None unless the extension is one we ingest."""
    base = re.split(r"[\\/]", unicodedata.normalize("NFKC", file_name or ""))[-1]
    stem, dot, suffix = base.rpartition(".")
    suffix = "." + suffix.lower()
    if not dot or suffix not in UPLOAD_SUFFIXES:
        return None
    stem = re.sub(r"[^\w.-]+", "_", stem).strip("._-")[:80].strip("._-")
    return (stem or "report") + suffix


def looks_like_text(data: bytes) -> bool:
    """Text, not binary, whatever the name says: no known binary signature, decodes as UTF-8,
    UTF-16 with a BOM or CP949 (what store.sources reads), hardly any control characters."""
    if not data.strip() or data.startswith(_BINARY_MAGIC):
        return False
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encodings: tuple[str, ...] = ("utf-16",)
    elif b"\x00" in data:
        return False
    else:
        encodings = ("utf-8-sig", "cp949")
    for encoding in encodings:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        sample = text[:100_000]
        return (
            bool(sample.strip()) and sum(ch in _BAD_CONTROL for ch in sample) <= len(sample) // 100
        )
    return False


def save_upload(folder: Path, name: str, data: bytes) -> Path:
    """Write `data` to a new file in `folder` (never elsewhere, never over another file)."""
    folder.mkdir(parents=True, exist_ok=True)
    root = folder.resolve()
    path = root / f"{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(4)}-{name}"
    if path.parent != root or path.resolve().parent != root:
        raise ValueError(f"unsafe upload name {name!r}")
    with open(path, "xb") as handle:  # "x": fails rather than follow or replace anything
        handle.write(data)
    return path


def upload_summary(lang: str, name: str, path: Path, summary: IngestSummary) -> str:
    counts = {s: summary.count(s) for s in ("added", "updated", "unchanged", "duplicate")}
    text = label(lang, "upload_done", name=name, failed=summary.count("failed"), **counts)
    for dataset in summary.datasets:
        text += "\n" + dataset.line().replace(str(path), name)
    for outcome in summary.failed[:UPLOAD_REASONS]:
        # The reason names the file by its path on this machine: show the user's name instead.
        reason = (outcome.reason or "").replace(str(path), name)
        if outcome.record is not None:
            reason = f"{name} #{outcome.record}: {reason}"
        text += f"\n• {reason}"
    if len(summary.failed) > UPLOAD_REASONS:
        text += f"\n• … (+{len(summary.failed) - UPLOAD_REASONS})"
    return text


# ---- sending --------------------------------------------------------------------------------


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


async def _reply(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    html_text: str,
    reply_markup: Any = None,
) -> None:
    message = update.effective_message
    if message is None:
        return
    settings = deps(context).settings

    async def send() -> Message:
        return await message.reply_text(
            html_text,
            parse_mode=ParseMode.HTML,
            link_preview_options=NO_PREVIEW,
            reply_markup=reply_markup,
        )

    await send_with_retry(send, settings.send_retries, settings.send_retry_delay, "reply")


def _store_pages(
    context: ContextTypes.DEFAULT_TYPE,
    pages: list[str],
    lang: str,
    extra: list[InlineKeyboardButton] | None = None,
) -> str:
    store = _page_store(context)
    key = secrets.token_hex(4)
    while key in store:
        key = secrets.token_hex(4)
    store[key] = StoredPages(pages, lang, deps(context).clock(), list(extra or []))
    while len(store) > PAGES_PER_CHAT:
        store.popitem(last=False)
    return key


def _stored_pages(context: ContextTypes.DEFAULT_TYPE, key: str) -> StoredPages | None:
    store = _page_store(context)
    stored = store.get(key)
    if stored is not None and deps(context).clock() - stored.created > PAGES_TTL:
        del store[key]
        return None
    return stored


def _page_store(context: ContextTypes.DEFAULT_TYPE) -> OrderedDict[str, StoredPages]:
    data = context.chat_data if context.chat_data is not None else context.bot_data
    return data.setdefault(PAGES_KEY, OrderedDict())


def _language_code(update: Update) -> str | None:
    user = update.effective_user
    return user.language_code if user else None


def _lang(update: Update) -> str:
    """The language for labels: by the message's text, else the user's Telegram language."""
    message = update.effective_message
    text = message.text if message is not None and message.text else ""
    if text.startswith("/"):
        text = text.partition(" ")[2]
    return user_lang(text, _language_code(update))
