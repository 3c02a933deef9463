"""The copies of recently committed report versions (store/recent_versions.py)."""

from __future__ import annotations

import os
from datetime import date

import numpy as np

from store import recent_versions
from store.recent_versions import RecentVersions
from store.records import Chunk, ReportEntry


def _report(rid: str, version: str) -> tuple[ReportEntry, list[Chunk], np.ndarray]:
    entry = ReportEntry(
        report_id=rid,
        version=version,
        report_date=date(2024, 1, 26),
        title="Russian Offensive Campaign Assessment",
        source="a.md",
        sources=["a.md"],
        languages=["en"],
        takeaways=1,
        passages=1,
    )
    base = {"report_id": rid, "version": version, "report_date": date(2024, 1, 26), "source": "a"}
    chunks = [
        Chunk(**base, kind="takeaway", lang="en", position=0, text="Avdiivka.", title="t"),
        Chunk(**base, kind="passage", lang="en", position=0, text="Kreminna.", title="t"),
    ]
    return entry, chunks, np.arange(6, dtype=np.float32).reshape(2, 3)


def test_a_copy_reads_back_only_for_its_own_model_report_and_version(tmp_path):
    copies = RecentVersions(tmp_path, "model-a")
    entry, chunks, vectors = _report("r1", "v1")
    copies.write(entry, chunks, vectors)
    got = copies.read(entry)
    assert got is not None
    assert [c.model_dump() for c in got[0]] == [c.model_dump() for c in chunks]
    assert np.array_equal(got[1], vectors)
    assert copies.read(entry.model_copy(update={"version": "v2"})) is None
    assert RecentVersions(tmp_path, "model-b").read(entry) is None
    copies.forget()
    assert copies.read(entry) is None


def test_prune_keeps_the_newest_and_drops_the_old(tmp_path, monkeypatch):
    monkeypatch.setattr(recent_versions, "KEEP_COUNT", 2)
    copies = RecentVersions(tmp_path, "m")
    now = 1_000_000_000.0
    for i, age in enumerate([10.0, 20.0, 30.0, recent_versions.KEEP_SECONDS + 5]):
        entry, chunks, vectors = _report(f"r{i}", "v")
        copies.write(entry, chunks, vectors)
        path = next(p for p in tmp_path.glob("*.npz") if p.stat().st_mtime > now)
        os.utime(path, (now - age, now - age))
    copies.prune(now)
    kept = [i for i in range(4) if copies.read(_report(f"r{i}", "v")[0]) is not None]
    assert kept == [0, 1]


def test_a_copy_holds_only_its_own_reports_chunks(tmp_path):
    """Chunks of other reports written under one entry (bench_query's synthetic store writes a
    whole copy of the corpus that way) are not its version's: a read of the store by version
    would not return them either, and a reader would get them twice."""
    copies = RecentVersions(tmp_path, "m")
    entry, chunks, vectors = _report("r1", "v1")
    _, others, other_vectors = _report("r2", "v2")
    copies.write(entry, chunks + others, np.concatenate([vectors, other_vectors]))
    got = copies.read(entry)
    assert got is not None
    assert [c.id for c in got[0]] == [c.id for c in chunks]
    assert np.array_equal(got[1], vectors)
