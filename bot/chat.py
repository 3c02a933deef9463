"""The bot's conversation in a terminal, for people without a Telegram token.

Its commands, their rules and their help come from bot/command_table.py, as the Telegram bot's
do; what differs is only how an answer is shown (plain text, bot/formatting.py).
"""

from __future__ import annotations

from bot.command_table import (
    Action,
    ArgumentLimits,
    Ask,
    Chart,
    Quit,
    Request,
    Say,
    ShowHelp,
    ShowStats,
    terminal_command,
    terminal_help,
)
from bot.formatting import format_answer, format_stats, format_timeline
from bot.i18n import label
from bot.telegram_format import help_lang, user_lang
from retrieval.service import ReportQA


def respond(qa: ReportQA, line: str, limits: ArgumentLimits | None = None) -> str | None:
    """One line in, one reply out (None = quit). The Telegram handlers follow the same rules."""
    line = line.strip()
    if not line:
        return ""
    if not line.startswith("/"):
        return _show(qa, Ask(lambda qa: qa.ask(line)))
    word, _, rest = line.partition(" ")
    name = word[1:].split("@", 1)[0].lower()
    rest = rest.strip()
    command = terminal_command(name)
    if command is None:
        lang = help_lang("", None)
        return label(lang, "unknown_command", command=word) + "\n\n" + terminal_help(lang)
    request = Request(rest, user_lang(rest, None), None, limits or ArgumentLimits())
    return _show(qa, command.plan(request))


def _show(qa: ReportQA, action: Action) -> str | None:
    match action:
        case Quit():
            return None
        case ShowHelp(lang=lang):
            return terminal_help(lang)
        case Say():
            return action.text()
        case ShowStats(lang=lang):
            return format_stats(qa.stats(), lang)
        case Chart(term=term, lang=lang):
            return format_timeline(qa.timeline(term, lang=lang))
        case Ask(question=question):
            answer = question(qa)
            return format_answer(answer) or label(answer.lang, "no_match")
    return ""  # a Telegram-only action (the table offers none of them here)


def chat(qa: ReportQA) -> int:
    s = qa.stats()
    print(f"reportbot — {s.reports} reports loaded ({s.oldest} … {s.newest}). /help for help.")
    while True:
        try:
            line = input("\n> ")
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        reply = respond(qa, line)
        if reply is None:
            return 0
        if reply:
            print(reply)
