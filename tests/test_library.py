"""The write path's one object (store/library.py): its verbs over one data folder, the store
opened and the model loaded only by the verbs that need them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from store.embedding import HashingEmbedder
from store.library import ReportLibrary, StoreLocation
from store.vector_store import ReportStore
from tests.conftest import CORPUS, SEED

HTML_MAR = CORPUS / "isw-html" / "2022-03-16_kma-alarm-ml.html"

pytestmark = pytest.mark.skipif(not SEED.exists(), reason="shared corpus not available")


class Counting:
    """Counts how often the library opened the store and loaded the model."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.stores: list[ReportStore] = []
        self.embedders = 0

    def open_store(self) -> ReportStore:
        store = ReportStore.open(self.data_dir, "isw_reports", HashingEmbedder.name)
        self.stores.append(store)
        return store

    def load_embedder(self) -> HashingEmbedder:
        self.embedders += 1
        return HashingEmbedder()

    def library(self) -> ReportLibrary:
        where = StoreLocation(self.data_dir, "isw_reports", HashingEmbedder.name)
        return ReportLibrary(where, self.open_store, self.load_embedder)


@pytest.fixture
def files(tmp_path) -> Path:
    folder = tmp_path / "reports"
    folder.mkdir()
    for src in (SEED, HTML_MAR):
        shutil.copy(src, folder / src.name)
    return folder


def test_ingest_then_stats_open_the_store_once(tmp_path, files):
    opened = Counting(tmp_path / "data")
    library = opened.library()
    assert opened.stores == [] and opened.embedders == 0  # nothing until a verb needs it
    summary = library.ingest([files], progress=False)
    assert summary.count("added") == 2 and not summary.failed
    again = library.ingest([files], progress=False)
    assert again.count("unchanged") == 2
    stats = library.stats()
    assert stats.reports == 2 and stats.embedding_model == HashingEmbedder.name
    assert stats == library.store.stats()  # one stats: the store's
    assert len(opened.stores) == 1 and opened.embedders == 1


def test_stats_loads_no_model(tmp_path, files):
    opened = Counting(tmp_path / "data")
    opened.library().ingest([files], progress=False)
    fresh = Counting(tmp_path / "data")
    assert fresh.library().stats().reports == 2
    assert fresh.embedders == 0


def test_over_an_open_store_writes_where_the_reader_reads(tmp_path, files):
    store = ReportStore.open(tmp_path / "data", "isw_reports", HashingEmbedder.name)
    library = ReportLibrary.over(store, HashingEmbedder())
    assert library.store is store
    assert library.location.data_dir == tmp_path / "data"
    library.ingest([files / SEED.name], progress=False)
    assert len(store.reports()) == 1


def test_export_restore_and_reindex(tmp_path, files):
    library = Counting(tmp_path / "data").library()
    library.ingest([files], progress=False)
    before = library.stats()
    archive = tmp_path / "backup.tar.gz"
    info = library.export(archive)
    assert info.reports == 2 and archive.is_file()

    restored = Counting(tmp_path / "restored")
    restored_library = restored.library()
    assert restored_library.restore(archive).reports == 2
    assert restored.stores == []  # restoring opens no store
    assert restored_library.stats().reports == before.reports

    rebuilt = Counting(tmp_path / "restored")
    done = rebuilt.library().reindex()
    assert done.summary.count("added") == 2 and done.missing == []
    assert rebuilt.stores == [] and rebuilt.embedders == 1  # reindex opens the folder itself
    assert Counting(tmp_path / "restored").library().stats().chunks == before.chunks
