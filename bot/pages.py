"""The "more" pages of a long answer: the pages kept per chat, and turning to one of them.

An answer longer than one message is sent as its first page with "more"/"back" buttons; the
pages stay in the chat's chat_data for a day (the newest PAGES_PER_CHAT of them), so a button
pressed later edits the message to the page it asks for, or says the answer expired.
"""

from __future__ import annotations

import secrets
from collections import OrderedDict
from contextlib import suppress
from dataclasses import dataclass, field

from telegram import InlineKeyboardButton, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, TelegramError

from bot.context import BotContext
from bot.i18n import label
from bot.sending import NO_PREVIEW
from bot.telegram_format import page_keyboard, parse_page_callback, user_lang

PAGES_KEY = "reportbot_pages"
# Stored multi-page answers: per chat, the newest few, for a day.
PAGES_PER_CHAT = 30
PAGES_TTL = 24 * 3600.0


@dataclass
class StoredPages:
    pages: list[str]
    lang: str
    created: float
    # Buttons shown under every page (the timeline button of a /topic answer).
    extra: list[InlineKeyboardButton] = field(default_factory=list)


def store_pages(
    context: BotContext,
    pages: list[str],
    lang: str,
    extra: list[InlineKeyboardButton] | None = None,
) -> str:
    store = page_store(context)
    key = secrets.token_hex(4)
    while key in store:
        key = secrets.token_hex(4)
    store[key] = StoredPages(pages, lang, context.deps.clock(), list(extra or []))
    while len(store) > PAGES_PER_CHAT:
        store.popitem(last=False)
    return key


def stored_pages(context: BotContext, key: str) -> StoredPages | None:
    store = page_store(context)
    stored = store.get(key)
    if stored is not None and context.deps.clock() - stored.created > PAGES_TTL:
        del store[key]
        return None
    return stored


def page_store(context: BotContext) -> OrderedDict[str, StoredPages]:
    data = context.chat_data if context.chat_data is not None else context.bot_data
    return data.setdefault(PAGES_KEY, OrderedDict())


async def turn_page(update: Update, context: BotContext) -> None:
    """A "more"/"back" button: edit the message to the requested page (an unknown or expired
    one says so and takes the buttons away)."""
    query = update.callback_query
    if query is None:
        return
    parsed = parse_page_callback(query.data)
    stored = stored_pages(context, parsed[0]) if parsed else None
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
