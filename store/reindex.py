"""`reportbot reindex`: rebuild the store from the files it was built from, the way out after a
schema or embedding-model change, which makes the old vectors unusable.

The file list lives in the manifest, which is dropped with the store; it is saved to
`reindex-sources.json` in the data folder first, so a reindex that is interrupted (killed,
Ctrl-C, a model that fails to load) can simply be run again. It holds the data folder's write
lock throughout, as an ingest does (it drops the store an ingest would write to).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel

from store.embedding import Embedder
from store.ingest import IngestSummary, ingest, source_file
from store.recent_versions import RecentVersions
from store.vector_store import ReportStore, open_client, record_change, remembered_sources
from store.write_lock import write_lock

# The file list of a reindex in progress, in the data folder.
REINDEX_SOURCES = "reindex-sources.json"


class Reindexed(BaseModel):
    """What a reindex did, and the files it could not find again (their reports are dropped)."""

    summary: IngestSummary
    missing: list[str] = []


def reindex(
    data_dir: Path,
    collection: str,
    embedding_model: str,
    load_embedder: Callable[[], Embedder],
    chroma_url: str | None = None,
    on_wait: Callable[[str], None] | None = None,
) -> Reindexed:
    with write_lock(data_dir, on_wait=on_wait):
        client = open_client(data_dir, chroma_url)
        pending = data_dir / REINDEX_SOURCES
        sources = set(remembered_sources(client, collection))
        if pending.exists():
            sources |= set(json.loads(pending.read_text(encoding="utf-8")))
        paths = sorted({source_file(p) for p in sources})  # a dataset's records: its file, once
        partial = pending.with_suffix(".partial")
        partial.write_text(json.dumps([str(p) for p in paths], ensure_ascii=False), "utf-8")
        os.replace(partial, pending)
        for name in (collection, f"{collection}_reports"):
            if name in {c.name for c in client.list_collections()}:
                client.delete_collection(name)
        # Readers that follow the generation file report by report must start again: the
        # reports whose files are gone leave with no line of their own.
        record_change(data_dir, f"reindex {collection}")
        RecentVersions.of(data_dir, collection, embedding_model).forget()
        store = ReportStore(client, collection, embedding_model)
        present = [p for p in paths if p.exists()]
        summary = ingest(present, store, load_embedder()) if present else IngestSummary()
        pending.unlink()
        return Reindexed(summary=summary, missing=[str(p) for p in paths if not p.exists()])
