"""Shared helpers of the benchmark scripts: machine description, percentiles, result files.

Not a test and not product code: the scripts only drive the product's own code paths
(bot.wiring, store.ingest, retrieval.service) and time them.
"""

from __future__ import annotations

import importlib.util
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
SHARED = Path(__file__).resolve().parents[2] / "shared"
CORPUS = SHARED / "corpus"
SEED = SHARED / "seed"
RESULTS = BENCH_DIR / "results"
QUESTIONS = BENCH_DIR / "eval" / "questions.jsonl"

if str(REPO) not in sys.path:  # so `python benchmarks/x.py` works from anywhere
    sys.path.insert(0, str(REPO))


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def machine() -> dict:
    mem = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) // 1024
    except OSError:
        pass
    return {
        "cores": os.cpu_count(),
        "cpu": cpu_model(),
        "mem_mib": mem,
        "python": platform.python_version(),
        "loadavg_1_5_15": loadavg(),
        "time": time.strftime("%Y-%m-%d %H:%M:%S"),
    }


def machine_line(info: dict | None = None) -> str:
    m = info or machine()
    la = " ".join(f"{x:.2f}" for x in m["loadavg_1_5_15"])
    return (
        f"machine: {m['cores']} cores, {m['cpu']}, {m['mem_mib']} MiB, python {m['python']}; "
        f"load average {la} at {m['time']}"
    )


def peak_rss_mib() -> float:
    """ru_maxrss of this process (KiB on Linux)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def percentile(values: list[float], q: float) -> float:
    """Linear-interpolated percentile (q in 0..100), like numpy's default."""
    if not values:
        return float("nan")
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def summary_ms(seconds: list[float]) -> dict:
    ms = [s * 1000.0 for s in seconds]
    return {
        "n": len(ms),
        "p50_ms": round(percentile(ms, 50), 2),
        "p95_ms": round(percentile(ms, 95), 2),
        "p99_ms": round(percentile(ms, 99), 2),
        "mean_ms": round(statistics.fmean(ms), 2) if ms else float("nan"),
        "max_ms": round(max(ms), 2) if ms else float("nan"),
    }


@contextmanager
def timer() -> Iterator[Callable[[], float]]:
    start = time.perf_counter()
    end: list[float] = []
    yield lambda: (end[0] if end else time.perf_counter()) - start
    end.append(time.perf_counter())


def table(rows: list[list[object]], header: list[str]) -> str:
    cells = [[str(c) for c in header]] + [[_fmt(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = []
    for n, r in enumerate(cells):
        lines.append(
            "  ".join(
                c.rjust(w) if i else c.ljust(w)
                for i, (c, w) in enumerate(zip(r, widths, strict=True))
            )
        )
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _fmt(value: object) -> str:
    if isinstance(value, float):
        if value != value:  # nan
            return "-"
        return f"{value:.2f}" if abs(value) < 1000 else f"{value:.0f}"
    return str(value)


def write_result(name: str, data: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n", "utf-8")
    return path


def quiet_logs() -> None:
    """Chroma and transformers chatter on stderr would bury the tables."""
    import logging
    import warnings

    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    warnings.filterwarnings("ignore")
    logging.basicConfig(level=logging.WARNING)
    for name in ("chromadb", "sentence_transformers", "transformers", "httpx"):
        logging.getLogger(name).setLevel(logging.ERROR)


def old_module(relpath: str, path: str | None = None, rev: str = "main") -> tuple[ModuleType, str]:
    """Another version of one of the product's modules, loaded beside this checkout's: the file
    at `path`, else `relpath` as of git revision `rev`. Returns the module and where it came
    from (for the printed table)."""
    name = "old_" + Path(relpath).stem
    with tempfile.TemporaryDirectory(prefix="bench_old_") as tmp:
        if path is None:
            source = subprocess.run(
                ["git", "-C", str(REPO), "show", f"{rev}:{relpath}"],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            copy = Path(tmp) / f"{name}.py"
            copy.write_text(source, "utf-8")
            location, label = str(copy), f"git show {rev}:{relpath}"
        else:
            location, label = path, path
        spec = importlib.util.spec_from_file_location(name, location)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    return module, label
