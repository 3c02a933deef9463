"""The bot's handlers: thin glue between Telegram updates, ReportQA and bot/telegram_format.py.

The conversation follows bot/chat.py: /start and /help, /latest [N], /topic TERM, /date EXPR,
/stats, and free text as a question. In groups the bot answers commands and messages that mention
it or reply to it, and ignores other chatter.
"""

from __future__ import annotations

import asyncio
import logging
import math
import secrets
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from telegram import LinkPreviewOptions, Message, MessageEntity, Update
from telegram.constants import ChatAction, ChatType, ParseMode
from telegram.error import BadRequest, NetworkError, TelegramError
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.i18n import label
from bot.ratelimit import SlidingWindowLimiter
from bot.settings import Settings
from bot.telegram_format import (
    command_name,
    escape,
    help_lang,
    lang_hint,
    page_keyboard,
    parse_count,
    parse_page_callback,
    render_answer,
    stats_text,
    strip_mention,
    user_lang,
)
from retrieval.models import Answer

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


@dataclass
class BotDeps:
    """What the handlers need, kept in application.bot_data[DEPS_KEY]."""

    qa: ReportQA
    settings: Settings
    limiter: SlidingWindowLimiter
    clock: Callable[[], float] = time.monotonic


@dataclass
class StoredPages:
    pages: list[str]
    lang: str
    created: float


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


PRIVATE_TEXT = filters.ChatType.PRIVATE & filters.TEXT & ~filters.COMMAND
GROUP_TEXT = (
    filters.ChatType.GROUPS
    & filters.TEXT
    & ~filters.COMMAND
    & (filters.Entity(MessageEntity.MENTION) | filters.REPLY)
    & AddressedToBot()
)
NEW_MESSAGES = filters.UpdateType.MESSAGE


def register(application: Application) -> None:
    """Add the bot's handlers and its error handler to `application`."""
    application.add_handler(TypeHandler(Update, allowlist_gate), group=-1)
    application.add_handler(CommandHandler(["start", "help"], help_command, NEW_MESSAGES))
    application.add_handler(CommandHandler("latest", latest_command, NEW_MESSAGES))
    application.add_handler(CommandHandler("topic", topic_command, NEW_MESSAGES))
    application.add_handler(CommandHandler("date", date_command, NEW_MESSAGES))
    application.add_handler(CommandHandler("stats", stats_command, NEW_MESSAGES))
    application.add_handler(
        MessageHandler(filters.COMMAND & NEW_MESSAGES & CommandForBot(), unknown_command)
    )
    application.add_handler(MessageHandler(PRIVATE_TEXT & NEW_MESSAGES, ask_message))
    application.add_handler(MessageHandler(GROUP_TEXT & NEW_MESSAGES, ask_message))
    # Every callback query is answered: unknown or stale data says the answer expired.
    application.add_handler(CallbackQueryHandler(page_callback))
    application.add_error_handler(on_error)


# ---- handlers -------------------------------------------------------------------------------


async def allowlist_gate(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """With settings.allowed_chat_ids set, only those chats get answers."""
    allowed = deps(context).settings.allowed_chat_ids
    chat = update.effective_chat
    if not allowed or (chat is not None and chat.id in allowed):
        return
    lang = _lang(update)
    if update.callback_query is not None:
        await update.callback_query.answer(label(lang, "not_allowed"))
    elif chat is not None and chat.type == ChatType.PRIVATE and update.message is not None:
        await _reply(update, escape(label(lang, "not_allowed")))
    raise ApplicationHandlerStop


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    user = update.effective_user
    lang = help_lang(" ".join(context.args or []), user.language_code if user else None)
    await _reply(update, escape(label(lang, "help")))


async def latest_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    rest = " ".join(context.args or [])
    count = parse_count(rest)
    lang = user_lang("", _language_code(update))
    await respond(update, context, lambda qa: qa.latest(limit=count, lang=lang))


async def topic_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    term = " ".join(context.args or [])
    if not term:
        await _reply(update, escape(label(_lang(update), "usage_topic")))
        return
    lang = lang_hint(term, _language_code(update))
    await respond(update, context, lambda qa: qa.topic(term, lang=lang))


async def date_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    expression = " ".join(context.args or [])
    if not expression:
        await _reply(update, escape(label(_lang(update), "usage_date")))
        return
    lang = lang_hint(expression, _language_code(update))
    await respond(update, context, lambda qa: qa.on_date(expression, lang=lang))


async def stats_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    stats = await asyncio.to_thread(deps(context).qa.stats)
    await _reply(update, stats_text(stats, _lang(update)))


async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message is None or not message.text:
        return
    user = update.effective_user
    lang = help_lang("", user.language_code if user else None)
    unknown = label(lang, "unknown_command", command=command_name(message.text))
    await _reply(update, escape(unknown + "\n\n" + label(lang, "help")))


async def ask_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message is None or not message.text:
        return
    question = strip_mention(message.text, context.bot.username)
    if not question:
        await help_command(update, context)
        return
    await respond(update, context, lambda qa: qa.ask(question))


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
            reply_markup=page_keyboard(key, index, len(stored.pages), stored.lang),
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
) -> None:
    """Rate-limit, show "typing…", run the question off the event loop, send the answer."""
    message = update.effective_message
    chat = update.effective_chat
    if message is None or chat is None:
        return
    d = deps(context)
    user = update.effective_user
    wait = d.limiter.hit(user.id if user else chat.id)
    if wait:
        # Say it once per wait, not once per message of a flood.
        state = context.user_data if context.user_data is not None else {}
        now = d.clock()
        if state.get(NOTIFIED_KEY, 0.0) <= now:
            state[NOTIFIED_KEY] = now + wait
            seconds = max(1, math.ceil(wait))
            await _reply(update, escape(label(_lang(update), "rate_limited", seconds=seconds)))
        return
    async with typing(context, chat.id):
        answer = await asyncio.to_thread(question, d.qa)
    pages = render_answer(answer)
    if len(pages) == 1:
        await _reply(update, pages[0])
        return
    key = _store_pages(context, pages, answer.lang)
    await _reply(update, pages[0], page_keyboard(key, 0, len(pages), answer.lang))


@asynccontextmanager
async def typing(context: ContextTypes.DEFAULT_TYPE, chat_id: int) -> AsyncIterator[None]:
    """Telegram shows "typing…" for about five seconds: repeat it until the answer is ready."""

    async def send() -> None:
        try:
            await context.bot.send_chat_action(chat_id, ChatAction.TYPING)
        except TelegramError as err:
            log.debug("typing indicator failed: %s", err)

    async def keep_typing() -> None:
        while True:
            await asyncio.sleep(TYPING_EVERY)
            await send()

    await send()
    task = asyncio.create_task(keep_typing())
    try:
        yield
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task


async def _reply(update: Update, html_text: str, reply_markup: Any = None) -> None:
    message = update.effective_message
    if message is None:
        return
    await message.reply_text(
        html_text,
        parse_mode=ParseMode.HTML,
        link_preview_options=NO_PREVIEW,
        reply_markup=reply_markup,
    )


def _store_pages(context: ContextTypes.DEFAULT_TYPE, pages: list[str], lang: str) -> str:
    store = _page_store(context)
    key = secrets.token_hex(4)
    while key in store:
        key = secrets.token_hex(4)
    store[key] = StoredPages(pages, lang, deps(context).clock())
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
