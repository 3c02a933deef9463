"""Carrying out what an update asks for, in Telegram: a command's Action (bot/command_table.py),
a question's answer (in pages), a timeline chart, an inline query's results.

Each runs the question off the event loop, behind the rate limits (bot/gates.py), with the
"typing…" indicator, and sends through bot/sending.py.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from typing import TYPE_CHECKING

from telegram import InlineQueryResultsButton, Message, Update
from telegram.constants import ChatAction, ParseMode

from bot.command_table import (
    Action,
    Ask,
    Chart,
    Command,
    Quit,
    Say,
    ShowHelp,
    ShowStats,
    Subscribe,
    Unsubscribe,
)
from bot.context import BotContext, language_code, update_lang
from bot.gates import admitted, is_admin, rate_check
from bot.i18n import label
from bot.inline import cache_key, inline_answer
from bot.pages import store_pages
from bot.sending import reply, send_with_retry, typing
from bot.subscriptions import MAX_TOPICS_PER_CHAT, TooManyTopics
from bot.telegram_format import (
    escape,
    inline_results,
    lang_hint,
    page_keyboard,
    render_answer,
    stats_text,
    timeline_button,
    timeline_caption,
    user_lang,
)
from bot.timeline_chart import chart_for
from retrieval.models import Answer

if TYPE_CHECKING:
    from retrieval.service import ReportQA


async def perform(update: Update, context: BotContext, command: Command, action: Action) -> None:
    """Carry out a command's Action in the chat the command came from."""
    d = context.deps
    if command.admin and d.settings.admin_ids and not is_admin(update, d.settings):
        # Admins only, once settings.admin_ids names any (with none configured, /stats stays
        # public: counts and dates of public reports).
        await reply(update, context, escape(label(update_lang(update), "admin_only")))
        return
    match action:
        case ShowHelp(lang=lang):
            await reply(update, context, escape(label(lang, "help")))
        case Say():
            await reply(update, context, escape(action.text()))
        case Ask(question=question, timeline_of=timeline_of):
            await respond(update, context, question, timeline_of)
        case Chart(term=term):
            await send_timeline(update, context, term)
        case ShowStats(lang=lang):
            stats = await asyncio.to_thread(d.qa.stats)
            await reply(update, context, stats_text(stats, lang))
        case Subscribe():
            await subscribe(update, context, action)
        case Unsubscribe():
            await unsubscribe(update, context, action)
        case Quit():
            pass  # the terminal's; not a Telegram command


async def subscribe(update: Update, context: BotContext, action: Subscribe) -> None:
    """/subscribe: each new report's takeaways; /subscribe TERM: only new takeaways that mention
    TERM. In the language of the command (else the user's Telegram language)."""
    d = context.deps
    chat = update.effective_chat
    if chat is None or d.subscriptions is None:
        return
    topic, lang = action.topic, action.lang
    if not await admitted(update, context, questions=False):
        return
    try:
        await asyncio.to_thread(d.subscriptions.subscribe, chat.id, topic, lang)
    except TooManyTopics:
        text = label(lang, "too_many_topics", count=MAX_TOPICS_PER_CHAT)
        await reply(update, context, escape(text))
        return
    text = label(lang, "subscribed_topic", topic=topic) if topic else label(lang, "subscribed")
    await reply(update, context, escape(text))
    if d.announce is not None:
        # The first subscription takes stock of the reports already there (they are not news).
        await d.announce()


async def unsubscribe(update: Update, context: BotContext, action: Unsubscribe) -> None:
    """/unsubscribe: every subscription of the chat; /unsubscribe TERM: that topic only."""
    d = context.deps
    chat = update.effective_chat
    if chat is None or d.subscriptions is None:
        return
    if not await admitted(update, context, questions=False):
        return
    topic, lang = action.topic, action.lang
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
    await reply(update, context, escape(text))


async def respond(
    update: Update,
    context: BotContext,
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
    d = context.deps
    async with typing(context, chat.id):
        answer = await asyncio.to_thread(question, d.qa)
    pages = render_answer(answer)
    button = timeline_button(timeline_of, answer.lang) if timeline_of and answer.results else None
    extra = [button] if button is not None else []
    if len(pages) == 1:
        await reply(update, context, pages[0], page_keyboard("", 0, 1, answer.lang, extra))
        return
    key = store_pages(context, pages, answer.lang, extra)
    await reply(update, context, pages[0], page_keyboard(key, 0, len(pages), answer.lang, extra))


async def send_timeline(update: Update, context: BotContext, term: str) -> None:
    """Rate-limit, show "sending a photo…", draw the term's timeline off the event loop, send
    it with the peaks as its caption (a text reply when nothing mentions the term)."""
    message, chat = update.effective_message, update.effective_chat
    if message is None or chat is None:
        return
    if not await admitted(update, context):
        return
    d = context.deps
    lang = lang_hint(term, language_code(update))
    async with typing(context, chat.id, ChatAction.UPLOAD_PHOTO):
        chart = await asyncio.to_thread(chart_for, d.qa, term, lang)
    timeline = chart.timeline
    if chart.png is None:
        note = label(timeline.lang, timeline.note or "no_topic", query=term, date="")
        await reply(update, context, escape(note))
        return
    png, caption = chart.png, timeline_caption(timeline)

    async def send() -> Message:
        return await message.reply_photo(
            png, caption=caption, parse_mode=ParseMode.HTML, filename="timeline.png"
        )

    await send_with_retry(send, d.settings.send_retries, d.settings.send_retry_delay, "chart")


async def answer_inline_query(update: Update, context: BotContext) -> None:
    """A settled inline query: the user's rate limit, then the cached answer or a search (off
    the event loop), then answerInlineQuery."""
    query = update.inline_query
    d = context.deps
    if query is None or d.inline is None:
        return
    settings = d.settings
    hint = lang_hint(query.query, query.from_user.language_code)
    personal = hint is not None  # the user's language chose the answer, not the query
    wait, reason = rate_check(d, query.from_user.id, questions=False)
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
