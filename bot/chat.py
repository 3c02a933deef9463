"""The bot's conversation in a terminal, for people without a Telegram token."""

from __future__ import annotations

from bot.formatting import format_answer, format_timeline
from bot.i18n import label
from retrieval.models import Answer
from retrieval.service import ReportQA

HELP = """\
Ask anything about the reports, in any language, e.g.
  What did the Kremlin say about negotiations?
  크렘린이 협상에 대해 뭐라고 했어?
Commands: /latest [N], /topic TERM, /timeline TERM, /date 2024-01-26, /stats, /help, /quit
(the chart of /timeline: `reportbot timeline TERM --out chart.png`)"""


def respond(qa: ReportQA, line: str) -> str | None:
    """One line in, one reply out (None = quit). The Telegram handlers follow the same rules."""
    line = line.strip()
    if not line:
        return ""
    command, _, rest = line.partition(" ")
    command = command.split("@", 1)[0].lower()
    rest = rest.strip()
    if command in ("/quit", "/exit"):
        return None
    if command in ("/help", "/start"):
        return HELP
    if command == "/stats":
        s = qa.stats()
        return f"{s.reports} reports ({s.oldest} … {s.newest}), {s.takeaways} takeaways"
    answer: Answer
    if command == "/latest":
        count = int(rest) if rest.isdigit() else None
        answer = qa.latest(limit=count, lang="en")
    elif command == "/topic":
        if not rest:
            return "/topic TERM — e.g. /topic 아브디이프카"
        answer = qa.topic(rest)
    elif command == "/timeline":
        if not rest:
            return "/timeline TERM — e.g. /timeline 아브디이프카"
        return format_timeline(qa.timeline(rest))
    elif command == "/date":
        if not rest:
            return "/date 2024-01-26"
        answer = qa.on_date(rest)
    elif command.startswith("/"):
        return f"Unknown command {command}. " + HELP
    else:
        answer = qa.ask(line)
    text = format_answer(answer)
    return text or label(answer.lang, "no_match")


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
