"""What each `reportbot` subcommand does; the parser lives in bot/cli.py."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, TextIO

from bot.formatting import format_answer, format_timeline
from bot.settings import Settings
from bot.wiring import (
    build_qa,
    ingest_sample,
    load_embedder,
    load_translator,
    make_watcher,
    open_store,
    store_location,
)
from retrieval.models import Answer
from retrieval.snapshot import forget_snapshots

if TYPE_CHECKING:
    from retrieval.service import ReportQA
from store.embedding import Embedder
from store.ingest import IngestSummary, newest
from store.library import ReportLibrary
from store.translation import TARGETS, TranslationMismatchError
from store.vector_store import (
    ReportStore,
    StoreMismatchError,
)
from store.watch import WatchRound, check_source
from store.write_lock import StoreBusyError


class UserError(Exception):
    """A problem the user can fix; printed as one line, exit status 2."""


def open_library(settings: Settings) -> ReportLibrary:
    """The write path of the settings' data folder; the store is opened and the model loaded
    when a command first needs them (`stats` loads no model; `reindex`, `export` and `import`
    open no store)."""
    # Lambdas, not the functions themselves: load_embedder is looked up when called, so tests
    # and scripts can swap in a model-free embedder (bot.commands.load_embedder).
    return ReportLibrary(
        store_location(settings),
        lambda: open_store(settings),
        lambda: load_embedder(settings),
        load_translator(settings),
        settings.translate_to,
    )


def dispatch(args: argparse.Namespace, settings: Settings) -> int:
    library = open_library(settings)
    if args.command == "reindex":
        return reindex(library)
    if args.command in ("export", "import"):
        return backup(args, settings, library)
    if args.command == "watch":
        _check_watch_args(args, settings)
    try:
        store = library.store
    except StoreMismatchError as err:
        raise UserError(str(err)) from err
    if args.command == "stats":
        return stats(args, settings, library)
    if args.command == "translate":
        return translate(args, settings, library)
    embedder = library.embedder
    if args.command == "watch":
        return watch(args, settings, library)
    if args.command == "ingest":
        select = (lambda reports: newest(reports, args.newest)) if args.newest else None
        try:
            summary = library.ingest(
                args.paths,
                progress=not (args.quiet or args.json),
                select=select,
                wait=not args.no_wait,
                on_wait=say_waiting,
            )
        except StoreBusyError as err:
            raise UserError(str(err)) from err
        return report_summary(summary, verbose=args.list, as_json=args.json)
    if args.command == "run" and not store.report_count():
        print("First run: loading the sample reports (the rest: `reportbot ingest PATH`)…")
        report_summary(ingest_sample(settings, library))
    if args.command == "eval":
        paths = args.ingest if args.ingest is not None else settings.samples
        report_summary(library.ingest([p for p in paths if p.exists()], translate=False))
    qa = build_qa(settings, store, embedder)
    if args.command == "eval":
        return run_eval(args, qa, store, embedder)
    if args.command == "run":
        if settings.telegram_bot_token is not None:
            from bot.telegram_app import StartupError, run_bot

            try:
                run_bot(settings, qa, library)
            except StartupError as err:
                raise UserError(str(err)) from err
            return 0
        print("No TELEGRAM_BOT_TOKEN set: starting the terminal chat instead.")
        from bot.chat import chat

        return chat(qa)
    if args.command == "chat":
        from bot.chat import chat

        return chat(qa)
    return answer_command(args, qa)


def answer_command(args: argparse.Namespace, qa: ReportQA) -> int:
    if args.command == "timeline":
        return timeline(args, qa)
    if args.command in ("ask", "topic") and args.batch:
        ask_one = qa.ask if args.command == "ask" else qa.topic
        for query in read_batch(args.batch):
            answer = ask_one(query, limit=args.limit, lang=args.lang)
            print(json.dumps(answer.to_json_dict(), ensure_ascii=False), flush=True)
        return 0
    if args.command == "ask":
        answer = qa.ask(_required(args.question, "a question"), limit=args.limit, lang=args.lang)
    elif args.command == "topic":
        answer = qa.topic(_required(args.term, "a term"), limit=args.limit, lang=args.lang)
    elif args.command == "latest":
        answer = qa.latest(limit=args.count or args.limit, lang=args.lang or "en")
    elif args.command == "date":
        answer = qa.on_date(args.expression, lang=args.lang, limit=args.limit)
    else:
        raise UserError(f"unknown command {args.command!r}")
    print_answer(answer, args.json)
    return 0


def timeline(args: argparse.Namespace, qa: ReportQA) -> int:
    """`timeline TERM`: the weekly counts (JSON with --json, else the peaks as text); the chart
    with --out FILE.png."""
    found = qa.timeline(_required(args.term, "a term"), lang=args.lang)
    if found.note == "empty_store":
        raise UserError("the store is empty: load reports with `reportbot ingest PATH` first")
    if args.out is not None:
        from bot.timeline_chart import render_timeline

        args.out.write_bytes(render_timeline(found))
    if args.json:
        print(json.dumps(found.to_json_dict(), ensure_ascii=False, indent=2))
    else:
        print(format_timeline(found))
        if args.out is not None:
            print(f"chart: {args.out}")
    return 0


def print_answer(answer: Answer, as_json: bool) -> None:
    if as_json:
        print(json.dumps(answer.to_json_dict(), ensure_ascii=False, indent=2))
    else:
        print(format_answer(answer))


def _required(value: str | None, what: str) -> str:
    if not value or not value.strip():
        raise UserError(f"give {what}, or --batch FILE")
    return value


def report_summary(summary: IngestSummary, verbose: bool = False, as_json: bool = False) -> int:
    """Print what an ingest did with every file it walked; 1 if anything failed.

    Failures (with their reasons) go to stderr; datasets get a line of record counts; skipped
    files are counted by extension in the last line and listed one by one with `verbose`."""
    status = 1 if summary.failed else 0
    if as_json:
        print(json.dumps(summary.report(), ensure_ascii=False, indent=2))
        return status
    for outcome in summary.failed:
        print(f"failed: {outcome.path}: {outcome.reason}", file=sys.stderr)
    if verbose:
        for outcome in summary.skipped_files:
            print(f"skipped: {outcome.path}: {outcome.reason}")
        for outcome in summary.outcomes:
            if outcome.report_date and outcome.status != "failed":
                print(
                    f"{outcome.status}: {outcome.path}: {outcome.report_date} "
                    f"(date from the {outcome.date_source})"
                )
    for dataset in summary.datasets:
        print(dataset.line(limit=None if verbose else 12))
    print(summary.line())
    return status


def _check_watch_args(args: argparse.Namespace, settings: Settings) -> None:
    """Refuse a useless `watch` before the embedding model is loaded."""
    if not (args.sources or settings.watch):
        raise UserError("nothing to watch: give SOURCE... or set REPORTBOT_WATCH")
    if args.interval is not None and args.interval <= 0:
        raise UserError("--interval must be more than 0 seconds")
    for spec in args.sources or settings.watch:
        try:
            check_source(spec)
        except ValueError as err:
            raise UserError(str(err)) from err


def watch(args: argparse.Namespace, settings: Settings, library: ReportLibrary) -> int:
    """`watch`: ingest what is new at the sources, every --interval seconds (or --once)."""
    sources = list(args.sources or settings.watch)
    interval = args.interval or settings.watch_interval
    try:
        watcher = make_watcher(settings, sources)
    except ValueError as err:
        raise UserError(str(err)) from err
    with watcher:
        if not args.once:
            print(f"watching {len(sources)} source(s) every {interval:g} s (Ctrl-C stops)")
        while True:
            found = library.watch_round(watcher, progress=not args.quiet)
            status = report_round(found, quiet=args.quiet)
            if args.once:
                return status
            time.sleep(interval)


def report_round(found: WatchRound, quiet: bool = False) -> int:
    """Print a watch round: one line per source, then what ingest did; 1 if anything failed."""
    stamp = time.strftime("%H:%M:%S")
    new = any(s.files for s in found.sources)
    for source in found.sources:
        if source.error or source.files or source.problems or not quiet:
            print(f"{stamp}  {source.line()}", file=sys.stderr if source.error else sys.stdout)
        for problem in source.problems:
            print(f"    {problem}", file=sys.stderr)
    for outcome in found.summary.failed:
        print(f"failed: {outcome.path}: {outcome.reason}", file=sys.stderr)
    if new or not quiet:
        print(f"{stamp}  {found.summary.line()}", flush=True)
    return 1 if found.errors or found.summary.failed else 0


def stats(args: argparse.Namespace, settings: Settings, library: ReportLibrary) -> int:
    data = library.stats().model_dump(mode="json")
    data["store"] = settings.chroma_url or str(settings.data_dir / "chroma")
    if args.json:
        print(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        for key, value in data.items():
            print(f"{key:>16}: {value}")
    return 0


def translate(args: argparse.Namespace, settings: Settings, library: ReportLibrary) -> int:
    """`translate`: machine-translate the stored takeaways that have no translation yet."""
    translator = library.translator
    if translator is None:
        raise UserError(
            "no translation model: set REPORTBOT_TRANSLATION_MODEL to a Hugging Face translation "
            "model (e.g. facebook/nllb-200-distilled-600M) or a local path"
        )
    targets = args.lang.split(",") if args.lang else settings.translate_to
    unknown = [lang for lang in targets if lang not in TARGETS]
    if unknown:
        raise UserError(f"cannot translate into {', '.join(unknown)}: choose from {TARGETS}")
    try:
        count = library.translate(targets, not args.quiet, args.redo)
    except TranslationMismatchError as err:
        raise UserError(str(err)) from err
    print(f"translated {count} takeaways into {', '.join(targets)} with {translator.name}")
    return 0


def say_waiting(message: str) -> None:
    """How a command tells that it waits for another ingest (store.write_lock)."""
    print(f"reportbot: {message}", file=sys.stderr, flush=True)


def reindex(library: ReportLibrary) -> int:
    """`reindex` (store/reindex.py), saying which files are gone and what was rebuilt."""
    done = library.reindex(on_wait=say_waiting)
    # The read side's saved indexes are rebuilt from the new store at the next start.
    forget_snapshots(library.location.data_dir)
    for path in done.missing:
        print(f"warning: {path} no longer exists; its report is dropped", file=sys.stderr)
    if not done.summary.outcomes:
        print("the store is now empty; add reports with `reportbot ingest PATH`")
        return 0
    return report_summary(done.summary)


def backup(args: argparse.Namespace, settings: Settings, library: ReportLibrary) -> int:
    """`export FILE`: a consistent copy of the store; `import FILE`: restore one."""
    from store.backup import BackupError

    try:
        if args.command == "export":
            info = library.export(args.file)
            size = args.file.stat().st_size
            print(
                f"exported {info.reports} reports ({info.chunks} chunks, model "
                f"{info.embedding_model}) to {args.file} ({size / 1e6:.1f} MB)"
            )
        else:
            info = library.restore(args.file, args.force)
            print(
                f"restored {info.reports} reports ({info.chunks} chunks, model "
                f"{info.embedding_model}, exported {info.created}) into {settings.data_dir}"
                f", with {', '.join(info.contents)}"
            )
            if info.kept:
                print(
                    "kept what the backup does not hold: " + ", ".join(info.kept),
                    file=sys.stderr,
                )
    except BackupError as err:
        raise UserError(str(err)) from err
    return 0


def run_eval(args: argparse.Namespace, qa: ReportQA, store: ReportStore, embedder: Embedder) -> int:
    from retrieval.evaluation import (
        DenseOnlyBaseline,
        Question,
        answer_with,
        dump,
        evaluate,
        format_table,
        load_questions,
    )

    questions = load_questions(args.file)
    baseline = DenseOnlyBaseline(store, embedder)

    def show_miss(system: str, question: Question, answer: Answer) -> None:
        if args.misses and system == "reportbot":
            got = ", ".join(r.report_date.isoformat() for r in answer.results) or "nothing"
            want = ", ".join(d.isoformat() for d in question.expect_dates)
            print(
                f"miss {question.id} [{question.group}/{question.kind}] {question.query!r}: "
                f"want {want}, got {got}"
            )

    scores = evaluate(
        questions,
        {"reportbot": lambda q: answer_with(qa, q), "baseline": baseline.answer},
        on_miss=show_miss,
    )
    print(format_table(scores))
    if args.json:
        dump(scores, args.json)
    return 0


def read_batch(name: str) -> Iterator[str]:
    """Queries from a batch file: plain lines, or JSON objects with a 'query' field."""
    handle: TextIO = sys.stdin if name == "-" else open(name, encoding="utf-8")  # noqa: SIM115
    with handle:
        for raw in handle:
            line = raw.strip()
            if not line:
                continue
            if line.startswith("{"):
                try:
                    yield str(json.loads(line)["query"])
                    continue
                except (json.JSONDecodeError, KeyError, TypeError):
                    pass
            yield line
