"""The read side's saved indexes (retrieval/snapshot.py): brought up to date report by report,
they equal a clean build from the store, also after an ingest was SIGKILLed mid-report."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from retrieval.snapshot import IndexSnapshot, load_snapshot, snapshot_folder
from retrieval.tokenize import Tokenizer
from store.embedding import HashingEmbedder
from store.ingest import ingest
from store.vector_store import GENERATION_FILE, record_change
from tests import kill_ingest
from tests.conftest import SEED

pytestmark = pytest.mark.skipif(not SEED.exists(), reason="shared corpus not available")


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    return Tokenizer()


def _postings(snapshot: IndexSnapshot) -> dict[str, list[tuple[str, int]]]:
    """Each passage's terms and counts, by id: what the BM25 index holds, order aside."""
    out: dict[str, list[tuple[str, int]]] = {}
    assert snapshot.lexical is not None
    for part in snapshot.lexical._parts.values():
        terms = {i: t for t, i in part._vocab.items()}
        for row, doc_id in enumerate(part._ids):
            lo, hi = int(part._ptr[row]), int(part._ptr[row + 1])
            assert doc_id not in out
            out[doc_id] = sorted(
                (terms[int(i)], int(c))
                for i, c in zip(part._terms[lo:hi], part._counts[lo:hi], strict=True)
            )
    return out


def _vectors(snapshot: IndexSnapshot) -> dict[str, list[float]]:
    return {cid: np.asarray(snapshot.vectors.get(cid)).tolist() for cid in snapshot.vectors.ids}


def _assert_same(got: IndexSnapshot, clean: IndexSnapshot) -> None:
    assert got.versions == clean.versions
    assert got.generation == clean.generation
    assert set(got.chunks) == set(clean.chunks)
    assert {k: c.model_dump() for k, c in got.chunks.items()} == {
        k: c.model_dump() for k, c in clean.chunks.items()
    }
    assert _postings(got) == _postings(clean)
    assert _vectors(got) == _vectors(clean)
    assert got.nouns == clean.nouns
    assert got.reports == clean.reports


def _clean(data_dir: Path, tokenizer: Tokenizer) -> IndexSnapshot:
    """A build from Chroma alone (not the copies of recent versions readers catch up from)."""
    with kill_ingest.opened(data_dir) as store:
        store.recent = None
        return IndexSnapshot(tokenizer).sync(store)[0]


def _two_reports_saved(
    tmp_path: Path, tokenizer: Tokenizer
) -> tuple[Path, list[Path], IndexSnapshot]:
    """A store of the corpus's first two reports and its saved snapshot; the data folder and
    the files not ingested yet."""
    corpus = kill_ingest.Corpus.prepare(tmp_path / "files")
    corpus.write(0)
    data_dir = tmp_path / "data"
    with kill_ingest.opened(data_dir) as store:
        ingest(corpus.files[:2], store, HashingEmbedder(), progress=False)
        return data_dir, corpus.files[2:], load_snapshot(store, tokenizer)


def test_a_start_reads_the_saved_snapshot_and_catches_up_report_by_report(tmp_path, tokenizer):
    data_dir, rest, saved = _two_reports_saved(tmp_path, tokenizer)
    with kill_ingest.opened(data_dir) as store:
        folder = snapshot_folder(store)
    assert folder is not None and (folder / "current").exists()
    assert len(saved.versions) == 2

    # Nothing committed since: the saved copy is served as it is, without reading the store.
    with kill_ingest.opened(data_dir) as store:
        store.reports = _must_not_read  # type: ignore[method-assign]
        again = load_snapshot(store, tokenizer)
    _assert_same(again, saved)

    # Another process adds reports: only those are read, and the result is a clean build's.
    with kill_ingest.opened(data_dir) as store:
        ingest(rest, store, HashingEmbedder(), progress=False)
    # The generation file names the reports committed since: their manifest rows are read,
    # not the whole manifest.
    with kill_ingest.opened(data_dir) as store:
        store.reports = _must_not_read  # type: ignore[method-assign]
        read = []
        chunks_of = store.chunks_of
        store.chunks_of = lambda reports, vectors=None: (  # type: ignore[method-assign]
            read.extend(reports) or chunks_of(reports, vectors)
        )
        caught_up = load_snapshot(store, tokenizer)
    assert sorted(read) == sorted(set(caught_up.versions) - set(saved.versions))
    _assert_same(caught_up, _clean(data_dir, tokenizer))


def test_a_reader_catches_up_from_the_copies_of_recent_versions_not_chroma(tmp_path, tokenizer):
    """Embedded Chroma loads a collection's whole vector index on the first read after a reopen
    (0.47 s and ~420 MB at 205,000 chunks): the reports another process just committed are
    read from the copies it kept, and a copy that is missing or damaged is read from Chroma."""
    data_dir, rest, saved = _two_reports_saved(tmp_path, tokenizer)
    with kill_ingest.opened(data_dir) as store:
        ingest(rest, store, HashingEmbedder(), progress=False)
        assert store.recent is not None
        copies = sorted(store.recent.folder.glob("*.npz"))
    assert len(copies) == len(rest) + 2
    copies[0].write_bytes(b"not a copy")  # damaged: that report comes from Chroma
    with kill_ingest.opened(data_dir) as store:
        from_chroma: list[str] = []
        real = store._chunks_of
        store._chunks_of = lambda reports, vectors=None: (  # type: ignore[method-assign]
            from_chroma.extend(reports) or real(reports, vectors)
        )
        caught_up, changed = saved.sync(store)
    assert changed
    assert len(from_chroma) <= 1
    assert len(caught_up.versions) - len(saved.versions) > len(from_chroma)
    _assert_same(caught_up, _clean(data_dir, tokenizer))


def test_a_change_the_generation_file_cannot_tell_means_reading_the_whole_manifest(
    tmp_path, tokenizer
):
    corpus = kill_ingest.Corpus.prepare(tmp_path / "files")
    corpus.write(0)
    data_dir = tmp_path / "data"
    with kill_ingest.opened(data_dir) as store:
        ingest(corpus.files[:2], store, HashingEmbedder(), progress=False)
        saved = load_snapshot(store, tokenizer)
        ingest(corpus.files[2:3], store, HashingEmbedder(), progress=False)
        # An unknown line (a reindex, a restore, a newer version's change) after the commit.
        record_change(data_dir, "reindex reports")
        whole = []
        reports = store.reports
        store.reports = lambda: whole.append(1) or reports()  # type: ignore[method-assign]
        caught_up, changed = saved.sync(store)
    assert changed and whole
    _assert_same(caught_up, _clean(data_dir, tokenizer))
    # The file replaced (as a restore or the size cap does): read whole as well.
    with kill_ingest.opened(data_dir) as store:
        again = caught_up.sync(store)[0]
        before = len(whole)
        (data_dir / GENERATION_FILE).unlink()
        record_change(data_dir, f"commit {next(iter(saved.versions))} x")
        store.reports = lambda: whole.append(1) or reports()  # type: ignore[method-assign]
        again.sync(store)
    assert len(whole) > before


def _must_not_read() -> None:
    raise AssertionError("the manifest was read although the store did not change")


@pytest.mark.parametrize("pause_at", kill_ingest.PAUSE_POINTS)
def test_after_a_killed_ingest_the_snapshot_equals_a_clean_build(tmp_path, tokenizer, pause_at):
    corpus = kill_ingest.Corpus.prepare(tmp_path / "files")
    corpus.write(0)
    data_dir = tmp_path / "data"
    with kill_ingest.opened(data_dir) as store:
        ingest(corpus.files, store, HashingEmbedder(), progress=False)
        load_snapshot(store, tokenizer)  # saved: variant 0 of every report
    corpus.write(1)  # every report changes: a new version each
    run = kill_ingest.run_child(
        data_dir, corpus.files, None, tmp_path / "child.log", pause_at=pause_at
    )
    assert not run.finished  # killed inside its second report
    with kill_ingest.opened(data_dir) as store:
        after_kill = load_snapshot(store, tokenizer)
    _assert_same(after_kill, _clean(data_dir, tokenizer))
    # Killed writing its second report: before its commit point one report of variant 1 is
    # committed, after it (its old rows not yet cleaned up) two.
    new = {v for v in after_kill.versions.values() if v not in _versions_of(corpus, 0)}
    assert len(new) == {"commit": 1, "cleanup": 2}[pause_at]

    # And the next ingest brings the saved copy to the end state, again like a clean build.
    with kill_ingest.opened(data_dir) as store:
        ingest(corpus.files, store, HashingEmbedder(), progress=False)
    with kill_ingest.opened(data_dir) as store:
        finished = load_snapshot(store, tokenizer)
    _assert_same(finished, _clean(data_dir, tokenizer))
    assert set(finished.versions.values()) == _versions_of(corpus, 1)


def _versions_of(corpus, variant: int) -> set[str]:
    from store.parsers import parse_text
    from store.records import report_chunks

    return {
        report_chunks(parse_text(kill_ingest.variant_text(text, variant), str(path)))[0].version
        for path, text in corpus.texts.items()
    }


def test_a_damaged_or_foreign_snapshot_is_rebuilt(tmp_path, tokenizer):
    corpus = kill_ingest.Corpus.prepare(tmp_path / "files")
    corpus.write(0)
    data_dir = tmp_path / "data"
    with kill_ingest.opened(data_dir) as store:
        ingest(corpus.files[:2], store, HashingEmbedder(), progress=False)
        load_snapshot(store, tokenizer)
        folder = snapshot_folder(store)
    assert folder is not None
    current = folder / (folder / "current").read_text().strip()
    (current / "state.json").write_text("{not json")
    with kill_ingest.opened(data_dir) as store:
        rebuilt = load_snapshot(store, tokenizer)
    _assert_same(rebuilt, _clean(data_dir, tokenizer))
