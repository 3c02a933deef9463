"""VectorIndex (retrieval/vectors.py) against another version of itself, on a real saved read index.

Reads the vectors of a saved snapshot made by main's code (state.json's "vector_ids" and
"vector_langs", vectors.npy, vector_dates.npy; READ ONLY), saves them with the NEW code into a
folder of its own, then times, for the OLD implementation (by default
`git show main:retrieval/vectors.py`, loaded as a module) and the NEW one (this checkout), each
in a fresh process (so peak RSS and first-touch costs are its own), OLD and NEW interleaved:

* load as a start does: OLD parses the two JSON lists (alone: in state.json they were parsed
  with everything else), reads the .npy files and builds the index; NEW `VectorIndex.load`;
  then `centroids()` (retrieval/indexes.py asks for them at every load and reload);
* the first search, then `--queries` searches (plain, in a date range, with a predicate);
* 100 id lookups (`vectors` + `lang`, as a question's assembly does);
* `--reloads` successive reload-sized updates: one report's rows dropped (a report spread
  over the index) and as many new rows added (its next version), each followed by the next
  search and `centroids()`, with the peak RSS the update added (VmHWM reset before it);
* save of the updated index (OLD: the JSON lists + np.save; NEW: `VectorIndex.save`).

Every search result (ids, scores, order) is compared between OLD and NEW, before and after
the updates. NEW's costs behind COMPACT_SHARE are printed too (a compaction, a search with
1/8 dead rows, a merge of appended parts as large as 1/8 of the rows).

    python benchmarks/bench_vectors.py                  # the 205,654-row index, ~3 min
    python benchmarks/bench_vectors.py --repeat 1       # quick look
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

import numpy as np
import orjson
from _common import machine_line, old_module, table, write_result

from retrieval import vectors as new_module

OLD_FILE = "retrieval/vectors.py"
SYNTH = Path("/tmp/rb/synth200k/read-index/isw_reports")
DATA = Path("/tmp/rb/vectors-delta-data/bench")


def source_folder() -> Path:
    return SYNTH / (SYNTH / "current").read_text("utf-8").strip()


def rss_kib() -> tuple[int, int]:
    """(VmRSS, VmHWM) of this process."""
    found = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(("VmRSS:", "VmHWM:")):
            found[line.split(":")[0]] = int(line.split()[1])
    return found["VmRSS"], found["VmHWM"]


def reset_peak() -> None:
    Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS (Linux >= 4.0)


# ---- what both sides run ---------------------------------------------------------------------


def prepare(data: Path, source: Path, reloads: int, queries: int, seed: int) -> None:
    """The OLD side's JSON lists, the NEW side's saved folder, and the plan (which reports a
    reload replaces, the query vectors) shared by every child. Made again at every run: the
    NEW side loads what this checkout saved."""
    data.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(data / "new", ignore_errors=True)
    state = orjson.loads((source / "state.json").read_bytes())
    ids, langs = state["vector_ids"], state["vector_langs"]
    (data / "old_lists.json").write_bytes(orjson.dumps({"vector_ids": ids, "vector_langs": langs}))
    matrix = np.load(source / "vectors.npy")
    dates = np.load(source / "vector_dates.npy")
    new_module.VectorIndex(ids, matrix, dates, langs).save(data / "new")
    rng = np.random.default_rng(seed)
    reports: dict[str, list[str]] = {}
    for cid in ids:
        reports.setdefault(cid.split(":", 1)[0], []).append(cid)
    names = list(reports)
    chosen = [names[int(i)] for i in np.linspace(len(names) * 0.1, len(names) - 1, reloads)]
    picks = rng.choice(len(ids), size=queries, replace=False)
    query_vectors = matrix[picks] + rng.normal(scale=0.02, size=(queries, matrix.shape[1]))
    query_vectors /= np.linalg.norm(query_vectors, axis=1, keepdims=True)
    day = [int(d) for d in np.percentile(dates, [40, 48])]
    plan = {
        "reloads": [{"report": r, "ids": reports[r]} for r in chosen],
        "queries": query_vectors.astype(np.float32).tolist(),
        "dates": day,
        "rows": len(ids),
    }
    (data / "plan.json").write_bytes(orjson.dumps(plan))


def load_index(side: str, module: ModuleType, data: Path, source: Path) -> object:
    if side == "new":
        return module.VectorIndex.load(data / "new")
    lists = orjson.loads((data / "old_lists.json").read_bytes())
    matrix = np.load(source / "vectors.npy")
    dates = np.load(source / "vector_dates.npy")
    return module.VectorIndex(lists["vector_ids"], matrix, dates, lists["vector_langs"])


def searches(
    index: object, queries: list[np.ndarray], days: list[int], times: list[float] | None = None
) -> list[object]:
    """Plain, in a date range, with a predicate: each query's three results (and times)."""
    out: list[object] = []
    for q in queries:
        for dates, limit, allowed in (
            (None, 20, None),
            ((days[0], days[1]), 20, None),
            (None, 10, lambda cid: cid.endswith(":en")),
        ):
            start = time.perf_counter()
            out.append(index.search(q, limit, dates, allowed))  # type: ignore[attr-defined]
            if times is not None:
                times.append(time.perf_counter() - start)
    return out


def child(side: str, module: ModuleType, data: Path, source: Path, tuning: bool) -> dict:
    plan = orjson.loads((data / "plan.json").read_bytes())
    queries = [np.asarray(q, dtype=np.float32) for q in plan["queries"]]
    fig: dict[str, object] = {}
    rss0, _ = rss_kib()
    start = time.perf_counter()
    index = load_index(side, module, data, source)
    fig["load_s"] = time.perf_counter() - start
    start = time.perf_counter()
    index.centroids()  # type: ignore[attr-defined]
    fig["centroids_at_load_s"] = time.perf_counter() - start
    rss, hwm = rss_kib()
    fig["load_rss_mib"], fig["load_peak_mib"] = (rss - rss0) / 1024, (hwm - rss0) / 1024
    start = time.perf_counter()
    index.search(queries[0], 20)  # type: ignore[attr-defined]
    fig["first_search_s"] = time.perf_counter() - start
    times: list[float] = []
    before = searches(index, queries, plan["dates"], times)
    fig["search_s"] = statistics.median(times)
    hits = list(dict.fromkeys(cid for r in before[:15] for cid, _ in r))[:100]  # type: ignore[union-attr]
    start = time.perf_counter()
    index.vectors(hits)  # type: ignore[attr-defined]
    for cid in hits:
        index.lang(cid)  # type: ignore[attr-defined]
    fig["lookups_100_s"] = time.perf_counter() - start

    rng = np.random.default_rng(5)
    steps: list[dict[str, float]] = []
    for n, reload in enumerate(plan["reloads"]):
        gone = set(reload["ids"])
        found = index.vectors(reload["ids"])  # type: ignore[attr-defined]
        old_ids = [cid for cid in reload["ids"] if cid in found]
        added = [cid.replace(":", f":bench{n:04d}", 1) for cid in old_ids]
        matrix = np.stack([found[cid] for cid in old_ids])
        matrix = matrix + rng.normal(scale=0.01, size=matrix.shape).astype(np.float32)
        matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
        dates = np.full(len(added), 20230101, dtype=np.int32)
        langs = [index.lang(cid) or "" for cid in old_ids]  # type: ignore[attr-defined]
        rss0, _ = rss_kib()
        reset_peak()
        start = time.perf_counter()
        updated = index.updated(gone, added, matrix, dates, langs)  # type: ignore[attr-defined]
        update_s = time.perf_counter() - start
        _, hwm = rss_kib()
        start = time.perf_counter()
        updated.search(queries[n % len(queries)], 20)
        search_s = time.perf_counter() - start
        start = time.perf_counter()
        updated.centroids()
        centroids_s = time.perf_counter() - start
        steps.append(
            {
                "rows": len(added),
                "update_s": update_s,
                "search_s": search_s,
                "centroids_s": centroids_s,
                "total_s": update_s + search_s + centroids_s,
                "peak_delta_mib": (hwm - rss0) / 1024,
            }
        )
        index = updated
    fig["reloads"] = steps
    after = searches(index, queries, plan["dates"])
    out = data / f"save-{side}"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    start = time.perf_counter()
    if side == "new":
        index.save(out / "vectors")  # type: ignore[attr-defined]
    else:
        lists = {"vector_ids": index.ids, "vector_langs": index.langs}  # type: ignore[attr-defined]
        (out / "lists.json").write_bytes(orjson.dumps(lists))
        np.save(out / "vectors.npy", np.ascontiguousarray(index.matrix))  # type: ignore[attr-defined]
        np.save(out / "vector_dates.npy", index.dates)  # type: ignore[attr-defined]
    fig["save_s"] = time.perf_counter() - start
    if side == "new":
        reloaded = module.VectorIndex.load(out / "vectors")
        fig["reloaded_same"] = searches(reloaded, queries, plan["dates"]) == after
        del reloaded
    shutil.rmtree(out, ignore_errors=True)
    if tuning and side == "new":
        fig["tuning"] = tune(module, index, queries[0])
    return {"figures": fig, "before": before, "after": after}


def tune(module: ModuleType, index: object, query: np.ndarray) -> dict[str, float]:
    """The costs COMPACT_SHARE weighs, at this size."""
    out: dict[str, float] = {}
    start = time.perf_counter()
    compacted = index._compacted()  # type: ignore[attr-defined]
    out["compaction_s"] = time.perf_counter() - start
    ids = compacted.ids
    eighth = len(ids) // 8
    module.COMPACT_SHARE = 10.0  # keep the dead rows and appended parts for the measurements
    dead = compacted.updated(set(ids[::8][:eighth]), [], None, np.zeros(0, np.int32), [])
    same_rows = dead._compacted()  # the same live rows without the dead ones
    clean_s, dead_s = [], []
    for _ in range(15):  # interleaved: the machine's load moves
        clean_s.append(_timed(lambda: same_rows.search(query, 20)))
        dead_s.append(_timed(lambda: dead.search(query, 20)))
    out["search_clean_s"] = statistics.median(clean_s)
    out["search_eighth_dead_s"] = statistics.median(dead_s)
    fresh = [f"tune:{i}" for i in range(eighth)]
    start = time.perf_counter()
    grown = compacted.updated(
        set(), fresh, compacted.matrix[:eighth] * 1.0, np.zeros(eighth, np.int32), ["en"] * eighth
    )
    out["add_eighth_s"] = time.perf_counter() - start
    start = time.perf_counter()
    grown._merged_from(1)  # type: ignore[attr-defined]
    out["merge_eighth_s"] = time.perf_counter() - start
    return out


def _timed(fn: object) -> float:
    start = time.perf_counter()
    fn()  # type: ignore[operator]
    return time.perf_counter() - start


# ---- the parent: children interleaved, figures compared ---------------------------------------


def run_child(args: argparse.Namespace, side: str, tuning: bool) -> dict:
    command = [
        sys.executable,
        __file__,
        "--child",
        side,
        "--data",
        str(args.data),
        "--source",
        str(args.source),
    ]
    if args.old:
        command += ["--old", args.old]
    command += ["--old-rev", args.old_rev]
    if tuning:
        command.append("--tuning")
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def compare(old: list[object], new: list[object]) -> tuple[int, int, int, float]:
    """(results whose ids or order differ, results, scores not bit-equal, largest score gap)."""
    differ = scores = 0
    gap = 0.0
    for a, b in zip(old, new, strict=True):
        if [c for c, _ in a] != [c for c, _ in b]:  # type: ignore[union-attr]
            differ += 1
            continue
        for (_, x), (_, y) in zip(a, b, strict=True):  # type: ignore[call-overload]
            if x != y:
                scores += 1
                gap = max(gap, abs(x - y))
    return differ, len(old), scores, gap


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, default=None, help="a saved snapshot folder")
    parser.add_argument("--data", type=Path, default=DATA, help="this script's own files")
    parser.add_argument("--reloads", type=int, default=10, help="successive updates timed")
    parser.add_argument("--queries", type=int, default=20, help="query vectors (x3 searches)")
    parser.add_argument("--repeat", type=int, default=3, help="processes per side (median)")
    parser.add_argument("--old", help="the OLD vectors.py as a file (default: --old-rev's)")
    parser.add_argument("--old-rev", default="main", help="git revision of the OLD vectors.py")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", default="bench_vectors", help="results/NAME.json")
    parser.add_argument("--child", choices=["old", "new"], help=argparse.SUPPRESS)
    parser.add_argument("--tuning", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.source = args.source or source_folder()

    if args.child:
        module = (
            old_module(OLD_FILE, args.old, args.old_rev)[0] if args.child == "old" else new_module
        )
        result = child(args.child, module, args.data, args.source, args.tuning)
        print(json.dumps(result))
        return

    old_label = old_module(OLD_FILE, args.old, args.old_rev)[1]
    start_line = machine_line()
    print(start_line)
    print(f"OLD: {old_label}\nNEW: {new_module.__file__}\nsource: {args.source}")
    start = time.perf_counter()
    prepare(args.data, args.source, args.reloads, args.queries, args.seed)
    print(f"prepared {args.data} in {time.perf_counter() - start:.1f} s", flush=True)
    runs: dict[str, list[dict]] = {"old": [], "new": []}
    for i in range(args.repeat):
        for side in ("old", "new"):
            runs[side].append(run_child(args, side, tuning=side == "new" and i == 0))
            f = runs[side][-1]["figures"]
            print(f"  {side} run {i + 1}: load {f['load_s']:.2f} s", flush=True)

    def med(side: str, key: str) -> float:
        return statistics.median(r["figures"][key] for r in runs[side])

    def med_reload(side: str, key: str, pick: str = "median") -> float:
        values = [s[key] for r in runs[side] for s in r["figures"]["reloads"]]
        return statistics.median(values) if pick == "median" else max(values)

    rows: list[list[object]] = []
    figures: dict[str, dict[str, float]] = {}

    def record(name: str, old_v: float, new_v: float, unit: str = "ms") -> None:
        scale = 1000.0 if unit == "ms" else 1.0
        figures[name] = {"old": old_v, "new": new_v, "ratio": new_v / old_v if old_v else 0.0}
        ratio = new_v / old_v if old_v else float("nan")
        rows.append([f"{name} ({unit})", old_v * scale, new_v * scale, ratio])

    record("load", med("old", "load_s"), med("new", "load_s"))
    record(
        "centroids at load", med("old", "centroids_at_load_s"), med("new", "centroids_at_load_s")
    )
    record(
        "load + centroids",
        med("old", "load_s") + med("old", "centroids_at_load_s"),
        med("new", "load_s") + med("new", "centroids_at_load_s"),
    )
    record("load RSS", med("old", "load_rss_mib"), med("new", "load_rss_mib"), "MiB")
    record("load peak RSS", med("old", "load_peak_mib"), med("new", "load_peak_mib"), "MiB")
    record("first search", med("old", "first_search_s"), med("new", "first_search_s"))
    record("search (median)", med("old", "search_s"), med("new", "search_s"))
    record(
        "lookups: 100 ids, vectors + lang", med("old", "lookups_100_s"), med("new", "lookups_100_s")
    )
    for key, name in (
        ("update_s", "reload: updated()"),
        ("search_s", "reload: next search"),
        ("centroids_s", "reload: centroids()"),
        ("total_s", "reload: all three"),
    ):
        record(name + " median", med_reload("old", key), med_reload("new", key))
    record(
        "reload: all three max",
        med_reload("old", "total_s", "max"),
        med_reload("new", "total_s", "max"),
    )
    record(
        "reload: peak RSS added, max",
        med_reload("old", "peak_delta_mib", "max"),
        med_reload("new", "peak_delta_mib", "max"),
        "MiB",
    )
    record("save after the reloads", med("old", "save_s"), med("new", "save_s"))

    mismatches: list[str] = []
    for what in ("before", "after"):
        for i in range(args.repeat):
            differ, total, scores, gap = compare(runs["old"][i][what], runs["new"][i][what])
            line = f"{what} the reloads, run {i + 1}: {total - differ}/{total} results same ids"
            line += f" and order; {scores} scores not bit-equal (largest gap {gap:.2e})"
            if i == 0:
                print(line)
            if differ:
                mismatches.append(line)
    same_after_save = all(r["figures"].get("reloaded_same") for r in runs["new"])

    end_line = machine_line()
    print()
    rows_n = json.loads((args.data / "plan.json").read_text())["rows"]
    print(f"{rows_n:,} rows; {args.reloads} reloads of one report each; medians of {args.repeat}")
    print(table(rows, ["step", "old", "new", "new/old"]))
    print(
        f"NEW saved after the reloads and loaded again: {'same' if same_after_save else 'DIFFERENT'}"
    )
    tuning = runs["new"][0]["figures"].get("tuning", {})
    if tuning:
        print(
            "COMPACT_SHARE costs (NEW): compaction {:.0f} ms; search {:.1f} ms clean, {:.1f} ms "
            "with 1/8 dead rows; adding 1/8 of the rows {:.0f} ms, merging them {:.0f} ms".format(
                tuning["compaction_s"] * 1000,
                tuning["search_clean_s"] * 1000,
                tuning["search_eighth_dead_s"] * 1000,
                tuning["add_eighth_s"] * 1000,
                tuning["merge_eighth_s"] * 1000,
            )
        )
    print(start_line + "\n" + end_line)
    path = write_result(
        args.out,
        {
            "rows": rows_n,
            "old": old_label,
            "figures": figures,
            "tuning": tuning,
            "mismatches": mismatches,
            "reloaded_same": same_after_save,
            "machine_start": start_line,
            "machine_end": end_line,
        },
    )
    print(f"wrote {path}")
    if mismatches or not same_after_save:
        sys.exit(1)


if __name__ == "__main__":
    main()
