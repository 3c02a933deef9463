#!/usr/bin/env python
"""Kill `ingest` with SIGKILL at random points, ingest again, and check that nothing was lost
and nothing half-written was ever visible.

    .venv/bin/python scripts/kill_ingest.py --runs 200

Six real corpus files are copied to a scratch folder in two variants (the original, and one
with a word changed throughout, so every report gets a new version). Each run writes the next
variant, starts a child process that runs `store.ingest.ingest` on the folder with a fast
deterministic stand-in embedder, and SIGKILLs it after a random delay: uniform from 0 to a
little over the time a full ingest takes, counted from when the child has opened the store (the
children are forked from a process that has imported everything, so a run is not mostly
imports). The first two runs instead kill the child exactly between a report's chunks and its
manifest row, and between the manifest row and the deletion of the old version. Then, in this
process:

* no half-written report is visible: each report in the manifest has exactly the full chunk
  set of its committed version (`ReportStore.committed_chunks()`);
* ingesting again (after `sweep()`, whose count tells whether the kill landed mid-write) leaves
  the store identical to a clean ingest of the same files: same reports, versions, chunk ids,
  texts, metadata and vectors, no duplicates, no leftovers.

tests/test_data_safety.py runs a short version of this; the exit status is 0 when every check
held. `--child DATA_DIR FILE...` runs one such ingest on its own.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from store.embedding import HashingEmbedder
from store.ingest import ingest
from store.parsers import parse_text
from store.records import Chunk, ReportEntry, report_chunks
from store.vector_store import ReportStore

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
# Every format: the Korean repost, both markdown crawls, three ISW pages.
SOURCES = [
    SHARED / "seed" / "000_859c8f8a3315b5de.txt",
    SHARED / "corpus" / "markdown" / "2025-12-17_ua-benchmark-crawl.md",
    SHARED / "corpus" / "markdown" / "2026-02-02_criticalthreats-crawl.md",
    SHARED / "corpus" / "isw-html" / "2022-03-16_kma-alarm-ml.html",
    SHARED / "corpus" / "isw-html" / "2022-04-14_kma-alarm-ml.html",
    SHARED / "corpus" / "isw-html" / "2022-10-08_kma-alarm-ml.html",
]
COLLECTION = "isw_reports"
VARIANTS = 2


@contextmanager
def opened(data_dir: Path) -> Iterator[ReportStore]:
    """A store on `data_dir` (laid out as `reportbot --data-dir` does, and opened as the bot
    opens it: it follows other processes' commits), closed afterwards so the next open reads
    the disk afresh instead of reusing Chroma's in-process state."""
    store = ReportStore.open(data_dir, COLLECTION, HashingEmbedder.name)
    try:
        yield store
    finally:
        store.close()


def variant_text(text: str, variant: int) -> str:
    """Variant 0 is the file as saved; variant 1 changes a word throughout."""
    return text if variant == 0 else text.replace(" forces", " troops")


@dataclass
class Corpus:
    """The scratch copies and, for every version either variant gives, its full chunk set."""

    folder: Path
    texts: dict[Path, str]
    chunk_ids: dict[str, set[str]] = field(default_factory=dict)  # version -> chunk ids
    versions: dict[str, set[str]] = field(default_factory=dict)  # report id -> versions

    @classmethod
    def prepare(cls, folder: Path, sources: list[Path] = SOURCES) -> Corpus:
        folder.mkdir(parents=True, exist_ok=True)
        corpus = cls(folder, {folder / p.name: p.read_text(encoding="utf-8") for p in sources})
        for variant in range(VARIANTS):
            for path, text in corpus.texts.items():
                report = parse_text(variant_text(text, variant), str(path))
                chunks = report_chunks(report)
                corpus.chunk_ids[chunks[0].version] = {c.id for c in chunks}
                corpus.versions.setdefault(report.report_id, set()).add(chunks[0].version)
        for rid, versions in corpus.versions.items():
            assert len(versions) == VARIANTS, f"variant did not change report {rid}"
        return corpus

    @property
    def files(self) -> list[Path]:
        return sorted(self.texts)

    def write(self, variant: int) -> None:
        for path, text in self.texts.items():
            path.write_text(variant_text(text, variant), encoding="utf-8")


@dataclass
class Snapshot:
    """What a reader of the store sees, plus the raw row count."""

    entries: dict[str, ReportEntry]
    chunks: list[Chunk]
    vectors: dict[str, np.ndarray]
    rows: int

    @classmethod
    def of(cls, store: ReportStore) -> Snapshot:
        entries = store.reports()
        chunks = sorted(store.committed_chunks(entries), key=lambda c: c.id)
        vectors = store.vectors([c.id for c in chunks])
        return cls(entries, chunks, vectors, store.chunks.count())


def half_visible(store: ReportStore, corpus: Corpus) -> list[str]:
    """Reports whose visible chunks are not exactly the full set of their committed version."""
    problems: list[str] = []
    entries = store.reports()
    seen: dict[str, set[str]] = {rid: set() for rid in entries}
    ids = [c.id for c in store.committed_chunks(entries)]
    if len(ids) != len(set(ids)):
        problems.append("duplicate chunk ids among the visible chunks")
    for cid in ids:
        seen.setdefault(cid.split(":", 1)[0], set()).add(cid)
    for rid, got in seen.items():
        entry = entries.get(rid)
        if entry is None:
            problems.append(f"{rid}: chunks visible without a manifest row")
        elif entry.version not in corpus.versions.get(rid, set()):
            problems.append(f"{rid}: unknown committed version {entry.version[:12]}")
        elif got != corpus.chunk_ids[entry.version]:
            want = corpus.chunk_ids[entry.version]
            problems.append(
                f"{rid}: {len(got & want)} of {len(want)} chunks of version "
                f"{entry.version[:12]} visible, {len(got - want)} foreign"
            )
    return problems


def differences(got: Snapshot, clean: Snapshot) -> list[str]:
    """How a store differs from a clean ingest of the same files (empty: identical)."""
    out: list[str] = []
    if set(got.entries) != set(clean.entries):
        out.append(f"reports {sorted(got.entries)} != {sorted(clean.entries)}")
    for rid in set(got.entries) & set(clean.entries):
        if got.entries[rid] != clean.entries[rid]:
            out.append(
                f"{rid}: manifest row differs ({got.entries[rid].version[:12]} vs "
                f"{clean.entries[rid].version[:12]})"
            )
    got_ids, clean_ids = [c.id for c in got.chunks], [c.id for c in clean.chunks]
    if got_ids != clean_ids:
        out.append(f"chunk ids differ ({len(got_ids)} vs {len(clean_ids)})")
    elif got.chunks != clean.chunks:
        out.append("chunk texts or metadata differ")
    if got.rows != len(got.chunks):
        out.append(f"{got.rows - len(got.chunks)} leftover rows besides the committed chunks")
    for cid in clean_ids:
        a, b = got.vectors.get(cid), clean.vectors.get(cid)
        if a is None or b is None or not np.allclose(a, b, atol=1e-6):
            out.append(f"vector of {cid} differs or is missing")
            break
    return out


@dataclass
class ChildRun:
    finished: bool  # the ingest completed before the kill
    after_ready: float  # seconds from "store open" to the end (kill or completion)


def run_child(
    data_dir: Path, files: list[Path], delay: float | None, log: Path, pause_at: str | None = None
) -> ChildRun:
    """Ingest in a child process; SIGKILL it `delay` seconds after it opened the store (or let
    it finish when `delay` is None), or as soon as it reaches `pause_at` (see PAUSE_POINTS)."""
    pause = ["--pause-at", pause_at] if pause_at else []
    with log.open("w") as err:
        proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), *pause, "--child", str(data_dir)]
            + [str(f) for f in files],
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
        )
        try:
            assert proc.stdout is not None
            if proc.stdout.readline().strip() != "ready":
                proc.wait(60)
                raise RuntimeError(f"child failed to start: {log.read_text()[-2000:]}")
            ready = time.monotonic()
            if pause_at is not None:
                if proc.stdout.readline().strip() != "paused":
                    raise RuntimeError(f"child did not pause: {log.read_text()[-2000:]}")
                proc.send_signal(signal.SIGKILL)
            elif delay is not None:
                try:
                    proc.wait(delay)
                except subprocess.TimeoutExpired:
                    proc.send_signal(signal.SIGKILL)
            code = proc.wait(120)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    after = time.monotonic() - ready
    if code not in (0, -signal.SIGKILL):
        raise RuntimeError(f"child ingest failed ({code}): {log.read_text()[-2000:]}")
    return ChildRun(finished=code == 0, after_ready=after)


# Where a child can be made to stop (and be killed), in the second report it writes:
# "commit": its chunks are written, its manifest row is not (the new version is uncommitted);
# "cleanup": its manifest row is switched, its old version's chunks are not yet deleted.
PAUSE_POINTS = ("commit", "cleanup")


class Launcher:
    """Runs child ingests like `run_child`, but forks them from a process that has imported
    everything already (`--zygote`): a fresh interpreter would spend most of a run importing
    chromadb. Each child is still its own process, killed with SIGKILL by its pid."""

    def __init__(self, log: Path) -> None:
        self._log = log.open("w")
        env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}  # no threads before fork()
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--zygote"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            env=env,
        )
        self._buffer = b""

    def _line(self, timeout: float | None) -> str | None:
        """The next line from the zygote or its child, or None after `timeout` seconds."""
        assert self.proc.stdout is not None
        deadline = None if timeout is None else time.monotonic() + timeout
        while b"\n" not in self._buffer:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            ready, _, _ = select.select([self.proc.stdout], [], [], left)
            if not ready:
                return None
            chunk = os.read(self.proc.stdout.fileno(), 65536)
            if not chunk:
                raise RuntimeError(f"the zygote died: {Path(self._log.name).read_text()[-2000:]}")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line.decode().strip()

    def run(
        self, data_dir: Path, files: list[Path], delay: float | None, pause_at: str | None = None
    ) -> ChildRun:
        assert self.proc.stdin is not None
        command = {"data": str(data_dir), "files": [str(f) for f in files], "pause": pause_at}
        self.proc.stdin.write(json.dumps(command).encode() + b"\n")
        self.proc.stdin.flush()
        pid, ready, code = None, None, None
        while pid is None or ready is None:  # the fork's "pid" and the child's "ready"
            line = self._line(120)
            if line is None or line.startswith("exit"):
                raise RuntimeError(f"child failed to start: {line}")
            if line.startswith("pid "):
                pid = int(line.split()[1])
            elif line == "ready":
                ready = time.monotonic()
        if pause_at is not None:
            if self._line(120) != "paused":
                raise RuntimeError("child did not pause")
            os.kill(pid, signal.SIGKILL)
        elif delay is not None:
            deadline = ready + delay
            while (left := deadline - time.monotonic()) > 0:
                line = self._line(left)
                if line is not None and line.startswith("exit"):
                    code = int(line.split()[1])
                    break
            else:
                os.kill(pid, signal.SIGKILL)
        while code is None:
            line = self._line(120)
            if line is None:
                raise RuntimeError("child did not exit")
            if line.startswith("exit"):
                code = int(line.split()[1])
        after = time.monotonic() - ready
        if code not in (0, -signal.SIGKILL):
            raise RuntimeError(f"child ingest failed ({code}): see {self._log.name}")
        return ChildRun(finished=code == 0, after_ready=after)

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._log.close()


def zygote() -> None:
    """Fork one child ingest per command line read from stdin; report "pid N", "exit N"."""
    for line in sys.stdin:
        command = json.loads(line)
        pid = os.fork()
        if pid == 0:  # the child
            code = 1
            try:
                child(Path(command["data"]), [Path(f) for f in command["files"]], command["pause"])
                code = 0
            except BaseException:
                traceback.print_exc()
            finally:
                sys.stdout.flush()
                os._exit(code)
        print(f"pid {pid}", flush=True)
        _, status = os.waitpid(pid, 0)
        print(f"exit {os.waitstatus_to_exitcode(status)}", flush=True)


def child(data_dir: Path, files: list[Path], pause_at: str | None = None) -> None:
    with opened(data_dir) as store:
        if pause_at is not None:
            _pause_in_second_write(store, pause_at)
        print("ready", flush=True)
        ingest(files, store, HashingEmbedder(), progress=False)
    print("done", flush=True)


def _pause_in_second_write(store: ReportStore, where: str) -> None:
    save = store.save_entry
    calls = 0

    def save_then_maybe_pause(entry: ReportEntry) -> None:
        nonlocal calls
        calls += 1
        if calls == 2 and where == "commit":
            _pause()
        save(entry)
        if calls == 2 and where == "cleanup":
            _pause()

    store.save_entry = save_then_maybe_pause  # type: ignore[method-assign]


def _pause() -> None:
    print("paused", flush=True)
    time.sleep(600)  # the parent kills us here


@dataclass
class Stats:
    runs: int = 0
    killed: int = 0  # the child was still running when the kill came
    mid_ingest: int = 0  # killed with some reports not yet at the new version
    mid_write: int = 0  # killed with uncommitted chunks on disk (swept by the re-ingest)
    swept: int = 0
    identical: int = 0  # re-ingests that ended identical to the clean ingest
    problems: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        return [
            f"runs: {self.runs}",
            f"kills: {self.killed} (the other {self.runs - self.killed} ingests finished first)",
            f"kills that landed mid-ingest (reports still at the old version): {self.mid_ingest}",
            f"kills that landed mid-write (uncommitted chunks left, swept on re-ingest): "
            f"{self.mid_write} ({self.swept} chunks swept)",
            f"re-ingests identical to a clean ingest: {self.identical}/{self.runs}",
            f"problems: {len(self.problems)}",
            *(f"  {p}" for p in self.problems[:20]),
            "result: " + ("OK" if not self.problems and self.identical == self.runs else "FAILED"),
        ]


def kill_runs(
    base: Path,
    runs: int,
    seed: int = 0,
    sources: list[Path] = SOURCES,
    log: Callable[[str], None] | None = None,
    pauses: tuple[str, ...] = PAUSE_POINTS,
) -> Stats:
    """The whole experiment in `base` (a scratch folder); see the module docstring. The first
    runs kill the child at each of `pauses` (so at least those land mid-write for sure); the
    other runs kill it after a random delay."""
    rng = random.Random(seed)
    corpus = Corpus.prepare(base / "files", sources)
    clean: list[Snapshot] = []
    for variant in range(VARIANTS):
        corpus.write(variant)
        with opened(base / f"clean-{variant}") as store:
            ingest(corpus.files, store, HashingEmbedder(), progress=False)
            clean.append(Snapshot.of(store))
    # What a run does: replace every report by its other variant. Time that for the delays.
    with opened(base / "timing") as store:
        corpus.write(0)
        ingest(corpus.files, store, HashingEmbedder(), progress=False)
        corpus.write(1)
        start = time.monotonic()
        ingest(corpus.files, store, HashingEmbedder(), progress=False)
        full = time.monotonic() - start
    shutil.rmtree(base / "timing")
    window = 1.15 * full
    if log:
        log(
            f"{runs} runs, {len(corpus.files)} reports; replacing them all takes {full:.2f} s "
            f"once the store is open; kill delay uniform 0-{window:.2f} s from then"
        )
    stats = Stats()
    data = base / "store"
    launcher = Launcher(base / "child.log")
    try:
        for run in range(runs):
            variant = run % VARIANTS
            corpus.write(variant)
            pause = pauses[run] if run < len(pauses) else None
            outcome = launcher.run(data, corpus.files, rng.uniform(0, window), pause)
            _check_and_recover(run, outcome, data, corpus, clean[variant], stats)
            if log and (run + 1) % 10 == 0:
                log(
                    f"  {run + 1} of {runs} runs: {stats.killed} killed, {stats.mid_write} "
                    f"mid-write, {len(stats.problems)} problems"
                )
    finally:
        launcher.close()
    return stats


def _check_and_recover(
    run: int, outcome: ChildRun, data: Path, corpus: Corpus, clean: Snapshot, stats: Stats
) -> None:
    """After a kill: nothing half visible; then ingest again and compare with `clean`."""
    stats.runs += 1
    stats.killed += not outcome.finished
    with opened(data) as store:
        problems = half_visible(store, corpus)
        stats.problems += [f"run {run}, after the kill: {p}" for p in problems]
        stale = store.sweep()
        entries = store.reports()
        behind = len(entries) < len(clean.entries) or any(
            e.version != clean.entries[rid].version for rid, e in entries.items()
        )
        stats.mid_ingest += not outcome.finished and behind
        stats.mid_write += stale > 0
        stats.swept += stale
        ingest(corpus.files, store, HashingEmbedder(), progress=False)
        diff = differences(Snapshot.of(store), clean)
        stats.problems += [f"run {run}, after re-ingesting: {d}" for d in diff]
        stats.identical += not diff


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: random)")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    parser.add_argument("--child", nargs="+", metavar="ARG", help=argparse.SUPPRESS)
    parser.add_argument("--pause-at", choices=PAUSE_POINTS, help=argparse.SUPPRESS)
    parser.add_argument("--zygote", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.zygote:
        zygote()
        return 0
    if args.child:
        child(Path(args.child[0]), [Path(p) for p in args.child[1:]], args.pause_at)
        return 0
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    print(f"seed {seed}", flush=True)
    base = args.keep or Path(tempfile.mkdtemp(prefix="kill-ingest-"))
    start = time.monotonic()
    try:
        stats = kill_runs(base, args.runs, seed, log=lambda line: print(line, flush=True))
    finally:
        if args.keep is None:
            shutil.rmtree(base, ignore_errors=True)
    print("\n".join(stats.lines()))
    print(f"time: {time.monotonic() - start:.0f} s")
    return 0 if stats.lines()[-1] == "result: OK" else 1


if __name__ == "__main__":
    sys.exit(main())
