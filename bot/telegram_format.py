"""Answers as Telegram HTML (ParseMode.HTML), split into pages Telegram accepts, plus the small
bits of message parsing the handlers need (command arguments, mentions, the user's language).

Every piece of report text goes through `escape` (html.escape): a report containing `<b>` or `&`
can neither break a message nor inject markup. Pages are split on takeaway boundaries; a single
takeaway longer than a page is split at sentence, then word boundaries, never inside a tag or an
entity, with open tags closed at the end of a page and reopened at the start of the next.

Longer than 400 lines on purpose: every Telegram message the bot renders (HTML escaping,
4,096-character pages, buttons) follows one set of rules kept in one place.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Iterable
from dataclasses import dataclass

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    LinkPreviewOptions,
)
from telegram.constants import ParseMode

from bot.formatting import format_stats
from bot.i18n import LABELS, english_marker, label, note_text
from retrieval.gloss import gloss_line
from retrieval.language import guess_by_script
from retrieval.models import Answer, Result, StoreStats, Timeline

# Telegram's limit for one message's text.
MAX_MESSAGE = 4096
PAGE_SEPARATOR = "\n\n"

_ATOM = re.compile(r"<[^<>]*>|&(?:#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);|.", re.DOTALL)
_TAG_NAME = re.compile(r"</?\s*([A-Za-z][A-Za-z0-9-]*)")
_SENTENCE_END = frozenset(".!?。！？…;:")
_URL = re.compile(r"^https?://\S+$", re.IGNORECASE)


def escape(text: str) -> str:
    """Report text as HTML text: `<`, `>`, `&` and quotes become entities."""
    return html.escape(text, quote=True)


def tg_len(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units); never less than len(text)."""
    return len(text.encode("utf-16-le")) // 2


# ---- the user's language ------------------------------------------------------------------------


def help_lang(text: str, language_code: str | None) -> str:
    """The language of /start and /help (English, Korean, Ukrainian or Russian): by the text,
    else Telegram's language_code."""
    return user_lang(text, language_code)


def user_lang(text: str, language_code: str | None) -> str:
    """Our best guess of the language for labels (errors, usage, rate limits) — one of LABELS:
    the read path's guesser, by script only (a label must not wait for a language model)."""
    code = (language_code or "").split("-")[0].lower()
    return guess_by_script(text, code, LABELS)


def lang_hint(text: str, language_code: str | None) -> str | None:
    """None when the text has letters (qa detects its language), else the user's language:
    `/date 2024-01-26` says nothing about the language the user reads."""
    if any(ch.isalpha() for ch in text):
        return None
    return user_lang("", language_code)


# ---- message parsing ----------------------------------------------------------------------------


def parse_count(arg: str) -> int | None:
    """`/latest 3` → 3; anything else (or nothing) → None (the default)."""
    arg = arg.strip()
    if arg.isdigit() and 0 < int(arg) <= 100:
        return int(arg)
    return None


def strip_mention(text: str, username: str | None) -> str:
    """A group message without the bot's @username in it."""
    if username:
        text = re.sub(rf"@{re.escape(username)}\b", " ", text, flags=re.IGNORECASE)
    return " ".join(text.split())


def command_name(text: str) -> str:
    """`/Topic@SomeBot rest` → `/topic`."""
    first = text.split(maxsplit=1)[0] if text.strip() else ""
    return first.split("@", 1)[0].lower()


# ---- rendering ----------------------------------------------------------------------------------


def report_url(result: Result) -> str | None:
    """The report's web address: its link (`url`, from the report's own file), else its
    source when that is a web address (a watched or fetched page); None for a report read from
    a file. Never made up."""
    for value in (result.url, result.source):
        if isinstance(value, str) and _URL.match(value.strip()):
            return value.strip()
    return None


def source_html(result: Result, lang: str) -> str:
    """The report's title, linked to the report when it has a web address (never a file path
    on this server)."""
    title = result.report_title.strip() or label(
        lang, "report_of", date=result.report_date.isoformat()
    )
    url = report_url(result)
    if url is not None:
        return f'<a href="{html.escape(url, quote=True)}">{escape(title)}</a>'
    return escape(title)


def result_html(result: Result, lang: str, index: int | None) -> str:
    """One takeaway (or passage) with its report date and its source; numbered unless `index`
    is None (a takeaway shared on its own)."""
    day = result.report_date.isoformat()
    marker = escape(english_marker(result.lang, lang))
    kind = label(lang, "takeaway" if result.kind == "takeaway" else "passage")
    number = f"{index}. " if index is not None else ""
    lines = [f"<b>{number}[{day}]</b> {escape(result.text)}{marker}"]
    if result.translated_by and result.original_text:
        # Never passed off as ISW's words: marked, with the original one tap away.
        lines[0] += f" <i>{escape(label(lang, 'machine_translation'))}</i>"
        lines.append(f"<blockquote expandable>{escape(result.original_text)}</blockquote>")
    if result.gloss:  # what an English takeaway names, in the reader's language
        lines.append(f"🔎 <i>{escape(gloss_line(result.gloss))}</i>")
    if result.supporting:
        lines.append(f"<i>{escape(label(lang, 'supporting'))}: {escape(result.supporting)}</i>")
    if result.also_reported:
        dates = ", ".join(d.isoformat() for d in result.also_reported[:5])
        also = label(lang, "also_reported", count=len(result.also_reported), dates=dates)
        lines.append(f"<i>{escape(also)}</i>")
    lines.append(f"— {escape(kind)} · {escape(label(lang, 'source'))}: {source_html(result, lang)}")
    return "\n".join(lines)


def answer_blocks(answer: Answer) -> list[str]:
    """The answer as HTML blocks: the note (if any), then one block per takeaway."""
    blocks: list[str] = []
    note = note_text(answer.lang, answer.note, answer.query)
    if note:
        blocks.append(f"<i>{escape(note)}</i>")
    for i, result in enumerate(answer.results, 1):
        blocks.append(result_html(result, answer.lang, i))
    if not blocks:
        blocks.append(escape(label(answer.lang, "no_match")))
    return blocks


def render_answer(answer: Answer, limit: int = MAX_MESSAGE) -> list[str]:
    """The answer as pages of Telegram HTML, each at most `limit` characters."""
    return paginate(answer_blocks(answer), limit)


def stats_text(stats: StoreStats, lang: str) -> str:
    return escape(format_stats(stats, lang))


def news_html(answer: Answer, topics: list[str] | None = None, limit: int = MAX_MESSAGE) -> str:
    """A new report's announcement as one message (a push is one message, not pages): the report's
    date and linked title, then its takeaways, numbered. Takeaways that do not fit are left to
    `/date DAY`, which the last line names. `topics`: the subscriber's, named in the header."""
    if not answer.results:
        raise ValueError("nothing to announce")
    first, lang = answer.results[0], answer.lang
    day = first.report_date.isoformat()
    if topics:
        quoted = ", ".join(f"“{t}”" for t in topics)
        header = label(lang, "news_topic", date=day, topics=quoted)
    else:
        header = label(lang, "news", date=day)
    head = f"<b>{escape(header)}</b>\n{source_html(first, lang)}"
    note = note_text(lang, answer.note, answer.query)
    if note:
        head += f"\n<i>{escape(note)}</i>"
    blocks = []
    for i, result in enumerate(answer.results, 1):
        marker = escape(english_marker(result.lang, lang))
        if result.translated_by and result.original_text:
            marker = f" <i>{escape(label(lang, 'machine_translation'))}</i>"
            marker += f"\n<blockquote expandable>{escape(result.original_text)}</blockquote>"
        blocks.append(f"<b>{i}.</b> {escape(result.text)}{marker}")
    text = PAGE_SEPARATOR.join([head, *blocks])
    keep = len(blocks)
    while tg_len(text) > limit and keep > 0:
        keep -= 1
        more = label(lang, "news_more", count=len(blocks) - keep, date=day)
        text = PAGE_SEPARATOR.join([head, *blocks[:keep], f"<i>{escape(more)}</i>"])
    # Only a header longer than a message is left to cut (never with Telegram's limit).
    return text if tg_len(text) <= limit else split_html(text, limit)[0]


# ---- sharing a takeaway (inline mode) -------------------------------------------------------

INLINE_TITLE = 64  # characters of a result's title in the inline list
INLINE_DESCRIPTION = 160


def share_html(result: Result, lang: str) -> str:
    """The message a reader posts by choosing an inline result: the takeaway exactly as the
    bot's answers show it (date, text, kind and source, linked when the report has a web
    address), unnumbered, within one message."""
    text = result_html(result, lang, None)
    return text if tg_len(text) <= MAX_MESSAGE else split_html(text, MAX_MESSAGE)[0]


def inline_title(result: Result) -> tuple[str, str]:
    """(title, description) of an inline result: the report date and the takeaway's first
    words, then the words that follow (or the report's title when the text fits)."""
    day = result.report_date.isoformat()
    text = " ".join(result.text.split())
    head = clip_words(text, INLINE_TITLE - len(day) - 3)
    title = f"{day} · {head}"
    rest = text[len(head.rstrip("…")) :].strip()
    description = clip_words("…" + rest, INLINE_DESCRIPTION) if rest else result.report_title
    return title, description


def inline_result_id(index: int, result: Result) -> str:
    """A result id Telegram accepts (1-64 bytes, unique within an answer)."""
    digest = hashlib.sha1(
        f"{result.report_id}|{result.kind}|{result.position}|{result.lang}".encode()
    ).hexdigest()[:16]
    return f"{index}-{digest}"


def inline_results(answer: Answer) -> list[InlineQueryResultArticle]:
    """The answer's takeaways as inline results; choosing one posts `share_html`."""
    out = []
    for i, result in enumerate(answer.results):
        title, description = inline_title(result)
        content = InputTextMessageContent(
            share_html(result, answer.lang),
            parse_mode=ParseMode.HTML,
            link_preview_options=LinkPreviewOptions(is_disabled=True),
        )
        out.append(
            InlineQueryResultArticle(
                id=inline_result_id(i, result),
                title=title,
                description=description,
                input_message_content=content,
            )
        )
    return out


def clip_words(text: str, size: int) -> str:
    """`text` cut to at most `size` characters at a word boundary, with "…" when cut."""
    if len(text) <= size:
        return text
    cut = text[: max(1, size - 1)]
    if " " in cut.strip():
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:") + "…"


# ---- a topic's timeline -----------------------------------------------------------------------

MAX_CAPTION = 1024  # Telegram's limit for a photo's caption
TIMELINE_CALLBACK = "tl:"


def timeline_callback_data(term: str) -> str | None:
    """callback_data for "the timeline of `term`" (None when the term is too long for
    Telegram's 64 bytes: such a term gets no button, `/timeline TERM` still works)."""
    data = TIMELINE_CALLBACK + " ".join(term.split())
    return data if len(data.encode("utf-8")) <= 64 else None


def parse_timeline_callback(data: str | None) -> str | None:
    if not data or not data.startswith(TIMELINE_CALLBACK):
        return None
    term = data[len(TIMELINE_CALLBACK) :].strip()
    return term or None


def timeline_button(term: str, lang: str) -> InlineKeyboardButton | None:
    data = timeline_callback_data(term)
    if data is None:
        return None
    return InlineKeyboardButton(label(lang, "timeline_button"), callback_data=data)


def timeline_caption(timeline: Timeline, limit: int = MAX_CAPTION) -> str:
    """The text under a timeline chart (Telegram HTML, at most `limit` characters): how many
    takeaways mention the term over which period, the busiest weeks with one takeaway each, and
    the first and last mention. Takeaways are shortened at word boundaries to fit."""
    lang = timeline.lang
    start = timeline.weeks[0].week.isoformat() if timeline.weeks else "—"
    end = timeline.weeks[-1].week.isoformat() if timeline.weeks else "—"
    head = label(
        lang, "timeline_head", name=timeline.name, total=timeline.total, start=start, end=end
    )
    rows: list[tuple[str, Result]] = []
    for peak in timeline.peaks:
        week = label(lang, "timeline_week", week=peak.week.isoformat(), count=peak.count)
        rows.append((f"• {escape(week)}: ", peak.takeaway))
    ends = [(timeline.first, "timeline_first"), (timeline.last, "timeline_last")]
    tail = [(f"<b>{escape(label(lang, key))}</b> ", r) for r, key in ends if r is not None]

    def build(size: int | None) -> str:
        def line(prefix: str, result: Result) -> str:
            text = " ".join(result.text.split())
            text = clip_words(text, size) if size is not None else text
            marker = escape(english_marker(result.lang, lang))
            return f"{prefix}[{result.report_date.isoformat()}] {escape(text)}{marker}"

        parts = [f"<b>{escape(head)}</b>"]
        if rows:
            parts.append(f"<b>{escape(label(lang, 'timeline_peaks'))}</b>")
            parts += [line(prefix, r) for prefix, r in rows]
        parts += [line(prefix, r) for prefix, r in tail]
        return "\n".join(parts)

    caption = build(None)
    size = max((len(r.text) for _, r in rows + tail), default=0)
    while tg_len(caption) > limit and size > 1:
        size = max(1, int(size * 0.85))
        caption = build(size)
    return caption if tg_len(caption) <= limit else split_html(caption, limit)[0]


def plain_html(text: str) -> str:
    """A label (help, usage, errors) as HTML."""
    return escape(text)


# ---- pages ------------------------------------------------------------------------------------

PAGE_CALLBACK = re.compile(r"^pg:([0-9a-f]{1,16}):([0-9]{1,4})$")


def page_callback_data(key: str, index: int) -> str:
    """callback_data for "show page `index` of the stored answer `key`" (Telegram: ≤ 64 bytes)."""
    return f"pg:{key}:{index}"


def parse_page_callback(data: str | None) -> tuple[str, int] | None:
    m = PAGE_CALLBACK.match(data or "")
    return (m.group(1), int(m.group(2))) if m else None


def page_keyboard(
    key: str,
    index: int,
    total: int,
    lang: str,
    extra: list[InlineKeyboardButton] | None = None,
) -> InlineKeyboardMarkup | None:
    """Buttons under page `index` (0-based) of `total`: back, and "more" while pages remain;
    `extra` (e.g. /topic's timeline button) as a row below them."""
    buttons = []
    if index > 0:
        buttons.append(
            InlineKeyboardButton(
                f"◀ {label(lang, 'back')} ({index}/{total})",
                callback_data=page_callback_data(key, index - 1),
            )
        )
    if index + 1 < total:
        buttons.append(
            InlineKeyboardButton(
                f"{label(lang, 'more')} ({index + 2}/{total}) ▶",
                callback_data=page_callback_data(key, index + 1),
            )
        )
    rows = [row for row in (buttons, extra or []) if row]
    return InlineKeyboardMarkup(rows) if rows else None


# ---- splitting ----------------------------------------------------------------------------------


def paginate(blocks: Iterable[str], limit: int = MAX_MESSAGE) -> list[str]:
    """Pack HTML blocks into pages of at most `limit` (UTF-16) characters, breaking only between
    blocks; a block longer than a page is split by `split_html`."""
    pages: list[str] = []
    current = ""
    for block in blocks:
        if not block:
            continue
        candidate = f"{current}{PAGE_SEPARATOR}{block}" if current else block
        if tg_len(candidate) <= limit:
            current = candidate
            continue
        if current:
            pages.append(current)
            current = ""
        if tg_len(block) <= limit:
            current = block
            continue
        pieces = split_html(block, limit)
        pages += pieces[:-1]
        current = pieces[-1]
    if current:
        pages.append(current)
    return pages


@dataclass
class _Cut:
    end: int  # atoms[start:end] go on this page
    stack: list[str]  # opening tags still open after atoms[:end]
    size: int = 0  # the page's length up to here


def _atoms(text: str) -> list[str]:
    return _ATOM.findall(text)


def _tag(atom: str) -> tuple[str, bool] | None:
    """(name, is_closing) for a tag atom, None for text and entities."""
    if len(atom) < 3 or atom[0] != "<" or atom[-1] != ">":
        return None
    m = _TAG_NAME.match(atom)
    if m is None:
        return None
    return m.group(1).lower(), atom.startswith("</")


def _apply(stack: list[str], atom: str) -> list[str]:
    tag = _tag(atom)
    if tag is None:
        return stack
    name, closing = tag
    if not closing:
        return [*stack, atom]
    for i in range(len(stack) - 1, -1, -1):
        if _tag(stack[i]) == (name, False):
            return stack[:i] + stack[i + 1 :]
    return stack


def _closing(stack: list[str]) -> str:
    return "".join(f"</{_tag(t)[0]}>" for t in reversed(stack))  # type: ignore[index]


def split_html(text: str, limit: int = MAX_MESSAGE) -> list[str]:
    """Split Telegram HTML into pieces of at most `limit` (UTF-16) characters.

    Breaks at a sentence end if one fits, else at whitespace, else between any two characters —
    never inside a tag or an entity. Whitespace at a break is dropped; tags open at a break are
    closed at the end of the piece and reopened at the start of the next.
    """
    atoms = _atoms(text)
    pieces: list[str] = []
    start = 0
    stack: list[str] = []
    while start < len(atoms):
        if pieces:
            # Whitespace at a break is dropped.
            while start < len(atoms) and atoms[start].isspace():
                start += 1
            if start >= len(atoms):
                break
        prefix = "".join(stack)
        size = tg_len(prefix)
        run = stack
        close_len = tg_len(_closing(run))
        sentence = word = anywhere = None
        i = start
        while i < len(atoms):
            atom = atoms[i]
            after = _apply(run, atom)
            after_close = close_len if after is run else tg_len(_closing(after))
            if size + tg_len(atom) + after_close > limit:
                break
            size += tg_len(atom)
            run, close_len = after, after_close
            i += 1
            if _is_opening(atom):
                continue  # never end a piece just after an opening tag
            cut = _Cut(i, run, size)
            anywhere = cut
            nxt = atoms[i] if i < len(atoms) else ""
            if nxt.isspace() and not atom.isspace():
                word = cut
                if atom in _SENTENCE_END or nxt == "\n":
                    sentence = cut
        if i >= len(atoms):
            pieces.append(prefix + "".join(atoms[start:]) + _closing(run))
            break
        # A sentence end, unless it would leave most of the page empty; else a word break.
        chosen = sentence if sentence and sentence.size * 2 >= limit else (word or sentence)
        chosen = chosen or anywhere
        if chosen is None:
            # Only when the tags alone fill a page (never with Telegram's limit and our tags):
            # take the next character anyway, with the tags opened before it.
            end, run = start, stack
            while end < len(atoms):
                run = _apply(run, atoms[end])
                end += 1
                if not _is_opening(atoms[end - 1]):
                    break
            chosen = _Cut(end, run)
        body = "".join(atoms[start : chosen.end]).rstrip()
        pieces.append(prefix + body + _closing(chosen.stack))
        start, stack = chosen.end, chosen.stack
    return pieces


def _is_opening(atom: str) -> bool:
    tag = _tag(atom)
    return tag is not None and not tag[1]


def strip_tags(text: str) -> str:
    """The text of an HTML page without its tags (entities left as they are)."""
    return "".join(a for a in _atoms(text) if _tag(a) is None)


def tags_balanced(text: str) -> bool:
    """Every tag is closed, in order, and nothing is closed that was not opened."""
    stack: list[str] = []
    for atom in _atoms(text):
        tag = _tag(atom)
        if tag is None:
            continue
        name, closing = tag
        if not closing:
            stack.append(name)
        elif not stack or stack.pop() != name:
            return False
    return not stack
