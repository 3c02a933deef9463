"""bench_cold_start.py --sizes: store size -> cold start -> reload -> RSS, in one run.

For each store given (label=DATA_DIR):
* cold `reportbot ask QUESTION --json`: one warm-up (it also brings the saved read index up to
  date), then --runs runs; median wall time and the largest peak RSS (ru_maxrss of the child);
* cold `reportbot stats`, the same way: the floor every command pays (imports, store open);
* reload: this process loads the bot's ReportQA on the store; a child process commits a new
  report (a copy of the newest report's chunks and vectors under a new id, dated a day after
  the newest); the time from the child's commit (read from its output as it is printed, not
  after it exits) to the first `/date` answer from that report,
  how many reports the reload read from Chroma, and the peak RSS of this process (the bot's
  read side, model included). The copy is deleted again afterwards.
Ratios are against the first store's figures in the same run.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import _common as c

COMMIT_CHILD = r"""
import sys, time
from datetime import timedelta
from pathlib import Path
from store.vector_store import ReportStore, record_change
store = ReportStore.open(Path(sys.argv[1]), "isw_reports", sys.argv[2])
reports = store.reports()
if sys.argv[3] == "commit":
    newest = max(reports.values(), key=lambda e: e.report_date)
    day = newest.report_date + timedelta(days=1)
    rid, version = f"bench-reload-{day.isoformat()}", "benchreload" + newest.version[:20]
    vectors = {}
    chunks = store.chunks_of({newest.report_id: newest}, vectors)
    copies = [ch.model_copy(update={"report_id": rid, "version": version, "report_date": day})
              for ch in chunks]
    import numpy as np
    entry = newest.model_copy(update={"report_id": rid, "version": version, "report_date": day})
    with store.writing():
        store.write_report(entry, copies, np.stack([vectors[ch.id] for ch in chunks]))
    print(f"COMMITTED {time.time()} {rid} {day.isoformat()}", flush=True)
else:
    gone = [rid for rid in reports if rid.startswith("bench-reload-")]
    with store.writing():
        for rid in gone:
            store.manifest.delete(ids=[rid])
            store.chunks.delete(where={"report_id": rid})
        record_change(Path(sys.argv[1]), "bench reload copy removed")
    print(f"REMOVED {len(gone)}", flush=True)
store.close()
"""

RELOAD_CHILD = r"""
import json, subprocess, sys, time
from pathlib import Path
from bot.settings import Settings
from bot.wiring import build_qa, load_embedder, open_store
from store.vector_store import ReportStore
data_dir, question, child = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
settings = Settings(data_dir=data_dir)
store = open_store(settings)
qa = build_qa(settings, store, load_embedder(settings))
qa.ask(question)
read = []
real = ReportStore.chunks_of
def counting(self, reports, vectors=None):
    read.extend(reports)
    return real(self, reports, vectors)
ReportStore.chunks_of = counting
# Read as it is printed: the committing process still closes its store and exits after the
# commit (~0.3 s at 205k), which a running bot does not wait for.
proc = subprocess.Popen([sys.executable, "-c", child, str(data_dir), settings.embedding_model,
                         "commit"], stdout=subprocess.PIPE, text=True)
line = next(l for l in proc.stdout if l.startswith("COMMITTED"))
_, at, rid, day = line.split()
while True:
    answer = qa.on_date(day)
    if any(r.report_id == rid for r in answer.results):
        break
    time.sleep(0.01)
seconds = time.time() - float(at)
proc.stdout.read()
if proc.wait() != 0:
    sys.exit("the committing process failed")
hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM"))
subprocess.run([sys.executable, "-c", child, str(data_dir), settings.embedding_model, "remove"],
               capture_output=True, text=True, check=True)
print("RELOAD " + json.dumps({"seconds": seconds, "reports_read": len(set(read)),
      "chunks": len(qa.catalog.chunks), "peak_rss_mib": hwm / 1024}))
"""


def _timed(cmd: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS MiB) of one child process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{proc.stderr.read().decode()[-2000:]}")
    return wall, usage.ru_maxrss / 1024


def _runs(cmd: list[str], runs: int) -> dict:
    _timed(cmd)  # warm-up: OS file cache, and the read index brought up to date
    got = [_timed(cmd) for _ in range(runs)]
    return {
        "runs_s": [round(w, 2) for w, _ in got],
        "median_s": round(statistics.median(w for w, _ in got), 2),
        "peak_rss_mib": round(max(r for _, r in got), 1),
    }


def measure(stores: dict[str, Path], question: str, runs: int, exe: str) -> dict:
    out: dict[str, dict] = {}
    for label, data_dir in stores.items():
        print(f"{label} ({data_dir}):", flush=True)
        ask = _runs([exe, "--data-dir", str(data_dir), "ask", question, "--json"], runs)
        print(f"  cold ask {ask['median_s']} s {ask['runs_s']}", flush=True)
        stats = _runs([exe, "--data-dir", str(data_dir), "stats"], runs)
        print(f"  cold stats {stats['median_s']} s", flush=True)
        proc = subprocess.run(
            [sys.executable, "-c", RELOAD_CHILD, str(data_dir), question, COMMIT_CHILD],
            capture_output=True,
            text=True,
            cwd=c.REPO,
        )
        line = next((x for x in proc.stdout.splitlines() if x.startswith("RELOAD ")), None)
        if line is None:
            sys.exit(f"reload child failed:\n{proc.stderr[-3000:]}")
        reload = json.loads(line[len("RELOAD ") :])
        print(f"  reload {reload}", flush=True)
        out[label] = {"data_dir": str(data_dir), "ask": ask, "stats": stats, "reload": reload}
    return out


def rows(results: dict[str, dict]) -> list[list[object]]:
    first = next(iter(results.values()))
    base_ask, base_stats = first["ask"]["median_s"], first["stats"]["median_s"]
    table = []
    for label, r in results.items():
        table.append(
            [
                label,
                r["reload"]["chunks"],
                r["ask"]["median_s"],
                round(r["ask"]["median_s"] / base_ask, 2),
                round(r["ask"]["median_s"] / base_stats, 2),
                r["stats"]["median_s"],
                round(r["reload"]["seconds"], 3),
                r["reload"]["reports_read"],
                r["ask"]["peak_rss_mib"],
                round(r["reload"]["peak_rss_mib"], 1),
            ]
        )
    return table


HEADER = [
    "store",
    "chunks",
    "cold ask s",
    "x first store",
    "x first stats",
    "cold stats s",
    "commit->answer s",
    "reports read",
    "ask peak RSS MiB",
    "bot read side peak RSS MiB",
]


def parse_stores(values: list[str]) -> dict[str, Path]:
    stores: dict[str, Path] = {}
    for value in values:
        label, sep, path = value.partition("=")
        if not sep:
            sys.exit(f"--sizes wants LABEL=DATA_DIR, got {value!r}")
        stores[label] = Path(path)
    return stores


def peak_self_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
