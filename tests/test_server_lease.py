"""Writers from different data folders on one `chroma run` server (store.server_lease).

Before the lease, a second writer's start swept up the first writer's chunks that were written
but not yet committed: "10 added", yet half the chunks were gone. Here the first writer is slow
(its embedder sleeps), the second starts from another data folder in the middle of it, and one
writer is SIGKILLed while holding the lease; every store must equal a clean ingest.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from store.embedding import HashingEmbedder
from store.ingest import ingest
from store.parsers import parse_file
from store.records import report_chunks
from store.server_lease import ServerLease
from store.vector_store import ReportStore
from store.write_lock import StoreBusyError
from tests.conftest import CORPUS, REPO

HTML = sorted((CORPUS / "isw-html").glob("2022-03-0*_kma-alarm-ml.html"))

pytestmark = pytest.mark.skipif(not HTML, reason="shared corpus not available")


class SlowEmbedder(HashingEmbedder):
    """Hashing vectors, seconds late, saying when it started: a second writer can be started
    while the first holds the lease mid-write."""

    def __init__(self) -> None:
        self.embedding = threading.Event()

    def embed_passages(self, texts, batch_size=32):
        self.embedding.set()
        time.sleep(3.0)
        return super().embed_passages(texts, batch_size)


def _open(tmp_path: Path, folder: str, server: str, collection: str = "isw") -> ReportStore:
    return ReportStore.open(tmp_path / folder, collection, HashingEmbedder.name, server)


def _expected(files: list[Path]) -> tuple[set[str], int]:
    reports = [parse_file(f) for f in files]
    return {r.report_id for r in reports}, sum(len(report_chunks(r)) for r in reports)


def _state(store: ReportStore) -> tuple[set[str], int, bool]:
    """(committed report ids, chunk rows, does every chunk belong to a committed version)."""
    committed = {rid: e.version for rid, e in store.reports().items()}
    rows = store.chunks.get(include=["metadatas"])
    clean = all(committed.get(m["report_id"]) == m["version"] for m in rows["metadatas"] or [])
    return set(committed), len(rows["ids"]), clean


def test_a_second_data_folder_waits_instead_of_sweeping_the_first_writers_chunks(
    tmp_path, chroma_server
):
    first, second = HTML[:4], HTML[4:6]
    store_a = _open(tmp_path, "a", chroma_server)
    store_b = _open(tmp_path, "b", chroma_server)
    results = {}
    slow = SlowEmbedder()

    def write_a() -> None:
        results["a"] = ingest(first, store_a, slow, progress=False)

    writer = threading.Thread(target=write_a)
    writer.start()
    assert slow.embedding.wait(60)  # A holds the lease and is embedding its first reports
    waited: list[str] = []
    results["b"] = ingest(second, store_b, HashingEmbedder(), progress=False, on_wait=waited.append)
    writer.join(60)
    assert results["a"].count("added") == 4 and results["b"].count("added") == 2
    assert waited and "holds the Chroma server's write lease" in waited[0]
    ids, chunks = _expected(first + second)
    assert _state(store_b) == (ids, chunks, True)
    with pytest.raises(StoreBusyError, match="write lease"):
        with ServerLease(store_b.client, "isw").held():
            ingest(first, store_a, HashingEmbedder(), progress=False, wait=False)


_KILLED_WRITER = """
import os, signal, sys
from pathlib import Path
sys.path.insert(0, {repo!r})
from store.parsers import parse_file
from store.records import ReportEntry, report_chunks
from store.vector_store import ReportStore
from store.embedding import HashingEmbedder

store = ReportStore.open(Path({data!r}), "isw", HashingEmbedder.name, {server!r})
store.lease_ttl = 3.0
report = parse_file(Path({file!r}))
chunks = report_chunks(report)
with store.writing():
    half = chunks[: len(chunks) // 2]
    store.chunks.upsert(
        ids=[c.id for c in half],
        embeddings=HashingEmbedder().embed_passages([c.text for c in half]),
        documents=[c.text for c in half],
        metadatas=[c.metadata() for c in half],
    )
    print("written", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)  # mid-write, holding the lease, never committing
"""


def test_a_writer_killed_while_holding_the_lease_is_recovered_after_it_lapses(
    tmp_path, chroma_server
):
    files = HTML[:3]
    script = _KILLED_WRITER.format(
        repo=str(REPO),
        data=str(tmp_path / "killed"),
        server=chroma_server,
        file=str(files[0]),
    )
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert proc.returncode == -signal.SIGKILL and "written" in proc.stdout, proc.stderr
    store = _open(tmp_path, "other", chroma_server)
    assert store.chunks.count() > 0 and not store.reports()  # the killed writer's leftovers
    started = time.monotonic()
    waited: list[str] = []
    summary = ingest(files, store, HashingEmbedder(), progress=False, on_wait=waited.append)
    assert summary.count("added") == 3
    assert waited and time.monotonic() - started < 30  # waited for the 3 s lease, no longer
    assert _state(store) == (*_expected(files)[:2], True)

    clean = _open(tmp_path, "clean", chroma_server, collection="clean")
    ingest(files, clean, HashingEmbedder(), progress=False)
    mine = {k: e.version for k, e in store.reports().items()}
    assert mine == {k: e.version for k, e in clean.reports().items()}
    assert sorted(store.chunks.get()["ids"]) == sorted(clean.chunks.get()["ids"])
