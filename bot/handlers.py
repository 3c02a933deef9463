"""The bot's handlers: thin glue from Telegram updates to what answers them.

Each handler reads its update, calls one function and lets it send the reply:
- the commands of bot/command_table.py (one table for Telegram, its menu and the terminal chat):
  /start and /help, /latest [N], /topic TERM, /timeline TERM, /date EXPR, /stats, /subscribe
  [TERM], /unsubscribe [TERM]; their Actions are carried out by bot/answering.py;
- free text is a question (bot/answering.py); in groups only messages that mention the bot or
  reply to it, and messages its inline results posted are not questions (bot/gates.py);
- a report file an admin sends in a private chat is checked, saved and ingested (bot/uploads.py);
- the "more"/"back" buttons turn the pages of a long answer (bot/pages.py), the "timeline" button
  under a /topic answer sends its chart;
- inline mode (`@bot QUERY` in any chat): bot/inline.py and bot/answering.py.

Odd input: edited messages, channel posts and update types the bot does not know are ignored;
stickers, photos and other non-text messages get a short "text only" reply in a private chat and
are ignored in groups. Sending and its retries: bot/sending.py. New reports pushed to
subscribers: bot/news.py.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from telegram import Update
from telegram.constants import ParseMode
from telegram.error import NetworkError, TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    InlineQueryHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.answering import answer_inline_query, perform, respond, send_timeline
from bot.command_table import ArgumentLimits, Command, Request, telegram_commands
from bot.context import BotContext, language_code, update_lang
from bot.gates import (
    GROUP_TEXT,
    NEW_MESSAGES,
    PRIVATE_DOCUMENT,
    PRIVATE_OTHER,
    PRIVATE_TEXT,
    CommandForBot,
    admitted,
    allowlist_gate,
)
from bot.i18n import label
from bot.pages import turn_page
from bot.sending import reply
from bot.telegram_format import (
    command_name,
    escape,
    help_lang,
    parse_timeline_callback,
    strip_mention,
    user_lang,
)
from bot.uploads import accept_upload

log = logging.getLogger(__name__)

Handler = Callable[[Update, BotContext], Awaitable[None]]


def register(application: Application) -> None:
    """Add the bot's handlers and its error handler to `application`."""
    application.add_handler(TypeHandler(Update, allowlist_gate), group=-1)
    for command in telegram_commands():
        application.add_handler(
            CommandHandler(list(command.names), command_handler(command), NEW_MESSAGES)
        )
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


def command_handler(command: Command) -> Handler:
    """The handler of one command of the table: its plan for the text after it, carried out."""

    async def handle(update: Update, context: BotContext) -> None:
        request = Request(
            rest=" ".join(context.args or []),
            lang=update_lang(update),
            language_code=language_code(update),
            limits=ArgumentLimits.of(context.deps.settings),
        )
        await perform(update, context, command, command.plan(request))

    handle.__name__ = handle.__qualname__ = f"{command.name}_command"
    return handle


async def unknown_command(update: Update, context: BotContext) -> None:
    message = update.effective_message
    if message is None or not message.text:
        return
    lang = help_lang("", language_code(update))
    unknown = label(lang, "unknown_command", command=command_name(message.text))
    await reply(update, context, escape(unknown + "\n\n" + label(lang, "help")))


async def ask_message(update: Update, context: BotContext) -> None:
    message = update.effective_message
    if message is None or not message.text:
        return
    question = strip_mention(message.text, context.bot.username)
    if not any(ch.isalnum() for ch in question):
        # Nothing to search for (empty, emoji, punctuation): say how to ask.
        lang = help_lang("", language_code(update))
        await reply(update, context, escape(label(lang, "help")))
        return
    await respond(update, context, lambda qa: qa.ask(question))


async def upload_document(update: Update, context: BotContext) -> None:
    """An admin's report file (bot/uploads.py)."""
    await accept_upload(update, context)


async def not_text(update: Update, context: BotContext) -> None:
    """A sticker, photo, voice message, ... in a private chat: ask for text (rate-limited)."""
    if await admitted(update, context, questions=False):
        await reply(update, context, escape(label(update_lang(update), "text_only")))


async def page_callback(update: Update, context: BotContext) -> None:
    """ "More"/"back" under a long answer (bot/pages.py)."""
    await turn_page(update, context)


async def timeline_callback(update: Update, context: BotContext) -> None:
    """The "timeline" button under a /topic answer: the same chart, as a reply to it."""
    query = update.callback_query
    if query is None:
        return
    term = parse_timeline_callback(query.data)
    settings = context.deps.settings
    if term is None or len(term) > settings.max_argument_chars:
        lang = user_lang("", query.from_user.language_code if query.from_user else None)
        await query.answer(label(lang, "expired"), show_alert=True)
        return
    await query.answer()
    await send_timeline(update, context, term)


async def inline_query(update: Update, context: BotContext) -> None:
    """`@bot QUERY`: answered once the user stops typing (bot/inline.py)."""
    d = context.deps
    query = update.inline_query
    if query is None or d.inline is None:
        return
    d.inline.debouncer.schedule(
        query.from_user.id,
        lambda: answer_inline_query(update, context),
        lambda coroutine: context.application.create_task(coroutine, update=update),
    )


async def on_error(update: object, context: BotContext) -> None:
    """Log the exception; tell the user briefly (never a stack trace)."""
    error = context.error
    if isinstance(error, NetworkError) and not isinstance(update, Update):
        log.warning("Telegram network problem: %s", error)
        return
    log.error("Error while handling an update", exc_info=error)
    if not isinstance(update, Update):
        return
    text = label(update_lang(update), "error")
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(text)
        elif update.effective_chat is not None:
            await context.bot.send_message(
                update.effective_chat.id, escape(text), parse_mode=ParseMode.HTML
            )
    except TelegramError as err:
        log.warning("Could not tell the user about the error: %s", err)
