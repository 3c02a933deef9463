"""Cold start: process start to first answer, its breakdown, and the running bot's peak RSS.

1. `reportbot --data-dir D ask QUESTION --json` as a subprocess: one warm-up run (fills the OS
   file cache), then --runs runs (default 5); the median wall time is the figure.
2. The breakdown, in a fresh interpreter each time (--breakdown-runs, default 3, medians):
   imports (the modules the `ask` path loads: bot.cli, bot.commands, the embedding backend's
   runtime (onnxruntime; sentence_transformers for REPORTBOT_EMBEDDING_BACKEND=torch),
   retrieval.service/language/tokenize), model load (bot.wiring.load_embedder), store open
   (bot.wiring.open_store), ReportQA build (bot.wiring.build_qa; inside it the saved read index's
   load and catch-up (retrieval.snapshot) and Catalog.assemble are timed by thin wrappers), first answer (qa.ask + JSON), a second answer.
   Plus `python -X importtime` of the same imports: cumulative import time of the heavy packages.
3. Peak RSS of a running `reportbot chat`: 20 questions piped on stdin (Korean and English, asks
   and /topic), VmHWM and VmRSS read from /proc/PID/status after the 20th answer, before /quit.
4. Peak RSS of the running Telegram bot: `reportbot run` with a token, talking to the tests' fake
   Bot API server on 127.0.0.1 (TELEGRAM_API_BASE_URL); the same 20 questions from 4 chats,
   waiting for it when it starts (so several are answered concurrently), VmHWM read after the
   20th answer.

5. With --sizes LABEL=DIR ...: only the size table of benchmarks/_sizes.py (cold ask, cold
   stats, reload after another process's commit, RSS per store size).

The store: --data-dir, else /tmp/full when it holds reports and nothing is ingesting into it,
else /tmp/reportbot_bench_store (see bench_query.py).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import _common as c

QUESTION = "What did the Kremlin say about negotiations?"
IMPORTS = (
    "import bot.cli, bot.commands, store.embedding.onnx, onnxruntime, retrieval.service, "
    "retrieval.language, retrieval.tokenize"
)
HEAVY = [
    "onnxruntime",
    "tokenizers",
    "torch",
    "transformers",
    "sentence_transformers",
    "chromadb",
    "kiwipiepy",
    "lingua",
    "pydantic",
    "pydantic_settings",
    "numpy",
    "scipy",
    "sklearn",
    "dateparser",
    "selectolax",
    "tqdm",
    "bot.cli",
    "bot.commands",
    "retrieval.service",
    "retrieval.language",
    "retrieval.tokenize",
]

CHILD = r"""
import json, sys, time
def rss():
    for line in open('/proc/self/status'):
        if line.startswith('VmRSS:'):
            return int(line.split()[1]) / 1024
t = {}
m = {'start': rss()}
t0 = time.perf_counter()
IMPORTS
t['imports'] = time.perf_counter() - t0
m['imports'] = rss()
from bot.settings import Settings
from bot.wiring import build_qa, load_embedder, open_store
import retrieval.catalog as catalog_mod
import retrieval.indexes as indexes_mod
import retrieval.language as language_mod
import retrieval.tokenize as tokenize_mod
inner = {}
def wrap_init(cls, key):
    orig = cls.__init__
    def init(self, *a, **k):
        s = time.perf_counter()
        try:
            return orig(self, *a, **k)
        finally:
            inner[key] = inner.get(key, 0.0) + time.perf_counter() - s
    cls.__init__ = init
wrap_init(language_mod.LanguageDetector, 'lingua_detector')
wrap_init(tokenize_mod.Tokenizer, 'kiwi_tokenizer')
orig_snapshot = indexes_mod.load_snapshot
def timed_snapshot(*a, **k):
    s = time.perf_counter()
    try:
        return orig_snapshot(*a, **k)
    finally:
        inner['snapshot_load'] = inner.get('snapshot_load', 0.0) + time.perf_counter() - s
indexes_mod.load_snapshot = timed_snapshot
orig_assemble = catalog_mod.Catalog.assemble.__func__
def timed_assemble(cls, *a, **k):
    s = time.perf_counter()
    try:
        return orig_assemble(cls, *a, **k)
    finally:
        inner['catalog_assemble'] = inner.get('catalog_assemble', 0.0) + time.perf_counter() - s
catalog_mod.Catalog.assemble = classmethod(timed_assemble)
settings = Settings(data_dir=sys.argv[1])
s = time.perf_counter(); store = open_store(settings); t['store_open'] = time.perf_counter() - s
m['store_open'] = rss()
s = time.perf_counter(); emb = load_embedder(settings); t['model_load'] = time.perf_counter() - s
m['model_load'] = rss()
s = time.perf_counter(); qa = build_qa(settings, store, emb); t['qa_build'] = time.perf_counter() - s
m['qa_build'] = rss()
for key in ('lingua_detector', 'kiwi_tokenizer', 'snapshot_load', 'catalog_assemble'):
    t['  ' + key] = inner.get(key, 0.0)
t['  other (gazetteer, mention index, centroids)'] = t['qa_build'] - sum(inner.values())
s = time.perf_counter()
json.dumps(qa.ask(sys.argv[2]).to_json_dict(), ensure_ascii=False)
t['first_answer'] = time.perf_counter() - s
m['first_answer'] = rss()
s = time.perf_counter(); qa.ask(sys.argv[2]); t['second_answer'] = time.perf_counter() - s
t['total_in_process'] = time.perf_counter() - t0
t['chunks'] = len(qa.catalog.chunks)
for k, v in m.items():
    t['rss_mib_after_' + k] = v
print('BREAKDOWN ' + json.dumps(t))
""".replace("IMPORTS", IMPORTS)

CHAT_QUESTIONS = [
    "What did the Kremlin say about negotiations?",
    "크렘린이 협상에 대해 뭐라고 했어?",
    "What happened near Avdiivka?",
    "/topic 아브디이프카",
    "바흐무트 근처에서 무슨 일이 있었어?",
    "Kerch bridge explosion",
    "자포리자 원전 IAEA",
    "/topic Bakhmut",
    "partial mobilization",
    "프리고진 반란",
    "What did Shoigu say?",
    "하르키우 반격",
    "/latest 3",
    "Moskva cruiser sinking",
    "2024년 1월 26일 핵심 요점",
    "Il-76 crash Belgorod",
    "/date 2023-06-24",
    "메드베데프 인터뷰",
    "Kramatorsk railway station strike",
    "헤르손 철수",
]


def exe() -> str:
    return str(Path(sys.executable).with_name("reportbot"))


def cold_runs(data_dir: Path, question: str, runs: int) -> dict:
    cmd = [exe(), "--data-dir", str(data_dir), "ask", question, "--json"]
    times, loads = [], []
    for i in range(runs + 1):
        loads.append(c.loadavg()[0])
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        if proc.returncode != 0:
            sys.exit(f"{' '.join(cmd)} failed:\n{proc.stderr}")
        n = len(json.loads(proc.stdout)["results"])
        print(f"  {'warm-up' if i == 0 else f'run {i}'}: {wall:.2f} s ({n} results)", flush=True)
        if i:
            times.append(wall)
    return {
        "command": " ".join(cmd),
        "runs_s": [round(x, 2) for x in times],
        "median_s": round(statistics.median(times), 2),
        "min_s": round(min(times), 2),
        "loadavg_1min_per_run": loads,
    }


def breakdown(data_dir: Path, question: str, runs: int) -> dict:
    got: list[dict] = []
    for i in range(runs):
        t0 = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-c", CHILD, str(data_dir), question],
            capture_output=True,
            text=True,
            cwd=c.REPO,
            env={**os.environ, "TOKENIZERS_PARALLELISM": "false"},
        )
        wall = time.perf_counter() - t0
        line = next((x for x in proc.stdout.splitlines() if x.startswith("BREAKDOWN ")), None)
        if line is None:
            sys.exit(f"breakdown child failed:\n{proc.stderr[-3000:]}")
        row = json.loads(line[len("BREAKDOWN ") :])
        row["process_wall"] = wall
        got.append(row)
        print(f"  breakdown run {i + 1}: {wall:.2f} s", flush=True)
    keys = list(got[0])
    return {k: round(statistics.median(r[k] for r in got), 3) for k in keys}


def importtime() -> dict:
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", IMPORTS],
        capture_output=True,
        text=True,
        cwd=c.REPO,
    )
    cumulative: dict[str, int] = {}
    total = 0
    for line in proc.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if not m:
            continue
        cum, indent, name = int(m.group(2)), len(m.group(3)), m.group(4)
        if indent == 1:
            total += cum
        if name in HEAVY:
            cumulative[name] = max(cumulative.get(name, 0), cum)
    ranked = sorted(cumulative.items(), key=lambda kv: -kv[1])
    return {
        "total_s": round(total / 1e6, 3),
        "cumulative_s": {k: round(v / 1e6, 3) for k, v in ranked},
        "note": "cumulative times nest: a package's figure includes what it imports first",
    }


def memory_mib(pid: int) -> dict[str, float]:
    """VmHWM (peak) and VmRSS (now) of a running process, in MiB."""
    status = Path(f"/proc/{pid}/status").read_text()
    return {
        k: int(v.split()[0]) / 1024
        for k, v in (line.split(":", 1) for line in status.splitlines() if ":" in line)
        if k in ("VmHWM", "VmRSS")
    }


def chat_rss(data_dir: Path, questions: list[str], timeout: float) -> dict:
    proc = subprocess.Popen(
        [exe(), "--data-dir", str(data_dir), "chat"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        bufsize=1,
    )
    buf: list[str] = []

    def reader() -> None:
        assert proc.stdout is not None
        while True:
            ch = proc.stdout.read(1)
            if not ch:
                return
            buf.append(ch)

    th = threading.Thread(target=reader, daemon=True)
    th.start()
    t0 = time.perf_counter()
    assert proc.stdin is not None
    for q in questions:
        proc.stdin.write(q + "\n")
    proc.stdin.flush()
    # input() prints "\n> " before each line it reads: len(questions) + 1 prompts = all answered
    while "".join(buf).count("\n> ") < len(questions) + 1:
        if proc.poll() is not None or time.perf_counter() - t0 > timeout:
            break
        time.sleep(0.05)
    elapsed = time.perf_counter() - t0
    fields = memory_mib(proc.pid)
    answered = "".join(buf).count("\n> ") - 1
    proc.stdin.write("/quit\n")
    proc.stdin.close()
    proc.wait(timeout=60)
    return {
        "questions": len(questions),
        "answered": answered,
        "seconds_to_answer_all_incl_startup": round(elapsed, 2),
        "peak_rss_VmHWM_mib": round(fields.get("VmHWM", 0.0), 1),
        "rss_VmRSS_mib": round(fields.get("VmRSS", 0.0), 1),
        "pid": proc.pid,
    }


def bot_rss(data_dir: Path, questions: list[str], timeout: float) -> dict:
    """The real bot process (`reportbot run`) against the fake Bot API server."""
    import asyncio

    from bot.fake_bot_api import FakeBotApi

    async def run() -> dict:
        token = "123456:bench-cold-start"
        api = FakeBotApi(token)
        await api.start()
        env = {**os.environ, "TELEGRAM_BOT_TOKEN": token, "TELEGRAM_API_BASE_URL": api.base_url}
        proc = subprocess.Popen(
            [exe(), "--data-dir", str(data_dir), "run"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            t0 = time.perf_counter()
            # Queued before the bot starts, as Telegram holds messages sent while it was down.
            for i, q in enumerate(questions):
                lang = "ko" if re.search("[가-힣]", q) else "en"
                api.push_text(1000 + i % 4, q, language_code=lang)
            await api.wait_for("sendMessage", timeout=timeout, count=len(questions))
            answered = time.perf_counter() - t0
            fields = memory_mib(proc.pid)
            return {
                "questions": len(questions),
                "answered": len(api.calls_of("sendMessage")),
                "seconds_to_answer_all_incl_startup": round(answered, 2),
                "peak_rss_VmHWM_mib": round(fields.get("VmHWM", 0.0), 1),
                "rss_VmRSS_mib": round(fields.get("VmRSS", 0.0), 1),
            }
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
            await api.stop()

    return asyncio.run(run())


def profile(data_dir: Path, question: str, name: str) -> int:
    import io
    import pstats
    import tempfile

    c.RESULTS.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        prof = Path(tmp) / "cold.prof"
        cmd = [sys.executable, "-m", "cProfile", "-o", str(prof), exe()]
        cmd += ["--data-dir", str(data_dir), "ask", question, "--json"]
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        wall = time.perf_counter() - t0
        out = io.StringIO()
        stats = pstats.Stats(str(prof), stream=out)
        stats.sort_stats("cumulative").print_stats(60)
    path = c.RESULTS / f"{name}_profile.txt"
    head = f"cProfile of `{' '.join(cmd[4:])}` (wall {wall:.1f} s under cProfile)\n"
    path.write_text(head + c.machine_line() + "\n" + out.getvalue(), "utf-8")
    print(c.machine_line())
    print(f"profile of a cold `reportbot ask` -> {path}")
    return 0


def sizes(args: argparse.Namespace) -> int:
    import _sizes

    start_machine = c.machine()
    print(c.machine_line(start_machine), flush=True)
    results = _sizes.measure(_sizes.parse_stores(args.sizes), args.question, args.runs, exe())
    print()
    print(c.table(_sizes.rows(results), _sizes.HEADER))
    print(c.machine_line(start_machine) + " (start)")
    print(c.machine_line() + " (end)")
    path = c.write_result(
        args.out + "_sizes",
        {
            "benchmark": "bench_cold_start --sizes",
            "command": " ".join([Path(sys.executable).name, *sys.argv]),
            "machine_start": start_machine,
            "results": results,
        },
    )
    print(f"wrote {path}")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--data-dir", type=Path)
    ap.add_argument("--question", default=QUESTION)
    ap.add_argument("--runs", type=int, default=5, help="cold runs after one warm-up")
    ap.add_argument("--breakdown-runs", type=int, default=3)
    ap.add_argument("--chat-timeout", type=float, default=900)
    ap.add_argument("--allow-busy", action="store_true", help="read a store being ingested into")
    ap.add_argument(
        "--profile",
        action="store_true",
        help="only profile one cold `reportbot ask` with cProfile (pyinstrument crashes on "
        "it) -> results/NAME_profile.txt, top functions by cumulative time",
    )
    ap.add_argument(
        "--sizes",
        nargs="+",
        metavar="LABEL=DATA_DIR",
        help="only the size table (see benchmarks/_sizes.py): cold ask, cold stats, reload "
        "after another process's commit, and RSS, per store; ratios against the first",
    )
    ap.add_argument("--out", default="bench_cold_start", help="results/NAME.json")
    args = ap.parse_args()
    c.quiet_logs()
    if args.sizes:
        return sizes(args)
    from bench_query import choose_store

    start_machine = c.machine()
    print(c.machine_line(start_machine), flush=True)
    data_dir = choose_store(args.data_dir, args.allow_busy)
    print(f"store {data_dir}", flush=True)
    if args.profile:
        return profile(data_dir, args.question, args.out)

    print("cold start, `reportbot ask --json`:", flush=True)
    cold = cold_runs(data_dir, args.question, args.runs)
    print("breakdown (fresh interpreter):", flush=True)
    parts = breakdown(data_dir, args.question, args.breakdown_runs)
    imp = importtime()
    print("`reportbot chat` with 20 questions on stdin:", flush=True)
    chat = chat_rss(data_dir, CHAT_QUESTIONS, args.chat_timeout)
    print("`reportbot run` (Telegram bot, fake Bot API) with the same 20 questions:", flush=True)
    bot = bot_rss(data_dir, CHAT_QUESTIONS, args.chat_timeout)

    end_machine = c.machine()
    rows = [
        ["cold start to first answer (median)", cold["median_s"], f"s, runs {cold['runs_s']}"],
        ["breakdown (medians, fresh interpreter):", "", ""],
    ]
    for k, v in parts.items():
        if k == "chunks":
            continue
        unit = "MiB" if k.startswith("rss_") else "s"
        if k == "process_wall":
            k = "process wall (python -c, incl. interpreter start/exit)"
        rows.append([f"  {k}", v, unit])
    rows.append(["imports per -X importtime (sum of top level)", imp["total_s"], "s"])
    for k, v in list(imp["cumulative_s"].items())[:10]:
        rows.append([f"    {k} (cumulative)", v, "s"])
    rows += [
        ["`reportbot chat` peak RSS (VmHWM) after 20 answers", chat["peak_rss_VmHWM_mib"], "MiB"],
        ["`reportbot chat` RSS (VmRSS) then", chat["rss_VmRSS_mib"], "MiB"],
        ["`reportbot chat` start + 20 answers", chat["seconds_to_answer_all_incl_startup"], "s"],
        [
            "`reportbot run` (Telegram bot) peak RSS (VmHWM) after 20 answers",
            bot["peak_rss_VmHWM_mib"],
            "MiB",
        ],
        ["`reportbot run` RSS (VmRSS) then", bot["rss_VmRSS_mib"], "MiB"],
        ["`reportbot run` start + 20 answers", bot["seconds_to_answer_all_incl_startup"], "s"],
    ]
    print()
    print(c.table(rows, ["figure", "value", "unit"]))
    print(f"store {data_dir}: {parts.get('chunks')} chunks")
    print(c.machine_line(start_machine) + " (start)")
    print(c.machine_line(end_machine) + " (end)")
    path = c.write_result(
        args.out,
        {
            "benchmark": "bench_cold_start",
            "command": " ".join([Path(sys.executable).name, *sys.argv]),
            "machine_start": start_machine,
            "machine_end": end_machine,
            "results": {
                "data_dir": str(data_dir),
                "cold_start": cold,
                "breakdown_median_s": parts,
                "importtime": imp,
                "chat": chat,
                "bot": bot,
            },
        },
    )
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
