"""The bot under load: many chats asking at once, end to end through the real Application.

What runs (all on 127.0.0.1, nothing leaves the machine):
  bot process   the project's own bot.telegram_app.build_application (real handlers, its
                AIORateLimiter, concurrent_updates=16) over a real ReportQA (bot.wiring.build_qa),
                started as run_polling would start it (initialize, post_init, start,
                updater.start_polling(poll_interval=0, timeout=1)), as tests/test_bot_e2e.py does.
  server process  bot/fake_bot_api.py's FakeBotApi (aiohttp) plus the load driver, in a child
                process of its own (spawn), so the fake Telegram's JSON/HTML work and the driver
                do not share the bot's event loop and GIL (real Telegram is remote too).

Load: --chats private chats (default 50) for --seconds (default 60), closed loop: each chat sends
its next question as soon as the fake server received the answer to the previous one. Questions
are the `query` of every line of benchmarks/eval/questions.jsonl, shuffled with a fixed seed, each
chat starting at its own offset: `ask` lines as free text, `topic` as `/topic X`, `date` as
`/date X`, `latest` as `/latest`; language_code ko for Korean lines, en otherwise. Before the
timed window one extra chat asks a few warm-up questions (one per command kind), not counted.

Figures:
  answers/s        answers received inside the window / window length
  latency          push of the update -> the fake server received the chat's sendMessage
                   (p50/p95/p99/max; the first sendMessage per question)
  lost/duplicated  every sendMessage is attributed to the chat's question in flight at that time
                   (after the window a drain waits for outstanding answers, then a grace period
                   catches late duplicates): 0 answers = lost, >1 = duplicated
  errors           non-2xx answers of the fake server (none are injected here), records at ERROR
                   or above in the bot process (the error handler logs "Error while handling an
                   update" there), and replies that are the bot's error or rate-limit text
  breakdown        push -> update delivered by getUpdates (server side); ReportQA call times
                   (a timing proxy around qa, like the e2e tests' SwitchableQA); per Bot API
                   method, time queued in the bot's rate limiter before the HTTP request and the
                   HTTP round trip (a transparent wrapper around the bot's own rate limiter);
                   CPU used by each process during the window.

The bot's per-user question limit (Settings.rate_limit_per_minute, default 20/min) is switched
off (0): a closed-loop chat asks far more often than a person, and the limit would turn answers
into "you are asking too fast". Everything else stays as the product sets it: Telegram-side
limits (AIORateLimiter, 30 requests/s), the global question limit
(Settings.global_rate_limit_per_minute; its "busy" refusals are counted, and questions that get no
reply at all are lost). What-if runs, labelled as such in the JSON: --overall-max-rate N (the
AIORateLimiter's overall cap), --global-rate-limit N, --torch-threads N.

Store: --data-dir (an existing `reportbot --data-dir` store, opened read-only), else the slice of
../shared that tests/conftest.py uses (SLICE), ingested into --slice-dir (reused when it already
holds reports) or a temporary directory removed at the end.

Results: a table on stdout and benchmarks/results/bench_bot_load.json (one entry per --label;
default label: "default", "quick", or "what-if-overall-max-rate-N"). --quick = 10 chats x 10 s.
--profile FILE runs py-spy (if installed) on the bot process during the window.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import json
import logging
import multiprocessing as mp
import os
import platform
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import _common as common

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
SHARED = REPO.parent / "shared"
QUESTIONS = BENCH_DIR / "eval" / "questions.jsonl"
RESULT_FILE = BENCH_DIR / "results" / "bench_bot_load.json"
if str(REPO) not in sys.path:  # `python benchmarks/bench_bot_load.py` from anywhere
    sys.path.insert(0, str(REPO))

from bot.fake_bot_api import FakeBotApi  # noqa: E402  (aiohttp only; no model imports)

TOKEN = "123456789:AAE-fake_token-for-the-load-bench-0123456789"
BOT_NAME = "isw_report_bot"
FIRST_CHAT = 200_001
WARM_CHAT = 199_999
SLICE = [
    SHARED / "seed" / "000_859c8f8a3315b5de.txt",
    SHARED / "corpus" / "markdown" / "2025-12-17_ua-benchmark-crawl.md",
    SHARED / "corpus" / "markdown" / "2026-02-02_criticalthreats-crawl.md",
    SHARED / "corpus" / "isw-html" / "2022-03-16_kma-alarm-ml.html",
    SHARED / "corpus" / "isw-html" / "2022-04-14_kma-alarm-ml.html",
    SHARED / "corpus" / "isw-html" / "2022-10-08_kma-alarm-ml.html",
    SHARED / "corpus" / "isw-html" / "2022-10-09_kma-alarm-ml.html",
]
TARGET_RATE = 40.0
TARGET_P95_MS = 300.0


# ---- small helpers ------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """Linear-interpolated percentile (q in 0..100), like numpy's default."""
    if not values:
        return float("nan")
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def dist_ms(seconds: list[float]) -> dict[str, Any]:
    ms = [s * 1000.0 for s in seconds]
    if not ms:
        return {"n": 0}
    return {
        "n": len(ms),
        "p50_ms": round(percentile(ms, 50), 1),
        "p95_ms": round(percentile(ms, 95), 1),
        "p99_ms": round(percentile(ms, 99), 1),
        "mean_ms": round(statistics.fmean(ms), 1),
        "max_ms": round(max(ms), 1),
    }


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def machine() -> dict[str, Any]:
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "loadavg_1_5_15": [round(x, 2) for x in os.getloadavg()],
        "time": time.strftime("%Y-%m-%d %H:%M:%S"),
    }


def uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def load_questions(path: Path) -> list[dict[str, str]]:
    """Each line of the eval set as the bot would receive it."""
    out = []
    for line in path.read_text("utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        query, kind = row["query"].strip(), row.get("kind", "ask")
        if kind == "topic":
            text = f"/topic {query}"
        elif kind == "date":
            text = f"/date {query}"
        elif kind == "latest":
            text = "/latest"
        else:
            text = query
        lang = "ko" if row.get("lang") == "ko" else "en"
        out.append({"id": row["id"], "kind": kind, "lang": lang, "text": text})
    return out


def warmup_questions(questions: list[dict[str, str]]) -> list[dict[str, str]]:
    """One question of each kind and language."""
    seen: dict[tuple[str, str], dict[str, str]] = {}
    for q in questions:
        seen.setdefault((q["kind"], q["lang"]), q)
    return list(seen.values())


# ---- the server process: fake Bot API + load driver ---------------------------------------------


class LoadApi(FakeBotApi):
    """FakeBotApi that wakes the chat waiting for an answer on each sendMessage (O(1), instead of
    wait_for's scan of every call) and notes when getUpdates first handed out each update."""

    def __init__(self, token: str, username: str) -> None:
        super().__init__(token, username=username)
        self.waiting: dict[int, asyncio.Future[float]] = {}
        self.sends: dict[int, list[tuple[float, str]]] = defaultdict(list)
        self.delivered: dict[int, float] = {}
        self.last_update_id = 0

    def push_update(self, payload: dict) -> dict:
        update = super().push_update(payload)
        self.last_update_id = update["update_id"]
        return update

    async def _m_getupdates(self, params: dict) -> Any:
        result = await super()._m_getupdates(params)
        now = time.monotonic()
        for update in result:
            self.delivered.setdefault(update["update_id"], now)
        return result

    def _record(self, call: Any) -> None:
        super()._record(call)
        if call.method != "sendMessage" or not call.ok:
            return
        try:
            chat = int(call.params.get("chat_id"))
        except (TypeError, ValueError):
            return
        self.sends[chat].append((call.at, str(call.params.get("text") or "")))
        future = self.waiting.pop(chat, None)
        if future is not None and not future.done():
            future.set_result(call.at)


async def _recv(conn: Any, timeout: float) -> Any:
    """The next message on the pipe, without blocking the event loop; TimeoutError after
    `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("no message from the other process")
        if await asyncio.to_thread(conn.poll, min(left, 1.0)):
            return conn.recv()


async def _ask(api: LoadApi, chat: int, q: dict[str, str], timeout: float) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    future: asyncio.Future[float] = loop.create_future()
    api.waiting[chat] = future
    t_push = time.monotonic()
    api.push_text(chat, q["text"], language_code=q["lang"])
    rec: dict[str, Any] = {
        "chat": chat,
        "id": q["id"],
        "kind": q["kind"],
        "lang": q["lang"],
        "update_id": api.last_update_id,
        "t_push": t_push,
        "t_first": None,
    }
    try:
        rec["t_first"] = await asyncio.wait_for(future, timeout)
    except TimeoutError:
        api.waiting.pop(chat, None)
    return rec


async def drive(api: LoadApi, plan: dict[str, Any], conn: Any) -> dict[str, Any]:
    questions: list[dict[str, str]] = plan["questions"]
    timeout = plan["answer_timeout"]
    warm = []
    for q in plan["warmup"]:
        rec = await _ask(api, WARM_CHAT, q, timeout)
        warm.append(None if rec["t_first"] is None else rec["t_first"] - rec["t_push"])
    await asyncio.sleep(0.5)  # stragglers of the warm-up (typing indicators)
    first_call = len(api.calls)
    conn.send(("measuring", None))
    kind, _ = await _recv(conn, 60.0)  # the bot has switched its instruments on
    assert kind == "ack", kind
    cpu0 = cpu_seconds()

    records: list[dict[str, Any]] = []
    t_start = time.monotonic()
    deadline = t_start + plan["seconds"]
    stride = max(1, len(questions) // max(1, plan["chats"]))

    # --rate R: the chats together offer about R questions a second (each chat waits for its
    # answer, then until its next slot), like people reading the answer before asking again.
    rate = plan.get("rate")
    interval = plan["chats"] / rate if rate else 0.0

    async def chat_loop(index: int) -> None:
        chat = FIRST_CHAT + index
        k = index * stride
        next_at = t_start + (interval * index / max(1, plan["chats"]))
        while time.monotonic() < deadline:
            if interval:
                await asyncio.sleep(max(0.0, next_at - time.monotonic()))
                next_at += interval
                if time.monotonic() >= deadline:
                    break
            q = questions[k % len(questions)]
            k += 1
            rec = await _ask(api, chat, q, timeout)
            records.append(rec)
            if rec["t_first"] is None:
                break  # no answer within the timeout: this chat stops (counted as lost)

    await asyncio.gather(*(chat_loop(i) for i in range(plan["chats"])))
    t_drained = time.monotonic()
    cpu_window = cpu_seconds() - cpu0
    await asyncio.sleep(plan["grace"])  # late duplicates

    # Attribute every sendMessage to the question the chat had in flight when it arrived.
    by_chat: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for rec in records:
        by_chat[rec["chat"]].append(rec)
    unattributed = 0
    bad_texts: Counter[str] = Counter()
    error_texts = set(plan["error_texts"])
    refusals = {kind: tuple(prefixes) for kind, prefixes in plan["refusal_prefixes"].items()}
    for chat, recs in by_chat.items():
        recs.sort(key=lambda r: r["t_push"])
        pushes = [r["t_push"] for r in recs]
        for rec in recs:
            rec["answers"] = 0
        for at, text in api.sends.get(chat, []):
            i = bisect.bisect_right(pushes, at) - 1
            if i < 0:
                unattributed += 1
                continue
            kind = "answer"
            if text in error_texts:
                kind = "error"
            else:
                for name, prefixes in refusals.items():
                    if text.startswith(prefixes):
                        kind = name
                        break
            recs[i]["answers"] += 1
            recs[i].setdefault("replies", []).append(kind)
            if kind != "answer":
                bad_texts[kind] += 1
    window_calls = api.calls[first_call:]
    non_2xx = Counter(f"{c.method} {c.status}" for c in window_calls if c.status != 200)
    methods = Counter(c.method for c in window_calls)
    for rec in records:
        delivered = api.delivered.get(rec["update_id"])
        rec["t_delivered"] = delivered
    return {
        "t_start": t_start,
        "deadline": deadline,
        "t_drained": t_drained,
        "records": records,
        "warmup_s": warm,
        "unattributed_sends": unattributed,
        "bad_texts": dict(bad_texts),
        "non_2xx": dict(non_2xx),
        "injected_faults": {f"{m} {k}": n for (m, k), n in getattr(api, "injected", {}).items()},
        "calls_by_method": dict(methods),
        "server_cpu_s": round(cpu_window, 2),
    }


async def _server_main(conn: Any, setup_timeout: float) -> None:
    api = LoadApi(TOKEN, BOT_NAME)
    await api.start()
    try:
        conn.send(("port", api.port))
        kind, plan = await _recv(conn, setup_timeout)
        if kind != "go":
            return
        result = await drive(api, plan, conn)
        conn.send(("result", result))
        await _recv(conn, 120.0)  # "stop", once the bot has shut down (it polls us until then)
    except (TimeoutError, EOFError, BrokenPipeError):
        pass
    finally:
        await api.stop()


def server_main(conn: Any, setup_timeout: float) -> None:
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(_server_main(conn, setup_timeout))


# ---- the bot process ----------------------------------------------------------------------------


class TimedQA:
    """The real ReportQA; each question call's wall time is noted (it runs in a worker thread)."""

    TIMED = ("ask", "topic", "latest", "on_date", "stats")

    def __init__(self, real: Any) -> None:
        self.real = real
        self.samples: list[tuple[str, float, float]] = []
        self.on = False

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.__dict__["real"], name)
        if name not in self.TIMED:
            return attr

        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.monotonic()
            try:
                return attr(*args, **kwargs)
            finally:
                if self.on:
                    self.samples.append((name, t0, time.monotonic()))

        return timed


def make_timed_limiter(inner: Any) -> Any:
    from telegram.ext import BaseRateLimiter

    class TimedLimiter(BaseRateLimiter):
        """Delegates to the bot's own rate limiter; notes per request the time queued before the
        first HTTP attempt and the HTTP time (all attempts)."""

        def __init__(self) -> None:
            self.inner = inner
            self.samples: dict[str, list[tuple[float, float]]] = defaultdict(list)
            self.failures: Counter[str] = Counter()
            self.inflight: dict[int, tuple[str, float]] = {}
            self.on = False

        async def initialize(self) -> None:
            await self.inner.initialize()

        async def shutdown(self) -> None:
            await self.inner.shutdown()

        async def process_request(self, callback, args, kwargs, endpoint, data, rate_limit_args):  # type: ignore[no-untyped-def]
            t0 = time.monotonic()
            marks: dict[str, float] = {"http": 0.0}

            async def timed_callback(*a: Any, **kw: Any) -> Any:
                t1 = time.monotonic()
                marks.setdefault("start", t1)
                try:
                    return await callback(*a, **kw)
                finally:
                    marks["http"] += time.monotonic() - t1

            key = id(marks)
            self.inflight[key] = (endpoint, t0)
            try:
                return await self.inner.process_request(
                    timed_callback, args, kwargs, endpoint, data, rate_limit_args
                )
            except BaseException as err:
                if self.on:
                    self.failures[f"{endpoint}: {type(err).__name__}: {err}"[:200]] += 1
                raise
            finally:
                self.inflight.pop(key, None)
                if self.on:
                    queued = marks.get("start", time.monotonic()) - t0
                    self.samples[endpoint].append((queued, marks["http"]))

    return TimedLimiter()


class Capture(logging.Handler):
    """Every WARNING+ record of the bot process, and bot.handlers' DEBUG "typing indicator
    failed" lines (a failed sendChatAction is otherwise silent)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.typing_failures: list[str] = []
        self.on = False

    def emit(self, record: logging.LogRecord) -> None:
        if not self.on:
            return
        if record.levelno >= logging.WARNING:
            self.records.append(record)
        elif record.name == "bot.handlers" and "typing" in str(record.msg):
            self.typing_failures.append(record.getMessage()[:200])


def build_store(args: argparse.Namespace) -> tuple[Any, Any, Any, dict[str, Any], Path | None]:
    """(settings, store, embedder, info, temp dir to remove)."""
    from bot.settings import Settings
    from bot.wiring import load_embedder, open_store

    cleanup: Path | None = None
    if args.data_dir:
        data_dir = Path(args.data_dir)
        source = f"--data-dir {data_dir}"
    elif args.slice_dir:
        data_dir = Path(args.slice_dir)
        source = f"slice of ../shared (tests/conftest.py SLICE) in {data_dir}"
    else:
        data_dir = Path(tempfile.mkdtemp(prefix="bench_bot_load_"))
        cleanup = data_dir
        source = "slice of ../shared (tests/conftest.py SLICE) in a temp dir"
    settings = Settings(_env_file=None, data_dir=data_dir)
    t0 = time.monotonic()
    embedder = load_embedder(settings)
    store = open_store(settings)
    built = 0.0
    if not args.data_dir and not store.reports():
        from store.ingest import ingest

        t1 = time.monotonic()
        summary = ingest(SLICE, store, embedder, progress=False)
        if summary.failed:
            raise SystemExit(f"slice ingest failed: {summary.failed}")
        built = time.monotonic() - t1
    info = {
        "source": source,
        "data_dir": str(data_dir),
        "reports": len(store.reports()),
        "ingest_s": round(built, 1),
        "setup_s": round(time.monotonic() - t0, 1),
    }
    return settings, store, embedder, info, cleanup


REFUSALS = ("rate_limited", "busy")  # the bot's "wait N seconds" replies (bot/i18n.py)


def reply_texts() -> tuple[list[str], dict[str, list[str]]]:
    """The bot's error reply in every language, and the start of each refusal."""
    from bot.i18n import LABELS
    from bot.telegram_format import escape

    errors = [escape(labels["error"]) for labels in LABELS.values() if "error" in labels]
    refusals = {
        kind: [
            escape(labels[kind].split("{seconds}")[0])
            for labels in LABELS.values()
            if kind in labels
        ]
        for kind in REFUSALS
    }
    return errors, {k: v for k, v in refusals.items() if v}


def start_profiler(path: str | None, seconds: float) -> subprocess.Popen | None:
    if not path:
        return None
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists():
        print("py-spy not found; no profile", file=sys.stderr)
        return None
    fmt = (
        "speedscope" if path.endswith(".json") else "raw" if path.endswith(".txt") else "flamegraph"
    )
    cmd = [
        spy,
        "record",
        "--pid",
        str(os.getpid()),
        "--duration",
        str(int(seconds)),
        "--rate",
        "50",
        "--threads",
        "--idle",
        "--format",
        fmt,
        "--output",
        path,
        "--nonblocking",
    ]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def task_stacks() -> dict[str, int]:
    """The bot's asyncio tasks once the driver is done, grouped by where each is suspended
    (to tell a stalled handler from an idle bot)."""
    out: Counter[str] = Counter()
    for task in asyncio.all_tasks():
        frames = task.get_stack(limit=30)
        where = " > ".join(f"{f.f_code.co_name}:{f.f_lineno}" for f in frames[-6:])
        coro = getattr(task.get_coro(), "__qualname__", "?")
        out[f"{coro} @ {where}"] += 1
    return dict(out.most_common(20))


async def run_bot(
    args: argparse.Namespace, settings: Any, qa: Any, conn: Any, plan: dict[str, Any]
) -> dict[str, Any]:
    from pydantic import SecretStr

    from bot.telegram_app import ALLOWED_UPDATES, build_application

    _, port = await _recv(conn, 60.0)
    update: dict[str, Any] = {
        "telegram_bot_token": SecretStr(TOKEN),
        "telegram_api_base_url": f"http://127.0.0.1:{port}/bot",
        "rate_limit_per_minute": 0,
    }
    if args.global_rate_limit is not None:  # what-if
        update["global_rate_limit_per_minute"] = args.global_rate_limit
    if args.overall_max_rate is not None:  # what-if: Telegram's cap does not bind a local server
        update["telegram_messages_per_second"] = args.overall_max_rate
    bot_settings = settings.model_copy(update=update)
    shipped = type(settings)(_env_file=None)
    bot_limits = {
        "rate_limit_per_minute (per user)": f"0 = off (product default "
        f"{shipped.rate_limit_per_minute}; closed-loop chats are not people)",
        "global_rate_limit_per_minute": (
            f"{getattr(bot_settings, 'global_rate_limit_per_minute', 'n/a')}"
            + (
                ""
                if args.global_rate_limit is None
                else f" (what-if; product default {getattr(shipped, 'global_rate_limit_per_minute', 'n/a')})"
            )
        ),
    }
    timed_qa = TimedQA(qa)
    application = build_application(bot_settings, timed_qa)
    limiter = make_timed_limiter(application.bot._rate_limiter)
    application.bot._rate_limiter = limiter
    capture = Capture()
    logging.getLogger().addHandler(capture)
    logging.getLogger("bot.handlers").setLevel(logging.DEBUG)  # only its typing-failure line

    await application.initialize()
    await application.post_init(application)
    await application.start()
    await application.updater.start_polling(
        poll_interval=0, timeout=1, allowed_updates=ALLOWED_UPDATES
    )
    profiler = None
    try:
        conn.send(("go", plan))
        kind, _ = await _recv(conn, 300.0)  # the warm-up is done
        assert kind == "measuring", kind
        capture.on = limiter.on = timed_qa.on = True
        conn.send(("ack", None))
        load_before = os.getloadavg()
        cpu0, t0 = cpu_seconds(), time.monotonic()
        profiler = start_profiler(args.profile, plan["seconds"])
        kind, result = await _recv(conn, plan["seconds"] + plan["answer_timeout"] + 120.0)
        assert kind == "result", kind
        bot_cpu = cpu_seconds() - cpu0
        tasks = task_stacks()
        now = time.monotonic()
        inflight = Counter(
            f"{endpoint} (> {int(now - t)} s)" for endpoint, t in limiter.inflight.values()
        )
        bot_wall = time.monotonic() - t0
        capture.on = limiter.on = timed_qa.on = False
    finally:
        t_stop = time.monotonic()
        await application.updater.stop()
        await application.stop()
        await application.shutdown()
        stop_s = time.monotonic() - t_stop
        logging.getLogger().removeHandler(capture)
        try:
            conn.send(("stop", None))
        except (BrokenPipeError, OSError):
            pass
        if profiler is not None:
            try:
                _, err = profiler.communicate(timeout=30)
                if profiler.returncode:
                    print(f"py-spy: {err.decode(errors='replace')[-500:]}", file=sys.stderr)
            except subprocess.TimeoutExpired:
                profiler.kill()
                profiler.communicate(timeout=5)
    result.update(
        {
            "bot_cpu_s": round(bot_cpu, 2),
            "bot_wall_s": round(bot_wall, 2),
            # The bot process alone (the fake server and the driver run in a child process).
            "bot_peak_rss_mib": common.peak_rss_mib(),
            "stop_s": round(stop_s, 2),
            "load_at_start": [round(x, 2) for x in load_before],
            "qa_samples": timed_qa.samples,
            "limiter": {k: v for k, v in limiter.samples.items()},
            "request_failures": dict(limiter.failures),
            "inflight_at_end": dict(inflight),
            "bot_tasks_at_end": tasks,
            "typing_failures": Counter(capture.typing_failures),
            "log_records": [
                {
                    "level": r.levelname,
                    "logger": r.name,
                    "message": r.getMessage()[:300],
                    "exc": (
                        f"{r.exc_info[0].__name__}: {r.exc_info[1]}"[:300]
                        if r.exc_info and r.exc_info[0]
                        else None
                    ),
                }
                for r in capture.records
            ],
            "bot_limits": bot_limits,
            "rate_limiter": (
                f"product AIORateLimiter: overall {bot_settings.telegram_messages_per_second:g} "
                f"req/s (Settings.telegram_messages_per_second); typing indicator after "
                f"{bot_settings.typing_delay:g} s"
                + ("" if args.overall_max_rate is None else " (what-if)")
            ),
        }
    )
    return result


def summarize(res: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    records = res["records"]
    window = res["deadline"] - res["t_start"]
    replied = [r for r in records if r["t_first"] is not None]
    # A real answer: the first reply is neither the error text nor a "wait N seconds" refusal.
    answered = [r for r in replied if (r.get("replies") or ["answer"])[0] == "answer"]
    in_window = [r for r in answered if r["t_first"] <= res["deadline"]]
    refused = [r for r in replied if (r.get("replies") or ["answer"])[0] in REFUSALS]
    latencies = [r["t_first"] - r["t_push"] for r in replied]
    answer_latencies = [r["t_first"] - r["t_push"] for r in answered]
    delivery = [r["t_delivered"] - r["t_push"] for r in records if r.get("t_delivered")]
    after_delivery = [r["t_first"] - r["t_delivered"] for r in replied if r.get("t_delivered")]
    lost = [r for r in records if r.get("answers", 0) == 0]
    previous: dict[int, str | None] = {}  # the reply to the same chat's question before a lost one
    chats: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for r in sorted(records, key=lambda r: r["t_push"]):
        chats[r["chat"]].append(r)
    for recs in chats.values():
        for before, r in zip(recs, recs[1:], strict=False):
            previous[id(r)] = (before.get("replies") or [None])[0]
    dups = sum(max(0, r.get("answers", 0) - 1) for r in records) + res["unattributed_sends"]
    error_logs = [x for x in res["log_records"] if x["level"] in ("ERROR", "CRITICAL")]
    warnings = [x for x in res["log_records"] if x["level"] == "WARNING"]
    bad = res["bad_texts"].get("error", 0)
    non_2xx = sum(res["non_2xx"].values())
    by_kind: dict[str, list[float]] = defaultdict(list)
    for r in answered:
        by_kind[r["kind"]].append(r["t_first"] - r["t_push"])
    qa_by: dict[str, list[float]] = defaultdict(list)
    qa_busy = 0.0
    for name, t0, t1 in res["qa_samples"]:
        qa_by[name].append(t1 - t0)
        qa_busy += t1 - t0
    limiter = {
        endpoint: {
            "queued": dist_ms([q for q, _ in samples]),
            "http": dist_ms([h for _, h in samples]),
        }
        for endpoint, samples in sorted(res["limiter"].items())
        if endpoint != "getUpdates"
    }
    rate = len(in_window) / window if window > 0 else 0.0
    times = sorted([res["t_start"]] + [r["t_first"] for r in replied])
    gap_end = res["t_drained"] if lost else (times[-1] if times else res["t_start"])
    gaps = [b - a for a, b in zip(times, times[1:] + [gap_end], strict=True)]
    longest = max(range(len(gaps)), key=gaps.__getitem__) if gaps else 0
    lat = dist_ms(latencies)
    errors = non_2xx + len(error_logs) + bad
    verdict = {
        "answers_per_s_ok": rate >= TARGET_RATE,
        "p95_ok": bool(latencies) and lat["p95_ms"] <= TARGET_P95_MS,
        "errors_ok": errors == 0,
        "none_lost_or_duplicated": not lost and dups == 0,
        "none_refused": not refused,
    }
    return {
        "chats": args.chats,
        "seconds": args.seconds,
        "offered_rate": args.rate,
        "questions_sent": len(records),
        "answers_in_window": len(in_window),
        "answers_total": len(answered),
        "replies_total": len(replied),
        "refused": len(refused),
        "answers_per_s": round(rate, 2),
        "drain_s": round(res["t_drained"] - res["deadline"], 2),
        "longest_gap_without_answers_s": round(gaps[longest], 2) if gaps else None,
        "longest_gap_starts_at_s": round(times[longest] - res["t_start"], 2) if gaps else None,
        "latency": lat,
        "latency_answers_only": dist_ms(answer_latencies),
        "latency_by_kind": {k: dist_ms(v) for k, v in sorted(by_kind.items())},
        "lost": len(lost),
        "lost_examples": [
            {"id": r["id"], "chat": r["chat"], "previous_reply": previous.get(id(r))}
            for r in lost[:10]
        ],
        "duplicated": dups,
        "errors": errors,
        "non_2xx": res["non_2xx"],
        "error_log_records": error_logs[:20],
        "error_log_count": len(error_logs),
        "warning_log_count": len(warnings),
        "warning_examples": warnings[:10],
        "error_or_refusal_replies": res["bad_texts"],
        "injected_faults": res.get("injected_faults", {}),
        "bot_request_failures": res["request_failures"],
        "typing_indicator_failures": dict(res["typing_failures"]),
        "bot_requests_in_flight_at_end": res["inflight_at_end"],
        "bot_tasks_at_end": res["bot_tasks_at_end"],
        "breakdown": {
            "push_to_delivered": dist_ms(delivery),
            "delivered_to_answer": dist_ms(after_delivery),
            "qa": {k: dist_ms(v) for k, v in sorted(qa_by.items())},
            "qa_mean_concurrency": round(qa_busy / res["bot_wall_s"], 2)
            if res["bot_wall_s"]
            else None,
            "rate_limiter_by_method": limiter,
            "bot_cpu_cores": round(res["bot_cpu_s"] / res["bot_wall_s"], 2)
            if res["bot_wall_s"]
            else None,
            "bot_cpu_ms_per_reply": round(1000 * res["bot_cpu_s"] / len(replied), 1)
            if replied
            else None,
            "server_cpu_cores": round(res["server_cpu_s"] / (res["t_drained"] - res["t_start"]), 2),
            "calls_by_method": res["calls_by_method"],
        },
        "warmup_s": [None if w is None else round(w, 3) for w in res["warmup_s"]],
        "stop_s": res["stop_s"],
        "rate_limiter": res["rate_limiter"],
        "bot_limits": res["bot_limits"],
        "load_at_start": res["load_at_start"],
        "bot_peak_rss_mib": res["bot_peak_rss_mib"],
        "targets": {
            "answers_per_s": f">= {TARGET_RATE}",
            "p95_ms": f"<= {TARGET_P95_MS}",
            "errors": 0,
            "lost": 0,
            "duplicated": 0,
        },
        "verdict": verdict,
    }


def print_report(label: str, s: dict[str, Any], info: dict[str, Any], m: dict[str, Any]) -> None:
    lat = s["latency"]
    v = s["verdict"]

    def ok(flag: bool) -> str:
        return "ok" if flag else "MISSED"

    rows = [
        ("chats x seconds", f"{s['chats']} x {s['seconds']}", ""),
        ("offered questions/s", s.get("offered_rate") or "closed loop", ""),
        ("questions sent", s["questions_sent"], ""),
        ("answers/s", s["answers_per_s"], f">= {TARGET_RATE:g}  {ok(v['answers_per_s_ok'])}"),
        ("latency p50 ms", lat.get("p50_ms"), ""),
        ("latency p95 ms", lat.get("p95_ms"), f"<= {TARGET_P95_MS:g}  {ok(v['p95_ok'])}"),
        ("latency p99 ms", lat.get("p99_ms"), ""),
        ("latency max ms", lat.get("max_ms"), ""),
        ("  answers only p95 ms", s["latency_answers_only"].get("p95_ms"), ""),
        ("errors", s["errors"], f"0  {ok(v['errors_ok'])}"),
        ("  non-2xx", sum(s["non_2xx"].values()), ""),
        ("  ERROR log records", s["error_log_count"], ""),
        ("  error replies", s["error_or_refusal_replies"].get("error", 0), ""),
        ("lost", s["lost"], f"0  {ok(s['lost'] == 0)}"),
        ("duplicated", s["duplicated"], f"0  {ok(s['duplicated'] == 0)}"),
        ("refused (busy/limit)", s["refused"], f"0  {ok(s['refused'] == 0)}"),
        (
            "longest gap, no answer s",
            s["longest_gap_without_answers_s"],
            f"at +{s['longest_gap_starts_at_s']} s",
        ),
        ("drain after window s", s["drain_s"], ""),
        ("warnings logged", s["warning_log_count"], ""),
        ("bot request failures", sum(s["bot_request_failures"].values()), ""),
        ("typing failures", sum(s["typing_indicator_failures"].values()), ""),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"\n== bench_bot_load [{label}] ==")
    print(f"store: {info['source']}: {info['reports']} reports; embedding {info.get('embedding')}")
    print(f"rate limiter: {s['rate_limiter']}")
    print(f"bot limits: {s['bot_limits']}")
    for name, value, target in rows:
        print(f"{name.ljust(width)}  {str(value).rjust(10)}  {target}")
    for what in (
        "bot_request_failures",
        "typing_indicator_failures",
        "bot_requests_in_flight_at_end",
        "non_2xx",
    ):
        for text, n in list(s[what].items())[:5]:
            print(f"  {what}: {n} x {text}")
    if s["lost"]:
        for text, n in s["bot_tasks_at_end"].items():
            print(f"  bot task at end: {n} x {text}")
    b = s["breakdown"]
    print("\nwhere the time goes (ms: p50 / p95):")

    def pp(d: dict[str, Any]) -> str:
        return f"{d.get('p50_ms', '-')} / {d.get('p95_ms', '-')}  (n={d.get('n', 0)})"

    print(f"  push -> update delivered by getUpdates   {pp(b['push_to_delivered'])}")
    print(f"  delivered -> sendMessage received       {pp(b['delivered_to_answer'])}")
    for name, d in b["qa"].items():
        print(f"  qa.{name:<10} (worker thread)            {pp(d)}")
    print(f"  qa mean concurrency {b['qa_mean_concurrency']}")
    for endpoint, d in b["rate_limiter_by_method"].items():
        print(f"  {endpoint:<15} queued in rate limiter   {pp(d['queued'])}")
        print(f"  {endpoint:<15} HTTP round trip          {pp(d['http'])}")
    print(f"  bot process peak RSS (ru_maxrss): {s['bot_peak_rss_mib']} MiB")
    print(
        f"  CPU: bot process {b['bot_cpu_cores']} cores ({b['bot_cpu_ms_per_reply']} ms per "
        f"reply), fake server+driver "
        f"{b['server_cpu_cores']} cores"
    )
    print(
        "  by kind (p50 / p95 ms): "
        + ", ".join(
            f"{k} {d.get('p50_ms')}/{d.get('p95_ms')}" for k, d in s["latency_by_kind"].items()
        )
    )
    print(
        f"\nmachine: {m['cores']} cores, {m['cpu']}, python {m['python']}; "
        f"load {s['load_at_start']} at start, {m['loadavg_1_5_15']} at end ({m['time']})"
    )


def fingerprint() -> dict[str, str]:
    """Hash and mtime of the product files this run exercised (they change while others work)."""
    import hashlib

    out = {}
    for rel in (
        "bot/handlers.py",
        "bot/answering.py",
        "bot/sending.py",
        "bot/gates.py",
        "bot/telegram_app.py",
        "bot/settings.py",
        "retrieval/service.py",
        "bot/fake_bot_api.py",
    ):
        path = REPO / rel
        if path.exists():
            digest = hashlib.sha1(path.read_bytes()).hexdigest()[:12]
            mtime = time.strftime("%H:%M:%S", time.localtime(path.stat().st_mtime))
            out[rel] = f"{digest} (modified {mtime})"
    return out


def write_json(label: str, entry: dict[str, Any]) -> None:
    RESULT_FILE.parent.mkdir(parents=True, exist_ok=True)
    data: dict[str, Any] = {}
    if RESULT_FILE.exists():
        try:
            data = json.loads(RESULT_FILE.read_text("utf-8"))
        except (OSError, ValueError):
            data = {}
    data.setdefault("benchmark", "bench_bot_load")
    data.setdefault("runs", {})[label] = entry
    RESULT_FILE.write_text(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--chats", type=int, default=None, help="concurrent chats (default 50)")
    p.add_argument("--seconds", type=float, default=None, help="window length (default 60)")
    p.add_argument("--quick", action="store_true", help="smoke run: 10 chats x 10 s")
    p.add_argument("--data-dir", help="an existing store (else the SLICE of ../shared)")
    p.add_argument("--slice-dir", help="build/reuse the SLICE store here (default: temp dir)")
    p.add_argument(
        "--answer-timeout",
        type=float,
        default=30.0,
        help="a question without an answer after this long is lost (default 30)",
    )
    p.add_argument("--grace", type=float, default=2.0, help="wait for late duplicates (s)")
    p.add_argument(
        "--rate",
        type=float,
        default=None,
        help="offered load: the chats together ask about this many questions a second, each "
        "chat waiting for its answer and then for its next slot (default: closed loop, each "
        "chat asks again the moment it has its answer)",
    )
    p.add_argument("--seed", type=int, default=7)
    p.add_argument(
        "--overall-max-rate",
        type=float,
        default=None,
        help="what-if: Settings.telegram_messages_per_second for this run (0 = no overall "
        "limit); the product keeps Telegram's 30/s",
    )
    p.add_argument(
        "--global-rate-limit",
        type=int,
        default=None,
        help="what-if: Settings.global_rate_limit_per_minute for this run (0 = off); "
        "default: the product's setting",
    )
    p.add_argument(
        "--torch-threads",
        type=int,
        default=None,
        help="what-if: torch.set_num_threads(N) in the bot process (default: torch's own, "
        "one per core)",
    )
    p.add_argument(
        "--profile",
        help="py-spy output for the bot process during the window "
        "(.svg flamegraph, .txt raw, .json speedscope)",
    )
    p.add_argument("--label", help="key of this run in the JSON (default by mode)")
    p.add_argument("--no-json", action="store_true")
    args = p.parse_args(argv)
    if args.chats is None:
        args.chats = 10 if args.quick else 50
    if args.seconds is None:
        args.seconds = 10.0 if args.quick else 60.0
    if not (1 <= args.chats <= 1000 and 1 <= args.seconds <= 1800):
        p.error("--chats must be 1..1000 and --seconds 1..1800")
    if args.label is None:
        args.label = "quick" if args.quick else "default"
        if args.overall_max_rate is not None:
            args.label += f"-what-if-overall-max-rate-{args.overall_max_rate:g}"
        if args.global_rate_limit is not None:
            args.label += f"-what-if-global-limit-{args.global_rate_limit}"
        if args.torch_threads is not None:
            args.label += f"-what-if-torch-threads-{args.torch_threads}"
        if args.rate:
            args.label += f"-rate-{args.rate:g}"
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    for name in ("chromadb", "sentence_transformers", "transformers", "httpx"):
        logging.getLogger(name).setLevel(logging.ERROR)
    print(f"uptime at start: {uptime()}", flush=True)
    code = fingerprint()  # before the imports: what this run executes

    from bot.wiring import build_qa

    questions = load_questions(QUESTIONS)
    random.Random(args.seed).shuffle(questions)
    settings, store, embedder, info, cleanup = build_store(args)
    # torch only for the what-if: the ONNX backend never loads it, and importing it here would
    # add ~300 MB to the bot process's measured memory.
    if args.torch_threads is not None:
        import torch

        torch.set_num_threads(args.torch_threads)
        info["torch_threads"] = torch.get_num_threads()
    info["embedding"] = (
        f"{settings.embedding_backend}, threads {settings.embedding_threads or 'auto'}"
    )
    try:
        t0 = time.monotonic()
        qa = build_qa(settings, store, embedder)
        info["build_qa_s"] = round(time.monotonic() - t0, 1)
        print(f"store ready: {info}", flush=True)
        errors, refusals = reply_texts()
        plan = {
            "questions": questions,
            "warmup": warmup_questions(questions),
            "chats": args.chats,
            "seconds": args.seconds,
            "answer_timeout": args.answer_timeout,
            "grace": args.grace,
            "rate": args.rate,
            "error_texts": errors,
            "refusal_prefixes": refusals,
        }
        ctx = mp.get_context("spawn")
        parent_conn, child_conn = ctx.Pipe()
        server = ctx.Process(target=server_main, args=(child_conn, 600.0), daemon=True)
        server.start()
        try:
            res = asyncio.run(run_bot(args, settings, qa, parent_conn, plan))
        finally:
            server.join(timeout=30)
            if server.is_alive():
                server.terminate()
                server.join(timeout=10)
    finally:
        if cleanup is not None:
            shutil.rmtree(cleanup, ignore_errors=True)

    summary = summarize(res, args)
    m = machine()
    print_report(args.label, summary, info, m)
    print(f"uptime at end: {uptime()}")
    entry = {
        "summary": summary,
        "store": info,
        "machine": m,
        "uptime_end": uptime(),
        "argv": sys.argv[1:],
        "code": code,
    }
    if fingerprint() != code:
        print(
            "note: product files changed during the run; figures are for the versions in "
            "'code' (hash at start)"
        )
    if not args.no_json:
        write_json(args.label, entry)
        print(f"wrote {RESULT_FILE.relative_to(REPO)} [{args.label}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
