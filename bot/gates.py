"""Which updates get an answer: the filters that pick them, the allowlist, admins and the rate
limits.

In groups the bot answers commands and messages that mention it or reply to it, and ignores
other chatter. Messages the bot's inline results posted (they carry `via_bot`) are not questions
to it, even in its own chat. Stickers, photos and other non-text messages are answered only in
a private chat.
"""

from __future__ import annotations

import math

from telegram import Message, MessageEntity, Update
from telegram.constants import ChatType
from telegram.ext import ApplicationHandlerStop, filters

from bot.context import BotContext, BotDeps, update_lang
from bot.i18n import label
from bot.sending import reply
from bot.settings import Settings
from bot.telegram_format import escape

NOTIFIED_KEY = "reportbot_rate_limited_until"


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


# ---- gates ----------------------------------------------------------------------------------


async def allowlist_gate(update: Update, context: BotContext) -> None:
    """With settings.allowed_chat_ids set, only those chats get answers."""
    allowed = context.deps.settings.allowed_chat_ids
    chat = update.effective_chat
    if not allowed or (chat is not None and chat.id in allowed):
        return
    user = update.effective_user
    if update.inline_query is not None and user is not None and user.id in allowed:
        return  # inline queries come from a user, not a chat: their own private chat's id
    lang = update_lang(update)
    if update.inline_query is not None:
        await update.inline_query.answer([], cache_time=0, is_personal=True)
    elif update.callback_query is not None:
        await update.callback_query.answer(label(lang, "not_allowed"))
    elif chat is not None and chat.type == ChatType.PRIVATE and update.message is not None:
        await reply(update, context, escape(label(lang, "not_allowed")))
    raise ApplicationHandlerStop


def is_admin(update: Update, settings: Settings) -> bool:
    user = update.effective_user
    return user is not None and user.id in settings.admin_ids


async def admitted(update: Update, context: BotContext, *, questions: bool = True) -> bool:
    """The rate limits: the user's own, then (for questions) everybody's together. The user's
    limit comes first, so a flooder spends only their own share of the global one. A refusal is
    said once per wait, not once per message of a flood."""
    d = context.deps
    user, chat = update.effective_user, update.effective_chat
    key = user.id if user else (chat.id if chat else 0)
    wait, reason = rate_check(d, key, questions)
    if not wait:
        return True
    state = context.user_data if context.user_data is not None else {}
    now = d.clock()
    if state.get(NOTIFIED_KEY, 0.0) <= now:
        state[NOTIFIED_KEY] = now + wait
        seconds = max(1, math.ceil(wait))
        await reply(update, context, escape(label(update_lang(update), reason, seconds=seconds)))
    return False


def rate_check(d: BotDeps, key: int, questions: bool) -> tuple[float, str]:
    """(seconds to wait, the label that says so); 0 when admitted. The user's own limit first,
    so a flooder spends only their own share of the global one."""
    wait = d.limiter.hit(key)
    if wait:
        return wait, "rate_limited"
    if questions and d.global_limiter is not None:
        return d.global_limiter.hit("*"), "busy"
    return 0.0, "rate_limited"
