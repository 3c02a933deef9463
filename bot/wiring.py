"""Builds the store, the embedding model, the write path (ReportLibrary) and the question
answerer from the settings; the library and the answerer share one ReportStore."""

from __future__ import annotations

import logging
import os
import sys
import threading
from typing import TYPE_CHECKING

from bot.settings import Settings
from store.embedding import Embedder, SentenceTransformerEmbedder
from store.ingest import IngestSummary, newest
from store.library import ReportLibrary, StoreLocation
from store.translation import HFTranslator, Translator
from store.vector_store import ReportStore
from store.watch import Watcher

if TYPE_CHECKING:
    from retrieval.service import ReportQA

log = logging.getLogger(__name__)


def open_store(settings: Settings) -> ReportStore:
    """The store, with its own client (reopened when another process commits to it), opened
    and read once within settings.store_timeout seconds.

    Chroma can block for good on a store it cannot read (seen: a reader in a futex for minutes
    after the disk filled mid-ingest) and no thread can be interrupted there, so past the
    deadline the process says why in one line and exits with status 1."""
    where = settings.chroma_url or str(settings.data_dir / "chroma")
    done = threading.Event()

    def give_up() -> None:
        if not done.wait(settings.store_timeout):
            print(
                f"reportbot: the store at {where} did not answer within "
                f"{settings.store_timeout:g} s (another process may hold it, or its disk is "
                "full): free space or stop the other process, then try again",
                file=sys.stderr,
                flush=True,
            )
            os._exit(1)

    threading.Thread(target=give_up, name="store-deadline", daemon=True).start()
    try:
        store = ReportStore.open(
            settings.data_dir, settings.collection, settings.embedding_model, settings.chroma_url
        )
        # The first read: the one a damaged or locked store blocks in. A count, not the
        # manifest rows, which a start from a saved read index does not need.
        store.report_count()
        return store
    finally:
        done.set()


def store_location(settings: Settings) -> StoreLocation:
    return StoreLocation(
        settings.data_dir, settings.collection, settings.embedding_model, settings.chroma_url
    )


def library_over(settings: Settings, store: ReportStore, embedder: Embedder) -> ReportLibrary:
    """The write path over a store and an embedder already open: the bot's, the same ones its
    ReportQA reads, so an upload or a watched report is answered from at once."""
    return ReportLibrary.over(
        store,
        embedder,
        load_translator(settings),
        settings.translate_to,
        location=store_location(settings),
    )


def load_translator(settings: Settings) -> Translator | None:
    """The machine translator the settings name (loaded on first use), or None."""
    if not settings.translation_model:
        return None
    return HFTranslator(settings.translation_model, settings.model_cache)


def load_embedder(settings: Settings) -> Embedder:
    if settings.embedding_backend == "onnx":
        from store.embedding.onnx import OnnxEmbedder

        return OnnxEmbedder(
            settings.embedding_model,
            settings.model_cache,
            settings.embedding_threads,
            passage_precision=settings.ingest_embedding,
        )
    return SentenceTransformerEmbedder(settings.embedding_model, settings.model_cache)


def build_qa(settings: Settings, store: ReportStore, embedder: Embedder) -> ReportQA:
    # Imported here: ingesting and `stats` need none of the query-side models (Kiwi, lingua).
    from retrieval.gazetteer import Gazetteer
    from retrieval.language import LanguageDetector
    from retrieval.service import ReportQA
    from retrieval.tokenize import Tokenizer

    return ReportQA(
        store,
        embedder,
        Gazetteer.load(),
        LanguageDetector(),
        Tokenizer(),
        max_results=settings.max_results,
    )


def ingest_sample(
    settings: Settings, library: ReportLibrary, progress: bool = True
) -> IngestSummary:
    """The first-run sample: every Korean repost/seed file plus the newest reports, so a newcomer
    gets answers in a couple of minutes; `reportbot ingest` adds the rest."""
    existing = [p for p in settings.samples if p.exists()]
    if not existing:
        raise FileNotFoundError(
            "no sample reports found at " + ", ".join(str(p) for p in settings.samples)
        )
    seeds = [p for p in existing if p.name == "seed"]
    others = [p for p in existing if p.name != "seed"]
    summary = library.ingest(seeds, progress) if seeds else IngestSummary()
    if others:
        rest = library.ingest(
            others, progress, select=lambda reports: newest(reports, settings.sample_newest)
        )
        summary.outcomes += rest.outcomes
        summary.datasets += rest.datasets
    return summary


def make_watcher(settings: Settings, sources: list[str] | None = None) -> Watcher:
    """A watcher of `sources` (default: settings.watch), with the settings' limits."""
    return Watcher(
        settings.watch if sources is None else sources,
        settings.data_dir,
        timeout=settings.watch_timeout,
        max_bytes=settings.watch_max_bytes,
        max_items=settings.watch_max_items,
        link_pattern=settings.watch_link_pattern,
        translator=load_translator(settings),
        translate_to=settings.translate_to,
    )
