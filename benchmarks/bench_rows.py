"""ChunkRows (retrieval/rows.py) against main's, in the same run, on a real saved read index.

The OLD rows are main's code (`git show main:retrieval/rows.py`, loaded as a module) reading the
snapshot's `rows/` folder as it is; the NEW rows are this checkout's, made from the same rows
(`from_chunks` of every chunk OLD gives back, checked equal row by row) and saved with the NEW
code into `--work`. Then each implementation is timed in its own fresh interpreter (OLD and NEW
interleaved, `--runs` each, medians reported with the ratio new/old):

* load; the first look-up after it (`rows[id]`); the first `rows_of` (its per-report index);
* a reload cycle, as `IndexSnapshot._apply` does it when another process committed one report:
  `without({report})` + `plus(26 new chunks of that report)`, then the first look-ups in the
  new rows (a new id, an old id) and `rows_of(report)`; `--cycles` of them, each on the last
  one's result (the chunks are made beforehand, outside the timing). Done twice: right after
  load, and after 50,000 `day()` look-ups (a wide date filter), when both keep an id dict;
* iterating every id; 50,000 `day()` look-ups; `report_ids` (what `Catalog.assemble` asks);
* NEW only: one compaction (due every ~1,000 such commits at 205k) and the look-up after it;
* RSS after load + first look-up, and peak RSS of the whole child (VmHWM).

`--save` also times `save` of the whole rows (OLD writes its format, NEW its own) into --work.

    python benchmarks/bench_rows.py                    # the 205,654-row synthetic read index
    python benchmarks/bench_rows.py --runs 3 --save

The source folder is only read. The machine may be shared: load average printed at both ends.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

from _common import machine, machine_line, old_module, table, write_result

SYNTH = Path("/tmp/rb/synth200k/read-index/isw_reports")
LOOKUPS = 50_000


def default_source() -> Path:
    return SYNTH / (SYNTH / "current").read_text("utf-8").strip() / "rows"


def load_module(which: str, rev: str = "main") -> ModuleType:
    if which == "new":
        from retrieval import rows

        return rows
    return old_module("retrieval/rows.py", rev=rev)[0]


def vm(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


# ---- one implementation, in a fresh interpreter ---------------------------------------------


def child(
    which: str, folder: Path, probe: str, report: str, cycles: int, work: Path, rev: str
) -> dict:
    module = load_module(which, rev)
    rows_class = module.ChunkRows
    out: dict[str, object] = {}

    def timed(name: str, fn):  # type: ignore[no-untyped-def]
        start = time.perf_counter()
        value = fn()
        out[name] = (time.perf_counter() - start) * 1000
        return value

    rows = timed("load", lambda: rows_class.load(folder))
    timed("first_lookup", lambda: rows[probe])
    out["rss_after_load_mib"] = vm("VmRSS")
    timed("first_rows_of", lambda: rows.rows_of(report))

    def run_cycles(rows, tag: str):  # type: ignore[no-untyped-def]
        totals, changes = [], []
        for k in range(cycles):
            old = [rows[cid] for cid in rows.ids_of({report})]
            new = [c.model_copy(update={"version": f"{tag}{k:03d}-{c.version}"}) for c in old]
            start = time.perf_counter()
            changed = rows.without({report}).plus(new)
            mid = time.perf_counter()
            changed[new[0].id]  # noqa: B018 - the look-ups a first question makes
            changed[probe]  # noqa: B018
            got = changed.rows_of(report)
            end = time.perf_counter()
            assert len(got) == len(new) and len(changed) == len(rows)
            changes.append((mid - start) * 1000)
            totals.append((end - start) * 1000)
            rows = changed
        out[f"cycle_{tag}_first"] = totals[0]
        out[f"cycle_{tag}_median"] = statistics.median(totals)
        out[f"cycle_{tag}_max"] = max(totals)
        out[f"change_{tag}_median"] = statistics.median(changes)
        return rows

    rows = run_cycles(rows, "a")
    ids = timed("iterate_ids", lambda: list(rows))
    sample = random.Random(7).choices(ids, k=LOOKUPS)
    timed("day_50k", lambda: [rows.day(cid) for cid in sample])
    timed("day_50k_again", lambda: [rows.day(cid) for cid in sample])
    timed("contains_50k", lambda: [cid in rows for cid in sample])
    rows = run_cycles(rows, "b")
    timed("report_ids", lambda: (rows.report_ids("takeaway"), rows.report_ids("passage")))
    if which == "new":
        compacted = timed("compaction", rows._compacted)
        timed("lookup_after_compaction", lambda: compacted[probe])
    out["peak_rss_mib"] = vm("VmHWM")
    if work.name:
        target = work / f"save-{which}"
        shutil.rmtree(target, ignore_errors=True)
        timed("save", lambda: rows.save(target))
        shutil.rmtree(target, ignore_errors=True)
    return out


# ---- the run ---------------------------------------------------------------------------------


def prepare(source: Path, work: Path, rev: str) -> tuple[Path, str, str]:
    """NEW's copy of the rows, a probe id and a report of ~26 rows."""
    old_rows, new_module = load_module("old", rev), load_module("new")
    old = old_rows.ChunkRows.load(source)
    ids = list(old)
    probe = ids[len(ids) // 2]
    report = next(rid for rid in old.report_ids("passage") if len(old.rows_of(rid)) == 26)
    target = work / "new-rows"
    shutil.rmtree(target, ignore_errors=True)  # made again: the code may have changed
    start = time.perf_counter()
    made = new_module.ChunkRows.from_chunks(old[cid] for cid in ids)
    made.save(target)
    print(f"NEW rows made and saved in {time.perf_counter() - start:.1f} s: {target}")
    loaded = new_module.ChunkRows.load(target)
    assert list(loaded) == ids
    for i in range(0, len(ids), 997):  # every 997th row, whole
        assert loaded[ids[i]].model_dump() == old[ids[i]].model_dump()
        assert loaded.chunk_at(i).model_dump() == old.chunk_at(i).model_dump()
    for rid in old.report_ids("takeaway")[::50]:
        assert loaded.rows_of(rid) == old.rows_of(rid)
    print("NEW rows checked against OLD (order, every 997th chunk, rows_of)")
    return target, probe, report


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument(
        "--source", type=Path, default=None, help="a saved rows/ folder (main's format)"
    )
    parser.add_argument("--work", type=Path, default=Path("/tmp/rb/rows-delta-data"))
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cycles", type=int, default=20)
    parser.add_argument("--save", action="store_true", help="also time save")
    parser.add_argument("--out", default="bench_rows")
    parser.add_argument("--old-rev", default="main", help="git revision of the OLD rows.py")
    parser.add_argument("--child", choices=["old", "new"], help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--probe", help=argparse.SUPPRESS)
    parser.add_argument("--report", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        result = child(
            args.child,
            args.folder,
            args.probe,
            args.report,
            args.cycles,
            args.work if args.save else Path(),
            args.old_rev,
        )
        print(json.dumps(result))
        return

    source = args.source or default_source()
    args.work.mkdir(parents=True, exist_ok=True)
    start_machine = machine()
    print(machine_line(start_machine))
    new_folder, probe, report = prepare(source, args.work, args.old_rev)
    folders = {"old": source, "new": new_folder}
    runs: dict[str, list[dict]] = {"old": [], "new": []}
    for _ in range(args.runs):
        for which in ("old", "new"):
            cmd = [
                sys.executable,
                __file__,
                "--child",
                which,
                "--folder",
                str(folders[which]),
                "--probe",
                probe,
                "--report",
                report,
                "--cycles",
                str(args.cycles),
                "--work",
                str(args.work),
                "--old-rev",
                args.old_rev,
            ] + (["--save"] if args.save else [])
            done = subprocess.run(cmd, check=True, capture_output=True, text=True)
            runs[which].append(json.loads(done.stdout.strip().splitlines()[-1]))
    keys = list(runs["new"][0])
    medians = {
        w: {k: statistics.median(r[k] for r in runs[w] if k in r) for k in keys if k in runs[w][0]}
        for w in runs
    }
    rows = []
    for key in keys:
        old = medians["old"].get(key, float("nan"))
        new = medians["new"][key]
        rows.append([key, old, new, new / old if old == old and old else float("nan")])
    count = json.loads((new_folder / "columns.json").read_text("utf-8"))["rows"]
    print(
        f"\n{count:,} rows; report {report!r} (26 rows); {args.cycles} cycles; "
        f"medians of {args.runs} runs (ms unless _mib)"
    )
    print(table(rows, ["figure", "old (main)", "new", "new/old"]))
    end_machine = machine()
    print(machine_line(end_machine))
    path = write_result(
        args.out,
        {
            "source": str(source),
            "report": report,
            "cycles": args.cycles,
            "runs": runs,
            "medians": medians,
            "machine_start": start_machine,
            "machine_end": end_machine,
        },
    )
    print(f"written {path}")


if __name__ == "__main__":
    main()
