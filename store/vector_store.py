"""The Chroma store: embedded on disk by default, or a Chroma server when a URL is given.

Chroma has no transactions, so a report becomes visible through a manifest row that is written
only after all of its chunks are in place (the commit point). Chunks of any other version are
invisible to readers and are swept up by the next writer.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from urllib.parse import urlparse

import chromadb
import numpy as np
from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection
from chromadb.api.types import GetResult
from chromadb.errors import InternalError

from store.records import Chunk, ReportEntry

log = logging.getLogger(__name__)

# Bump when the chunk layout or metadata changes in a way old stores cannot serve.
SCHEMA_VERSION = 1
# How often a read that raced another process's write is tried (see _get_retrying).
_READ_RETRIES = 6
# How often committed_chunks re-reads reports a writer moved while it was reading.
_SNAPSHOT_ROUNDS = 20


class StoreMismatchError(RuntimeError):
    """The store on disk was written by another schema or embedding model."""


def open_client(data_dir: Path, chroma_url: str | None = None) -> ClientAPI:
    """A Chroma server when `chroma_url` is set (`chroma run` starts one), else on-disk."""
    if chroma_url:
        url = urlparse(chroma_url if "://" in chroma_url else f"http://{chroma_url}")
        return chromadb.HttpClient(
            host=url.hostname or "localhost",
            port=url.port or (443 if url.scheme == "https" else 8000),
            ssl=url.scheme == "https",
        )
    data_dir.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(data_dir / "chroma"))


class ReportStore:
    def __init__(self, client: ClientAPI, collection: str, embedding_model: str) -> None:
        self.client = client
        self.embedding_model = embedding_model
        self.chunks = self._open(collection)
        self.manifest = self._open(f"{collection}_reports")

    def _open(self, name: str) -> Collection:
        wanted = {"schema_version": SCHEMA_VERSION, "embedding_model": self.embedding_model}
        col = self.client.get_or_create_collection(
            name,
            metadata=wanted,
            configuration={"hnsw": {"space": "cosine"}},
            embedding_function=None,
        )
        found = dict(col.metadata or {})
        if found.get("schema_version") != SCHEMA_VERSION:
            raise StoreMismatchError(
                f"the store was written by schema version {found.get('schema_version')}, this "
                f"reportbot uses {SCHEMA_VERSION}: rebuild it with `reportbot reindex`"
            )
        if found.get("embedding_model") != self.embedding_model:
            raise StoreMismatchError(
                f"the store was embedded with model {found.get('embedding_model')!r}, not "
                f"{self.embedding_model!r}; vectors of two models cannot be compared. Use the "
                "old model setting, or rebuild with `reportbot reindex`"
            )
        return col

    def describe(self) -> str:
        return f"chroma collection {self.chunks.name!r}"

    # ---- manifest -------------------------------------------------------------------------

    def reports(self) -> dict[str, ReportEntry]:
        rows = self.manifest.get(include=["metadatas"])
        return {
            rid: ReportEntry.from_metadata(rid, meta)
            for rid, meta in zip(rows["ids"], rows["metadatas"] or [], strict=True)
        }

    def save_entry(self, entry: ReportEntry) -> None:
        self.manifest.upsert(
            ids=[entry.report_id],
            embeddings=[[1.0]],
            documents=[entry.title],
            metadatas=[entry.to_metadata()],
        )

    # ---- writing ----------------------------------------------------------------------------

    def write_report(
        self, entry: ReportEntry, chunks: Sequence[Chunk], vectors: np.ndarray
    ) -> None:
        """Write a new version of a report: chunks first, then the manifest row, then drop the
        old version. A crash at any point leaves either the old or the new version visible."""
        if len(chunks) != len(vectors):
            raise ValueError("one vector per chunk")
        batch = max(1, self.client.get_max_batch_size())
        for start in range(0, len(chunks), batch):
            part = chunks[start : start + batch]
            self.chunks.upsert(
                ids=[c.id for c in part],
                embeddings=vectors[start : start + batch],
                documents=[c.text for c in part],
                metadatas=[c.metadata() for c in part],
            )
        self.save_entry(entry)
        self.chunks.delete(
            where={"$and": [{"report_id": entry.report_id}, {"version": {"$ne": entry.version}}]}
        )

    def sweep(self) -> int:
        """Delete chunks no manifest row points at (left by a writer that was killed)."""
        committed = {rid: e.version for rid, e in self.reports().items()}
        rows = self.chunks.get(include=["metadatas"])
        stale = [
            cid
            for cid, meta in zip(rows["ids"], rows["metadatas"] or [], strict=True)
            if committed.get(str(meta["report_id"])) != meta["version"]
        ]
        for start in range(0, len(stale), 5000):
            self.chunks.delete(ids=stale[start : start + 5000])
        return len(stale)

    # ---- reading ----------------------------------------------------------------------------

    def committed_chunks(
        self,
        reports: dict[str, ReportEntry] | None = None,
        vectors: dict[str, np.ndarray] | None = None,
    ) -> list[Chunk]:
        """Every visible chunk (the committed version of each report), as one consistent
        snapshot even while a writer commits: the manifest is read again afterwards, and the
        reports whose version moved meanwhile (their old chunks may be gone already) are read
        again. `reports`, when given, is updated in place to the manifest the chunks match;
        `vectors`, when given, gets each returned chunk's embedding (read in the same query,
        so it can never miss a chunk a writer deleted in between)."""
        manifest = self.reports() if reports is None else reports
        chunks = self._chunks_of(manifest, vectors)
        for _ in range(_SNAPSHOT_ROUNDS):
            now = self.reports()
            moved = {
                rid
                for rid in manifest.keys() | now.keys()
                if (manifest[rid].version if rid in manifest else None)
                != (now[rid].version if rid in now else None)
            }
            manifest.clear()
            manifest.update(now)
            if not moved:
                break
            chunks = [c for c in chunks if c.report_id not in moved]
            chunks += self._chunks_of({rid: now[rid] for rid in moved if rid in now}, vectors)
        else:
            log.warning("the store kept changing while it was read; the snapshot may be stale")
        return chunks

    def _chunks_of(
        self, reports: dict[str, ReportEntry], vectors: dict[str, np.ndarray] | None = None
    ) -> list[Chunk]:
        """The chunks of exactly these reports' versions, in store order. Filtering on the
        versions (not paging through every row) keeps rows that writers add or sweep meanwhile
        from shifting the pages."""
        versions = {e.report_id: e.version for e in reports.values()}
        wanted = sorted(set(versions.values()))
        include: list = ["documents", "metadatas"] + (["embeddings"] if vectors is not None else [])
        out: list[Chunk] = []
        for start in range(0, len(wanted), 500):
            part = wanted[start : start + 500]
            where = {"version": {"$in": part}} if len(part) > 1 else {"version": part[0]}
            rows = self._get_retrying(where, include)
            embeddings = rows["embeddings"] if vectors is not None else None
            for i, (doc, meta) in enumerate(
                zip(rows["documents"] or [], rows["metadatas"] or [], strict=True)
            ):
                if versions.get(str(meta["report_id"])) == meta["version"]:
                    chunk = Chunk.from_row(doc or "", dict(meta))
                    out.append(chunk)
                    if vectors is not None and embeddings is not None:
                        vectors[chunk.id] = np.asarray(embeddings[i], dtype=np.float32)
        return out

    def _get_retrying(self, where: dict, include: list) -> GetResult:
        """Embedded Chroma reads vectors from segment files another process may be rewriting
        (an ingest deleting a replaced report's rows); the read then fails with "Error finding
        id". The rows asked for are committed and stay, so reading again succeeds."""
        for attempt in range(_READ_RETRIES):
            try:
                return self.chunks.get(where=where, include=include)
            except InternalError:
                if attempt == _READ_RETRIES - 1:
                    raise
                time.sleep(0.02 * 2**attempt)
        raise AssertionError("unreachable")

    def dense_search(
        self, vector: np.ndarray, limit: int, where: dict | None = None
    ) -> list[tuple[str, float]]:
        """(chunk id, cosine similarity) best first; may include uncommitted chunks, which the
        caller drops by checking against the committed set."""
        if self.chunks.count() == 0:
            return []
        res = self.chunks.query(
            query_embeddings=[vector],
            n_results=limit,
            where=where,
            include=["distances"],
        )
        ids = res["ids"][0]
        dists = (res["distances"] or [[]])[0]
        return [(cid, 1.0 - float(d)) for cid, d in zip(ids, dists, strict=True)]

    def vectors(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        if not ids:
            return {}
        rows = self.chunks.get(ids=list(ids), include=["embeddings"])
        embs = rows["embeddings"] if rows["embeddings"] is not None else []
        return {
            cid: np.asarray(v, dtype=np.float32) for cid, v in zip(rows["ids"], embs, strict=True)
        }

    def delete_reports(self, report_ids: Iterable[str]) -> None:
        for rid in report_ids:
            self.manifest.delete(ids=[rid])
            self.chunks.delete(where={"report_id": rid})


def remembered_sources(client: ClientAPI, collection: str) -> list[str]:
    """The files every stored report came from, read without the schema/model checks, so an
    outdated store can still be rebuilt from them."""
    import json

    names = {c.name for c in client.list_collections()}
    if f"{collection}_reports" not in names:
        return []
    rows = client.get_collection(f"{collection}_reports").get(include=["metadatas"])
    sources: list[str] = []
    for meta in rows["metadatas"] or []:
        sources += json.loads(str(meta.get("sources") or "[]"))
    return sources
