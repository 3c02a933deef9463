"""The write path behind one object: a data folder's store with the embedder (and translator)
that fill it, and plain verbs for what is done to it.

`ReportLibrary` is what the bot and the command line write through; neither touches Chroma
collections or the read side's store to write. The read side (retrieval.service.ReportQA) is
handed the same `ReportStore`, so what the library commits is what the next answer reads.

    ingest        parse, embed and commit report files and folders (store/ingest.py)
    take          the watcher's intake: ingest what a poll found, then remember it (store/watch.py)
    watch_round   one watcher round: poll, then take
    translate     machine-translate the stored takeaways that have no translation yet
    reindex       drop the store and ingest its reports' files again (store/reindex.py)
    stats         what the store holds (ReportStore.stats, the one count everything shows)
    export        a consistent copy of the store in one file (store/backup.py)
    restore       that file back into an empty data folder (`reportbot import`)

The store and the embedder are opened on first use: `stats` and `translate` need no model,
and `reindex`, `export` and `restore` work on the folder without opening the store (a store
whose model changed cannot be opened, and reindex is the way out of that).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from store.embedding import Embedder
from store.ingest import IngestSummary, ingest, translate_store
from store.models import Report, StoreStats
from store.reindex import Reindexed, reindex
from store.translation import Translator
from store.vector_store import ReportStore
from store.watch import Mark, SourceResult, Watcher, WatchRound

if TYPE_CHECKING:
    from store.backup import BackupInfo


@dataclass(frozen=True)
class StoreLocation:
    """Where a store lives and which model its vectors come from: enough to rebuild, copy or
    restore it without opening it."""

    data_dir: Path
    collection: str
    embedding_model: str
    chroma_url: str | None = None


class ReportLibrary:
    """One data folder's store, written through plain verbs (see the module docstring)."""

    def __init__(
        self,
        location: StoreLocation,
        open_store: Callable[[], ReportStore],
        load_embedder: Callable[[], Embedder],
        translator: Translator | None = None,
        translate_to: Sequence[str] = ("ko",),
    ) -> None:
        self.location = location
        self._open_store = open_store
        self._load_embedder = load_embedder
        self.translator = translator
        self.translate_to = list(translate_to)

    @classmethod
    def over(
        cls,
        store: ReportStore,
        embedder: Embedder,
        translator: Translator | None = None,
        translate_to: Sequence[str] = ("ko",),
        location: StoreLocation | None = None,
    ) -> ReportLibrary:
        """A library over a store and an embedder that are already open (the bot's, shared
        with its ReportQA). Without `location`, it is the store's own folder."""
        if location is None:
            location = StoreLocation(
                Path(store.data_dir or "."), store.collection, store.embedding_model
            )
        return cls(location, lambda: store, lambda: embedder, translator, translate_to)

    @cached_property
    def store(self) -> ReportStore:
        return self._open_store()

    @cached_property
    def embedder(self) -> Embedder:
        return self._load_embedder()

    # ---- writing reports ------------------------------------------------------------------

    def ingest(
        self,
        paths: Iterable[Path],
        progress: bool = True,
        select: Callable[[list[Report]], list[Report]] | None = None,
        wait: bool = True,
        on_wait: Callable[[str], None] | None = None,
        translate: bool = True,
    ) -> IngestSummary:
        """store.ingest.ingest into this store; new takeaways are translated when the library
        has a translator, unless `translate` is False (`reportbot eval` measures retrieval on
        ISW's own text and does not wait for a translation model)."""
        return ingest(
            paths,
            self.store,
            self.embedder,
            progress,
            select=select,
            wait=wait,
            on_wait=on_wait,
            translator=self.translator if translate else None,
            targets=self.translate_to,
        )

    def take(
        self,
        watcher: Watcher,
        results: list[SourceResult],
        marks: list[Mark],
        progress: bool = False,
    ) -> WatchRound:
        """The watcher's intake: ingest what `watcher.poll()` found, then remember it."""
        return watcher.take(results, marks, self.store, self.embedder, progress)

    def watch_round(self, watcher: Watcher, progress: bool = False) -> WatchRound:
        """One round of `watcher`: poll every source, then take what is new."""
        return watcher.run_once(self.store, self.embedder, progress)

    def translate(self, targets: Sequence[str], progress: bool = True, redo: bool = False) -> int:
        """Translate the stored takeaways that have no translation yet; how many were."""
        if self.translator is None:
            raise ValueError("the library has no translator")
        return translate_store(self.store, self.translator, targets, progress, redo)

    def reindex(self, on_wait: Callable[[str], None] | None = None) -> Reindexed:
        """Drop the store and ingest its reports' files again (store/reindex.py)."""
        where = self.location
        return reindex(
            where.data_dir,
            where.collection,
            where.embedding_model,
            lambda: self.embedder,
            where.chroma_url,
            on_wait=on_wait,
        )

    # ---- the store as a whole -------------------------------------------------------------

    def stats(self) -> StoreStats:
        return self.store.stats()

    def export(self, archive: Path) -> BackupInfo:
        """A consistent copy of the store (and the folder's state) in one .tar.gz file."""
        # Imported here: only `reportbot export` and `import` need tarfile and its codecs.
        from store.backup import export_store

        where = self.location
        return export_store(where.data_dir, archive, where.collection, where.chroma_url)

    def restore(self, archive: Path, force: bool = False) -> BackupInfo:
        """`reportbot import`: an `export` file into the (empty, or with `force` replaced) data
        folder."""
        from store.backup import import_store

        return import_store(archive, self.location.data_dir, force, self.location.chroma_url)
