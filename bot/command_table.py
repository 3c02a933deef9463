"""The bot's commands, once: name, arguments, help label and what each does.

One table serves the Telegram bot (its handlers, bot/handlers.py; its command menu,
bot/telegram_app.py) and the terminal chat (bot/chat.py: its dispatch and its help). A command's
`plan` reads the text after the command and says what to do as a typed Action; each front end
carries the Action out its own way (bot/answering.py sends it to Telegram, bot/chat.py prints
it). So a rule about a command's argument (its usage note, its length limit, how its language is
chosen) lives here and holds in both.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.i18n import label
from bot.settings import Settings
from bot.subscriptions import normalize_topic
from bot.telegram_format import help_lang, lang_hint, parse_count, user_lang
from retrieval.models import Answer

if TYPE_CHECKING:
    from retrieval.service import ReportQA


def _default(name: str) -> int:
    return Settings.model_fields[name].default


@dataclass(frozen=True)
class ArgumentLimits:
    """How long a /topic, /timeline, /date or /subscribe argument may be (bot/settings.py)."""

    max_chars: int = field(default_factory=lambda: _default("max_argument_chars"))
    max_words: int = field(default_factory=lambda: _default("max_topic_words"))

    @classmethod
    def of(cls, settings: Settings) -> ArgumentLimits:
        return cls(settings.max_argument_chars, settings.max_topic_words)


@dataclass(frozen=True)
class Request:
    """A command as a front end read it."""

    rest: str  # the text after the command
    lang: str  # the language of labels (by the text, else the user's language)
    language_code: str | None  # the user's Telegram language; None in the terminal
    limits: ArgumentLimits


# ---- what a command asks for ------------------------------------------------------------------


@dataclass(frozen=True)
class ShowHelp:
    lang: str


@dataclass(frozen=True)
class Say:
    """A label, e.g. a usage note."""

    lang: str
    key: str
    values: dict[str, object] = field(default_factory=dict)

    def text(self) -> str:
        return label(self.lang, self.key, **self.values)


@dataclass(frozen=True)
class Ask:
    """Run a question against the reports and show its answer."""

    question: Callable[[ReportQA], Answer]
    # The /topic term whose timeline a button under a found answer offers (Telegram).
    timeline_of: str | None = None


@dataclass(frozen=True)
class Chart:
    """The timeline of a term."""

    term: str
    lang: str | None


@dataclass(frozen=True)
class ShowStats:
    lang: str


@dataclass(frozen=True)
class Subscribe:
    topic: str  # "" = every new report
    lang: str


@dataclass(frozen=True)
class Unsubscribe:
    topic: str  # "" = every subscription of the chat
    lang: str


@dataclass(frozen=True)
class Quit:
    pass


Action = ShowHelp | Say | Ask | Chart | ShowStats | Subscribe | Unsubscribe | Quit


@dataclass(frozen=True)
class Command:
    name: str
    args: str  # as the terminal's help shows them
    label: str  # the i18n key of its line in the command menu and the terminal's help
    plan: Callable[[Request], Action]
    aliases: tuple[str, ...] = ()
    telegram: bool = True  # a Telegram command (with a line in its menu)
    terminal: bool = True  # a command of the terminal chat
    # With settings.admin_ids set, only admins may (Telegram; the terminal is the operator's).
    admin: bool = False

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


# ---- the plans --------------------------------------------------------------------------------


def _help(request: Request) -> Action:
    return ShowHelp(help_lang(request.rest, request.language_code))


def _latest(request: Request) -> Action:
    count = parse_count(request.rest)
    lang = user_lang("", request.language_code)
    return Ask(lambda qa: qa.latest(limit=count, lang=lang))


def _too_long(request: Request, term: str) -> Say | None:
    """A term longer than a name or short term gets the usage note."""
    limits = request.limits
    if len(term) <= limits.max_chars and len(term.split()) <= limits.max_words:
        return None
    values = {"words": limits.max_words, "chars": limits.max_chars}
    return Say(request.lang, "topic_too_long", values)


def _topic(request: Request) -> Action:
    term = request.rest
    if not term:
        return Say(request.lang, "usage_topic")
    lang = lang_hint(term, request.language_code)
    return _too_long(request, term) or Ask(lambda qa: qa.topic(term, lang=lang), timeline_of=term)


def _timeline(request: Request) -> Action:
    term = request.rest
    if not term:
        return Say(request.lang, "usage_timeline")
    return _too_long(request, term) or Chart(term, lang_hint(term, request.language_code))


def _date(request: Request) -> Action:
    expression = request.rest
    if not expression or len(expression) > request.limits.max_chars:
        return Say(request.lang, "usage_date")
    lang = lang_hint(expression, request.language_code)
    return Ask(lambda qa: qa.on_date(expression, lang=lang))


def _stats(request: Request) -> Action:
    return ShowStats(request.lang)


def _subscribe(request: Request) -> Action:
    topic = normalize_topic(request.rest)
    return _too_long(request, topic) or Subscribe(topic, request.lang)


def _unsubscribe(request: Request) -> Action:
    topic = normalize_topic(request.rest)[: request.limits.max_chars]
    return Unsubscribe(topic, request.lang)


def _quit(request: Request) -> Action:
    return Quit()


# In the order of Telegram's command menu.
COMMANDS: tuple[Command, ...] = (
    Command("latest", "[N]", "cmd_latest", _latest),
    Command("topic", "TERM", "cmd_topic", _topic),
    Command("timeline", "TERM", "cmd_timeline", _timeline),
    Command("date", "DATE", "cmd_date", _date),
    Command("subscribe", "[TERM]", "cmd_subscribe", _subscribe, terminal=False),
    Command("unsubscribe", "[TERM]", "cmd_unsubscribe", _unsubscribe, terminal=False),
    Command("stats", "", "cmd_stats", _stats, admin=True),
    Command("help", "", "cmd_help", _help, aliases=("start",)),
    Command("quit", "", "cmd_quit", _quit, aliases=("exit",), telegram=False),
)


def telegram_commands() -> list[Command]:
    return [c for c in COMMANDS if c.telegram]


def terminal_command(name: str) -> Command | None:
    """The terminal chat's command called `name` (without the slash), if there is one."""
    return next((c for c in COMMANDS if c.terminal and name in c.names), None)


def terminal_help(lang: str) -> str:
    """The terminal chat's help: how to ask, then its commands with their menu labels."""
    lines = [
        f"/{c.name}{' ' + c.args if c.args else ''} — {label(lang, c.label)}"
        for c in COMMANDS
        if c.terminal
    ]
    return label(lang, "help_about") + "\n\n" + "\n".join(lines)
