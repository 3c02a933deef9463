"""The rows of the report versions committed lately, kept as small files beside the store, so a
reader catching up with another process's commit takes them from here instead of from Chroma.

Why: embedded Chroma loads a collection's whole vector index into memory on the first read
after the client opens, and a reader must reopen its client after every commit it follows (see
ReportStore.sync). At 205,000 chunks that first read took 0.47 s and added ~420 MB to the
running bot's memory, for the ~26 rows of one report; reading this file takes milliseconds.

A copy is written before the manifest row that commits its version, atomically (a temporary
name, then a rename), and is named by the embedding model, the report and the version, so it
holds exactly what that version's chunks and vectors are in Chroma: a reader uses a copy only
for a version the manifest says is committed, and reads Chroma for any it cannot find (pruned,
never written, unreadable). Copies of versions that never got committed (a killed ingest) are
pruned with the old ones. The folder is derived data: deleting it costs nothing but speed.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import orjson

from store.records import Chunk, ReportEntry

log = logging.getLogger(__name__)

FOLDER = "recent-versions"
# Long enough for a bot that answers nothing for a day to catch up from copies; the count
# bounds the folder during a bulk import (each copy is ~60 KB: 26 chunks' vectors and texts).
KEEP_SECONDS = 24 * 3600.0
KEEP_COUNT = 500


class RecentVersions:
    """The copies of one collection's recently committed report versions."""

    def __init__(self, folder: Path, embedding_model: str) -> None:
        self.folder = folder
        self.embedding_model = embedding_model

    @classmethod
    def of(cls, data_dir: Path, collection: str, embedding_model: str) -> RecentVersions:
        return cls(data_dir / FOLDER / collection, embedding_model)

    def _path(self, report_id: str, version: str) -> Path:
        key = "\0".join((self.embedding_model, report_id, version)).encode("utf-8")
        return self.folder / f"{hashlib.sha256(key).hexdigest()[:32]}.npz"

    def write(self, entry: ReportEntry, chunks: Sequence[Chunk], vectors: np.ndarray) -> None:
        """Keep a copy of the version about to be committed: its own chunks only, as a read of
        the store by version keeps only those (a caller may write several reports' chunks
        under one entry, as bench_query's synthetic store does). A copy that cannot be
        written (a read-only or full disk) is skipped: readers then read Chroma."""
        own = [
            i
            for i, c in enumerate(chunks)
            if c.report_id == entry.report_id and c.version == entry.version
        ]
        chunks = [chunks[i] for i in own]
        vectors = np.asarray(vectors, dtype=np.float32)[own]
        head = {
            "model": self.embedding_model,
            "report_id": entry.report_id,
            "version": entry.version,
            "documents": [c.text for c in chunks],
            "metadatas": [c.metadata() for c in chunks],
        }
        path = self._path(entry.report_id, entry.version)
        partial = path.with_name(f"{path.stem}.{os.getpid()}.partial.npz")
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            np.savez(
                partial,
                head=np.frombuffer(orjson.dumps(head), dtype=np.uint8),
                vectors=np.asarray(vectors, dtype=np.float32),
            )
            os.replace(partial, path)
        except OSError as err:
            log.info("could not keep a copy of %s for readers: %s", entry.report_id, err)
            partial.unlink(missing_ok=True)

    def read(self, entry: ReportEntry) -> tuple[list[Chunk], np.ndarray] | None:
        """The chunks and vectors of this committed version, or None (read Chroma instead)."""
        try:
            with np.load(self._path(entry.report_id, entry.version)) as saved:
                head = orjson.loads(saved["head"].tobytes())
                vectors = saved["vectors"]
            if (head["model"], head["report_id"], head["version"]) != (
                self.embedding_model,
                entry.report_id,
                entry.version,
            ) or len(vectors) != len(head["documents"]):
                return None
            chunks = [
                Chunk.from_row(doc, meta)
                for doc, meta in zip(head["documents"], head["metadatas"], strict=True)
            ]
            if any(c.report_id != entry.report_id or c.version != entry.version for c in chunks):
                return None
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as err:
            log.info("copy of %s unreadable (%s): reading the store", entry.report_id, err)
            return None
        return chunks, vectors

    def prune(self, now: float | None = None) -> None:
        """Delete the copies past KEEP_SECONDS, and the oldest past KEEP_COUNT."""
        now = time.time() if now is None else now
        try:
            found = [(p.stat().st_mtime, p) for p in self.folder.glob("*.npz")]
        except OSError:
            return
        found.sort(reverse=True)
        for rank, (mtime, path) in enumerate(found):
            if rank >= KEEP_COUNT or now - mtime > KEEP_SECONDS:
                path.unlink(missing_ok=True)

    def forget(self) -> None:
        """Delete every copy (the store was rebuilt: its versions' vectors may differ)."""
        for path in self.folder.glob("*.npz") if self.folder.is_dir() else []:
            path.unlink(missing_ok=True)
