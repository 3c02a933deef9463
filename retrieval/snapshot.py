"""The read side's indexes, kept on disk beside the store and brought up to date report by report.

What a question is answered from (every committed chunk with its vector, the BM25 term counts,
the English proper nouns) used to be rebuilt from Chroma at every start: on the 250-report
corpus that was 1.6 s of reading Chroma, 2.7 s of tokenising every chunk again and 0.9 s of
finding names, and it grows with the archive. Here it is a snapshot: the rows, a float32 matrix
and the term counts in `DATA_DIR/read-index/<collection>/`, tagged with the manifest it matches
(report id -> committed version: the store generation that matters to a reader).

`IndexSnapshot.sync` compares that tag with the manifest and reads from Chroma, and tokenises,
only the reports whose committed version is not the one it holds; reports that left the
manifest are dropped. A report version's chunks never change, so a snapshot that lags (a killed
ingest, another process's commit) is only behind, never wrong, and the next sync catches up.
Whoever syncs from disk saves the result (the CLI after an ingest, a starting bot); a running
bot brings its in-memory copy up to date without touching the disk.

A start maps or reads each part as saved and rebuilds nothing: `rows/` (rows.py: columns, ids
sorted, texts memory-mapped), `vectors/` (vectors.py: the matrix read whole, ids in sorted
order, per-language centroid sums), `lexical/` (lexical.py: term-major postings, memory-mapped),
`nouns.npz` (nouns.py: codes into the distinct nouns), `reports.json` (the manifest as read) and
`state.json` (versions, generation, the Korean analyses of names). A running bot's update is
proportional to the reports that changed: each part shares the loaded arrays and adds a small
tail and a dead-row mask, compacted on save or past a share each module measured.

The files hold no pickles (JSON, .npy, .npz) and are derived data: deleting the folder costs
one rebuild, and backups leave it out.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import logging
import os
import shutil
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import orjson
from pydantic import TypeAdapter

from retrieval import lexical as lexical_module
from retrieval import nouns as nouns_module
from retrieval import rows as rows_module
from retrieval import tokenize as tokenize_module
from retrieval import transliterate as transliterate_module
from retrieval import vectors as vectors_module
from retrieval.catalog import Catalog
from retrieval.lexical import PartitionedLexicalIndex
from retrieval.nouns import ReportNouns
from retrieval.rows import ChunkRows
from retrieval.tokenize import Tokenizer
from retrieval.transliterate import NameIndex, proper_nouns
from retrieval.vectors import VectorIndex
from store import records as records_module
from store.records import ReportEntry, date_to_int
from store.translation import TranslationRow
from store.vector_store import Generation, ReportStore

log = logging.getLogger(__name__)

FOLDER = "read-index"
_REPORTS = "reports.json"
_REPORT_LIST = TypeAdapter(list[ReportEntry])
FORMAT = 3
# A sync that keeps meeting a writer mid-report gives up after this many rounds (it then serves
# what it has: whole reports only, one round behind).
_ROUNDS = 20
# Older snapshot folders are deleted only when this old, so a process still reading one is not
# pulled from under (a read takes well under a second).
_KEEP_OLD_SECONDS = 60.0


def derivation_key() -> str:
    """A hash of the code that derives index data from chunk text (tokenizer, name finder,
    index layout, chunk rows): a snapshot made by other code is rebuilt, so nobody has to
    remember to bump a version."""
    digest = hashlib.sha256(str(FORMAT).encode())
    modules = (
        tokenize_module,
        transliterate_module,
        lexical_module,
        records_module,
        rows_module,
        nouns_module,
        vectors_module,
    )
    for module in modules:
        digest.update(Path(str(module.__file__)).read_bytes())
    digest.update(str(Tokenizer.version).encode())
    digest.update(importlib.metadata.version("kiwipiepy").encode())
    return digest.hexdigest()[:16]


@dataclass
class IndexSnapshot:
    """Everything the read path searches, for one manifest. Treat as immutable once synced:
    `sync` returns a new snapshot and leaves the one that is being served untouched."""

    tokenizer: Tokenizer
    versions: dict[str, str] = field(default_factory=dict)  # report id -> version held
    chunks: ChunkRows = field(default_factory=ChunkRows.empty)
    vectors: VectorIndex = field(default_factory=VectorIndex.empty)
    lexical: PartitionedLexicalIndex | None = None
    nouns: ReportNouns = field(default_factory=ReportNouns.empty)  # report id -> proper nouns
    # The manifest and the translations as last read, and the store generation (the generation
    # file's stat) read just before: when the store is still at it, nothing needs reading.
    reports: dict[str, ReportEntry] = field(default_factory=dict)
    translations: list[TranslationRow] = field(default_factory=list)
    generation: Generation = None

    def __post_init__(self) -> None:
        if self.lexical is None:
            self.lexical = PartitionedLexicalIndex(self.tokenizer)

    # ---- bringing it up to date ------------------------------------------------------------

    def sync(self, store: ReportStore) -> tuple[IndexSnapshot, bool]:
        """A snapshot matching what the store has committed now, and whether anything had to
        be read. Nothing is when the store's generation is the one this snapshot was read at
        (one stat call); otherwise only the reports whose version moved are read and
        tokenised."""
        generation = store.generation()  # before reading: a commit meanwhile moves it again
        if generation is not None and generation == self.generation and store.embedded:
            return self, False
        changed = self._changes(store)
        manifest = changed[0] if changed is not None else store.reports()
        out = self
        for _ in range(_ROUNDS):
            wanted = {rid: e.version for rid, e in manifest.items()}
            if out.versions == wanted:
                break
            out = out._apply(store, manifest)
            if store.embedded and store.generation() == generation:
                break  # nobody committed while it was read: the manifest still holds
            now = store.reports()
            if {rid: e.version for rid, e in now.items()} == wanted:
                manifest = now
                break
            manifest = now  # a writer committed meanwhile: catch up with that too
        else:
            log.warning("the store kept changing while it was read; the indexes may lag")
        # The manifest and translations can change without a new version (another source
        # file of the same report, a link, a translation run): always taken as read now.
        reports = {rid: e for rid, e in manifest.items() if out.versions.get(rid) == e.version}
        if changed is not None and not changed[1]:
            translations = self.translations
        else:
            translations = list(store.translations().values())
        return replace(out, reports=reports, translations=translations, generation=generation), True

    def _changes(self, store: ReportStore) -> tuple[dict[str, ReportEntry], bool] | None:
        """The manifest as this snapshot read it plus the rows the generation file says were
        committed since, and whether translations changed; None when the file cannot tell
        (then everything is read). At 205,000 chunks the whole manifest (7,750 rows) took
        0.8 s to read; the rows of a report or two take milliseconds."""
        # A Chroma server has writers the data folder's file never hears of; a sync that gave
        # up part way holds reports the manifest it kept does not.
        if not store.embedded or self.reports.keys() != self.versions.keys():
            return None
        lines = store.changes_since(self.generation)
        if lines is None:
            return None
        touched: set[str] = set()
        translations = False
        for line in lines:
            what, _, rest = line.partition(" ")
            if what == "commit" and rest:
                touched.add(rest.split(" ", 1)[0])
            elif what == "translations":
                translations = True
            elif what != "cleanup":  # cleanup drops old versions' rows: no manifest change
                return None
        manifest = dict(self.reports)
        found = store.entries(touched)
        for rid in touched:
            if rid in found:
                manifest[rid] = found[rid]
            else:
                manifest.pop(rid, None)
        return manifest, translations

    def _apply(self, store: ReportStore, manifest: dict[str, ReportEntry]) -> IndexSnapshot:
        stale = {
            rid
            for rid, v in self.versions.items()
            if manifest.get(rid, None) is None or manifest[rid].version != v
        }
        fresh = {rid: e for rid, e in manifest.items() if self.versions.get(rid) != e.version}
        raw: dict[str, np.ndarray] = {}
        rows = store.chunks_of(fresh, raw) if fresh else []
        gone = set(self.chunks.ids_of(stale))
        chunks = self.chunks.without(stale).plus(rows)
        lexical = self.lexical.copy() if self.lexical is not None else None
        assert lexical is not None
        lexical.remove(gone)
        lexical.add([c.id for c in rows], [c.text for c in rows], [c.lang for c in rows])
        with_vector = [c for c in rows if c.id in raw]
        vectors = self.vectors.updated(
            gone,
            [c.id for c in with_vector],
            np.stack([raw[c.id] for c in with_vector]) if with_vector else None,
            np.asarray([date_to_int(c.report_date) for c in with_vector], dtype=np.int32),
            [c.lang for c in with_vector],
        )
        found: dict[str, set[str]] = {rid: set() for rid in fresh}
        for chunk in rows:
            if chunk.report_id in found and chunk.lang == "en":
                found[chunk.report_id] |= proper_nouns(chunk.text)
        nouns = self.nouns.updated(stale, {rid: sorted(names) for rid, names in found.items()})
        versions = {rid: v for rid, v in self.versions.items() if rid not in stale}
        # What was read, not what was asked for: a report replaced mid-read comes back with no
        # rows, and the next round (its version moved) reads it again.
        versions.update({rid: e.version for rid, e in fresh.items()})
        return IndexSnapshot(self.tokenizer, versions, chunks, vectors, lexical, nouns)

    # ---- what the read path serves ----------------------------------------------------------

    def catalog(self) -> Catalog:
        return Catalog.assemble(self.reports, self.chunks, self.vectors, self.translations)

    @functools.cached_property
    def names(self) -> NameIndex:
        return NameIndex(self.nouns.distinct())

    # ---- on disk -------------------------------------------------------------------------

    def save(self, folder: Path, embedding_model: str) -> None:
        """Write a new snapshot folder, then point `current` at it (an atomic rename), then
        delete the old ones no process can still be reading."""
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{time.time_ns():x}-{uuid.uuid4().hex[:8]}"
        target = folder / name
        target.mkdir()
        state = {
            "format": FORMAT,
            "derivation": derivation_key(),
            "embedding_model": embedding_model,
            "versions": self.versions,
            "translations": [t.model_dump(mode="json") for t in self.translations],
            "generation": list(self.generation) if self.generation is not None else None,
            "hangul_terms": self.tokenizer.remembered(),
        }
        (target / "state.json").write_bytes(orjson.dumps(state))
        (target / _REPORTS).write_bytes(_REPORT_LIST.dump_json(list(self.reports.values())))
        self.nouns.save(target)
        self.vectors.save(target / "vectors")
        assert self.lexical is not None
        self.lexical.save(target / "lexical")
        self.chunks.save(target / "rows")
        pointer = folder / f"current.{name}.tmp"
        pointer.write_text(name, "utf-8")
        os.replace(pointer, folder / "current")
        cutoff = time.time() - _KEEP_OLD_SECONDS
        for old in folder.iterdir():
            if old.name != name and old.is_dir() and old.stat().st_mtime < cutoff:
                shutil.rmtree(old, ignore_errors=True)

    @classmethod
    def read(cls, folder: Path, tokenizer: Tokenizer, embedding_model: str) -> IndexSnapshot:
        """The saved snapshot, or an empty one (everything will be read from the store) when
        there is none or it was made by other code, another model or is damaged."""
        try:
            name = (folder / "current").read_text("utf-8").strip()
            target = folder / name
            state = orjson.loads((target / "state.json").read_bytes())
            if state.get("format") != FORMAT or state.get("derivation") != derivation_key():
                log.info("read index in %s was made by other code: rebuilding it", folder)
                return cls(tokenizer)
            if state.get("embedding_model") != embedding_model:
                log.info("read index in %s holds another model's vectors: rebuilding", folder)
                return cls(tokenizer)
            chunks = ChunkRows.load(target / "rows")
            vectors = VectorIndex.load(target / "vectors")
            lexical = PartitionedLexicalIndex.load(target / "lexical", tokenizer)
            tokenizer.remember(state["hangul_terms"])
            # One JSON validation in pydantic-core: 0.04 s for 7,750 reports against 0.10 s
            # for a model_validate each.
            reports = _REPORT_LIST.validate_json((target / _REPORTS).read_bytes())
            generation = state["generation"]
            return cls(
                tokenizer,
                state["versions"],
                chunks,
                vectors,
                lexical,
                ReportNouns.load(target),
                {e.report_id: e for e in reports},
                [TranslationRow.model_validate(t) for t in state["translations"]],
                tuple(generation) if generation is not None else None,
            )
        except FileNotFoundError:
            return cls(tokenizer)
        except (OSError, ValueError, KeyError, TypeError, orjson.JSONDecodeError) as err:
            log.warning("read index in %s unreadable (%s): rebuilding it", folder, err)
            return cls(tokenizer)


def forget_snapshots(data_dir: Path) -> None:
    """Delete every saved snapshot of a data folder (after `reportbot reindex`): the next start
    rebuilds them from the store."""
    shutil.rmtree(Path(data_dir) / FOLDER, ignore_errors=True)


def snapshot_folder(store: ReportStore) -> Path | None:
    """Where a store's snapshot lives: beside its data, one per collection (None: a store with
    no data folder of its own keeps its indexes in memory only)."""
    if store.data_dir is None:
        return None
    return Path(store.data_dir) / FOLDER / store.collection


def load_snapshot(
    store: ReportStore,
    tokenizer: Tokenizer,
    previous: IndexSnapshot | None = None,
    phrases: Sequence[str] = (),
) -> IndexSnapshot:
    """The indexes for what the store has committed now. From `previous` (a running process's
    copy: nothing is read from disk or written) or else from the saved snapshot, which is
    saved again when it had to catch up and the folder is writable. `phrases` (the names a
    question may expand to) are tokenised before saving, so their Korean analyses are saved
    with it."""
    folder = snapshot_folder(store)
    if previous is not None:
        base = previous
    elif folder is not None:
        base = IndexSnapshot.read(folder, tokenizer, store.embedding_model)
    else:
        base = IndexSnapshot(tokenizer)
    snapshot, changed = base.sync(store)
    if changed and previous is None and folder is not None:
        tokenizer.tokens_batch(list(phrases))
        try:
            snapshot.save(folder, store.embedding_model)
        except OSError as err:  # a read-only data folder: serve from memory
            log.info("could not save the read index in %s: %s", folder, err)
    return snapshot
