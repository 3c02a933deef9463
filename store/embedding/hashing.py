"""Deterministic bag-of-words vectors: an embedding backend that loads no model.

Storage mechanics (ingest, versions, backups, pushes, killed writers) do not depend on what the
vectors mean, only that the same text always gets the same vector; this backend gives that in
microseconds, so the kill runs (scripts/kill_ingest.py), the tests and the benchmarks' storage
runs do not wait for a model.
"""

from __future__ import annotations

import hashlib

import numpy as np


class HashingEmbedder:
    """Each word adds one to an md5-chosen dimension; rows are L2-normalised like e5's."""

    name = "hashing-test"
    dim = 64

    def embed_passages(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        return self._vectors(texts)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._vectors(texts)

    def _vectors(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().split():
                out[row, int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dim] += 1.0
            out[row] /= max(np.linalg.norm(out[row]), 1e-9)
        return out
