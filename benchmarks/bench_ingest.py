"""Ingest throughput: the corpus and the seed into an EMPTY store, then an unchanged re-ingest.

Drives the product's own path (bot.wiring.open_store / load_embedder, store.ingest.ingest) on a
fresh data dir in a temporary folder. The embedder and ReportStore.write_report are wrapped in
thin timers (they still run the real code) so the table shows where the time goes. Parse-only
throughput (store.ingest.parse_all, plus store.records.report_chunks) is measured separately,
so the embedding cost is visible.

Figures: reports/s, passages(chunks)/s, wall time, peak RSS (ru_maxrss) of the ingest, the
in-process re-ingest of the unchanged files (median of --reingest-repeats), the same re-ingest
as a fresh `reportbot ingest -q` process (what a user types; includes imports + model load),
and parse-only files/s.

The full corpus is ~6,600 chunks; on 2 cores embedding runs ~10-25 chunks/s, so the default
(everything) takes several minutes: run it in the background, e.g.
    nohup /work/venv/bin/python benchmarks/bench_ingest.py > /tmp/bench_ingest.log 2>&1 &
A quick look: --limit 20.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _common as c


class TimedEmbedder:
    """Delegates to the real embedder; counts texts and seconds spent embedding."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.seconds = 0.0
        self.texts = 0

    def embed_passages(self, texts, batch_size: int = 32):
        t0 = time.perf_counter()
        out = self.inner.embed_passages(texts, batch_size)
        self.seconds += time.perf_counter() - t0
        self.texts += len(texts)
        return out

    def embed_queries(self, texts):
        return self.inner.embed_queries(texts)


def timed_method(obj, name: str, bucket: dict) -> None:
    inner = getattr(obj, name)

    def wrapper(*args, **kwargs):
        t0 = time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            bucket[name] = bucket.get(name, 0.0) + time.perf_counter() - t0

    setattr(obj, name, wrapper)


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--limit", type=int, help="ingest only the first N files (default: all)")
    ap.add_argument(
        "--data-dir",
        type=Path,
        help="ingest into this (empty or new) folder and keep it; default: a temp dir, removed",
    )
    ap.add_argument("--reingest-repeats", type=int, default=3, help="in-process re-ingests")
    ap.add_argument("--cli-repeats", type=int, default=1, help="`reportbot ingest` re-ingests")
    ap.add_argument("--parse-repeats", type=int, default=3, help="parse-only passes (median)")
    ap.add_argument("--no-progress", action="store_true", help="no progress bars")
    ap.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="N",
        help="only profile (pyinstrument) an ingest of the first N files into a temp store; "
        "writes results/NAME_profile.txt",
    )
    ap.add_argument("--out", default="bench_ingest", help="results/NAME.json")
    args = ap.parse_args()
    c.quiet_logs()
    start_machine = c.machine()
    if args.profile:
        return profile(args.profile, args.out)

    from bot.settings import Settings
    from bot.wiring import load_embedder, open_store
    from store.ingest import discover, ingest, parse_all
    from store.records import report_chunks

    files = discover([c.SEED, c.CORPUS])
    if args.limit:
        files = files[: args.limit]
    print(f"{len(files)} files from {c.SEED} and {c.CORPUS}", flush=True)

    # ---- parse only ----------------------------------------------------------------------
    parse_times, chunk_times = [], []
    reports = []
    for i in range(max(1, args.parse_repeats)):
        t0 = time.perf_counter()
        reports, failures = parse_all(files, progress=False)
        parse_times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        n_chunks = sum(len(report_chunks(r)) for r in reports)
        chunk_times.append(time.perf_counter() - t0)
        print(f"parse pass {i + 1}: {parse_times[-1]:.2f} s", flush=True)
    parse_s = statistics.median(parse_times)
    chunk_s = statistics.median(chunk_times)

    # ---- ingest into an empty store -------------------------------------------------------
    own_tmp = args.data_dir is None
    data_dir = Path(tempfile.mkdtemp(prefix="bench_ingest_")) if own_tmp else args.data_dir
    if data_dir.exists() and any(data_dir.iterdir()):
        sys.exit(f"{data_dir} is not empty: the ingest benchmark needs an empty store")
    settings = Settings(data_dir=data_dir)
    rss_before_model = c.peak_rss_mib()
    t0 = time.perf_counter()
    embedder = TimedEmbedder(load_embedder(settings))
    model_s = time.perf_counter() - t0
    store = open_store(settings)
    buckets: dict[str, float] = {}
    timed_method(store, "write_report", buckets)
    paths = [c.SEED, c.CORPUS] if not args.limit else files
    load_at_start = c.loadavg()
    t0 = time.perf_counter()
    summary = ingest(paths, store, embedder, progress=not args.no_progress)
    ingest_s = time.perf_counter() - t0
    load_at_end = c.loadavg()
    rss_ingest = c.peak_rss_mib()
    chunks = store.chunks.count()
    added = summary.count("added") + summary.count("updated")
    print(summary.line(), flush=True)

    # ---- unchanged re-ingest ----------------------------------------------------------------
    re_times = []
    for _ in range(max(1, args.reingest_repeats)):
        t0 = time.perf_counter()
        again = ingest(paths, store, embedder, progress=False)
        re_times.append(time.perf_counter() - t0)
        assert again.count("added") + again.count("updated") == 0, again.line()
    cli_times = []
    exe = Path(sys.executable).with_name("reportbot")
    for _ in range(max(0, args.cli_repeats)):
        cmd = [str(exe), "--data-dir", str(data_dir), "ingest", "-q", *map(str, paths)]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        cli_times.append(time.perf_counter() - t0)
        if proc.returncode != 0:
            print(proc.stdout, proc.stderr, file=sys.stderr)

    embed_s = embedder.seconds
    write_s = buckets.get("write_report", 0.0)
    result = {
        "files": len(files),
        "reports_added": added,
        "chunks": chunks,
        "failed": summary.count("failed"),
        "duplicates": summary.count("duplicate"),
        "model_load_s": round(model_s, 2),
        "ingest_wall_s": round(ingest_s, 2),
        "reports_per_s": round(added / ingest_s, 2),
        "passages_per_s": round(chunks / ingest_s, 2),
        "embed_s": round(embed_s, 2),
        "embed_chunks_per_s": round(embedder.texts / embed_s, 2) if embed_s else None,
        "store_write_s": round(write_s, 2),
        "other_s (parse, sweep, manifest)": round(ingest_s - embed_s - write_s, 2),
        "peak_rss_mib": rss_ingest,
        "rss_before_model_mib": rss_before_model,
        "reingest_in_process_median_s": round(statistics.median(re_times), 2),
        "reingest_in_process_runs_s": [round(x, 2) for x in re_times],
        "reingest_cli_median_s": round(statistics.median(cli_times), 2) if cli_times else None,
        "reingest_cli_runs_s": [round(x, 2) for x in cli_times],
        "parse_only_s": round(parse_s, 2),
        "parse_files_per_s": round(len(files) / parse_s, 2),
        "parse_reports": len(reports),
        "chunking_s": round(chunk_s, 3),
        "chunks_from_parse": n_chunks,
        "loadavg_ingest_start": load_at_start,
        "loadavg_ingest_end": load_at_end,
    }
    end_machine = c.machine()
    rows = [
        ["files / reports added / chunks", f"{len(files)} / {added} / {chunks}", ""],
        ["model load", round(model_s, 2), "s"],
        ["ingest wall time (empty store)", round(ingest_s, 1), "s"],
        ["  reports/s", result["reports_per_s"], "report/s"],
        ["  passages (chunks)/s", result["passages_per_s"], "chunk/s  (target >= 150)"],
        ["  of which embedding", round(embed_s, 1), f"s ({result['embed_chunks_per_s']} chunk/s)"],
        ["  of which Chroma write_report", round(write_s, 1), "s"],
        ["  other (parse, sweep, manifest)", result["other_s (parse, sweep, manifest)"], "s"],
        ["peak RSS (ru_maxrss) after ingest", rss_ingest, "MiB"],
        [
            "re-ingest unchanged, in process (median)",
            result["reingest_in_process_median_s"],
            "s  (target <= 5)",
        ],
        ["re-ingest unchanged, `reportbot ingest -q`", result["reingest_cli_median_s"], "s"],
        ["parse only", round(parse_s, 2), f"s = {result['parse_files_per_s']} files/s"],
        ["report_chunks only", round(chunk_s, 3), f"s ({n_chunks} chunks)"],
    ]
    print()
    print(c.table(rows, ["figure", "value", "unit"]))
    print(c.machine_line(start_machine) + " (start)")
    print(c.machine_line(end_machine) + " (end)")
    print(f"load average during ingest: start {load_at_start}, end {load_at_end}")
    path = c.write_result(
        args.out,
        {
            "benchmark": "bench_ingest",
            "command": " ".join([Path(sys.executable).name, *sys.argv]),
            "machine_start": start_machine,
            "machine_end": end_machine,
            "results": result,
        },
    )
    print(f"wrote {path}")
    if own_tmp:
        shutil.rmtree(data_dir, ignore_errors=True)
    else:
        print(f"store kept in {data_dir}")
    return 0


def profile(n: int, name: str) -> int:
    from pyinstrument import Profiler

    from bot.settings import Settings
    from bot.wiring import load_embedder, open_store
    from store.ingest import discover, ingest

    files = discover([c.SEED, c.CORPUS])[:n]
    data_dir = Path(tempfile.mkdtemp(prefix="bench_ingest_prof_"))
    settings = Settings(data_dir=data_dir)
    embedder = load_embedder(settings)
    store = open_store(settings)
    prof = Profiler(interval=0.005)
    prof.start()
    summary = ingest(files, store, embedder, progress=False)
    prof.stop()
    shutil.rmtree(data_dir, ignore_errors=True)
    path = c.RESULTS / f"{name}_profile.txt"
    c.RESULTS.mkdir(parents=True, exist_ok=True)
    path.write_text(prof.output_text(unicode=True, color=False), "utf-8")
    print(summary.line())
    print(c.machine_line())
    print(f"profile of ingesting {len(files)} files -> {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
