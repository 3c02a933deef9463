"""The write path against a real Chroma: idempotence, replacement, duplicates, failures, crashes,
and both the embedded store and a `chroma run` server."""

from __future__ import annotations

import shutil
from pathlib import Path

import chromadb
import pytest

from store.embedding import HashingEmbedder
from store.ingest import ingest
from store.records import report_chunks
from store.vector_store import ReportStore, StoreMismatchError
from tests.conftest import CORPUS, SEED

MD_FEB = CORPUS / "markdown" / "2026-02-02_criticalthreats-crawl.md"
HTML_MAR = CORPUS / "isw-html" / "2022-03-16_kma-alarm-ml.html"


@pytest.fixture
def store(tmp_path) -> ReportStore:
    client = chromadb.PersistentClient(path=str(tmp_path / "chroma"))
    return ReportStore(client, "test_reports", HashingEmbedder.name)


@pytest.fixture
def files(tmp_path) -> Path:
    folder = tmp_path / "reports"
    folder.mkdir()
    for src in (SEED, MD_FEB, HTML_MAR):
        shutil.copy(src, folder / src.name)
    return folder


def test_ingest_then_reingest_changes_nothing(store, files):
    first = ingest([files], store, HashingEmbedder(), progress=False)
    assert first.count("added") == 3 and not first.failed
    chunks_before = sorted(store.chunks.get()["ids"])
    again = ingest([files], store, HashingEmbedder(), progress=False)
    assert again.count("unchanged") == 3 and again.count("added") == 0
    assert sorted(store.chunks.get()["ids"]) == chunks_before
    assert len(store.reports()) == 3


def test_changed_file_replaces_its_reports_passages(store, files):
    ingest([files], store, HashingEmbedder(), progress=False)
    target = files / SEED.name
    target.write_text(
        target.read_text(encoding="utf-8").replace("Avdiivka", "Avdiivka (edited)"),
        encoding="utf-8",
    )
    summary = ingest([files], store, HashingEmbedder(), progress=False)
    assert summary.count("updated") == 1 and summary.count("unchanged") == 2
    docs = store.chunks.get(include=["documents"])["documents"]
    assert any("Avdiivka (edited)" in d for d in docs)
    assert not any("Avdiivka amid" in d for d in docs), "old version must be gone"
    assert store.chunks.count() == len(store.committed_chunks())


def test_same_report_saved_twice_is_one_report(store, files, tmp_path):
    copy = tmp_path / "other" / "saved-again.md"
    copy.parent.mkdir()
    shutil.copy(MD_FEB, copy)
    summary = ingest([files, copy], store, HashingEmbedder(), progress=False)
    assert len(store.reports()) == 3
    assert summary.count("added") == 3
    entry = next(e for e in store.reports().values() if e.report_date.isoformat() == "2026-02-02")
    assert str(copy) in entry.sources and len(entry.sources) == 2
    # Re-ingesting both copies in either order keeps the stored version stable.
    before = store.reports()
    ingest([copy, files], store, HashingEmbedder(), progress=False)
    assert store.reports() == before


def test_unparseable_files_fail_clearly_and_the_rest_goes_in(store, files):
    (files / "empty.txt").write_text("", encoding="utf-8")
    (files / "binary.html").write_bytes(bytes(range(256)) * 10)
    (files / "notes.md").write_text("# Shopping\n\n- milk\n- eggs\n", encoding="utf-8")
    summary = ingest([files], store, HashingEmbedder(), progress=False)
    failed = {Path(o.path).name: o.reason for o in summary.failed}
    assert set(failed) == {"empty.txt", "binary.html", "notes.md"}
    assert all(reason and "\n" not in reason for reason in failed.values())
    assert summary.count("added") == 3


def test_a_crash_before_commit_leaves_nothing_visible(store, files, monkeypatch):
    ingest([files / HTML_MAR.name], store, HashingEmbedder(), progress=False)
    visible = store.committed_chunks()

    def killed(entry):
        raise KeyboardInterrupt("killed between the chunks and the manifest row")

    monkeypatch.setattr(store, "save_entry", killed)
    with pytest.raises(KeyboardInterrupt):
        ingest([files], store, HashingEmbedder(), progress=False)
    monkeypatch.undo()
    # Half-written chunks exist but no reader sees them.
    assert store.chunks.count() > len(visible)
    assert store.committed_chunks() == visible
    summary = ingest([files], store, HashingEmbedder(), progress=False)
    assert summary.count("added") == 2
    assert store.chunks.count() == len(store.committed_chunks())


def test_bilingual_takeaways_are_stored_in_both_languages(store):
    ingest([SEED], store, HashingEmbedder(), progress=False)
    metas = store.chunks.get(where={"kind": "takeaway"}, include=["metadatas"])["metadatas"]
    langs = sorted(m["lang"] for m in metas)
    assert langs.count("en") == 10 and langs.count("ko") == 10
    assert {m["report_date"] for m in metas} == {"2024-01-26"}
    assert {m["report_date_int"] for m in metas} == {20240126}


def test_store_refuses_another_embedding_model(tmp_path):
    client = chromadb.PersistentClient(path=str(tmp_path / "chroma"))
    ReportStore(client, "test_reports", "model-a")
    with pytest.raises(StoreMismatchError, match="model-a"):
        ReportStore(client, "test_reports", "model-b")


def test_chroma_server_mode(chroma_server, files):
    from store.vector_store import open_client

    client = open_client(Path("unused"), chroma_server)
    store = ReportStore(client, "server_reports", HashingEmbedder.name)
    summary = ingest([files], store, HashingEmbedder(), progress=False)
    assert summary.count("added") == 3
    again = ingest([files], store, HashingEmbedder(), progress=False)
    assert again.count("unchanged") == 3
    entry = next(iter(store.reports().values()))
    vector = HashingEmbedder().embed_queries(["Avdiivka"])[0]
    hits = store.dense_search(vector, 5)
    assert hits and all(-1.0 <= sim <= 1.0 for _, sim in hits)
    assert entry.version in {c.version for c in store.committed_chunks()}


def test_chunks_carry_the_metadata_queries_filter_on():
    from store.parsers import parse_file

    chunks = report_chunks(parse_file(SEED))
    meta = chunks[0].metadata()
    assert {
        "report_id",
        "report_date",
        "report_date_int",
        "lang",
        "kind",
        "position",
        "title",
        "source",
    } <= set(meta)
